use std::collections::BTreeSet;
use std::path::Path;

use crate::{Arch, ChipUid, CoreKind, HarvestingMasks, LogicalCoord, NocCoord, SocError};

/// Top 16 bits of every simulated chip's unique id ("SQ").
const SIM_UID_TAG: u64 = 0x5153;

/// One DRAM channel: the NOC endpoints that reach it and its size in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DramChannel {
    /// NOC0 coordinates of the channel's endpoints; any of them reaches the whole channel.
    pub endpoints: Vec<NocCoord>,
    /// Bytes of DRAM behind the channel.
    pub size: u64,
}

/// A DRAM bank as the allocator sees it: a range of one channel (tt-metal's `dram_views`:
/// two 1 GiB views per Wormhole channel, one view per Blackhole channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DramBank {
    /// Index into [`SocDescriptor::dram_channels`].
    pub channel: usize,
    /// Offset of the bank's first byte within its channel.
    pub offset: u64,
    /// Bytes in the bank.
    pub size: u64,
    /// Index into the channel's endpoints of the one kernels and host windows use for this
    /// bank: the NOC0 entry of tt-metal's `worker_endpoint` (0 when the descriptor names none).
    /// tt-metal blackhole_140_arch.yaml: "Endpoint assignment for noc0 needs to be the same
    /// endpoint used by CMFW to read DRAM telemetry to avoid SYS-1419".
    pub endpoint: usize,
}

/// Everything the runtime knows about one chip's layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocDescriptor {
    pub(crate) arch: Arch,
    pub(crate) grid_x: u16,
    pub(crate) grid_y: u16,
    /// Kind of every grid location, row-major (`y * grid_x + x`), harvesting applied.
    pub(crate) kinds: Vec<CoreKind>,
    /// Every DRAM channel in descriptor (NOC0 bank) order, harvested ones included: bit i of
    /// a DRAM harvesting mask names entry i.
    pub(crate) all_dram_channels: Vec<DramChannel>,
    /// Every bank view; `channel` indexes `all_dram_channels`.
    pub(crate) all_dram_views: Vec<DramBank>,
    /// Usable channels in logical order and the index of each in `all_dram_channels`.
    pub(crate) dram_channels: Vec<DramChannel>,
    pub(crate) dram_channel_ids: Vec<usize>,
    /// Usable banks; `channel` indexes `dram_channels`.
    pub(crate) dram_banks: Vec<DramBank>,
    /// Every Ethernet core in channel order (bit i of an Ethernet mask names entry i).
    pub(crate) all_ethernet: Vec<NocCoord>,
    pub(crate) ethernet: Vec<NocCoord>,
    /// Every PCIe tile in descriptor order (bit i of a PCIe mask names entry i).
    pub(crate) all_pcie: Vec<NocCoord>,
    pub(crate) pcie: Vec<NocCoord>,
    pub(crate) arc: Vec<NocCoord>,
    pub(crate) worker_l1_size: u64,
    pub(crate) eth_l1_size: u64,
    pub(crate) harvesting: HarvestingMasks,
    /// NOC0 rows (Wormhole) or columns (Blackhole) holding Tensix cores, harvested or not,
    /// ascending: bit i of a Tensix harvesting mask names entry i.
    pub(crate) tensix_lines: Vec<u16>,
    /// Whether the chip's NOC translation is on (tt-metal `features.noc.translation_id_enabled`;
    /// every retail board in tt-umd's cluster descriptor examples has `noc_translation: true`).
    pub(crate) noc_translation: bool,
    /// NOC0 columns and rows holding usable Tensix cores, ascending: the logical grid axes.
    /// Derived from `kinds` by [`SocDescriptor::with_axes`] whenever `kinds` changes.
    pub(crate) worker_xs: Vec<u16>,
    pub(crate) worker_ys: Vec<u16>,
    /// NOC0 <-> translated coordinates for the current harvesting; rebuilt by `with_axes`.
    pub(crate) translation: crate::translate::Translation,
}

