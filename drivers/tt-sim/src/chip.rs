//! Opening, creating and locking a simulated chip file.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use tt_soc::{Arch, BoardPreset, ChipUid, HarvestingMasks, NocCoord, SocDescriptor};

use crate::exec::memory::ChipMemory;
use crate::exec::reset::ResetEngine;
use crate::exec::tile::Tiles;
use crate::firmware::{self, ArcMessageLoop, FirmwareIdentity};
use crate::inherit::ChipFd;
use crate::layout::{ChipLayout, HEADER_SIZE};
use crate::{SimError, SimTlbWindow};
use tt_privdir::PrivateDir;

const MAGIC: [u8; 8] = *b"TTSIMCHP";
/// Version 2 added the board and chip index and the ARC tile's firmware ranges; version 3 a
/// tile control page per Tensix and Ethernet tile (soft reset, reset pc overrides); version 4
/// draws the chip's unique id at creation, so two files (two directories' `sim:wormhole_b0:0`)
/// are two chips.
const VERSION: u32 = 4;

// Header field offsets (little-endian).
const OFF_MAGIC: u64 = 0;
const OFF_VERSION: u64 = 8;
const OFF_ARCH: u64 = 12;
const OFF_SIM_ID: u64 = 16;
pub(crate) const OFF_HOLDER_PID: u64 = 20;
const OFF_CHIP_UID: u64 = 24;
const OFF_FILE_LEN: u64 = 32;
const OFF_BOARD: u64 = 40;
const OFF_CHIP: u64 = 44;

/// What a chip file simulates: a bare chip of an architecture, or one chip of a board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SimKind {
    /// A bare, unharvested chip (`sim:wormhole_b0`, `sim:blackhole`).
    Bare(Arch),
    /// Chip `chip` (its ASIC location) of a board preset (`sim:n300:0:1`).
    Board {
        /// The product.
        preset: BoardPreset,
        /// Index of the chip on the board.
        chip: u8,
    },
}

impl SimKind {
    /// The chip's architecture.
    pub fn arch(self) -> Arch {
        match self {
            SimKind::Bare(arch) => arch,
            SimKind::Board { preset, .. } => preset.arch(),
        }
    }

    /// The chip's descriptor: the built-in one with the board's harvesting applied, or for a
    /// bare chip what a good die's firmware reports ([`HarvestingMasks::unharvested`]).
    pub fn soc(self) -> Result<SocDescriptor, SimError> {
        let builtin = SocDescriptor::builtin(self.arch());
        match self {
            SimKind::Bare(arch) => Ok(SocDescriptor::builtin_good_die(arch)),
            SimKind::Board { preset, chip } => {
                let spec =
                    preset.chips().get(usize::from(chip)).ok_or(SimError::NoSuchBoardChip {
                        board: preset,
                        chip,
                        count: preset.chips().len(),
                    })?;
                builtin
                    .with_harvesting_masks(spec.harvesting)
                    .map_err(|e| SimError::BadPreset { board: preset, message: e.to_string() })
            }
        }
    }

    /// The unique id of a chip of this kind whose file drew `instance` at creation: the
    /// kind in the upper bits (so a monitor tells simulated chips and their boards apart), the
    /// file's own number below.
    pub fn chip_uid(self, instance: u32) -> ChipUid {
        match self {
            SimKind::Bare(arch) => SocDescriptor::sim_chip_uid(arch, instance),
            SimKind::Board { preset, chip } => {
                SocDescriptor::sim_board_chip_uid(preset, instance, chip)
            }
        }
    }

    /// True when `uid` is the id of a chip of this kind (whatever its file drew).
    pub fn owns_uid(self, uid: ChipUid) -> bool {
        let instance = uid.0 & u64::from(u32::MAX);
        self.chip_uid(instance as u32) == uid
    }

