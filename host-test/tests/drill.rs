//! The many-machines drill, against the real PostgreSQL (`DATABASE_URL`), in a database of its own: 30 tenant
//! runs of 10,000 rows each from the demo API are submitted to a queue; 3 worker processes execute them. One
//! worker is killed with SIGKILL at several points and restarted; another is stopped with SIGSTOP past its
//! lease, its run taken over by another worker, and then continued. Every run must complete, every table must
//! hold exactly the API's rows (append: a row written twice would show), and the stopped worker's late commit
//! must be refused.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use testkit::demo_api::{DemoApi, DemoSpec};

const TENANTS: usize = 30;
const ROWS: usize = 10_000;
const LEASE_S: u64 = 2;

/// A database of the drill's own, dropped at the end.
struct Database {
    url: String,
    name: String,
}

impl Database {
    fn create(tag: &str) -> Self {
        let name = format!("drill_{tag}_{}", std::process::id());
        let mut admin = testkit::pg::connect();
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            admin.batch_execute(&sql).unwrap();
        }
        let mut url = url::Url::parse(&testkit::pg::database_url()).unwrap();
        url.set_path(&format!("/{name}"));
        Self {
            url: url.to_string(),
            name,
        }
    }

    fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = testkit::pg::connect().batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

fn host_test() -> Command {
    Command::new(env!("CARGO_BIN_EXE_host-test"))
}

fn tenant_files(
    dir: &Path,
    api: &DemoApi,
    db: &Database,
    plugin: &Path,
    tenants: usize,
) -> Vec<PathBuf> {
    let config = serde_json::json!({
        "client": {"base_url": "https://api.example.com",
                   "auth": {"type": "api_key", "name": "api_key", "api_key": {"secret": "api_key"}, "location": "query"}},
        "resource_defaults": {"write_disposition": "append"},
        "resources": [{"name": "resource_name", "endpoint": {"path": "/v1/resource",
            "paginator": {"type": "offset", "limit": 100}, "data_selector": "data"}}]
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    std::fs::write(dir.join("secrets.json"), api.spec().secrets_json()).unwrap();
    (0..tenants)
        .map(|i| {
            let file = dir.join(format!("tenant{i:02}.toml"));
            let text = format!(
                "plugin = {plugin:?}\nconfig = \"config.json\"\npostgres = {{ url = {url:?}, schema = \"tenant{i:02}\" }}\n\
                 [secrets]\nfile = \"secrets.json\"\n[egress]\nallow_private = [\"127.0.0.0/8\"]\n\
                 connect_to = {{ \"https://api.example.com\" = {api:?} }}\n",
                plugin = plugin.display().to_string(),
                url = db.url,
                api = api.url(),
            );
            std::fs::write(&file, text).unwrap();
            file
        })
        .collect()
}

/// A worker process, its log in `dir/<name>.log`.
fn worker(db: &Database, dir: &Path, name: &str) -> Child {
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    host_test()
        .args([
            "worker",
            "--queue",
            &db.url,
            "--concurrency",
            "2",
            "--until-idle",
        ])
        .args([
            "--lease-s",
            &LEASE_S.to_string(),
            "--max-attempts",
            "50",
            "--name",
            name,
        ])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("a worker starts")
}

/// The drill's worker processes: on a failure, their logs are printed and every one still running is continued
/// and killed, so a failed drill leaves nothing behind.
struct Fleet<'a> {
    dir: &'a Path,
    children: Vec<Child>,
}

impl Drop for Fleet<'_> {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            print_logs(self.dir);
        }
    }
}

fn print_logs(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "log") {
            let text = std::fs::read_to_string(&path).unwrap();
            eprintln!("== {}\n{text}", path.display());
        }
    }
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {sig}");
}

