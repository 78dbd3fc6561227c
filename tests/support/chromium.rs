//! A tiny Chrome DevTools Protocol client for the browser tests: launches
//! Debian's Chromium headless in a fresh profile, opens pages, evaluates
//! JavaScript (awaiting promises) and takes screenshots. Chromium and its
//! profile are removed when the [`Chromium`] is dropped, whatever happens.

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// Where Debian installs Chromium; `HEARTH_CHROMIUM` overrides it.
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
/// Longest wait for one DevTools command (an evaluation may await a promise).
const COMMAND_LIMIT: Duration = Duration::from_secs(60);

type Pending = Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>;

struct Cdp {
    out: mpsc::UnboundedSender<String>,
    pending: Pending,
    next_id: AtomicU64,
    console: Mutex<Vec<String>>,
}

impl Cdp {
    async fn call(&self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        self.out
            .send(message.to_string())
            .expect("the DevTools connection is gone");
        match tokio::time::timeout(COMMAND_LIMIT, rx).await {
            Ok(Ok(Ok(result))) => result,
            Ok(Ok(Err(error))) => panic!("DevTools {method} failed: {error}"),
            Ok(Err(_)) => panic!("DevTools connection closed during {method}"),
            Err(_) => panic!(
                "Chromium did not answer {method} within {COMMAND_LIMIT:?}; console:\n{}",
                self.console_tail()
            ),
        }
    }

    fn console_tail(&self) -> String {
        let console = self.console.lock().unwrap();
        let start = console.len().saturating_sub(40);
        console[start..].join("\n")
    }

    fn event(&self, message: &Value) {
        let params = &message["params"];
        let line = match message["method"].as_str() {
            Some("Runtime.consoleAPICalled") => {
                let args: Vec<String> = params["args"]
                    .as_array()
                    .map(|args| {
                        args.iter()
                            .map(|a| match &a["value"] {
                                Value::String(s) => s.clone(),
                                Value::Null => a["description"].as_str().unwrap_or("").to_string(),
                                other => other.to_string(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                format!(
                    "console.{}: {}",
                    params["type"].as_str().unwrap_or("log"),
                    args.join(" ")
                )
            }
            Some("Runtime.exceptionThrown") => format!(
                "exception: {}",
                params["exceptionDetails"]["exception"]["description"]
                    .as_str()
                    .or(params["exceptionDetails"]["text"].as_str())
                    .unwrap_or("?")
            ),
            Some("Log.entryAdded") => format!(
                "log.{}: {}",
                params["entry"]["level"].as_str().unwrap_or("?"),
                params["entry"]["text"].as_str().unwrap_or("")
            ),
            _ => return,
        };
        self.console.lock().unwrap().push(line);
    }
}

/// A headless Chromium with its own throw-away profile.
pub struct Chromium {
    cdp: Arc<Cdp>,
    // Dropped last: kills Chromium and removes its profile.
    _process: Process,
}

/// The Chromium process group and its profile; killed and removed on drop.
struct Process {
    child: Child,
    profile: Option<tempfile::TempDir>,
}

impl Chromium {
    /// Starts Chromium and connects to its DevTools endpoint. Fails (never skips)
    /// when Chromium is not installed.
    pub async fn launch() -> Chromium {
        Self::launch_in(None, &[]).await
    }

    /// [`Chromium::launch`] inside a network namespace of a
    /// [`Topology`](super::topology::Topology) (`host`), with `extra` flags
    /// (e.g. `--unsafely-treat-insecure-origin-as-secure=http://…` for a page
    /// served over plain HTTP from another host). DevTools is reached from
    /// inside the namespace.
    pub async fn launch_in(host: Option<&super::topology::Host>, extra: &[&str]) -> Chromium {
        let binary = std::env::var_os("HEARTH_CHROMIUM")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CHROMIUM));
        assert!(
            binary.exists(),
            "the browser tests need Chromium at {}: install Debian's package with \
             `apt-get install chromium` (or set HEARTH_CHROMIUM)",
            binary.display()
        );
        let profile = tempfile::Builder::new()
            .prefix("hearth-chromium-")
            .tempdir()
            .expect("profile directory");
        let log = std::fs::File::create(profile.path().join("chromium.log")).expect("log file");
        let mut command = match host {
            Some(host) => host.command(&binary),
            None => Command::new(&binary),
        };
        let child = command
            .args(extra)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                "--autoplay-policy=no-user-gesture-required",
                "--allow-loopback-in-peer-connection",
                "--disable-features=WebRtcHideLocalIpsWithMdns",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            // Its own process group, so every helper process dies with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut process = Process {
            child,
            profile: Some(profile),
        };
        let endpoint = process.devtools_endpoint().await;
        let (socket, _) = match host {
            None => tokio_tungstenite::connect_async(endpoint.as_str())
                .await
                .expect("connect to Chromium's DevTools"),
            Some(host) => {
                let port: u16 = endpoint
                    .trim_start_matches("ws://127.0.0.1:")
                    .split('/')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("a DevTools port");
                let stream = host
                    .connect_tcp(([127, 0, 0, 1], port).into())
                    .expect("connect to Chromium's DevTools in its namespace");
                stream.set_nonblocking(true).unwrap();
                let stream = tokio::net::TcpStream::from_std(stream).unwrap();
                let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
                tokio_tungstenite::client_async(endpoint.as_str(), stream)
                    .await
                    .expect("DevTools handshake")
            }
        };
        let (mut sink, mut stream) = socket.split();
        let (out, mut outgoing) = mpsc::unbounded_channel::<String>();
        let cdp = Arc::new(Cdp {
            out,
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            console: Mutex::new(Vec::new()),
        });
        tokio::spawn(async move {
            while let Some(text) = outgoing.recv().await {
                if sink.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
        });
        let weak = Arc::downgrade(&cdp);
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Some(cdp) = weak.upgrade() else { return };
                let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                match value["id"].as_u64() {
                    Some(id) => {
                        let result = match value.get("error") {
                            Some(error) => Err(error.to_string()),
                            None => Ok(value["result"].clone()),
                        };
                        if let Some(tx) = cdp.pending.lock().unwrap().remove(&id) {
                            let _ = tx.send(result);
                        }
                    }
                    None => cdp.event(&value),
                }
            }
        });
        Chromium {
            cdp,
            _process: process,
        }
    }

