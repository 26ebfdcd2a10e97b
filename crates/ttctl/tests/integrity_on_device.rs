//! Integrity errors of a refused placement show on the device: in `mem`'s device block, in
//! `mem --json`'s device and in `/metrics`, not only on the process that made them.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{http_get, start_serve, Env};
use tt_accounting::{BankSpan, MemKind};
use tt_soc::{Arch, ChipUid};
use tt_track::{DeviceCapacity, DeviceInfo, Tracker};

#[test]
fn a_placement_with_another_trackers_slot_is_an_error_of_the_device() {
    let env = Env::new();
    let issuer = Tracker::with_ledger_dir(env.ledger.path()).unwrap();
    let other = Tracker::with_ledger_dir(env.ledger.path()).unwrap();
    let capacity = DeviceCapacity { dram_bytes: 1 << 30, dram_banks: 8, ..Default::default() };
    let slot = issuer
        .register_device(&DeviceInfo::new(ChipUid(0xF0), Arch::WormholeB0, capacity))
        .unwrap();
    let spans = [BankSpan { bank: 0, addr: 0, size: 4096 }];
    let here = std::panic::Location::caller();
    assert!(other.record_place(slot, MemKind::Dram, &spans, "stray", here).is_err());

    let out = env.ttctl(&["mem"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // The device block's line, not only the process's.
    assert!(text.contains("processes 1  integrity errors 1"), "{text}");

    let out = env.ttctl(&["mem", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let device = &v["devices"][0];
    assert_eq!(device["integrity_errors"], 1, "{v}");
    assert_eq!(device["integrity"]["foreign_placements"], 1, "{v}");

    let (_serve, addr) = start_serve(&env);
    let (_, body) = http_get(&addr, "/metrics").unwrap();
    let line = body
        .lines()
        .find(|l| {
            l.starts_with("tt_device_integrity_errors_total{")
                && l.contains("error=\"foreign_placement\"")
        })
        .unwrap_or_default();
    assert!(line.ends_with(" 1"), "{body}");
}
