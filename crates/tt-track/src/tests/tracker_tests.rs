//! The tracker against its own ledger, one process.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use proptest::prelude::*;
use tt_accounting::{BankClass, BankSpan, MemKind, Placement, PlacementTracker, Reservation};
use tt_soc::{Arch, ChipUid};

use super::{here, ledger, register, spans, WORMHOLE};
use crate::segment::layout::{LIVE_TABLE_CAPACITY, MAX_DEVICES, RING_CAPACITY};
use crate::{read_ledger, DeviceInfo, EventOp, GraphCapture, LedgerOp, TrackError, Tracker};

#[test]
fn place_and_release_move_every_counter_by_the_recorded_size() {
    let (_dir, tracker) = ledger();
    let device = register(&tracker, 0xA1);
    let at = here();
    let kernel = tracker
        .record_place(device, MemKind::Kernel, &spans(64, 6 << 10), "program 7 kernel reader", at)
        .expect("place");
    assert_eq!(kernel.reserved_bytes(), 64 * (6 << 10));
    let dram = tracker
        .record_place(device, MemKind::Dram, &spans(12, 4096), "weights", here())
        .expect("place");

    let view = tracker.snapshot().expect("enabled");
    let dev = view.device(ChipUid(0xA1)).expect("registered");
    assert_eq!(dev.kind(MemKind::Kernel).used_bytes, 393_216);
    assert_eq!(dev.kind(MemKind::Kernel).live_count, 1);
    assert_eq!(dev.kind(MemKind::Dram).used_bytes, 49_152);
    assert_eq!(dev.used_bytes(), 393_216 + 49_152);
    assert_eq!(dev.peak_used_bytes, 393_216 + 49_152);
    assert_eq!(dev.arch, "wormhole_b0");
    assert_eq!(dev.capacity, WORMHOLE);
    assert_eq!(dev.live_records.len(), 2);
    let listed = &dev.live_records[0];
    assert_eq!((listed.id, listed.kind, listed.bytes), (kernel.id(), MemKind::Kernel, 393_216));
    assert_eq!(listed.owner, "program 7 kernel reader");
    assert!(listed.file.ends_with("tracker_tests.rs"), "{}", listed.file);
    assert_eq!(listed.line, at.line());

    let kernel_id = kernel.id();
    kernel.release();
    dram.release();
    let view = tracker.snapshot().expect("enabled");
    let dev = view.device(ChipUid(0xA1)).expect("registered");
    let usage = dev.kind(MemKind::Kernel);
    assert_eq!((usage.used_bytes, usage.live_count), (0, 0));
    assert_eq!((usage.placed_bytes, usage.released_bytes), (393_216, 393_216));
    assert_eq!((usage.placed_count, usage.released_count), (1, 1));
    assert_eq!(usage.peak_used_bytes, 393_216);
    assert_eq!(dev.used_bytes(), 0);
    assert!(dev.live_records.is_empty());
    let ops: Vec<_> = dev.recent_events.iter().map(|e| (e.op, e.kind, e.bytes)).collect();
    assert_eq!(
        ops,
        [
            (LedgerOp::Place, MemKind::Kernel, 393_216),
            (LedgerOp::Place, MemKind::Dram, 49_152),
            (LedgerOp::Release, MemKind::Kernel, 393_216),
            (LedgerOp::Release, MemKind::Dram, 49_152),
        ]
    );
    assert_eq!(dev.recent_events[2].id, kernel_id);
    assert_eq!(view.integrity_errors(), 0);
}

#[test]
fn registering_a_chip_again_returns_its_slot_and_slots_run_out_with_a_clear_error() {
    let (_dir, tracker) = ledger();
    let first = register(&tracker, 1);
    assert_eq!(register(&tracker, 1), first);
    for uid in 2..=MAX_DEVICES as u64 {
        register(&tracker, uid);
    }
    let error = tracker
        .register_device(&DeviceInfo::new(ChipUid(99), Arch::Blackhole, WORMHOLE))
        .expect_err("all slots taken");
    assert!(matches!(error, TrackError::TooManyDevices { max: 16, .. }));
    assert!(error.to_string().contains("close a device first"));
}

