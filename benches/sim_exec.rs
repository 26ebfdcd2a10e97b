//! Kernel execution on the simulated card: the RV32IM interpreter's speed on a tight loop
//! (`loop: addi t0, t0, 1; bne t0, t1, loop`) run by RISCV B from its reset pc after the host
//! releases it from soft reset, beside the same loop in host Rust in the same run. Prints
//! simulated instructions per second and the host/simulator ratio (target: >= 100 M instr/s).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tt_program::workloads;
use tt_sim::SimChip;
use tt_soc::tile::{SoftReset, SOFT_RESET_OFFSET, TILE_CONTROL_BASE};
use tt_soc::{Arch, NocCoord};

/// Loop iterations per run: two instructions each, about 10 ms of simulation.
const ITERATIONS: u32 = 1_000_000;
const CORE: NocCoord = NocCoord::new(1, 1);
/// Where the loop reports it finished (it stores the iteration count there).
const DONE: u32 = 0x20000;

/// `li t1, ITERATIONS; loop: addi t0, t0, 1; bne t0, t1, loop; lui t2, DONE; sw t1, 0(t2);
/// j .`, hand-encoded RV32I, placed at RISCV B's reset pc 0. Registers start at zero.
fn loop_kernel(iterations: u32) -> [u32; 7] {
    let low = ((iterations & 0xfff) as i32) << 20 >> 20;
    let high = iterations.wrapping_sub(low as u32) & 0xffff_f000;
    [
        high | 6 << 7 | 0x37,                                   // lui t1, high
        ((low as u32) & 0xfff) << 20 | 6 << 15 | 6 << 7 | 0x13, // addi t1, t1, low
        1 << 20 | 5 << 15 | 5 << 7 | 0x13,                      // addi t0, t0, 1
        0xfe62_9ee3,                                            // bne t0, t1, -4
        DONE | 7 << 7 | 0x37,                                   // lui t2, DONE
        6 << 20 | 7 << 15 | 2 << 12 | 0x23,                     // sw t1, 0(t2)
        0x0000_006f,                                            // jal x0, 0
    ]
}

/// Instructions the loop retires up to its store: li (2), the loop (2 per iteration), lui
/// and sw.
fn instructions(iterations: u32) -> u64 {
    2 + 2 * u64::from(iterations) + 2
}

struct Loaded {
    _dir: tempfile::TempDir,
    chip: SimChip,
    l1: tt_sim::SimTlbWindow,
    registers: tt_sim::SimTlbWindow,
}

fn load() -> Loaded {
    let dir = tempfile::tempdir().expect("temp dir for the simulated chip");
    let chip = SimChip::open_in(dir.path(), Arch::WormholeB0, 0).expect("open simulated chip");
    let mut l1 = chip.allocate_tlb(2 << 20).expect("TLB window");
    l1.configure(CORE, 0).expect("window on the worker's L1");
    let region = l1.region().expect("configured window");
    for (i, word) in loop_kernel(ITERATIONS).iter().enumerate() {
        region.write32(i * 4, *word).expect("write kernel");
    }
    let mut registers = chip.allocate_tlb(2 << 20).expect("TLB window");
    let reset = u64::from(TILE_CONTROL_BASE + SOFT_RESET_OFFSET);
    registers.configure(CORE, reset & !((2 << 20) - 1)).expect("window on the registers");
    Loaded { _dir: dir, chip, l1, registers }
}

/// Releases RISCV B from reset, waits for the loop's store, and holds it in reset again.
fn run_once(loaded: &Loaded) -> u64 {
    let l1 = loaded.l1.region().expect("configured window");
    let registers = loaded.registers.region().expect("configured window");
    let reset = ((TILE_CONTROL_BASE + SOFT_RESET_OFFSET) % (2 << 20)) as usize;
    l1.write32(DONE as usize, 0).expect("clear the done word");
    registers.write32(reset, (SoftReset::ALL_RISCV - SoftReset::RISCV_B).bits()).expect("release");
    loaded.chip.apply_soft_reset();
    // Poll gently: a spinning host thread would take a CPU from the simulated core.
    while l1.read32(DONE as usize).expect("poll") != ITERATIONS {
        std::thread::sleep(Duration::from_micros(20));
    }
    registers.write32(reset, SoftReset::ALL_RISCV.bits()).expect("hold");
    loaded.chip.apply_soft_reset();
    instructions(ITERATIONS)
}

