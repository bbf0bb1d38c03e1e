//! The bytes under the CSV reader: which files may be read, line numbers that are right
//! for every line ending, and a bound on the length of a row.
//!
//! The csv crate's record positions count `\n` bytes and are taken where the previous
//! record ended, so they are one line low for CRLF files (the `\n` of a CRLF is consumed
//! with the next record), never advance in CR files, and miss skipped blank lines. The
//! [`Source`] under the reader counts lines itself (LF, CRLF and a lone CR each end one)
//! and finds the line where each record's first byte is.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::error::DatasetError;
use super::parse::malformed;

/// The longest row (header included) a CSV may have, in bytes. The CSV reader holds a
/// whole row in memory, so one endless row (`/dev/zero`, a binary file without
/// newlines) would otherwise grow until the allocator aborts the process.
pub const MAX_ROW_BYTES: u64 = 16 << 20;

/// The CSV reader's buffer. The reader holds at most this many bytes that [`Source`]
/// has handed it and it has not parsed yet, which bounds what `Source` must remember
/// about bytes before the next record.
const BUFFER: usize = 64 << 10;

/// Opens a data file for reading, refusing anything that is not a regular file: a
/// directory, a FIFO (whose open would wait for a writer), a device such as `/dev/zero`
/// (endless), a socket. The file is opened without blocking, then checked.
pub fn open(path: &Path) -> Result<File, DatasetError> {
    let unreadable = |source| DatasetError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(unreadable)?;
    let kind = file.metadata().map_err(unreadable)?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    Err(DatasetError::NotAFile {
        path: path.to_path_buf(),
        kind: kind_name(kind),
    })
}

