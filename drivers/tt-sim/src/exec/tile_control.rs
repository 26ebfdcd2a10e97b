//! The tile control registers the simulator models: `RISCV_DEBUG_REG_SOFT_RESET_0` and the
//! debug timestamper's 64-bit wall clock (WormholeB0/TensixTile/SoftReset.md and
//! DebugTimestamper.md). Every other register of the region is refused by the caller.

use std::time::Instant;

use tt_soc::tile::{
    SoftReset, SOFT_RESET_OFFSET, WALL_CLOCK_H_OFFSET, WALL_CLOCK_L_OFFSET,
    WALL_CLOCK_L_PLUS_4_OFFSET,
};

/// One tile's control registers.
#[derive(Debug, Clone)]
pub(crate) struct TileControl {
    soft_reset: SoftReset,
    /// `counter_high_at` of DebugTimestamper.md: the high half latched by `WALL_CLOCK_L`.
    wall_high_latched: u32,
}

impl TileControl {
    /// Every RISC-V core held in soft reset, as the host leaves a tile before it starts one.
    pub(crate) fn new() -> TileControl {
        TileControl { soft_reset: SoftReset::ALL_RISCV, wall_high_latched: 0 }
    }

    /// The soft-reset register.
    #[cfg(test)]
    pub(crate) fn soft_reset(&self) -> SoftReset {
        self.soft_reset
    }

    /// Releases the given cores from reset (the start of a core).
    pub(crate) fn release(&mut self, cores: SoftReset) {
        self.soft_reset.remove(cores);
    }

    /// The register at `offset` in the tile control region, or `None` when not modelled. The
    /// wall clock counts nanoseconds since `epoch`: the counter "increments by one every
    /// clock cycle" (DebugTimestamper.md) and the cores run at 1 GHz (BabyRISCV/README.md).
    pub(crate) fn read(&mut self, offset: u32, epoch: Instant) -> Option<u32> {
        let counter = || epoch.elapsed().as_nanos() as u64;
        Some(match offset {
            SOFT_RESET_OFFSET => self.soft_reset.bits(),
            WALL_CLOCK_L_OFFSET => {
                let now = counter();
                self.wall_high_latched = (now >> 32) as u32;
                now as u32
            }
            WALL_CLOCK_L_PLUS_4_OFFSET => (counter() >> 32) as u32,
            WALL_CLOCK_H_OFFSET => self.wall_high_latched,
            _ => return None,
        })
    }

    /// Stores `value` at `offset`; `Err` when the register or the effect is not modelled.
    pub(crate) fn write(&mut self, offset: u32, value: u32, epoch: Instant) -> Result<(), String> {
        match offset {
            SOFT_RESET_OFFSET => {
                let new = SoftReset::from_bits_retain(value);
                let changed = (new ^ self.soft_reset) & SoftReset::ALL_RISCV;
                if !changed.is_empty() {
                    return Err(format!(
                        "store of {value:#x} to RISCV_DEBUG_REG_SOFT_RESET_0 would move RISC-V \
                         cores {:#x} into or out of soft reset, which a core cannot do in the \
                         simulator yet (only the host starts cores)",
                        changed.bits()
                    ));
                }
                // Bits 23 and up have "no effect" (SoftReset.md); keep only the defined ones.
                self.soft_reset = new & (SoftReset::ALL_RISCV | SoftReset::COPROCESSOR_UNITS);
                Ok(())
            }
            WALL_CLOCK_L_OFFSET => {
                self.wall_high_latched = (epoch.elapsed().as_nanos() as u64 >> 32) as u32;
                Ok(())
            }
            WALL_CLOCK_L_PLUS_4_OFFSET | WALL_CLOCK_H_OFFSET => Ok(()),
            _ => Err(String::new()),
        }
    }
}
