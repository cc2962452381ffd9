//! Pure signal processing: no I/O, no clock, no allocation after setup.
//!
//! One file per algorithm, spandsp style: an immutable descriptor shared by
//! all channels and a small per-channel state with a streaming `rx`/`tx`.
//! Levels are in dBm0 (see [`level`]); audio is 16-bit linear at 8 kHz.

pub mod cid;
pub mod cid_dtmf;
pub mod dtmf;
pub mod faxtone;
pub mod fsk;
pub mod g711;
pub mod goertzel;
pub mod level;
pub mod noise;
pub mod resample;
pub mod simd;
pub mod tonegen;
pub mod tones;
pub mod vad;
