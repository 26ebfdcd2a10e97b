//! Translation pinned to tt-umd's tests (tests/baremetal/test_core_coord_translation_wh.cpp
//! and test_core_coord_translation_bh.cpp) and its NOC1 tables.

use super::*;
use crate::{HarvestingMasks, LogicalCoord};

fn t(x: u16, y: u16) -> TranslatedCoord {
    TranslatedCoord::from_raw(x, y)
}

fn wh(mask: u32) -> SocDescriptor {
    SocDescriptor::builtin(Arch::WormholeB0).with_harvesting(mask).unwrap()
}

/// A Blackhole with `masks` on top of what a good die's firmware reports (Ethernet channels 5
/// and 8), as tt-umd's tests use `example_eth_harvesting_mask = (1 << 8) | (1 << 5)`.
fn bh(masks: HarvestingMasks) -> SocDescriptor {
    let masks = masks.union(HarvestingMasks::unharvested(Arch::Blackhole));
    SocDescriptor::builtin(Arch::Blackhole).with_harvesting_masks(masks).unwrap()
}

fn translated(soc: &SocDescriptor, logical: (u16, u16)) -> TranslatedCoord {
    let noc0 = soc.logical_to_noc(LogicalCoord::new(logical.0, logical.1)).unwrap();
    soc.noc0_to_translated(noc0).unwrap()
}

#[test]
fn wormhole_tensix_translation_matches_tt_umd() {
    // CoordinateManagerWormholeNoHarvesting: translated = logical + (18, 18).
    let full = wh(0);
    for core in full.tensix_cores() {
        let l = full.noc_to_logical(core).unwrap();
        assert_eq!(full.noc0_to_translated(core), Some(t(l.x + 18, l.y + 18)));
    }
    // TopLeft / TopRight / BottomLeft with mask 1 << 0.
    let h = wh(1);
    assert_eq!(translated(&h, (0, 0)), t(18, 18));
    assert_eq!(translated(&h, (7, 0)), t(25, 18));
    assert_eq!(translated(&h, (0, 8)), t(18, 26));
    // LogicalTranslatedTopLeft: (0, 0) is 18-18 for every mask.
    for mask in 0..(1 << 10) - 1 {
        assert_eq!(translated(&wh(mask), (0, 0)), t(18, 18), "mask {mask}");
    }
    // NOC0TranslatedHarvestedMapping, mask 0b11: NOC0 rows 1 and 2 go to translated rows 26, 27.
    let h = wh(0b11);
    assert_eq!(h.noc0_to_translated(NocCoord::new(1, 1)), Some(t(18, 26)));
    assert_eq!(h.noc0_to_translated(NocCoord::new(9, 2)), Some(t(25, 27)));
}

#[test]
fn wormhole_ethernet_and_fixed_cores() {
    // CoordinateManagerWormholeETHTranslated corners.
    let full = wh(0);
    for (noc0, tr) in
        [((1, 0), (18, 16)), ((9, 0), (25, 16)), ((1, 6), (18, 17)), ((9, 6), (25, 17))]
    {
        assert_eq!(full.noc0_to_translated(NocCoord::new(noc0.0, noc0.1)), Some(t(tr.0, tr.1)));
    }
    // ARC, PCIe and DRAM keep NOC0 coordinates.
    for c in [NocCoord::new(0, 10), NocCoord::new(0, 3), NocCoord::new(0, 0), NocCoord::new(5, 11)]
    {
        assert_eq!(full.noc0_to_translated(c), Some(same(c)));
    }
}

