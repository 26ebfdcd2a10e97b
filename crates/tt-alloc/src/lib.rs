//! Bank allocator for L1, L1_SMALL, DRAM, TRACE and kernel regions of Tenstorrent chips.
//!
//! It hands out addresses and never touches device memory. [`RangeAllocator`] is the
//! engine for one address range; [`Allocator`] holds one engine per [`BankType`] of a
//! device and returns owning [`Allocation`] handles whose drop frees the range and then
//! records the release through the [`tracker`] seam with the sizes captured at placement.

mod allocator;
mod bank;
mod error;
mod layout;
mod range;
mod stats;
pub mod tracker;

pub use allocator::{Allocation, Allocator};
pub use bank::{AllocatorConfig, BankType};
pub use error::{AllocError, RangeError};
pub use layout::{BufferRequest, Layout};
pub use range::{Block, FreeBlock, Policy, RangeAllocator, RangeHandle, RangeStats};
pub use stats::{BankStats, BlockInfo};
pub use tracker::{MemKind, NoTracking};

#[cfg(test)]
mod allocator_tests;
