//! Simulator backend: a Tenstorrent chip held in one shared-memory file.
//!
//! The file holds a header, the ARC tile's firmware registers and telemetry, the L1 of every
//! Tensix and Ethernet core, and every DRAM channel. It is sparse, so a 12 GiB Wormhole or 32 GiB Blackhole
//! opens in milliseconds and uses memory only for the pages written. One process at a time
//! may use a chip (an open-file-description lock on the file); the file outlives the process
//! so its contents can be inspected and reopened.
//!
//! TLB windows behave as on the card: a window of the architecture's size is reserved in
//! the address space, and configuring it for (x, y, address) maps the matching slice of the
//! chip file over it, so reads and writes are plain volatile loads and stores.
//!
//! A file simulates a bare chip (`sim:wormhole_b0`) or one chip of a board (`sim:n300:0:1`)
//! with the board's harvesting. Its simulated ARC firmware answers what a card's does: the
//! telemetry table (board id, unique id, Blackhole harvesting) and, on Wormhole, the
//! harvesting ARC message, so the runtime discovers the board the same way on both backends.
//!
//! The RISC-V cores run RV32IM code from L1 and see the tile registers Tenstorrent documents
//! (`tt_soc::tile`): local data RAM, the two NIUs with their request initiators and
//! counters, soft reset and the wall clock; any other register stops the core with
//! "unmodelled register". A core starts only when the host clears its soft-reset bit (through
//! a TLB window, as on the card): it runs from its documented reset pc until the bit is set
//! again, and [`SimChip::core_state`] reports a core that stopped on its own. The host runs
//! kernels through firmware it places at the reset pcs, by L1 writes alone.

mod chip;
mod error;
mod exec;
mod firmware;
mod inherit;
mod layout;
mod listing;
mod tlb;

#[cfg(fuzzing)]
#[doc(hidden)]
pub use chip::fuzzing;
pub use chip::{default_sim_dir, SimChip, SimKind};
pub use error::SimError;
pub use exec::cause_name;
pub use exec::reset::CoreState;
pub use firmware::{answer_wormhole_message, published_words, FirmwareIdentity};
pub use layout::ChipLayout;
pub use listing::{list_chips, remove_chip, SimChipInfo};
pub use tlb::SimTlbWindow;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_hostile;
