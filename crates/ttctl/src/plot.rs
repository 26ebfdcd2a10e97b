//! `ttctl plot`: draws a `ttctl record` file, used bytes per kind over time with each
//! kind's peak marked, one chart per device (plotters, SVG or PNG by the file's extension),
//! and prints what held L1 at each device's L1 peak.
//!
//! The curves are rebuilt from the event rings between samples, so a placement that lived
//! less than a sampling period shows as a spike. A placement is drawn at the time its event
//! carries; a release carries none (reading the clock would cost more than recording the
//! release), so it is drawn at the latest moment it can have happened: the process's next
//! placement on the device, else the sample at which the recorder read it. The curve is thus
//! never below what was used, and at every sample it is the sample's figure. A ring that lost
//! events between two reads (a gap in its numbers) is left out of that stretch.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use tt_accounting::MemKind;

use crate::mem::human;
use crate::mem_json::PerKind;
use crate::record::RecordLine;
use crate::text::shown;
use crate::UsageError;

/// The largest record file `plot` reads.
pub const MAX_INPUT_BYTES: u64 = 32 << 20;

/// The most devices one plot draws (a chart of 400 pixels each).
pub const MAX_DEVICES: usize = 32;

/// The most samples (per device, all devices together) one plot keeps.
pub const MAX_SAMPLES: usize = 1 << 20;

/// Where a PNG's text font is looked for (Debian's fonts-dejavu-core).
const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// One device's samples: (seconds since the first sample, clock ns, used per kind), and the
/// curve drawn through them and the ring events between them.
#[derive(Default)]
struct Series {
    spec: String,
    samples: Vec<(f64, u64, PerKind)>,
    curve: Vec<(f64, PerKind)>,
}

/// A ring event as the plot needs it.
struct RingEvent {
    chip_uid: String,
    pid: u32,
    number: u64,
    place: bool,
    kind: MemKind,
    bytes: u64,
    at_ns: u64,
}

/// One ledger read of the recorder: its time, each device's used bytes, and the ring events
/// it found (which happened since the read before, and are counted in this read's figures).
struct Read {
    clock_ns: u64,
    used: BTreeMap<String, PerKind>,
    events: Vec<RingEvent>,
}

/// A placement the record saw: kind, bytes, owner, source line, seen at, gone at.
struct Held {
    kind: String,
    bytes: u64,
    owner: String,
    provenance: String,
    seen_ns: u64,
    gone_ns: Option<u64>,
}

/// The fullest moment of a device's L1 in a recording.
pub struct L1Peak {
    /// The chip.
    pub chip_uid: String,
    /// Seconds since the recording's first sample.
    pub seconds: f64,
    /// L1 bytes used then (every kind but DRAM).
    pub bytes: u64,
    /// What held them: "kind owner (source line)" and bytes, largest first.
    pub holders: Vec<(String, u64)>,
}

/// A record file read back.
#[derive(Default)]
pub struct Recording {
    devices: BTreeMap<String, Series>,
    placements: BTreeMap<(String, u32, u64), Held>,
    reads: Vec<Read>,
    first_ns: Option<u64>,
    /// Lines that were not record lines (a truncated last line, another file's lines).
    pub skipped_lines: usize,
    /// Samples kept, all devices together (at most [`MAX_SAMPLES`]).
    samples: usize,
    /// Why the file is more than a plot draws ([`MAX_DEVICES`], [`MAX_SAMPLES`]), if it is.
    pub too_large: Option<String>,
}

