//! The allocators under test, behind one interface: tt-alloc as its callers use it (the
//! default policy, freed by handle, and freed by address; top-down and aligned requests;
//! the range engine with the health figures the shipped allocator publishes after every
//! operation; the shipped `Allocator` itself), the offset-allocator crate, an exact
//! best-fit reference and a naive first-fit list. The two references are written here,
//! independently of tt-alloc.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tt_accounting::{BankHealth, BankType, MemKind, NoTracking, PlacementTracker};
use tt_alloc::{
    Allocation, Allocator, AllocatorConfig, BufferRequest, Layout, Policy, RangeAllocator,
    RangeHandle,
};
use tt_soc::{Arch, ChipUid, NocCoord, SocDescriptor};

/// One allocator under test. Sizes are bytes, already multiples of the alignment.
pub trait Contender: 'static {
    const NAME: &'static str;
    type Handle;
    fn new(capacity: u64, alignment: u64) -> Self;
    fn allocate(&mut self, size: u64) -> Option<Self::Handle>;
    fn free(&mut self, handle: Self::Handle);
    /// (address, bytes) of a live allocation.
    fn span(&self, handle: &Self::Handle) -> (u64, u64);
    /// The largest free block, whether or not the allocator can hand it out: by default the
    /// largest gap between the `live` allocations.
    fn largest_free_block(&self, live: &[Option<Self::Handle>], capacity: u64) -> u64 {
        largest_gap(self, live, capacity)
    }
}

/// tt-alloc's range engine placing every request with `POLICY` (0: the default, 1:
/// top-down) at a multiple of `ALIGN` bytes (0: the range's alignment), freed by handle.
pub struct TtAllocWith<const POLICY: u8, const ALIGN: u64>(RangeAllocator);

/// Top-down requests, as tt-metal places L1 buffers and kernel binaries by default.
pub type TtTopDown = TtAllocWith<1, 0>;
/// Requests aligned to 4 KiB and to 64 KiB (pages, and far beyond a 32-byte bank's
/// alignment).
pub type TtAligned4K = TtAllocWith<0, 4096>;
pub type TtAligned64K = TtAllocWith<0, 65536>;

impl<const POLICY: u8, const ALIGN: u64> Contender for TtAllocWith<POLICY, ALIGN> {
    const NAME: &'static str = match (POLICY, ALIGN) {
        (1, 0) => "tt-alloc top-down",
        (0, 4096) => "tt-alloc 4 KiB-aligned",
        (0, 65536) => "tt-alloc 64 KiB-aligned",
        _ => "tt-alloc (variant)",
    };
    type Handle = RangeHandle;
    fn new(capacity: u64, alignment: u64) -> Self {
        TtAllocWith(RangeAllocator::new(0, capacity, alignment))
    }
    fn allocate(&mut self, size: u64) -> Option<RangeHandle> {
        let policy = if POLICY == 1 { Policy::TopDown } else { Policy::BestFitBottomUp };
        self.0.allocate_handle(size, ALIGN, policy).ok()
    }
    fn free(&mut self, handle: RangeHandle) {
        let freed = self.0.free_handle(handle);
        debug_assert!(freed.is_ok());
    }
    fn span(&self, handle: &RangeHandle) -> (u64, u64) {
        (handle.addr(), self.0.allocation_size(handle.addr()).unwrap_or(0))
    }
}

/// The range engine as the shipped `Allocator` drives it: after every allocation and free
/// it reads the bank's health figures and hands them to the tracker (here through the
/// same `dyn PlacementTracker` call, to a tracker that keeps nothing), so that the cost of
/// publication is what this contender adds to [`TtAlloc`].
pub struct TtAllocWithHealth {
    range: RangeAllocator,
    tracker: Arc<dyn PlacementTracker>,
}

