//! Harvesting: which Tensix rows or columns, DRAM channels, Ethernet channels and PCIe tiles a
//! chip cannot use, in tt-umd's conventions (`HarvestingMasks` in tt-umd's
//! cluster_descriptor_types.hpp, applied by its coordinate managers).

use std::fmt;

use crate::{Arch, CoreKind, DramBank, HarvestAxis, NocCoord, SocDescriptor, SocError};

/// The harvesting masks of one chip, as tt-umd's API and cluster descriptors write them.
///
/// - `tensix`: bit i removes the i-th Tensix row (Wormhole) or column (Blackhole) in NOC0 order
///   (tt-umd's N300 example: 65 removes Wormhole NOC0 rows 1 and 8; P150's 192 removes
///   Blackhole columns 7 and 10).
/// - `dram`: bit i removes DRAM channel i of the descriptor's `dram` list (Blackhole only).
/// - `eth`: bit i removes Ethernet channel i of the descriptor's `eth` list (Blackhole only).
/// - `pcie`: bit i marks PCIe tile i of the descriptor's `pcie` list unused (Blackhole only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct HarvestingMasks {
    /// Tensix rows (Wormhole) or columns (Blackhole) in NOC0 order.
    pub tensix: u32,
    /// DRAM channels in descriptor order.
    pub dram: u32,
    /// Ethernet channels in channel order.
    pub eth: u32,
    /// PCIe tiles in descriptor order.
    pub pcie: u32,
}

impl HarvestingMasks {
    /// Only Tensix harvesting.
    pub const fn tensix(mask: u32) -> Self {
        HarvestingMasks { tensix: mask, dram: 0, eth: 0, pcie: 0 }
    }

    /// What the firmware of a chip without defects reports. Blackhole's firmware always leaves
    /// two Ethernet channels off, 5 and 8 on a good die (tt-zephyr-platforms
    /// lib/tenstorrent/bh_arc/harvesting.c: "Only enable 2 of 3 in eth {4,5,6}" clears bit 5,
    /// "{7,8,9}" clears bit 8; tt-umd cluster_descriptor.cpp's mock Blackhole uses the same
    /// 0x120, "Example value from silicon machine"). Wormhole reports nothing harvested.
    pub const fn unharvested(arch: Arch) -> Self {
        match arch {
            Arch::WormholeB0 => HarvestingMasks { tensix: 0, dram: 0, eth: 0, pcie: 0 },
            Arch::Blackhole => {
                HarvestingMasks { tensix: 0, dram: 0, eth: BLACKHOLE_GOOD_DIE_ETH, pcie: 0 }
            }
        }
    }

    /// The union of two sets of masks.
    pub const fn union(self, other: HarvestingMasks) -> Self {
        HarvestingMasks {
            tensix: self.tensix | other.tensix,
            dram: self.dram | other.dram,
            eth: self.eth | other.eth,
            pcie: self.pcie | other.pcie,
        }
    }
}

impl fmt::Display for HarvestingMasks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tensix {} dram {} eth {} pcie {}", self.tensix, self.dram, self.eth, self.pcie)
    }
}

/// Blackhole Ethernet channels a good die's firmware leaves off: 5 and 8 (see
/// [`HarvestingMasks::unharvested`]).
const BLACKHOLE_GOOD_DIE_ETH: u32 = (1 << 5) | (1 << 8);
/// Blackhole `NUM_ETH_CHANNELS` (tt-umd blackhole_implementation.hpp).
const BLACKHOLE_ETH_CHANNELS: usize = 14;

/// Bit positions set in `mask`, ascending.
pub(crate) fn bits(mask: u32) -> impl Iterator<Item = usize> {
    (0..32).filter(move |b| mask & (1 << b) != 0)
}

impl SocDescriptor {
    /// The built-in descriptor of `arch` as a good die's firmware reports it
    /// ([`HarvestingMasks::unharvested`]): what a bare simulated chip is.
    pub fn builtin_good_die(arch: Arch) -> SocDescriptor {
        let builtin = Self::builtin(arch);
        // The good-die masks apply to both built-in grids (pinned by the test
        // blackhole_ethernet_masks_accepted_exactly_where_tt_umd_accepts_them), so the
        // fallback is never taken.
        builtin.with_harvesting_masks(HarvestingMasks::unharvested(arch)).unwrap_or(builtin)
    }

    /// A copy with the Tensix rows (Wormhole) or columns (Blackhole) named by `mask` also
    /// harvested, bit i being the i-th Tensix row or column in NOC0 order (tt-umd's convention).
    pub fn with_harvesting(&self, mask: u32) -> Result<SocDescriptor, SocError> {
        self.with_harvesting_masks(HarvestingMasks::tensix(mask))
    }

