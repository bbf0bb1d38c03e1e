//! `docker-compose.yml` under Compose v1 and v2, with the test override: a healthy API
//! serving predictions from the trained model, a model trained by hand that `up` keeps,
//! and a failing train that keeps the API from starting.

use super::host::{SHORT, docker, docker_output, expect, http, inspect};
use super::project::{Compose, Flavour};
use super::{Ctx, Suite};
use crate::repro::sha256_digest;
use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// `docker compose up` to a healthy API, with the test override.
const HEALTHY_WITHIN: Duration = Duration::from_secs(10);
/// `docker stop` of the API.
const STOP_WITHIN: Duration = Duration::from_secs(2);

/// Both scenarios under one Compose flavour; an aborted scenario counts as a failure.
pub fn scenarios(suite: &mut Suite, ctx: &Ctx, flavour: &Flavour) {
    let label = format!("compose {}", flavour.version());
    if let Err(e) = happy(suite, ctx, flavour) {
        suite.fail(&format!("{label}: scenario"), &format!("aborted: {e:#}"));
    }
    if let Err(e) = keeps_a_custom_model(suite, ctx, flavour) {
        suite.fail(
            &format!("{label}: custom model"),
            &format!("aborted: {e:#}"),
        );
    }
    if let Err(e) = failing_train(suite, ctx, flavour) {
        suite.fail(
            &format!("{label}: failing train"),
            &format!("aborted: {e:#}"),
        );
    }
}

/// Train once, then a healthy API: its containers, a prediction, the model, a stop, down.
fn happy(suite: &mut Suite, ctx: &Ctx, flavour: &Flavour) -> Result<()> {
    let c = Compose::new(suite, ctx, flavour, "", None)?;
    let version = c.output(&["version", "--short"]).map(|o| o.stdout);
    let version = format!(
        "{} {}",
        flavour.version(),
        version.unwrap_or_default().trim()
    );
    let merged = format!("compose {version}: merged config publishes the API on 127.0.0.1 only");
    suite.check(&merged, || merged_config(&c));
    let api = up_healthy(suite, &c)?;
    let train = c.container("train")?.context("no train container")?;
    suite.check(&c.name("containers as declared"), || declared(&train, &api));
    let mut served = String::new();
    suite.check(&c.name("POST /predict through the published port"), || {
        predict(c.port, &mut served)
    });
    let in_volume = c.name("the trained model and metrics are in the volume, visible on the host");
    suite.check(&in_volume, || {
        model_in_volume(&c, &ctx.work, &train, &served)
    });
    let stop = format!("docker stop api takes < {} s", STOP_WITHIN.as_secs());
    suite.check(&c.name(&stop), || stop_fast(&api));
    let down = c.name("down removes containers, volume and network");
    suite.check(&down, || c.teardown().map(|_| String::new()));
    Ok(())
}

/// `up`, then the id of the api container once it is healthy.
fn up_healthy(suite: &mut Suite, c: &Compose) -> Result<String> {
    let t0 = Instant::now();
    let up = suite.check(&c.name("up -d (train once, then api)"), || {
        let out = c.up()?;
        ensure!(out.ok(), "exit {:?}: {}", out.code, out.tail());
        Ok(String::new())
    });
    ensure!(up, "compose up failed");
    let mut api = None;
    let healthy = format!("api becomes healthy within {} s", HEALTHY_WITHIN.as_secs());
    suite.check(&c.name(&healthy), || {
        // Waits longer than the limit, so that a slow API still gets its other checks.
        api = Some(wait_healthy(c, t0 + Duration::from_secs(60))?);
        let took = t0.elapsed().as_secs_f64();
        ensure!(
            t0.elapsed() <= HEALTHY_WITHIN,
            "healthy only after {took:.1} s"
        );
        Ok(format!("{took:.1} s from up"))
    });
    api.context("no healthy api container")
}

fn stop_fast(api: &str) -> Result<String> {
    let t = Instant::now();
    docker(&["stop", "--time", "10", api])?;
    let took = t.elapsed().as_secs_f64();
    let code = inspect("container", api)?["State"]["ExitCode"].take();
    ensure!(
        took < STOP_WITHIN.as_secs_f64(),
        "stop took {took:.1} s (exit code {code})"
    );
    Ok(format!("{took:.2} s, exit code {code}"))
}

