//! `ttctl mem`'s text view: tables fitted to the width (the terminal's, else `COLUMNS`, else
//! 100), every figure of the ledger in its row whatever the width.

// A failed step should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::Env;

/// The cells of the first line whose first cell is `first`: cells are parted by at least two
/// spaces (comfy-table's padding), figures hold one (`1.0 KiB`).
fn row(view: &str, first: &str) -> Vec<String> {
    let line = view
        .lines()
        .find(|l| l.split("  ").map(str::trim).find(|c| !c.is_empty()) == Some(first))
        .unwrap_or_else(|| panic!("no row {first} in:\n{view}"));
    line.split("  ").map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect()
}

fn mem(env: &Env, columns: Option<&str>) -> String {
    let mut command = env.command(&["mem"]);
    match columns {
        Some(columns) => command.env("COLUMNS", columns),
        None => command.env_remove("COLUMNS"),
    };
    let out = command.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn mem_view_fits_80_columns_and_keeps_every_figure() {
    let env = Env::new();
    // 1000 bytes on the first core, 24 on the second: 1024 of CB in all.
    let (uid, _tracker, _record) = env.cb_on_chip_77();

    let unset = mem(&env, None);
    assert_eq!(unset, mem(&env, Some("100")), "without a terminal or COLUMNS the width is 100");
    for (view, width) in [(unset, 100), (mem(&env, Some("80")), 80)] {
        for line in view.lines() {
            assert!(line.chars().count() <= width, "a line past {width} columns:\n{view}");
        }
        assert!(view.contains(&format!("device {uid} wormhole_b0 (sim) sim:wormhole_b0:77")));
        assert!(view.contains("processes 1  integrity errors 0"), "{view}");
        // DRAM 12 GiB, Tensix L1 80 cores of 1_499_136 bytes (114.4 MiB), Ethernet 16 of 256 KiB.
        assert_eq!(row(&view, "POOL"), ["POOL", "USED", "OF", "USE%", "FREE", "PAYLOAD"]);
        assert_eq!(row(&view, "DRAM"), ["DRAM", "0 B", "12.0 GiB", "0.0%", "12.0 GiB", "0 B"]);
        assert_eq!(
            row(&view, "L1"),
            ["L1", "1.0 KiB", "114.4 MiB", "0.0%", "114.4 MiB", "1.0 KiB"]
        );
        assert_eq!(row(&view, "Eth L1"), ["Eth L1", "0 B", "4.0 MiB", "0.0%", "4.0 MiB", "0 B"]);
        // 1024 bytes over 80 cores: 12 bytes on average.
        assert_eq!(row(&view, "L1/core"), ["L1/core", "0 B", "12 B", "1000 B", "1.4 MiB", "80"]);
        assert_eq!(row(&view, "Eth/core"), ["Eth/core", "0 B", "0 B", "0 B", "256.0 KiB", "16"]);
        assert_eq!(row(&view, "cb"), ["cb", "1.0 KiB", "1.0 KiB", "1.0 KiB"]);
        assert!(view.contains("allocator: not published"), "{view}");
        let me = std::process::id().to_string();
        let process = row(&view, &me);
        assert_eq!(process[2..], ["1.0 KiB", "1.0 KiB", "1.0 KiB", "cb=1.0 KiB", "open"], "{view}");
    }
}

/// A workload's view has every table (the allocator's too) and keeps to 80 columns.
#[test]
fn a_workloads_view_keeps_to_80_columns() {
    let env = Env::new();
    let args = ["run", "buffers", "--device", "sim:n300:5", "--iterations", "1"];
    let out = env.command(&args).env("COLUMNS", "80").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let view = text.split("memory view").nth(1).unwrap();
    assert!(view.lines().all(|l| l.chars().count() <= 80), "{view}");
    for header in ["POOL", "CORES", "KIND", "ALLOCATOR", "PID"] {
        row(view, header);
    }
    // The persistent kernels' baseline is there; the allocator's DRAM spans 12 banks of 1 GiB.
    let allocator = &view[view.find("ALLOCATOR").unwrap()..];
    assert_eq!(row(allocator, "dram")[1..], ["12.0 GiB", "1.0 GiB", "12.0 GiB", "1"], "{view}");
    assert_eq!(row(allocator, "kernel_region").len(), 5, "{view}");
    assert_eq!(row(view, "system").len(), 4, "{view}");
}
