//! `ttctl mem`: the view a person reads (tables per device, fitted to the terminal's width
//! by comfy-table), and the core grid of `--cores`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use comfy_table::{CellAlignment, Table};

use tt_accounting::{BankClass, BankType, MemKind};
use tt_track::{CoreSpread, DeviceCapacity, DeviceTotals, LedgerSnapshot};

use crate::mem::{backend_of, human, Filter};
use crate::text::escape;

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".to_owned();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

/// How far the tables sit under their device's heading.
const INDENT: &str = "  ";

/// The width the view fits when stdout is not a terminal and `COLUMNS` is not set: fixed, so
/// that piped output and tests do not depend on where they run.
pub const DEFAULT_WIDTH: u16 = 100;

/// A table of this view: the columns after the first right-aligned (they are figures), fitted
/// to `width` less the indent.
fn table(header: &[&str], width: u16) -> Table {
    let mut table = crate::table::fitted(header, width.saturating_sub(INDENT.len() as u16));
    for column in table.column_iter_mut().skip(1) {
        column.set_cell_alignment(CellAlignment::Right);
    }
    table
}

/// Writes `table` under the device heading, with a blank line after it.
fn push_table(out: &mut String, table: &Table) {
    for line in table.lines() {
        let _ = writeln!(out, "{INDENT}{}", line.trim_end());
    }
    out.push('\n');
}

/// Used of capacity, free and payload per pool (DRAM, Tensix L1, Ethernet L1).
fn pools(out: &mut String, dev: &DeviceTotals, width: u16) {
    let c: &DeviceCapacity = &dev.capacity;
    let mut rows = vec![
        ("DRAM", dev.dram_used_bytes(), c.dram_bytes, dev.class_payload_bytes(BankClass::Dram)),
        (
            "L1",
            dev.tensix_l1_used_bytes(),
            c.tensix_l1_bytes(),
            dev.class_payload_bytes(BankClass::Tensix),
        ),
    ];
    if c.ethernet_cores > 0 {
        rows.push((
            "Eth L1",
            dev.ethernet_l1_used_bytes(),
            c.ethernet_l1_bytes(),
            dev.class_payload_bytes(BankClass::Ethernet),
        ));
    }
    let mut pools = table(&["POOL", "USED", "OF", "USE%", "FREE", "PAYLOAD"], width);
    for (name, used, capacity, payload) in rows {
        pools.add_row(vec![
            name.to_owned(),
            human(used),
            human(capacity),
            percent(used, capacity),
            human(capacity.saturating_sub(used)),
            human(payload),
        ]);
    }
    push_table(out, &pools);
}

/// Reserved L1 per core (emptiest, mean, fullest), Tensix and Ethernet apart.
fn per_core(out: &mut String, dev: &DeviceTotals, width: u16) {
    let c = &dev.capacity;
    let classes = [
        ("L1/core", &dev.tensix_cores, c.tensix_l1_per_core),
        ("Eth/core", &dev.ethernet_cores, c.ethernet_l1_per_core),
    ];
    let mut spread = table(&["CORES", "MIN", "MEAN", "MAX", "OF", "COUNT"], width);
    for (name, cores, per_core) in classes {
        if cores.is_empty() {
            continue;
        }
        let s = CoreSpread::of(cores);
        spread.add_row(vec![
            name.to_owned(),
            human(s.min),
            human(s.mean),
            human(s.max),
            human(per_core),
            cores.len().to_string(),
        ]);
    }
    if !spread.is_empty() {
        push_table(out, &spread);
    }
}

/// Used, payload and peak bytes of every kind with any of the three.
fn kinds(out: &mut String, dev: &DeviceTotals, width: u16) {
    let mut kinds = table(&["KIND", "USED", "PAYLOAD", "PEAK"], width);
    for kind in MemKind::ALL {
        let k = dev.kind(kind);
        if k.used_bytes == 0 && k.payload_bytes == 0 && k.peak_used_bytes == 0 {
            continue;
        }
        kinds.add_row(vec![
            kind.name().to_owned(),
            human(k.used_bytes),
            human(k.payload_bytes),
            human(k.peak_used_bytes),
        ]);
    }
    if kinds.is_empty() {
        let _ = writeln!(out, "{INDENT}kinds: nothing used, and no peak\n");
    } else {
        push_table(out, &kinds);
    }
}

