//! Device access for Tenstorrent chips.
//!
//! [`Device::open`] takes a spec: `sim:wormhole_b0[:ID]`, `sim:blackhole[:ID]` (a simulated
//! bare chip, see tt-sim), `sim:n150`, `sim:n300[:ID[:CHIP]]`, `sim:p100a`, `sim:p150a` (a chip
//! of a simulated board) or a tt-kmd device path such as `/dev/tenstorrent/0` (a card over
//! PCIe, see tt-kmd). Opening asks the chip's firmware for its board, unique id and harvesting
//! ([`ChipIdentity`]) the same way on both backends. [`Device::open_default`] takes the first card and falls back to a simulated
//! Wormhole B0 when none is present. Either way the same API reads and writes any Tensix or
//! Ethernet core's L1 and any DRAM channel or bank by NOC coordinates, splitting transfers
//! across TLB windows as the hardware requires.

mod backend;
mod device;
mod discovery;
mod error;
mod launch;
mod spec;
mod tile_regs;
mod window_pool;

pub use device::{BackendKind, Device, DramBankId, DramChannelId, OpenOptions};
pub use discovery::ChipIdentity;
pub use error::DeviceError;
pub use launch::{DeviceLaunch, ExecLimits, KernelStart, LaunchOutcome};
pub use spec::DeviceSpec;
pub use tt_sim::SimKind;
pub use tt_soc::{
    Arch, BoardPreset, BoardType, ChipUid, CoreKind, HarvestingMasks, LogicalCoord, NocCoord,
    SocDescriptor,
};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_boards;
