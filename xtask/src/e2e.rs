//! `cargo xtask e2e`: the container flow, end to end, on a real Docker engine.
//!
//! Installs its Debian packages if missing, starts `dockerd` if none answers, builds the
//! image archives twice (and once more from a second checkout in another directory) and
//! compares their sha256, loads and inspects the images, runs `docker-compose.yml` with
//! Compose v1 and v2 (healthy API, `/predict` through the published port, the model in
//! the volume, a failing train keeping the API from starting, a fast `docker stop`),
//! pushes both images with skopeo to a local htpasswd-protected `docker-registry` and
//! pulls them back. Then it removes, by id, every container, volume, network, image,
//! registry and daemon it created, and prints `e2e: N passed, M failed[, K skipped]`.
//!
//! Options: `--no-second-checkout` (skip the slow second build; counted as a skip),
//! `--no-install` (fail instead of installing packages).

use crate::docker::{
    Compose, ComposeKind, Daemon, MEDIUM, Registry, docker, docker_out, free_port, http, inspect,
    install_packages,
};
use crate::images::{self, BuiltImage};
use crate::proc::{Cmd, git_output};
use crate::repro::sha256_digest;
use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The `mlops-api` image must stay within this many bytes, uncompressed.
const API_SIZE_LIMIT: u64 = 8_000_000;
/// `docker compose up` to a healthy API, with the test override.
const HEALTHY_WITHIN: Duration = Duration::from_secs(10);
/// `docker stop` of the API.
const STOP_WITHIN: Duration = Duration::from_secs(2);

struct Suite {
    passed: usize,
    failed: Vec<String>,
    skipped: Vec<String>,
    start: Instant,
}

impl Suite {
    fn new() -> Suite {
        Suite {
            passed: 0,
            failed: Vec::new(),
            skipped: Vec::new(),
            start: Instant::now(),
        }
    }

    fn stamp(&self) -> String {
        format!("[{:6.1}s]", self.start.elapsed().as_secs_f64())
    }

    /// Runs one check; its `Ok` text is shown as detail.
    fn check(&mut self, name: &str, f: impl FnOnce() -> Result<String>) -> bool {
        let t = Instant::now();
        match f() {
            Ok(detail) => {
                self.passed += 1;
                println!(
                    "{} ok    {name} ({:.1}s){}",
                    self.stamp(),
                    t.elapsed().as_secs_f64(),
                    if detail.is_empty() {
                        String::new()
                    } else {
                        format!(": {detail}")
                    }
                );
                true
            }
            Err(e) => {
                self.fail(name, &format!("{e:#}"));
                false
            }
        }
    }

    fn fail(&mut self, name: &str, why: &str) {
        println!("{} FAIL  {name}: {why}", self.stamp());
        self.failed.push(name.to_string());
    }

    fn skip(&mut self, name: &str, why: &str) {
        println!("{} SKIP  {name}: {why}", self.stamp());
        self.skipped.push(format!("{name}: {why}"));
    }

    fn finish(&self) -> ! {
        println!();
        for f in &self.failed {
            println!("failed: {f}");
        }
        for s in &self.skipped {
            println!("skipped: {s}");
        }
        println!("e2e took {:.0} s", self.start.elapsed().as_secs_f64());
        let mut line = format!("e2e: {} passed, {} failed", self.passed, self.failed.len());
        if !self.skipped.is_empty() {
            line.push_str(&format!(", {} skipped", self.skipped.len()));
        }
        println!("{line}");
        std::process::exit(if self.failed.is_empty() { 0 } else { 1 });
    }
}

type Undo = Box<dyn FnOnce() -> Result<String>>;

/// What to undo, run last-in first-out; each step is a counted check.
#[derive(Default)]
struct Cleanup {
    steps: Vec<(String, Undo)>,
}

impl Cleanup {
    fn push(&mut self, name: impl Into<String>, f: impl FnOnce() -> Result<String> + 'static) {
        self.steps.push((name.into(), Box::new(f)));
    }

    fn run(&mut self, suite: &mut Suite) {
        while let Some((name, f)) = self.steps.pop() {
            suite.check(&format!("cleanup: {name}"), f);
        }
    }
}

struct Opts {
    second_checkout: bool,
    install: bool,
}

/// What the checks need to know about the build.
struct Ctx {
    root: PathBuf,
    work: PathBuf,
    version: String,
    revision: String,
    built: Vec<BuiltImage>,
}

impl Ctx {
    fn image(&self, name: &str) -> &BuiltImage {
        self.built
            .iter()
            .find(|b| b.name == name)
            .expect("declared image")
    }
}

type SecondBuild = JoinHandle<Result<Vec<BuiltImage>>>;