impl SocDescriptor {
    /// Reads and parses a SoC descriptor file in tt-umd's YAML format. Only a regular file
    /// of at most [`crate::MAX_DESCRIPTOR_BYTES`] is read: the open does not block (a FIFO
    /// or a device would otherwise hang the caller) and its type is checked before reading.
    pub fn from_yaml_file(path: &Path) -> Result<Self, SocError> {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        let read_error = |source| SocError::Read { path: path.to_path_buf(), source };
        let refused =
            |why: String| read_error(std::io::Error::new(std::io::ErrorKind::InvalidInput, why));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(read_error)?;
        let meta = file.metadata().map_err(read_error)?;
        if !meta.is_file() {
            return Err(refused("it is not a regular file (a FIFO, device or directory)".into()));
        }
        let limit = crate::MAX_DESCRIPTOR_BYTES as u64;
        if meta.len() > limit {
            return Err(refused(format!(
                "it is {} bytes; a SoC descriptor is at most {limit} bytes",
                meta.len()
            )));
        }
        let mut bytes = Vec::new();
        file.take(limit + 1).read_to_end(&mut bytes).map_err(read_error)?;
        if bytes.len() as u64 > limit {
            return Err(refused(format!("it grew past {limit} bytes while being read")));
        }
        let text = String::from_utf8(bytes).map_err(|_| refused("it is not UTF-8 text".into()))?;
        Self::from_yaml(&text, &path.display().to_string())
    }