#[test]
fn closing_and_reopening_a_device_keeps_totals_right() {
    let (_dir, tracker) = ledger();
    let device = register(&tracker, 7);
    let system = tracker
        .record_place(device, MemKind::System, &spans(64, 1000), "dispatch", here())
        .expect("place");
    let leaked =
        tracker.record_place(device, MemKind::L1, &spans(1, 500), "leaky", here()).expect("place");
    system.release();
    tracker.unregister_device(device).expect("unregister");
    let view = tracker.snapshot().expect("enabled");
    let dev = view.device(ChipUid(7)).expect("still listed");
    assert!(!dev.open);
    assert_eq!(dev.used_bytes(), 500);

    let again = register(&tracker, 7);
    assert_eq!(again.index(), device.index());
    leaked.release();
    let view = tracker.snapshot().expect("enabled");
    let dev = view.device(ChipUid(7)).expect("listed");
    assert!(dev.open);
    assert_eq!(dev.used_bytes(), 0);
    assert_eq!(dev.kind(MemKind::System).released_bytes, 64_000);
}

#[test]
fn a_closed_empty_device_leaves_the_totals_but_a_closed_leaking_one_stays() {
    let (dir, tracker) = ledger();
    let clean = register(&tracker, 21);
    let leaky = register(&tracker, 22);
    let placed =
        tracker.record_place(clean, MemKind::Kernel, &spans(4, 100), "k", here()).expect("place");
    let _leaked =
        tracker.record_place(leaky, MemKind::Cb, &spans(2, 50), "cb", here()).expect("place");
    placed.release();
    tracker.unregister_device(clean).expect("unregister");
    tracker.unregister_device(leaky).expect("unregister");
    let snapshot = read_ledger(dir.path().join("ledger")).expect("read");
    assert!(snapshot.device(ChipUid(21)).is_none(), "closed with nothing left: gone");
    let leak = snapshot.device(ChipUid(22)).expect("closed with bytes left: still shown");
    assert_eq!(leak.kind(MemKind::Cb).used_bytes, 100);
}

#[test]
fn abandoned_temporary_segments_are_swept_but_young_ones_kept() {
    let (dir, _tracker) = ledger();
    let ledger_dir = dir.path().join("ledger");
    let old = ledger_dir.join(".999999-1-1.tmp");
    let young = ledger_dir.join(".999998-1-1.tmp");
    std::fs::write(&old, b"half-made").expect("write");
    std::fs::write(&young, b"being made").expect("write");
    let two_minutes_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .and_then(|f| f.set_modified(two_minutes_ago))
        .expect("age the file");
    let snapshot = read_ledger(&ledger_dir).expect("read");
    assert!(!old.exists(), "a writer that died mid-create leaves nothing behind for long");
    assert!(young.exists(), "a segment still being created is left alone");
    assert!(snapshot.removed_dead.contains(&old));
}

#[test]
fn a_placement_naming_another_chip_than_its_slot_is_refused_and_counted_on_the_slot() {
    let (_dir, tracker) = ledger();
    let device = register(&tracker, 3);
    let stray = [BankSpan { bank: 0, addr: 0, size: 4096 }];
    let placement = Placement {
        device: ChipUid(33),
        kind: MemKind::Dram,
        class: BankClass::Dram,
        spans: &stray,
        reserved: Reservation::Payload,
        owner: "x",
        provenance: here(),
    };
    let error = tracker.record(device, &placement).expect_err("wrong chip");
    assert!(matches!(error, TrackError::WrongDevice { .. }), "{error}");
    let ours = tracker.snapshot().expect("enabled");
    let dev = ours.device(ChipUid(3)).expect("registered");
    assert_eq!((dev.integrity.foreign_placements, dev.used_bytes()), (1, 0));
}

#[test]
fn a_second_release_is_a_double_release_counted_once_and_not_subtracted() {
    let (dir, tracker) = ledger();
    let device = register(&tracker, 4);
    let record =
        tracker.record_place(device, MemKind::Cb, &spans(8, 2048), "cb0", here()).expect("place");
    let twin =
        tracker.forge_record(device, MemKind::Cb, record.id().get(), 16_384, record.table_entry);
    record.release();
    twin.release();
    let view = tracker.snapshot().expect("enabled");
    let dev = view.device(ChipUid(4)).expect("registered");
    assert_eq!(dev.integrity.double_releases, 1);
    assert_eq!(dev.kind(MemKind::Cb).released_bytes, 16_384);
    assert_eq!(dev.kind(MemKind::Cb).released_count, 1);
    // Monitors see the error too.
    let snapshot = read_ledger(dir.path().join("ledger")).expect("read");
    assert_eq!(snapshot.device(ChipUid(4)).expect("summed").integrity.double_releases, 1);
}

