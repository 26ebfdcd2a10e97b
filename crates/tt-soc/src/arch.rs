use std::fmt;
use std::str::FromStr;

use crate::SocError;

/// A Tenstorrent chip architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    /// Wormhole B0 (n150/n300 cards).
    WormholeB0,
    /// Blackhole (p100/p150 cards).
    Blackhole,
}

/// Which way a Tensix harvesting mask removes cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HarvestAxis {
    /// Bit i removes the i-th Tensix row in NOC0 order (Wormhole).
    Rows,
    /// Bit i removes the i-th Tensix column in NOC0 order (Blackhole).
    Columns,
}

/// One class of PCIe TLB windows: `count` windows of `size` bytes each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlbSizeClass {
    /// Window size in bytes; a window's base NOC address must be a multiple of it.
    pub size: u64,
    /// How many windows of this size the chip has.
    pub count: u32,
}

// TLB window classes user space can allocate. The hardware has (tt-umd
// wormhole_implementation.hpp TLB_COUNT_1M = 156, TLB_COUNT_2M = 10, TLB_COUNT_16M = 20;
// blackhole_implementation.hpp TLB_COUNT_2M = 202, TLB_COUNT_4G = 8), but tt-kmd keeps one
// window for itself: wormhole.c `KERNEL_TLB_INDEX (TLB_WINDOW_COUNT - 1)`, the last 16 MiB
// window, and blackhole.c `KERNEL_TLB_INDEX (TLB_2M_WINDOW_COUNT - 1)`, the last 2 MiB window;
// both `set_bit(KERNEL_TLB_INDEX, tt_dev->tlbs)` so ALLOCATE_TLB never hands them out.
const WORMHOLE_TLBS: [TlbSizeClass; 3] = [
    TlbSizeClass { size: 1 << 20, count: 156 },
    TlbSizeClass { size: 2 << 20, count: 10 },
    TlbSizeClass { size: 16 << 20, count: 19 },
];
// Blackhole's 4 GiB windows live in BAR4 and tt-kmd exposes `bar4_len / 4 GiB` of them
// (blackhole.c blackhole_init: `tlb_counts[1] = bar4_len / TLB_4G_WINDOW_SIZE`), so 8 is the
// most a card can have; a card with a smaller BAR4 refuses the rest at ALLOCATE_TLB.
const BLACKHOLE_TLBS: [TlbSizeClass; 2] =
    [TlbSizeClass { size: 2 << 20, count: 201 }, TlbSizeClass { size: 4 << 30, count: 8 }];

// The order in which the chip's firmware reports harvested Tensix rows (Wormhole) or columns
// (Blackhole): tt-umd wormhole_implementation.hpp / blackhole_implementation.hpp
// `HARVESTING_NOC_LOCATIONS`. Bit i of a firmware mask names entry i; tt-umd's
// `CoordinateManager::shuffle_tensix_harvesting_mask` turns it into the NOC0-order mask that
// the API, the cluster descriptors and this crate use.
const WORMHOLE_FIRMWARE_HARVEST_ORDER: [u16; 10] = [11, 1, 10, 2, 9, 3, 8, 4, 7, 5];
const BLACKHOLE_FIRMWARE_HARVEST_ORDER: [u16; 14] =
    [1, 16, 2, 15, 3, 14, 4, 13, 5, 12, 6, 11, 7, 10];

impl Arch {
    /// Every supported architecture.
    pub const ALL: [Arch; 2] = [Arch::WormholeB0, Arch::Blackhole];

