//! The hot path: counting one placement or release into a device slot of the segment.
//!
//! Each device slot has one in-process writer lock, on its own cache line. Holding it, the
//! writer opens a write section of the slot's sequence word (`segment::seqlock`) and updates
//! counters, ring and live table with plain atomic loads and stores (single writer, so no
//! read-modify-write instructions), which is what makes an event cost one uncontended atomic
//! swap and two stores of the word. No lock is shared between devices and none is visible to
//! readers: they only load, and take a slot only as one state its writer had.

use std::hint::spin_loop;
use std::panic::Location;
use std::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};

use tt_accounting::{BankClass, BankHealth, MemKind};

use crate::record::{AllocId, CoreShare, NO_TABLE_ENTRY};
use crate::segment::layout::{
    prefix_within, store_bytes, suffix_within, DeviceRecord, RingEntry, SegmentLayout, FILE_BYTES,
    FLAG_FILE_CUT, FLAG_OWNER_CUT, LIVE_TABLE_CAPACITY, OP_PLACE, OP_RELEASE, OWNER_BYTES,
    RING_CAPACITY,
};
use crate::segment::seqlock::WriteSection;
use crate::segment::writer::SegmentMemory;

/// Spins before a waiting writer yields its time slice to a preempted holder.
const SPINS_BEFORE_YIELD: u32 = 64;
/// Marks an empty free list.
const NO_FREE_ENTRY: u32 = u32::MAX;

/// Who may place on a slot, in [`DeviceWriter::session`]: no device session holds the chip
/// (whoever registered it places what it likes)...
pub(crate) const NO_SESSION: u8 = 0;
/// ...a session holds it and is bringing it up (it alone places SYSTEM and RESERVED)...
pub(crate) const SESSION_BRINGING_UP: u8 = 1;
/// ...a session holds it and its bring-up is over: SYSTEM and RESERVED are refused.
pub(crate) const SESSION_RUNNING: u8 = 2;

/// True for the kinds only a device session's bring-up places.
#[inline]
pub(crate) fn session_only(kind: MemKind) -> bool {
    matches!(kind, MemKind::System | MemKind::Reserved)
}

/// Serialises the writers of one device slot within this process, and keeps the state only
/// the writer needs: the current total (so the device's peak needs no sum over kinds) and the
/// live table's free list.
#[repr(C, align(128))]
pub(crate) struct DeviceWriter {
    held: AtomicBool,
    reserved_now: AtomicU64,
    /// Records counted in this slot and not yet released: while any is, the slot's anchor
    /// (which the records point to) must live.
    records_alive: AtomicU64,
    /// Set once the tracker that owns the slot's anchor is gone.
    orphaned: AtomicBool,
    /// The slot's sequence word as this writer last stored it (never reset: it only grows
    /// over the slot's life, whichever chip the slot serves).
    seq: AtomicU64,
    /// Head of the free list threaded through the live entries' `next_free`.
    free_head: AtomicU32,
    /// Entries `0..next_unused` have been used at least once; the rest were never touched.
    next_unused: AtomicU32,
    /// Entries `0..backed` have their file pages reserved (kept when the slot is reused:
    /// the pages stay reserved).
    backed: AtomicU32,
    /// Set when the file system refused to reserve more: the table lists no further.
    backing_refused: AtomicBool,
    /// Whether a device session holds the slot's chip ([`NO_SESSION`] and after). Process
    /// private: only this process's callers are told yes or no.
    pub(crate) session: AtomicU8,
}

impl Default for DeviceWriter {
    fn default() -> Self {
        DeviceWriter {
            held: AtomicBool::new(false),
            reserved_now: AtomicU64::new(0),
            records_alive: AtomicU64::new(0),
            orphaned: AtomicBool::new(false),
            seq: AtomicU64::new(0),
            free_head: AtomicU32::new(NO_FREE_ENTRY),
            next_unused: AtomicU32::new(0),
            backed: AtomicU32::new(0),
            backing_refused: AtomicBool::new(false),
            session: AtomicU8::new(NO_SESSION),
        }
    }
}

pub(crate) struct Held<'a>(&'a DeviceWriter);

/// The slot's lock held and a write section of its sequence word open; the section closes
/// before the lock is let go (fields drop in order).
pub(crate) struct Writing<'a> {
    _section: WriteSection<'a, AtomicU64>,
    _held: Held<'a>,
}

impl Drop for Held<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.held.store(false, Ordering::Release);
    }
}

