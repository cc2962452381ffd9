//! What the far ends of the world say and what they hear.
//!
//! An [`AudioSource`] describes a sound (silence, a tone, a WAV file, DTMF
//! digits, noise, a seeded pseudo-random pattern, or a sequence of these);
//! it is built outside the real-time path (a WAV file is read then) and is
//! cheap to clone (`Arc`-shared samples). An [`AudioPlayer`] plays one:
//! [`AudioPlayer::tx`] fills any block and never allocates.
//!
//! A [`Recorder`] keeps the G.711 codes a party heard, exactly as the driver
//! sent them, so a test can compare bytes; [`Recorder::linear`] decodes them
//! and [`Recorder::save_wav`] writes 16-bit 8 kHz mono (outside the tick).
//! Recorders grow in chunks of [`RECORDER_CHUNK_SAMPLES`]: the only
//! allocation on the real-time path is this amortised growth of a
//! recording, bounded by the recorder's limit.

use std::path::Path;
use std::sync::Arc;

use ctibox_driver::dsp::dtmf::{DtmfDigit, DtmfGenerator, DtmfTxConfig};
use ctibox_driver::dsp::g711;
use ctibox_driver::dsp::noise::NoiseGenerator;
use ctibox_driver::dsp::tonegen::{ToneGenerator, ToneSpec};
use ctibox_driver::hal::{BoardTime, Duration, Law};
use ctibox_driver::media::wav;

/// Most digits one DTMF source may hold (the generator's queue).
pub const MAX_DTMF_DIGITS: usize = ctibox_driver::dsp::dtmf::DTMF_TX_QUEUE_DIGITS;

/// A recorder grows by this many samples (10 s) at a time.
pub const RECORDER_CHUNK_SAMPLES: usize = 80_000;

/// Default longest recording: 30 minutes.
pub const DEFAULT_RECORD_LIMIT: Duration = Duration::from_secs(30 * 60);

/// Why an audio source could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("'{0}' is not a DTMF digit (0-9 * # A-D)")]
    BadDigit(char),
    #[error("a DTMF source holds at most {MAX_DTMF_DIGITS} digits, this one has {0}")]
    TooManyDigits(usize),
    #[error("bad DTMF settings: {0}")]
    DtmfConfig(String),
    #[error("a sequence cannot contain a repeating sequence")]
    NestedRepeat,
    #[error("cannot read WAV file {path}: {reason}")]
    Wav { path: String, reason: String },
    #[error("cannot write WAV file {path}: {reason}")]
    WriteWav { path: String, reason: String },
}

/// DTMF digits played by a far end.
#[derive(Debug, Clone, PartialEq)]
pub struct DtmfAudio {
    pub digits: Arc<str>,
    pub config: DtmfTxConfig,
}

impl DtmfAudio {
    /// Check the digits and settings.
    pub fn new(digits: &str, config: DtmfTxConfig) -> Result<Self, AudioError> {
        check_digits(digits)?;
        DtmfGenerator::new(config).map_err(|e| AudioError::DtmfConfig(e.to_string()))?;
        Ok(DtmfAudio { digits: digits.into(), config })
    }
}

/// Check a DTMF digit string: only `0-9 * # A-D`, at most [`MAX_DTMF_DIGITS`].
pub fn check_digits(digits: &str) -> Result<(), AudioError> {
    if let Some(c) = digits.chars().find(|&c| DtmfDigit::from_char(c).is_none()) {
        return Err(AudioError::BadDigit(c));
    }
    let n = digits.chars().count();
    if n > MAX_DTMF_DIGITS {
        return Err(AudioError::TooManyDigits(n));
    }
    Ok(())
}

/// Samples of a WAV file, 8 kHz mono 16-bit, shared.
#[derive(Debug, Clone, PartialEq)]
pub struct WavAudio {
    /// Where it came from, for status and messages.
    pub name: Arc<str>,
    pub samples: Arc<[i16]>,
}

impl WavAudio {
    /// Read a WAV file (any rate or format the shared reader takes,
    /// converted to 8 kHz mono).
    pub fn load(path: &Path) -> Result<Self, AudioError> {
        let samples = wav::load_mono_8k(path)
            .map_err(|e| AudioError::Wav { path: path.display().to_string(), reason: e.to_string() })?;
        Ok(WavAudio { name: path.display().to_string().into(), samples: samples.into() })
    }
    pub fn from_samples(name: &str, samples: Vec<i16>) -> Self {
        WavAudio { name: name.into(), samples: samples.into() }
    }
}

