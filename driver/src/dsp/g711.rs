//! G.711 A-law and μ-law companding (ITU-T G.711, 11/88).
//!
//! Linear audio is 16-bit two's complement. A-law codes the top 13 bits
//! (the input is divided by 8), μ-law the top 14 bits (divided by 4), as in
//! the G.711 tables and the ITU's G.191 reference code.
//!
//! - A-law: 8 segments (the first two share a step size of 2 in 13-bit
//!   units), sign bit 1 for positive, even bits inverted on the line
//!   (XOR 0x55). Decoded peak ±32256.
//! - μ-law: bias 33 (14-bit) added, 8 segments of 16 steps, all bits
//!   inverted on the line. Decoded peak ±32124. The zero-code trap
//!   (0x00 → 0x02) is off: every code is sent as computed.
//!
//! The fast path is table driven: a 256-entry decode table and an encode
//! table indexed by the 13-bit (A) or 14-bit (μ) value, both computed at
//! compile time by the formulas in this file, and checked in the tests
//! against an independent reading of the standard for every code and every
//! 16-bit input.

use crate::hal::Law;

/// Largest magnitude the A-law decoder produces.
pub const ALAW_MAX: i16 = 32256;
/// Largest magnitude the μ-law decoder produces.
pub const ULAW_MAX: i16 = 32124;

const ALAW_SEG_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];
const ULAW_SEG_END: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 8159;

const fn segment(v: i32, ends: &[i32; 8]) -> usize {
    let mut i = 0;
    while i < 8 {
        if v <= ends[i] {
            return i;
        }
        i += 1;
    }
    8
}

/// A-law code for a 16-bit linear sample, by formula.
pub const fn linear_to_alaw_formula(pcm: i16) -> u8 {
    let mut v = (pcm as i32) >> 3;
    let mask: u8;
    if v >= 0 {
        mask = 0xD5;
    } else {
        mask = 0x55;
        v = -v - 1;
    }
    let seg = segment(v, &ALAW_SEG_END);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let mant = if seg < 2 { (v >> 1) & 0x0F } else { (v >> seg) & 0x0F };
    (((seg as i32) << 4) as u8 | mant as u8) ^ mask
}

/// 16-bit linear value of an A-law code, by formula.
pub const fn alaw_to_linear_formula(code: u8) -> i16 {
    let a = code ^ 0x55;
    let mut t = ((a & 0x0F) as i32) << 4;
    let seg = ((a & 0x70) >> 4) as i32;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    if a & 0x80 != 0 { t as i16 } else { -t as i16 }
}

/// μ-law code for a 16-bit linear sample, by formula.
pub const fn linear_to_ulaw_formula(pcm: i16) -> u8 {
    let mut v = (pcm as i32) >> 2;
    let mask: u8;
    if v < 0 {
        v = -v;
        mask = 0x7F;
    } else {
        mask = 0xFF;
    }
    if v > ULAW_CLIP {
        v = ULAW_CLIP;
    }
    v += ULAW_BIAS >> 2;
    let seg = segment(v, &ULAW_SEG_END);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let u = ((seg as i32) << 4) | ((v >> (seg + 1)) & 0x0F);
    (u as u8) ^ mask
}

/// 16-bit linear value of a μ-law code, by formula.
pub const fn ulaw_to_linear_formula(code: u8) -> i16 {
    let u = !code;
    let mut t = (((u & 0x0F) as i32) << 3) + ULAW_BIAS;
    t <<= ((u & 0x70) >> 4) as i32;
    if u & 0x80 != 0 { (ULAW_BIAS - t) as i16 } else { (t - ULAW_BIAS) as i16 }
}

const fn build_decode(law: Law) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = match law {
            Law::ALaw => alaw_to_linear_formula(i as u8),
            Law::MuLaw => ulaw_to_linear_formula(i as u8),
        };
        i += 1;
    }
    t
}

/// A-law encode table indexed by `(pcm >> 3) + 4096`.
const fn build_alaw_encode() -> [u8; 8192] {
    let mut t = [0u8; 8192];
    let mut i = 0;
    while i < 8192 {
        t[i] = linear_to_alaw_formula(((i as i32 - 4096) << 3) as i16);
        i += 1;
    }
    t
}

