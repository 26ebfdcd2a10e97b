//! Bank allocator for L1 and DRAM (work in progress).

pub mod tracker;
