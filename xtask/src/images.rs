//! `cargo xtask images`: Nix-free, byte-reproducible image archives.
//!
//! Writes `target/images/<name>.tar` for every image declared in `nix/images.toml` (the
//! declaration the Nix flake reads too). Each archive is at the same time a `docker save`
//! archive (`manifest.json`) and an OCI image layout (`oci-layout`, `index.json`,
//! `blobs/sha256/…`), so `docker load`, `skopeo copy docker-archive:` and
//! `skopeo copy oci-archive:` all take it.
//!
//! Reproducibility: the binary is built with paths remapped ([`crate::binary`]); every tar
//! is written by [`deterministic_tar`]; every JSON document is canonical; the creation
//! time is `SOURCE_DATE_EPOCH` or 1970-01-01T00:00:01Z. Layers are uncompressed, so their
//! digest is their diff ID. The layers, the same in every image: 1. the binary
//! (`/bin/mlops`), 2. the declared directories (`/tmp`, `/data`, `/models`, with their
//! modes and owners).

use crate::binary::{self, Platform, crate_version, elf_is_dynamic, elf_machine, revision};
use crate::repro::{
    Entry, canonical_json, deterministic_tar, layout_head, rfc3339, sha256_digest, sha256_hex,
    source_date_epoch, write_atomic,
};
use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use xshell::{Shell, cmd};

