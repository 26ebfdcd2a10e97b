//! Parser for tt-umd's YAML SoC descriptor format.

use serde::Deserialize;

use crate::{Arch, CoreKind, DramBank, DramChannel, NocCoord, SocDescriptor, SocError};

#[derive(Deserialize)]
struct RawGrid {
    x_size: u16,
    y_size: u16,
}

/// The keys we use; others (`features`, `noc0_x_to_noc1_x`, ...) are accepted and ignored.
#[derive(Deserialize)]
struct RawDescriptor {
    grid: RawGrid,
    #[serde(default)]
    arc: Vec<String>,
    #[serde(default)]
    pcie: Vec<String>,
    dram: Vec<Vec<String>>,
    #[serde(default)]
    dram_address_offsets: Vec<u64>,
    #[serde(default)]
    eth: Vec<String>,
    functional_workers: Vec<String>,
    #[serde(default)]
    harvested_workers: Vec<String>,
    #[serde(default)]
    router_only: Vec<String>,
    worker_l1_size: u64,
    dram_bank_size: u64,
    #[serde(default)]
    eth_l1_size: u64,
    arch_name: String,
}

struct Ctx<'a> {
    text: &'a str,
    origin: &'a str,
}

impl Ctx<'_> {
    /// Line (1-based) where `key:` starts a line, for error messages.
    fn line_of(&self, key: &str) -> Option<usize> {
        let prefix = format!("{key}:");
        self.text.lines().position(|l| l.trim_start().starts_with(&prefix)).map(|i| i + 1)
    }

    /// Line of `token` at or after the line of `key`, falling back to the key's line.
    fn line_of_token(&self, key: &str, token: &str) -> Option<usize> {
        let start = self.line_of(key)?;
        self.text
            .lines()
            .enumerate()
            .skip(start - 1)
            .find(|(_, l)| l.contains(token))
            .map(|(i, _)| i + 1)
            .or(Some(start))
    }

    fn invalid(&self, key: &str, line: Option<usize>, message: String) -> SocError {
        SocError::Invalid { origin: self.origin.to_string(), key: key.to_string(), line, message }
    }

    fn coord(&self, key: &str, s: &str, grid: (u16, u16)) -> Result<NocCoord, SocError> {
        let parsed = s
            .trim()
            .split_once('-')
            .and_then(|(x, y)| Some(NocCoord::new(x.trim().parse().ok()?, y.trim().parse().ok()?)));
        let Some(c) = parsed else {
            return Err(self.invalid(
                key,
                self.line_of_token(key, s),
                format!("`{s}` is not a NOC coordinate; write it as X-Y, e.g. 1-2"),
            ));
        };
        if c.x >= grid.0 || c.y >= grid.1 {
            return Err(self.invalid(
                key,
                self.line_of_token(key, s),
                format!("{c} is outside the {}x{} grid", grid.0, grid.1),
            ));
        }
        Ok(c)
    }

    fn coords(
        &self,
        key: &str,
        list: &[String],
        grid: (u16, u16),
    ) -> Result<Vec<NocCoord>, SocError> {
        list.iter().map(|s| self.coord(key, s, grid)).collect()
    }
}

