//! Bank allocator for L1, L1_SMALL, DRAM, TRACE and kernel regions of Tenstorrent chips.
//!
//! It hands out addresses and never touches device memory. [`RangeAllocator`] is the
//! engine for one address range; [`Allocator`] holds one engine per [`tt_accounting::BankType`] of a
//! device and returns owning [`Allocation`] handles whose drop frees the range and then
//! records the release through tt-accounting's placement seam with the sizes captured at
//! placement.

mod allocator;
mod bank;
mod error;
mod layout;
mod range;
mod stats;

pub use allocator::{Allocation, Allocator};
pub use bank::AllocatorConfig;
pub use error::{AllocError, RangeError};
pub use layout::{BufferRequest, Layout};
pub use range::{Block, FreeBlock, Policy, RangeAllocator, RangeHandle, RangeStats};
pub use stats::{BankStats, BlockInfo};

#[cfg(test)]
mod allocator_tests;
