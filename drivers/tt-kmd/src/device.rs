//! An open `/dev/tenstorrent/N`: identity, driver version, BAR mappings, locks and reset.

use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::abi::{self, IoctlArg, LockBits, Pod};
use crate::error::KmdError;
use crate::sys::{RealSyscalls, Syscalls};
use crate::tlb::{CacheMode, TlbWindow};

/// How many mapping slots QUERY_MAPPINGS is given; the driver fills at most 6 today, and
/// zeroes the rest, so spare slots cost nothing and survive a driver that adds BARs.
const MAPPING_SLOTS: usize = 16;

/// The open descriptor, shared by the device and every window mapped from it, so the fd is
/// closed only after the last window has been unmapped and freed.
pub(crate) struct DeviceFd {
    pub(crate) path: PathBuf,
    pub(crate) fd: RawFd,
    pub(crate) sys: Arc<dyn Syscalls>,
}

impl DeviceFd {
    /// Issues the ioctl that `T` is paired with.
    pub(crate) fn call<T: IoctlArg>(&self, arg: &mut T) -> io::Result<()> {
        // SAFETY: `T: IoctlArg` guarantees `T` is the complete argument struct of
        // `T::REQUEST`, so the driver stays within the bytes we hand it.
        unsafe { self.sys.ioctl(self.fd, T::REQUEST, arg.as_bytes_mut()) }
    }

    /// [`DeviceFd::call`] with the errno mapped to a [`KmdError`].
    pub(crate) fn call_mapped<T: IoctlArg>(&self, arg: &mut T) -> Result<(), KmdError> {
        self.call(arg).map_err(|e| KmdError::from_io(&self.path, T::NAME, e))
    }
}

impl Drop for DeviceFd {
    fn drop(&mut self) {
        if let Err(e) = self.sys.close(self.fd) {
            tracing::warn!(path = %self.path.display(), error = %e, "closing tt-kmd device failed");
        }
    }
}

impl fmt::Debug for DeviceFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceFd").field("path", &self.path).field("fd", &self.fd).finish()
    }
}

/// PCI identity and location of a card, decoded from GET_DEVICE_INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceInfo {
    /// PCI vendor id ([`crate::TENSTORRENT_PCI_VENDOR_ID`] for Tenstorrent).
    pub vendor_id: u16,
    /// PCI device id; see [`crate::arch_name`].
    pub device_id: u16,
    /// PCI subsystem vendor id.
    pub subsystem_vendor_id: u16,
    /// PCI subsystem id (identifies the board).
    pub subsystem_id: u16,
    /// PCI domain; 0 from drivers older than tt-kmd 1.23, which did not report it.
    pub pci_domain: u16,
    /// PCI bus number.
    pub pci_bus: u8,
    /// PCI device (slot) number.
    pub pci_device: u8,
    /// PCI function number.
    pub pci_function: u8,
    /// log2 of the largest DMA buffer the driver will allocate.
    pub max_dma_buf_size_log2: u16,
}

impl DeviceInfo {
    /// Decodes the driver's reply; `bus_dev_fn` packs function in bits 0-2, device in 3-7 and
    /// bus in 8-15.
    pub fn from_abi(out: &abi::GetDeviceInfoOut) -> Self {
        let [bus, devfn] = out.bus_dev_fn.to_be_bytes();
        DeviceInfo {
            vendor_id: out.vendor_id,
            device_id: out.device_id,
            subsystem_vendor_id: out.subsystem_vendor_id,
            subsystem_id: out.subsystem_id,
            pci_domain: out.pci_domain,
            pci_bus: bus,
            pci_device: devfn >> 3,
            pci_function: devfn & 0x7,
            max_dma_buf_size_log2: out.max_dma_buf_size_log2,
        }
    }

