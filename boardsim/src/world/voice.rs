//! Whose voice a far end hears.
//!
//! A far end that speaks a seeded pattern ([`super::AudioSource::Pattern`])
//! can be recognised in what another far end hears, through G.711, gain
//! changes and a conference mix. The world keeps the last [`TAP_SAMPLES`]
//! samples each watched talker said and each watched listener heard
//! ([`VoiceTap`], indexed by board time), and a [`VoiceWatch`] looks for a
//! talker's audio in the last [`WINDOW_SAMPLES`] its listener heard, by
//! normalised cross-correlation over every path delay up to
//! [`MAX_DELAY_SAMPLES`] (the driver's switching adds a delay the world does
//! not know). Once found, the delay is kept and re-checked each tick within
//! ±[`TRACK_SAMPLES`]; while nothing is found a full search runs at most
//! every [`SEARCH_EVERY_MS`].
//!
//! Over a window of W samples the correlation of unrelated audio stays
//! under about 4/√W (0.25 for W = 256) across all delays; the same pattern
//! through G.711 gives about 0.99, one of two equal talkers in a mix about
//! 0.7 (less if the mix clips). [`MATCH_CORRELATION`] sits between.
//!
//! Nothing here allocates after construction.

use ctibox_driver::dsp::level;
use ctibox_driver::hal::{BoardTime, Duration};

use super::Actor;
use super::listen::AUDIO_THRESHOLD_DBM0;

/// Samples a tap keeps (512 ms).
pub const TAP_SAMPLES: usize = 4096;
/// Samples of what a listener heard compared with a talker (32 ms).
pub const WINDOW_SAMPLES: usize = 256;
/// Longest path delay searched (the rest of the tap).
pub const MAX_DELAY_SAMPLES: usize = TAP_SAMPLES - WINDOW_SAMPLES;
/// A found delay is re-checked within this many samples either side.
pub const TRACK_SAMPLES: usize = 8;
/// A full search runs at most this often while the talker is not heard.
pub const SEARCH_EVERY_MS: u64 = 200;
/// Normalised correlation at or above which the talker is heard.
pub const MATCH_CORRELATION: f32 = 0.45;

/// The last [`TAP_SAMPLES`] samples of one direction of one far end, by
/// board time. Samples never written (gaps) read as zero.
#[derive(Debug, Clone)]
pub struct VoiceTap {
    /// Twice the length, each sample written at `i` and `i + TAP_SAMPLES`,
    /// so that any span of up to [`TAP_SAMPLES`] is one slice.
    ring: Box<[f32]>,
    /// Board time (samples) one past the last sample written.
    end: u64,
}

impl Default for VoiceTap {
    fn default() -> Self {
        VoiceTap::new()
    }
}

impl VoiceTap {
    pub fn new() -> Self {
        VoiceTap { ring: vec![0.0; 2 * TAP_SAMPLES].into_boxed_slice(), end: 0 }
    }

    fn put(&mut self, t: u64, v: f32) {
        let i = (t % TAP_SAMPLES as u64) as usize;
        self.ring[i] = v;
        self.ring[i + TAP_SAMPLES] = v;
    }

    /// Keep `samples`, which begin at board time `at`.
    pub fn push(&mut self, at: BoardTime, samples: &[i16]) {
        let start = at.samples();
        if start > self.end {
            let gap_from = self.end.max(start.saturating_sub(TAP_SAMPLES as u64));
            for t in gap_from..start {
                self.put(t, 0.0);
            }
        }
        for (k, &s) in samples.iter().enumerate() {
            self.put(start + k as u64, s as f32);
        }
        self.end = start + samples.len() as u64;
    }

