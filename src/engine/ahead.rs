//! Look-ahead: requests the run will certainly send later, known before it asks for them, so the I/O layer can
//! send them early and have their responses ready when the engine asks (dlt's `parallelized`, and the overlap of
//! one request with the work on the page before it).
//!
//! The engine itself stays serial: it asks for one request at a time, in dlt's order, and takes the responses in
//! that order, so pages, checkpoints, retries and failures are exactly those of a serial run. What changes is
//! only when a request goes out:
//!
//! - The request that comes right after a page (the next page, the first child of a parent page, the next
//!   resource) may go out as soon as that page is taken, whatever the resource: it is the next request anyway.
//! - A request of a `parallelized` resource may also go out while earlier ones are in flight, up to
//!   `client.concurrency` in all: the later pages of an offset or page-number resource once a page has told the
//!   total (or a maximum bounds it), the first request of each child of a parent page, the first request of the
//!   next resources. Where the serial run would send requests that cannot be known yet (a cursor's next page,
//!   children of a page not yet fetched), the look-ahead steps over them; they go out when the engine gets
//!   there.
//!
//! Only requests to the base URL's origin are sent ahead, never one that carries an OAuth2 token that may expire
//! before it is used, and nothing while a retry waits (the API asked for a pause). A request is used only if the engine then asks for exactly it, so a wrong guess
//! costs a request, never a row. Guesses can be wrong only when the API contradicts itself: a page ends before
//! the total it gave, say. Then the requests sent for pages past the real end were extra.

use super::frames::{Frame, start};
use super::{Engine, Now, Phase, Purpose};
use crate::auth::Auth;
use crate::paginator::{Paginator, Position};
use crate::request::{HttpRequest, origin};
use serde_json::Value;

/// How long an OAuth2 token must still be good for its requests to be sent ahead.
const TOKEN_MARGIN_MS: u64 = 60_000;

/// The walk over the run's future requests, in the order the serial run sends them.
struct Walk<'a> {
    engine: &'a Engine,
    now: Now,
    out: Vec<HttpRequest>,
    most: usize,
    /// The next request found is the one in flight or waiting for its retry: it is not sent again.
    skip: bool,
    /// The next request found is the one the engine asks for next (the walk is right after a page was taken):
    /// it may be sent ahead whatever its resource. Every later one must be of a `parallelized` resource.
    next: bool,
    trusted: Option<url::Origin>,
}

impl Engine {
    /// Requests the run will send later, in the order it will ask for them: at most `client.concurrency`. Call
    /// it after each response; see the module text for which requests are listed.
    pub fn ahead(&self, now: Now) -> Vec<HttpRequest> {
        // While a retry waits, the API asked for a pause (or failed): nothing more goes out early. A redirect's
        // next hop waits too, for no time: it is the request the engine sends next.
        let (skip, next) = match &self.phase {
            _ if self.failed.is_some() => return Vec::new(),
            Phase::Idle => (false, true),
            Phase::InFlight(x) if x.purpose == Purpose::Page => (true, false),
            Phase::Waiting {
                until_ms: 0,
                exchange,
            } if exchange.purpose == Purpose::Page => (true, false),
            Phase::InFlight(_) | Phase::Waiting { .. } => return Vec::new(),
        };
        if self.frames.iter().any(|f| f.replay.is_some()) {
            return Vec::new();
        }
        let mut walk = Walk {
            engine: self,
            now,
            out: Vec::new(),
            most: self.config.concurrency as usize,
            skip,
            next,
            trusted: origin(&self.config.base_url),
        };
        let _ = walk.all();
        walk.out
    }
}

