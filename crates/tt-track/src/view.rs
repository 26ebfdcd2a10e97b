//! What a reader sees of one process: decoded, owned copies of a segment's counters, per-core
//! figures, allocator health, recent events and live records.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use tt_accounting::{BankClass, BankHealth, BankType, MemKind};
use tt_soc::ChipUid;

use crate::clock::coarse_now_ns;
use crate::devices::DeviceCapacity;
use crate::record::AllocId;
use crate::segment::layout::{
    load_coord, load_string, DeviceRecord, HealthRecord, KindCounters, LiveEntry, RingEntry,
    SegmentHeader, FLAG_FILE_CUT, FLAG_OWNER_CUT, LIVE_TABLE_CAPACITY, MAX_DEVICES,
    MAX_ETHERNET_CORES, MAX_TENSIX_CORES, OP_PLACE, OP_RELEASE, RING_CAPACITY, SLOT_EMPTY,
    SLOT_OPEN,
};

/// Usage of one memory kind on one device by one process. "Used" is reserved: every byte
/// removed from the chip's free pools; payload is what owners asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindUsage {
    /// Reserved bytes now.
    pub used_bytes: u64,
    /// Payload bytes now.
    pub payload_bytes: u64,
    /// Highest `used_bytes` since the process started (or since its last peak reset).
    pub peak_used_bytes: u64,
    /// Placements not yet released.
    pub live_count: u64,
    /// Placements ever made.
    pub placed_count: u64,
    /// Releases ever made.
    pub released_count: u64,
    /// Reserved bytes ever placed.
    pub placed_bytes: u64,
    /// Reserved bytes ever released.
    pub released_bytes: u64,
}

/// Integrity errors counted on a device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntegrityCounts {
    /// Releases of records already released (or whose ledger entry was overwritten).
    pub double_releases: u64,
    /// Placements refused because they named another tracker's slot, a closed device or
    /// another chip.
    pub foreign_placements: u64,
    /// Handles inherited from a parent process used in a forked child.
    pub inherited_uses: u64,
    /// Requests refused because only the chip's device session may make them: a second
    /// allocator on a held chip, a SYSTEM or RESERVED placement by user code, a change of a
    /// registered chip's identity.
    pub session_refusals: u64,
    /// Figures no writer could have produced (more released than placed, more used than the
    /// device holds), found by the reader: the segment is corrupt or forged.
    pub impossible_figures: u64,
    /// Processes that registered this chip id with another architecture or capacity than the
    /// first one the reader met: two chips under one id, which a monitor never merges
    /// silently. Found by the reader.
    pub conflicting_identities: u64,
}

impl IntegrityCounts {
    /// All integrity errors.
    pub fn total(&self) -> u64 {
        self.double_releases
            .saturating_add(self.foreign_placements)
            .saturating_add(self.inherited_uses)
            .saturating_add(self.session_refusals)
            .saturating_add(self.impossible_figures)
            .saturating_add(self.conflicting_identities)
    }

    /// Adds `other` into `self`, saturating.
    pub fn add(&mut self, other: &IntegrityCounts) {
        self.double_releases = self.double_releases.saturating_add(other.double_releases);
        self.foreign_placements = self.foreign_placements.saturating_add(other.foreign_placements);
        self.inherited_uses = self.inherited_uses.saturating_add(other.inherited_uses);
        self.session_refusals = self.session_refusals.saturating_add(other.session_refusals);
        self.impossible_figures = self.impossible_figures.saturating_add(other.impossible_figures);
        self.conflicting_identities =
            self.conflicting_identities.saturating_add(other.conflicting_identities);
    }
}

/// Now on the clock the ledger's times are written with (`LedgerEvent::at_ns`,
/// `LiveRecord::placed_at_ns`: CLOCK_MONOTONIC_COARSE in nanoseconds, 0 if unreadable), so a
/// reader can place its own samples on the same time line.
pub fn ledger_clock_ns() -> u64 {
    coarse_now_ns()
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
    /// Which banks it is in.
    pub class: BankClass,
    /// The allocation.
    pub id: AllocId,
    /// Reserved bytes placed or released.
    pub bytes: u64,
    /// Payload bytes placed or released.
    pub payload_bytes: u64,
    /// CLOCK_MONOTONIC (coarse) nanoseconds when it was recorded.
    pub at_ns: u64,
}

