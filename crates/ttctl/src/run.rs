//! `ttctl run`: built-in workloads.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use tt_accounting::{BankType, MemKind};
use tt_alloc::{Allocation, BufferRequest, Layout, Policy};
use tt_device::{Device, DramBankId};
use tt_program::workloads as compute;
use tt_program::{builtin_kernel, Processor, Program, Runtime};
use tt_track::{KindUsage, ProcessView, Tracker};

use crate::mem;
use crate::mem_json::PerKind;
use crate::UsageError;

/// A small deterministic generator (splitmix64): workloads repeat exactly run to run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// Used (reserved) bytes per kind of this process on the session's device, as `tracker`'s own
/// ledger shows them (all zero with tracking off).
pub fn used_by_kind(tracker: &Tracker, session: &Runtime) -> [u64; MemKind::COUNT] {
    per_kind(tracker.snapshot().as_ref(), session, |u| u.used_bytes)
}

/// One figure per kind of this process on the session's device, read from its own ledger.
fn per_kind(
    view: Option<&ProcessView>,
    session: &Runtime,
    figure: impl Fn(&KindUsage) -> u64,
) -> [u64; MemKind::COUNT] {
    let mut out = [0; MemKind::COUNT];
    if let Some(dev) = view.and_then(|v| v.device(session.device().chip_uid())) {
        for k in MemKind::ALL {
            out[k.index()] = figure(dev.kind(k));
        }
    }
    out
}

/// `ttctl run --json` (schema_version 2).
#[derive(serde::Serialize)]
struct RunReport<'a> {
    schema_version: u32,
    workload: &'a str,
    device: String,
    chip_uid: String,
    iterations: u32,
    units: u64,
    bytes: u64,
    seconds: f64,
    kernel_seconds: Option<f64>,
    bytes_per_second: Option<f64>,
    before: PerKind,
    peak: PerKind,
    peak_total: u64,
    after: PerKind,
    returned_to_baseline: bool,
}

/// Writes a recognisable pattern into every page of `buf` and reads one page back.
fn fill(session: &Runtime, buf: &Allocation, page_size: u64, pages: u64, seed: u64) -> Result<u64> {
    let dev = session.device();
    let alloc = session.allocator();
    let page: Vec<u8> = (0..page_size).map(|i| (i as u8) ^ (seed as u8)).collect();
    for p in 0..pages {
        let (bank, offset) = buf.page_location(p).context("page past the buffer's reservation")?;
        match buf.bank_type() {
            BankType::Dram => dev.write_dram_bank(DramBankId(bank), offset, &page)?,
            _ => {
                let core = alloc.bank_core(bank).context("L1 bank without a core")?;
                dev.write(core, offset, &page)?;
            }
        }
    }
    let mut back = vec![0u8; page_size as usize];
    match buf.bank_type() {
        BankType::Dram => dev.read_dram_bank(DramBankId(0), buf.address(), &mut back)?,
        _ => {
            let core = alloc.bank_core(0).context("L1 bank 0 without a core")?;
            dev.read(core, buf.address(), &mut back)?;
        }
    }
    if back != page {
        bail!("read-back of buffer at {:#x} does not match what was written", buf.address());
    }
    Ok(page_size * pages)
}

