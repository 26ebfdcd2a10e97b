//! The Prometheus exposition of the ledger (`ttctl serve`'s `/metrics`): the figures of
//! `mem --json` as gauges and counters, in the Prometheus text format (version 0.0.4).
//!
//! Every scrape builds its families afresh from one ledger snapshot, so a series exists only
//! while something publishes it: a process's series end with the process, an allocator's
//! with the process holding the chip. A chip no live process holds is shown as idle (every
//! kind 0) once the exporter has seen it, which is exact: nothing can be placed on a chip
//! that nobody holds.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use anyhow::{bail, Context, Result};
use prometheus::proto::{Counter, Gauge, LabelPair, Metric, MetricFamily, MetricType};
use prometheus::{Encoder, TextEncoder};
use tt_accounting::{BankClass, BankType, MemKind};
use tt_device::DeviceSpec;
use tt_sim::SimKind;
use tt_soc::ChipUid;
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
        busy_processes: 0,
        payload_by_class: [0; 3],
        tensix_cores: zeroed(&seen.tensix_cores),
        ethernet_cores: zeroed(&seen.ethernet_cores),
        health: Vec::new(),
        peak_used_bytes: 0,
    }
}

/// One metric family being filled: its samples in the order they were set. Built directly
/// rather than through the crate's registry and metric vectors, whose per-series hashing and
/// locking would be paid afresh at every scrape for series that live one scrape.
struct Family {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    labels: Vec<&'static str>,
    samples: RefCell<Vec<Metric>>,
}

impl Family {
    fn sample(&self, values: &[&str], value: f64) -> Result<()> {
        if values.len() != self.labels.len() {
            bail!("{} takes {} labels, given {}", self.name, self.labels.len(), values.len());
        }
        let pairs = self
            .labels
            .iter()
            .zip(values)
            .map(|(name, value)| {
                let mut pair = LabelPair::default();
                pair.set_name((*name).to_owned());
                pair.set_value((*value).to_owned());
                pair
            })
            .collect();
        let mut metric = Metric::from_label(pairs);
        match self.kind {
            MetricType::COUNTER => {
                let mut counter = Counter::default();
                counter.set_value(value);
                metric.set_counter(counter);
            }
            _ => {
                let mut gauge = Gauge::default();
                gauge.set_value(value);
                metric.set_gauge(gauge);
            }
        }
        self.samples.borrow_mut().push(metric);
        Ok(())
    }
}

/// The metric families of one scrape, in the order they are made.
#[derive(Default)]
struct Families {
    made: RefCell<Vec<Rc<Family>>>,
}