/// One part of a sequence: a source, for a time or until it ends.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceItem {
    pub source: AudioSource,
    /// Play this long (cut or padded with the source's own continuation);
    /// `None`: until the source ends (forever for endless sources).
    pub duration: Option<Duration>,
}

/// What a far end sends.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum AudioSource {
    /// Nothing (linear zero: the idle code of the law).
    #[default]
    Silence,
    /// A tone or cadence; a non-repeating one ends after its last step.
    Tone(ToneSpec),
    /// A WAV file's samples, played once.
    Wav(WavAudio),
    /// DTMF digits, played once.
    Dtmf(DtmfAudio),
    /// White Gaussian noise at a level, seeded.
    Noise { dbm0: f64, seed: u64 },
    /// A seeded pseudo-random full-scale pattern ([`PatternGenerator`]),
    /// for bit-exact tests.
    Pattern { seed: u64 },
    /// Sources one after another (never nested: [`AudioSource::sequence`]
    /// flattens), optionally starting over after the last.
    Sequence { items: Arc<[SequenceItem]>, repeat: bool },
}

impl AudioSource {
    /// A sequence of items; nested non-repeating sequences are flattened.
    pub fn sequence(items: Vec<SequenceItem>, repeat: bool) -> Result<Self, AudioError> {
        let mut flat = Vec::with_capacity(items.len());
        for it in items {
            match it.source {
                AudioSource::Sequence { items: inner, repeat: false } if it.duration.is_none() => {
                    flat.extend(inner.iter().cloned())
                }
                AudioSource::Sequence { .. } => return Err(AudioError::NestedRepeat),
                _ => flat.push(it),
            }
        }
        Ok(AudioSource::Sequence { items: flat.into(), repeat })
    }

    /// Whether the source plays the pattern of `seed` (itself or as a
    /// sequence item).
    pub fn has_pattern(&self, seed: u64) -> bool {
        match self {
            AudioSource::Pattern { seed: s } => *s == seed,
            AudioSource::Sequence { items, .. } => items.iter().any(|i| i.source.has_pattern(seed)),
            _ => false,
        }
    }

    /// A short description for status output.
    pub fn describe(&self) -> String {
        match self {
            AudioSource::Silence => "silence".into(),
            AudioSource::Tone(t) => {
                let f: Vec<String> =
                    t.steps().iter().flat_map(|s| s.active().iter().map(|f| format!("{}", f.hz))).take(3).collect();
                format!("tone {}", f.join("+"))
            }
            AudioSource::Wav(w) => format!("wav {}", w.name),
            AudioSource::Dtmf(d) => format!("dtmf {}", d.digits),
            AudioSource::Noise { dbm0, .. } => format!("noise {dbm0} dBm0"),
            AudioSource::Pattern { seed } => format!("pattern seed {seed}"),
            AudioSource::Sequence { items, .. } => format!("sequence of {}", items.len()),
        }
    }
}

/// Seeded pseudo-random full-scale samples: the same seed always gives the
/// same samples, so a test can regenerate what a far end sent and compare
/// it with what the driver received.
///
/// Sample `k` is a hash of `k` alone: the 32-bit integer hash "lowbias32"
/// (xor-shift, multiply, xor-shift, multiply, xor-shift) of `k·m + a`,
/// where the odd multiplier `m` and the offset `a` come from the seed. No
/// sample depends on the one before, so a block is computed lane-parallel;
/// the map `k ↦ k·m + a` and the hash are bijections of `u32`, so the
/// samples are uniform over the `i16` range and repeat only after 2³²
/// (6.2 days of 8 kHz audio). Two seeds with different multipliers are not
/// shifted copies of one sequence, which the voice correlation relies on
/// ([`super::voice`]).
#[derive(Debug, Clone)]
pub struct PatternGenerator {
    /// Odd multiplier of the sample index.
    mul: u32,
    /// Offset added to the scaled index.
    add: u32,
    /// Index of the next sample.
    next: u32,
}

impl PatternGenerator {
    pub fn new(seed: u64) -> Self {
        // Spread the seed over 64 bits (the SplitMix64 finaliser's
        // constants), so that near seeds get unrelated parameters.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        PatternGenerator { mul: z as u32 | 1, add: (z >> 32) as u32, next: 0 }
    }

    #[inline]
    pub fn next_sample(&mut self) -> i16 {
        let s = pattern_sample(self.mul, self.add, self.next);
        self.next = self.next.wrapping_add(1);
        s
    }

