//! The `schema` export through the real component: what each seed's records produce, resumed runs, and
//! declared hints.

use crate::support::*;
use host_test::wit::{Column, DataType, FactSource, TableSchema};
use serde_json::{Value, json};

/// Run a tenant to the end through a session; its final schema.
fn final_schema(tenant: &host_test::Tenant, checkpoint: Option<&str>) -> Vec<TableSchema> {
    let mut session = plugin().configure(tenant, checkpoint).unwrap();
    while session.next_page().unwrap().is_some() {}
    session.schema().unwrap()
}

fn columns(t: &TableSchema) -> Vec<(String, Option<DataType>, bool)> {
    t.columns
        .iter()
        .map(|c: &Column| (c.name.clone(), c.data_type, c.nullable))
        .collect()
}

fn demo_columns() -> Vec<(String, Option<DataType>, bool)> {
    [
        ("id", Some(DataType::Bigint), false),
        ("name", Some(DataType::Text), false),
        ("amount", Some(DataType::Double), false),
        ("active", Some(DataType::Bool), false),
        ("created_at", Some(DataType::Timestamp), false),
        ("note", Some(DataType::Text), true),
        ("attributes", Some(DataType::Json), false),
    ]
    .iter()
    .map(|(n, t, null)| (n.to_string(), *t, *null))
    .collect()
}

/// One test per seed: the schema its records produce (types and nullability from the records; the primary key,
/// merge disposition and table names from the seed's hints).
#[test]
fn each_seed_produces_the_schema_of_its_records() {
    for id in ["000", "001", "002", "003", "004"] {
        let api = api();
        let tables = final_schema(&tenant(&api, &seed_config(id)), None);
        let names: Vec<&str> = tables.iter().map(|t| t.resource.as_str()).collect();
        let want: &[&str] = if id == "003" {
            &["customer_usage", "wallets"]
        } else {
            &["resource_name"]
        };
        assert_eq!(names, want, "seed {id}");
        for t in &tables {
            assert_eq!(columns(t), demo_columns(), "seed {id} {}", t.resource);
            assert_eq!(t.primary_key, vec!["id"], "seed {id}");
            assert_eq!(
                host_test::describe::disposition_name(t.write_disposition),
                "merge",
                "seed {id}"
            );
            let id_col = &t.columns[0];
            assert!(
                id_col.primary_key && id_col.type_source == FactSource::Inferred,
                "seed {id}"
            );
        }
    }
}

/// A run resumed from the checkpoint of page 3 ends with the same schema as an uninterrupted one: the inferred
/// schema rides in the checkpoint.
#[test]
fn a_resumed_run_keeps_its_schema() {
    let api = api();
    let uninterrupted = final_schema(&tenant(&api, &seed_config("000")), None);
    let t = tenant(&api, &seed_config("000"));
    let mut session = plugin().configure(&t, None).unwrap();
    let mut checkpoint = String::new();
    for _ in 0..3 {
        checkpoint = session.next_page().unwrap().unwrap().checkpoint;
    }
    drop(session);
    let resumed = final_schema(&t, Some(&checkpoint));
    assert_eq!(resumed, uninterrupted);
}

/// Declared `columns` hints (merged from `resource_defaults` per column) win over what the records show.
#[test]
fn declared_hints_override_inference() {
    let api = api();
    let mut config: Value = serde_json::from_str(&seed_config("000")).unwrap();
    config["resource_defaults"]["columns"] = json!({"amount": {"data_type": "decimal"}});
    config["resources"][0]["columns"] = json!([{"name": "id", "data_type": "text", "nullable": false}, {"name": "amount", "nullable": false}]);
    let tables = final_schema(&tenant(&api, &config.to_string()), None);
    let t = &tables[0];
    let by_name = |n: &str| t.columns.iter().find(|c| c.name == n).unwrap();
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).take(2).collect();
    assert_eq!(
        names,
        vec!["amount", "id"],
        "dlt's merge: the defaults' columns first, then the resource's new ones"
    );
    let id = by_name("id");
    assert_eq!(
        (id.name.as_str(), id.data_type, id.nullable, id.type_source),
        ("id", Some(DataType::Text), false, FactSource::Declared)
    );
    let amount = by_name("amount");
    assert_eq!(
        (amount.name.as_str(), amount.data_type, amount.nullable),
        ("amount", Some(DataType::Decimal), false)
    );
    assert_eq!(
        amount.type_source,
        FactSource::Declared,
        "the default's type, merged per column"
    );
}
