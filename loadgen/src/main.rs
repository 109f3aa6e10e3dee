//! loadgen: an open-loop, fixed-QPS, coordinated-omission-corrected HTTP/1.1
//! load generator for measuring Ringway's overhead (and a closed-loop mode for
//! maximum throughput).
//!
//! # How to run
//!
//! ```text
//! cargo build -p loadgen --release
//! # 1000 req/s for 10 s after a 1 s warm-up, 2 KB chat bodies, 32 connections:
//! target/release/loadgen http://127.0.0.1:4000/v1/chat/completions --qps 1000
//! # the gateway's added latency, direct and proxied interleaved in 250 ms slices:
//! target/release/loadgen --compare http://127.0.0.1:9000/v1/chat/completions \
//!     http://127.0.0.1:4000/v1/chat/completions --qps 2000 --json out.json
//! # streaming (TTFT and inter-event gap), with an API key:
//! target/release/loadgen http://127.0.0.1:4000/v1/chat/completions --qps 200 \
//!     --stream --header 'Authorization: Bearer sk-1234'
//! # maximum throughput on one pinned core:
//! target/release/loadgen http://127.0.0.1:4000/v1/chat/completions \
//!     --closed-loop --connections 64 --cpus 1
//! ```
//!
//! `loadgen --help` lists every flag; `stats.rs` documents the JSON report.
//!
//! # Layout
//!
//! * `cli`: flags to a validated `Config`;
//! * `body`: the built-in chat body and the pre-built request bytes;
//! * `http`: response head, Content-Length/chunked bodies, SSE boundaries;
//! * `pacer`: intended send times, the nanosecond timer, a fair yield;
//! * `run`: one shard: its connection tasks, pacer, watchdog and drain;
//! * `conn`: one connection: send, read and frame a response, classify errors;
//! * `stats`: histograms, merge, the text and JSON report.
//!
//! Shards come from `shards::run_with` (one monoio runtime per thread), with
//! the epoll driver by default: for a client with a few dozen connections it
//! is as cheap as io_uring and works everywhere (`--driver` picks).

mod body;
mod cli;
mod conn;
mod http;
mod pacer;
mod run;
mod stats;

use std::io::Write;
use std::sync::Arc;

use stats::{Report, RunInfo, Stats};

struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::Level::Warn
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            eprintln!(
                "loadgen: {}: {}",
                r.level().as_str().to_lowercase(),
                r.args()
            );
        }
    }
    fn flush(&self) {}
}

static LOGGER: StderrLog = StderrLog;

