//! The workloads: pressure traces (an L1 bank and a DRAM bank driven past capacity) and
//! growth traces (a steady churn at a fixed number of live blocks), all generated from fixed
//! seeds so every contender replays the same requests.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

pub const KIB: u64 = 1024;
pub const MIB: u64 = 1024 * KIB;
pub const GIB: u64 = 1024 * MIB;

/// SplitMix64: a tiny, well-mixed, seedable generator, so traces are identical everywhere.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo)
    }

    /// Log-uniform in [lo, hi).
    pub fn log_uniform(&mut self, lo: u64, hi: u64) -> u64 {
        let (a, b) = ((lo as f64).ln(), (hi as f64).ln());
        ((a + (b - a) * self.unit()).exp() as u64).clamp(lo, hi - 1)
    }

    /// Picks one of `weights` (which sum to 1) with their probabilities.
    pub fn pick(&mut self, weights: impl IntoIterator<Item = f64>) -> usize {
        let mut left = self.unit();
        let mut last = 0;
        for (i, w) in weights.into_iter().enumerate() {
            left -= w;
            last = i;
            if left < 0.0 {
                break;
            }
        }
        last
    }
}

/// A band of a distribution: drawn with probability `weight`, log-uniform in [min, max).
#[derive(Clone, Copy)]
pub struct Band {
    pub weight: f64,
    pub min: u64,
    pub max: u64,
}

const fn band(weight: f64, min: u64, max: u64) -> Band {
    Band { weight, min, max }
}

#[derive(Clone, Copy)]
pub enum Event {
    Alloc { id: u32, size: u64 },
    Free { id: u32 },
}

/// How a pressure trace is drawn.
pub struct PressureSpec {
    pub name: &'static str,
    pub capacity: u64,
    pub alignment: u64,
    pub allocations: u32,
    pub sizes: &'static [Band],
    /// Lifetimes in allocation steps; drawn uniformly (not log-uniformly) inside a band.
    pub lifetimes: &'static [Band],
    /// Buffers of at least `large_from` bytes draw their lifetimes from `large_lifetimes`
    /// instead (the same number of draws, so other traces are unchanged by it).
    pub large_from: u64,
    pub large_lifetimes: &'static [Band],
    /// Lifetimes are scaled by `1 + swing * sin(2 pi step / period)`, so demand rises past
    /// capacity and falls back like the phases of a workload.
    pub swing: f64,
    pub period: f64,
}

/// L1: 1.5 MiB bank, 1-64 KiB buffers; demand averages near capacity and peaks above it.
pub const L1: PressureSpec = PressureSpec {
    name: "l1",
    capacity: 1536 * KIB,
    alignment: 16,
    allocations: 1_000_000,
    sizes: &[
        band(0.70, KIB, 4 * KIB),
        band(0.25, 4 * KIB, 16 * KIB),
        band(0.05, 16 * KIB, 64 * KIB),
    ],
    lifetimes: &[band(0.55, 1, 120), band(0.35, 120, 500), band(0.10, 500, 2_500)],
    swing: 0.35,
    period: 20_000.0,
    large_from: u64::MAX,
    large_lifetimes: &[],
};

/// DRAM: 1 GiB bank, mostly small buffers with a few very large ones; short, medium and
/// very long lifetimes; demand about 84% of capacity on average.
pub const DRAM: PressureSpec = PressureSpec {
    name: "dram",
    capacity: GIB,
    alignment: 32,
    allocations: 600_000,
    sizes: &[
        band(0.97, 2 * KIB, 64 * KIB),
        band(0.027, 64 * KIB, 2 * MIB),
        band(0.003, 2 * MIB, 64 * MIB),
    ],
    lifetimes: &[band(0.45, 1, 200), band(0.30, 200, 4_000), band(0.25, 12_000, 67_000)],
    swing: 0.0,
    period: 1.0,
    large_from: u64::MAX,
    large_lifetimes: &[],
};