impl TtAllocWithHealth {
    fn publish(&self) {
        let r = &self.range;
        let health = BankHealth {
            bank_type: BankType::Dram,
            banks: 1,
            bank_size: r.size(),
            free_per_bank: r.free_bytes(),
            largest_free_per_bank: r.largest_free_size(),
            free_blocks: r.free_block_count() as u64,
            allocated_blocks: r.allocated_block_count() as u64,
        };
        self.tracker.allocator_health(ChipUid(0x26), std::hint::black_box(&health));
    }
}

impl Contender for TtAllocWithHealth {
    const NAME: &'static str = "tt-alloc + health";
    type Handle = RangeHandle;
    fn new(capacity: u64, alignment: u64) -> Self {
        let tracker: Arc<dyn PlacementTracker> = Arc::new(NoTracking);
        TtAllocWithHealth { range: RangeAllocator::new(0, capacity, alignment), tracker }
    }
    fn allocate(&mut self, size: u64) -> Option<RangeHandle> {
        let handle = self.range.allocate_handle(size, 0, Policy::default()).ok()?;
        self.publish();
        Some(handle)
    }
    fn free(&mut self, handle: RangeHandle) {
        let freed = self.range.free_handle(handle);
        debug_assert!(freed.is_ok());
        self.publish();
    }
    fn span(&self, handle: &RangeHandle) -> (u64, u64) {
        (handle.addr(), self.range.allocation_size(handle.addr()).unwrap_or(0))
    }
}

/// The shipped `tt_alloc::Allocator` on a Wormhole B0 with a tracker that keeps nothing:
/// placement plan, owner bookkeeping, health publication and the owning handle. The bank
/// is the chip's, not the trace's: L1 buffers are one shard on one core (about 1.2 MiB
/// allocatable), DRAM buffers one page in each of the 12 banks (1 GiB each).
pub struct ShippedAllocator {
    allocator: Allocator,
    dram: bool,
    core: NocCoord,
}

impl Contender for ShippedAllocator {
    const NAME: &'static str = "tt-alloc Allocator";
    type Handle = Allocation;
    fn new(capacity: u64, _alignment: u64) -> Self {
        let soc = SocDescriptor::builtin(Arch::WormholeB0);
        let core = soc.tensix_cores()[0];
        let tracker: Arc<dyn PlacementTracker> = Arc::new(NoTracking);
        let allocator = Allocator::new(&soc, ChipUid(0x26), AllocatorConfig::default(), tracker)
            .expect("a Wormhole B0 allocator");
        // The L1 trace's bank is a few MiB at most; the DRAM trace's a GiB.
        ShippedAllocator { allocator, dram: capacity >= 1 << 30, core }
    }
    fn allocate(&mut self, size: u64) -> Option<Allocation> {
        let cores = [self.core];
        let (bank_type, kind, layout) = if self.dram {
            let banks = self.allocator.bank_count(BankType::Dram) as u64;
            (BankType::Dram, MemKind::Dram, Layout::Interleaved { page_size: size, pages: banks })
        } else {
            (BankType::L1, MemKind::L1, Layout::Sharded { cores: &cores, shard_size: size })
        };
        let req =
            BufferRequest { bank_type, kind, layout, policy: Policy::default(), owner: "bench" };
        self.allocator.allocate(&req).ok()
    }
    fn free(&mut self, handle: Allocation) {
        drop(handle);
    }
    fn span(&self, handle: &Allocation) -> (u64, u64) {
        (handle.address(), handle.size_per_bank())
    }
}

/// tt-alloc's range engine with the policy every caller in the workspace uses
/// (`Policy::default()`), freed by handle as `tt_alloc::Allocation` does.
pub struct TtAlloc(RangeAllocator);