fn main() {
    let _ = log::set_logger(&LOGGER).map(|()| log::set_max_level(log::LevelFilter::Warn));
    let cfg = match cli::parse(std::env::args_os().skip(1)) {
        Ok(cli::Parsed::Run(c)) => *c,
        Ok(cli::Parsed::Help) => {
            print!("{}", cli::HELP);
            return;
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    let body = match body::load_body(&cfg.body, &cfg.model, cfg.stream) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    // Leaked on purpose: the requests live as long as the process, and a
    // `&'static [u8]` is the cheapest buffer to hand to every write.
    let requests: Vec<&'static [u8]> = cfg
        .targets
        .iter()
        .map(|t| {
            &*Box::leak(body::build_request(t, &cfg.headers, &body, cfg.stream).into_boxed_slice())
        })
        .collect();

    let shutdown = shards::Shutdown::new();
    if let Err(e) = shards::install_signal_handler(shutdown.clone()) {
        log::warn!("no SIGINT handler ({e}); Ctrl-C will not print a report");
    }
    let per_shard = run::split(cfg.connections, cfg.threads, 0) * cfg.targets.len();
    let scfg = shards::ShardConfig {
        shards: cfg.threads,
        driver: cfg.driver,
        pin: false, // --cpus pins inside the shard; by default the scheduler decides
        uring_entries: (2 * per_shard + 64).next_power_of_two().clamp(256, 16384) as u32,
        name: "loadgen".to_string(),
    };
    let plan = Arc::new(run::Plan::new(cfg.clone(), requests));
    let p = plan.clone();
    let cpu_before = cpu_time_us();
    if let Err(e) = shards::run_with(&scfg, shutdown, move |info| {
        run::shard_main(info, p.clone())
    }) {
        eprintln!("loadgen: {e}");
        std::process::exit(1);
    }
    // ok: the shards have all finished; a poisoned lock means one panicked.
    let mut results = std::mem::take(&mut *plan.results.lock().expect("results lock"));
    results.sort_by_key(|r| r.index);
    let errors: Vec<&str> = results.iter().filter_map(|r| r.error.as_deref()).collect();
    if !errors.is_empty() || results.len() != cfg.threads {
        for e in &errors {
            eprintln!("loadgen: {e}");
        }
        eprintln!("loadgen: the run failed");
        std::process::exit(1);
    }

    let cpu_us = cpu_time_us() - cpu_before;
    let mut report = build_report(&cfg, &results, body.len());
    let sent: u64 = results
        .iter()
        .flat_map(|r| &r.stats)
        .map(|s| s.sent_total)
        .sum();
    if sent > 0 {
        report.cpu_us_per_req = Some((cpu_us / sent as f64 * 100.0).round() / 100.0);
    }
    if !cfg.quiet {
        print!("{}", report.text());
    }
    if let Some(path) = &cfg.json {
        // ok: the report is plain data; serializing it cannot fail.
        let json = serde_json::to_string_pretty(&report).expect("report serializes");
        let written = if path.as_os_str() == "-" {
            writeln!(std::io::stdout(), "{json}")
        } else {
            std::fs::write(path, json + "\n")
        };
        if let Err(e) = written {
            eprintln!("loadgen: --json: cannot write '{}': {e}", path.display());
            std::process::exit(1);
        }
    }
}

/// User + system CPU time of the whole process, in µs.
fn cpu_time_us() -> f64 {
    // SAFETY: getrusage fills the struct we own.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn build_report(cfg: &cli::Config, results: &[run::ShardResult], body_bytes: usize) -> Report {
    let drivers: Vec<&str> = results.iter().map(|r| r.driver).collect();
    let driver = if drivers.windows(2).all(|w| w[0] == w[1]) {
        drivers.first().copied().unwrap_or("none").to_string()
    } else {
        drivers.join(",")
    };
    // Shorter than --duration only after Ctrl-C.
    let measured_ns = results.iter().map(|r| r.measured_ns).max().unwrap_or(0);
    let info = RunInfo {
        closed_loop: cfg.closed_loop,
        qps: cfg.qps,
        duration_s: measured_ns as f64 / 1e9,
        connections: cfg.connections,
        threads: cfg.threads,
        driver,
        body_bytes,
        stream: cfg.stream,
    };
    let n = cfg.targets.len();
    let per_target: Vec<Stats> = (0..n)
        .map(|t| {
            let mut s = Stats::default();
            for r in results {
                s.merge(&r.stats[t]);
            }
            s
        })
        .collect();
    let from = cfg.warmup.as_nanos() as u64;
    let to = from + measured_ns;
    let slice = cfg.slice.as_nanos() as u64;
    let window = |t| pacer::target_time(from, to, 0, slice, t, n);
    if !cfg.compare {
        return Report::new(cfg.targets[0].url.clone(), &per_target[0], &info, window(0));
    }
    let direct = Report::new(cfg.targets[0].url.clone(), &per_target[0], &info, window(0));
    let proxied = Report::new(cfg.targets[1].url.clone(), &per_target[1], &info, window(1));
    let mut all = Stats::default();
    for s in &per_target {
        all.merge(s);
    }
    let name = format!("{} vs {}", cfg.targets[0].url, cfg.targets[1].url);
    let mut top = Report::new(name, &all, &info, to - from);
    top.rate_achieved = direct.rate_achieved && proxied.rate_achieved;
    top.with_compare(direct, proxied)
}
