//! Building this workspace's component with cargo, for the tests and for a first `demo` on a fresh clone.

use crate::default_plugin_path;
use std::path::{Path, PathBuf};
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
    let args = ["-p", "rest-api-source", "--profile", "component"];
    let path = cargo_build(&workspace, &args, "rest_api_source")?;
    Ok(path.unwrap_or_else(default_plugin_path))
}

/// Build another guest crate of this repository (a test's hostile connector, say) for `wasm32-wasip2` in
/// release mode, into this workspace's target directory, and return the `.wasm` of its library `lib_name`.
pub fn build_guest(crate_dir: &Path, lib_name: &str) -> Result<PathBuf, BuildError> {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let target_dir = target_dir.to_string_lossy().into_owned();
    let args = ["--release", "--target-dir", &target_dir];
    cargo_build(crate_dir, &args, lib_name)?
        .ok_or_else(|| BuildError::Failed(format!("cargo named no .wasm for `{lib_name}`")))
}

/// `cargo build --target wasm32-wasip2 <args>` in `dir`; the `.wasm` cargo reports for `lib_name`.
fn cargo_build(dir: &Path, args: &[&str], lib_name: &str) -> Result<Option<PathBuf>, BuildError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(dir)
        .args(["build", "--target", "wasm32-wasip2"])
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .output()?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
        return Err(BuildError::Failed(
            tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        ));
    }
    // Cargo names the artifact, wherever the target directory is (CARGO_TARGET_DIR, .cargo/config).
    Ok(artifact(&String::from_utf8_lossy(&output.stdout), lib_name))
}

/// The `.wasm` file among cargo's JSON messages for the component's artifact.
fn artifact(messages: &str, lib_name: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == lib_name)
        .flat_map(|m| {
            m["filenames"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
        })
        .filter_map(|f| f.as_str().map(PathBuf::from))
        .find(|f| f.extension().is_some_and(|e| e == "wasm"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_artifact_is_the_wasm_file_cargo_names_for_the_component() {
        let messages = [
            r#"{"reason":"compiler-artifact","target":{"name":"serde"},"filenames":["/t/libserde.rlib"]}"#,
            r#"{"reason":"compiler-artifact","target":{"name":"rest_api_source"},"filenames":["/t/x/librest_api_source.rlib","/t/x/rest_api_source.wasm"]}"#,
            r#"{"reason":"build-finished","success":true}"#,
        ]
        .join("\n");
        assert_eq!(
            artifact(&messages, "rest_api_source"),
            Some(PathBuf::from("/t/x/rest_api_source.wasm"))
        );
        assert_eq!(artifact(&messages, "serde"), None, "no .wasm for serde");
        assert_eq!(artifact(r#"{"reason":"build-finished"}"#, "x"), None);
    }
}
