//! Every screen at both sizes against a committed golden PNG: draw, then compare.
//!
//! A mismatch fails and writes the new picture next to the test binary's temporary
//! directory so it can be looked at. After an intended change, rewrite the goldens with
//! `UPDATE_GOLDEN=1 cargo test --test hw_display`, look at them, and commit them.

use std::path::{Path, PathBuf};

use embedded_graphics::prelude::*;
use hearth::hardware::display::png::{count_differences, load_png, render_rgb, save_png, SIZES};
use hearth::hardware::display::{Home, Network, Received, Screen, Thumbnail};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn photo() -> Thumbnail {
    let jpeg = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photo/garden.jpg"),
    )
    .unwrap();
    Thumbnail::from_jpeg(&jpeg).unwrap()
}

/// A contact's camera (the test pattern, frame 40) as the small screen gets it.
fn contact_picture() -> Thumbnail {
    use hearth::hardware::picture::{PictureOutput, ScreenPictureOutput};
    let (mut output, feed) = ScreenPictureOutput::new(Size::new(240, 240));
    let frame = hearth::media::TestPattern::new(320, 240).unwrap().frame(40);
    output.show(&frame, "Grandma").unwrap();
    let shown = feed.borrow().clone().unwrap();
    shown.picture
}

fn home(private: bool, watchers: &[&str], network: Network) -> Screen {
    Screen::Home(Home {
        private,
        watchers: watchers.iter().map(|s| s.to_string()).collect(),
        network,
    })
}

/// A real contact code (a throw-away key, one relay URL), fixed so the QR code is stable.
const CODE: &str = "hearth1.Aakafcg03Og5W4YnOvCmf-2ja4sbH1pB1eBKMFy1bSniNIsszCe4UlDnLzIwEHGPPBy3fsj2QTVyL4VUlDqDqFkOS2l0Y2hlbiBjYW1lcmEBHHdzOi8vMTkyLjE2OC4xLjIwOjc2MDAvcmVsYXk8xZsaq0e6CXkCN5tebPgkto7HTRLXSzfMGZ9jxBNFD94IvjgFaHHWpHSiwVxIIbKOicONHREIZiCNln9OnNEB";

fn screens() -> Vec<(&'static str, Screen)> {
    vec![
        ("home_private", home(true, &[], Network::Online)),
        ("home_ready", home(false, &[], Network::Online)),
        ("home_live", home(false, &["Grandma"], Network::Online)),
        (
            "home_live_many",
            home(
                false,
                &["Grandma", "Tom", "Aunt Zoë", "Sam"],
                Network::Connecting,
            ),
        ),
        ("home_offline", home(true, &[], Network::Offline)),
        (
            "pairing",
            Screen::Pairing {
                device_name: "Kitchen camera".into(),
                code: CODE.into(),
            },
        ),
        (
            "pairing_needs_relay",
            Screen::PairingNeedsRelay {
                device_name: "Kitchen camera".into(),
            },
        ),
        (
            "relay_unreachable",
            Screen::RelayUnreachable {
                relay: "hearth.example.org".into(),
            },
        ),
        (
            "approval",
            Screen::Approval {
                name: "Grandma Rose".into(),
            },
        ),
        (
            "snapshot_sent",
            Screen::SnapshotSent {
                delivered: 2,
                total: 3,
            },
        ),
        (
            "snapshot_waiting",
            Screen::SnapshotSent {
                delivered: 0,
                total: 1,
            },
        ),
        (
            "thought_sent",
            Screen::ThoughtSent {
                delivered: 1,
                total: 2,
            },
        ),
        (
            "snapshot_everyone",
            Screen::SnapshotSent {
                delivered: 3,
                total: 3,
            },
        ),
        (
            "received_text",
            Screen::Received {
                from: "Grandma".into(),
                content: Received::Text("Thinking of you all! See you on Sunday for lunch.".into()),
            },
        ),
        (
            "received_photo",
            Screen::Received {
                from: "Tom".into(),
                content: Received::Photo(photo()),
            },
        ),
        (
            "picture",
            Screen::Picture {
                from: "Grandma".into(),
                picture: contact_picture(),
                watchers: vec![],
            },
        ),
        (
            "picture_live",
            Screen::Picture {
                from: "Grandma".into(),
                picture: contact_picture(),
                watchers: vec!["Tom".into()],
            },
        ),
        (
            "error",
            Screen::Error {
                message: "The camera is not connected. Check its cable, then wait a moment.".into(),
            },
        ),
    ]
}

#[test]
fn every_screen_matches_its_golden_image() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("golden-actual");
    std::fs::create_dir_all(&out).unwrap();
    let mut failures = Vec::new();
    for (name, screen) in screens() {
        for size in SIZES {
            let file = format!("{name}_{}x{}.png", size.width, size.height);
            let image = render_rgb(&screen, size);
            let golden = golden_dir().join(&file);
            if update {
                save_png(&image, &golden, 1).unwrap();
                continue;
            }
            let differing = match load_png(&golden) {
                Ok(expected) => count_differences(&image, &expected),
                Err(_) => None,
            };
            if differing != Some(0) {
                let actual = out.join(&file);
                save_png(&image, &actual, 1).unwrap();
                failures.push(format!(
                    "{file}: {} (new picture: {})",
                    differing.map_or("missing or another size".into(), |n| format!(
                        "{n} pixels differ"
                    )),
                    actual.display()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "screens differ from tests/golden; if the change is intended, run \
         `UPDATE_GOLDEN=1 cargo test --test hw_display`, look at the pictures and commit \
         them:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_comparison_notices_a_changed_screen() {
    let size = SIZES[0];
    let private = render_rgb(&home(true, &[], Network::Online), size);
    let live = render_rgb(&home(false, &["Grandma"], Network::Online), size);
    assert!(count_differences(&private, &live).unwrap() > 1000);
    assert_eq!(count_differences(&private, &private.clone()), Some(0));
}

#[test]
fn every_screen_draws_inside_the_panel_and_leaves_no_panel_blank() {
    for (name, screen) in screens() {
        for size in SIZES {
            let image = render_rgb(&screen, size);
            let background =
                image.get_pixel(Point::new(size.width as i32 / 2, size.height as i32 - 1));
            let drawn = image
                .bounding_box()
                .points()
                .filter(|p| image.get_pixel(*p) != background)
                .count();
            let total = (size.width * size.height) as usize;
            assert!(
                drawn > total / 50,
                "{name} at {size:?}: only {drawn} pixels drawn"
            );
        }
    }
}