/// What a file that is not a regular file is, in words.
fn kind_name(kind: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// A CSV reader over [`Source`]: records with their true line numbers, rows bounded by
/// [`MAX_ROW_BYTES`], and errors as [`DatasetError`]s naming `path`.
pub struct Records<R> {
    path: PathBuf,
    csv: csv::Reader<Source<R>>,
}

impl<R: Read> Records<R> {
    /// Reads `input` (named `path` in messages). Rows may be ragged, so that the
    /// caller's check and message see them; `trim` trims every cell.
    pub fn new(path: &Path, input: R, trim: bool) -> Self {
        let csv = csv::ReaderBuilder::new()
            .flexible(true)
            .buffer_capacity(BUFFER)
            .trim(if trim {
                csv::Trim::All
            } else {
                csv::Trim::None
            })
            .from_reader(Source::new(input));
        Records {
            path: path.to_path_buf(),
            csv,
        }
    }

    /// The header row.
    pub fn header(&mut self) -> Result<csv::StringRecord, DatasetError> {
        match self.csv.headers() {
            Ok(header) => Ok(header.clone()),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Reads the next record into `record`; false at the end of the file.
    pub fn next(&mut self, record: &mut csv::StringRecord) -> Result<bool, DatasetError> {
        let at = self.csv.position().byte();
        self.csv.get_mut().begin_record(at);
        self.csv.read_record(record).map_err(|e| self.error(e))
    }

    /// The 1-based line where the last record read (or being read) starts.
    pub fn line(&self) -> u64 {
        self.csv.get_ref().record_line()
    }

    /// The input, for whatever it kept (a hash).
    pub fn into_inner(self) -> R {
        self.csv.into_inner().inner
    }

    fn error(&self, e: csv::Error) -> DatasetError {
        let (path, line) = (self.path.clone(), self.line());
        match e.kind() {
            csv::ErrorKind::Io(_) if self.csv.get_ref().over_limit => {
                DatasetError::RowTooLong { path, line }
            }
            csv::ErrorKind::Io(io) => DatasetError::Io {
                path,
                line,
                source: std::io::Error::new(io.kind(), io.to_string()),
            },
            _ => malformed(&self.path, line, &e),
        }
    }
}

/// The reader under the CSV parser: counts lines, remembers where recent lines start,
/// and refuses a row longer than [`MAX_ROW_BYTES`].
struct Source<R> {
    inner: R,
    /// Bytes read so far: the offset of the next byte.
    read: u64,
    /// The line of the next byte.
    line: u64,
    /// Whether the last byte was a line ending (or there was none yet).
    at_line_start: bool,
    /// Whether the last byte was `\r` (so a `\n` now ends no further line).
    after_cr: bool,
    /// Offset and line of each line start (a byte after a line ending that is not one
    /// itself) in the last [`BUFFER`] bytes read.
    recent: VecDeque<(u64, u64)>,
    /// The line of the current record's first byte, or, until it has been read, the
    /// offset where the record's search starts.
    record: Result<u64, u64>,
    /// Where the current record starts, for the row bound (blank lines before it count).
    row_start: u64,
    /// The row bound was hit.
    over_limit: bool,
}

impl<R> Source<R> {
    fn new(inner: R) -> Self {
        Source {
            inner,
            read: 0,
            line: 1,
            at_line_start: true,
            after_cr: false,
            recent: VecDeque::new(),
            record: Err(0),
            row_start: 0,
            over_limit: false,
        }
    }

    /// The CSV reader starts a record at byte `at`: the record's first byte is the
    /// first line start at or after it (the reader skips blank lines).
    fn begin_record(&mut self, at: u64) {
        self.row_start = at;
        while self.recent.front().is_some_and(|&(offset, _)| offset < at) {
            self.recent.pop_front();
        }
        self.record = match self.recent.pop_front() {
            Some((_, line)) => Ok(line),
            None => Err(at),
        };
    }

    /// The line of the current record; the current line while its first byte has not
    /// been read (at the end of the file, or in blank lines).
    fn record_line(&self) -> u64 {
        self.record.unwrap_or(self.line)
    }

    fn line_start(&mut self, offset: u64) {
        match self.record {
            Err(from) if offset >= from => self.record = Ok(self.line),
            _ => self.recent.push_back((offset, self.line)),
        }
    }

    /// Counts the line endings in `bytes`, which start at offset `self.read`.
    fn scan(&mut self, bytes: &[u8]) {
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'\r' => self.line += 1,
                b'\n' if !self.after_cr => self.line += 1,
                b'\n' => {}
                _ if self.at_line_start => self.line_start(self.read + i as u64),
                _ => {}
            }
            self.at_line_start = b == b'\r' || b == b'\n';
            self.after_cr = b == b'\r';
        }
        self.read += bytes.len() as u64;
        let window = BUFFER as u64;
        while self
            .recent
            .front()
            .is_some_and(|&(offset, _)| offset + window < self.read)
        {
            self.recent.pop_front();
        }
    }
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read - self.row_start > MAX_ROW_BYTES {
            self.over_limit = true;
            // The caller's message says which file and line.
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "row too long",
            ));
        }
        let n = self.inner.read(buf)?;
        self.scan(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line of each record of `text`, as [`Records`] reports it.
    fn lines(text: &str) -> Vec<u64> {
        let mut records = Records::new(Path::new("t.csv"), text.as_bytes(), false);
        let mut lines = vec![];
        records.header().unwrap();
        lines.push(records.line());
        let mut record = csv::StringRecord::new();
        while records.next(&mut record).unwrap() {
            lines.push(records.line());
        }
        lines
    }

    #[test]
    fn every_line_ending_counts_one_line() {
        for end in ["\n", "\r\n", "\r"] {
            let text = ["h,y", "1,a", "2,b", "3,c", ""].join(end);
            assert_eq!(lines(&text), [1, 2, 3, 4], "{end:?}");
            // Blank lines are skipped but counted; no final line ending is fine.
            let text = format!("h,y{end}{end}1,a{end}{end}{end}2,b");
            assert_eq!(lines(&text), [1, 3, 6], "{end:?}");
            // A quoted field's line endings count too.
            let text = format!("h,y{end}\"x{end}{end}z\",a{end}2,b{end}");
            assert_eq!(lines(&text), [1, 2, 5], "{end:?}");
        }
    }

    #[test]
    fn lines_are_right_far_beyond_the_buffer() {
        // Records longer than the reader's buffer, and many short ones.
        let long = "7".repeat(3 * BUFFER);
        let mut text = format!("h,y\r\n\"{long}\r\n{long}\",a\r\n");
        for _ in 0..20_000 {
            text.push_str("1,b\r\n");
        }
        let found = lines(&text);
        assert_eq!(found.len(), 20_002);
        assert_eq!(found[..3], [1, 2, 4]);
        assert_eq!(found[20_001], 20_003);
        assert!(found.windows(2).skip(2).all(|w| w[1] == w[0] + 1));
    }

    #[test]
    fn a_row_longer_than_the_bound_is_refused_with_its_line() {
        let mut text = b"h,y\r\n1,a\r\n".to_vec();
        text.resize(text.len() + MAX_ROW_BYTES as usize + 2 * BUFFER, b'7');
        let mut records = Records::new(Path::new("t.csv"), &text[..], false);
        records.header().unwrap();
        let mut record = csv::StringRecord::new();
        assert!(records.next(&mut record).unwrap());
        let e = records.next(&mut record).unwrap_err();
        assert!(matches!(e, DatasetError::RowTooLong { line: 3, .. }), "{e}");
        // A header is a row too.
        let header = vec![b'h'; MAX_ROW_BYTES as usize + 2 * BUFFER];
        let e = Records::new(Path::new("t.csv"), &header[..], false)
            .header()
            .unwrap_err();
        assert!(matches!(e, DatasetError::RowTooLong { line: 1, .. }), "{e}");
    }
}
