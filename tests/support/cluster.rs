//! A relay cluster on loopback: real `nats-server` processes (Debian's
//! `nats-server`) joined by routes, and relay nodes as separate
//! `hearth relay --nats …` processes that a test can `kill -9`. Every process
//! runs in a fresh sandbox directory (its working directory, `HOME` and
//! `TMPDIR`), so a test can check what it left on disk.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use super::cli::BIN;
use super::http;

/// How long a process of the cluster may take to start.
const START_WAIT: Duration = Duration::from_secs(30);

/// A free TCP port on 127.0.0.1 (free when this returns).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// `n` distinct ports free on 127.0.0.1 below the kernel's ephemeral range
/// (32768 and up), so no outgoing connection of another test takes one
/// between choosing it and the server binding it.
fn listen_ports(n: usize) -> Vec<u16> {
    use rand::Rng;
    let mut held = Vec::new();
    while held.len() < n {
        let port = rand::thread_rng().gen_range(10_000..20_000);
        if let Ok(listener) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            held.push(listener);
        }
    }
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// One `nats-server`, killed when dropped.
pub struct NatsServer {
    /// Its client port on 127.0.0.1.
    pub port: u16,
    /// Its monitoring port (HTTP).
    pub monitor: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl NatsServer {
    /// Its client URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// `kill -9`, and waits until it is gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether a client connection of process `pid` is connected to it:
    /// the client ports in its `/connz` against the sockets of `pid`.
    pub async fn has_client_from(&self, pid: u32) -> bool {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.monitor));
        let response = http::request(addr, "GET", "/connz", &[], b"").await;
        let Ok(connz) = serde_json::from_str::<serde_json::Value>(&response.body) else {
            return false;
        };
        let ports: Vec<u64> = connz["connections"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["port"].as_u64())
            .collect();
        let mine = local_ports_of(pid, self.port);
        ports.iter().any(|p| mine.contains(p))
    }

    /// Whether it accepts client connections yet.
    pub async fn accepts(&self) -> bool {
        tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_ok()
    }

    /// How many routes to other servers it has now (0 if it does not answer).
    pub async fn routes(&self) -> u64 {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.monitor));
        let Ok(connected) = tokio::net::TcpStream::connect(addr).await else {
            return 0;
        };
        drop(connected);
        let response = http::request(addr, "GET", "/routez", &[], b"").await;
        serde_json::from_str::<serde_json::Value>(&response.body)
            .ok()
            .and_then(|v| v["num_routes"].as_u64())
            .unwrap_or(0)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `n` NATS servers, each routed to all others, as `--cluster`/`--routes` set up.
pub struct NatsCluster {
    /// The servers, in start order.
    pub servers: Vec<NatsServer>,
}

impl NatsCluster {
    /// Starts `n` servers and waits until every one takes clients and has
    /// routes to all others. A server that could not bind its ports (taken
    /// between choosing and binding) exits; then the cluster starts again.
    pub async fn start(n: usize) -> NatsCluster {
        for _ in 0..5 {
            if let Some(cluster) = Self::try_start(n).await {
                return cluster;
            }
        }
        panic!("no NATS cluster of {n} came up in 5 tries");
    }