    /// The lower-case name used in device specs and JSON (`wormhole_b0`, `blackhole`).
    pub fn name(self) -> &'static str {
        match self {
            Arch::WormholeB0 => "wormhole_b0",
            Arch::Blackhole => "blackhole",
        }
    }

    /// The PCIe TLB window classes, smallest first.
    pub fn tlb_classes(self) -> &'static [TlbSizeClass] {
        match self {
            Arch::WormholeB0 => &WORMHOLE_TLBS,
            Arch::Blackhole => &BLACKHOLE_TLBS,
        }
    }

    /// How a harvesting mask removes Tensix cores on this architecture.
    pub fn harvest_axis(self) -> HarvestAxis {
        match self {
            Arch::WormholeB0 => HarvestAxis::Rows,
            Arch::Blackhole => HarvestAxis::Columns,
        }
    }

    /// NOC0 row (Wormhole) or column (Blackhole) named by each bit of a mask as the chip's
    /// firmware reports it (tt-umd `HARVESTING_NOC_LOCATIONS`).
    pub fn firmware_harvest_order(self) -> &'static [u16] {
        match self {
            Arch::WormholeB0 => &WORMHOLE_FIRMWARE_HARVEST_ORDER,
            Arch::Blackhole => &BLACKHOLE_FIRMWARE_HARVEST_ORDER,
        }
    }

    /// Converts a Tensix harvesting mask in the firmware's bit order into tt-umd's NOC0 order
    /// (bit i = the i-th Tensix row or column from the top or left), as tt-umd's
    /// `shuffle_tensix_harvesting_mask` does. Bits beyond the firmware table are dropped.
    pub fn tensix_mask_from_firmware(self, firmware_mask: u32) -> u32 {
        let order = self.firmware_harvest_order();
        let mut sorted = order.to_vec();
        sorted.sort_unstable();
        let mut mask = 0;
        for (bit, line) in order.iter().enumerate() {
            if firmware_mask & (1 << bit) != 0 {
                // `line` comes from `order`, so it is in `sorted`.
                let position = sorted.iter().position(|l| l == line).unwrap_or(bit);
                mask |= 1 << position;
            }
        }
        mask
    }

    /// The inverse of [`Arch::tensix_mask_from_firmware`]: what the firmware reports for a
    /// NOC0-order mask (the simulated chip answers with this).
    pub fn tensix_mask_to_firmware(self, noc0_mask: u32) -> u32 {
        let order = self.firmware_harvest_order();
        let mut sorted = order.to_vec();
        sorted.sort_unstable();
        let mut mask = 0;
        for (position, line) in sorted.iter().enumerate() {
            if noc0_mask & (1 << position) != 0 {
                let bit = order.iter().position(|l| l == line).unwrap_or(position);
                mask |= 1 << bit;
            }
        }
        mask
    }

    /// Required alignment of L1 buffer addresses and sizes in bytes (tt-metal HAL: 16 on both).
    pub fn l1_alignment(self) -> u64 {
        16
    }

    /// Required alignment of DRAM buffer addresses and sizes in bytes (tt-metal HAL:
    /// 32 on Wormhole, 64 on Blackhole).
    pub fn dram_alignment(self) -> u64 {
        match self {
            Arch::WormholeB0 => 32,
            Arch::Blackhole => 64,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Arch {
    type Err = SocError;

    /// Accepts our names and tt-umd's `arch_name` spellings (`WORMHOLE_B0`, `BLACKHOLE`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "wormhole_b0" | "wormhole" | "wh" => Ok(Arch::WormholeB0),
            "blackhole" | "bh" => Ok(Arch::Blackhole),
            _ => Err(SocError::UnknownArch(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_accept_umd_spelling() {
        for arch in Arch::ALL {
            assert_eq!(arch.name().parse::<Arch>().unwrap(), arch);
        }
        assert_eq!("WORMHOLE_B0".parse::<Arch>().unwrap(), Arch::WormholeB0);
        assert_eq!("BLACKHOLE".parse::<Arch>().unwrap(), Arch::Blackhole);
        let err = "grayskull".parse::<Arch>().unwrap_err().to_string();
        assert!(err.contains("grayskull") && err.contains("wormhole_b0"), "{err}");
    }

    #[test]
    fn tlb_classes_match_tt_umd() {
        let wh: Vec<_> =
            Arch::WormholeB0.tlb_classes().iter().map(|c| (c.size >> 20, c.count)).collect();
        // One window fewer than the hardware has in the class tt-kmd keeps for itself.
        assert_eq!(wh, vec![(1, 156), (2, 10), (16, 19)]);
        let bh: Vec<_> =
            Arch::Blackhole.tlb_classes().iter().map(|c| (c.size >> 20, c.count)).collect();
        assert_eq!(bh, vec![(2, 201), (4096, 8)]);
    }

    #[test]
    fn firmware_masks_shuffle_to_noc0_order_like_tt_umd() {
        // tt-umd tests/baremetal/test_core_coord_translation_wh.cpp
        // CoordinateManagerWormholeHarvestingShuffle: firmware bit LOGICAL_HARVESTING_LAYOUT[i]
        // becomes NOC0-order bit i, with LOGICAL_HARVESTING_LAYOUT = {1, 3, 5, 7, 9, 8, 6, 4, 2, 0}
        // (wormhole_implementation.hpp).
        let wh_layout = [1, 3, 5, 7, 9, 8, 6, 4, 2, 0];
        for (i, fw_bit) in wh_layout.iter().enumerate() {
            assert_eq!(Arch::WormholeB0.tensix_mask_from_firmware(1 << fw_bit), 1 << i);
        }
        // Blackhole: LOGICAL_HARVESTING_LAYOUT = {0, 2, 4, 6, 8, 10, 12, 13, 11, 9, 7, 5, 3, 1}
        // (blackhole_implementation.hpp).
        let bh_layout = [0, 2, 4, 6, 8, 10, 12, 13, 11, 9, 7, 5, 3, 1];
        for (i, fw_bit) in bh_layout.iter().enumerate() {
            assert_eq!(Arch::Blackhole.tensix_mask_from_firmware(1 << fw_bit), 1 << i);
        }
        for arch in Arch::ALL {
            for mask in 0..(1u32 << arch.firmware_harvest_order().len()) {
                let fw = arch.tensix_mask_to_firmware(mask);
                assert_eq!(arch.tensix_mask_from_firmware(fw), mask, "{arch} {mask:#x}");
            }
        }
    }
}
