//! One page or asset in memory, and its answer: the body (gzipped when the asset is
//! stored so and the client accepts it), its validator and the security headers; 304
//! when the client already has it.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use sha2::{Digest, Sha256};

/// How an asset's bytes are stored.
#[derive(Clone, Copy)]
pub enum Encoding {
    /// As they are sent.
    Identity,
    /// Gzipped; the function gives them inflated, for clients that do not take gzip.
    Gzip(fn() -> Bytes),
}

/// A page or asset, ready to answer.
#[derive(Clone)]
pub struct Asset {
    content_type: &'static str,
    policy: &'static str,
    body: Bytes,
    encoding: Encoding,
    /// The quoted validator of the stored bytes.
    etag: HeaderValue,
    /// The validator of the inflated bytes, for a gzipped asset.
    etag_inflated: HeaderValue,
}

impl Asset {
    /// An asset whose `ETag` is `prefix`, a dash and the start of its bytes' sha256.
    pub fn new(
        content_type: &'static str,
        policy: &'static str,
        body: Bytes,
        encoding: Encoding,
        prefix: &str,
    ) -> Asset {
        let hash = hex::encode(&Sha256::digest(&body)[..8]);
        let tag = if prefix.is_empty() {
            hash
        } else {
            format!("{prefix}-{hash}")
        };
        let quoted = |suffix: &str| {
            HeaderValue::from_str(&format!("\"{tag}{suffix}\"")).expect("hex digits and dashes")
        };
        Asset {
            content_type,
            policy,
            body,
            encoding,
            etag: quoted(if matches!(encoding, Encoding::Gzip(_)) {
                ".gz"
            } else {
                ""
            }),
            etag_inflated: quoted(""),
        }
    }

    /// An asset whose `ETag` is the start of its bytes' sha256.
    pub fn hashed(
        content_type: &'static str,
        policy: &'static str,
        body: Bytes,
        encoding: Encoding,
    ) -> Asset {
        Asset::new(content_type, policy, body, encoding, "")
    }

    /// The answer to a GET with these request headers.
    pub fn answer(&self, request: &HeaderMap) -> Response {
        let (body, etag, gzipped) = match self.encoding {
            Encoding::Gzip(_) if accepts_gzip(request) => (self.body.clone(), &self.etag, true),
            Encoding::Gzip(inflate) => (inflate(), &self.etag_inflated, false),
            Encoding::Identity => (self.body.clone(), &self.etag, false),
        };
        let fresh = if_none_match(request, etag);
        let mut response = Response::new(if fresh {
            Body::empty()
        } else {
            Body::from(body)
        });
        if fresh {
            *response.status_mut() = StatusCode::NOT_MODIFIED;
        }
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        h.insert(header::ETAG, etag.clone());
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(self.policy),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        if matches!(self.encoding, Encoding::Gzip(_)) {
            h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            if gzipped {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
        }
        response
    }
}

/// Whether `Accept-Encoding` takes gzip (by name or `*`, with a non-zero weight).
fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// Whether `If-None-Match` names `etag` (weakly, as RFC 9110 says for GET) or is `*`.
fn if_none_match(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let etag = etag.to_str().unwrap_or("");
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn gzip_is_taken_unless_refused() {
        assert!(accepts_gzip(&headers(&[(
            "accept-encoding",
            "gzip, deflate, br"
        )])));
        assert!(accepts_gzip(&headers(&[(
            "accept-encoding",
            "br;q=1, GZIP;q=0.5"
        )])));
        assert!(accepts_gzip(&headers(&[("accept-encoding", "*")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "gzip;q=0")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "identity")])));
        assert!(!accepts_gzip(&headers(&[])));
    }

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists() {
        let etag = HeaderValue::from_static("\"ab-12\"");
        assert!(if_none_match(
            &headers(&[("if-none-match", "\"x\", \"ab-12\"")]),
            &etag
        ));
        assert!(if_none_match(
            &headers(&[("if-none-match", "W/\"ab-12\"")]),
            &etag
        ));
        assert!(if_none_match(&headers(&[("if-none-match", "*")]), &etag));
        assert!(!if_none_match(
            &headers(&[("if-none-match", "\"ab-13\"")]),
            &etag
        ));
        assert!(!if_none_match(&headers(&[]), &etag));
    }
}
