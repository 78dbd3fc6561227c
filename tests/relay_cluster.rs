//! A relay cluster on loopback behaves as one relay: three `nats-server`s
//! joined by routes, three `hearth relay --nats` nodes in their own
//! processes. Offline and online answers are exact across nodes, a key that
//! connects to a second node takes over, a device on a node that dies
//! (`kill -9`) moves to another node and its viewer's session goes on, and
//! forwarding survives a NATS server dying.

mod support;

use std::time::Duration;

use anyhow::Result;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hearth::contacts::Permission;
use serde_json::Value;
use support::cluster::{NatsCluster, RelayNode};
use support::harness::*;
use support::raw_relay::{authed, pubkey, recv, send, send_frame, signer, Ws};
use tokio::time::timeout;

/// Generous: these tests share two cores with everything else.
const LONG: Duration = Duration::from_secs(30);

/// Three NATS servers and three relay nodes, node `i` on NATS server `i`
/// first (and the others after it, to move to if it dies).
async fn cluster() -> (NatsCluster, Vec<RelayNode>) {
    let nats = NatsCluster::start(3).await;
    let urls = nats.urls();
    let mut nodes = Vec::new();
    for i in 0..3 {
        let mine: Vec<String> = (0..3).map(|j| urls[(i + j) % 3].clone()).collect();
        nodes.push(RelayNode::start(&mine).await);
    }
    (nats, nodes)
}

/// Sends `data` to `to` with request `id` and returns the relay's answer,
/// skipping envelopes delivered meanwhile.
async fn ask(ws: &mut Ws, id: u64, to: &ed25519_dalek::SigningKey, data: &[u8]) -> Result<Value> {
    send(ws, send_frame(id, to, data)).await?;
    loop {
        let frame = recv(ws).await?.expect("the relay keeps the connection");
        if frame["id"] == id {
            return Ok(frame);
        }
    }
}

