//! `cargo xtask images`: Nix-free, byte-reproducible image archives.
//!
//! Builds the static `mlops` binary and writes `target/images/<name>.tar` for every image
//! declared in `nix/images.toml` (the declaration the Nix flake reads too). Each archive is
//! at the same time a `docker save` archive (`manifest.json`) and an OCI image layout
//! (`oci-layout`, `index.json`, `blobs/sha256/…`), so `docker load`,
//! `skopeo copy docker-archive:` and `skopeo copy oci-archive:` all take it.
//!
//! Reproducibility: the binary is built with paths remapped (the checkout's location does
//! not leak into it); every tar is written by [`crate::repro::deterministic_tar`] (sorted
//! entries, fixed mtime and numeric owners, ustar headers); every JSON document is
//! canonical (sorted keys, compact); the creation time is `SOURCE_DATE_EPOCH` or
//! 1970-01-01T00:00:01Z. Layers are uncompressed, so their digest is their diff ID.
//!
//! Layers, the same in every image: 1. the binary (`/bin/mlops`), 2. the directories
//! from the declaration (`/tmp`, `/data`, `/models` with their modes and owners).

use crate::proc::{Cmd, git_output};
use crate::repro::{
    Entry, canonical_json, deterministic_tar, rfc3339, sha256_digest, sha256_hex,
    source_date_epoch, write_atomic,
};
use anyhow::{Context, Result, bail, ensure};
use oci_spec::image::{
    Arch, ConfigBuilder, Descriptor, DescriptorBuilder, Digest, HistoryBuilder,
    ImageConfigurationBuilder, ImageIndexBuilder, ImageManifestBuilder, MediaType,
    OciLayoutBuilder, Os, RootFsBuilder,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// The Rust target the image binary is built for.
pub const TARGET: &str = "x86_64-unknown-linux-gnu";
/// Where the checkout's path is remapped to inside the binary.
pub const REMAPPED_ROOT: &str = "/build/mlops";
/// The image declaration, relative to the workspace root.
pub const DECLARATION: &str = "nix/images.toml";

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

/// Docker's `Healthcheck` in an image config; not part of the OCI config type, so it is
/// added to the serialised config. Durations are integer nanoseconds.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct DockerHealthcheck {
    pub test: Vec<String>,
    pub interval: u64,
    pub timeout: u64,
    pub start_period: u64,
    pub retries: u64,
}

/// One entry of a `docker save` `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct DockerManifestEntry {
    pub config: String,
    pub repo_tags: Vec<String>,
    pub layers: Vec<String>,
}

impl Declaration {
    pub fn load(root: &Path) -> Result<Declaration> {
        let path = root.join(DECLARATION);
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
    Ok((
        u.parse().with_context(|| format!("bad uid in {owner:?}"))?,
        g.parse().with_context(|| format!("bad gid in {owner:?}"))?,
    ))
}

/// What the image build needs besides the declaration and the binary.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    pub version: String,
    pub revision: String,
    pub epoch: u64,
}

/// One built image archive.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    pub name: String,
    /// `name:version`.
    pub reference: String,
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

/// The in-memory result of [`image_archive`].
pub struct Archive {
    pub bytes: Vec<u8>,
    pub config_digest: String,
    pub manifest_digest: String,
    pub layer_digests: Vec<String>,
    pub uncompressed_size: u64,
}

/// The layers every image has, in order.
pub fn layers(decl: &Declaration, binary: &[u8], epoch: u64) -> Result<Vec<Vec<u8>>> {
    let bin_path = decl.common.binary.trim_start_matches('/');
    let mut bin_entries = Vec::new();
    let mut parent = Path::new(bin_path).parent();
    while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
        bin_entries.push(Entry::dir(&p.to_string_lossy(), 0o755, 0, 0));
        parent = p.parent();
    }
    bin_entries.push(Entry::file(bin_path, 0o755, 0, 0, binary.to_vec()));
    let mut dirs = Vec::new();
    for d in &decl.common.dirs {
        let (uid, gid) = parse_owner(&d.owner)?;
        dirs.push(Entry::dir(&d.path, parse_mode(&d.mode)?, uid, gid));
    }
    Ok(vec![
        deterministic_tar(bin_entries, epoch)?,
        deterministic_tar(dirs, epoch)?,
    ])
}

