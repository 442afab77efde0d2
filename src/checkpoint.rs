//! Checkpoints: versioned JSON that says where a run stands after a stored page.
//!
//! A run is a stack of frames: the root resource being paged, and under a parent page, the child resource being
//! paged for one parent record. A checkpoint names the config it was made for (a fingerprint of the config text
//! as written: secret references, not values) and, per frame, the resource, the paginator position of its next
//! request and, for a parent, which page its pending records came from and which record and child come next.
//! It holds no record data, no secret and no token. Loading checks all of that and fails clearly instead of
//! silently restarting.

use crate::config::SourceConfig;
use crate::error::Error;
use crate::paginator::{Paginator, Position};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The checkpoint format version this engine writes and reads.
pub const VERSION: u32 = 1;

/// Where a run stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version.
    pub v: u32,
    /// Fingerprint of the config the run was made with.
    pub config: String,
    /// Index of the first resource to consider as the next root once the frames are done.
    pub next_root: usize,
    /// The resources being paged, outermost first.
    pub frames: Vec<FrameState>,
    /// The incremental cursor of each resource that has one, by resource name.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub incremental: std::collections::BTreeMap<String, crate::incremental::CursorState>,
    /// True on the last page of a run: nothing is left to fetch. Given to `configure`, such a checkpoint starts
    /// the next run, whose incremental resources continue from their cursors.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub complete: bool,
    /// The inferred schema of each resource that has seen records, by resource name.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub schema: std::collections::BTreeMap<String, crate::schema::Inferred>,
}

/// One frame of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameState {
    /// Resource name (checked on load).
    pub resource: String,
    /// Resource index in the config.
    pub index: usize,
    /// The paginator position of its next request; `done` once it has no more pages.
    pub position: Position,
    /// The paginator detected from its first response, when its config sets none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected: Option<Value>,
    /// For a child: the index, in its parent's page, of the parent record it pages for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_record: Option<usize>,
    /// For a parent whose children are being fetched: where its records came from and what comes next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingState>,
    /// Pages fetched so far in this pagination loop (for `max_pages`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pages: u32,
    /// What the loop's last page held, so that a resumed run still sees the same page come twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_page: Option<PageMark>,
}

/// A page's records, reduced to what tells the same page twice: how many, the first and last compared as
/// values (so a page parsed and one kept as text compare), and all of them as written, with the path that wrote
/// them (records kept as text keep the API's spacing, parsed ones do not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageMark {
    /// Records on the page.
    pub count: u64,
    /// Hash of the first and last record as values.
    pub ends: u64,
    /// Hash of every record as written to the page.
    pub lines: u64,
    /// Whether the records were kept as text.
    pub raw: bool,
}

