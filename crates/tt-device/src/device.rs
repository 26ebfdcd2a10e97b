//! The device: one opened chip, its descriptor, and transfers split over TLB windows.

use std::fmt;
use std::path::PathBuf;

use parking_lot::Mutex;
use tt_kmd::KmdDevice;
use tt_mmio::MmioRegion;
use tt_sim::SimChip;
use tt_soc::{Arch, ChipUid, CoreKind, HarvestingMasks, NocCoord, SocDescriptor, TranslatedCoord};

use crate::backend::Backend;
use crate::discovery::{self, ArcAccess, ChipIdentity};
use crate::window_pool::WindowPool;
use crate::{DeviceError, DeviceSpec};

/// Which backend a device is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// A simulated chip in a shared-memory file.
    Sim,
    /// A card through tt-kmd.
    Pcie,
}

impl BackendKind {
    /// `sim` or `pcie`, as shown by `ttctl` and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Sim => "sim",
            BackendKind::Pcie => "pcie",
        }
    }
}

/// A DRAM channel index (0-based, descriptor order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DramChannelId(pub u32);

/// A DRAM bank index as the allocator numbers them (tt-metal bank order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DramBankId(pub u32);

/// Options for [`Device::open_with`].
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// A tt-umd SoC descriptor file to use instead of the built-in one (`--soc FILE`). It must
    /// describe the same architecture and grid as the device.
    pub soc_file: Option<PathBuf>,
    /// Extra Tensix rows (Wormhole) or columns (Blackhole) to treat as harvested, in tt-umd's
    /// convention (bit i = the i-th Tensix row or column in NOC0 order).
    pub harvesting_mask: u32,
    /// Directory of simulated chip files; default [`tt_sim::default_sim_dir`].
    pub sim_dir: Option<PathBuf>,
}

/// Windows the device keeps per pool: enough for a few cores in flight without thrashing.
const L1_WINDOWS: usize = 8;
const DRAM_WINDOWS: usize = 2;

/// An opened chip. Reads and writes are safe from several threads; each pool of windows
/// has its own lock.
pub struct Device {
    // Declared first so the windows are dropped (unmapped and freed) before the backend.
    l1_windows: Mutex<WindowPool>,
    dram_windows: Mutex<WindowPool>,
    pub(crate) backend: Backend,
    pub(crate) spec: DeviceSpec,
    soc: SocDescriptor,
    /// The chip as its firmware programmed the NOC: its own harvesting only, never a mask the
    /// user added, so that translated coordinates match the hardware's tables.
    noc_map: SocDescriptor,
    chip_uid: ChipUid,
    identity: ChipIdentity,
}

impl fmt::Debug for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Device")
            .field("spec", &self.spec)
            .field("arch", &self.arch())
            .field("chip_uid", &self.chip_uid)
            .finish()
    }
}

impl ArcAccess for Device {
    fn arc_read32(&self, addr: u64) -> Result<u32, DeviceError> {
        self.on_arc(addr, |region, offset| region.read32(offset))
    }

    fn arc_write32(&self, addr: u64, value: u32) -> Result<(), DeviceError> {
        self.on_arc(addr, |region, offset| region.write32(offset, value))
    }
}

