//! Loading a training or prediction CSV into memory, and refusing bad data early.
//!
//! A dataset is a CSV with a header row: every column but the label is a numeric
//! feature, the label column holds class names. Everything that can be wrong with such a
//! file is reported here, before any training starts and before anything is written, with
//! the file, the 1-based line and column, and what was expected instead. The messages
//! follow the `file:line:column: problem` shape of compilers so editors can jump to them.
//!
//! [`Dataset`] holds a whole training file in memory; [`FeatureReader`] streams a file
//! to predict row by row, matching its header to a model's features by name.

mod error;
mod parse;
mod stream;

pub use error::DatasetError;
pub use stream::{FeatureReader, MAX_ROW_BYTES};

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use parse::{CellValue, check_header, malformed, parse_feature};

use crate::text::{name_list, shown};

/// The largest feature magnitude training accepts: half of `f64::MAX`. The learner puts
/// a split at the midpoint of two neighbouring values, `(a + b) / 2`; above this the sum
/// overflows to infinity and the split sends every row one way, so perfectly separable
/// data (1.7e308 against 1.6e308) trained a forest that learned nothing, silently.
/// Prediction has no such limit: it only compares.
pub const MAX_MAGNITUDE: f64 = f64::MAX / 2.0;

/// A dataset held in memory: features row-major as `f64`, labels as indices into
/// [`Dataset::classes`].
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Where the data came from, for messages.
    pub source: PathBuf,
    /// Feature column names, in file order.
    pub feature_names: Vec<String>,
    /// The label column's name.
    pub label_name: String,
    /// Distinct class names, sorted, so class indices do not depend on row order.
    pub classes: Vec<String>,
    /// `rows × feature_names.len()` values, row after row.
    pub features: Vec<f64>,
    /// One class index per row.
    pub labels: Vec<u32>,
    /// Hex sha256 of the file's bytes: the dataset's identity in model provenance.
    pub sha256: String,
    /// Where the first missing feature value is, if any (missing values are NaN).
    pub first_missing: Option<Location>,
}

/// A cell's place in a file, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: usize,
    /// The column's header name.
    pub name: String,
}

impl Dataset {
    /// Reads and validates a CSV file. `label` picks the label column by name; by
    /// default it is the last column.
    pub fn load(path: &Path, label: Option<&str>) -> Result<Dataset, DatasetError> {
        let unreadable = |source| DatasetError::Unreadable {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(unreadable)?;
        Dataset::from_reader(path, file, label)
    }

    /// Validates CSV bytes that came from `path` (used for messages only).
    pub fn parse(path: &Path, bytes: &[u8], label: Option<&str>) -> Result<Dataset, DatasetError> {
        Dataset::from_reader(path, bytes, label)
    }

    /// Reads a CSV in one pass: the bytes are hashed as they stream by, and the only
    /// copy kept is the numbers and one small id per label (not a `String` per cell).
    fn from_reader(
        path: &Path,
        input: impl Read,
        label: Option<&str>,
    ) -> Result<Self, DatasetError> {
        let mut hashed = Hashed::new(input);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(&mut hashed);
        let header = reader.headers().map_err(|e| read_error(path, e))?.clone();
        let columns: Vec<String> = header.iter().map(str::to_owned).collect();
        if columns.iter().all(String::is_empty) {
            drop(reader);
            let header_error = check_header(path, &columns).err();
            return Err(match header_error {
                Some(e) if !hashed.blank_to_end() => e,
                _ => DatasetError::Empty { path: path.into() },
            });
        }
        check_header(path, &columns)?;
        let layout = Layout::new(path, columns, label)?;
        let rows = layout.read_rows(path, &mut reader)?;
        drop(reader);
        let sha256 = hex::encode(hashed.hasher.finalize());
        layout.finish(path, rows, sha256)
    }

    /// Number of data rows.
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    /// Number of feature columns.
    pub fn width(&self) -> usize {
        self.feature_names.len()
    }

    /// The features of row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        let w = self.width();
        &self.features[i * w..(i + 1) * w]
    }

    /// The same rows with features in the order `features` names them (matched by
    /// name, other columns dropped) and labels as indices into `classes`: a held-out
    /// file read the way a trained model reads its input.
    pub fn aligned_to(
        self,
        features: &[String],
        classes: &[String],
    ) -> Result<Dataset, DatasetError> {
        let positions = stream::match_columns(&self.source, &self.feature_names, features)?;
        let class_map = self
            .classes
            .iter()
            .map(|c| {
                classes
                    .iter()
                    .position(|k| k == c)
                    .map(|k| k as u32)
                    .ok_or_else(|| DatasetError::UnknownClass {
                        path: self.source.clone(),
                        class: shown(c),
                        known: name_list(classes),
                    })
            })
            .collect::<Result<Vec<u32>, _>>()?;
        let width = self.width();
        let features_out = self
            .features
            .chunks_exact(width)
            .flat_map(|row| positions.iter().map(move |&p| row[p]))
            .collect();
        Ok(Dataset {
            feature_names: features.to_vec(),
            classes: classes.to_vec(),
            features: features_out,
            labels: self.labels.iter().map(|&l| class_map[l as usize]).collect(),
            ..self
        })
    }

