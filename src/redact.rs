//! Redaction of URLs before they appear in errors and logs: credential-like query values become `***`.

/// Query parameter names whose values are credentials (dlt's list, compared case-insensitively).
const SENSITIVE: [&str; 11] = [
    "api_key",
    "token",
    "key",
    "access_token",
    "apikey",
    "api-key",
    "access-token",
    "secret",
    "password",
    "pwd",
    "client_secret",
];

/// The URL with the values of credential-like query parameters and any user info replaced by `***`.
pub fn redact_url(raw: &str) -> String {
    redact_url_with(raw, &[])
}

/// [`redact_url`], also masking the query parameters named in `extra` (such as a configured API-key name).
pub fn redact_url_with(raw: &str, extra: &[&str]) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        return raw.split('?').next().unwrap_or_default().to_string();
    };
    if !url.username().is_empty() || url.password().is_some() {
        let _ = url.set_username("***");
        let _ = url.set_password(None);
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let hide = SENSITIVE
                    .iter()
                    .chain(extra)
                    .any(|s| s.eq_ignore_ascii_case(&k));
                (
                    k.into_owned(),
                    if hide {
                        "***".to_string()
                    } else {
                        v.into_owned()
                    },
                )
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_credentials() {
        let cases = [
            (
                "https://a/x?api_key=s3cret&limit=10",
                "https://a/x?api_key=***&limit=10",
            ),
            ("https://a/x?API_KEY=s3cret", "https://a/x?API_KEY=***"),
            (
                "https://a/x?Token=t&client_secret=c&page=2",
                "https://a/x?Token=***&client_secret=***&page=2",
            ),
            ("https://user:pw@a/x", "https://***@a/x"),
            ("https://a/x", "https://a/x"),
            ("not a url?api_key=s3cret", "not a url"),
        ];
        for (raw, want) in cases {
            assert_eq!(redact_url(raw), want, "{raw}");
        }
        assert_eq!(
            redact_url_with("https://a/x?hapikey=k&n=1", &["hapikey"]),
            "https://a/x?hapikey=***&n=1"
        );
    }
}
