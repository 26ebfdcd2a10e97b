//! `ttctl mem --json`: the stable machine form (`schema_version` 2). Bytes are integers in
//! bytes; a figure nobody published is `null`, never 0.

use serde_json::{json, Map, Value};
use tt_accounting::{BankClass, BankHealth, BankType, MemKind};
use tt_track::{CoreSpread, CoreUsage, DeviceTotals, LedgerSnapshot};

use crate::mem::{backend_of, Filter};

/// The JSON schema version `mem --json` writes.
pub const MEM_SCHEMA_VERSION: u32 = 2;

fn per_kind(figure: impl Fn(MemKind) -> u64) -> Value {
    let map: Map<String, Value> =
        MemKind::ALL.iter().map(|k| (k.name().to_owned(), json!(figure(*k)))).collect();
    Value::Object(map)
}

fn pool(capacity: u64, used: u64, payload: u64) -> Value {
    json!({
        "capacity": capacity,
        "used": used,
        "free": capacity.saturating_sub(used),
        "payload": payload,
    })
}

fn spread(cores: &[CoreUsage]) -> Value {
    if cores.is_empty() {
        return Value::Null;
    }
    let s = CoreSpread::of(cores);
    json!({"min": s.min, "mean": s.mean, "max": s.max})
}

fn health(h: Option<&BankHealth>) -> Value {
    let Some(h) = h else { return Value::Null };
    json!({
        "banks": h.banks,
        "bank_size": h.bank_size,
        "free_per_bank": h.free_per_bank,
        "free": h.free_per_bank.saturating_mul(u64::from(h.banks)),
        "largest_free_per_bank": h.largest_free_per_bank,
        "largest_interleaved": h.largest_free_per_bank.saturating_mul(u64::from(h.banks)),
        "free_blocks": h.free_blocks,
        "allocated_blocks": h.allocated_blocks,
    })
}

fn cores_json(dev: &DeviceTotals) -> Value {
    let capacity = &dev.capacity;
    let tensix = dev.tensix_cores.iter().map(|c| (c, "tensix", capacity.tensix_l1_per_core));
    let ethernet =
        dev.ethernet_cores.iter().map(|c| (c, "ethernet", capacity.ethernet_l1_per_core));
    Value::Array(
        tensix
            .chain(ethernet)
            .map(|(c, kind, per_core)| {
                json!({"x": c.x, "y": c.y, "kind": kind, "used": c.used_bytes, "capacity": per_core})
            })
            .collect(),
    )
}

fn device_json(snapshot: &LedgerSnapshot, dev: &DeviceTotals, filter: &Filter) -> Value {
    let processes: Vec<Value> = snapshot
        .processes
        .iter()
        .filter(|p| filter.pid_matches(p.pid))
        .filter_map(|p| {
            let view = p.device(dev.uid)?;
            Some(json!({
                "pid": p.pid,
                "command": p.command,
                "start_time_ticks": p.start_time_ticks,
                "open": view.open,
                "used": per_kind(|k| view.kind(k).used_bytes),
                "payload": per_kind(|k| view.kind(k).payload_bytes),
                "peak": per_kind(|k| view.kind(k).peak_used_bytes),
                "peak_used": view.peak_used_bytes,
                "live": per_kind(|k| view.kind(k).live_count),
                "integrity_errors": view.integrity.total(),
            }))
        })
        .collect();
    let allocator: Map<String, Value> =
        BankType::ALL.iter().map(|t| (t.name().to_owned(), health(dev.bank_health(*t)))).collect();
    let capacity = &dev.capacity;
    json!({
        "chip_uid": dev.uid.to_string(),
        "arch": dev.arch,
        "backend": backend_of(dev.uid),
        "spec": if dev.spec.is_empty() { Value::Null } else { json!(dev.spec) },
        "capacity": {
            "dram": capacity.dram_bytes,
            "dram_banks": capacity.dram_banks,
            "l1": capacity.tensix_l1_bytes(),
            "l1_per_core": capacity.tensix_l1_per_core,
            "cores": capacity.tensix_cores,
            "ethernet_l1": capacity.ethernet_l1_bytes(),
            "ethernet_l1_per_core": capacity.ethernet_l1_per_core,
            "ethernet_cores": capacity.ethernet_cores,
        },
        "used": per_kind(|k| dev.kind(k).used_bytes),
        "payload": per_kind(|k| dev.kind(k).payload_bytes),
        "peak": per_kind(|k| dev.kind(k).peak_used_bytes),
        "peak_used": dev.peak_used_bytes,
        "live": per_kind(|k| dev.kind(k).live_count),
        "placed": per_kind(|k| dev.kind(k).placed_count),
        "released": per_kind(|k| dev.kind(k).released_count),
        "memory": {
            "dram": pool(capacity.dram_bytes, dev.dram_used_bytes(), dev.class_payload_bytes(BankClass::Dram)),
            "l1": pool(capacity.tensix_l1_bytes(), dev.tensix_l1_used_bytes(), dev.class_payload_bytes(BankClass::Tensix)),
            "ethernet_l1": pool(capacity.ethernet_l1_bytes(), dev.ethernet_l1_used_bytes(), dev.class_payload_bytes(BankClass::Ethernet)),
        },
        "l1_per_core": spread(&dev.tensix_cores),
        "ethernet_l1_per_core": spread(&dev.ethernet_cores),
        "cores": cores_json(dev),
        "allocator": allocator,
        "processes": processes,
        "integrity_errors": dev.integrity.total(),
        "integrity": {
            "double_releases": dev.integrity.double_releases,
            "foreign_placements": dev.integrity.foreign_placements,
            "inherited_uses": dev.integrity.inherited_uses,
            "impossible_figures": dev.integrity.impossible_figures,
        },
    })
}

/// The whole `mem --json` document.
pub fn to_json(snapshot: &LedgerSnapshot, filter: &Filter) -> Value {
    let devices: Vec<Value> =
        filter.devices(snapshot).into_iter().map(|d| device_json(snapshot, d, filter)).collect();
    let processes: Vec<Value> = snapshot
        .processes
        .iter()
        .filter(|p| filter.pid_matches(p.pid))
        .map(|p| {
            json!({
                "pid": p.pid,
                "command": p.command,
                "start_time_ticks": p.start_time_ticks,
                "devices": p.devices.iter().map(|d| d.uid.to_string()).collect::<Vec<_>>(),
                "integrity_errors": p.integrity_errors(),
            })
        })
        .collect();
    let skipped: Vec<Value> = snapshot
        .skipped
        .iter()
        .map(|s| json!({"path": s.path.display().to_string(), "reason": s.reason.to_string()}))
        .collect();
    json!({
        "schema_version": MEM_SCHEMA_VERSION,
        "devices": devices,
        "processes": processes,
        "dead_segments_removed": snapshot.removed_dead.len(),
        "skipped_segments": skipped,
    })
}
