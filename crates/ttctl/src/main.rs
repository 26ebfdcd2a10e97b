//! `ttctl`: run workloads on Tenstorrent devices and show what is on the chip.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use ttctl::{devices, kernel, leaks, mem, run, serve, UsageError};

mod environment;

/// Run workloads on Tenstorrent cards (or simulated chips) and show their memory.
#[derive(Parser)]
#[command(name = "ttctl", version, about)]
struct Cli {
    /// More log output on stderr: -v info, -vv debug, -vvv trace.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors on stderr, and no progress bars.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List cards and simulated chips with arch, grid, unique id and backend.
    Devices {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run a built-in workload and show memory before, at peak and after.
    Run {
        /// The workload.
        workload: run::Workload,
        /// Device spec (`sim:wormhole_b0`, `sim:n150`, `sim:n300:0:1`, `sim:p150a`,
        /// `/dev/tenstorrent/0`); default: first card, else simulated.
        #[arg(long)]
        device: Option<String>,
        /// How many rounds to run.
        #[arg(long, default_value_t = 20)]
        iterations: u32,
        /// A SoC descriptor file in tt-umd's YAML format describing the device.
        #[arg(long, value_name = "FILE")]
        soc: Option<std::path::PathBuf>,
        /// Extra Tensix rows (Wormhole) or columns (Blackhole) to treat as harvested, in
        /// tt-umd's convention: bit i is the i-th Tensix row or column in NOC0 order (65 = rows 1
        /// and 8 on Wormhole; 192 = columns 7 and 10 on Blackhole). Added to what the card reports.
        #[arg(long, value_name = "MASK", value_parser = parse_mask)]
        harvest: Option<u32>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show memory per device and per process, read from the ledger (never opens a device).
    /// "Used" is reserved: every byte taken from the chip's free pools; payload is what the
    /// owners asked for.
    Mem {
        /// Print JSON (schema_version 3) instead of a table.
        #[arg(long)]
        json: bool,
        /// Refresh every SECS seconds (default 1, 0.1 to 86400) until Ctrl-C. On a terminal
        /// the table is redrawn in place on the alternate screen under a header with the UTC
        /// time; piped, each refresh is appended; with --json, one document per line with a
        /// `timestamp` (RFC 3339, UTC).
        #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "1", value_parser = parse_period)]
        watch: Option<f64>,
        /// Only this chip: its unique id, or the spec `ttctl devices` prints.
        #[arg(long)]
        device: Option<String>,
        /// Only this process and the devices it uses.
        #[arg(long)]
        pid: Option<u32>,
        /// Draw each chip's core grid with every core's L1 fill.
        #[arg(long)]
        cores: bool,
    },
    /// List what is still placed on devices, per process, with owner, age, place and
    /// provenance (the SYSTEM and RESERVED baseline only with --all).
    Leaks {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Also list the SYSTEM and RESERVED placements of open devices.
        #[arg(long)]
        all: bool,
        /// List at most this many placements per device (oldest ids first); the rest are
        /// counted as "N more not shown".
        #[arg(long, default_value_t = leaks::DEFAULT_LIMIT)]
        limit: usize,
    },
    /// Serve the memory figures over HTTP: `/metrics` for Prometheus, `/api/v1/mem` with the
    /// `mem --json` document. Reads the ledger at each request; never opens a device.
    Serve {
        /// Address to listen on; loopback unless you name another (`0.0.0.0:9464` for all).
        #[arg(long, value_name = "ADDR", default_value = serve::DEFAULT_LISTEN)]
        listen: std::net::SocketAddr,
        /// How long a chip no process holds any more is still exported (at 0), e.g. `30s`,
        /// `10m`; chips gone longer are dropped from /metrics.
        #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = humantime::parse_duration)]
        retention: std::time::Duration,
        /// Open connections at most (lowered to fit `ulimit -n`); past it the oldest idle
        /// connection is closed, or the new one when every connection is being answered.
        #[arg(long, value_name = "N", default_value_t = serve::Limits::default().max_connections, value_parser = parse_connections)]
        max_connections: usize,
    },
    /// Full-screen view of this host's devices: a bar per memory kind, the core grid by L1
    /// fill, used bytes over the last minutes, largest free blocks, processes. Keys: ←/→
    /// switch device, s sorts processes, q quits.
    Top {
        /// Seconds between ledger reads (0.1 to 86400).
        #[arg(long, value_name = "SECS", default_value_t = 1.0, value_parser = parse_period)]
        interval: f64,
    },
    /// Record memory over time as JSON lines: a sample of every device per period, each
    /// placement with its owner when first seen and when gone, and the processes' event
    /// rings (so short-lived placements are kept). Ctrl-C stops. `ttctl plot` draws it.
    Record {
        /// Write to FILE instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<std::path::PathBuf>,
        /// Seconds between samples (0.1 to 86400).
        #[arg(long, value_name = "SECS", default_value_t = 0.5, value_parser = parse_period)]
        interval: f64,
        /// Stop after SECS seconds (default: at Ctrl-C).
        #[arg(long, value_name = "SECS", value_parser = parse_period)]
        duration: Option<f64>,
    },
    /// Draw a `ttctl record` file: used bytes per kind over time, one chart per device, peaks
    /// marked; then print what held L1 at each device's L1 peak. Between samples the curve
    /// steps with the ring events, so short-lived placements show as spikes; releases are not
    /// timed, so each is drawn at its process's next placement, else at the sample that saw it.
    Plot {
        /// The file `ttctl record -o` wrote.
        file: std::path::PathBuf,
        /// The picture to write; `.svg` or `.png`.
        #[arg(short, long, value_name = "FILE", default_value = "usage.svg")]
        output: std::path::PathBuf,
    },
    /// Print a shell completion script, e.g. `ttctl completions bash >
    /// /etc/bash_completion.d/ttctl`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `ttctl man | man -l -`.
    Man,
    /// Manage simulated chip files.
    Sim {
        #[command(subcommand)]
        action: SimAction,
    },
    /// Build kernels of your own (C, with kernels/include/tt_kernel.h).
    Kernel {
        #[command(subcommand)]
        action: KernelAction,
    },
}

#[derive(Subcommand)]
enum KernelAction {
    /// Build C kernels with the flags of the committed ones (Debian's riscv64-unknown-elf-gcc),
    /// e.g. `ttctl kernel build my_kernel.c --out build/`.
    Build {
        /// Kernel sources.
        sources: Vec<std::path::PathBuf>,
        /// Where the ELF files go (default: the current directory).
        #[arg(long, default_value = ".")]
        out: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum SimAction {
    /// Remove a simulated chip's file (its memory contents), e.g. `ttctl sim rm sim:blackhole:1`.
    Rm {
        /// The chip, as `sim:<arch>[:<id>]` or `sim:<board>[:<id>[:<chip>]]`.
        spec: String,
    },
}

fn main() -> ExitCode {
    let cli = match command().try_get_matches().and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout with success, usage errors to stderr.
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    ttctl::set_quiet(cli.quiet);
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Devices { json } => devices::devices(json),
        Command::Sim { action: SimAction::Rm { spec } } => devices::sim_rm(&spec),
        Command::Kernel { action: KernelAction::Build { sources, out } } => {
            kernel::build(&sources, &out)
        }
        Command::Run { workload, device, iterations, json, soc, harvest } => {
            let options = tt_device::OpenOptions {
                soc_file: soc,
                harvesting_mask: harvest.unwrap_or(0),
                sim_dir: None,
            };
            run::run(workload, device.as_deref(), &options, iterations, json)
        }
        Command::Leaks { json, all, limit } => leaks::leaks(json, all, limit),
        Command::Serve { listen, retention, max_connections } => serve::serve(serve::Options {
            listen,
            retention,
            limits: serve::Limits { max_connections, ..serve::Limits::default() },
        }),
        Command::Completions { shell } => completions(shell),
        Command::Man => man(),
        Command::Plot { file, output } => ttctl::plot::plot(&file, &output),
        Command::Record { output, interval, duration } => ttctl::record::record(
            output.as_deref(),
            std::time::Duration::from_secs_f64(interval),
            duration.map(std::time::Duration::from_secs_f64),
        ),
        Command::Top { interval } => ttctl::top::top(std::time::Duration::from_secs_f64(interval)),
        Command::Mem { json, watch, device, pid, cores } => {
            mem::mem(json, watch, &mem::Filter { device, pid, cores })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`ttctl mem | head`): nothing more to say.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ttctl: {}", one_line(&e));
            let usage = e.chain().any(|c| c.downcast_ref::<UsageError>().is_some());
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

/// The command line's definition with the environment each command reads under its help;
/// parsing, completions and the man page all come from it.
fn command() -> clap::Command {
    environment::annotate(Cli::command())
}

/// `ttctl completions SHELL`: the script clap_complete generates from these definitions.
fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command(), "ttctl", &mut script);
    std::io::Write::write_all(&mut std::io::stdout().lock(), &script)?;
    Ok(())
}

/// `ttctl man`: the man page clap_mangen renders from these definitions.
fn man() -> anyhow::Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command()).render(&mut page)?;
    std::io::Write::write_all(&mut std::io::stdout().lock(), &page)?;
    Ok(())
}

/// Parses a refresh period in seconds: a finite number from 0.1 to 86400.
/// A connection cap: 1 to 65535.
fn parse_connections(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n @ 1..=65535) => Ok(n),
        _ => Err("give a number of connections from 1 to 65535".to_owned()),
    }
}

fn parse_period(text: &str) -> Result<f64, String> {
    let secs: f64 =
        text.parse().map_err(|_| format!("`{text}` is not a number of seconds; give e.g. 2"))?;
    if !secs.is_finite() || !(0.1..=86_400.0).contains(&secs) {
        return Err(format!("`{text}` is outside 0.1 to 86400 seconds"));
    }
    Ok(secs)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Parses a harvesting mask in decimal or `0x` hex.
fn parse_mask(text: &str) -> Result<u32, String> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|_| format!("`{text}` is not a mask; give a number like 3 or 0x3"))
}

/// The error and its causes on one line, outermost first, leaving out a cause whose text the
/// message already carries (our error types quote their OS error in their own message).
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.replace('\n', " ")
}
