//! tt-runtime: a Rust runtime for Tenstorrent accelerator cards whose memory accounting is
//! exact. This facade re-exports the workspace crates; see the README for the layout.

pub use tt_alloc as alloc;
pub use tt_device as device;
pub use tt_program as program;
pub use tt_soc as soc;
pub use tt_track as track;
