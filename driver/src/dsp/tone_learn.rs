//! Tone learner: measure the call-progress tone of a recording of a real
//! line (8 kHz, 16-bit) — its frequencies, level and on/off cadence — and
//! write it as a profile entry ([`super::ToneEntry`], TOML), for
//! `ctibox dsp learn FILE.wav`. Real exchanges differ from the book; this
//! is how a technician teaches the detector the ones they meet.
//!
//! How it works (offline: it allocates and takes its time):
//!
//! 1. **Bursts.** The recording is cut into 5 ms frames; frames within
//!    10 dB of the loud end (95th percentile) form candidate bursts.
//! 2. **Frequencies.** Each burst of 60 ms or more is Hann-windowed (up to
//!    0.5 s of it), zero-padded to 16 384 points and Fourier transformed;
//!    the strongest peak, and a second one within 12 dB of it that is
//!    neither its harmonic nor its side lobe, are located to a fraction of
//!    a bin by parabolic interpolation of the log spectrum. Bursts with the
//!    same frequencies (within 1.5 %) form one *set*; a set's frequencies
//!    are the length-weighted mean of its bursts'. Sets holding less than
//!    10 % of the tone time are dropped as glitches.
//! 3. **Segments.** Every frame gets the set whose frequencies hold the
//!    most power, if that power is above −10 dB of the set's level and 6 dB
//!    above the noise; gaps of up to 20 ms are bridged (the beat nulls of
//!    two close frequencies), flashes shorter than 20 ms dropped, and each
//!    edge placed within a frame from the boundary frames' power.
//! 4. **Cadence.** Bursts cut by the start or end of the recording are not
//!    timed. The cadence is the shortest run of 1–4 bursts that repeats
//!    (labels equal, lengths within 25 % + 15 ms); each step is the mean of
//!    its occurrences, rounded to 5 ms, and the cycle starts after its
//!    longest gap. A single burst of at least a second that fills most of
//!    the recording is a continuous tone;
//!    a sequence of different sets heard once and followed by silence is a
//!    one-shot tone (`…,0`, like a SIT). Gaps under 20 ms are not steps.
//! 5. **Level** per frequency from a Goertzel filter over each burst's
//!    interior; **SNR** against the power between bursts (or what is left
//!    of the bursts' power beside the tone, for a continuous tone).
//! 6. **Kind** is guessed from the cadence (continuous: dial; several
//!    frequency sets: SIT; a period of 2.5 s or more: ringback if it sounds
//!    0.7 s or more per cycle, else call waiting; otherwise congestion when
//!    the period is 600 ms or less or the bursts differ, else busy) and the
//!    TOML says it was guessed.
//!
//! Not implemented: more than two frequencies at once, amplitude-modulated
//! tones, tones over speech, and cadences of more than four bursts.

use std::fmt;
use std::fmt::Write as _;

use super::{PatternError, ToneDef, ToneEntry, ToneKind, parse_pattern};
use crate::dsp::level::power_to_dbm0;

/// Shortest recording learned from (0.5 s).
pub const LEARN_MIN_SAMPLES: usize = 4000;
/// Frame length (5 ms).
const FRAME: usize = 40;
/// FFT size for the frequency estimates (0.49 Hz per bin).
const FFT_SIZE: usize = 16_384;
/// Most samples of one burst analysed.
const MAX_ANALYSIS_SAMPLES: usize = 4096;
/// Bursts analysed for frequency at most.
const MAX_ANALYSED_BURSTS: usize = 64;
/// Shortest burst analysed for frequency (frames).
const MIN_ANALYSED_FRAMES: usize = 12;
/// Frames bridged inside a burst, and shortest burst kept (frames).
const BRIDGE_FRAMES: usize = 4;
/// Gaps shorter than this are not cadence steps (ms).
const MIN_GAP_MS: u32 = 20;
/// Lengths are rounded to this (ms).
const ROUND_MS: u32 = 5;

