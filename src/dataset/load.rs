//! One pass over a training CSV: hashing, the header's layout, rows and labels.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::DatasetError;
use super::parse::check_header;
use super::parse::{CellValue, parse_feature};
use super::source::Records;
use super::table::{Dataset, Location, MAX_MAGNITUDE};
use crate::text::{name_list, shown};

/// Reads a CSV in one pass: the bytes are hashed as they stream by, and the only
/// copy kept is the numbers and one small id per label (not a `String` per cell).
pub fn read(
    path: &Path,
    input: impl Read,
    label: Option<&str>,
    select: Columns,
) -> Result<Dataset, DatasetError> {
    let mut records = Records::new(path, Hashed::new(input), true);
    let header = records.header()?;
    let columns: Vec<String> = header.iter().map(str::to_owned).collect();
    if columns.iter().all(String::is_empty) {
        let header_error = check_header(path, &columns).err();
        return Err(match header_error {
            Some(e) if !records.into_inner().blank_to_end() => e,
            _ => DatasetError::Empty { path: path.into() },
        });
    }
    check_header(path, &columns)?;
    let layout = Layout::new(path, columns, label, select)?;
    let rows = layout.read_rows(path, &mut records)?;
    let sha256 = hex::encode(records.into_inner().hasher.finalize());
    layout.finish(path, rows, sha256)
}

/// A reader that hashes what passes through it and remembers whether all of it was
/// blank (a file of spaces and newlines is "empty", not "a header of one column").
pub struct Hashed<R> {
    inner: R,
    pub hasher: Sha256,
    blank: bool,
}

impl<R: Read> Hashed<R> {
    pub fn new(inner: R) -> Self {
        Hashed {
            inner,
            hasher: Sha256::new(),
            blank: true,
        }
    }

    /// True when everything read so far and everything left is blank. Stops at the first
    /// byte that is not, so an endless input is not read to its end.
    pub fn blank_to_end(&mut self) -> bool {
        let mut buf = [0u8; 8192];
        while self.blank {
            match self.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        self.blank
    }
}

impl<R: Read> Read for Hashed<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.blank = self.blank && buf[..n].iter().all(u8::is_ascii_whitespace);
        Ok(n)
    }
}

