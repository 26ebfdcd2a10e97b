//! The free blocks of one size class, ordered by (size, address), in a treap threaded
//! through the slab.
//!
//! Best fit with ties to the lowest address is the first block at or after (request, 0) in
//! that order, so a search is one descent, however many blocks share a size. The tree is
//! intrusive (a free node's `bin_prev`/`bin_next` are its left and right children), so
//! inserting and removing never allocate memory. A node's priority is a hash of its address,
//! which is unique among free blocks and fixed while the block is in the tree: the shape is
//! that of a random treap (expected depth about 2 ln n) without storing a priority.

use super::node::{Node, NIL};

/// A free block's place in the order: size in the high half, address in the low half.
pub(super) type Key = u128;

/// The order key of `node`.
pub(super) fn key(node: &Node) -> Key {
    (u128::from(node.size) << 64) | u128::from(node.addr)
}

/// The smallest key of blocks of `size` bytes.
pub(super) fn first_key_of_size(size: u64) -> Key {
    u128::from(size) << 64
}

/// The largest key of blocks of `size` bytes.
pub(super) fn last_key_of_size(size: u64) -> Key {
    first_key_of_size(size) | u128::from(u64::MAX)
}

fn priority(node: &Node) -> u64 {
    // Any well-mixed function of the address balances the tree; this is one multiply.
    let product = u128::from(node.addr ^ 0x5851_f42d_4c95_7f2d).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (product as u64) ^ ((product >> 64) as u64)
}

fn left(nodes: &[Node], t: u32) -> u32 {
    nodes[t as usize].bin_prev
}

fn right(nodes: &[Node], t: u32) -> u32 {
    nodes[t as usize].bin_next
}

fn set_left(nodes: &mut [Node], t: u32, child: u32) {
    nodes[t as usize].bin_prev = child;
}

fn set_right(nodes: &mut [Node], t: u32, child: u32) {
    nodes[t as usize].bin_next = child;
}

/// Splits tree `t` into the nodes with keys below `at` and those at or above it.
fn split(nodes: &mut [Node], t: u32, at: Key) -> (u32, u32) {
    if t == NIL {
        return (NIL, NIL);
    }
    if key(&nodes[t as usize]) < at {
        let (low, high) = split(nodes, right(nodes, t), at);
        set_right(nodes, t, low);
        (t, high)
    } else {
        let (low, high) = split(nodes, left(nodes, t), at);
        set_left(nodes, t, high);
        (low, t)
    }
}

/// Joins two trees, every key of `low` being below every key of `high`.
fn merge(nodes: &mut [Node], low: u32, high: u32) -> u32 {
    if low == NIL {
        return high;
    }
    if high == NIL {
        return low;
    }
    if priority(&nodes[low as usize]) > priority(&nodes[high as usize]) {
        let joined = merge(nodes, right(nodes, low), high);
        set_right(nodes, low, joined);
        low
    } else {
        let joined = merge(nodes, low, left(nodes, high));
        set_left(nodes, high, joined);
        high
    }
}

/// Inserts node `n` (not in any tree, its key unique) into tree `t`; returns the new root.
pub(super) fn insert(nodes: &mut [Node], t: u32, n: u32) -> u32 {
    let (n_key, n_priority) = (key(&nodes[n as usize]), priority(&nodes[n as usize]));
    if t == NIL || n_priority > priority(&nodes[t as usize]) {
        let (low, high) = split(nodes, t, n_key);
        set_left(nodes, n, low);
        set_right(nodes, n, high);
        return n;
    }
    if n_key < key(&nodes[t as usize]) {
        let child = insert(nodes, left(nodes, t), n);
        set_left(nodes, t, child);
    } else {
        let child = insert(nodes, right(nodes, t), n);
        set_right(nodes, t, child);
    }
    t
}

/// Removes node `n`, which is in tree `t`, and returns the new root. The node's size and
/// address must be those it was inserted with.
pub(super) fn remove(nodes: &mut [Node], t: u32, n: u32) -> u32 {
    let n_key = key(&nodes[n as usize]);
    remove_key(nodes, t, n_key)
}

fn remove_key(nodes: &mut [Node], t: u32, n_key: Key) -> u32 {
    if t == NIL {
        // Only reached if the caller broke the contract; leave the tree as it is.
        debug_assert!(false, "removing a key that is not in the tree");
        return NIL;
    }
    let t_key = key(&nodes[t as usize]);
    if n_key == t_key {
        return merge(nodes, left(nodes, t), right(nodes, t));
    }
    if n_key < t_key {
        let child = remove_key(nodes, left(nodes, t), n_key);
        set_left(nodes, t, child);
    } else {
        let child = remove_key(nodes, right(nodes, t), n_key);
        set_right(nodes, t, child);
    }
    t
}