/// DRAM and L1 buffer churn: interleaved DRAM and L1 buffers and sharded L1 buffers of
/// assorted sizes, each filled through the device, up to 32 alive at once.
fn buffers(session: &Runtime, iterations: u32) -> Result<(u64, u64)> {
    let mut rng = Rng(0x7474_6374_6c00);
    let cores = session.device().soc().tensix_cores();
    let mut live: Vec<Allocation> = Vec::new();
    let (mut made, mut written) = (0u64, 0u64);
    let bar = progress(iterations, "buffers");
    for i in 0..iterations {
        bar.inc(1);
        for _ in 0..8 {
            let choice = rng.range(0, 2);
            let owner = format!("ttctl run buffers #{made}");
            let (req_bank, kind, page_size, pages) = match choice {
                0 => (BankType::Dram, MemKind::Dram, rng.range(1, 16) * 2048, rng.range(1, 48)),
                1 => (BankType::L1, MemKind::L1, rng.range(1, 8) * 1024, rng.range(1, 160)),
                _ => (BankType::L1, MemKind::L1, rng.range(1, 16) * 1024, 0),
            };
            let shard_cores: Vec<_> =
                (0..8).map(|_| cores[rng.range(0, cores.len() as u64 - 1) as usize]).collect();
            let mut uniq = shard_cores.clone();
            uniq.sort();
            uniq.dedup();
            let layout = if pages == 0 {
                Layout::Sharded { cores: &uniq, shard_size: page_size }
            } else {
                Layout::Interleaved { page_size, pages }
            };
            let request = BufferRequest {
                bank_type: req_bank,
                kind,
                layout,
                policy: Policy::default(),
                owner: &owner,
            };
            let buf = session
                .allocator()
                .allocate(&request)
                .with_context(|| format!("allocating {owner}"))?;
            written += if pages == 0 {
                let data = vec![i as u8; page_size as usize];
                for core in &uniq {
                    session.device().write(*core, buf.address(), &data)?;
                }
                page_size * uniq.len() as u64
            } else {
                fill(session, &buf, page_size, pages, made)?
            };
            made += 1;
            live.push(buf);
            if live.len() > 32 {
                let victim = rng.range(0, live.len() as u64 - 1) as usize;
                live.swap_remove(victim);
            }
        }
    }
    bar.finish_and_clear();
    drop(live);
    Ok((made, written))
}

/// A progress bar over `rounds` with its rate and time left; indicatif draws it only when
/// stderr is a terminal, and `-q` hides it.
fn progress(rounds: u32, what: &str) -> indicatif::ProgressBar {
    if crate::quiet() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(u64::from(rounds));
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{prefix} [{bar:30}] {pos}/{len} rounds  {per_sec}  ETA {eta}  ({elapsed})",
    ) {
        bar.set_style(style);
    }
    bar.set_prefix(what.to_string());
    bar
}

/// The workloads `ttctl run` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// Load, run and drop programs of three kernels and four circular buffers on 64 cores.
    Programs,
    /// DRAM and L1 buffer churn, interleaved and sharded.
    Buffers,
    /// DRAM -> L1 -> DRAM copy on every core, checked on the host.
    Loopback,
    /// C = A + B with reader, compute and writer kernels, checked on the host.
    Add,
    /// A 64-core sum synchronised with semaphores, checked on the host.
    Reduce,
}

impl Workload {
    /// Every workload, in the order `ttctl run --help` lists them.
    pub const ALL: [Workload; 5] = [
        Workload::Programs,
        Workload::Buffers,
        Workload::Loopback,
        Workload::Add,
        Workload::Reduce,
    ];

    /// The name typed on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Programs => "programs",
            Workload::Buffers => "buffers",
            Workload::Loopback => "loopback",
            Workload::Add => "add",
            Workload::Reduce => "reduce",
        }
    }
}

