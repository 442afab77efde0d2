//! Lanes: which resources page side by side, checkpoints made of the lanes' own, and runs resumed from any of
//! them ending with every row once.

use super::*;
use crate::engine::{Now, Step};
use crate::request::HttpResponse;
use serde_json::json;

fn config(oauth: bool) -> Value {
    let link = json!({"type": "json_link", "next_url_path": "next"});
    let mut client = json!({"base_url": "https://api.example.com"});
    if oauth {
        client["auth"] = json!({"type": "oauth2", "token_url": "https://api.example.com/token",
            "client_id": "id", "client_secret": "s"});
    }
    json!({"client": client, "resources": [
        {"name": "plain", "endpoint": {"path": "plain", "data_selector": "data", "paginator": link}},
        {"name": "a", "parallelized": true, "endpoint": {"path": "a", "data_selector": "data", "paginator": link}},
        {"name": "b", "parallelized": true, "endpoint": {"path": "b", "data_selector": "data", "paginator": link}},
        {"name": "b_items", "parallelized": true,
            "endpoint": {"path": "b/{resources.b.id}/items", "data_selector": "data", "paginator": "single_page"}}
    ]})
}

fn lanes(config: &Value, checkpoint: Option<&str>) -> Result<Lanes, Error> {
    Lanes::new(&config.to_string(), config, vec![], checkpoint)
}

/// Three pages per root resource (`/<name>?page=N`), one item per `b` record.
fn api(url: &str) -> HttpResponse {
    let path = url.trim_start_matches("https://api.example.com/");
    let (name, page) = match path.split_once("?page=") {
        Some((n, p)) => (n, p.parse::<i64>().unwrap()),
        None => (path, 1),
    };
    let body = match name.strip_prefix("b/") {
        Some(item) => json!({"data": [{"item": item}]}),
        None => {
            let next =
                (page < 3).then(|| format!("https://api.example.com/{name}?page={}", page + 1));
            json!({"data": [{"id": page * 10, "of": name}], "next": next})
        }
    };
    HttpResponse {
        status: 200,
        headers: vec![],
        body: body.to_string().into_bytes(),
    }
}

/// Drive every lane in turn, one step each, as the component does: (resource, rows, checkpoint) per page.
fn drive(lanes: Lanes) -> Vec<(String, Vec<Value>, String)> {
    drive_for(lanes, usize::MAX)
}

/// [`drive`], stopping after `most` pages.
fn drive_for(mut lanes: Lanes, most: usize) -> Vec<(String, Vec<Value>, String)> {
    let now = Now::default();
    let mut turns: Turns<()> = Turns::new(&lanes);
    let mut pages = Vec::new();
    while !turns.all_done() && pages.len() < most {
        for lane in turns.order().collect::<Vec<_>>() {
            if turns.done[lane] {
                continue;
            }
            match lanes.engine(lane).poll(now).unwrap() {
                Step::Send(request) => lanes
                    .engine(lane)
                    .on_response(now, api(&request.url))
                    .unwrap(),
                Step::Page(page) => {
                    let rows = String::from_utf8(page.records.clone())
                        .unwrap()
                        .lines()
                        .map(|l| serde_json::from_str(l).unwrap())
                        .collect();
                    let checkpoint = lanes.checkpoint(lane, page.checkpoint).unwrap();
                    pages.push((page.resource, rows, checkpoint));
                    turns.next = (lane + 1) % lanes.len();
                    break;
                }
                Step::Done => turns.done[lane] = true,
                Step::Sleep { .. } => panic!("no sleep expected"),
            }
        }
    }
    pages
}

fn rows_of(pages: &[(String, Vec<Value>, String)], resource: &str) -> Vec<Value> {
    pages
        .iter()
        .filter(|(r, _, _)| r == resource)
        .flat_map(|(_, rows, _)| rows.clone())
        .collect()
}

#[test]
fn parallelized_roots_get_lanes_of_their_own_and_oauth2_keeps_one() {
    let split = lanes(&config(false), None).unwrap();
    assert_eq!(split.len(), 3, "plain; a; b with its children");
    assert_eq!(split.owner, vec![0, 1, 2, 2]);
    assert_eq!(lanes(&config(true), None).unwrap().len(), 1);
}

