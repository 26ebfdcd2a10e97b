//! Allocator benchmark: tt-alloc's range engine, as its callers use it, against the
//! offset-allocator crate, an exact best-fit reference and a naive first-fit list, on
//! workloads shaped to find weak spots, all in the same run.
//!
//! - Pressure traces (L1 and DRAM banks, 8 fixed seeds each) drive demand near and past
//!   capacity, so allocations fail and placement quality shows: failed count and bytes per
//!   seed and summed, and the largest block each allocator can actually hand out when the
//!   churn ends. Seed 0 is also timed: full replays, order rotated every round, each
//!   segment of the trace at its best over the rounds (the machine may be shared).
//!   A third trace is model memory in DRAM: many small activations, a few large weights,
//!   part of them long-lived. The timed contenders include the range engine publishing
//!   the health figures the shipped allocator publishes after every operation, and the
//!   shipped `Allocator` itself (the chip's bank, so its failures differ).
//! - Growth traces hold 1k to 100k live blocks in a 32 GiB bank and churn, to show how the
//!   cost per pair grows with the live count: log-uniform and repeated sizes (criterion
//!   samples their 100k case, an iteration being a burst of 25k pairs), top-down requests,
//!   4 KiB- and 64 KiB-aligned requests, sizes above the exact-size limit, the engine with
//!   health publication, and the half-freed shape (fill 2n, free a random half, then
//!   single free/allocate pairs). The summary times every case in 1024-pair segments over
//!   rotated rounds and keeps the median segment; offset-allocator runs in every case.
//!
//! Every target of the allocator work (issue 26) is printed with its ratio and whether it
//! is met. `ALLOCATOR_BENCH_SUMMARY_ONLY=1` skips criterion's sampling;
//! `ALLOCATOR_BENCH_ONLY=l1,dram,model,growth,paths` picks parts.

#[path = "allocator/contenders.rs"]
mod contenders;
#[path = "allocator/traces.rs"]
mod traces;

use std::hint::black_box;
use std::time::{Duration, Instant};

use contenders::{
    largest_allocatable, Contender, NaiveFirstFit, OffsetAlloc, ReferenceBestFit, ShippedAllocator,
    TtAligned4K, TtAligned64K, TtAlloc, TtAllocByAddress, TtAllocWithHealth, TtTopDown,
};
use criterion::Criterion;
use traces::{Event, GrowthSizes, GrowthTrace, PressureSpec, PressureTrace, DRAM, L1, MIB, MODEL};

const SEEDS: u64 = 8;
/// Timed rounds per contender (pressure traces: full replays).
const ROUNDS: usize = 5;
/// A pressure replay is timed in segments of this many events; the machine may be shared,
/// so each segment keeps its best time over the rounds (the work of a segment is the same in
/// every round) and the replay's time is the sum of those.
const SEGMENT: usize = 8192;

/// What one replay of a pressure trace left behind.
#[derive(Clone, Copy, Default)]
struct Quality {
    failed: usize,
    failed_bytes: u64,
    /// The largest free block when the churn ends, and the largest the allocator could
    /// actually hand out then.
    largest_gap: u64,
    largest_allocatable: u64,
}

fn apply<C: Contender>(a: &mut C, event: Event, handles: &mut [Option<C::Handle>]) -> bool {
    match event {
        Event::Alloc { id, size } => {
            let handle = a.allocate(size);
            let placed = handle.is_some();
            handles[id as usize] = black_box(handle);
            placed
        }
        Event::Free { id } => {
            if let Some(handle) = handles[id as usize].take() {
                a.free(handle);
            }
            true
        }
    }
}

/// Replays `trace` on `a` (empty, and left empty) and records the failures and the largest
/// block at the end of the churn.
fn replay_for_quality<C: Contender>(a: &mut C, trace: &PressureTrace) -> Quality {
    let mut handles: Vec<_> = (0..trace.allocations).map(|_| None).collect();
    let mut q = Quality::default();
    let (churn, drain) = trace.events.split_at(trace.churn_end);
    for &event in churn {
        if !apply(a, event, &mut handles) {
            if let Event::Alloc { size, .. } = event {
                q.failed += 1;
                q.failed_bytes += size;
            }
        }
    }
    q.largest_gap = a.largest_free_block(&handles, trace.capacity);
    q.largest_allocatable = largest_allocatable(a, trace.capacity, trace.alignment);
    for &event in drain {
        apply(a, event, &mut handles);
    }
    q
}

