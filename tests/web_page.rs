//! The viewer page as the device's web server serves it: the embedded files
//! with their types and a strict Content Security Policy, nothing else — no
//! directory listing, no file outside the table.

mod support;

use support::harness::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends one HTTP/1.1 GET and returns the status line, the headers (lower-cased names) and the body.
async fn get(addr: std::net::SocketAddr, path: &str) -> (String, Vec<(String, String)>, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response");
    let head = String::from_utf8(response[..split].to_vec()).unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, response[split + 4..].to_vec())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_serves_the_viewer_with_a_strict_policy_and_nothing_else() {
    init_logs();
    let relay = TestRelay::start().await;
    let dir = tempfile::tempdir().unwrap();
    let device = start_device(dir.path(), &relay.url()).await;
    let addr = device.http_addr.expect("web server");

    let (status, headers, body) = get(addr, "/").await;
    assert!(status.contains("200"), "{status}");
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        header(&headers, "content-security-policy"),
        Some(hearth::web::CONTENT_SECURITY_POLICY)
    );
    assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));
    assert!(String::from_utf8(body).unwrap().contains("app.js"));

    for asset in hearth::web::ASSETS {
        let (status, headers, body) = get(addr, asset.path).await;
        assert!(status.contains("200"), "{}: {status}", asset.path);
        assert_eq!(header(&headers, "content-type"), Some(asset.content_type));
        assert!(header(&headers, "content-security-policy").is_some());
        assert_eq!(body, asset.bytes, "{}", asset.path);
    }

    for missing in [
        "/web/",
        "/web/app.js",
        "/../Cargo.toml",
        "/nope.js",
        "/index.html/",
    ] {
        let (status, _, _) = get(addr, missing).await;
        assert!(status.contains("404"), "{missing}: {status}");
    }
    let (status, _, body) = get(addr, "/healthz").await;
    assert!(status.contains("200") && body == b"ok", "{status}");
    device.stop().await;
}
