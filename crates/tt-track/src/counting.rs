//! The hot path: counting one placement or release into a device slot of the segment.
//!
//! Each device slot has one in-process writer lock, on its own cache line. Holding it, the
//! writer updates counters, ring and live table with plain atomic loads and stores (single
//! writer, so no read-modify-write instructions), which is what makes an event cost one
//! uncontended atomic swap. No lock is shared between devices and none is visible to
//! readers: they only load, and check sequence numbers where several words must agree.

use std::hint::spin_loop;
use std::panic::Location;
use std::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, Ordering};

use tt_alloc::tracker::MemKind;

use crate::observer::EventOp;
use crate::record::{AllocId, AllocRecord, NO_TABLE_ENTRY};
use crate::segment::layout::{
    prefix_within, store_bytes, suffix_within, DeviceRecord, KindCounters, LiveEntry, RingEntry,
    SegmentLayout, ENTRY_BUSY, FILE_BYTES, LIVE_TABLE_CAPACITY, OP_PLACE, OP_RELEASE, OWNER_BYTES,
    RING_CAPACITY,
};

/// Live-table positions probed before a placement is counted as overflow.
const LIVE_TABLE_PROBES: usize = 8;
/// Spins before a waiting writer yields its time slice to a preempted holder.
const SPINS_BEFORE_YIELD: u32 = 64;

/// Serialises the writers of one device slot within this process, and keeps the device's
/// current total so the peak needs no sum over kinds.
#[repr(C, align(128))]
#[derive(Default)]
pub(crate) struct DeviceWriter {
    held: AtomicBool,
    current_bytes: AtomicU64,
    /// Where the next live-table search starts: the entry freed last, still in cache.
    free_hint: AtomicU32,
}

struct Held<'a>(&'a DeviceWriter);

impl Drop for Held<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.held.store(false, Ordering::Release);
    }
}

impl DeviceWriter {
    #[inline]
    fn lock(&self) -> Held<'_> {
        if self.held.swap(true, Ordering::Acquire) {
            self.lock_contended();
        }
        Held(self)
    }

    #[cold]
    fn lock_contended(&self) {
        let mut spins = 0u32;
        loop {
            while self.held.load(Ordering::Relaxed) {
                spins += 1;
                if spins % SPINS_BEFORE_YIELD == 0 {
                    std::thread::yield_now();
                } else {
                    spin_loop();
                }
            }
            if !self.held.swap(true, Ordering::Acquire) {
                return;
            }
        }
    }
}

/// `counter += amount` by the slot's only writer (the caller holds the slot's lock).
#[inline]
fn bump(counter: &AtomicU64, amount: u64, order: Ordering) -> u64 {
    let value = counter.load(Ordering::Relaxed).wrapping_add(amount);
    counter.store(value, order);
    value
}

/// Counts a placement into `slot` and returns the live-table entry that lists it.
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) fn count_place(
    layout: &SegmentLayout,
    writer: &DeviceWriter,
    slot: usize,
    kind: MemKind,
    bytes: u64,
    id: AllocId,
    owner: &str,
    provenance: &'static Location<'static>,
) -> u32 {
    let device = &layout.devices[slot];
    let counters = &device.kinds[kind.index()];
    let _held = writer.lock();
    let placed = bump(&counters.placed_bytes, bytes, Ordering::Relaxed);
    bump(&counters.placed_count, 1, Ordering::Relaxed);
    raise_peak(counters, placed);
    let device_current = bump(&writer.current_bytes, bytes, Ordering::Relaxed);
    if device_current > device.peak_bytes.load(Ordering::Relaxed) {
        device.peak_bytes.store(device_current, Ordering::Relaxed);
    }
    push_event(&layout.rings[slot], device, OP_PLACE, kind, id, bytes);
    list_live(&layout.live[slot], writer, device, kind, bytes, id, owner, provenance)
}

#[inline]
fn raise_peak(counters: &KindCounters, placed: u64) {
    let current = placed.saturating_sub(counters.released_bytes.load(Ordering::Relaxed));
    if current > counters.peak_bytes.load(Ordering::Relaxed) {
        counters.peak_bytes.store(current, Ordering::Relaxed);
    }
}

