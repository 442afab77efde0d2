//! The engine compiled natively, fed the demo API's page bodies from memory: what extraction costs without the
//! sandbox, the component boundary or the network. `bench/run.sh` prints it next to the host + component.
//!
//! `cargo bench --bench engine -- [rows]` (default 100,000 rows in pages of 100; seed 000's config).

use rest_api_source::{Engine, Now, Step, request::HttpResponse};
use serde_json::{Value, json};
use std::time::Instant;

const PAGE: usize = 100;
const SEED: &str = include_str!("../seeds/000_d0cafc2d376f2708.txt");

fn main() {
    let rows: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.replace('_', "").parse().ok())
        .unwrap_or(100_000);
    let config_text = testkit::seed::config_json(SEED).expect("seed 000 holds a config");
    let spec = testkit::demo_api::DemoSpec::default();
    let bodies: Vec<Vec<u8>> = (0..rows.div_ceil(PAGE).max(1))
        .map(|page| page_body(&spec, page * PAGE, rows))
        .collect();
    let bytes: usize = bodies.iter().map(Vec::len).sum();

    let started = Instant::now();
    let (stored, pages) = extract(&config_text, &spec.api_key, &bodies);
    let elapsed = started.elapsed().as_secs_f64();

    assert_eq!(stored, rows, "every row is extracted once");
    println!(
        "native engine: {rows} rows, {pages} pages, {:.1} MB of bodies: {elapsed:.3} s ({:.3} s per 100k rows, {:.0} rows/s)",
        bytes as f64 / 1e6,
        elapsed / rows.max(1) as f64 * 100_000.0,
        rows as f64 / elapsed
    );
}

/// The body the demo API answers for `offset` (the same rows and shape).
fn page_body(spec: &testkit::demo_api::DemoSpec, offset: usize, total: usize) -> Vec<u8> {
    let end = (offset + PAGE).min(total);
    let data: Vec<Value> = (offset.min(total)..end)
        .map(|i| spec.row("resource", i))
        .collect();
    serde_json::to_vec(&json!({"data": data, "total": total})).expect("serialises")
}

/// Run the engine to the end, answering each request with the body for its offset: (rows, pages).
fn extract(config_text: &str, api_key: &str, bodies: &[Vec<u8>]) -> (usize, usize) {
    let mut config: Value = serde_json::from_str(config_text).expect("config JSON");
    let secrets = rest_api_source::secrets::resolve(&mut config, |_| Ok(api_key.to_string()))
        .expect("secrets resolve");
    let mut engine = Engine::new(config_text, &config, secrets, None).expect("config is valid");
    let (mut rows, mut pages) = (0, 0);
    let now = Now::default();
    loop {
        match engine.poll(now).expect("the run succeeds") {
            Step::Send(request) => {
                let offset: usize = url::Url::parse(&request.url)
                    .expect("absolute URL")
                    .query_pairs()
                    .find(|(k, _)| k == "offset")
                    .map_or(0, |(_, v)| v.parse().expect("numeric offset"));
                let response = HttpResponse {
                    status: 200,
                    headers: vec![("content-type".into(), "application/json".into())],
                    body: bodies.get(offset / PAGE).cloned().unwrap_or_default(),
                };
                engine.on_response(now, response).expect("response taken");
            }
            Step::Page(page) => {
                rows += page.record_count as usize;
                pages += 1;
            }
            Step::Sleep { .. } => panic!("no retries are expected"),
            Step::Done => return (rows, pages),
        }
    }
}
