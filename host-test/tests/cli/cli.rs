//! The `host-test` command line, run as a process: `run`, `schema` and `seed-config`.

use crate::cli_support::*;
use std::path::Path;
use std::process::{Command, Output};
use testkit::demo_api::{DemoApi, DemoSpec};

/// `host-test run` of seed 003 against `api` with `secrets`, into `out`.
fn run_seed_003(api: &DemoApi, dir: &Path, secrets: &Path, out: &Path) -> Output {
    run_seed_003_into(api, dir, secrets, &["--out", out.to_str().unwrap()])
}

/// `host-test run` of seed 003 against `api` with `secrets`, with destination arguments `dest`.
fn run_seed_003_into(api: &DemoApi, dir: &Path, secrets: &Path, dest: &[&str]) -> Output {
    let (config, _) = files(api, dir);
    let connect = format!("https://api.example.com={}", api.url());
    let plugin = component().to_str().unwrap();
    let (config, secrets) = (config.to_str().unwrap(), secrets.to_str().unwrap());
    let mut args = vec![
        "run",
        "--plugin",
        plugin,
        "--config",
        config,
        "--secrets",
        secrets,
    ];
    args.extend_from_slice(dest);
    args.extend_from_slice(&["--connect-to", &connect]);
    host(&args)
}

