//! The reference wasmtime host for the REST API source component.
//!
//! - [`runtime`]: load a component once, run it per tenant in a fresh sandboxed store.
//! - [`egress`]: the tenant's egress policy, enforced in the outgoing-request hook; [`allow`]: the operator's
//!   allow-list grammar; [`send`]: connecting to checked addresses only.
//! - [`sandbox`]: a tenant run's limits and the host's refusals.
//! - [`secrets`]: per-tenant secret stores.
//! - [`dest`]: destinations (JSON Lines); [`sqlite`]: the SQLite destination; [`sqlite_query`]: reading it back.
//! - [`demo_api`]: a seed-shaped REST API on loopback, for the demo and the tests.
//! - [`seed`]: reading the config out of a seed document.

pub mod allow;
pub mod build;
pub mod capability;
pub mod config_schema;
mod decode;
pub mod demo_api;
pub mod describe;
pub mod dest;
pub mod dlt_mock;
pub mod egress;
pub mod error;
pub mod fleet;
pub mod plugins;
pub mod precompile;
pub mod proxy;
mod run;
pub mod runtime;
pub mod sandbox;
pub mod secrets;
pub mod seed;
pub mod send;
mod special_addresses;
pub mod sqlite;
pub mod sqlite_query;
pub mod state;
pub mod tenant_file;
pub mod tenant_secrets;
pub mod tls;

pub use runtime::{FailureKind, Plugin, RunError, RunFailure, RunSummary, Runtime, Tenant};

/// Where this workspace builds the component (`cargo build -p rest-api-source --target wasm32-wasip2 --profile component`).
pub fn default_plugin_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/wasm32-wasip2/component/rest_api_source.wasm")
}
