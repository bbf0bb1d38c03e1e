//! The Kubernetes manifests' pod specs, run with Docker the way a kubelet would.
//!
//! `deploy/kubernetes/check.sh render OVERLAY` gives the rendered objects. The training
//! Job of `model-pvc` runs first (its claims are host directories), the model image is
//! packed from what it wrote (twice: the same bytes) and loaded, then the Deployment of
//! `model-image` serves it from the image's content mounted where the image volume
//! goes, and the KServe ServingRuntime's container serves it at /mnt/models. For each
//! container: the same image, command, args, env, user and groups, read-only root,
//! dropped capabilities, no privilege escalation, resource limits, volumes at their paths
//! (read-only where the manifest says so), probes polled at their paths and ports, and a
//! preStop sleep followed by SIGTERM within the grace period.

use super::host::{MEDIUM, SHORT, docker, free_port, http, inspect, poll};
use super::{Ctx, Suite};
use crate::images::BuiltImage;
use crate::model_image::{self, LABEL_MODEL};
use crate::repro::sha256_digest;
use crate::run;
use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use xshell::{Shell, cmd};

/// Host directories standing in for volumes the manifests name (claims, image volumes).
type HostVolumes = BTreeMap<String, PathBuf>;

/// The scenario; returns the model image it built (for the registry round trip).
pub fn scenario(suite: &mut Suite, ctx: &Ctx) -> Option<BuiltImage> {
    match run_all(suite, ctx) {
        Ok(model) => model,
        Err(e) => {
            suite.fail("kubernetes pod specs: scenario", &format!("aborted: {e:#}"));
            None
        }
    }
}

fn run_all(suite: &mut Suite, ctx: &Ctx) -> Result<Option<BuiltImage>> {
    let dir = ctx.work.join("k8s");
    let mut rendered = BTreeMap::new();
    let ok = suite.check(
        "k8s: render the overlays (deploy/kubernetes/check.sh render)",
        || {
            for overlay in ["model-pvc", "model-image", "kserve"] {
                rendered.insert(overlay, render(&ctx.root, overlay)?);
            }
            Ok(format!("{} overlays", rendered.len()))
        },
    );
    ensure!(ok, "cannot go on without the rendered manifests");
    let models = dir.join("pvc-mlops-models");
    let mut trained = false;
    suite.check(
        "k8s: the training Job's pod spec trains into the models claim",
        || {
            trained = true;
            train(ctx, &rendered["model-pvc"], &dir, &models)
        },
    );
    ensure!(
        trained && models.join("model.cbor").is_file(),
        "no model trained"
    );
    let mut model = None;
    suite.check(
        "k8s: model image from the trained model, twice: identical bytes",
        || {
            let (built, detail) = model_image_twice(ctx, &models, &dir)?;
            model = Some(built);
            Ok(detail)
        },
    );
    let model = model.context("no model image")?;
    let only_model = Ctx {
        root: ctx.root.clone(),
        work: ctx.work.clone(),
        version: ctx.version.clone(),
        revision: ctx.revision.clone(),
        built: vec![model.clone()],
        foreign: Vec::new(),
    };
    super::images::load(suite, &only_model)?;
    suite.check(
        "k8s: the model image's labels carry the model's sha256",
        || labels(&model, &models),
    );
    let content = dir.join("image-volume");
    suite.check(
        "k8s: the model image's content, as an image volume shows it",
        || extract(&model.reference, &content),
    );
    let digest = sha256_digest(&std::fs::read(models.join("model.cbor"))?);
    serve(suite, &rendered, &digest, &content);
    Ok(Some(model))
}

/// The overlay's objects, rendered by the same script CI runs.
fn render(root: &Path, overlay: &str) -> Result<Vec<Value>> {
    let sh = Shell::new()?;
    let script = root.join("deploy/kubernetes/check.sh");
    // The first call may install the pinned tools (pip): allow for it.
    let json = run::read(
        cmd!(sh, "bash {script} render {overlay}"),
        Duration::from_secs(1200),
    )?;
    let objects: Vec<Value> = serde_json::from_str(&json).context("render gave no JSON list")?;
    ensure!(!objects.is_empty(), "{overlay} renders nothing");
    Ok(objects)
}