/// Which columns of a CSV are features (the label never is).
#[derive(Debug, Clone, Copy)]
pub enum Columns<'a> {
    /// Every column but these, each of which the header must have: a training file
    /// with `--drop`.
    AllBut(&'a [String]),
    /// Only these, where the header has them: a held-out file read for a model, whose
    /// other columns (an ID, text) are not read.
    Only(&'a [String]),
}

/// The header's shape: which column is the label, which are features.
pub struct Layout {
    columns: Vec<String>,
    label_index: usize,
    /// Per column: read it as a feature.
    is_feature: Vec<bool>,
}

/// What one pass over the rows collects.
pub struct RawRows {
    features: Vec<f64>,
    labels: Vec<u32>,
    names: Vec<String>,
    first_missing: Option<Location>,
}

impl Layout {
    pub fn new(
        path: &Path,
        columns: Vec<String>,
        label: Option<&str>,
        select: Columns,
    ) -> Result<Self, DatasetError> {
        let label_index = match label {
            None => columns.len() - 1,
            Some(name) => columns.iter().position(|c| c == name).ok_or_else(|| {
                DatasetError::UnknownLabel {
                    path: path.to_path_buf(),
                    label: name.to_owned(),
                    available: name_list(&columns),
                }
            })?,
        };
        let is_feature = features(path, &columns, label_index, select)?;
        Ok(Layout {
            columns,
            label_index,
            is_feature,
        })
    }

    pub fn read_rows(
        &self,
        path: &Path,
        records: &mut Records<impl Read>,
    ) -> Result<RawRows, DatasetError> {
        let mut rows = RawRows {
            features: Vec::new(),
            labels: Vec::new(),
            names: Vec::new(),
            first_missing: None,
        };
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut record = csv::StringRecord::new();
        while records.next(&mut record)? {
            let line = records.line();
            if record.len() != self.columns.len() {
                return Err(DatasetError::Ragged {
                    path: path.to_path_buf(),
                    line,
                    expected: self.columns.len(),
                    found: record.len(),
                });
            }
            for (i, cell) in record.iter().enumerate() {
                if i == self.label_index {
                    let label = self.label(path, line, cell, &mut ids, &mut rows.names)?;
                    rows.labels.push(label);
                } else if self.is_feature[i] {
                    let value = self.feature(path, line, i, cell)?;
                    if value.is_nan() && rows.first_missing.is_none() {
                        rows.first_missing = Some(Location {
                            line,
                            column: i + 1,
                            name: self.columns[i].clone(),
                        });
                    }
                    rows.features.push(value);
                }
            }
        }
        Ok(rows)
    }

    /// The label's id, in order of first appearance. A missing value (as a feature's
    /// would be: empty, `NA`, `NaN`) is refused rather than taken for a class.
    fn label(
        &self,
        path: &Path,
        line: u64,
        cell: &str,
        ids: &mut HashMap<String, u32>,
        names: &mut Vec<String>,
    ) -> Result<u32, DatasetError> {
        if parse_feature(cell) == CellValue::Missing {
            return Err(DatasetError::MissingLabel {
                path: path.to_path_buf(),
                line,
                column: self.label_index + 1,
                name: self.columns[self.label_index].clone(),
            });
        }
        if let Some(&id) = ids.get(cell) {
            return Ok(id);
        }
        let id = names.len() as u32;
        ids.insert(cell.to_owned(), id);
        names.push(cell.to_owned());
        Ok(id)
    }

    /// A feature value; NaN for a missing one.
    fn feature(&self, path: &Path, line: u64, i: usize, cell: &str) -> Result<f64, DatasetError> {
        let at = |make: fn(PathBuf, u64, usize, String, String) -> DatasetError| {
            make(
                path.to_path_buf(),
                line,
                i + 1,
                self.columns[i].clone(),
                shown(cell),
            )
        };
        match parse_feature(cell) {
            CellValue::Missing => Ok(f64::NAN),
            CellValue::Invalid => Err(at(|path, line, column, name, value| {
                DatasetError::BadFeature {
                    path,
                    line,
                    column,
                    name,
                    value,
                }
            })),
            CellValue::Value(v) if v.abs() > MAX_MAGNITUDE => {
                Err(at(|path, line, column, name, value| {
                    DatasetError::TooLarge {
                        path,
                        line,
                        column,
                        name,
                        value,
                    }
                }))
            }
            CellValue::Value(v) => Ok(v),
        }
    }

    /// Classes sorted by name, so class indices do not depend on row order.
    pub fn finish(
        self,
        path: &Path,
        rows: RawRows,
        sha256: String,
    ) -> Result<Dataset, DatasetError> {
        let label_name = self.columns[self.label_index].clone();
        if rows.labels.is_empty() {
            return Err(DatasetError::HeaderOnly { path: path.into() });
        }
        if rows.names.len() < 2 {
            return Err(DatasetError::TooFewClasses {
                path: path.into(),
                label: label_name,
                count: rows.names.len(),
                classes: rows.names.join(", "),
            });
        }
        let mut order: Vec<u32> = (0..rows.names.len() as u32).collect();
        order.sort_by(|&a, &b| rows.names[a as usize].cmp(&rows.names[b as usize]));
        let mut rank = vec![0u32; order.len()];
        for (sorted, &id) in order.iter().enumerate() {
            rank[id as usize] = sorted as u32;
        }
        let classes = order
            .iter()
            .map(|&id| rows.names[id as usize].clone())
            .collect();
        let feature_names = (self.columns.into_iter().zip(self.is_feature))
            .filter_map(|(name, feature)| feature.then_some(name))
            .collect();
        Ok(Dataset {
            source: path.to_path_buf(),
            feature_names,
            label_name,
            classes,
            features: rows.features,
            labels: rows.labels.iter().map(|&id| rank[id as usize]).collect(),
            sha256,
            first_missing: rows.first_missing,
        })
    }
}

/// Which columns are features: all but the label and the dropped ones, or only the
/// named ones. Refuses dropping a column the header lacks, or the label, or every
/// feature.
fn features(
    path: &Path,
    columns: &[String],
    label_index: usize,
    select: Columns,
) -> Result<Vec<bool>, DatasetError> {
    let bad = |problem: String| DatasetError::BadDrop {
        path: path.to_path_buf(),
        problem,
    };
    let names =
        |list: &[String]| -> HashSet<String> { list.iter().map(|n| n.trim().to_owned()).collect() };
    let mut feature: Vec<bool> = match select {
        Columns::Only(only) => {
            let only = names(only);
            columns.iter().map(|c| only.contains(c)).collect()
        }
        Columns::AllBut(drop) => {
            let drop = names(drop);
            let present: HashSet<&String> = columns.iter().collect();
            if let Some(absent) = drop.iter().find(|d| !present.contains(d)) {
                return Err(bad(format!(
                    "there is no column '{}' to drop; the header has: {}",
                    shown(absent),
                    name_list(columns)
                )));
            }
            if drop.contains(&columns[label_index]) {
                return Err(bad(format!(
                    "column '{}' is the label; it cannot be dropped",
                    shown(&columns[label_index])
                )));
            }
            columns.iter().map(|c| !drop.contains(c)).collect()
        }
    };
    feature[label_index] = false;
    if matches!(select, Columns::AllBut(_)) && !feature.contains(&true) {
        return Err(bad(
            "every column but the label is dropped; keep at least one feature".into(),
        ));
    }
    Ok(feature)
}
