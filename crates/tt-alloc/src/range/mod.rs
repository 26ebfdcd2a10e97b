//! The single-range allocation engine: one address range, best fit within address bands
//! ([`Policy::BestFitBottomUp`], or [`Policy::TopDown`], at any power-of-two alignment) at
//! a cost that stays flat as the number of blocks grows; where a request goes is decided in
//! [`search`].
//!
//! Blocks (free and allocated) tile the range and live in a slab linked in address order, so
//! freeing coalesces with both neighbours in O(1). Free blocks are also filed by the band
//! their address falls in ([`bands`]), each band with a size index ([`size_index`]): small
//! blocks by exact size, each size a list, so a best fit is two bit scans and a list head;
//! larger ones in two-level segregated size classes, each class a tree ordered by (size,
//! address), so the best fit is one descent however many blocks share a size. The largest
//! free size is kept as blocks come and go, so publishing it costs nothing. Allocated
//! blocks are found by address through a hash map when callers free by address
//! ([`RangeAllocator::free`]); callers that keep a [`RangeHandle`] free without any lookup
//! ([`RangeAllocator::free_handle`]), the handle naming the block's node directly and a
//! generation catching stale and double frees.

mod addr_map;
mod bands;
mod exact_sizes;
mod free_tree;
mod node;
#[cfg(test)]
mod proptests;
mod search;
mod size_index;
#[cfg(test)]
mod tests;

use std::num::NonZeroU32;

use serde::Serialize;

use crate::error::RangeError;
use addr_map::AddrMap;
use bands::BandedIndex;
use node::{Node, NodeState, Slab, GENERATION_MASK, NIL, UNINDEXED};

/// Where in the range an allocation goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// Best fit within address bands, at the block's bottom: the range is cut into four
    /// equal bands, and the request takes the smallest free block that fits among those
    /// starting in the lowest band that has one, unless that block would keep more than a
    /// quarter of the request over while the smallest block that fits anywhere would not:
    /// then that one (lowest band first). Among blocks of one size, a small one (below
    /// 4096 alignment units) is taken most recently freed first, a large one lowest address
    /// first. Packing low like a first fit while fitting tightly like a best fit, it fails
    /// fewer bytes than either on the benchmark's pressure traces. A request aligned beyond
    /// the range's alignment is searched as `align - alignment` bytes larger (any block that
    /// large holds it), and only when no block is that large by a walk for a block that
    /// holds it at an aligned address, so it fails only when nothing can take it. Every
    /// search is a few bit scans and at most a tree descent per band, whatever the number of
    /// blocks.
    #[default]
    BestFitBottomUp,
    /// The mirror image: the highest band first, at the block's top; among blocks of one
    /// size, a small one most recently freed first, a large one highest address first.
    TopDown,
    /// Exactly at this address, or an error.
    At(u64),
}

/// One block of the range, as listed by [`RangeAllocator::blocks`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Block {
    /// First address.
    pub addr: u64,
    /// Bytes.
    pub size: u64,
    /// True for an allocation, false for free space.
    pub allocated: bool,
}

/// Occupancy of one range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RangeStats {
    /// Bytes the range can hand out.
    pub total: u64,
    /// Bytes in allocated blocks.
    pub allocated: u64,
    /// Bytes in free blocks (`total - allocated`).
    pub free: u64,
    /// The largest free block (lowest address among equals), if any.
    pub largest_free: Option<FreeBlock>,
    /// Number of free blocks.
    pub free_blocks: usize,
    /// Number of allocated blocks.
    pub allocated_blocks: usize,
}

/// A free block named in statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FreeBlock {
    /// First address.
    pub addr: u64,
    /// Bytes.
    pub size: u64,
}

/// An allocation made by [`RangeAllocator::allocate_handle`], to give back to
/// [`RangeAllocator::free_handle`]. It names the block's node, so freeing needs no address
/// lookup; its generation tells a live block from a stale handle (freed already, or whose
/// node has since been reused), which is refused like an unknown address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RangeHandle {
    addr: u64,
    node: u32,
    /// The node's generation with [`UNINDEXED`] set, never zero: callers keep handles in
    /// `Option`s by the million, and the niche keeps those at 16 bytes.
    generation: NonZeroU32,
}

impl RangeHandle {
    /// First address of the allocation.
    pub fn addr(&self) -> u64 {
        self.addr
    }
}

