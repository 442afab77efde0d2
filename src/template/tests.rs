//! Ported from dlt `tests/sources/rest_api/test_interpolation.py`: `test_expand_placeholders` (every case
//! expressible in JSON; the two `bytes` cases are not), `test_expand_placeholders_raises` and
//! `test_find_expressions`.

use super::*;
use serde_json::json;

struct Map(Vec<(&'static str, Value)>);

impl Lookup for Map {
    fn value(&self, name: &str) -> Result<Value, String> {
        self.0
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("'{name}'"))
    }
}

fn expand(obj: &Value, placeholders: Vec<(&'static str, Value)>, preserve: bool) -> Value {
    render_value(obj, &Map(placeholders), preserve).unwrap_or_else(|e| panic!("{obj}: {e}"))
}

#[test]
#[allow(clippy::approx_constant)] // dlt's cases use the literal 3.14
fn dlt_test_expand_placeholders() {
    type Case = (&'static str, Value, Vec<(&'static str, Value)>, Value, bool);
    let cases: Vec<Case> = vec![
        (
            "string",
            json!("posts/{id}"),
            vec![("id", json!(1))],
            json!("posts/1"),
            true,
        ),
        (
            "string_with_dots",
            json!("posts/{resources.posts.id}"),
            vec![("resources.posts.id", json!(1))],
            json!("posts/1"),
            true,
        ),
        (
            "dict",
            json!({"id": "{id}", "name": "{name}", "sort": "asc"}),
            vec![("id", json!("1")), ("name", json!("John"))],
            json!({"id": "1", "name": "John", "sort": "asc"}),
            true,
        ),
        (
            "dict_with_dots",
            json!({"id": "{resources.posts.id}", "name": "{resources.posts.name}", "sort": "asc"}),
            vec![
                ("resources.posts.id", json!("1")),
                ("resources.posts.name", json!("John")),
            ],
            json!({"id": "1", "name": "John", "sort": "asc"}),
            true,
        ),
        (
            "nested_json_body",
            json!({"dict": {"b": {"c": "{id}"}, "list": ["{id}", "{id2}"]}}),
            vec![("id", json!(1)), ("id2", json!(2))],
            json!({"dict": {"b": {"c": 1}, "list": [1, 2]}}),
            true,
        ),
        (
            "nested_json_body_with_dots",
            json!({"dict": {"b": {"c": "{posts.id}"}, "list": ["{posts.id}", "{posts.id2}"]}}),
            vec![("posts.id", json!(1)), ("posts.id2", json!(2))],
            json!({"dict": {"b": {"c": 1}, "list": [1, 2]}}),
            true,
        ),
        (
            "string_with_escaped_braces",
            json!("posts/{id}/{{not_this}}"),
            vec![("id", json!(1))],
            json!("posts/1/{not_this}"),
            true,
        ),
        (
            "string_with_mixed_braces",
            json!("posts/{{not_this}}/{id}/{{also_not}}"),
            vec![("id", json!(1))],
            json!("posts/{not_this}/1/{also_not}"),
            true,
        ),
        (
            "nested_dict_with_escaped_braces",
            json!({"path": "posts/{id}/{{not_this}}", "nested": {"path": "{{not_this}}/{id}/{{also_not}}", "value": "{id}"}}),
            vec![("id", json!(1))],
            json!({"path": "posts/1/{not_this}", "nested": {"path": "{not_this}/1/{also_not}", "value": 1}}),
            true,
        ),
        (
            "mixed_structures_with_escaped_braces",
            json!({"list": ["{{not_this}}", "{id}", "{{also_not}}"], "dict": {"key": "{{not_this}}", "value": "{id}"}}),
            vec![("id", json!(1))],
            json!({"list": ["{not_this}", 1, "{also_not}"], "dict": {"key": "{not_this}", "value": 1}}),
            true,
        ),
        (
            "triple_braces",
            json!("posts/{{{id}}}"),
            vec![("id", json!(1))],
            json!("posts/{1}"),
            true,
        ),
        (
            "double_escaped_braces",
            json!("posts/{{{{not_this}}}}/{id}"),
            vec![("id", json!(1))],
            json!("posts/{{not_this}}/1"),
            true,
        ),
        (
            "escaped_braces_with_placeholder",
            json!("posts/{{not_this {id}}}"),
            vec![("id", json!(1))],
            json!("posts/{not_this 1}"),
            true,
        ),
        (
            "escaped_braces_with_placeholder_no_preserve",
            json!("posts/{{not_this {id}}}"),
            vec![("id", json!(1))],
            json!("posts/{not_this 1}"),
            false,
        ),
        ("none", Value::Null, vec![], Value::Null, true),
        ("none_no_preserve", Value::Null, vec![], Value::Null, false),
        (
            "empty_string_placeholder",
            json!("posts/{id}"),
            vec![("id", json!(""))],
            json!("posts/"),
            true,
        ),
        (
            "empty_string_placeholder_no_preserve",
            json!("posts/{id}"),
            vec![("id", json!(""))],
            json!("posts/"),
            false,
        ),
        (
            "empty_containers",
            json!({"empty_list": [], "empty_dict": {}}),
            vec![],
            json!({"empty_list": [], "empty_dict": {}}),
            true,
        ),
        (
            "mixed_nested_structures",
            json!({"mixed": [{"id": "{id}"}, 123, ["{value}", true], {"nested": {"key": "{key}"}}]}),
            vec![
                ("id", json!("test")),
                ("value", json!(456)),
                ("key", json!("nested")),
            ],
            json!({"mixed": [{"id": "test"}, 123, [456, true], {"nested": {"key": "nested"}}]}),
            true,
        ),
        (
            "special_chars_in_placeholders",
            json!("user/{user@domain}/settings/{setting-name}"),
            vec![
                ("user@domain", json!("john@example.com")),
                ("setting-name", json!("theme")),
            ],
            json!("user/john@example.com/settings/theme"),
            true,
        ),
        (
            "special_chars_in_placeholders_no_preserve",
            json!("user/{user@domain}/settings/{setting-name}"),
            vec![
                ("user@domain", json!("john@example.com")),
                ("setting-name", json!("theme")),
            ],
            json!("user/john@example.com/settings/theme"),
            false,
        ),
        (
            "unicode_chars",
            json!("{name} ❤️ {id}"),
            vec![("name", json!("测试")), ("id", json!("テスト"))],
            json!("测试 ❤️ テスト"),
            true,
        ),
        (
            "single_placeholder_no_text",
            json!("{id}"),
            vec![("id", json!(42))],
            json!(42),
            true,
        ),
        (
            "two_placeholders_no_text",
            json!("{id}{id}"),
            vec![("id", json!(42))],
            json!("4242"),
            true,
        ),
        (
            "two_different_placeholders",
            json!("{id}{id2}"),
            vec![("id", json!(42)), ("id2", json!(100))],
            json!("42100"),
            true,
        ),
        (
            "two_different_placeholders_no_preserve",
            json!("{id}{id2}"),
            vec![("id", json!(42)), ("id2", json!(100))],
            json!("42100"),
            false,
        ),
        (
            "two_placeholders_with_text",
            json!("{id} {id2}"),
            vec![("id", json!(42)), ("id2", json!(100))],
            json!("42 100"),
            true,
        ),
        (
            "single_placeholder_no_text_no_preserve",
            json!("{id}"),
            vec![("id", json!(42))],
            json!("42"),
            false,
        ),
        (
            "single_placeholder_with_dots_no_text",
            json!("{resources.posts.id}"),
            vec![("resources.posts.id", json!(42))],
            json!(42),
            true,
        ),
        (
            "single_placeholder_with_dots_no_text_no_preserve",
            json!("{resources.posts.id}"),
            vec![("resources.posts.id", json!(42))],
            json!("42"),
            false,
        ),
        (
            "single_placeholder_with_format_spec",
            json!("{id:>5}"),
            vec![("id", json!(42))],
            json!("   42"),
            true,
        ),
        (
            "single_placeholder_with_format_spec_no_preserve",
            json!("{id:>5}"),
            vec![("id", json!(42))],
            json!("   42"),
            false,
        ),
        (
            "single_placeholder_with_conversion",
            json!("{id!r}"),
            vec![("id", json!("42"))],
            json!("'42'"),
            true,
        ),
        (
            "single_placeholder_with_conversion_no_preserve",
            json!("{id!r}"),
            vec![("id", json!("42"))],
            json!("'42'"),
            false,
        ),
        (
            "single_placeholder_with_leading_text",
            json!("prefix{id}"),
            vec![("id", json!(42))],
            json!("prefix42"),
            true,
        ),
        (
            "single_placeholder_with_leading_text_no_preserve",
            json!("prefix{id}"),
            vec![("id", json!(42))],
            json!("prefix42"),
            false,
        ),
        (
            "single_placeholder_with_trailing_text",
            json!("{id}suffix"),
            vec![("id", json!(42))],
            json!("42suffix"),
            true,
        ),
        (
            "single_placeholder_with_trailing_text_no_preserve",
            json!("{id}suffix"),
            vec![("id", json!(42))],
            json!("42suffix"),
            false,
        ),
        (
            "single_placeholder_none_value",
            json!("{id}"),
            vec![("id", Value::Null)],
            Value::Null,
            true,
        ),
        (
            "single_placeholder_none_value_no_preserve",
            json!("{id}"),
            vec![("id", Value::Null)],
            json!("None"),
            false,
        ),
        (
            "single_placeholder_boolean_value",
            json!("{id}"),
            vec![("id", json!(true))],
            json!(true),
            true,
        ),
        (
            "single_placeholder_boolean_value_no_preserve",
            json!("{id}"),
            vec![("id", json!(true))],
            json!("True"),
            false,
        ),
        (
            "single_placeholder_float_value",
            json!("{id}"),
            vec![("id", json!(3.14))],
            json!(3.14),
            true,
        ),
        (
            "single_placeholder_float_value_no_preserve",
            json!("{id}"),
            vec![("id", json!(3.14))],
            json!("3.14"),
            false,
        ),
        (
            "single_placeholder_list_value",
            json!("{id}"),
            vec![("id", json!([1, 2, 3]))],
            json!([1, 2, 3]),
            true,
        ),
        (
            "single_placeholder_list_value_no_preserve",
            json!("{id}"),
            vec![("id", json!([1, 2, 3]))],
            json!("[1, 2, 3]"),
            false,
        ),
        (
            "single_placeholder_dict_value",
            json!("{id}"),
            vec![("id", json!({"key": "value"}))],
            json!({"key": "value"}),
            true,
        ),
        (
            "single_placeholder_dict_value_no_preserve",
            json!("{id}"),
            vec![("id", json!({"key": "value"}))],
            json!("{'key': 'value'}"),
            false,
        ),
        (
            "single_placeholder_empty_string",
            json!("{id}"),
            vec![("id", json!(""))],
            json!(""),
            true,
        ),
        (
            "single_placeholder_empty_string_no_preserve",
            json!("{id}"),
            vec![("id", json!(""))],
            json!(""),
            false,
        ),
        (
            "single_placeholder_zero",
            json!("{id}"),
            vec![("id", json!(0))],
            json!(0),
            true,
        ),
        (
            "single_placeholder_zero_no_preserve",
            json!("{id}"),
            vec![("id", json!(0))],
            json!("0"),
            false,
        ),
        (
            "single_placeholder_negative",
            json!("{id}"),
            vec![("id", json!(-1))],
            json!(-1),
            true,
        ),
        (
            "single_placeholder_negative_no_preserve",
            json!("{id}"),
            vec![("id", json!(-1))],
            json!("-1"),
            false,
        ),
        (
            "single_placeholder_scientific_notation",
            json!("{id}"),
            vec![("id", json!(1e10))],
            json!(1e10),
            true,
        ),
        (
            "single_placeholder_scientific_notation_no_preserve",
            json!("{id}"),
            vec![("id", json!(1e10))],
            json!("10000000000.0"),
            false,
        ),
    ];
    assert_eq!(cases.len(), 57);
    for (id, obj, placeholders, expected, preserve) in cases {
        assert_eq!(expand(&obj, placeholders, preserve), expected, "{id}");
    }
}

#[test]
fn dlt_test_expand_placeholders_raises() {
    let err = render_value(&json!("posts/{id}"), &Map(vec![]), false).unwrap_err();
    assert_eq!(err, "'id'");
    let err = render_value(&json!("posts/{resources.posts.id}"), &Map(vec![]), false).unwrap_err();
    assert_eq!(
        err, "'resources.posts.id'",
        "our lookup names the whole expression (dlt: 'resources')"
    );
}

#[test]
fn dlt_test_find_expressions() {
    let graphql = "\n    query Entity {{\n        entity(id: \"123\") {{\n            id\n        }}\n    }}\n";
    let cases: Vec<(&str, Value, Option<&str>, Vec<&str>)> = vec![
        ("string", json!("posts/{id}"), None, vec!["id"]),
        (
            "string_with_dots",
            json!("posts/{resources.posts.id}"),
            None,
            vec!["resources.posts.id"],
        ),
        (
            "dict",
            json!({"id": "{id}", "name": "{name}", "sort": "asc"}),
            None,
            vec!["id", "name"],
        ),
        (
            "nested_json_body",
            json!({"dict": {"b": {"c": "{id}"}, "list": ["{id}", "{id2}"]}}),
            None,
            vec!["id", "id2"],
        ),
        (
            "string_without_placeholders",
            json!("just a string"),
            None,
            vec![],
        ),
        ("empty_string", json!(""), None, vec![]),
        (
            "string_with_prefixes",
            json!("blog/{r.blog.id}/{not_this}"),
            Some("r."),
            vec!["r.blog.id"],
        ),
        (
            "string_with_escaped_braces",
            json!("blog/{r.blog.id}/{{not_this}}"),
            None,
            vec!["r.blog.id"],
        ),
        (
            "string_with_escaped_braces_2",
            json!("blog/{{not_this}}"),
            None,
            vec![],
        ),
        (
            "string_nested_escaped_braces",
            json!("{{not_this}} {{ and {{not_that}} }}"),
            None,
            vec![],
        ),
        (
            "string_with_escaped_braces_and_prefixes",
            json!("blog/{{r.not.this}}/{not_this}"),
            Some("r."),
            vec![],
        ),
        (
            "dict_with_escaped_braces",
            json!({"dict": {"a": {"b": "{r.blog.id}"}, "c": "{{r.not.this}}",
            "d": "{{r.not.this {{r.nor.this}}}}", "graphql": {"query": graphql}}}),
            None,
            vec!["r.blog.id"],
        ),
    ];
    for (id, obj, prefix, expected) in cases {
        let found: Vec<String> = expressions(&obj)
            .unwrap()
            .into_iter()
            .filter(|e| prefix.is_none_or(|p| e.starts_with(p)))
            .collect();
        assert_eq!(found, expected, "{id}");
    }
}

#[test]
fn format_specs_follow_python() {
    let cases = [
        ("{x:05d}", json!(42), "00042"),
        ("{x:<5}|", json!("ab"), "ab   |"),
        ("{x:^6}", json!("ab"), "  ab  "),
        ("{x:*>4}", json!(7), "***7"),
        ("{x:.2f}", json!(1.23456), "1.23"),
        ("{x:+d}", json!(5), "+5"),
        ("{x:,}", json!(1234567), "1,234,567"),
        ("{x:x}", json!(255), "ff"),
        ("{x:08.3f}", json!(-3.5), "-003.500"),
        ("{x:.1%}", json!(0.25), "25.0%"),
        ("{x:.3}", json!("abcdef"), "abc"),
    ];
    for (template, value, want) in cases {
        let got = render_str(template, &Map(vec![("x", value)])).unwrap();
        assert_eq!(got, want, "{template}");
    }
    let err = render_str("{x:q}", &Map(vec![("x", json!(1))])).unwrap_err();
    assert!(err.contains("format spec `q`"), "{err}");
}

#[test]
fn templates_split_like_str_format() {
    use Piece::*;
    assert_eq!(
        parse_template("posts/{id}/x").unwrap(),
        vec![Text("posts/".into()), Field("id".into()), Text("/x".into())]
    );
    assert_eq!(parse_template("{{a}}").unwrap(), vec![Text("{a}".into())]);
    assert_eq!(
        parse_template("posts/{{{id}}}").unwrap(),
        vec![Text("posts/{".into()), Field("id".into()), Text("}".into())]
    );
    assert!(parse_template("a{b").is_err());
    assert!(parse_template("a}b").is_err());
}
