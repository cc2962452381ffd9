//! Prompts: where a prompt name is found, and its audio, converted once.
//!
//! A flow names prompts (`welcome`, `demo/main-menu`, `num/20`). For the
//! call's language `L`, a name `N` is looked up in order:
//! 1. `IVR_DIR/prompts/L/N.wav` (the site's own recording in that language),
//! 2. `IVR_DIR/prompts/N.wav` (a language-neutral file: music, a jingle),
//! 3. the default set shipped in the binary (`prompts/L/N.wav` of the
//!    repository, made by `scripts/make-prompts` with espeak-ng),
//! 4. `beep`: a 1 kHz tone of 300 ms (before voicemail and recordings).
//!
//! Top-level directories under `IVR_DIR/prompts` named as a language code
//! (`zh-CN`, `en`, `ru`) hold that language's prompts; all other files are
//! language-neutral. Files are WAV in any common format (8–48 kHz, 8/16-bit
//! PCM, A-law, μ-law, float, stereo): [`Prompts::load`] converts every one
//! to 8 kHz mono 16-bit at load (the engine encodes to the channel's law),
//! and reports every file that cannot be read, by path.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use ctibox_driver::dsp::level::dbm0_to_peak;
use ctibox_driver::media::player::PlayBuffer;
use ctibox_driver::media::wav::{self, WavError};

use super::PromptLookup;
use super::flow::Lang;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/default_prompts.rs"));
}

/// The name of the built-in beep.
pub const BEEP: &str = "beep";

/// Something wrong with a prompt directory or file.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("cannot read prompt directory {}: {source}", path.display())]
    Dir { path: PathBuf, source: std::io::Error },
    #[error("{}: the file name is not UTF-8", path.display())]
    Name { path: PathBuf },
    #[error("prompt {}: {source}", path.display())]
    Wav { path: PathBuf, source: WavError },
    #[error("prompt {}: the file has no audio", path.display())]
    Empty { path: PathBuf },
    #[error("built-in prompt {lang}/{name}: {source}")]
    Builtin { lang: &'static str, name: &'static str, source: WavError },
}

/// Every problem found loading prompts.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct PromptErrors(pub Vec<PromptError>);

/// Where each prompt name comes from (no audio read yet).
#[derive(Debug, Clone, Default)]
pub struct PromptIndex {
    /// `IVR_DIR/prompts/L/N.wav`.
    lang_files: BTreeMap<(Lang, String), PathBuf>,
    /// `IVR_DIR/prompts/N.wav`.
    neutral_files: BTreeMap<String, PathBuf>,
}

impl PromptIndex {
    /// The default set only (no flow directory).
    pub fn builtin() -> PromptIndex {
        PromptIndex::default()
    }

    /// The prompts of a flow directory (`ivr_dir/prompts/…`; none is fine)
    /// over the default set.
    pub fn scan(ivr_dir: &Path) -> Result<PromptIndex, PromptError> {
        let mut index = PromptIndex::default();
        let root = ivr_dir.join("prompts");
        if !root.is_dir() {
            return Ok(index);
        }
        let mut files = Vec::new();
        walk(&root, &mut files)?;
        for path in files {
            let rel = path.strip_prefix(&root).unwrap_or(&path).with_extension("");
            let mut parts = Vec::new();
            for c in rel.components() {
                match c.as_os_str().to_str() {
                    Some(s) => parts.push(s.to_string()),
                    None => return Err(PromptError::Name { path }),
                }
            }
            match Lang::parse(&parts[0]).filter(|l| l.code() == parts[0] && parts.len() > 1) {
                Some(lang) => {
                    index.lang_files.insert((lang, parts[1..].join("/")), path);
                }
                None => {
                    index.neutral_files.insert(parts.join("/"), path);
                }
            }
        }
        Ok(index)
    }

    /// Whether the site's directory or the default set has `name` for `lang`.
    pub fn has(&self, lang: Lang, name: &str) -> bool {
        name == BEEP
            || self.lang_files.contains_key(&(lang, name.to_string()))
            || self.neutral_files.contains_key(name)
            || builtin(lang, name).is_some()
    }

    /// How many files the site's directory has.
    pub fn site_files(&self) -> usize {
        self.lang_files.len() + self.neutral_files.len()
    }
}

impl PromptLookup for PromptIndex {
    fn has(&self, lang: Lang, name: &str) -> bool {
        PromptIndex::has(self, lang, name)
    }
}

/// Every `.wav` file under `dir`, sorted.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), PromptError> {
    let rd = std::fs::read_dir(dir).map_err(|source| PromptError::Dir { path: dir.to_owned(), source })?;
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("wav")) {
            out.push(p);
        }
    }
    Ok(())
}

