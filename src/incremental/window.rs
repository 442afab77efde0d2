//! Windowed incremental loads (`incremental.window`, extension): a range of the cursor too long for one request
//! is asked for window by window, `[start, start + step)`, each paginated to its end.
//!
//! `step` and `lookback` are ISO 8601 durations (`P7D`, `PT1H`, `P1W`, `P2DT12H`) for date-time and date cursors,
//! or numbers for numeric ones. Years and months are refused: their length varies, so a window would not be a
//! fixed step. The last window ends at `end_value`, or at the time the engine was given when the resource started
//! (a numeric cursor is then taken as Unix seconds). Pure: the time comes in as a number.

use super::compare;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cmp::Ordering;

/// The longest step or lookback accepted: about 100 years (in seconds for durations).
const MOST_SECONDS: i64 = 100 * 366 * 86_400;

/// Date-times without an offset that windows move, order and write the current time in.
const NAIVE_LAYOUTS: [&str; 2] = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"];

/// The largest numeric step or lookback accepted (integers stay exact in a double below 2^53).
const MOST_NUMBER: f64 = 1e15;

/// `incremental.window`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// The width of each window.
    pub step: Span,
    /// How far before the stored cursor the next run starts.
    pub lookback: Option<Span>,
}

/// A length along the cursor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Span {
    /// Seconds, for date-time and date cursors (a date cursor needs whole days).
    Seconds(i64),
    /// An amount, for numeric cursors.
    Number(f64),
}

/// The window being fetched, in the checkpoint: a crash resumes in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowState {
    /// Its first cursor value (inclusive).
    pub start: Value,
    /// Its end (exclusive).
    pub end: Value,
    /// Where the last window ends, fixed when the resource started.
    pub until: Value,
}

impl Span {
    /// A step or lookback as written: an ISO 8601 duration, or a positive number.
    pub fn parse(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(s) => duration_seconds(s).map(Span::Seconds),
            Value::Number(n) => match n.as_f64() {
                Some(x) if x > 0.0 && x <= MOST_NUMBER => Ok(Span::Number(x)),
                _ => Err(format!(
                    "`{n}` is not a number above 0 and at most {MOST_NUMBER}"
                )),
            },
            other => Err(format!(
                "expected an ISO 8601 duration (`P7D`) or a number, got {other}"
            )),
        }
    }
}

/// Seconds in an ISO 8601 duration of weeks, days, hours, minutes and seconds (`P1W`, `P2DT12H`, `PT90M`).
fn duration_seconds(text: &str) -> Result<i64, String> {
    let bad = |why: &str| {
        format!(
            "`{text}` is not an ISO 8601 duration of weeks, days, hours, minutes or seconds: {why}"
        )
    };
    let rest = text
        .strip_prefix('P')
        .ok_or_else(|| bad("it must start with `P`"))?;
    let (mut total, mut digits, mut in_time, mut parts) = (0i64, String::new(), false, 0);
    for c in rest.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if c == 'T' && digits.is_empty() && !in_time {
            in_time = true;
            continue;
        }
        let unit = match (in_time, c) {
            (false, 'W') => 7 * 86_400,
            (false, 'D') => 86_400,
            (true, 'H') => 3_600,
            (true, 'M') => 60,
            (true, 'S') => 1,
            (false, 'Y' | 'M') => return Err(bad("years and months vary in length; give days")),
            _ => return Err(bad(&format!("unexpected `{c}`"))),
        };
        let n: i64 = digits
            .parse()
            .map_err(|_| bad("a number must come before each unit"))?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| bad("too long"))?;
        (digits, parts) = (String::new(), parts + 1);
    }
    if !digits.is_empty() || parts == 0 {
        return Err(bad("each number needs its unit"));
    }
    match total {
        0 => Err(bad("it is zero")),
        t if t > MOST_SECONDS => Err(bad("it is longer than 100 years")),
        t => Ok(t),
    }
}

/// `value` moved `span` forward (or back): date-times keep their format; dates move by whole days.
pub fn shift(value: &Value, span: Span, forward: bool) -> Result<Value, String> {
    let sign = if forward { 1 } else { -1 };
    match (value, span) {
        (Value::Number(n), Span::Number(x)) => {
            if let (Some(i), true) = (n.as_i64(), x.fract() == 0.0 && x.abs() < 9e15) {
                return i
                    .checked_add(sign * x as i64)
                    .map(Value::from)
                    .ok_or_else(|| format!("the cursor value {n} moved by {x} is out of range"));
            }
            let moved = n.as_f64().unwrap_or_default() + sign as f64 * x;
            serde_json::Number::from_f64(moved)
                .map(Value::Number)
                .ok_or_else(|| "the window gives a non-finite value".into())
        }
        (Value::String(s), Span::Seconds(secs)) => shift_text(s, sign * secs * 1000)
            .map(Value::String)
            .ok_or_else(|| {
                format!(
                    "the cursor value `{s}` is not an ISO 8601 date-time or date (a date moves by whole days only)"
                )
            }),
        (v, Span::Seconds(_)) => Err(format!(
            "the window is a duration, but the cursor value {v} is not a date-time string"
        )),
        (v, Span::Number(_)) => Err(format!(
            "the window is a number, but the cursor value {v} is not a number"
        )),
    }
}