    /// What the simulated firmware reports: a bare chip has no board (board id 0) and a good
    /// die's harvesting (none on Wormhole; Blackhole Ethernet channels 5 and 8, which its
    /// firmware always leaves off); a board chip reports the preset's board id (plus the simulator id, so that two
    /// simulated boards differ), its ASIC location and its harvesting.
    pub fn identity(self, sim_id: u32, uid: ChipUid) -> FirmwareIdentity {
        let unique_id = uid.0;
        match self {
            SimKind::Bare(arch) => FirmwareIdentity {
                board_id: 0,
                asic_location: 0,
                unique_id,
                harvesting: HarvestingMasks::unharvested(arch),
            },
            SimKind::Board { preset, chip } => {
                let spec =
                    preset.chips().get(usize::from(chip)).copied().unwrap_or(preset.chips()[0]);
                FirmwareIdentity {
                    board_id: preset.board_id() + u64::from(sim_id),
                    asic_location: spec.asic_location,
                    unique_id,
                    harvesting: spec.harvesting,
                }
            }
        }
    }

    /// The file name of simulated chip `sim_id`: `<arch>-<id>.chip` for a bare chip,
    /// `<board>-<id>-<chip>.chip` for a board's chip.
    pub fn file_name(self, sim_id: u32) -> String {
        match self {
            SimKind::Bare(arch) => format!("{}-{sim_id}.chip", arch.name()),
            SimKind::Board { preset, chip } => format!("{}-{sim_id}-{chip}.chip", preset.name()),
        }
    }

    /// The spec that opens this chip (`sim:blackhole:2`, `sim:n300:0:1`).
    pub fn spec(self, sim_id: u32) -> String {
        match self {
            SimKind::Bare(arch) => format!("sim:{arch}:{sim_id}"),
            SimKind::Board { preset, chip: 0 } => format!("sim:{preset}:{sim_id}"),
            SimKind::Board { preset, chip } => format!("sim:{preset}:{sim_id}:{chip}"),
        }
    }

    fn code(self) -> (u32, u32) {
        match self {
            SimKind::Bare(_) => (0, 0),
            SimKind::Board { preset, chip } => {
                let board =
                    BoardPreset::ALL.iter().position(|p| *p == preset).map_or(0, |i| i as u32 + 1);
                (board, u32::from(chip))
            }
        }
    }
}

fn arch_code(arch: Arch) -> u32 {
    match arch {
        Arch::WormholeB0 => 1,
        Arch::Blackhole => 2,
    }
}

/// The per-user runtime directory the system provides (owned by the user, mode 0700).
const RUNTIME_DIR_ENV: &str = "XDG_RUNTIME_DIR";

/// The directory simulated chip files live in: `$TT_SIM_DIR`, else the per-user runtime
/// directory (`$XDG_RUNTIME_DIR/tt-sim`, private to the user, so no other user can take the
/// name first), else `/dev/shm/tt-sim-<euid>` (shared memory, so the file's pages are the
/// chip), else the temp directory. Whichever it is, it is used only if it is a directory of
/// this user that no one else may enter (see `PrivateDir`).
pub fn default_sim_dir() -> PathBuf {
    match std::env::var_os("TT_SIM_DIR") {
        Some(dir) if !dir.is_empty() => return PathBuf::from(dir),
        _ => {}
    }
    if let Some(runtime) = std::env::var_os(RUNTIME_DIR_ENV).map(PathBuf::from) {
        if runtime.is_absolute() && runtime.is_dir() {
            return runtime.join("tt-sim");
        }
    }
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
    base.join(format!("tt-sim-{}", tt_privdir::effective_uid()))
}

/// A temporary chip file older than this whose lock nobody holds was left by a process that
/// died while creating it.
const ABANDONED_TEMPORARY_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// Distinguishes temporary names of chips created by several threads of one process.
static TEMPORARY_SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// In tests: the directory in which chip creation stops after sizing the file, as if the
/// process had been killed between `ftruncate` and writing the header.
#[cfg(test)]
pub(crate) static STOP_AFTER_SIZING_IN: Mutex<Option<PathBuf>> = Mutex::new(None);

fn is_temporary_of(name: &OsStr, chip_name: &OsStr) -> bool {
    let (Some(name), Some(chip)) = (name.to_str(), chip_name.to_str()) else { return false };
    name.strip_prefix('.')
        .and_then(|rest| rest.strip_prefix(chip))
        .is_some_and(|rest| rest.starts_with('.') && rest.ends_with(".tmp"))
}

