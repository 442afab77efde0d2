//! Placeholders in paths, params and bodies: escaped braces, parent references, legacy `resolve` params,
//! and their errors.

use super::*;

#[test]
fn escaped_braces_are_unescaped() {
    let cfg = ok(base(
        json!([{"name": "q", "endpoint": {"path": "graph{{ql}}", "params": {"query": "{{ viewer }}"}}}]),
    ));
    let ep = &cfg.resources[0].endpoint;
    assert_eq!(
        ep.url, "https://api.example.com/graph{{ql}}",
        "kept as a template, unescaped per request"
    );
    assert_eq!(
        ep.params,
        vec![("query".to_string(), json!("{{ viewer }}"))]
    );
}

/// dlt `test_resolve_config.py` and reference §7.2/§8: the errors for bad placeholders and parents.
#[test]
fn dlt_placeholder_and_parent_errors() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!([{"name": "a", "endpoint": {"path": "x/{foo.bar}"}}]),
            "The `path=x/{foo.bar}` defined in resource `a` contains a placeholder `foo.bar`. This placeholder is not a valid name. Valid names are: ['resources', 'incremental'].",
        ),
        (
            json!([{"name": "a", "endpoint": {"path": "x/{foo}"}}]),
            "The path 'x/{foo}' defined in resource 'a' requires a param named 'foo', but it was not found in 'endpoint.params': {}",
        ),
        (
            json!([{"name": "a", "endpoint": {"path": "x/{resources.name}"}}]),
            "Invalid definition of `resources.name`. Expected format: 'resources.<resource>.<field>'",
        ),
        (
            json!([{"name": "a", "endpoint": {"params": {"q": "{unknown.posts.id}"}}}]),
            "Expression `unknown.posts.id` defined in `params` is not valid. Valid expressions must start with one of: `{'resources'}`.",
        ),
        (
            json!(["p", "q", {"name": "c", "endpoint": {"path": "x/{resources.p.id}", "params": {"q": "{resources.q.id}"}}}]),
            "Multiple parent resources for resource `c` with params `['resources.p.id', 'resources.q.id']`",
        ),
        (
            json!([{"name": "c", "endpoint": {"path": "x/{resources.zz.id}"}}]),
            "A dependent resource `c` refers to non existing parent resource `zz` on param `resources.zz.id`",
        ),
        (
            json!([{"name": "a", "endpoint": {"path": "a/{resources.b.id}"}}, {"name": "b", "endpoint": {"path": "b/{resources.a.id}"}}]),
            "nodes are in a cycle: ['a', 'b', 'a']",
        ),
        (
            json!([{"name": "post_details", "endpoint": {"path": "posts", "params": {"post_id": {"type": "resolve", "resource": "posts", "field": "id"}}}}, "posts"]),
            "Resource `post_details` defines resolve params `['post_id']` that are not bound in path `posts`. To reference parent resource in query params use syntax 'resources.<parent_resource>.<field>'",
        ),
        (
            json!([{"name": "x", "include_from_parent": ["id"]}]),
            "Resource `x` has `include_from_parent` but is not dependent on another resource",
        ),
        (
            json!([{"name": "x", "endpoint": {"params": {"p": {"type": "foo"}}}}]),
            "Received invalid value `p['type']=foo`. Valid values are: ['incremental', 'resolve']",
        ),
    ];
    for (resources, want) in cases {
        let got = problems_of(resources.clone());
        assert!(
            got.iter().any(|g| g.contains(want)),
            "{resources}\nwant: {want}\ngot: {got:?}"
        );
    }
}

/// dlt `test_resolve_config.py::test_bind_path_param`: legacy `resolve` params become parent placeholders.
#[test]
fn dlt_resolve_params_bind_the_path() {
    let cfg = ok(base(
        json!(["posts", {"name": "comments", "endpoint": {"path": "posts/{post_id}/comments",
        "params": {"post_id": {"type": "resolve", "resource": "posts", "field": "id"}, "sort": "asc"}}}]),
    ));
    let ep = &cfg.resources[1].endpoint;
    assert_eq!(
        ep.url,
        "https://api.example.com/posts/{resources.posts.id}/comments"
    );
    assert_eq!(ep.params, vec![("sort".to_string(), json!("asc"))]);
    assert_eq!(cfg.resources[1].parent, Some(0));
    assert_eq!(cfg.children, vec![vec![1], vec![]]);
}
