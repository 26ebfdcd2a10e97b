//! `ttctl serve` scraped by a real Prometheus server (Debian's `prometheus` package, which
//! `.ci/run` installs), and its exposition checked by `promtool`.

// A failed step should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{free_port, http_get, start_serve, tool, url_encode, wait_for, Env, Running};
use serde_json::Value;

/// The kernel bytes of the only device in an exposition, if it has one.
fn kernel_bytes(exposition: &str) -> Option<u64> {
    exposition
        .lines()
        .find(|l| l.starts_with("tt_device_used_bytes{") && l.contains("kind=\"kernel\""))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Asks Prometheus's HTTP API `path` and returns `data.result`.
fn prometheus_api(addr: &str, path: &str) -> Option<Vec<Value>> {
    let (status, body) = http_get(addr, path)?;
    if status != 200 {
        return None;
    }
    let reply: Value = serde_json::from_str(&body).ok()?;
    reply["data"]["result"].as_array().cloned()
}

/// Runs `promtool check metrics` on `exposition`; panics with what it said when it fails.
fn promtool_check(promtool: &std::path::Path, exposition: &str) {
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check.stdin.take().unwrap().write_all(exposition.as_bytes()).unwrap();
    let checked = check.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}

fn sample(value: &Value) -> f64 {
    value[1].as_str().and_then(|v| v.parse().ok()).unwrap()
}

#[test]
fn prometheus_sees_kernel_bytes_rise_and_return_to_zero() {
    let (Some(prometheus), Some(promtool)) =
        (tool("prometheus", "prometheus"), tool("promtool", "prometheus"))
    else {
        return;
    };
    let env = Env::new();
    let (_serve, serve_addr) = start_serve(&env);

    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: ttctl\n    static_configs:\n      \
             - targets: ['{serve_addr}']\n"
        ),
    )
    .unwrap();
    let prom_addr = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(work.path().join("prometheus.log")).unwrap();
    let _prometheus = Running(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", work.path().join("data").display()))
            .arg(format!("--web.listen-address={prom_addr}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let log_text = || std::fs::read_to_string(work.path().join("prometheus.log")).unwrap();
    let up = wait_for(Duration::from_secs(60), || {
        let result = prometheus_api(&prom_addr, "/api/v1/query?query=up")?;
        result.iter().any(|r| sample(&r["value"]) == 1.0).then_some(())
    });
    assert!(up.is_some(), "Prometheus never scraped ttctl serve; its log:\n{}", log_text());

    // Enough rounds to span several scrapes: each round holds eight programs' kernels.
    let mut workload = Running(
        env.command(&["run", "programs", "--device", "sim:n150:7", "--iterations", "25", "--json"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let live = wait_for(Duration::from_secs(60), || {
        let (_, body) = http_get(&serve_addr, "/metrics")?;
        (kernel_bytes(&body)? > 0).then_some(body)
    })
    .expect("the exposition never showed kernel bytes while the workload ran");

    // The exposition with a live workload (every family present) passes promtool's lint.
    promtool_check(&promtool, &live);

    let finished = workload.0.wait().unwrap();
    assert!(finished.success(), "the workload failed");
    let mut report = String::new();
    std::io::Read::read_to_string(&mut workload.0.stdout.take().unwrap(), &mut report).unwrap();
    let report: Value = serde_json::from_str(&report).unwrap();
    let uid = report["chip_uid"].as_str().unwrap().to_owned();
    let series = format!("tt_device_used_bytes{{kind=\"kernel\",chip_uid=\"{uid}\"}}");

    // After the run the chip is idle and the series reads 0 (not vanished).
    let zero = wait_for(Duration::from_secs(30), || {
        let path = format!("/api/v1/query?query={}", url_encode(&series));
        let result = prometheus_api(&prom_addr, &path)?;
        (result.len() == 1 && sample(&result[0]["value"]) == 0.0).then_some(())
    });
    assert!(zero.is_some(), "the kernel series did not return to 0; log:\n{}", log_text());

    // The stored history: kernel bytes above 0 while the programs lived, then 0.
    let end = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let path = format!(
        "/api/v1/query_range?query={}&start={:.3}&end={:.3}&step=0.5",
        url_encode(&series),
        end.as_secs_f64() - 300.0,
        end.as_secs_f64()
    );
    let result = prometheus_api(&prom_addr, &path).unwrap();
    assert_eq!(result.len(), 1, "{result:?}");
    let values: Vec<f64> = result[0]["values"].as_array().unwrap().iter().map(sample).collect();
    let first_rise = values.iter().position(|v| *v > 0.0).expect("no sample above 0");
    assert!(values[first_rise..].contains(&0.0), "never back to 0: {values:?}");
    assert_eq!(values.last(), Some(&0.0), "{values:?}");
    let peak = values.iter().copied().fold(0.0, f64::max);
    assert_eq!(peak as u64, report["peak"]["kernel"].as_u64().unwrap(), "{values:?}");
}

#[test]
fn api_v1_mem_is_the_mem_json_document_and_unknown_pages_are_404() {
    let env = Env::new();
    let (_serve, addr) = start_serve(&env);
    let (status, body) = http_get(&addr, "/api/v1/mem").unwrap();
    assert_eq!(status, 200);
    let served: Value = serde_json::from_str(&body).unwrap();
    let mem = env.command(&["mem", "--json"]).output().unwrap();
    let printed: Value = serde_json::from_slice(&mem.stdout).unwrap();
    assert_eq!(served, printed);
    assert_eq!(served["schema_version"], 3);
    let (status, body) = http_get(&addr, "/metrics").unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("tt_ledger_schema_version 3\n"), "{body}");
    assert!(body.contains("tt_ledger_processes 0\n"), "{body}");
    assert_eq!(http_get(&addr, "/nothing").unwrap().0, 404);
}

/// One chip registered by two trackers of one process (two segments, one pid): each label set
/// is exposed once, with the process's figures summed, and promtool accepts the scrape.
#[test]
fn two_trackers_of_one_process_on_one_chip_expose_each_series_once() {
    let Some(promtool) = tool("promtool", "prometheus") else { return };
    let env = Env::new();
    let soc = tt_soc::SocDescriptor::builtin(tt_soc::Arch::WormholeB0);
    let info = tt_track::DeviceInfo::from_soc(tt_soc::ChipUid(0x2B), "sim:wormhole_b0:0", &soc);
    let spans = [tt_accounting::BankSpan { bank: 0, addr: 0, size: 1 << 20 }];
    let mut records = Vec::new();
    let mut trackers = Vec::new();
    for _ in 0..2 {
        let tracker = tt_track::Tracker::with_ledger_dir(env.ledger.path()).unwrap();
        let slot = tracker.register_device(&info).unwrap();
        let here = std::panic::Location::caller();
        let dram = tt_accounting::MemKind::Dram;
        records.push(tracker.record_place(slot, dram, &spans, "one of two", here).unwrap());
        trackers.push(tracker);
    }
    let (_serve, addr) = start_serve(&env);
    let (status, body) = http_get(&addr, "/metrics").unwrap();
    assert_eq!(status, 200, "{body}");
    let series: Vec<&str> = body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' ').map(|(series, _)| series))
        .collect();
    let unique: std::collections::BTreeSet<&str> = series.iter().copied().collect();
    assert_eq!(unique.len(), series.len(), "a label set appears twice:\n{body}");
    let pid = std::process::id();
    let dram = body
        .lines()
        .find(|l| {
            l.starts_with("tt_process_used_bytes{")
                && l.contains(&format!("pid=\"{pid}\""))
                && l.contains("kind=\"dram\"")
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<u64>().ok());
    assert_eq!(dram, Some(2 << 20), "both trackers' bytes, summed:\n{body}");
    promtool_check(&promtool, &body);
    drop(records);
}
