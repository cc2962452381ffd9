//! Reading and writing length-prefixed frames on a byte stream, blocking
//! ([`read_frame`], [`write_parts`]) or incrementally from a non-blocking
//! socket ([`FrameAssembler`]). Buffers are the caller's and are reused, so
//! the steady state does not allocate; a frame's audio goes out straight
//! from the caller's buffer after its head (one vectored write), and comes
//! in straight into the assembler's buffer.

use std::io::{self, IoSlice, Read, Write};
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::wire::{LEN_BYTES, MAX_FRAME, WireError};

/// Why no frame could be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("connection closed")]
    Closed,
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    Wire(#[from] WireError),
}

/// Read one whole frame (type + body, without the length prefix) into `buf`.
pub fn read_frame<R: Read>(r: &mut R, buf: &mut Vec<u8>) -> Result<(), FrameError> {
    let mut len = [0u8; LEN_BYTES];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let n = u32::from_le_bytes(len) as usize;
    if n > MAX_FRAME {
        return Err(WireError::TooLong(n).into());
    }
    if n == 0 {
        return Err(WireError::Empty.into());
    }
    buf.resize(n, 0);
    match r.read_exact(buf) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(FrameError::Closed),
        Err(e) => Err(e.into()),
    }
}

/// Write a frame made of `head` then `tail` (see
/// [`super::wire::emit_tick_head`]) to a blocking stream, with as few
/// system calls as the stream allows and without joining the two.
pub fn write_parts<W: Write>(w: &mut W, head: &[u8], tail: &[u8]) -> io::Result<()> {
    let mut parts = [IoSlice::new(head), IoSlice::new(tail)];
    let mut bufs = &mut parts[..];
    // Drop empty leading parts, so that an empty frame writes nothing.
    IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        match w.write_vectored(bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// How long a lock-step peer looks for the other side's next frame before
/// it sleeps in the kernel: the other side usually answers within this
/// time, and a sleeping thread on an idle CPU of a virtual machine takes
/// longer than that to wake.
pub const LOCKSTEP_SPIN: Duration = Duration::from_micros(100);

/// Look (without sleeping) whether `fd` has something to read, for up to
/// `spin`; whether it has. For lock-step exchanges only: it keeps a CPU busy
/// while it looks.
pub fn spin_until_readable(fd: BorrowedFd<'_>, spin: Duration) -> bool {
    let until = Instant::now() + spin;
    loop {
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::ZERO).is_ok_and(|n| n > 0) {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::hint::spin_loop();
    }
}

/// Room the assembler reads into at least (more than a 240-channel tick).
const READ_ROOM: usize = 64 * 1024;

/// Collects bytes from a non-blocking stream and hands out whole frames.
#[derive(Debug, Default)]
pub struct FrameAssembler {
    /// Read into directly; zeroed once when it grows, never per read.
    buf: Vec<u8>,
    /// Start of unconsumed data in `buf`.
    start: usize,
    /// End of the data read into `buf`.
    end: usize,
}

impl FrameAssembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Forget any partial frame (a new connection).
    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Read what the stream has now, until it would block. Returns
    /// `Ok(false)` when the peer closed, `Ok(true)` otherwise (including
    /// when nothing was ready). Reading on after a short read is what
    /// finds a close right behind the peer's last frame, so the caller
    /// learns of it before anything else (a new driver waiting to attach).
    pub fn fill<R: Read>(&mut self, r: &mut R) -> io::Result<bool> {
        // Keep the buffer about one frame long: move what is left of a
        // partial frame to the front (usually nothing is left).
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        loop {
            if self.buf.len() - self.end < READ_ROOM / 2 {
                let len = (self.end + READ_ROOM).max(self.buf.len() * 2);
                self.buf.resize(len, 0);
            }
            match r.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The next whole frame (type + body), if one has arrived.
    pub fn next_frame(&mut self) -> Option<Result<&[u8], WireError>> {
        let avail = &self.buf[self.start..self.end];
        if avail.len() < LEN_BYTES {
            return None;
        }
        let n = u32::from_le_bytes([avail[0], avail[1], avail[2], avail[3]]) as usize;
        if n > MAX_FRAME {
            return Some(Err(WireError::TooLong(n)));
        }
        if n == 0 {
            self.start += LEN_BYTES;
            return Some(Err(WireError::Empty));
        }
        if avail.len() < LEN_BYTES + n {
            return None;
        }
        let s = self.start + LEN_BYTES;
        self.start = s + n;
        Some(Ok(&self.buf[s..s + n]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that yields its data in small pieces, then WouldBlock.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
        calls: usize,
    }
    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls % 2 == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = self.step.min(self.data.len()).min(out.len());
            if n == 0 {
                return Ok(0);
            }
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn blocking_read_frames() {
        let data = [2, 0, 0, 0, 7, 8, 1, 0, 0, 0, 9];
        let mut r = &data[..];
        let mut buf = Vec::new();
        read_frame(&mut r, &mut buf).unwrap();
        assert_eq!(buf, [7, 8]);
        read_frame(&mut r, &mut buf).unwrap();
        assert_eq!(buf, [9]);
        assert!(matches!(read_frame(&mut r, &mut buf), Err(FrameError::Closed)));
        let huge = [0xFF, 0xFF, 0xFF, 0x7F];
        assert!(matches!(read_frame(&mut &huge[..], &mut buf), Err(FrameError::Wire(WireError::TooLong(_)))));
        let cut = [5, 0, 0, 0, 1];
        assert!(matches!(read_frame(&mut &cut[..], &mut buf), Err(FrameError::Closed)));
    }

    #[test]
    fn assembler_joins_pieces() {
        let data = [3, 0, 0, 0, 1, 2, 3, 2, 0, 0, 0, 4, 5];
        let mut t = Trickle { data: &data, step: 2, calls: 0 };
        let mut a = FrameAssembler::new();
        let mut frames = Vec::new();
        for _ in 0..40 {
            if !a.fill(&mut t).unwrap() {
                break;
            }
            while let Some(f) = a.next_frame() {
                frames.push(f.unwrap().to_vec());
            }
        }
        assert_eq!(frames, vec![vec![1, 2, 3], vec![4, 5]]);
    }

    #[test]
    fn assembler_takes_frames_larger_than_its_room_and_keeps_partial_ones() {
        // Three frames of 100 000 bytes (more than the room read into at
        // once), delivered 70 000 bytes at a time with pauses.
        let mut data = Vec::new();
        let mut want = Vec::new();
        for k in 0..3u8 {
            let body: Vec<u8> = (0..100_000u32).map(|i| (i as u8).wrapping_mul(7).wrapping_add(k)).collect();
            data.extend_from_slice(&(body.len() as u32).to_le_bytes());
            data.extend_from_slice(&body);
            want.push(body);
        }
        let mut t = Trickle { data: &data, step: 70_000, calls: 0 };
        let mut a = FrameAssembler::new();
        let mut frames = Vec::new();
        for _ in 0..40 {
            let open = a.fill(&mut t).unwrap();
            while let Some(f) = a.next_frame() {
                frames.push(f.unwrap().to_vec());
            }
            if !open {
                break;
            }
        }
        assert_eq!(frames, want);
        assert!(a.buf.len() <= 4 * READ_ROOM, "the buffer stays near one frame: {}", a.buf.len());
    }

    #[test]
    fn spinning_sees_data_at_once_and_gives_up_after_its_time() {
        use std::os::fd::AsFd;
        let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let t0 = Instant::now();
        assert!(!spin_until_readable(b.as_fd(), Duration::from_micros(300)));
        assert!(t0.elapsed() >= Duration::from_micros(300));
        a.write_all(&[1]).unwrap();
        assert!(spin_until_readable(b.as_fd(), Duration::from_secs(5)));
    }

    #[test]
    fn a_close_right_behind_the_last_frame_is_seen_in_the_same_fill() {
        let (mut a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        a.write_all(&[2, 0, 0, 0, 7, 8]).unwrap();
        drop(a);
        let mut asm = FrameAssembler::new();
        assert!(!asm.fill(&mut b).unwrap(), "the close is reported with the frame before it");
        assert_eq!(asm.next_frame().unwrap().unwrap(), [7, 8]);
    }

    #[test]
    fn write_parts_joins_head_and_tail_on_the_stream() {
        let mut out = Vec::new();
        write_parts(&mut out, &[1, 2], &[3, 4, 5]).unwrap();
        write_parts(&mut out, &[], &[6]).unwrap();
        write_parts(&mut out, &[7], &[]).unwrap();
        assert_eq!(out, [1, 2, 3, 4, 5, 6, 7]);
    }
}
