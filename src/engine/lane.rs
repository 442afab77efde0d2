//! Splitting a run into lanes (see `crate::lanes`): which root resources page side by side, and an engine
//! restricted to some of them.

use super::Engine;
use crate::auth::Auth;

impl Engine {
    /// The root resources in groups that may page side by side: one group per `parallelized` root, after one
    /// group of all the others. A config with OAuth2 anywhere keeps one group (lanes would each fetch a token).
    pub fn lanes(&self) -> Vec<Vec<usize>> {
        let resources = &self.config.resources;
        let roots: Vec<usize> = (0..resources.len())
            .filter(|&r| resources[r].parent.is_none() && self.wanted[r])
            .collect();
        let oauth = resources
            .iter()
            .any(|r| r.endpoint.auth.as_ref().and_then(Auth::oauth2).is_some());
        if oauth {
            return vec![roots];
        }
        let (apart, together): (Vec<usize>, Vec<usize>) =
            roots.into_iter().partition(|&r| resources[r].parallelized);
        let mut lanes = Vec::new();
        if !together.is_empty() || apart.is_empty() {
            lanes.push(together);
        }
        lanes.extend(apart.into_iter().map(|r| vec![r]));
        lanes
    }

    /// Fetch only the resources below `roots` (the roots and their children); the resources kept. Call it
    /// before the first [`Engine::poll`].
    pub fn restrict_to(&mut self, roots: &[usize]) -> Vec<usize> {
        let resources = &self.config.resources;
        let root_of = |mut i: usize| {
            while let Some(p) = resources[i].parent {
                i = p;
            }
            i
        };
        let mut kept = Vec::new();
        for i in 0..resources.len() {
            match roots.contains(&root_of(i)) {
                true => kept.push(i),
                false => self.wanted[i] = false,
            }
        }
        kept
    }
}
