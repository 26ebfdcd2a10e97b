//! The two backends behind one window interface.

use tt_kmd::{KmdDevice, NocTarget, TlbWindow};
use tt_mmio::MmioRegion;
use tt_sim::{SimChip, SimTlbWindow};
use tt_soc::TranslatedCoord;

use crate::DeviceError;

/// A TLB window of either backend.
pub(crate) trait Window: Send {
    /// Points the window at the core a TLB programmed with `core` reaches, from `base`. The
    /// coordinate is in the system the chip decodes ([`tt_soc::SocDescriptor::tlb_coord`]), so
    /// a NOC0 coordinate cannot be programmed by mistake.
    fn configure(&mut self, core: TranslatedCoord, base: u64) -> Result<(), DeviceError>;
    /// The mapped window once configured.
    fn region(&self) -> Option<&MmioRegion>;
}

impl Window for SimTlbWindow {
    fn configure(&mut self, core: TranslatedCoord, base: u64) -> Result<(), DeviceError> {
        // The coordinate is what a card's TLB would be programmed with; the simulated chip
        // decodes it as the card does.
        Ok(SimTlbWindow::configure_as_programmed(self, core, base)?)
    }
    fn region(&self) -> Option<&MmioRegion> {
        SimTlbWindow::region(self)
    }
}

impl Window for TlbWindow {
    fn configure(&mut self, core: TranslatedCoord, base: u64) -> Result<(), DeviceError> {
        Ok(TlbWindow::configure(self, NocTarget::unicast(core.x(), core.y(), base))?)
    }
    fn region(&self) -> Option<&MmioRegion> {
        self.target().is_some().then(|| TlbWindow::region(self))
    }
}

/// The opened chip, simulated or real.
pub(crate) enum Backend {
    Sim(SimChip),
    Pcie(KmdDevice),
}

impl Backend {
    pub(crate) fn allocate_window(&self, size: u64) -> Result<Box<dyn Window>, DeviceError> {
        Ok(match self {
            Backend::Sim(chip) => Box::new(chip.allocate_tlb(size)?),
            Backend::Pcie(kmd) => Box::new(kmd.allocate_tlb(size)?),
        })
    }
}