impl Contender for TtAlloc {
    const NAME: &'static str = "tt-alloc";
    type Handle = RangeHandle;
    fn new(capacity: u64, alignment: u64) -> Self {
        TtAlloc(RangeAllocator::new(0, capacity, alignment))
    }
    fn allocate(&mut self, size: u64) -> Option<RangeHandle> {
        self.0.allocate_handle(size, 0, Policy::default()).ok()
    }
    fn free(&mut self, handle: RangeHandle) {
        let freed = self.0.free_handle(handle);
        debug_assert!(freed.is_ok());
    }
    fn span(&self, handle: &RangeHandle) -> (u64, u64) {
        (handle.addr(), self.0.allocation_size(handle.addr()).unwrap_or(0))
    }
    /// What the engine publishes to monitors (its blocks always coalesce, so this is the
    /// largest gap); finding handle blocks by address would be a walk per block.
    fn largest_free_block(&self, _live: &[Option<RangeHandle>], _capacity: u64) -> u64 {
        self.0.stats().largest_free.map_or(0, |b| b.size)
    }
}

/// The same engine and policy for callers that only keep the address: allocations go in
/// its address map and are freed by address.
pub struct TtAllocByAddress(RangeAllocator);

impl Contender for TtAllocByAddress {
    const NAME: &'static str = "tt-alloc by address";
    type Handle = u64;
    fn new(capacity: u64, alignment: u64) -> Self {
        TtAllocByAddress(RangeAllocator::new(0, capacity, alignment))
    }
    fn allocate(&mut self, size: u64) -> Option<u64> {
        self.0.allocate(size, 0, Policy::default()).ok()
    }
    fn free(&mut self, addr: u64) {
        let freed = self.0.free(addr);
        debug_assert!(freed.is_ok());
    }
    fn span(&self, &addr: &u64) -> (u64, u64) {
        (addr, self.0.allocation_size(addr).unwrap_or(0))
    }
}

/// The offset-allocator crate (a port of Sebastian Aaltonen's O(1) TLSF-style allocator).
/// It counts in u32 units, so it is given units of the bank's alignment: that covers a
/// 32 GiB bank at 32-byte alignment.
pub struct OffsetAlloc {
    inner: offset_allocator::Allocator,
    unit: u64,
}

impl Contender for OffsetAlloc {
    const NAME: &'static str = "offset-allocator";
    type Handle = offset_allocator::Allocation;
    fn new(capacity: u64, alignment: u64) -> Self {
        let units = u32::try_from(capacity / alignment).unwrap_or(u32::MAX);
        // Node storage for far more blocks than any trace keeps (live plus free).
        OffsetAlloc {
            inner: offset_allocator::Allocator::with_max_allocs(units, 1 << 20),
            unit: alignment,
        }
    }
    fn allocate(&mut self, size: u64) -> Option<Self::Handle> {
        self.inner.allocate(u32::try_from(size / self.unit).ok()?)
    }
    fn free(&mut self, handle: Self::Handle) {
        self.inner.free(handle);
    }
    fn span(&self, handle: &Self::Handle) -> (u64, u64) {
        let size = u64::from(self.inner.allocation_size(*handle));
        (u64::from(handle.offset) * self.unit, size * self.unit)
    }
}

/// Exact best fit: the smallest free block that fits, lowest address on ties, found in a
/// set ordered by (size, address); a map by address finds the neighbours to coalesce.
pub struct ReferenceBestFit {
    by_size: BTreeSet<(u64, u64)>,
    by_addr: BTreeMap<u64, u64>,
}

impl ReferenceBestFit {
    fn add_free(&mut self, addr: u64, size: u64) {
        self.by_size.insert((size, addr));
        self.by_addr.insert(addr, size);
    }

    fn remove_free(&mut self, addr: u64, size: u64) {
        self.by_size.remove(&(size, addr));
        self.by_addr.remove(&addr);
    }
}