pub(crate) fn parse(text: &str, origin: &str) -> Result<SocDescriptor, SocError> {
    let raw: RawDescriptor = serde_yaml::from_str(text).map_err(|e| {
        // serde_yaml names the missing or mistyped key and its line and column.
        SocError::Parse { origin: origin.to_string(), message: e.to_string() }
    })?;
    let ctx = Ctx { text, origin };
    let arch: Arch = raw.arch_name.parse().map_err(|_| {
        ctx.invalid(
            "arch_name",
            ctx.line_of("arch_name"),
            format!("`{}` is not supported; use WORMHOLE_B0 or BLACKHOLE", raw.arch_name),
        )
    })?;
    let grid = (raw.grid.x_size, raw.grid.y_size);
    if grid.0 == 0 || grid.1 == 0 {
        return Err(ctx.invalid("grid", ctx.line_of("grid"), "grid sizes must be non-zero".into()));
    }
    let mut kinds = vec![CoreKind::Empty; usize::from(grid.0) * usize::from(grid.1)];
    let mut place = |key: &str, cores: &[NocCoord], kind: CoreKind| -> Result<(), SocError> {
        for c in cores {
            let slot = &mut kinds[usize::from(c.y) * usize::from(grid.0) + usize::from(c.x)];
            // The same DRAM endpoint may appear in several bank views; any other overlap is a
            // descriptor error.
            if *slot != CoreKind::Empty && !(*slot == kind && kind == CoreKind::Dram) {
                return Err(ctx.invalid(
                    key,
                    ctx.line_of_token(key, &format!("{}-{}", c.x, c.y)),
                    format!("{c} is listed as {kind} but is already {}", *slot),
                ));
            }
            *slot = kind;
        }
        Ok(())
    };
    let arc = ctx.coords("arc", &raw.arc, grid)?;
    let pcie = ctx.coords("pcie", &raw.pcie, grid)?;
    let ethernet = ctx.coords("eth", &raw.eth, grid)?;
    let workers = ctx.coords("functional_workers", &raw.functional_workers, grid)?;
    let harvested = ctx.coords("harvested_workers", &raw.harvested_workers, grid)?;
    let routers = ctx.coords("router_only", &raw.router_only, grid)?;
    place("arc", &arc, CoreKind::Arc)?;
    place("pcie", &pcie, CoreKind::Pcie)?;
    place("eth", &ethernet, CoreKind::Ethernet)?;
    place("functional_workers", &workers, CoreKind::Tensix)?;
    place("harvested_workers", &harvested, CoreKind::HarvestedTensix)?;
    place("router_only", &routers, CoreKind::RouterOnly)?;

    if raw.dram.is_empty() {
        return Err(ctx.invalid(
            "dram",
            ctx.line_of("dram"),
            "at least one DRAM channel is needed".into(),
        ));
    }
    if !raw.dram_address_offsets.is_empty() && raw.dram_address_offsets.len() != raw.dram.len() {
        return Err(ctx.invalid(
            "dram_address_offsets",
            ctx.line_of("dram_address_offsets"),
            format!(
                "has {} entries but `dram` has {}",
                raw.dram_address_offsets.len(),
                raw.dram.len()
            ),
        ));
    }
    if raw.dram_bank_size == 0 || raw.worker_l1_size == 0 {
        let key = if raw.dram_bank_size == 0 { "dram_bank_size" } else { "worker_l1_size" };
        return Err(ctx.invalid(key, ctx.line_of(key), "must be non-zero".into()));
    }
    // Each `dram` entry is one bank view; entries with the same endpoints are one channel.
    let mut channels: Vec<DramChannel> = Vec::new();
    let mut banks = Vec::with_capacity(raw.dram.len());
    for (i, entry) in raw.dram.iter().enumerate() {
        let endpoints = ctx.coords("dram", entry, grid)?;
        if endpoints.is_empty() {
            return Err(ctx.invalid(
                "dram",
                ctx.line_of("dram"),
                format!("channel entry {i} has no endpoints"),
            ));
        }
        place("dram", &endpoints, CoreKind::Dram)?;
        let offset = raw.dram_address_offsets.get(i).copied().unwrap_or(0);
        let end = offset.checked_add(raw.dram_bank_size).ok_or_else(|| {
            ctx.invalid(
                "dram_address_offsets",
                ctx.line_of("dram_address_offsets"),
                format!("entry {i} overflows"),
            )
        })?;
        let channel = match channels.iter().position(|c| c.endpoints == endpoints) {
            Some(ch) => ch,
            None => {
                channels.push(DramChannel { endpoints, size: 0 });
                channels.len() - 1
            }
        };
        channels[channel].size = channels[channel].size.max(end);
        if banks.iter().any(|b: &DramBank| {
            b.channel == channel && b.offset < end && offset < b.offset + b.size
        }) {
            return Err(ctx.invalid(
                "dram_address_offsets",
                ctx.line_of("dram_address_offsets"),
                format!("bank {i} overlaps another bank of the same channel"),
            ));
        }
        banks.push(DramBank { channel, offset, size: raw.dram_bank_size });
    }
    if workers.is_empty() {
        return Err(ctx.invalid(
            "functional_workers",
            ctx.line_of("functional_workers"),
            "no Tensix workers listed".into(),
        ));
    }
    Ok(SocDescriptor {
        arch,
        grid_x: grid.0,
        grid_y: grid.1,
        kinds,
        dram_channels: channels,
        dram_banks: banks,
        ethernet,
        pcie,
        arc,
        worker_l1_size: raw.worker_l1_size,
        eth_l1_size: raw.eth_l1_size,
        harvesting_mask: 0,
        worker_xs: Vec::new(),
        worker_ys: Vec::new(),
    }
    .with_axes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "\
grid: {x_size: 3, y_size: 2}
arc: [0-0]
pcie: [0-1]
dram:
  [[2-0], [2-1]]
eth: []
functional_workers: [1-0, 1-1]
worker_l1_size: 1048576
dram_bank_size: 4096
eth_l1_size: 0
arch_name: WORMHOLE_B0
features: {noc: {translation_id_enabled: true}}
";

    #[test]
    fn parses_a_small_descriptor() {
        let soc = parse(SMALL, "small.yaml").unwrap();
        assert_eq!(soc.grid_size(), (3, 2));
        assert_eq!(soc.tensix_cores(), vec![NocCoord::new(1, 0), NocCoord::new(1, 1)]);
        assert_eq!(soc.dram_channels().len(), 2);
        assert_eq!(soc.dram_size(), 8192);
        assert_eq!(soc.worker_grid_size(), (1, 2));
    }

    fn err_of(text: &str) -> String {
        parse(text, "bad.yaml").unwrap_err().to_string()
    }

    #[test]
    fn missing_key_names_it() {
        let text = SMALL.replace("worker_l1_size: 1048576\n", "");
        let err = err_of(&text);
        assert!(err.contains("bad.yaml") && err.contains("worker_l1_size"), "{err}");
    }

    #[test]
    fn wrong_type_names_key_and_line() {
        let text = SMALL.replace("dram_bank_size: 4096", "dram_bank_size: lots");
        let err = err_of(&text);
        assert!(err.contains("dram_bank_size") && err.contains("line 9"), "{err}");
    }

    #[test]
    fn bad_coordinate_names_key_token_and_line() {
        let text =
            SMALL.replace("functional_workers: [1-0, 1-1]", "functional_workers: [1-0, 1-x]");
        let err = err_of(&text);
        assert!(
            err.contains("functional_workers") && err.contains("1-x") && err.contains("line 7"),
            "{err}"
        );
    }

    #[test]
    fn out_of_grid_coordinate_is_refused() {
        let text =
            SMALL.replace("functional_workers: [1-0, 1-1]", "functional_workers: [1-0, 7-1]");
        let err = err_of(&text);
        assert!(err.contains("outside the 3x2 grid"), "{err}");
    }

    #[test]
    fn overlapping_cores_are_refused() {
        let text =
            SMALL.replace("functional_workers: [1-0, 1-1]", "functional_workers: [1-0, 0-0]");
        let err = err_of(&text);
        assert!(err.contains("already arc"), "{err}");
    }

    #[test]
    fn unknown_arch_and_garbage_are_errors_not_panics() {
        let err = err_of(&SMALL.replace("WORMHOLE_B0", "GRAYSKULL"));
        assert!(err.contains("arch_name") && err.contains("GRAYSKULL"), "{err}");
        assert!(parse("", "x").is_err());
        assert!(parse("[1, 2", "x").is_err());
        assert!(parse("grid: 5", "x").is_err());
        let bad_offsets = SMALL.replace("eth: []", "eth: []\ndram_address_offsets: [0]");
        assert!(err_of(&bad_offsets).contains("dram_address_offsets"));
    }
}
