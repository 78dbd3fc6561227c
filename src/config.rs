//! The device's settings: TOML read with serde, unknown keys refused, every
//! field with a default. `hearth.example.toml` at the top of the repository
//! documents each one and is checked against these defaults by a test.

use self::hardware::{
    AudioSource, BoardSettings, ButtonSettings, DisplaySettings, EncoderPreference, LedSettings,
    PictureSettings, TalkBackOutput, VideoSource,
};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub mod hardware;
pub mod ice;
pub mod reach;

pub use ice::IceServerEntry;

/// Errors reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is empty (or only whitespace): most likely a copy or an edit
    /// that was never saved, so it is refused rather than taken as the defaults.
    #[error("config file {path} is empty: copy hearth.example.toml over it (it lists every option at its default) and change what you need, or leave out --config to run with the defaults")]
    Empty {
        /// The file involved.
        path: PathBuf,
    },
    /// The file is not valid TOML or has unknown or mistyped keys.
    #[error("config file {path} is invalid: {reason} (see hearth.example.toml for every option)")]
    Invalid {
        /// The file involved.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A value is out of range.
    #[error("config value `{key}` is invalid: {reason}")]
    Value {
        /// The key.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// All settings of a device.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The name this device shows to its contacts.
    pub name: String,
    /// The device's web server: viewer page, WHEP and the embedded relay.
    pub http: HttpConfig,
    /// Signalling relay settings.
    pub relay: RelayConfig,
    /// Camera and video encoding.
    pub video: VideoConfig,
    /// Microphone and audio encoding.
    pub audio: AudioConfig,
    /// WebRTC transport.
    pub webrtc: WebRtcConfig,
    /// Which board profile describes the wiring.
    pub board: BoardSettings,
    /// The small screen.
    pub display: DisplaySettings,
    /// The physical buttons.
    pub buttons: ButtonSettings,
    /// The "live" light.
    pub led: LedSettings,
    /// Snapshots, photos and thoughts.
    pub share: crate::share::ShareConfig,
    /// A contact's camera on the device: HDMI or the small screen.
    pub picture: PictureSettings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            name: "Hearth".into(),
            http: HttpConfig::default(),
            relay: RelayConfig::default(),
            video: VideoConfig::default(),
            audio: AudioConfig::default(),
            webrtc: WebRtcConfig::default(),
            board: BoardSettings::default(),
            display: DisplaySettings::default(),
            buttons: ButtonSettings::default(),
            led: LedSettings::default(),
            share: crate::share::ShareConfig::default(),
            picture: PictureSettings::default(),
        }
    }
}

/// The device's web server.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address of the web server (viewer page, WHEP, and `/relay` when the relay is embedded).
    /// With `[relay] urls` unset, contact codes name the relay at this address
    /// (see [`Config::relay_urls`]).
    pub listen: SocketAddr,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "127.0.0.1:7600".parse().expect("valid address"),
        }
    }
}

/// Where signalling goes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayConfig {
    /// Relay WebSocket URLs this device connects to; the first is used, and all
    /// are written into its contact code. Empty (the default): the relay at
    /// `[http] listen`, built in. Read them through [`Config::relay_urls`].
    pub urls: Vec<String>,
    /// Also run a relay inside the device, at `/relay` on the web server.
    pub embedded: bool,
    /// STUN/TURN servers the embedded relay hands to its clients
    /// (`[relay.ice]`, the same table as `[ice]` in `hearth relay`'s config).
    pub ice: crate::relay::IceConfig,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            urls: Vec::new(),
            embedded: true,
            ice: crate::relay::IceConfig::default(),
        }
    }
}

/// Which camera and how video is encoded.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VideoConfig {
    /// `simulated` (a moving test pattern) or `camera` (V4L2; needs feature `hardware`).
    pub source: VideoSource,
    /// `auto` (the first usable camera) or a device path such as `/dev/video0`.
    pub device: String,
    /// `auto`, `v4l2m2m` (hardware) or `openh264` (software).
    pub encoder: EncoderPreference,
    /// The hardware encoder's node; `auto` takes the board profile's (`/dev/video11`).
    pub encoder_device: String,
    /// Frame width in pixels (even).
    pub width: u32,
    /// Frame height in pixels (even).
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Target H.264 bitrate in kbit/s.
    pub bitrate_kbps: u32,
    /// Seconds between periodic keyframes (a viewer's request forces one sooner).
    pub keyframe_interval_secs: u32,
}

impl Default for VideoConfig {
    fn default() -> Self {
        VideoConfig {
            source: VideoSource::Simulated,
            device: "auto".into(),
            encoder: EncoderPreference::Auto,
            encoder_device: "auto".into(),
            width: 640,
            height: 480,
            fps: 30,
            bitrate_kbps: 1000,
            keyframe_interval_secs: 2,
        }
    }
}

