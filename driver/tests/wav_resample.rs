//! WAV files and resampling, against sox as an independent witness, and the
//! resampler's quality figures.
//!
//! - sox writes test files in every format we read (PCM 8/16/24/32, float
//!   32/64, A-law, μ-law, 1–8 channels, plain and extensible headers); we
//!   read them and compare with sox's own conversion of the same file to
//!   16-bit mono raw.
//! - sox reads the files our writers produce, and converts the same input
//!   from other rates to 8 kHz: our [`load_mono_8k`] must agree with it in
//!   the passband.
//! - The resampler's figures, rate by rate, in a scorecard: passband gain
//!   (0–3400 Hz within ±0.1 dB), stopband (everything above 4 kHz at least
//!   60 dB down after aliasing), a −10 dBm0 1 kHz tone at −10 ± 0.1 dBm0
//!   with THD+N below −55 dB, and output time-aligned with input.
//!
//! `cargo test -p ctibox-driver --test wav_resample -- --nocapture` prints
//! the scorecards and the measured figures.

mod support;

use std::f64::consts::PI;
use std::path::{Path, PathBuf};
use std::process::Command;

use ctibox_driver::dsp::goertzel::{GoertzelDescriptor, GoertzelState};
use ctibox_driver::dsp::level::{self, dbm0_to_peak};
use ctibox_driver::dsp::resample::{self, Resampler, ResamplerDescriptor};
use ctibox_driver::hal::Law;
use ctibox_driver::media::wav::{self, SampleFormat, WavWriteFormat, WavWriter, load_mono_8k};
use proptest::prelude::*;
use support::{Scorecard, read_raw_s16, require_tool, run, tempfile_dir};

/// The rates other than 8 kHz that the project converts from and to.
const RATES: [u32; 6] = [11025, 16000, 22050, 32000, 44100, 48000];

fn sox() -> PathBuf {
    require_tool("sox", "sox")
}

/// sox's own reading of `file` as 16-bit mono raw (channels averaged),
/// optionally at another rate. No dither, so the result is deterministic.
fn sox_to_raw(file: &Path, rate: Option<u32>) -> Vec<i16> {
    let out = file.with_extension("sox.raw");
    let mut cmd = Command::new(sox());
    cmd.args(["-q", "-D"]).arg(file).args(["-t", "raw", "-e", "signed-integer", "-b", "16", "-c", "1"]);
    if let Some(r) = rate {
        cmd.args(["-r", &r.to_string()]);
    }
    cmd.arg(&out);
    run(&mut cmd);
    read_raw_s16(&out)
}

/// A sine at `freq` and `dbm0`, sampled at `rate`, rounded to 16 bits.
fn sine(freq: f64, dbm0: f64, rate: u32, n: usize) -> Vec<i16> {
    let a = dbm0_to_peak(dbm0);
    (0..n).map(|i| (a * (2.0 * PI * freq * i as f64 / rate as f64).sin()).round() as i16).collect()
}

/// Amplitude and phase (of a cosine) of `freq` in `x` by a single-bin DFT.
/// Exact when `x` holds a whole number of cycles.
fn tone(x: &[i16], freq: f64, rate: u32) -> (f64, f64) {
    let w = 2.0 * PI * freq / rate as f64;
    let (mut re, mut im) = (0.0, 0.0);
    for (n, &v) in x.iter().enumerate() {
        let ph = w * n as f64;
        re += v as f64 * ph.cos();
        im -= v as f64 * ph.sin();
    }
    let n = x.len() as f64;
    (2.0 * (re * re + im * im).sqrt() / n, im.atan2(re))
}

/// Fundamental amplitude and THD+N (residual power over fundamental power,
/// dB) of a sine at `freq` in `x`, which holds whole cycles.
fn thd_n_db(x: &[i16], freq: f64, rate: u32) -> (f64, f64) {
    let (a, ph) = tone(x, freq, rate);
    let w = 2.0 * PI * freq / rate as f64;
    let mut dc = 0.0;
    let mut resid = 0.0;
    for (n, &v) in x.iter().enumerate() {
        let e = v as f64 - a * (w * n as f64 + ph).cos();
        resid += e * e;
        dc += e;
    }
    let n = x.len() as f64;
    let resid = resid / n - (dc / n).powi(2);
    (a, 10.0 * (resid.max(1e-12) / (a * a / 2.0)).log10())
}