fn object<'a>(objects: &'a [Value], kind: &str, name: &str) -> Result<&'a Value> {
    let found = objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name);
    found.with_context(|| format!("no {kind}/{name} rendered"))
}

/// Runs the Job's container to completion, its claims as host directories: the data
/// claim holds data/iris.csv, the models claim is empty, group-owned by the pod's
/// fsGroup and setgid, as the kubelet prepares it.
fn train(ctx: &Ctx, objects: &[Value], dir: &Path, models: &Path) -> Result<String> {
    let job = object(objects, "Job", "mlops-train")?;
    let pod = &job["spec"]["template"]["spec"];
    let data = dir.join("pvc-mlops-data");
    std::fs::create_dir_all(&data)?;
    std::fs::copy(ctx.root.join("data/iris.csv"), data.join("iris.csv"))?;
    std::fs::create_dir_all(models)?;
    let fs_group = pod["securityContext"]["fsGroup"]
        .as_u64()
        .context("no fsGroup")?;
    rustix::fs::chown(
        models,
        None,
        Some(rustix::fs::Gid::from_raw(fs_group as u32)),
    )?;
    std::fs::set_permissions(models, std::fs::Permissions::from_mode(0o2775))?;
    let volumes = HostVolumes::from([("data".into(), data), ("models".into(), models.into())]);
    let name = format!("mlops-e2e-{}-train", std::process::id());
    let mut args = docker_args(pod, &pod["containers"][0], &volumes, &name)?;
    args.extend(["--network".into(), "none".into()]);
    let spec = container_args(&pod["containers"][0])?;
    let out = docker_run(&args, &spec, &name, true)?;
    let meta = std::fs::metadata(models.join("model.cbor")).context("no model.cbor written")?;
    ensure!(
        meta.uid() == 65534,
        "model.cbor owned by uid {}",
        meta.uid()
    );
    Ok(format!(
        "exit 0, model.cbor {} bytes, uid 65534; {}",
        meta.len(),
        out.trim()
    ))
}

/// `create`, then `start --attach` (to completion) or `start` (detached).
fn docker_run(args: &[String], spec: &[String], name: &str, attach: bool) -> Result<String> {
    let mut create = vec!["create".to_string()];
    create.extend(args.iter().cloned());
    create.extend(spec.iter().cloned());
    let create: Vec<&str> = create.iter().map(String::as_str).collect();
    docker(&create)?;
    if !attach {
        return docker(&["start", name]);
    }
    let sh = Shell::new()?;
    let out = run::output(cmd!(sh, "docker start --attach {name}"), MEDIUM);
    let _ = docker(&["rm", "--force", name]);
    let out = out?;
    ensure!(out.ok(), "exit {:?}: {}", out.code, out.tail());
    Ok(out.tail().lines().last().unwrap_or("").to_string())
}

/// The image, then `command` and `args` as the kubelet joins them: `command` replaces
/// the image's entrypoint (its first element becomes `--entrypoint`, set in
/// [`docker_args`]), `args` follow.
fn container_args(c: &Value) -> Result<Vec<String>> {
    let image = c["image"].as_str().context("no image")?;
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let command = strings(&c["command"]);
    ensure!(
        !command.is_empty(),
        "the manifest relies on the image's entrypoint"
    );
    let mut out = vec![image.to_string()];
    out.extend(command[1..].iter().cloned());
    out.extend(strings(&c["args"]));
    Ok(out)
}

