//! `ttctl devices` with simulated boards: board, harvesting, usable Tensix cores and capacity,
//! for chips that exist on disk whether or not a runtime opened them.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use serde_json::Value;
use tt_sim::SimChip;
use tt_soc::BoardPreset;

#[test]
fn devices_shows_board_harvesting_and_capacity_of_chips_on_disk() {
    let sim = tempfile::tempdir().unwrap();
    let ledger = tempfile::tempdir().unwrap();
    // Chip files made directly, never opened by a runtime.
    drop(SimChip::open_board_in(sim.path(), BoardPreset::P100a, 0, 0).unwrap());
    drop(SimChip::open_board_in(sim.path(), BoardPreset::N300, 1, 1).unwrap());
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ttctl"))
            .args(args)
            .env("TT_SIM_DIR", sim.path())
            .env("TT_LEDGER_DIR", ledger.path())
            .output()
            .unwrap()
    };
    let out = run(&["devices", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sim_rows: Vec<&Value> =
        v["devices"].as_array().unwrap().iter().filter(|d| d["backend"] == "sim").collect();
    assert_eq!(sim_rows.len(), 2);
    let n300 = sim_rows.iter().find(|d| d["spec"] == "sim:n300:1:1").unwrap();
    assert_eq!(n300["board"], "n300");
    assert_eq!(n300["harvesting"]["tensix"], 5);
    assert_eq!(n300["tensix_cores"], 64);
    assert_eq!(n300["capacity"]["l1"], 64 * 1_499_136u64);
    assert_eq!(n300["capacity"]["dram"], 12u64 << 30);
    let p100 = sim_rows.iter().find(|d| d["spec"] == "sim:p100a:0").unwrap();
    assert_eq!(p100["board"], "p100a");
    assert_eq!(p100["harvesting"]["dram"], 8);
    assert_eq!(p100["harvesting"]["eth"], 16383);
    assert_eq!(p100["tensix_cores"], 120);
    assert_eq!(p100["capacity"]["dram"], 7 * 4_278_190_080u64);
    assert_eq!(p100["capacity"]["l1"], 120 * 1_572_864u64);
    assert_eq!(p100["state"], "free");
    let text = run(&["devices"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("BOARD") && text.contains("p100a") && text.contains("t192 d8 e16383 p2"),
        "{text}"
    );
}
