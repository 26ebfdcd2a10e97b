//! Instruction-level tests on one hart: every RV32IM class, traps, CSRs, local data RAM and
//! NIU transfers.

use tt_soc::kernel_abi::{self, cause};
use tt_soc::NocCoord;

use super::hart::Stop;
use super::tests::rv::{self, *};
use super::tests::{assert_trap, TestChip, CODE, DATA, OTHER_WORKER, WORKER};

/// Runs `code` followed by `ret` and returns the hart's registers x0..x31.
fn registers_after(code: &[u32]) -> [u32; 32] {
    let t = TestChip::new();
    let mut program = code.to_vec();
    program.push(rv::ret());
    let (hart, stop) = t.run_hart(&program, 10_000);
    assert!(matches!(stop, Some(Stop::Exit(_))), "{stop:?}");
    std::array::from_fn(|i| hart.reg(i))
}

fn li(rd: u32, value: u32) -> [u32; 2] {
    rv::li(rd, value)
}

fn program(parts: &[&[u32]]) -> Vec<u32> {
    parts.concat()
}

#[test]
fn immediate_arithmetic_and_upper_immediates() {
    let r = registers_after(&program(&[
        &li(T0, 0x8000_00f0),
        &[
            addi(A0, T0, -0x10),     // 0x8000_00e0
            alu_i(2, A1, T0, 5),     // slti: negative < 5
            alu_i(3, A2, T0, 5),     // sltiu: huge unsigned is not < 5
            alu_i(4, A3, T0, -1),    // xori -1 = not
            alu_i(6, A4, T0, 0x00f), // ori
            alu_i(7, T1, T0, 0x0ff), // andi
            alu_i(1, T2, T0, 4),     // slli
            alu_i(5, 16, T0, 4),     // srli
            alu_i(5, 17, T0, 0x404), // srai 4
            lui(18, 0xdead_b000),
            auipc(19, 0x1000),
            addi(ZERO, T0, 1), // writes to x0 vanish
        ],
    ]));
    assert_eq!(r[A0 as usize], 0x8000_00e0);
    assert_eq!(r[A1 as usize], 1);
    assert_eq!(r[A2 as usize], 0);
    assert_eq!(r[A3 as usize], !0x8000_00f0);
    assert_eq!(r[A4 as usize], 0x8000_00ff);
    assert_eq!(r[T1 as usize], 0xf0);
    assert_eq!(r[T2 as usize], 0x0000_0f00);
    assert_eq!(r[16], 0x0800_000f);
    assert_eq!(r[17], 0xf800_000f);
    assert_eq!(r[18], 0xdead_b000);
    assert_eq!(r[19], CODE + 4 * 12 + 0x1000);
    assert_eq!(r[0], 0);
}

#[test]
fn register_arithmetic() {
    let r = registers_after(&program(&[
        &li(T0, 0xffff_fff0), // -16
        &li(T1, 36),
        &[
            alu_r(0, 0, A0, T0, T1),    // add
            alu_r(0x20, 0, A1, T0, T1), // sub
            alu_r(0, 1, A2, T1, T1),    // sll by 36 & 31 = 4
            alu_r(0, 2, A3, T0, T1),    // slt
            alu_r(0, 3, A4, T0, T1),    // sltu
            alu_r(0, 4, 16, T0, T1),    // xor
            alu_r(0, 5, 17, T0, T1),    // srl by 4
            alu_r(0x20, 5, 18, T0, T1), // sra by 4
            alu_r(0, 6, 19, T0, T1),    // or
            alu_r(0, 7, 20, T0, T1),    // and
        ],
    ]));
    assert_eq!(r[A0 as usize], 20);
    assert_eq!(r[A1 as usize], (-52i32) as u32);
    assert_eq!(r[A2 as usize], 36 << 4);
    assert_eq!(r[A3 as usize], 1);
    assert_eq!(r[A4 as usize], 0);
    assert_eq!(r[16], 0xffff_fff0 ^ 36);
    assert_eq!(r[17], 0x0fff_ffff);
    assert_eq!(r[18], 0xffff_ffff);
    assert_eq!(r[19], 0xffff_fff4);
    assert_eq!(r[20], 32);
}

