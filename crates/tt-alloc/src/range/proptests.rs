//! Random interleavings of allocate and free checked against a model and a brute-force
//! best-fit oracle, and the default policy against an independent reference best fit that
//! breaks ties the way the engine documents.

use std::cmp::Reverse;

use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone)]
enum Op {
    Alloc { size: u64, align_shift: u32, policy: u8, at: u64 },
    Free { pick: usize, by_handle: bool },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1u64..=3000, 0u32..=8, 0u8..3, any::<u64>())
            .prop_map(|(size, align_shift, policy, at)| Op::Alloc { size, align_shift, policy, at }),
        2 => (any::<usize>(), any::<bool>())
            .prop_map(|(pick, by_handle)| Op::Free { pick, by_handle }),
    ]
}

/// Where `size` bytes aligned to `align` go in free block `b` (its bottom, or its top when
/// `top_down`), if they fit.
fn placed_in(b: &Block, size: u64, align: u64, top_down: bool) -> Option<u64> {
    if top_down {
        (b.addr + b.size).checked_sub(size).map(|a| a & !(align - 1)).filter(|&a| a >= b.addr)
    } else {
        Some(b.addr.div_ceil(align) * align).filter(|&a| a + size <= b.addr + b.size)
    }
}

/// The address band a free block starting at `addr` belongs to: the range cut in four
/// equal bands by address (the boundaries are pinned by the bands module's own test).
fn band(r: &RangeAllocator, addr: u64) -> usize {
    super::bands::band_of(r.base(), r.size(), addr)
}

/// Among `fits` (free blocks, each holding a request searched as `search` bytes), the ones
/// the banded rule may take: those of the smallest size in the first band (in search order)
/// that has any, unless that leaves more than an eighth of `search` over and a block of
/// another band does not; then those of the smallest size anywhere, in the first band (in
/// search order) that has that size.
fn rule_picks<'a>(
    r: &RangeAllocator,
    fits: &[&'a Block],
    search: u64,
    top_down: bool,
) -> Vec<&'a Block> {
    let order = |b: &Block| if top_down { 3 - band(r, b.addr) } else { band(r, b.addr) };
    let Some(first_band) = fits.iter().map(|b| order(b)).min() else { return Vec::new() };
    let in_band = |o: usize| fits.iter().copied().filter(move |b| order(b) == o);
    let smallest_in_first = in_band(first_band).map(|b| b.size).min().unwrap_or(0);
    let slack = search >> super::bands::TIGHT_SHIFT;
    let smallest = fits.iter().map(|b| b.size).min().unwrap_or(0);
    let (size, band_order) = if smallest_in_first - search > slack && smallest - search <= slack {
        let o = fits.iter().filter(|b| b.size == smallest).map(|b| order(b)).min().unwrap_or(0);
        (smallest, o)
    } else {
        (smallest_in_first, first_band)
    };
    in_band(band_order).filter(|b| b.size == size).collect()
}

/// The placements a best-fit request may get: the banded rule ([`rule_picks`]) over the
/// free blocks that hold the request searched at its size plus `align - alignment` (which
/// any block of that size holds at an aligned address), at the chosen block's bottom (top
/// when `top_down`); when no block is that large, the lowest (highest) aligned placement
/// in any block. Which of several equal blocks is taken is the engine's tie-break, checked
/// exactly by the reference test below.
fn oracle(r: &RangeAllocator, size: u64, align: u64, top_down: bool) -> Vec<u64> {
    let free: Vec<Block> = r.blocks().into_iter().filter(|b| !b.allocated).collect();
    let search = size + align.max(r.alignment()) - r.alignment();
    let fits: Vec<&Block> = free.iter().filter(|b| b.size >= search).collect();
    if fits.is_empty() {
        let placed = free.iter().filter_map(|b| placed_in(b, size, align, top_down));
        let fallback = if top_down { placed.max() } else { placed.min() };
        return fallback.into_iter().collect();
    }
    rule_picks(r, &fits, search, top_down)
        .into_iter()
        .filter_map(|b| placed_in(b, size, align, top_down))
        .collect()
}

/// A live allocation: (address, size, alignment, handle if allocated for one).
type Live = (u64, u64, u64, Option<RangeHandle>);

