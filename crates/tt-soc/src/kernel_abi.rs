//! The contract between the host, the simulator's RISC-V cores and kernel code (ABI v2).
//!
//! Kernels are freestanding RV32IM C, linked at address 0 and position independent, so the
//! loader may place them anywhere in a core's kernel region. Our firmware runs on every
//! processor from its reset pc (`crate::l1_map`); the host launches processor `p` of a core
//! by writing its mailbox in the reserved L1 area (`entry`, `launch`, then
//! `GO = GO_START`). The firmware calls `entry` with `sp` at the top of the processor's stack
//! and `a0` pointing at a [launch block](LAUNCH_BLOCK_BYTES); the kernel's return value is
//! its exit code, which the firmware stores in `RESULT` before setting `GO = GO_DONE`.
//! Kernels reach other cores and DRAM only through the documented NIU registers
//! (`crate::tile`); the launch block names the architecture so one binary knows which
//! register layout it runs on. `kernels/include/tt_kernel.h` carries the same numbers for C;
//! a test keeps the two in step.

/// ABI version, written in every launch block (2: the launch block names the architecture and
/// kernels use the documented NIU registers).
pub const ABI_VERSION: u32 = 2;

/// Launch block `arch` code of Wormhole B0.
pub const ARCH_WORMHOLE_B0: u32 = 0;
/// Launch block `arch` code of Blackhole.
pub const ARCH_BLACKHOLE: u32 = 1;

/// The launch block `arch` code of `arch`.
pub fn arch_code(arch: crate::Arch) -> u32 {
    match arch {
        crate::Arch::WormholeB0 => ARCH_WORMHOLE_B0,
        crate::Arch::Blackhole => ARCH_BLACKHOLE,
    }
}

/// Mailbox word: what the processor is doing ([`GO_IDLE`] ... [`GO_ERROR`]).
pub const MAILBOX_GO: u64 = 0x00;
/// Mailbox word: L1 address to start executing at.
pub const MAILBOX_ENTRY: u64 = 0x04;
/// Mailbox word: L1 address of the launch block, passed in `a0`.
pub const MAILBOX_LAUNCH: u64 = 0x08;
/// Mailbox word: the kernel's exit code (`a0` at return), or the error cause.
pub const MAILBOX_RESULT: u64 = 0x0c;
/// Mailbox word: pc of the faulting instruction after an error.
pub const MAILBOX_ERROR_PC: u64 = 0x10;
/// Mailbox words: instructions retired by the last run (low, high).
pub const MAILBOX_INSTRET_LO: u64 = 0x14;
/// High word of the retired-instruction count.
pub const MAILBOX_INSTRET_HI: u64 = 0x18;

/// `go`: nothing to run.
pub const GO_IDLE: u32 = 0;
/// `go`: the host asks the processor to start.
pub const GO_START: u32 = 1;
/// `go`: running.
pub const GO_RUNNING: u32 = 2;
/// `go`: returned normally; `result` holds the exit code.
pub const GO_DONE: u32 = 3;
/// `go`: stopped by an error; `result` holds the cause, `error_pc` the pc.
pub const GO_ERROR: u32 = 4;

/// Error causes reported in `result` when `go` is [`GO_ERROR`].
pub mod cause {
    /// An instruction the core does not implement.
    pub const ILLEGAL_INSTRUCTION: u32 = 1;
    /// A load or store not aligned to its size.
    pub const MISALIGNED_ACCESS: u32 = 2;
    /// An access outside L1 and below the tile registers.
    pub const ACCESS_FAULT: u32 = 3;
    /// `ecall` (kernels have no environment to call).
    pub const ECALL: u32 = 4;
    /// `ebreak`.
    pub const EBREAK: u32 = 5;
    /// A NoC request the simulator refused (bad target, out of range, not modelled).
    pub const NOC_ERROR: u32 = 7;
    /// An instruction fetch from outside the core's L1.
    pub const FETCH_FAULT: u32 = 8;
    /// A load or store to a tile register the simulator does not model (`tt_soc::tile`).
    pub const UNMODELLED_REGISTER: u32 = 9;
    /// A Tensix coprocessor instruction push or window: the simulator runs RISC-V only.
    pub const COPROCESSOR_NOT_MODELLED: u32 = 10;
}

