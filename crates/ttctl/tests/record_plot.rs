//! Memory over time: `ttctl record` beside a workload writes JSON lines that match the
//! schema, keep every placement with its owner and the event ring's entries, and `ttctl
//! plot` draws them as SVG and PNG and says what held L1 at the peak.

// A failed step should fail the test loudly.
#![allow(clippy::unwrap_used)]

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
    let reserved = placements.iter().find(|p| p["kind"] == "reserved").unwrap();
    // The one RESERVED placement is all of the chip's RESERVED bytes, the same area on each of
    // the n150's 72 Tensix cores.
    let sampled = samples.iter().find_map(|s| s["devices"][0]["used"]["reserved"].as_u64());
    assert_eq!(reserved["bytes"].as_u64(), sampled);
    assert_eq!(reserved["bytes"].as_u64().unwrap() % 72, 0);
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
