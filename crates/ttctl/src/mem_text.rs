//! `ttctl mem`: the table a person reads, and the core grid of `--cores`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use tt_accounting::{BankClass, BankType, MemKind};
use tt_track::{CoreSpread, CoreUsage, DeviceCapacity, DeviceTotals, LedgerSnapshot};

use crate::mem::{backend_of, human, Filter};

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".to_owned();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

/// One pool's line: used of capacity, free, payload.
fn pool_line(out: &mut String, name: &str, used: u64, capacity: u64, payload: u64) {
    let _ = writeln!(
        out,
        "  {name:<10}used {:>10} of {:>10} ({:>6})  free {:>10}  payload {:>10}",
        human(used),
        human(capacity),
        percent(used, capacity),
        human(capacity.saturating_sub(used)),
        human(payload),
    );
}

fn kinds_line(out: &mut String, indent: &str, label: &str, figure: impl Fn(MemKind) -> u64) {
    let kinds: Vec<String> = MemKind::ALL
        .iter()
        .filter(|k| figure(**k) > 0)
        .map(|k| format!("{}={}", k.name(), human(figure(*k))))
        .collect();
    let shown = if kinds.is_empty() { "nothing".to_owned() } else { kinds.join("  ") };
    let _ = writeln!(out, "{indent}{label:<10}{shown}");
}

fn spread_line(out: &mut String, name: &str, cores: &[CoreUsage], per_core: u64) {
    if cores.is_empty() {
        return;
    }
    let s = CoreSpread::of(cores);
    let _ = writeln!(
        out,
        "  {name:<10}min {:>10}  mean {:>10}  max {:>10}  of {} per core ({} cores)",
        human(s.min),
        human(s.mean),
        human(s.max),
        human(per_core),
        cores.len()
    );
}

fn allocator_lines(out: &mut String, dev: &DeviceTotals) {
    let mut first = true;
    for bank_type in BankType::ALL {
        let Some(h) = dev.bank_health(bank_type) else { continue };
        if h.bank_size == 0 {
            continue;
        }
        let label = if first { "allocator" } else { "" };
        first = false;
        let banks = u64::from(h.banks);
        let _ = writeln!(
            out,
            "  {label:<10}{:<13} free {:>10}  largest block {:>10}/bank ({:>10} interleaved)  {} free blocks",
            bank_type.name(),
            human(h.free_per_bank.saturating_mul(banks)),
            human(h.largest_free_per_bank),
            human(h.largest_free_per_bank.saturating_mul(banks)),
            h.free_blocks,
        );
    }
    if first {
        let _ = writeln!(out, "  allocator (not published: no live process holds the chip open)");
    }
}

fn device_block(out: &mut String, snapshot: &LedgerSnapshot, dev: &DeviceTotals, filter: &Filter) {
    let spec = if dev.spec.is_empty() { String::new() } else { format!(" {}", dev.spec) };
    let _ = writeln!(
        out,
        "device {} {} ({}){spec}  processes {}  integrity errors {}",
        dev.uid,
        dev.arch,
        backend_of(dev.uid),
        dev.processes,
        dev.integrity.total()
    );
    let c: &DeviceCapacity = &dev.capacity;
    pool_line(
        out,
        "DRAM",
        dev.dram_used_bytes(),
        c.dram_bytes,
        dev.class_payload_bytes(BankClass::Dram),
    );
    pool_line(
        out,
        "L1",
        dev.tensix_l1_used_bytes(),
        c.tensix_l1_bytes(),
        dev.class_payload_bytes(BankClass::Tensix),
    );
    if c.ethernet_cores > 0 {
        pool_line(
            out,
            "Eth L1",
            dev.ethernet_l1_used_bytes(),
            c.ethernet_l1_bytes(),
            dev.class_payload_bytes(BankClass::Ethernet),
        );
    }
    spread_line(out, "L1/core", &dev.tensix_cores, c.tensix_l1_per_core);
    spread_line(out, "Eth/core", &dev.ethernet_cores, c.ethernet_l1_per_core);
    kinds_line(out, "  ", "used", |k| dev.kind(k).used_bytes);
    kinds_line(out, "  ", "payload", |k| dev.kind(k).payload_bytes);
    kinds_line(out, "  ", "peak", |k| dev.kind(k).peak_used_bytes);
    allocator_lines(out, dev);
    for p in snapshot.processes.iter().filter(|p| filter.pid_matches(p.pid)) {
        let Some(view) = p.device(dev.uid) else { continue };
        let state = if view.open { "" } else { " (closed it; bytes still counted)" };
        let errors = match p.integrity_errors() {
            0 => String::new(),
            n => format!("  integrity errors {n}"),
        };
        let _ = writeln!(
            out,
            "  pid {:<8} {}  used {}  payload {}  peak {}{state}{errors}",
            p.pid,
            escape(&p.command),
            human(view.used_bytes()),
            human(view.payload_bytes()),
            human(view.peak_used_bytes),
        );
        kinds_line(out, "    ", "used", |k| view.kind(k).used_bytes);
    }
    if filter.cores {
        grid(out, dev);
    }
}

