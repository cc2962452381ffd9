//! Conformance suite for the voice activity detector and the greeting
//! classifier (`dsp::vad`).
//!
//! Speech comes from the espeak-ng corpus (`support::speech`): its
//! utterances, found on the clean recording, are replayed one by one after
//! a second of silence or noise, so that every utterance has a known onset
//! and end. The VAD must report each onset within 300 ms, each end within
//! its hangover, and nothing in between; over white noise from −50 to
//! −40 dBm0, at speech levels from −10 to −30 dBm0, through A-law and
//! μ-law. Noise alone, call-progress tones, SIT and DTMF must never be
//! voice (tones should be reported as tones). Greetings rendered by
//! espeak-ng must be classified: short ones as a person, long ones as an
//! answering machine, none as no speech.
//!
//! Each test prints its scorecard (`-- --nocapture`) and asserts that every
//! row passed. A row is one condition; its figures are in its name.

mod support;

use std::process::Command;
use std::sync::Arc;

use ctibox_driver::dsp::g711;
use ctibox_driver::dsp::level::{block_dbm0, db_to_gain};
use ctibox_driver::dsp::noise::NoiseGenerator;
use ctibox_driver::dsp::vad::{AnswerDetector, AnswerParams, AnswerVerdict, Vad, VadDescriptor, VadEvent, VadParams};
use ctibox_driver::hal::Law;
use support::speech::speech_corpus;
use support::{Scorecard, require_tool, run, sox_synth, tempfile_dir};

const MS: u64 = 8;
/// Level of reference speech activity, relative to the clip's active level.
const REF_ACTIVE_REL_DB: f64 = -25.0;
/// In noise, reference speech must also be this far above the noise: what
/// is quieter cannot be told from it.
const REF_SNR_DB: f64 = 10.0;
/// Pauses shorter than this belong to the utterance.
const MERGE_GAP_MS: u64 = 250;
/// Longest utterance replayed (long ones are cut at a pause-free point).
const MAX_UTTERANCE_MS: u64 = 6000;
/// Silence (or noise) before each replayed utterance.
const LEAD_MS: u64 = 1000;

fn finish(card: Scorecard) {
    let ok = card.print();
    assert!(ok, "{}: {} of {} passed", card.title, card.passed(), card.total());
}

/// Scale so that the frames above −50 dBm0 average `dbm0`.
fn scale_active_to(sig: &[i16], dbm0: f64) -> Vec<i16> {
    let active: Vec<i16> = sig.chunks(80).filter(|c| block_dbm0(c) > -50.0).flatten().copied().collect();
    let g = db_to_gain(dbm0 - block_dbm0(&active));
    sig.iter().map(|&s| (s as f64 * g).round().clamp(-32768.0, 32767.0) as i16).collect()
}

/// Utterances of a clean clip at −20 dBm0 active level: (start, end) in
/// samples, frame accurate, where frames at or above `thr` dBm0 are speech.
fn utterances(sig: &[i16], thr: f64) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (i, c) in sig.chunks_exact(80).enumerate() {
        if block_dbm0(c) < thr {
            continue;
        }
        let (s, e) = (i as u64 * 80, i as u64 * 80 + 80);
        match out.last_mut() {
            Some(last) if s - last.1 < MERGE_GAP_MS * MS => last.1 = e,
            _ => out.push((s, e)),
        }
    }
    // Drop clicks; cut very long ones.
    out.retain(|(s, e)| e - s >= 60 * MS);
    for u in &mut out {
        u.1 = u.1.min(u.0 + MAX_UTTERANCE_MS * MS);
    }
    out
}

/// A test signal: each utterance after `LEAD_MS` of silence, then a last
/// lead. Returns the signal and the utterances' positions in it.
fn replay(sig: &[i16], utts: &[(u64, u64)]) -> (Vec<i16>, Vec<(u64, u64)>) {
    let mut out = Vec::new();
    let mut pos = Vec::new();
    for &(s, e) in utts {
        out.extend(std::iter::repeat_n(0i16, (LEAD_MS * MS) as usize));
        let at = out.len() as u64;
        out.extend_from_slice(&sig[s as usize..e as usize]);
        pos.push((at, at + (e - s)));
    }
    out.extend(std::iter::repeat_n(0i16, (LEAD_MS * MS) as usize));
    (out, pos)
}

