//! The documented tile registers the host uses, reached through a TLB window at their NoC
//! address as tt-umd does on a card: the same calls on the card and on the simulator, which
//! maps the tile control page of each Tensix and Ethernet tile into such windows.

use tt_soc::tile::{SoftReset, SOFT_RESET_OFFSET, TILE_CONTROL_BASE, TILE_CONTROL_BYTES};
use tt_soc::{CoreKind, NocCoord};

use crate::backend::Backend;
use crate::{Device, DeviceError};

impl Device {
    /// Checks that `addr` is a word of the tile control region of a Tensix or Ethernet core.
    fn check_tile_register(&self, core: NocCoord, addr: u64) -> Result<(), DeviceError> {
        if addr % 4 != 0 {
            return Err(DeviceError::Misaligned { addr });
        }
        let kind = self.soc().kind_at(core);
        let control =
            u64::from(TILE_CONTROL_BASE)..u64::from(TILE_CONTROL_BASE + TILE_CONTROL_BYTES);
        if !matches!(kind, Some(CoreKind::Tensix | CoreKind::Ethernet)) || !control.contains(&addr)
        {
            return Err(DeviceError::NotATileRegister {
                device: self.spec().to_string(),
                core,
                addr,
            });
        }
        Ok(())
    }

    /// Reads the tile register at `addr` of `core` (a Tensix or Ethernet core).
    pub fn read_tile_register(&self, core: NocCoord, addr: u64) -> Result<u32, DeviceError> {
        self.check_tile_register(core, addr)?;
        self.register_window(core, addr, |region, offset| Ok(region.read32(offset)?))
    }

    /// Writes the tile register at `addr` of `core` (a Tensix or Ethernet core). A card acts
    /// on the write as it lands; the simulator is asked to act on it at once too, so a brief
    /// soft-reset pulse is never missed.
    pub fn write_tile_register(
        &self,
        core: NocCoord,
        addr: u64,
        value: u32,
    ) -> Result<(), DeviceError> {
        self.check_tile_register(core, addr)?;
        self.register_window(core, addr, |region, offset| Ok(region.write32(offset, value)?))?;
        if let Backend::Sim(chip) = &self.backend {
            chip.apply_soft_reset();
        }
        Ok(())
    }

    /// `RISCV_DEBUG_REG_SOFT_RESET_0` of `core`: which RISC-V cores (and coprocessor units)
    /// are held in reset.
    pub fn soft_reset(&self, core: NocCoord) -> Result<SoftReset, DeviceError> {
        let addr = u64::from(TILE_CONTROL_BASE + SOFT_RESET_OFFSET);
        Ok(SoftReset::from_bits_retain(self.read_tile_register(core, addr)?))
    }

    /// Writes `RISCV_DEBUG_REG_SOFT_RESET_0` of `core`. The register has no atomic set or
    /// clear (SoftReset.md), so callers read, modify and write it themselves.
    pub fn set_soft_reset(&self, core: NocCoord, bits: SoftReset) -> Result<(), DeviceError> {
        let addr = u64::from(TILE_CONTROL_BASE + SOFT_RESET_OFFSET);
        self.write_tile_register(core, addr, bits.bits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OpenOptions;

    fn sim(spec: &str) -> (tempfile::TempDir, Device) {
        let dir = tempfile::tempdir().unwrap();
        let options = OpenOptions { sim_dir: Some(dir.path().to_path_buf()), ..Default::default() };
        let device = Device::open_with(spec, &options).unwrap();
        (dir, device)
    }

    #[test]
    fn soft_reset_round_trips_through_a_tlb_window() {
        for spec in ["sim:wormhole_b0", "sim:blackhole"] {
            let (_dir, device) = sim(spec);
            let core = device.soc().tensix_cores()[2];
            assert_eq!(device.soft_reset(core).unwrap(), SoftReset::ALL_RISCV, "{spec}");
            let held = SoftReset::ALL_RISCV - SoftReset::RISCV_B;
            device.set_soft_reset(core, held).unwrap();
            assert_eq!(device.soft_reset(core).unwrap(), held);
            // L1 traffic and register traffic share the window pool without mixing up.
            device.write32(core, 0x100, 5).unwrap();
            assert_eq!(device.read32(core, 0x100).unwrap(), 5);
            assert_eq!(device.soft_reset(core).unwrap(), held);
            let other = device.soc().tensix_cores()[3];
            assert_eq!(device.soft_reset(other).unwrap(), SoftReset::ALL_RISCV);
        }
    }

    /// Issue 19: the register window was programmed with NOC0 coordinates on Blackhole, where
    /// TLBs decode translated ones. With columns 7 and 10 harvested (p150a), NOC0 columns 11-14
    /// reached 13-16 and 15-16 reached the harvested columns, so bring-up failed. Every usable
    /// Tensix core of every board must round trip its own soft-reset register, and a write to
    /// one core must leave every other core's register as it was.
    #[test]
    fn soft_reset_reaches_exactly_its_own_core_on_every_board() {
        for spec in ["sim:p150a", "sim:p100a", "sim:n150", "sim:n300:0:1", "sim:blackhole"] {
            let (_dir, device) = sim(spec);
            let cores = device.soc().tensix_cores();
            let held = SoftReset::ALL_RISCV - SoftReset::RISCV_B;
            for (i, &core) in cores.iter().enumerate() {
                assert_eq!(device.soft_reset(core).unwrap(), SoftReset::ALL_RISCV, "{spec} {core}");
                device.set_soft_reset(core, held).unwrap();
                assert_eq!(device.soft_reset(core).unwrap(), held, "{spec} {core}");
                // The next core still reads its own (untouched) register.
                if let Some(&next) = cores.get(i + 1) {
                    assert_eq!(device.soft_reset(next).unwrap(), SoftReset::ALL_RISCV, "{spec}");
                }
                device.set_soft_reset(core, SoftReset::ALL_RISCV).unwrap();
            }
        }
    }

    #[test]
    fn only_tile_control_registers_of_tensix_and_ethernet_cores() {
        let (_dir, device) = sim("sim:wormhole_b0");
        let core = device.soc().tensix_cores()[0];
        let dram = device.soc().dram_channels()[0].endpoints[0];
        for (core, addr) in [(core, 0xFFB2_0000u64), (core, 0x100), (dram, 0xFFB1_21B0)] {
            let err = device.read_tile_register(core, addr).unwrap_err();
            assert!(matches!(err, DeviceError::NotATileRegister { .. }), "{err}");
        }
        let err = device.read_tile_register(core, 0xFFB1_21B2).unwrap_err();
        assert!(matches!(err, DeviceError::Misaligned { .. }), "{err}");
    }

    #[test]
    #[ignore = "needs a Tenstorrent card (/dev/tenstorrent/0); not validated on hardware"]
    fn card_soft_reset_reads_through_the_same_calls() {
        let device = Device::open("/dev/tenstorrent/0").unwrap();
        let core = device.soc().tensix_cores()[0];
        let bits = device.soft_reset(core).unwrap();
        device.set_soft_reset(core, bits).unwrap();
        assert_eq!(device.soft_reset(core).unwrap(), bits);
    }
}