    /// Parses tt-umd's YAML SoC descriptor format; `origin` names the text in errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, SocError> {
        crate::yaml::parse(text, origin)
    }

    /// The chip's architecture.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The NOC grid size as (columns, rows).
    pub fn grid_size(&self) -> (u16, u16) {
        (self.grid_x, self.grid_y)
    }

    /// What sits at `core`, or `None` when it is outside the grid.
    pub fn kind_at(&self, core: NocCoord) -> Option<CoreKind> {
        if core.x >= self.grid_x || core.y >= self.grid_y {
            return None;
        }
        self.kinds
            .get(usize::from(core.y) * usize::from(self.grid_x) + usize::from(core.x))
            .copied()
    }

    fn cores_of(&self, kind: CoreKind) -> impl Iterator<Item = NocCoord> + '_ {
        let gx = self.grid_x;
        self.kinds.iter().enumerate().filter(move |(_, k)| **k == kind).map(move |(i, _)| {
            // Grid indices fit in u16 coordinates: the grid is at most u16::MAX per side.
            NocCoord::new((i % usize::from(gx)) as u16, (i / usize::from(gx)) as u16)
        })
    }

    /// Usable Tensix cores in NOC0 coordinates, row-major (by row, then column).
    pub fn tensix_cores(&self) -> Vec<NocCoord> {
        self.cores_of(CoreKind::Tensix).collect()
    }

    /// Tensix cores removed by harvesting.
    pub fn harvested_cores(&self) -> Vec<NocCoord> {
        self.cores_of(CoreKind::HarvestedTensix).collect()
    }

    /// Usable Ethernet cores in channel order (tt-umd's logical Ethernet order).
    pub fn ethernet_cores(&self) -> &[NocCoord] {
        &self.ethernet
    }

    /// Every Ethernet core in channel order, harvested ones included.
    pub fn all_ethernet_cores(&self) -> &[NocCoord] {
        &self.all_ethernet
    }

    /// Usable PCIe tiles.
    pub fn pcie_cores(&self) -> &[NocCoord] {
        &self.pcie
    }

    /// Every PCIe tile in descriptor order, harvested ones included.
    pub fn all_pcie_cores(&self) -> &[NocCoord] {
        &self.all_pcie
    }

    /// ARC cores.
    pub fn arc_cores(&self) -> &[NocCoord] {
        &self.arc
    }

    /// Router-only tiles.
    pub fn router_only_cores(&self) -> Vec<NocCoord> {
        self.cores_of(CoreKind::RouterOnly).collect()
    }

    /// Usable DRAM channels in logical order (descriptor order without harvested channels).
    pub fn dram_channels(&self) -> &[DramChannel] {
        &self.dram_channels
    }

    /// Every DRAM channel in descriptor order, harvested ones included.
    pub fn all_dram_channels(&self) -> &[DramChannel] {
        &self.all_dram_channels
    }

    /// Index in [`SocDescriptor::all_dram_channels`] of usable channel `channel`.
    pub fn dram_channel_noc0_index(&self, channel: usize) -> Option<usize> {
        self.dram_channel_ids.get(channel).copied()
    }

    /// DRAM banks as the allocator sees them, in tt-metal bank order.
    pub fn dram_banks(&self) -> &[DramBank] {
        &self.dram_banks
    }

    /// The NOC0 endpoint kernels and host windows use to reach `bank` (a bank of
    /// [`Self::dram_banks`]): its channel's `worker_endpoint` entry.
    pub fn dram_bank_endpoint(&self, bank: &DramBank) -> Option<NocCoord> {
        let channel = self.dram_channels.get(bank.channel)?;
        channel.endpoints.get(bank.endpoint).or(channel.endpoints.first()).copied()
    }

    /// The NOC0 endpoint used for whole-channel access to usable channel `channel`: that of the
    /// channel's first bank, or its first endpoint when no bank lies in it.
    pub fn dram_channel_endpoint(&self, channel: usize) -> Option<NocCoord> {
        match self.dram_banks.iter().find(|b| b.channel == channel) {
            Some(bank) => self.dram_bank_endpoint(bank),
            None => self.dram_channels.get(channel)?.endpoints.first().copied(),
        }
    }

    /// DRAM bytes of the usable banks: what the allocator can hand out, the chip's DRAM
    /// capacity in the ledger. A channel may hold more (a Blackhole channel holds 4 GiB, of which
    /// tt-metal's bank covers 4 GiB - 16 MiB). Banks lie inside their channels without overlap
    /// and the parser refuses channels whose total overflows u64, so the saturation never shows;
    /// it keeps the sum panic-free.
    pub fn dram_size(&self) -> u64 {
        self.dram_banks.iter().fold(0u64, |total, b| total.saturating_add(b.size))
    }

    /// The channel that `core` is an endpoint of, if it is a DRAM core.
    pub fn dram_channel_of(&self, core: NocCoord) -> Option<usize> {
        self.dram_channels.iter().position(|c| c.endpoints.contains(&core))
    }

    /// L1 bytes of a Tensix worker core.
    pub fn worker_l1_size(&self) -> u64 {
        self.worker_l1_size
    }

    /// L1 bytes of an Ethernet core.
    pub fn eth_l1_size(&self) -> u64 {
        self.eth_l1_size
    }

    /// L1 bytes of the core at `core`: `None` for cores without L1 the host may address
    /// (DRAM, PCIe, ARC, router-only, harvested) and for coordinates outside the grid.
    pub fn l1_size_at(&self, core: NocCoord) -> Option<u64> {
        match self.kind_at(core)? {
            CoreKind::Tensix => Some(self.worker_l1_size),
            CoreKind::Ethernet => Some(self.eth_l1_size),
            _ => None,
        }
    }

    /// The Tensix harvesting mask in tt-umd's convention: bit i removes the i-th Tensix row
    /// (Wormhole) or column (Blackhole) in NOC0 order (0 when none).
    pub fn harvesting_mask(&self) -> u32 {
        self.harvesting.tensix
    }

    /// Every harvesting mask applied (Tensix, DRAM, Ethernet, PCIe), in tt-umd's convention.
    pub fn harvesting(&self) -> HarvestingMasks {
        self.harvesting
    }

    /// NOC0 rows (Wormhole) or columns (Blackhole) that hold Tensix cores, ascending: bit i of a
    /// Tensix harvesting mask names entry i (tt-umd `T6_Y_LOCATIONS` / `T6_X_LOCATIONS`).
    pub fn tensix_harvest_lines(&self) -> &[u16] {
        &self.tensix_lines
    }

    /// Whether NOC translation is on, so that TLBs and kernels address cores in translated
    /// coordinates.
    pub fn noc_translation(&self) -> bool {
        self.noc_translation
    }

    /// A copy with NOC translation switched on or off (a card reports it in its NIU config).
    pub fn with_noc_translation(&self, on: bool) -> SocDescriptor {
        SocDescriptor { noc_translation: on, ..self.clone() }
    }

    /// Recomputes the logical grid axes from the core kinds.
    pub(crate) fn with_axes(mut self) -> Self {
        let cores = self.tensix_cores();
        let xs: BTreeSet<u16> = cores.iter().map(|c| c.x).collect();
        let ys: BTreeSet<u16> = cores.iter().map(|c| c.y).collect();
        self.worker_xs = xs.into_iter().collect();
        self.worker_ys = ys.into_iter().collect();
        self.translation = self.build_translation();
        self
    }

    /// The usable worker grid as (columns, rows).
    pub fn worker_grid_size(&self) -> (u16, u16) {
        // At most grid_x columns and grid_y rows, both u16.
        (self.worker_xs.len() as u16, self.worker_ys.len() as u16)
    }

    /// NOC0 coordinate of a logical worker coordinate, if that worker exists.
    pub fn logical_to_noc(&self, logical: LogicalCoord) -> Option<NocCoord> {
        let noc = NocCoord::new(
            *self.worker_xs.get(usize::from(logical.x))?,
            *self.worker_ys.get(usize::from(logical.y))?,
        );
        (self.kind_at(noc) == Some(CoreKind::Tensix)).then_some(noc)
    }

    /// Logical coordinate of a usable Tensix core given in NOC0 coordinates.
    pub fn noc_to_logical(&self, noc: NocCoord) -> Option<LogicalCoord> {
        if self.kind_at(noc) != Some(CoreKind::Tensix) {
            return None;
        }
        let x = self.worker_xs.iter().position(|&v| v == noc.x)?;
        let y = self.worker_ys.iter().position(|&v| v == noc.y)?;
        Some(LogicalCoord::new(x as u16, y as u16))
    }

    /// A simulated chip's unique id: the architecture in the tag byte so that a Wormhole and
    /// a Blackhole never share an id, and the chip file's own `instance` number (drawn when
    /// the file is made) below, so that two files are two chips.
    pub fn sim_chip_uid(arch: Arch, instance: u32) -> ChipUid {
        let tag: u64 = match arch {
            Arch::WormholeB0 => 0x57,
            Arch::Blackhole => 0x42,
        };
        ChipUid((SIM_UID_TAG << 48) | (tag << 40) | u64::from(instance))
    }

    /// The unique id of chip `chip` of simulated board `preset` whose file drew `instance`:
    /// the board in the tag byte, the chip index above the instance number.
    pub fn sim_board_chip_uid(preset: crate::BoardPreset, instance: u32, chip: u8) -> ChipUid {
        let tag: u64 = match preset {
            crate::BoardPreset::N150 => 0x61,
            crate::BoardPreset::N300 => 0x62,
            crate::BoardPreset::P100a => 0x63,
            crate::BoardPreset::P150a => 0x64,
        };
        ChipUid((SIM_UID_TAG << 48) | (tag << 40) | (u64::from(chip) << 32) | u64::from(instance))
    }

    /// True for ids made by [`SocDescriptor::sim_chip_uid`] or
    /// [`SocDescriptor::sim_board_chip_uid`].
    pub fn is_sim_chip_uid(uid: ChipUid) -> bool {
        uid.0 >> 48 == SIM_UID_TAG
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_and_noc_coordinates_invert() {
        for arch in Arch::ALL {
            let soc = SocDescriptor::builtin(arch);
            for core in soc.tensix_cores() {
                let logical = soc.noc_to_logical(core).unwrap();
                assert_eq!(soc.logical_to_noc(logical), Some(core));
            }
            assert_eq!(soc.noc_to_logical(soc.dram_channels()[0].endpoints[0]), None);
        }
    }

    #[test]
    fn out_of_grid_has_no_kind_or_l1() {
        let wh = SocDescriptor::builtin(Arch::WormholeB0);
        assert_eq!(wh.kind_at(NocCoord::new(10, 0)), None);
        assert_eq!(wh.kind_at(NocCoord::new(0, 12)), None);
        assert_eq!(wh.l1_size_at(NocCoord::new(99, 99)), None);
        assert_eq!(wh.l1_size_at(NocCoord::new(0, 0)), None, "DRAM core has no L1");
        assert_eq!(wh.l1_size_at(NocCoord::new(1, 1)), Some(1_499_136));
        let bh = SocDescriptor::builtin(Arch::Blackhole);
        assert_eq!(bh.l1_size_at(NocCoord::new(1, 2)), Some(1_572_864));
        assert_eq!(wh.l1_size_at(NocCoord::new(9, 0)), Some(262_144));
    }

    #[test]
    fn sim_uids_differ_by_arch_and_id() {
        let a = SocDescriptor::sim_chip_uid(Arch::WormholeB0, 0);
        let b = SocDescriptor::sim_chip_uid(Arch::Blackhole, 0);
        let c = SocDescriptor::sim_chip_uid(Arch::WormholeB0, 1);
        assert!(a != b && a != c && b != c);
        let n300 = |chip| SocDescriptor::sim_board_chip_uid(crate::BoardPreset::N300, 0, chip);
        assert!(n300(0) != n300(1) && n300(0) != a);
        assert!(SocDescriptor::is_sim_chip_uid(n300(1)));
        assert!(
            SocDescriptor::is_sim_chip_uid(a) && !SocDescriptor::is_sim_chip_uid(ChipUid(0x0300))
        );
    }
}