/// Why a recording taught nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LearnError {
    #[error("the recording has {0} samples; at least {LEARN_MIN_SAMPLES} (0.5 s at 8 kHz) are needed")]
    TooShort(usize),
    #[error("the recording is silent (loudest 5 ms at {0:.1} dBm0)")]
    Silent(f32),
    #[error("no steady tone found in the recording")]
    NoTone,
    #[error("the tone sounds {bursts} time(s) without a repeating cadence; record at least two full cycles")]
    NoCadence { bursts: usize },
    #[error("the tone is too complex for a pattern ({0})")]
    TooComplex(&'static str),
    #[error(transparent)]
    Pattern(#[from] PatternError),
}

/// What [`learn`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnedTone {
    /// The tone as a profile entry: kind guessed, frequencies rounded to
    /// 1 Hz, lengths to 5 ms, level to 0.5 dB.
    pub def: ToneDef,
    /// Each distinct frequency as measured (Hz), in order of appearance…
    pub freqs_hz: Vec<f32>,
    /// …and its level (dBm0).
    pub levels_dbm0: Vec<f32>,
    /// Full cycles heard (0 for a continuous tone, 1 for a one-shot one).
    pub cycles: usize,
    /// Tone power over noise power (dB).
    pub snr_db: f32,
}

impl LearnedTone {
    /// The entry for a profile.
    pub fn entry(&self) -> ToneEntry {
        ToneEntry::from_def(&self.def)
    }

    /// The entry as TOML, with what was measured in comments.
    pub fn to_toml(&self) -> String {
        let mut s = String::from("# ctibox dsp learn:");
        for (i, (f, l)) in self.freqs_hz.iter().zip(&self.levels_dbm0).enumerate() {
            let _ = write!(s, "{} {f:.1} Hz at {l:.1} dBm0", if i == 0 { "" } else { "," });
        }
        match self.cycles {
            0 => s.push_str("; continuous"),
            n => {
                let _ = write!(s, "; {n} cycle{} heard", if n == 1 { "" } else { "s" });
            }
        }
        let _ = writeln!(s, "; SNR {:.1} dB", self.snr_db);
        s.push_str("# kind guessed from the cadence: check it\n");
        s.push_str(&self.entry().to_toml());
        s
    }
}

impl fmt::Display for LearnedTone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_toml())
    }
}

/// A frequency set: 1 or 2 frequencies.
#[derive(Debug, Clone, PartialEq)]
struct Set {
    freqs: Vec<f64>,
    /// Samples of bursts that showed it.
    weight: f64,
}

/// A burst as found.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Burst {
    set: usize,
    start: f64,
    end: f64,
    /// Cut by the start or end of the recording.
    cut: bool,
}

