//! The clock placements are stamped with: coarse, monotonic and the same in every process of
//! a host, so a reader in another process can tell a placement's age.
//!
//! Reading even the coarse clock costs more than the rest of an event on some hosts (8 ns
//! through the vDSO on this project's virtual machines), so the hot path reads a stamp that a
//! background thread refreshes every [`TICK`] (20 wake-ups a second); ages are then exact to
//! within a tick. A forked child has no ticker (threads do not survive fork) and reads the
//! clock itself.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use nix::time::{clock_gettime, ClockId};
use tt_accounting::{fork_generation, ForkGeneration};

/// How often the ticker refreshes the stamp: the resolution of placement ages.
pub(crate) const TICK: Duration = Duration::from_millis(50);

static STAMP: AtomicU64 = AtomicU64::new(0);
/// The process whose ticker keeps [`STAMP`] fresh; `None` if the thread could not start.
static TICKER: OnceLock<Option<ForkGeneration>> = OnceLock::new();

/// CLOCK_MONOTONIC_COARSE in nanoseconds (a few milliseconds of resolution); 0 if the clock
/// cannot be read. Read through libc, whose vDSO call tools such as valgrind can follow.
pub(crate) fn coarse_now_ns() -> u64 {
    clock_gettime(ClockId::CLOCK_MONOTONIC_COARSE).map_or(0, |t| {
        let secs = u64::try_from(t.tv_sec()).unwrap_or(0);
        let nanos = u64::try_from(t.tv_nsec()).unwrap_or(0);
        secs.wrapping_mul(1_000_000_000).wrapping_add(nanos)
    })
}

/// Starts the ticker (once per process); trackers call it when they make a ledger.
pub(crate) fn start_ticker() {
    TICKER.get_or_init(|| {
        STAMP.store(coarse_now_ns(), Ordering::Relaxed);
        let started = std::thread::Builder::new().name("tt-track-clock".into()).spawn(|| loop {
            STAMP.store(coarse_now_ns(), Ordering::Relaxed);
            std::thread::sleep(TICK);
        });
        match started {
            Ok(_) => Some(fork_generation()),
            Err(error) => {
                tracing::debug!(%error, "no clock thread; placements read the clock themselves");
                None
            }
        }
    });
}

/// The stamp for a placement: the ticker's, or the clock itself where no ticker runs.
#[inline]
pub(crate) fn placement_stamp_ns() -> u64 {
    match TICKER.get() {
        Some(Some(generation)) if generation.is_current() => STAMP.load(Ordering::Relaxed),
        _ => coarse_now_ns(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coarse_clock_runs_forward() {
        let first = coarse_now_ns();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let second = coarse_now_ns();
        assert!(first > 0 && second > first, "{first} then {second}");
    }

    #[test]
    fn the_ticker_keeps_stamps_within_a_few_ticks_of_the_clock() {
        start_ticker();
        std::thread::sleep(3 * TICK);
        let stamp = placement_stamp_ns();
        let now = coarse_now_ns();
        assert!(stamp <= now + 10_000_000, "stamp {stamp} is ahead of the clock {now}");
        // Coarse clocks tick every few milliseconds; allow a loaded machine a few ticks more.
        assert!(now - stamp < 10 * TICK.as_nanos() as u64, "stamp {stamp} lags {now}");
    }
}
