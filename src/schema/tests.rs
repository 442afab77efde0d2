//! Schema inference, widening, declared hints, change events, and the comparison with dlt 1.31's normaliser.

use super::*;
use serde_json::json;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

fn table() -> TableSchema {
    TableSchema {
        resource: "r".into(),
        table_name: "r".into(),
        columns: Vec::new(),
        primary_key: vec!["id".into()],
        merge_key: vec![],
        write_disposition: WriteDisposition::Merge,
        parent: None,
        incremental_cursor: None,
        selected: true,
        records_seen: 0,
    }
}

fn types(t: &TableSchema) -> Vec<(&str, Option<DataType>, bool)> {
    t.columns
        .iter()
        .map(|c| (c.name.as_str(), c.data_type, c.nullable))
        .collect()
}

#[test]
fn value_types() {
    use DataType::*;
    let cases = [
        (json!(null), None),
        (json!(true), Some(Bool)),
        (json!(7), Some(Bigint)),
        (json!(18446744073709551615u64), Some(Decimal)),
        (json!(-7), Some(Bigint)),
        (json!(1.5), Some(Double)),
        (json!(2.0), Some(Double)),
        (json!("2024-01-02T03:04:05Z"), Some(Timestamp)),
        (json!("2024-01-02T03:04:05.123+02:00"), Some(Timestamp)),
        (json!("2024-01-02 03:04:05"), Some(Timestamp)),
        (json!("2024-01-02T03:04"), Some(Timestamp)),
        (json!("2024-01-02 03:04:05.5+02:00"), Some(Timestamp)),
        (json!("2024-01-02 03:04:05+2"), Some(Text)),
        (json!("2024-01-02 03:04:05 UTC"), Some(Text)),
        (json!("2024-01-02T25:04:05"), Some(Text)),
        (json!("2024-01-02"), Some(Date)),
        (json!("2024-13-02"), Some(Text)),
        (json!("12:30:00"), Some(Text)),
        (json!("2024-01-02 and more"), Some(Text)),
        (json!("hello"), Some(Text)),
        (json!({"a": 1}), Some(Json)),
        (json!([1, 2]), Some(Json)),
    ];
    for (value, want) in cases {
        assert_eq!(DataType::of(&value), want, "{value}");
    }
}

#[test]
fn widening_is_deterministic_and_order_independent() {
    use DataType::*;
    let all = [
        Text, Bigint, Double, Bool, Timestamp, Date, Time, Decimal, Json, Binary,
    ];
    for a in all {
        for b in all {
            assert_eq!(a.widen(b), b.widen(a), "{a:?} + {b:?}");
            assert_eq!(a.widen(a), a);
        }
    }
    let cases = [
        (Bigint, Double, Double),
        (Date, Timestamp, Timestamp),
        (Bigint, Text, Text),
        (Bool, Bigint, Text),
        (Timestamp, Text, Text),
        (Json, Bigint, Json),
        (Json, Text, Json),
        (Double, Bool, Text),
    ];
    for (a, b, want) in cases {
        assert_eq!(a.widen(b), want, "{a:?} + {b:?}");
    }
}

#[test]
fn inference_with_changes_reported() {
    let mut t = table();
    let first = t.observe(&json!({"id": 1, "score": 1, "at": "2024-01-01", "tags": [1]}));
    assert_eq!(
        first,
        vec![
            Change::NewColumn("id".into(), Some(DataType::Bigint)),
            Change::NewColumn("score".into(), Some(DataType::Bigint)),
            Change::NewColumn("at".into(), Some(DataType::Date)),
            Change::NewColumn("tags".into(), Some(DataType::Json)),
        ]
    );
    let second = t.observe(
        &json!({"id": 2, "score": 2.5, "at": "2024-01-02T10:00:00Z", "tags": null, "late": "x"}),
    );
    assert_eq!(
        second,
        vec![
            Change::Widened("score".into(), DataType::Bigint, DataType::Double),
            Change::Widened("at".into(), DataType::Date, DataType::Timestamp),
            Change::BecameNullable("tags".into()),
            Change::NewColumn("late".into(), Some(DataType::Text)),
        ]
    );
    assert!(
        t.observe(&json!({"id": 3, "score": 1, "at": "2024-01-03", "tags": [], "late": "y"}))
            .is_empty(),
        "nothing new"
    );
    assert_eq!(
        types(&t),
        vec![
            ("id", Some(DataType::Bigint), false),
            ("score", Some(DataType::Double), false),
            ("at", Some(DataType::Timestamp), false),
            ("tags", Some(DataType::Json), true),
            ("late", Some(DataType::Text), true),
        ]
    );
    assert_eq!(
        t.observe(&json!({"id": 4})),
        vec![
            Change::BecameNullable("score".into()),
            Change::BecameNullable("at".into()),
        ],
        "missing columns become nullable"
    );
    assert!(t.columns[0].primary_key && t.columns[0].type_source == Source::Inferred);
}

