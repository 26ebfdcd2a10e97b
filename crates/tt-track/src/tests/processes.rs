//! Real processes: liveness by the kernel's lock table, attribution to the lock holder, the
//! own-segment trap, crash cleanup, and corrupt files.

use tt_accounting::MemKind;
use tt_soc::ChipUid;

use super::children::{corrupt_files, placer_bytes, Child, PLACER_CHIPS};
use super::{here, register, spans};
use crate::segment::layout::SCHEMA_VERSION;
use crate::{read_ledger, TrackError, Tracker};

/// (pid, current bytes, is_self) per process as a reader child reported them, and the
/// number of dead segments it removed.
fn read_in_child(dir: &std::path::Path) -> (Vec<(u32, u64, bool)>, usize) {
    let mut reader = Child::spawn("reader", dir);
    let mut processes = Vec::new();
    let dead = loop {
        // Lines come in order: PROCESS ..., DEAD n, DONE.
        let rest = reader.expect("");
        if let Some(fields) = rest.strip_prefix("PROCESS ") {
            let f: Vec<&str> = fields.split(' ').collect();
            processes.push((
                f[0].parse().expect("pid"),
                f[1].parse().expect("bytes"),
                f[2] == "true",
            ));
        } else if let Some(n) = rest.strip_prefix("DEAD ") {
            break n.parse().expect("dead count");
        }
    };
    reader.expect("DONE");
    reader.finish();
    (processes, dead)
}

#[test]
fn a_process_that_reads_its_own_view_keeps_its_lock_and_stays_visible_to_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tracker = Tracker::with_ledger_dir(dir.path()).expect("tracker");
    let chip = register(&tracker, 0x51);
    let record =
        tracker.record_place(chip, MemKind::L1, &spans(64, 1024), "mine", here()).expect("place");
    let me = std::process::id();

    // Read ourselves several ways, as `ttctl run` printing the memory view would.
    for _ in 0..3 {
        let snapshot = read_ledger(dir.path()).expect("read");
        let own = snapshot.process(me).expect("own segment listed");
        assert!(own.is_self);
        assert_eq!(own.device(ChipUid(0x51)).expect("chip").used_bytes(), 65_536);
        assert!(snapshot.removed_dead.is_empty());
        assert_eq!(tracker.snapshot().expect("enabled").devices, own.devices);
    }

    // Another process still finds our segment locked by us, with our bytes.
    let (processes, dead) = read_in_child(dir.path());
    assert_eq!(processes, [(me, 65_536, false)]);
    assert_eq!(dead, 0);
    assert!(tracker.segment_path().expect("published").exists());
    record.release();
}

#[test]
fn the_trap_is_real_closing_any_descriptor_of_the_segment_drops_the_lock() {
    // The control for the test above: had the reader opened its own segment, this happens.
    let dir = tempfile::tempdir().expect("tempdir");
    let tracker = Tracker::with_ledger_dir(dir.path()).expect("tracker");
    let path = tracker.segment_path().expect("published").to_path_buf();
    drop(std::fs::File::open(&path).expect("open own segment"));
    let (processes, dead) = read_in_child(dir.path());
    assert!(processes.is_empty());
    assert_eq!(dead, 1);
    assert!(!path.exists());
}

#[test]
fn a_killed_process_leaves_the_totals_at_once_and_its_segment_is_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut placers = [Child::spawn("placer1", dir.path()), Child::spawn("placer2", dir.path())];
    let mut streamer = Child::spawn("streamer", dir.path());
    for child in placers.iter_mut().chain(std::iter::once(&mut streamer)) {
        assert_eq!(child.expect("READY"), child.pid().to_string());
    }
    // Let it stream a little, then kill it mid-stream.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let streamer_pid = streamer.pid();
    let before = read_ledger(dir.path()).expect("read");
    assert_eq!(before.processes.len(), 3);
    streamer.kill();

    let snapshot = read_ledger(dir.path()).expect("read");
    let pids: Vec<u32> = snapshot.processes.iter().map(|p| p.pid).collect();
    let mut expected: Vec<u32> = placers.iter().map(Child::pid).collect();
    expected.sort_unstable();
    assert_eq!(pids, expected);
    let (one, two) = (placer_bytes(1), placer_bytes(2));
    for (i, uid) in PLACER_CHIPS.into_iter().enumerate() {
        let device = snapshot.device(ChipUid(uid)).expect("chip summed");
        assert_eq!(device.used_bytes(), one[i] + two[i]);
        assert_eq!(device.processes, 2);
        assert_eq!(device.kinds.iter().map(|k| k.live_count).sum::<u64>(), 10);
    }
    assert_eq!(snapshot.removed_dead.len(), 1);
    let dead = &snapshot.removed_dead[0];
    assert!(dead
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(&format!("{streamer_pid}-"))));
    assert!(!dead.exists());

    for placer in placers {
        placer.finish();
    }
    let after = read_ledger(dir.path()).expect("read");
    assert!(after.processes.is_empty() && after.devices.is_empty());
}

#[test]
fn a_segment_is_attributed_to_its_lock_holder_whatever_its_header_claims() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut forger = Child::spawn("forger", dir.path());
    forger.expect("READY");
    let snapshot = read_ledger(dir.path()).expect("read");
    assert_eq!(snapshot.processes.len(), 1);
    let process = &snapshot.processes[0];
    assert_eq!(process.pid, forger.pid());
    assert_eq!(process.claimed_pid, 1);
    assert!(!process.is_self);
    assert_eq!(process.device(ChipUid(0xF0)).expect("chip").kind(MemKind::Dram).used_bytes, 4096);
    forger.finish();
}

