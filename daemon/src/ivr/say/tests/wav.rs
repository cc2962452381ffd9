//! The default prompt set: every vocabulary name and phrase exists as
//! `prompts/<lang>/<name>.wav`, 8000 Hz mono 16-bit PCM with sound in it,
//! and nothing else is there. The RIFF header is read here, not by a
//! library, so the test checks the files and not the reader.

use super::*;
use std::path::Path;

/// What a WAV file holds.
#[derive(Debug, PartialEq, Eq)]
struct WavInfo {
    format_tag: u16,
    channels: u16,
    sample_rate_hz: u32,
    bits_per_sample: u16,
    /// Bytes in the `data` chunk.
    data_len: usize,
    /// Largest absolute sample.
    peak: u16,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Walks the RIFF chunks: `fmt ` and `data` must both be there.
fn parse_wav(b: &[u8]) -> Result<WavInfo, String> {
    if b.len() < 12 || &b[0..4] != b"RIFF" || &b[8..12] != b"WAVE" {
        return Err("not a RIFF/WAVE file".into());
    }
    let riff_len = u32_at(b, 4) as usize;
    if riff_len + 8 != b.len() {
        return Err(format!("RIFF length {} + 8 is not the file length {}", riff_len, b.len()));
    }
    let mut fmt: Option<(u16, u16, u32, u16)> = None;
    let mut data: Option<&[u8]> = None;
    let mut at = 12;
    while at + 8 <= b.len() {
        let id = &b[at..at + 4];
        let len = u32_at(b, at + 4) as usize;
        let body = b.get(at + 8..at + 8 + len).ok_or_else(|| format!("chunk {:?} at {at} runs past the end", id))?;
        match id {
            b"fmt " => {
                if len < 16 {
                    return Err(format!("fmt chunk of {len} bytes"));
                }
                fmt = Some((u16_at(body, 0), u16_at(body, 2), u32_at(body, 4), u16_at(body, 14)));
            }
            b"data" => data = Some(body),
            _ => {}
        }
        at += 8 + len + (len & 1);
    }
    let (format_tag, channels, sample_rate_hz, bits_per_sample) = fmt.ok_or("no fmt chunk")?;
    let data = data.ok_or("no data chunk")?;
    let peak = data.chunks_exact(2).map(|s| i16::from_le_bytes([s[0], s[1]]).unsigned_abs()).max().unwrap_or(0);
    Ok(WavInfo { format_tag, channels, sample_rate_hz, bits_per_sample, data_len: data.len(), peak })
}

/// Problems with one prompt file, if any.
fn check_prompt_file(path: &Path) -> Option<String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return Some(format!("{}: {e}", path.display())),
    };
    let info = match parse_wav(&bytes) {
        Ok(i) => i,
        Err(e) => return Some(format!("{}: {e}", path.display())),
    };
    let pcm = info.format_tag == 1 && info.channels == 1 && info.sample_rate_hz == 8000 && info.bits_per_sample == 16;
    if !pcm {
        return Some(format!("{}: not 8000 Hz mono 16-bit PCM: {info:?}", path.display()));
    }
    // At least 50 ms of audio, and not silence (−40 dBFS peak at least).
    if info.data_len < 800 || info.data_len % 2 != 0 || info.peak < 328 {
        return Some(format!("{}: too short, odd or silent: {info:?}", path.display()));
    }
    None
}

#[test]
fn wav_reader_sees_format_and_damage() {
    let mut good = Vec::new();
    good.extend_from_slice(b"RIFF");
    good.extend_from_slice(&(4u32 + 24 + 8 + 4).to_le_bytes());
    good.extend_from_slice(b"WAVEfmt ");
    good.extend_from_slice(&16u32.to_le_bytes());
    for v in [1u16, 1] {
        good.extend_from_slice(&v.to_le_bytes());
    }
    good.extend_from_slice(&8000u32.to_le_bytes());
    good.extend_from_slice(&16000u32.to_le_bytes());
    for v in [2u16, 16] {
        good.extend_from_slice(&v.to_le_bytes());
    }
    good.extend_from_slice(b"data");
    good.extend_from_slice(&4u32.to_le_bytes());
    good.extend_from_slice(&[0x10, 0x00, 0x00, 0x80]);
    let info = parse_wav(&good).unwrap();
    assert_eq!(
        info,
        WavInfo { format_tag: 1, channels: 1, sample_rate_hz: 8000, bits_per_sample: 16, data_len: 4, peak: 32768 }
    );
    assert!(parse_wav(&good[..good.len() - 1]).is_err(), "truncated");
    let mut stereo = good.clone();
    stereo[22] = 2;
    assert_eq!(parse_wav(&stereo).unwrap().channels, 2);
    let mut no_data = good.clone();
    no_data[36..40].copy_from_slice(b"LIST");
    assert!(parse_wav(&no_data).is_err(), "no data chunk");
}

#[test]
fn every_prompt_is_a_wav_file() {
    let mut problems = Vec::new();
    for lang in Lang::ALL {
        let dir = prompts_dir().join(lang.code());
        let names: BTreeSet<String> =
            vocabulary(lang).into_iter().chain(PHRASES.iter().map(|p| p.to_string())).collect();
        for name in &names {
            problems.extend(check_prompt_file(&dir.join(format!("{name}.wav"))));
        }
        // Nothing else: a stale file would be shipped and never used.
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            let entries = match std::fs::read_dir(&d) {
                Ok(e) => e,
                Err(e) => {
                    problems.push(format!("{}: {e}", d.display()));
                    continue;
                }
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let rel = path.strip_prefix(&dir).expect("under dir").to_string_lossy().replace('\\', "/");
                match rel.strip_suffix(".wav") {
                    Some(name) if names.contains(name) => {}
                    _ => problems.push(format!("{}: not a prompt of the set", path.display())),
                }
            }
        }
    }
    assert!(problems.is_empty(), "{} problems (run scripts/make-prompts):\n{}", problems.len(), problems.join("\n"));
}
