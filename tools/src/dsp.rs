//! `ctibox dsp …`: run ctibox's detectors and generators on files, for a
//! technician with a recording of a real line.
//!
//! Input files are WAV of any common rate and format (PCM 8–32 bit, float,
//! A-law, μ-law, mono or more channels), converted to 8 kHz mono first.
//! Output files are 8 kHz 16-bit mono WAV.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};

use ctibox_driver::dsp::cid::{
    CallerId, CallerIdGenerator, CallerIdReceiver, CidEvent, CidMessage, CidStandard, CidText, CidTxConfig, DateTime,
};
use ctibox_driver::dsp::cid_dtmf::{DtmfCidEvent, DtmfCidFormat, DtmfCidGenerator, DtmfCidReceiver, DtmfCidRxConfig};
use ctibox_driver::dsp::dtmf::{DtmfDetector, DtmfEvent, DtmfRxDescriptor, DtmfTxConfig, dtmf_samples};
use ctibox_driver::dsp::goertzel::{GoertzelDescriptor, GoertzelState};
use ctibox_driver::dsp::tonegen::ToneGenerator;
use ctibox_driver::dsp::tones::{Country, ToneDetector, ToneEvent, ToneKind, learn, parse_pattern};
use ctibox_driver::media::wav;

#[derive(Debug, Args)]
pub struct DspArgs {
    #[command(subcommand)]
    cmd: DspCmd,
}