/// Measure the tone(s) of `samples` (8 kHz). See the module doc.
pub fn learn(samples: &[i16]) -> Result<LearnedTone, LearnError> {
    if samples.len() < LEARN_MIN_SAMPLES {
        return Err(LearnError::TooShort(samples.len()));
    }
    let x: Vec<f64> = samples.iter().map(|&s| s as f64).collect();
    let nframes = x.len() / FRAME;
    let frame_power: Vec<f64> =
        x.chunks_exact(FRAME).map(|c| c.iter().map(|v| v * v).sum::<f64>() / FRAME as f64).collect();
    let loud_ref = quantile(&frame_power, 0.95);
    let max_db = power_to_dbm0(frame_power.iter().cloned().fold(0.0, f64::max));
    if max_db < -55.0 {
        return Err(LearnError::Silent(max_db as f32));
    }
    // 1. Candidate bursts: runs of loud frames.
    let mut loud: Vec<Option<usize>> =
        frame_power.iter().map(|&p| (p >= loud_ref / 10.0 && p > 0.0).then_some(0)).collect();
    bridge(&mut loud);
    let loud: Vec<bool> = loud.iter().map(Option::is_some).collect();
    let runs = split_by_frequency(&x, &runs_of(&loud, true));
    // 2. Frequencies of each long run.
    let mut found: Vec<(Vec<f64>, f64)> = Vec::new();
    for &(a, b) in runs.iter().filter(|r| r.1 - r.0 >= MIN_ANALYSED_FRAMES).take(MAX_ANALYSED_BURSTS) {
        let from = (a + 2) * FRAME;
        let to = (b - 2) * FRAME;
        let mid = (from + to) / 2;
        let half = ((to - from) / 2).min(MAX_ANALYSIS_SAMPLES / 2);
        let seg = &x[mid - half..mid + half];
        if let Some(freqs) = peaks(seg) {
            found.push((freqs, seg.len() as f64));
        }
    }
    let mut sets: Vec<Set> = Vec::new();
    for (freqs, w) in found {
        match sets.iter_mut().find(|s| same_set(&s.freqs, &freqs)) {
            Some(s) => {
                for (a, b) in s.freqs.iter_mut().zip(&freqs) {
                    *a = (*a * s.weight + b * w) / (s.weight + w);
                }
                s.weight += w;
            }
            None => sets.push(Set { freqs, weight: w }),
        }
    }
    let total_w: f64 = sets.iter().map(|s| s.weight).sum();
    sets.retain(|s| s.weight >= 0.1 * total_w);
    if sets.is_empty() {
        return Err(LearnError::NoTone);
    }
    if sets.len() > 4 {
        return Err(LearnError::TooComplex("more than four frequency combinations"));
    }
    // 3. Label frames by set.
    let band: Vec<Vec<f64>> = sets
        .iter()
        .map(|s| x.chunks_exact(FRAME).map(|c| s.freqs.iter().map(|&f| goertzel_power(c, f)).sum::<f64>()).collect())
        .collect();
    let in_run = {
        let mut v = vec![false; nframes];
        for &(a, b) in &runs {
            for f in v.iter_mut().take(b).skip(a) {
                *f = true;
            }
        }
        v
    };
    let mut thresholds = Vec::new();
    let mut on_levels = Vec::new();
    for b in &band {
        let inside: Vec<f64> = (0..nframes).filter(|&i| in_run[i]).map(|i| b[i]).collect();
        let outside: Vec<f64> = (0..nframes).filter(|&i| !in_run[i]).map(|i| b[i]).collect();
        let on = quantile(&inside, 0.75).max(1e-9);
        let noise = if outside.len() >= 10 { quantile(&outside, 0.9) } else { on * 1e-3 };
        on_levels.push(on);
        thresholds.push((on / 10.0).max(noise * 4.0));
    }
    let mut label: Vec<Option<usize>> = (0..nframes)
        .map(|i| {
            let (best, p) =
                band.iter().enumerate().map(|(k, b)| (k, b[i])).fold((0, -1.0), |a, c| if c.1 > a.1 { c } else { a });
            (p >= thresholds[best]).then_some(best)
        })
        .collect();
    bridge(&mut label);
    // 4. Bursts with refined edges.
    let mut bursts = Vec::new();
    let mut i = 0;
    while i < nframes {
        let Some(set) = label[i] else {
            i += 1;
            continue;
        };
        let a = i;
        while i < nframes && label[i] == Some(set) {
            i += 1;
        }
        let b = i;
        let cov = |f: usize| (band[set][f] / on_levels[set]).sqrt().min(1.0);
        let before = if a > 0 { cov(a - 1) } else { 0.0 };
        let after = if b < nframes { cov(b) } else { 0.0 };
        let start = ((a + 1) as f64 - cov(a) - before) * FRAME as f64;
        let end = ((b - 1) as f64 + cov(b - 1) + after) * FRAME as f64;
        let cut = a == 0 || b >= nframes;
        bursts.push(Burst { set, start: start.max(0.0), end: end.max(start), cut });
    }
    if bursts.is_empty() {
        return Err(LearnError::NoTone);
    }
    // 5. Levels per frequency and SNR.
    let mut freqs_hz = Vec::new();
    let mut levels = Vec::new();
    let mut order: Vec<usize> = Vec::new();
    for b in &bursts {
        if !order.contains(&b.set) {
            order.push(b.set);
        }
    }
    for &s in &order {
        for &f in &sets[s].freqs {
            let mut acc = 0.0;
            let mut n = 0.0;
            for b in bursts.iter().filter(|b| b.set == s) {
                let (from, to) = interior(b, x.len());
                if to > from {
                    acc += goertzel_power(&x[from..to], f);
                    n += 1.0;
                }
            }
            freqs_hz.push(f as f32);
            levels.push(power_to_dbm0(if n > 0.0 { acc / n } else { 0.0 }) as f32);
        }
    }
    let snr_db = snr(&x, &bursts, &sets);
    // 6. Cadence.
    let level = (levels.iter().map(|&l| l as f64).sum::<f64>() / levels.len() as f64 * 2.0).round() / 2.0;
    let name = |s: usize| {
        let mut t = String::new();
        for (j, f) in sets[s].freqs.iter().enumerate() {
            let _ = write!(t, "{}{:.0}", if j == 0 { "" } else { "+" }, f.round());
        }
        t
    };
    let ms = |samples: f64| -> u32 {
        let v = (samples / 8.0 / ROUND_MS as f64).round() as u32 * ROUND_MS;
        v.max(ROUND_MS)
    };
    // One burst, the longer part of the recording and at least a second
    // long: a continuous tone (cut by the start or end of the recording).
    let whole = bursts.len() == 1 && {
        let n = bursts[0].end - bursts[0].start;
        n >= 0.5 * x.len() as f64 && n >= 8000.0
    };
    let (pattern, cycles, kind) =
        if whole { (name(bursts[0].set), 0, ToneKind::Dial) } else { cadence(&bursts, &name, &ms, x.len() as f64)? };
    let spec = parse_pattern(&pattern, level as f32)?;
    Ok(LearnedTone { def: ToneDef::new(kind, spec), freqs_hz, levels_dbm0: levels, cycles, snr_db: snr_db as f32 })
}

