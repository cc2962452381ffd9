//! Recorder taps: copying a channel's audio off the real-time path.
//!
//! The engine never writes files. A [`RecordTap`] on a channel copies the
//! audio it hears and/or sends into fixed-size blocks taken from a
//! [`BlockPool`] (preallocated, lock-free), and hands each full block to
//! the slow side over a bounded channel. The slow side writes the block
//! where it belongs (a WAV file, memory) and gives the buffer back to the
//! pool. If the pool runs dry or the channel is full, the tap drops audio
//! and counts it; it never waits.

use std::sync::Arc;

use crossbeam_channel::{Sender, TrySendError};
use crossbeam_queue::ArrayQueue;
use serde::{Deserialize, Serialize};

use crate::hal::{BoardTime, ChannelId, Duration};

/// Samples per record block: 200 ms.
pub const RECORD_BLOCK_SAMPLES: usize = 1600;

/// One block's audio buffer.
pub type BlockBuf = Box<[i16; RECORD_BLOCK_SAMPLES]>;

/// A pool of preallocated block buffers shared by the engine and the
/// recording writer.
#[derive(Debug)]
pub struct BlockPool {
    free: ArrayQueue<BlockBuf>,
}

impl BlockPool {
    /// A pool of `blocks` buffers (each 3.2 kB).
    pub fn new(blocks: usize) -> Arc<Self> {
        let free = ArrayQueue::new(blocks.max(1));
        for _ in 0..blocks.max(1) {
            let _ = free.push(Box::new([0i16; RECORD_BLOCK_SAMPLES]));
        }
        Arc::new(BlockPool { free })
    }
    pub fn take(&self) -> Option<BlockBuf> {
        self.free.pop()
    }
    /// Give a buffer back; a pool that is already full drops it.
    pub fn give(&self, b: BlockBuf) {
        let _ = self.free.push(b);
    }
    pub fn available(&self) -> usize {
        self.free.len()
    }
}

/// What a tap records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordWhat {
    /// What the channel receives (the far party's voice).
    Rx,
    /// What we send on the channel (prompts, the bridged party).
    Tx,
    /// Both directions mixed (a call recording).
    Both,
}

/// A full (or final) block of a recording.
#[derive(Debug)]
pub struct RecordBlock {
    /// The recording's id, as given when it started.
    pub recording: u32,
    pub channel: ChannelId,
    /// Board time of the first sample.
    pub start: BoardTime,
    /// Valid samples in `samples`.
    pub len: usize,
    pub samples: BlockBuf,
    /// Samples lost just before this block (pool empty or channel full).
    pub dropped_before: u64,
    /// The recording ends with this block.
    pub last: bool,
}

impl RecordBlock {
    pub fn audio(&self) -> &[i16] {
        &self.samples[..self.len.min(RECORD_BLOCK_SAMPLES)]
    }
}

/// Per-channel recorder state in the engine.
#[derive(Debug)]
pub struct RecordTap {
    pub id: u32,
    pub what: RecordWhat,
    channel: ChannelId,
    block: Option<BlockBuf>,
    fill: usize,
    start: BoardTime,
    /// Samples dropped since the last block went out.
    dropped: u64,
    /// Samples dropped over the whole recording.
    pub dropped_total: u64,
}

impl RecordTap {
    pub fn new(id: u32, channel: ChannelId, what: RecordWhat) -> Self {
        RecordTap { id, what, channel, block: None, fill: 0, start: BoardTime::ZERO, dropped: 0, dropped_total: 0 }
    }

