//! The linux/arm64 images, run on this amd64 machine under qemu user emulation: the
//! train image writes a model into a volume, the API image serves it, and a `/predict`
//! answers. The images are the ones `docker pull --platform linux/arm64` got from the
//! registry ([`super::registry`]), run by image ID.

use super::host::{MEDIUM, SHORT, docker, docker_output, free_port, http, poll};
use super::{Ctx, Suite};
use crate::run;
use anyhow::{Result, ensure};
use std::path::Path;
use std::time::Duration;
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

/// Train, then serve and predict, with the arm64 images `train` and `api` (image IDs).
pub fn scenario(suite: &mut Suite, ctx: &Ctx, train: &str, api: &str) {
    if !suite.check("qemu-aarch64 registered with binfmt_misc", enable_qemu) {
        return;
    }
    let volume = format!("mlops-e2e-arm64-{}", std::process::id());
    let container = format!("{volume}-api");
    let data = format!("{}:/data:ro", ctx.root.join("data").display());
    let models = format!("{volume}:/models");
    let trained = suite.check("arm64 train image trains under qemu", || {
        let args = [
            "run",
            "--rm",
            "--platform",
            "linux/arm64",
            "-v",
            &data,
            "-v",
            &models,
        ];
        let out = docker_output(&[&args[..], &[train]].concat(), MEDIUM)?;
        ensure!(out.ok(), "train failed: {}", out.tail());
        Ok(last_line(&out.stderr))
    });
    let (v, c) = (volume.clone(), container.clone());
    let images = [train.to_string(), api.to_string()];
    suite.undo(
        format!("remove the arm64 container, volume {volume} and images"),
        move || {
            let _ = docker(&["rm", "-f", &c]);
            let _ = docker(&["rmi", &images[0], &images[1]]);
            docker(&["volume", "rm", &v]).map(|_| "removed".into())
        },
    );
    if !trained {
        return;
    }
    suite.check("arm64 api image serves /predict under qemu", || {
        let port = free_port()?;
        let publish = format!("127.0.0.1:{port}:8000");
        let models = format!("{volume}:/models:ro");
        let args = [
            "run",
            "-d",
            "--platform",
            "linux/arm64",
            "--name",
            &container,
        ];
        docker(&[&args[..], &["-p", &publish, "-v", &models, api]].concat())?;
        let ready = poll(Duration::from_secs(60), Duration::from_millis(250), || {
            http(port, "/ready", None).ok().filter(|(s, _)| *s == 200)
        });
        ensure!(
            ready.is_some(),
            "not ready within 60 s: {}",
            logs(&container)
        );
        let body = r#"{"features":[5.1,3.5,1.4,0.2]}"#;
        let (status, answer) = http(port, "/predict", Some(body))?;
        ensure!(
            status == 200 && answer.contains("setosa"),
            "{status}: {answer}"
        );
        let arch = docker(&["image", "inspect", "--format", "{{.Architecture}}", api])?;
        ensure!(arch == "arm64", "the API image is {arch}");
        Ok(format!("image {arch}: {answer}"))
    });
}

fn logs(container: &str) -> String {
    docker(&["logs", "--tail", "20", container]).unwrap_or_default()
}

fn last_line(text: &str) -> String {
    text.lines().last().unwrap_or("").to_string()
}
