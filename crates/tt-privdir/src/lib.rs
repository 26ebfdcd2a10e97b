//! A private directory of this user, opened once and trusted only after checking it: every
//! entry is then created, opened, renamed and removed relative to that descriptor, never
//! through a path another user could swap for a symlink, and only regular files of this user
//! are used. The ledger (tt-track) and the simulated chips (tt-sim) keep their files in one.
//!
//! Ownership is checked against the effective uid: it is the uid the kernel gives the files
//! we create and checks our access with, so it is the one whose files we may trust.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

pub use rustix::fs::Stat;

/// The effective uid, which owns every file this process may trust.
pub fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// The step at which a directory could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirStep {
    /// Creating it (or its parents).
    Create,
    /// Opening it.
    Open,
    /// Asking what it is.
    Stat,
}

/// Why a directory cannot be used.
#[derive(Debug)]
pub enum DirError {
    /// It is not a private directory of this user: `found` says what it is instead.
    Unsafe {
        /// The directory.
        path: PathBuf,
        /// What was found (a symlink, another user's directory, ...).
        found: String,
    },
    /// The system refused a step.
    Io {
        /// The directory.
        path: PathBuf,
        /// The step.
        step: DirStep,
        /// What the system said.
        source: io::Error,
    },
}

impl fmt::Display for DirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DirError::Unsafe { path, found } => {
                write!(f, "{} cannot be trusted: it is {found}", path.display())
            }
            DirError::Io { path, step, source } => {
                write!(f, "{step:?} of {} failed: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for DirError {}

/// An opened, checked private directory.
#[derive(Debug)]
pub struct PrivateDir {
    path: PathBuf,
    fd: OwnedFd,
}

impl PrivateDir {
    /// Opens `path`, creating it (mode 0700, with any missing parents, also 0700) if it does
    /// not exist. No component of `path` is followed if it is a symlink.
    /// `what` names the directory in logs (`ledger directory`).
    pub fn open_or_create(path: &Path, what: &str) -> Result<PrivateDir, DirError> {
        // Made (0700) a component at a time without following a symlink, so a planted link
        // in the middle of the path cannot send the directory somewhere else.
        walk(path, true).map_err(|e| e.into_dir_error(path))?;
        Self::open_checked(path, what)?.ok_or_else(|| DirError::Io {
            path: path.to_owned(),
            step: DirStep::Create,
            source: io::ErrorKind::NotFound.into(),
        })
    }

    /// Opens an existing `path`; `None` when it does not exist.
    pub fn open_existing(path: &Path, what: &str) -> Result<Option<PrivateDir>, DirError> {
        Self::open_checked(path, what)
    }

    fn open_checked(path: &Path, what: &str) -> Result<Option<PrivateDir>, DirError> {
        let unsafe_dir = |found: String| DirError::Unsafe { path: path.to_owned(), found };
        let io_error = |step, source: rustix::io::Errno| DirError::Io {
            path: path.to_owned(),
            step,
            source: source.into(),
        };
        let fd = match open_no_symlinks(path) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR) => {
                return Err(unsafe_dir(
                    "a symlink or a file, not a directory, or reached through one (no \
                     component of the path is followed if it is a symlink)"
                        .to_owned(),
                ))
            }
            Err(e) => return Err(io_error(DirStep::Open, e)),
        };
        let stat = rustix::fs::fstat(&fd).map_err(|e| io_error(DirStep::Stat, e))?;
        let me = effective_uid();
        if FileType::from_raw_mode(stat.st_mode) != FileType::Directory {
            return Err(unsafe_dir("not a directory".to_owned()));
        }
        if stat.st_uid != me {
            return Err(unsafe_dir(format!("owned by uid {}, not by you (uid {me})", stat.st_uid)));
        }
        let mode = stat.st_mode & 0o7777;
        if mode & 0o077 != 0 {
            // Ours, but open to others: close it. Whatever others may have put in it is
            // never used anyway (entries must be regular files of ours).
            if rustix::fs::fchmod(&fd, Mode::RWXU).is_err() {
                return Err(unsafe_dir(format!(
                    "mode {mode:#o} lets other users in (it must be 0700) and cannot be changed"
                )));
            }
            tracing::info!(path = %path.display(), "{what} was mode {mode:#o}; made it 0700");
        }
        Ok(Some(PrivateDir { path: path.to_owned(), fd }))
    }

    /// The directory's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `path/name`, for messages.
    pub fn join(&self, name: &OsStr) -> PathBuf {
        self.path.join(name)
    }

    /// Creates `name` (mode 0600) for reading and writing, failing if anything, a symlink
    /// included, is there.
    pub fn create_new(&self, name: &OsStr) -> io::Result<File> {
        let flags =
            OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, name, flags, Mode::RUSR | Mode::WUSR)?;
        Ok(File::from(fd))
    }

    /// What `name` is, without following a symlink.
    pub fn stat(&self, name: &OsStr) -> io::Result<Stat> {
        Ok(rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW)?)
    }

    /// Opens `name` (read-write when `write`) if it is a regular file this user owns: never
    /// a symlink, and never a FIFO or a device, which could block or lie (the open does not
    /// block: O_NONBLOCK). `Err(InvalidData)` with the reason otherwise.
    pub fn open_owned_file(&self, name: &OsStr, write: bool) -> io::Result<File> {
        let access = if write { OFlags::RDWR } else { OFlags::RDONLY };
        let flags = access | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, name, flags, Mode::empty())?;
        check_owned_regular(&rustix::fs::fstat(&fd)?)?;
        // A regular file ignores O_NONBLOCK; cleared anyway so reads behave as usual.
        rustix::fs::fcntl_setfl(&fd, OFlags::empty())?;
        Ok(File::from(fd))
    }

    /// Renames `from` to `to` within the directory.
    pub fn rename(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::renameat(&self.fd, from, &self.fd, to)?)
    }

    /// Renames `from` to `to` within the directory, failing if `to` exists.
    pub fn rename_new(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        let flags = rustix::fs::RenameFlags::NOREPLACE;
        match rustix::fs::renameat_with(&self.fd, from, &self.fd, to, flags) {
            Ok(()) => Ok(()),
            // A file system without renameat2 flags: a hard link fails just as atomically
            // when `to` exists.
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
                rustix::fs::linkat(&self.fd, from, &self.fd, to, AtFlags::empty())?;
                Ok(rustix::fs::unlinkat(&self.fd, from, AtFlags::empty())?)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Removes the entry `name` (never following a symlink: unlinkat removes the link itself).
    pub fn remove(&self, name: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::unlinkat(&self.fd, name, AtFlags::empty())?)
    }

    /// Names of the entries (without `.` and `..`).
    pub fn entries(&self) -> io::Result<Vec<OsString>> {
        let mut dir = rustix::fs::Dir::read_from(self.fd.as_fd())?;
        let mut names = Vec::new();
        while let Some(entry) = dir.read() {
            let name = entry?.file_name().to_bytes().to_vec();
            if name != b"." && name != b".." {
                names.push(OsStr::from_bytes(&name).to_owned());
            }
        }
        Ok(names)
    }
}

