//! Only the session allocates: a second allocator, user SYSTEM/RESERVED placements and raw
//! records through the session's slot, each refused (or held against close) and counted.

use std::panic::Location;
use std::sync::Arc;

use tt_accounting::{BankSpan, BankType, MemKind};
use tt_alloc::{AllocError, Allocator, AllocatorConfig, BufferRequest, Layout, Policy};
use tt_track::{IntegrityCounts, TrackError};

use super::Fixture;
use crate::Runtime;

fn integrity(fixture: &Fixture, rt: &Runtime) -> IntegrityCounts {
    let view = fixture.tracker.snapshot().unwrap();
    view.device(rt.device().chip_uid()).unwrap().integrity
}

#[test]
fn a_second_allocator_on_a_chip_the_session_holds_is_refused_and_counted() {
    let fixture = Fixture::new();
    let rt = fixture.runtime("sim:wormhole_b0:40");
    let uid = rt.device().chip_uid();
    let tracker = Arc::new(fixture.tracker.clone());
    let error = Allocator::new(rt.device().soc(), uid, AllocatorConfig::default(), tracker)
        .expect_err("the session owns the chip's allocator");
    assert!(matches!(error, AllocError::AllocatorRefused { .. }), "{error}");
    assert!(error.to_string().contains("Runtime::allocator()"), "{error}");
    assert_eq!(integrity(&fixture, &rt).session_refusals, 1);
    rt.close().unwrap();
}

#[test]
fn user_code_cannot_place_system_or_reserved_memory() {
    let fixture = Fixture::new();
    let rt = fixture.runtime("sim:wormhole_b0:41");
    let before = fixture.used(&rt);
    let cores = rt.worker_cores();
    let request = BufferRequest {
        bank_type: BankType::KernelRegion,
        kind: MemKind::System,
        layout: Layout::Sharded { cores: &cores[..1], shard_size: 8_192_000 / 64 },
        policy: Policy::default(),
        owner: "claims to be the system",
    };
    let error = rt.allocator().allocate(&request).expect_err("SYSTEM is the session's");
    assert!(matches!(error, AllocError::TrackingRefused { .. }), "{error}");
    assert!(error.to_string().contains("SYSTEM and RESERVED are placed only"), "{error}");
    let spans = [BankSpan { bank: 0, addr: 0, size: 4096 }];
    let raw = rt.tracker().record_place(
        rt.slot(),
        MemKind::Reserved,
        &spans,
        "claims to be reserved",
        Location::caller(),
    );
    assert!(matches!(raw, Err(TrackError::SessionOnlyKind { kind: MemKind::Reserved, .. })));
    // Nothing was placed (the allocator undid its range) and both refusals are counted.
    assert_eq!(fixture.used(&rt), before);
    assert_eq!(rt.live_handles().allocations, vec![]);
    assert_eq!(integrity(&fixture, &rt).session_refusals, 2);
    rt.close().unwrap();
}

#[test]
fn close_refuses_while_a_raw_record_through_the_sessions_slot_lives() {
    let fixture = Fixture::new();
    let rt = fixture.runtime("sim:wormhole_b0:42");
    let spans = [BankSpan { bank: 0, addr: 0, size: 1 << 20 }];
    let raw = rt
        .tracker()
        .record_place(rt.slot(), MemKind::Dram, &spans, "raw 1 MiB", Location::caller())
        .unwrap();
    let error = rt.close().expect_err("the raw record is the session's");
    assert_eq!(error.live.raw_records, 1);
    assert!(error.to_string().contains("1 record(s) made through the session's tracker slot"));
    let rt = error.into_runtime();
    drop(raw);
    assert_eq!(rt.live_handles().total(), 0);
    rt.close().unwrap();
}
