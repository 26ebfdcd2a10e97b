//! Attacks by another local user (uid 65534 when the tests run as root): predictable paths in
//! shared directories, planted ledger directories, hostile text. Each case is one of issue
//! 20's findings and fails on the code before it.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};

use common::Env;

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