    /// Fill `out` with the next samples. Runs a copy compiled for AVX2
    /// (eight samples a step) when the CPU has it; both compute the same.
    #[allow(unsafe_code)]
    pub fn fill(&mut self, out: &mut [i16]) {
        let (mul, add, k0) = (self.mul, self.add, self.next);
        self.next = k0.wrapping_add(out.len() as u32);
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the running CPU reported AVX2.
            unsafe { pattern_fill_avx2(mul, add, k0, out) };
            return;
        }
        pattern_fill(mul, add, k0, out);
    }
}

/// Sample `k` of the pattern with multiplier `mul` and offset `add`.
#[inline(always)]
fn pattern_sample(mul: u32, add: u32, k: u32) -> i16 {
    let mut x = k.wrapping_mul(mul).wrapping_add(add);
    x ^= x >> 16;
    x = x.wrapping_mul(0x7FEB_352D);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846C_A68B);
    x ^= x >> 16;
    (x >> 16) as u16 as i16
}

/// Samples `k0..` of the pattern into `out`.
#[inline(always)]
fn pattern_fill(mul: u32, add: u32, k0: u32, out: &mut [i16]) {
    for (j, o) in out.iter_mut().enumerate() {
        *o = pattern_sample(mul, add, k0.wrapping_add(j as u32));
    }
}

/// [`pattern_fill`] compiled for AVX2.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
unsafe fn pattern_fill_avx2(mul: u32, add: u32, k0: u32, out: &mut [i16]) {
    pattern_fill(mul, add, k0, out)
}

/// A player for one non-sequence source.
#[derive(Debug, Clone)]
enum Leaf {
    Silence,
    Tone(ToneGenerator),
    Wav { samples: Arc<[i16]>, pos: usize },
    Dtmf(DtmfGenerator),
    Noise(NoiseGenerator),
    Pattern(PatternGenerator),
}

impl Leaf {
    fn new(src: &AudioSource) -> Leaf {
        match src {
            AudioSource::Silence | AudioSource::Sequence { .. } => Leaf::Silence,
            AudioSource::Tone(t) => Leaf::Tone(ToneGenerator::new(t)),
            AudioSource::Wav(w) => Leaf::Wav { samples: w.samples.clone(), pos: 0 },
            AudioSource::Dtmf(d) => match DtmfGenerator::new(d.config) {
                Ok(mut g) => {
                    // Checked when the source was built.
                    let _ = g.push(&d.digits);
                    Leaf::Dtmf(g)
                }
                Err(_) => Leaf::Silence,
            },
            AudioSource::Noise { dbm0, seed } => Leaf::Noise(NoiseGenerator::new(*seed, *dbm0)),
            AudioSource::Pattern { seed } => Leaf::Pattern(PatternGenerator::new(*seed)),
        }
    }

    /// Fill `out`; returns the samples written before the source ended.
    fn tx(&mut self, out: &mut [i16]) -> usize {
        match self {
            Leaf::Silence => {
                out.fill(0);
                out.len()
            }
            Leaf::Tone(g) => g.tx(out),
            Leaf::Wav { samples, pos } => {
                let n = (samples.len() - *pos).min(out.len());
                out[..n].copy_from_slice(&samples[*pos..*pos + n]);
                *pos += n;
                n
            }
            Leaf::Dtmf(g) => g.tx(out),
            Leaf::Noise(g) => {
                g.tx(out);
                out.len()
            }
            Leaf::Pattern(g) => {
                g.fill(out);
                out.len()
            }
        }
    }
}

/// Plays an [`AudioSource`]; after the source ends it plays silence.
#[derive(Debug, Clone)]
pub struct AudioPlayer {
    leaf: Leaf,
    seq: Option<(Arc<[SequenceItem]>, bool)>,
    /// Index of the sequence item playing.
    item: usize,
    /// Samples left of the item's duration (`None`: until it ends).
    item_left: Option<u64>,
    done: bool,
    /// Samples played since the start.
    played: u64,
}

impl AudioPlayer {
    pub fn new(src: &AudioSource) -> Self {
        let mut p = AudioPlayer { leaf: Leaf::Silence, seq: None, item: 0, item_left: None, done: false, played: 0 };
        match src {
            AudioSource::Sequence { items, repeat } => {
                if items.is_empty() {
                    p.done = true;
                } else {
                    p.seq = Some((items.clone(), *repeat));
                    p.start_item(0);
                }
            }
            other => p.leaf = Leaf::new(other),
        }
        p
    }

    /// A player that plays silence for ever.
    pub fn silence() -> Self {
        AudioPlayer::new(&AudioSource::Silence)
    }

    fn start_item(&mut self, i: usize) {
        if let Some((items, _)) = &self.seq {
            let it = &items[i];
            self.item = i;
            self.leaf = Leaf::new(&it.source);
            self.item_left = it.duration.map(|d| d.samples());
        }
    }