/// The VAD's events on `sig`, fed `chunk` samples at a time. The portable
/// code path (no AVX2) runs beside the default one and must report the
/// same events at the same positions.
fn vad_events(sig: &[i16], params: VadParams, chunk: usize) -> Vec<VadEvent> {
    let desc = VadDescriptor::new(params).expect("valid VAD params");
    let run = |desc: VadDescriptor| {
        let mut v = Vad::new(Arc::new(desc));
        let mut ev = Vec::new();
        for c in sig.chunks(chunk) {
            v.rx(c, &mut ev);
        }
        ev
    };
    let ev = run(desc.clone());
    assert_eq!(run(desc.portable()), ev, "the portable and AVX2 paths differ");
    ev
}

/// How the VAD did on replayed utterances.
#[derive(Debug, Default)]
struct Score {
    utterances: usize,
    /// VoiceStart within 300 ms of the onset, start within 60 ms.
    onset_ok: usize,
    /// VoiceStop after the utterance, its end within −200 … +60 ms of the
    /// utterance's end, decided within the hangover (+20 ms).
    end_ok: usize,
    /// Utterances with exactly one VoiceStart and one VoiceStop.
    whole: usize,
    /// VoiceStarts in the silences between utterances.
    false_starts: usize,
    worst_onset_ms: u64,
}

fn score(ev: &[VadEvent], utts: &[(u64, u64)], hangover_ms: u64) -> Score {
    let mut sc = Score { utterances: utts.len(), ..Score::default() };
    for &(s, e) in utts {
        // Events belonging to this utterance: from its onset up to the
        // hangover after its end.
        let lo = s.saturating_sub(100 * MS);
        let hi = e + (hangover_ms + 200) * MS;
        let mine: Vec<&VadEvent> = ev
            .iter()
            .filter(|x| match x {
                VadEvent::VoiceStart { start, .. } => (lo..hi).contains(start),
                VadEvent::VoiceStop { end, .. } => (lo..hi).contains(end),
                _ => false,
            })
            .collect();
        let starts: Vec<(u64, u64)> = mine
            .iter()
            .filter_map(|x| match x {
                VadEvent::VoiceStart { start, at } => Some((*start, *at)),
                _ => None,
            })
            .collect();
        let stops: Vec<(u64, u64)> = mine
            .iter()
            .filter_map(|x| match x {
                VadEvent::VoiceStop { end, at } => Some((*end, *at)),
                _ => None,
            })
            .collect();
        if let Some(&(start, at)) = starts.first() {
            sc.worst_onset_ms = sc.worst_onset_ms.max(at.saturating_sub(s) / MS);
            if at <= s + 300 * MS && start.abs_diff(s) <= 60 * MS {
                sc.onset_ok += 1;
            }
        }
        if stops
            .last()
            .is_some_and(|&(end, at)| end + 200 * MS >= e && end <= e + 60 * MS && at <= end + (hangover_ms + 20) * MS)
        {
            sc.end_ok += 1;
        }
        if starts.len() == 1 && stops.len() == 1 {
            sc.whole += 1;
        }
    }
    // Starts well inside the lead silences.
    for x in ev {
        if let VadEvent::VoiceStart { start, .. } = x {
            let inside = utts.iter().any(|&(s, e)| *start + 100 * MS >= s && *start <= e + (hangover_ms + 200) * MS);
            if !inside {
                sc.false_starts += 1;
            }
        }
    }
    sc
}

/// One replayed clip: label, signal, utterance positions.
type Replay = (String, Vec<i16>, Vec<(u64, u64)>);

/// A listening condition of the corpus test.
struct Condition {
    name: &'static str,
    /// Speech level (active), dBm0.
    level: f64,
    /// White noise level, dBm0.
    noise: Option<f64>,
    /// G.711 round trip.
    law: Option<Law>,
    /// Samples per `rx` call.
    chunk: usize,
}

/// The reference threshold on a −20 dBm0 clip replayed at `level` dBm0
/// over noise at `noise` dBm0 (if any).
fn reference_threshold(level: f64, noise: Option<f64>) -> f64 {
    let rel = -20.0 + REF_ACTIVE_REL_DB;
    match noise {
        Some(n) => rel.max(n + REF_SNR_DB - (level + 20.0)),
        None => rel,
    }
}

/// The replayed corpus, as (label, signal, utterance positions) per clip,
/// with utterances found at `thr`.
fn corpus_replays(thr: f64) -> Vec<Replay> {
    speech_corpus()
        .iter()
        .map(|(label, clip)| {
            let clip = scale_active_to(clip, -20.0);
            let utts = utterances(&clip, thr);
            let (sig, pos) = replay(&clip, &utts);
            (label.clone(), sig, pos)
        })
        .collect()
}

