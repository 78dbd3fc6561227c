//! A small internet in network namespaces, for tests that cross NATs: an
//! "internet" namespace with a server address (for the relay, coturn, a STUN
//! server), and two homes, each a host behind its own router that does NAT
//! with nftables. The homes' private networks are not routed anywhere: a
//! packet from one home reaches the other only through the routers' public
//! addresses, across the internet namespace.
//!
//! ```text
//!   home A host 192.168.1.10 ─ router A (NAT) 198.51.100.2 ┐
//!                                                          ├─ internet: server 203.0.113.10
//!   home B host 192.168.2.10 ─ router B (NAT) 192.0.2.2    ┘  (forwards between the routers)
//! ```
//!
//! ```ignore
//! let net = Topology::build(NatKind::Cone, NatKind::Symmetric);
//! let relay = net.internet.spawn(net.internet.command(BIN).args(["relay", "--listen", …]));
//! let device = net.home_a.spawn(net.home_a.command(BIN).args(["run"]));
//! let socket = net.home_b.connect_tcp("127.0.0.1:9222".parse()?); // e.g. a browser's DevTools
//! ```
//!
//! Namespace names are unique per topology, so tests run in parallel. On drop
//! — also when the test panics — every process in the namespaces is killed
//! and the namespaces (with their links) are deleted. Needs root, `ip`
//! (iproute2) and `nft` (nftables).

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// The internet's server address: where the relay, coturn and STUN listen.
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
/// Router A's public address (what home A looks like from the internet).
/// The public addresses are documentation ranges, which a TURN server
/// configured like `systemd/turnserver.conf.example` relays to (it denies
/// private and carrier-grade NAT ranges).
pub const ROUTER_A_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
/// Router B's public address.
pub const ROUTER_B_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// The host in home A (its private address).
pub const HOME_A_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 10);
/// The host in home B (its private address).
pub const HOME_B_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 2, 10);

/// How a home's router maps its hosts' addresses. Either way it drops what
/// comes unasked to its own public address, as home routers do: an unasked
/// packet it merely answered would leave a connection-tracking entry that
/// takes the very port an outgoing mapping wants, and break hole punching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatKind {
    /// Cone-like (nftables `masquerade`): a host's socket keeps one public
    /// port whatever it talks to, so STUN's answer is good for any peer.
    Cone,
    /// Symmetric (`masquerade random,fully-random`): every destination gets a
    /// fresh random public port, so STUN's answer is good for the STUN server
    /// alone and only a TURN relay gets media through.
    Symmetric,
}

/// One namespace: a host, a router or the internet.
#[derive(Debug, Clone)]
pub struct Host {
    /// The namespace's name (for `ip netns exec`).
    pub ns: String,
    /// Its address: the host's private one, a router's public one, the server's.
    pub ip: Ipv4Addr,
}

/// The whole network; see the module documentation.
pub struct Topology {
    /// The internet: [`SERVER_IP`], forwarding between the routers.
    pub internet: Host,
    /// Home A's router ([`ROUTER_A_IP`]).
    pub router_a: Host,
    /// Home B's router ([`ROUTER_B_IP`]).
    pub router_b: Host,
    /// The host in home A ([`HOME_A_IP`]).
    pub home_a: Host,
    /// The host in home B ([`HOME_B_IP`]).
    pub home_b: Host,
}

/// A process started in a namespace; killed (with its process group) on drop.
pub struct Process {
    child: Child,
}

