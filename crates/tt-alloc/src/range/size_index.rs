//! The size index of free blocks: which free block a best fit takes, and which is largest.
//!
//! Sizes are counted in units of the allocator's alignment. Blocks below [`EXACT_UNITS`]
//! units are filed by exact size ([`exact_sizes`](super::exact_sizes)). Larger ones go in
//! size classes under a two-level bitmap (TLSF): every power of two is split into
//! [`SUBCLASSES`] equal classes, so finding the first non-empty class at or above a size is
//! two `trailing_zeros` calls, and each class keeps its blocks in a [`free_tree`] ordered by
//! (size, address), so the best fit inside a class is one descent rather than a walk.

use super::exact_sizes::{ExactSizes, EXACT_UNITS};
use super::free_tree;
use super::node::{Node, NIL};

const SUBCLASS_BITS: u32 = 6;
/// Classes per power of two (and the number of exact classes for the smallest sizes).
pub(super) const SUBCLASSES: u64 = 1 << SUBCLASS_BITS;
const TOP_LEVELS: usize = 64;
const CLASS_COUNT: usize = TOP_LEVELS * SUBCLASSES as usize;

/// Small free blocks by exact size; for the others, the root of each size class's free
/// tree and bitmaps of which classes are non-empty.
#[derive(Debug, Clone)]
pub(super) struct SizeIndex {
    exact: ExactSizes,
    top_bitmap: u64,
    sub_bitmaps: [u64; TOP_LEVELS],
    roots: Box<[u32; CLASS_COUNT]>,
}

/// The class of a block or request of `units` alignment units (`units` > 0).
pub(super) fn class_of(units: u64) -> usize {
    if units < SUBCLASSES {
        return units as usize;
    }
    let msb = 63 - units.leading_zeros();
    let top = (msb - SUBCLASS_BITS + 1) as usize;
    let sub = ((units >> (msb - SUBCLASS_BITS)) & (SUBCLASSES - 1)) as usize;
    // top <= 59 because msb <= 63, so the index stays below CLASS_COUNT.
    top * SUBCLASSES as usize + sub
}

impl SizeIndex {
    pub(super) fn new() -> Self {
        Self {
            exact: ExactSizes::new(),
            top_bitmap: 0,
            sub_bitmaps: [0; TOP_LEVELS],
            roots: Box::new([NIL; CLASS_COUNT]),
        }
    }

    /// The first non-empty class at or above `class`, if any.
    #[inline]
    fn first_non_empty_from(&self, class: usize) -> Option<usize> {
        if class >= CLASS_COUNT {
            return None;
        }
        let top = class / SUBCLASSES as usize;
        let sub = class % SUBCLASSES as usize;
        let here = self.sub_bitmaps[top] & (u64::MAX << sub);
        if here != 0 {
            return Some(top * SUBCLASSES as usize + here.trailing_zeros() as usize);
        }
        // Levels strictly above `top`; none when `top` is the last level.
        let above = u64::MAX.checked_shl(top as u32 + 1).map_or(0, |mask| self.top_bitmap & mask);
        if above == 0 {
            return None;
        }
        let level = above.trailing_zeros() as usize;
        Some(level * SUBCLASSES as usize + self.sub_bitmaps[level].trailing_zeros() as usize)
    }

    /// The highest non-empty class, if any.
    fn last_non_empty(&self) -> Option<usize> {
        if self.top_bitmap == 0 {
            return None;
        }
        let level = 63 - self.top_bitmap.leading_zeros() as usize;
        let sub = 63 - self.sub_bitmaps[level].leading_zeros() as usize;
        Some(level * SUBCLASSES as usize + sub)
    }

    /// The root of `class`'s free tree, or [`NIL`].
    fn root(&self, class: usize) -> u32 {
        self.roots.get(class).copied().unwrap_or(NIL)
    }

    /// Files free node `index` (whose size and address are already set).
    #[inline(always)]
    pub(super) fn insert(&mut self, nodes: &mut [Node], index: u32, align_shift: u32) {
        let units = nodes[index as usize].size >> align_shift;
        if units < EXACT_UNITS {
            self.exact.insert(nodes, units, index);
        } else {
            self.insert_in_class(nodes, index, units);
        }
    }

