//! An in-memory tt-kmd for tests (built with `cfg(test)` or the `fake` feature).
//!
//! [`FakeKmd`] implements [`Syscalls`]: it checks every request byte for byte the way the
//! driver does (argument length, `output_size_bytes` / `argsz`, reserved members, sizes,
//! alignment, ownership), answers with canned replies, logs every call in order, and backs
//! each mmap with a zeroed heap buffer. Anything the real driver would reject is refused
//! with the driver's errno and also recorded as a violation, so a test can assert there
//! were none.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::mem::size_of;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::{Mutex, MutexGuard};

use crate::abi;
use crate::sys::Syscalls;

/// One call the fake received, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `open(path)`.
    Open(PathBuf),
    /// GET_DEVICE_INFO.
    GetDeviceInfo,
    /// GET_DRIVER_INFO.
    GetDriverInfo,
    /// QUERY_MAPPINGS with this many slots.
    QueryMappings {
        /// `output_mapping_count`.
        slots: u32,
    },
    /// ALLOCATE_TLB.
    AllocateTlb {
        /// Requested size.
        size: u64,
    },
    /// CONFIGURE_TLB.
    ConfigureTlb {
        /// TLB id.
        id: u32,
        /// The config bytes sent.
        config: abi::NocTlbConfig,
    },
    /// FREE_TLB.
    FreeTlb {
        /// TLB id.
        id: u32,
    },
    /// LOCK_CTL.
    LockCtl {
        /// Flag value.
        flags: u32,
        /// Lock index.
        index: u8,
    },
    /// RESET_DEVICE.
    ResetDevice {
        /// Flag value.
        flags: u32,
    },
    /// SET_NOC_CLEANUP.
    SetNocCleanup(abi::SetNocCleanup),
    /// Any other request code.
    Other {
        /// The request code.
        request: u32,
    },
    /// `mmap(len, offset)`.
    Mmap {
        /// Length.
        len: usize,
        /// Offset.
        offset: u64,
    },
    /// `munmap(len)`.
    Munmap {
        /// Length.
        len: usize,
    },
    /// `close(fd)`.
    Close,
}

/// Which call an injected failure applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeOp {
    /// `open`.
    Open,
    /// An ioctl with this request code.
    Ioctl(u32),
    /// `mmap`.
    Mmap,
}

/// A TLB the fake has handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FakeTlb {
    /// Window size.
    pub size: u64,
    /// Live mappings of it.
    pub mapped: u32,
    /// Last CONFIGURE_TLB config.
    pub config: Option<abi::NocTlbConfig>,
}

struct FakeMap {
    buf: Box<[u64]>,
    len: usize,
    tlb: Option<u32>,
}

/// The fake driver's state; tests may adjust the public fields before opening.
pub struct FakeState {
    /// Whether the device file exists (ENOENT from open otherwise).
    pub present: bool,
    /// The GET_DEVICE_INFO reply.
    pub device_info: abi::GetDeviceInfoOut,
    /// The GET_DRIVER_INFO reply (set `output_size_bytes` to 8 for a driver without semver).
    pub driver_info: abi::GetDriverInfoOut,
    /// False models a driver older than the TLB ioctls (they answer EINVAL).
    pub knows_tlb_ioctls: bool,
    /// The QUERY_MAPPINGS reply.
    pub mappings: Vec<abi::Mapping>,
    /// TLB sizes and how many of each the hardware has, in id order.
    pub tlb_pool: Vec<(u64, u32)>,
    /// The window the driver keeps for itself and never hands out (tt-kmd `KERNEL_TLB_INDEX`).
    pub kernel_tlb: Option<u32>,
    /// RESET_DEVICE `out.result`.
    pub reset_result: u32,
    /// Locks held by some other process (bit per index).
    pub locks_elsewhere: u64,
    calls: Vec<Call>,
    violations: Vec<String>,
    failures: Vec<(FakeOp, i32)>,
    open_fds: Vec<RawFd>,
    next_fd: RawFd,
    tlbs: BTreeMap<u32, FakeTlb>,
    locks_mine: u64,
    maps: HashMap<usize, FakeMap>,
    noc: noc::NocStore,
}

/// An in-memory tt-kmd.
pub struct FakeKmd {
    state: Mutex<FakeState>,
}

const MIB: u64 = 1 << 20;
// The driver's mmap offsets (tt-kmd memory.c): MMAP_OFFSET_RESOURCE<n>_UC/WC = (2n or 2n+1)
// << 36, MMAP_OFFSET_TLB_UC = 6 << 36 and MMAP_OFFSET_TLB_WC = 7 << 36, a TLB window's offset
// being its offset in BAR0, or 512 MiB (BAR0's size) plus its offset in BAR4 for Blackhole's
// 4 GiB windows (tenstorrent_ioctl_allocate_tlb).
const TLB_UC_BASE: u64 = 6 << 36;
const TLB_WC_BASE: u64 = 7 << 36;
const BAR0_SIZE: u64 = 512 * MIB;

