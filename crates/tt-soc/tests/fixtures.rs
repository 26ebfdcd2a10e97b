//! Every fixture parses to the figures tt-umd (and, for DRAM views, tt-metal) derive from it.
//! The fixtures are ours, written from the files their header comments name.

// A fixture that does not parse must fail the test loudly, naming the file.
#![allow(clippy::panic)]

use std::path::PathBuf;

use tt_soc::{Arch, BoardPreset, CoreKind, NocCoord, SocDescriptor};

fn fixture(name: &str) -> SocDescriptor {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name);
    SocDescriptor::from_yaml_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn banks(soc: &SocDescriptor) -> Vec<(usize, u64, u64)> {
    soc.dram_banks().iter().map(|b| (b.channel, b.offset, b.size)).collect()
}

#[test]
fn tt_umd_wormhole_format() {
    let wh = fixture("tt_umd_wormhole_b0_8x10.yaml");
    assert_eq!(wh.arch(), Arch::WormholeB0);
    assert_eq!(wh.grid_size(), (10, 12));
    assert_eq!(wh.tensix_cores().len(), 80);
    assert_eq!(wh.ethernet_cores().len(), 16);
    // tt-umd: one bank per `dram` entry of dram_bank_size.
    assert_eq!(wh.dram_channels().len(), 6);
    assert_eq!(banks(&wh), (0..6).map(|c| (c, 0, 2 << 30)).collect::<Vec<_>>());
    assert_eq!(wh.noc0_to_noc1(NocCoord::new(0, 0)), Some(tt_soc::Noc1Coord::new(9, 11)));
    assert_eq!(wh.eth_l1_size(), 262_144);
}

#[test]
fn tt_umd_blackhole_format() {
    let bh = fixture("tt_umd_blackhole_140_arch.yaml");
    assert_eq!(bh.worker_l1_size(), 1_572_864);
    assert_eq!(bh.tensix_cores().len(), 140);
    assert_eq!(bh.pcie_cores(), &[NocCoord::new(2, 0), NocCoord::new(11, 0)]);
    assert_eq!(bh.ethernet_cores()[1], NocCoord::new(16, 1));
    assert_eq!(bh.dram_channels().len(), 8);
    assert_eq!(bh.dram_size(), 8 << 32);
    // Security and L2CPU tiles hold nothing the runtime addresses.
    assert_eq!(bh.kind_at(NocCoord::new(8, 2)), Some(CoreKind::RouterOnly));
    assert_eq!(bh.kind_at(NocCoord::new(8, 9)), Some(CoreKind::RouterOnly));
    assert!(bh.noc_translation());
}

#[test]
fn tt_metal_dram_views_give_12_banks_of_1_gib() {
    for name in
        ["tt_metal_wormhole_b0_80_dram_views.yaml", "tt_metal_wormhole_b0_80_address_offsets.yaml"]
    {
        let wh = fixture(name);
        assert_eq!(wh.dram_channels().len(), 6, "{name}");
        assert!(wh.dram_channels().iter().all(|c| c.size == 2 << 30), "{name}");
        let expected: Vec<_> =
            (0..6).flat_map(|c| [(c, 0, 1 << 30), (c, 1 << 30, 1 << 30)]).collect();
        assert_eq!(banks(&wh), expected, "{name}");
        assert_eq!(wh.dram_size(), 12 << 30, "{name}");
    }
}

#[test]
fn board_fixtures_carry_the_presets_tensix_harvesting() {
    for (name, preset, chip) in [
        ("board_n150.yaml", BoardPreset::N150, 0),
        ("board_n300_chip0.yaml", BoardPreset::N300, 0),
        ("board_n300_chip1.yaml", BoardPreset::N300, 1),
        ("board_p100a.yaml", BoardPreset::P100a, 0),
        ("board_p150a.yaml", BoardPreset::P150a, 0),
    ] {
        let soc = fixture(name);
        let tensix = preset.chips()[chip].harvesting.tensix;
        assert_eq!(soc.harvesting_mask(), tensix, "{name}");
        // The same chip as the built-in descriptor with the preset's Tensix mask applied.
        let masks = tt_soc::HarvestingMasks {
            tensix,
            ..tt_soc::HarvestingMasks::unharvested(preset.arch())
        };
        let built = SocDescriptor::builtin(preset.arch()).with_harvesting_masks(masks).unwrap();
        assert_eq!(soc.tensix_cores(), built.tensix_cores(), "{name}");
        assert_eq!(soc.harvested_cores(), built.harvested_cores(), "{name}");
        assert_eq!(soc.worker_grid_size(), built.worker_grid_size(), "{name}");
    }
    // tt-umd's examples: N150 loses NOC0 row 8, N300 chip 0 rows 1 and 8, P150 columns 7, 10.
    assert_eq!(fixture("board_n150.yaml").tensix_cores().len(), 72);
    assert_eq!(
        fixture("board_n300_chip0.yaml").kind_at(NocCoord::new(1, 1)),
        Some(CoreKind::HarvestedTensix)
    );
    assert_eq!(
        fixture("board_p150a.yaml").kind_at(NocCoord::new(10, 2)),
        Some(CoreKind::HarvestedTensix)
    );
}