/// Model memory in DRAM: a 1 GiB bank, many 2-32 KiB activation buffers living a few to a
/// few thousand steps (some much longer), and a few 1-32 MiB weight buffers, part of them
/// resident for most of the trace; demand hovers near capacity as weights come and go.
pub const MODEL: PressureSpec = PressureSpec {
    name: "model",
    capacity: GIB,
    alignment: 32,
    allocations: 600_000,
    sizes: &[band(0.9988, 2 * KIB, 32 * KIB), band(0.0012, MIB, 32 * MIB)],
    lifetimes: &[band(0.60, 1, 200), band(0.35, 200, 4_000), band(0.05, 10_000, 100_000)],
    swing: 0.0,
    period: 1.0,
    large_from: MIB,
    large_lifetimes: &[band(0.6, 2_000, 30_000), band(0.4, 50_000, 300_000)],
};

/// One pressure trace, ready to replay.
pub struct PressureTrace {
    pub capacity: u64,
    pub alignment: u64,
    pub events: Vec<Event>,
    /// Events before this index allocate and free; the rest free what is still live.
    pub churn_end: usize,
    pub allocations: usize,
    /// Requested live bytes (as if nothing failed), averaged over allocation steps and at
    /// their peak, as shares of capacity.
    pub mean_demand: f64,
    pub peak_demand: f64,
}

impl PressureSpec {
    /// The trace of `seed` (a different seed per spec and index, fixed forever).
    pub fn generate(&self, seed: u64) -> PressureTrace {
        let mut rng = SplitMix64(seed);
        let mut deaths: BinaryHeap<Reverse<(u64, u32)>> = BinaryHeap::new();
        let mut sizes = Vec::with_capacity(self.allocations as usize);
        let mut events = Vec::with_capacity(2 * self.allocations as usize);
        let (mut live, mut demand_sum, mut peak) = (0u64, 0f64, 0u64);
        for id in 0..self.allocations {
            let step = u64::from(id);
            while let Some(Reverse((_, dead))) = deaths.peek().copied().filter(|d| d.0 .0 <= step) {
                deaths.pop();
                events.push(Event::Free { id: dead });
                live -= sizes[dead as usize];
            }
            let s = self.sizes[rng.pick(self.sizes.iter().map(|b| b.weight))];
            let size = rng.log_uniform(s.min, s.max).div_ceil(self.alignment) * self.alignment;
            let lifetimes =
                if size >= self.large_from { self.large_lifetimes } else { self.lifetimes };
            let l = lifetimes[rng.pick(lifetimes.iter().map(|b| b.weight))];
            let phase = (std::f64::consts::TAU * step as f64 / self.period).sin();
            let lifetime = (rng.range(l.min, l.max) as f64 * (1.0 + self.swing * phase)) as u64;
            sizes.push(size);
            events.push(Event::Alloc { id, size });
            live += size;
            demand_sum += live as f64;
            peak = peak.max(live);
            deaths.push(Reverse((step + lifetime.max(1), id)));
        }
        let churn_end = events.len();
        while let Some(Reverse((_, dead))) = deaths.pop() {
            events.push(Event::Free { id: dead });
        }
        let capacity = self.capacity as f64;
        PressureTrace {
            capacity: self.capacity,
            alignment: self.alignment,
            events,
            churn_end,
            allocations: self.allocations as usize,
            mean_demand: demand_sum / f64::from(self.allocations) / capacity,
            peak_demand: peak as f64 / capacity,
        }
    }
}

/// A size distribution of the growth traces.
#[derive(Clone, Copy)]
pub enum GrowthSizes {
    /// Log-uniform 2-64 KiB.
    LogUniform,
    /// Only 4, 8, 16, 32 and 64 KiB, equally likely: tensors of a few shapes.
    Repeated,
    /// Log-uniform 128-512 KiB: at and above 4096 units of 32 bytes, tt-alloc's exact-size
    /// limit, so every block lives in the size classes' trees.
    AboveLimit,
}