pub fn main(root: &Path, args: &[String]) -> Result<()> {
    let mut opts = Opts {
        second_checkout: true,
        install: true,
    };
    for arg in args {
        match arg.as_str() {
            "--no-second-checkout" => opts.second_checkout = false,
            "--no-install" => opts.install = false,
            other => bail!(
                "unknown argument {other:?}; usage: cargo xtask e2e [--no-second-checkout] [--no-install]"
            ),
        }
    }
    let work = std::env::temp_dir().join(format!("mlops-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let mut suite = Suite::new();
    let mut cleanup = Cleanup::default();
    {
        let work = work.clone();
        cleanup.push("remove the work directory", move || {
            std::fs::remove_dir_all(&work)?;
            Ok(work.display().to_string())
        });
    }
    let mut second: Option<(SecondBuild, Vec<BuiltImage>)> = None;
    if let Err(e) = run(root, &opts, &work, &mut suite, &mut cleanup, &mut second) {
        suite.fail("suite", &format!("aborted: {e:#}"));
    }
    if let Some((handle, first)) = second {
        suite.check(
            "archives from a second checkout in another directory are identical",
            || {
                let other = handle
                    .join()
                    .map_err(|_| anyhow::anyhow!("second build panicked"))??;
                compare(&first, &other)
            },
        );
    }
    cleanup.run(&mut suite);
    suite.finish()
}

fn compare(a: &[BuiltImage], b: &[BuiltImage]) -> Result<String> {
    ensure!(a.len() == b.len(), "different image sets");
    let mut out = Vec::new();
    for (x, y) in a.iter().zip(b) {
        ensure!(
            x.name == y.name && x.archive_sha256 == y.archive_sha256,
            "{}: {} vs {} ({} vs {})",
            x.name,
            x.archive_sha256,
            y.archive_sha256,
            x.archive.display(),
            y.archive.display()
        );
        out.push(format!("{} {}", x.name, &x.archive_sha256[..16]));
    }
    Ok(out.join(", "))
}

fn run(
    root: &Path,
    opts: &Opts,
    work: &Path,
    suite: &mut Suite,
    cleanup: &mut Cleanup,
    second: &mut Option<(SecondBuild, Vec<BuiltImage>)>,
) -> Result<()> {
    // Packages and the engine.
    if opts.install {
        let ok = suite.check("Debian packages present or installed", || {
            let installed = install_packages()?;
            Ok(if installed.is_empty() {
                "already installed".into()
            } else {
                format!("installed {}", installed.join(" "))
            })
        });
        ensure!(ok, "cannot go on without the packages");
    }
    let daemon = Daemon::ensure(work)?;
    suite.check("docker daemon answers", || {
        Ok(match daemon.pid {
            Some(pid) => format!("started dockerd, pid {pid}"),
            None => "reusing the daemon that answers".into(),
        })
    });
    if let Some(pid) = daemon.pid {
        cleanup.push(
            format!("stop the dockerd we started (pid {pid})"),
            move || {
                ensure!(daemon.stop(), "dockerd needed SIGKILL");
                ensure!(!crate::docker::pid_alive(pid), "dockerd still running");
                Ok("stopped".into())
            },
        );
    }

    // The second checkout is copied now, before the first build, so both see one tree.
    let checkout = work.join("second-checkout");
    let mut have_checkout = false;
    if opts.second_checkout {
        have_checkout = suite.check("second checkout in another directory", || {
            snapshot(root, &checkout)?;
            Ok(checkout.display().to_string())
        });
    } else {
        suite.skip(
            "archives from a second checkout in another directory are identical",
            "--no-second-checkout given",
        );
    }

    // The second checkout builds in the background (at low priority) from now on: its
    // serial LTO phase overlaps with the first build's and with the Docker checks.
    let spawned = have_checkout.then(|| {
        let checkout = checkout.clone();
        std::thread::spawn(move || -> Result<Vec<BuiltImage>> {
            let binary = images::build_binary(&checkout, true)?;
            images::write_archives(&checkout, &binary, &checkout.join("target/images"))
        })
    });

    // Build twice.
    let mut first = Vec::new();
    let built = suite.check("cargo xtask images (first build)", || {
        first = images::build(root, None)?;
        Ok(first
            .iter()
            .map(|b| format!("{} {}", b.name, b.archive_sha256))
            .collect::<Vec<_>>()
            .join(", "))
    });
    if let Some(handle) = spawned {
        // Joined (and compared) in `main` whatever happens next.
        *second = Some((handle, first.clone()));
    }
    ensure!(built, "no images to test");
    suite.check("cargo xtask images again gives identical archives", || {
        let again = images::build(root, None)?;
        compare(&first, &again)
    });
    let ctx = Ctx {
        root: root.to_path_buf(),
        work: work.to_path_buf(),
        version: images::crate_version(root)?,
        revision: images::revision(root),
        built: first,
    };

    archive_checks(suite, &ctx);
    load_images(suite, cleanup, &ctx)?;
    image_checks(suite, &ctx);

    // Compose v1 (Debian's 1.29) and v2 (the CLI plugin, fetched if need be).
    compose_suite(suite, cleanup, &ctx, ComposeKind::V1, None);
    match crate::docker::compose_v2(&root.join("target/e2e-cache/compose-v2"), work) {
        Ok(config) => compose_suite(suite, cleanup, &ctx, ComposeKind::V2, config),
        Err(why) => suite.skip(
            "Compose v2 NOT TESTED",
            &format!("no `docker compose` v2 plugin could be had ({why})"),
        ),
    }

    registry_suite(suite, cleanup, &ctx)?;
    Ok(())
}

/// A copy of the checkout elsewhere: `git clone` of HEAD, then the working tree's
/// changes (modified, deleted and untracked-but-not-ignored files) laid over it, so both
/// directories hold the same sources (uncommitted work included).
fn snapshot(root: &Path, dest: &Path) -> Result<()> {
    Cmd::new("git")
        .args(["clone", "--no-hardlinks", "--quiet"])
        .arg(root)
        .arg(dest)
        .timeout(MEDIUM)
        .run_ok()?;
    let listed = git_output(
        root,
        &[
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
    )?;
    for rel in listed.split('\0').filter(|s| !s.is_empty()) {
        let src = root.join(rel);
        let dst = dest.join(rel);
        match std::fs::symlink_metadata(&src) {
            Ok(m) if m.file_type().is_symlink() => {
                let _ = std::fs::remove_file(&dst);
                if let Some(p) = dst.parent() {
                    std::fs::create_dir_all(p)?;
                }
                std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
            }
            Ok(m) if m.is_file() => {
                if let Some(p) = dst.parent() {
                    std::fs::create_dir_all(p)?;
                }
                std::fs::copy(&src, &dst).with_context(|| format!("copying {rel}"))?;
            }
            Ok(_) => {}
            Err(_) => {
                let _ = std::fs::remove_file(&dst);
            }
        }
    }
    Ok(())
}

/// Checks on the archives themselves, before Docker sees them.
fn archive_checks(suite: &mut Suite, ctx: &Ctx) {
    suite.check(
        "docker-compose.yml: no version key, default tags are the crate version",
        || {
            let text = std::fs::read_to_string(ctx.root.join("docker-compose.yml"))?;
            ensure!(
                !text.lines().any(|l| l.starts_with("version:")),
                "a top-level version: key"
            );
            for name in ["mlops-train", "mlops-api"] {
                let want = format!("image: {name}:${{MLOPS_TAG:-{}}}", ctx.version);
                ensure!(
                    text.contains(&want),
                    "no `{want}` (bump it with the crate version)"
                );
            }
            Ok(format!("tag {}", ctx.version))
        },
    );
    suite.check("images share the binary layer", || {
        let digests: Vec<&String> = ctx.built.iter().map(|b| &b.layer_digests[0]).collect();
        ensure!(
            digests.windows(2).all(|w| w[0] == w[1]),
            "layer 1 differs: {digests:?}"
        );
        Ok(digests[0].clone())
    });
    suite.check("mlops-api image is at most 8 MB uncompressed", || {
        let size = ctx.image("mlops-api").uncompressed_size;
        ensure!(size <= API_SIZE_LIMIT, "{size} bytes > {API_SIZE_LIMIT}");
        Ok(format!("{:.2} MB", size as f64 / 1e6))
    });
    suite.check(
        "the layers hold only /bin/mlops and the declared dirs",
        || {
            let mut paths = Vec::new();
            let archive = std::fs::read(&ctx.image("mlops-api").archive)?;
            let mut outer = tar::Archive::new(archive.as_slice());
            let mut blobs = BTreeMap::new();
            for e in outer.entries()? {
                let mut e = e?;
                let path = e.path()?.to_string_lossy().into_owned();
                let mut data = Vec::new();
                std::io::Read::read_to_end(&mut e, &mut data)?;
                blobs.insert(path, data);
            }
            let manifest: Vec<images::DockerManifestEntry> =
                serde_json::from_slice(&blobs["manifest.json"])?;
            for layer in &manifest[0].layers {
                let mut inner = tar::Archive::new(blobs[layer].as_slice());
                for e in inner.entries()? {
                    paths.push(e?.path()?.to_string_lossy().into_owned());
                }
            }
            paths.sort();
            ensure!(
                paths == ["bin/", "bin/mlops", "data/", "models/", "tmp/"],
                "unexpected contents {paths:?}"
            );
            Ok(paths.join(" "))
        },
    );
}

/// Loads both archives; registers their removal (by id, only if they were not there
/// before; a tag that pointed elsewhere is put back).
fn load_images(suite: &mut Suite, cleanup: &mut Cleanup, ctx: &Ctx) -> Result<()> {
    for b in &ctx.built {
        let existed =
            docker_out(&["image", "inspect", "--format", "{{.Id}}", &b.config_digest]).is_ok();
        let previous_tag = docker_out(&["image", "inspect", "--format", "{{.Id}}", &b.reference])
            .ok()
            .filter(|id| *id != b.config_digest);
        let loaded = suite.check(&format!("docker load {}", b.archive.display()), || {
            let out = docker()
                .arg("load")
                .arg("--input")
                .arg(&b.archive)
                .timeout(MEDIUM)
                .run_ok()?;
            let id = docker_out(&["image", "inspect", "--format", "{{.Id}}", &b.reference])?;
            ensure!(
                id == b.config_digest,
                "{} is {id}, expected {}",
                b.reference,
                b.config_digest
            );
            Ok(format!("{} = {id}", out.stdout.trim()))
        });
        let (id, reference) = (b.config_digest.clone(), b.reference.clone());
        cleanup.push(format!("remove image {reference} ({id})"), move || {
            let mut did = Vec::new();
            if !existed {
                if docker_out(&["image", "inspect", "--format", "{{.Id}}", &id]).is_ok() {
                    docker_out(&["rmi", "--force", &id])?;
                    ensure!(
                        docker_out(&["image", "inspect", &id]).is_err(),
                        "{id} still present"
                    );
                    did.push("removed".to_string());
                }
            } else {
                did.push("kept (it was there before)".to_string());
            }
            if let Some(old) = previous_tag {
                docker_out(&["tag", &old, &reference])?;
                did.push(format!("{reference} points at {old} again"));
            }
            Ok(did.join("; "))
        });
        ensure!(loaded, "cannot go on without the images");
    }
    Ok(())
}

fn image_checks(suite: &mut Suite, ctx: &Ctx) {
    for b in &ctx.built {
        suite.check(&format!("docker inspect {}", b.reference), || {
            let v = inspect("image", &b.reference)?;
            let c = &v["Config"];
            ensure!(c["User"] == "65534:65534", "User is {}", c["User"]);
            ensure!(
                v["Created"] == "1970-01-01T00:00:01Z"
                    || std::env::var_os("SOURCE_DATE_EPOCH").is_some(),
                "Created is {}",
                v["Created"]
            );
            let labels = &c["Labels"];
            let want = [
                ("org.opencontainers.image.title", Some(b.name.as_str())),
                (
                    "org.opencontainers.image.version",
                    Some(ctx.version.as_str()),
                ),
                (
                    "org.opencontainers.image.revision",
                    Some(ctx.revision.as_str()),
                ),
                ("org.opencontainers.image.source", None),
                ("org.opencontainers.image.licenses", None),
                ("org.opencontainers.image.description", None),
            ];
            for (key, value) in want {
                let got = labels[key].as_str().unwrap_or("");
                ensure!(!got.is_empty(), "label {key} missing");
                if let Some(value) = value {
                    ensure!(got == value, "label {key} is {got:?}, expected {value:?}");
                }
            }
            ensure!(
                c["Entrypoint"] == serde_json::json!(["/bin/mlops"]),
                "Entrypoint {}",
                c["Entrypoint"]
            );
            let mut detail = format!("user 65534:65534, {} labels", want.len());
            if b.name == "mlops-api" {
                let hc = &c["Healthcheck"];
                ensure!(
                    hc["Test"] == serde_json::json!(["CMD", "/bin/mlops", "probe"]),
                    "Healthcheck {hc}"
                );
                let interval = hc["Interval"].as_u64().unwrap_or(0);
                ensure!(
                    interval >= 1_000_000_000,
                    "health interval {interval} is not in nanoseconds"
                );
                ensure!(
                    c["ExposedPorts"]["8000/tcp"].is_object(),
                    "8000/tcp not exposed"
                );
                detail.push_str(&format!(
                    ", healthcheck {} every {} s",
                    hc["Test"],
                    interval / 1_000_000_000
                ));
            }
            Ok(detail)
        });
        suite.check(
            &format!("{} has no shell (--entrypoint /bin/sh fails)", b.reference),
            || {
                let id = docker_out(&[
                    "create",
                    "--pull",
                    "never",
                    "--entrypoint",
                    "/bin/sh",
                    &b.reference,
                    "-c",
                    "true",
                ])?;
                let started = docker().args(["start", "--attach", &id]).run();
                docker_out(&["rm", "--force", &id])?;
                let started = started?;
                ensure!(!started.ok(), "/bin/sh ran: {}", started.stdout);
                Ok(started.tail().lines().last().unwrap_or("").to_string())
            },
        );
    }
}

fn compose_files(ctx: &Ctx) -> Vec<PathBuf> {
    vec![
        ctx.root.join("docker-compose.yml"),
        ctx.root.join("docker-compose.test.yml"),
    ]
}

/// One Compose flavour under test: what its scenarios need to start their projects.
struct ComposeUnderTest<'a> {
    ctx: &'a Ctx,
    kind: ComposeKind,
    docker_config: Option<PathBuf>,
    /// "compose v1" or "compose v2", the start of each check's name.
    label: &'static str,
}

impl ComposeUnderTest<'_> {
    /// A new project on a free port (its name unique to this run and scenario `what`),
    /// with `extra` laid over the compose files. Its teardown is registered as a clean-up
    /// step at once, so the project goes away even when a check fails or the scenario
    /// aborts.
    fn project(
        &self,
        cleanup: &mut Cleanup,
        what: &str,
        extra: Option<PathBuf>,
    ) -> Result<(Compose, u16)> {
        let port = free_port()?;
        let tag = match self.kind {
            ComposeKind::V1 => "v1",
            ComposeKind::V2 => "v2",
        };
        let mut files = compose_files(self.ctx);
        files.extend(extra);
        let compose = Compose {
            kind: self.kind,
            project: format!("mlopse2e{}{tag}{what}", std::process::id()),
            files,
            env: vec![
                ("MLOPS_API_ADDR".into(), "127.0.0.1".into()),
                ("MLOPS_API_PORT".into(), port.to_string()),
                ("MLOPS_TAG".into(), self.ctx.version.clone()),
            ],
            docker_config: self.docker_config.clone(),
        };
        {
            let compose = compose.clone();
            cleanup.push(
                format!("{}: down, project {}", self.label, compose.project),
                move || {
                    compose.teardown()?;
                    Ok("no container, volume or network left".into())
                },
            );
        }
        Ok((compose, port))
    }
}

/// `up -d` without building or pulling: the images are the ones loaded from the archives.
fn up_args(kind: ComposeKind) -> &'static [&'static str] {
    match kind {
        // 1.29 has no --wait (it would print the usage and exit 0): compose_happy polls for
        // health instead.
        ComposeKind::V1 => &["up", "-d", "--no-build"],
        ComposeKind::V2 => &[
            "up",
            "-d",
            "--no-build",
            "--pull",
            "never",
            "--wait",
            "--wait-timeout",
            "60",
        ],
    }
}

