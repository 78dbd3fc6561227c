//! Damaged files never cost data. A real device fills its data directory
//! (contacts, identity, privacy, an outbox waiting for two contacts, an inbox
//! holding a photo and a thought); then every file in it, in turn, is zeroed,
//! halved and has a bit flipped, and the device is started on the damaged
//! copy. Each time it either refuses with a message naming the file, or
//! starts with everything else intact — and no file, no share, is ever gone.

mod support;

use hearth::api::LocalMedia;
use hearth::contacts::{ContactBook, Permission};
use hearth::device::shares::ShareRequest;
use hearth::device::Device;
use hearth::identity::Identity;
use hearth::keys::PeerKey;
use hearth::share::inbox::Inbox;
use hearth::share::ShareKind;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::harness::*;

async fn start_kitchen(dir: &Path, relay: &str) -> Result<Device, hearth::device::DeviceError> {
    let mut config = device_config(relay);
    config.share.retry_secs = 1;
    try_start_device_with(dir, config, None).await
}

async fn start_family(dir: &Path, relay: &str, name: &str) -> Device {
    let mut config = device_config(relay);
    config.name = name.into();
    config.share.retry_secs = 1;
    try_start_device_with(dir, config, Some(LocalMedia::none()))
        .await
        .expect("family device starts")
}

/// Every regular file under `dir`, by path relative to it, with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for item in std::fs::read_dir(dir).unwrap().flatten() {
            let path = item.path();
            let kind = item.file_type().unwrap();
            if kind.is_dir() {
                walk(root, &path, out);
            } else if kind.is_file() {
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The names of every file under `dir`, wherever it is (a file set aside
/// keeps its name).
fn names(dir: &Path) -> BTreeSet<String> {
    files(dir)
        .keys()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    for (rel, bytes) in files(from) {
        let path = to.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

fn inbox_ids(dir: &Path) -> BTreeSet<String> {
    Inbox::new(dir)
        .list()
        .unwrap()
        .into_iter()
        .map(|e| e.share.id)
        .collect()
}

fn stems(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_file())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".json").map(str::to_string)
        })
        .collect()
}

#[derive(Debug, Clone, Copy)]
enum Damage {
    Zero,
    Halve,
    /// Flips the lowest bit of the byte at this fraction (in quarters) of the file.
    FlipBit(usize),
}

impl Damage {
    /// Zeroed, halved, and a bit flipped at a quarter, the middle and three
    /// quarters of the file (so a flip lands in different fields).
    const ALL: [Damage; 5] = [
        Damage::Zero,
        Damage::Halve,
        Damage::FlipBit(1),
        Damage::FlipBit(2),
        Damage::FlipBit(3),
    ];

    fn apply(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            Damage::Zero => vec![],
            Damage::Halve => bytes[..bytes.len() / 2].to_vec(),
            Damage::FlipBit(_) if bytes.is_empty() => vec![],
            Damage::FlipBit(quarter) => {
                let mut out = bytes.to_vec();
                let at = out.len() * quarter / 4;
                out[at] ^= 0x01;
                out
            }
        }
    }
}

/// The populated data directory of "Kitchen", and the world around it.
struct Populated {
    dir: tempfile::TempDir,
    book: ContactBook,
    key: PeerKey,
    gran: PeerKey,
    ada: PeerKey,
    outbox: BTreeSet<String>,
    inbox: BTreeSet<String>,
}

