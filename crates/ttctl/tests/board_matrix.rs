//! Every workload on every board and chip as shipped (issue 19): bare chips, the Wormhole
//! boards (both chips of an n300) and the harvested Blackhole boards. Each board opens once,
//! in this process (one device session per board, not one `ttctl` process per run): its
//! firmware starts on every usable Tensix core, each workload runs one round and leaves the
//! ledger exactly at the session's SYSTEM + RESERVED baseline, closing releases everything
//! and holds every core in reset again, and every core's soft-reset register round trips.

#![allow(clippy::unwrap_used, clippy::panic)]

use tt_accounting::MemKind;
use tt_device::{Device, OpenOptions};
use tt_program::Runtime;
use tt_soc::tile::SoftReset;
use tt_track::Tracker;
use ttctl::run::{run_workload, used_by_kind, Workload};

/// One board: firmware start, the five workloads, close, soft reset on every Tensix core.
fn board(spec: &str) {
    ttctl::set_quiet(true);
    let sim = tempfile::tempdir().unwrap();
    let ledger = tempfile::tempdir().unwrap();
    let tracker = Tracker::with_ledger_dir(ledger.path()).unwrap();
    let options = OpenOptions { sim_dir: Some(sim.path().to_path_buf()), ..Default::default() };

    let session = Runtime::with_device(Device::open_with(spec, &options).unwrap(), &tracker)
        .unwrap_or_else(|e| panic!("{spec}: starting the device session: {e}"));
    let cores = session.device().soc().tensix_cores();
    assert!(!cores.is_empty(), "{spec}");
    for &core in &cores {
        let bits = session.device().soft_reset(core).unwrap();
        assert_eq!(bits & SoftReset::ALL_RISCV, SoftReset::empty(), "{spec}: {core} runs firmware");
    }
    let baseline = used_by_kind(&tracker, &session);
    assert!(baseline[MemKind::Reserved.index()] > 0, "{spec}: {baseline:?}");
    assert!(baseline[MemKind::System.index()] > 0, "{spec}: {baseline:?}");
    for workload in Workload::ALL {
        let name = workload.name();
        let outcome = run_workload(&session, workload, 1)
            .unwrap_or_else(|e| panic!("{spec}: workload `{name}`: {e:#}"));
        assert!(outcome.units > 0 && outcome.bytes > 0, "{spec} {name}: {outcome:?}");
        assert_eq!(used_by_kind(&tracker, &session), baseline, "{spec}: `{name}` left memory");
    }
    let uid = session.device().chip_uid();
    session.close().unwrap_or_else(|e| panic!("{spec}: closing: {e}"));
    let view = tracker.snapshot().unwrap();
    let closed = view.devices.iter().find(|d| d.uid == uid).unwrap();
    assert!(!closed.open, "{spec}");
    assert_eq!(closed.used_bytes(), 0, "{spec}: closing releases everything");

    // Closing held every core in reset; each core's own register round trips, and touching one
    // core's register leaves the next core's alone.
    let device = Device::open_with(spec, &options).unwrap();
    let held = SoftReset::ALL_RISCV - SoftReset::RISCV_B;
    for (i, &core) in cores.iter().enumerate() {
        let bits = device.soft_reset(core).unwrap();
        assert_eq!(bits & SoftReset::ALL_RISCV, SoftReset::ALL_RISCV, "{spec}: {core} held");
        device.set_soft_reset(core, held).unwrap();
        assert_eq!(device.soft_reset(core).unwrap(), held, "{spec}: {core}");
        if let Some(&next) = cores.get(i + 1) {
            let next_bits = device.soft_reset(next).unwrap();
            assert!(next_bits.contains(SoftReset::ALL_RISCV), "{spec}: {next} after {core}");
        }
        device.set_soft_reset(core, bits).unwrap();
        assert_eq!(device.soft_reset(core).unwrap(), bits, "{spec}: {core} restored");
    }
}

#[test]
fn bare_wormhole_b0() {
    board("sim:wormhole_b0");
}

#[test]
fn bare_blackhole() {
    board("sim:blackhole");
}

#[test]
fn n150() {
    board("sim:n150");
}

#[test]
fn n300_chip_0() {
    board("sim:n300:0:0");
}

#[test]
fn n300_chip_1() {
    board("sim:n300:0:1");
}

#[test]
fn p100a() {
    board("sim:p100a");
}

#[test]
fn p150a() {
    board("sim:p150a");
}
