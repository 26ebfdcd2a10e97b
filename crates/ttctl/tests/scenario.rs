//! The program scenario of the mission: kernels loaded, programs dropped, and a monitor in
//! another process sees KERNEL and CB return to zero, down to the byte, with only SYSTEM and
//! RESERVED left, and this process's entries gone once the device is closed.

// Helpers outside #[test] functions: a failed step should fail the test loudly.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;
use tt_device::{Device, OpenOptions};
use tt_program::{builtin_kernel, LoadedProgram, Processor, Program, Runtime};
use tt_track::Tracker;

const PROGRAMS: usize = 20;
const THREADS: usize = 3;
const CORES: usize = 64;

/// `ttctl mem --json` in a separate process, reading `ledger`; returns our device's entry.
fn monitor(ledger: &std::path::Path, chip_uid: &str) -> Option<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_ttctl"))
        .args(["mem", "--json"])
        .env("TT_LEDGER_DIR", ledger)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema_version"], 3);
    v["devices"].as_array().unwrap().iter().find(|d| d["chip_uid"] == chip_uid).cloned()
}

fn used(dev: &Value, kind: &str) -> u64 {
    dev["used"][kind].as_u64().unwrap()
}

fn program(name: &str, cores: &[tt_soc::NocCoord]) -> Program {
    let mut p = Program::new(name);
    for (kernel, processor) in [
        ("reader", Processor::DataMovement0),
        ("compute_add", Processor::Compute0),
        ("writer", Processor::DataMovement1),
    ] {
        let id = p.add_kernel(kernel, builtin_kernel(kernel).unwrap(), processor, cores);
        // A zero-page share: each kernel checks its launch block, args and CBs and returns 0.
        p.set_common_args(id, &[0, 0, 0, 1024, 0, 0, 0, 1]).unwrap();
    }
    for (index, pages) in [(0, 2), (1, 2), (2, 4), (3, 1)] {
        p.add_circular_buffer(index, cores, 1024, pages);
    }
    p
}

#[test]
fn programs_on_64_cores_return_the_monitor_to_baseline_every_time() {
    let ledger = tempfile::tempdir().unwrap();
    let sim = tempfile::tempdir().unwrap();
    let tracker = Tracker::with_ledger_dir(ledger.path()).unwrap();
    let pid = std::process::id();
    for round in 0..5 {
        let options = OpenOptions { sim_dir: Some(sim.path().to_path_buf()), ..Default::default() };
        let device = Device::open_with("sim:wormhole_b0", &options).unwrap();
        let rt = Runtime::with_device(device, &tracker).unwrap();
        let uid = rt.device().chip_uid().to_string();
        let baseline = monitor(ledger.path(), &uid).expect("device visible after open");
        let (system, reserved) = (used(&baseline, "system"), used(&baseline, "reserved"));
        let firmware = tt_program::firmware().unwrap().image().len() as u64;
        // The Tensix reserved areas less firmware, and the firmware areas of the 16 Ethernet
        // cores (below 0x9040, 0x11000-0x18000, 0x3DC00-256 KiB: eth_l1_address_map.h).
        let fixed = 80 * (0x18000 - 5 * firmware) + 16 * (0x9040 + 0x7000 + 0x2400);
        assert!(system > 0 && reserved == fixed, "round {round}: {baseline}");
        for kind in ["dram", "l1", "l1_small", "trace", "cb", "kernel"] {
            assert_eq!(used(&baseline, kind), 0, "round {round}: {kind} at baseline");
        }
        let cores: Vec<_> = rt.worker_cores().into_iter().take(CORES).collect();
        let loaded: Mutex<Vec<LoadedProgram>> = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (rt, cores, loaded) = (&rt, &cores, &loaded);
                s.spawn(move || {
                    for i in (t..PROGRAMS).step_by(THREADS) {
                        let p = program(&format!("round{round}-p{i}"), cores).load(rt).unwrap();
                        p.run().unwrap();
                        loaded.lock().unwrap().push(p);
                    }
                });
            }
        });
        let loaded = loaded.into_inner().unwrap();
        assert_eq!(loaded.len(), PROGRAMS);
        // Exact sums, from the ELF images and CB sizes, independent of the ledger. Each CB's
        // L1 range is reserved on all 80 Tensix cores, though it holds data on 64.
        let binaries = program("x", &cores).kernel_binary_bytes();
        let expect_cb = (PROGRAMS * 80 * 1024 * (2 + 2 + 4 + 1)) as u64;
        let expect_cb_payload = (PROGRAMS * CORES * 1024 * (2 + 2 + 4 + 1)) as u64;
        let expect_kernel: u64 = loaded.iter().map(LoadedProgram::kernel_bytes).sum();
        assert!(expect_kernel >= PROGRAMS as u64 * binaries);
        let live = monitor(ledger.path(), &uid).unwrap();
        assert_eq!(used(&live, "kernel"), expect_kernel, "round {round}");
        assert_eq!(used(&live, "cb"), expect_cb, "round {round}");
        assert_eq!(live["payload"]["cb"], expect_cb_payload, "round {round}");
        assert_eq!(used(&live, "system"), system);
        let ours = live["processes"].as_array().unwrap().iter().find(|p| p["pid"] == pid).unwrap();
        assert_eq!(ours["used"]["kernel"], expect_kernel);
        drop(loaded);
        let after = monitor(ledger.path(), &uid).unwrap();
        assert_eq!(used(&after, "kernel"), 0, "round {round}: kernels released to the byte");
        assert_eq!(used(&after, "cb"), 0, "round {round}");
        assert_eq!(used(&after, "system"), system, "round {round}: SYSTEM unchanged");
        assert_eq!(used(&after, "reserved"), reserved);
        assert_eq!(after["integrity_errors"], 0);
        rt.close().unwrap();
        assert!(monitor(ledger.path(), &uid).is_none(), "round {round}: entries gone after close");
    }
}