fn rms(x: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for v in x {
        s += v * v;
        n += 1;
    }
    (s / n.max(1) as f64).sqrt()
}

// ---------------------------------------------------------------------------
// Reading what sox writes.

struct SoxCase {
    name: &'static str,
    encoding: &'static [&'static str],
    rate: u32,
    channels: u16,
    want: SampleFormat,
    /// Most difference allowed from sox's 16-bit reading, in LSBs.
    tolerance: i32,
}

#[test]
fn reads_every_format_like_sox() {
    let dir = tempfile_dir();
    let cases = [
        SoxCase {
            name: "float32",
            encoding: &["-e", "floating-point", "-b", "32"],
            rate: 44100,
            channels: 1,
            want: SampleFormat::F32,
            tolerance: 1,
        },
        SoxCase {
            name: "float64",
            encoding: &["-e", "floating-point", "-b", "64"],
            rate: 48000,
            channels: 1,
            want: SampleFormat::F64,
            tolerance: 1,
        },
        SoxCase {
            name: "s16",
            encoding: &["-e", "signed-integer", "-b", "16"],
            rate: 16000,
            channels: 1,
            want: SampleFormat::S16,
            tolerance: 0,
        },
        SoxCase {
            name: "s24",
            encoding: &["-e", "signed-integer", "-b", "24"],
            rate: 22050,
            channels: 1,
            want: SampleFormat::S24,
            tolerance: 1,
        },
        SoxCase {
            name: "s32",
            encoding: &["-e", "signed-integer", "-b", "32"],
            rate: 32000,
            channels: 1,
            want: SampleFormat::S32,
            tolerance: 1,
        },
        SoxCase {
            name: "u8",
            encoding: &["-e", "unsigned-integer", "-b", "8"],
            rate: 11025,
            channels: 1,
            want: SampleFormat::U8,
            tolerance: 0,
        },
        SoxCase {
            name: "alaw",
            encoding: &["-e", "a-law", "-b", "8"],
            rate: 8000,
            channels: 1,
            want: SampleFormat::ALaw,
            tolerance: 0,
        },
        SoxCase {
            name: "ulaw",
            encoding: &["-e", "u-law", "-b", "8"],
            rate: 8000,
            channels: 1,
            want: SampleFormat::MuLaw,
            tolerance: 0,
        },
        SoxCase {
            name: "s16 stereo",
            encoding: &["-e", "signed-integer", "-b", "16"],
            rate: 44100,
            channels: 2,
            want: SampleFormat::S16,
            tolerance: 1,
        },
        SoxCase {
            name: "s16 3ch (extensible)",
            encoding: &["-e", "signed-integer", "-b", "16"],
            rate: 8000,
            channels: 3,
            want: SampleFormat::S16,
            tolerance: 1,
        },
        SoxCase {
            name: "s24 6ch (extensible)",
            encoding: &["-e", "signed-integer", "-b", "24"],
            rate: 48000,
            channels: 6,
            want: SampleFormat::S24,
            tolerance: 1,
        },
        SoxCase {
            name: "float32 8ch",
            encoding: &["-e", "floating-point", "-b", "32"],
            rate: 16000,
            channels: 8,
            want: SampleFormat::F32,
            tolerance: 1,
        },
        SoxCase {
            name: "alaw stereo",
            encoding: &["-e", "a-law", "-b", "8"],
            rate: 8000,
            channels: 2,
            want: SampleFormat::ALaw,
            tolerance: 1,
        },
        SoxCase {
            name: "u8 4ch (extensible)",
            encoding: &["-e", "unsigned-integer", "-b", "8"],
            rate: 8000,
            channels: 4,
            want: SampleFormat::U8,
            tolerance: 1,
        },
    ];
    let mut card = Scorecard::new("WAV reader against sox (samples within tolerance of sox's 16-bit mono)");
    let mut extensible = 0;
    for (i, c) in cases.iter().enumerate() {
        let path = dir.join(format!("case{i}.wav"));
        // Different tones per channel (synth cycles through them), below
        // full scale so no reader clips.
        let mut cmd = Command::new(sox());
        cmd.args(["-q", "-n", "-r", &c.rate.to_string(), "-c", &c.channels.to_string()])
            .args(c.encoding)
            .arg(&path)
            .args(["synth", "0.5", "sine", "1000", "sine", "1500", "sine", "440", "square", "300", "gain", "-3"]);
        run(&mut cmd);
        let ours = wav::read_file(&path).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_eq!(ours.sample_rate_hz(), c.rate, "{}", c.name);
        assert_eq!(ours.channels(), c.channels, "{}", c.name);
        assert_eq!(ours.fmt.sample_format, c.want, "{}", c.name);
        assert!(ours.warnings.is_empty(), "{}: {:?}", c.name, ours.warnings);
        extensible += ours.fmt.extensible as usize;
        let theirs = sox_to_raw(&path, None);
        let mine = ours.mono_i16();
        assert_eq!(mine.len(), theirs.len(), "{}", c.name);
        assert!(mine.iter().any(|&v| v.abs() > 1000), "{}: the file holds signal", c.name);
        let within = mine.iter().zip(&theirs).filter(|&(&a, &b)| (a as i32 - b as i32).abs() <= c.tolerance).count();
        let worst = mine.iter().zip(&theirs).map(|(&a, &b)| (a as i32 - b as i32).abs()).max().unwrap_or(0);
        println!(
            "{:<26} {} Hz {} ch extensible={} worst |ours − sox| = {worst}",
            c.name, c.rate, c.channels, ours.fmt.extensible
        );
        card.row(c.name, within, mine.len());
    }
    let ok = card.print();
    assert!(extensible >= 3, "sox should have written some WAVE_FORMAT_EXTENSIBLE files, got {extensible}");
    assert!(ok, "our reader disagrees with sox");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sox_reads_what_we_write() {
    let dir = tempfile_dir();
    let x: Vec<i16> =
        (0..12345).map(|i| ((i as f64 * 0.05).sin() * 20000.0 + (i as f64 * 0.7).cos() * 5000.0) as i16).collect();

    let p = dir.join("pcm.wav");
    wav::save_pcm16_mono(&p, 22050, &x).unwrap();
    assert_eq!(sox_to_raw(&p, None), x, "16-bit PCM");
    let info = run(Command::new(sox()).args(["--i", "-r"]).arg(&p));
    assert_eq!(String::from_utf8_lossy(&info.stdout).trim(), "22050");

    for (law, name) in [(Law::ALaw, "A-law"), (Law::MuLaw, "u-law")] {
        let p = dir.join(format!("{law}.wav"));
        wav::save_g711(&p, law, &x).unwrap();
        let ours = wav::read_file(&p).unwrap().mono_i16();
        assert_eq!(sox_to_raw(&p, None), ours, "{law}");
        let info = run(Command::new(sox()).args(["--i", "-e"]).arg(&p));
        assert_eq!(String::from_utf8_lossy(&info.stdout).trim(), name);
        let info = run(Command::new(sox()).args(["--i", "-s"]).arg(&p));
        assert_eq!(String::from_utf8_lossy(&info.stdout).trim(), x.len().to_string(), "{law}: sample count");
    }

    // A long recording streamed in 20 ms blocks with a header sync every
    // second, as the recorder does: an odd number of codes, to check the
    // pad byte.
    let p = dir.join("long.wav");
    let file = std::fs::File::create(&p).unwrap();
    let mut w = WavWriter::new(std::io::BufWriter::new(file), WavWriteFormat::G711 { law: Law::ALaw }).unwrap();
    let mut codes = [0u8; 160];
    let mut all = Vec::new();
    for block in 0..1500u32 {
        for (k, c) in codes.iter_mut().enumerate() {
            *c = (block as usize * 7 + k) as u8;
        }
        let n = if block == 1499 { 99 } else { 160 };
        w.write_codes(&codes[..n]).unwrap();
        all.extend_from_slice(&codes[..n]);
        if block % 50 == 0 {
            w.sync_header().unwrap();
        }
    }
    w.finish().unwrap();
    let r = wav::read_file(&p).unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.frames(), all.len());
    let want: Vec<i16> = all.iter().map(|&c| ctibox_driver::dsp::g711::alaw_to_linear(c)).collect();
    assert_eq!(r.mono_i16(), want);
    assert_eq!(sox_to_raw(&p, None), want);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn truncated_recording_is_read_to_the_end_with_a_warning() {
    // A recorder that died before fixing its header: sizes still zero
    // would read as empty, so test the usual "huge placeholder" case, and
    // a file cut in the middle of the data.
    let x = sine(1000.0, -10.0, 8000, 8000);
    let mut bytes = wav::encode_pcm16_mono(8000, &x).unwrap();
    bytes.truncate(44 + 2 * 5000 + 1);
    let r = wav::parse(&bytes).unwrap();
    assert_eq!(r.frames(), 5000);
    assert_eq!(r.mono_i16(), x[..5000]);
    let w = r.warnings.data_truncated.expect("the overrun is reported");
    assert_eq!((w.declared, w.available), (16000, 10001));
    assert_eq!(r.warnings.partial_frame_bytes, 1);
}

// ---------------------------------------------------------------------------
// Resampling against sox.

/// Tones inside the passband, 1 s at `rate`, about −10 dBm0 in total.
fn passband_mix(rate: u32) -> Vec<i16> {
    let freqs = [300.0, 1000.0, 2500.0, 3300.0];
    let a = dbm0_to_peak(-16.0);
    (0..rate as usize)
        .map(|i| {
            let t = i as f64 / rate as f64;
            freqs.iter().enumerate().map(|(k, f)| a * (2.0 * PI * f * t + k as f64).sin()).sum::<f64>().round() as i16
        })
        .collect()
}

#[test]
fn down_to_8k_agrees_with_sox() {
    let dir = tempfile_dir();
    let mut card = Scorecard::new("rate → 8 kHz against sox (RMS difference in the passband below −60 dB)");
    for rate in RATES {
        let x = passband_mix(rate);
        let p = dir.join(format!("mix{rate}.wav"));
        wav::save_pcm16_mono(&p, rate, &x).unwrap();
        let ours = load_mono_8k(&p).unwrap();
        let theirs = sox_to_raw(&p, Some(8000));
        assert!((ours.len() as i64 - theirs.len() as i64).abs() <= 1, "{rate}: {} vs {}", ours.len(), theirs.len());
        // Away from the edges, where each filter starts from silence.
        let n = ours.len().min(theirs.len());
        let span = 400..n - 400;
        let sig = rms(theirs[span.clone()].iter().map(|&v| v as f64));
        let diff = rms(span.map(|i| ours[i] as f64 - theirs[i] as f64));
        let db = 20.0 * (diff / sig).log10();
        println!("{rate:>5} Hz → 8000 Hz: RMS(ours − sox) / RMS(sox) = {db:.1} dB");
        card.row(format!("{rate} → 8000"), (db < -60.0) as usize, 1);
    }
    // And up, from 8 kHz.
    let x = passband_mix(8000);
    let p = dir.join("mix8000.wav");
    wav::save_pcm16_mono(&p, 8000, &x).unwrap();
    for rate in RATES {
        let ours = resample::resample(&x, 8000, rate).unwrap();
        let theirs = sox_to_raw(&p, Some(rate));
        let n = ours.len().min(theirs.len());
        let edge = rate as usize / 20;
        let span = edge..n - edge;
        let sig = rms(theirs[span.clone()].iter().map(|&v| v as f64));
        let diff = rms(span.map(|i| ours[i] as f64 - theirs[i] as f64));
        let db = 20.0 * (diff / sig).log10();
        println!(" 8000 Hz → {rate:>5} Hz: RMS(ours − sox) / RMS(sox) = {db:.1} dB");
        card.row(format!("8000 → {rate}"), (db < -60.0) as usize, 1);
    }
    let ok = card.print();
    assert!(ok, "our resampler disagrees with sox");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------
// Resampler quality figures.

/// Steady-state 1 s window of an output at `rate` (after the first 1/8 s).
fn steady(y: &[i16], rate: u32) -> &[i16] {
    let start = rate as usize / 8;
    &y[start..start + rate as usize]
}

#[test]
fn passband_is_flat_within_a_tenth_of_a_db() {
    let mut card = Scorecard::new("passband gain 0–3400 Hz within ±0.1 dB (sine sweep, −10 dBm0)");
    let freqs: Vec<f64> = (1..=34).map(|k| k as f64 * 100.0).chain([50.0, 3350.0, 3399.0]).collect();
    let a_in = dbm0_to_peak(-10.0);
    for rate in RATES {
        for (from, to) in [(rate, 8000), (8000, rate)] {
            let n = (from as usize * 5) / 4;
            let mut passed = 0;
            let mut worst: f64 = 0.0;
            for &f in &freqs {
                let x = sine(f, -10.0, from, n);
                let y = resample::resample(&x, from, to).unwrap();
                let (a, _) = tone(steady(&y, to), f, to);
                let g = 20.0 * (a / a_in).log10();
                worst = if g.abs() > worst.abs() { g } else { worst };
                passed += (g.abs() <= 0.1) as usize;
            }
            println!("{from:>5} → {to:>5}: worst passband gain {worst:+.4} dB");
            card.row(format!("{from} → {to}"), passed, freqs.len());
        }
    }
    assert!(card.print(), "passband ripple out of ±0.1 dB");
}

#[test]
fn stopband_aliases_are_60_db_down() {
    let mut card =
        Scorecard::new("going to 8 kHz: content 4000 Hz–Nyquist attenuated ≥ 60 dB after aliasing (0 dBm0 sweep)");
    for rate in RATES {
        let n = (rate as usize * 5) / 4;
        let mut passed = 0;
        let mut total = 0;
        let mut worst = -200.0f64;
        let mut worst_f = 0.0;
        let mut f = 4000.0;
        while f < rate as f64 / 2.0 {
            let x = sine(f, 0.0, rate, n);
            let y = resample::resample(&x, rate, 8000).unwrap();
            let out_db = level::block_dbm0(steady(&y, 8000));
            if out_db > worst {
                worst = out_db;
                worst_f = f;
            }
            passed += (out_db <= -60.0) as usize;
            total += 1;
            f += if f < 4500.0 { 50.0 } else { 331.0 };
        }
        println!("{rate:>5} → 8000: worst alias {worst:.1} dB (input at {worst_f} Hz), {total} frequencies");
        card.row(format!("{rate} → 8000"), passed, total);
    }
    // Going up: the images of a 0 dBm0 tone anywhere in the passband.
    for rate in RATES {
        let mut passed = 0;
        let mut worst = -200.0f64;
        let freqs = [300.0, 1000.0, 2000.0, 3000.0, 3400.0];
        for f in freqs {
            let x = sine(f, 0.0, 8000, 10000);
            let y = resample::resample(&x, 8000, rate).unwrap();
            let (_, thdn) = thd_n_db(steady(&y, rate), f, rate);
            worst = worst.max(thdn);
            passed += (thdn <= -60.0) as usize;
        }
        println!(" 8000 → {rate:>5}: worst images + noise {worst:.1} dB");
        card.row(format!("8000 → {rate} images"), passed, freqs.len());
    }
    assert!(card.print(), "aliases or images above −60 dB");
}

#[test]
fn one_khz_tone_keeps_its_level_and_purity() {
    let mut card = Scorecard::new("1 kHz at −10 dBm0: level −10 ± 0.1 dBm0, THD+N < −55 dB");
    for rate in RATES {
        // Down to 8 kHz: measured with the project's level meter and Goertzel.
        let x = sine(1000.0, -10.0, rate, rate as usize * 5 / 4);
        let y = resample::resample(&x, rate, 8000).unwrap();
        let s = steady(&y, 8000);
        let lvl = level::block_dbm0(s);
        let g = GoertzelDescriptor::new(1000.0, s.len());
        let mut st = GoertzelState::new();
        st.update(&g, s);
        let gl = g.energy_to_dbm0(st.result(&g));
        let (_, thdn) = thd_n_db(s, 1000.0, 8000);
        println!("{rate:>5} → 8000: level {lvl:.3} dBm0 (Goertzel {gl:.3}), THD+N {thdn:.1} dB");
        let ok = (lvl + 10.0).abs() <= 0.1 && (gl + 10.0).abs() <= 0.1 && thdn < -55.0;
        card.row(format!("{rate} → 8000"), ok as usize, 1);

        // Up from 8 kHz.
        let x = sine(1000.0, -10.0, 8000, 10000);
        let y = resample::resample(&x, 8000, rate).unwrap();
        let s = steady(&y, rate);
        let lvl = level::block_dbm0(s);
        let (_, thdn) = thd_n_db(s, 1000.0, rate);
        println!(" 8000 → {rate:>5}: level {lvl:.3} dBm0, THD+N {thdn:.1} dB");
        let ok = (lvl + 10.0).abs() <= 0.1 && thdn < -55.0;
        card.row(format!("8000 → {rate}"), ok as usize, 1);
    }
    assert!(card.print(), "level or THD+N out of bounds");
}

#[test]
fn offline_output_is_time_aligned_and_delay_is_documented() {
    let mut card = Scorecard::new("alignment: offline output in phase with input (< 2 µs), causal delay as documented");
    for rate in RATES {
        for (from, to) in [(rate, 8000), (8000, rate)] {
            let desc = ResamplerDescriptor::shared(from, to).unwrap();
            let mut ok = true;
            let mut worst_us: f64 = 0.0;
            for f in [300.0, 1000.0, 3000.0] {
                let x = sine(f, -10.0, from, from as usize * 5 / 4);
                // Offline: output sample n is input time n / to.
                let y = resample::resample(&x, from, to).unwrap();
                let start = to as usize / 8;
                let (_, ph) = tone(&y[start..start + to as usize], f, to);
                // The input is sin(ωt) = cos(ωt − π/2), and the window
                // starts at t = start / to.
                let want = 2.0 * PI * f * start as f64 / to as f64 - PI / 2.0;
                let err = (ph - want + PI).rem_euclid(2.0 * PI) - PI;
                let us = err / (2.0 * PI * f) * 1e6;
                worst_us = worst_us.max(us.abs());
                ok &= us.abs() < 2.0;

                // Causal: late by exactly the documented delay.
                let mut r = Resampler::new(desc.clone());
                let mut yc = vec![0i16; desc.max_output_for(x.len())];
                let (_, m) = r.process(&x, &mut yc);
                yc.truncate(m);
                let (_, phc) = tone(&yc[start..start + to as usize], f, to);
                let lag = (ph - phc).rem_euclid(2.0 * PI);
                let want_lag = (2.0 * PI * f * desc.delay_seconds()).rem_euclid(2.0 * PI);
                let d = (lag - want_lag + PI).rem_euclid(2.0 * PI) - PI;
                ok &= (d / (2.0 * PI * f)).abs() < 2e-6;
            }
            println!(
                "{from:>5} → {to:>5}: delay {:.3} ms = {:.2} output samples, {} taps/phase × {} phases; alignment error ≤ {worst_us:.3} µs",
                desc.delay_seconds() * 1e3,
                desc.delay_output_samples(),
                desc.taps(),
                desc.up()
            );
            card.row(format!("{from} → {to}"), ok as usize, 1);
        }
    }
    assert!(card.print(), "misaligned output or undocumented delay");
}

#[test]
fn streaming_aligned_equals_offline() {
    // A player feeding 20 ms blocks and flushing at the end gets the same
    // samples as the offline helper.
    for rate in [44100u32, 11025, 48000] {
        let x = passband_mix(rate);
        let want = resample::resample(&x, rate, 8000).unwrap();
        let desc = ResamplerDescriptor::shared(rate, 8000).unwrap();
        let mut r = Resampler::aligned(desc);
        let mut got = Vec::new();
        let mut out = [0i16; 160];
        for block in x.chunks(rate as usize / 50) {
            let mut rest = block;
            while !rest.is_empty() {
                let (used, made) = r.process(rest, &mut out);
                got.extend_from_slice(&out[..made]);
                rest = &rest[used..];
            }
        }
        loop {
            let n = r.flush(&mut out);
            if n == 0 {
                break;
            }
            got.extend_from_slice(&out[..n]);
        }
        assert_eq!(got, want, "{rate}");
    }
}

// ---------------------------------------------------------------------------
// Robustness: the parser never panics.

/// A plausible header with fields drawn from small sets, then random chunk
/// bytes: reaches deep into the parser.
fn plausible_file() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec![1u16, 3, 6, 7, 0xFFFE, 2, 0]),
        0u16..10,
        prop::sample::select(vec![0u32, 8000, 11025, 44100, 48000, 8001]),
        0u16..40,
        prop::sample::select(vec![0u16, 8, 12, 16, 24, 32, 64]),
        prop::collection::vec(any::<u8>(), 0..64),
        prop::collection::vec(any::<u8>(), 0..300),
        any::<u32>(),
        any::<bool>(),
    )
        .prop_map(|(tag, ch, rate, align, bits, ext, data, data_size, honest)| {
            let mut fmt = Vec::new();
            fmt.extend_from_slice(&tag.to_le_bytes());
            fmt.extend_from_slice(&ch.to_le_bytes());
            fmt.extend_from_slice(&rate.to_le_bytes());
            fmt.extend_from_slice(&rate.wrapping_mul(align as u32).to_le_bytes());
            fmt.extend_from_slice(&align.to_le_bytes());
            fmt.extend_from_slice(&bits.to_le_bytes());
            fmt.extend_from_slice(&ext);
            let mut v = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
            v.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
            v.extend_from_slice(&fmt);
            if fmt.len() % 2 == 1 {
                v.push(0);
            }
            v.extend_from_slice(b"data");
            let size = if honest { data.len() as u32 } else { data_size };
            v.extend_from_slice(&size.to_le_bytes());
            v.extend_from_slice(&data);
            v
        })
}

