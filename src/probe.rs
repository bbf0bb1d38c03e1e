//! `mlops probe`: the container health check (`HEALTHCHECK ["CMD","/bin/mlops","probe"]`).
//!
//! The images have no shell and no curl, so the binary checks itself: one HTTP/1.1 `GET`
//! over `std::net`, success only for status 200, everything bounded by one deadline. A full
//! HTTP client would add megabytes and TLS code to the image for one plaintext request to
//! loopback; this needs about a hundred lines and no dependency.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Options of `mlops probe`.
#[derive(Debug, Clone, clap::Args)]
pub struct ProbeArgs {
    /// The URL to GET (plain http only).
    #[arg(
        long,
        env = "MLOPS_PROBE_URL",
        default_value = "http://127.0.0.1:8000/ready"
    )]
    pub url: String,
    /// Give up after this many milliseconds.
    #[arg(long, env = "MLOPS_PROBE_TIMEOUT_MS", default_value_t = 2000)]
    pub timeout_ms: u64,
}

/// Returns true when the service answered 200 in time; says why not on stderr otherwise.
/// The URL is printed with any user info (credentials) replaced and control characters
/// escaped: health-check output ends up in `docker inspect` and in logs.
pub fn run(args: &ProbeArgs) -> bool {
    let shown = redacted(&args.url);
    match probe(&args.url, Duration::from_millis(args.timeout_ms)) {
        Ok(200) => true,
        Ok(status) => {
            eprintln!("probe: {shown} answered {status}");
            false
        }
        Err(e) => {
            eprintln!("probe: {shown}: {e}");
            false
        }
    }
}

/// `url` fit to print: the user info of its authority (`user:password@`) replaced by
/// `***@`, and control characters escaped (`\r`, `\n`, `\u{1b}`).
fn redacted(url: &str) -> String {
    let (scheme, rest) = url.split_at(url.find("://").map_or(0, |i| i + 3));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let shown = match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}***{}", &rest[at..]),
        None => url.to_owned(),
    };
    shown
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The parts of an `http://host[:port][/path]` URL.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    host: String,
    port: u16,
    path: String,
}

/// Parses `http://host[:port][/path][?query][#fragment]`. The authority ends at the
/// first `/`, `?` or `#` (RFC 3986), so `http://host:8000?x=1` is port 8000 with a query;
/// the fragment is the client's and is not sent.
fn parse_url(url: &str) -> Result<Target, String> {
    // A CR or LF would end the request line or the Host header early and send the rest
    // as headers of the attacker's choosing; a space would split the request line.
    if let Some(c) = url.chars().find(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "the URL holds {}, which a URL cannot; percent-encode it",
            c.escape_debug()
        ));
    }
    let rest = url
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
        .map(|_| &url[7..])
        .ok_or_else(|| "only http:// URLs are supported".to_owned())?;
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
        Some(i) => (&rest[..i], rest[i..].to_owned()),
        None => (rest, "/".to_owned()),
    };
    if authority.contains('@') {
        return Err(
            "the URL holds user info (credentials); the probe sends none: remove the part up to '@'"
                .to_owned(),
        );
    }
    let (host, port) = match authority.rsplit_once(':') {
        // `[::1]:8000` or `host:8000`, but not the colons inside a bare IPv6 address.
        Some((h, p)) if !h.contains(':') || h.ends_with(']') => (
            h,
            p.parse::<u16>()
                .map_err(|_| format!("invalid port '{p}'"))?,
        ),
        _ => (authority, 80),
    };
    if host.is_empty() {
        return Err("the URL has no host".to_owned());
    }
    Ok(Target {
        host: host.to_owned(),
        port,
        path,
    })
}

/// Sends the GET and returns the status code.
fn probe(url: &str, timeout: Duration) -> Result<u16, String> {
    let deadline = Instant::now() + timeout;
    let target = parse_url(url)?;
    let bare_host = target.host.trim_start_matches('[').trim_end_matches(']');
    let remaining = |what: &str| {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("timed out {what} (--timeout-ms)"))
    };
    let addrs = resolve(bare_host, target.port, remaining("resolving the host")?)
        .map_err(|e| format!("cannot resolve '{}': {e}", target.host))?;
    let mut last_error = format!("'{}' resolved to no address", target.host);
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, remaining("connecting")?) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_error = format!("cannot connect to {addr}: {e}"),
        }
    }
    let mut stream = stream.ok_or(last_error)?;
    let io = |e: std::io::Error| format!("{e}");
    stream
        .set_write_timeout(Some(remaining("sending")?))
        .map_err(io)?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: mlops-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        target.path, target.host, target.port
    );
    stream.write_all(request.as_bytes()).map_err(io)?;
    // The status line is all we need: read until it is complete. It ends at LF: HTTP
    // says CRLF, but a recipient may accept a bare LF (RFC 9112 §2.2), and waiting for a
    // CR that never comes would report a timeout for a server that did answer.
    let mut head = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    while !head.contains(&b'\n') {
        stream
            .set_read_timeout(Some(remaining("waiting for the answer")?))
            .map_err(io)?;
        let n = stream.read(&mut chunk).map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                "timed out waiting for the answer (--timeout-ms)".to_owned()
            }
            _ => e.to_string(),
        })?;
        if n == 0 {
            return Err("the connection closed before a status line arrived".to_owned());
        }
        head.extend_from_slice(&chunk[..n]);
        if head.len() > 8192 {
            return Err("no HTTP status line in the first 8 KiB".to_owned());
        }
    }
    parse_status(&head)
}