/// Removes temporary files of `chip_name` left by creators that died (old and unlocked).
fn sweep_abandoned_temporaries(dir: &PrivateDir, chip_name: &OsStr) {
    let Ok(entries) = dir.entries() else { return };
    for name in entries.iter().filter(|n| is_temporary_of(n, chip_name)) {
        let Ok(stat) = dir.stat(name) else { continue };
        if tt_privdir::check_owned_regular(&stat).is_err() {
            continue;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let modified = u64::try_from(stat.st_mtime).unwrap_or(u64::MAX);
        if now.saturating_sub(modified) < ABANDONED_TEMPORARY_AGE.as_secs() {
            continue;
        }
        let Ok(file) = dir.open_owned_file(name, false) else { continue };
        if crate::listing::holder_lock_free(&file) {
            let _ = dir.remove(name);
        }
    }
}

/// Opens the chip file `name` of `dir` and takes its lock, or creates it: under a temporary
/// name, created with O_EXCL, locked, sized and given its header, then renamed into place
/// without replacing anything, so a chip file is never seen half made (a creator killed
/// midway leaves only a temporary file, swept later).
fn open_or_create_chip(
    dir: &PrivateDir,
    name: &OsStr,
    kind: SimKind,
    sim_id: u32,
    soc: &SocDescriptor,
    layout: &ChipLayout,
) -> Result<(File, ChipUid), SimError> {
    let path = dir.join(name);
    let io = |what, path: &Path| {
        let path = path.to_path_buf();
        move |source| SimError::Io { what, path, source }
    };
    for _ in 0..3 {
        match dir.open_owned_file(name, true) {
            Ok(file) => {
                lock_exclusive(&file, &path)?;
                // From here on this process owns the chip: no one else writes it.
                let len = file.metadata().map_err(io("cannot stat", &path))?.len();
                let uid = validate_header(&file, &path, kind, sim_id, layout.file_len(), len)?;
                return Ok((file, uid));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(SimError::UnsafeChipFile { path, reason: e.to_string() })
            }
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(SimError::UnsafeChipFile {
                    path,
                    reason: "it is a symlink, which is never followed".to_owned(),
                })
            }
            Err(e) => return Err(io("cannot open simulated chip file", &path)(e)),
        }
        sweep_abandoned_temporaries(dir, name);
        let serial = TEMPORARY_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let temporary = OsString::from(format!(
            ".{}.{}-{serial}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let temporary_path = dir.join(&temporary);
        let file = dir
            .create_new(&temporary)
            .map_err(io("cannot create simulated chip file", &temporary_path))?;
        #[cfg(test)]
        let stop = STOP_AFTER_SIZING_IN.lock().as_deref() == Some(dir.path());
        #[cfg(not(test))]
        let stop = false;
        let made = initialise(&file, &temporary_path, kind, sim_id, soc, layout, stop);
        if stop {
            return Err(SimError::BadChipFile {
                path: temporary_path,
                reason: "creation stopped after sizing (test)".to_owned(),
            });
        }
        let uid = match made.and_then(|uid| lock_exclusive(&file, &path).map(|()| uid)) {
            Ok(uid) => uid,
            Err(e) => {
                let _ = dir.remove(&temporary);
                return Err(e);
            }
        };
        match dir.rename_new(&temporary, name) {
            Ok(()) => return Ok((file, uid)),
            // Another process made the chip first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let _ = dir.remove(&temporary);
            }
            Err(e) => {
                let _ = dir.remove(&temporary);
                return Err(io("cannot rename into place the simulated chip file", &path)(e));
            }
        }
    }
    Err(SimError::Io {
        what: "cannot settle (created and removed concurrently) the simulated chip file",
        path,
        source: std::io::ErrorKind::Interrupted.into(),
    })
}

/// Reserves `len` bytes of the chip file `path` from `offset` (see [`tt_privdir::reserve`]);
/// [`SimError::NoSpace`] when its file system is full.
pub(crate) fn reserve_pages(
    file: &File,
    path: &Path,
    offset: u64,
    len: u64,
) -> Result<(), SimError> {
    tt_privdir::reserve(file, offset, len).map_err(|source| {
        if tt_privdir::is_no_space(&source) {
            let free = tt_privdir::free_bytes(file)
                .map_or_else(|| "an unknown number of bytes".to_owned(), |f| format!("{f} bytes"));
            let dir = path.parent().unwrap_or(path).to_path_buf();
            SimError::NoSpace { dir, needed: len, free }
        } else {
            SimError::Io { what: "cannot reserve the pages of", path: path.to_path_buf(), source }
        }
    })
}

/// Sizes a new chip file (DRAM sparse: its pages appear when first written; the rest
/// reserved) and writes its header.
fn initialise(
    file: &File,
    path: &Path,
    kind: SimKind,
    sim_id: u32,
    soc: &SocDescriptor,
    layout: &ChipLayout,
    stop_after_sizing: bool,
) -> Result<ChipUid, SimError> {
    // Drawn once, here: the chip keeps this id for the life of its file.
    let uid = kind.chip_uid(draw_instance());
    let io = |what| {
        let path = path.to_path_buf();
        move |source| SimError::Io { what, path, source }
    };
    file.set_len(layout.file_len()).map_err(io("cannot size"))?;
    // Pages the whole-chip mapping stores into are reserved now: on a full tmpfs such a
    // store would be SIGBUS, and this is an error instead.
    for (offset, len) in layout.non_dram() {
        reserve_pages(file, path, offset, len)?;
    }
    if stop_after_sizing {
        return Ok(uid);
    }
    let (board, chip) = kind.code();
    let mut header = [0u8; 48];
    header[..8].copy_from_slice(&MAGIC);
    header[8..12].copy_from_slice(&VERSION.to_le_bytes());
    header[12..16].copy_from_slice(&arch_code(kind.arch()).to_le_bytes());
    header[16..20].copy_from_slice(&sim_id.to_le_bytes());
    // The creator holds the chip from the moment it is renamed into place: say so at once.
    header[20..24].copy_from_slice(&(std::process::id() as i32).to_le_bytes());
    header[24..32].copy_from_slice(&uid.0.to_le_bytes());
    header[32..40].copy_from_slice(&layout.file_len().to_le_bytes());
    header[40..44].copy_from_slice(&board.to_le_bytes());
    header[44..48].copy_from_slice(&chip.to_le_bytes());
    file.write_all_at(&header, OFF_MAGIC).map_err(io("cannot initialise"))?;
    // Every RISC-V core starts held in soft reset; only the host lets one go.
    let held = tt_soc::tile::SoftReset::ALL_RISCV.bits().to_le_bytes();
    for y in 0..soc.grid_size().1 {
        for x in 0..soc.grid_size().0 {
            if let Some(page) = layout.control_of(NocCoord::new(x, y)) {
                let at = page + u64::from(tt_soc::tile::SOFT_RESET_OFFSET);
                file.write_all_at(&held, at).map_err(io("cannot initialise"))?;
            }
        }
    }
    Ok(uid)
}

/// State shared by a chip and the TLB windows it handed out.
pub(crate) struct Shared {
    pub(crate) path: PathBuf,
    /// Lets go of the chip in forked children; declared before `file`, so it is unregistered
    /// before the descriptor closes.
    _inherit: ChipFd,
    /// The open chip file; its open file description carries the exclusive lock, so it
    /// stays open until the chip and every window are dropped.
    pub(crate) file: File,
    pub(crate) soc: SocDescriptor,
    pub(crate) layout: ChipLayout,
    /// Windows in use per TLB size class.
    pub(crate) windows_in_use: Mutex<Vec<u32>>,
    /// The whole file mapped for kernel execution, made on the first launch.
    memory: Mutex<Option<Arc<ChipMemory>>>,
    /// The registers each tile's cores share (NIUs, soft reset, wall clock).
    pub(crate) tiles: Tiles,
}

impl Shared {
    /// The whole chip file mapped shared, for the kernel interpreter; mapped once per chip.
    pub(crate) fn memory(&self) -> Result<Arc<ChipMemory>, SimError> {
        let mut memory = self.memory.lock();
        if let Some(mapped) = memory.as_ref() {
            return Ok(Arc::clone(mapped));
        }
        let mapped = Arc::new(ChipMemory::map(&self.file).map_err(|source| SimError::Io {
            what: "cannot map for kernel execution the simulated chip file",
            path: self.path.clone(),
            source,
        })?);
        *memory = Some(Arc::clone(&mapped));
        Ok(mapped)
    }
}

/// A simulated chip opened for exclusive use by this process.
pub struct SimChip {
    // Declared first: the firmware's message loop stops before the chip file closes.
    _arc_messages: Option<ArcMessageLoop>,
    shared: Arc<Shared>,
    kind: SimKind,
    sim_id: u32,
    chip_uid: ChipUid,
    /// Starts and stops cores as their soft-reset bits change; dropped (and joined) last.
    engine: ResetEngine,
}

impl std::fmt::Debug for SimChip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimChip")
            .field("path", &self.shared.path)
            .field("arch", &self.shared.soc.arch())
            .field("sim_id", &self.sim_id)
            .finish()
    }
}

