//! Errors of the range engine and of the device allocator.

use tt_accounting::{BankType, MemKind};
use tt_soc::{ChipUid, NocCoord};

/// Why a [`RangeAllocator`](crate::RangeAllocator) refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// A request for zero bytes.
    #[error("asked for 0 bytes; request at least one byte")]
    ZeroSize,
    /// An alignment that is not a power of two.
    #[error("alignment {align} is not a power of two; use 16, 32, 64, ...")]
    BadAlignment {
        /// The alignment asked for.
        align: u64,
    },
    /// Less free space than asked for, whatever the layout.
    #[error("out of memory: asked for {requested} bytes, {free} bytes free; free buffers or ask for less")]
    OutOfMemory {
        /// Bytes asked for, rounded up to the alignment.
        requested: u64,
        /// Free bytes in the range.
        free: u64,
    },
    /// Enough free space in total, but no free block large (or aligned) enough.
    #[error(
        "fragmented: asked for {requested} bytes, {free} bytes free but the largest free block \
         is {largest_free_block} bytes; free neighbouring buffers, allocate large buffers first, \
         or relax the alignment"
    )]
    Fragmented {
        /// Bytes asked for, rounded up to the alignment.
        requested: u64,
        /// Free bytes in the range.
        free: u64,
        /// The largest free block.
        largest_free_block: u64,
    },
    /// An exact address that is not a multiple of the alignment.
    #[error(
        "address {addr:#x} is not a multiple of the alignment {alignment}; round it to a multiple"
    )]
    Misaligned {
        /// The address asked for.
        addr: u64,
        /// The alignment in force.
        alignment: u64,
    },
    /// An exact placement that does not lie inside the range.
    #[error(
        "[{addr:#x}, {addr:#x} + {size}) is outside the range [{base:#x}, {end:#x}); ask for an \
         address inside it"
    )]
    OutOfRange {
        /// The address asked for.
        addr: u64,
        /// Bytes asked for.
        size: u64,
        /// First address of the range.
        base: u64,
        /// One past the last address of the range.
        end: u64,
    },
    /// An exact placement that overlaps an allocated block.
    #[error(
        "[{addr:#x}, {addr:#x} + {size}) overlaps the allocated block [{block_addr:#x}, \
         {block_addr:#x} + {block_size}); free it first or choose another address"
    )]
    Overlap {
        /// The address asked for.
        addr: u64,
        /// Bytes asked for.
        size: u64,
        /// First address of the allocated block in the way.
        block_addr: u64,
        /// Size of that block.
        block_size: u64,
    },
    /// A free of an address where no allocation starts (never allocated, or freed already).
    #[error("no allocation starts at {addr:#x}: never allocated here, or already freed")]
    UnknownAddress {
        /// The address given to `free`.
        addr: u64,
    },
    /// More blocks than the engine can index (over four billion).
    #[error("too many blocks in one range; free some allocations first")]
    TooManyBlocks,
}