fn mapping(id: u32, base: u64, size: u64) -> abi::Mapping {
    abi::Mapping { mapping_id: id, reserved: 0, mapping_base: base, mapping_size: size }
}

impl FakeKmd {
    /// A Wormhole n150-like card at PCI 0000:03:00.0 behind tt-kmd 2.6.0. The driver keeps the
    /// last window, a 16 MiB one (wormhole.c `KERNEL_TLB_INDEX = TLB_WINDOW_COUNT - 1`).
    pub fn wormhole() -> Self {
        let pool = vec![(MIB, 156), (2 * MIB, 10), (16 * MIB, 20)];
        Self::new(crate::WORMHOLE_PCI_DEVICE_ID, pool, 156 + 10 + 20 - 1)
    }

    /// A Blackhole card at PCI 0000:03:00.0 behind tt-kmd 2.6.0. The driver keeps the last
    /// 2 MiB window (blackhole.c `KERNEL_TLB_INDEX = TLB_2M_WINDOW_COUNT - 1`).
    pub fn blackhole() -> Self {
        Self::new(crate::BLACKHOLE_PCI_DEVICE_ID, vec![(2 * MIB, 202), (4096 * MIB, 8)], 201)
    }

    fn new(device_id: u16, tlb_pool: Vec<(u64, u32)>, kernel_tlb: u32) -> Self {
        let m = abi::mapping_id::RESOURCE0_UC;
        let state = FakeState {
            present: true,
            device_info: abi::GetDeviceInfoOut {
                output_size_bytes: size_of::<abi::GetDeviceInfoOut>() as u32,
                vendor_id: crate::TENSTORRENT_PCI_VENDOR_ID,
                device_id,
                subsystem_vendor_id: crate::TENSTORRENT_PCI_VENDOR_ID,
                subsystem_id: 0x0014,
                bus_dev_fn: 0x0300,
                max_dma_buf_size_log2: 28,
                pci_domain: 0,
                reserved: 0,
            },
            driver_info: abi::GetDriverInfoOut {
                output_size_bytes: size_of::<abi::GetDriverInfoOut>() as u32,
                driver_version: abi::TENSTORRENT_DRIVER_VERSION,
                driver_version_major: 2,
                driver_version_minor: 6,
                driver_version_patch: 0,
                reserved0: 0,
            },
            knows_tlb_ioctls: true,
            mappings: vec![
                mapping(m, 0, 512 * MIB),
                mapping(m + 1, 1 << 36, 512 * MIB),
                mapping(m + 2, 2 << 36, MIB),
                mapping(m + 3, 3 << 36, MIB),
                mapping(m + 4, 4 << 36, 32 * MIB),
                mapping(m + 5, 5 << 36, 32 * MIB),
            ],
            tlb_pool,
            kernel_tlb: Some(kernel_tlb),
            reset_result: 0,
            locks_elsewhere: 0,
            calls: Vec::new(),
            violations: Vec::new(),
            failures: Vec::new(),
            open_fds: Vec::new(),
            next_fd: 100,
            tlbs: BTreeMap::new(),
            locks_mine: 0,
            maps: HashMap::new(),
            noc: HashMap::new(),
        };
        FakeKmd { state: Mutex::new(state) }
    }

    /// The state, for inspection or adjustment.
    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        // A test that panicked while holding the lock leaves usable state behind.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// Requests the real driver would have rejected.
    pub fn violations(&self) -> Vec<String> {
        self.state().violations.clone()
    }

    /// Makes the next `op` fail with `errno`.
    pub fn fail_next(&self, op: FakeOp, errno: i32) {
        self.state().failures.push((op, errno));
    }

    /// TLBs currently allocated, by id.
    pub fn tlbs(&self) -> BTreeMap<u32, FakeTlb> {
        self.state().tlbs.clone()
    }

    /// Descriptors currently open.
    pub fn open_fds(&self) -> Vec<RawFd> {
        self.state().open_fds.clone()
    }

    /// Number of live mappings.
    pub fn live_mappings(&self) -> usize {
        self.state().maps.len()
    }

    /// Reads `len` bytes at `offset` of the live mapping of TLB `id`, as the card would see
    /// what the host wrote.
    pub fn tlb_bytes(&self, id: u32, offset: usize, len: usize) -> Option<Vec<u8>> {
        let st = self.state();
        let m = st.maps.values().find(|m| m.tlb == Some(id))?;
        let end = offset.checked_add(len).filter(|&e| e <= m.len)?;
        let bytes: Vec<u8> = m.buf.iter().flat_map(|w| w.to_ne_bytes()).collect();
        Some(bytes[offset..end].to_vec())
    }