/// A placement still live, for leak listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRecord {
    /// The allocation.
    pub id: AllocId,
    /// The memory kind.
    pub kind: MemKind,
    /// Which banks it is in.
    pub class: BankClass,
    /// Reserved bytes.
    pub bytes: u64,
    /// Payload bytes.
    pub payload_bytes: u64,
    /// Address in each bank (the lowest, for placements on listed cores).
    pub address: u64,
    /// First bank (or core) index it covers.
    pub first_bank: u32,
    /// Banks (or cores) it covers.
    pub banks: u32,
    /// CLOCK_MONOTONIC (coarse) nanoseconds at placement.
    pub placed_at_ns: u64,
    /// The owner, cut to the ledger's field width when `owner_cut`.
    pub owner: String,
    /// True when the owner was longer than the ledger keeps.
    pub owner_cut: bool,
    /// Source file of the placement (its tail, when `file_cut`).
    pub file: String,
    /// True when the file path was longer than the ledger keeps.
    pub file_cut: bool,
    /// Source line of the placement.
    pub line: u32,
}

impl LiveRecord {
    /// `file:line`, with `…` where the path was cut.
    pub fn provenance(&self) -> String {
        let cut = if self.file_cut { "…" } else { "" };
        format!("{cut}{}:{}", self.file, self.line)
    }

    /// Nanoseconds since the placement (0 if its clock reading was unavailable).
    pub fn age_ns(&self) -> u64 {
        if self.placed_at_ns == 0 {
            return 0;
        }
        coarse_now_ns().saturating_sub(self.placed_at_ns)
    }

    /// The owner, with `…` where it was cut.
    pub fn owner_display(&self) -> String {
        if self.owner_cut {
            format!("{}…", self.owner)
        } else {
            self.owner.clone()
        }
    }
}

/// L1 reserved on one core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreUsage {
    /// NOC0 column (0 when the registration gave no positions).
    pub x: u8,
    /// NOC0 row.
    pub y: u8,
    /// Reserved bytes on the core.
    pub used_bytes: u64,
}

/// Minimum, mean and maximum of a per-core figure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoreSpread {
    /// The emptiest core.
    pub min: u64,
    /// Mean over cores (rounded down).
    pub mean: u64,
    /// The fullest core.
    pub max: u64,
}

impl CoreSpread {
    /// The spread of `cores`' used bytes; all zero for no cores.
    pub fn of(cores: &[CoreUsage]) -> CoreSpread {
        let Some(min) = cores.iter().map(|c| c.used_bytes).min() else {
            return CoreSpread::default();
        };
        let max = cores.iter().map(|c| c.used_bytes).max().unwrap_or(0);
        let sum = cores.iter().fold(0u128, |s, c| s + u128::from(c.used_bytes));
        let mean = u64::try_from(sum / cores.len() as u128).unwrap_or(u64::MAX);
        CoreSpread { min, mean, max }
    }
}

/// One device as one process uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceView {
    /// The chip.
    pub uid: ChipUid,
    /// Architecture name as registered (`wormhole_b0`, `blackhole`, `unknown`).
    pub arch: String,
    /// The spec it was opened with; empty when unknown.
    pub spec: String,
    /// Capacity figures supplied at registration.
    pub capacity: DeviceCapacity,
    /// False once the process closed (unregistered) the device.
    pub open: bool,
    /// True when the process changed the device's figures during every try of this read: the
    /// view then carries its identity only, every figure 0, and a monitor must say so rather
    /// than show them (see the README's "what a reader guarantees").
    pub busy: bool,
    /// Usage per kind, indexed by [`MemKind::index`].
    pub kinds: [KindUsage; MemKind::COUNT],
    /// Highest total used (reserved) bytes since the process started or its peak reset.
    pub peak_used_bytes: u64,
    /// Integrity errors.
    pub integrity: IntegrityCounts,
    /// Payload bytes now per bank class, indexed by `BankClass as usize`.
    pub payload_by_class: [u64; 3],
    /// Reserved L1 of every usable Tensix core, in L1 bank order.
    pub tensix_cores: Vec<CoreUsage>,
    /// Reserved L1 of every Ethernet core.
    pub ethernet_cores: Vec<CoreUsage>,
    /// Allocator free-space figures per bank type, as published by this process.
    pub health: Vec<BankHealth>,
    /// Events ever written to the ring.
    pub events_written: u64,
    /// Events overwritten before this read (the ring keeps the most recent ones).
    pub events_dropped: u64,
    /// The most recent events, oldest first.
    pub recent_events: Vec<LedgerEvent>,
    /// Every live placement the ledger lists.
    pub live_records: Vec<LiveRecord>,
    /// Live placements that found the table full and are not listed (exact).
    pub live_records_not_listed: u64,
}

