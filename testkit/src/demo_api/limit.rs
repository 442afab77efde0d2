//! The API's rate limit ([`RateSpec`]): past `requests` in the last `window_ms` (a sliding window, the strictest
//! way an API counts), a request is answered 429 with `Retry-After`. Only requests answered count.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A rate limit the API enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSpec {
    /// Requests answered in any window.
    pub requests: usize,
    /// The window, in milliseconds.
    pub window_ms: u64,
    /// Say `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds) on every answer.
    pub headers: bool,
}

/// The times of the requests answered within the last window.
#[derive(Debug, Default)]
pub(super) struct Limiter(VecDeque<Instant>);

/// The headers of an answer, or of the 429 instead of it.
pub(super) type Verdict = Result<Vec<(String, String)>, Vec<(String, String)>>;

impl Limiter {
    /// Count a request arriving `now` if the limit allows it.
    pub(super) fn admit(&mut self, spec: &RateSpec, now: Instant) -> Verdict {
        let window = Duration::from_millis(spec.window_ms);
        while self
            .0
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            self.0.pop_front();
        }
        let full = self.0.len() >= spec.requests;
        if !full {
            self.0.push_back(now);
        }
        // Whole seconds until the oldest request leaves the window, rounded up.
        let reset = self.0.front().map_or(0, |t| {
            let left = window.saturating_sub(now.duration_since(*t));
            left.as_millis().div_ceil(1000) as u64
        });
        let remaining = spec.requests.saturating_sub(self.0.len());
        let mut headers = Vec::new();
        if spec.headers {
            headers.push(("X-RateLimit-Remaining".into(), remaining.to_string()));
            headers.push(("X-RateLimit-Reset".into(), reset.to_string()));
        }
        match full {
            false => Ok(headers),
            true => {
                headers.push(("Retry-After".into(), reset.max(1).to_string()));
                Err(headers)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_n_in_the_window_the_answer_is_429_until_the_oldest_leaves() {
        let spec = RateSpec {
            requests: 2,
            window_ms: 1000,
            headers: true,
        };
        let mut limiter = Limiter::default();
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        assert!(limiter.admit(&spec, at(0)).is_ok());
        let second = limiter
            .admit(&spec, at(400))
            .expect("the second is answered");
        assert!(second.contains(&("X-RateLimit-Remaining".into(), "0".into())));
        let refused = limiter
            .admit(&spec, at(999))
            .expect_err("a third within 1 s");
        assert!(refused.contains(&("Retry-After".into(), "1".into())));
        assert!(limiter.admit(&spec, at(1000)).is_ok(), "the first left");
        assert!(
            limiter.admit(&spec, at(1300)).is_err(),
            "400 and 1000 are in"
        );
        assert!(limiter.admit(&spec, at(1400)).is_ok());
    }
}
