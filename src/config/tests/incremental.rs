//! `incremental` settings, on the endpoint or as a `type: incremental` param, and their errors.

use super::*;

/// dlt `test_incremental_config.py` and reference §14.1–14.2: the incremental errors.
#[test]
fn dlt_incremental_config_errors() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"incremental": {"cursor_path": "ts", "end_value": 5}}),
            "Incremental `end_value` was specified without `initial_value`.",
        ),
        (
            json!({"incremental": {"cursor_path": "ts", "initial_value": 9, "end_value": 5}}),
            "Incremental `initial_value` (9) is past `end_value` (5)",
        ),
        (
            json!({"params": {"since": {"type": "incremental", "cursor_path": "a"}, "until": {"type": "incremental", "cursor_path": "b"}}}),
            "Only a single incremental parameter is allower per endpoint. Found parameters: `['since', 'until']`",
        ),
        (
            json!({"params": {"since": {"type": "incremental", "cursor_path": "a", "end_value": 3}}}),
            "Only `start_param` and `initial_value` are allowed in the configuration of param: `since`.",
        ),
        (
            json!({"incremental": {"initial_value": 1}}),
            "incremental.cursor_path: missing required field",
        ),
        (
            json!({"incremental": {"cursor_path": "ts", "row_order": "up"}}),
            "`up` is not one of: asc, desc",
        ),
        (
            json!({"params": {"q": "{incremental.start_value}"}}),
            "Expression `incremental.start_value` defined in `params` is not valid. Valid expressions must start with one of: `{'resources'}`.",
        ),
        (
            json!({"path": "x/{incremental.start_value}"}),
            "contains a placeholder `incremental.start_value`. This placeholder is not a valid name.",
        ),
    ];
    for (endpoint, want) in cases {
        let got = problems_of(json!([{"name": "r", "endpoint": endpoint}]));
        assert!(
            got.iter().any(|g| g.contains(want)),
            "{endpoint}\nwant: {want}\ngot: {got:?}"
        );
    }
}

/// dlt `test_incremental_config.py::test_param_incremental_wins` (reference §14.2): a `type: incremental`
/// param becomes the start param and leaves the static params.
#[test]
fn dlt_param_incremental_becomes_the_start_param() {
    let cfg = ok(base(
        json!([{"name": "r", "endpoint": {"params": {"since": {"type": "incremental", "cursor_path": "updated",
        "initial_value": "2024-01-01"}, "sort": "asc"}, "incremental": {"cursor_path": "other"}}}]),
    ));
    let ep = &cfg.resources[0].endpoint;
    assert_eq!(ep.params, vec![("sort".to_string(), json!("asc"))]);
    let inc = ep.incremental.as_ref().unwrap();
    assert_eq!(
        (inc.cursor_path.as_str(), inc.start_param.as_deref()),
        ("updated", Some("since")),
        "the param wins"
    );
}
