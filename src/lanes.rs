//! Lanes: root resources marked `parallelized` page side by side, as dlt runs them, each in an engine of its own;
//! the other root resources share one lane and take turns as in a serial run. Each lane's engine is the serial
//! engine restricted to its roots (and their children), so within a lane requests, pages and checkpoints are a
//! serial run's.
//!
//! The checkpoint of a page is the lanes' checkpoints as they stood once it was delivered: for every lane, the
//! checkpoint of the last page of that lane delivered so far, so it is true once that page and every page before
//! it are stored. With one lane it is that lane's own checkpoint, as without lanes. The lanes draw on one request
//! budget (`client.rate_limit`). Configs with OAuth2 keep one
//! lane: lanes do not share a token, and a token request per lane would be a request the serial run does not send.
//!
//! This module is pure: the component drives the lanes' engines ([`Turns`] keeps track of what each waits for,
//! [`Ahead`] of the requests sent before an engine asked for them).

use crate::engine::Engine;
use crate::error::Error;
use crate::schema::TableSchema;
use serde_json::Value;
use serde_json::value::RawValue;

/// The engines of a run, one per lane.
pub struct Lanes {
    engines: Vec<Engine>,
    /// Per lane: the checkpoint of its last page delivered (or the one it resumed from).
    delivered: Vec<Option<Box<RawValue>>>,
    /// Per resource: the lane that fetches it.
    owner: Vec<usize>,
    /// Per lane: it finished in the run being resumed, which other lanes have not finished yet.
    finished: Vec<bool>,
}

impl Lanes {
    /// Engines for the config (see [`Engine::new`]); `checkpoint` is a checkpoint a page of this config came with.
    pub fn new(
        config_as_written: &str,
        config: &Value,
        secrets: Vec<String>,
        checkpoint: Option<&str>,
    ) -> Result<Self, Error> {
        let whole = Engine::new(config_as_written, config, secrets.clone(), None)?;
        let groups = whole.lanes();
        if groups.len() <= 1 {
            let engine = match checkpoint {
                None => whole,
                Some(_) => Engine::new(config_as_written, config, secrets, checkpoint)?,
            };
            let owner = vec![0; engine.resources().len()];
            let delivered = vec![checkpoint.and_then(|c| RawValue::from_string(c.into()).ok())];
            return Ok(Self {
                engines: vec![engine],
                delivered,
                owner,
                finished: vec![false],
            });
        }
        let mut parts = split_checkpoint(checkpoint, groups.len())?;
        // Each lane starts from its own checkpoint, or from the one a run that it has not delivered a page of yet
        // began from (`{"next": ..}`).
        let starts: Vec<Option<Box<RawValue>>> =
            parts.iter().map(|p| p.as_deref().map(start_of)).collect();
        let own_complete: Vec<bool> = parts
            .iter()
            .map(|p| {
                p.as_deref()
                    .is_some_and(|p| next_of(p).is_none() && complete(p))
            })
            .collect();
        // Every lane finished: the next run begins in each, and until a lane delivers a page of it, its entry
        // says which checkpoint that run began from. Else a lane that finished is done for this run.
        let finished = match own_complete.iter().all(|c| *c) {
            true => {
                for part in &mut parts {
                    *part = part.as_deref().map(next_entry);
                }
                vec![false; own_complete.len()]
            }
            false => own_complete,
        };
        let mut owner = vec![0; whole.resources().len()];
        let mut engines = Vec::with_capacity(groups.len());
        let budget = whole.budget();
        for (lane, (roots, start)) in groups.iter().zip(&starts).enumerate() {
            let text = start.as_ref().map(|p| p.get());
            let mut engine = Engine::new(config_as_written, config, secrets.clone(), text)?;
            engine.share_budget(budget.clone());
            for r in engine.restrict_to(roots) {
                owner[r] = lane;
            }
            engines.push(engine);
        }
        Ok(Self {
            engines,
            delivered: parts,
            owner,
            finished,
        })
    }

