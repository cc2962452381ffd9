//! Embeds the default prompt set (`prompts/<lang>/**/*.wav` at the top of
//! the repository) so the daemon needs no files and no speech engine to
//! speak its menus and numbers.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const LANGS: [&str; 3] = ["zh-CN", "en", "ru"];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest.join("..").join("prompts");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut entries = Vec::new();
    for lang in LANGS {
        let dir = root.join(lang);
        println!("cargo:rerun-if-changed={}", dir.display());
        collect(&dir, &dir, lang, &mut entries);
    }
    entries.sort();
    let mut out = String::from("/// (language code, prompt name, WAV bytes), sorted.\n");
    out.push_str("pub static DEFAULT_PROMPTS: &[(&str, &str, &[u8])] = &[\n");
    for (lang, name, path) in &entries {
        let _ = writeln!(out, "    ({lang:?}, {name:?}, include_bytes!({:?})),", path.display().to_string());
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("default_prompts.rs");
    std::fs::write(&dest, out).expect("write default_prompts.rs");
}

fn collect(base: &Path, dir: &Path, lang: &str, out: &mut Vec<(String, String, PathBuf)>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for entry in rd.flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(base, &path, lang, out);
        } else if path.extension().is_some_and(|e| e == "wav") {
            let rel = path.strip_prefix(base).expect("under base").with_extension("");
            let name =
                rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/");
            let abs = path.canonicalize().unwrap_or(path.clone());
            out.push((lang.to_string(), name, abs));
        }
    }
}
