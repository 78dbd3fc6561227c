//! `kill -9` during outbox writes, 60 times: after every kill the outbox
//! opens, every file in it is whole and verifies, and every share the writer
//! reported as queued is still there for the recipient it did not finish.

use hearth::share::outbox::{Outbox, OutboxLimits};
use rand::Rng;
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const KILLS: usize = 60;

#[test]
fn kill_9_during_outbox_writes_loses_and_corrupts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let limits = OutboxLimits {
        max_shares: usize::MAX,
        max_bytes: u64::MAX,
    };
    let mut queued: HashSet<String> = HashSet::new();
    let mut done: HashSet<String> = HashSet::new();
    let mut rng = rand::thread_rng();
    for round in 0..KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
            .args(["--data-dir", dir.path().to_str().unwrap(), "outbox-stress"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the writer");
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<String>>()
        });
        std::thread::sleep(Duration::from_millis(rng.gen_range(20..250)));
        // SIGKILL: no destructors, no flushing, like pulling the plug on the process.
        child.kill().unwrap();
        child.wait().unwrap();
        for line in reader.join().unwrap() {
            match line.split_once(' ') {
                Some(("queued", id)) => queued.insert(id.to_string()),
                Some(("done", id)) => done.insert(id.to_string()),
                _ => panic!("unexpected output {line:?}"),
            };
        }
        let outbox =
            Outbox::open(dir.path(), limits).unwrap_or_else(|e| panic!("round {round}: {e}"));
        let listed = outbox
            .list()
            .unwrap_or_else(|e| panic!("round {round}: a torn record: {e}"));
        // A torn record would be set aside rather than fail the listing.
        assert!(
            outbox.damaged().is_empty(),
            "round {round}: a torn record was set aside: {:?}",
            outbox.damaged()
        );
        let by_id: HashMap<_, _> = listed.iter().map(|q| (q.share.id.clone(), q)).collect();
        for q in &listed {
            outbox
                .jpeg(&q.share)
                .unwrap_or_else(|e| panic!("round {round}: a torn photo: {e}"));
        }
        for id in &queued {
            let q = by_id
                .get(id)
                .unwrap_or_else(|| panic!("round {round}: share {id} was acknowledged and lost"));
            // Once `done` was reported, exactly one recipient waits; before
            // that, one or both (the removal may have landed unreported).
            let ok = match done.contains(id) {
                true => q.pending.len() == 1,
                false => (1..=2).contains(&q.pending.len()),
            };
            assert!(
                ok,
                "round {round}: share {id} waits for {} recipients",
                q.pending.len()
            );
        }
        for name in std::fs::read_dir(dir.path().join("outbox")).unwrap() {
            let name = name.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                !name.starts_with('.'),
                "round {round}: a temporary file survived opening: {name}"
            );
        }
    }
    assert!(
        queued.len() >= 10,
        "the writer made progress: {} shares",
        queued.len()
    );
}
