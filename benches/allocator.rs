//! Allocator benchmark: tt-alloc's range engine against the `offset-allocator` crate (an O(1)
//! two-level bitmap allocator) and a naive first-fit sorted free list, on two deterministic
//! traces replayed identically against each contender in the same run.
//!
//! Reports criterion's figures, then a summary from a same-run timing loop: ns per
//! allocate+free pair, the ratios tt-alloc/offset-allocator and naive/tt-alloc, and the
//! largest free block left after the churn (before the final frees).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use tt_alloc::{Policy, RangeAllocator, RangeHandle};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// SplitMix64: a tiny, well-mixed, seedable generator, so traces are identical everywhere.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo)
    }

    /// Log-uniform in [lo, hi).
    fn log_uniform(&mut self, lo: u64, hi: u64) -> u64 {
        let (a, b) = ((lo as f64).ln(), (hi as f64).ln());
        ((a + (b - a) * self.unit()).exp() as u64).clamp(lo, hi - 1)
    }
}

#[derive(Clone, Copy)]
enum Event {
    Alloc { id: u32, size: u64 },
    Free { id: u32 },
}

/// Size classes of a trace: (probability, min, max, lifetime range in allocation steps).
struct SizeClass {
    weight: f64,
    min: u64,
    max: u64,
    lifetime: (u64, u64),
}

struct TraceSpec {
    name: &'static str,
    seed: u64,
    capacity: u64,
    alignment: u64,
    allocations: u32,
    max_live: usize,
    /// Live bytes never exceed this share of the capacity in the generated trace.
    budget: f64,
    classes: Vec<SizeClass>,
}

struct Trace {
    name: &'static str,
    capacity: u64,
    events: Vec<Event>,
    /// Events before this index are the churn; the rest free what is still live.
    churn_end: usize,
    pairs: usize,
    peak_live: usize,
    live_at_churn_end: usize,
}

fn generate(spec: &TraceSpec) -> Trace {
    let mut rng = SplitMix64(spec.seed);
    let budget = (spec.capacity as f64 * spec.budget) as u64;
    let mut deaths: BinaryHeap<Reverse<(u64, u32)>> = BinaryHeap::new();
    let mut sizes = Vec::with_capacity(spec.allocations as usize);
    let mut events = Vec::with_capacity(2 * spec.allocations as usize);
    let (mut live_bytes, mut peak_live) = (0u64, 0usize);
    let free_next = |deaths: &mut BinaryHeap<Reverse<(u64, u32)>>,
                     events: &mut Vec<Event>,
                     sizes: &[u64],
                     live_bytes: &mut u64| {
        let Some(Reverse((_, id))) = deaths.pop() else { return false };
        events.push(Event::Free { id });
        *live_bytes -= sizes[id as usize];
        true
    };
    for id in 0..spec.allocations {
        let step = u64::from(id);
        while deaths.peek().is_some_and(|Reverse((death, _))| *death <= step) {
            free_next(&mut deaths, &mut events, &sizes, &mut live_bytes);
        }
        let mut pick = rng.unit();
        let class = spec
            .classes
            .iter()
            .find(|c| {
                pick -= c.weight;
                pick < 0.0
            })
            .unwrap_or(&spec.classes[0]);
        let size = rng.log_uniform(class.min, class.max).div_ceil(spec.alignment) * spec.alignment;
        while deaths.len() >= spec.max_live || live_bytes + size > budget {
            if !free_next(&mut deaths, &mut events, &sizes, &mut live_bytes) {
                break;
            }
        }
        sizes.push(size);
        events.push(Event::Alloc { id, size });
        live_bytes += size;
        deaths.push(Reverse((step + rng.range(class.lifetime.0, class.lifetime.1), id)));
        peak_live = peak_live.max(deaths.len());
    }
    let churn_end = events.len();
    let live_at_churn_end = deaths.len();
    while free_next(&mut deaths, &mut events, &sizes, &mut live_bytes) {}
    Trace {
        name: spec.name,
        capacity: spec.capacity,
        events,
        churn_end,
        pairs: spec.allocations as usize,
        peak_live,
        live_at_churn_end,
    }
}

