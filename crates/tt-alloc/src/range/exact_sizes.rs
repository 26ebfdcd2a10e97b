//! Free blocks of small sizes, filed by exact size: one min-heap of addresses per size and
//! a two-level bitmap of the sizes that have a free block.
//!
//! Requests for buffers of a few shapes repeat a few sizes, so most free blocks share their
//! size with many others. Here the smallest size at or above a request is two bit scans, and
//! the lowest address of that size is the top of its heap: best fit with ties to the lowest
//! address, whatever the number of blocks. Heaps are contiguous arrays, so they stay in
//! cache where a tree threaded through the slab would miss at every level.
//!
//! Removal is lazy, because a block leaves the index when it coalesces, wherever it sits in
//! its heap: the size's count drops at once, and its heap entry stays until it surfaces at
//! the top or the heap is compacted. An entry is live when its node is still a free block
//! at that address and of that size; a block that left and came back has a fresh entry, and
//! a stale copy of it is harmless because it names the same block.

use super::node::{Node, NodeState, NIL};

/// Sizes below this many alignment units are filed here; larger ones in the size classes.
pub(super) const EXACT_UNITS: u64 = 4096;
const WORDS: usize = EXACT_UNITS as usize / 64;

#[derive(Debug, Clone, Copy)]
struct Entry {
    addr: u64,
    node: u32,
}

/// The blocks of one size: the lowest-address entry inline, the others in a min-heap by
/// address. A best fit reads one cache line, and a size with a single free block (the common
/// case in a bank of varied sizes) never touches its heap.
#[derive(Debug, Clone)]
struct Group {
    first_addr: u64,
    /// [`NIL`] when the group has no entry.
    first_node: u32,
    /// Free blocks of this size (entries may be more: stale ones).
    live: u32,
    rest: Vec<Entry>,
}

impl Default for Group {
    fn default() -> Self {
        Self { first_addr: 0, first_node: NIL, live: 0, rest: Vec::new() }
    }
}

impl Group {
    fn first(&self) -> Option<Entry> {
        (self.first_node != NIL).then_some(Entry { addr: self.first_addr, node: self.first_node })
    }

    fn set_first(&mut self, entry: Option<Entry>) {
        let e = entry.unwrap_or(Entry { addr: 0, node: NIL });
        (self.first_addr, self.first_node) = (e.addr, e.node);
    }

    fn push(&mut self, entry: Entry) {
        match self.first() {
            None => self.set_first(Some(entry)),
            Some(first) if entry.addr < first.addr => {
                push_heap(&mut self.rest, first);
                self.set_first(Some(entry));
            }
            Some(_) => push_heap(&mut self.rest, entry),
        }
    }

    fn pop_first(&mut self) {
        let next = pop_heap(&mut self.rest);
        self.set_first(next);
    }

    fn clear(&mut self) {
        self.set_first(None);
        self.rest.clear();
    }

    fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
        self.first().into_iter().chain(self.rest.iter().copied())
    }
}

/// Free blocks of fewer than [`EXACT_UNITS`] units, by exact size.
#[derive(Debug, Clone)]
pub(super) struct ExactSizes {
    /// Bit `w` set when `words[w]` is non-zero.
    top: u64,
    /// Bit `u % 64` of word `u / 64` set when size `u` has a free block.
    words: [u64; WORDS],
    groups: Box<[Group]>,
}

fn is_live(nodes: &[Node], entry: Entry, units: u64, align_shift: u32) -> bool {
    nodes.get(entry.node as usize).is_some_and(|n| {
        n.state() == NodeState::Free && n.addr == entry.addr && n.size >> align_shift == units
    })
}

impl ExactSizes {
    pub(super) fn new() -> Self {
        let groups = vec![Group::default(); EXACT_UNITS as usize].into_boxed_slice();
        Self { top: 0, words: [0; WORDS], groups }
    }

    /// Files free block `node` of `units` units (below [`EXACT_UNITS`]) at `addr`.
    pub(super) fn insert(&mut self, units: u64, addr: u64, node: u32) {
        let group = &mut self.groups[units as usize];
        group.live += 1;
        group.push(Entry { addr, node });
        self.words[units as usize / 64] |= 1 << (units % 64);
        self.top |= 1 << (units / 64);
    }

