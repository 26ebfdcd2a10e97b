//! Creating, publishing and owning this process's segment, and the process-wide registry
//! through which the reader recognises segments of its own process.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::mem::{offset_of, size_of};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use memmap2::{MmapMut, MmapOptions};
use parking_lot::Mutex;
use tt_accounting::{fork_generation, ForkGeneration};
use tt_privdir::PrivateDir;

use super::layout::{
    prefix_within, store_bytes, LiveEntry, SegmentLayout, COMMAND_BYTES, HEADER_BYTES,
    LIVE_TABLE_CAPACITY, MAX_DEVICES, MAX_ETHERNET_CORES, MAX_TENSIX_CORES, RING_CAPACITY,
    SCHEMA_VERSION, SEGMENT_BYTES, SEGMENT_MAGIC,
};
use crate::error::TrackError;
use crate::liveness::lock_for_lifetime;
use crate::procinfo::ProcessIdentity;

/// Bytes of a segment reserved at creation: everything before the live tables.
const EAGER_BYTES: u64 = offset_of!(SegmentLayout, live) as u64;
/// Live tables are reserved in chunks of this many bytes (about 370 entries).
const LIVE_CHUNK_BYTES: u64 = 64 * 1024;

/// File name suffix of a published segment.
pub(crate) const SEGMENT_SUFFIX: &str = ".seg";

/// The memory a tracker writes its counters to: a published, locked segment file, or
/// private anonymous memory when there is no ledger.
pub(crate) struct SegmentMemory {
    map: MmapMut,
    file: Option<PublishedFile>,
    /// The process the memory was made in: a forked child shares the MAP_SHARED mapping
    /// but must neither count into it (the parent is its only writer) nor remove its file.
    generation: ForkGeneration,
}

/// A segment file this process created, renamed into place and holds the lock on.
struct PublishedFile {
    path: PathBuf,
    /// The directory it lives in, and its name there: removal goes through the descriptor.
    dir: PrivateDir,
    name: OsString,
    /// Kept open for the process lifetime: the POSIX lock lives exactly as long as it.
    _locked: File,
    dev: u64,
    ino: u64,
    /// Set once the file has been removed (at exit, or by the drop).
    removed: AtomicBool,
}

struct OwnSegment {
    dev: u64,
    ino: u64,
    generation: ForkGeneration,
    memory: Weak<SegmentMemory>,
}

/// Every live segment this process created. The reader consults it before opening any
/// file, because opening and closing our own segment would drop our lock.
static OWN_SEGMENTS: Mutex<Vec<OwnSegment>> = Mutex::new(Vec::new());

/// Distinguishes several trackers of one process in one directory (tests do this).
static NEXT_SERIAL: AtomicU64 = AtomicU64::new(0);

/// Runs at a clean exit (`exit`, `process::exit`, a return from `main`): removes every
/// segment this process published, whichever tracker made it (the process-wide one, one of a
/// program's own, a forked child's). Trackers kept in statics or leaked are never dropped, so
/// without this a clean exit would leave a segment a monitor reports as a dead process; a
/// segment left behind must always mean its process died.
extern "C" fn remove_own_segments_at_exit() {
    // Bounded wait: a thread stopped while holding the registry must not hang the exit.
    let Some(own) = OWN_SEGMENTS.try_lock_for(std::time::Duration::from_millis(100)) else {
        return;
    };
    let live: Vec<Arc<SegmentMemory>> = own
        .iter()
        .filter(|s| s.generation.is_current())
        .filter_map(|s| s.memory.upgrade())
        .collect();
    drop(own);
    for memory in live {
        memory.remove_file();
    }
}

/// Registers [`remove_own_segments_at_exit`] once per process, when it first publishes.
fn remove_own_segments_at_exit_once() {
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    REGISTERED.call_once(|| {
        // SAFETY: registers a plain function with no captured state; it only takes the
        // registry's lock (bounded), removes files and never unwinds (errors are logged).
        let rc = unsafe { libc::atexit(remove_own_segments_at_exit) };
        if rc != 0 {
            tracing::debug!("atexit failed: segments will be found dead after a clean exit");
        }
    });
}

/// The segment of this process with this device and inode number, if it is one.
pub(crate) fn own_segment(dev: u64, ino: u64) -> Option<Arc<SegmentMemory>> {
    OWN_SEGMENTS
        .lock()
        .iter()
        .find(|s| s.dev == dev && s.ino == ino && s.generation.is_current())
        .and_then(|s| s.memory.upgrade())
}

