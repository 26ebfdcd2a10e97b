//! Placement policy with exact expected addresses.

use super::*;

fn blocks(r: &RangeAllocator) -> Vec<(u64, u64, bool)> {
    r.blocks().iter().map(|b| (b.addr, b.size, b.allocated)).collect()
}

#[test]
fn new_rounds_alignment_and_shrinks_the_range_to_it() {
    let r = RangeAllocator::new(3, 100, 16);
    assert_eq!((r.base(), r.end(), r.size(), r.alignment()), (16, 96, 80, 16));
    assert_eq!(RangeAllocator::new(0, 1024, 24).alignment(), 32);
    assert_eq!(RangeAllocator::new(0, 1024, 0).alignment(), 1);
    let top = RangeAllocator::new(u64::MAX - 100, 1000, 16);
    assert_eq!(top.end(), !15u64);
    let mut empty = RangeAllocator::new(0, 8, 16);
    assert_eq!(empty.size(), 0);
    assert!(empty.blocks().is_empty());
    assert_eq!(
        empty.allocate(1, 0, Policy::default()),
        Err(RangeError::OutOfMemory { requested: 16, free: 0 })
    );
    assert_eq!(empty.stats().largest_free, None);
}

#[test]
fn bottom_up_packs_from_the_base_in_aligned_sizes() {
    let mut r = RangeAllocator::new(0x1000, 0x1000, 16);
    assert_eq!(r.allocate(100, 0, Policy::BestFitBottomUp), Ok(0x1000));
    assert_eq!(r.allocate(16, 0, Policy::BestFitBottomUp), Ok(0x1070));
    assert_eq!(r.allocation_size(0x1000), Some(112));
    assert_eq!(r.rounded_size(100), Some(112));
    assert_eq!(r.rounded_size(u64::MAX), None);
    assert_eq!(blocks(&r), vec![(0x1000, 112, true), (0x1070, 16, true), (0x1080, 0xf80, false)]);
}

#[test]
fn top_down_packs_from_the_end() {
    let mut r = RangeAllocator::new(0x1000, 0x1000, 16);
    assert_eq!(r.allocate(100, 0, Policy::TopDown), Ok(0x1f90));
    assert_eq!(r.allocate(16, 0, Policy::TopDown), Ok(0x1f80));
    assert_eq!(r.allocate(16, 0x100, Policy::TopDown), Ok(0x1f00));
    assert_eq!(
        blocks(&r),
        vec![
            (0x1000, 0xf00, false),
            (0x1f00, 16, true),
            (0x1f10, 0x70, false),
            (0x1f80, 16, true),
            (0x1f90, 112, true)
        ]
    );
}

/// Holes of 0x100 at 0, 0x40 at 0x110, 0x80 at 0x160 and 0x40 at 0x1f0, separated by
/// 0x10-byte allocations, then the tail from 0x240.
fn holes() -> RangeAllocator {
    let mut r = RangeAllocator::new(0, 0x1000, 16);
    let sizes = [0x100, 0x10, 0x40, 0x10, 0x80, 0x10, 0x40, 0x10];
    let addrs: Vec<u64> =
        sizes.iter().map(|&s| r.allocate(s, 0, Policy::BestFitBottomUp).unwrap()).collect();
    for i in [0, 2, 4, 6] {
        r.free(addrs[i]).unwrap();
    }
    r
}

#[test]
fn best_fit_takes_the_smallest_hole_that_fits() {
    let mut r = holes();
    assert_eq!(r.allocate(0x70, 0, Policy::BestFitBottomUp), Ok(0x160), "0x80 hole");
    assert_eq!(r.allocate(0x90, 0, Policy::BestFitBottomUp), Ok(0x0), "0x100 hole");
    assert_eq!(r.allocate(0x200, 0, Policy::BestFitBottomUp), Ok(0x240), "only the tail fits");
}

#[test]
fn equal_holes_tie_break_by_direction() {
    // The two 0x40 holes were freed 0x110 first, then 0x1f0.
    let mut r = holes();
    assert_eq!(r.allocate(0x30, 0, Policy::BestFitBottomUp), Ok(0x1f0), "last freed 0x40 hole");
    assert_eq!(r.allocate(0x40, 0, Policy::BestFitBottomUp), Ok(0x110), "then the other");
    let mut r = holes();
    assert_eq!(r.allocate(0x30, 0, Policy::TopDown), Ok(0x200), "top of highest 0x40 hole");
}