#[test]
fn speech_onsets_and_ends_over_levels_noise_and_g711() {
    let mut card = Scorecard::new("VAD on the espeak-ng corpus, utterance by utterance");
    let params = VadParams::default();
    let hangover = params.hangover_ms as u64;
    let c = |name, level, noise, law, chunk| Condition { name, level, noise, law, chunk };
    let conditions = [
        c("clean, -20 dBm0", -20.0, None, None, 160),
        c("clean, -10 dBm0", -10.0, None, None, 80),
        c("clean, -30 dBm0", -30.0, None, None, 37),
        c("noise -50 dBm0, speech -20", -20.0, Some(-50.0), None, 160),
        c("noise -40 dBm0, speech -20", -20.0, Some(-40.0), None, 160),
        c("noise -45 dBm0, speech -25", -25.0, Some(-45.0), None, 240),
        c("noise -45 dBm0, A-law", -20.0, Some(-45.0), Some(Law::ALaw), 160),
        c("noise -45 dBm0, mu-law", -20.0, Some(-45.0), Some(Law::MuLaw), 160),
    ];
    for (ci, Condition { name, level, noise, law, chunk }) in conditions.into_iter().enumerate() {
        let mut total = Score::default();
        let replays = corpus_replays(reference_threshold(level, noise));
        for (k, (_, sig, pos)) in replays.iter().enumerate() {
            let mut s = if level == -20.0 {
                sig.clone()
            } else {
                let g = db_to_gain(level + 20.0);
                sig.iter().map(|&v| (v as f64 * g).round().clamp(-32768.0, 32767.0) as i16).collect()
            };
            if let Some(n) = noise {
                NoiseGenerator::new((ci * 100 + k) as u64 + 1, n).add_to(&mut s);
            }
            if let Some(law) = law {
                for v in s.iter_mut() {
                    *v = g711::decode(law, g711::encode(law, *v));
                }
            }
            let sc = score(&vad_events(&s, params, chunk), pos, hangover);
            total.utterances += sc.utterances;
            total.onset_ok += sc.onset_ok;
            total.end_ok += sc.end_ok;
            total.whole += sc.whole;
            total.false_starts += sc.false_starts;
            total.worst_onset_ms = total.worst_onset_ms.max(sc.worst_onset_ms);
        }
        let n = total.utterances.max(1) as f64;
        let pct = |x: usize| 100.0 * x as f64 / n;
        println!("  {name}: {total:?}");
        // Onsets are the point of the exercise: 99 % within 300 ms.
        card.row(
            format!(
                "{name}: onset within 300 ms ({:.1} % of {}, worst {} ms)",
                pct(total.onset_ok),
                total.utterances,
                total.worst_onset_ms
            ),
            usize::from(pct(total.onset_ok) >= 99.0),
            1,
        );
        card.row(format!("{name}: end found ({:.1} %)", pct(total.end_ok)), usize::from(pct(total.end_ok) >= 97.0), 1);
        card.row(
            format!("{name}: utterance in one piece ({:.1} %)", pct(total.whole)),
            usize::from(pct(total.whole) >= 97.0),
            1,
        );
        card.row(
            format!("{name}: false starts in silence ({})", total.false_starts),
            usize::from(total.false_starts == 0),
            1,
        );
    }
    finish(card);
}

#[test]
fn silence_timeout_after_speech() {
    let mut card = Scorecard::new("silence timeout (end of message) after speech");
    let (_, clip) = &speech_corpus()[0];
    let clip = scale_active_to(clip, -20.0);
    let utts = utterances(&clip, reference_threshold(-20.0, Some(-45.0)));
    let mut row = (0, 0);
    for (i, &(s, e)) in utts.iter().take(20).enumerate() {
        let mut sig = vec![0i16; 4000];
        sig.extend_from_slice(&clip[s as usize..e as usize]);
        let end = sig.len() as u64;
        sig.extend(std::iter::repeat_n(0i16, 8000 * 4));
        NoiseGenerator::new(i as u64 + 7, -45.0).add_to(&mut sig);
        let p = VadParams { silence_timeout_ms: Some(3000), ..VadParams::default() };
        let ev = vad_events(&sig, p, 160);
        let timeouts: Vec<(u64, u64)> = ev
            .iter()
            .filter_map(|x| match x {
                VadEvent::SilenceTimeout { since, at } => Some((*since, *at)),
                _ => None,
            })
            .collect();
        row.1 += 1;
        // Exactly one, 3 s after the end of the speech (±200 ms).
        let ok = match timeouts.as_slice() {
            [(since, at)] => since.abs_diff(end) <= 200 * MS && at - since >= 3000 * MS && at - since < 3000 * MS + 80,
            _ => false,
        };
        if ok {
            row.0 += 1;
        } else {
            println!("  utterance {i} ends at {end}: {ev:?}");
        }
    }
    card.row("3 s timeout after an utterance, noise -45 dBm0", row.0, row.1);
    finish(card);
}

