//! Compiled-component cache: a component is compiled once per content and engine configuration, and later
//! loads map the compiled artifact instead of compiling again.
//!
//! Artifacts are named by the SHA-256 of the component and the engine's precompile-compatibility hash, and this
//! host only loads artifacts it wrote itself into the cache directory (loading a compiled artifact runs its
//! machine code, so the directory must be one only this host writes to).

use sha2::{Digest, Sha256};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The artifact file for these component bytes under this engine.
fn artifact_path(engine: &Engine, dir: &Path, bytes: &[u8]) -> PathBuf {
    let digest: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut compat = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut compat);
    dir.join(format!("{digest}-{:016x}.cwasm", compat.finish()))
}

/// Load a component, through the cache in `dir` when given. A cache that cannot be written is skipped.
pub fn load(engine: &Engine, path: &Path, dir: Option<&Path>) -> wasmtime::Result<Component> {
    let bytes = std::fs::read(path)?;
    let Some(dir) = dir else {
        return Component::new(engine, &bytes);
    };
    let artifact = artifact_path(engine, dir, &bytes);
    if artifact.exists() {
        // SAFETY: the file is named by the content hash and engine compatibility, in a directory only this host
        // writes to (see the module docs); it was produced by `Engine::precompile_component` below.
        if let Ok(component) = unsafe { Component::deserialize_file(engine, &artifact) } {
            return Ok(component);
        }
    }
    let compiled = engine.precompile_component(&bytes)?;
    let tmp = artifact.with_extension(format!("tmp{}", std::process::id()));
    let stored = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&tmp, &compiled))
        .and_then(|()| std::fs::rename(&tmp, &artifact));
    if stored.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    // SAFETY: `compiled` was just produced by this engine's `precompile_component`.
    unsafe { Component::deserialize(engine, &compiled) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_are_named_by_content_and_engine() {
        let engine = Engine::default();
        let dir = Path::new("/cache");
        let a = artifact_path(&engine, dir, b"one");
        assert_eq!(a, artifact_path(&engine, dir, b"one"), "stable");
        assert_ne!(a, artifact_path(&engine, dir, b"two"), "content-addressed");
        assert_eq!(a.parent(), Some(dir));
    }
}
