//! Example workloads that compute with the built-in kernels and check the result on the
//! host: `loopback` (DRAM -> L1 -> DRAM), `add` (C = A + B with reader/compute/writer kernels
//! and circular buffers) and `reduce` (a multi-core sum that synchronises with semaphores).
//! `ttctl run` and the benchmarks use them.

use std::time::{Duration, Instant};

use tt_accounting::{BankType, MemKind};
use tt_alloc::{Allocation, BufferRequest, Layout, Policy};
use tt_soc::NocCoord;

use crate::{builtin_kernel, dram_bank_table, Buffer, Processor, Program, ProgramError, Runtime};

type Result<T> = std::result::Result<T, ProgramError>;

fn mismatch(workload: &str, detail: String) -> ProgramError {
    ProgramError::WrongResult { workload: workload.to_string(), detail }
}

fn placing(what: &str) -> impl FnOnce(tt_alloc::AllocError) -> ProgramError + '_ {
    move |source| ProgramError::Alloc { program: what.to_string(), source }
}

/// Cores the workloads run on (fewer when the chip has fewer workers).
pub const CORES: usize = 64;
/// Bytes per page of every buffer.
pub const PAGE: u64 = 2048;
/// Pages each core handles per run.
pub const PAGES_PER_CORE: u64 = 8;

/// What one workload run did.
pub struct Report {
    /// Programs run.
    pub runs: u64,
    /// Bytes the kernels moved or computed over (inputs plus outputs), all runs.
    pub bytes: u64,
    /// Time spent running kernels (host I/O excluded).
    pub kernel_time: Duration,
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next_u32(&mut self) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }
}

fn words(rng: &mut Rng, count: u64) -> Vec<u32> {
    (0..count).map(|_| rng.next_u32()).collect()
}

fn to_bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

