//! Streaming a CSV to predict, row by row, with memory that stays flat whatever the input.
//!
//! Columns are matched to a model's features by name, so their order may differ from
//! training and other columns (an id, the label) are carried along untouched.

use std::cell::Cell;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::error::DatasetError;
use super::parse::{CellValue, malformed, parse_feature, separator_hint};
use crate::text::{name_list, shown};

/// The longest row a streamed CSV may have, in bytes.
pub const MAX_ROW_BYTES: u64 = 16 << 20;

/// A CSV source that refuses a row longer than [`MAX_ROW_BYTES`]. The CSV reader holds a
/// whole row in memory, so one endless row (`/dev/zero`, a binary file without newlines)
/// would grow until the allocator aborts the process. The reader that owns this records,
/// after each row, the byte offset at which the next row starts.
struct RowLimit<R> {
    inner: R,
    read: u64,
    row_start: Rc<Cell<u64>>,
}

impl<R: Read> Read for RowLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read - self.row_start.get() > MAX_ROW_BYTES {
            // The caller adds the file and the line.
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "a row is longer than {} MiB; is this a CSV file?",
                    MAX_ROW_BYTES >> 20
                ),
            ));
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// Reads a CSV's rows as feature vectors in a model's feature order.
pub struct FeatureReader<R> {
    path: PathBuf,
    reader: csv::Reader<RowLimit<R>>,
    row_start: Rc<Cell<u64>>,
    header: csv::StringRecord,
    positions: Vec<usize>,
    record: csv::StringRecord,
    row: Vec<f64>,
    missing_allowed: bool,
}

impl FeatureReader<File> {
    /// Opens `path` and matches its header to `features`.
    pub fn open(path: &Path, features: &[String]) -> Result<Self, DatasetError> {
        let file = File::open(path).map_err(|source| DatasetError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        FeatureReader::new(path, file, features)
    }
}

impl<R: Read> FeatureReader<R> {
    /// Reads the header from `input` (named `path` in messages) and matches it to
    /// `features`: each must be exactly one column.
    pub fn new(path: &Path, input: R, features: &[String]) -> Result<Self, DatasetError> {
        let row_start = Rc::new(Cell::new(0));
        let limited = RowLimit {
            inner: input,
            read: 0,
            row_start: Rc::clone(&row_start),
        };
        // Flexible, so that a ragged row reaches `next_row`'s check and its message.
        // Untrimmed, so that other columns pass through as they were (an id "  007"
        // stays so); header names and feature cells are trimmed where they are read.
        let reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(limited);
        let mut this = FeatureReader {
            path: path.to_path_buf(),
            reader,
            row_start,
            header: csv::StringRecord::new(),
            positions: Vec::with_capacity(features.len()),
            record: csv::StringRecord::new(),
            row: vec![0.0; features.len()],
            missing_allowed: true,
        };
        this.header = match this.reader.headers() {
            Ok(header) => header.clone(),
            Err(e) => return Err(this.failed(e, 1)),
        };
        this.row_start.set(this.reader.position().byte());
        let names: Vec<&str> = this.header.iter().collect();
        this.positions = match_columns(path, &names, features)?;
        Ok(this)
    }

    /// Refuses missing values (for a model whose learner cannot route them) instead of
    /// reading them as NaN.
    pub fn refuse_missing(mut self) -> Self {
        self.missing_allowed = false;
        self
    }

    /// The file's header row, as written.
    pub fn header(&self) -> &csv::StringRecord {
        &self.header
    }

    /// The next row: its cells as written, and its features in the model's order.
    /// `None` at the end of the file.
    pub fn next_row(&mut self) -> Option<Result<(&csv::StringRecord, &[f64]), DatasetError>> {
        match self.reader.read_record(&mut self.record) {
            Ok(false) => return None,
            Ok(true) => {}
            Err(e) => {
                let line = self.reader.position().line();
                return Some(Err(self.failed(e, line)));
            }
        }
        self.row_start.set(self.reader.position().byte());
        Some(self.parse_record().map(|()| (&self.record, &self.row[..])))
    }

    fn parse_record(&mut self) -> Result<(), DatasetError> {
        let line = self.record.position().map_or(0, csv::Position::line);
        if self.record.len() != self.header.len() {
            return Err(DatasetError::Ragged {
                path: self.path.clone(),
                line,
                expected: self.header.len(),
                found: self.record.len(),
            });
        }
        for (slot, &p) in self.row.iter_mut().zip(&self.positions) {
            let cell = &self.record[p];
            let (path, column, name) = (self.path.clone(), p + 1, self.header[p].trim().into());
            *slot = match parse_feature(cell) {
                CellValue::Value(v) => v,
                CellValue::Missing if self.missing_allowed => f64::NAN,
                CellValue::Missing => {
                    let e = DatasetError::MissingNotAllowed {
                        path,
                        line,
                        column,
                        name,
                    };
                    return Err(e);
                }
                CellValue::Invalid => {
                    let value = shown(cell);
                    let e = DatasetError::BadFeature {
                        path,
                        line,
                        column,
                        name,
                        value,
                    };
                    return Err(e);
                }
            };
        }
        Ok(())
    }

    /// A read error as a [`DatasetError`]. An I/O error has no position of its own: it
    /// happened in the row after the last one read, which starts at `line`.
    fn failed(&self, e: csv::Error, line: u64) -> DatasetError {
        match e.kind() {
            csv::ErrorKind::Io(io) => DatasetError::Io {
                path: self.path.clone(),
                line,
                source: std::io::Error::new(io.kind(), io.to_string()),
            },
            _ => malformed(&self.path, &e),
        }
    }
}

/// Where each feature is in `header`; refuses a feature that is absent or appears twice.
pub(super) fn match_columns<H: AsRef<str>>(
    path: &Path,
    header: &[H],
    features: &[String],
) -> Result<Vec<usize>, DatasetError> {
    let mut positions = Vec::with_capacity(features.len());
    let mut missing = Vec::new();
    for f in features {
        let mut found = header
            .iter()
            .enumerate()
            .filter(|(_, h)| h.as_ref().trim() == f);
        match (found.next(), found.next()) {
            (Some((p, _)), None) => positions.push(p),
            // Which of the two would be read? Refuse rather than guess.
            (Some((first, _)), Some((second, _))) => {
                return Err(DatasetError::BadHeader {
                    path: path.to_path_buf(),
                    column: second + 1,
                    problem: format!(
                        "column '{f}' appears twice (columns {} and {}); the model reads one column per feature: rename or remove one",
                        first + 1,
                        second + 1
                    ),
                });
            }
            (None, _) => missing.push(f.as_str()),
        }
    }
    if missing.is_empty() {
        return Ok(positions);
    }
    Err(DatasetError::MissingFeatures {
        path: path.to_path_buf(),
        missing: name_list(&missing),
        needed: name_list(features),
        hint: separator_hint(header).unwrap_or_default(),
    })
}