impl Recording {
    /// Parses the JSON lines of `text`.
    pub fn parse(text: &str) -> Recording {
        let mut rec = Recording::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if rec.too_large.is_some() {
                break;
            }
            let Ok(parsed) = serde_json::from_str::<RecordLine>(line) else {
                rec.skipped_lines += 1;
                continue;
            };
            match parsed {
                RecordLine::Sample { clock_ns, devices, .. } => {
                    let first = *rec.first_ns.get_or_insert(clock_ns);
                    let t = clock_ns.saturating_sub(first) as f64 / 1e9;
                    // A chip seen before and absent now is held by no live process: 0.
                    for (uid, series) in rec.devices.iter_mut() {
                        if !devices.iter().any(|d| &d.chip_uid == uid) {
                            series.samples.push((t, clock_ns, PerKind::default()));
                        }
                    }
                    let new = devices.iter().filter(|d| !rec.devices.contains_key(&d.chip_uid));
                    if rec.devices.len() + new.count() > MAX_DEVICES {
                        rec.too_large = Some(format!("more than {MAX_DEVICES} devices"));
                        break;
                    }
                    rec.samples += rec.devices.len().max(devices.len());
                    if rec.samples > MAX_SAMPLES {
                        rec.too_large = Some(format!("more than {MAX_SAMPLES} samples"));
                        break;
                    }
                    let mut used = BTreeMap::new();
                    for d in devices {
                        used.insert(d.chip_uid.clone(), d.used);
                        let series = rec.devices.entry(d.chip_uid).or_default();
                        series.spec = d.spec;
                        series.samples.push((t, clock_ns, d.used));
                    }
                    rec.reads.push(Read { clock_ns, used, events: Vec::new() });
                }
                RecordLine::Placement {
                    clock_ns,
                    chip_uid,
                    pid,
                    id,
                    kind,
                    bytes,
                    owner,
                    provenance,
                    ..
                } => {
                    let held =
                        Held { kind, bytes, owner, provenance, seen_ns: clock_ns, gone_ns: None };
                    rec.placements.insert((chip_uid, pid, id), held);
                }
                RecordLine::Release { clock_ns, chip_uid, pid, id } => {
                    if let Some(held) = rec.placements.get_mut(&(chip_uid, pid, id)) {
                        held.gone_ns = Some(clock_ns);
                    }
                }
                RecordLine::Event { chip_uid, pid, number, op, kind, bytes, at_ns, .. } => {
                    let kind = MemKind::ALL.into_iter().find(|k| k.name() == kind);
                    // Events before the first sample have no interval to fall in.
                    if let (Some(kind), Some(read)) = (kind, rec.reads.last_mut()) {
                        let place = op == "place";
                        read.events.push(RingEvent {
                            chip_uid,
                            pid,
                            number,
                            place,
                            kind,
                            bytes,
                            at_ns,
                        });
                    }
                }
            }
        }
        let curves: Vec<(String, Vec<(f64, PerKind)>)> =
            rec.devices.keys().map(|uid| (uid.clone(), rec.curve(uid))).collect();
        for (uid, curve) in curves {
            if let Some(series) = rec.devices.get_mut(&uid) {
                series.curve = curve;
            }
        }
        rec
    }

    /// Seconds since the recording's first sample.
    fn seconds(&self, clock_ns: u64) -> f64 {
        clock_ns.saturating_sub(self.first_ns.unwrap_or(0)) as f64 / 1e9
    }

    /// The used bytes per kind of `chip_uid` that `ttctl plot` draws: (seconds since the
    /// first sample, used per kind), each sample's figures with the ring events between
    /// samples as steps (see the module's documentation for where a release is placed).
    /// None for a chip the recording never sampled.
    pub fn used_over_time(&self, chip_uid: &str) -> Option<&[(f64, PerKind)]> {
        self.devices.get(chip_uid).map(|series| series.curve.as_slice())
    }

    fn curve(&self, chip_uid: &str) -> Vec<(f64, PerKind)> {
        let mut points = Vec::new();
        let mut before: Option<(u64, PerKind)> = None;
        let mut last_numbers = BTreeMap::new();
        for read in &self.reads {
            let rings = complete_rings(read, chip_uid, &mut last_numbers);
            let now = match (read.used.get(chip_uid), &before) {
                (Some(used), _) => *used,
                // Seen before and held by no live process now: 0.
                (None, Some(_)) => PerKind::default(),
                (None, None) => continue,
            };
            if let Some((since_ns, mut level)) = before.take() {
                for (at_ns, kind, place, bytes) in steps(&rings, since_ns, read.clock_ns) {
                    let t = self.seconds(at_ns);
                    points.push((t, level));
                    let figure = &mut level.0[kind.index()];
                    *figure = if place {
                        figure.saturating_add(bytes)
                    } else {
                        figure.saturating_sub(bytes)
                    };
                    points.push((t, level));
                }
            }
            points.push((self.seconds(read.clock_ns), now));
            before = Some((read.clock_ns, now));
        }
        points
    }

    /// Per device, the sample where Tensix L1 (every kind but DRAM) was fullest, and what
    /// held it then.
    pub fn l1_peaks(&self) -> Vec<L1Peak> {
        let l1 = |used: &PerKind| {
            MemKind::ALL.iter().filter(|k| **k != MemKind::Dram).map(|k| used.0[k.index()]).sum()
        };
        let mut peaks = Vec::new();
        for (uid, series) in &self.devices {
            let Some(&(t, at_ns, ref used)) =
                series.samples.iter().rev().max_by_key(|(_, _, used)| l1(used))
            else {
                continue;
            };
            let mut holders: BTreeMap<String, u64> = BTreeMap::new();
            for ((chip, _, _), held) in &self.placements {
                let live = held.seen_ns <= at_ns && held.gone_ns.is_none_or(|gone| gone > at_ns);
                if chip == uid && live && held.kind != "dram" {
                    let name = format!("{} {} ({})", held.kind, held.owner, held.provenance);
                    *holders.entry(name).or_default() += held.bytes;
                }
            }
            let mut holders: Vec<(String, u64)> = holders.into_iter().collect();
            holders.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            peaks.push(L1Peak { chip_uid: uid.clone(), seconds: t, bytes: l1(used), holders });
        }
        peaks
    }
}

