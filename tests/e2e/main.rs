//! End-to-end tests of the component in the reference host, one test binary (as wasmtime's `tests/all`): each
//! module is one concern, and `support` is their shared harness (the built component, the demo API, runs).

mod support;

mod bad_configs;
mod compression;
mod concurrency;
mod config_schema;
mod connections;
mod dlt_client;
mod dlt_offline;
mod egress;
mod faults;
mod hostile;
mod hostile_transport;
mod numbers;
mod plugins;
mod postgres;
mod rate_limits;
mod real_rate_limit;
mod redirects;
mod retries;
mod sandbox;
mod schema;
mod seeds;
mod sqlite;
mod steps;
mod tenants;
mod traps;
mod windows;