    /// The architecture name ("wormhole_b0", "blackhole") for the PCI device id.
    pub fn arch_name(&self) -> Option<&'static str> {
        crate::arch_name(self.device_id)
    }

    /// The PCI address in the usual `domain:bus:device.function` form, e.g. `0000:03:00.0`.
    pub fn pci_address(&self) -> String {
        format!(
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.pci_domain, self.pci_bus, self.pci_device, self.pci_function
        )
    }
}

/// A driver semantic version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KmdSemver {
    /// Major.
    pub major: u8,
    /// Minor.
    pub minor: u8,
    /// Patch.
    pub patch: u8,
}

impl fmt::Display for KmdSemver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The first driver with ALLOCATE_TLB / CONFIGURE_TLB / FREE_TLB (tt-umd's `KMD_TLBS`,
/// device/api/umd/device/utils/kmd_versions.hpp).
pub const KMD_TLBS_SINCE: KmdSemver = KmdSemver { major: 1, minor: 34, patch: 0 };

/// The loaded driver's versions, from GET_DRIVER_INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverVersion {
    /// The ioctl API version (`TENSTORRENT_DRIVER_VERSION`; 1 or 2 so far).
    pub api: u32,
    /// The driver's semver; drivers before the 2.x GET_DRIVER_INFO extension do not report it.
    pub semver: Option<KmdSemver>,
}

impl DriverVersion {
    /// Decodes the driver's reply: the semver bytes count only when the driver's own out
    /// struct is large enough to contain them.
    pub fn from_abi(out: &abi::GetDriverInfoOut) -> Self {
        let has_semver =
            out.output_size_bytes as usize >= std::mem::size_of::<abi::GetDriverInfoOut>();
        DriverVersion {
            api: out.driver_version,
            semver: has_semver.then_some(KmdSemver {
                major: out.driver_version_major,
                minor: out.driver_version_minor,
                patch: out.driver_version_patch,
            }),
        }
    }
}

impl fmt::Display for DriverVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.semver {
            Some(v) => write!(f, "tt-kmd {v}, ioctl API {}", self.api),
            None => write!(f, "tt-kmd of unreported version, ioctl API {}", self.api),
        }
    }
}

/// One mmap-able view of a BAR, from QUERY_MAPPINGS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarMapping {
    /// The driver's mapping id (see [`abi::mapping_id`]).
    pub id: u32,
    /// The mmap offset of this view on the device fd.
    pub base: u64,
    /// Its size in bytes.
    pub size: u64,
}

impl BarMapping {
    /// The PCI BAR this view maps (0, 2 or 4), if the id is one the crate knows.
    pub fn bar(&self) -> Option<u8> {
        match self.id {
            abi::mapping_id::RESOURCE0_UC | abi::mapping_id::RESOURCE0_WC => Some(0),
            abi::mapping_id::RESOURCE1_UC | abi::mapping_id::RESOURCE1_WC => Some(2),
            abi::mapping_id::RESOURCE2_UC | abi::mapping_id::RESOURCE2_WC => Some(4),
            _ => None,
        }
    }

    /// Uncached or write-combined, if the id is one the crate knows.
    pub fn cache_mode(&self) -> Option<CacheMode> {
        match self.id {
            abi::mapping_id::RESOURCE0_UC
            | abi::mapping_id::RESOURCE1_UC
            | abi::mapping_id::RESOURCE2_UC => Some(CacheMode::Uncached),
            abi::mapping_id::RESOURCE0_WC
            | abi::mapping_id::RESOURCE1_WC
            | abi::mapping_id::RESOURCE2_WC => Some(CacheMode::WriteCombined),
            _ => None,
        }
    }
}

/// What LOCK_CTL TEST reports for one lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockState {
    /// This open descriptor holds the lock.
    pub held_by_me: bool,
    /// Some descriptor (this one or another process's) holds the lock.
    pub held_by_anyone: bool,
}

