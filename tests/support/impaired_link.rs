//! A link that loses and delays packets, for tests on real networks' faults
//! (this kernel has no `sch_netem`). Three namespaces in a row:
//!
//! ```text
//!   device 10.79.1.2 ─ router (10.79.1.1 | 10.79.2.1) ─ player 10.79.2.2
//!                          │
//!                        TUN: the impairer (a thread of the test)
//! ```
//!
//! The router sends everything it forwards into a TUN device (policy
//! routing on the incoming interface), where a thread of the test drops a
//! share of the packets, holds the rest for the delay and writes them back;
//! the kernel then routes them on (their incoming interface is the TUN now,
//! so they are not caught again). On the way the thread counts, per
//! direction, the bytes and every RTP packet by (SSRC, sequence number), so
//! a test can tell how often the device sent a packet again (SRTP leaves
//! the RTP header in the clear). A rate limit is `tbf` on the router's
//! interface toward the player ([`ImpairedLink::limit_rate`]).

use super::topology::{is_root, Host, Process};
use std::collections::{BinaryHeap, HashMap};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The device's address.
pub const DEVICE_IP: Ipv4Addr = Ipv4Addr::new(10, 79, 1, 2);
/// The player's address.
pub const PLAYER_IP: Ipv4Addr = Ipv4Addr::new(10, 79, 2, 2);

/// What the link does to packets, the same both ways.
#[derive(Debug, Clone, Copy, Default)]
pub struct Impairment {
    /// Share of packets dropped (0.0–1.0).
    pub loss: f64,
    /// One-way delay added.
    pub delay: Duration,
    /// DTLS handshake datagrams lost on purpose, on top of `loss`.
    pub lose_dtls: Option<LoseDtls>,
}

/// The first `times` datagrams from one side that carry a DTLS record of
/// one kind, lost on purpose (to lose one handshake flight for certain).
#[derive(Debug, Clone, Copy)]
pub struct LoseDtls {
    /// From the device (else from the player).
    pub from_device: bool,
    /// Which record marks the datagram.
    pub record: DtlsRecord,
    /// How many such datagrams are lost.
    pub times: u32,
}

/// A DTLS record that marks a handshake flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtlsRecord {
    /// ChangeCipherSpec: in the client's last flight (and the server's).
    ChangeCipherSpec,
    /// ServerHello: the server's first flight.
    ServerHello,
}

impl DtlsRecord {
    /// Whether the UDP payload `udp` (one datagram) carries this record.
    fn is_in(self, udp: &[u8]) -> bool {
        let mut rest = udp;
        // RFC 6347 records: type, version (2), epoch (2), sequence (6), length (2).
        while rest.len() >= 13 && (20..=63).contains(&rest[0]) {
            let len = usize::from(u16::from_be_bytes([rest[11], rest[12]]));
            let body = &rest[13..(13 + len).min(rest.len())];
            let epoch = u16::from_be_bytes([rest[3], rest[4]]);
            let found = match self {
                DtlsRecord::ChangeCipherSpec => rest[0] == 20,
                DtlsRecord::ServerHello => rest[0] == 22 && epoch == 0 && body.first() == Some(&2),
            };
            if found {
                return true;
            }
            rest = &rest[(13 + len).min(rest.len())..];
        }
        false
    }
}

/// What passed one way.
#[derive(Debug, Default, Clone)]
pub struct Direction {
    /// Packets and bytes (IP) offered to the link.
    pub packets: u64,
    /// IP bytes offered.
    pub bytes: u64,
    /// Packets the impairer dropped.
    pub dropped: u64,
    /// How many times each RTP packet was offered, by (SSRC, sequence).
    pub rtp: HashMap<(u32, u16), u32>,
    /// (when, IP bytes) of every packet offered, for rates over time.
    pub timeline: Vec<(Instant, usize)>,
    /// (when, IP bytes) of every RTP packet offered again.
    pub resent: Vec<(Instant, usize)>,
    /// SSRCs whose every packet is a resend (a sender's RTX stream, RFC
    /// 4588: the original sequence number is inside the encrypted payload).
    pub rtx_ssrcs: std::collections::HashSet<u32>,
    /// The header extension id whose values are kept (`None`: none).
    pub watch_extension: Option<u8>,
    /// (when, RTP timestamp, value) of every 8-byte element of a one-byte
    /// RTP header extension (RFC 8285) with id `watch_extension`, the first
    /// 10,000 (abs-capture-time is such an element).
    pub extension_values: Vec<(Instant, u32, [u8; 8])>,
}

