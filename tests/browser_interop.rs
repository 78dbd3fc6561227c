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