/// (signal name, samples, whether it should be reported as a tone).
fn non_speech() -> Vec<(String, Vec<i16>, bool)> {
    let mut v: Vec<(String, Vec<i16>, bool)> = Vec::new();
    for dbm0 in [-55.0, -50.0, -45.0, -40.0, -35.0, -30.0] {
        let mut s = vec![0i16; 8000 * 5];
        NoiseGenerator::new(dbm0 as i64 as u64, dbm0).tx(&mut s);
        v.push((format!("white noise {dbm0} dBm0"), s, false));
    }
    // Noise stepping up 10 dB, and switching on from digital silence.
    let mut s = vec![0i16; 8000 * 6];
    let (a, b) = s.split_at_mut(8000 * 2);
    NoiseGenerator::new(1, -50.0).tx(a);
    NoiseGenerator::new(2, -40.0).tx(b);
    v.push(("noise stepping -50 to -40 dBm0".into(), s, false));
    let mut s = vec![0i16; 8000 * 6];
    NoiseGenerator::new(3, -42.0).tx(&mut s[8000..]);
    v.push(("silence then noise -42 dBm0".into(), s, false));

    let cadence = |freqs: &[&str], on: &str, off: &str, reps: usize, dbm0: f64| {
        let mut args = vec!["synth", on];
        for f in freqs {
            args.extend(["sine", *f]);
        }
        args.extend(["pad", "0", off]);
        let one = sox_synth(&args);
        let mut s = Vec::new();
        for _ in 0..reps {
            s.extend_from_slice(&one);
        }
        let active: Vec<i16> = s.iter().copied().filter(|&x| x != 0).collect();
        let g = db_to_gain(dbm0 - block_dbm0(&active));
        s.iter().map(|&x| (x as f64 * g).round() as i16).collect::<Vec<i16>>()
    };
    let tones: [(&str, &[&str], &str, &str, usize); 12] = [
        ("US dial", &["350", "440"], "4", "0", 1),
        ("US ringback", &["440", "480"], "2", "4", 2),
        ("US busy", &["480", "620"], "0.5", "0.5", 5),
        ("US congestion", &["480", "620"], "0.25", "0.25", 8),
        ("EU/RU/CN dial 425", &["425"], "4", "0", 1),
        ("EU ringback 425", &["425"], "1", "4", 2),
        ("RU congestion 425", &["425"], "0.175", "0.175", 10),
        ("CN busy 450", &["450"], "0.35", "0.35", 6),
        ("UK ringback", &["400", "450"], "0.4", "0.2", 6),
        ("UK busy 400", &["400"], "0.375", "0.375", 6),
        ("SIT 950", &["950"], "0.33", "0", 1),
        ("1 kHz beep", &["1000"], "0.5", "1", 2),
    ];
    for (name, freqs, on, off, reps) in tones {
        for dbm0 in [-13.0, -25.0] {
            v.push((format!("{name} {dbm0} dBm0"), cadence(freqs, on, off, reps, dbm0), true));
        }
    }
    // DTMF digits, 100 ms on / 100 ms off, and a long press.
    let mut digits = Vec::new();
    for (lo, hi) in [("697", "1209"), ("770", "1336"), ("852", "1477"), ("941", "1633"), ("941", "1336")] {
        digits.extend(cadence(&[lo, hi], "0.1", "0.1", 1, -8.0));
    }
    v.push(("DTMF 100/100 ms".into(), digits, false));
    v.push(("DTMF long press".into(), cadence(&["852", "1336"], "1.5", "0.5", 1, -8.0), true));
    v
}