/// A contender kept warm between timed rounds.
trait Timed {
    fn name(&self) -> &'static str;
    fn round(&mut self);
    /// ns per allocation of a pressure trace, or per pair of a growth trace.
    fn ns_per_unit(&self) -> f64;
}

struct PressureRunner<'t, C: Contender> {
    trace: &'t PressureTrace,
    allocator: C,
    handles: Vec<Option<C::Handle>>,
    /// Best time of each segment of the trace.
    segments: Vec<Duration>,
}

impl<'t, C: Contender> PressureRunner<'t, C> {
    fn boxed(trace: &'t PressureTrace) -> Box<dyn Timed + 't> {
        let allocator = C::new(trace.capacity, trace.alignment);
        let handles = (0..trace.allocations).map(|_| None).collect();
        let segments = vec![Duration::MAX; trace.events.len().div_ceil(SEGMENT)];
        Box::new(PressureRunner { trace, allocator, handles, segments })
    }
}

impl<C: Contender> Timed for PressureRunner<'_, C> {
    fn name(&self) -> &'static str {
        C::NAME
    }
    fn round(&mut self) {
        for (segment, best) in self.trace.events.chunks(SEGMENT).zip(&mut self.segments) {
            let start = Instant::now();
            for &event in segment {
                apply(&mut self.allocator, event, &mut self.handles);
            }
            *best = (*best).min(start.elapsed());
        }
    }
    fn ns_per_unit(&self) -> f64 {
        self.segments.iter().sum::<Duration>().as_nanos() as f64 / self.trace.allocations as f64
    }
}

struct GrowthRunner<'t, C: Contender> {
    trace: &'t GrowthTrace,
    allocator: C,
    slots: Vec<Option<C::Handle>>,
    cursor: usize,
    pairs_per_round: usize,
    /// ns per pair of every timed segment so far.
    samples: Vec<f64>,
}

/// Pairs per timed segment of a growth round: short enough that most segments run between
/// two preemptions on a shared machine.
const GROWTH_SEGMENT: usize = 1024;

impl<'t, C: Contender> GrowthRunner<'t, C> {
    /// Fills the bank (freeing what the trace frees after the fill) and churns once through
    /// the warm-up part of the trace.
    fn new(trace: &'t GrowthTrace, warm_up: usize, pairs_per_round: usize) -> Self {
        let mut allocator = C::new(trace.capacity, trace.alignment);
        let mut filled: Vec<Option<C::Handle>> = trace
            .fill
            .iter()
            .map(|&size| Some(allocator.allocate(size).expect("the growth bank never fills")))
            .collect();
        for &slot in &trace.freed_after_fill {
            if let Some(handle) = filled[slot as usize].take() {
                allocator.free(handle);
            }
        }
        let slots = filled.into_iter().filter(Option::is_some).collect();
        let mut runner = GrowthRunner {
            trace,
            allocator,
            slots,
            cursor: 0,
            pairs_per_round,
            samples: Vec::new(),
        };
        runner.churn(warm_up, false);
        runner
    }

    fn free_slot(&mut self, slot: u32) {
        if let Some(handle) = self.slots[slot as usize].take() {
            self.allocator.free(handle);
        }
    }

    fn fill_slot(&mut self, slot: u32, size: u64) {
        let handle = self.allocator.allocate(size).expect("the growth bank never fills");
        self.slots[slot as usize] = Some(black_box(handle));
    }

    /// At least `pairs` frees and allocations, in whole bursts from the cursor on (wrapping
    /// at the end of the trace). With `timed`, each segment's frees and allocations are
    /// timed and its ns per pair kept.
    fn churn(&mut self, pairs: usize, timed: bool) {
        let burst = self.trace.burst;
        if burst == 1 {
            // Single pairs: a segment is GROWTH_SEGMENT pairs, each a free then an allocation.
            for _ in 0..pairs.div_ceil(GROWTH_SEGMENT) {
                let start = Instant::now();
                for _ in 0..GROWTH_SEGMENT {
                    let (slot, size) = self.trace.churn[self.cursor];
                    self.cursor = (self.cursor + 1) % self.trace.churn.len();
                    self.free_slot(slot);
                    self.fill_slot(slot, size);
                }
                if timed {
                    self.samples.push(start.elapsed().as_nanos() as f64 / GROWTH_SEGMENT as f64);
                }
            }
            return;
        }
        let mut free_times = Vec::with_capacity(burst.div_ceil(GROWTH_SEGMENT));
        for _ in 0..pairs.div_ceil(burst) {
            let trace = self.trace;
            let chunk = &trace.churn[self.cursor..self.cursor + burst];
            self.cursor = (self.cursor + burst) % trace.churn.len();
            free_times.clear();
            for segment in chunk.chunks(GROWTH_SEGMENT) {
                let start = Instant::now();
                for &(slot, _) in segment {
                    self.free_slot(slot);
                }
                free_times.push(start.elapsed());
            }
            for (segment, freed) in chunk.chunks(GROWTH_SEGMENT).zip(&free_times) {
                let start = Instant::now();
                for &(slot, size) in segment {
                    self.fill_slot(slot, size);
                }
                if timed {
                    let ns = (*freed + start.elapsed()).as_nanos() as f64;
                    self.samples.push(ns / segment.len() as f64);
                }
            }
        }
    }
}

