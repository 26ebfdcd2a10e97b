//! What a reader sees of one process: decoded, owned copies of a segment's counters, recent
//! events and live records.

use std::path::PathBuf;
use std::sync::atomic::{fence, Ordering};

use tt_alloc::tracker::MemKind;
use tt_soc::ChipUid;

use crate::record::AllocId;
use crate::segment::layout::{
    load_string, DeviceRecord, KindCounters, LiveEntry, RingEntry, SegmentLayout, ENTRY_BUSY,
    OP_PLACE, OP_RELEASE, RING_CAPACITY, SLOT_EMPTY, SLOT_OPEN,
};
use crate::tracker::DeviceCapacity;

/// Usage of one memory kind on one device by one process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindUsage {
    /// Bytes placed and not yet released.
    pub current_bytes: u64,
    /// Highest `current_bytes` seen by the writer.
    pub peak_bytes: u64,
    /// Placements not yet released.
    pub live_count: u64,
    /// Bytes ever placed.
    pub placed_bytes: u64,
    /// Bytes ever released.
    pub released_bytes: u64,
    /// Placements ever made.
    pub placed_count: u64,
    /// Releases ever made.
    pub released_count: u64,
}

/// Integrity errors counted on a device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntegrityCounts {
    /// Releases of records this tracker never issued.
    pub unknown_releases: u64,
    /// Releases of records already released.
    pub double_releases: u64,
}

impl IntegrityCounts {
    /// All integrity errors.
    pub fn total(&self) -> u64 {
        self.unknown_releases.saturating_add(self.double_releases)
    }
}

/// Whether a ring event placed or released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerOp {
    /// Bytes placed.
    Place,
    /// Bytes released.
    Release,
}

/// One recent event from a segment's ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerEvent {
    /// Event number on its device (0 is the device's first event).
    pub number: u64,
    /// Place or release.
    pub op: LedgerOp,
    /// The memory kind.
    pub kind: MemKind,
    /// The allocation.
    pub id: AllocId,
    /// Bytes placed or released.
    pub bytes: u64,
}

/// A placement still live, for leak listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRecord {
    /// The allocation.
    pub id: AllocId,
    /// The memory kind.
    pub kind: MemKind,
    /// Bytes placed.
    pub bytes: u64,
    /// The owner, truncated to the ledger's field width.
    pub owner: String,
    /// Source file of the placement (its tail, if long).
    pub file: String,
    /// Source line of the placement.
    pub line: u32,
}

impl LiveRecord {
    /// `file:line`.
    pub fn provenance(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// One device as one process uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceView {
    /// The chip.
    pub uid: ChipUid,
    /// Architecture name as registered (`wormhole_b0`, `blackhole`, `unknown`).
    pub arch: String,
    /// Capacity figures supplied at registration.
    pub capacity: DeviceCapacity,
    /// False once the process closed (unregistered) the device.
    pub open: bool,
    /// Usage per kind, indexed by [`MemKind::index`].
    pub kinds: [KindUsage; MemKind::COUNT],
    /// Highest total current bytes seen by the writer.
    pub peak_bytes: u64,
    /// Integrity errors.
    pub integrity: IntegrityCounts,
    /// Events ever written to the ring.
    pub events_written: u64,
    /// Events overwritten before this read (the ring keeps the most recent ones).
    pub events_dropped: u64,
    /// The most recent events, oldest first.
    pub recent_events: Vec<LedgerEvent>,
    /// Live placements listed in the ledger's table.
    pub live_records: Vec<LiveRecord>,
    /// Placements that found the live table full (counted, but not listed).
    pub live_records_overflow: u64,
}

impl DeviceView {
    /// Usage of one kind.
    pub fn kind(&self, kind: MemKind) -> &KindUsage {
        &self.kinds[kind.index()]
    }

    /// Current bytes over all kinds.
    pub fn current_bytes(&self) -> u64 {
        self.kinds.iter().fold(0, |sum, k| sum.saturating_add(k.current_bytes))
    }

    /// Live placements over all kinds.
    pub fn live_count(&self) -> u64 {
        self.kinds.iter().fold(0, |sum, k| sum.saturating_add(k.live_count))
    }
}

/// One process's ledger as a reader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessView {
    /// The pid holding the segment's lock (kernel-attested), or our own pid for our own
    /// segment.
    pub pid: u32,
    /// The pid the segment's header claims; differs from `pid` only if the writer lies.
    pub claimed_pid: u64,
    /// Process start time in clock ticks since boot.
    pub start_time_ticks: u64,
    /// Command name.
    pub command: String,
    /// The segment file (None for a tracker without a ledger).
    pub segment: Option<PathBuf>,
    /// True when this is the reading process's own segment, read through its mapping.
    pub is_self: bool,
    /// Registered devices.
    pub devices: Vec<DeviceView>,
    /// Integrity errors that name no device of this segment.
    pub unattributed_integrity_errors: u64,
}

impl ProcessView {
    /// The view of one device, if the process registered it.
    pub fn device(&self, uid: ChipUid) -> Option<&DeviceView> {
        self.devices.iter().find(|d| d.uid == uid)
    }

    /// All integrity errors of the process.
    pub fn integrity_errors(&self) -> u64 {
        self.devices.iter().fold(self.unattributed_integrity_errors, |sum, d| {
            sum.saturating_add(d.integrity.total())
        })
    }
}