#[test]
fn run_writes_one_jsonl_file_per_resource() {
    let api = DemoApi::start(DemoSpec::default(), 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, secrets) = files(&api, dir.path());
    let out_dir = dir.path().join("out");
    let out = run_seed_003(&api, dir.path(), &secrets, &out_dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_ok(&out);
    assert!(stdout.contains("customer_usage: 1050 rows"), "{stdout}");
    assert!(stdout.contains("wallets: 317 rows"), "{stdout}");
    for (name, rows) in [("customer_usage", 1050), ("wallets", 317)] {
        let text = std::fs::read_to_string(out_dir.join(format!("{name}.jsonl"))).unwrap();
        assert_eq!(text.lines().count(), rows, "{name}");
    }
}

#[test]
fn an_empty_resource_gets_an_empty_file() {
    let mut spec = DemoSpec::default();
    spec.resources.insert("wallets".into(), 0);
    let api = DemoApi::start(spec, 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, secrets) = files(&api, dir.path());
    let out_dir = dir.path().join("out");
    let out = run_seed_003(&api, dir.path(), &secrets, &out_dir);
    assert_ok(&out);
    assert_eq!(
        std::fs::read_to_string(out_dir.join("wallets.jsonl")).unwrap(),
        ""
    );
}

#[test]
fn failure_exits_non_zero_with_one_line_and_no_secret() {
    let api = DemoApi::start(DemoSpec::default(), 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("wrong.json");
    std::fs::write(&wrong, r#"{"api_key": "not-the-key-123"}"#).unwrap();
    let out = run_seed_003(&api, dir.path(), &wrong, &dir.path().join("out"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "error: resource `customer_usage`: request to \
         https://api.example.com/v1/customer_usage?offset=0&limit=100&api_key=*** failed after 1 attempt \
         (status 401): 401 Client Error: Unauthorized; the response began: \
         {\"error\":\"missing or wrong api_key\"}"
    );
    assert!(!stderr.contains("not-the-key-123"));
}

#[test]
fn schema_prints_declared_hints_and_invalid_configs_list_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        host(&[
            "seed-config",
            seed("000_d0cafc2d376f2708.txt").to_str().unwrap(),
        ])
        .stdout,
    )
    .unwrap();
    let secrets = dir.path().join("s.json");
    std::fs::write(&secrets, r#"{"api_key": "k"}"#).unwrap();
    let plugin = component().to_str().unwrap();
    let table = host(&[
        "schema",
        "--plugin",
        plugin,
        "--config",
        good.to_str().unwrap(),
        "--secrets",
        secrets.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.starts_with("resource_name (table resource_name, merge on id)"),
        "{text}"
    );
    let out = host(&[
        "schema",
        "--json",
        "--plugin",
        plugin,
        "--config",
        good.to_str().unwrap(),
        "--secrets",
        secrets.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema[0]["table_name"], "resource_name");
    assert_eq!(schema[0]["primary_key"], serde_json::json!(["id"]));
    assert_eq!(schema[0]["write_disposition"], "merge");
    assert_eq!(schema[0]["selected"], true);

    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"client": {"base_url": "https://a", "nope": 1}, "resources": [{"endpoint": "x"}]}"#,
    )
    .unwrap();
    let out = host(&[
        "schema",
        "--plugin",
        plugin,
        "--config",
        bad.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("client: received unexpected field `nope`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("resources[0].name: missing required field"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

/// An operator's own `run` reaches the API its config names, loopback included (no `--connect-to` needed);
/// `--block-internal` refuses it, as tenant runs do.
#[test]
fn a_plain_run_reaches_loopback_unless_blocked() {
    let api = DemoApi::start(DemoSpec::default(), 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("loopback.json");
    let cfg = serde_json::json!({
        "client": {"base_url": api.url(), "auth": {"type": "api_key", "name": "api_key", "api_key": {"secret": "api_key"}, "location": "query"}},
        "resources": [{"name": "wallets", "endpoint": {"path": "/v1/wallets", "data_selector": "data", "paginator": {"type": "offset", "limit": 100}}}]
    });
    std::fs::write(&config, cfg.to_string()).unwrap();
    let secrets = dir.path().join("s.json");
    std::fs::write(&secrets, api.spec().secrets_json()).unwrap();
    let args = |extra: &[&str]| {
        let mut a = vec![
            "run",
            "--plugin",
            component().to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ];
        a.extend([
            "--secrets",
            secrets.to_str().unwrap(),
            "--out",
            dir.path().to_str().unwrap(),
        ]);
        a.extend(extra.iter().copied());
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let plain = args(&[]);
    let out = host(&plain.iter().map(String::as_str).collect::<Vec<_>>());
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("wallets: 317 rows"));
    let blocked = args(&["--block-internal"]);
    let out = host(&blocked.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("the host's egress policy denied the request")
    );
}

/// `run --tenant`, `run-all` and `plugins list`: tenant files run side by side, each reported on its own
/// line; a tenant fenced off by the operator's allow-list fails alone and makes the exit status 1.
#[test]
fn tenant_files_run_one_by_one_or_all_at_once() {
    let api = DemoApi::start(DemoSpec::default(), 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let seed000 = host(&[
        "seed-config",
        seed("000_d0cafc2d376f2708.txt").to_str().unwrap(),
    ]);
    std::fs::write(dir.path().join("seed000.json"), &seed000.stdout).unwrap();
    std::fs::write(dir.path().join("secrets.json"), api.spec().secrets_json()).unwrap();
    let tenants = dir.path().join("tenants");
    std::fs::create_dir(&tenants).unwrap();
    let tenant = |name: &str, allowed: &str| {
        let text = format!(
            "plugin = {:?}\nconfig = \"../seed000.json\"\n[secrets]\nfile = \"../secrets.json\"\n\
             [egress]\nallowed_outbound_hosts = [\"{allowed}\"]\n\
             connect_to = {{ \"https://api.example.com\" = \"{}\" }}\n",
            component().display().to_string(),
            api.url()
        );
        std::fs::write(tenants.join(format!("{name}.toml")), text).unwrap();
    };
    tenant("acme", "https://*.example.com");
    tenant("fenced", "https://other.example.org");
    // A tenant file that cannot be used fails alone.
    let broken = "config = \"../seed000.json\"\n[limits]\ntime_budget_s = inf\n";
    std::fs::write(tenants.join("broken.toml"), broken).unwrap();
    let out = dir.path().join("runs");

    // A tenant file without a destination writes under ./tenant-runs/<tenant>/.
    let one = host_in(
        dir.path(),
        &[
            "run",
            "--tenant",
            tenants.join("acme.toml").to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&one.stdout);
    // Seconds a clock cannot hold are a usage error, not a panic.
    for flag in [["--time-budget", "1e300"], ["--grace", "inf"]] {
        let bad = host(&["run", "--config", "x.json", flag[0], flag[1]]);
        assert_eq!(bad.status.code(), Some(2), "{flag:?}");
        assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a number of seconds"));
    }
    assert_ok(&one);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("acme ") && l.contains(" ok ") && l.contains(" 1234 ")),
        "{stdout}"
    );
    let written = std::fs::read_to_string(dir.path().join("tenant-runs/acme/resource_name.jsonl"));
    assert_eq!(written.map(|t| t.lines().count()).ok(), Some(1234));

    let all = host(&[
        "run-all",
        tenants.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&all.stdout);
    let stderr = String::from_utf8_lossy(&all.stderr);
    assert_eq!(all.status.code(), Some(1), "{stdout}{stderr}");
    let line = |name: &str| line_of(&stdout, name);
    assert!(
        line("acme ").contains(" ok ") && line("acme ").contains(" 1234 "),
        "{stdout}"
    );
    assert!(line("fenced ").contains("FAILED"), "{stdout}");
    assert!(
        line("fenced ").contains("allowed_outbound_hosts do not include it"),
        "{stdout}"
    );
    assert!(stderr.contains("2 of 3 tenants failed"), "{stderr}");
    assert!(
        line("(tenant file)")
            .contains("broken.toml: limits.time_budget_s: `inf` is not a number of seconds"),
        "{stdout}"
    );
    let rows = std::fs::read_to_string(out.join("acme/resource_name.jsonl")).unwrap();
    assert_eq!(rows.lines().count(), 1234);

    // The plugin directory listing: the component loads (its compiled form is already cached), junk does not.
    let plugins = dir.path().join("plugins");
    let cache = plugins.join(".precompiled");
    std::fs::create_dir_all(&cache).unwrap();
    for entry in std::fs::read_dir(component().parent().unwrap().join(".precompiled")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), cache.join(entry.file_name())).unwrap();
    }
    std::fs::copy(component(), plugins.join("rest-api-source.wasm")).unwrap();
    std::fs::write(plugins.join("junk.wasm"), b"junk").unwrap();
    let list = host(&["plugins", "list", plugins.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&list.stdout);
    assert_ok(&list);
    assert!(
        line_of(&stdout, "rest-api-source").contains("loaded; imports"),
        "{stdout}"
    );
    assert!(
        line_of(&stdout, "rest-api-source").contains("wasi:http/outgoing-handler"),
        "{stdout}"
    );
    assert!(
        line_of(&stdout, "junk").contains("REFUSED: cannot load plugin"),
        "{stdout}"
    );
}

fn line_of(text: &str, start: &str) -> String {
    text.lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_default()
        .to_string()
}

/// `state show` tells a finished SQLite run's state and its loads; `state reset` forgets it, data kept.
#[test]
fn state_show_and_reset_on_a_sqlite_run() {
    let api = DemoApi::start(DemoSpec::default(), 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, secrets) = files(&api, dir.path());
    let db = dir.path().join("out.db");
    let db_arg = db.to_str().unwrap();
    let run = run_seed_003_into(&api, dir.path(), &secrets, &["--sqlite", db_arg]);
    assert_ok(&run);
    let show = host(&["state", "show", "--sqlite", db_arg]);
    let stdout = String::from_utf8_lossy(&show.stdout);
    assert_ok(&show);
    assert!(stdout.contains("state: complete"), "{stdout}");
    assert!(stdout.contains("checkpoint: {"), "{stdout}");
    assert!(!stdout.contains("demo-api-key"), "no secret in {stdout}");
    let load = stdout
        .lines()
        .find(|l| l.contains(" completed "))
        .unwrap_or_default();
    assert!(
        load.contains("completed") && load.contains(r#""customer_usage":1050"#),
        "{stdout}"
    );

    let reset = host(&["state", "reset", "--sqlite", db_arg]);
    assert!(String::from_utf8_lossy(&reset.stdout).starts_with("state reset"));
    let show = host(&["state", "show", "--sqlite", db_arg]);
    assert!(String::from_utf8_lossy(&show.stdout).starts_with("no state"));
    let missing = host(&["state", "show"]);
    assert!(!missing.status.success(), "--sqlite or --state is required");
}

/// `run --postgres` lands seed 003 in a schema of its own; `state show` and `state reset` work on it, and a schema
/// that does not exist is said, not created.
#[test]
fn run_into_postgres_and_its_state() {
    let api = DemoApi::start(DemoSpec::default(), 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, secrets) = files(&api, dir.path());
    let schema = testkit::pg::TestSchema::new("cli");
    let (url, name) = (schema.url.as_str(), schema.name.as_str());
    let run = run_seed_003_into(
        &api,
        dir.path(),
        &secrets,
        &["--postgres", url, "--schema", name],
    );
    assert_ok(&run);
    assert!(String::from_utf8_lossy(&run.stdout).contains("customer_usage: 1050 rows"));
    assert_eq!(
        schema.value("SELECT count(*) FROM customer_usage"),
        serde_json::json!(1050)
    );
    let state = |command: &str| host(&["state", command, "--postgres", url, "--schema", name]);
    let show = state("show");
    assert_ok(&show);
    assert!(String::from_utf8_lossy(&show.stdout).contains("state: complete"));
    assert!(String::from_utf8_lossy(&state("reset").stdout).starts_with("state reset"));
    assert!(String::from_utf8_lossy(&state("show").stdout).starts_with("no state"));
    let missing_name = format!("{name}_missing");
    let missing = host(&[
        "state",
        "show",
        "--postgres",
        url,
        "--schema",
        &missing_name,
    ]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no schema"));
    assert_eq!(
        schema.value(&format!(
            "SELECT count(*) FROM pg_namespace WHERE nspname = '{missing_name}'"
        )),
        serde_json::json!(0),
        "not created"
    );
}

/// Without --out or --db, `run` writes the SQLite database `rest-source.db` in the current directory.
#[test]
fn sqlite_is_the_default_destination() {
    let api = DemoApi::start(DemoSpec::default(), 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (config, secrets) = files(&api, dir.path());
    let connect = format!("https://api.example.com={}", api.url());
    let run = Command::new(env!("CARGO_BIN_EXE_host-test"))
        .current_dir(dir.path())
        .args(["run", "--plugin", component().to_str().unwrap()])
        .args(["--config", config.to_str().unwrap()])
        .args([
            "--secrets",
            secrets.to_str().unwrap(),
            "--connect-to",
            &connect,
        ])
        .output()
        .unwrap();
    assert_ok(&run);
    let db = rusqlite::Connection::open(dir.path().join("rest-source.db")).unwrap();
    let rows: i64 = db
        .query_row("SELECT count(*) FROM customer_usage", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1050);
}

#[test]
fn a_paginator_guess_is_a_warning_in_the_summary() {
    let api = DemoApi::start(DemoSpec::default(), 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, secrets) = files(&api, dir.path());
    // No paginator: detection finds none in `{"data": [...], "total": ...}` and reads one page.
    let config = dir.path().join("guess.json");
    let text = r#"{"client": {"base_url": "https://api.example.com",
        "auth": {"type": "api_key", "name": "api_key", "api_key": {"secret": "api_key"}, "location": "query"}},
        "resources": [{"name": "wallets", "endpoint": {"path": "/v1/wallets", "data_selector": "data"}}]}"#;
    std::fs::write(&config, text).unwrap();
    let connect = format!("https://api.example.com={}", api.url());
    let out_dir = dir.path().join("out");
    let out = host(&run_args(
        &config,
        &out_dir,
        &connect,
        &["--secrets", secrets.to_str().unwrap()],
    ));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_ok(&out);
    let warnings: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert_eq!(warnings.len(), 1, "{stdout}");
    assert!(
        warnings[0].contains("resource `wallets`: no paginator is configured")
            && warnings[0].contains("only that page is read"),
        "{stdout}"
    );
}

/// A database that does not open, or a plugin that does not load, is the host's failure (exit 1) on every path:
/// `run --db`, and a tenant file under `run --tenant`.
#[test]
fn setup_failures_exit_by_their_cause_on_every_path() {
    let api = DemoApi::start(DemoSpec::default(), 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (config, secrets) = files(&api, dir.path());
    let not_a_db = dir.path().join("a-directory.db");
    std::fs::create_dir(&not_a_db).unwrap();
    let out = run_seed_003_into(
        &api,
        dir.path(),
        &secrets,
        &["--db", not_a_db.to_str().unwrap()],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"not a component").unwrap();
    let tenant = |name: &str, extra: &str| {
        let text = format!(
            "config = {:?}\n[secrets]\nfile = {:?}\n{extra}",
            config.display().to_string(),
            secrets.display().to_string()
        );
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let cases = [
        tenant(
            "db.toml",
            &format!(
                "plugin = {:?}\nsqlite = {:?}\n",
                component().display().to_string(),
                not_a_db.display().to_string()
            ),
        ),
        tenant(
            "plugin.toml",
            &format!("plugin = {:?}\n", junk.display().to_string()),
        ),
    ];
    for file in cases {
        let out = host(&["run", "--tenant", file.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
