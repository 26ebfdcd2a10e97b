//! The shared-memory schema of one process's ledger segment.
//!
//! Every field is an atomic inside `#[repr(C)]` structs, so a writer and readers in other
//! processes can touch the same bytes without tearing, and the layout is pinned by the
//! compile-time assertions at the bottom: changing any offset without bumping
//! [`SCHEMA_VERSION`] fails the build.

use std::mem::{offset_of, size_of};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use tt_alloc::tracker::MemKind;

/// First eight bytes of every segment (`TTLEDGER`, little-endian).
pub const SEGMENT_MAGIC: u64 = u64::from_le_bytes(*b"TTLEDGER");
/// The schema version this build writes and the only one it reads.
pub const SCHEMA_VERSION: u32 = 1;
/// Device slots per segment.
pub const MAX_DEVICES: usize = 16;
/// Recent events kept per device.
pub const RING_CAPACITY: usize = 256;
/// Live records listed per device (the rest are counted as overflow).
pub const LIVE_TABLE_CAPACITY: usize = 512;
/// Bytes of an owner name kept in a live record.
pub const OWNER_BYTES: usize = 40;
/// Bytes of a provenance file path kept in a live record (the tail of the path).
pub const FILE_BYTES: usize = 64;
/// Bytes of the command name kept in the header.
pub const COMMAND_BYTES: usize = 32;
/// Bytes of the architecture name kept in a device slot.
pub const ARCH_BYTES: usize = 16;

/// Device slot states.
pub(crate) const SLOT_EMPTY: u64 = 0;
pub(crate) const SLOT_OPEN: u64 = 1;
pub(crate) const SLOT_CLOSED: u64 = 2;

/// A live-table id while its owner is filling the entry in (ids start at 1, 0 is free).
pub(crate) const ENTRY_BUSY: u64 = u64::MAX;

/// Event operations in the ring.
pub(crate) const OP_PLACE: u64 = 1;
pub(crate) const OP_RELEASE: u64 = 2;

/// Process identity and the shape of the rest of the segment.
#[repr(C, align(64))]
pub(crate) struct SegmentHeader {
    pub magic: AtomicU64,
    pub version: AtomicU32,
    pub header_bytes: AtomicU32,
    pub total_bytes: AtomicU64,
    /// The pid the writer claims; readers trust the lock holder instead.
    pub claimed_pid: AtomicU64,
    /// Process start time in clock ticks since boot (/proc/self/stat field 22).
    pub start_time_ticks: AtomicU64,
    pub max_devices: AtomicU32,
    pub ring_capacity: AtomicU32,
    pub live_table_capacity: AtomicU32,
    pub reserved0: AtomicU32,
    /// Integrity errors that name no device of this segment (a slot of another tracker).
    pub unattributed_integrity_errors: AtomicU64,
    pub command: [AtomicU64; COMMAND_BYTES / 8],
    pub reserved1: [AtomicU64; 4],
}

/// Cumulative counters of one memory kind on one device.
///
/// Current bytes and live count are derived (`placed - released`), so each event does one
/// add per counter and a reader never sees a half-applied subtraction.
#[repr(C)]
pub(crate) struct KindCounters {
    pub placed_bytes: AtomicU64,
    pub released_bytes: AtomicU64,
    pub placed_count: AtomicU64,
    pub released_count: AtomicU64,
    pub peak_bytes: AtomicU64,
}

/// One registered device: identity, capacity figures and counters.
#[repr(C, align(64))]
pub(crate) struct DeviceRecord {
    pub state: AtomicU64,
    pub chip_uid: AtomicU64,
    pub arch: [AtomicU64; ARCH_BYTES / 8],
    pub dram_bytes: AtomicU64,
    pub l1_bytes_total: AtomicU64,
    pub l1_bytes_per_core: AtomicU64,
    pub core_count: AtomicU64,
    pub events_written: AtomicU64,
    pub peak_bytes: AtomicU64,
    pub unknown_releases: AtomicU64,
    pub double_releases: AtomicU64,
    pub live_table_overflow: AtomicU64,
    pub reserved: [AtomicU64; 3],
    pub kinds: [KindCounters; MemKind::COUNT],
}

/// One recent event. `seq` is the event number + 1 once complete, 0 when never written,
/// [`ENTRY_BUSY`] while being written.
#[repr(C)]
pub(crate) struct RingEntry {
    pub seq: AtomicU64,
    pub alloc_id: AtomicU64,
    pub bytes: AtomicU64,
    /// `op | kind << 8`.
    pub meta: AtomicU64,
}

/// One live placement for leak listings. `alloc_id` is 0 when free, [`ENTRY_BUSY`] while
/// being filled in.
#[repr(C)]
pub(crate) struct LiveEntry {
    pub alloc_id: AtomicU64,
    /// `kind | line << 32`.
    pub meta: AtomicU64,
    pub bytes: AtomicU64,
    pub owner: [AtomicU64; OWNER_BYTES / 8],
    pub file: [AtomicU64; FILE_BYTES / 8],
}

