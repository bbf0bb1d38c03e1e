//! Cells and headers: the checks shared by loading a whole file and streaming one.

use std::path::Path;

use super::error::DatasetError;

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
    for (i, name) in columns.iter().enumerate() {
        if name.is_empty() {
            return Err(bad(
                i + 1,
                "a column has no name; every header cell needs one".into(),
            ));
        }
        if let Some(first) = columns[..i].iter().position(|c| c == name) {
            return Err(bad(
                i + 1,
                format!(
                    "column name '{name}' appears twice (columns {} and {}); names must be unique",
                    first + 1,
                    i + 1
                ),
            ));
        }
    }
    Ok(())
}

/// The CSV reader's error as a [`DatasetError::Malformed`] with its line; shared with
/// `mlops predict`, which reads CSV the same way and owes the same messages.
pub fn malformed(path: &Path, e: &csv::Error) -> DatasetError {
    let line = e.position().map_or(1, csv::Position::line);
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
