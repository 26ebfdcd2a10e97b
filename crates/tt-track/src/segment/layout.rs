//! The shared-memory schema of one process's ledger segment.
//!
//! Every field is an atomic inside `#[repr(C)]` structs, so a writer and readers in other
//! processes can touch the same bytes without tearing, and the layout is pinned by the
//! compile-time assertions at the bottom: changing any offset without bumping
//! [`SCHEMA_VERSION`] fails the build.

use std::mem::{offset_of, size_of};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use tt_accounting::{BankType, MemKind};

/// First eight bytes of every segment (`TTLEDGER`, little-endian).
pub const SEGMENT_MAGIC: u64 = u64::from_le_bytes(*b"TTLEDGER");
/// The schema version this build writes and the only one it reads. Version 2 records
/// reserved and payload bytes apart, L1 per core, allocator health and exact leak listings;
/// version 3 brackets every change of a device slot with the slot's sequence word, so a
/// reader copies one state of the slot or none (version 2 readers mixed two copies).
pub const SCHEMA_VERSION: u32 = 3;
/// Device slots per segment (closed, empty slots are reused).
pub const MAX_DEVICES: usize = 16;
/// Recent events kept per device.
pub const RING_CAPACITY: usize = 256;
/// Live placements listed per device; a placement beyond it is counted (exactly) as not
/// listed until it is released. Sized for workloads that keep tens of thousands of buffers.
pub const LIVE_TABLE_CAPACITY: usize = 32_768;
/// Tensix cores per device the per-core figures cover (Blackhole has 140).
pub const MAX_TENSIX_CORES: usize = 160;
/// Ethernet cores per device the per-core figures cover (Wormhole has 16).
pub const MAX_ETHERNET_CORES: usize = 16;
/// Bytes of an owner name kept in a live record (longer names are cut and flagged).
pub const OWNER_BYTES: usize = 64;
/// Bytes of a provenance file path kept in a live record (the tail of the path).
pub const FILE_BYTES: usize = 48;
/// Bytes of the command name kept in the header.
pub const COMMAND_BYTES: usize = 32;
/// Bytes of the architecture name kept in a device slot.
pub const ARCH_BYTES: usize = 16;
/// Bytes of the device spec (`sim:wormhole_b0:0`, `/dev/tenstorrent/0`) kept in a slot.
pub const SPEC_BYTES: usize = 48;

/// Device slot states.
pub(crate) const SLOT_EMPTY: u64 = 0;
pub(crate) const SLOT_OPEN: u64 = 1;
pub(crate) const SLOT_CLOSED: u64 = 2;

/// Event operations in the ring.
pub(crate) const OP_PLACE: u64 = 1;
pub(crate) const OP_RELEASE: u64 = 2;

/// Live entry flags (bits 16..24 of `meta`).
pub(crate) const FLAG_OWNER_CUT: u64 = 1;
pub(crate) const FLAG_FILE_CUT: u64 = 2;

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
    pub max_tensix_cores: AtomicU32,
    pub max_ethernet_cores: AtomicU32,
    pub reserved0: AtomicU32,
    pub command: [AtomicU64; COMMAND_BYTES / 8],
    /// Integrity errors that name no device of this segment (a slot of another tracker, a
    /// handle inherited across fork).
    pub unattributed_integrity_errors: AtomicU64,
    pub reserved1: [AtomicU64; 3],
}

/// Cumulative counters of one memory kind on one device.
///
/// Current figures and the live count are derived (`placed - released`), so each event does
/// one add per counter and a reader never sees a half-applied subtraction.
#[repr(C)]
pub(crate) struct KindCounters {
    pub placed_reserved: AtomicU64,
    pub released_reserved: AtomicU64,
    pub placed_payload: AtomicU64,
    pub released_payload: AtomicU64,
    pub placed_count: AtomicU64,
    pub released_count: AtomicU64,
    pub peak_reserved: AtomicU64,
    /// Unused; kept so the layout stays as pinned.
    pub spare: AtomicU64,
}