/// Runs a computing workload one round at a time, so the progress bar moves with it; each
/// round loads, runs, checks and drops its programs.
fn computing(session: &Runtime, workload: Workload, iterations: u32) -> Result<compute::Report> {
    let mut total = compute::Report { runs: 0, bytes: 0, kernel_time: Default::default() };
    let bar = progress(iterations, workload.name());
    for _ in 0..iterations {
        let mut no_sampling = || {};
        let round = match workload {
            Workload::Loopback => compute::loopback(session, 1, &mut no_sampling),
            Workload::Add => compute::add(session, 1, &mut no_sampling),
            _ => compute::reduce(session, 1, &mut no_sampling),
        }
        .with_context(|| format!("workload `{}`", workload.name()))?;
        total.runs += round.runs;
        total.bytes += round.bytes;
        total.kernel_time += round.kernel_time;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(total)
}

/// Programs per iteration of `programs`.
const PROGRAMS_PER_ROUND: usize = 8;
/// Cores each program of `programs` runs on (fewer when the chip has fewer workers).
const PROGRAM_CORES: usize = 64;

/// One program of the `programs` workload: the add kernels (reader, compute, writer) on
/// `cores` with four circular buffers, arguments set for a zero-page share so each kernel
/// validates its launch block, args and CBs and returns.
fn add_program(
    name: &str,
    cores: &[tt_soc::NocCoord],
    bank_table: u64,
    banks: u32,
) -> Result<Program> {
    let mut p = Program::new(name);
    let trio = [
        ("reader", Processor::DataMovement0),
        ("compute_add", Processor::Compute0),
        ("writer", Processor::DataMovement1),
    ];
    for (kernel, processor) in trio {
        let id = p.add_kernel(kernel, builtin_kernel(kernel)?, processor, cores);
        // a, b, c bases; page size; first page; page count; bank table; bank count.
        p.set_common_args(id, &[0, 0, 0, 2048, 0, 0, bank_table as u32, banks])?;
    }
    for (index, pages) in [(0, 2), (1, 2), (2, 2), (3, 1)] {
        p.add_circular_buffer(index, cores, 2048, pages);
    }
    Ok(p)
}

/// Loads, runs and drops programs: every round loads 8 programs of 3 kernels and 4 circular
/// buffers on 64 cores at once, runs each, then drops them all.
fn programs(session: &Runtime, iterations: u32) -> Result<(u64, u64)> {
    let workers = session.worker_cores();
    let cores = &workers[..PROGRAM_CORES.min(workers.len())];
    let banks = session.allocator().bank_count(BankType::Dram) as u32;
    let table = compute::bank_table_on(session, cores)?;
    let (mut made, mut written) = (0u64, 0u64);
    let bar = progress(iterations, "programs");
    for round in 0..iterations {
        bar.inc(1);
        let mut loaded = Vec::with_capacity(PROGRAMS_PER_ROUND);
        for i in 0..PROGRAMS_PER_ROUND {
            let program = add_program(&format!("r{round}p{i}"), cores, table.address(), banks)?;
            let placed = program
                .load(session)
                .with_context(|| format!("loading program {}", program.name()))?;
            written += placed.kernel_bytes();
            loaded.push(placed);
        }
        for program in &loaded {
            program.run().with_context(|| format!("running program {}", program.name()))?;
        }
        made += loaded.len() as u64;
    }
    bar.finish_and_clear();
    drop(table);
    Ok((made, written))
}

/// What one workload did on a session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// Programs run, or buffers made (`buffers`).
    pub units: u64,
    /// Bytes written, or moved and computed over by the kernels.
    pub bytes: u64,
    /// Time the kernels ran, for the workloads that check a computed result.
    pub kernel_time: Option<std::time::Duration>,
}

/// Runs `workload` for `iterations` rounds on an open session; every round's programs and
/// buffers are dropped before it returns, so the ledger is back at the session's baseline.
/// `ttctl run` and the board matrix test call this.
pub fn run_workload(session: &Runtime, workload: Workload, iterations: u32) -> Result<Outcome> {
    let (units, bytes, kernel_time) = match workload {
        Workload::Buffers => {
            let (made, written) = buffers(session, iterations)?;
            (made, written, None)
        }
        Workload::Programs => {
            let (made, written) = programs(session, iterations)?;
            (made, written, None)
        }
        Workload::Loopback | Workload::Add | Workload::Reduce => {
            let report = computing(session, workload, iterations)?;
            (report.runs, report.bytes, Some(report.kernel_time))
        }
    };
    Ok(Outcome { units, bytes, kernel_time })
}

