//! The screen's pairing code is a link a phone can open — never one to
//! `localhost` — or the screen says in words what phones need. A device
//! listening on every interface hands out this machine's LAN address, in its
//! contact code and in the code on its screen.

mod support;

use hearth::config::reach::lan_address;
use hearth::config::Config;
use hearth::device::Device;
use hearth::hardware::display::Screen;
use std::path::Path;
use support::harness::*;
use support::screen::wait_for_screen;

/// A device configured with nothing but its name and its web server's
/// address (so on its built-in relay), and a small picture.
fn own_relay_config(listen: &str) -> Config {
    let text = format!("name = \"Kitchen\"\n[http]\nlisten = \"{listen}\"\n");
    let mut config = Config::from_toml(&text, Path::new("hearth.toml")).unwrap();
    config.video.width = 320;
    config.video.height = 240;
    config
}

async fn start(dir: &Path, config: &Config) -> Device {
    let device = start_device_with(dir, config.clone(), None).await;
    device.start_panel().expect("simulated panel");
    device
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_only_this_machine_reaches_says_phones_need_a_public_relay() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let config = own_relay_config("127.0.0.1:0");
    let device = start(dir.path(), &config).await;
    wait_relay(&device.node).await;
    let port = device.http_addr.unwrap().port();
    assert_eq!(
        device.node.contact_code().relays,
        [format!("ws://127.0.0.1:{port}/relay")],
        "the code names the port the web server got"
    );
    let words = Screen::PairingNeedsRelay {
        device_name: "Kitchen".into(),
    };
    wait_for_screen("words for phones", dir.path(), &config, &words).await;
    device.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_on_every_interface_shows_a_lan_link_and_hands_out_its_lan_relay() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let config = own_relay_config("0.0.0.0:0");
    let device = start(dir.path(), &config).await;
    let port = device.http_addr.unwrap().port();
    let Some(lan) = lan_address(false) else {
        // No route out: only this machine can reach it, and the screen says so.
        assert_eq!(
            device.node.contact_code().relays,
            [format!("ws://127.0.0.1:{port}/relay")]
        );
        let words = Screen::PairingNeedsRelay {
            device_name: "Kitchen".into(),
        };
        wait_for_screen("words for phones", dir.path(), &config, &words).await;
        return;
    };
    let code = device.node.contact_code();
    assert_eq!(code.relays, [format!("ws://{lan}:{port}/relay")]);
    // The device reaches its own relay at that address, as its contacts will.
    wait_relay(&device.node).await;
    let qr = Screen::Pairing {
        device_name: "Kitchen".into(),
        code: format!("http://{lan}:{port}/#c={}", code.to_text()),
    };
    wait_for_screen("a QR code of the LAN link", dir.path(), &config, &qr).await;
    device.stop().await;
}
