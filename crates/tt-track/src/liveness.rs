//! Liveness by the kernel: classic POSIX record locks (not OFD locks), because only they make
//! `F_GETLK` report the holder's pid.
//!
//! Such a lock belongs to the process and vanishes when the process closes *any* descriptor
//! of the file; that is why nothing in this crate ever opens its own segment twice.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use nix::fcntl::{fcntl, FcntlArg};

fn whole_file(lock_type: libc::c_int) -> libc::flock {
    libc::flock {
        // The F_* lock types fit in a c_short by definition of the ABI.
        l_type: lock_type as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    }
}

/// Takes an exclusive lock on the whole file without waiting; fails if another process
/// holds one.
pub(crate) fn lock_for_lifetime(fd: BorrowedFd<'_>) -> io::Result<()> {
    let lock = whole_file(libc::F_WRLCK);
    fcntl(fd.as_raw_fd(), FcntlArg::F_SETLK(&lock)).map_err(io::Error::from)?;
    Ok(())
}

/// The pid of the process holding a lock on the file, or `None` when nobody does.
///
/// The caller's own locks are never reported (POSIX), so this must not be asked about a
/// segment of the calling process.
pub(crate) fn lock_holder(fd: BorrowedFd<'_>) -> io::Result<Option<i32>> {
    let mut probe = whole_file(libc::F_WRLCK);
    fcntl(fd.as_raw_fd(), FcntlArg::F_GETLK(&mut probe)).map_err(io::Error::from)?;
    if probe.l_type == libc::F_UNLCK as libc::c_short {
        Ok(None)
    } else {
        Ok(Some(probe.l_pid))
    }
}
