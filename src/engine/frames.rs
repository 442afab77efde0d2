//! The run as a stack of frames (dlt §8): a root resource being paged and, for each record of a parent page,
//! its children paged with fresh paginator state. Pages, replays on resume, and the checkpoint of each page.

use super::{Engine, Exchange, Page, Purpose};
use crate::checkpoint::{self, Checkpoint, FrameState, PendingState};
use crate::error::{Error, contains_secret};
use crate::paginator::{PageView, Paginator, Position};
use crate::request::HttpResponse;
use crate::select::{self, Selection};
use serde_json::Value;

/// One resource being paged.
#[derive(Debug, Clone)]
pub(super) struct Frame {
    /// Resource index.
    pub resource: usize,
    /// Position of the next request.
    pub position: Position,
    /// The paginator detected from the first response, when the config sets none.
    pub found: Option<Paginator>,
    /// The record path detected from the first response, when there is no `data_selector`.
    pub data_path: Option<Vec<String>>,
    /// For a child: the index of its parent record in the parent's page, and the record.
    pub parent: Option<(usize, Value)>,
    /// For a parent: the records of its last page whose children are being fetched.
    pub pending: Option<Pending>,
    /// On resume: re-fetch the parent page at this position to get `pending` back.
    pub replay: Option<PendingState>,
    /// On resume: the parent record index this child pages for (its record comes with the parent's replay).
    pub parent_index: Option<usize>,
    /// Pages fetched in this pagination loop (for `max_pages`).
    pub pages: u32,
    /// The last page's records, to see the same page come twice.
    pub last_page: Option<crate::checkpoint::PageMark>,
    /// For offset and page-number paging, from the last page: the step and the first position not asked for.
    pub known: Option<(i64, i64)>,
}

/// Parent records waiting for their children.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub records: Vec<Value>,
    from: Position,
    /// The record whose children come next.
    pub next_record: usize,
    /// Its child (among the wanted children) that comes next.
    pub next_child: usize,
}

impl Frame {
    pub(super) fn new(resource: usize, position: Position, parent: Option<(usize, Value)>) -> Self {
        let parent_index = parent.as_ref().map(|(i, _)| *i);
        Self {
            resource,
            position,
            found: None,
            data_path: None,
            parent,
            pending: None,
            replay: None,
            parent_index,
            pages: 0,
            last_page: None,
            known: None,
        }
    }
}

/// Frames from a checkpoint: every frame with pending children re-fetches its page first.
pub(super) fn restore(cp: &Checkpoint, detected: Vec<Option<Paginator>>) -> Vec<Frame> {
    cp.frames
        .iter()
        .zip(detected)
        .map(|(state, found)| Frame {
            found,
            replay: state.pending.clone(),
            parent_index: state.parent_record,
            pages: state.pages,
            last_page: state.last_page,
            ..Frame::new(state.index, state.position.clone(), None)
        })
        .collect()
}

/// The position of a resource's first request.
pub(super) fn start(paginator: Option<&Paginator>) -> Position {
    paginator.map_or(Position::First, Paginator::start)
}

impl Engine {
    /// The frame to send the next request for, pushing and popping frames as pages, children and windows
    /// finish.
    pub(super) fn next_frame(&mut self) -> Result<Option<(usize, Purpose)>, Error> {
        if let Some(i) = self.frames.iter().position(|f| f.replay.is_some()) {
            return Ok(Some((i, Purpose::Replay)));
        }
        loop {
            let Some(top) = self.frames.len().checked_sub(1) else {
                let Some(root) = (self.next_root..self.config.resources.len())
                    .find(|&r| self.config.resources[r].parent.is_none() && self.wanted[r])
                else {
                    return Ok(None);
                };
                self.next_root = root + 1;
                if self.open_window(root)? {
                    let paginator = self.config.resources[root].endpoint.paginator.as_ref();
                    self.frames.push(Frame::new(root, start(paginator), None));
                }
                continue;
            };
            if let Some(child) = self.next_child(top) {
                self.frames.push(child);
                continue;
            }
            if self.frames[top].position == Position::Done {
                if !self.next_window(top)? {
                    self.frames.pop();
                }
                continue;
            }
            return Ok(Some((top, Purpose::Page)));
        }
    }

