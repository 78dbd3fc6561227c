//! aiortc (from PyPI, in a venv under the test target's temporary directory,
//! made once and then reused) as an independent WebRTC peer.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The aiortc release the tests use.
pub const AIORTC: &str = "aiortc==1.16.0";

/// The venv's python, with aiortc importable.
pub fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("aiortc-venv");
    let python = venv.join("bin/python");
    let ready = |python: &Path| {
        Command::new(python)
            .args(["-c", "import aiortc"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if ready(&python) {
        return python;
    }
    // Tests that run at once (threads of one binary, or several binaries)
    // must not make the venv over each other: `--clear` under a running pip
    // removes it. One makes it; the others wait, then find it ready.
    let lock = std::fs::File::create(venv.with_extension("lock")).expect("venv lock file");
    lock.lock().expect("lock the venv");
    if ready(&python) {
        return python;
    }
    let made = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv)
        .status()
        .expect("run python3 (apt-get install python3 python3-venv)");
    assert!(
        made.success(),
        "python3 -m venv failed: apt-get install python3-venv"
    );
    let pip = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", AIORTC])
        .status()
        .expect("run pip");
    assert!(pip.success(), "pip install {AIORTC} failed");
    assert!(ready(&python), "aiortc installed but does not import");
    python
}