    // Large blocks are few (most requests are small), so their tree code stays out of line
    // and the exact-size path above inlines into every caller.
    #[inline(never)]
    fn insert_in_class(&mut self, nodes: &mut [Node], index: u32, units: u64) {
        let class = class_of(units);
        self.roots[class] = free_tree::insert(nodes, self.roots[class], index);
        let (top, sub) = (class / SUBCLASSES as usize, class % SUBCLASSES as usize);
        self.sub_bitmaps[top] |= 1 << sub;
        self.top_bitmap |= 1 << top;
    }

    /// Takes free node `index` out of the index; its size and address must be the ones it
    /// was filed with, and the caller resizes, allocates or releases it next.
    #[inline(always)]
    pub(super) fn remove(&mut self, nodes: &mut [Node], index: u32, align_shift: u32) {
        let units = nodes[index as usize].size >> align_shift;
        if units < EXACT_UNITS {
            self.exact.remove(nodes, units, index);
        } else {
            self.remove_from_class(nodes, index, units);
        }
    }

    #[inline(never)]
    fn remove_from_class(&mut self, nodes: &mut [Node], index: u32, units: u64) {
        let class = class_of(units);
        self.roots[class] = free_tree::remove(nodes, self.roots[class], index);
        if self.roots[class] == NIL {
            let (top, sub) = (class / SUBCLASSES as usize, class % SUBCLASSES as usize);
            self.sub_bitmaps[top] &= !(1 << sub);
            if self.sub_bitmaps[top] == 0 {
                self.top_bitmap &= !(1 << top);
            }
        }
    }

    /// The best fit for `size` bytes (`units` alignment units) at the start of a block, or
    /// at its end when `top_down`: a free block of the smallest size that holds it. Among
    /// blocks of that size, a small size's most recently filed block (its list's head, in
    /// either direction); a large size's lowest-addressed one (highest when `top_down`).
    /// Every block holds any request no larger than itself at either end (sizes and
    /// addresses are multiples of the alignment), so no candidate is ever looked at twice:
    /// two bit scans and a list head, or two bit scans and a tree descent.
    #[inline]
    pub(super) fn best_fit(
        &self,
        nodes: &[Node],
        size: u64,
        units: u64,
        top_down: bool,
    ) -> Option<u32> {
        if let Some(index) = self.exact.first_at_least(units).and_then(|u| self.exact.head(u)) {
            return Some(index);
        }
        // No small block fits; an index (or address band) with no large block that can is
        // passed over with two bit scans, without a call.
        let class = self.first_non_empty_from(class_of(units))?;
        self.class_fit(nodes, class, size, top_down)
    }

    /// The best fit among the large blocks, searching from non-empty `class` up.
    #[inline(never)]
    fn class_fit(
        &self,
        nodes: &[Node],
        mut class: usize,
        size: u64,
        top_down: bool,
    ) -> Option<u32> {
        loop {
            let found = free_tree::best_fit(nodes, self.root(class), size, top_down);
            if found != NIL {
                return Some(found);
            }
            class = self.first_non_empty_from(class + 1)?;
        }
    }

    /// The highest size class that has a block, or `None` when only small blocks (or none)
    /// are filed: every block in a class is larger than every small one.
    pub(super) fn top_class(&self) -> Option<usize> {
        self.last_non_empty()
    }

    /// Bytes in the largest free block, or 0: the last class's tree's rightmost node, or the
    /// largest small size.
    pub(super) fn largest_size(&self, nodes: &[Node], align_shift: u32) -> u64 {
        if let Some(class) = self.last_non_empty() {
            let last = free_tree::last(nodes, self.root(class));
            return nodes.get(last as usize).map_or(0, |n| n.size);
        }
        self.exact.largest().map_or(0, |units| units << align_shift)
    }

