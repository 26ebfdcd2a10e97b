//! `ttctl leaks`: what is still placed, per process, with owner and provenance.

use anyhow::{Context, Result};
use serde_json::json;

/// `ttctl leaks [--json]`.
pub fn leaks(json_out: bool) -> Result<()> {
    let dir = tt_track::default_ledger_dir();
    let snapshot = tt_track::read_ledger(&dir)
        .with_context(|| format!("reading the ledger in {}", dir.display()))?;
    if json_out {
        let processes: Vec<_> = snapshot
            .processes
            .iter()
            .map(|p| {
                let devices: Vec<_> = p
                    .devices
                    .iter()
                    .map(|d| {
                        let records: Vec<_> = d
                            .live_records
                            .iter()
                            .map(|r| {
                                json!({
                                    "id": r.id.get(),
                                    "kind": r.kind.name(),
                                    "bytes": r.bytes,
                                    "owner": r.owner,
                                    "provenance": r.provenance(),
                                })
                            })
                            .collect();
                        json!({
                            "chip_uid": d.uid.to_string(),
                            "arch": d.arch,
                            "live_records": records,
                            "live_records_not_listed": d.live_records_overflow,
                        })
                    })
                    .collect();
                json!({"pid": p.pid, "command": p.command, "devices": devices})
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({"schema_version": 1, "processes": processes}))?
        )?;
        return Ok(());
    }
    let mut any = false;
    for p in &snapshot.processes {
        for d in &p.devices {
            if d.live_records.is_empty() && d.live_records_overflow == 0 {
                continue;
            }
            any = true;
            outln!("pid {} {} on {} {}:", p.pid, p.command, d.uid, d.arch)?;
            for r in &d.live_records {
                outln!(
                    "  #{:<8} {:<9} {:>11}  {}  ({})",
                    r.id.get(),
                    r.kind.name(),
                    crate::mem::human(r.bytes),
                    r.owner,
                    r.provenance()
                )?;
            }
            if d.live_records_overflow > 0 {
                outln!(
                    "  ... and {} more placements not listed (live table full)",
                    d.live_records_overflow
                )?;
            }
        }
    }
    if !any {
        outln!("nothing is placed by any live process (ledger {})", dir.display())?;
    }
    Ok(())
}
