//! Fuzz the WAV reader: any bytes must give a `Wav` or a `WavError`, never
//! a panic; what parses must decode, and survive a write and re-read.
//!
//! `cargo +nightly fuzz run wav_parse` (from the repository root).

#![no_main]

use ctibox_driver::media::wav;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(w) = wav::parse(data) else { return };
    assert!((1..=wav::MAX_CHANNELS).contains(&w.channels()));
    assert_eq!(w.interleaved().len(), w.frames() * w.channels() as usize);
    let mono = w.mono_i16();
    assert_eq!(mono.len(), w.frames());
    // Rates with small filter banks only, so each input stays quick.
    if matches!(w.sample_rate_hz(), 8000 | 16000 | 32000) {
        let y = w.mono_8k().expect("a common rate converts");
        assert_eq!(y.len(), (mono.len() as u64 * 8000).div_ceil(w.sample_rate_hz() as u64) as usize);
    }
    // What we read, we can write, and read back the same.
    if let Ok(bytes) = wav::encode_pcm16_mono(w.sample_rate_hz(), &mono) {
        let back = wav::parse(&bytes).expect("our own file parses");
        assert!(back.warnings.is_empty());
        assert_eq!(back.mono_i16(), mono);
    }
});
