//! Kernel execution: the simulated chip's RISC-V cores, which see the documented tile
//! (`tt_soc::tile`): L1, local data RAM, the NIUs and the tile control registers. A core runs
//! only while it is out of soft reset, from its documented reset pc ([`reset`]); the host
//! starts kernels through the firmware it places there, by L1 writes alone.

mod decode;
mod hart;
pub(crate) mod memory;
mod niu;
pub(crate) mod reset;
pub(crate) mod tile;
mod tile_control;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_isa;
#[cfg(test)]
mod tests_niu;
#[cfg(test)]
mod tests_reset;
#[cfg(test)]
mod tests_tile;

use tt_soc::kernel_abi::cause;

/// Instructions a hart runs before its worker moves on to the next hart.
pub(crate) const SLICE: u64 = 4096;

/// The name of a `kernel_abi::cause` code, for messages.
pub fn cause_name(code: u32) -> &'static str {
    match code {
        cause::ILLEGAL_INSTRUCTION => "ILLEGAL_INSTRUCTION",
        cause::MISALIGNED_ACCESS => "MISALIGNED_ACCESS",
        cause::ACCESS_FAULT => "ACCESS_FAULT",
        cause::ECALL => "ECALL",
        cause::EBREAK => "EBREAK",
        cause::NOC_ERROR => "NOC_ERROR",
        cause::FETCH_FAULT => "FETCH_FAULT",
        cause::UNMODELLED_REGISTER => "UNMODELLED_REGISTER",
        cause::COPROCESSOR_NOT_MODELLED => "COPROCESSOR_NOT_MODELLED",
        _ => "UNKNOWN_CAUSE",
    }
}
