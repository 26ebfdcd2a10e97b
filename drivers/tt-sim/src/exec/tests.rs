//! Test support (an RV32 encoder, a chip to write code into and start cores on) and a test of
//! two cores on two tiles that only finish by interleaving.

use std::time::{Duration, Instant};

use tt_soc::tile::{self, RiscV, SoftReset};
use tt_soc::{Arch, NocCoord};

use super::hart::{Hart, Stop};
use super::tile::Bus;
use crate::SimChip;

/// A tiny RV32IM assembler: one function per format, then the instructions the tests use.
pub(super) mod rv {
    pub const ZERO: u32 = 0;
    pub const RA: u32 = 1;
    pub const SP: u32 = 2;
    pub const T0: u32 = 5;
    pub const T1: u32 = 6;
    pub const T2: u32 = 7;
    pub const S1: u32 = 9;
    pub const A0: u32 = 10;
    pub const A1: u32 = 11;
    pub const A2: u32 = 12;
    pub const A3: u32 = 13;
    pub const A4: u32 = 14;
    pub const T5: u32 = 30;
    pub const T6: u32 = 31;

    pub fn r(funct7: u32, rs2: u32, rs1: u32, funct3: u32, rd: u32, opcode: u32) -> u32 {
        funct7 << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | opcode
    }
    pub fn i(imm: i32, rs1: u32, funct3: u32, rd: u32, opcode: u32) -> u32 {
        ((imm as u32) & 0xfff) << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | opcode
    }
    pub fn s(imm: i32, rs2: u32, rs1: u32, funct3: u32) -> u32 {
        let imm = imm as u32;
        (imm >> 5 & 0x7f) << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12 | (imm & 0x1f) << 7 | 0x23
    }
    pub fn b(imm: i32, rs2: u32, rs1: u32, funct3: u32) -> u32 {
        let imm = imm as u32;
        (imm >> 12 & 1) << 31
            | (imm >> 5 & 0x3f) << 25
            | rs2 << 20
            | rs1 << 15
            | funct3 << 12
            | (imm >> 1 & 0xf) << 8
            | (imm >> 11 & 1) << 7
            | 0x63
    }
    pub fn u(imm: u32, rd: u32, opcode: u32) -> u32 {
        imm & 0xffff_f000 | rd << 7 | opcode
    }
    pub fn j(imm: i32, rd: u32) -> u32 {
        let imm = imm as u32;
        (imm >> 20 & 1) << 31
            | (imm >> 1 & 0x3ff) << 21
            | (imm >> 11 & 1) << 20
            | (imm >> 12 & 0xff) << 12
            | rd << 7
            | 0x6f
    }

    pub fn addi(rd: u32, rs1: u32, imm: i32) -> u32 {
        i(imm, rs1, 0, rd, 0x13)
    }
    /// An I-type ALU op: funct3 1 slli, 2 slti, 3 sltiu, 4 xori, 5 srli/srai, 6 ori, 7 andi.
    pub fn alu_i(funct3: u32, rd: u32, rs1: u32, imm: i32) -> u32 {
        i(imm, rs1, funct3, rd, 0x13)
    }
    /// An R-type op (funct7 0, 0x20 or 1 for M).
    pub fn alu_r(funct7: u32, funct3: u32, rd: u32, rs1: u32, rs2: u32) -> u32 {
        r(funct7, rs2, rs1, funct3, rd, 0x33)
    }
    pub fn lui(rd: u32, imm: u32) -> u32 {
        u(imm, rd, 0x37)
    }
    pub fn auipc(rd: u32, imm: u32) -> u32 {
        u(imm, rd, 0x17)
    }
    pub fn jal(rd: u32, offset: i32) -> u32 {
        j(offset, rd)
    }
    pub fn jalr(rd: u32, rs1: u32, offset: i32) -> u32 {
        i(offset, rs1, 0, rd, 0x67)
    }
    pub fn ret() -> u32 {
        jalr(ZERO, RA, 0)
    }
    /// A branch: funct3 0 beq, 1 bne, 4 blt, 5 bge, 6 bltu, 7 bgeu.
    pub fn branch(funct3: u32, rs1: u32, rs2: u32, offset: i32) -> u32 {
        b(offset, rs2, rs1, funct3)
    }
    pub fn bne(rs1: u32, rs2: u32, offset: i32) -> u32 {
        branch(1, rs1, rs2, offset)
    }
    pub fn beq(rs1: u32, rs2: u32, offset: i32) -> u32 {
        branch(0, rs1, rs2, offset)
    }
    /// A load: funct3 0 lb, 1 lh, 2 lw, 4 lbu, 5 lhu.
    pub fn load(funct3: u32, rd: u32, rs1: u32, offset: i32) -> u32 {
        i(offset, rs1, funct3, rd, 0x03)
    }
    pub fn lw(rd: u32, rs1: u32, offset: i32) -> u32 {
        load(2, rd, rs1, offset)
    }
    /// A store: funct3 0 sb, 1 sh, 2 sw.
    pub fn store(funct3: u32, rs2: u32, rs1: u32, offset: i32) -> u32 {
        s(offset, rs2, rs1, funct3)
    }
    pub fn sw(rs2: u32, rs1: u32, offset: i32) -> u32 {
        store(2, rs2, rs1, offset)
    }
    /// A CSR op: funct3 1 csrrw, 2 csrrs, 3 csrrc, 5-7 immediate forms.
    pub fn csr(funct3: u32, rd: u32, csr: u32, rs1: u32) -> u32 {
        i(csr as i32, rs1, funct3, rd, 0x73)
    }
    pub const ECALL: u32 = 0x0000_0073;
    pub const EBREAK: u32 = 0x0010_0073;
    pub const FENCE: u32 = 0x0ff0_000f;

