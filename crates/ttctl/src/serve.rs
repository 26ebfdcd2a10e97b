//! `ttctl serve`: an HTTP exporter of the ledger for Prometheus (`/metrics`) and for scripts
//! (`/api/v1/mem`, the `mem --json` document). It reads the ledger at each request; it never
//! opens a device and keeps no sampling thread. A few worker threads share the listening
//! socket, so one slow client does not hold up a scrape.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use parking_lot::Mutex;
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
                     /api/v1/mem   the `ttctl mem --json` document (schema_version 3); \
                     ?device=UID|SPEC and ?pid=PID filter it as `ttctl mem --device/--pid` do\n";

/// What `/api/v1/mem` accepts, for the messages that refuse a query.
const MEM_QUERY: &str = "/api/v1/mem takes device=UID|SPEC (a chip uid or a spec as `ttctl \
                         devices` prints it) and pid=PID (a live process, as `ttctl mem` lists \
                         them), each at most once";

/// The `mem --json` filter a query string asks for (`device=...&pid=...`, percent-encoded as
/// in any URL); a query that cannot be read is refused with a 400 that says why.
pub fn mem_filter(query: &str) -> Result<Filter, String> {
    let mut filter = Filter::default();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8()
                .map(|decoded| decoded.into_owned())
                .map_err(|_| format!("`{pair}` is not UTF-8 once decoded; {MEM_QUERY}"))
        };
        let (key, value) = (decode(key)?, decode(value)?);
        match key.as_str() {
            "device" if filter.device.is_some() => {
                return Err(format!("device is given twice; {MEM_QUERY}"))
            }
            "device" if value.trim().is_empty() => {
                return Err(format!("device is empty; {MEM_QUERY}"))
            }
            "device" => filter.device = Some(value),
            "pid" if filter.pid.is_some() => {
                return Err(format!("pid is given twice; {MEM_QUERY}"))
            }
            // The number clap accepts for `ttctl mem --pid`.
            "pid" => match value.parse::<u32>() {
                Ok(pid) => filter.pid = Some(pid),
                Err(_) => {
                    return Err(format!(
                        "pid `{value}` is not a process id (0 to 4294967295); {MEM_QUERY}"
                    ))
                }
            },
            _ => return Err(format!("unknown query parameter `{key}`; {MEM_QUERY}")),
        }
    }
    Ok(filter)
}

/// The answer to `GET url`.
fn answer(method: &Method, url: &str, seen: &Mutex<SeenDevices>) -> Result<Answer> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    Ok(match (method, path) {
        (Method::Get | Method::Head, "/metrics") => {
            let snapshot = read_all()?;
            // Held only to update what was seen: concurrent scrapes render in parallel.
            let idle = seen.lock().update(&snapshot);
            Answer::ok(metrics::CONTENT_TYPE, metrics::render(&snapshot, &idle)?)
        }
        (Method::Get | Method::Head, "/api/v1/mem") => {
            let filter = match mem_filter(query) {
                Ok(filter) => filter,
                Err(refused) => return Ok(Answer::text(400, refused + "\n")),
            };
            let snapshot = read_all()?;
            if let Err(missing) = filter.check(&snapshot) {
                return Ok(Answer::text(404, format!("{missing}\n")));
            }
            let document = crate::mem_json::to_json(&snapshot, &filter);
            Answer::ok("application/json", serde_json::to_string_pretty(&document)? + "\n")
        }
        (Method::Get | Method::Head, "/") => Answer::text(200, INDEX.to_owned()),
        (Method::Get | Method::Head, _) => {
            Answer::text(404, format!("no page {path}; see /\n{INDEX}"))
        }
        _ => Answer::text(405, format!("{method} is not served; use GET\n")),
    })
}

fn respond(request: Request, seen: &Mutex<SeenDevices>) {
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

/// Threads answering requests: a scrape that is slow to read its answer, or several
/// Prometheus servers scraping at once, do not hold up the others.
const WORKERS: usize = 4;

/// How long a worker waits for a request before looking whether it was asked to stop.
const STOP_POLL: Duration = Duration::from_millis(100);

/// One worker: answers requests until `stop` is raised.
fn work(server: &Server, seen: &Mutex<SeenDevices>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match server.recv_timeout(STOP_POLL) {
            Ok(Some(request)) => respond(request, seen),
            Ok(None) => {}
            // A failed accept (too many open files, a reset) ends that connection only.
            Err(e) => tracing::warn!("accepting a connection: {e}"),
        }
    }
}

/// `ttctl serve`: answers requests on a few threads until SIGINT or SIGTERM (a second one
/// ends it without waiting for requests in flight).
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
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal ends the process at once, should a worker be stuck writing to a
        // client that stopped reading.
        signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&stop))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&stop)))
            .context("installing the SIGINT and SIGTERM handlers")?;
    }
    // The address actually bound (port 0 picks one), for whoever started us.
    outln!("listening on http://{bound}/metrics and http://{bound}/api/v1/mem")?;
    let seen = Mutex::new(SeenDevices::default());
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| work(&server, &seen, &stop));
        }
    });
    Ok(())
}