/// A descriptor used with a simulated chip may describe no more memory than the chip file
/// holds (it is laid out from the built-in descriptor): larger L1 or DRAM would address past
/// the simulated memory.
fn check_fits_simulated(
    soc: &SocDescriptor,
    builtin: &SocDescriptor,
    file: &std::path::Path,
    spec: &DeviceSpec,
) -> Result<(), DeviceError> {
    let mismatch = |what: &str, found: u64, holds: u64| DeviceError::SocMismatch {
        device: spec.to_string(),
        reason: format!(
            "{} gives {what} {found} bytes, the simulated chip holds {holds}",
            file.display()
        ),
    };
    if soc.worker_l1_size() > builtin.worker_l1_size() {
        return Err(mismatch("Tensix L1 of", soc.worker_l1_size(), builtin.worker_l1_size()));
    }
    if soc.eth_l1_size() > builtin.eth_l1_size() {
        return Err(mismatch("Ethernet L1 of", soc.eth_l1_size(), builtin.eth_l1_size()));
    }
    let channels = soc.all_dram_channels();
    let simulated = builtin.all_dram_channels();
    if channels.len() > simulated.len() {
        return Err(DeviceError::SocMismatch {
            device: spec.to_string(),
            reason: format!(
                "{} lists {} DRAM channels, the simulated chip has {}",
                file.display(),
                channels.len(),
                simulated.len()
            ),
        });
    }
    for (channel, held) in channels.iter().zip(simulated) {
        if channel.size > held.size || channel.endpoints != held.endpoints {
            return Err(mismatch("a DRAM channel of", channel.size, held.size));
        }
    }
    Ok(())
}

/// Accepts only a character device as a card: a regular file (`/etc/passwd`), a FIFO or a
/// directory is refused before it is opened, so it is never opened read-write or waited on.
fn check_card_path(path: &std::path::Path) -> Result<(), DeviceError> {
    use std::os::unix::fs::FileTypeExt;
    let bad = |reason: String| DeviceError::BadSpec {
        spec: crate::spec::quote(&path.display().to_string()),
        reason,
    };
    match std::fs::metadata(path) {
        Ok(meta) if meta.file_type().is_char_device() => Ok(()),
        Ok(_) => Err(bad(
            "it is not a character device; a card is /dev/tenstorrent/<N> (or give sim:<arch|board>)"
                .into(),
        )),
        // Missing: the driver's own open reports it, with what to install.
        Err(_) => Ok(()),
    }
}

impl Device {
    /// Opens the device named by `spec` (`sim:wormhole_b0`, `sim:blackhole:2`,
    /// `/dev/tenstorrent/0`, or a card number).
    pub fn open(spec: &str) -> Result<Device, DeviceError> {
        Self::open_with(spec, &OpenOptions::default())
    }

    /// Opens the first card, or a simulated Wormhole B0 (`sim:wormhole_b0:0`) when no card
    /// is present, and logs which.
    pub fn open_default() -> Result<Device, DeviceError> {
        Self::open_default_with(&OpenOptions::default())
    }

    /// [`Device::open_default`] with a descriptor file, harvesting mask or simulator directory.
    pub fn open_default_with(options: &OpenOptions) -> Result<Device, DeviceError> {
        match tt_kmd::enumerate().first() {
            Some(path) => {
                tracing::info!(device = %path.display(), "opening the first Tenstorrent card");
                Self::open_with(&path.display().to_string(), options)
            }
            None => {
                let dir = options.sim_dir.clone().unwrap_or_else(tt_sim::default_sim_dir);
                tracing::info!(
                    "no Tenstorrent card found (no {}/N); using simulated wormhole_b0 chip 0 in {}",
                    tt_kmd::DEV_DIR,
                    dir.display()
                );
                Self::open_with("sim:wormhole_b0:0", options)
            }
        }
    }

    /// Opens `spec` with a descriptor file or harvesting mask.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use tt_device::{Device, OpenOptions};
    /// let options = OpenOptions { sim_dir: Some(dir.path().to_path_buf()), ..Default::default() };
    /// let device = Device::open_with("sim:wormhole_b0", &options)?;
    /// let core = device.soc().tensix_cores()[0];
    /// device.write32(core, 0x20000, 42)?;
    /// assert_eq!(device.read32(core, 0x20000)?, 42);
    /// # Ok::<(), tt_device::DeviceError>(())
    /// ```
    pub fn open_with(spec: &str, options: &OpenOptions) -> Result<Device, DeviceError> {
        match spec.parse::<DeviceSpec>()? {
            DeviceSpec::Sim { kind, id } => {
                let dir = options.sim_dir.clone().unwrap_or_else(tt_sim::default_sim_dir);
                let chip = SimChip::open_kind_in(&dir, kind, id)?;
                let uid = chip.chip_uid();
                let arch = kind.arch();
                Self::assemble(DeviceSpec::Sim { kind, id }, Backend::Sim(chip), arch, uid, options)
            }
            DeviceSpec::Pcie(path) => {
                check_card_path(&path)?;
                Self::from_kmd(KmdDevice::open(&path)?, options)
            }
        }
    }