    /// The next child frame of the frame at `top`, advancing its pending cursor; `None` when it has none left.
    fn next_child(&mut self, top: usize) -> Option<Frame> {
        let frame = &mut self.frames[top];
        let children: Vec<usize> = self.config.children[frame.resource]
            .iter()
            .copied()
            .filter(|&c| self.wanted[c])
            .collect();
        let pending = frame.pending.as_mut()?;
        if pending.next_record >= pending.records.len() || children.is_empty() {
            frame.pending = None;
            return None;
        }
        let child = children[pending.next_child];
        let index = pending.next_record;
        let record = pending.records[index].clone();
        pending.next_child += 1;
        if pending.next_child == children.len() {
            pending.next_child = 0;
            pending.next_record += 1;
        }
        let paginator = self.config.resources[child].endpoint.paginator.as_ref();
        Some(Frame::new(child, start(paginator), Some((index, record))))
    }

    /// Parse a page body and find its records with the frame's selector (or the detected path).
    fn locate(
        &mut self,
        frame: usize,
        exchange: &Exchange,
        body: &[u8],
    ) -> Result<(Value, Selection), Error> {
        let resource = &self.config.resources[self.frames[frame].resource];
        let body: Value = match resource.endpoint.jsonl {
            true => select::json_lines(body).map_err(|m| self.bad(exchange, m))?,
            false => self.parse_json(exchange, body)?,
        };
        let resource = &self.config.resources[self.frames[frame].resource];
        let selection = match &resource.endpoint.data_selector {
            Some(path) => path.locate(&body),
            None => {
                let keys = self.frames[frame]
                    .data_path
                    .get_or_insert_with(|| select::detect_data_path(&body));
                select::locate_at_keys(&body, keys)
            }
        };
        Ok((body, selection))
    }

    /// A JSON body, parsed.
    fn parse_json(&self, exchange: &Exchange, body: &[u8]) -> Result<Value, Error> {
        serde_json::from_slice(body).map_err(|e| {
            let message = match e.to_string() {
                // The parser's own depth cap, which is also the most `client.max_response_depth` allows.
                m if m.starts_with("recursion limit exceeded") => self.config.limits.too_deep(),
                m => format!("body is not JSON: {m}"),
            };
            self.bad(exchange, message)
        })
    }

    /// Whether the frame's data selector (or detected record path) matches anything in `body`, even `null`.
    fn records_key_found(&self, frame: usize, body: &Value) -> bool {
        let resource = &self.config.resources[self.frames[frame].resource];
        match (
            &resource.endpoint.data_selector,
            &self.frames[frame].data_path,
        ) {
            (Some(path), _) => path.first(body).is_some(),
            (None, Some(keys)) => keys.iter().try_fold(body, |v, k| v.get(k)).is_some(),
            (None, None) => true,
        }
    }

    /// Move the located records out of the body, with the parent's fields a child resource includes.
    fn take_records(
        &self,
        frame: usize,
        exchange: &Exchange,
        mut body: Value,
        selection: &Selection,
    ) -> Result<Vec<Value>, Error> {
        // A record that is not an object is wrapped as dlt's normalizer wraps it: `{"value": 5}`.
        let mut records: Vec<Value> = selection
            .take(&mut body)
            .into_iter()
            .map(|r| match r {
                Value::Object(_) => r,
                other => serde_json::json!({ "value": other }),
            })
            .collect();
        let resource = &self.config.resources[self.frames[frame].resource];
        if let (Some((_, parent)), Some(p)) = (&self.frames[frame].parent, resource.parent) {
            let parent_name = &self.config.resources[p].name;
            for record in &mut records {
                include_from_parent(record, parent, parent_name, &resource.include_from_parent)
                    .map_err(|m| self.bad(exchange, m))?;
            }
        }
        crate::steps::apply(&resource.steps, records).map_err(|m| self.bad(exchange, m))
    }