fn service_container(compose: &Compose, service: &str) -> Result<Option<String>> {
    let service = format!("label=com.docker.compose.service={service}");
    Ok(compose
        .ids(&["ps", "-a", "--filter", &service])?
        .into_iter()
        .next())
}

fn compose_suite(
    suite: &mut Suite,
    cleanup: &mut Cleanup,
    ctx: &Ctx,
    kind: ComposeKind,
    docker_config: Option<PathBuf>,
) {
    let label = match kind {
        ComposeKind::V1 => "compose v1",
        ComposeKind::V2 => "compose v2",
    };
    let version = kind_version(kind, docker_config.as_deref());
    let under = ComposeUnderTest {
        ctx,
        kind,
        docker_config,
        label,
    };
    if let Err(e) = compose_happy(suite, cleanup, &under, &version) {
        suite.fail(&format!("{label}: scenario"), &format!("aborted: {e:#}"));
    }
    if let Err(e) = compose_failing_train(suite, cleanup, &under) {
        suite.fail(
            &format!("{label}: failing train"),
            &format!("aborted: {e:#}"),
        );
    }
}

fn kind_version(kind: ComposeKind, docker_config: Option<&Path>) -> String {
    let cmd = match kind {
        ComposeKind::V1 => Cmd::new("docker-compose").arg("version").arg("--short"),
        ComposeKind::V2 => {
            let c = docker().args(["compose", "version", "--short"]);
            match docker_config {
                Some(d) => c.env("DOCKER_CONFIG", d),
                None => c,
            }
        }
    };
    cmd.run()
        .map(|o| o.stdout.trim().to_string())
        .unwrap_or_default()
}

