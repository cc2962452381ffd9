//! Helpers for the end-to-end tests: find the workspace's binaries, start
//! them as child processes that are killed when the test ends, make
//! scratch directories; [`cdp`] drives a headless chromium.

pub mod cdp;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The directory holding the workspace's binaries for this test build
/// (`target/<profile>/`). `scripts/test` builds them first.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test binary>
    exe.parent().and_then(Path::parent).map(Path::to_path_buf).expect("target dir")
}

/// Path of a workspace binary; fails the test loudly if it was not built.
pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.is_file(),
        "{} is not built: run `cargo build --workspace --bins --profile test` (scripts/test does it) before the end-to-end tests",
        p.display()
    );
    p
}

/// A child process killed (and reaped) when dropped.
#[derive(Debug)]
pub struct Proc {
    pub child: Child,
    pub name: String,
}

impl Proc {
    /// Start `name` with `args`, capturing its output.
    pub fn start(name: &str, args: &[&str]) -> Proc {
        let child = Command::new(bin(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc { child, name: name.into() }
    }

    /// Wait until the process has made a Unix socket at `path`; fails the
    /// test with the process's output if it ends first (a scenario it
    /// refused, say) or after `timeout`.
    pub fn wait_for_socket(&mut self, path: &Path, timeout: Duration) {
        let start = Instant::now();
        while !path.exists() {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut out = String::new();
                use std::io::Read;
                if let Some(mut o) = self.child.stdout.take() {
                    let _ = o.read_to_string(&mut out);
                }
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = e.read_to_string(&mut out);
                }
                panic!("{} ended ({status}) before making {}:\n{out}", self.name, path.display());
            }
            assert!(start.elapsed() < timeout, "no socket at {} after {timeout:?}", path.display());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Wait for the process to end by itself; returns (code, stdout,
    /// stderr). Fails the test after `timeout`.
    pub fn wait(mut self, timeout: Duration) -> (i32, String, String) {
        let start = Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    let mut out = String::new();
                    let mut err = String::new();
                    use std::io::Read;
                    if let Some(mut o) = self.child.stdout.take() {
                        let _ = o.read_to_string(&mut out);
                    }
                    if let Some(mut e) = self.child.stderr.take() {
                        let _ = e.read_to_string(&mut err);
                    }
                    return (status.code().unwrap_or(-1), out, err);
                }
                Ok(None) if start.elapsed() < timeout => std::thread::sleep(Duration::from_millis(20)),
                Ok(None) => {
                    let _ = self.child.kill();
                    panic!("{} did not finish within {timeout:?}", self.name);
                }
                Err(e) => panic!("waiting for {}: {e}", self.name),
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait until a Unix socket exists at `path`.
pub fn wait_for_socket(path: &Path, timeout: Duration) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < timeout, "no socket at {} after {timeout:?}", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A fresh scratch directory, removed when dropped.
#[derive(Debug)]
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let d = std::env::temp_dir().join(format!(
            "ctibox-e2e-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&d).expect("scratch dir");
        Scratch(d)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