/// `docker create` options for one container of a pod spec: security context (pod's,
/// overridden by the container's), env, limits, volumes.
fn docker_args(pod: &Value, c: &Value, volumes: &HostVolumes, name: &str) -> Result<Vec<String>> {
    let sc = |key: &str| {
        let own = &c["securityContext"][key];
        if own.is_null() {
            pod["securityContext"][key].clone()
        } else {
            own.clone()
        }
    };
    let user = (sc("runAsUser").as_u64(), sc("runAsGroup").as_u64());
    let (Some(uid), Some(gid)) = user else {
        bail!("no runAsUser/runAsGroup")
    };
    ensure!(
        sc("runAsNonRoot") == true && uid != 0,
        "not run as non-root"
    );
    ensure!(
        sc("seccompProfile")["type"] == "RuntimeDefault",
        "seccomp is not RuntimeDefault"
    );
    let entrypoint = c["command"][0].as_str().context("no command")?;
    let mut a: Vec<String> = [
        "--name",
        name,
        "--pull",
        "never",
        "--entrypoint",
        entrypoint,
    ]
    .map(String::from)
    .to_vec();
    a.extend(["--user".into(), format!("{uid}:{gid}")]);
    if let Some(group) = pod["securityContext"]["fsGroup"].as_u64() {
        a.extend(["--group-add".into(), group.to_string()]);
    }
    if sc("readOnlyRootFilesystem") == true {
        a.push("--read-only".into());
    }
    if sc("allowPrivilegeEscalation") == false {
        a.extend(["--security-opt".into(), "no-new-privileges".into()]);
    }
    for cap in sc("capabilities")["drop"].as_array().into_iter().flatten() {
        a.extend(["--cap-drop".into(), cap.as_str().unwrap_or_default().into()]);
    }
    for e in c["env"].as_array().into_iter().flatten() {
        let (k, v) = (e["name"].as_str(), e["value"].as_str());
        a.extend([
            "--env".into(),
            format!("{}={}", k.unwrap_or(""), v.unwrap_or("")),
        ]);
    }
    let limits = &c["resources"]["limits"];
    a.extend([
        "--memory".into(),
        bytes(limits["memory"].as_str().context("no memory limit")?)?,
    ]);
    a.extend([
        "--cpus".into(),
        cpus(limits["cpu"].as_str().context("no cpu limit")?)?,
    ]);
    a.extend(mounts(pod, c, volumes)?);
    Ok(a)
}

/// A Kubernetes memory quantity (`256Mi`, `1Gi`) in bytes.
fn bytes(q: &str) -> Result<String> {
    let units = [("Ki", 1u64 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30)];
    let (n, mult) = units
        .iter()
        .find_map(|(s, m)| q.strip_suffix(s).map(|n| (n, *m)))
        .unwrap_or((q, 1));
    Ok((n.parse::<u64>().with_context(|| format!("memory {q:?}"))? * mult).to_string())
}

/// A Kubernetes CPU quantity (`1`, `250m`) as Docker's `--cpus`, at most this machine's.
fn cpus(q: &str) -> Result<String> {
    let milli = match q.strip_suffix('m') {
        Some(m) => m.parse::<u64>(),
        None => q.parse::<u64>().map(|c| c * 1000),
    };
    let milli = milli.with_context(|| format!("cpu {q:?}"))?;
    // Docker refuses more CPUs than the machine has; a kubelet would not schedule there.
    let here = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let milli = milli.min(here * 1000);
    Ok(format!("{}.{:03}", milli / 1000, milli % 1000))
}

/// Every volumeMount: an emptyDir becomes a tmpfs of its size limit; a claim or an image
/// volume the host directory given for it (with its subPath), read-only when the mount
/// or the claim says so.
fn mounts(pod: &Value, c: &Value, host: &HostVolumes) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for m in c["volumeMounts"].as_array().into_iter().flatten() {
        let name = m["name"].as_str().context("mount without name")?;
        let path = m["mountPath"].as_str().context("mount without path")?;
        let volumes = pod["volumes"].as_array().context("no volumes")?;
        let v = volumes
            .iter()
            .find(|v| v["name"] == name)
            .context("mount of no volume")?;
        if v["emptyDir"].is_object() {
            let size = v["emptyDir"]["sizeLimit"].as_str().unwrap_or("64Mi");
            out.extend([
                "--tmpfs".into(),
                format!("{path}:size={},mode=1777", bytes(size)?),
            ]);
            continue;
        }
        let dir = host
            .get(name)
            .with_context(|| format!("no host directory for {name}"))?;
        let dir = dir.join(m["subPath"].as_str().unwrap_or(""));
        let ro = m["readOnly"] == true
            || v["persistentVolumeClaim"]["readOnly"] == true
            || v["image"].is_object();
        let mode = if ro { ",readonly" } else { "" };
        let mount = format!("type=bind,source={},target={path}{mode}", dir.display());
        out.extend(["--mount".into(), mount]);
    }
    Ok(out)
}