/// The current time written like `like`: a date-time in UTC with its precision and zone style, a date, or Unix
/// seconds for a number.
pub fn now_like(like: &Value, unix_ms: u64) -> Result<Value, String> {
    let seconds = (unix_ms / 1000) as i64;
    match like {
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(Value::from(seconds)),
        Value::Number(_) => serde_json::Number::from_f64(unix_ms as f64 / 1000.0)
            .map(Value::Number)
            .ok_or_else(|| "the time is not a number".into()),
        Value::String(s) => now_text(s, unix_ms)
            .map(Value::String)
            .ok_or_else(|| format!("the cursor value `{s}` is not an ISO 8601 date-time or date")),
        other => Err(format!(
            "a window cannot end at the current time for the cursor value {other}"
        )),
    }
}

/// A date-time or date string moved by `millis`, in its own format: an RFC 3339 date-time keeps its offset and
/// precision, a date-time without an offset stays without, a date (`%Y-%m-%d`, `%Y%m%d`) moves by whole days only.
pub(super) fn shift_text(s: &str, millis: i64) -> Option<String> {
    use chrono::{DateTime, Duration, NaiveDateTime, SecondsFormat};
    let delta = Duration::try_milliseconds(millis)?;
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        let format = match s.contains('.') {
            true => SecondsFormat::AutoSi,
            false => SecondsFormat::Secs,
        };
        return Some(
            t.checked_add_signed(delta)?
                .to_rfc3339_opts(format, s.ends_with('Z')),
        );
    }
    for layout in NAIVE_LAYOUTS {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, layout) {
            let out = match s.contains('.') {
                true => layout.replace("%.f", "%.3f"),
                false => layout.replace("%.f", ""),
            };
            return Some(t.checked_add_signed(delta)?.format(&out).to_string());
        }
    }
    if millis % 86_400_000 != 0 {
        return None;
    }
    for layout in [crate::dates::DATE, crate::dates::COMPACT_DATE] {
        if let Some(d) = crate::dates::date(s, layout) {
            let moved = d.checked_add_signed(delta)?;
            return Some(moved.format_with_items(layout.iter()).to_string());
        }
    }
    None
}

/// The time `unix_ms` written as `like` is: in UTC, with its precision and zone style, or as a date.
fn now_text(like: &str, unix_ms: u64) -> Option<String> {
    use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
    let now: DateTime<Utc> = DateTime::from_timestamp_millis(i64::try_from(unix_ms).ok()?)?;
    if DateTime::parse_from_rfc3339(like).is_ok() {
        let format = match like.contains('.') {
            true => SecondsFormat::Millis,
            false => SecondsFormat::Secs,
        };
        return Some(now.to_rfc3339_opts(format, like.ends_with('Z')));
    }
    for layout in [crate::dates::DATE, crate::dates::COMPACT_DATE] {
        if crate::dates::date(like, layout).is_some() {
            return Some(
                now.date_naive()
                    .format_with_items(layout.iter())
                    .to_string(),
            );
        }
    }
    for layout in NAIVE_LAYOUTS {
        if NaiveDateTime::parse_from_str(like, layout).is_ok() {
            let out = match like.contains('.') {
                true => layout.replace("%.f", "%.3f"),
                false => layout.replace("%.f", ""),
            };
            return Some(now.naive_utc().format(&out).to_string());
        }
    }
    None
}

/// Order two cursor values: date-time strings by the instant they name (so `…:00.250Z` comes after `…:00Z`, and
/// `+02:00` offsets count), anything else as [`compare`] does.
pub fn order(a: &Value, b: &Value) -> Result<Ordering, String> {
    if let (Value::String(x), Value::String(y)) = (a, b)
        && let Some(o) = instant_order(x, y)
    {
        return Ok(o);
    }
    compare(a, b)
}

/// Two date-times of the same kind (both with an offset, or both without) by the instant they name.
fn instant_order(a: &str, b: &str) -> Option<Ordering> {
    use chrono::{DateTime, NaiveDateTime};
    if let (Ok(x), Ok(y)) = (
        DateTime::parse_from_rfc3339(a),
        DateTime::parse_from_rfc3339(b),
    ) {
        return Some(x.cmp(&y));
    }
    let naive = |s: &str| {
        NAIVE_LAYOUTS
            .iter()
            .find_map(|layout| NaiveDateTime::parse_from_str(s, layout).ok())
    };
    Some(naive(a)?.cmp(&naive(b)?))
}

impl Window {
    /// The first window from `start`, ending by `until`; `None` when `start` is not before `until`.
    pub fn first(&self, start: &Value, until: &Value) -> Result<Option<WindowState>, String> {
        self.from(start.clone(), until)
    }

    /// The window after `current`; `None` once it ended at `until`.
    pub fn next(&self, current: &WindowState) -> Result<Option<WindowState>, String> {
        self.from(current.end.clone(), &current.until)
    }

    fn from(&self, start: Value, until: &Value) -> Result<Option<WindowState>, String> {
        if order(&start, until)? != Ordering::Less {
            return Ok(None);
        }
        let stepped = shift(&start, self.step, true)?;
        let end = match order(&stepped, until)? {
            Ordering::Less => stepped,
            _ => until.clone(),
        };
        Ok(Some(WindowState {
            start,
            end,
            until: until.clone(),
        }))
    }
}

#[cfg(test)]
mod tests;
