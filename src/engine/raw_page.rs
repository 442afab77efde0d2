//! Pages whose records stay text: for a stored resource with records at a plain key path, no parent, no
//! children and no incremental cursor, each record is copied from the response to the page as it came, and the
//! schema is inferred from its top-level keys. No record is built as a `Value` or written out again.

use super::{Engine, Exchange};
use crate::error::Error;
use crate::request::HttpResponse;
use crate::select;

impl Engine {
    /// A page whose records stayed text (see [`Engine::raw_keys`]): they go out as they came, on one line each.
    pub(super) fn take_raw_page(
        &mut self,
        exchange: &Exchange,
        response: &HttpResponse,
        page: select::raw::RawPage,
    ) -> Result<(), Error> {
        let f = exchange.frame;
        let next = match self.advance(exchange, response, &page.body, page.records.len()) {
            Ok(next) => next,
            Err(e) => return self.fail(e),
        };
        if !page.found {
            self.note_no_records(exchange);
        }
        let index = self.frames[f].resource;
        let mut lines = Vec::with_capacity(response.body.len() + page.records.len());
        // A record's values sit below the body's objects on the way, the record list and the record itself.
        // The parser itself stops at 127 levels: the default cap of 128 means 127 here too, as on the parsed path.
        let cap = self
            .config
            .limits
            .max_depth
            .min(crate::limits::ResponseLimits::MOST_DEPTH - 1);
        let depth = cap.saturating_sub(page.depth + 2);
        let mut schema_changes = Vec::new();
        for record in &page.records {
            let seen = self.schemas[index].observe_raw(record, depth);
            if seen.too_deep {
                let message = self.config.limits.too_deep();
                return self.fail(self.bad(exchange, message));
            }
            if !seen.keyed {
                let message = self.unkeyed(index);
                return self.fail(self.bad(exchange, message));
            }
            schema_changes.extend(seen.changes);
            let start = lines.len();
            lines.extend_from_slice(record.get().as_bytes());
            // A JSON string cannot hold a raw line break, so any in the text is whitespace between tokens.
            let text = &mut lines[start..];
            if text.contains(&b'\n') || text.contains(&b'\r') {
                for b in text.iter_mut().filter(|b| matches!(b, b'\n' | b'\r')) {
                    *b = b' ';
                }
            }
            lines.push(b'\n');
        }
        if let Err(e) = self.check_repeat(exchange, super::guard::mark_raw(&page.records, &lines)) {
            return self.fail(e);
        }
        self.frames[f].position = next;
        let name = self.config.resources[index].name.clone();
        let count = page.records.len() as u32;
        self.emit(exchange, name, lines, count, schema_changes)
    }

    /// The key path of the frame's records when its pages can keep their records as text: the resource is
    /// stored, has no parent, no child resources to fetch and no incremental cursor; its records are at a plain
    /// key path (configured, or detected on an earlier page); and its paginator, already known, reads only
    /// plain paths outside that one.
    pub(super) fn raw_keys(&self, f: usize) -> Option<Vec<String>> {
        let frame = &self.frames[f];
        let index = frame.resource;
        let resource = &self.config.resources[index];
        let plain = resource.selected
            && resource.parent.is_none()
            && resource.endpoint.incremental.is_none()
            && !resource.endpoint.jsonl
            && resource.steps.is_empty()
            && !self.config.children[index].iter().any(|&c| self.wanted[c]);
        if !plain {
            return None;
        }
        let keys = match &resource.endpoint.data_selector {
            Some(path) => path.keys()?,
            None => frame.data_path.clone()?,
        };
        let first = keys.first()?;
        let paginator = resource
            .endpoint
            .paginator
            .as_ref()
            .or(frame.found.as_ref())?;
        let apart = paginator.body_paths().iter().all(|p| {
            p.keys()
                .is_some_and(|k| k.first().is_some_and(|k| k != first))
        });
        apart.then_some(keys)
    }
}

#[cfg(test)]
mod tests;
