//! A process's ledger as its trackers hold it: the segment memory and its writers, and the
//! anchors records point to so that their drop can release (with the lifetime rule that lets
//! a record point to its anchor without a reference count).

use std::ops::Deref;
use std::path::PathBuf;
use std::ptr::NonNull;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::clock::start_ticker;
use crate::counting::DeviceWriter;
use crate::error::TrackError;
use crate::observer::Observers;
use crate::procinfo::{current_process, ProcessIdentity};
use crate::segment::layout::{SegmentLayout, MAX_DEVICES};
use crate::segment::writer::SegmentMemory;

/// Where a tracker keeps its counters.
#[derive(Debug, Clone)]
pub(crate) enum Mode {
    /// Tracking off: nothing is counted.
    Disabled,
    /// Private memory no other process sees.
    InMemory,
    /// A segment published in this directory.
    Published(PathBuf),
}

/// One process's segment and the process-private state of its writers.
pub(crate) struct Ledger {
    pub(crate) memory: Arc<SegmentMemory>,
    pub(crate) writers: [DeviceWriter; MAX_DEVICES],
    /// Serialises registration; never taken on the hot path.
    pub(crate) registration: Mutex<()>,
    pub(crate) identity: ProcessIdentity,
}

impl Ledger {
    pub(crate) fn create(mode: &Mode) -> Result<Option<Arc<Ledger>>, TrackError> {
        if matches!(mode, Mode::Disabled) {
            return Ok(None);
        }
        start_ticker();
        let identity = current_process();
        let memory = match mode {
            Mode::Disabled => return Ok(None),
            Mode::InMemory => {
                SegmentMemory::anonymous(&identity).map_err(|source| TrackError::SegmentCreate {
                    path: PathBuf::from("<anonymous memory>"),
                    step: "map",
                    source,
                })?
            }
            Mode::Published(dir) => SegmentMemory::publish_in(dir, &identity)?,
        };
        Ok(Some(Arc::new(Ledger {
            memory,
            writers: Default::default(),
            registration: Mutex::new(()),
            identity,
        })))
    }

    #[inline]
    pub(crate) fn layout(&self) -> &SegmentLayout {
        self.memory.layout()
    }
}

/// What a record needs so that its drop can release: the ledger and slot it was counted in,
/// and the tracker's observers. One per device slot.
pub(crate) struct SlotAnchor {
    pub(crate) ledger: Arc<Ledger>,
    pub(crate) observers: Arc<Observers>,
    pub(crate) index: usize,
}

/// A record's pointer to its slot's anchor, without a reference count: a shared count per
/// record puts a locked read-modify-write on both placement and release, which on x86 waits
/// for every store of the event before it to drain, and makes all threads of a device share
/// one counter.
///
/// Lifetime rule, which every dereference relies on: an anchor is freed only when its
/// tracker is gone (the slot is orphaned) and no record counted in its slot is left
/// (`records_alive`, kept under the slot's writer lock, is 0); whichever of the tracker's drop
/// and the last release sees both first frees it, exactly once, and neither touches the
/// anchor after the writer lock that decided it is released.
#[derive(Clone, Copy)]
pub(crate) struct AnchorRef(NonNull<SlotAnchor>);

// SAFETY: SlotAnchor is Send and Sync (two Arcs of Sync types and an index); AnchorRef only
// gives shared access to it, under the lifetime rule above, from any thread.
unsafe impl Send for AnchorRef {}
// SAFETY: as for Send: only shared references are handed out.
unsafe impl Sync for AnchorRef {}

impl AnchorRef {
    pub(crate) fn new(anchor: SlotAnchor) -> AnchorRef {
        AnchorRef(NonNull::from(Box::leak(Box::new(anchor))))
    }

    /// The anchor. The caller holds a record counted in the anchor's slot and not yet
    /// released (or is the anchor's tracker), so by the lifetime rule it is alive.
    #[inline]
    pub(crate) fn get<'a>(self) -> &'a SlotAnchor {
        // SAFETY: the pointer came from Box::leak and is freed only under the lifetime rule,
        // which the caller's live record (or owning tracker) keeps from happening.
        unsafe { self.0.as_ref() }
    }

    /// Frees the anchor. Called once, by whoever found the slot orphaned with no record left.
    pub(crate) fn free(self) {
        // SAFETY: the pointer came from Box::leak; the lifetime rule lets exactly one caller
        // reach here, after which no record points to the anchor and no tracker owns it.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// A ledger with the anchors of its slots.
pub(crate) struct AnchoredLedger {
    ledger: Arc<Ledger>,
    anchors: [AnchorRef; MAX_DEVICES],
}

impl AnchoredLedger {
    pub(crate) fn new(ledger: Arc<Ledger>, observers: &Arc<Observers>) -> AnchoredLedger {
        let anchors = std::array::from_fn(|index| {
            AnchorRef::new(SlotAnchor {
                ledger: Arc::clone(&ledger),
                observers: Arc::clone(observers),
                index,
            })
        });
        AnchoredLedger { ledger, anchors }
    }

    /// The anchor of slot `index` (an index below MAX_DEVICES, as slots are).
    #[inline]
    pub(crate) fn anchor(&self, index: usize) -> AnchorRef {
        self.anchors[index % MAX_DEVICES]
    }
}

impl Drop for AnchoredLedger {
    fn drop(&mut self) {
        for (writer, anchor) in self.ledger.writers.iter().zip(self.anchors) {
            if writer.orphan() {
                anchor.free();
            }
        }
    }
}

impl Deref for AnchoredLedger {
    type Target = Ledger;

    #[inline]
    fn deref(&self) -> &Ledger {
        &self.ledger
    }
}

/// The ledger of the calling process: the tracker's own, or (in a forked child) the one the
/// child made for itself.
pub(crate) enum LedgerRef<'a> {
    Own(&'a AnchoredLedger),
    Forked(Arc<AnchoredLedger>),
}

impl Deref for LedgerRef<'_> {
    type Target = AnchoredLedger;

    #[inline]
    fn deref(&self) -> &AnchoredLedger {
        match self {
            LedgerRef::Own(ledger) => ledger,
            LedgerRef::Forked(ledger) => ledger,
        }
    }
}
