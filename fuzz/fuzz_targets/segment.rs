//! The ledger segment reader: any file contents give a process view or an error, never a
//! panic or a fault. The input is the start of a segment file; the first byte chooses whether
//! the file is then extended to a whole (sparse) segment, as a live writer's is.
#![no_main]

use std::io::Write;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn file() -> &'static std::fs::File {
    static FILE: OnceLock<std::fs::File> = OnceLock::new();
    FILE.get_or_init(|| tempfile::tempfile().expect("temporary file"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut f = file();
    f.set_len(0).expect("truncate");
    std::io::Seek::rewind(&mut f).expect("rewind");
    f.write_all(rest).expect("write");
    if mode & 1 == 1 {
        f.set_len(tt_track::segment::layout::SEGMENT_BYTES as u64).expect("extend");
    }
    if let Ok(view) = tt_track::fuzzing::read_segment_file(f) {
        for device in &view.devices {
            // Figures are saturated, never wrapped into 16 EiB.
            let _ = device.used_bytes();
            assert!(device.live_records.len() <= tt_track::segment::layout::LIVE_TABLE_CAPACITY);
        }
    }
});
