//! Finding 7: a full tmpfs killed workloads with SIGBUS and no message. Each case mounts a
//! small tmpfs in a private mount namespace (`unshare`), fills it and runs ttctl there; it is
//! skipped, saying why, where that is not permitted.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output, Stdio};

use common::{can_mount, Env};

/// Runs `ttctl ARGS` with `mount` a tmpfs of `size_mib` MiB of which `free_kib` KiB are left
/// free, and `env_of(mount)` as extra environment.
fn in_full_tmpfs(
    env: &Env,
    size_mib: u32,
    free_kib: u32,
    extra: &[(&str, &str)],
    args: &[&str],
) -> Output {
    let mount = tempfile::tempdir().unwrap();
    let fill_kib = size_mib * 1024 - free_kib;
    let script = format!(
        "mount -t tmpfs -o size={size_mib}m,mode=0700 tmpfs \"$T\" && \
         head -c {fill_kib}K /dev/zero > \"$T/fill\" && exec \"$@\""
    );
    let mut command = Command::new("unshare");
    command
        .args(["--mount", "--propagation", "private", "sh", "-c", &script, "sh"])
        .arg(env!("CARGO_BIN_EXE_ttctl"))
        .args(args)
        .env("T", mount.path())
        .env("TT_LEDGER_DIR", env.ledger.path())
        .env("TT_SIM_DIR", env.sim.path())
        .env_remove("TT_TRACKING")
        .stdin(Stdio::null());
    for (key, value) in extra {
        command.env(key, value.replace("$T", &mount.path().to_string_lossy()));
    }
    command.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The ledger cannot be placed: the workload runs, with the ledger degraded, and says so.
#[test]
fn a_workload_runs_with_its_ledger_degraded_when_the_ledger_tmpfs_is_full() {
    if !can_mount() {
        return;
    }
    let env = Env::new();
    for workload in ["buffers", "add"] {
        // 128 KiB free: less than a segment's records and rings (242,816 bytes).
        let out =
            in_full_tmpfs(&env, 64, 128, &[("TT_LEDGER_DIR", "$T/tt-ledger")], &["run", workload]);
        let err = stderr(&out);
        assert_eq!(out.status.signal(), None, "{workload} died of a signal: {err}");
        assert_eq!(out.status.code(), Some(0), "{workload}: {err}");
        assert!(err.contains("no room for a ledger segment in"), "{workload}: {err}");
        assert!(err.contains("tt-ledger: it needs 242816 bytes and"), "{workload}: {err}");
        assert!(err.contains("invisible to monitors"), "{workload}: {err}");
    }
}

/// Room for a segment's records but not for its live table to grow: the workload runs with
/// its ledger published, its placements counted exactly and listed as far as there was room.
#[test]
fn a_live_table_that_cannot_grow_stops_listing_and_never_raises_sigbus() {
    if !can_mount() {
        return;
    }
    let env = Env::new();
    // 300 KiB free: the records fit, not a 64 KiB chunk of live table after them.
    let out = in_full_tmpfs(&env, 64, 300, &[("TT_LEDGER_DIR", "$T/tt-ledger")], &["run", "add"]);
    let err = stderr(&out);
    assert_eq!(out.status.signal(), None, "died of a signal: {err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("no room for a ledger segment"), "the segment was published: {err}");
    assert!(err.contains("cannot reserve more of the ledger's live table"), "{err}");
}

/// The simulated chip's file cannot be placed: one clear error naming it, not SIGBUS.
#[test]
fn a_full_simulator_tmpfs_is_one_clear_error() {
    if !can_mount() {
        return;
    }
    let env = Env::new();
    let out = in_full_tmpfs(&env, 64, 8192, &[("TT_SIM_DIR", "$T/sim")], &["run", "buffers"]);
    let err = stderr(&out);
    assert_eq!(out.status.signal(), None, "died of a signal: {err}");
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no room for a simulated chip in /tmp/"), "{err}");
    assert!(err.contains("bytes are free there"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
