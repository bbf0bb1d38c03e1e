//! The archives before and after `docker load`: contents, size, labels, user, health
//! check, and no shell.

use super::host::{MEDIUM, SHORT, docker, docker_output, expect, inspect};
use super::{Ctx, Suite};
use crate::images::BuiltImage;
use crate::repro::read_tar;
use crate::run;
use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use xshell::{Shell, cmd};

/// The `mlops-api` image must stay within this many bytes, uncompressed.
const API_SIZE_LIMIT: u64 = 8_000_000;

/// Checks on the archives themselves, before Docker sees them.
pub fn archive_checks(suite: &mut Suite, ctx: &Ctx) {
    suite.check(
        "docker-compose.yml: no version key, default tags are the crate version",
        || compose_file_tags(ctx),
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
        let size = ctx.image("mlops-api")?.uncompressed_size;
        ensure!(size <= API_SIZE_LIMIT, "{size} bytes > {API_SIZE_LIMIT}");
        Ok(format!("{:.2} MB", size as f64 / 1e6))
    });
    suite.check(
        "the layers hold only /bin/mlops and the declared dirs",
        || {
            let paths = layer_paths(ctx.image("mlops-api")?)?;
            let expected = ["bin/", "bin/mlops", "data/", "models/", "tmp/"];
            ensure!(paths == expected, "unexpected contents {paths:?}");
            Ok(paths.join(" "))
        },
    );
}

fn compose_file_tags(ctx: &Ctx) -> Result<String> {
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
}

/// Every path in the image's layers, sorted.
fn layer_paths(image: &BuiltImage) -> Result<Vec<String>> {
    let archive = read_tar(&std::fs::read(&image.archive)?)?;
    let blob = |path: &str| archive.iter().find(|e| e.0 == path).map(|e| &e.2);
    let manifest: Value = serde_json::from_slice(blob("manifest.json").context("no manifest")?)?;
    let mut paths = Vec::new();
    for layer in manifest[0]["Layers"].as_array().context("no layers")? {
        let layer = layer.as_str().unwrap_or_default();
        let blob = blob(layer).with_context(|| format!("no blob {layer}"))?;
        paths.extend(read_tar(blob)?.into_iter().map(|e| e.0));
    }
    paths.sort();
    Ok(paths)
}

fn image_id(reference: &str) -> Result<String> {
    docker(&["image", "inspect", "--format", "{{.Id}}", reference])
}

/// Loads every archive. Each image's removal is registered at once: by id, only if it
/// was not there before, and a tag that pointed elsewhere is put back.
pub fn load(suite: &mut Suite, ctx: &Ctx) -> Result<()> {
    for b in &ctx.built {
        let existed = image_id(&b.config_digest).is_ok();
        let previous = image_id(&b.reference)
            .ok()
            .filter(|id| *id != b.config_digest);
        let loaded = suite.check(&format!("docker load {}", b.archive.display()), || {
            let archive = b.archive.to_string_lossy();
            let out = docker_output(&["load", "--input", &archive], MEDIUM)?;
            ensure!(out.ok(), "docker load failed: {}", out.tail());
            let id = image_id(&b.reference)?;
            ensure!(
                id == b.config_digest,
                "{} is {id}, expected {}",
                b.reference,
                b.config_digest
            );
            Ok(format!("{} = {id}", out.stdout.trim()))
        });
        let (id, reference) = (b.config_digest.clone(), b.reference.clone());
        suite.undo(format!("remove image {reference} ({id})"), move || {
            let mut did = Vec::new();
            if existed {
                did.push("kept (it was there before)".to_string());
            } else if image_id(&id).is_ok() {
                docker(&["rmi", "--force", &id])?;
                ensure!(image_id(&id).is_err(), "{id} still present");
                did.push("removed".into());
            }
            if let Some(old) = previous {
                docker(&["tag", &old, &reference])?;
                did.push(format!("{reference} points at {old} again"));
            }
            Ok(did.join("; "))
        });
        ensure!(loaded, "cannot go on without the images");
    }
    Ok(())
}

pub fn inspect_checks(suite: &mut Suite, ctx: &Ctx) {
    for b in &ctx.built {
        let reference = &b.reference;
        suite.check(&format!("docker inspect {reference}"), || {
            inspect_image(ctx, b)
        });
        let name = format!("{reference} has no shell (--entrypoint /bin/sh fails)");
        suite.check(&name, || no_shell(reference));
    }
}

/// `/bin/sh` does not run in the image; the detail is Docker's reason.
fn no_shell(reference: &str) -> Result<String> {
    let sh = Shell::new()?;
    let create = cmd!(
        sh,
        "docker create --pull never --entrypoint /bin/sh {reference} -c true"
    );
    let id = run::read(create, SHORT)?;
    let started = run::output(cmd!(sh, "docker start --attach {id}"), SHORT);
    docker(&["rm", "--force", &id])?;
    let started = started?;
    ensure!(!started.ok(), "/bin/sh ran: {}", started.stdout);
    Ok(started.tail().lines().last().unwrap_or("").to_string())
}

/// User, entrypoint, creation time, labels, and the API's health check and port.
fn inspect_image(ctx: &Ctx, b: &BuiltImage) -> Result<String> {
    let v = inspect("image", &b.reference)?;
    let c = &v["Config"];
    expect(&c["User"], "65534:65534", "User")?;
    let entrypoint = match b.name.as_str() {
        "mlops-train" => json!(["/bin/mlops", "train"]),
        _ => json!(["/bin/mlops"]),
    };
    expect(&c["Entrypoint"], entrypoint, "Entrypoint")?;
    if std::env::var_os("SOURCE_DATE_EPOCH").is_none() {
        expect(&v["Created"], "1970-01-01T00:00:01Z", "Created")?;
    }
    let want = [
        ("title", Some(b.name.as_str())),
        ("version", Some(ctx.version.as_str())),
        ("revision", Some(ctx.revision.as_str())),
        ("source", None),
        ("licenses", None),
        ("description", None),
    ];
    for (key, value) in want {
        let got = c["Labels"][format!("org.opencontainers.image.{key}")].as_str();
        let got = got.unwrap_or_default();
        ensure!(!got.is_empty(), "label {key} missing");
        ensure!(
            value.is_none_or(|v| v == got),
            "label {key} is {got:?}, not {value:?}"
        );
    }
    let mut detail = format!("user 65534:65534, {} labels", want.len());
    if b.name == "mlops-api" {
        let hc = &c["Healthcheck"];
        expect(
            &hc["Test"],
            json!(["CMD", "/bin/mlops", "probe"]),
            "Healthcheck",
        )?;
        let every = hc["Interval"].as_u64().unwrap_or(0);
        ensure!(
            every >= 1_000_000_000,
            "health interval {every} is not in nanoseconds"
        );
        ensure!(
            c["ExposedPorts"]["8000/tcp"].is_object(),
            "8000/tcp not exposed"
        );
        let every = every / 1_000_000_000;
        detail.push_str(&format!(", healthcheck {} every {every} s", hc["Test"]));
    }
    Ok(detail)
}
