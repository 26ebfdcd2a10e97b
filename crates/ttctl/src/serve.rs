//! `ttctl serve`: an HTTP exporter of the ledger for Prometheus (`/metrics`) and for scripts
//! (`/api/v1/mem`, the `mem --json` document). It reads the ledger at each request; it never
//! opens a device and keeps no sampling thread.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use anyhow::{anyhow, Result};
use tiny_http::{Header, Method, Request, Response, Server};
use tt_soc::ChipUid;
use tt_track::{DeviceTotals, LedgerSnapshot};

use crate::mem::{read_all, Filter};
use crate::metrics;

/// The address `serve` listens on unless told otherwise: loopback only, so that pids and
/// command names are not published to the network unless the user names an address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";

/// Chips the exporter has seen held by a live process, so that a chip going idle reads 0
/// rather than vanishing (a gauge that vanishes cannot be seen returning to its baseline).
#[derive(Default)]
pub struct SeenDevices {
    devices: BTreeMap<ChipUid, DeviceTotals>,
}

impl SeenDevices {
    /// Remembers the chips of `snapshot` and returns the idle form of those seen before and
    /// held by no live process now.
    pub fn update(&mut self, snapshot: &LedgerSnapshot) -> Vec<DeviceTotals> {
        for dev in &snapshot.devices {
            self.devices.insert(dev.uid, dev.clone());
        }
        self.devices
            .values()
            .filter(|seen| snapshot.device(seen.uid).is_none())
            .map(metrics::idle)
            .collect()
    }
}

/// An answer: status, content type, body.
struct Answer {
    status: u16,
    content_type: &'static str,
    body: String,
}

impl Answer {
    fn ok(content_type: &'static str, body: String) -> Answer {
        Answer { status: 200, content_type, body }
    }

    fn text(status: u16, body: String) -> Answer {
        Answer { status, content_type: "text/plain; charset=utf-8", body }
    }
}

const INDEX: &str = "ttctl serve: Tenstorrent device memory from the tt-runtime ledger\n\
                     /metrics      Prometheus text format\n\
                     /api/v1/mem   the `ttctl mem --json` document (schema_version 2)\n";

/// The answer to `GET path` (a query string is ignored).
fn answer(method: &Method, url: &str, seen: &mut SeenDevices) -> Result<Answer> {
    let path = url.split('?').next().unwrap_or_default();
    Ok(match (method, path) {
        (Method::Get | Method::Head, "/metrics") => {
            let snapshot = read_all()?;
            let idle = seen.update(&snapshot);
            Answer::ok(metrics::CONTENT_TYPE, metrics::render(&snapshot, &idle)?)
        }
        (Method::Get | Method::Head, "/api/v1/mem") => {
            let snapshot = read_all()?;
            let document = crate::mem_json::to_json(&snapshot, &Filter::default());
            Answer::ok("application/json", serde_json::to_string_pretty(&document)? + "\n")
        }
        (Method::Get | Method::Head, "/") => Answer::text(200, INDEX.to_owned()),
        (Method::Get | Method::Head, _) => {
            Answer::text(404, format!("no page {path}; see /\n{INDEX}"))
        }
        _ => Answer::text(405, format!("{method} is not served; use GET\n")),
    })
}

fn respond(request: Request, seen: &mut SeenDevices) {
    let answer = answer(request.method(), request.url(), seen).unwrap_or_else(|e| {
        tracing::warn!("{} {}: {e:#}", request.method(), request.url());
        Answer::text(500, format!("ttctl serve: {e:#}\n"))
    });
    let mut response = Response::from_string(answer.body).with_status_code(answer.status);
    if let Ok(header) = Header::from_bytes("Content-Type", answer.content_type) {
        response = response.with_header(header);
    }
    // A scraper that hung up is not our error; the next scrape starts afresh.
    if let Err(e) = request.respond(response) {
        tracing::debug!("answering a request: {e}");
    }
}

/// `ttctl serve`: answers requests until killed.
pub fn serve(listen: SocketAddr) -> Result<()> {
    let server = Server::http(listen).map_err(|e| {
        anyhow!("cannot listen on {listen}: {e}; give another address with --listen")
    })?;
    let bound = server.server_addr().to_ip().unwrap_or(listen);
    if !bound.ip().is_loopback() {
        eprintln!(
            "ttctl serve: listening beyond loopback on {bound}: anyone who reaches it can read \
             the memory figures, pids and command names"
        );
    }
    // The address actually bound (port 0 picks one), for whoever started us.
    outln!("listening on http://{bound}/metrics and http://{bound}/api/v1/mem")?;
    let mut seen = SeenDevices::default();
    for request in server.incoming_requests() {
        respond(request, &mut seen);
    }
    Ok(())
}
