//! The clock placements are stamped with: coarse, monotonic and the same in every process of
//! a host, so a reader in another process can tell a placement's age.

use nix::time::{clock_gettime, ClockId};

/// CLOCK_MONOTONIC_COARSE in nanoseconds (a few milliseconds of resolution, a few
/// nanoseconds to read through the vDSO); 0 if the clock cannot be read. Read through libc,
/// whose vDSO call tools such as valgrind know how to follow.
#[inline]
pub(crate) fn coarse_now_ns() -> u64 {
    clock_gettime(ClockId::CLOCK_MONOTONIC_COARSE).map_or(0, |t| {
        let secs = u64::try_from(t.tv_sec()).unwrap_or(0);
        let nanos = u64::try_from(t.tv_nsec()).unwrap_or(0);
        secs.wrapping_mul(1_000_000_000).wrapping_add(nanos)
    })
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
}
