//! Blocks of the range, kept in a slab and linked in address order.

/// The "no node" link.
pub(super) const NIL: u32 = u32::MAX;
/// `bin_prev` of an allocated node (allocated nodes are in no free tree).
const ALLOCATED: u32 = u32::MAX - 1;
/// `bin_prev` of a vacant slab slot.
const VACANT: u32 = u32::MAX - 2;

/// While a node is allocated, `bin_next` (unused then) holds its generation in the low 31
/// bits and this flag when the block is not in the address map (it was allocated for a
/// handle).
pub(super) const UNINDEXED: u32 = 1 << 31;
/// The generation bits of an allocated node's `bin_next`.
pub(super) const GENERATION_MASK: u32 = UNINDEXED - 1;

/// Whether a slab slot holds a free block, an allocated block, or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NodeState {
    Free,
    Allocated,
    Vacant,
}

/// One block: `[addr, addr + size)`, its neighbours in address order and, while free, its
/// children in its size class's free tree (while allocated, `bin_next` holds its
/// generation and [`UNINDEXED`] flag instead). The state is folded into `bin_prev` so a node
/// is 32 bytes, two per cache line.
#[derive(Debug, Clone, Copy)]
pub(super) struct Node {
    pub(super) addr: u64,
    pub(super) size: u64,
    pub(super) prev: u32,
    pub(super) next: u32,
    pub(super) bin_prev: u32,
    pub(super) bin_next: u32,
}

impl Node {
    pub(super) fn free(addr: u64, size: u64) -> Self {
        Self { addr, size, prev: NIL, next: NIL, bin_prev: NIL, bin_next: NIL }
    }

    pub(super) fn state(&self) -> NodeState {
        match self.bin_prev {
            ALLOCATED => NodeState::Allocated,
            VACANT => NodeState::Vacant,
            _ => NodeState::Free,
        }
    }

    /// Marks the node; a node marked free is in no tree until the size index inserts it.
    pub(super) fn set_state(&mut self, state: NodeState) {
        self.bin_prev = match state {
            NodeState::Free => NIL,
            NodeState::Allocated => ALLOCATED,
            NodeState::Vacant => VACANT,
        };
    }

    pub(super) fn end(&self) -> u64 {
        // Every block lies inside the allocator's range, whose end is a valid u64.
        self.addr + self.size
    }

    /// Where `size` bytes aligned to `align` go inside this free block (at its bottom, or
    /// its top when `top_down`), if they fit.
    pub(super) fn place(&self, size: u64, align: u64, top_down: bool) -> Option<u64> {
        if top_down {
            let addr = self.end().checked_sub(size)? & !(align - 1);
            (addr >= self.addr).then_some(addr)
        } else {
            let addr = self.addr.checked_add(align - 1)? & !(align - 1);
            (addr.checked_add(size)? <= self.end()).then_some(addr)
        }
    }
}

/// The slab of nodes with a list of vacant slots, so that steady-state churn never
/// allocates memory.
#[derive(Debug, Clone, Default)]
pub(super) struct Slab {
    pub(super) nodes: Vec<Node>,
    vacant: Vec<u32>,
}

impl Slab {
    /// True when `extra` more nodes can be created without running out of indices.
    pub(super) fn has_room_for(&self, extra: usize) -> bool {
        let after = self.nodes.len() + extra.saturating_sub(self.vacant.len());
        after < VACANT as usize
    }

    /// Stores `node` and returns its index; the caller checked [`Slab::has_room_for`].
    pub(super) fn insert(&mut self, node: Node) -> u32 {
        if let Some(index) = self.vacant.pop() {
            self.nodes[index as usize] = node;
            index
        } else {
            // has_room_for guarantees the length stays below NIL.
            let index = self.nodes.len() as u32;
            self.nodes.push(node);
            index
        }
    }

    /// Returns slot `index` to the vacant list.
    pub(super) fn release(&mut self, index: u32) {
        self.nodes[index as usize].set_state(NodeState::Vacant);
        self.vacant.push(index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_half_a_cache_line_and_keeps_its_state() {
        assert_eq!(std::mem::size_of::<Node>(), 32);
        let mut n = Node::free(0, 16);
        for state in [NodeState::Allocated, NodeState::Vacant, NodeState::Free] {
            n.set_state(state);
            assert_eq!(n.state(), state);
        }
    }
}
