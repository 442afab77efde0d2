//! Checkpoints: versioned JSON that says where a run stands after a stored page.
//!
//! A checkpoint names the config it was made for (a fingerprint of the config text as written, secret references
//! and not secret values), the resource, and the paginator position of the next request. It holds no record data,
//! no secret and no token. Loading one checks all of that and fails clearly instead of silently restarting.

use crate::config::SourceConfig;
use crate::error::Error;
use crate::paginator::{Paginator, Position};
use serde::{Deserialize, Serialize};

/// The checkpoint format version this engine writes and reads.
pub const VERSION: u32 = 1;

/// Where a run stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version.
    pub v: u32,
    /// Fingerprint of the config the run was made with.
    pub config: String,
    /// Index of the resource the next request belongs to.
    pub index: usize,
    /// Its name (checked on load).
    pub resource: String,
    /// The paginator position of its next request; `done` once it has no more pages.
    pub position: Position,
    /// The paginator detected from the resource's first response, when its config sets none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected: Option<serde_json::Value>,
}

/// A fingerprint of a config's text as written (FNV-1a, 64 bits, hex): it changes whenever the config does.
pub fn fingerprint(config_text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in config_text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

impl Checkpoint {
    /// Serialise.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a checkpoint serialises")
    }

    /// Parse and check a checkpoint against the config it is meant to resume. Returns it with the detected
    /// paginator it carries, if any.
    pub fn load(
        text: &str,
        config: &SourceConfig,
        fingerprint: &str,
    ) -> Result<(Self, Option<Paginator>), Error> {
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
        let resource = config
            .resources
            .get(cp.index)
            .filter(|r| r.name == cp.resource)
            .ok_or_else(|| {
                bad(format!(
                    "names resource `{}` at position {}, which this config does not have",
                    cp.resource, cp.index
                ))
            })?;
        let detected = match (&resource.endpoint.paginator, &cp.detected) {
            (None, Some(v)) => crate::config::paginator_from_value(v, "checkpoint.detected")?,
            _ => None,
        };
        let paginator = resource.endpoint.paginator.as_ref().or(detected.as_ref());
        if !fits(paginator, &cp.position) {
            return Err(bad(format!(
                "position {:?} does not fit the paginator of resource `{}`",
                cp.position, cp.resource
            )));
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
            "resources": [{"name": "r", "endpoint": {"paginator": {"type": "offset", "limit": 10}}}]
        }))
        .unwrap()
    }

    fn cp(position: Position) -> Checkpoint {
        Checkpoint {
            v: VERSION,
            config: "f".into(),
            index: 0,
            resource: "r".into(),
            position,
            detected: None,
        }
    }

    #[test]
    fn round_trip() {
        let c = cp(Position::Offset(20));
        let text = c.to_json();
        assert_eq!(
            text,
            r#"{"v":1,"config":"f","index":0,"resource":"r","position":{"at":"offset","value":20}}"#
        );
        assert_eq!(Checkpoint::load(&text, &config(), "f").unwrap().0, c);
    }

    #[test]
    fn rejects_what_does_not_fit() {
        let cases = [
            ("{", "is not a valid checkpoint"),
            (
                r#"{"v":2,"config":"f","index":0,"resource":"r","position":{"at":"first"}}"#,
                "has version 2",
            ),
            (
                r#"{"v":1,"config":"g","index":0,"resource":"r","position":{"at":"first"}}"#,
                "different config",
            ),
            (
                r#"{"v":1,"config":"f","index":1,"resource":"r","position":{"at":"first"}}"#,
                "does not have",
            ),
            (
                r#"{"v":1,"config":"f","index":0,"resource":"r","position":{"at":"cursor","value":"x"}}"#,
                "does not fit",
            ),
        ];
        for (text, want) in cases {
            let err = Checkpoint::load(text, &config(), "f")
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn fingerprints_differ_with_text() {
        assert_ne!(fingerprint("{\"a\":1}"), fingerprint("{\"a\":2}"));
        assert_eq!(fingerprint("x").len(), 16);
    }
}