#[test]
fn corrupt_truncated_foreign_version_and_empty_segments_are_skipped_and_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut holder = Child::spawn("corrupt-holder", dir.path());
    let mut placer = Child::spawn("placer3", dir.path());
    holder.expect("READY");
    placer.expect("READY");

    let snapshot = read_ledger(dir.path()).expect("read");
    let mut reasons: Vec<(String, &TrackError)> = snapshot
        .skipped
        .iter()
        .map(|s| (s.path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_owned(), &s.reason))
        .collect();
    reasons.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(reasons.len(), corrupt_files().len());
    assert!(matches!(reasons[0].1, TrackError::EmptySegment { .. }));
    assert!(matches!(reasons[1].1, TrackError::TruncatedSegment { found: 64, needed: 128, .. }));
    assert!(matches!(reasons[2].1, TrackError::TruncatedSegment { .. }));
    assert!(matches!(
        reasons[3].1,
        TrackError::UnsupportedVersion { found: 7, supported: SCHEMA_VERSION, .. }
    ));
    assert!(reasons[3].1.to_string().contains("schema version 7"));
    assert!(matches!(reasons[4].1, TrackError::CorruptSegment { .. }));
    assert!(reasons[4].1.to_string().contains("segment length is 12345"));
    assert!(matches!(reasons[5].1, TrackError::BadMagic { .. }));

    // The good segment is summed untouched, and live bad files are not removed.
    assert_eq!(snapshot.processes.len(), 1);
    assert_eq!(snapshot.processes[0].pid, placer.pid());
    let three = placer_bytes(3);
    for (i, uid) in PLACER_CHIPS.into_iter().enumerate() {
        assert_eq!(snapshot.device(ChipUid(uid)).expect("chip").used_bytes(), three[i]);
    }
    assert!(snapshot.removed_dead.is_empty());
    for (name, _) in corrupt_files() {
        assert!(dir.path().join(name).exists());
    }
    holder.finish();
    placer.finish();
    // Once their holder is gone, the bad files are dead and removed like any other.
    let after = read_ledger(dir.path()).expect("read");
    assert_eq!(after.removed_dead.len(), corrupt_files().len());
}

#[test]
fn the_global_tracker_honours_tt_ledger_dir_and_tt_tracking() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = dir.path().join("from-env");
    let ledger_str = ledger.to_str().expect("utf-8 path");
    let mut on = Child::spawn_with("global", dir.path(), &[("TT_LEDGER_DIR", ledger_str)]);
    assert_eq!(on.expect("ENABLED"), "true");
    on.expect("READY");
    let mut off = Child::spawn_with(
        "global",
        dir.path(),
        &[("TT_LEDGER_DIR", ledger_str), ("TT_TRACKING", "off")],
    );
    assert_eq!(off.expect("ENABLED"), "false");
    off.expect("READY");
    let snapshot = read_ledger(&ledger).expect("read");
    assert_eq!(snapshot.processes.len(), 1);
    assert_eq!(snapshot.processes[0].pid, on.pid());
    assert_eq!(snapshot.device(ChipUid(0x61)).expect("chip").used_bytes(), 1024);
    on.finish();
    off.finish();
}

/// A child forked without exec shares the parent's segment mapping. It must not count into
/// it (the parent is its only writer) nor remove the parent's file when it lets go of its
/// copy of the tracker.
#[test]
fn a_forked_child_neither_counts_into_nor_removes_the_parents_segment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tracker = Tracker::with_ledger_dir(dir.path()).expect("tracker");
    let slot = register(&tracker, 31);
    let kept =
        tracker.record_place(slot, MemKind::Dram, &spans(1, 100), "parent", here()).expect("place");
    let segment = tracker.segment_path().expect("published").to_path_buf();
    // SAFETY: the child only records into the tracker (no locks, no allocation on that
    // path), drops its copy and leaves with _exit, so no state of other threads is used.
    match unsafe { nix::unistd::fork() }.expect("fork") {
        nix::unistd::ForkResult::Child => {
            // The parent's slot is refused; a device of the child's own counts into a
            // segment of the child's own.
            let refused = tracker
                .record_place(slot, MemKind::Dram, &spans(1, 1000), "child", here())
                .is_err();
            let own = register(&tracker, 32);
            let counted = tracker
                .record_place(own, MemKind::Dram, &spans(1, 10), "child", here())
                .map(|record| record.is_counted())
                .unwrap_or(false);
            let separate = tracker.segment_path().is_some_and(|p| p != segment);
            drop(tracker);
            let ok = refused && counted && separate;
            // SAFETY: ends the child at once, running nothing the parent owns.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        nix::unistd::ForkResult::Parent { child } => {
            let status = nix::sys::wait::waitpid(child, None).expect("wait");
            assert_eq!(
                status,
                nix::sys::wait::WaitStatus::Exited(child, 0),
                "the child counted into its parent's slot, or not into a segment of its own"
            );
        }
    }
    assert!(segment.exists(), "the child's drop left the parent's segment alone");
    let snapshot = read_ledger(dir.path()).expect("read");
    let ours = snapshot.process(std::process::id()).expect("parent still live");
    let device = ours.devices.iter().find(|d| d.uid == ChipUid(31)).expect("device");
    assert_eq!(device.kind(MemKind::Dram).used_bytes, 100);
    assert_eq!(device.kind(MemKind::Dram).placed_bytes, 100, "nothing from the child");
    kept.release();
}
