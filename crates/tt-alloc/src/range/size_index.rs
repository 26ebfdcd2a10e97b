//! The segregated size index of free blocks: a two-level bitmap over size classes (TLSF).
//!
//! Sizes are counted in units of the allocator's alignment. Classes below
//! [`SUBCLASSES`] units are exact; above, every power of two is split into
//! [`SUBCLASSES`] equal classes, so a class spans at most 1/64 of its sizes. Finding the
//! first non-empty class at or above a size is two `trailing_zeros` calls, whatever the
//! number of blocks. Each class keeps its blocks in a [`free_tree`] ordered by (size,
//! address), so the best fit inside a class is one descent rather than a walk of the class.

use super::free_tree;
use super::node::{Node, NIL};

const SUBCLASS_BITS: u32 = 6;
/// Classes per power of two (and the number of exact classes for the smallest sizes).
pub(super) const SUBCLASSES: u64 = 1 << SUBCLASS_BITS;
const TOP_LEVELS: usize = 64;
const CLASS_COUNT: usize = TOP_LEVELS * SUBCLASSES as usize;

/// The root of each size class's free tree, and bitmaps of which classes are non-empty.
#[derive(Debug, Clone)]
pub(super) struct SizeIndex {
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
        Self { top_bitmap: 0, sub_bitmaps: [0; TOP_LEVELS], roots: Box::new([NIL; CLASS_COUNT]) }
    }

    /// The first non-empty class at or above `class`, if any.
    pub(super) fn first_non_empty_from(&self, class: usize) -> Option<usize> {
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
    pub(super) fn last_non_empty(&self) -> Option<usize> {
        if self.top_bitmap == 0 {
            return None;
        }
        let level = 63 - self.top_bitmap.leading_zeros() as usize;
        let sub = 63 - self.sub_bitmaps[level].leading_zeros() as usize;
        Some(level * SUBCLASSES as usize + sub)
    }

    /// The root of `class`'s free tree, or [`NIL`].
    pub(super) fn root(&self, class: usize) -> u32 {
        self.roots.get(class).copied().unwrap_or(NIL)
    }

    /// Files free node `index` (whose size is already set) in its class's tree.
    pub(super) fn insert(&mut self, nodes: &mut [Node], index: u32, align_shift: u32) {
        let class = class_of(nodes[index as usize].size >> align_shift);
        self.roots[class] = free_tree::insert(nodes, self.roots[class], index);
        let (top, sub) = (class / SUBCLASSES as usize, class % SUBCLASSES as usize);
        self.sub_bitmaps[top] |= 1 << sub;
        self.top_bitmap |= 1 << top;
    }

    /// Takes free node `index` out of its class's tree; its size and address must be the
    /// ones it was inserted with.
    pub(super) fn remove(&mut self, nodes: &mut [Node], index: u32, align_shift: u32) {
        let class = class_of(nodes[index as usize].size >> align_shift);
        self.roots[class] = free_tree::remove(nodes, self.roots[class], index);
        if self.roots[class] == NIL {
            let (top, sub) = (class / SUBCLASSES as usize, class % SUBCLASSES as usize);
            self.sub_bitmaps[top] &= !(1 << sub);
            if self.sub_bitmaps[top] == 0 {
                self.top_bitmap &= !(1 << top);
            }
        }
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
    fn bitmaps_find_next_and_last_non_empty_class() {
        let mut nodes = vec![Node::free(0, 40 << 4), Node::free(0, 5 << 4), Node::free(0, 1 << 40)];
        let mut index = SizeIndex::new();
        assert_eq!(index.first_non_empty_from(0), None);
        assert_eq!(index.last_non_empty(), None);
        for i in 0..3 {
            index.insert(&mut nodes, i, 4);
        }
        assert_eq!(index.first_non_empty_from(0), Some(5));
        assert_eq!(index.first_non_empty_from(6), Some(40));
        assert_eq!(index.first_non_empty_from(41), Some(class_of(1 << 36)));
        assert_eq!(index.last_non_empty(), Some(class_of(1 << 36)));
        index.remove(&mut nodes, 2, 4);
        assert_eq!(index.first_non_empty_from(41), None);
        assert_eq!(index.first_non_empty_from(CLASS_COUNT), None);
        assert_eq!(index.last_non_empty(), Some(40));
    }
}
