use std::path::PathBuf;

/// Errors from building or parsing a SoC descriptor.
#[derive(Debug, thiserror::Error)]
pub enum SocError {
    /// An architecture name that is neither Wormhole B0 nor Blackhole.
    #[error("unknown architecture `{0}`: expected `wormhole_b0` or `blackhole`")]
    UnknownArch(String),
    /// A board name that is not one of the simulated presets.
    #[error("unknown board `{0}`: expected n150, n300, p100a or p150a")]
    UnknownBoard(String),
    /// The descriptor file could not be read.
    #[error("cannot read SoC descriptor {path}: {source}")]
    Read {
        /// The file that was asked for.
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// The YAML is malformed or a key has the wrong type; names the key and line.
    #[error("SoC descriptor {origin}: {message}; fix the file (tt-umd SoC descriptor format)")]
    Parse {
        /// The file name, or `<string>` for in-memory text.
        origin: String,
        /// What was wrong, with the key path and line where known.
        message: String,
    },
    /// A value is well-formed but inconsistent with the rest of the descriptor.
    #[error("SoC descriptor {origin}: key `{key}`{}: {message}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Invalid {
        /// The file name, or `<string>` for in-memory text.
        origin: String,
        /// The key whose value is wrong.
        key: String,
        /// The line of the key in the file, when it could be found.
        line: Option<usize>,
        /// What was wrong and what to do.
        message: String,
    },
    /// A harvesting mask names rows, columns, channels or tiles the chip does not have.
    #[error("{what} harvesting mask {mask} ({mask:#x}) is invalid for {arch}: {message}")]
    BadHarvestMask {
        /// The architecture the mask was applied to.
        arch: crate::Arch,
        /// Which mask: `tensix`, `dram`, `eth` or `pcie`.
        what: &'static str,
        /// The mask as given.
        mask: u32,
        /// What was wrong.
        message: String,
    },
}
