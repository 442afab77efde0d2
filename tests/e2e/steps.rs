//! Declarative `processing_steps` through the component and host: the rows stored are the API's rows filtered
//! and mapped as the steps say, computed here independently.

use crate::support::*;
use serde_json::{Value, json};

#[test]
fn filter_and_map_steps_shape_the_stored_rows() {
    let api = api();
    let mut config: Value = serde_json::from_str(&seed_config("000")).unwrap();
    config["resources"][0]["processing_steps"] = json!([
        {"filter": "@.active == true && @.amount > 10"},
        {"map": {
            "set": {"source": "demo", "label": "{name} (tier {attributes.tier})", "tier": "{attributes.tier}"},
            "rename": {"note": "remark"},
            "remove": ["attributes.tags"]
        }}
    ]);
    let (_, dir) = run_ok(&tenant(&api, &config.to_string()));
    let want: Vec<Value> = api
        .rows("resource")
        .into_iter()
        .filter(|r| r["active"] == true && r["amount"].as_f64().unwrap() > 10.0)
        .map(|mut r| {
            let tier = r["attributes"]["tier"].clone();
            r["source"] = json!("demo");
            r["label"] = json!(format!("{} (tier {})", r["name"].as_str().unwrap(), tier));
            r["tier"] = tier;
            let note = r.as_object_mut().unwrap().shift_remove("note").unwrap();
            r["remark"] = note;
            r["attributes"]
                .as_object_mut()
                .unwrap()
                .shift_remove("tags");
            r
        })
        .collect();
    assert!(
        want.len() > 500 && want.len() < 1234,
        "{} rows pass",
        want.len()
    );
    assert_eq!(rows(dir.path(), "resource_name"), want);
}