impl DeviceView {
    /// Usage of one kind.
    pub fn kind(&self, kind: MemKind) -> &KindUsage {
        &self.kinds[kind.index()]
    }

    /// Used (reserved) bytes over all kinds.
    pub fn used_bytes(&self) -> u64 {
        self.kinds.iter().fold(0, |sum, k| sum.saturating_add(k.used_bytes))
    }

    /// Payload bytes over all kinds.
    pub fn payload_bytes(&self) -> u64 {
        self.kinds.iter().fold(0, |sum, k| sum.saturating_add(k.payload_bytes))
    }

    /// Live placements over all kinds.
    pub fn live_count(&self) -> u64 {
        self.kinds.iter().fold(0, |sum, k| sum.saturating_add(k.live_count))
    }

    /// The published health of one bank type.
    pub fn bank_health(&self, bank_type: BankType) -> Option<&BankHealth> {
        self.health.iter().find(|h| h.bank_type == bank_type)
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

/// The parts of a segment a reader decodes: a private copy (see `segment::copy`) in which
/// each device slot is one state its writer had, each live table cut at its high-water mark,
/// and `busy` marks the slots whose writer changed them during every try.
pub(crate) struct SegmentParts<'a> {
    pub header: &'a SegmentHeader,
    pub devices: &'a [DeviceRecord; MAX_DEVICES],
    pub rings: &'a [[RingEntry; RING_CAPACITY]; MAX_DEVICES],
    pub live: [&'a [LiveEntry]; MAX_DEVICES],
    pub busy: [bool; MAX_DEVICES],
}

/// Decodes the parts of a segment into an owned view attributed to `pid`.
pub(crate) fn decode_parts(
    parts: SegmentParts<'_>,
    pid: u32,
    segment: Option<PathBuf>,
    is_self: bool,
) -> ProcessView {
    let header = parts.header;
    let devices = (0..MAX_DEVICES)
        .filter_map(|i| {
            let device = &parts.devices[i];
            if parts.busy[i] {
                busy_device(device)
            } else {
                decode_device(device, &parts.rings[i], parts.live[i])
            }
        })
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

/// A slot its writer kept changing during every try of the read: its identity only, marked
/// busy, with no figure (a figure from a torn copy would be a state that never existed).
fn busy_device(device: &DeviceRecord) -> Option<DeviceView> {
    let state = device.state.load(Ordering::Relaxed);
    if state == SLOT_EMPTY {
        return None;
    }
    Some(DeviceView {
        uid: ChipUid(load(&device.chip_uid)),
        arch: load_string(&device.arch),
        spec: load_string(&device.spec),
        capacity: DeviceCapacity::default(),
        open: state == SLOT_OPEN,
        busy: true,
        kinds: [KindUsage::default(); MemKind::COUNT],
        peak_used_bytes: 0,
        integrity: IntegrityCounts::default(),
        payload_by_class: [0; 3],
        tensix_cores: Vec::new(),
        ethernet_cores: Vec::new(),
        health: Vec::new(),
        events_written: 0,
        events_dropped: 0,
        recent_events: Vec::new(),
        live_records: Vec::new(),
        live_records_not_listed: 0,
    })
}

fn load(word: &AtomicU64) -> u64 {
    word.load(Ordering::Relaxed)
}

fn decode_device(
    device: &DeviceRecord,
    ring: &[RingEntry],
    live: &[LiveEntry],
) -> Option<DeviceView> {
    let state = device.state.load(Ordering::Relaxed);
    if state == SLOT_EMPTY {
        return None;
    }
    let kinds: [KindUsage; MemKind::COUNT] = std::array::from_fn(|i| decode_kind(&device.kinds[i]));
    let events_written = device.events_written.load(Ordering::Relaxed);
    let capacity = DeviceCapacity {
        dram_bytes: load(&device.dram_bytes),
        dram_banks: load(&device.dram_banks),
        tensix_l1_per_core: load(&device.tensix_l1_per_core),
        tensix_cores: load(&device.tensix_cores),
        ethernet_l1_per_core: load(&device.ethernet_l1_per_core),
        ethernet_cores: load(&device.ethernet_cores),
    };
    let tensix_cores = decode_cores(
        &device.tensix_coords,
        &device.tensix_core_reserved,
        load(&device.tensix_every_core_reserved),
        capacity.tensix_cores.min(MAX_TENSIX_CORES as u64) as usize,
    );
    let ethernet_cores = decode_cores(
        &device.ethernet_coords,
        &device.ethernet_core_reserved,
        load(&device.ethernet_every_core_reserved),
        capacity.ethernet_cores.min(MAX_ETHERNET_CORES as u64) as usize,
    );
    // A hostile or corrupt segment cannot make the reader scan past the table.
    let listed = load(&device.live_table_high_water).min(LIVE_TABLE_CAPACITY as u64) as usize;
    let mut live_records = decode_live(&live[..listed.min(live.len())]);
    live_records.sort_by_key(|r| r.id);
    Some(DeviceView {
        uid: ChipUid(load(&device.chip_uid)),
        arch: load_string(&device.arch),
        spec: load_string(&device.spec),
        capacity,
        open: state == SLOT_OPEN,
        busy: false,
        kinds,
        peak_used_bytes: load(&device.peak_reserved),
        integrity: IntegrityCounts {
            double_releases: load(&device.double_releases),
            foreign_placements: load(&device.foreign_placements),
            inherited_uses: load(&device.inherited_uses),
            session_refusals: load(&device.session_refusals),
            impossible_figures: impossible_figures(&kinds, &capacity),
            conflicting_identities: 0,
        },
        payload_by_class: payload_by_class(&kinds, load(&device.payload_by_class[2])),
        tensix_cores,
        ethernet_cores,
        health: device.health.iter().enumerate().filter_map(decode_health).collect(),
        events_written,
        events_dropped: events_written.saturating_sub(RING_CAPACITY as u64),
        recent_events: decode_ring(ring, events_written),
        live_records,
        live_records_not_listed: load(&device.live_table_overflow),
    })
}

/// One figure summed over the L1 kinds (`l1`) or the DRAM kinds, saturating.
fn sum_kinds(
    kinds: &[KindUsage; MemKind::COUNT],
    l1: bool,
    figure: impl Fn(&KindUsage) -> u64,
) -> u64 {
    MemKind::ALL
        .iter()
        .filter(|k| k.is_l1() == l1)
        .fold(0u64, |s, k| s.saturating_add(figure(&kinds[k.index()])))
}

/// Payload now per bank class: DRAM holds the DRAM and TRACE kinds, Ethernet cores what the
/// writer counted apart, and Tensix cores the rest of the L1 kinds.
fn payload_by_class(kinds: &[KindUsage; MemKind::COUNT], ethernet: u64) -> [u64; 3] {
    let sum = |l1| sum_kinds(kinds, l1, |k| k.payload_bytes);
    [sum(false), sum(true).saturating_sub(ethernet), ethernet]
}

/// Figures a writer cannot produce: a release of more than was placed, or more DRAM or L1 in
/// use than the device holds (when its capacity is known).
fn impossible_figures(kinds: &[KindUsage; MemKind::COUNT], capacity: &DeviceCapacity) -> u64 {
    let over_released = kinds
        .iter()
        .filter(|k| k.released_bytes > k.placed_bytes || k.released_count > k.placed_count)
        .count() as u64;
    let sum = |l1| sum_kinds(kinds, l1, |k| k.used_bytes);
    let l1_capacity = capacity.tensix_l1_bytes().saturating_add(capacity.ethernet_l1_bytes());
    let over_dram = capacity.dram_bytes > 0 && sum(false) > capacity.dram_bytes;
    let over_l1 = l1_capacity > 0 && sum(true) > l1_capacity;
    over_released + u64::from(over_dram) + u64::from(over_l1)
}

fn decode_cores(
    coords: &[AtomicU64],
    extra: &[AtomicU64],
    every_core: u64,
    count: usize,
) -> Vec<CoreUsage> {
    (0..count)
        .map(|i| {
            let (x, y) = load_coord(coords, i).unwrap_or((0, 0));
            let used = every_core.saturating_add(extra.get(i).map_or(0, load));
            CoreUsage { x, y, used_bytes: used }
        })
        .collect()
}

fn decode_kind(counters: &KindCounters) -> KindUsage {
    let released_count = load(&counters.released_count);
    let released_payload = load(&counters.released_payload);
    let released_bytes = load(&counters.released_reserved);
    let placed_count = load(&counters.placed_count);
    let placed_payload = load(&counters.placed_payload);
    let placed_bytes = load(&counters.placed_reserved);
    KindUsage {
        used_bytes: placed_bytes.saturating_sub(released_bytes),
        payload_bytes: placed_payload.saturating_sub(released_payload),
        peak_used_bytes: load(&counters.peak_reserved),
        live_count: placed_count.saturating_sub(released_count),
        placed_count,
        released_count,
        placed_bytes,
        released_bytes,
    }
}

/// A published health record of a private copy (copied under its own sequence word);
/// `None` when never published or still mid-update after the copier's tries (odd).
fn decode_health((index, record): (usize, &HealthRecord)) -> Option<BankHealth> {
    let bank_type = BankType::from_index(index)?;
    let seq = load(&record.seq);
    if seq == 0 || seq % 2 == 1 {
        return None;
    }
    Some(BankHealth {
        bank_type,
        banks: u32::try_from(load(&record.banks)).unwrap_or(u32::MAX),
        bank_size: load(&record.bank_size),
        free_per_bank: load(&record.free_per_bank),
        largest_free_per_bank: load(&record.largest_free_per_bank),
        free_blocks: load(&record.free_blocks),
        allocated_blocks: load(&record.allocated_blocks),
    })
}

fn decode_ring(ring: &[RingEntry], events_written: u64) -> Vec<LedgerEvent> {
    let capacity = ring.len() as u64;
    let first = events_written.saturating_sub(capacity);
    (first..events_written)
        .filter_map(|number| {
            let entry = ring.get((number % capacity) as usize)?;
            // An entry overwritten by a later event (or never written) is not this one.
            if load(&entry.seq) != number + 1 {
                return None;
            }
            let id = load(&entry.alloc_id);
            let bytes = load(&entry.reserved);
            let payload_bytes = load(&entry.payload);
            let meta = load(&entry.meta);
            let at_ns = load(&entry.at_ns);
            let op = match meta & 0xff {
                OP_PLACE => LedgerOp::Place,
                OP_RELEASE => LedgerOp::Release,
                _ => return None,
            };
            let kind = MemKind::from_index(((meta >> 8) & 0xff) as usize)?;
            let class = BankClass::from_index(((meta >> 16) & 0xff) as usize)?;
            Some(LedgerEvent {
                number,
                op,
                kind,
                class,
                id: AllocId::from_raw(id),
                bytes,
                payload_bytes,
                at_ns,
            })
        })
        .collect()
}

fn decode_live(table: &[LiveEntry]) -> Vec<LiveRecord> {
    table
        .iter()
        .filter_map(|entry| {
            let id = load(&entry.alloc_id);
            if id == 0 {
                return None;
            }
            let meta = load(&entry.meta);
            let payload_bytes = load(&entry.payload);
            let bytes = load(&entry.reserved);
            let address = load(&entry.addr);
            let banks = load(&entry.banks);
            let placed_at_ns = load(&entry.placed_at_ns);
            let owner = load_string(&entry.owner);
            let file = load_string(&entry.file);
            let kind = MemKind::from_index((meta & 0xff) as usize)?;
            let class = BankClass::from_index(((meta >> 8) & 0xff) as usize)?;
            let flags = (meta >> 16) & 0xff;
            Some(LiveRecord {
                id: AllocId::from_raw(id),
                kind,
                class,
                bytes,
                payload_bytes,
                address,
                first_bank: banks as u32,
                banks: (banks >> 32) as u32,
                placed_at_ns,
                owner,
                owner_cut: flags & FLAG_OWNER_CUT != 0,
                file,
                file_cut: flags & FLAG_FILE_CUT != 0,
                line: (meta >> 32) as u32,
            })
        })
        .collect()
}
