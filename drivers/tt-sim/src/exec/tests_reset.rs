//! Cores start only by leaving soft reset, at the documented reset pc with every register
//! zero (SoftReset.md), and stop when put back; what stops a core on its own is reported by
//! `SimChip::core_state`.

use std::time::{Duration, Instant};

use tt_soc::kernel_abi::cause;
use tt_soc::tile::{self, RiscV, SoftReset};
use tt_soc::{Arch, NocCoord};

use super::reset::CoreState;
use super::tests::{rv, TestChip, DATA, OTHER_WORKER, WORKER};
use crate::SimChip;

const SOFT_RESET: u64 = (tile::TILE_CONTROL_BASE + tile::SOFT_RESET_OFFSET) as u64;

/// Code that stores `marker` at `DATA + 4 * slot` and the registers sp, ra and a0 after it,
/// then spins.
fn mark(slot: u32, marker: u32) -> Vec<u32> {
    let mut code = rv::li(rv::T0, DATA + 16 * slot).to_vec();
    code.extend(rv::li(rv::T1, marker));
    code.extend([
        rv::sw(rv::T1, rv::T0, 0),
        rv::sw(rv::SP, rv::T0, 4),
        rv::sw(rv::RA, rv::T0, 8),
        rv::sw(rv::A0, rv::T0, 12),
        rv::jal(rv::ZERO, 0),
    ]);
    code
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn set_reset(t: &TestChip, core: NocCoord, bits: SoftReset) {
    t.write(core, SOFT_RESET, &[bits.bits()]);
}

#[test]
fn each_core_starts_at_its_documented_reset_pc_with_zeroed_registers() {
    let t = TestChip::new();
    for (index, riscv) in RiscV::ALL.iter().enumerate() {
        let pc = riscv.reset_pc(Arch::WormholeB0).unwrap();
        t.write(WORKER, u64::from(pc), &mark(index as u32, 0xC0DE_0000 + index as u32));
    }
    // Nothing runs while every core is held.
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(t.read(WORKER, u64::from(DATA)), 0, "no core starts without leaving reset");
    assert_eq!(t.chip.core_state(WORKER, 0), CoreState::InReset);
    set_reset(&t, WORKER, SoftReset::empty());
    for index in 0..5u32 {
        let at = u64::from(DATA + 16 * index);
        wait_for("every core's marker", || t.read(WORKER, at) == 0xC0DE_0000 + index);
        assert_eq!(
            [t.read(WORKER, at + 4), t.read(WORKER, at + 8), t.read(WORKER, at + 12)],
            [0, 0, 0],
            "sp, ra and a0 start at zero"
        );
        assert_eq!(t.chip.core_state(WORKER, index as u8), CoreState::Running);
    }
    assert_eq!(t.read(OTHER_WORKER, u64::from(DATA)), 0, "other tiles stay held");
}

#[test]
fn reset_stops_a_core_and_release_restarts_it_from_the_reset_pc() {
    let t = TestChip::new();
    t.write(WORKER, 0, &mark(0, 0xB00B));
    let only_b = SoftReset::ALL_RISCV - SoftReset::RISCV_B;
    set_reset(&t, WORKER, only_b);
    wait_for("RISCV B's marker", || t.read(WORKER, u64::from(DATA)) == 0xB00B);
    set_reset(&t, WORKER, SoftReset::ALL_RISCV);
    wait_for("RISCV B back in reset", || t.chip.core_state(WORKER, 0) == CoreState::InReset);
    t.write(WORKER, u64::from(DATA), &[0]);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(t.read(WORKER, u64::from(DATA)), 0, "a core in reset runs nothing");
    set_reset(&t, WORKER, only_b);
    wait_for("RISCV B's marker again", || t.read(WORKER, u64::from(DATA)) == 0xB00B);
}

#[test]
fn a_trisc_pushing_a_tensix_instruction_stops_with_a_clear_state() {
    let t = TestChip::new();
    // RISCV T0 at 0x6000: one store to INSTRN_BUF_BASE.
    let mut code = rv::li(rv::T0, tile::COPROCESSOR_PUSH.start).to_vec();
    code.push(rv::sw(rv::ZERO, rv::T0, 0));
    t.write(WORKER, 0x6000, &code);
    set_reset(&t, WORKER, SoftReset::ALL_RISCV - SoftReset::RISCV_T0);
    wait_for("T0 to stop", || matches!(t.chip.core_state(WORKER, 2), CoreState::Stopped { .. }));
    let CoreState::Stopped { cause: stopped, pc, message } = t.chip.core_state(WORKER, 2) else {
        unreachable!("checked above")
    };
    assert_eq!((stopped, pc), (cause::COPROCESSOR_NOT_MODELLED, 0x6008));
    assert!(message.contains("Tensix coprocessor not modelled"), "{message}");
    assert!(message.contains("(1, 1)") && message.contains("0x6008"), "{message}");
}

#[test]
fn an_unmodelled_register_stops_a_core_started_from_reset() {
    let t = TestChip::new();
    let mut code = rv::li(rv::T0, 0xFFB1_1000).to_vec();
    code.push(rv::lw(rv::A0, rv::T0, 0));
    t.write(WORKER, 0x12000, &code);
    set_reset(&t, WORKER, SoftReset::ALL_RISCV - SoftReset::RISCV_NC);
    wait_for("NC to stop", || matches!(t.chip.core_state(WORKER, 1), CoreState::Stopped { .. }));
    let state = t.chip.core_state(WORKER, 1);
    let CoreState::Stopped { cause: stopped, message, .. } = state else { unreachable!() };
    assert_eq!(stopped, cause::UNMODELLED_REGISTER);
    assert!(message.contains("unmodelled register 0xffb11000 on core (1, 1)"), "{message}");
    assert!(message.contains("RISCV NC"), "{message}");
}

#[test]
fn blackhole_cores_start_at_0_or_where_their_reset_pc_override_says() {
    let dir = tempfile::tempdir().unwrap();
    let chip = SimChip::open_in(dir.path(), Arch::Blackhole, 0).unwrap();
    let core = chip.soc().tensix_cores()[0];
    let mut l1 = chip.allocate_tlb(2 << 20).unwrap();
    l1.configure(core, 0).unwrap();
    let l1 = l1.region().unwrap();
    let mut registers = chip.allocate_tlb(2 << 20).unwrap();
    let window = SOFT_RESET & !((2 << 20) - 1);
    registers.configure(core, window).unwrap();
    let registers = registers.region().unwrap();
    let reg = |offset: u32| (u64::from(tile::TILE_CONTROL_BASE + offset) - window) as usize;
    // B at 0 and T0 at 0x30000 each store a marker; T1 has no override and cannot start.
    for (pc, slot) in [(0u32, 0u32), (0x30000, 1)] {
        for (i, word) in mark(slot, 0xB1AC_0000 + slot).iter().enumerate() {
            l1.write32(pc as usize + 4 * i, *word).unwrap();
        }
    }
    let r = tile::BLACKHOLE_RESET_PC;
    registers.write32(reg(r.trisc[0]), 0x30000).unwrap();
    registers.write32(reg(r.trisc_override), 1).unwrap();
    let release =
        SoftReset::ALL_RISCV - SoftReset::RISCV_B - SoftReset::RISCV_T0 - SoftReset::RISCV_T1;
    registers.write32(reg(tile::SOFT_RESET_OFFSET), release.bits()).unwrap();
    chip.apply_soft_reset();
    for slot in 0..2u32 {
        let at = (DATA + 16 * slot) as usize;
        wait_for("a marker", || l1.read32(at).unwrap() == 0xB1AC_0000 + slot);
    }
    let CoreState::Stopped { message, .. } = chip.core_state(core, 3) else {
        panic!("T1 should not start: {:?}", chip.core_state(core, 3))
    };
    assert!(message.contains("reset pc") && message.contains("blackhole"), "{message}");
}