/// Kitchen receives a photo and a thought from Gran (its inbox), then shares
/// a snapshot and a thought with Gran and Ada while both are offline (its
/// outbox), and toggles privacy (its saved switch). Returns Gran's device,
/// stopped, with its directory.
async fn populate(url: &str, gran_dir: &Path) -> Populated {
    let dir = tempfile::tempdir().unwrap();
    let ada_dir = tempfile::tempdir().unwrap();
    let kitchen = start_kitchen(dir.path(), url).await.unwrap();
    let gran = start_family(gran_dir, url, "Gran").await;
    befriend(
        &kitchen.node,
        &gran.node,
        &[Permission::Snapshots, Permission::TalkBack],
    )
    .await;
    let kitchen_key = kitchen.node.peer_key();
    gran.node
        .contacts()
        .update(move |book| {
            book.find_mut(&kitchen_key.to_string())
                .unwrap()
                .permissions
                .snapshots = true;
        })
        .await
        .unwrap();
    let ada_code = Identity::load_or_create(ada_dir.path())
        .unwrap()
        .contact_code("Ada", &[url.to_string()]);
    approve_contact(&kitchen.node, &ada_code, &[Permission::Snapshots]).await;
    wait_relay(&kitchen.node).await;
    wait_relay(&gran.node).await;
    kitchen
        .privacy(hearth::privacy::PrivacyInput::Set(true))
        .unwrap();
    kitchen
        .privacy(hearth::privacy::PrivacyInput::Set(false))
        .unwrap();

    let garden = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photo/garden.jpg"),
    )
    .unwrap();
    for (kind, photo) in [
        (ShareKind::Photo, Some(hearth::keys::b64(&garden))),
        (ShareKind::Thought, None),
    ] {
        gran.share(ShareRequest {
            kind,
            text: "from Gran".into(),
            photo,
            to: vec![],
        })
        .await
        .expect("Gran shares");
    }
    wait_until(
        "Kitchen's inbox holds Gran's two shares",
        Duration::from_secs(30),
        || Inbox::new(dir.path()).list().unwrap().len() == 2,
    )
    .await;
    gran.stop().await;
    drop(gran);

    for kind in [ShareKind::Snapshot, ShareKind::Thought] {
        kitchen
            .share(ShareRequest {
                kind,
                text: "from the kitchen".into(),
                photo: None,
                to: vec![],
            })
            .await
            .expect("Kitchen shares");
    }
    let populated = Populated {
        book: kitchen.node.contacts().snapshot(),
        key: kitchen.node.peer_key(),
        gran: gran_key(gran_dir),
        ada: ada_code.peer_key,
        outbox: stems(&dir.path().join("outbox")),
        inbox: inbox_ids(dir.path()),
        dir,
    };
    kitchen.stop().await;
    drop(kitchen);
    assert_eq!(populated.outbox.len(), 2, "two shares wait");
    assert_eq!(populated.inbox.len(), 2, "two shares received");
    populated
}

fn gran_key(dir: &Path) -> PeerKey {
    Identity::load_or_create(dir).unwrap().peer_key()
}

