//! Draws `ttctl top`: a header, a bar per memory kind against its pool's capacity, the
//! chip's core grid shaded by L1 fill, the largest free block per bank type, a chart of used
//! bytes per kind over the last minutes, and the per-process table. Fits 80x24.

use std::collections::BTreeMap;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph, Row, Table};
use ratatui::Frame;
use tt_accounting::{BankType, MemKind};
use tt_track::{DeviceTotals, ProcessView};

use crate::mem::{backend_of, device_name, human};
use crate::top::{ProcessSort, TopState, HISTORY};

/// A colour per kind, the same in the bars and the chart.
fn colour(kind: MemKind) -> Color {
    match kind {
        MemKind::Dram => Color::Blue,
        MemKind::L1 => Color::Green,
        MemKind::L1Small => Color::LightGreen,
        MemKind::Trace => Color::Magenta,
        MemKind::Cb => Color::Cyan,
        MemKind::Kernel => Color::Yellow,
        MemKind::System => Color::Red,
        MemKind::Reserved => Color::DarkGray,
    }
}

/// The capacity a kind's bytes count against: DRAM for DRAM, the chip's L1 for the rest.
fn pool_capacity(dev: &DeviceTotals, kind: MemKind) -> u64 {
    let c = &dev.capacity;
    match kind {
        MemKind::Dram => c.dram_bytes,
        _ => c.tensix_l1_bytes().saturating_add(c.ethernet_l1_bytes()),
    }
}

/// A bar of `width` cells filled `part / whole`.
fn bar(part: u64, whole: u64, width: usize) -> String {
    let filled = if whole == 0 {
        0
    } else {
        ((part as u128 * width as u128).div_ceil(whole as u128) as usize).min(width)
    };
    format!("{}{}", "█".repeat(filled), "·".repeat(width - filled))
}

fn kinds(dev: &DeviceTotals, area: Rect) -> Paragraph<'static> {
    // Name, bar, then "used / capacity": the bar takes what is left.
    let width = (area.width as usize).saturating_sub(2 + 9 + 22).max(4);
    let lines: Vec<Line<'static>> = MemKind::ALL
        .iter()
        .map(|&kind| {
            let used = dev.kind(kind).used_bytes;
            let capacity = pool_capacity(dev, kind);
            Line::from(vec![
                Span::raw(format!("{:<9}", kind.name())),
                Span::styled(bar(used, capacity, width), Style::new().fg(colour(kind))),
                Span::raw(format!(" {:>9}/{:<9}", human(used), human(capacity))),
            ])
        })
        .collect();
    Paragraph::new(lines).block(Block::bordered().title(" used (reserved) by kind "))
}

/// One character per core: blank when empty, then ░ ▒ ▓ █ by quarters of its L1, `.` where
/// there is no Tensix or Ethernet core.
fn shade(used: u64, capacity: u64) -> char {
    if used == 0 || capacity == 0 {
        return ' ';
    }
    match used.saturating_mul(4) / capacity {
        0 => '░',
        1 => '▒',
        2 => '▓',
        _ => '█',
    }
}

fn grid(dev: &DeviceTotals) -> Paragraph<'static> {
    let c = &dev.capacity;
    let mut cells: BTreeMap<(u8, u8), char> = BTreeMap::new();
    for core in &dev.tensix_cores {
        cells.insert((core.y, core.x), shade(core.used_bytes, c.tensix_l1_per_core));
    }
    for core in &dev.ethernet_cores {
        cells.insert((core.y, core.x), shade(core.used_bytes, c.ethernet_l1_per_core));
    }
    let max_x = cells.keys().map(|k| k.1).max().unwrap_or(0);
    let max_y = cells.keys().map(|k| k.0).max().unwrap_or(0);
    let lines: Vec<Line<'static>> = (0..=max_y)
        .map(|y| {
            let row: String =
                (0..=max_x).map(|x| cells.get(&(y, x)).copied().unwrap_or('.')).collect();
            Line::raw(row)
        })
        .collect();
    Paragraph::new(lines).block(Block::bordered().title(" L1/core "))
}

/// Columns of the core grid: the highest NOC x plus one.
fn grid_columns(dev: &DeviceTotals) -> u16 {
    let cores = dev.tensix_cores.iter().chain(&dev.ethernet_cores);
    cores.map(|c| u16::from(c.x) + 1).max().unwrap_or(1)
}

fn allocator(dev: &DeviceTotals) -> Paragraph<'static> {
    let lines: Vec<Line<'static>> = BankType::ALL
        .iter()
        .filter_map(|&t| {
            let h = dev.bank_health(t).filter(|h| h.bank_size > 0)?;
            Some(Line::raw(format!(
                "{:<13}{:>9} {:>4} blk",
                t.name(),
                human(h.largest_free_per_bank),
                h.free_blocks
            )))
        })
        .collect();
    let lines = if lines.is_empty() { vec![Line::raw("not published")] } else { lines };
    Paragraph::new(lines).block(Block::bordered().title(" largest free/bank "))
}

