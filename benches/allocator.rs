//! Allocator benchmark: tt-alloc's range engine, as its callers use it, against the
//! offset-allocator crate, an exact best-fit reference and a naive first-fit list, on
//! workloads shaped to find weak spots, all in the same run.
//!
//! - Pressure traces (L1 and DRAM banks, 8 fixed seeds each) drive demand near and past
//!   capacity, so allocations fail and placement quality shows: failed count and bytes per
//!   seed and summed, and the largest block each allocator can actually hand out when the
//!   churn ends. Seed 0 is also timed: full replays, order rotated every round, each
//!   segment of the trace at its best over the rounds (the machine may be shared).
//! - Growth traces hold 1k to 100k live blocks in a 32 GiB bank and churn, for two size
//!   distributions, to show how the cost per pair grows with the live count. Criterion
//!   samples the 100k case (an iteration is a burst of 25k pairs); the summary times every
//!   case in 1024-pair segments over rotated rounds and keeps the median segment.
//!
//! Every target of the allocator work is printed with its ratio and whether it is met.
//! `ALLOCATOR_BENCH_SUMMARY_ONLY=1` skips criterion's sampling; `ALLOCATOR_BENCH_ONLY=l1,dram,growth`
//! picks parts.

#[path = "allocator/contenders.rs"]
mod contenders;
#[path = "allocator/traces.rs"]
mod traces;

use std::hint::black_box;
use std::time::{Duration, Instant};

use contenders::{
    largest_allocatable, Contender, NaiveFirstFit, OffsetAlloc, ReferenceBestFit, TtAlloc,
    TtAllocByAddress,
};
use criterion::Criterion;
use traces::{Event, GrowthSizes, GrowthTrace, PressureSpec, PressureTrace, DRAM, L1, MIB};

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
            handles[id as usize] = black_box(handle);
            handle.is_some()
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
    let mut handles = vec![None; trace.allocations];
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
        let handles = vec![None; trace.allocations];
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
    slots: Vec<C::Handle>,
    cursor: usize,
    pairs_per_round: usize,
    /// ns per pair of every timed segment so far.
    samples: Vec<f64>,
}

/// Pairs per timed segment of a growth round: short enough that most segments run between
/// two preemptions on a shared machine.
const GROWTH_SEGMENT: usize = 1024;

