//! Records the git revision the binary is built from, for model provenance, and
//! prepares Swagger UI's assets for `GET /docs` (see `build/swagger_ui.rs`).
//!
//! Image builders set `MLOPS_SOURCE_REVISION` themselves (Nix builds have no `.git`);
//! otherwise we ask git. Uncommitted changes are not detected: the revision names the
//! commit the tree started from. No git, no revision: the model says "unknown".

use std::process::Command;

#[path = "build/swagger_ui.rs"]
mod swagger_ui;

fn main() {
    let out_dir = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR");
    swagger_ui::write_assets(std::path::Path::new(&out_dir));
    println!("cargo:rerun-if-env-changed=MLOPS_SOURCE_REVISION");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/packed-refs");
    if let Ok(head) = std::fs::read_to_string(".git/HEAD") {
        if let Some(reference) = head.strip_prefix("ref: ") {
            println!("cargo:rerun-if-changed=.git/{}", reference.trim());
        }
    }
    let revision = Command::new("git")
        .args(["rev-parse", "--verify", "--quiet", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if let Some(revision) = revision {
        println!("cargo:rustc-env=MLOPS_GIT_REVISION={revision}");
    }
}
