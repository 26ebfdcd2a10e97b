//! Validating and copying another process's segment.
//!
//! Another process's segment is never mapped: a file that shrinks under a mapping raises
//! SIGBUS in the reader, and any process of the same user can truncate its own segment. The
//! reader copies what it decodes with `pread` instead (the header, the device records and
//! rings, and each device's live table up to its high-water mark), so a truncation is a
//! short read, an error for that segment only.
//!
//! A copy is not one atomic snapshot, so the orderings the decoder relies on are rebuilt
//! from two copies taken one after the other: released counters come from the first and
//! placed counters from the second (every release seen has its placement seen, as the
//! mapping reader's acquire loads guarantee), and ring entries, live entries and health
//! records are kept only where both copies agree (the mapping reader's seqlock checks).

use std::fs::File;
use std::mem::{offset_of, size_of};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::Ordering;

use super::layout::{
    DeviceRecord, HealthRecord, KindCounters, LiveEntry, RingEntry, SegmentHeader, SegmentLayout,
    HEADER_BYTES, LIVE_TABLE_CAPACITY, MAX_DEVICES, MAX_ETHERNET_CORES, MAX_TENSIX_CORES,
    RING_CAPACITY, SCHEMA_VERSION, SEGMENT_BYTES, SEGMENT_MAGIC, SLOT_EMPTY,
};
use crate::error::TrackError;
use crate::view::SegmentParts;

/// The segment up to its live tables, laid out exactly as in the file.
#[repr(C)]
struct SegmentPrefix {
    header: SegmentHeader,
    devices: [DeviceRecord; MAX_DEVICES],
    rings: [[RingEntry; RING_CAPACITY]; MAX_DEVICES],
}

const PREFIX_BYTES: usize = size_of::<SegmentPrefix>();
const _: () = {
    assert!(offset_of!(SegmentPrefix, devices) == offset_of!(SegmentLayout, devices));
    assert!(offset_of!(SegmentPrefix, rings) == offset_of!(SegmentLayout, rings));
    assert!(PREFIX_BYTES == offset_of!(SegmentLayout, live));
};

/// Types made only of atomics (and arrays of them): every bit pattern, zero included, is a
/// valid value, so they may be created zeroed and filled from file bytes.
///
/// # Safety
/// Implement only for `#[repr(C)]` types whose every field is an atomic integer or an array
/// of such types, with no padding.
unsafe trait PlainAtomics: Sized {}
// SAFETY: #[repr(C)] structs of AtomicU64/AtomicU32 fields and arrays of them, without
// padding (their sizes are pinned in layout.rs).
unsafe impl PlainAtomics for SegmentPrefix {}
// SAFETY: as above.
unsafe impl PlainAtomics for LiveEntry {}
// SAFETY: as above.
unsafe impl PlainAtomics for HealthRecord {}

/// A zeroed slice of `count` values, on the heap.
fn zeroed<T: PlainAtomics>(count: usize) -> Box<[T]> {
    if count == 0 {
        return Vec::new().into_boxed_slice();
    }
    let layout = std::alloc::Layout::array::<T>(count)
        .unwrap_or_else(|_| std::alloc::handle_alloc_error(std::alloc::Layout::new::<T>()));
    // SAFETY: the layout is non-zero in size (count > 0 and T is not zero-sized: the
    // PlainAtomics types hold at least one atomic).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<T>();
    if ptr.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    // SAFETY: ptr was allocated by the global allocator with the layout of [T; count], as Box
    // requires, and holds `count` zeroed T, which are valid values (PlainAtomics).
    unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, count)) }
}

/// The bytes of values we own exclusively (`&mut`: no other thread or process writes them).
fn bytes_mut<T: PlainAtomics>(values: &mut [T]) -> &mut [u8] {
    // SAFETY: the slice is borrowed mutably, so nothing else reads or writes it meanwhile; T
    // has no padding and every bit pattern is valid (PlainAtomics), so any bytes written
    // leave valid values; the length is the slice's size in bytes.
    unsafe { std::slice::from_raw_parts_mut(values.as_mut_ptr().cast::<u8>(), size_of_val(values)) }
}

