//! Playing a loaded buffer into a channel.
//!
//! Audio is loaded and converted off the real-time path (prompt files,
//! music on hold) into a [`PlayBuffer`]: 16-bit linear, 8 kHz, shared by
//! reference so a thousand callers hearing the same greeting share one copy.
//! A [`Player`] is the per-channel position in one buffer.

use std::sync::Arc;

/// Audio ready to play: 8 kHz 16-bit linear, shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayBuffer(pub Arc<[i16]>);

impl PlayBuffer {
    pub fn new(samples: Vec<i16>) -> Self {
        PlayBuffer(samples.into())
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn samples(&self) -> &[i16] {
        &self.0
    }
}

/// What a player did in one call to [`Player::fill`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayStatus {
    /// Still playing; the whole output was filled.
    Playing,
    /// Reached the end during this call after writing this many samples;
    /// the rest of the output is silence.
    Finished { written: usize },
}

/// A position in a buffer being played to one channel.
#[derive(Debug, Clone)]
pub struct Player {
    buf: PlayBuffer,
    pos: usize,
    repeat: bool,
    /// The caller's id for this playback, echoed in its end event.
    pub id: u32,
}

impl Player {
    pub fn new(buf: PlayBuffer, repeat: bool, id: u32) -> Self {
        Player { buf, pos: 0, repeat, id }
    }

    /// Samples played so far (for a barge-in report or a resume).
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Write the next samples into `out`; silence after the end.
    pub fn fill(&mut self, out: &mut [i16]) -> PlayStatus {
        let src = self.buf.samples();
        if src.is_empty() {
            out.fill(0);
            return PlayStatus::Finished { written: 0 };
        }
        let mut written = 0;
        while written < out.len() {
            if self.pos >= src.len() {
                if self.repeat {
                    self.pos = 0;
                } else {
                    out[written..].fill(0);
                    return PlayStatus::Finished { written };
                }
            }
            let n = (src.len() - self.pos).min(out.len() - written);
            out[written..written + n].copy_from_slice(&src[self.pos..self.pos + n]);
            self.pos += n;
            written += n;
        }
        if !self.repeat && self.pos >= src.len() {
            return PlayStatus::Finished { written };
        }
        PlayStatus::Playing
    }

    /// Give the buffer back (to drop it off the real-time path).
    pub fn into_buffer(self) -> PlayBuffer {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plays_once_then_silence() {
        let mut p = Player::new(PlayBuffer::new((1..=5).collect()), false, 7);
        let mut out = [9i16; 3];
        assert_eq!(p.fill(&mut out), PlayStatus::Playing);
        assert_eq!(out, [1, 2, 3]);
        assert_eq!(p.fill(&mut out), PlayStatus::Finished { written: 2 });
        assert_eq!(out, [4, 5, 0]);
        assert_eq!(p.fill(&mut out), PlayStatus::Finished { written: 0 });
        assert_eq!(out, [0, 0, 0]);
    }

    #[test]
    fn exact_end_is_reported_in_the_same_block() {
        let mut p = Player::new(PlayBuffer::new(vec![1, 2, 3, 4]), false, 0);
        let mut out = [0i16; 4];
        assert_eq!(p.fill(&mut out), PlayStatus::Finished { written: 4 });
    }

    #[test]
    fn repeats_seamlessly() {
        let mut p = Player::new(PlayBuffer::new(vec![1, 2, 3]), true, 0);
        let mut out = [0i16; 7];
        assert_eq!(p.fill(&mut out), PlayStatus::Playing);
        assert_eq!(out, [1, 2, 3, 1, 2, 3, 1]);
        let mut empty = Player::new(PlayBuffer::new(vec![]), true, 0);
        assert_eq!(empty.fill(&mut out), PlayStatus::Finished { written: 0 });
    }
}
