//! Boards: the products users own (n150, n300, p100a, p150a), how a card's board id names
//! its type, and the harvesting and identity of each product as tt-umd's examples record it.

use std::fmt;
use std::str::FromStr;

use crate::{Arch, HarvestingMasks, SocError};

/// A Tenstorrent board type, as tt-umd's `BoardType` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BoardType {
    /// Wormhole n150: one chip.
    N150,
    /// Wormhole n300: two chips; the second is reached through the first chip's Ethernet.
    N300,
    /// Blackhole p100(a): one chip, no Ethernet.
    P100,
    /// Blackhole p150(a/b/c): one chip.
    P150,
    /// Blackhole p300: two chips.
    P300,
    /// Wormhole Galaxy (UBB): 32 chips.
    GalaxyWormhole,
    /// Blackhole Galaxy (UBB): 32 chips.
    GalaxyBlackhole,
}

/// Board UPI (bits 36..56 of the board id) to board type: tt-umd
/// device/api/umd/device/types/cluster_descriptor_types.hpp `board_upi_map`.
const BOARD_UPI: [(u64, BoardType); 12] = [
    (0x36, BoardType::P100),
    (0x43, BoardType::P100),
    (0x40, BoardType::P150),
    (0x41, BoardType::P150),
    (0x42, BoardType::P150),
    (0x44, BoardType::P300),
    (0x45, BoardType::P300),
    (0x46, BoardType::P300),
    (0x18, BoardType::N150),
    (0x14, BoardType::N300),
    (0x35, BoardType::GalaxyWormhole),
    (0x47, BoardType::GalaxyBlackhole),
];

impl BoardType {
    /// The board type a board id encodes (tt-umd `get_board_type_from_board_id`: the UPI is
    /// `(board_id >> 36) & 0xFFFFF`), or `None` for a UPI tt-umd does not know.
    pub fn from_board_id(board_id: u64) -> Option<BoardType> {
        let upi = (board_id >> 36) & 0xF_FFFF;
        BOARD_UPI.iter().find(|(u, _)| *u == upi).map(|(_, t)| *t)
    }

    /// Lower-case name as tt-umd's cluster descriptors write it (`n150`, `p150`, ...).
    pub fn name(self) -> &'static str {
        match self {
            BoardType::N150 => "n150",
            BoardType::N300 => "n300",
            BoardType::P100 => "p100",
            BoardType::P150 => "p150",
            BoardType::P300 => "p300",
            BoardType::GalaxyWormhole => "ubb",
            BoardType::GalaxyBlackhole => "ubb_blackhole",
        }
    }

    /// The chip architecture on this board.
    pub fn arch(self) -> Arch {
        match self {
            BoardType::N150 | BoardType::N300 | BoardType::GalaxyWormhole => Arch::WormholeB0,
            _ => Arch::Blackhole,
        }
    }

    /// Chips on the board (tt-umd `get_number_of_chips_from_board_type`).
    pub fn chip_count(self) -> u32 {
        match self {
            BoardType::N150 | BoardType::P100 | BoardType::P150 => 1,
            BoardType::N300 | BoardType::P300 => 2,
            BoardType::GalaxyWormhole | BoardType::GalaxyBlackhole => 32,
        }
    }
}

impl fmt::Display for BoardType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One chip of a board preset: its harvesting and the identity its firmware reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresetChip {
    /// Harvesting masks in tt-umd's convention.
    pub harvesting: HarvestingMasks,
    /// ASIC location on the board (0 for the chip with the PCIe link).
    pub asic_location: u8,
}

/// A board the simulator can be: a product with the harvesting, DRAM channels and identity of
/// a real unit, from tt-umd's tests/cluster_descriptor_examples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BoardPreset {
    /// Wormhole n150 (tt-umd wormhole_N150.yaml).
    N150,
    /// Wormhole n300 (tt-umd wormhole_N300.yaml).
    N300,
    /// Blackhole p100a (tt-umd blackhole_P100.yaml).
    P100a,
    /// Blackhole p150a (tt-umd blackhole_P150.yaml).
    P150a,
}

impl BoardPreset {
    /// Every preset.
    pub const ALL: [BoardPreset; 4] =
        [BoardPreset::N150, BoardPreset::N300, BoardPreset::P100a, BoardPreset::P150a];

