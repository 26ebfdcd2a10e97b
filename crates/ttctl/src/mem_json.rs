//! `ttctl mem --json`: the stable machine form (`schema_version` 3), built from typed
//! documents so that its shape is checked by the compiler and described by
//! `crates/ttctl/schema/ttctl.schema.json`. Bytes are integers in bytes; a figure nobody
//! published is `null`, never 0.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use tt_accounting::{BankClass, BankHealth, BankType, MemKind};
use tt_track::{CoreSpread, CoreUsage, DeviceTotals, LedgerSnapshot};

use crate::mem::{backend_of, Filter};

/// The JSON schema version `mem --json` writes. Version 3 added `busy_processes` per device
/// and `busy` per device process: figures a read could not take as one state.
pub const MEM_SCHEMA_VERSION: u32 = 3;
// Version 3 also added `integrity.conflicting_identities` per device and the top-level
// `untracked_holders`.

/// One figure per memory kind, written as an object keyed by the kind's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PerKind(pub [u64; MemKind::COUNT]);

impl PerKind {
    /// The figure `figure` gives for each kind.
    pub fn of(figure: impl Fn(MemKind) -> u64) -> PerKind {
        let mut values = [0; MemKind::COUNT];
        for kind in MemKind::ALL {
            values[kind.index()] = figure(kind);
        }
        PerKind(values)
    }
}

impl Serialize for PerKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(MemKind::COUNT))?;
        for kind in MemKind::ALL {
            map.serialize_entry(kind.name(), &self.0[kind.index()])?;
        }
        map.end()
    }
}

impl<'de> serde::Deserialize<'de> for PerKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let by_name = std::collections::BTreeMap::<String, u64>::deserialize(deserializer)?;
        // A kind a later version adds is ignored; one missing reads 0.
        Ok(PerKind::of(|kind| by_name.get(kind.name()).copied().unwrap_or(0)))
    }
}

/// A memory pool against its capacity.
#[derive(Debug, Serialize)]
pub struct Pool {
    capacity: u64,
    used: u64,
    free: u64,
    payload: u64,
}

impl Pool {
    fn new(capacity: u64, used: u64, payload: u64) -> Pool {
        Pool { capacity, used, free: capacity.saturating_sub(used), payload }
    }
}

/// Reserved L1 of the emptiest, the average and the fullest core.
#[derive(Debug, Serialize)]
pub struct Spread {
    min: u64,
    mean: u64,
    max: u64,
}

fn spread(cores: &[CoreUsage]) -> Option<Spread> {
    if cores.is_empty() {
        return None;
    }
    let s = CoreSpread::of(cores);
    Some(Spread { min: s.min, mean: s.mean, max: s.max })
}

/// The allocator's health of one bank type.
#[derive(Debug, Serialize)]
pub struct Health {
    banks: u32,
    bank_size: u64,
    free_per_bank: u64,
    free: u64,
    largest_free_per_bank: u64,
    largest_interleaved: u64,
    free_blocks: u64,
    allocated_blocks: u64,
}

impl From<&BankHealth> for Health {
    fn from(h: &BankHealth) -> Health {
        Health {
            banks: h.banks,
            bank_size: h.bank_size,
            free_per_bank: h.free_per_bank,
            free: h.free_per_bank.saturating_mul(u64::from(h.banks)),
            largest_free_per_bank: h.largest_free_per_bank,
            largest_interleaved: h.largest_free_per_bank.saturating_mul(u64::from(h.banks)),
            free_blocks: h.free_blocks,
            allocated_blocks: h.allocated_blocks,
        }
    }
}

/// One core's L1.
#[derive(Debug, Serialize)]
pub struct Core {
    x: u8,
    y: u8,
    kind: &'static str,
    used: u64,
    capacity: u64,
}

/// What the chip holds, from whoever registered it.
#[derive(Debug, Serialize)]
pub struct Capacity {
    dram: u64,
    dram_banks: u64,
    l1: u64,
    l1_per_core: u64,
    cores: u64,
    ethernet_l1: u64,
    ethernet_l1_per_core: u64,
    ethernet_cores: u64,
}

/// The pools of a chip.
#[derive(Debug, Serialize)]
pub struct Memory {
    dram: Pool,
    l1: Pool,
    ethernet_l1: Pool,
}

