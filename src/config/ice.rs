//! `[webrtc] ice_servers` entries: a bare STUN URL, or a table with the
//! URLs, username and credential of a TURN server. They turn into the one
//! [`IceServer`] shape every connection uses, and bad ones are refused with
//! the entry named.

use std::fmt;

use serde::Deserialize;

use crate::peer::IceServer;

/// One entry of `[webrtc] ice_servers`.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum IceServerEntry {
    /// `"stun:stun.example.org:3478"`.
    Url(String),
    /// `{ urls = ["turn:turn.example.org:3478"], username = "u", credential = "p" }`.
    Server(IceServerTable),
}

/// The table form of an entry, in the browser's `RTCIceServer` shape.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceServerTable {
    /// One URL or several.
    pub urls: OneOrMany,
    /// TURN username.
    #[serde(default)]
    pub username: String,
    /// TURN password (never logged).
    #[serde(default)]
    pub credential: String,
}

/// `urls = "turn:…"` or `urls = ["turn:…", "turns:…"]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single URL.
    One(String),
    /// Several URLs.
    Many(Vec<String>),
}

impl IceServerEntry {
    /// The server as connections use it.
    pub fn to_server(&self) -> IceServer {
        match self {
            Self::Url(url) => IceServer {
                urls: vec![url.clone()],
                ..IceServer::default()
            },
            Self::Server(t) => IceServer {
                urls: match &t.urls {
                    OneOrMany::One(url) => vec![url.clone()],
                    OneOrMany::Many(urls) => urls.clone(),
                },
                username: t.username.clone(),
                credential: t.credential.clone(),
            },
        }
    }

    /// Why this entry cannot work, if it cannot: an unknown scheme, or a
    /// TURN URL without a username and credential.
    pub fn problem(&self) -> Option<String> {
        let server = self.to_server();
        if server.urls.is_empty() {
            return Some("an entry has no URL".into());
        }
        for url in &server.urls {
            let turn = url.starts_with("turn:") || url.starts_with("turns:");
            let stun = url.starts_with("stun:") || url.starts_with("stuns:");
            if !turn && !stun {
                return Some(format!(
                    "`{url}` is not a stun:, stuns:, turn: or turns: URL"
                ));
            }
            if turn && (server.username.is_empty() || server.credential.is_empty()) {
                return Some(format!(
                    "`{url}` is a TURN server: write it as {{ urls = [\"{url}\"], username = \"…\", credential = \"…\" }}"
                ));
            }
        }
        None
    }
}

impl fmt::Debug for IceServerEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_server(), f)
    }
}

impl fmt::Debug for IceServerTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&IceServerEntry::Server(self.clone()).to_server(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Holder {
        ice_servers: Vec<IceServerEntry>,
    }

    fn parse(text: &str) -> Result<Vec<IceServerEntry>, toml::de::Error> {
        toml::from_str::<Holder>(text).map(|h| h.ice_servers)
    }

    #[test]
    fn bare_urls_and_turn_tables_mix() {
        let entries = parse(
            r#"ice_servers = ["stun:stun.example.org:3478",
                { urls = "turn:turn.example.org:3478", username = "u", credential = "p" },
                { urls = ["turn:a:3478", "turns:a:5349"], username = "u2", credential = "p2" }]"#,
        )
        .unwrap();
        let servers: Vec<IceServer> = entries.iter().map(IceServerEntry::to_server).collect();
        assert_eq!(servers[0].urls, ["stun:stun.example.org:3478"]);
        assert!(servers[0].username.is_empty());
        assert_eq!(servers[1].urls, ["turn:turn.example.org:3478"]);
        assert_eq!((&*servers[1].username, &*servers[1].credential), ("u", "p"));
        assert_eq!(servers[2].urls.len(), 2);
        assert!(entries.iter().all(|e| e.problem().is_none()));
        assert!(!format!("{entries:?}").contains("\"p2\""));
    }

    #[test]
    fn unusable_entries_are_named() {
        let bare_turn = parse(r#"ice_servers = ["turn:turn.example.org:3478"]"#).unwrap();
        let why = bare_turn[0].problem().unwrap();
        assert!(why.contains("username"), "{why}");
        let http = parse(r#"ice_servers = ["http://example.org"]"#).unwrap();
        assert!(http[0].problem().unwrap().contains("not a stun:"));
        assert!(parse(r#"ice_servers = [{ urls = "turn:a", user = "u" }]"#).is_err());
    }
}