/// Hands out aligned, disjoint pieces of one address range `[base, base + size)`.
///
/// It only does arithmetic on addresses; it never touches the memory they name.
#[derive(Debug, Clone)]
pub struct RangeAllocator {
    base: u64,
    end: u64,
    alignment: u64,
    align_shift: u32,
    slab: Slab,
    head: u32,
    index: BandedIndex,
    allocated_nodes: AddrMap,
    allocated_bytes: u64,
    allocated_blocks: usize,
    free_blocks: usize,
    /// Bytes in the largest free block, kept as blocks are filed and unfiled so that
    /// monitors read it after every operation for nothing; while `largest_stale`, only an
    /// upper bound, recomputed from the index before the operation returns.
    largest: u64,
    largest_stale: bool,
    /// Generation stamped on the next block allocated (31 bits, wrapping).
    next_generation: u32,
}

fn align_up(value: u64, align: u64) -> Option<u64> {
    value.checked_add(align - 1).map(|v| v & !(align - 1))
}

fn align_down(value: u64, align: u64) -> u64 {
    value & !(align - 1)
}

impl RangeAllocator {
    /// A range of `size` bytes from `base` whose addresses and sizes are multiples of
    /// `alignment`. An alignment that is not a power of two is rounded up to one, and the
    /// range is shrunk inward to alignment boundaries (and to the end of the address
    /// space), so any input gives a valid, possibly empty, allocator.
    pub fn new(base: u64, size: u64, alignment: u64) -> Self {
        let alignment = alignment.max(1).checked_next_power_of_two().unwrap_or(1 << 63);
        let end = align_down(base.saturating_add(size), alignment);
        let base = align_up(base, alignment).unwrap_or(end).min(end);
        let mut slab = Slab::default();
        let mut index = BandedIndex::new(base, end.saturating_sub(base));
        let align_shift = alignment.trailing_zeros();
        let mut head = NIL;
        let mut free_blocks = 0;
        if end > base {
            head = slab.insert(Node::free(base, end - base));
            index.insert(&mut slab.nodes, head, align_shift);
            free_blocks = 1;
        }
        Self {
            base,
            end,
            alignment,
            align_shift,
            slab,
            head,
            index,
            allocated_nodes: AddrMap::default(),
            allocated_bytes: 0,
            allocated_blocks: 0,
            free_blocks,
            largest: end.saturating_sub(base),
            largest_stale: false,
            next_generation: 0,
        }
    }

    /// First address of the range.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// One past the last address of the range.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Bytes in the range.
    pub fn size(&self) -> u64 {
        self.end - self.base
    }

    /// The alignment every address and size is a multiple of.
    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Bytes free.
    pub fn free_bytes(&self) -> u64 {
        self.size() - self.allocated_bytes
    }

    /// Number of free blocks.
    pub fn free_block_count(&self) -> usize {
        self.free_blocks
    }

    /// Number of allocated blocks.
    pub fn allocated_block_count(&self) -> usize {
        self.allocated_blocks
    }

    /// `size` rounded up to the range's alignment, or `None` on overflow.
    pub fn rounded_size(&self, size: u64) -> Option<u64> {
        align_up(size, self.alignment)
    }

    /// Allocates `size` bytes (rounded up to the alignment) at an address that is a
    /// multiple of `align` (at least the range's alignment; 0 means the range's), placed by
    /// `policy`. Returns the address.
    pub fn allocate(&mut self, size: u64, align: u64, policy: Policy) -> Result<u64, RangeError> {
        let (node, addr, size) = self.place(size, align, policy)?;
        self.carve(node, addr, size, true);
        Ok(addr)
    }

    /// Like [`RangeAllocator::allocate`], but returns a handle to free the block with
    /// [`RangeAllocator::free_handle`], which needs no address lookup. The block is not
    /// indexed by address: [`RangeAllocator::free`] and [`RangeAllocator::allocation_size`]
    /// still find it, but only by a walk of the range.
    pub fn allocate_handle(
        &mut self,
        size: u64,
        align: u64,
        policy: Policy,
    ) -> Result<RangeHandle, RangeError> {
        let (node, addr, size) = self.place(size, align, policy)?;
        let generation = self.carve(node, addr, size, false);
        let generation = NonZeroU32::new(generation | UNINDEXED).unwrap_or(NonZeroU32::MIN);
        Ok(RangeHandle { addr, node, generation })
    }

    /// Frees the allocation `handle` names and returns its size. A handle whose block was
    /// freed already (by either free), or whose node has since been reused, is refused
    /// with [`RangeError::UnknownAddress`]. Generations are 31 bits, so a stale handle is
    /// caught unless its node was reallocated exactly 2^31 times in between.
    pub fn free_handle(&mut self, handle: RangeHandle) -> Result<u64, RangeError> {
        let live = self.slab.nodes.get(handle.node as usize).is_some_and(|n| {
            n.state() == NodeState::Allocated
                && n.bin_next == handle.generation.get()
                && n.addr == handle.addr
        });
        if !live {
            return Err(RangeError::UnknownAddress { addr: handle.addr });
        }
        Ok(self.release(handle.node))
    }