impl SimChip {
    /// Opens simulated chip `sim_id` of `arch` in [`default_sim_dir`], creating it on first use.
    pub fn open(arch: Arch, sim_id: u32) -> Result<SimChip, SimError> {
        Self::open_in(&default_sim_dir(), arch, sim_id)
    }

    /// The chip file path for `arch`/`sim_id` inside `dir`.
    pub fn path_in(dir: &Path, arch: Arch, sim_id: u32) -> PathBuf {
        dir.join(SimKind::Bare(arch).file_name(sim_id))
    }

    /// Opens simulated chip `sim_id` of `arch` in `dir`, creating it on first use. Fails with
    /// [`SimError::Busy`] naming the holder when another process (or this one) has it open.
    pub fn open_in(dir: &Path, arch: Arch, sim_id: u32) -> Result<SimChip, SimError> {
        Self::open_kind_in(dir, SimKind::Bare(arch), sim_id)
    }

    /// Opens chip `chip` of simulated board `preset` number `sim_id` in `dir`, creating it on
    /// first use. Each chip of a board is its own file, opened on its own: the simulator does
    /// not route the second chip of an n300 through the first one's Ethernet as a card does.
    pub fn open_board_in(
        dir: &Path,
        preset: BoardPreset,
        sim_id: u32,
        chip: u8,
    ) -> Result<SimChip, SimError> {
        Self::open_kind_in(dir, SimKind::Board { preset, chip }, sim_id)
    }

