//! One RISC-V hart: registers, a decoded-instruction cache and the RV32IM interpreter loop.

use tt_soc::kernel_abi::{self, cause};
use tt_soc::NocCoord;

use super::decode::{decode, Kind, Op};
use super::memory::Span;
use super::tile::Bus;

/// Taken backward branches with unchanged operands after which a spinning hart yields.
const SPIN_TURNS: u32 = 32;

/// Direct-mapped decode cache slots per hart (covers 8 KiB of kernel text without conflict).
const CACHE_SLOTS: usize = 2048;

const EXIT_ADDR: u32 = kernel_abi::EXIT_ADDR as u32;

const REG_RA: usize = 1;
const REG_SP: usize = 2;
const REG_A0: usize = 10;

/// `misa`: MXL = 1 (32-bit), extensions I and M.
const MISA: u32 = (1 << 30) | (1 << 8) | (1 << 12);

/// A cached decoding, valid while the word at `pc` still equals `raw`. Comparing the raw
/// word on every fetch keeps the cache right even when another hart or the host rewrites
/// code, at the cost of one load that the fetch does anyway.
#[derive(Clone, Copy)]
struct Slot {
    pc: u32,
    raw: u32,
    op: Op,
}

/// Why a hart stopped.
#[derive(Debug)]
pub(crate) enum Stop {
    /// Returned to `EXIT_ADDR` with this `a0`.
    Exit(u32),
    /// Stopped by an error at `pc`.
    Trap { cause: u32, pc: u32, detail: String },
}

/// Architectural state of one processor running one kernel.
pub(crate) struct Hart {
    pub(crate) core: NocCoord,
    pub(crate) processor: u8,
    /// x0..x31, then the sink register `decode::SINK` that swallows writes to x0, then
    /// padding so that any 6-bit index is in bounds.
    regs: [u32; 64],
    pub(crate) pc: u32,
    pub(crate) instret: u64,
    /// Whether the last [`Hart::run`] ended early because the hart was spin-waiting.
    pub(crate) spinning: bool,
    l1: Span,
    bus: Bus,
    cache: Box<[Slot]>,
}

#[cold]
fn trap(cause: u32, pc: u32, detail: String) -> Stop {
    Stop::Trap { cause, pc, detail }
}

impl Hart {
    /// A hart about to run from `entry` with the ABI's start state.
    pub(crate) fn new(
        core: NocCoord,
        processor: u8,
        entry: u32,
        launch_block: u32,
        l1: Span,
        bus: Bus,
    ) -> Hart {
        let mut regs = [0u32; 64];
        regs[REG_RA] = EXIT_ADDR;
        regs[REG_SP] = kernel_abi::stack_top(u64::from(processor)) as u32;
        regs[REG_A0] = launch_block;
        let empty = Slot { pc: u32::MAX, raw: 0, op: decode(0) };
        Hart {
            core,
            processor,
            regs,
            pc: entry,
            instret: 0,
            spinning: false,
            l1,
            bus,
            cache: vec![empty; CACHE_SLOTS].into_boxed_slice(),
        }
    }

    /// A hart leaving soft reset: every register zero and `pc` at the reset pc
    /// (SoftReset.md, "Upon leaving soft reset").
    pub(crate) fn at_reset(core: NocCoord, processor: u8, pc: u32, l1: Span, bus: Bus) -> Hart {
        let mut hart = Hart::new(core, processor, pc, 0, l1, bus);
        hart.regs = [0; 64];
        hart
    }

    /// Register `index` (x0..x31), for tests and reports.
    #[cfg(test)]
    pub(crate) fn reg(&self, index: usize) -> u32 {
        self.regs[index & 31]
    }

