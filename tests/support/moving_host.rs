//! A host whose address can change under a running test: the test's body
//! runs on a thread of its own in a private network namespace (the "home"
//! host, where an in-process device lives), joined by a veth pair to a named
//! namespace (the "far" host, where processes run with `ip netns exec`).
//! Changing the home address is `ip addr add`/`del` on the home end of the
//! veth. Nothing is visible outside the test: the private namespace ends
//! with its thread, and the named one is deleted on drop.

use super::netns::{ip, rand_suffix};
use std::process::Command;

/// Runs `body` on a new thread in a fresh network namespace (loopback up),
/// with a tokio runtime whose threads are in it too. Needs root.
pub fn in_private_net<T: Send + 'static>(
    body: impl FnOnce(tokio::runtime::Runtime) -> T + Send + 'static,
) -> T {
    std::thread::spawn(move || {
        // SAFETY: unshare only changes this thread's namespaces; threads and
        // processes started from it inherit the new one.
        let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(
            rc,
            0,
            "unshare(CLONE_NEWNET) failed (needs root): {}",
            std::io::Error::last_os_error()
        );
        ip(&["link", "set", "lo", "up"]);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        body(runtime)
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The far host: a named namespace joined to this thread's by a veth pair.
pub struct FarHost {
    /// The namespace's name (unique to this run).
    pub ns: String,
    /// The home end of the veth, in the caller's namespace.
    pub home_if: String,
}

impl FarHost {
    /// Creates the far namespace, with `far_cidr` on its end, and puts
    /// `home_cidr` on the home end. Call from inside [`in_private_net`].
    pub fn join(home_cidr: &str, far_cidr: &str) -> FarHost {
        let tag = format!("{}x{}", std::process::id() % 100_000, rand_suffix());
        let host = FarHost {
            ns: format!("hfar{tag}"),
            home_if: format!("vh{tag}"),
        };
        let far_if = format!("vf{tag}");
        ip(&["netns", "add", &host.ns]);
        ip(&[
            "link",
            "add",
            &host.home_if,
            "type",
            "veth",
            "peer",
            "name",
            &far_if,
            "netns",
            &host.ns,
        ]);
        // No IPv6 link-local addresses: their duplicate-address detection
        // ends a second or two after the link comes up, and a browser started
        // meanwhile takes that for a network change (ERR_NETWORK_CHANGED)
        // and drops the page it was loading.
        ip(&["link", "set", &host.home_if, "addrgenmode", "none"]);
        ip(&[
            "-n",
            &host.ns,
            "link",
            "set",
            &far_if,
            "addrgenmode",
            "none",
        ]);
        ip(&["addr", "add", home_cidr, "dev", &host.home_if]);
        ip(&["link", "set", &host.home_if, "up"]);
        ip(&["-n", &host.ns, "addr", "add", far_cidr, "dev", &far_if]);
        ip(&["-n", &host.ns, "link", "set", &far_if, "up"]);
        ip(&["-n", &host.ns, "link", "set", "lo", "up"]);
        host
    }

    /// A command that runs `program` on the far host.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.ns, program]);
        command
    }

    /// Moves the home host from `from` to `to` (both `ADDR/PREFIX`): the old
    /// address goes, the new one comes, as after a DHCP lease that changed.
    /// (Adding first would not do: deleting a subnet's primary address takes
    /// its secondaries with it.)
    pub fn move_home(&self, from: &str, to: &str) {
        ip(&["addr", "del", from, "dev", &self.home_if]);
        ip(&["addr", "add", to, "dev", &self.home_if]);
    }
}

impl Drop for FarHost {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}
