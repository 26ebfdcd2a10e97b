//! The documented tile interface: NIU registers, request kinds and the counters each moves,
//! broadcasts, completion after the issuing store, soft reset, the wall clock, and the stops
//! for everything the simulator does not model. Expected values come from tt-soc's `tile`
//! module, which cites the documentation.

use std::sync::Arc;

use tt_soc::tile::{self, counter, NocCtrl, NIU0_BASE, NIU1_BASE, WORMHOLE_NIU};
use tt_soc::{Arch, NocCoord};

use super::hart::Stop;
use super::tests::{rv, TestChip, DATA, OTHER_WORKER, WORKER};
use super::tile::Bus;
use crate::SimChip;

pub(super) const L: tile::NiuLayout = WORMHOLE_NIU;
pub(super) const READ: u32 = 0;
pub(super) const ATOMIC: u32 = 1;
pub(super) const WRITE: u32 = 2;

/// Address of field `offset` of initiator `index` of NIU `noc` (Wormhole).
pub(super) fn reg(noc: u32, index: u32, offset: u32) -> u32 {
    let base = if noc == 0 { NIU0_BASE } else { NIU1_BASE };
    base + index * L.initiator_stride + offset
}

pub(super) fn counter_addr(noc: u32, index: u32) -> u32 {
    let base = if noc == 0 { NIU0_BASE } else { NIU1_BASE };
    base + L.counters + 4 * index
}

/// `NOC_*_ADDR_MID` for a unicast to (x, y) on Wormhole (address bits 32-35 zero).
pub(super) fn mid(core: NocCoord) -> u32 {
    u32::from(core.x) << 4 | u32::from(core.y) << 10
}

/// `NOC_*_ADDR_MID` for a broadcast from `start` to `end`.
pub(super) fn rect(start: NocCoord, end: NocCoord) -> u32 {
    mid(end) | u32::from(start.x) << 16 | u32::from(start.y) << 22
}

pub(super) fn bus(t: &TestChip, core: NocCoord, processor: u8) -> Bus {
    let shared = Arc::clone(t.chip.shared());
    let memory = shared.memory().unwrap();
    Bus::new(shared, memory, core, processor)
}

/// Writes the fields of initiator 0 of NoC 0 through `bus`, then `NOC_CMD_CTRL`.
pub(super) fn issue(bus: &mut Bus, fields: &[(u32, u32)]) -> Result<(), (u32, String)> {
    for (offset, value) in fields {
        bus.store(reg(0, 0, *offset), *value, 4)?;
    }
    bus.store(reg(0, 0, L.cmd_ctrl), 1, 4)
}

pub(super) fn counters(t: &TestChip, core: NocCoord, noc: usize) -> Vec<u32> {
    let tile = t.chip.shared().tiles.get(core);
    let state = tile.lock();
    (0..counter::COUNT).map(|i| state.niu[noc].counter(i)).collect()
}

/// RISC-V code storing `value` to `addr` for each pair (t5, t6 scratch).
pub(super) fn stores(pairs: &[(u32, u32)]) -> Vec<u32> {
    let mut code = Vec::new();
    for (addr, value) in pairs {
        code.extend(rv::li(rv::T5, *value));
        code.extend(rv::li(rv::T6, *addr));
        code.push(rv::sw(rv::T5, rv::T6, 0));
    }
    code
}

/// RISC-V code spinning until the word at `addr` equals `value` (a barrier on a counter).
pub(super) fn wait_until(addr: u32, value: u32) -> Vec<u32> {
    let mut code = rv::li(rv::T6, addr).to_vec();
    code.extend(rv::li(rv::T5, value));
    code.push(rv::lw(rv::T2, rv::T6, 0));
    code.push(rv::bne(rv::T2, rv::T5, -4));
    code
}

/// a0 = the word at `addr` of L1, then return.
pub(super) fn load_and_return(addr: u32) -> Vec<u32> {
    let mut code = rv::li(rv::T6, addr).to_vec();
    code.push(rv::lw(rv::A0, rv::T6, 0));
    code.push(rv::ret());
    code
}

pub(super) fn exit_code(stop: Option<Stop>) -> u32 {
    match stop {
        Some(Stop::Exit(code)) => code,
        other => panic!("expected an exit, got {other:?}"),
    }
}

