//! Incremental loading (dlt §14): a cursor read from each record, filtered against the start value (from the
//! previous run's state, lag applied, or `initial_value`) and the optional end value, with boundary
//! deduplication on the primary key. Pure: the state goes into checkpoints.

mod lookback;
pub mod window;

use crate::select::Path;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cmp::Ordering;

/// `last_value_func`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `max`: the cursor moves up.
    Max,
    /// `min`: the cursor moves down.
    Min,
}

/// `on_cursor_value_missing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// An error.
    Raise,
    /// Keep the record, cursor unchanged.
    Include,
    /// Drop the record.
    Exclude,
}

/// `row_order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOrder {
    /// Ascending: stop once past the end value.
    Asc,
    /// Descending: stop once below the start value.
    Desc,
}

/// An endpoint's incremental settings.
#[derive(Debug, Clone)]
pub struct Incremental {
    /// JSONPath of the cursor in each record.
    pub cursor_path: Path,
    /// Start when there is no state.
    pub initial_value: Option<Value>,
    /// Exclusive (by default) upper bound; makes the run stateless.
    pub end_value: Option<Value>,
    /// Query param receiving the start value.
    pub start_param: Option<String>,
    /// Query param receiving the end value.
    pub end_param: Option<String>,
    /// Attribution window subtracted from the stored last value.
    pub lag: Option<f64>,
    /// Stop paging once the data is out of range.
    pub row_order: Option<RowOrder>,
    /// What a record without a cursor value does.
    pub on_missing: Missing,
    /// `range_start` is `open` (exclude the start value).
    pub start_open: bool,
    /// `range_end` is `closed` (include the end value).
    pub end_closed: bool,
    /// `last_value_func`.
    pub direction: Direction,
    /// Dedup key: `None` uses the resource's primary key; empty disables dedup.
    pub primary_key: Option<Vec<String>>,
    /// `window` (extension): the cursor's range asked for window by window.
    pub window: Option<window::Window>,
}

/// The state of one resource's cursor: what the run started from and how far it got.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CursorState {
    /// The start value this run filters against (and sends).
    pub start_value: Option<Value>,
    /// Hashes of the records at the start value loaded by the previous run (deduplicated now).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub start_hashes: Vec<String>,
    /// The highest (or lowest, for `min`) cursor value seen in this run.
    pub last_value: Option<Value>,
    /// Hashes of this run's records at `last_value`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub boundary: Vec<String>,
    /// With `window`: the window being fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<window::WindowState>,
    /// With `window.lookback`: the records kept whose cursor is within the lookback of the last value, this
    /// run's and earlier runs' (a record seen again with the same cursor value is not loaded twice).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent: Vec<Recent>,
}

/// A record kept within the lookback: its cursor value and the hash of its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recent {
    /// Its cursor value.
    pub at: Value,
    /// The hash of its primary key (or of the whole record without one).
    pub key: String,
}

/// The most records a lookback may hold: they ride in every checkpoint.
pub const MOST_RECENT: usize = 10_000;

/// What the filter decided for one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verdict {
    /// The record is kept.
    pub keep: bool,
    /// It fell below the start value (or was a duplicate at it).
    pub start_out: bool,
    /// It reached the end value.
    pub end_out: bool,
}

impl Verdict {
    fn keep() -> Self {
        Self {
            keep: true,
            ..Self::default()
        }
    }
}

/// Compare two cursor values as Python would: numbers with numbers, strings with strings; anything else is an
/// error (dlt: `IncrementalCursorInvalidCoercion`).
pub fn compare(a: &Value, b: &Value) -> Result<Ordering, String> {
    let number = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    };
    match (a, b) {
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        (Value::Number(x), Value::Number(y)) if x.is_i64() && y.is_i64() => {
            Ok(x.as_i64().cmp(&y.as_i64()))
        }
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x
                .partial_cmp(&y)
                .ok_or_else(|| "cannot compare NaN".to_string()),
            _ => Err(format!(
                "cannot compare {} with {}",
                crate::render::py_type_name(a),
                crate::render::py_type_name(b)
            )),
        },
    }
}

/// A stable hash of a record's dedup key (its primary key values, or the whole record).
fn row_hash(record: &Value, key: &[String]) -> String {
    let text = if key.is_empty() {
        record.to_string()
    } else {
        let values = key
            .iter()
            .map(|k| record.get(k).cloned().unwrap_or(Value::Null));
        Value::Array(values.collect()).to_string()
    };
    crate::hash::fingerprint(&text)
}

impl Incremental {
    /// Whether the run keeps state across runs (dlt: `end_value` makes it stateless).
    pub fn stateful(&self) -> bool {
        self.end_value.is_none()
    }

