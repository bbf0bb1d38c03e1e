//! The card's style sheet and script, inline in the page, and the Content-Security-Policy
//! that allows exactly them (by sha256) and nothing else: no other script or style, no
//! request but `POST predict` to the page's own origin, no framing.

use std::sync::OnceLock;

use base64::Engine;
use sha2::{Digest, Sha256};

/// The style sheet. Figures are inline SVG whose colours and sizes are attributes, so no
/// `style` attribute is needed anywhere (the policy would refuse one).
pub const CSS: &str = r#"
:root { --ink: #1d2430; --muted: #5b6472; --line: #d9dee5; --accent: #1f6feb; --paper: #fff; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f6f8; color: var(--ink);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header, main, footer { max-width: 1180px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 18px; }
h1 { margin: 0; font-size: 26px; overflow-wrap: anywhere; }
h2 { margin: 0 0 10px; font-size: 16px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.sub { margin: 2px 0 14px; color: var(--muted); }
.sub a { color: var(--accent); }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); gap: 14px; }
section { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; min-width: 0; }
section.wide { grid-column: 1 / -1; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 3px 14px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 3px 5px; border-bottom: 1px solid var(--line); text-align: right; font-size: 14px; }
th:first-child, td:first-child { text-align: left; overflow-wrap: break-word; }
thead th { color: var(--muted); font-weight: 600; }
.figures { display: flex; flex-wrap: wrap; gap: 16px 40px; align-items: flex-start; }
figure { margin: 0; }
.kpi { display: flex; flex-wrap: wrap; gap: 8px 22px; margin-bottom: 10px; }
.kpi div { display: flex; flex-direction: column; }
.kpi b { font-size: 22px; }
.kpi span { color: var(--muted); font-size: 13px; }
.note { color: var(--muted); font-size: 13px; margin: 6px 0 0; }
svg { max-width: 100%; height: auto; }
svg text { font: 12px system-ui, sans-serif; fill: var(--ink); }
svg text.light { fill: #fff; }
form .fields { display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr)); gap: 8px 12px; }
form label { display: flex; flex-direction: column; font-size: 13px; color: var(--muted); overflow-wrap: anywhere; }
form input { font: inherit; padding: 4px 6px; border: 1px solid var(--line); border-radius: 4px; color: var(--ink); }
form button { margin-top: 10px; font: inherit; padding: 5px 16px; border: 0; border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; }
form button:disabled { background: var(--muted); cursor: default; }
#answer { margin-top: 12px; }
#prediction { font-size: 20px; font-weight: 600; overflow-wrap: anywhere; }
#prediction.error { color: #b42318; font-size: 14px; font-weight: 400; }
#probabilities { display: grid; grid-template-columns: minmax(60px, max-content) 1fr 52px; gap: 4px 10px; align-items: center; margin-top: 8px; }
#probabilities meter { width: 100%; height: 14px; }
#probabilities span { overflow-wrap: anywhere; }
footer { color: var(--muted); font-size: 13px; padding-top: 14px; padding-bottom: 24px; }
"#;

/// The script: the one thing that needs it, the form that asks `POST predict` and
/// shows the answer. Everything from the answer is written with `textContent`, never as
/// markup.
pub const JS: &str = r#"
"use strict";
(function () {
  const form = document.getElementById("try");
  if (!form) return;
  const prediction = document.getElementById("prediction");
  const bars = document.getElementById("probabilities");
  function cell(tag, text) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function show(probabilities) {
    bars.replaceChildren();
    const classes = Object.keys(probabilities || {});
    for (const name of classes) {
      const p = Number(probabilities[name]);
      const meter = cell("meter");
      meter.min = 0; meter.max = 1; meter.value = p;
      meter.setAttribute("aria-label", name);
      bars.append(cell("span", name), meter, cell("span", p.toFixed(3)));
    }
  }
  function fail(message) {
    prediction.className = "error";
    prediction.textContent = message;
    bars.replaceChildren();
  }
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const row = Array.from(form.querySelectorAll("input[data-feature]"), function (input) {
      return input.value.trim() === "" ? null : Number(input.value);
    });
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const response = await fetch(form.dataset.endpoint, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ features: row }),
      });
      const body = await response.json();
      if (!response.ok) {
        fail((body && body.error && body.error.message) || "HTTP " + response.status);
        return;
      }
      prediction.className = "";
      prediction.textContent = body.prediction;
      show(body.probabilities);
    } catch (error) {
      fail("The request failed: " + error.message);
    } finally {
      button.disabled = false;
    }
  });
})();
"#;

/// `'sha256-<base64>'` for a CSP source list.
fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The policy of the served card: its inline style and script, `fetch` to its own
/// origin, a `data:` favicon (so the browser asks for no `/favicon.ico`).
pub fn served_policy() -> &'static str {
    static POLICY: OnceLock<String> = OnceLock::new();
    POLICY.get_or_init(|| {
        format!(
            "default-src 'none'; style-src {}; script-src {}; connect-src 'self'; img-src data:; \
             base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            csp_hash(CSS),
            csp_hash(JS)
        )
    })
}

/// The policy of the standalone file (`mlops inspect --html`), in a `<meta>` tag: its
/// style and nothing else, no script at all.
pub fn standalone_policy() -> String {
    format!(
        "default-src 'none'; style-src {}; img-src data:; base-uri 'none'; form-action 'none'",
        csp_hash(CSS)
    )
}
