//! The ledger reader used by monitors: lists segments, asks the kernel which are live,
//! decodes and sums them, and removes dead ones.
//!
//! It never opens a segment of its own process (closing that descriptor would drop the
//! process's lock); those are read through the writer's mapping instead.

use std::collections::{BTreeMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use tt_accounting::{BankClass, BankHealth, BankType, MemKind};
use tt_privdir::{check_owned_regular, PrivateDir};
use tt_soc::ChipUid;

use crate::devices::DeviceCapacity;
use crate::error::TrackError;
use crate::liveness::lock_holder;
use crate::segment::copy::CopiedSegment;
use crate::segment::layout::SCHEMA_VERSION;
use crate::segment::writer::{own_segment, SEGMENT_SUFFIX};
use crate::view::{decode_parts, CoreUsage, DeviceView, IntegrityCounts, ProcessView};

/// Sums of one kind on one device over all live processes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindTotals {
    /// Reserved bytes now.
    pub used_bytes: u64,
    /// Payload bytes now.
    pub payload_bytes: u64,
    /// Sum of the processes' high-water marks (the true peak when one process holds the chip,
    /// an upper bound otherwise).
    pub peak_used_bytes: u64,
    /// Placements not released.
    pub live_count: u64,
    /// Placements ever made by the live processes.
    pub placed_count: u64,
    /// Releases ever made by the live processes.
    pub released_count: u64,
    /// Reserved bytes ever placed by the live processes.
    pub placed_bytes: u64,
    /// Reserved bytes ever released by the live processes.
    pub released_bytes: u64,
}

/// One device summed over every live process that registered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceTotals {
    /// The chip.
    pub uid: ChipUid,
    /// Architecture name, from the first process that registered it.
    pub arch: String,
    /// The spec it was opened with, from the first process that gave one.
    pub spec: String,
    /// Capacity, from the first process that registered it.
    pub capacity: DeviceCapacity,
    /// Sums per kind, indexed by [`MemKind::index`].
    pub kinds: [KindTotals; MemKind::COUNT],
    /// Integrity errors summed.
    pub integrity: IntegrityCounts,
    /// Live processes that registered the device.
    pub processes: usize,
    /// Of those, processes whose figures this read could not take as one state (their writer
    /// changed them during every try): the sums leave them out, so a monitor must say the
    /// figures are incomplete rather than show them as the device's.
    pub busy_processes: usize,
    /// Payload bytes now per bank class, indexed by `BankClass as usize`.
    pub payload_by_class: [u64; 3],
    /// Reserved L1 of each usable Tensix core, summed over processes.
    pub tensix_cores: Vec<CoreUsage>,
    /// Reserved L1 of each Ethernet core, summed over processes.
    pub ethernet_cores: Vec<CoreUsage>,
    /// Allocator free-space figures per bank type, from the process holding the chip open.
    pub health: Vec<BankHealth>,
    /// Sum of the processes' high-water marks of all kinds together.
    pub peak_used_bytes: u64,
}

