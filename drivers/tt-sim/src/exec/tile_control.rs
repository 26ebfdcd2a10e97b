//! The tile control registers the simulator models: `RISCV_DEBUG_REG_SOFT_RESET_0` and the
//! debug timestamper's 64-bit wall clock (WormholeB0/TensixTile/SoftReset.md and
//! DebugTimestamper.md). Every other register of the region is refused by the caller.
//!
//! Soft reset lives in the tile's control page of the chip file, so the host reaches it
//! through a TLB window as on the card; the wall clock's latched high half is per tile state.

use std::time::Instant;

use tt_soc::tile::{
    RiscV, SoftReset, BLACKHOLE_RESET_PC, SOFT_RESET_OFFSET, WALL_CLOCK_H_OFFSET,
    WALL_CLOCK_L_OFFSET, WALL_CLOCK_L_PLUS_4_OFFSET,
};
use tt_soc::Arch;

use super::memory::ChipMemory;

/// The soft-reset register of the tile whose control page is at file offset `page`.
pub(crate) fn soft_reset(memory: &ChipMemory, page: u64) -> SoftReset {
    let mut word = [0u8; 4];
    // The control page is inside the chip file (the layout puts it there), so this read
    // succeeds; a failure would leave every bit clear, which no caller relies on.
    let _ = memory.read_bytes(page + u64::from(SOFT_RESET_OFFSET), &mut word);
    SoftReset::from_bits_retain(u32::from_le_bytes(word))
}

fn word(memory: &ChipMemory, at: u64) -> u32 {
    let mut bytes = [0u8; 4];
    // Control pages are inside the chip file (the layout puts them there).
    let _ = memory.read_bytes(at, &mut bytes);
    u32::from_le_bytes(bytes)
}

/// Whether `offset` is one of Blackhole's reset pc override registers.
fn is_reset_pc_register(arch: Arch, offset: u32) -> bool {
    let r = &BLACKHOLE_RESET_PC;
    arch == Arch::Blackhole
        && (r.trisc.contains(&offset)
            || [r.trisc_override, r.ncrisc, r.ncrisc_override].contains(&offset))
}

/// Where `riscv` starts when it leaves reset: its documented reset pc, or on Blackhole the
/// pc in its override register when the override is enabled. `None` when neither is known.
pub(crate) fn reset_pc(memory: &ChipMemory, page: u64, arch: Arch, riscv: RiscV) -> Option<u32> {
    if let Some(pc) = riscv.reset_pc(arch) {
        return Some(pc);
    }
    let (pc, enable, bit) = riscv.blackhole_reset_pc_override()?;
    let enabled = word(memory, page + u64::from(enable)) & bit != 0;
    enabled.then(|| word(memory, page + u64::from(pc)))
}

/// One tile's control registers beside soft reset.
#[derive(Debug, Clone, Default)]
pub(crate) struct TileControl {
    /// `counter_high_at` of DebugTimestamper.md: the high half latched by `WALL_CLOCK_L`.
    wall_high_latched: u32,
}

impl TileControl {
    /// The register at `offset` in the tile control region, or `None` when not modelled. The
    /// wall clock counts nanoseconds since `epoch`: the counter "increments by one every
    /// clock cycle" (DebugTimestamper.md) and the cores run at 1 GHz (BabyRISCV/README.md).
    pub(crate) fn read(
        &mut self,
        offset: u32,
        epoch: Instant,
        memory: &ChipMemory,
        page: u64,
        arch: Arch,
    ) -> Option<u32> {
        let counter = || epoch.elapsed().as_nanos() as u64;
        Some(match offset {
            _ if is_reset_pc_register(arch, offset) => word(memory, page + u64::from(offset)),
            SOFT_RESET_OFFSET => soft_reset(memory, page).bits(),
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

    /// Stores `value` at `offset`; `Err(Some(why))` when the effect is not modelled, `Err(None)`
    /// when the register is not.
    pub(crate) fn write(
        &mut self,
        offset: u32,
        value: u32,
        epoch: Instant,
        memory: &ChipMemory,
        page: u64,
        arch: Arch,
    ) -> Result<(), Option<String>> {
        match offset {
            _ if is_reset_pc_register(arch, offset) => {
                if memory.write_bytes(page + u64::from(offset), &value.to_le_bytes()) {
                    Ok(())
                } else {
                    Err(Some("the tile control page is outside the chip file".into()))
                }
            }
            SOFT_RESET_OFFSET => {
                let new = SoftReset::from_bits_retain(value);
                let changed = (new ^ soft_reset(memory, page)) & SoftReset::ALL_RISCV;
                if !changed.is_empty() {
                    return Err(Some(format!(
                        "store of {value:#x} to RISCV_DEBUG_REG_SOFT_RESET_0 would move RISC-V \
                         cores {:#x} into or out of soft reset, which a core cannot do in the \
                         simulator yet (only the host starts cores)",
                        changed.bits()
                    )));
                }
                // Bits 23 and up have "no effect" (SoftReset.md); keep only the defined ones.
                let kept = new & (SoftReset::ALL_RISCV | SoftReset::COPROCESSOR_UNITS);
                let at = page + u64::from(SOFT_RESET_OFFSET);
                if memory.write_bytes(at, &kept.bits().to_le_bytes()) {
                    Ok(())
                } else {
                    Err(Some("the tile control page is outside the chip file".into()))
                }
            }
            WALL_CLOCK_L_OFFSET => {
                self.wall_high_latched = (epoch.elapsed().as_nanos() as u64 >> 32) as u32;
                Ok(())
            }
            WALL_CLOCK_L_PLUS_4_OFFSET | WALL_CLOCK_H_OFFSET => Ok(()),
            _ => Err(None),
        }
    }
}
