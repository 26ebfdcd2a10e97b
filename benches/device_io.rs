//! Device I/O on the simulated card: writes and reads of 4 KiB, 64 KiB and 1 MiB to one
//! core's L1 and to DRAM, each beside a plain `copy_from_slice` of the same size in the same
//! run. Prints the bandwidth ratio device/memcpy and whether each meets its target: 4 KiB
//! transfers (the size of dispatch and mailbox traffic, where fixed costs show) at least
//! 0.5x, 1 MiB transfers at least 0.75x.

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

/// Times `base` and `case` in alternating batches (so background load hits both alike)
/// and returns the median time of one call of each and the median of the per-round
/// bandwidth ratios base/case.
fn paired(mut base: impl FnMut(), mut case: impl FnMut()) -> (Duration, Duration, f64) {
    let mut batch = 1u32;
    loop {
        let t = Instant::now();
        for _ in 0..batch {
            base();
            case();
        }
        if t.elapsed() > Duration::from_millis(2) {
            break;
        }
        batch *= 2;
    }
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        t.elapsed() / batch
    };
    let (mut bases, mut cases, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..31 {
        let b = time(&mut base);
        let c = time(&mut case);
        bases.push(b);
        cases.push(c);
        ratios.push(b.as_secs_f64() / c.as_secs_f64());
    }
    bases.sort();
    cases.sort();
    ratios.sort_by(f64::total_cmp);
    (bases[15], cases[15], ratios[15])
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

        // Same-run ratios: each case timed in alternation with the baseline.
        let mut copy = vec![0u8; size];
        let mut memcpy = || copy.copy_from_slice(black_box(&src));
        let cases: [(&str, (Duration, Duration, f64)); 4] = [
            (
                "l1 write",
                paired(&mut memcpy, || dev.write(core, L1_ADDR, black_box(&src)).expect("write")),
            ),
            (
                "l1 read",
                paired(&mut memcpy, || dev.read(core, L1_ADDR, black_box(&mut dst)).expect("read")),
            ),
            (
                "dram write",
                paired(&mut memcpy, || dev.write_dram(dram, 0, black_box(&src)).expect("write")),
            ),
            (
                "dram read",
                paired(&mut memcpy, || dev.read_dram(dram, 0, black_box(&mut dst)).expect("read")),
            ),
        ];
        let target = match size {
            s if s <= 4 << 10 => Some(0.5),
            s if s >= 1 << 20 => Some(0.75),
            _ => None,
        };
        for (name, (base, t, ratio)) in cases {
            let verdict = target.map_or(String::new(), |min| {
                format!("  target >= {min:.2}x: {}", if ratio >= min { "met" } else { "NOT met" })
            });
            summary.push(format!(
                "{:>5} KiB {:<10} {:>10.2?}  memcpy {:>10.2?}  bandwidth ratio {ratio:.2}x of memcpy{verdict}",
                size >> 10,
                name,
                t,
                base,
            ));
        }
    }
    println!("\ndevice_io summary (simulated wormhole_b0, same run):");
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
