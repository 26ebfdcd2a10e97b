//! `ttctl devices` and `ttctl sim`.

use anyhow::{bail, Context, Result};
use serde::Serialize;
use tt_device::{Device, DeviceSpec, SimKind};
use tt_soc::{Arch, HarvestingMasks, SocDescriptor};

use crate::mem::human;

/// One row of the device list.
struct DeviceRow {
    spec: String,
    backend: &'static str,
    arch: Arch,
    /// The board the chip belongs to (`n150`, `p150`, ...), when known.
    board: Option<String>,
    chip_uid: String,
    grid: (u16, u16),
    harvesting: HarvestingMasks,
    tensix: usize,
    dram_bytes: u64,
    l1_bytes_per_core: u64,
    state: String,
}

impl DeviceRow {
    fn describe(
        spec: String,
        backend: &'static str,
        soc: &SocDescriptor,
        board: Option<String>,
        chip_uid: String,
        state: String,
    ) -> Self {
        DeviceRow {
            spec,
            backend,
            arch: soc.arch(),
            board,
            chip_uid,
            grid: soc.grid_size(),
            harvesting: soc.harvesting(),
            tensix: soc.tensix_cores().len(),
            dram_bytes: soc.dram_size(),
            l1_bytes_per_core: soc.worker_l1_size(),
            state,
        }
    }

    /// L1 bytes over every usable Tensix core.
    fn l1_bytes(&self) -> u64 {
        self.tensix as u64 * self.l1_bytes_per_core
    }
}

/// `ttctl devices --json` (schema_version 1).
#[derive(Serialize)]
struct DevicesDocument {
    schema_version: u32,
    devices: Vec<DeviceJson>,
}

/// Grid size in cores.
#[derive(Serialize)]
struct Grid {
    x: u16,
    y: u16,
}

/// Harvesting masks in tt-umd's convention.
#[derive(Serialize)]
struct Harvesting {
    tensix: u32,
    dram: u32,
    eth: u32,
    pcie: u32,
}

/// Capacity in bytes.
#[derive(Serialize)]
struct Capacity {
    dram: u64,
    l1: u64,
    l1_per_core: u64,
}

/// One device of `devices --json`.
#[derive(Serialize)]
struct DeviceJson {
    spec: String,
    backend: &'static str,
    arch: &'static str,
    board: Option<String>,
    chip_uid: String,
    grid: Grid,
    harvesting: Harvesting,
    tensix_cores: usize,
    capacity: Capacity,
    state: String,
}

impl From<&DeviceRow> for DeviceJson {
    fn from(r: &DeviceRow) -> DeviceJson {
        DeviceJson {
            spec: r.spec.clone(),
            backend: r.backend,
            arch: r.arch.name(),
            board: r.board.clone(),
            chip_uid: r.chip_uid.clone(),
            grid: Grid { x: r.grid.0, y: r.grid.1 },
            harvesting: Harvesting {
                tensix: r.harvesting.tensix,
                dram: r.harvesting.dram,
                eth: r.harvesting.eth,
                pcie: r.harvesting.pcie,
            },
            tensix_cores: r.tensix,
            capacity: Capacity {
                dram: r.dram_bytes,
                l1: r.l1_bytes(),
                l1_per_core: r.l1_bytes_per_core,
            },
            state: r.state.clone(),
        }
    }
}

fn rows() -> Result<Vec<DeviceRow>> {
    let mut rows = Vec::new();
    for path in tt_kmd::enumerate() {
        let spec = path.display().to_string();
        match Device::open(&spec) {
            Ok(dev) => {
                let board = dev.identity().board_type.map(|b| b.name().to_string());
                let uid = dev.chip_uid().to_string();
                rows.push(DeviceRow::describe(
                    spec,
                    dev.backend().name(),
                    dev.soc(),
                    board,
                    uid,
                    "ok".into(),
                ))
            }
            Err(e) => tracing::warn!(device = %spec, error = %e, "cannot query card"),
        }
    }
    // Which holders count their chip in a ledger (a monitor's read; none when unreadable).
    let ledger = crate::mem::read_all().ok();
    let dir = tt_sim::default_sim_dir();
    for chip in tt_sim::list_chips(&dir).with_context(|| format!("listing {}", dir.display()))? {
        // Described from the file alone: monitors never open (and so never take) a device. A
        // board chip's harvesting is the preset's, which its firmware reports when opened.
        let soc = chip.kind.soc()?;
        let board = match chip.kind {
            SimKind::Bare(_) => None,
            SimKind::Board { preset, .. } => Some(preset.name().to_string()),
        };
        let state = match chip.holder.and_then(|pid| u32::try_from(pid).ok()) {
            Some(pid) => {
                let tracked = ledger
                    .as_ref()
                    .is_some_and(|l| crate::holders::is_tracked(l, pid, chip.chip_uid));
                if tracked {
                    format!("in use by pid {pid}")
                } else {
                    let command = crate::holders::command_of(pid);
                    format!("in use by pid {pid} ({command}), untracked")
                }
            }
            None => "free".into(),
        };
        let spec = DeviceSpec::Sim { kind: chip.kind, id: chip.sim_id }.to_string();
        rows.push(DeviceRow::describe(spec, "sim", &soc, board, chip.chip_uid.to_string(), state));
    }
    Ok(rows)
}

/// `ttctl devices [--json]`.
pub fn devices(json_out: bool) -> Result<()> {
    let rows = rows()?;
    if json_out {
        let document = DevicesDocument {
            schema_version: 1,
            devices: rows.iter().map(DeviceJson::from).collect(),
        };
        outln!("{}", serde_json::to_string_pretty(&document)?)?;
        return Ok(());
    }
    if rows.is_empty() {
        outln!(
            "no devices: no card under {} and no simulated chip in {}",
            tt_kmd::DEV_DIR,
            tt_sim::default_sim_dir().display()
        )?;
        outln!("`ttctl run programs` opens the default device (a simulated wormhole_b0 without a card)")?;
        return Ok(());
    }
    let mut table = crate::table::with_header(&[
        "DEVICE",
        "BACKEND",
        "ARCH",
        "BOARD",
        "CHIP UID",
        "GRID",
        "TENSIX",
        "HARVESTING (tt-umd)",
        "DRAM",
        "L1",
        "STATE",
    ]);
    for r in rows {
        let h = r.harvesting;
        table.add_row(vec![
            r.spec.clone(),
            r.backend.to_owned(),
            r.arch.name().to_owned(),
            r.board.clone().unwrap_or_else(|| "-".to_owned()),
            r.chip_uid.clone(),
            format!("{}x{}", r.grid.0, r.grid.1),
            r.tensix.to_string(),
            format!("t{} d{} e{} p{}", h.tensix, h.dram, h.eth, h.pcie),
            human(r.dram_bytes),
            human(r.l1_bytes()),
            r.state.clone(),
        ]);
    }
    outln!("{table}")?;
    Ok(())
}

/// `ttctl sim rm <spec>`.
pub fn sim_rm(spec: &str) -> Result<()> {
    let DeviceSpec::Sim { kind, id } = spec.parse::<DeviceSpec>()? else {
        bail!("`{spec}` is not a simulated chip; give sim:<arch|board>[:<id>]");
    };
    let path = tt_sim::remove_chip(&tt_sim::default_sim_dir(), kind, id)?;
    outln!("removed {}", path.display())?;
    Ok(())
}
