//! Where each core's memory lives in a chip file.

use tt_soc::{CoreKind, NocCoord, SocDescriptor};

use crate::firmware::arc_ranges;

/// Page size the file layout is aligned to, so every slice can be mapped on its own.
pub const PAGE: u64 = 4096;

/// Header page at offset 0.
pub const HEADER_SIZE: u64 = PAGE;

/// The placement of every memory region inside a chip file of one architecture.
#[derive(Debug, Clone)]
pub struct ChipLayout {
    grid_x: u16,
    /// Per grid location: (file offset, bytes) of its memory, if it has any.
    slots: Vec<Option<(u64, u64)>>,
    /// Per grid location: file offset of its tile control page (Tensix and Ethernet tiles).
    control: Vec<Option<u64>>,
    /// The ARC tile's modelled address ranges: (NOC base, file offset, bytes).
    arc: Vec<(u64, u64, u64)>,
    /// File offsets where the DRAM channels start and end.
    dram: (u64, u64),
    file_len: u64,
}

fn page_up(n: u64) -> u64 {
    n.div_ceil(PAGE) * PAGE
}

impl ChipLayout {
    /// Lays out `soc`: header, the ARC tile's modelled ranges (its APB registers and the
    /// memory its firmware publishes telemetry in), L1 of every Tensix (harvested included:
    /// the silicon is there) and usable Ethernet core in row-major order, then each usable DRAM
    /// channel, then one page per Tensix and Ethernet tile for its tile control registers
    /// (`0xFFB1_2000` to `0xFFB1_2FFF`, where soft reset lives). Every DRAM endpoint of a
    /// channel maps to the same bytes.
    pub fn new(soc: &SocDescriptor) -> Self {
        let (gx, gy) = soc.grid_size();
        let mut slots = vec![None; usize::from(gx) * usize::from(gy)];
        let mut next = HEADER_SIZE;
        let mut arc = Vec::new();
        for (noc_base, size) in arc_ranges(soc.arch()) {
            arc.push((noc_base, next, size));
            next += page_up(size);
        }
        for y in 0..gy {
            for x in 0..gx {
                let core = NocCoord::new(x, y);
                let size = match soc.kind_at(core) {
                    Some(CoreKind::Tensix | CoreKind::HarvestedTensix) => soc.worker_l1_size(),
                    Some(CoreKind::Ethernet) => soc.eth_l1_size(),
                    _ => continue,
                };
                slots[usize::from(y) * usize::from(gx) + usize::from(x)] = Some((next, size));
                next += page_up(size);
            }
        }
        let dram_start = next;
        for channel in soc.dram_channels() {
            for e in &channel.endpoints {
                slots[usize::from(e.y) * usize::from(gx) + usize::from(e.x)] =
                    Some((next, channel.size));
            }
            next += page_up(channel.size);
        }
        let dram = (dram_start, next);
        let mut control = vec![None; slots.len()];
        for y in 0..gy {
            for x in 0..gx {
                let kind = soc.kind_at(NocCoord::new(x, y));
                if matches!(
                    kind,
                    Some(CoreKind::Tensix | CoreKind::HarvestedTensix | CoreKind::Ethernet)
                ) {
                    control[usize::from(y) * usize::from(gx) + usize::from(x)] = Some(next);
                    next += PAGE;
                }
            }
        }
        ChipLayout { grid_x: gx, slots, control, arc, dram, file_len: next }
    }

    /// (file offset, size) of the memory behind `core`, if it has any.
    pub fn memory_of(&self, core: NocCoord) -> Option<(u64, u64)> {
        if core.x >= self.grid_x {
            return None;
        }
        let i = usize::from(core.y) * usize::from(self.grid_x) + usize::from(core.x);
        self.slots.get(i).copied().flatten()
    }

    /// File offset of `core`'s tile control page, for Tensix and Ethernet tiles.
    pub fn control_of(&self, core: NocCoord) -> Option<u64> {
        if core.x >= self.grid_x {
            return None;
        }
        let i = usize::from(core.y) * usize::from(self.grid_x) + usize::from(core.x);
        self.control.get(i).copied().flatten()
    }

    /// For NOC address `addr` on the ARC tile: (file offset of `addr`, bytes from `addr` to
    /// the end of its modelled range), or `None` when the simulator does not model it.
    pub fn arc_memory(&self, addr: u64) -> Option<(u64, u64)> {
        self.arc
            .iter()
            .find(|(base, _, size)| addr >= *base && addr - base < *size)
            .map(|(base, off, size)| (off + (addr - base), size - (addr - base)))
    }

    /// The ARC tile's modelled ranges as (NOC base, bytes), for messages.
    pub fn arc_ranges(&self) -> Vec<(u64, u64)> {
        self.arc.iter().map(|(base, _, size)| (*base, *size)).collect()
    }

    /// Total file length.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// (offset, bytes) of every part of the file but DRAM: the header, the ARC ranges, L1
    /// and the control pages, which the whole-chip mapping stores into from the first kernel
    /// on, so their pages are reserved when the file is made. DRAM (gigabytes, mostly never
    /// touched) stays sparse; a window onto it reserves its slice when configured.
    pub fn non_dram(&self) -> [(u64, u64); 2] {
        [(0, self.dram.0), (self.dram.1, self.file_len - self.dram.1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tt_soc::Arch;

    #[test]
    fn regions_are_page_aligned_and_disjoint() {
        for arch in Arch::ALL {
            let soc = SocDescriptor::builtin(arch);
            let layout = ChipLayout::new(&soc);
            let mut regions: Vec<(u64, u64)> = Vec::new();
            let (gx, gy) = soc.grid_size();
            for y in 0..gy {
                for x in 0..gx {
                    if let Some(r) = layout.memory_of(NocCoord::new(x, y)) {
                        assert_eq!(r.0 % PAGE, 0);
                        if !regions.contains(&r) {
                            regions.push(r);
                        }
                    }
                }
            }
            regions.sort();
            for pair in regions.windows(2) {
                assert!(pair[0].0 + pair[0].1 <= pair[1].0, "{arch}: {pair:?} overlap");
            }
            let dram: u64 = soc.dram_size();
            assert!(layout.file_len() > dram);
            let l1_cores = soc.tensix_cores().len() + soc.ethernet_cores().len();
            assert_eq!(regions.len(), l1_cores + soc.dram_channels().len());
            // Control pages follow every memory region, one per Tensix and Ethernet tile.
            let last = regions.last().unwrap();
            let core = soc.tensix_cores()[0];
            let page = layout.control_of(core).unwrap();
            assert!(page >= last.0 + last.1 && page % PAGE == 0, "{arch}");
            assert!(page + PAGE <= layout.file_len());
            assert_eq!(layout.control_of(soc.dram_channels()[0].endpoints[0]), None);
        }
    }

    #[test]
    fn dram_endpoints_of_a_channel_share_bytes() {
        let soc = SocDescriptor::builtin(Arch::WormholeB0);
        let layout = ChipLayout::new(&soc);
        let ch = &soc.dram_channels()[2];
        let first = layout.memory_of(ch.endpoints[0]).unwrap();
        for e in &ch.endpoints {
            assert_eq!(layout.memory_of(*e), Some(first));
        }
        assert_eq!(first.1, 2 << 30);
        assert_eq!(layout.memory_of(NocCoord::new(0, 2)), None, "router-only has no memory");
    }
}