#[test]
fn blackhole_tensix_translation_matches_tt_umd() {
    // CoordinateManagerBlackholeNoHarvesting: translated == NOC0.
    let full = bh(HarvestingMasks::default());
    for core in full.tensix_cores() {
        assert_eq!(full.noc0_to_translated(core), Some(same(core)));
    }
    // TopRightCore / BottomLeftCore with mask 1 << 0.
    let h = bh(HarvestingMasks::tensix(1));
    assert_eq!(translated(&h, (12, 0)), t(15, 2));
    assert_eq!(translated(&h, (0, 9)), t(1, 11));
    // TensixTranslatedMappingHarvested, mask 0b11: NOC0 (1, 2) -> (16, 2), (2, 2) -> (15, 2).
    let h = bh(HarvestingMasks::tensix(0b11));
    assert_eq!(h.noc0_to_translated(NocCoord::new(1, 2)), Some(t(16, 2)));
    assert_eq!(h.noc0_to_translated(NocCoord::new(2, 2)), Some(t(15, 2)));
    // A P150's columns 7 and 10 (mask 192): the twelve usable columns are translated to
    // columns 1-7 and 10-14; 7 (die index 12) then 10 (13) take 16 and 15.
    let p150 = bh(HarvestingMasks::tensix(192));
    assert_eq!(p150.noc0_to_translated(NocCoord::new(11, 5)), Some(t(7, 5)));
    assert_eq!(p150.noc0_to_translated(NocCoord::new(16, 5)), Some(t(14, 5)));
    assert_eq!(p150.noc0_to_translated(NocCoord::new(7, 5)), Some(t(16, 5)));
    assert_eq!(p150.noc0_to_translated(NocCoord::new(10, 5)), Some(t(15, 5)));
}

#[test]
fn blackhole_ethernet_pcie_and_dram_translation() {
    // CoordinateManagerBlackholeETHTranslation with eth mask (1 << 8) | (1 << 5): usable
    // channel i is 20 + i, 25; harvested channels keep NOC0.
    let masks = HarvestingMasks { eth: (1 << 8) | (1 << 5), pcie: 2, ..Default::default() };
    let h = bh(masks);
    for (i, eth) in h.ethernet_cores().iter().enumerate() {
        assert_eq!(h.noc0_to_translated(*eth), Some(t(20 + i as u16, 25)));
    }
    let ch5 = h.all_ethernet_cores()[5];
    assert_eq!(h.noc0_to_translated(ch5), Some(same(ch5)));
    // The PCIe endpoint is 19-24.
    assert_eq!(h.noc0_to_translated(NocCoord::new(2, 0)), Some(t(19, 24)));
    // DRAM: translated 17-12 is bank 0 port 0, NOC0 0-0 (test "translate_coord_to({17, 12},
    // TRANSLATED)" is DRAM).
    assert_eq!(h.translated_to_noc0(t(17, 12)), Some(NocCoord::new(0, 0)));
    assert_eq!(h.noc0_to_translated(NocCoord::new(9, 0)), Some(t(18, 12)));
    // P100: bank 3 harvested; its ports go to the bottom of column 18 (18-21..23); its
    // mirror, bank 6 (logical 6 = NOC0 bank 7), moves to the bottom of column 17.
    let p100 = bh(HarvestingMasks { dram: 8, ..Default::default() });
    assert_eq!(p100.noc0_to_translated(NocCoord::new(0, 5)), Some(t(18, 21)));
    assert_eq!(p100.noc0_to_translated(NocCoord::new(0, 0)), Some(t(18, 12)));
    assert_eq!(p100.noc0_to_translated(NocCoord::new(9, 5)), Some(t(17, 21)));
    let all: std::collections::BTreeSet<_> = p100
        .all_dram_channels()
        .iter()
        .flat_map(|c| c.endpoints.iter().map(|e| p100.noc0_to_translated(*e).unwrap()))
        .collect();
    assert_eq!(all.len(), 24, "every DRAM port has its own translated coordinate");
}

