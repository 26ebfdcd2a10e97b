//! The simulator directory, opened once and trusted only after checking it, the way the
//! ledger directory is (tt-track's `segment/dir.rs`; the two are kept apart because a driver
//! does not depend on the tracker). Every chip file is then created, opened and removed
//! relative to that descriptor, never through a path another user could swap for a symlink,
//! and only regular files of this user are used.
//!
//! Ownership is checked against the effective uid, the uid the kernel gives the files we
//! create and checks our access with (the ledger uses the same one).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};

use crate::SimError;

/// The effective uid, which owns every chip file this process may trust.
pub(crate) fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// An opened, checked simulator directory.
#[derive(Debug)]
pub(crate) struct SimDir {
    path: PathBuf,
    fd: OwnedFd,
}

impl SimDir {
    /// Opens `path`, creating it (mode 0700, with any missing parents) if it does not exist.
    pub(crate) fn open_or_create(path: &Path) -> Result<SimDir, SimError> {
        let io_error = |source| SimError::Io {
            what: "cannot create simulator directory",
            path: path.to_owned(),
            source,
        };
        match std::fs::symlink_metadata(path) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(io_error)?;
                }
                match rustix::fs::mkdir(path, Mode::RWXU) {
                    // Made by a racing process of ours, or planted: the checks below decide.
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(io_error(e.into())),
                }
            }
            Err(e) => return Err(io_error(e)),
        }
        Self::open_checked(path)?.ok_or_else(|| io_error(io::ErrorKind::NotFound.into()))
    }

    /// Opens an existing `path`; `None` when it does not exist.
    pub(crate) fn open_existing(path: &Path) -> Result<Option<SimDir>, SimError> {
        Self::open_checked(path)
    }

    fn open_checked(path: &Path) -> Result<Option<SimDir>, SimError> {
        let unsafe_dir = |found: String| SimError::UnsafeSimDir { path: path.to_owned(), found };
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = match rustix::fs::open(path, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR) => {
                return Err(unsafe_dir("a symlink or a file, not a directory".to_owned()))
            }
            Err(e) => {
                return Err(SimError::Io {
                    what: "cannot open simulator directory",
                    path: path.to_owned(),
                    source: e.into(),
                })
            }
        };
        let stat = rustix::fs::fstat(&fd).map_err(|e| SimError::Io {
            what: "cannot stat simulator directory",
            path: path.to_owned(),
            source: e.into(),
        })?;
        let me = effective_uid();
        if FileType::from_raw_mode(stat.st_mode) != FileType::Directory {
            return Err(unsafe_dir("not a directory".to_owned()));
        }
        if stat.st_uid != me {
            return Err(unsafe_dir(format!("owned by uid {}, not by you (uid {me})", stat.st_uid)));
        }
        let mode = stat.st_mode & 0o7777;
        if mode & 0o077 != 0 {
            // Ours, but open to others: close it. Whatever others put in it is never used
            // anyway (chip files must be regular files of ours).
            if rustix::fs::fchmod(&fd, Mode::RWXU).is_err() {
                return Err(unsafe_dir(format!(
                    "mode {mode:#o} lets other users in (it must be 0700) and cannot be changed"
                )));
            }
            tracing::info!(path = %path.display(), "simulator directory was mode {mode:#o}; made it 0700");
        }
        Ok(Some(SimDir { path: path.to_owned(), fd }))
    }

    /// The directory's path, for messages.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// `path/name`, for messages.
    pub(crate) fn join(&self, name: &OsStr) -> PathBuf {
        self.path().join(name)
    }

    /// Creates `name` (mode 0600) for reading and writing, failing if anything, a symlink
    /// included, is there.
    pub(crate) fn create_new(&self, name: &OsStr) -> io::Result<File> {
        let flags =
            OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, name, flags, Mode::RUSR | Mode::WUSR)?;
        Ok(File::from(fd))
    }

    /// What `name` is, without following a symlink.
    pub(crate) fn stat(&self, name: &OsStr) -> io::Result<Stat> {
        Ok(rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW)?)
    }

    /// Opens `name` (read-write when `write`) if it is a regular file this user owns: never
    /// a symlink, and never a FIFO or a device, which could block or lie (the open does not
    /// block: O_NONBLOCK). `Err(InvalidData)` with the reason otherwise.
    pub(crate) fn open_owned_file(&self, name: &OsStr, write: bool) -> io::Result<File> {
        let access = if write { OFlags::RDWR } else { OFlags::RDONLY };
        let flags = access | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, name, flags, Mode::empty())?;
        check_owned_regular(&rustix::fs::fstat(&fd)?)?;
        // A regular file ignores O_NONBLOCK; cleared anyway so reads behave as usual.
        rustix::fs::fcntl_setfl(&fd, OFlags::empty())?;
        Ok(File::from(fd))
    }

    /// Renames `from` to `to` within the directory, failing if `to` exists.
    pub(crate) fn rename_new(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
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

    /// Removes the entry `name` (never following a symlink).
    pub(crate) fn remove(&self, name: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::unlinkat(&self.fd, name, AtFlags::empty())?)
    }

    /// Names of the entries (without `.` and `..`).
    pub(crate) fn entries(&self) -> io::Result<Vec<OsString>> {
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

/// Accepts a regular file owned by this user; the reason otherwise.
pub(crate) fn check_owned_regular(stat: &Stat) -> io::Result<()> {
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