    /// Runs at most `max` instructions; `None` when the hart is still running after them.
    pub(crate) fn run(&mut self, max: u64) -> Option<Stop> {
        let Hart { regs, pc: hart_pc, instret, l1, bus, cache, processor, spinning, .. } = self;
        *spinning = false;
        let processor = *processor;
        let mut pc = *hart_pc;
        let mut left = max;
        // A spin-wait: the same backward branch taken with the same operands again and again.
        // Such a core waits for another, so its slice ends early and the others run; this only
        // changes the order harts take turns in, never what a hart computes.
        let mut spin = (u32::MAX, 0u32, 0u32, 0u32);
        let stop = loop {
            let Some(raw) = l1.load_u32(pc) else {
                break Some(fetch_stop(pc, regs[REG_A0], l1.len()));
            };
            if left == 0 {
                break None;
            }
            let slot = &mut cache[(pc as usize >> 2) & (CACHE_SLOTS - 1)];
            if slot.pc != pc || slot.raw != raw {
                *slot = Slot { pc, raw, op: decode(raw) };
            }
            let op = slot.op;
            let rs1 = regs[usize::from(op.rs1 & 63)];
            let rs2 = regs[usize::from(op.rs2 & 63)];
            let rd = usize::from(op.rd & 63);
            let imm = op.imm as u32;
            let mut next = pc.wrapping_add(4);
            match op.kind {
                Kind::Addi => regs[rd] = rs1.wrapping_add(imm),
                Kind::Add => regs[rd] = rs1.wrapping_add(rs2),
                Kind::Lw => match load(l1, bus, pc, rs1.wrapping_add(imm), 4) {
                    Ok(v) => regs[rd] = v,
                    Err(stop) => break Some(stop),
                },
                Kind::Sw => {
                    if let Err(stop) = store(l1, bus, pc, rs1.wrapping_add(imm), rs2, 4) {
                        break Some(stop);
                    }
                }
                Kind::Beq | Kind::Bne | Kind::Blt | Kind::Bge | Kind::Bltu | Kind::Bgeu => {
                    let taken = match op.kind {
                        Kind::Beq => rs1 == rs2,
                        Kind::Bne => rs1 != rs2,
                        Kind::Blt => (rs1 as i32) < (rs2 as i32),
                        Kind::Bge => (rs1 as i32) >= (rs2 as i32),
                        Kind::Bltu => rs1 < rs2,
                        _ => rs1 >= rs2,
                    };
                    if taken {
                        next = pc.wrapping_add(imm);
                        if next & 3 != 0 {
                            break Some(misaligned_jump(pc, next));
                        }
                        if next < pc {
                            if (spin.0, spin.1, spin.2) == (pc, rs1, rs2) {
                                spin.3 += 1;
                                if spin.3 >= SPIN_TURNS {
                                    pc = next;
                                    left -= 1;
                                    *spinning = true;
                                    break None;
                                }
                            } else {
                                spin = (pc, rs1, rs2, 0);
                            }
                        }
                    }
                }
                Kind::Jal | Kind::Jalr => {
                    next = if op.kind == Kind::Jal {
                        pc.wrapping_add(imm)
                    } else {
                        rs1.wrapping_add(imm) & !1
                    };
                    if next & 3 != 0 {
                        break Some(misaligned_jump(pc, next));
                    }
                    regs[rd] = pc.wrapping_add(4);
                    // A jump to itself parks the hart for good: a spin from the first turn.
                    if next == pc {
                        left -= 1;
                        *spinning = true;
                        break None;
                    }
                }
                Kind::Lui => regs[rd] = imm,
                Kind::Auipc => regs[rd] = pc.wrapping_add(imm),
                Kind::Lb | Kind::Lh | Kind::Lbu | Kind::Lhu => {
                    let width = if matches!(op.kind, Kind::Lb | Kind::Lbu) { 1 } else { 2 };
                    match load(l1, bus, pc, rs1.wrapping_add(imm), width) {
                        Ok(v) => {
                            regs[rd] = match op.kind {
                                Kind::Lb => v as u8 as i8 as u32,
                                Kind::Lh => v as u16 as i16 as u32,
                                _ => v,
                            }
                        }
                        Err(stop) => break Some(stop),
                    }
                }
                Kind::Sb | Kind::Sh => {
                    let width = if op.kind == Kind::Sb { 1 } else { 2 };
                    if let Err(stop) = store(l1, bus, pc, rs1.wrapping_add(imm), rs2, width) {
                        break Some(stop);
                    }
                }
                Kind::Slti => regs[rd] = u32::from((rs1 as i32) < op.imm),
                Kind::Sltiu => regs[rd] = u32::from(rs1 < imm),
                Kind::Xori => regs[rd] = rs1 ^ imm,
                Kind::Ori => regs[rd] = rs1 | imm,
                Kind::Andi => regs[rd] = rs1 & imm,
                Kind::Slli => regs[rd] = rs1 << (imm & 31),
                Kind::Srli => regs[rd] = rs1 >> (imm & 31),
                Kind::Srai => regs[rd] = ((rs1 as i32) >> (imm & 31)) as u32,
                Kind::Sub => regs[rd] = rs1.wrapping_sub(rs2),
                Kind::Sll => regs[rd] = rs1 << (rs2 & 31),
                Kind::Slt => regs[rd] = u32::from((rs1 as i32) < (rs2 as i32)),
                Kind::Sltu => regs[rd] = u32::from(rs1 < rs2),
                Kind::Xor => regs[rd] = rs1 ^ rs2,
                Kind::Srl => regs[rd] = rs1 >> (rs2 & 31),
                Kind::Sra => regs[rd] = ((rs1 as i32) >> (rs2 & 31)) as u32,
                Kind::Or => regs[rd] = rs1 | rs2,
                Kind::And => regs[rd] = rs1 & rs2,
                Kind::Mul | Kind::Mulh | Kind::Mulhsu | Kind::Mulhu => {
                    regs[rd] = multiply(op.kind, rs1, rs2);
                }
                Kind::Div | Kind::Divu | Kind::Rem | Kind::Remu => {
                    regs[rd] = divide(op.kind, rs1, rs2);
                }
                Kind::Fence => {}
                Kind::Csrrw
                | Kind::Csrrs
                | Kind::Csrrc
                | Kind::Csrrwi
                | Kind::Csrrsi
                | Kind::Csrrci => {
                    let retired = *instret + (max - left);
                    match csr(op, pc, retired, processor) {
                        Ok(old) => regs[rd] = old,
                        Err(stop) => break Some(stop),
                    }
                }
                Kind::Ecall => {
                    break Some(trap(
                        cause::ECALL,
                        pc,
                        "ecall (kernels have no environment)".into(),
                    ))
                }
                Kind::Ebreak => break Some(trap(cause::EBREAK, pc, "ebreak".into())),
                Kind::Illegal => {
                    break Some(trap(
                        cause::ILLEGAL_INSTRUCTION,
                        pc,
                        format!("illegal instruction {raw:#010x} (not RV32IM)"),
                    ))
                }
            }
            pc = next;
            left -= 1;
        };
        *hart_pc = pc;
        *instret += max - left;
        // Requests this core issued happen by the end of its slice at the latest, so other
        // cores see them even when this one never waits.
        if bus.has_issued() {
            if let Err((cause, detail)) = bus.flush() {
                return Some(trap(cause, pc, detail));
            }
        }
        stop
    }
}

