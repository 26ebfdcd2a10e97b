//! A million random events over four threads and three devices: the reader's totals equal
//! the in-process truth at every checkpoint and are zero once everything is released.

use std::sync::{Arc, Barrier, Mutex};

use tt_accounting::MemKind;
use tt_soc::ChipUid;

use super::{here, spans, XorShift};
use crate::{read_ledger, AllocRecord, DeviceSlot, Tracker};
use crate::{DeviceCapacity, DeviceInfo};

const THREADS: usize = 4;
const DEVICES: usize = 3;
const EVENTS: usize = 1_000_000;
const CHECKPOINTS: usize = 10;

/// Per device, per kind: (current bytes, live count, placed bytes, released bytes).
type Truth = [[(u64, u64, u64, u64); MemKind::COUNT]; DEVICES];

fn add(into: &mut Truth, from: &Truth) {
    for (a, b) in into.iter_mut().flatten().zip(from.iter().flatten()) {
        *a = (a.0 + b.0, a.1 + b.1, a.2 + b.2, a.3 + b.3);
    }
}

fn check(tracker: &Tracker, dir: &std::path::Path, truth: &Truth, when: &str) {
    let snapshot = read_ledger(dir).expect("read ledger");
    assert!(snapshot.removed_dead.is_empty() && snapshot.skipped.is_empty(), "{when}");
    let me = snapshot.process(std::process::id()).expect("own segment listed");
    assert!(me.is_self);
    assert_eq!(tracker.snapshot().expect("enabled").devices, me.devices, "{when}");
    for (d, per_kind) in truth.iter().enumerate() {
        let uid = ChipUid(0xE0 + d as u64);
        let summed = snapshot.device(uid).expect("device summed");
        let own = me.device(uid).expect("device in own view");
        for kind in MemKind::ALL {
            let (current, live, placed, released) = per_kind[kind.index()];
            let total = summed.kind(kind);
            assert_eq!(
                (total.used_bytes, total.live_count, total.placed_bytes, total.released_bytes),
                (current, live, placed, released),
                "{when}: device {d} kind {kind}"
            );
            assert_eq!((own.kind(kind).used_bytes, own.kind(kind).live_count), (current, live));
        }
        assert_eq!(summed.integrity.total(), 0);
    }
}

/// A device big enough for the random sizes below: they are arbitrary, not a real chip's.
fn register_roomy(tracker: &Tracker, uid: u64) -> crate::DeviceSlot {
    let capacity = DeviceCapacity {
        dram_bytes: 1 << 50,
        dram_banks: 12,
        tensix_l1_per_core: 1 << 40,
        tensix_cores: 64,
        ethernet_l1_per_core: 0,
        ethernet_cores: 0,
    };
    let info = DeviceInfo::new(tt_soc::ChipUid(uid), tt_soc::Arch::WormholeB0, capacity);
    tracker.register_device(&info).expect("register")
}

#[test]
fn a_million_random_events_on_four_threads_sum_exactly_at_every_checkpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tracker = Tracker::with_ledger_dir(dir.path()).expect("tracker");
    let devices: Vec<DeviceSlot> =
        (0..DEVICES).map(|d| register_roomy(&tracker, 0xE0 + d as u64)).collect();
    let truths =
        Arc::new(Mutex::new([[[(0u64, 0u64, 0u64, 0u64); MemKind::COUNT]; DEVICES]; THREADS]));
    let barrier = Arc::new(Barrier::new(THREADS + 1));
    let per_thread = EVENTS / THREADS;

    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (tracker, devices, truths, barrier) =
                (tracker.clone(), devices.clone(), truths.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut rng = XorShift(0x9E37_79B9 ^ ((t as u64 + 1) * 0x1234_5678_9ABC));
                let mut live: Vec<(usize, AllocRecord)> = Vec::new();
                let mut truth: Truth = [[(0, 0, 0, 0); MemKind::COUNT]; DEVICES];
                for event in 1..=per_thread {
                    if live.is_empty() || rng.below(100) < 52 {
                        let d = rng.below(DEVICES as u64) as usize;
                        let kind = MemKind::ALL[rng.below(8) as usize];
                        let banks = 1 + rng.below(4) as u32;
                        let size = 1 + rng.below(1 << 20);
                        let record = tracker
                            .record_place(
                                devices[d],
                                kind,
                                &spans(banks, size),
                                "exactness",
                                here(),
                            )
                            .expect("place");
                        let t = &mut truth[d][kind.index()];
                        *t = (
                            t.0 + record.reserved_bytes(),
                            t.1 + 1,
                            t.2 + record.reserved_bytes(),
                            t.3,
                        );
                        live.push((d, record));
                    } else {
                        let pick = rng.below(live.len() as u64) as usize;
                        let (d, record) = live.swap_remove(pick);
                        let t = &mut truth[d][record.kind().index()];
                        *t = (
                            t.0 - record.reserved_bytes(),
                            t.1 - 1,
                            t.2,
                            t.3 + record.reserved_bytes(),
                        );
                        record.release();
                    }
                    if event % (per_thread / CHECKPOINTS) == 0 {
                        truths.lock().expect("truth lock")[t] = truth;
                        barrier.wait(); // checkpoint: everyone stopped
                        barrier.wait(); // main has compared
                    }
                }
                let drained = live.len() as u64;
                for (d, record) in live.drain(..) {
                    let t = &mut truth[d][record.kind().index()];
                    *t = (
                        t.0 - record.reserved_bytes(),
                        t.1 - 1,
                        t.2,
                        t.3 + record.reserved_bytes(),
                    );
                    record.release();
                }
                truths.lock().expect("truth lock")[t] = truth;
                drained
            })
        })
        .collect();

    for checkpoint in 1..=CHECKPOINTS {
        barrier.wait();
        let mut sum: Truth = [[(0, 0, 0, 0); MemKind::COUNT]; DEVICES];
        for truth in truths.lock().expect("truth lock").iter() {
            add(&mut sum, truth);
        }
        check(&tracker, dir.path(), &sum, &format!("checkpoint {checkpoint}"));
        barrier.wait();
    }
    let drained: u64 = workers.into_iter().map(|w| w.join().expect("worker panicked")).sum();
    let mut sum: Truth = [[(0, 0, 0, 0); MemKind::COUNT]; DEVICES];
    for truth in truths.lock().expect("truth lock").iter() {
        add(&mut sum, truth);
    }
    assert!(sum.iter().flatten().all(|k| k.0 == 0 && k.1 == 0));
    assert!(sum.iter().flatten().map(|k| k.2).sum::<u64>() > 0);
    check(&tracker, dir.path(), &sum, "after all releases");
    let snapshot = read_ledger(dir.path()).expect("read");
    assert!(snapshot.devices.iter().all(|d| d.used_bytes() == 0));
    let own = snapshot.process(std::process::id()).expect("own segment");
    let (placed, released): (u64, u64) = own
        .devices
        .iter()
        .flat_map(|d| d.kinds.iter())
        .fold((0, 0), |(p, r), k| (p + k.placed_count, r + k.released_count));
    assert_eq!(placed, released);
    assert_eq!(placed + released - drained, EVENTS as u64, "every event was counted");
}