    /// Opens a new tab of `width`×`height` CSS pixels, listening to its console.
    pub async fn new_page(&self, width: u32, height: u32) -> Page {
        let target = self
            .cdp
            .call(None, "Target.createTarget", json!({ "url": "about:blank" }))
            .await;
        let attached = self
            .cdp
            .call(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target["targetId"], "flatten": true }),
            )
            .await;
        let page = Page {
            cdp: self.cdp.clone(),
            session: attached["sessionId"]
                .as_str()
                .expect("a session id")
                .to_string(),
        };
        page.call("Page.enable", json!({})).await;
        page.call("Runtime.enable", json!({})).await;
        page.call("Log.enable", json!({})).await;
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await;
        page
    }
}

impl Process {
    async fn devtools_endpoint(&mut self) -> String {
        let profile = self.profile.as_ref().expect("profile").path().to_path_buf();
        let file = profile.join("DevToolsActivePort");
        for _ in 0..300 {
            if let Ok(text) = std::fs::read_to_string(&file) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    return format!("ws://127.0.0.1:{port}{path}");
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(profile.join("chromium.log")).unwrap_or_default();
                panic!("Chromium exited at start ({status}):\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("Chromium did not open its DevTools port within 30 s");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // The whole process group: the browser and its renderer, GPU and utility processes.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(profile) = self.profile.take() {
            let path = profile.path().to_path_buf();
            if profile.close().is_err() {
                // A helper process may still have been writing; try once more.
                std::thread::sleep(Duration::from_millis(200));
                let _ = std::fs::remove_dir_all(path);
            }
        }
    }
}

/// One tab.
pub struct Page {
    cdp: Arc<Cdp>,
    session: String,
}

impl Page {
    /// Sends a DevTools command to this tab and returns its result.
    pub async fn call(&self, method: &str, params: Value) -> Value {
        self.cdp.call(Some(&self.session), method, params).await
    }

    /// The page's console messages and uncaught exceptions so far.
    pub fn console(&self) -> String {
        self.cdp.console_tail()
    }

    /// Loads `url` and waits until the document has loaded.
    pub async fn goto(&self, url: &str) {
        self.call("Page.navigate", json!({ "url": url })).await;
        self.wait_for("the page to load", "document.readyState === 'complete'")
            .await;
    }

    /// Reloads the page and waits until it has loaded.
    pub async fn reload(&self) {
        self.call("Page.reload", json!({})).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.wait_for("the page to reload", "document.readyState === 'complete'")
            .await;
    }

    /// Evaluates `expression` (awaiting it if it is a promise) and returns its
    /// value as JSON; panics with the exception and the console if it throws.
    pub async fn eval(&self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({
                    "expression": expression,
                    "awaitPromise": true,
                    "returnByValue": true,
                }),
            )
            .await;
        if let Some(details) = result.get("exceptionDetails") {
            panic!(
                "JavaScript threw: {}\nexpression: {expression}\nconsole:\n{}",
                details["exception"]["description"]
                    .as_str()
                    .unwrap_or(&details.to_string()),
                self.console()
            );
        }
        result["result"]["value"].clone()
    }

    /// Evaluates `expression` every 100 ms until `done` accepts its value, for
    /// at most `limit`; returns the accepted value.
    pub async fn poll(
        &self,
        what: &str,
        expression: &str,
        limit: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let value = self.eval(expression).await;
            if done(&value) {
                return value;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "timed out waiting for {what}; last value: {value}\nstatus: {}\nconsole:\n{}",
                    self.eval("document.getElementById('status-text')?.textContent ?? ''")
                        .await,
                    self.console()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (up to 30 s) until `expression` is truthy.
    pub async fn wait_for(&self, what: &str, expression: &str) -> Value {
        self.poll(what, expression, Duration::from_secs(30), truthy)
            .await
    }

    /// A PNG of what the tab shows.
    pub async fn screenshot(&self) -> Vec<u8> {
        let shot = self
            .call("Page.captureScreenshot", json!({ "format": "png" }))
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("screenshot is base64")
    }
}

/// JavaScript truthiness of a JSON value.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}