fn l1_trace() -> Trace {
    generate(&TraceSpec {
        name: "l1 (1.5 MiB, 1-64 KiB, <=200 live)",
        seed: 0x4c31_5f74_7261_6365,
        capacity: 1536 * KIB,
        alignment: 16,
        allocations: 50_000,
        max_live: 200,
        budget: 0.75,
        classes: vec![
            SizeClass { weight: 0.75, min: KIB, max: 4 * KIB, lifetime: (1, 400) },
            SizeClass { weight: 0.20, min: 4 * KIB, max: 16 * KIB, lifetime: (1, 200) },
            SizeClass { weight: 0.05, min: 16 * KIB, max: 64 * KIB + 1, lifetime: (1, 2_000) },
        ],
    })
}

fn dram_trace() -> Trace {
    generate(&TraceSpec {
        name: "dram (1 GiB, 2 KiB-64 MiB, <=10000 live)",
        seed: 0x4452_414d_5f74_7263,
        capacity: GIB,
        alignment: 32,
        allocations: 60_000,
        max_live: 10_000,
        budget: 0.85,
        classes: vec![
            SizeClass { weight: 0.90, min: 2 * KIB, max: 64 * KIB, lifetime: (1, 40_000) },
            SizeClass { weight: 0.09, min: 64 * KIB, max: 4 * MIB, lifetime: (1, 2_000) },
            SizeClass { weight: 0.01, min: 4 * MIB, max: 64 * MIB + 1, lifetime: (1, 200) },
        ],
    })
}

/// One allocator under test.
trait Contender {
    const NAME: &'static str;
    type Handle: Copy;
    fn new(capacity: u64) -> Self;
    fn allocate(&mut self, size: u64) -> Option<Self::Handle>;
    fn free(&mut self, handle: Self::Handle);
    fn largest_free_block(&self, live: &[Option<Self::Handle>]) -> u64;
}

/// Requests of at least this many bytes are placed top-down by the tt-alloc contender.
const LARGE_FROM: u64 = 256 << 10;

struct TtAlloc(RangeAllocator);

impl Contender for TtAlloc {
    const NAME: &'static str = "tt-alloc";
    type Handle = RangeHandle;
    fn new(capacity: u64) -> Self {
        TtAlloc(RangeAllocator::new(0, capacity, 32))
    }
    fn allocate(&mut self, size: u64) -> Option<RangeHandle> {
        // Best fit either way; large blocks go to the top of their hole and small ones to the
        // bottom, so long runs of small blocks do not split the space large ones need (the
        // per-request bottom-up/top-down choice tt-metal's allocator also offers).
        let policy = if size >= LARGE_FROM { Policy::TopDown } else { Policy::BestFitBottomUp };
        self.0.allocate_handle(size, 0, policy).ok()
    }
    fn free(&mut self, handle: RangeHandle) {
        let freed = self.0.free_handle(handle);
        debug_assert!(freed.is_ok());
    }
    fn largest_free_block(&self, _live: &[Option<RangeHandle>]) -> u64 {
        self.0.stats().largest_free.map_or(0, |b| b.size)
    }
}

struct OffsetAlloc(offset_allocator::Allocator, u64);

impl Contender for OffsetAlloc {
    const NAME: &'static str = "offset-allocator";
    type Handle = offset_allocator::Allocation;
    fn new(capacity: u64) -> Self {
        let capacity = u32::try_from(capacity).unwrap_or(u32::MAX);
        OffsetAlloc(
            offset_allocator::Allocator::with_max_allocs(capacity, 1 << 17),
            capacity.into(),
        )
    }
    fn allocate(&mut self, size: u64) -> Option<Self::Handle> {
        self.0.allocate(u32::try_from(size).ok()?)
    }
    fn free(&mut self, handle: Self::Handle) {
        self.0.free(handle);
    }
    /// Its own report rounds the largest region down to a size bin, so compute the exact
    /// figure from the live allocations: the largest gap between them.
    fn largest_free_block(&self, live: &[Option<Self::Handle>]) -> u64 {
        let mut used: Vec<(u64, u64)> = live
            .iter()
            .flatten()
            .map(|a| (u64::from(a.offset), u64::from(self.0.allocation_size(*a))))
            .collect();
        used.sort_unstable();
        let (mut cursor, mut largest) = (0u64, 0u64);
        for (offset, size) in used {
            largest = largest.max(offset.saturating_sub(cursor));
            cursor = cursor.max(offset + size);
        }
        largest.max(self.1.saturating_sub(cursor))
    }
}

