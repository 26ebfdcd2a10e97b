//! Tests that cross the crate's modules: the tracker against its own ledger, exactness under
//! concurrency, and real multi-process scenarios (children are this test binary re-executed
//! with a role in the environment).

mod children;
mod exactness;
mod hostile;
mod processes;
mod seqlock_model;
mod sessions;
mod shrinking;
mod tracker_tests;

use std::panic::Location;

use tt_accounting::BankSpan;
use tt_soc::{Arch, ChipUid};

use crate::{DeviceCapacity, DeviceInfo, DeviceSlot, Tracker};

pub(crate) const WORMHOLE: DeviceCapacity = DeviceCapacity {
    dram_bytes: 12 << 30,
    dram_banks: 12,
    tensix_l1_per_core: 1_499_136,
    tensix_cores: 64,
    ethernet_l1_per_core: 262_144,
    ethernet_cores: 16,
};

/// `count` equal spans of `size` bytes on banks 0.., like one buffer over `count` cores.
pub(crate) fn spans(count: u32, size: u64) -> Vec<BankSpan> {
    (0..count).map(|bank| BankSpan { bank, addr: 0x1_0000, size }).collect()
}

#[track_caller]
pub(crate) fn here() -> &'static Location<'static> {
    Location::caller()
}

/// A tracker publishing in a fresh directory's `ledger` folder.
pub(crate) fn ledger() -> (tempfile::TempDir, Tracker) {
    let dir = tempfile::tempdir().expect("tempdir");
    let tracker = Tracker::with_ledger_dir(dir.path().join("ledger")).expect("tracker");
    (dir, tracker)
}

pub(crate) fn register(tracker: &Tracker, uid: u64) -> DeviceSlot {
    tracker
        .register_device(&DeviceInfo::new(ChipUid(uid), Arch::WormholeB0, WORMHOLE))
        .expect("register device")
}

/// A small deterministic generator, so failures replay.
pub(crate) struct XorShift(pub u64);

impl XorShift {
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