    /// Opens simulated chip `sim_id` of `kind` in `dir`, creating it on first use.
    pub fn open_kind_in(dir: &Path, kind: SimKind, sim_id: u32) -> Result<SimChip, SimError> {
        let arch = kind.arch();
        let soc = kind.soc()?;
        let io = |what, path: &Path| {
            let path = path.to_path_buf();
            move |source| SimError::Io { what, path, source }
        };
        let sim_dir = PrivateDir::open_or_create(dir, "simulator directory")?;
        let name = OsString::from(kind.file_name(sim_id));
        let path = sim_dir.join(&name);
        let layout = ChipLayout::new(&soc);
        let (file, chip_uid) = open_or_create_chip(&sim_dir, &name, kind, sim_id, &soc, &layout)?;
        // The firmware publishes its state at every boot, that is, every open.
        let identity = kind.identity(sim_id, chip_uid);
        firmware::publish(&file, &layout, arch, &identity).map_err(|reason| {
            SimError::BadChipFile {
                path: path.clone(),
                reason: format!("its ARC firmware state cannot be written: {reason}"),
            }
        })?;
        let arc_messages = match arch {
            Arch::WormholeB0 => {
                let fw_mask = arch.tensix_mask_to_firmware(identity.harvesting.tensix);
                let dup =
                    file.try_clone().map_err(io("cannot share with the ARC firmware", &path))?;
                let started = ArcMessageLoop::start(dup, layout.clone(), fw_mask);
                Some(started.map_err(io("cannot start the ARC firmware of", &path))?)
            }
            Arch::Blackhole => None,
        };
        let pid = std::process::id() as i32;
        file.write_all_at(&pid.to_le_bytes(), OFF_HOLDER_PID)
            .map_err(io("cannot record holder in", &path))?;
        tracing::debug!(path = %path.display(), %arch, sim_id, "opened simulated chip");
        let classes = arch.tlb_classes().len();
        // Registered only now that the chip is fully open; `Shared`'s drop unregisters it.
        OPEN_IN_PROCESS.lock().push(path.clone());
        let shared = Arc::new(Shared {
            path,
            _inherit: ChipFd::register(&file),
            file,
            soc,
            layout,
            windows_in_use: Mutex::new(vec![0; classes]),
            memory: Mutex::new(None),
            tiles: Tiles::new(arch),
        });
        let engine = ResetEngine::start(&shared)?;
        Ok(SimChip { _arc_messages: arc_messages, kind, shared, sim_id, chip_uid, engine })
    }