/// The whole segment file.
#[repr(C)]
pub(crate) struct SegmentLayout {
    pub header: SegmentHeader,
    pub devices: [DeviceRecord; MAX_DEVICES],
    pub rings: [[RingEntry; RING_CAPACITY]; MAX_DEVICES],
    pub live: [[LiveEntry; LIVE_TABLE_CAPACITY]; MAX_DEVICES],
}

/// Size in bytes of a version-1 segment file.
pub const SEGMENT_BYTES: usize = size_of::<SegmentLayout>();
/// Size in bytes of the segment header.
pub const HEADER_BYTES: usize = size_of::<SegmentHeader>();

// The schema, pinned. A reader in another build relies on every one of these.
const _: () = {
    assert!(HEADER_BYTES == 128);
    assert!(offset_of!(SegmentHeader, magic) == 0);
    assert!(offset_of!(SegmentHeader, version) == 8);
    assert!(offset_of!(SegmentHeader, header_bytes) == 12);
    assert!(offset_of!(SegmentHeader, total_bytes) == 16);
    assert!(offset_of!(SegmentHeader, claimed_pid) == 24);
    assert!(offset_of!(SegmentHeader, start_time_ticks) == 32);
    assert!(offset_of!(SegmentHeader, max_devices) == 40);
    assert!(offset_of!(SegmentHeader, ring_capacity) == 44);
    assert!(offset_of!(SegmentHeader, live_table_capacity) == 48);
    assert!(offset_of!(SegmentHeader, unattributed_integrity_errors) == 56);
    assert!(offset_of!(SegmentHeader, command) == 64);
    assert!(size_of::<KindCounters>() == 40);
    assert!(offset_of!(DeviceRecord, state) == 0);
    assert!(offset_of!(DeviceRecord, chip_uid) == 8);
    assert!(offset_of!(DeviceRecord, arch) == 16);
    assert!(offset_of!(DeviceRecord, dram_bytes) == 32);
    assert!(offset_of!(DeviceRecord, core_count) == 56);
    assert!(offset_of!(DeviceRecord, events_written) == 64);
    assert!(offset_of!(DeviceRecord, peak_bytes) == 72);
    assert!(offset_of!(DeviceRecord, unknown_releases) == 80);
    assert!(offset_of!(DeviceRecord, double_releases) == 88);
    assert!(offset_of!(DeviceRecord, live_table_overflow) == 96);
    assert!(offset_of!(DeviceRecord, kinds) == 128);
    assert!(size_of::<DeviceRecord>() == 448);
    assert!(size_of::<RingEntry>() == 32);
    assert!(size_of::<LiveEntry>() == 128);
    assert!(offset_of!(SegmentLayout, devices) == 128);
    assert!(offset_of!(SegmentLayout, rings) == 128 + 448 * MAX_DEVICES);
    assert!(
        offset_of!(SegmentLayout, live)
            == 128 + 448 * MAX_DEVICES + 32 * RING_CAPACITY * MAX_DEVICES
    );
    assert!(SEGMENT_BYTES == 1_186_944);
    // Mapped memory is page aligned; the header's alignment must not exceed that.
    assert!(std::mem::align_of::<SegmentLayout>() <= 4096);
};

/// Stores `bytes` (truncated to the field, zero padded) into `words`. Whole words are
/// loaded straight from the source, unaligned: copying through a stack buffer first costs a
/// store-forwarding stall per word on the hot path.
#[inline]
pub(crate) fn store_bytes(words: &[AtomicU64], bytes: &[u8]) {
    let mut rest = bytes;
    for word in words {
        let value = match rest.split_first_chunk::<8>() {
            Some((head, tail)) => {
                rest = tail;
                u64::from_le_bytes(*head)
            }
            None => {
                let tail =
                    rest.iter().enumerate().fold(0u64, |v, (i, &b)| v | u64::from(b) << (8 * i));
                rest = &[];
                tail
            }
        };
        word.store(value, Ordering::Relaxed);
    }
}

/// Loads a zero-padded string stored by [`store_bytes`]; invalid UTF-8 is replaced.
pub(crate) fn load_string(words: &[AtomicU64]) -> String {
    let mut bytes = Vec::with_capacity(words.len() * 8);
    for word in words {
        bytes.extend_from_slice(&word.load(Ordering::Relaxed).to_le_bytes());
    }
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// The longest prefix of `s` that fits in `max` bytes without splitting a character.
pub(crate) fn prefix_within(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The longest suffix of `s` that fits in `max` bytes without splitting a character; file
/// paths keep their tail because the file name says more than the directory.
pub(crate) fn suffix_within(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_and_truncate_on_char_boundaries() {
        let words: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
        store_bytes(&words, b"wormhole_b0");
        assert_eq!(load_string(&words), "wormhole_b0");
        store_bytes(&words, prefix_within("a-very-long-owner-name", 16).as_bytes());
        assert_eq!(load_string(&words), "a-very-long-owne");
        assert_eq!(prefix_within("aé", 2), "a");
        assert_eq!(suffix_within("éa", 2), "a");
        assert_eq!(suffix_within("crates/x/src/lib.rs", 10), "src/lib.rs");
    }

    #[test]
    fn magic_spells_ttledger() {
        assert_eq!(&SEGMENT_MAGIC.to_le_bytes(), b"TTLEDGER");
    }
}