/// The rings of `chip_uid`'s processes in `read`, each in number order, left out where
/// events are missing (the ring overran between reads, or an entry was being written): a
/// release without its placement would draw the curve below what was used. `last` holds
/// each process's last event number seen, across reads; a process's first event is 0.
fn complete_rings<'a>(
    read: &'a Read,
    chip_uid: &str,
    last: &mut BTreeMap<u32, u64>,
) -> Vec<Vec<&'a RingEvent>> {
    let mut rings: BTreeMap<u32, Vec<&RingEvent>> = BTreeMap::new();
    for event in read.events.iter().filter(|e| e.chip_uid == chip_uid) {
        rings.entry(event.pid).or_default().push(event);
    }
    let mut complete = Vec::new();
    for (pid, mut ring) in rings {
        ring.sort_by_key(|e| e.number);
        let first = last.get(&pid).map_or(0, |n| n + 1);
        let unbroken = ring.iter().zip(first..).all(|(e, expected)| e.number == expected);
        if let Some(newest) = ring.last() {
            last.insert(pid, newest.number);
        }
        if unbroken {
            complete.push(ring);
        }
    }
    complete
}

/// The steps of used bytes between the read before (at `since_ns`) and `read` (at
/// `until_ns`), from `rings`: (when, kind, placed or released, bytes), in time order and,
/// within one process, in its ring's order. A placement is at its own time (kept within the
/// interval); a release at the next placement of its process, else at the read that found it.
fn steps(
    rings: &[Vec<&RingEvent>],
    since_ns: u64,
    until_ns: u64,
) -> Vec<(u64, MemKind, bool, u64)> {
    // (when, pid, number, kind, place, bytes)
    let mut timed = Vec::new();
    for ring in rings {
        // Walked newest first, so each release knows the placement that followed it.
        let mut next_place_ns = until_ns;
        for event in ring.iter().rev() {
            if event.place {
                next_place_ns = event.at_ns.max(since_ns).min(until_ns);
            }
            timed.push((
                next_place_ns,
                event.pid,
                event.number,
                event.kind,
                event.place,
                event.bytes,
            ));
        }
    }
    timed.sort_by_key(|&(at_ns, pid, number, ..)| (at_ns, pid, number));
    timed.into_iter().map(|(at_ns, _, _, kind, place, bytes)| (at_ns, kind, place, bytes)).collect()
}

fn colour(kind: MemKind) -> RGBColor {
    match kind {
        MemKind::Dram => BLUE,
        MemKind::L1 => GREEN,
        MemKind::L1Small => RGBColor(0, 160, 80),
        MemKind::Trace => MAGENTA,
        MemKind::Cb => CYAN,
        MemKind::Kernel => RGBColor(200, 150, 0),
        MemKind::System => RED,
        MemKind::Reserved => RGBColor(120, 120, 120),
    }
}

fn chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    uid: &str,
    series: &Series,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let span = series.curve.iter().map(|p| p.0).fold(0.0, f64::max).max(1e-3);
    let top = series.curve.iter().flat_map(|p| p.1 .0).max().unwrap_or(0).max(1);
    let title =
        if series.spec.is_empty() { uid.to_owned() } else { format!("{uid} ({})", series.spec) };
    let mut chart = ChartBuilder::on(area)
        .caption(format!("{title}: used bytes per kind"), ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..span, 0u64..top + top / 10)?;
    chart.configure_mesh().x_desc("seconds").y_label_formatter(&|bytes| human(*bytes)).draw()?;
    for kind in MemKind::ALL {
        let points: Vec<(f64, u64)> =
            series.curve.iter().map(|(t, used)| (*t, used.0[kind.index()])).collect();
        // The first sample at the peak (max_by_key would give the last).
        let Some(&(peak_t, peak)) = points.iter().rev().max_by_key(|p| p.1) else { continue };
        if peak == 0 {
            continue;
        }
        let style = colour(kind);
        chart
            .draw_series(LineSeries::new(points, style.stroke_width(2)))?
            .label(kind.name())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        // The peak: a dot and its figure.
        chart.draw_series(std::iter::once(Circle::new((peak_t, peak), 4, style.filled())))?;
        // Left of the dot in the right half, so the figure stays inside the chart.
        let anchor = if peak_t > span / 2.0 { HPos::Right } else { HPos::Left };
        let font =
            TextStyle::from(("sans-serif", 12).into_font()).pos(Pos::new(anchor, VPos::Bottom));
        chart.draw_series(std::iter::once(Text::new(
            format!("peak {} ", human(peak)),
            (peak_t, peak),
            font,
        )))?;
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
    Ok(())
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, rec: &Recording) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let areas = root.split_evenly((rec.devices.len().max(1), 1));
    for (area, (uid, series)) in areas.iter().zip(&rec.devices) {
        chart(area, uid, series)?;
    }
    root.present()?;
    Ok(())
}