    /// Board time (samples) one past the last sample kept.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// The `len` samples from board time `from` (samples), if the tap still
    /// has them all.
    pub fn span(&self, from: u64, len: usize) -> Option<&[f32]> {
        let oldest = self.end.saturating_sub(TAP_SAMPLES as u64);
        if from < oldest || from + len as u64 > self.end || len > TAP_SAMPLES {
            return None;
        }
        let i = (from % TAP_SAMPLES as u64) as usize;
        Some(&self.ring[i..i + len])
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight lanes: lets the compiler vectorise the sum.
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// The best match of a window in a reference span.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Match {
    delay: u64,
    correlation: f32,
}

/// Search `reference` (which covers board time `ref_from..`) for `window`
/// (which begins at board time `win_from`) at delays `lo..=hi`.
fn best_delay(
    window: &[f32],
    win_energy: f32,
    reference: &[f32],
    ref_from: u64,
    win_from: u64,
    lo: u64,
    hi: u64,
) -> Option<Match> {
    let w = window.len();
    let mut best: Option<Match> = None;
    for delay in lo..=hi {
        // The talker's samples heard at win_from were said at win_from - delay.
        let Some(off) = (win_from.checked_sub(delay)).and_then(|t| t.checked_sub(ref_from)) else { continue };
        let off = off as usize;
        if off + w > reference.len() {
            continue;
        }
        let seg = &reference[off..off + w];
        let e = dot(seg, seg);
        if e <= 1.0 {
            continue;
        }
        let c = dot(window, seg) / (win_energy * e).sqrt();
        if best.is_none_or(|b| c > b.correlation) {
            best = Some(Match { delay, correlation: c });
        }
    }
    best
}

/// A listener watched for the voice of the talkers that speak one pattern.
#[derive(Debug, Clone)]
pub struct VoiceWatch {
    pub listener: Actor,
    /// The pattern's seed.
    pub seed: u64,
    /// The far ends whose audio holds the pattern.
    pub talkers: Vec<Actor>,
    /// The talker (index into `talkers`) and delay (samples) found last.
    lock: Option<(usize, u64)>,
    /// Start of the last window in which a talker was heard.
    pub last_heard: Option<BoardTime>,
    /// The best correlation of the last check, and its delay.
    pub last_correlation: f32,
    pub last_delay: Option<u64>,
    /// Board time (samples) of the next full search.
    next_search: u64,
}

impl VoiceWatch {
    pub fn new(listener: Actor, seed: u64, talkers: Vec<Actor>) -> Self {
        VoiceWatch {
            listener,
            seed,
            talkers,
            lock: None,
            last_heard: None,
            last_correlation: 0.0,
            last_delay: None,
            next_search: 0,
        }
    }

    /// Check the listener's latest window; `now` is the end of the tick just
    /// heard (board time), `talker(a)` the tap of what far end `a` said.
    pub fn run<'a>(&mut self, now: BoardTime, heard: &VoiceTap, talker: impl Fn(Actor) -> Option<&'a VoiceTap>) {
        let end = heard.end();
        if end != now.samples() || end < WINDOW_SAMPLES as u64 {
            // Nothing heard this tick.
            return;
        }
        let win_from = end - WINDOW_SAMPLES as u64;
        let Some(window) = heard.span(win_from, WINDOW_SAMPLES) else { return };
        let energy = dot(window, window);
        let mean = energy as f64 / WINDOW_SAMPLES as f64;
        if mean <= 0.0 || level::power_to_dbm0(mean) < AUDIO_THRESHOLD_DBM0 {
            self.last_correlation = 0.0;
            return;
        }
        // Re-check a delay found before.
        if let Some((i, d)) = self.lock {
            let lo = d.saturating_sub(TRACK_SAMPLES as u64);
            let hi = d + TRACK_SAMPLES as u64;
            let m = self
                .talkers
                .get(i)
                .and_then(|&a| talker(a))
                .and_then(|t| self.search(t, window, energy, win_from, lo, hi));
            if let Some(m) = m.filter(|m| m.correlation >= MATCH_CORRELATION) {
                self.heard(win_from, i, m);
                return;
            }
            self.lock = None;
            self.next_search = 0;
        }
        if end < self.next_search {
            return;
        }
        self.next_search = end + Duration::from_ms(SEARCH_EVERY_MS).samples();
        let mut best: Option<(usize, Match)> = None;
        for i in 0..self.talkers.len() {
            let Some(t) = talker(self.talkers[i]) else { continue };
            if let Some(m) = self.search(t, window, energy, win_from, 0, MAX_DELAY_SAMPLES as u64)
                && best.is_none_or(|(_, b)| m.correlation > b.correlation)
            {
                best = Some((i, m));
            }
        }
        match best {
            Some((i, m)) if m.correlation >= MATCH_CORRELATION => self.heard(win_from, i, m),
            Some((_, m)) => {
                self.last_correlation = m.correlation;
                self.last_delay = Some(m.delay);
            }
            None => self.last_correlation = 0.0,
        }
    }

    fn search(&self, tap: &VoiceTap, window: &[f32], energy: f32, win_from: u64, lo: u64, hi: u64) -> Option<Match> {
        // The part of the tap that delays lo..=hi can reach.
        let oldest = tap.end().saturating_sub(TAP_SAMPLES as u64);
        let from = win_from.saturating_sub(hi).max(oldest);
        let to = (win_from.saturating_sub(lo) + WINDOW_SAMPLES as u64).min(tap.end());
        if to <= from {
            return None;
        }
        let reference = tap.span(from, (to - from) as usize)?;
        best_delay(window, energy, reference, from, win_from, lo, hi)
    }

    fn heard(&mut self, win_from: u64, talker: usize, m: Match) {
        self.lock = Some((talker, m.delay));
        self.last_heard = Some(BoardTime::from_samples(win_from));
        self.last_correlation = m.correlation;
        self.last_delay = Some(m.delay);
    }

