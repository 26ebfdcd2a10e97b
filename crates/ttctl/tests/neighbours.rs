//! Attacks by another local user (uid 65534 when the tests run as root): predictable paths in
//! shared directories, planted ledger directories, hostile text. Each case is one of issue
//! 20's findings and fails on the code before it.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{can_mount, Env};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Finding 1: `kernel build` unpacked its kit into `$TMPDIR/ttctl-kernel-kit-<pid>` even when
/// another user had made that directory first, so its files went wherever the attacker
/// pointed them. The shell below plants the directory for the pid ttctl will have (`exec`
/// keeps the pid), with `build.sh` a symlink to a file of the attacker's.
#[test]
fn kernel_build_never_writes_into_a_directory_someone_else_made() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let stolen = tmp.path().join("stolen");
    let src = env.sim.path().join("mine.c");
    std::fs::write(&src, "int kernel_main(void) { return 3; }\n").unwrap();
    let out_dir = env.sim.path().join("out");
    let script = r#"d="$TMPDIR/ttctl-kernel-kit-$$"
        mkdir -m 777 "$d" && ln -s "$TMPDIR/stolen" "$d/build.sh" && ln -s "$TMPDIR" "$d/include"
        [ "$(id -u)" = 0 ] && chown -h 65534:65534 "$d" "$d/build.sh" "$d/include"
        exec "$@""#;
    let out = Command::new("sh")
        .args(["-c", script, "sh", env!("CARGO_BIN_EXE_ttctl"), "kernel", "build"])
        .arg(&src)
        .arg("--out")
        .arg(&out_dir)
        .env("TMPDIR", tmp.path())
        .env("TT_KERNEL_CC", "/nonexistent/cc")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    // No compiler by that name: the build fails, but only after the kit was unpacked.
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("/nonexistent/cc not found"), "{}", stderr(&out));
    assert!(!stolen.exists(), "the kit was written through the attacker's symlink");
    assert!(!tmp.path().join("tt_kernel.h").exists(), "a header went into the attacker's dir");
    // The private kit is gone again; only the attacker's directory is left.
    let left: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

/// `ttctl ARGS` in a mount namespace whose /dev/shm is a fresh tmpfs where another user
/// (uid 65534, when we are root) made a file named like our ledger fallback; our processes
/// write to the runtime directory `runtime`, which monitors also read.
fn with_planted_fallback(runtime: &Path, args: &[&str]) -> Command {
    let script = "mount -t tmpfs -o size=1m tmpfs /dev/shm && \
                  touch /dev/shm/tt-ledger-$(id -u) && \
                  { [ \"$(id -u)\" != 0 ] || chown 65534:65534 /dev/shm/tt-ledger-0; } && \
                  exec \"$@\"";
    let mut command = Command::new("unshare");
    command
        .args(["--mount", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(env!("CARGO_BIN_EXE_ttctl"))
        .args(args)
        .env_remove("TT_LEDGER_DIR")
        .env("XDG_RUNTIME_DIR", runtime)
        .stdin(Stdio::null());
    command
}

/// Finding 8: `touch /dev/shm/tt-ledger-<uid>` by anyone made `mem`, `leaks` and `record`
/// exit 1 and `serve` answer 500, although our processes write to the runtime directory.
/// Now the planted fallback is warned about and skipped, and the runtime directory is read.
#[test]
fn a_planted_ledger_fallback_is_skipped_and_the_runtime_directory_still_read() {
    if !can_mount() {
        return;
    }
    let runtime = tempfile::tempdir().unwrap();
    let tracker = tt_track::Tracker::with_ledger_dir(runtime.path().join("tt-ledger")).unwrap();
    let info = tt_track::DeviceInfo::new(
        tt_soc::ChipUid(0x7E57),
        tt_soc::Arch::WormholeB0,
        tt_track::DeviceCapacity::default(),
    );
    let slot = tracker.register_device(&info).unwrap();
    let me = std::process::id().to_string();
    for args in [&["mem"][..], &["mem", "--json"], &["leaks"], &["record", "--duration", "0.2"]] {
        let out = with_planted_fallback(runtime.path(), args).output().unwrap();
        let (text, err) = (String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.contains("skipping ledger directory /dev/shm/tt-ledger-"), "{args:?}: {err}");
        assert_eq!(err.matches("skipping ledger directory").count(), 1, "{args:?}: {err}");
        if args[0] == "mem" {
            assert!(text.contains(&me), "{args:?} does not show this process: {text}");
        }
    }
    let mut child = with_planted_fallback(runtime.path(), &["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let line = common::first_line(&mut child);
    let _serve = common::Running(child);
    let addr = line.split("http://").nth(1).and_then(|r| r.split('/').next()).unwrap().to_owned();
    let (status, body) = common::http_get(&addr, "/metrics").unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("tt_ledger_processes 1\n"), "{body}");
    assert!(body.contains("tt_ledger_skipped_segments 1\n"), "{body}");
    tracker.unregister_device(slot).unwrap();
}
