//! Incremental filtering, state and lag, following dlt 1.31 (reference §14, the verified cases).

use super::*;
use serde_json::json;

fn inc(extra: Value) -> Incremental {
    let mut i = Incremental {
        cursor_path: Path::parse("updated_at").unwrap(),
        initial_value: None,
        end_value: None,
        start_param: None,
        end_param: None,
        lag: None,
        row_order: None,
        on_missing: Missing::Raise,
        start_open: false,
        end_closed: false,
        direction: Direction::Max,
        primary_key: None,
        window: None,
    };
    if let Some(v) = extra.get("initial_value") {
        i.initial_value = Some(v.clone());
    }
    if let Some(v) = extra.get("end_value") {
        i.end_value = Some(v.clone());
    }
    if let Some(v) = extra.get("lag").and_then(Value::as_f64) {
        i.lag = Some(v);
    }
    if extra.get("min").is_some() {
        i.direction = Direction::Min;
    }
    i
}

fn rows(cursors: &[(i64, &str)]) -> Vec<Value> {
    cursors
        .iter()
        .map(|(id, c)| json!({"id": id, "updated_at": c}))
        .collect()
}

/// Run the filter over records; the kept ids and the state after.
fn run(i: &Incremental, mut state: CursorState, records: &[Value]) -> (Vec<i64>, CursorState) {
    let key = vec!["id".to_string()];
    let kept = records
        .iter()
        .filter(|r| i.filter(&mut state, r, &key).unwrap().keep)
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    (kept, state)
}

/// Reference §14.4 (verified with a real pipeline): run 1 loads ids 1–3 (cursors 01, 02, 02) and stores
/// last 02 with the hashes of ids 2 and 3; run 2 gets ids 2–5 and loads only 4 (same cursor) and 5.
#[test]
fn dlt_verified_two_runs_with_boundary_dedup() {
    let i = inc(json!({}));
    let (kept, state) = run(
        &i,
        i.bind(None).unwrap(),
        &rows(&[(1, "2024-01-01"), (2, "2024-01-02"), (3, "2024-01-02")]),
    );
    assert_eq!(kept, vec![1, 2, 3]);
    assert_eq!(state.last_value, Some(json!("2024-01-02")));
    assert_eq!(state.final_hashes().len(), 2);
    let next = i.bind(Some(&state)).unwrap();
    assert_eq!(
        next.start_value,
        Some(json!("2024-01-02")),
        "the next run sends since=2024-01-02"
    );
    let (kept, _) = run(
        &i,
        next,
        &rows(&[
            (2, "2024-01-02"),
            (3, "2024-01-02"),
            (4, "2024-01-02"),
            (5, "2024-01-03"),
        ]),
    );
    assert_eq!(kept, vec![4, 5]);
}

#[test]
fn rows_below_the_start_value_are_dropped() {
    let i = inc(json!({"initial_value": "2024-01-02"}));
    let state = i.bind(None).unwrap();
    let (kept, state) = run(
        &i,
        state,
        &rows(&[
            (1, "2024-01-01"),
            (2, "2024-01-02"),
            (3, "2024-01-05"),
            (4, "2024-01-03"),
        ]),
    );
    assert_eq!(
        kept,
        vec![2, 3, 4],
        "below the start out, at the start in, later rows in even if lower than the max"
    );
    assert_eq!(state.last_value, Some(json!("2024-01-05")));
}

/// Reference §14.1: `end_value` is exclusive by default; `range_end: closed` includes it; `range_start: open`
/// excludes the start value.
#[test]
fn ranges_open_and_closed() {
    let mut i = inc(json!({"initial_value": 2, "end_value": 4}));
    let records: Vec<Value> = (1..=5).map(|n| json!({"id": n, "updated_at": n})).collect();
    let (kept, _) = run(&i, i.bind(None).unwrap(), &records);
    assert_eq!(kept, vec![2, 3]);
    i.end_closed = true;
    let (kept, _) = run(&i, i.bind(None).unwrap(), &records);
    assert_eq!(kept, vec![2, 3, 4]);
    i.start_open = true;
    let (kept, _) = run(&i, i.bind(None).unwrap(), &records);
    assert_eq!(kept, vec![3, 4]);
    let verdict = i
        .filter(
            &mut i.bind(None).unwrap(),
            &json!({"id": 9, "updated_at": 9}),
            &[],
        )
        .unwrap();
    assert_eq!(
        verdict,
        Verdict {
            keep: false,
            start_out: false,
            end_out: true
        }
    );
}

/// `end_value` makes the run stateless: the next run starts at `initial_value` again.
#[test]
fn end_value_is_stateless() {
    let i = inc(json!({"initial_value": 1, "end_value": 10}));
    let (_, state) = run(
        &i,
        i.bind(None).unwrap(),
        &[json!({"id": 1, "updated_at": 5})],
    );
    assert_eq!(i.bind(Some(&state)).unwrap().start_value, Some(json!(1)));
}

