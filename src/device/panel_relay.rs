//! What the screen says about reaching the device: the pairing screen (a QR
//! code of a link a phone can open, or words saying what is missing), the
//! relay being unreachable, and the home screen's network line. Plain rules
//! over the relay's status, tested as tables.

use crate::config::Config;
use crate::hardware::display::screen::{Network, Screen};
use crate::node::RelayStatus;

/// The pairing screen of a device with `config` (its web server's real port
/// in it): a QR code of the viewer link when a phone can open it
/// ([`crate::web::phone_link`]), else words saying a public relay or a LAN
/// address is needed.
pub(super) fn pairing(config: &Config, device_name: &str, contact_code: &str) -> Screen {
    match crate::web::phone_link(config, contact_code) {
        Some(link) => Screen::Pairing {
            device_name: device_name.to_string(),
            code: link,
        },
        None => Screen::PairingNeedsRelay {
            device_name: device_name.to_string(),
        },
    }
}

/// What the screen shows while nobody is approved yet: the pairing screen,
/// unless the relay cannot be reached — a code is of no use then, so the
/// screen names the relay it cannot reach (`relay_url`, shown as host only).
pub(super) fn first_boot(status: RelayStatus, pairing: &Screen, relay_url: &str) -> Screen {
    match status {
        RelayStatus::Unreachable => Screen::RelayUnreachable {
            relay: crate::relay::url::host(relay_url),
        },
        RelayStatus::Connecting | RelayStatus::Connected => pairing.clone(),
    }
}

/// The home screen's network line for the relay's status.
pub(super) fn network(status: RelayStatus) -> Network {
    match status {
        RelayStatus::Connected => Network::Online,
        RelayStatus::Connecting => Network::Connecting,
        RelayStatus::Unreachable => Network::Offline,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(listen: &str, urls: &[&str]) -> Config {
        let mut config = Config::default();
        config.http.listen = listen.parse().unwrap();
        config.relay.urls = urls.iter().map(|u| u.to_string()).collect();
        config
    }

    #[test]
    fn the_pairing_qr_is_a_link_a_phone_can_open_or_words() {
        let needs = Screen::PairingNeedsRelay {
            device_name: "Kitchen".into(),
        };
        let qr = |link: &str| Screen::Pairing {
            device_name: "Kitchen".into(),
            code: link.into(),
        };
        let table = [
            (config("127.0.0.1:7600", &[]), needs.clone()),
            (config("127.0.0.1:7611", &[]), needs.clone()),
            (config("[::1]:7600", &[]), needs.clone()),
            (
                config("127.0.0.1:7600", &["ws://127.0.0.1:7600/relay"]),
                needs.clone(),
            ),
            (
                config("192.168.1.20:7600", &[]),
                qr("http://192.168.1.20:7600/#c=hearth1.x"),
            ),
            (
                config("127.0.0.1:7600", &["wss://hearth.example.org/relay"]),
                qr("https://hearth.example.org/#c=hearth1.x"),
            ),
        ];
        for (config, expected) in table {
            let screen = pairing(&config, "Kitchen", "hearth1.x");
            assert_eq!(screen, expected, "listen {}", config.http.listen);
            if let Screen::Pairing { code, .. } = &screen {
                assert!(
                    !code.contains("localhost") && !code.contains("127.0.0.1"),
                    "{code}"
                );
            }
        }
    }

    #[test]
    fn an_unreachable_relay_takes_the_place_of_the_code() {
        let code = Screen::Pairing {
            device_name: "Kitchen".into(),
            code: "https://hearth.example.org/#c=x".into(),
        };
        let url = "wss://owner:pw@hearth.example.org/relay?token=t";
        assert_eq!(first_boot(RelayStatus::Connecting, &code, url), code);
        assert_eq!(first_boot(RelayStatus::Connected, &code, url), code);
        assert_eq!(
            first_boot(RelayStatus::Unreachable, &code, url),
            Screen::RelayUnreachable {
                relay: "hearth.example.org".into()
            }
        );
    }

    #[test]
    fn the_network_line_follows_the_relay() {
        assert_eq!(network(RelayStatus::Connected), Network::Online);
        assert_eq!(network(RelayStatus::Connecting), Network::Connecting);
        assert_eq!(network(RelayStatus::Unreachable), Network::Offline);
    }
}
