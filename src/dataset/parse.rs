//! Cells and headers: the checks shared by loading a whole file and streaming one.

use std::path::Path;

use super::error::DatasetError;

/// Parses one feature cell; `None` for anything that is not a finite number.
pub fn parse_feature(cell: &str) -> Option<f64> {
    cell.trim().parse::<f64>().ok().filter(|v| v.is_finite())
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