/// Stack of processor `p`: `[STACK_BASE + p * STACK_BYTES, STACK_BASE + (p + 1) * STACK_BYTES)`,
/// after the last firmware slot (RISCV NC's, at `0x12000`).
pub const STACK_BASE: u64 = 0x13000;
/// Bytes of stack per processor.
pub const STACK_BYTES: u64 = 0x1000;

/// Top of processor `p`'s stack (its initial `sp`).
pub const fn stack_top(processor: u64) -> u64 {
    STACK_BASE + (processor + 1) * STACK_BYTES
}

/// A fetch from this address stops a simulated core as having returned (the simulator's
/// instruction-level tests start cores with `ra` here): it is outside L1 and every documented
/// register region (`crate::tile`), so no fetch from it can be real code.
pub const EXIT_ADDR: u64 = 0xFFB0_1000;

/// Bytes of a launch block: magic, version, core x/y, logical x/y, (count, address) pairs for
/// runtime args, circular buffers and semaphores, the architecture code, three spare words.
pub const LAUNCH_BLOCK_BYTES: u64 = 64;
/// Launch block magic ("TTL1").
pub const LAUNCH_MAGIC: u32 = 0x314c_5454;
/// Bytes of one circular-buffer descriptor: base, size, page size, page count, pages
/// pushed, pages popped, and two spare words.
pub const CB_DESCRIPTOR_BYTES: u64 = 32;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::l1_map::{MAILBOX_BASE, MAILBOX_STRIDE, MAX_PROCESSORS, RESERVED_END};

    // Mailboxes, stacks and the mailbox words fit, checked when the crate compiles; the
    // l1_map tests check that nothing overlaps.
    const _: () = assert!(MAILBOX_INSTRET_HI + 4 <= MAILBOX_STRIDE);
    const _: () = assert!(MAILBOX_BASE + MAX_PROCESSORS * MAILBOX_STRIDE <= 0x6000);
    const _: () = assert!(stack_top(MAX_PROCESSORS - 1) <= RESERVED_END);

    /// The C header must carry exactly these numbers.
    #[test]
    fn c_header_matches() {
        let header = include_str!("../../../kernels/include/tt_kernel.h");
        let define = |name: &str| -> u64 {
            let line = header
                .lines()
                .find(|l| l.split_whitespace().nth(1) == Some(name) && l.starts_with("#define"))
                .unwrap_or_else(|| panic!("tt_kernel.h has no #define {name}"));
            let value = line.split_whitespace().nth(2).unwrap().trim_end_matches('u');
            match value.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
                None => value.parse().unwrap(),
            }
        };
        let expect = [
            ("TT_ABI_VERSION", u64::from(ABI_VERSION)),
            ("TT_ARCH_WORMHOLE_B0", u64::from(ARCH_WORMHOLE_B0)),
            ("TT_ARCH_BLACKHOLE", u64::from(ARCH_BLACKHOLE)),
            ("TT_MAILBOX_BASE", MAILBOX_BASE),
            ("TT_MAILBOX_STRIDE", MAILBOX_STRIDE),
            ("TT_GO_IDLE", u64::from(GO_IDLE)),
            ("TT_GO_START", u64::from(GO_START)),
            ("TT_GO_RUNNING", u64::from(GO_RUNNING)),
            ("TT_GO_DONE", u64::from(GO_DONE)),
            ("TT_STACK_BASE", STACK_BASE),
            ("TT_STACK_BYTES", STACK_BYTES),
            ("TT_LAUNCH_MAGIC", u64::from(LAUNCH_MAGIC)),
            ("TT_LAUNCH_BLOCK_BYTES", LAUNCH_BLOCK_BYTES),
            ("TT_CB_DESCRIPTOR_BYTES", CB_DESCRIPTOR_BYTES),
        ];
        for (name, value) in expect {
            assert_eq!(define(name), value, "{name}");
        }
    }
}