/// The default set's WAV bytes for a name.
fn builtin(lang: Lang, name: &str) -> Option<&'static [u8]> {
    let code = lang.code();
    embedded::DEFAULT_PROMPTS
        .binary_search_by(|(l, n, _)| (*l, *n).cmp(&(code, name)))
        .ok()
        .map(|i| embedded::DEFAULT_PROMPTS[i].2)
}

/// The names of the default set for a language.
pub fn builtin_names(lang: Lang) -> Vec<&'static str> {
    let code = lang.code();
    embedded::DEFAULT_PROMPTS.iter().filter(|(l, _, _)| *l == code).map(|(_, n, _)| *n).collect()
}

/// Prompt audio, loaded: 8 kHz mono 16-bit, ready for the engine.
#[derive(Debug, Clone)]
pub struct Prompts {
    lang: HashMap<(Lang, String), PlayBuffer>,
    neutral: HashMap<String, PlayBuffer>,
    builtin: HashMap<Lang, HashMap<&'static str, PlayBuffer>>,
    beep: PlayBuffer,
}

impl Default for Prompts {
    /// No prompts but the beep.
    fn default() -> Prompts {
        Prompts { lang: HashMap::new(), neutral: HashMap::new(), builtin: HashMap::new(), beep: beep() }
    }
}

impl Prompts {
    /// Read and convert every file of the index and the default set.
    /// Errors name every file that could not be used.
    pub fn load(index: &PromptIndex) -> Result<Prompts, PromptErrors> {
        let mut errors = Vec::new();
        let mut p = Prompts::default();
        let mut load = |path: &Path| -> Option<PlayBuffer> {
            match wav::read_file(path).and_then(|w| {
                w.mono_8k().map_err(|source| WavError::Resample { path: path.to_owned(), to_hz: 8000, source })
            }) {
                Ok(s) if s.is_empty() => {
                    errors.push(PromptError::Empty { path: path.to_owned() });
                    None
                }
                Ok(s) => Some(PlayBuffer::new(s)),
                Err(source) => {
                    errors.push(PromptError::Wav { path: path.to_owned(), source });
                    None
                }
            }
        };
        for ((lang, name), path) in &index.lang_files {
            if let Some(b) = load(path) {
                p.lang.insert((*lang, name.clone()), b);
            }
        }
        for (name, path) in &index.neutral_files {
            if let Some(b) = load(path) {
                p.neutral.insert(name.clone(), b);
            }
        }
        for &(code, name, bytes) in embedded::DEFAULT_PROMPTS {
            let Some(lang) = Lang::parse(code) else { continue };
            match wav::parse(bytes).and_then(|w| {
                w.mono_8k().map_err(|source| WavError::Resample { path: PathBuf::from(name), to_hz: 8000, source })
            }) {
                Ok(s) => {
                    p.builtin.entry(lang).or_default().insert(name, PlayBuffer::new(s));
                }
                Err(source) => errors.push(PromptError::Builtin { lang: code, name, source }),
            }
        }
        if errors.is_empty() { Ok(p) } else { Err(PromptErrors(errors)) }
    }

    /// The audio of a prompt for a language (see the module doc for the
    /// order of lookup).
    pub fn get(&self, lang: Lang, name: &str) -> Option<&PlayBuffer> {
        if name == BEEP {
            return Some(&self.beep);
        }
        self.lang
            .get(&(lang, name.to_string()))
            .or_else(|| self.neutral.get(name))
            .or_else(|| self.builtin.get(&lang).and_then(|m| m.get(name)))
    }