    /// The state a run starts from: the previous run's final state (lag applied), or `initial_value`.
    pub fn bind(&self, previous: Option<&CursorState>) -> Result<CursorState, String> {
        let previous = previous.filter(|_| self.stateful());
        let stored = previous.and_then(|p| {
            let value = p.last_value.clone().or_else(|| p.start_value.clone());
            value.map(|v| (p, v))
        });
        let Some((previous, stored)) = stored else {
            return Ok(CursorState {
                start_value: self.initial_value.clone(),
                ..CursorState::default()
            });
        };
        if let Some(lookback) = self.lookback() {
            return self.look_back(lookback, &stored, previous);
        }
        let hashes = previous.final_hashes();
        let start = match self.lag {
            Some(lag) => {
                let lagged = apply_lag(&stored, lag, self.direction)?;
                match &self.initial_value {
                    Some(initial) if self.beyond(initial, &lagged)? => initial.clone(),
                    _ => lagged,
                }
            }
            None => stored,
        };
        Ok(CursorState {
            start_value: Some(start),
            start_hashes: hashes,
            ..CursorState::default()
        })
    }

    /// Order two cursor values: as [`compare`] does, or with a window as [`window::order`] does (date-times by
    /// the instant they name, whatever their precision or offset).
    fn order(&self, a: &Value, b: &Value) -> Result<Ordering, String> {
        match self.window {
            Some(_) => window::order(a, b),
            None => compare(a, b),
        }
    }

    /// `a` is strictly past `b` in this cursor's direction.
    fn beyond(&self, a: &Value, b: &Value) -> Result<bool, String> {
        let order = self.order(a, b)?;
        Ok(match self.direction {
            Direction::Max => order == Ordering::Greater,
            Direction::Min => order == Ordering::Less,
        })
    }

    fn dedup(&self) -> bool {
        self.lag.is_none()
            && self.lookback().is_none()
            && self.end_value.is_none()
            && !self.start_open
            && self.primary_key.as_ref().is_none_or(|k| !k.is_empty())
    }

    /// dlt's `JsonIncremental.__call__` for one record, updating `state`. With a window, a record outside the
    /// window being fetched is not kept (another window keeps it); with a lookback, a record loaded already is
    /// not kept again.
    pub fn filter(
        &self,
        state: &mut CursorState,
        record: &Value,
        resource_key: &[String],
    ) -> Result<Verdict, String> {
        // Looked up once: the judge and the lookback get it from here.
        let found = self.cursor_path.first(record);
        let value = found.filter(|v| !v.is_null());
        if let (Some(v), Some(w)) = (value, &state.window) {
            let before = self.order(v, &w.start)? == Ordering::Less;
            if before || self.order(v, &w.end)? != Ordering::Less {
                return Ok(Verdict::default());
            }
        }
        let key = self.primary_key.as_deref().unwrap_or(resource_key);
        let hash = self.lookback().map(|_| row_hash(record, key));
        // Loaded already: not kept again. Not "below the start" either: with `row_order: desc` that would stop
        // paging before late records that sort after it.
        if let (Some(v), Some(h)) = (value, &hash)
            && self.seen(state, v, h)
        {
            return Ok(Verdict::default());
        }
        let verdict = self.judge(state, record, found, resource_key)?;
        if let (true, Some(v), Some(h)) = (verdict.keep, value, hash) {
            self.remember(state, v.clone(), h)?;
        }
        Ok(verdict)
    }