/// Resolves `host` within `within`. `getaddrinfo` has no timeout of its own: with the
/// DNS server unreachable it takes the resolver's retries (5 s each by default), far
/// beyond `--timeout-ms`. An address literal needs no lookup; a name is looked up on a
/// helper thread, abandoned if it is late (the process exits soon after anyway).
fn resolve(host: &str, port: u16, within: Duration) -> Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let name = host.to_owned();
    std::thread::spawn(move || {
        let found = (name.as_str(), port)
            .to_socket_addrs()
            .map(Iterator::collect::<Vec<_>>);
        let _ = tx.send(found.map_err(|e| e.to_string()));
    });
    rx.recv_timeout(within)
        .unwrap_or_else(|_| Err("timed out (--timeout-ms)".to_owned()))
}

fn parse_status(head: &[u8]) -> Result<u16, String> {
    let line = head
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split(' ');
    match (parts.next(), parts.next()) {
        (Some(v), Some(code)) if v.starts_with("HTTP/1.") => code
            .parse()
            .map_err(|_| format!("invalid status line '{line}'")),
        _ => Err(format!("not an HTTP/1.x answer: '{line}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        for (url, host, port, path) in [
            ("http://127.0.0.1:8000/ready", "127.0.0.1", 8000, "/ready"),
            ("http://localhost", "localhost", 80, "/"),
            ("http://[::1]:9/x?y=1", "[::1]", 9, "/x?y=1"),
            ("HTTP://h:8000?x=1#frag", "h", 8000, "/?x=1"),
        ] {
            let t = parse_url(url).unwrap();
            assert_eq!(
                (t.host.as_str(), t.port, t.path.as_str()),
                (host, port, path),
                "{url}"
            );
        }
        let t = parse_url("http://h/ready#frag").unwrap();
        assert_eq!(t.path, "/ready");
        assert!(parse_url("https://x/").is_err());
        assert!(parse_url("http://x:port/").is_err());
        assert!(parse_url("http:///ready").is_err());
    }

    #[test]
    fn refuses_control_characters_and_credentials() {
        for url in [
            "http://127.0.0.1:8000/ready\r\nX-Injected: 1",
            "http://127.0.0.1:8000/ready\nX: 1",
            "http://127.0.0.1:8000/re ady",
            "http://h\u{1b}[2J/ready",
            "http://127.0.0.1:8000/\t",
        ] {
            assert!(parse_url(url).is_err(), "{url:?}");
        }
        let e = parse_url("http://user:secret@127.0.0.1:8000/ready").unwrap_err();
        assert!(e.contains("user info"), "{e}");
        assert!(!e.contains("secret"), "{e}");
        // An '@' after the authority is part of the path, not user info.
        assert_eq!(parse_url("http://h:1/a@b").unwrap().path, "/a@b");
    }

    #[test]
    fn redacts_credentials_and_escapes_control_characters() {
        assert_eq!(
            redacted("http://user:secret@127.0.0.1:8000/ready"),
            "http://***@127.0.0.1:8000/ready"
        );
        assert_eq!(redacted("https://a:b@h/x@y"), "https://***@h/x@y");
        assert_eq!(redacted("http://h/x@y"), "http://h/x@y");
        assert_eq!(redacted("http://h/\r\nX: 1"), "http://h/\\r\\nX: 1");
        assert_eq!(redacted("user:pw@host/x"), "***@host/x");
    }

    #[test]
    fn parses_status_lines() {
        assert_eq!(parse_status(b"HTTP/1.1 200 OK\r\n"), Ok(200));
        assert_eq!(
            parse_status(b"HTTP/1.0 503 Service Unavailable\r\n"),
            Ok(503)
        );
        assert_eq!(parse_status(b"HTTP/1.1 200 OK\nServer: x\n"), Ok(200));
        assert!(parse_status(b"SSH-2.0-OpenSSH\r\n").is_err());
    }

    #[test]
    fn resolves_literals_and_names() {
        let second = Duration::from_secs(1);
        let v6 = resolve("::1", 9, second).unwrap();
        assert_eq!(v6, ["[::1]:9".parse().unwrap()]);
        assert!(!resolve("localhost", 9, second).unwrap().is_empty());
        assert!(resolve("no-such-host.invalid", 9, second).is_err());
    }

    #[test]
    fn a_status_line_ending_in_a_bare_lf_is_read_at_once() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let _ = conn.read(&mut [0u8; 1024]);
            conn.write_all(b"HTTP/1.1 200 OK\n").unwrap();
            // Keep the connection open: the probe must not wait for more.
            std::thread::sleep(Duration::from_millis(1500));
        });
        let started = Instant::now();
        let url = format!("http://127.0.0.1:{port}/ready");
        assert_eq!(probe(&url, Duration::from_secs(1)), Ok(200));
        assert!(started.elapsed() < Duration::from_millis(900));
        server.join().unwrap();
    }

    #[test]
    fn fails_fast_when_nothing_listens() {
        // Bind then drop a listener to get a port that refuses connections.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let args = ProbeArgs {
            url: format!("http://127.0.0.1:{port}/ready"),
            timeout_ms: 500,
        };
        assert!(!run(&args));
    }
}
