//! Parsing `endpoint.incremental` and the legacy `{"type": "incremental", ...}` params (dlt §14.1–14.2).

use super::check::{Checker, join};
use crate::incremental::compare;
use crate::incremental::window::{Span, Window, shift};
use crate::incremental::{Direction, Incremental, Missing, RowOrder};
use crate::select::Path;
use serde_json::{Map, Value};
use std::cmp::Ordering;

pub(super) const KEYS: [&str; 16] = [
    "cursor_path",
    "initial_value",
    "end_value",
    "start_param",
    "end_param",
    "lag",
    "row_order",
    "on_cursor_value_missing",
    "range_start",
    "range_end",
    "last_value_func",
    "primary_key",
    "convert",
    "transform",
    "allow_external_schedulers",
    "window",
];

/// An incremental setting; `param` is the legacy param name that receives the start value.
pub fn incremental(
    v: &Value,
    param: Option<&str>,
    path: &str,
    ck: &mut Checker,
) -> Option<Incremental> {
    let map = ck.object(v, path)?;
    let allowed: Vec<&str> = KEYS.iter().copied().chain(param.map(|_| "type")).collect();
    ck.only_keys(map, &allowed, path);
    if let Some(p) = param
        && (map.contains_key("end_value") || map.contains_key("end_param"))
    {
        ck.problem(path, format!(
                "Only `start_param` and `initial_value` are allowed in the configuration of param: `{p}`. To set `end_value` too use the incremental configuration at the resource level. See https://dlthub.com/docs/dlt-ecosystem/verified-sources/rest_api#incremental-loading"
            ));
    }
    for key in ["convert", "transform"] {
        if map.get(key).is_some_and(|v| !v.is_null()) {
            ck.problem(
                join(path, key),
                "needs a Python callable, which a JSON config cannot carry",
            );
        }
    }
    let before = ck.problems.len();
    let cursor_path = ck.req_str(map, "cursor_path", path).and_then(|c| {
        Path::parse(&c)
            .map_err(|e| ck.problem(join(path, "cursor_path"), e))
            .ok()
    });
    let literal = |ck: &mut Checker, key: &str, allowed: &[&str], default: &str| {
        let text = ck
            .opt_str(map, key, path)
            .unwrap_or_else(|| default.to_string());
        ck.literal(&text, allowed, &join(path, key))
            .unwrap_or_default()
    };
    let direction = match literal(ck, "last_value_func", &["max", "min"], "max").as_str() {
        "min" => Direction::Min,
        _ => Direction::Max,
    };
    let initial_value = value(map, "initial_value");
    let end_value = value(map, "end_value");
    check_bounds(&initial_value, &end_value, direction, path, ck);
    let row_order = match ck.opt_str(map, "row_order", path) {
        None => None,
        Some(o) => match ck
            .literal(&o, &["asc", "desc"], &join(path, "row_order"))
            .as_deref()
        {
            Some("asc") => Some(RowOrder::Asc),
            Some(_) => Some(RowOrder::Desc),
            None => None,
        },
    };
    let on_missing = match literal(
        ck,
        "on_cursor_value_missing",
        &["raise", "include", "exclude"],
        "raise",
    )
    .as_str()
    {
        "include" => Missing::Include,
        "exclude" => Missing::Exclude,
        _ => Missing::Raise,
    };
    let start_open = literal(ck, "range_start", &["open", "closed"], "closed") == "open";
    let end_closed = literal(ck, "range_end", &["open", "closed"], "open") == "closed";
    let lag = ck.opt_number(map, "lag", path);
    let primary_key = map
        .get("primary_key")
        .filter(|v| !v.is_null())
        .map(|_| ck.str_list(map, "primary_key", path));
    let start_param = param
        .map(str::to_string)
        .or_else(|| ck.opt_str(map, "start_param", path));
    let end_param = ck.opt_str(map, "end_param", path);
    let window = match map.get("window").filter(|v| !v.is_null()) {
        None => None,
        Some(v) => {
            let bounds = Bounds {
                legacy: param.is_some(),
                params: start_param.is_some() && end_param.is_some(),
                initial: initial_value.as_ref(),
                end: end_value.is_some(),
                lag: lag.is_some(),
                direction,
            };
            window(v, &bounds, &join(path, "window"), ck)
        }
    };
    if ck.problems.len() > before {
        return None;
    }
    Some(Incremental {
        cursor_path: cursor_path?,
        initial_value,
        end_value,
        start_param,
        end_param,
        lag,
        row_order,
        on_missing,
        start_open,
        end_closed,
        direction,
        primary_key,
        window,
    })
}

/// The Unix seconds a numeric window may start at without an `end_value` (2001-09-09 to 5138): a cursor in
/// milliseconds, or an id, is past them or before them, and would give no window or millions.
const UNIX_FROM: f64 = 1e9;
const UNIX_UNTIL: f64 = 1e11;