    async fn try_start(n: usize) -> Option<NatsCluster> {
        let ports: Vec<[u16; 3]> = listen_ports(n * 3)
            .chunks(3)
            .map(|c| [c[0], c[1], c[2]])
            .collect();
        // Its own name: a route to another test's server (a port reused) fails.
        let name = format!("hearth-test-{}", rand::random::<u64>());
        let servers: Vec<NatsServer> = ports
            .iter()
            .enumerate()
            .map(|(i, &[port, cluster, monitor])| {
                let routes: Vec<String> = ports
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, p)| format!("nats://127.0.0.1:{}", p[1]))
                    .collect();
                let dir = tempfile::tempdir().unwrap();
                let mut command = Command::new("nats-server");
                command
                    .args(["-a", "127.0.0.1", "-p", &port.to_string()])
                    .args(["-m", &monitor.to_string()])
                    .args(["--cluster", &format!("nats://127.0.0.1:{cluster}")])
                    .args(["--cluster_name", &name]);
                if !routes.is_empty() {
                    command.args(["--routes", &routes.join(",")]);
                }
                let child = command
                    .current_dir(dir.path())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("nats-server (Debian package nats-server) is installed");
                NatsServer {
                    port,
                    monitor,
                    child,
                    _dir: dir,
                }
            })
            .collect();
        let mut cluster = NatsCluster { servers };
        let want = (n - 1) as u64;
        let deadline = tokio::time::Instant::now() + START_WAIT;
        for i in 0..n {
            loop {
                if cluster
                    .servers
                    .iter_mut()
                    .any(|s| !matches!(s.child.try_wait(), Ok(None)))
                {
                    return None; // ports taken meanwhile by another test: try others
                }
                let server = &cluster.servers[i];
                if server.accepts().await && server.routes().await >= want {
                    break;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "nats-server on port {} did not route to the {want} others",
                    server.port
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Some(cluster)
    }

    /// The client URLs of all servers, as `--nats` takes them.
    pub fn urls(&self) -> Vec<String> {
        self.servers.iter().map(NatsServer::url).collect()
    }
}

/// One relay node: `hearth relay --listen 127.0.0.1:0 --nats …` in its own
/// process and sandbox, killed when dropped.
pub struct RelayNode {
    /// Where it accepts WebSockets.
    pub addr: SocketAddr,
    child: Child,
    sandbox: tempfile::TempDir,
    logs: Arc<Mutex<String>>,
    _config: Option<tempfile::TempPath>,
}

impl RelayNode {
    /// Starts a node on the NATS servers `nats` and waits until it listens.
    pub async fn start(nats: &[String]) -> RelayNode {
        Self::start_with(nats, None).await
    }

    /// Like [`RelayNode::start`] with relay settings (`--relay-config`, TOML).
    pub async fn start_with(nats: &[String], relay_config: Option<&str>) -> RelayNode {
        let sandbox = tempfile::tempdir().unwrap();
        let mut command = Command::new(BIN);
        command.args([
            "relay",
            "--listen",
            "127.0.0.1:0",
            "--nats",
            &nats.join(","),
        ]);
        // Outside the sandbox: the sandbox must stay empty.
        let config = relay_config.map(|toml| {
            let file = tempfile::NamedTempFile::new().unwrap().into_temp_path();
            std::fs::write(&file, toml).unwrap();
            command.arg("--relay-config").arg(&file);
            file
        });
        let mut child = command
            .current_dir(sandbox.path())
            .env("HOME", sandbox.path())
            .env("TMPDIR", sandbox.path())
            .env(
                "HEARTH_LOG",
                std::env::var("HEARTH_LOG").unwrap_or("info".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the hearth binary runs");
        let logs = Arc::new(Mutex::new(String::new()));
        collect(child.stderr.take().unwrap(), logs.clone());
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let out_logs = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("Relay listening on ws://") {
                    let addr = rest.split('/').next().unwrap_or("").to_string();
                    let _ = tx.send(addr);
                }
                out_logs.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let addr = tokio::task::spawn_blocking(move || rx.recv_timeout(START_WAIT))
            .await
            .unwrap();
        let Ok(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "relay node did not start; its output:\n{}",
                logs.lock().unwrap()
            );
        };
        RelayNode {
            addr: addr.parse().expect("a socket address"),
            child,
            sandbox,
            logs,
            _config: config,
        }
    }

    /// Its WebSocket URL.
    pub fn url(&self) -> String {
        super::setup::relay_url(self.addr)
    }

    /// `kill -9`: the process dies at once, closing its sockets.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Bytes it caused to be written to storage (`write_bytes` of
    /// `/proc/PID/io`); `None` once it has exited.
    pub fn storage_writes(&self) -> Option<u64> {
        let io = std::fs::read_to_string(format!("/proc/{}/io", self.child.id())).ok()?;
        io.lines()
            .find_map(|l| l.strip_prefix("write_bytes: "))
            .and_then(|v| v.trim().parse().ok())
    }

    /// Files it holds open, other than sockets, pipes and devices.
    pub fn open_files(&self) -> Vec<String> {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{}/fd", self.child.id())) else {
            return Vec::new();
        };
        fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
            .map(|target| target.display().to_string())
            .filter(|t| {
                !(t.starts_with("socket:")
                    || t.starts_with("pipe:")
                    || t.starts_with("anon_inode:")
                    || t.starts_with("/dev/"))
            })
            .collect()
    }

    /// Its working directory, `HOME` and `TMPDIR`.
    pub fn sandbox(&self) -> &Path {
        self.sandbox.path()
    }

    /// What it printed so far (stdout and logs).
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }
}

impl Drop for RelayNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Appends everything `pipe` carries to `into`, on a thread of its own.
fn collect(mut pipe: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
}

/// Local ports of the TCP connections process `pid` has to `remote_port` on
/// 127.0.0.1 (from `/proc/PID/net/tcp` and the socket inodes it holds).
fn local_ports_of(pid: u32, remote_port: u16) -> Vec<u64> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|t| {
            let t = t.display().to_string();
            Some(t.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect();
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (local, remote, inode) = (cols.get(1)?, cols.get(2)?, cols.get(9)?);
            let remote = u64::from_str_radix(remote.rsplit(':').next()?, 16).ok()?;
            let local = u64::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
            (remote == u64::from(remote_port) && inodes.iter().any(|i| i == inode)).then_some(local)
        })
        .collect()
}
