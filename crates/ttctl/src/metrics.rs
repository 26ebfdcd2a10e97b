//! The Prometheus exposition of the ledger (`ttctl serve`'s `/metrics`): the figures of
//! `mem --json` as gauges and counters, in the Prometheus text format (version 0.0.4).
//!
//! Every scrape builds its families afresh from one ledger snapshot, so a series exists only
//! while something publishes it: a process's series end with the process, an allocator's
//! with the process holding the chip. A chip no live process holds is shown as idle (every
//! kind 0) once the exporter has seen it, which is exact: nothing can be placed on a chip
//! that nobody holds.

use anyhow::{Context, Result};
use prometheus::core::Collector;
use prometheus::{Encoder, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};
use tt_accounting::{BankClass, BankType, MemKind};
use tt_device::DeviceSpec;
use tt_sim::SimKind;
use tt_track::{CoreSpread, CoreUsage, DeviceTotals, LedgerSnapshot};

use crate::mem_json::MEM_SCHEMA_VERSION;

/// The HTTP `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// Labels naming a chip on every device series.
const DEVICE: [&str; 3] = ["chip_uid", "arch", "board"];

/// The board label of a chip: the product for a simulated board, `none` for a bare
/// simulated chip, `unknown` for a card (the ledger records the spec, not the board).
pub fn board_of(spec: &str) -> String {
    match spec.parse::<DeviceSpec>() {
        Ok(DeviceSpec::Sim { kind: SimKind::Board { preset, .. }, .. }) => preset.name().to_owned(),
        Ok(DeviceSpec::Sim { kind: SimKind::Bare(_), .. }) => "none".to_owned(),
        Ok(DeviceSpec::Pcie(_)) | Err(_) => "unknown".to_owned(),
    }
}

/// What the exposition shows of a chip no live process holds: its identity and capacity,
/// with every usage figure 0.
pub fn idle(seen: &DeviceTotals) -> DeviceTotals {
    let zeroed = |cores: &[CoreUsage]| -> Vec<CoreUsage> {
        cores.iter().map(|c| CoreUsage { used_bytes: 0, ..*c }).collect()
    };
    DeviceTotals {
        uid: seen.uid,
        arch: seen.arch.clone(),
        spec: seen.spec.clone(),
        capacity: seen.capacity,
        kinds: Default::default(),
        integrity: Default::default(),
        processes: 0,
        payload_by_class: [0; 3],
        tensix_cores: zeroed(&seen.tensix_cores),
        ethernet_cores: zeroed(&seen.ethernet_cores),
        health: Vec::new(),
        peak_used_bytes: 0,
    }
}

/// The metric families of one scrape, registered in one registry.
struct Families {
    registry: Registry,
}

impl Families {
    fn register<C: Collector + Clone + 'static>(&self, collector: C) -> Result<C> {
        self.registry.register(Box::new(collector.clone())).context("registering a metric")?;
        Ok(collector)
    }

    fn gauge(&self, name: &str, help: &str, labels: &[&str]) -> Result<IntGaugeVec> {
        self.register(IntGaugeVec::new(Opts::new(name, help), labels)?)
    }

    fn counter(&self, name: &str, help: &str, labels: &[&str]) -> Result<IntCounterVec> {
        self.register(IntCounterVec::new(Opts::new(name, help), labels)?)
    }
}

/// Sets one gauge series; figures past `i64::MAX` (none a chip can hold) are clamped.
fn set(gauge: &IntGaugeVec, labels: &[&str], value: u64) -> Result<()> {
    gauge.get_metric_with_label_values(labels)?.set(i64::try_from(value).unwrap_or(i64::MAX));
    Ok(())
}

/// Sets one counter series to the ledger's count.
fn count(counter: &IntCounterVec, labels: &[&str], value: u64) -> Result<()> {
    counter.get_metric_with_label_values(labels)?.inc_by(value);
    Ok(())
}

fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(extra).copied().collect()
}

