//! The low-speed check of a response body being read (`error_handler.low_speed_limit`): in each window of the
//! timeout, at least `limit` bytes per second must arrive. The between-bytes timeout alone lets a body that sends
//! a byte every few seconds hold the run for ever. Pure: the reader passes the time in.

/// A body's pace so far.
#[derive(Debug, Clone)]
pub struct Pace {
    limit: u64,
    window_ms: u64,
    /// When the window began: at the first body bytes, so a server's time before the body is not counted
    /// (the first-byte timeout covers that).
    start_ms: Option<u64>,
    bytes: u64,
}

impl Pace {
    /// At least `limit` bytes per second (0: no check) over windows of `window_ms`.
    pub fn new(limit: u64, window_ms: u64) -> Self {
        Self {
            limit,
            window_ms: window_ms.max(1),
            start_ms: None,
            bytes: 0,
        }
    }

    /// Count `n` more bytes read at `now_ms` (a monotonic clock); an error text once a whole window went by
    /// slower than the limit.
    pub fn add(&mut self, n: u64, now_ms: u64) -> Result<(), String> {
        let Some(start_ms) = self.start_ms else {
            (self.start_ms, self.bytes) = (Some(now_ms), n);
            return Ok(());
        };
        self.bytes += n;
        let elapsed = now_ms.saturating_sub(start_ms);
        if self.limit == 0 || elapsed < self.window_ms {
            return Ok(());
        }
        let rate = self.bytes.saturating_mul(1000) / elapsed.max(1);
        if rate < self.limit {
            return Err(format!(
                "the response body arrived at {rate} bytes/s for {:.1} s, slower than error_handler.low_speed_limit \
                 ({} bytes/s over the {} s timeout)",
                elapsed as f64 / 1000.0,
                self.limit,
                self.window_ms as f64 / 1000.0
            ));
        }
        (self.start_ms, self.bytes) = (Some(now_ms), 0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Pace;

    #[test]
    fn a_window_slower_than_the_limit_fails_and_a_fast_one_starts_the_next() {
        let mut pace = Pace::new(100, 1000);
        assert!(
            pace.add(10, 5_000).is_ok(),
            "the first bytes start the window"
        );
        assert!(pace.add(200, 6_000).is_ok(), "210 bytes in 1 s");
        assert!(pace.add(10, 6_500).is_ok(), "half a window is not judged");
        let slow = pace.add(10, 7_000).unwrap_err();
        assert!(slow.contains("20 bytes/s"), "{slow}");
    }

    #[test]
    fn no_limit_never_fails() {
        let mut pace = Pace::new(0, 10);
        assert!(pace.add(1, 0).is_ok());
        assert!(pace.add(0, 1_000_000).is_ok());
    }
}