/// Free-space figures of one bank type, published by the process holding the chip.
/// `seq` is odd while the writer updates the record and 0 when never published.
#[repr(C)]
pub(crate) struct HealthRecord {
    pub seq: AtomicU64,
    pub banks: AtomicU64,
    pub bank_size: AtomicU64,
    pub free_per_bank: AtomicU64,
    pub largest_free_per_bank: AtomicU64,
    pub free_blocks: AtomicU64,
    pub allocated_blocks: AtomicU64,
    pub reserved: AtomicU64,
}

/// One registered device: identity, capacity, counters, per-core L1 and allocator health.
///
/// Every field but `health` (which has a sequence word per record), together with the slot's
/// event ring and live table, changes only inside a write section of `seq`
/// (`segment::seqlock`): a reader takes them as one state.
#[repr(C, align(64))]
pub(crate) struct DeviceRecord {
    pub state: AtomicU64,
    /// Bumped each time the slot is given to a different chip.
    pub generation: AtomicU64,
    pub chip_uid: AtomicU64,
    pub arch: [AtomicU64; ARCH_BYTES / 8],
    pub spec: [AtomicU64; SPEC_BYTES / 8],
    pub dram_bytes: AtomicU64,
    pub dram_banks: AtomicU64,
    pub tensix_l1_per_core: AtomicU64,
    pub tensix_cores: AtomicU64,
    pub ethernet_l1_per_core: AtomicU64,
    pub ethernet_cores: AtomicU64,
    pub events_written: AtomicU64,
    pub peak_reserved: AtomicU64,
    /// Odd while the slot's writer is changing it; advanced by 2 per change.
    pub seq: AtomicU64,
    /// Requests refused because only the chip's device session may make them (a second
    /// allocator, a SYSTEM or RESERVED placement after bring-up, a change of a held chip's
    /// identity). Was an unused word in schema 3's first layout: readers that do not know it
    /// read 0 there.
    pub session_refusals: AtomicU64,
    pub double_releases: AtomicU64,
    pub foreign_placements: AtomicU64,
    pub inherited_uses: AtomicU64,
    /// Live placements that found the table full, now (released ones are subtracted).
    pub live_table_overflow: AtomicU64,
    /// Entries of the live table ever used: readers scan no further.
    pub live_table_high_water: AtomicU64,
    /// Bytes reserved on every Tensix (Ethernet) core alike: lockstep placements.
    pub tensix_every_core_reserved: AtomicU64,
    pub ethernet_every_core_reserved: AtomicU64,
    /// Payload bytes now per bank class (DRAM, Tensix, Ethernet), kept by the writer.
    pub payload_by_class: [AtomicU64; 3],
    pub reserved: AtomicU64,
    pub kinds: [KindCounters; MemKind::COUNT],
    pub health: [HealthRecord; BankType::COUNT],
    /// NOC0 (x, y) of each core, one byte each, four cores per word.
    pub tensix_coords: [AtomicU64; MAX_TENSIX_CORES / 4],
    pub ethernet_coords: [AtomicU64; MAX_ETHERNET_CORES / 4],
    /// Bytes reserved on one core only, beyond the every-core figure.
    pub tensix_core_reserved: [AtomicU64; MAX_TENSIX_CORES],
    pub ethernet_core_reserved: [AtomicU64; MAX_ETHERNET_CORES],
}

/// One recent event. `seq` is the event number + 1, 0 when never written.
#[repr(C)]
pub(crate) struct RingEntry {
    pub seq: AtomicU64,
    pub alloc_id: AtomicU64,
    pub reserved: AtomicU64,
    pub payload: AtomicU64,
    /// `op | kind << 8 | class << 16`.
    pub meta: AtomicU64,
    /// CLOCK_MONOTONIC nanoseconds (coarse) when the event was recorded.
    pub at_ns: AtomicU64,
}