impl<C: Contender> Timed for GrowthRunner<'_, C> {
    fn name(&self) -> &'static str {
        C::NAME
    }
    fn round(&mut self) {
        self.churn(self.pairs_per_round, true);
    }
    /// The median segment: preempted segments are outliers, and unlike a minimum it is
    /// not biased towards the allocator whose cost varies most between segments.
    fn ns_per_unit(&self) -> f64 {
        let mut sorted = self.samples.clone();
        sorted.sort_by(f64::total_cmp);
        sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
    }
}

/// Runs `rounds` rounds, each contender once per round, the order rotated by one every
/// round so that no contender always runs first (cold) or right after a particular other.
fn rotate_rounds(runners: &mut [Box<dyn Timed + '_>], rounds: usize) {
    for round in 0..rounds {
        for i in 0..runners.len() {
            runners[(round + i) % runners.len()].round();
        }
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

/// Quality of one contender on every seed of a trace.
fn quality_over_seeds<C: Contender>(traces: &[PressureTrace]) -> Vec<Quality> {
    traces.iter().map(|t| replay_for_quality(&mut C::new(t.capacity, t.alignment), t)).collect()
}

struct PressureFigures {
    /// ns per allocation event of seed 0, by contender name.
    timing: Vec<(&'static str, f64)>,
    /// Per contender name, one entry per seed.
    quality: Vec<(&'static str, Vec<Quality>)>,
}

fn pressure(spec: &PressureSpec, seed_base: u64) -> PressureFigures {
    let traces: Vec<PressureTrace> =
        (0..SEEDS).map(|s| spec.generate(seed_base.wrapping_add(s))).collect();
    let t0 = &traces[0];
    let mut runners: Vec<Box<dyn Timed + '_>> = vec![
        PressureRunner::<TtAlloc>::boxed(t0),
        PressureRunner::<TtAllocByAddress>::boxed(t0),
        PressureRunner::<TtAllocWithHealth>::boxed(t0),
        PressureRunner::<ShippedAllocator>::boxed(t0),
        PressureRunner::<OffsetAlloc>::boxed(t0),
        PressureRunner::<ReferenceBestFit>::boxed(t0),
    ];
    rotate_rounds(&mut runners, ROUNDS);
    let timing: Vec<_> = runners.iter().map(|r| (r.name(), r.ns_per_unit())).collect();
    let quality = vec![
        (TtAlloc::NAME, quality_over_seeds::<TtAlloc>(&traces)),
        (OffsetAlloc::NAME, quality_over_seeds::<OffsetAlloc>(&traces)),
        (ReferenceBestFit::NAME, quality_over_seeds::<ReferenceBestFit>(&traces)),
        (NaiveFirstFit::NAME, quality_over_seeds::<NaiveFirstFit>(&traces)),
    ];
    print_pressure(spec, &traces, &timing, &quality);
    PressureFigures { timing, quality }
}

fn print_pressure(
    spec: &PressureSpec,
    traces: &[PressureTrace],
    timing: &[(&'static str, f64)],
    quality: &[(&'static str, Vec<Quality>)],
) {
    let demand = |f: fn(&PressureTrace) -> f64| {
        let v: Vec<f64> = traces.iter().map(f).collect();
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(0.0, f64::max);
        let avg = v.iter().sum::<f64>() / v.len() as f64;
        format!("{lo:.2}-{hi:.2}x (average {avg:.2}x)")
    };
    println!(
        "\n--- {} trace: {:.1} MiB bank, align {}, {} allocations per seed; demand over the \
         seeds: mean {} and peak {} of capacity",
        spec.name,
        mib(spec.capacity),
        spec.alignment,
        spec.allocations,
        demand(|t| t.mean_demand),
        demand(|t| t.peak_demand),
    );
    let offset = timing.iter().find(|t| t.0 == OffsetAlloc::NAME).map_or(f64::NAN, |t| t.1);
    println!(
        "  seed 0, {ROUNDS} rotated full replays, each {SEGMENT}-event segment at its best \
         (failed allocations included):"
    );
    for &(name, ns) in timing {
        println!("    {name:<22} {ns:>9.1} ns/pair   {:>6.2}x offset-allocator", ns / offset);
    }
    println!("  per seed: failed allocations / failed MiB / largest free block MiB / largest it hands out MiB");
    for (name, per_seed) in quality {
        let cells: Vec<String> = per_seed
            .iter()
            .map(|q| {
                format!(
                    "{}/{:.1}/{:.2}/{:.2}",
                    q.failed,
                    mib(q.failed_bytes),
                    mib(q.largest_gap),
                    mib(q.largest_allocatable)
                )
            })
            .collect();
        let failed: usize = per_seed.iter().map(|q| q.failed).sum();
        let bytes: u64 = per_seed.iter().map(|q| q.failed_bytes).sum();
        println!("    {name:<22} {}", cells.join("  "));
        println!("    {:<22} sum over {SEEDS} seeds: {failed} failed, {:.1} MiB", "", mib(bytes));
    }
}

struct GrowthFigures {
    label: String,
    /// The contender whose targets are checked in this case.
    subject: &'static str,
    /// (live blocks, ns/pair per contender name).
    rows: Vec<(usize, Vec<(&'static str, f64)>)>,
}

const GROWTH_LIVE: [usize; 4] = [1_000, 10_000, 30_000, 100_000];
/// Pairs per growth round (whole bursts, so more at 100k live), and rounds.
const GROWTH_PAIRS: usize = 20_000;
const GROWTH_ROUNDS: usize = 15;
/// Rounds of the cases that are not sampled by criterion (and have two or three
/// contenders), to keep the run short.
const PATH_ROUNDS: usize = 11;

/// The four growth traces of a case, as the standard shape or the half-freed one.
fn growth_trace(
    sizes: GrowthSizes,
    half_freed: bool,
    live: usize,
    rounds: usize,
    seed: u64,
) -> GrowthTrace {
    let pairs = 2 * live + (rounds + 1) * GROWTH_PAIRS;
    if half_freed {
        GrowthTrace::half_freed(sizes, live, pairs, seed)
    } else {
        GrowthTrace::generate(sizes, live, pairs, seed)
    }
}

fn growth(c: &mut Criterion, sizes: GrowthSizes, seed: u64) -> GrowthFigures {
    let mut rows = Vec::new();
    for live in GROWTH_LIVE {
        let trace = growth_trace(sizes, false, live, GROWTH_ROUNDS, seed);
        let warm_up = 2 * live;
        let mut tt = GrowthRunner::<TtAlloc>::new(&trace, warm_up, GROWTH_PAIRS);
        let mut by_addr = GrowthRunner::<TtAllocByAddress>::new(&trace, warm_up, GROWTH_PAIRS);
        let mut offset = GrowthRunner::<OffsetAlloc>::new(&trace, warm_up, GROWTH_PAIRS);
        let mut reference = GrowthRunner::<ReferenceBestFit>::new(&trace, warm_up, GROWTH_PAIRS);
        if live == 100_000 && std::env::var_os("ALLOCATOR_BENCH_SUMMARY_ONLY").is_none() {
            let mut group =
                c.benchmark_group(format!("allocator/growth 100k live, {}", sizes.name()));
            group.sample_size(10).measurement_time(Duration::from_secs(1));
            group.warm_up_time(Duration::from_millis(200));
            group.throughput(criterion::Throughput::Elements(trace.burst as u64));
            criterion_churn(&mut group, &mut tt);
            criterion_churn(&mut group, &mut by_addr);
            criterion_churn(&mut group, &mut offset);
            criterion_churn(&mut group, &mut reference);
            group.finish();
        }
        let mut runners: Vec<Box<dyn Timed + '_>> =
            vec![Box::new(tt), Box::new(by_addr), Box::new(offset), Box::new(reference)];
        rotate_rounds(&mut runners, GROWTH_ROUNDS);
        rows.push((live, runners.iter().map(|r| (r.name(), r.ns_per_unit())).collect()));
    }
    GrowthFigures { label: sizes.name().to_owned(), subject: TtAlloc::NAME, rows }
}

/// One path of the engine (contender `C`) against offset-allocator (and, for the health
/// case, the engine without health), at every live count, timed like the growth traces.
fn path<C: Contender>(
    label: &str,
    sizes: GrowthSizes,
    half_freed: bool,
    seed: u64,
) -> GrowthFigures {
    let mut rows = Vec::new();
    for live in GROWTH_LIVE {
        let trace = growth_trace(sizes, half_freed, live, PATH_ROUNDS, seed);
        let warm_up = 2 * live;
        let mut runners: Vec<Box<dyn Timed + '_>> = vec![
            Box::new(GrowthRunner::<C>::new(&trace, warm_up, GROWTH_PAIRS)),
            Box::new(GrowthRunner::<OffsetAlloc>::new(&trace, warm_up, GROWTH_PAIRS)),
        ];
        if C::NAME == TtAllocWithHealth::NAME {
            runners.push(Box::new(GrowthRunner::<TtAlloc>::new(&trace, warm_up, GROWTH_PAIRS)));
        }
        rotate_rounds(&mut runners, PATH_ROUNDS);
        rows.push((live, runners.iter().map(|r| (r.name(), r.ns_per_unit())).collect()));
    }
    GrowthFigures { label: format!("{label}, {}", sizes.name()), subject: C::NAME, rows }
}

/// One criterion benchmark at the runner's steady state, an iteration being one burst
/// (its pairs are the throughput elements, so criterion also reports pairs per second).
fn criterion_churn<C: Contender>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runner: &mut GrowthRunner<'_, C>,
) {
    let burst = runner.trace.burst;
    group.bench_function(C::NAME, |b| {
        b.iter_custom(|bursts| {
            let start = Instant::now();
            runner.churn(bursts as usize * burst, false);
            start.elapsed()
        })
    });
}

fn ns_of(row: &[(&'static str, f64)], name: &str) -> f64 {
    row.iter().find(|r| r.0 == name).map_or(f64::NAN, |r| r.1)
}

fn failed_bytes(q: &[(&'static str, Vec<Quality>)], name: &str) -> u64 {
    q.iter().find(|r| r.0 == name).map_or(0, |r| r.1.iter().map(|s| s.failed_bytes).sum())
}

fn per_seed(q: &[(&'static str, Vec<Quality>)], name: &str) -> Vec<u64> {
    q.iter()
        .find(|r| r.0 == name)
        .map_or(Vec::new(), |r| r.1.iter().map(|s| s.failed_bytes).collect())
}

/// Targets of issue 26.
const AT_100K: f64 = 1.5;
const GROWTH_VS_OFFSET: f64 = 1.3;
const SHIPPED_VS_OFFSET: f64 = 1.2;
const HEALTH_SHARE: f64 = 0.05;

fn print_targets(pressure: &[(&PressureSpec, PressureFigures)], growth: &[GrowthFigures]) {
    println!("\n=== targets of issue 26 (same-run ratios) ===");
    for (spec, f) in pressure {
        let offset = ns_of(&f.timing, OffsetAlloc::NAME);
        let engine = ns_of(&f.timing, TtAlloc::NAME);
        let health = ns_of(&f.timing, TtAllocWithHealth::NAME);
        let shipped = ns_of(&f.timing, ShippedAllocator::NAME);
        let name = spec.name;
        println!(
            "  {name:<5} cost tt-alloc / offset-allocator                  {:>6.2}",
            engine / offset
        );
        if name != MODEL.name {
            let ratio = health / offset;
            println!(
                "  {name:<5} cost tt-alloc + health / offset-allocator         {ratio:>6.2}  target <= {SHIPPED_VS_OFFSET}: {}",
                verdict(ratio <= SHIPPED_VS_OFFSET)
            );
            let share = health / engine - 1.0;
            println!(
                "  {name:<5} health publication / allocate+free pair           {:>5.1}%  target < {:.0}%: {}",
                100.0 * share,
                100.0 * HEALTH_SHARE,
                verdict(share < HEALTH_SHARE)
            );
            let ratio = shipped / offset;
            println!(
                "  {name:<5} cost shipped Allocator / offset-allocator        {ratio:>6.2}  target <= {SHIPPED_VS_OFFSET}: {}",
                verdict(ratio <= SHIPPED_VS_OFFSET)
            );
        }
        let tt = failed_bytes(&f.quality, TtAlloc::NAME) as f64;
        let best_fit = failed_bytes(&f.quality, ReferenceBestFit::NAME) as f64;
        let first_fit = failed_bytes(&f.quality, NaiveFirstFit::NAME) as f64;
        let better = best_fit.min(first_fit);
        let seeds_won = {
            let (t, b, ff) = (
                per_seed(&f.quality, TtAlloc::NAME),
                per_seed(&f.quality, ReferenceBestFit::NAME),
                per_seed(&f.quality, NaiveFirstFit::NAME),
            );
            t.iter().zip(b.iter().zip(&ff)).filter(|(t, (b, ff))| **t <= (**b).min(**ff)).count()
        };
        println!(
            "  {name:<5} failed bytes tt-alloc / min(first, best fit)      {:>6.3}  target <= 1: {} ({seeds_won} of {SEEDS} seeds at or below both)",
            tt / better.max(1.0),
            verdict(tt <= better)
        );
        let tt_quality = f.quality.iter().find(|r| r.0 == TtAlloc::NAME);
        let hands_out_largest =
            tt_quality.is_some_and(|r| r.1.iter().all(|q| q.largest_allocatable == q.largest_gap));
        println!(
            "  {name:<5} tt-alloc hands out its largest free block on every seed:        {}",
            verdict(hands_out_largest)
        );
    }
    for g in growth {
        let first = &g.rows[0];
        let last = &g.rows[g.rows.len() - 1];
        println!("  {}: ns/pair (x offset-allocator)", g.label);
        for (live, row) in &g.rows {
            let offset = ns_of(row, OffsetAlloc::NAME);
            let cells: Vec<String> = row
                .iter()
                .map(|(name, ns)| format!("{name} {ns:.1} ({:.2}x)", ns / offset))
                .collect();
            println!("    {live:>6} live: {}", cells.join(", "));
        }
        let at_last = ns_of(&last.1, g.subject) / ns_of(&last.1, OffsetAlloc::NAME);
        println!(
            "    at {} live {} / offset-allocator {at_last:>6.2}  target <= {AT_100K}: {}",
            last.0,
            g.subject,
            verdict(at_last <= AT_100K)
        );
        let growth_of = |name| ns_of(&last.1, name) / ns_of(&first.1, name);
        let (tt_growth, offset_growth) = (growth_of(g.subject), growth_of(OffsetAlloc::NAME));
        let relative = tt_growth / offset_growth;
        println!(
            "    growth {} -> {} live: {} {tt_growth:.2}, offset-allocator {offset_growth:.2}, ratio {relative:.2}  target <= {GROWTH_VS_OFFSET}: {}",
            first.0,
            last.0,
            g.subject,
            verdict(relative <= GROWTH_VS_OFFSET)
        );
    }
}

/// Whether `part` runs: `ALLOCATOR_BENCH_ONLY=l1,growth` runs only those parts.
fn selected(part: &str) -> bool {
    std::env::var("ALLOCATOR_BENCH_ONLY").map_or(true, |only| only.split(',').any(|p| p == part))
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let started = Instant::now();
    let mut pressure_figures = Vec::new();
    for (part, spec, seed) in [
        ("l1", &L1, 0x4c31_5f74_7261_6365),
        ("dram", &DRAM, 0x4452_414d_5f74_7263),
        ("model", &MODEL, 0x4d4f_4445_4c5f_7472),
    ] {
        if selected(part) {
            pressure_figures.push((spec, pressure(spec, seed)));
        }
    }
    let mut growth_figures = Vec::new();
    if selected("growth") {
        growth_figures.push(growth(&mut c, GrowthSizes::LogUniform, 0x6772_6f77_7468_0001));
        growth_figures.push(growth(&mut c, GrowthSizes::Repeated, 0x6772_6f77_7468_0002));
    }
    if selected("paths") {
        let (log, seed) = (GrowthSizes::LogUniform, 0x7061_7468_0000_0001);
        growth_figures.push(path::<TtTopDown>("top-down", log, false, seed));
        growth_figures.push(path::<TtAligned4K>("4 KiB-aligned", log, false, seed));
        growth_figures.push(path::<TtAligned64K>("64 KiB-aligned", log, false, seed));
        growth_figures.push(path::<TtAlloc>(
            "above the limit",
            GrowthSizes::AboveLimit,
            false,
            seed,
        ));
        growth_figures.push(path::<TtAllocWithHealth>("health published", log, false, seed));
        growth_figures.push(path::<TtAlloc>("half-freed", log, true, seed));
    }
    c.final_summary();
    print_targets(&pressure_figures, &growth_figures);
    println!("  (whole run {:.0} s)", started.elapsed().as_secs_f64());
}
