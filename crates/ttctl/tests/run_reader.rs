//! The README's own workload read by a monitor while it runs: KERNEL and CB never show more
//! than the run's own high-water mark (reads that mixed two copies of the ledger showed twice
//! the true peak: the phantom kernels this project exists to end).

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::Env;
use serde_json::Value;
use tt_accounting::MemKind;

#[test]
fn a_monitor_never_sees_more_kernel_or_cb_bytes_than_the_run_peaked_at() {
    let env = Env::new();
    let mut run = env
        .command(&["run", "programs", "--iterations", "20", "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (mut reads, mut busy, mut max_kernel, mut max_cb) = (0u32, 0u32, 0u64, 0u64);
    while run.try_wait().unwrap().is_none() {
        let snapshot = tt_track::read_ledger(env.ledger.path()).unwrap();
        for device in &snapshot.devices {
            if device.busy_processes > 0 {
                busy += 1;
                continue;
            }
            max_kernel = max_kernel.max(device.kind(MemKind::Kernel).used_bytes);
            max_cb = max_cb.max(device.kind(MemKind::Cb).used_bytes);
            reads += 1;
        }
    }
    let out = run.wait_with_output().unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (peak_kernel, peak_cb) =
        (v["peak"]["kernel"].as_u64().unwrap(), v["peak"]["cb"].as_u64().unwrap());
    eprintln!(
        "{reads} reads ({busy} busy): KERNEL up to {max_kernel} of peak {peak_kernel}, CB up \
         to {max_cb} of peak {peak_cb}"
    );
    assert!(reads >= 20, "only {reads} reads raced the run");
    assert!(max_kernel > 0 && max_cb > 0, "the reads never saw a program loaded");
    assert!(max_kernel <= peak_kernel, "KERNEL {max_kernel} above the run's peak {peak_kernel}");
    assert!(max_cb <= peak_cb, "CB {max_cb} above the run's peak {peak_cb}");
}