impl Walk<'_> {
    /// From the top frame down, then the resources not started yet. `None` once nothing more may be listed.
    fn all(&mut self) -> Option<()> {
        let engine = self.engine;
        for f in engine.frames.iter().rev() {
            self.children(f)?;
            self.pages(f)?;
            if engine.windows_ahead(f.resource) {
                return None;
            }
        }
        let roots = (engine.next_root..engine.config.resources.len())
            .filter(|&r| engine.config.resources[r].parent.is_none() && engine.wanted[r]);
        for r in roots {
            if engine.windows_ahead(r) {
                return None;
            }
            self.first(r, None)?;
        }
        Some(())
    }

    /// The first request of each child of the frame's parent records still to come.
    fn children(&mut self, f: &Frame) -> Option<()> {
        let Some(pending) = &f.pending else {
            return Some(());
        };
        let config = &self.engine.config;
        let kids: Vec<usize> = config.children[f.resource]
            .iter()
            .copied()
            .filter(|&c| self.engine.wanted[c])
            .collect();
        for (i, record) in pending.records.iter().enumerate().skip(pending.next_record) {
            let from = if i == pending.next_record {
                pending.next_child
            } else {
                0
            };
            for &child in kids.iter().skip(from) {
                self.first(child, Some(record))?;
            }
        }
        Some(())
    }

    /// A resource's first request (what its first page leads to is not known yet).
    fn first(&mut self, index: usize, parent: Option<&Value>) -> Option<()> {
        let paginator = self.engine.config.resources[index]
            .endpoint
            .paginator
            .as_ref();
        self.add(index, parent, None, &start(paginator))
    }

    /// The frame's own next page and, when the last page told where paging ends, the pages after it.
    fn pages(&mut self, f: &Frame) -> Option<()> {
        if f.position == Position::Done {
            return Some(());
        }
        let parent = f.parent.as_ref().map(|(_, r)| r);
        self.add(f.resource, parent, f.found.as_ref(), &f.position)?;
        let resource = &self.engine.config.resources[f.resource];
        let row_order = resource
            .endpoint
            .incremental
            .as_ref()
            .is_some_and(|i| i.row_order.is_some());
        let (Some((step, bound)), false) = (f.known, row_order) else {
            return Some(());
        };
        let (Position::Offset(mut at) | Position::Page(mut at)) = f.position else {
            return Some(());
        };
        let most_pages = resource.endpoint.max_pages.map_or(u32::MAX, |m| m);
        let mut pages = f.pages;
        while at.saturating_add(step) < bound && pages.saturating_add(1) < most_pages {
            (at, pages) = (at + step, pages + 1);
            let position = match f.position {
                Position::Offset(_) => Position::Offset(at),
                _ => Position::Page(at),
            };
            self.add(f.resource, parent, f.found.as_ref(), &position)?;
        }
        Some(())
    }

    /// List the request of resource `index` at `position` if it may be sent ahead; `None` to stop the walk.
    fn add(
        &mut self,
        index: usize,
        parent: Option<&Value>,
        found: Option<&Paginator>,
        position: &Position,
    ) -> Option<()> {
        if std::mem::take(&mut self.skip) {
            return Some(());
        }
        let next = std::mem::take(&mut self.next);
        let resource = &self.engine.config.resources[index];
        if self.out.len() >= self.most || !(next || resource.parallelized) {
            return None;
        }
        if !self.token_lasts(resource.endpoint.auth.as_ref().and_then(Auth::oauth2)) {
            return None;
        }
        let mut request = self
            .engine
            .request_at(index, parent, found, position)
            .ok()?;
        if self.trusted.is_none() || origin(&request.url) != self.trusted {
            return None;
        }
        self.engine.dress(index, &mut request);
        self.out.push(request);
        Some(())
    }

    /// No OAuth2, or a token for it that is good for a while yet.
    fn token_lasts(&self, oauth: Option<&crate::auth::OAuth2>) -> bool {
        let Some(oauth) = oauth else {
            return true;
        };
        let engine = self.engine;
        !engine.token_fresh
            && engine.token.as_ref().is_some_and(|t| {
                t.serves(oauth) && t.good_at(self.now.monotonic_ms.saturating_add(TOKEN_MARGIN_MS))
            })
    }
}
