use crate::{Arch, SocDescriptor};

const WORMHOLE_B0_YAML: &str = include_str!("../descriptors/wormhole_b0_80_arch.yaml");
const BLACKHOLE_YAML: &str = include_str!("../descriptors/blackhole_140_arch.yaml");

impl SocDescriptor {
    /// The built-in, unharvested descriptor of `arch` (the figures and their sources are in
    /// `crates/tt-soc/descriptors/`).
    pub fn builtin(arch: Arch) -> SocDescriptor {
        let (text, origin) = match arch {
            Arch::WormholeB0 => (WORMHOLE_B0_YAML, "builtin wormhole_b0_80_arch.yaml"),
            Arch::Blackhole => (BLACKHOLE_YAML, "builtin blackhole_140_arch.yaml"),
        };
        match crate::yaml::parse(text, origin) {
            Ok(soc) => soc,
            // The texts are compiled in and `builtin_descriptors_parse` parses both, so this
            // arm is unreachable in any build whose tests pass.
            #[allow(clippy::panic)]
            Err(e) => panic!("built-in SoC descriptor does not parse: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Arch, CoreKind, NocCoord, SocDescriptor};

    #[test]
    fn builtin_descriptors_parse() {
        for arch in Arch::ALL {
            assert_eq!(SocDescriptor::builtin(arch).arch(), arch);
        }
    }

    #[test]
    fn wormhole_b0_figures() {
        let wh = SocDescriptor::builtin(Arch::WormholeB0);
        assert_eq!(wh.grid_size(), (10, 12));
        assert_eq!(wh.tensix_cores().len(), 80);
        assert_eq!(wh.worker_grid_size(), (8, 10));
        assert_eq!(wh.worker_l1_size(), 1_499_136);
        assert_eq!(wh.eth_l1_size(), 256 * 1024);
        assert_eq!(wh.dram_channels().len(), 6);
        assert!(wh.dram_channels().iter().all(|c| c.size == 2 << 30));
        assert_eq!(wh.dram_size(), 12 << 30);
        assert_eq!(wh.dram_banks().len(), 12);
        assert!(wh.dram_banks().iter().all(|b| b.size == 1 << 30));
        assert_eq!((wh.dram_banks()[1].channel, wh.dram_banks()[1].offset), (0, 1 << 30));
        assert_eq!(wh.ethernet_cores().len(), 16);
        assert_eq!(wh.pcie_cores(), &[NocCoord::new(0, 3)]);
        assert_eq!(wh.arc_cores(), &[NocCoord::new(0, 10)]);
        assert_eq!(wh.kind_at(NocCoord::new(0, 2)), Some(CoreKind::RouterOnly));
        assert_eq!(wh.kind_at(NocCoord::new(5, 11)), Some(CoreKind::Dram));
        assert_eq!(wh.dram_channel_of(NocCoord::new(5, 11)), Some(2));
    }

    #[test]
    fn blackhole_figures() {
        let bh = SocDescriptor::builtin(Arch::Blackhole);
        assert_eq!(bh.grid_size(), (17, 12));
        assert_eq!(bh.tensix_cores().len(), 140);
        assert_eq!(bh.worker_grid_size(), (14, 10));
        assert_eq!(bh.worker_l1_size(), 1_572_864);
        assert_eq!(bh.pcie_cores(), &[NocCoord::new(2, 0), NocCoord::new(11, 0)]);
        assert_eq!(bh.kind_at(NocCoord::new(2, 0)), Some(CoreKind::Pcie));
        // Channel order (tt-umd ETH_CORES_NOC0): 1-1, 16-1, 2-1, 15-1, ...
        assert_eq!(
            &bh.ethernet_cores()[..3],
            &[NocCoord::new(1, 1), NocCoord::new(16, 1), NocCoord::new(2, 1)]
        );
        assert_eq!(bh.eth_l1_size(), 512 * 1024);
        assert_eq!(bh.dram_channels().len(), 8);
        assert_eq!(bh.dram_banks().len(), 8);
        // Each channel holds 4 GiB (tt-umd); the allocator's bank, and so the capacity, is
        // tt-metal's 4 GiB - 16 MiB.
        assert!(bh.dram_channels().iter().all(|c| c.size == 1 << 32));
        assert_eq!(bh.dram_size(), 8 * 4_278_190_080);
        assert_eq!(bh.ethernet_cores().len(), 14);
        assert_eq!(bh.kind_at(NocCoord::new(8, 5)), Some(CoreKind::RouterOnly));
        assert_eq!(bh.kind_at(NocCoord::new(0, 0)), Some(CoreKind::Dram));
        assert_eq!(bh.kind_at(NocCoord::new(8, 0)), Some(CoreKind::Arc));
    }

    /// Issue 19: every DRAM channel was reached through its first endpoint; tt-metal's
    /// blackhole_140_arch.yaml (dram_views, worker_endpoint) uses subchannel 2 on NOC0 for
    /// channels 4-7, the endpoint CMFW reads telemetry through (SYS-1419, a GDDR hang).
    #[test]
    fn dram_banks_use_tt_metals_worker_endpoints() {
        let endpoints = |soc: &SocDescriptor| -> Vec<(u16, u16)> {
            soc.dram_banks()
                .iter()
                .map(|b| soc.dram_bank_endpoint(b).map(|c| (c.x, c.y)).unwrap())
                .collect()
        };
        let bh = SocDescriptor::builtin(Arch::Blackhole);
        assert_eq!(
            endpoints(&bh),
            [(0, 0), (0, 2), (0, 9), (0, 5), (9, 11), (9, 3), (9, 8), (9, 6)]
        );
        assert_eq!(bh.dram_channel_endpoint(4), Some(NocCoord::new(9, 11)));
        // A P100 (channel 3 harvested) keeps each remaining channel's endpoint.
        let p100 = bh
            .with_harvesting_masks(crate::HarvestingMasks {
                dram: 8,
                ..crate::HarvestingMasks::unharvested(Arch::Blackhole)
            })
            .unwrap();
        assert_eq!(endpoints(&p100), [(0, 0), (0, 2), (0, 9), (9, 11), (9, 3), (9, 8), (9, 6)]);
        // Wormhole: tt-metal's per-view worker endpoints (bank 0 of channel 0 is 0-11, bank 1
        // is 0-1).
        let wh = SocDescriptor::builtin(Arch::WormholeB0);
        assert_eq!(&endpoints(&wh)[..4], [(0, 11), (0, 1), (0, 5), (0, 7)]);
    }
}
