//! `mlops inspect --html`: the model card as a standalone file.

use crate::support::bin::{fails, mlops, succeeds};
use crate::support::fixture::{HOSTILE_CLASS, hostile_model, trained};
use crate::support::library::model_id;

#[test]
fn inspect_html_writes_the_card_without_script() {
    let fx = trained(&[]);
    let out = fx.dir.path().join("card.html");
    succeeds(
        mlops()
            .arg("inspect")
            .arg(&fx.model)
            .arg("--html")
            .arg(&out),
    );
    let page = std::fs::read_to_string(&out).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains(&model_id(&fx.model)));
    for class in ["setosa", "versicolor", "virginica"] {
        assert!(page.contains(class), "{class}");
    }
    // metrics.json beside the model feeds the table and the heat map.
    assert!(page.contains("id=\"per-class\"") && page.contains("id=\"confusion\""));
    // Standalone: its policy in a meta tag, no script, the form disabled and why.
    assert!(page.contains("http-equiv=\"Content-Security-Policy\""));
    assert!(!page.contains("<script"));
    assert!(page.contains("<fieldset disabled>"));
    assert!(page.contains("the form is disabled"));
    // "-" is stdout, the same page.
    let stdout = succeeds(mlops().arg("inspect").arg(&fx.model).args(["--html", "-"]));
    assert_eq!(stdout, page);
}

#[test]
fn inspect_html_escapes_a_hostile_class_name() {
    let fx = hostile_model();
    let out = fx.dir.path().join("card.html");
    succeeds(
        mlops()
            .arg("inspect")
            .arg(&fx.model)
            .arg("--html")
            .arg(&out),
    );
    let page = std::fs::read_to_string(&out).unwrap();
    assert!(
        !page.contains(HOSTILE_CLASS),
        "the class is markup in the file"
    );
    assert!(!page.contains("<img src=x"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.contains("<script"));
}

#[test]
fn inspect_html_refuses_a_bad_target_and_json_together() {
    let fx = trained(&[]);
    let e = fails(
        mlops()
            .arg("inspect")
            .arg(&fx.model)
            .arg("--html")
            .arg(fx.dir.path()),
        1,
    );
    assert!(e.contains("--html"), "{e}");
    let e = fails(
        mlops()
            .arg("inspect")
            .arg(&fx.model)
            .args(["--html", "x.html", "--json"]),
        2,
    );
    assert!(e.contains("cannot be used with"), "{e}");
}