/// A RESET_DEVICE request. The driver takes exactly one of these values, not a bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetFlags {
    /// Restore saved PCI config state and re-initialise the card (legacy).
    RestoreState,
    /// PCIe hot reset of the link, then restore (legacy).
    ResetPcieLink,
    /// Config write that triggers the PCIe timer interrupt (legacy).
    ConfigWrite,
    /// Mark a user-triggered reset (tt-kmd 2.x).
    UserReset,
    /// Reset the ASIC (tt-kmd 2.x).
    AsicReset,
    /// Reset the ASIC and its board controller (tt-kmd 2.x).
    AsicDmcReset,
    /// Complete a reset and re-initialise (tt-kmd 2.x).
    PostReset,
}

impl ResetFlags {
    /// The value of `tenstorrent_reset_device_in.flags`.
    pub const fn raw(self) -> u32 {
        match self {
            ResetFlags::RestoreState => abi::reset_flags::RESTORE_STATE,
            ResetFlags::ResetPcieLink => abi::reset_flags::RESET_PCIE_LINK,
            ResetFlags::ConfigWrite => abi::reset_flags::CONFIG_WRITE,
            ResetFlags::UserReset => abi::reset_flags::USER_RESET,
            ResetFlags::AsicReset => abi::reset_flags::ASIC_RESET,
            ResetFlags::AsicDmcReset => abi::reset_flags::ASIC_DMC_RESET,
            ResetFlags::PostReset => abi::reset_flags::POST_RESET,
        }
    }
}

/// A NOC write the driver performs when this device's descriptor is closed, however the
/// process ends, so firmware can learn that its host went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NocCleanup {
    /// Target x.
    pub x: u8,
    /// Target y.
    pub y: u8,
    /// NOC 0 or 1.
    pub noc: u8,
    /// 4-byte aligned NOC address.
    pub addr: u64,
    /// The value written.
    pub data: u32,
}

/// An open tt-kmd device. Its descriptor is closed when the device and every [`TlbWindow`]
/// allocated from it have been dropped.
#[derive(Debug)]
pub struct KmdDevice {
    fd: Arc<DeviceFd>,
    info: DeviceInfo,
    driver: DriverVersion,
    mappings: Vec<BarMapping>,
}

impl KmdDevice {
    /// Opens `path` (e.g. `/dev/tenstorrent/0`) with the real syscalls and reads its identity,
    /// driver version and BAR mappings.
    pub fn open(path: &Path) -> Result<KmdDevice, KmdError> {
        Self::open_with(path, Arc::new(RealSyscalls))
    }

    /// [`KmdDevice::open`] through a caller-supplied [`Syscalls`] (the test seam).
    pub fn open_with(path: &Path, sys: Arc<dyn Syscalls>) -> Result<KmdDevice, KmdError> {
        let raw = sys.open(path).map_err(|e| KmdError::from_open(path, e))?;
        // Owned from here on: any error below closes the descriptor.
        let fd = Arc::new(DeviceFd { path: path.to_path_buf(), fd: raw, sys });

        let mut di = abi::GetDeviceInfo::default();
        di.in_.output_size_bytes = size_of_u32::<abi::GetDeviceInfoOut>();
        fd.call_mapped(&mut di)?;
        let info = DeviceInfo::from_abi(&di.out);

        let mut dr = abi::GetDriverInfo::default();
        dr.in_.output_size_bytes = size_of_u32::<abi::GetDriverInfoOut>();
        fd.call_mapped(&mut dr)?;
        let driver = DriverVersion::from_abi(&dr.out);

        let mappings = query_mappings(&fd)?;
        tracing::debug!(
            path = %path.display(),
            pci = %info.pci_address(),
            device_id = format_args!("{:#06x}", info.device_id),
            driver = %driver,
            mappings = mappings.len(),
            "opened tt-kmd device"
        );
        Ok(KmdDevice { fd, info, driver, mappings })
    }

    /// The shared descriptor, for windows mapped from this device.
    pub(crate) fn fd_handle(&self) -> &Arc<DeviceFd> {
        &self.fd
    }