/// The cadence of `bursts`: (pattern, cycles heard, guessed kind).
fn cadence(
    bursts: &[Burst],
    name: &dyn Fn(usize) -> String,
    ms: &dyn Fn(f64) -> u32,
    len: f64,
) -> Result<(String, usize, ToneKind), LearnError> {
    // (set, on, gap after); on is None for cut bursts, gap None for the last.
    let items: Vec<(usize, Option<f64>, Option<f64>)> = bursts
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let gap = bursts.get(i + 1).map(|n| (n.start - b.end).max(0.0));
            (b.set, (!b.cut).then_some(b.end - b.start), gap)
        })
        .collect();
    let complete = items.iter().filter(|it| it.1.is_some()).count();
    let close = |a: f64, b: f64| (a - b).abs() <= 0.25 * a.max(b) + 15.0 * 8.0;
    let min_gap = (MIN_GAP_MS * 8) as f64;
    let close_gap = |a: f64, b: f64| (a < min_gap && b < min_gap) || close(a, b);
    let n = items.len();
    for p in 1..=4usize.min(n.saturating_sub(1)) {
        let mut compared = 0;
        let mut ok = true;
        for i in 0..n - p {
            let (a, b) = (items[i], items[i + p]);
            if a.0 != b.0 {
                ok = false;
                break;
            }
            if let (Some(x), Some(y)) = (a.1, b.1) {
                ok &= close(x, y);
                compared += 1;
            }
            if let (Some(x), Some(y)) = (a.2, b.2) {
                ok &= close_gap(x, y);
            }
        }
        if !ok || compared == 0 {
            continue;
        }
        // Mean on and gap per position (by index mod p).
        let mut on = vec![(0.0, 0.0); p];
        let mut gap = vec![(0.0, 0.0); p];
        for (i, it) in items.iter().enumerate() {
            if let Some(v) = it.1 {
                on[i % p].0 += v;
                on[i % p].1 += 1.0;
            }
            if let Some(v) = it.2 {
                gap[i % p].0 += v;
                gap[i % p].1 += 1.0;
            }
        }
        if on.iter().chain(&gap).any(|c| c.1 == 0.0) {
            continue;
        }
        let on: Vec<f64> = on.iter().map(|c| c.0 / c.1).collect();
        let gap: Vec<f64> = gap.iter().map(|c| c.0 / c.1).collect();
        // Start the cycle after its longest gap.
        let first = (0..p).max_by(|&a, &b| gap[a].total_cmp(&gap[b])).map_or(0, |k| (k + 1) % p);
        let mut steps = Vec::new();
        let mut on_ms = Vec::new();
        let mut period = 0u32;
        for k in 0..p {
            let j = (first + k) % p;
            let o = ms(on[j]);
            steps.push(format!("{}/{o}", name(items[j].0)));
            on_ms.push(o);
            period += o;
            if gap[j] >= min_gap {
                let g = ms(gap[j]);
                steps.push(format!("0/{g}"));
                period += g;
            }
        }
        if steps.len() > super::MAX_TONE_STEPS {
            return Err(LearnError::TooComplex("more than eight steps"));
        }
        let cycles = complete / p;
        let sets: Vec<usize> = items[..p].iter().map(|it| it.0).collect();
        let distinct = sets.iter().enumerate().filter(|(i, s)| !sets[..*i].contains(s)).count();
        let kind = guess_kind(distinct, &on_ms, period);
        return Ok((steps.join(","), cycles.max(1), kind));
    }
    // A sequence heard once, then silence to the end: a one-shot tone.
    let last = bursts[bursts.len() - 1];
    let distinct = bursts.iter().enumerate().filter(|(i, b)| !bursts[..*i].iter().any(|o| o.set == b.set)).count();
    if bursts.len() >= 2
        && distinct == bursts.len()
        && !last.cut
        && len - last.end >= 8000.0
        && bursts.iter().all(|b| !b.cut)
    {
        let mut steps = Vec::new();
        for (i, it) in items.iter().enumerate() {
            steps.push(format!("{}/{}", name(it.0), ms(it.1.unwrap_or(0.0))));
            if let Some(g) = it.2
                && g >= min_gap
                && i + 1 < items.len()
            {
                steps.push(format!("0/{}", ms(g)));
            }
        }
        steps.push("0".to_string());
        if steps.len() > super::MAX_TONE_STEPS {
            return Err(LearnError::TooComplex("more than eight steps"));
        }
        return Ok((steps.join(","), 1, ToneKind::Sit));
    }
    Err(LearnError::NoCadence { bursts: complete })
}

