//! The fuzz corpora, replayed: every committed input of every cargo fuzz target (`fuzz/corpus/<target>`, and the
//! inputs that once crashed it, `fuzz/regressions/<target>`) goes through the same harness the fuzzer runs, so
//! what the fuzzer found stays fixed without the nightly toolchain.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut inputs = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        // A running fuzzer replaces corpus files as it shrinks them: one that is gone by now is skipped.
        for path in entries.flatten().map(|e| e.path()) {
            let Ok(data) = std::fs::read(&path) else {
                continue;
            };
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{} fails", path.display());
            inputs += 1;
        }
    }
    assert!(
        inputs >= 5,
        "the `{target}` corpus has only {inputs} inputs"
    );
}

#[test]
fn config_corpus() {
    replay("config", harness::config);
}

#[test]
fn responses_corpus() {
    replay("responses", harness::responses);
}

#[test]
fn jsonpath_corpus() {
    replay("jsonpath", harness::jsonpath);
}

#[test]
fn headers_corpus() {
    replay("headers", harness::headers);
}

#[test]
fn checkpoint_corpus() {
    replay("checkpoint", harness::checkpoint);
}

#[test]
fn templates_corpus() {
    replay("templates", harness::templates);
}
