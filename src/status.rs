//! What an HTTP status is called, and the start of an error response's body for the error line.
//!
//! wasi:http does not pass a response's own reason phrase on, so every status gets its standard one (the IANA
//! registry: RFC 9110 and the RFCs it lists), as `requests` shows the server's.

/// The standard reason phrase of `status`; `""` for a code no RFC names.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        208 => "Already Reported",
        226 => "IM Used",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        418 => "I'm a Teapot",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        510 => "Not Extended",
        511 => "Network Authentication Required",
        _ => "",
    }
}

/// The most characters of an error body quoted in an error.
pub const EXCERPT_CHARS: usize = 300;

/// The start of a body for an error line: at most [`EXCERPT_CHARS`] characters, control characters and runs
/// of whitespace as one space, `…` when cut; `None` for an empty body. The caller masks secrets in it.
pub fn excerpt(body: &[u8]) -> Option<String> {
    let head = body.get(..EXCERPT_CHARS * 4).unwrap_or(body);
    let text = String::from_utf8_lossy(head);
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    let joined = words.join(" ");
    let mut out: String = joined.chars().take(EXCERPT_CHARS).collect();
    if out.len() < joined.len() || head.len() < body.len() {
        out.push('…');
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_a_server_sends_has_its_name() {
        assert_eq!(reason(406), "Not Acceptable");
        assert_eq!(reason(418), "I'm a Teapot");
        assert_eq!(reason(511), "Network Authentication Required");
        assert_eq!(reason(599), "");
        let named = (100..600).filter(|s| !reason(*s).is_empty()).count();
        assert_eq!(named, 62);
    }

    #[test]
    fn an_excerpt_is_short_and_on_one_line() {
        assert_eq!(
            excerpt(br#"{"detail": "Invalid token."}"#).as_deref(),
            Some(r#"{"detail": "Invalid token."}"#)
        );
        assert_eq!(excerpt(b"  a\n\r\tb\x00c  ").as_deref(), Some("a b c"));
        assert_eq!(excerpt(b"   ").as_deref(), None);
        let long = "é".repeat(400);
        let cut = excerpt(long.as_bytes()).unwrap();
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
        let huge = vec![b'x'; 10_000_000];
        assert_eq!(excerpt(&huge).unwrap().chars().count(), EXCERPT_CHARS + 1);
    }
}