fn check_invariants(r: &RangeAllocator, live: &[Live]) {
    let blocks = r.blocks();
    let mut cursor = r.base();
    let mut previous_free = false;
    for b in &blocks {
        assert_eq!(b.addr, cursor, "blocks tile the range without gaps or overlap");
        assert!(b.size > 0 && b.size % r.alignment() == 0);
        assert!(!previous_free || b.allocated, "free neighbours are always coalesced");
        previous_free = !b.allocated;
        cursor += b.size;
    }
    assert_eq!(cursor, r.end(), "blocks stay inside the range");
    let mut allocated: Vec<(u64, u64)> =
        blocks.iter().filter(|b| b.allocated).map(|b| (b.addr, b.size)).collect();
    let mut expected: Vec<(u64, u64)> = live.iter().map(|&(a, s, _, _)| (a, s)).collect();
    allocated.sort_unstable();
    expected.sort_unstable();
    assert_eq!(allocated, expected, "exactly the live allocations are allocated");
    for &(addr, size, align, _) in live {
        assert_eq!(addr % align, 0, "addresses keep their alignment");
        assert_eq!(r.allocation_size(addr), Some(size));
    }
    let s = r.stats();
    assert_eq!(s.allocated + s.free, s.total);
    assert_eq!(s.allocated, expected.iter().map(|e| e.1).sum::<u64>());
    assert_eq!(s.free_blocks, blocks.iter().filter(|b| !b.allocated).count());
    assert_eq!(s.allocated_blocks, live.len());
    let largest = blocks.iter().filter(|b| !b.allocated).map(|b| b.size).max();
    assert_eq!(s.largest_free.map(|b| b.size), largest);
    assert_eq!(r.largest_free_size(), largest.unwrap_or(0));
    // The largest free size is what the range hands out, in either direction, and no more.
    if let Some(largest) = largest {
        for policy in [Policy::BestFitBottomUp, Policy::TopDown] {
            assert!(r.clone().allocate(largest, 0, policy).is_ok(), "{largest:#x} {policy:?}");
            let more = r.clone().allocate(largest + r.alignment(), 0, policy);
            assert!(more.is_err(), "{more:?} above the largest free block {largest:#x}");
        }
    }
    assert_eq!((r.free_block_count(), r.allocated_block_count()), (s.free_blocks, live.len()));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn random_churn_keeps_every_invariant(
        base in 0u64..4096,
        size in 4096u64..65536,
        align_shift in 4u32..7,
        ops in prop::collection::vec(op(), 1..160),
    ) {
        let mut r = RangeAllocator::new(base, size, 1 << align_shift);
        let mut live: Vec<Live> = Vec::new();
        let mut stale: Vec<RangeHandle> = Vec::new();
        for op in ops {
            match op {
                Op::Alloc { size, align_shift, policy, at } => {
                    let align = (1u64 << align_shift).max(r.alignment());
                    let rounded = r.rounded_size(size).unwrap();
                    let policy = match policy {
                        0 => Policy::BestFitBottomUp,
                        1 => Policy::TopDown,
                        _ => Policy::At((r.base() + at % r.size().max(1)) / align * align),
                    };
                    let allowed = match policy {
                        Policy::At(addr) => {
                            let fits = r.blocks().iter().any(|b| !b.allocated
                                && b.addr <= addr && addr + rounded <= b.addr + b.size);
                            if fits { vec![addr] } else { Vec::new() }
                        }
                        p => oracle(&r, rounded, align, p == Policy::TopDown),
                    };
                    // Every other allocation is made for a handle.
                    let got = if at % 2 == 0 {
                        r.allocate(size, align, policy).map(|addr| (addr, None))
                    } else {
                        r.allocate_handle(size, align, policy).map(|h| (h.addr(), Some(h)))
                    };
                    match &got {
                        Ok((addr, _)) => {
                            prop_assert!(allowed.contains(addr), "{:#x} not in {:x?}", addr, allowed)
                        }
                        Err(e) => {
                            prop_assert!(allowed.is_empty(), "{:?} though {:x?} fit", e, allowed)
                        }
                    }
                    if let Ok((addr, handle)) = got {
                        live.push((addr, rounded, align, handle));
                    }
                }
                Op::Free { pick, by_handle } => {
                    if live.is_empty() {
                        prop_assert!(r.free(r.base()).is_err());
                    } else {
                        let (addr, size, _, handle) = live.swap_remove(pick % live.len());
                        let unknown = Err(RangeError::UnknownAddress { addr });
                        match handle {
                            Some(h) if by_handle => prop_assert_eq!(r.free_handle(h), Ok(size)),
                            _ => prop_assert_eq!(r.free(addr), Ok(size)),
                        }
                        prop_assert_eq!(r.free(addr), unknown.clone());
                        if let Some(h) = handle {
                            prop_assert_eq!(r.free_handle(h), unknown);
                            stale.push(h);
                        }
                    }
                    // Handles freed earlier stay refused whatever reused their nodes.
                    for h in &stale {
                        let unknown = Err(RangeError::UnknownAddress { addr: h.addr() });
                        prop_assert_eq!(r.free_handle(*h), unknown);
                    }
                }
            }
            check_invariants(&r, &live);
        }
        for (addr, size, _, handle) in live.drain(..) {
            match handle {
                Some(h) => prop_assert_eq!(r.free_handle(h), Ok(size)),
                None => prop_assert_eq!(r.free(addr), Ok(size)),
            }
        }
        let all = r.blocks();
        prop_assert_eq!(all.len(), 1, "freeing everything restores one free block");
        prop_assert_eq!((all[0].addr, all[0].size, all[0].allocated), (r.base(), r.size(), false));
    }
}

