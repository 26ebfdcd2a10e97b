//! The kernel ELF validator: any bytes give a kernel image or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The region size varies with the bytes at 4..8 (ELF ident, rarely mutated into
    // validity), up to 1 MiB: a kernel region is an L1 range, and an image fills its region.
    let region = match data.get(4..8) {
        Some(b) => u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])) % (1 << 20),
        None => 0,
    };
    for region_size in [region, 64 * 1024] {
        if let Ok(image) = tt_program::KernelImage::from_elf("fuzz", data, region_size) {
            // The image is padded to IMAGE_ALIGN (kernel regions are aligned to it).
            let limit = region_size.div_ceil(tt_program::IMAGE_ALIGN) * tt_program::IMAGE_ALIGN;
            assert!(image.placed_bytes() <= limit, "an image larger than its region");
        }
    }
});