impl DeviceTotals {
    /// Sums of one kind.
    pub fn kind(&self, kind: MemKind) -> &KindTotals {
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

    /// Used DRAM (DRAM and TRACE kinds).
    pub fn dram_used_bytes(&self) -> u64 {
        self.kind(MemKind::Dram).used_bytes.saturating_add(self.kind(MemKind::Trace).used_bytes)
    }

    /// Used Tensix L1 over all cores (Ethernet L1 apart).
    pub fn tensix_l1_used_bytes(&self) -> u64 {
        self.tensix_cores.iter().fold(0, |sum, c| sum.saturating_add(c.used_bytes))
    }

    /// Used Ethernet L1 over all Ethernet cores.
    pub fn ethernet_l1_used_bytes(&self) -> u64 {
        self.ethernet_cores.iter().fold(0, |sum, c| sum.saturating_add(c.used_bytes))
    }

    /// The published health of one bank type.
    pub fn bank_health(&self, bank_type: BankType) -> Option<&BankHealth> {
        self.health.iter().find(|h| h.bank_type == bank_type)
    }

    /// Payload bytes now in one bank class.
    pub fn class_payload_bytes(&self, class: BankClass) -> u64 {
        self.payload_by_class[class as usize]
    }
}

/// A segment file the reader could not use, and why.
#[derive(Debug)]
pub struct SkippedSegment {
    /// The file.
    pub path: PathBuf,
    /// What was wrong with it.
    pub reason: TrackError,
}

/// Everything one read of the ledger found.
#[derive(Debug)]
pub struct LedgerSnapshot {
    /// The schema version of the segments summed.
    pub schema_version: u32,
    /// The directory read.
    pub dir: PathBuf,
    /// Live processes, by pid.
    pub processes: Vec<ProcessView>,
    /// Devices summed over live processes, by chip uid.
    pub devices: Vec<DeviceTotals>,
    /// Live segments that could not be read.
    pub skipped: Vec<SkippedSegment>,
    /// Segments of dead processes, left out and removed by this read.
    pub removed_dead: Vec<PathBuf>,
    /// Chips held open by a process that counts them in no ledger read here (tracking off,
    /// another stack): never shown as idle. The reader cannot see chips' locks and leaves it
    /// empty; a monitor that can (ttctl, from the simulated chips' files) fills it in.
    pub untracked_holders: Vec<UntrackedHolder>,
}

/// A process holding a chip open without counting it in any ledger a reader found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UntrackedHolder {
    /// The chip; `None` for a card no ledger names (its id is on the card, and monitors never
    /// open devices).
    pub uid: Option<ChipUid>,
    /// Its architecture name.
    pub arch: String,
    /// The spec that opens it (`sim:wormhole_b0:0`).
    pub spec: String,
    /// Where the chip lives (a simulated chip's file).
    pub location: PathBuf,
    /// The holding process (kernel-attested lock holder).
    pub pid: u32,
    /// Its command name, when it can be read.
    pub command: String,
}

impl LedgerSnapshot {
    /// The sums of one device.
    pub fn device(&self, uid: ChipUid) -> Option<&DeviceTotals> {
        self.devices.iter().find(|d| d.uid == uid)
    }

    /// The view of one live process.
    pub fn process(&self, pid: u32) -> Option<&ProcessView> {
        self.processes.iter().find(|p| p.pid == pid)
    }

    /// Adds what another directory's read found, and sums the devices again.
    pub fn absorb(&mut self, other: LedgerSnapshot) {
        self.processes.extend(other.processes);
        self.processes.sort_by_key(|p| p.pid);
        self.skipped.extend(other.skipped);
        self.removed_dead.extend(other.removed_dead);
        self.devices = sum_devices(&self.processes);
    }
}

enum SegmentState {
    Live(ProcessView),
    Dead,
    Vanished,
    /// Another name (a hard link) of a file this read has already read.
    Duplicate,
}

/// Reads every segment in `dir`. A missing directory is an empty ledger; one that another
/// user owns, that others may write, or that is a symlink is refused. Entries that are not
/// regular files of this user, and unreadable or foreign segments, are listed in `skipped`
/// and the rest still summed.
pub fn read_ledger(dir: impl AsRef<Path>) -> Result<LedgerSnapshot, TrackError> {
    let path = dir.as_ref();
    let mut snapshot = LedgerSnapshot {
        schema_version: SCHEMA_VERSION,
        dir: path.to_owned(),
        processes: Vec::new(),
        devices: Vec::new(),
        skipped: Vec::new(),
        removed_dead: Vec::new(),
        untracked_holders: Vec::new(),
    };
    let Some(dir) = PrivateDir::open_existing(path, "ledger directory")? else {
        return Ok(snapshot);
    };
    let all =
        dir.entries().map_err(|source| TrackError::ListLedger { path: path.to_owned(), source })?;
    let mut segments: Vec<&OsString> = all.iter().filter(|n| is_segment_name(n)).collect();
    segments.sort();
    for name in all.iter().filter(|n| is_temporary_name(n)) {
        if sweep_abandoned_temporary(&dir, name) {
            snapshot.removed_dead.push(dir.join(name));
        }
    }

    // One file is read once however many names it has: hard links would otherwise count a
    // process's chip usage once per link (and cost a copy each).
    let mut seen = HashSet::new();
    for name in segments {
        match read_segment(&dir, name, &mut seen) {
            Ok(SegmentState::Live(view)) => snapshot.processes.push(view),
            Ok(SegmentState::Dead) => snapshot.removed_dead.push(dir.join(name)),
            Ok(SegmentState::Vanished | SegmentState::Duplicate) => {}
            Err(reason) => {
                tracing::warn!(%reason, "skipping ledger segment");
                snapshot.skipped.push(SkippedSegment { path: dir.join(name), reason });
            }
        }
    }
    snapshot.processes.sort_by_key(|p| p.pid);
    snapshot.devices = sum_devices(&snapshot.processes);
    Ok(snapshot)
}

