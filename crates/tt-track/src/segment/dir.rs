//! The ledger directory, opened once and trusted only after checking it: every entry is then
//! created, opened, renamed and removed relative to that descriptor, never through a path
//! another user could swap for a symlink.
//!
//! Ownership is checked against the effective uid: it is the uid the kernel gives the files
//! we create and checks our access with, so it is the one whose files we may trust.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags, Stat};

use crate::error::TrackError;

/// The effective uid, which owns every ledger file this process may trust.
pub(crate) fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// An opened, checked ledger directory.
#[derive(Debug)]
pub(crate) struct LedgerDir {
    path: PathBuf,
    fd: OwnedFd,
}

fn is_dir(stat: &Stat) -> bool {
    rustix::fs::FileType::from_raw_mode(stat.st_mode) == rustix::fs::FileType::Directory
}

fn is_regular(stat: &Stat) -> bool {
    rustix::fs::FileType::from_raw_mode(stat.st_mode) == rustix::fs::FileType::RegularFile
}

impl LedgerDir {
    /// Opens `path`, creating it (mode 0700, with any missing parents) if it does not exist.
    pub(crate) fn open_or_create(path: &Path) -> Result<LedgerDir, TrackError> {
        let io_error = |source| TrackError::LedgerDir { path: path.to_owned(), source };
        match std::fs::symlink_metadata(path) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(io_error)?;
                }
                match rustix::fs::mkdir(path, Mode::RWXU) {
                    Ok(()) => {}
                    // Made by a racing process of ours, or planted: the checks below decide.
                    Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(io_error(e.into())),
                }
            }
            Err(e) => return Err(io_error(e)),
        }
        Self::open_checked(path)?.ok_or_else(|| io_error(io::ErrorKind::NotFound.into()))
    }

    /// Opens an existing `path` for reading; `None` when it does not exist.
    pub(crate) fn open_existing(path: &Path) -> Result<Option<LedgerDir>, TrackError> {
        Self::open_checked(path)
    }

    fn open_checked(path: &Path) -> Result<Option<LedgerDir>, TrackError> {
        let unsafe_dir =
            |found: String| TrackError::UnsafeLedgerDir { path: path.to_owned(), found };
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = match rustix::fs::open(path, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR) => {
                return Err(unsafe_dir("a symlink or a file, not a directory".to_owned()))
            }
            Err(e) => {
                return Err(TrackError::LedgerDir { path: path.to_owned(), source: e.into() })
            }
        };
        let stat = rustix::fs::fstat(&fd)
            .map_err(|e| TrackError::LedgerDir { path: path.to_owned(), source: e.into() })?;
        let me = effective_uid();
        if !is_dir(&stat) {
            return Err(unsafe_dir("not a directory".to_owned()));
        }
        if stat.st_uid != me {
            return Err(unsafe_dir(format!("owned by uid {}, not by you (uid {me})", stat.st_uid)));
        }
        let mode = stat.st_mode & 0o7777;
        if mode & 0o077 != 0 {
            // Ours, but open to others: close it. Whatever others may have put in it is
            // never trusted anyway (entries must be regular files of ours).
            if rustix::fs::fchmod(&fd, Mode::RWXU).is_err() {
                return Err(unsafe_dir(format!(
                    "mode {mode:#o} lets other users in (it must be 0700) and cannot be changed"
                )));
            }
            tracing::info!(path = %path.display(), "ledger directory was mode {mode:#o}; made it 0700");
        }
        Ok(Some(LedgerDir { path: path.to_owned(), fd }))
    }

    /// `path/name`, for messages.
    pub(crate) fn join(&self, name: &OsStr) -> PathBuf {
        self.path.join(name)
    }

    /// Creates `name` (mode 0600), failing if anything, a symlink included, is there.
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

    /// Opens `name` read-only if it is a regular file this user owns (never a symlink, a FIFO
    /// or a device, which could block or lie); `Err(InvalidData)` with the reason otherwise.
    pub(crate) fn open_owned_file(&self, name: &OsStr) -> io::Result<File> {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, name, flags, Mode::empty())?;
        let stat = rustix::fs::fstat(&fd)?;
        check_owned_regular(&stat)?;
        Ok(File::from(fd))
    }

    /// Renames `from` to `to` within the directory.
    pub(crate) fn rename(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::renameat(&self.fd, from, &self.fd, to)?)
    }

    /// Removes the file `name` (never following a symlink: unlinkat removes the link itself).
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
    if !is_regular(stat) {
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
        let dir = LedgerDir::open_or_create(&path).expect("create");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        dir.create_new(OsStr::new("x.tmp")).expect("create");
        assert!(dir.create_new(OsStr::new("x.tmp")).is_err(), "O_EXCL");
        dir.rename(OsStr::new("x.tmp"), OsStr::new("x.seg")).expect("rename");
        assert_eq!(dir.entries().expect("list"), vec![OsString::from("x.seg")]);
        dir.open_owned_file(OsStr::new("x.seg")).expect("regular file of ours");
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
        let error = LedgerDir::open_or_create(&link).expect_err("a symlinked directory");
        assert!(error.to_string().contains("symlink"), "{error}");
        // Ours but open to others: closed to 0700 before anything is trusted.
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let dir = LedgerDir::open_existing(&real).expect("made private").expect("exists");
        let mode = std::fs::metadata(&real).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        nix::unistd::mkfifo(&real.join("p.seg"), nix::sys::stat::Mode::S_IRWXU).expect("fifo");
        let error = dir.open_owned_file(OsStr::new("p.seg")).expect_err("a FIFO");
        assert!(error.to_string().contains("not a regular file"), "{error}");
        std::os::unix::fs::symlink("/etc/passwd", real.join("s.seg")).expect("symlink");
        assert!(dir.open_owned_file(OsStr::new("s.seg")).is_err(), "never follows a symlink");
        assert!(LedgerDir::open_existing(&top.path().join("absent")).expect("ok").is_none());
    }
}