#[test]
fn noise_and_tones_are_never_voice() {
    let mut card = Scorecard::new("noise, call-progress tones, SIT and DTMF are not voice");
    let sigs = non_speech();
    for (with_noise, law) in [(false, None), (true, None), (true, Some(Law::ALaw)), (true, Some(Law::MuLaw))] {
        let mut no_voice = (0, 0);
        let mut tone_seen = (0, 0);
        for (i, (name, s, is_tone)) in sigs.iter().enumerate() {
            let mut s = s.clone();
            if with_noise {
                // Line noise 25 dB or more below the tones.
                NoiseGenerator::new(i as u64 + 40, -50.0).add_to(&mut s);
            }
            if let Some(law) = law {
                for v in s.iter_mut() {
                    *v = g711::decode(law, g711::encode(law, *v));
                }
            }
            let ev = vad_events(&s, VadParams::default(), 160);
            no_voice.1 += 1;
            if ev.iter().any(|e| matches!(e, VadEvent::VoiceStart { .. })) {
                println!("  {name}: {ev:?}");
            } else {
                no_voice.0 += 1;
            }
            if *is_tone {
                tone_seen.1 += 1;
                if ev.iter().any(|e| matches!(e, VadEvent::ToneStart { .. })) {
                    tone_seen.0 += 1;
                } else {
                    println!("  {name}: no tone reported: {ev:?}");
                }
            }
        }
        let cond = match (with_noise, law) {
            (false, _) => "clean".to_string(),
            (true, None) => "noise -50 dBm0".to_string(),
            (true, Some(l)) => format!("noise -50 dBm0, {l:?}"),
        };
        card.row(format!("{cond}: no VoiceStart"), no_voice.0, no_voice.1);
        card.row(format!("{cond}: tones reported as tones"), tone_seen.0, tone_seen.1);
    }
    finish(card);
}

#[test]
fn tone_then_speech_and_speech_then_tone() {
    // Ringback, then the called party answers: the voice is still found
    // promptly; and a voicemail greeting that ends with a beep.
    let mut card = Scorecard::new("speech next to tones");
    let (_, clip) = &speech_corpus()[2];
    let clip = scale_active_to(clip, -20.0);
    let utts = utterances(&clip, reference_threshold(-20.0, Some(-50.0)));
    let ring: Vec<i16> = sox_synth(&["synth", "2", "sine", "440", "sine", "480", "vol", "0.2", "pad", "0", "1"]);
    let beep: Vec<i16> = sox_synth(&["synth", "0.6", "sine", "1000", "vol", "0.2"]);
    let mut after_ring = (0, 0);
    let mut before_beep = (0, 0);
    for (i, &(s, e)) in utts.iter().take(15).enumerate() {
        let mut sig = ring.clone();
        let onset = sig.len() as u64;
        sig.extend_from_slice(&clip[s as usize..e as usize]);
        let end = sig.len() as u64;
        // The beep comes 100 ms after the greeting, inside the hangover.
        sig.extend(std::iter::repeat_n(0i16, 800));
        let beep_at = sig.len() as u64;
        sig.extend_from_slice(&beep);
        sig.extend(std::iter::repeat_n(0i16, 8000));
        NoiseGenerator::new(i as u64 + 70, -50.0).add_to(&mut sig);
        let ev = vad_events(&sig, VadParams::default(), 160);
        let starts: Vec<(u64, u64)> = ev
            .iter()
            .filter_map(|x| match x {
                VadEvent::VoiceStart { start, at } => Some((*start, *at)),
                _ => None,
            })
            .collect();
        after_ring.1 += 1;
        let ok = match starts.as_slice() {
            [(start, at)] => start.abs_diff(onset) <= 60 * MS && at - onset <= 300 * MS,
            _ => false,
        };
        if ok {
            after_ring.0 += 1;
        } else {
            println!("  utterance {i} at {onset}: {ev:?}");
        }
        before_beep.1 += 1;
        // One tone, where the beep begins; the voice ends with the greeting.
        let tones: Vec<u64> = ev
            .iter()
            .filter_map(|x| match x {
                VadEvent::ToneStart { start, .. } if *start >= end => Some(*start),
                _ => None,
            })
            .collect();
        let voice_end = ev.iter().rev().find_map(|x| match x {
            VadEvent::VoiceStop { end, .. } => Some(*end),
            _ => None,
        });
        let ok = matches!(tones.as_slice(), [t] if t.abs_diff(beep_at) <= 30 * MS)
            && voice_end.is_some_and(|v| v + 200 * MS >= end && v <= end + 60 * MS);
        if ok {
            before_beep.0 += 1;
        } else {
            println!("  utterance {i}, beep after {end}: {ev:?}");
        }
    }
    card.row("voice right after ringback: one VoiceStart within 300 ms", after_ring.0, after_ring.1);
    card.row("beep 100 ms after the greeting: a tone, and the voice ends before it", before_beep.0, before_beep.1);
    finish(card);
}