fn is_segment_name(name: &OsStr) -> bool {
    name.to_str().is_some_and(|n| n.ends_with(SEGMENT_SUFFIX) && !n.starts_with('.'))
}

/// A segment still under construction (`.<stem>.tmp`), renamed into place once initialised.
fn is_temporary_name(name: &OsStr) -> bool {
    name.to_str().is_some_and(|n| n.starts_with('.') && n.ends_with(".tmp"))
}

/// A temporary segment older than this whose lock nobody holds was left by a writer that
/// died between creating and renaming it.
const ABANDONED_TEMPORARY_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// Removes an abandoned temporary segment; true when it removed one. A young file is left
/// alone even when unlocked: its writer may not have taken the lock yet.
fn sweep_abandoned_temporary(dir: &PrivateDir, name: &OsStr) -> bool {
    let Ok(stat) = dir.stat(name) else { return false };
    if check_owned_regular(&stat).is_err() {
        return false;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let modified = u64::try_from(stat.st_mtime).unwrap_or(u64::MAX);
    if now.saturating_sub(modified) < ABANDONED_TEMPORARY_AGE.as_secs() {
        return false;
    }
    if own_segment(stat.st_dev, stat.st_ino).is_some() {
        return false;
    }
    let Ok(file) = dir.open_owned_file(name, false) else { return false };
    match lock_holder(file.as_fd()) {
        Ok(None) => dir.remove(name).is_ok(),
        _ => false,
    }
}

fn read_segment(
    dir: &PrivateDir,
    name: &OsStr,
    seen: &mut HashSet<(u64, u64)>,
) -> Result<SegmentState, TrackError> {
    let path = dir.join(name);
    let io = |source| TrackError::SegmentIo { path: path.clone(), source };
    // stat, not open: recognising our own segment must not create a descriptor of it.
    let stat = match dir.stat(name) {
        Ok(stat) => stat,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(SegmentState::Vanished),
        Err(e) => return Err(io(e)),
    };
    if let Err(why) = check_owned_regular(&stat) {
        return Err(TrackError::CorruptSegment { path, what: why.to_string() });
    }
    if !seen.insert((stat.st_dev, stat.st_ino)) {
        tracing::debug!(path = %path.display(), "a second name of a segment already read");
        return Ok(SegmentState::Duplicate);
    }
    if let Some(own) = own_segment(stat.st_dev, stat.st_ino) {
        let copied = CopiedSegment::of_mapping(own.layout())?;
        let view = decode_parts(copied.parts(), std::process::id(), Some(path), true);
        return Ok(SegmentState::Live(view));
    }

    let file = match dir.open_owned_file(name, false) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(SegmentState::Vanished),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            return Err(TrackError::CorruptSegment { path, what: e.to_string() })
        }
        Err(e) => return Err(io(e)),
    };
    let Some(holder) = lock_holder(file.as_fd()).map_err(io)? else {
        // Nobody holds the lock: the writer is gone, however it went.
        match dir.remove(name) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove dead segment")
            }
        }
        return Ok(SegmentState::Dead);
    };
    // Copied with pread, never mapped: a segment truncated under us is an error for it alone.
    let copied = CopiedSegment::read(&file, &path)?;
    let pid = u32::try_from(holder).unwrap_or(0);
    Ok(SegmentState::Live(decode_parts(copied.parts(), pid, Some(path), false)))
}