    /// The chip file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The chip's descriptor: the built-in layout of its architecture with the board's
    /// harvesting applied (none for a bare chip).
    pub fn soc(&self) -> &SocDescriptor {
        &self.shared.soc
    }

    /// What the file simulates.
    pub fn kind(&self) -> SimKind {
        self.kind
    }

    /// The simulator id in `sim:<arch>:<id>`.
    pub fn sim_id(&self) -> u32 {
        self.sim_id
    }

    /// The chip's unique id.
    pub fn chip_uid(&self) -> ChipUid {
        self.chip_uid
    }

    pub(crate) fn reset_engine(&self) -> &ResetEngine {
        &self.engine
    }

    /// Reserves a TLB window of `size` bytes (one of the architecture's size classes).
    pub fn allocate_tlb(&self, size: u64) -> Result<SimTlbWindow, SimError> {
        SimTlbWindow::allocate(Arc::clone(&self.shared), size)
    }

    #[cfg(test)]
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// (file offset, size) of the memory behind `core`, for tools that inspect chip files.
    pub fn memory_of(&self, core: NocCoord) -> Option<(u64, u64)> {
        self.shared.layout.memory_of(core)
    }
}

/// A write lock over the whole file, the chip's exclusive-use lock.
pub(crate) fn whole_file_write_lock() -> libc::flock {
    libc::flock {
        l_type: libc::F_WRLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    }
}