    /// The device file this was opened from.
    pub fn path(&self) -> &Path {
        &self.fd.path
    }

    /// PCI identity and location.
    pub fn device_info(&self) -> &DeviceInfo {
        &self.info
    }

    /// The loaded driver's versions.
    pub fn driver_version(&self) -> DriverVersion {
        self.driver
    }

    /// The BAR mappings the driver offers (unused slots left out).
    pub fn mappings(&self) -> &[BarMapping] {
        &self.mappings
    }

    /// Allocates an uncached TLB window of `size` bytes and maps it; see
    /// [`KmdDevice::allocate_tlb_with`].
    pub fn allocate_tlb(&self, size: u64) -> Result<TlbWindow, KmdError> {
        self.allocate_tlb_with(size, CacheMode::Uncached)
    }

    /// Allocates a TLB window of `size` bytes (a size the card has: Wormhole 1, 2 or 16 MiB,
    /// Blackhole 2 MiB or 4 GiB) and maps it with the given caching. Write-combined suits
    /// bulk copies; uncached suits registers.
    pub fn allocate_tlb_with(&self, size: u64, cache: CacheMode) -> Result<TlbWindow, KmdError> {
        if let Some(v) = self.driver.semver {
            if v < KMD_TLBS_SINCE {
                return Err(self.too_old("ALLOCATE_TLB"));
            }
        }
        if let Some(arch) = self.info.arch_name() {
            let sizes = crate::tlb_sizes(self.info.device_id);
            if !sizes.contains(&size) {
                return Err(KmdError::UnsupportedTlbSize {
                    path: self.fd.path.clone(),
                    size,
                    arch,
                    supported: format_sizes(sizes),
                });
            }
        }
        TlbWindow::allocate(Arc::clone(&self.fd), size, cache).map_err(|e| match e {
            // The size is one the card has, so EINVAL/ENOTTY means the driver does not know
            // the ioctl at all.
            KmdError::Ioctl { ref source, .. }
                if self.info.arch_name().is_some()
                    && matches!(source.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOTTY)) =>
            {
                self.too_old("ALLOCATE_TLB")
            }
            other => other,
        })
    }

    fn too_old(&self, op: &'static str) -> KmdError {
        KmdError::DriverTooOld {
            path: self.fd.path.clone(),
            op,
            found: self.driver.to_string(),
            needed: "1.34.0",
        }
    }

    /// Tries to take driver lock `index` (0..64) without blocking; true when this descriptor
    /// now holds it. The driver drops it when the descriptor closes, however the process ends.
    pub fn lock(&self, index: u8) -> Result<bool, KmdError> {
        Ok(self.lock_ctl(abi::lock_ctl_flags::ACQUIRE, index)?.contains(LockBits::HELD_BY_CALLER))
    }

    /// Releases driver lock `index`; false when this descriptor did not hold it.
    pub fn unlock(&self, index: u8) -> Result<bool, KmdError> {
        Ok(self.lock_ctl(abi::lock_ctl_flags::RELEASE, index)?.contains(LockBits::HELD_BY_CALLER))
    }

    /// Reports who holds driver lock `index`.
    pub fn lock_state(&self, index: u8) -> Result<LockState, KmdError> {
        let bits = self.lock_ctl(abi::lock_ctl_flags::TEST, index)?;
        Ok(LockState {
            held_by_me: bits.contains(LockBits::HELD_BY_CALLER),
            held_by_anyone: bits.contains(LockBits::HELD_BY_ANYONE),
        })
    }

    fn lock_ctl(&self, flags: u32, index: u8) -> Result<LockBits, KmdError> {
        if u32::from(index) >= abi::TENSTORRENT_RESOURCE_LOCK_COUNT {
            return Err(KmdError::InvalidLockIndex { index });
        }
        let mut arg = abi::LockCtl::default();
        arg.in_.output_size_bytes = size_of_u32::<abi::LockCtlOut>();
        arg.in_.flags = flags;
        arg.in_.index = index;
        self.fd.call_mapped(&mut arg)?;
        // Bits the driver may add later are kept, not dropped: none of them is read here.
        Ok(LockBits::from_bits_retain(arg.out.value))
    }

    /// Issues RESET_DEVICE. After an ASIC reset the card's state is gone: drop this device and
    /// every window, then open it again (tt-umd closes the descriptor right after the ioctl).
    pub fn reset(&self, flags: ResetFlags) -> Result<(), KmdError> {
        let mut arg = abi::ResetDevice::default();
        arg.in_.output_size_bytes = size_of_u32::<abi::ResetDeviceOut>();
        arg.in_.flags = flags.raw();
        self.fd.call_mapped(&mut arg)?;
        if arg.out.result != 0 {
            return Err(KmdError::ResetFailed {
                path: self.fd.path.clone(),
                flags,
                result: arg.out.result,
            });
        }
        Ok(())
    }

    /// Arms (`Some`) or disarms (`None`) the NOC write the driver performs when this
    /// descriptor closes.
    pub fn set_noc_cleanup(&self, cleanup: Option<NocCleanup>) -> Result<(), KmdError> {
        let mut arg =
            abi::SetNocCleanup { argsz: size_of_u32::<abi::SetNocCleanup>(), ..Default::default() };
        if let Some(c) = cleanup {
            arg.enabled = 1;
            arg.x = c.x;
            arg.y = c.y;
            arg.noc = c.noc;
            arg.addr = c.addr;
            arg.data = u64::from(c.data);
        }
        self.fd.call_mapped(&mut arg)
    }
}