/// Integrity errors by cause.
#[derive(Debug, Serialize)]
pub struct Integrity {
    double_releases: u64,
    foreign_placements: u64,
    inherited_uses: u64,
    session_refusals: u64,
    impossible_figures: u64,
    conflicting_identities: u64,
}

/// One process's share of a device.
#[derive(Debug, Serialize)]
pub struct DeviceProcess {
    pid: u32,
    command: String,
    start_time_ticks: u64,
    open: bool,
    /// Changed during every try of the read: figures 0, left out of the device's.
    busy: bool,
    used: PerKind,
    payload: PerKind,
    peak: PerKind,
    peak_used: u64,
    live: PerKind,
    integrity_errors: u64,
}

/// One device summed over live processes.
#[derive(Debug, Serialize)]
pub struct Device {
    chip_uid: String,
    arch: String,
    backend: &'static str,
    spec: Option<String>,
    capacity: Capacity,
    used: PerKind,
    payload: PerKind,
    peak: PerKind,
    peak_used: u64,
    live: PerKind,
    placed: PerKind,
    released: PerKind,
    memory: Memory,
    l1_per_core: Option<Spread>,
    ethernet_l1_per_core: Option<Spread>,
    cores: Vec<Core>,
    /// Per bank type in [`BankType::ALL`] order, `null` when nobody publishes it.
    #[serde(serialize_with = "per_bank_type")]
    allocator: Vec<Option<Health>>,
    processes: Vec<DeviceProcess>,
    /// Processes left out of the figures because they were busy (see `DeviceProcess::busy`).
    busy_processes: usize,
    integrity_errors: u64,
    integrity: Integrity,
}

fn per_bank_type<S: Serializer>(health: &[Option<Health>], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(health.len()))?;
    for (bank_type, h) in BankType::ALL.iter().zip(health) {
        map.serialize_entry(bank_type.name(), h)?;
    }
    map.end()
}

/// A live process in the ledger.
#[derive(Debug, Serialize)]
pub struct Process {
    pid: u32,
    command: String,
    start_time_ticks: u64,
    devices: Vec<String>,
    integrity_errors: u64,
}

/// A segment the reader could not use, and why.
#[derive(Debug, Serialize)]
pub struct Skipped {
    path: String,
    reason: String,
}

/// The whole `mem --json` document.
#[derive(Debug, Serialize)]
pub struct MemDocument {
    schema_version: u32,
    devices: Vec<Device>,
    processes: Vec<Process>,
    dead_segments_removed: usize,
    skipped_segments: Vec<Skipped>,
    untracked_holders: Vec<Holder>,
}

/// A chip held by a process that counts it in no ledger: its usage is unknown, not 0.
#[derive(Debug, Serialize)]
pub struct Holder {
    /// `null` for a card no ledger names.
    chip_uid: Option<String>,
    arch: String,
    spec: String,
    location: String,
    pid: u32,
    command: String,
}

fn cores(dev: &DeviceTotals) -> Vec<Core> {
    let capacity = &dev.capacity;
    let tensix = dev.tensix_cores.iter().map(|c| (c, "tensix", capacity.tensix_l1_per_core));
    let ethernet =
        dev.ethernet_cores.iter().map(|c| (c, "ethernet", capacity.ethernet_l1_per_core));
    tensix
        .chain(ethernet)
        .map(|(c, kind, per_core)| Core {
            x: c.x,
            y: c.y,
            kind,
            used: c.used_bytes,
            capacity: per_core,
        })
        .collect()
}

