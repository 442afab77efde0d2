use super::*;
use serde_json::json;

fn filter(expression: &str) -> ProcessingStep {
    ProcessingStep::Filter(Filter::new(expression).unwrap_or_else(|e| panic!("{e}")))
}

fn map(set: Value, rename: Value, remove: &[&str]) -> ProcessingStep {
    let fields = |v: &Value| -> Vec<(String, Value)> {
        v.as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    };
    ProcessingStep::Map(Mapping {
        index: 0,
        set: fields(&set)
            .into_iter()
            .map(|(k, v)| (field_path(&k).unwrap(), v))
            .collect(),
        rename: fields(&rename)
            .into_iter()
            .map(|(k, v)| {
                (
                    field_path(&k).unwrap(),
                    field_path(v.as_str().unwrap()).unwrap(),
                )
            })
            .collect(),
        remove: remove.iter().map(|r| field_path(r).unwrap()).collect(),
    })
}

fn rows() -> Vec<Value> {
    // Parsed from text, so that 12.50 keeps its text (`json!` would make it 12.5).
    serde_json::from_str(
        r#"[{"id": 1, "active": true, "amount": 12.50, "user": {"name": "Ada", "tier": 2}},
            {"id": 2, "active": false, "amount": 99, "user": {"name": "Bo", "tier": 1}},
            {"id": 3, "active": true, "amount": 5, "user": {"name": "Cy", "tier": 3}},
            {"id": 4, "active": true, "amount": 10.01, "user": null}]"#,
    )
    .unwrap()
}

#[test]
fn filters_keep_the_records_their_expression_holds_for() {
    let table = [
        ("@.active == true && @.amount > 10", vec![1, 4]),
        ("@.active == false || @.amount < 6", vec![2, 3]),
        ("@.user.tier >= 2", vec![1, 3]),
        ("@.user == null", vec![4]),
        ("!@.user.name", vec![4]),
        ("@.user.name == 'Bo'", vec![2]),
        ("@.missing", vec![]),
    ];
    for (expression, want) in table {
        let kept = apply(&[filter(expression)], rows()).unwrap();
        let ids: Vec<i64> = kept.iter().map(|r| r["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, want, "{expression}");
    }
    let kept = apply(&[filter("@.amount > 10")], rows()).unwrap();
    assert_eq!(
        kept[0].to_string(),
        rows()[0].to_string(),
        "a kept record is unchanged, 12.50 as written"
    );
}

#[test]
fn expressions_that_do_not_parse_are_refused() {
    for bad in [
        "@.a ==",
        "active == true",
        "@.a = 1",
        "",
        "@.a)] || $[?(@.b",
    ] {
        assert!(Filter::new(bad).is_err(), "`{bad}` should be refused");
    }
}

#[test]
fn map_sets_then_renames_then_removes() {
    let step = map(
        json!({"source": "api", "label": "{user.name} #{id}", "copy": "{amount}", "meta.kind": "row"}),
        json!({"user.name": "name", "amount": "total"}),
        &["user", "active"],
    );
    let out = apply(&[step], rows()[..1].to_vec()).unwrap();
    assert_eq!(
        out[0].to_string(),
        r#"{"id":1,"source":"api","label":"Ada #1","copy":12.50,"meta":{"kind":"row"},"name":"Ada","total":12.50}"#,
        "field order kept, new fields last; one placeholder keeps the value and its text"
    );
}

#[test]
fn steps_run_in_order_so_a_map_can_feed_a_later_filter() {
    let steps = [
        map(json!({"big": "{amount}"}), json!({}), &[]),
        filter("@.big > 50"),
        map(json!({}), json!({}), &["big"]),
    ];
    let out = apply(&steps, rows()).unwrap();
    assert_eq!(out, vec![rows()[1].clone()]);
}

#[test]
fn nothing_is_lost_silently() {
    let missing = apply(&[map(json!({"x": "{user.email}"}), json!({}), &[])], rows()).unwrap_err();
    assert_eq!(
        missing,
        "processing_steps[0].map: set: the record has no field `user.email`"
    );
    let clash = apply(&[map(json!({}), json!({"id": "amount"}), &[])], rows()).unwrap_err();
    assert!(
        clash.contains("already has `amount`, whose value would be lost"),
        "{clash}"
    );
    let through = apply(&[map(json!({"id.x": 1}), json!({}), &[])], rows()).unwrap_err();
    assert!(through.contains("`id` is not an object"), "{through}");
    let scalar = apply(&[map(json!({"a": 1}), json!({}), &[])], vec![json!(5)]).unwrap_err();
    assert!(scalar.contains("not an object"), "{scalar}");
    let absent = apply(
        &[map(json!({}), json!({"nope": "other"}), &["nope.deeper"])],
        rows(),
    )
    .unwrap();
    assert_eq!(
        absent,
        rows(),
        "renaming or removing a field a record lacks changes nothing"
    );
}
