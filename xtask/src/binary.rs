//! The image binary: `mlops` built static and free of machine-specific paths, plus the
//! version and revision the images are labelled with.

use crate::run;
use anyhow::{Context, Result, ensure};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use xshell::{Shell, cmd};

/// One image platform from `nix/platforms.toml`, the file the Nix flake reads too: the
/// Rust target and the compiler flags of the binary.
#[derive(Debug, Clone, Deserialize)]
pub struct Platform {
    /// The OCI architecture, e.g. `amd64` (the table key).
    #[serde(skip)]
    pub arch: String,
    pub target: String,
    pub rustflags: Vec<String>,
}

#[derive(Deserialize)]
struct Platforms {
    platforms: BTreeMap<String, Platform>,
}

/// The platforms declared in `nix/platforms.toml`, by OCI architecture.
pub fn platforms(root: &Path) -> Result<Vec<Platform>> {
    let path = root.join("nix/platforms.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let parsed: Platforms =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    ensure!(
        !parsed.platforms.is_empty(),
        "{} declares no platform",
        path.display()
    );
    Ok((parsed.platforms.into_iter())
        .map(|(arch, p)| Platform { arch, ..p })
        .collect())
}

/// The declared platform for an OCI architecture.
pub fn platform(root: &Path, arch: &str) -> Result<Platform> {
    (platforms(root)?.into_iter().find(|p| p.arch == arch))
        .with_context(|| format!("nix/platforms.toml declares no platform {arch}"))
}
/// Where the checkout's path is remapped to inside the binary.
const REMAPPED_ROOT: &str = "/build/mlops";
/// A background build gives up after this long.
const BUILD_LIMIT: Duration = Duration::from_secs(1800);

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
    let Ok(sh) = Shell::new() else {
        return "unknown".into();
    };
    let git =
        |args: &[&str]| run::read(cmd!(sh, "git -C {root} {args...}"), Duration::from_secs(60));
    let Ok(head) = git(&["rev-parse", "HEAD"]) else {
        return "unknown".into();
    };
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_ok_and(|s| !s.is_empty());
    format!("{head}{}", if dirty { "-dirty" } else { "" })
}

/// The compiler flags of the image binary: the platform's (static), then every
/// machine-specific path (the checkout, `$CARGO_HOME` with the registry sources,
/// `$RUSTUP_HOME`) remapped to a fixed one, so the binary does not depend on where
/// things are.
pub fn rustflags(
    platform: &Platform,
    root: &Path,
    cargo_home: Option<&Path>,
    rustup_home: Option<&Path>,
) -> Vec<String> {
    let mut flags = platform.rustflags.clone();
    flags.push(format!(
        "--remap-path-prefix={}={REMAPPED_ROOT}",
        root.display()
    ));
    for (dir, to) in [(cargo_home, "/cargo"), (rustup_home, "/rustup")] {
        if let Some(dir) = dir {
            flags.push(format!("--remap-path-prefix={}={to}", dir.display()));
        }
    }
    flags
}

fn home_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(fallback)))
}

