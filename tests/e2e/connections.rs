//! The host's sender keeps connections alive within a run: one connection carries a run's pages, a connection the
//! server closes is replaced, and runs never share connections.

use crate::support::*;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use testkit::demo_api::{Fault, FaultKind, Logged, Which};

/// The client ports of the logged requests to `/v1/resource`, in order.
fn peers(log: &[Logged]) -> Vec<SocketAddr> {
    log.iter()
        .filter(|l| l.path == "/v1/resource")
        .map(|l| l.peer.expect("the server knows each client's address"))
        .collect()
}

#[test]
fn one_connection_carries_a_whole_run() {
    let api = api();
    let (result, dir) = run(&tenant(&api, &seed_config("000")));
    result.expect("the run succeeds");
    assert_eq!(rows(dir.path(), "resource_name").len(), 1234);
    let peers = peers(&api.log());
    assert_eq!(peers.len(), 13, "1,234 rows in pages of 100");
    let distinct: BTreeSet<_> = peers.iter().collect();
    assert_eq!(
        distinct.len(),
        1,
        "every page over one connection: {peers:?}"
    );
}

#[test]
fn a_connection_the_server_closes_is_replaced() {
    let api = api();
    api.inject(Fault {
        path: "/v1/resource".into(),
        which: Which::Every(4),
        kind: FaultKind::CloseConnection,
    });
    let (result, dir) = run(&tenant(&api, &seed_config("000")));
    result.expect("the run succeeds across closed connections");
    assert_eq!(rows(dir.path(), "resource_name").len(), 1234);
    let peers = peers(&api.log());
    assert_eq!(peers.len(), 13, "no page is fetched twice");
    // Requests 3, 7 and 11 close their connection, so 14 requests ran over four connections: 0-3, 4-7, 8-11, 12.
    let runs: Vec<usize> = peers
        .chunk_by(|a, b| a == b)
        .map(<[SocketAddr]>::len)
        .collect();
    assert_eq!(runs, vec![4, 4, 4, 1], "{peers:?}");
    let distinct: BTreeSet<_> = peers.iter().collect();
    assert_eq!(distinct.len(), 4, "a closed connection is not used again");
}

#[test]
fn runs_do_not_share_connections() {
    let api = api();
    let config = seed_config("000");
    let (first, _a) = run(&tenant(&api, &config));
    first.expect("the first run succeeds");
    let before = api.log().len();
    let (second, _b) = run(&tenant(&api, &config));
    second.expect("the second run succeeds");
    let log = api.log();
    let first: BTreeSet<_> = peers(&log[..before]).into_iter().collect();
    let second: BTreeSet<_> = peers(&log[before..]).into_iter().collect();
    assert!(first.is_disjoint(&second), "{first:?} vs {second:?}");
}
