//! The request target, checked before routing (docs/gateway.md, "The request target").
//!
//! A route is matched on the path as received and the upstream receives exactly
//! `<upstream base><path and query as received>`. Anything a URL parser or an upstream server
//! could read as a different path — a dot segment, a backslash, an encoded slash or backslash,
//! a control character, a malformed escape — would let a request matched on one route reach
//! another path of the upstream, so it is refused here, before any route is looked at.

/// Why a request target is refused (the text goes into the 400 `invalid_request` answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The path does not start with `/`.
    #[error("the request path must start with /")]
    NotAbsolutePath,
    /// A `.` or `..` segment, plain or as `%2e` (also before a `;` parameter).
    #[error("the request path contains a dot segment (. or ..)")]
    DotSegment,
    /// A backslash in the path or query, plain or `%5C` (many servers read it as `/`).
    #[error("the request target contains a backslash")]
    Backslash,
    /// `%2F` in the path: an upstream may decode it into a separator.
    #[error("the request path contains an encoded slash (%2F)")]
    EncodedSlash,
    /// A control character in the path or query, plain or percent-encoded.
    #[error("the request target contains a control character")]
    ControlCharacter,
    /// A `%` not followed by two hex digits.
    #[error("the request target contains a malformed percent-escape")]
    MalformedEscape,
    /// `%252e`, `%252f` or `%255c` in the path: a second decode would make a dot, slash or
    /// backslash of it.
    #[error("the request path contains a double-encoded dot, slash or backslash (%25)")]
    DoubleEncoded,
    /// Percent-escapes in the path that do not decode to UTF-8, e.g. the overlong `%c0%ae`,
    /// which lenient decoders read as a dot.
    #[error(
        "the request path contains percent-escapes that are not UTF-8 (such as an overlong %c0%ae)"
    )]
    NotUtf8,
    /// A character that servers normalizing Unicode (NFKC) read as a dot, slash or backslash,
    /// such as the fullwidth full stop U+FF0E.
    #[error("the request path contains a character some servers read as a dot, slash or backslash (such as U+FF0E)")]
    LookAlike,
}

/// Characters whose NFKC form contains `.`, `/` or `\` (fullwidth and small forms, dot
/// leaders): `%ef%bc%8e%ef%bc%8e/` is `../` to such a server.
const LOOK_ALIKES: [char; 8] = [
    '\u{FF0E}', '\u{FF0F}', '\u{FF3C}', '\u{FE52}', '\u{FE68}', '\u{2024}', '\u{2025}', '\u{2026}',
];

/// Checks a request's path and query (as received, still percent-encoded).
pub fn check(path: &str, query: Option<&str>) -> Result<(), TargetError> {
    if !path.starts_with('/') {
        return Err(TargetError::NotAbsolutePath);
    }
    check_bytes(path, true)?;
    if let Some(query) = query {
        check_bytes(query, false)?;
    }
    for segment in path.split('/') {
        // `..;x` is `..` to servers that strip path parameters (Tomcat, Jetty, Spring).
        let name = segment.split(';').next().unwrap_or(segment);
        if is_dot_segment(name) {
            return Err(TargetError::DotSegment);
        }
    }
    // Escaped non-ASCII bytes (rare in an API path): decoded, they must be UTF-8 and hold no
    // look-alike of a separator. A plain ASCII path (the hot path) skips the decoding.
    if !path.is_ascii() || path.contains('%') {
        let decoded = percent_decode(path);
        let text = std::str::from_utf8(&decoded).map_err(|_| TargetError::NotUtf8)?;
        if text.contains(LOOK_ALIKES) {
            return Err(TargetError::LookAlike);
        }
    }
    // `%252e` is `%2e` to an upstream that decodes once, and a dot to one that decodes twice.
    let lower = path.to_ascii_lowercase();
    if ["%252e", "%252f", "%255c"]
        .iter()
        .any(|p| lower.contains(p))
    {
        return Err(TargetError::DoubleEncoded);
    }
    Ok(())
}

/// Walks the text once, decoding each `%XX`: the decoded byte is judged like a literal one.
fn check_bytes(text: &str, in_path: bool) -> Result<(), TargetError> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let (byte, encoded) = if bytes[i] == b'%' {
            let decoded = escape_at(bytes, i).ok_or(TargetError::MalformedEscape)?;
            i += 3;
            (decoded, true)
        } else {
            i += 1;
            (bytes[i - 1], false)
        };
        match byte {
            b'\\' => return Err(TargetError::Backslash),
            b'/' if encoded && in_path => return Err(TargetError::EncodedSlash),
            0..=0x1f | 0x7f => return Err(TargetError::ControlCharacter),
            _ => {}
        }
    }
    Ok(())
}

