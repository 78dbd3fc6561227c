//! The browser and the device speak byte-compatible crypto: contact codes and
//! sealed envelopes made by `web/crypto.js` (run in headless Chromium with
//! WebCrypto) are read by the Rust code, and the other way round. A contact
//! code made from the same keys is the same text in both.

mod support;

use ed25519_dalek::{Signature, Verifier};
use hearth::envelope::{self, EnvelopeError, Recipient, ReplayGuard};
use hearth::identity::{ContactCode, Identity};
use hearth::keys::{b64, from_b64};
use hearth::signal::Signal;
use serde_json::{json, Value};
use support::chromium::{Chromium, Page};

/// Serves the embedded viewer files on a loopback port; returns the page URL.
async fn serve_viewer() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, hearth::web::router()).await.unwrap();
    });
    format!("http://{addr}/")
}

/// A device identity with fixed keys, written as `hearth` would keep it.
fn fixed_identity(dir: &std::path::Path) -> (Identity, String, String) {
    let sign_secret = b64(&[7u8; 32]);
    let seal_secret = b64(&[9u8; 32]);
    std::fs::write(
        dir.join(hearth::identity::IDENTITY_FILE),
        format!("signing_key = \"{sign_secret}\"\nseal_key = \"{seal_secret}\"\n"),
    )
    .unwrap();
    (
        Identity::load_or_create(dir).unwrap(),
        sign_secret,
        seal_secret,
    )
}

fn js(value: impl serde::Serialize) -> String {
    serde_json::to_string(&value).unwrap()
}

