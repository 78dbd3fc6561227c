//! Photos and notes in the family viewer, end to end: a simulated device, a
//! local relay and headless Chromium. A family member allowed `snapshots`
//! sees what the device shares — kept once however often it is delivered,
//! and still there after a reload. Allowed `talk_back`, they send the device
//! a thought and photos, which land verified in its inbox; without it the
//! device refuses and the page says so in plain words.

mod support;

use hearth::contacts::Permission;
use hearth::device::shares::ShareRequest;
use hearth::keys::from_b64;
use hearth::share::inbox::Inbox;
use hearth::share::{Limits, Manifest, ShareKind, CHUNK_SIZE};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use support::chromium::{Chromium, Page};
use support::harness::*;
use support::viewer::{approve, ask_to_watch, edit_contacts, keep_screenshot, link, visible};

/// The page's gallery: each share shown, newest first, and whether its picture decoded.
const GALLERY: &str = "[...document.querySelectorAll('#share-list li')].map((li) => {
    const img = li.querySelector('img');
    return {
        id: li.dataset.id,
        kind: li.dataset.kind,
        text: li.querySelector('.share-text')?.textContent ?? '',
        meta: li.querySelector('.share-meta').textContent,
        width: img && img.complete ? img.naturalWidth : 0,
        height: img && img.complete ? img.naturalHeight : 0,
    };
})";

/// What the browser keeps in IndexedDB: each share's id, arrival, manifest and JPEG.
const KEPT: &str = "(async () => {
    const store = await import('/store.js');
    const { b64 } = await import('/crypto.js');
    const all = await store.all('shares');
    return Promise.all(all.map(async (r) => ({
        id: r.id, receivedAt: r.receivedAt, manifest: r.manifest,
        jpeg: r.photo ? b64(new Uint8Array(await r.photo.arrayBuffer())) : null,
    })));
})()";

/// Scrolls the photos and notes into view, for a screenshot.
const SHOW_SHARES: &str = "document.getElementById('shares').scrollIntoView(); true";

/// The session the page holds now is up (live or not).
const CONNECTED: &str =
    "(() => { const c = window.hearthViewer.connection; return c !== null && c.state === 'connected'; })()";

/// Pairs the page as `name` and lets the owner approve it with `allow`.
async fn pair(page: &Page, device_dir: &Path, name: &str, allow: &[Permission]) {
    ask_to_watch(page, device_dir, name).await;
    approve(device_dir, name, allow);
    page.wait_for("the photos and notes area", &visible("shares"))
        .await;
    page.wait_for("a session with the device", CONNECTED).await;
}

async fn gallery_with(page: &Page, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let value = page
        .poll(what, GALLERY, Duration::from_secs(45), |v| {
            done(v.as_array().unwrap())
        })
        .await;
    value.as_array().unwrap().clone()
}

/// Presses Send and waits for the page's answer (not "Sending…").
async fn send(page: &Page) -> String {
    page.eval("document.getElementById('share-result').hidden = true; document.getElementById('share-send').click(); true")
        .await;
    let result = page
        .poll(
            "the answer to Send",
            "(() => { const r = document.getElementById('share-result'); return r.hidden || r.textContent.startsWith('Sending') ? null : r.textContent; })()",
            Duration::from_secs(60),
            |v| v.is_string(),
        )
        .await;
    result.as_str().unwrap().to_string()
}

