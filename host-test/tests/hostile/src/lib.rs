//! A connector that misbehaves on purpose, one way per `behaviour` in its config, so the host's sandbox can be
//! shown to stop each one. It implements the same contract as the real connector.
//!
//! - `alloc`: allocates without end.
//! - `spin`: loops forever without calling the host.
//! - `sleep`: sleeps for an hour inside a host call (`wasi:clocks`), where the epoch cannot interrupt it.
//! - `fetch`: sends a GET to `url` (a host it is not allowed, or a name resolving to a private address) and
//!   keeps going whatever the answer.
//! - `secret`: asks for the secret `name` and puts whatever it got into its page.
//! - `stderr`: writes `gib` GiB to stderr.
//! - `page`: returns one page of `bytes` bytes.

use std::cell::RefCell;
use std::io::Write;
use wasi::http::outgoing_handler;
use wasi::http::types::{Fields, OutgoingBody, OutgoingRequest, Scheme};

wit_bindgen::generate!({
    path: "../../../wit",
    world: "connector",
    with: {
        "wasi:http/types@0.2.12": wasi::http::types,
        "wasi:http/outgoing-handler@0.2.12": wasi::http::outgoing_handler,
        "wasi:io/error@0.2.12": wasi::io::error,
        "wasi:io/poll@0.2.12": wasi::io::poll,
        "wasi:io/streams@0.2.12": wasi::io::streams,
        "wasi:clocks/monotonic-clock@0.2.12": wasi::clocks::monotonic_clock,
    },
});

use exports::rest_source::connector::source::Guest;
use rest_source::connector::secrets;
use rest_source::connector::types::{
    ConfigProblem, Error, Page, ResourceInfo, TableSchema, WriteDisposition,
};

thread_local! {
    static CONFIG: RefCell<serde_json::Value> = const { RefCell::new(serde_json::Value::Null) };
    static PAGES: RefCell<u32> = const { RefCell::new(0) };
}

struct Hostile;

export!(Hostile);

fn config(key: &str) -> serde_json::Value {
    CONFIG.with(|c| c.borrow()[key].clone())
}

fn page(records: Vec<u8>, count: u32) -> Page {
    Page {
        resource: "hostile".into(),
        records,
        record_count: count,
        checkpoint: "{}".into(),
        schema_changes: Vec::new(),
    }
}

/// A GET to `url`; the status, or the error the host answered.
fn fetch(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let request = OutgoingRequest::new(Fields::new());
    let scheme = if scheme == "https" {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let _ = request.set_scheme(Some(&scheme));
    let _ = request.set_authority(Some(authority));
    let _ = request.set_path_with_query(Some(path));
    let body = request.body().ok();
    let future = match outgoing_handler::handle(request, None) {
        Ok(f) => f,
        Err(e) => return format!("{e:?}"),
    };
    if let Some(body) = body {
        let _ = OutgoingBody::finish(body, None);
    }
    future.subscribe().block();
    match future.get() {
        Some(Ok(Ok(response))) => format!("status {}", response.status()),
        Some(Ok(Err(code))) => format!("{code:?}"),
        _ => "no response".into(),
    }
}

impl Guest for Hostile {
    fn configure(config: String, _checkpoint: Option<String>) -> Result<Vec<ResourceInfo>, Error> {
        let value: serde_json::Value = serde_json::from_str(&config).unwrap_or_default();
        if !value["behaviour"].is_string() {
            return Err(Error::InvalidConfig(vec![ConfigProblem {
                path: "behaviour".into(),
                message: "missing".into(),
            }]));
        }
        CONFIG.with(|c| *c.borrow_mut() = value);
        Ok(vec![ResourceInfo {
            name: "hostile".into(),
            table_name: "hostile".into(),
            write_disposition: WriteDisposition::Append,
            primary_key: Vec::new(),
            selected: true,
        }])
    }

    fn next_page() -> Result<Option<Page>, Error> {
        // One page, then the end (for the behaviours that get that far).
        if PAGES.with(|p| std::mem::replace(&mut *p.borrow_mut(), 1)) == 1 {
            return Ok(None);
        }
        match config("behaviour").as_str().unwrap_or_default() {
            "alloc" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![7; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "spin" => {
                let mut n = 0u64;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "sleep" => {
                wasi::clocks::monotonic_clock::subscribe_duration(3_600_000_000_000).block();
                Ok(None)
            }
            "fetch" => {
                // Whatever the host answers, keep asking, as a prober would.
                let url = config("url").as_str().unwrap_or_default().to_string();
                let answers: Vec<String> = (0..3).map(|_| fetch(&url)).collect();
                let line = format!("{{\"answers\":{:?}}}\n", answers);
                Ok(Some(page(line.into_bytes(), 1)))
            }
            "secret" => {
                let name = config("name").as_str().unwrap_or_default().to_string();
                let got = match secrets::get(&name) {
                    Ok(value) => value,
                    Err(e) => format!("{e:?}"),
                };
                let line = format!("{{\"got\":{got:?}}}\n");
                Ok(Some(page(line.into_bytes(), 1)))
            }
            "stderr" => {
                let chunk = vec![b'x'; 1 << 20];
                let gib = config("gib").as_u64().unwrap_or(1);
                let mut stderr = std::io::stderr();
                for _ in 0..gib * 1024 {
                    stderr.write_all(&chunk).expect("stderr takes the chunk");
                }
                Ok(None)
            }
            "page" => {
                let bytes = config("bytes").as_u64().unwrap_or(1 << 20) as usize;
                let mut records = Vec::with_capacity(bytes + 16);
                records.extend_from_slice(b"{\"x\":\"");
                records.resize(bytes.saturating_sub(3), b'a');
                records.extend_from_slice(b"\"}\n");
                Ok(Some(page(records, 1)))
            }
            _ => Ok(None),
        }
    }

    fn schema() -> Result<Vec<TableSchema>, Error> {
        Ok(Vec::new())
    }
}
