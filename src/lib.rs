//! Ringway: a thread-per-core, LiteLLM-compatible LLM gateway.
//!
//! Read `ARCHITECTURE.md` first. The request path, in order:
//! `server` (listener, connection loop) -> `http` (parse) -> `auth` ->
//! limits (in `server`) -> `router` -> `translate` -> `upstream` (pool) ->
//! back through `server` (stream back). `config` loads LiteLLM's
//! `config.yaml`; `mock` answers `mock_response` deployments.

pub mod anthropic;
pub mod auth;
pub mod bedrock;
pub(crate) mod chat;
pub mod cli;
pub mod cohere;
pub mod config;
pub(crate) mod convert;
pub mod errors;
pub mod gcp_auth;
pub mod gemini;
pub mod http;
pub mod json;
pub mod mock;
pub mod providers;
pub mod proxy;
pub mod responses;
pub mod router;
pub mod server;
pub mod translate;
pub mod upstream;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

/// Starts the gateway, turning SIGTERM/SIGINT into a graceful shutdown, and
/// blocks until it has stopped. Prints `ringway listening on http://ADDR`
/// once every shard accepts connections.
pub fn run(opts: cli::Options) -> Result<(), String> {
    let shutdown = shards::Shutdown::new();
    shards::install_signal_handler(shutdown.clone()).map_err(|e| e.to_string())?;
    serve(opts, shutdown, |addr| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "ringway listening on http://{addr}");
        let _ = out.flush();
    })
}

/// Runs the gateway until `shutdown` is triggered; `on_ready` gets the bound
/// address once every shard listens. Embeddable (tests run it in-process).
pub fn serve(
    opts: cli::Options,
    shutdown: shards::Shutdown,
    on_ready: impl FnOnce(SocketAddr) + Send + 'static,
) -> Result<(), String> {
    let cfg = match &opts.config {
        Some(p) => config::Config::from_path(p).map_err(|e| e.to_string())?,
        None => config::Config::empty(),
    };
    for w in &cfg.warnings {
        log::warn!("{w}");
    }
    let gw = Arc::new(server::Gateway::new(&cfg)?);
    for r in &gw.router.routes {
        if let router::Backend::Unsupported(msg) = &r.backend {
            log::warn!("{msg}");
        }
    }
    if gw.master_key.is_none() {
        log::warn!("no general_settings.master_key: every caller is admitted (development mode)");
    }
    let ip: std::net::IpAddr = opts
        .host
        .parse()
        .map_err(|_| format!("--host '{}' is not an IP address", opts.host))?;
    let (addr, probe) = shards::reserve_port(SocketAddr::new(ip, opts.port))
        .map_err(|e| format!("cannot bind {ip}:{}: {e}", opts.port))?;
    let shard_cfg = shards::ShardConfig {
        shards: opts.num_workers,
        driver: opts.driver,
        pin: opts.pin,
        uring_entries: 1024,
        name: "ringway-shard".into(),
    };
    let count = if opts.num_workers == 0 {
        shards::allowed_cpus().len().max(1)
    } else {
        opts.num_workers
    };
    log::info!(
        "ringway {} starting {count} shard(s), {} model deployment(s)",
        env!("CARGO_PKG_VERSION"),
        gw.router.routes.len()
    );
    // Announce the address once every shard's listener is up.
    let ready = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let announcer = {
        let ready = ready.clone();
        let shutdown = shutdown.clone();
        std::thread::spawn(move || {
            while ready.load(std::sync::atomic::Ordering::Acquire) < count {
                if shutdown.is_triggered() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            drop(probe);
            on_ready(addr);
        })
    };
    let result = shards::run_with(&shard_cfg, shutdown.clone(), move |info| {
        let gw = gw.clone();
        let ready = ready.clone();
        async move {
            log::debug!("shard {} pinned to cpu {:?}", info.index, info.core);
            server::run_shard(gw, info, addr, ready).await
        }
    });
    let _ = announcer.join();
    result.map_err(|e| e.to_string())?;
    if server::FAILED.load(std::sync::atomic::Ordering::Acquire) {
        return Err(format!("could not listen on {addr}"));
    }
    log::info!("ringway stopped");
    Ok(())
}

/// A minimal stderr logger: `level timestamp message`. `RINGWAY_LOG` or
/// `--log-level` picks the level.
pub fn init_logging(level: log::LevelFilter) {
    struct Stderr;
    impl log::Log for Stderr {
        fn enabled(&self, m: &log::Metadata) -> bool {
            m.level() <= log::max_level()
        }
        fn log(&self, r: &log::Record) {
            if self.enabled(r.metadata()) {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "{:>5} {}.{:03} {}",
                    r.level(),
                    t.as_secs(),
                    t.subsec_millis(),
                    r.args()
                );
            }
        }
        fn flush(&self) {}
    }
    static LOGGER: Stderr = Stderr;
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
