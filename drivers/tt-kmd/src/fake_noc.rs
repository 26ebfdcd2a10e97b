//! The card behind the fake driver: NOC memory that TLB windows show.
//!
//! Each window's mapping is a heap buffer; configuring the window saves what the buffer showed
//! into the NOC store (per core, in 4 KiB pages) and loads what the new target holds, so data
//! written through one window is read back through another, as on a card. Tests seed and
//! inspect the store with [`FakeKmd::noc_write`] and [`FakeKmd::noc_read`] (which see through
//! live mappings first), and so can play a chip's firmware. Windows larger than
//! [`MODELLED_WINDOW`] (Blackhole's 4 GiB ones) stay plain memory, to keep the fake cheap.

use std::collections::HashMap;

use super::{FakeKmd, FakeMap, FakeState};
use crate::abi;

const PAGE: u64 = 4096;
/// The largest window whose contents follow the NOC model.
pub const MODELLED_WINDOW: u64 = 64 << 20;

/// NOC memory: (x, y, page address) to the page's bytes.
pub(crate) type NocStore = HashMap<(u16, u16, u64), Box<[u8]>>;

fn byte_at(map: &FakeMap, pos: usize) -> u8 {
    map.buf[pos / 8].to_ne_bytes()[pos % 8]
}

fn set_byte(map: &mut FakeMap, pos: usize, b: u8) {
    let mut w = map.buf[pos / 8].to_ne_bytes();
    w[pos % 8] = b;
    map.buf[pos / 8] = u64::from_ne_bytes(w);
}

impl FakeState {
    /// The (x, y, base) a mapping currently shows, if its TLB is configured for unicast.
    fn target_of(&self, map: &FakeMap) -> Option<(u16, u16, u64)> {
        if map.len as u64 > MODELLED_WINDOW {
            return None;
        }
        let cfg: abi::NocTlbConfig = self.tlbs.get(&map.tlb?)?.config?;
        Some((cfg.x_end, cfg.y_end, cfg.addr))
    }

    /// Saves what every mapping of TLB `id` shows into the NOC store.
    pub(crate) fn save_window(&mut self, id: u32) {
        let keys: Vec<usize> =
            self.maps.iter().filter(|(_, m)| m.tlb == Some(id)).map(|(k, _)| *k).collect();
        for key in keys {
            let Some(map) = self.maps.get(&key) else { continue };
            let Some((x, y, base)) = self.target_of(map) else { continue };
            let words_per_page = (PAGE / 8) as usize;
            for (page, words) in map.buf.chunks(words_per_page).enumerate() {
                let addr = base + page as u64 * PAGE;
                if words.iter().any(|w| *w != 0) || self.noc.contains_key(&(x, y, addr)) {
                    let mut full = vec![0u8; PAGE as usize];
                    for (i, w) in words.iter().enumerate() {
                        full[i * 8..i * 8 + 8].copy_from_slice(&w.to_ne_bytes());
                    }
                    self.noc.insert((x, y, addr), full.into_boxed_slice());
                }
            }
        }
    }

    /// Loads into every mapping of TLB `id` what its (new) target holds.
    pub(crate) fn load_window(&mut self, id: u32) {
        let keys: Vec<usize> =
            self.maps.iter().filter(|(_, m)| m.tlb == Some(id)).map(|(k, _)| *k).collect();
        for key in keys {
            let target = self.maps.get(&key).and_then(|m| self.target_of(m));
            let Some((x, y, base)) = target else { continue };
            let Some(map) = self.maps.get_mut(&key) else { continue };
            let words_per_page = (PAGE / 8) as usize;
            for (page, words) in map.buf.chunks_mut(words_per_page).enumerate() {
                match self.noc.get(&(x, y, base + page as u64 * PAGE)) {
                    Some(stored) => {
                        for (i, w) in words.iter_mut().enumerate() {
                            let mut b = [0u8; 8];
                            b.copy_from_slice(&stored[i * 8..i * 8 + 8]);
                            *w = u64::from_ne_bytes(b);
                        }
                    }
                    None => words.iter_mut().for_each(|w| *w = 0),
                }
            }
        }
    }

    /// The live mapping showing byte `addr` of core (x, y), and the offset in it.
    fn live(&mut self, x: u16, y: u16, addr: u64) -> Option<(usize, usize)> {
        self.maps.iter().find_map(|(key, m)| {
            let (tx, ty, base) = self.target_of(m)?;
            (tx == x && ty == y && addr >= base && addr - base < m.len as u64)
                .then(|| (*key, (addr - base) as usize))
        })
    }
}

impl FakeKmd {
    /// Writes `data` at NOC address `addr` of core (x, y), as the chip itself would.
    pub fn noc_write(&self, x: u16, y: u16, addr: u64, data: &[u8]) {
        let mut st = self.state();
        for (i, b) in data.iter().enumerate() {
            let at = addr + i as u64;
            if let Some((key, off)) = st.live(x, y, at) {
                if let Some(map) = st.maps.get_mut(&key) {
                    set_byte(map, off, *b);
                    continue;
                }
            }
            let page = st
                .noc
                .entry((x, y, at - at % PAGE))
                .or_insert_with(|| vec![0; PAGE as usize].into());
            page[(at % PAGE) as usize] = *b;
        }
    }

    /// Reads `len` bytes at NOC address `addr` of core (x, y), as the chip itself sees them.
    pub fn noc_read(&self, x: u16, y: u16, addr: u64, len: usize) -> Vec<u8> {
        let mut st = self.state();
        (0..len as u64)
            .map(|i| {
                let at = addr + i;
                if let Some((key, off)) = st.live(x, y, at) {
                    if let Some(map) = st.maps.get(&key) {
                        return byte_at(map, off);
                    }
                }
                st.noc.get(&(x, y, at - at % PAGE)).map_or(0, |p| p[(at % PAGE) as usize])
            })
            .collect()
    }

    /// Writes a little-endian word at NOC address `addr` of core (x, y).
    pub fn noc_write32(&self, x: u16, y: u16, addr: u64, value: u32) {
        self.noc_write(x, y, addr, &value.to_le_bytes());
    }

    /// Reads a little-endian word at NOC address `addr` of core (x, y).
    pub fn noc_read32(&self, x: u16, y: u16, addr: u64) -> u32 {
        let b = self.noc_read(x, y, addr, 4);
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}
