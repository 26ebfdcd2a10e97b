//! Cost per tracking event (one placement or one release) of tt-track against the designs
//! other stacks used: a message per event over a unix datagram socket, and one set of
//! atomic counters shared by every thread.
//!
//! Run: `cargo bench -p tt-runtime --bench tracking`. Criterion's groups report time per
//! place+release pair (throughput counts 2 events per iteration); the summary printed at
//! the end comes from a same-run timing loop and gives ns per event and the ratios.

use std::hint::black_box;
use std::os::unix::net::UnixDatagram;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use tt_accounting::{BankClass, BankSpan, MemKind, Placement, Reservation};
use tt_soc::{Arch, ChipUid};
use tt_track::{DeviceCapacity, DeviceInfo, DeviceSlot, Tracker};

const THREADS: usize = 4;
/// A two-page L1 buffer as the allocator places it: payload on two cores, its range
/// reserved on all 64 (a lockstep reservation, what every allocator placement records).
const SPANS: [BankSpan; 2] = [
    BankSpan { bank: 0, addr: 0x48000, size: 4000 },
    BankSpan { bank: 1, addr: 0x48000, size: 4000 },
];

fn capacity() -> DeviceCapacity {
    DeviceCapacity {
        dram_bytes: 12 << 30,
        dram_banks: 12,
        tensix_l1_per_core: 1 << 20,
        tensix_cores: 64,
        ethernet_l1_per_core: 256 << 10,
        ethernet_cores: 16,
    }
}

/// One place+release pair through the tracker, shaped as the allocator records it.
#[inline]
fn tracked_pair(tracker: &Tracker, device: DeviceSlot, at: &'static Location<'static>) {
    let placement = Placement {
        device: device.uid(),
        kind: MemKind::L1,
        class: BankClass::Tensix,
        spans: black_box(&SPANS),
        reserved: Reservation::EveryBank { per_bank: 4096, banks: 64 },
        owner: "bench buffer",
        provenance: at,
    };
    let record = tracker.record(device, &placement).expect("counted");
    drop(black_box(record));
}

/// One set of counters per kind, as a shared-counter design keeps them.
#[derive(Default)]
struct SharedCounters {
    placed_bytes: AtomicU64,
    placed_count: AtomicU64,
    released_bytes: AtomicU64,
    released_count: AtomicU64,
}

#[inline]
fn shared_pair(counters: &SharedCounters, bytes: u64) {
    counters.placed_bytes.fetch_add(bytes, Ordering::Relaxed);
    counters.placed_count.fetch_add(1, Ordering::Relaxed);
    counters.released_bytes.fetch_add(bytes, Ordering::Relaxed);
    counters.released_count.fetch_add(1, Ordering::Relaxed);
}

/// A unix datagram socket whose reader thread receives 64-byte event messages.
struct SocketSink {
    sender: UnixDatagram,
    stop: Arc<AtomicBool>,
    reader: Option<thread::JoinHandle<u64>>,
}

impl SocketSink {
    fn new() -> SocketSink {
        let (sender, receiver) = UnixDatagram::pair().expect("socketpair");
        let stop = Arc::new(AtomicBool::new(false));
        let reader_stop = stop.clone();
        let reader = thread::spawn(move || {
            let mut buffer = [0u8; 64];
            let mut bytes = 0u64;
            while !reader_stop.load(Ordering::Relaxed) {
                if let Ok(n) = receiver.recv(&mut buffer) {
                    bytes += n as u64;
                }
            }
            bytes
        });
        SocketSink { sender, stop, reader: Some(reader) }
    }

    #[inline]
    fn send_pair(&self, id: u64) {
        let mut message = [0u8; 64];
        message[..8].copy_from_slice(&id.to_le_bytes());
        message[8..16].copy_from_slice(&4096u64.to_le_bytes());
        message[16] = 1;
        self.sender.send(black_box(&message)).expect("send place");
        message[16] = 2;
        self.sender.send(black_box(&message)).expect("send release");
    }
}

impl Drop for SocketSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the reader in case it waits in recv.
        let _ = self.sender.send(&[0u8; 64]);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    on: Tracker,
    on_devices: Vec<DeviceSlot>,
    off: Tracker,
    off_device: DeviceSlot,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let on = Tracker::with_ledger_dir(dir.path()).expect("ledger tracker");
    let on_devices = (0..THREADS as u64)
        .map(|d| {
            let info = DeviceInfo::new(ChipUid(0xB0 + d), Arch::WormholeB0, capacity());
            on.register_device(&info).expect("register")
        })
        .collect();
    let off = Tracker::disabled();
    let off_device = off
        .register_device(&DeviceInfo::new(ChipUid(0xB0), Arch::WormholeB0, capacity()))
        .expect("register");
    Setup { _dir: dir, on, on_devices, off, off_device }
}