    /// Record one tick's audio starting at `now`.
    pub fn push(&mut self, now: BoardTime, rx: &[i16], tx: &[i16], pool: &BlockPool, out: &Sender<RecordBlock>) {
        let n = rx.len().min(tx.len());
        let mut done = 0;
        while done < n {
            if self.block.is_none() {
                match pool.take() {
                    Some(b) => {
                        self.block = Some(b);
                        self.fill = 0;
                        self.start = now + Duration::from_samples(done as u64);
                    }
                    None => {
                        let lost = (n - done) as u64;
                        self.dropped += lost;
                        self.dropped_total += lost;
                        return;
                    }
                }
            }
            let Some(block) = self.block.as_mut() else { return };
            let k = (RECORD_BLOCK_SAMPLES - self.fill).min(n - done);
            let dst = &mut block[self.fill..self.fill + k];
            match self.what {
                RecordWhat::Rx => dst.copy_from_slice(&rx[done..done + k]),
                RecordWhat::Tx => dst.copy_from_slice(&tx[done..done + k]),
                RecordWhat::Both => {
                    for (d, (a, b)) in dst.iter_mut().zip(rx[done..done + k].iter().zip(&tx[done..done + k])) {
                        *d = a.saturating_add(*b);
                    }
                }
            }
            self.fill += k;
            done += k;
            if self.fill == RECORD_BLOCK_SAMPLES {
                self.send(pool, out, false);
            }
        }
    }

    fn send(&mut self, pool: &BlockPool, out: &Sender<RecordBlock>, last: bool) {
        let samples = match self.block.take() {
            Some(b) => b,
            None if last => match pool.take() {
                // An empty final block still tells the writer to close.
                Some(b) => b,
                None => return,
            },
            None => return,
        };
        let block = RecordBlock {
            recording: self.id,
            channel: self.channel,
            start: self.start,
            len: if last && self.fill == 0 { 0 } else { self.fill },
            samples,
            dropped_before: self.dropped,
            last,
        };
        self.fill = 0;
        match out.try_send(block) {
            Ok(()) => self.dropped = 0,
            Err(TrySendError::Full(b) | TrySendError::Disconnected(b)) => {
                self.dropped += b.len as u64;
                self.dropped_total += b.len as u64;
                pool.give(b.samples);
            }
        }
    }

    /// End the recording: send what is buffered as the last block.
    pub fn finish(mut self, pool: &BlockPool, out: &Sender<RecordBlock>) -> u64 {
        self.send(pool, out, true);
        self.dropped_total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_carry_audio_in_order_and_return_to_the_pool() {
        let pool = BlockPool::new(4);
        let (tx, rx) = crossbeam_channel::bounded(8);
        let mut tap = RecordTap::new(3, ChannelId(2), RecordWhat::Rx);
        let mut t = BoardTime::ZERO;
        let mut sent = Vec::new();
        for tick in 0..25 {
            let audio: Vec<i16> = (0..160).map(|i| (tick * 160 + i) as i16).collect();
            tap.push(t, &audio, &[0; 160], &pool, &tx);
            sent.extend_from_slice(&audio);
            t += Duration::from_samples(160);
            while let Ok(b) = rx.try_recv() {
                assert!(!b.last);
                pool.give(b.samples);
            }
        }
        // 4000 samples = 2 full blocks + 800 buffered.
        assert_eq!(tap.finish(&pool, &tx), 0);
        let last = rx.try_recv().unwrap();
        assert!(last.last);
        assert_eq!(last.len, 800);
        assert_eq!(last.start, BoardTime::from_samples(3200));
        assert_eq!(last.audio(), &sent[3200..]);
    }

    #[test]
    fn mixes_both_directions() {
        let pool = BlockPool::new(1);
        let (tx, rx) = crossbeam_channel::bounded(1);
        let mut tap = RecordTap::new(1, ChannelId(1), RecordWhat::Both);
        tap.push(BoardTime::ZERO, &[100, 32000, -5], &[1, 32000, -5], &pool, &tx);
        tap.finish(&pool, &tx);
        assert_eq!(rx.try_recv().unwrap().audio(), &[101, 32767, -10]);
    }

    #[test]
    fn a_dry_pool_drops_and_counts_instead_of_waiting() {
        let pool = BlockPool::new(1);
        let (tx, _rx) = crossbeam_channel::bounded(1);
        let mut tap = RecordTap::new(1, ChannelId(1), RecordWhat::Rx);
        // First block fills and is sent; the channel is then full and the
        // pool is empty, so the rest is dropped.
        for _ in 0..20 {
            tap.push(BoardTime::ZERO, &[1; 160], &[0; 160], &pool, &tx);
        }
        assert_eq!(tap.dropped_total, 20 * 160 - RECORD_BLOCK_SAMPLES as u64);
    }
}