/// `last_value_func: min` moves the cursor down.
#[test]
fn min_moves_down() {
    let i = inc(json!({"initial_value": 10, "min": true}));
    let records: Vec<Value> = [12, 10, 7, 9, 3]
        .iter()
        .map(|n| json!({"id": n, "updated_at": n}))
        .collect();
    let (kept, state) = run(&i, i.bind(None).unwrap(), &records);
    assert_eq!(kept, vec![10, 7, 9, 3]);
    assert_eq!(state.last_value, Some(json!(3)));
}

/// Reference §14.1 `lag`: seconds for date-times (format kept), days for dates, plain numbers; never before
/// `initial_value`; it disables boundary dedup.
#[test]
fn lag_steps_back_and_disables_dedup() {
    let cases = [
        (
            json!("2024-01-02T00:00:10Z"),
            10.0,
            json!("2024-01-02T00:00:00Z"),
        ),
        (
            json!("2024-01-02T00:00:00+02:00"),
            3600.0,
            json!("2024-01-01T23:00:00+02:00"),
        ),
        (json!("2024-01-10"), 2.0, json!("2024-01-08")),
        (json!("20240110"), 1.0, json!("20240109")),
        (json!(100), 5.0, json!(95)),
        (json!(1.5), 0.5, json!(1.0)),
    ];
    for (value, lag, want) in cases {
        assert_eq!(
            apply_lag(&value, lag, Direction::Max).unwrap(),
            want,
            "{value} - {lag}"
        );
    }
    assert_eq!(
        apply_lag(&json!(100), 5.0, Direction::Min).unwrap(),
        json!(105)
    );
    assert!(apply_lag(&json!("soon"), 1.0, Direction::Max).is_err());

    let i = inc(json!({"initial_value": 98, "lag": 5.0}));
    let previous = CursorState {
        last_value: Some(json!(100)),
        ..CursorState::default()
    };
    assert_eq!(
        i.bind(Some(&previous)).unwrap().start_value,
        Some(json!(98)),
        "not before initial_value"
    );
    let (kept, state) = run(
        &i,
        i.bind(Some(&previous)).unwrap(),
        &[
            json!({"id": 1, "updated_at": 99}),
            json!({"id": 1, "updated_at": 99}),
        ],
    );
    assert_eq!(kept, vec![1, 1], "no dedup with lag");
    assert!(state.boundary.is_empty());
}

/// Reference §14.1 `on_cursor_value_missing`: raise (dlt's messages), include, exclude.
#[test]
fn missing_cursor_values() {
    let mut i = inc(json!({}));
    let mut state = i.bind(None).unwrap();
    let err = i.filter(&mut state, &json!({"id": 1}), &[]).unwrap_err();
    assert!(
        err.starts_with(
            "Cursor element with JSON path `updated_at` was not found in extracted data item."
        ),
        "{err}"
    );
    let err = i
        .filter(&mut state, &json!({"id": 1, "updated_at": null}), &[])
        .unwrap_err();
    assert!(err.contains("has the value `None`"), "{err}");
    i.on_missing = Missing::Include;
    assert!(i.filter(&mut state, &json!({"id": 1}), &[]).unwrap().keep);
    i.on_missing = Missing::Exclude;
    assert!(!i.filter(&mut state, &json!({"id": 1}), &[]).unwrap().keep);
}

/// Reference §14.1 (verified): str vs int raises; ISO strings compare as strings.
#[test]
fn mixed_types_are_coercion_errors() {
    let i = inc(json!({"initial_value": "2024-01-01"}));
    let err = i
        .filter(&mut i.bind(None).unwrap(), &json!({"updated_at": 5}), &[])
        .unwrap_err();
    assert!(
        err.starts_with(
            "Could not coerce start_value/initial_value with value `\"2024-01-01\"` and type `str`"
        ),
        "{err}"
    );
    assert_eq!(
        compare(&json!("2024-01-10"), &json!("2024-01-9")).unwrap(),
        Ordering::Less,
        "lexicographic, like dlt"
    );
    assert_eq!(compare(&json!(2), &json!(1.5)).unwrap(), Ordering::Greater);
}

/// An explicit empty primary key disables dedup (dlt: `primary_key: []`).
#[test]
fn empty_primary_key_disables_dedup() {
    let mut i = inc(json!({}));
    i.primary_key = Some(vec![]);
    let (_, state) = run(&i, i.bind(None).unwrap(), &rows(&[(1, "a"), (2, "a")]));
    assert!(state.final_hashes().is_empty());
}

#[test]
fn placeholders_give_the_bound_values() {
    let i = inc(json!({"initial_value": 3, "end_value": 9}));
    let state = i.bind(None).unwrap();
    assert_eq!(i.placeholder("start_value", &state), Some(json!(3)));
    assert_eq!(i.placeholder("last_value", &state), Some(json!(3)));
    assert_eq!(i.placeholder("end_value", &state), Some(json!(9)));
    assert_eq!(i.placeholder("initial_value", &state), Some(json!(3)));
    assert_eq!(i.placeholder("nope", &state), None);
}