#[test]
fn multiply_and_divide_follow_the_m_spec() {
    let min = i32::MIN as u32;
    let cases: [(u32, u32, u32, [u32; 8]); 4] = [
        // a, b, funct7=1 results for funct3 0..7: mul mulh mulhsu mulhu div divu rem remu
        (7, 0xffff_fffd, 1, [(-21i32) as u32, 0xffff_ffff, 6, 6, (-2i32) as u32, 0, 1, 7]),
        (min, 0xffff_ffff, 1, [min, 0, min, 0x7fff_ffff, min, 0, 0, min]),
        (123, 0, 1, [0, 0, 0, 0, u32::MAX, u32::MAX, 123, 123]),
        (0xffff_ffff, 0xffff_ffff, 1, [1, 0, 0xffff_ffff, 0xffff_fffe, 1, 1, 0, 0]),
    ];
    for (a, b, _, expected) in cases {
        let mut code = program(&[&li(T0, a), &li(T1, b)]);
        for funct3 in 0..8 {
            code.push(alu_r(1, funct3, 16 + funct3, T0, T1));
        }
        let r = registers_after(&code);
        for funct3 in 0..8usize {
            assert_eq!(r[16 + funct3], expected[funct3], "a={a:#x} b={b:#x} funct3={funct3}");
        }
    }
}

#[test]
fn every_branch_taken_and_not_taken() {
    // For each branch: s1 |= bit when taken (branch over a `jal` that skips the `ori`).
    let pairs = [(5u32, 5u32), (5, 7), (0xffff_ffff, 1)];
    for (a, b) in pairs {
        let mut code = program(&[&li(T0, a), &li(T1, b)]);
        for (bit, funct3) in [0u32, 1, 4, 5, 6, 7].into_iter().enumerate() {
            code.extend([branch(funct3, T0, T1, 8), jal(ZERO, 8), alu_i(6, S1, S1, 1 << bit)]);
        }
        let r = registers_after(&code);
        let (sa, sb) = (a as i32, b as i32);
        let expected = [a == b, a != b, sa < sb, sa >= sb, a < b, a >= b]
            .iter()
            .enumerate()
            .fold(0, |acc, (bit, taken)| acc | (u32::from(*taken) << bit));
        assert_eq!(r[S1 as usize], expected, "a={a:#x} b={b:#x}");
    }
}

#[test]
fn backward_loop_jal_and_jalr_link() {
    let r = registers_after(&[
        addi(T0, ZERO, 0),
        addi(T1, ZERO, 100),
        addi(T0, T0, 1),    // loop:
        bne(T0, T1, -4),    // bne t0, t1, loop
        jal(A1, 8),         // link = pc + 4, skip one
        addi(A2, ZERO, 99), // skipped
        auipc(A3, 0),       // a3 = this pc
        jalr(A4, A3, 17),   // target (a3 + 17) & !1 = a3 + 16
        addi(A2, ZERO, 98), // skipped
        addi(A2, ZERO, 98), // skipped
        addi(A0, ZERO, 7),
    ]);
    assert_eq!(r[T0 as usize], 100);
    assert_eq!(r[A1 as usize], CODE + 20);
    assert_eq!(r[A2 as usize], 0);
    assert_eq!(r[A4 as usize], r[A3 as usize] + 8);
    assert_eq!(r[A0 as usize], 7);
}

#[test]
fn loads_and_stores_of_every_width() {
    let r = registers_after(&program(&[
        &li(T0, DATA + 16),
        &li(T1, 0x8899_aabb),
        &[
            sw(T1, T0, -16),
            store(1, T1, T0, -12), // sh 0xaabb
            store(0, T1, T0, -10), // sb 0xbb
            load(2, A0, T0, -16),
            load(0, A1, T0, -16), // lb 0xbb -> sign extended
            load(4, A2, T0, -16), // lbu
            load(1, A3, T0, -14), // lh 0x8899 -> sign extended
            load(5, A4, T0, -14), // lhu
            load(2, 16, T0, -12), // sh + sb, rest zero
        ],
    ]));
    assert_eq!(r[A0 as usize], 0x8899_aabb);
    assert_eq!(r[A1 as usize], 0xffff_ffbb);
    assert_eq!(r[A2 as usize], 0xbb);
    assert_eq!(r[A3 as usize], 0xffff_8899);
    assert_eq!(r[A4 as usize], 0x8899);
    assert_eq!(r[16], 0x00bb_aabb);
}

