//! Parsing of device specs (`sim:wormhole_b0:1`, `/dev/tenstorrent/0`).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use tt_sim::SimKind;
use tt_soc::{Arch, BoardPreset};

use crate::DeviceError;

/// Which device to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceSpec {
    /// A simulated chip: a bare chip of an architecture or one chip of a board, with simulator
    /// id `id`.
    Sim {
        /// What to simulate.
        kind: SimKind,
        /// Simulator id; the same id from two processes is the same chip (or board).
        id: u32,
    },
    /// A card through the tt-kmd device file.
    Pcie(PathBuf),
}

/// Characters of a spec quoted in an error message.
const QUOTE_CHARS: usize = 40;

/// `s`, or its first characters and how long it is: a spec is echoed, never at any length.
pub(crate) fn quote(s: &str) -> String {
    match s.char_indices().nth(QUOTE_CHARS) {
        None => s.to_string(),
        Some((end, _)) => format!("{}… ({} bytes)", &s[..end], s.len()),
    }
}

impl FromStr for DeviceSpec {
    type Err = DeviceError;

    /// Accepts `sim:<arch>[:<id>]`, `sim:<board>[:<id>[:<chip>]]` (boards n150, n300, p100a,
    /// p150a; chip 1 is an n300's second chip), a device path, or a bare card number `N`
    /// meaning `/dev/tenstorrent/N`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| DeviceError::BadSpec { spec: quote(s), reason: why.to_string() };
        if let Some(rest) = s.strip_prefix("sim:") {
            let parts: Vec<&str> = rest.split(':').collect();
            let number = |text: &str, what: &str| {
                text.parse::<u32>().map_err(|_| bad(&format!("the {what} must be a number")))
            };
            let id = match parts.get(1) {
                Some(text) => number(text, "simulator id")?,
                None => 0,
            };
            let chip = match parts.get(2) {
                Some(text) => Some(number(text, "chip index")?),
                None => None,
            };
            if parts.len() > 3 {
                return Err(bad("too many fields"));
            }
            let kind = if let Ok(arch) = parts[0].parse::<Arch>() {
                if chip.is_some() {
                    return Err(bad("a bare chip has no chip index; use sim:<arch>:<id>"));
                }
                SimKind::Bare(arch)
            } else if let Ok(preset) = parts[0].parse::<BoardPreset>() {
                let chip = chip.unwrap_or(0);
                let count = preset.chips().len() as u32;
                if chip >= count {
                    return Err(bad(&format!(
                        "board {preset} has {count} chip(s), numbered from 0"
                    )));
                }
                SimKind::Board { preset, chip: chip as u8 }
            } else {
                return Err(bad(
                    "unknown chip or board; use sim:wormhole_b0, sim:blackhole, sim:n150, sim:n300, sim:p100a or sim:p150a",
                ));
            };
            return Ok(DeviceSpec::Sim { kind, id });
        }
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(DeviceSpec::Pcie(PathBuf::from(format!("/dev/tenstorrent/{s}"))));
        }
        if s.starts_with('/') {
            return Ok(DeviceSpec::Pcie(PathBuf::from(s)));
        }
        Err(bad("expected sim:<arch|board>[:<id>], /dev/tenstorrent/<N> or a card number"))
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Sim { kind, id } => f.write_str(&kind.spec(*id)),
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
            ("sim:wormhole_b0", DeviceSpec::Sim { kind: SimKind::Bare(Arch::WormholeB0), id: 0 }),
            ("sim:blackhole:3", DeviceSpec::Sim { kind: SimKind::Bare(Arch::Blackhole), id: 3 }),
            (
                "sim:n300:2:1",
                DeviceSpec::Sim {
                    kind: SimKind::Board { preset: BoardPreset::N300, chip: 1 },
                    id: 2,
                },
            ),
            (
                "sim:p150a",
                DeviceSpec::Sim {
                    kind: SimKind::Board { preset: BoardPreset::P150a, chip: 0 },
                    id: 0,
                },
            ),
            ("/dev/tenstorrent/1", DeviceSpec::Pcie("/dev/tenstorrent/1".into())),
            ("2", DeviceSpec::Pcie("/dev/tenstorrent/2".into())),
        ];
        for (text, spec) in cases {
            assert_eq!(text.parse::<DeviceSpec>().unwrap(), spec);
        }
        assert_eq!(
            DeviceSpec::Sim { kind: SimKind::Bare(Arch::Blackhole), id: 3 }.to_string(),
            "sim:blackhole:3"
        );
        let n300_1 = SimKind::Board { preset: BoardPreset::N300, chip: 1 };
        assert_eq!(DeviceSpec::Sim { kind: n300_1, id: 0 }.to_string(), "sim:n300:0:1");
    }

    #[test]
    fn bad_specs_say_what_is_accepted() {
        for bad in [
            "sim:grayskull",
            "sim:blackhole:x",
            "tenstorrent",
            "",
            "sim:n150:0:1",
            "sim:blackhole:0:0",
        ] {
            let err = bad.parse::<DeviceSpec>().unwrap_err().to_string();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
            assert!(err.contains("sim:"), "{err}");
        }
    }
}
