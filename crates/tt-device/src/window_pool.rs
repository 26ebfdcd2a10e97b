//! A small set of TLB windows of one size, reused by least-recent use.
//!
//! Reconfiguring a window costs an ioctl on a card and two mmaps on the simulator, so the
//! pool keeps each window pointed where it was last used and picks the one already showing
//! the wanted (core, base) when there is one, as tt-umd's static per-core TLBs do.

use tt_mmio::MmioRegion;
use tt_soc::TranslatedCoord;

use crate::backend::{Backend, Window};
use crate::DeviceError;

struct Slot {
    window: Box<dyn Window>,
    target: Option<(TranslatedCoord, u64)>,
    last_used: u64,
}

pub(crate) struct WindowPool {
    size: u64,
    capacity: usize,
    slots: Vec<Slot>,
    clock: u64,
}

impl WindowPool {
    /// A pool of at most `capacity` windows of `size` bytes, allocated on first use.
    pub(crate) fn new(size: u64, capacity: usize) -> Self {
        WindowPool { size, capacity: capacity.max(1), slots: Vec::new(), clock: 0 }
    }

    /// A pool that starts with `first`, a window of `size` bytes already allocated.
    pub(crate) fn with_first(size: u64, capacity: usize, first: Box<dyn Window>) -> Self {
        let mut pool = Self::new(size, capacity);
        pool.slots.push(Slot { window: first, target: None, last_used: 0 });
        pool
    }

    pub(crate) fn window_size(&self) -> u64 {
        self.size
    }

    /// The region of a window showing the core a TLB programmed with `core` reaches, from
    /// `base` (a multiple of the window size).
    pub(crate) fn region(
        &mut self,
        backend: &Backend,
        core: TranslatedCoord,
        base: u64,
    ) -> Result<&MmioRegion, DeviceError> {
        self.clock += 1;
        let wanted = Some((core, base));
        let showing = self.slots.iter().position(|s| s.target == wanted);
        let unused = || self.slots.iter().position(|s| s.target.is_none());
        let index = match showing.or_else(unused) {
            Some(i) => i,
            None => {
                if self.slots.len() < self.capacity {
                    let window = backend.allocate_window(self.size)?;
                    self.slots.push(Slot { window, target: None, last_used: 0 });
                    self.slots.len() - 1
                } else {
                    // The pool is full and capacity >= 1, so there is a least recent slot.
                    let lru = self.slots.iter().enumerate().min_by_key(|(_, s)| s.last_used);
                    lru.map_or(0, |(i, _)| i)
                }
            }
        };
        let slot = &mut self.slots[index];
        slot.last_used = self.clock;
        if slot.target != wanted {
            slot.target = None;
            slot.window.configure(core, base)?;
            slot.target = wanted;
        }
        slot.window.region().ok_or(DeviceError::WindowUnmapped { core, base })
    }
}
