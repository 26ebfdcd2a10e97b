//! Model check of the ledger's writer/reader sequence protocol with loom: every interleaving
//! and every weak-memory outcome loom can produce of one writer counting events and one reader
//! copying the slot, on the very functions the segment uses (`segment::seqlock`).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use loom::sync::atomic::AtomicU64;

use crate::segment::seqlock::{read_stable, SeqWord, Stable, WriteSection};

impl SeqWord for AtomicU64 {
    fn store(&self, value: u64, order: Ordering) {
        AtomicU64::store(self, value, order);
    }

    fn fence(order: Ordering) {
        loom::sync::atomic::fence(order);
    }
}

/// A slot in miniature: the sequence word and three counters a reader must see together
/// (reserved bytes placed and released, and a per-core figure that goes up and back down).
struct Slot {
    seq: AtomicU64,
    /// The writer's private copy of the word (only the writer thread touches it).
    own: std::sync::atomic::AtomicU64,
    placed: AtomicU64,
    released: AtomicU64,
    core: AtomicU64,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            seq: AtomicU64::new(0),
            own: std::sync::atomic::AtomicU64::new(0),
            placed: AtomicU64::new(0),
            released: AtomicU64::new(0),
            core: AtomicU64::new(0),
        }
    }

    /// One placement (`add`) or release of `bytes`, as `counting` does it: plain stores by the
    /// only writer inside a write section.
    fn event(&self, bytes: u64, add: bool) {
        let _section = WriteSection::open(&self.seq, &self.own);
        let counter = if add { &self.placed } else { &self.released };
        counter.store(counter.load(Ordering::Relaxed) + bytes, Ordering::Relaxed);
        let core = self.core.load(Ordering::Relaxed);
        let core = if add { core + bytes } else { core - bytes };
        self.core.store(core, Ordering::Relaxed);
    }

    fn copy(&self) -> (u64, u64, u64) {
        (
            self.placed.load(Ordering::Relaxed),
            self.released.load(Ordering::Relaxed),
            self.core.load(Ordering::Relaxed),
        )
    }
}

/// The states the writer below passes through, by sequence value: a copy bracketed by
/// sequence `s` must be exactly `STATES[s / 2]`.
const STATES: [(u64, u64, u64); 3] = [(0, 0, 0), (10, 0, 10), (10, 10, 0)];

fn writer(slot: &Slot, events: usize) {
    for &(bytes, add) in [(10, true), (10, false)].iter().take(events) {
        slot.event(bytes, add);
    }
}

/// Executions a model explored: a model that explores one schedule proves nothing (loom
/// prunes schedules it thinks equivalent, so the count is checked, not assumed).
static EXECUTIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// One writer making `events` events while a reader makes one read of up to `tries` tries;
/// every copy the reader accepts must be exactly the state its sequence value names.
fn model(events: usize, tries: usize) -> usize {
    EXECUTIONS.store(0, Ordering::Relaxed);
    loom::model(move || {
        EXECUTIONS.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot::new());
        let writing = Arc::clone(&slot);
        let thread = loom::thread::spawn(move || writer(&writing, events));
        let read: Result<_, ()> = read_stable(
            tries,
            || Ok(slot.seq.load(Ordering::Acquire)),
            || Ok(slot.copy()),
            || loom::sync::atomic::fence(Ordering::Acquire),
            |_| loom::thread::yield_now(),
        );
        if let Ok(Stable::Copy(copy, seq)) = read {
            assert_eq!(seq % 2, 0);
            assert_eq!(copy, STATES[(seq / 2) as usize], "a torn copy at sequence {seq}");
        }
        thread.join().expect("writer");
        // With the writer done, a read succeeds at once with its last state.
        let last: Result<_, ()> = read_stable(
            1,
            || Ok(slot.seq.load(Ordering::Acquire)),
            || Ok(slot.copy()),
            || {},
            |_| {},
        );
        assert_eq!(last, Ok(Stable::Copy(STATES[events], 2 * events as u64)));
    });
    EXECUTIONS.load(Ordering::Relaxed)
}

#[test]
fn every_copy_the_reader_accepts_is_a_state_the_writer_had() {
    // A placement and its release (the per-core figure goes up and back down), one try.
    let explored = model(2, 1);
    assert!(explored > 1000, "loom explored only {explored} executions");
}

#[test]
fn a_reader_that_retries_accepts_only_states_the_writer_had() {
    let explored = model(1, 2);
    assert!(explored > 100, "loom explored only {explored} executions");
}

/// The model can fail: a reader that checks the word only before its copy (no second load)
/// is caught taking a state that never existed.
#[test]
fn the_model_catches_a_reader_that_skips_the_second_check() {
    let found = std::panic::catch_unwind(|| {
        loom::model(|| {
            let slot = Arc::new(Slot::new());
            let writing = Arc::clone(&slot);
            let thread = loom::thread::spawn(move || writer(&writing, 2));
            let seq = slot.seq.load(Ordering::Acquire);
            if seq % 2 == 0 {
                let copy = slot.copy();
                assert_eq!(copy, STATES[(seq / 2) as usize], "a torn copy at sequence {seq}");
            }
            thread.join().expect("writer");
        });
    });
    assert!(found.is_err(), "loom found no torn copy in a reader without the second check");
}
