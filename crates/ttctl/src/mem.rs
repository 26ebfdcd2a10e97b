//! `ttctl mem`: the memory view, read from the ledger of every live process.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{json, Map, Value};
use tt_alloc::tracker::MemKind;
use tt_soc::ChipUid;
use tt_track::{DeviceCapacity, LedgerSnapshot};

/// Which devices and processes to show.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Only this chip (unique id, as printed, or its decimal value).
    pub device: Option<String>,
    /// Only this process.
    pub pid: Option<u32>,
}

impl Filter {
    fn device_matches(&self, uid: ChipUid) -> bool {
        self.device.as_deref().is_none_or(|want| {
            let want = want.trim().to_ascii_lowercase();
            let hex = want.trim_start_matches("0x");
            u64::from_str_radix(hex, 16).ok() == Some(uid.0)
                || want.parse::<u64>().ok() == Some(uid.0)
        })
    }
}

/// `sim` or `pcie`, from the chip id: simulated chips carry the simulator's tag.
pub fn backend_of(uid: ChipUid) -> &'static str {
    if tt_soc::SocDescriptor::is_sim_chip_uid(uid) {
        "sim"
    } else {
        "pcie"
    }
}

fn used_json(current: impl Fn(MemKind) -> u64) -> Value {
    let mut used = Map::new();
    for kind in MemKind::ALL {
        used.insert(kind.name().to_string(), json!(current(kind)));
    }
    Value::Object(used)
}

/// The stable JSON form (`schema_version` 1): bytes as integers, one entry per device with
/// its processes.
pub fn to_json(snapshot: &LedgerSnapshot, filter: &Filter) -> Value {
    let mut devices = Vec::new();
    for dev in snapshot.devices.iter().filter(|d| filter.device_matches(d.uid)) {
        let processes: Vec<Value> = snapshot
            .processes
            .iter()
            .filter(|p| filter.pid.is_none_or(|pid| p.pid == pid))
            .filter_map(|p| {
                let view = p.devices.iter().find(|d| d.uid == dev.uid)?;
                Some(json!({
                    "pid": p.pid,
                    "command": p.command,
                    "used": used_json(|k| view.kind(k).current_bytes),
                    "integrity_errors": view.integrity.total(),
                }))
            })
            .collect();
        devices.push(json!({
            "chip_uid": dev.uid.to_string(),
            "arch": dev.arch,
            "backend": backend_of(dev.uid),
            "capacity": {
                "dram": dev.capacity.dram_bytes,
                "l1": dev.capacity.l1_bytes_total,
                "l1_per_core": dev.capacity.l1_bytes_per_core,
                "cores": dev.capacity.core_count,
            },
            "used": used_json(|k| dev.kind(k).current_bytes),
            "processes": processes,
            "integrity_errors": dev.integrity.total(),
        }));
    }
    let skipped: Vec<Value> = snapshot
        .skipped
        .iter()
        .map(|s| json!({"path": s.path.display().to_string(), "reason": s.reason.to_string()}))
        .collect();
    json!({
        "schema_version": 1,
        "devices": devices,
        "dead_segments_removed": snapshot.removed_dead.len(),
        "skipped_segments": skipped,
    })
}

/// Bytes in a short human form (binary units).
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn l1_used(current: &dyn Fn(MemKind) -> u64) -> u64 {
    MemKind::ALL.iter().filter(|k| k.is_l1()).map(|k| current(*k)).sum()
}

/// One device's usage lines: capacity, DRAM and L1 (chip total and per core), then each
/// kind in use.
fn device_lines(
    out: &mut String,
    indent: &str,
    capacity: &DeviceCapacity,
    current: &dyn Fn(MemKind) -> u64,
) {
    let dram_used = current(MemKind::Dram) + current(MemKind::Trace);
    let l1 = l1_used(current);
    let cores = capacity.core_count.max(1);
    out.push_str(&format!(
        "{indent}DRAM {:>11} of {:>11}   L1 {:>11} of {:>11}   per core {:>10} of {:>10}\n",
        human(dram_used),
        human(capacity.dram_bytes),
        human(l1),
        human(capacity.l1_bytes_total),
        human(l1 / cores),
        human(capacity.l1_bytes_per_core),
    ));
    let kinds: Vec<String> =
        MemKind::ALL.iter().map(|k| format!("{}={}", k.name(), human(current(*k)))).collect();
    out.push_str(&format!("{indent}{}\n", kinds.join("  ")));
}

/// The table a person reads.
pub fn render(snapshot: &LedgerSnapshot, filter: &Filter) -> String {
    let mut out = String::new();
    let devices: Vec<_> =
        snapshot.devices.iter().filter(|d| filter.device_matches(d.uid)).collect();
    if devices.is_empty() {
        out.push_str(&format!(
            "no device in use by any live process (ledger {})\n",
            snapshot.dir.display()
        ));
    }
    for dev in devices {
        out.push_str(&format!(
            "device {} {} ({})  processes {}  integrity errors {}\n",
            dev.uid,
            dev.arch,
            backend_of(dev.uid),
            dev.processes,
            dev.integrity.total()
        ));
        device_lines(&mut out, "  ", &dev.capacity, &|k| dev.kind(k).current_bytes);
        for p in snapshot.processes.iter().filter(|p| filter.pid.is_none_or(|pid| p.pid == pid)) {
            let Some(view) = p.devices.iter().find(|d| d.uid == dev.uid) else { continue };
            out.push_str(&format!("  pid {:<8} {}\n", p.pid, p.command));
            device_lines(&mut out, "    ", &view.capacity, &|k| view.kind(k).current_bytes);
        }
    }
    if !snapshot.removed_dead.is_empty() {
        out.push_str(&format!("dead segments removed: {}\n", snapshot.removed_dead.len()));
    }
    for s in &snapshot.skipped {
        out.push_str(&format!("skipped {}: {}\n", s.path.display(), s.reason));
    }
    out
}

/// `ttctl mem`.
pub fn mem(json_out: bool, watch: Option<f64>, filter: &Filter) -> Result<()> {
    let dir = tt_track::default_ledger_dir();
    let read = || {
        tt_track::read_ledger(&dir)
            .with_context(|| format!("reading the ledger in {}", dir.display()))
    };
    let Some(secs) = watch else {
        let snapshot = read()?;
        if json_out {
            outln!("{}", serde_json::to_string_pretty(&to_json(&snapshot, filter))?)?;
        } else {
            out!("{}", render(&snapshot, filter))?;
        }
        return Ok(());
    };
    let period = Duration::from_secs_f64(secs.max(0.1));
    let terminal = std::io::stdout().is_terminal();
    loop {
        let snapshot = read()?;
        if json_out {
            outln!("{}", serde_json::to_string(&to_json(&snapshot, filter))?)?;
        } else {
            if terminal {
                // Home the cursor and clear, so the view refreshes in place.
                out!("\x1b[H\x1b[2J")?;
            }
            out!("{}", render(&snapshot, filter))?;
        }
        std::thread::sleep(period);
    }
}
