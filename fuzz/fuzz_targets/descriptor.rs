//! The SoC descriptor parser: any text gives a descriptor or an error, never a panic, a huge
//! allocation or a long stall (libFuzzer's -rss_limit_mb and -timeout catch the last two).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match tt_soc::SocDescriptor::from_yaml(text, "fuzz.yaml") {
        Ok(soc) => {
            let (x, y) = soc.grid_size();
            assert!(x <= tt_soc::MAX_GRID_SIDE && y <= tt_soc::MAX_GRID_SIDE);
            // Harvesting a parsed descriptor must not panic either.
            let mask = data.len() as u32 & 0x3ff;
            let _ = soc.with_harvesting_masks(tt_soc::HarvestingMasks::tensix(mask));
        }
        Err(e) => {
            assert!(e.to_string().len() < 1024, "an error line of {} bytes", e.to_string().len())
        }
    }
});
