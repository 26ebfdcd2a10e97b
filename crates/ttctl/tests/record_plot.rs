//! Memory over time: `ttctl record` beside a workload writes JSON lines that match the
//! schema, keep every placement with its owner and the event ring's entries, and `ttctl
//! plot` draws them as SVG and PNG and says what held L1 at the peak.

// A failed step should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::float_cmp)]

mod common;

use std::process::Stdio;

use common::{assert_valid, Env, Running};
use serde_json::Value;

#[test]
fn record_keeps_placements_and_events_and_plot_draws_them() {
    let env = Env::new();
    let file = env.ledger.path().with_extension("jsonl");
    let recording = Running(
        env.command(&[
            "record",
            "-o",
            file.to_str().unwrap(),
            "--interval",
            "0.1",
            "--duration",
            "60",
        ])
        .spawn()
        .unwrap(),
    );
    // Give the recorder its first (empty) sample before the workload starts.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let args = ["run", "programs", "--device", "sim:n150:45", "--iterations", "4"];
    let run = env.command(&args).stdout(Stdio::null()).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    std::thread::sleep(std::time::Duration::from_millis(300));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(recording.0.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    drop(recording);

    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let of = |kind: &str| lines.iter().filter(|l| l["type"] == kind).collect::<Vec<_>>();
    for line in &lines {
        assert_valid("record_line", line);
    }
    let samples = of("sample");
    assert!(samples.len() >= 3, "{} samples", samples.len());
    assert!(samples.iter().any(|s| s["devices"][0]["used"]["kernel"].as_u64() > Some(0)));
    let placements = of("placement");
    let reserved: Vec<u64> = placements
        .iter()
        .filter(|p| p["kind"] == "reserved")
        .map(|p| p["bytes"].as_u64().unwrap())
        .collect();
    // The two RESERVED placements are all of the chip's RESERVED bytes: the same area on each
    // of the n150's 72 Tensix cores, and the Ethernet firmware's areas on each of its 16
    // Ethernet cores (below 0x9040, 0x11000-0x18000, 0x3DC00-256 KiB).
    // A sample may fall between the two placements at open, so the full figure is the largest.
    let sampled = samples.iter().filter_map(|s| s["devices"][0]["used"]["reserved"].as_u64());
    assert_eq!(Some(reserved.iter().sum::<u64>()), sampled.max());
    let ethernet = 16 * (0x9040 + 0x7000 + 0x2400);
    assert_eq!(reserved.len(), 2, "{reserved:?}");
    assert!(reserved.contains(&ethernet), "{reserved:?}");
    assert!(reserved.iter().any(|&b| b != ethernet && b % 72 == 0), "{reserved:?}");
    assert!(placements
        .iter()
        .any(|p| p["kind"] == "cb" && p["owner"].as_str().unwrap().contains("cb")));
    // Everything placed was seen to go: the workload ended.
    assert_eq!(of("release").len(), placements.len());
    // The ring: placements timed on the ledger's clock, releases not timed (0 by design).
    let events = of("event");
    assert!(events.iter().any(|e| e["op"] == "place" && e["at_ns"].as_u64() > Some(0)));
    assert!(events.iter().filter(|e| e["op"] == "release").all(|e| e["at_ns"] == 0));
    // 4 rounds of 8 programs of 3 kernels: every kernel placement is in the ring.
    let kernels = events.iter().filter(|e| e["op"] == "place" && e["kind"] == "kernel").count();
    assert!(kernels >= 4 * 8 * 3, "{kernels} kernel placements in the ring");

    // The plotted curve steps with the ring's events between samples, and never shows less
    // kernel bytes than a sample did.
    let uid = samples.iter().find_map(|s| s["devices"][0]["chip_uid"].as_str()).unwrap();
    let recording = ttctl::plot::Recording::parse(&text);
    let curve = recording.used_over_time(uid).unwrap();
    assert!(curve.len() > samples.len(), "{} points for {} samples", curve.len(), samples.len());
    let kernel = tt_accounting::MemKind::Kernel.index();
    let drawn_peak = curve.iter().map(|(_, used)| used.0[kernel]).max().unwrap();
    let sampled_peak = samples.iter().filter_map(|s| s["devices"][0]["used"]["kernel"].as_u64());
    assert!(drawn_peak >= sampled_peak.max().unwrap());

    for picture in ["usage.svg", "usage.png"] {
        let out_path = env.sim.path().join(picture);
        let plot = env
            .command(&["plot", file.to_str().unwrap(), "-o", out_path.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(plot.status.success(), "{}", String::from_utf8_lossy(&plot.stderr));
        let said = String::from_utf8_lossy(&plot.stdout);
        assert!(said.contains("L1 peak"), "{said}");
        assert!(said.contains("cb program"), "what held L1 at the peak:\n{said}");
        let bytes = std::fs::read(&out_path).unwrap();
        if picture.ends_with(".png") {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        } else {
            let svg = String::from_utf8(bytes).unwrap();
            assert!(svg.starts_with("<svg") && svg.contains("peak"), "{svg}");
        }
    }
    let wrong = env.command(&["plot", file.to_str().unwrap(), "-o", "usage.gif"]).output().unwrap();
    assert_eq!(wrong.status.code(), Some(2));
}

/// A record file with samples at 0 s and 1 s of one chip using `l1` L1 bytes (and 1 MiB
/// RESERVED), and `events` read with the second sample, numbered from `first_number`; event 0
/// was already in the ring at the first sample (before the recording: not drawn).
fn two_samples(l1: u64, first_number: u64, events: &[(&str, u64, u64)]) -> String {
    use tt_accounting::MemKind;
    use ttctl::mem_json::PerKind;
    use ttctl::record::{DeviceSample, RecordLine};
    let used = PerKind::of(|k| match k {
        MemKind::L1 => l1,
        MemKind::Reserved => 1 << 20,
        _ => 0,
    });
    let sample = |clock_ns: u64| RecordLine::Sample {
        schema_version: 2,
        time: "2026-01-01T00:00:00.000Z".to_owned(),
        clock_ns,
        devices: vec![DeviceSample {
            chip_uid: CHIP.to_owned(),
            arch: "wormhole_b0".to_owned(),
            spec: "sim:wormhole_b0:9".to_owned(),
            used,
            payload: used,
            peak: used,
            l1_max_core: 0,
            l1_capacity: 80 * 1_499_136,
            dram_capacity: 12 << 30,
        }],
    };
    let event = |number: u64, op: &str, bytes: u64, at_ns: u64| RecordLine::Event {
        chip_uid: CHIP.to_owned(),
        pid: 4242,
        number,
        op: op.to_owned(),
        kind: "l1".to_owned(),
        id: number,
        bytes,
        payload_bytes: bytes,
        at_ns,
    };
    let mut lines = vec![sample(5_000_000_000), event(0, "place", 999, 4_000_000_000)];
    lines.push(sample(6_000_000_000));
    for (number, (op, bytes, at_ns)) in (first_number..).zip(events) {
        lines.push(event(number, op, *bytes, *at_ns));
    }
    lines.iter().map(|l| serde_json::to_string(l).unwrap() + "\n").collect()
}

const CHIP: &str = "0x5153620000000009";

/// The plotted L1 curve: (seconds, bytes).
fn l1_curve(text: &str) -> Vec<(f64, u64)> {
    let recording = ttctl::plot::Recording::parse(text);
    let curve = recording.used_over_time(CHIP).unwrap();
    // RESERVED did not move: the steps are L1's alone.
    assert!(curve
        .iter()
        .all(|(_, used)| used.0[tt_accounting::MemKind::Reserved.index()] == 1 << 20));
    curve.iter().map(|(t, used)| (*t, used.0[tt_accounting::MemKind::L1.index()])).collect()
}

#[test]
fn a_placement_shorter_than_the_sampling_period_is_a_spike_in_the_plot() {
    let (used, x) = (10_000, 4096);
    // Placed at 0.5 s, released (untimed, at_ns 0) before the sample at 1 s read it.
    let text = two_samples(used, 1, &[("place", x, 5_500_000_000), ("release", x, 0)]);
    assert_eq!(
        l1_curve(&text),
        [
            (0.0, used),
            (0.5, used),
            (0.5, used + x),
            // The release is drawn where the recorder saw it: the sample at 1 s.
            (1.0, used + x),
            (1.0, used),
            (1.0, used),
        ]
    );
    // `ttctl plot` still draws the file and marks the spike's peak.
    let env = Env::new();
    let file = env.sim.path().join("spike.jsonl");
    std::fs::write(&file, &text).unwrap();
    let out_path = env.sim.path().join("spike.svg");
    let plot = env
        .command(&["plot", file.to_str().unwrap(), "-o", out_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(plot.status.success(), "{}", String::from_utf8_lossy(&plot.stderr));
    let svg = std::fs::read_to_string(&out_path).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("peak 13.8 KiB"), "{svg}");
}

#[test]
fn a_release_is_drawn_no_later_than_its_process_next_placement() {
    let used = 10_000;
    let text = two_samples(
        used,
        1,
        &[
            ("place", 3000, 5_200_000_000),
            ("release", 3000, 0),
            ("place", 5000, 5_600_000_000),
            ("release", 5000, 0),
        ],
    );
    // The first block was gone before the second was placed: the peak is the larger block,
    // not both.
    assert_eq!(
        l1_curve(&text),
        [
            (0.0, used),
            (0.2, used),
            (0.2, used + 3000),
            (0.6, used + 3000),
            (0.6, used),
            (0.6, used),
            (0.6, used + 5000),
            (1.0, used + 5000),
            (1.0, used),
            (1.0, used),
        ]
    );
}

#[test]
fn a_ring_that_lost_events_between_reads_is_left_to_the_samples() {
    let used = 10_000;
    // Events 1 and 2 were overwritten before the recorder read the ring: the release of 3000
    // bytes has lost its placement, and drawing it would dip below what was used.
    let text = two_samples(used, 3, &[("release", 3000, 0), ("place", 5000, 5_600_000_000)]);
    assert_eq!(l1_curve(&text), [(0.0, used), (1.0, used)]);
}