/// Render `text` with espeak-ng (`voice` like "en+f2") at 8 kHz.
fn say(text: &str, voice: &str) -> Vec<i16> {
    let espeak = require_tool("espeak-ng", "espeak-ng");
    let sox = require_tool("sox", "sox");
    let dir = tempfile_dir();
    let wav = dir.join("s.wav");
    let raw = dir.join("s.raw");
    run(Command::new(espeak).args(["-v", voice, "-s", "165", "-w"]).arg(&wav).arg(text));
    run(Command::new(sox)
        .arg("-q")
        .arg(&wav)
        .args(["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw"])
        .arg(&raw));
    let v = support::read_raw_s16(&raw);
    let _ = std::fs::remove_dir_all(&dir);
    v
}

fn classify(sig: &[i16]) -> Option<AnswerVerdict> {
    let mut a = AnswerDetector::new(VadParams::default(), AnswerParams::default()).expect("valid params");
    let mut ev = Vec::new();
    sig.chunks(160).find_map(|c| a.rx(c, &mut ev))
}

#[test]
fn answer_detection_person_machine_nobody() {
    let mut card = Scorecard::new("answer detection from the first greeting");
    let human =
        ["Hello?", "Yes?", "Hello, who is this?", "Hi!", "Speaking.", "Smith here.", "Good morning!", "Yeah, hello?"];
    let machine = [
        "Hi, you have reached John and Mary. We cannot come to the phone right now. Please leave a message after the tone.",
        "Hello, this is Doctor Brown's office. Our office hours are nine to five, Monday to Friday. Please call back later.",
        "The number you have dialled is not available. Please leave your name, your number and a short message.",
        "Thank you for calling Acme Plumbing, if this is an emergency please hang up and dial our night line.",
    ];
    let voices = ["en+m3", "en+f2", "en-us+m1", "en-us+f4"];
    let lead = vec![0i16; 8 * 400];
    let mut rows = [(0, 0), (0, 0), (0, 0)];
    for (i, voice) in voices.iter().enumerate() {
        for (j, text) in human.iter().enumerate() {
            let g = scale_active_to(&say(text, voice), -20.0 - (j % 3) as f64 * 5.0);
            let mut sig = lead.clone();
            sig.extend_from_slice(&g);
            sig.extend(std::iter::repeat_n(0i16, 8000 * 3));
            NoiseGenerator::new((i * 10 + j) as u64, -50.0).add_to(&mut sig);
            let v = classify(&sig);
            rows[0].1 += 1;
            if matches!(v, Some(AnswerVerdict::Human { .. })) {
                rows[0].0 += 1;
            } else {
                println!("  {voice} {text:?} ({} ms): {v:?}", g.len() / 8);
            }
        }
        for (j, text) in machine.iter().enumerate() {
            let g = scale_active_to(&say(text, voice), -18.0);
            let mut sig = lead.clone();
            sig.extend_from_slice(&g);
            NoiseGenerator::new((i * 10 + j) as u64 + 500, -50.0).add_to(&mut sig);
            let v = classify(&sig);
            rows[1].1 += 1;
            // Decided while the greeting is still playing, 1.5 s into it.
            if matches!(v, Some(AnswerVerdict::Machine { greeting_start, at }) if at - greeting_start <= 1600 * MS) {
                rows[1].0 += 1;
            } else {
                println!("  {voice} {text:?}: {v:?}");
            }
        }
    }
    for seed in 0..4u64 {
        let mut sig = vec![0i16; 8000 * 3];
        NoiseGenerator::new(seed + 900, -52.0 + 4.0 * seed as f64).add_to(&mut sig);
        let v = classify(&sig);
        rows[2].1 += 1;
        if v == Some(AnswerVerdict::NoSpeech { at: 2500 * MS }) {
            rows[2].0 += 1;
        } else {
            println!("  noise {seed}: {v:?}");
        }
    }
    card.row("short greeting then silence: person", rows[0].0, rows[0].1);
    card.row("long greeting: answering machine (within 1.6 s)", rows[1].0, rows[1].1);
    card.row("noise only: no speech", rows[2].0, rows[2].1);
    finish(card);
}
