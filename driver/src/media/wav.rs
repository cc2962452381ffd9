//! RIFF/WAVE audio files: a reader for what recorders and editors write, and
//! writers for what ctibox stores (16-bit PCM, G.711 A-law and μ-law).
//!
//! # Format
//!
//! A file is a `RIFF` chunk of form `WAVE` holding sub-chunks, each an
//! ASCII four-character id, a little-endian 32-bit body size, the body, and
//! one pad byte when the size is odd (Microsoft/IBM *Multimedia Programming
//! Interface and Data Specifications 1.0*, 1991). `fmt ` describes the
//! samples (WAVEFORMATEX, and WAVEFORMATEXTENSIBLE whose `SubFormat` GUID
//! carries the real format code); `data` holds interleaved frames; other
//! chunks (`LIST`, `fact`, `cue `, `bext`…) are skipped. Format codes are
//! those of RFC 2361.
//!
//! # Reader
//!
//! [`parse`] reads a whole file from bytes, [`read_file`] from a path.
//! Supported: PCM 8-bit unsigned, 16/24/32-bit signed; IEEE float 32/64;
//! A-law (6) and μ-law (7); any of these wrapped in WAVE_FORMAT_EXTENSIBLE
//! (valid bits below the container are fine: samples are left-justified);
//! 1 to [`MAX_CHANNELS`] channels; any sample rate. Chunks may come in any
//! order.
//!
//! Leniency, reported in [`WavWarnings`] rather than refused: a `data`
//! chunk whose size runs past the end of the file (recorders that never
//! fixed up their header) is read up to the end; a RIFF size that disagrees
//! with the file length; a byte rate that disagrees with rate × block
//! align; bytes at the end of `data` that do not make a whole frame; a
//! chunk after `data` that runs past the end of the file. Everything else
//! that is wrong is a [`WavError`] naming what and the byte offset where.
//! Parsing never panics and never allocates by a size read from the file,
//! only by bytes actually present.
//!
//! Samples are decoded to `f32` with full scale ±1.0 (`i16 / 32768`,
//! `(u8 − 128) / 128`, …; float samples as they are, non-finite ones as 0).
//! [`Wav::mono_f32`] and [`Wav::mono_i16`] average the channels.
//! [`load_mono_8k`] reads any supported file and converts it to 8 kHz mono
//! 16-bit with [`crate::dsp::resample`], delay-compensated.
//!
//! # Writers
//!
//! [`WavWriter`] streams to any `Write + Seek`: it writes the header with
//! "unknown" sizes, appends samples, and fixes the sizes in
//! [`WavWriter::finish`] (or on drop; [`WavWriter::sync_header`] does it in
//! the middle of a long recording so a crash loses little). It writes
//! 16-bit PCM mono at any rate, and G.711 A-law/μ-law mono at 8 kHz
//! (format 6/7, 18-byte `fmt ` with `cbSize` 0, and the `fact` chunk that
//! non-PCM formats need). [`encode_pcm16_mono`], [`encode_g711`] and the
//! `save_*` functions do a whole buffer at once.
//!
//! Not implemented: RIFX (big-endian) and RF64/BW64 (files over 4 GiB),
//! compressed formats (ADPCM, GSM 6.10, MP3…), 8-bit signed, 20-bit packed,
//! channel-mask aware downmixing (all channels weigh the same).

use std::fmt;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::dsp::g711;
use crate::dsp::resample::{self, ResampleError};
use crate::hal::Law;

/// Most channels a file may have.
pub const MAX_CHANNELS: u16 = 8;
/// The rate G.711 files are written at, Hz.
pub const G711_RATE_HZ: u32 = 8000;

/// Byte ranges of the structures in a file, smoltcp style.
mod field {
    pub type Field = core::ops::Range<usize>;

    // RIFF header, at the start of the file.
    pub const RIFF_ID: Field = 0..4;
    pub const RIFF_SIZE: Field = 4..8;
    pub const RIFF_FORM: Field = 8..12;
    pub const RIFF_HEADER_LEN: usize = 12;

    // Chunk header, at the start of every chunk.
    pub const CHUNK_ID: Field = 0..4;
    pub const CHUNK_SIZE: Field = 4..8;
    pub const CHUNK_HEADER_LEN: usize = 8;

    // `fmt ` body: WAVEFORMATEX.
    pub const FORMAT_TAG: Field = 0..2;
    pub const CHANNELS: Field = 2..4;
    pub const SAMPLE_RATE: Field = 4..8;
    pub const BYTE_RATE: Field = 8..12;
    pub const BLOCK_ALIGN: Field = 12..14;
    pub const BITS_PER_SAMPLE: Field = 14..16;
    pub const FMT_PCM_LEN: usize = 16;
    pub const CB_SIZE: Field = 16..18;
    pub const FMT_EX_LEN: usize = 18;
    // WAVEFORMATEXTENSIBLE after cbSize.
    pub const VALID_BITS: Field = 18..20;
    pub const CHANNEL_MASK: Field = 20..24;
    pub const SUB_FORMAT: Field = 24..40;
    pub const FMT_EXTENSIBLE_LEN: usize = 40;
    /// cbSize of WAVEFORMATEXTENSIBLE.
    pub const EXTENSIBLE_CB_SIZE: u16 = 22;

    // `fact` body: one u32, the number of frames.
    pub const FACT_LEN: usize = 4;
}

fn get_u16(buf: &[u8], f: field::Field) -> Option<u16> {
    buf.get(f).and_then(|b| b.try_into().ok()).map(u16::from_le_bytes)
}

fn get_u32(buf: &[u8], f: field::Field) -> Option<u32> {
    buf.get(f).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes)
}

fn get_id(buf: &[u8], f: field::Field) -> Option<FourCc> {
    buf.get(f).and_then(|b| b.try_into().ok()).map(FourCc)
}

/// A chunk id or RIFF form type: four bytes, usually ASCII.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FourCc(pub [u8; 4]);

impl FourCc {
    pub const RIFF: FourCc = FourCc(*b"RIFF");
    pub const WAVE: FourCc = FourCc(*b"WAVE");
    pub const FMT: FourCc = FourCc(*b"fmt ");
    pub const DATA: FourCc = FourCc(*b"data");
    pub const FACT: FourCc = FourCc(*b"fact");
}

impl fmt::Display for FourCc {
    /// Printable ASCII as is, other bytes as `\xNN`, in backquotes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`")?;
        for &b in &self.0 {
            if (0x20..0x7F).contains(&b) {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        f.write_str("`")
    }
}

impl fmt::Debug for FourCc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A `SubFormat` GUID of WAVE_FORMAT_EXTENSIBLE, as the 16 bytes stored.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Guid(pub [u8; 16]);

/// The tail shared by every GUID derived from a WAVE format code
/// (`xxxxxxxx-0000-0010-8000-00aa00389b71`, bytes 4..16 as stored).
const KSDATAFORMAT_TAIL: [u8; 12] = [0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71];

impl Guid {
    /// The GUID that wraps a plain format code.
    pub fn from_format_code(code: u16) -> Self {
        let mut g = [0u8; 16];
        g[0..2].copy_from_slice(&code.to_le_bytes());
        g[4..16].copy_from_slice(&KSDATAFORMAT_TAIL);
        Guid(g)
    }

