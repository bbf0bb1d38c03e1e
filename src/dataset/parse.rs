//! Cells and headers: the checks shared by loading a whole file and streaming one.

use std::collections::HashMap;
use std::path::Path;

use super::error::DatasetError;
use crate::text::shown;

/// What a feature cell holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CellValue {
    /// A finite number.
    Value(f64),
    /// A missing value: an empty cell, `NA` or `NaN` (any case), as pandas reads them.
    Missing,
    /// Anything else, infinity included.
    Invalid,
}

/// Parses one feature cell.
pub fn parse_feature(cell: &str) -> CellValue {
    let cell = cell.trim();
    if cell.is_empty() || cell.eq_ignore_ascii_case("na") || cell.eq_ignore_ascii_case("nan") {
        return CellValue::Missing;
    }
    match cell.parse::<f64>() {
        Ok(v) if v.is_finite() => CellValue::Value(v),
        _ => CellValue::Invalid,
    }
}

/// A hint for a header that is one cell because the file is not comma-separated: a
/// spreadsheet in a European locale saves `a;b;y` with decimal commas, others save tabs.
pub fn separator_hint<S: AsRef<str>>(header: &[S]) -> Option<String> {
    let [only] = header else { return None };
    let (name, _) = [("';'", ';'), ("tabs", '\t')]
        .into_iter()
        .find(|(_, sep)| only.as_ref().contains(*sep))?;
    Some(format!(
        "; the file seems to be separated by {name}: save it as CSV with commas (and decimal points)"
    ))
}

/// The most columns a CSV may have. Far more than any table of features a forest is
/// grown on; a wider header is almost surely not such a table (a line of a binary file,
/// a transposed table), and each column costs memory in every row and in the model.
pub const MAX_COLUMNS: usize = 100_000;

/// Refuses a header wider than [`MAX_COLUMNS`].
pub fn check_width(path: &Path, columns: usize) -> Result<(), DatasetError> {
    if columns <= MAX_COLUMNS {
        return Ok(());
    }
    Err(DatasetError::BadHeader {
        path: path.to_path_buf(),
        column: MAX_COLUMNS + 1,
        problem: format!(
            "the header has {columns} columns; at most {MAX_COLUMNS} are supported (is the table transposed, or not a CSV file?)"
        ),
    })
}

/// Checks a training file's header: at least two columns, at most [`MAX_COLUMNS`],
/// every name given and unique. Linear in the number of columns.
pub fn check_header(path: &Path, columns: &[String]) -> Result<(), DatasetError> {
    let bad = |column: usize, problem: String| DatasetError::BadHeader {
        path: path.to_path_buf(),
        column,
        problem,
    };
    if columns.len() < 2 {
        return Err(bad(
            1,
            format!(
                "the header has {} column; expected at least one feature column and a label column{}",
                columns.len(),
                separator_hint(columns).unwrap_or_default()
            ),
        ));
    }
    check_width(path, columns.len())?;
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(columns.len());
    for (i, name) in columns.iter().enumerate() {
        if name.is_empty() {
            return Err(bad(
                i + 1,
                "a column has no name; every header cell needs one".into(),
            ));
        }
        if let Some(first) = seen.insert(name, i) {
            return Err(bad(
                i + 1,
                format!(
                    "column name '{}' appears twice (columns {} and {}); names must be unique",
                    shown(name),
                    first + 1,
                    i + 1
                ),
            ));
        }
    }
    Ok(())
}

/// The CSV reader's error as a [`DatasetError::Malformed`] at `line`; shared with
/// `mlops predict`, which reads CSV the same way and owes the same messages.
pub fn malformed(path: &Path, line: u64, e: &csv::Error) -> DatasetError {
    let problem = match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => {
            format!(
                "field {} is not valid UTF-8; save the file as UTF-8",
                err.field() + 1
            )
        }
        _ => e.to_string(),
    };
    DatasetError::Malformed {
        path: path.to_path_buf(),
        line,
        problem,
    }
}
