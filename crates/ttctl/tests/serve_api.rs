//! `ttctl serve` beyond Prometheus: `/api/v1/mem` filters by `?device=` and `?pid=` exactly as
//! `ttctl mem --device/--pid` do and refuses what it cannot read, the exporter answers one
//! client while another stalls, and it stops cleanly on SIGINT and SIGTERM.

// A failed step should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::io::Write as _;
use std::net::TcpStream;
use std::time::Duration;

use common::{http_get, start_serve, url_encode, wait_for, Env};
use serde_json::Value;

/// This process holds two simulated Wormhole chips in `env`'s ledger (ids 78 and 79), with a
/// CB of 1024 bytes on the first; returns the tracker (keep it alive) and the chips' uids.
fn two_chips(env: &Env) -> (tt_track::Tracker, [String; 2], tt_track::AllocRecord) {
    let tracker = tt_track::Tracker::with_ledger_dir(env.ledger.path()).unwrap();
    let soc = tt_soc::SocDescriptor::builtin(tt_soc::Arch::WormholeB0);
    let mut uids = Vec::new();
    let mut slots = Vec::new();
    for id in [78, 79] {
        let uid = tt_soc::SocDescriptor::sim_chip_uid(tt_soc::Arch::WormholeB0, id);
        let info = tt_track::DeviceInfo::from_soc(uid, &format!("sim:wormhole_b0:{id}"), &soc);
        slots.push(tracker.register_device(&info).unwrap());
        uids.push(uid.to_string());
    }
    let spans = [tt_accounting::BankSpan { bank: 0, addr: 0, size: 1024 }];
    let record = tracker
        .record_place(
            slots[0],
            tt_accounting::MemKind::Cb,
            &spans,
            "cb",
            std::panic::Location::caller(),
        )
        .unwrap();
    (tracker, [uids[0].clone(), uids[1].clone()], record)
}