impl PageMark {
    /// Whether `self` is the same page as `earlier`: the same records, compared as written when both were
    /// written the same way, else by their number and ends.
    pub fn repeats(&self, earlier: &PageMark) -> bool {
        self.count > 0
            && self.count == earlier.count
            && self.ends == earlier.ends
            && (self.raw != earlier.raw || self.lines == earlier.lines)
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The children still to fetch for a parent page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingState {
    /// The position of the parent page whose records are being fanned out (re-fetched on resume).
    pub from: Position,
    /// The next parent record to start a child for.
    pub next_record: usize,
    /// The next child (among the resource's children) for that record.
    pub next_child: usize,
}

impl Checkpoint {
    /// Serialise.
    pub fn to_json(&self) -> String {
        // Justified: plain derived structs with string map keys always serialise to a string.
        #[allow(clippy::expect_used)]
        serde_json::to_string(self).expect("a checkpoint serialises")
    }

    /// Parse and check a checkpoint against the config it is meant to resume. Returns it with each frame's
    /// detected paginator, if any.
    pub fn load(
        text: &str,
        config: &SourceConfig,
        fingerprint: &str,
    ) -> Result<(Self, Vec<Option<Paginator>>), Error> {
        let bad = |m: String| Error::config("checkpoint", m);
        let cp: Checkpoint = serde_json::from_str(text)
            .map_err(|e| bad(format!("is not a valid checkpoint: {e}")))?;
        if cp.v != VERSION {
            return Err(bad(format!(
                "has version {}, this connector reads version {VERSION}",
                cp.v
            )));
        }
        if cp.config != fingerprint {
            return Err(bad(
                "was made with a different config; delete it to start over".into(),
            ));
        }
        if cp.next_root > config.resources.len() {
            return Err(bad(format!(
                "names resource position {}, which this config does not have",
                cp.next_root
            )));
        }
        let mut detected = Vec::new();
        for (k, frame) in cp.frames.iter().enumerate() {
            let resource = config
                .resources
                .get(frame.index)
                .filter(|r| r.name == frame.resource)
                .ok_or_else(|| {
                    bad(format!(
                        "names resource `{}` at position {}, which this config does not have",
                        frame.resource, frame.index
                    ))
                })?;
            let expected_parent = k.checked_sub(1).map(|p| cp.frames[p].index);
            if resource.parent != expected_parent || (k > 0) != frame.parent_record.is_some() {
                return Err(bad(format!(
                    "does not fit the parent/child structure of resource `{}`",
                    frame.resource
                )));
            }
            if k + 1 < cp.frames.len() && frame.pending.is_none() {
                return Err(bad(format!(
                    "has a child of `{}` but no parent page to resume it from",
                    frame.resource
                )));
            }
            let found = match (&resource.endpoint.paginator, &frame.detected) {
                (None, Some(v)) => crate::config::paginator_from_value(v, "checkpoint.detected")?,
                _ => None,
            };
            let paginator = resource.endpoint.paginator.as_ref().or(found.as_ref());
            let positions =
                std::iter::once(&frame.position).chain(frame.pending.as_ref().map(|p| &p.from));
            for position in positions {
                if !fits(paginator, position) {
                    return Err(bad(format!(
                        "position {position:?} does not fit the paginator of resource `{}`",
                        frame.resource
                    )));
                }
            }
            detected.push(found);
        }
        Ok((cp, detected))
    }
}

fn fits(paginator: Option<&Paginator>, position: &Position) -> bool {
    let Some(paginator) = paginator else {
        return matches!(position, Position::First | Position::Done);
    };
    matches!(
        (paginator, position),
        (_, Position::Done | Position::First)
            | (Paginator::Offset { .. }, Position::Offset(_))
            | (Paginator::PageNumber { .. }, Position::Page(_))
            | (
                Paginator::Cursor { .. } | Paginator::HeaderCursor { .. },
                Position::Cursor(_)
            )
            | (
                Paginator::JsonLink { .. } | Paginator::HeaderLink { .. },
                Position::NextUrl(_)
            )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> SourceConfig {
        crate::config::parse(&json!({
            "client": {"base_url": "https://a"},
            "resources": [
                {"name": "r", "endpoint": {"paginator": {"type": "offset", "limit": 10}}},
                {"name": "c", "endpoint": {"path": "r/{resources.r.id}/c", "paginator": "single_page"}}
            ]
        }))
        .unwrap()
    }

    fn frame(resource: &str, index: usize, position: Position) -> FrameState {
        FrameState {
            pages: 0,
            resource: resource.into(),
            index,
            position,
            detected: None,
            parent_record: None,
            pending: None,
            last_page: None,
        }
    }

    #[test]
    fn round_trip() {
        let mut parent = frame("r", 0, Position::Offset(20));
        parent.pending = Some(PendingState {
            from: Position::Offset(10),
            next_record: 3,
            next_child: 0,
        });
        let mut child = frame("c", 1, Position::Done);
        child.parent_record = Some(2);
        let c = Checkpoint {
            v: VERSION,
            config: "f".into(),
            next_root: 1,
            frames: vec![parent, child],
            incremental: Default::default(),
            complete: false,
            schema: Default::default(),
        };
        let text = c.to_json();
        assert_eq!(
            text,
            r#"{"v":1,"config":"f","next_root":1,"frames":[{"resource":"r","index":0,"position":{"at":"offset","value":20},"pending":{"from":{"at":"offset","value":10},"next_record":3,"next_child":0}},{"resource":"c","index":1,"position":{"at":"done"},"parent_record":2}]}"#
        );
        assert_eq!(Checkpoint::load(&text, &config(), "f").unwrap().0, c);
    }

    #[test]
    fn rejects_what_does_not_fit() {
        let f = r#"{"resource":"r","index":0,"position":{"at":"first"}}"#;
        let cases = [
            ("{".to_string(), "is not a valid checkpoint"),
            (format!(r#"{{"v":2,"config":"f","next_root":1,"frames":[{f}]}}"#), "has version 2"),
            (format!(r#"{{"v":1,"config":"g","next_root":1,"frames":[{f}]}}"#), "different config"),
            (r#"{"v":1,"config":"f","next_root":1,"frames":[{"resource":"x","index":0,"position":{"at":"first"}}]}"#.into(), "does not have"),
            (r#"{"v":1,"config":"f","next_root":1,"frames":[{"resource":"r","index":0,"position":{"at":"cursor","value":"x"}}]}"#.into(), "does not fit the paginator"),
            (r#"{"v":1,"config":"f","next_root":1,"frames":[{"resource":"c","index":1,"position":{"at":"first"}}]}"#.into(), "parent/child structure"),
            (format!(r#"{{"v":1,"config":"f","next_root":1,"frames":[{f},{{"resource":"c","index":1,"position":{{"at":"first"}},"parent_record":0}}]}}"#), "no parent page"),
        ];
        for (text, want) in cases {
            let err = Checkpoint::load(&text, &config(), "f")
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