    /// A copy with every mask in `masks` also harvested (added to what is already harvested).
    pub fn with_harvesting_masks(&self, masks: HarvestingMasks) -> Result<SocDescriptor, SocError> {
        let masks = self.harvesting.union(masks);
        self.check_masks(masks)?;
        let mut out = self.clone();
        out.harvesting = masks;
        let removed_lines: Vec<u16> = bits(masks.tensix).map(|b| self.tensix_lines[b]).collect();
        let axis = self.arch.harvest_axis();
        let gx = usize::from(self.grid_x);
        for (i, kind) in out.kinds.iter_mut().enumerate() {
            // Grid indices fit u16 coordinates (the grid is at most u16::MAX per side).
            let (x, y) = ((i % gx) as u16, (i / gx) as u16);
            let line = match axis {
                HarvestAxis::Rows => y,
                HarvestAxis::Columns => x,
            };
            if *kind == CoreKind::Tensix && removed_lines.contains(&line) {
                *kind = CoreKind::HarvestedTensix;
            }
        }
        let mut mark = |cores: &[NocCoord], from: CoreKind, to: CoreKind| {
            for c in cores {
                let slot = &mut out.kinds[usize::from(c.y) * gx + usize::from(c.x)];
                if *slot == from {
                    *slot = to;
                }
            }
        };
        for b in bits(masks.dram) {
            mark(&self.all_dram_channels[b].endpoints, CoreKind::Dram, CoreKind::HarvestedDram);
        }
        for b in bits(masks.eth) {
            mark(&self.all_ethernet[b..=b], CoreKind::Ethernet, CoreKind::HarvestedEthernet);
        }
        for b in bits(masks.pcie) {
            mark(&self.all_pcie[b..=b], CoreKind::Pcie, CoreKind::HarvestedPcie);
        }
        out.select_usable();
        if !out.kinds.contains(&CoreKind::Tensix) {
            return Err(SocError::BadHarvestMask {
                arch: self.arch,
                what: "tensix",
                mask: masks.tensix,
                message: "it leaves no usable Tensix core; harvest fewer rows or columns".into(),
            });
        }
        if out.dram_banks.is_empty() {
            return Err(SocError::BadHarvestMask {
                arch: self.arch,
                what: "dram",
                mask: masks.dram,
                message: "it leaves no usable DRAM bank; harvest fewer channels".into(),
            });
        }
        Ok(out.with_axes())
    }

    /// Recomputes the usable DRAM channels and banks, Ethernet and PCIe lists from the masks.
    pub(crate) fn select_usable(&mut self) {
        let m = self.harvesting;
        let keep = |mask: u32, i: usize| i >= 32 || mask & (1 << i) == 0;
        self.dram_channel_ids =
            (0..self.all_dram_channels.len()).filter(|&i| keep(m.dram, i)).collect();
        self.dram_channels =
            self.dram_channel_ids.iter().map(|&i| self.all_dram_channels[i].clone()).collect();
        self.dram_banks = self
            .all_dram_views
            .iter()
            .filter_map(|view| {
                let logical = self.dram_channel_ids.iter().position(|&i| i == view.channel)?;
                Some(DramBank { channel: logical, ..*view })
            })
            .collect();
        self.ethernet = self
            .all_ethernet
            .iter()
            .enumerate()
            .filter(|(i, _)| keep(m.eth, *i))
            .map(|(_, c)| *c)
            .collect();
        self.pcie = self
            .all_pcie
            .iter()
            .enumerate()
            .filter(|(i, _)| keep(m.pcie, *i))
            .map(|(_, c)| *c)
            .collect();
    }

