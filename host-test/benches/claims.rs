//! How fast workers claim runs from the queue: `k` connections claim (and finish) runs in a loop for a few
//! seconds from a queue of many queued runs, each with a destination of its own, in a database of the bench's own
//! (created in `DATABASE_URL`'s cluster and dropped after).
//!
//! `cargo bench -p host-test --bench claims -- [seconds]` (default 5). See BENCHMARKS.md.

use host_test::fleet::queued::Queued;
use host_test::queue::Queue;
use std::time::{Duration, Instant};

fn main() {
    let seconds: f64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5.0);
    let name = format!("claims_bench_{}", std::process::id());
    let mut admin = testkit::pg::connect();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("a database for the bench");
    let mut url = url::Url::parse(&testkit::pg::database_url()).expect("DATABASE_URL");
    url.set_path(&format!("/{name}"));
    let url = url.to_string();
    let mut queue = Queue::connect(&url).expect("the queue");
    let queued = Queued {
        tenant: "t".into(),
        dest: "d".into(),
        spec: serde_json::json!({"config": {}}),
    };
    queue.submit(&queued).expect("a run");
    // Many more runs, each its own destination, in one statement.
    let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connects");
    client
        .batch_execute(
            "INSERT INTO rest_source_queue.runs (tenant, dest, spec)
             SELECT 't' || i, 'd' || i, '{\"config\": {}}' FROM generate_series(1, 400000) AS i",
        )
        .expect("runs");
    println!("claims/s, each claim finished before the next; 400,000 queued runs:");
    for workers in [1, 3, 8] {
        let claimed = claim_for(&url, workers, Duration::from_secs_f64(seconds));
        println!(
            "{workers} connection(s): {:>8.0} claims/s",
            claimed as f64 / seconds
        );
    }
    drop(queue);
    drop(client);
    admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .expect("dropped");
}

/// Claims made by `workers` connections in `time`, each claim finished as completed before the next.
fn claim_for(url: &str, workers: usize, time: Duration) -> usize {
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..workers)
            .map(|w| {
                scope.spawn(move || {
                    let mut queue = Queue::connect(url).expect("the queue");
                    let (start, mut n) = (Instant::now(), 0);
                    while start.elapsed() < time {
                        let claim = queue
                            .claim(&format!("w{w}"), Duration::from_secs(30), 5)
                            .expect("a claim")
                            .expect("a queued run");
                        queue.finish(&claim, 0, 0, None).expect("finished");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("a thread"))
            .sum()
    })
}
