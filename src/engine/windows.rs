//! The engine's side of windowed incremental loads ([`crate::incremental::window`]): a windowed root resource
//! opens its first window before its first request and, once a window is paged to its end, starts over in the
//! next, until the last. The window rides in the cursor state of every checkpoint, so a crash resumes in it.

use super::Engine;
use super::frames::{Frame, start};
use crate::error::Error;
use crate::incremental::window::now_like;

impl Engine {
    /// Before resource `index`'s first request: its first window, ending at `end_value` or at the time given
    /// last. False when there is nothing to fetch (the cursor is already at the end).
    pub(super) fn open_window(&mut self, index: usize) -> Result<bool, Error> {
        let resource = &self.config.resources[index];
        let (Some(inc), Some(state)) =
            (&resource.endpoint.incremental, self.cursors[index].as_mut())
        else {
            return Ok(true);
        };
        let Some(window) = inc.window.filter(|_| state.window.is_none()) else {
            return Ok(true);
        };
        let path = format!("resources[{index}].endpoint.incremental.window");
        let bad = |e: String| Error::config(path.clone(), e);
        let Some(start) = state.start_value.clone() else {
            return Err(bad("no start value to open the first window at".into()));
        };
        let until = match &inc.end_value {
            Some(end) => end.clone(),
            None => now_like(&start, self.clock.unix_ms).map_err(bad)?,
        };
        state.window = window.first(&start, &until).map_err(bad)?;
        Ok(state.window.is_some())
    }

    /// After the frame at `top` was paged to its end: when it is a windowed resource with a window left, move to
    /// that window and page it from the start (true).
    pub(super) fn next_window(&mut self, top: usize) -> Result<bool, Error> {
        let index = self.frames[top].resource;
        let resource = &self.config.resources[index];
        let (Some(inc), Some(state)) =
            (&resource.endpoint.incremental, self.cursors[index].as_mut())
        else {
            return Ok(false);
        };
        let (Some(window), Some(current)) = (inc.window, &state.window) else {
            return Ok(false);
        };
        let path = format!("resources[{index}].endpoint.incremental.window");
        let Some(next) = window.next(current).map_err(|e| Error::config(path, e))? else {
            return Ok(false);
        };
        state.window = Some(next);
        let old = &self.frames[top];
        let paginator = resource.endpoint.paginator.as_ref().or(old.found.as_ref());
        self.frames[top] = Frame {
            found: old.found.clone(),
            data_path: old.data_path.clone(),
            ..Frame::new(index, start(paginator), None)
        };
        Ok(true)
    }

    /// Whether resource `index` is windowed and has a window still to fetch, or has not opened its first yet:
    /// what it asks for next is not known, so nothing after it is sent ahead.
    pub(super) fn windows_ahead(&self, index: usize) -> bool {
        let resource = &self.config.resources[index];
        let (Some(inc), Some(state)) =
            (&resource.endpoint.incremental, self.cursors[index].as_ref())
        else {
            return false;
        };
        match (inc.window, &state.window) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(w), Some(current)) => w.next(current).ok().flatten().is_some(),
        }
    }
}
