//! What the DSP detectors' AVX2+FMA code shares: whether the running CPU
//! has both, and the arithmetic helpers.
//!
//! Two ways are in use. DTMF writes its receive path once, generic over
//! `const FMA: bool` ([`madd`] fuses only when it is true), and compiles it
//! twice: a portable copy and one inside `#[target_feature(enable =
//! "avx2,fma")]`. The tone, fax and VAD detectors call one kernel by a
//! flag (the tones' is generic and compiled twice too; fax and VAD use
//! intrinsics). Either way the detector's descriptor decides
//! once, at construction ([`avx2_fma_available`]), and `portable()` on a
//! descriptor forces the plain code, so tests can compare the two.

/// Whether the running CPU has both AVX2 and FMA (always false off x86-64).
#[cfg(target_arch = "x86_64")]
pub fn avx2_fma_available() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

/// Whether the running CPU has both AVX2 and FMA (always false off x86-64).
#[cfg(not(target_arch = "x86_64"))]
pub fn avx2_fma_available() -> bool {
    false
}

/// a·b + c, fused when `FMA` (only instantiate `FMA = true` inside code
/// compiled with the `fma` target feature: elsewhere it is a library call).
#[inline(always)]
pub fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// Sum of eight lanes, pairwise (the same order in every copy).
#[inline(always)]
pub fn lanes_sum(acc: &[f32; 8]) -> f32 {
    (acc[0] + acc[4]) + (acc[1] + acc[5]) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// Σ aᵢ·bᵢ over equal-length slices whose length is a multiple of 8, in
/// eight independent lanes (vectorises); elements past the last whole
/// group of eight are ignored.
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    for (ca, cb) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += ca[i] * cb[i];
        }
    }
    lanes_sum(&acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_and_madd_agree_with_plain_sums() {
        let a: Vec<f32> = (0..80).map(|i| (i as f32 * 0.37).sin() * 1000.0).collect();
        let b: Vec<f32> = (0..80).map(|i| (i as f32 * 0.11).cos() * 300.0).collect();
        let plain: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
        let ours = dot(&a, &b) as f64;
        assert!((ours - plain).abs() <= plain.abs() * 1e-5 + 1e-2, "{ours} vs {plain}");
        assert_eq!(madd::<false>(2.0, 3.0, 4.0), 10.0);
        assert_eq!(madd::<true>(2.0, 3.0, 4.0), 10.0);
        assert_eq!(lanes_sum(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]), 36.0);
    }
}
