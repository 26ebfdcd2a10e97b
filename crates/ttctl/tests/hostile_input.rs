//! Input that must not panic, hang or run away: each case ends quickly with a one-line error
//! and the right exit code (2 for usage, 1 for a runtime error, never 101).

// Helpers outside #[test] functions: a failed step should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::Env;

/// Runs ttctl in `env`, killing it (and failing) if it has not finished within a minute.
fn ttctl(env: &Env, args: &[&str]) -> Output {
    let mut child = env
        .command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("ttctl {args:?} hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_one_line_error(out: &Output, code: i32, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert!(err.len() < 600, "{} bytes of error", err.len());
}

fn soc_fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tt-soc/fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn a_malformed_device_spec_is_a_usage_error_quoted_by_a_short_prefix() {
    let env = Env::new();
    let out = ttctl(&env, &["run", "buffers", "--device", "sim:wormhole_b0:x"]);
    assert_one_line_error(&out, 2, "simulator id must be a number");
    let out = ttctl(&env, &["run", "buffers", "--device", "nonsense"]);
    assert_one_line_error(&out, 2, "bad device spec");
    let long = format!("sim:{}", "w".repeat(100_000));
    let out = ttctl(&env, &["run", "buffers", "--device", &long]);
    assert_one_line_error(&out, 2, "(100004 bytes)");
}

#[test]
fn a_card_spec_that_is_not_a_character_device_is_refused_unopened() {
    let env = Env::new();
    let file = env.sim.path().join("not-a-card");
    std::fs::write(&file, b"keep").unwrap();
    for path in ["/etc/passwd", file.to_str().unwrap()] {
        let out = ttctl(&env, &["run", "buffers", "--device", path]);
        assert_one_line_error(&out, 2, "not a character device");
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"keep");
    let fifo = env.sim.path().join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let out = ttctl(&env, &["run", "buffers", "--device", fifo.to_str().unwrap()]);
    assert_one_line_error(&out, 2, "not a character device");
}

#[test]
fn a_soc_file_that_is_a_fifo_or_huge_is_refused_without_hanging() {
    let env = Env::new();
    let fifo = env.sim.path().join("soc.yaml");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let out = ttctl(
        &env,
        &["run", "buffers", "--device", "sim:wormhole_b0:3", "--soc", fifo.to_str().unwrap()],
    );
    assert_one_line_error(&out, 1, "not a regular file");
    let huge = env.sim.path().join("huge.yaml");
    std::fs::write(&huge, vec![b'#'; 2 << 20]).unwrap();
    let out = ttctl(
        &env,
        &["run", "buffers", "--device", "sim:wormhole_b0:3", "--soc", huge.to_str().unwrap()],
    );
    assert_one_line_error(&out, 1, "at most 1048576 bytes");
    // The chip was never left held: it opens at once.
    let ok = ttctl(
        &env,
        &["run", "buffers", "--device", "sim:wormhole_b0:3", "--iterations", "1", "--json"],
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
}

#[test]
fn a_descriptor_with_a_huge_grid_or_deep_nesting_fails_fast() {
    let env = Env::new();
    let grid = env.sim.path().join("grid.yaml");
    let text = std::fs::read_to_string(soc_fixture("tt_umd_wormhole_b0_8x10.yaml")).unwrap();
    let grid_line = text.lines().find(|l| l.contains("x_size")).unwrap().to_string();
    let huge = text.replace(&grid_line, "  x_size: 65535");
    let huge =
        huge.replace(huge.lines().find(|l| l.contains("y_size")).unwrap(), "  y_size: 65535");
    std::fs::write(&grid, huge).unwrap();
    let start = Instant::now();
    let out = ttctl(
        &env,
        &["run", "buffers", "--device", "sim:wormhole_b0:4", "--soc", grid.to_str().unwrap()],
    );
    assert_one_line_error(&out, 1, "6 bits");
    let nested = env.sim.path().join("nested.yaml");
    std::fs::write(&nested, format!("arc: {}", "[".repeat(200_000))).unwrap();
    let out = ttctl(
        &env,
        &["run", "buffers", "--device", "sim:wormhole_b0:4", "--soc", nested.to_str().unwrap()],
    );
    assert_one_line_error(&out, 1, "nest more than 16 deep");
    assert!(start.elapsed() < Duration::from_secs(30), "{:?}", start.elapsed());
}

#[test]
fn a_descriptor_and_harvest_that_leave_no_tensix_core_are_refused_not_a_panic() {
    let env = Env::new();
    let soc = soc_fixture("tt_umd_wormhole_b0_8x10.yaml");
    for workload in ["buffers", "reduce"] {
        let out = ttctl(
            &env,
            &[
                "run",
                workload,
                "--device",
                "sim:wormhole_b0:6",
                "--soc",
                &soc,
                "--harvest",
                "0x3ff",
            ],
        );
        assert_one_line_error(&out, 1, "Tensix");
    }
}

#[test]
fn a_descriptor_larger_than_the_simulated_chip_is_refused() {
    let env = Env::new();
    let text = std::fs::read_to_string(soc_fixture("tt_umd_wormhole_b0_8x10.yaml")).unwrap();
    // The fixture gives Tensix L1 as 1499136 bytes, as the simulated chip does.
    assert!(text.contains("\n  1499136\n"));
    let bigger = text.replace("\n  1499136\n", "\n  268435456\n");
    let soc = env.sim.path().join("bigger.yaml");
    std::fs::write(&soc, bigger).unwrap();
    let out = ttctl(
        &env,
        &["run", "buffers", "--device", "sim:wormhole_b0:8", "--soc", soc.to_str().unwrap()],
    );
    assert_one_line_error(&out, 1, "the simulated chip holds");
}