#[test]
fn csrs_count_retired_instructions() {
    let r = registers_after(&[
        FENCE,
        csr(2, A0, 0xc00, ZERO), // cycle after 1 instruction
        csr(2, A1, 0xc02, ZERO), // instret after 2
        csr(6, A2, 0xc01, 0),    // time via csrrsi with uimm 0
        csr(2, A3, 0xc80, ZERO), // cycleh
        csr(2, A4, 0xc82, ZERO), // instreth
        csr(2, 16, 0x301, ZERO), // misa
        csr(1, 17, 0x301, T0),   // misa ignores writes
        csr(2, 18, 0xf14, ZERO), // mhartid
    ]);
    assert_eq!([r[A0 as usize], r[A1 as usize], r[A2 as usize]], [1, 2, 3]);
    assert_eq!([r[A3 as usize], r[A4 as usize]], [0, 0]);
    assert_eq!(r[16], 0x4000_1100);
    assert_eq!(r[17], 0x4000_1100);
    assert_eq!(r[18], 0);
}

#[test]
fn csr_writes_to_read_only_and_unknown_csrs_are_illegal() {
    let t = TestChip::new();
    let (_, stop) = t.run_hart(&[addi(T0, ZERO, 1), csr(1, A0, 0xc00, T0)], 100);
    assert_trap(stop, cause::ILLEGAL_INSTRUCTION, CODE + 4);
    let (_, stop) = t.run_hart(&[csr(3, A0, 0xf14, T0)], 100);
    assert_trap(stop, cause::ILLEGAL_INSTRUCTION, CODE);
    let (_, stop) = t.run_hart(&[csr(2, A0, 0x7c0, ZERO)], 100);
    let detail = assert_trap(stop, cause::ILLEGAL_INSTRUCTION, CODE);
    assert!(detail.contains("0x7c0"), "{detail}");
}

#[test]
fn illegal_encodings_ecall_and_ebreak_stop_the_hart() {
    let t = TestChip::new();
    // A 16-bit compressed `li a0, 0` (c.li) pair, all zeros, and all ones are illegal.
    for word in [0x4501_4501, 0, 0xffff_ffff] {
        let (_, stop) = t.run_hart(&[addi(A0, ZERO, 1), word], 100);
        let detail = assert_trap(stop, cause::ILLEGAL_INSTRUCTION, CODE + 4);
        assert!(detail.contains(&format!("{word:#010x}")), "{detail}");
    }
    let (_, stop) = t.run_hart(&[ECALL], 100);
    assert_trap(stop, cause::ECALL, CODE);
    let (hart, stop) = t.run_hart(&[addi(A0, ZERO, 1), EBREAK], 100);
    assert_trap(stop, cause::EBREAK, CODE + 4);
    assert_eq!(hart.instret, 1, "the trapping instruction does not retire");
}

#[test]
fn misaligned_and_out_of_range_accesses_fault_with_pc() {
    let t = TestChip::new();
    let misaligned = [lw(A0, T0, 2), load(1, A0, T0, 1), store(1, T0, T0, 3), sw(T0, T0, 1)];
    for instruction in misaligned {
        let (_, stop) = t.run_hart(&program(&[&li(T0, DATA), &[instruction]]), 100);
        assert_trap(stop, cause::MISALIGNED_ACCESS, CODE + 8);
    }
    // t0 = the first byte past the end of L1.
    let end = li(T0, t.chip.soc().worker_l1_size() as u32);
    for instruction in [lw(A0, T0, 0), load(4, A0, T0, 0), store(0, T0, T0, 0)] {
        let (_, stop) = t.run_hart(&program(&[&end, &[instruction]]), 100);
        let detail = assert_trap(stop, cause::ACCESS_FAULT, CODE + 8);
        assert!(detail.contains("outside the 0x16e000-byte L1"), "{detail}");
    }
    // The top of the address space holds tile registers; one not modelled stops the core.
    let (_, stop) = t.run_hart(&program(&[&end, &[lw(A0, ZERO, -4)]]), 100);
    assert_trap(stop, cause::UNMODELLED_REGISTER, CODE + 8);
    // A sub-word access to a register is not modelled.
    let niu = li(T6, tt_soc::tile::NIU0_BASE);
    let (_, stop) = t.run_hart(&program(&[&niu, &[load(0, A0, T6, 0)]]), 100);
    assert_trap(stop, cause::UNMODELLED_REGISTER, CODE + 8);
}

