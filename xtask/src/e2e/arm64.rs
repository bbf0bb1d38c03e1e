//! The linux/arm64 images, run on this amd64 machine under qemu user emulation, the way
//! users run them: the project's `docker-compose.yml` (with the test override) brought
//! up with the arm64 images, so that train writes a model into the volume, the API
//! serves it on 127.0.0.1 and a `/predict` answers; then `down`. The images are the ones
//! `docker pull --platform linux/arm64` got from the registry ([`super::registry`]),
//! tagged for this run only, and an override sets `platform: linux/arm64` on both
//! services.

use super::compose::{predict, wait_healthy};
use super::host::{SHORT, docker, inspect};
use super::project::{Compose, Flavour};
use super::{Ctx, Suite};
use crate::run;
use anyhow::{Context, Result, ensure};
use std::path::Path;
use std::time::{Duration, Instant};
use xshell::{Shell, cmd};

const BINFMT: &str = "/proc/sys/fs/binfmt_misc";

/// Lets the kernel run aarch64 executables through qemu-aarch64-static: binfmt_misc
/// mounted (these machines do not mount it), the handler enabled. Its F flag makes the
/// kernel open the interpreter at registration, so it works inside containers too.
pub fn enable_qemu() -> Result<String> {
    let sh = Shell::new()?;
    if !Path::new(BINFMT).join("register").exists() {
        run::checked(cmd!(sh, "mount -t binfmt_misc binfmt_misc {BINFMT}"), SHORT)?;
    }
    let handler = Path::new(BINFMT).join("qemu-aarch64");
    if !std::fs::read_to_string(&handler).is_ok_and(|s| s.starts_with("enabled")) {
        run::checked(cmd!(sh, "update-binfmts --enable qemu-aarch64"), SHORT)?;
    }
    let state = std::fs::read_to_string(&handler)?;
    // F (fix binary): the kernel opens the interpreter at registration, so it works
    // inside containers, whose root has no qemu. Other flags (P, O, C) may come with it.
    let flags = state
        .lines()
        .find_map(|l| l.strip_prefix("flags: "))
        .unwrap_or("");
    ensure!(
        state.starts_with("enabled") && flags.contains('F'),
        "qemu-aarch64 handler: {state}"
    );
    Ok(format!("qemu-aarch64 enabled, flags {flags}"))
}

/// What the arm64 override lays over the compose files: both services run the arm64
/// image (Compose v1.29 and v2 both pass `platform` to the engine).
const OVERRIDE: &str =
    "services:\n  train:\n    platform: linux/arm64\n  api:\n    platform: linux/arm64\n";

/// Train, then serve and predict, with the arm64 images `train` and `api` (image IDs),
/// through the compose file under `flavour`.
pub fn scenario(suite: &mut Suite, ctx: &Ctx, flavour: &Flavour, train: &str, api: &str) {
    if !suite.check("qemu-aarch64 registered with binfmt_misc", enable_qemu) {
        return;
    }
    // A tag of this run's own: compose finds the images as mlops-{train,api}:$MLOPS_TAG.
    let tag = format!("{}-arm64-e2e{}", ctx.version, std::process::id());
    let tags = [format!("mlops-train:{tag}"), format!("mlops-api:{tag}")];
    let ids = [train.to_string(), api.to_string()];
    // Registered before the project, so it runs after the project's `down`.
    let (t, i) = (tags.clone(), ids.clone());
    suite.undo(
        format!("untag {} and remove the arm64 images", tags.join(", ")),
        move || {
            t.iter().for_each(|tag| drop(docker(&["rmi", tag])));
            docker(&["rmi", &i[0], &i[1]]).map(|_| "removed".into())
        },
    );
    let tagged = suite.check("arm64 images tagged for compose", || {
        for (id, tag) in ids.iter().zip(&tags) {
            docker(&["tag", id, tag])?;
            let arch = &inspect("image", tag)?["Architecture"];
            ensure!(arch == "arm64", "{tag} is {arch}");
        }
        Ok(format!("{} (linux/arm64)", tags.join(", ")))
    });
    if !tagged {
        return;
    }
    if let Err(e) = compose_up(suite, ctx, flavour, &tag, &ids) {
        suite.fail(
            "arm64 under qemu: compose scenario",
            &format!("aborted: {e:#}"),
        );
    }
}

/// `up` (train once, then the API), the containers' images, `/predict`, `down`.
fn compose_up(
    suite: &mut Suite,
    ctx: &Ctx,
    flavour: &Flavour,
    tag: &str,
    ids: &[String; 2],
) -> Result<()> {
    let extra = ctx.work.join("docker-compose.arm64.yml");
    std::fs::write(&extra, OVERRIDE)?;
    let c = Compose::tagged(suite, ctx, flavour, "arm64", Some(extra), tag)?;
    let up = suite.check(
        &c.name("arm64 under qemu: up -d (train once, then api)"),
        || {
            let out = c.up()?;
            ensure!(out.ok(), "exit {:?}: {}", out.code, out.tail());
            let api = wait_healthy(&c, Instant::now() + Duration::from_secs(60))?;
            let train = c.container("train")?.context("no train container")?;
            let code = &inspect("container", &train)?["State"]["ExitCode"];
            ensure!(code == 0, "train exited {code}");
            for (container, id) in [(&train, &ids[0]), (&api, &ids[1])] {
                let image = &inspect("container", container)?["Image"];
                ensure!(image == id.as_str(), "{container} runs {image}, not {id}");
            }
            Ok("train exited 0, api healthy; both run the arm64 images".into())
        },
    );
    ensure!(up, "compose up of the arm64 images failed");
    let mut served = String::new();
    suite.check(
        &c.name("arm64 under qemu: POST /predict through the published port"),
        || predict(c.port, &mut served),
    );
    suite.check(&c.name("arm64 under qemu: down"), || c.teardown());
    Ok(())
}