/// The node with the smallest key at or above `at`, or [`NIL`].
pub(super) fn ceiling(nodes: &[Node], mut t: u32, at: Key) -> u32 {
    let mut found = NIL;
    while t != NIL {
        if key(&nodes[t as usize]) >= at {
            found = t;
            t = left(nodes, t);
        } else {
            t = right(nodes, t);
        }
    }
    found
}

/// The node with the largest key at or below `at`, or [`NIL`].
pub(super) fn floor(nodes: &[Node], mut t: u32, at: Key) -> u32 {
    let mut found = NIL;
    while t != NIL {
        if key(&nodes[t as usize]) <= at {
            found = t;
            t = right(nodes, t);
        } else {
            t = left(nodes, t);
        }
    }
    found
}

/// The node with the largest key, or [`NIL`] for an empty tree.
pub(super) fn last(nodes: &[Node], mut t: u32) -> u32 {
    let mut found = NIL;
    while t != NIL {
        found = t;
        t = right(nodes, t);
    }
    found
}

/// The best fit in tree `t` for `size` bytes, or [`NIL`]: the first block of at least
/// `size` bytes in (size, address) order, or with `top_down` the highest-addressed block of
/// that block's size. Any block of at least `size` bytes holds the request at either end
/// (sizes and addresses share the range's alignment), so this is one descent, or two.
pub(super) fn best_fit(nodes: &[Node], t: u32, size: u64, top_down: bool) -> u32 {
    let first = ceiling(nodes, t, first_key_of_size(size));
    match nodes.get(first as usize) {
        Some(n) if top_down => floor(nodes, t, last_key_of_size(n.size)),
        _ => first,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_order(nodes: &[Node], t: u32, out: &mut Vec<(u64, u64)>) {
        if t != NIL {
            in_order(nodes, left(nodes, t), out);
            out.push((nodes[t as usize].size, nodes[t as usize].addr));
            in_order(nodes, right(nodes, t), out);
        }
    }

    fn depth(nodes: &[Node], t: u32) -> usize {
        if t == NIL {
            0
        } else {
            1 + depth(nodes, left(nodes, t)).max(depth(nodes, right(nodes, t)))
        }
    }

    #[test]
    fn keeps_size_then_address_order_and_answers_neighbour_queries() {
        // Sizes repeat so that ties on size are ordered by address.
        let mut nodes: Vec<Node> =
            (0..1000u64).map(|i| Node::free(i * 7919 % 1000 * 64, 16 << (i % 4))).collect();
        let mut root = NIL;
        for n in 0..nodes.len() as u32 {
            root = insert(&mut nodes, root, n);
        }
        let mut order = Vec::new();
        in_order(&nodes, root, &mut order);
        let mut expected: Vec<(u64, u64)> = nodes.iter().map(|n| (n.size, n.addr)).collect();
        expected.sort_unstable();
        assert_eq!(order, expected);
        assert!(depth(&nodes, root) <= 40, "depth {} for 1000 nodes", depth(&nodes, root));

        let at = |n: u32| (nodes[n as usize].size, nodes[n as usize].addr);
        // Node i sits at slot 7919 i mod 1000, so its slot is 3 i mod 4: the 32-byte blocks
        // (i = 1 mod 4) hold slots 3, 7, ..., 999 and the 128-byte ones slots 1, ..., 997.
        assert_eq!(at(ceiling(&nodes, root, first_key_of_size(17))), (32, 3 * 64));
        assert_eq!(at(floor(&nodes, root, last_key_of_size(32))), (32, 999 * 64));
        assert_eq!(at(last(&nodes, root)), (128, 997 * 64));
        assert_eq!(ceiling(&nodes, root, first_key_of_size(129)), NIL);
        assert_eq!(floor(&nodes, root, last_key_of_size(15)), NIL);

        // Remove every other node and check the order again.
        for n in (0..nodes.len() as u32).step_by(2) {
            root = remove(&mut nodes, root, n);
        }
        let mut order = Vec::new();
        in_order(&nodes, root, &mut order);
        let mut expected: Vec<(u64, u64)> =
            nodes.iter().skip(1).step_by(2).map(|n| (n.size, n.addr)).collect();
        expected.sort_unstable();
        assert_eq!(order, expected);
        for n in (1..nodes.len() as u32).step_by(2) {
            root = remove(&mut nodes, root, n);
        }
        assert_eq!(root, NIL);
        assert_eq!(last(&nodes, root), NIL);
    }
}