/// The classic design: free ranges in a Vec sorted by address, first fit by linear scan,
/// coalescing on free.
struct NaiveFirstFit {
    free: Vec<(u64, u64)>,
    sizes: std::collections::HashMap<u64, u64>,
}

impl Contender for NaiveFirstFit {
    const NAME: &'static str = "naive first-fit list";
    type Handle = u64;
    fn new(capacity: u64) -> Self {
        NaiveFirstFit { free: vec![(0, capacity)], sizes: std::collections::HashMap::new() }
    }
    fn allocate(&mut self, size: u64) -> Option<u64> {
        let i = self.free.iter().position(|&(_, s)| s >= size)?;
        let (addr, hole) = self.free[i];
        if hole == size {
            self.free.remove(i);
        } else {
            self.free[i] = (addr + size, hole - size);
        }
        self.sizes.insert(addr, size);
        Some(addr)
    }
    fn free(&mut self, addr: u64) {
        let Some(size) = self.sizes.remove(&addr) else { return };
        let i = self.free.partition_point(|&(a, _)| a < addr);
        let joins_prev = i > 0 && self.free[i - 1].0 + self.free[i - 1].1 == addr;
        let joins_next = i < self.free.len() && addr + size == self.free[i].0;
        match (joins_prev, joins_next) {
            (true, true) => {
                self.free[i - 1].1 += size + self.free[i].1;
                self.free.remove(i);
            }
            (true, false) => self.free[i - 1].1 += size,
            (false, true) => self.free[i] = (addr, size + self.free[i].1),
            (false, false) => self.free.insert(i, (addr, size)),
        }
    }
    fn largest_free_block(&self, _live: &[Option<u64>]) -> u64 {
        self.free.iter().map(|&(_, s)| s).max().unwrap_or(0)
    }
}

/// What one replay observed.
struct Replay {
    failed: usize,
    largest_free_after_churn: u64,
}

/// Replays `trace` on `a`, which must be empty, and leaves it empty again.
fn replay<C: Contender>(a: &mut C, trace: &Trace, handles: &mut [Option<C::Handle>]) -> Replay {
    let mut failed = 0;
    let mut largest_free_after_churn = 0;
    for (i, event) in trace.events.iter().enumerate() {
        if i == trace.churn_end {
            largest_free_after_churn = a.largest_free_block(handles);
        }
        match *event {
            Event::Alloc { id, size } => {
                let handle = a.allocate(size);
                failed += usize::from(handle.is_none());
                handles[id as usize] = black_box(handle);
            }
            Event::Free { id } => {
                if let Some(handle) = handles[id as usize].take() {
                    a.free(handle);
                }
            }
        }
    }
    Replay { failed, largest_free_after_churn }
}

/// Time-only replay for the measurement loops.
fn replay_timed<C: Contender>(a: &mut C, trace: &Trace, handles: &mut [Option<C::Handle>]) {
    for event in &trace.events {
        match *event {
            Event::Alloc { id, size } => handles[id as usize] = black_box(a.allocate(size)),
            Event::Free { id } => {
                if let Some(handle) = handles[id as usize].take() {
                    a.free(handle);
                }
            }
        }
    }
}

struct Figures {
    ns_per_pair: f64,
    failed: usize,
    largest_free_after_churn: u64,
}

/// One contender's state for the measurement loops.
struct Runner<C: Contender> {
    allocator: C,
    handles: Vec<Option<C::Handle>>,
    outcome: Replay,
    best: Duration,
}

