//! Device I/O on the simulated card: writes and reads of 4 KiB, 64 KiB and 1 MiB to one
//! core's L1 and to DRAM, each beside a plain `copy_from_slice` of the same size in the same
//! run. Prints the bandwidth ratio device/memcpy (target: 1 MiB writes >= 0.7x).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tt_device::{Device, DramChannelId, NocCoord, OpenOptions};

const SIZES: [usize; 3] = [4 << 10, 64 << 10, 1 << 20];
const L1_ADDR: u64 = 0x48000;

fn open() -> (tempfile::TempDir, Device) {
    let dir = tempfile::tempdir().expect("temp dir for the simulated chip");
    let options = OpenOptions { sim_dir: Some(dir.path().to_path_buf()), ..Default::default() };
    let dev = Device::open_with("sim:wormhole_b0", &options).expect("open simulated chip");
    (dir, dev)
}

/// Median time of one call of `f`, over batches long enough to time reliably.
fn median_time(mut f: impl FnMut()) -> Duration {
    let mut per_call = Vec::new();
    let mut batch = 1u32;
    loop {
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        if t.elapsed() > Duration::from_millis(2) {
            break;
        }
        batch *= 2;
    }
    for _ in 0..31 {
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        per_call.push(t.elapsed() / batch);
    }
    per_call.sort();
    per_call[per_call.len() / 2]
}

fn bench(c: &mut Criterion) {
    let (_dir, dev) = open();
    let core = NocCoord::new(1, 1);
    let dram = DramChannelId(0);
    let mut summary = Vec::new();
    for size in SIZES {
        let src: Vec<u8> = (0..size).map(|i| i as u8).collect();
        let mut dst = vec![0u8; size];
        let mut group = c.benchmark_group(format!("device_io/{}KiB", size >> 10));
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("memcpy", size), |b| {
            b.iter(|| dst.copy_from_slice(black_box(&src)))
        });
        group.bench_function(BenchmarkId::new("l1_write", size), |b| {
            b.iter(|| dev.write(core, L1_ADDR, black_box(&src)).expect("write"))
        });
        group.bench_function(BenchmarkId::new("l1_read", size), |b| {
            b.iter(|| dev.read(core, L1_ADDR, black_box(&mut dst)).expect("read"))
        });
        group.bench_function(BenchmarkId::new("dram_write", size), |b| {
            b.iter(|| dev.write_dram(dram, 0, black_box(&src)).expect("write"))
        });
        group.bench_function(BenchmarkId::new("dram_read", size), |b| {
            b.iter(|| dev.read_dram(dram, 0, black_box(&mut dst)).expect("read"))
        });
        group.finish();

        // Same-run ratios: each contender timed back to back with the baseline.
        let memcpy = median_time(|| dst.copy_from_slice(black_box(&src)));
        let cases: [(&str, Duration); 4] = [
            ("l1 write", median_time(|| dev.write(core, L1_ADDR, black_box(&src)).expect("write"))),
            (
                "l1 read",
                median_time(|| dev.read(core, L1_ADDR, black_box(&mut dst)).expect("read")),
            ),
            (
                "dram write",
                median_time(|| dev.write_dram(dram, 0, black_box(&src)).expect("write")),
            ),
            (
                "dram read",
                median_time(|| dev.read_dram(dram, 0, black_box(&mut dst)).expect("read")),
            ),
        ];
        for (name, t) in cases {
            summary.push(format!(
                "{:>5} KiB {:<10} {:>10.2?}  memcpy {:>10.2?}  bandwidth ratio {:.2}x of memcpy",
                size >> 10,
                name,
                t,
                memcpy,
                memcpy.as_secs_f64() / t.as_secs_f64()
            ));
        }
    }
    println!(
        "\ndevice_io summary (simulated wormhole_b0, same run; target: 1 MiB writes >= 0.70x):"
    );
    for line in summary {
        println!("  {line}");
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = bench
}
criterion_main!(benches);