impl SegmentMemory {
    /// Private zeroed memory with the segment layout, visible to no other process.
    pub(crate) fn anonymous(identity: &ProcessIdentity) -> io::Result<Arc<SegmentMemory>> {
        let map = MmapMut::map_anon(SEGMENT_BYTES)?;
        memory_initialise(&map, identity);
        let memory = SegmentMemory { map, file: None, generation: fork_generation() };
        Ok(Arc::new(memory))
    }

    /// Creates a segment in `dir` under a temporary name, locks and initialises it, then
    /// renames it into place so no reader ever sees it half written. Every step works relative
    /// to the checked directory descriptor, creating with O_EXCL and never following a symlink.
    pub(crate) fn publish_in(
        dir: &Path,
        identity: &ProcessIdentity,
    ) -> Result<Arc<SegmentMemory>, TrackError> {
        let dir = PrivateDir::open_or_create(dir, "ledger directory")?;
        let serial = NEXT_SERIAL.fetch_add(1, Ordering::Relaxed);
        let stem = format!("{}-{}-{}", identity.pid, identity.start_time_ticks, serial);
        let temporary = OsString::from(format!(".{stem}.tmp"));
        let name = OsString::from(format!("{stem}{SEGMENT_SUFFIX}"));
        let path = dir.join(&name);
        let failed = |step: &'static str, source: io::Error| {
            let _ = dir.remove(&temporary);
            TrackError::SegmentCreate { path: path.clone(), step, source }
        };

        let file = dir.create_new(&temporary).map_err(|e| TrackError::SegmentCreate {
            path: path.clone(),
            step: "create",
            source: e,
        })?;
        // Locked before it has its final name, so a reader never finds it unlocked.
        lock_for_lifetime(file.as_fd()).map_err(|e| failed("lock", e))?;
        // Sized sparse, then the pages every segment stores to (header, device records,
        // rings) reserved before the first store through the mapping: on a full tmpfs that
        // store would be SIGBUS, and this is an error instead. Live tables (most of the file)
        // are reserved a chunk at a time as they grow (`reserve_live`), so a process costs
        // the tmpfs what it lists, not 92 MB.
        file.set_len(SEGMENT_BYTES as u64).map_err(|e| failed("resize", e))?;
        let needed = EAGER_BYTES;
        tt_privdir::reserve(&file, 0, needed).map_err(|e| {
            if tt_privdir::is_no_space(&e) {
                let free = crate::error::FreeBytes(tt_privdir::free_bytes(&file));
                let _ = dir.remove(&temporary);
                TrackError::NoSpace { dir: dir.path().to_path_buf(), needed, free }
            } else {
                failed("reserve", e)
            }
        })?;
        // SAFETY: the file was just created by us with O_EXCL and is SEGMENT_BYTES long;
        // nothing truncates it while mapped (only this process writes it, and only through
        // atomics in the mapping).
        let map = unsafe { MmapOptions::new().len(SEGMENT_BYTES).map_mut(&file) }
            .map_err(|e| failed("map", e))?;
        let metadata = file.metadata().map_err(|e| failed("stat", e))?;
        let (dev, ino) = (metadata.dev(), metadata.ino());
        memory_initialise(&map, identity);
        dir.rename(&temporary, &name).map_err(|e| failed("rename", e))?;
        let memory = SegmentMemory {
            map,
            file: Some(PublishedFile {
                path,
                dir,
                name,
                _locked: file,
                dev,
                ino,
                removed: AtomicBool::new(false),
            }),
            generation: fork_generation(),
        };