async fn crypto_page(browser: &Chromium) -> Page {
    let page = browser.new_page(800, 600).await;
    page.goto(&serve_viewer().await).await;
    page.eval("import('/crypto.js').then((c) => { window.c = c; return true; })")
        .await;
    page
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_codes_are_the_same_bytes_in_rust_and_javascript() {
    let dir = tempfile::tempdir().unwrap();
    let (identity, sign_secret, seal_secret) = fixed_identity(dir.path());
    // A name cut inside a multi-byte character, and relays cut to four, one too long.
    let name = "Grand-mère ".repeat(6);
    let relays: Vec<String> = vec![
        "wss://relay.example.org/relay".into(),
        format!("wss://{}.example/relay", "a".repeat(300)),
        "ws://127.0.0.1:7600/relay".into(),
        "wss://two.example/relay".into(),
        "wss://five.example/relay".into(),
    ];
    let rust_code = identity.contact_code(&name, &relays);
    let browser = Chromium::launch().await;
    let page = crypto_page(&browser).await;

    let js_code = page
        .eval(&format!(
            "(async () => {{
                const id = await c.Identity.importSecrets({}, {}, {}, {});
                return c.makeContactCode(id, {}, {});
            }})()",
            js(&sign_secret),
            js(&seal_secret),
            js(identity.peer_key().to_string()),
            js(identity.seal_key().to_string()),
            js(&name),
            js(&relays),
        ))
        .await;
    assert_eq!(js_code.as_str().unwrap(), rust_code.to_text());

    let parsed = page
        .eval(&format!(
            "c.parseContactCode({}).then((p) => ({{ key: p.key, seal: c.b64(p.sealKey), name: p.name, relays: p.relays }}))",
            js(rust_code.to_text())
        ))
        .await;
    assert_eq!(parsed["key"], json!(identity.peer_key().to_string()));
    assert_eq!(parsed["seal"], json!(identity.seal_key().to_string()));
    assert_eq!(parsed["name"], json!(rust_code.name));
    assert_eq!(parsed["relays"], json!(rust_code.relays));

    // Every flipped byte is refused, as on the device.
    let accepted = page
        .eval(&format!(
            "(async () => {{
                const text = {};
                const bytes = c.fromB64(text.slice('hearth1.'.length));
                const accepted = [];
                for (let i = 0; i < bytes.length; i++) {{
                    const bad = bytes.slice();
                    bad[i] ^= 1;
                    try {{ await c.parseContactCode('hearth1.' + c.b64(bad)); accepted.push(i); }} catch {{}}
                }}
                return accepted;
            }})()",
            js(rust_code.to_text())
        ))
        .await;
    assert_eq!(accepted, json!([]), "flipped bytes accepted by the browser");
    let refusal = page
        .eval("c.parseContactCode('hello').catch((e) => e.message)")
        .await;
    assert!(refusal.as_str().unwrap().contains("hearth1."), "{refusal}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelopes_sealed_on_one_side_open_on_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let (device, _, _) = fixed_identity(dir.path());
    let device_code = device.contact_code("Kitchen", &[]);
    let browser = Chromium::launch().await;
    let page = crypto_page(&browser).await;

    // The browser's identity: generated non-extractable, kept in IndexedDB.
    let me = page
        .eval(
            "(async () => {
                window.me = await c.Identity.loadOrCreate();
                const again = await c.Identity.loadOrCreate();
                return {
                    code: await c.makeContactCode(me, 'Gran', ['ws://127.0.0.1:1/relay']),
                    same: again.peerKey === me.peerKey,
                    extractable: me.signKeys.privateKey.extractable || me.sealKeys.privateKey.extractable,
                };
            })()",
        )
        .await;
    assert_eq!(me["same"], json!(true), "the identity is kept in IndexedDB");
    assert_eq!(me["extractable"], json!(false));
    let my_code =
        ContactCode::parse(me["code"].as_str().unwrap()).expect("Rust reads the browser's code");
    assert_eq!(my_code.name, "Gran");
    let browser_recipient = Recipient {
        key: my_code.peer_key,
        seal_key: my_code.seal_key,
    };

    // Rust seals, the browser opens.
    let answer = Signal::Answer {
        session: "s1".into(),
        sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=Grüße 👋\r\n".into(),
        video: true,
        audio: false,
        denied: vec!["live_audio".into()],
    };
    let now = envelope::unix_ms_now();
    let wire = envelope::seal(&device, &browser_recipient, &answer, now);
    let opened = page
        .eval(&format!(
            "(async () => {{
                const wire = c.fromB64({wire});
                const device = c.fromB64({device_key});
                const guard = new c.ReplayGuard();
                const opened = await c.open(me, wire, device, Date.now(), guard);
                const refusal = async (f) => {{ try {{ await f(); return 'accepted'; }} catch (e) {{ return e.kind; }} }};
                const tampered = wire.slice();
                tampered[60] ^= 1;
                return {{
                    from: opened.from,
                    fromSeal: c.b64(opened.fromSeal),
                    ts: opened.ts,
                    body: opened.body,
                    replayed: await refusal(() => c.open(me, wire, device, Date.now(), guard)),
                    tampered: await refusal(() => c.open(me, tampered, device, Date.now(), new c.ReplayGuard())),
                    otherSender: await refusal(() => c.open(me, wire, me.signPublic, Date.now(), new c.ReplayGuard())),
                    stale: await refusal(() => c.open(me, wire, device, Date.now() + 600000, new c.ReplayGuard())),
                }};
            }})()",
            wire = js(b64(&wire)),
            device_key = js(device.peer_key().to_string()),
        ))
        .await;
    assert_eq!(opened["from"], json!(device.peer_key().to_string()));
    assert_eq!(opened["fromSeal"], json!(device.seal_key().to_string()));
    assert_eq!(opened["ts"], json!(now));
    assert_eq!(opened["body"], serde_json::to_value(&answer).unwrap());
    assert_eq!(opened["replayed"], json!("replayed"));
    assert_eq!(opened["tampered"], json!("unsealable"));
    assert_eq!(opened["otherSender"], json!("sender_mismatch"));
    assert_eq!(opened["stale"], json!("stale"));

    // The browser seals, Rust opens.
    let offer = json!({
        "type": "offer", "session": "s2", "sdp": "v=0\r\ns=✓\r\n", "want_video": true, "want_audio": true,
    });
    let sealed = page
        .eval(&format!(
            "c.parseContactCode({}).then((d) => c.seal(me, d, {offer})).then(c.b64)",
            js(device_code.to_text())
        ))
        .await;
    let wire = from_b64(sealed.as_str().unwrap()).unwrap();
    let mut guard = ReplayGuard::new();
    let opened = envelope::open::<Signal>(
        &device,
        &wire,
        Some(&my_code.peer_key),
        envelope::unix_ms_now(),
        &mut guard,
    )
    .expect("Rust opens the browser's envelope");
    assert_eq!(opened.from, my_code.peer_key);
    assert_eq!(opened.from_seal, my_code.seal_key);
    assert_eq!(
        opened.body,
        serde_json::from_value::<Signal>(offer).unwrap()
    );
    let again = envelope::open::<Signal>(&device, &wire, None, envelope::unix_ms_now(), &mut guard);
    assert_eq!(again.unwrap_err(), EnvelopeError::Replayed);

    // The relay challenge, signed by the browser, verifies in Rust.
    let nonce = [5u8; 32];
    let signature = page
        .eval(&format!(
            "me.sign(c.relayAuthMessage(c.fromB64({}))).then(c.b64)",
            js(b64(&nonce))
        ))
        .await;
    let signature: [u8; 64] = from_b64(signature.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    my_code
        .peer_key
        .verifying_key()
        .unwrap()
        .verify(
            &hearth::relay::protocol::auth_message(&nonce),
            &Signature::from_bytes(&signature),
        )
        .expect("the relay accepts the browser's signature");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_picks_relays_it_may_use_and_backs_off_with_jitter() {
    let browser = Chromium::launch().await;
    let page = browser.new_page(800, 600).await;
    page.goto(&serve_viewer().await).await;
    let result: Value = page
        .eval(
            "import('/relay.js').then((r) => {
                const b = new r.Backoff({ initialMs: 250, maxMs: 1000, random: () => 1 });
                const ceilings = [b.next(), b.next(), b.next(), b.next()];
                b.reset();
                const low = new r.Backoff({ random: () => 0 });
                return {
                    ceilings, afterReset: b.next(), jittered: low.next(),
                    secure: r.relayUrls(['ws://127.0.0.1:7600/relay', 'wss://r.example/relay'], 'https://h.example/fam/#c=x'),
                    local: r.relayUrls(['ws://127.0.0.1:7600/relay'], 'http://localhost:7600/#c=x'),
                    none: r.relayUrls([], 'https://h.example/'),
                };
            })",
        )
        .await;
    assert_eq!(result["ceilings"], json!([250, 500, 1000, 1000]));
    assert_eq!(result["afterReset"], json!(250));
    assert_eq!(result["jittered"], json!(0));
    assert_eq!(
        result["secure"],
        json!(["wss://r.example/relay", "wss://h.example/fam/relay"]),
        "a secure page skips plain ws:// relays"
    );
    assert_eq!(
        result["local"],
        json!(["ws://127.0.0.1:7600/relay", "ws://localhost:7600/relay"])
    );
    assert_eq!(result["none"], json!(["wss://h.example/relay"]));
}

