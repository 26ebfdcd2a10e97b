//! `ttctl leaks`: what is still placed, per process, with owner, age, place and provenance.

use anyhow::Result;
use serde::Serialize;
use tt_accounting::BankClass;
use tt_track::LiveRecord;

use crate::mem::human;
use crate::text::escape;

/// The JSON schema version `leaks --json` writes (2: reserved and payload bytes, age, place).
pub const LEAKS_SCHEMA_VERSION: u32 = 2;

/// Placements listed per device unless `--limit` says otherwise: a process can keep 32,768
/// live per device, and a listing of all of them (times 16 devices, times processes) is
/// output no one reads and work a monitor should not do by default.
pub const DEFAULT_LIMIT: usize = 50;

/// Where a placement sits: `12 dram banks @0x1000`, `64 tensix cores @0x48000`, `core 3`.
fn place(record: &LiveRecord) -> String {
    let unit = match record.class {
        BankClass::Dram => "dram bank",
        BankClass::Tensix => "tensix core",
        BankClass::Ethernet => "ethernet core",
    };
    let what = match record.banks {
        1 => format!("{unit} {}", record.first_bank),
        n if record.first_bank == 0 => format!("{n} {unit}s"),
        n => format!("{n} {unit}s from {}", record.first_bank),
    };
    format!("{what} @{:#x}", record.address)
}

/// Seconds as `4.2s`, `3m07s`, `2h05m`.
fn age(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    match secs {
        0..=59 => format!("{:.1}s", ns as f64 / 1e9),
        60..=3599 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// One live placement in `leaks --json`.
#[derive(Serialize)]
struct RecordJson {
    id: u64,
    kind: &'static str,
    bytes: u64,
    payload_bytes: u64,
    class: &'static str,
    address: u64,
    first_bank: u32,
    banks: u32,
    age_seconds: f64,
    owner: String,
    owner_truncated: bool,
    provenance: String,
}

impl From<&LiveRecord> for RecordJson {
    fn from(r: &LiveRecord) -> RecordJson {
        RecordJson {
            id: r.id.get(),
            kind: r.kind.name(),
            bytes: r.bytes,
            payload_bytes: r.payload_bytes,
            class: r.class.name(),
            address: r.address,
            first_bank: r.first_bank,
            banks: r.banks,
            age_seconds: r.age_ns() as f64 / 1e9,
            owner: r.owner.clone(),
            owner_truncated: r.owner_cut,
            provenance: r.provenance(),
        }
    }
}

/// One device of a process in `leaks --json`.
#[derive(Serialize)]
struct DeviceJson {
    chip_uid: String,
    arch: String,
    spec: Option<String>,
    open: bool,
    live_records: Vec<RecordJson>,
    /// Live placements listed in the ledger but beyond `--limit`.
    live_records_not_shown: usize,
    live_records_not_listed: u64,
}

/// One process in `leaks --json`.
#[derive(Serialize)]
struct ProcessJson {
    pid: u32,
    command: String,
    devices: Vec<DeviceJson>,
}

/// The `leaks --json` document.
#[derive(Serialize)]
struct LeaksDocument {
    schema_version: u32,
    includes_baseline: bool,
    processes: Vec<ProcessJson>,
}

/// `ttctl leaks [--json] [--all] [--limit N]`: live placements other than the SYSTEM and
/// RESERVED baseline of open devices (all of them with `all`), at most `limit` per device.
pub fn leaks(json_out: bool, all: bool, limit: usize) -> Result<()> {
    let snapshot = crate::mem::read_all()?;
    let dir = snapshot.dir.clone();
    let shown = |r: &&LiveRecord| all || !r.kind.is_baseline();
    if json_out {
        let processes = snapshot
            .processes
            .iter()
            .map(|p| ProcessJson {
                pid: p.pid,
                command: p.command.clone(),
                devices: p
                    .devices
                    .iter()
                    .map(|d| {
                        let records: Vec<&LiveRecord> =
                            d.live_records.iter().filter(shown).collect();
                        DeviceJson {
                            chip_uid: d.uid.to_string(),
                            arch: d.arch.clone(),
                            spec: (!d.spec.is_empty()).then(|| d.spec.clone()),
                            open: d.open,
                            live_records_not_shown: records.len().saturating_sub(limit),
                            live_records: records
                                .into_iter()
                                .take(limit)
                                .map(RecordJson::from)
                                .collect(),
                            live_records_not_listed: d.live_records_not_listed,
                        }
                    })
                    .collect(),
            })
            .collect();
        let document = LeaksDocument {
            schema_version: LEAKS_SCHEMA_VERSION,
            includes_baseline: all,
            processes,
        };
        outln!("{}", serde_json::to_string_pretty(&document)?)?;
        return Ok(());
    }
    let mut any = false;
    for p in &snapshot.processes {
        for d in &p.devices {
            let records: Vec<&LiveRecord> = d.live_records.iter().filter(shown).collect();
            if records.is_empty() && d.live_records_not_listed == 0 {
                continue;
            }
            any = true;
            let state = if d.open { "" } else { " (closed)" };
            outln!("pid {} {} on {} {}{state}:", p.pid, escape(&p.command), d.uid, d.arch)?;
            let not_shown = records.len().saturating_sub(limit);
            for r in records.into_iter().take(limit) {
                outln!(
                    "  #{:<8} {:<8} {:>10} used {:>10} payload  {:>7} old  {}  {}  ({})",
                    r.id.get(),
                    r.kind.name(),
                    human(r.bytes),
                    human(r.payload_bytes),
                    age(r.age_ns()),
                    place(r),
                    escape(&r.owner_display()),
                    escape(&r.provenance())
                )?;
            }
            if not_shown > 0 {
                outln!("  ... and {not_shown} more not shown (--limit {limit})")?;
            }
            if d.live_records_not_listed > 0 {
                outln!(
                    "  ... and {} more placements not listed (live table full)",
                    d.live_records_not_listed
                )?;
            }
        }
    }
    if !any {
        let what = if all {
            "nothing is placed"
        } else {
            "nothing beyond the SYSTEM and RESERVED baseline is placed"
        };
        outln!("{what} by any live process (ledger {})", dir.display())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_in_the_largest_sensible_unit() {
        assert_eq!(age(4_200_000_000), "4.2s");
        assert_eq!(age(187 * 1_000_000_000), "3m07s");
        assert_eq!(age(7_500 * 1_000_000_000), "2h05m");
    }
}
