//! Why a model file cannot be used; every message says what to do about it.

/// Why a model file cannot be used. Every message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file is missing or unreadable.
    #[error(
        "cannot read model file '{path}': {source}; run `mlops train` first, or give the path of an existing model file"
    )]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    /// A FIFO, a device, a directory: anything but a regular file.
    #[error(
        "'{path}' is {kind}, not a regular file; give the path of a model file written by `mlops train`"
    )]
    NotAFile {
        path: String,
        /// What it is instead.
        kind: &'static str,
    },
    /// Larger than a model file may be.
    #[error(
        "'{path}' has {size} bytes, more than the {limit} bytes a model file may have; train a smaller model (fewer trees, --max-depth or --min-samples-leaf), or check the path"
    )]
    TooLarge {
        path: String,
        /// Its size, or the limit plus one when it grew while being read.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Not CBOR, or not our envelope.
    #[error("'{path}' is not an mlops model file ({reason}); use a file written by `mlops train`")]
    NotAModel {
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// A format version this build cannot read.
    #[error(
        "'{path}' has model format version {found}, but this mlops reads versions 1 to {newest}; retrain it with this version (`mlops train`) or use the mlops that wrote it"
    )]
    UnsupportedVersion {
        path: String,
        found: u32,
        /// The newest version this build reads.
        newest: u32,
    },
    /// The body does not match its checksum.
    #[error("'{path}' is corrupt: {reason}; retrain with `mlops train` or restore the file")]
    Corrupt {
        path: String,
        /// What failed.
        reason: String,
    },
}

/// ciborium's error in words. Its `Display` is its `Debug` (`Io(Error { kind:
/// UnexpectedEof, .. })`, `Syntax(41)`), which tells a user nothing; the common case, a
/// copy cut short, deserves to be named.
pub fn cbor_problem(e: &ciborium::de::Error<std::io::Error>) -> String {
    use ciborium::de::Error;
    match e {
        Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "it ends in the middle of the data (truncated?)".to_owned()
        }
        Error::Io(io) => io.to_string(),
        Error::Syntax(offset) => format!("invalid CBOR at byte {offset}"),
        Error::Semantic(Some(offset), what) => format!("{what} (at byte {offset})"),
        Error::Semantic(None, what) => what.clone(),
        Error::RecursionLimitExceeded => "it is nested too deeply".to_owned(),
    }
}
