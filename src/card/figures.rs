//! The card's figures as inline SVG: the confusion matrix as a heat map and the feature
//! importances as a bar chart. Sizes and colours are attributes (the page's policy
//! refuses `style` attributes); every cell and bar has a `<title>` with the full names
//! and numbers, which browsers show on hover and screen readers read.

use maud::{Markup, html};

use super::input::clipped;
use crate::metrics::{ConfusionMatrix, ranked_importances};

/// Characters of a class or feature name shown in a figure's labels.
const LABEL_CHARS: usize = 16;
/// Width of the label column, in pixels.
const LABEL_WIDTH: usize = 130;
/// Bars drawn at most; the rest are counted in a note.
const MAX_BARS: usize = 20;

/// A colour from light (0) to the accent blue (1).
fn shade(fraction: f64) -> String {
    let f = fraction.clamp(0.0, 1.0);
    let mix = |from: f64, to: f64| (from + (to - from) * f).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(240.0, 31.0),
        mix(243.0, 111.0),
        mix(247.0, 235.0)
    )
}

/// The confusion matrix: a row per actual class, a column per predicted class, each
/// cell shaded by its share of the row (so the diagonal is recall).
pub fn confusion(cm: &ConfusionMatrix) -> Markup {
    let n = cm.classes.len().max(1);
    let cell = (480 / n).clamp(14, 56);
    let top = 96;
    let (width, height) = (LABEL_WIDTH + cell * n + 8, top + cell * n + 24);
    let row_total = |row: &[u64]| row.iter().sum::<u64>().max(1) as f64;
    html! {
        figure #confusion {
            svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(height)
                viewBox=(format!("0 0 {width} {height}")) role="img"
                aria-label="Confusion matrix: rows are actual classes, columns predicted classes" {
                @for (j, class) in cm.classes.iter().enumerate() {
                    @let x = LABEL_WIDTH + j * cell + cell / 2;
                    text x=(x) y=(top - 6) transform=(format!("rotate(-45 {x} {})", top - 6)) {
                        title { (class) } (clipped(class, LABEL_CHARS))
                    }
                }
                @for (i, (class, row)) in cm.classes.iter().zip(&cm.matrix).enumerate() {
                    @let y = top + i * cell;
                    text x=(LABEL_WIDTH - 6) y=(y + cell / 2 + 4) text-anchor="end" {
                        title { (class) } (clipped(class, LABEL_CHARS))
                    }
                    @for (j, &count) in row.iter().enumerate() {
                        @let share = count as f64 / row_total(row);
                        g {
                            title { "actual " (class) ", predicted " (cm.classes.get(j).map_or("?", String::as_str)) ": " (count) }
                            rect x=(LABEL_WIDTH + j * cell) y=(y) width=(cell - 1) height=(cell - 1) fill=(shade(share)) {}
                            @if cell >= 22 {
                                text x=(LABEL_WIDTH + j * cell + cell / 2) y=(y + cell / 2 + 4) text-anchor="middle"
                                    class=[(share > 0.5).then_some("light")] { (count) }
                            }
                        }
                    }
                }
                text x=(LABEL_WIDTH) y=(height - 6) { "predicted →, actual ↓ (shade: share of the actual class)" }
            }
            figcaption.note { "Confusion matrix on the held-out rows." }
        }
    }
}

/// Feature importances, most important first, as horizontal bars scaled to the largest.
pub fn importances(features: &[String], importances: &[f64]) -> Markup {
    let ranked = ranked_importances(features, importances);
    let shown = &ranked[..ranked.len().min(MAX_BARS)];
    let largest = shown
        .first()
        .map_or(1.0, |f| f.importance)
        .max(f64::MIN_POSITIVE);
    let (bar_max, row) = (300.0, 22);
    let (width, height) = (LABEL_WIDTH + 300 + 60, row * shown.len() + 8);
    html! {
        figure #importances {
            svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(height)
                viewBox=(format!("0 0 {width} {height}")) role="img"
                aria-label="Feature importances, most important first" {
                @for (i, f) in shown.iter().enumerate() {
                    @let y = 4 + i * row;
                    @let w = (f.importance / largest * bar_max).max(1.0);
                    g {
                        title { (f.feature) ": " (format!("{:.4}", f.importance)) }
                        text x=(LABEL_WIDTH - 6) y=(y + 15) text-anchor="end" { (clipped(&f.feature, LABEL_CHARS)) }
                        rect x=(LABEL_WIDTH) y=(y + 3) width=(format!("{w:.1}")) height=(row - 6) fill="#1f6feb" {}
                        text x=(format!("{:.1}", LABEL_WIDTH as f64 + w + 6.0)) y=(y + 15) { (format!("{:.3}", f.importance)) }
                    }
                }
            }
            figcaption.note {
                "Feature importances (mean decrease in impurity; they sum to 1)."
                @if ranked.len() > MAX_BARS { " The " (MAX_BARS) " largest of " (ranked.len()) "." }
            }
        }
    }
}
