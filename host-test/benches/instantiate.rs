//! What a tenant costs before it fetches anything: instantiating the component in a fresh store with the pooling
//! allocator (pre-instantiated, precompiled), and instantiating plus `configure` with seed 000's config.
//!
//! `cargo bench -p host-test --bench instantiate -- [iterations]` (default 2,000). `bench/run.sh` runs it.

use host_test::EgressPolicy;
use host_test::SecretStore;
use host_test::{Runtime, Tenant};
use std::time::{Duration, Instant};

fn main() {
    let iterations: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let component = testkit::component::build_component().expect("the component builds");
    let cache = component.with_file_name(".precompiled");
    let runtime = Runtime::pooled(1000)
        .expect("the engine starts")
        .with_cache(&cache);
    let plugin = runtime.load(&component).expect("the component loads");
    let seed = include_str!("../../seeds/000_d0cafc2d376f2708.txt");
    let config = testkit::seed::config_json(seed).expect("seed 000 holds a config");
    let tenant = Tenant {
        name: "bench".into(),
        egress: EgressPolicy::from_config(&serde_json::from_str(&config).expect("JSON")),
        secrets: SecretStore::from_json(r#"{"api_key": "demo-api-key"}"#).expect("secrets"),
        config,
        ..Tenant::default()
    };
    let executor = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("an executor");
    let instantiate = executor.block_on(async {
        let mut times = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let started = Instant::now();
            plugin
                .instantiate_async(&tenant)
                .await
                .expect("instantiates");
            times.push(started.elapsed());
        }
        times
    });
    report("instantiate (fresh store, pooled)", instantiate);
    let configure = executor.block_on(async {
        let mut times = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let started = Instant::now();
            plugin
                .configure_async(&tenant, None)
                .await
                .expect("configures");
            times.push(started.elapsed());
        }
        times
    });
    report("instantiate + configure (seed 000)", configure);
}

/// Print the median and the 99th percentile.
fn report(name: &str, mut times: Vec<Duration>) {
    times.sort_unstable();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "{name}: median {:.1} µs, p99 {:.1} µs ({} runs)",
        at(0.5).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
        times.len()
    );
}
