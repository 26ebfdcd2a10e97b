//! The sequence protocol that makes every read of a device slot a state its writer had.
//!
//! Each device slot has one sequence word. Its only writer (the thread holding the slot's
//! in-process lock) makes it odd before it changes anything of the slot and even again after,
//! so a slot whose word reads the same even value before and after a copy was not written
//! during the copy: the copy is one state. A reader that keeps finding the word moving gives
//! up after a bounded number of tries and reports the slot busy, never the torn numbers.
//!
//! The functions are generic over the word type so that the same code is model-checked with
//! loom's atomics (`tests::seqlock_model`) and run on the segment's std atomics. Readers of
//! another process's segment copy it with `pread`, not atomics: there each sequence load and
//! the copy are separate system calls, which the kernel performs in program order, so the
//! same argument holds (a load of the word, then the copy, then a load of the word).

use std::sync::atomic::{AtomicU64, Ordering};

/// A sequence word: the operations the protocol needs, so loom's atomics can stand in.
pub(crate) trait SeqWord {
    fn store(&self, value: u64, order: Ordering);
    /// A memory fence of the same family as the word's atomics.
    fn fence(order: Ordering);
}

impl SeqWord for AtomicU64 {
    #[inline]
    fn store(&self, value: u64, order: Ordering) {
        AtomicU64::store(self, value, order);
    }

    #[inline]
    fn fence(order: Ordering) {
        std::sync::atomic::fence(order);
    }
}

/// An open write section of one slot: created by the slot's only writer before it changes
/// anything, closed (the word even again) when dropped, also while unwinding.
///
/// The writer keeps the word's value in `own`, memory only it touches, and only ever stores
/// to the shared word: it never trusts what the shared memory holds, and its first access in
/// a section is the store that readers race with.
pub(crate) struct WriteSection<'a, W: SeqWord> {
    shared: &'a W,
    own: &'a AtomicU64,
    odd: u64,
}

impl<'a, W: SeqWord> WriteSection<'a, W> {
    /// Opens a section. The caller is the slot's only writer (it holds the slot's lock), and
    /// `own` is the writer's private copy of the word (even between sections).
    #[inline]
    pub(crate) fn open(shared: &'a W, own: &'a AtomicU64) -> WriteSection<'a, W> {
        let odd = own.load(Ordering::Relaxed) | 1;
        shared.store(odd, Ordering::Relaxed);
        // Orders the odd word before every store of the section (on x86 a compiler barrier).
        W::fence(Ordering::Release);
        WriteSection { shared, own, odd }
    }
}

impl<W: SeqWord> Drop for WriteSection<'_, W> {
    #[inline]
    fn drop(&mut self) {
        let even = self.odd.wrapping_add(1);
        // Release: a reader that sees the even word sees every store of the section.
        self.shared.store(even, Ordering::Release);
        self.own.store(even, Ordering::Relaxed);
    }
}

/// What a bounded read found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stable<T> {
    /// A copy of one state the writer had, and the sequence value it had then.
    Copy(T, u64),
    /// The writer changed the slot during every try.
    Busy,
}

/// Copies a slot until a copy is bracketed by the same even sequence value, at most `tries`
/// times. `load_seq` reads the word (with acquire semantics), `copy` takes the copy (it may
/// see anything while the writer is active and must not trust it), `backoff` waits before
/// try `n + 1`. An error of `load_seq` or `copy` ends the read.
pub(crate) fn read_stable<T, E>(
    tries: usize,
    mut load_seq: impl FnMut() -> Result<u64, E>,
    mut copy: impl FnMut() -> Result<T, E>,
    acquire_fence: impl Fn(),
    mut backoff: impl FnMut(usize),
) -> Result<Stable<T>, E> {
    for attempt in 0..tries {
        let before = load_seq()?;
        if before % 2 == 0 {
            let value = copy()?;
            // Orders the copy's loads before the second load of the word.
            acquire_fence();
            if load_seq()? == before {
                return Ok(Stable::Copy(value, before));
            }
        }
        backoff(attempt);
    }
    Ok(Stable::Busy)
}

/// Tries a reader makes before it reports a slot busy.
pub(crate) const READ_TRIES: usize = 200;

/// The reader's wait between tries: spin briefly, then yield, then sleep a little, so a reader
/// racing a writer that never pauses still lands between two of its events, and a reader never
/// waits long (about 20 ms over all tries) for a slot that stays busy.
pub(crate) fn reader_backoff(attempt: usize) {
    match attempt {
        0..=7 => std::hint::spin_loop(),
        8..=99 => std::thread::yield_now(),
        _ => std::thread::sleep(std::time::Duration::from_micros(200)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_slot_reads_at_once_and_a_moving_one_reads_busy() {
        let seq = AtomicU64::new(4);
        let quiet: Result<_, ()> =
            read_stable(3, || Ok(seq.load(Ordering::Acquire)), || Ok(7), || {}, |_| {});
        assert_eq!(quiet, Ok(Stable::Copy(7, 4)));

        // The word moves between the two loads of every try.
        let moving = AtomicU64::new(0);
        let copies = std::cell::Cell::new(0);
        let result: Result<Stable<u32>, ()> = read_stable(
            5,
            || Ok(moving.load(Ordering::Acquire)),
            || {
                copies.set(copies.get() + 1);
                moving.store(moving.load(Ordering::Relaxed) + 2, Ordering::Relaxed);
                Ok(1)
            },
            || {},
            |_| {},
        );
        assert_eq!(result, Ok(Stable::Busy));
        assert_eq!(copies.get(), 5);

        // An odd word is never copied.
        let open = AtomicU64::new(3);
        let copied = std::cell::Cell::new(false);
        let result: Result<Stable<()>, ()> = read_stable(
            4,
            || Ok(open.load(Ordering::Acquire)),
            || {
                copied.set(true);
                Ok(())
            },
            || {},
            |_| {},
        );
        assert_eq!(result, Ok(Stable::Busy));
        assert!(!copied.get());
    }

    #[test]
    fn a_section_leaves_the_word_even_and_advanced_even_when_unwinding() {
        let (seq, own) = (AtomicU64::new(10), AtomicU64::new(10));
        {
            let _section = WriteSection::open(&seq, &own);
            assert_eq!(seq.load(Ordering::Relaxed), 11);
        }
        assert_eq!(seq.load(Ordering::Relaxed), 12);
        let unwound = std::panic::catch_unwind(|| {
            let _section = WriteSection::open(&seq, &own);
            panic!("mid-section");
        });
        assert!(unwound.is_err());
        assert_eq!(seq.load(Ordering::Relaxed), 14);
        // The writer follows its own copy, not what the shared word was overwritten with.
        seq.store(1001, Ordering::Relaxed);
        drop(WriteSection::open(&seq, &own));
        assert_eq!((seq.load(Ordering::Relaxed), own.load(Ordering::Relaxed)), (16, 16));
    }
}