fn digest(s: &str) -> Result<Digest> {
    Digest::from_str(s).map_err(|e| anyhow::anyhow!("bad digest {s}: {e}"))
}

fn descriptor(media_type: MediaType, bytes: &[u8]) -> Result<Descriptor> {
    Ok(Descriptor::new(
        media_type,
        bytes.len() as u64,
        digest(&sha256_digest(bytes))?,
    ))
}

fn blob_path(d: &str) -> String {
    format!("blobs/sha256/{}", d.trim_start_matches("sha256:"))
}

/// The image config JSON (canonical bytes) for one declared image.
pub fn image_config(
    decl: &Declaration,
    name: &str,
    info: &BuildInfo,
    layers: &[Vec<u8>],
) -> Result<Vec<u8>> {
    let image = decl
        .images
        .get(name)
        .with_context(|| format!("image {name} is not declared"))?;
    let mut labels: HashMap<String, String> = decl.common.labels.clone().into_iter().collect();
    labels.insert("org.opencontainers.image.title".into(), image.title.clone());
    labels.insert(
        "org.opencontainers.image.version".into(),
        info.version.clone(),
    );
    labels.insert(
        "org.opencontainers.image.revision".into(),
        info.revision.clone(),
    );
    let mut config = ConfigBuilder::default()
        .user(decl.common.user.clone())
        .env(decl.common.env.clone())
        .entrypoint(image.entrypoint.clone())
        .working_dir(decl.common.workdir.clone())
        .labels(labels)
        .stop_signal(decl.common.stop_signal.clone());
    if !image.cmd.is_empty() {
        config = config.cmd(image.cmd.clone());
    }
    if !image.exposed_ports.is_empty() {
        config = config.exposed_ports(image.exposed_ports.clone());
    }
    let created = rfc3339(info.epoch);
    let history = ["binary", "directories"]
        .iter()
        .map(|what| {
            HistoryBuilder::default()
                .created(created.clone())
                .created_by(format!("cargo xtask images: {what}"))
                .build()
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let rootfs = RootFsBuilder::default()
        .typ("layers")
        .diff_ids(
            layers
                .iter()
                .map(|l| sha256_digest(l))
                .collect::<Vec<String>>(),
        )
        .build()?;
    let configuration = ImageConfigurationBuilder::default()
        .created(created)
        .architecture(Arch::Amd64)
        .os(Os::Linux)
        .config(config.build()?)
        .rootfs(rootfs)
        .history(history)
        .build()?;
    let mut value = serde_json::to_value(&configuration)?;
    if let Some(hc) = &image.healthcheck {
        let hc = DockerHealthcheck {
            test: hc.test.clone(),
            interval: hc.interval_ns,
            timeout: hc.timeout_ns,
            start_period: hc.start_period_ns,
            retries: hc.retries,
        };
        value["config"]["Healthcheck"] = serde_json::to_value(hc)?;
    }
    canonical_json(&value)
}

/// Builds one image archive in memory.
pub fn image_archive(
    decl: &Declaration,
    name: &str,
    info: &BuildInfo,
    layers: &[Vec<u8>],
) -> Result<Archive> {
    let config = image_config(decl, name, info, layers)?;
    let config_desc = descriptor(MediaType::ImageConfig, &config)?;
    let layer_descs = layers
        .iter()
        .map(|l| descriptor(MediaType::ImageLayer, l))
        .collect::<Result<Vec<_>>>()?;
    let manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(config_desc)
        .layers(layer_descs)
        .build()?;
    let manifest = canonical_json(&manifest)?;
    let reference = format!("{name}:{}", info.version);
    let annotations: HashMap<String, String> = [
        (
            "io.containerd.image.name".to_string(),
            format!("docker.io/library/{reference}"),
        ),
        (
            "org.opencontainers.image.ref.name".to_string(),
            info.version.clone(),
        ),
    ]
    .into_iter()
    .collect();
    let manifest_desc = DescriptorBuilder::default()
        .media_type(MediaType::ImageManifest)
        .digest(digest(&sha256_digest(&manifest))?)
        .size(manifest.len() as u64)
        .annotations(annotations)
        .build()?;
    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(vec![manifest_desc])
        .build()?;
    let layout = OciLayoutBuilder::default()
        .image_layout_version("1.0.0")
        .build()?;
    let docker_manifest = vec![DockerManifestEntry {
        config: blob_path(&sha256_digest(&config)),
        repo_tags: vec![reference],
        layers: layers
            .iter()
            .map(|l| blob_path(&sha256_digest(l)))
            .collect(),
    }];

    let mut entries = vec![
        Entry::dir("blobs", 0o755, 0, 0),
        Entry::dir("blobs/sha256", 0o755, 0, 0),
        Entry::file("oci-layout", 0o644, 0, 0, canonical_json(&layout)?),
        Entry::file("index.json", 0o644, 0, 0, canonical_json(&index)?),
        Entry::file(
            "manifest.json",
            0o644,
            0,
            0,
            canonical_json(&docker_manifest)?,
        ),
    ];
    let mut blobs: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for blob in layers.iter().chain([&config, &manifest]) {
        blobs.insert(blob_path(&sha256_digest(blob)), blob.clone());
    }
    for (path, blob) in blobs {
        entries.push(Entry::file(&path, 0o644, 0, 0, blob));
    }
    let bytes = deterministic_tar(entries, info.epoch)?;
    Ok(Archive {
        bytes,
        config_digest: sha256_digest(&config),
        manifest_digest: sha256_digest(&manifest),
        layer_digests: layers.iter().map(|l| sha256_digest(l)).collect(),
        uncompressed_size: layers.iter().map(|l| l.len() as u64).sum(),
    })
}

/// The crate version from the root `Cargo.toml`.
pub fn crate_version(root: &Path) -> Result<String> {
    let text = std::fs::read_to_string(root.join("Cargo.toml"))?;
    let value: toml::Table = toml::from_str(&text)?;
    value
        .get("package")
        .and_then(|p| p.get("version"))
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .context("root Cargo.toml has no package.version")
}

/// `git rev-parse HEAD`, with `-dirty` when tracked files differ from it; `unknown` outside
/// a git checkout.
pub fn revision(root: &Path) -> String {
    let Ok(head) = git_output(root, &["rev-parse", "HEAD"]) else {
        return "unknown".into();
    };
    let dirty = git_output(root, &["status", "--porcelain", "--untracked-files=no"])
        .map(|s| !s.trim().is_empty())
        .unwrap_or(false);
    format!("{}{}", head.trim(), if dirty { "-dirty" } else { "" })
}

fn home_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(fallback)))
}