impl Direction {
    /// The most times one RTP packet was sent again.
    pub fn most_resends(&self) -> u32 {
        self.rtp.values().map(|n| n - 1).max().unwrap_or(0)
    }

    /// RTP packets sent again, in all.
    pub fn resends(&self) -> u64 {
        self.rtp.values().map(|&n| u64::from(n - 1)).sum()
    }

    /// Bits per second of resends between `from` and `to`.
    pub fn resent_rate_between(&self, from: Instant, to: Instant) -> f64 {
        rate(&self.resent, from, to)
    }

    /// Bits per second offered between `from` and `to`.
    pub fn rate_between(&self, from: Instant, to: Instant) -> f64 {
        rate(&self.timeline, from, to)
    }
}

/// Bits per second of `timeline` between `from` and `to`.
fn rate(timeline: &[(Instant, usize)], from: Instant, to: Instant) -> f64 {
    let bytes: usize = timeline
        .iter()
        .filter(|(at, _)| *at >= from && *at < to)
        .map(|(_, b)| b)
        .sum();
    bytes as f64 * 8.0 / (to - from).as_secs_f64()
}

/// Counts of both directions.
#[derive(Debug, Default, Clone)]
pub struct LinkCounts {
    /// Device → player.
    pub down: Direction,
    /// Player → device.
    pub up: Direction,
}