impl DeviceWriter {
    #[inline]
    pub(crate) fn lock(&self) -> Held<'_> {
        if self.held.swap(true, Ordering::Acquire) {
            self.lock_contended();
        }
        Held(self)
    }

    /// Takes the slot's lock and opens a write section of `device`'s sequence word: every
    /// change of the slot happens inside one.
    #[inline]
    pub(crate) fn write<'a>(&'a self, device: &'a DeviceRecord) -> Writing<'a> {
        let held = self.lock();
        Writing { _section: WriteSection::open(&device.seq, &self.seq), _held: held }
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

    /// Marks the slot's anchor as no longer owned by a tracker; true when no record points to
    /// it any more, so the caller frees it (else the last record's release does).
    pub(crate) fn orphan(&self) -> bool {
        let _held = self.lock();
        self.orphaned.store(true, Ordering::Relaxed);
        self.records_alive.load(Ordering::Relaxed) == 0
    }

    /// Forgets everything about the slot's previous chip (the caller holds the lock and the
    /// slot has no live placement).
    pub(crate) fn reset(&self) {
        self.reserved_now.store(0, Ordering::Relaxed);
        self.free_head.store(NO_FREE_ENTRY, Ordering::Relaxed);
        self.next_unused.store(0, Ordering::Relaxed);
        self.session.store(NO_SESSION, Ordering::Relaxed);
    }

    /// Records counted in the slot and not yet released.
    pub(crate) fn records_alive(&self) -> u64 {
        self.records_alive.load(Ordering::Relaxed)
    }
}

/// `counter += amount` by the slot's only writer (the caller holds the slot's lock).
#[inline]
fn bump(counter: &AtomicU64, amount: u64, order: Ordering) -> u64 {
    let value = counter.load(Ordering::Relaxed).wrapping_add(amount);
    counter.store(value, order);
    value
}

/// `counter -= amount` by the slot's only writer, never below zero.
#[inline]
fn drop_by(counter: &AtomicU64, amount: u64) {
    let value = counter.load(Ordering::Relaxed).saturating_sub(amount);
    counter.store(value, Ordering::Relaxed);
}

#[inline]
fn raise(peak: &AtomicU64, value: u64) {
    if value > peak.load(Ordering::Relaxed) {
        peak.store(value, Ordering::Relaxed);
    }
}

/// What one event counts: the figures shared by placement and release.
pub(crate) struct Counted<'a> {
    pub kind: MemKind,
    pub class: BankClass,
    pub id: AllocId,
    pub reserved: u64,
    pub payload: u64,
    pub share: &'a CoreShare,
    pub at_ns: u64,
}

/// What a placement lists in the live table besides its counted figures.
pub(crate) struct Listing<'a> {
    pub owner: &'a str,
    pub provenance: &'static Location<'static>,
    pub address: u64,
    pub first_bank: u32,
    pub banks: u32,
}

/// Counts a placement into `slot` and returns the live-table entry that lists it.
#[inline]
pub(crate) fn count_place(
    memory: &SegmentMemory,
    writer: &DeviceWriter,
    slot: usize,
    event: &Counted<'_>,
    listing: &Listing<'_>,
) -> u32 {
    let layout = memory.layout();
    let device = &layout.devices[slot];
    let counters = &device.kinds[event.kind.index()];
    let _writing = writer.write(device);
    bump(&writer.records_alive, 1, Ordering::Relaxed);
    let placed = bump(&counters.placed_reserved, event.reserved, Ordering::Relaxed);
    bump(&counters.placed_payload, event.payload, Ordering::Relaxed);
    bump(&counters.placed_count, 1, Ordering::Relaxed);
    raise(
        &counters.peak_reserved,
        placed.saturating_sub(counters.released_reserved.load(Ordering::Relaxed)),
    );
    let reserved_now = bump(&writer.reserved_now, event.reserved, Ordering::Relaxed);
    raise(&device.peak_reserved, reserved_now);
    // DRAM and Tensix payloads follow from the kinds; only Ethernet's must be kept apart.
    if event.class == BankClass::Ethernet {
        bump(
            &device.payload_by_class[BankClass::Ethernet as usize],
            event.payload,
            Ordering::Relaxed,
        );
    }
    share_cores(device, event.class, event.share, true);
    push_event(&layout.rings[slot], device, OP_PLACE, event);
    list_live(memory, slot, writer, device, event, listing)
}

