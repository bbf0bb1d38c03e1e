//! Unit tests of the CSV loader.

use super::parse::separator_hint;
use super::table::ID_MIN_ROWS;
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
    for missing in ["", "NA", " nan "] {
        let e = parse(&format!("a,b,y\n1,2,p\n1,2,{missing}\n"), None)
            .unwrap_err()
            .to_string();
        let expected = "t.csv:3:3: the label 'y' is missing (an empty cell, NA or NaN)";
        assert!(
            e.contains(expected) && e.contains("fill it in or remove"),
            "{e}"
        );
    }
}

#[test]
fn lines_are_right_for_every_line_ending() {
    for end in ["\n", "\r\n", "\r"] {
        let lines = ["a,b,y", "1,2,p", "3,4,\"two", "lines\"", "", "5,x,q"];
        let e = parse(&lines.join(end), None).unwrap_err().to_string();
        assert!(e.starts_with("t.csv:6:2: feature 'b'"), "{end:?}: {e}");
        let lines = ["a,b,y", "1,2,p", "", "3,NA,q", "5,6,q"];
        let d = parse(&lines.join(end), None).unwrap();
        assert_eq!(d.first_missing.unwrap().line, 4, "{end:?}");
    }
}

#[test]
fn dropped_columns_are_not_read() {
    let text = "id,a,note,y\nx-1,1,hello,p\nx-2,2,world,q\n";
    let drop = ["id".to_owned(), " note".to_owned()];
    let d = load::read(
        Path::new("t.csv"),
        text.as_bytes(),
        None,
        Columns::AllBut(&drop),
    );
    let d = d.unwrap();
    assert_eq!(d.feature_names, ["a"]);
    assert_eq!(d.features, [1.0, 2.0]);
    // Without --drop, the text is refused as a feature.
    assert!(matches!(
        parse(text, None),
        Err(DatasetError::BadFeature { .. })
    ));
    let refused = |drop: &[&str]| {
        let drop: Vec<String> = drop.iter().map(|d| d.to_string()).collect();
        load::read(
            Path::new("t.csv"),
            text.as_bytes(),
            None,
            Columns::AllBut(&drop),
        )
        .unwrap_err()
        .to_string()
    };
    let e = refused(&["id", "nope"]);
    assert!(
        e.contains("t.csv:1: there is no column 'nope' to drop; the header has: id, a, note, y"),
        "{e}"
    );
    let e = refused(&["id", "note", "y"]);
    assert!(
        e.contains("column 'y' is the label; it cannot be dropped"),
        "{e}"
    );
    let e = refused(&["id", "note", "a"]);
    assert!(e.contains("every column but the label is dropped"), "{e}");
    // A held-out file is read for a model's features only, wherever they are.
    let only = ["a".to_owned()];
    let d = load::read(
        Path::new("t.csv"),
        text.as_bytes(),
        None,
        Columns::Only(&only),
    );
    assert_eq!(d.unwrap().feature_names, ["a"]);
}

#[test]
fn columns_of_distinct_whole_numbers_look_like_ids() {
    let table = |rows: usize, id: &dyn Fn(usize) -> String| {
        let mut text = String::from("id,x,y\n");
        for i in 0..rows {
            text.push_str(&format!("{},{},{}\n", id(i), i % 3, ["p", "q"][i % 2]));
        }
        parse(&text, None).unwrap()
    };
    let d = table(30, &|i| (1000 - 7 * i).to_string());
    assert_eq!(d.id_like_columns(), ["id"]);
    // Too few rows to tell, a repeat, a fraction or a missing value: not an ID.
    assert!(
        table(ID_MIN_ROWS - 1, &|i| i.to_string())
            .id_like_columns()
            .is_empty()
    );
    assert!(
        table(30, &|i| (i.min(28)).to_string())
            .id_like_columns()
            .is_empty()
    );
    assert!(
        table(30, &|i| format!("{i}.5"))
            .id_like_columns()
            .is_empty()
    );
    assert!(
        table(30, &|i| if i == 9 { "NA".into() } else { i.to_string() })
            .id_like_columns()
            .is_empty()
    );
}

#[test]
fn the_header_check_refuses_absurd_widths() {
    let names: Vec<String> = (0..=MAX_COLUMNS).map(|i| format!("c{i}")).collect();
    let e = parse(&format!("{}\n", names.join(",")), None).unwrap_err();
    assert!(
        matches!(e, DatasetError::BadHeader { column, .. } if column == MAX_COLUMNS + 1),
        "{e}"
    );
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