#[derive(Debug, Subcommand)]
enum DspCmd {
    /// Print the DTMF digits in a recording (one line; -v: one per digit).
    Dtmf {
        file: PathBuf,
        /// One line per digit: `digit start_ms end_ms level_dbm0`.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Print the caller-ID messages in a recording (FSK Bell 202, V.23, DTMF).
    Cid { file: PathBuf },
    /// Print the call-progress tones in a recording.
    Tones {
        file: PathBuf,
        /// Country profile: CN, RU, US, UK, EU.
        #[arg(long, default_value = "CN")]
        country: String,
    },
    /// Learn a call-progress tone from a recording of a real line and print
    /// it as a profile entry (TOML) to put in the config.
    Learn { file: PathBuf },
    /// Generate test signals.
    Gen(GenArgs),
}

#[derive(Debug, Args)]
struct GenArgs {
    #[command(subcommand)]
    what: GenWhat,
    /// Output WAV file (8 kHz, 16-bit, mono).
    #[arg(short, long, global = true)]
    output: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum GenWhat {
    /// DTMF digits.
    Dtmf {
        digits: String,
        /// Level of each tone, dBm0 (with --twist, the mean of the two).
        #[arg(long, default_value_t = -10.0, allow_hyphen_values = true)]
        level: f32,
        /// Low-group minus high-group level, dB.
        #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
        twist: f32,
        /// Tone length, ms.
        #[arg(long, default_value_t = 50)]
        on: u32,
        /// Pause length, ms.
        #[arg(long, default_value_t = 55)]
        off: u32,
    },
    /// A call-progress tone of a country, or any pattern.
    Tone {
        /// dial, ringback, busy, congestion, call_waiting, sit (with --country).
        kind: Option<String>,
        #[arg(long, default_value = "CN")]
        country: String,
        /// A pattern instead, e.g. "450/350,0/350" or "350+440".
        #[arg(long, conflicts_with = "kind")]
        pattern: Option<String>,
        /// Level of each frequency for --pattern, dBm0.
        #[arg(long, default_value_t = -10.0, allow_hyphen_values = true)]
        level: f32,
        /// Length of the file, seconds.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// A caller-ID message.
    Cid {
        #[arg(long, value_enum, default_value_t = CidStd::Bell202)]
        std: CidStd,
        #[arg(long)]
        number: String,
        #[arg(long)]
        name: Option<String>,
        /// MMDDHHMM.
        #[arg(long)]
        datetime: Option<String>,
        /// DTMF layout (with --std dtmf).
        #[arg(long, value_enum, default_value_t = DtmfLayout::AC)]
        layout: DtmfLayout,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum CidStd {
    Bell202,
    V23,
    Dtmf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DtmfLayout {
    /// A<number>C
    #[value(name = "AC")]
    AC,
    /// A<number>#
    #[value(name = "A#")]
    AHash,
    /// D<number>C
    #[value(name = "DC")]
    DC,
    /// <number>#
    #[value(name = "#")]
    Hash,
}

pub fn run(args: DspArgs) -> Result<i32> {
    match args.cmd {
        DspCmd::Dtmf { file, verbose } => dtmf(&file, verbose),
        DspCmd::Cid { file } => cid(&file),
        DspCmd::Tones { file, country } => tones(&file, &country),
        DspCmd::Learn { file } => learn_cmd(&file),
        DspCmd::Gen(g) => generate(g),
    }
}

fn load(file: &Path) -> Result<Vec<i16>> {
    // The error names the file already.
    wav::load_mono_8k(file).map_err(anyhow::Error::from)
}

fn ms(samples: u64) -> u64 {
    samples / 8
}

fn dtmf(file: &Path, verbose: bool) -> Result<i32> {
    let audio = load(file)?;
    let mut det = DtmfDetector::new(DtmfRxDescriptor::shared_default());
    let mut evs = Vec::new();
    det.rx(&audio, &mut evs);
    det.flush(&mut evs);
    let digits: Vec<_> = evs
        .iter()
        .filter_map(|e| match e {
            DtmfEvent::Digit(t) => Some(*t),
            DtmfEvent::Begin { .. } => None,
        })
        .collect();
    println!("{}", digits.iter().map(|t| t.digit.as_char()).collect::<String>());
    if verbose {
        for t in &digits {
            println!("{} {} {} {:.1}", t.digit, ms(t.start), ms(t.end), t.low_dbm0.min(t.high_dbm0));
        }
    }
    Ok(0)
}

/// Energy at `freq` over `audio[start..end]`.
fn energy(audio: &[i16], start: usize, end: usize, freq: f32) -> f64 {
    let e = end.min(audio.len());
    if e <= start {
        return 0.0;
    }
    let d = GoertzelDescriptor::new(freq, e - start);
    let mut st = GoertzelState::new();
    st.update(&d, &audio[start..e]);
    st.result(&d) as f64
}

/// Which FSK standard carried a message: the marks just before it are a
/// steady 1200 Hz (Bell 202) or 1300 Hz (V.23).
fn fsk_standard(audio: &[i16], message_start: u64) -> &'static str {
    let end = message_start as usize;
    let start = end.saturating_sub(400);
    if energy(audio, start, end, 1200.0) >= energy(audio, start, end, 1300.0) { "bell202" } else { "v23" }
}

fn cid_line(std: &str, c: &CallerId) -> String {
    let text = |t: Option<&str>| t.unwrap_or("").to_string();
    let number = match (&c.number, c.number_absence) {
        (Some(n), _) => text(n.as_str()),
        (None, Some(a)) => format!("({a:?})"),
        (None, None) => String::new(),
    };
    let name = match (&c.name, c.name_absence) {
        (Some(n), _) => text(n.as_str()),
        (None, Some(a)) => format!("({a:?})"),
        (None, None) => String::new(),
    };
    let dt = c.date_time.map(|d| String::from_utf8_lossy(&d.to_ascii()).into_owned()).unwrap_or_default();
    format!("std={std} number={number} name={name} datetime={dt}")
}

fn cid(file: &Path) -> Result<i32> {
    let audio = load(file)?;
    // (start, line): FSK messages decoded by either receiver, labelled by the
    // frequency pair that carries them.
    let mut found: Vec<(u64, u64, String)> = Vec::new();
    for std in [CidStandard::Bell202, CidStandard::V23] {
        let mut rx = CallerIdReceiver::new(std);
        let mut evs = Vec::new();
        rx.rx(&audio, &mut evs);
        for ev in &evs {
            if let (CidEvent::Message { start, end, .. }, Some(c)) = (ev, ev.caller_id()) {
                let label = fsk_standard(&audio, *start);
                let line = cid_line(label, c);
                // Both receivers may decode one burst: keep it once.
                if !found.iter().any(|(s, e, l)| *l == line && *s < *end && *start < *e) {
                    found.push((*start, *end, line));
                }
            }
        }
    }
    let mut rx = DtmfCidReceiver::new(DtmfCidRxConfig::default());
    let mut evs = Vec::new();
    rx.rx(&audio, &mut evs);
    rx.flush(&mut |e| evs.push(e));
    for ev in &evs {
        if let DtmfCidEvent::CallerId { caller_id, start, end, .. } = ev {
            found.push((*start, *end, cid_line("dtmf", caller_id)));
        }
    }
    found.sort_by_key(|(s, _, _)| *s);
    for (_, _, line) in &found {
        println!("{line}");
    }
    Ok(0)
}

fn country(code: &str) -> Result<Country> {
    code.parse::<Country>().map_err(|e| anyhow::anyhow!("--country: {e}"))
}

fn tones(file: &Path, code: &str) -> Result<i32> {
    let audio = load(file)?;
    let c = country(code)?;
    let mut det = ToneDetector::new(c.detector());
    let mut evs = Vec::new();
    det.rx(&audio, &mut evs);
    det.flush(&mut evs);
    let mut open: Option<(ToneKind, u64, f32)> = None;
    for ev in &evs {
        match *ev {
            ToneEvent::Tone { kind, start, level_dbm0, .. } => open = Some((kind, start, level_dbm0)),
            ToneEvent::ToneEnd { kind, end, .. } => {
                let (start, level) = match open.take() {
                    Some((k, s, l)) if k == kind => (s, l),
                    _ => (end, f32::NAN),
                };
                println!("{} {} {} {:.1}", kind, ms(start), ms(end), level);
            }
        }
    }
    if let Some((kind, start, level)) = open {
        println!("{} {} {} {:.1}", kind, ms(start), ms(audio.len() as u64), level);
    }
    Ok(0)
}

fn learn_cmd(file: &Path) -> Result<i32> {
    let audio = load(file)?;
    match learn(&audio) {
        Ok(t) => {
            print!("{}", t.to_toml());
            Ok(0)
        }
        Err(e) => bail!("{}: no tone learned: {e}", file.display()),
    }
}

fn generate(g: GenArgs) -> Result<i32> {
    let Some(out) = g.output else { bail!("give the output file with -o FILE.wav") };
    let samples = match g.what {
        GenWhat::Dtmf { digits, level, twist, on, off } => {
            let cfg = DtmfTxConfig::new(level, twist, on, off);
            dtmf_samples(&digits, cfg).map_err(|e| anyhow::anyhow!("digits `{digits}`: {e}"))?
        }
        GenWhat::Tone { kind, country: code, pattern, level, seconds } => {
            let spec = match (kind, pattern) {
                (_, Some(p)) => parse_pattern(&p, level).map_err(|e| anyhow::anyhow!("--pattern `{p}`: {e}"))?,
                (Some(k), None) => {
                    let kind: ToneKind = k.parse().map_err(|e| anyhow::anyhow!("tone `{k}`: {e}"))?;
                    let c = country(&code)?;
                    c.profile().spec(kind).with_context(|| format!("{c} has no {kind} tone"))?
                }
                (None, None) => bail!("give a tone kind (dial, busy, …) or --pattern"),
            };
            if !(seconds.is_finite() && seconds > 0.0 && seconds <= 3600.0) {
                bail!("--seconds must be between 0 and 3600");
            }
            let mut buf = vec![0i16; (seconds * 8000.0) as usize];
            let mut t = ToneGenerator::new(&spec);
            t.tx(&mut buf);
            buf
        }
        GenWhat::Cid { std, number, name, datetime, layout } => {
            let mut c = CallerId {
                number: Some(CidText::try_from(number.as_str()).map_err(|e| anyhow::anyhow!("--number: {e}"))?),
                ..CallerId::default()
            };
            if let Some(n) = &name {
                c.name = Some(CidText::try_from(n.as_str()).map_err(|e| anyhow::anyhow!("--name: {e}"))?);
            }
            if let Some(d) = &datetime {
                c.date_time = Some(DateTime::parse(d.as_bytes()).map_err(|e| anyhow::anyhow!("--datetime {d}: {e}"))?);
            }
            // Half a second of silence either side, as on a line.
            let mut buf = vec![0i16; 4000];
            let mut body = vec![0i16; 8000 * 4];
            let n = match std {
                CidStd::Bell202 | CidStd::V23 => {
                    let s = if std == CidStd::Bell202 { CidStandard::Bell202 } else { CidStandard::V23 };
                    let mut tx = CallerIdGenerator::new(&CidTxConfig::new(s), &CidMessage::MdmfCallerId(c))
                        .map_err(|e| anyhow::anyhow!("caller ID: {e}"))?;
                    tx.tx(&mut body)
                }
                CidStd::Dtmf => {
                    let f = match layout {
                        DtmfLayout::AC => DtmfCidFormat::StartAEndC,
                        DtmfLayout::AHash => DtmfCidFormat::StartAEndHash,
                        DtmfLayout::DC => DtmfCidFormat::StartDEndC,
                        DtmfLayout::Hash => DtmfCidFormat::EndHash,
                    };
                    let mut tx = DtmfCidGenerator::new(&c, f, DtmfTxConfig::default())
                        .map_err(|e| anyhow::anyhow!("caller ID: {e}"))?;
                    tx.tx(&mut body)
                }
            };
            buf.extend_from_slice(&body[..n]);
            buf.extend_from_slice(&[0; 4000]);
            buf
        }
    };
    wav::save_pcm16_mono(&out, 8000, &samples).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!("wrote {} ({:.2} s)", out.display(), samples.len() as f64 / 8000.0);
    Ok(0)
}