fn guess_kind(distinct_sets: usize, on_ms: &[u32], period_ms: u32) -> ToneKind {
    let total_on: u32 = on_ms.iter().sum();
    let uneven = on_ms.iter().any(|&o| o.abs_diff(on_ms[0]) > on_ms[0] / 4);
    if distinct_sets > 1 {
        ToneKind::Sit
    } else if period_ms >= 2500 {
        if total_on >= 700 { ToneKind::Ringback } else { ToneKind::CallWaiting }
    } else if period_ms <= 600 || uneven {
        ToneKind::Congestion
    } else {
        ToneKind::Busy
    }
}

/// The part of a burst away from its edges (samples).
fn interior(b: &Burst, len: usize) -> (usize, usize) {
    let trim = 80.0;
    let from = (b.start + trim).max(0.0) as usize;
    let to = ((b.end - trim).max(0.0) as usize).min(len);
    (from, to.max(from))
}

fn snr(x: &[f64], bursts: &[Burst], sets: &[Set]) -> f64 {
    let len = x.len();
    let mut tone = 0.0;
    let mut tone_n = 0.0;
    let mut total = 0.0;
    for b in bursts {
        let (from, to) = interior(b, len);
        if to <= from {
            continue;
        }
        let seg = &x[from..to];
        tone += sets[b.set].freqs.iter().map(|&f| goertzel_power(seg, f)).sum::<f64>();
        total += seg.iter().map(|v| v * v).sum::<f64>() / seg.len() as f64;
        tone_n += 1.0;
    }
    if tone_n == 0.0 {
        return 0.0;
    }
    tone /= tone_n;
    total /= tone_n;
    // Noise between bursts, away from their edges.
    let mut covered = vec![false; len];
    for b in bursts {
        let from = (b.start - 160.0).max(0.0) as usize;
        let to = ((b.end + 160.0) as usize).min(len);
        for c in covered.iter_mut().take(to).skip(from) {
            *c = true;
        }
    }
    let (mut acc, mut n) = (0.0, 0usize);
    for (v, c) in x.iter().zip(&covered) {
        if !c {
            acc += v * v;
            n += 1;
        }
    }
    let noise = if n >= 800 { acc / n as f64 } else { (total - tone).max(total * 1e-6) };
    10.0 * (tone / noise.max(1e-3)).log10()
}

fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * q).round() as usize]
}

/// Runs of `want` in `v`: (first, one past last).
fn runs_of(v: &[bool], want: bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < v.len() {
        if v[i] == want {
            let a = i;
            while i < v.len() && v[i] == want {
                i += 1;
            }
            out.push((a, i));
        } else {
            i += 1;
        }
    }
    out
}

/// Dominant frequency of `x` (coarse: a 256-point FFT).
fn dominant_hz(x: &[f64]) -> f64 {
    let mut re = [0.0; 256];
    let mut im = [0.0; 256];
    let m = x.len().min(256);
    for (i, &v) in x[..m].iter().enumerate() {
        let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (m.max(2) - 1) as f64).cos();
        re[i] = v * w;
    }
    fft(&mut re, &mut im);
    let k = (3..127).max_by(|&a, &b| (re[a] * re[a] + im[a] * im[a]).total_cmp(&(re[b] * re[b] + im[b] * im[b])));
    k.map_or(0.0, |k| k as f64 * 8000.0 / 256.0)
}

/// Cut runs of frames where their dominant frequency changes for good
/// (a SIT's three tones without gaps between them).
fn split_by_frequency(x: &[f64], runs: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for &(a, b) in runs {
        // Dominant frequency per pair of frames (10 ms).
        let pairs: Vec<f64> = (a..b)
            .step_by(2)
            .map(|f| {
                let to = ((f + 2).min(b)) * FRAME;
                dominant_hz(&x[f * FRAME..to])
            })
            .collect();
        let changed = |f: f64, g: f64| (f - g).abs() > (0.12 * g).max(80.0);
        let mut start = a;
        let mut reference = pairs.first().copied().unwrap_or(0.0);
        let mut i = 1;
        while i < pairs.len() {
            // A change that lasts two pairs starts a new run.
            if changed(pairs[i], reference) && i + 1 < pairs.len() && !changed(pairs[i + 1], pairs[i]) {
                let cut = a + 2 * i;
                out.push((start, cut));
                start = cut;
                reference = pairs[i];
            }
            i += 1;
        }
        out.push((start, b));
    }
    out
}

/// Fill gaps of up to `BRIDGE_FRAMES` between frames of the same set, then
/// drop bursts shorter than that.
fn bridge(label: &mut [Option<usize>]) {
    let n = label.len();
    let mut i = 0;
    while i < n {
        if let Some(s) = label[i] {
            let mut j = i + 1;
            while j < n && label[j].is_none() && j - i <= BRIDGE_FRAMES {
                j += 1;
            }
            if j < n && j > i + 1 && label[j] == Some(s) {
                for l in label.iter_mut().take(j).skip(i + 1) {
                    *l = Some(s);
                }
            }
        }
        i += 1;
    }
    let mut i = 0;
    while i < n {
        if let Some(s) = label[i] {
            let a = i;
            while i < n && label[i] == Some(s) {
                i += 1;
            }
            if i - a < BRIDGE_FRAMES {
                for l in label.iter_mut().take(i).skip(a) {
                    *l = None;
                }
            }
        } else {
            i += 1;
        }
    }
}

/// Power (mean square) of a sine at `hz` in `x`, by Goertzel.
fn goertzel_power(x: &[f64], hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / 8000.0;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s0 = v + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let e = s1 * s1 + s2 * s2 - c * s1 * s2;
    let n = x.len() as f64;
    2.0 * e.max(0.0) / (n * n)
}

fn same_set(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= (0.015 * x).max(4.0))
}