/// Adds (or, on release, removes) a placement's per-core reservation.
#[inline]
fn share_cores(device: &DeviceRecord, class: BankClass, share: &CoreShare, add: bool) {
    let (every, cores): (&AtomicU64, &[AtomicU64]) = match class {
        BankClass::Dram => return,
        BankClass::Tensix => (&device.tensix_every_core_reserved, &device.tensix_core_reserved),
        BankClass::Ethernet => {
            (&device.ethernet_every_core_reserved, &device.ethernet_core_reserved)
        }
    };
    let apply = |counter: &AtomicU64, amount: u64| {
        if add {
            bump(counter, amount, Ordering::Relaxed);
        } else {
            drop_by(counter, amount);
        }
    };
    match share {
        CoreShare::None => {}
        CoreShare::EveryCore(per_core) => apply(every, *per_core),
        CoreShare::FirstCores { per_core, cores: count } => {
            for counter in cores.iter().take(*count as usize) {
                apply(counter, *per_core);
            }
        }
        CoreShare::Listed(listed) => {
            for &(core, bytes) in listed.iter() {
                if let Some(counter) = cores.get(core as usize) {
                    apply(counter, bytes);
                }
            }
        }
    }
}

/// How a release went.
pub(crate) enum Released {
    /// Counted; `last` when it was the last record of an orphaned slot, whose anchor the
    /// caller must now free.
    Counted {
        last: bool,
    },
    DoubleRelease,
}

/// Counts the release of a placement counted in `slot` and listed at `table_entry`.
#[inline]
pub(crate) fn count_release(
    layout: &SegmentLayout,
    writer: &DeviceWriter,
    slot: usize,
    table_entry: u32,
    event: &Counted<'_>,
) -> Released {
    let device = &layout.devices[slot];
    let _writing = writer.write(device);
    if table_entry == NO_TABLE_ENTRY {
        drop_by(&device.live_table_overflow, 1);
    } else {
        match layout.live[slot].get(table_entry as usize) {
            Some(entry) if entry.alloc_id.load(Ordering::Relaxed) == event.id.get() => {
                entry.alloc_id.store(0, Ordering::Relaxed);
                entry
                    .next_free
                    .store(u64::from(writer.free_head.load(Ordering::Relaxed)), Ordering::Relaxed);
                writer.free_head.store(table_entry, Ordering::Relaxed);
            }
            _ => {
                bump(&device.double_releases, 1, Ordering::Relaxed);
                return Released::DoubleRelease;
            }
        }
    }
    let counters = &device.kinds[event.kind.index()];
    bump(&counters.released_reserved, event.reserved, Ordering::Relaxed);
    bump(&counters.released_payload, event.payload, Ordering::Relaxed);
    bump(&counters.released_count, 1, Ordering::Relaxed);
    drop_by(&writer.reserved_now, event.reserved);
    if event.class == BankClass::Ethernet {
        drop_by(&device.payload_by_class[BankClass::Ethernet as usize], event.payload);
    }
    share_cores(device, event.class, event.share, false);
    push_event(&layout.rings[slot], device, OP_RELEASE, event);
    drop_by(&writer.records_alive, 1);
    let last = writer.orphaned.load(Ordering::Relaxed)
        && writer.records_alive.load(Ordering::Relaxed) == 0;
    Released::Counted { last }
}

/// The integrity counters a device slot keeps.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IntegrityError {
    ForeignPlacement,
    InheritedUse,
    SessionRefusal,
}

/// Counts an integrity error on a device without touching its totals.
pub(crate) fn count_integrity_error(
    writer: &DeviceWriter,
    device: &DeviceRecord,
    error: IntegrityError,
) {
    let _writing = writer.write(device);
    let counter = match error {
        IntegrityError::ForeignPlacement => &device.foreign_placements,
        IntegrityError::InheritedUse => &device.inherited_uses,
        IntegrityError::SessionRefusal => &device.session_refusals,
    };
    bump(counter, 1, Ordering::Relaxed);
}

/// Sets every peak of a device back to its current figure.
pub(crate) fn reset_peaks(writer: &DeviceWriter, device: &DeviceRecord) {
    let _writing = writer.write(device);
    for counters in &device.kinds {
        let reserved = counters.placed_reserved.load(Ordering::Relaxed);
        let released = counters.released_reserved.load(Ordering::Relaxed);
        counters.peak_reserved.store(reserved.saturating_sub(released), Ordering::Relaxed);
    }
    device.peak_reserved.store(writer.reserved_now.load(Ordering::Relaxed), Ordering::Relaxed);
}

/// Publishes one bank type's free-space figures (a seqlock: readers retry or skip a record
/// whose `seq` is odd or changed while they read).
pub(crate) fn publish_health(writer: &DeviceWriter, device: &DeviceRecord, health: &BankHealth) {
    let Some(record) = device.health.get(health.bank_type.index()) else { return };
    let _held = writer.lock();
    let seq = record.seq.load(Ordering::Relaxed);
    let writing = seq | 1;
    record.seq.store(writing, Ordering::Relaxed);
    fence(Ordering::Release);
    record.banks.store(u64::from(health.banks), Ordering::Relaxed);
    record.bank_size.store(health.bank_size, Ordering::Relaxed);
    record.free_per_bank.store(health.free_per_bank, Ordering::Relaxed);
    record.largest_free_per_bank.store(health.largest_free_per_bank, Ordering::Relaxed);
    record.free_blocks.store(health.free_blocks, Ordering::Relaxed);
    record.allocated_blocks.store(health.allocated_blocks, Ordering::Relaxed);
    record.seq.store(writing + 1, Ordering::Release);
}

