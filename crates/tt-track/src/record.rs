//! Allocation identities and the record an owning handle keeps until it releases.

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::Arc;

use tt_accounting::{BankClass, MemKind, PlacementGuard};
use tt_soc::ChipUid;

use crate::ledger::AnchorRef;
use crate::observer::Observers;

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

/// Marks a registration that counts nothing (tracking off).
pub(crate) const UNCOUNTED_SLOT: u8 = u8::MAX;
/// Marks a record that found no free live-table entry.
pub(crate) const NO_TABLE_ENTRY: u32 = u32::MAX;

/// Where a record was counted, which its release needs.
pub(crate) enum RecordOwner {
    /// Counted in the anchor's ledger and slot.
    Counted(AnchorRef),
    /// Not counted (tracking off); the observers to tell of the release, if any listened.
    Uncounted(Option<Arc<Observers>>),
}

/// How a placement's reservation spreads over the cores of its class, kept so the release
/// removes exactly what the placement added to the per-core figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CoreShare {
    /// DRAM, or nothing per core.
    None,
    /// The same bytes on every core of the class (a lockstep allocation).
    EveryCore(u64),
    /// The same bytes on cores `0..cores` only.
    FirstCores { per_core: u64, cores: u32 },
    /// (core, bytes) for each listed core.
    Listed(Box<[(u32, u64)]>),
}

/// The owning handle of one counted placement. Dropping it (or [`AllocRecord::release`])
/// records the release with exactly the sizes counted at placement, through the tracker
/// that counted it; it cannot be built, copied or cloned outside this crate, so no release
/// can carry another size, name another tracker, or happen twice. A record inherited by a
/// forked child releases nothing there: the placement is its parent's.
#[must_use = "dropping the record releases the placement at once"]
pub struct AllocRecord {
    pub(crate) owner: RecordOwner,
    pub(crate) id: AllocId,
    pub(crate) device: ChipUid,
    pub(crate) kind: MemKind,
    pub(crate) class: BankClass,
    pub(crate) table_entry: u32,
    pub(crate) reserved: u64,
    pub(crate) payload: u64,
    pub(crate) share: CoreShare,
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

    /// Reserved bytes (every byte removed from a free pool), the amount the release records.
    pub fn reserved_bytes(&self) -> u64 {
        self.reserved
    }

    /// Payload bytes (what the owner asked for), the payload the release records.
    pub fn payload_bytes(&self) -> u64 {
        self.payload
    }

    /// False when the placement was not counted (tracking off).
    pub fn is_counted(&self) -> bool {
        matches!(self.owner, RecordOwner::Counted(_))
    }

    /// Records the release now (the same as dropping the record).
    pub fn release(self) {}
}

impl fmt::Debug for AllocRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllocRecord")
            .field("id", &self.id)
            .field("device", &self.device)
            .field("kind", &self.kind)
            .field("reserved", &self.reserved)
            .field("payload", &self.payload)
            .field("counted", &self.is_counted())
            .finish()
    }
}

impl Drop for AllocRecord {
    #[inline]
    fn drop(&mut self) {
        crate::tracker::release(self);
    }
}

impl PlacementGuard for AllocRecord {}

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
