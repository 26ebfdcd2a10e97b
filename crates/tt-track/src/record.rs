//! Allocation identities and the record an owning handle keeps until it releases.

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use tt_alloc::tracker::MemKind;
use tt_soc::ChipUid;

/// A per-process allocation id: unique within the process and increasing within each
/// thread (threads take ids in blocks, so they never contend on one counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AllocId(u64);

impl AllocId {
    /// The raw number, as written to the ledger.
    pub fn get(self) -> u64 {
        self.0
    }

    pub(crate) fn from_raw(raw: u64) -> AllocId {
        AllocId(raw)
    }
}

impl fmt::Display for AllocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

const ID_BLOCK: u64 = 4096;
/// Starts at 1: 0 marks a free live-table entry.
static NEXT_ID_BLOCK: AtomicU64 = AtomicU64::new(1);

thread_local! {
    // (next, end) of this thread's block. Const-initialised and without Drop, so it is
    // usable at any point of a thread's life, including from destructors.
    static ID_BLOCK_RANGE: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// The next allocation id of this thread.
#[inline]
pub(crate) fn next_alloc_id() -> AllocId {
    ID_BLOCK_RANGE.with(|range| {
        let (next, end) = range.get();
        if next < end {
            range.set((next + 1, end));
            AllocId(next)
        } else {
            let start = NEXT_ID_BLOCK.fetch_add(ID_BLOCK, Ordering::Relaxed);
            range.set((start + 1, start + ID_BLOCK));
            AllocId(start)
        }
    })
}

/// Marks a record whose placement was not counted (tracking off, or a foreign slot).
pub(crate) const UNCOUNTED_SLOT: u8 = u8::MAX;
/// Marks a record that found no free live-table entry.
pub(crate) const NO_TABLE_ENTRY: u32 = u32::MAX;

/// What a placement recorded, kept by the owning handle and given back, by value, to
/// `Tracker::record_release`. It cannot be built, copied or cloned outside this crate, so a
/// release always carries exactly the bytes counted at placement.
#[must_use = "a record that is dropped instead of released stays counted as live"]
#[derive(Debug)]
pub struct AllocRecord {
    pub(crate) id: AllocId,
    pub(crate) device: ChipUid,
    pub(crate) bytes: u64,
    pub(crate) tracker_serial: u32,
    pub(crate) table_entry: u32,
    pub(crate) slot: u8,
    pub(crate) kind: MemKind,
}

impl AllocRecord {
    /// The allocation's id.
    pub fn id(&self) -> AllocId {
        self.id
    }

    /// The chip the bytes are on.
    pub fn device(&self) -> ChipUid {
        self.device
    }

    /// The memory kind.
    pub fn kind(&self) -> MemKind {
        self.kind
    }

    /// Total bytes placed (sum over banks or cores), the amount the release will record.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// False when the placement was not counted (tracking off).
    pub fn is_counted(&self) -> bool {
        self.slot != UNCOUNTED_SLOT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_across_threads_and_increase_within_one() {
        let ids: Vec<Vec<u64>> = (0..4)
            .map(|_| std::thread::spawn(|| (0..10_000).map(|_| next_alloc_id().get()).collect()))
            .map(|h| h.join().expect("id thread panicked"))
            .collect();
        for per_thread in &ids {
            assert!(per_thread.windows(2).all(|w| w[0] < w[1]));
        }
        let mut all: Vec<u64> = ids.concat();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 40_000);
        assert!(all[0] >= 1);
    }
}