    /// Loads any 32-bit constant in exactly two instructions.
    pub fn li(rd: u32, value: u32) -> [u32; 2] {
        let low = ((value & 0xfff) as i32) << 20 >> 20;
        let high = value.wrapping_sub(low as u32);
        [lui(rd, high), addi(rd, rd, low)]
    }

    /// Fills request initiator `index` of NoC #0 (Wormhole layout) with `(field offset, value)`
    /// pairs and starts it (t5, t6 scratch).
    pub fn niu_request(index: u32, fields: &[(u32, u32)]) -> Vec<u32> {
        let base = tt_soc::tile::NIU0_BASE + index * tt_soc::tile::WORMHOLE_NIU.initiator_stride;
        let mut code = Vec::new();
        for (offset, value) in fields {
            code.extend(li(T5, *value));
            code.extend(li(T6, base + offset));
            code.push(sw(T5, T6, 0));
        }
        code.extend(li(T5, 1));
        code.extend(li(T6, base + tt_soc::tile::WORMHOLE_NIU.cmd_ctrl));
        code.push(sw(T5, T6, 0));
        code
    }

    /// `NOC_*_ADDR_MID` of a unicast to `core` on Wormhole.
    pub fn mid(core: tt_soc::NocCoord) -> u32 {
        u32::from(core.x) << 4 | u32::from(core.y) << 10
    }
}

/// Where test kernels are placed in L1 (the kernel region) and where they keep data.
pub(super) const CODE: u32 = 0x8000;
pub(super) const DATA: u32 = 0x20000;
pub(super) const WORKER: NocCoord = NocCoord::new(1, 1);
pub(super) const OTHER_WORKER: NocCoord = NocCoord::new(2, 1);

/// A simulated Wormhole in a temporary directory.
pub(super) struct TestChip {
    _dir: tempfile::TempDir,
    pub(super) chip: SimChip,
}

impl TestChip {
    pub(super) fn new() -> TestChip {
        let dir = tempfile::tempdir().unwrap();
        let chip = SimChip::open_in(dir.path(), Arch::WormholeB0, 0).unwrap();
        TestChip { _dir: dir, chip }
    }

    /// Writes words through a TLB window, as the host does.
    pub(super) fn write(&self, core: NocCoord, addr: u64, words: &[u32]) {
        let mut window = self.chip.allocate_tlb(2 << 20).unwrap();
        let base = addr & !((2 << 20) - 1);
        window.configure(core, base).unwrap();
        let region = window.region().unwrap();
        for (i, word) in words.iter().enumerate() {
            region.write32((addr - base) as usize + i * 4, *word).unwrap();
        }
    }

    pub(super) fn read(&self, core: NocCoord, addr: u64) -> u32 {
        let mut window = self.chip.allocate_tlb(2 << 20).unwrap();
        let base = addr & !((2 << 20) - 1);
        window.configure(core, base).unwrap();
        window.region().unwrap().read32((addr - base) as usize).unwrap()
    }

    /// Runs `code` on processor 0 of [`WORKER`] directly on a hart (no threads) for at most
    /// `max` instructions.
    pub(super) fn run_hart(&self, code: &[u32], max: u64) -> (Hart, Option<Stop>) {
        self.write(WORKER, u64::from(CODE), code);
        let shared = self.chip.shared();
        let memory = shared.memory().unwrap();
        let (offset, size) = shared.layout.memory_of(WORKER).unwrap();
        let span = memory.span(offset, size).unwrap();
        let bus = Bus::new(shared.clone(), memory, WORKER, 0);
        let mut hart = Hart::new(WORKER, 0, CODE, 0x7000, span, bus);
        let stop = hart.run(max);
        (hart, stop)
    }