    pub(super) fn take_page(
        &mut self,
        exchange: &Exchange,
        response: &HttpResponse,
    ) -> Result<(), Error> {
        let f = exchange.frame;
        // Records that are not objects take the parsed path, which wraps them.
        if let Some(page) = self
            .raw_keys(f)
            .and_then(|keys| select::raw::parse(&response.body, &keys))
            .filter(|page| page.records.iter().all(|r| r.get().starts_with('{')))
        {
            return self.take_raw_page(exchange, response, page);
        }
        let (body, selection) = match self.locate(f, exchange, &response.body) {
            Ok(x) => x,
            Err(e) => return self.fail(e),
        };
        if !self.records_key_found(f, &body) {
            self.note_no_records(exchange);
        }
        let position = self.frames[f].position.clone();
        let next = match self.advance(exchange, response, &body, selection.count(&body)) {
            Ok(next) => next,
            Err(e) => return self.fail(e),
        };
        let resource = &self.config.resources[self.frames[f].resource];
        let (index, selected, name) = (
            self.frames[f].resource,
            resource.selected,
            resource.name.clone(),
        );
        let records = match self.take_records(f, exchange, body, &selection) {
            Ok(records) => records,
            Err(e) => return self.fail(e),
        };
        let (records, stop) = match self.filter_incremental(index, records) {
            Ok(x) => x,
            Err(message) => return self.fail(self.bad(exchange, message)),
        };
        let next = if stop { Position::Done } else { next };
        let mut lines = Vec::with_capacity(if selected { response.body.len() } else { 0 });
        let mut schema_changes = Vec::new();
        if selected {
            for record in &records {
                if self.schemas[index].missing_key(record).is_some() {
                    let message = self.unkeyed(index);
                    return self.fail(self.bad(exchange, message));
                }
                schema_changes.extend(self.schemas[index].observe(record));
                if let Err(e) = serde_json::to_writer(&mut lines, record) {
                    return self.fail(Error::Internal(format!("writing a record: {e}")));
                }
                lines.push(b'\n');
            }
        }
        if let Err(e) = self.check_repeat(exchange, super::guard::mark(&records, &lines)) {
            return self.fail(e);
        }
        let count = if selected { records.len() as u32 } else { 0 };
        let has_children = self.config.children[index].iter().any(|&c| self.wanted[c]);
        if has_children && !records.is_empty() {
            self.frames[f].pending = Some(Pending {
                records,
                from: position,
                next_record: 0,
                next_child: 0,
            });
        }
        self.frames[f].position = next;
        self.emit(exchange, name, lines, count, schema_changes)
    }

    /// The position after this page, from the frame's paginator (configured, found earlier, or detected from
    /// this first response); counts the page and applies `max_pages`. A position that repeats is an error.
    pub(super) fn advance(
        &mut self,
        exchange: &Exchange,
        response: &HttpResponse,
        body: &Value,
        record_count: usize,
    ) -> Result<Position, Error> {
        let f = exchange.frame;
        let resource = &self.config.resources[self.frames[f].resource];
        let url = exchange.request.url.clone();
        let view = PageView {
            body,
            headers: &response.headers,
            record_count,
            url: &url,
        };
        let position = self.frames[f].position.clone();
        let (paginator, at, guessed) = match (&resource.endpoint.paginator, &self.frames[f].found) {
            (Some(p), _) | (None, Some(p)) => (p.clone(), position.clone(), false),
            (None, None) => {
                let p = crate::detect::detect_paginator(&response.headers, body, &url);
                let at = p.start();
                (p, at, true)
            }
        };
        let (max_pages, configured) = (
            resource.endpoint.max_pages,
            resource.endpoint.paginator.is_some(),
        );
        if guessed {
            self.note_guess(exchange, &paginator);
        }
        let next = match paginator.advance(&at, &view) {
            Ok(next) => self.strip_auth_from_next(f, next),
            Err(message) => return Err(self.bad(exchange, message)),
        };
        if next != Position::Done && next == position {
            let message = format!(
                "pagination does not advance: the page requested at {position:?} points to {next:?} again, so the next page would repeat it"
            );
            return Err(self.bad(exchange, message));
        }
        self.refreshed = false;
        self.frames[f].pages += 1;
        let next = match max_pages {
            Some(max) if self.frames[f].pages >= max => Position::Done,
            _ => next,
        };
        if next == Position::Done && matches!(paginator, Paginator::HeaderLink { .. }) {
            self.note_unreadable_link(exchange, &response.headers);
        }
        self.frames[f].known = paginator.known_range(body);
        if !configured {
            self.frames[f].found = Some(paginator);
        }
        Ok(next)
    }