fn from_bytes(bytes: &[u8]) -> Vec<u32> {
    bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// Places the DRAM bank table in the L1 of each of `cores` (kind L1), as the kernels read it.
pub fn bank_table_on(rt: &Runtime, cores: &[NocCoord]) -> Result<Allocation> {
    let table = dram_bank_table(rt);
    let placed = rt
        .allocator()
        .allocate(&BufferRequest {
            bank_type: BankType::L1,
            kind: MemKind::L1,
            layout: Layout::Sharded { cores, shard_size: table.len() as u64 },
            policy: Policy::default(),
            owner: "ttctl: DRAM bank table",
        })
        .map_err(placing("DRAM bank table"))?;
    for core in cores {
        rt.device().write(*core, placed.address(), &table)?;
    }
    Ok(placed)
}

fn cores_of(rt: &Runtime) -> Vec<NocCoord> {
    let workers = rt.worker_cores();
    workers[..CORES.min(workers.len())].to_vec()
}

fn kernel(name: &str) -> Result<crate::KernelImage> {
    builtin_kernel(name)
}

/// `loopback`: each core copies its pages from one DRAM buffer to another through L1.
pub fn loopback(rt: &Runtime, iterations: u32, peak: &mut dyn FnMut()) -> Result<Report> {
    let cores = cores_of(rt);
    let pages = PAGES_PER_CORE * cores.len() as u64;
    let table = bank_table_on(rt, &cores)?;
    let banks = rt.allocator().bank_count(BankType::Dram) as u32;
    let src = Buffer::dram(rt, PAGE, pages, "ttctl loopback: source")?;
    let dst = Buffer::dram(rt, PAGE, pages, "ttctl loopback: destination")?;
    let mut p = Program::new("loopback");
    let id = p.add_kernel("loopback", kernel("loopback")?, Processor::DataMovement0, &cores);
    for (i, core) in cores.iter().enumerate() {
        let first = i as u64 * PAGES_PER_CORE;
        let args = [
            src.address(),
            dst.address(),
            PAGE,
            first,
            PAGES_PER_CORE,
            table.address(),
            u64::from(banks),
        ];
        p.set_runtime_args(id, *core, &args.map(|a| a as u32))?;
    }
    p.add_circular_buffer(0, &cores, PAGE as u32, 1);
    let loaded = p.load(rt)?;
    peak();
    let mut rng = Rng(0x6c6f_6f70);
    let mut report = Report { runs: 0, bytes: 0, kernel_time: Duration::ZERO };
    for _ in 0..iterations {
        let data = to_bytes(&words(&mut rng, src.len() / 4));
        src.write(&data)?;
        dst.write(&vec![0; data.len()])?;
        let start = Instant::now();
        loaded.run()?;
        report.kernel_time += start.elapsed();
        let mut out = vec![0; data.len()];
        dst.read(&mut out)?;
        if out != data {
            let first = out.iter().zip(&data).position(|(a, b)| a != b).unwrap_or(0);
            return Err(mismatch(
                "loopback",
                format!("destination differs from source at byte {first}"),
            ));
        }
        report.runs += 1;
        report.bytes += 2 * src.len();
    }
    Ok(report)
}

/// `add`: C = A + B over u32 vectors, with a reader, a compute and a writer kernel on each
/// core passing pages through circular buffers.
pub fn add(rt: &Runtime, iterations: u32, peak: &mut dyn FnMut()) -> Result<Report> {
    let cores = cores_of(rt);
    let pages = PAGES_PER_CORE * cores.len() as u64;
    let table = bank_table_on(rt, &cores)?;
    let banks = rt.allocator().bank_count(BankType::Dram) as u64;
    let a = Buffer::dram(rt, PAGE, pages, "ttctl add: A")?;
    let b = Buffer::dram(rt, PAGE, pages, "ttctl add: B")?;
    let c = Buffer::dram(rt, PAGE, pages, "ttctl add: C")?;
    let mut p = Program::new("add");
    let trio = [
        ("reader", Processor::DataMovement0),
        ("compute_add", Processor::Compute0),
        ("writer", Processor::DataMovement1),
    ];
    for (name, processor) in trio {
        let id = p.add_kernel(name, kernel(name)?, processor, &cores);
        for (i, core) in cores.iter().enumerate() {
            let first = i as u64 * PAGES_PER_CORE;
            let args = [
                a.address(),
                b.address(),
                c.address(),
                PAGE,
                first,
                PAGES_PER_CORE,
                table.address(),
                banks,
            ];
            p.set_runtime_args(id, *core, &args.map(|v| v as u32))?;
        }
    }
    for cb in 0..3 {
        p.add_circular_buffer(cb, &cores, PAGE as u32, 2);
    }
    let loaded = p.load(rt)?;
    peak();
    let mut rng = Rng(0x6164_6421);
    let mut report = Report { runs: 0, bytes: 0, kernel_time: Duration::ZERO };
    for _ in 0..iterations {
        let (va, vb) = (words(&mut rng, a.len() / 4), words(&mut rng, b.len() / 4));
        a.write(&to_bytes(&va))?;
        b.write(&to_bytes(&vb))?;
        c.write(&vec![0; c.len() as usize])?;
        let start = Instant::now();
        loaded.run()?;
        report.kernel_time += start.elapsed();
        let mut out = vec![0; c.len() as usize];
        c.read(&mut out)?;
        let got = from_bytes(&out);
        if let Some(i) = (0..va.len()).find(|&i| got[i] != va[i].wrapping_add(vb[i])) {
            return Err(mismatch(
                "add",
                format!("C[{i}] = {:#x}, expected {:#x} + {:#x}", got[i], va[i], vb[i]),
            ));
        }
        report.runs += 1;
        report.bytes += 3 * a.len();
    }
    Ok(report)
}

/// `reduce`: every core sums its slice; the others send their partial sums to the root
/// core's L1 and count themselves in on its semaphore; the root adds them and writes the
/// total to DRAM.
pub fn reduce(rt: &Runtime, iterations: u32, peak: &mut dyn FnMut()) -> Result<Report> {
    let cores = cores_of(rt);
    let root = cores[0];
    let pages = PAGES_PER_CORE * cores.len() as u64;
    let table = bank_table_on(rt, &cores)?;
    let banks = rt.allocator().bank_count(BankType::Dram) as u64;
    let input = Buffer::dram(rt, PAGE, pages, "ttctl reduce: input")?;
    let align = rt.device().arch().dram_alignment();
    let output = Buffer::dram(rt, align, 1, "ttctl reduce: total")?;
    let slots = rt
        .allocator()
        .allocate(&BufferRequest {
            bank_type: BankType::L1,
            kind: MemKind::L1,
            layout: Layout::Sharded { cores: &[root], shard_size: 4 * cores.len() as u64 },
            policy: Policy::default(),
            owner: "ttctl reduce: partial sums",
        })
        .map_err(placing("reduce partial-sum slots"))?;
    let mut p = Program::new("reduce");
    let id = p.add_kernel("reduce", kernel("reduce")?, Processor::DataMovement0, &cores);
    for (i, core) in cores.iter().enumerate() {
        let args = [
            input.address(),
            PAGE,
            i as u64 * PAGES_PER_CORE,
            PAGES_PER_CORE,
            table.address(),
            banks,
            u64::from(root.x),
            u64::from(root.y),
            cores.len() as u64,
            i as u64,
            slots.address(),
            output.address(),
        ];
        p.set_runtime_args(id, *core, &args.map(|v| v as u32))?;
    }
    p.add_circular_buffer(0, &cores, PAGE as u32, 1);
    p.add_semaphore(&cores, 0);
    let loaded = p.load(rt)?;
    peak();
    let mut rng = Rng(0x7265_6475);
    let mut report = Report { runs: 0, bytes: 0, kernel_time: Duration::ZERO };
    for _ in 0..iterations {
        let values = words(&mut rng, input.len() / 4);
        input.write(&to_bytes(&values))?;
        let start = Instant::now();
        loaded.run()?;
        report.kernel_time += start.elapsed();
        let mut out = [0u8; 4];
        output.read(&mut out)?;
        let expected = values.iter().fold(0u32, |s, v| s.wrapping_add(*v));
        if u32::from_le_bytes(out) != expected {
            return Err(mismatch(
                "reduce",
                format!("total {:#x}, expected {expected:#x}", u32::from_le_bytes(out)),
            ));
        }
        report.runs += 1;
        report.bytes += input.len();
    }
    Ok(report)
}
