//! Every input a fuzz target ever crashed on, replayed through the same
//! target code (`fuzz/src`, included here) on every test run: each file under
//! `tests/fuzz-regressions/<target>/` must be refused or accepted cleanly,
//! never panic. `scripts/fuzz` finds them; see RELIABILITY.md, "Fuzzing".
//!
//! The ignored test `write_fuzz_seeds` writes the seed corpora under
//! `fuzz/corpus/` (`cargo test --test fuzz_regressions -- --ignored`).

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod hearth_fuzz;

#[path = "fuzz_regressions/seeds.rs"]
mod seeds;

use std::path::{Path, PathBuf};

/// A fuzz target's entry point: panics only on a bug.
type Target = fn(&[u8]);

/// Each target's name and entry point, as `fuzz/fuzz_targets/` has them.
const TARGETS: &[(&str, Target)] = &[
    ("relay_frames", hearth_fuzz::relay_frames::run),
    ("envelope", hearth_fuzz::envelope::run),
    ("signal", hearth_fuzz::signal::run),
    ("share", hearth_fuzz::share::run),
    ("contact_code", hearth_fuzz::contact_code::run),
    ("whep_offer", hearth_fuzz::whep_offer::run),
    ("config_toml", hearth_fuzz::config_toml::run),
    ("data_dir", hearth_fuzz::data_dir::run),
];

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_saved_crash_is_handled_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (name, run) in TARGETS {
        for file in files_in(&root.join(name)) {
            let data = std::fs::read(&file).expect("a regression file");
            replayed += 1;
            if std::panic::catch_unwind(|| run(&data)).is_err() {
                failures.push(file.display().to_string());
            }
        }
    }
    assert!(
        replayed > 0,
        "no regression inputs found under {}",
        root.display()
    );
    assert!(failures.is_empty(), "these inputs panic: {failures:#?}");
}

#[test]
fn every_seed_runs_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (name, run) in TARGETS {
        let files = files_in(&root.join(name));
        assert!(!files.is_empty(), "no seeds for {name}");
        for file in files {
            let data = std::fs::read(&file).expect("a seed");
            run(&data);
        }
    }
}

#[test]
#[ignore = "writes the seed corpora under fuzz/corpus; run by hand"]
fn write_fuzz_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (target, name, bytes) in seeds::all() {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
