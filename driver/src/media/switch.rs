//! The switch: which channels each channel hears.
//!
//! Every connection is one-way, *listener hears talker*. A two-party bridge
//! is two connections; a three-party conference is six; a supervisor's
//! silent monitor is the supervisor hearing both parties while nobody hears
//! the supervisor; whisper adds "agent hears supervisor"; barge-in makes it
//! a conference. The engine sums what a channel hears with what it plays
//! itself (a prompt, a tone) and saturates.
//!
//! A listener hears at most [`MAX_INPUTS`] talkers: enough for a five-party
//! conference; larger conferences need a conference bridge that mixes once.

use crate::hal::ChannelId;

/// Most talkers one channel hears at once.
pub const MAX_INPUTS: usize = 4;

/// A connection the switch cannot make.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SwitchError {
    #[error("channel {0} does not exist")]
    NoSuchChannel(ChannelId),
    #[error("channel {0} cannot be connected to itself")]
    SelfLoop(ChannelId),
    #[error("channel {listener} already hears {MAX_INPUTS} channels; cannot add {talker}")]
    TooManyInputs { listener: ChannelId, talker: ChannelId },
}

/// Who hears whom, by 0-based channel index.
#[derive(Debug, Clone)]
pub struct Switch {
    inputs: Vec<[u16; MAX_INPUTS]>,
    counts: Vec<u8>,
}

impl Switch {
    pub fn new(channels: usize) -> Self {
        Switch { inputs: vec![[0; MAX_INPUTS]; channels], counts: vec![0; channels] }
    }

    fn check(&self, ch: ChannelId) -> Result<usize, SwitchError> {
        let i = ch.index();
        if i < self.counts.len() { Ok(i) } else { Err(SwitchError::NoSuchChannel(ch)) }
    }

    /// Make `listener` hear `talker`. Connecting twice is harmless.
    pub fn connect(&mut self, listener: ChannelId, talker: ChannelId) -> Result<(), SwitchError> {
        let l = self.check(listener)?;
        let t = self.check(talker)?;
        if l == t {
            return Err(SwitchError::SelfLoop(listener));
        }
        let n = self.counts[l] as usize;
        if self.inputs[l][..n].contains(&(t as u16)) {
            return Ok(());
        }
        if n == MAX_INPUTS {
            return Err(SwitchError::TooManyInputs { listener, talker });
        }
        self.inputs[l][n] = t as u16;
        self.counts[l] += 1;
        Ok(())
    }

    /// Connect both ways.
    pub fn bridge(&mut self, a: ChannelId, b: ChannelId) -> Result<(), SwitchError> {
        self.connect(a, b)?;
        if let Err(e) = self.connect(b, a) {
            self.disconnect(a, b);
            return Err(e);
        }
        Ok(())
    }

    /// Stop `listener` hearing `talker`.
    pub fn disconnect(&mut self, listener: ChannelId, talker: ChannelId) {
        let (l, t) = (listener.index(), talker.index());
        let Some(n) = self.counts.get(l).map(|&n| n as usize) else { return };
        if let Some(pos) = self.inputs[l][..n].iter().position(|&x| x as usize == t) {
            self.inputs[l].copy_within(pos + 1..n, pos);
            self.counts[l] -= 1;
        }
    }

    /// Remove every connection to and from `ch`.
    pub fn isolate(&mut self, ch: ChannelId) {
        let c = ch.index();
        if c >= self.counts.len() {
            return;
        }
        self.counts[c] = 0;
        for l in 0..self.counts.len() {
            self.disconnect(ChannelId::from_index(l), ch);
        }
    }

    /// 0-based indexes of the channels `ch` hears.
    pub fn inputs(&self, ch: ChannelId) -> &[u16] {
        let i = ch.index();
        match self.counts.get(i) {
            Some(&n) => &self.inputs[i][..n as usize],
            None => &[],
        }
    }

    /// Channels `ch` hears, by 0-based index (no bounds surprises).
    #[inline]
    pub fn inputs_at(&self, index: usize) -> &[u16] {
        &self.inputs[index][..self.counts[index] as usize]
    }

    /// Whether anything is connected anywhere.
    pub fn is_empty(&self) -> bool {
        self.counts.iter().all(|&n| n == 0)
    }
}

/// Add `src` into `acc` with saturation.
#[inline]
pub fn mix_into(acc: &mut [i16], src: &[i16]) {
    for (a, s) in acc.iter_mut().zip(src) {
        *a = a.saturating_add(*s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(n: u16) -> ChannelId {
        ChannelId(n)
    }

    #[test]
    fn bridge_conference_monitor() {
        let mut s = Switch::new(6);
        s.bridge(c(1), c(2)).unwrap();
        assert_eq!(s.inputs(c(1)), &[1]);
        assert_eq!(s.inputs(c(2)), &[0]);
        // Supervisor 3 monitors: hears both, heard by none.
        s.connect(c(3), c(1)).unwrap();
        s.connect(c(3), c(2)).unwrap();
        assert_eq!(s.inputs(c(3)), &[0, 1]);
        // Whisper: agent 2 also hears 3.
        s.connect(c(2), c(3)).unwrap();
        assert_eq!(s.inputs(c(2)), &[0, 2]);
        s.connect(c(2), c(3)).unwrap();
        assert_eq!(s.inputs(c(2)), &[0, 2], "connecting twice is harmless");
        s.isolate(c(3));
        assert_eq!(s.inputs(c(2)), &[0]);
        assert!(s.inputs(c(3)).is_empty());
        s.disconnect(c(1), c(2));
        s.disconnect(c(2), c(1));
        assert!(s.is_empty());
    }

    #[test]
    fn limits_and_errors() {
        let mut s = Switch::new(7);
        for t in 2..=5 {
            s.connect(c(1), c(t)).unwrap();
        }
        assert_eq!(s.connect(c(1), c(6)), Err(SwitchError::TooManyInputs { listener: c(1), talker: c(6) }));
        assert_eq!(s.connect(c(1), c(1)), Err(SwitchError::SelfLoop(c(1))));
        assert_eq!(s.connect(c(8), c(1)), Err(SwitchError::NoSuchChannel(c(8))));
        assert_eq!(s.connect(c(0), c(1)), Err(SwitchError::NoSuchChannel(c(0))));
        // A failed bridge leaves nothing half-made.
        assert!(s.bridge(c(6), c(1)).is_err());
        assert!(s.inputs(c(6)).is_empty());
        assert!(s.inputs(c(9)).is_empty());
    }

    #[test]
    fn mixing_saturates() {
        let mut acc = [30000i16, -30000, 5];
        mix_into(&mut acc, &[10000, -10000, 5]);
        assert_eq!(acc, [32767, -32768, 10]);
    }
}
