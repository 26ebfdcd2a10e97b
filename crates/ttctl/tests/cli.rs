//! ttctl end to end: each test runs the real binary with its own ledger and simulator dirs.

// Helpers outside #[test] functions: a failed step should fail the test loudly.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Output};

use common::Env;
use serde_json::Value;

fn json_of(out: &Output) -> Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// RESERVED bytes of one Wormhole Ethernet core: the base firmware below FIRMWARE_BASE 0x9040,
/// the routing firmware's 28 KiB at 0x11000 and the config space from 0x3DC00 to 256 KiB.
const ETH_FIRMWARE: u64 = 0x9040 + 28 * 1024 + (0x40000 - 0x3DC00);

#[test]
fn buffers_workload_returns_to_the_reserved_baseline() {
    let env = Env::new();
    let out = env.ttctl(&[
        "run",
        "buffers",
        "--device",
        "sim:wormhole_b0:1",
        "--iterations",
        "3",
        "--json",
    ]);
    let v = json_of(&out);
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["returned_to_baseline"], true);
    assert_eq!(v["units"], 24);
    // RESERVED is the fixed 96 KiB area of each of the 80 Tensix cores less the firmware at
    // its 5 reset pcs, plus the Ethernet firmware's areas of the 16 Ethernet cores (73 KiB
    // each, tt-metal wormhole eth_l1_address_map.h); SYSTEM the firmware, dispatch and fabric
    // kernels; nothing else before.
    let firmware = tt_program::firmware().unwrap().image().len() as u64;
    assert_eq!(v["before"]["reserved"], 80 * (96 * 1024 - 5 * firmware) + 16 * ETH_FIRMWARE);
    assert!(v["before"]["system"].as_u64().unwrap() > 0);
    for kind in ["dram", "l1", "l1_small", "trace", "cb", "kernel", "system", "reserved"] {
        if kind != "system" && kind != "reserved" {
            assert_eq!(v["before"][kind], 0, "{kind}");
        }
        assert_eq!(v["after"][kind], v["before"][kind], "{kind}");
    }
    assert!(v["peak"]["dram"].as_u64().unwrap() > 0 && v["peak"]["l1"].as_u64().unwrap() > 0);
    // The process is gone: a separate reader sees no device in use and removes nothing live.
    let mem = json_of(&env.ttctl(&["mem", "--json"]));
    assert_eq!(mem["schema_version"], 3);
    assert_eq!(mem["devices"].as_array().unwrap().len(), 0);
}

#[test]
fn programs_workload_loads_runs_and_returns_to_baseline() {
    let env = Env::new();
    let out = env.ttctl(&[
        "run",
        "programs",
        "--device",
        "sim:wormhole_b0:2",
        "--iterations",
        "2",
        "--json",
    ]);
    let v = json_of(&out);
    assert_eq!(v["returned_to_baseline"], true);
    assert_eq!(v["units"], 16);
    // At peak 8 programs hold 4 CBs of 2, 2, 2 and 1 pages of 2 KiB on 64 cores each, and
    // each CB's range is reserved on all 80 Tensix cores: the peak is the ledger's own.
    assert_eq!(v["peak"]["cb"], 8 * 80 * 2048 * 7);
    assert!(v["peak"]["kernel"].as_u64().unwrap() > 0);
    assert_eq!(v["after"]["kernel"], 0);
    assert_eq!(v["after"]["cb"], 0);
    assert_eq!(v["after"]["system"], v["before"]["system"]);
}

#[test]
fn computing_workloads_check_their_results_and_return_to_baseline() {
    let env = Env::new();
    for (i, workload) in ["loopback", "add", "reduce"].iter().enumerate() {
        let spec = format!("sim:{}:{}", if i == 1 { "blackhole" } else { "wormhole_b0" }, 10 + i);
        let out = env.ttctl(&["run", workload, "--device", &spec, "--iterations", "1", "--json"]);
        let v = json_of(&out);
        assert_eq!(v["units"], 1, "{workload}");
        assert!(v["bytes_per_second"].as_f64().unwrap() > 0.0, "{workload}");
        assert_eq!(v["returned_to_baseline"], true, "{workload}");
        assert!(v["peak"]["dram"].as_u64().unwrap() > 0, "{workload}: buffers in DRAM at peak");
        assert_eq!(v["after"]["dram"], 0, "{workload}");
    }
}

