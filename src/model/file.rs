//! Reading a model file's bytes, bounded: only a regular file, at most
//! [`MAX_MODEL_BYTES`].
//!
//! The path comes from a flag or an environment variable, and a server re-reads it on
//! every SIGHUP, so it may name anything: a FIFO (whose `open` blocks until a writer
//! comes, which may be never), `/dev/zero` (endless), a directory. The file is opened
//! with `O_NONBLOCK`, so opening a FIFO returns at once, and its type is checked on the
//! open descriptor (no window between the check and the read). A regular file ignores
//! `O_NONBLOCK`. The read stops one byte past the limit, so a file that grows after the
//! check is still refused without reading it all.

use std::fs::{File, FileType, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use super::error::ModelError;

/// The largest model file accepted, in bytes (256 MiB). A forest at the node limit
/// ([`crate::forest::MAX_NODES`]) takes about 150 MB in the file.
pub const MAX_MODEL_BYTES: u64 = 256 << 20;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum FileProblem {
    /// Opening or reading failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Not a regular file: what it is instead.
    #[error("it is {0}, not a regular file")]
    NotAFile(&'static str),
    /// More bytes than the limit: its size (or the limit plus one when it grew while
    /// being read), and the limit.
    #[error("it has {0} bytes, more than the limit of {1}")]
    TooLarge(u64, u64),
}

/// The bytes of the regular file at `path`, when it has at most `limit` of them.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, FileProblem> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(FileProblem::NotAFile(kind_of(meta.file_type())));
    }
    if meta.len() > limit {
        return Err(FileProblem::TooLarge(meta.len(), limit));
    }
    read_at_most(file, limit)?.ok_or(FileProblem::TooLarge(limit + 1, limit))
}

/// The bytes of the model file at `path`; `shown` names it in messages.
pub fn read_bounded(path: &Path, shown: &str, limit: u64) -> Result<Vec<u8>, ModelError> {
    let path_shown = shown.to_owned();
    read_regular(path, limit).map_err(|problem| match problem {
        FileProblem::Io(source) => ModelError::Unreadable {
            path: path_shown,
            source,
        },
        FileProblem::NotAFile(kind) => ModelError::NotAFile {
            path: path_shown,
            kind,
        },
        FileProblem::TooLarge(size, limit) => ModelError::TooLarge {
            path: path_shown,
            size,
            limit,
        },
    })
}

/// The whole file when it has at most `limit` bytes, else `None`.
fn read_at_most(file: File, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// What a file that is not a regular file is, in words.
fn kind_of(t: FileType) -> &'static str {
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
        read_bounded(path, "m", limit).map_err(|e| e.to_string())
    }

    #[test]
    fn refuses_devices_directories_and_fifos_at_once() {
        let err = read(Path::new("/dev/zero"), MAX_MODEL_BYTES).unwrap_err();
        assert!(
            err.contains("is a character device, not a regular file"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let err = read(dir.path(), MAX_MODEL_BYTES).unwrap_err();
        assert!(err.contains("is a directory"), "{err}");
        // A FIFO with no writer: a blocking open would wait forever.
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success(), "mkfifo failed");
        let err = read(&fifo, MAX_MODEL_BYTES).unwrap_err();
        assert!(err.contains("is a FIFO (named pipe)"), "{err}");
    }

    #[test]
    fn refuses_a_file_beyond_the_limit_and_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.cbor");
        std::fs::write(&path, [7u8; 11]).unwrap();
        assert_eq!(read(&path, 11).unwrap(), vec![7u8; 11]);
        let err = read(&path, 10).unwrap_err();
        assert!(
            err.contains("11 bytes") && err.contains("10 bytes"),
            "{err}"
        );
        // A file that grows after the size check is still cut at the limit.
        let file = File::open(&path).unwrap();
        assert_eq!(read_at_most(file, 10).unwrap(), None);
    }
}
