//! The reproducibility primitives: canonical JSON, deterministic tar archives, sha256
//! digests and fixed timestamps. Everything the image builder writes goes through here,
//! so the same inputs always give the same bytes.

use anyhow::{Context, Result, bail};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

/// `sha256:<hex>` of some bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// Hex sha256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Canonical JSON: compact, object keys sorted by their UTF-8 bytes, no trailing newline.
///
/// Serde's output order follows struct field order and, for the `HashMap`s inside
/// `oci-spec`'s types (labels, annotations, exposed ports), the hash map's random
/// iteration order; sorting every object of the `Value` removes both, whether or not
/// serde_json's `preserve_order` feature is on in the build.
pub fn canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let mut value = serde_json::to_value(value).context("serialising to JSON")?;
    value.sort_all_objects();
    Ok(serde_json::to_vec(&value)?)
}

/// One entry of a deterministic tar archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Relative path, `/`-separated, no leading or trailing `/`.
    path: String,
    mode: u32,
    owner: (u64, u64),
    /// `None` for a directory.
    data: Option<Vec<u8>>,
}

impl Entry {
    pub fn dir(path: &str, mode: u32, owner: (u64, u64)) -> Entry {
        let path = path.trim_matches('/').to_string();
        Entry {
            path,
            mode,
            owner,
            data: None,
        }
    }

    /// A regular file owned by root.
    pub fn file(path: &str, mode: u32, data: Vec<u8>) -> Entry {
        let path = path.trim_matches('/').to_string();
        Entry {
            path,
            mode,
            owner: (0, 0),
            data: Some(data),
        }
    }
}

/// Writes a byte-reproducible tar: entries sorted by path (so a directory precedes its
/// contents), ustar headers without PAX or GNU extensions, the same `mtime` on every entry,
/// numeric owners with empty user and group names. The order the entries come in does not
/// matter; a duplicated path or a path that ustar cannot hold is an error.
pub fn deterministic_tar(mut entries: Vec<Entry>, mtime: u64) -> Result<Vec<u8>> {
    entries.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    if let Some(pair) = entries.windows(2).find(|p| p[0].path == p[1].path) {
        bail!("duplicate tar entry {}", pair[0].path);
    }
    let mut builder = tar::Builder::new(Vec::new());
    for entry in &entries {
        if entry.path.is_empty() || entry.path.starts_with('/') || entry.path.contains("..") {
            bail!("bad tar entry path {:?}", entry.path);
        }
        let mut header = tar::Header::new_ustar();
        header.set_mode(entry.mode);
        header.set_uid(entry.owner.0);
        header.set_gid(entry.owner.1);
        header.set_mtime(mtime);
        header.set_username("")?;
        header.set_groupname("")?;
        let data = entry.data.as_deref().unwrap_or_default();
        header.set_size(data.len() as u64);
        let path = if entry.data.is_some() {
            header.set_entry_type(tar::EntryType::Regular);
            entry.path.clone()
        } else {
            header.set_entry_type(tar::EntryType::Directory);
            format!("{}/", entry.path)
        };
        // set_path writes ustar name/prefix fields and refuses what they cannot hold,
        // so no GNU long-name records ever appear.
        header
            .set_path(&path)
            .with_context(|| format!("tar path {path:?} does not fit a ustar header"))?;
        header.set_cksum();
        builder.append(&header, data)?;
    }
    Ok(builder.into_inner()?)
}

/// The timestamp every image uses: `SOURCE_DATE_EPOCH` when set (the reproducible-builds
/// convention), else 1 (1970-01-01T00:00:01Z, the same default as Nix's dockerTools).
pub fn source_date_epoch() -> Result<u64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(s) if !s.trim().is_empty() => s
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={s:?} is not a number of seconds")),
        _ => Ok(1),
    }
}

/// RFC 3339 UTC form of a Unix timestamp, e.g. `1970-01-01T00:00:01Z`.
pub fn rfc3339(epoch: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(epoch)).to_string()
}

/// Writes a file atomically (a temporary file beside it, fsync, rename), so an interrupted
/// build never leaves a truncated archive under the final name.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("output path has no parent")?;
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path)
        .with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

