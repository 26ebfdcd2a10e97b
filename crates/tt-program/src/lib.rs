//! Programs for Tenstorrent chips: RISC-V kernels on core sets, circular buffers, semaphores
//! and runtime arguments; load, run, and a drop that frees exactly what the load placed.
//!
//! [`Runtime`] is the device session: opening it records the fixed RESERVED area, brings
//! every Tensix core up with our firmware at the reset pcs and places the persistent SYSTEM
//! kernels (firmware, dispatch, fabric); closing it holds the cores in reset and releases
//! them. Everything is
//! recorded through tt-track with the sizes placed, so a monitor returns to the SYSTEM +
//! RESERVED baseline when the last program is dropped and to nothing when the session ends.

mod buffer;
mod builtin;
mod elf;
mod error;
mod loaded;
mod program;
mod runtime;
pub mod workloads;

pub use buffer::{dram_bank_table, Buffer, DRAM_BANK_ENTRY_BYTES};
pub use builtin::{builtin_kernel, firmware, BUILTIN_KERNELS};
pub use elf::{KernelImage, IMAGE_ALIGN};
pub use error::ProgramError;
pub use loaded::LoadedProgram;
pub use program::{KernelId, Processor, Program};
pub use runtime::{CloseError, LiveHandles, Runtime};

#[cfg(test)]
mod tests;
