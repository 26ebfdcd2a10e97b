//! The SoC descriptor parser: any text gives a descriptor or an error, never a panic, a huge
//! allocation or a long stall (libFuzzer's -rss_limit_mb and -timeout catch the last two).
#![no_main]

use libfuzzer_sys::fuzz_target;

/// The totals the runtime computes: DRAM over all channels, each bank's end and endpoint, and
/// L1 over every core that has it (the parser guarantees these fit in u64).
fn sizes(soc: &tt_soc::SocDescriptor) {
    let _ = soc.dram_size();
    for bank in soc.dram_banks() {
        assert!(bank.offset.checked_add(bank.size).is_some());
        let _ = soc.dram_bank_endpoint(bank);
    }
    let tensix = (soc.tensix_cores().len() + soc.harvested_cores().len()) as u64;
    assert!(soc.worker_l1_size().checked_mul(tensix).is_some());
    assert!(soc.eth_l1_size().checked_mul(soc.all_ethernet_cores().len() as u64).is_some());
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match tt_soc::SocDescriptor::from_yaml(text, "fuzz.yaml") {
        Ok(soc) => {
            let (x, y) = soc.grid_size();
            assert!(x <= tt_soc::MAX_GRID_SIDE && y <= tt_soc::MAX_GRID_SIDE);
            // Every size the runtime derives from a descriptor (issue 19: dram_size overflowed
            // and this target never called it), and harvesting, must not panic either.
            sizes(&soc);
            let mask = data.len() as u32 & 0x3ff;
            if let Ok(harvested) = soc.with_harvesting_masks(tt_soc::HarvestingMasks::tensix(mask))
            {
                sizes(&harvested);
            }
        }
        Err(e) => {
            assert!(e.to_string().len() < 1024, "an error line of {} bytes", e.to_string().len())
        }
    }
});
