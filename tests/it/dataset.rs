//! Property tests: whatever bytes a CSV holds, loading it returns a value or an error,
//! never a panic; and a valid dataset always loads with the shape it was written with.

use proptest::prelude::*;

use crate::support::library::parse_csv;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_csv(&bytes, None);
    }

    #[test]
    fn csv_like_text_never_panics(
        text in "[a-c0-9,.\\-eEnaIif \"\n]{0,300}",
        label in proptest::option::of("[a-c]"),
    ) {
        if let Ok(d) = parse_csv(text.as_bytes(), label.as_deref()) {
            // Whatever loads is consistent.
            prop_assert_eq!(d.features.len(), d.rows * d.width);
            prop_assert!(d.classes.len() >= 2);
            // An empty cell, `NA` or `NaN` is a missing value (NaN); infinity never loads.
            prop_assert!(d.features.iter().all(|v| !v.is_infinite()));
            prop_assert!(d.labels.iter().all(|&l| (l as usize) < d.classes.len()));
        }
    }

    #[test]
    fn valid_tables_load_with_their_shape(
        rows in proptest::collection::vec(
            (proptest::collection::vec(-1e6f64..1e6, 3), 0u8..3), 2..60),
    ) {
        let mut text = String::from("x0,x1,x2,label\n");
        for (values, class) in &rows {
            text.push_str(&format!("{},{},{},c{class}\n", values[0], values[1], values[2]));
        }
        let distinct: std::collections::BTreeSet<_> = rows.iter().map(|r| r.1).collect();
        match parse_csv(text.as_bytes(), None) {
            Ok(d) => {
                prop_assert_eq!(d.rows, rows.len());
                prop_assert_eq!(d.width, 3);
                prop_assert_eq!(d.classes.len(), distinct.len());
                for (i, (values, _)) in rows.iter().enumerate() {
                    prop_assert_eq!(d.row(i), &values[..]);
                }
            }
            Err(e) => prop_assert!(distinct.len() < 2, "unexpected error: {}", e),
        }
    }
}
