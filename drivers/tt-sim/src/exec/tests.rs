//! Test support (an RV32 encoder, a chip with code loaded) and the launch-level tests: the
//! mailbox protocol as the host sees it, launch validation, budgets and interleaving.

use std::time::{Duration, Instant};

use tt_soc::kernel_abi::{self, cause};
use tt_soc::l1_map::{MAILBOX_BASE, MAILBOX_STRIDE};
use tt_soc::{Arch, NocCoord};

use super::hart::{Hart, Stop};
use super::tile::Bus;
use super::{ExecConfig, HartOutcome, Launch};
use crate::{SimChip, SimError};

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

    /// Loads `code` for `processor` of `core` and sets its mailbox to start it.
    pub(super) fn load(&self, core: NocCoord, processor: u8, entry: u32, code: &[u32]) {
        self.write(core, u64::from(entry), code);
        let mailbox = MAILBOX_BASE + u64::from(processor) * MAILBOX_STRIDE;
        self.write(core, mailbox + kernel_abi::MAILBOX_ENTRY, &[entry]);
        self.write(core, mailbox + kernel_abi::MAILBOX_LAUNCH, &[0x7000]);
        self.write(core, mailbox + kernel_abi::MAILBOX_GO, &[kernel_abi::GO_START]);
    }

    pub(super) fn mailbox(&self, core: NocCoord, processor: u8, word: u64) -> u32 {
        self.read(core, MAILBOX_BASE + u64::from(processor) * MAILBOX_STRIDE + word)
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

    /// Launches processor 0 of [`WORKER`] with `code` and waits for it.
    pub(super) fn launch_one(&self, code: &[u32], config: &ExecConfig) -> HartOutcome {
        self.load(WORKER, 0, CODE, code);
        let launch = [Launch { core: WORKER, processor: 0 }];
        let mut outcomes = self.chip.launch(&launch, config).unwrap().wait().unwrap();
        outcomes.pop().unwrap()
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

fn quick() -> ExecConfig {
    ExecConfig { instruction_budget: 1_000_000, timeout: Duration::from_secs(10), threads: 2 }
}

#[test]
fn mailbox_reports_done_with_result_and_instret() {
    let t = TestChip::new();
    let mut code = rv::li(rv::A0, 42).to_vec();
    code.push(rv::ret());
    let outcome = t.launch_one(&code, &quick());
    assert_eq!(
        outcome,
        HartOutcome::Done { core: WORKER, processor: 0, exit_code: 42, instret: 3 }
    );
    assert_eq!(t.mailbox(WORKER, 0, kernel_abi::MAILBOX_GO), kernel_abi::GO_DONE);
    assert_eq!(t.mailbox(WORKER, 0, kernel_abi::MAILBOX_RESULT), 42);
    assert_eq!(t.mailbox(WORKER, 0, kernel_abi::MAILBOX_INSTRET_LO), 3);
    assert_eq!(t.mailbox(WORKER, 0, kernel_abi::MAILBOX_INSTRET_HI), 0);
}

#[test]
fn mailbox_reports_error_with_cause_and_pc() {
    let t = TestChip::new();
    let outcome = t.launch_one(&[rv::addi(rv::A0, 0, 1), rv::EBREAK], &quick());
    let HartOutcome::Error { cause, pc, message, .. } = &outcome else { panic!("{outcome:?}") };
    assert_eq!((*cause, *pc), (cause::EBREAK, CODE + 4));
    assert!(message.contains("(1, 1)") && message.contains("0x8004"), "{message}");
    assert!(message.contains("EBREAK"), "{message}");
    assert_eq!(t.mailbox(WORKER, 0, kernel_abi::MAILBOX_GO), kernel_abi::GO_ERROR);
    assert_eq!(t.mailbox(WORKER, 0, kernel_abi::MAILBOX_RESULT), cause::EBREAK);
    assert_eq!(t.mailbox(WORKER, 0, kernel_abi::MAILBOX_ERROR_PC), CODE + 4);
    assert_eq!(t.mailbox(WORKER, 0, kernel_abi::MAILBOX_INSTRET_LO), 1);
    let err = outcome.into_result().unwrap_err();
    assert!(matches!(err, SimError::KernelFault { cause: cause::EBREAK, .. }), "{err}");
}

#[test]
fn start_state_follows_the_abi() {
    let t = TestChip::new();
    // Store a0, sp, ra and mhartid, then return a0 + 1.
    let code = [
        rv::lui(rv::T0, DATA),
        rv::sw(rv::A0, rv::T0, 0),
        rv::sw(rv::SP, rv::T0, 4),
        rv::sw(rv::RA, rv::T0, 8),
        rv::csr(2, rv::T1, 0xf14, 0),
        rv::sw(rv::T1, rv::T0, 12),
        rv::addi(rv::A0, rv::A0, 1),
        rv::ret(),
    ];
    t.load(WORKER, 3, CODE, &code);
    let outcomes =
        t.chip.launch(&[Launch { core: WORKER, processor: 3 }], &quick()).unwrap().wait().unwrap();
    assert!(matches!(outcomes[0], HartOutcome::Done { exit_code: 0x7001, processor: 3, .. }));
    let data = |i: u64| t.read(WORKER, u64::from(DATA) + i * 4);
    assert_eq!(data(0), 0x7000, "a0 = launch block");
    assert_eq!(u64::from(data(1)), kernel_abi::stack_top(3));
    assert_eq!(u64::from(data(2)), kernel_abi::EXIT_ADDR);
    assert_eq!(data(3), 3, "mhartid = processor");
}

#[test]
fn budget_and_timeout_stop_runaway_kernels() {
    let t = TestChip::new();
    let spin = [rv::jal(rv::ZERO, 0)];
    // An unrepresentable timeout means none, not a panic.
    let config = ExecConfig { instruction_budget: 10_000, timeout: Duration::MAX, ..quick() };
    let outcome = t.launch_one(&spin, &config);
    let HartOutcome::Error { cause, pc, message, .. } = outcome else { panic!() };
    assert_eq!((cause, pc), (cause::BUDGET_EXHAUSTED, CODE));
    assert!(message.contains("budget of 10000"), "{message}");
    assert_eq!(t.mailbox(WORKER, 0, kernel_abi::MAILBOX_INSTRET_LO), 10_000);

    let config =
        ExecConfig { instruction_budget: u64::MAX, timeout: Duration::from_millis(50), threads: 1 };
    let start = Instant::now();
    let outcome = t.launch_one(&spin, &config);
    let HartOutcome::Error { cause, message, .. } = outcome else { panic!() };
    assert_eq!(cause, cause::BUDGET_EXHAUSTED);
    assert!(message.contains("timed out"), "{message}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn dropping_a_group_stops_its_harts() {
    let t = TestChip::new();
    t.load(WORKER, 0, CODE, &[rv::jal(rv::ZERO, 0)]);
    let config = ExecConfig { instruction_budget: u64::MAX, ..quick() };
    let group = t.chip.launch(&[Launch { core: WORKER, processor: 0 }], &config).unwrap();
    assert_eq!(t.mailbox(WORKER, 0, kernel_abi::MAILBOX_GO), kernel_abi::GO_RUNNING);
    assert!(!group.is_finished());
    drop(group);
    assert_eq!(t.mailbox(WORKER, 0, kernel_abi::MAILBOX_GO), kernel_abi::GO_ERROR);
    assert_eq!(t.mailbox(WORKER, 0, kernel_abi::MAILBOX_RESULT), cause::BUDGET_EXHAUSTED);
}

#[test]
fn launch_validation_runs_nothing_on_error() {
    let t = TestChip::new();
    let code = [rv::ret()];
    t.load(WORKER, 0, CODE, &code);
    let good = Launch { core: WORKER, processor: 0 };
    let config = quick();
    let refuse = |launches: &[Launch]| t.chip.launch(launches, &config).unwrap_err();

    let err = refuse(&[good, Launch { core: WORKER, processor: 1 }]);
    assert!(matches!(err, SimError::NotStarted { go: 0, processor: 1, .. }), "{err}");
    assert!(err.to_string().contains("GO_START"), "{err}");
    let err = refuse(&[good, Launch { core: WORKER, processor: 5 }]);
    assert!(matches!(err, SimError::NoSuchProcessor { processor: 5, .. }), "{err}");
    let err = refuse(&[good, good]);
    assert!(matches!(err, SimError::DuplicateLaunch { .. }), "{err}");
    let dram = t.chip.soc().dram_channels()[0].endpoints[0];
    let err = refuse(&[good, Launch { core: dram, processor: 0 }]);
    assert!(matches!(err, SimError::NotAKernelCore { .. }), "{err}");
    let err = refuse(&[Launch { core: NocCoord::new(0, 2), processor: 0 }]);
    assert!(matches!(err, SimError::NotAKernelCore { .. }), "router-only: {err}");
    let err = refuse(&[Launch { core: NocCoord::new(40, 1), processor: 0 }]);
    assert!(matches!(err, SimError::OutOfGrid { .. }), "{err}");

    // Nothing ran and the good mailbox still says GO_START, so it can launch now.
    assert_eq!(t.mailbox(WORKER, 0, kernel_abi::MAILBOX_GO), kernel_abi::GO_START);
    let outcomes = t.chip.launch(&[good], &config).unwrap().wait().unwrap();
    assert!(matches!(outcomes[0], HartOutcome::Done { .. }));
    // A finished mailbox is not GO_START: launching it again is refused.
    let err = refuse(&[good]);
    assert!(matches!(err, SimError::NotStarted { go: kernel_abi::GO_DONE, .. }), "{err}");
    assert!(t.chip.launch(&[], &config).unwrap().wait().unwrap().is_empty());
}

/// The consumer spins on a local flag until the producer, on another core, NoC-writes a
/// value and then the flag; the consumer answers with an atomic increment of the producer's
/// semaphore, which the producer spins on. Neither finishes unless both interleave.
fn exchange_through_flags(threads: usize) {
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
    consumer.extend(rv::li(rv::T0, flag));
    consumer.extend([rv::lw(rv::A0, rv::T0, 4), rv::ret()]);

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
    producer.extend([rv::lw(rv::A0, rv::T0, 0), rv::beq(rv::A0, rv::ZERO, -4), rv::ret()]);

    t.load(OTHER_WORKER, 1, CODE, &consumer);
    t.load(WORKER, 0, CODE, &producer);
    // Consumer first, so on one thread it spins before the producer has run at all.
    let launches =
        [Launch { core: OTHER_WORKER, processor: 1 }, Launch { core: WORKER, processor: 0 }];
    let config = ExecConfig { threads, ..quick() };
    let outcomes = t.chip.launch(&launches, &config).unwrap().wait().unwrap();
    let codes: Vec<u32> = outcomes.into_iter().map(|o| o.into_result().unwrap()).collect();
    assert_eq!(codes, [1234, 1234]);
}

#[test]
fn harts_on_two_cores_exchange_data_on_one_thread() {
    exchange_through_flags(1);
}

#[test]
fn harts_on_two_cores_exchange_data_on_two_threads() {
    exchange_through_flags(2);
}

#[test]
fn five_processors_of_one_core_run_with_their_own_stacks() {
    let t = TestChip::new();
    // Push mhartid on the stack, pop it into a0 and return it.
    let code = [
        rv::csr(2, rv::T0, 0xf14, 0),
        rv::sw(rv::T0, rv::SP, -4),
        rv::lw(rv::A0, rv::SP, -4),
        rv::ret(),
    ];
    let launches: Vec<Launch> = (0..5u8)
        .map(|processor| {
            t.load(WORKER, processor, CODE + u32::from(processor) * 0x100, &code);
            Launch { core: WORKER, processor }
        })
        .collect();
    let outcomes = t.chip.launch(&launches, &quick()).unwrap().wait().unwrap();
    for (processor, outcome) in outcomes.into_iter().enumerate() {
        assert_eq!(outcome.processor() as usize, processor);
        assert_eq!(outcome.into_result().unwrap(), processor as u32);
        let top = kernel_abi::stack_top(processor as u64);
        assert_eq!(t.read(WORKER, top - 4), processor as u32);
    }
}

#[test]
fn blackhole_and_ethernet_cores_run_kernels() {
    let dir = tempfile::tempdir().unwrap();
    let blackhole = SimChip::open_in(dir.path(), Arch::Blackhole, 0).unwrap();
    let t = TestChip::new();
    let code = [rv::addi(rv::A0, rv::ZERO, 77), rv::ret()];
    for (chip, core) in [
        (&blackhole, blackhole.soc().tensix_cores()[3]),
        (&t.chip, t.chip.soc().ethernet_cores()[0]),
    ] {
        let mut window = chip.allocate_tlb(2 << 20).unwrap();
        window.configure(core, 0).unwrap();
        let l1 = window.region().unwrap();
        l1.write32(CODE as usize, code[0]).unwrap();
        l1.write32(CODE as usize + 4, code[1]).unwrap();
        l1.write32((MAILBOX_BASE + kernel_abi::MAILBOX_ENTRY) as usize, CODE).unwrap();
        l1.write32((MAILBOX_BASE + kernel_abi::MAILBOX_GO) as usize, kernel_abi::GO_START).unwrap();
        let outcomes =
            chip.launch(&[Launch { core, processor: 0 }], &quick()).unwrap().wait().unwrap();
        assert_eq!(outcomes[0].clone().into_result().unwrap(), 77, "{core}");
    }
}
