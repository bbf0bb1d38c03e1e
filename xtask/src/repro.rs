//! The reproducibility primitives: canonical JSON, deterministic tar archives, sha256
//! digests and fixed timestamps. Everything the image builder writes goes through here,
//! so the same inputs always give the same bytes.

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::io::Write;

/// `sha256:<hex>` of some bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// Hex sha256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Canonical JSON: compact, object keys sorted by their UTF-8 bytes, no trailing newline.
///
/// Serde's output order follows struct field order and, for the `HashMap`s inside
/// `oci-spec`'s types (labels, annotations, exposed ports), the hash map's random
/// iteration order; going through a `Value` and writing the keys sorted removes both.
pub fn canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let value = serde_json::to_value(value).context("serialising to JSON")?;
    let mut out = Vec::new();
    write_canonical(&value, &mut out)?;
    Ok(out)
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) -> Result<()> {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, key)?;
                out.push(b':');
                write_canonical(item, out)?;
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out)?;
            }
            out.push(b']');
        }
        leaf => serde_json::to_writer(&mut *out, leaf)?,
    }
    Ok(())
}

/// What one tar entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File(Vec<u8>),
}

/// One entry of a deterministic tar archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Relative path, `/`-separated, no leading `/` and no trailing `/`.
    pub path: String,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub kind: EntryKind,
}

impl Entry {
    pub fn dir(path: &str, mode: u32, uid: u64, gid: u64) -> Entry {
        Entry {
            path: path.trim_matches('/').to_string(),
            mode,
            uid,
            gid,
            kind: EntryKind::Dir,
        }
    }

    pub fn file(path: &str, mode: u32, uid: u64, gid: u64, data: Vec<u8>) -> Entry {
        Entry {
            path: path.trim_matches('/').to_string(),
            mode,
            uid,
            gid,
            kind: EntryKind::File(data),
        }
    }
}

/// Writes a byte-reproducible tar: entries sorted by path (so a directory precedes its
/// contents), ustar headers without PAX or GNU extensions, the same `mtime` on every entry,
/// numeric owners with empty user and group names. The order the entries come in does not
/// matter; a duplicated path or a path that ustar cannot hold is an error.
pub fn deterministic_tar(mut entries: Vec<Entry>, mtime: u64) -> Result<Vec<u8>> {
    entries.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    for pair in entries.windows(2) {
        if pair[0].path == pair[1].path {
            bail!("duplicate tar entry {}", pair[0].path);
        }
    }
    let mut builder = tar::Builder::new(Vec::new());
    for entry in &entries {
        if entry.path.is_empty() || entry.path.starts_with('/') || entry.path.contains("..") {
            bail!("bad tar entry path {:?}", entry.path);
        }
        let mut header = tar::Header::new_ustar();
        header.set_mode(entry.mode);
        header.set_uid(entry.uid);
        header.set_gid(entry.gid);
        header.set_mtime(mtime);
        header.set_username("")?;
        header.set_groupname("")?;
        let (data, path): (&[u8], String) = match &entry.kind {
            EntryKind::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                (&[], format!("{}/", entry.path))
            }
            EntryKind::File(data) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(data.len() as u64);
                (data.as_slice(), entry.path.clone())
            }
        };
        // set_path writes ustar name/prefix fields and refuses what they cannot hold,
        // so no GNU long-name records ever appear.
        header
            .set_path(&path)
            .with_context(|| format!("tar path {path:?} does not fit a ustar header"))?;
        header.set_cksum();
        builder.append(&header, data)?;
    }
    builder.finish()?;
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
    let days = (epoch / 86_400) as i64;
    let secs = epoch % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Writes a file atomically: a temporary file beside it, fsync, rename.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("output path has no parent")?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read_back(bytes: &[u8]) -> Vec<(String, u64, u64, u64, u32, Vec<u8>)> {
        let mut archive = tar::Archive::new(bytes);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let h = e.header().clone();
                let mut data = Vec::new();
                std::io::Read::read_to_end(&mut e, &mut data).unwrap();
                (
                    h.path().unwrap().to_string_lossy().into_owned(),
                    h.mtime().unwrap(),
                    h.uid().unwrap(),
                    h.gid().unwrap(),
                    h.mode().unwrap(),
                    data,
                )
            })
            .collect()
    }

    fn sample() -> Vec<Entry> {
        vec![
            Entry::file("bin/mlops", 0o755, 0, 0, b"binary".to_vec()),
            Entry::dir("tmp", 0o1777, 0, 0),
            Entry::dir("bin", 0o755, 0, 0),
            Entry::dir("models", 0o755, 65534, 65534),
        ]
    }

    #[test]
    fn tar_entries_are_sorted_with_fixed_metadata() {
        let bytes = deterministic_tar(sample(), 1).unwrap();
        let entries = read_back(&bytes);
        let paths: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(paths, ["bin/", "bin/mlops", "models/", "tmp/"]);
        assert!(entries.iter().all(|e| e.1 == 1), "mtime must be fixed");
        let models = &entries[2];
        assert_eq!((models.2, models.3, models.4), (65534, 65534, 0o755));
        assert_eq!(entries[3].4, 0o1777, "sticky bit kept");
        assert_eq!(entries[1].5, b"binary");
        // ustar magic, empty owner names, no PAX/GNU extension records.
        let header = &bytes[..512];
        assert_eq!(&header[257..263], b"ustar\0");
        assert!(header[265..265 + 32].iter().all(|&b| b == 0));
        let mut archive = tar::Archive::new(bytes.as_slice());
        for e in archive.entries().unwrap() {
            let e = e.unwrap();
            assert!(matches!(
                e.header().entry_type(),
                tar::EntryType::Regular | tar::EntryType::Directory
            ));
        }
    }

    #[test]
    fn tar_is_independent_of_input_order_and_repeatable() {
        let mut reversed = sample();
        reversed.reverse();
        let a = deterministic_tar(sample(), 1).unwrap();
        let b = deterministic_tar(reversed, 1).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            sha256_hex(&a),
            sha256_hex(&deterministic_tar(sample(), 1).unwrap())
        );
        assert_ne!(
            a,
            deterministic_tar(sample(), 2).unwrap(),
            "mtime is in the bytes"
        );
    }

    #[test]
    fn tar_refuses_duplicates_and_escapes() {
        let mut dup = sample();
        dup.push(Entry::dir("bin/", 0o755, 0, 0));
        assert!(deterministic_tar(dup, 1).is_err());
        assert!(deterministic_tar(vec![Entry::dir("../x", 0o755, 0, 0)], 1).is_err());
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let mut labels = HashMap::new();
        for i in 0..50 {
            labels.insert(format!("k{i:02}"), i.to_string());
        }
        let value = serde_json::json!({"b": 1, "a": {"z": [ {"y": 1, "x": 2} ], "c": "é"}});
        let out = String::from_utf8(canonical_json(&value).unwrap()).unwrap();
        assert_eq!(out, r#"{"a":{"c":"é","z":[{"x":2,"y":1}]},"b":1}"#);
        let once = canonical_json(&labels).unwrap();
        for _ in 0..5 {
            // A fresh HashMap has a fresh random order; the bytes must not change.
            let copy: HashMap<String, String> = labels.clone().into_iter().collect();
            assert_eq!(canonical_json(&copy).unwrap(), once);
        }
        let text = String::from_utf8(once).unwrap();
        assert!(text.starts_with(r#"{"k00":"0","k01":"1","#));
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1), "1970-01-01T00:00:01Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn digests() {
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