/// The next `deliver` frame on `ws`: (sender, data).
async fn delivered(ws: &mut Ws) -> (String, Vec<u8>) {
    let frame = recv(ws).await.unwrap().expect("a deliver frame");
    assert_eq!(frame["t"], "deliver", "{frame}");
    let data = URL_SAFE_NO_PAD
        .decode(frame["data"].as_str().unwrap())
        .unwrap();
    (frame["from"].as_str().unwrap().to_string(), data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_and_online_are_exact_across_nodes_and_a_second_node_takes_over() {
    init_logs();
    let (_nats, nodes) = cluster().await;
    let (alice, bob, carol) = (signer(1), signer(2), signer(3));
    let mut a = authed(nodes[0].addr, &alice).await.unwrap();
    assert_eq!(
        ask(&mut a, 1, &bob, b"early").await.unwrap()["t"],
        "offline",
        "nobody holds bob yet"
    );
    let mut b = authed(nodes[2].addr, &bob).await.unwrap();
    // `ready` came after NATS had bob's subscription: the very next send finds him.
    assert_eq!(ask(&mut a, 2, &bob, b"hello").await.unwrap()["t"], "sent");
    assert_eq!(delivered(&mut b).await, (pubkey(&alice), b"hello".to_vec()));
    assert_eq!(ask(&mut b, 1, &alice, b"back").await.unwrap()["t"], "sent");
    assert_eq!(delivered(&mut a).await, (pubkey(&bob), b"back".to_vec()));
    assert_eq!(ask(&mut a, 3, &carol, b"x").await.unwrap()["t"], "offline");

    // Alice connects again, on node 2: node 1 tells the old connection and closes it.
    let mut a2 = authed(nodes[1].addr, &alice).await.unwrap();
    let told = recv(&mut a).await.unwrap().expect("told before closing");
    assert_eq!(told["code"], "replaced", "{told}");
    assert_eq!(
        recv(&mut a).await.unwrap(),
        None,
        "the old connection is closed"
    );
    assert_eq!(ask(&mut b, 2, &alice, b"moved").await.unwrap()["t"], "sent");
    assert_eq!(delivered(&mut a2).await, (pubkey(&bob), b"moved".to_vec()));

    // Bob leaves: once node 3 has let go of his key, he is offline everywhere.
    drop(b);
    let deadline = tokio::time::Instant::now() + LONG;
    let mut id = 10;
    loop {
        id += 1;
        let answer = ask(&mut a2, id, &bob, b"gone?").await.unwrap();
        if answer["t"] == "offline" {
            break;
        }
        assert_eq!(answer["t"], "sent", "{answer}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "bob never went offline"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_on_node_1_streams_to_a_viewer_on_node_3() {
    init_logs();
    let (_nats, nodes) = cluster().await;
    let home = Household::start_across(
        &[nodes[0].url()],
        &[nodes[2].url()],
        "Gran",
        Some(&[Permission::LiveVideo]),
    )
    .await;
    let call = home.call();
    let mut stream = timeout(LONG, call.fetch_stream())
        .await
        .expect("the call is set up through two nodes")
        .unwrap();
    for _ in 0..10 {
        timeout(LONG, stream.next_video_frame())
            .await
            .unwrap()
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_devices_node_moves_it_and_the_viewers_session_goes_on() {
    init_logs();
    let (_nats, mut nodes) = cluster().await;
    let home = Household::start_across(
        &[nodes[0].url(), nodes[1].url()],
        &[nodes[2].url(), nodes[1].url()],
        "Gran",
        Some(&[Permission::LiveVideo]),
    )
    .await;
    let first = home.call();
    let mut first_stream = timeout(LONG, first.fetch_stream()).await.unwrap().unwrap();
    timeout(LONG, first_stream.next_video_frame())
        .await
        .unwrap()
        .unwrap();

    let mut status = home.device.node.relay_changes();
    status.borrow_and_update();
    nodes[0].kill();
    let killed = tokio::time::Instant::now();
    // The promise: on another node within 5 s, nothing restarted.
    let moved = timeout(Duration::from_secs(5), async {
        status.changed().await.unwrap();
        status
            .wait_for(|s| *s == hearth::node::RelayStatus::Connected)
            .await
            .unwrap();
    })
    .await;
    assert!(
        moved.is_ok(),
        "the device was not on another relay node 5 s after node 1 died"
    );
    tracing::info!(after = ?killed.elapsed(), "device on another node");
    assert!(!nodes[0].is_running());

    // The running session never needed the relay; it goes on.
    for _ in 0..10 {
        timeout(LONG, first_stream.next_video_frame())
            .await
            .expect("media keeps flowing after the node died")
            .unwrap();
    }
    // And calls set up again through the nodes that are left.
    let second = home.call();
    let mut second_stream = timeout(LONG, second.fetch_stream())
        .await
        .expect("a new call through the surviving nodes")
        .unwrap();
    timeout(LONG, second_stream.next_video_frame())
        .await
        .unwrap()
        .unwrap();
    assert!(!first.is_closed(), "the first session survived");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_nats_server_and_forwarding_goes_on() {
    init_logs();
    let (mut nats, nodes) = cluster().await;
    let (alice, bob) = (signer(1), signer(2));
    let mut a = authed(nodes[0].addr, &alice).await.unwrap();
    let mut b = authed(nodes[2].addr, &bob).await.unwrap();
    assert_eq!(ask(&mut a, 1, &bob, b"before").await.unwrap()["t"], "sent");
    delivered(&mut b).await;

    // Kill the server that node 1 (alice's) is connected to.
    let mut victim = None;
    for (i, server) in nats.servers.iter().enumerate() {
        if server.has_client_from(nodes[0].pid()).await {
            victim = Some(i);
        }
    }
    let victim = victim.expect("node 1 is connected to one of the NATS servers");
    nats.servers[victim].kill();

    // While node 1 moves to another server its sends may fail; then they work again.
    let deadline = tokio::time::Instant::now() + LONG;
    let mut id = 1;
    loop {
        id += 1;
        let answer = ask(&mut a, id, &bob, b"during").await.unwrap();
        if answer["t"] == "sent" {
            delivered(&mut b).await;
            break;
        }
        let code = answer["code"].as_str().unwrap_or("");
        assert!(
            answer["t"] == "offline" || code == "relay_unavailable",
            "{answer}"
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "forwarding never came back after a NATS server died"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for n in 0..20u8 {
        id += 1;
        assert_eq!(ask(&mut a, id, &bob, &[n]).await.unwrap()["t"], "sent");
        assert_eq!(delivered(&mut b).await, (pubkey(&alice), vec![n]));
    }
}

/// Everything a NATS subscriber to `>` saw: subject, reply subject, headers, body.
type Sniffed = std::sync::Arc<std::sync::Mutex<Vec<(String, String, String, Vec<u8>)>>>;

/// Subscribes to everything on `url` and keeps what passes by.
async fn sniff(url: &str) -> Sniffed {
    use futures_util::StreamExt;
    let client = async_nats::connect(url).await.unwrap();
    let mut all = client.subscribe(">").await.unwrap();
    let seen = Sniffed::default();
    let keep = seen.clone();
    let marker = client.clone();
    tokio::spawn(async move {
        let _client = client;
        while let Some(m) = all.next().await {
            let headers = format!("{:?}", m.headers);
            let reply = m.reply.map(|r| r.to_string()).unwrap_or_default();
            let entry = (m.subject.to_string(), reply, headers, m.payload.to_vec());
            keep.lock().unwrap().push(entry);
        }
    });
    // Our own message coming back proves the subscription is in place.
    marker.publish("sniffer.ready", "".into()).await.unwrap();
    wait_until("the sniffer subscribed", LONG, || {
        seen.lock().unwrap().iter().any(|m| m.0 == "sniffer.ready")
    })
    .await;
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_carries_only_sealed_bytes_and_no_node_writes_to_disk() {
    init_logs();
    let (_nats, nodes) = cluster().await;
    let sniffed = sniff(&_nats.urls()[1]).await;
    let home = Household::start_across(
        &[nodes[0].url()],
        &[nodes[2].url()],
        "Gran",
        Some(&[Permission::LiveVideo]),
    )
    .await;
    let call = home.call();
    let mut stream = timeout(LONG, call.fetch_stream()).await.unwrap().unwrap();
    timeout(LONG, stream.next_video_frame())
        .await
        .unwrap()
        .unwrap();
    call.close().await;

    let seen = sniffed.lock().unwrap().clone();
    let envelopes = seen
        .iter()
        .filter(|(subject, reply, _, _)| subject.starts_with("hearth.key.") && !reply.is_empty())
        .count();
    assert!(
        envelopes >= 2,
        "the call's signalling crossed NATS (offer and answer at least), saw {envelopes}"
    );
    let (device, viewer) = (home.device.node.contact_code(), home.viewer.contact_code());
    let mut secrets: Vec<(String, Vec<u8>)> = vec![
        ("SDP".into(), b"v=0\r\no=".to_vec()),
        ("SDP".into(), b"a=fingerprint".to_vec()),
        ("SDP".into(), b"a=ice-ufrag".to_vec()),
        ("ICE candidate".into(), b"candidate:".to_vec()),
        ("ICE candidate".into(), b"typ host".to_vec()),
        ("device name".into(), device.name.as_bytes().to_vec()),
        ("viewer name".into(), viewer.name.as_bytes().to_vec()),
    ];
    for (who, key) in [
        ("device key", device.peer_key.0),
        ("viewer key", viewer.peer_key.0),
        ("device seal key", device.seal_key.0),
        ("viewer seal key", viewer.seal_key.0),
    ] {
        secrets.push((who.into(), key.to_vec()));
        secrets.push((who.into(), URL_SAFE_NO_PAD.encode(key).into_bytes()));
        secrets.push((
            who.into(),
            base64::engine::general_purpose::STANDARD
                .encode(key)
                .into_bytes(),
        ));
        secrets.push((who.into(), hex::encode(key).into_bytes()));
    }
    for (subject, reply, headers, body) in &seen {
        let text = [
            subject.as_bytes(),
            reply.as_bytes(),
            headers.as_bytes(),
            body,
        ]
        .concat();
        for (what, secret) in &secrets {
            assert!(
                !text.windows(secret.len()).any(|w| w == secret.as_slice()),
                "NATS carried the {what} in the clear on {subject}"
            );
        }
    }

    for node in &nodes {
        assert_eq!(node.storage_writes(), Some(0), "{}", node.logs());
        assert_eq!(node.open_files(), Vec::<String>::new());
        let left: Vec<_> = std::fs::read_dir(node.sandbox()).unwrap().collect();
        assert!(left.is_empty(), "a relay node left files: {left:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_holds_where_the_sender_is_and_address_caps_per_node() {
    init_logs();
    let nats = NatsCluster::start(1).await;
    let limits = "messages_per_second = 1\nburst = 3\nmax_connections_per_ip = 1\n";
    let n1 = RelayNode::start_with(&nats.urls(), Some(limits)).await;
    let n2 = RelayNode::start_with(&nats.urls(), Some(limits)).await;
    let (alice, bob) = (signer(1), signer(2));
    let mut a = authed(n1.addr, &alice).await.unwrap(); // auth takes one token
                                                        // One connection per address is the cap of each node, not of the cluster.
    let mut b = authed(n2.addr, &bob).await.unwrap();
    let refused = authed(n1.addr, &signer(3)).await.unwrap_err().to_string();
    assert!(refused.contains("too_many_connections"), "{refused}");

    assert_eq!(ask(&mut a, 1, &bob, b"1").await.unwrap()["t"], "sent");
    assert_eq!(ask(&mut a, 2, &bob, b"2").await.unwrap()["t"], "sent");
    let limited = ask(&mut a, 3, &bob, b"3").await.unwrap();
    assert_eq!(limited["code"], "rate_limited", "{limited}");
    assert_eq!(delivered(&mut b).await.1, b"1");
    assert_eq!(delivered(&mut b).await.1, b"2");
}

#[test]
fn a_node_that_cannot_reach_nats_says_so_without_the_password_and_exits() {
    let sandbox = tempfile::tempdir().unwrap();
    let port = support::cluster::free_port();
    let run = |nats: &str| {
        let out = std::process::Command::new(support::cli::BIN)
            .args(["relay", "--listen", "127.0.0.1:0", "--nats", nats])
            .current_dir(sandbox.path())
            .env("HOME", sandbox.path())
            .env("HEARTH_LOG", "warn")
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let said = run(&format!("nats://hearth:s3cret@127.0.0.1:{port}"));
    assert!(said.contains("cannot reach NATS"), "{said}");
    assert!(said.contains("nats://***@127.0.0.1"), "{said}");
    assert!(!said.contains("s3cret"), "{said}");
    let said = run("http://hearth:s3cret@127.0.0.1:1");
    assert!(said.contains("nats://host:4222"), "{said}");
    assert!(!said.contains("s3cret"), "{said}");
    assert_eq!(std::fs::read_dir(sandbox.path()).unwrap().count(), 0);
}