    /// How many rows each class has, indexed like [`Dataset::classes`].
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }
}

/// A deterministic synthetic dataset for benchmarks and tests: `classes` Gaussian-ish
/// blobs in `width` dimensions whose centres are about half a unit apart, so they overlap and
/// trees have to grow deep (as on real, noisy data). Same arguments, same data, on
/// every platform: ChaCha8's output is fixed by its specification.
pub fn synthetic(rows: usize, width: usize, classes: usize, seed: u64) -> Dataset {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut next_unit = move || rng.random::<f64>();
    let mut features = Vec::with_capacity(rows * width);
    let mut labels = Vec::with_capacity(rows);
    for i in 0..rows {
        let class = i % classes;
        for f in 0..width {
            // Sum of three uniforms: a cheap bell curve around the class centre.
            let noise = next_unit() + next_unit() + next_unit() - 1.5;
            features.push(class as f64 * (0.4 + f as f64 * 0.1) + noise);
        }
        labels.push(class as u32);
    }
    Dataset {
        source: PathBuf::from(format!("synthetic-{rows}x{width}.csv")),
        feature_names: (0..width).map(|f| format!("x{f}")).collect(),
        label_name: "class".to_owned(),
        classes: (0..classes).map(|c| format!("c{c}")).collect(),
        features,
        labels,
        sha256: format!("{seed:064x}"),
        first_missing: None,
    }
}

/// A reader that hashes what passes through it and remembers whether all of it was
/// blank (a file of spaces and newlines is "empty", not "a header of one column").
struct Hashed<R> {
    inner: R,
    hasher: Sha256,
    blank: bool,
}

impl<R: Read> Hashed<R> {
    fn new(inner: R) -> Self {
        Hashed {
            inner,
            hasher: Sha256::new(),
            blank: true,
        }
    }