/// Makes the text font known to plotters, once.
fn register_font() -> Result<()> {
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *REGISTERED.get_or_init(|| {
        std::fs::read(FONT).ok().is_some_and(|bytes| {
            // plotters keeps fonts for the life of the process.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok()
        })
    }) {
        Ok(())
    } else {
        bail!("drawing text needs the TrueType font {FONT} (Debian: apt-get install fonts-dejavu-core)")
    }
}

/// The text of the record file `input`: a regular file (opened without blocking, so a FIFO
/// is refused rather than waited on) of at most [`MAX_INPUT_BYTES`].
fn read_bounded(input: &Path) -> Result<String> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(input)
        .with_context(|| format!("reading {}", input.display()))?;
    let metadata = file.metadata().with_context(|| format!("reading {}", input.display()))?;
    if !metadata.is_file() {
        bail!(
            "{} is not a regular file; give a file written by `ttctl record -o FILE`",
            input.display()
        );
    }
    if metadata.len() > MAX_INPUT_BYTES {
        bail!(
            "{} is {} bytes, more than the {MAX_INPUT_BYTES} one plot reads; record a shorter \
             time or cut the file (it is JSON lines)",
            input.display(),
            metadata.len()
        );
    }
    let mut bytes = Vec::new();
    // The length may grow after the check: never read past the cap.
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", input.display()))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        bail!("{} grew past {MAX_INPUT_BYTES} bytes while read", input.display());
    }
    String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8 text", input.display()))
}

/// `ttctl plot FILE -o OUT`: OUT's extension (`.svg`, `.png`) picks the format.
pub fn plot(input: &Path, output: &Path) -> Result<()> {
    let format = output.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    if !matches!(format.as_deref(), Some("svg" | "png")) {
        return Err(UsageError(format!(
            "cannot tell the format of {}: name it .svg or .png",
            output.display()
        ))
        .into());
    }
    let text = read_bounded(input)?;
    let rec = Recording::parse(&text);
    if let Some(what) = &rec.too_large {
        bail!(
            "{} holds {what}, more than one plot draws; record fewer devices or a shorter \
             time, or cut the file (it is JSON lines)",
            input.display()
        );
    }
    if rec.devices.is_empty() {
        bail!(
            "{} has no samples of a device in use ({} lines were not record lines); record with \
             `ttctl record -o FILE` while a workload runs",
            input.display(),
            rec.skipped_lines
        );
    }
    register_font()?;
    let height = 400 * rec.devices.len() as u32;
    // Drawn into a temporary file beside the output and renamed over it once complete, so a
    // failure (a full disk) leaves no truncated picture.
    let dir = match output.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let temporary = tempfile::Builder::new()
        .prefix(".ttctl-plot-")
        .suffix(&format!(".{}", format.as_deref().unwrap_or("svg")))
        .tempfile_in(dir)
        .with_context(|| {
            format!("creating a temporary file in {} for {}", dir.display(), output.display())
        })?;
    let drawn = temporary.path().to_path_buf();
    match format.as_deref() {
        Some("svg") => draw(SVGBackend::new(&drawn, (1000, height)).into_drawing_area(), &rec),
        _ => draw(BitMapBackend::new(&drawn, (1000, height)).into_drawing_area(), &rec),
    }
    .with_context(|| format!("writing {}", output.display()))?;
    temporary.persist(output).with_context(|| format!("writing {}", output.display()))?;
    outln!("wrote {} ({} device(s))", output.display(), rec.devices.len())?;
    for L1Peak { chip_uid, seconds, bytes, holders } in rec.l1_peaks() {
        outln!("{}: L1 peak {} at {seconds:.2} s; held then:", shown(&chip_uid), human(bytes))?;
        for (holder, bytes) in holders.iter().take(10) {
            outln!("  {:>10}  {}", human(*bytes), shown(holder))?;
        }
        if holders.len() > 10 {
            outln!("  ... and {} more", holders.len() - 10)?;
        }
    }
    Ok(())
}