/// The bytes of values we own (no other process can write our private copy).
fn bytes<T: PlainAtomics>(values: &[T]) -> &[u8] {
    // SAFETY: the values live in this process's heap, reachable only through this reader's
    // copy, and no thread stores to them while they are borrowed here; T has no padding.
    unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), size_of_val(values)) }
}

/// Reads `buf.len()` bytes at `offset`; a file that ends first is a truncated segment.
fn read_at(file: &File, buf: &mut [u8], offset: u64, path: &Path) -> Result<(), TrackError> {
    file.read_exact_at(buf, offset).map_err(|source| {
        if source.kind() == std::io::ErrorKind::UnexpectedEof {
            TrackError::TruncatedSegment {
                path: path.to_owned(),
                found: file.metadata().map_or(0, |m| m.len()),
                needed: SEGMENT_BYTES as u64,
            }
        } else {
            TrackError::SegmentIo { path: path.to_owned(), source }
        }
    })
}

/// How many times a health record is read again while its writer is updating it.
const HEALTH_TRIES: usize = 8;

/// A private, checked copy of another process's segment.
pub(crate) struct CopiedSegment {
    prefix: Box<[SegmentPrefix]>,
    live: [Box<[LiveEntry]>; MAX_DEVICES],
}

impl CopiedSegment {
    /// Checks the header of `file` and copies what a reader decodes. Every read is a `pread`:
    /// a file that is short, or that shrinks while it is read, is an error for this segment.
    pub(crate) fn read(file: &File, path: &Path) -> Result<CopiedSegment, TrackError> {
        let io = |source| TrackError::SegmentIo { path: path.to_owned(), source };
        let length = file.metadata().map_err(io)?.len();
        if length == 0 {
            return Err(TrackError::EmptySegment { path: path.to_owned() });
        }
        let mut header = [0u8; HEADER_BYTES];
        let available = usize::try_from(length).unwrap_or(usize::MAX).min(HEADER_BYTES);
        read_at(file, &mut header[..available], 0, path)?;
        check_header(&header[..available], length, path)?;

        let mut first = zeroed::<SegmentPrefix>(1);
        read_at(file, bytes_mut(&mut first), 0, path)?;
        check_header(&bytes(&first)[..HEADER_BYTES], length, path)?;
        let mut prefix = zeroed::<SegmentPrefix>(1);
        read_at(file, bytes_mut(&mut prefix), 0, path)?;
        check_header(&bytes(&prefix)[..HEADER_BYTES], length, path)?;
        merge_prefix(&first[0], &prefix[0]);
        for (index, device) in prefix[0].devices.iter().enumerate() {
            stable_health(file, index, device, path)?;
        }

        let mut live: [Box<[LiveEntry]>; MAX_DEVICES] = std::array::from_fn(|_| zeroed(0));
        for (index, device) in prefix[0].devices.iter().enumerate() {
            if device.state.load(Ordering::Relaxed) == SLOT_EMPTY {
                continue;
            }
            let listed = device.live_table_high_water.load(Ordering::Relaxed);
            let listed = listed.min(LIVE_TABLE_CAPACITY as u64) as usize;
            live[index] = stable_live(file, index, listed, path)?;
        }
        Ok(CopiedSegment { prefix, live })
    }

    /// The copied parts, for the decoder.
    pub(crate) fn parts(&self) -> SegmentParts<'_> {
        let prefix = &self.prefix[0];
        SegmentParts {
            header: &prefix.header,
            devices: &prefix.devices,
            rings: &prefix.rings,
            live: std::array::from_fn(|i| &self.live[i][..]),
        }
    }
}

