//! `GET /docs`: Swagger UI on the server's own `/openapi.json`, from memory.
//!
//! The page and its start-up script are written here; Swagger UI's bundle and style
//! sheet (5.17.14) are compiled in gzipped by `build.rs` from the vendored release zip,
//! so nothing is fetched at build time or at run time. Paths are relative (`docs/...`,
//! `openapi.json`), so the page also works behind a proxy that mounts the service under
//! a prefix.

use std::sync::OnceLock;

use axum::body::Bytes;
use flate2::read::GzDecoder;

/// Swagger UI's bundle, gzipped.
pub const BUNDLE_GZ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/swagger-ui-bundle.js.gz"));
/// Swagger UI's style sheet, gzipped.
pub const CSS_GZ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/swagger-ui.css.gz"));

/// The page. Its policy allows scripts and styles from its own origin only.
pub const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mlops · API documentation</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/swagger-initializer.js"></script>
</body>
</html>
"#;

/// Starts Swagger UI on this server's document, with "Try it out" on and no call to
/// Swagger's online validator (the page makes no request outside the server).
pub const INITIALIZER: &str = r##""use strict";
window.ui = SwaggerUIBundle({
  url: new URL("openapi.json", document.baseURI).href,
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  deepLinking: true,
  tryItOutEnabled: true,
  displayRequestDuration: true,
  validatorUrl: null,
});
"##;

/// The policy of `/docs`: scripts, style sheets and requests from this origin only;
/// `data:` images for Swagger UI's icons, and inline styles for its components.
pub const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// A gzipped asset inflated, for the rare client that does not accept gzip; done once.
pub fn inflated(gz: &'static [u8], cell: &'static OnceLock<Bytes>) -> Bytes {
    cell.get_or_init(|| {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut GzDecoder::new(gz), &mut out)
            .expect("build.rs wrote valid gzip");
        out.into()
    })
    .clone()
}
