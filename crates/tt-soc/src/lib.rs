//! Chip architectures and SoC descriptors for Tenstorrent Wormhole B0 and Blackhole.
//!
//! Everything the rest of the runtime needs to know about a chip's shape lives here: the
//! NOC grid and what sits at each coordinate, memory sizes, DRAM channels and banks,
//! harvesting, TLB window classes, and the per-core L1 memory map. Descriptors come built
//! in ([`SocDescriptor::builtin`]) or from tt-umd's YAML files ([`SocDescriptor::from_yaml`]).

mod arch;
mod board;
mod builtin;
mod coord;
mod descriptor;
mod error;
pub mod firmware;
mod harvest;
pub mod kernel_abi;
pub mod l1_map;
mod locate;
pub mod tile;
mod translate;
mod yaml;

pub use arch::{Arch, HarvestAxis, TlbSizeClass};
pub use board::{BoardPreset, BoardType, PresetChip};
pub use coord::{ChipUid, CoreKind, LogicalCoord, Noc1Coord, NocCoord, TranslatedCoord};
pub use descriptor::{DramBank, DramChannel, SocDescriptor};
pub use error::SocError;
pub use harvest::HarvestingMasks;
pub use yaml::{MAX_DESCRIPTOR_BYTES, MAX_FLOW_NESTING, MAX_GRID_SIDE};