#[test]
fn local_data_ram_is_private_and_sized_per_processor() {
    let t = TestChip::new();
    // RISCV B has 4 KiB at 0xFFB0_0000: bytes, halfwords and words, up to its last word.
    let local = li(T6, tt_soc::tile::LOCAL_DATA_BASE);
    let code = program(&[
        &local,
        &li(A3, tt_soc::tile::LOCAL_DATA_BASE + 0xFF0),
        &li(T0, 0x1234_5678),
        &[
            sw(T0, A3, 0xC),
            store(0, T0, T6, 0x10),
            store(1, T0, T6, 0x12),
            lw(A0, A3, 0xC),
            lw(A1, T6, 0x10),
            load(4, A2, T6, 0x13),
            ret(),
        ],
    ]);
    let (hart, stop) = t.run_hart(&code, 100);
    assert!(matches!(stop, Some(Stop::Exit(0x1234_5678))), "{stop:?}");
    assert_eq!(hart.reg(A1 as usize), 0x5678_0078);
    assert_eq!(hart.reg(A2 as usize), 0x56);
    assert_eq!(t.read(WORKER, 0xFFC), 0, "L1 is not local data RAM");
    // Past its 4 KiB is unmapped.
    let past = program(&[&li(T6, tt_soc::tile::LOCAL_DATA_BASE + 0x1000), &[lw(A0, T6, 0)]]);
    let (_, stop) = t.run_hart(&past, 100);
    assert_trap(stop, cause::UNMODELLED_REGISTER, CODE + 8);
}

#[test]
fn fetch_outside_l1_misaligned_jumps_and_exit() {
    let t = TestChip::new();
    let (_, stop) = t.run_hart(&program(&[&li(T0, 0x0100_0000), &[jalr(ZERO, T0, 0)]]), 100);
    assert_trap(stop, cause::FETCH_FAULT, 0x0100_0000);
    let (_, stop) = t.run_hart(&[jal(ZERO, 2)], 100);
    assert_trap(stop, cause::MISALIGNED_ACCESS, CODE);
    let (_, stop) = t.run_hart(&[addi(T0, ZERO, 0), branch(0, T0, T0, 6)], 100);
    assert_trap(stop, cause::MISALIGNED_ACCESS, CODE + 4);
    // Jumping to EXIT_ADDR from anywhere (not only via ra) ends the kernel with a0.
    let (hart, stop) = t.run_hart(
        &program(&[&li(T0, kernel_abi::EXIT_ADDR as u32), &[addi(A0, ZERO, 9), jalr(ZERO, T0, 0)]]),
        100,
    );
    assert!(matches!(stop, Some(Stop::Exit(9))), "{stop:?}");
    assert_eq!(hart.instret, 4);
    // A slice boundary between the return and the exit does not lose the exit.
    let (hart, stop) = t.run_hart(&[addi(A0, ZERO, 5), ret()], 2);
    assert!(matches!(stop, Some(Stop::Exit(5))), "a budget that ends on the return: {stop:?}");
    assert_eq!(hart.instret, 2);
    let (mut hart, stop) = t.run_hart(&[addi(A0, ZERO, 5), ret()], 1);
    assert!(stop.is_none());
    assert!(matches!(hart.run(1), Some(Stop::Exit(5))));
    assert_eq!(hart.instret, 2);
}

#[test]
fn code_rewritten_after_decoding_runs_the_new_code() {
    let t = TestChip::new();
    let (mut hart, stop) = t.run_hart(&[addi(A0, ZERO, 1), ret()], 1);
    assert!(stop.is_none());
    // The first instruction is cached; rewrite the second and re-run the first.
    t.write(WORKER, u64::from(CODE) + 4, &[addi(A0, A0, 10)]);
    t.write(WORKER, u64::from(CODE) + 8, &[ret()]);
    assert!(matches!(hart.run(10), Some(Stop::Exit(11))));
}

