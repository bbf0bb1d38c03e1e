//! Crash-safe file writes.
//!
//! A trained model replaces the one a running server may reload at any time, so a
//! reader must only ever see the old file or the complete new one. We write to a
//! temporary file in the same directory (a rename across file systems is not atomic),
//! flush it to disk, rename it over the target, and flush the directory so the rename
//! itself survives a power cut. The temporary file is removed if anything fails.
//!
//! Several files written together (a model and the metrics that name its hash) are
//! renamed while holding an exclusive advisory lock (`flock`) on their directory, so two
//! runs writing into one directory at once cannot interleave their renames: the files
//! there always come from the same run. The lock is taken only for the renames, not
//! while a run trains, and it goes with the process however that ends.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// Atomically replaces each `(path, bytes)`, all of them or, if anything fails while
/// writing, none: every file is written and flushed to its temporary file, and every
/// target checked, before the first rename, so a disk that fills up or a directory in
/// the way of the second file never leaves a new first file beside an old second one.
/// Errors name the file.
pub fn write_all_atomic(files: &[(&Path, &[u8])]) -> io::Result<()> {
    let named = |path: &Path, e: io::Error| {
        io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()))
    };
    let mut staged = Vec::with_capacity(files.len());
    for &(path, bytes) in files {
        let tmp = stage(path, bytes).map_err(|e| named(path, e))?;
        // Renaming a file over a directory fails: find out now, not halfway.
        if fs::metadata(path).is_ok_and(|m| m.is_dir()) {
            return Err(named(
                path,
                io::Error::new(
                    io::ErrorKind::IsADirectory,
                    "a directory has that name; move it away",
                ),
            ));
        }
        staged.push((tmp, path));
    }
    let _locks = lock_dirs(files.iter().map(|&(path, _)| parent(path)))?;
    for (tmp, path) in staged {
        // `persist` renames over the target; on failure the temporary file is dropped
        // and deleted, leaving the previous target untouched.
        tmp.persist(path).map_err(|e| named(path, e.error))?;
        // Make the rename durable. Directories cannot be fsynced on every platform; the
        // rename has happened either way, so a failure here is not worth failing the run.
        if let Ok(d) = File::open(parent(path)) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Exclusive advisory locks on each directory (in a fixed order, so two writers cannot
/// deadlock), held until the returned files are dropped.
fn lock_dirs<'a>(dirs: impl Iterator<Item = &'a Path>) -> io::Result<Vec<File>> {
    let mut dirs: Vec<&Path> = dirs.collect();
    dirs.sort_unstable();
    dirs.dedup();
    dirs.into_iter()
        .map(|dir| {
            let locked = File::open(dir).and_then(|d| fs4::FileExt::lock(&d).map(|()| d));
            locked.map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot lock directory '{}': {e}", dir.display()),
                )
            })
        })
        .collect()
}

/// `path`'s directory, `.` for a bare file name.
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to a flushed temporary file beside `path` (a rename across file
/// systems is not atomic).
fn stage(path: &Path, bytes: &[u8]) -> io::Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".mlops-")
        .suffix(".tmp")
        .permissions(new_file_permissions())
        .tempfile_in(parent(path))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    Ok(tmp)
}

/// 0666, which `open` narrows by the umask, as for `File::create`. (mlops is Unix-only:
/// the server handles Unix signals.)
fn new_file_permissions() -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    fs::Permissions::from_mode(0o666)
}

/// Refuses an output directory that exists as something else (or lies under a file),
/// before any work: training can take minutes, and its result could not be written.
/// A directory that does not exist yet is fine; [`ensure_dir`] creates it when writing.
fn check_dir(dir: &Path) -> io::Result<()> {
    let not_a_dir = || {
        io::Error::new(
            io::ErrorKind::NotADirectory,
            format!(
                "'{}' is not a directory (it, or a directory above it, is a file)",
                dir.display()
            ),
        )
    };
    match fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => Err(not_a_dir()),
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => Err(not_a_dir()),
        _ => Ok(()),
    }
}

/// Makes sure files can be written into `dir` without writing anything there: a
/// temporary file is created and removed in `dir`, or, when `dir` does not exist yet, in
/// the nearest directory above it that does (where `dir` will be created). Run before
/// long work whose result goes there, so an unwritable directory is found in a moment,
/// not after hours, and refused input leaves no directory behind.
pub fn check_writable(dir: &Path) -> io::Result<()> {
    check_dir(dir)?;
    let existing = dir
        .ancestors()
        .map(|a| {
            if a.as_os_str().is_empty() {
                Path::new(".")
            } else {
                a
            }
        })
        .find(|a| a.exists())
        .unwrap_or(Path::new("."));
    tempfile::Builder::new()
        .prefix(".mlops-")
        .suffix(".tmp")
        .tempfile_in(existing)
        .map(drop)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot write files in '{}': {e}", existing.display()),
            )
        })
}

/// Creates `dir` (and parents) if needed, with a message that says what to do on failure.
pub fn ensure_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot create output directory '{}': {e}", dir.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_contents_and_leaves_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f.bin");
        write_all_atomic(&[(&target, b"one")]).unwrap();
        write_all_atomic(&[(&target, b"two")]).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["f.bin"]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f.bin");
        write_all_atomic(&[(&target, b"old")]).unwrap();
        // Renaming a file over a non-empty directory fails: the target stays as it was.
        let blocked = dir.path().join("sub");
        fs::create_dir(&blocked).unwrap();
        fs::write(blocked.join("x"), b"x").unwrap();
        assert!(write_all_atomic(&[(&blocked, b"new")]).is_err());
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
