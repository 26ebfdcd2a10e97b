//! Helpers shared by the ttctl test files that use this module: each test runs the real
//! binary with its own ledger and simulator directories.

#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output};
use std::time::Duration;

use serde_json::Value;

/// A ledger and a simulator directory of the test's own.
pub struct Env {
    pub ledger: tempfile::TempDir,
    pub sim: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env { ledger: tempfile::tempdir().unwrap(), sim: tempfile::tempdir().unwrap() }
    }

    /// `ttctl ARGS` pointed at this environment's directories.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ttctl"));
        command
            .args(args)
            .env("TT_LEDGER_DIR", self.ledger.path())
            .env("TT_SIM_DIR", self.sim.path())
            .env_remove("TT_TRACKING");
        command
    }

    /// `ttctl ARGS` run to completion.
    pub fn ttctl(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// A tracker on this environment's ledger holding one CB placement on simulated
    /// Wormhole chip 77: 1000 bytes on the first core and 24 on the second, 1024 in all.
    /// Returns the chip's uid, the tracker and the record (which keeps the bytes counted).
    pub fn cb_on_chip_77(&self) -> (tt_soc::ChipUid, tt_track::Tracker, tt_track::AllocRecord) {
        let tracker = tt_track::Tracker::with_ledger_dir(self.ledger.path()).unwrap();
        let soc = tt_soc::SocDescriptor::builtin(tt_soc::Arch::WormholeB0);
        let uid = tt_soc::SocDescriptor::sim_chip_uid(tt_soc::Arch::WormholeB0, 77);
        let info = tt_track::DeviceInfo::from_soc(uid, "sim:wormhole_b0:77", &soc);
        let slot = tracker.register_device(&info).unwrap();
        let spans = [
            tt_accounting::BankSpan { bank: 0, addr: 0, size: 1000 },
            tt_accounting::BankSpan { bank: 1, addr: 0, size: 24 },
        ];
        let caller = std::panic::Location::caller();
        let record =
            tracker.record_place(slot, tt_accounting::MemKind::Cb, &spans, "cb", caller).unwrap();
        (uid, tracker, record)
    }
}

/// A child process killed and reaped when the test ends, however it ends.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The path of `tool` on `PATH`, or None (with the reason printed) where the test may be
/// skipped: only outside CI. `.ci/run` sets `TT_CI=1` and installs the tools, so a missing
/// tool there fails the test.
pub fn tool(tool: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path).map(|dir| dir.join(tool)).find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("TT_CI").is_none(),
            "`{tool}` is not installed, and CI must run this test: `.ci/run` installs the Debian \
             package `{package}`"
        );
        eprintln!(
            "SKIPPED: `{tool}` is not on PATH (apt-get install {package}); CI runs this test"
        );
    }
    found
}

/// Starts `ttctl serve` on a loopback port of its choosing; returns it and its address.
pub fn start_serve(env: &Env) -> (Running, String) {
    let mut child = env
        .command(&["serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let line = first_line(&mut child);
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in `{line}`"))
        .to_owned();
    (Running(child), addr)
}

/// A TCP port on loopback that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `GET path` from `addr` (HTTP/1.0, so the server closes when done): status and body, or
/// None when nothing answers.
pub fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).ok()?;
    let (head, body) = reply.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

/// `text` percent-encoded for a URL's query.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Polls `check` every 200 ms until it gives a value or `limit` passes.
pub fn wait_for<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let start = std::time::Instant::now();
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Reads the first line a child printed on stdout.
pub fn first_line(child: &mut Child) -> String {
    use std::io::BufRead;
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line).unwrap();
    line
}

/// Fails with every violation when `document` is not a valid `$defs/<name>`.
pub fn assert_valid(name: &str, document: &Value) {
    let text = include_str!("../../schema/ttctl.schema.json");
    let mut schema: Value = serde_json::from_str(text).unwrap();
    schema["$ref"] = Value::from(format!("#/$defs/{name}"));
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{name} does not match the schema:\n{}\n{document:#}",
        errors.join("\n")
    );
}

/// Whether this machine lets us mount a tmpfs in a mount namespace of our own (`unshare`);
/// says why a test is skipped when it does not.
pub fn can_mount() -> bool {
    let probe = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg("mount -t tmpfs -o size=1m tmpfs /mnt")
        .stderr(std::process::Stdio::null())
        .status();
    let permitted = probe.is_ok_and(|status| status.success());
    if !permitted {
        eprintln!(
            "SKIPPED: cannot mount a tmpfs in a private mount namespace (needs root or user \
             namespaces, and unshare)"
        );
    }
    permitted
}