#[test]
fn a_slot_of_another_tracker_is_refused_and_reported() {
    let (_dir, tracker) = ledger();
    let other = Tracker::in_memory().expect("in-memory tracker");
    let foreign = register(&other, 5);
    let error = tracker
        .record_place(foreign, MemKind::L1, &spans(1, 64), "x", here())
        .expect_err("another tracker's slot");
    assert!(matches!(error, TrackError::ForeignDeviceSlot { .. }), "{error}");
    // Not registered here: counted on the device of the tracker that issued the slot, where
    // monitors summing the chip show it (not only on this process).
    assert_eq!(tracker.snapshot().expect("enabled").unattributed_integrity_errors, 0);
    let issuer = other.snapshot().expect("enabled");
    assert_eq!(issuer.device(ChipUid(5)).expect("registered").integrity.foreign_placements, 1);
    // Registered here too: the error is counted on the device, where monitors show it.
    register(&tracker, 5);
    assert!(tracker.record_place(foreign, MemKind::L1, &spans(1, 64), "x", here()).is_err());
    let view = tracker.snapshot().expect("enabled");
    let dev = view.device(ChipUid(5)).expect("registered");
    assert_eq!((dev.integrity.foreign_placements, dev.used_bytes()), (1, 0));
    assert!(matches!(
        tracker.unregister_device(foreign),
        Err(TrackError::ForeignDeviceSlot { .. })
    ));
}

#[test]
fn a_slot_of_a_closed_device_is_refused_and_closed_empty_slots_serve_new_chips() {
    let (_dir, tracker) = ledger();
    // Far more chips than slots, one after another: closed empty slots are reused.
    for uid in 1000..1000 + 3 * MAX_DEVICES as u64 {
        let slot = register(&tracker, uid);
        tracker
            .record_place(slot, MemKind::Dram, &spans(2, 64), "x", here())
            .expect("place")
            .release();
        tracker.unregister_device(slot).expect("close");
        let error = tracker
            .record_place(slot, MemKind::Dram, &spans(1, 64), "late", here())
            .expect_err("closed");
        assert!(matches!(error, TrackError::ClosedDeviceSlot { .. }), "{error}");
    }
    // A closed slot still holding bytes is never given away.
    let leaky = register(&tracker, 7);
    let kept =
        tracker.record_place(leaky, MemKind::L1, &spans(1, 32), "kept", here()).expect("place");
    tracker.unregister_device(leaky).expect("close");
    for uid in 2000..2000 + MAX_DEVICES as u64 {
        let _ = tracker.register_device(&DeviceInfo::new(ChipUid(uid), Arch::WormholeB0, WORMHOLE));
    }
    let view = tracker.snapshot().expect("enabled");
    let dev = view.device(ChipUid(7)).expect("leaky slot kept");
    assert_eq!(dev.used_bytes(), 32);
    kept.release();
}

#[test]
fn graph_capture_sees_each_event_in_order_until_unsubscribed() {
    let (_dir, tracker) = ledger();
    let device = register(&tracker, 6);
    let capture = Arc::new(GraphCapture::new());
    let subscription = tracker.subscribe(capture.clone());
    let a = tracker
        .record_place(device, MemKind::Trace, &spans(2, 100), "trace buffer", here())
        .expect("place");
    let b = tracker
        .record_place(device, MemKind::L1Small, &spans(1, 32), "sem", here())
        .expect("place");
    let b_id = b.id();
    a.release();
    assert!(tracker.unsubscribe(subscription));
    b.release();
    let events = capture.events();
    let summary: Vec<_> = events.iter().map(|e| (e.op, e.kind, e.bytes)).collect();
    assert_eq!(
        summary,
        [
            (EventOp::Place, MemKind::Trace, 200),
            (EventOp::Place, MemKind::L1Small, 32),
            (EventOp::Release, MemKind::Trace, 200),
        ]
    );
    assert_eq!(events[0].owner.as_deref(), Some("trace buffer"));
    assert!(events[0].provenance.as_deref().is_some_and(|p| p.contains("tracker_tests.rs:")));
    assert!(events.windows(2).all(|w| w[0].elapsed_ns <= w[1].elapsed_ns));
    assert_eq!(capture.unreleased(), [b_id]);
}

