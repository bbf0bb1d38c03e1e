//! "Try the model": one number field per feature, prefilled with the model's first golden
//! row, that asks `POST predict` and shows the predicted class and the probabilities.

use maud::{Markup, html};

use super::input::{CardInput, Mode};

/// A feature value as an input field shows it: empty for a missing value.
fn field_value(v: f64) -> String {
    if v.is_finite() {
        v.to_string()
    } else {
        String::new()
    }
}

/// The form section. Standalone, it is shown disabled, with why.
pub fn section(input: CardInput<'_>, mode: Mode) -> Markup {
    let model = input.model;
    let meta = model.metadata();
    let golden = model.golden().first();
    let value = |i: usize| {
        golden
            .and_then(|g| g.features.get(i))
            .map_or(String::new(), |&v| field_value(v))
    };
    let expected = golden.and_then(|g| meta.classes.get(g.prediction as usize));
    let served = mode == Mode::Served;
    html! {
        section.wide #try-it {
            h2 { "Try it" }
            form #try data-endpoint="predict" {
                fieldset disabled[!served] {
                    div.fields {
                        @for (i, feature) in meta.features.iter().enumerate() {
                            label {
                                (feature)
                                input type="number" step="any" name=(format!("f{i}")) data-feature=(i) value=(value(i));
                            }
                        }
                    }
                    button type="submit" { "Predict" }
                }
            }
            @if let Some(class) = expected {
                p.note {
                    "Prefilled with the model's first golden row, which the trainer predicted as "
                    b #expected { (class) } ". An empty field is a missing value"
                    @if !model.accepts_missing() { " (which this model refuses)" } "."
                }
            }
            @if served {
                noscript { p.note { "The form needs JavaScript; everything else on this page works without it." } }
                div #answer aria-live="polite" {
                    div #prediction {}
                    div #probabilities {}
                }
            } @else {
                p.note { "This file is not served, so the form is disabled: run mlops serve and open / to try the model." }
            }
        }
    }
}
