//! The reference wasmtime host for the REST API source component: load a component once, run it per tenant in
//! a fresh sandboxed store, into a destination, with the tenant's secrets, limits and egress policy.
//!
//! The crate root holds what an embedder uses; the modules hold the rest:
//!
//! - `runtime/`: the [`Runtime`] (engine and linker), a loaded [`Plugin`], a configured [`Session`], whole runs
//!   ([`Plugin::run`]);
//! - `tenant.rs`: [`Tenant`], what one run needs; `sandbox.rs`: its [`Limits`] (and where each is enforced) and
//!   the host's [`Refusal`]s; `secrets.rs`: the [`SecretStore`];
//! - `egress/`: the tenant's [`EgressPolicy`] (origins, the operator's [`AllowedHosts`], internal addresses,
//!   [`ProxySettings`], [`TlsTrust`]), enforced in the outgoing-request hook, and the sender that connects to
//!   checked addresses only;
//! - `dest/`: the [`Destination`] trait, [`JsonlDir`] with its [`StateFile`], [`SqliteDb`] with
//!   [`sqlite_query`] to read it back, and [`PostgresDb`];
//! - [`fleet`]: tenant files and running many tenants at once; `plugin_dir.rs`: a [`PluginDir`];
//! - [`queue`]: a queue of runs in PostgreSQL, and workers on many hosts that share it;
//! - [`wit`]: the connector contract's types (pages, schemas, errors); [`describe`]: them as text and JSON;
//! - `summary.rs` and `error.rs`: [`RunSummary`], [`RunError`], [`RunFailure`] and [`FailureKind`]: what a run
//!   did, or why it failed.
//!
//! `examples/embed.rs` runs two tenants in about 40 lines. The `cli` feature (on by default) adds the
//! `host-test` binary and [`config_schema`]; `default-features = false` gives the runtime alone.

#![warn(missing_docs)]

#[cfg(feature = "cli")]
pub mod config_schema;
pub mod describe;
mod dest;
mod egress;
mod error;
pub mod fleet;
mod plugin_dir;
pub mod queue;
mod runtime;
mod sandbox;
mod secrets;
mod summary;
mod tenant;
pub mod wit;

pub use dest::sqlite_query;
pub use dest::{
    Destination, Fence, Fenced, JsonlDir, LoadRecord, PostgresDb, RunState, SqliteDb, StateError,
    StateFile,
};
pub use egress::{
    AllowError, AllowedHosts, EgressEvent, EgressPolicy, Origin, ProxyError, ProxySettings,
    TlsError, TlsTrust,
};
pub use error::{FailureKind, RunError, RunFailure};
pub use plugin_dir::{Change, Entry, Manifest, PluginDir, PluginDirError};
pub use runtime::{Capability, POOL_MAX_MEMORY, Plugin, Runtime, Session};
pub use sandbox::{Limits, Refusal};
pub use secrets::{SecretStore, SecretsError};
pub use summary::{LogLine, RunSummary};
pub use tenant::Tenant;
