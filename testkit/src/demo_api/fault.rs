//! Fault rules: chosen requests to a path fail in a chosen way.

use super::{Logged, Shared};

/// Make chosen requests to `path` fail. Requests are numbered from 0, counting requests to that path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Path the rule applies to.
    pub path: String,
    /// Which requests fail.
    pub which: Which,
    /// How they fail.
    pub kind: FaultKind,
}

/// Which requests a fault hits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Which {
    /// Requests `from` up to `from + count` (`None`: all from then on).
    Range {
        /// First request that fails.
        from: usize,
        /// How many fail.
        count: Option<usize>,
    },
    /// Every k-th request (numbers k-1, 2k-1, …).
    Every(usize),
}

/// How a request fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// This status (with `Retry-After` when set) instead of data.
    Status {
        /// Status answered.
        code: u16,
        /// `Retry-After` value to send.
        retry_after: Option<String>,
    },
    /// Statuses in turn, one per failing request.
    Cycle(Vec<u16>),
    /// The real answer cut in half, sent as a complete response (invalid JSON).
    TruncatedJson,
    /// The real answer's headers with its full `Content-Length`, then only half the body; the connection is left
    /// open, so the client waits until its between-bytes timeout.
    ShortBody,
    /// The real answer, after this many milliseconds.
    Slow(u64),
    /// Bytes that are not an HTTP response at all, as if the connection broke.
    Broken,
    /// The real answer with `Connection: close`: the client must not send another request on that connection.
    CloseConnection,
}

impl Fault {
    /// Requests `from` to `from + count` answer `code` (a shorthand for the common case).
    pub fn status(
        path: &str,
        from: usize,
        count: Option<usize>,
        code: u16,
        retry_after: Option<&str>,
    ) -> Self {
        Self {
            path: path.into(),
            which: Which::Range { from, count },
            kind: FaultKind::Status {
                code,
                retry_after: retry_after.map(String::from),
            },
        }
    }
}

/// The fault that hits this request, and how many requests that fault has hit before it.
pub(super) fn fault_for(shared: &Shared, req: &Logged) -> Option<(Fault, usize)> {
    let faults = shared.faults.lock().ok()?;
    let seen = shared
        .log
        .lock()
        .ok()?
        .iter()
        .filter(|l| l.path == req.path)
        .count();
    faults
        .iter()
        .filter(|f| f.path == req.path)
        .find_map(|f| match f.which {
            Which::Range { from, count }
                if seen >= from && count.is_none_or(|c| seen < from + c) =>
            {
                Some((f.clone(), seen - from))
            }
            Which::Every(k) if k > 0 && (seen + 1) % k == 0 => Some((f.clone(), seen / k)),
            _ => None,
        })
}