    /// The largest free block, lowest address among equals. Every block in a class is
    /// larger than every block filed by exact size.
    pub(super) fn largest(&self, nodes: &[Node]) -> Option<u32> {
        if let Some(class) = self.last_non_empty() {
            let root = self.root(class);
            let largest = nodes.get(free_tree::last(nodes, root) as usize)?.size;
            let lowest = free_tree::ceiling(nodes, root, free_tree::first_key_of_size(largest));
            return (lowest != NIL).then_some(lowest);
        }
        let units = self.exact.largest()?;
        self.exact.blocks(nodes, units).min_by_key(|&i| nodes[i as usize].addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_classes_are_exact_and_large_ones_split_each_octave() {
        assert_eq!(class_of(1), 1);
        assert_eq!(class_of(63), 63);
        assert_eq!(class_of(64), 64);
        assert_eq!(class_of(127), 127);
        assert_eq!(class_of(128), 128);
        assert_eq!(class_of(129), 128, "128 and 129 share a class of width 2");
        assert_eq!(class_of(130), 129);
        assert_eq!(class_of(u64::MAX), CLASS_COUNT - 5 * SUBCLASSES as usize - 1);
        let mut last = 0;
        for units in 1..100_000u64 {
            let c = class_of(units);
            assert!(c >= last, "classes grow with size");
            last = c;
        }
    }

    #[test]
    fn best_fit_and_largest_span_exact_sizes_and_classes() {
        use super::super::node::NodeState;
        const SHIFT: u32 = 4;
        let mut nodes = vec![
            Node::free(0x1000, 5 << SHIFT),
            Node::free(0x500, 5 << SHIFT),
            Node::free(0x2000, 40 << SHIFT),
            Node::free(0x10_0000, 1 << 40),
            Node::free(0x20_0000, 1 << 40),
        ];
        let mut index = SizeIndex::new();
        let fit = |index: &SizeIndex, nodes: &[Node], size: u64, top_down| {
            index.best_fit(nodes, size, size >> SHIFT, top_down)
        };
        assert_eq!(fit(&index, &nodes, 16, false), None);
        assert_eq!(index.largest(&nodes), None);
        for i in 0..5 {
            index.insert(&mut nodes, i, SHIFT);
        }
        let units = |u: u64| u << SHIFT;
        // Small sizes: the list head (most recently filed) either way.
        assert_eq!(fit(&index, &nodes, units(3), false), Some(1));
        assert_eq!(fit(&index, &nodes, units(5), true), Some(1));
        assert_eq!(fit(&index, &nodes, units(6), false), Some(2));
        // Large sizes: the lowest address, or the highest top-down.
        assert_eq!(fit(&index, &nodes, units(41), false), Some(3));
        assert_eq!(fit(&index, &nodes, units(41), true), Some(4));
        assert_eq!(fit(&index, &nodes, (1 << 40) + 16, false), None);
        assert_eq!(index.largest(&nodes), Some(3));
        assert_eq!(index.top_class(), Some(class_of(1 << 36)));

        index.remove(&mut nodes, 3, SHIFT);
        nodes[3].set_state(NodeState::Vacant);
        index.remove(&mut nodes, 4, SHIFT);
        nodes[4].set_state(NodeState::Vacant);
        assert_eq!(index.largest(&nodes), Some(2));
        index.remove(&mut nodes, 1, SHIFT);
        nodes[1].set_state(NodeState::Allocated);
        assert_eq!(fit(&index, &nodes, units(3), false), Some(0));
        assert_eq!(fit(&index, &nodes, units(41), false), None);
        index.remove(&mut nodes, 2, SHIFT);
        nodes[2].set_state(NodeState::Vacant);
        assert_eq!(index.largest(&nodes), Some(0));
        assert_eq!((index.top_class(), index.largest_size(&nodes, SHIFT)), (None, units(5)));
    }

    #[test]
    fn many_blocks_of_one_size_come_out_most_recently_filed_first() {
        use super::super::node::NodeState;
        // Filed in a scrambled address order; every third block leaves (coalesced away, say)
        // and the rest come out newest first, each in O(1).
        let mut nodes: Vec<Node> =
            (0..3000u64).map(|i| Node::free((i * 7919 % 3000) * 0x1000, 0x100)).collect();
        let mut index = SizeIndex::new();
        for i in 0..3000 {
            index.insert(&mut nodes, i, 4);
        }
        for i in (0..3000).step_by(3) {
            index.remove(&mut nodes, i, 4);
            nodes[i as usize].set_state(NodeState::Vacant);
        }
        let expected: Vec<u64> =
            (0..3000u64).rev().filter(|i| i % 3 != 0).map(|i| (i * 7919 % 3000) * 0x1000).collect();
        let mut taken = Vec::new();
        while let Some(i) = index.best_fit(&nodes, 0x100, 0x10, false) {
            let addr = nodes[i as usize].addr;
            taken.push(addr);
            index.remove(&mut nodes, i, 4);
            nodes[i as usize].set_state(NodeState::Allocated);
        }
        assert_eq!(taken, expected);
    }
}