    /// Whether lane `lane` has nothing left to fetch in this run (it finished before the resume).
    pub fn finished(&self, lane: usize) -> bool {
        self.finished[lane]
    }

    /// How many lanes there are.
    pub fn len(&self) -> usize {
        self.engines.len()
    }

    /// Always false: a run has at least one lane.
    pub fn is_empty(&self) -> bool {
        self.engines.is_empty()
    }

    /// The engine of lane `lane`.
    pub fn engine(&mut self, lane: usize) -> &mut Engine {
        &mut self.engines[lane]
    }

    /// The resources, in config order.
    pub fn resources(&self) -> &[crate::config::Resource] {
        self.engines[0].resources()
    }

    /// Each resource's schema, from the lane that fetches it.
    pub fn schemas(&self) -> Vec<TableSchema> {
        self.owner
            .iter()
            .enumerate()
            .map(|(r, &lane)| self.engines[lane].schemas()[r].clone())
            .collect()
    }

    /// The checkpoint to deliver with a page of lane `lane` that came with `checkpoint`.
    pub fn checkpoint(&mut self, lane: usize, checkpoint: String) -> Result<String, Error> {
        if self.engines.len() == 1 {
            return Ok(checkpoint);
        }
        let own = RawValue::from_string(checkpoint)
            .map_err(|e| Error::Internal(format!("a lane's checkpoint is not JSON: {e}")))?;
        self.delivered[lane] = Some(own);
        serde_json::to_string(&serde_json::json!({ "lanes": self.delivered }))
            .map_err(|e| Error::Internal(format!("the checkpoint could not be written: {e}")))
    }
}

/// The checkpoint a lane's entry names: `cp` in `{"next": cp}`.
fn next_of(entry: &RawValue) -> Option<Box<RawValue>> {
    #[derive(serde::Deserialize)]
    struct Next {
        next: Box<RawValue>,
    }
    serde_json::from_str::<Next>(entry.get())
        .ok()
        .map(|n| n.next)
}

/// The checkpoint a lane starts from: its own, or the one its run began from.
fn start_of(entry: &RawValue) -> Box<RawValue> {
    next_of(entry).unwrap_or_else(|| entry.to_owned())
}

/// The entry of a lane whose run begins from its complete checkpoint `entry`.
fn next_entry(entry: &RawValue) -> Box<RawValue> {
    let text = format!(r#"{{"next":{}}}"#, entry.get());
    RawValue::from_string(text).unwrap_or_else(|_| entry.to_owned())
}

/// Whether a lane's checkpoint is the last of its run.
fn complete(checkpoint: &RawValue) -> bool {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(default)]
        complete: bool,
    }
    serde_json::from_str::<Head>(checkpoint.get()).is_ok_and(|h| h.complete)
}

/// A checkpoint of a config with `lanes` lanes, split into the lanes' own: `{"lanes": [..]}`, one entry per lane,
/// `null` for a lane that had delivered no page.
fn split_checkpoint(
    checkpoint: Option<&str>,
    lanes: usize,
) -> Result<Vec<Option<Box<RawValue>>>, Error> {
    let Some(text) = checkpoint else {
        return Ok(vec![None; lanes]);
    };
    #[derive(serde::Deserialize)]
    struct Composite {
        lanes: Vec<Option<Box<RawValue>>>,
    }
    let bad = |why: String| Error::config("checkpoint", why);
    let parsed: Composite = serde_json::from_str(text).map_err(|e| {
        bad(format!(
            "this config runs {lanes} lanes of `parallelized` resources, and the checkpoint is not one of theirs: {e}"
        ))
    })?;
    if parsed.lanes.len() != lanes {
        return Err(bad(format!(
            "the checkpoint has {} lanes; this config runs {lanes}",
            parsed.lanes.len()
        )));
    }
    Ok(parsed.lanes)
}

mod turns;

pub use turns::{Ahead, Turns};

#[cfg(test)]
mod tests;
