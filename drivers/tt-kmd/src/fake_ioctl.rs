//! The fake driver's ioctl handlers: each checks the request bytes as tt-kmd does and
//! writes a canned reply.

use std::io;
use std::mem::size_of;

use super::{Call, FakeOp, FakeState, FakeTlb, BAR0_SIZE, TLB_UC_BASE, TLB_WC_BASE};
use crate::abi::{self, Pod};

impl FakeState {
    pub(super) fn injected(&mut self, op: FakeOp) -> Option<i32> {
        let pos = self.failures.iter().position(|(o, _)| *o == op)?;
        Some(self.failures.remove(pos).1)
    }

    /// Records a request the real driver would refuse and returns its errno.
    pub(super) fn reject(&mut self, errno: i32, why: String) -> io::Result<()> {
        self.violations.push(why);
        Err(io::Error::from_raw_os_error(errno))
    }

    /// The mmap offsets of window `id`: its offset in BAR0 (windows of every class lie one
    /// class after another), or BAR0's size plus its offset in BAR4 for 4 GiB windows.
    pub(super) fn tlb_offsets(&self, id: u32) -> (u64, u64) {
        let (mut first, mut bar0) = (0u32, 0u64);
        let mut encoded = 0;
        for &(size, count) in &self.tlb_pool {
            if id < first + count {
                let within = u64::from(id - first) * size;
                encoded = if size == 4 << 30 { BAR0_SIZE + within } else { bar0 + within };
                break;
            }
            first += count;
            bar0 += u64::from(count) * size;
        }
        (TLB_UC_BASE + encoded, TLB_WC_BASE + encoded)
    }

    pub(super) fn ioctl(&mut self, request: u32, arg: &mut [u8]) -> io::Result<()> {
        match request {
            abi::IOCTL_GET_DEVICE_INFO => {
                self.calls.push(Call::GetDeviceInfo);
                let mut a: abi::GetDeviceInfo = self.decode(arg, "GET_DEVICE_INFO")?;
                self.check_out_size(
                    a.in_.output_size_bytes,
                    size_of::<abi::GetDeviceInfoOut>(),
                    "GET_DEVICE_INFO",
                )?;
                a.out = self.device_info;
                reply(arg, &a)
            }
            abi::IOCTL_GET_DRIVER_INFO => {
                self.calls.push(Call::GetDriverInfo);
                let mut a: abi::GetDriverInfo = self.decode(arg, "GET_DRIVER_INFO")?;
                self.check_out_size(
                    a.in_.output_size_bytes,
                    size_of::<abi::GetDriverInfoOut>(),
                    "GET_DRIVER_INFO",
                )?;
                a.out = self.driver_info;
                reply(arg, &a)
            }
            abi::IOCTL_QUERY_MAPPINGS => self.query_mappings(arg),
            abi::IOCTL_ALLOCATE_TLB => self.allocate_tlb(arg),
            abi::IOCTL_CONFIGURE_TLB => self.configure_tlb(arg),
            abi::IOCTL_FREE_TLB => self.free_tlb(arg),
            abi::IOCTL_LOCK_CTL => self.lock_ctl(arg),
            abi::IOCTL_RESET_DEVICE => {
                let mut a: abi::ResetDevice = self.decode(arg, "RESET_DEVICE")?;
                self.calls.push(Call::ResetDevice { flags: a.in_.flags });
                self.check_out_size(
                    a.in_.output_size_bytes,
                    size_of::<abi::ResetDeviceOut>(),
                    "RESET_DEVICE",
                )?;
                if a.in_.flags > abi::reset_flags::POST_RESET {
                    return self.reject(
                        libc::EINVAL,
                        format!("RESET_DEVICE: unknown flags {}", a.in_.flags),
                    );
                }
                a.out = abi::ResetDeviceOut { output_size_bytes: 8, result: self.reset_result };
                reply(arg, &a)
            }
            abi::IOCTL_SET_NOC_CLEANUP => {
                let a: abi::SetNocCleanup = self.decode(arg, "SET_NOC_CLEANUP")?;
                self.calls.push(Call::SetNocCleanup(a));
                let ok = a.argsz as usize == size_of::<abi::SetNocCleanup>()
                    && a.flags == 0
                    && a.reserved0 == 0
                    && a.enabled <= 1
                    && a.addr % 4 == 0
                    && a.noc <= 1;
                if !ok {
                    return self
                        .reject(libc::EINVAL, format!("SET_NOC_CLEANUP: bad request {a:?}"));
                }
                Ok(())
            }
            other => {
                self.calls.push(Call::Other { request: other });
                Err(io::Error::from_raw_os_error(libc::EINVAL))
            }
        }
    }

