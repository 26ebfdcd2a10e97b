//! Parser for tt-umd's YAML SoC descriptor format, with tt-metal's `dram_views` extension.
//!
//! It accepts what tt-umd accepts. Where a file is looser than our model, this is what we do
//! (tt-umd reads neither `dram_address_offsets` nor `dram_views`, tt-metal's fields):
//! - a `dram_address_offsets` list longer or shorter than `dram`: entries past `dram` are
//!   ignored and missing ones are 0;
//! - a `dram_views` `eth_endpoint` / `worker_endpoint` written as one number instead of
//!   `[NOC0, NOC1]`: that number is the NOC0 entry;
//! - a `router_only`, `security` or `l2cpu` entry naming a core listed before (tt-metal's
//!   blackhole_140_arch_local names 2-0 twice): the entry is ignored, the core keeps its kind.

use serde::Deserialize;

use crate::locate::Locator;
use crate::{
    Arch, CoreKind, DramBank, DramChannel, HarvestAxis, HarvestingMasks, NocCoord, SocDescriptor,
    SocError,
};

#[derive(Deserialize)]
struct RawGrid {
    x_size: Option<u16>,
    y_size: Option<u16>,
}

/// One of tt-metal's `dram_views`: a slice of a channel the allocator treats as a bank.
/// `eth_endpoint` / `worker_endpoint` are [NOC0, NOC1] indices into the channel's endpoints.
#[derive(Deserialize)]
struct RawDramView {
    channel: Option<usize>,
    #[serde(default)]
    eth_endpoint: Endpoints,
    #[serde(default)]
    worker_endpoint: Endpoints,
    #[serde(default)]
    address_offset: u64,
}

/// `[NOC0, NOC1]` endpoint indices, or one number for NOC0 alone.
#[derive(Deserialize)]
#[serde(untagged)]
enum Endpoints {
    One(usize),
    Many(Vec<usize>),
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints::Many(Vec::new())
    }
}

impl Endpoints {
    fn as_slice(&self) -> &[usize] {
        match self {
            Endpoints::One(n) => std::slice::from_ref(n),
            Endpoints::Many(list) => list,
        }
    }
}

#[derive(Deserialize, Default)]
struct RawNocFeatures {
    translation_id_enabled: Option<bool>,
}

#[derive(Deserialize, Default)]
struct RawFeatures {
    #[serde(default)]
    noc: RawNocFeatures,
}

/// Every key of tt-umd's format (docs/yaml_schemas/soc_descriptor.yaml) and tt-metal's DRAM
/// views. Required keys are `Option` so that a missing one is reported at its parent mapping.
/// Keys the runtime has no use for (`dram_preferred_*`, `dispatch`, the rest of `features`)
/// are accepted and ignored.
#[derive(Deserialize)]
struct RawDescriptor {
    grid: Option<RawGrid>,
    #[serde(default)]
    arc: Vec<String>,
    #[serde(default)]
    pcie: Vec<String>,
    dram: Option<Vec<Vec<String>>>,
    #[serde(default)]
    dram_address_offsets: Vec<u64>,
    dram_views: Option<Vec<RawDramView>>,
    dram_view_size: Option<u64>,
    #[serde(default)]
    eth: Vec<String>,
    functional_workers: Option<Vec<String>>,
    #[serde(default)]
    harvested_workers: Vec<String>,
    #[serde(default)]
    router_only: Vec<String>,
    #[serde(default)]
    security: Vec<String>,
    #[serde(default)]
    l2cpu: Vec<String>,
    #[serde(default)]
    noc0_x_to_noc1_x: Vec<u16>,
    #[serde(default)]
    noc0_y_to_noc1_y: Vec<u16>,
    worker_l1_size: Option<u64>,
    dram_bank_size: Option<u64>,
    #[serde(default)]
    eth_l1_size: u64,
    arch_name: Option<String>,
    #[serde(default)]
    features: RawFeatures,
}

struct Ctx<'a> {
    at: Locator<'a>,
    origin: &'a str,
}

