//! Private copies of a segment for readers: another process's, copied with `pread` (never
//! mapped, so a file truncated or swapped under the reader is an error for that segment, not
//! a SIGBUS), or this process's own, copied word by word from the writer's mapping.
//!
//! Each device slot (its record, event ring and live table up to its high-water mark) is
//! copied under the slot's sequence word (`segment::seqlock`), so every figure of a slot comes
//! from one state its writer had; a slot whose writer changed it during every try is marked
//! busy and decoded as such, never from a torn copy. Health records have sequence words of
//! their own and are copied the same way, one at a time. Every read is bounded: at most the
//! slot count, the ring and each live table up to the table's capacity.

use std::fs::File;
use std::mem::{offset_of, size_of};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::Ordering;

use std::sync::atomic::AtomicU64;

use super::layout::{
    DeviceRecord, HealthRecord, LiveEntry, RingEntry, SegmentHeader, SegmentLayout, HEADER_BYTES,
    LIVE_TABLE_CAPACITY, MAX_DEVICES, MAX_ETHERNET_CORES, MAX_TENSIX_CORES, RING_CAPACITY,
    SCHEMA_VERSION, SEGMENT_BYTES, SEGMENT_MAGIC, SLOT_EMPTY,
};
use super::seqlock::{read_stable, reader_backoff, Stable, READ_TRIES};
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

/// Types made only of 8-byte atomics (and arrays of them): they can be copied word by word
/// from a live mapping.
///
/// # Safety
/// Implement only for `#[repr(C)]` types whose every field is an `AtomicU64` or an array of
/// such types, with no padding.
unsafe trait AtomicWords: PlainAtomics {}
// SAFETY: DeviceRecord, RingEntry and LiveEntry are #[repr(C)] structs of AtomicU64 fields
// and arrays of them (KindCounters and HealthRecord are too), sizes pinned in layout.rs.
unsafe impl AtomicWords for DeviceRecord {}
// SAFETY: as above.
unsafe impl AtomicWords for RingEntry {}
// SAFETY: as above.
unsafe impl AtomicWords for LiveEntry {}
// SAFETY: as above.
unsafe impl AtomicWords for HealthRecord {}
// SAFETY: DeviceRecord is #[repr(C)] of atomics with no padding (layout.rs pins it).
unsafe impl PlainAtomics for DeviceRecord {}
// SAFETY: as above.
unsafe impl PlainAtomics for RingEntry {}

/// The words of values made of 8-byte atomics.
fn words<T: AtomicWords>(values: &[T]) -> &[AtomicU64] {
    // SAFETY: T is made only of AtomicU64 with no padding (AtomicWords), so the slice's bytes
    // are size_of_val / 8 properly aligned AtomicU64s, valid as long as the borrow.
    unsafe {
        std::slice::from_raw_parts(values.as_ptr().cast::<AtomicU64>(), size_of_val(values) / 8)
    }
}

