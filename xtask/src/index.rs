//! Multi-arch image indexes: one OCI image layout archive per image, whose tag names an
//! OCI image index with one manifest per platform. `skopeo copy --all
//! oci-archive:<name>.oci.tar docker://…` pushes the index and every platform's image, so
//! a pull of the tag gets the image of the puller's platform.
//!
//! It is made from the per-platform archives [`crate::images`] writes: their blobs are
//! copied as they are, so each platform's manifest digest is the same in both.

use crate::repro::{
    Entry, canonical_json, deterministic_tar, layout_head, read_tar, sha256_digest,
};
use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// The index archive for one image: `platforms` are (OCI architecture, archive bytes)
/// pairs, `tag` the tag the layout's `index.json` gives the index.
pub fn index_archive(platforms: &[(String, Vec<u8>)], tag: &str, epoch: u64) -> Result<Vec<u8>> {
    ensure!(
        !platforms.is_empty(),
        "an index needs at least one platform"
    );
    let mut blobs = BTreeMap::new();
    let mut manifests = Vec::new();
    for (arch, archive) in platforms {
        let mut layout_index = None;
        for (path, _, data) in read_tar(archive)? {
            // Blobs are files; the archive's directory entries are written anew below.
            if path
                .strip_prefix("blobs/sha256/")
                .is_some_and(|n| !n.is_empty())
            {
                blobs.insert(path, data);
            } else if path == "index.json" {
                layout_index = Some(data);
            }
        }
        let index: Value = serde_json::from_slice(&layout_index.context("no index.json")?)?;
        let manifest = &index["manifests"][0];
        ensure!(manifest.is_object(), "the {arch} archive names no manifest");
        manifests.push(json!({
            "mediaType": manifest["mediaType"], "digest": manifest["digest"],
            "size": manifest["size"], "platform": {"architecture": arch, "os": "linux"},
        }));
    }
    let index = canonical_json(&json!({
        "schemaVersion": 2, "mediaType": INDEX, "manifests": manifests,
    }))?;
    let digest = sha256_digest(&index);
    let top = canonical_json(&json!({"schemaVersion": 2, "manifests": [{
        "mediaType": INDEX, "digest": digest, "size": index.len(),
        "annotations": {"org.opencontainers.image.ref.name": tag},
    }]}))?;
    blobs.insert(format!("blobs/{}", digest.replace(':', "/")), index);
    let mut entries = layout_head(top);
    entries.extend((blobs.into_iter()).map(|(path, data)| Entry::file(&path, 0o644, data)));
    deterministic_tar(entries, epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(manifest: &[u8], extra: &str) -> Vec<u8> {
        let digest = sha256_digest(manifest);
        let index =
            json!({"manifests": [{"mediaType": "m", "digest": digest, "size": manifest.len()}]});
        let entries = vec![
            Entry::dir("blobs", 0o755, (0, 0)),
            Entry::dir("blobs/sha256", 0o755, (0, 0)),
            Entry::file("index.json", 0o644, serde_json::to_vec(&index).unwrap()),
            Entry::file(
                &format!("blobs/{}", digest.replace(':', "/")),
                0o644,
                manifest.to_vec(),
            ),
            Entry::file(&format!("blobs/sha256/{extra}"), 0o644, b"x".to_vec()),
            Entry::file("manifest.json", 0o644, b"[]".to_vec()),
        ];
        deterministic_tar(entries, 1).unwrap()
    }

    #[test]
    fn one_tag_one_index_every_platform() {
        let (a, b) = (archive(b"amd", "aa"), archive(b"arm", "bb"));
        let platforms = [("amd64".to_string(), a), ("arm64".to_string(), b)];
        let bytes = index_archive(&platforms, "1.2.3", 1).unwrap();
        assert_eq!(bytes, index_archive(&platforms, "1.2.3", 1).unwrap());
        let files: BTreeMap<String, Vec<u8>> = (read_tar(&bytes).unwrap().into_iter())
            .map(|(p, _, d)| (p, d))
            .collect();
        assert!(!files.contains_key("manifest.json"), "not a docker archive");
        let top: Value = serde_json::from_slice(&files["index.json"]).unwrap();
        let entry = &top["manifests"][0];
        assert_eq!(
            entry["annotations"]["org.opencontainers.image.ref.name"],
            "1.2.3"
        );
        let path = format!(
            "blobs/{}",
            entry["digest"].as_str().unwrap().replace(':', "/")
        );
        let index: Value = serde_json::from_slice(&files[&path]).unwrap();
        assert_eq!(index["mediaType"], INDEX);
        let got: Vec<(&str, &str)> = (index["manifests"].as_array().unwrap().iter())
            .map(|m| {
                let arch = m["platform"]["architecture"].as_str().unwrap();
                (arch, m["digest"].as_str().unwrap())
            })
            .collect();
        let amd = sha256_digest(b"amd");
        let arm = sha256_digest(b"arm");
        assert_eq!(got, [("amd64", amd.as_str()), ("arm64", arm.as_str())]);
        for blob in ["blobs/sha256/aa", "blobs/sha256/bb"] {
            assert!(files.contains_key(blob), "{blob} carried over");
        }
        assert!(index_archive(&[], "t", 1).is_err());
    }
}