fn compose_happy(
    suite: &mut Suite,
    cleanup: &mut Cleanup,
    under: &ComposeUnderTest,
    version: &str,
) -> Result<()> {
    let (ctx, kind, label) = (under.ctx, under.kind, under.label);
    let (compose, port) = under.project(cleanup, "", None)?;
    suite.check(
        &format!("{label} {version}: merged config publishes the API on 127.0.0.1 only"),
        || {
            let out = compose.cmd(&["config"]).run_ok()?.stdout;
            ensure!(
                !out.contains("0.0.0.0"),
                "0.0.0.0 in the merged config:\n{out}"
            );
            ensure!(out.contains("127.0.0.1"), "no 127.0.0.1 binding:\n{out}");
            ensure!(
                out.contains(&format!("mlops-api:{}", ctx.version)),
                "image tag is not the crate version:\n{out}"
            );
            Ok(format!("port {port}"))
        },
    );

    let t0 = Instant::now();
    let up_ok = suite.check(&format!("{label}: up -d (train once, then api)"), || {
        let out = compose.run(up_args(kind))?;
        ensure!(out.ok(), "exit {:?}: {}", out.code, out.tail());
        Ok(String::new())
    });
    ensure!(up_ok, "compose up failed");

    let mut api = None;
    suite.check(
        &format!(
            "{label}: api becomes healthy within {} s",
            HEALTHY_WITHIN.as_secs()
        ),
        || {
            let deadline = t0 + Duration::from_secs(60);
            loop {
                if let Some(id) = service_container(&compose, "api")? {
                    let state = inspect("container", &id)?;
                    let health = state["State"]["Health"]["Status"]
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    if health == "healthy" {
                        api = Some(id);
                        break;
                    }
                    if state["State"]["Status"] == "exited" {
                        let logs = docker().args(["logs", "--tail", "20", &id]).run()?;
                        bail!("api exited: {}{}", logs.stdout, logs.stderr);
                    }
                }
                ensure!(Instant::now() < deadline, "not healthy after 60 s");
                std::thread::sleep(Duration::from_millis(100));
            }
            let took = t0.elapsed();
            ensure!(
                took <= HEALTHY_WITHIN,
                "healthy only after {:.1} s",
                took.as_secs_f64()
            );
            Ok(format!("{:.1} s from up", took.as_secs_f64()))
        },
    );
    let api = api.context("no healthy api container")?;
    let train = service_container(&compose, "train")?.context("no train container")?;

    suite.check(&format!("{label}: containers as declared"), || {
        let t = inspect("container", &train)?;
        ensure!(t["State"]["ExitCode"] == 0, "train exit code {}", t["State"]["ExitCode"]);
        let a = inspect("container", &api)?;
        ensure!(a["Config"]["User"] == "65534:65534", "api user {}", a["Config"]["User"]);
        // docker top needs the pid column; uid and gid are the next two.
        let top = docker_out(&["top", &api, "-o", "pid,uid,gid,args"])?;
        ensure!(
            top.lines().skip(1).all(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                cols.len() > 2 && cols[1] == "65534" && cols[2] == "65534"
            }),
            "processes not run as 65534:65534:\n{top}"
        );
        let hc = &a["HostConfig"];
        ensure!(hc["ReadonlyRootfs"] == true, "root file system is writable");
        ensure!(hc["Tmpfs"]["/tmp"].is_string(), "no tmpfs /tmp: {}", hc["Tmpfs"]);
        ensure!(hc["RestartPolicy"]["Name"] == "unless-stopped", "restart {}", hc["RestartPolicy"]);
        let bindings = &hc["PortBindings"]["8000/tcp"];
        ensure!(
            bindings.as_array().is_some_and(|b| b.len() == 1 && b[0]["HostIp"] == "127.0.0.1"),
            "port bindings {bindings}"
        );
        let health = &a["Config"]["Healthcheck"];
        ensure!(health["Test"] == serde_json::json!(["CMD", "/bin/mlops", "probe"]), "health test {health}");
        Ok("train exited 0; api: uid 65534, read-only root, tmpfs /tmp, unless-stopped, 127.0.0.1 only, image health test".into())
    });

    let mut served_model = String::new();
    suite.check(
        &format!("{label}: POST /predict through the published port"),
        || {
            let (status, body) = http(port, "GET", "/health", None)?;
            ensure!(status == 200, "/health {status} {body}");
            let (status, body) = http(
                port,
                "POST",
                "/predict",
                Some(r#"{"features":[5.1,3.5,1.4,0.2]}"#),
            )?;
            ensure!(status == 200, "/predict {status} {body}");
            let v: Value =
                serde_json::from_str(&body).with_context(|| format!("not JSON: {body}"))?;
            ensure!(v["prediction"] == "setosa", "prediction {body}");
            served_model = v["model"].as_str().unwrap_or("").to_string();
            ensure!(served_model.starts_with("sha256:"), "model {body}");
            Ok(body.trim().to_string())
        },
    );

    suite.check(
        &format!("{label}: the trained model and metrics are in the volume, visible on the host"),
        || {
            // The README's way: docker cp "$(docker compose ps -aq train)":/models/. ./models/
            let listed = compose.cmd(&["ps", "-a", "-q", "train"]).run_ok()?.stdout;
            let listed = listed.trim().to_string();
            ensure!(
                !listed.is_empty() && (train.starts_with(&listed) || listed.starts_with(&train)),
                "ps -aq train gave {listed:?}, not {train}"
            );
            let dest = ctx.work.join(format!("models-{}", compose.project));
            std::fs::create_dir_all(&dest)?;
            docker()
                .arg("cp")
                .arg(format!("{listed}:/models/."))
                .arg(&dest)
                .run_ok()?;
            let model = std::fs::read(dest.join("model.cbor")).context("model.cbor")?;
            let metrics: Value = serde_json::from_slice(
                &std::fs::read(dest.join("metrics.json")).context("metrics.json")?,
            )
            .context("metrics.json is not JSON")?;
            ensure!(metrics.is_object(), "metrics.json is not an object");
            let digest = sha256_digest(&model);
            ensure!(
                served_model.is_empty() || digest == served_model,
                "served {served_model}, volume holds {digest}"
            );
            // As root on the host: the volume's directory, files owned by the image's user.
            let volume = compose
                .ids(&["volume", "ls"])?
                .into_iter()
                .next()
                .context("no volume")?;
            let mountpoint = inspect("volume", &volume)?["Mountpoint"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let meta = std::fs::metadata(Path::new(&mountpoint).join("model.cbor"))
                .with_context(|| format!("model.cbor not under {mountpoint}"))?;
            ensure!(
                std::os::unix::fs::MetadataExt::uid(&meta) == 65534,
                "model.cbor owned by uid {}",
                std::os::unix::fs::MetadataExt::uid(&meta)
            );
            Ok(format!("{} bytes, {digest}; volume {volume}", model.len()))
        },
    );

    suite.check(
        &format!(
            "{label}: docker stop api takes < {} s",
            STOP_WITHIN.as_secs()
        ),
        || {
            let t = Instant::now();
            docker_out(&["stop", "--time", "10", &api])?;
            let took = t.elapsed();
            let code = inspect("container", &api)?["State"]["ExitCode"].clone();
            ensure!(
                took < STOP_WITHIN,
                "stop took {:.1} s (exit code {code})",
                took.as_secs_f64()
            );
            Ok(format!("{:.2} s, exit code {code}", took.as_secs_f64()))
        },
    );

    suite.check(
        &format!("{label}: down removes containers, volume and network"),
        || {
            compose.teardown()?;
            Ok(String::new())
        },
    );
    Ok(())
}

fn compose_failing_train(
    suite: &mut Suite,
    cleanup: &mut Cleanup,
    under: &ComposeUnderTest,
) -> Result<()> {
    let (ctx, kind, label) = (under.ctx, under.kind, under.label);
    let override_file = ctx.work.join("docker-compose.failing-train.yml");
    std::fs::write(
        &override_file,
        "services:\n  train:\n    command: [\"train\", \"--data\", \"/data/missing.csv\", \"--out\", \"/models\"]\n",
    )?;
    let (compose, _) = under.project(cleanup, "fail", Some(override_file))?;
    suite.check(
        &format!("{label}: a failing train keeps api from starting"),
        || {
            let out = compose.run(up_args(kind))?;
            ensure!(!out.ok(), "up exited 0 although train failed");
            let train = service_container(&compose, "train")?.context("train never ran")?;
            let code = inspect("container", &train)?["State"]["ExitCode"]
                .as_i64()
                .unwrap_or(0);
            ensure!(code != 0, "train exited 0");
            if let Some(api) = service_container(&compose, "api")? {
                let state = inspect("container", &api)?;
                ensure!(
                    state["State"]["Running"] == false
                        && state["State"]["StartedAt"]
                            .as_str()
                            .unwrap_or("")
                            .starts_with("0001"),
                    "api was started: {}",
                    state["State"]
                );
            }
            Ok(format!(
                "up exit {:?}, train exit {code}, api never started",
                out.code
            ))
        },
    );
    suite.check(&format!("{label}: down after the failed run"), || {
        compose.teardown()?;
        Ok(String::new())
    });
    Ok(())
}

fn registry_suite(suite: &mut Suite, cleanup: &mut Cleanup, ctx: &Ctx) -> Result<()> {
    let registry = Registry::start(&ctx.work.join("registry"))?;
    let (pid, port) = (registry.pid, registry.port);
    let creds = registry.creds();
    let (user, password) = (registry.user.clone(), registry.password.clone());
    suite.check(
        "local docker-registry with htpasswd auth on 127.0.0.1",
        || {
            Ok(format!(
                "pid {pid}, port {port}, /v2/ answers 401 without credentials"
            ))
        },
    );
    let host = format!("127.0.0.1:{port}");
    let docker_config = ctx.work.join("docker-login");
    std::fs::create_dir_all(&docker_config)?;
    let no_auth = ctx.work.join("no-auth.json");
    // Pulled references to remove again (tags and digests under the registry's name).
    let pulled: std::rc::Rc<std::cell::RefCell<Vec<String>>> = Default::default();
    {
        let pulled = pulled.clone();
        cleanup.push(
            format!("stop the registry (pid {pid}) and untag what was pulled"),
            move || {
                for r in pulled.borrow().iter() {
                    let _ = docker_out(&["rmi", r]);
                }
                ensure!(registry.stop(), "registry did not stop");
                Ok(format!(
                    "{} references removed, registry stopped",
                    pulled.borrow().len()
                ))
            },
        );
    }
    let skopeo = |args: &[&str]| {
        Cmd::new("skopeo")
            .args(args)
            .env("REGISTRY_AUTH_FILE", &no_auth)
            .timeout(MEDIUM)
    };

    for b in &ctx.built {
        let dest = format!("docker://{host}/{}", b.reference);
        let source = format!("docker-archive:{}", b.archive.display());
        suite.check(
            &format!("skopeo copy {} without credentials is refused", b.name),
            || {
                let out = skopeo(&["copy", "--quiet", "--dest-tls-verify=false", &source, &dest])
                    .run()?;
                ensure!(!out.ok(), "pushed without credentials");
                let msg = out.tail().to_lowercase();
                ensure!(
                    msg.contains("unauthorized") || msg.contains("authentication required"),
                    "unexpected error: {msg}"
                );
                Ok("unauthorized".into())
            },
        );
        let digest_file = ctx.work.join(format!("{}.digest", b.name));
        let mut pushed = String::new();
        suite.check(
            &format!("skopeo copy {} to the registry with credentials", b.name),
            || {
                skopeo(&[
                    "copy",
                    "--quiet",
                    "--dest-tls-verify=false",
                    "--dest-creds",
                    &creds,
                    "--digestfile",
                ])
                .arg(&digest_file)
                .args([&source, &dest])
                .run_ok()?;
                pushed = std::fs::read_to_string(&digest_file)?.trim().to_string();
                // `skopeo inspect [--config] --raw`: the manifest (or the config blob) as
                // the registry serves it, byte for byte.
                let inspect_raw = |extra: &[&str]| -> Result<String> {
                    let mut args = vec!["inspect"];
                    args.extend_from_slice(extra);
                    args.extend(["--raw", "--tls-verify=false", "--creds", &creds, &dest]);
                    Ok(skopeo(&args).run_ok()?.stdout)
                };
                let raw = inspect_raw(&[])?;
                ensure!(
                    sha256_digest(raw.as_bytes()) == pushed,
                    "manifest digest {} != {pushed}",
                    sha256_digest(raw.as_bytes())
                );
                let config = inspect_raw(&["--config"])?;
                ensure!(
                    sha256_digest(config.as_bytes()) == b.config_digest,
                    "config changed in transit"
                );
                Ok(format!("{dest} @ {pushed}"))
            },
        );
        suite.check(
            &format!("docker pull {} back with the same digests", b.name),
            || {
                ensure!(!pushed.is_empty(), "nothing pushed");
                let reference = format!("{host}/{}", b.reference);
                docker()
                    .env("DOCKER_CONFIG", &docker_config)
                    .args(["login", &host, "--username", &user, "--password-stdin"])
                    .stdin(password.clone())
                    .run_ok()?;
                let pull = docker()
                    .env("DOCKER_CONFIG", &docker_config)
                    .args(["pull", "--quiet", &reference])
                    .timeout(MEDIUM)
                    .run();
                let _ = docker()
                    .env("DOCKER_CONFIG", &docker_config)
                    .args(["logout", &host])
                    .run();
                let by_digest = format!("{host}/{}@{pushed}", b.name);
                pulled
                    .borrow_mut()
                    .extend([reference.clone(), by_digest.clone()]);
                let pull = pull?;
                ensure!(pull.ok(), "pull failed: {}", pull.tail());
                let v = inspect("image", &reference)?;
                ensure!(
                    v["Id"] == b.config_digest.as_str(),
                    "pulled image {} != built {}",
                    v["Id"],
                    b.config_digest
                );
                let digests: Vec<String> = v["RepoDigests"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d.as_str().map(str::to_string))
                    .collect();
                ensure!(
                    digests.contains(&by_digest),
                    "RepoDigests {digests:?} lack {by_digest}"
                );
                Ok(format!("image {}, {by_digest}", &b.config_digest[..19]))
            },
        );
        suite.check(
            &format!(
                "{} is also an OCI archive (skopeo inspect oci-archive:)",
                b.name
            ),
            || {
                let raw = skopeo(&[
                    "inspect",
                    "--raw",
                    &format!("oci-archive:{}", b.archive.display()),
                ])
                .run_ok()?
                .stdout;
                ensure!(
                    sha256_digest(raw.as_bytes()) == b.manifest_digest,
                    "OCI manifest digest differs"
                );
                Ok(b.manifest_digest.clone())
            },
        );
    }
    Ok(())
}
