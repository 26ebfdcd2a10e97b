//! The tile interface's edges: requests and registers the simulator does not model stop
//! the core with a clear message, and the tile control registers (soft reset, wall clock)
//! behave as SoftReset.md and DebugTimestamper.md say.

use std::time::Duration;

use tt_soc::kernel_abi::cause;
use tt_soc::tile::{self, NocCtrl, SoftReset};
use tt_soc::NocCoord;

use super::tests::{assert_trap, rv, TestChip, CODE, DATA, OTHER_WORKER, WORKER};
use super::tests_niu::{bus, issue, mid, ATOMIC, L, READ, WRITE};

#[test]
fn requests_the_simulator_does_not_model_stop_the_core() {
    let base = [
        (L.targ_addr_lo, DATA),
        (L.targ_addr_mid, mid(OTHER_WORKER)),
        (L.ret_addr_lo, DATA),
        (L.ret_addr_mid, mid(WORKER)),
        (L.at_len_be, 4),
    ];
    let brcst = NocCtrl::BRCST_PACKET.bits();
    let resp = NocCtrl::RESP_MARKED.bits();
    type Case = (&'static str, Vec<(u32, u32)>, &'static str);
    let cases: Vec<Case> = vec![
        ("reserved type", vec![(L.ctrl, 3)], "reserved"),
        ("broadcast read", vec![(L.ctrl, READ | brcst)], "cannot be a broadcast"),
        ("non-posted broadcast", vec![(L.ctrl, WRITE | brcst | resp)], "non-posted broadcast"),
        ("atomic swap", vec![(L.at_len_be, 3 << 12), (L.ctrl, ATOMIC)], "atomic opcode 3"),
        (
            "atomic on DRAM",
            vec![
                (L.targ_addr_mid, mid(NocCoord::new(0, 0))),
                (L.at_len_be, 1 << 12),
                (L.ctrl, ATOMIC),
            ],
            "DRAM",
        ),
        ("MMIO target", vec![(L.targ_addr_lo, 0xFFB1_21B0), (L.ctrl, READ)], "MMIO"),
        ("overlay delivery", vec![(L.packet_tag, 1 << 6), (L.ctrl, READ)], "overlay"),
        (
            "unaligned split",
            vec![(L.targ_addr_lo, DATA + 4), (L.at_len_be, 9000), (L.ctrl, READ)],
            "16-byte",
        ),
        ("outside the grid", vec![(L.targ_addr_mid, 12 << 4), (L.ctrl, READ)], "outside"),
        (
            "router-only tile",
            vec![(L.targ_addr_mid, mid(NocCoord::new(0, 2))), (L.ctrl, READ)],
            "no memory",
        ),
    ];
    for (name, extra, expect) in cases {
        let t = TestChip::new();
        let mut b = bus(&t, WORKER, 0);
        let mut fields = base.to_vec();
        fields.extend(extra);
        let (code, message) = issue(&mut b, &fields).expect_err(name);
        assert_eq!(code, cause::NOC_ERROR, "{name}: {message}");
        assert!(message.contains(expect) && message.contains("(1, 1)"), "{name}: {message}");
    }
}

#[test]
fn unmodelled_registers_stop_the_core_with_address_core_processor_and_pc() {
    // (address, store?, expected cause, text)
    let cases = [
        (0xFFB1_1000u32, false, cause::UNMODELLED_REGISTER, "unmodelled register 0xffb11000"),
        (0xFFB1_3000, true, cause::UNMODELLED_REGISTER, "unmodelled register 0xffb13000"),
        (0xFFB1_2000, false, cause::UNMODELLED_REGISTER, "unmodelled register 0xffb12000"),
        (0xFFB2_0300, false, cause::UNMODELLED_REGISTER, "unmodelled register 0xffb20300"),
        (0xFFB2_0200, true, cause::UNMODELLED_REGISTER, "read-only"),
        (0xFFB2_0050, false, cause::UNMODELLED_REGISTER, "unmodelled register 0xffb20050"),
        (0xFFB4_0000, false, cause::UNMODELLED_REGISTER, "unmodelled register 0xffb40000"),
        (0xFFB0_1004, false, cause::UNMODELLED_REGISTER, "unmodelled register 0xffb01004"),
        (0xFFE4_0000, true, cause::COPROCESSOR_NOT_MODELLED, "Tensix coprocessor not modelled"),
        (0xFFE0_0000, false, cause::COPROCESSOR_NOT_MODELLED, "Tensix coprocessor not modelled"),
        (0xFFEF_0000, true, cause::COPROCESSOR_NOT_MODELLED, "Tensix coprocessor not modelled"),
    ];
    for (addr, is_store, expected, text) in cases {
        let t = TestChip::new();
        let mut code = rv::li(rv::T6, addr).to_vec();
        code.push(if is_store { rv::sw(rv::ZERO, rv::T6, 0) } else { rv::lw(rv::A0, rv::T6, 0) });
        code.push(rv::ret());
        let (_, stop) = t.run_hart(&code, 100);
        let detail = assert_trap(stop, expected, CODE + 8);
        assert!(detail.contains(text), "{addr:#x}: {detail}");
        assert!(
            detail.contains("core (1, 1)") && detail.contains("RISCV B (BRISC)"),
            "{addr:#x}: {detail}"
        );
    }
}

