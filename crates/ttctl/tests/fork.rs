//! A child forked without exec: it counts in a segment of its own, refuses the handles it
//! inherited, and stays visible to monitors when orphaned. The forking process is this test
//! binary re-executed with a role, so the fork happens in a process with no other test
//! threads holding locks.

// Helpers outside #[test] functions: a failed step should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tt_accounting::{BankType, MemKind};
use tt_alloc::{AllocError, BufferRequest, Layout, Policy};
use tt_device::{Device, OpenOptions};
use tt_program::{builtin_kernel, Processor, Program, ProgramError, Runtime};
use tt_track::Tracker;

const ROLE: &str = "TTCTL_FORK_TEST_ROLE";
const LEDGER: &str = "TTCTL_FORK_TEST_LEDGER";
const SIM: &str = "TTCTL_FORK_TEST_SIM";
const REPORT: &str = "TTCTL_FORK_TEST_REPORT";

fn program(cores: &[tt_soc::NocCoord]) -> Program {
    let mut p = Program::new("forked");
    p.add_kernel("reader", builtin_kernel("reader").unwrap(), Processor::DataMovement0, cores);
    p.add_circular_buffer(0, cores, 1024, 2);
    p
}

fn runtime(tracker: &Tracker, sim: &Path, spec: &str) -> Runtime {
    let options = OpenOptions { sim_dir: Some(sim.to_path_buf()), ..Default::default() };
    Runtime::with_device(Device::open_with(spec, &options).unwrap(), tracker).unwrap()
}

/// What the child checks, one word each, written to the report file.
fn child_side(tracker: &Tracker, parent: &Runtime, sim: &Path) -> String {
    let request = BufferRequest {
        bank_type: BankType::Dram,
        kind: MemKind::Dram,
        layout: Layout::Interleaved { page_size: 4096, pages: 1 },
        policy: Policy::default(),
        owner: "inherited",
    };
    let alloc_refused = matches!(
        parent.allocator().allocate(&request),
        Err(AllocError::InheritedAcrossFork { .. })
    );
    let cores: Vec<_> = parent.worker_cores().into_iter().take(2).collect();
    let load_refused =
        matches!(program(&cores).load(parent), Err(ProgramError::InheritedAcrossFork { .. }));
    let spans = [tt_accounting::BankSpan { bank: 0, addr: 0, size: 64 }];
    let here = std::panic::Location::caller();
    let slot_refused =
        tracker.record_place(parent.slot(), MemKind::Dram, &spans, "x", here).is_err();
    // A device of its own counts into a segment of its own.
    let own = runtime(tracker, sim, "sim:wormhole_b0:31");
    let loaded = program(&cores).load(&own).unwrap();
    let kernel_bytes = loaded.kernel_bytes();
    std::mem::forget((own, loaded));
    format!("{} {alloc_refused} {load_refused} {slot_refused} {kernel_bytes}", std::process::id())
}

/// The forking process: a session and a loaded program, then a fork.
#[test]
fn fork_role_entry() {
    let Ok(role) = std::env::var(ROLE) else { return };
    assert_eq!(role, "forker");
    let ledger = PathBuf::from(std::env::var_os(LEDGER).unwrap());
    let sim = PathBuf::from(std::env::var_os(SIM).unwrap());
    let report = PathBuf::from(std::env::var_os(REPORT).unwrap());
    let tracker = Tracker::with_ledger_dir(&ledger).unwrap();
    let rt = runtime(&tracker, &sim, "sim:wormhole_b0:30");
    let cores: Vec<_> = rt.worker_cores().into_iter().take(2).collect();
    let _kept = program(&cores).load(&rt).unwrap();
    // SAFETY: this process runs one test thread and libtest's idle main thread; the child
    // uses only what this thread set up, and ends with _exit without unwinding.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            let line = child_side(&tracker, &rt, &sim);
            std::fs::write(&report, line).unwrap();
            // Held until the test kills it; never longer than a minute.
            std::thread::sleep(Duration::from_secs(60));
            // SAFETY: ends the child without running the parent's exit handlers.
            unsafe { libc::_exit(0) };
        }
        nix::unistd::ForkResult::Parent { .. } => {
            let deadline = Instant::now() + Duration::from_secs(30);
            while !report.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            println!("READY");
            std::thread::sleep(Duration::from_secs(60));
        }
    }
}