/// One live placement for leak listings. `alloc_id` is 0 when free (ids start at 1).
#[repr(C)]
pub(crate) struct LiveEntry {
    pub alloc_id: AtomicU64,
    /// `kind | class << 8 | flags << 16 | line << 32`.
    pub meta: AtomicU64,
    pub payload: AtomicU64,
    pub reserved: AtomicU64,
    pub addr: AtomicU64,
    /// `first bank | bank count << 32`.
    pub banks: AtomicU64,
    /// CLOCK_MONOTONIC nanoseconds (coarse) at placement, for the age readers show.
    pub placed_at_ns: AtomicU64,
    /// The next free entry while this one is free (the writer's free list; readers ignore it).
    pub next_free: AtomicU64,
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

/// Size in bytes of a version-2 segment file (sparse: only the pages a writer touches are
/// ever backed by memory).
pub const SEGMENT_BYTES: usize = size_of::<SegmentLayout>();
/// Size in bytes of the segment header.
pub const HEADER_BYTES: usize = size_of::<SegmentHeader>();

const DEVICE_BYTES: usize = size_of::<DeviceRecord>();

// The schema, pinned. A reader in another build relies on every one of these.
const _: () = {
    assert!(HEADER_BYTES == 128);
    // Magic and version keep their version-1 offsets, so any reader can tell versions apart.
    assert!(offset_of!(SegmentHeader, magic) == 0);
    assert!(offset_of!(SegmentHeader, version) == 8);
    assert!(offset_of!(SegmentHeader, header_bytes) == 12);
    assert!(offset_of!(SegmentHeader, total_bytes) == 16);
    assert!(offset_of!(SegmentHeader, claimed_pid) == 24);
    assert!(offset_of!(SegmentHeader, start_time_ticks) == 32);
    assert!(offset_of!(SegmentHeader, max_devices) == 40);
    assert!(offset_of!(SegmentHeader, ring_capacity) == 44);
    assert!(offset_of!(SegmentHeader, live_table_capacity) == 48);
    assert!(offset_of!(SegmentHeader, max_tensix_cores) == 52);
    assert!(offset_of!(SegmentHeader, max_ethernet_cores) == 56);
    assert!(offset_of!(SegmentHeader, command) == 64);
    assert!(offset_of!(SegmentHeader, unattributed_integrity_errors) == 96);
    assert!(size_of::<KindCounters>() == 64);
    assert!(size_of::<HealthRecord>() == 64);
    assert!(offset_of!(DeviceRecord, state) == 0);
    assert!(offset_of!(DeviceRecord, generation) == 8);
    assert!(offset_of!(DeviceRecord, chip_uid) == 16);
    assert!(offset_of!(DeviceRecord, arch) == 24);
    assert!(offset_of!(DeviceRecord, spec) == 40);
    assert!(offset_of!(DeviceRecord, dram_bytes) == 88);
    assert!(offset_of!(DeviceRecord, ethernet_cores) == 128);
    assert!(offset_of!(DeviceRecord, events_written) == 136);
    assert!(offset_of!(DeviceRecord, seq) == 152);
    assert!(offset_of!(DeviceRecord, live_table_overflow) == 192);
    assert!(offset_of!(DeviceRecord, tensix_every_core_reserved) == 208);
    assert!(offset_of!(DeviceRecord, kinds) == 256);
    assert!(offset_of!(DeviceRecord, health) == 256 + 64 * MemKind::COUNT);
    assert!(offset_of!(DeviceRecord, tensix_coords) == 256 + 512 + 64 * BankType::COUNT);
    assert!(offset_of!(DeviceRecord, tensix_core_reserved) == 1088 + 8 * (40 + 4));
    assert!(DEVICE_BYTES == 2880);
    assert!(size_of::<RingEntry>() == 48);
    assert!(size_of::<LiveEntry>() == 176);
    assert!(offset_of!(SegmentLayout, devices) == 128);
    assert!(offset_of!(SegmentLayout, rings) == 128 + DEVICE_BYTES * MAX_DEVICES);
    assert!(
        offset_of!(SegmentLayout, live)
            == 128 + DEVICE_BYTES * MAX_DEVICES + 48 * RING_CAPACITY * MAX_DEVICES
    );
    assert!(SEGMENT_BYTES == 92_517_504);
    assert!(MAX_TENSIX_CORES % 4 == 0 && MAX_ETHERNET_CORES % 4 == 0);
    // Mapped memory is page aligned; the header's alignment must not exceed that.
    assert!(std::mem::align_of::<SegmentLayout>() <= 4096);
};

/// The packed NOC0 coordinates of cores `i` of a coordinate array.
pub(crate) fn load_coord(words: &[AtomicU64], i: usize) -> Option<(u8, u8)> {
    let word = words.get(i / 4)?.load(Ordering::Relaxed);
    let packed = (word >> (16 * (i % 4))) as u16;
    Some(((packed & 0xff) as u8, (packed >> 8) as u8))
}

/// Stores NOC0 coordinates into a packed coordinate array (whole words, zero padded).
pub(crate) fn store_coords(words: &[AtomicU64], coords: &[(u8, u8)]) {
    for (w, word) in words.iter().enumerate() {
        let value = (0..4).fold(0u64, |v, j| {
            let packed =
                coords.get(4 * w + j).map_or(0, |&(x, y)| u64::from(x) | u64::from(y) << 8);
            v | packed << (16 * j)
        });
        word.store(value, Ordering::Relaxed);
    }
}

/// Stores `bytes` (truncated to the field) into `words`, ending them with a zero byte when
/// they do not fill the field. Words past that zero are left as they are: readers stop at the
/// first zero byte, and a short name then costs a store or two, not the whole field. Whole
/// words are loaded straight from the source, unaligned: copying through a stack buffer first
/// costs a store-forwarding stall per word on the hot path.
#[inline]
pub(crate) fn store_bytes(words: &[AtomicU64], bytes: &[u8]) {
    let mut rest = bytes;
    for word in words {
        match rest.split_first_chunk::<8>() {
            Some((head, tail)) => {
                rest = tail;
                word.store(u64::from_le_bytes(*head), Ordering::Relaxed);
            }
            None => {
                // The last word holds the partial tail (maybe nothing) and so a zero byte.
                let tail =
                    rest.iter().enumerate().fold(0u64, |v, (i, &b)| v | u64::from(b) << (8 * i));
                word.store(tail, Ordering::Relaxed);
                return;
            }
        }
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
#[inline]
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
#[inline]
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
        // A shorter name over a longer one reads back whole, ended by its own zero byte.
        let long: [AtomicU64; 3] = std::array::from_fn(|_| AtomicU64::new(0));
        store_bytes(&long, b"a much longer owner name");
        store_bytes(&long, b"short");
        assert_eq!(load_string(&long), "short");
        store_bytes(&long, b"exactly sixteen!");
        assert_eq!(load_string(&long), "exactly sixteen!");
        assert_eq!(prefix_within("aé", 2), "a");
        assert_eq!(suffix_within("éa", 2), "a");
        assert_eq!(suffix_within("crates/x/src/lib.rs", 10), "src/lib.rs");
    }

    #[test]
    fn coordinates_pack_four_to_a_word() {
        let words: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
        let coords = [(1, 1), (2, 1), (18, 11), (9, 0), (25, 9)];
        store_coords(&words, &coords);
        let back: Vec<_> = (0..5).filter_map(|i| load_coord(&words, i)).collect();
        assert_eq!(back, coords);
        assert_eq!(load_coord(&words, 5), Some((0, 0)));
        assert_eq!(load_coord(&words, 8), None);
    }

    #[test]
    fn magic_spells_ttledger() {
        assert_eq!(&SEGMENT_MAGIC.to_le_bytes(), b"TTLEDGER");
    }
}