#[test]
fn declared_hints_win_over_inference() {
    let mut t = table();
    t.columns = vec![
        declared_column(&ColumnHint {
            name: "id".into(),
            data_type: Some("text".into()),
            nullable: Some(false),
        }),
        declared_column(&ColumnHint {
            name: "amount".into(),
            data_type: Some("decimal".into()),
            nullable: None,
        }),
        declared_column(&ColumnHint {
            name: "note".into(),
            data_type: None,
            nullable: Some(false),
        }),
    ];
    t.observe(&json!({"id": 5, "amount": 1.5, "note": "a"}));
    t.observe(&json!({"amount": "x", "note": 3}));
    let got: Vec<(&str, Option<DataType>, bool, Source, Source)> = t
        .columns
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.data_type,
                c.nullable,
                c.type_source,
                c.nullable_source,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "id",
                Some(DataType::Text),
                false,
                Source::Declared,
                Source::Declared
            ),
            (
                "amount",
                Some(DataType::Decimal),
                true,
                Source::Declared,
                Source::Declared
            ),
            (
                "note",
                Some(DataType::Text),
                false,
                Source::Inferred,
                Source::Declared
            ),
        ]
    );
}

#[test]
fn the_inferred_part_round_trips() {
    let mut t = table();
    t.observe(&json!({"id": 1, "a": 1.5}));
    t.observe(&json!({"id": 2}));
    let inferred = t.inferred();
    let text = serde_json::to_string(&inferred).unwrap();
    let mut fresh = table();
    fresh.restore(&serde_json::from_str(&text).unwrap());
    assert_eq!(types(&fresh), types(&t));
    assert_eq!(
        fresh.observe(&json!({"id": 3, "a": 2})),
        vec![],
        "it continues where it was"
    );
    assert_eq!(types(&fresh), types(&t));
}