/// Packs the model the Job wrote, twice, and compares the archives.
fn model_image_twice(ctx: &Ctx, models: &Path, dir: &Path) -> Result<(BuiltImage, String)> {
    let epoch = crate::repro::source_date_epoch()?;
    let (a, info) = model_image::write(&ctx.root, models, &dir.join("model-image-1"), epoch)?;
    let (b, _) = model_image::write(&ctx.root, models, &dir.join("model-image-2"), epoch)?;
    ensure!(
        a.archive_sha256 == b.archive_sha256,
        "{} vs {}",
        a.archive_sha256,
        b.archive_sha256
    );
    ensure!(
        std::fs::read(&a.archive)? == std::fs::read(&b.archive)?,
        "bytes differ"
    );
    let detail = format!(
        "{} = {}, archive {}",
        a.reference,
        info.model_sha256,
        &a.archive_sha256[..16]
    );
    Ok((a, detail))
}

/// `docker inspect` of the loaded model image: its label names the model the Job wrote.
fn labels(model: &BuiltImage, models: &Path) -> Result<String> {
    let v = inspect("image", &model.reference)?;
    let label = v["Config"]["Labels"][LABEL_MODEL]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let digest = sha256_digest(&std::fs::read(models.join("model.cbor"))?);
    ensure!(
        label == digest,
        "label {LABEL_MODEL}={label:?}, model.cbor is {digest}"
    );
    let tag = model.reference.rsplit(':').next().unwrap_or_default();
    ensure!(
        digest.trim_start_matches("sha256:").starts_with(tag),
        "tag {tag} is not the digest's"
    );
    Ok(format!("{LABEL_MODEL}={label}"))
}

/// The image's file system in `dest`, as the kubelet mounts an image volume: from a
/// container created (never started: nothing in the image runs) from the loaded image.
fn extract(reference: &str, dest: &Path) -> Result<String> {
    std::fs::create_dir_all(dest)?;
    let id = docker(&["create", "--pull", "never", reference, "/none"])?;
    let sh = Shell::new()?;
    let export = run::checked(
        cmd!(
            sh,
            "sh -c 'docker export \"$0\" | tar -x -C \"$1\"' {id} {dest}"
        ),
        MEDIUM,
    );
    docker(&["rm", &id])?;
    export?;
    let mut files: Vec<String> = std::fs::read_dir(dest.join("models"))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    files.sort();
    ensure!(
        files == ["metrics.json", "model.cbor"],
        "image holds {files:?}"
    );
    Ok(format!("/models/{{{}}}", files.join(",")))
}

