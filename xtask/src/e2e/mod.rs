//! `cargo xtask e2e`: the container flow, end to end, on a real Docker engine.
//!
//! Installs its Debian packages if missing, starts `dockerd` if none answers, builds the
//! image archives twice (and once more from a second checkout in another directory) and
//! compares their sha256, loads and inspects the images ([`images`]), runs
//! `docker-compose.yml` with Compose v1 and v2 ([`compose`]), pushes both images with
//! skopeo to a local htpasswd-protected `docker-registry` and pulls them back
//! ([`registry`]), after the Kubernetes manifests' pod specs have run under Docker and
//! built the model image, which takes the registry round trip too ([`k8s`]). The arm64
//! images pulled by platform from the registry then run the compose file under qemu
//! ([`arm64`]). Then it removes, by id, every container, volume, network, image,
//! registry and daemon it created, and prints `e2e: N passed, M failed[, K skipped]`.
//! `--only arm64` runs the build, the registry and the arm64 part alone.

mod arm64;
mod compose;
mod host;
mod images;
mod k8s;
mod project;
mod registry;
mod suite;

use crate::images::BuiltImage;
use crate::run;
use anyhow::{Result, anyhow, ensure};
use project::Flavour;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Duration;
use suite::Suite;
use xshell::{Shell, cmd};

#[derive(clap::Args)]
pub struct Options {
    /// Skip the slow build from a second checkout (counted as a skip).
    #[arg(long)]
    no_second_checkout: bool,
    /// Fail instead of installing missing Debian packages.
    #[arg(long)]
    no_install: bool,
    /// Run one part only; the others are counted as skips. `arm64`: the image build, the
    /// registry round trip with the multi-arch pull, and the arm64 images under qemu with
    /// compose (no second checkout, no amd64 compose or Kubernetes scenarios).
    #[arg(long, value_enum, value_name = "PART")]
    only: Option<Part>,
}

/// A part of the suite that `--only` runs by itself.
#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum Part {
    Arm64,
}

const SECOND_BUILD: &str = "archives from a second checkout in another directory are identical";

/// What the scenarios need to know about the checkout and the build.
pub struct Ctx {
    pub root: PathBuf,
    pub work: PathBuf,
    pub version: String,
    pub revision: String,
    /// The amd64 images, which the engine here runs natively.
    pub built: Vec<BuiltImage>,
    /// The images of the other platforms (arm64), run under emulation.
    pub foreign: Vec<BuiltImage>,
}

impl Ctx {
    fn image(&self, name: &str) -> Result<&BuiltImage> {
        let image = self.built.iter().find(|b| b.name == name);
        image.ok_or_else(|| anyhow!("no image {name} built"))
    }
}