/// Kills its processes if the test fails half-way.
struct Reaper(Vec<i32>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), nix::sys::signal::SIGKILL);
        }
    }
}

fn mem(ledger: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_ttctl"))
        .args(["mem", "--json"])
        .env("TT_LEDGER_DIR", ledger)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn pids_and_devices(v: &Value) -> Vec<(u64, Vec<String>)> {
    let mut out: Vec<(u64, Vec<String>)> = v["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let devices = p["devices"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap().to_owned())
                .collect();
            (p["pid"].as_u64().unwrap(), devices)
        })
        .collect();
    out.sort();
    out
}

fn kill(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_forked_child_counts_in_its_own_segment_refuses_inherited_handles_and_outlives_its_parent() {
    let ledger = tempfile::tempdir().unwrap();
    let sim = tempfile::tempdir().unwrap();
    let report = ledger.path().join("child.report");
    let mut forker = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "fork_role_entry", "--nocapture", "--test-threads", "1"])
        .env(ROLE, "forker")
        .env(LEDGER, ledger.path())
        .env(SIM, sim.path())
        .env(REPORT, &report)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reaper = Reaper(vec![forker.id() as i32]);
    let mut lines = BufReader::new(forker.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap().contains("READY")), "the forker did not get ready");
    let fields: Vec<String> =
        std::fs::read_to_string(&report).unwrap().split_whitespace().map(str::to_owned).collect();
    let child_pid: u64 = fields[0].parse().unwrap();
    reaper.0.push(child_pid as i32);
    assert_eq!(
        &fields[1..4],
        ["true", "true", "true"],
        "inherited allocator, session, slot refused"
    );
    let child_kernel: u64 = fields[4].parse().unwrap();
    assert!(child_kernel > 0);

    let both = mem(ledger.path());
    // Each chip file drew its id: find them by the spec each was opened with.
    let uid_of = |spec: &str| {
        let devices = both["devices"].as_array().unwrap();
        let device = devices.iter().find(|d| d["spec"] == spec).unwrap();
        device["chip_uid"].as_str().unwrap().to_owned()
    };
    let (parent_uid, child_uid) = (uid_of("sim:wormhole_b0:30"), uid_of("sim:wormhole_b0:31"));
    assert_eq!(
        pids_and_devices(&both),
        {
            let mut expected = vec![
                (u64::from(forker.id()), vec![parent_uid.clone()]),
                (child_pid, vec![child_uid.clone()]),
            ];
            expected.sort();
            expected
        },
        "each process counts its own chip, in its own segment"
    );
    let child_dev =
        both["devices"].as_array().unwrap().iter().find(|d| d["chip_uid"] == child_uid).unwrap();
    assert_eq!(child_dev["used"]["kernel"], child_kernel);
    assert_eq!(child_dev["integrity"]["inherited_uses"], 0, "the refusals count on the process");

    // The parent dies; the orphaned child still holds its chip and is still counted.
    kill(&mut forker);
    let orphan = mem(ledger.path());
    assert_eq!(pids_and_devices(&orphan), vec![(child_pid, vec![child_uid.clone()])]);
    assert_eq!(orphan["dead_segments_removed"], 1);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child_pid as i32),
        nix::sys::signal::SIGKILL,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let after = mem(ledger.path());
        if after["processes"].as_array().unwrap().is_empty() {
            assert!(after["devices"].as_array().unwrap().is_empty());
            break;
        }
        assert!(Instant::now() < deadline, "the killed child is still counted: {after}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