#[test]
fn niu_moves_data_between_l1s_and_dram() {
    let t = TestChip::new();
    let l = tt_soc::tile::WORMHOLE_NIU;
    let dram = t.chip.soc().dram_channels()[1].endpoints[0];
    t.write(OTHER_WORKER, 0x30000, &[0x1111_2222, 0x3333_4444, 0x5555_6666]);
    let dram_addr = (1u32 << 30) + 0x100;
    let barrier = |counter: u32, value: u32| -> Vec<u32> {
        let addr = tt_soc::tile::NIU0_BASE + l.counters + 4 * counter;
        let mut code = li(T6, addr).to_vec();
        code.extend(li(T5, value));
        code.extend([lw(T2, T6, 0), bne(T2, T5, -4)]);
        code
    };
    let counter = tt_soc::tile::counter::MST_RD_RESP_RECEIVED;
    let acks = tt_soc::tile::counter::MST_WR_ACK_RECEIVED;
    // Read 12 bytes from the other core into DATA, write them to DRAM, read DRAM back to
    // DATA + 0x100, then read NOC_NODE_ID.
    let read = |from: NocCoord, addr: u32, to: u32| {
        rv::niu_request(
            0,
            &[
                (l.targ_addr_lo, addr),
                (l.targ_addr_mid, rv::mid(from)),
                (l.ret_addr_lo, to),
                (l.ret_addr_mid, rv::mid(WORKER)),
                (l.at_len_be, 12),
                (l.ctrl, 0),
            ],
        )
    };
    let mut code = read(OTHER_WORKER, 0x30000, DATA);
    code.extend(barrier(counter, 1));
    code.extend(rv::niu_request(
        1,
        &[
            (l.targ_addr_lo, DATA),
            (l.targ_addr_mid, rv::mid(WORKER)),
            (l.ret_addr_lo, dram_addr),
            (l.ret_addr_mid, rv::mid(dram)),
            (l.at_len_be, 12),
            (l.ctrl, 2 | tt_soc::tile::NocCtrl::RESP_MARKED.bits()),
        ],
    ));
    code.extend(barrier(acks, 1));
    code.extend(read(dram, dram_addr, DATA + 0x100));
    code.extend(barrier(counter, 2));
    code.extend(li(T6, tt_soc::tile::NIU0_BASE + l.node_id));
    code.extend([lw(A1, T6, 0), ret()]);
    let (hart, stop) = t.run_hart(&code, 10_000);
    assert!(matches!(stop, Some(Stop::Exit(_))), "{stop:?}");
    assert_eq!(hart.reg(A1 as usize) & 0xFFF, 1 | 1 << 6, "NOC_NODE_ID of (1, 1)");
    for (i, expected) in [0x1111_2222, 0x3333_4444, 0x5555_6666].into_iter().enumerate() {
        let i = i as u64 * 4;
        assert_eq!(t.read(WORKER, u64::from(DATA) + i), expected);
        assert_eq!(t.read(WORKER, u64::from(DATA) + 0x100 + i), expected);
    }
    // The host sees the DRAM bytes through another endpoint of the same channel.
    let other_endpoint = t.chip.soc().dram_channels()[1].endpoints[2];
    assert_eq!(t.read(other_endpoint, u64::from(dram_addr) + 8), 0x5555_6666);
}

#[test]
fn a_spinning_hart_yields_its_slice_and_a_counting_one_does_not() {
    let t = TestChip::new();
    // Wait for a flag that never comes: lw, beq back. It gives up its turn early.
    let wait = program(&[&li(T0, DATA), &[lw(T1, T0, 0), beq(T1, ZERO, -4)]]);
    let (hart, stop) = t.run_hart(&wait, 10_000);
    assert!(stop.is_none());
    assert!(hart.instret < 200, "spinning for {} instructions", hart.instret);
    assert!(hart.spinning);
    // A jump to itself parks the hart: it yields at once.
    let (hart, stop) = t.run_hart(&[jal(ZERO, 0)], 10_000);
    assert!(stop.is_none() && hart.spinning);
    assert_eq!(hart.instret, 1);
    // A loop whose branch operands change runs its whole slice.
    let count = program(&[&li(T1, 1_000_000), &[addi(T0, T0, 1), bne(T0, T1, -4)]]);
    let (hart, stop) = t.run_hart(&count, 10_000);
    assert!(stop.is_none() && !hart.spinning);
    assert_eq!(hart.instret, 10_000);
}
