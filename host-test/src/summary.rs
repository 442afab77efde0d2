//! What a run did: rows per resource, pages, the last checkpoint, the guest's logs and egress decisions.

use crate::egress::EgressEvent;
use crate::wit::SchemaChange;

/// A log line from the guest, tagged with its tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The tenant.
    pub tenant: String,
    /// Severity.
    pub level: String,
    /// Message (secret values masked).
    pub message: String,
}

/// What a finished run did.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    /// Per resource, in run order: name and rows.
    pub rows: Vec<(String, u64)>,
    /// Pages received.
    pub pages: u64,
    /// The last checkpoint received.
    pub last_checkpoint: Option<String>,
    /// The guest's log lines.
    pub logs: Vec<LogLine>,
    /// Each outgoing request's origin and the policy's decision.
    pub egress: Vec<EgressEvent>,
    /// The schema changes the pages reported, with their resource, in order.
    pub schema_changes: Vec<(String, SchemaChange)>,
    /// The guest's largest linear memory during the run, in bytes (its high-water mark).
    pub guest_memory_peak: u64,
}