/// The one or two frequencies of a burst (sorted), or `None` if it holds
/// no clear peak.
fn peaks(seg: &[f64]) -> Option<Vec<f64>> {
    let m = seg.len();
    if m < 64 {
        return None;
    }
    let mut re = vec![0.0; FFT_SIZE];
    let mut im = vec![0.0; FFT_SIZE];
    for (i, &v) in seg.iter().enumerate() {
        let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (m - 1) as f64).cos();
        re[i] = v * w;
    }
    fft(&mut re, &mut im);
    let bin_hz = 8000.0 / FFT_SIZE as f64;
    let power: Vec<f64> = (0..FFT_SIZE / 2).map(|k| re[k] * re[k] + im[k] * im[k]).collect();
    let lo = (80.0 / bin_hz) as usize;
    let hi = (3900.0 / bin_hz) as usize;
    let peak_at = |exclude: &dyn Fn(f64) -> bool| -> Option<(f64, f64)> {
        let mut best: Option<(usize, f64)> = None;
        for k in lo..hi {
            let p = power[k];
            if p > power[k - 1] && p >= power[k + 1] && !exclude(k as f64 * bin_hz) && best.is_none_or(|b| p > b.1) {
                best = Some((k, p));
            }
        }
        let (k, p) = best?;
        // Parabola through the log powers around the peak.
        let (a, b, c) = (power[k - 1].max(1e-30).ln(), p.max(1e-30).ln(), power[k + 1].max(1e-30).ln());
        let den = a - 2.0 * b + c;
        let d = if den.abs() > 1e-12 { 0.5 * (a - c) / den } else { 0.0 };
        Some(((k as f64 + d.clamp(-0.5, 0.5)) * bin_hz, p))
    };
    let (f1, p1) = peak_at(&|_| false)?;
    // A clear peak: well above the spectrum's median.
    let mut sorted: Vec<f64> = power[lo..hi].to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    if p1 < 100.0 * median {
        return None;
    }
    // Hann main lobe: ±2 bins of the unpadded DFT; keep clear of it.
    let guard = 2.5 * 8000.0 / m as f64;
    let harmonic = |f: f64| (2..=4).any(|h| (f - h as f64 * f1).abs() <= 0.01 * f);
    let second = peak_at(&|f| (f - f1).abs() < guard || harmonic(f));
    let mut freqs = vec![f1];
    if let Some((f2, p2)) = second
        && p2 >= p1 / 16.0
    {
        freqs.push(f2);
    }
    freqs.sort_by(f64::total_cmp);
    Some(freqs)
}

