//! Fixtures for the REST API source and its host, with no wasmtime in them: what the CLI's `demo` and the tests
//! run against, never what a platform embeds.
//!
//! - [`demo_api`]: a seed-shaped REST API on loopback (with fault injection and dlt's mock routes).
//! - [`seed`]: reading the config out of a seed document.
//! - [`component`]: building this workspace's component (and test guests) with cargo.
//! - [`pg`]: a PostgreSQL schema of a test's own, dropped afterwards, and reading it back as JSON.

#![warn(missing_docs)]

pub mod component;
pub mod demo_api;
pub mod pg;
pub mod seed;

/// Where this workspace builds the component (`cargo build -p rest-api-source --target wasm32-wasip2 --profile component`).
pub fn default_plugin_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/wasm32-wasip2/component/rest_api_source.wasm")
}