/// An independent banded best-fit allocator: free blocks in an address-ordered map, the
/// best fit found by full scans (the smallest block of the lowest of four equal address
/// bands that has one that fits, or the smallest anywhere when only that one fits within
/// an eighth of the request), neighbours coalesced on free. Ties on size follow the engine's documented
/// rule: a block below `EXACT_UNITS` alignment units goes most recently freed (or split
/// off) first, a larger one lowest address first. Every block entering the free set gets a
/// fresh stamp to tell "most recently".
struct ReferenceBestFit {
    /// addr -> (size, stamp)
    free: std::collections::BTreeMap<u64, (u64, u64)>,
    alignment: u64,
    clock: u64,
    base: u64,
    size: u64,
}

impl ReferenceBestFit {
    fn new(base: u64, size: u64, alignment: u64) -> Self {
        let free = std::iter::once((base, (size, 0))).filter(|&(_, (s, _))| s > 0).collect();
        Self { free, alignment, clock: 0, base, size }
    }

    fn band(&self, addr: u64) -> usize {
        super::bands::band_of(self.base, self.size, addr)
    }

    fn file(&mut self, addr: u64, size: u64) {
        self.clock += 1;
        self.free.insert(addr, (size, self.clock));
    }

    fn allocate(&mut self, size: u64) -> Option<u64> {
        let small = |hole: u64| hole / self.alignment < super::exact_sizes::EXACT_UNITS;
        let fits = || self.free.iter().filter(|&(_, &(hole, _))| hole >= size);
        let first_band = fits().map(|(&addr, _)| self.band(addr)).min()?;
        let smallest_in = |band: usize| {
            fits().filter(|&(&a, _)| self.band(a) == band).map(|(_, &(h, _))| h).min()
        };
        let slack = size >> super::bands::TIGHT_SHIFT;
        let first_size = smallest_in(first_band)?;
        let smallest = fits().map(|(_, &(h, _))| h).min()?;
        let (band, hole) = if first_size - size > slack && smallest - size <= slack {
            let band = fits().filter(|&(_, &(h, _))| h == smallest).map(|(&a, _)| self.band(a));
            (band.min()?, smallest)
        } else {
            (first_band, first_size)
        };
        let (addr, _) = fits()
            .filter(|&(&a, &(h, _))| self.band(a) == band && h == hole)
            .min_by_key(
                |&(&addr, &(hole, stamp))| {
                    if small(hole) {
                        Reverse(stamp)
                    } else {
                        Reverse(u64::MAX - addr)
                    }
                },
            )
            .map(|(&a, &h)| (a, h))?;
        self.free.remove(&addr);
        if hole > size {
            self.file(addr + size, hole - size);
        }
        Some(addr)
    }

    fn free(&mut self, addr: u64, size: u64) {
        let (mut start, mut len) = (addr, size);
        if let Some((&prev, &(prev_len, _))) = self.free.range(..addr).next_back() {
            if prev + prev_len == addr {
                self.free.remove(&prev);
                (start, len) = (prev, prev_len + len);
            }
        }
        if let Some((next_len, _)) = self.free.remove(&(addr + size)) {
            len += next_len;
        }
        self.file(start, len);
    }

