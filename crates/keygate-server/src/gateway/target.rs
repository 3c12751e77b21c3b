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
}

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
            let decoded = bytes
                .get(i + 1..i + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or(TargetError::MalformedEscape)?;
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

/// `.` or `..`, each dot literal or `%2e` in any case (RFC 3986 §5.2.4; WHATWG URL also reads
/// `%2e` as a dot).
fn is_dot_segment(segment: &str) -> bool {
    let mut rest = segment;
    let mut dots = 0;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            rest = r;
        } else if rest.len() >= 3 && rest[..3].eq_ignore_ascii_case("%2e") {
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
            ("/files/..;/cards/42", None, DotSegment),
            ("/files/.;jsessionid=1/x", None, DotSegment),
            ("/files/%2e%2e;x/cards", None, DotSegment),
            ("/files/%252e%252e/cards", None, DoubleEncoded),
            ("/files/x%252Fy", None, DoubleEncoded),
            ("/files/x%255cy", None, DoubleEncoded),
            ("*", None, NotAbsolutePath),
        ] {
            assert_eq!(check(path, query), Err(why), "{path} {query:?}");
        }
        // An encoded slash in the query is data, not a path separator.
        assert_eq!(check("/files/x", Some("next=%2Fa")), Ok(()));
    }
}