/// μ-law encode table indexed by `(pcm >> 2) + 8192`.
const fn build_ulaw_encode() -> [u8; 16384] {
    let mut t = [0u8; 16384];
    let mut i = 0;
    while i < 16384 {
        t[i] = linear_to_ulaw_formula(((i as i32 - 8192) << 2) as i16);
        i += 1;
    }
    t
}

static ALAW_DECODE: [i16; 256] = build_decode(Law::ALaw);
static ULAW_DECODE: [i16; 256] = build_decode(Law::MuLaw);
static ALAW_ENCODE: [u8; 8192] = build_alaw_encode();
static ULAW_ENCODE: [u8; 16384] = build_ulaw_encode();

/// Decode one A-law code.
#[inline]
pub fn alaw_to_linear(code: u8) -> i16 {
    ALAW_DECODE[code as usize]
}
/// Decode one μ-law code.
#[inline]
pub fn ulaw_to_linear(code: u8) -> i16 {
    ULAW_DECODE[code as usize]
}
/// Encode one sample to A-law.
#[inline]
pub fn linear_to_alaw(pcm: i16) -> u8 {
    ALAW_ENCODE[((pcm >> 3) as i32 + 4096) as usize]
}
/// Encode one sample to μ-law.
#[inline]
pub fn linear_to_ulaw(pcm: i16) -> u8 {
    ULAW_ENCODE[((pcm >> 2) as i32 + 8192) as usize]
}

/// The 256-entry decode table of a law.
#[inline]
pub fn decode_table(law: Law) -> &'static [i16; 256] {
    match law {
        Law::ALaw => &ALAW_DECODE,
        Law::MuLaw => &ULAW_DECODE,
    }
}

/// Decode one code in `law`.
#[inline]
pub fn decode(law: Law, code: u8) -> i16 {
    decode_table(law)[code as usize]
}

/// Encode one sample in `law`.
#[inline]
pub fn encode(law: Law, pcm: i16) -> u8 {
    match law {
        Law::ALaw => linear_to_alaw(pcm),
        Law::MuLaw => linear_to_ulaw(pcm),
    }
}

/// Decode a block. `out` must be at least as long as `codes`; extra output
/// samples are left alone.
pub fn decode_block(law: Law, codes: &[u8], out: &mut [i16]) {
    let table = decode_table(law);
    for (o, &c) in out.iter_mut().zip(codes) {
        *o = table[c as usize];
    }
}

/// Encode a block. `out` must be at least as long as `pcm`.
pub fn encode_block(law: Law, pcm: &[i16], out: &mut [u8]) {
    match law {
        Law::ALaw => {
            for (o, &s) in out.iter_mut().zip(pcm) {
                *o = ALAW_ENCODE[((s >> 3) as i32 + 4096) as usize];
            }
        }
        Law::MuLaw => {
            for (o, &s) in out.iter_mut().zip(pcm) {
                *o = ULAW_ENCODE[((s >> 2) as i32 + 8192) as usize];
            }
        }
    }
}

/// The code of law `to` for each code of law `from`: the same as decoding
/// and encoding each one (identity when the laws agree).
pub fn transcode_table(from: Law, to: Law) -> [u8; 256] {
    let table = decode_table(from);
    let mut t = [0u8; 256];
    for (c, o) in t.iter_mut().enumerate() {
        *o = if from == to { c as u8 } else { encode(to, table[c]) };
    }
    t
}