/// Copies `from` (a live mapping another thread writes) into our private `to`, word by word.
fn copy_words<T: AtomicWords>(from: &[T], to: &mut [T]) {
    for (dst, src) in words(to).iter().zip(words(from)) {
        dst.store(src.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// Where a copy comes from.
#[derive(Clone, Copy)]
enum Source<'a> {
    /// Another process's segment, read with pread.
    File(&'a File, &'a Path),
    /// This process's own segment, through the writer's mapping.
    Mapping(&'a SegmentLayout),
}

fn device_offset(index: usize) -> usize {
    offset_of!(SegmentLayout, devices) + index * size_of::<DeviceRecord>()
}

fn health_offset(index: usize, record: usize) -> usize {
    device_offset(index) + offset_of!(DeviceRecord, health) + record * size_of::<HealthRecord>()
}

impl Source<'_> {
    /// The word at `offset` of the segment (`in_map` names the same word in a mapping),
    /// loaded with acquire semantics.
    fn word(
        self,
        offset: usize,
        in_map: impl FnOnce(&SegmentLayout) -> &AtomicU64,
    ) -> Result<u64, TrackError> {
        match self {
            Source::File(file, path) => {
                let mut word = [0u8; 8];
                read_at(file, &mut word, offset as u64, path)?;
                Ok(u64::from_le_bytes(word))
            }
            Source::Mapping(layout) => Ok(in_map(layout).load(Ordering::Acquire)),
        }
    }

    /// Copies `to.len()` values at `offset` of the segment into `to` (`in_map` names the same
    /// values in a mapping).
    fn copy<T: AtomicWords>(
        self,
        offset: usize,
        to: &mut [T],
        in_map: impl FnOnce(&SegmentLayout) -> &[T],
    ) -> Result<(), TrackError> {
        match self {
            Source::File(file, path) => read_at(file, bytes_mut(to), offset as u64, path),
            Source::Mapping(layout) => {
                copy_words(&in_map(layout)[..to.len()], to);
                Ok(())
            }
        }
    }

    /// Slot `index`'s sequence word.
    fn seq(self, index: usize) -> Result<u64, TrackError> {
        let offset = device_offset(index) + offset_of!(DeviceRecord, seq);
        self.word(offset, |l| &l.devices[index].seq)
    }

    fn device(self, index: usize, to: &mut DeviceRecord) -> Result<(), TrackError> {
        let to = std::slice::from_mut(to);
        self.copy(device_offset(index), to, |l| std::slice::from_ref(&l.devices[index]))
    }

    fn ring(self, index: usize, to: &mut [RingEntry]) -> Result<(), TrackError> {
        let offset =
            offset_of!(SegmentLayout, rings) + index * RING_CAPACITY * size_of::<RingEntry>();
        self.copy(offset, to, |l| &l.rings[index][..])
    }

    fn live(self, index: usize, to: &mut [LiveEntry]) -> Result<(), TrackError> {
        let offset =
            offset_of!(SegmentLayout, live) + index * LIVE_TABLE_CAPACITY * size_of::<LiveEntry>();
        self.copy(offset, to, |l| &l.live[index][..])
    }

    fn health_seq(self, index: usize, record: usize) -> Result<u64, TrackError> {
        let offset = health_offset(index, record) + offset_of!(HealthRecord, seq);
        self.word(offset, |l| &l.devices[index].health[record].seq)
    }

    fn health(self, index: usize, record: usize, to: &mut HealthRecord) -> Result<(), TrackError> {
        let to = std::slice::from_mut(to);
        self.copy(health_offset(index, record), to, |l| {
            std::slice::from_ref(&l.devices[index].health[record])
        })
    }
}

fn acquire_fence() {
    std::sync::atomic::fence(Ordering::Acquire);
}

/// A private copy of a segment, each device slot one state of its writer's (or busy).
pub(crate) struct CopiedSegment {
    prefix: Box<[SegmentPrefix]>,
    live: [Box<[LiveEntry]>; MAX_DEVICES],
    busy: [bool; MAX_DEVICES],
}

impl CopiedSegment {
    /// Checks the header of another process's segment `file` and copies what a reader
    /// decodes. A file that is short, or that shrinks while it is read, is an error for this
    /// segment.
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
        let mut prefix = zeroed::<SegmentPrefix>(1);
        read_at(file, bytes_mut(&mut prefix)[..HEADER_BYTES].as_mut(), 0, path)?;
        check_header(&bytes(&prefix)[..HEADER_BYTES], length, path)?;
        Self::copy_slots(prefix, Source::File(file, path))
    }

    /// Copies this process's own segment from the writer's mapping (never by opening its
    /// file, which would drop the process's lock).
    pub(crate) fn of_mapping(layout: &SegmentLayout) -> Result<CopiedSegment, TrackError> {
        let prefix = zeroed::<SegmentPrefix>(1);
        copy_header(&layout.header, &prefix[0].header);
        Self::copy_slots(prefix, Source::Mapping(layout))
    }

    fn copy_slots(
        mut prefix: Box<[SegmentPrefix]>,
        source: Source<'_>,
    ) -> Result<CopiedSegment, TrackError> {
        let mut live: [Box<[LiveEntry]>; MAX_DEVICES] = std::array::from_fn(|_| zeroed(0));
        let mut busy = [false; MAX_DEVICES];
        let copy = &mut prefix[0];
        for index in 0..MAX_DEVICES {
            let record = &mut copy.devices[index];
            let ring = &mut copy.rings[index];
            let slot_live = &mut live[index];
            let stable = read_stable(
                READ_TRIES,
                || source.seq(index),
                || {
                    source.device(index, record)?;
                    if record.state.load(Ordering::Relaxed) == SLOT_EMPTY {
                        return Ok(());
                    }
                    source.ring(index, &mut ring[..])?;
                    let listed = listed_entries(record);
                    if slot_live.len() != listed {
                        *slot_live = zeroed(listed);
                    }
                    source.live(index, slot_live)
                },
                acquire_fence,
                reader_backoff,
            )?;
            match stable {
                // The copied word must be the one that bracketed the copy: a writer that lies
                // about it cannot pass off a moving copy as a stable one.
                Stable::Copy((), seq) if record.seq.load(Ordering::Relaxed) == seq => {}
                _ => {
                    // One more copy, for the slot's identity only (a slot is re-registered
                    // rarely; its figures are not taken from this copy).
                    source.device(index, record)?;
                    busy[index] = record.state.load(Ordering::Relaxed) != SLOT_EMPTY;
                    *slot_live = zeroed(0);
                }
            }
            if record.state.load(Ordering::Relaxed) != SLOT_EMPTY && !busy[index] {
                for (k, health) in record.health.iter_mut().enumerate() {
                    stable_health(source, index, k, health)?;
                }
            }
        }
        Ok(CopiedSegment { prefix, live, busy })
    }

    /// The copied parts, for the decoder.
    pub(crate) fn parts(&self) -> SegmentParts<'_> {
        let prefix = &self.prefix[0];
        SegmentParts {
            header: &prefix.header,
            devices: &prefix.devices,
            rings: &prefix.rings,
            live: std::array::from_fn(|i| &self.live[i][..]),
            busy: self.busy,
        }
    }
}