#[inline]
fn push_event(
    ring: &[RingEntry; RING_CAPACITY],
    device: &DeviceRecord,
    op: u64,
    event: &Counted<'_>,
) {
    let number = device.events_written.load(Ordering::Relaxed);
    let entry = &ring[(number % RING_CAPACITY as u64) as usize];
    entry.alloc_id.store(event.id.get(), Ordering::Relaxed);
    entry.reserved.store(event.reserved, Ordering::Relaxed);
    entry.payload.store(event.payload, Ordering::Relaxed);
    let meta = op | (event.kind.index() as u64) << 8 | (event.class as u64) << 16;
    entry.meta.store(meta, Ordering::Relaxed);
    entry.at_ns.store(event.at_ns, Ordering::Relaxed);
    entry.seq.store(number + 1, Ordering::Relaxed);
    device.events_written.store(number + 1, Ordering::Relaxed);
}

/// Takes a free live-table entry: the most recently freed one, else one never used.
#[inline]
fn take_entry(
    memory: &SegmentMemory,
    slot: usize,
    writer: &DeviceWriter,
    device: &DeviceRecord,
) -> Option<usize> {
    let table = &memory.layout().live[slot];
    let head = writer.free_head.load(Ordering::Relaxed);
    if let Some(entry) = table.get(head as usize) {
        let next = u32::try_from(entry.next_free.load(Ordering::Relaxed)).unwrap_or(NO_FREE_ENTRY);
        writer.free_head.store(next, Ordering::Relaxed);
        return Some(head as usize);
    }
    let unused = writer.next_unused.load(Ordering::Relaxed);
    let backed = writer.backed.load(Ordering::Relaxed);
    if unused >= backed
        && (unused as usize) < LIVE_TABLE_CAPACITY
        && !writer.backing_refused.load(Ordering::Relaxed)
    {
        // A new chunk of the table: reserve its pages before the first store (cold, once
        // per chunk of about 370 entries over the slot's life).
        let now = memory.reserve_live(slot, backed, unused + 1);
        writer.backed.store(now, Ordering::Relaxed);
        writer.backing_refused.store(now <= unused, Ordering::Relaxed);
    }
    if unused < writer.backed.load(Ordering::Relaxed) {
        writer.next_unused.store(unused + 1, Ordering::Relaxed);
        device.live_table_high_water.store(u64::from(unused) + 1, Ordering::Relaxed);
        return Some(unused as usize);
    }
    None
}

#[inline]
fn list_live(
    memory: &SegmentMemory,
    slot: usize,
    writer: &DeviceWriter,
    device: &DeviceRecord,
    event: &Counted<'_>,
    listing: &Listing<'_>,
) -> u32 {
    let Some(index) = take_entry(memory, slot, writer, device) else {
        bump(&device.live_table_overflow, 1, Ordering::Relaxed);
        return NO_TABLE_ENTRY;
    };
    let entry = &memory.layout().live[slot][index];
    let owner = prefix_within(listing.owner, OWNER_BYTES);
    let file = suffix_within(listing.provenance.file(), FILE_BYTES);
    let flags = if owner.len() < listing.owner.len() { FLAG_OWNER_CUT } else { 0 }
        | if file.len() < listing.provenance.file().len() { FLAG_FILE_CUT } else { 0 };
    let meta = event.kind.index() as u64
        | (event.class as u64) << 8
        | flags << 16
        | u64::from(listing.provenance.line()) << 32;
    entry.meta.store(meta, Ordering::Relaxed);
    entry.payload.store(event.payload, Ordering::Relaxed);
    entry.reserved.store(event.reserved, Ordering::Relaxed);
    entry.addr.store(listing.address, Ordering::Relaxed);
    entry
        .banks
        .store(u64::from(listing.first_bank) | u64::from(listing.banks) << 32, Ordering::Relaxed);
    entry.placed_at_ns.store(event.at_ns, Ordering::Relaxed);
    store_bytes(&entry.owner, owner.as_bytes());
    store_bytes(&entry.file, file.as_bytes());
    entry.alloc_id.store(event.id.get(), Ordering::Relaxed);
    // LIVE_TABLE_CAPACITY is 32,768, so indices fit in a u32.
    index as u32
}