#[test]
fn soft_reset_is_shared_with_the_host_and_cores_cannot_start_cores() {
    let t = TestChip::new();
    let soft_reset = tile::TILE_CONTROL_BASE + tile::SOFT_RESET_OFFSET;
    // RISCV B, released by the host, sees itself out of reset and the others held.
    let mut code = rv::li(rv::T6, soft_reset).to_vec();
    code.extend(rv::li(rv::T0, DATA));
    code.extend([rv::lw(rv::A0, rv::T6, 0), rv::sw(rv::A0, rv::T0, 0), rv::jal(0, 0)]);
    t.start(WORKER, 0, &code);
    let running = (SoftReset::ALL_RISCV - SoftReset::RISCV_B).bits();
    t.wait_for_word(WORKER, u64::from(DATA), running);
    let held = SoftReset::ALL_RISCV.bits();

    // Another core may not move RISC-V cores in or out of reset, but keeps other bits.
    let mut b = bus(&t, WORKER, 2);
    let (code, message) = b.store(soft_reset, held, 4).unwrap_err();
    assert_eq!(code, cause::UNMODELLED_REGISTER);
    assert!(message.contains("soft reset"), "{message}");
    t.write(WORKER, u64::from(soft_reset), &[held]);
    t.chip.apply_soft_reset();
    // Coprocessor units' bits are kept; bits 23 and up have no effect (SoftReset.md).
    b.store(soft_reset, held | 0x7FF | 0xFF00_0000, 4).unwrap();
    assert_eq!(b.load(soft_reset, 4).unwrap(), held | 0x7FF);
    let (code, message) = b.store(soft_reset, 0, 4).unwrap_err();
    assert_eq!(code, cause::UNMODELLED_REGISTER);
    assert!(message.contains("soft reset"), "{message}");
    // The register is one word of the chip file: the host reads it through a TLB window
    // over the tile's register space, as on the card.
    assert_eq!(t.read(WORKER, u64::from(soft_reset)), held | 0x7FF);
    t.write(WORKER, u64::from(soft_reset), &[held]);
    assert_eq!(b.load(soft_reset, 4).unwrap(), held);
}

#[test]
fn wall_clock_latches_its_high_half_on_a_low_read() {
    let t = TestChip::new();
    let mut b = bus(&t, WORKER, 0);
    let at = |offset| tile::TILE_CONTROL_BASE + offset;
    let first = b.load(at(tile::WALL_CLOCK_L_OFFSET), 4).unwrap();
    let high = b.load(at(tile::WALL_CLOCK_H_OFFSET), 4).unwrap();
    std::thread::sleep(Duration::from_millis(2));
    let second = b.load(at(tile::WALL_CLOCK_L_OFFSET), 4).unwrap();
    // One tick per nanosecond: 2 ms is at least 2,000,000 ticks.
    let elapsed = (u64::from(b.load(at(tile::WALL_CLOCK_H_OFFSET), 4).unwrap()) << 32
        | u64::from(second))
        - (u64::from(high) << 32 | u64::from(first));
    assert!(elapsed >= 2_000_000, "{elapsed}");
    assert_eq!(b.load(at(tile::WALL_CLOCK_L_PLUS_4_OFFSET), 4).unwrap(), high);
}