    /// How many prompts are loaded (site and default).
    pub fn len(&self) -> usize {
        self.lang.len() + self.neutral.len() + self.builtin.values().map(HashMap::len).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Pause between the words of a spoken value (prompts are trimmed, so
/// "twenty" "one" would run together).
pub const SAY_GAP_MS: u64 = 40;

impl Prompts {
    /// The audio of a play: prompts, spoken values (`say` expanded into
    /// prompt names, a short gap between words) and pauses, in one buffer;
    /// and what could not be found or said (skipped).
    pub fn render(&self, items: &[super::interp::Spoken]) -> (Vec<i16>, Vec<String>) {
        use super::interp::Spoken;
        let mut out: Vec<i16> = Vec::new();
        let mut missing: Vec<String> = Vec::new();
        let gap = (SAY_GAP_MS * 8) as usize;
        for item in items {
            match item {
                Spoken::Prompt { lang, name } => match self.get(*lang, name) {
                    Some(b) => out.extend_from_slice(b.samples()),
                    None => missing.push(format!("{}/{name}", lang.code())),
                },
                Spoken::Say { lang, kind, value, options } => match super::say::say(*lang, *kind, value, options) {
                    Ok(names) => {
                        for (i, n) in names.iter().enumerate() {
                            if i > 0 {
                                out.extend(std::iter::repeat_n(0i16, gap));
                            }
                            match self.get(*lang, n) {
                                Some(b) => out.extend_from_slice(b.samples()),
                                None => missing.push(format!("{}/{n}", lang.code())),
                            }
                        }
                    }
                    Err(e) => missing.push(format!("say {} `{value}`: {e}", kind.name())),
                },
                Spoken::Silence { ms } => out.extend(std::iter::repeat_n(0i16, (*ms as usize).saturating_mul(8))),
            }
        }
        (out, missing)
    }
}

/// 300 ms of 1 kHz at −10 dBm0 with 5 ms ramps.
fn beep() -> PlayBuffer {
    let n = 2400;
    let amp = dbm0_to_peak(-10.0);
    let ramp = 40.0;
    let s = (0..n)
        .map(|i| {
            let g = (i as f64 / ramp).min((n - i) as f64 / ramp).min(1.0);
            (amp * g * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 8000.0).sin()).round() as i16
        })
        .collect();
    PlayBuffer::new(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctibox_driver::dsp::g711;
    use ctibox_driver::media::wav::{FmtRepr, SampleFormat};

    /// A mono WAV file in any format, built by hand.
    fn write_wav(path: &Path, rate: u32, format: SampleFormat, samples: &[f32]) {
        let fmt = FmtRepr::new(format, 1, rate);
        let mut body = vec![0u8; fmt.buffer_len()];
        assert!(fmt.emit(&mut body));
        let mut data = Vec::new();
        for &v in samples {
            let pcm = (v * 32767.0) as i16;
            match format {
                SampleFormat::U8 => data.push(((pcm >> 8) + 128) as u8),
                SampleFormat::S16 => data.extend_from_slice(&pcm.to_le_bytes()),
                SampleFormat::ALaw => data.push(g711::linear_to_alaw(pcm)),
                SampleFormat::MuLaw => data.push(g711::linear_to_ulaw(pcm)),
                other => panic!("test writes no {other:?}"),
            }
        }
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&((4 + 8 + body.len() + 8 + data.len()) as u32).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out.extend_from_slice(b"data");
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&data);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, out).unwrap();
    }

    fn sine(rate: u32, secs: f32) -> Vec<f32> {
        (0..(rate as f32 * secs) as usize)
            .map(|i| 0.3 * (i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin())
            .collect()
    }

    #[test]
    fn site_files_override_and_convert() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("prompts");
        write_wav(&root.join("en/welcome.wav"), 44_100, SampleFormat::S16, &sine(44_100, 0.5));
        write_wav(&root.join("ru/welcome.wav"), 16_000, SampleFormat::U8, &sine(16_000, 0.25));
        write_wav(&root.join("music/jingle.wav"), 8000, SampleFormat::ALaw, &sine(8000, 1.0));
        let idx = PromptIndex::scan(d.path()).unwrap();
        assert_eq!(idx.site_files(), 3);
        assert!(idx.has(Lang::En, "welcome"));
        assert!(idx.has(Lang::Zh, "music/jingle"));
        assert!(idx.has(Lang::Zh, BEEP));
        assert!(!idx.has(Lang::En, "no-such-prompt"));
        let p = Prompts::load(&idx).unwrap();
        // Converted to 8 kHz: lengths follow the duration.
        assert_eq!(p.get(Lang::En, "welcome").unwrap().len(), 4000);
        assert_eq!(p.get(Lang::Ru, "welcome").unwrap().len(), 2000);
        assert_eq!(p.get(Lang::En, "music/jingle").unwrap().len(), 8000);
        assert_eq!(p.get(Lang::En, BEEP).unwrap().len(), 2400);
    }

    #[test]
    fn bad_files_are_named() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("prompts/en");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("broken.wav"), b"RIFF0000WAVEjunk").unwrap();
        write_wav(&root.join("empty.wav"), 8000, SampleFormat::S16, &[]);
        let idx = PromptIndex::scan(d.path()).unwrap();
        let e = Prompts::load(&idx).unwrap_err().to_string();
        assert!(e.contains("broken.wav"), "{e}");
        assert!(e.contains("empty.wav") && e.contains("no audio"), "{e}");
    }

    #[test]
    fn default_set_loads() {
        let p = Prompts::load(&PromptIndex::builtin()).unwrap();
        for lang in Lang::ALL {
            for name in builtin_names(lang) {
                assert!(p.get(lang, name).is_some_and(|b| !b.is_empty()), "{}/{name}", lang.code());
            }
        }
    }
}