/// The three namespaces and the impairer; all removed on drop.
pub struct ImpairedLink {
    /// The device's namespace.
    pub device: Host,
    /// The router's namespace.
    pub router: Host,
    /// The player's namespace.
    pub player: Host,
    /// The router's interface toward the player (where a rate limit goes).
    pub toward_player: String,
    counts: Arc<Mutex<LinkCounts>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (needs iproute2, root)"));
    assert!(
        out.status.success(),
        "{program} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl ImpairedLink {
    /// Builds the namespaces and starts the impairer. Panics (the test
    /// fails) if they cannot be made; call only as root ([`is_root`]).
    pub fn build(impairment: Impairment) -> ImpairedLink {
        assert!(is_root(), "network namespaces need root");
        let tag = format!(
            "{}{}",
            std::process::id() % 100_000,
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let host = |role: &str, ip: Ipv4Addr| Host {
            ns: format!("il{tag}{role}"),
            ip,
        };
        let device = host("d", DEVICE_IP);
        let router = host("r", Ipv4Addr::new(10, 79, 1, 1));
        let player = host("p", PLAYER_IP);
        for h in [&device, &router, &player] {
            run("ip", &["netns", "add", &h.ns]);
            run("ip", &["-n", &h.ns, "link", "set", "lo", "up"]);
        }
        let (to_device, to_player) = (format!("il{tag}rd"), format!("il{tag}rp"));
        let link = |host: &Host, inner: &str, outer: &str, host_addr: &str, router_addr: &str| {
            run(
                "ip",
                &["link", "add", outer, "type", "veth", "peer", "name", inner],
            );
            run("ip", &["link", "set", inner, "netns", &host.ns]);
            run("ip", &["link", "set", outer, "netns", &router.ns]);
            run(
                "ip",
                &["-n", &host.ns, "addr", "add", host_addr, "dev", inner],
            );
            run("ip", &["-n", &host.ns, "link", "set", inner, "up"]);
            run(
                "ip",
                &["-n", &router.ns, "addr", "add", router_addr, "dev", outer],
            );
            run("ip", &["-n", &router.ns, "link", "set", outer, "up"]);
        };
        link(
            &device,
            &format!("il{tag}d"),
            &to_device,
            "10.79.1.2/24",
            "10.79.1.1/24",
        );
        link(
            &player,
            &format!("il{tag}p"),
            &to_player,
            "10.79.2.2/24",
            "10.79.2.1/24",
        );
        run(
            "ip",
            &[
                "-n",
                &device.ns,
                "route",
                "add",
                "default",
                "via",
                "10.79.1.1",
            ],
        );
        run(
            "ip",
            &[
                "-n",
                &player.ns,
                "route",
                "add",
                "default",
                "via",
                "10.79.2.1",
            ],
        );
        let sysctl = |key: &str| {
            run("ip", &["netns", "exec", &router.ns, "sysctl", "-qw", key]);
        };
        sysctl("net.ipv4.ip_forward=1");
        sysctl("net.ipv4.conf.all.rp_filter=0");
        sysctl("net.ipv4.conf.default.rp_filter=0");

        let tun = open_tun_in(&router.ns, "imp0");
        run("ip", &["-n", &router.ns, "link", "set", "imp0", "up"]);
        sysctl("net.ipv4.conf.imp0.rp_filter=0");
        run(
            "ip",
            &[
                "-n", &router.ns, "route", "add", "default", "dev", "imp0", "table", "100",
            ],
        );
        for iface in [&to_device, &to_player] {
            run(
                "ip",
                &[
                    "-n", &router.ns, "rule", "add", "iif", iface, "lookup", "100",
                ],
            );
        }

        let counts = Arc::new(Mutex::new(LinkCounts::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (counts, stop) = (counts.clone(), stop.clone());
            std::thread::spawn(move || impair(tun, impairment, &counts, &stop))
        };
        ImpairedLink {
            device,
            router,
            player,
            toward_player: to_player,
            counts,
            stop,
            thread: Some(thread),
        }
    }

    /// Limits what reaches the player to `kbit` kbit/s (`tbf`, a 400 ms
    /// queue); `None` lifts the limit.
    pub fn limit_rate(&self, kbit: Option<u32>) {
        let _ = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.router.ns,
                "tc",
                "qdisc",
                "del",
                "dev",
            ])
            .arg(&self.toward_player)
            .args(["root"])
            .stderr(Stdio::null())
            .status();
        if let Some(kbit) = kbit {
            run(
                "ip",
                &[
                    "netns",
                    "exec",
                    &self.router.ns,
                    "tc",
                    "qdisc",
                    "add",
                    "dev",
                    &self.toward_player,
                    "root",
                    "tbf",
                    "rate",
                    &format!("{kbit}kbit"),
                    "burst",
                    "4000",
                    "latency",
                    "400ms",
                ],
            );
        }
    }

    /// Starts the `hearth` binary in the device's namespace, with its data
    /// and log (`device.log`) under `dir`, serving HTTP and WHEP on `port`
    /// (640×480 at 600 kbit/s); returns it and a WHEP token allowed live
    /// video. `DEVICE_LOG` overrides its log filter.
    pub fn start_device(&self, dir: &std::path::Path, port: u16) -> (Process, String) {
        let data = dir.join("data");
        let config = dir.join("hearth.toml");
        std::fs::write(
            &config,
            format!(
                "name = \"Kitchen\"\n[http]\nlisten = \"{DEVICE_IP}:{port}\"\n\
                 [relay]\nurls = [\"ws://{DEVICE_IP}:{port}/relay\"]\n\
                 [video]\nwidth = 640\nheight = 480\nbitrate_kbps = 600\n\
                 [webrtc]\nudp_addresses = [\"{DEVICE_IP}\"]\n"
            ),
        )
        .unwrap();
        let token = super::cli::add_token(&data, "TV", "live_video");
        let log = std::fs::File::create(dir.join("device.log")).unwrap();
        let filter = std::env::var("DEVICE_LOG").unwrap_or_else(|_| "info".into());
        let device = self.device.spawn(
            self.device
                .command(super::cli::BIN)
                .arg("--data-dir")
                .arg(&data)
                .arg("--config")
                .arg(&config)
                .arg("run")
                .env("HEARTH_LOG", filter)
                .stdout(Stdio::null())
                .stderr(log),
        );
        (device, token)
    }

    /// Keeps the values of the 8-byte header extension element `id` that
    /// the device sends from now on ([`Direction::extension_values`]).
    pub fn watch_extension_down(&self, id: u8) {
        self.counts.lock().unwrap().down.watch_extension = Some(id);
    }

    /// Counts every packet the device sends on `ssrc` as a resend (its RTX
    /// stream; see [`Direction::rtx_ssrcs`]).
    pub fn count_down_as_resends(&self, ssrc: u32) {
        self.counts.lock().unwrap().down.rtx_ssrcs.insert(ssrc);
    }

    /// What passed so far.
    pub fn counts(&self) -> LinkCounts {
        self.counts.lock().unwrap().clone()
    }

    /// Runs `f` on a new thread inside `host`'s namespace (sockets it opens
    /// stay there), and returns what it returns.
    pub fn run_in<T: Send>(host: &Host, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/var/run/netns/{}", host.ns);
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    enter(&path);
                    f()
                })
                .join()
                .expect("the thread in the namespace")
        })
    }
}