/// Makes `second` (the later copy) consistent: released counters from `first`, so every
/// release counted has its placement counted; ring entries that changed between the copies
/// are dropped.
fn merge_prefix(first: &SegmentPrefix, second: &SegmentPrefix) {
    for (earlier, later) in first.devices.iter().zip(second.devices.iter()) {
        // A slot given to another chip between the copies starts its counters again: the
        // first copy's releases are not that chip's, so the later copy is taken whole.
        let same_slot = [
            (&earlier.state, &later.state),
            (&earlier.generation, &later.generation),
            (&earlier.chip_uid, &later.chip_uid),
        ]
        .iter()
        .all(|(a, b)| a.load(Ordering::Relaxed) == b.load(Ordering::Relaxed));
        if !same_slot {
            continue;
        }
        for (e, l) in earlier.kinds.iter().zip(later.kinds.iter()) {
            released_from(e, l);
        }
    }
    for (earlier, later) in first.rings.iter().flatten().zip(second.rings.iter().flatten()) {
        let same = [
            (&earlier.seq, &later.seq),
            (&earlier.alloc_id, &later.alloc_id),
            (&earlier.reserved, &later.reserved),
            (&earlier.payload, &later.payload),
            (&earlier.meta, &later.meta),
            (&earlier.at_ns, &later.at_ns),
        ]
        .iter()
        .all(|(a, b)| a.load(Ordering::Relaxed) == b.load(Ordering::Relaxed));
        if !same {
            later.seq.store(0, Ordering::Relaxed);
        }
    }
}

fn released_from(earlier: &KindCounters, later: &KindCounters) {
    let copy = |from: &std::sync::atomic::AtomicU64, to: &std::sync::atomic::AtomicU64| {
        to.store(from.load(Ordering::Relaxed), Ordering::Relaxed);
    };
    copy(&earlier.released_reserved, &later.released_reserved);
    copy(&earlier.released_payload, &later.released_payload);
    copy(&earlier.released_count, &later.released_count);
}

/// Re-reads the health records of device `index` until two reads in a row agree and none is
/// mid-update; a record still changing after a few tries is left marked as mid-update (the
/// decoder then shows it as unpublished, as the mapping reader does).
fn stable_health(
    file: &File,
    index: usize,
    device: &DeviceRecord,
    path: &Path,
) -> Result<(), TrackError> {
    if device.state.load(Ordering::Relaxed) == SLOT_EMPTY {
        return Ok(());
    }
    let offset = (offset_of!(SegmentLayout, devices)
        + index * size_of::<DeviceRecord>()
        + offset_of!(DeviceRecord, health)) as u64;
    let count = device.health.len();
    let mut previous = zeroed::<HealthRecord>(count);
    read_at(file, bytes_mut(&mut previous), offset, path)?;
    for _ in 0..HEALTH_TRIES {
        let mut now = zeroed::<HealthRecord>(count);
        read_at(file, bytes_mut(&mut now), offset, path)?;
        let settled = now.iter().all(|r| r.seq.load(Ordering::Relaxed) % 2 == 0);
        if settled && bytes(&previous) == bytes(&now) {
            for (into, from) in device.health.iter().zip(now.iter()) {
                copy_health(from, into);
            }
            return Ok(());
        }
        previous = now;
    }
    for record in &device.health {
        record.seq.store(1, Ordering::Relaxed);
    }
    Ok(())
}

fn copy_health(from: &HealthRecord, to: &HealthRecord) {
    let fields = |r: &HealthRecord| {
        [
            r.seq.load(Ordering::Relaxed),
            r.banks.load(Ordering::Relaxed),
            r.bank_size.load(Ordering::Relaxed),
            r.free_per_bank.load(Ordering::Relaxed),
            r.largest_free_per_bank.load(Ordering::Relaxed),
            r.free_blocks.load(Ordering::Relaxed),
            r.allocated_blocks.load(Ordering::Relaxed),
            r.reserved.load(Ordering::Relaxed),
        ]
    };
    let values = fields(from);
    let targets = [
        &to.seq,
        &to.banks,
        &to.bank_size,
        &to.free_per_bank,
        &to.largest_free_per_bank,
        &to.free_blocks,
        &to.allocated_blocks,
        &to.reserved,
    ];
    for (target, value) in targets.into_iter().zip(values) {
        target.store(value, Ordering::Relaxed);
    }
}

