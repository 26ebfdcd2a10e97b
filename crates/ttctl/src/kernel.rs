//! `ttctl kernel build`: builds kernels of your own with the flags and headers of the
//! committed ones. The build kit (kernels/build.sh, link.ld and the headers) is compiled into
//! the binary and unpacked into a private temporary directory of a random name, so it works from any directory
//! and no other user can plant a file in it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The files `kernels/build.sh` needs, by their path under `kernels/`.
const KIT: [(&str, &str); 4] = [
    ("build.sh", include_str!("../../../kernels/build.sh")),
    ("link.ld", include_str!("../../../kernels/link.ld")),
    ("include/tt_kernel.h", include_str!("../../../kernels/include/tt_kernel.h")),
    ("include/tt_tile.h", include_str!("../../../kernels/include/tt_tile.h")),
];

/// Builds each of `sources` into `<out>/<name>.elf`.
pub fn build(sources: &[PathBuf], out: &Path) -> Result<()> {
    if sources.is_empty() {
        bail!("name at least one kernel source, e.g. `ttctl kernel build my_kernel.c`");
    }
    // A fresh directory under a random name (mkdtemp: created 0700, failing if the name
    // exists), never a predictable path another user could create first in a shared /tmp.
    let temp = std::env::temp_dir();
    let kit = tempfile::Builder::new().prefix("ttctl-kernel-kit-").tempdir_in(&temp).with_context(
        || {
            format!(
                "cannot create a private directory in {} (set TMPDIR to another)",
                temp.display()
            )
        },
    )?;
    let result = build_with(kit.path(), sources, out);
    // The kit is scratch: a failure to remove it does not change the build's outcome.
    let _ = kit.close();
    result
}

/// Writes one kit file; `create_new` (O_EXCL, which also refuses a symlink in its place)
/// because the directory is ours and nothing may already be there.
fn write_new(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .with_context(|| format!("cannot write {}", path.display()))
}

fn build_with(kit: &Path, sources: &[PathBuf], out: &Path) -> Result<()> {
    for (name, text) in KIT {
        let path = kit.join(name);
        if let Some(dir) = path.parent().filter(|dir| !dir.exists()) {
            std::fs::create_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        write_new(&path, text)?;
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let status = Command::new("bash")
        .arg(kit.join("build.sh"))
        .arg(out)
        .args(sources)
        .status()
        .context("cannot run bash for kernels/build.sh")?;
    if !status.success() {
        bail!("building {} kernel(s) failed (see above)", sources.len());
    }
    Ok(())
}
