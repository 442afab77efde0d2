//! Retry policy: which outcomes are retried, and how long to wait before the next attempt.
//!
//! Defaults equal dlt's runtime settings: 5 attempts in all, backoff factor 1 (waits 1, 2, 4, 8 s), each wait
//! capped at 300 s, 60 s timeout, status 429 and 500–599 retried, `Retry-After` (seconds or HTTP-date) first,
//! values ≤ 0 or unparsable fall back to the backoff. The seeds' `error_handler` sets `retry_on_status_codes`,
//! `max_retries` (retries after the first attempt), `backoff_factor`, and the extensions `max_delay`, `timeout` and
//! `low_speed_limit` (the slowest a body may arrive, like curl's `--speed-limit` over `--speed-time` = `timeout`).

/// The default `error_handler.low_speed_limit`: 1,000 bytes per second, over each `timeout`. A body that
/// trickles slower (one byte every few seconds keeps every between-bytes timeout at bay) fails the attempt like
/// a timeout, so a run ends with a clear error instead of hanging for ever.
pub const DEFAULT_LOW_SPEED_LIMIT: u64 = 1000;

/// How requests are retried.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Wait before attempt n+1 is `backoff_factor × 2^(n−1)` seconds.
    pub backoff_factor: f64,
    /// Upper limit of each wait, in seconds.
    pub max_delay_s: f64,
    /// Status codes retried; `None` means 429 and 500–599.
    pub statuses: Option<Vec<u16>>,
    /// Connect, first-byte and between-bytes timeout, in milliseconds.
    pub timeout_ms: u64,
    /// The slowest a response body may arrive, in bytes per second over each `timeout` (0: no limit).
    pub low_speed_limit: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            backoff_factor: 1.0,
            max_delay_s: 300.0,
            statuses: None,
            timeout_ms: 60_000,
            low_speed_limit: DEFAULT_LOW_SPEED_LIMIT,
        }
    }
}

impl RetryPolicy {
    /// Whether a response with this status is retried.
    pub fn retries_status(&self, status: u16) -> bool {
        match &self.statuses {
            Some(list) => list.contains(&status),
            None => status == 429 || (500..600).contains(&status),
        }
    }

    /// Milliseconds to wait after `attempts` failed attempts, honouring a `Retry-After` value first.
    /// `now_unix_ms` is the wall clock, needed for an HTTP-date `Retry-After`.
    pub fn delay_ms(&self, attempts: u32, retry_after: Option<&str>, now_unix_ms: u64) -> u64 {
        let cap_ms = (self.max_delay_s.max(0.0) * 1000.0) as u64;
        if let Some(ms) = retry_after.and_then(|v| parse_retry_after(v, now_unix_ms)) {
            return ms.min(cap_ms);
        }
        let exponent = attempts.saturating_sub(1).min(62);
        let seconds = self.backoff_factor.max(0.0) * 2f64.powi(exponent as i32);
        ((seconds * 1000.0) as u64).min(cap_ms)
    }
}

/// A positive `Retry-After` in milliseconds: delta-seconds or an HTTP-date. `None` for ≤ 0, past dates, or junk.
pub fn parse_retry_after(value: &str, now_unix_ms: u64) -> Option<u64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds > 0.0).then_some((seconds * 1000.0) as u64);
    }
    let when = httpdate::parse_http_date(value).ok()?;
    let when_ms = when.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as u64;
    (when_ms > now_unix_ms).then(|| when_ms - now_unix_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_waits_are_dlts() {
        let p = RetryPolicy::default();
        let waits: Vec<u64> = (1..=4).map(|n| p.delay_ms(n, None, 0)).collect();
        assert_eq!(waits, vec![1000, 2000, 4000, 8000]);
        assert_eq!(p.delay_ms(20, None, 0), 300_000, "capped");
    }

    #[test]
    fn seed_error_handler_waits() {
        let p = RetryPolicy {
            max_attempts: 4,
            backoff_factor: 2.0,
            ..RetryPolicy::default()
        };
        let waits: Vec<u64> = (1..=3).map(|n| p.delay_ms(n, None, 0)).collect();
        assert_eq!(waits, vec![2000, 4000, 8000]);
    }

    #[test]
    fn retry_after_comes_first_and_falls_back() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay_ms(1, Some("7"), 0), 7000);
        assert_eq!(p.delay_ms(1, Some("0"), 0), 1000, "0 falls back to backoff");
        assert_eq!(p.delay_ms(2, Some("-3"), 0), 2000);
        assert_eq!(p.delay_ms(1, Some("soon"), 0), 1000);
        assert_eq!(p.delay_ms(1, Some("100000"), 0), 300_000, "capped");
        // Sun, 06 Nov 1994 08:49:37 GMT is 784111777 s after the epoch.
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(p.delay_ms(1, Some(date), 784_111_770_000), 7000);
        assert_eq!(
            p.delay_ms(1, Some(date), 784_111_790_000),
            1000,
            "past date"
        );
    }

    #[test]
    fn status_lists() {
        let default = RetryPolicy::default();
        assert!(
            default.retries_status(429)
                && default.retries_status(503)
                && default.retries_status(599)
        );
        assert!(!default.retries_status(404) && !default.retries_status(400));
        let custom = RetryPolicy {
            statuses: Some(vec![429, 500, 502, 503]),
            ..RetryPolicy::default()
        };
        assert!(custom.retries_status(503) && !custom.retries_status(504));
    }
}
