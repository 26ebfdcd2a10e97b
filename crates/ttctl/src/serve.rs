//! `ttctl serve`: an HTTP exporter of the ledger for Prometheus (`/metrics`) and for scripts
//! (`/api/v1/mem`, the `mem --json` document). It reads the ledger at each request; it never
//! opens a device and keeps no sampling thread. The HTTP layer, with its limits, is
//! serve_http.rs; this file is what is answered.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use parking_lot::Mutex;
use tt_soc::ChipUid;
use tt_track::{DeviceTotals, LedgerSnapshot};

use crate::mem::{read_all, Filter};
use crate::metrics;
pub use crate::serve_http::Limits;
use crate::serve_http::{Answer, Head};
use crate::text::shown;

/// The address `serve` listens on unless told otherwise: loopback only, so that pids and
/// command names are not published to the network unless the user names an address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";

/// How long a chip no live process holds is still shown (idle, at 0) unless told otherwise.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(300);

/// Chips remembered at most, however many came and went within the retention period.
pub const MAX_REMEMBERED: usize = 4096;

/// Chips the exporter has seen held by a live process, so that a chip going idle reads 0
/// rather than vanishing (a gauge that vanishes cannot be seen returning to its baseline),
/// for a retention period only: chips that came and went do not grow the exposition forever.
pub struct SeenDevices {
    retention: Duration,
    devices: BTreeMap<ChipUid, (DeviceTotals, Instant)>,
}

impl SeenDevices {
    /// Remembers idle chips for `retention` after they were last seen held.
    pub fn new(retention: Duration) -> SeenDevices {
        SeenDevices { retention, devices: BTreeMap::new() }
    }

    /// Remembers the chips of `snapshot` (read at `now`), forgets those not seen for the
    /// retention period, and returns the idle form of those remembered and held by no live
    /// process now.
    pub fn update(&mut self, snapshot: &LedgerSnapshot, now: Instant) -> Vec<DeviceTotals> {
        for dev in &snapshot.devices {
            self.devices.insert(dev.uid, (dev.clone(), now));
        }
        let retention = self.retention;
        self.devices.retain(|_, (_, seen)| now.saturating_duration_since(*seen) <= retention);
        // Past the cap the chips seen longest ago go first.
        while self.devices.len() > MAX_REMEMBERED {
            let oldest =
                self.devices.iter().min_by_key(|(_, (_, seen))| *seen).map(|(uid, _)| *uid);
            match oldest {
                Some(uid) => self.devices.remove(&uid),
                None => break,
            };
        }
        self.devices
            .values()
            .filter(|(seen, _)| snapshot.device(seen.uid).is_none())
            .map(|(seen, _)| metrics::idle(seen))
            .collect()
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
                .map_err(|_| format!("`{}` is not UTF-8 once decoded; {MEM_QUERY}", shown(pair)))
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
                        "pid `{}` is not a process id (0 to 4294967295); {MEM_QUERY}",
                        shown(&value)
                    ))
                }
            },
            _ => return Err(format!("unknown query parameter `{}`; {MEM_QUERY}", shown(&key))),
        }
    }
    Ok(filter)
}

/// The answer to `head`.
fn answer(head: &Head, seen: &Mutex<SeenDevices>) -> Result<Answer> {
    let (method, path) = (head.method.as_str(), head.path.as_str());
    Ok(match (method, path) {
        ("GET" | "HEAD", "/metrics") => {
            let snapshot = read_all()?;
            // Held only to update what was seen: concurrent scrapes render in parallel.
            let idle = seen.lock().update(&snapshot, Instant::now());
            Answer::ok(metrics::CONTENT_TYPE, metrics::render(&snapshot, &idle)?)
        }
        ("GET" | "HEAD", "/api/v1/mem") => {
            let filter = match mem_filter(&head.query) {
                Ok(filter) => filter,
                Err(refused) => return Ok(Answer::text(400, refused + "\n")),
            };
            let snapshot = read_all()?;
            if let Err(missing) = filter.check(&snapshot) {
                return Ok(Answer::text(404, format!("{}\n", shown(&missing.to_string()))));
            }
            let document = crate::mem_json::to_json(&snapshot, &filter);
            Answer::ok("application/json", serde_json::to_string_pretty(&document)? + "\n")
        }
        ("GET" | "HEAD", "/") => Answer::text(200, INDEX.to_owned()),
        ("GET" | "HEAD", _) => {
            Answer::text(404, format!("no page {}; see /\n{INDEX}", shown(path)))
        }
        _ => Answer::text(405, format!("{} is not served; use GET\n", shown(method))),
    })
}

/// What `serve` is told on the command line.
pub struct Options {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// How long an idle chip is still shown.
    pub retention: Duration,
    /// What a client may hold.
    pub limits: Limits,
}

/// `ttctl serve`: answers requests until SIGINT or SIGTERM (a second one ends it without
/// waiting for requests in flight).
pub fn serve(options: Options) -> Result<()> {
    let listen = options.listen;
    let listener = std::net::TcpListener::bind(listen).with_context(|| {
        format!("cannot listen on {listen}; give another address with --listen")
    })?;
    let seen = Mutex::new(SeenDevices::new(options.retention));
    let handler = Arc::new(move |head: &Head| {
        answer(head, &seen).unwrap_or_else(|e| {
            let error = shown(&format!("{e:#}"));
            tracing::warn!("{} {}: {error}", shown(&head.method), shown(&head.path));
            Answer::text(500, format!("ttctl serve: {error}\n"))
        })
    });
    crate::serve_http::run(listener, options.limits, handler, |bound, cap| {
        if !bound.ip().is_loopback() {
            eprintln!(
                "ttctl serve: listening beyond loopback on {bound}: anyone who reaches it can \
                 read the memory figures, pids and command names"
            );
        }
        // The address actually bound (port 0 picks one), for whoever started us.
        outln!("listening on http://{bound}/metrics and http://{bound}/api/v1/mem")?;
        tracing::info!("at most {cap} connections");
        Ok(())
    })
}