    /// Whether the source has ended (it now plays silence).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Samples played since the start.
    pub fn played(&self) -> u64 {
        self.played
    }

    /// Fill all of `out`.
    pub fn tx(&mut self, out: &mut [i16]) {
        self.played += out.len() as u64;
        let mut at = 0;
        // A sequence of zero-length items could spin: bound the item
        // changes per call by the sequence length (plus one wrap).
        let mut changes = 0usize;
        while at < out.len() {
            if self.done {
                out[at..].fill(0);
                return;
            }
            let want = out.len() - at;
            let n = match self.item_left {
                Some(left) => (left.min(want as u64)) as usize,
                None => want,
            };
            let got = self.leaf.tx(&mut out[at..at + n]);
            if got < n {
                // The source ended inside its slot: silence for the rest of
                // a timed slot, or the next item at once.
                if self.item_left.is_some() {
                    out[at + got..at + n].fill(0);
                    self.leaf = Leaf::Silence;
                } else {
                    at += got;
                    if !self.next_item(&mut changes) {
                        out[at..].fill(0);
                        self.done = true;
                        return;
                    }
                    continue;
                }
            }
            at += n;
            if let Some(left) = self.item_left.as_mut() {
                *left -= n as u64;
                if *left == 0 && !self.next_item(&mut changes) {
                    out[at..].fill(0);
                    self.done = true;
                    return;
                }
            }
        }
    }

    /// Move to the next sequence item; false when there is none.
    fn next_item(&mut self, changes: &mut usize) -> bool {
        let Some((items, repeat)) = &self.seq else { return false };
        let (len, repeat) = (items.len(), *repeat);
        *changes += 1;
        if *changes > len + 1 {
            return false;
        }
        let next = self.item + 1;
        if next < len {
            self.start_item(next);
            true
        } else if repeat {
            self.start_item(0);
            true
        } else {
            false
        }
    }
}

/// The G.711 codes a party heard, as the driver sent them.
#[derive(Debug, Clone)]
pub struct Recorder {
    law: Law,
    codes: Vec<u8>,
    limit: usize,
    /// Board time of the first recorded sample.
    started: Option<BoardTime>,
    /// Samples not kept because the limit was reached.
    dropped: u64,
}

impl Recorder {
    /// A recorder that keeps at most `limit` of audio.
    pub fn new(law: Law, limit: Duration) -> Self {
        let limit = limit.samples().min(usize::MAX as u64) as usize;
        Recorder { law, codes: Vec::with_capacity(RECORDER_CHUNK_SAMPLES.min(limit)), limit, started: None, dropped: 0 }
    }

    /// Append codes heard in the tick starting at `at`.
    pub fn push(&mut self, at: BoardTime, codes: &[u8]) {
        if self.started.is_none() {
            self.started = Some(at);
        }
        let room = self.limit - self.codes.len();
        let n = room.min(codes.len());
        if self.codes.capacity() - self.codes.len() < n {
            let want = RECORDER_CHUNK_SAMPLES.max(n).min(self.limit - self.codes.len());
            self.codes.reserve_exact(want);
        }
        self.codes.extend_from_slice(&codes[..n]);
        self.dropped += (codes.len() - n) as u64;
    }