impl Ctx<'_> {
    fn invalid(&self, key: &str, line: Option<usize>, message: String) -> SocError {
        SocError::Invalid { origin: self.origin.to_string(), key: key.to_string(), line, message }
    }

    /// A required key that is absent, reported at the mapping that should hold it.
    fn missing(&self, key: &str, parent: Option<&str>) -> SocError {
        let (line, place) = match parent {
            Some(p) => (self.at.key_line(p), format!("the `{p}` mapping")),
            None => (self.at.first_key_line(), "the top-level mapping".to_string()),
        };
        self.invalid(key, line, format!("is missing from {place}; add it"))
    }

    /// Parses entry `index` of list `key` (`X-Y`) and checks it lies in the grid.
    fn coord(
        &self,
        key: &str,
        index: usize,
        s: &str,
        grid: (u16, u16),
    ) -> Result<NocCoord, SocError> {
        let parsed = s
            .trim()
            .split_once('-')
            .and_then(|(x, y)| Some(NocCoord::new(x.trim().parse().ok()?, y.trim().parse().ok()?)));
        let line = || self.at.entry_line(key, index);
        let Some(c) = parsed else {
            return Err(self.invalid(
                key,
                line(),
                format!("`{}` is not a NOC coordinate; write it as X-Y, e.g. 1-2", quote(s)),
            ));
        };
        if c.x >= grid.0 || c.y >= grid.1 {
            return Err(self.invalid(
                key,
                line(),
                format!(
                    "{c} is outside the {}x{} grid; fix the coordinate or `grid`",
                    grid.0, grid.1
                ),
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
        list.iter().enumerate().map(|(i, s)| self.coord(key, i, s, grid)).collect()
    }
}

/// Bytes of a descriptor the parser accepts (tt-umd's are about 10 KiB).
pub const MAX_DESCRIPTOR_BYTES: usize = 1 << 20;
/// Deepest nesting of flow collections (`[`, `{`) accepted: tt-umd's descriptors nest two
/// deep; parse time grows with the square of the nesting.
pub const MAX_FLOW_NESTING: usize = 16;
/// NOC coordinates are 6 bits wide: no grid side is larger.
pub const MAX_GRID_SIDE: u16 = 64;
/// Characters of a value quoted in an error message.
const QUOTE_CHARS: usize = 40;

/// `s`, or its first characters and how long it is, for error messages.
pub(crate) fn quote(s: &str) -> String {
    match s.char_indices().nth(QUOTE_CHARS) {
        None => s.to_string(),
        Some((end, _)) => format!("{}… ({} bytes)", &s[..end], s.len()),
    }
}

/// A parser message cut to a readable length, keeping its end (where the line and column
/// are) when a long value is quoted in it.
fn cut_message(message: &str) -> String {
    const HEAD: usize = 120;
    const TAIL: usize = 60;
    if message.chars().count() <= HEAD + TAIL {
        return message.to_string();
    }
    let head: String = message.chars().take(HEAD).collect();
    let skip = message.chars().count() - TAIL;
    let tail: String = message.chars().skip(skip).collect();
    format!("{head} … {tail}")
}

/// Refuses text too large or nested too deeply before the YAML parser sees it; the line of
/// the offending bracket is named. Brackets in comments and quoted strings are not counted.
fn check_bounds(text: &str, origin: &str) -> Result<(), SocError> {
    let parse_error = |message: String| SocError::Parse { origin: origin.to_string(), message };
    if text.len() > MAX_DESCRIPTOR_BYTES {
        return Err(parse_error(format!(
            "it is {} bytes; a SoC descriptor is at most {MAX_DESCRIPTOR_BYTES} bytes",
            text.len()
        )));
    }
    let mut depth = 0usize;
    for (number, line) in text.lines().enumerate() {
        let mut quote_char: Option<char> = None;
        let mut previous = ' ';
        for c in line.chars() {
            match (quote_char, c) {
                (Some(q), c) if c == q => quote_char = None,
                (Some(_), _) => {}
                (None, '#') if previous.is_whitespace() => break,
                // A quote opens a quoted scalar only where a token starts (`it's` is plain).
                (None, '"' | '\'') if previous.is_whitespace() || "[{,:".contains(previous) => {
                    quote_char = Some(c)
                }
                (None, '[' | '{') => {
                    depth += 1;
                    if depth > MAX_FLOW_NESTING {
                        return Err(parse_error(format!(
                            "brackets nest more than {MAX_FLOW_NESTING} deep at line {}",
                            number + 1
                        )));
                    }
                }
                (None, ']' | '}') => depth = depth.saturating_sub(1),
                _ => {}
            }
            previous = c;
        }
    }
    Ok(())
}

pub(crate) fn parse(text: &str, origin: &str) -> Result<SocDescriptor, SocError> {
    check_bounds(text, origin)?;
    let raw: RawDescriptor = serde_norway::from_str(text).map_err(|e| {
        // The parser names a mistyped key with its line and column.
        SocError::Parse { origin: origin.to_string(), message: cut_message(&e.to_string()) }
    })?;
    let ctx = Ctx { at: Locator::new(text), origin };
    let grid_raw = raw.grid.as_ref().ok_or_else(|| ctx.missing("grid", None))?;
    let grid = (
        grid_raw.x_size.ok_or_else(|| ctx.missing("x_size", Some("grid")))?,
        grid_raw.y_size.ok_or_else(|| ctx.missing("y_size", Some("grid")))?,
    );
    let arch_name = raw.arch_name.as_deref().ok_or_else(|| ctx.missing("arch_name", None))?;
    let dram = raw.dram.as_ref().ok_or_else(|| ctx.missing("dram", None))?;
    let functional =
        raw.functional_workers.as_ref().ok_or_else(|| ctx.missing("functional_workers", None))?;
    let worker_l1_size = raw.worker_l1_size.ok_or_else(|| ctx.missing("worker_l1_size", None))?;
    let dram_bank_size = raw.dram_bank_size.ok_or_else(|| ctx.missing("dram_bank_size", None))?;
    let arch: Arch = arch_name.parse().map_err(|_| {
        ctx.invalid(
            "arch_name",
            ctx.at.key_line("arch_name"),
            format!("`{}` is not supported; use WORMHOLE_B0 or BLACKHOLE", quote(arch_name)),
        )
    })?;
    if grid.0 == 0 || grid.1 == 0 {
        return Err(ctx.invalid(
            "grid",
            ctx.at.key_line("grid"),
            "grid sizes must be non-zero".into(),
        ));
    }
    // Checked before anything is sized by the grid.
    if grid.0 > MAX_GRID_SIDE || grid.1 > MAX_GRID_SIDE {
        return Err(ctx.invalid(
            "grid",
            ctx.at.key_line("grid"),
            format!(
                "{}x{} is larger than any chip: NOC coordinates are 6 bits, so each side is at most {MAX_GRID_SIDE}",
                grid.0, grid.1
            ),
        ));
    }
    for (key, table, size) in [
        ("noc0_x_to_noc1_x", &raw.noc0_x_to_noc1_x, grid.0),
        ("noc0_y_to_noc1_y", &raw.noc0_y_to_noc1_y, grid.1),
    ] {
        // We derive NOC1 as the mirror image (tt-umd's tables for both chips are exactly that),
        // so a table that says otherwise is refused rather than silently ignored.
        let mirror =
            table.iter().enumerate().all(|(i, &v)| usize::from(v) + i + 1 == usize::from(size));
        if !table.is_empty() && (table.len() != usize::from(size) || !mirror) {
            return Err(ctx.invalid(
                key,
                ctx.at.key_line(key),
                format!("must list {size} entries mirroring the grid ({}, ..., 0)", size - 1),
            ));
        }
    }

    let mut kinds = vec![CoreKind::Empty; usize::from(grid.0) * usize::from(grid.1)];
    let mut place = |key: &str, cores: &[NocCoord], kind: CoreKind| -> Result<(), SocError> {
        for (i, c) in cores.iter().enumerate() {
            let slot = &mut kinds[usize::from(c.y) * usize::from(grid.0) + usize::from(c.x)];
            // A router-only listing of a core listed elsewhere adds nothing (see the module
            // doc): the other listing's kind wins, whichever comes first.
            if kind == CoreKind::RouterOnly && *slot != CoreKind::Empty {
                continue;
            }
            if *slot != CoreKind::Empty && *slot != CoreKind::RouterOnly {
                return Err(ctx.invalid(
                    key,
                    ctx.at.entry_line(key, i),
                    format!(
                        "{c} is listed as {kind} but is already {}; list each core once",
                        *slot
                    ),
                ));
            }
            *slot = kind;
        }
        Ok(())
    };
    let arc = ctx.coords("arc", &raw.arc, grid)?;
    let pcie = ctx.coords("pcie", &raw.pcie, grid)?;
    let ethernet = ctx.coords("eth", &raw.eth, grid)?;
    let workers = ctx.coords("functional_workers", functional, grid)?;
    let harvested = ctx.coords("harvested_workers", &raw.harvested_workers, grid)?;
    let routers = ctx.coords("router_only", &raw.router_only, grid)?;
    // Security and L2CPU tiles (Blackhole) hold nothing the runtime addresses: router-only to us.
    let security = ctx.coords("security", &raw.security, grid)?;
    let l2cpu = ctx.coords("l2cpu", &raw.l2cpu, grid)?;
    place("arc", &arc, CoreKind::Arc)?;
    place("pcie", &pcie, CoreKind::Pcie)?;
    place("eth", &ethernet, CoreKind::Ethernet)?;
    place("functional_workers", &workers, CoreKind::Tensix)?;
    place("harvested_workers", &harvested, CoreKind::HarvestedTensix)?;
    place("router_only", &routers, CoreKind::RouterOnly)?;
    place("security", &security, CoreKind::RouterOnly)?;
    place("l2cpu", &l2cpu, CoreKind::RouterOnly)?;

    if workers.is_empty() {
        return Err(ctx.invalid(
            "functional_workers",
            ctx.at.key_line("functional_workers"),
            "no Tensix workers listed".into(),
        ));
    }
    if dram_bank_size == 0 || worker_l1_size == 0 {
        let key = if dram_bank_size == 0 { "dram_bank_size" } else { "worker_l1_size" };
        return Err(ctx.invalid(key, ctx.at.key_line(key), "must be non-zero".into()));
    }
    let (channels, views) = dram_layout(&ctx, &raw, dram, dram_bank_size, grid, &mut place)?;
    // Every total the runtime computes from these sizes must fit in u64 (found by fuzzing:
    // `dram_size` overflowed on a flow-style descriptor): all channels together, and each L1
    // size times the cores that have it.
    let too_big = |key: &str, what: String| {
        ctx.invalid(
            key,
            ctx.at.key_line(key),
            format!("{what} add up to more than 2^64 bytes; give sizes a chip can have"),
        )
    };
    if channels.iter().try_fold(0u64, |total, c| total.checked_add(c.size)).is_none() {
        let key = if raw.dram_views.is_some() { "dram_view_size" } else { "dram_bank_size" };
        return Err(too_big(key, format!("the {} DRAM channels", channels.len())));
    }
    let tensix = (workers.len() + harvested.len()) as u64;
    if worker_l1_size.checked_mul(tensix).is_none() {
        return Err(too_big("worker_l1_size", format!("the L1 of {tensix} Tensix cores")));
    }
    if raw.eth_l1_size.checked_mul(ethernet.len() as u64).is_none() {
        let what = format!("the L1 of {} Ethernet cores", ethernet.len());
        return Err(too_big("eth_l1_size", what));
    }

    let mut soc = SocDescriptor {
        arch,
        grid_x: grid.0,
        grid_y: grid.1,
        kinds,
        all_dram_channels: channels,
        all_dram_views: views,
        dram_channels: Vec::new(),
        dram_channel_ids: Vec::new(),
        dram_banks: Vec::new(),
        all_ethernet: ethernet,
        ethernet: Vec::new(),
        all_pcie: pcie,
        pcie: Vec::new(),
        arc,
        worker_l1_size,
        eth_l1_size: raw.eth_l1_size,
        harvesting: HarvestingMasks::default(),
        tensix_lines: Vec::new(),
        noc_translation: raw.features.noc.translation_id_enabled.unwrap_or(true),
        worker_xs: Vec::new(),
        worker_ys: Vec::new(),
        translation: Default::default(),
    };
    // The harvestable lines and the Tensix mask a `harvested_workers` list implies.
    let line_of = |c: &NocCoord| match arch.harvest_axis() {
        HarvestAxis::Rows => c.y,
        HarvestAxis::Columns => c.x,
    };
    let mut lines: Vec<u16> = workers.iter().chain(&harvested).map(line_of).collect();
    lines.sort_unstable();
    lines.dedup();
    soc.harvesting.tensix = harvested
        .iter()
        .filter_map(|c| lines.iter().position(|&l| l == line_of(c)))
        .filter(|&bit| bit < 32)
        .fold(0, |mask, bit| mask | (1 << bit));
    soc.tensix_lines = lines;
    soc.select_usable();
    Ok(soc.with_axes())
}

type Place<'p> = dyn FnMut(&str, &[NocCoord], CoreKind) -> Result<(), SocError> + 'p;

/// The DRAM channels (one per distinct `dram` entry) and bank views. Views come from tt-metal's
/// `dram_views` + `dram_view_size` when present; otherwise each `dram` entry is one view at
/// its `dram_address_offsets` offset (the older tt-metal format lists a channel once per view).
fn dram_layout(
    ctx: &Ctx<'_>,
    raw: &RawDescriptor,
    dram: &[Vec<String>],
    dram_bank_size: u64,
    grid: (u16, u16),
    place: &mut Place<'_>,
) -> Result<(Vec<DramChannel>, Vec<DramBank>), SocError> {
    if dram.is_empty() {
        return Err(ctx.invalid(
            "dram",
            ctx.at.key_line("dram"),
            "at least one DRAM channel is needed".into(),
        ));
    }
    let mut channels: Vec<DramChannel> = Vec::new();
    let mut entry_channel = Vec::with_capacity(dram.len());
    let mut flat = 0;
    for (i, entry) in dram.iter().enumerate() {
        if entry.is_empty() {
            return Err(ctx.invalid(
                "dram",
                ctx.at.key_line("dram"),
                format!("channel entry {i} has no endpoints"),
            ));
        }
        let endpoints: Vec<NocCoord> = entry
            .iter()
            .enumerate()
            .map(|(j, s)| ctx.coord("dram", flat + j, s, grid))
            .collect::<Result<_, _>>()?;
        let channel = match channels.iter().position(|c| c.endpoints == endpoints) {
            Some(ch) => ch,
            None => {
                place("dram", &endpoints, CoreKind::Dram)?;
                channels.push(DramChannel { endpoints, size: 0 });
                channels.len() - 1
            }
        };
        entry_channel.push(channel);
        flat += entry.len();
    }
    let mut views: Vec<DramBank> = Vec::new();
    let (views_key, view_size) = match (&raw.dram_views, raw.dram_view_size) {
        (Some(list), Some(size)) => {
            if size == 0 {
                return Err(ctx.invalid(
                    "dram_view_size",
                    ctx.at.key_line("dram_view_size"),
                    "must be non-zero".into(),
                ));
            }
            for (i, view) in list.iter().enumerate() {
                let line = ctx.at.key_line("dram_views");
                let channel = view.channel.ok_or_else(|| {
                    ctx.invalid("dram_views", line, format!("view {i} has no `channel`; add it"))
                })?;
                let Some(ch) = channels.get(channel) else {
                    return Err(ctx.invalid(
                        "dram_views",
                        line,
                        format!(
                            "view {i} names channel {channel}, but `dram` lists {}",
                            channels.len()
                        ),
                    ));
                };
                let ports = ch.endpoints.len();
                let (eth, worker) = (view.eth_endpoint.as_slice(), view.worker_endpoint.as_slice());
                if eth.iter().chain(worker).any(|&p| p >= ports) {
                    return Err(ctx.invalid(
                        "dram_views",
                        line,
                        format!("view {i} names an endpoint beyond channel {channel}'s {ports}"),
                    ));
                }
                // The NOC0 entry of `worker_endpoint` (checked against the channel above).
                let endpoint = worker.first().copied().unwrap_or(0);
                views.push(DramBank { channel, offset: view.address_offset, size, endpoint });
            }
            ("dram_views", size)
        }
        (Some(_), None) => return Err(ctx.missing("dram_view_size", None)),
        (None, _) => {
            for (i, &channel) in entry_channel.iter().enumerate() {
                let offset = raw.dram_address_offsets.get(i).copied().unwrap_or(0);
                views.push(DramBank { channel, offset, size: dram_bank_size, endpoint: 0 });
            }
            ("dram_address_offsets", dram_bank_size)
        }
    };
    // A channel is as large as `dram_bank_size` and every view inside it.
    for ch in channels.iter_mut() {
        ch.size = dram_bank_size;
    }
    for (i, view) in views.iter().enumerate() {
        let end = view.offset.checked_add(view_size).ok_or_else(|| {
            ctx.invalid(views_key, ctx.at.key_line(views_key), format!("view {i} overflows"))
        })?;
        let ch = &mut channels[view.channel];
        ch.size = ch.size.max(end);
        if views[..i]
            .iter()
            .any(|b| b.channel == view.channel && b.offset < end && view.offset < b.offset + b.size)
        {
            return Err(ctx.invalid(
                views_key,
                ctx.at.key_line(views_key),
                format!("view {i} overlaps another view of channel {}", view.channel),
            ));
        }
    }
    Ok((channels, views))
}

#[cfg(test)]
#[path = "yaml_tests.rs"]
mod tests;