    /// The name used in device specs (`sim:n150`).
    pub fn name(self) -> &'static str {
        match self {
            BoardPreset::N150 => "n150",
            BoardPreset::N300 => "n300",
            BoardPreset::P100a => "p100a",
            BoardPreset::P150a => "p150a",
        }
    }

    /// The board type its id encodes.
    pub fn board_type(self) -> BoardType {
        match self {
            BoardPreset::N150 => BoardType::N150,
            BoardPreset::N300 => BoardType::N300,
            BoardPreset::P100a => BoardType::P100,
            BoardPreset::P150a => BoardType::P150,
        }
    }

    /// The chips' architecture.
    pub fn arch(self) -> Arch {
        self.board_type().arch()
    }

    /// The board id of the unit in tt-umd's example (its `boards: board_id`); the UPI in it
    /// names the board type.
    pub fn board_id(self) -> u64 {
        match self {
            // wormhole_N150.yaml board_id 72059269368820857.
            BoardPreset::N150 => 0x0100_0186_1180_b479,
            // wormhole_N300.yaml board_id 72058994491072686.
            BoardPreset::N300 => 0x0100_0146_1183_20ae,
            // blackhole_P100.yaml board_id 4613626507328.
            BoardPreset::P100a => 0x0432_3191_b040,
            // blackhole_P150.yaml board_id 4402341478400.
            BoardPreset::P150a => 0x0401_0000_0000,
        }
    }

    /// The chips, in ASIC-location order.
    pub fn chips(self) -> &'static [PresetChip] {
        match self {
            BoardPreset::N150 => &N150_CHIPS,
            BoardPreset::N300 => &N300_CHIPS,
            BoardPreset::P100a => &P100A_CHIPS,
            BoardPreset::P150a => &P150A_CHIPS,
        }
    }
}

const fn chip(tensix: u32, dram: u32, eth: u32, pcie: u32, asic_location: u8) -> PresetChip {
    PresetChip { harvesting: HarvestingMasks { tensix, dram, eth, pcie }, asic_location }
}
// wormhole_N150.yaml: harvest_mask 64 (one Tensix row: NOC0 row 8).
const N150_CHIPS: [PresetChip; 1] = [chip(64, 0, 0, 0, 0)];
// wormhole_N300.yaml: chip 0 harvest_mask 65 (rows 1, 8), chip 1 harvest_mask 5 (rows 1, 3).
const N300_CHIPS: [PresetChip; 2] = [chip(65, 0, 0, 0, 0), chip(5, 0, 0, 0, 1)];
// blackhole_P100.yaml: harvest_mask 192 (columns 7, 10), dram_harvesting_mask 8 (7 of 8 GDDR
// channels), eth_harvesting_mask 16383 (no Ethernet), pcie_harvesting_mask 2 (PCIe on 2-0).
const P100A_CHIPS: [PresetChip; 1] = [chip(192, 8, 16383, 2, 0)];
// blackhole_P150.yaml: harvest_mask 192, dram 0, eth_harvesting_mask 288 (channels 5 and 8),
// pcie_harvesting_mask 2.
const P150A_CHIPS: [PresetChip; 1] = [chip(192, 0, 288, 2, 0)];

impl fmt::Display for BoardPreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BoardPreset {
    type Err = SocError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "n150" => Ok(BoardPreset::N150),
            "n300" => Ok(BoardPreset::N300),
            "p100a" | "p100" => Ok(BoardPreset::P100a),
            "p150a" | "p150" => Ok(BoardPreset::P150a),
            _ => Err(SocError::UnknownBoard(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SocDescriptor;

    #[test]
    fn board_ids_name_their_type_like_tt_umd() {
        // The board ids of tt-umd's cluster descriptor examples, in decimal as written there.
        assert_eq!(BoardType::from_board_id(72059269368820857), Some(BoardType::N150));
        assert_eq!(BoardType::from_board_id(72058994491072686), Some(BoardType::N300));
        assert_eq!(BoardType::from_board_id(4613626507328), Some(BoardType::P100));
        assert_eq!(BoardType::from_board_id(4402341478400), Some(BoardType::P150));
        assert_eq!(BoardType::from_board_id(0), None);
        for preset in BoardPreset::ALL {
            assert_eq!(BoardType::from_board_id(preset.board_id()), Some(preset.board_type()));
            assert_eq!(preset.chips().len() as u32, preset.board_type().chip_count());
            assert_eq!(preset.name().parse::<BoardPreset>().unwrap(), preset);
        }
        let err = "n999".parse::<BoardPreset>().unwrap_err().to_string();
        assert!(err.contains("n999") && err.contains("n150") && err.contains("p150a"), "{err}");
    }

    #[test]
    fn presets_have_the_real_units_resources() {
        let usable = |preset: BoardPreset, chip: usize| {
            let soc = SocDescriptor::builtin(preset.arch());
            soc.with_harvesting_masks(preset.chips()[chip].harvesting).unwrap()
        };
        let n150 = usable(BoardPreset::N150, 0);
        assert_eq!((n150.tensix_cores().len(), n150.dram_channels().len()), (72, 6));
        let n300 = (usable(BoardPreset::N300, 0), usable(BoardPreset::N300, 1));
        assert_eq!((n300.0.tensix_cores().len(), n300.1.tensix_cores().len()), (64, 64));
        let p100 = usable(BoardPreset::P100a, 0);
        assert_eq!((p100.tensix_cores().len(), p100.dram_channels().len()), (120, 7));
        assert_eq!(p100.ethernet_cores().len(), 0);
        let p150 = usable(BoardPreset::P150a, 0);
        assert_eq!((p150.tensix_cores().len(), p150.dram_channels().len()), (120, 8));
        assert_eq!(p150.ethernet_cores().len(), 12);
        assert_eq!(p150.pcie_cores().len(), 1);
    }
}
