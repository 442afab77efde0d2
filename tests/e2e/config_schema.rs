//! The config dialect's JSON Schema (`docs/config.schema.json`, `host-test config-schema`): shipped as generated,
//! and in agreement with the connector's parser: every config the parser accepts validates, and configs the
//! parser refuses for their shape fail validation too.

use crate::support::*;
use host_test::SecretStore;
use serde_json::{Value, json};

fn shipped() -> Value {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/config.schema.json"),
    )
    .expect("docs/config.schema.json exists");
    serde_json::from_str(&text).expect("the shipped schema is JSON")
}

#[test]
fn the_shipped_schema_is_the_generated_one() {
    let generated = host_test::config_schema::json_schema();
    let on_disk = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/config.schema.json"),
    )
    .unwrap();
    assert!(
        generated == on_disk,
        "docs/config.schema.json is stale: run `cargo run -p host-test -- config-schema > docs/config.schema.json`"
    );
}

/// Whether the component's parser accepts `config` (secrets named in it are given).
fn parser_accepts(config: &Value) -> bool {
    let names = host_test::fleet::tenant_file::secret_names(config);
    let pairs: Vec<(String, String)> = names.iter().map(|n| (n.clone(), "x".into())).collect();
    let tenant = host_test::Tenant {
        name: "schema".into(),
        config: config.to_string(),
        secrets: SecretStore::from_pairs(pairs),
        ..host_test::Tenant::default()
    };
    match plugin().configure(&tenant, None) {
        Ok(_) => true,
        Err(host_test::RunError::Connector(host_test::wit::ConnectorError::InvalidConfig(_))) => {
            false
        }
        Err(e) => panic!("configure failed otherwise: {e}"),
    }
}

/// A config using every key the dialect has, in each of its forms.
fn kitchen_sink() -> Value {
    json!({
        "client": {
            "base_url": "https://api.example.com/v1/",
            "headers": {"X-Client": "rest-source", "X-Key": {"secret": "header_key"}},
            "auth": {"type": "oauth2_client_credentials", "access_token_url": "https://api.example.com/token",
                     "client_id": {"secret": "client_id"}, "client_secret": {"secret": "client_secret"},
                     "access_token_request_data": {"scope": "read"}, "default_token_expiration": 600},
            "paginator": {"type": "offset", "limit": 100, "total_path": null, "stop_after_empty_page": true},
            "error_handler": {"retry_on_status_codes": [429, 503], "max_retries": 2, "backoff_factor": 0.5,
                              "max_delay": 30, "timeout": 20}
        },
        "resource_defaults": {
            "primary_key": "id",
            "write_disposition": "merge",
            "endpoint": {"params": {"per_page": 100}, "max_pages": 50},
            "columns": {"id": {"data_type": "bigint", "nullable": false}}
        },
        "resources": [
            "users",
            {"name": "posts", "table_name": "blog_posts", "merge_key": ["author_id"],
             "write_disposition": {"disposition": "merge"},
             "columns": [{"name": "title", "data_type": "text"}],
             "endpoint": {"path": "posts", "method": "GET", "data_selector": "data.items",
                          "paginator": {"type": "page_number", "base_page": 1, "total_path": "meta.pages"},
                          "params": {"since": {"type": "incremental", "cursor_path": "updated_at",
                                               "initial_value": "2024-01-01T00:00:00Z"}},
                          "response_actions": [{"status_code": 404, "action": "ignore"}],
                          "auth": {"type": "api_key", "name": "X-Api-Key", "api_key": {"secret": "api_key"},
                                   "location": "header"}}},
            {"name": "comments", "include_from_parent": ["title"], "selected": true,
             "max_table_nesting": 1, "parallelized": false,
             "endpoint": {"path": "posts/{resources.posts.id}/comments",
                          "paginator": "single_page", "auth": null,
                          "headers": {"X-Post": "{resources.posts.id}"}}},
            {"name": "events", "write_disposition": "append", "primary_key": null,
             "endpoint": {"path": "events", "method": "POST", "json": {"query": "all", "after": "{incremental.start_value}"},
                          "paginator": {"type": "cursor", "cursor_path": "next", "cursor_body_path": "cursor", "limit": 50},
                          "incremental": {"cursor_path": "ts", "initial_value": 0, "row_order": "asc",
                                          "on_cursor_value_missing": "exclude", "lag": 10, "last_value_func": "max"},
                          "error_handler": {"max_retries": 0}}},
            {"name": "links", "endpoint": {"path": "links", "paginator": {"type": "header_link", "links_next_key": "next"}}},
            {"name": "next_urls", "endpoint": {"path": "n", "paginator": {"type": "json_link", "next_url_path": "paging.next"},
                                               "auth": {"type": "bearer", "token": {"secret": "token"}}}},
            {"name": "head_cursor", "endpoint": {"path": "h", "paginator": {"type": "header_cursor", "cursor_key": "X-Next"},
                                                 "auth": {"token": {"secret": "token"}}}},
            {"name": "basic", "endpoint": {"path": "b", "data": {"a": "1"}, "method": "POST",
                                           "auth": {"type": "http_basic", "username": "u", "password": {"secret": "pw"}}}},
            {"name": "seeded", "endpoint": {"path": "s", "auth": {"type": "oauth2", "token_url": "https://api.example.com/t",
                                                                  "client_id": "c", "client_secret": {"secret": "cs"}}}}
        ]
    })
}

