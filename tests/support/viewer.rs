//! Helpers for the tests that drive the family viewer page: its link, the
//! owner's edits to the contacts file, asking to watch, and reading the page.

use super::chromium::Page;
use hearth::contacts::{ContactBook, ContactStatus, Permission};
use hearth::device::Device;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

/// JavaScript: whether the element `id` is shown.
pub fn visible(id: &str) -> String {
    format!("!document.getElementById('{id}').hidden")
}

/// JavaScript: the text of the element `id`.
pub fn text_of(id: &str) -> String {
    format!("document.getElementById('{id}').textContent")
}

/// The device's page with its contact code in the fragment, as `hearth id` prints it.
pub fn link(device: &Device) -> String {
    let addr = device.http_addr.expect("the device serves its web page");
    hearth::web::viewer_link(
        &format!("http://127.0.0.1:{}/", addr.port()),
        &device.node.contact_code().to_text(),
    )
}

/// Changes the contacts file as `hearth contacts …` does; the device notices.
pub fn edit_contacts(dir: &Path, change: impl FnOnce(&mut ContactBook)) {
    let mut book = ContactBook::load(dir).unwrap();
    change(&mut book);
    book.save(dir).unwrap();
}

/// Approves `name` in the contact book on `dir` and allows it `allow`, as
/// `hearth contacts approve NAME` and `hearth contacts allow NAME …` do.
pub fn approve(dir: &Path, name: &str, allow: &[Permission]) {
    edit_contacts(dir, |book| {
        let contact = book.find_mut(name).unwrap();
        contact.status = ContactStatus::Approved;
        for p in allow {
            contact.permissions.set(*p, true);
        }
    });
}

/// Keeps a screenshot of the page under the test target's temporary directory.
pub async fn keep_screenshot(page: &Page, name: &str) -> Vec<u8> {
    let png = page.screenshot().await;
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.png"));
    std::fs::write(&path, &png).unwrap();
    png
}

/// Types `name` on the page, asks to watch, and waits until the device has
/// the request (`PENDING` in `hearth contacts list`).
pub async fn ask_to_watch(page: &Page, device_dir: &Path, name: &str) {
    page.wait_for("the name form", &visible("screen-name"))
        .await;
    keep_screenshot(page, "viewer-name").await;
    page.eval(&format!(
        "document.getElementById('name').value = {}; document.getElementById('ask').click(); true",
        json!(name)
    ))
    .await;
    page.wait_for("the waiting screen", &visible("screen-waiting"))
        .await;
    keep_screenshot(page, "viewer-waiting").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !ContactBook::load(device_dir)
        .unwrap()
        .find(name)
        .is_ok_and(|c| c.status == ContactStatus::Pending)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for the request on the device"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
