//! The syscall seam: every open, ioctl, mmap, munmap and close of this crate goes through
//! [`Syscalls`], so the whole device lifecycle can be driven against a fake driver in tests.

use std::io;
use std::os::fd::{IntoRawFd, RawFd};
use std::path::Path;
use std::ptr::NonNull;

/// The five syscalls the PCIe backend needs, as a narrow trait with a real implementation
/// ([`RealSyscalls`]) and fakes in tests.
///
/// # Safety
/// Safe code builds volatile accessors over what [`Syscalls::mmap`] returns, so an
/// implementation must return a pointer that is valid for reads and writes of `len` bytes,
/// 8-byte aligned (page-aligned for real mappings), and stays valid until the matching
/// [`Syscalls::munmap`]; and `ioctl` must not touch memory outside `arg`.
pub unsafe trait Syscalls: Send + Sync {
    /// Opens `path` read-write and close-on-exec, returning the new descriptor.
    fn open(&self, path: &Path) -> io::Result<RawFd>;

    /// Issues `request` on `fd` with `arg` as the argument buffer.
    ///
    /// # Safety
    /// `arg` must be the complete argument of `request` as the driver defines it: the driver
    /// may read and write any byte of `arg` and must not touch memory beyond it.
    unsafe fn ioctl(&self, fd: RawFd, request: u32, arg: &mut [u8]) -> io::Result<()>;

    /// Maps `len` bytes of `fd` at `offset`, shared and read-write. The mapping stays valid
    /// until [`Syscalls::munmap`] is called for it.
    fn mmap(&self, fd: RawFd, len: usize, offset: u64) -> io::Result<NonNull<u8>>;

    /// Unmaps a mapping returned by [`Syscalls::mmap`].
    ///
    /// # Safety
    /// `addr` and `len` must be exactly one earlier `mmap` result of this implementation, and
    /// nothing may access the range afterwards.
    unsafe fn munmap(&self, addr: NonNull<u8>, len: usize) -> io::Result<()>;

    /// Closes a descriptor returned by [`Syscalls::open`].
    fn close(&self, fd: RawFd) -> io::Result<()>;
}

/// The real syscalls through libc.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealSyscalls;

// SAFETY: mmap results come straight from the kernel's mmap, valid until munmap; the ioctl
// passes only `arg`'s pointer, and the callers' contract keeps the driver inside it.
unsafe impl Syscalls for RealSyscalls {
    fn open(&self, path: &Path) -> io::Result<RawFd> {
        // std opens with O_CLOEXEC already; a child process must not inherit the card's fd,
        // or the driver would keep our TLBs and locks alive after we exit.
        let file = std::fs::OpenOptions::new().read(true).write(true).open(path)?;
        Ok(file.into_raw_fd())
    }

    unsafe fn ioctl(&self, fd: RawFd, request: u32, arg: &mut [u8]) -> io::Result<()> {
        // SAFETY: the caller guarantees `arg` is the whole argument struct of `request`, so
        // the driver's reads and writes stay inside the slice we pass.
        // `as _`: the request parameter is c_ulong on glibc and c_int on musl.
        let rc = unsafe { libc::ioctl(fd, request as _, arg.as_mut_ptr()) };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    fn mmap(&self, fd: RawFd, len: usize, offset: u64) -> io::Result<NonNull<u8>> {
        let offset = libc::off_t::try_from(offset).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "mmap offset does not fit off_t")
        })?;
        // SAFETY: a fresh shared mapping at an address of the kernel's choosing (no
        // MAP_FIXED), so no existing memory of this process is replaced.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                offset,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned a null mapping"))
    }

    unsafe fn munmap(&self, addr: NonNull<u8>, len: usize) -> io::Result<()> {
        // SAFETY: the caller guarantees this is one whole earlier mapping that nothing uses.
        let rc = unsafe { libc::munmap(addr.as_ptr().cast(), len) };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    fn close(&self, fd: RawFd) -> io::Result<()> {
        // SAFETY: closing a descriptor has no memory-safety preconditions; the caller owns `fd`.
        let rc = unsafe { libc::close(fd) };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}