/// The queue's runs, as `runs --json` lists them.
fn runs(db: &Database) -> Vec<Value> {
    let out = host_test()
        .args(["runs", "--queue", &db.url, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn running_on(db: &Database, worker: &str) -> Vec<i64> {
    runs(db)
        .iter()
        .filter(|r| r["status"] == "running" && r["worker"] == worker)
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn three_workers_lose_none_and_duplicate_none_through_kills_and_a_stall() {
    let plugin = testkit::component::build_component().expect("the component builds");
    let api = DemoApi::start(
        DemoSpec {
            resources: [("resource".to_string(), ROWS)].into(),
            ..DemoSpec::default()
        },
        0,
    )
    .unwrap();
    let db = Database::create("fleet");
    let dir = tempfile::tempdir().unwrap();
    let files = tenant_files(dir.path(), &api, &db, &plugin, TENANTS);
    let submitted = host_test()
        .args(["submit", "--queue", &db.url])
        .args(&files)
        .output()
        .unwrap();
    assert!(
        submitted.status.success(),
        "{}",
        String::from_utf8_lossy(&submitted.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&submitted.stdout).lines().count(),
        TENANTS
    );

    let mut fleet = Fleet {
        dir: dir.path(),
        children: vec![
            worker(&db, dir.path(), "killed-0"),
            worker(&db, dir.path(), "stalled"),
            worker(&db, dir.path(), "steady"),
        ],
    };

    // SIGKILL one worker while it holds runs, four times, restarting it each time.
    for round in 1..=4 {
        let name = format!("killed-{}", round - 1);
        wait_for("the worker to hold a run", Duration::from_secs(120), || {
            !running_on(&db, &name).is_empty()
        });
        std::thread::sleep(Duration::from_millis(150 * round));
        let killed = &mut fleet.children[0];
        killed.kill().unwrap();
        killed.wait().unwrap();
        fleet.children[0] = worker(&db, dir.path(), &format!("killed-{round}"));
    }

    // SIGSTOP another past its lease while it holds a run: the run goes to another worker; then it continues.
    let held = loop {
        wait_for(
            "the stalled worker to hold a run",
            Duration::from_secs(120),
            || !running_on(&db, "stalled").is_empty(),
        );
        std::thread::sleep(Duration::from_millis(300));
        signal(&fleet.children[1], "-STOP");
        // What it holds once stopped (a run it ended just before is not one).
        let held = running_on(&db, "stalled");
        if !held.is_empty() {
            break held;
        }
        signal(&fleet.children[1], "-CONT");
    };
    wait_for(
        "another worker to take the stalled run over",
        Duration::from_secs(60),
        || {
            runs(&db)
                .iter()
                .any(|r| held.contains(&r["id"].as_i64().unwrap()) && r["worker"] != "stalled")
        },
    );
    signal(&fleet.children[1], "-CONT");

    let start = Instant::now();
    for child in &mut fleet.children {
        while child.try_wait().unwrap().is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(300),
                "the workers did not finish"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    let all = runs(&db);
    assert_eq!(all.len(), TENANTS);
    for run in &all {
        assert_eq!(run["status"], "completed", "{run}");
    }
    assert!(
        all.iter().any(|r| r["attempts"].as_i64() > Some(1)),
        "some run was resumed by another claim"
    );
    let truth: Vec<i64> = api
        .rows("resource")
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    let mut client = db.client();
    for i in 0..TENANTS {
        let rows = client
            .query(
                &format!("SELECT id FROM tenant{i:02}.resource_name ORDER BY _rowid"),
                &[],
            )
            .unwrap();
        let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        if ids.len() != ROWS {
            let loads = client
                .query(
                    &format!(
                        "SELECT status || ' ' || pages || ' ' || started_at || ' ' || coalesce(error, '')
                         FROM tenant{i:02}._rest_source_loads ORDER BY id"
                    ),
                    &[],
                )
                .unwrap();
            let loads: Vec<String> = loads.iter().map(|r| r.get(0)).collect();
            let run = all.iter().find(|r| r["tenant"] == format!("tenant{i:02}"));
            panic!(
                "tenant{i:02}: {} rows, not {ROWS} once; loads {loads:#?}; run {run:?}",
                ids.len()
            );
        }
        assert_eq!(ids, truth, "tenant{i:02}: exactly the API's rows, in order");
    }
    let attempts: Vec<i64> = all
        .iter()
        .map(|r| r["attempts"].as_i64().unwrap())
        .collect();
    eprintln!("attempts per run: {attempts:?}");
    let log = std::fs::read_to_string(dir.path().join("stalled.log")).unwrap();
    // Stopped mid-run, its next page commit is refused; stopped after the run's last commit, its marking of the
    // run is (the run's new claim found the run's end recorded and marked it).
    assert!(
        log.contains("fenced: this worker's claim")
            || log.contains("taken over by a newer claim; not marked"),
        "the stalled worker's late commit was refused:\n{log}"
    );
}

/// A run whose worker was lost after the run's last commit and before marking it is claimed again, found ended in
/// its destination, and marked completed without a second pass: its append table keeps every row once.
#[test]
fn a_run_ended_but_not_marked_is_not_run_again() {
    let plugin = testkit::component::build_component().expect("the component builds");
    let api = DemoApi::start(DemoSpec::default(), 0).unwrap();
    let rows = api.rows("resource").len() as i64;
    let db = Database::create("ended");
    let dir = tempfile::tempdir().unwrap();
    let files = tenant_files(dir.path(), &api, &db, &plugin, 1);
    let submitted = host_test()
        .args(["submit", "--queue", &db.url])
        .args(&files)
        .output()
        .unwrap();
    assert!(submitted.status.success());
    let until_idle = |name: &str| {
        let mut child = worker(&db, dir.path(), name);
        assert!(child.wait().unwrap().success(), "worker {name}");
        std::fs::read_to_string(dir.path().join(format!("{name}.log"))).unwrap()
    };
    until_idle("first");
    let count = |db: &Database| -> i64 {
        db.client()
            .query_one("SELECT count(*) FROM tenant00.resource_name", &[])
            .unwrap()
            .get(0)
    };
    assert_eq!(count(&db), rows);
    // As if the first worker were lost right after the run's last commit: running, its lease lapsed.
    db.client()
        .batch_execute(
            "UPDATE rest_source_queue.runs SET status = 'running', lease_until = now() - interval '1 second'",
        )
        .unwrap();
    let log = until_idle("second");
    assert!(
        log.contains("its destination had recorded its end"),
        "{log}"
    );
    assert_eq!(count(&db), rows, "not run a second time");
    let all = runs(&db);
    assert_eq!(
        (&all[0]["status"], &all[0]["attempts"]),
        (&Value::from("completed"), &Value::from(2))
    );
}
