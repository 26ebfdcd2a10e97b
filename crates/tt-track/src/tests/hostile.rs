//! A ledger directory another user controls: planted files, symlinks and foreign owners are
//! refused or skipped, and nothing outside the directory is ever touched.

use std::os::unix::fs::PermissionsExt;

use crate::{read_ledger, TrackError, Tracker};

/// Another user's uid for ownership tests: only root can give files away.
fn other_uid() -> Option<u32> {
    if nix::unistd::geteuid().is_root() {
        Some(65_534)
    } else {
        eprintln!("skipped: needs root to chown files to another uid (CI runs as root)");
        None
    }
}

#[test]
fn a_symlinked_ledger_directory_is_refused_and_what_it_points_at_is_left_alone() {
    let top = tempfile::tempdir().expect("tempdir");
    let victim = top.path().join("victim");
    std::fs::create_dir(&victim).expect("mkdir");
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    // Looks like a dead segment: a reader following the link would remove it.
    std::fs::write(victim.join("1-1-0.seg"), b"precious").expect("write");
    let ledger = top.path().join("ledger");
    std::os::unix::fs::symlink(&victim, &ledger).expect("symlink");
    let error = read_ledger(&ledger).expect_err("symlinked directory");
    assert!(matches!(error, TrackError::UnsafeLedgerDir { .. }), "{error}");
    assert!(error.to_string().contains("symlink"), "{error}");
    assert!(Tracker::with_ledger_dir(&ledger).is_err(), "no writer publishes through it");
    assert_eq!(std::fs::read(victim.join("1-1-0.seg")).expect("still there"), b"precious");
}

#[test]
fn a_ledger_directory_of_another_user_is_refused_with_what_to_remove() {
    let Some(uid) = other_uid() else { return };
    let top = tempfile::tempdir().expect("tempdir");
    let planted = top.path().join("ledger");
    std::fs::create_dir(&planted).expect("mkdir");
    nix::unistd::chown(&planted, Some(nix::unistd::Uid::from_raw(uid)), None).expect("chown");
    let error = read_ledger(&planted).expect_err("another user's directory");
    let text = error.to_string();
    assert!(text.contains("owned by uid 65534") && text.contains("remove it"), "{text}");
    let error = Tracker::with_ledger_dir(&planted).err().expect("refused to writers too");
    assert!(error.to_string().contains("owned by uid 65534"), "{error}");
}

#[test]
fn entries_planted_by_another_user_are_skipped_and_never_removed() {
    let Some(uid) = other_uid() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = dir.path().join("ledger");
    let tracker = Tracker::with_ledger_dir(&ledger).expect("tracker");
    // A forged segment owned by someone else, and a symlink to a file outside.
    let forged = ledger.join("4242-1-0.seg");
    std::fs::write(&forged, vec![0u8; 4096]).expect("write");
    nix::unistd::chown(&forged, Some(nix::unistd::Uid::from_raw(uid)), None).expect("chown");
    let outside = dir.path().join("outside");
    std::fs::write(&outside, b"keep").expect("write");
    std::os::unix::fs::symlink(&outside, ledger.join("4243-1-0.seg")).expect("symlink");
    let snapshot = read_ledger(&ledger).expect("read");
    let mut reasons: Vec<String> = snapshot.skipped.iter().map(|s| s.reason.to_string()).collect();
    reasons.sort();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("not a regular file") || reasons[1].contains("not a regular file"));
    assert!(reasons.iter().any(|r| r.contains("owned by uid 65534")), "{reasons:?}");
    assert_eq!(snapshot.processes.len(), 1, "our own segment is still read");
    assert!(snapshot.removed_dead.is_empty(), "nothing of theirs is removed");
    assert!(forged.exists() && outside.exists());
    drop(tracker);
}

#[test]
fn figures_no_writer_could_produce_are_flagged_not_shown_as_huge_numbers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tracker = Tracker::with_ledger_dir(dir.path().join("ledger")).expect("tracker");
    let slot = super::register(&tracker, 0xBAD);
    // A release of bytes never placed (only a corrupt or hostile writer produces one).
    let forged = tracker.forge_record(
        slot,
        tt_accounting::MemKind::Dram,
        77,
        1 << 20,
        crate::record::NO_TABLE_ENTRY,
    );
    drop(forged);
    let snapshot = read_ledger(dir.path().join("ledger")).expect("read");
    let device = snapshot.device(tt_soc::ChipUid(0xBAD)).expect("listed");
    assert_eq!(device.integrity.impossible_figures, 1);
    assert_eq!(device.kind(tt_accounting::MemKind::Dram).used_bytes, 0, "not 16 EiB");
    assert!(device.integrity.total() >= 1);
}
