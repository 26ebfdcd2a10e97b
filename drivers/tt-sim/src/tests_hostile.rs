//! A simulator directory another user (or a damaged file) controls: symlinks, foreign owners,
//! FIFOs and half-made chip files are refused or skipped, never followed, opened or used, and
//! nothing outside the directory is ever created or touched.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use tt_soc::Arch;

use crate::{list_chips, remove_chip, SimChip, SimError, SimKind};

/// Another user's uid for ownership tests: only root can give files away.
fn other_uid() -> Option<nix::unistd::Uid> {
    if nix::unistd::geteuid().is_root() {
        Some(nix::unistd::Uid::from_raw(65_534))
    } else {
        eprintln!("skipped: needs root to chown files to another uid (CI runs as root)");
        None
    }
}

/// Runs `f` on a thread and fails the test if it has not returned within a few seconds (a
/// FIFO opened for reading blocks forever).
fn within_seconds<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(f());
    });
    receive.recv_timeout(Duration::from_secs(10)).unwrap_or_else(|_| panic!("{what} hangs"))
}

fn private_dir(path: &Path) {
    std::fs::create_dir(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn a_symlinked_sim_directory_is_refused_and_nothing_is_created_where_it_points() {
    let top = tempfile::tempdir().unwrap();
    let victim = top.path().join("root-only");
    private_dir(&victim);
    let sim = top.path().join("sim");
    std::os::unix::fs::symlink(&victim, &sim).unwrap();
    let error = SimChip::open_in(&sim, Arch::WormholeB0, 0).unwrap_err();
    assert!(matches!(error, SimError::UnsafeSimDir { .. }), "{error}");
    assert!(error.to_string().contains("symlink") && error.to_string().contains("remove it"));
    assert!(list_chips(&sim).is_err(), "the listing refuses it too");
    assert!(remove_chip(&sim, SimKind::Bare(Arch::WormholeB0), 0).is_err());
    assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 0, "no file made through the link");
}

#[test]
fn a_symlinked_chip_file_is_never_followed_to_create_or_use_a_file_elsewhere() {
    let top = tempfile::tempdir().unwrap();
    let sim = top.path().join("sim");
    private_dir(&sim);
    let elsewhere = top.path().join("elsewhere");
    private_dir(&elsewhere);
    // Dangling: a follower would create a chip-sized file in `elsewhere`.
    let target = elsewhere.join("big");
    std::os::unix::fs::symlink(&target, sim.join("wormhole_b0-0.chip")).unwrap();
    let error = SimChip::open_in(&sim, Arch::WormholeB0, 0).unwrap_err();
    assert!(matches!(error, SimError::UnsafeChipFile { .. }), "{error}");
    assert!(!target.exists(), "nothing created through the link");
    // Pointing at an existing file: it is neither used nor removed.
    std::fs::write(&target, b"keep").unwrap();
    assert!(SimChip::open_in(&sim, Arch::WormholeB0, 0).is_err());
    assert!(list_chips(&sim).unwrap().is_empty(), "a link is not listed as a chip");
    let error = remove_chip(&sim, SimKind::Bare(Arch::WormholeB0), 0).unwrap_err();
    assert!(error.to_string().contains("not a regular file"), "{error}");
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
}

#[test]
fn a_sim_directory_of_another_user_is_refused_with_what_to_remove() {
    let Some(uid) = other_uid() else { return };
    let top = tempfile::tempdir().unwrap();
    let sim = top.path().join("sim");
    private_dir(&sim);
    nix::unistd::chown(&sim, Some(uid), None).unwrap();
    let error = SimChip::open_in(&sim, Arch::Blackhole, 0).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("owned by uid 65534") && text.contains("remove it"), "{text}");
    assert!(list_chips(&sim).is_err());
    assert_eq!(std::fs::read_dir(&sim).unwrap().count(), 0, "nothing made in it");
}

#[test]
fn a_sim_directory_of_ours_open_to_others_is_made_private() {
    let top = tempfile::tempdir().unwrap();
    let sim = top.path().join("sim");
    std::fs::create_dir(&sim).unwrap();
    std::fs::set_permissions(&sim, std::fs::Permissions::from_mode(0o777)).unwrap();
    drop(SimChip::open_in(&sim, Arch::WormholeB0, 0).unwrap());
    let mode = std::fs::metadata(&sim).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}