#[test]
fn text_run_ends_with_the_memory_view() {
    let env = Env::new();
    let out = env.ttctl(&["run", "buffers", "--device", "sim:blackhole", "--iterations", "2"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("ran `buffers` on sim:blackhole:0"), "{text}");
    let view = text.split("memory view").nth(1).expect("memory view at the end");
    assert!(view.contains("blackhole (sim) sim:blackhole:0"), "{view}");
    let dram = view.lines().find(|l| l.trim_start().starts_with("DRAM ")).expect("a DRAM row");
    let cells: Vec<&str> = dram.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
    // Used, capacity, use, free, payload: nothing of DRAM is used after the workload.
    assert_eq!((cells[1], cells[3], cells[5]), ("0 B", "0.0%", "0 B"), "{view}");
    assert_eq!(cells[2], cells[4], "all of DRAM is free: {view}");
    assert!(view.lines().any(|l| l.trim_start().starts_with("L1/core ")), "{view}");
}

#[test]
fn devices_lists_simulated_chips_without_taking_them() {
    let env = Env::new();
    assert!(env
        .ttctl(&["run", "buffers", "--device", "sim:blackhole:3", "--iterations", "1"])
        .status
        .success());
    let v = json_of(&env.ttctl(&["devices", "--json"]));
    let devices = v["devices"].as_array().unwrap();
    let sim: Vec<_> = devices.iter().filter(|d| d["backend"] == "sim").collect();
    assert_eq!(sim.len(), 1);
    assert_eq!(sim[0]["spec"], "sim:blackhole:3");
    assert_eq!(sim[0]["grid"]["x"], 17);
    assert_eq!(sim[0]["tensix_cores"], 140);
    assert_eq!(sim[0]["state"], "free");
    let rm = env.ttctl(&["sim", "rm", "sim:blackhole:3"]);
    assert!(rm.status.success());
    let v = json_of(&env.ttctl(&["devices", "--json"]));
    assert!(v["devices"].as_array().unwrap().iter().all(|d| d["backend"] != "sim"));
}

#[test]
fn harvesting_and_soc_files_shape_the_device() {
    let env = Env::new();
    let out = env.ttctl(&[
        "run",
        "buffers",
        "--device",
        "sim:wormhole_b0:5",
        "--iterations",
        "1",
        "--harvest",
        "0x3",
        "--json",
    ]);
    let v = json_of(&out);
    // Two harvested rows leave 64 Tensix cores, each with its reserved area less firmware; the
    // 16 Ethernet cores keep their firmware's areas.
    let firmware = tt_program::firmware().unwrap().image().len() as u64;
    assert_eq!(v["before"]["reserved"], 64 * (96 * 1024 - 5 * firmware) + 16 * ETH_FIRMWARE);
    let soc = env.sim.path().join("bad.yaml");
    std::fs::write(&soc, "grid: {x_size: 10}\n").unwrap();
    let bad = env.ttctl(&[
        "run",
        "buffers",
        "--device",
        "sim:wormhole_b0:5",
        "--soc",
        soc.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("bad.yaml") && err.contains("y_size"), "{err}");
    let mask = env.ttctl(&["run", "buffers", "--harvest", "lots"]);
    assert_eq!(mask.status.code(), Some(2));
}

#[test]
fn exit_codes_and_one_line_errors() {
    let env = Env::new();
    let usage = env.ttctl(&["frobnicate"]);
    assert_eq!(usage.status.code(), Some(2));
    let bad = env.ttctl(&["run", "buffers", "--device", "sim:grayskull"]);
    assert_eq!(bad.status.code(), Some(2), "a spec that names no device is a usage error");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("sim:grayskull") && err.contains("sim:wormhole_b0"), "{err}");
    // A workload is a closed list: a wrong name is a usage error, before any device opens.
    let unknown = env.ttctl(&["run", "nonsense", "--device", "sim:wormhole_b0:7"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr)
        .contains("possible values: programs, buffers, loopback, add, reduce"));
}

#[test]
fn mem_watch_refreshes_until_stopped() {
    let env = Env::new();
    let mut child = env
        .command(&["mem", "--json", "--watch", "0.1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let views: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(views.len() >= 3, "one JSON view per refresh, got {}", views.len());
    assert!(views.iter().all(|v| v["schema_version"] == 3));
}

#[test]
fn leaks_lists_what_a_live_process_still_holds() {
    let env = Env::new();
    let v = json_of(&env.ttctl(&["leaks", "--json"]));
    assert_eq!(v["processes"].as_array().unwrap().len(), 0);
    // A tracker in this test process holds one placement; a separate ttctl lists it.
    let tracker = tt_track::Tracker::with_ledger_dir(env.ledger.path()).unwrap();
    let info = tt_track::DeviceInfo::new(
        tt_soc::ChipUid(42),
        tt_soc::Arch::WormholeB0,
        tt_track::DeviceCapacity::default(),
    );
    let slot = tracker.register_device(&info).unwrap();
    let spans = [tt_accounting::BankSpan { bank: 0, addr: 0x1000, size: 4096 }];
    let owner = "weights of layer 3, a name far longer than the sixty-four bytes a ledger keeps";
    let record = tracker
        .record_place(
            slot,
            tt_accounting::MemKind::Dram,
            &spans,
            owner,
            std::panic::Location::caller(),
        )
        .unwrap();
    let v = json_of(&env.ttctl(&["leaks", "--json"]));
    assert_eq!(v["schema_version"], 2);
    let ours = &v["processes"][0];
    assert_eq!(ours["pid"], std::process::id());
    let rec = &ours["devices"][0]["live_records"][0];
    assert_eq!(rec["owner"], &owner[..64]);
    assert_eq!(rec["owner_truncated"], true);
    assert_eq!((rec["bytes"].as_u64(), rec["payload_bytes"].as_u64()), (Some(4096), Some(4096)));
    assert_eq!((rec["kind"].as_str(), rec["address"].as_u64()), (Some("dram"), Some(0x1000)));
    assert!(rec["age_seconds"].as_f64().unwrap() >= 0.0);
    let provenance = rec["provenance"].as_str().unwrap();
    assert!(provenance.starts_with("crates/ttctl/tests/cli.rs:"), "the caller's line: {rec}");
    let text = String::from_utf8_lossy(&env.ttctl(&["leaks"]).stdout).to_string();
    assert!(text.contains("weights of layer 3") && text.contains("4.0 KiB"), "{text}");
    assert!(text.contains("…") && text.contains("dram bank 0 @0x1000"), "{text}");
    drop(record);
    let after = json_of(&env.ttctl(&["leaks", "--json"]));
    assert!(after["processes"][0]["devices"][0]["live_records"].as_array().unwrap().is_empty());
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    let env = Env::new();
    let mut child = env
        .command(&["run", "buffers", "--device", "sim:wormhole_b0:8", "--iterations", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // as `ttctl ... | head -0` would
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

/// The `ttctl mem --json` contract (schema 3): exactly these keys, bytes as integers.
#[test]
fn mem_json_keeps_its_contract() {
    let env = Env::new();
    let (uid, _tracker, record) = env.cb_on_chip_77();
    let v = json_of(&env.ttctl(&["mem", "--json"]));
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(v["schema_version"], 3);
    assert_eq!(
        keys(&v),
        [
            "dead_segments_removed",
            "devices",
            "processes",
            "schema_version",
            "skipped_segments",
            "untracked_holders"
        ]
    );
    let dev = &v["devices"][0];
    assert_eq!(
        keys(dev),
        [
            "allocator",
            "arch",
            "backend",
            "busy_processes",
            "capacity",
            "chip_uid",
            "cores",
            "ethernet_l1_per_core",
            "integrity",
            "integrity_errors",
            "l1_per_core",
            "live",
            "memory",
            "payload",
            "peak",
            "peak_used",
            "placed",
            "processes",
            "released",
            "spec",
            "used"
        ]
    );
    assert_eq!(dev["chip_uid"], uid.to_string());
    assert_eq!((dev["arch"].as_str(), dev["backend"].as_str()), (Some("wormhole_b0"), Some("sim")));
    assert_eq!(dev["spec"], "sim:wormhole_b0:77");
    assert_eq!(dev["capacity"]["dram"], 12u64 << 30);
    assert_eq!(dev["capacity"]["dram_banks"], 12);
    assert_eq!(dev["capacity"]["l1"], 80 * 1_499_136);
    assert_eq!(dev["capacity"]["cores"], 80);
    assert_eq!(dev["capacity"]["ethernet_cores"], 16);
    let kinds = ["cb", "dram", "kernel", "l1", "l1_small", "reserved", "system", "trace"];
    for key in ["used", "payload", "peak", "live", "placed", "released"] {
        assert_eq!(keys(&dev[key]), kinds, "{key}");
    }
    assert_eq!(
        (dev["used"]["cb"].as_u64(), dev["payload"]["cb"].as_u64()),
        (Some(1024), Some(1024))
    );
    assert_eq!(dev["live"]["cb"], 1);
    assert_eq!(dev["memory"]["l1"]["used"], 1024);
    assert_eq!(dev["memory"]["l1"]["free"], 80 * 1_499_136 - 1024);
    assert_eq!(dev["memory"]["dram"]["used"], 0);
    // Per core: 1000 bytes on core 0, 24 on core 1, nothing elsewhere.
    assert_eq!(dev["l1_per_core"]["max"], 1000);
    assert_eq!(dev["l1_per_core"]["min"], 0);
    let cores = dev["cores"].as_array().unwrap();
    assert_eq!(cores.len(), 80 + 16);
    assert_eq!(
        (cores[0]["x"].as_u64(), cores[0]["y"].as_u64(), cores[0]["used"].as_u64()),
        (Some(1), Some(1), Some(1000))
    );
    // No allocator runs in this process: its figures are null, not 0.
    assert!(dev["allocator"]["dram"].is_null());
    let p = &dev["processes"][0];
    assert_eq!(
        keys(p),
        [
            "busy",
            "command",
            "integrity_errors",
            "live",
            "open",
            "payload",
            "peak",
            "peak_used",
            "pid",
            "start_time_ticks",
            "used"
        ]
    );
    assert_eq!(p["pid"], std::process::id());
    assert_eq!((p["busy"].as_bool(), dev["busy_processes"].as_u64()), (Some(false), Some(0)));
    assert_eq!(keys(&p["used"]), kinds);
    assert_eq!(p["used"]["cb"], 1024);
    assert_eq!(dev["integrity_errors"], 0);
    // --device takes the uid or the spec `ttctl devices` prints; unknown ones are usage errors.
    for want in [uid.to_string(), "sim:wormhole_b0:77".to_owned()] {
        let one = json_of(&env.ttctl(&["mem", "--json", "--device", &want]));
        assert_eq!(one["devices"].as_array().unwrap().len(), 1, "{want}");
    }
    let unknown = env.ttctl(&["mem", "--json", "--device", "0x1"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no live process uses device"));
    let no_pid = env.ttctl(&["mem", "--pid", "1"]);
    assert_eq!(no_pid.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_pid.stderr).contains("pid 1"));
    let me = std::process::id().to_string();
    let mine = json_of(&env.ttctl(&["mem", "--json", "--pid", &me]));
    assert_eq!(mine["devices"].as_array().unwrap().len(), 1);
    // The grid shows each core's fill.
    let grid = env.ttctl(&["mem", "--cores"]);
    let text = String::from_utf8_lossy(&grid.stdout);
    assert!(text.contains("L1 fill per core"), "{text}");
    for bad in [["mem", "--watch", "inf"], ["mem", "--watch", "1e30"], ["mem", "--watch", "0"]] {
        assert_eq!(env.ttctl(&bad).status.code(), Some(2), "{bad:?}");
    }
    drop(record);
}

/// Without TT_LEDGER_DIR, writers use the per-user runtime directory and monitors read it as
/// well as the /dev/shm fallback.
#[test]
fn the_runtime_directory_is_preferred_and_read() {
    let runtime = tempfile::tempdir().unwrap();
    let ledger = runtime.path().join("tt-ledger");
    let tracker = tt_track::Tracker::with_ledger_dir(&ledger).unwrap();
    let info = tt_track::DeviceInfo::new(
        tt_soc::ChipUid(0x7E57),
        tt_soc::Arch::WormholeB0,
        tt_track::DeviceCapacity::default(),
    );
    let slot = tracker.register_device(&info).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ttctl"))
        .args(["mem", "--json"])
        .env_remove("TT_LEDGER_DIR")
        .env("XDG_RUNTIME_DIR", runtime.path())
        .output()
        .unwrap();
    let v = json_of(&out);
    let pids: Vec<u64> =
        v["processes"].as_array().unwrap().iter().map(|p| p["pid"].as_u64().unwrap()).collect();
    assert!(pids.contains(&u64::from(std::process::id())), "{v}");
    tracker.unregister_device(slot).unwrap();
}

#[test]
fn kernel_build_makes_an_elf_from_any_directory_when_the_compiler_is_there() {
    let env = Env::new();
    let have_compiler = Command::new("riscv64-unknown-elf-gcc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let src = env.sim.path().join("mine.c");
    std::fs::write(&src, "#include \"tt_kernel.h\"\nint kernel_main(void) { return 3; }\n")
        .unwrap();
    let out_dir = env.sim.path().join("out");
    let out =
        env.ttctl(&["kernel", "build", src.to_str().unwrap(), "--out", out_dir.to_str().unwrap()]);
    if !have_compiler {
        assert!(!out.status.success(), "no compiler, no kernel");
        return;
    }
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let elf = std::fs::read(out_dir.join("mine.elf")).unwrap();
    let image = tt_program::KernelImage::from_elf("mine.elf", &elf, 0x1000).unwrap();
    assert!(image.placed_bytes() > 0);
}