const DIR_FLAGS: OFlags =
    OFlags::RDONLY.union(OFlags::DIRECTORY).union(OFlags::NOFOLLOW).union(OFlags::CLOEXEC);

/// Opens the directory `path` with no symlink in any component: openat2 with
/// RESOLVE_NO_SYMLINKS where the kernel has it (5.6), else [`walk`]. ELOOP or ENOTDIR when a
/// component is a symlink or not a directory.
fn open_no_symlinks(path: &Path) -> Result<OwnedFd, rustix::io::Errno> {
    use rustix::fs::{openat2, ResolveFlags, CWD};
    match openat2(CWD, path, DIR_FLAGS, Mode::empty(), ResolveFlags::NO_SYMLINKS) {
        // No openat2 (old kernel, or a seccomp filter that refuses it): walk.
        Err(rustix::io::Errno::NOSYS | rustix::io::Errno::PERM | rustix::io::Errno::INVAL) => {
            walk(path, false).map_err(|e| e.errno)
        }
        other => other,
    }
}

/// A failed [`walk`]: the step and what the system said.
struct WalkError {
    step: DirStep,
    errno: rustix::io::Errno,
}

impl WalkError {
    fn into_dir_error(self, path: &Path) -> DirError {
        match self.errno {
            rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => DirError::Unsafe {
                path: path.to_owned(),
                found: "reached through a symlink or a file (no component of the path is \
                        followed if it is a symlink)"
                    .to_owned(),
            },
            errno => DirError::Io { path: path.to_owned(), step: self.step, source: errno.into() },
        }
    }
}

/// Opens `path` a component at a time, each with O_NOFOLLOW relative to the one before, and
/// makes missing components (mode 0700) when `create`.
fn walk(path: &Path, create: bool) -> Result<OwnedFd, WalkError> {
    use std::path::Component;
    let open = |errno| WalkError { step: DirStep::Open, errno };
    let start = if path.is_absolute() { "/" } else { "." };
    let mut dir = rustix::fs::open(start, DIR_FLAGS, Mode::empty()).map_err(open)?;
    for component in path.components() {
        let name = match component {
            Component::Normal(name) => name,
            Component::ParentDir => OsStr::new(".."),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => continue,
        };
        if create {
            match rustix::fs::mkdirat(&dir, name, Mode::RWXU) {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(errno) => return Err(WalkError { step: DirStep::Create, errno }),
            }
        }
        dir = rustix::fs::openat(&dir, name, DIR_FLAGS, Mode::empty()).map_err(open)?;
    }
    Ok(dir)
}

/// Reserves the blocks of `len` bytes of `file` from `offset` (extending it if need be), so
/// that a store through a shared mapping of them cannot raise SIGBUS when the file system
/// fills up: on tmpfs the pages are allocated now. ENOSPC when there is no room. A file
/// system that cannot reserve (EOPNOTSUPP) is left as it was.
pub fn reserve(file: &File, offset: u64, len: u64) -> io::Result<()> {
    match rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), offset, len) {
        Ok(()) | Err(rustix::io::Errno::OPNOTSUPP) => Ok(()),
        Err(rustix::io::Errno::INTR) => reserve(file, offset, len),
        Err(e) => Err(e.into()),
    }
}