/// `ttctl run <workload>`.
pub fn run(
    workload: Workload,
    device: Option<&str>,
    options: &tt_device::OpenOptions,
    iterations: u32,
    json_out: bool,
) -> Result<()> {
    // A tracker this function owns rather than the process-global one, so that its ledger
    // segment is removed when the run ends instead of being left for the next reader to
    // find dead.
    let tracker = &Tracker::from_env();
    if !tracker.is_enabled() {
        eprintln!(
            "ttctl: TT_TRACKING=off: nothing is recorded in the ledger, so every memory figure \
             below is 0 and other monitors do not see this run"
        );
    }
    let device = match device {
        Some(spec) => Device::open_with(spec, options),
        None => Device::open_default_with(options),
    }
    .map_err(|e| match e {
        // A spec that names no device (or a file that is no card) is a usage error: exit 2.
        tt_device::DeviceError::BadSpec { .. } => anyhow::Error::new(UsageError(e.to_string())),
        other => anyhow::Error::new(other).context("opening the device"),
    })?;
    if device.soc().tensix_cores().is_empty() {
        bail!(
            "the device has no usable Tensix core with this descriptor and harvesting; \
             harvest fewer rows or columns"
        );
    }
    let session = Runtime::with_device(device, tracker).context("starting the device session")?;
    let uid = session.device().chip_uid();
    // The peak row is the ledger's own high-water mark over the workload, not a sample.
    session.reset_peaks().context("resetting the peak figures")?;
    let before = per_kind(tracker.snapshot().as_ref(), &session, |u| u.used_bytes);
    let start = Instant::now();
    let Outcome { units: made, bytes: written, kernel_time } =
        run_workload(&session, workload, iterations)?;
    let workload = workload.name();
    let elapsed = start.elapsed();
    let throughput = kernel_time.map(|t| written as f64 / t.as_secs_f64().max(1e-9));
    let view = tracker.snapshot();
    let after = per_kind(view.as_ref(), &session, |u| u.used_bytes);
    let peak = per_kind(view.as_ref(), &session, |u| u.peak_used_bytes);
    let peak_total = view.as_ref().and_then(|v| v.device(uid)).map_or(0, |d| d.peak_used_bytes);
    let returned = after == before;
    if json_out {
        let out = RunReport {
            schema_version: 2,
            workload,
            device: session.device().spec().to_string(),
            chip_uid: uid.to_string(),
            iterations,
            units: made,
            bytes: written,
            seconds: elapsed.as_secs_f64(),
            kernel_seconds: kernel_time.map(|t| t.as_secs_f64()),
            bytes_per_second: throughput,
            before: PerKind(before),
            peak: PerKind(peak),
            peak_total,
            after: PerKind(after),
            returned_to_baseline: returned,
        };
        outln!("{}", serde_json::to_string_pretty(&out)?)?;
    } else {
        outln!(
            "ran `{workload}` on {} ({} {}): {iterations} iterations, {made} {}, {} in {:.2?}",
            session.device().spec(),
            session.device().arch(),
            session.device().backend().name(),
            if workload == "buffers" { "buffers" } else { "programs" },
            mem::human(written),
            elapsed
        )?;
        if let (Some(t), Some(rate)) = (kernel_time, throughput) {
            outln!(
                "  result checked on the host; kernels ran {t:.2?}: {}/s",
                mem::human(rate as u64)
            )?;
        }
        let line = |name: &str, u: &[u64; MemKind::COUNT]| {
            let kinds: Vec<String> = MemKind::ALL
                .iter()
                .map(|k| format!("{}={}", k.name(), mem::human(u[k.index()])))
                .collect();
            outln!("  {name:<7}{}", kinds.join("  "))
        };
        line("before", &before)?;
        // No rounds ran, so there is no workload peak to show (only the setup's).
        if iterations > 0 {
            line("peak", &peak)?;
            outln!(
                "  (used = reserved bytes; peak is the ledger's high-water mark of each kind, and \
                 of all kinds together {})",
                mem::human(peak_total)
            )?;
        }
        line("after", &after)?;
        outln!("\nmemory view (all live processes):")?;
        let snapshot = crate::mem::read_all()?;
        out!("{}", crate::mem_text::render(&snapshot, &mem::Filter::default()))?;
    }
    if !returned {
        bail!("memory did not return to baseline after the workload: before {before:?}, after {after:?}");
    }
    Ok(())
}
