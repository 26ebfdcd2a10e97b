//! The library behind `ttctl`: the memory view, its JSON and Prometheus forms, the HTTP
//! exporter, workloads and device listing. The binary parses the command line and calls in
//! here; benches time the renderers through it.

/// `println!` that returns the write error instead of panicking, so that `ttctl mem | head`
/// ends quietly when the reader goes away.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// `print!` that returns the write error; see `outln!`.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        write!(stdout, $($arg)*).and_then(|()| stdout.flush())
    }};
}

pub mod devices;
pub mod holders;
pub mod kernel;
pub mod leaks;
pub mod mem;
pub mod mem_json;
pub mod mem_text;
pub mod metrics;
pub mod plot;
pub mod record;
pub mod run;
pub mod serve;
mod serve_http;
pub mod table;
pub mod text;
pub mod top;
#[cfg(test)]
mod top_tests;
pub mod top_view;

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sets `-q`: no progress bars, only errors.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

/// True under `-q`.
pub fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// A request that names something that is not there (a pid, a device): exit code 2, like
/// any other usage error.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}
