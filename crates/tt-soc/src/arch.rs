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

/// Which way a harvesting mask removes Tensix cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HarvestAxis {
    /// Each mask bit removes one NOC0 row (Wormhole).
    Rows,
    /// Each mask bit removes one NOC0 column (Blackhole).
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

// TLB window classes: tt-umd wormhole_implementation.h (TLB_COUNT_1M = 156, TLB_COUNT_2M = 10,
// TLB_COUNT_16M = 20) and blackhole_implementation.h (TLB_COUNT_2M = 202, TLB_COUNT_4G = 8).
const WORMHOLE_TLBS: [TlbSizeClass; 3] = [
    TlbSizeClass { size: 1 << 20, count: 156 },
    TlbSizeClass { size: 2 << 20, count: 10 },
    TlbSizeClass { size: 16 << 20, count: 20 },
];
const BLACKHOLE_TLBS: [TlbSizeClass; 2] =
    [TlbSizeClass { size: 2 << 20, count: 202 }, TlbSizeClass { size: 4 << 30, count: 8 }];

// Harvesting bit order: tt-umd's HARVESTING_NOC_LOCATIONS (wormhole: NOC0 rows;
// blackhole: NOC0 columns). Bit i of the mask removes entry i.
const WORMHOLE_HARVEST_ORDER: [u16; 10] = [11, 1, 10, 2, 9, 3, 8, 4, 7, 5];
const BLACKHOLE_HARVEST_ORDER: [u16; 14] = [1, 16, 2, 15, 3, 14, 4, 13, 5, 12, 6, 11, 7, 10];

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

    /// NOC0 row (Wormhole) or column (Blackhole) removed by each harvesting mask bit.
    pub fn harvest_order(self) -> &'static [u16] {
        match self {
            Arch::WormholeB0 => &WORMHOLE_HARVEST_ORDER,
            Arch::Blackhole => &BLACKHOLE_HARVEST_ORDER,
        }
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
        assert_eq!(wh, vec![(1, 156), (2, 10), (16, 20)]);
        let bh: Vec<_> =
            Arch::Blackhole.tlb_classes().iter().map(|c| (c.size >> 20, c.count)).collect();
        assert_eq!(bh, vec![(2, 202), (4096, 8)]);
    }
}