/// Moves the calling thread into the network namespace at `path`.
fn enter(path: &str) {
    let ns = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    // SAFETY: a valid namespace fd; only the calling thread moves.
    let moved = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } == 0;
    assert!(moved, "setns: {}", std::io::Error::last_os_error());
}

/// Opens TUN device `name` (no packet information) inside namespace `ns`.
fn open_tun_in(ns: &str, name: &str) -> OwnedFd {
    let path = format!("/var/run/netns/{ns}");
    let name = name.to_string();
    std::thread::spawn(move || {
        enter(&path);
        // SAFETY: open(2) on a constant path.
        let fd = unsafe { libc::open(c"/dev/net/tun".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        assert!(fd >= 0, "/dev/net/tun: {}", std::io::Error::last_os_error());
        // SAFETY: `fd` was just opened and is owned here alone.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // struct ifreq: 16 bytes of name, then the flags (short), padded to 40.
        let mut ifreq = [0u8; 40];
        ifreq[..name.len()].copy_from_slice(name.as_bytes());
        let flags = (libc::IFF_TUN | libc::IFF_NO_PI) as u16;
        ifreq[16..18].copy_from_slice(&flags.to_ne_bytes());
        const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
        // SAFETY: TUNSETIFF reads and writes a struct ifreq, which `ifreq` is.
        let ok = unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF, ifreq.as_mut_ptr()) } == 0;
        assert!(ok, "TUNSETIFF: {}", std::io::Error::last_os_error());
        fd
    })
    .join()
    .expect("the TUN thread")
}

/// A packet held until `due`.
struct Held {
    due: Instant,
    order: u64,
    bytes: Vec<u8>,
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.order) == (other.due, other.order)
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Held {
    /// Earliest first (a max-heap, reversed).
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.due, other.order).cmp(&(self.due, self.order))
    }
}

/// The impairer's loop: read, count, drop or hold, write back when due.
fn impair(tun: OwnedFd, mut impairment: Impairment, counts: &Mutex<LinkCounts>, stop: &AtomicBool) {
    let mut held = BinaryHeap::new();
    let mut order = 0u64;
    let mut random = 0x9E37_79B9_7F4A_7C15_u64;
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        while held.peek().is_some_and(|h: &Held| h.due <= now) {
            let h = held.pop().unwrap();
            // SAFETY: writes `h.bytes` to the TUN fd.
            unsafe { libc::write(tun.as_raw_fd(), h.bytes.as_ptr().cast(), h.bytes.len()) };
        }
        let wait = held
            .peek()
            .map(|h: &Held| h.due.saturating_duration_since(now))
            .unwrap_or(Duration::from_millis(50))
            .min(Duration::from_millis(50));
        let mut poll = libc::pollfd {
            fd: tun.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = wait.as_millis().max(1) as i32;
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut poll, 1, ms) } <= 0 {
            continue;
        }
        // SAFETY: reads into `buf`, which is large enough for any packet.
        let n = unsafe { libc::read(tun.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            continue;
        }
        let packet = &buf[..n as usize];
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        let mut dropped = (random >> 11) as f64 / (1u64 << 53) as f64 > 1.0 - impairment.loss;
        let down = packet.len() >= 20 && packet[12..16] == DEVICE_IP.octets();
        if let Some(lose) = impairment.lose_dtls.as_mut() {
            if lose.times > 0
                && lose.from_device == down
                && udp_payload(packet).is_some_and(|udp| lose.record.is_in(udp))
            {
                lose.times -= 1;
                dropped = true;
            }
        }
        {
            let mut counts = counts.lock().unwrap();
            let direction = if down {
                &mut counts.down
            } else {
                &mut counts.up
            };
            direction.packets += 1;
            direction.bytes += packet.len() as u64;
            direction.timeline.push((now, packet.len()));
            if let (Some(id), Some(rtp)) = (direction.watch_extension, udp_payload(packet)) {
                if let Some((timestamp, value)) = eight_byte_extension(rtp, id) {
                    if direction.extension_values.len() < 10_000 {
                        direction.extension_values.push((now, timestamp, value));
                    }
                }
            }
            if let Some(key) = rtp_key(packet) {
                let seen = direction.rtp.entry(key).or_default();
                *seen += 1;
                if *seen > 1 || direction.rtx_ssrcs.contains(&key.0) {
                    direction.resent.push((now, packet.len()));
                }
            }
            if dropped {
                direction.dropped += 1;
            }
        }
        if !dropped {
            order += 1;
            held.push(Held {
                due: now + impairment.delay,
                order,
                bytes: packet.to_vec(),
            });
        }
    }
}

