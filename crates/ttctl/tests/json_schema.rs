//! Every JSON document ttctl prints validates against the schema kept in the repo
//! (`crates/ttctl/schema/ttctl.schema.json`), with a live workload so that no optional part
//! is left out.

// A failed step should fail the test loudly.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{assert_valid, wait_for, Env, Running};
use serde_json::Value;

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn mem_leaks_devices_and_run_json_match_the_schema() {
    let env = Env::new();
    let device = "sim:n150:43";
    let workload = Running(
        env.command(&["run", "programs", "--device", device, "--iterations", "40", "--json"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let live = wait_for(Duration::from_secs(60), || {
        let mem = json(&env.command(&["mem", "--json"]).output().unwrap());
        let kernel = mem["devices"][0]["used"]["kernel"].as_u64()?;
        (kernel > 0 && !mem["devices"][0]["allocator"]["dram"].is_null()).then_some(mem)
    })
    .expect("the workload never showed in mem --json");
    let leaks = json(&env.command(&["leaks", "--json", "--all"]).output().unwrap());
    drop(workload);
    assert_valid("mem", &live);
    assert!(!leaks["processes"][0]["devices"][0]["live_records"].as_array().unwrap().is_empty());
    assert_valid("leaks", &leaks);

    let empty = json(&env.command(&["mem", "--json"]).output().unwrap());
    assert_valid("mem", &empty);

    let devices = json(&env.command(&["devices", "--json"]).output().unwrap());
    assert_eq!(devices["devices"][0]["spec"], "sim:n150:43", "{devices}");
    assert_valid("devices", &devices);

    let args = ["run", "add", "--device", device, "--iterations", "1", "--json"];
    let run = json(&env.command(&args).output().unwrap());
    assert_valid("run", &run);
}

#[test]
fn the_schema_rejects_what_it_should() {
    let env = Env::new();
    let mut mem = json(&env.command(&["mem", "--json"]).output().unwrap());
    mem["schema_version"] = Value::from(1);
    let text = include_str!("../schema/ttctl.schema.json");
    let mut schema: Value = serde_json::from_str(text).unwrap();
    schema["$ref"] = Value::from("#/$defs/mem");
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(!validator.is_valid(&mem), "schema_version 1 must not pass as 2");
}