/// Counts the release of `record` (issued by this tracker) and says what it was.
#[inline]
pub(crate) fn count_release(
    layout: &SegmentLayout,
    writer: &DeviceWriter,
    record: &AllocRecord,
) -> EventOp {
    let slot = usize::from(record.slot);
    let Some(device) = layout.devices.get(slot) else {
        layout.header.unattributed_integrity_errors.fetch_add(1, Ordering::Relaxed);
        return EventOp::UnknownRelease;
    };
    let _held = writer.lock();
    if record.table_entry != NO_TABLE_ENTRY {
        let entry = layout.live[slot].get(record.table_entry as usize);
        match entry {
            Some(entry) if entry.alloc_id.load(Ordering::Relaxed) == record.id.get() => {
                entry.alloc_id.store(0, Ordering::Release);
                writer.free_hint.store(record.table_entry, Ordering::Relaxed);
            }
            _ => {
                bump(&device.double_releases, 1, Ordering::Relaxed);
                return EventOp::DoubleRelease;
            }
        }
    }
    let counters = &device.kinds[record.kind.index()];
    // Release pairs with the reader's acquire load of `released` before `placed`, so a
    // reader never sees a release without its placement.
    bump(&counters.released_bytes, record.bytes, Ordering::Release);
    bump(&counters.released_count, 1, Ordering::Release);
    let current = writer.current_bytes.load(Ordering::Relaxed);
    writer.current_bytes.store(current.saturating_sub(record.bytes), Ordering::Relaxed);
    push_event(&layout.rings[slot], device, OP_RELEASE, record.kind, record.id, record.bytes);
    EventOp::Release
}

/// Counts an integrity error on a device without touching its totals.
pub(crate) fn count_unknown_release(writer: &DeviceWriter, device: &DeviceRecord) {
    let _held = writer.lock();
    bump(&device.unknown_releases, 1, Ordering::Relaxed);
}

#[inline]
fn push_event(
    ring: &[RingEntry; RING_CAPACITY],
    device: &DeviceRecord,
    op: u64,
    kind: MemKind,
    id: AllocId,
    bytes: u64,
) {
    let number = device.events_written.load(Ordering::Relaxed);
    let entry = &ring[(number % RING_CAPACITY as u64) as usize];
    // Seqlock: a reader discards an entry whose seq changed while it read the fields.
    entry.seq.store(ENTRY_BUSY, Ordering::Relaxed);
    fence(Ordering::Release);
    entry.alloc_id.store(id.get(), Ordering::Relaxed);
    entry.bytes.store(bytes, Ordering::Relaxed);
    entry.meta.store(op | (kind.index() as u64) << 8, Ordering::Relaxed);
    entry.seq.store(number + 1, Ordering::Release);
    device.events_written.store(number + 1, Ordering::Release);
}

#[inline]
#[allow(clippy::too_many_arguments)]
fn list_live(
    table: &[LiveEntry; LIVE_TABLE_CAPACITY],
    writer: &DeviceWriter,
    device: &DeviceRecord,
    kind: MemKind,
    bytes: u64,
    id: AllocId,
    owner: &str,
    provenance: &'static Location<'static>,
) -> u32 {
    let start = writer.free_hint.load(Ordering::Relaxed) as usize;
    for probe in 0..LIVE_TABLE_PROBES {
        let index = (start + probe) % LIVE_TABLE_CAPACITY;
        let entry = &table[index];
        if entry.alloc_id.load(Ordering::Relaxed) != 0 {
            continue;
        }
        entry.alloc_id.store(ENTRY_BUSY, Ordering::Relaxed);
        fence(Ordering::Release);
        let meta = kind.index() as u64 | u64::from(provenance.line()) << 32;
        entry.meta.store(meta, Ordering::Relaxed);
        entry.bytes.store(bytes, Ordering::Relaxed);
        store_bytes(&entry.owner, prefix_within(owner, OWNER_BYTES).as_bytes());
        store_bytes(&entry.file, suffix_within(provenance.file(), FILE_BYTES).as_bytes());
        entry.alloc_id.store(id.get(), Ordering::Release);
        // LIVE_TABLE_CAPACITY is 512, so indices fit in a u32.
        writer.free_hint.store(((index + 1) % LIVE_TABLE_CAPACITY) as u32, Ordering::Relaxed);
        return index as u32;
    }
    // Full around the hint: move the search on so the next placement probes elsewhere.
    let next = (start + LIVE_TABLE_PROBES) % LIVE_TABLE_CAPACITY;
    writer.free_hint.store(next as u32, Ordering::Relaxed);
    bump(&device.live_table_overflow, 1, Ordering::Relaxed);
    NO_TABLE_ENTRY
}