#[test]
fn aligned_requests_search_for_a_block_that_holds_them_at_any_address() {
    // 0x30 bytes at a multiple of 0x100 are searched as 0x120 bytes, which only the tail
    // holds, although the 0x40 hole at 0x1f0 happens to hold them at 0x200.
    let mut r = holes();
    assert_eq!(r.allocate(0x30, 0x100, Policy::BestFitBottomUp), Ok(0x300));
    assert_eq!(r.allocate(0x30, 0x100, Policy::TopDown), Ok(0xf00));
    // With the tail taken, no block holds 0x120 bytes: the blocks that hold the request at
    // an aligned address are found by a walk, the lowest (highest top-down) first.
    let mut r = holes();
    r.allocate(0xdc0, 0, Policy::At(0x240)).unwrap();
    assert_eq!(r.allocate(0x30, 0x100, Policy::TopDown), Ok(0x200));
    assert_eq!(r.allocate(0x30, 0x100, Policy::BestFitBottomUp), Ok(0));
    // Every multiple of 0x100 is taken now, though 0x1a0 bytes are free.
    assert_eq!(
        r.allocate(0x30, 0x100, Policy::BestFitBottomUp),
        Err(RangeError::Fragmented { requested: 0x30, free: 0x1a0, largest_free_block: 0xd0 })
    );
    // An alignment as large as the range: only its base, if free.
    let mut r = RangeAllocator::new(0, 0x1000, 16);
    assert_eq!(r.allocate(0x10, 0x1000, Policy::TopDown), Ok(0));
    assert_eq!(r.largest_free_size(), 0xff0);
    assert!(r.allocate(0x10, 0x1000, Policy::BestFitBottomUp).is_err());
    assert!(r.allocate(0x10, 1 << 63, Policy::BestFitBottomUp).is_err());
}

#[test]
fn small_equal_holes_go_most_recently_freed_first_and_large_ones_lowest_address_first() {
    for (unit, expect_last_freed) in [(16u64, true), (16 * 8192, false)] {
        let mut r = RangeAllocator::new(0, 64 * unit, 16);
        let a: Vec<u64> =
            (0..6).map(|_| r.allocate(2 * unit, 0, Policy::BestFitBottomUp).unwrap()).collect();
        // Holes of two units at a[1] and a[3], freed high first; a[5] keeps the tail apart.
        r.free(a[3]).unwrap();
        r.free(a[1]).unwrap();
        let (last_freed, lowest) = (a[1], a[1]);
        let got = r.allocate(2 * unit, 0, Policy::BestFitBottomUp).unwrap();
        assert_eq!(got, if expect_last_freed { last_freed } else { lowest }, "unit {unit:#x}");
        r.free(got).unwrap();
        // Freed low first this time: small sizes now take a[3], large ones still a[1].
        let b = r.allocate(2 * unit, 0, Policy::BestFitBottomUp).unwrap();
        let c = r.allocate(2 * unit, 0, Policy::BestFitBottomUp).unwrap();
        r.free(b.min(c)).unwrap();
        r.free(b.max(c)).unwrap();
        let got = r.allocate(2 * unit, 0, Policy::BestFitBottomUp).unwrap();
        assert_eq!(got, if expect_last_freed { a[3] } else { a[1] }, "unit {unit:#x}");
    }
}

#[test]
fn larger_alignment_skips_to_an_aligned_address_and_keeps_the_gap_free() {
    let mut r = RangeAllocator::new(0x1010, 0x1000, 16);
    assert_eq!(r.allocate(16, 0x100, Policy::BestFitBottomUp), Ok(0x1100));
    assert_eq!(blocks(&r), vec![(0x1010, 0xf0, false), (0x1100, 16, true), (0x1110, 0xf00, false)]);
    assert_eq!(
        r.allocate(16, 48, Policy::BestFitBottomUp),
        Err(RangeError::BadAlignment { align: 48 })
    );
    assert_eq!(r.allocate(0, 0, Policy::BestFitBottomUp), Err(RangeError::ZeroSize));
}

