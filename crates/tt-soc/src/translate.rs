//! NOC1 and translated coordinates, as tt-umd's coordinate managers define them.
//!
//! NOC1 is NOC0 seen from the opposite corner (tt-umd `NOC0_X_TO_NOC1_X` / `NOC0_Y_TO_NOC1_Y`
//! for both chips are exact mirrors). Translated coordinates are what a chip with NOC
//! translation on decodes: tt-umd wormhole_coordinate_manager.cpp and
//! blackhole_coordinate_manager.cpp program them as computed here, so that the usable cores of
//! a harvested chip form a convex grid. Cores of kinds that are not translated keep their NOC0
//! coordinates.

use std::collections::BTreeMap;

use crate::harvest::bits;
use crate::{Arch, CoreKind, Noc1Coord, NocCoord, SocDescriptor, TranslatedCoord};

// tt-umd wormhole_implementation.hpp: tensix_translated_coordinate_start_x/y = 18,
// eth_translated_coordinate_start_x = 18, eth_translated_coordinate_start_y = 16.
const WH_TENSIX_START: u16 = 18;
const WH_ETH_START: (u16, u16) = (18, 16);
// tt-umd blackhole_implementation.hpp: eth_translated_coordinate_start 20-25,
// pcie_translated_coordinate_start 19-24, dram_translated_coordinate_start 17-12.
const BH_ETH_START: (u16, u16) = (20, 25);
const BH_PCIE_START: (u16, u16) = (19, 24);
const BH_DRAM_START: (u16, u16) = (17, 12);
/// Blackhole `NUM_DRAM_BANKS`; a descriptor with fewer channels keeps DRAM in NOC0 coordinates
/// (as tt-umd does).
const BH_DRAM_BANKS: usize = 8;

/// NOC0 -> translated for every core whose translated coordinate differs from NOC0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Translation {
    to_translated: BTreeMap<NocCoord, TranslatedCoord>,
    to_noc0: BTreeMap<TranslatedCoord, NocCoord>,
}

impl Translation {
    fn add(&mut self, noc0: NocCoord, translated: TranslatedCoord) {
        self.to_translated.insert(noc0, translated);
        self.to_noc0.insert(translated, noc0);
    }
}

fn xy(x: usize, y: usize) -> NocCoord {
    // Grid positions are below 64 (MAX_GRID_SIDE).
    NocCoord::new(x as u16, y as u16)
}

fn txy(x: usize, y: usize) -> TranslatedCoord {
    // Translated coordinates are below 32 on both chips.
    TranslatedCoord::from_raw(x as u16, y as u16)
}

/// The coordinate a grid position keeps when translation leaves it where it is.
fn same(c: NocCoord) -> TranslatedCoord {
    TranslatedCoord::from_raw(c.x, c.y)
}

/// Wormhole's translation covers coordinates 16 and up only ("Translated coordinates on
/// Wormhole start at 16-16 (due to hardware design features)", tt-umd docs/COORDINATE_SYSTEMS.md),
/// so a NOC0 coordinate below 16 reaches its own tile with translation on.
const WH_UNTRANSLATED_BELOW: u16 = 16;

impl SocDescriptor {
    /// Builds the translation table for the current harvesting.
    pub(crate) fn build_translation(&self) -> Translation {
        let mut t = Translation::default();
        match self.arch {
            Arch::WormholeB0 => self.wormhole_translation(&mut t),
            Arch::Blackhole => self.blackhole_translation(&mut t),
        }
        // Every other grid location translates to itself.
        let gx = usize::from(self.grid_x);
        for i in 0..self.kinds.len() {
            let c = xy(i % gx, i / gx);
            if !t.to_translated.contains_key(&c) && !t.to_noc0.contains_key(&same(c)) {
                t.add(c, same(c));
            }
        }
        t
    }

    /// Tensix cores (harvested included) by line, in NOC0 order: `lines[i]` holds the cores of
    /// the i-th Tensix row (Wormhole) or column (Blackhole), ordered along the line.
    fn tensix_by_line(&self) -> Vec<Vec<NocCoord>> {
        let gx = usize::from(self.grid_x);
        let mut all: Vec<NocCoord> = (0..self.kinds.len())
            .filter(|&i| matches!(self.kinds[i], CoreKind::Tensix | CoreKind::HarvestedTensix))
            .map(|i| xy(i % gx, i / gx))
            .collect();
        all.sort_by_key(|c| (c.y, c.x));
        self.tensix_lines
            .iter()
            .map(|&line| {
                all.iter()
                    .copied()
                    .filter(|c| match self.arch {
                        Arch::WormholeB0 => c.y == line,
                        Arch::Blackhole => c.x == line,
                    })
                    .collect()
            })
            .collect()
    }

