//! Who has each of this device's recent shares. Every share the device
//! makes — by the SNAPSHOT button, `hearth share` or the control socket — is
//! announced as [`Outgoing::Queued`], then each contact's acknowledgement or
//! refusal follows, in order, on one channel. The screen counts from it
//! ("Delivered to n of m"), and `hearth share` waits on it for a truthful
//! report. The tallies are plain state, tested without a network.

use crate::keys::PeerKey;
use crate::share::ShareKind;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// How many recent shares' tallies are kept (for `hearth share` to ask about).
const KEPT: usize = 32;

/// What happened to one of this device's shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// A share was queued for its audience (keys and names).
    Queued {
        /// The share's id.
        id: String,
        /// Snapshot, photo or thought.
        kind: ShareKind,
        /// Who it is for.
        audience: Vec<(PeerKey, String)>,
    },
    /// A contact acknowledged it: it is delivered.
    Delivered {
        /// The share's id.
        id: String,
        /// Who has it now.
        to: PeerKey,
    },
    /// A contact will not get it: it refused it, or lost `snapshots`.
    Refused {
        /// The share's id.
        id: String,
        /// Who will not get it.
        to: PeerKey,
        /// Why, in words.
        reason: String,
    },
}

/// Who has one share so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    id: String,
    kind: ShareKind,
    audience: Vec<(PeerKey, String)>,
    delivered: BTreeSet<PeerKey>,
    refused: BTreeMap<PeerKey, String>,
}

impl Tally {
    /// A share just queued for `audience`: nobody has it yet.
    pub fn new(id: String, kind: ShareKind, audience: Vec<(PeerKey, String)>) -> Self {
        Tally {
            id,
            kind,
            audience,
            delivered: BTreeSet::new(),
            refused: BTreeMap::new(),
        }
    }

    /// The share's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Snapshot, photo or thought.
    pub fn kind(&self) -> ShareKind {
        self.kind
    }

    /// Takes in what happened; returns whether this tally changed. A
    /// contact counts once, and only if it is in the audience.
    pub fn apply(&mut self, event: &Outgoing) -> bool {
        match event {
            Outgoing::Delivered { id, to } if *id == self.id && self.has(to) => {
                self.refused.remove(to);
                self.delivered.insert(*to)
            }
            Outgoing::Refused { id, to, reason } if *id == self.id && self.has(to) => {
                !self.delivered.contains(to) && self.refused.insert(*to, reason.clone()).is_none()
            }
            _ => false,
        }
    }

    fn has(&self, key: &PeerKey) -> bool {
        self.audience.iter().any(|(k, _)| k == key)
    }

    /// Contacts that have it.
    pub fn delivered(&self) -> u32 {
        self.delivered.len() as u32
    }

    /// Contacts it is for.
    pub fn total(&self) -> u32 {
        self.audience.len() as u32
    }

    /// Whether every contact has it or will never get it.
    pub fn settled(&self) -> bool {
        self.delivered.len() + self.refused.len() >= self.audience.len()
    }

    /// The report for the owner; `online` says which waiting contacts have
    /// a session now (their copy is on its way).
    pub fn report(&self, online: impl Fn(&PeerKey) -> bool) -> DeliveryReport {
        let mut report = DeliveryReport {
            id: self.id.clone(),
            total: self.total(),
            ..DeliveryReport::default()
        };
        for (key, name) in &self.audience {
            if self.delivered.contains(key) {
                report.delivered.push(name.clone());
            } else if let Some(reason) = self.refused.get(key) {
                report.refused.push((name.clone(), reason.clone()));
            } else if online(key) {
                report.sending.push(name.clone());
            } else {
                report.offline.push(name.clone());
            }
        }
        report
    }
}

/// Where one share stands, for `hearth share`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryReport {
    /// The share's id.
    pub id: String,
    /// Contacts it is for.
    pub total: u32,
    /// Contacts that have it.
    pub delivered: Vec<String>,
    /// Contacts online now whose copy is still on its way.
    #[serde(default)]
    pub sending: Vec<String>,
    /// Contacts that are offline: they get it when they next connect.
    #[serde(default)]
    pub offline: Vec<String>,
    /// Contacts that will not get it, and why.
    #[serde(default)]
    pub refused: Vec<(String, String)>,
}

impl DeliveryReport {
    /// The report in one line for the owner, e.g. "delivered to 2 of 3 (Tom,
    /// Ann); Gran gets it when they next connect". It never says delivered
    /// (or sent) for a share nobody has yet.
    pub fn summary(&self) -> String {
        let mut parts = vec![match (self.delivered.len() as u32, self.total) {
            (0, t) if self.sending.is_empty() && self.offline.is_empty() => {
                format!("not delivered: 0 of {t}")
            }
            (0, t) => format!("waiting: 0 of {t} delivered"),
            (d, t) if d >= t => format!("delivered to all {t} ({})", names(&self.delivered)),
            (d, t) => format!("delivered to {d} of {t} ({})", names(&self.delivered)),
        }];
        if !self.sending.is_empty() {
            parts.push(format!(
                "still on its way to {} (online now)",
                names(&self.sending)
            ));
        }
        match self.offline.len() {
            0 => {}
            1 => parts.push(format!(
                "{} gets it when they next connect",
                self.offline[0]
            )),
            _ => parts.push(format!(
                "{} get it when they next connect",
                names(&self.offline)
            )),
        }
        for (name, reason) in &self.refused {
            parts.push(format!("{name} will not get it ({reason})"));
        }
        parts.join("; ")
    }
}

