//! What a run shows while it goes: a progress line on a terminal (pages, rows, the resource, retries and the
//! current wait), plain lines every few seconds otherwise, and log lines (`tracing`, filtered by `RUST_LOG`) that
//! never tear the progress line.

use host_test::wit::{Page, ResourceInfo, TableSchema};
use host_test::{Destination, LoadRecord, RunState};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// The progress line of the run in progress, if it is drawn.
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// How often a plain progress line is printed when stderr is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// Install the log subscriber: `RUST_LOG` when set, else warnings (`info` with `verbose`), to stderr.
pub fn init_logging(verbose: bool) {
    let default = if verbose { "info" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(|| BarSafeStderr)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time();
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(RetryLayer)
        .init();
}

/// Stderr, written with the progress line cleared and redrawn after.
struct BarSafeStderr;

impl Write for BarSafeStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = BAR.lock().ok().and_then(|b| b.clone());
        match bar {
            Some(bar) => bar.suspend(|| std::io::stderr().write(buf)),
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Shows the connector's last warning on the progress line: its retry notes (`… retrying in N ms`) and token
/// refreshes are logged as warnings.
struct RetryLayer;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for RetryLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        if meta.target() != "connector" || *meta.level() != tracing::Level::WARN {
            return;
        }
        let mut message = MessageOf(String::new());
        event.record(&mut message);
        if let Some(bar) = BAR.lock().ok().and_then(|b| b.clone()) {
            bar.set_prefix(format!("last warning: {}", message.0));
        }
    }
}

struct MessageOf(String);

impl tracing::field::Visit for MessageOf {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

/// A destination that reports progress as pages are committed to the one it wraps.
pub struct Progress<'a> {
    inner: &'a mut dyn Destination,
    bar: Option<ProgressBar>,
    started: Instant,
    last_plain: Instant,
    pages: u64,
    rows: u64,
}

impl<'a> Progress<'a> {
    /// Report on `inner`: a progress line when stderr is a terminal, plain lines otherwise.
    pub fn new(inner: &'a mut dyn Destination) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}  {prefix}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        if let Ok(mut slot) = BAR.lock() {
            *slot = bar.clone();
        }
        Self {
            inner,
            bar,
            started: Instant::now(),
            last_plain: Instant::now(),
            pages: 0,
            rows: 0,
        }
    }

    fn report(&mut self, resource: &str) {
        let line = format!("{} rows in {} pages ({resource})", self.rows, self.pages);
        match &self.bar {
            Some(bar) => bar.set_message(line),
            None if self.last_plain.elapsed() >= PLAIN_EVERY => {
                self.last_plain = Instant::now();
                eprintln!("{:>5.0} s  {line}", self.started.elapsed().as_secs_f64());
            }
            None => {}
        }
    }
}

impl Drop for Progress<'_> {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if let Ok(mut slot) = BAR.lock() {
            *slot = None;
        }
    }
}

impl Destination for Progress<'_> {
    fn declare(&mut self, tables: &[TableSchema]) -> std::io::Result<()> {
        self.inner.declare(tables)
    }

    fn resume_state(&self) -> std::io::Result<Option<RunState>> {
        self.inner.resume_state()
    }

    fn begin(
        &mut self,
        resources: &[ResourceInfo],
        resume: Option<&RunState>,
    ) -> std::io::Result<()> {
        self.inner.begin(resources, resume)
    }

    fn write_page(&mut self, page: &Page) -> std::io::Result<()> {
        self.inner.write_page(page)?;
        self.pages += 1;
        self.rows += u64::from(page.record_count);
        self.report(&page.resource);
        Ok(())
    }

    fn commit(&mut self, checkpoint: &str, complete: bool) -> std::io::Result<()> {
        self.inner.commit(checkpoint, complete)
    }

    fn send_page(&mut self, page: &Page) -> std::io::Result<()> {
        self.inner.send_page(page)?;
        self.pages += 1;
        self.rows += u64::from(page.record_count);
        self.report(&page.resource);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.inner.finish()
    }

    fn record_load(&mut self, load: &LoadRecord) -> std::io::Result<()> {
        self.inner.record_load(load)
    }
}
