//! A device configured with nothing but a new port: `hearth run` and
//! `hearth id` hand out a contact code naming the built-in relay at that
//! port, the banner, `hearth id` and the viewer link agree, and a viewer that
//! knows only that code reaches the device through its relay and pairs.

mod support;

use hearth::identity::ContactCode;
use hearth::node::NodeEvent;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;
use support::cli::{self, hearth, stdout};
use support::harness::*;

/// A loopback port nobody listens on now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Kills the `hearth run` it holds when dropped, so a failing test leaves no device behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `hearth run` and returns it with the banner it printed.
fn run_device(data_dir: &Path, config: &Path) -> (Running, Vec<String>) {
    let mut child = cli::command(data_dir, &["--config", config.to_str().unwrap(), "run"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("hearth run starts");
    let out = child.stdout.take().unwrap();
    let running = Running(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut banner = Vec::new();
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            let done = line.contains("Stop with Ctrl-C");
            banner.push(line);
            if done {
                let _ = tx.send(banner.clone());
            }
        }
    });
    let banner = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("hearth run prints its banner");
    (running, banner)
}

/// The text after `label` on the banner line that starts with it.
fn field<'a>(banner: &'a [String], label: &str) -> &'a str {
    banner
        .iter()
        .find_map(|line| line.trim_start().strip_prefix(label))
        .unwrap_or_else(|| panic!("no `{label}` line in the banner:\n{}", banner.join("\n")))
        .trim()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_port_alone_moves_the_relay_in_the_code_and_the_device_is_reachable_there() {
    init_logs();
    let port = free_port();
    let (device_dir, viewer_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config = device_dir.path().join("hearth.toml");
    std::fs::write(
        &config,
        format!("name = \"Kitchen\"\n[http]\nlisten = \"127.0.0.1:{port}\"\n"),
    )
    .unwrap();
    let (_device, banner) = run_device(device_dir.path(), &config);
    let relay = format!("ws://127.0.0.1:{port}/relay");

    // The code the device hands out names the relay at the new port, and
    // `hearth id` hands out the very same code and viewer link.
    let code_line = banner
        .iter()
        .find(|line| line.trim_start().starts_with("hearth1."))
        .expect("the banner shows the contact code")
        .trim()
        .to_string();
    let code = ContactCode::parse(&code_line).unwrap();
    assert_eq!(code.relays, vec![relay.clone()], "the code's relay");
    assert!(
        field(&banner, "relay:").contains(&relay),
        "the banner names the relay the code carries:\n{}",
        banner.join("\n")
    );
    let viewer_link = field(&banner, "viewer:").to_string();
    assert_eq!(
        viewer_link,
        format!("http://localhost:{port}/#c={code_line}"),
        "the viewer link is served at the new port and carries the code"
    );
    let cfg = config.to_str().unwrap();
    let id_quiet = stdout(&hearth(
        device_dir.path(),
        &["--config", cfg, "id", "--quiet"],
    ));
    assert_eq!(id_quiet.trim(), code_line, "`hearth id --quiet`");
    let id = stdout(&hearth(device_dir.path(), &["--config", cfg, "id"]));
    assert!(
        id.lines().any(|line| line.trim() == viewer_link),
        "`hearth id` prints the same viewer link:\n{id}"
    );

    // A viewer that knows only the code reaches the device through the relay
    // it names, asks to pair and hears the owner's yes.
    let viewer = start_viewer(viewer_dir.path(), &code.relays[0], "Gran");
    wait_relay(&viewer).await;
    let mut events = viewer.events();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match viewer.request_pairing(&code).await {
            Ok(()) => break,
            Err(e) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the device never came online on {relay}: {e}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    let (dir, file) = (device_dir.path().to_path_buf(), config.clone());
    let approve = tokio::task::spawn_blocking(move || {
        // The request may still be on its way to the contacts file.
        for _ in 0..100 {
            let output = hearth(
                &dir,
                &[
                    "--config",
                    file.to_str().unwrap(),
                    "contacts",
                    "approve",
                    "Gran",
                ],
            );
            if output.status.success() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("`hearth contacts approve Gran` never found the request");
    });
    approve.await.unwrap();
    let approved = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match events.recv().await {
                Ok(NodeEvent::PairApproved { key }) => return key,
                Ok(_) => {}
                Err(e) => panic!("viewer events: {e}"),
            }
        }
    })
    .await
    .expect("the device's yes arrives through its relay");
    assert_eq!(approved, code.peer_key);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_device_whose_port_is_taken_hands_out_the_first_ones_relay() {
    init_logs();
    let listen = format!("127.0.0.1:{}", free_port());
    // Nothing but a name and the address: the relay is left to its default.
    let config = |name: &str| {
        let text = format!("name = \"{name}\"\n[http]\nlisten = \"{listen}\"\n");
        hearth::config::Config::from_toml(&text, Path::new("hearth.toml")).unwrap()
    };
    let (first_dir, second_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let start = |dir: &Path, config: hearth::config::Config| {
        hearth::device::Device::start(hearth::device::DeviceOptions {
            config,
            data_dir: dir.to_path_buf(),
            rtc: Some(fast_settings()),
            media: Some(hearth::api::LocalMedia::none()),
        })
    };
    let first = start(first_dir.path(), config("Kitchen")).await.unwrap();
    let second = start(second_dir.path(), config("Hall")).await.unwrap();
    assert!(first.http_addr.is_some() && second.http_addr.is_none());
    let relay = format!("ws://{listen}/relay");
    for device in [&first, &second] {
        assert_eq!(device.node.contact_code().relays, vec![relay.clone()]);
        wait_relay(&device.node).await;
    }
    // Each reaches the other through the relay both codes name.
    befriend(&first.node, &second.node, &[]).await;
    first
        .node
        .send(
            &second.node.peer_key(),
            &hearth::signal::Signal::PairApproved,
        )
        .await
        .expect("the second device is on the relay its code names");
    first.stop().await;
    second.stop().await;
}
