//! Whether the request hyper refused declares a `Content-Length` too large for a `u64`.
//!
//! RFC 9110 §8.6 has a recipient anticipate large numerals and not fail through integer
//! overflow. hyper refuses a `Content-Length` of 2^64 - 2 or more (its sentinels) as a
//! head too large (431) and one over 2^64 - 1 as unparsable (400); for both, the body is
//! simply larger than this server takes, which is a 413. The `hyper_errors` module keeps
//! the first [`RETAINED_BYTES`] bytes read since its last answer and, only when hyper
//! answers 400 or 431, asks [`declares_huge_length`] about them.
//!
//! The retained bytes may hold requests hyper has already answered (pipelined in one
//! read), so the check walks them as hyper does: each head is parsed with `httparse`
//! (hyper's parser, with hyper's limit of header fields, which the caller passes), its
//! body skipped by its `Content-Length`, until a head whose framing hyper refuses. That
//! head's first `Content-Length` field before any `Transfer-Encoding` decides, as in
//! hyper: a numeral of 2^64 - 2 or more is "huge". Anything the walk cannot follow (a
//! partial or invalid head, a chunked body, a body past the retained bytes, a head that
//! arrived across an answer) gives no verdict, and hyper's own status stands.

/// How many bytes read since the last answer are kept: a head of up to this size is
/// looked at (hyper takes heads of up to 417,792 bytes).
pub const RETAINED_BYTES: usize = 8192;

/// The smallest `Content-Length` hyper refuses as too large (its `MAX_LEN` + 1).
const HUGE: &[u8] = b"18446744073709551614";

/// What a head's framing fields say, as hyper reads them.
#[derive(Debug, PartialEq)]
enum Framing {
    /// A body of this many bytes (0 without `Content-Length`).
    Length(u64),
    /// A `Content-Length` of 2^64 - 2 or more.
    Huge,
    /// Something the walk does not follow: a chunked body, an invalid or conflicting
    /// `Content-Length`.
    Other,
}

/// True when the request hyper refused among `read` (bytes read from the start of a
/// request) has a `Content-Length` numeral of 2^64 - 2 or more; `max_fields` is the
/// most header fields hyper takes in a head.
pub fn declares_huge_length(read: &[u8], max_fields: usize) -> bool {
    let mut fields = vec![httparse::EMPTY_HEADER; max_fields];
    let mut rest = read;
    loop {
        let mut request = httparse::Request::new(&mut fields);
        let Ok(httparse::Status::Complete(head_len)) = request.parse(rest) else {
            return false;
        };
        match framing(request.headers) {
            Framing::Huge => return true,
            Framing::Other => return false,
            Framing::Length(n) => {
                let end = usize::try_from(n)
                    .ok()
                    .and_then(|n| n.checked_add(head_len));
                match end.and_then(|end| rest.get(end..)) {
                    Some(next) => rest = next,
                    None => return false,
                }
            }
        }
    }
}

/// The framing of a head's fields, in order, as hyper decides it: `Transfer-Encoding`
/// makes later `Content-Length` fields irrelevant; the first `Content-Length` sets the
/// length and later ones must repeat it.
fn framing(fields: &[httparse::Header<'_>]) -> Framing {
    let mut length = None;
    for field in fields {
        if field.name.eq_ignore_ascii_case("transfer-encoding") {
            return Framing::Other;
        }
        if !field.name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        let value = field.value.trim_ascii();
        if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
            return Framing::Other;
        }
        match (length, parse_below_huge(value)) {
            (None, None) => return Framing::Huge,
            (None, Some(n)) => length = Some(n),
            (Some(first), Some(n)) if first == n => {}
            _ => return Framing::Other,
        }
    }
    Framing::Length(length.unwrap_or(0))
}

/// The value of a numeral `digits` (ASCII digits only) when it is below 2^64 - 2.
fn parse_below_huge(digits: &[u8]) -> Option<u64> {
    let first = digits
        .iter()
        .position(|&d| d != b'0')
        .unwrap_or(digits.len());
    let digits = &digits[first..];
    let below = digits.len() < HUGE.len() || (digits.len() == HUGE.len() && digits < HUGE);
    // Below 2^64 - 2, the sum cannot overflow.
    below.then(|| {
        digits
            .iter()
            .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With hyper's default limit of header fields.
    fn declares_huge_length(read: &[u8]) -> bool {
        super::declares_huge_length(read, 100)
    }

    fn head(length: &str) -> String {
        format!("POST /predict HTTP/1.1\r\nHost: t\r\n{length}\r\n\r\n")
    }

    #[test]
    fn numerals_from_2_64_minus_2_up_are_huge() {
        for value in [
            "18446744073709551614",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999999",
            "0018446744073709551615",
            "  18446744073709551614 ",
        ] {
            let h = head(&format!("content-LENGTH:{value}"));
            assert!(declares_huge_length(h.as_bytes()), "{value}");
        }
        for value in ["18446744073709551613", "000", "5", "1x", "", "-1", "+5"] {
            let h = head(&format!("Content-Length: {value}"));
            assert!(!declares_huge_length(h.as_bytes()), "{value}");
        }
        assert_eq!(
            parse_below_huge(b"18446744073709551613"),
            Some(u64::MAX - 2)
        );
        assert_eq!(parse_below_huge(b"0000"), Some(0));
    }

    #[test]
    fn the_first_length_before_any_transfer_encoding_decides() {
        let huge = "Content-Length: 18446744073709551615";
        let chunked = "Transfer-Encoding: chunked";
        let cases = [
            (format!("{chunked}\r\n{huge}"), false),
            (format!("{huge}\r\n{chunked}"), true),
            (format!("Content-Length: 5\r\n{huge}"), false),
            (format!("{huge}\r\nContent-Length: 5"), true),
        ];
        for (fields, huge) in cases {
            assert_eq!(
                declares_huge_length(head(&fields).as_bytes()),
                huge,
                "{fields}"
            );
        }
    }

    #[test]
    fn pipelined_requests_are_walked_by_their_lengths() {
        let huge = head("Content-Length: 18446744073709551615");
        let get = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n";
        let post = format!("{}hello", head("Content-Length: 5"));
        assert!(declares_huge_length(
            format!("{get}{post}{huge}").as_bytes()
        ));
        // A body that looks like a head is skipped, not read as one.
        let tricky = format!("{}{huge}", head(&format!("Content-Length: {}", huge.len())));
        assert!(!declares_huge_length(tricky.as_bytes()));
        // A head cut off, a chunked body or a body past the bytes: no verdict.
        assert!(!declares_huge_length(&huge.as_bytes()[..huge.len() - 2]));
        let chunked = head("Transfer-Encoding: chunked");
        assert!(!declares_huge_length(
            format!("{chunked}0\r\n\r\n{huge}").as_bytes()
        ));
        assert!(!declares_huge_length(head("Content-Length: 9").as_bytes()));
        // More header fields than hyper takes: hyper's 431 stands.
        let many = head(&format!(
            "{}Content-Length: 18446744073709551615",
            "a: 1\r\n".repeat(100)
        ));
        assert!(!declares_huge_length(many.as_bytes()));
    }
}