    /// Writes bytes into the live mapping of TLB `id`, as the card would answer reads.
    pub fn set_tlb_bytes(&self, id: u32, offset: usize, data: &[u8]) -> bool {
        let mut st = self.state();
        let Some(m) = st.maps.values_mut().find(|m| m.tlb == Some(id)) else {
            return false;
        };
        if offset.checked_add(data.len()).is_none_or(|e| e > m.len) {
            return false;
        }
        for (i, b) in data.iter().enumerate() {
            let pos = offset + i;
            let mut w = m.buf[pos / 8].to_ne_bytes();
            w[pos % 8] = *b;
            m.buf[pos / 8] = u64::from_ne_bytes(w);
        }
        true
    }
}

#[path = "fake_ioctl.rs"]
mod ioctl;
#[path = "fake_noc.rs"]
mod noc;

// SAFETY: every mmap result is the start of a heap buffer of at least `len` bytes, u64-aligned,
// owned by the fake until the matching munmap removes it; ioctl handlers only touch `arg`.
unsafe impl Syscalls for FakeKmd {
    fn open(&self, path: &Path) -> io::Result<RawFd> {
        let mut st = self.state();
        st.calls.push(Call::Open(path.to_path_buf()));
        if let Some(errno) = st.injected(FakeOp::Open) {
            return Err(io::Error::from_raw_os_error(errno));
        }
        if !st.present {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        }
        let fd = st.next_fd;
        st.next_fd += 1;
        st.open_fds.push(fd);
        Ok(fd)
    }

    unsafe fn ioctl(&self, fd: RawFd, request: u32, arg: &mut [u8]) -> io::Result<()> {
        let mut st = self.state();
        if !st.open_fds.contains(&fd) {
            return st
                .reject(libc::EBADF, format!("ioctl {request:#x} on fd {fd}, which is not open"));
        }
        if let Some(errno) = st.injected(FakeOp::Ioctl(request)) {
            return Err(io::Error::from_raw_os_error(errno));
        }
        st.ioctl(request, arg)
    }

    fn mmap(&self, fd: RawFd, len: usize, offset: u64) -> io::Result<NonNull<u8>> {
        let mut st = self.state();
        st.calls.push(Call::Mmap { len, offset });
        if !st.open_fds.contains(&fd) {
            return st
                .reject(libc::EBADF, format!("mmap on fd {fd}, which is not open"))
                .map(|()| NonNull::dangling());
        }
        if let Some(errno) = st.injected(FakeOp::Mmap) {
            return Err(io::Error::from_raw_os_error(errno));
        }
        let tlb = st.tlbs.iter().find_map(|(&id, t)| {
            let (uc, wc) = st.tlb_offsets(id);
            (offset == uc || offset == wc).then_some((id, t.size))
        });
        let limit = match tlb {
            Some((_, size)) => Some(size),
            None => st.mappings.iter().find(|m| m.mapping_base == offset).map(|m| m.mapping_size),
        };
        match limit {
            Some(l) if len > 0 && len as u64 <= l => {}
            _ => {
                return st
                    .reject(
                        libc::EINVAL,
                        format!("mmap of {len:#x} bytes at offset {offset:#x} matches nothing"),
                    )
                    .map(|()| NonNull::dangling())
            }
        }
        let mut buf = vec![0u64; len.div_ceil(8)].into_boxed_slice();
        let Some(base) = NonNull::new(buf.as_mut_ptr().cast::<u8>()) else {
            return Err(io::Error::from_raw_os_error(libc::ENOMEM));
        };
        if let Some((id, _)) = tlb {
            if let Some(t) = st.tlbs.get_mut(&id) {
                t.mapped += 1;
            }
        }
        st.maps.insert(base.as_ptr() as usize, FakeMap { buf, len, tlb: tlb.map(|(id, _)| id) });
        Ok(base)
    }

    unsafe fn munmap(&self, addr: NonNull<u8>, len: usize) -> io::Result<()> {
        let mut st = self.state();
        st.calls.push(Call::Munmap { len });
        let key = addr.as_ptr() as usize;
        match st.maps.get(&key) {
            Some(m) if m.len == len => {}
            _ => {
                return st.reject(
                    libc::EINVAL,
                    format!("munmap of {len:#x} bytes at {key:#x} matches no mapping"),
                )
            }
        }
        // What the window showed stays in the card's memory.
        if let Some(id) = st.maps.get(&key).and_then(|m| m.tlb) {
            st.save_window(id);
        }
        if let Some(m) = st.maps.remove(&key) {
            if let Some(t) = m.tlb.and_then(|id| st.tlbs.get_mut(&id)) {
                t.mapped = t.mapped.saturating_sub(1);
            }
        }
        Ok(())
    }

    fn close(&self, fd: RawFd) -> io::Result<()> {
        let mut st = self.state();
        st.calls.push(Call::Close);
        let Some(pos) = st.open_fds.iter().position(|&f| f == fd) else {
            return st.reject(libc::EBADF, format!("close of fd {fd}, which is not open"));
        };
        st.open_fds.remove(pos);
        // As the driver does on release: drop this fd's locks and TLBs.
        st.locks_mine = 0;
        st.tlbs.clear();
        Ok(())
    }
}