/// Families per device (labels `chip_uid`, `arch`, `board`, plus the one each names).
struct DeviceFamilies {
    capacity: IntGaugeVec,
    pool_used: IntGaugeVec,
    pool_free: IntGaugeVec,
    pool_payload: IntGaugeVec,
    used: IntGaugeVec,
    payload: IntGaugeVec,
    peak: IntGaugeVec,
    peak_all: IntGaugeVec,
    live: IntGaugeVec,
    placed: IntCounterVec,
    released: IntCounterVec,
    core_min: IntGaugeVec,
    core_max: IntGaugeVec,
    core_capacity: IntGaugeVec,
    alloc_free: IntGaugeVec,
    alloc_largest: IntGaugeVec,
    alloc_largest_interleaved: IntGaugeVec,
    alloc_free_blocks: IntGaugeVec,
    integrity: IntCounterVec,
    processes: IntGaugeVec,
}

impl DeviceFamilies {
    fn new(f: &Families) -> Result<Self> {
        let pool = with(&DEVICE, &["pool"]);
        let kind = with(&DEVICE, &["kind"]);
        let core_kind = with(&DEVICE, &["core_kind"]);
        let bank = with(&DEVICE, &["bank_type"]);
        Ok(Self {
            capacity: f.gauge("tt_device_capacity_bytes", "Capacity of a memory pool (dram, l1 = usable Tensix L1, ethernet_l1).", &pool)?,
            pool_used: f.gauge("tt_device_pool_used_bytes", "Reserved bytes of a memory pool over all live processes.", &pool)?,
            pool_free: f.gauge("tt_device_pool_free_bytes", "Capacity minus reserved bytes of a memory pool.", &pool)?,
            pool_payload: f.gauge("tt_device_pool_payload_bytes", "Bytes the owners asked for in a memory pool.", &pool)?,
            used: f.gauge("tt_device_used_bytes", "Reserved bytes per memory kind over all live processes (kinds are disjoint).", &kind)?,
            payload: f.gauge("tt_device_payload_bytes", "Bytes the owners asked for, per memory kind.", &kind)?,
            peak: f.gauge("tt_device_peak_used_bytes", "High-water mark of reserved bytes per kind since each live process started or reset its peaks, summed over processes.", &kind)?,
            peak_all: f.gauge("tt_device_peak_used_all_kinds_bytes", "High-water mark of reserved bytes of all kinds together, summed over live processes.", &DEVICE)?,
            live: f.gauge("tt_device_live_placements", "Placements not yet released, per kind.", &kind)?,
            placed: f.counter("tt_device_placements_total", "Placements made by the live processes, per kind (falls when a process exits: a counter reset).", &kind)?,
            released: f.counter("tt_device_releases_total", "Releases made by the live processes, per kind (falls when a process exits: a counter reset).", &kind)?,
            core_min: f.gauge("tt_device_core_l1_min_used_bytes", "Reserved L1 of the emptiest core (core_kind tensix or ethernet).", &core_kind)?,
            core_max: f.gauge("tt_device_core_l1_max_used_bytes", "Reserved L1 of the fullest core (core_kind tensix or ethernet).", &core_kind)?,
            core_capacity: f.gauge("tt_device_core_l1_capacity_bytes", "L1 bytes of one core (core_kind tensix or ethernet).", &core_kind)?,
            alloc_free: f.gauge("tt_device_allocator_free_bytes", "Free bytes of a bank type over all its banks, as the allocator holding the chip sees them.", &bank)?,
            alloc_largest: f.gauge("tt_device_allocator_largest_free_block_bytes", "Largest block the allocator would hand out in one bank of the type.", &bank)?,
            alloc_largest_interleaved: f.gauge("tt_device_allocator_largest_interleaved_bytes", "Largest interleaved buffer the allocator would hand out (largest block times banks).", &bank)?,
            alloc_free_blocks: f.gauge("tt_device_allocator_free_blocks", "Free blocks of a bank type (fragmentation: many small blocks).", &bank)?,
            integrity: f.counter("tt_device_integrity_errors_total", "Integrity errors the trackers of live processes counted, per error.", &with(&DEVICE, &["error"]))?,
            processes: f.gauge("tt_device_processes", "Live processes that hold or registered the chip.", &DEVICE)?,
        })
    }