/// Adds per-core figures of `from` into `into`, core by core.
fn add_cores(into: &mut Vec<CoreUsage>, from: &[CoreUsage]) {
    if into.len() < from.len() {
        into.resize(from.len(), CoreUsage { x: 0, y: 0, used_bytes: 0 });
    }
    for (total, core) in into.iter_mut().zip(from) {
        if (total.x, total.y) == (0, 0) {
            (total.x, total.y) = (core.x, core.y);
        }
        total.used_bytes = total.used_bytes.saturating_add(core.used_bytes);
    }
}

fn sum_devices(processes: &[ProcessView]) -> Vec<DeviceTotals> {
    let mut totals: BTreeMap<ChipUid, DeviceTotals> = BTreeMap::new();
    // A device a process has closed with nothing left on it is no longer that process's: it
    // drops out of the totals. One closed with bytes still counted (a leak) stays visible.
    let counted =
        |d: &&DeviceView| d.open || d.busy || d.used_bytes() > 0 || d.integrity.total() > 0;
    for device in processes.iter().flat_map(|p| p.devices.iter()).filter(counted) {
        let sum = totals.entry(device.uid).or_insert_with(|| DeviceTotals {
            uid: device.uid,
            arch: device.arch.clone(),
            spec: device.spec.clone(),
            capacity: device.capacity,
            kinds: [KindTotals::default(); MemKind::COUNT],
            integrity: IntegrityCounts::default(),
            processes: 0,
            busy_processes: 0,
            payload_by_class: [0; 3],
            tensix_cores: Vec::new(),
            ethernet_cores: Vec::new(),
            health: Vec::new(),
            peak_used_bytes: 0,
        });
        sum.processes += 1;
        if device.busy {
            sum.busy_processes += 1;
            continue;
        }
        // One id, another chip: counted on the device, never merged silently.
        if sum.processes > 1 && (device.arch != sum.arch || device.capacity != sum.capacity) {
            tracing::warn!(
                chip = %device.uid,
                first = %sum.arch,
                other = %device.arch,
                "two processes registered one chip id with different architectures or capacities"
            );
            sum.integrity.conflicting_identities =
                sum.integrity.conflicting_identities.saturating_add(1);
        }
        if sum.spec.is_empty() {
            sum.spec.clone_from(&device.spec);
        }
        if device.open && sum.health.is_empty() {
            sum.health.clone_from(&device.health);
        }
        // Saturating: a corrupt segment must not be able to panic the monitor.
        sum.integrity.add(&device.integrity);
        sum.peak_used_bytes = sum.peak_used_bytes.saturating_add(device.peak_used_bytes);
        for (total, payload) in sum.payload_by_class.iter_mut().zip(device.payload_by_class) {
            *total = total.saturating_add(payload);
        }
        add_cores(&mut sum.tensix_cores, &device.tensix_cores);
        add_cores(&mut sum.ethernet_cores, &device.ethernet_cores);
        for (total, usage) in sum.kinds.iter_mut().zip(device.kinds.iter()) {
            total.used_bytes = total.used_bytes.saturating_add(usage.used_bytes);
            total.payload_bytes = total.payload_bytes.saturating_add(usage.payload_bytes);
            total.peak_used_bytes = total.peak_used_bytes.saturating_add(usage.peak_used_bytes);
            total.live_count = total.live_count.saturating_add(usage.live_count);
            total.placed_count = total.placed_count.saturating_add(usage.placed_count);
            total.released_count = total.released_count.saturating_add(usage.released_count);
            total.placed_bytes = total.placed_bytes.saturating_add(usage.placed_bytes);
            total.released_bytes = total.released_bytes.saturating_add(usage.released_bytes);
        }
    }
    totals.into_values().collect()
}
