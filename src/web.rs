//! The family viewer web app: the static files under `web/`, embedded in the
//! binary, and the routes that serve them. The device serves them on its web
//! server and `hearth relay` next to the relay, so a family member only needs
//! a link: `…/#c=<contact code>`. The code travels in the URL fragment, which
//! the browser never sends to any server.
//!
//! Only the files in [`ASSETS`] exist — no directory listing, no file system
//! access — and every response carries a strict Content Security Policy.

use crate::config::Config;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;

/// One embedded file of the viewer.
#[derive(Debug)]
pub struct Asset {
    /// The URL path it is served at.
    pub path: &'static str,
    /// The `Content-Type` it is served with.
    pub content_type: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

macro_rules! asset {
    ($file:literal, $type:expr) => {
        Asset {
            path: concat!("/", $file),
            content_type: $type,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $file)),
        }
    };
}

/// Every file of the viewer, by path. `/` serves `/index.html`.
pub static ASSETS: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("style.css", CSS),
    asset!("icon.svg", SVG),
    asset!("app.js", JS),
    asset!("ui.js", JS),
    asset!("hearth-rtc.js", JS),
    asset!("node.js", JS),
    asset!("relay.js", JS),
    asset!("crypto.js", JS),
    asset!("store.js", JS),
    asset!("share-format.js", JS),
    asset!("share-link.js", JS),
    asset!("share-store.js", JS),
    asset!("photo.js", JS),
    asset!("picture.js", JS),
];

/// The Content Security Policy of every viewer response: scripts, styles and
/// images only from the page's own origin, WebSockets to any relay (the
/// contact code names it), no inline code, no framing, no DOM sinks.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; \
     connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'; require-trusted-types-for 'script'";

/// The embedded file served at `path`, if there is one.
pub fn asset(path: &str) -> Option<&'static Asset> {
    let path = if path == "/" { "/index.html" } else { path };
    ASSETS.iter().find(|a| a.path == path)
}

