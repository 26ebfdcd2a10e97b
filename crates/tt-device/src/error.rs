use tt_soc::{CoreKind, NocCoord};

/// Errors from opening or accessing a device.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The device spec could not be parsed.
    #[error("bad device spec `{spec}`: {reason}")]
    BadSpec {
        /// The spec as given.
        spec: String,
        /// What was wrong and what is accepted.
        reason: String,
    },
    /// The simulator backend failed.
    #[error(transparent)]
    Sim(#[from] tt_sim::SimError),
    /// The PCIe backend failed.
    #[error(transparent)]
    Kmd(#[from] tt_kmd::KmdError),
    /// A SoC descriptor problem (bad `--soc` file or harvesting mask).
    #[error(transparent)]
    Soc(#[from] tt_soc::SocError),
    /// The card's PCI device id is not a supported architecture.
    #[error("{path}: PCI device id {device_id:#06x} is not a Wormhole B0 or Blackhole card")]
    UnsupportedCard {
        /// The device file.
        path: String,
        /// Its PCI device id.
        device_id: u16,
    },
    /// A `--soc` descriptor that does not describe this device.
    #[error("SoC descriptor does not match {device}: {reason}; pass the descriptor of this card or none")]
    SocMismatch {
        /// The device spec.
        device: String,
        /// What differs.
        reason: String,
    },
    /// A coordinate outside the NOC grid.
    #[error("core {core} is outside the {grid_x}x{grid_y} NOC grid of {device}; valid x is 0..{grid_x}, y is 0..{grid_y}")]
    OutOfGrid {
        /// The device.
        device: String,
        /// The coordinate asked for.
        core: NocCoord,
        /// Grid columns.
        grid_x: u16,
        /// Grid rows.
        grid_y: u16,
    },
    /// The core has no memory the host can address.
    #[error("core {core} of {device} is a {kind} core with no host-addressable memory; target a Tensix, Ethernet or DRAM core")]
    NoMemoryAt {
        /// The device.
        device: String,
        /// The coordinate asked for.
        core: NocCoord,
        /// What is there.
        kind: CoreKind,
    },
    /// The access runs past the end of the target memory.
    #[error("{len} bytes at {addr:#x} run past the end of {what} ({size:#x} bytes) on {device}")]
    OutOfRange {
        /// The device.
        device: String,
        /// The memory addressed (`L1 of core (1, 1)`, `DRAM channel 2`, ...).
        what: String,
        /// Start address.
        addr: u64,
        /// Length of the access.
        len: u64,
        /// Size of the target memory.
        size: u64,
    },
    /// A 32-bit access at an address that is not 4-byte aligned.
    #[error("32-bit access at {addr:#x} is not 4-byte aligned")]
    Misaligned {
        /// The address asked for.
        addr: u64,
    },
    /// A DRAM channel or bank index beyond the chip's.
    #[error("{what} {index} does not exist on {device}: it has {count}")]
    NoSuchDram {
        /// `DRAM channel` or `DRAM bank`.
        what: &'static str,
        /// The index asked for.
        index: u32,
        /// How many the chip has.
        count: usize,
        /// The device.
        device: String,
    },
    /// A backend reported a configured window without a mapping (a backend bug).
    #[error("TLB window for core {core} at {base:#x} has no mapping after configuration; please report this")]
    WindowUnmapped {
        /// The coordinate the window was programmed with.
        core: tt_soc::TranslatedCoord,
        /// The window base.
        base: u64,
    },
    /// A register access to something that is not a documented tile register of a Tensix or
    /// Ethernet core.
    #[error("{addr:#x} on core {core} of {device} is not a tile register tt-runtime uses; registers are the tile control region at 0xffb12000 of Tensix and Ethernet cores")]
    NotATileRegister {
        /// The device.
        device: String,
        /// The core.
        core: NocCoord,
        /// The address asked for.
        addr: u64,
    },
    /// The firmware's harvesting plus the caller's extra mask is not a usable chip.
    #[error("cannot apply harvesting to {device}: its firmware reports {reported} and --harvest adds tensix {added}: {reason}")]
    BadHarvest {
        /// The device.
        device: String,
        /// What the firmware reported.
        reported: tt_soc::HarvestingMasks,
        /// The extra Tensix mask asked for.
        added: u32,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The chip's firmware did not answer as tt-umd expects.
    #[error("cannot learn the board of {device} from its firmware: {what}")]
    Firmware {
        /// The device.
        device: String,
        /// What went wrong and what to do.
        what: String,
    },
    /// An access through a mapped window failed.
    #[error(transparent)]
    Mmio(#[from] tt_mmio::MmioError),
}
