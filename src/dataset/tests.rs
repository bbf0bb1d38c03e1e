//! Unit tests of the CSV loader.

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