#[test]
fn the_allocator_seam_releases_on_guard_drop_and_refuses_unregistered_chips() {
    let (_dir, tracker) = ledger();
    register(&tracker, 8);
    let banks = spans(4, 1000);
    let placement = |device| Placement {
        device: ChipUid(device),
        kind: MemKind::L1,
        class: BankClass::Tensix,
        spans: &banks,
        reserved: Reservation::EveryBank { per_bank: 1024, banks: 64 },
        owner: "seam",
        provenance: here(),
    };
    let guard = tracker.placed(&placement(8)).expect("placed");
    let stray = tracker.placed(&placement(9)).map(|_| ()).expect_err("no session opened chip 9");
    assert!(stray.reason.contains("no device session of this process opened"), "{stray}");
    let view = tracker.snapshot().expect("enabled");
    let dev = view.device(ChipUid(8)).expect("registered");
    // Reserved on all 64 cores of the lockstep range; payload is what was asked for.
    assert_eq!((dev.used_bytes(), dev.payload_bytes()), (64 * 1024, 4000));
    assert!(dev.tensix_cores.iter().all(|c| c.used_bytes == 1024));
    assert_eq!(dev.tensix_cores.len(), 64);
    // Refused and counted, and no "unknown" device with capacity 0 appears.
    assert!(view.device(ChipUid(9)).is_none());
    assert_eq!(view.unattributed_integrity_errors, 1);
    drop(guard);
    let view = tracker.snapshot().expect("enabled");
    assert!(view.devices.iter().all(|d| d.used_bytes() == 0));
}

#[test]
fn a_disabled_tracker_counts_nothing_but_observers_still_see_events() {
    let tracker = Tracker::disabled();
    assert!(!tracker.is_enabled());
    let device = register(&tracker, 1);
    let capture = Arc::new(GraphCapture::new());
    tracker.subscribe(capture.clone());
    let record =
        tracker.record_place(device, MemKind::Dram, &spans(1, 10), "x", here()).expect("place");
    assert!(!record.is_counted());
    record.release();
    assert!(tracker.snapshot().is_none());
    assert_eq!(capture.events().len(), 2);
}

#[test]
fn the_ring_keeps_the_latest_events_and_counts_the_rest_as_dropped() {
    let (_dir, tracker) = ledger();
    let device = register(&tracker, 2);
    for _ in 0..150 {
        let record =
            tracker.record_place(device, MemKind::Dram, &spans(1, 1), "x", here()).expect("place");
        record.release();
    }
    let view = tracker.snapshot().expect("enabled");
    let dev = view.device(ChipUid(2)).expect("registered");
    assert_eq!(dev.events_written, 300);
    assert_eq!(dev.events_dropped, 300 - RING_CAPACITY as u64);
    assert_eq!(dev.recent_events.len(), RING_CAPACITY);
    assert_eq!(dev.recent_events.last().map(|e| (e.number, e.op)), Some((299, LedgerOp::Release)));
}

#[test]
fn every_live_placement_is_listed_and_overflow_is_exact() {
    let (_dir, tracker) = ledger();
    let device = register(&tracker, 2);
    let owner = "an-owner-name-much-longer-than-sixty-four-bytes-of-ledger-space-for-owners";
    let extra = 17;
    let mut records: Vec<_> = (0..LIVE_TABLE_CAPACITY + extra)
        .map(|_| {
            tracker.record_place(device, MemKind::Dram, &spans(1, 8), owner, here()).expect("place")
        })
        .collect();
    let view = tracker.snapshot().expect("enabled");
    let dev = view.device(ChipUid(2)).expect("registered");
    assert_eq!(dev.live_records.len(), LIVE_TABLE_CAPACITY);
    assert_eq!(dev.live_records_not_listed, extra as u64);
    let first = &dev.live_records[0];
    assert_eq!(first.owner, &owner[..64]);
    assert!(first.owner_cut && first.owner_display().ends_with('…'));
    // Releasing the unlisted ones brings the overflow back to exactly 0, and the table
    // lists everything live again.
    records.drain(LIVE_TABLE_CAPACITY..).for_each(|r| r.release());
    records.drain(..100).for_each(|r| r.release());
    let view = tracker.snapshot().expect("enabled");
    let dev = view.device(ChipUid(2)).expect("registered");
    assert_eq!(dev.live_records_not_listed, 0);
    assert_eq!(dev.live_records.len(), LIVE_TABLE_CAPACITY - 100);
    // Freed entries are reused: 100 more placements are all listed.
    records.extend((0..100).map(|_| {
        tracker.record_place(device, MemKind::L1, &spans(1, 8), "short", here()).expect("place")
    }));
    let view = tracker.snapshot().expect("enabled");
    let dev = view.device(ChipUid(2)).expect("registered");
    assert_eq!((dev.live_records.len(), dev.live_records_not_listed), (LIVE_TABLE_CAPACITY, 0));
    drop(records);
    let view = tracker.snapshot().expect("enabled");
    let dev = view.device(ChipUid(2)).expect("registered");
    assert!(dev.live_records.is_empty());
    assert_eq!((dev.used_bytes(), dev.integrity.total()), (0, 0));
}