impl Families {
    fn family(
        &self,
        name: &'static str,
        help: &'static str,
        kind: MetricType,
        labels: &[&'static str],
    ) -> Rc<Family> {
        let family = Rc::new(Family {
            name,
            help,
            kind,
            labels: labels.to_vec(),
            samples: RefCell::new(Vec::new()),
        });
        self.made.borrow_mut().push(Rc::clone(&family));
        family
    }

    fn gauge(&self, name: &'static str, help: &'static str, labels: &[&'static str]) -> Rc<Family> {
        self.family(name, help, MetricType::GAUGE, labels)
    }

    fn counter(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[&'static str],
    ) -> Rc<Family> {
        self.family(name, help, MetricType::COUNTER, labels)
    }

    /// The families that have samples, sorted by name as Prometheus's own exporters write
    /// them.
    fn gather(&self) -> Vec<MetricFamily> {
        let mut families: Vec<MetricFamily> = self
            .made
            .borrow()
            .iter()
            .filter(|f| !f.samples.borrow().is_empty())
            .map(|f| {
                let mut family = MetricFamily::default();
                family.set_name(f.name.to_owned());
                family.set_help(f.help.to_owned());
                family.set_field_type(f.kind);
                family.set_metric(f.samples.take());
                family
            })
            .collect();
        families.sort_by(|a, b| a.name().cmp(b.name()));
        families
    }
}

/// Sets one gauge series; figures are exact in a float up to 2^53 bytes (8 PiB).
fn set(gauge: &Family, labels: &[&str], value: u64) -> Result<()> {
    gauge.sample(labels, value as f64)
}

/// Sets one counter series to the ledger's count.
fn count(counter: &Family, labels: &[&str], value: u64) -> Result<()> {
    counter.sample(labels, value as f64)
}

fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(extra).copied().collect()
}

/// Families per device (labels `chip_uid`, `arch`, `board`, plus the one each names).
struct DeviceFamilies {
    capacity: Rc<Family>,
    pool_used: Rc<Family>,
    pool_free: Rc<Family>,
    pool_payload: Rc<Family>,
    used: Rc<Family>,
    payload: Rc<Family>,
    peak: Rc<Family>,
    peak_all: Rc<Family>,
    live: Rc<Family>,
    placed: Rc<Family>,
    released: Rc<Family>,
    core_min: Rc<Family>,
    core_max: Rc<Family>,
    core_capacity: Rc<Family>,
    alloc_free: Rc<Family>,
    alloc_largest: Rc<Family>,
    alloc_largest_interleaved: Rc<Family>,
    alloc_free_blocks: Rc<Family>,
    integrity: Rc<Family>,
    processes: Rc<Family>,
    busy_processes: Rc<Family>,
}

impl DeviceFamilies {
    fn new(f: &Families) -> Self {
        let pool = with(&DEVICE, &["pool"]);
        let kind = with(&DEVICE, &["kind"]);
        let core_kind = with(&DEVICE, &["core_kind"]);
        let bank = with(&DEVICE, &["bank_type"]);
        Self {
            capacity: f.gauge("tt_device_capacity_bytes", "Capacity of a memory pool (dram, l1 = usable Tensix L1, ethernet_l1).", &pool),
            pool_used: f.gauge("tt_device_pool_used_bytes", "Reserved bytes of a memory pool over all live processes.", &pool),
            pool_free: f.gauge("tt_device_pool_free_bytes", "Capacity minus reserved bytes of a memory pool.", &pool),
            pool_payload: f.gauge("tt_device_pool_payload_bytes", "Bytes the owners asked for in a memory pool.", &pool),
            used: f.gauge("tt_device_used_bytes", "Reserved bytes per memory kind over all live processes (kinds are disjoint).", &kind),
            payload: f.gauge("tt_device_payload_bytes", "Bytes the owners asked for, per memory kind.", &kind),
            peak: f.gauge("tt_device_peak_used_bytes", "High-water mark of reserved bytes per kind since each live process started or reset its peaks, summed over processes.", &kind),
            peak_all: f.gauge("tt_device_peak_used_all_kinds_bytes", "High-water mark of reserved bytes of all kinds together, summed over live processes.", &DEVICE),
            live: f.gauge("tt_device_live_placements", "Placements not yet released, per kind.", &kind),
            placed: f.counter("tt_device_placements_total", "Placements made by the live processes, per kind (falls when a process exits: a counter reset).", &kind),
            released: f.counter("tt_device_releases_total", "Releases made by the live processes, per kind (falls when a process exits: a counter reset).", &kind),
            core_min: f.gauge("tt_device_core_l1_min_used_bytes", "Reserved L1 of the emptiest core (core_kind tensix or ethernet).", &core_kind),
            core_max: f.gauge("tt_device_core_l1_max_used_bytes", "Reserved L1 of the fullest core (core_kind tensix or ethernet).", &core_kind),
            core_capacity: f.gauge("tt_device_core_l1_capacity_bytes", "L1 bytes of one core (core_kind tensix or ethernet).", &core_kind),
            alloc_free: f.gauge("tt_device_allocator_free_bytes", "Free bytes of a bank type over all its banks, as the allocator holding the chip sees them.", &bank),
            alloc_largest: f.gauge("tt_device_allocator_largest_free_block_bytes", "Largest block the allocator would hand out in one bank of the type.", &bank),
            alloc_largest_interleaved: f.gauge("tt_device_allocator_largest_interleaved_bytes", "Largest interleaved buffer the allocator would hand out (largest block times banks).", &bank),
            alloc_free_blocks: f.gauge("tt_device_allocator_free_blocks", "Free blocks of a bank type (fragmentation: many small blocks).", &bank),
            integrity: f.counter("tt_device_integrity_errors_total", "Integrity errors the trackers of live processes counted, per error.", &with(&DEVICE, &["error"])),
            processes: f.gauge("tt_device_processes", "Live processes that hold or registered the chip.", &DEVICE),
            busy_processes: f.gauge("tt_device_busy_processes", "Live processes left out of this scrape's figures because their ledger changed during every try of the read.", &DEVICE),
        }
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
        set(&self.busy_processes, &id, dev.busy_processes as u64)?;
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
            ("session_refusal", integrity.session_refusals),
            ("impossible_figure", integrity.impossible_figures),
            ("conflicting_identity", integrity.conflicting_identities),
        ];
        for (error, n) in errors {
            count(&self.integrity, &with(&id, &[error]), n)?;
        }
        Ok(())
    }
}

/// Families per process and device (labels `chip_uid`, `arch`, `board`, `pid`, `command`).
struct ProcessFamilies {
    used: Rc<Family>,
    payload: Rc<Family>,
    peak: Rc<Family>,
    integrity: Rc<Family>,
}

const PROCESS: [&str; 5] = ["chip_uid", "arch", "board", "pid", "command"];

impl ProcessFamilies {
    fn new(f: &Families) -> Self {
        let kind = with(&PROCESS, &["kind"]);
        Self {
            used: f.gauge(
                "tt_process_used_bytes",
                "Reserved bytes one process holds on a chip, per kind.",
                &kind,
            ),
            payload: f.gauge(
                "tt_process_payload_bytes",
                "Bytes one process asked for on a chip, per kind.",
                &kind,
            ),
            peak: f.gauge(
                "tt_process_peak_used_bytes",
                "High-water mark of one process's reserved bytes on a chip, per kind.",
                &kind,
            ),
            integrity: f.counter(
                "tt_process_integrity_errors_total",
                "Integrity errors one process's tracker counted on a chip.",
                &PROCESS,
            ),
        }
    }