/// Builds the static release binary of the checkout at `root` for `platform` and returns
/// its path.
///
/// Its own target directory (`target/image-build`) keeps these RUSTFLAGS from invalidating
/// the normal build cache; `--target` keeps `+crt-static` away from build scripts and proc
/// macros. `background` (the e2e's second checkout) runs at low priority, so it yields the
/// CPU to timed checks, with its output shown only on failure.
pub fn build(root: &Path, platform: &Platform, background: bool) -> Result<PathBuf> {
    let root = root.canonicalize()?;
    let target_dir = root.join("target/image-build");
    let target = &platform.target;
    let flags = rustflags(
        platform,
        &root,
        home_dir("CARGO_HOME", ".cargo").as_deref(),
        home_dir("RUSTUP_HOME", ".rustup").as_deref(),
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let (program, nice) = match background {
        true => ("nice", vec!["-n", "19", &cargo]),
        false => (cargo.as_str(), vec![]),
    };
    eprintln!(
        "images: building the static binary for {target} in {}",
        root.display()
    );
    let sh = Shell::new()?;
    sh.change_dir(&root);
    let cmd = cmd!(
        sh,
        "{program} {nice...} build --release -p mlops --bin mlops --locked"
    )
    .args(["--target", target, "--target-dir"])
    .arg(&target_dir)
    .env("CARGO_ENCODED_RUSTFLAGS", flags.join("\u{1f}"))
    .env_remove("RUSTFLAGS")
    .env_remove("CARGO_BUILD_RUSTFLAGS")
    .env_remove("CARGO_TARGET_DIR")
    // build.rs records this in trained models; the same string as the image label.
    .env("MLOPS_SOURCE_REVISION", revision(&root));
    let built = if background {
        run::read(cmd, BUILD_LIMIT).map(drop)
    } else {
        cmd.run().map_err(Into::into)
    };
    built.context("building the static mlops binary")?;
    let binary = target_dir.join(target).join("release/mlops");
    ensure!(binary.is_file(), "{} was not built", binary.display());
    Ok(binary)
}

/// The ELF machine (`e_machine`) of a Rust target's CPU.
pub fn machine_of(target: &str) -> Result<u16> {
    match target.split('-').next() {
        Some("x86_64") => Ok(62),
        Some("aarch64") => Ok(183),
        _ => anyhow::bail!("no ELF machine known for the target {target}"),
    }
}

/// The ELF machine (`e_machine`) of an executable.
pub fn elf_machine(bytes: &[u8]) -> Result<u16> {
    ensure!(
        bytes.len() > 20 && bytes.starts_with(b"\x7fELF"),
        "not an ELF file"
    );
    Ok(u16::from_le_bytes([bytes[18], bytes[19]]))
}

/// True when an ELF file asks for a dynamic loader (has a PT_INTERP program header).
pub fn elf_is_dynamic(bytes: &[u8]) -> Result<bool> {
    ensure!(
        bytes.len() > 64 && bytes.starts_with(b"\x7fELF"),
        "not an ELF file"
    );
    ensure!(
        bytes[4] == 2 && bytes[5] == 1,
        "not a 64-bit little-endian ELF"
    );
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(bytes[32..40].try_into()?) as usize;
    for i in 0..u16_at(56) {
        let off = phoff + i * u16_at(54);
        let header = bytes
            .get(off..off + 4)
            .context("truncated ELF program headers")?;
        if u32::from_le_bytes(header.try_into()?) == 3 {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// The flake reads the same file (flake.nix; `nix/check.sh` checks the derivations'
    /// CARGO_BUILD_TARGET and CARGO_BUILD_RUSTFLAGS against it): both builders' binaries
    /// come from one target and one set of flags per platform, static musl.
    #[test]
    fn binaries_are_static_musl_from_the_shared_declaration() {
        let amd64 = platform(&root(), "amd64").unwrap();
        assert_eq!(amd64.target, "x86_64-unknown-linux-musl");
        for p in platforms(&root()).unwrap() {
            assert!(p.target.ends_with("-unknown-linux-musl"), "{}", p.target);
            assert!(
                p.rustflags
                    .windows(2)
                    .any(|w| w == ["-C", "target-feature=+crt-static"])
            );
            let flags = rustflags(&p, Path::new("/x"), None, None);
            assert_eq!(flags[..p.rustflags.len()], p.rustflags[..]);
            let extra = &flags[p.rustflags.len()..];
            assert!(extra.iter().all(|f| f.starts_with("--remap-path-prefix=")));
        }
        assert!(platform(&root(), "s390x").is_err());
    }

    #[test]
    fn rustflags_remap_every_local_path() {
        let amd64 = platform(&root(), "amd64").unwrap();
        let flags = rustflags(
            &amd64,
            Path::new("/somewhere/else/mlops"),
            Some(Path::new("/home/u/.cargo")),
            Some(Path::new("/home/u/.rustup")),
        );
        assert_eq!(flags[..2], ["-C", "target-feature=+crt-static"]);
        assert!(flags.contains(&"--remap-path-prefix=/somewhere/else/mlops=/build/mlops".into()));
        assert!(flags.contains(&"--remap-path-prefix=/home/u/.cargo=/cargo".into()));
        assert!(flags.contains(&"--remap-path-prefix=/home/u/.rustup=/rustup".into()));
        // Two checkouts differ only in the remapped prefix, never in the result.
        let other = rustflags(&amd64, Path::new("/tmp/x"), None, None);
        assert_eq!(other[2], "--remap-path-prefix=/tmp/x=/build/mlops");
    }

    #[test]
    fn elf_interp_detection() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        // The test binary is an ordinary dynamically linked executable.
        assert!(elf_is_dynamic(&exe).unwrap());
        assert_eq!(
            elf_machine(&exe).unwrap(),
            machine_of(std::env::consts::ARCH).unwrap()
        );
        assert!(elf_is_dynamic(b"#!/bin/sh\n").is_err());
    }
}