/// The entries of a tar archive in their order: path, header, contents.
pub fn read_tar(bytes: &[u8]) -> Result<Vec<(String, tar::Header, Vec<u8>)>> {
    let mut entries = Vec::new();
    for entry in tar::Archive::new(bytes).entries()? {
        let mut entry = entry?;
        let mut data = Vec::new();
        entry.read_to_end(&mut data)?;
        let path = entry.path()?.to_string_lossy().into_owned();
        entries.push((path, entry.header().clone(), data));
    }
    Ok(entries)
}

/// The start of an OCI image layout, before its blobs: the `blobs/sha256` directories,
/// `oci-layout` and the top-level `index.json`. Image and multi-arch archives share it.
pub(crate) fn layout_head(index: Vec<u8>) -> Vec<Entry> {
    vec![
        Entry::dir("blobs", 0o755, (0, 0)),
        Entry::dir("blobs/sha256", 0o755, (0, 0)),
        Entry::file(
            "oci-layout",
            0o644,
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
        Entry::file("index.json", 0o644, index),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn sample() -> Vec<Entry> {
        vec![
            Entry::file("bin/mlops", 0o755, b"binary".to_vec()),
            Entry::dir("tmp", 0o1777, (0, 0)),
            Entry::dir("bin", 0o755, (0, 0)),
            Entry::dir("models", 0o755, (65534, 65534)),
        ]
    }

    #[test]
    fn tar_entries_are_sorted_with_fixed_metadata() {
        let bytes = deterministic_tar(sample(), 1).unwrap();
        let entries = read_tar(&bytes).unwrap();
        let paths: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(paths, ["bin/", "bin/mlops", "models/", "tmp/"]);
        let headers: Vec<&tar::Header> = entries.iter().map(|e| &e.1).collect();
        assert!(
            headers.iter().all(|h| h.mtime().unwrap() == 1),
            "mtime must be fixed"
        );
        let models = headers[2];
        assert_eq!(
            (models.uid().unwrap(), models.gid().unwrap()),
            (65534, 65534)
        );
        assert_eq!(headers[3].mode().unwrap(), 0o1777, "sticky bit kept");
        assert_eq!(entries[1].2, b"binary");
        // ustar magic, empty owner names, no PAX/GNU extension records.
        assert_eq!(&bytes[257..263], b"ustar\0");
        assert!(bytes[265..265 + 32].iter().all(|&b| b == 0));
        let kinds = [tar::EntryType::Regular, tar::EntryType::Directory];
        assert!(headers.iter().all(|h| kinds.contains(&h.entry_type())));
    }

    #[test]
    fn tar_is_independent_of_input_order_and_repeatable() {
        let mut reversed = sample();
        reversed.reverse();
        let a = deterministic_tar(sample(), 1).unwrap();
        assert_eq!(a, deterministic_tar(reversed, 1).unwrap());
        assert_eq!(a, deterministic_tar(sample(), 1).unwrap());
        assert_ne!(
            a,
            deterministic_tar(sample(), 2).unwrap(),
            "mtime is in the bytes"
        );
    }

    #[test]
    fn tar_refuses_duplicates_and_escapes() {
        let mut dup = sample();
        dup.push(Entry::dir("bin/", 0o755, (0, 0)));
        assert!(deterministic_tar(dup, 1).is_err());
        assert!(deterministic_tar(vec![Entry::dir("../x", 0o755, (0, 0))], 1).is_err());
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let value = serde_json::json!({"b": 1, "a": {"z": [ {"y": 1, "x": 2} ], "c": "é"}});
        let out = String::from_utf8(canonical_json(&value).unwrap()).unwrap();
        assert_eq!(out, r#"{"a":{"c":"é","z":[{"x":2,"y":1}]},"b":1}"#);
        let labels: HashMap<String, String> = (0..50)
            .map(|i| (format!("k{i:02}"), i.to_string()))
            .collect();
        let once = canonical_json(&labels).unwrap();
        for _ in 0..5 {
            // A fresh HashMap has a fresh random order; the bytes must not change.
            let copy: HashMap<String, String> = labels.clone().into_iter().collect();
            assert_eq!(canonical_json(&copy).unwrap(), once);
        }
        assert!(once.starts_with(br#"{"k00":"0","k01":"1","#));
    }

    #[test]
    fn dates_and_digests() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1), "1970-01-01T00:00:01Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(sha256_digest(b""), format!("sha256:{empty}"));
    }
}
