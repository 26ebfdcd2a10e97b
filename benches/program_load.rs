//! Program load+drop on the simulated card: a 3-kernel program with 4 circular buffers on 64
//! cores, beside writing the same bytes (kernel images and the per-core config block) with
//! plain device writes, in one run. Prints the ratio (target: load+drop <= 1.5x the writes).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use tt_device::{Device, OpenOptions};
use tt_program::{builtin_kernel, Processor, Program, Runtime};
use tt_track::Tracker;

fn setup() -> (tempfile::TempDir, tempfile::TempDir, Runtime, Program) {
    let sim = tempfile::tempdir().expect("sim dir");
    let ledger = tempfile::tempdir().expect("ledger dir");
    let tracker = Tracker::with_ledger_dir(ledger.path()).expect("tracker");
    let options = OpenOptions { sim_dir: Some(sim.path().to_path_buf()), ..Default::default() };
    let device = Device::open_with("sim:wormhole_b0", &options).expect("device");
    let rt = Runtime::with_device(device, &tracker).expect("runtime");
    let cores: Vec<_> = rt.worker_cores().into_iter().take(64).collect();
    let mut p = Program::new("bench");
    for (name, processor) in [
        ("reader", Processor::DataMovement0),
        ("compute_add", Processor::Compute0),
        ("writer", Processor::DataMovement1),
    ] {
        let id = p.add_kernel(name, builtin_kernel(name).expect("kernel"), processor, &cores);
        p.set_common_args(id, &[0; 8]).expect("args");
    }
    for index in 0..4 {
        p.add_circular_buffer(index, &cores, 2048, 2);
    }
    (sim, ledger, rt, p)
}

/// The same bytes a load writes, as plain device writes: each kernel image and a config
/// block of the load's size on every core.
fn raw_writes(rt: &Runtime, program: &Program, images: &[Vec<u8>], config: &[u8]) {
    let dev = rt.device();
    for core in rt.worker_cores().into_iter().take(64) {
        let mut at = 0x10000;
        for image in images {
            dev.write(core, at, image).expect("write");
            at += image.len() as u64;
        }
        dev.write(core, at, config).expect("write");
    }
    black_box(program);
}

fn median(mut f: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..41)
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
    let (_sim, _ledger, rt, program) = setup();
    let images: Vec<Vec<u8>> = ["reader", "compute_add", "writer"]
        .iter()
        .map(|n| builtin_kernel(n).expect("kernel").image().to_vec())
        .collect();
    let loaded = program.load(&rt).expect("load");
    let config_bytes = (loaded.kernel_bytes() - program.kernel_binary_bytes()) / 64;
    drop(loaded);
    let config = vec![0u8; config_bytes as usize];
    let mut group = c.benchmark_group("program_load");
    group.bench_function("load_and_drop", |b| {
        b.iter(|| drop(black_box(program.load(&rt).expect("load"))))
    });
    group.bench_function("raw_writes", |b| b.iter(|| raw_writes(&rt, &program, &images, &config)));
    group.finish();

    let load = median(|| drop(black_box(program.load(&rt).expect("load"))));
    let raw = median(|| raw_writes(&rt, &program, &images, &config));
    let bytes: u64 = images.iter().map(|i| i.len() as u64).sum::<u64>() * 64 + config_bytes * 64;
    println!(
        "\nprogram_load summary (3 kernels + 4 CBs on 64 cores, simulated wormhole_b0, same run):"
    );
    println!("  bytes written per load      {bytes}");
    println!("  load + drop                 {load:>10.2?}");
    println!("  raw device writes           {raw:>10.2?}");
    println!(
        "  ratio load+drop / raw       {:.2}x (target <= 1.50x)",
        load.as_secs_f64() / raw.as_secs_f64()
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = bench
}
criterion_main!(benches);