    /// Checks a request and finds where it goes: (free node, address, rounded size).
    #[inline]
    fn place(
        &mut self,
        size: u64,
        align: u64,
        policy: Policy,
    ) -> Result<(u32, u64, u64), RangeError> {
        if size == 0 {
            return Err(RangeError::ZeroSize);
        }
        if align != 0 && !align.is_power_of_two() {
            return Err(RangeError::BadAlignment { align });
        }
        let align = align.max(self.alignment);
        let free = self.free_bytes();
        let Some(size) = align_up(size, self.alignment) else {
            return Err(RangeError::OutOfMemory { requested: size, free });
        };
        if size > free {
            return Err(RangeError::OutOfMemory { requested: size, free });
        }
        if !self.slab.has_room_for(2) {
            return Err(RangeError::TooManyBlocks);
        }
        let (node, addr) = match policy {
            Policy::At(addr) => self.find_exact(addr, size, align)?,
            Policy::BestFitBottomUp | Policy::TopDown => {
                let top_down = policy == Policy::TopDown;
                match self.find_fit(size, align, top_down) {
                    Some(found) => found,
                    None => return Err(self.no_fit_error(size)),
                }
            }
        };
        Ok((node, addr, size))
    }

    /// Frees the allocation starting at `addr` and returns its size. An address where no
    /// allocation starts (never allocated, or freed already) is an error.
    pub fn free(&mut self, addr: u64) -> Result<u64, RangeError> {
        let index = match self.allocated_nodes.remove(addr) {
            Some(index) => index,
            None => self.find_unindexed(addr).ok_or(RangeError::UnknownAddress { addr })?,
        };
        Ok(self.release(index))
    }

    /// The allocated block starting at `addr` that [`RangeAllocator::allocate_handle`]
    /// made (and so is not in the address map), by a walk in address order.
    fn find_unindexed(&self, addr: u64) -> Option<u32> {
        if self.allocated_blocks == self.allocated_nodes.len() {
            return None;
        }
        let mut index = self.head;
        while index != NIL {
            let n = &self.slab.nodes[index as usize];
            if n.addr >= addr {
                let hit = n.addr == addr
                    && n.state() == NodeState::Allocated
                    && n.bin_next & UNINDEXED != 0;
                return hit.then_some(index);
            }
            index = n.next;
        }
        None
    }

    /// Turns allocated node `index` (already out of the address map) into free space,
    /// coalescing with free neighbours, and returns its size.
    #[inline]
    fn release(&mut self, mut index: u32) -> u64 {
        let size = self.slab.nodes[index as usize].size;
        self.allocated_bytes -= size;
        self.slab.nodes[index as usize].set_state(NodeState::Free);
        let prev = self.slab.nodes[index as usize].prev;
        if prev != NIL && self.slab.nodes[prev as usize].state() == NodeState::Free {
            self.unfile(prev);
            self.slab.nodes[prev as usize].size += self.slab.nodes[index as usize].size;
            self.unlink(index);
            self.slab.release(index);
            self.free_blocks -= 1;
            index = prev;
        }
        let next = self.slab.nodes[index as usize].next;
        if next != NIL && self.slab.nodes[next as usize].state() == NodeState::Free {
            self.unfile(next);
            self.slab.nodes[index as usize].size += self.slab.nodes[next as usize].size;
            self.unlink(next);
            self.slab.release(next);
            self.free_blocks -= 1;
        }
        self.file(index);
        self.free_blocks += 1;
        self.allocated_blocks -= 1;
        self.settle_largest();
        size
    }

    /// The size of the allocation starting at `addr`, if there is one.
    pub fn allocation_size(&self, addr: u64) -> Option<u64> {
        let index = self.allocated_nodes.get(addr).or_else(|| self.find_unindexed(addr))?;
        Some(self.slab.nodes[index as usize].size)
    }

    /// Occupancy figures. Naming the largest free block's address costs a descent of the
    /// largest size class's tree, or a walk of the free blocks of the largest small size;
    /// [`RangeAllocator::largest_free_size`] needs no walk.
    pub fn stats(&self) -> RangeStats {
        RangeStats {
            total: self.size(),
            allocated: self.allocated_bytes,
            free: self.free_bytes(),
            largest_free: self.largest_free(),
            free_blocks: self.free_blocks,
            allocated_blocks: self.allocated_blocks,
        }
    }

