//! Typed errors of the engine. They mirror the WIT `error` variant one to one and never hold a secret value.

use std::fmt;

/// One problem in a config, at a dlt-style path (`resources[1].endpoint.paginator.type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Where the problem is; `.` for the top level.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigProblem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every way the engine fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The config or the checkpoint is invalid; every problem found is listed.
    #[error("invalid config: {}", join(.0))]
    InvalidConfig(Vec<ConfigProblem>),
    /// Authentication failed.
    #[error("auth failed for resource `{resource}` at {url}: {message}")]
    Auth {
        /// Resource (or `oauth2 token`).
        resource: String,
        /// Redacted URL.
        url: String,
        /// What happened.
        message: String,
    },
    /// A request failed for good; the run halted.
    #[error("{}", http_text(.resource, .url, .status, .attempts, .message))]
    Http {
        /// Resource whose request failed.
        resource: String,
        /// Redacted URL.
        url: String,
        /// Last status, if any response arrived.
        status: Option<u16>,
        /// Attempts made in all.
        attempts: u32,
        /// What went wrong on the last attempt.
        message: String,
    },
    /// A response could not be used.
    #[error("bad response for resource `{resource}` from {url}: {message}")]
    BadResponse {
        /// Resource concerned.
        resource: String,
        /// Redacted URL.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// A broken invariant or a misuse of the interface.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A config error with one problem.
    pub fn config(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidConfig(vec![ConfigProblem::new(path, message)])
    }

    /// Replace every occurrence of a secret value in the error's texts with `***`, and shorten each text to at
    /// most [`MOST_TEXT_CHARS`] characters (a URL of 100,000 params would make a line of megabytes).
    pub fn scrub(self, secrets: &[String]) -> Self {
        let s = |t: String| elide(&scrub_text(&t, secrets), MOST_TEXT_CHARS);
        match self {
            Error::InvalidConfig(ps) => Error::InvalidConfig(
                ps.into_iter()
                    .map(|p| ConfigProblem::new(s(p.path), s(p.message)))
                    .collect(),
            ),
            Error::Auth {
                resource,
                url,
                message,
            } => Error::Auth {
                resource,
                url: s(url),
                message: s(message),
            },
            Error::Http {
                resource,
                url,
                status,
                attempts,
                message,
            } => Error::Http {
                resource,
                url: s(url),
                status,
                attempts,
                message: s(message),
            },
            Error::BadResponse {
                resource,
                url,
                message,
            } => Error::BadResponse {
                resource,
                url: s(url),
                message: s(message),
            },
            Error::Internal(m) => Error::Internal(s(m)),
        }
    }
}

/// The most characters of one text (a URL, a message) in an error or a log line.
pub const MOST_TEXT_CHARS: usize = 1000;

/// `text` with its middle replaced by `…` when it is longer than `max` characters (its start and end stay:
/// a URL's origin and path and its last parameters, a message's beginning and end).
pub fn elide(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let head = max / 2;
    let tail = max.saturating_sub(head + 1);
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(count - tail).collect();
    format!("{start}…{end}")
}

/// Values shorter than this are not searched for in text: every message would be mangled and nothing protected.
/// (Credentials in URLs are masked by parameter name whatever their length.)
pub const MIN_MASKED_LEN: usize = 4;

fn maskable(secret: &&String) -> bool {
    secret.chars().count() >= MIN_MASKED_LEN
}

/// Replace each secret value found in `text` with `***`: as it is, and in the encodings a URL or a form gives it
/// (`a b+c` also as `a+b%2Bc` and `a%20b%2Bc`).
pub fn scrub_text(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().filter(maskable) {
        for form in encodings(secret) {
            if out.contains(form.as_str()) {
                out = out.replace(form.as_str(), "***");
            }
        }
    }
    out
}

/// Whether `text` holds a secret value in any of the forms [`scrub_text`] masks.
pub fn contains_secret(text: &str, secrets: &[String]) -> bool {
    secrets
        .iter()
        .filter(maskable)
        .any(|s| encodings(s).iter().any(|form| text.contains(form.as_str())))
}

/// A secret as it is, form-encoded, and percent-encoded (longest first, so masking replaces whole forms).
fn encodings(secret: &str) -> Vec<String> {
    let form: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let percent = form.replace('+', "%20");
    let mut all = vec![secret.to_string(), form, percent];
    all.sort_by_key(|f| std::cmp::Reverse(f.len()));
    all.dedup();
    all
}

fn join(problems: &[ConfigProblem]) -> String {
    let parts: Vec<String> = problems.iter().map(ToString::to_string).collect();
    parts.join("; ")
}

fn http_text(
    resource: &str,
    url: &str,
    status: &Option<u16>,
    attempts: &u32,
    message: &str,
) -> String {
    let status = match status {
        Some(code) => format!("status {code}"),
        None => "no response".to_string(),
    };
    let tries = if *attempts == 1 {
        "attempt"
    } else {
        "attempts"
    };
    format!(
        "resource `{resource}`: request to {url} failed after {attempts} {tries} ({status}): {message}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_lose_their_middle() {
        let url = format!(
            "https://api.example.com/v1?{}&last=1",
            "p=1&".repeat(100_000)
        );
        let short = elide(&url, 300);
        assert_eq!(short.chars().count(), 300);
        assert!(short.starts_with("https://api.example.com/v1?p=1") && short.ends_with("&last=1"));
        assert!(short.contains('…'));
        assert_eq!(elide("short", 300), "short");
        let e = Error::Internal("é".repeat(5000)).scrub(&[]);
        assert_eq!(
            e.to_string().chars().count(),
            "internal error: ".len() + MOST_TEXT_CHARS
        );
    }

    #[test]
    fn http_error_names_resource_url_status_and_attempts() {
        let e = Error::Http {
            resource: "users".into(),
            url: "https://x/v1?api_key=***".into(),
            status: Some(503),
            attempts: 4,
            message: "503 Service Unavailable".into(),
        };
        assert_eq!(
            e.to_string(),
            "resource `users`: request to https://x/v1?api_key=*** failed after 4 attempts (status 503): 503 Service Unavailable"
        );
    }

    #[test]
    fn scrub_masks_secret_values_everywhere() {
        let e = Error::BadResponse {
            resource: "r".into(),
            url: "https://x/?k=hunter2".into(),
            message: "echo hunter2".into(),
        };
        let s = e
            .scrub(&["hunter2".into(), String::new(), "r".into()])
            .to_string();
        assert!(!s.contains("hunter2"), "{s}");
        assert_eq!(s.matches("***").count(), 2);
    }

    #[test]
    fn scrub_masks_url_and_form_encodings() {
        let secret = vec!["ab+c/d== é".to_string()];
        let text = "raw ab+c/d== é form ab%2Bc%2Fd%3D%3D+%C3%A9 pct ab%2Bc%2Fd%3D%3D%20%C3%A9";
        let s = scrub_text(text, &secret);
        assert_eq!(s, "raw *** form *** pct ***");
        assert!(contains_secret("x?k=ab%2Bc%2Fd%3D%3D+%C3%A9", &secret));
        assert!(!contains_secret("nothing here", &secret));
    }

    #[test]
    fn config_errors_list_every_problem() {
        let e = Error::InvalidConfig(vec![
            ConfigProblem::new("client.base_url", "missing"),
            ConfigProblem::new("resources[0].name", "missing"),
        ]);
        assert_eq!(
            e.to_string(),
            "invalid config: client.base_url: missing; resources[0].name: missing"
        );
    }
}
