//! Tests of the `host-test` binary as a process (they need `CARGO_BIN_EXE_host-test`, which only this package's
//! tests get), one test binary: the commands, the tools, proxies and TLS; `cli_support` is their shared harness.
//! `tests/crash.rs` stays a binary of its own: it kills runs at timed points, and the other tests' load would
//! bunch those points together. Library-level end-to-end tests live in the workspace root's `tests/e2e`.

mod cli_support;

mod cli;
mod cli_tools;
mod proxy;
mod tls;
