//! Unit tests of the card: hostile names stay text, the sections and figures are there,
//! the policy allows exactly the inline style and script.

use std::path::Path;

use super::*;
use crate::dataset::Dataset;
use crate::params::TrainParams;
use crate::training::{Source, Trained, train};

/// A class name, a feature name and a model name that are markup.
const HOSTILE_CLASS: &str = "<script>alert(1)</script>";
const HOSTILE_FEATURE: &str = "x\"><img src=x onerror=alert(2)>";
const HOSTILE_NAME: &str = "<b>m&m</b>";

/// A small model with hostile names, trained in memory.
fn hostile() -> Trained {
    let mut csv = format!("\"{}\",y,label\n", HOSTILE_FEATURE.replace('"', "\"\""));
    for i in 0..40 {
        let class = if i % 2 == 0 { HOSTILE_CLASS } else { "plain" };
        csv.push_str(&format!("{},{},{class}\n", i % 2, i));
    }
    let data = Dataset::parse(Path::new("evil<>.csv"), csv.as_bytes(), None).unwrap();
    let params = TrainParams {
        trees: 5,
        ..TrainParams::default()
    }
    .check(data.width())
    .unwrap();
    train(Source::split(&data), &params, HOSTILE_NAME, None, &|_| {}).unwrap()
}

/// The page with every `<style>` and `<script>` element's content removed, and whether
/// it has any other markup of the hostile names.
fn assert_only_text(page: &str) {
    for needle in [
        "<script>alert",
        "<img",
        "<b>m&m",
        "onerror=alert(2)>",
        "\"><img",
    ] {
        assert!(!page.contains(needle), "{needle} is markup in the page");
    }
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("&lt;b&gt;m&amp;m&lt;/b&gt;"));
    assert!(page.contains("x&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
}

#[test]
fn hostile_names_render_as_text_served_and_standalone() {
    let t = hostile();
    let input = CardInput {
        model: &t.model,
        report: Some(&t.report),
    };
    for mode in [Mode::Served, Mode::Standalone] {
        let page = render(input, mode);
        assert_only_text(&page);
        // One script element at most: the card's own.
        let scripts = page.matches("<script").count();
        assert_eq!(scripts, usize::from(mode == Mode::Served), "{mode:?}");
    }
}

#[test]
fn the_card_has_its_sections_and_figures() {
    let t = hostile();
    let input = CardInput {
        model: &t.model,
        report: Some(&t.report),
    };
    let page = render(input, Mode::Served);
    for id in [
        "id=\"identity\"",
        "id=\"data\"",
        "id=\"quality\"",
        "id=\"per-class\"",
        "id=\"confusion\"",
        "id=\"importances\"",
        "id=\"try\"",
        "data-endpoint=\"predict\"",
    ] {
        assert!(page.contains(id), "{id} missing");
    }
    assert!(page.contains(&t.model.id));
    // Two classes: a 2 x 2 heat map, and one bar per feature.
    let confusion = &page[page.find("id=\"confusion\"").unwrap()..];
    let confusion = &confusion[..confusion.find("</figure>").unwrap()];
    assert_eq!(confusion.matches("<rect").count(), 4);
    let bars = &page[page.find("id=\"importances\"").unwrap()..];
    let bars = &bars[..bars.find("</figure>").unwrap()];
    assert_eq!(bars.matches("<rect").count(), 2);
    // The golden row prefills the fields.
    let golden = &t.model.golden()[0];
    assert!(page.contains(&format!("value=\"{}\"", golden.features[0])));
}

#[test]
fn without_a_report_the_card_says_what_is_missing() {
    let t = hostile();
    let page = render(
        CardInput {
            model: &t.model,
            report: None,
        },
        Mode::Standalone,
    );
    assert!(page.contains("there is none for this model"));
    assert!(!page.contains("id=\"per-class\""));
    assert!(page.contains("disabled"));
    assert!(page.contains("Content-Security-Policy"));
}

#[test]
fn the_policy_names_exactly_the_inline_style_and_script() {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let hash =
        |s: &str| base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s.as_bytes()));
    let t = hostile();
    let page = render(
        CardInput {
            model: &t.model,
            report: None,
        },
        Mode::Served,
    );
    let between = |open: &str, close: &str| {
        let start = page.find(open).unwrap() + open.len();
        let end = start + page[start..].find(close).unwrap();
        page[start..end].to_owned()
    };
    let policy = served_policy();
    assert!(policy.contains(&format!(
        "style-src 'sha256-{}'",
        hash(&between("<style>", "</style>"))
    )));
    assert!(policy.contains(&format!(
        "script-src 'sha256-{}'",
        hash(&between("<script>", "</script>"))
    )));
    assert!(policy.starts_with("default-src 'none'"));
}

#[test]
fn long_labels_are_clipped_by_characters() {
    assert_eq!(clipped("short", 16), "short");
    assert_eq!(clipped("ééééé", 3), "ééé…");
}