/// Why a fetch at `pc` (outside L1 or misaligned) stops the hart.
#[cold]
fn fetch_stop(pc: u32, a0: u32, l1_len: usize) -> Stop {
    if pc == EXIT_ADDR {
        return Stop::Exit(a0);
    }
    if pc & 3 != 0 {
        return trap(cause::MISALIGNED_ACCESS, pc, format!("fetch from misaligned pc {pc:#x}"));
    }
    trap(
        cause::FETCH_FAULT,
        pc,
        format!("instruction fetch from {pc:#x}, outside the {l1_len:#x}-byte L1"),
    )
}

#[cold]
fn misaligned_jump(pc: u32, target: u32) -> Stop {
    trap(cause::MISALIGNED_ACCESS, pc, format!("jump or branch to misaligned target {target:#x}"))
}

fn multiply(kind: Kind, a: u32, b: u32) -> u32 {
    match kind {
        Kind::Mul => a.wrapping_mul(b),
        Kind::Mulh => ((i64::from(a as i32) * i64::from(b as i32)) >> 32) as u32,
        Kind::Mulhsu => ((i64::from(a as i32) * i64::from(b)) >> 32) as u32,
        _ => ((u64::from(a) * u64::from(b)) >> 32) as u32,
    }
}

/// Division as the M extension defines it: never traps; by zero gives all ones (quotient)
/// or the dividend (remainder), and `i32::MIN / -1` overflows to `i32::MIN` remainder 0.
fn divide(kind: Kind, a: u32, b: u32) -> u32 {
    match (kind, b) {
        (Kind::Div | Kind::Divu, 0) => u32::MAX,
        (Kind::Rem | Kind::Remu, 0) => a,
        (Kind::Div, _) => (a as i32).wrapping_div(b as i32) as u32,
        (Kind::Divu, _) => a / b,
        (Kind::Rem, _) => (a as i32).wrapping_rem(b as i32) as u32,
        _ => a % b,
    }
}