#[test]
fn initiator_fields_read_back_and_cmd_ctrl_reads_zero() {
    let t = TestChip::new();
    let mut b = bus(&t, WORKER, 0);
    let fields = [L.targ_addr_lo, L.targ_addr_mid, L.ret_addr_lo, L.ret_addr_mid, L.ctrl];
    for noc in 0..2 {
        for index in 0..tile::INITIATORS {
            for (n, offset) in fields.iter().enumerate() {
                let value = 0x1000 * (noc + 1) + 0x100 * index + n as u32;
                b.store(reg(noc, index, *offset), value, 4).unwrap();
                assert_eq!(b.load(reg(noc, index, *offset), 4).unwrap(), value);
            }
            // NOC_PACKET_TAG bits 16-31 always read as zero (MemoryMap.md).
            b.store(reg(noc, index, L.packet_tag), 0xFFFF_0C00, 4).unwrap();
            assert_eq!(b.load(reg(noc, index, L.packet_tag), 4).unwrap(), 0x0C00);
            assert_eq!(b.load(reg(noc, index, L.cmd_ctrl), 4).unwrap(), 0);
        }
    }
    // NIU_CFG_0 and the router configuration words keep what software writes.
    b.store(NIU0_BASE + L.config + 4, 0xABCD_0000, 4).unwrap();
    assert_eq!(b.load(NIU0_BASE + L.config + 4, 4).unwrap(), 0xABCD_0000);
    assert_eq!(b.load(NIU0_BASE + 0x54, 4).unwrap(), 0, "combined status: all idle");
}

#[test]
fn node_id_gives_coordinates_in_each_nocs_space() {
    let t = TestChip::new();
    let mut b = bus(&t, WORKER, 0);
    let node0 = b.load(NIU0_BASE + L.node_id, 4).unwrap();
    let node1 = b.load(NIU1_BASE + L.node_id, 4).unwrap();
    // Wormhole's NoC is 10 x 12; NoC #1 counts from the bottom right (Coordinates.md).
    assert_eq!(node0, tile::node_id(0, 1, 1, 10, 12));
    assert_eq!((node0 & 0x3F, node0 >> 6 & 0x3F, node0 >> 28 & 1), (1, 1, 1));
    assert_eq!((node1 & 0x3F, node1 >> 6 & 0x3F, node1 >> 28 & 1), (8, 10, 0));
    // The identification registers repeat after each initiator (MemoryMap.md).
    assert_eq!(b.load(NIU0_BASE + 0xC00 + L.node_id, 4).unwrap(), node0);
}