/// Bytes free to this user on the file system holding `file`, when the system says.
pub fn free_bytes(file: &File) -> Option<u64> {
    let stat = rustix::fs::fstatvfs(file).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// True when `error` says the file system is full.
pub fn is_no_space(error: &io::Error) -> bool {
    error.raw_os_error() == Some(rustix::io::Errno::NOSPC.raw_os_error())
}

/// Accepts a regular file owned by this user; the reason otherwise.
pub fn check_owned_regular(stat: &Stat) -> io::Result<()> {
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not a regular file"));
    }
    let me = effective_uid();
    if stat.st_uid != me {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("owned by uid {}, not by you (uid {me})", stat.st_uid),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_new_directory_is_private_and_entries_are_made_relative_to_it() {
        let top = tempfile::tempdir().expect("tempdir");
        let path = top.path().join("a/b/ledger");
        let dir = PrivateDir::open_or_create(&path, "test directory").expect("create");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        dir.create_new(OsStr::new("x.tmp")).expect("create");
        assert!(dir.create_new(OsStr::new("x.tmp")).is_err(), "O_EXCL");
        dir.rename(OsStr::new("x.tmp"), OsStr::new("x.seg")).expect("rename");
        assert_eq!(dir.entries().expect("list"), vec![OsString::from("x.seg")]);
        dir.open_owned_file(OsStr::new("x.seg"), false).expect("regular file of ours");
        dir.remove(OsStr::new("x.seg")).expect("remove");
        assert!(dir.entries().expect("list").is_empty());
    }

    #[test]
    fn symlinks_open_modes_and_fifos_are_refused_with_the_reason() {
        let top = tempfile::tempdir().expect("tempdir");
        let real = top.path().join("real");
        std::fs::create_dir(&real).expect("mkdir");
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        let link = top.path().join("link");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let error =
            PrivateDir::open_or_create(&link, "test directory").expect_err("a symlinked directory");
        assert!(error.to_string().contains("symlink"), "{error}");
        // Ours but open to others: closed to 0700 before anything is trusted.
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let dir = PrivateDir::open_existing(&real, "test directory")
            .expect("made private")
            .expect("exists");
        let mode = std::fs::metadata(&real).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        nix::unistd::mkfifo(&real.join("p.seg"), nix::sys::stat::Mode::S_IRWXU).expect("fifo");
        let error = dir.open_owned_file(OsStr::new("p.seg"), false).expect_err("a FIFO");
        assert!(error.to_string().contains("not a regular file"), "{error}");
        std::os::unix::fs::symlink("/etc/passwd", real.join("s.seg")).expect("symlink");
        assert!(
            dir.open_owned_file(OsStr::new("s.seg"), false).is_err(),
            "never follows a symlink"
        );
        assert!(PrivateDir::open_existing(&top.path().join("absent"), "test directory")
            .expect("ok")
            .is_none());
    }

    /// Finding 9: a symlink in a middle component was followed (root made a chip file in a
    /// root-only folder through one). Now neither opening nor creating goes through it.
    #[test]
    fn a_symlink_in_a_middle_component_is_not_followed() {
        let top = tempfile::tempdir().expect("tempdir");
        let target = top.path().join("private");
        std::fs::create_dir(&target).expect("mkdir");
        std::fs::create_dir(target.join("ledger")).expect("mkdir");
        std::os::unix::fs::symlink(&target, top.path().join("link")).expect("symlink");
        let through = top.path().join("link/ledger");
        let error = PrivateDir::open_existing(&through, "test directory").expect_err("refused");
        assert!(error.to_string().contains("symlink"), "{error}");
        let error =
            PrivateDir::open_or_create(&top.path().join("link/new/ledger"), "test directory")
                .expect_err("refused");
        assert!(error.to_string().contains("symlink"), "{error}");
        assert!(!target.join("new").exists(), "made a directory through the symlink");
        // Both ways of opening refuse it: openat2 and the walk.
        // (O_DIRECTORY with O_NOFOLLOW on a symlink is ENOTDIR.)
        let walked = walk(&through, false).err().map(|e| e.errno);
        assert_eq!(walked, Some(rustix::io::Errno::NOTDIR));
        let real = PrivateDir::open_existing(&target.join("ledger"), "test directory");
        assert!(real.expect("a plain path").is_some());
    }

    #[test]
    fn reserving_extends_the_file_and_free_space_is_known() {
        let top = tempfile::tempdir().expect("tempdir");
        let dir = PrivateDir::open_or_create(top.path(), "test directory").expect("open");
        let file = dir.create_new(OsStr::new("r")).expect("create");
        reserve(&file, 0, 1 << 20).expect("room for 1 MiB");
        assert_eq!(file.metadata().expect("stat").len(), 1 << 20);
        assert!(free_bytes(&file).is_some_and(|free| free > 0));
        assert!(is_no_space(&io::Error::from_raw_os_error(
            rustix::io::Errno::NOSPC.raw_os_error()
        )));
    }
}
