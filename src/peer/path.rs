//! Which network path a connection took: the ICE candidate pair it selected,
//! read from the connection's own statistics, and what that means in words.
//!
//! A pair has a local and a remote candidate, each `host` (an interface's own
//! address), `srflx` (the address a router shows the STUN server), `prflx`
//! (an address learned from the checks themselves: a router's mapping the
//! other side never signalled) or `relay` (an address on a TURN server). The
//! path is [`PathKind::Relay`] when either end is a relay, else
//! [`PathKind::Srflx`] when either end is reflexive (media crosses a NAT
//! directly), else [`PathKind::Host`] — the same reading as a browser's
//! `candidate-pair` in `getStats`.

use rtc::peer_connection::transport::RTCIceCandidatePair;
use serde::Serialize;
use webrtc::peer_connection::{RTCIceCandidateType, RTCStatsReport, RTCStatsReportEntry};

/// The type of one ICE candidate, as `getStats` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CandidateKind {
    /// An interface's own address.
    Host,
    /// The address a router shows a STUN server (server-reflexive).
    Srflx,
    /// An address learned from connectivity checks (peer-reflexive).
    Prflx,
    /// An address on a TURN server.
    Relay,
}

impl CandidateKind {
    /// The name `getStats` and SDP use.
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateKind::Host => "host",
            CandidateKind::Srflx => "srflx",
            CandidateKind::Prflx => "prflx",
            CandidateKind::Relay => "relay",
        }
    }

    fn from_stats(kind: RTCIceCandidateType) -> Option<CandidateKind> {
        match kind {
            RTCIceCandidateType::Host => Some(CandidateKind::Host),
            RTCIceCandidateType::Srflx => Some(CandidateKind::Srflx),
            RTCIceCandidateType::Prflx => Some(CandidateKind::Prflx),
            RTCIceCandidateType::Relay => Some(CandidateKind::Relay),
            _ => None,
        }
    }
}

/// How media travels, from the selected candidate pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PathKind {
    /// Both ends on addresses of their own interfaces: one network.
    Host,
    /// Directly between the two sides, through their routers (NAT).
    Srflx,
    /// Through a TURN relay.
    Relay,
}

impl PathKind {
    /// The machine-readable name: `host`, `srflx` or `relay`.
    pub fn as_str(self) -> &'static str {
        match self {
            PathKind::Host => "host",
            PathKind::Srflx => "srflx",
            PathKind::Relay => "relay",
        }
    }

    /// The path in words, for people.
    pub fn words(self) -> &'static str {
        match self {
            PathKind::Host => "direct, on the same network",
            PathKind::Srflx => "direct, through the routers",
            PathKind::Relay => "through a TURN relay",
        }
    }
}

impl std::fmt::Display for PathKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The selected candidate pair of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SelectedPath {
    /// This side's candidate.
    pub local: CandidateKind,
    /// The other side's candidate.
    pub remote: CandidateKind,
}

impl SelectedPath {
    /// What the pair means for the media: relay if either end is a relay,
    /// else srflx if either end is reflexive, else host.
    pub fn kind(&self) -> PathKind {
        let ends = [self.local, self.remote];
        if ends.contains(&CandidateKind::Relay) {
            PathKind::Relay
        } else if ends.contains(&CandidateKind::Srflx) || ends.contains(&CandidateKind::Prflx) {
            PathKind::Srflx
        } else {
            PathKind::Host
        }
    }

    /// The path of a candidate pair the ICE transport selected.
    pub fn from_pair(pair: &RTCIceCandidatePair) -> Option<SelectedPath> {
        Some(SelectedPath {
            local: CandidateKind::from_stats(pair.local().typ)?,
            remote: CandidateKind::from_stats(pair.remote().typ)?,
        })
    }

    /// The selected pair in a statistics report, if ICE has selected one.
    ///
    /// The report names a pair's candidates by their ICE ids, and lists them
    /// as `RTCLocalIceCandidate_<id>` / `RTCRemoteIceCandidate_<id>`; both
    /// spellings are looked up. A remote candidate that was never signalled is
    /// peer-reflexive by definition.
    pub fn from_report(report: &RTCStatsReport) -> Option<SelectedPath> {
        let pair_id = report.iter().find_map(|entry| match entry {
            RTCStatsReportEntry::Transport(t) if !t.selected_candidate_pair_id.is_empty() => {
                Some(t.selected_candidate_pair_id.clone())
            }
            _ => None,
        })?;
        let RTCStatsReportEntry::IceCandidatePair(pair) = report.get(&pair_id)? else {
            return None;
        };
        let kind_of = |id: &str, prefix: &str| {
            let entry = report
                .get(id)
                .or_else(|| report.get(&format!("{prefix}{id}")))?;
            match entry {
                RTCStatsReportEntry::LocalCandidate(c)
                | RTCStatsReportEntry::RemoteCandidate(c) => {
                    CandidateKind::from_stats(c.candidate_type)
                }
                _ => None,
            }
        };
        let local = kind_of(&pair.local_candidate_id, "RTCLocalIceCandidate_")?;
        let remote = kind_of(&pair.remote_candidate_id, "RTCRemoteIceCandidate_")
            .unwrap_or(CandidateKind::Prflx);
        Some(SelectedPath { local, remote })
    }
}

#[cfg(test)]
mod tests {
    use super::CandidateKind::*;
    use super::*;

    #[test]
    fn a_relay_at_either_end_makes_a_relayed_path() {
        let cases = [
            (Host, Host, PathKind::Host),
            (Host, Srflx, PathKind::Srflx),
            (Srflx, Host, PathKind::Srflx),
            (Host, Prflx, PathKind::Srflx),
            (Srflx, Srflx, PathKind::Srflx),
            (Srflx, Relay, PathKind::Relay),
            (Relay, Host, PathKind::Relay),
            (Relay, Relay, PathKind::Relay),
        ];
        for (local, remote, kind) in cases {
            assert_eq!(
                SelectedPath { local, remote }.kind(),
                kind,
                "{local:?} / {remote:?}"
            );
        }
    }

    #[test]
    fn names_match_get_stats() {
        assert_eq!(PathKind::Relay.as_str(), "relay");
        assert_eq!(CandidateKind::Srflx.as_str(), "srflx");
        assert_eq!(
            serde_json::to_string(&SelectedPath {
                local: Host,
                remote: Relay
            })
            .unwrap(),
            r#"{"local":"host","remote":"relay"}"#
        );
    }
}
