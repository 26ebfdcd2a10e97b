//! `ttctl devices` and `ttctl sim`.

use anyhow::{bail, Context, Result};
use serde_json::json;
use tt_device::{Device, DeviceSpec};
use tt_soc::{Arch, SocDescriptor};

/// One row of the device list.
struct DeviceRow {
    spec: String,
    backend: &'static str,
    arch: Arch,
    chip_uid: String,
    grid: (u16, u16),
    tensix: usize,
    state: String,
}

fn rows() -> Result<Vec<DeviceRow>> {
    let mut rows = Vec::new();
    for path in tt_kmd::enumerate() {
        let spec = path.display().to_string();
        match Device::open(&spec) {
            Ok(dev) => rows.push(DeviceRow {
                spec,
                backend: dev.backend().name(),
                arch: dev.arch(),
                chip_uid: dev.chip_uid().to_string(),
                grid: dev.soc().grid_size(),
                tensix: dev.soc().tensix_cores().len(),
                state: "ok".into(),
            }),
            Err(e) => tracing::warn!(device = %spec, error = %e, "cannot query card"),
        }
    }
    let dir = tt_sim::default_sim_dir();
    for chip in tt_sim::list_chips(&dir).with_context(|| format!("listing {}", dir.display()))? {
        // Described from the file alone: monitors never open (and so never take) a device.
        let soc = SocDescriptor::builtin(chip.arch);
        rows.push(DeviceRow {
            spec: DeviceSpec::Sim { kind: chip.kind, id: chip.sim_id }.to_string(),
            backend: "sim",
            arch: chip.arch,
            chip_uid: chip.chip_uid.to_string(),
            grid: soc.grid_size(),
            tensix: soc.tensix_cores().len(),
            state: match chip.holder {
                Some(pid) => format!("in use by pid {pid}"),
                None => "free".into(),
            },
        });
    }
    Ok(rows)
}

/// `ttctl devices [--json]`.
pub fn devices(json_out: bool) -> Result<()> {
    let rows = rows()?;
    if json_out {
        let list: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({
                    "spec": r.spec,
                    "backend": r.backend,
                    "arch": r.arch.name(),
                    "chip_uid": r.chip_uid,
                    "grid": {"x": r.grid.0, "y": r.grid.1},
                    "tensix_cores": r.tensix,
                    "state": r.state,
                })
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({"schema_version": 1, "devices": list}))?
        )?;
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
    outln!(
        "{:<22} {:<7} {:<12} {:<20} {:>6} {:>7}  STATE",
        "DEVICE",
        "BACKEND",
        "ARCH",
        "CHIP UID",
        "GRID",
        "TENSIX"
    )?;
    for r in rows {
        outln!(
            "{:<22} {:<7} {:<12} {:<20} {:>6} {:>7}  {}",
            r.spec,
            r.backend,
            r.arch.name(),
            r.chip_uid,
            format!("{}x{}", r.grid.0, r.grid.1),
            r.tensix,
            r.state
        )?;
    }
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
