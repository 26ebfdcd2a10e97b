//! Full-screen views in a real terminal: tmux runs `ttctl top` at 80x24 beside a workload
//! (the screen shows the device, `q` quits) and `ttctl mem --watch` (a timestamped header, the
//! alternate screen, Ctrl-C ends it).

// A failed step should fail the test loudly.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{tool, wait_for, Env, Running};

/// A tmux server of this test's own, killed when the test ends.
struct Tmux<'a> {
    binary: &'a Path,
    socket: String,
}

impl Tmux<'_> {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(self.binary).arg("-L").arg(&self.socket).args(args).output().unwrap()
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "top"]).stdout).into_owned()
    }
}

impl Drop for Tmux<'_> {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

#[test]
fn top_draws_in_a_real_terminal_and_quits_on_q() {
    let Some(binary) = tool("tmux", "tmux") else { return };
    let env = Env::new();
    let _workload = Running(
        env.command(&["run", "programs", "--device", "sim:n150:44", "--iterations", "200"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let tmux = Tmux { binary: &binary, socket: format!("ttctl-top-test-{}", std::process::id()) };
    let ledger = format!("TT_LEDGER_DIR={}", env.ledger.path().display());
    let sim = format!("TT_SIM_DIR={}", env.sim.path().display());
    let top = format!("{} top --interval 0.2", env!("CARGO_BIN_EXE_ttctl"));
    let started = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "top",
        "-x",
        "80",
        "-y",
        "24",
        "-e",
        &ledger,
        "-e",
        &sim,
        &top,
    ]);
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    let shown = wait_for(Duration::from_secs(60), || {
        let screen = tmux.screen();
        (screen.contains("ttctl top 1/1") && screen.contains("sim:n150:44")).then_some(screen)
    });
    let screen = shown.unwrap_or_else(|| tmux.screen());
    assert!(screen.contains("ttctl top 1/1"), "top never showed the workload's chip:\n{screen}");
    assert!(screen.contains("processes (sorted by used)"), "{screen}");
    assert_eq!(screen.lines().count(), 24, "{screen}");
    let alternate = tmux.run(&["display-message", "-p", "-t", "top", "#{alternate_on}"]);
    assert_eq!(
        String::from_utf8_lossy(&alternate.stdout).trim(),
        "1",
        "not on the alternate screen"
    );

    tmux.run(&["send-keys", "-t", "top", "s"]);
    let sorted = wait_for(Duration::from_secs(10), || {
        tmux.screen().contains("processes (sorted by peak)").then_some(())
    });
    assert!(sorted.is_some(), "s did not sort by peak:\n{}", tmux.screen());
    tmux.run(&["send-keys", "-t", "top", "q"]);
    let gone = wait_for(Duration::from_secs(10), || {
        (!tmux.run(&["has-session", "-t", "top"]).status.success()).then_some(())
    });
    assert!(gone.is_some(), "q did not end top:\n{}", tmux.screen());
}

#[test]
fn mem_watch_uses_the_alternate_screen_with_a_timestamp_and_ends_on_ctrl_c() {
    let Some(binary) = tool("tmux", "tmux") else { return };
    let env = Env::new();
    let tmux = Tmux { binary: &binary, socket: format!("ttctl-watch-test-{}", std::process::id()) };
    let ledger = format!("TT_LEDGER_DIR={}", env.ledger.path().display());
    let watch = format!("{} mem --watch 0.2", env!("CARGO_BIN_EXE_ttctl"));
    let started = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "top",
        "-x",
        "80",
        "-y",
        "24",
        "-e",
        &ledger,
        &watch,
    ]);
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    let header = wait_for(Duration::from_secs(30), || {
        let screen = tmux.screen();
        screen.lines().next().filter(|l| l.starts_with("ttctl mem --watch 0.2s")).map(str::to_owned)
    });
    let header = header.unwrap_or_else(|| tmux.screen());
    // `ttctl mem --watch 0.2s  2026-12-01T18:16:08Z  (Ctrl-C quits)`
    let stamp = header.split_whitespace().nth(4).unwrap_or_default();
    assert!(stamp.len() == 20 && stamp.ends_with('Z'), "{header}");
    let alternate = tmux.run(&["display-message", "-p", "-t", "top", "#{alternate_on}"]);
    assert_eq!(
        String::from_utf8_lossy(&alternate.stdout).trim(),
        "1",
        "not on the alternate screen"
    );
    tmux.run(&["send-keys", "-t", "top", "C-c"]);
    let gone = wait_for(Duration::from_secs(10), || {
        (!tmux.run(&["has-session", "-t", "top"]).status.success()).then_some(())
    });
    assert!(gone.is_some(), "Ctrl-C did not end --watch:\n{}", tmux.screen());
}
