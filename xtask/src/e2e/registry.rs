//! Both images through a registry: refused without credentials, pushed with skopeo,
//! pulled back by Docker with the same digests; and each archive read as an OCI archive.

use super::host::{MEDIUM, SHORT, docker, expect, free_port, http, inspect, poll};
use super::{Ctx, Suite};
use crate::images::{BuiltImage, index_name};
use crate::repro::sha256_digest;
use crate::run::{self, Server};
use anyhow::{Result, bail, ensure};
use std::path::Path;
use std::time::Duration;
use xshell::{Shell, cmd};

/// A `docker-registry` on 127.0.0.1 with htpasswd auth, in its own directory.
struct Registry {
    server: Server,
    port: u16,
    user: String,
    password: String,
}

impl Registry {
    fn start(dir: &Path) -> Result<Registry> {
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

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn creds(&self) -> String {
        format!("{}:{}", self.user, self.password)
    }
}

/// Returns the image IDs of the arm64 images pulled by platform (train, api), if any.
pub fn scenario(suite: &mut Suite, ctx: &Ctx) -> Result<Option<(String, String)>> {
    // Neither stored credentials nor the user's Docker login take part: skopeo gets an
    // auth file that does not exist, docker a config directory of the suite's own.
    let sh = Shell::new()?;
    sh.set_var("REGISTRY_AUTH_FILE", ctx.work.join("no-auth.json"));
    sh.set_var(
        "DOCKER_CONFIG",
        sh.create_dir(ctx.work.join("docker-login"))?,
    );
    let registry = Registry::start(&ctx.work.join("registry"))?;
    let (pid, port) = (registry.server.pid(), registry.port);
    suite.check(
        "local docker-registry with htpasswd auth on 127.0.0.1",
        || {
            Ok(format!(
                "pid {pid}, port {port}, /v2/ answers 401 without credentials"
            ))
        },
    );
    // References pulled into Docker (tags and digests under the registry's name).
    let mut pulled = Vec::new();
    for b in &ctx.built {
        round_trip(suite, &sh, &registry, &ctx.work, b, &mut pulled);
    }
    let mut arm64 = Vec::new();
    // Only the images built for several platforms have an index (not the model image).
    let multi = |b: &&BuiltImage| ctx.foreign.iter().any(|f| f.name == b.name);
    for b in ctx.built.iter().filter(multi) {
        multi_arch(suite, &sh, &registry, ctx, b, &mut pulled, &mut arm64);
    }
    suite.undo(
        format!("stop the registry (pid {pid}) and untag what was pulled"),
        move || {
            for reference in &pulled {
                let _ = docker(&["rmi", reference]);
            }
            ensure!(
                registry.server.stop(Duration::from_secs(10))?,
                "registry needed SIGKILL"
            );
            Ok(format!(
                "{} references removed, registry stopped",
                pulled.len()
            ))
        },
    );
    let id = |name: &str| {
        arm64
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| id.clone())
    };
    Ok(id("mlops-train").zip(id("mlops-api")))
}

/// The image's multi-arch index archive: pushed with `skopeo copy --all`, served as an
/// OCI index naming linux/amd64 and linux/arm64, and pulled by Docker per platform, each
/// giving that platform's image. Records the arm64 image's ID in `arm64`.
fn multi_arch(
    suite: &mut Suite,
    sh: &Shell,
    registry: &Registry,
    ctx: &Ctx,
    b: &BuiltImage,
    pulled: &mut Vec<String>,
    arm64: &mut Vec<(String, String)>,
) {
    let archive = ctx.root.join("target/images").join(index_name(&b.name));
    let reference = format!("{}/{}", registry.host(), b.reference);
    let dest = format!("docker://{reference}");
    let creds = registry.creds();
    let pushed = suite.check(&format!("skopeo copy --all {}: one tag, an amd64 + arm64 index", b.name), || {
        let source = format!("oci-archive:{}", archive.display());
        let copy = cmd!(sh, "skopeo copy --all --quiet --dest-tls-verify=false --dest-creds {creds} {source} {dest}");
        run::read(copy.secret(), MEDIUM)?;
        let inspect = cmd!(sh, "skopeo inspect --raw --tls-verify=false --creds {creds} {dest}");
        let raw: serde_json::Value = serde_json::from_str(&run::read(inspect.secret(), MEDIUM)?)?;
        expect(&raw["mediaType"], "application/vnd.oci.image.index.v1+json", "mediaType")?;
        let platforms: Vec<String> = (raw["manifests"].as_array().into_iter().flatten())
            .map(|m| format!("{}/{}", m["platform"]["os"], m["platform"]["architecture"]).replace('"', ""))
            .collect();
        ensure!(platforms == ["linux/amd64", "linux/arm64"], "platforms {platforms:?}");
        Ok(platforms.join(", "))
    });
    if !pushed {
        return;
    }
    let pulls = format!(
        "docker pull --platform linux/amd64 and linux/arm64 {}: each platform's image",
        b.name
    );
    suite.check(&pulls, || {
        let (host, user) = (registry.host(), &registry.user);
        let login = cmd!(sh, "docker login {host} --username {user} --password-stdin");
        ensure!(
            run::output_with(login, registry.password.as_bytes(), SHORT)?.ok(),
            "login failed"
        );
        let mut seen = Vec::new();
        for image in ctx
            .built
            .iter()
            .chain(&ctx.foreign)
            .filter(|i| i.name == b.name)
        {
            let platform = format!("linux/{}", image.arch);
            let pull = run::read(
                cmd!(sh, "docker pull --quiet --platform {platform} {reference}"),
                MEDIUM,
            );
            pulled.push(reference.clone());
            pull?;
            let v = inspect("image", &reference)?;
            expect(
                &v["Architecture"],
                image.arch.as_str(),
                "pulled architecture",
            )?;
            expect(&v["Id"], image.config_digest.as_str(), "pulled image id")?;
            if image.arch == "arm64" {
                arm64.push((b.name.clone(), image.config_digest.clone()));
            }
            seen.push(format!("{platform} {}", &image.config_digest[..19]));
        }
        let _ = run::output(cmd!(sh, "docker logout {host}"), SHORT);
        ensure!(seen.len() == 2, "pulled {seen:?}");
        Ok(seen.join(", "))
    });
}