fn exercise(bytes: &[u8]) {
    if let Ok(w) = wav::parse(bytes) {
        let m = w.mono_i16();
        assert_eq!(m.len(), w.frames());
        assert!(w.channels() >= 1 && w.channels() <= wav::MAX_CHANNELS);
        // Only rates with a small filter bank, to keep each case quick.
        if matches!(w.sample_rate_hz(), 8000 | 11025 | 44100 | 48000) {
            let y = w.mono_8k().unwrap();
            assert_eq!(y.len(), (m.len() as u64 * 8000).div_ceil(w.sample_rate_hz() as u64) as usize);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
        // Behind a valid RIFF/WAVE header too, or nothing gets past it.
        let mut v = b"RIFF\0\0\0\0WAVE".to_vec();
        v.extend_from_slice(&bytes);
        exercise(&v);
    }

    #[test]
    fn plausible_headers_never_panic(bytes in plausible_file(), cut in any::<prop::sample::Index>()) {
        exercise(&bytes);
        exercise(&bytes[..cut.index(bytes.len() + 1)]);
    }

    #[test]
    fn mutated_valid_files_never_panic(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ext in any::<bool>(),
    ) {
        let mut f = if ext {
            // An extensible 2-channel 24-in-32 file written by hand.
            let mut v = b"RIFF\0\0\0\0WAVEfmt \x28\0\0\0".to_vec();
            v.extend_from_slice(&[0xFE, 0xFF, 2, 0, 0x80, 0xBB, 0, 0, 0, 0xDC, 5, 0, 8, 0, 32, 0, 22, 0, 24, 0, 3, 0, 0, 0]);
            v.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71]);
            v.extend_from_slice(b"data\x10\0\0\0");
            v.extend_from_slice(&[0, 0, 0, 0x40, 0, 0, 0, 0xC0, 0, 0, 0, 0x20, 0, 0, 0, 0xE0]);
            v
        } else {
            wav::encode_g711(Law::MuLaw, &[0, 100, -100, 5000, 30000]).unwrap()
        };
        for (i, b) in flips {
            let k = i.index(f.len());
            f[k] = b;
        }
        exercise(&f);
    }

    #[test]
    fn pcm16_round_trips(rate in 1u32..200_000, x in prop::collection::vec(any::<i16>(), 0..400)) {
        let bytes = wav::encode_pcm16_mono(rate, &x).unwrap();
        let w = wav::parse(&bytes).unwrap();
        prop_assert!(w.warnings.is_empty());
        prop_assert_eq!(w.sample_rate_hz(), rate);
        prop_assert_eq!(w.mono_i16(), x);
    }

    #[test]
    fn g711_round_trips(codes in prop::collection::vec(any::<u8>(), 0..400), alaw in any::<bool>()) {
        let law = if alaw { Law::ALaw } else { Law::MuLaw };
        let bytes = wav::encode_g711_codes(law, &codes).unwrap();
        let w = wav::parse(&bytes).unwrap();
        prop_assert!(w.warnings.is_empty());
        let want: Vec<i16> = codes.iter().map(|&c| ctibox_driver::dsp::g711::decode(law, c)).collect();
        prop_assert_eq!(w.mono_i16(), want);
    }
}
