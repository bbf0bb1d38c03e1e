//! What the suite needs on the host: Debian packages, a Docker daemon, and small helpers
//! for `docker`, JSON and HTTP on loopback.

use crate::run::{self, Output, Server};
use anyhow::{Result, bail, ensure};
use serde_json::Value;
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};
use xshell::{Shell, cmd};

/// The limit for quick commands (inspect, rm, tag) and for slow ones (up, copy, pull).
pub const SHORT: Duration = Duration::from_secs(30);
pub const MEDIUM: Duration = Duration::from_secs(120);

/// The Debian packages the suite needs, and a program each provides.
const PACKAGES: &[(&str, &str)] = &[
    ("docker.io", "dockerd"),
    ("docker-compose", "docker-compose"),
    ("skopeo", "skopeo"),
    ("docker-registry", "docker-registry"),
    ("apache2-utils", "htpasswd"),
    ("qemu-user-static", "qemu-aarch64-static"),
    ("binfmt-support", "update-binfmts"),
];

/// True when `program` is an executable file on `PATH`.
pub fn have(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let paths = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&paths).any(|dir| {
        std::fs::metadata(dir.join(program))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// Installs the packages with apt-get when a program is missing; returns what it installed.
pub fn install_packages() -> Result<Vec<&'static str>> {
    if PACKAGES.iter().all(|(_, program)| have(program)) && have("docker") {
        return Ok(vec![]);
    }
    let packages: Vec<&str> = PACKAGES.iter().map(|(package, _)| *package).collect();
    eprintln!("e2e: installing {}", packages.join(" "));
    let sh = Shell::new()?;
    sh.set_var("DEBIAN_FRONTEND", "noninteractive");
    // Another apt-get may hold the lock (e.g. a parallel install): wait for it.
    let update = cmd!(sh, "apt-get -o DPkg::Lock::Timeout=300 update -qq");
    run::read(update, Duration::from_secs(600))?;
    let install = cmd!(sh, "apt-get -o DPkg::Lock::Timeout=300 install -y -qq")
        .arg("--no-install-recommends")
        .args(&packages);
    run::read(install, Duration::from_secs(900))?;
    if let Some((_, program)) = PACKAGES.iter().find(|(_, p)| !have(p)) {
        bail!("{program} still missing after apt-get install");
    }
    Ok(packages)
}

/// `docker ARGS`, exit 0 required; stdout, trimmed.
pub fn docker(args: &[&str]) -> Result<String> {
    let sh = Shell::new()?;
    run::read(cmd!(sh, "docker {args...}"), SHORT)
}

/// `docker ARGS` whatever its exit code.
pub fn docker_output(args: &[&str], limit: Duration) -> Result<Output> {
    let sh = Shell::new()?;
    run::output(cmd!(sh, "docker {args...}"), limit)
}

/// `docker <kind> inspect <id>`, the one object.
pub fn inspect(kind: &str, id: &str) -> Result<Value> {
    let mut v: Value = serde_json::from_str(&docker(&[kind, "inspect", id])?)?;
    Ok(v[0].take())
}

/// Calls `ready` every `every` until it gives `Some`, for at most `within`.
pub fn poll<T>(
    within: Duration,
    every: Duration,
    mut ready: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(value) = ready() {
            return Some(value);
        }
        std::thread::sleep(every);
    }
    None
}

/// The Docker daemon that answers, or one started here (`Some`, to be stopped again).
pub fn ensure_daemon(work: &Path) -> Result<Option<Server>> {
    let answers = || {
        docker_output(
            &["info", "--format", "{{.ServerVersion}}"],
            Duration::from_secs(10),
        )
        .is_ok_and(|o| o.ok())
    };
    if answers() {
        return Ok(None);
    }
    let sh = Shell::new()?;
    let daemon = Server::start(cmd!(sh, "dockerd"), &work.join("dockerd.log"))?;
    let answered = poll(Duration::from_secs(60), Duration::from_millis(200), || {
        answers().then_some(())
    });
    if answered.is_some() {
        return Ok(Some(daemon));
    }
    let log = daemon.log_text();
    daemon.stop(Duration::from_secs(30))?;
    bail!("dockerd did not answer within 60 s:\n{log}");
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// An HTTP request to 127.0.0.1:`port`: a POST with `body` as JSON, else a GET. Returns
/// the status (any status, errors included) and the body.
pub fn http(port: u16, path: &str, body: Option<&str>) -> Result<(u16, String)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let url = format!("http://127.0.0.1:{port}{path}");
    let mut response = match body {
        Some(body) => agent
            .post(&url)
            .header("Content-Type", "application/json")
            .send(body)?,
        None => agent.get(&url).call()?,
    };
    Ok((
        response.status().as_u16(),
        response.body_mut().read_to_string()?,
    ))
}

/// Fails, showing the value, unless `got` is `want`.
pub fn expect(got: &Value, want: impl Into<Value>, what: &str) -> Result<()> {
    let want = want.into();
    ensure!(*got == want, "{what} is {got}, expected {want}");
    Ok(())
}