    /// The filter of dlt's `JsonIncremental.__call__` for one record whose cursor path gave `found`, updating
    /// `state`.
    fn judge(
        &self,
        state: &mut CursorState,
        record: &Value,
        found: Option<&Value>,
        resource_key: &[String],
    ) -> Result<Verdict, String> {
        let value = match found {
            Some(v) if !v.is_null() => v,
            found => {
                return match self.on_missing {
                    Missing::Exclude => Ok(Verdict::default()),
                    Missing::Include => Ok(Verdict::keep()),
                    Missing::Raise if found.is_none() => Err(format!(
                        "Cursor element with JSON path `{}` was not found in extracted data item. All data items must contain this path. Use the same names of fields as in your JSON document because they can be different from the names you see in database.",
                        self.cursor_path.as_str()
                    )),
                    Missing::Raise => Err(format!(
                        "Cursor element with JSON path `{}` has the value `None` in extracted data item. All data items must contain a value != None. Construct the incremental with on_cursor_value_none='include' if you want to include such rows",
                        self.cursor_path.as_str()
                    )),
                };
            }
        };
        let coerce = |what: &str, other: &Value, e: String| {
            format!(
                "Could not coerce {what} with value `{other}` and type `{}` to actual data item with value `{value}` and type `{}`: {e}",
                crate::render::py_type_name(other),
                crate::render::py_type_name(value)
            )
        };
        if let Some(end) = &self.end_value {
            let order = self
                .order(value, end)
                .map_err(|e| coerce("end_value", end, e))?;
            let past = if self.end_closed {
                self.beyond(value, end)
                    .map_err(|e| coerce("end_value", end, e))?
            } else {
                order == Ordering::Equal
                    || self
                        .beyond(value, end)
                        .map_err(|e| coerce("end_value", end, e))?
            };
            if past {
                return Ok(Verdict {
                    end_out: true,
                    ..Verdict::default()
                });
            }
        }
        let key = self.primary_key.as_deref().unwrap_or(resource_key);
        let last = state
            .last_value
            .clone()
            .or_else(|| state.start_value.clone());
        let beyond_last = match &last {
            None => true,
            Some(last) => self
                .beyond(value, last)
                .map_err(|e| coerce("start_value/initial_value", last, e))?,
        };
        if beyond_last {
            state.last_value = Some(value.clone());
            state.boundary = if self.dedup() {
                vec![row_hash(record, key)]
            } else {
                Vec::new()
            };
            return Ok(Verdict::keep());
        }
        if let Some(start) = &state.start_value {
            let at_start = self
                .order(value, start)
                .map_err(|e| coerce("start_value/initial_value", start, e))?
                == Ordering::Equal;
            if self.start_open && at_start {
                return Ok(Verdict {
                    start_out: true,
                    ..Verdict::default()
                });
            }
            if !at_start && self.beyond(start, value)? {
                return Ok(Verdict {
                    start_out: true,
                    ..Verdict::default()
                });
            }
            if at_start && self.dedup() && state.start_hashes.contains(&row_hash(record, key)) {
                return Ok(Verdict {
                    start_out: true,
                    ..Verdict::default()
                });
            }
        }
        let at_last = last
            .as_ref()
            .is_some_and(|l| self.order(value, l).is_ok_and(|o| o == Ordering::Equal));
        if at_last && self.dedup() {
            state.boundary.push(row_hash(record, key));
        }
        Ok(Verdict::keep())
    }

    /// The value of an `{incremental.<attr>}` placeholder for a run bound to `state`.
    pub fn placeholder(&self, attr: &str, state: &CursorState) -> Option<Value> {
        let or_null = |v: &Option<Value>| v.clone().unwrap_or(Value::Null);
        Some(match attr {
            "start_value" | "last_value" => match &state.window {
                Some(w) => w.start.clone(),
                None => or_null(&state.start_value),
            },
            "initial_value" => or_null(&self.initial_value),
            "end_value" => match &state.window {
                Some(w) => w.end.clone(),
                None => or_null(&self.end_value),
            },
            "cursor_path" => Value::String(self.cursor_path.as_str().to_string()),
            "lag" => self
                .lag
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number),
            _ => return None,
        })
    }
}

impl CursorState {
    /// The hashes to deduplicate against in the next run: this run's boundary records, plus the previous
    /// boundary when the cursor did not move.
    pub fn final_hashes(&self) -> Vec<String> {
        let moved = self.last_value.is_some() && self.last_value != self.start_value;
        let mut hashes = if moved {
            Vec::new()
        } else {
            self.start_hashes.clone()
        };
        for h in &self.boundary {
            if !hashes.contains(h) {
                hashes.push(h.clone());
            }
        }
        hashes
    }
}

/// dlt's lag: numbers step back by `lag` (forward for `min`); ISO date-times by `lag` seconds, keeping their
/// format; date-only strings (`%Y-%m-%d`, `%Y%m%d`) by `lag` days.
pub fn apply_lag(value: &Value, lag: f64, direction: Direction) -> Result<Value, String> {
    let sign = if direction == Direction::Max {
        -1.0
    } else {
        1.0
    };
    match value {
        Value::Number(n) if n.is_i64() && lag.fract() == 0.0 => Ok(Value::from(
            n.as_i64().unwrap_or_default() + (sign * lag) as i64,
        )),
        Value::Number(n) => {
            let v = n.as_f64().unwrap_or_default() + sign * lag;
            serde_json::Number::from_f64(v)
                .map(Value::Number)
                .ok_or_else(|| "lag gives a non-finite value".into())
        }
        Value::String(s) => lag_string(s, sign * lag).map(Value::String),
        other => Err(format!(
            "lag cannot be applied to a {}",
            crate::render::py_type_name(other)
        )),
    }
}

fn lag_string(s: &str, delta: f64) -> Result<String, String> {
    let is_date = [crate::dates::DATE, crate::dates::COMPACT_DATE]
        .iter()
        .any(|layout| crate::dates::date(s, layout).is_some());
    let millis = match is_date {
        true => (delta as i64).saturating_mul(86_400_000),
        false => (delta * 1000.0) as i64,
    };
    window::shift_text(s, millis).ok_or_else(|| {
        format!("lag cannot be applied to `{s}`: not a number, an ISO date-time or a date")
    })
}

#[cfg(test)]
mod tests;
