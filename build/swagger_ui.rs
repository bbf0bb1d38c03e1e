//! Swagger UI for `GET /docs`, compiled into the binary without a download.
//!
//! The `utoipa-swagger-ui-vendored` crate ships Swagger UI's release zip (5.17.14). Of
//! its eleven megabytes only two files are needed (the bundle and its style sheet; the
//! page and its start-up script are the server's own), so this takes those two out and
//! writes them gzipped (best compression, no timestamp: the same bytes every build) to
//! `OUT_DIR`, where `src/server/ui/swagger.rs` includes them. The binary grows by their
//! compressed size, about 0.45 MB.

use std::io::{Cursor, Read, Write};
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;

/// The files taken from the zip's `dist/` folder.
pub const ASSETS: [&str; 2] = ["swagger-ui-bundle.js", "swagger-ui.css"];

/// Writes `<asset>.gz` for each of [`ASSETS`] into `out_dir`.
pub fn write_assets(out_dir: &Path) {
    let zip = utoipa_swagger_ui_vendored::SWAGGER_UI_VENDORED;
    let mut archive =
        zip::ZipArchive::new(Cursor::new(zip)).expect("the vendored Swagger UI zip opens");
    let top = archive
        .file_names()
        .find_map(|n| n.split_once('/').map(|(top, _)| top.to_owned()))
        .expect("the Swagger UI zip has a top folder");
    for asset in ASSETS {
        let name = format!("{top}/dist/{asset}");
        let mut bytes = Vec::new();
        archive
            .by_name(&name)
            .unwrap_or_else(|e| panic!("{name} in the vendored Swagger UI zip: {e}"))
            .read_to_end(&mut bytes)
            .expect("the vendored Swagger UI zip reads");
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(&bytes).expect("gzip into memory");
        let gz = gz.finish().expect("gzip into memory");
        std::fs::write(out_dir.join(format!("{asset}.gz")), gz).expect("OUT_DIR is writable");
    }
}
