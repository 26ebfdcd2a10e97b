//! A chip held by a process that publishes no ledger for it is shown as held, untracked,
//! with its pid, never as idle.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{http_get, start_serve, Env, Running};
use serde_json::Value;

#[test]
fn a_chip_held_with_tracking_off_is_shown_held_by_its_pid_untracked() {
    let env = Env::new();
    let holder = Running(
        env.command(&[
            "-q",
            "run",
            "loopback",
            "--device",
            "sim:wormhole_b0:3",
            "--iterations",
            "100000",
        ])
        .env("TT_TRACKING", "off")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap(),
    );
    let pid = holder.0.id();
    // Wait until the chip is open (its file exists, locked by the workload).
    let deadline = Instant::now() + Duration::from_secs(60);
    let held = loop {
        let chips = tt_sim::list_chips(env.sim.path()).unwrap_or_default();
        if let Some(chip) = chips.iter().find(|c| c.holder.is_some()) {
            break chip.clone();
        }
        assert!(Instant::now() < deadline, "the workload never opened its chip");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(held.holder, Some(pid as i32));

    let out = env.ttctl(&["mem", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["devices"].as_array().unwrap().len(), 0, "no ledger counts the chip");
    let holders = v["untracked_holders"].as_array().unwrap();
    assert_eq!(holders.len(), 1, "{v}");
    assert_eq!(holders[0]["pid"], pid);
    assert_eq!(holders[0]["chip_uid"], held.chip_uid.to_string());
    assert_eq!(holders[0]["spec"], "sim:wormhole_b0:3");
    assert_eq!(holders[0]["command"], "ttctl");

    let devices = String::from_utf8(env.ttctl(&["devices"]).stdout).unwrap();
    assert!(devices.contains(&format!("in use by pid {pid} (ttctl), untracked")), "{devices}");

    let text = String::from_utf8(env.ttctl(&["mem"]).stdout).unwrap();
    assert!(text.contains(&format!("held by pid {pid} (ttctl), untracked")), "{text}");
    assert!(!text.contains("no device in use"), "{text}");

    let (_serve, addr) = start_serve(&env);
    let (status, body) = http_get(&addr, "/metrics").unwrap();
    assert_eq!(status, 200);
    let series = format!(
        "tt_device_untracked_holder{{chip_uid=\"{}\",arch=\"wormhole_b0\",board=\"none\",pid=\"{pid}\",command=\"ttctl\"}} 1",
        held.chip_uid
    );
    assert!(body.contains(&series), "{series} missing from:\n{body}");
    drop(holder);
}