/// The byte of the `%XX` escape starting at `i`, if its two hex digits are there.
fn escape_at(bytes: &[u8], i: usize) -> Option<u8> {
    bytes
        .get(i + 1..i + 3)
        .and_then(|hex| std::str::from_utf8(hex).ok())
        .and_then(|hex| u8::from_str_radix(hex, 16).ok())
}

/// The bytes `text` stands for, each `%XX` decoded once (escapes were checked by `check_bytes`).
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%').then(|| escape_at(bytes, i)).flatten();
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

/// `.` or `..`, each dot literal or `%2e` in any case (RFC 3986 §5.2.4; WHATWG URL also reads
/// `%2e` as a dot).
fn is_dot_segment(segment: &str) -> bool {
    let mut rest = segment;
    let mut dots = 0;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            rest = r;
        } else if rest
            .as_bytes()
            .get(..3)
            .is_some_and(|b| b.eq_ignore_ascii_case(b"%2e"))
        {
            // Three ASCII bytes, so byte 3 starts a character: the slice cannot split one
            // (slicing the text at 3 did, on `1)ϝ`: found by fuzz/request_target).
            rest = &rest[3..];
        } else {
            return false;
        }
        dots += 1;
    }
    dots == 1 || dots == 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_targets_pass() {
        for (path, query) in [
            ("/cards/42", None),
            ("/cards/4%32", Some("a=1&b=%20x")),
            ("/files/report.v2.pdf", None),
            ("/files/...", None),
            ("/files/.hidden", None),
            ("/a//b", Some("")),
            ("/files/a;b=..", None),
            ("/files/100%25", Some("q=%252e")),
            ("/", Some("next=/x/../y")),
            ("/files/caf%C3%A9", Some("q=%ff")),
            // Raw non-ASCII (hyper passes it through): a segment whose third byte is inside a
            // character once panicked the dot-segment check.
            ("/a/1)\u{3dd}", None),
            ("/\u{e9}\u{e9}", None),
        ] {
            assert_eq!(check(path, query), Ok(()), "{path} {query:?}");
        }
    }

    #[test]
    fn escaping_shapes_are_refused() {
        use TargetError::*;
        for (path, query, why) in [
            ("/files/x/../../cards/42", None, DotSegment),
            ("/files/./x", None, DotSegment),
            ("/files/x/..", None, DotSegment),
            ("/files/%2e%2e/cards", None, DotSegment),
            ("/files/.%2E/cards", None, DotSegment),
            ("/files/%2E./cards", None, DotSegment),
            ("/files/%2e/cards", None, DotSegment),
            ("/files/x\\..\\cards", None, Backslash),
            ("/files/x%5c..%5Ccards", None, Backslash),
            ("/files/x%2F..%2fcards", None, EncodedSlash),
            ("/files/x%00", None, ControlCharacter),
            ("/files/x%0a", None, ControlCharacter),
            ("/files/x%7F", None, ControlCharacter),
            ("/files/x", Some("a=%00"), ControlCharacter),
            ("/files/x", Some("a=\\"), Backslash),
            ("/files/x%zz", None, MalformedEscape),
            ("/files/x%2", None, MalformedEscape),
            ("/%2\u{e9}", None, MalformedEscape),
            ("/files/..;/cards/42", None, DotSegment),
            ("/files/.;jsessionid=1/x", None, DotSegment),
            ("/files/%2e%2e;x/cards", None, DotSegment),
            ("/files/%252e%252e/cards", None, DoubleEncoded),
            ("/files/x%252Fy", None, DoubleEncoded),
            ("/files/x%255cy", None, DoubleEncoded),
            ("/files/%c0%ae%c0%ae/cards", None, NotUtf8),
            ("/files/%e0%80%ae/cards", None, NotUtf8),
            ("/files/%ff", None, NotUtf8),
            ("/files/%ef%bc%8e%ef%bc%8e/cards", None, LookAlike),
            ("/files/x%EF%BC%8Fcards", None, LookAlike),
            ("/files/%e2%80%a5/cards", None, LookAlike),
            ("*", None, NotAbsolutePath),
        ] {
            assert_eq!(check(path, query), Err(why), "{path} {query:?}");
        }
        // An encoded slash in the query is data, not a path separator.
        assert_eq!(check("/files/x", Some("next=%2Fa")), Ok(()));
    }
}