fn mem_json(env: &Env, args: &[&str]) -> Value {
    let out = env.command(&[&["mem", "--json"], args].concat()).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn api_v1_mem_filters_by_device_and_pid_as_mem_does() {
    let env = Env::new();
    let (_tracker, [first, second], _record) = two_chips(&env);
    let (_serve, addr) = start_serve(&env);
    let me = std::process::id().to_string();
    let cases: [(String, Vec<&str>); 5] = [
        (format!("device={first}"), vec!["--device", &first]),
        (
            format!("device={}", url_encode("sim:wormhole_b0:79")),
            vec!["--device", "sim:wormhole_b0:79"],
        ),
        (format!("pid={me}"), vec!["--pid", &me]),
        (format!("device={second}&pid={me}"), vec!["--device", &second, "--pid", &me]),
        (String::new(), vec![]),
    ];
    for (query, args) in cases {
        let (status, body) = http_get(&addr, &format!("/api/v1/mem?{query}")).unwrap();
        assert_eq!(status, 200, "{query}: {body}");
        let served: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(served, mem_json(&env, &args), "{query}");
    }
    // The filter is applied: one chip each, the CB only on the first.
    let one = |query: &str| -> Value {
        let (_, body) = http_get(&addr, &format!("/api/v1/mem?{query}")).unwrap();
        serde_json::from_str(&body).unwrap()
    };
    let by_uid = one(&format!("device={first}"));
    assert_eq!(by_uid["devices"].as_array().unwrap().len(), 1);
    assert_eq!(by_uid["devices"][0]["chip_uid"], first.as_str());
    assert_eq!(by_uid["devices"][0]["used"]["cb"], 1024);
    let by_spec = one("device=sim%3Awormhole_b0%3A79");
    assert_eq!(by_spec["devices"][0]["chip_uid"], second.as_str());
    assert_eq!(by_spec["devices"][0]["used"]["cb"], 0);
    assert_eq!(one("").as_object().unwrap()["devices"].as_array().unwrap().len(), 2);
}

#[test]
fn api_v1_mem_refuses_malformed_queries_with_400_and_unknown_ones_with_404() {
    let env = Env::new();
    let (_tracker, _uids, _record) = two_chips(&env);
    let (_serve, addr) = start_serve(&env);
    let refused = [
        ("pid=abc", 400, "pid `abc` is not a process id"),
        ("pid=-1", 400, "pid `-1` is not a process id"),
        ("pid=", 400, "pid `` is not a process id"),
        ("pid=1&pid=2", 400, "pid is given twice"),
        ("device=", 400, "device is empty"),
        ("device=a&device=b", 400, "device is given twice"),
        ("colour=red", 400, "unknown query parameter `colour`"),
        ("device=%FF", 400, "is not UTF-8"),
        ("pid=1", 404, "no live process with pid 1 is in the ledger"),
        ("device=0x1", 404, "no live process uses device `0x1`"),
    ];
    for (query, status, says) in refused {
        let (got, body) = http_get(&addr, &format!("/api/v1/mem?{query}")).unwrap();
        assert_eq!(got, status, "{query}: {body}");
        assert!(body.contains(says), "{query}: {body}");
        if status == 400 {
            // Each refusal says what is accepted.
            assert!(body.contains("device=UID|SPEC") && body.contains("pid=PID"), "{body}");
        }
    }
    // The CLI refuses the same pid and device as a usage error.
    for args in [["--pid", "1"], ["--device", "0x1"]] {
        let out = env.command(&[&["mem", "--json"], &args[..]].concat()).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    // /metrics takes no query, and ignores one.
    let (status, body) = http_get(&addr, "/metrics?device=0x1").unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("tt_ledger_processes 1\n"), "{body}");
}

#[test]
fn a_stalled_client_does_not_hold_up_a_scrape() {
    let env = Env::new();
    let (_serve, addr) = start_serve(&env);
    // One client connects and says nothing; another starts a request and never finishes it.
    let _silent = TcpStream::connect(&addr).unwrap();
    let mut partial = TcpStream::connect(&addr).unwrap();
    partial.write_all(b"GET /metrics HTTP/1.1\r\nHost: stalled\r\n").unwrap();
    // Another asks and never reads its answer.
    let mut unread = TcpStream::connect(&addr).unwrap();
    unread.write_all(b"GET /api/v1/mem HTTP/1.1\r\nHost: unread\r\n\r\n").unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    let scraper_addr = addr.clone();
    std::thread::spawn(move || sender.send(http_get(&scraper_addr, "/metrics")));
    let scraped = receiver.recv_timeout(Duration::from_secs(10)).expect("the scrape never ended");
    let (status, body) = scraped.expect("the scrape got no answer");
    assert_eq!(status, 200);
    assert!(body.contains("tt_ledger_schema_version 3\n"), "{body}");
}

#[test]
fn serve_stops_cleanly_on_sigint_and_sigterm() {
    for signal in [nix::sys::signal::Signal::SIGINT, nix::sys::signal::Signal::SIGTERM] {
        let env = Env::new();
        let (mut serve, addr) = start_serve(&env);
        assert_eq!(http_get(&addr, "/").unwrap().0, 200);
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(serve.0.id() as i32), signal).unwrap();
        let status = wait_for(Duration::from_secs(10), || serve.0.try_wait().unwrap());
        assert_eq!(status.map(|s| s.code()), Some(Some(0)), "{signal}");
    }
}

/// Finding 6: the exporter remembered every chip it ever saw (69,123 series after 960 chips
/// came and went). A chip gone longer than `--retention` leaves the exposition.
#[test]
fn a_chip_gone_longer_than_the_retention_period_leaves_the_exposition() {
    let env = Env::new();
    let mut child = env
        .command(&["serve", "--listen", "127.0.0.1:0", "--retention", "1s"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let line = common::first_line(&mut child);
    let _serve = common::Running(child);
    let addr = line.split("http://").nth(1).and_then(|r| r.split('/').next()).unwrap().to_owned();
    let (uid, tracker, record) = env.cb_on_chip_77();
    let label = format!("chip_uid=\"{uid}\"");
    let (status, held) = http_get(&addr, "/metrics").unwrap();
    assert_eq!(status, 200);
    assert!(held.contains(&label), "{held}");
    drop(record);
    drop(tracker);
    // Gone, but within the retention period: shown idle.
    let (_, idle) = http_get(&addr, "/metrics").unwrap();
    assert!(idle.contains(&label), "{idle}");
    std::thread::sleep(Duration::from_millis(1500));
    let (_, later) = http_get(&addr, "/metrics").unwrap();
    assert!(!later.contains(&label), "{later}");
}
