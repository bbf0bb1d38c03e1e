//! Streaming a CSV to predict, row by row, with memory that stays flat whatever the input.
//!
//! Columns are matched to a model's features by name, so their order may differ from
//! training and other columns (an id, the label) are carried along untouched.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::error::DatasetError;
use super::parse::{CellValue, check_width, parse_feature, separator_hint};
use super::source::{self, Records};
use crate::text::{name_list, shown};

/// Reads a CSV's rows as feature vectors in a model's feature order.
pub struct FeatureReader<R> {
    path: PathBuf,
    records: Records<R>,
    header: csv::StringRecord,
    positions: Vec<usize>,
    record: csv::StringRecord,
    row: Vec<f64>,
    missing_allowed: bool,
}

impl FeatureReader<File> {
    /// Opens `path` (a regular file) and matches its header to `features`.
    pub fn open(path: &Path, features: &[String]) -> Result<Self, DatasetError> {
        FeatureReader::new(path, source::open(path)?, features)
    }
}

impl<R: Read> FeatureReader<R> {
    /// Reads the header from `input` (named `path` in messages) and matches it to
    /// `features`: each must be exactly one column.
    pub fn new(path: &Path, input: R, features: &[String]) -> Result<Self, DatasetError> {
        // Untrimmed, so that other columns pass through as they were (an id "  007"
        // stays so); header names and feature cells are trimmed where they are read.
        let mut records = Records::new(path, input, false);
        let header = records.header()?;
        check_width(path, header.len())?;
        let names: Vec<&str> = header.iter().collect();
        let positions = match_columns(path, &names, features)?;
        Ok(FeatureReader {
            path: path.to_path_buf(),
            records,
            header,
            positions,
            record: csv::StringRecord::new(),
            row: vec![0.0; features.len()],
            missing_allowed: true,
        })
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
        match self.records.next(&mut self.record) {
            Ok(false) => None,
            Ok(true) => Some(self.parse_record().map(|()| (&self.record, &self.row[..]))),
            Err(e) => Some(Err(e)),
        }
    }

    fn parse_record(&mut self) -> Result<(), DatasetError> {
        let line = self.records.line();
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
}

/// Where each feature is in `header`; refuses a feature that is absent or appears twice.
pub(super) fn match_columns<H: AsRef<str>>(
    path: &Path,
    header: &[H],
    features: &[String],
) -> Result<Vec<usize>, DatasetError> {
    // Each name's first two columns, in one pass: linear in the header's width.
    let mut at: HashMap<&str, (usize, Option<usize>)> = HashMap::with_capacity(header.len());
    for (p, h) in header.iter().enumerate() {
        at.entry(h.as_ref().trim())
            .and_modify(|(_, second)| *second = second.or(Some(p)))
            .or_insert((p, None));
    }
    let mut positions = Vec::with_capacity(features.len());
    let mut missing = Vec::new();
    for f in features {
        match at.get(f.as_str()) {
            Some(&(p, None)) => positions.push(p),
            // Which of the two would be read? Refuse rather than guess.
            Some(&(first, Some(second))) => {
                return Err(DatasetError::BadHeader {
                    path: path.to_path_buf(),
                    column: second + 1,
                    problem: format!(
                        "column '{}' appears twice (columns {} and {}); the model reads one column per feature: rename or remove one",
                        shown(f),
                        first + 1,
                        second + 1
                    ),
                });
            }
            None => missing.push(f.as_str()),
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