/// Executes a CSR instruction, returning the old value for `rd`. Counters tick once per
/// retired instruction (`cycle` and `time` equal `instret`), so kernels see a deterministic
/// clock.
fn csr(op: Op, pc: u32, retired: u64, processor: u8) -> Result<u32, Stop> {
    let number = op.imm as u32 & 0xfff;
    let value = match number {
        0xc00..=0xc02 => retired as u32,
        0xc80..=0xc82 => (retired >> 32) as u32,
        0xf14 => u32::from(processor),
        0x301 => MISA,
        _ => {
            return Err(trap(
                cause::ILLEGAL_INSTRUCTION,
                pc,
                format!("access to unsupported CSR {number:#x}"),
            ))
        }
    };
    // csrrs/csrrc with x0 (or a zero immediate) only read; every other form writes.
    let writes = matches!(op.kind, Kind::Csrrw | Kind::Csrrwi) || op.rs1 != 0;
    // CSRs numbered 0xc00-0xfff are read-only by encoding; misa ignores writes (WARL).
    if writes && number >> 10 == 3 {
        return Err(trap(
            cause::ILLEGAL_INSTRUCTION,
            pc,
            format!("write to read-only CSR {number:#x}"),
        ));
    }
    Ok(value)
}

/// Loads `width` bytes (zero-extended) at `addr`.
#[inline(always)]
fn load(l1: &Span, bus: &mut Bus, pc: u32, addr: u32, width: u32) -> Result<u32, Stop> {
    let fast = match width {
        4 => l1.load_u32(addr),
        2 => l1.load_u16(addr).map(u32::from),
        _ => l1.load_u8(addr).map(u32::from),
    };
    match fast {
        Some(v) => Ok(v),
        None => load_slow(l1, bus, pc, addr, width),
    }
}

#[cold]
fn load_slow(l1: &Span, bus: &mut Bus, pc: u32, addr: u32, width: u32) -> Result<u32, Stop> {
    if addr % width != 0 {
        return Err(misaligned(pc, "load", addr, width));
    }
    if (addr as usize) < l1.len() || addr < tt_soc::tile::LOCAL_DATA_BASE {
        return Err(access_fault(pc, "load", addr, width, l1.len()));
    }
    bus.load(addr, width).map_err(|(cause, detail)| trap(cause, pc, detail))
}

/// Stores the low `width` bytes of `value` at `addr`.
#[inline(always)]
fn store(l1: &Span, bus: &mut Bus, pc: u32, addr: u32, value: u32, width: u32) -> Result<(), Stop> {
    let stored = match width {
        4 => l1.store_u32(addr, value),
        2 => l1.store_u16(addr, value as u16),
        _ => l1.store_u8(addr, value as u8),
    };
    if stored {
        return Ok(());
    }
    store_slow(l1, bus, pc, addr, value, width)
}

#[cold]
fn store_slow(
    l1: &Span,
    bus: &mut Bus,
    pc: u32,
    addr: u32,
    value: u32,
    width: u32,
) -> Result<(), Stop> {
    if addr % width != 0 {
        return Err(misaligned(pc, "store", addr, width));
    }
    if (addr as usize) < l1.len() || addr < tt_soc::tile::LOCAL_DATA_BASE {
        return Err(access_fault(pc, "store", addr, width, l1.len()));
    }
    bus.store(addr, value, width).map_err(|(cause, detail)| trap(cause, pc, detail))
}

fn misaligned(pc: u32, what: &str, addr: u32, width: u32) -> Stop {
    trap(
        cause::MISALIGNED_ACCESS,
        pc,
        format!("{width}-byte {what} at misaligned address {addr:#x}"),
    )
}

fn access_fault(pc: u32, what: &str, addr: u32, width: u32, l1_len: usize) -> Stop {
    trap(
        cause::ACCESS_FAULT,
        pc,
        format!(
            "{width}-byte {what} at {addr:#x}, outside the {l1_len:#x}-byte L1 (and below the \
             tile's registers at {:#x})",
            tt_soc::tile::LOCAL_DATA_BASE
        ),
    )
}