/// Chip files this process has open, so that a lock still held after this process closed
/// its chip can be told apart from a real second open.
static OPEN_IN_PROCESS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// How long to wait for a lock that only a forked child still holds.
const FORK_WINDOW_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Takes the chip's exclusive lock. An open-file-description lock conflicts even with
/// another open of the same file in this process, and is released when the file closes,
/// however the process ends.
///
/// One case needs patience: a child this process forks (any thread, to exec a program)
/// shares every open file description until its exec closes it, so a chip this process has
/// just closed can stay locked, under our own pid, for that moment. When the holder is this
/// process but the chip is not open here, the lock is retried briefly instead of refused.
fn lock_exclusive(file: &File, path: &Path) -> Result<(), SimError> {
    let flock = whole_file_write_lock();
    let deadline = std::time::Instant::now() + FORK_WINDOW_WAIT;
    loop {
        match nix::fcntl::fcntl(file.as_raw_fd(), nix::fcntl::FcntlArg::F_OFD_SETLK(&flock)) {
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EACCES) => {
                let mut pid = [0u8; 4];
                let holder = match file.read_exact_at(&mut pid, OFF_HOLDER_PID) {
                    Ok(()) => i32::from_le_bytes(pid),
                    Err(_) => 0,
                };
                if holder != std::process::id() as i32 {
                    return Err(SimError::Busy { path: path.to_path_buf(), pid: holder });
                }
                let open_here = OPEN_IN_PROCESS.lock().iter().any(|p| p == path);
                if open_here || std::time::Instant::now() >= deadline {
                    return Err(SimError::BusyInProcess { path: path.to_path_buf(), pid: holder });
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Err(e) => {
                return Err(SimError::Io {
                    what: "cannot lock simulated chip file",
                    path: path.to_path_buf(),
                    source: e.into(),
                })
            }
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let mut open = OPEN_IN_PROCESS.lock();
        if let Some(i) = open.iter().position(|p| *p == self.path) {
            open.swap_remove(i);
        }
    }
}

fn validate_header(
    file: &File,
    path: &Path,
    kind: SimKind,
    sim_id: u32,
    expected_len: u64,
    actual_len: u64,
) -> Result<ChipUid, SimError> {
    let bad = |reason: String| SimError::BadChipFile { path: path.to_path_buf(), reason };
    let mut h = [0u8; HEADER_SIZE as usize];
    if actual_len < HEADER_SIZE {
        return Err(bad(format!("it is {actual_len} bytes, shorter than its header")));
    }
    file.read_exact_at(&mut h, 0).map_err(|e| bad(format!("cannot read its header: {e}")))?;
    check_header(&h, path, kind, sim_id, expected_len, actual_len)
}

/// Checks a chip file's header bytes against what `kind`/`sim_id` needs.
pub(crate) fn check_header(
    h: &[u8],
    path: &Path,
    kind: SimKind,
    sim_id: u32,
    expected_len: u64,
    actual_len: u64,
) -> Result<ChipUid, SimError> {
    let arch = kind.arch();
    let bad = |reason: String| SimError::BadChipFile { path: path.to_path_buf(), reason };
    if h.len() < 48 {
        return Err(bad(format!("its header is {} bytes, shorter than 48", h.len())));
    }
    let u32_at = |off: u64| {
        let o = off as usize;
        u32::from_le_bytes([h[o], h[o + 1], h[o + 2], h[o + 3]])
    };
    let u64_at = |off: u64| {
        let o = off as usize;
        let mut b = [0u8; 8];
        b.copy_from_slice(&h[o..o + 8]);
        u64::from_le_bytes(b)
    };
    if h[..8] != MAGIC {
        return Err(bad("it has no tt-sim chip header (wrong magic)".into()));
    }
    if u32_at(OFF_VERSION) != VERSION {
        return Err(bad(format!(
            "its format version is {}, this build reads version {VERSION}",
            u32_at(OFF_VERSION)
        )));
    }
    if u32_at(OFF_ARCH) != arch_code(arch) {
        return Err(bad(format!(
            "it holds a chip of architecture code {}, not {arch}",
            u32_at(OFF_ARCH)
        )));
    }
    if u32_at(OFF_SIM_ID) != sim_id {
        return Err(bad(format!("it holds simulator id {}, not {sim_id}", u32_at(OFF_SIM_ID))));
    }
    if u64_at(OFF_FILE_LEN) != expected_len || actual_len != expected_len {
        return Err(bad(format!(
            "its length is {actual_len} (header says {}), a {arch} chip needs {expected_len}",
            u64_at(OFF_FILE_LEN)
        )));
    }
    if (u32_at(OFF_BOARD), u32_at(OFF_CHIP)) != kind.code() {
        return Err(bad(format!(
            "it holds board code {} chip {}, not {}",
            u32_at(OFF_BOARD),
            u32_at(OFF_CHIP),
            kind.spec(sim_id)
        )));
    }
    let uid = ChipUid(u64_at(OFF_CHIP_UID));
    if !kind.owns_uid(uid) {
        return Err(bad(format!(
            "its chip id {uid} is not the id of a {} chip",
            kind.spec(sim_id)
        )));
    }
    Ok(uid)
}

/// The unique id recorded in the header of chip file `file`, when it is one of `kind`.
pub(crate) fn recorded_uid(file: &File, kind: SimKind) -> Option<ChipUid> {
    let mut word = [0u8; 8];
    file.read_exact_at(&mut word, OFF_CHIP_UID).ok()?;
    Some(ChipUid(u64::from_le_bytes(word))).filter(|uid| kind.owns_uid(*uid))
}

/// A number for a new chip file's unique id, from the kernel's random source: two files
/// (in two directories, or one removed and made again) are two chips.
fn draw_instance() -> u32 {
    let mut bytes = [0u8; 4];
    let drawn = File::open("/dev/urandom").and_then(|mut f| {
        use std::io::Read;
        f.read_exact(&mut bytes)
    });
    match drawn {
        Ok(()) => u32::from_le_bytes(bytes),
        // No random source (a bare container): the time and pid still differ per creation.
        Err(_) => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            nanos ^ std::process::id().rotate_left(16)
        }
    }
}

/// Entry points for the fuzz targets in fuzz/ (built with `--cfg fuzzing` only).
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    use super::*;

    /// Checks `header` as the first bytes of a chip file of `kind`/`sim_id` whose length is
    /// `actual_len`, as opening an existing chip does.
    pub fn check_chip_header(
        header: &[u8],
        kind: SimKind,
        sim_id: u32,
        actual_len: u64,
    ) -> Result<(), SimError> {
        let layout = ChipLayout::new(&kind.soc()?);
        check_header(header, Path::new("<fuzz>"), kind, sim_id, layout.file_len(), actual_len)
            .map(|_| ())
    }
}