/// Which microphone and how audio is encoded.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AudioConfig {
    /// `simulated` (a 440 Hz tone) or `alsa` (needs feature `hardware`).
    pub source: AudioSource,
    /// ALSA capture device: `default`, a name from `arecord -L`, or part of a card's name.
    pub capture_device: String,
    /// Where talk-back audio plays: `simulated` (`talkback.wav` in the data
    /// directory), `alsa` or `none`.
    pub speaker: TalkBackOutput,
    /// ALSA playback device: `default`, a name from `aplay -L`, or part of a card's name.
    pub playback_device: String,
    /// Target Opus bitrate in kbit/s.
    pub bitrate_kbps: u32,
}

impl Default for AudioConfig {
    fn default() -> Self {
        AudioConfig {
            source: AudioSource::Simulated,
            capture_device: "default".into(),
            speaker: TalkBackOutput::Simulated,
            playback_device: "default".into(),
            bitrate_kbps: 32,
        }
    }
}

/// WebRTC transport settings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebRtcConfig {
    /// This device's own STUN/TURN servers, used beside those the relay hands
    /// out: bare URLs (`stun:stun.example.org:3478`) or TURN tables with
    /// `urls`, `username` and `credential`. Empty: only the relay's.
    pub ice_servers: Vec<IceServerEntry>,
    /// Use relay (TURN) candidates only, so contacts never learn this
    /// device's addresses. Needs a TURN server (the relay's or one here).
    pub relay_only: bool,
    /// Local addresses to gather candidates on; empty means every interface.
    pub udp_addresses: Vec<String>,
}