/// Text from a segment with control characters shown as escapes, so a hostile command name
/// cannot move the cursor or clear the screen.
pub fn escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] })
        .collect()
}

/// The chip's grid: each core's L1 fill in percent of its own capacity (Ethernet cores
/// marked `e`), rows by NOC0 y, columns by NOC0 x.
fn grid(out: &mut String, dev: &DeviceTotals) {
    let c = &dev.capacity;
    let mut cells: BTreeMap<(u8, u8), String> = BTreeMap::new();
    let fill = |used: u64, capacity: u64| {
        if capacity == 0 {
            return "?".to_owned();
        }
        let pct = (used.saturating_mul(100) / capacity).min(100);
        if pct >= 100 {
            "##".to_owned()
        } else {
            pct.to_string()
        }
    };
    for core in &dev.tensix_cores {
        cells.insert((core.x, core.y), fill(core.used_bytes, c.tensix_l1_per_core));
    }
    for core in &dev.ethernet_cores {
        cells.insert(
            (core.x, core.y),
            format!("e{}", fill(core.used_bytes, c.ethernet_l1_per_core)),
        );
    }
    if cells.is_empty() || cells.keys().all(|&(x, y)| (x, y) == (0, 0)) {
        let _ = writeln!(out, "  cores: positions not recorded by the process holding the chip");
        return;
    }
    let max_x = cells.keys().map(|k| k.0).max().unwrap_or(0);
    let max_y = cells.keys().map(|k| k.1).max().unwrap_or(0);
    let _ = writeln!(
        out,
        "  L1 fill per core, % of its L1 (e = Ethernet; . = no Tensix or Ethernet core)"
    );
    let mut header = String::from("     ");
    for x in 0..=max_x {
        let _ = write!(header, "{x:>4}");
    }
    let _ = writeln!(out, "{header}");
    for y in 0..=max_y {
        let mut row = format!("  {y:>2} ");
        for x in 0..=max_x {
            let cell = cells.get(&(x, y)).map_or(".", String::as_str);
            let _ = write!(row, "{cell:>4}");
        }
        let _ = writeln!(out, "{row}");
    }
}

/// The table a person reads.
pub fn render(snapshot: &LedgerSnapshot, filter: &Filter) -> String {
    let mut out = String::new();
    let devices = filter.devices(snapshot);
    if devices.is_empty() {
        let _ = writeln!(
            out,
            "no device in use by any live process (ledger {})",
            snapshot.dir.display()
        );
    }
    for dev in devices {
        device_block(&mut out, snapshot, dev, filter);
    }
    if !snapshot.removed_dead.is_empty() {
        let _ =
            writeln!(out, "segments of dead processes removed: {}", snapshot.removed_dead.len());
    }
    for s in &snapshot.skipped {
        let _ = writeln!(out, "skipped {}: {}", s.path.display(), escape(&s.reason.to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_from_a_segment_are_shown_escaped() {
        assert_eq!(escape("ttctl\x1b[2J\n"), "ttctl\\u{1b}[2J\\n");
        assert_eq!(escape("plain é"), "plain é");
    }
}