    pub fn law(&self) -> Law {
        self.law
    }
    /// The codes, bit-exact.
    pub fn codes(&self) -> &[u8] {
        &self.codes
    }
    /// The recording decoded to 16-bit linear.
    pub fn linear(&self) -> Vec<i16> {
        self.codes.iter().map(|&c| g711::decode(self.law, c)).collect()
    }
    pub fn started(&self) -> Option<BoardTime> {
        self.started
    }
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
    pub fn len(&self) -> usize {
        self.codes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
    /// Forget the recording.
    pub fn clear(&mut self) {
        self.codes.clear();
        self.started = None;
        self.dropped = 0;
    }

    /// Write the recording as a 16-bit 8 kHz mono WAV file. Not for the
    /// real-time path.
    pub fn save_wav(&self, path: &Path) -> Result<(), AudioError> {
        wav::save_pcm16_mono(path, 8000, &self.linear())
            .map_err(|e| AudioError::WriteWav { path: path.display().to_string(), reason: e.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_is_repeatable_and_blocks_join() {
        let mut a = AudioPlayer::new(&AudioSource::Pattern { seed: 3 });
        let mut whole = vec![0i16; 1000];
        a.tx(&mut whole);
        let mut b = AudioPlayer::new(&AudioSource::Pattern { seed: 3 });
        let mut parts = vec![0i16; 1000];
        let (x, y) = parts.split_at_mut(333);
        b.tx(x);
        b.tx(y);
        assert_eq!(whole, parts);
        let mut g = PatternGenerator::new(3);
        assert!(whole.iter().all(|&s| s == g.next_sample()));
        assert!(whole.iter().any(|&s| s.abs() > 20000));
    }

    #[test]
    #[allow(unsafe_code)]
    fn pattern_avx2_and_portable_agree_across_the_index_wrap() {
        let (mul, add, k0) = (0x1234_5679, 77, u32::MAX - 500);
        let mut portable = vec![0i16; 1001];
        pattern_fill(mul, add, k0, &mut portable);
        let one_by_one: Vec<i16> = (0..1001u32).map(|j| pattern_sample(mul, add, k0.wrapping_add(j))).collect();
        assert_eq!(portable, one_by_one);
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            let mut avx2 = vec![0i16; 1001];
            // SAFETY: the running CPU reported AVX2.
            unsafe { pattern_fill_avx2(mul, add, k0, &mut avx2) };
            assert_eq!(avx2, portable);
        }
    }

    #[test]
    fn pattern_is_full_scale_white_and_seeds_differ() {
        let n = 1 << 16;
        let take = |seed: u64| {
            let mut v = vec![0i16; n];
            PatternGenerator::new(seed).fill(&mut v);
            v
        };
        let a = take(1);
        // Uniform over the i16 range: mean near 0, mean square near 2^30/3.
        let mean = a.iter().map(|&s| s as f64).sum::<f64>() / n as f64;
        let ms = a.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 500.0, "mean {mean}");
        assert!((ms / (32768.0f64.powi(2) / 3.0) - 1.0).abs() < 0.03, "mean square {ms}");
        // White: neighbouring samples uncorrelated.
        let lag1 = a.windows(2).map(|w| w[0] as f64 * w[1] as f64).sum::<f64>() / n as f64 / ms;
        assert!(lag1.abs() < 0.02, "lag-1 correlation {lag1}");
        // Neighbouring seeds are unrelated, also shifted by up to 64 samples.
        for seed in [2, 3, 1000] {
            let b = take(seed);
            assert_ne!(a, b);
            for lag in 0..64 {
                let c = a[lag..].iter().zip(&b).map(|(&x, &y)| x as f64 * y as f64).sum::<f64>() / n as f64 / ms;
                assert!(c.abs() < 0.02, "seed 1 and seed {seed} at lag {lag}: {c}");
            }
        }
        // The pattern is fixed (computed apart from this code).
        assert_eq!(a[..6], [-919, -11619, -10951, 15589, -31310, 27736]);
        assert_eq!(take(7)[..6], [-1845, 3110, -29013, 16570, -27125, 11932]);
    }

    #[test]
    fn sequence_plays_items_for_their_durations() {
        let tone = ToneSpec::continuous(&[ctibox_driver::dsp::tonegen::ToneFreq { hz: 1000.0, dbm0: -10.0 }]).unwrap();
        let src = AudioSource::sequence(
            vec![
                SequenceItem { source: AudioSource::Tone(tone), duration: Some(Duration::from_ms(10)) },
                SequenceItem { source: AudioSource::Silence, duration: Some(Duration::from_ms(10)) },
                SequenceItem { source: AudioSource::Wav(WavAudio::from_samples("w", vec![5; 40])), duration: None },
            ],
            false,
        )
        .unwrap();
        let mut p = AudioPlayer::new(&src);
        let mut out = vec![0i16; 300];
        p.tx(&mut out[..7]);
        p.tx(&mut out[7..]);
        assert!(out[..80].iter().any(|&s| s.abs() > 1000));
        assert!(out[80..160].iter().all(|&s| s == 0));
        assert!(out[160..200].iter().all(|&s| s == 5));
        assert!(out[200..].iter().all(|&s| s == 0));
        assert!(p.is_done());
    }

    #[test]
    fn recorder_keeps_codes_up_to_its_limit() {
        let mut r = Recorder::new(Law::ALaw, Duration::from_ms(10));
        r.push(BoardTime::from_ms(20), &[1; 50]);
        r.push(BoardTime::from_ms(30), &[2; 50]);
        assert_eq!(r.len(), 80);
        assert_eq!(r.dropped(), 20);
        assert_eq!(r.started(), Some(BoardTime::from_ms(20)));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.wav");
        r.save_wav(&p).unwrap();
        assert_eq!(wav::load_mono_8k(&p).unwrap(), r.linear());
        assert!(check_digits("12*#AD").is_ok());
        assert!(matches!(check_digits("12x"), Err(AudioError::BadDigit('x'))));
    }
}
