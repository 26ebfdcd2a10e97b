//! The seam between placing bytes on a chip (tt-alloc, tt-program) and recording them
//! (tt-track).
//!
//! Whoever places bytes describes the placement once, with exact sizes, and receives a
//! [`PlacementGuard`] that it keeps beside the range it owns. Dropping the guard records the
//! release with the sizes captured at placement: a release can neither forget nor change a
//! size, which is the bug this project exists to remove.

use std::fmt;
use std::panic::Location;

use tt_soc::ChipUid;

use crate::kind::{BankClass, BankType, MemKind};

/// Payload bytes placed in one bank or on one core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BankSpan {
    /// Index in the placement's [`BankClass`] (DRAM bank, usable Tensix core or Ethernet
    /// core, numbered from 0).
    pub bank: u32,
    /// First byte's address within the bank (L1 address, or DRAM bank offset).
    pub addr: u64,
    /// Bytes the owner placed there.
    pub size: u64,
}

/// The bytes a placement removed from the chip's free pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// `per_bank` bytes in each of banks `0..banks` of the placement's class: what a
    /// lockstep allocator takes, since every bank of a type shares one address range (a
    /// one-page buffer reserves its offset in all twelve DRAM banks; a one-core shard its
    /// range on every core).
    EveryBank {
        /// Bytes reserved in each bank (aligned pages per bank, or the aligned shard).
        per_bank: u64,
        /// How many banks of the class, from bank 0.
        banks: u32,
    },
    /// `per_span` bytes in the bank of each span and nowhere else (an image written at a
    /// fixed address on the listed cores).
    EachSpan {
        /// Bytes reserved in each span's bank (the payload rounded up to the alignment).
        per_span: u64,
    },
    /// Exactly each span's payload and nothing more (no alignment, no other bank).
    Payload,
}

/// A description of one placement, handed to the tracker once.
#[derive(Debug, Clone, Copy)]
pub struct Placement<'a> {
    /// The chip the bytes are on.
    pub device: ChipUid,
    /// What the bytes are.
    pub kind: MemKind,
    /// Which banks the spans' indices count in.
    pub class: BankClass,
    /// Payload bytes per bank or core (banks holding nothing left out).
    pub spans: &'a [BankSpan],
    /// What the placement took from the free pools.
    pub reserved: Reservation,
    /// Who owns it (a buffer name, `program 7 kernel reader`, ...).
    pub owner: &'a str,
    /// Where in the caller's source the placement was asked for.
    pub provenance: &'static Location<'static>,
}

impl Placement<'_> {
    /// Payload bytes: the sum over the spans.
    #[inline]
    pub fn payload_bytes(&self) -> u64 {
        self.spans.iter().fold(0u64, |sum, span| sum.saturating_add(span.size))
    }

    /// Reserved bytes: every byte removed from a free pool, padding and empty banks included.
    #[inline]
    pub fn reserved_bytes(&self) -> u64 {
        match self.reserved {
            Reservation::EveryBank { per_bank, banks } => per_bank.saturating_mul(u64::from(banks)),
            Reservation::EachSpan { per_span } => per_span.saturating_mul(self.spans.len() as u64),
            Reservation::Payload => self.payload_bytes(),
        }
    }

    /// Lowest address over the spans (every span shares it for lockstep placements).
    #[inline]
    pub fn address(&self) -> Option<u64> {
        match self.reserved {
            Reservation::EveryBank { .. } => self.spans.first().map(|s| s.addr),
            Reservation::EachSpan { .. } | Reservation::Payload => {
                self.spans.iter().map(|s| s.addr).min()
            }
        }
    }
}

/// Why a tracker refused to record a placement; the placer then undoes it, so nothing is
/// either uncounted or counted without an owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementRefused {
    /// What was wrong and what to do.
    pub reason: String,
}

impl fmt::Display for PlacementRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for PlacementRefused {}

/// Free-space figures of one bank type, as the allocator that owns the chip sees them, so a
/// monitor in another process can predict an out-of-memory or a fragmentation error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BankHealth {
    /// The bank type.
    pub bank_type: BankType,
    /// Banks of the type (each shares the same address range).
    pub banks: u32,
    /// Allocatable bytes per bank.
    pub bank_size: u64,
    /// Free bytes per bank.
    pub free_per_bank: u64,
    /// The largest block the allocator would hand out, per bank; an interleaved buffer can
    /// use it in every bank.
    pub largest_free_per_bank: u64,
    /// Free blocks (the same in every bank).
    pub free_blocks: u64,
    /// Allocated blocks (buffers).
    pub allocated_blocks: u64,
}

/// Held by the owner of a placement; dropping it records the release with the sizes the
/// tracker captured at placement.
pub trait PlacementGuard: Send + Sync {}

/// Receives every placement. Implemented by tt-track's tracker; [`NoTracking`] does nothing.
pub trait PlacementTracker: Send + Sync {
    /// Records `placement` and returns the guard whose drop records its release, or refuses,
    /// in which case the caller must undo the placement.
    fn placed(
        &self,
        placement: &Placement<'_>,
    ) -> Result<Box<dyn PlacementGuard>, PlacementRefused>;

    /// Asked once when an allocator for `device` is built with this tracker: refuses when
    /// the tracker knows that allocator must not exist (a device session already owns the
    /// chip's only allocator, or no session opened the chip).
    fn allocator_attached(&self, device: ChipUid) -> Result<(), PlacementRefused> {
        let _ = device;
        Ok(())
    }

    /// Publishes the allocator's free-space figures of one bank type after it changed.
    fn allocator_health(&self, device: ChipUid, health: &BankHealth) {
        let _ = (device, health);
    }
}

/// A tracker that records nothing (tracking off, or no tracker attached).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTracking;

struct NoGuard;
impl PlacementGuard for NoGuard {}

impl PlacementTracker for NoTracking {
    fn placed(
        &self,
        _placement: &Placement<'_>,
    ) -> Result<Box<dyn PlacementGuard>, PlacementRefused> {
        // A zero-sized Box does not allocate.
        Ok(Box::new(NoGuard))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_counts_every_bank_or_each_span_and_payload_the_spans() {
        let spans = [BankSpan { bank: 0, addr: 0x100, size: 1000 }];
        let mut placement = Placement {
            device: ChipUid(1),
            kind: MemKind::Dram,
            class: BankClass::Dram,
            spans: &spans,
            reserved: Reservation::EveryBank { per_bank: 1024, banks: 12 },
            owner: "one page",
            provenance: Location::caller(),
        };
        assert_eq!((placement.payload_bytes(), placement.reserved_bytes()), (1000, 12 * 1024));
        placement.reserved = Reservation::EachSpan { per_span: 1024 };
        assert_eq!(placement.reserved_bytes(), 1024);
        placement.reserved = Reservation::Payload;
        assert_eq!(placement.reserved_bytes(), 1000);
        assert_eq!(placement.address(), Some(0x100));
        assert!(NoTracking.placed(&placement).is_ok());
    }
}