    /// Wraps a card already opened through tt-kmd (for callers that open it with their own
    /// [`tt_kmd::Syscalls`], such as tests against tt-kmd's fake driver).
    pub fn from_kmd(kmd: KmdDevice, options: &OpenOptions) -> Result<Device, DeviceError> {
        let info = *kmd.device_info();
        let path = kmd.path().to_path_buf();
        let arch: Arch =
            info.arch_name().and_then(|n| n.parse().ok()).ok_or(DeviceError::UnsupportedCard {
                path: path.display().to_string(),
                device_id: info.device_id,
            })?;
        // The firmware's unique id replaces this when it reports one; otherwise the PCI
        // location stands in: stable for a card in a slot, never a logical enumeration index.
        let uid = ChipUid(
            (u64::from(info.pci_domain) << 24)
                | (u64::from(info.pci_bus) << 16)
                | (u64::from(info.pci_device) << 8)
                | u64::from(info.pci_function),
        );
        Self::assemble(DeviceSpec::Pcie(path), Backend::Pcie(kmd), arch, uid, options)
    }

    /// Builds the device on `backend`, then asks the chip's firmware for its board, unique id
    /// and harvesting (the same code for a card and a simulated chip) and applies them.
    fn assemble(
        spec: DeviceSpec,
        backend: Backend,
        arch: Arch,
        chip_uid: ChipUid,
        options: &OpenOptions,
    ) -> Result<Device, DeviceError> {
        let builtin = SocDescriptor::builtin(arch);
        let soc = match &options.soc_file {
            Some(file) => {
                let soc = SocDescriptor::from_yaml_file(file)?;
                if soc.arch() != builtin.arch() || soc.grid_size() != builtin.grid_size() {
                    return Err(DeviceError::SocMismatch {
                        device: spec.to_string(),
                        reason: format!(
                            "{} describes a {} {}x{} grid, the device is {} {}x{}",
                            file.display(),
                            soc.arch(),
                            soc.grid_size().0,
                            soc.grid_size().1,
                            builtin.arch(),
                            builtin.grid_size().0,
                            builtin.grid_size().1
                        ),
                    });
                }
                if matches!(spec, DeviceSpec::Sim { .. }) {
                    check_fits_simulated(&soc, &builtin, file, &spec)?;
                }
                soc
            }
            None => builtin,
        };
        let classes = soc.arch().tlb_classes();
        // L1 windows: the smallest class that shows a whole worker L1 in one window.
        let l1_size = classes
            .iter()
            .map(|c| c.size)
            .find(|&s| s >= soc.worker_l1_size())
            .unwrap_or_else(|| classes.iter().map(|c| c.size).max().unwrap_or(1 << 20));
        // DRAM windows: the largest class the backend actually gives, so big transfers
        // reconfigure least. Blackhole's 4 GiB windows exist only as far as BAR4 reaches
        // (tt-kmd exposes bar4_len / 4 GiB of them), so a refused class falls back to the next.
        let mut sizes: Vec<u64> = classes.iter().map(|c| c.size).collect();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        let mut dram_pool = None;
        for size in sizes {
            match backend.allocate_window(size) {
                Ok(first) => {
                    dram_pool = Some(WindowPool::with_first(size, DRAM_WINDOWS, first));
                    break;
                }
                Err(e) => tracing::debug!(size, error = %e, "no DRAM window of this size"),
            }
        }
        let dram_pool = dram_pool.unwrap_or_else(|| WindowPool::new(l1_size, DRAM_WINDOWS));
        let mut device = Device {
            l1_windows: Mutex::new(WindowPool::new(l1_size, L1_WINDOWS)),
            dram_windows: Mutex::new(dram_pool),
            backend,
            spec,
            noc_map: soc.clone(),
            soc,
            chip_uid,
            identity: ChipIdentity {
                board_id: 0,
                board_type: None,
                asic_location: 0,
                unique_id: None,
                harvesting: HarvestingMasks::default(),
                noc_translation: false,
            },
        };
        let identity = discovery::discover(&device, arch, &device.spec.to_string())?;
        let masks = identity.harvesting.union(HarvestingMasks::tensix(options.harvesting_mask));
        device.noc_map = device
            .noc_map
            .with_harvesting_masks(identity.harvesting)?
            .with_noc_translation(identity.noc_translation);
        device.soc = device
            .soc
            .with_harvesting_masks(masks)
            .map_err(|e| DeviceError::BadHarvest {
                device: device.spec.to_string(),
                reported: identity.harvesting,
                added: options.harvesting_mask,
                reason: e.to_string(),
            })?
            .with_noc_translation(identity.noc_translation);
        if let Some(unique) = identity.unique_id {
            device.chip_uid = ChipUid(unique);
        }
        device.identity = identity;
        tracing::info!(
            device = %device.spec,
            board = identity.board_type.map_or("none", |b| b.name()),
            board_id = format!("{:#x}", identity.board_id),
            harvesting = %device.soc.harvesting(),
            "discovered the chip from its firmware"
        );
        Ok(device)
    }

