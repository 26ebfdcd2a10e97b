//! Telling a forked child from the process that made an object.
//!
//! A child forked without exec inherits copies of every handle, allocator and tracker of
//! its parent, and shares the parent's shared mappings (the ledger segment, the simulated
//! chip). Counting into the parent's segment, or allocating from a copy of the parent's
//! allocator, would corrupt both, so every such object remembers the generation it was
//! made in and refuses to act in another one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

static GENERATION: AtomicU64 = AtomicU64::new(0);
static HANDLER: Once = Once::new();

extern "C" fn after_fork_in_child() {
    // Async-signal-safe: one atomic add, nothing else.
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// The fork generation an object was made in: bumped in every child right after `fork`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ForkGeneration(u64);

impl ForkGeneration {
    /// True in the process (not a forked child of it) where this generation was taken.
    #[inline]
    pub fn is_current(self) -> bool {
        self.0 == GENERATION.load(Ordering::Relaxed)
    }

    /// The raw counter, for diagnostics.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// This process's generation. The first call installs the `pthread_atfork` child handler,
/// so every object that takes a generation is guaranteed to see forks that happen after.
#[inline]
pub fn fork_generation() -> ForkGeneration {
    HANDLER.call_once(|| {
        // SAFETY: registers a child handler that only performs an atomic add, which is
        // allowed between fork and exec; the function lives for the whole program.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
        if rc != 0 {
            tracing::error!(
                rc,
                "pthread_atfork failed: a forked child cannot be told from its parent, so it \
                 could count into its parent's ledger"
            );
        }
    });
    ForkGeneration(GENERATION.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generation_is_current_in_its_process_and_not_in_a_forked_child() {
        let generation = fork_generation();
        assert!(generation.is_current());
        // SAFETY: the child only loads an atomic and calls _exit, both async-signal-safe.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let code = if generation.is_current() { 1 } else { 0 };
            // SAFETY: _exit ends the child without running the parent's atexit handlers.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waits for the child just forked; `status` is a valid out pointer.
        let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(waited, pid);
        assert!(libc::WIFEXITED(status));
        assert_eq!(
            libc::WEXITSTATUS(status),
            0,
            "the child saw its parent's generation as its own"
        );
        assert!(generation.is_current());
    }
}