/// The comparison with dlt 1.31: `tests/fixtures/dlt_inferred_types.json` holds what dlt's normaliser inferred
/// for the same records (captured by running dlt 1.31.0). Every difference is listed here and in
/// `docs/schema.md`.
#[test]
fn compared_with_dlt_1_31() {
    let fixture: Value =
        serde_json::from_str(include_str!("../../tests/fixtures/dlt_inferred_types.json")).unwrap();
    let name = |t: Option<DataType>| {
        t.map_or("none".to_string(), |t| {
            serde_json::to_value(t)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
    };
    // Column -> (our type, dlt's type) where they differ, per case; anything not listed must agree.
    let differences: BTreeMap<&str, Vec<(&str, &str, &str)>> = BTreeMap::from([
        (
            "int_then_float",
            vec![("v", "double", "bigint + variant v__v_double")],
        ),
        (
            "int_then_string",
            vec![("v", "text", "bigint + variant v__v_text")],
        ),
        ("bool_then_int", vec![("v", "text", "bool")]),
        ("iso_date", vec![("d", "date", "text")]),
        (
            "nested",
            vec![
                ("o", "json", "flattened o__x, o__y"),
                ("l", "json", "child table nested__l"),
                ("lo", "json", "child table nested__lo"),
            ],
        ),
        (
            "demo_row",
            vec![(
                "attributes",
                "json",
                "flattened attributes__tier + child table",
            )],
        ),
        ("scalars", vec![("n", "none", "no column (only nulls)")]),
        (
            "big_int",
            vec![("v", "decimal", "bigint (which no 64-bit column holds)")],
        ),
    ]);
    for (case, body) in fixture["cases"].as_object().unwrap() {
        let mut t = table();
        for record in body["records"].as_array().unwrap() {
            t.observe(record);
        }
        let dlt = &body["dlt_tables"][case];
        let expected = differences.get(case.as_str()).cloned().unwrap_or_default();
        for column in &t.columns {
            let ours = name(column.data_type);
            match expected.iter().find(|(c, _, _)| *c == column.name) {
                Some((_, want_ours, _)) => assert_eq!(
                    ours, *want_ours,
                    "{case}.{}: listed difference",
                    column.name
                ),
                None => assert_eq!(
                    Some(ours.as_str()),
                    dlt[&column.name]["data_type"].as_str(),
                    "{case}.{}: must agree with dlt",
                    column.name
                ),
            }
        }
        // dlt marks every inferred column nullable; we infer NOT NULL for columns present and non-null in every
        // record (the listed nullability difference).
        for (column, facts) in dlt.as_object().unwrap() {
            assert_eq!(
                facts["nullable"], true,
                "{case}.{column}: dlt's nullability"
            );
        }
    }
}

/// A column seen only as null gets its first type later: a `Typed` change, not a silent one.
#[test]
fn a_null_only_column_reports_its_first_type() {
    let mut t = table();
    assert_eq!(
        t.observe(&json!({"id": 1, "note": null})),
        vec![
            Change::NewColumn("id".into(), Some(DataType::Bigint)),
            Change::NewColumn("note".into(), None),
        ]
    );
    assert_eq!(
        t.observe(&json!({"id": 2, "note": "x"})),
        vec![Change::Typed("note".into(), DataType::Text)]
    );
    assert_eq!(types(&t)[1], ("note", Some(DataType::Text), true));
}

#[test]
fn a_record_in_its_text_is_observed_like_its_parsed_value() {
    let records = [
        r#"{"id": 1, "name": "a", "amount": 1.25, "active": true, "at": "2024-01-02T03:04:05Z"}"#,
        r#"{"id": 18446744073709551615, "big": 184467440737095516150, "exp": 1e3, "neg": -0, "day": "2024-02-03"}"#,
        r#"{"id": 2, "name": null, "nested": {"a": [1, {"b": "x"}]}, "list": [], "obj": {}}"#,
        "{\"id\": 3, \"esc\\\"aped\": \"line\\nbreak\", \"day\": \"2024-0\\u0032-03\", \"uni\": \"\\u00e9\"}",
        r#"{"id": 4, "amount": 7, "at": "2024-01-02", "late": false}"#,
        r#"{ "id" : 5 ,
            "name" : "spaced" }"#,
        r#"{"id": 6, "name": "2024-01-02T03:04:05Z", "at": "2024-01-02T03:04:05+01:00"}"#,
        "[1, 2]",
        "\"not an object\"",
        "null",
    ];
    let (mut parsed, mut raw) = (table(), table());
    for text in records {
        let value: Value = serde_json::from_str(text).unwrap();
        let boxed: Box<RawValue> = serde_json::from_str(text).unwrap();
        let seen = raw.observe_raw(&boxed, 126);
        assert_eq!(parsed.observe(&value), seen.changes, "{text}");
        assert_eq!(
            seen.keyed,
            parsed.missing_key(&value).is_none(),
            "{text}: the primary key"
        );
        assert!(!seen.too_deep);
    }
    assert_eq!(types(&parsed), types(&raw));
    assert_eq!(parsed.records_seen, raw.records_seen);
    let day = raw.columns.iter().find(|c| c.name == "day").unwrap();
    assert_eq!(day.data_type, Some(DataType::Date), "escapes are decoded");
    let type_of =
        |t: &TableSchema, name: &str| t.columns.iter().find(|c| c.name == name).unwrap().data_type;
    assert_eq!(
        type_of(&raw, "name"),
        Some(DataType::Text),
        "a timestamp in a text column"
    );
    assert_eq!(type_of(&raw, "at"), Some(DataType::Timestamp));
    // A text column that sees a non-string still widens.
    let widened = [Change::Widened(
        "name".into(),
        DataType::Text,
        DataType::Json,
    )];
    let boxed: Box<RawValue> = serde_json::from_str(r#"{"name": {"x": 1}}"#).unwrap();
    assert_eq!(parsed.observe(&json!({"name": {"x": 1}}))[..1], widened[..]);
    assert_eq!(raw.observe_raw(&boxed, 126).changes[..1], widened[..]);
    // Nested values deeper than allowed are found; the record's own level does not count.
    let deep: Box<RawValue> =
        serde_json::from_str(r#"{"id": 1, "a": [[[1]]], "s": "[[[[[["}"#).unwrap();
    assert!(!raw.observe_raw(&deep, 3).too_deep);
    assert!(raw.observe_raw(&deep, 2).too_deep);
    assert_eq!(
        type_of(&raw, "big"),
        Some(DataType::Decimal),
        "beyond 64 bits"
    );
    assert_eq!(type_of(&raw, "exp"), Some(DataType::Double));
    assert_eq!(
        type_of(&raw, "neg"),
        Some(DataType::Double),
        "-0 keeps its sign"
    );
}

/// Numbers are typed by their text: nothing is rounded to tell them apart.
#[test]
fn numbers_are_typed_by_their_text() {
    let cases = [
        ("0", DataType::Bigint),
        ("-9223372036854775808", DataType::Bigint),
        ("9223372036854775807", DataType::Bigint),
        ("9223372036854775808", DataType::Decimal),
        ("18446744073709551616", DataType::Decimal),
        ("-0", DataType::Double),
        ("1.50", DataType::Double),
        ("0.9862926128870997", DataType::Double),
        ("5e-324", DataType::Double),
        ("1e400", DataType::Decimal),
        ("-2E999", DataType::Decimal),
    ];
    for (text, expected) in cases {
        assert_eq!(DataType::of_number(text), expected, "{text}");
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(DataType::of(&value), Some(expected), "{text}");
        // serde_json writes an exponent as `e`, with its sign: the same number.
        let kept = text
            .replace('E', "e")
            .replace("e9", "e+9")
            .replace("e4", "e+4");
        assert_eq!(value.to_string(), kept, "the text is kept");
    }
    assert_eq!(DataType::Bigint.widen(DataType::Decimal), DataType::Decimal);
    assert_eq!(DataType::Decimal.widen(DataType::Double), DataType::Decimal);
    assert_eq!(DataType::Decimal.widen(DataType::Text), DataType::Text);
}