    /// Takes free block `node` of `units` units at `addr` out of the count; its entry goes
    /// stale once the caller reuses, resizes or allocates the node, which it does next.
    pub(super) fn remove(
        &mut self,
        nodes: &[Node],
        units: u64,
        addr: u64,
        node: u32,
        align_shift: u32,
    ) {
        let group = &mut self.groups[units as usize];
        group.live -= 1;
        if group.live == 0 {
            group.clear();
            self.words[units as usize / 64] &= !(1 << (units % 64));
            if self.words[units as usize / 64] == 0 {
                self.top &= !(1 << (units / 64));
            }
            return;
        }
        // A best fit takes the first entry: drop it now, while it is in cache, rather than
        // have the next search find it stale.
        if group.first_node == node && group.first_addr == addr {
            group.pop_first();
        }
        if group.rest.len() > 2 * group.live as usize + 32 {
            // Stale entries outnumber live ones: rebuild, paid for by the removals that
            // made them stale. The block being removed still looks live and is kept, to go
            // stale like any other.
            group.rest.retain(|&e| is_live(nodes, e, units, align_shift));
            heapify(&mut group.rest);
            if group.first().is_some_and(|e| !is_live(nodes, e, units, align_shift)) {
                group.pop_first();
            }
        }
    }

    /// The smallest size of at least `units` units that has a free block.
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

    /// The free block of `units` units at the lowest address, dropping stale entries from
    /// the top of the heap on the way. The size must have a free block.
    pub(super) fn lowest(&mut self, nodes: &[Node], units: u64, align_shift: u32) -> Option<u32> {
        let group = &mut self.groups[units as usize];
        while let Some(first) = group.first() {
            if is_live(nodes, first, units, align_shift) {
                return Some(first.node);
            }
            group.pop_first();
        }
        None
    }

    /// The free block of `units` units at the lowest address, without touching the heap:
    /// the first entry when it is live (it is the lowest of all entries), else a walk.
    pub(super) fn lowest_in_place(
        &self,
        nodes: &[Node],
        units: u64,
        align_shift: u32,
    ) -> Option<u32> {
        let group = &self.groups[units as usize];
        match group.first() {
            Some(first) if is_live(nodes, first, units, align_shift) => Some(first.node),
            _ => self.blocks(nodes, units, align_shift).min_by_key(|&i| nodes[i as usize].addr),
        }
    }

    /// The live blocks of `units` units, in no particular order (a block may come twice):
    /// for the rare searches the heap order does not answer (a larger alignment, or top-down
    /// placement), which therefore cost a walk of the size's blocks.
    pub(super) fn blocks<'a>(
        &'a self,
        nodes: &'a [Node],
        units: u64,
        align_shift: u32,
    ) -> impl Iterator<Item = u32> + 'a {
        let group = &self.groups[units as usize];
        group.entries().filter(move |&e| is_live(nodes, e, units, align_shift)).map(|e| e.node)
    }
}

fn push_heap(heap: &mut Vec<Entry>, entry: Entry) {
    heap.push(entry);
    sift_up(heap);
}

/// Removes and returns the lowest entry.
fn pop_heap(heap: &mut Vec<Entry>) -> Option<Entry> {
    if heap.is_empty() {
        return None;
    }
    let lowest = heap.swap_remove(0);
    sift_down(heap, 0);
    Some(lowest)
}

fn sift_up(heap: &mut [Entry]) {
    let mut i = heap.len().saturating_sub(1);
    while i > 0 {
        let parent = (i - 1) / 2;
        if heap[parent].addr <= heap[i].addr {
            break;
        }
        heap.swap(parent, i);
        i = parent;
    }
}

fn sift_down(heap: &mut [Entry], mut i: usize) {
    loop {
        let (l, r) = (2 * i + 1, 2 * i + 2);
        let mut smallest = i;
        if l < heap.len() && heap[l].addr < heap[smallest].addr {
            smallest = l;
        }
        if r < heap.len() && heap[r].addr < heap[smallest].addr {
            smallest = r;
        }
        if smallest == i {
            return;
        }
        heap.swap(i, smallest);
        i = smallest;
    }
}

fn heapify(heap: &mut [Entry]) {
    for i in (0..heap.len() / 2).rev() {
        sift_down(heap, i);
    }
}
