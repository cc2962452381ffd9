//! The built-in music on hold: a slow, quiet arpeggio, made once at start
//! (a site can give its own file later).

use ctibox_driver::dsp::level::dbm0_to_peak;
use ctibox_driver::media::player::PlayBuffer;

/// 16 seconds of soft arpeggiated chords at about −20 dBm0, looping
/// seamlessly.
pub fn default_music_on_hold() -> PlayBuffer {
    // C major, A minor, F major, G major; four notes each, 1 s per note.
    const CHORDS: [[f64; 4]; 4] = [
        [261.63, 329.63, 392.00, 523.25],
        [220.00, 261.63, 329.63, 440.00],
        [174.61, 220.00, 261.63, 349.23],
        [196.00, 246.94, 293.66, 392.00],
    ];
    let note_len = 8000usize;
    let amp = dbm0_to_peak(-20.0);
    let mut out = Vec::with_capacity(16 * note_len);
    for chord in CHORDS {
        for &f in &chord {
            for n in 0..note_len {
                let t = n as f64 / 8000.0;
                // Soft attack and a gentle decay; a little second harmonic.
                let env = (1.0 - (-t * 30.0).exp()) * (-t * 1.5).exp();
                let ph = 2.0 * std::f64::consts::PI * f * t;
                let v = amp * env * (ph.sin() + 0.25 * (2.0 * ph).sin()) / 1.25;
                out.push(v.round() as i16);
            }
        }
    }
    PlayBuffer::new(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctibox_driver::dsp::level::block_dbm0;

    #[test]
    fn quiet_and_sixteen_seconds() {
        let m = default_music_on_hold();
        assert_eq!(m.len(), 16 * 8000);
        let lvl = block_dbm0(m.samples());
        assert!((-32.0..-20.0).contains(&lvl), "{lvl}");
        // Each note fades in, so the loop joins without a click.
        assert!(m.samples()[0].abs() < 50 && m.samples()[m.len() - 1].abs() < 2000);
    }
}
