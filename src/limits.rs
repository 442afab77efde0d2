//! Caps on what one response may make the connector hold, so memory stays bounded whatever an API sends.
//!
//! `client.max_response_bytes` bounds the body (the component stops reading past it, and refuses a larger
//! `Content-Length` before reading); `client.max_response_depth` bounds how deeply arrays and objects nest. Both
//! are extension keys: dlt has neither.

/// The response caps of a config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseLimits {
    /// The largest body accepted, in bytes.
    pub max_bytes: u64,
    /// The deepest nesting of arrays and objects accepted.
    pub max_depth: u32,
}

impl ResponseLimits {
    /// The default body cap: 32 MiB. Parsed, such a body takes at most about 16 times its size.
    pub const DEFAULT_MAX_BYTES: u64 = 32 * 1024 * 1024;
    /// The default and largest depth: the JSON parser refuses anything deeper.
    pub const MOST_DEPTH: u32 = 128;

    /// Why `body` breaks a cap, if it does. The depth is scanned only when the cap is below the parser's own.
    pub fn check(&self, body: &[u8]) -> Result<(), String> {
        if body.len() as u64 > self.max_bytes {
            return Err(self.too_large());
        }
        if self.max_depth < Self::MOST_DEPTH && depth_exceeds(body, self.max_depth) {
            return Err(self.too_deep());
        }
        Ok(())
    }

    /// The message for a body over the size cap.
    pub fn too_large(&self) -> String {
        format!(
            "the response body is larger than {} bytes (client.max_response_bytes)",
            self.max_bytes
        )
    }

    /// The message for a body nested past the depth cap.
    pub fn too_deep(&self) -> String {
        format!(
            "the response nests arrays and objects deeper than {} levels (client.max_response_depth)",
            self.max_depth
        )
    }
}

impl Default for ResponseLimits {
    fn default() -> Self {
        Self {
            max_bytes: Self::DEFAULT_MAX_BYTES,
            max_depth: Self::MOST_DEPTH,
        }
    }
}

/// Whether arrays and objects in `body` nest deeper than `max`, counting only brackets outside strings. The text
/// need not be valid JSON: the parser reports what else is wrong.
pub(crate) fn depth_exceeds(body: &[u8], max: u32) -> bool {
    let mut depth = 0u32;
    for (_, b) in outside_strings(body) {
        match b {
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// The bytes of JSON text outside its strings, with their positions; each string shows only as its opening
/// quote. The text need not be valid JSON.
fn outside_strings(text: &[u8]) -> impl Iterator<Item = (usize, u8)> + '_ {
    let (mut in_string, mut escaped) = (false, false);
    text.iter().enumerate().filter_map(move |(i, &b)| {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            return None;
        }
        in_string = b == b'"';
        Some((i, b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_byte_cap_the_schema_allows_is_accepted() {
        let config = |bytes: serde_json::Value| {
            serde_json::json!({"client": {"base_url": "https://api.example.com", "max_response_bytes": bytes},
                               "resources": ["r"]})
        };
        let parsed = crate::config::parse(&config(serde_json::json!(u64::MAX))).unwrap();
        assert_eq!(parsed.limits.max_bytes, u64::MAX);
        for bad in [serde_json::json!(0), serde_json::json!(-5)] {
            let error = crate::config::parse(&config(bad)).unwrap_err().to_string();
            assert!(
                error.contains("must be a positive integer (bytes)"),
                "{error}"
            );
        }
        let huge: serde_json::Value = serde_json::from_str("18446744073709551616").unwrap();
        let error = crate::config::parse(&config(huge)).unwrap_err().to_string();
        assert!(error.contains("is out of range"), "{error}");
    }

    fn nested(levels: usize) -> Vec<u8> {
        let mut body = "[".repeat(levels).into_bytes();
        body.extend("]".repeat(levels).bytes());
        body
    }

    #[test]
    fn depth_counts_brackets_outside_strings() {
        let limits = ResponseLimits {
            max_depth: 3,
            ..ResponseLimits::default()
        };
        assert_eq!(limits.check(br#"{"a": [{"b": 1}]}"#), Ok(()));
        assert_eq!(limits.check(br#"{"a": "[[[[[\"[[[["}"#), Ok(()));
        assert_eq!(limits.check(&nested(3)), Ok(()));
        assert_eq!(limits.check(&nested(4)), Err(limits.too_deep()));
        assert_eq!(limits.check(br#"[{"x": [{}]}]"#), Err(limits.too_deep()));
    }

    #[test]
    fn the_default_depth_is_the_parsers_own() {
        let limits = ResponseLimits::default();
        let deepest = nested(ResponseLimits::MOST_DEPTH as usize - 1);
        assert!(serde_json::from_slice::<serde_json::Value>(&deepest).is_ok());
        let deeper = nested(ResponseLimits::MOST_DEPTH as usize + 1);
        assert!(serde_json::from_slice::<serde_json::Value>(&deeper).is_err());
        assert_eq!(limits.check(&deeper), Ok(()), "left to the parser");
    }

    #[test]
    fn size_is_capped() {
        let limits = ResponseLimits {
            max_bytes: 4,
            ..ResponseLimits::default()
        };
        assert_eq!(limits.check(b"[1]"), Ok(()));
        assert_eq!(limits.check(b"[1,2]"), Err(limits.too_large()));
    }
}