        let memory = Arc::new(memory);
        remove_own_segments_at_exit_once();
        OWN_SEGMENTS.lock().push(OwnSegment {
            dev,
            ino,
            generation: memory.generation,
            memory: Arc::downgrade(&memory),
        });
        Ok(memory)
    }

    /// The mapped segment.
    pub(crate) fn layout(&self) -> &SegmentLayout {
        layout_of(&self.map)
    }

    /// The process (fork generation) the memory was made in.
    pub(crate) fn generation(&self) -> ForkGeneration {
        self.generation
    }

    /// False in a child forked after the memory was made: the segment is the parent's.
    #[inline]
    pub(crate) fn belongs_to_this_process(&self) -> bool {
        self.generation.is_current()
    }

    /// Removes the published file now (at a clean exit), keeping the mapping and the lock;
    /// readers then see no segment rather than a dead one. Only the process that made the
    /// file removes it, and only once.
    pub(crate) fn remove_file(&self) {
        let Some(file) = &self.file else { return };
        if !self.belongs_to_this_process() || file.removed.swap(true, Ordering::AcqRel) {
            return;
        }
        OWN_SEGMENTS.lock().retain(|s| !(s.dev == file.dev && s.ino == file.ino));
        // Removed while still locked: a reader sees either a live segment or none.
        if let Err(e) = file.dir.remove(&file.name) {
            tracing::debug!(path = %file.path.display(), error = %e, "segment already gone");
        }
    }

    /// Reserves the file pages of slot `slot`'s live table up to (at least) entry `entries`
    /// and returns how many entries are now backed; private memory needs no reservation. A
    /// full file system returns the count backed before, and the caller lists no further
    /// (its placements are then counted as not listed, exactly, never a SIGBUS).
    pub(crate) fn reserve_live(&self, slot: usize, backed: u32, entries: u32) -> u32 {
        let Some(file) = &self.file else { return LIVE_TABLE_CAPACITY as u32 };
        let capacity = LIVE_TABLE_CAPACITY as u64;
        let entry = size_of::<LiveEntry>() as u64;
        let end = (u64::from(entries) * entry).div_ceil(LIVE_CHUNK_BYTES) * LIVE_CHUNK_BYTES;
        let end_entries = (end / entry).min(capacity);
        let table = (offset_of!(SegmentLayout, live) as u64) + slot as u64 * capacity * entry;
        let start = u64::from(backed) * entry;
        match tt_privdir::reserve(&file._locked, table + start, end_entries * entry - start) {
            // end_entries <= LIVE_TABLE_CAPACITY (32,768) fits a u32.
            Ok(()) => end_entries as u32,
            Err(error) => {
                tracing::warn!(
                    path = %file.path.display(),
                    %error,
                    "cannot reserve more of the ledger's live table; further placements are \
                     counted exactly but not listed"
                );
                backed
            }
        }
    }

    /// The published file, if this segment has one.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|f| f.path.as_path())
    }
}

/// The segment layout over a writable mapping of SEGMENT_BYTES.
fn layout_of(map: &MmapMut) -> &SegmentLayout {
    debug_assert!(map.len() >= SEGMENT_BYTES);
    // SAFETY: every writable mapping made here is SEGMENT_BYTES long (anonymous, or a file
    // sized before mapping) and page aligned, which satisfies SegmentLayout's size and 64-byte
    // alignment; every field is an atomic, so any bit pattern is valid and concurrent access
    // through shared references is sound; the reference cannot outlive the mapping.
    unsafe { &*map.as_ptr().cast::<SegmentLayout>() }
}

/// Writes the header of a fresh (zeroed) segment, the magic last.
fn memory_initialise(map: &MmapMut, identity: &ProcessIdentity) {
    {
        let header = &layout_of(map).header;
        header.version.store(SCHEMA_VERSION, Ordering::Relaxed);
        header.header_bytes.store(HEADER_BYTES as u32, Ordering::Relaxed);
        header.total_bytes.store(SEGMENT_BYTES as u64, Ordering::Relaxed);
        header.claimed_pid.store(u64::from(identity.pid), Ordering::Relaxed);
        header.start_time_ticks.store(identity.start_time_ticks, Ordering::Relaxed);
        header.max_devices.store(MAX_DEVICES as u32, Ordering::Relaxed);
        header.ring_capacity.store(RING_CAPACITY as u32, Ordering::Relaxed);
        header.live_table_capacity.store(LIVE_TABLE_CAPACITY as u32, Ordering::Relaxed);
        header.max_tensix_cores.store(MAX_TENSIX_CORES as u32, Ordering::Relaxed);
        header.max_ethernet_cores.store(MAX_ETHERNET_CORES as u32, Ordering::Relaxed);
        store_bytes(&header.command, prefix_within(&identity.command, COMMAND_BYTES).as_bytes());
        header.magic.store(SEGMENT_MAGIC, Ordering::Release);
    }
}

impl Drop for SegmentMemory {
    fn drop(&mut self) {
        // A forked child letting go of its copy leaves the file: it is the parent's.
        self.remove_file();
    }
}