#[test]
fn exact_address_succeeds_inside_a_hole_and_splits_it() {
    let mut r = RangeAllocator::new(0, 0x1000, 16);
    assert_eq!(r.allocate(0x20, 0, Policy::At(0x400)), Ok(0x400));
    assert_eq!(blocks(&r), vec![(0, 0x400, false), (0x400, 0x20, true), (0x420, 0xbe0, false)]);
    assert_eq!(r.allocate(0x10, 0, Policy::At(0x420)), Ok(0x420), "right after a block");
    assert_eq!(r.allocate(0x10, 0, Policy::At(0)), Ok(0), "at the base");
    assert_eq!(r.allocate(0x10, 0, Policy::At(0xff0)), Ok(0xff0), "at the end");
}

#[test]
fn exact_address_fails_on_overlap_misalignment_and_outside_the_range() {
    let mut r = RangeAllocator::new(0x1000, 0x1000, 16);
    r.allocate(0x100, 0, Policy::At(0x1400)).unwrap();
    let overlap =
        |addr, size| RangeError::Overlap { addr, size, block_addr: 0x1400, block_size: 0x100 };
    assert_eq!(r.allocate(0x10, 0, Policy::At(0x1480)), Err(overlap(0x1480, 0x10)));
    assert_eq!(r.allocate(0x20, 0, Policy::At(0x13f0)), Err(overlap(0x13f0, 0x20)), "runs into it");
    assert_eq!(
        r.allocate(0x10, 0, Policy::At(0x1408)),
        Err(RangeError::Misaligned { addr: 0x1408, alignment: 16 })
    );
    assert_eq!(
        r.allocate(0x10, 0x100, Policy::At(0x1010)),
        Err(RangeError::Misaligned { addr: 0x1010, alignment: 0x100 })
    );
    let outside = |addr, size| RangeError::OutOfRange { addr, size, base: 0x1000, end: 0x2000 };
    assert_eq!(r.allocate(0x10, 0, Policy::At(0xff0)), Err(outside(0xff0, 0x10)));
    assert_eq!(r.allocate(0x20, 0, Policy::At(0x1ff0)), Err(outside(0x1ff0, 0x20)));
    assert_eq!(r.allocate(0x10, 0, Policy::At(!15u64)), Err(outside(!15u64, 0x10)));
    assert_eq!(r.stats().allocated_blocks, 1, "failures change nothing");
}

#[test]
fn free_returns_the_size_and_refuses_unknown_and_double_frees() {
    let mut r = RangeAllocator::new(0, 0x1000, 32);
    let a = r.allocate(40, 0, Policy::BestFitBottomUp).unwrap();
    assert_eq!(r.free(a + 32), Err(RangeError::UnknownAddress { addr: a + 32 }));
    assert_eq!(r.free(a), Ok(64));
    assert_eq!(r.free(a), Err(RangeError::UnknownAddress { addr: a }));
    assert_eq!(blocks(&r), vec![(0, 0x1000, false)]);
}

#[test]
fn freeing_coalesces_with_both_neighbours() {
    let mut r = RangeAllocator::new(0, 0x300, 16);
    let a: Vec<u64> = (0..3).map(|_| r.allocate(0x100, 0, Policy::default()).unwrap()).collect();
    r.free(a[0]).unwrap();
    r.free(a[2]).unwrap();
    assert_eq!(r.stats().free_blocks, 2);
    r.free(a[1]).unwrap();
    assert_eq!(blocks(&r), vec![(0, 0x300, false)]);
    assert_eq!(r.stats().free_blocks, 1);
}

#[test]
fn out_of_memory_and_fragmentation_are_told_apart() {
    let mut r = RangeAllocator::new(0x100, 0x400, 16);
    let a: Vec<u64> = (0..4).map(|_| r.allocate(0x100, 0, Policy::default()).unwrap()).collect();
    r.free(a[0]).unwrap();
    r.free(a[2]).unwrap();
    assert_eq!(
        r.allocate(0x300, 0, Policy::default()),
        Err(RangeError::OutOfMemory { requested: 0x300, free: 0x200 })
    );
    assert_eq!(
        r.allocate(0x180, 0, Policy::default()),
        Err(RangeError::Fragmented { requested: 0x180, free: 0x200, largest_free_block: 0x100 })
    );
    assert_eq!(
        r.allocate(0x10, 0x400, Policy::default()),
        Err(RangeError::Fragmented { requested: 0x10, free: 0x200, largest_free_block: 0x100 }),
        "free space exists but not at a 0x400-aligned address"
    );
    let msg = RangeError::Fragmented { requested: 1, free: 2, largest_free_block: 0 }.to_string();
    assert!(
        msg.contains("largest free block is 0 bytes") && msg.contains("free neighbouring"),
        "{msg}"
    );
}

