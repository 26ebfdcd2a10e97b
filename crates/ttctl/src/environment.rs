//! The environment `ttctl` reads, written once and shown at the end of each command's
//! `--help` (and so in the man page): every command lists the variables that change what it
//! does.

/// For a variable that affects every subcommand.
const ALL: &[&str] = &[];

/// One variable: its name, what it does, and the (top-level) subcommands it affects; a
/// nested command (`sim rm`) shows what its parent shows.
struct Variable {
    name: &'static str,
    meaning: &'static str,
    affects: &'static [&'static str],
}

const VARIABLES: &[Variable] = &[
    Variable {
        name: "TT_SIM_DIR",
        meaning: "where simulated chips live (default $XDG_RUNTIME_DIR/tt-sim, else\n\
                  /dev/shm/tt-sim-<uid>)",
        affects: &["devices", "run", "sim"],
    },
    Variable {
        name: "TT_LEDGER_DIR",
        meaning: "the ledger directory (default $XDG_RUNTIME_DIR/tt-ledger, else\n\
                  /dev/shm/tt-ledger-<uid>; monitors read both)",
        affects: &["run", "mem", "leaks", "serve", "top", "record"],
    },
    Variable {
        name: "TT_TRACKING",
        meaning: "`off` records nothing in the ledger (said once when a run starts)",
        affects: &["run"],
    },
    Variable {
        name: "COLUMNS",
        meaning: "table width when stdout is not a terminal (`mem` fits 100 when unset)",
        affects: &["devices", "mem", "run"],
    },
    Variable {
        name: "TMPDIR",
        meaning: "where the build kit is unpacked for the compiler",
        affects: &["kernel"],
    },
    Variable {
        name: "RUST_LOG",
        meaning: "log filter, e.g. `info` or `tt_device=debug`; overrides -v and -q",
        affects: ALL,
    },
];

/// The longest variable name, so that the meanings line up under each other.
const NAME_WIDTH: usize = "TT_LEDGER_DIR".len();

/// The `Environment:` section for `subcommand` (None: the top level, which lists every
/// variable), with the exit status after it.
pub fn help(subcommand: Option<&str>) -> String {
    let mut text = String::from("Environment:\n");
    for variable in VARIABLES {
        let shown = match subcommand {
            None => true,
            Some(name) => variable.affects.is_empty() || variable.affects.contains(&name),
        };
        if !shown {
            continue;
        }
        let indent = format!("\n{:width$}", "", width = NAME_WIDTH + 4);
        let meaning = variable.meaning.replace('\n', &indent);
        text.push_str(&format!("  {:<NAME_WIDTH$}  {meaning}\n", variable.name));
    }
    text.push_str("\nExit status: 0 ok, 1 runtime error, 2 usage error.");
    text
}

/// `command` with the environment section under its help and every subcommand's, each
/// naming only the variables that affect it.
pub fn annotate(command: clap::Command) -> clap::Command {
    fn under(command: clap::Command, top_level: &str) -> clap::Command {
        let text = help(Some(top_level));
        command.after_help(text).mut_subcommands(|nested| under(nested, top_level))
    }
    command.after_help(help(None)).mut_subcommands(|sub| {
        let name = sub.get_name().to_owned();
        under(sub, &name)
    })
}
