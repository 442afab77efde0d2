//! The bad-config catalogue (`tests/fixtures/bad_configs.json`): each config is refused with exactly the problems
//! listed, each with its path. This holds for the engine and for the component run by the host against a live
//! API, which then has received no request at all.
//!
//! `BLESS=1 cargo test --test bad_configs` rewrites the expected problems from what the parser says now. Review
//! the diff before committing it.

use crate::support::*;
use host_test::RunError;
use host_test::wit::ConnectorError;
use rest_api_source::{Engine, Error};
use serde_json::{Value, json};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/bad_configs.json"
);

/// The catalogue: name, config, expected problems as `path: message`.
fn catalogue() -> Vec<(String, Value, Vec<String>)> {
    let text = std::fs::read_to_string(FIXTURE).expect("the catalogue reads");
    let cases: Vec<Value> = serde_json::from_str(&text).expect("the catalogue is JSON");
    cases
        .into_iter()
        .map(|c| {
            let problems = c["problems"].as_array().expect("problems").iter();
            let problems = problems.map(|p| p.as_str().expect("a problem").to_string());
            (
                c["name"].as_str().expect("a name").to_string(),
                c["config"].clone(),
                problems.collect(),
            )
        })
        .collect()
}

/// The problems the engine reports for `config`, its secrets looked up among the demo API's.
fn engine_problems(config: &Value) -> Vec<String> {
    let secrets: Value = serde_json::from_str(&api_secrets()).expect("secrets JSON");
    let mut value = config.clone();
    let lookup = |name: &str| match secrets.get(name).and_then(Value::as_str) {
        Some(v) => Ok(v.to_string()),
        None => Err("is not set for this tenant".to_string()),
    };
    let result = rest_api_source::secrets::resolve(&mut value, lookup)
        .and_then(|values| Engine::new(&config.to_string(), &value, values, None).map(|_| ()));
    match result {
        Err(Error::InvalidConfig(problems)) => problems
            .iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect(),
        Err(other) => vec![format!("not a config error: {other}")],
        Ok(()) => Vec::new(),
    }
}

fn api_secrets() -> String {
    testkit::demo_api::DemoSpec::default().secrets_json()
}

#[test]
fn each_bad_config_is_refused_with_its_exact_problems() {
    let cases = catalogue();
    assert!(
        cases.len() >= 50,
        "the catalogue has {} configs",
        cases.len()
    );
    if std::env::var_os("BLESS").is_some() {
        let blessed: Vec<Value> = cases
            .iter()
            .map(|(name, config, _)| json!({"name": name, "config": config, "problems": engine_problems(config)}))
            .collect();
        let text = serde_json::to_string_pretty(&blessed).expect("serialises");
        std::fs::write(FIXTURE, text + "\n").expect("the catalogue writes");
        return;
    }
    for (name, config, want) in &cases {
        assert!(!want.is_empty(), "{name}: no problem expected");
        assert_eq!(&engine_problems(config), want, "{name}");
    }
}

#[test]
fn the_component_refuses_each_bad_config_before_any_request() {
    let api = api();
    for (name, config, want) in catalogue() {
        let tenant = tenant(&api, &config.to_string());
        let (result, _dir) = run(&tenant);
        let Err(failure) = result else {
            panic!("{name}: the run started");
        };
        match failure.error {
            RunError::Connector(ConnectorError::InvalidConfig(problems)) => {
                let got: Vec<String> = problems
                    .iter()
                    .map(|p| format!("{}: {}", p.path, p.message))
                    .collect();
                assert_eq!(got, want, "{name}");
            }
            // A secret the tenant lacks is the host's refusal, which carries what the connector reported.
            other => {
                let text = other.to_string();
                assert!(text.starts_with("stopped by the host"), "{name}: {text}");
                assert!(
                    want.iter().all(|w| text.contains(w.as_str())),
                    "{name}: {text}"
                );
            }
        }
    }
    assert_eq!(api.log().len(), 0, "no request reached the API");
}

/// A config of many megabytes (a 20 MB header value) is refused before it is parsed, with the limit named.
#[test]
fn a_config_past_16_mib_is_refused_by_its_size() {
    let api = api();
    let config = json!({"client": {"base_url": "https://api.example.com",
                                   "headers": {"X-Huge": "x".repeat(20 << 20)}},
                        "resources": ["items"]});
    let tenant = tenant(&api, &config.to_string());
    let (result, _dir) = run(&tenant);
    let error = result.expect_err("refused").error.to_string();
    assert!(error.contains("at most 16777216 are accepted"), "{error}");
    assert_eq!(api.log().len(), 0);
}