impl Config {
    /// Parses and validates configuration text.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: origin.to_path_buf(),
            reason: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads `path`; `None` gives the embedded defaults. An empty file is
    /// refused ([`ConfigError::Empty`]), with a log line naming it.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if text.trim().is_empty() {
            tracing::error!(file = %path.display(), "the config file is empty");
            return Err(ConfigError::Empty {
                path: path.to_path_buf(),
            });
        }
        Self::from_toml(&text, path)
    }

    /// The relay URLs this device connects to (the first) and writes into its
    /// contact code: `[relay] urls` as given, or when they are unset the relay
    /// at the web server's address ([`Config::web_address`]), which is the
    /// built-in one (or, when another Hearth on this machine has the port,
    /// that one's). The one place that decides; the device, `hearth id`, the
    /// banner and the viewer link all ask it.
    pub fn relay_urls(&self) -> Vec<String> {
        if !self.relay.urls.is_empty() {
            return self.relay.urls.clone();
        }
        vec![format!("ws://{}/relay", self.web_address())]
    }

    /// Where others reach the web server: `[http] listen`, with this
    /// machine's LAN address standing in for `0.0.0.0` / `[::]` (loopback
    /// when it has none; then only this machine can reach it).
    pub fn web_address(&self) -> SocketAddr {
        let listen = self.http.listen;
        let lan = match listen.ip().is_unspecified() {
            true => reach::lan_address(listen.is_ipv6()),
            false => None,
        };
        reach::advertised(listen, lan)
    }

    /// This config as a running device sees it: when `[http] listen` asks for
    /// port 0, the port its web server got (`bound`), so that what is derived
    /// from the address names the real one.
    pub fn with_bound_port(&self, bound: Option<SocketAddr>) -> Config {
        let mut config = self.clone();
        if let (0, Some(bound)) = (config.http.listen.port(), bound) {
            config.http.listen.set_port(bound.port());
        }
        config
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let v = &self.video;
        if v.width == 0 || v.height == 0 || v.width % 2 == 1 || v.height % 2 == 1 {
            return Err(ConfigError::Value {
                key: "video.width/height",
                reason: format!("{}x{} must be even and non-zero", v.width, v.height),
            });
        }
        if !(1..=60).contains(&v.fps) {
            return Err(ConfigError::Value {
                key: "video.fps",
                reason: format!("{} is outside 1..=60", v.fps),
            });
        }
        let b = &self.buttons;
        if b.debounce_ms == 0 || b.long_press_ms <= b.debounce_ms {
            return Err(ConfigError::Value {
                key: "buttons.debounce_ms/long_press_ms",
                reason: format!(
                    "{} / {} ms: debounce must be above 0 and below the long press",
                    b.debounce_ms, b.long_press_ms
                ),
            });
        }
        if !(1..=3600).contains(&self.display.note_secs) {
            return Err(ConfigError::Value {
                key: "display.note_secs",
                reason: format!("{} is outside 1..=3600", self.display.note_secs),
            });
        }
        if !(1..=100).contains(&self.share.jpeg_quality) {
            return Err(ConfigError::Value {
                key: "share.jpeg_quality",
                reason: format!("{} is outside 1..=100", self.share.jpeg_quality),
            });
        }
        if let Some(why) = self.webrtc.ice_servers.iter().find_map(|e| e.problem()) {
            return Err(ConfigError::Value {
                key: "webrtc.ice_servers",
                reason: why,
            });
        }
        self.relay.ice.validate().map_err(|e| ConfigError::Value {
            key: "relay.ice",
            reason: e.to_string(),
        })?;
        if let Some(url) = self
            .relay
            .urls
            .iter()
            .find(|url| !url.starts_with("ws://") && !url.starts_with("wss://"))
        {
            return Err(ConfigError::Value {
                key: "relay.urls",
                reason: format!(
                    "`{url}` is not a relay WebSocket URL (ws://host:port/relay or wss://…); \
                     leave `urls` out for the built-in relay"
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_file_documents_the_defaults() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/hearth.example.toml"));
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(Config::from_toml(&text, path).unwrap(), Config::default());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = Config::from_toml("nmae = \"x\"", Path::new("t.toml")).unwrap_err();
        assert!(err.to_string().contains("nmae"), "{err}");
    }

    #[test]
    fn unknown_hardware_choices_are_refused() {
        let err = Config::from_toml("[video]\nsource = \"webcam\"", Path::new("t.toml"))
            .unwrap_err()
            .to_string();
        for word in ["webcam", "simulated", "camera"] {
            assert!(err.contains(word), "{err}");
        }
        let err = Config::from_toml("[audio]\nspeaker = \"hdmi\"", Path::new("t.toml"))
            .unwrap_err()
            .to_string();
        for word in ["hdmi", "simulated", "alsa", "none"] {
            assert!(err.contains(word), "{err}");
        }
        let err = Config::from_toml("[video]\nencoder = \"x264\"", Path::new("t.toml"));
        assert!(err.unwrap_err().to_string().contains("openh264"));
        let err = Config::from_toml("[buttons]\nlong_press_ms = 10", Path::new("t.toml"));
        assert!(err.is_err());
    }

    #[test]
    fn unset_relay_urls_follow_the_listen_address_and_set_ones_are_kept() {
        let config = |text: &str| Config::from_toml(text, Path::new("t.toml")).unwrap();
        assert_eq!(
            Config::default().relay_urls(),
            ["ws://127.0.0.1:7600/relay"]
        );
        let port_only = config("[http]\nlisten = \"127.0.0.1:7611\"");
        assert_eq!(port_only.relay_urls(), ["ws://127.0.0.1:7611/relay"]);
        let lan = config("[http]\nlisten = \"192.168.1.20:8080\"");
        assert_eq!(lan.relay_urls(), ["ws://192.168.1.20:8080/relay"]);
        let v6 = config("[http]\nlisten = \"[fd00::20]:7600\"");
        assert_eq!(v6.relay_urls(), ["ws://[fd00::20]:7600/relay"]);
        let set = config(
            "[http]\nlisten = \"127.0.0.1:7611\"\n[relay]\nurls = [\"wss://r.example.org/relay\", \"ws://10.0.0.2:7600/relay\"]",
        );
        assert_eq!(
            set.relay_urls(),
            ["wss://r.example.org/relay", "ws://10.0.0.2:7600/relay"]
        );
    }

    #[test]
    fn an_unspecified_listen_address_hands_out_the_lan_address() {
        let config =
            Config::from_toml("[http]\nlisten = \"0.0.0.0:7600\"", Path::new("t.toml")).unwrap();
        let expected = reach::advertised(config.http.listen, reach::lan_address(false));
        assert!(!expected.ip().is_unspecified());
        assert_eq!(config.web_address(), expected);
        assert_eq!(config.relay_urls(), [format!("ws://{expected}/relay")]);
    }

    #[test]
    fn the_bound_port_replaces_port_zero_only() {
        let mut config = Config::default();
        let bound = Some("127.0.0.1:40001".parse().unwrap());
        assert_eq!(config.with_bound_port(bound), config, "7600 stays");
        config.http.listen = "127.0.0.1:0".parse().unwrap();
        assert_eq!(
            config.with_bound_port(bound).relay_urls(),
            ["ws://127.0.0.1:40001/relay"]
        );
        assert_eq!(config.with_bound_port(None), config);
    }

    #[test]
    fn relay_urls_that_are_not_websockets_are_refused() {
        let err = Config::from_toml(
            "[relay]\nurls = [\"http://example.org/relay\"]",
            Path::new("t.toml"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("ws://"), "{err}");
    }

    #[test]
    fn an_empty_file_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.toml");
        for text in ["", "\n  \n"] {
            std::fs::write(&path, text).unwrap();
            let err = Config::load(Some(&path)).unwrap_err();
            assert!(matches!(err, ConfigError::Empty { .. }), "{err}");
            let message = err.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(message.contains("hearth.example.toml"), "{message}");
        }
        std::fs::write(&path, "# only a comment: every option at its default\n").unwrap();
        assert_eq!(Config::load(Some(&path)).unwrap(), Config::default());
    }

    #[test]
    fn odd_sizes_are_refused() {
        let err = Config::from_toml("[video]\nwidth = 641", Path::new("t.toml")).unwrap_err();
        assert!(matches!(err, ConfigError::Value { .. }));
    }
}