pub fn main(root: &Path, options: &Options) -> Result<()> {
    let work = std::env::temp_dir().join(format!("mlops-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let mut suite = Suite::new();
    let dir = work.clone();
    suite.undo("remove the work directory".into(), move || {
        std::fs::remove_dir_all(&dir)?;
        Ok(dir.display().to_string())
    });
    if let Err(e) = run(&mut suite, root, &work, options) {
        suite.fail("suite", &format!("aborted: {e:#}"));
    }
    suite.finish()
}

fn run(suite: &mut Suite, root: &Path, work: &Path, options: &Options) -> Result<()> {
    setup(suite, work, !options.no_install)?;
    let (version, revision) = (
        crate::binary::crate_version(root)?,
        crate::binary::revision(root),
    );
    let wanted = !options.no_second_checkout && options.only.is_none();
    let second = second_build(suite, root, work, wanted);
    let all = first_build(suite, root);
    let (built, foreign): (Vec<_>, Vec<_>) = all.iter().cloned().partition(|b| b.arch == "amd64");
    let (root, work) = (root.to_path_buf(), work.to_path_buf());
    let ctx = Ctx {
        root,
        work,
        version,
        revision,
        built,
        foreign,
    };
    let result = scenarios(suite, &ctx, options.only);
    if let Some(handle) = second {
        suite.check(SECOND_BUILD, || {
            let other = handle
                .join()
                .map_err(|_| anyhow!("second build panicked"))??;
            compare(&all, &other)
        });
    }
    result
}

/// The packages and the engine; an engine started here is stopped again at the end.
fn setup(suite: &mut Suite, work: &Path, install: bool) -> Result<()> {
    if install {
        let installed = suite.check("Debian packages present or installed", || {
            let installed = host::install_packages()?;
            Ok(match installed.is_empty() {
                true => "already installed".into(),
                false => format!("installed {}", installed.join(" ")),
            })
        });
        ensure!(installed, "cannot go on without the packages");
    }
    let daemon = host::ensure_daemon(work)?;
    suite.check("docker daemon answers", || {
        Ok(match &daemon {
            Some(d) => format!("started dockerd, pid {}", d.pid()),
            None => "reusing the daemon that answers".into(),
        })
    });
    if let Some(daemon) = daemon {
        suite.undo(
            format!("stop the dockerd we started (pid {})", daemon.pid()),
            move || {
                ensure!(
                    daemon.stop(Duration::from_secs(30))?,
                    "dockerd needed SIGKILL"
                );
                Ok("stopped".into())
            },
        );
    }
    Ok(())
}

type SecondBuild = JoinHandle<Result<Vec<BuiltImage>>>;

/// Copies the checkout elsewhere (before the first build, so both see one tree) and
/// builds it in the background, at low priority: its serial LTO phase overlaps with the
/// first build and with the Docker checks.
fn second_build(suite: &mut Suite, root: &Path, work: &Path, wanted: bool) -> Option<SecondBuild> {
    if !wanted {
        suite.skip(SECOND_BUILD, "--no-second-checkout or --only given");
        return None;
    }
    let checkout = work.join("second-checkout");
    let copied = suite.check("second checkout in another directory", || {
        snapshot(root, &checkout)?;
        Ok(checkout.display().to_string())
    });
    copied.then(|| std::thread::spawn(move || crate::images::build_in(&checkout, None, true)))
}

/// Builds the archives twice; empty when the first build fails.
fn first_build(suite: &mut Suite, root: &Path) -> Vec<BuiltImage> {
    let mut first = Vec::new();
    let built = suite.check("cargo xtask images (first build)", || {
        first = crate::images::build(root, None)?;
        let sums: Vec<String> = first
            .iter()
            .map(|b| format!("{}/{} {}", b.name, b.arch, b.archive_sha256))
            .collect();
        Ok(sums.join(", "))
    });
    if built {
        suite.check("cargo xtask images again gives identical archives", || {
            compare(&first, &crate::images::build(root, None)?)
        });
    }
    first
}

fn scenarios(suite: &mut Suite, ctx: &Ctx, only: Option<Part>) -> Result<()> {
    ensure!(!ctx.built.is_empty(), "no images to test");
    // The plugin is cached in target/, so that only the first run fetches it.
    let v2 = Flavour::v2(&ctx.root.join("target/e2e-cache/docker-config"));
    let model = match only {
        None => amd64(suite, ctx, &v2)?,
        Some(Part::Arm64) => {
            let why = "--only arm64 given";
            suite.skip(
                "amd64 images: load, inspect, compose v1 and v2, Kubernetes",
                why,
            );
            None
        }
    };
    // The model image the Kubernetes scenario builds goes through the registry too.
    let with_model = Ctx {
        built: ctx.built.iter().cloned().chain(model).collect(),
        foreign: ctx.foreign.clone(),
        root: ctx.root.clone(),
        work: ctx.work.clone(),
        version: ctx.version.clone(),
        revision: ctx.revision.clone(),
    };
    // Compose v2 where it could be had (it is the one documented with `platform:`), else v1.
    let flavour = v2.unwrap_or(Flavour::V1);
    match registry::scenario(suite, &with_model)? {
        Some((train, api)) => arm64::scenario(suite, ctx, &flavour, &train, &api),
        None => suite.fail("arm64 images under qemu", "no arm64 images were pulled"),
    }
    Ok(())
}

/// The amd64 images: archives, load, inspect, compose v1 and v2, the Kubernetes pod
/// specs; returns the model image the Kubernetes scenario built.
fn amd64(
    suite: &mut Suite,
    ctx: &Ctx,
    v2: &Result<Flavour, String>,
) -> Result<Option<crate::images::BuiltImage>> {
    images::archive_checks(suite, ctx);
    images::load(suite, ctx)?;
    images::inspect_checks(suite, ctx);
    compose::scenarios(suite, ctx, &Flavour::V1);
    match v2 {
        Ok(v2) => compose::scenarios(suite, ctx, v2),
        Err(why) => suite.skip(
            "Compose v2 NOT TESTED",
            &format!("no `docker compose` v2 plugin could be had ({why})"),
        ),
    }
    Ok(k8s::scenario(suite, ctx))
}

fn compare(a: &[BuiltImage], b: &[BuiltImage]) -> Result<String> {
    ensure!(a.len() == b.len(), "different image sets");
    let mut out = Vec::new();
    for (x, y) in a.iter().zip(b) {
        let (xa, ya) = (x.archive.display(), y.archive.display());
        let same = x.name == y.name && x.archive_sha256 == y.archive_sha256;
        ensure!(
            same,
            "{} ({}): {} vs {} ({xa} vs {ya})",
            x.name,
            x.arch,
            x.archive_sha256,
            y.archive_sha256
        );
        out.push(format!("{}/{} {}", x.name, x.arch, &x.archive_sha256[..16]));
    }
    Ok(out.join(", "))
}

/// A copy of the checkout elsewhere: `git clone` of HEAD, then the working tree's changes
/// (modified, deleted and untracked-but-not-ignored files) laid over it, so both
/// directories hold the same sources, uncommitted work included.
fn snapshot(root: &Path, dest: &Path) -> Result<()> {
    let sh = Shell::new()?;
    run::read(
        cmd!(sh, "git clone --no-hardlinks --quiet {root} {dest}"),
        host::MEDIUM,
    )?;
    let listed = cmd!(
        sh,
        "git -C {root} ls-files -z --cached --others --exclude-standard"
    );
    for rel in run::read(listed, host::SHORT)?
        .split('\0')
        .filter(|s| !s.is_empty())
    {
        let (src, dst) = (root.join(rel), dest.join(rel));
        let Ok(meta) = std::fs::symlink_metadata(&src) else {
            let _ = std::fs::remove_file(&dst);
            continue;
        };
        if meta.is_symlink() || meta.is_file() {
            let _ = std::fs::remove_file(&dst);
            sh.create_dir(dst.parent().unwrap_or(dest))?;
        }
        if meta.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else if meta.is_file() {
            std::fs::copy(&src, &dst).map_err(|e| anyhow!("copying {rel}: {e}"))?;
        }
    }
    Ok(())
}
