//! The process-wide tracker the runtime uses, configured from the environment.

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::error::TrackError;
use crate::reader::{read_ledger, LedgerSnapshot};
use crate::tracker::Tracker;

/// Environment variable naming the ledger directory.
pub const LEDGER_DIR_ENV: &str = "TT_LEDGER_DIR";
/// Environment variable that turns tracking off when set to `off`, `0` or `false`.
pub const TRACKING_ENV: &str = "TT_TRACKING";

/// The per-user runtime directory the system provides (owned by the user, mode 0700).
const RUNTIME_DIR_ENV: &str = "XDG_RUNTIME_DIR";

/// `$XDG_RUNTIME_DIR/tt-ledger` when the system provides a runtime directory.
fn runtime_ledger_dir() -> Option<PathBuf> {
    let runtime = PathBuf::from(std::env::var_os(RUNTIME_DIR_ENV)?);
    (runtime.is_absolute() && runtime.is_dir()).then(|| runtime.join("tt-ledger"))
}

/// `/dev/shm/tt-ledger-<euid>`, for systems without a runtime directory.
fn shm_ledger_dir() -> PathBuf {
    PathBuf::from(format!("/dev/shm/tt-ledger-{}", tt_privdir::effective_uid()))
}

/// The ledger directory this process writes to: `$TT_LEDGER_DIR`, else the per-user runtime
/// directory (`$XDG_RUNTIME_DIR/tt-ledger`), else `/dev/shm/tt-ledger-<euid>`.
pub fn default_ledger_dir() -> PathBuf {
    match std::env::var_os(LEDGER_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => runtime_ledger_dir().unwrap_or_else(shm_ledger_dir),
    }
}

/// Every directory a monitor reads: `$TT_LEDGER_DIR` alone when set, else both the runtime
/// directory and the `/dev/shm` fallback, since a process started without a runtime
/// directory (a service, a container) writes to the fallback.
pub fn ledger_dirs_to_read() -> Vec<PathBuf> {
    match std::env::var_os(LEDGER_DIR_ENV) {
        Some(dir) if !dir.is_empty() => vec![PathBuf::from(dir)],
        _ => runtime_ledger_dir().into_iter().chain(std::iter::once(shm_ledger_dir())).collect(),
    }
}

/// Reads every directory of [`ledger_dirs_to_read`] and sums them as one ledger.
pub fn read_default_ledger() -> Result<LedgerSnapshot, TrackError> {
    let mut dirs = ledger_dirs_to_read().into_iter();
    let first = dirs.next().unwrap_or_else(default_ledger_dir);
    let mut snapshot = read_ledger(&first)?;
    for dir in dirs {
        snapshot.absorb(read_ledger(&dir)?);
    }
    Ok(snapshot)
}

/// True unless `TT_TRACKING` says off.
pub fn tracking_enabled_by_env() -> bool {
    !matches!(
        std::env::var(TRACKING_ENV).map(|v| v.to_ascii_lowercase()).as_deref(),
        Ok("off" | "0" | "false" | "no")
    )
}

impl Tracker {
    /// The tracker the environment asks for: off if `TT_TRACKING=off` (logged), else a
    /// segment in [`default_ledger_dir`], else (logged) private memory.
    pub fn from_env() -> Tracker {
        if !tracking_enabled_by_env() {
            tracing::info!(
                "memory tracking is off ({TRACKING_ENV}=off): monitors will not see this process"
            );
            return Tracker::disabled();
        }
        let dir = default_ledger_dir();
        match Tracker::with_ledger_dir(&dir) {
            Ok(tracker) => tracker,
            Err(error) => {
                tracing::warn!(%error, "ledger unavailable; counting in private memory, invisible to monitors");
                Tracker::in_memory().unwrap_or_else(|error| {
                    tracing::warn!(%error, "cannot map private tracking memory; tracking is off");
                    Tracker::disabled()
                })
            }
        }
    }
}

static GLOBAL: OnceLock<Tracker> = OnceLock::new();

/// The process-wide tracker, created on first use from the environment.
pub fn global() -> &'static Tracker {
    // Its segment is removed at a clean exit by the segment writer's atexit hook, as every
    // published segment is.
    GLOBAL.get_or_init(Tracker::from_env)
}