#[test]
fn every_config_the_parser_accepts_validates() {
    let schema = shipped();
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let mut configs: Vec<(String, Value)> = seed_documents()
        .into_iter()
        .map(|(id, doc)| {
            let text = testkit::seed::config_json(&doc).unwrap();
            (format!("seed {id}"), serde_json::from_str(&text).unwrap())
        })
        .collect();
    configs.push(("kitchen sink".into(), kitchen_sink()));
    for (what, config) in &configs {
        assert!(parser_accepts(config), "{what}: the parser refuses it");
        let errors: Vec<String> = validator
            .iter_errors(config)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{what}: {errors:#?}");
    }
}

#[test]
fn configs_the_parser_refuses_for_their_shape_fail_validation() {
    let validator = jsonschema::validator_for(&shipped()).unwrap();
    let base = || kitchen_sink();
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut c = base();
    c["extra"] = json!(1);
    cases.push(("unknown top-level key", c));
    let mut c = base();
    c["client"]["timeout"] = json!(5);
    cases.push(("unknown client key", c));
    let mut c = base();
    c["client"].as_object_mut().unwrap().remove("base_url");
    cases.push(("no base_url", c));
    let mut c = base();
    c["resources"][1]["endpoint"]["paginator"] = json!({"type": "offset"});
    cases.push(("offset without limit", c));
    let mut c = base();
    c["resources"][1]["endpoint"]["paginator"] = json!({"type": "page_number", "limit": 5});
    cases.push(("page_number with limit", c));
    let mut c = base();
    c["resources"][1]["endpoint"]["auth"] = json!({"type": "digest", "token": "t"});
    cases.push(("unknown auth type", c));
    let mut c = base();
    c["resources"][1]["endpoint"]["method"] = json!("PUT");
    cases.push(("PUT", c));
    let mut c = base();
    c["resources"][1]["write_disposition"] = json!("upsert");
    cases.push(("unknown disposition", c));
    let mut c = base();
    c["resources"][3]["endpoint"]["incremental"]["cursor"] = json!("ts");
    cases.push(("unknown incremental key", c));
    let mut c = base();
    c["resources"][1]["endpoint"]["response_actions"] =
        json!([{"status_code": 404, "action": "retry"}]);
    cases.push(("a callable response action", c));
    let mut c = base();
    c["resources"][1]["endpoint"]["pagination"] = json!("auto");
    cases.push(("misspelt endpoint key", c));
    let mut c = base();
    c["resources"][1]["columns"] = json!([{"name": "x", "data_type": "varchar"}]);
    cases.push(("unknown data type", c));
    for (what, config) in cases {
        assert!(!parser_accepts(&config), "{what}: the parser accepts it");
        assert!(
            !validator.is_valid(&config),
            "{what}: the schema accepts it"
        );
    }
}
