//! Parsing of device specs (`sim:wormhole_b0:1`, `/dev/tenstorrent/0`).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use tt_soc::Arch;

use crate::DeviceError;

/// Which device to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceSpec {
    /// A simulated chip of `arch` with simulator id `id`.
    Sim {
        /// Architecture to simulate.
        arch: Arch,
        /// Simulator chip id; the same id from two processes is the same chip.
        id: u32,
    },
    /// A card through the tt-kmd device file.
    Pcie(PathBuf),
}

impl FromStr for DeviceSpec {
    type Err = DeviceError;

    /// Accepts `sim:<arch>[:<id>]`, a device path, or a bare card number `N` meaning
    /// `/dev/tenstorrent/N`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| DeviceError::BadSpec { spec: s.to_string(), reason: why.to_string() };
        if let Some(rest) = s.strip_prefix("sim:") {
            let (arch, id) = match rest.split_once(':') {
                Some((a, id)) => {
                    (a, id.parse::<u32>().map_err(|_| bad("the simulator id must be a number"))?)
                }
                None => (rest, 0),
            };
            let arch = arch
                .parse::<Arch>()
                .map_err(|_| bad("unknown architecture; use sim:wormhole_b0 or sim:blackhole"))?;
            return Ok(DeviceSpec::Sim { arch, id });
        }
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(DeviceSpec::Pcie(PathBuf::from(format!("/dev/tenstorrent/{s}"))));
        }
        if s.starts_with('/') {
            return Ok(DeviceSpec::Pcie(PathBuf::from(s)));
        }
        Err(bad("expected sim:<arch>[:<id>], /dev/tenstorrent/<N> or a card number"))
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Sim { arch, id } => write!(f, "sim:{arch}:{id}"),
            DeviceSpec::Pcie(p) => write!(f, "{}", p.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_print() {
        let cases = [
            ("sim:wormhole_b0", DeviceSpec::Sim { arch: Arch::WormholeB0, id: 0 }),
            ("sim:blackhole:3", DeviceSpec::Sim { arch: Arch::Blackhole, id: 3 }),
            ("/dev/tenstorrent/1", DeviceSpec::Pcie("/dev/tenstorrent/1".into())),
            ("2", DeviceSpec::Pcie("/dev/tenstorrent/2".into())),
        ];
        for (text, spec) in cases {
            assert_eq!(text.parse::<DeviceSpec>().unwrap(), spec);
        }
        assert_eq!(DeviceSpec::Sim { arch: Arch::Blackhole, id: 3 }.to_string(), "sim:blackhole:3");
    }

    #[test]
    fn bad_specs_say_what_is_accepted() {
        for bad in ["sim:grayskull", "sim:blackhole:x", "tenstorrent", ""] {
            let err = bad.parse::<DeviceSpec>().unwrap_err().to_string();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
            assert!(err.contains("sim:"), "{err}");
        }
    }
}
