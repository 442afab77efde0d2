//! The bookkeeping of the component that drives the lanes, generic over its handle on a request in flight (`F`),
//! so that it stays pure.

use super::Lanes;
use crate::error::Error;
use crate::request::HttpRequest;

/// What each lane waits for between calls, for the component that drives the lanes: its request in flight (`F`,
/// the component's handle on it), the time its retry is due, or nothing more.
pub struct Turns<F> {
    /// Per lane: the request in flight and the component's handle on it.
    pub in_flight: Vec<Option<(HttpRequest, F)>>,
    /// Per lane: the monotonic time (ms) it sleeps until.
    pub sleeping: Vec<Option<u64>>,
    /// Per lane: every page of it was delivered.
    pub done: Vec<bool>,
    /// The lane to ask first next time, so that no lane is starved of turns.
    pub next: usize,
    /// The error that halted the run: every later call returns it.
    pub failed: Option<Error>,
}

impl<F> Turns<F> {
    /// Nothing waited for yet; the lanes that finished before a resume are done.
    pub fn new(lanes: &Lanes) -> Self {
        let n = lanes.len();
        Self {
            in_flight: (0..n).map(|_| None).collect(),
            sleeping: vec![None; n],
            done: (0..n).map(|l| lanes.finished(l)).collect(),
            next: 0,
            failed: None,
        }
    }

    /// The lanes in the order to ask them this time.
    pub fn order(&self) -> impl Iterator<Item = usize> + use<F> {
        let n = self.done.len();
        let start = self.next;
        (0..n).map(move |k| (start + k) % n)
    }

    /// Whether lane `lane` may take a step now (it waits for no response and no time later than `now_ms`).
    pub fn free(&self, lane: usize, now_ms: u64) -> bool {
        !self.done[lane]
            && self.in_flight[lane].is_none()
            && self.sleeping[lane].is_none_or(|until| until <= now_ms)
    }

    /// How many requests may wait sent ahead when `most` may be in flight: one slot is kept for each lane not
    /// done, for its own next request. So at most `most` requests are in flight, or one per lane when lanes
    /// outnumber it, and no lane waits for a slot that requests sent ahead hold.
    pub fn ahead_cap(&self, most: usize) -> usize {
        most.saturating_sub(self.done.iter().filter(|d| !**d).count())
    }

    /// Every lane is done.
    pub fn all_done(&self) -> bool {
        self.done.iter().all(|d| *d)
    }
}

/// Requests sent before the engine asked for them ([`crate::engine::Engine::ahead`]), oldest first, with the
/// lane that listed them and the component's handles on their responses. One is used only when an engine asks
/// for exactly that request; one never asked for (the API contradicted itself, a token was renewed) stays until
/// its lane is done.
pub struct Ahead<F>(Vec<(usize, HttpRequest, F)>);

impl<F> Default for Ahead<F> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<F> Ahead<F> {
    /// The handle of `request` if it was sent ahead.
    pub fn take(&mut self, request: &HttpRequest) -> Option<F> {
        let i = self.0.iter().position(|(_, r, _)| r == request)?;
        Some(self.0.remove(i).2)
    }

    /// Send (with `start`) what lane `lane`'s engine lists and is not on its way yet, while fewer than `most`
    /// are. A request `start` cannot send is left for the engine to send, and to fail, in its turn.
    pub fn top_up(
        &mut self,
        lane: usize,
        listed: Vec<HttpRequest>,
        most: usize,
        mut start: impl FnMut(&HttpRequest) -> Option<F>,
    ) {
        let mut unmatched: Vec<bool> = vec![true; self.0.len()];
        for request in listed {
            let on_its_way = self
                .0
                .iter()
                .zip(unmatched.iter_mut())
                .find(|((_, r, _), free)| **free && *r == request);
            if let Some((_, free)) = on_its_way {
                *free = false;
                continue;
            }
            if self.0.len() >= most {
                return;
            }
            if let Some(handle) = start(&request) {
                self.0.push((lane, request, handle));
                unmatched.push(false);
            }
        }
    }

    /// Drop the requests lane `lane` sent ahead and never used (the lane is done); they are returned.
    pub fn drop_lane(&mut self, lane: usize) -> Vec<HttpRequest> {
        let (dropped, kept) = std::mem::take(&mut self.0)
            .into_iter()
            .partition(|(l, _, _)| *l == lane);
        self.0 = kept;
        dropped.into_iter().map(|(_, r, _)| r).collect()
    }

    /// Drop every request sent ahead (the run ended or failed).
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(url: &str) -> HttpRequest {
        HttpRequest::get(url)
    }

    #[test]
    fn requests_go_out_once_within_the_cap_and_are_used_only_when_asked_for_exactly() {
        let mut ahead: Ahead<u32> = Ahead::default();
        let sent = std::cell::Cell::new(0);
        let start = |_: &HttpRequest| {
            sent.set(sent.get() + 1);
            Some(sent.get())
        };
        ahead.top_up(0, vec![get("a"), get("b"), get("c")], 2, start);
        ahead.top_up(0, vec![get("a"), get("b"), get("c")], 3, start);
        assert_eq!(sent.get(), 3, "a and b once, then c");
        assert_eq!(ahead.take(&get("b")), Some(2));
        assert_eq!(ahead.take(&get("b")), None);
        let mut other = get("a");
        other
            .headers
            .push(("Authorization".into(), "Bearer new".into()));
        assert_eq!(ahead.take(&other), None, "not exactly the request sent");
        ahead.top_up(1, vec![get("d")], 3, start);
        ahead.drop_lane(0);
        assert_eq!(ahead.take(&get("a")), None, "lane 0 is done");
        assert_eq!(ahead.take(&get("d")), Some(4));
    }
}
