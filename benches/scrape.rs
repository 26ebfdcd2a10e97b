//! What one Prometheus scrape of `ttctl serve` costs: read the ledger and render `/metrics`,
//! beside reading it and rendering the `mem --json` document (what `/api/v1/mem` and
//! `ttctl mem --json` do), in one run, with one simulated chip held by this process with
//! buffers and a loaded program on it. Prints both, the ratio, and the cost per device
//! (target: well under 1 ms).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use tt_accounting::{BankType, MemKind};
use tt_alloc::{Allocation, BufferRequest, Layout, Policy};
use tt_device::{Device, OpenOptions};
use tt_program::{builtin_kernel, LoadedProgram, Processor, Program, Runtime};
use tt_track::Tracker;
use ttctl::mem::Filter;

/// The chip and what is placed on it; the fields are held so the ledger has them.
struct Held {
    _buffers: Vec<Allocation>,
    _program: LoadedProgram,
    runtime: Runtime,
}

fn hold(sim: &Path, tracker: &Tracker) -> Held {
    let options = OpenOptions { sim_dir: Some(sim.to_path_buf()), ..Default::default() };
    let device = Device::open_with("sim:n150", &options).expect("device");
    let runtime = Runtime::with_device(device, tracker).expect("runtime");
    let buffers = (0..16u64)
        .map(|i| {
            let (bank_type, kind) = if i % 2 == 0 {
                (BankType::Dram, MemKind::Dram)
            } else {
                (BankType::L1, MemKind::L1)
            };
            let request = BufferRequest {
                bank_type,
                kind,
                layout: Layout::Interleaved { page_size: 2048, pages: 8 + i },
                policy: Policy::default(),
                owner: "scrape bench",
            };
            runtime.allocator().allocate(&request).expect("buffer")
        })
        .collect();
    let cores: Vec<_> = runtime.worker_cores().into_iter().take(64).collect();
    let mut program = Program::new("scrape bench");
    let id = program.add_kernel(
        "reader",
        builtin_kernel("reader").expect("kernel"),
        Processor::DataMovement0,
        &cores,
    );
    program.set_common_args(id, &[0; 8]).expect("args");
    program.add_circular_buffer(0, &cores, 2048, 2);
    let loaded = program.load(&runtime).expect("load");
    Held { _buffers: buffers, _program: loaded, runtime }
}

fn scrape_metrics(ledger: &Path) -> String {
    let snapshot = tt_track::read_ledger(ledger).expect("ledger");
    ttctl::metrics::render(&snapshot, &[]).expect("exposition")
}

fn mem_json(ledger: &Path) -> String {
    let snapshot = tt_track::read_ledger(ledger).expect("ledger");
    let document = ttctl::mem_json::to_json(&snapshot, &Filter::default());
    serde_json::to_string_pretty(&document).expect("json")
}

fn median(mut f: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..201)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn bench(c: &mut Criterion) {
    let sim = tempfile::tempdir().expect("sim dir");
    let ledger = tempfile::tempdir().expect("ledger dir");
    let tracker = Tracker::with_ledger_dir(ledger.path()).expect("tracker");
    let held = hold(sim.path(), &tracker);
    let devices = tt_track::read_ledger(ledger.path()).expect("ledger").devices.len();
    assert_eq!(devices, 1, "the bench holds one chip");

    let mut group = c.benchmark_group("scrape");
    group.bench_function("metrics", |b| b.iter(|| black_box(scrape_metrics(ledger.path()))));
    group.bench_function("mem_json", |b| b.iter(|| black_box(mem_json(ledger.path()))));
    group.finish();

    let metrics = median(|| drop(black_box(scrape_metrics(ledger.path()))));
    let json = median(|| drop(black_box(mem_json(ledger.path()))));
    println!(
        "\nscrape summary ({} held by this process: 16 buffers, one program on 64 cores):",
        held.runtime.device().spec()
    );
    println!("  exposition bytes            {}", scrape_metrics(ledger.path()).len());
    println!("  read + /metrics             {metrics:>10.2?}");
    println!("  read + mem --json (baseline){json:>10.2?}");
    println!("  ratio /metrics / mem --json {:.2}x", metrics.as_secs_f64() / json.as_secs_f64());
    println!(
        "  per device                  {:>10.2?} (target well under 1 ms: {})",
        metrics / devices as u32,
        if metrics < Duration::from_micros(500) { "met" } else { "NOT MET" }
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = bench
}
criterion_main!(benches);
