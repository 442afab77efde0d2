//! Guards against a paginator that does not fit the API: a page whose records repeat the previous page's
//! exactly ends the run with an error, and every guess paginator detection makes is said once per resource.

use super::{Engine, Exchange};
use crate::checkpoint::PageMark;
use crate::error::Error;
use crate::hash::stable_hash;
use crate::paginator::Paginator;
use serde_json::Value;
use serde_json::value::RawValue;

/// The mark of a page whose records were parsed (`lines` as written to the page).
pub(super) fn mark(records: &[Value], lines: &[u8]) -> PageMark {
    let ends = match (records.first(), records.last()) {
        (Some(first), Some(last)) => format!("{first}\n{last}"),
        _ => String::new(),
    };
    PageMark {
        count: records.len() as u64,
        ends: stable_hash(ends.as_bytes()),
        lines: stable_hash(lines),
        raw: false,
    }
}

/// The mark of a page whose records were kept as text (their first and last parsed, to compare as values).
pub(super) fn mark_raw(records: &[&RawValue], lines: &[u8]) -> PageMark {
    let value = |r: Option<&&RawValue>| {
        r.and_then(|r| serde_json::from_str::<Value>(r.get()).ok())
            .unwrap_or(Value::Null)
    };
    let ends = match records.is_empty() {
        true => String::new(),
        false => format!("{}\n{}", value(records.first()), value(records.last())),
    };
    PageMark {
        count: records.len() as u64,
        ends: stable_hash(ends.as_bytes()),
        lines: stable_hash(lines),
        raw: true,
    }
}

impl Engine {
    /// Fail when this page's records repeat the previous page's of the same frame (also across a resume: the
    /// mark rides in the checkpoint): the paginator asked for the same page again, and going on would store it
    /// again (or loop until the URL grows too long).
    pub(super) fn check_repeat(
        &mut self,
        exchange: &Exchange,
        page: PageMark,
    ) -> Result<(), Error> {
        let f = exchange.frame;
        let previous = self.frames[f].last_page.replace(page);
        if !previous.is_some_and(|p| page.repeats(&p)) {
            return Ok(());
        }
        let resource = &self.config.resources[self.frames[f].resource];
        let paginator = match (&resource.endpoint.paginator, &self.frames[f].found) {
            (Some(p), _) => format!("the configured paginator ({})", kind(p)),
            (None, Some(p)) => format!("the detected paginator ({})", kind(p)),
            (None, None) => "the paginator".to_string(),
        };
        let message = format!(
            "this page's {} records repeat the previous page's exactly: {paginator} does not fit this API, and \
             going on would store them again; set `paginator` for resource `{}`",
            page.count, resource.name
        );
        Err(self.bad(exchange, message))
    }

    /// Why a record without its primary key fails the page: such a row cannot be merged or told apart.
    pub(super) fn unkeyed(&self, index: usize) -> String {
        let keys = self.schemas[index].primary_key.join("`, `");
        format!(
            "a record has no value for its primary key `{keys}` (primary_key): a row without its key cannot be \
             merged or deduplicated, so it is not stored"
        )
    }

    /// Say once per resource that a page had no records key at all: the data selector matched nothing (not even
    /// an empty list), which is what an error object sent with status 200 looks like.
    pub(super) fn note_no_records(&mut self, exchange: &Exchange) {
        let index = self.frames[exchange.frame].resource;
        let resource = &self.config.resources[index];
        let selector = match (
            &resource.endpoint.data_selector,
            &self.frames[exchange.frame].data_path,
        ) {
            (Some(p), _) => p.as_str().to_string(),
            (None, Some(keys)) => keys.join("."),
            (None, None) => return,
        };
        let note = format!(
            "resource `{}`: the data selector `{selector}` matches nothing in the page from {} (not even an empty \
             list), so no records were taken from it; an error object sent with status 200 looks like this",
            resource.name,
            self.redact(exchange.frame, &exchange.request.url)
        );
        self.note_once(index, "no records key", note);
    }

    /// Say once per resource that paging by `Link` headers ended on one it could not read: the page it named,
    /// if any, and those after it were not fetched.
    pub(super) fn note_unreadable_link(
        &mut self,
        exchange: &Exchange,
        headers: &[(String, String)],
    ) {
        let unreadable = url::Url::parse(&exchange.request.url)
            .is_ok_and(|base| crate::paginator::unreadable_link(headers, &base));
        if !unreadable {
            return;
        }
        let index = self.frames[exchange.frame].resource;
        let note = format!(
            "resource `{}`: the Link header of the page from {} cannot be read, so paging ends there; if it named \
             a next page, that page and the ones after it were not fetched",
            self.config.resources[index].name,
            self.redact(exchange.frame, &exchange.request.url)
        );
        self.note_once(index, "unreadable link", note);
    }

    /// Say once per resource that detection guessed: no paginator found (one page only), or a cursor taken
    /// from a `next` value.
    pub(super) fn note_guess(&mut self, exchange: &Exchange, paginator: &Paginator) {
        let index = self.frames[exchange.frame].resource;
        let name = self.config.resources[index].name.clone();
        let url = self.redact(exchange.frame, &exchange.request.url);
        let note = match paginator {
            Paginator::SinglePage => format!(
                "resource `{name}`: no paginator is configured and the first response from {url} shows none; \
                 only that page is read (dlt: \"Fallback paginator used\"). Set `paginator` if there are more"
            ),
            Paginator::Cursor { cursor_path, .. } => format!(
                "resource `{name}`: no paginator is configured; guessed a cursor from `{}` in the first response \
                 from {url}, sent as the `cursor` parameter. Set `paginator` if this is wrong",
                cursor_path.as_str()
            ),
            _ => return,
        };
        self.note_once(index, "guess", note);
    }

    /// Add a note unless one on `topic` was already said for resource `index`.
    pub(super) fn note_once(&mut self, index: usize, topic: &'static str, note: String) {
        if !self.said.contains(&(index, topic)) {
            self.said.push((index, topic));
            self.notes.push(note);
        }
    }
}

/// A paginator's dlt type name.
fn kind(p: &Paginator) -> &'static str {
    match p {
        Paginator::SinglePage => "single_page",
        Paginator::Offset { .. } => "offset",
        Paginator::PageNumber { .. } => "page_number",
        Paginator::Cursor { .. } => "cursor",
        Paginator::JsonLink { .. } => "json_link",
        Paginator::HeaderLink { .. } => "header_link",
        Paginator::HeaderCursor { .. } => "header_cursor",
    }
}

#[cfg(test)]
mod tests;