    fn fill(&self, dev: &DeviceTotals) -> Result<()> {
        let uid = dev.uid.to_string();
        let board = board_of(&dev.spec);
        let id = [uid.as_str(), dev.arch.as_str(), board.as_str()];
        let capacity = &dev.capacity;
        let pools = [
            ("dram", capacity.dram_bytes, dev.dram_used_bytes(), BankClass::Dram),
            ("l1", capacity.tensix_l1_bytes(), dev.tensix_l1_used_bytes(), BankClass::Tensix),
            (
                "ethernet_l1",
                capacity.ethernet_l1_bytes(),
                dev.ethernet_l1_used_bytes(),
                BankClass::Ethernet,
            ),
        ];
        for (pool, cap, used, class) in pools {
            let labels = with(&id, &[pool]);
            set(&self.capacity, &labels, cap)?;
            set(&self.pool_used, &labels, used)?;
            set(&self.pool_free, &labels, cap.saturating_sub(used))?;
            set(&self.pool_payload, &labels, dev.class_payload_bytes(class))?;
        }
        for kind in MemKind::ALL {
            let labels = with(&id, &[kind.name()]);
            let totals = dev.kind(kind);
            set(&self.used, &labels, totals.used_bytes)?;
            set(&self.payload, &labels, totals.payload_bytes)?;
            set(&self.peak, &labels, totals.peak_used_bytes)?;
            set(&self.live, &labels, totals.live_count)?;
            count(&self.placed, &labels, totals.placed_count)?;
            count(&self.released, &labels, totals.released_count)?;
        }
        set(&self.peak_all, &id, dev.peak_used_bytes)?;
        set(&self.processes, &id, dev.processes as u64)?;
        let cores = [
            ("tensix", &dev.tensix_cores, capacity.tensix_l1_per_core),
            ("ethernet", &dev.ethernet_cores, capacity.ethernet_l1_per_core),
        ];
        for (core_kind, usage, per_core) in cores {
            if usage.is_empty() {
                continue;
            }
            let labels = with(&id, &[core_kind]);
            let spread = CoreSpread::of(usage);
            set(&self.core_min, &labels, spread.min)?;
            set(&self.core_max, &labels, spread.max)?;
            set(&self.core_capacity, &labels, per_core)?;
        }
        for bank_type in BankType::ALL {
            // No series when no live process publishes the allocator (`null` in the JSON).
            let Some(health) = dev.bank_health(bank_type) else { continue };
            let labels = with(&id, &[bank_type.name()]);
            let banks = u64::from(health.banks);
            set(&self.alloc_free, &labels, health.free_per_bank.saturating_mul(banks))?;
            set(&self.alloc_largest, &labels, health.largest_free_per_bank)?;
            set(
                &self.alloc_largest_interleaved,
                &labels,
                health.largest_free_per_bank.saturating_mul(banks),
            )?;
            set(&self.alloc_free_blocks, &labels, health.free_blocks)?;
        }
        let integrity = &dev.integrity;
        let errors = [
            ("double_release", integrity.double_releases),
            ("foreign_placement", integrity.foreign_placements),
            ("inherited_use", integrity.inherited_uses),
            ("impossible_figure", integrity.impossible_figures),
        ];
        for (error, n) in errors {
            count(&self.integrity, &with(&id, &[error]), n)?;
        }
        Ok(())
    }
}

/// Families per process and device (labels `chip_uid`, `arch`, `board`, `pid`, `command`).
struct ProcessFamilies {
    used: IntGaugeVec,
    payload: IntGaugeVec,
    peak: IntGaugeVec,
    integrity: IntCounterVec,
}

const PROCESS: [&str; 5] = ["chip_uid", "arch", "board", "pid", "command"];

