//! A dlt-compatible REST API source connector, built as one WebAssembly component.
//!
//! Everything here but `component` is a pure engine: it does no I/O, reads no clock and knows nothing of WIT, so
//! it compiles and is tested natively. `component` (built only for `wasm32`) binds the engine to the WIT world in
//! `wit/` and performs the HTTP, sleeping and secret look-ups through the host.

#![warn(missing_docs)]
// No panic reachable from a config, a response or a checkpoint: the few justified exceptions say why.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

pub mod auth;
pub mod budget;
pub mod checkpoint;
pub mod config;
pub mod dates;
pub mod detect;
pub mod engine;
pub mod error;
pub mod hash;
pub mod incremental;
pub mod lanes;
pub mod limits;
pub mod pace;
pub mod paginator;
pub mod redact;
pub mod render;
pub mod request;
pub mod retry;
pub mod schema;
pub mod secrets;
pub mod select;
pub mod status;
pub mod steps;
pub mod template;

#[cfg(target_arch = "wasm32")]
mod component;

pub use engine::{Engine, Now, Page, Step};
pub use error::{ConfigProblem, Error};
