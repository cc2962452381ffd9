//! Real-time scheduling for the engine thread.
//!
//! A board paced by a clock (a card, the real-time simulator) gives the
//! engine one tick period to answer; a tick answered late is a slip. Under
//! the normal scheduler any busy process on the machine can delay the
//! engine by a time slice (several milliseconds), so the engine asks for
//! `SCHED_FIFO` (POSIX real-time, first in first out) for its own thread:
//! it then runs as soon as its tick arrives, ahead of every normal thread.
//! The engine sleeps between ticks, so it never holds a core for long, and
//! the kernel's real-time throttling (`sched_rt_runtime_us`) still leaves
//! the rest of the machine 5 % of every second.
//!
//! Asking is allowed to fail: without `CAP_SYS_NICE` or an `RLIMIT_RTPRIO`
//! at least the priority asked for (systemd: `LimitRTPRIO=`), the thread
//! keeps the normal scheduler and the engine says so once in its log.

/// The `SCHED_FIFO` priority the engine asks for by default (1–99; any
/// value beats every normal thread, and leaves room above for interrupt
/// threads and watchdogs).
pub const DEFAULT_RT_PRIORITY: u8 = 10;

/// Why the calling thread could not be given real-time scheduling.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriorityError {
    #[error("SCHED_FIFO priority {0} is out of range (1-99)")]
    OutOfRange(u8),
    #[error(
        "sched_setscheduler(SCHED_FIFO, {priority}) refused: {errno} (needs CAP_SYS_NICE or RLIMIT_RTPRIO >= {priority})"
    )]
    Refused { priority: u8, errno: nix::errno::Errno },
}

/// Put the calling thread under `SCHED_FIFO` at `priority`.
#[allow(unsafe_code)] // one system call with a pointer to a local struct
pub fn set_fifo(priority: u8) -> Result<(), PriorityError> {
    if !(1..=99).contains(&priority) {
        return Err(PriorityError::OutOfRange(priority));
    }
    let param = libc::sched_param { sched_priority: priority as libc::c_int };
    // SAFETY: `param` is a valid, initialised `sched_param` that outlives the
    // call; pid 0 names the calling thread; the call reads `param` only.
    let r = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
    if r == 0 { Ok(()) } else { Err(PriorityError::Refused { priority, errno: nix::errno::Errno::last() }) }
}

/// The calling thread's scheduling policy is `SCHED_FIFO`.
#[allow(unsafe_code)] // one system call without arguments to check
pub fn is_fifo() -> bool {
    // SAFETY: pid 0 names the calling thread; no memory is passed.
    let policy = unsafe { libc::sched_getscheduler(0) };
    policy == libc::SCHED_FIFO
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_priorities_are_refused_without_a_call() {
        assert_eq!(set_fifo(0), Err(PriorityError::OutOfRange(0)));
        assert_eq!(set_fifo(100), Err(PriorityError::OutOfRange(100)));
    }

    #[test]
    fn fifo_is_granted_or_refused_with_the_reason() {
        // On a thread of its own, so the test runner's threads keep their
        // scheduling. Whether it is granted depends on the machine.
        let r = std::thread::spawn(|| (set_fifo(DEFAULT_RT_PRIORITY), is_fifo())).join().unwrap();
        match r {
            (Ok(()), fifo) => assert!(fifo, "granted but the policy did not change"),
            (Err(e), fifo) => {
                assert!(!fifo);
                let msg = e.to_string();
                assert!(msg.contains("SCHED_FIFO") && msg.contains("RLIMIT_RTPRIO"), "{msg}");
            }
        }
    }
}