impl<'t, C: Contender> GrowthRunner<'t, C> {
    /// Fills the bank and churns once through the warm-up part of the trace.
    fn new(trace: &'t GrowthTrace, warm_up: usize, pairs_per_round: usize) -> Self {
        let mut allocator = C::new(trace.capacity, trace.alignment);
        let slots = trace
            .fill
            .iter()
            .map(|&size| allocator.allocate(size).expect("the growth bank never fills"))
            .collect();
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

    /// At least `pairs` frees and allocations, in whole bursts from the cursor on (wrapping
    /// at the end of the trace). With `timed`, each segment's frees and allocations are
    /// timed and its ns per pair kept.
    fn churn(&mut self, pairs: usize, timed: bool) {
        let burst = self.trace.burst;
        let mut free_times = Vec::with_capacity(burst.div_ceil(GROWTH_SEGMENT));
        for _ in 0..pairs.div_ceil(burst) {
            let chunk = &self.trace.churn[self.cursor..self.cursor + burst];
            self.cursor = (self.cursor + burst) % self.trace.churn.len();
            free_times.clear();
            for segment in chunk.chunks(GROWTH_SEGMENT) {
                let start = Instant::now();
                for &(slot, _) in segment {
                    self.allocator.free(self.slots[slot as usize]);
                }
                free_times.push(start.elapsed());
            }
            for (segment, freed) in chunk.chunks(GROWTH_SEGMENT).zip(&free_times) {
                let start = Instant::now();
                for &(slot, size) in segment {
                    let handle =
                        self.allocator.allocate(size).expect("the growth bank never fills");
                    self.slots[slot as usize] = black_box(handle);
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
        PressureRunner::<OffsetAlloc>::boxed(t0),
        PressureRunner::<ReferenceBestFit>::boxed(t0),
        PressureRunner::<NaiveFirstFit>::boxed(t0),
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
    sizes: GrowthSizes,
    /// (live blocks, ns/pair per contender name).
    rows: Vec<(usize, Vec<(&'static str, f64)>)>,
}

const GROWTH_LIVE: [usize; 4] = [1_000, 10_000, 30_000, 100_000];
/// Pairs per growth round (whole bursts, so more at 100k live), and rounds.
const GROWTH_PAIRS: usize = 20_000;
const GROWTH_ROUNDS: usize = 15;

fn growth(c: &mut Criterion, sizes: GrowthSizes, seed: u64) -> GrowthFigures {
    let mut rows = Vec::new();
    for live in GROWTH_LIVE {
        let trace =
            GrowthTrace::generate(sizes, live, 2 * live + (GROWTH_ROUNDS + 1) * GROWTH_PAIRS, seed);
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
    GrowthFigures { sizes, rows }
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

fn print_targets(pressure: &[(&PressureSpec, PressureFigures)], growth: &[GrowthFigures]) {
    println!("\n=== targets (same-run ratios) ===");
    for (spec, f) in pressure {
        let ratio = ns_of(&f.timing, TtAlloc::NAME) / ns_of(&f.timing, OffsetAlloc::NAME);
        println!(
            "  {:<4} cost tt-alloc / offset-allocator             {ratio:>6.2}  target <= 1.3: {}",
            spec.name,
            verdict(ratio <= 1.3)
        );
        let by_address = ns_of(&f.timing, TtAllocByAddress::NAME) / ns_of(&f.timing, TtAlloc::NAME);
        println!(
            "  {:<4} cost free by address / free by handle        {by_address:>6.2}",
            spec.name
        );
        let tt = failed_bytes(&f.quality, TtAlloc::NAME) as f64;
        let best_fit = failed_bytes(&f.quality, ReferenceBestFit::NAME) as f64;
        let first_fit = failed_bytes(&f.quality, NaiveFirstFit::NAME) as f64;
        let q = tt / best_fit.max(1.0);
        println!(
            "  {:<4} failed bytes tt-alloc / best-fit reference {q:>6.3}  target <= 1.05: {}",
            spec.name,
            verdict(tt <= 1.05 * best_fit)
        );
        let better = best_fit.min(first_fit);
        println!(
            "  {:<4} failed bytes tt-alloc / min(first, best fit) {:>6.3}  stretch <= 1: {}",
            spec.name,
            tt / better.max(1.0),
            verdict(tt <= better)
        );
        let tt_quality = f.quality.iter().find(|r| r.0 == TtAlloc::NAME);
        let hands_out_largest =
            tt_quality.is_some_and(|r| r.1.iter().all(|q| q.largest_allocatable == q.largest_gap));
        println!(
            "  {:<4} tt-alloc hands out its largest free block on every seed:     {}",
            spec.name,
            verdict(hands_out_largest)
        );
    }
    for g in growth {
        let first = &g.rows[0];
        let last = &g.rows[g.rows.len() - 1];
        println!("  growth, {}: ns/pair (x offset-allocator)", g.sizes.name());
        for (live, row) in &g.rows {
            let offset = ns_of(row, OffsetAlloc::NAME);
            let cells: Vec<String> = row
                .iter()
                .map(|(name, ns)| format!("{name} {ns:.1} ({:.2}x)", ns / offset))
                .collect();
            println!("    {live:>6} live: {}", cells.join(", "));
        }
        let at_last = ns_of(&last.1, TtAlloc::NAME) / ns_of(&last.1, OffsetAlloc::NAME);
        println!(
            "    at {} live tt-alloc / offset-allocator          {at_last:>6.2}  target <= 2.5: {}",
            last.0,
            verdict(at_last <= 2.5)
        );
        let growth_of = |name| ns_of(&last.1, name) / ns_of(&first.1, name);
        let tt_growth = growth_of(TtAlloc::NAME);
        println!(
            "    tt-alloc growth {} -> {} live                 {tt_growth:>6.2}  target <= 3: {}",
            first.0,
            last.0,
            verdict(tt_growth <= 3.0)
        );
        println!(
            "    offset-allocator growth {} -> {} live         {:>6.2}",
            first.0,
            last.0,
            growth_of(OffsetAlloc::NAME)
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
    for (part, spec, seed) in
        [("l1", &L1, 0x4c31_5f74_7261_6365), ("dram", &DRAM, 0x4452_414d_5f74_7263)]
    {
        if selected(part) {
            pressure_figures.push((spec, pressure(spec, seed)));
        }
    }
    let mut growth_figures = Vec::new();
    if selected("growth") {
        growth_figures.push(growth(&mut c, GrowthSizes::LogUniform, 0x6772_6f77_7468_0001));
        growth_figures.push(growth(&mut c, GrowthSizes::Repeated, 0x6772_6f77_7468_0002));
    }
    c.final_summary();
    print_targets(&pressure_figures, &growth_figures);
    println!("  (whole run {:.0} s)", started.elapsed().as_secs_f64());
}
