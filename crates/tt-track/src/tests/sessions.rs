//! Only the session allocates: refusals of placements a device session does not own, each
//! counted on the device; a clean exit is not a death; a segment is read once.

use tt_accounting::{BankClass, MemKind, Placement, PlacementTracker, Reservation};
use tt_soc::{Arch, ChipUid};

use super::children::Child;
use super::{here, ledger, register, spans, WORMHOLE};
use crate::{read_ledger, DeviceCapacity, DeviceInfo, TrackError, Tracker};

fn session_refusals(tracker: &Tracker, uid: u64) -> u64 {
    let view = tracker.snapshot().expect("enabled");
    view.device(ChipUid(uid)).expect("registered").integrity.session_refusals
}

#[test]
fn a_chip_held_by_a_session_refuses_a_second_allocator_and_placements_from_outside() {
    let (_dir, tracker) = ledger();
    let slot = register(&tracker, 0x51);
    let session = tracker.attach_session(slot).expect("first session");
    let second = tracker.attach_session(slot).map(|_| ()).expect_err("one session per chip");
    assert!(matches!(second, TrackError::HeldBySession { .. }), "{second}");
    // The generic seam is what a standalone tt_alloc::Allocator uses.
    let refused = tracker.allocator_attached(ChipUid(0x51)).expect_err("a second allocator");
    assert!(refused.reason.contains("a second allocator on chip"), "{refused}");
    assert!(refused.reason.contains("Runtime::allocator()"), "{refused}");
    let banks = spans(1, 4096);
    let placement = Placement {
        device: ChipUid(0x51),
        kind: MemKind::Dram,
        class: BankClass::Dram,
        spans: &banks,
        reserved: Reservation::Payload,
        owner: "outsider",
        provenance: here(),
    };
    assert!(tracker.placed(&placement).is_err());
    // The session's own placer places, and nothing else was counted as used.
    let placed = session.placed(&placement).expect("the session places");
    let view = tracker.snapshot().expect("enabled");
    let dev = view.device(ChipUid(0x51)).expect("registered");
    assert_eq!((dev.used_bytes(), dev.integrity.session_refusals), (4096, 3));
    assert_eq!(session.records_alive(), 1);
    drop(placed);
    assert_eq!(session.records_alive(), 0);
    // Once the chip is closed, the slot is nobody's session: a standalone allocator may
    // serve it again after a registration.
    tracker.unregister_device(slot).expect("close");
    register(&tracker, 0x51);
    assert!(tracker.allocator_attached(ChipUid(0x51)).is_ok());
}

#[test]
fn a_placement_or_allocator_for_a_chip_no_session_opened_is_refused_and_counted() {
    let (_dir, tracker) = ledger();
    let refused = tracker.allocator_attached(ChipUid(0x52)).expect_err("never opened");
    assert!(refused.reason.contains("no device session of this process opened"), "{refused}");
    let view = tracker.snapshot().expect("enabled");
    assert!(view.devices.is_empty(), "no unknown device is made up");
    assert_eq!(view.unattributed_integrity_errors, 1);
}

#[test]
fn system_and_reserved_are_placed_only_during_the_sessions_bring_up() {
    let (_dir, tracker) = ledger();
    let slot = register(&tracker, 0x53);
    let session = tracker.attach_session(slot).expect("session");
    let firmware = tracker
        .record_place(slot, MemKind::System, &spans(4, 1000), "firmware", here())
        .expect("bring-up places SYSTEM");
    session.finish_bring_up();
    for kind in [MemKind::System, MemKind::Reserved] {
        let error = tracker
            .record_place(slot, kind, &spans(1, 8_192_000), "user claims a session kind", here())
            .map(|_| ())
            .expect_err("user code");
        assert!(matches!(error, TrackError::SessionOnlyKind { .. }), "{error}");
        assert!(error.to_string().contains("give the buffer a user kind"), "{error}");
    }
    let l1 = tracker.record_place(slot, MemKind::L1, &spans(1, 64), "user", here()).expect("L1");
    let view = tracker.snapshot().expect("enabled");
    let dev = view.device(ChipUid(0x53)).expect("registered");
    assert_eq!(dev.kind(MemKind::System).used_bytes, 4000);
    assert_eq!(dev.kind(MemKind::Reserved).used_bytes, 0);
    assert_eq!(dev.integrity.session_refusals, 2);
    drop((firmware, l1));
}