    /// The format code this GUID wraps, if it is one of the derived GUIDs.
    pub fn format_code(&self) -> Option<u16> {
        if self.0[2..4] == [0, 0] && self.0[4..16] == KSDATAFORMAT_TAIL {
            Some(u16::from_le_bytes([self.0[0], self.0[1]]))
        } else {
            None
        }
    }
}

impl fmt::Display for Guid {
    /// Registry form: `{00000001-0000-0010-8000-00aa00389b71}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = &self.0;
        let d1 = u32::from_le_bytes([g[0], g[1], g[2], g[3]]);
        let d2 = u16::from_le_bytes([g[4], g[5]]);
        let d3 = u16::from_le_bytes([g[6], g[7]]);
        write!(f, "{{{d1:08x}-{d2:04x}-{d3:04x}-{:02x}{:02x}-", g[8], g[9])?;
        for b in &g[10..16] {
            write!(f, "{b:02x}")?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A WAVE format code (`wFormatTag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormatCode {
    /// WAVE_FORMAT_PCM (1): integer samples.
    Pcm,
    /// WAVE_FORMAT_IEEE_FLOAT (3).
    IeeeFloat,
    /// WAVE_FORMAT_ALAW (6): G.711 A-law.
    ALaw,
    /// WAVE_FORMAT_MULAW (7): G.711 μ-law.
    MuLaw,
    /// WAVE_FORMAT_EXTENSIBLE (0xFFFE): the real code is in the sub-format.
    Extensible,
    /// Any other code.
    Unknown(u16),
}

impl From<u16> for FormatCode {
    fn from(v: u16) -> Self {
        match v {
            1 => FormatCode::Pcm,
            3 => FormatCode::IeeeFloat,
            6 => FormatCode::ALaw,
            7 => FormatCode::MuLaw,
            0xFFFE => FormatCode::Extensible,
            x => FormatCode::Unknown(x),
        }
    }
}

impl From<FormatCode> for u16 {
    fn from(c: FormatCode) -> u16 {
        match c {
            FormatCode::Pcm => 1,
            FormatCode::IeeeFloat => 3,
            FormatCode::ALaw => 6,
            FormatCode::MuLaw => 7,
            FormatCode::Extensible => 0xFFFE,
            FormatCode::Unknown(x) => x,
        }
    }
}

/// A name for a format code, for error messages (RFC 2361 names for the
/// common ones).
pub fn format_code_name(code: u16) -> &'static str {
    match code {
        0x0000 => "unknown",
        0x0001 => "PCM",
        0x0002 => "Microsoft ADPCM",
        0x0003 => "IEEE float",
        0x0006 => "A-law",
        0x0007 => "mu-law",
        0x0011 => "IMA ADPCM",
        0x0031 => "GSM 6.10",
        0x0040 => "G.721 ADPCM",
        0x0050 => "MPEG",
        0x0055 => "MPEG layer 3",
        0x0064 => "G.726 ADPCM",
        0xFFFE => "extensible",
        _ => "other",
    }
}

/// How the samples of a file are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleFormat {
    /// 8-bit unsigned PCM, 128 = zero.
    U8,
    /// 16-bit signed PCM.
    S16,
    /// 24-bit signed PCM (3 bytes).
    S24,
    /// 32-bit signed PCM.
    S32,
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
    /// G.711 A-law, one byte.
    ALaw,
    /// G.711 μ-law, one byte.
    MuLaw,
}

impl SampleFormat {
    /// Bytes per sample (the container).
    pub const fn bytes(self) -> usize {
        match self {
            SampleFormat::U8 | SampleFormat::ALaw | SampleFormat::MuLaw => 1,
            SampleFormat::S16 => 2,
            SampleFormat::S24 => 3,
            SampleFormat::S32 | SampleFormat::F32 => 4,
            SampleFormat::F64 => 8,
        }
    }

    /// The plain (not extensible) format code.
    pub const fn code(self) -> u16 {
        match self {
            SampleFormat::U8 | SampleFormat::S16 | SampleFormat::S24 | SampleFormat::S32 => 1,
            SampleFormat::F32 | SampleFormat::F64 => 3,
            SampleFormat::ALaw => 6,
            SampleFormat::MuLaw => 7,
        }
    }

    /// The format for a format code and container size, if supported.
    pub fn from_code(code: u16, bits: u16) -> Option<Self> {
        Some(match (code, bits) {
            (1, 8) => SampleFormat::U8,
            (1, 16) => SampleFormat::S16,
            (1, 24) => SampleFormat::S24,
            (1, 32) => SampleFormat::S32,
            (3, 32) => SampleFormat::F32,
            (3, 64) => SampleFormat::F64,
            (6, 8) => SampleFormat::ALaw,
            (7, 8) => SampleFormat::MuLaw,
            _ => return None,
        })
    }

    /// Decode one sample (exactly `bytes()` long) to full scale ±1.0.
    #[inline]
    fn decode(self, b: &[u8]) -> f32 {
        match (self, b) {
            (SampleFormat::U8, [x]) => (*x as f32 - 128.0) * (1.0 / 128.0),
            (SampleFormat::S16, [a, b]) => i16::from_le_bytes([*a, *b]) as f32 * (1.0 / 32768.0),
            (SampleFormat::S24, [a, b, c]) => (i32::from_le_bytes([0, *a, *b, *c]) >> 8) as f32 * (1.0 / 8_388_608.0),
            (SampleFormat::S32, [a, b, c, d]) => i32::from_le_bytes([*a, *b, *c, *d]) as f32 * (1.0 / 2_147_483_648.0),
            (SampleFormat::F32, [a, b, c, d]) => sanitize(f32::from_le_bytes([*a, *b, *c, *d]) as f64),
            (SampleFormat::F64, [a, b, c, d, e, f, g, h]) => {
                sanitize(f64::from_le_bytes([*a, *b, *c, *d, *e, *f, *g, *h]))
            }
            (SampleFormat::ALaw, [x]) => g711::alaw_to_linear(*x) as f32 * (1.0 / 32768.0),
            (SampleFormat::MuLaw, [x]) => g711::ulaw_to_linear(*x) as f32 * (1.0 / 32768.0),
            _ => 0.0,
        }
    }
}

/// Largest magnitude kept from a float file (60 dB over full scale); beyond
/// that the file is garbage and the value is clamped.
const FLOAT_LIMIT: f64 = 1000.0;

/// Float sample to a finite, bounded `f32`.
#[inline]
fn sanitize(v: f64) -> f32 {
    if v.is_finite() { v.clamp(-FLOAT_LIMIT, FLOAT_LIMIT) as f32 } else { 0.0 }
}

impl fmt::Display for SampleFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SampleFormat::U8 => "8-bit unsigned PCM",
            SampleFormat::S16 => "16-bit PCM",
            SampleFormat::S24 => "24-bit PCM",
            SampleFormat::S32 => "32-bit PCM",
            SampleFormat::F32 => "32-bit float",
            SampleFormat::F64 => "64-bit float",
            SampleFormat::ALaw => "G.711 A-law",
            SampleFormat::MuLaw => "G.711 mu-law",
        })
    }
}

/// Something wrong with a WAV file, or with reading one.
#[derive(Debug, thiserror::Error)]
pub enum WavError {
    #[error("file too short for a RIFF header: {len} bytes, need 12")]
    TooShort { len: usize },
    #[error("not a RIFF file: found {found} at offset 0 (RIFX and RF64 are not supported)")]
    NotRiff { found: FourCc },
    #[error("RIFF form {found} at offset 8 is not `WAVE`")]
    NotWave { found: FourCc },
    #[error("chunk {id} at offset {offset} declares {size} bytes but only {available} remain in the file")]
    ChunkPastEnd { id: FourCc, offset: usize, size: u32, available: usize },
    #[error("second {id} chunk at offset {offset}")]
    DuplicateChunk { id: FourCc, offset: usize },
    #[error("no `fmt ` chunk in the file")]
    NoFmt,
    #[error("no `data` chunk in the file")]
    NoData,
    #[error("`fmt ` chunk at offset {offset} is {size} bytes, format {code:#06x} needs at least {need}")]
    FmtTooShort { offset: usize, size: usize, code: u16, need: usize },
    #[error("WAVE_FORMAT_EXTENSIBLE at offset {offset} has cbSize {cb_size}, need at least 22")]
    ExtensibleTooShort { offset: usize, cb_size: u16 },
    #[error("unsupported WAVE format code {code:#06x} ({}) at offset {offset}", format_code_name(*.code))]
    UnsupportedFormat { code: u16, offset: usize },
    #[error("unsupported WAVE_FORMAT_EXTENSIBLE sub-format {guid} at offset {offset}")]
    UnsupportedSubFormat { guid: Guid, offset: usize },
    #[error("{bits} bits per sample is not supported for format code {code:#06x} ({}) (offset {offset})", format_code_name(*.code))]
    UnsupportedBits { code: u16, bits: u16, offset: usize },
    #[error("{valid} valid bits do not fit the {container}-bit sample container (offset {offset})")]
    ValidBitsTooLarge { valid: u16, container: u16, offset: usize },
    #[error("zero channels (offset {offset})")]
    ZeroChannels { offset: usize },
    #[error("{channels} channels (offset {offset}); at most {MAX_CHANNELS} are supported")]
    TooManyChannels { channels: u16, offset: usize },
    #[error("sample rate of 0 Hz (offset {offset})")]
    ZeroSampleRate { offset: usize },
    #[error(
        "block align {found} (offset {offset}) is inconsistent with {channels} channel(s) of {bytes_per_sample} byte(s): expected {expected}"
    )]
    BlockAlign { found: u16, expected: u32, channels: u16, bytes_per_sample: usize, offset: usize },
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: {source}", path.display())]
    File { path: PathBuf, source: Box<WavError> },
    #[error("{}: cannot convert to {to_hz} Hz: {source}", path.display())]
    Resample { path: PathBuf, to_hz: u32, source: ResampleError },
}

/// The meaning of a `fmt ` chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FmtRepr {
    pub sample_format: SampleFormat,
    pub channels: u16,
    pub sample_rate_hz: u32,
    /// Bytes per frame (all channels of one sampling instant).
    pub block_align: u16,
    /// Bits of each sample that carry signal: the container size unless an
    /// extensible header says fewer.
    pub valid_bits: u16,
    /// Written as WAVE_FORMAT_EXTENSIBLE.
    pub extensible: bool,
    /// Speaker positions of an extensible header (0 otherwise).
    pub channel_mask: u32,
    /// `nAvgBytesPerSec` as found (it is not used for decoding).
    pub byte_rate: u32,
}

impl FmtRepr {
    /// A plain (not extensible) format with consistent derived fields.
    pub fn new(sample_format: SampleFormat, channels: u16, sample_rate_hz: u32) -> Self {
        let block_align = (sample_format.bytes() as u32 * channels as u32).min(u16::MAX as u32) as u16;
        FmtRepr {
            sample_format,
            channels,
            sample_rate_hz,
            block_align,
            valid_bits: sample_format.bytes() as u16 * 8,
            extensible: false,
            channel_mask: 0,
            byte_rate: sample_rate_hz.saturating_mul(block_align as u32),
        }
    }

    /// Parse a `fmt ` body; `offset` is where the body starts in the file,
    /// for error messages.
    pub fn parse(body: &[u8], offset: usize) -> Result<Self, WavError> {
        let at = |f: field::Field| offset.saturating_add(f.start);
        let too_short = |code, need| WavError::FmtTooShort {
            offset: offset.saturating_sub(field::CHUNK_HEADER_LEN),
            size: body.len(),
            code,
            need,
        };
        let tag = get_u16(body, field::FORMAT_TAG).ok_or(too_short(0, field::FMT_PCM_LEN))?;
        if body.len() < field::FMT_PCM_LEN {
            return Err(too_short(tag, field::FMT_PCM_LEN));
        }
        // After the length check above these reads cannot fail; the
        // defaults are never used.
        let channels = get_u16(body, field::CHANNELS).unwrap_or(0);
        let sample_rate_hz = get_u32(body, field::SAMPLE_RATE).unwrap_or(0);
        let byte_rate = get_u32(body, field::BYTE_RATE).unwrap_or(0);
        let block_align = get_u16(body, field::BLOCK_ALIGN).unwrap_or(0);
        let bits = get_u16(body, field::BITS_PER_SAMPLE).unwrap_or(0);

        let (code, valid_bits, extensible, channel_mask) = match FormatCode::from(tag) {
            FormatCode::Extensible => {
                if body.len() < field::FMT_EX_LEN {
                    return Err(too_short(tag, field::FMT_EXTENSIBLE_LEN));
                }
                let cb_size = get_u16(body, field::CB_SIZE).unwrap_or(0);
                if cb_size < field::EXTENSIBLE_CB_SIZE {
                    return Err(WavError::ExtensibleTooShort { offset: at(field::CB_SIZE), cb_size });
                }
                if body.len() < field::FMT_EXTENSIBLE_LEN {
                    return Err(too_short(tag, field::FMT_EXTENSIBLE_LEN));
                }
                let guid =
                    body.get(field::SUB_FORMAT).and_then(|b| b.try_into().ok()).map(Guid).unwrap_or(Guid([0; 16]));
                let code =
                    guid.format_code().ok_or(WavError::UnsupportedSubFormat { guid, offset: at(field::SUB_FORMAT) })?;
                let valid = get_u16(body, field::VALID_BITS).unwrap_or(0);
                if valid > bits {
                    return Err(WavError::ValidBitsTooLarge { valid, container: bits, offset: at(field::VALID_BITS) });
                }
                // 0 is written by some tools for "same as the container".
                let valid = if valid == 0 { bits } else { valid };
                (code, valid, true, get_u32(body, field::CHANNEL_MASK).unwrap_or(0))
            }
            _ => (tag, bits, false, 0),
        };
        let code_offset = if extensible { at(field::SUB_FORMAT) } else { at(field::FORMAT_TAG) };
        if !matches!(code, 1 | 3 | 6 | 7) {
            return Err(WavError::UnsupportedFormat { code, offset: code_offset });
        }
        let sample_format = SampleFormat::from_code(code, bits).ok_or(WavError::UnsupportedBits {
            code,
            bits,
            offset: at(field::BITS_PER_SAMPLE),
        })?;
        if channels == 0 {
            return Err(WavError::ZeroChannels { offset: at(field::CHANNELS) });
        }
        if channels > MAX_CHANNELS {
            return Err(WavError::TooManyChannels { channels, offset: at(field::CHANNELS) });
        }
        if sample_rate_hz == 0 {
            return Err(WavError::ZeroSampleRate { offset: at(field::SAMPLE_RATE) });
        }
        let expected = sample_format.bytes() as u32 * channels as u32;
        if block_align as u32 != expected {
            return Err(WavError::BlockAlign {
                found: block_align,
                expected,
                channels,
                bytes_per_sample: sample_format.bytes(),
                offset: at(field::BLOCK_ALIGN),
            });
        }
        Ok(FmtRepr {
            sample_format,
            channels,
            sample_rate_hz,
            block_align,
            valid_bits,
            extensible,
            channel_mask,
            byte_rate,
        })
    }

    /// Length of the body [`Self::emit`] writes: 16 for PCM, 18 for the
    /// other plain formats (with cbSize 0), 40 for extensible.
    pub fn buffer_len(&self) -> usize {
        if self.extensible {
            field::FMT_EXTENSIBLE_LEN
        } else if self.sample_format.code() == 1 {
            field::FMT_PCM_LEN
        } else {
            field::FMT_EX_LEN
        }
    }

    /// Write the body into `buf`, which must be at least
    /// [`Self::buffer_len`] long (a shorter buffer is left untouched and
    /// `false` returned).
    pub fn emit(&self, buf: &mut [u8]) -> bool {
        let len = self.buffer_len();
        let Some(buf) = buf.get_mut(..len) else { return false };
        buf.fill(0);
        let mut put16 = |f: field::Field, v: u16| buf[f].copy_from_slice(&v.to_le_bytes());
        let tag = if self.extensible { u16::from(FormatCode::Extensible) } else { self.sample_format.code() };
        put16(field::FORMAT_TAG, tag);
        put16(field::CHANNELS, self.channels);
        put16(field::BLOCK_ALIGN, self.block_align);
        put16(field::BITS_PER_SAMPLE, self.sample_format.bytes() as u16 * 8);
        if len >= field::FMT_EX_LEN {
            put16(field::CB_SIZE, if self.extensible { field::EXTENSIBLE_CB_SIZE } else { 0 });
        }
        if self.extensible {
            put16(field::VALID_BITS, self.valid_bits);
        }
        buf[field::SAMPLE_RATE].copy_from_slice(&self.sample_rate_hz.to_le_bytes());
        buf[field::BYTE_RATE].copy_from_slice(&self.byte_rate.to_le_bytes());
        if self.extensible {
            buf[field::CHANNEL_MASK].copy_from_slice(&self.channel_mask.to_le_bytes());
            buf[field::SUB_FORMAT].copy_from_slice(&Guid::from_format_code(self.sample_format.code()).0);
        }
        true
    }
}

/// A `data` chunk that claims more bytes than the file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataOverrun {
    /// Size in the chunk header.
    pub declared: u32,
    /// Bytes actually present (what was read).
    pub available: usize,
}

/// Things wrong with a file that did not stop it from being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WavWarnings {
    /// The `data` chunk runs past the end of the file: read up to the end.
    pub data_truncated: Option<DataOverrun>,
    /// The RIFF size (header bytes 4..8) and the file length disagree:
    /// `(declared, actual)` where actual is the file length minus 8.
    pub riff_size_mismatch: Option<(u32, u64)>,
    /// `nAvgBytesPerSec` is not rate × block align.
    pub byte_rate_mismatch: bool,
    /// Bytes at the end of `data` that do not make a whole frame (dropped).
    pub partial_frame_bytes: usize,
    /// Offset of a chunk after `data` that runs past the end of the file
    /// (ignored with everything after it).
    pub broken_chunk_after_data: Option<usize>,
    /// Bytes at the end of the file too few for a chunk header (ignored).
    pub trailing_bytes: usize,
}

impl WavWarnings {
    /// Nothing to report.
    pub fn is_empty(&self) -> bool {
        *self == WavWarnings::default()
    }
}

/// A decoded WAV file.
#[derive(Debug, Clone, PartialEq)]
pub struct Wav {
    /// The `fmt ` chunk.
    pub fmt: FmtRepr,
    /// Offset of the first audio byte in the file.
    pub data_offset: usize,
    /// What was lenient about reading it.
    pub warnings: WavWarnings,
    /// Interleaved samples, full scale ±1.0, whole frames only.
    samples: Vec<f32>,
}

impl Wav {
    /// Sample rate, Hz.
    pub fn sample_rate_hz(&self) -> u32 {
        self.fmt.sample_rate_hz
    }
    /// Channels per frame.
    pub fn channels(&self) -> u16 {
        self.fmt.channels
    }
    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.samples.len() / self.fmt.channels.max(1) as usize
    }
    /// Length in seconds.
    pub fn duration_s(&self) -> f64 {
        self.frames() as f64 / self.fmt.sample_rate_hz.max(1) as f64
    }
    /// All samples, interleaved, full scale ±1.0.
    pub fn interleaved(&self) -> &[f32] {
        &self.samples
    }
    /// The channels averaged, full scale ±1.0.
    pub fn mono_f32(&self) -> Vec<f32> {
        let ch = self.fmt.channels.max(1) as usize;
        if ch == 1 {
            return self.samples.clone();
        }
        let k = 1.0 / ch as f32;
        self.samples.chunks_exact(ch).map(|f| f.iter().sum::<f32>() * k).collect()
    }
    /// The channels averaged, as 16-bit linear (rounded, saturated).
    pub fn mono_i16(&self) -> Vec<i16> {
        self.mono_f32().into_iter().map(f32_to_i16).collect()
    }
    /// The channels averaged and converted to 8 kHz 16-bit, delay
    /// compensated (see [`crate::dsp::resample::resample_f32`]).
    ///
    /// A rate whose ratio to 8000 does not reduce far enough for the
    /// resampler (7999 Hz, 22222 Hz…) is taken as the nearest multiple of
    /// 8 Hz when that is within [`RATE_SNAP_TOLERANCE`] of it (a speed and
    /// pitch error nobody hears in a prompt); further off, the error is
    /// returned.
    pub fn mono_8k(&self) -> Result<Vec<i16>, ResampleError> {
        let mono: Vec<f32> = self.mono_f32().into_iter().map(|v| v * 32768.0).collect();
        let rate = self.fmt.sample_rate_hz;
        if rate == G711_RATE_HZ {
            return Ok(mono.into_iter().map(|v| v.round() as i16).collect());
        }
        let out = match resample::resample_f32(&mono, rate, G711_RATE_HZ) {
            Err(e @ (ResampleError::TooManyPhases { .. } | ResampleError::FilterTooLong { .. })) => {
                let snapped = snap_rate(rate).ok_or(e)?;
                resample::resample_f32(&mono, snapped, G711_RATE_HZ)?
            }
            other => other?,
        };
        Ok(out.into_iter().map(|v| v.round() as i16).collect())
    }
}

/// Largest relative rate error [`Wav::mono_8k`] accepts to make a rate
/// convertible (0.1 %, under 2 cents of pitch).
pub const RATE_SNAP_TOLERANCE: f64 = 0.001;

/// The nearest multiple of 8 Hz (whose ratio to 8000 has at most 1000
/// phases), if within [`RATE_SNAP_TOLERANCE`].
fn snap_rate(rate: u32) -> Option<u32> {
    let snapped = (rate.saturating_add(4) / 8).saturating_mul(8);
    let err = (snapped as f64 - rate as f64).abs() / rate.max(1) as f64;
    (snapped > 0 && snapped != rate && err <= RATE_SNAP_TOLERANCE).then_some(snapped)
}

/// Full-scale `f32` to 16-bit: round, saturate (`as` saturates; NaN → 0).
#[inline]
fn f32_to_i16(v: f32) -> i16 {
    (v * 32768.0).round() as i16
}

/// Parse a whole WAV file held in memory.
pub fn parse(bytes: &[u8]) -> Result<Wav, WavError> {
    let len = bytes.len();
    if len < field::RIFF_HEADER_LEN {
        return Err(WavError::TooShort { len });
    }
    let riff = get_id(bytes, field::RIFF_ID).unwrap_or(FourCc([0; 4]));
    if riff != FourCc::RIFF {
        return Err(WavError::NotRiff { found: riff });
    }
    let form = get_id(bytes, field::RIFF_FORM).unwrap_or(FourCc([0; 4]));
    if form != FourCc::WAVE {
        return Err(WavError::NotWave { found: form });
    }
    let mut warnings = WavWarnings::default();
    let riff_size = get_u32(bytes, field::RIFF_SIZE).unwrap_or(0);
    let actual = len as u64 - 8;
    if riff_size as u64 != actual {
        warnings.riff_size_mismatch = Some((riff_size, actual));
    }

    let mut fmt: Option<FmtRepr> = None;
    let mut data: Option<(usize, usize)> = None;
    let mut off = field::RIFF_HEADER_LEN;
    while off < len {
        let Some(header) = bytes.get(off..off + field::CHUNK_HEADER_LEN) else {
            warnings.trailing_bytes = len - off;
            break;
        };
        let id = get_id(header, field::CHUNK_ID).unwrap_or(FourCc([0; 4]));
        let size = get_u32(header, field::CHUNK_SIZE).unwrap_or(0);
        let body_start = off + field::CHUNK_HEADER_LEN;
        let available = len - body_start;
        let fits = size as usize <= available;
        match id {
            FourCc::DATA => {
                if data.is_some() {
                    return Err(WavError::DuplicateChunk { id, offset: off });
                }
                if !fits {
                    warnings.data_truncated = Some(DataOverrun { declared: size, available });
                    data = Some((body_start, available));
                    break;
                }
                data = Some((body_start, size as usize));
            }
            FourCc::FMT => {
                if fmt.is_some() {
                    return Err(WavError::DuplicateChunk { id, offset: off });
                }
                if !fits {
                    return Err(WavError::ChunkPastEnd { id, offset: off, size, available });
                }
                let body = &bytes[body_start..body_start + size as usize];
                fmt = Some(FmtRepr::parse(body, body_start)?);
            }
            _ => {
                if !fits {
                    if data.is_some() && fmt.is_some() {
                        warnings.broken_chunk_after_data = Some(off);
                        break;
                    }
                    return Err(WavError::ChunkPastEnd { id, offset: off, size, available });
                }
            }
        }
        // Next chunk after the body and its pad byte (may step past the end
        // when the last pad byte is missing: the loop then stops).
        off = body_start.saturating_add(size as usize).saturating_add(size as usize & 1);
    }

    let fmt = fmt.ok_or(WavError::NoFmt)?;
    let (data_offset, data_len) = data.ok_or(WavError::NoData)?;
    if fmt.byte_rate as u64 != fmt.sample_rate_hz as u64 * fmt.block_align as u64 {
        warnings.byte_rate_mismatch = true;
    }
    let block = fmt.block_align as usize;
    let audio = &bytes[data_offset..data_offset + data_len];
    warnings.partial_frame_bytes = audio.len() % block;
    let step = fmt.sample_format.bytes();
    let mut samples = Vec::with_capacity(audio.len() / step);
    for frame in audio.chunks_exact(block) {
        for s in frame.chunks_exact(step) {
            samples.push(fmt.sample_format.decode(s));
        }
    }
    Ok(Wav { fmt, data_offset, warnings, samples })
}

/// Read and parse a WAV file; errors name the file.
pub fn read_file(path: impl AsRef<Path>) -> Result<Wav, WavError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| WavError::Io { path: path.to_owned(), source })?;
    parse(&bytes).map_err(|e| WavError::File { path: path.to_owned(), source: Box::new(e) })
}

/// Read any supported WAV file and return it as 8 kHz mono 16-bit: the
/// channels averaged, resampled with the group delay compensated. Warnings
/// (a truncated data chunk…) are logged, not returned; use [`read_file`]
/// and [`Wav::mono_8k`] to see them.
pub fn load_mono_8k(path: impl AsRef<Path>) -> Result<Vec<i16>, WavError> {
    let path = path.as_ref();
    let wav = read_file(path)?;
    if !wav.warnings.is_empty() {
        tracing::warn!(file = %path.display(), warnings = ?wav.warnings, "WAV file read leniently");
    }
    wav.mono_8k().map_err(|source| WavError::Resample { path: path.to_owned(), to_hz: G711_RATE_HZ, source })
}

/// What a [`WavWriter`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavWriteFormat {
    /// 16-bit PCM, mono, at the given rate.
    Pcm16 { rate_hz: u32 },
    /// G.711 in the given law, mono, 8 kHz, with a `fact` chunk.
    G711 { law: Law },
}

impl WavWriteFormat {
    fn fmt_repr(self) -> FmtRepr {
        match self {
            WavWriteFormat::Pcm16 { rate_hz } => FmtRepr::new(SampleFormat::S16, 1, rate_hz),
            WavWriteFormat::G711 { law: Law::ALaw } => FmtRepr::new(SampleFormat::ALaw, 1, G711_RATE_HZ),
            WavWriteFormat::G711 { law: Law::MuLaw } => FmtRepr::new(SampleFormat::MuLaw, 1, G711_RATE_HZ),
        }
    }

    /// Bytes before the audio.
    fn header_len(self) -> usize {
        let fmt_len = self.fmt_repr().buffer_len();
        let fact = match self {
            WavWriteFormat::Pcm16 { .. } => 0,
            WavWriteFormat::G711 { .. } => field::CHUNK_HEADER_LEN + field::FACT_LEN,
        };
        field::RIFF_HEADER_LEN + field::CHUNK_HEADER_LEN + fmt_len + fact + field::CHUNK_HEADER_LEN
    }
}

/// Highest rate a 16-bit file can declare (its byte rate must fit 32 bits).
pub const MAX_WRITE_RATE_HZ: u32 = u32::MAX / 2;

/// Something that stopped a WAV file from being written.
#[derive(Debug, thiserror::Error)]
pub enum WavWriteError {
    #[error("write error: {0}")]
    Io(#[from] io::Error),
    #[error("cannot write {}: {source}", path.display())]
    File { path: PathBuf, source: io::Error },
    #[error("sample rate {0} Hz cannot be written (1–{MAX_WRITE_RATE_HZ} Hz)")]
    BadRate(u32),
    #[error("a WAV file holds at most 4 GiB: {bytes} bytes of audio do not fit")]
    TooLong { bytes: u64 },
    #[error("G.711 codes cannot be written to a 16-bit PCM file")]
    CodesToPcm,
    #[error("the writer has already failed and its file is unusable")]
    Poisoned,
}

/// Streaming WAV writer over any `Write + Seek`.
///
/// The header is written at construction with sizes 0xFFFFFFFF
/// ("unknown", read as "up to the end of the file"); samples are appended;
/// [`Self::sync_header`] writes the sizes so far; [`Self::finish`] writes
/// the pad byte when the data is odd and the final sizes, and returns the
/// stream. Dropping an unfinished writer finishes it on a best-effort basis
/// (errors are lost).
#[derive(Debug)]
pub struct WavWriter<W: Write + Seek> {
    /// The stream; `None` once finished.
    out: Option<W>,
    format: WavWriteFormat,
    /// Stream position of the first header byte.
    start: u64,
    /// Audio bytes written so far.
    data_bytes: u64,
    /// A write failed half-way: the file is inconsistent.
    poisoned: bool,
}

/// Chunk size written before the real one is known.
const UNKNOWN_SIZE: u32 = u32::MAX;

/// Samples encoded per write call (the stack buffer is twice this).
const WRITE_CHUNK_SAMPLES: usize = 512;

impl<W: Write + Seek> WavWriter<W> {
    /// Start a file at the stream's current position.
    pub fn new(mut out: W, format: WavWriteFormat) -> Result<Self, WavWriteError> {
        if let WavWriteFormat::Pcm16 { rate_hz } = format {
            if rate_hz == 0 || rate_hz > MAX_WRITE_RATE_HZ {
                return Err(WavWriteError::BadRate(rate_hz));
            }
        }
        let start = out.stream_position()?;
        let mut header = [0u8; 64];
        // Sizes "unknown" until the first sync: a file left behind by a
        // crash reads to its end (with a warning) rather than as empty.
        let n = Self::build_header(format, UNKNOWN_SIZE, &mut header);
        out.write_all(&header[..n])?;
        Ok(WavWriter { out: Some(out), format, start, data_bytes: 0, poisoned: false })
    }

    /// Header for `data_bytes` of audio (without the pad byte); returns its
    /// length.
    fn build_header(format: WavWriteFormat, data_bytes: u32, buf: &mut [u8; 64]) -> usize {
        let fmt = format.fmt_repr();
        let hlen = format.header_len();
        let pad = data_bytes & 1;
        let riff_size = (hlen as u32 - 8).saturating_add(data_bytes).saturating_add(pad);
        buf[field::RIFF_ID].copy_from_slice(&FourCc::RIFF.0);
        buf[field::RIFF_SIZE].copy_from_slice(&riff_size.to_le_bytes());
        buf[field::RIFF_FORM].copy_from_slice(&FourCc::WAVE.0);
        let mut at = field::RIFF_HEADER_LEN;
        fn chunk(buf: &mut [u8; 64], at: &mut usize, id: FourCc, size: usize) {
            buf[*at..*at + 4].copy_from_slice(&id.0);
            buf[*at + 4..*at + 8].copy_from_slice(&(size as u32).to_le_bytes());
            *at += field::CHUNK_HEADER_LEN;
        }
        let fmt_len = fmt.buffer_len();
        chunk(buf, &mut at, FourCc::FMT, fmt_len);
        fmt.emit(&mut buf[at..at + fmt_len]);
        at += fmt_len;
        if let WavWriteFormat::G711 { .. } = format {
            chunk(buf, &mut at, FourCc::FACT, field::FACT_LEN);
            // One byte per sample, mono: frames = bytes.
            buf[at..at + field::FACT_LEN].copy_from_slice(&data_bytes.to_le_bytes());
            at += field::FACT_LEN;
        }
        chunk(buf, &mut at, FourCc::DATA, data_bytes as usize);
        at
    }

    fn stream(&mut self) -> Result<&mut W, WavWriteError> {
        if self.poisoned {
            return Err(WavWriteError::Poisoned);
        }
        self.out.as_mut().ok_or(WavWriteError::Poisoned)
    }

    /// Room check: the data, pad and header must stay within the 32-bit
    /// sizes.
    fn reserve(&self, more: usize) -> Result<(), WavWriteError> {
        let total = self.data_bytes + more as u64;
        if total + 1 + self.format.header_len() as u64 > u32::MAX as u64 {
            return Err(WavWriteError::TooLong { bytes: total });
        }
        Ok(())
    }

    fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), WavWriteError> {
        let out = self.stream()?;
        if let Err(e) = out.write_all(bytes) {
            self.poisoned = true;
            return Err(e.into());
        }
        self.data_bytes += bytes.len() as u64;
        Ok(())
    }

    /// Append 16-bit linear samples (encoded to the law for G.711 files).
    pub fn write_samples(&mut self, pcm: &[i16]) -> Result<(), WavWriteError> {
        let per = match self.format {
            WavWriteFormat::Pcm16 { .. } => 2,
            WavWriteFormat::G711 { .. } => 1,
        };
        self.reserve(pcm.len() * per)?;
        let mut buf = [0u8; 2 * WRITE_CHUNK_SAMPLES];
        for block in pcm.chunks(WRITE_CHUNK_SAMPLES) {
            let n = match self.format {
                WavWriteFormat::Pcm16 { .. } => {
                    for (o, s) in buf.chunks_exact_mut(2).zip(block) {
                        o.copy_from_slice(&s.to_le_bytes());
                    }
                    2 * block.len()
                }
                WavWriteFormat::G711 { law } => {
                    g711::encode_block(law, block, &mut buf);
                    block.len()
                }
            };
            self.write_bytes(&buf[..n])?;
        }
        Ok(())
    }

    /// Append G.711 codes as they came off the line (G.711 files only; the
    /// codes must be in the file's law).
    pub fn write_codes(&mut self, codes: &[u8]) -> Result<(), WavWriteError> {
        if let WavWriteFormat::Pcm16 { .. } = self.format {
            return Err(WavWriteError::CodesToPcm);
        }
        self.reserve(codes.len())?;
        self.write_bytes(codes)
    }

    /// Frames (samples) written so far.
    pub fn frames(&self) -> u64 {
        match self.format {
            WavWriteFormat::Pcm16 { .. } => self.data_bytes / 2,
            WavWriteFormat::G711 { .. } => self.data_bytes,
        }
    }

    /// What is being written.
    pub fn format(&self) -> WavWriteFormat {
        self.format
    }

    /// Rewrite the header with the sizes so far and return to the end, so
    /// that the file is complete up to here (except the pad byte of an odd
    /// length, which [`Self::finish`] adds).
    pub fn sync_header(&mut self) -> Result<(), WavWriteError> {
        let mut header = [0u8; 64];
        let n = Self::build_header(self.format, self.data_bytes as u32, &mut header);
        let start = self.start;
        let out = self.stream()?;
        let res = (|| {
            let end = out.stream_position()?;
            out.seek(SeekFrom::Start(start))?;
            out.write_all(&header[..n])?;
            out.seek(SeekFrom::Start(end))?;
            Ok::<(), io::Error>(())
        })();
        if let Err(e) = res {
            self.poisoned = true;
            return Err(e.into());
        }
        Ok(())
    }

    fn finish_in_place(&mut self) -> Result<(), WavWriteError> {
        if self.data_bytes & 1 == 1 {
            let res = self.stream()?.write_all(&[0]);
            self.check(res)?;
        }
        self.sync_header()?;
        let res = self.stream()?.flush();
        self.check(res)
    }

    /// Poison the writer when an I/O step failed.
    fn check(&mut self, res: io::Result<()>) -> Result<(), WavWriteError> {
        res.map_err(|e| {
            self.poisoned = true;
            WavWriteError::Io(e)
        })
    }

    /// Write the pad byte and the final sizes; return the stream.
    pub fn finish(mut self) -> Result<W, WavWriteError> {
        self.finish_in_place()?;
        self.out.take().ok_or(WavWriteError::Poisoned)
    }
}

impl<W: Write + Seek> Drop for WavWriter<W> {
    fn drop(&mut self) {
        if self.out.is_some() && !self.poisoned {
            let _ = self.finish_in_place();
        }
    }
}

/// A whole 16-bit PCM mono file in memory.
pub fn encode_pcm16_mono(rate_hz: u32, pcm: &[i16]) -> Result<Vec<u8>, WavWriteError> {
    let mut w = WavWriter::new(io::Cursor::new(Vec::new()), WavWriteFormat::Pcm16 { rate_hz })?;
    w.write_samples(pcm)?;
    Ok(w.finish()?.into_inner())
}

/// A whole G.711 file in memory, encoding 16-bit linear samples.
pub fn encode_g711(law: Law, pcm: &[i16]) -> Result<Vec<u8>, WavWriteError> {
    let mut w = WavWriter::new(io::Cursor::new(Vec::new()), WavWriteFormat::G711 { law })?;
    w.write_samples(pcm)?;
    Ok(w.finish()?.into_inner())
}

/// A whole G.711 file in memory from codes already in `law`.
pub fn encode_g711_codes(law: Law, codes: &[u8]) -> Result<Vec<u8>, WavWriteError> {
    let mut w = WavWriter::new(io::Cursor::new(Vec::new()), WavWriteFormat::G711 { law })?;
    w.write_codes(codes)?;
    Ok(w.finish()?.into_inner())
}

fn save(path: &Path, bytes: Result<Vec<u8>, WavWriteError>) -> Result<(), WavWriteError> {
    std::fs::write(path, bytes?).map_err(|source| WavWriteError::File { path: path.to_owned(), source })
}

/// Write a 16-bit PCM mono file.
pub fn save_pcm16_mono(path: impl AsRef<Path>, rate_hz: u32, pcm: &[i16]) -> Result<(), WavWriteError> {
    save(path.as_ref(), encode_pcm16_mono(rate_hz, pcm))
}

/// Write a G.711 file (8 kHz mono) from 16-bit linear samples.
pub fn save_g711(path: impl AsRef<Path>, law: Law, pcm: &[i16]) -> Result<(), WavWriteError> {
    save(path.as_ref(), encode_g711(law, pcm))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal file: RIFF header, a `fmt ` body, a `data` body.
    fn file(fmt: &[u8], data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(b"RIFF");
        let size = 4 + 8 + fmt.len() + (fmt.len() & 1) + 8 + data.len() + (data.len() & 1);
        v.extend_from_slice(&(size as u32).to_le_bytes());
        v.extend_from_slice(b"WAVE");
        v.extend_from_slice(b"fmt ");
        v.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
        v.extend_from_slice(fmt);
        if fmt.len() % 2 == 1 {
            v.push(0);
        }
        v.extend_from_slice(b"data");
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(data);
        if data.len() % 2 == 1 {
            v.push(0);
        }
        v
    }

    /// A WAVEFORMATEX body.
    fn fmt(tag: u16, ch: u16, rate: u32, align: u16, bits: u16) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&ch.to_le_bytes());
        v.extend_from_slice(&rate.to_le_bytes());
        v.extend_from_slice(&(rate * align as u32).to_le_bytes());
        v.extend_from_slice(&align.to_le_bytes());
        v.extend_from_slice(&bits.to_le_bytes());
        v
    }

    // A 16-bit mono 8 kHz file with two samples, 1 and −2, byte by byte.
    const PCM16_MONO: [u8; 48] = [
        b'R', b'I', b'F', b'F', 40, 0, 0, 0, b'W', b'A', b'V', b'E', // RIFF, 40 bytes, WAVE
        b'f', b'm', b't', b' ', 16, 0, 0, 0, // fmt , 16 bytes
        1, 0, 1, 0, // PCM, 1 channel
        0x40, 0x1F, 0, 0, // 8000 Hz
        0x80, 0x3E, 0, 0, // 16000 bytes/s
        2, 0, 16, 0, // block align 2, 16 bits
        b'd', b'a', b't', b'a', 4, 0, 0, 0, // data, 4 bytes
        1, 0, 0xFE, 0xFF, // 1, −2
    ];

    #[test]
    fn literal_pcm16_file() {
        let w = parse(&PCM16_MONO).unwrap();
        assert_eq!(w.fmt, FmtRepr::new(SampleFormat::S16, 1, 8000));
        assert_eq!(w.data_offset, 44);
        assert_eq!(w.mono_i16(), vec![1, -2]);
        assert!(w.warnings.is_empty(), "{:?}", w.warnings);
        // Our writer produces the same bytes.
        assert_eq!(encode_pcm16_mono(8000, &[1, -2]).unwrap(), PCM16_MONO);
    }

    #[test]
    fn literal_g711_files_as_written() {
        let a = encode_g711_codes(Law::ALaw, &[0xD5, 0x2A, 0xAA]).unwrap();
        #[rustfmt::skip]
        let want: [u8; 62] = [
            b'R', b'I', b'F', b'F', 54, 0, 0, 0, b'W', b'A', b'V', b'E',
            b'f', b'm', b't', b' ', 18, 0, 0, 0,
            6, 0, 1, 0, 0x40, 0x1F, 0, 0, 0x40, 0x1F, 0, 0, 1, 0, 8, 0, 0, 0, // A-law, cbSize 0
            b'f', b'a', b'c', b't', 4, 0, 0, 0, 3, 0, 0, 0, // 3 samples
            b'd', b'a', b't', b'a', 3, 0, 0, 0, 0xD5, 0x2A, 0xAA, 0, // odd: pad byte
        ];
        assert_eq!(a, want);
        let w = parse(&a).unwrap();
        assert_eq!(w.fmt.sample_format, SampleFormat::ALaw);
        assert_eq!(w.mono_i16(), vec![8, -32256, 32256]);
        assert!(w.warnings.is_empty(), "{:?}", w.warnings);

        let u = encode_g711(Law::MuLaw, &[0, 1000, -1000, 32124]).unwrap();
        assert_eq!(&u[20..22], &[7, 0]);
        let w = parse(&u).unwrap();
        assert_eq!(w.fmt.sample_format, SampleFormat::MuLaw);
        let back = w.mono_i16();
        assert_eq!(back[0], 0);
        assert_eq!(back[3], 32124);
        assert!((back[1] - 1000).abs() < 40 && (back[2] + 1000).abs() < 40, "{back:?}");
    }

    #[test]
    fn every_sample_format_decodes() {
        // (tag, bits, one sample's bytes, value in full scale)
        let cases: [(u16, u16, &[u8], f32); 10] = [
            (1, 8, &[0x80], 0.0),
            (1, 8, &[0x00], -1.0),
            (1, 8, &[0xC0], 0.5),
            (1, 16, &[0x00, 0xC0], -0.5),
            (1, 24, &[0x00, 0x00, 0x40], 0.5),
            (1, 32, &[0x00, 0x00, 0x00, 0xC0], -0.5),
            (3, 32, &0.25f32.to_le_bytes(), 0.25),
            (3, 64, &(-0.125f64).to_le_bytes(), -0.125),
            (6, 8, &[0xD5], 8.0 / 32768.0),
            (7, 8, &[0x80], 32124.0 / 32768.0),
        ];
        for (tag, bits, bytes, want) in cases {
            let f = file(&fmt(tag, 1, 8000, bits / 8, bits), bytes);
            let w = parse(&f).unwrap_or_else(|e| panic!("tag {tag} bits {bits}: {e}"));
            assert_eq!(w.interleaved(), &[want], "tag {tag} bits {bits}");
        }
    }

    fn extensible(code: u16, ch: u16, container: u16, valid: u16) -> Vec<u8> {
        let mut v = fmt(0xFFFE, ch, 48000, ch * container / 8, container);
        v.extend_from_slice(&22u16.to_le_bytes());
        v.extend_from_slice(&valid.to_le_bytes());
        v.extend_from_slice(&0x3u32.to_le_bytes());
        v.extend_from_slice(&Guid::from_format_code(code).0);
        v
    }

    #[test]
    fn extensible_wraps_plain_formats() {
        // 24 valid bits in a 32-bit container, stereo: left-justified.
        let data = [0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0xC0];
        let w = parse(&file(&extensible(1, 2, 32, 24), &data)).unwrap();
        assert!(w.fmt.extensible);
        assert_eq!((w.fmt.valid_bits, w.fmt.channel_mask), (24, 3));
        assert_eq!(w.interleaved(), &[0.5, -0.5]);
        assert_eq!(w.mono_f32(), vec![0.0]);
        // Float and μ-law inside.
        let w = parse(&file(&extensible(3, 1, 32, 32), &0.75f32.to_le_bytes())).unwrap();
        assert_eq!(w.interleaved(), &[0.75]);
        let w = parse(&file(&extensible(7, 1, 8, 0), &[0xFF])).unwrap();
        assert_eq!((w.fmt.sample_format, w.fmt.valid_bits), (SampleFormat::MuLaw, 8));
        // The GUID round-trips through emit.
        let mut buf = [0u8; 40];
        assert!(w.fmt.emit(&mut buf));
        assert_eq!(FmtRepr::parse(&buf, 20).unwrap(), FmtRepr { byte_rate: 48000, ..w.fmt });
        assert_eq!(Guid::from_format_code(1).to_string(), "{00000001-0000-0010-8000-00aa00389b71}");
    }

    #[test]
    fn extensible_errors() {
        let mut f = extensible(2, 1, 16, 16);
        let e = parse(&file(&f, &[0, 0])).unwrap_err();
        assert!(matches!(e, WavError::UnsupportedFormat { code: 2, offset: 44 }), "{e}");
        assert!(e.to_string().contains("Microsoft ADPCM"), "{e}");
        f[30] = 0x12; // not a derived GUID
        assert!(matches!(parse(&file(&f, &[0, 0])), Err(WavError::UnsupportedSubFormat { offset: 44, .. })));
        let f = extensible(1, 1, 16, 17);
        assert!(matches!(
            parse(&file(&f, &[0, 0])),
            Err(WavError::ValidBitsTooLarge { valid: 17, container: 16, offset: 38 })
        ));
        let mut f = extensible(1, 1, 16, 16);
        f[16] = 10; // cbSize 10
        assert!(matches!(parse(&file(&f, &[0, 0])), Err(WavError::ExtensibleTooShort { cb_size: 10, offset: 36 })));
        let f = extensible(1, 1, 16, 16);
        assert!(matches!(
            parse(&file(&f[..30], &[0, 0])),
            Err(WavError::FmtTooShort { offset: 12, size: 30, need: 40, .. })
        ));
    }

    #[test]
    fn channels_are_averaged() {
        // Three channels of 16-bit: 300, 600, −300 → 200.
        let mut data = Vec::new();
        for v in [300i16, 600, -300, 3, 3, 3] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        let w = parse(&file(&fmt(1, 3, 16000, 6, 16), &data)).unwrap();
        assert_eq!((w.channels(), w.frames()), (3, 2));
        assert_eq!(w.mono_i16(), vec![200, 3]);
        assert!((w.duration_s() - 2.0 / 16000.0).abs() < 1e-12);
    }

    #[test]
    fn unknown_chunks_and_odd_padding_are_skipped() {
        let mut v = Vec::new();
        v.extend_from_slice(b"RIFF\0\0\0\0WAVE");
        v.extend_from_slice(b"LIST\x03\0\0\0abc\0"); // odd: pad byte
        v.extend_from_slice(b"fmt \x10\0\0\0");
        v.extend_from_slice(&fmt(6, 1, 8000, 1, 8));
        v.extend_from_slice(b"fact\x04\0\0\0\x03\0\0\0");
        v.extend_from_slice(b"data\x03\0\0\0\xD5\xD5\xD5\0");
        v.extend_from_slice(b"cue \x00\0\0\0");
        let len = v.len() as u32 - 8;
        v[4..8].copy_from_slice(&len.to_le_bytes());
        let w = parse(&v).unwrap();
        assert_eq!(w.mono_i16(), vec![8, 8, 8]);
        assert_eq!(w.data_offset, 68);
        assert!(w.warnings.is_empty(), "{:?}", w.warnings);
        // data before fmt is fine too.
        let mut v = Vec::new();
        v.extend_from_slice(b"RIFF\x2A\0\0\0WAVE");
        v.extend_from_slice(b"data\x02\0\0\0\x05\x00");
        v.extend_from_slice(b"fmt \x10\0\0\0");
        v.extend_from_slice(&fmt(1, 1, 8000, 2, 16));
        assert_eq!(parse(&v).unwrap().mono_i16(), vec![5]);
    }

    #[test]
    fn data_running_past_the_end_is_read_with_a_warning() {
        let mut f = PCM16_MONO.to_vec();
        f[40..44].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
        f.extend_from_slice(&[7, 0, 9]); // one more sample and a half
        let w = parse(&f).unwrap();
        assert_eq!(w.mono_i16(), vec![1, -2, 7]);
        assert_eq!(w.warnings.data_truncated, Some(DataOverrun { declared: 0xFFFF_FFFF, available: 7 }));
        assert_eq!(w.warnings.partial_frame_bytes, 1);
        assert_eq!(w.warnings.riff_size_mismatch, Some((40, 43)));
    }

    #[test]
    fn lenient_about_the_rest_after_data() {
        let mut f = PCM16_MONO.to_vec();
        f.extend_from_slice(b"LIST\xFF\0\0\0ab"); // runs past the end
        let w = parse(&f).unwrap();
        assert_eq!(w.warnings.broken_chunk_after_data, Some(48));
        let mut f = PCM16_MONO.to_vec();
        f.extend_from_slice(b"\0\0\0");
        assert_eq!(parse(&f).unwrap().warnings.trailing_bytes, 3);
        let mut f = PCM16_MONO.to_vec();
        f[28] = 0; // byte rate
        assert!(parse(&f).unwrap().warnings.byte_rate_mismatch);
    }

    #[test]
    fn structural_errors_name_what_and_where() {
        assert!(matches!(parse(b"RIFF"), Err(WavError::TooShort { len: 4 })));
        let e = parse(b"RIFX\0\0\0\0WAVEfmt ").unwrap_err();
        assert!(matches!(e, WavError::NotRiff { found: FourCc(f) } if &f == b"RIFX"));
        assert_eq!(e.to_string(), "not a RIFF file: found `RIFX` at offset 0 (RIFX and RF64 are not supported)");
        let e = parse(b"RIFF\0\0\0\0AVI \0\0\0\0").unwrap_err();
        assert_eq!(e.to_string(), "RIFF form `AVI ` at offset 8 is not `WAVE`");
        assert!(matches!(parse(b"RIFF\x04\0\0\0WAVE"), Err(WavError::NoFmt)));
        let mut v = b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0".to_vec();
        v.extend_from_slice(&fmt(1, 1, 8000, 2, 16));
        assert!(matches!(parse(&v), Err(WavError::NoData)));
        let e = parse(b"RIFF\0\0\0\0WAVEjunk\x10\0\0\0\x01\x02").unwrap_err();
        assert!(matches!(e, WavError::ChunkPastEnd { offset: 12, size: 16, available: 2, .. }), "{e}");
        assert_eq!(e.to_string(), "chunk `junk` at offset 12 declares 16 bytes but only 2 remain in the file");
        let e = parse(b"RIFF\0\0\0\0WAVE\x01\xFFab\x09\0\0\0").unwrap_err();
        assert!(e.to_string().contains("`\\x01\\xffab`"), "{e}");
        // Duplicates.
        let mut f = PCM16_MONO.to_vec();
        f.extend_from_slice(b"data\0\0\0\0");
        assert!(matches!(parse(&f), Err(WavError::DuplicateChunk { offset: 48, .. })));
        // fmt too short, or past the end.
        let e = parse(&file(&[1, 0, 1, 0], &[])).unwrap_err();
        assert!(matches!(e, WavError::FmtTooShort { offset: 12, size: 4, code: 1, need: 16 }), "{e}");
        let e = parse(&PCM16_MONO[..30]).unwrap_err();
        assert!(matches!(e, WavError::ChunkPastEnd { offset: 12, size: 16, available: 10, .. }), "{e}");
    }

    #[test]
    fn format_errors_name_what_and_where() {
        let e = parse(&file(&fmt(0x55, 1, 8000, 1, 0), &[])).unwrap_err();
        assert!(matches!(e, WavError::UnsupportedFormat { code: 0x55, offset: 20 }));
        assert_eq!(e.to_string(), "unsupported WAVE format code 0x0055 (MPEG layer 3) at offset 20");
        let e = parse(&file(&fmt(1, 0, 8000, 0, 16), &[])).unwrap_err();
        assert!(matches!(e, WavError::ZeroChannels { offset: 22 }));
        let e = parse(&file(&fmt(1, 9, 8000, 18, 16), &[])).unwrap_err();
        assert!(matches!(e, WavError::TooManyChannels { channels: 9, offset: 22 }));
        let e = parse(&file(&fmt(1, 1, 0, 2, 16), &[])).unwrap_err();
        assert!(matches!(e, WavError::ZeroSampleRate { offset: 24 }));
        let e = parse(&file(&fmt(1, 2, 8000, 2, 16), &[])).unwrap_err();
        assert!(matches!(e, WavError::BlockAlign { found: 2, expected: 4, offset: 32, .. }), "{e}");
        assert!(e.to_string().contains("expected 4"), "{e}");
        let e = parse(&file(&fmt(1, 1, 8000, 2, 12), &[])).unwrap_err();
        assert!(matches!(e, WavError::UnsupportedBits { code: 1, bits: 12, offset: 34 }));
        let e = parse(&file(&fmt(6, 1, 8000, 2, 16), &[])).unwrap_err();
        assert!(matches!(e, WavError::UnsupportedBits { code: 6, bits: 16, .. }));
        let e = parse(&file(&fmt(3, 1, 8000, 2, 16), &[])).unwrap_err();
        assert!(matches!(e, WavError::UnsupportedBits { code: 3, bits: 16, .. }));
    }

    #[test]
    fn empty_data_is_an_empty_file() {
        let w = parse(&encode_pcm16_mono(16000, &[]).unwrap()).unwrap();
        assert_eq!((w.frames(), w.sample_rate_hz()), (0, 16000));
        assert_eq!(w.mono_8k().unwrap(), Vec::<i16>::new());
    }

    #[test]
    fn float_garbage_is_tamed() {
        let mut data = Vec::new();
        for v in [f32::NAN, f32::INFINITY, 1e30, -2.0] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        let w = parse(&file(&fmt(3, 1, 8000, 4, 32), &data)).unwrap();
        assert_eq!(w.interleaved(), &[0.0, 0.0, 1000.0, -2.0]);
        assert_eq!(w.mono_i16(), vec![0, 0, 32767, -32768]);
    }

    #[test]
    fn streaming_writer_fixes_up_sizes() {
        let mut w = WavWriter::new(io::Cursor::new(Vec::new()), WavWriteFormat::G711 { law: Law::MuLaw }).unwrap();
        for k in 0..10 {
            w.write_samples(&[k * 100; 333]).unwrap();
            if k == 4 {
                w.sync_header().unwrap();
                let snapshot = w.out.as_ref().unwrap().get_ref().clone();
                let mid = parse(&snapshot).unwrap();
                assert_eq!(mid.frames(), 1665);
                assert!(mid.warnings.riff_size_mismatch.is_some(), "odd length: the pad byte is not there yet");
            }
        }
        assert_eq!(w.frames(), 3330);
        let bytes = w.finish().unwrap().into_inner();
        assert_eq!(bytes.len(), 58 + 3330);
        let r = parse(&bytes).unwrap();
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(r.frames(), 3330);
        assert_eq!(u32::from_le_bytes(bytes[46..50].try_into().unwrap()), 3330, "fact");
        assert_eq!(r.mono_i16()[3329], g711::ulaw_to_linear(g711::linear_to_ulaw(900)));
    }

    #[test]
    fn writer_after_a_prefix_and_on_drop() {
        let mut cur = io::Cursor::new(Vec::new());
        cur.write_all(b"prefix").unwrap();
        {
            let mut w = WavWriter::new(&mut cur, WavWriteFormat::Pcm16 { rate_hz: 22050 }).unwrap();
            w.write_samples(&[5, 6, 7]).unwrap();
            // Dropped without finish: finished on drop.
        }
        let bytes = cur.into_inner();
        assert_eq!(&bytes[..6], b"prefix");
        let r = parse(&bytes[6..]).unwrap();
        assert_eq!(r.mono_i16(), vec![5, 6, 7]);
        assert_eq!(r.sample_rate_hz(), 22050);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn writer_errors() {
        assert!(matches!(
            WavWriter::new(io::Cursor::new(Vec::new()), WavWriteFormat::Pcm16 { rate_hz: 0 }),
            Err(WavWriteError::BadRate(0))
        ));
        let mut w = WavWriter::new(io::Cursor::new(Vec::new()), WavWriteFormat::Pcm16 { rate_hz: 8000 }).unwrap();
        assert!(matches!(w.write_codes(&[1]), Err(WavWriteError::CodesToPcm)));
        w.data_bytes = u32::MAX as u64 - 100;
        assert!(matches!(w.write_samples(&[0; 100]), Err(WavWriteError::TooLong { .. })));
        w.data_bytes = 0;
        // A stream that fails poisons the writer.
        #[derive(Debug)]
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        impl Seek for Broken {
            fn seek(&mut self, _: SeekFrom) -> io::Result<u64> {
                Ok(0)
            }
        }
        assert!(matches!(WavWriter::new(Broken, WavWriteFormat::Pcm16 { rate_hz: 8000 }), Err(WavWriteError::Io(_))));
        let e = save_pcm16_mono("/nonexistent-dir/x.wav", 8000, &[0]).unwrap_err();
        assert!(e.to_string().starts_with("cannot write /nonexistent-dir/x.wav"), "{e}");
    }

    #[test]
    fn file_errors_name_the_file() {
        let e = read_file("/nonexistent-dir/x.wav").unwrap_err();
        assert!(e.to_string().starts_with("cannot read /nonexistent-dir/x.wav"), "{e}");
        let dir = std::env::temp_dir().join(format!("ctibox-wav-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bad.wav");
        std::fs::write(&p, b"RIFF\0\0\0\0WAVE").unwrap();
        let e = load_mono_8k(&p).unwrap_err();
        assert_eq!(e.to_string(), format!("{}: no `fmt ` chunk in the file", p.display()));
        let p2 = dir.join("odd.wav");
        save_pcm16_mono(&p2, 1003, &[0; 10]).unwrap();
        let e = load_mono_8k(&p2).unwrap_err();
        assert!(matches!(e, WavError::Resample { .. }), "{e}");
        assert!(e.to_string().contains("1003 Hz"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rates_that_do_not_reduce_are_snapped_when_close() {
        assert_eq!(snap_rate(7999), Some(8000));
        assert_eq!(snap_rate(22222), Some(22224));
        assert_eq!(snap_rate(44101), Some(44104));
        assert_eq!(snap_rate(7001), Some(7000));
        assert_eq!(snap_rate(1003), None, "1000 Hz is 0.3% off");
        assert_eq!(snap_rate(8000), None);
        let w = parse(&encode_pcm16_mono(7999, &[1000; 7999]).unwrap()).unwrap();
        let y = w.mono_8k().unwrap();
        assert_eq!(y.len(), 7999);
        assert!(y[100..7900].iter().all(|&v| (v - 1000).abs() <= 1));
    }

    #[test]
    fn unfinished_writer_leaves_a_readable_file() {
        let mut w = WavWriter::new(io::Cursor::new(Vec::new()), WavWriteFormat::Pcm16 { rate_hz: 8000 }).unwrap();
        w.write_samples(&[1, 2, 3]).unwrap();
        let bytes = w.out.as_ref().unwrap().get_ref().clone();
        let r = parse(&bytes).unwrap();
        assert_eq!(r.mono_i16(), vec![1, 2, 3]);
        assert_eq!(r.warnings.data_truncated, Some(DataOverrun { declared: u32::MAX, available: 6 }));
    }

    #[test]
    fn load_mono_8k_resamples() {
        let dir = std::env::temp_dir().join(format!("ctibox-wav-unit-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.wav");
        let x: Vec<i16> = (0..16000).map(|i| ((i as f64 * 0.1).sin() * 10000.0) as i16).collect();
        save_pcm16_mono(&p, 16000, &x).unwrap();
        let y = load_mono_8k(&p).unwrap();
        assert_eq!(y.len(), 8000);
        // 0.1 rad/sample at 16 kHz: sample 2n of the input is sample n out.
        for n in 1000..1010 {
            assert!((y[n] as i32 - x[2 * n] as i32).abs() < 20, "{n}: {} {}", y[n], x[2 * n]);
        }
        let p = dir.join("b.wav");
        save_g711(&p, Law::ALaw, &[1000; 8]).unwrap();
        assert_eq!(load_mono_8k(&p).unwrap(), vec![g711::alaw_to_linear(g711::linear_to_alaw(1000)); 8]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