impl ProcessFamilies {
    fn new(f: &Families) -> Result<Self> {
        let kind = with(&PROCESS, &["kind"]);
        Ok(Self {
            used: f.gauge(
                "tt_process_used_bytes",
                "Reserved bytes one process holds on a chip, per kind.",
                &kind,
            )?,
            payload: f.gauge(
                "tt_process_payload_bytes",
                "Bytes one process asked for on a chip, per kind.",
                &kind,
            )?,
            peak: f.gauge(
                "tt_process_peak_used_bytes",
                "High-water mark of one process's reserved bytes on a chip, per kind.",
                &kind,
            )?,
            integrity: f.counter(
                "tt_process_integrity_errors_total",
                "Integrity errors one process's tracker counted on a chip.",
                &PROCESS,
            )?,
        })
    }

    fn fill(&self, snapshot: &LedgerSnapshot) -> Result<()> {
        for process in &snapshot.processes {
            let pid = process.pid.to_string();
            for view in &process.devices {
                let uid = view.uid.to_string();
                let board = board_of(&view.spec);
                let id = [uid.as_str(), view.arch.as_str(), board.as_str(), &pid, &process.command];
                for kind in MemKind::ALL {
                    let labels = with(&id, &[kind.name()]);
                    let usage = view.kind(kind);
                    set(&self.used, &labels, usage.used_bytes)?;
                    set(&self.payload, &labels, usage.payload_bytes)?;
                    set(&self.peak, &labels, usage.peak_used_bytes)?;
                }
                count(&self.integrity, &id, view.integrity.total())?;
            }
        }
        Ok(())
    }
}

/// The exposition of `snapshot` in the Prometheus text format, with `idle` chips (seen
/// before, held by no live process now; see [`idle`]) shown at 0.
pub fn render(snapshot: &LedgerSnapshot, idle: &[DeviceTotals]) -> Result<String> {
    let families = Families { registry: Registry::new() };
    let devices = DeviceFamilies::new(&families)?;
    let processes = ProcessFamilies::new(&families)?;
    let ledger_processes =
        families.gauge("tt_ledger_processes", "Live processes in the ledger.", &[])?;
    let skipped = families.gauge(
        "tt_ledger_skipped_segments",
        "Ledger segments that could not be read (`ttctl mem` says why).",
        &[],
    )?;
    let schema = families.gauge(
        "tt_ledger_schema_version",
        "Version of the figures' schema (the `schema_version` of `mem --json`).",
        &[],
    )?;
    for dev in snapshot.devices.iter().chain(idle) {
        devices.fill(dev)?;
    }
    processes.fill(snapshot)?;
    set(&ledger_processes, &[], snapshot.processes.len() as u64)?;
    set(&skipped, &[], snapshot.skipped.len() as u64)?;
    set(&schema, &[], u64::from(MEM_SCHEMA_VERSION))?;
    let mut text = Vec::new();
    TextEncoder::new().encode(&families.registry.gather(), &mut text)?;
    String::from_utf8(text).context("the exposition is not UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_label_names_the_product_or_says_why_not() {
        assert_eq!(board_of("sim:n300:0:1"), "n300");
        assert_eq!(board_of("sim:p150a:2"), "p150a");
        assert_eq!(board_of("sim:wormhole_b0:0"), "none");
        assert_eq!(board_of("/dev/tenstorrent/0"), "unknown");
        assert_eq!(board_of(""), "unknown");
    }

    #[test]
    fn an_empty_ledger_exposes_only_the_ledger_figures() {
        let snapshot = LedgerSnapshot {
            schema_version: 2,
            dir: std::path::PathBuf::new(),
            processes: Vec::new(),
            devices: Vec::new(),
            skipped: Vec::new(),
            removed_dead: Vec::new(),
        };
        let text = render(&snapshot, &[]).expect("an empty ledger renders");
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            ["tt_ledger_processes 0", "tt_ledger_schema_version 2", "tt_ledger_skipped_segments 0"]
        );
    }
}