/// Why the device [`Allocator`](crate::Allocator) refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocError {
    /// Less free space per bank than the buffer needs per bank.
    #[error(
        "out of {bank_type} memory on device {device}: the buffer needs {requested} bytes per \
         bank, {free} bytes are free per bank; free {bank_type} buffers or make the buffer smaller"
    )]
    OutOfMemory {
        /// The device.
        device: ChipUid,
        /// The bank type asked for.
        bank_type: BankType,
        /// Bytes needed in each bank, aligned.
        requested: u64,
        /// Free bytes in each bank.
        free: u64,
    },
    /// Enough free bytes per bank, but no free block large (or aligned) enough.
    #[error(
        "{bank_type} memory on device {device} is fragmented: the buffer needs {requested} bytes \
         per bank, {free} bytes are free per bank but the largest free block is \
         {largest_free_block} bytes; free neighbouring buffers or allocate large buffers first"
    )]
    Fragmented {
        /// The device.
        device: ChipUid,
        /// The bank type asked for.
        bank_type: BankType,
        /// Bytes needed in each bank, aligned.
        requested: u64,
        /// Free bytes in each bank.
        free: u64,
        /// The largest free block in each bank.
        largest_free_block: u64,
    },
    /// The region of this bank type has no bytes (for example TRACE with `trace_size` 0).
    #[error(
        "the {bank_type} region of device {device} is empty; give it a size in AllocatorConfig \
         (l1_small_size / trace_size) when creating the allocator"
    )]
    EmptyRegion {
        /// The device.
        device: ChipUid,
        /// The bank type asked for.
        bank_type: BankType,
    },
    /// A buffer of zero bytes (zero pages, or a zero shard size).
    #[error("a {bank_type} buffer of 0 bytes was asked for; ask for at least one page or byte")]
    ZeroSize {
        /// The bank type asked for.
        bank_type: BankType,
    },
    /// An interleaved layout with a page size of 0.
    #[error(
        "interleaved {bank_type} buffer with page size 0; give a page size of at least 1 byte"
    )]
    ZeroPageSize {
        /// The bank type asked for.
        bank_type: BankType,
    },
    /// A size that overflows 64 bits once laid out.
    #[error("{bank_type} buffer too large: {what} overflows 64 bits; ask for less")]
    TooLarge {
        /// The bank type asked for.
        bank_type: BankType,
        /// Which product overflowed.
        what: &'static str,
    },
    /// A memory kind that does not belong in this bank type.
    #[error(
        "memory kind `{kind}` cannot be placed in {bank_type} banks; {bank_type} takes {allowed}"
    )]
    KindNotValid {
        /// The kind asked for.
        kind: MemKind,
        /// The bank type asked for.
        bank_type: BankType,
        /// The kinds this bank type takes.
        allowed: &'static str,
    },
    /// A sharded layout in a bank type that has no cores (DRAM, TRACE).
    #[error("{bank_type} buffers are interleaved across all banks; use Layout::Interleaved")]
    ShardedNotSupported {
        /// The bank type asked for.
        bank_type: BankType,
    },
    /// A sharded layout with an empty core list.
    #[error("sharded {bank_type} buffer with no cores; list at least one Tensix core")]
    NoCores {
        /// The bank type asked for.
        bank_type: BankType,
    },
    /// A core that is not a usable Tensix core of this device.
    #[error(
        "core {core} is not a usable Tensix core of device {device} (found: {found}); list \
         cores from the SoC descriptor's tensix_cores()"
    )]
    NotATensixCore {
        /// The device.
        device: ChipUid,
        /// The core asked for.
        core: NocCoord,
        /// What is at that coordinate (`outside the grid`, `harvested tensix`, `dram`, ...).
        found: &'static str,
    },
    /// A core listed twice in one sharded layout.
    #[error("core {core} is listed twice; a sharded buffer has one shard per core")]
    DuplicateCore {
        /// The repeated core.
        core: NocCoord,
    },
    /// An exact address or alignment the bank cannot honour, or an exact placement outside
    /// the bank or over an allocated block.
    #[error("cannot place the {bank_type} buffer on device {device}: {source}")]
    Placement {
        /// The device.
        device: ChipUid,
        /// The bank type asked for.
        bank_type: BankType,
        /// What the range engine found.
        source: RangeError,
    },
    /// An [`AllocatorConfig`](crate::AllocatorConfig) that does not fit the chip.
    #[error("allocator configuration does not fit device {device}: {message}")]
    Config {
        /// The device.
        device: ChipUid,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The tracker refused to record the placement, so it was undone.
    #[error(
        "the {bank_type} buffer was not placed on device {device}: the tracker refused it \
         ({reason}); nothing was left allocated"
    )]
    TrackingRefused {
        /// The device.
        device: ChipUid,
        /// The bank type asked for.
        bank_type: BankType,
        /// Why the tracker refused.
        reason: String,
    },
    /// The tracker refused to let an allocator be built for the device (a device session
    /// already owns the chip's allocator, or no session opened the chip).
    #[error("an allocator for device {device} was asked for and its tracker refused it: {reason}")]
    AllocatorRefused {
        /// The device.
        device: ChipUid,
        /// Why the tracker refused, and what to do.
        reason: String,
    },
    /// The allocator was made in a parent process; this is a child forked from it.
    #[error(
        "this allocator of device {device} was inherited from the parent process across \
         fork(); a child shares the parent's chip and must not place on it. Open a device of \
         its own in the child (after exec, or on another chip)"
    )]
    InheritedAcrossFork {
        /// The device.
        device: ChipUid,
    },
}