    fn wormhole_translation(&self, t: &mut Translation) {
        // Usable rows first, then the harvested ones, each row's cores at x = 18, 19, ...
        let rows = self.tensix_by_line();
        let harvested: Vec<usize> = bits(self.harvesting.tensix).collect();
        let order =
            (0..rows.len()).filter(|r| !harvested.contains(r)).chain(harvested.iter().copied());
        for (ty, row) in order.enumerate() {
            for (tx, core) in rows[row].iter().enumerate() {
                t.add(
                    *core,
                    txy(usize::from(WH_TENSIX_START) + tx, usize::from(WH_TENSIX_START) + ty),
                );
            }
        }
        // Ethernet x 1-4 and 6-9 close up to 18-25; rows 0 and 6 become 16 and 17.
        // (Saturating: a custom descriptor may put Ethernet where Wormhole has none.)
        for eth in &self.all_ethernet {
            let x = if eth.x > 5 { eth.x - 1 } else { eth.x };
            let y = if eth.y == 6 { 1 } else { eth.y };
            let translated = TranslatedCoord::from_raw(
                x.saturating_sub(1).saturating_add(WH_ETH_START.0),
                y.saturating_add(WH_ETH_START.1),
            );
            t.add(*eth, translated);
        }
    }

    fn blackhole_translation(&self, t: &mut Translation) {
        // Tensix: usable columns take the leftmost translated columns in order; harvested ones
        // take the rightmost, in the firmware's (die) order of HARVESTING_NOC_LOCATIONS.
        let columns = self.tensix_by_line();
        let harvested: Vec<usize> = bits(self.harvesting.tensix).collect();
        let target_x = |i: usize| self.tensix_lines[i];
        let mut next = 0;
        for (col, cores) in columns.iter().enumerate() {
            if harvested.contains(&col) {
                continue;
            }
            for core in cores {
                t.add(*core, TranslatedCoord::from_raw(target_x(next), core.y));
            }
            next += 1;
        }
        let die = Arch::Blackhole.firmware_harvest_order();
        let mut by_die: Vec<usize> = harvested.clone();
        by_die.sort_by_key(|&col| {
            die.iter().position(|&x| x == self.tensix_lines[col]).unwrap_or(usize::MAX)
        });
        for (k, col) in by_die.into_iter().enumerate() {
            let tx = target_x(columns.len() - 1 - k);
            for core in &columns[col] {
                t.add(*core, TranslatedCoord::from_raw(tx, core.y));
            }
        }
        // Ethernet: usable channels at 20-25, 21-25, ...; harvested ones keep NOC0.
        for (i, eth) in self.ethernet.iter().enumerate() {
            t.add(*eth, txy(usize::from(BH_ETH_START.0) + i, usize::from(BH_ETH_START.1)));
        }
        // PCIe: the first usable tile is 19-24; the others keep NOC0.
        if let Some(first) = self.pcie.first() {
            t.add(*first, TranslatedCoord::from_raw(BH_PCIE_START.0, BH_PCIE_START.1));
        }
        if self.all_dram_channels.len() == BH_DRAM_BANKS {
            self.blackhole_dram_translation(t);
        }
    }