/// The compiler flags of the image binary: static, and every machine-specific path
/// (the checkout, `$CARGO_HOME` with the registry sources, `$RUSTUP_HOME`) remapped to a
/// fixed one, so the binary does not depend on where things are.
pub fn rustflags(
    root: &Path,
    cargo_home: Option<&Path>,
    rustup_home: Option<&Path>,
) -> Vec<String> {
    let mut flags = vec![
        "-C".to_string(),
        "target-feature=+crt-static".to_string(),
        format!("--remap-path-prefix={}={REMAPPED_ROOT}", root.display()),
    ];
    if let Some(cargo_home) = cargo_home {
        flags.push(format!(
            "--remap-path-prefix={}=/cargo",
            cargo_home.display()
        ));
    }
    if let Some(rustup_home) = rustup_home {
        flags.push(format!(
            "--remap-path-prefix={}=/rustup",
            rustup_home.display()
        ));
    }
    flags
}

/// Builds the static release binary of the checkout at `root` and returns its path.
///
/// A separate target directory (`target/image-build`) keeps these RUSTFLAGS from
/// invalidating the normal build cache. `--target` is required for `+crt-static` (it keeps
/// the flags away from build scripts and proc macros).
///
/// `background`: run at low priority with the output captured (shown only on failure).
pub fn build_binary(root: &Path, background: bool) -> Result<PathBuf> {
    let root = root.canonicalize()?;
    let target_dir = root.join("target/image-build");
    let flags = rustflags(
        &root,
        home_dir("CARGO_HOME", ".cargo").as_deref(),
        home_dir("RUSTUP_HOME", ".rustup").as_deref(),
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("images: building the static binary in {}", root.display());
    let cmd = if background {
        // Background builds (the e2e's second checkout) yield the CPU to timed checks.
        Cmd::new("nice").args(["-n", "19"]).arg(&cargo)
    } else {
        Cmd::new(&cargo).inherit_output()
    };
    cmd.args([
        "build",
        "--release",
        "-p",
        "mlops",
        "--bin",
        "mlops",
        "--locked",
        "--target",
        TARGET,
    ])
    .arg("--target-dir")
    .arg(&target_dir)
    .dir(&root)
    .env("CARGO_ENCODED_RUSTFLAGS", flags.join("\u{1f}"))
    .env_remove("RUSTFLAGS")
    .env_remove("CARGO_BUILD_RUSTFLAGS")
    .env_remove("CARGO_TARGET_DIR")
    // build.rs records this in trained models; the same string as the image label.
    .env("MLOPS_SOURCE_REVISION", revision(&root))
    .timeout(Duration::from_secs(1800))
    .run_ok()
    .context("building the static mlops binary")?;
    let binary = target_dir.join(TARGET).join("release/mlops");
    ensure!(binary.is_file(), "{} was not built", binary.display());
    Ok(binary)
}

/// True when an ELF file asks for a dynamic loader (has a PT_INTERP program header).
pub fn elf_is_dynamic(bytes: &[u8]) -> Result<bool> {
    ensure!(
        bytes.len() > 64 && &bytes[..4] == b"\x7fELF",
        "not an ELF file"
    );
    ensure!(
        bytes[4] == 2 && bytes[5] == 1,
        "not a 64-bit little-endian ELF"
    );
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(bytes[32..40].try_into()?) as usize;
    let (phentsize, phnum) = (u16_at(54), u16_at(56));
    for i in 0..phnum {
        let off = phoff + i * phentsize;
        ensure!(off + 4 <= bytes.len(), "truncated ELF program headers");
        if u32::from_le_bytes(bytes[off..off + 4].try_into()?) == 3 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Writes every declared image's archive for the checkout at `root` into `out_dir`.
pub fn write_archives(root: &Path, binary: &Path, out_dir: &Path) -> Result<Vec<BuiltImage>> {
    let decl = Declaration::load(root)?;
    let bytes = std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    if elf_is_dynamic(&bytes)? {
        bail!(
            "{} is dynamically linked; an empty image needs a static binary",
            binary.display()
        );
    }
    let info = BuildInfo {
        version: crate_version(root)?,
        revision: revision(root),
        epoch: source_date_epoch()?,
    };
    let layers = layers(&decl, &bytes, info.epoch)?;
    let mut built = Vec::new();
    for name in decl.images.keys() {
        let archive = image_archive(&decl, name, &info, &layers)?;
        let path = out_dir.join(format!("{name}.tar"));
        write_atomic(&path, &archive.bytes)?;
        built.push(BuiltImage {
            name: name.clone(),
            reference: format!("{name}:{}", info.version),
            archive: path,
            archive_sha256: sha256_hex(&archive.bytes),
            archive_size: archive.bytes.len() as u64,
            config_digest: archive.config_digest,
            manifest_digest: archive.manifest_digest,
            layer_digests: archive.layer_digests,
            uncompressed_size: archive.uncompressed_size,
        });
    }
    let sums: String = built
        .iter()
        .map(|b| {
            format!(
                "{}  {}\n",
                b.archive_sha256,
                b.archive.file_name().unwrap_or_default().to_string_lossy()
            )
        })
        .collect();
    write_atomic(&out_dir.join("SHA256SUMS"), sums.as_bytes())?;
    Ok(built)
}

/// Builds the binary (unless given one) and the archives; returns what was written.
pub fn build(root: &Path, binary: Option<&Path>) -> Result<Vec<BuiltImage>> {
    let binary = match binary {
        Some(b) => b.to_path_buf(),
        None => build_binary(root, false)?,
    };
    write_archives(root, &binary, &root.join("target/images"))
}

/// A Markdown table of what was built (the README's table is pasted from this).
pub fn table(built: &[BuiltImage]) -> String {
    let mut out = String::from(
        "| image | uncompressed | archive sha256 | image ID (config digest) | shared binary layer |\n\
         | --- | --- | --- | --- | --- |\n",
    );
    for b in built {
        out.push_str(&format!(
            "| `{}` | {:.1} MB | `{}` | `{}` | `{}` |\n",
            b.reference,
            b.uncompressed_size as f64 / 1e6,
            b.archive_sha256,
            b.config_digest,
            b.layer_digests
                .first()
                .map(|d| &d[..19.min(d.len())])
                .unwrap_or("-"),
        ));
    }
    out
}

pub fn main(root: &Path, args: &[String]) -> Result<()> {
    let mut binary = None;
    let mut load = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--binary" => binary = Some(PathBuf::from(it.next().context("--binary PATH")?)),
            "--load" => load = true,
            other => bail!(
                "unknown argument {other:?}; usage: cargo xtask images [--load] [--binary PATH]"
            ),
        }
    }
    let built = build(root, binary.as_deref())?;
    if load {
        for b in &built {
            let out = Cmd::new("docker")
                .arg("load")
                .arg("--input")
                .arg(&b.archive)
                .timeout(Duration::from_secs(300))
                .run_ok()
                .context("docker load (is a Docker engine running?)")?;
            eprint!("{}", out.stdout);
        }
    }
    for b in &built {
        println!(
            "{}  {}  ({} bytes; image {}, {} uncompressed)",
            b.archive_sha256,
            b.archive.display(),
            b.archive_size,
            b.config_digest,
            b.uncompressed_size
        );
    }
    println!("\n{}", table(&built));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl() -> Declaration {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        Declaration::load(&root).expect("nix/images.toml parses")
    }

    fn info() -> BuildInfo {
        BuildInfo {
            version: "9.9.9".into(),
            revision: "abc".into(),
            epoch: 1,
        }
    }

    fn fake_binary() -> Vec<u8> {
        let mut b = b"\x7fELF\x02\x01".to_vec();
        b.resize(4096, 7);
        b
    }

    fn files(archive: &[u8]) -> BTreeMap<String, (tar::Header, Vec<u8>)> {
        let mut a = tar::Archive::new(archive);
        let mut out = BTreeMap::new();
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            out.insert(
                e.path().unwrap().to_string_lossy().into_owned(),
                (e.header().clone(), data),
            );
        }
        out
    }

    #[test]
    fn declaration_has_both_images() {
        let d = decl();
        assert!(d.images.contains_key("mlops-train"));
        assert!(d.images.contains_key("mlops-api"));
        assert_eq!(d.common.user, "65534:65534");
    }

    #[test]
    fn same_input_same_bytes() {
        let d = decl();
        let l1 = layers(&d, &fake_binary(), 1).unwrap();
        let l2 = layers(&d, &fake_binary(), 1).unwrap();
        assert_eq!(l1, l2);
        let a = image_archive(&d, "mlops-api", &info(), &l1).unwrap();
        let b = image_archive(&d, "mlops-api", &info(), &l2).unwrap();
        assert_eq!(sha256_hex(&a.bytes), sha256_hex(&b.bytes));
        let mut other = info();
        other.revision = "def".into();
        let c = image_archive(&d, "mlops-api", &other, &l1).unwrap();
        assert_ne!(a.bytes, c.bytes, "the revision label is part of the image");
    }

    #[test]
    fn images_share_the_binary_layer() {
        let d = decl();
        let l = layers(&d, &fake_binary(), 1).unwrap();
        let api = image_archive(&d, "mlops-api", &info(), &l).unwrap();
        let train = image_archive(&d, "mlops-train", &info(), &l).unwrap();
        assert_eq!(api.layer_digests[0], train.layer_digests[0]);
        assert_ne!(api.config_digest, train.config_digest);
    }

    #[test]
    fn archive_is_docker_and_oci() {
        let d = decl();
        let l = layers(&d, &fake_binary(), 1).unwrap();
        let a = image_archive(&d, "mlops-api", &info(), &l).unwrap();
        let f = files(&a.bytes);
        let names: Vec<&String> = f.keys().collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(f["oci-layout"].1, br#"{"imageLayoutVersion":"1.0.0"}"#);
        let manifest: Vec<DockerManifestEntry> =
            serde_json::from_slice(&f["manifest.json"].1).unwrap();
        assert_eq!(manifest[0].repo_tags, ["mlops-api:9.9.9"]);
        assert_eq!(manifest[0].config, blob_path(&a.config_digest));
        for p in manifest[0].layers.iter().chain([&manifest[0].config]) {
            let blob = &f[p].1;
            assert_eq!(blob_path(&sha256_digest(blob)), *p, "blob named by digest");
        }
        let index: serde_json::Value = serde_json::from_slice(&f["index.json"].1).unwrap();
        assert_eq!(index["manifests"][0]["digest"], a.manifest_digest.as_str());
        let config: serde_json::Value = serde_json::from_slice(&f[&manifest[0].config].1).unwrap();
        let c = &config["config"];
        assert_eq!(c["User"], "65534:65534");
        assert_eq!(c["Healthcheck"]["Test"][1], "/bin/mlops");
        assert_eq!(c["Healthcheck"]["Interval"], 5_000_000_000u64);
        assert_eq!(c["ExposedPorts"]["8000/tcp"], serde_json::json!({}));
        assert_eq!(c["Labels"]["org.opencontainers.image.version"], "9.9.9");
        assert_eq!(c["Labels"]["org.opencontainers.image.revision"], "abc");
        assert_eq!(c["Labels"]["org.opencontainers.image.title"], "mlops-api");
        assert_eq!(config["created"], "1970-01-01T00:00:01Z");
        assert_eq!(config["rootfs"]["diff_ids"][0], a.layer_digests[0].as_str());
        // Every header: fixed mtime, root owner.
        for (h, _) in f.values() {
            assert_eq!(h.mtime().unwrap(), 1);
            assert_eq!(h.uid().unwrap(), 0);
        }
    }

    #[test]
    fn layers_hold_binary_and_owned_dirs() {
        let d = decl();
        let l = layers(&d, &fake_binary(), 1).unwrap();
        let bin = files(&l[0]);
        assert_eq!(bin.keys().collect::<Vec<_>>(), ["bin/", "bin/mlops"]);
        assert_eq!(bin["bin/mlops"].0.mode().unwrap(), 0o755);
        let dirs = files(&l[1]);
        assert_eq!(dirs["models/"].0.uid().unwrap(), 65534);
        assert_eq!(dirs["tmp/"].0.mode().unwrap(), 0o1777);
        assert!(!dirs.keys().any(|k| k.contains("sh")), "no shell");
    }

    #[test]
    fn rustflags_remap_every_local_path() {
        let flags = rustflags(
            Path::new("/somewhere/else/mlops"),
            Some(Path::new("/home/u/.cargo")),
            Some(Path::new("/home/u/.rustup")),
        );
        assert_eq!(flags[..2], ["-C", "target-feature=+crt-static"]);
        assert!(flags.contains(&"--remap-path-prefix=/somewhere/else/mlops=/build/mlops".into()));
        assert!(flags.contains(&"--remap-path-prefix=/home/u/.cargo=/cargo".into()));
        assert!(flags.contains(&"--remap-path-prefix=/home/u/.rustup=/rustup".into()));
        // Two checkouts differ only in the remapped prefix, never in the result.
        let other = rustflags(Path::new("/tmp/x"), None, None);
        assert_eq!(other[2], "--remap-path-prefix=/tmp/x=/build/mlops");
    }

    #[test]
    fn elf_interp_detection() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        // The test binary is an ordinary dynamically linked executable.
        assert!(elf_is_dynamic(&exe).unwrap());
        assert!(elf_is_dynamic(b"#!/bin/sh\n").is_err());
    }
}