    fn check_masks(&self, m: HarvestingMasks) -> Result<(), SocError> {
        let arch = self.arch;
        let lines = self.tensix_lines.len();
        let axis = match arch.harvest_axis() {
            HarvestAxis::Rows => "rows",
            HarvestAxis::Columns => "columns",
        };
        let bad = |what: &'static str, mask: u32, message: String| SocError::BadHarvestMask {
            arch,
            what,
            mask,
            message,
        };
        let beyond = |count: usize, mask: u32| count < 32 && mask >> count != 0;
        if beyond(lines, m.tensix) {
            return Err(bad(
                "tensix",
                m.tensix,
                format!(
                    "{arch} has {lines} Tensix {axis} (bits 0..={}, bit i = the i-th {} in NOC0 \
                     order); clear the bits above {}",
                    lines.saturating_sub(1),
                    &axis[..axis.len() - 1],
                    lines.saturating_sub(1)
                ),
            ));
        }
        if lines > 0 && bits(m.tensix).count() == lines {
            return Err(bad(
                "tensix",
                m.tensix,
                format!(
                    "it removes every Tensix {}; at least one must stay",
                    &axis[..axis.len() - 1]
                ),
            ));
        }
        if arch == Arch::WormholeB0 {
            // tt-umd coordinate_manager.cpp: "DRAM harvesting is supported only for Blackhole",
            // "ETH harvesting is supported only for Blackhole"; Wormhole has one PCIe tile.
            for (what, mask) in [("dram", m.dram), ("eth", m.eth), ("pcie", m.pcie)] {
                if mask != 0 {
                    return Err(bad(
                        what,
                        mask,
                        "Wormhole harvests only Tensix rows (tt-umd); use a mask of 0".into(),
                    ));
                }
            }
            return Ok(());
        }
        let channels = self.all_dram_channels.len();
        if beyond(channels, m.dram) {
            return Err(bad(
                "dram",
                m.dram,
                format!(
                    "the chip has {channels} DRAM channels; clear the bits above {}",
                    channels - 1
                ),
            ));
        }
        // tt-umd blackhole_coordinate_manager.cpp: "At most DRAM bank can be harvested".
        if bits(m.dram).count() > 1 {
            return Err(bad(
                "dram",
                m.dram,
                "Blackhole harvests at most one DRAM channel (tt-umd); set one bit at most".into(),
            ));
        }
        let eth = self.all_ethernet.len();
        if beyond(eth, m.eth) {
            return Err(bad(
                "eth",
                m.eth,
                format!(
                    "the chip has {eth} Ethernet channels; clear the bits above {}",
                    eth.saturating_sub(1)
                ),
            ));
        }
        // tt-umd blackhole_coordinate_manager.cpp: "Exactly 2 or 14 ETH cores should be
        // harvested on full Blackhole" (firmware leaves two of 14 off, or all of them on a
        // board without Ethernet).
        let harvested_eth = bits(m.eth).count();
        if eth == BLACKHOLE_ETH_CHANNELS && harvested_eth != 2 && harvested_eth != eth {
            return Err(bad(
                "eth",
                m.eth,
                format!(
                    "it harvests {harvested_eth} of the 14 Ethernet channels; Blackhole firmware \
                     harvests exactly 2 (a good die: channels 5 and 8, mask 288) or all 14 \
                     (mask 16383), as tt-umd requires"
                ),
            ));
        }
        let pcie = self.all_pcie.len();
        if beyond(pcie, m.pcie) {
            return Err(bad(
                "pcie",
                m.pcie,
                format!(
                    "the chip has {pcie} PCIe tiles; clear the bits above {}",
                    pcie.saturating_sub(1)
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LogicalCoord;

    fn rows_of(soc: &SocDescriptor) -> Vec<u16> {
        let mut rows: Vec<u16> = soc.harvested_cores().iter().map(|c| c.y).collect();
        rows.dedup();
        rows
    }

    #[test]
    fn tensix_lines_are_tt_umd_t6_locations() {
        // tt-umd wormhole_implementation.hpp T6_Y_LOCATIONS, blackhole_implementation.hpp
        // T6_X_LOCATIONS.
        let wh = SocDescriptor::builtin(Arch::WormholeB0);
        assert_eq!(wh.tensix_harvest_lines(), &[1, 2, 3, 4, 5, 7, 8, 9, 10, 11]);
        let bh = SocDescriptor::builtin(Arch::Blackhole);
        assert_eq!(bh.tensix_harvest_lines(), &[1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16]);
    }

    #[test]
    fn wormhole_masks_from_tt_umd_cluster_descriptors() {
        // tt-umd tests/cluster_descriptor_examples/wormhole_N300.yaml: chip 0 harvest_mask 65,
        // chip 1 harvest_mask 5; wormhole_N150.yaml: 64. Bit i = i-th Tensix row in NOC0 order.
        let wh = SocDescriptor::builtin(Arch::WormholeB0);
        assert_eq!(rows_of(&wh.with_harvesting(65).unwrap()), vec![1, 8]);
        assert_eq!(rows_of(&wh.with_harvesting(5).unwrap()), vec![1, 3]);
        let n150 = wh.with_harvesting(64).unwrap();
        assert_eq!(rows_of(&n150), vec![8]);
        assert_eq!(n150.tensix_cores().len(), 72);
        assert_eq!(n150.worker_grid_size(), (8, 9));
    }

    #[test]
    fn wormhole_first_row_harvested_matches_tt_umd_corners() {
        // tt-umd test_core_coord_translation_wh.cpp, mask 1 << 0: logical (0, 0) is NOC0 (1, 2),
        // logical (7, 0) is (9, 2), logical (0, 8) is (1, 11); the grid is 8x9.
        let h = SocDescriptor::builtin(Arch::WormholeB0).with_harvesting(1).unwrap();
        assert_eq!(h.worker_grid_size(), (8, 9));
        assert_eq!(h.logical_to_noc(LogicalCoord::new(0, 0)), Some(NocCoord::new(1, 2)));
        assert_eq!(h.logical_to_noc(LogicalCoord::new(7, 0)), Some(NocCoord::new(9, 2)));
        assert_eq!(h.logical_to_noc(LogicalCoord::new(0, 8)), Some(NocCoord::new(1, 11)));
        assert_eq!(h.kind_at(NocCoord::new(1, 1)), Some(CoreKind::HarvestedTensix));
    }

    #[test]
    fn blackhole_masks_from_tt_umd_cluster_descriptors() {
        // tt-umd tests/cluster_descriptor_examples/blackhole_P150.yaml and blackhole_P100.yaml:
        // harvest_mask 192 = bits 6 and 7 = the 7th and 8th Tensix columns, NOC0 x 7 and 10.
        let bh = SocDescriptor::builtin(Arch::Blackhole);
        let h = bh
            .with_harvesting_masks(HarvestingMasks {
                tensix: 192,
                ..HarvestingMasks::unharvested(Arch::Blackhole)
            })
            .unwrap();
        let mut cols: Vec<u16> = h.harvested_cores().iter().map(|c| c.x).collect();
        cols.sort_unstable();
        cols.dedup();
        assert_eq!(cols, vec![7, 10]);
        assert_eq!(h.worker_grid_size(), (12, 10));
        assert_eq!(h.tensix_cores().len(), 120);
        // tt-umd test_core_coord_translation_bh.cpp, mask 1 << 0: logical (0, 0) is NOC0 (2, 2),
        // logical (12, 0) is (16, 2), the grid is 13x10.
        let good = HarvestingMasks::unharvested(Arch::Blackhole);
        let first = bh.with_harvesting_masks(HarvestingMasks { tensix: 1, ..good }).unwrap();
        assert_eq!(first.worker_grid_size(), (13, 10));
        assert_eq!(first.logical_to_noc(LogicalCoord::new(0, 0)), Some(NocCoord::new(2, 2)));
        assert_eq!(first.logical_to_noc(LogicalCoord::new(12, 0)), Some(NocCoord::new(16, 2)));
    }

    #[test]
    fn blackhole_p100_dram_eth_and_pcie_harvesting() {
        // tt-umd blackhole_P100.yaml: dram_harvesting_mask 8, eth_harvesting_mask 16383,
        // pcie_harvesting_mask 2.
        let bh = SocDescriptor::builtin(Arch::Blackhole);
        let p100 = bh
            .with_harvesting_masks(HarvestingMasks { tensix: 192, dram: 8, eth: 16383, pcie: 2 })
            .unwrap();
        assert_eq!(p100.dram_channels().len(), 7);
        assert_eq!(p100.dram_banks().len(), 7);
        assert_eq!(p100.dram_channel_noc0_index(3), Some(4));
        assert_eq!(p100.dram_banks()[3].channel, 3);
        // Channel 3 is NOC0 0-5, 0-7, 0-6 (blackhole_implementation.hpp DRAM_CORES_NOC0).
        assert_eq!(p100.kind_at(NocCoord::new(0, 5)), Some(CoreKind::HarvestedDram));
        assert_eq!(p100.dram_channel_of(NocCoord::new(0, 5)), None);
        assert!(p100.ethernet_cores().is_empty());
        assert_eq!(p100.all_ethernet_cores().len(), 14);
        assert_eq!(p100.pcie_cores(), &[NocCoord::new(2, 0)]);
        assert_eq!(p100.kind_at(NocCoord::new(11, 0)), Some(CoreKind::HarvestedPcie));
        assert_eq!(p100.dram_size(), 7 * 4_278_190_080);
    }

    #[test]
    fn blackhole_p150_ethernet_harvesting_keeps_channel_order() {
        // tt-umd blackhole_P150.yaml: eth_harvesting_mask 288 = channels 5 and 8, which are
        // NOC0 14-1 and 5-1 in ETH_CORES_NOC0 order.
        let bh = SocDescriptor::builtin(Arch::Blackhole);
        let p150 = bh
            .with_harvesting_masks(HarvestingMasks { tensix: 192, dram: 0, eth: 288, pcie: 2 })
            .unwrap();
        assert_eq!(p150.ethernet_cores().len(), 12);
        assert!(!p150.ethernet_cores().contains(&NocCoord::new(14, 1)));
        assert!(!p150.ethernet_cores().contains(&NocCoord::new(5, 1)));
        assert_eq!(p150.ethernet_cores()[5], NocCoord::new(4, 1));
        assert_eq!(p150.kind_at(NocCoord::new(5, 1)), Some(CoreKind::HarvestedEthernet));
        assert_eq!(p150.l1_size_at(NocCoord::new(5, 1)), None);
        assert_eq!(p150.dram_channels().len(), 8);
    }

    /// Issue 19: 16,292 of the 16,384 Ethernet masks differed in acceptance from tt-umd, which
    /// takes exactly 2 or 14 harvested channels on a full Blackhole
    /// (blackhole_coordinate_manager.cpp assert_coordinate_manager_constructor).
    #[test]
    fn blackhole_ethernet_masks_accepted_exactly_where_tt_umd_accepts_them() {
        let bh = SocDescriptor::builtin(Arch::Blackhole);
        let mut accepted = 0;
        for eth in 0..(1u32 << 14) {
            let ok =
                bh.with_harvesting_masks(HarvestingMasks { eth, ..Default::default() }).is_ok();
            let count = eth.count_ones();
            assert_eq!(ok, count == 2 || count == 14, "mask {eth:#x}");
            accepted += u32::from(ok);
        }
        // C(14, 2) masks of two channels, and the one of all fourteen.
        assert_eq!(accepted, 91 + 1);
        let err = bh.with_harvesting_masks(HarvestingMasks::default()).unwrap_err().to_string();
        assert!(err.contains("harvests 0 of the 14 Ethernet channels") && err.contains("288"));
        // A good die reports channels 5 and 8 off (zephyr harvesting.c), tt-umd's example mask.
        assert_eq!(HarvestingMasks::unharvested(Arch::Blackhole).eth, 0x120);
        for arch in [Arch::WormholeB0, Arch::Blackhole] {
            let good = HarvestingMasks::unharvested(arch);
            let soc = SocDescriptor::builtin(arch);
            assert_eq!(soc.with_harvesting_masks(good).unwrap().harvesting(), good);
            assert_eq!(SocDescriptor::builtin_good_die(arch).harvesting(), good);
        }
        assert_eq!(SocDescriptor::builtin_good_die(Arch::Blackhole).ethernet_cores().len(), 12);
        assert_eq!(HarvestingMasks::unharvested(Arch::WormholeB0), HarvestingMasks::default());
        // Wormhole harvests no Ethernet channel at all.
        let wh = SocDescriptor::builtin(Arch::WormholeB0);
        assert!(wh.with_harvesting_masks(HarvestingMasks::default()).is_ok());
    }

    #[test]
    fn masks_add_up_and_report_back() {
        let wh = SocDescriptor::builtin(Arch::WormholeB0);
        let h = wh.with_harvesting(1).unwrap().with_harvesting(64).unwrap();
        assert_eq!(h.harvesting_mask(), 65);
        assert_eq!(h.harvesting(), HarvestingMasks::tensix(65));
    }

    #[test]
    fn bad_masks_name_the_mask_and_the_fix() {
        let wh = SocDescriptor::builtin(Arch::WormholeB0);
        let err = wh.with_harvesting(1 << 10).unwrap_err().to_string();
        assert!(err.contains("tensix") && err.contains("bits above 9"), "{err}");
        let err = wh.with_harvesting(0x3ff).unwrap_err().to_string();
        assert!(err.contains("removes every Tensix row;"), "{err}");
        let err = wh
            .with_harvesting_masks(HarvestingMasks { dram: 1, ..Default::default() })
            .unwrap_err()
            .to_string();
        assert!(err.contains("dram") && err.contains("only Tensix rows"), "{err}");
        let bh = SocDescriptor::builtin(Arch::Blackhole);
        let err = bh
            .with_harvesting_masks(HarvestingMasks { dram: 0b11, ..Default::default() })
            .unwrap_err()
            .to_string();
        assert!(err.contains("at most one DRAM channel"), "{err}");
        let err = bh
            .with_harvesting_masks(HarvestingMasks { eth: 1 << 14, ..Default::default() })
            .unwrap_err()
            .to_string();
        assert!(err.contains("14 Ethernet channels"), "{err}");
        let err = bh.with_harvesting(1 << 14).unwrap_err().to_string();
        assert!(err.contains("bits above 13"), "{err}");
    }
}