/// Wall time for `threads` threads each running `pairs` iterations of `work(thread, i)`.
fn run_threads<F>(threads: usize, pairs: u64, work: F) -> Duration
where
    F: Fn(usize, u64) + Sync,
{
    let barrier = Barrier::new(threads + 1);
    thread::scope(|scope| {
        for t in 0..threads {
            let (barrier, work) = (&barrier, &work);
            scope.spawn(move || {
                barrier.wait();
                for i in 0..pairs {
                    work(t, i);
                }
                barrier.wait();
            });
        }
        barrier.wait();
        let start = Instant::now();
        barrier.wait();
        start.elapsed()
    })
}

fn criterion_groups(c: &mut Criterion, s: &Setup) {
    let at = Location::caller();
    let shared = SharedCounters::default();
    let sink = SocketSink::new();

    let mut single = c.benchmark_group("tracking_1_thread_pair");
    single.throughput(Throughput::Elements(2));
    single.bench_function("a_tt_track_ledger_on", |b| {
        b.iter(|| tracked_pair(&s.on, s.on_devices[0], at))
    });
    single.bench_function("b_tt_track_off", |b| b.iter(|| tracked_pair(&s.off, s.off_device, at)));
    let mut id = 0u64;
    single.bench_function("c_unix_datagram_message", |b| {
        b.iter(|| {
            id += 1;
            sink.send_pair(id)
        })
    });
    single.bench_function("d_shared_atomics", |b| b.iter(|| shared_pair(&shared, black_box(4096))));
    single.finish();

    let mut four = c.benchmark_group("tracking_4_threads_pair_per_thread");
    four.throughput(Throughput::Elements(2 * THREADS as u64));
    four.bench_function("a_tt_track_own_device_each", |b| {
        b.iter_custom(|iters| {
            run_threads(THREADS, iters, |t, _| tracked_pair(&s.on, s.on_devices[t], at))
        })
    });
    four.bench_function("d_shared_atomics_one_set", |b| {
        b.iter_custom(|iters| {
            run_threads(THREADS, iters, |_, _| shared_pair(&shared, black_box(4096)))
        })
    });
    four.finish();
}

/// ns per event (2 events per pair) over `pairs` pairs, best of three runs.
fn ns_per_event(threads: usize, pairs: u64, work: impl Fn(usize, u64) + Sync) -> f64 {
    (0..3)
        .map(|_| {
            run_threads(threads, pairs, &work).as_secs_f64() * 1e9
                / (2 * pairs * threads as u64) as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn summary(s: &Setup) {
    let at = Location::caller();
    let shared = SharedCounters::default();
    let sink = SocketSink::new();
    let pairs = 2_000_000;
    let a1 = ns_per_event(1, pairs, |_, _| tracked_pair(&s.on, s.on_devices[0], at));
    let b1 = ns_per_event(1, pairs, |_, _| tracked_pair(&s.off, s.off_device, at));
    let c1 = ns_per_event(1, pairs / 10, |_, i| sink.send_pair(i));
    let d1 = ns_per_event(1, pairs, |_, _| shared_pair(&shared, black_box(4096)));
    let a4 = ns_per_event(THREADS, pairs / 2, |t, _| tracked_pair(&s.on, s.on_devices[t], at));
    let d4 = ns_per_event(THREADS, pairs / 2, |_, _| shared_pair(&shared, black_box(4096)));

    println!();
    println!("tracking summary (ns per event; an event is one placement or one release)");
    println!(
        "  (a) tt-track, ledger on, 1 thread        {a1:8.2} ns   target <= 25 ns: {}",
        verdict(a1 <= 25.0)
    );
    println!("  (b) tt-track, tracking off, 1 thread     {b1:8.2} ns");
    println!("  (c) 64-byte unix datagram per event      {c1:8.2} ns");
    println!("  (d) one shared atomic counter set        {d1:8.2} ns");
    println!(
        "  (a) 4 threads, own device slot each      {a4:8.2} ns per event (wall / all events)"
    );
    println!(
        "  (d) 4 threads, one shared counter set    {d4:8.2} ns per event (wall / all events)"
    );
    println!(
        "  ratio (c)/(a) single thread              {:8.1}x  target >= 30x: {}",
        c1 / a1,
        verdict(c1 / a1 >= 30.0)
    );
    println!("  scaling 1->4 threads, (a) speed-up       {:8.2}x", a1 / a4);
    println!("  scaling 1->4 threads, (d) speed-up       {:8.2}x", d1 / d4);
    println!("  (a) scales better than (d)               {}", verdict(a1 / a4 > d1 / d4));
    println!(
        "  machine: {} hardware threads available",
        thread::available_parallelism().map_or(0, |n| n.get())
    );
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

fn main() {
    let s = setup();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    criterion_groups(&mut c, &s);
    c.final_summary();
    summary(&s);
}