#[test]
fn pages_interleave_across_lanes_and_each_checkpoint_holds_every_lane() {
    let pages = drive(lanes(&config(false), None).unwrap());
    let order: Vec<&str> = pages.iter().take(3).map(|(r, _, _)| r.as_str()).collect();
    assert_eq!(order, ["plain", "a", "b"], "the lanes take turns");
    for name in ["plain", "a", "b"] {
        assert_eq!(rows_of(&pages, name).len(), 3, "{name}");
    }
    assert_eq!(rows_of(&pages, "b_items").len(), 3);
    let last: Value = serde_json::from_str(&pages.last().unwrap().2).unwrap();
    let parts = last["lanes"].as_array().unwrap();
    assert_eq!(parts.len(), 3);
    assert!(parts.iter().all(|p| p["complete"] == json!(true)), "{last}");
    let first: Value = serde_json::from_str(&pages[0].2).unwrap();
    assert_eq!(
        first["lanes"][1],
        Value::Null,
        "lane a had delivered nothing yet"
    );
}

#[test]
fn a_run_resumed_from_any_page_ends_with_every_row_once() {
    let config = config(false);
    let whole = drive(lanes(&config, None).unwrap());
    // The last page's checkpoint is complete in every lane: it starts the next run, which fetches everything.
    let next = drive(lanes(&config, Some(&whole.last().unwrap().2)).unwrap());
    assert_eq!(rows_of(&next, "a"), rows_of(&whole, "a"));
    for k in 0..whole.len() - 1 {
        let rest = drive(lanes(&config, Some(&whole[k].2)).unwrap());
        for name in ["plain", "a", "b", "b_items"] {
            let mut got = rows_of(&whole[..=k], name);
            got.extend(rows_of(&rest, name));
            assert_eq!(got, rows_of(&whole, name), "{name}, resumed after page {k}");
        }
    }
}

#[test]
fn one_lane_keeps_the_engines_own_checkpoint_and_a_foreign_one_is_refused() {
    let single = json!({"client": {"base_url": "https://api.example.com"},
        "resources": [{"name": "a", "parallelized": true, "endpoint": {"path": "a", "data_selector": "data",
            "paginator": {"type": "json_link", "next_url_path": "next"}}}]});
    let pages = drive(lanes(&single, None).unwrap());
    let cp: Value = serde_json::from_str(&pages[0].2).unwrap();
    assert!(
        cp.get("lanes").is_none() && cp.get("frames").is_some(),
        "{cp}"
    );
    let err = lanes(&config(false), Some(&pages[0].2)).err().unwrap();
    assert!(err.to_string().contains("checkpoint"), "{err}");
    let err = lanes(&config(false), Some(r#"{"lanes": [null]}"#))
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("has 1 lanes; this config runs 3"),
        "{err}"
    );
}

/// A resume in the middle of the run after a complete one: lanes that delivered nothing of it yet run it whole.
#[test]
fn a_resume_early_in_the_next_run_runs_every_lane_of_it() {
    let config = config(false);
    let first = drive(lanes(&config, None).unwrap());
    let end = &first.last().unwrap().2;
    let second = drive(lanes(&config, Some(end)).unwrap());
    let early = drive_for(lanes(&config, Some(end)).unwrap(), 1);
    let cp: Value = serde_json::from_str(&early[0].2).unwrap();
    assert!(cp["lanes"][1].get("next").is_some(), "{cp}");
    let rest = drive(lanes(&config, Some(&early[0].2)).unwrap());
    for name in ["plain", "a", "b", "b_items"] {
        let mut got = rows_of(&early, name);
        got.extend(rows_of(&rest, name));
        assert_eq!(got, rows_of(&second, name), "{name}");
    }
}

#[test]
fn the_lanes_draw_on_one_rate_limit() {
    let mut config = config(false);
    config["client"]["rate_limit"] = json!({"requests": 2, "per_seconds": 1});
    let mut lanes = lanes(&config, None).unwrap();
    assert_eq!(lanes.len(), 3, "plain, a and b (with its items)");
    let (mut now, mut sent, mut done) = (0u64, Vec::new(), vec![false; lanes.len()]);
    while done.contains(&false) {
        let mut wake = u64::MAX;
        for (lane, done) in done.iter_mut().enumerate() {
            while !*done {
                let at = Now {
                    monotonic_ms: now,
                    unix_ms: now,
                };
                match lanes.engine(lane).poll(at).unwrap() {
                    Step::Send(request) => {
                        sent.push(now);
                        let answer = api(&request.url);
                        lanes.engine(lane).on_response(at, answer).unwrap();
                    }
                    Step::Sleep { until_ms } => {
                        wake = wake.min(until_ms);
                        break;
                    }
                    Step::Page(_) => {}
                    Step::Done => *done = true,
                }
            }
        }
        if wake != u64::MAX {
            now = wake;
        }
    }
    // Three pages each of plain, a and b, and one items request per b record: 12 requests, two a second.
    assert_eq!(sent.len(), 12);
    assert_eq!(
        sent,
        vec![
            0, 0, 1000, 1000, 2000, 2000, 3000, 3000, 4000, 4000, 5000, 5000
        ]
    );
}