    /// Every block, free and allocated, in address order; they tile the range exactly.
    pub fn blocks(&self) -> Vec<Block> {
        let mut out = Vec::with_capacity(self.free_blocks + self.allocated_blocks);
        let mut index = self.head;
        while index != NIL {
            let n = &self.slab.nodes[index as usize];
            out.push(Block {
                addr: n.addr,
                size: n.size,
                allocated: n.state() == NodeState::Allocated,
            });
            index = n.next;
        }
        out
    }

    /// Bytes in the largest free block (0 when none): what monitors publish after every
    /// allocation and free, and the largest request this range hands out. Kept up to date
    /// by every operation, so reading it costs nothing.
    pub fn largest_free_size(&self) -> u64 {
        self.largest
    }

    fn largest_free(&self) -> Option<FreeBlock> {
        let index = self.index.largest(&self.slab.nodes)?;
        let n = self.slab.nodes.get(index as usize)?;
        Some(FreeBlock { addr: n.addr, size: n.size })
    }

    /// Turns `[addr, addr + size)` of free node `index` into an allocated block, leaving the
    /// space before and after it as free blocks. The caller checked room for two nodes.
    /// An `indexed` block goes in the address map; either way it is stamped with a fresh
    /// generation, which is returned.
    #[inline]
    fn carve(&mut self, index: u32, addr: u64, size: u64, indexed: bool) -> u32 {
        self.unfile(index);
        self.free_blocks -= 1;
        let n = self.slab.nodes[index as usize];
        let lead = addr - n.addr;
        let trail = n.end() - (addr + size);
        if lead > 0 {
            let before = self.slab.insert(Node::free(n.addr, lead));
            self.link_before(index, before);
            self.file(before);
            self.free_blocks += 1;
        }
        if trail > 0 {
            let after = self.slab.insert(Node::free(addr + size, trail));
            self.link_after(index, after);
            self.file(after);
            self.free_blocks += 1;
        }
        let node = &mut self.slab.nodes[index as usize];
        node.addr = addr;
        node.size = size;
        node.set_state(NodeState::Allocated);
        let generation = self.next_generation;
        self.next_generation = generation.wrapping_add(1) & GENERATION_MASK;
        node.bin_next = if indexed { generation } else { generation | UNINDEXED };
        if indexed {
            self.allocated_nodes.insert(addr, index);
        }
        self.allocated_bytes += size;
        self.allocated_blocks += 1;
        self.settle_largest();
        generation
    }

    /// Files free node `index` in the size index and keeps the largest free size.
    #[inline(always)]
    fn file(&mut self, index: u32) {
        let size = self.slab.nodes[index as usize].size;
        self.index.insert(&mut self.slab.nodes, index, self.align_shift);
        // Exact unless stale; when stale, `largest` bounds every block, so a block of at
        // least that size is the largest again.
        if size >= self.largest {
            self.largest = size;
            self.largest_stale = false;
        }
    }

    /// Unfiles free node `index` (its size and address as filed); when it may have been the
    /// largest, the largest size goes stale until [`RangeAllocator::settle_largest`].
    #[inline(always)]
    fn unfile(&mut self, index: u32) {
        let size = self.slab.nodes[index as usize].size;
        self.index.remove(&mut self.slab.nodes, index, self.align_shift);
        if size >= self.largest {
            self.largest_stale = true;
        }
    }

    /// Recomputes the largest free size if an operation took the largest block away: bit
    /// scans per band and at most one tree descent per band that holds the largest class.
    #[inline(always)]
    fn settle_largest(&mut self) {
        if self.largest_stale {
            self.largest = self.index.largest_size(&self.slab.nodes, self.align_shift);
            self.largest_stale = false;
        }
    }

    fn link_before(&mut self, at: u32, new: u32) {
        let prev = self.slab.nodes[at as usize].prev;
        self.slab.nodes[new as usize].prev = prev;
        self.slab.nodes[new as usize].next = at;
        self.slab.nodes[at as usize].prev = new;
        if prev == NIL {
            self.head = new;
        } else {
            self.slab.nodes[prev as usize].next = new;
        }
    }

    fn link_after(&mut self, at: u32, new: u32) {
        let next = self.slab.nodes[at as usize].next;
        self.slab.nodes[new as usize].prev = at;
        self.slab.nodes[new as usize].next = next;
        self.slab.nodes[at as usize].next = new;
        if next != NIL {
            self.slab.nodes[next as usize].prev = new;
        }
    }

    fn unlink(&mut self, index: u32) {
        let Node { prev, next, .. } = self.slab.nodes[index as usize];
        if prev == NIL {
            self.head = next;
        } else {
            self.slab.nodes[prev as usize].next = next;
        }
        if next != NIL {
            self.slab.nodes[next as usize].prev = prev;
        }
    }
}
