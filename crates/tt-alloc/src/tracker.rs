//! The seam between placement (this crate, and the program loader) and accounting
//! (tt-track).
//!
//! Whoever places bytes on a chip describes the placement once, with exact per-bank sizes,
//! and receives a [`PlacementGuard`] that it keeps beside the range it owns. Dropping the
//! guard records the release with the sizes captured at placement: a release can neither
//! forget nor change a size, which is the bug this project exists to remove.

use std::fmt;
use std::panic::Location;

use tt_soc::ChipUid;

/// Disjoint kinds of chip memory; every byte the runtime accounts for is in exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum MemKind {
    /// DRAM buffers.
    Dram = 0,
    /// L1 buffers from the allocatable region.
    L1 = 1,
    /// Buffers from the L1_SMALL region.
    L1Small = 2,
    /// Trace buffers in the DRAM TRACE region.
    Trace = 3,
    /// Circular buffers in L1.
    Cb = 4,
    /// Application kernel binaries resident in L1.
    Kernel = 5,
    /// Persistent dispatch/fabric kernels and firmware placed at device open.
    System = 6,
    /// The fixed reserved L1 area (mailboxes, firmware text).
    Reserved = 7,
}

impl MemKind {
    /// Every kind, in ledger order.
    pub const ALL: [MemKind; 8] = [
        MemKind::Dram,
        MemKind::L1,
        MemKind::L1Small,
        MemKind::Trace,
        MemKind::Cb,
        MemKind::Kernel,
        MemKind::System,
        MemKind::Reserved,
    ];
    /// Number of kinds.
    pub const COUNT: usize = 8;

    /// Position in [`MemKind::ALL`] (and in every per-kind array of the ledger).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The snake-case name used in JSON and metrics (`dram`, `l1_small`, ...).
    pub fn name(self) -> &'static str {
        match self {
            MemKind::Dram => "dram",
            MemKind::L1 => "l1",
            MemKind::L1Small => "l1_small",
            MemKind::Trace => "trace",
            MemKind::Cb => "cb",
            MemKind::Kernel => "kernel",
            MemKind::System => "system",
            MemKind::Reserved => "reserved",
        }
    }

    /// True for kinds whose bytes live in L1 (counted per core).
    pub fn is_l1(self) -> bool {
        !matches!(self, MemKind::Dram | MemKind::Trace)
    }
}

impl fmt::Display for MemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Bytes placed in one bank or on one core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BankSpan {
    /// Bank index (DRAM bank, or L1 bank = usable Tensix core index).
    pub bank: u32,
    /// First byte's address within the bank (L1 address, or DRAM bank offset).
    pub addr: u64,
    /// Bytes placed.
    pub size: u64,
}

/// A description of one placement, handed to the tracker once.
#[derive(Debug, Clone, Copy)]
pub struct Placement<'a> {
    /// The chip the bytes are on.
    pub device: ChipUid,
    /// What the bytes are.
    pub kind: MemKind,
    /// Exact bytes per bank or core.
    pub spans: &'a [BankSpan],
    /// Who owns it (a buffer name, `program 7 kernel reader`, ...).
    pub owner: &'a str,
    /// Where in the source the placement was asked for.
    pub provenance: &'static Location<'static>,
}

impl Placement<'_> {
    /// Total bytes over all spans.
    pub fn total_bytes(&self) -> u64 {
        self.spans.iter().map(|s| s.size).sum()
    }
}

/// Held by the owner of a placement; dropping it records the release with the sizes the
/// tracker captured at placement.
pub trait PlacementGuard: Send + Sync {}

/// Receives every placement. Implemented by tt-track's tracker; [`NoTracking`] does nothing.
pub trait PlacementTracker: Send + Sync {
    /// Records `placement` and returns the guard whose drop records its release.
    fn placed(&self, placement: &Placement<'_>) -> Box<dyn PlacementGuard>;
}

/// A tracker that records nothing (tracking off, or no tracker attached).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTracking;

struct NoGuard;
impl PlacementGuard for NoGuard {}

impl PlacementTracker for NoTracking {
    fn placed(&self, _placement: &Placement<'_>) -> Box<dyn PlacementGuard> {
        // A zero-sized Box does not allocate.
        Box::new(NoGuard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_indexed_in_order_with_stable_names() {
        for (i, k) in MemKind::ALL.iter().enumerate() {
            assert_eq!(k.index(), i);
        }
        let names: Vec<_> = MemKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(
            names,
            ["dram", "l1", "l1_small", "trace", "cb", "kernel", "system", "reserved"]
        );
        assert!(MemKind::Cb.is_l1() && !MemKind::Trace.is_l1());
    }
}