    /// The coordinate a TLB window is programmed with to reach NOC0 core `core`, in the system
    /// the chip decodes ([`SocDescriptor::tlb_coord`]: translated on Blackhole, NOC0 numbers on
    /// Wormhole), from the NOC as the firmware programmed it (never a user-added harvest mask).
    /// Every window goes through here: memory, tile registers and ARC.
    pub fn tlb_coord(&self, core: NocCoord) -> Result<TranslatedCoord, DeviceError> {
        self.noc_map.tlb_coord(core).ok_or_else(|| {
            let (gx, gy) = self.soc.grid_size();
            DeviceError::OutOfGrid { device: self.spec.to_string(), core, grid_x: gx, grid_y: gy }
        })
    }

    /// What the chip's firmware reported at open: board, unique id, harvesting, translation.
    pub fn identity(&self) -> &ChipIdentity {
        &self.identity
    }

    /// The ARC tile, where the firmware answers.
    fn arc_core(&self) -> Result<NocCoord, DeviceError> {
        self.soc.arc_cores().first().copied().ok_or_else(|| DeviceError::Firmware {
            device: self.spec.to_string(),
            what: "its SoC descriptor lists no ARC core; add `arc` to the descriptor".into(),
        })
    }

    /// Runs `f` on the window region showing the ARC tile at `addr` and the offset in it.
    fn on_arc<T>(
        &self,
        addr: u64,
        f: impl FnOnce(&MmioRegion, usize) -> Result<T, tt_mmio::MmioError>,
    ) -> Result<T, DeviceError> {
        if addr % 4 != 0 {
            return Err(DeviceError::Misaligned { addr });
        }
        let arc = self.arc_core()?;
        let mut pool = self.l1_windows.lock();
        let window = pool.window_size();
        let base = addr - addr % window;
        let region = pool.region(&self.backend, self.tlb_coord(arc)?, base)?;
        Ok(f(region, (addr - base) as usize)?)
    }

    /// The spec the device was opened with, normalised (`sim:wormhole_b0:0`).
    pub fn spec(&self) -> &DeviceSpec {
        &self.spec
    }

    /// Simulated or PCIe.
    pub fn backend(&self) -> BackendKind {
        match self.backend {
            Backend::Sim(_) => BackendKind::Sim,
            Backend::Pcie(_) => BackendKind::Pcie,
        }
    }

    /// The chip's architecture.
    pub fn arch(&self) -> Arch {
        self.soc.arch()
    }

