//! The command line as people expect it: usage errors before any device opens, the
//! environment in --help, completions and a man page from the clap definitions, TT_TRACKING
//! said once, --iterations 0, and --watch's timestamped lines ending cleanly on Ctrl-C.

// A failed step should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::io::BufRead;
use std::process::Stdio;
use std::time::Duration;

use common::{Env, Running};
use serde_json::Value;

#[test]
fn an_unknown_workload_is_a_usage_error_before_any_device_opens() {
    let env = Env::new();
    let out = env.command(&["run", "nope", "--device", "sim:wormhole_b0:40"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("possible values: programs, buffers, loopback, add, reduce"),
        "{stderr}"
    );
    // No chip file was made and no ledger segment written: nothing was opened.
    assert_eq!(std::fs::read_dir(env.sim.path()).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(env.ledger.path()).unwrap().count(), 0);
}

#[test]
fn help_names_the_environment_and_the_workloads() {
    let env = Env::new();
    let help = env.command(&["--help"]).output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for name in ["TT_SIM_DIR", "TT_LEDGER_DIR", "TT_TRACKING", "RUST_LOG", "--verbose", "--quiet"] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    let run_help = env.command(&["run", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&run_help.stdout);
    for workload in ["programs", "buffers", "loopback", "add", "reduce"] {
        assert!(text.contains(&format!("- {workload}:")), "{workload} missing from:\n{text}");
    }
}

/// Each command's `--help` ends with the environment variables that change what it does.
#[test]
fn every_subcommand_help_names_the_environment_that_affects_it() {
    let env = Env::new();
    let expected: [(&[&str], &[&str]); 13] = [
        (&["devices"], &["TT_SIM_DIR", "COLUMNS"]),
        (&["run"], &["TT_SIM_DIR", "TT_LEDGER_DIR", "TT_TRACKING", "COLUMNS"]),
        (&["mem"], &["TT_LEDGER_DIR", "COLUMNS"]),
        (&["leaks"], &["TT_LEDGER_DIR"]),
        (&["serve"], &["TT_LEDGER_DIR"]),
        (&["top"], &["TT_LEDGER_DIR"]),
        (&["record"], &["TT_LEDGER_DIR"]),
        (&["plot"], &[]),
        (&["completions"], &[]),
        (&["man"], &[]),
        (&["sim"], &["TT_SIM_DIR"]),
        (&["sim", "rm"], &["TT_SIM_DIR"]),
        (&["kernel", "build"], &["TMPDIR"]),
    ];
    let everything = ["TT_SIM_DIR", "TT_LEDGER_DIR", "TT_TRACKING", "COLUMNS", "TMPDIR"];
    for (command, variables) in expected {
        let help = env.command(&[command, &["--help"]].concat()).output().unwrap();
        assert!(help.status.success(), "{command:?}");
        let text = String::from_utf8_lossy(&help.stdout);
        let environment = text.split("Environment:").nth(1).unwrap_or_else(|| {
            panic!("`ttctl {} --help` has no environment section:\n{text}", command.join(" "))
        });
        for name in everything {
            let listed = environment.contains(&format!("  {name} "));
            assert_eq!(listed, variables.contains(&name), "{name} in {command:?}:\n{text}");
        }
        assert!(environment.contains("  RUST_LOG "), "{command:?}:\n{text}");
        assert!(environment.contains("Exit status: 0 ok, 1 runtime error, 2 usage error."));
    }
}

#[test]
fn completions_and_the_man_page_come_from_the_definitions() {
    let env = Env::new();
    for (shell, marker) in
        [("bash", "complete -F"), ("zsh", "#compdef ttctl"), ("fish", "complete -c ttctl")]
    {
        let out = env.command(&["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(script.contains("serve"), "{shell} completes subcommands");
    }
    let man = env.command(&["man"]).output().unwrap();
    assert!(man.status.success());
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(page.contains(".TH ttctl 1"), "{page}");
    assert!(page.contains("serve"), "{page}");
    for name in ["TT_SIM_DIR", "TT_LEDGER_DIR", "TT_TRACKING", "RUST_LOG", "COLUMNS"] {
        assert!(page.contains(name), "{name} missing from the man page:\n{page}");
    }
    assert_eq!(env.command(&["completions", "tcsh"]).output().unwrap().status.code(), Some(2));
}

#[test]
fn tracking_off_is_said_once() {
    let env = Env::new();
    let out = env
        .command(&["run", "buffers", "--device", "sim:wormhole_b0:41", "--iterations", "1"])
        .env("TT_TRACKING", "off")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("TT_TRACKING=off").count(), 1, "{stderr}");
}

#[test]
fn zero_iterations_print_no_peak_row() {
    let env = Env::new();
    let args = ["run", "programs", "--device", "sim:wormhole_b0:42", "--iterations", "0"];
    let out = env.command(&args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let text = stdout.split("memory view").next().unwrap();
    assert!(text.lines().any(|l| l.trim_start().starts_with("before")), "{text}");
    assert!(!text.lines().any(|l| l.trim_start().starts_with("peak")), "{text}");
    // The JSON keeps the ledger's high-water mark, never below the baseline.
    let out = env.command(&[&args[..], &["--json"]].concat()).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (kind, before) in v["before"].as_object().unwrap() {
        assert!(v["peak"][kind].as_u64() >= before.as_u64(), "{kind}: {v}");
    }
}

#[test]
fn watch_json_lines_are_timestamped_and_ctrl_c_ends_cleanly() {
    let env = Env::new();
    let mut watch = Running(
        env.command(&["mem", "--watch", "0.1", "--json"]).stdout(Stdio::piped()).spawn().unwrap(),
    );
    let mut lines = std::io::BufReader::new(watch.0.stdout.take().unwrap()).lines();
    for _ in 0..2 {
        let line: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        assert_eq!(line["schema_version"], 3);
        let stamp = line["timestamp"].as_str().unwrap();
        assert!(stamp.ends_with('Z') && stamp.len() == 20, "{stamp}");
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(watch.0.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = common::wait_for(Duration::from_secs(5), || watch.0.try_wait().unwrap());
    assert_eq!(status.map(|s| s.code()), Some(Some(0)));
}