/// The same loop on the host: two operations (add, compare-and-branch) per iteration.
/// `black_box` keeps the compiler from replacing the loop by its closed form.
fn host_loop(iterations: u32) -> u32 {
    let mut counter = 0u32;
    while counter != iterations {
        counter = black_box(counter.wrapping_add(1));
    }
    counter
}

fn median(mut f: impl FnMut(), runs: usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn bench(c: &mut Criterion) {
    let loaded = load();
    let instructions = run_once(&loaded);
    let host_operations = 2 * u64::from(ITERATIONS);

    let mut group = c.benchmark_group("sim_exec/tight_loop");
    group.throughput(Throughput::Elements(instructions));
    group.bench_function("simulated", |b| b.iter(|| run_once(&loaded)));
    group.bench_function("host_rust", |b| b.iter(|| host_loop(black_box(ITERATIONS))));
    group.finish();

    // Same-run ratio: each side timed back to back.
    let simulated = median(
        || {
            black_box(run_once(&loaded));
        },
        31,
    );
    let host = median(
        || {
            black_box(host_loop(black_box(ITERATIONS)));
        },
        31,
    );
    let sim_rate = instructions as f64 / simulated.as_secs_f64() / 1e6;
    let host_rate = host_operations as f64 / host.as_secs_f64() / 1e6;
    println!("\nsim_exec summary (simulated wormhole_b0, one core out of reset, same run):");
    println!(
        "  simulated: {instructions} instructions in {simulated:.2?} = {sim_rate:.0} M instr/s (target >= 100)"
    );
    println!(
        "  host Rust: {host_operations} loop operations in {host:.2?} = {host_rate:.0} M op/s"
    );
    println!("  host / simulated: {:.1}x", host_rate / sim_rate);
    add_workload(c);
}

/// The `add` workload (reader, compute and writer kernels on 64 cores, C = A + B checked on
/// the host) in bytes per second of kernel time, beside the same element-wise add in host
/// Rust over the same number of words.
fn add_workload(c: &mut Criterion) {
    let sim = tempfile::tempdir().expect("sim dir");
    let ledger = tempfile::tempdir().expect("ledger dir");
    let tracker = tt_track::Tracker::with_ledger_dir(ledger.path()).expect("tracker");
    let options =
        tt_device::OpenOptions { sim_dir: Some(sim.path().to_path_buf()), ..Default::default() };
    let device = tt_device::Device::open_with("sim:wormhole_b0", &options).expect("device");
    let rt = tt_program::Runtime::with_device(device, &tracker).expect("runtime");
    let words =
        (workloads::CORES as u64 * workloads::PAGES_PER_CORE * workloads::PAGE / 4) as usize;
    let a: Vec<u32> = (0..words as u32).collect();
    let b: Vec<u32> = (0..words as u32).map(|i| i.wrapping_mul(7)).collect();
    let mut out = vec![0u32; words];
    let mut group = c.benchmark_group("sim_exec/add");
    group.sample_size(10);
    group.bench_function("simulated_64_cores", |bench| {
        bench.iter(|| workloads::add(&rt, 1, &mut || {}).expect("add"))
    });
    group.bench_function("host_rust", |bench| bench.iter(|| host_add(&a, &b, &mut out)));
    group.finish();

    let report = workloads::add(&rt, 5, &mut || {}).expect("add");
    let sim_rate = report.bytes as f64 / report.kernel_time.as_secs_f64();
    let host = median(|| host_add(&a, &b, &mut out), 31);
    let host_rate = (3 * 4 * words) as f64 / host.as_secs_f64();
    println!("\nsim_exec add workload (64 cores, {} KiB per vector, same run):", words * 4 / 1024);
    println!(
        "  simulated: {:.1} MiB/s of kernel time (A + B read, C written)",
        sim_rate / (1 << 20) as f64
    );
    println!("  host Rust: {:.1} MiB/s", host_rate / (1 << 20) as f64);
    println!("  host / simulated: {:.0}x", host_rate / sim_rate);
}

fn host_add(a: &[u32], b: &[u32], out: &mut [u32]) {
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        *o = x.wrapping_add(*y);
    }
    black_box(out);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_millis(500));
    targets = bench
}
criterion_main!(benches);