    /// The largest free block, lowest address among equals.
    fn largest(&self) -> Option<FreeBlock> {
        let best = self.free.iter().min_by_key(|&(&addr, &(size, _))| (Reverse(size), addr))?;
        Some(FreeBlock { addr: *best.0, size: best.1 .0 })
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Sizes drawn from a handful of values, as for tensors of a few shapes, so that many
    /// free blocks tie on size and the tie-break rule decides nearly every placement.
    #[test]
    fn default_policy_places_exactly_like_a_reference_best_fit(
        units in prop::collection::vec(prop::sample::select(vec![1u64, 2, 3, 4, 8, 64]), 1..400),
        picks in prop::collection::vec((any::<usize>(), any::<bool>()), 400),
        capacity_units in 64u64..512,
        scale in prop::sample::select(vec![1u64, 64, 4096]),
    ) {
        // Scaled sizes land below, across and above the exact-size limit of the index.
        const ALIGN: u64 = 32;
        let mut r = RangeAllocator::new(0x10_0000, capacity_units * scale * ALIGN, ALIGN);
        let mut reference = ReferenceBestFit::new(r.base(), r.size(), ALIGN);
        let mut live: Vec<(u64, u64, RangeHandle)> = Vec::new();
        let unit = scale * ALIGN;
        // Fill with blocks of one size and free every other one: that size's class grows
        // long (and is ordered), then shrinks as the churn and the final frees coalesce it
        // (and goes back to a list).
        let hole = units[0] * unit;
        let mut filled = 0;
        while let Some(addr) = reference.allocate(hole) {
            let handle = r.allocate_handle(hole, 0, Policy::default());
            prop_assert_eq!(handle.as_ref().ok().map(|h| h.addr()), Some(addr));
            if let Ok(handle) = handle {
                live.push((addr, hole, handle));
            }
            filled += 1;
        }
        prop_assert!(r.allocate_handle(hole, 0, Policy::default()).is_err());
        for (addr, size, handle) in std::mem::take(&mut live) {
            if (addr / hole) % 2 == 0 {
                prop_assert_eq!(r.free_handle(handle), Ok(size));
                reference.free(addr, size);
            } else {
                live.push((addr, size, handle));
            }
        }
        prop_assert!(filled > 0);
        prop_assert_eq!(r.stats().largest_free, reference.largest());
        for (step, &u) in units.iter().enumerate() {
            let (pick, by_handle) = picks[step];
            // Free about one block in three, so the range runs full and fragments.
            if pick % 3 == 0 && !live.is_empty() {
                let (addr, size, handle) = live.swap_remove(pick % live.len());
                let freed = if by_handle { r.free_handle(handle) } else { r.free(addr) };
                prop_assert_eq!(freed, Ok(size));
                reference.free(addr, size);
            }
            // Sizes a little under a whole number of units round up to it.
            let size = u * unit - (pick as u64 % ALIGN);
            let expected = reference.allocate(u * unit);
            let got = r.allocate_handle(size, 0, Policy::default());
            prop_assert_eq!(got.as_ref().ok().map(|h| h.addr()), expected, "step {}", step);
            if let Ok(handle) = got {
                live.push((handle.addr(), u * unit, handle));
            }
            prop_assert_eq!(r.stats().largest_free, reference.largest());
        }
        // Free the rest in a scrambled order, checking the largest block all the way.
        while !live.is_empty() {
            let pick = picks[live.len() % picks.len()].0 % live.len();
            let (addr, size, handle) = live.swap_remove(pick);
            prop_assert_eq!(r.free_handle(handle), Ok(size));
            reference.free(addr, size);
            prop_assert_eq!(r.stats().largest_free, reference.largest());
            let probe = r.allocate_handle(unit, 0, Policy::default());
            prop_assert_eq!(probe.as_ref().ok().map(|h| h.addr()), reference.allocate(unit));
            if let Ok(probe) = probe {
                prop_assert_eq!(r.free_handle(probe), Ok(unit));
                reference.free(probe.addr(), unit);
            }
        }
        prop_assert_eq!(r.stats().free_blocks, 1);
    }
}