    fn fill(&self, snapshot: &LedgerSnapshot) -> Result<()> {
        for ((uid, pid), share) in process_shares(snapshot) {
            let (uid, pid) = (uid.to_string(), pid.to_string());
            let board = board_of(share.spec);
            let id = [uid.as_str(), share.arch, board.as_str(), &pid, share.command];
            for kind in MemKind::ALL {
                let labels = with(&id, &[kind.name()]);
                let usage = &share.kinds[kind.index()];
                set(&self.used, &labels, usage.used_bytes)?;
                set(&self.payload, &labels, usage.payload_bytes)?;
                set(&self.peak, &labels, usage.peak_used_bytes)?;
            }
            count(&self.integrity, &id, share.integrity)?;
        }
        Ok(())
    }
}

/// One process's figures on one chip, summed over its segments.
struct ProcessShare<'a> {
    arch: &'a str,
    spec: &'a str,
    command: &'a str,
    kinds: [tt_track::KindUsage; MemKind::COUNT],
    integrity: u64,
}

/// Every process's share of every chip, keyed by (chip, pid): a process with several
/// trackers has one segment per tracker, and a chip registered in two of them would
/// otherwise give two series with one label set, which makes Prometheus reject the whole
/// scrape. Peaks are summed, as the device totals sum them: an upper bound of the true one.
fn process_shares(snapshot: &LedgerSnapshot) -> BTreeMap<(ChipUid, u32), ProcessShare<'_>> {
    let mut shares: BTreeMap<(ChipUid, u32), ProcessShare<'_>> = BTreeMap::new();
    for process in &snapshot.processes {
        for view in &process.devices {
            let share = shares.entry((view.uid, process.pid)).or_insert_with(|| ProcessShare {
                arch: &view.arch,
                spec: &view.spec,
                command: &process.command,
                kinds: Default::default(),
                integrity: 0,
            });
            for (total, usage) in share.kinds.iter_mut().zip(view.kinds.iter()) {
                total.used_bytes = total.used_bytes.saturating_add(usage.used_bytes);
                total.payload_bytes = total.payload_bytes.saturating_add(usage.payload_bytes);
                total.peak_used_bytes = total.peak_used_bytes.saturating_add(usage.peak_used_bytes);
            }
            share.integrity = share.integrity.saturating_add(view.integrity.total());
        }
    }
    shares
}

/// The exposition of `snapshot` in the Prometheus text format, with `idle` chips (seen
/// before, held by no live process now; see [`idle`]) shown at 0.
pub fn render(snapshot: &LedgerSnapshot, idle: &[DeviceTotals]) -> Result<String> {
    let families = Families::default();
    let devices = DeviceFamilies::new(&families);
    let processes = ProcessFamilies::new(&families);
    let ledger_processes =
        families.gauge("tt_ledger_processes", "Live processes in the ledger.", &[]);
    let skipped = families.gauge(
        "tt_ledger_skipped_segments",
        "Ledger segments that could not be read (`ttctl mem` says why).",
        &[],
    );
    let schema = families.gauge(
        "tt_ledger_schema_version",
        "Version of the figures' schema (the `schema_version` of `mem --json`).",
        &[],
    );
    let holder = families.gauge(
        "tt_device_untracked_holder",
        "1 for each process holding the chip open without counting it in any ledger (tracking \
         off, another stack): the chip's usage is unknown, not 0.",
        &["chip_uid", "arch", "board", "pid", "command"],
    );
    let held = |uid| snapshot.untracked_holders.iter().any(|h| h.uid == Some(uid));
    // A chip held untracked is not idle: its usage is unknown, so no 0 is shown for it.
    for dev in snapshot.devices.iter().chain(idle.iter().filter(|d| !held(d.uid))) {
        devices.fill(dev)?;
    }
    for h in &snapshot.untracked_holders {
        let uid = h.uid.map_or_else(|| "unknown".to_owned(), |u| u.to_string());
        let pid = h.pid.to_string();
        let board = board_of(&h.spec);
        set(
            &holder,
            &[uid.as_str(), h.arch.as_str(), board.as_str(), pid.as_str(), h.command.as_str()],
            1,
        )?;
    }
    processes.fill(snapshot)?;
    set(&ledger_processes, &[], snapshot.processes.len() as u64)?;
    set(&skipped, &[], snapshot.skipped.len() as u64)?;
    set(&schema, &[], u64::from(MEM_SCHEMA_VERSION))?;
    let mut text = Vec::new();
    TextEncoder::new().encode(&families.gather(), &mut text)?;
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
            schema_version: 3,
            dir: std::path::PathBuf::new(),
            processes: Vec::new(),
            devices: Vec::new(),
            skipped: Vec::new(),
            removed_dead: Vec::new(),
            untracked_holders: Vec::new(),
        };
        let text = render(&snapshot, &[]).expect("an empty ledger renders");
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            ["tt_ledger_processes 0", "tt_ledger_schema_version 3", "tt_ledger_skipped_segments 0"]
        );
    }
}
