//! `incremental.window.lookback`: the next run starts that long before the stored cursor, to catch records that
//! arrived late, and the records already loaded in that stretch are not loaded twice. A record is the same when
//! its key hash and its cursor value are (a record updated since has a new cursor value and is loaded again).
//!
//! The records kept within the lookback of the last value ride in the checkpoint (`CursorState::recent`), at
//! most [`MOST_RECENT`]; more is an error naming `lookback`, never a silent duplicate.

use super::window::{Span, order, shift};
use super::{CursorState, Incremental, MOST_RECENT, Recent};
use serde_json::Value;
use std::cmp::Ordering;

impl Incremental {
    /// `window.lookback`, when set.
    pub(super) fn lookback(&self) -> Option<Span> {
        self.window.and_then(|w| w.lookback)
    }

    /// Whether a record at `value` with key hash `key` was loaded already (in this run or a run before).
    pub(super) fn seen(&self, state: &CursorState, value: &Value, key: &str) -> bool {
        state
            .recent
            .iter()
            .any(|r| r.key == key && order(&r.at, value) == Ok(Ordering::Equal))
    }

    /// Remember a record kept; past [`MOST_RECENT`], forget those older than the lookback first.
    pub(super) fn remember(
        &self,
        state: &mut CursorState,
        at: Value,
        key: String,
    ) -> Result<(), String> {
        if state.recent.len() >= MOST_RECENT {
            self.settle(state)?;
        }
        if state.recent.len() >= MOST_RECENT {
            return Err(format!(
                "more than {MOST_RECENT} records fall within `window.lookback` of the cursor; they would not \
                 fit in a checkpoint. Shorten the lookback"
            ));
        }
        state.recent.push(Recent { at, key });
        Ok(())
    }

    /// Forget the records older than the lookback of the last value (call it after each page).
    pub fn settle(&self, state: &mut CursorState) -> Result<(), String> {
        let Some(lookback) = self.lookback() else {
            return Ok(());
        };
        let Some(last) = state
            .last_value
            .clone()
            .or_else(|| state.start_value.clone())
        else {
            return Ok(());
        };
        let from = shift(&last, lookback, false)?;
        state
            .recent
            .retain(|r| order(&r.at, &from).is_ok_and(|o| o != Ordering::Less));
        Ok(())
    }

    /// The start of a run after one that got to `stored`: the lookback before it (not before `initial_value`),
    /// with the records the previous runs kept from there on.
    pub(super) fn look_back(
        &self,
        lookback: Span,
        stored: &Value,
        previous: &CursorState,
    ) -> Result<CursorState, String> {
        let mut start = shift(stored, lookback, false)?;
        if let Some(initial) = &self.initial_value
            && order(initial, &start)? == Ordering::Greater
        {
            start = initial.clone();
        }
        let recent = previous
            .recent
            .iter()
            .filter(|r| order(&r.at, &start).is_ok_and(|o| o != Ordering::Less))
            .cloned()
            .collect();
        // The stored cursor stays the last value: a run that finds nothing new ends where it began, and the next
        // looks back from there again, not from one lookback earlier.
        Ok(CursorState {
            start_value: Some(start),
            last_value: Some(stored.clone()),
            recent,
            ..CursorState::default()
        })
    }
}
