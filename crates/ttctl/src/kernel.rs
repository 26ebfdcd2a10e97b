//! `ttctl kernel build`: builds kernels of your own with the flags and headers of the
//! committed ones. The build kit (kernels/build.sh, link.ld and the headers) is compiled into
//! the binary and unpacked into a temporary directory, so it works from any directory.

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
    let kit = std::env::temp_dir().join(format!("ttctl-kernel-kit-{}", std::process::id()));
    let result = build_with(&kit, sources, out);
    // The kit is scratch: a failure to remove it does not change the build's outcome.
    let _ = std::fs::remove_dir_all(&kit);
    result
}

fn build_with(kit: &Path, sources: &[PathBuf], out: &Path) -> Result<()> {
    for (name, text) in KIT {
        let path = kit.join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
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