#[test]
fn the_segment_is_private_published_whole_and_removed_with_its_tracker() {
    let (dir, tracker) = ledger();
    let ledger_dir = dir.path().join("ledger");
    let path = tracker.segment_path().expect("published").to_path_buf();
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&ledger_dir), 0o700);
    assert_eq!(mode(&path), 0o600);
    let name = path.file_name().and_then(|n| n.to_str()).expect("utf-8 name").to_owned();
    assert!(name.starts_with(&format!("{}-", std::process::id())) && name.ends_with(".seg"));
    let names: Vec<_> = std::fs::read_dir(&ledger_dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file is left behind: {names:?}");
    let view = tracker.snapshot().expect("enabled");
    assert_eq!(view.claimed_pid, u64::from(std::process::id()));
    assert!(view.start_time_ticks > 0 && !view.command.is_empty());
    drop(tracker);
    assert!(!path.exists());
}

#[test]
fn unlocked_segment_files_are_dead_removed_and_left_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["1-1-0.seg", "2-2-0.seg"] {
        std::fs::write(dir.path().join(name), b"garbage from a dead writer").expect("write");
    }
    std::fs::write(dir.path().join("notes.txt"), b"not a segment").expect("write");
    let snapshot = read_ledger(dir.path()).expect("read");
    assert_eq!(snapshot.removed_dead.len(), 2);
    assert!(snapshot.processes.is_empty() && snapshot.skipped.is_empty());
    assert!(!dir.path().join("1-1-0.seg").exists());
    assert!(dir.path().join("notes.txt").exists());
    let missing = read_ledger(dir.path().join("absent")).expect("missing directory is empty");
    assert!(missing.processes.is_empty());
}