#[test]
fn a_chip_file_planted_by_another_user_is_never_used_listed_or_removed() {
    let Some(uid) = other_uid() else { return };
    let top = tempfile::tempdir().unwrap();
    let sim = top.path().join("sim");
    // A real chip, then given away with mode 0666: as if the attacker had made it.
    drop(SimChip::open_in(&sim, Arch::WormholeB0, 0).unwrap());
    let planted = sim.join("wormhole_b0-0.chip");
    nix::unistd::chown(&planted, Some(uid), None).unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o666)).unwrap();
    let error = SimChip::open_in(&sim, Arch::WormholeB0, 0).unwrap_err();
    assert!(matches!(error, SimError::UnsafeChipFile { .. }), "{error}");
    assert!(error.to_string().contains("owned by uid 65534"), "{error}");
    assert!(list_chips(&sim).unwrap().is_empty(), "not listed (its lock could lie)");
    assert!(remove_chip(&sim, SimKind::Bare(Arch::WormholeB0), 0).is_err());
    assert!(planted.exists());
}

#[test]
fn a_fifo_named_like_a_chip_never_hangs_devices_rm_or_open() {
    let top = tempfile::tempdir().unwrap();
    let sim = top.path().join("sim");
    private_dir(&sim);
    nix::unistd::mkfifo(&sim.join("blackhole-0.chip"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    let dir = sim.clone();
    let listed = within_seconds("listing", move || list_chips(&dir).map(|c| c.len()));
    assert_eq!(listed.unwrap(), 0);
    let dir = sim.clone();
    let removed =
        within_seconds("sim rm", move || remove_chip(&dir, SimKind::Bare(Arch::Blackhole), 0));
    assert!(removed.unwrap_err().to_string().contains("not a regular file"));
    let dir = sim.clone();
    let opened = within_seconds("open", move || SimChip::open_in(&dir, Arch::Blackhole, 0).err());
    assert!(matches!(opened, Some(SimError::UnsafeChipFile { .. })), "{opened:?}");
}

#[test]
fn a_chip_killed_between_sizing_and_its_header_leaves_no_half_made_chip() {
    let top = tempfile::tempdir().unwrap();
    let sim = top.path().join("sim");
    private_dir(&sim);
    *crate::chip::STOP_AFTER_SIZING_IN.lock() = Some(sim.clone());
    let stopped = SimChip::open_in(&sim, Arch::WormholeB0, 0);
    *crate::chip::STOP_AFTER_SIZING_IN.lock() = None;
    assert!(stopped.is_err(), "creation stopped midway");
    assert!(!sim.join("wormhole_b0-0.chip").exists(), "only a temporary name was used");
    assert!(list_chips(&sim).unwrap().is_empty());
    // The next open makes the chip whole, without `sim rm`.
    let chip = SimChip::open_in(&sim, Arch::WormholeB0, 0).expect("usable at once");
    assert_eq!(list_chips(&sim).unwrap().len(), 1);
    drop(chip);
}

#[test]
fn two_threads_creating_one_chip_get_one_file_and_one_owner() {
    let top = tempfile::tempdir().unwrap();
    let sim = top.path().join("sim");
    let results: Vec<_> = (0..4)
        .map(|_| {
            let dir = sim.clone();
            std::thread::spawn(move || SimChip::open_in(&dir, Arch::Blackhole, 7))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let opened = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(opened, 1, "exactly one opener holds the chip");
    for error in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(matches!(error, SimError::BusyInProcess { .. }), "{error}");
    }
    let names: Vec<_> = std::fs::read_dir(&sim).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("blackhole-7.chip")], "no temporaries left");
}

#[test]
fn temporaries_left_by_a_killed_creator_are_swept_once_old_and_unlocked() {
    let top = tempfile::tempdir().unwrap();
    let sim = top.path().join("sim");
    private_dir(&sim);
    let old = sim.join(".wormhole_b0-0.chip.4242-0.tmp");
    let young = sim.join(".wormhole_b0-0.chip.4243-0.tmp");
    let other = sim.join(".blackhole-0.chip.4244-0.tmp");
    for path in [&old, &young, &other] {
        std::fs::write(path, b"half made").unwrap();
    }
    for path in [&old, &other] {
        let aged = std::process::Command::new("touch")
            .args(["-m", "-d", "10 minutes ago"])
            .arg(path)
            .status()
            .unwrap();
        assert!(aged.success());
    }
    drop(SimChip::open_in(&sim, Arch::WormholeB0, 0).unwrap());
    assert!(!old.exists(), "an old, unlocked temporary of this chip is swept");
    assert!(young.exists(), "a young one may belong to a creator still at work");
    assert!(other.exists(), "another chip's temporaries are left to its own creation");
    assert_eq!(list_chips(&sim).unwrap().len(), 1, "temporaries are never listed");
}
