//! What a screen shows, as plain data: the device loop builds a [`Screen`], the renderer
//! draws it, and tests compare the drawing with a golden image.

use crate::hardware::display::photo::Thumbnail;

/// One full screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    /// The resting screen: privacy state, who is watching, network.
    Home(Home),
    /// Pairing: the device's contact code as a QR code to scan.
    Pairing {
        /// The device's name, shown under the code.
        device_name: String,
        /// The contact code text (`hearth1.…`).
        code: String,
    },
    /// Pairing, when phones cannot open this device's link (it points at
    /// this machine): the screen says in words that a public relay, or a LAN
    /// address, is needed instead of showing a code a phone cannot use.
    PairingNeedsRelay {
        /// The device's name.
        device_name: String,
    },
    /// The relay cannot be reached: nobody can pair with or call the device
    /// until it is back.
    RelayUnreachable {
        /// Which relay: its host (and port), never more of its URL.
        relay: String,
    },
    /// A contact asks to be approved.
    Approval {
        /// Who asks.
        name: String,
    },
    /// A snapshot went out.
    SnapshotSent {
        /// Contacts that received it so far.
        delivered: u32,
        /// Contacts it was sent to.
        total: u32,
    },
    /// A thought went out (from `hearth share --text`).
    ThoughtSent {
        /// Contacts that received it so far.
        delivered: u32,
        /// Contacts it was sent to.
        total: u32,
    },
    /// A contact sent a photo or a thought.
    Received {
        /// Who sent it.
        from: String,
        /// What it is.
        content: Received,
    },
    /// A contact's camera, live on the device. While anyone receives this
    /// device's camera or microphone a LIVE band says so over it: LIVE always
    /// wins (and PRIVATE never shows a picture).
    Picture {
        /// Whose picture it is.
        from: String,
        /// The frame, scaled to the screen.
        picture: Thumbnail,
        /// The contacts receiving this device's camera or microphone now.
        watchers: Vec<String>,
    },
    /// Something is wrong and the family should know.
    Error {
        /// What is wrong and what to do, in plain words.
        message: String,
    },
}

/// The home screen's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    /// Privacy is on: camera and microphone are off for everyone.
    pub private: bool,
    /// Names of the contacts receiving the camera or microphone right now.
    pub watchers: Vec<String>,
    /// Whether contacts can reach the device.
    pub network: Network,
}

/// Whether the device is reachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// Connected to the relay: contacts can call.
    Online,
    /// Trying to reach the relay.
    Connecting,
    /// The relay cannot be reached (no network, or the relay is down):
    /// contacts cannot call.
    Offline,
}

/// Something a contact sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// A short text ("a thought").
    Text(String),
    /// A photo, already scaled down.
    Photo(Thumbnail),
}

/// What the big banner of the home screen says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HomeState {
    /// Privacy on.
    Private,
    /// Camera available, nobody watching.
    Ready,
    /// Somebody is watching or listening.
    Live,
}

impl Home {
    /// The banner state: privacy wins, then anyone watching makes it live.
    pub fn state(&self) -> HomeState {
        if self.private {
            HomeState::Private
        } else if self.watchers.is_empty() {
            HomeState::Ready
        } else {
            HomeState::Live
        }
    }

    /// The line under the banner, e.g. "Gran and Tom are watching".
    pub fn detail(&self) -> String {
        match (self.state(), self.watchers.as_slice()) {
            (HomeState::Private, _) => "Camera and microphone are off".into(),
            (HomeState::Ready, _) => "Nobody is watching".into(),
            (HomeState::Live, [one]) => format!("{one} is watching"),
            (HomeState::Live, [a, b]) => format!("{a} and {b} are watching"),
            (HomeState::Live, [a, b, rest @ ..]) => {
                format!("{a}, {b} and {} more are watching", rest.len())
            }
            (HomeState::Live, []) => unreachable!("live means someone watches"),
        }
    }
}

impl Home {
    /// A shorter [`Home::detail`] for the 128x64 screen, e.g. "Gran + 2 watching".
    pub fn short_detail(&self) -> String {
        match (self.state(), self.watchers.as_slice()) {
            (HomeState::Private, _) => "Camera and mic off".into(),
            (HomeState::Ready, _) => "Nobody watching".into(),
            (HomeState::Live, [one]) => format!("{one} watching"),
            (HomeState::Live, [first, rest @ ..]) => format!("{first} + {} watching", rest.len()),
            (HomeState::Live, []) => unreachable!("live means someone watches"),
        }
    }
}

impl Network {
    /// Short words for the status line.
    pub fn label(self) -> &'static str {
        match self {
            Network::Online => "Online",
            Network::Connecting => "Connecting...",
            Network::Offline => "Relay unreachable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home(private: bool, watchers: &[&str]) -> Home {
        Home {
            private,
            watchers: watchers.iter().map(|s| s.to_string()).collect(),
            network: Network::Online,
        }
    }

    #[test]
    fn privacy_wins_over_watchers() {
        assert_eq!(home(true, &["Gran"]).state(), HomeState::Private);
        assert_eq!(home(false, &[]).state(), HomeState::Ready);
        assert_eq!(home(false, &["Gran"]).state(), HomeState::Live);
    }

    #[test]
    fn watchers_read_naturally() {
        assert_eq!(home(false, &["Gran"]).detail(), "Gran is watching");
        assert_eq!(
            home(false, &["Gran", "Tom"]).detail(),
            "Gran and Tom are watching"
        );
        assert_eq!(
            home(false, &["Gran", "Tom", "Ann", "Bo"]).detail(),
            "Gran, Tom and 2 more are watching"
        );
        assert_eq!(
            home(false, &["Gran", "Tom", "Ann"]).short_detail(),
            "Gran + 2 watching"
        );
    }
}