/// The four checks of one image.
fn round_trip(
    suite: &mut Suite,
    sh: &Shell,
    registry: &Registry,
    work: &Path,
    b: &BuiltImage,
    pulled: &mut Vec<String>,
) {
    let dest = format!("docker://{}/{}", registry.host(), b.reference);
    let source = format!("docker-archive:{}", b.archive.display());
    suite.check(
        &format!("skopeo copy {} without credentials is refused", b.name),
        || {
            let copy = cmd!(
                sh,
                "skopeo copy --quiet --dest-tls-verify=false {source} {dest}"
            );
            let out = run::output(copy, MEDIUM)?;
            ensure!(!out.ok(), "pushed without credentials");
            let msg = out.tail().to_lowercase();
            let refused = msg.contains("unauthorized") || msg.contains("authentication required");
            ensure!(refused, "unexpected error: {msg}");
            Ok("unauthorized".into())
        },
    );
    let mut pushed = String::new();
    suite.check(
        &format!("skopeo copy {} to the registry with credentials", b.name),
        || {
            let digest_file = work.join(format!("{}.digest", b.name));
            pushed = push(sh, registry, b, &source, &dest, &digest_file)?;
            Ok(format!("{dest} @ {pushed}"))
        },
    );
    suite.check(
        &format!("docker pull {} back with the same digests", b.name),
        || pull_back(sh, registry, b, &pushed, pulled),
    );
    let oci = format!(
        "{} is also an OCI archive (skopeo inspect oci-archive:)",
        b.name
    );
    suite.check(&oci, || {
        let archive = format!("oci-archive:{}", b.archive.display());
        let raw = run::checked(cmd!(sh, "skopeo inspect --raw {archive}"), MEDIUM)?;
        let digest = sha256_digest(raw.stdout.as_bytes());
        ensure!(
            digest == b.manifest_digest,
            "OCI manifest digest {digest} differs"
        );
        Ok(digest)
    });
}

/// Pushes with credentials; the manifest and config the registry serves are the pushed
/// ones, byte for byte. Returns the manifest digest.
fn push(
    sh: &Shell,
    registry: &Registry,
    b: &BuiltImage,
    source: &str,
    dest: &str,
    digest_file: &Path,
) -> Result<String> {
    let creds = registry.creds();
    let copy = cmd!(
        sh,
        "skopeo copy --quiet --dest-tls-verify=false --dest-creds {creds}"
    );
    let copy = copy
        .arg("--digestfile")
        .arg(digest_file)
        .args([source, dest]);
    run::read(copy.secret(), MEDIUM)?;
    let pushed = std::fs::read_to_string(digest_file)?.trim().to_string();
    // The manifest (or config) as the registry serves it; digests are of these exact
    // bytes, so stdout stays untrimmed.
    let raw = |config: Option<&str>| {
        let inspect = cmd!(sh, "skopeo inspect {config...} --raw --tls-verify=false");
        let inspect = inspect.args(["--creds", &creds, dest]).secret();
        run::checked(inspect, MEDIUM).map(|o| o.stdout)
    };
    let manifest = sha256_digest(raw(None)?.as_bytes());
    ensure!(manifest == pushed, "manifest digest {manifest} != {pushed}");
    let config = sha256_digest(raw(Some("--config"))?.as_bytes());
    ensure!(
        config == b.config_digest,
        "config changed in transit: {config}"
    );
    Ok(pushed)
}

/// `docker login`, `pull`, `logout`; the pulled image is the built one, under the pushed
/// digest.
fn pull_back(
    sh: &Shell,
    registry: &Registry,
    b: &BuiltImage,
    pushed: &str,
    pulled: &mut Vec<String>,
) -> Result<String> {
    ensure!(!pushed.is_empty(), "nothing pushed");
    let (host, user) = (registry.host(), &registry.user);
    let reference = format!("{host}/{}", b.reference);
    let login = cmd!(sh, "docker login {host} --username {user} --password-stdin");
    let login = run::output_with(login, registry.password.as_bytes(), SHORT)?;
    ensure!(login.ok(), "login failed: {}", login.tail());
    let pull = run::read(cmd!(sh, "docker pull --quiet {reference}"), MEDIUM);
    let _ = run::output(cmd!(sh, "docker logout {host}"), SHORT);
    let by_digest = format!("{host}/{}@{pushed}", b.name);
    pulled.extend([reference.clone(), by_digest.clone()]);
    pull?;
    let v = inspect("image", &reference)?;
    expect(&v["Id"], b.config_digest.as_str(), "pulled image id")?;
    let digests = v["RepoDigests"].as_array().cloned().unwrap_or_default();
    let found = digests.iter().any(|d| *d == by_digest.as_str());
    ensure!(found, "RepoDigests {digests:?} lack {by_digest}");
    Ok(format!("image {}, {by_digest}", &b.config_digest[..19]))
}