#[test]
fn stats_count_bytes_blocks_and_name_the_largest_hole() {
    let mut r = holes();
    let s = r.stats();
    assert_eq!(
        s,
        RangeStats {
            total: 0x1000,
            allocated: 0x40,
            free: 0xfc0,
            largest_free: Some(FreeBlock { addr: 0x240, size: 0xdc0 }),
            free_blocks: 5,
            allocated_blocks: 4,
        }
    );
    r.allocate(0xdc0, 0, Policy::default()).unwrap();
    assert_eq!(r.stats().largest_free, Some(FreeBlock { addr: 0, size: 0x100 }));
}

#[test]
fn handle_round_trip_frees_without_the_address_map() {
    let mut r = RangeAllocator::new(0, 0x1000, 32);
    let a = r.allocate_handle(40, 0, Policy::BestFitBottomUp).unwrap();
    let b = r.allocate_handle(0x100, 0, Policy::TopDown).unwrap();
    assert_eq!((a.addr(), b.addr()), (0, 0xf00));
    assert_eq!(r.allocation_size(a.addr()), Some(64), "handle blocks are still found by address");
    assert_eq!(r.stats().allocated_blocks, 2);
    assert_eq!(r.free_handle(a), Ok(64));
    assert_eq!(r.free_handle(b), Ok(0x100));
    assert_eq!(r.stats().allocated_blocks, 0);
    assert_eq!(blocks(&r), vec![(0, 0x1000, false)]);
}

#[test]
fn handle_double_free_is_refused_like_an_unknown_address() {
    let mut r = RangeAllocator::new(0, 0x1000, 32);
    let keep = r.allocate_handle(0x40, 0, Policy::default()).unwrap();
    let a = r.allocate_handle(0x40, 0, Policy::default()).unwrap();
    assert_eq!(r.free_handle(a), Ok(0x40));
    assert_eq!(r.free_handle(a), Err(RangeError::UnknownAddress { addr: a.addr() }));
    // Freed by address after a handle free, and the other way round.
    assert_eq!(r.free(a.addr()), Err(RangeError::UnknownAddress { addr: a.addr() }));
    assert_eq!(r.free(keep.addr()), Ok(0x40));
    assert_eq!(r.free_handle(keep), Err(RangeError::UnknownAddress { addr: keep.addr() }));
    assert_eq!(blocks(&r), vec![(0, 0x1000, false)]);
}

#[test]
fn stale_handle_after_reuse_is_refused_and_leaves_the_new_block_alone() {
    let mut r = RangeAllocator::new(0, 0x1000, 32);
    let old = r.allocate_handle(0x1000, 0, Policy::default()).unwrap();
    assert_eq!(r.free_handle(old), Ok(0x1000));
    // The same node, at the same address and size, now holds a new block.
    let new = r.allocate_handle(0x1000, 0, Policy::default()).unwrap();
    assert_eq!(new.addr(), old.addr());
    assert_ne!(new, old);
    assert_eq!(r.free_handle(old), Err(RangeError::UnknownAddress { addr: 0 }));
    // A block allocated by address in that node is not freed by the stale handle either.
    assert_eq!(r.free_handle(new), Ok(0x1000));
    assert_eq!(r.allocate(0x1000, 0, Policy::default()), Ok(0));
    assert_eq!(r.free_handle(new), Err(RangeError::UnknownAddress { addr: 0 }));
    assert_eq!(r.allocation_size(0), Some(0x1000));
    assert_eq!(r.free(0), Ok(0x1000));
}

