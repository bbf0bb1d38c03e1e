//! Reading JSON request bodies into typed values, with the API's error statuses.
//!
//! axum's own `Json` extractor answers with plain-text rejections; this one answers with
//! the [`ApiError`] envelope and sorts failures the way the contract says: 415 for a
//! content type other than JSON (a missing one is read as JSON, see
//! `is_json_or_unlabelled`), 413 for a body over `--max-body-bytes` (found while the
//! middleware receives the body, see [`super::body`], or by axum's `DefaultBodyLimit`),
//! 400 for bytes that are not JSON, and 422 for JSON of the wrong shape.
//!
//! It also accepts, and then refuses properly, the non-finite numbers that popular
//! encoders emit although JSON has none: Python's `json.dumps(float("nan"))` writes a bare
//! `NaN`, and `1e999` overflows. A strict parser would call those bodies malformed (400)
//! and lose track of where they were; instead, only when strict parsing fails, the body
//! is re-read with such tokens turned into strings, so that validation can answer 422 and
//! name the feature and the row. The relaxed pass never runs on the hot path.

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, Visitor};
use serde_json::error::Category;

use super::body::{self, broken, too_large};
use super::error::ApiError;
use super::headers::BINARY_HEADER_LENGTH;

/// A request body parsed from JSON into `T`; rejects with an [`ApiError`].
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonBytes(bytes) = JsonBytes::from_request(req, state).await?;
        parse(&bytes).map(JsonBody)
    }
}

/// A request body that says it is JSON (or says nothing), not parsed yet: for handlers
/// that parse with a [`DeserializeSeed`] (see [`parse_with`]).
#[derive(Debug)]
pub struct JsonBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(mut req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if req.headers().contains_key(BINARY_HEADER_LENGTH) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_extension",
                "the binary tensor data extension (inference-header-content-length) is for \
                 v2 inference only; send this route JSON",
            ));
        }
        if !is_json_or_unlabelled(req.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON: send the header 'content-type: application/json'",
            ));
        }
        // The middleware received the body already (or failed to: answered here).
        if let Some(received) = body::take(&mut req) {
            return received.map(JsonBytes);
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        Ok(JsonBytes(bytes))
    }
}

/// True for `application/json` and `application/<anything>+json`, with any parameters,
/// and for a body without a content type: the reference FastAPI service parsed those as
/// JSON, and standard Open Inference Protocol clients (tritonclient) send none. A body
/// that says it is something else is refused.
fn is_json_or_unlabelled(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json")
            || subtype.len() > 5
                && subtype.as_bytes()[subtype.len() - 5..].eq_ignore_ascii_case(b"+json"))
}

pub(crate) fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        // The client went away or sent a broken chunked body: its fault, so a 400.
        broken(rejection)
    }
}

/// Parses `bytes` as JSON into `T`, with the relaxed second pass described above.
///
/// A leading UTF-8 byte order mark is skipped, as RFC 8259 §8.1 allows: Windows tools
/// save JSON files with one, and `curl --data-binary @req.json` sends it along.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    parse_with(bytes, PhantomData::<T>)
}

/// [`parse`] with a seed, for types whose parsing needs context (such as a limit to
/// refuse a batch while it is read, before it is all in memory).
pub fn parse_with<T, S>(bytes: &[u8], seed: S) -> Result<T, ApiError>
where
    S: for<'de> DeserializeSeed<'de, Value = T> + Copy,
{
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match from_slice_seed(bytes, seed) {
        Ok(value) => Ok(value),
        Err(e) => match e.classify() {
            Category::Data => Err(data_error(&e)),
            Category::Syntax | Category::Eof | Category::Io => {
                if let Some(relaxed) = relax_non_finite(bytes) {
                    match from_slice_seed(&relaxed, seed) {
                        Ok(value) => return Ok(value),
                        Err(e2) if e2.classify() == Category::Data => return Err(data_error(&e2)),
                        Err(_) => {}
                    }
                }
                Err(syntax_error(bytes, &e))
            }
        },
    }
}

