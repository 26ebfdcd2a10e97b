//! What a child forked without exec inherits of its parent's simulated chips: nothing that
//! holds them.
//!
//! A chip is held by an OFD lock on its file, which belongs to the open file description and
//! so is shared by every descriptor of it, including the copies a `fork` gives the child. A
//! child that outlived its parent kept the chip: nobody could open it, and monitors named the
//! dead parent (the pid in the chip's header) as its holder. Every descriptor of a chip file
//! is therefore registered here, and a `pthread_atfork` child handler points each one at
//! `/dev/null` (`dup2`, async-signal-safe): the child keeps its descriptor numbers, so nothing
//! it later closes is another file, but not the chip, whose lock ends with the parent. The
//! child's handles already refuse to work (they are the parent's); now it does not hold the
//! chip either.

use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Once;

/// Descriptors of chip files one process can have registered at once (two per open chip).
const SLOTS: usize = 128;
const FREE: i32 = -1;

static CHIP_FDS: [AtomicI32; SLOTS] = [const { AtomicI32::new(FREE) }; SLOTS];
static DEV_NULL: AtomicI32 = AtomicI32::new(FREE);
static HANDLER: Once = Once::new();

extern "C" fn let_go_in_child() {
    let null = DEV_NULL.load(Ordering::Relaxed);
    if null < 0 {
        return;
    }
    for slot in &CHIP_FDS {
        let fd = slot.load(Ordering::Relaxed);
        if fd >= 0 {
            // SAFETY: dup2 is async-signal-safe; both are descriptors this process holds
            // (registered ones are unregistered before they close), and replacing one only
            // changes what that number refers to in this child.
            unsafe { libc::dup2(null, fd) };
        }
    }
}

fn install() {
    HANDLER.call_once(|| {
        match std::fs::File::open("/dev/null") {
            // Kept open for the life of the process: the handler needs it after any fork.
            Ok(null) => DEV_NULL.store(std::os::fd::IntoRawFd::into_raw_fd(null), Ordering::Relaxed),
            Err(error) => {
                tracing::warn!(%error, "cannot open /dev/null: a forked child will keep its parent's simulated chips");
                return;
            }
        }
        // SAFETY: registers a child handler that only loads atomics and calls dup2, which is
        // allowed between fork and exec; the function lives for the whole program.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(let_go_in_child)) };
        if rc != 0 {
            tracing::warn!(rc, "pthread_atfork failed: a forked child will keep its parent's simulated chips");
        }
    });
}

/// A chip file descriptor registered for release in forked children; unregisters on drop,
/// which must come before the descriptor closes (declare it before the file it guards).
#[derive(Debug)]
pub(crate) struct ChipFd {
    slot: Option<usize>,
}

impl ChipFd {
    /// Registers `file`'s descriptor.
    pub(crate) fn register(file: &impl AsRawFd) -> ChipFd {
        install();
        let fd: RawFd = file.as_raw_fd();
        let slot = CHIP_FDS.iter().position(|s| {
            s.compare_exchange(FREE, fd, Ordering::AcqRel, Ordering::Relaxed).is_ok()
        });
        if slot.is_none() {
            tracing::warn!(
                fd,
                "more than {SLOTS} simulated chip descriptors open: a forked child will keep this one"
            );
        }
        ChipFd { slot }
    }
}

impl Drop for ChipFd {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            CHIP_FDS[slot].store(FREE, Ordering::Release);
        }
    }
}