/// "A", "A and B", "A, B and C".
fn names(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The tallies of the device's most recent shares.
#[derive(Debug, Default)]
pub struct Deliveries {
    recent: VecDeque<Tally>,
}

impl Deliveries {
    /// Takes in what happened to a share.
    pub fn apply(&mut self, event: &Outgoing) {
        match event {
            Outgoing::Queued { id, kind, audience } => {
                if self.recent.len() == KEPT {
                    self.recent.pop_front();
                }
                self.recent
                    .push_back(Tally::new(id.clone(), *kind, audience.clone()));
            }
            other => {
                for tally in &mut self.recent {
                    tally.apply(other);
                }
            }
        }
    }

    /// The tally of share `id`, if it is recent.
    pub fn get(&self, id: &str) -> Option<&Tally> {
        self.recent.iter().find(|t| t.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;

    fn keys() -> [PeerKey; 3] {
        std::array::from_fn(|_| Identity::generate().peer_key())
    }

    #[test]
    fn a_tally_counts_each_contact_once_and_says_who_waits() {
        let [gran, tom, ann] = keys();
        let audience = vec![
            (gran, "Gran".to_string()),
            (tom, "Tom".to_string()),
            (ann, "Ann".to_string()),
        ];
        let mut tally = Tally::new("a".into(), ShareKind::Snapshot, audience);
        let delivered = |to| Outgoing::Delivered { id: "a".into(), to };
        assert!(tally.apply(&delivered(tom)));
        assert!(!tally.apply(&delivered(tom)), "a repeat counts once");
        assert!(!tally.apply(&Outgoing::Delivered {
            id: "b".into(),
            to: gran
        }));
        let stranger = Identity::generate().peer_key();
        assert!(!tally.apply(&delivered(stranger)), "not in the audience");
        assert_eq!((tally.delivered(), tally.total()), (1, 3));
        assert!(!tally.settled());
        let refused = Outgoing::Refused {
            id: "a".into(),
            to: ann,
            reason: "no room".into(),
        };
        assert!(tally.apply(&refused));
        let report = tally.report(|k| *k == gran);
        assert_eq!(report.delivered, vec!["Tom"]);
        assert_eq!(report.sending, vec!["Gran"]);
        assert!(report.offline.is_empty());
        assert_eq!(report.refused, vec![("Ann".into(), "no room".into())]);
        assert_eq!(tally.report(|_| false).offline, vec!["Gran"]);
        assert!(tally.apply(&delivered(gran)));
        assert!(tally.settled());
    }

    #[test]
    fn the_summary_tells_the_truth() {
        let report = |delivered: &[&str], sending: &[&str], offline: &[&str], total| {
            let v = |n: &[&str]| n.iter().map(|s| s.to_string()).collect();
            DeliveryReport {
                id: "a".into(),
                total,
                delivered: v(delivered),
                sending: v(sending),
                offline: v(offline),
                refused: vec![],
            }
            .summary()
        };
        assert_eq!(
            report(&["Tom", "Ann"], &[], &["Gran"], 3),
            "delivered to 2 of 3 (Tom and Ann); Gran gets it when they next connect"
        );
        assert_eq!(
            report(&[], &[], &["Gran"], 1),
            "waiting: 0 of 1 delivered; Gran gets it when they next connect"
        );
        assert_eq!(
            report(&["A", "B", "C"], &[], &[], 3),
            "delivered to all 3 (A, B and C)"
        );
        assert_eq!(
            report(&[], &["Tom"], &["Gran", "Ann"], 3),
            "waiting: 0 of 3 delivered; still on its way to Tom (online now); Gran and Ann get it when they next connect"
        );
        let mut refused = DeliveryReport {
            id: "a".into(),
            total: 1,
            ..DeliveryReport::default()
        };
        refused.refused.push(("Tom".into(), "no room".into()));
        assert_eq!(
            refused.summary(),
            "not delivered: 0 of 1; Tom will not get it (no room)"
        );
    }

    #[test]
    fn only_recent_shares_are_kept() {
        let [gran, ..] = keys();
        let mut deliveries = Deliveries::default();
        for i in 0..KEPT + 1 {
            deliveries.apply(&Outgoing::Queued {
                id: i.to_string(),
                kind: ShareKind::Thought,
                audience: vec![(gran, "Gran".into())],
            });
        }
        assert!(deliveries.get("0").is_none(), "the oldest went");
        deliveries.apply(&Outgoing::Delivered {
            id: KEPT.to_string(),
            to: gran,
        });
        assert!(deliveries.get(&KEPT.to_string()).unwrap().settled());
    }
}