impl<C: Contender> Runner<C> {
    /// A fresh contender whose first replay warms its storage and records outcomes.
    fn new(trace: &Trace) -> Self {
        let mut allocator = C::new(trace.capacity);
        let mut handles = vec![None; trace.pairs];
        let outcome = replay(&mut allocator, trace, &mut handles);
        Runner { allocator, handles, outcome, best: Duration::MAX }
    }

    fn criterion(&mut self, c: &mut Criterion, trace: &Trace, group: &str) {
        // ALLOCATOR_BENCH_SUMMARY_ONLY=1 skips criterion's sampling (quick iterations).
        if std::env::var_os("ALLOCATOR_BENCH_SUMMARY_ONLY").is_some() {
            return;
        }
        let (allocator, handles) = (&mut self.allocator, &mut self.handles);
        c.benchmark_group(group).sample_size(10).bench_function(C::NAME, |b| {
            b.iter(|| replay_timed(allocator, trace, handles));
        });
    }

    fn timed_round(&mut self, trace: &Trace) {
        let start = Instant::now();
        replay_timed(&mut self.allocator, trace, &mut self.handles);
        self.best = self.best.min(start.elapsed());
    }

    fn figures(&self, trace: &Trace) -> Figures {
        Figures {
            ns_per_pair: self.best.as_nanos() as f64 / trace.pairs as f64,
            failed: self.outcome.failed,
            largest_free_after_churn: self.outcome.largest_free_after_churn,
        }
    }
}

/// Criterion groups for the three contenders on one trace, then the same-run timing loop:
/// rounds alternate between contenders (so background load hits all alike) and each keeps
/// its best full replay.
fn measure(c: &mut Criterion, trace: &Trace) -> [Figures; 3] {
    let group = format!("allocator/{}", trace.name.split(' ').next().unwrap_or("trace"));
    let mut tt = Runner::<TtAlloc>::new(trace);
    let mut offset = Runner::<OffsetAlloc>::new(trace);
    let mut naive = Runner::<NaiveFirstFit>::new(trace);
    tt.criterion(c, trace, &group);
    offset.criterion(c, trace, &group);
    naive.criterion(c, trace, &group);
    let deadline = Instant::now() + Duration::from_secs(4);
    for round in 0..25 {
        tt.timed_round(trace);
        offset.timed_round(trace);
        naive.timed_round(trace);
        if round >= 4 && Instant::now() > deadline {
            break;
        }
    }
    [tt.figures(trace), offset.figures(trace), naive.figures(trace)]
}

fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / MIB as f64)
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let traces = [l1_trace(), dram_trace()];
    let mut summary = Vec::new();
    for trace in &traces {
        let [tt, offset, naive] = measure(&mut c, trace);
        summary.push((trace, tt, offset, naive));
    }
    c.final_summary();

    println!(
        "\n=== allocator summary (best of same-run full replays; ns per allocate+free pair) ==="
    );
    for (trace, tt, offset, naive) in &summary {
        println!(
            "\n{}: {} pairs, peak {} live, {} live after churn",
            trace.name, trace.pairs, trace.peak_live, trace.live_at_churn_end
        );
        for (name, f) in
            [(TtAlloc::NAME, tt), (OffsetAlloc::NAME, offset), (NaiveFirstFit::NAME, naive)]
        {
            println!(
                "  {name:<22} {:>9.1} ns/pair   largest free block after churn {:>12}   failed allocations {}",
                f.ns_per_pair,
                mib(f.largest_free_after_churn),
                f.failed
            );
        }
        println!(
            "  ratio tt-alloc/offset-allocator = {:.2} (target <= 1.5)   naive/tt-alloc = {:.1} (target >= 5 on dram)",
            tt.ns_per_pair / offset.ns_per_pair,
            naive.ns_per_pair / tt.ns_per_pair
        );
        println!(
            "  largest free block tt-alloc / offset-allocator = {:.4} (target >= 1)",
            tt.largest_free_after_churn as f64 / offset.largest_free_after_churn.max(1) as f64
        );
    }
}
