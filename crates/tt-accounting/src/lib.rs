//! The accounting vocabulary of tt-runtime, in one place beneath the allocator (tt-alloc), the
//! program loader (tt-program) and the tracker (tt-track).
//!
//! Everything the runtime places on a chip is described once, as a [`Placement`]: its
//! [`MemKind`], the bytes its owner asked for in each bank or core (*payload*, the
//! [`BankSpan`]s) and the bytes it removed from the chip's free pools (*reserved*, the
//! [`Reservation`]). "Used" always means reserved: an interleaved page reserves its offset in
//! every bank, and an L1 range allocated in lockstep is gone from every core, whatever the
//! payload. The [`PlacementTracker`] that records a placement returns the
//! [`PlacementGuard`] its owner keeps; dropping the guard records the release with the sizes
//! captured at placement.

mod fork;
mod kind;
mod placement;

pub use fork::{fork_generation, ForkGeneration};
pub use kind::{BankClass, BankType, MemKind};
pub use placement::{
    BankHealth, BankSpan, NoTracking, Placement, PlacementGuard, PlacementRefused,
    PlacementTracker, Reservation,
};