fn merged_config(c: &Compose) -> Result<String> {
    let out = c.output(&["config"])?;
    ensure!(out.ok(), "config failed: {}", out.tail());
    let config = out.stdout;
    ensure!(
        !config.contains("0.0.0.0"),
        "0.0.0.0 in the merged config:\n{config}"
    );
    ensure!(
        config.contains("127.0.0.1"),
        "no 127.0.0.1 binding:\n{config}"
    );
    let tagged = config.contains(&format!("mlops-api:{}", c.tag));
    ensure!(tagged, "image tag is not the crate version:\n{config}");
    Ok(format!("port {}", c.port))
}

/// The api container's id once it reports healthy; an error when it exits or `deadline`
/// passes.
pub fn wait_healthy(c: &Compose, deadline: Instant) -> Result<String> {
    loop {
        if let Some(id) = c.container("api")? {
            let state = inspect("container", &id)?["State"].take();
            if state["Health"]["Status"] == "healthy" {
                return Ok(id);
            }
            if state["Status"] == "exited" {
                let logs = docker_output(&["logs", "--tail", "20", &id], SHORT)?;
                bail!("api exited: {}{}", logs.stdout, logs.stderr);
            }
        }
        ensure!(Instant::now() < deadline, "not healthy after 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The train container exited 0; the API runs as declared in the compose file and image.
fn declared(train: &str, api: &str) -> Result<String> {
    expect(
        &inspect("container", train)?["State"]["ExitCode"],
        0,
        "train exit code",
    )?;
    let a = inspect("container", api)?;
    expect(&a["Config"]["User"], "65534:65534", "api user")?;
    // docker top needs the pid column; uid and gid are the next two.
    let top = docker(&["top", api, "-o", "pid,uid,gid,args"])?;
    let as_nobody = top.lines().skip(1).all(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        cols.len() > 2 && cols[1] == "65534" && cols[2] == "65534"
    });
    ensure!(as_nobody, "processes not run as 65534:65534:\n{top}");
    let hc = &a["HostConfig"];
    expect(&hc["ReadonlyRootfs"], true, "ReadonlyRootfs")?;
    ensure!(
        hc["Tmpfs"]["/tmp"].is_string(),
        "no tmpfs /tmp: {}",
        hc["Tmpfs"]
    );
    expect(
        &hc["RestartPolicy"]["Name"],
        "unless-stopped",
        "restart policy",
    )?;
    let bindings = &hc["PortBindings"]["8000/tcp"];
    let local = bindings
        .as_array()
        .is_some_and(|b| b.len() == 1 && b[0]["HostIp"] == "127.0.0.1");
    ensure!(local, "port bindings {bindings}");
    expect(
        &a["Config"]["Healthcheck"]["Test"],
        json!(["CMD", "/bin/mlops", "probe"]),
        "health test",
    )?;
    Ok(
        "train exited 0; api: uid 65534, read-only root, tmpfs /tmp, unless-stopped, \
        127.0.0.1 only, image health test"
            .into(),
    )
}

/// `/health`, then a prediction; `served` receives the digest of the model that answered.
pub fn predict(port: u16, served: &mut String) -> Result<String> {
    let (status, body) = http(port, "/health", None)?;
    ensure!(status == 200, "/health {status} {body}");
    let (status, body) = http(port, "/predict", Some(r#"{"features":[5.1,3.5,1.4,0.2]}"#))?;
    ensure!(status == 200, "/predict {status} {body}");
    let v: Value = serde_json::from_str(&body).with_context(|| format!("not JSON: {body}"))?;
    expect(&v["prediction"], "setosa", "prediction")?;
    *served = v["model"].as_str().unwrap_or("").to_string();
    ensure!(served.starts_with("sha256:"), "model {body}");
    Ok(body.trim().to_string())
}

/// The model and metrics, copied out the README's way and found in the volume on the host
/// owned by the image's user; the model is the one the API serves (when it answered).
fn model_in_volume(c: &Compose, work: &Path, train: &str, served: &str) -> Result<String> {
    // The README's way: docker cp "$(docker compose ps -aq train)":/models/. ./models/
    let listed = c
        .output(&["ps", "-a", "-q", "train"])?
        .stdout
        .trim()
        .to_string();
    let same = !listed.is_empty() && (train.starts_with(&listed) || listed.starts_with(train));
    ensure!(same, "ps -aq train gave {listed:?}, not {train}");
    let dest = work.join(format!("models-{}", c.project));
    std::fs::create_dir_all(&dest)?;
    docker(&[
        "cp",
        &format!("{listed}:/models/."),
        &dest.to_string_lossy(),
    ])?;
    let model = std::fs::read(dest.join("model.cbor")).context("model.cbor")?;
    let metrics = std::fs::read(dest.join("metrics.json")).context("metrics.json")?;
    let metrics: Value = serde_json::from_slice(&metrics).context("metrics.json is not JSON")?;
    ensure!(metrics.is_object(), "metrics.json is not an object");
    let digest = sha256_digest(&model);
    ensure!(
        served.is_empty() || digest == served,
        "served {served}, volume holds {digest}"
    );
    // As root on the host: the volume's directory, files owned by the image's user.
    let volume = c
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
        meta.uid() == 65534,
        "model.cbor owned by uid {}",
        meta.uid()
    );
    Ok(format!("{} bytes, {digest}; volume {volume}", model.len()))
}

/// `run --rm train --trees 10` (only train's flags: the image's entrypoint runs `train`)
/// trains a model into the volume; `up`, twice, keeps it and says so, and the API serves
/// it.
fn keeps_a_custom_model(suite: &mut Suite, ctx: &Ctx, flavour: &Flavour) -> Result<()> {
    let c = Compose::new(suite, ctx, flavour, "keep", None)?;
    let mut custom = String::new();
    let trained = suite.check(
        &c.name("run --rm train --trees 10 trains into the volume"),
        || {
            // -T: no terminal, whatever stdin is (no-op here, where stdin is not one).
            let out = c.output(&["run", "--rm", "-T", "train", "--trees", "10", "--quiet"])?;
            ensure!(out.ok(), "exit {:?}: {}", out.code, out.tail());
            custom = written_model(&out.stdout).with_context(|| out.tail())?;
            Ok(custom.clone())
        },
    );
    ensure!(trained, "no custom model");
    for round in ["first", "second"] {
        let what = format!("{round} up keeps the custom model, says so, and serves it");
        suite.check(&c.name(&what), || {
            let out = c.up()?;
            ensure!(out.ok(), "exit {:?}: {}", out.code, out.tail());
            let api = wait_healthy(&c, Instant::now() + Duration::from_secs(60))?;
            let train = c.container("train")?.context("no train container")?;
            let logs = docker_output(&["logs", &train], SHORT)?.stdout;
            let kept = format!("Keeping /models/model.cbor ({custom})");
            ensure!(logs.contains(&kept), "train said: {logs}");
            ensure!(!logs.contains("Wrote"), "train retrained: {logs}");
            let mut served = String::new();
            predict(c.port, &mut served)?;
            ensure!(served == custom, "api serves {served}, not {custom}");
            Ok(format!("api {}: {served}", &api[..12.min(api.len())]))
        });
    }
    suite.check(&c.name("down after the custom model"), || {
        c.teardown().map(|_| String::new())
    });
    Ok(())
}

/// The model id in `mlops train`'s "Wrote models/model.cbor (sha256:…)" line (the
/// default `--out models`, which the working directory `/` makes `/models`).
fn written_model(stdout: &str) -> Option<String> {
    let line = stdout.lines().find(|l| {
        l.starts_with("Wrote models/model.cbor") || l.starts_with("Wrote /models/model.cbor")
    })?;
    let id = line.split_once('(')?.1.strip_suffix(')')?;
    Some(id.to_owned())
}

/// A train that fails (its data file is missing) keeps the API from ever starting.
fn failing_train(suite: &mut Suite, ctx: &Ctx, flavour: &Flavour) -> Result<()> {
    let override_file = ctx.work.join("docker-compose.failing-train.yml");
    let command = r#"["--data", "/data/missing.csv", "--out", "/models"]"#;
    std::fs::write(
        &override_file,
        format!("services:\n  train:\n    command: {command}\n"),
    )?;
    let c = Compose::new(suite, ctx, flavour, "fail", Some(override_file))?;
    suite.check(&c.name("a failing train keeps api from starting"), || {
        let out = c.up()?;
        ensure!(!out.ok(), "up exited 0 although train failed");
        let train = c.container("train")?.context("train never ran")?;
        let code = inspect("container", &train)?["State"]["ExitCode"]
            .as_i64()
            .unwrap_or(0);
        ensure!(code != 0, "train exited 0");
        if let Some(api) = c.container("api")? {
            let state = inspect("container", &api)?["State"].take();
            let never_started = state["StartedAt"]
                .as_str()
                .unwrap_or("")
                .starts_with("0001");
            ensure!(
                state["Running"] == false && never_started,
                "api was started: {state}"
            );
        }
        Ok(format!(
            "up exit {:?}, train exit {code}, api never started",
            out.code
        ))
    });
    suite.check(&c.name("down after the failed run"), || {
        c.teardown().map(|_| String::new())
    });
    Ok(())
}