impl GrowthSizes {
    pub fn name(self) -> &'static str {
        match self {
            GrowthSizes::LogUniform => "log-uniform 2-64 KiB",
            GrowthSizes::Repeated => "only {4,8,16,32,64} KiB",
            GrowthSizes::AboveLimit => "log-uniform 128-512 KiB",
        }
    }

    /// The bank: 32 GiB, as big as the largest DRAM banks get, so nothing fails; 120 GiB
    /// for the large sizes (offset-allocator counts 2^32 units of 32 bytes at most).
    pub fn capacity(self) -> u64 {
        match self {
            GrowthSizes::AboveLimit => 120 * GIB,
            _ => 32 * GIB,
        }
    }

    fn draw(self, rng: &mut SplitMix64) -> u64 {
        match self {
            GrowthSizes::LogUniform => rng.log_uniform(2 * KIB, 64 * KIB).div_ceil(32) * 32,
            GrowthSizes::Repeated => (4 * KIB) << rng.range(0, 5),
            GrowthSizes::AboveLimit => rng.log_uniform(128 * KIB, 512 * KIB).div_ceil(32) * 32,
        }
    }
}

/// A bank holding `live` blocks, then churning in bursts: each burst frees a quarter of
/// the blocks, picked at random, then allocates as many new ones into their slots. Between
/// the two halves of a burst the bank is full of holes, many of one size, which is where
/// a best fit that walks its candidates slows down.
///
/// The half-freed shape ([`GrowthTrace::half_freed`]) fills `2 live` blocks, frees a
/// random half of them, and then churns in bursts of one pair: free one random live block,
/// allocate one: the bank stays riddled with holes of every size.
pub struct GrowthTrace {
    pub capacity: u64,
    pub alignment: u64,
    pub fill: Vec<u64>,
    /// Indices into `fill` freed right after it; the rest are the live slots, in order.
    pub freed_after_fill: Vec<u32>,
    /// Slots freed and refilled by one burst.
    pub burst: usize,
    /// (slot to free and refill, size of the new block), `burst` entries per burst.
    pub churn: Vec<(u32, u64)>,
}

impl GrowthTrace {
    /// `live` blocks and at least `pairs` churn pairs, in whole bursts.
    pub fn generate(sizes: GrowthSizes, live: usize, pairs: usize, seed: u64) -> Self {
        let mut rng = SplitMix64(seed);
        let fill = (0..live).map(|_| sizes.draw(&mut rng)).collect();
        let burst = (live / 4).max(1);
        let mut slots: Vec<u32> = (0..live as u32).collect();
        let mut churn = Vec::with_capacity(pairs + burst);
        while churn.len() < pairs {
            // A partial Fisher-Yates shuffle: `burst` distinct slots.
            for i in 0..burst {
                let j = rng.range(i as u64, live as u64) as usize;
                slots.swap(i, j);
                churn.push((slots[i], sizes.draw(&mut rng)));
            }
        }
        let (capacity, freed_after_fill) = (sizes.capacity(), Vec::new());
        GrowthTrace { capacity, alignment: 32, fill, freed_after_fill, burst, churn }
    }

    /// The half-freed shape: `2 live` blocks, a random half freed, then at least `pairs`
    /// single pairs.
    pub fn half_freed(sizes: GrowthSizes, live: usize, pairs: usize, seed: u64) -> Self {
        let mut rng = SplitMix64(seed);
        let fill: Vec<u64> = (0..2 * live).map(|_| sizes.draw(&mut rng)).collect();
        let mut order: Vec<u32> = (0..2 * live as u32).collect();
        for i in 0..live {
            let j = rng.range(i as u64, order.len() as u64) as usize;
            order.swap(i, j);
        }
        let mut freed_after_fill = order[..live].to_vec();
        freed_after_fill.sort_unstable();
        let churn =
            (0..pairs).map(|_| (rng.range(0, live as u64) as u32, sizes.draw(&mut rng))).collect();
        GrowthTrace {
            capacity: sizes.capacity(),
            alignment: 32,
            fill,
            freed_after_fill,
            burst: 1,
            churn,
        }
    }
}