#[derive(Debug, Clone)]
enum Step {
    Place { device: usize, kind: usize, banks: u32, size: u64 },
    Release { pick: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..2usize, 0..8usize, 1..8u32, 1..100_000u64)
            .prop_map(|(device, kind, banks, size)| Step::Place { device, kind, banks, size }),
        2 => any::<usize>().prop_map(|pick| Step::Release { pick }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Current, live, totals and peaks equal a model that replays the same steps.
    #[test]
    fn the_ledger_equals_a_model_of_the_same_steps(steps in proptest::collection::vec(step(), 1..120)) {
        let tracker = Tracker::in_memory().expect("in-memory tracker");
        let devices = [register(&tracker, 100), register(&tracker, 101)];
        let mut live = Vec::new();
        // [device][kind] = (current, peak, live, placed, released)
        let mut model = [[(0u64, 0u64, 0u64, 0u64, 0u64); 8]; 2];
        let mut device_peak = [0u64; 2];
        for step in steps {
            match step {
                Step::Place { device, kind, banks, size } => {
                    let kind_ = MemKind::ALL[kind];
                    live.push((device, tracker.record_place(devices[device], kind_, &spans(banks, size), "p", here()).expect("place")));
                    let m = &mut model[device][kind];
                    m.0 += u64::from(banks) * size;
                    m.1 = m.1.max(m.0);
                    m.2 += 1;
                    m.3 += u64::from(banks) * size;
                    let total: u64 = model[device].iter().map(|k| k.0).sum();
                    device_peak[device] = device_peak[device].max(total);
                }
                Step::Release { pick } => {
                    if live.is_empty() { continue; }
                    let (device, record) = live.swap_remove(pick % live.len());
                    let m = &mut model[device][record.kind().index()];
                    m.0 -= record.reserved_bytes();
                    m.2 -= 1;
                    m.4 += record.reserved_bytes();
                    record.release();
                }
            }
        }
        let view = tracker.snapshot().expect("enabled");
        for (d, uid) in [100u64, 101].into_iter().enumerate() {
            let dev = view.device(ChipUid(uid)).expect("registered");
            prop_assert_eq!(dev.peak_used_bytes, device_peak[d]);
            for kind in MemKind::ALL {
                let u = dev.kind(kind);
                let m = model[d][kind.index()];
                prop_assert_eq!((u.used_bytes, u.peak_used_bytes, u.live_count, u.placed_bytes, u.released_bytes), m);
            }
        }
        for (_, record) in live {
            record.release();
        }
    }
}

/// Records may outlive their tracker: the slot's anchor, ledger and segment live until the
/// last of them is released, wherever that happens, and then go.
#[test]
fn records_outliving_their_tracker_stay_counted_until_released_on_any_thread() {
    let (dir, tracker) = ledger();
    let ledger_dir = dir.path().join("ledger");
    let device = register(&tracker, 0x51);
    let records: Vec<_> = (0..3)
        .map(|i| {
            tracker
                .record_place(device, MemKind::Dram, &spans(2, 100 + i), "outlives", here())
                .expect("place")
        })
        .collect();
    let observed = Arc::new(GraphCapture::new());
    tracker.subscribe(observed.clone());
    let segment = tracker.segment_path().expect("published");
    drop(tracker);
    let snapshot = read_ledger(&ledger_dir).expect("read");
    let dev = snapshot.device(ChipUid(0x51)).expect("still counted");
    assert_eq!(dev.kind(MemKind::Dram).used_bytes, 2 * (100 + 101 + 102));
    let mut records = records.into_iter();
    let first = records.next().expect("one");
    std::thread::spawn(move || drop(first)).join().expect("released on another thread");
    let rest: Vec<_> = records.collect();
    let snapshot = read_ledger(&ledger_dir).expect("read");
    assert_eq!(
        snapshot.device(ChipUid(0x51)).expect("counted").kind(MemKind::Dram).used_bytes,
        2 * (101 + 102)
    );
    drop(rest);
    assert!(!segment.exists(), "the last release lets the segment go");
    assert!(read_ledger(&ledger_dir).expect("read").processes.is_empty());
    assert_eq!(observed.events().len(), 3, "observers hear releases after the tracker is gone");
}

#[test]
fn two_chips_under_one_id_are_an_integrity_error_not_one_merged_chip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (first, second) = (
        Tracker::with_ledger_dir(dir.path()).expect("tracker"),
        Tracker::with_ledger_dir(dir.path()).expect("tracker"),
    );
    let slot = register(&first, 0xC0FFEE);
    let other = DeviceInfo::new(
        ChipUid(0xC0FFEE),
        Arch::Blackhole,
        // Room for what it places: the conflict is the only error, not an impossible figure.
        crate::DeviceCapacity { dram_bytes: 1 << 20, ..WORMHOLE },
    );
    let other_slot = second.register_device(&other).expect("register");
    let _a = first.record_place(slot, MemKind::Dram, &spans(1, 4096), "a", here()).unwrap();
    let _b = second.record_place(other_slot, MemKind::Dram, &spans(1, 64), "b", here()).unwrap();
    let snapshot = read_ledger(dir.path()).expect("read");
    let device = snapshot.device(ChipUid(0xC0FFEE)).expect("device");
    assert_eq!(device.processes, 2);
    assert_eq!(device.integrity.conflicting_identities, 1);
    assert_eq!(device.integrity.total(), 1);
    // The same chip registered alike by two trackers is no conflict.
    let same = Tracker::with_ledger_dir(dir.path()).expect("tracker");
    let _slot = register(&same, 0xC0FFEE);
    let again = read_ledger(dir.path()).expect("read");
    let device = again.device(ChipUid(0xC0FFEE)).expect("device");
    assert_eq!((device.processes, device.integrity.conflicting_identities), (3, 1));
}
