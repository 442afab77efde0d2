//! What the command-line tests share: the component with a warm compile cache, running `host-test`, seed files.

#![allow(dead_code)]

pub mod tls_server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use testkit::demo_api::DemoApi;

/// The component this workspace builds, its compiled form cached where the CLI looks for it.
pub fn component() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let path = testkit::component::build_component().expect("the component builds");
        // Warm the compiled-component cache the CLI uses, so the processes below do not each compile it.
        let cache = path.parent().unwrap().join(".precompiled");
        host_test::Runtime::new()
            .unwrap()
            .with_cache(&cache)
            .load(&path)
            .expect("the component loads");
        path
    })
}

/// Run `host-test` with `args`.
pub fn host(args: &[&str]) -> Output {
    host_env(args, &[])
}

/// The proxy variables `run` reads: cleared for every test process, so a machine's own proxy never carries a
/// test's loopback requests (the proxy tests set their own).
const PROXY_VARS: [&str; 8] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// Run `host-test` with `args` and the environment variables `env` set.
pub fn host_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_host-test"));
    for var in PROXY_VARS {
        command.env_remove(var);
    }
    command
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("host-test starts")
}

/// Run `host-test` with `args` in the working directory `dir` (where relative default paths land).
pub fn host_in(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_host-test"));
    for var in PROXY_VARS {
        command.env_remove(var);
    }
    command
        .args(args)
        .current_dir(dir)
        .output()
        .expect("host-test starts")
}

/// `run --plugin <component> --config <config> --out <out> --connect-to <connect>`, then `extra`.
pub fn run_args<'a>(
    config: &'a Path,
    out: &'a Path,
    connect: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "run",
        "--plugin",
        component().to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--connect-to",
        connect,
    ];
    args.extend_from_slice(extra);
    args
}

/// A seed document of the repository.
pub fn seed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../seeds")
        .join(name)
}

/// Write seed 003's config and the demo API's secrets into `dir`.
pub fn files(api: &DemoApi, dir: &Path) -> (PathBuf, PathBuf) {
    let out = host(&[
        "seed-config",
        seed("003_6673f0883176f87d.txt").to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = dir.join("config.json");
    std::fs::write(&config, &out.stdout).unwrap();
    let secrets = dir.join("secrets.json");
    std::fs::write(&secrets, api.spec().secrets_json()).unwrap();
    (config, secrets)
}

/// Assert that the host exited with success, showing its exit code, stdout and stderr when not.
pub fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
