//! Allocated blocks by start address: a small open-addressing hash table.
//!
//! Callers free by address, so every free starts with this lookup. A linear-probing table
//! of (address, node) pairs touches one cache line per operation in the common case and
//! deletes by shifting entries back (no tombstones), so it never degrades under churn.

use super::node::NIL;

#[derive(Debug, Clone, Copy)]
struct Slot {
    addr: u64,
    /// Slab index of the block; [`NIL`] marks an empty slot.
    node: u32,
}

const EMPTY: Slot = Slot { addr: 0, node: NIL };
const MIN_SLOTS: usize = 16;

/// Start address -> slab index of every allocated block.
#[derive(Debug, Clone, Default)]
pub(super) struct AddrMap {
    slots: Vec<Slot>,
    len: usize,
}

/// Mixes an address with one 128-bit multiply, folding the high half into the low half:
/// aligned addresses have zero low bits, and the table indexes by the low bits.
fn mix(addr: u64) -> u64 {
    let product = u128::from(addr).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (product as u64) ^ ((product >> 64) as u64)
}

impl AddrMap {
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    fn home(&self, addr: u64) -> usize {
        mix(addr) as usize & self.mask()
    }

    /// The slot holding `addr`, if present.
    fn find(&self, addr: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mut i = self.home(addr);
        // The load factor stays at or below 1/2, so an empty slot ends every probe.
        loop {
            let slot = self.slots[i];
            if slot.node == NIL {
                return None;
            }
            if slot.addr == addr {
                return Some(i);
            }
            i = (i + 1) & self.mask();
        }
    }

    /// Maps `addr` to `node`, replacing any previous mapping.
    pub(super) fn insert(&mut self, addr: u64, node: u32) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mut i = self.home(addr);
        loop {
            let slot = &mut self.slots[i];
            if slot.node == NIL {
                *slot = Slot { addr, node };
                self.len += 1;
                return;
            }
            if slot.addr == addr {
                slot.node = node;
                return;
            }
            i = (i + 1) & self.mask();
        }
    }

    /// Removes `addr` and returns its node.
    pub(super) fn remove(&mut self, addr: u64) -> Option<u32> {
        let mut hole = self.find(addr)?;
        let node = self.slots[hole].node;
        let mask = self.mask();
        // Shift back every later entry of the probe run that may live in the hole.
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let slot = self.slots[j];
            if slot.node == NIL {
                break;
            }
            let home = self.home(slot.addr);
            // The entry stays if its home lies cyclically in (hole, j].
            let stays = if hole <= j { hole < home && home <= j } else { hole < home || home <= j };
            if !stays {
                self.slots[hole] = slot;
                hole = j;
            }
        }
        self.slots[hole] = EMPTY;
        self.len -= 1;
        Some(node)
    }

    /// The node of `addr`, if present.
    pub(super) fn get(&self, addr: u64) -> Option<u32> {
        self.find(addr).map(|i| self.slots[i].node)
    }

    /// Number of entries.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(MIN_SLOTS);
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; size]);
        self.len = 0;
        for slot in old.into_iter().filter(|s| s.node != NIL) {
            self.insert(slot.addr, slot.node);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn aligned_addresses_spread_over_low_bits() {
        let buckets: std::collections::HashSet<u64> =
            (0..1024u64).map(|i| mix(i << 12) & 1023).collect();
        assert!(buckets.len() > 600, "only {} distinct buckets of 1024", buckets.len());
    }

    #[test]
    fn behaves_like_a_map_under_churn() {
        let mut map = AddrMap::default();
        let mut model = HashMap::new();
        assert_eq!((map.get(0), map.remove(0), map.len()), (None, None, 0));
        let mut x = 1u64;
        for step in 0..20_000u32 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            // Few distinct keys so that inserts, replacements and removes all collide.
            let addr = (x >> 40) % 512 * 64;
            if x >> 63 == 0 {
                map.insert(addr, step);
                model.insert(addr, step);
            } else {
                assert_eq!(map.remove(addr), model.remove(&addr));
            }
            assert_eq!(map.len(), model.len());
        }
        for (addr, node) in &model {
            assert_eq!(map.get(*addr), Some(*node));
        }
        assert_eq!(map.get(7), None);
    }
}