/// The first `listed` entries of device `index`'s live table, copied twice; an entry that
/// differs between the copies was being written and is left out (marked free).
fn stable_live(
    file: &File,
    index: usize,
    listed: usize,
    path: &Path,
) -> Result<Box<[LiveEntry]>, TrackError> {
    let offset = (offset_of!(SegmentLayout, live)
        + index * LIVE_TABLE_CAPACITY * size_of::<LiveEntry>()) as u64;
    let mut first = zeroed::<LiveEntry>(listed);
    read_at(file, bytes_mut(&mut first), offset, path)?;
    let mut second = zeroed::<LiveEntry>(listed);
    read_at(file, bytes_mut(&mut second), offset, path)?;
    for (a, b) in first.iter().zip(second.iter()) {
        if bytes(std::slice::from_ref(a)) != bytes(std::slice::from_ref(b)) {
            b.alloc_id.store(0, Ordering::Relaxed);
        }
    }
    Ok(second)
}

fn field_u32(header: &[u8], offset: usize) -> u32 {
    let mut bytes = [0u8; 4];
    if let Some(src) = header.get(offset..offset + 4) {
        bytes.copy_from_slice(src);
    }
    u32::from_le_bytes(bytes)
}

fn field_u64(header: &[u8], offset: usize) -> u64 {
    let mut bytes = [0u8; 8];
    if let Some(src) = header.get(offset..offset + 8) {
        bytes.copy_from_slice(src);
    }
    u64::from_le_bytes(bytes)
}

/// Checks magic, version, and that every size the header states is the one this build's
/// layout has; the version is checked before sizes, so a newer (bigger) segment is reported
/// as a version mismatch, not as corruption.
fn check_header(header: &[u8], length: u64, path: &Path) -> Result<(), TrackError> {
    let path = path.to_owned();
    if header.len() < 16 {
        return Err(TrackError::TruncatedSegment {
            path,
            found: length,
            needed: HEADER_BYTES as u64,
        });
    }
    let magic = field_u64(header, 0);
    if magic != SEGMENT_MAGIC {
        return Err(TrackError::BadMagic { path, found: magic });
    }
    let version = field_u32(header, 8);
    if version != SCHEMA_VERSION {
        return Err(TrackError::UnsupportedVersion {
            path,
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if header.len() < HEADER_BYTES {
        return Err(TrackError::TruncatedSegment {
            path,
            found: length,
            needed: HEADER_BYTES as u64,
        });
    }
    let expectations: [(&str, u64, u64); 7] = [
        ("header length", u64::from(field_u32(header, 12)), HEADER_BYTES as u64),
        ("segment length", field_u64(header, 16), SEGMENT_BYTES as u64),
        ("device slot count", u64::from(field_u32(header, 40)), MAX_DEVICES as u64),
        ("event ring capacity", u64::from(field_u32(header, 44)), RING_CAPACITY as u64),
        ("live table capacity", u64::from(field_u32(header, 48)), LIVE_TABLE_CAPACITY as u64),
        ("Tensix core capacity", u64::from(field_u32(header, 52)), MAX_TENSIX_CORES as u64),
        ("Ethernet core capacity", u64::from(field_u32(header, 56)), MAX_ETHERNET_CORES as u64),
    ];
    for (what, found, expected) in expectations {
        if found != expected {
            return Err(TrackError::CorruptSegment {
                path,
                what: format!("{what} is {found}, version {SCHEMA_VERSION} requires {expected}"),
            });
        }
    }
    if length < SEGMENT_BYTES as u64 {
        return Err(TrackError::TruncatedSegment {
            path,
            found: length,
            needed: SEGMENT_BYTES as u64,
        });
    }
    Ok(())
}