    /// tt-umd `BlackholeCoordinateManager::fill_dram_noc0_translated_mapping`: logical banks in
    /// two translated columns (17 and 18) from row 12, three ports per bank; a harvested bank's
    /// mirror on the other side moves to the bottom of its column and the harvested bank itself
    /// goes to the bottom of column 18.
    fn blackhole_dram_translation(&self, t: &mut Translation) {
        let ports = |logical: usize| &self.dram_channels[logical].endpoints;
        let map_banks = |t: &mut Translation, banks: std::ops::Range<usize>, x: u16, y: u16| {
            let mut ty = usize::from(y);
            for bank in banks {
                for port in ports(bank) {
                    t.add(*port, txy(usize::from(x), ty));
                    ty += 1;
                }
            }
        };
        let (x0, y0) = BH_DRAM_START;
        let half = BH_DRAM_BANKS / 2;
        let per_bank = self.all_dram_channels[0].endpoints.len();
        let row = |bank_slots: usize| y0 + (bank_slots * per_bank) as u16;
        let Some(harvested) = bits(self.harvesting.dram).next() else {
            map_banks(t, 0..half, x0, y0);
            map_banks(t, half..BH_DRAM_BANKS, x0 + 1, y0);
            return;
        };
        if harvested < half {
            let mirror_east = harvested + half - 1;
            map_banks(t, 0..half - 1, x0 + 1, y0);
            map_banks(t, half - 1..mirror_east, x0, y0);
            map_banks(t, mirror_east + 1..BH_DRAM_BANKS - 1, x0, row(mirror_east - (half - 1)));
            map_banks(t, mirror_east..mirror_east + 1, x0, row(half - 1));
        } else {
            let mirror_west = harvested - half;
            map_banks(t, 0..mirror_west, x0, y0);
            map_banks(t, mirror_west + 1..half, x0, row(mirror_west));
            map_banks(t, mirror_west..mirror_west + 1, x0, row(half - 1));
            map_banks(t, half..BH_DRAM_BANKS - 1, x0 + 1, y0);
        }
        for (port, core) in self.all_dram_channels[harvested].endpoints.iter().enumerate() {
            t.add(*core, TranslatedCoord::from_raw(x0 + 1, row(half - 1) + port as u16));
        }
    }

    /// The translated coordinate of NOC0 coordinate `noc0`: the coordinate to program into a
    /// TLB or a NOC command when NOC translation is on (NOC0's numbers when it is off). `None`
    /// outside the grid.
    pub fn noc0_to_translated(&self, noc0: NocCoord) -> Option<TranslatedCoord> {
        self.kind_at(noc0)?;
        if !self.noc_translation {
            return Some(same(noc0));
        }
        self.translation.to_translated.get(&noc0).copied()
    }

    /// The NOC0 coordinate a translated coordinate reaches, or `None` when nothing does. On
    /// Wormhole a coordinate below 16 is outside the translated range and reaches its own NOC0
    /// tile, as the hardware decodes it.
    pub fn translated_to_noc0(&self, translated: TranslatedCoord) -> Option<NocCoord> {
        let raw = NocCoord::new(translated.x(), translated.y());
        if !self.noc_translation {
            return self.kind_at(raw).map(|_| raw);
        }
        if let Some(noc0) = self.translation.to_noc0.get(&translated) {
            return Some(*noc0);
        }
        let below =
            translated.x() < WH_UNTRANSLATED_BELOW && translated.y() < WH_UNTRANSLATED_BELOW;
        (self.arch == Arch::WormholeB0 && below)
            .then_some(raw)
            .filter(|c| self.kind_at(*c).is_some())
    }

    /// The coordinate a TLB window (or a NOC command) is programmed with to reach NOC0 core
    /// `noc0`, in the system the chip decodes. Blackhole with translation on decodes every
    /// coordinate as a translated one (Tensix NOC0 and translated columns overlap there), so
    /// tt-umd programs translated coordinates and so do we. Wormhole's translated range starts
    /// at 16, above every NOC0 coordinate, so NOC0 numbers reach the physical tile unchanged.
    /// `None` outside the grid.
    pub fn tlb_coord(&self, noc0: NocCoord) -> Option<TranslatedCoord> {
        match self.arch {
            Arch::Blackhole => self.noc0_to_translated(noc0),
            Arch::WormholeB0 => self.kind_at(noc0).map(|_| same(noc0)),
        }
    }

    /// The NOC1 coordinate of NOC0 coordinate `noc0` (the grid seen from the opposite corner).
    pub fn noc0_to_noc1(&self, noc0: NocCoord) -> Option<Noc1Coord> {
        self.kind_at(noc0)?;
        Some(Noc1Coord::new(self.grid_x - 1 - noc0.x, self.grid_y - 1 - noc0.y))
    }

    /// The NOC0 coordinate of NOC1 coordinate `noc1`.
    pub fn noc1_to_noc0(&self, noc1: Noc1Coord) -> Option<NocCoord> {
        if noc1.x >= self.grid_x || noc1.y >= self.grid_y {
            return None;
        }
        Some(NocCoord::new(self.grid_x - 1 - noc1.x, self.grid_y - 1 - noc1.y))
    }
}

#[cfg(test)]
#[path = "translate_tests.rs"]
mod tests;
