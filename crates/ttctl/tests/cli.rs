//! ttctl end to end: each test runs the real binary with its own ledger and simulator dirs.

// Helpers outside #[test] functions: a failed step should fail the test loudly.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

use serde_json::Value;

struct Env {
    ledger: tempfile::TempDir,
    sim: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env { ledger: tempfile::tempdir().unwrap(), sim: tempfile::tempdir().unwrap() }
    }

    fn ttctl(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ttctl"))
            .args(args)
            .env("TT_LEDGER_DIR", self.ledger.path())
            .env("TT_SIM_DIR", self.sim.path())
            .env_remove("TT_TRACKING")
            .output()
            .unwrap()
    }
}

fn json_of(out: &Output) -> Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

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
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["returned_to_baseline"], true);
    assert_eq!(v["units"], 24);
    // RESERVED is the fixed 96 KiB area of each of the 80 Tensix cores less the firmware at
    // its 5 reset pcs; SYSTEM the firmware, dispatch and fabric kernels; nothing else before.
    let firmware = tt_program::firmware().unwrap().image().len() as u64;
    assert_eq!(v["before"]["reserved"], 80 * (96 * 1024 - 5 * firmware));
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
    assert_eq!(mem["schema_version"], 1);
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
    // At peak 8 programs hold 4 CBs of 2, 2, 2 and 1 pages of 2 KiB on 64 cores each.
    assert_eq!(v["peak"]["cb"], 8 * 64 * 2048 * 7);
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
    assert!(view.contains("blackhole (sim)") && view.contains("dram=0 B"), "{view}");
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
    // Two harvested rows leave 64 Tensix cores, each with its reserved area less firmware.
    let firmware = tt_program::firmware().unwrap().image().len() as u64;
    assert_eq!(v["before"]["reserved"], 64 * (96 * 1024 - 5 * firmware));
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
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("sim:grayskull") && err.contains("sim:wormhole_b0"), "{err}");
    let unknown = env.ttctl(&["run", "nonsense", "--device", "sim:wormhole_b0:7"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr)
        .contains("available: programs, buffers, loopback, add, reduce"));
}

#[test]
fn mem_watch_refreshes_until_stopped() {
    let env = Env::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ttctl"))
        .args(["mem", "--json", "--watch", "0.1"])
        .env("TT_LEDGER_DIR", env.ledger.path())
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
    assert!(views.iter().all(|v| v["schema_version"] == 1));
}

#[test]
fn leaks_lists_what_a_live_process_still_holds() {
    let env = Env::new();
    let v = json_of(&env.ttctl(&["leaks", "--json"]));
    assert_eq!(v["processes"].as_array().unwrap().len(), 0);
    // A tracker in this test process holds one placement; a separate ttctl lists it.
    let tracker = tt_track::Tracker::with_ledger_dir(env.ledger.path()).unwrap();
    let slot = tracker
        .register_device(tt_soc::ChipUid(42), tt_soc::Arch::WormholeB0, Default::default())
        .unwrap();
    let spans = [tt_track::BankSpan { bank: 0, addr: 0x1000, size: 4096 }];
    let record = tracker.record_place(
        slot,
        tt_track::MemKind::Dram,
        &spans,
        "weights of layer 3",
        std::panic::Location::caller(),
    );
    let v = json_of(&env.ttctl(&["leaks", "--json"]));
    let ours = &v["processes"][0];
    assert_eq!(ours["pid"], std::process::id());
    let rec = &ours["devices"][0]["live_records"][0];
    assert_eq!(rec["owner"], "weights of layer 3");
    assert_eq!(rec["bytes"], 4096);
    assert_eq!(rec["kind"], "dram");
    assert!(rec["provenance"].as_str().unwrap().contains("cli.rs"), "{rec}");
    let text = String::from_utf8_lossy(&env.ttctl(&["leaks"]).stdout).to_string();
    assert!(text.contains("weights of layer 3") && text.contains("4.0 KiB"), "{text}");
    tracker.record_release(record);
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    let env = Env::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ttctl"))
        .args(["run", "buffers", "--device", "sim:wormhole_b0:8", "--iterations", "2"])
        .env("TT_LEDGER_DIR", env.ledger.path())
        .env("TT_SIM_DIR", env.sim.path())
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

/// The `ttctl mem --json` contract: exactly these keys, bytes as integers.
#[test]
fn mem_json_keeps_its_contract() {
    let env = Env::new();
    let tracker = tt_track::Tracker::with_ledger_dir(env.ledger.path()).unwrap();
    let capacity = tt_track::DeviceCapacity {
        dram_bytes: 12 << 30,
        l1_bytes_total: 80 * 1_499_136,
        l1_bytes_per_core: 1_499_136,
        core_count: 80,
    };
    let uid = tt_soc::SocDescriptor::sim_chip_uid(tt_soc::Arch::WormholeB0, 77);
    let slot = tracker.register_device(uid, tt_soc::Arch::WormholeB0, capacity).unwrap();
    let spans = [
        tt_track::BankSpan { bank: 0, addr: 0, size: 1000 },
        tt_track::BankSpan { bank: 1, addr: 0, size: 24 },
    ];
    let record = tracker.record_place(
        slot,
        tt_track::MemKind::Cb,
        &spans,
        "cb",
        std::panic::Location::caller(),
    );
    let v = json_of(&env.ttctl(&["mem", "--json"]));
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&v),
        ["dead_segments_removed", "devices", "schema_version", "skipped_segments"]
    );
    let dev = &v["devices"][0];
    assert_eq!(
        keys(dev),
        ["arch", "backend", "capacity", "chip_uid", "integrity_errors", "processes", "used"]
    );
    assert_eq!(dev["chip_uid"], uid.to_string());
    assert_eq!(dev["arch"], "wormhole_b0");
    assert_eq!(dev["backend"], "sim");
    assert_eq!(dev["capacity"]["dram"], 12u64 << 30);
    assert_eq!(dev["capacity"]["l1"], 80 * 1_499_136);
    let kinds = ["cb", "dram", "kernel", "l1", "l1_small", "reserved", "system", "trace"];
    assert_eq!(keys(&dev["used"]), kinds);
    assert_eq!(dev["used"]["cb"], 1024);
    assert!(dev["used"]["dram"].is_u64());
    let p = &dev["processes"][0];
    assert_eq!(keys(p), ["command", "integrity_errors", "pid", "used"]);
    assert_eq!(p["pid"], std::process::id());
    assert_eq!(keys(&p["used"]), kinds);
    assert_eq!(p["used"]["cb"], 1024);
    assert_eq!(dev["integrity_errors"], 0);
    // --device and --pid filter.
    let none = json_of(&env.ttctl(&["mem", "--json", "--device", "0x1"]));
    assert_eq!(none["devices"].as_array().unwrap().len(), 0);
    let other_pid = json_of(&env.ttctl(&["mem", "--json", "--pid", "1"]));
    assert_eq!(other_pid["devices"][0]["processes"].as_array().unwrap().len(), 0);
    tracker.record_release(record);
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