/// An identity with fixed keys in `dir` (so Rust can sign what the browser signs).
fn identity_with(dir: &std::path::Path, sign: u8, seal: u8) -> (Identity, String, String) {
    let (sign_secret, seal_secret) = (b64(&[sign; 32]), b64(&[seal; 32]));
    std::fs::write(
        dir.join(hearth::identity::IDENTITY_FILE),
        format!("signing_key = \"{sign_secret}\"\nseal_key = \"{seal_secret}\"\n"),
    )
    .unwrap();
    (
        Identity::load_or_create(dir).unwrap(),
        sign_secret,
        seal_secret,
    )
}

/// Deterministic bytes that start like a JPEG.
fn fake_jpeg(len: usize) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    bytes[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shares_signed_in_the_browser_are_the_bytes_rust_writes_and_verify_both_ways() {
    use hearth::share::manifest::describe_jpeg;
    use hearth::share::wire::{decode_chunk, encode_chunk};
    use hearth::share::{share_id, Limits, Manifest, ShareBody, ShareKind, CHUNK_SIZE};

    let (device_dir, browser_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (device, _, _) = fixed_identity(device_dir.path());
    let (gran, sign_secret, seal_secret) = identity_with(browser_dir.path(), 11, 13);
    let browser = Chromium::launch().await;
    let page = crypto_page(&browser).await;
    page.eval("import('/share-format.js').then((s) => { window.s = s; return true; })")
        .await;

    // The browser signs a photo (three chunks) and a thought with tricky text.
    let jpeg = fake_jpeg(2 * CHUNK_SIZE as usize + 1234);
    let text = "Grüße an \"Oma\" 👋\n\ttab \u{1} </script> \\ \u{2028} é";
    let made = page
        .eval(&format!(
            "(async () => {{
                const me = await c.Identity.importSecrets({}, {}, {}, {});
                const jpeg = c.fromB64({});
                const photo = await s.signShare(me, {{ kind: 'photo', text: {}, jpeg, audience: [{}], createdAt: 1700000000123 }});
                const thought = await s.signShare(me, {{ kind: 'thought', text: 'Thinking of you', audience: [{}], createdAt: 1700000000456 }});
                return {{
                    photo: {{ id: photo.id, manifest: photo.manifest }},
                    thought: {{ id: thought.id, manifest: thought.manifest }},
                    frame: c.b64(s.encodeChunk(photo.id, 1, jpeg.subarray({chunk}, 2 * {chunk}))),
                }};
            }})()",
            js(&sign_secret),
            js(&seal_secret),
            js(gran.peer_key().to_string()),
            js(gran.seal_key().to_string()),
            js(b64(&jpeg)),
            js(text),
            js(device.peer_key().to_string()),
            js(device.peer_key().to_string()),
            chunk = CHUNK_SIZE,
        ))
        .await;

    for (what, kind) in [("photo", ShareKind::Photo), ("thought", ShareKind::Thought)] {
        let manifest: Manifest = serde_json::from_value(made[what]["manifest"].clone()).unwrap();
        let verified = manifest
            .verify(&Limits::default())
            .unwrap_or_else(|e| panic!("Rust verifies the browser's {what}: {e}"));
        assert_eq!(json!(verified.id), made[what]["id"]);
        assert_eq!(verified.id, share_id(&manifest.body));
        assert_eq!(verified.body.kind, kind);
        assert_eq!(verified.body.author, gran.peer_key());
        assert_eq!(verified.body.audience, vec![device.peer_key()]);
        assert_eq!(
            serde_json::to_string(&verified.body).unwrap(),
            manifest.body,
            "the browser writes the body exactly as serde does"
        );
        let rust_signed = Manifest::sign(&gran, &verified.body).unwrap();
        assert_eq!(
            rust_signed.manifest, manifest,
            "Rust signing the same body gives the same manifest, byte for byte"
        );
    }
    let photo: Manifest = serde_json::from_value(made["photo"]["manifest"].clone()).unwrap();
    let photo = photo.verify(&Limits::default()).unwrap();
    assert_eq!(photo.body.text, text);
    assert_eq!(photo.body.jpeg, Some(describe_jpeg(&jpeg, CHUNK_SIZE)));
    assert!(photo.jpeg_ok(&jpeg));
    let frame = from_b64(made["frame"].as_str().unwrap()).unwrap();
    let chunk = CHUNK_SIZE as usize;
    assert_eq!(
        frame,
        encode_chunk(&photo.id, 1, &jpeg[chunk..2 * chunk]).unwrap()
    );
    assert!(photo.chunk_ok(1, decode_chunk(&frame).unwrap().data));

    // The device signs; the browser verifies and reads the same body and chunks.
    let body = ShareBody {
        v: 1,
        author: device.peer_key(),
        created_at: 1_700_000_000_789,
        kind: ShareKind::Snapshot,
        text: "Frühstück ✓".into(),
        jpeg: Some(describe_jpeg(&jpeg, CHUNK_SIZE)),
        audience: vec![gran.peer_key(), device.peer_key()],
    };
    let snapshot = Manifest::sign(&device, &body).unwrap();
    let mut tampered = snapshot.manifest.clone();
    tampered.body = tampered.body.replace("Frühstück", "Fruhstuck");
    let read = page
        .eval(&format!(
            "(async () => {{
                const ok = await s.verifyManifest({});
                const refusal = (m) => s.verifyManifest(m).then(() => 'accepted', (e) => e.kind);
                const chunk = s.decodeChunk(c.fromB64({}));
                return {{
                    id: ok.id, body: ok.body,
                    tampered: await refusal({}),
                    badSig: await refusal({{ body: {}, sig: 'AAAA' }}),
                    extraField: await refusal({{ ...{}, more: 1 }}),
                    chunk: {{ id: chunk.id, index: chunk.index, ok: await s.chunkOk(ok, chunk.index, chunk.data) }},
                }};
            }})()",
            js(&snapshot.manifest),
            js(b64(&encode_chunk(&snapshot.id, 1, &jpeg[chunk..2 * chunk]).unwrap())),
            js(&tampered),
            js(&snapshot.manifest.body),
            js(&snapshot.manifest),
        ))
        .await;
    assert_eq!(read["id"], json!(snapshot.id));
    assert_eq!(read["body"], serde_json::to_value(&body).unwrap());
    assert_eq!(read["tampered"], json!("bad_signature"));
    assert_eq!(read["badSig"], json!("bad_signature"));
    assert_eq!(read["extraField"], json!("malformed"));
    assert_eq!(
        read["chunk"],
        json!({ "id": snapshot.id, "index": 1, "ok": true })
    );
    assert!(tampered.verify(&Limits::default()).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_receives_a_share_resumes_a_cut_transfer_keeps_it_once_and_refuses_bad_ones() {
    use hearth::share::manifest::describe_jpeg;
    use hearth::share::wire::encode_chunk;
    use hearth::share::{Manifest, ShareBody, ShareKind, CHUNK_SIZE};

    let dir = tempfile::tempdir().unwrap();
    let (device, _, _) = fixed_identity(dir.path());
    let stranger = Identity::generate();
    let browser = Chromium::launch().await;
    let page = crypto_page(&browser).await;
    // A ShareLink over a fake channel: what it sends is collected.
    let me = page
        .eval(
            "(async () => {
                window.me = await c.Identity.loadOrCreate();
                const L = await import('/share-link.js');
                const S = (await import('/share-store.js')).shareStore;
                window.S = S;
                window.session = async (peer, offer, frames) => {
                    const sent = [], got = [];
                    const link = new L.ShareLink({
                        me: me.peerKey, peer, store: S,
                        sendText: async (t) => { sent.push(JSON.parse(t)); },
                        sendBytes: async () => {},
                    });
                    link.addEventListener('share', (e) => got.push(e.detail));
                    const handled = link.handleText(offer);
                    for (const f of frames) link.handleBinary(c.fromB64(f).buffer);
                    for (let w = null; w !== link.work; ) { w = link.work; await w; }
                    return {
                        handled, sent,
                        got: await Promise.all(got.map(async (r) => ({
                            id: r.id, kind: r.kind, text: r.text, from: r.from,
                            photo: r.photo ? c.b64(new Uint8Array(await r.photo.arrayBuffer())) : null,
                        }))),
                    };
                };
                return me.peerKey;
            })()",
        )
        .await;
    let me: hearth::keys::PeerKey = me.as_str().unwrap().parse().unwrap();
    let device_key = device.peer_key().to_string();

    let share_from = |author: &Identity, audience, text: &str, jpeg: Option<&[u8]>| {
        let body = ShareBody {
            v: 1,
            author: author.peer_key(),
            created_at: 1_700_000_000_000,
            kind: if jpeg.is_some() {
                ShareKind::Snapshot
            } else {
                ShareKind::Thought
            },
            text: text.into(),
            jpeg: jpeg.map(|j| describe_jpeg(j, CHUNK_SIZE)),
            audience,
        };
        Manifest::sign(author, &body).unwrap()
    };
    let offer =
        |manifest: &Manifest| json!({ "type": "share_offer", "manifest": manifest }).to_string();
    let frames = |id: &str, jpeg: &[u8], which: std::ops::Range<usize>| -> Vec<String> {
        jpeg.chunks(CHUNK_SIZE as usize)
            .enumerate()
            .filter(|(i, _)| which.contains(i))
            .map(|(i, data)| b64(&encode_chunk(id, i as u32, data).unwrap()))
            .collect()
    };
    let session = |peer: &str, offer: String, frames: Vec<String>| {
        format!("session({}, {}, {})", js(peer), js(offer), js(frames))
    };

    let jpeg = fake_jpeg(2 * CHUNK_SIZE as usize + 500);
    let share = share_from(&device, vec![me], "Breakfast", Some(&jpeg));
    let id = share.id.clone();

    // The link is cut after two of three chunks: nothing is kept whole yet.
    let first = page
        .eval(&session(
            &device_key,
            offer(&share.manifest),
            frames(&id, &jpeg, 0..2),
        ))
        .await;
    assert_eq!(first["handled"], json!(true));
    assert_eq!(
        first["sent"],
        json!([{ "type": "share_have", "id": id, "have": [] }])
    );
    assert_eq!(first["got"], json!([]));

    // The next session: the two chunks are held, only the third comes, the share is kept and acked.
    let second = page
        .eval(&session(
            &device_key,
            offer(&share.manifest),
            frames(&id, &jpeg, 2..3),
        ))
        .await;
    assert_eq!(
        second["sent"],
        json!([
            { "type": "share_have", "id": id, "have": [0, 1] },
            { "type": "share_ack", "id": id },
        ])
    );
    assert_eq!(
        second["got"],
        json!([{ "id": id, "kind": "snapshot", "text": "Breakfast", "from": device_key, "photo": b64(&jpeg) }])
    );

    // Offered again: acknowledged at once, kept once.
    let third = page
        .eval(&session(&device_key, offer(&share.manifest), vec![]))
        .await;
    assert_eq!(third["sent"], json!([{ "type": "share_ack", "id": id }]));
    assert_eq!(third["got"], json!([]));

    // Withdrawn by its sender mid-transfer (`share_cancel`): the chunks kept so far go.
    let withdrawn_jpeg = fake_jpeg(2 * CHUNK_SIZE as usize + 7);
    let withdrawn = share_from(&device, vec![me], "Withdrawn", Some(&withdrawn_jpeg));
    let held_after_cancel = page
        .eval(&format!(
            "(async () => {{
                const L = await import('/share-link.js');
                const link = new L.ShareLink({{
                    me: me.peerKey, peer: {peer}, store: S,
                    sendText: async () => {{}}, sendBytes: async () => {{}},
                }});
                link.handleText({offer});
                for (const f of {frames}) link.handleBinary(c.fromB64(f).buffer);
                const settle = async () => {{ for (let w = null; w !== link.work; ) {{ w = link.work; await w; }} }};
                await settle();
                const before = await S.chunksHeld({id});
                link.handleText(JSON.stringify({{ type: 'share_cancel', id: {id} }}));
                await settle();
                return {{ before, after: await S.chunksHeld({id}) }};
            }})()",
            peer = js(&device_key),
            offer = js(offer(&withdrawn.manifest)),
            frames = js(frames(&withdrawn.id, &withdrawn_jpeg, 0..2)),
            id = js(&withdrawn.id),
        ))
        .await;
    assert_eq!(
        held_after_cancel,
        json!({ "before": [0, 1], "after": [] }),
        "share_cancel drops the chunks of the withdrawn share"
    );

    // A share of ours refused for now (`retry`: the device's inbox is full) is
    // told apart from one refused for good.
    let answers = page
        .eval(&format!(
            "(async () => {{
                const F = await import('/share-format.js');
                const L = await import('/share-link.js');
                const outcome = async (refusal) => {{
                    const link = new L.ShareLink({{
                        me: me.peerKey, peer: {peer}, store: S,
                        sendText: async () => {{}}, sendBytes: async () => {{}},
                    }});
                    const share = await F.signShare(me, {{ kind: 'thought', text: 'hi ' + refusal.retry, audience: [{peer}] }});
                    const sent = link.send(share, null).then(() => 'delivered', (e) => e.kind);
                    link.handleText(JSON.stringify({{ type: 'share_refused', id: share.id, ...refusal }}));
                    return sent;
                }};
                return [
                    await outcome({{ reason: \"the device's inbox is full\", retry: true }}),
                    await outcome({{ reason: 'no', retry: false }}),
                ];
            }})()",
            peer = js(&device_key),
        ))
        .await;
    assert_eq!(answers, json!(["busy", "refused"]));

    // Refusals, each with the device's words for it.
    let refusal = |result: &Value| -> String {
        let sent = result["sent"].as_array().unwrap();
        let last = sent.last().expect("an answer");
        assert_eq!(last["type"], json!("share_refused"), "{result}");
        last["reason"].as_str().unwrap().to_string()
    };
    let mut tampered = share_from(&device, vec![me], "hello", None).manifest;
    tampered.body = tampered.body.replace("hello", "HELLO");
    let not_me = share_from(&device, vec![device.peer_key()], "not for you", None);
    let passed_on = share_from(&stranger, vec![me], "from a stranger", None);
    let too_long = share_from(&device, vec![me], &"x".repeat(5000), None);
    let damaged_jpeg = fake_jpeg(1000);
    let damaged = share_from(&device, vec![me], "damaged", Some(&damaged_jpeg));
    let mut bad_frame = from_b64(&frames(&damaged.id, &damaged_jpeg, 0..1)[0]).unwrap();
    *bad_frame.last_mut().unwrap() ^= 1;
    let cases = [
        (offer(&tampered), vec![], "signature"),
        (offer(&not_me.manifest), vec![], "audience"),
        (offer(&passed_on.manifest), vec![], "only from its author"),
        (offer(&too_long.manifest), vec![], "too large"),
        (
            offer(&damaged.manifest),
            vec![b64(&bad_frame)],
            "does not match its hash",
        ),
        (
            r#"{"type":"share_offer","manifest":{"body":"x"}}"#.to_string(),
            vec![],
            "malformed",
        ),
    ];
    for (offer, frames, reason) in cases {
        let result = page.eval(&session(&device_key, offer, frames)).await;
        assert!(refusal(&result).contains(reason), "{reason}: {result}");
        assert_eq!(result["got"], json!([]));
    }
    let ping = page
        .eval(&session(
            &device_key,
            r#"{"type":"ping","id":1}"#.into(),
            vec![],
        ))
        .await;
    assert_eq!(
        ping["handled"],
        json!(false),
        "other messages are not shares"
    );

    let kept = page
        .eval(&format!(
            "S.list({}).then((l) => l.map((r) => r.id))",
            js(&device_key)
        ))
        .await;
    assert_eq!(kept, json!([id]), "one share kept, once");
}