/// Decodes a mapped segment into an owned view attributed to `pid`.
pub(crate) fn decode_process(
    layout: &SegmentLayout,
    pid: u32,
    segment: Option<PathBuf>,
    is_self: bool,
) -> ProcessView {
    let header = &layout.header;
    let devices = layout
        .devices
        .iter()
        .zip(layout.rings.iter().zip(layout.live.iter()))
        .filter_map(|(device, (ring, live))| decode_device(device, ring, live))
        .collect();
    ProcessView {
        pid,
        claimed_pid: header.claimed_pid.load(Ordering::Relaxed),
        start_time_ticks: header.start_time_ticks.load(Ordering::Relaxed),
        command: load_string(&header.command),
        segment,
        is_self,
        devices,
        unattributed_integrity_errors: header.unattributed_integrity_errors.load(Ordering::Relaxed),
    }
}

fn decode_device(
    device: &DeviceRecord,
    ring: &[RingEntry],
    live: &[LiveEntry],
) -> Option<DeviceView> {
    let state = device.state.load(Ordering::Acquire);
    if state == SLOT_EMPTY {
        return None;
    }
    let kinds = std::array::from_fn(|i| decode_kind(&device.kinds[i]));
    let events_written = device.events_written.load(Ordering::Acquire);
    Some(DeviceView {
        uid: ChipUid(device.chip_uid.load(Ordering::Relaxed)),
        arch: load_string(&device.arch),
        capacity: DeviceCapacity {
            dram_bytes: device.dram_bytes.load(Ordering::Relaxed),
            l1_bytes_total: device.l1_bytes_total.load(Ordering::Relaxed),
            l1_bytes_per_core: device.l1_bytes_per_core.load(Ordering::Relaxed),
            core_count: device.core_count.load(Ordering::Relaxed),
        },
        open: state == SLOT_OPEN,
        kinds,
        peak_bytes: device.peak_bytes.load(Ordering::Relaxed),
        integrity: IntegrityCounts {
            unknown_releases: device.unknown_releases.load(Ordering::Relaxed),
            double_releases: device.double_releases.load(Ordering::Relaxed),
        },
        events_written,
        events_dropped: events_written.saturating_sub(RING_CAPACITY as u64),
        recent_events: decode_ring(ring, events_written),
        live_records: {
            let mut records = decode_live(live);
            records.sort_by_key(|r| r.id);
            records
        },
        live_records_overflow: device.live_table_overflow.load(Ordering::Relaxed),
    })
}

fn decode_kind(counters: &KindCounters) -> KindUsage {
    // Released before placed, with acquire: every release seen has its placement seen too,
    // so current never goes below zero mid-stream.
    let released_count = counters.released_count.load(Ordering::Acquire);
    let released_bytes = counters.released_bytes.load(Ordering::Acquire);
    let placed_count = counters.placed_count.load(Ordering::Acquire);
    let placed_bytes = counters.placed_bytes.load(Ordering::Acquire);
    KindUsage {
        current_bytes: placed_bytes.saturating_sub(released_bytes),
        peak_bytes: counters.peak_bytes.load(Ordering::Relaxed),
        live_count: placed_count.saturating_sub(released_count),
        placed_bytes,
        released_bytes,
        placed_count,
        released_count,
    }
}

fn decode_ring(ring: &[RingEntry], events_written: u64) -> Vec<LedgerEvent> {
    let capacity = ring.len() as u64;
    let first = events_written.saturating_sub(capacity);
    (first..events_written)
        .filter_map(|number| {
            let entry = ring.get((number % capacity) as usize)?;
            let seq = entry.seq.load(Ordering::Acquire);
            if seq != number + 1 {
                return None;
            }
            let id = entry.alloc_id.load(Ordering::Relaxed);
            let bytes = entry.bytes.load(Ordering::Relaxed);
            let meta = entry.meta.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if entry.seq.load(Ordering::Relaxed) != seq {
                return None;
            }
            let op = match meta & 0xff {
                OP_PLACE => LedgerOp::Place,
                OP_RELEASE => LedgerOp::Release,
                _ => return None,
            };
            let kind = *MemKind::ALL.get(((meta >> 8) & 0xff) as usize)?;
            Some(LedgerEvent { number, op, kind, id: AllocId::from_raw(id), bytes })
        })
        .collect()
}

fn decode_live(table: &[LiveEntry]) -> Vec<LiveRecord> {
    table
        .iter()
        .filter_map(|entry| {
            let id = entry.alloc_id.load(Ordering::Acquire);
            if id == 0 || id == ENTRY_BUSY {
                return None;
            }
            let meta = entry.meta.load(Ordering::Relaxed);
            let bytes = entry.bytes.load(Ordering::Relaxed);
            let owner = load_string(&entry.owner);
            let file = load_string(&entry.file);
            fence(Ordering::Acquire);
            if entry.alloc_id.load(Ordering::Relaxed) != id {
                return None;
            }
            let kind = *MemKind::ALL.get((meta & 0xff) as usize)?;
            Some(LiveRecord {
                id: AllocId::from_raw(id),
                kind,
                bytes,
                owner,
                file,
                line: (meta >> 32) as u32,
            })
        })
        .collect()
}