    /// The chip's descriptor: grid, core kinds, sizes, harvesting.
    pub fn soc(&self) -> &SocDescriptor {
        &self.soc
    }

    /// The chip's unique id.
    pub fn chip_uid(&self) -> ChipUid {
        self.chip_uid
    }

    /// Writes `data` to `core`'s memory (L1 of a Tensix or Ethernet core, or the DRAM channel
    /// of a DRAM endpoint) starting at `addr`. Any length and alignment.
    pub fn write(&self, core: NocCoord, addr: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.transfer(core, addr, data.len(), |region, offset, range| {
            region.write_bytes(offset, &data[range])
        })
    }

    /// Reads `buf.len()` bytes of `core`'s memory starting at `addr`.
    pub fn read(&self, core: NocCoord, addr: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        self.transfer(core, addr, buf.len(), |region, offset, range| {
            region.read_bytes(offset, &mut buf[range])
        })
    }

    /// Reads the 32-bit word at `addr` (4-byte aligned) of `core`.
    pub fn read32(&self, core: NocCoord, addr: u64) -> Result<u32, DeviceError> {
        if addr % 4 != 0 {
            return Err(DeviceError::Misaligned { addr });
        }
        let mut value = 0;
        self.transfer(core, addr, 4, |region, offset, _| {
            value = region.read32(offset)?;
            Ok(())
        })?;
        Ok(value)
    }

    /// Writes the 32-bit word at `addr` (4-byte aligned) of `core`.
    pub fn write32(&self, core: NocCoord, addr: u64, value: u32) -> Result<(), DeviceError> {
        if addr % 4 != 0 {
            return Err(DeviceError::Misaligned { addr });
        }
        self.transfer(core, addr, 4, |region, offset, _| region.write32(offset, value))
    }

    /// Writes `data` to DRAM channel `channel` at `addr`.
    pub fn write_dram(
        &self,
        channel: DramChannelId,
        addr: u64,
        data: &[u8],
    ) -> Result<(), DeviceError> {
        self.write(self.channel_endpoint(channel)?, addr, data)
    }

    /// Reads DRAM channel `channel` at `addr`.
    pub fn read_dram(
        &self,
        channel: DramChannelId,
        addr: u64,
        buf: &mut [u8],
    ) -> Result<(), DeviceError> {
        self.read(self.channel_endpoint(channel)?, addr, buf)
    }

    /// Writes `data` at `offset` within DRAM bank `bank`, as the allocator addresses it.
    pub fn write_dram_bank(
        &self,
        bank: DramBankId,
        offset: u64,
        data: &[u8],
    ) -> Result<(), DeviceError> {
        let (core, addr) = self.bank_target(bank, offset, data.len())?;
        self.write(core, addr, data)
    }