impl Process {
    /// The child process (its pipes, its pid).
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Whether it has exited, and how.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command that must succeed (setting the network up).
fn run(command: &mut Command, input: Option<&str>) {
    use std::io::Write;
    let described = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{described}: {e} (the NAT tests need iproute2 and nftables, and root)")
        });
    let mut stdin = child.stdin.take().unwrap();
    if let Some(input) = input {
        stdin.write_all(input.as_bytes()).unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{described}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ip(args: &[&str]) {
    run(Command::new("ip").args(args), None);
}

impl Host {
    /// A command that runs `program` in this namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.ns]).arg(program);
        command
    }

    /// Runs `program ARGS…` here to completion and returns its output.
    pub fn exec(&self, program: &str, args: &[&str]) -> Output {
        self.command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{program} in {}: {e}", self.ns))
    }

    /// Starts `command` (made with [`Host::command`]) in its own process
    /// group; it is killed when the [`Process`] is dropped, and at the latest
    /// with the topology.
    pub fn spawn(&self, command: &mut Command) -> Process {
        let child = command
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("start {command:?}: {e}"));
        Process { child }
    }

    /// A TCP connection made from inside this namespace (to a browser's
    /// DevTools port on its loopback, say); usable from any thread after.
    pub fn connect_tcp(&self, addr: SocketAddr) -> std::io::Result<TcpStream> {
        let path = format!("/var/run/netns/{}", self.ns);
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    use std::os::fd::AsRawFd;
                    let ns = std::fs::File::open(&path)?;
                    // Only this short-lived thread moves into the namespace.
                    if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    TcpStream::connect(addr)
                })
                .join()
                .expect("the connecting thread")
        })
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Topology {
    /// Builds the network with home A behind `a` and home B behind `b`.
    /// Panics (the test fails) if the namespaces cannot be made.
    pub fn build(a: NatKind, b: NatKind) -> Topology {
        let tag = format!(
            "{}{}",
            std::process::id() % 100_000,
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let host = |role: &str, ip: Ipv4Addr| Host {
            ns: format!("hn{tag}{role}"),
            ip,
        };
        let net = Topology {
            internet: host("i", SERVER_IP),
            router_a: host("ra", ROUTER_A_IP),
            router_b: host("rb", ROUTER_B_IP),
            home_a: host("a", HOME_A_IP),
            home_b: host("b", HOME_B_IP),
        };
        // Made one by one: if one step fails, drop removes what exists.
        for h in net.hosts() {
            ip(&["netns", "add", &h.ns]);
            ip(&["-n", &h.ns, "link", "set", "lo", "up"]);
        }
        // The server address on an interface of its own (not loopback, which
        // servers such as coturn treat apart).
        // (This kernel has no dummy interfaces: a veth pair with both ends here.)
        ip(&[
            "-n",
            &net.internet.ns,
            "link",
            "add",
            "srv",
            "type",
            "veth",
            "peer",
            "name",
            "srvp",
        ]);
        ip(&["-n", &net.internet.ns, "link", "set", "srvp", "up"]);
        ip(&["-n", &net.internet.ns, "link", "set", "srv", "up"]);
        ip(&[
            "-n",
            &net.internet.ns,
            "addr",
            "add",
            &format!("{SERVER_IP}/32"),
            "dev",
            "srv",
        ]);
        for (side, router, home, nat) in [
            ('1', &net.router_a, &net.home_a, a),
            ('2', &net.router_b, &net.home_b, b),
        ] {
            // internet <-> router: x.y.z.1 / x.y.z.2 (the router's public address)
            let octets = router.ip.octets();
            let gateway = Ipv4Addr::new(octets[0], octets[1], octets[2], 1);
            link(
                &format!("n{tag}w{side}"),
                (
                    &net.internet,
                    &format!("to{side}"),
                    &format!("{gateway}/24"),
                ),
                (router, "wan", &format!("{}/24", router.ip)),
            );
            // router <-> host: 192.168.N.1 / 192.168.N.10
            link(
                &format!("n{tag}l{side}"),
                (router, "lan", &format!("192.168.{side}.1/24")),
                (home, "eth0", &format!("{}/24", home.ip)),
            );
            ip(&[
                "-n",
                &router.ns,
                "route",
                "add",
                "default",
                "via",
                &gateway.to_string(),
            ]);
            ip(&[
                "-n",
                &home.ns,
                "route",
                "add",
                "default",
                "via",
                &format!("192.168.{side}.1"),
            ]);
            forwarding(router);
            let masquerade = match nat {
                NatKind::Cone => "masquerade",
                NatKind::Symmetric => "masquerade random,fully-random",
            };
            run(
                router.command("nft").args(["-f", "-"]),
                Some(&format!(
                    "table ip hearth_nat {{\n\
                       chain prerouting {{ type nat hook prerouting priority dstnat; policy accept; }}\n\
                       chain postrouting {{ type nat hook postrouting priority srcnat; policy accept;\n\
                         oifname \"wan\" {masquerade}\n\
                       }}\n\
                       chain input {{ type filter hook input priority filter; policy accept;\n\
                         iifname \"wan\" ct state new drop\n\
                       }}\n\
                     }}\n"
                )),
            );
        }
        forwarding(&net.internet);
        net
    }

    /// Home A's router forwards TCP `port` on its public address to the host
    /// in home A (signalling such as WHEP's HTTP only; media still has to find
    /// its own way through the NAT).
    pub fn forward_tcp_to_home_a(&self, port: u16) {
        run(
            self.router_a.command("nft").args([
                "add",
                "rule",
                "ip",
                "hearth_nat",
                "prerouting",
                "iifname",
                "wan",
                "tcp",
                "dport",
                &port.to_string(),
                "dnat",
                "to",
                &format!("{HOME_A_IP}:{port}"),
            ]),
            None,
        );
    }

    fn hosts(&self) -> [&Host; 5] {
        [
            &self.internet,
            &self.router_a,
            &self.router_b,
            &self.home_a,
            &self.home_b,
        ]
    }
}

/// A veth pair named `name`/`name`p from `a` to `b`, renamed inside each
/// namespace and given the addresses.
fn link(name: &str, a: (&Host, &str, &str), b: (&Host, &str, &str)) {
    let peer = format!("{name}p");
    ip(&["link", "add", name, "type", "veth", "peer", "name", &peer]);
    for (ifname, (host, inner, addr)) in [(name, a), (peer.as_str(), b)] {
        ip(&["link", "set", ifname, "netns", &host.ns]);
        ip(&["-n", &host.ns, "link", "set", ifname, "name", inner]);
        // IPv4 only: no IPv6 link-local address whose late duplicate-address
        // detection a browser would take for a network change.
        ip(&["-n", &host.ns, "link", "set", inner, "addrgenmode", "none"]);
        ip(&["-n", &host.ns, "addr", "add", addr, "dev", inner]);
        ip(&["-n", &host.ns, "link", "set", inner, "up"]);
    }
}

fn forwarding(host: &Host) {
    run(
        host.command("sysctl")
            .args(["-qw", "net.ipv4.ip_forward=1"]),
        None,
    );
}

impl Drop for Topology {
    fn drop(&mut self) {
        for host in self.hosts() {
            // Whatever still runs in the namespace: only processes this test started.
            let pids = Command::new("ip")
                .args(["netns", "pids", &host.ns])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            for pid in pids.split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
        }
        for host in self.hosts() {
            let _ = Command::new("ip")
                .args(["netns", "del", &host.ns])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Whether the tests run as root (namespaces need it; CI runs as root).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}