/// A range of 32 units (bands of 8 units) holding allocations everywhere except the holes
/// `(offset, size)`, both in units and in address order, every allocation placed exactly.
fn layout_with_holes(unit: u64, holes: &[(u64, u64)]) -> RangeAllocator {
    let mut r = RangeAllocator::new(0, 32 * unit, 16);
    let mut cursor = 0;
    for &(offset, size) in holes.iter().chain(&[(32, 0)]) {
        if offset > cursor {
            let addr = cursor * unit;
            assert_eq!(r.allocate((offset - cursor) * unit, 0, Policy::At(addr)), Ok(addr));
        }
        cursor = offset + size;
    }
    let free: Vec<(u64, u64)> = blocks(&r)
        .into_iter()
        .filter(|b| !b.2)
        .map(|(addr, size, _)| (addr / unit, size / unit))
        .collect();
    assert_eq!(free, holes, "the layout has exactly the holes asked for");
    r
}

/// Units the exact-size lists hold (0x100 bytes is 16 alignment units) and units the size
/// classes hold (0x20000 bytes is 8192 units, above the exact-size limit).
const TRAP_UNITS: [u64; 2] = [0x100, 0x20000];

/// Places `requests` (in units) with `policy`, each of which must succeed.
fn place_all(r: &mut RangeAllocator, unit: u64, requests: &[u64], policy: Policy) -> Vec<u64> {
    requests
        .iter()
        .enumerate()
        .map(|(i, &units)| match r.allocate(units * unit, 0, policy) {
            Ok(addr) => addr / unit,
            Err(e) => panic!("request {i} of {units} units (unit {unit:#x}, {policy:?}): {e}"),
        })
        .collect()
}

#[test]
fn a_loose_fit_in_a_low_band_does_not_waste_an_exact_hole_higher_up() {
    // Holes of 3u and 2u in the lowest band, 1u in the next one: best fit within the lowest
    // band put u in the 2u hole and the first 2u in the 3u hole, leaving two 1u holes and
    // nowhere for the second 2u. First fit and exact best fit both place all three.
    for unit in TRAP_UNITS {
        let mut r = layout_with_holes(unit, &[(0, 3), (4, 2), (12, 1)]);
        let placed = place_all(&mut r, unit, &[1, 2, 2], Policy::BestFitBottomUp);
        assert_eq!(placed, [12, 4, 0], "unit {unit:#x}: the exact holes, then the 3u hole");
        assert_eq!(r.free_bytes(), unit);
        // The mirror image for top-down: holes of 3u and 2u in the highest band, 1u below.
        let mut r = layout_with_holes(unit, &[(19, 1), (26, 2), (29, 3)]);
        let placed = place_all(&mut r, unit, &[1, 2, 2], Policy::TopDown);
        assert_eq!(placed, [19, 26, 30], "unit {unit:#x}: exact holes, then the 3u hole's top");
    }
}

#[test]
fn small_requests_do_not_cut_up_the_one_large_hole_while_exact_holes_wait_higher_up() {
    // First fit's trap, which best fit within the lowest band inherited: one 6u hole in the
    // lowest band, six 1u holes above it; six requests of u then one of 6u. Filling the 6u
    // hole with the small requests leaves nowhere for the large one.
    let small = [(10, 1), (14, 1), (18, 1), (22, 1), (26, 1), (30, 1)];
    let requests = [1, 1, 1, 1, 1, 1, 6];
    for unit in TRAP_UNITS {
        let mut holes = vec![(0, 6)];
        holes.extend(small);
        let mut r = layout_with_holes(unit, &holes);
        let placed = place_all(&mut r, unit, &requests, Policy::BestFitBottomUp);
        assert_eq!(placed[6], 0, "unit {unit:#x}: the large request gets the large hole");
        assert_eq!(r.free_bytes(), 0);
        // Mirrored: the large hole at the top, the 1u holes below it, placed top-down.
        let mut holes: Vec<(u64, u64)> = small.iter().map(|&(o, s)| (31 - o, s)).rev().collect();
        holes.push((26, 6));
        let mut r = layout_with_holes(unit, &holes);
        let placed = place_all(&mut r, unit, &requests, Policy::TopDown);
        assert_eq!(placed[6], 26, "unit {unit:#x}: top-down, the large hole is kept whole");
        assert_eq!(r.free_bytes(), 0);
    }
}