/// The outbox as the device reports it: contact name → shares waiting.
fn waiting(device: &Device) -> BTreeMap<String, usize> {
    device
        .status()
        .outbox
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// What the device reports as set aside.
fn set_aside(status: &hearth::device::socket::Status) -> Vec<String> {
    status.damaged.clone()
}

fn name_in(book: &ContactBook, key: &PeerKey) -> String {
    book.get(key)
        .map_or_else(|| key.short(), |c| c.name.clone())
}

/// Records a failed expectation and goes on with the next case, so one run
/// shows every file whose damage costs data.
macro_rules! check {
    ($problems:ident, $cond:expr, $($arg:tt)+) => {
        if !$cond {
            let problem = format!($($arg)+);
            eprintln!("PROBLEM: {problem}");
            $problems.push(problem);
        }
    };
}

macro_rules! check_eq {
    ($problems:ident, $left:expr, $right:expr, $($arg:tt)+) => {
        let (left, right) = (&$left, &$right);
        if left != right {
            let problem = format!("{}: {left:?} != {right:?}", format!($($arg)+));
            eprintln!("PROBLEM: {problem}");
            $problems.push(problem);
        }
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_file_zeroed_halved_or_flipped_costs_no_share() {
    init_logs();
    let relay = TestRelay::start().await;
    let url = relay.url();
    let gran_dir = tempfile::tempdir().unwrap();
    let populated = populate(&url, gran_dir.path()).await;
    let pristine = files(populated.dir.path());
    let pristine_names = names(populated.dir.path());
    // Gran stays online from now on: each damaged start must deliver to her.
    let gran = start_family(gran_dir.path(), &url, "Gran").await;
    wait_relay(&gran.node).await;

    let mut problems: Vec<String> = vec![];
    let mut refused = vec![];
    let mut started = vec![];
    for (rel, bytes) in &pristine {
        for damage in Damage::ALL {
            let case = format!("{} {damage:?}", rel.display());
            let copy = tempfile::tempdir().unwrap();
            copy_dir(populated.dir.path(), copy.path());
            let target = copy.path().join(rel);
            let damaged = damage.apply(bytes);
            if damaged == *bytes {
                continue; // an empty file (hearth.lock) cannot be damaged further
            }
            std::fs::write(&target, &damaged).unwrap();
            let in_outbox = rel.starts_with("outbox");
            let in_inbox = rel.starts_with("inbox");
            let stem = rel.file_stem().unwrap().to_string_lossy().into_owned();

            match start_kitchen(copy.path(), &url).await {
                Err(e) => {
                    let message = e.to_string();
                    check!(
                        problems,
                        message.contains(&target.display().to_string()),
                        "{case}: the refusal names the file: {message}"
                    );
                    let now = files(copy.path());
                    for (other, content) in &pristine {
                        let expected = if other == rel { &damaged } else { content };
                        check_eq!(
                            problems,
                            now.get(other),
                            Some(expected),
                            "{case}: a refusing device left {} as it was",
                            other.display()
                        );
                    }
                    refused.push(case.clone());
                }
                Ok(device) => {
                    check_eq!(
                        problems,
                        device.node.peer_key(),
                        populated.key,
                        "{case}: the device started as itself, not as a stranger"
                    );
                    if hearth::privacy::PrivacyState::load(copy.path()).is_err() {
                        check!(
                            problems,
                            device.status().private,
                            "{case}: an unreadable privacy switch fails safe (privacy ON)"
                        );
                    }
                    let book = device.node.contacts().snapshot();
                    if rel != Path::new("contacts.toml") {
                        check_eq!(problems, book, populated.book, "{case}: contacts intact");
                    }
                    let healthy = if in_outbox {
                        populated.outbox.len() - 1
                    } else {
                        populated.outbox.len()
                    };
                    let ada = name_in(&book, &populated.ada);
                    let gran_gets_it = book
                        .approved(&populated.gran)
                        .is_some_and(|c| c.allows(Permission::Snapshots));
                    if gran_gets_it {
                        let expected = BTreeMap::from([(ada.clone(), healthy)]);
                        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
                        while waiting(&device) != expected && tokio::time::Instant::now() < deadline
                        {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        check_eq!(
                            problems,
                            waiting(&device),
                            expected,
                            "{case}: delivered to Gran, still waiting for Ada"
                        );
                    } else {
                        // Give the deliverer time to try every contact at least twice.
                        tokio::time::sleep(Duration::from_millis(2500)).await;
                        let gran = name_in(&book, &populated.gran);
                        let expected = BTreeMap::from([(ada.clone(), healthy), (gran, healthy)]);
                        check_eq!(
                            problems,
                            waiting(&device),
                            expected,
                            "{case}: shares still wait for both"
                        );
                    }
                    let status = device.status();
                    if in_outbox {
                        check!(
                            problems,
                            set_aside(&status).iter().any(|d| d.contains(&stem)),
                            "{case}: the damaged share is reported: {:?}",
                            set_aside(&status)
                        );
                    }
                    let listed = inbox_ids(copy.path());
                    for id in &populated.inbox {
                        if !listed.contains(id) {
                            check!(
                                problems,
                                in_inbox && *id == stem,
                                "{case}: inbox share {id} is still listed"
                            );
                            check!(
                                problems,
                                set_aside(&status).iter().any(|d| d.contains(id.as_str())),
                                "{case}: the damaged inbox share is reported: {:?}",
                                set_aside(&status)
                            );
                        }
                    }
                    for entry in Inbox::new(copy.path()).list().unwrap() {
                        if let Some(path) = entry.jpeg_path {
                            let jpeg = std::fs::read(&path).unwrap_or_default();
                            check!(
                                problems,
                                entry.share.jpeg_ok(&jpeg),
                                "{case}: a listed inbox photo is whole"
                            );
                        }
                    }
                    device.stop().await;
                    drop(device);
                    started.push(case.clone());
                }
            }
            let now = names(copy.path());
            let lost: Vec<&String> = pristine_names.difference(&now).collect();
            check!(
                problems,
                lost.is_empty(),
                "{case}: files are gone: {lost:?}"
            );
        }
    }
    eprintln!("refused: {refused:?}\nstarted: {started:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        refused.iter().any(|c| c.starts_with("contacts.toml Zero")),
        "an empty contacts file is refused"
    );
    gran.stop().await;
}