/// Translate A-law codes to μ-law codes through linear (G.711 Table 3/4
/// style, via the decoded value).
pub fn transcode(from: Law, to: Law, codes: &mut [u8]) {
    if from == to {
        return;
    }
    let table = decode_table(from);
    for c in codes {
        *c = encode(to, table[*c as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcode_table_is_decode_then_encode() {
        for (from, to) in [(Law::ALaw, Law::MuLaw), (Law::MuLaw, Law::ALaw), (Law::ALaw, Law::ALaw)] {
            let t = transcode_table(from, to);
            for c in 0..=255u8 {
                let want = if from == to { c } else { encode(to, decode(from, c)) };
                assert_eq!(t[c as usize], want, "{from:?}->{to:?} code {c}");
            }
        }
    }

    // An independent reading of G.711: the decision and reconstruction
    // levels of each segment, computed from segment start and step size, not
    // from the bit tricks above.

    /// A-law in 13-bit magnitude units: segment 0 covers 0..32 with step 2,
    /// segment s ≥ 1 covers 32·2^(s-1) .. 32·2^s with step 2^s.
    fn alaw_ref_decode(code: u8) -> i32 {
        let a = code ^ 0x55;
        let positive = a & 0x80 != 0;
        let seg = ((a >> 4) & 7) as i32;
        let q = (a & 0x0F) as i32;
        let (start, step) = if seg == 0 { (0, 2) } else { (16 << seg, 1 << seg) };
        // Reconstruction is the middle of the decision interval.
        let mag13 = start + q * step + step / 2;
        let mag16 = mag13 * 8;
        if positive { mag16 } else { -mag16 }
    }

    fn alaw_ref_encode(pcm: i16) -> u8 {
        // Magnitude in 13-bit units; negatives are coded as -x-1 (one's
        // complement), which is what makes the code symmetric.
        let x = pcm as i32 >> 3;
        let (positive, mag) = if x >= 0 { (true, x) } else { (false, -x - 1) };
        let mut code = 0x7F; // saturate at the top of segment 7
        for seg in 0..8 {
            let (start, step) = if seg == 0 { (0, 2) } else { (16 << seg, 1 << seg) };
            if mag < start + 16 * step {
                code = (seg << 4) | ((mag - start) / step);
                break;
            }
        }
        (code as u8 | if positive { 0x80 } else { 0 }) ^ 0x55
    }

    /// μ-law in 14-bit units with the bias of 33: segment s covers biased
    /// magnitudes 32·2^s .. 64·2^s in 16 steps of 2^(s+1).
    fn ulaw_ref_decode(code: u8) -> i32 {
        let u = !code;
        let positive = u & 0x80 == 0;
        let seg = ((u >> 4) & 7) as i32;
        let q = (u & 0x0F) as i32;
        let step = 2 << seg;
        let biased_start = 32 << seg;
        // Middle of the interval, minus the bias, back to 16-bit units.
        let mag14 = biased_start + q * step + step / 2 - 33;
        let mag16 = mag14 * 4;
        if positive { mag16 } else { -mag16 }
    }

    fn ulaw_ref_encode(pcm: i16) -> u8 {
        let x = pcm as i32 >> 2;
        let (positive, mag) = if x >= 0 { (true, x) } else { (false, -x) };
        let biased = mag.min(8159) + 33;
        let mut code = 0x7F;
        for seg in 0..8 {
            let step = 2 << seg;
            let start = 32 << seg;
            if biased < start + 16 * step {
                code = (seg << 4) | ((biased - start) / step);
                break;
            }
        }
        let code = code as u8 | if positive { 0 } else { 0x80 };
        !code
    }

    #[test]
    fn alaw_all_codes_decode_per_standard() {
        for c in 0..=255u8 {
            assert_eq!(alaw_to_linear(c) as i32, alaw_ref_decode(c), "code {c:#04x}");
        }
        assert_eq!(alaw_to_linear(0xAA), ALAW_MAX);
        assert_eq!(alaw_to_linear(0x2A), -ALAW_MAX);
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
    }

    #[test]
    fn ulaw_all_codes_decode_per_standard() {
        for c in 0..=255u8 {
            assert_eq!(ulaw_to_linear(c) as i32, ulaw_ref_decode(c), "code {c:#04x}");
        }
        assert_eq!(ulaw_to_linear(0x80), ULAW_MAX);
        assert_eq!(ulaw_to_linear(0x00), -ULAW_MAX);
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x7F), 0);
    }

    #[test]
    fn every_linear_value_encodes_per_standard() {
        for v in i16::MIN..=i16::MAX {
            assert_eq!(linear_to_alaw(v), alaw_ref_encode(v), "A-law of {v}");
            assert_eq!(linear_to_ulaw(v), ulaw_ref_encode(v), "μ-law of {v}");
            assert_eq!(linear_to_alaw(v), linear_to_alaw_formula(v));
            assert_eq!(linear_to_ulaw(v), linear_to_ulaw_formula(v));
        }
    }

    #[test]
    fn codes_round_trip() {
        for c in 0..=255u8 {
            assert_eq!(linear_to_alaw(alaw_to_linear(c)), c, "A-law {c:#04x}");
            // μ-law has two zeros; -0 (0x7F) comes back as +0 (0xFF).
            let want = if c == 0x7F { 0xFF } else { c };
            assert_eq!(linear_to_ulaw(ulaw_to_linear(c)), want, "μ-law {c:#04x}");
        }
    }

    #[test]
    fn quantisation_error_is_within_half_a_step() {
        // Below clipping, the decoded value is the middle of the decision
        // interval that holds the input: off by at most half a step plus the
        // bits the law drops (3 for A-law, 2 for μ-law).
        for v in i16::MIN..=i16::MAX {
            let code = linear_to_alaw(v);
            let seg = ((code ^ 0x55) >> 4) & 7;
            let step16 = if seg == 0 { 16 } else { 8 << seg };
            let err = (alaw_to_linear(code) as i32 - v as i32).abs();
            if (v as i32).abs() < ALAW_MAX as i32 {
                assert!(err <= step16 / 2 + 8, "A-law {v}: error {err}, step {step16}");
            }
            let code = linear_to_ulaw(v);
            let seg = ((!code) >> 4) & 7;
            let step16 = 8 << seg;
            let err = (ulaw_to_linear(code) as i32 - v as i32).abs();
            if (v as i32).abs() < ULAW_MAX as i32 {
                assert!(err <= step16 / 2 + 4, "μ-law {v}: error {err}, step {step16}");
            }
        }
    }

    fn rms(samples: &[i16]) -> f64 {
        (samples.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
    }

    #[test]
    fn digital_milliwatt_sequences() {
        // G.711 Tables 5 and 6: the 1 kHz, 0 dBm0 digital milliwatt.
        let a_dmw = [0x34u8, 0x21, 0x21, 0x34, 0xB4, 0xA1, 0xA1, 0xB4];
        let u_dmw = [0x1Eu8, 0x0B, 0x0B, 0x1E, 0x9E, 0x8B, 0x8B, 0x9E];
        let mut a = [0i16; 8];
        let mut u = [0i16; 8];
        decode_block(Law::ALaw, &a_dmw, &mut a);
        decode_block(Law::MuLaw, &u_dmw, &mut u);
        assert!((rms(&a) - 16139.0).abs() < 2.0, "A-law DMW rms {}", rms(&a));
        assert!((rms(&u) - 16017.0).abs() < 2.0, "μ-law DMW rms {}", rms(&u));
        // Encoding a 1 kHz sine at the DMW phases (π/8 + kπ/4) gives the DMW.
        let mut enc = [0u8; 8];
        for (k, e) in enc.iter_mut().enumerate() {
            let ph = std::f64::consts::PI / 8.0 + k as f64 * std::f64::consts::PI / 4.0;
            *e = linear_to_alaw((22827.0 * ph.sin()).round() as i16);
        }
        // The DMW starts at the negative half: codes 0x34/0x21 are negative.
        let mut neg = enc;
        for e in neg.iter_mut() {
            *e ^= 0x80;
        }
        assert_eq!(neg, a_dmw);
    }

    #[test]
    fn block_helpers_and_transcode() {
        let pcm: Vec<i16> = (0..160).map(|i| ((i as f64 * 0.3).sin() * 12000.0) as i16).collect();
        let mut codes = vec![0u8; 160];
        encode_block(Law::ALaw, &pcm, &mut codes);
        let mut back = vec![0i16; 160];
        decode_block(Law::ALaw, &codes, &mut back);
        for (p, b) in pcm.iter().zip(&back) {
            assert!((p - b).abs() <= 256);
        }
        let mut t = codes.clone();
        transcode(Law::ALaw, Law::MuLaw, &mut t);
        for (a, u) in codes.iter().zip(&t) {
            let la = alaw_to_linear(*a) as i32;
            let lu = ulaw_to_linear(*u) as i32;
            assert!((la - lu).abs() <= 512, "{la} vs {lu}");
        }
    }
}