/// `size_of::<T>()` as the u32 the driver's size members take; every ABI struct is tiny.
fn size_of_u32<T>() -> u32 {
    u32::try_from(std::mem::size_of::<T>()).unwrap_or(u32::MAX)
}

fn format_sizes(sizes: &[u64]) -> String {
    let parts: Vec<String> = sizes
        .iter()
        .map(|&s| match s {
            s if s >= 1 << 30 && s % (1 << 30) == 0 => format!("{} GiB", s >> 30),
            s if s >= 1 << 20 && s % (1 << 20) == 0 => format!("{} MiB", s >> 20),
            s => format!("{s:#x} bytes"),
        })
        .collect();
    parts.join(", ")
}

/// QUERY_MAPPINGS: an in struct followed by `MAPPING_SLOTS` mapping slots.
fn query_mappings(fd: &DeviceFd) -> Result<Vec<BarMapping>, KmdError> {
    let entry = std::mem::size_of::<abi::Mapping>();
    let mut buf = vec![0u8; abi::QUERY_MAPPINGS_ARRAY_OFFSET + MAPPING_SLOTS * entry];
    let head = abi::QueryMappingsIn { output_mapping_count: MAPPING_SLOTS as u32, reserved: 0 };
    buf[..std::mem::size_of::<abi::QueryMappingsIn>()].copy_from_slice(head.as_bytes());
    // SAFETY: the buffer holds the in struct plus exactly `output_mapping_count` mapping
    // slots, which is all the driver reads or writes for QUERY_MAPPINGS.
    unsafe { fd.sys.ioctl(fd.fd, abi::IOCTL_QUERY_MAPPINGS, &mut buf) }
        .map_err(|e| KmdError::from_io(&fd.path, "QUERY_MAPPINGS", e))?;
    Ok(buf[abi::QUERY_MAPPINGS_ARRAY_OFFSET..]
        .chunks_exact(entry)
        .filter_map(abi::Mapping::read_from)
        .filter(|m| m.mapping_id != abi::mapping_id::UNUSED)
        .map(|m| BarMapping { id: m.mapping_id, base: m.mapping_base, size: m.mapping_size })
        .collect())
}