    /// Writes `code` at the reset pc of `processor` of `core` and takes that processor out of
    /// soft reset (the others stay as they are), as the host does through a TLB window.
    pub(super) fn start(&self, core: NocCoord, processor: u8, code: &[u32]) {
        let riscv = RiscV::from_index(processor).unwrap();
        let pc = riscv.reset_pc(Arch::WormholeB0).unwrap();
        self.write(core, u64::from(pc), code);
        let reset = u64::from(tile::TILE_CONTROL_BASE + tile::SOFT_RESET_OFFSET);
        let bits = SoftReset::from_bits_retain(self.read(core, reset)) - riscv.soft_reset_bit();
        self.write(core, reset, &[bits.bits()]);
        self.chip.apply_soft_reset();
    }

    /// Waits (up to 20 s) until the word at `addr` of `core` is `value`.
    pub(super) fn wait_for_word(&self, core: NocCoord, addr: u64, value: u32) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.read(core, addr) != value {
            assert!(Instant::now() < deadline, "{core} {addr:#x} never became {value:#x}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Asserts a hart stopped with `expected` cause at `pc`.
pub(super) fn assert_trap(stop: Option<Stop>, expected: u32, expected_pc: u32) -> String {
    match stop {
        Some(Stop::Trap { cause, pc, detail }) => {
            assert_eq!((cause, pc), (expected, expected_pc), "{detail}");
            detail
        }
        other => panic!("expected cause {expected} at {expected_pc:#x}, got {other:?}"),
    }
}

/// The consumer (RISCV NC of one tile) spins on a local flag until the producer (RISCV B of
/// another tile) NoC-writes a value and then the flag; the consumer answers with an atomic
/// increment of the producer's semaphore, which the producer spins on. Neither finishes
/// unless both interleave.
fn exchange_through_flags() {
    let t = TestChip::new();
    let (flag, value, sem) = (DATA, DATA + 4, DATA + 8);
    // Consumer on OTHER_WORKER: wait for flag, read value, add it to the producer's sem.
    let mut consumer = rv::li(rv::T0, flag).to_vec();
    consumer.extend([rv::lw(rv::T1, rv::T0, 0), rv::beq(rv::T1, rv::ZERO, -4)]);
    consumer.push(rv::lw(rv::A1, rv::T0, 4));
    // Posted atomic increment of the producer's semaphore by `value` (in a1).
    let l = tt_soc::tile::WORMHOLE_NIU;
    let at_data = tt_soc::tile::NIU0_BASE + l.at_data;
    consumer.extend(rv::li(rv::T6, at_data));
    consumer.push(rv::sw(rv::A1, rv::T6, 0));
    consumer.extend(rv::niu_request(
        0,
        &[
            (l.targ_addr_lo, sem),
            (l.targ_addr_mid, rv::mid(WORKER)),
            // Ofs picks the semaphore's word within its 16-byte block (Atomics.md).
            (l.at_len_be, tt_soc::tile::ATOMIC_INCREMENT << 12 | 31 << 2 | (sem >> 2 & 3)),
            (l.ctrl, 1),
        ],
    ));
    // Report the value it saw at DATA + 0x100, then wait for ever.
    consumer.extend(rv::li(rv::T0, flag));
    consumer.extend([rv::lw(rv::A0, rv::T0, 4), rv::sw(rv::A0, rv::T0, 0x100), rv::jal(0, 0)]);

    // Producer on WORKER: put value and flag in its L1, write both to the consumer, wait.
    let mut producer = rv::li(rv::T0, DATA).to_vec();
    producer.extend(rv::li(rv::T1, 1234));
    producer.extend([
        rv::sw(rv::T1, rv::T0, 4),
        rv::addi(rv::T1, rv::ZERO, 1),
        rv::sw(rv::T1, rv::T0, 0),
    ]);
    // Two posted writes, value first: requests of one core happen in issue order.
    let l = tt_soc::tile::WORMHOLE_NIU;
    for word in [value, flag] {
        producer.extend(rv::niu_request(
            1,
            &[
                (l.targ_addr_lo, word),
                (l.targ_addr_mid, rv::mid(WORKER)),
                (l.ret_addr_lo, word),
                (l.ret_addr_mid, rv::mid(OTHER_WORKER)),
                (l.at_len_be, 4),
                (l.ctrl, 2),
            ],
        ));
    }
    producer.extend(rv::li(rv::T0, sem));
    producer.extend([rv::lw(rv::A0, rv::T0, 0), rv::beq(rv::A0, rv::ZERO, -4)]);
    producer.extend([rv::sw(rv::A0, rv::T0, 0x100 - 8), rv::jal(0, 0)]);

    // Consumer first, so it spins before the producer has run at all.
    t.start(OTHER_WORKER, 1, &consumer);
    t.start(WORKER, 0, &producer);
    t.wait_for_word(OTHER_WORKER, u64::from(DATA + 0x100), 1234);
    t.wait_for_word(WORKER, u64::from(DATA + 0x100), 1234);
}

#[test]
fn cores_on_two_tiles_exchange_data_through_the_noc() {
    exchange_through_flags();
}
