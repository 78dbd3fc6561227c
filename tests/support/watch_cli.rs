//! The `hearth` binary as a family member and an owner use it, for tests that
//! time what they see: `hearth watch` runs as a child process whose stdout
//! lines are kept with the instant each arrived, and the owner's commands
//! (`hearth privacy on`, `hearth contacts allow …`) run to completion with the
//! instant they were started, so a test measures from the command.

use hearth::contacts::{ContactStatus, Permission};
use hearth::device::Device;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Runs `hearth --data-dir DIR ARGS…` to completion (off the async runtime);
/// returns when it was started and its output, after checking it succeeded.
pub async fn owner_command(dir: &Path, args: &[&str]) -> (Instant, Output) {
    let mut command = super::cli::command(dir, args);
    let (started, output) = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let output = command.output().expect("hearth runs");
        (started, output)
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "hearth failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (started, output)
}

/// A family member's machine with the `hearth` binary: its own data directory,
/// paired with `device`, which allows it `allow`. Named `name` on the device.
pub struct FamilyMember {
    pub dir: tempfile::TempDir,
}

impl FamilyMember {
    /// Makes the identity, adds the device as a contact here, and has the
    /// owner add this member (approved) with `allow`.
    pub async fn pair(device: &Device, name: &str, allow: &[Permission]) -> FamilyMember {
        let dir = tempfile::tempdir().unwrap();
        let (_, id) = owner_command(dir.path(), &["id", "--quiet"]).await;
        let code = hearth::identity::ContactCode::parse(String::from_utf8_lossy(&id.stdout).trim())
            .unwrap();
        let (name, allow) = (name.to_string(), allow.to_vec());
        device
            .node
            .contacts()
            .update(move |book| {
                book.upsert(&code, ContactStatus::Approved);
                let entry = book.find_mut(&code.peer_key.to_string()).unwrap();
                entry.name = name;
                for p in allow {
                    entry.permissions.set(p, true);
                }
            })
            .await
            .unwrap();
        let device_code = device.node.contact_code().to_text();
        owner_command(dir.path(), &["contacts", "add", &device_code]).await;
        std::fs::write(
            dir.path().join("hearth.toml"),
            "[webrtc]\nudp_addresses = [\"127.0.0.1\"]\n[relay]\nembedded = false\n",
        )
        .unwrap();
        FamilyMember { dir }
    }

    /// Starts `hearth watch WHO` for at most `seconds`.
    pub fn watch(&self, who: &str, seconds: u64) -> Watch {
        self.watch_with(Command::new(super::cli::BIN), who, seconds)
    }

    /// Like [`FamilyMember::watch`], run by `command` (the `hearth` binary,
    /// e.g. inside a network namespace).
    pub fn watch_with(&self, command: Command, who: &str, seconds: u64) -> Watch {
        self.watch_sending(command, who, seconds, &[])
    }

    /// Like [`FamilyMember::watch_with`], with more `hearth watch` flags
    /// (`--camera`, `--talk`).
    pub fn watch_sending(
        &self,
        mut command: Command,
        who: &str,
        seconds: u64,
        flags: &[&str],
    ) -> Watch {
        let config = self.dir.path().join("hearth.toml");
        command
            .arg("--data-dir")
            .arg(self.dir.path())
            .arg("--config")
            .arg(&config)
            .args(["watch", who, "--seconds", &seconds.to_string()])
            .args(flags)
            .env("HEARTH_LOG", "warn");
        Watch::spawn(command)
    }
}

/// A running `hearth watch`, and every line it printed so far.
pub struct Watch {
    child: Child,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Watch {
    /// Starts `command` (a `hearth watch`, made by the caller: in a network
    /// namespace, say) and keeps every line it prints.
    pub fn spawn(mut command: Command) -> Watch {
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("hearth watch starts");
        let stdout = child.stdout.take().unwrap();
        let lines: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
        let kept = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                println!("[hearth watch] {line}");
                kept.lock().unwrap().push((Instant::now(), line));
            }
        });
        Watch {
            child,
            lines,
            reader: Some(reader),
        }
    }

    /// Every line so far.
    pub fn lines(&self) -> Vec<(Instant, String)> {
        self.lines.lock().unwrap().clone()
    }

    /// The first line printed at or after `since` that `found` accepts, waiting
    /// at most `limit`; returns when it arrived and its text.
    pub async fn line_after(
        &self,
        since: Instant,
        what: &str,
        limit: Duration,
        found: impl Fn(&str) -> bool,
    ) -> (Instant, String) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(hit) = self
                .lines()
                .into_iter()
                .find(|(at, line)| *at >= since && found(line))
            {
                return hit;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for `hearth watch` to print {what}; it printed:\n{}",
                self.transcript()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Everything printed so far, one line each.
    pub fn transcript(&self) -> String {
        self.lines()
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits for the process to end by itself (its `--seconds`); returns every line.
    pub async fn finish(mut self) -> Vec<String> {
        let mut child = std::mem::replace(
            &mut self.child,
            Command::new("true").spawn().expect("true runs"),
        );
        let reader = self.reader.take();
        tokio::task::spawn_blocking(move || {
            let _ = child.wait();
            if let Some(reader) = reader {
                let _ = reader.join();
            }
        })
        .await
        .unwrap();
        self.lines().into_iter().map(|(_, l)| l).collect()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test-pattern frame number a `hearth watch` line names (`frame #N`).
fn frame_number(line: &str) -> Option<u64> {
    line.split("frame #")
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// A once-a-second line's frames decoded and the last test-pattern frame
/// number: `  video 30 fps (30 decoded, frame #29), …`.
pub fn second_line(line: &str) -> Option<(u64, u64)> {
    Some((decoded_count(line)?, frame_number(line)?))
}

/// The `(N decoded` count of a once-a-second line.
fn decoded_count(line: &str) -> Option<u64> {
    line.split(" decoded")
        .next()?
        .rsplit('(')
        .next()?
        .trim()
        .parse()
        .ok()
}

/// A decoded frame in one of `hearth watch`'s lines, and its test-pattern
/// number when it has one: the immediate "Picture from …" line, or a
/// once-a-second line with more than zero frames decoded.
pub fn decoded_frame(line: &str) -> Option<Option<u64>> {
    let number = frame_number(line);
    if line.starts_with("Picture from ") {
        return Some(number);
    }
    (decoded_count(line)? > 0).then_some(number)
}
