//! Building this workspace's component with cargo, for the tests and for a first `demo` on a fresh clone.

use std::path::PathBuf;
use std::process::Command;

/// Why the component could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// cargo could not be started.
    #[error("cannot run cargo: {0}")]
    Spawn(#[from] std::io::Error),
    /// cargo failed; its stderr tail says why (often: `rustup target add wasm32-wasip2`).
    #[error("building the component failed:\n{0}")]
    Failed(String),
}

/// Build the component with the `component` profile (small, optimised) and return its path.
///
/// Runs `cargo build -p rest-api-source --target wasm32-wasip2 --profile component` in this workspace, with the
/// cargo that runs us (`$CARGO`) when there is one. Do not call it from a build script: a nested cargo on the same
/// target directory deadlocks there.
pub fn build_component() -> Result<PathBuf, BuildError> {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(&workspace)
        .args([
            "build",
            "-p",
            "rest-api-source",
            "--target",
            "wasm32-wasip2",
            "--profile",
            "component",
        ])
        .output()?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
        return Err(BuildError::Failed(
            tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        ));
    }
    Ok(crate::default_plugin_path())
}