#[test]
fn translation_inverts_for_every_preset_and_mask() {
    let mut socs: Vec<SocDescriptor> = (0..(1 << 10) - 1).map(wh).collect();
    socs.extend((0..(1 << 14) - 1).step_by(37).map(|m| bh(HarvestingMasks::tensix(m))));
    for preset in crate::BoardPreset::ALL {
        for chip in preset.chips() {
            socs.push(
                SocDescriptor::builtin(preset.arch())
                    .with_harvesting_masks(chip.harvesting)
                    .unwrap(),
            );
        }
    }
    for soc in &socs {
        let (gx, gy) = soc.grid_size();
        let mut seen = std::collections::BTreeSet::new();
        for y in 0..gy {
            for x in 0..gx {
                let c = NocCoord::new(x, y);
                let tr = soc.noc0_to_translated(c).unwrap();
                assert!(seen.insert(tr), "{:?}: {c} and another core share {tr}", soc.harvesting());
                assert_eq!(soc.translated_to_noc0(tr), Some(c));
            }
        }
    }
}

#[test]
fn noc1_mirrors_noc0_as_tt_umd_tables_say() {
    // tt-umd CoordinateManagerBlackholeNoc1Noc0Mapping: Tensix 1-2 is NOC1 15-9, DRAM 0-0 is
    // 16-11, PCIe 2-0 is 14-11, ARC 8-0 is 8-11.
    let b = bh(HarvestingMasks::default());
    for (n0, n1) in [((1, 2), (15, 9)), ((0, 0), (16, 11)), ((2, 0), (14, 11)), ((8, 0), (8, 11))] {
        let (n0, n1) = (NocCoord::new(n0.0, n0.1), Noc1Coord::new(n1.0, n1.1));
        assert_eq!(b.noc0_to_noc1(n0), Some(n1));
        assert_eq!(b.noc1_to_noc0(n1), Some(n0));
    }
    // Wormhole NOC0_X_TO_NOC1_X = {9, ..., 0}, NOC0_Y_TO_NOC1_Y = {11, ..., 0}.
    assert_eq!(wh(0).noc0_to_noc1(NocCoord::new(0, 10)), Some(Noc1Coord::new(9, 1)));
    assert_eq!(wh(0).noc0_to_noc1(NocCoord::new(10, 0)), None);
}

#[test]
fn without_translation_coordinates_stay_noc0() {
    let off = bh(HarvestingMasks::tensix(192)).with_noc_translation(false);
    assert_eq!(off.noc0_to_translated(NocCoord::new(7, 5)), Some(t(7, 5)));
    assert_eq!(off.translated_to_noc0(t(20, 25)), None);
}

#[test]
fn tlb_coordinates_are_translated_on_blackhole_and_noc0_numbers_on_wormhole() {
    // A P150 (columns 7 and 10 harvested): NOC0 column 15 is programmed as translated 13.
    let p150 = bh(HarvestingMasks::tensix(192));
    assert_eq!(p150.tlb_coord(NocCoord::new(15, 10)), Some(t(13, 10)));
    assert_eq!(p150.translated_to_noc0(t(13, 10)), Some(NocCoord::new(15, 10)));
    // The harvested columns sit at translated 15 and 16, never reached by a usable core.
    assert_eq!(p150.translated_to_noc0(t(15, 10)), Some(NocCoord::new(10, 10)));
    // Wormhole: NOC0 numbers below 16 pass the translation unchanged; 18-18 is the first
    // usable Tensix core (tt-umd COORDINATE_SYSTEMS.md).
    let n300 = wh(65);
    assert_eq!(n300.tlb_coord(NocCoord::new(1, 2)), Some(t(1, 2)));
    assert_eq!(n300.translated_to_noc0(t(1, 2)), Some(NocCoord::new(1, 2)));
    assert_eq!(n300.translated_to_noc0(t(18, 18)), Some(NocCoord::new(1, 2)));
    assert_eq!(n300.tlb_coord(NocCoord::new(10, 0)), None, "outside the 10x12 grid");
    assert_eq!(n300.translated_to_noc0(t(10, 0)), None);
}