/// In-place radix-2 FFT (`re.len()` a power of two).
fn fft(re: &mut [f64], im: &mut [f64]) {
    let n = re.len();
    let mut j = 0;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    let mut len = 2;
    while len <= n {
        let ang = -2.0 * std::f64::consts::PI / len as f64;
        let (wr, wi) = (ang.cos(), ang.sin());
        for start in (0..n).step_by(len) {
            let (mut cr, mut ci) = (1.0, 0.0);
            for k in 0..len / 2 {
                let (a, b) = (start + k, start + k + len / 2);
                let tr = re[b] * cr - im[b] * ci;
                let ti = re[b] * ci + im[b] * cr;
                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] += tr;
                im[a] += ti;
                let ncr = cr * wr - ci * wi;
                ci = cr * wi + ci * wr;
                cr = ncr;
            }
        }
        len <<= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::noise::NoiseGenerator;
    use crate::dsp::tonegen::{ToneFreq, ToneGenerator, ToneSpec};
    use crate::dsp::tones::Country;

    fn tone(freqs: &[f32], dbm0: f32, on_off: &[u32], ms: usize) -> Vec<i16> {
        let f: Vec<ToneFreq> = freqs.iter().map(|&hz| ToneFreq { hz, dbm0 }).collect();
        let spec = if on_off.is_empty() { ToneSpec::continuous(&f) } else { ToneSpec::cadence(&f, on_off) }.unwrap();
        let mut x = vec![0i16; ms * 8];
        ToneGenerator::new(&spec).tx(&mut x);
        x
    }

    #[test]
    fn fft_of_a_cosine() {
        let mut re: Vec<f64> = (0..64).map(|i| (2.0 * std::f64::consts::PI * 5.0 * i as f64 / 64.0).cos()).collect();
        let mut im = vec![0.0; 64];
        fft(&mut re, &mut im);
        assert!((re[5] - 32.0).abs() < 1e-9 && (re[59] - 32.0).abs() < 1e-9);
        assert!(re.iter().enumerate().all(|(k, v)| k == 5 || k == 59 || v.abs() < 1e-9));
    }

    #[test]
    fn off_book_busy_is_learned() {
        // 440 Hz 330/370 ms with noise 20 dB down, starting mid-burst.
        let mut x = tone(&[440.0], -12.0, &[330, 370], 5000);
        x.drain(..1000);
        NoiseGenerator::new(5, -32.0).add_to(&mut x);
        let l = learn(&x).unwrap();
        assert_eq!(l.def.pattern(), "440/330,0/370");
        assert_eq!(l.def.kind, ToneKind::Busy);
        assert!((l.freqs_hz[0] - 440.0).abs() < 1.0, "{:?}", l.freqs_hz);
        assert!((l.levels_dbm0[0] + 12.0).abs() < 0.5, "{:?}", l.levels_dbm0);
        assert!((l.snr_db - 20.0).abs() < 2.0, "{}", l.snr_db);
        assert!(l.cycles >= 5);
        let text = l.to_toml();
        assert!(text.contains("pattern = \"440/330,0/370\"") && text.contains("kind = \"busy\""), "{text}");
        assert_eq!(ToneEntry::parse_toml(&text).unwrap(), vec![l.entry()]);
    }

    #[test]
    fn continuous_dual_and_sequences() {
        let l = learn(&tone(&[413.0, 437.0], -10.0, &[], 2000)).unwrap();
        assert_eq!(l.def.pattern(), "413+437");
        assert_eq!((l.def.kind, l.cycles), (ToneKind::Dial, 0));
        let uk = Country::Uk.profile();
        let mut g = uk.generator(ToneKind::Ringback).unwrap();
        let mut x = vec![0i16; 8 * 10_000];
        g.tx(&mut x);
        let l = learn(&x).unwrap();
        assert_eq!(l.def.pattern(), "400+450/400,0/200,400+450/400,0/2000");
        assert_eq!(l.def.kind, ToneKind::Ringback);
        let mut g = Country::Eu.profile().generator(ToneKind::Sit).unwrap();
        let mut x = vec![0i16; 8 * 7_000];
        g.tx(&mut x);
        let l = learn(&x).unwrap();
        assert_eq!(l.def.pattern(), "950/330,1400/330,1800/330,0/1000");
        assert_eq!(l.def.kind, ToneKind::Sit);
        // Heard once, after some silence (a burst at the very start is cut).
        let mut g = Country::Us.profile().generator(ToneKind::Sit).unwrap();
        let mut x = vec![0i16; 8 * 3_000];
        g.tx(&mut x[4000..]);
        let l = learn(&x).unwrap();
        assert_eq!(l.def.pattern(), "950/330,1400/330,1800/330,0");
    }

    #[test]
    fn refuses_what_it_cannot_learn() {
        assert_eq!(learn(&[0; 100]), Err(LearnError::TooShort(100)));
        assert!(matches!(learn(&vec![0; 8000]), Err(LearnError::Silent(_))));
        let mut n = vec![0i16; 16_000];
        NoiseGenerator::new(1, -20.0).tx(&mut n);
        assert_eq!(learn(&n), Err(LearnError::NoTone));
        let mut one = vec![0i16; 8000];
        one.extend(tone(&[425.0], -10.0, &[], 500));
        one.extend(vec![0i16; 8000]);
        assert_eq!(learn(&one), Err(LearnError::NoCadence { bursts: 1 }));
        // Garbage never panics.
        let mut x = 99u32;
        let g: Vec<i16> = (0..20_000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as i16
            })
            .collect();
        let _ = learn(&g);
        let _ = learn(&[i16::MIN; 9000]);
    }
}