    /// Make a page ready, with the checkpoint of the frames as they are now.
    pub(super) fn emit(
        &mut self,
        exchange: &Exchange,
        resource: String,
        records: Vec<u8>,
        record_count: u32,
        schema_changes: Vec<crate::schema::Change>,
    ) -> Result<(), Error> {
        let checkpoint = match self.checkpoint() {
            Ok(c) => c,
            Err(message) => return self.fail(self.bad(exchange, message)),
        };
        self.ready = Some(Page {
            resource,
            records,
            record_count,
            checkpoint,
            schema_changes,
        });
        Ok(())
    }

    /// A replayed parent page: its records come back (nothing is stored again), and its child gets its record.
    pub(super) fn take_replay(
        &mut self,
        exchange: &Exchange,
        response: &HttpResponse,
    ) -> Result<(), Error> {
        let f = exchange.frame;
        let records = match self
            .locate(f, exchange, &response.body)
            .and_then(|(body, selection)| self.take_records(f, exchange, body, &selection))
        {
            Ok(records) => records,
            Err(e) => return self.fail(e),
        };
        let Some(state) = self.frames[f].replay.take() else {
            return self.fail(Error::Internal("no page to replay".into()));
        };
        if let Some(child) = self.frames.get_mut(f + 1) {
            let index = child.parent_index.unwrap_or_default();
            match records.get(index) {
                Some(record) => child.parent = Some((index, record.clone())),
                None => {
                    let message =
                        format!("cannot resume: the parent page no longer has record {index}");
                    return self.fail(self.bad(exchange, message));
                }
            }
        }
        self.frames[f].pending = Some(Pending {
            records,
            from: state.from,
            next_record: state.next_record,
            next_child: state.next_child,
        });
        Ok(())
    }

    /// Whether a `response_actions` entry of the frame's resource ignores this response.
    pub(super) fn ignores(&self, frame: usize, response: &HttpResponse) -> bool {
        let actions = &self.resource_of(frame).endpoint.response_actions;
        !actions.is_empty() && {
            let text = String::from_utf8_lossy(&response.body);
            actions.iter().any(|a| a.matches(response.status, &text))
        }
    }

    /// An ignored response ends that pagination loop: no records from it, no retry (dlt's
    /// `IgnoreResponseException`). An empty page carries the checkpoint that says so.
    pub(super) fn ignore(&mut self, frame: usize) -> Result<(), Error> {
        self.frames[frame].position = Position::Done;
        let name = self.resource_of(frame).name.clone();
        let checkpoint = self.checkpoint().map_err(Error::Internal)?;
        self.ready = Some(Page {
            resource: name,
            records: Vec::new(),
            record_count: 0,
            checkpoint,
            schema_changes: Vec::new(),
        });
        Ok(())
    }