/// The headers every viewer response carries.
pub fn security_headers() -> [(HeaderName, HeaderValue); 6] {
    [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
        // Small files that change with every release: always revalidate.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ]
}

fn respond(asset: &'static Asset) -> Response {
    let mut response = (StatusCode::OK, asset.bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.extend(security_headers());
    response
}

/// Routes serving the viewer: `/` and each file of [`ASSETS`]; nothing else.
pub fn router() -> Router {
    let mut router = Router::new().route("/", get(|| async { respond(&ASSETS[0]) }));
    for asset in ASSETS {
        router = router.route(asset.path, get(move || async move { respond(asset) }));
    }
    router
}

/// The link a family member opens to pair with and watch a device:
/// `<page>#c=<contact code>`.
pub fn viewer_link(page: &str, contact_code: &str) -> String {
    format!("{page}#c={contact_code}")
}

/// Where the viewer page of a device with `config` is found. A `wss://` relay
/// is served over TLS and serves the page too (`hearth relay`), so its origin
/// is used: browsers give WebCrypto only to secure pages. Otherwise the
/// device's own web server, which is a secure context only on the device
/// itself (`localhost`); see `docs/viewer.md` for putting it behind TLS.
pub fn viewer_page(config: &Config) -> String {
    if let Some(page) = config.relay_urls().first().and_then(|u| secure_page(u)) {
        return page;
    }
    let listen = config.http.listen;
    let host = if listen.ip().is_unspecified() || listen.ip().is_loopback() {
        "localhost".to_string()
    } else {
        match listen {
            std::net::SocketAddr::V4(v4) => v4.ip().to_string(),
            std::net::SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
        }
    };
    format!("http://{host}:{}/", listen.port())
}

/// What a phone can open to pair with a device of `config`: the viewer link
/// for the screen's QR code, or `None` when the page is only on this machine
/// (then [`PHONES_NEED`] says what to change). See [`phone_page`].
pub fn phone_link(config: &Config, contact_code: &str) -> Option<String> {
    let relays = config.relay_urls();
    phone_page(relays.first().map(String::as_str), config.web_address())
        .map(|page| viewer_link(&page, contact_code))
}

/// The rule behind [`phone_link`]: the page of the first relay when it is
/// `wss://` (it works in any browser); else the device's own page at `web`
/// (where others reach its web server), unless that is only on this machine
/// (loopback): a phone cannot open `localhost`. A LAN page opens on phones
/// on the same network, where the page itself says it needs HTTPS.
pub fn phone_page(first_relay: Option<&str>, web: SocketAddr) -> Option<String> {
    if let Some(page) = first_relay.and_then(secure_page) {
        return Some(page);
    }
    if crate::config::reach::this_machine_only(web) {
        return None;
    }
    Some(format!("http://{web}/"))
}

/// What to change so that phones can open the viewer link, for the owner.
pub const PHONES_NEED: &str = "phones cannot open this link: it points at this machine. \
     Set [relay] urls to a public wss:// relay (docs/viewer.md), or [http] listen to a LAN address";

/// The `https://` page next to a `wss://` relay URL, if `url` is one.
fn secure_page(url: &str) -> Option<String> {
    let rest = url.strip_prefix("wss://")?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let dir = path.strip_suffix("relay").unwrap_or("");
    Some(format!("https://{authority}/{dir}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_under_web_is_embedded_and_nothing_else() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().unwrap().is_file())
            .map(|e| format!("/{}", e.file_name().to_string_lossy()))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = ASSETS.iter().map(|a| a.path.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded, "add new web/ files to ASSETS");
    }

    #[test]
    fn root_is_the_page_and_unknown_paths_are_nothing() {
        assert_eq!(asset("/").unwrap().path, "/index.html");
        assert_eq!(asset("/app.js").unwrap().content_type, JS);
        assert!(asset("/web/app.js").is_none());
        assert!(asset("/../Cargo.toml").is_none());
        assert!(asset("").is_none());
    }

    #[test]
    fn every_js_file_has_a_header_comment() {
        for a in ASSETS.iter().filter(|a| a.content_type == JS) {
            let text = std::str::from_utf8(a.bytes).unwrap();
            assert!(text.starts_with("// "), "{} needs a header comment", a.path);
        }
    }

    #[test]
    fn the_link_points_at_a_secure_page_when_it_can() {
        let mut config = Config::default();
        assert_eq!(viewer_page(&config), "http://localhost:7600/");
        config.http.listen = "192.168.1.20:8080".parse().unwrap();
        assert_eq!(viewer_page(&config), "http://192.168.1.20:8080/");
        config.relay.urls = vec!["wss://hearth.example.org/relay".into()];
        assert_eq!(viewer_page(&config), "https://hearth.example.org/");
        config.relay.urls = vec!["wss://example.org:8443/family/relay".into()];
        assert_eq!(viewer_page(&config), "https://example.org:8443/family/");
        assert_eq!(
            viewer_link("https://example.org/", "hearth1.abc"),
            "https://example.org/#c=hearth1.abc"
        );
    }

    #[test]
    fn the_viewer_link_follows_the_listen_port() {
        let mut config = Config::default();
        config.http.listen = "127.0.0.1:7611".parse().unwrap();
        assert_eq!(viewer_page(&config), "http://localhost:7611/");
    }

    #[test]
    fn phones_get_a_link_they_can_open_or_none() {
        let addr = |text: &str| -> SocketAddr { text.parse().unwrap() };
        let table: [(Option<&str>, &str, Option<&str>); 9] = [
            (None, "127.0.0.1:7600", None),
            (Some("ws://127.0.0.1:7600/relay"), "127.0.0.1:7600", None),
            (Some("ws://[::1]:7600/relay"), "[::1]:7600", None),
            (Some("ws://127.0.0.1:7600/relay"), "0.0.0.0:7600", None),
            (
                Some("ws://192.168.1.20:7600/relay"),
                "192.168.1.20:7600",
                Some("http://192.168.1.20:7600/"),
            ),
            (
                Some("ws://[fd00::20]:7600/relay"),
                "[fd00::20]:7600",
                Some("http://[fd00::20]:7600/"),
            ),
            (
                Some("wss://hearth.example.org/relay"),
                "127.0.0.1:7600",
                Some("https://hearth.example.org/"),
            ),
            (
                Some("wss://example.org:8443/family/relay"),
                "127.0.0.1:7600",
                Some("https://example.org:8443/family/"),
            ),
            // A plain ws:// relay elsewhere does not make the device's page reachable.
            (
                Some("ws://relay.example.org:7600/relay"),
                "127.0.0.1:7600",
                None,
            ),
        ];
        for (relay, web, expected) in table {
            assert_eq!(
                phone_page(relay, addr(web)).as_deref(),
                expected,
                "relay {relay:?}, web server at {web}"
            );
        }
    }

    #[test]
    fn the_phone_link_of_a_config_carries_the_code() {
        let mut config = Config::default();
        assert_eq!(phone_link(&config, "hearth1.abc"), None);
        config.http.listen = "192.168.1.20:7600".parse().unwrap();
        assert_eq!(
            phone_link(&config, "hearth1.abc").as_deref(),
            Some("http://192.168.1.20:7600/#c=hearth1.abc")
        );
    }
}