/// What the allocator of the process holding the chip would hand out, per bank type.
fn allocator(out: &mut String, dev: &DeviceTotals, width: u16) {
    let mut banks = table(
        &["ALLOCATOR", "FREE", "LARGEST BLOCK/BANK", "LARGEST INTERLEAVED", "FREE BLOCKS"],
        width,
    );
    for bank_type in BankType::ALL {
        let Some(h) = dev.bank_health(bank_type) else { continue };
        if h.bank_size == 0 {
            continue;
        }
        let banks_of_type = u64::from(h.banks);
        banks.add_row(vec![
            bank_type.name().to_owned(),
            human(h.free_per_bank.saturating_mul(banks_of_type)),
            human(h.largest_free_per_bank),
            human(h.largest_free_per_bank.saturating_mul(banks_of_type)),
            h.free_blocks.to_string(),
        ]);
    }
    if banks.is_empty() {
        let _ = writeln!(
            out,
            "{INDENT}allocator: not published (no live process holds the chip open)\n"
        );
    } else {
        push_table(out, &banks);
    }
}

/// `kind=bytes` for each kind `figure` gives bytes for, or `nothing`.
fn kind_list(figure: impl Fn(MemKind) -> u64) -> String {
    let kinds: Vec<String> = MemKind::ALL
        .iter()
        .filter(|k| figure(**k) > 0)
        .map(|k| format!("{}={}", k.name(), human(figure(*k))))
        .collect();
    if kinds.is_empty() {
        "nothing".to_owned()
    } else {
        kinds.join(" ")
    }
}

/// The processes using the chip, with what each holds.
fn processes(
    out: &mut String,
    snapshot: &LedgerSnapshot,
    dev: &DeviceTotals,
    filter: &Filter,
    width: u16,
) {
    let mut rows =
        table(&["PID", "COMMAND", "USED", "PAYLOAD", "PEAK", "USED BY KIND", "STATE"], width);
    // The command and the list of kinds are words, not figures.
    for text_column in [1, 5, 6] {
        if let Some(column) = rows.column_mut(text_column) {
            column.set_cell_alignment(CellAlignment::Left);
        }
    }
    for p in snapshot.processes.iter().filter(|p| filter.pid_matches(p.pid)) {
        let Some(view) = p.device(dev.uid) else { continue };
        let mut state =
            if view.open { "open".to_owned() } else { "closed it; bytes still counted".to_owned() };
        if p.integrity_errors() > 0 {
            state.push_str(&format!(", integrity errors {}", p.integrity_errors()));
        }
        rows.add_row(vec![
            p.pid.to_string(),
            escape(&p.command),
            human(view.used_bytes()),
            human(view.payload_bytes()),
            human(view.peak_used_bytes),
            kind_list(|k| view.kind(k).used_bytes),
            state,
        ]);
    }
    if !rows.is_empty() {
        push_table(out, &rows);
    }
}

fn device_block(
    out: &mut String,
    snapshot: &LedgerSnapshot,
    dev: &DeviceTotals,
    filter: &Filter,
    width: u16,
) {
    let spec = if dev.spec.is_empty() { String::new() } else { format!(" {}", dev.spec) };
    let _ = writeln!(out, "device {} {} ({}){spec}", dev.uid, dev.arch, backend_of(dev.uid));
    let _ = writeln!(
        out,
        "{INDENT}processes {}  integrity errors {}\n",
        dev.processes,
        dev.integrity.total()
    );
    if dev.busy_processes > 0 {
        let _ = writeln!(
            out,
            "{INDENT}figures incomplete: {} process(es) changed their ledger throughout this \
             read and are left out (no torn figure is shown); read again\n",
            dev.busy_processes
        );
    }
    pools(out, dev, width);
    per_core(out, dev, width);
    kinds(out, dev, width);
    allocator(out, dev, width);
    processes(out, snapshot, dev, filter, width);
    if filter.cores {
        grid(out, dev);
    }
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

/// The view a person reads, fitted to the terminal (else `COLUMNS`, else
/// [`DEFAULT_WIDTH`]).
pub fn render(snapshot: &LedgerSnapshot, filter: &Filter) -> String {
    render_to_width(snapshot, filter, crate::table::width().unwrap_or(DEFAULT_WIDTH))
}

/// The view fitted to `width` columns: its tables wrap their cells rather than run past it.
pub fn render_to_width(snapshot: &LedgerSnapshot, filter: &Filter, width: u16) -> String {
    let mut out = String::new();
    let devices = filter.devices(snapshot);
    if devices.is_empty() && snapshot.untracked_holders.is_empty() {
        let _ = writeln!(
            out,
            "no device in use by any live process (ledger {})",
            snapshot.dir.display()
        );
    }
    for dev in devices {
        device_block(&mut out, snapshot, dev, filter, width);
    }
    for holder in snapshot.untracked_holders.iter().filter(|h| filter.pid_matches(h.pid)) {
        let _ = writeln!(
            out,
            "device {} {} ({}) held by pid {} ({}), untracked: its usage is unknown\n{INDENT}{}",
            holder.uid.map_or_else(|| "(id unknown)".to_owned(), |u| u.to_string()),
            holder.arch,
            holder.spec,
            holder.pid,
            holder.command,
            escape(&holder.location.display().to_string())
        );
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