    /// Reads at `offset` within DRAM bank `bank`.
    pub fn read_dram_bank(
        &self,
        bank: DramBankId,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<(), DeviceError> {
        let (core, addr) = self.bank_target(bank, offset, buf.len())?;
        self.read(core, addr, buf)
    }

    fn channel_endpoint(&self, channel: DramChannelId) -> Result<NocCoord, DeviceError> {
        self.soc.dram_channel_endpoint(channel.0 as usize).ok_or_else(|| DeviceError::NoSuchDram {
            what: "DRAM channel",
            index: channel.0,
            count: self.soc.dram_channels().len(),
            device: self.spec.to_string(),
        })
    }

    /// The channel endpoint and channel address of `offset` in `bank`, checking the bank's
    /// bounds (a bank is a slice of its channel, so the channel check alone is not enough).
    fn bank_target(
        &self,
        bank: DramBankId,
        offset: u64,
        len: usize,
    ) -> Result<(NocCoord, u64), DeviceError> {
        let banks = self.soc.dram_banks();
        let b = banks.get(bank.0 as usize).ok_or_else(|| DeviceError::NoSuchDram {
            what: "DRAM bank",
            index: bank.0,
            count: banks.len(),
            device: self.spec.to_string(),
        })?;
        let len = len as u64;
        if offset.checked_add(len).is_none_or(|end| end > b.size) {
            return Err(DeviceError::OutOfRange {
                device: self.spec.to_string(),
                what: format!("DRAM bank {}", bank.0),
                addr: offset,
                len,
                size: b.size,
            });
        }
        // The bank's own endpoint (tt-metal's worker_endpoint), as kernels reach it.
        let core = match self.soc.dram_bank_endpoint(b) {
            Some(core) => core,
            None => self.channel_endpoint(DramChannelId(b.channel as u32))?,
        };
        Ok((core, b.offset + offset))
    }

    /// Checks `core` and the span, then hands `f` each piece of the transfer with the window
    /// region, the offset in it, and the matching range of the caller's buffer.
    fn transfer(
        &self,
        core: NocCoord,
        addr: u64,
        len: usize,
        mut f: impl FnMut(&MmioRegion, usize, std::ops::Range<usize>) -> Result<(), tt_mmio::MmioError>,
    ) -> Result<(), DeviceError> {
        let (size, is_dram) = self.memory_at(core)?;
        let len64 = len as u64;
        if addr.checked_add(len64).is_none_or(|end| end > size) {
            let what = match self.soc.kind_at(core) {
                Some(CoreKind::Dram) => {
                    format!("DRAM channel {}", self.soc.dram_channel_of(core).unwrap_or(0))
                }
                Some(CoreKind::Ethernet) => format!("L1 of Ethernet core {core}"),
                _ => format!("L1 of core {core}"),
            };
            return Err(DeviceError::OutOfRange {
                device: self.spec.to_string(),
                what,
                addr,
                len: len64,
                size,
            });
        }
        if len == 0 {
            return Ok(());
        }
        let mut pool = if is_dram { self.dram_windows.lock() } else { self.l1_windows.lock() };
        let window = pool.window_size();
        let mut done = 0usize;
        while done < len {
            let at = addr + done as u64;
            let base = at - at % window;
            let offset = (at - base) as usize;
            let n = (len - done).min((window - (at - base)) as usize);
            let region = pool.region(&self.backend, self.tlb_coord(core)?, base)?;
            f(region, offset, done..done + n)?;
            done += n;
        }
        Ok(())
    }

    /// Hands `f` the region of an L1-pool window over `core` that covers the register word at
    /// `addr`, and the word's offset in it (callers check the address first).
    pub(crate) fn register_window<T>(
        &self,
        core: NocCoord,
        addr: u64,
        f: impl FnOnce(&MmioRegion, usize) -> Result<T, DeviceError>,
    ) -> Result<T, DeviceError> {
        let mut pool = self.l1_windows.lock();
        let window = pool.window_size();
        let base = addr - addr % window;
        let region = pool.region(&self.backend, self.tlb_coord(core)?, base)?;
        f(region, (addr - base) as usize)
    }

    /// Size of the memory behind `core` and whether it is DRAM.
    fn memory_at(&self, core: NocCoord) -> Result<(u64, bool), DeviceError> {
        let (gx, gy) = self.soc.grid_size();
        // Built only on failure: formatting the spec costs more than a small transfer.
        let kind = self.soc.kind_at(core).ok_or_else(|| DeviceError::OutOfGrid {
            device: self.spec.to_string(),
            core,
            grid_x: gx,
            grid_y: gy,
        })?;
        match kind {
            CoreKind::Tensix => Ok((self.soc.worker_l1_size(), false)),
            CoreKind::Ethernet => Ok((self.soc.eth_l1_size(), false)),
            CoreKind::Dram => {
                let ch = self.soc.dram_channel_of(core).unwrap_or(0);
                Ok((self.soc.dram_channels().get(ch).map_or(0, |c| c.size), true))
            }
            other => {
                Err(DeviceError::NoMemoryAt { device: self.spec.to_string(), core, kind: other })
            }
        }
    }
}