fn write_thought(text: &str) -> String {
    format!(
        "document.getElementById('share-thought').value = {}; true",
        json!(text)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_allowed_snapshots_sees_them_once_and_after_a_reload() {
    init_logs();
    let relay = TestRelay::start().await;
    let device_dir = tempfile::tempdir().unwrap();
    let device = start_device(device_dir.path(), &relay.url()).await;
    wait_relay(&device.node).await;
    let browser = Chromium::launch().await;
    let page = browser.new_page(900, 1000).await;
    page.goto(&link(&device)).await;
    pair(&page, device_dir.path(), "Gran", &[Permission::Snapshots]).await;
    assert!(page.eval(&visible("share-empty")).await.as_bool().unwrap());
    let me: hearth::keys::PeerKey = page
        .eval("window.hearthViewer.node.peerKey")
        .await
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    // `hearth share --snapshot --text "Breakfast is ready"`, while Gran's page
    // holds a session with no live media.
    let snapshot = device
        .share(ShareRequest {
            kind: ShareKind::Snapshot,
            text: "Breakfast is ready".into(),
            photo: None,
            to: vec![],
        })
        .await
        .unwrap();
    assert_eq!(snapshot.audience, vec!["Gran".to_string()]);
    let gallery = gallery_with(&page, "the snapshot, decoded", |g| {
        g.first().is_some_and(|s| s["width"].as_u64() > Some(0))
    })
    .await;
    assert_eq!(gallery.len(), 1);
    assert_eq!(gallery[0]["id"], json!(snapshot.id));
    assert_eq!(gallery[0]["kind"], json!("snapshot"));
    assert_eq!(gallery[0]["text"], json!("Breakfast is ready"));
    assert_eq!(
        (gallery[0]["width"].as_u64(), gallery[0]["height"].as_u64()),
        (Some(320), Some(240)),
        "the camera's frame"
    );
    let meta = gallery[0]["meta"].as_str().unwrap();
    assert!(meta.starts_with("Snapshot from Kitchen · "), "{meta}");
    assert!(!page.eval(&visible("share-empty")).await.as_bool().unwrap());
    wait_until(
        "the device to see it delivered",
        Duration::from_secs(20),
        || device.status().outbox.is_empty(),
    )
    .await;
    page.eval(SHOW_SHARES).await;
    keep_screenshot(&page, "viewer-shares").await;

    // What the browser keeps is the device's share, whole and verified.
    let kept = page.eval(KEPT).await;
    let kept = kept.as_array().unwrap();
    assert_eq!(kept.len(), 1);
    let manifest: Manifest = serde_json::from_value(kept[0]["manifest"].clone()).unwrap();
    let verified = manifest.verify(&Limits::default()).unwrap();
    assert_eq!(verified.id, snapshot.id);
    assert_eq!(verified.body.author, device.node.peer_key());
    assert_eq!(verified.body.audience, vec![me]);
    let jpeg = from_b64(kept[0]["jpeg"].as_str().unwrap()).unwrap();
    assert!(verified.jpeg_ok(&jpeg), "the stored JPEG is the one signed");

    // Reloaded: shown again from what this browser keeps.
    page.reload().await;
    let gallery = gallery_with(&page, "the snapshot after a reload", |g| {
        g.first().is_some_and(|s| s["width"].as_u64() > Some(0))
    })
    .await;
    assert_eq!(gallery.len(), 1);

    // Gran closes the page; the device keeps a thought for her meanwhile.
    page.goto("about:blank").await;
    wait_until("Gran's session to end", Duration::from_secs(30), || {
        device.status().connected.is_empty()
    })
    .await;
    let thought = device
        .share(ShareRequest {
            kind: ShareKind::Thought,
            text: "See you on Sunday".into(),
            photo: None,
            to: vec!["Gran".into()],
        })
        .await
        .unwrap();
    assert_eq!(device.status().outbox, vec![("Gran".to_string(), 1)]);
    let outbox = device_dir.path().join("outbox");
    let saved: Vec<(std::path::PathBuf, Vec<u8>)> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    assert!(!saved.is_empty(), "the thought waits in the outbox");

    // She opens it again: the thought arrives, newest first.
    page.goto(&link(&device)).await;
    let gallery = gallery_with(&page, "the thought", |g| g.len() == 2).await;
    assert_eq!(gallery[0]["id"], json!(thought.id));
    assert_eq!(gallery[0]["text"], json!("See you on Sunday"));
    assert!(gallery[0]["meta"]
        .as_str()
        .unwrap()
        .starts_with("Note from Kitchen"));
    assert_eq!(gallery[1]["id"], json!(snapshot.id));
    wait_until("the thought delivered", Duration::from_secs(20), || {
        device.status().outbox.is_empty()
    })
    .await;
    let arrived = |kept: &Value| {
        kept.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == json!(thought.id))
            .map(|r| r["receivedAt"].clone())
            .expect("the thought is kept")
    };
    let first_arrival = arrived(&page.eval(KEPT).await);

    // Delivered twice: the device restarts with its outbox as it was before
    // (the ack lost), offers the thought again, and the browser keeps it once.
    device.stop().await;
    drop(device);
    for (path, bytes) in &saved {
        std::fs::write(path, bytes).unwrap();
    }
    let device = start_device(device_dir.path(), &relay.url()).await;
    wait_until(
        "the thought offered again and acknowledged",
        Duration::from_secs(60),
        || device.status().outbox.is_empty(),
    )
    .await;
    let kept = page.eval(KEPT).await;
    assert_eq!(kept.as_array().unwrap().len(), 2, "{kept}");
    assert_eq!(arrived(&kept), first_arrival, "kept once, not again");
    let gallery = page.eval(GALLERY).await;
    assert_eq!(
        gallery.as_array().unwrap().len(),
        2,
        "shown once: {gallery}"
    );
    device.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_sends_photos_and_thoughts_only_with_talk_back() {
    init_logs();
    let relay = TestRelay::start().await;
    let device_dir = tempfile::tempdir().unwrap();
    let device = start_device(device_dir.path(), &relay.url()).await;
    wait_relay(&device.node).await;
    let browser = Chromium::launch().await;
    let page = browser.new_page(900, 1000).await;
    page.goto(&link(&device)).await;
    // Approved, nothing allowed: no live picture, no `talk_back`.
    pair(&page, device_dir.path(), "Gran", &[]).await;
    let me: hearth::keys::PeerKey = page
        .eval("window.hearthViewer.node.peerKey")
        .await
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    page.eval(&write_thought("Hello from Gran")).await;
    let answer = send(&page).await;
    assert_eq!(
        answer,
        "Not sent: the owner of Kitchen hasn't allowed you to send photos and notes. Ask them to allow it."
    );
    page.eval(SHOW_SHARES).await;
    keep_screenshot(&page, "viewer-share-refused").await;
    assert!(Inbox::new(device_dir.path()).list().unwrap().is_empty());
    assert_eq!(
        page.eval("document.getElementById('share-thought').value")
            .await,
        json!("Hello from Gran"),
        "what she wrote is kept to send later"
    );

    // `hearth contacts allow Gran talk_back`, while her page is connected.
    edit_contacts(device_dir.path(), |book| {
        book.find_mut("Gran")
            .unwrap()
            .permissions
            .set(Permission::TalkBack, true);
    });
    wait_until(
        "the device to see talk_back",
        Duration::from_secs(20),
        || {
            device.node.contacts().with(|book| {
                book.find("Gran")
                    .is_ok_and(|c| c.allows(Permission::TalkBack))
            })
        },
    )
    .await;
    page.eval(&write_thought("Thinking of you")).await;
    assert_eq!(send(&page).await, "Sent. Kitchen has it now.");

    // A JPEG from the file picker, with a caption.
    let garden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photo/garden.jpg");
    let input = page
        .call(
            "Runtime.evaluate",
            json!({ "expression": "document.getElementById('share-photo')" }),
        )
        .await;
    page.call(
        "DOM.setFileInputFiles",
        json!({ "files": [garden.to_str().unwrap()], "objectId": input["result"]["objectId"] }),
    )
    .await;
    page.eval(&write_thought("Our garden")).await;
    assert_eq!(send(&page).await, "Sent. Kitchen has it now.");
    assert_eq!(
        page.eval("document.getElementById('share-photo').files.length")
            .await,
        json!(0),
        "the form is cleared once sent"
    );

    // A big picture that is not a JPEG: made into one, at most 2048 pixels wide.
    page.eval(
        "(async () => {
            const canvas = document.createElement('canvas');
            canvas.width = 2600;
            canvas.height = 1800;
            const g = canvas.getContext('2d');
            const noise = g.createImageData(2600, 1800);
            for (let i = 0; i < noise.data.length; i++) noise.data[i] = (i % 4 === 3) ? 255 : Math.random() * 256;
            g.putImageData(noise, 0, 0);
            const png = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
            const files = new DataTransfer();
            files.items.add(new File([png], 'big.png', { type: 'image/png' }));
            document.getElementById('share-photo').files = files.files;
            return png.size;
        })()",
    )
    .await;
    assert_eq!(send(&page).await, "Sent. Kitchen has it now.");

    // All three are in the device's inbox, verified, from Gran.
    let entries = Inbox::new(device_dir.path()).list().unwrap();
    assert_eq!(entries.len(), 3, "{entries:?}");
    for entry in &entries {
        assert_eq!(entry.share.body.author, me);
        assert_eq!(entry.share.body.audience, vec![device.node.peer_key()]);
    }
    let by_text = |text: &str| {
        entries
            .iter()
            .find(|e| e.share.body.text == text)
            .unwrap_or_else(|| panic!("{text:?} in the inbox"))
    };
    let thought = by_text("Thinking of you");
    assert_eq!(thought.share.body.kind, ShareKind::Thought);
    assert!(thought.jpeg_path.is_none());
    let photo_of = |entry: &hearth::share::inbox::InboxEntry| {
        assert_eq!(entry.share.body.kind, ShareKind::Photo);
        let jpeg = std::fs::read(entry.jpeg_path.as_ref().unwrap()).unwrap();
        assert!(entry.share.jpeg_ok(&jpeg), "the JPEG is the one signed");
        let (width, height, _) = hearth::media::jpeg::decode_rgb(&jpeg).unwrap();
        (jpeg.len(), width, height)
    };
    let (_, width, height) = photo_of(by_text("Our garden"));
    let (_, garden_width, garden_height, _) = {
        let jpeg = std::fs::read(&garden).unwrap();
        let (w, h, rgb) = hearth::media::jpeg::decode_rgb(&jpeg).unwrap();
        (jpeg.len(), w, h, rgb)
    };
    assert_eq!((width, height), (garden_width, garden_height));
    let (len, width, height) = photo_of(by_text(""));
    assert!(width <= 2048 && height <= 2048, "{width}×{height}");
    assert!(
        (i64::from(width) * 1800 / 2600 - i64::from(height)).abs() <= 1,
        "the shape is kept: {width}×{height}"
    );
    assert!(len <= 1536 * 1024, "capped: {len} bytes");
    assert!(
        len > CHUNK_SIZE as usize,
        "sent in several chunks: {len} bytes"
    );
    device.stop().await;
}
