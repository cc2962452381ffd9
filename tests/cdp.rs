//! A small Chrome DevTools Protocol client for the browser tests: start
//! chromium headless on a scratch profile, open pages, navigate, evaluate
//! JavaScript in them and poll the DOM with a deadline.
//!
//! Chromium is started with `--remote-debugging-port=0`; it writes the port
//! it chose to `DevToolsActivePort` in its user data directory. Each page is
//! a target made with `PUT /json/new`; its `webSocketDebuggerUrl` is the
//! CDP connection (JSON commands `{id, method, params}`, answers with the
//! same `id`, events without one, which are skipped here). [`Browser`]
//! kills chromium when dropped, a failed test included.
//!
//! Chromium is a peer program the tests need (Debian package `chromium`,
//! installed by `scripts/deps`): without it the test fails, loudly.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// How long one CDP command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Where chromium is: `$CHROMIUM`, else `chromium` or `chromium-browser`
/// on the PATH. Fails the test, saying how to install it, when there is
/// none.
pub fn chromium_path() -> PathBuf {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "chromium is not installed: the console tests drive it headless. Run scripts/deps \
         (it installs the Debian package `chromium`), or set CHROMIUM to a chromium binary"
    );
}

/// A headless chromium, killed and its profile removed when dropped.
#[derive(Debug)]
pub struct Browser {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Browser {
    /// Start chromium headless; waits (up to 30 s) for its DevTools port.
    pub fn start() -> Browser {
        let exe = chromium_path();
        let profile = tempfile::tempdir().expect("a profile directory");
        let child = Command::new(&exe)
            .args([
                "--headless=new",
                "--remote-debugging-port=0",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e} (run scripts/deps)", exe.display()));
        let mut browser = Browser { child, port: 0, profile };
        let file = browser.profile.path().join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(port) = std::fs::read_to_string(&file)
                .ok()
                .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<u16>().ok()))
            {
                browser.port = port;
                return browser;
            }
            if let Ok(Some(status)) = browser.child.try_wait() {
                panic!("{} ended ({status}) before it opened its DevTools port", exe.display());
            }
            assert!(Instant::now() < deadline, "chromium wrote no {} within 30 s", file.display());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A new tab showing `about:blank`.
    pub fn new_page(&self) -> Page {
        let url = format!("http://127.0.0.1:{}/json/new?about:blank", self.port);
        let target: Value =
            ureq::put(&url).call().unwrap_or_else(|e| panic!("PUT {url}: {e}")).into_json().expect("a target as JSON");
        let ws_url =
            target["webSocketDebuggerUrl"].as_str().unwrap_or_else(|| panic!("no webSocketDebuggerUrl: {target}"));
        let (ws, _) = tungstenite::connect(ws_url).unwrap_or_else(|e| panic!("CDP connect {ws_url}: {e}"));
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_millis(200))).expect("read timeout");
        }
        let mut page = Page { ws, next_id: 0 };
        page.call("Page.enable", json!({}));
        page.call("Runtime.enable", json!({}));
        page
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One tab, driven over its CDP connection.
pub struct Page {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page").field("next_id", &self.next_id).finish_non_exhaustive()
    }
}

impl Page {
    /// Send a command and wait for its answer (`result`); fails the test on
    /// a CDP error or after [`COMMAND_TIMEOUT`].
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        self.ws.send(Message::text(msg)).unwrap_or_else(|e| panic!("CDP send {method}: {e}"));
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            assert!(Instant::now() < deadline, "CDP {method}: no answer within {COMMAND_TIMEOUT:?}");
            let text = match self.ws.read() {
                Ok(Message::Text(t)) => t.as_str().to_owned(),
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
                {
                    continue;
                }
                Err(e) => panic!("CDP {method}: {e}"),
            };
            let answer: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("CDP sent non-JSON ({e}): {text}"));
            if answer["id"].as_u64() != Some(id) {
                continue; // an event
            }
            if let Some(err) = answer.get("error") {
                panic!("CDP {method} failed: {err}");
            }
            return answer["result"].clone();
        }
    }

    /// Load `url` and wait until its document has loaded.
    pub fn navigate(&mut self, url: &str) {
        let r = self.call("Page.navigate", json!({"url": url}));
        if let Some(e) = r.get("errorText") {
            panic!("navigate to {url}: {e}");
        }
        self.wait_for(&format!("{url} loaded"), "document.readyState === 'complete'");
    }

    /// The value of a JavaScript expression (promises awaited); fails the
    /// test when it throws.
    pub fn eval(&mut self, expression: &str) -> Value {
        let r = self
            .call("Runtime.evaluate", json!({"expression": expression, "returnByValue": true, "awaitPromise": true}));
        if let Some(ex) = r.get("exceptionDetails") {
            panic!("JavaScript threw: {ex}\nin: {expression}");
        }
        r["result"]["value"].clone()
    }

    /// Poll `expression` until it is truthy (30 s of wall time); its value.
    /// On timeout the test fails with the page's text.
    pub fn wait_for(&mut self, what: &str, expression: &str) -> Value {
        self.wait_for_within(what, expression, Duration::from_secs(30))
    }

    pub fn wait_for_within(&mut self, what: &str, expression: &str, patience: Duration) -> Value {
        let deadline = Instant::now() + patience;
        loop {
            let v = self.eval(expression);
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return v;
            }
            if Instant::now() >= deadline {
                let body = self.eval("document.body ? document.body.innerText : ''");
                panic!(
                    "waited {patience:?} for {what} ({expression}); the page shows:\n{}",
                    body.as_str().unwrap_or("")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Set an input's value by element id.
    pub fn set_value(&mut self, id: &str, value: &str) {
        let js = format!(
            "(() => {{ const e = document.getElementById({id}); e.value = {value}; \
             e.dispatchEvent(new Event('input', {{bubbles: true}})); return true; }})()",
            id = json!(id),
            value = json!(value)
        );
        self.eval(&js);
    }

    /// Click the element with this id (it must be there and enabled).
    pub fn click(&mut self, id: &str) {
        let js = format!(
            "(() => {{ const e = document.getElementById({id}); if (!e) throw new Error('no #' + {id}); \
             if (e.disabled) throw new Error('#' + {id} + ' is disabled'); e.click(); return true; }})()",
            id = json!(id)
        );
        self.eval(&js);
    }

    /// A PNG of what the tab shows, written to `path`.
    pub fn screenshot(&mut self, path: &std::path::Path) {
        let r = self.call("Page.captureScreenshot", json!({"format": "png", "captureBeyondViewport": true}));
        let data = r["data"].as_str().expect("screenshot data");
        std::fs::write(path, base64_decode(data)).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// The text of the element with this id (empty when there is none).
    pub fn text(&mut self, id: &str) -> String {
        let js = format!("(document.getElementById({}) || {{}}).textContent || ''", json!(id));
        self.eval(&js).as_str().unwrap_or("").to_string()
    }
}

/// Standard base64 (the screenshots CDP sends).
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(super::base64_decode("aGVsbG8="), b"hello");
        assert_eq!(super::base64_decode("aGk"), b"hi");
        assert_eq!(super::base64_decode("AAEC/w=="), [0, 1, 2, 255]);
    }
}