/// The Deployment's container on the model image, then the KServe runtime's container.
fn serve(suite: &mut Suite, rendered: &BTreeMap<&str, Vec<Value>>, digest: &str, content: &Path) {
    let deployment = object(&rendered["model-image"], "Deployment", "mlops-api").cloned();
    let runtime = object(&rendered["kserve"], "ServingRuntime", "mlops").cloned();
    let name = "k8s: the Deployment's pod spec serves the model image (probes, /predict, preStop)";
    suite.check(name, || {
        let d = deployment?;
        let pod = &d["spec"]["template"]["spec"];
        let volume = pod["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["image"].is_object());
        let reference = volume.context("no image volume")?["image"]["reference"]
            .as_str()
            .unwrap_or("");
        // The rollout step: the overlay's model image reference set to the built one.
        ensure!(
            reference.starts_with("mlops-model:"),
            "image volume reference {reference}"
        );
        let volumes = HostVolumes::from([("model".into(), content.to_path_buf())]);
        run_server(pod, &pod["containers"][0], &volumes, "api", digest)
    });
    let name = "k8s: the KServe ServingRuntime's container serves /mnt/models over v2";
    suite.check(name, || {
        let r = runtime?;
        // KServe's storage initializer or its OCI native mode fill /mnt/models.
        let mut spec = r["spec"].clone();
        let mount = serde_json::json!([{"name": "kserve-provision-location", "mountPath": "/mnt/models", "readOnly": true}]);
        spec["containers"][0]["volumeMounts"] = mount;
        spec["volumes"] = serde_json::json!([{"name": "kserve-provision-location", "image": {}}]);
        let volumes = HostVolumes::from([("kserve-provision-location".into(), content.join("models"))]);
        run_server(&spec, &spec["containers"][0], &volumes, "kserve", digest)
    });
}

/// Starts the container detached, polls its probes, asks for predictions, checks the
/// process's user, then stops it as the kubelet does: preStop sleep, SIGTERM, and SIGKILL
/// only when the grace period runs out.
fn run_server(
    pod: &Value,
    c: &Value,
    volumes: &HostVolumes,
    what: &str,
    digest: &str,
) -> Result<String> {
    let name = format!("mlops-e2e-{}-{what}", std::process::id());
    let port_spec = c["ports"][0].clone();
    let container_port = port_spec["containerPort"]
        .as_u64()
        .context("no containerPort")?;
    let host_port = free_port()?;
    let mut args = docker_args(pod, c, volumes, &name)?;
    args.extend([
        "--publish".into(),
        format!("127.0.0.1:{host_port}:{container_port}"),
    ]);
    docker_run(&args, &container_args(c)?, &name, false)?;
    let result = probe_and_predict(c, &name, host_port, &port_spec, digest);
    let stopped = stop_like_kubelet(pod, c, &name);
    let _ = docker(&["rm", "--force", &name]);
    Ok(format!("{}; {}", result?, stopped?))
}

fn probe_and_predict(
    c: &Value,
    name: &str,
    port: u16,
    spec: &Value,
    digest: &str,
) -> Result<String> {
    let mut seen = Vec::new();
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        let p = &c[probe];
        if p.is_null() {
            continue;
        }
        let got = &p["httpGet"]["port"];
        ensure!(
            *got == spec["name"] || *got == spec["containerPort"],
            "{probe} port {got} is not the container's"
        );
        let path = p["httpGet"]["path"]
            .as_str()
            .context("probe without path")?;
        let period = p["periodSeconds"].as_u64().unwrap_or(10);
        let within = Duration::from_secs(period * p["failureThreshold"].as_u64().unwrap_or(3));
        let t = Instant::now();
        let ok = poll(within, Duration::from_millis(100), || {
            http(port, path, None).ok().filter(|(s, _)| *s == 200)
        });
        ensure!(
            ok.is_some(),
            "{probe} {path} not 200 within {within:?}: {}",
            logs(name)
        );
        seen.push(format!(
            "{probe} {path} ({:.1} s)",
            t.elapsed().as_secs_f64()
        ));
    }
    ensure!(!seen.is_empty(), "no probes");
    let (status, body) = http(port, "/predict", Some(r#"{"features":[5.1,3.5,1.4,0.2]}"#))?;
    ensure!(
        status == 200 && body.contains("setosa"),
        "/predict {status} {body}"
    );
    ensure!(
        body.contains(digest),
        "/predict answered with another model than {digest}: {body}"
    );
    let v2 = r#"{"inputs":[{"name":"input-0","shape":[1,4],"datatype":"FP64","data":[6.3,3.3,6.0,2.5]}]}"#;
    let (status, v2_body) = http(port, "/v2/models/iris/infer", Some(v2))?;
    ensure!(
        status == 200 && v2_body.contains("virginica"),
        "v2 infer {status} {v2_body}"
    );
    let top = docker(&["top", name, "-o", "pid,uid,gid"])?;
    let nobody = top
        .lines()
        .skip(1)
        .all(|l| l.split_whitespace().skip(1).all(|id| id == "65534"));
    ensure!(nobody, "not 65534:65534:\n{top}");
    let v = inspect("container", name)?;
    let hc = &v["HostConfig"];
    ensure!(
        hc["ReadonlyRootfs"] == true && hc["CapDrop"] == serde_json::json!(["ALL"]),
        "host config {hc}"
    );
    Ok(format!(
        "{}; /predict {}; v2 infer 200; uid 65534, read-only root, no capabilities",
        seen.join(", "),
        body.trim()
    ))
}

fn logs(name: &str) -> String {
    let sh = Shell::new();
    sh.ok()
        .and_then(|sh| run::output(cmd!(sh, "docker logs --tail 10 {name}"), SHORT).ok())
        .map(|o| format!("{}{}", o.stdout, o.stderr))
        .unwrap_or_default()
}

/// preStop `sleep` (the native action), then SIGTERM with what is left of
/// terminationGracePeriodSeconds; the server must exit 0 before SIGKILL.
fn stop_like_kubelet(pod: &Value, c: &Value, name: &str) -> Result<String> {
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap_or(30);
    let sleep = c["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap_or(0);
    ensure!(
        sleep < grace,
        "preStop sleep {sleep} s uses the whole grace period {grace} s"
    );
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(sleep));
    docker(&["stop", "--time", &(grace - sleep).to_string(), name])?;
    let took = t.elapsed().as_secs_f64();
    let code = inspect("container", name)?["State"]["ExitCode"]
        .as_i64()
        .unwrap_or(-1);
    ensure!(
        code == 0,
        "exit code {code} after {took:.1} s (SIGKILL at {grace} s)"
    );
    Ok(format!(
        "preStop {sleep} s + SIGTERM: exit 0 after {took:.1} s of {grace} s grace"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantities() {
        assert_eq!(bytes("256Mi").unwrap(), "268435456");
        assert_eq!(bytes("1Gi").unwrap(), "1073741824");
        assert_eq!(cpus("250m").unwrap(), "0.250");
        assert!(bytes("lots").is_err() && cpus("x").is_err());
    }

    #[test]
    fn container_spec_becomes_docker_options() {
        let pod = json!({"securityContext": {"runAsNonRoot": true, "runAsUser": 65534,
            "runAsGroup": 65534, "fsGroup": 65534, "seccompProfile": {"type": "RuntimeDefault"}},
            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
                        {"name": "model", "image": {"reference": "mlops-model:x"}}]});
        let c = json!({"image": "mlops-api:1", "command": ["/bin/mlops"], "args": ["serve"],
            "env": [{"name": "RUST_LOG", "value": "info"}],
            "securityContext": {"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
                "capabilities": {"drop": ["ALL"]}},
            "resources": {"limits": {"memory": "1Mi", "cpu": "250m"}},
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"},
                             {"name": "model", "mountPath": "/mnt/models", "subPath": "models"}]});
        let host = HostVolumes::from([("model".into(), PathBuf::from("/h"))]);
        let a = docker_args(&pod, &c, &host, "n").unwrap().join(" ");
        for want in [
            "--entrypoint /bin/mlops",
            "--user 65534:65534",
            "--group-add 65534",
            "--read-only",
            "--security-opt no-new-privileges",
            "--cap-drop ALL",
            "--env RUST_LOG=info",
            "--memory 1048576",
            "--cpus 0.250",
            "--tmpfs /tmp:size=16777216,mode=1777",
            "--mount type=bind,source=/h/models,target=/mnt/models,readonly",
        ] {
            assert!(a.contains(want), "{want} not in {a}");
        }
        assert_eq!(container_args(&c).unwrap(), ["mlops-api:1", "serve"]);
        let mut root = c.clone();
        root["securityContext"]["runAsUser"] = json!(0);
        assert!(
            docker_args(&pod, &root, &host, "n").is_err(),
            "root refused"
        );
    }
}