/// `serde_json::from_slice` with a seed: the whole input is one value.
fn from_slice_seed<T, S>(bytes: &[u8], seed: S) -> serde_json::Result<T>
where
    S: for<'de> DeserializeSeed<'de, Value = T>,
{
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = seed.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

fn data_error(e: &serde_json::Error) -> ApiError {
    ApiError::invalid_input(e.to_string())
        .with_details(serde_json::json!({"line": e.line(), "column": e.column()}))
}

fn syntax_error(bytes: &[u8], e: &serde_json::Error) -> ApiError {
    let message = if bytes.iter().all(u8::is_ascii_whitespace) {
        "the request body is empty; send a JSON object".to_owned()
    } else {
        format!("the request body is not valid JSON: {e}")
    };
    ApiError::malformed_json(message)
        .with_details(serde_json::json!({"line": e.line(), "column": e.column()}))
}

/// Rewrites the bare tokens `NaN`, `Infinity`, `-Infinity` and numbers that overflow an
/// f64, outside strings, into JSON strings that [`Number`] reads as non-finite values.
/// Returns `None` when there was nothing to rewrite.
pub(crate) fn relax_non_finite(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() + 16);
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' {
            // Copy a string verbatim, honouring escapes.
            let start = i;
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(bytes.len());
            out.extend_from_slice(&bytes[start..i]);
            continue;
        }
        let rest = &bytes[i..];
        let token = [&b"-Infinity"[..], b"Infinity", b"NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t));
        if let Some(token) = token {
            out.push(b'"');
            out.extend_from_slice(token);
            out.push(b'"');
            i += token.len();
            changed = true;
            continue;
        }
        if b == b'-' || b.is_ascii_digit() {
            let len = rest
                .iter()
                .position(|c| {
                    !(c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E'))
                })
                .unwrap_or(rest.len());
            let number = &rest[..len];
            let overflow = std::str::from_utf8(number)
                .ok()
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|v| v.is_infinite());
            match overflow {
                Some(v) => {
                    out.extend_from_slice(if v > 0.0 {
                        b"\"Infinity\""
                    } else {
                        b"\"-Infinity\""
                    });
                    changed = true;
                }
                None => out.extend_from_slice(number),
            }
            i += len.max(1);
            continue;
        }
        out.push(b);
        i += 1;
    }
    changed.then_some(out)
}

/// One numeric input value, as clients actually send them.
///
/// Accepts JSON numbers; numeric strings (`"5.1"`, as the reference service's pydantic
/// model did); `null` and the strings `"NaN"`, `"Infinity"`, `"-Infinity"` (and what the
/// relaxed pass makes of bare `NaN`/`Infinity`), which become non-finite values so that
/// validation can refuse them by feature and row. Anything else is a type error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Number(pub f64);

impl<'de> de::Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumberVisitor).map(Number)
    }
}

pub(crate) struct NumberVisitor;

impl<'de> Visitor<'de> for NumberVisitor {
    type Value = f64;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a number")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
        Ok(f64::NAN)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        v.trim()
            .parse::<f64>()
            .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relaxes_only_non_finite_tokens_outside_strings() {
        let got =
            relax_non_finite(br#"{"a":[NaN,-Infinity,1e999,-1e999,2.5],"NaN":"x NaN"}"#).unwrap();
        assert_eq!(
            String::from_utf8(got).unwrap(),
            r#"{"a":["NaN","-Infinity","Infinity","-Infinity",2.5],"NaN":"x NaN"}"#
        );
        assert!(relax_non_finite(br#"{"a":[1,2],"b":"NaN"}"#).is_none());
        // Escaped quotes do not end a string.
        assert!(relax_non_finite(br#"["a\"NaN"]"#).is_none());
    }

    #[test]
    fn sorts_syntax_from_shape_errors() {
        let e = parse::<Vec<Number>>(b"[1, 2").unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let e = parse::<Vec<Number>>(b"").unwrap_err();
        assert!(e.message.contains("empty"), "{e}");
        let e = parse::<Vec<Number>>(br#"[true]"#).unwrap_err();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        let v = parse::<Vec<Number>>(br#"[1, "2.5", null, NaN, 1e999]"#).unwrap();
        assert_eq!(v[0], Number(1.0));
        assert_eq!(v[1], Number(2.5));
        assert!(v[2].0.is_nan() && v[3].0.is_nan());
        assert_eq!(v[4], Number(f64::INFINITY));
    }

    #[test]
    fn numbers_parse_to_the_nearest_double() {
        // The values Rust's own parser gives (the CSV reader's), digit for digit.
        let texts = [
            "0.9666666666666667",
            "0.09372222041608473",
            "5.1",
            "2.2250738585072014e-308",
        ];
        let body = format!("[{}]", texts.join(","));
        let got = parse::<Vec<Number>>(body.as_bytes()).unwrap();
        for (text, Number(v)) in texts.iter().zip(got) {
            assert_eq!(
                v.to_bits(),
                text.parse::<f64>().unwrap().to_bits(),
                "{text}"
            );
        }
    }

    #[test]
    fn content_types() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::CONTENT_TYPE, v.parse().unwrap());
            is_json_or_unlabelled(&m)
        };
        assert!(h("application/json"));
        assert!(h("Application/JSON; charset=utf-8"));
        assert!(h("application/vnd.api+json"));
        assert!(!h("text/plain"));
        assert!(!h("application/x-www-form-urlencoded"));
        assert!(is_json_or_unlabelled(&HeaderMap::new()));
    }
}
