//! The regions each bank type occupies on a chip.

use std::ops::Range;

use tt_accounting::BankType;
use tt_soc::l1_map::L1Map;
use tt_soc::{ChipUid, CoreKind, SocDescriptor};

use crate::error::AllocError;

/// Sizes of the carved-out regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocatorConfig {
    /// Bytes of L1_SMALL per Tensix core, carved from the top of the L1 allocatable region
    /// (a multiple of the L1 alignment).
    pub l1_small_size: u64,
    /// Bytes of TRACE per DRAM bank, carved from the top of the bank (a multiple of the
    /// DRAM alignment); 0, as in tt-metal, until trace capture is wanted.
    pub trace_size: u64,
}

impl Default for AllocatorConfig {
    fn default() -> Self {
        Self { l1_small_size: 32 * 1024, trace_size: 0 }
    }
}

/// Where the banks of one type lie and how many there are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BankLayout {
    pub(crate) bank_type: BankType,
    pub(crate) count: u32,
    pub(crate) range: Range<u64>,
    pub(crate) alignment: u64,
}

/// The five bank layouts of a chip, indexed by [`BankType::index`].
pub(crate) fn bank_layouts(
    soc: &SocDescriptor,
    device: ChipUid,
    config: AllocatorConfig,
) -> Result<[BankLayout; 5], AllocError> {
    let bad = |message: String| AllocError::Config { device, message };
    let arch = soc.arch();
    let (l1_align, dram_align) = (arch.l1_alignment(), arch.dram_alignment());
    let tensix_count = u32::try_from(soc.tensix_cores().len())
        .map_err(|_| bad("more Tensix cores than a u32 can count".into()))?;
    let map = L1Map::for_core(CoreKind::Tensix, soc.worker_l1_size()).ok_or_else(|| {
        bad(format!(
            "worker L1 of {} bytes cannot hold the L1 map (reserved + kernel region); check the \
             SoC descriptor",
            soc.worker_l1_size()
        ))
    })?;
    if config.l1_small_size % l1_align != 0 {
        return Err(bad(format!(
            "l1_small_size {} is not a multiple of the L1 alignment {l1_align}",
            config.l1_small_size
        )));
    }
    let l1_len = map.allocatable.end - map.allocatable.start;
    if config.l1_small_size > l1_len {
        return Err(bad(format!(
            "l1_small_size {} exceeds the {l1_len}-byte L1 allocatable region; make it smaller",
            config.l1_small_size
        )));
    }
    let l1_split = map.allocatable.end - config.l1_small_size;

    let dram_count = u32::try_from(soc.dram_banks().len())
        .map_err(|_| bad("more DRAM banks than a u32 can count".into()))?;
    // Interleaved buffers take one offset in every bank, so only the smallest bank's size is
    // usable in all of them.
    let dram_len = soc.dram_banks().iter().map(|b| b.size).min().unwrap_or(0);
    let dram_len = dram_len - dram_len % dram_align;
    if config.trace_size % dram_align != 0 {
        return Err(bad(format!(
            "trace_size {} is not a multiple of the DRAM alignment {dram_align}",
            config.trace_size
        )));
    }
    if config.trace_size > dram_len {
        return Err(bad(format!(
            "trace_size {} exceeds the {dram_len}-byte DRAM bank; make it smaller",
            config.trace_size
        )));
    }
    let dram_split = dram_len - config.trace_size;

    let layout =
        |bank_type, count, range, alignment| BankLayout { bank_type, count, range, alignment };
    Ok([
        layout(BankType::Dram, dram_count, 0..dram_split, dram_align),
        layout(BankType::L1, tensix_count, map.allocatable.start..l1_split, l1_align),
        layout(BankType::L1Small, tensix_count, l1_split..map.allocatable.end, l1_align),
        layout(BankType::Trace, dram_count, dram_split..dram_len, dram_align),
        layout(BankType::KernelRegion, tensix_count, map.kernel.clone(), l1_align),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use tt_soc::Arch;

    #[test]
    fn wormhole_banks_follow_the_descriptor_and_the_l1_map() {
        let soc = SocDescriptor::builtin(Arch::WormholeB0);
        let cfg = AllocatorConfig { l1_small_size: 64 * 1024, trace_size: 1 << 20 };
        let banks = bank_layouts(&soc, ChipUid(1), cfg).unwrap();
        let got: Vec<_> =
            banks.iter().map(|b| (b.bank_type, b.count, b.range.clone(), b.alignment)).collect();
        assert_eq!(
            got,
            vec![
                (BankType::Dram, 12, 0..(1 << 30) - (1 << 20), 32),
                (BankType::L1, 80, 0x48000..1_499_136 - 65536, 16),
                (BankType::L1Small, 80, 1_499_136 - 65536..1_499_136, 16),
                (BankType::Trace, 12, (1 << 30) - (1 << 20)..1 << 30, 32),
                (BankType::KernelRegion, 80, 0x18000..0x48000, 16),
            ]
        );
    }

    #[test]
    fn harvested_blackhole_has_fewer_l1_banks_and_64_byte_dram_alignment() {
        let masks = tt_soc::HarvestingMasks {
            tensix: 0b11,
            ..tt_soc::HarvestingMasks::unharvested(Arch::Blackhole)
        };
        let soc = SocDescriptor::builtin(Arch::Blackhole).with_harvesting_masks(masks).unwrap();
        let banks = bank_layouts(&soc, ChipUid(2), AllocatorConfig::default()).unwrap();
        assert_eq!(banks[BankType::L1.index()].count, 120);
        assert_eq!(banks[BankType::Dram.index()].count, 8);
        assert_eq!(banks[BankType::Dram.index()].alignment, 64);
        assert_eq!(banks[BankType::Dram.index()].range, 0..4_278_190_080);
        assert_eq!(banks[BankType::Trace.index()].range, 4_278_190_080..4_278_190_080);
    }

    #[test]
    fn oversized_or_misaligned_regions_are_refused_with_the_fix() {
        let soc = SocDescriptor::builtin(Arch::WormholeB0);
        let cases = [
            (
                AllocatorConfig { l1_small_size: 8, trace_size: 0 },
                "multiple of the L1 alignment 16",
            ),
            (AllocatorConfig { l1_small_size: 1 << 30, trace_size: 0 }, "make it smaller"),
            (AllocatorConfig { l1_small_size: 0, trace_size: 48 }, "DRAM alignment 32"),
            (AllocatorConfig { l1_small_size: 0, trace_size: 2 << 30 }, "exceeds the 1073741824"),
        ];
        for (cfg, needle) in cases {
            let err = bank_layouts(&soc, ChipUid(3), cfg).unwrap_err().to_string();
            assert!(err.contains(needle) && err.contains("0x0000000000000003"), "{err}");
        }
    }
}