const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// `nix/images.toml`. Unknown keys are ignored, so either builder can add its own.
#[derive(Debug, Clone, Deserialize)]
pub struct Declaration {
    pub common: Common,
    pub images: BTreeMap<String, ImageDecl>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Common {
    pub user: String,
    pub binary: String,
    pub workdir: String,
    pub stop_signal: String,
    pub dirs: Vec<DirDecl>,
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DirDecl {
    pub path: String,
    /// Octal, e.g. "1777".
    pub mode: String,
    /// "uid:gid", numeric.
    pub owner: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ImageDecl {
    pub title: String,
    pub entrypoint: Vec<String>,
    #[serde(default)]
    pub cmd: Vec<String>,
    #[serde(default)]
    pub exposed_ports: Vec<String>,
    pub healthcheck: Option<HealthcheckDecl>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HealthcheckDecl {
    pub test: Vec<String>,
    pub interval_ns: u64,
    pub timeout_ns: u64,
    pub start_period_ns: u64,
    pub retries: u64,
}

impl Declaration {
    pub fn load(root: &Path) -> Result<Declaration> {
        let path = root.join("nix/images.toml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        Declaration::parse(&text).with_context(|| format!("parsing {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Declaration> {
        let decl: Declaration = toml::from_str(text)?;
        ensure!(!decl.images.is_empty(), "no [images.*] declared");
        ensure!(
            decl.common.binary.starts_with('/'),
            "common.binary must be absolute"
        );
        for dir in &decl.common.dirs {
            parse_mode(&dir.mode)?;
            parse_owner(&dir.owner)?;
        }
        Ok(decl)
    }
}

fn parse_mode(mode: &str) -> Result<u32> {
    let m = u32::from_str_radix(mode, 8).with_context(|| format!("bad octal mode {mode:?}"))?;
    ensure!(m <= 0o7777, "mode {mode:?} out of range");
    Ok(m)
}

fn parse_owner(owner: &str) -> Result<(u64, u64)> {
    let (u, g) = owner
        .split_once(':')
        .with_context(|| format!("owner {owner:?} is not uid:gid"))?;
    let id = |s: &str| {
        s.parse()
            .with_context(|| format!("bad id {s:?} in {owner:?}"))
    };
    Ok((id(u)?, id(g)?))
}

/// What the image build needs besides the declaration and the binary.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    pub version: String,
    pub revision: String,
    pub epoch: u64,
    /// The OCI architecture: `amd64`, `arm64`.
    pub arch: String,
}

/// One image archive and the digests the e2e suite checks.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    pub name: String,
    /// The OCI architecture of the binary inside.
    pub arch: String,
    /// `name:version`.
    pub reference: String,
    /// Where the archive was written (empty until [`write_archives`] writes it).
    pub archive: PathBuf,
    pub archive_sha256: String,
    pub archive_size: u64,
    /// The image ID: digest of the config JSON.
    pub config_digest: String,
    /// Digest of the OCI manifest.
    pub manifest_digest: String,
    pub layer_digests: Vec<String>,
    /// Sum of the (uncompressed) layer sizes.
    pub uncompressed_size: u64,
}

/// The layers every image has, in order.
pub fn layers(decl: &Declaration, binary: &[u8], epoch: u64) -> Result<Vec<Vec<u8>>> {
    let bin_path = decl.common.binary.trim_start_matches('/');
    let mut bin_entries = vec![Entry::file(bin_path, 0o755, binary.to_vec())];
    let parents = Path::new(bin_path).ancestors().skip(1);
    for p in parents.filter(|p| !p.as_os_str().is_empty()) {
        bin_entries.push(Entry::dir(&p.to_string_lossy(), 0o755, (0, 0)));
    }
    let dirs = decl.common.dirs.iter().map(|d| {
        Ok(Entry::dir(
            &d.path,
            parse_mode(&d.mode)?,
            parse_owner(&d.owner)?,
        ))
    });
    let dirs = dirs.collect::<Result<Vec<_>>>()?;
    Ok(vec![
        deterministic_tar(bin_entries, epoch)?,
        deterministic_tar(dirs, epoch)?,
    ])
}

/// An OCI content descriptor of some bytes.
fn descriptor(media_type: &str, bytes: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": sha256_digest(bytes), "size": bytes.len()})
}

pub(crate) fn blob_path(bytes: &[u8]) -> String {
    format!("blobs/sha256/{}", sha256_hex(bytes))
}

/// The image config JSON (canonical bytes) for one declared image. `Healthcheck` is
/// Docker's extension (durations in nanoseconds); the rest is the OCI image config.
pub fn image_config(
    decl: &Declaration,
    name: &str,
    info: &BuildInfo,
    layers: &[Vec<u8>],
) -> Result<Vec<u8>> {
    let image = (decl.images.get(name)).with_context(|| format!("image {name} is not declared"))?;
    let mut labels = decl.common.labels.clone();
    let ours = [
        ("title", &image.title),
        ("version", &info.version),
        ("revision", &info.revision),
    ];
    for (key, value) in ours {
        labels.insert(format!("org.opencontainers.image.{key}"), value.clone());
    }
    let common = &decl.common;
    let mut config = json!({
        "User": common.user, "Env": common.env, "Entrypoint": image.entrypoint,
        "WorkingDir": common.workdir, "Labels": labels, "StopSignal": common.stop_signal,
    });
    if !image.cmd.is_empty() {
        config["Cmd"] = json!(image.cmd);
    }
    if !image.exposed_ports.is_empty() {
        config["ExposedPorts"] = image
            .exposed_ports
            .iter()
            .map(|p| (p.clone(), json!({})))
            .collect();
    }
    if let Some(hc) = &image.healthcheck {
        config["Healthcheck"] = json!({
            "Test": hc.test, "Interval": hc.interval_ns, "Timeout": hc.timeout_ns,
            "StartPeriod": hc.start_period_ns, "Retries": hc.retries,
        });
    }
    let created = rfc3339(info.epoch);
    let history = ["binary", "directories"].map(
        |what| json!({"created": created, "created_by": format!("cargo xtask images: {what}")}),
    );
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256_digest(l)).collect();
    canonical_json(&json!({
        "architecture": info.arch, "os": "linux", "created": created, "config": config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history,
    }))
}

/// The OCI manifest and index (canonical bytes) for a config and its layers, the index
/// naming the image `reference` (`name:tag`) as containerd and OCI tools expect.
pub(crate) fn manifest_and_index(
    config: &[u8],
    layers: &[Vec<u8>],
    reference: &str,
    tag: &str,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let layers: Vec<Value> = layers.iter().map(|l| descriptor(LAYER, l)).collect();
    let manifest = canonical_json(&json!({
        "schemaVersion": 2, "mediaType": MANIFEST,
        "config": descriptor(CONFIG, config), "layers": layers,
    }))?;
    let mut manifest_desc = descriptor(MANIFEST, &manifest);
    manifest_desc["annotations"] = json!({
        "io.containerd.image.name": format!("docker.io/library/{reference}"),
        "org.opencontainers.image.ref.name": tag,
    });
    let index = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [manifest_desc]});
    Ok((manifest, canonical_json(&index)?))
}

/// Builds one image archive in memory: its bytes and what it holds.
pub fn image_archive(
    decl: &Declaration,
    name: &str,
    info: &BuildInfo,
    layers: &[Vec<u8>],
) -> Result<(Vec<u8>, BuiltImage)> {
    let config = image_config(decl, name, info, layers)?;
    let reference = format!("{name}:{}", info.version);
    let (manifest, index) = manifest_and_index(&config, layers, &reference, &info.version)?;
    let bytes = archive(&config, layers, &manifest, index, &reference, info.epoch)?;
    let built = BuiltImage {
        name: name.to_string(),
        arch: info.arch.clone(),
        reference,
        archive: PathBuf::new(),
        archive_sha256: sha256_hex(&bytes),
        archive_size: bytes.len() as u64,
        config_digest: sha256_digest(&config),
        manifest_digest: sha256_digest(&manifest),
        layer_digests: layers.iter().map(|l| sha256_digest(l)).collect(),
        uncompressed_size: layers.iter().map(|l| l.len() as u64).sum(),
    };
    Ok((bytes, built))
}

/// The archive of one image for one platform: `<name>.tar` for amd64 (the one `docker
/// load` and compose use on amd64 machines), `<name>-<arch>.tar` for the others.
pub fn archive_name(name: &str, arch: &str) -> String {
    match arch {
        "amd64" => format!("{name}.tar"),
        _ => format!("{name}-{arch}.tar"),
    }
}

/// The multi-arch index archive of one image ([`crate::index`]).
pub fn index_name(name: &str) -> String {
    format!("{name}.oci.tar")
}

/// Checks that `bytes` is a static executable for `platform`'s CPU.
fn check_binary(binary: &Path, bytes: &[u8], platform: &Platform) -> Result<()> {
    if elf_is_dynamic(bytes)? {
        bail!(
            "{} is dynamically linked; an empty image needs a static binary",
            binary.display()
        );
    }
    let want = binary::machine_of(&platform.target)?;
    ensure!(
        elf_machine(bytes)? == want,
        "{} is not a {} executable",
        binary.display(),
        platform.target
    );
    Ok(())
}

/// Writes every declared image's archive for each (platform, binary) of the checkout at
/// `root` into `out_dir`, an index archive per image naming all of them, and a
/// `SHA256SUMS` beside them.
pub fn write_archives(
    root: &Path,
    binaries: &[(Platform, PathBuf)],
    out_dir: &Path,
) -> Result<Vec<BuiltImage>> {
    let decl = Declaration::load(root)?;
    let (version, revision, epoch) = (crate_version(root)?, revision(root), source_date_epoch()?);
    let mut built = Vec::new();
    let mut sums = String::new();
    let mut per_image: BTreeMap<String, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    for (platform, binary) in binaries {
        let bytes =
            std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
        check_binary(binary, &bytes, platform)?;
        let (arch, revision) = (platform.arch.clone(), revision.clone());
        let info = BuildInfo {
            version: version.clone(),
            revision,
            epoch,
            arch,
        };
        let layers = layers(&decl, &bytes, epoch)?;
        for name in decl.images.keys() {
            let (bytes, mut image) = image_archive(&decl, name, &info, &layers)?;
            let file = archive_name(name, &info.arch);
            image.archive = out_dir.join(&file);
            write_atomic(&image.archive, &bytes)?;
            sums.push_str(&format!("{}  {file}\n", image.archive_sha256));
            per_image
                .entry(name.clone())
                .or_default()
                .push((info.arch.clone(), bytes));
            built.push(image);
        }
    }
    for (name, platforms) in per_image {
        let bytes = crate::index::index_archive(&platforms, &version, epoch)?;
        write_atomic(&out_dir.join(index_name(&name)), &bytes)?;
        sums.push_str(&format!("{}  {}\n", sha256_hex(&bytes), index_name(&name)));
    }
    write_atomic(&out_dir.join("SHA256SUMS"), sums.as_bytes())?;
    Ok(built)
}

/// Builds the binary for every platform in `nix/platforms.toml` (or packs the given
/// amd64 binary alone) and writes the archives to `target/images`.
pub fn build(root: &Path, binary: Option<&Path>) -> Result<Vec<BuiltImage>> {
    build_in(root, binary, false)
}

/// [`build`], at low priority with the output shown only on failure when `background`.
pub fn build_in(root: &Path, binary: Option<&Path>, background: bool) -> Result<Vec<BuiltImage>> {
    let binaries = match binary {
        Some(b) => vec![(binary::platform(root, "amd64")?, b.to_path_buf())],
        None => (binary::platforms(root)?.into_iter())
            .map(|p| binary::build(root, &p, background).map(|b| (p, b)))
            .collect::<Result<_>>()?,
    };
    write_archives(root, &binaries, &root.join("target/images"))
}

/// A Markdown table of what was built (the README's table is pasted from this).
pub fn table(built: &[BuiltImage]) -> String {
    let mut out = String::from(
        "| image | uncompressed | archive sha256 | image ID (config digest) | shared binary layer |\n\
         | --- | --- | --- | --- | --- |\n",
    );
    for b in built {
        let layer = b
            .layer_digests
            .first()
            .map_or("-", |d| &d[..19.min(d.len())]);
        out.push_str(&format!(
            "| `{}` | {:.1} MB | `{}` | `{}` | `{layer}` |\n",
            b.reference,
            b.uncompressed_size as f64 / 1e6,
            b.archive_sha256,
            b.config_digest,
        ));
    }
    out
}

pub fn main(root: &Path, binary: Option<&Path>, load: bool) -> Result<()> {
    let built = build(root, binary)?;
    let sh = Shell::new()?;
    for b in built.iter().filter(|_| load) {
        let archive = &b.archive;
        let loaded = crate::run::read(
            cmd!(sh, "docker load --input {archive}"),
            Duration::from_secs(300),
        );
        eprintln!(
            "{}",
            loaded.context("docker load (is a Docker engine running?)")?
        );
    }
    for b in &built {
        println!(
            "{}  {}  (linux/{}, {} bytes; image {}, {} uncompressed)",
            b.archive_sha256,
            b.archive.display(),
            b.arch,
            b.archive_size,
            b.config_digest,
            b.uncompressed_size
        );
    }
    println!("\n{}", table(&built));
    Ok(())
}

/// One image's archive, both a `docker save` archive (`manifest.json`) and an OCI image
/// layout (`oci-layout`, `index.json`, `blobs/sha256/...`), byte-reproducible.
pub(crate) fn archive(
    config: &[u8],
    layers: &[Vec<u8>],
    manifest: &[u8],
    index: Vec<u8>,
    reference: &str,
    epoch: u64,
) -> Result<Vec<u8>> {
    let layer_paths: Vec<String> = layers.iter().map(|l| blob_path(l)).collect();
    let docker_manifest =
        json!([{"Config": blob_path(config), "RepoTags": [reference], "Layers": layer_paths}]);
    let mut entries = layout_head(index);
    entries.push(Entry::file(
        "manifest.json",
        0o644,
        canonical_json(&docker_manifest)?,
    ));
    // Keyed by path: the images share the binary layer, so a blob may come twice.
    let blobs: BTreeMap<String, &[u8]> = layers
        .iter()
        .map(Vec::as_slice)
        .chain([config, manifest])
        .map(|b| (blob_path(b), b))
        .collect();
    entries.extend(
        blobs
            .into_iter()
            .map(|(path, blob)| Entry::file(&path, 0o644, blob.to_vec())),
    );
    deterministic_tar(entries, epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl() -> Declaration {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        Declaration::load(&root).expect("nix/images.toml parses")
    }

    fn info() -> BuildInfo {
        let (version, revision) = ("9.9.9".into(), "abc".into());
        BuildInfo {
            version,
            revision,
            epoch: 1,
            arch: "arm64".into(),
        }
    }

    fn fake_binary() -> Vec<u8> {
        let mut b = b"\x7fELF\x02\x01".to_vec();
        b.resize(4096, 7);
        b
    }

    fn api_archive(info: &BuildInfo) -> (Vec<u8>, BuiltImage) {
        let l = layers(&decl(), &fake_binary(), 1).unwrap();
        image_archive(&decl(), "mlops-api", info, &l).unwrap()
    }

    fn files(archive: &[u8]) -> BTreeMap<String, (tar::Header, Vec<u8>)> {
        let entries = crate::repro::read_tar(archive).unwrap();
        entries
            .into_iter()
            .map(|(path, h, data)| (path, (h, data)))
            .collect()
    }

    #[test]
    fn declaration_parses_and_refuses_bad_input() {
        let d = decl();
        assert!(d.images.contains_key("mlops-train") && d.images.contains_key("mlops-api"));
        assert_eq!(d.common.user, "65534:65534");
        assert!(
            parse_mode("1777").is_ok() && parse_mode("9").is_err() && parse_mode("17777").is_err()
        );
        assert_eq!(parse_owner("65534:0").unwrap(), (65534, 0));
        assert!(parse_owner("65534").is_err() && parse_owner("a:b").is_err());
    }

    #[test]
    fn same_input_same_bytes_and_the_revision_counts() {
        let (a, _) = api_archive(&info());
        assert_eq!(a, api_archive(&info()).0);
        let other = BuildInfo {
            revision: "def".into(),
            ..info()
        };
        assert_ne!(
            a,
            api_archive(&other).0,
            "the revision label is part of the image"
        );
    }

    #[test]
    fn images_share_the_binary_layer() {
        let d = decl();
        let l = layers(&d, &fake_binary(), 1).unwrap();
        let (_, api) = image_archive(&d, "mlops-api", &info(), &l).unwrap();
        let (_, train) = image_archive(&d, "mlops-train", &info(), &l).unwrap();
        assert_eq!(api.layer_digests[0], train.layer_digests[0]);
        assert_ne!(api.config_digest, train.config_digest);
    }

    #[test]
    fn archive_is_docker_and_oci() {
        let (bytes, a) = api_archive(&info());
        let f = files(&bytes);
        assert_eq!(f["oci-layout"].1, br#"{"imageLayoutVersion":"1.0.0"}"#);
        let manifest: Value = serde_json::from_slice(&f["manifest.json"].1).unwrap();
        assert_eq!(manifest[0]["RepoTags"], json!(["mlops-api:9.9.9"]));
        let config_path = manifest[0]["Config"].as_str().unwrap();
        let layers = manifest[0]["Layers"].as_array().unwrap();
        for p in layers.iter().filter_map(Value::as_str).chain([config_path]) {
            assert_eq!(blob_path(&f[p].1), p, "blob named by digest");
        }
        assert_eq!(sha256_digest(&f[config_path].1), a.config_digest);
        let index: Value = serde_json::from_slice(&f["index.json"].1).unwrap();
        assert_eq!(index["manifests"][0]["digest"], a.manifest_digest.as_str());
        let config: Value = serde_json::from_slice(&f[config_path].1).unwrap();
        let c = &config["config"];
        assert_eq!(c["User"], "65534:65534");
        assert_eq!(c["Healthcheck"]["Test"][1], "/bin/mlops");
        assert_eq!(c["Healthcheck"]["Interval"], 5_000_000_000u64);
        assert_eq!(c["ExposedPorts"]["8000/tcp"], serde_json::json!({}));
        let label = |k: &str| c["Labels"][format!("org.opencontainers.image.{k}")].clone();
        assert_eq!(
            [label("version"), label("revision"), label("title")],
            ["9.9.9", "abc", "mlops-api"]
        );
        assert_eq!(config["created"], "1970-01-01T00:00:01Z");
        assert_eq!(config["architecture"], "arm64");
        assert_eq!(config["rootfs"]["diff_ids"][0], a.layer_digests[0].as_str());
        // Every header: fixed mtime, root owner.
        assert!(
            f.values()
                .all(|(h, _)| h.mtime().unwrap() == 1 && h.uid().unwrap() == 0)
        );
    }

    #[test]
    fn layers_hold_binary_and_owned_dirs() {
        let l = layers(&decl(), &fake_binary(), 1).unwrap();
        let bin = files(&l[0]);
        assert_eq!(bin.keys().collect::<Vec<_>>(), ["bin/", "bin/mlops"]);
        assert_eq!(bin["bin/mlops"].0.mode().unwrap(), 0o755);
        let dirs = files(&l[1]);
        assert_eq!(dirs["models/"].0.uid().unwrap(), 65534);
        assert_eq!(dirs["tmp/"].0.mode().unwrap(), 0o1777);
        assert!(!dirs.keys().any(|k| k.contains("sh")), "no shell");
    }
}
