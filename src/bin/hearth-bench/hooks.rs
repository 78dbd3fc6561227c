//! Timing hooks: the instant the device reaches a point worth timing, taken from the
//! log line it writes right there (share queued, share delivered, live LED switched,
//! screen written, privacy on). A `tracing` layer notes the instant each such event is
//! emitted, so the times are exact to the event, not to a polling interval. Only the
//! targets in [`targets`] reach the layer; nothing else pays for it.
//!
//! The hooks depend on the device's log messages: if one is renamed, the benchmark
//! that waits for it times out with a message naming it (it cannot report a wrong time).

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

/// One event the device logged, with the instant it was logged.
#[derive(Debug, Clone)]
pub struct Hook {
    /// When the event was emitted.
    pub at: Instant,
    /// The log line's message.
    pub message: String,
    /// Its other fields, as `name=value` separated by spaces.
    pub fields: String,
}

static EVENTS: Mutex<Vec<Hook>> = Mutex::new(Vec::new());

/// The log lines the benchmarks time, by module.
pub fn targets() -> Targets {
    Targets::new()
        .with_target("hearth::device::share_link", Level::INFO)
        .with_target("hearth::device::shares", Level::INFO)
        .with_target("hearth::device::control", Level::INFO)
        .with_target("hearth::device::calls", Level::INFO)
        .with_target("hearth::hardware::led", Level::INFO)
        .with_target("hearth::hardware::display::png", Level::DEBUG)
        .with_target("hearth::hardware::buttons::socket", Level::DEBUG)
}

/// The layer that records the events [`targets`] lets through.
pub struct HookLayer;

#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, "{}={value:?} ", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for HookLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let at = Instant::now();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut events = EVENTS.lock().unwrap_or_else(|p| p.into_inner());
        if events.len() < 100_000 {
            events.push(Hook {
                at,
                message: fields.message,
                fields: fields.rest.trim_end().to_string(),
            });
        }
    }
}

/// Forgets every event recorded so far.
pub fn clear() {
    EVENTS.lock().unwrap_or_else(|p| p.into_inner()).clear();
}

/// The events recorded at or after `since` whose message is `message`.
pub fn matching(since: Instant, message: &str) -> Vec<Hook> {
    matching_fields(since, message, "")
}

/// Like [`matching`], keeping only events whose fields contain `fields`.
pub fn matching_fields(since: Instant, message: &str, fields: &str) -> Vec<Hook> {
    EVENTS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|h| h.at >= since && h.message == message && h.fields.contains(fields))
        .cloned()
        .collect()
}

/// Waits (up to `limit`) until at least `count` events with `message` were recorded
/// at or after `since`, and returns them in order.
pub async fn wait_for(
    since: Instant,
    message: &str,
    count: usize,
    limit: Duration,
) -> anyhow::Result<Vec<Hook>> {
    wait_for_fields(since, message, "", count, limit).await
}

/// Like [`wait_for`], counting only events whose fields contain `fields`
/// (e.g. `lit=false`).
pub async fn wait_for_fields(
    since: Instant,
    message: &str,
    fields: &str,
    count: usize,
    limit: Duration,
) -> anyhow::Result<Vec<Hook>> {
    let deadline = Instant::now() + limit;
    loop {
        let found = matching_fields(since, message, fields);
        if found.len() >= count {
            return Ok(found);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {count} × the device's log line {message:?} \
             {fields} (seen {}); was it renamed?",
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Milliseconds from `from` to `to` (negative if `to` came first).
pub fn ms_between(from: Instant, to: Instant) -> f64 {
    match to.checked_duration_since(from) {
        Some(d) => d.as_secs_f64() * 1000.0,
        None => -(from.duration_since(to).as_secs_f64() * 1000.0),
    }
}