/// The RTP timestamp and the 8-byte value of element `id` of the one-byte
/// header extension (0xBEDE) of an RTP packet `rtp`, if it has one.
fn eight_byte_extension(rtp: &[u8], id: u8) -> Option<(u32, [u8; 8])> {
    if rtp.len() < 12 || !(128..=191).contains(&rtp[0]) || (192..=223).contains(&rtp[1]) {
        return None;
    }
    if rtp[0] & 0x10 == 0 {
        return None;
    }
    let timestamp = u32::from_be_bytes([rtp[4], rtp[5], rtp[6], rtp[7]]);
    let at = 12 + usize::from(rtp[0] & 0x0f) * 4;
    let header = rtp.get(at..at + 4)?;
    if header[..2] != [0xbe, 0xde] {
        return None;
    }
    let words = usize::from(u16::from_be_bytes([header[2], header[3]]));
    static DBG: AtomicU32 = AtomicU32::new(0);
    if DBG.fetch_add(1, Ordering::Relaxed) < 20 {
        eprintln!("DBG ext {:02x?}", rtp.get(at..at + 4 + words * 4));
    }
    let mut elements = rtp.get(at + 4..at + 4 + words * 4)?;
    while let Some((&first, rest)) = elements.split_first() {
        if first == 0 {
            elements = rest; // padding
            continue;
        }
        let (element_id, len) = (first >> 4, usize::from(first & 0x0f) + 1);
        if element_id == 15 {
            break;
        }
        let value = rest.get(..len)?;
        if element_id == id && len == 8 {
            return Some((timestamp, value.try_into().ok()?));
        }
        elements = &rest[len..];
    }
    None
}

/// The UDP payload of an IPv4 packet.
fn udp_payload(ip: &[u8]) -> Option<&[u8]> {
    if ip.first()? >> 4 != 4 || *ip.get(9)? != 17 {
        return None;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    ip.get(ihl + 8..)
}

/// (SSRC, sequence number) of an RTP packet in an IPv4/UDP packet (RFC
/// 7983: first byte 128–191, and not RTCP's packet types 192–223).
fn rtp_key(ip: &[u8]) -> Option<(u32, u16)> {
    let rtp = udp_payload(ip)?;
    if rtp.len() < 12 || !(128..=191).contains(&rtp[0]) || (192..=223).contains(&rtp[1]) {
        return None;
    }
    let seq = u16::from_be_bytes([rtp[2], rtp[3]]);
    let ssrc = u32::from_be_bytes([rtp[8], rtp[9], rtp[10], rtp[11]]);
    Some((ssrc, seq))
}

impl Drop for ImpairedLink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        for host in [&self.device, &self.router, &self.player] {
            let pids = Command::new("ip")
                .args(["netns", "pids", &host.ns])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            for pid in pids.split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
        }
        for host in [&self.device, &self.router, &self.player] {
            let _ = Command::new("ip")
                .args(["netns", "del", &host.ns])
                .stderr(Stdio::null())
                .status();
        }
    }
}
