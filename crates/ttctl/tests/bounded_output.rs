//! Findings 10 and 11: text from a segment, a record file or a request reaches no terminal,
//! label or answer raw or unbounded, and `plot` and `record` are bounded.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::{http_get, start_serve, Env};

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Finding 10: a device's arch and spec went raw to `mem`, `leaks`, `top` and Prometheus
/// labels (a planted segment retitled a tmux pane); `serve` echoed control characters.
#[test]
fn control_characters_from_a_segment_or_a_request_are_never_passed_on() {
    let env = Env::new();
    let tracker = tt_track::Tracker::with_ledger_dir(env.ledger.path()).unwrap();
    let mut info = tt_track::DeviceInfo::new(
        tt_soc::ChipUid(0xE5C),
        tt_soc::Arch::WormholeB0,
        tt_track::DeviceCapacity::default(),
    );
    info.arch = "wormhole_b0\x1b]2;pwned\x07".to_owned();
    info.spec = "sim:\x1b[2J".to_owned();
    let slot = tracker.register_device(&info).unwrap();
    for args in [&["mem"][..], &["mem", "--json"], &["leaks"], &["leaks", "--json"]] {
        let out = env.ttctl(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        assert!(!text(&out).contains('\x1b'), "{args:?} passed an escape: {:?}", text(&out));
        assert!(!text(&out).contains('\x07'), "{args:?} passed a bell: {:?}", text(&out));
    }
    let (_serve, addr) = start_serve(&env);
    for path in [
        "/metrics",
        "/api/v1/mem",
        "/api/v1/mem?device=%1B%5D2%3Bpwned%07",
        "/api/v1/mem?%1B%5B2J=1",
        "/api/v1/mem?pid=%1B%5B2J",
    ] {
        let (status, body) = http_get(&addr, path).unwrap();
        assert!(matches!(status, 200 | 400 | 404), "{path}: {status}");
        assert!(!body.contains('\x1b') && !body.contains('\x07'), "{path}: {body:?}");
    }
    let long = format!("/api/v1/mem?device={}", "x".repeat(5000));
    let (status, body) = http_get(&addr, &long).unwrap();
    assert_eq!(status, 404);
    assert!(body.len() < 1000, "{} bytes echoed", body.len());
    tracker.unregister_device(slot).unwrap();
}

/// Finding 11: `plot /dev/zero` grew to 8.7 GB and a FIFO hung it.
#[test]
fn plot_reads_only_bounded_regular_files_and_never_blocks() {
    let env = Env::new();
    let out_png = env.sim.path().join("out.png");
    let fifo = env.sim.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    for input in ["/dev/zero", fifo.to_str().unwrap()] {
        let start = Instant::now();
        let mut child = env
            .command(&["plot", input, "-o", out_png.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{input}: {}", text(&out));
        assert!(text(&out).contains("is not a regular file"), "{input}: {}", text(&out));
        assert!(!out_png.exists());
    }
    // A file past the size cap is refused before it is read.
    let big = env.sim.path().join("big.jsonl");
    std::fs::File::create(&big).unwrap().set_len(ttctl::plot::MAX_INPUT_BYTES + 1).unwrap();
    let out = env.ttctl(&["plot", big.to_str().unwrap(), "-o", out_png.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("more than the 33554432 one plot reads"), "{}", text(&out));
}

/// Finding 11: 1,500 devices in a 1.46 MB record took 1.94 GB and made a 172 MB PNG.
#[test]
fn plot_refuses_more_devices_than_it_draws() {
    let env = Env::new();
    // One real sample line, its device repeated under 1,500 chip uids.
    let (_uid, _tracker, _record) = env.cb_on_chip_77();
    let out = env.ttctl(&["record", "--duration", "0.2"]);
    let first = String::from_utf8_lossy(&out.stdout).lines().next().unwrap().to_owned();
    let mut sample: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(sample["type"], "sample", "{first}");
    let device = sample["devices"][0].clone();
    let devices: Vec<serde_json::Value> = (0..1500)
        .map(|i| {
            let mut d = device.clone();
            d["chip_uid"] = format!("0x{i:016x}").into();
            d
        })
        .collect();
    sample["devices"] = devices.into();
    let line = sample.to_string();
    let input = env.sim.path().join("many.jsonl");
    std::fs::write(&input, line + "\n").unwrap();
    let output = env.sim.path().join("many.png");
    let out = env.ttctl(&["plot", input.to_str().unwrap(), "-o", output.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("more than 32 devices"), "{}", text(&out));
    assert!(!output.exists());
}

/// Finding 11: `record --duration` overran by up to one interval.
#[test]
fn record_stops_at_its_duration_not_an_interval_later() {
    let env = Env::new();
    let output = env.sim.path().join("rec.jsonl");
    let start = Instant::now();
    let out = env.ttctl(&[
        "record",
        "-o",
        output.to_str().unwrap(),
        "--duration",
        "0.5",
        "--interval",
        "5",
    ]);
    let took = start.elapsed();
    assert!(out.status.success(), "{}", text(&out));
    assert!(took < Duration::from_secs(3), "record --duration 0.5 --interval 5 took {took:?}");
    let lines = std::fs::read_to_string(&output).unwrap();
    assert_eq!(lines.lines().count(), 1, "{lines}");
}

/// `leaks` lists at most `--limit` placements per device (50 by default) and says how many
/// more it did not show, in text and JSON: a process may keep 32,768 live per device.
#[test]
fn leaks_output_is_bounded_and_says_what_it_left_out() {
    let env = Env::new();
    let tracker = tt_track::Tracker::with_ledger_dir(env.ledger.path()).unwrap();
    let info = tt_track::DeviceInfo::new(
        tt_soc::ChipUid(0x1EA),
        tt_soc::Arch::WormholeB0,
        tt_track::DeviceCapacity::default(),
    );
    let slot = tracker.register_device(&info).unwrap();
    let spans = [tt_accounting::BankSpan { bank: 0, addr: 0, size: 64 }];
    let here = std::panic::Location::caller();
    let records: Vec<_> = (0..60)
        .map(|_| {
            tracker.record_place(slot, tt_accounting::MemKind::Dram, &spans, "many", here).unwrap()
        })
        .collect();
    let out = env.ttctl(&["leaks"]);
    assert!(out.status.success(), "{}", text(&out));
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(listing.lines().filter(|l| l.contains(" many ")).count(), 50, "{listing}");
    assert!(listing.contains("... and 10 more not shown (--limit 50)"), "{listing}");
    let out = env.ttctl(&["leaks", "--json", "--limit", "5"]);
    let document: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let device = &document["processes"][0]["devices"][0];
    assert_eq!(device["live_records"].as_array().map(Vec::len), Some(5));
    assert_eq!(device["live_records_not_shown"], 55);
    drop(records);
}