#[test]
fn a_registered_chip_cannot_be_registered_again_as_another_chip() {
    let (_dir, tracker) = ledger();
    let slot = register(&tracker, 0x54);
    let tiny = DeviceCapacity { dram_bytes: 1, ..WORMHOLE };
    let error = tracker
        .register_device(&DeviceInfo::new(ChipUid(0x54), Arch::Blackhole, tiny))
        .expect_err("identity change");
    assert!(
        matches!(error, TrackError::IdentityChange { held_dram, asked_dram: 1, .. } if held_dram == 12 << 30),
        "{error}"
    );
    assert!(error.to_string().contains("close the device first"), "{error}");
    let view = tracker.snapshot().expect("enabled");
    let dev = view.device(ChipUid(0x54)).expect("registered");
    assert_eq!((dev.arch.as_str(), dev.capacity), ("wormhole_b0", WORMHOLE));
    assert_eq!(session_refusals(&tracker, 0x54), 1);
    // The same identity again is the same slot; after a close the chip may be another.
    assert_eq!(register(&tracker, 0x54), slot);
    tracker.unregister_device(slot).expect("close");
    let again = tracker.register_device(&DeviceInfo::new(ChipUid(0x54), Arch::Blackhole, tiny));
    assert!(again.is_ok());
}

#[test]
fn a_clean_exit_with_a_programs_own_tracker_is_not_a_death() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Child::spawn("exiter", dir.path());
    child.expect("READY");
    let live = read_ledger(dir.path()).expect("read");
    assert_eq!(live.processes.len(), 1);
    child.finish();
    let after = read_ledger(dir.path()).expect("read");
    assert!(after.processes.is_empty());
    assert!(after.removed_dead.is_empty(), "{:?}", after.removed_dead);
}

#[test]
fn hard_links_to_one_segment_are_read_once() {
    let (dir, tracker) = ledger();
    let slot = register(&tracker, 0x55);
    let record =
        tracker.record_place(slot, MemKind::Dram, &spans(1, 1 << 20), "linked", here()).unwrap();
    let path = tracker.segment_path().expect("published");
    for n in 0..10 {
        let link = dir.path().join("ledger").join(format!("link{n}.seg"));
        std::fs::hard_link(&path, link).expect("hard link");
    }
    let snapshot = read_ledger(dir.path().join("ledger")).expect("read");
    assert_eq!(snapshot.processes.len(), 1);
    let dev = snapshot.device(ChipUid(0x55)).expect("summed");
    assert_eq!((dev.used_bytes(), dev.processes), (1 << 20, 1));
    drop(record);
}

#[test]
fn a_misuse_of_another_trackers_slot_shows_on_the_device_monitors_sum() {
    let (dir, issuer) = ledger();
    let other = Tracker::with_ledger_dir(dir.path().join("ledger")).expect("second tracker");
    let slot = register(&issuer, 0x56);
    let error = other
        .record_place(slot, MemKind::L1, &spans(1, 64), "stray", here())
        .map(|_| ())
        .expect_err("another tracker's slot");
    assert!(matches!(error, TrackError::ForeignDeviceSlot { .. }), "{error}");
    let snapshot = read_ledger(dir.path().join("ledger")).expect("read");
    let dev = snapshot.device(ChipUid(0x56)).expect("summed");
    assert_eq!((dev.integrity.foreign_placements, dev.used_bytes()), (1, 0));
}