fn chart(points: &[Vec<(f64, f64)>]) -> Chart<'_> {
    let top = points.iter().flatten().map(|p| p.1).fold(1.0, f64::max);
    let datasets = MemKind::ALL
        .iter()
        .zip(points)
        .filter(|(_, p)| p.iter().any(|(_, y)| *y > 0.0))
        .map(|(&kind, p)| {
            Dataset::default()
                .name(kind.name())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(colour(kind)))
                .data(p)
        })
        .collect();
    let span = HISTORY.as_secs_f64();
    let title = format!(" used over the last {} min ", HISTORY.as_secs() / 60);
    Chart::new(datasets)
        .block(Block::bordered().title(title))
        .x_axis(Axis::default().bounds([-span, 0.0]))
        .y_axis(
            Axis::default()
                .bounds([0.0, top])
                .labels([Line::raw("0"), Line::raw(human(top as u64))]),
        )
}

/// Per kind, (seconds before the latest sample, used bytes) of the shown device.
fn history_points(state: &TopState, dev: &DeviceTotals) -> Vec<Vec<(f64, f64)>> {
    let Some(samples) = state.history.get(&dev.uid) else {
        return vec![Vec::new(); MemKind::COUNT];
    };
    let Some(last) = samples.back() else { return vec![Vec::new(); MemKind::COUNT] };
    MemKind::ALL
        .iter()
        .map(|kind| {
            samples
                .iter()
                .map(|s| {
                    let ago = last.at.duration_since(s.at).as_secs_f64();
                    (-ago, s.used[kind.index()] as f64)
                })
                .collect()
        })
        .collect()
}

fn processes(state: &TopState, dev: &DeviceTotals) -> Table<'static> {
    let mut rows: Vec<(&ProcessView, u64, u64)> = state
        .snapshot
        .processes
        .iter()
        .filter_map(|p| p.device(dev.uid).map(|v| (p, v.used_bytes(), v.peak_used_bytes)))
        .collect();
    match state.sort {
        ProcessSort::Used => rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.pid.cmp(&b.0.pid))),
        ProcessSort::Peak => rows.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.pid.cmp(&b.0.pid))),
        ProcessSort::Pid => rows.sort_by_key(|r| r.0.pid),
    }
    let body: Vec<Row<'static>> = rows
        .iter()
        .map(|(p, used, peak)| {
            Row::new(vec![
                p.pid.to_string(),
                crate::text::escape(&p.command),
                human(*used),
                human(*peak),
                p.integrity_errors().to_string(),
            ])
        })
        .collect();
    let header = Row::new(["pid", "command", "used", "peak", "errors"])
        .style(Style::new().add_modifier(Modifier::BOLD));
    Table::new(
        body,
        [
            Constraint::Length(8),
            Constraint::Min(10),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Length(6),
        ],
    )
    .header(header)
    .block(Block::bordered().title(format!(" processes (sorted by {}) ", state.sort.name())))
}

fn header(state: &TopState) -> Line<'static> {
    let keys = "←/→ device  s sort  q quit";
    let Some(dev) = state.device() else {
        return Line::raw(format!("ttctl top  no device in use by any live process   {keys}"));
    };
    Line::from(vec![
        Span::styled("ttctl top ", Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(format!(
            "{}/{} {} {} ({})  procs {}  integrity errors {}  {keys}",
            state.selected + 1,
            state.snapshot.devices.len(),
            device_name(dev),
            dev.arch,
            backend_of(dev.uid),
            dev.processes,
            dev.integrity.total(),
        )),
    ])
}

/// Draws the whole screen for `state` into `frame`.
pub fn draw(frame: &mut Frame<'_>, state: &TopState) {
    let [top, body] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(frame.area());
    frame.render_widget(Paragraph::new(header(state)), top);
    let Some(dev) = state.device() else {
        frame.render_widget(
            Paragraph::new(format!(
                "Nothing to show: the ledger in {} has no live process holding a device.\n\
                 Start a workload (`ttctl run programs`) and it appears here.",
                state.snapshot.dir.display()
            ))
            .block(Block::bordered()),
            body,
        );
        return;
    };
    let [upper, middle, lower] =
        Layout::vertical([Constraint::Length(10), Constraint::Min(6), Constraint::Length(6)])
            .areas(body);
    let grid_width = grid_columns(dev) + 2;
    let [bars, cores] =
        Layout::horizontal([Constraint::Min(30), Constraint::Length(grid_width.max(11))])
            .areas(upper);
    frame.render_widget(kinds(dev, bars), bars);
    frame.render_widget(grid(dev), cores);
    let [history, free] =
        Layout::horizontal([Constraint::Min(30), Constraint::Length(30)]).areas(middle);
    let points = history_points(state, dev);
    frame.render_widget(chart(&points), history);
    frame.render_widget(allocator(dev), free);
    frame.render_widget(processes(state, dev), lower);
}
