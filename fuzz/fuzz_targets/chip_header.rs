//! The simulated chip file's header check: any header bytes and length give Ok or an error,
//! never a panic. The first two bytes choose the chip kind and simulator id.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tt_sim::SimKind;
use tt_soc::{Arch, BoardPreset};

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else { return };
    let Some((&id, header)) = rest.split_first() else { return };
    let kind = match choice % 4 {
        0 => SimKind::Bare(Arch::WormholeB0),
        1 => SimKind::Bare(Arch::Blackhole),
        2 => SimKind::Board { preset: BoardPreset::N300, chip: choice / 4 % 3 },
        _ => SimKind::Board { preset: BoardPreset::P150a, chip: 0 },
    };
    let length = header
        .get(32..40)
        .map_or(0, |b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]));
    let _ = tt_sim::fuzzing::check_chip_header(header, kind, u32::from(id), length);
});