    /// True when everything read so far and everything left is blank. Stops at the first
    /// byte that is not, so an endless input is not read to its end.
    fn blank_to_end(&mut self) -> bool {
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

/// A read error: the file's own failure (a directory, a vanished disk) is `Unreadable`,
/// anything else is the CSV's fault, with its line.
fn read_error(path: &Path, e: csv::Error) -> DatasetError {
    match e.kind() {
        csv::ErrorKind::Io(io) => DatasetError::Unreadable {
            path: path.to_path_buf(),
            source: std::io::Error::new(io.kind(), io.to_string()),
        },
        _ => malformed(path, &e),
    }
}

/// The header's shape: which column is the label, which are features.
struct Layout {
    columns: Vec<String>,
    label_index: usize,
}

/// What one pass over the rows collects.
struct RawRows {
    features: Vec<f64>,
    labels: Vec<u32>,
    names: Vec<String>,
    first_missing: Option<Location>,
}

impl Layout {
    fn new(path: &Path, columns: Vec<String>, label: Option<&str>) -> Result<Self, DatasetError> {
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
        Ok(Layout {
            columns,
            label_index,
        })
    }

    fn read_rows(
        &self,
        path: &Path,
        reader: &mut csv::Reader<impl Read>,
    ) -> Result<RawRows, DatasetError> {
        let mut rows = RawRows {
            features: Vec::new(),
            labels: Vec::new(),
            names: Vec::new(),
            first_missing: None,
        };
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut record = csv::StringRecord::new();
        while reader
            .read_record(&mut record)
            .map_err(|e| read_error(path, e))?
        {
            let line = record.position().map_or(0, csv::Position::line);
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
                } else {
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

    /// The label's id, in order of first appearance.
    fn label(
        &self,
        path: &Path,
        line: u64,
        cell: &str,
        ids: &mut HashMap<String, u32>,
        names: &mut Vec<String>,
    ) -> Result<u32, DatasetError> {
        if cell.is_empty() {
            return Err(DatasetError::EmptyLabel {
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
    fn finish(self, path: &Path, rows: RawRows, sha256: String) -> Result<Dataset, DatasetError> {
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
        let mut columns = self.columns;
        columns.remove(self.label_index);
        Ok(Dataset {
            source: path.to_path_buf(),
            feature_names: columns,
            label_name,
            classes,
            features: rows.features,
            labels: rows.labels.iter().map(|&id| rank[id as usize]).collect(),
            sha256,
            first_missing: rows.first_missing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse::separator_hint;
    use super::*;

    fn parse(text: &str, label: Option<&str>) -> Result<Dataset, DatasetError> {
        Dataset::parse(Path::new("t.csv"), text.as_bytes(), label)
    }

    #[test]
    fn loads_features_labels_and_sorted_classes() {
        let d = parse("a,b,y\n1,2,zebra\n3,4.5,ant\n-1e3,0,zebra\n", None).unwrap();
        assert_eq!(d.feature_names, ["a", "b"]);
        assert_eq!(d.label_name, "y");
        assert_eq!(d.classes, ["ant", "zebra"]);
        assert_eq!(d.labels, [1, 0, 1]);
        assert_eq!(d.row(1), [3.0, 4.5]);
        assert_eq!(d.row(2), [-1000.0, 0.0]);
        assert_eq!(d.class_counts(), [1, 2]);
        assert_eq!(d.sha256.len(), 64);
    }

    #[test]
    fn label_can_be_any_named_column() {
        let d = parse("y,a,b\nx,1,2\nz,3,4\n", Some("y")).unwrap();
        assert_eq!(d.feature_names, ["a", "b"]);
        assert_eq!(d.row(0), [1.0, 2.0]);
        assert_eq!(d.classes, ["x", "z"]);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse("a,b,y\n1,2,p\n1,x,q\n", None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.csv:3:2: feature 'b' has value 'x'"), "{e}");
        // Missing values are NaN, and the first one's place is kept for messages.
        for missing in ["", "NA", "NaN", "nan", " na "] {
            let d = parse(&format!("a,b,y\n1,2,p\n1,{missing},q\n3,NA,q\n"), None).unwrap();
            assert!(d.row(1)[1].is_nan() && d.row(2)[1].is_nan(), "{missing:?}");
            let at = d.first_missing.unwrap();
            assert_eq!((at.line, at.column, at.name.as_str()), (3, 2, "b"));
        }
        assert_eq!(
            parse("a,b,y\n1,2,p\n3,4,q\n", None).unwrap().first_missing,
            None
        );
        let e = parse("a,b,y\n1,2,p\n1,inf,q\n", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.csv:3:2:"), "{e}");
        let e = parse("a,b,y\n1,2,p\n1,2\n", None).unwrap_err().to_string();
        assert!(e.contains("t.csv:3: expected 3 columns"), "{e}");
        let e = parse("a,b,y\n1,2,p\n1,2,\n", None).unwrap_err().to_string();
        assert!(e.contains("t.csv:3:3: the label 'y' is empty"), "{e}");
    }

    #[test]
    fn refuses_unusable_files() {
        let kind = |text: &str| match parse(text, None) {
            Err(DatasetError::Empty { .. }) => "empty",
            Err(DatasetError::HeaderOnly { .. }) => "header only",
            Err(DatasetError::TooFewClasses { .. }) => "one class",
            Err(DatasetError::BadHeader { .. }) => "bad header",
            other => panic!("unexpected result for {text:?}: {other:?}"),
        };
        assert_eq!(kind(""), "empty");
        assert_eq!(kind(" \n\n"), "empty");
        assert_eq!(kind("a,y\n"), "header only");
        assert_eq!(kind("a,y\n1,p\n2,p\n"), "one class");
        assert_eq!(kind("y\np\n"), "bad header");
        assert_eq!(kind("a,a,y\n1,2,p\n"), "bad header");
        let e = parse("a,y\n1,p\n2,q\n", Some("nope"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no column 'nope'") && e.contains("a, y"), "{e}");
    }

    #[test]
    fn synthetic_data_is_deterministic_and_balanced() {
        let a = synthetic(300, 4, 3, 1);
        assert_eq!(a.features, synthetic(300, 4, 3, 1).features);
        assert_ne!(a.features, synthetic(300, 4, 3, 2).features);
        assert_eq!(a.class_counts(), [100, 100, 100]);
        assert_eq!((a.rows(), a.width()), (300, 4));
    }

    #[test]
    fn refuses_values_whose_midpoints_overflow() {
        let e = parse("a,y\n1.6e308,p\n1,q\n", None).unwrap_err();
        assert!(
            matches!(
                e,
                DatasetError::TooLarge {
                    line: 2,
                    column: 1,
                    ..
                }
            ),
            "{e}"
        );
        let e = parse("a,y\n1,p\n-9e307,q\n", None).unwrap_err();
        assert!(e.to_string().contains("t.csv:3:1:"), "{e}");
        assert!(parse("a,y\n8.9e307,p\n-8.9e307,q\n", None).is_ok());
    }

    #[test]
    fn a_semicolon_or_tab_separated_file_gets_a_hint() {
        let e = parse("a;b;y\n5,1;3;p\n", None).unwrap_err().to_string();
        assert!(e.contains("separated by ';'"), "{e}");
        let e = parse("a\tb\ty\n5.1\t3\tp\n", None).unwrap_err().to_string();
        assert!(e.contains("separated by tabs"), "{e}");
        assert_eq!(separator_hint(&["a", "b;c"]), None);
    }

    #[test]
    fn invalid_utf8_is_a_parse_error_not_a_panic() {
        let e = Dataset::parse(Path::new("t.csv"), b"a,y\n1,\xff\n", None).unwrap_err();
        assert!(matches!(e, DatasetError::Malformed { line: 2, .. }), "{e}");
    }
}
