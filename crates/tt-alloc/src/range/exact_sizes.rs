//! Free blocks of small sizes, filed by exact size: one intrusive list per size and a
//! two-level bitmap of the sizes that have a free block.
//!
//! Requests for buffers of a few shapes repeat a few sizes, so most free blocks share their
//! size with many others. Here the smallest size at or above a request is two bit scans and
//! the block taken is the head of that size's list, whatever the number of blocks: filing,
//! taking and unfiling a block (when it coalesces, wherever it sits in its list) are O(1)
//! and touch only the block and its list neighbours. The lists thread through the slab
//! (a free node's `bin_prev`/`bin_next`), so the index itself is one word per size and
//! stays in cache.
//!
//! Among blocks of one size the most recently filed is taken (LIFO). Which equal-sized
//! block serves a request does not change how much memory is used, and the benchmark's
//! pressure traces show the failed bytes within a fraction of a percent of an
//! address-ordered best fit (`cargo bench -p tt-runtime --bench allocator`); keeping
//! address order cost a heap per size whose sifts missed the cache at every level.

use super::node::{Node, NIL};

/// Sizes below this many alignment units are filed here; larger ones in the size classes.
pub(super) const EXACT_UNITS: u64 = 4096;
const WORDS: usize = EXACT_UNITS as usize / 64;

/// Free blocks of fewer than [`EXACT_UNITS`] units, by exact size.
#[derive(Debug, Clone)]
pub(super) struct ExactSizes {
    /// Bit `w` set when `words[w]` is non-zero.
    top: u64,
    /// Bit `u % 64` of word `u / 64` set when size `u` has a free block.
    words: [u64; WORDS],
    /// The first node of each size's list, or [`NIL`].
    heads: Box<[u32; EXACT_UNITS as usize]>,
}

impl ExactSizes {
    pub(super) fn new() -> Self {
        Self { top: 0, words: [0; WORDS], heads: Box::new([NIL; EXACT_UNITS as usize]) }
    }

    /// Files free node `index` of `units` units (below [`EXACT_UNITS`]) at the head of its
    /// size's list.
    #[inline]
    pub(super) fn insert(&mut self, nodes: &mut [Node], units: u64, index: u32) {
        let head = self.heads[units as usize];
        nodes[index as usize].bin_prev = NIL;
        nodes[index as usize].bin_next = head;
        if head == NIL {
            self.words[units as usize / 64] |= 1 << (units % 64);
            self.top |= 1 << (units / 64);
        } else {
            nodes[head as usize].bin_prev = index;
        }
        self.heads[units as usize] = index;
    }

    /// Unfiles free node `index` of `units` units; the caller reuses, resizes or allocates
    /// it next.
    #[inline]
    pub(super) fn remove(&mut self, nodes: &mut [Node], units: u64, index: u32) {
        let Node { bin_prev: prev, bin_next: next, .. } = nodes[index as usize];
        if next != NIL {
            nodes[next as usize].bin_prev = prev;
        }
        if prev != NIL {
            nodes[prev as usize].bin_next = next;
            return;
        }
        self.heads[units as usize] = next;
        if next == NIL {
            self.words[units as usize / 64] &= !(1 << (units % 64));
            if self.words[units as usize / 64] == 0 {
                self.top &= !(1 << (units / 64));
            }
        }
    }

    /// The smallest size of at least `units` units that has a free block.
    #[inline]
    pub(super) fn first_at_least(&self, units: u64) -> Option<u64> {
        if units >= EXACT_UNITS {
            return None;
        }
        let word = units as usize / 64;
        let here = self.words[word] & (u64::MAX << (units % 64));
        if here != 0 {
            return Some(word as u64 * 64 + u64::from(here.trailing_zeros()));
        }
        let above = u64::MAX.checked_shl(word as u32 + 1).map_or(0, |mask| self.top & mask);
        if above == 0 {
            return None;
        }
        let word = above.trailing_zeros() as usize;
        Some(word as u64 * 64 + u64::from(self.words[word].trailing_zeros()))
    }

    /// The largest size that has a free block.
    pub(super) fn largest(&self) -> Option<u64> {
        let word = self.top.checked_ilog2()? as usize;
        // A word's bit is set in `top` only while the word is non-zero.
        Some(word as u64 * 64 + u64::from(self.words[word].checked_ilog2()?))
    }

    /// The block a best fit of `units` units takes: the head of the size's list.
    #[inline]
    pub(super) fn head(&self, units: u64) -> Option<u32> {
        let head = *self.heads.get(units as usize)?;
        (head != NIL).then_some(head)
    }

    /// The free blocks of `units` units, most recently filed first: for the one search the
    /// head does not answer (the lowest address of the largest block, for statistics),
    /// which therefore costs a walk of the size's blocks. No placement walks a list.
    pub(super) fn blocks<'a>(
        &self,
        nodes: &'a [Node],
        units: u64,
    ) -> impl Iterator<Item = u32> + 'a {
        let mut index = self.heads.get(units as usize).copied().unwrap_or(NIL);
        std::iter::from_fn(move || {
            let current = index;
            index = nodes.get(current as usize)?.bin_next;
            Some(current)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(sizes: &ExactSizes, nodes: &[Node], units: u64) -> Vec<u32> {
        sizes.blocks(nodes, units).collect()
    }

    #[test]
    fn lists_are_lifo_and_unlink_from_anywhere() {
        let mut nodes: Vec<Node> = (0..6u64).map(|i| Node::free(i * 0x100, 0x40)).collect();
        let mut sizes = ExactSizes::new();
        assert_eq!((sizes.first_at_least(1), sizes.largest(), sizes.head(4)), (None, None, None));
        for i in 0..4 {
            sizes.insert(&mut nodes, 4, i);
        }
        sizes.insert(&mut nodes, 9, 4);
        sizes.insert(&mut nodes, 4000, 5);
        assert_eq!(listed(&sizes, &nodes, 4), [3, 2, 1, 0]);
        assert_eq!(sizes.head(4), Some(3));
        assert_eq!(sizes.first_at_least(1), Some(4));
        assert_eq!(sizes.first_at_least(5), Some(9));
        assert_eq!(sizes.first_at_least(10), Some(4000));
        assert_eq!(sizes.first_at_least(4001), None);
        assert_eq!(sizes.first_at_least(EXACT_UNITS), None);
        assert_eq!(sizes.largest(), Some(4000));

        // Middle, head, tail: the list stays linked both ways.
        sizes.remove(&mut nodes, 4, 2);
        assert_eq!(listed(&sizes, &nodes, 4), [3, 1, 0]);
        sizes.remove(&mut nodes, 4, 3);
        assert_eq!(listed(&sizes, &nodes, 4), [1, 0]);
        assert_eq!(nodes[1].bin_prev, NIL);
        sizes.remove(&mut nodes, 4, 0);
        assert_eq!(listed(&sizes, &nodes, 4), [1]);
        sizes.insert(&mut nodes, 4, 2);
        assert_eq!(listed(&sizes, &nodes, 4), [2, 1]);
        assert_eq!(nodes[1].bin_prev, 2);
        sizes.remove(&mut nodes, 4, 1);
        sizes.remove(&mut nodes, 4, 2);
        assert_eq!(sizes.head(4), None);
        assert_eq!(sizes.first_at_least(1), Some(9), "an emptied size leaves the bitmap");

        sizes.remove(&mut nodes, 4000, 5);
        assert_eq!(sizes.largest(), Some(9));
        sizes.remove(&mut nodes, 9, 4);
        assert_eq!((sizes.first_at_least(1), sizes.largest()), (None, None));
    }
}