    /// Decodes the whole argument as `T`, refusing any other length.
    fn decode<T: Pod>(&mut self, arg: &[u8], op: &str) -> io::Result<T> {
        if arg.len() != size_of::<T>() {
            self.reject(
                libc::EFAULT,
                format!(
                    "{op}: argument is {} bytes, driver struct is {}",
                    arg.len(),
                    size_of::<T>()
                ),
            )?;
        }
        match T::read_from(arg) {
            Some(v) => Ok(v),
            None => Err(io::Error::from_raw_os_error(libc::EFAULT)),
        }
    }

    fn check_out_size(&mut self, got: u32, want: usize, op: &str) -> io::Result<()> {
        if got as usize != want {
            return self
                .reject(libc::EINVAL, format!("{op}: output_size_bytes {got}, expected {want}"));
        }
        Ok(())
    }

    fn query_mappings(&mut self, arg: &mut [u8]) -> io::Result<()> {
        let head = abi::QueryMappingsIn::read_from(arg).unwrap_or_default();
        self.calls.push(Call::QueryMappings { slots: head.output_mapping_count });
        let entry = size_of::<abi::Mapping>();
        let want = abi::QUERY_MAPPINGS_ARRAY_OFFSET + head.output_mapping_count as usize * entry;
        if arg.len() != want || head.reserved != 0 {
            return self.reject(
                libc::EFAULT,
                format!(
                    "QUERY_MAPPINGS: {} bytes for {} slots (want {want}), reserved {}",
                    arg.len(),
                    head.output_mapping_count,
                    head.reserved
                ),
            );
        }
        let slots = arg[abi::QUERY_MAPPINGS_ARRAY_OFFSET..].chunks_exact_mut(entry);
        for (i, slot) in slots.enumerate() {
            let m = self.mappings.get(i).copied().unwrap_or_default();
            slot.copy_from_slice(m.as_bytes());
        }
        Ok(())
    }

