//! Where a request goes: the best-fit search with its aligned fallback, and exact
//! placements.

use super::node::NodeState;
use super::{RangeAllocator, NIL};
use crate::error::RangeError;

impl RangeAllocator {
    /// Where a best-fit request goes: (free node, address). A request aligned beyond the
    /// range's alignment searches as if it were `align - alignment` bytes larger, which any
    /// block holds at an aligned address whatever its own; only when no block is that large
    /// does it look at the blocks that might hold it at a lucky address, by a walk.
    #[inline]
    pub(super) fn find_fit(&self, size: u64, align: u64, top_down: bool) -> Option<(u32, u64)> {
        let nodes = &self.slab.nodes;
        let search = if align <= self.alignment {
            size
        } else {
            match size.checked_add(align - self.alignment) {
                Some(padded) if padded <= self.size() => padded,
                _ => return self.aligned_fit_by_walk(size, align, top_down),
            }
        };
        match self.index.best_fit(nodes, search, top_down, self.align_shift) {
            Some(index) => Some((index, nodes[index as usize].place(size, align, top_down)?)),
            None if search > size => self.aligned_fit_by_walk(size, align, top_down),
            None => None,
        }
    }

    /// The lowest-addressed free block that holds `size` bytes at a multiple of `align`
    /// (the highest-addressed one when `top_down`), by a walk of the blocks in address
    /// order: for aligned requests that no block holds whatever its address, so that a
    /// request is refused only when nothing could take it. Such requests are rare (the
    /// range is nearly full or the alignment is a large share of it).
    #[inline(never)]
    fn aligned_fit_by_walk(&self, size: u64, align: u64, top_down: bool) -> Option<(u32, u64)> {
        let mut found = None;
        let mut index = self.head;
        while let Some(n) = self.slab.nodes.get(index as usize) {
            if n.state() == NodeState::Free {
                if let Some(addr) = n.place(size, align, top_down) {
                    found = Some((index, addr));
                    if !top_down {
                        break;
                    }
                }
            }
            index = n.next;
        }
        found
    }

    /// The error for a best-fit search that found nothing.
    pub(super) fn no_fit_error(&self, requested: u64) -> RangeError {
        let free = self.free_bytes();
        if requested > free {
            RangeError::OutOfMemory { requested, free }
        } else {
            let largest_free_block = self.largest_free_size();
            RangeError::Fragmented { requested, free, largest_free_block }
        }
    }

    /// The free node that holds `[addr, addr + size)`, or why there is none.
    pub(super) fn find_exact(
        &self,
        addr: u64,
        size: u64,
        align: u64,
    ) -> Result<(u32, u64), RangeError> {
        if addr % align != 0 {
            return Err(RangeError::Misaligned { addr, alignment: align });
        }
        let (base, end) = (self.base, self.end);
        let last = addr.checked_add(size).filter(|&e| addr >= base && e <= end);
        let Some(req_end) = last else {
            return Err(RangeError::OutOfRange { addr, size, base, end });
        };
        // Exact placements are rare (fixed addresses at bring-up), so a walk in address
        // order is cheaper overall than an address index on the hot path.
        let mut index = self.head;
        while index != NIL {
            let n = &self.slab.nodes[index as usize];
            if n.end() > addr {
                if n.state() == NodeState::Free && n.end() >= req_end {
                    return Ok((index, addr));
                }
                // Blocks tile the range, so `n` holds `addr`. If `n` is free it ends before
                // `req_end <= end`, so a next block exists and, free blocks being always
                // coalesced, it is allocated: that block is in the way.
                let blocker = if n.state() == NodeState::Free { n.next } else { index };
                let Some(b) = self.slab.nodes.get(blocker as usize) else {
                    return Err(RangeError::OutOfRange { addr, size, base, end });
                };
                return Err(RangeError::Overlap {
                    addr,
                    size,
                    block_addr: b.addr,
                    block_size: b.size,
                });
            }
            index = n.next;
        }
        Err(RangeError::OutOfRange { addr, size, base, end })
    }
}