fn device(snapshot: &LedgerSnapshot, dev: &DeviceTotals, filter: &Filter) -> Device {
    let processes = snapshot
        .processes
        .iter()
        .filter(|p| filter.pid_matches(p.pid))
        .filter_map(|p| {
            let view = p.device(dev.uid)?;
            Some(DeviceProcess {
                pid: p.pid,
                command: p.command.clone(),
                start_time_ticks: p.start_time_ticks,
                open: view.open,
                busy: view.busy,
                used: PerKind::of(|k| view.kind(k).used_bytes),
                payload: PerKind::of(|k| view.kind(k).payload_bytes),
                peak: PerKind::of(|k| view.kind(k).peak_used_bytes),
                peak_used: view.peak_used_bytes,
                live: PerKind::of(|k| view.kind(k).live_count),
                integrity_errors: view.integrity.total(),
            })
        })
        .collect();
    let capacity = &dev.capacity;
    let integrity = &dev.integrity;
    Device {
        chip_uid: dev.uid.to_string(),
        arch: dev.arch.clone(),
        backend: backend_of(dev.uid),
        spec: (!dev.spec.is_empty()).then(|| dev.spec.clone()),
        capacity: Capacity {
            dram: capacity.dram_bytes,
            dram_banks: capacity.dram_banks,
            l1: capacity.tensix_l1_bytes(),
            l1_per_core: capacity.tensix_l1_per_core,
            cores: capacity.tensix_cores,
            ethernet_l1: capacity.ethernet_l1_bytes(),
            ethernet_l1_per_core: capacity.ethernet_l1_per_core,
            ethernet_cores: capacity.ethernet_cores,
        },
        used: PerKind::of(|k| dev.kind(k).used_bytes),
        payload: PerKind::of(|k| dev.kind(k).payload_bytes),
        peak: PerKind::of(|k| dev.kind(k).peak_used_bytes),
        peak_used: dev.peak_used_bytes,
        live: PerKind::of(|k| dev.kind(k).live_count),
        placed: PerKind::of(|k| dev.kind(k).placed_count),
        released: PerKind::of(|k| dev.kind(k).released_count),
        memory: Memory {
            dram: Pool::new(
                capacity.dram_bytes,
                dev.dram_used_bytes(),
                dev.class_payload_bytes(BankClass::Dram),
            ),
            l1: Pool::new(
                capacity.tensix_l1_bytes(),
                dev.tensix_l1_used_bytes(),
                dev.class_payload_bytes(BankClass::Tensix),
            ),
            ethernet_l1: Pool::new(
                capacity.ethernet_l1_bytes(),
                dev.ethernet_l1_used_bytes(),
                dev.class_payload_bytes(BankClass::Ethernet),
            ),
        },
        l1_per_core: spread(&dev.tensix_cores),
        ethernet_l1_per_core: spread(&dev.ethernet_cores),
        cores: cores(dev),
        allocator: BankType::ALL.iter().map(|t| dev.bank_health(*t).map(Health::from)).collect(),
        processes,
        busy_processes: dev.busy_processes,
        integrity_errors: integrity.total(),
        integrity: Integrity {
            double_releases: integrity.double_releases,
            foreign_placements: integrity.foreign_placements,
            inherited_uses: integrity.inherited_uses,
            session_refusals: integrity.session_refusals,
            impossible_figures: integrity.impossible_figures,
            conflicting_identities: integrity.conflicting_identities,
        },
    }
}

/// The whole `mem --json` document of `snapshot`, filtered as `filter` says.
pub fn document(snapshot: &LedgerSnapshot, filter: &Filter) -> MemDocument {
    MemDocument {
        schema_version: MEM_SCHEMA_VERSION,
        devices: filter
            .devices(snapshot)
            .into_iter()
            .map(|d| device(snapshot, d, filter))
            .collect(),
        processes: snapshot
            .processes
            .iter()
            .filter(|p| filter.pid_matches(p.pid))
            .map(|p| Process {
                pid: p.pid,
                command: p.command.clone(),
                start_time_ticks: p.start_time_ticks,
                devices: p.devices.iter().map(|d| d.uid.to_string()).collect(),
                integrity_errors: p.integrity_errors(),
            })
            .collect(),
        dead_segments_removed: snapshot.removed_dead.len(),
        skipped_segments: snapshot
            .skipped
            .iter()
            .map(|s| Skipped { path: s.path.display().to_string(), reason: s.reason.to_string() })
            .collect(),
        untracked_holders: snapshot
            .untracked_holders
            .iter()
            .filter(|h| filter.pid_matches(h.pid))
            .map(|h| Holder {
                chip_uid: h.uid.map(|u| u.to_string()),
                arch: h.arch.clone(),
                spec: h.spec.clone(),
                location: crate::text::shown(&h.location.display().to_string()),
                pid: h.pid,
                command: h.command.clone(),
            })
            .collect(),
    }
}

/// The `mem --json` document as a JSON value (for callers that add to it, like `--watch`).
pub fn to_json(snapshot: &LedgerSnapshot, filter: &Filter) -> serde_json::Value {
    // Serializing plain structs of integers and strings into a Value cannot fail.
    serde_json::to_value(document(snapshot, filter)).unwrap_or_default()
}
