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

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use parse::{check_header, malformed, parse_feature};

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
}

impl Dataset {
    /// Reads and validates a CSV file. `label` picks the label column by name; by
    /// default it is the last column.
    pub fn load(path: &Path, label: Option<&str>) -> Result<Dataset, DatasetError> {
        let bytes = std::fs::read(path).map_err(|source| DatasetError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        Dataset::parse(path, &bytes, label)
    }

    /// Validates CSV bytes that came from `path` (used for messages only).
    pub fn parse(path: &Path, bytes: &[u8], label: Option<&str>) -> Result<Dataset, DatasetError> {
        let source = path.to_path_buf();
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(DatasetError::Empty { path: source });
        }
        let sha256 = hex::encode(Sha256::digest(bytes));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let header = reader
            .headers()
            .map_err(|e| malformed(&source, &e))?
            .clone();
        let columns: Vec<String> = header.iter().map(str::to_owned).collect();
        check_header(&source, &columns)?;

        let label_index = match label {
            None => columns.len() - 1,
            Some(name) => columns.iter().position(|c| c == name).ok_or_else(|| {
                DatasetError::UnknownLabel {
                    path: source.clone(),
                    label: name.to_owned(),
                    available: name_list(&columns),
                }
            })?,
        };
        let label_name = columns[label_index].clone();
        let feature_names: Vec<String> = columns
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != label_index)
            .map(|(_, c)| c.clone())
            .collect();

        let mut features = Vec::new();
        let mut raw_labels: Vec<String> = Vec::new();
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(malformed(&source, &e)),
            }
            let line = record.position().map_or(0, csv::Position::line);
            if record.len() != columns.len() {
                return Err(DatasetError::Ragged {
                    path: source,
                    line,
                    expected: columns.len(),
                    found: record.len(),
                });
            }
            for (i, cell) in record.iter().enumerate() {
                if i == label_index {
                    if cell.is_empty() {
                        return Err(DatasetError::EmptyLabel {
                            path: source,
                            line,
                            column: i + 1,
                            name: label_name,
                        });
                    }
                    raw_labels.push(cell.to_owned());
                } else {
                    let value = parse_feature(cell).ok_or_else(|| DatasetError::BadFeature {
                        path: source.clone(),
                        line,
                        column: i + 1,
                        name: columns[i].clone(),
                        value: shown(cell),
                    })?;
                    if value.abs() > MAX_MAGNITUDE {
                        return Err(DatasetError::TooLarge {
                            path: source,
                            line,
                            column: i + 1,
                            name: columns[i].clone(),
                            value: shown(cell),
                        });
                    }
                    features.push(value);
                }
            }
        }
        if raw_labels.is_empty() {
            return Err(DatasetError::HeaderOnly { path: source });
        }

        let classes: Vec<String> = raw_labels
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if classes.len() < 2 {
            return Err(DatasetError::TooFewClasses {
                path: source,
                label: label_name,
                count: classes.len(),
                classes: classes.join(", "),
            });
        }
        let labels = raw_labels
            .iter()
            .map(|l| {
                classes
                    .binary_search(l)
                    .expect("every label is in the class set") as u32
            })
            .collect();

        Ok(Dataset {
            source,
            feature_names,
            label_name,
            classes,
            features,
            labels,
            sha256,
        })
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::parse::separator_hint;

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
        let e = parse("a,b,y\n1,2,p\n1,NaN,q\n", None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.csv:3:2:") && e.contains("finite number"),
            "{e}"
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