/// One row per request kind: the fields, and (counter, value after the store, value after
/// the request happened) for every counter the kind moves at the initiator. Counters.md.
#[test]
fn each_request_kind_moves_the_documented_counters() {
    use counter::*;
    let remote = u32::from(OTHER_WORKER.x) << 4 | u32::from(OTHER_WORKER.y) << 10;
    let own = mid(WORKER);
    let resp = NocCtrl::RESP_MARKED.bits();
    let id = 3u32;
    let tag = id << 10;
    let inline = NocCtrl::WR_INLINE.bits();
    type Row = (&'static str, Vec<(u32, u32)>, Vec<(u32, u32, u32)>);
    let rows: Vec<Row> = vec![
        (
            "read 20000 bytes (three packets, 625 flits)",
            vec![
                (L.targ_addr_lo, DATA),
                (L.targ_addr_mid, remote),
                (L.ret_addr_lo, DATA + 0x10000),
                (L.ret_addr_mid, own),
                (L.at_len_be, 20000),
                (L.packet_tag, tag),
                (L.ctrl, READ),
            ],
            vec![
                (mst_reqs_outstanding(id), 3, 0),
                (MST_CMD_ACCEPTED, 0, 3),
                (MST_RD_REQ_STARTED, 0, 3),
                (MST_RD_REQ_SENT, 0, 3),
                (MST_RD_RESP_RECEIVED, 0, 3),
                (MST_RD_DATA_WORD_RECEIVED, 0, 625),
            ],
        ),
        (
            "posted write of 64 bytes",
            vec![
                (L.targ_addr_lo, DATA),
                (L.targ_addr_mid, own),
                (L.ret_addr_lo, DATA),
                (L.ret_addr_mid, remote),
                (L.at_len_be, 64),
                (L.packet_tag, tag),
                (L.ctrl, WRITE),
            ],
            vec![
                (mst_reqs_outstanding(id), 0, 0),
                (mst_write_reqs_outgoing(id), 1, 0),
                (MST_CMD_ACCEPTED, 0, 1),
                (MST_POSTED_WR_REQ_STARTED, 0, 1),
                (MST_POSTED_WR_REQ_SENT, 0, 1),
                (MST_POSTED_WR_DATA_WORD_SENT, 0, 2),
                (MST_WR_ACK_RECEIVED, 0, 0),
            ],
        ),
        (
            "non-posted write of 64 bytes",
            vec![
                (L.targ_addr_lo, DATA),
                (L.targ_addr_mid, own),
                (L.ret_addr_lo, DATA),
                (L.ret_addr_mid, remote),
                (L.at_len_be, 64),
                (L.packet_tag, tag),
                (L.ctrl, WRITE | resp),
            ],
            vec![
                (mst_reqs_outstanding(id), 1, 0),
                (mst_write_reqs_outgoing(id), 1, 0),
                (MST_NONPOSTED_WR_REQ_STARTED, 0, 1),
                (MST_NONPOSTED_WR_REQ_SENT, 0, 1),
                (MST_NONPOSTED_WR_DATA_WORD_SENT, 0, 2),
                (MST_WR_ACK_RECEIVED, 0, 1),
            ],
        ),
        (
            "non-posted inline write",
            vec![
                (L.targ_addr_lo, DATA),
                (L.targ_addr_mid, remote),
                (L.at_data, 7),
                (L.at_len_be, 0xF),
                (L.packet_tag, tag),
                (L.ctrl, WRITE | inline | resp),
            ],
            vec![
                (mst_reqs_outstanding(id), 1, 0),
                (mst_write_reqs_outgoing(id), 0, 0),
                (MST_NONPOSTED_WR_REQ_STARTED, 0, 1),
                (MST_NONPOSTED_WR_REQ_SENT, 0, 1),
                (MST_WR_ACK_RECEIVED, 0, 1),
            ],
        ),
        (
            "non-posted atomic increment",
            vec![
                (L.targ_addr_lo, DATA),
                (L.targ_addr_mid, remote),
                (L.ret_addr_lo, DATA + 0x100),
                (L.ret_addr_mid, own),
                (L.at_data, 1),
                (L.at_len_be, tile::ATOMIC_INCREMENT << 12 | 31 << 2),
                (L.packet_tag, tag),
                (L.ctrl, ATOMIC | resp),
            ],
            vec![
                (mst_reqs_outstanding(id), 1, 0),
                (MST_NONPOSTED_ATOMIC_STARTED, 0, 1),
                (MST_NONPOSTED_ATOMIC_SENT, 0, 1),
                (MST_ATOMIC_RESP_RECEIVED, 0, 1),
            ],
        ),
        (
            "posted atomic increment",
            vec![
                (L.targ_addr_lo, DATA),
                (L.targ_addr_mid, remote),
                (L.at_data, 1),
                (L.at_len_be, tile::ATOMIC_INCREMENT << 12 | 31 << 2),
                (L.packet_tag, tag),
                (L.ctrl, ATOMIC),
            ],
            vec![
                (mst_reqs_outstanding(id), 0, 0),
                (MST_POSTED_ATOMIC_SENT, 0, 1),
                (MST_ATOMIC_RESP_RECEIVED, 0, 0),
            ],
        ),
    ];
    for (name, fields, expected) in rows {
        let t = TestChip::new();
        let mut b = bus(&t, WORKER, 0);
        issue(&mut b, &fields).unwrap();
        let issued = counters(&t, WORKER, 0);
        b.flush().unwrap();
        let done = counters(&t, WORKER, 0);
        for (index, after_store, after_done) in expected {
            assert_eq!(issued[index as usize], after_store, "{name}: counter {index} at issue");
            assert_eq!(done[index as usize], after_done, "{name}: counter {index} when done");
        }
        assert!(done[MST_CMD_ACCEPTED as usize] > 0, "{name}");
        // The receiving tile counts what arrived.
        let slave = counters(&t, OTHER_WORKER, 0);
        let arrived: u32 =
            (SLV_ATOMIC_RESP_SENT..=SLV_POSTED_WR_REQ_STARTED).map(|i| slave[i as usize]).sum();
        assert!(arrived > 0, "{name}: the target's slave counters moved");
    }
}

#[test]
fn clear_register_zeroes_outstanding_counters_by_transaction_id() {
    let t = TestChip::new();
    let mut b = bus(&t, WORKER, 0);
    let fields = [
        (L.targ_addr_lo, DATA),
        (L.targ_addr_mid, mid(OTHER_WORKER)),
        (L.ret_addr_lo, DATA),
        (L.ret_addr_mid, mid(WORKER)),
        (L.at_len_be, 4),
        (L.ctrl, READ),
    ];
    for id in [1u32, 2] {
        let mut with_id = fields.to_vec();
        with_id.push((L.packet_tag, id << 10));
        issue(&mut b, &with_id).unwrap();
    }
    // Read the raw state: a load of a counter register would let the requests happen.
    let outstanding = |id| counters(&t, WORKER, 0)[counter::mst_reqs_outstanding(id) as usize];
    assert_eq!((outstanding(1), outstanding(2)), (1, 1));
    b.store(NIU0_BASE + L.clear_outstanding, 1 << 2, 4).unwrap();
    assert_eq!((outstanding(1), outstanding(2)), (1, 0));
}

/// One kernel per request kind, each checking its data moved.
#[test]
fn kernels_read_write_inline_and_atomics_move_data() {
    let t = TestChip::new();
    t.write(OTHER_WORKER, u64::from(DATA), &[0x1111_1111, 0x2222_2222, 0x3333_3333, 0x4444_4444]);
    t.write(WORKER, u64::from(DATA + 0x100), &[0xAAAA_0001, 0xAAAA_0002]);
    let done = counter_addr(0, counter::MST_RD_RESP_RECEIVED);
    // Read 16 bytes of the other core into DATA + 0x40, wait, return the third word.
    let mut read = stores(&[
        (reg(0, 0, L.targ_addr_lo), DATA),
        (reg(0, 0, L.targ_addr_mid), mid(OTHER_WORKER)),
        (reg(0, 0, L.ret_addr_lo), DATA + 0x40),
        (reg(0, 0, L.ret_addr_mid), mid(WORKER)),
        (reg(0, 0, L.at_len_be), 16),
        (reg(0, 0, L.ctrl), READ),
        (reg(0, 0, L.cmd_ctrl), 1),
    ]);
    read.extend(wait_until(done, 1));
    read.extend(load_and_return(DATA + 0x48));
    let (_, stop) = t.run_hart(&read, 10_000);
    assert_eq!(exit_code(stop), 0x3333_3333);

    // Write 8 bytes to the other core, non-posted, wait for the acknowledgement.
    let acked = counter_addr(0, counter::MST_WR_ACK_RECEIVED);
    let mut write = stores(&[
        (reg(0, 1, L.targ_addr_lo), DATA + 0x100),
        (reg(0, 1, L.targ_addr_mid), mid(WORKER)),
        (reg(0, 1, L.ret_addr_lo), DATA + 0x200),
        (reg(0, 1, L.ret_addr_mid), mid(OTHER_WORKER)),
        (reg(0, 1, L.at_len_be), 8),
        (reg(0, 1, L.ctrl), WRITE | NocCtrl::RESP_MARKED.bits()),
        (reg(0, 1, L.cmd_ctrl), 1),
    ]);
    write.extend(wait_until(acked, 1));
    write.push(rv::ret());
    let (_, stop) = t.run_hart(&write, 10_000);
    exit_code(stop);
    assert_eq!(t.read(OTHER_WORKER, u64::from(DATA + 0x204)), 0xAAAA_0002);

    // Inline write of 0xCAFEF00D to word 1 of a block (byte enables 4-7).
    let inline = stores(&[
        (reg(0, 2, L.targ_addr_lo), DATA + 0x300),
        (reg(0, 2, L.targ_addr_mid), mid(OTHER_WORKER)),
        (reg(0, 2, L.at_data), 0xCAFE_F00D),
        (reg(0, 2, L.at_len_be), 0xF0),
        (reg(0, 2, L.ctrl), WRITE | NocCtrl::WR_INLINE.bits()),
        (reg(0, 2, L.cmd_ctrl), 1),
    ]);
    let mut code = inline.clone();
    code.push(rv::ret());
    t.write(OTHER_WORKER, u64::from(DATA + 0x300), &[5, 6, 7, 8]);
    let (_, stop) = t.run_hart(&code, 10_000);
    exit_code(stop);
    let block: Vec<u32> =
        (0..4).map(|i| t.read(OTHER_WORKER, u64::from(DATA + 0x300 + 4 * i))).collect();
    assert_eq!(block, [5, 0xCAFE_F00D, 7, 8]);

    // Atomic increment by 5 with the old value returned, then compare-and-swap 10 -> 3.
    let responded = counter_addr(0, counter::MST_ATOMIC_RESP_RECEIVED);
    t.write(OTHER_WORKER, u64::from(DATA + 0x404), &[5]);
    let atomic = |at_len_be: u32, data: u32, expect: u32| {
        let mut code = stores(&[
            (reg(0, 3, L.targ_addr_lo), DATA + 0x404),
            (reg(0, 3, L.targ_addr_mid), mid(OTHER_WORKER)),
            (reg(0, 3, L.ret_addr_lo), DATA + 0x500),
            (reg(0, 3, L.ret_addr_mid), mid(WORKER)),
            (reg(0, 3, L.at_data), data),
            (reg(0, 3, L.at_len_be), at_len_be),
            (reg(0, 3, L.ctrl), ATOMIC | NocCtrl::RESP_MARKED.bits()),
            (reg(0, 3, L.cmd_ctrl), 1),
        ]);
        code.extend(wait_until(responded, expect));
        code.extend(load_and_return(DATA + 0x500));
        code
    };
    // Ofs = 1 selects word 1 of the 16-byte block, the word at DATA + 0x404.
    let increment = tile::ATOMIC_INCREMENT << 12 | 31 << 2 | 1;
    let (_, stop) = t.run_hart(&atomic(increment, 5, 1), 10_000);
    assert_eq!(exit_code(stop), 5, "increment returns the old value");
    assert_eq!(t.read(OTHER_WORKER, u64::from(DATA + 0x404)), 10);
    let cas = tile::ATOMIC_COMPARE_AND_SWAP << 12 | 3 << 6 | 10 << 2 | 1;
    let (_, stop) = t.run_hart(&atomic(cas, 0, 2), 10_000);
    assert_eq!(exit_code(stop), 10, "compare-and-swap returns the old value");
    assert_eq!(t.read(OTHER_WORKER, u64::from(DATA + 0x404)), 3);
    let (_, stop) = t.run_hart(&atomic(cas, 0, 3), 10_000);
    assert_eq!(exit_code(stop), 3, "a failed compare leaves the word");
    assert_eq!(t.read(OTHER_WORKER, u64::from(DATA + 0x404)), 3);
}

#[test]
fn increment_wraps_within_int_width() {
    let t = TestChip::new();
    t.write(OTHER_WORKER, u64::from(DATA), &[0xABCD_00FF]);
    let mut b = bus(&t, WORKER, 0);
    // IntWidth 7: an 8-bit increment; the bits above stay (Atomics.md).
    let fields = [
        (L.targ_addr_lo, DATA),
        (L.targ_addr_mid, mid(OTHER_WORKER)),
        (L.at_data, 1),
        (L.at_len_be, tile::ATOMIC_INCREMENT << 12 | 7 << 2),
        (L.ctrl, ATOMIC),
    ];
    issue(&mut b, &fields).unwrap();
    b.flush().unwrap();
    assert_eq!(t.read(OTHER_WORKER, u64::from(DATA)), 0xABCD_0000);
}

#[test]
fn a_request_completes_after_its_store_so_a_missing_barrier_reads_stale_data() {
    let t = TestChip::new();
    t.write(OTHER_WORKER, u64::from(DATA), &[0x5EED]);
    t.write(WORKER, u64::from(DATA), &[0x01D]);
    let issue_read = stores(&[
        (reg(0, 0, L.targ_addr_lo), DATA),
        (reg(0, 0, L.targ_addr_mid), mid(OTHER_WORKER)),
        (reg(0, 0, L.ret_addr_lo), DATA),
        (reg(0, 0, L.ret_addr_mid), mid(WORKER)),
        (reg(0, 0, L.at_len_be), 4),
        (reg(0, 0, L.ctrl), READ),
        (reg(0, 0, L.cmd_ctrl), 1),
    ]);
    // Without a barrier: the load right after the store sees the old word.
    let mut skip = issue_read.clone();
    skip.extend(load_and_return(DATA));
    let (_, stop) = t.run_hart(&skip, 10_000);
    assert_eq!(exit_code(stop), 0x01D, "no barrier: stale data");
    // The request still happened by the time the core stopped.
    assert_eq!(t.read(WORKER, u64::from(DATA)), 0x5EED);

    t.write(WORKER, u64::from(DATA), &[0x01D]);
    let mut wait = issue_read;
    wait.extend(wait_until(counter_addr(0, counter::MST_RD_RESP_RECEIVED), 2));
    wait.extend(load_and_return(DATA));
    let (_, stop) = t.run_hart(&wait, 10_000);
    assert_eq!(exit_code(stop), 0x5EED, "with a barrier: the new data");
}

#[test]
fn broadcast_reaches_the_tensix_tiles_of_the_rectangle() {
    let t = TestChip::new();
    t.write(WORKER, u64::from(DATA), &[0xB0AD_CA57]);
    // Columns 4-6 of rows 1-2: column 5 holds DRAM tiles, which do not take broadcasts.
    let (start, end) = (NocCoord::new(4, 1), NocCoord::new(6, 2));
    let send = |include_self: bool| {
        let mut b = bus(&t, NocCoord::new(4, 1), 0);
        let ctrl = WRITE
            | NocCtrl::BRCST_PACKET.bits()
            | if include_self { NocCtrl::BRCST_SRC_INCLUDE.bits() } else { 0 };
        t.write(NocCoord::new(4, 1), u64::from(DATA), &[0xB0AD_CA57]);
        issue(
            &mut b,
            &[
                (L.targ_addr_lo, DATA),
                (L.targ_addr_mid, mid(NocCoord::new(4, 1))),
                (L.ret_addr_lo, DATA + 0x1000),
                (L.ret_addr_mid, rect(start, end)),
                (L.at_len_be, 4),
                (L.ctrl, ctrl),
            ],
        )
        .unwrap();
        b.flush().unwrap();
    };
    send(false);
    let got = |core: NocCoord| t.read(core, u64::from(DATA + 0x1000));
    for core in [NocCoord::new(4, 2), NocCoord::new(6, 1), NocCoord::new(6, 2)] {
        assert_eq!(got(core), 0xB0AD_CA57, "{core}");
    }
    assert_eq!(got(NocCoord::new(4, 1)), 0, "the sender is left out without SRC_INCLUDE");
    assert_eq!(got(NocCoord::new(7, 1)), 0, "outside the rectangle");
    assert_eq!(
        counters(&t, NocCoord::new(6, 2), 0)[counter::SLV_POSTED_WR_REQ_RECEIVED as usize],
        1
    );
    send(true);
    assert_eq!(got(NocCoord::new(4, 1)), 0xB0AD_CA57, "SRC_INCLUDE adds the sender");
}

#[test]
fn noc1_coordinates_count_from_the_bottom_right() {
    let t = TestChip::new();
    t.write(WORKER, u64::from(DATA), &[0x0000_0C1A]);
    let mut b = bus(&t, WORKER, 1);
    // OTHER_WORKER (2, 1) on NoC #0 is (10 - 1 - 2, 12 - 1 - 1) = (7, 10) on NoC #1.
    let noc1 = |core: NocCoord| u32::from(9 - core.x) << 4 | u32::from(11 - core.y) << 10;
    for (offset, value) in [
        (L.targ_addr_lo, DATA),
        (L.targ_addr_mid, noc1(WORKER)),
        (L.ret_addr_lo, DATA + 0x800),
        (L.ret_addr_mid, noc1(OTHER_WORKER)),
        (L.at_len_be, 4),
        (L.ctrl, WRITE),
    ] {
        b.store(reg(1, 0, offset), value, 4).unwrap();
    }
    b.store(reg(1, 0, L.cmd_ctrl), 1, 4).unwrap();
    b.flush().unwrap();
    assert_eq!(t.read(OTHER_WORKER, u64::from(DATA + 0x800)), 0x0C1A);
    assert_eq!(counters(&t, WORKER, 1)[counter::MST_POSTED_WR_REQ_SENT as usize], 1);
    assert_eq!(counters(&t, WORKER, 0)[counter::MST_POSTED_WR_REQ_SENT as usize], 0);
}

#[test]
fn blackhole_initiators_keep_coordinates_in_the_hi_register() {
    let dir = tempfile::tempdir().unwrap();
    let chip = SimChip::open_in(dir.path(), Arch::Blackhole, 0).unwrap();
    let shared = Arc::clone(chip.shared());
    let (me, other) = (NocCoord::new(1, 2), NocCoord::new(2, 2));
    let memory = shared.memory().unwrap();
    let (offset, _) = shared.layout.memory_of(me).unwrap();
    let (other_offset, _) = shared.layout.memory_of(other).unwrap();
    assert!(memory.write_bytes(offset + u64::from(DATA), &0xB1AC_401Eu32.to_le_bytes()));
    let mut b = Bus::new(Arc::clone(&shared), Arc::clone(&memory), me, 0);
    let bh = tile::BLACKHOLE_NIU;
    let xy = |c: NocCoord| u32::from(c.x) | u32::from(c.y) << 6;
    // Initiator 1, at NOC_CMD_BUF_OFFSET 0x800.
    let at = |field: u32| NIU0_BASE + bh.initiator_stride + field;
    for (field, value) in [
        (bh.targ_addr_lo, DATA),
        (bh.targ_addr_mid, 0),
        (bh.targ_addr_hi.unwrap(), xy(me)),
        (bh.ret_addr_lo, DATA),
        (bh.ret_addr_mid, 0),
        (bh.ret_addr_hi.unwrap(), xy(other)),
        (bh.at_len_be, 4),
        (bh.ctrl, WRITE),
        (bh.cmd_ctrl, 1),
    ] {
        b.store(at(field), value, 4).unwrap();
    }
    b.flush().unwrap();
    let mut word = [0u8; 4];
    assert!(memory.read_bytes(other_offset + u64::from(DATA), &mut word));
    assert_eq!(u32::from_le_bytes(word), 0xB1AC_401E);
}

#[test]
fn sixty_four_cores_increment_one_semaphore() {
    let t = TestChip::new();
    let owner = WORKER;
    let semaphore = DATA + 0x2000;
    t.write(owner, u64::from(semaphore), &[0]);
    let cores: Vec<NocCoord> = t.chip.soc().tensix_cores().into_iter().take(64).collect();
    assert_eq!(cores.len(), 64);
    // Every core's RISCV B: a posted atomic increment of the owner's semaphore, then wait.
    let mut increment = stores(&[
        (reg(0, 0, L.targ_addr_lo), semaphore),
        (reg(0, 0, L.targ_addr_mid), mid(owner)),
        (reg(0, 0, L.at_data), 1),
        (reg(0, 0, L.at_len_be), tile::ATOMIC_INCREMENT << 12 | 31 << 2),
        (reg(0, 0, L.ctrl), ATOMIC),
        (reg(0, 0, L.cmd_ctrl), 1),
    ]);
    increment.push(rv::jal(0, 0));
    // The owner's RISCV NC waits for all 64, then reports the count at DATA + 0x3000.
    let mut wait = wait_until(semaphore, 64);
    wait.extend(rv::li(rv::T0, DATA + 0x3000));
    wait.extend([rv::sw(rv::T2, rv::T0, 0), rv::jal(0, 0)]);
    t.start(owner, 1, &wait);
    for core in &cores {
        t.start(*core, 0, &increment);
    }
    t.wait_for_word(owner, u64::from(DATA + 0x3000), 64);
    let owner_counters = counters(&t, owner, 0);
    assert_eq!(owner_counters[counter::SLV_POSTED_ATOMIC_RECEIVED as usize], 64);
}