/// What a window needs of the rest of the incremental setting.
struct Bounds<'a> {
    legacy: bool,
    params: bool,
    initial: Option<&'a Value>,
    end: bool,
    lag: bool,
    direction: Direction,
}

/// `window` (extension): `{"step": "P7D" | number, "lookback": "PT1H" | number}`, on an `endpoint.incremental`
/// with `start_param`, `end_param` and an `initial_value` the step can move, `last_value_func: max`, no `lag`.
fn window(v: &Value, bounds: &Bounds, path: &str, ck: &mut Checker) -> Option<Window> {
    let map = ck.object(v, path)?;
    ck.only_keys(map, &["step", "lookback"], path);
    let span = |key: &str, ck: &mut Checker| {
        let value = map.get(key).filter(|v| !v.is_null())?;
        Span::parse(value)
            .map_err(|e| ck.problem(join(path, key), e))
            .ok()
    };
    let step = span("step", ck);
    let lookback = span("lookback", ck);
    let mut refuse = |why: &str| ck.problem(path, why.to_string());
    if !map.contains_key("step") {
        refuse("missing required field `step`");
    }
    if bounds.legacy {
        refuse(
            "needs `endpoint.incremental` with `start_param` and `end_param`, not an incremental param",
        );
    } else if !bounds.params {
        refuse("needs `start_param` and `end_param`: each window is asked for with both");
    }
    if bounds.lag {
        refuse("`lag` and a window do not go together: give `window.lookback` instead");
    }
    if bounds.direction == Direction::Min {
        refuse("windows move the cursor up: `last_value_func` must be `max`");
    }
    let Some(initial) = bounds.initial else {
        refuse("needs `initial_value`: the first window starts there");
        return None;
    };
    for (key, span) in [("step", step), ("lookback", lookback)] {
        if let Some(Err(e)) = span.map(|s| shift(initial, s, true)) {
            ck.problem(
                join(path, key),
                format!("does not fit `initial_value` {initial}: {e}"),
            );
        }
    }
    let unix_seconds = initial
        .as_f64()
        .is_some_and(|n| (UNIX_FROM..UNIX_UNTIL).contains(&n));
    if matches!(step, Some(Span::Number(_))) && initial.is_number() && !bounds.end && !unix_seconds
    {
        ck.problem(
            path,
            format!(
                "a numeric window without `end_value` ends at the current time in Unix seconds, and \
                 `initial_value` {initial} is not one (from {UNIX_FROM} to {UNIX_UNTIL}): give `end_value`"
            ),
        );
    }
    if let (Some(Span::Seconds(_)), Some(Span::Number(_)))
    | (Some(Span::Number(_)), Some(Span::Seconds(_))) = (step, lookback)
    {
        ck.problem(
            join(path, "lookback"),
            "must be of the same kind as `step` (a duration or a number)",
        );
    }
    Some(Window {
        step: step?,
        lookback,
    })
}

fn value(map: &Map<String, Value>, key: &str) -> Option<Value> {
    map.get(key).filter(|v| !v.is_null()).cloned()
}

/// dlt: `end_value` needs `initial_value`, of a comparable type, not past it in the cursor's direction.
fn check_bounds(
    initial: &Option<Value>,
    end: &Option<Value>,
    direction: Direction,
    path: &str,
    ck: &mut Checker,
) {
    match (initial, end) {
        (None, Some(_)) => ck.problem(
            path,
            "Incremental `end_value` was specified without `initial_value`. `initial_value` is required when using `end_value`.",
        ),
        (Some(i), Some(e)) => match compare(i, e) {
            Ok(o) if o == if direction == Direction::Max { Ordering::Greater } else { Ordering::Less } => {
                ck.problem(path, format!("Incremental `initial_value` ({i}) is past `end_value` ({e})"))
            }
            Err(why) => ck.problem(path, format!("`initial_value` and `end_value` cannot be compared: {why}")),
            Ok(_) => {}
        },
        _ => {}
    }
}

/// The legacy `type: incremental` params of an endpoint: at most one (dlt's message keeps its typo).
pub fn param_incremental(
    params: &[(String, Value)],
    path: &str,
    ck: &mut Checker,
) -> Option<(String, Incremental)> {
    let found: Vec<&(String, Value)> = params
        .iter()
        .filter(|(_, v)| v.get("type").and_then(Value::as_str) == Some("incremental"))
        .collect();
    match found.as_slice() {
        [] => None,
        [(name, v)] => incremental(v, Some(name), &format!("{path}.params.{name}"), ck)
            .map(|i| (name.clone(), i)),
        many => {
            let names: Vec<String> = many.iter().map(|(n, _)| format!("'{n}'")).collect();
            ck.problem(
                join(path, "params"),
                format!("Only a single incremental parameter is allower per endpoint. Found parameters: `[{}]`", names.join(", ")),
            );
            None
        }
    }
}
