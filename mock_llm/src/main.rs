//! The `mock_llm` binary: parses the command line, starts the shards, prints
//! `mock_llm listening on http://IP:PORT` and runs until SIGTERM/SIGINT.
//! See the crate docs (`src/lib.rs`) for how to run it and what it serves.

use std::io::Write;
use std::process::ExitCode;

use mock_llm::{Cli, MockServer, Shutdown};

/// Log lines go to stderr as `mock_llm: LEVEL message`.
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, meta: &log::Metadata<'_>) -> bool {
        meta.level() <= log::max_level()
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("mock_llm: {} {}", record.level(), record.args());
        }
    }
    fn flush(&self) {}
}

static LOGGER: StderrLog = StderrLog;

fn main() -> ExitCode {
    let cfg = match mock_llm::parse_args(std::env::args_os().skip(1)) {
        Ok(Cli::Run(cfg)) => cfg,
        Ok(Cli::Help) => {
            print!("{}", mock_llm::HELP);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("mock_llm: {e}");
            return ExitCode::from(2);
        }
    };
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(if cfg.quiet {
            log::LevelFilter::Error
        } else {
            log::LevelFilter::Info
        });
    }
    let shutdown = Shutdown::new();
    if let Err(e) = shards::install_signal_handler(shutdown.clone()) {
        eprintln!("mock_llm: cannot install the signal handler: {e}");
        return ExitCode::FAILURE;
    }
    log::info!(
        "tokens {}, latency {} ms + jitter {} ms, inter-token {} ms, fail rate {} (status {})",
        cfg.tokens,
        cfg.latency_ms,
        cfg.jitter_ms,
        cfg.inter_token_ms,
        cfg.fail_rate,
        cfg.fail_status
    );
    let server = match MockServer::start_with(cfg, shutdown) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mock_llm: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "mock_llm listening on {}", server.url());
    let _ = stdout.flush();
    drop(stdout);
    match server.wait() {
        Ok(()) => {
            log::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mock_llm: {e}");
            ExitCode::FAILURE
        }
    }
}
