//! The shipped JSON Schema of the dialect (`docs/config.schema.json`) names exactly the keys this parser
//! accepts, at every level and for every paginator and auth type.

use super::{CLIENT_KEYS, ENDPOINT_KEYS, RESOURCE_KEYS, TOP_KEYS, auth_parts, incremental, parts};
use serde_json::Value;
use std::collections::BTreeSet;

fn schema() -> Value {
    serde_json::from_str(include_str!("../../docs/config.schema.json")).expect("the schema is JSON")
}

fn set<'a>(keys: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    keys.into_iter().map(String::from).collect()
}

/// The property names of an object schema.
fn properties(object: &Value) -> BTreeSet<String> {
    object["properties"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn def<'a>(schema: &'a Value, name: &str) -> &'a Value {
    &schema["$defs"][name]
}

/// The `const` values of a property across a `oneOf`'s variants, with each variant.
fn variants<'a>(one_of: &'a Value, property: &str) -> Vec<(String, &'a Value)> {
    one_of["oneOf"]
        .as_array()
        .expect("a oneOf")
        .iter()
        .map(|v| {
            let name = v["properties"][property]["const"]
                .as_str()
                .expect("a const");
            (name.to_string(), v)
        })
        .collect()
}

#[test]
fn levels_have_the_parsers_keys() {
    let s = schema();
    assert_eq!(properties(&s), set(TOP_KEYS));
    assert_eq!(properties(def(&s, "Client")), set(CLIENT_KEYS));
    assert_eq!(properties(def(&s, "Resource")), set(RESOURCE_KEYS));
    let defaults: Vec<&str> = RESOURCE_KEYS
        .iter()
        .copied()
        .filter(|k| *k != "name")
        .collect();
    assert_eq!(properties(def(&s, "ResourceDefaults")), set(defaults));
    assert_eq!(properties(def(&s, "Endpoint")), set(ENDPOINT_KEYS));
    assert_eq!(properties(def(&s, "Incremental")), set(incremental::KEYS));
    for level in [
        "Client",
        "Resource",
        "ResourceDefaults",
        "Endpoint",
        "Incremental",
    ] {
        assert_eq!(def(&s, level)["additionalProperties"], false, "{level}");
    }
}

#[test]
fn paginator_types_and_their_keys_are_the_parsers() {
    let s = schema();
    let names: Vec<String> = def(&s, "PaginatorType")["enum"]
        .as_array()
        .expect("an enum")
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        set(names.iter().map(String::as_str)),
        set(parts::PAGINATOR_TYPES)
    );
    let typed = variants(def(&s, "Paginator"), "type");
    assert_eq!(
        set(typed.iter().map(|(n, _)| n.as_str())),
        set(parts::PAGINATOR_TYPES)
    );
    for (name, variant) in typed {
        assert_eq!(
            properties(variant),
            set(parts::paginator_keys(&name).iter().copied()),
            "{name}"
        );
    }
}

#[test]
fn auth_types_are_the_parsers() {
    let s = schema();
    let typed = variants(def(&s, "Auth"), "type");
    assert_eq!(
        set(typed.iter().map(|(n, _)| n.as_str())),
        set(auth_parts::AUTH_TYPES)
    );
}

/// The schema lists its own copy of dlt's type names (the host does not link the engine): each one parses, and
/// each parsed type is named in the list under its own name.
#[test]
fn the_schema_names_exactly_the_data_types_the_parser_knows() {
    use crate::schema::DataType;
    let names: Vec<String> = def(&schema(), "DataType")["enum"]
        .as_array()
        .expect("an enum")
        .iter()
        .map(|n| n.as_str().expect("a name").to_string())
        .collect();
    for name in &names {
        let parsed = DataType::from_name(name).unwrap_or_else(|| panic!("`{name}` does not parse"));
        let own = serde_json::to_value(parsed).expect("serialises");
        let own = own.as_str().expect("a name");
        assert!(
            names.iter().any(|n| n == own),
            "`{own}` is missing from the schema"
        );
    }
    assert!(DataType::from_name("varchar").is_none());
}