    /// Words for failure reports (allocates).
    pub fn describe(&self) -> String {
        let heard = match self.last_heard {
            Some(t) => format!("last heard at {t}"),
            None => "never heard".into(),
        };
        let delay = self.last_delay.map(|d| format!(", delay {} ms", d / 8)).unwrap_or_default();
        format!("pattern {} {heard} (last correlation {:.2}{delay})", self.seed, self.last_correlation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::PatternGenerator;
    use ctibox_driver::dsp::g711;
    use ctibox_driver::hal::Law;

    const TICK: usize = 160;

    /// What a G.711 channel does to a sample.
    fn through_alaw(s: i32) -> i16 {
        let s = s.clamp(-32768, 32767) as i16;
        g711::decode(Law::ALaw, g711::encode(Law::ALaw, s))
    }

    /// Talkers speak patterns `seeds` from tick 0; the listener hears the
    /// sum of those marked `true` (at `gain` each) through A-law `delay`
    /// samples later. Returns the watch for `watch_seed` after `ticks`
    /// ticks.
    fn run(seeds: &[(u64, bool)], watch_seed: u64, delay: usize, gain: f32, ticks: usize) -> VoiceWatch {
        let mut gens: Vec<PatternGenerator> = seeds.iter().map(|&(s, _)| PatternGenerator::new(s)).collect();
        let mut said: Vec<VoiceTap> = seeds.iter().map(|_| VoiceTap::new()).collect();
        let mut heard = VoiceTap::new();
        let mut history: Vec<Vec<i16>> = seeds.iter().map(|_| Vec::new()).collect();
        let talkers: Vec<usize> = (0..seeds.len()).filter(|&i| seeds[i].0 == watch_seed).collect();
        let mut w = VoiceWatch::new(Actor::Phone(0), watch_seed, talkers.iter().map(|&i| Actor::Caller(i)).collect());
        let mut buf = [0i16; TICK];
        for k in 0..ticks {
            let at = BoardTime::from_samples((k * TICK) as u64);
            for (i, g) in gens.iter_mut().enumerate() {
                g.fill(&mut buf);
                said[i].push(at, &buf);
                history[i].extend_from_slice(&buf);
            }
            let mut mix = [0i16; TICK];
            for (n, m) in mix.iter_mut().enumerate() {
                let t = k * TICK + n;
                let sum: f32 = if t >= delay {
                    (0..seeds.len()).filter(|&i| seeds[i].1).map(|i| history[i][t - delay] as f32 * gain).sum()
                } else {
                    0.0
                };
                *m = through_alaw(sum.round() as i32);
            }
            heard.push(at, &mix);
            let end = at + Duration::from_samples(TICK as u64);
            w.run(end, &heard, |a| match a {
                Actor::Caller(i) => said.get(i),
                _ => None,
            });
        }
        w
    }

    #[test]
    fn a_talker_is_found_through_alaw_at_its_delay() {
        let w = run(&[(7, true)], 7, 333, 1.0, 20);
        assert!(w.last_heard.is_some(), "{}", w.describe());
        assert_eq!(w.last_delay, Some(333));
        assert!(w.last_correlation > 0.95, "{}", w.describe());
    }

    #[test]
    fn each_voice_of_a_three_way_mix_is_found_and_a_stranger_is_not() {
        // A conference member hears the two others at half gain each.
        for seed in [7, 11] {
            let w = run(&[(7, true), (11, true)], seed, 480, 0.5, 30);
            assert!(w.last_heard.is_some(), "seed {seed}: {}", w.describe());
            assert!(w.last_correlation > 0.6, "seed {seed}: {}", w.describe());
        }
        // Full-scale patterns that clip in the mix are still found.
        let w = run(&[(7, true), (11, true)], 11, 160, 1.0, 30);
        assert!(w.last_heard.is_some(), "clipped mix: {}", w.describe());
        // A talker not in the mix is never found, however long we listen.
        let w = run(&[(7, true), (11, true), (5, false)], 5, 160, 0.5, 200);
        assert!(w.last_heard.is_none(), "{}", w.describe());
        assert!(w.last_correlation < MATCH_CORRELATION, "{}", w.describe());
    }

    #[test]
    fn silence_and_stale_audio_are_not_a_voice() {
        let said = {
            let mut t = VoiceTap::new();
            let mut g = PatternGenerator::new(3);
            let mut buf = [0i16; TICK];
            for k in 0..10 {
                g.fill(&mut buf);
                t.push(BoardTime::from_samples((k * TICK) as u64), &buf);
            }
            t
        };
        let mut heard = VoiceTap::new();
        heard.push(BoardTime::ZERO, &[0; TICK * 10]);
        let mut w = VoiceWatch::new(Actor::Phone(0), 3, vec![Actor::Caller(0)]);
        w.run(BoardTime::from_samples((TICK * 10) as u64), &heard, |_| Some(&said));
        assert!(w.last_heard.is_none());
        // The listener heard nothing this tick (its tap ends earlier).
        w.run(BoardTime::from_samples((TICK * 11) as u64), &heard, |_| Some(&said));
        assert!(w.last_heard.is_none());
    }

    #[test]
    fn tap_keeps_the_last_samples_by_board_time_and_zeroes_gaps() {
        let mut t = VoiceTap::new();
        t.push(BoardTime::from_samples(0), &[1; 100]);
        t.push(BoardTime::from_samples(200), &[2; 100]);
        assert_eq!(t.end(), 300);
        let s = t.span(50, 200).unwrap();
        assert!(s[..50].iter().all(|&v| v == 1.0));
        assert!(s[50..150].iter().all(|&v| v == 0.0));
        assert!(s[150..].iter().all(|&v| v == 2.0));
        assert!(t.span(250, 100).is_none(), "beyond the end");
        t.push(BoardTime::from_samples(10_000), &[3; 10]);
        assert!(t.span(0, 10).is_none(), "forgotten");
        let s = t.span(10_010 - TAP_SAMPLES as u64, TAP_SAMPLES).unwrap();
        assert!(s[..TAP_SAMPLES - 10].iter().all(|&v| v == 0.0));
        assert!(s[TAP_SAMPLES - 10..].iter().all(|&v| v == 3.0));
    }

    /// A world with three phones; a toy switch feeds phone 1 what phone 2
    /// said (two ticks late) for the first second, then what phone 3 said.
    #[test]
    fn world_conditions_follow_whose_voice_a_phone_hears() {
        use crate::SimWorld;
        use crate::world::{AudioSource, Condition, PhoneConfig, Request, World, WorldConfig};

        let mut cfg = WorldConfig { fxo: 0, fxs: 3, ..WorldConfig::default() };
        for (i, seed) in [(1u16, 7u64), (2, 11), (3, 13)] {
            let mut pc = PhoneConfig::new(format!("80{i}"));
            pc.audio = AudioSource::Pattern { seed };
            cfg.phones.push(pc);
        }
        let mut w = World::new(cfg).unwrap();
        assert!(w.watch_pattern(Actor::Phone(0), 99).is_err(), "nobody speaks pattern 99");
        w.watch_pattern(Actor::Phone(0), 11).unwrap();
        w.watch_pattern(Actor::Phone(0), 13).unwrap();
        for p in 1..=3 {
            w.request(Request::OffHook { phone: p }).unwrap();
        }
        let n = w.info().tick_bytes() / 3;
        let mut from_driver = vec![w.config().law.silence(); 3 * n];
        let mut to_driver = vec![0u8; 3 * n];
        let mut late: Vec<Vec<u8>> = Vec::new();
        let mut events = Vec::new();
        let holds = |w: &World, c: Condition, now: BoardTime| w.holds(Actor::Phone(0), &c, BoardTime::ZERO, now);
        let mut saw = (false, false);
        for k in 0..100u64 {
            let now = BoardTime::from_ms(20 * k);
            w.tick(now, &from_driver, &[], &mut to_driver, &mut events);
            let talker = if k < 50 { 1 } else { 2 };
            late.push(to_driver[talker * n..(talker + 1) * n].to_vec());
            if late.len() > 2 {
                from_driver[..n].copy_from_slice(&late.remove(0));
            }
            let end = now + Duration::from_ms(20);
            if k == 45 {
                saw.0 = holds(&w, Condition::HearsPattern(11), end);
                assert!(!holds(&w, Condition::HearsPattern(13), end), "{}", w.describe_actor(Actor::Phone(0)));
            }
        }
        let end = BoardTime::from_ms(2000);
        saw.1 = holds(&w, Condition::HearsPattern(13), end);
        assert!(saw.0 && saw.1, "{saw:?}: {}", w.describe_actor(Actor::Phone(0)));
        // Pattern 11 stopped about 1 s ago.
        let misses = |d| w.holds(Actor::Phone(0), &Condition::MissesPattern(11, d), BoardTime::from_ms(1000), end);
        assert!(misses(Duration::from_ms(900)), "{}", w.describe_actor(Actor::Phone(0)));
        assert!(!w.holds(
            Actor::Phone(0),
            &Condition::MissesPattern(13, Duration::from_ms(500)),
            BoardTime::from_ms(1000),
            end
        ));
        assert!(w.describe_actor(Actor::Phone(0)).contains("pattern 13 last heard"));
    }
}
