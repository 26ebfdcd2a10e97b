//! Occupancy statistics and block dumps of one bank type.

use serde::Serialize;
use serde_json::{json, Value};
use tt_accounting::{BankType, MemKind};
use tt_soc::ChipUid;

use crate::range::{FreeBlock, RangeStats};

/// Occupancy of one bank type. Every bank of the type shares one address range, so the
/// per-bank figures hold for each bank; the `total_*` methods multiply by the bank count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BankStats {
    /// The bank type.
    pub bank_type: BankType,
    /// Number of banks (DRAM banks, or usable Tensix cores).
    pub bank_count: u32,
    /// First address of the range every bank hands out.
    pub base: u64,
    /// Allocatable bytes per bank.
    pub bank_size: u64,
    /// Bytes allocated per bank (ranges reserved, including banks holding fewer pages).
    pub allocated_per_bank: u64,
    /// Bytes free per bank.
    pub free_per_bank: u64,
    /// The largest free block (its address and size), if any.
    pub largest_free_block: Option<FreeBlock>,
    /// Number of free blocks.
    pub free_blocks: usize,
    /// Number of allocated blocks (buffers).
    pub allocated_blocks: usize,
}

impl BankStats {
    pub(crate) fn new(bank_type: BankType, bank_count: u32, base: u64, range: RangeStats) -> Self {
        Self {
            bank_type,
            bank_count,
            base,
            bank_size: range.total,
            allocated_per_bank: range.allocated,
            free_per_bank: range.free,
            largest_free_block: range.largest_free,
            free_blocks: range.free_blocks,
            allocated_blocks: range.allocated_blocks,
        }
    }

    /// Allocatable bytes over all banks.
    pub fn total_allocatable(&self) -> u64 {
        self.bank_size.saturating_mul(u64::from(self.bank_count))
    }

    /// Allocated bytes over all banks.
    pub fn total_allocated(&self) -> u64 {
        self.allocated_per_bank.saturating_mul(u64::from(self.bank_count))
    }

    /// Free bytes over all banks.
    pub fn total_free(&self) -> u64 {
        self.free_per_bank.saturating_mul(u64::from(self.bank_count))
    }
}

/// One block of a bank type's address range, with its owner when allocated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockInfo {
    /// First address in every bank.
    pub addr: u64,
    /// Bytes per bank.
    pub size: u64,
    /// True for a buffer, false for free space.
    pub allocated: bool,
    /// The owner tag given at allocation (`None` for free space).
    pub owner: Option<String>,
    /// The accounting kind (`None` for free space).
    pub kind: Option<MemKind>,
}

/// The JSON dump of one bank type: figures, then every block in address order.
pub(crate) fn dump_json(device: ChipUid, stats: &BankStats, blocks: &[BlockInfo]) -> Value {
    let blocks: Vec<Value> = blocks
        .iter()
        .map(|b| {
            json!({
                "address": b.addr,
                "size": b.size,
                "allocated": b.allocated,
                "owner": b.owner,
                "kind": b.kind.map(MemKind::name),
            })
        })
        .collect();
    json!({
        "device": device.to_string(),
        "bank_type": stats.bank_type.name(),
        "stats": stats,
        "blocks": blocks,
    })
}
