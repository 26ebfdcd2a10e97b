//! This process's identity as the kernel states it in /proc/self/stat.

/// Pid, start time and command name of the calling process.
#[derive(Debug, Clone)]
pub(crate) struct ProcessIdentity {
    pub pid: u32,
    /// Clock ticks since boot when the process started (field 22).
    pub start_time_ticks: u64,
    pub command: String,
}

/// Reads /proc/self/stat; on a system without procfs the start time is 0 and the command
/// comes from argv[0], which keeps tracking working with a weaker identity.
pub(crate) fn current_process() -> ProcessIdentity {
    let pid = std::process::id();
    let parsed = std::fs::read_to_string("/proc/self/stat").ok().and_then(|s| parse_stat(&s));
    match parsed {
        Some((command, start_time_ticks)) => ProcessIdentity { pid, start_time_ticks, command },
        None => {
            let command = std::env::args()
                .next()
                .and_then(|a| a.rsplit('/').next().map(str::to_owned))
                .unwrap_or_default();
            ProcessIdentity { pid, start_time_ticks: 0, command }
        }
    }
}

/// Splits a stat line into (comm, starttime). The command may itself contain `)` and
/// spaces, so fields are counted from the last `)`.
fn parse_stat(stat: &str) -> Option<(String, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let command = stat.get(open + 1..close)?.to_owned();
    // After ") " come fields 3, 4, ...; field 22 is the 20th of them.
    let start_time = stat.get(close + 1..)?.split_whitespace().nth(22 - 3)?.parse().ok()?;
    Some((command, start_time))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_start_time_past_a_command_with_parentheses() {
        let line = "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 \
                    987654 1000 100 18446744073709551615";
        assert_eq!(parse_stat(line), Some(("my (odd) cmd".to_owned(), 987_654)));
    }

    #[test]
    fn reads_this_process() {
        let me = current_process();
        assert_eq!(me.pid, std::process::id());
        assert!(me.start_time_ticks > 0);
        assert!(!me.command.is_empty());
    }
}
