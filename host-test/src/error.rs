//! How a tenant run fails: the error, and what was done before it.

use crate::describe::describe;
use crate::sandbox::Refusal;
use crate::summary::RunSummary;
use crate::wit::ConnectorError;

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The component could not be loaded or linked.
    #[error("cannot load plugin {path}: {message}")]
    Load {
        /// The component file.
        path: String,
        /// Why.
        message: String,
    },
    /// The run could not start because of how it was set up: a tenant names no usable plugin.
    #[error("the run could not start: {0}")]
    Setup(String),
    /// The host itself failed: its engine could not be made, or the task running a tenant panicked.
    #[error("the host failed: {0}")]
    Host(String),
    /// The connector returned an error.
    #[error("{}", describe(.0))]
    Connector(ConnectorError),
    /// The guest trapped (memory cap, a bug) or the host failed to call it.
    #[error("the connector stopped abnormally: {0}")]
    Trap(String),
    /// The destination failed.
    #[error("destination: {0}")]
    Destination(std::io::Error),
    /// The guest was interrupted: the run's time budget ran out while it was running.
    #[error(
        "time budget of {seconds} s and its grace used up: the connector was interrupted mid-page; resume from the last checkpoint"
    )]
    Interrupted {
        /// The budget.
        seconds: f64,
    },
    /// The host refused the connector something (an origin, a secret, more requests or response bytes); the
    /// first refusal ends the run, with what the connector said of it, if anything.
    #[error("stopped by the host: {refusal}{}", .connector.as_ref().map(|c| format!("; the connector reported: {c}")).unwrap_or_default())]
    Refused {
        /// What was refused.
        refusal: Refusal,
        /// The connector's own error after the refusal, described.
        connector: Option<String>,
    },
    /// The guest wrote more than its limit to stdout or stderr.
    #[error("the connector wrote more than {limit} bytes to {stream}")]
    OutputLimit {
        /// `stdout` or `stderr`.
        stream: String,
        /// The limit.
        limit: usize,
    },
    /// A page's records were larger than the host accepts.
    #[error("a page of {resource} holds {bytes} bytes of records, more than the limit of {limit}")]
    PageTooLarge {
        /// The resource.
        resource: String,
        /// The page's size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The tenant's time budget ran out (waits before retries count).
    #[error(
        "time budget of {seconds} s used up after {pages} pages (waits before retries count); resume from the last checkpoint"
    )]
    TimeBudget {
        /// The budget.
        seconds: f64,
        /// Pages stored before it ran out.
        pages: u64,
    },
}

/// What kind of failure a run met, for a platform to act on (retry later, alert the tenant, alert the operator)
/// and for the CLI's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The host, the destination or the plugin file failed (exit code 1).
    Host,
    /// The config or its secrets are wrong (a secret the tenant lacks included): fix them, retrying will not
    /// help (exit code 3).
    Config,
    /// The API failed: an HTTP error after the retries, auth refused, an unusable response (exit code 4).
    Api,
    /// The sandbox stopped the connector: egress or a secret refused, a request, output, page or memory limit
    /// (exit code 5).
    Sandbox,
    /// The time budget ran out; the committed pages stay and a rerun resumes (exit code 6).
    Stopped,
}

impl FailureKind {
    /// The CLI's exit code for this kind of failure (2 is left to usage errors).
    pub fn exit_code(self) -> u8 {
        match self {
            FailureKind::Host => 1,
            FailureKind::Config => 3,
            FailureKind::Api => 4,
            FailureKind::Sandbox => 5,
            FailureKind::Stopped => 6,
        }
    }
}

impl RunError {
    /// What kind of failure this is.
    pub fn kind(&self) -> FailureKind {
        match self {
            RunError::Load { .. } | RunError::Destination(_) | RunError::Host(_) => {
                FailureKind::Host
            }
            RunError::Setup(_) => FailureKind::Config,
            RunError::Connector(e) => match e {
                ConnectorError::InvalidConfig(_) => FailureKind::Config,
                ConnectorError::Auth(_)
                | ConnectorError::Http(_)
                | ConnectorError::BadResponse(_) => FailureKind::Api,
                ConnectorError::Internal(_) => FailureKind::Host,
            },
            // The tenant's secret store lacks a name the config uses: the secrets are wrong.
            RunError::Refused {
                refusal: Refusal::Secret { .. },
                ..
            } => FailureKind::Config,
            RunError::Trap(_)
            | RunError::Refused { .. }
            | RunError::OutputLimit { .. }
            | RunError::PageTooLarge { .. } => FailureKind::Sandbox,
            RunError::Interrupted { .. } | RunError::TimeBudget { .. } => FailureKind::Stopped,
        }
    }
}

impl From<std::io::Error> for RunError {
    fn from(e: std::io::Error) -> Self {
        RunError::Destination(e)
    }
}

/// A run that stopped on an error, with what it had done before.
#[derive(Debug)]
pub struct RunFailure {
    /// Why it stopped.
    pub error: RunError,
    /// Rows stored, the last checkpoint (to resume from), logs and egress decisions up to the error.
    pub summary: Box<RunSummary>,
}

impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

/// Its message is the error's own (one line); there is no further source to print.
impl std::error::Error for RunFailure {}
