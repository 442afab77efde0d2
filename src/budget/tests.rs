use super::*;

fn get(url: &str) -> HttpRequest {
    HttpRequest::get(url)
}

fn answer(status: u16, headers: &[(&str, &str)]) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: Vec::new(),
    }
}

fn limited(requests: u32, window_ms: u64) -> Budget {
    Budget::new(Some(RateLimit {
        requests,
        window_ms,
    }))
}

/// Send `count` requests as soon as the budget lets each go, starting at `start`; the times they went.
fn send_times(budget: &mut Budget, count: usize, start: u64) -> Vec<u64> {
    let mut now = start;
    let mut times = Vec::new();
    while times.len() < count {
        match budget.admit(now, &get("a")) {
            None => times.push(now),
            Some(until) => {
                assert!(until > now, "a wait is for later");
                now = until;
            }
        }
    }
    times
}

#[test]
fn never_more_than_n_in_any_window() {
    let mut budget = limited(3, 1000);
    let times = send_times(&mut budget, 10, 5);
    assert_eq!(
        times,
        vec![5, 5, 5, 1005, 1005, 1005, 2005, 2005, 2005, 3005]
    );
    for (i, t) in times.iter().enumerate() {
        let in_window = times[i..].iter().filter(|u| **u < t + 1000).count();
        assert!(in_window <= 3, "{in_window} requests within 1 s of {t}");
    }
}

#[test]
fn a_burst_after_a_quiet_spell_is_still_held_to_the_window() {
    // A token bucket of 2 refilled at 2/s would allow 2 at 900 and 2 more at 1000: 4 in 100 ms.
    let mut budget = limited(2, 1000);
    assert_eq!(budget.admit(900, &get("a")), None);
    assert_eq!(budget.admit(950, &get("a")), None);
    assert_eq!(budget.admit(1000, &get("a")), Some(1900));
    assert_eq!(budget.admit(1900, &get("a")), None);
    assert_eq!(budget.admit(1900, &get("a")), Some(1950));
}

#[test]
fn no_limit_lets_everything_go() {
    let mut budget = Budget::new(None);
    assert_eq!(send_times(&mut budget, 1000, 7).last(), Some(&7));
}

#[test]
fn a_request_sent_ahead_is_counted_once() {
    let mut budget = limited(2, 1000);
    assert!(budget.prepay(0, &get("page2")));
    assert!(budget.prepay(0, &get("page3")));
    assert!(!budget.prepay(0, &get("page4")), "the window is full");
    assert_eq!(
        budget.admit(10, &get("page2")),
        None,
        "paid when sent ahead"
    );
    assert_eq!(budget.admit(10, &get("page3")), None);
    assert_eq!(budget.admit(10, &get("page4")), Some(1000));
    assert_eq!(
        budget.admit(1000, &get("page2")),
        None,
        "asked again: counted"
    );
    assert_eq!(budget.admit(1000, &get("page2")), None);
    assert_eq!(budget.admit(1000, &get("page2")), Some(2000));
}

#[test]
fn prepaid_requests_are_bounded_and_forgetting_only_overcounts() {
    let mut budget = Budget::new(None);
    for i in 0..(MOST_PREPAID + 10) {
        assert!(budget.prepay(0, &get(&i.to_string())));
    }
    assert_eq!(budget.prepaid.len(), MOST_PREPAID);
    assert_eq!(budget.prepaid[0], get("10"), "the oldest went first");
}

#[test]
fn remaining_zero_pauses_until_the_reset() {
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<(&'a str, u64)>);
    let table: [Case; 12] = [
        (
            &[("RateLimit", "limit=5, remaining=0, reset=2")],
            Some(("RateLimit", 2_000)),
        ),
        (&[("RateLimit", "limit=5, remaining=3, reset=2")], None),
        (
            &[("RateLimit", "\"default\";r=0;t=30")],
            Some(("RateLimit", 30_000)),
        ),
        (&[("RateLimit", "\"default\";r=5;t=30")], None),
        (
            &[("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", "3")],
            Some(("x-ratelimit-reset", 3000)),
        ),
        (
            &[("RateLimit-Remaining", "0"), ("RateLimit-Reset", "1.5")],
            Some(("ratelimit-reset", 1500)),
        ),
        // GitHub's reset is a Unix time; the wall clock reads 1_700_000_000_000 ms below.
        (
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "1700000020"),
            ],
            Some(("x-ratelimit-reset", 20_000)),
        ),
        (
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "1699999990"),
            ],
            None,
        ),
        (
            &[("x-ratelimit-remaining", "4"), ("x-ratelimit-reset", "3")],
            None,
        ),
        (&[("x-ratelimit-remaining", "0")], None),
        (
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "soon"),
            ],
            None,
        ),
        (
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "100000"),
            ],
            Some(("x-ratelimit-reset", 300_000)),
        ),
    ];
    for (headers, expected) in table {
        let mut budget = Budget::new(None);
        let pause = budget.observe(100, 1_700_000_000_000, &answer(200, headers), 300_000);
        assert_eq!(
            pause.as_ref().map(|p| (p.header, p.wait_ms)),
            expected,
            "{headers:?}"
        );
        let blocked = budget.admit(100, &get("a"));
        assert_eq!(blocked, expected.map(|(_, ms)| 100 + ms), "{headers:?}");
    }
}

#[test]
fn retry_after_on_429_or_503_pauses_every_request() {
    for status in [429, 503] {
        let mut budget = limited(100, 1000);
        let pause = budget.observe(50, 0, &answer(status, &[("Retry-After", "2")]), 300_000);
        assert_eq!(pause.map(|p| p.wait_ms), Some(2000));
        assert_eq!(budget.admit(60, &get("other")), Some(2050));
        assert!(!budget.prepay(60, &get("other")));
        assert_eq!(budget.admit(2050, &get("other")), None);
    }
    let mut budget = Budget::new(None);
    let pause = budget.observe(50, 0, &answer(200, &[("Retry-After", "2")]), 300_000);
    assert_eq!(pause, None, "a 200's Retry-After asks for nothing");
}

#[test]
fn a_shorter_pause_does_not_cut_a_longer_one() {
    let mut budget = Budget::new(None);
    let long = answer(429, &[("Retry-After", "10")]);
    let short = answer(429, &[("Retry-After", "1")]);
    assert!(budget.observe(0, 0, &long, 300_000).is_some());
    assert_eq!(budget.observe(100, 0, &short, 300_000), None);
    assert_eq!(budget.admit(2000, &get("a")), Some(10_000));
}

#[test]
fn a_request_that_could_not_be_sent_is_not_paid_for_and_a_forgotten_one_is_paid_again() {
    let mut budget = limited(1, 1000);
    assert!(budget.prepay(0, &get("a")));
    budget.unpay(&get("a"));
    assert_eq!(budget.admit(0, &get("b")), None, "the window is free again");
    let mut budget = limited(2, 1000);
    assert!(budget.prepay(0, &get("a")));
    budget.forget(&[get("a")]);
    assert_eq!(
        budget.admit(0, &get("a")),
        None,
        "counted: the window holds two"
    );
    assert_eq!(budget.admit(0, &get("c")), Some(1000));
}