    fn allocate_tlb(&mut self, arg: &mut [u8]) -> io::Result<()> {
        let mut a: abi::AllocateTlb = self.decode(arg, "ALLOCATE_TLB")?;
        self.calls.push(Call::AllocateTlb { size: a.in_.size });
        if !self.knows_tlb_ioctls {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        if a.in_.reserved != 0 || a.out != abi::AllocateTlbOut::default() {
            return self
                .reject(libc::EINVAL, format!("ALLOCATE_TLB: nonzero reserved/out bytes {a:?}"));
        }
        let mut first = 0u32;
        let mut range = None;
        for &(size, count) in &self.tlb_pool {
            if size == a.in_.size {
                range = Some(first..first + count);
                break;
            }
            first += count;
        }
        let Some(range) = range else {
            return self.reject(
                libc::EINVAL,
                format!("ALLOCATE_TLB: no {:#x}-byte windows on this card", a.in_.size),
            );
        };
        let kept = self.kernel_tlb;
        let Some(id) =
            range.into_iter().find(|id| !self.tlbs.contains_key(id) && Some(*id) != kept)
        else {
            return Err(io::Error::from_raw_os_error(libc::ENOMEM));
        };
        self.tlbs.insert(id, FakeTlb { size: a.in_.size, mapped: 0, config: None });
        let (uc, wc) = self.tlb_offsets(id);
        a.out = abi::AllocateTlbOut {
            id,
            reserved0: 0,
            mmap_offset_uc: uc,
            mmap_offset_wc: wc,
            reserved1: 0,
        };
        reply(arg, &a)
    }

    fn configure_tlb(&mut self, arg: &mut [u8]) -> io::Result<()> {
        let a: abi::ConfigureTlb = self.decode(arg, "CONFIGURE_TLB")?;
        let (id, config) = (a.in_.id, a.in_.config);
        self.calls.push(Call::ConfigureTlb { id, config });
        if !self.knows_tlb_ioctls {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        if a.in_.reserved != 0
            || config.reserved0 != [0; 3]
            || config.reserved1 != [0; 2]
            || config.mcast > 1
            || config.noc > 1
        {
            return self.reject(libc::EINVAL, format!("CONFIGURE_TLB: bad config {config:?}"));
        }
        let Some(tlb) = self.tlbs.get(&id).copied() else {
            return self.reject(libc::EPERM, format!("CONFIGURE_TLB: id {id} is not ours"));
        };
        if config.addr % tlb.size != 0 {
            return self.reject(
                libc::EINVAL,
                format!("CONFIGURE_TLB: addr {:#x} not aligned to {:#x}", config.addr, tlb.size),
            );
        }
        // The window now shows another part of the card: keep what it showed, show the new.
        self.save_window(id);
        self.tlbs.insert(id, FakeTlb { config: Some(config), ..tlb });
        self.load_window(id);
        Ok(())
    }

    fn free_tlb(&mut self, arg: &mut [u8]) -> io::Result<()> {
        let a: abi::FreeTlb = self.decode(arg, "FREE_TLB")?;
        let id = a.in_.id;
        self.calls.push(Call::FreeTlb { id });
        match self.tlbs.get(&id) {
            None => self.reject(libc::EPERM, format!("FREE_TLB: id {id} is not ours")),
            Some(t) if t.mapped > 0 => {
                self.reject(libc::EBUSY, format!("FREE_TLB: id {id} is still mapped"))
            }
            Some(_) => {
                self.tlbs.remove(&id);
                Ok(())
            }
        }
    }

    fn lock_ctl(&mut self, arg: &mut [u8]) -> io::Result<()> {
        let mut a: abi::LockCtl = self.decode(arg, "LOCK_CTL")?;
        self.calls.push(Call::LockCtl { flags: a.in_.flags, index: a.in_.index });
        self.check_out_size(a.in_.output_size_bytes, size_of::<abi::LockCtlOut>(), "LOCK_CTL")?;
        if a.in_.reserved != [0; 3]
            || u32::from(a.in_.index) >= abi::TENSTORRENT_RESOURCE_LOCK_COUNT
        {
            return self.reject(libc::EINVAL, format!("LOCK_CTL: bad request {:?}", a.in_));
        }
        let bit = 1u64 << a.in_.index;
        let mine = self.locks_mine & bit != 0;
        let anyone = mine || self.locks_elsewhere & bit != 0;
        let value = match a.in_.flags {
            abi::lock_ctl_flags::ACQUIRE if anyone => 0,
            abi::lock_ctl_flags::ACQUIRE => {
                self.locks_mine |= bit;
                1
            }
            abi::lock_ctl_flags::RELEASE if mine => {
                self.locks_mine &= !bit;
                1
            }
            abi::lock_ctl_flags::RELEASE => 0,
            abi::lock_ctl_flags::TEST => (u8::from(anyone) << 1) | u8::from(mine),
            f => return self.reject(libc::EINVAL, format!("LOCK_CTL: unknown flags {f}")),
        };
        a.out = abi::LockCtlOut { value, reserved: [0; 3] };
        reply(arg, &a)
    }
}

fn reply<T: Pod>(arg: &mut [u8], v: &T) -> io::Result<()> {
    let bytes = v.as_bytes();
    match arg.get_mut(..bytes.len()) {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            Ok(())
        }
        None => Err(io::Error::from_raw_os_error(libc::EFAULT)),
    }
}
