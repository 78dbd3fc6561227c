//! A device whose relay cannot be reached says so: a warning in the log that
//! names the relay (and nothing more than needed), and its screen, within
//! 5 s of starting; and both say when the relay is back.

mod support;

use hearth::config::Config;
use hearth::hardware::display::Screen;
use hearth::node::RelayStatus;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use support::harness::*;
use tokio::time::Instant;

/// Everything this test binary logs at `info` and above, as text.
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_ansi(false)
            .with_writer(move || Captured(writer.clone()))
            .init();
        buffer
    })
}

struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        std::io::stderr().write_all(bytes)?;
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logged() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap()).into_owned()
}

/// A loopback address nobody listens on now.
fn closed_addr() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// Waits until the device on `dir` shows `screen`, at most until `deadline`.
async fn screen_by(what: &str, deadline: Instant, dir: &Path, config: &Config, screen: &Screen) {
    let expected = support::screen::drawn(config, screen);
    let path = dir.join("screen.png");
    while std::fs::read(&path).ok().as_deref() != Some(&expected[..]) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until a log line at `level` contains `text`, at most until `deadline`.
async fn logged_by(what: &str, deadline: Instant, level: &str, text: &str) {
    while !logged()
        .lines()
        .any(|line| line.contains(level) && line.contains(text))
    {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_relay_is_logged_and_shown_within_5_s_and_so_is_its_return() {
    logs();
    let addr = closed_addr();
    // Credentials and a query in the URL must reach neither the log nor the screen.
    let url = format!("ws://owner:hunter2@{addr}/relay?token=s3cret");
    let dir = tempfile::tempdir().unwrap();
    let config = device_config(&url);
    let started = Instant::now();
    let device = start_device_with(dir.path(), config.clone(), None).await;
    device.start_panel().unwrap();
    let relay_shown = Screen::RelayUnreachable {
        relay: addr.to_string(),
    };
    let within_5_s = started + Duration::from_secs(5);
    logged_by(
        "a warning naming the relay",
        within_5_s,
        "WARN",
        &format!("relay=ws://{addr}/relay"),
    )
    .await;
    screen_by(
        "the screen says so",
        within_5_s,
        dir.path(),
        &config,
        &relay_shown,
    )
    .await;
    assert_eq!(device.node.relay_status(), RelayStatus::Unreachable);

    // Back: the log says so, and the screen offers pairing again.
    let relay = TestRelay::start_at(addr).await;
    let back = Instant::now() + Duration::from_secs(30);
    logged_by("the relay is back", back, "INFO", "reachable again").await;
    let pairing = Screen::PairingNeedsRelay {
        device_name: config.name.clone(),
    };
    screen_by("pairing again", back, dir.path(), &config, &pairing).await;

    // Lost again: shown within 5 s of losing it.
    relay.stop().await;
    let lost = Instant::now() + Duration::from_secs(5);
    screen_by(
        "the loss on screen",
        lost,
        dir.path(),
        &config,
        &relay_shown,
    )
    .await;

    let log = logged();
    assert!(
        !log.contains("hunter2") && !log.contains("s3cret") && !log.contains("owner:"),
        "the log leaks the URL's secrets:\n{log}"
    );
    device.stop().await;
}
