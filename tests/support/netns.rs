//! Two network namespaces joined by a veth pair, for tests that need two
//! hosts (aiortc never offers 127.0.0.1). The addresses exist only inside the
//! namespaces; everything is removed on drop, even when the test fails.

use std::process::{Child, Command};

/// The device's side and the player's side.
pub const DEVICE_IP: &str = "10.77.0.1";
/// The player's address.
pub const PLAYER_IP: &str = "10.77.0.2";

/// Two namespaces, and the processes started in them (killed first on drop).
pub struct NetPair {
    pub device: String,
    pub player: String,
    children: Vec<Child>,
}

/// Runs `ip ARGS…` in the calling thread's namespace, checking it succeeded.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("run `ip` (apt-get install iproute2)");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl NetPair {
    /// Creates the namespaces and the link, with names unique to this process.
    pub fn create() -> NetPair {
        let tag = format!("{}x{}", std::process::id(), rand_suffix());
        let pair = NetPair {
            device: format!("hwd{tag}"),
            player: format!("hwp{tag}"),
            children: vec![],
        };
        let (dev_if, player_if) = (format!("vd{tag}"), format!("vp{tag}"));
        ip(&["netns", "add", &pair.device]);
        ip(&["netns", "add", &pair.player]);
        ip(&[
            "link", "add", &dev_if, "type", "veth", "peer", "name", &player_if,
        ]);
        for (ns, ifname, addr) in [
            (&pair.device, &dev_if, DEVICE_IP),
            (&pair.player, &player_if, PLAYER_IP),
        ] {
            ip(&["link", "set", ifname, "netns", ns]);
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                ifname,
            ]);
            ip(&["-n", ns, "link", "set", ifname, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        pair
    }

    /// A command that runs `program` inside namespace `ns`.
    pub fn command(ns: &str, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", ns, program]);
        command
    }

    /// Keeps `child` to be killed before the namespaces go.
    pub fn adopt(&mut self, child: Child) -> usize {
        self.children.push(child);
        self.children.len() - 1
    }

    /// A process adopted earlier.
    pub fn child(&mut self, index: usize) -> &mut Child {
        &mut self.children[index]
    }
}

/// A number below 1000 that differs from run to run, for unique names.
pub fn rand_suffix() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    (h.finish() % 1000) as u32
}

impl Drop for NetPair {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in [&self.device, &self.player] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}
