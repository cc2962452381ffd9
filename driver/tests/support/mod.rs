//! Shared helpers for the driver's conformance and witness tests.
//!
//! Peer programs (sox, espeak-ng, multimon-ng) and peer libraries (spandsp)
//! are independent witnesses: CI installs them (`scripts/deps`), so a test
//! that needs one fails loudly, naming the Debian package, when it is
//! missing — it never skips.
//!
//! Witnesses that use a C library are small C programs under
//! `driver/tests/witness/`, compiled here with the system C compiler the
//! first time a test needs them, so that the Rust tests hold no `unsafe`.

#![allow(dead_code)]

pub mod speech;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace's target directory (where test binaries live).
pub fn target_dir() -> PathBuf {
    if let Ok(d) = std::env::var("CARGO_TARGET_DIR") {
        return PathBuf::from(d);
    }
    // tests run from target/<profile>/deps/<name>
    let exe = std::env::current_exe().expect("current_exe");
    exe.ancestors().nth(3).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("target"))
}

/// A scratch directory under the target directory for generated test data
/// that may be kept between runs (speech corpora, compiled witnesses).
pub fn cache_dir(name: &str) -> PathBuf {
    let d = target_dir().join("testdata").join(name);
    std::fs::create_dir_all(&d).expect("create test cache dir");
    d
}

/// Find a peer program on PATH or fail the test, naming its package.
pub fn require_tool(bin: &str, debian_package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join(bin);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "peer program `{bin}` is not installed: this test needs it as an independent witness. \
         Install the Debian package `{debian_package}` (scripts/deps installs every peer the tests need)."
    );
}

/// Run a command; fail the test with its stderr if it does not succeed.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!("{cmd:?} failed with {}:\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    out
}

/// Compile a C witness from `driver/tests/witness/<file>` against `libs`
/// (e.g. `["spandsp", "m"]`) and return the binary's path. The binary is
/// cached by a hash of the source. A missing header or library fails the
/// test with the package to install.
pub fn build_c_witness(file: &str, libs: &[&str], debian_package: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/witness").join(file);
    let text = std::fs::read(&src).unwrap_or_else(|e| panic!("cannot read witness source {}: {e}", src.display()));
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    libs.hash(&mut h);
    let stem = Path::new(file).file_stem().and_then(|s| s.to_str()).unwrap_or("witness");
    let out = cache_dir("witness").join(format!("{stem}-{:016x}", h.finish()));
    if out.is_file() {
        return out;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    // Tests in one binary run in parallel threads: make the temporary
    // name unique per build attempt, not just per process.
    static BUILDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = BUILDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = out.with_extension(format!("tmp{}-{n}", std::process::id()));
    let mut cmd = Command::new(&cc);
    cmd.arg("-O2").arg("-o").arg(&tmp).arg(&src);
    for l in libs {
        cmd.arg(format!("-l{l}"));
    }
    let res = cmd.output().unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}`: {e}"));
    if !res.status.success() {
        panic!(
            "cannot build the witness {file}: install the Debian package `{debian_package}` \
             (scripts/deps does it).\n{cmd:?}:\n{}",
            String::from_utf8_lossy(&res.stderr)
        );
    }
    // Another thread may have put the same binary in place meanwhile;
    // rename over it is atomic, so either copy is fine.
    std::fs::rename(&tmp, &out).expect("move witness into place");
    out
}

/// Write 16-bit little-endian raw samples.
pub fn write_raw_s16(path: &Path, samples: &[i16]) {
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Read 16-bit little-endian raw samples.
pub fn read_raw_s16(path: &Path) -> Vec<i16> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    bytes.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect()
}

/// Render a signal with `sox ... synth` into 8 kHz 16-bit mono samples.
/// `effects` are the words after `-n`, e.g. `["synth", "0.1", "sine", "697",
/// "sine", "1209"]`.
pub fn sox_synth(effects: &[&str]) -> Vec<i16> {
    let sox = require_tool("sox", "sox");
    let dir = tempfile_dir();
    let out = dir.join("synth.raw");
    run(Command::new(sox)
        .args(["-q", "-n", "-r", "8000", "-b", "16", "-c", "1", "-e", "signed-integer", "-t", "raw"])
        .arg(&out)
        .args(effects));
    let s = read_raw_s16(&out);
    let _ = std::fs::remove_dir_all(&dir);
    s
}

/// A fresh empty directory under the system temp dir.
pub fn tempfile_dir() -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let d =
        std::env::temp_dir().join(format!("ctibox-test-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A conformance scorecard: rows of (test, passed, total), printed as a
/// table at the end of a suite (`cargo test -- --nocapture` shows it).
#[derive(Debug, Default)]
pub struct Scorecard {
    pub title: String,
    pub rows: Vec<(String, usize, usize)>,
}

impl Scorecard {
    pub fn new(title: &str) -> Self {
        Scorecard { title: title.into(), rows: Vec::new() }
    }
    pub fn row(&mut self, name: impl Into<String>, passed: usize, total: usize) {
        self.rows.push((name.into(), passed, total));
    }
    pub fn passed(&self) -> usize {
        self.rows.iter().map(|r| r.1).sum()
    }
    pub fn total(&self) -> usize {
        self.rows.iter().map(|r| r.2).sum()
    }
    /// Print the table; returns whether every row passed fully.
    pub fn print(&self) -> bool {
        println!("\n== {} ==", self.title);
        let w = self.rows.iter().map(|r| r.0.len()).max().unwrap_or(4).max(4);
        for (name, p, t) in &self.rows {
            let mark = if p == t { "ok  " } else { "FAIL" };
            println!("{mark} {name:<w$} {p:>6}/{t:<6}");
        }
        println!("     {:<w$} {:>6}/{:<6}", "total", self.passed(), self.total());
        self.passed() == self.total()
    }
}
