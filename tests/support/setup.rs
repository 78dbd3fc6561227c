//! The set-ups shared by the integration tests and the `hearth-bench` binary: a
//! device config without an embedded relay, viewer nodes, approved contacts and
//! WHEP token contacts.
//!
//! The tests reach it as `support::setup` (and through [`super::harness`], which
//! wraps these in panicking forms); `src/bin/hearth-bench/main.rs` includes this
//! same file with `#[path]`. So it uses only the crate's normal dependencies (no
//! `tempfile`, no criterion) and nothing else from `tests/support`.

use hearth::config::Config;
use hearth::contacts::{Contact, ContactStatus, ContactsError, Permission};
use hearth::device::Device;
use hearth::identity::{ContactCode, Identity};
use hearth::live_contacts::LiveContacts;
use hearth::node::{Node, NodeOptions};
use hearth::whep::token;
use std::path::Path;
use std::sync::Arc;

/// The WebSocket URL of a relay listening on `addr` (e.g. `127.0.0.1:7800`).
pub fn relay_url(addr: impl std::fmt::Display) -> String {
    format!("ws://{addr}/relay")
}

/// A device config named "Kitchen" that uses the relays at `relay_urls`, runs
/// no relay of its own, and serves HTTP on a free loopback port; otherwise the
/// defaults.
pub fn base_device_config(relay_urls: &[String]) -> Config {
    let mut config = Config {
        name: "Kitchen".into(),
        ..Config::default()
    };
    config.relay.urls = relay_urls.to_vec();
    config.relay.embedded = false;
    config.http.listen = "127.0.0.1:0".parse().expect("a socket address");
    config
}

/// Starts a signalling node called `name` with its identity and contacts on
/// `dir`, using the relay at `relay_url`.
pub fn start_node(dir: &Path, relay_url: &str, name: &str) -> anyhow::Result<Node> {
    start_node_on(dir, &[relay_url.to_string()], name)
}

/// [`start_node`] with several relay URLs (the nodes of a relay cluster),
/// tried in turn.
pub fn start_node_on(dir: &Path, relay_urls: &[String], name: &str) -> anyhow::Result<Node> {
    let identity = Arc::new(Identity::load_or_create(dir)?);
    let contacts = LiveContacts::load(dir)?;
    Ok(Node::start(
        identity,
        contacts,
        NodeOptions {
            name: name.into(),
            relays: relay_urls.to_vec(),
        },
    ))
}

/// Makes `code` an approved contact of `node` with `grants` on: one side of
/// [`befriend`], for a contact whose node is elsewhere, off or does not exist.
pub async fn approve_contact(
    node: &Node,
    code: &ContactCode,
    grants: &[Permission],
) -> anyhow::Result<()> {
    let (code, grants) = (code.clone(), grants.to_vec());
    node.contacts()
        .update(move |book| {
            book.upsert(&code, ContactStatus::Approved);
            let entry = book.find_mut(&code.peer_key.to_string())?;
            for p in grants {
                entry.permissions.set(p, true);
            }
            Ok::<_, ContactsError>(())
        })
        .await??;
    Ok(())
}

/// Makes `a` and `b` approved contacts of each other; `a` grants `b` the
/// permissions.
pub async fn befriend(a: &Node, b: &Node, grants: &[Permission]) -> anyhow::Result<()> {
    approve_contact(a, &b.contact_code(), grants).await?;
    approve_contact(b, &a.contact_code(), &[]).await
}

/// Adds a token contact (a WHEP player) called `name`, allowed `allow`, to the
/// running device; returns its bearer token.
pub async fn add_token(
    device: &Device,
    name: &str,
    allow: &[Permission],
) -> anyhow::Result<String> {
    let secret = token::generate();
    let mut contact = Contact::token(name, token::hash(&secret));
    for p in allow {
        contact.permissions.set(*p, true);
    }
    device
        .node
        .contacts()
        .update(move |book| book.add(contact).map(|_| ()))
        .await??;
    Ok(secret)
}