impl Contender for ReferenceBestFit {
    const NAME: &'static str = "best-fit reference";
    type Handle = (u64, u64);
    fn new(capacity: u64, _alignment: u64) -> Self {
        let mut r = ReferenceBestFit { by_size: BTreeSet::new(), by_addr: BTreeMap::new() };
        r.add_free(0, capacity);
        r
    }
    fn allocate(&mut self, size: u64) -> Option<(u64, u64)> {
        let &(hole, addr) = self.by_size.range((size, 0)..).next()?;
        self.remove_free(addr, hole);
        if hole > size {
            self.add_free(addr + size, hole - size);
        }
        Some((addr, size))
    }
    fn free(&mut self, (addr, size): (u64, u64)) {
        let (mut start, mut len) = (addr, size);
        if let Some((&prev, &prev_len)) = self.by_addr.range(..addr).next_back() {
            if prev + prev_len == addr {
                self.remove_free(prev, prev_len);
                (start, len) = (prev, prev_len + len);
            }
        }
        if let Some(&next_len) = self.by_addr.get(&(addr + size)) {
            self.remove_free(addr + size, next_len);
            len += next_len;
        }
        self.add_free(start, len);
    }
    fn span(&self, &handle: &(u64, u64)) -> (u64, u64) {
        handle
    }
}

/// The classic design (and tt-metal's policy): free ranges in a vector sorted by address,
/// first fit by a linear scan, coalescing on free.
pub struct NaiveFirstFit {
    free: Vec<(u64, u64)>,
}

impl Contender for NaiveFirstFit {
    const NAME: &'static str = "naive first-fit list";
    type Handle = (u64, u64);
    fn new(capacity: u64, _alignment: u64) -> Self {
        NaiveFirstFit { free: vec![(0, capacity)] }
    }
    fn allocate(&mut self, size: u64) -> Option<(u64, u64)> {
        let i = self.free.iter().position(|&(_, s)| s >= size)?;
        let (addr, hole) = self.free[i];
        if hole == size {
            self.free.remove(i);
        } else {
            self.free[i] = (addr + size, hole - size);
        }
        Some((addr, size))
    }
    fn free(&mut self, (addr, size): (u64, u64)) {
        let i = self.free.partition_point(|&(a, _)| a < addr);
        let joins_prev = i > 0 && self.free[i - 1].0 + self.free[i - 1].1 == addr;
        let joins_next = i < self.free.len() && addr + size == self.free[i].0;
        match (joins_prev, joins_next) {
            (true, true) => {
                self.free[i - 1].1 += size + self.free[i].1;
                self.free.remove(i);
            }
            (true, false) => self.free[i - 1].1 += size,
            (false, true) => self.free[i] = (addr, size + self.free[i].1),
            (false, false) => self.free.insert(i, (addr, size)),
        }
    }
    fn span(&self, &handle: &(u64, u64)) -> (u64, u64) {
        handle
    }
}

/// The largest gap between live allocations: the largest free block, whether or not the
/// allocator can hand it out.
fn largest_gap<C: Contender + ?Sized>(a: &C, live: &[Option<C::Handle>], capacity: u64) -> u64 {
    let mut used: Vec<(u64, u64)> = live.iter().flatten().map(|h| a.span(h)).collect();
    used.sort_unstable();
    let (mut cursor, mut largest) = (0u64, 0u64);
    for (addr, size) in used {
        largest = largest.max(addr.saturating_sub(cursor));
        cursor = cursor.max(addr + size);
    }
    largest.max(capacity.saturating_sub(cursor))
}

/// The largest block `a` actually hands out now, found by allocating and freeing at once
/// (a binary search over multiples of `alignment` up to `upper`: whatever fits a size also
/// fits every smaller one in these allocators).
pub fn largest_allocatable<C: Contender>(a: &mut C, upper: u64, alignment: u64) -> u64 {
    let (mut lo, mut hi) = (0u64, upper / alignment); // lo fits (trivially), hi + 1 does not
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        match a.allocate(mid * alignment) {
            Some(h) => {
                a.free(h);
                lo = mid;
            }
            None => hi = mid - 1,
        }
    }
    lo * alignment
}