/// Entries of a slot's live table a reader copies: up to the high-water mark, never past the
/// table, and never more than the placements the slot says it ever made.
fn listed_entries(record: &DeviceRecord) -> usize {
    let placed = record
        .kinds
        .iter()
        .fold(0u64, |sum, k| sum.saturating_add(k.placed_count.load(Ordering::Relaxed)));
    let high_water = record.live_table_high_water.load(Ordering::Relaxed);
    high_water.min(placed).min(LIVE_TABLE_CAPACITY as u64) as usize
}

fn copy_header(from: &SegmentHeader, to: &SegmentHeader) {
    let pairs64 = [
        (&from.magic, &to.magic),
        (&from.total_bytes, &to.total_bytes),
        (&from.claimed_pid, &to.claimed_pid),
        (&from.start_time_ticks, &to.start_time_ticks),
        (&from.unattributed_integrity_errors, &to.unattributed_integrity_errors),
    ];
    for (src, dst) in pairs64 {
        dst.store(src.load(Ordering::Relaxed), Ordering::Relaxed);
    }
    for (src, dst) in from.command.iter().zip(&to.command) {
        dst.store(src.load(Ordering::Relaxed), Ordering::Relaxed);
    }
    let pairs32 = [
        (&from.version, &to.version),
        (&from.header_bytes, &to.header_bytes),
        (&from.max_devices, &to.max_devices),
        (&from.ring_capacity, &to.ring_capacity),
        (&from.live_table_capacity, &to.live_table_capacity),
        (&from.max_tensix_cores, &to.max_tensix_cores),
        (&from.max_ethernet_cores, &to.max_ethernet_cores),
    ];
    for (src, dst) in pairs32 {
        dst.store(src.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// Copies health record `k` of slot `index` under its own sequence word; one still changing
/// after the tries is left marked as mid-update (the decoder shows it as unpublished).
fn stable_health(
    source: Source<'_>,
    index: usize,
    k: usize,
    into: &mut HealthRecord,
) -> Result<(), TrackError> {
    let stable = read_stable(
        HEALTH_TRIES,
        || source.health_seq(index, k),
        || source.health(index, k, into),
        acquire_fence,
        reader_backoff,
    )?;
    if !matches!(stable, Stable::Copy((), seq) if into.seq.load(Ordering::Relaxed) == seq) {
        into.seq.store(1, Ordering::Relaxed);
    }
    Ok(())
}

/// Tries for one health record: it is advisory, so a reader does not wait long for it.
const HEALTH_TRIES: usize = 16;

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