    /// The checkpoint of the current frames; an error text if a position would hold a secret.
    fn checkpoint(&self) -> Result<String, String> {
        let frames: Vec<FrameState> = self
            .frames
            .iter()
            .map(|f| {
                let resource = &self.config.resources[f.resource];
                FrameState {
                    resource: resource.name.clone(),
                    index: f.resource,
                    position: f.position.clone(),
                    detected: resource
                        .endpoint
                        .paginator
                        .is_none()
                        .then(|| f.found.as_ref()?.describe())
                        .flatten(),
                    parent_record: f.parent.as_ref().map(|(i, _)| *i),
                    pages: f.pages,
                    last_page: f.last_page,
                    pending: f.pending.as_ref().map(|p| PendingState {
                        from: p.from.clone(),
                        next_record: p.next_record,
                        next_child: p.next_child,
                    }),
                }
            })
            .collect();
        // Justified: plain derived structs with string map keys always serialise to a string.
        #[allow(clippy::expect_used)]
        let positions = serde_json::to_string(&frames).expect("serialises");
        if contains_secret(&positions, &self.masks()) {
            return Err(
                "the next page's position holds a secret value; it cannot be checkpointed".into(),
            );
        }
        let incremental = self
            .cursors
            .iter()
            .enumerate()
            .filter_map(|(i, c)| Some((self.config.resources[i].name.clone(), c.clone()?)))
            .collect();
        let complete = self.finished();
        let schema = self
            .schemas
            .iter()
            .filter(|t| t.selected)
            .map(|t| (t.resource.clone(), t.inferred()))
            .filter(|(_, i)| i.records > 0)
            .collect();
        let cp = Checkpoint {
            v: checkpoint::VERSION,
            config: self.fingerprint.clone(),
            next_root: self.next_root,
            frames,
            incremental,
            schema,
            complete,
        };
        Ok(cp.to_json())
    }

    /// Nothing is left to fetch: every frame is done with no children pending and no window left, and no root
    /// is left.
    fn finished(&self) -> bool {
        let frames_done = self.frames.iter().all(|f| {
            f.position == Position::Done
                && f.pending
                    .as_ref()
                    .is_none_or(|p| p.next_record >= p.records.len())
        });
        let roots_left = (self.next_root..self.config.resources.len())
            .any(|r| self.config.resources[r].parent.is_none() && self.wanted[r]);
        let windows_left = self.frames.iter().any(|f| self.windows_ahead(f.resource));
        frames_done && !roots_left && !windows_left
    }

    /// Apply the resource's incremental filter to a page's records; whether `row_order` says to stop paging.
    fn filter_incremental(
        &mut self,
        index: usize,
        records: Vec<Value>,
    ) -> Result<(Vec<Value>, bool), String> {
        let resource = &self.config.resources[index];
        let (Some(inc), Some(state)) =
            (&resource.endpoint.incremental, self.cursors[index].as_mut())
        else {
            return Ok((records, false));
        };
        let mut kept = Vec::with_capacity(records.len());
        let mut stop = false;
        for record in records {
            let verdict = inc.filter(state, &record, &resource.primary_key)?;
            stop |= match inc.row_order {
                Some(crate::incremental::RowOrder::Asc) => verdict.end_out,
                Some(crate::incremental::RowOrder::Desc) => verdict.start_out,
                None => false,
            };
            if verdict.keep {
                kept.push(record);
            }
        }
        inc.settle(state)?;
        // dlt closes the generator only for resources without a parent.
        Ok((kept, stop && resource.parent.is_none()))
    }

    pub(super) fn bad(&self, exchange: &Exchange, message: String) -> Error {
        Error::BadResponse {
            resource: self.exchange_name(exchange),
            url: self.redact(exchange.frame, &exchange.request.url),
            message,
        }
    }
}

/// dlt's `include_from_parent`: copy top-level parent fields into the child record as `_<parent>_<field>`.
fn include_from_parent(
    record: &mut Value,
    parent: &Value,
    parent_name: &str,
    fields: &[String],
) -> Result<(), String> {
    if fields.is_empty() {
        return Ok(());
    }
    for field in fields {
        let key = format!("_{parent_name}_{field}");
        let Some(value) = parent.get(field) else {
            let available: Vec<String> = parent
                .as_object()
                .map(|m| m.keys().map(|k| format!("'{k}'")).collect())
                .unwrap_or_default();
            return Err(format!(
                "Resource expects a field `{field}` to be present in the incoming data from resource `{parent_name}` in order to include it in child records under `{key}`. Available parent fields are: [{}]",
                available.join(", ")
            ));
        };
        if let Value::Object(map) = record {
            map.insert(key, value.clone());
        }
    }
    Ok(())
}
