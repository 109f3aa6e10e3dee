//! Command-line options: LiteLLM's flags where they apply (`--config`,
//! `--port`, `--host`, `--num_workers`, `--detailed_debug`), plus Ringway's own.

use std::path::PathBuf;

pub const HELP: &str = "\
ringway: a thread-per-core, LiteLLM-compatible LLM gateway

USAGE:
    ringway [--config config.yaml] [--port 4000] [--host 0.0.0.0] [OPTIONS]

LiteLLM-compatible options:
    --config <FILE>        LiteLLM config.yaml (model_list, general_settings, ...)
    --port <PORT>          port to listen on [default: 4000]; 0 picks a free one
    --host <IP>            address to listen on [default: 0.0.0.0]
    --num_workers <N>      number of shards (one thread per core) [default: one per allowed CPU]
    --detailed_debug       debug logging (same as --log-level debug)

Ringway options:
    --driver <D>           auto | uring | epoll [default: auto: io_uring, else epoll]
    --no-pin               do not pin shards to CPUs
    --log-level <L>        error | warn | info | debug | trace [default: info; env RINGWAY_LOG]
    -h, --help             print this help
    -V, --version          print the version

The listening address is printed on stdout as `ringway listening on http://IP:PORT`
once every shard accepts connections. SIGTERM/SIGINT stop accepting, finish
in-flight requests (ringway_settings.shutdown_grace_ms) and exit 0.
";

#[derive(Clone, Debug)]
pub struct Options {
    pub config: Option<PathBuf>,
    pub port: u16,
    pub host: String,
    pub num_workers: usize,
    pub driver: shards::Driver,
    pub pin: bool,
    pub log_level: log::LevelFilter,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config: None,
            port: 4000,
            host: "0.0.0.0".into(),
            num_workers: 0,
            driver: shards::Driver::Auto,
            pin: true,
            log_level: log::LevelFilter::Info,
        }
    }
}

/// What the command line asked for.
pub enum Parsed {
    Run(Options),
    Help,
    Version,
}

pub fn parse<I: IntoIterator<Item = std::ffi::OsString>>(args: I) -> Result<Parsed, String> {
    use lexopt::prelude::*;
    let mut o = Options::default();
    if let Ok(l) = std::env::var("RINGWAY_LOG") {
        o.log_level = l
            .parse()
            .map_err(|_| format!("RINGWAY_LOG: unknown level '{l}'"))?;
    }
    let mut p = lexopt::Parser::from_args(args);
    let text = |v: std::ffi::OsString| {
        v.into_string()
            .map_err(|_| "argument is not UTF-8".to_string())
    };
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        match arg {
            Long("config") | Short('c') => {
                o.config = Some(PathBuf::from(p.value().map_err(|e| e.to_string())?))
            }
            Long("port") | Short('p') => {
                let v = text(p.value().map_err(|e| e.to_string())?)?;
                o.port = v
                    .parse()
                    .map_err(|_| format!("--port: '{v}' is not a port"))?;
            }
            Long("host") => o.host = text(p.value().map_err(|e| e.to_string())?)?,
            Long("num_workers") | Long("num-workers") => {
                let v = text(p.value().map_err(|e| e.to_string())?)?;
                o.num_workers = v
                    .parse()
                    .map_err(|_| format!("--num_workers: '{v}' is not a number"))?;
            }
            Long("driver") => {
                let v = text(p.value().map_err(|e| e.to_string())?)?;
                o.driver = v.parse()?;
            }
            Long("no-pin") => o.pin = false,
            Long("detailed_debug") | Long("debug") => o.log_level = log::LevelFilter::Debug,
            Long("log-level") => {
                let v = text(p.value().map_err(|e| e.to_string())?)?;
                o.log_level = v
                    .parse()
                    .map_err(|_| format!("--log-level: unknown level '{v}'"))?;
            }
            Long("help") | Short('h') => return Ok(Parsed::Help),
            Long("version") | Short('V') => return Ok(Parsed::Version),
            other => return Err(format!("{}; see --help", other.unexpected())),
        }
    }
    Ok(Parsed::Run(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Options {
        match parse(args.iter().map(std::ffi::OsString::from)).unwrap() {
            Parsed::Run(o) => o,
            _ => panic!("not a run"),
        }
    }

    #[test]
    fn litellm_flags() {
        let o = run(&[
            "--config",
            "c.yaml",
            "--port",
            "4001",
            "--host",
            "127.0.0.1",
            "--num_workers",
            "3",
        ]);
        assert_eq!(o.config.as_deref(), Some(std::path::Path::new("c.yaml")));
        assert_eq!(
            (o.port, o.host.as_str(), o.num_workers),
            (4001, "127.0.0.1", 3)
        );
        assert_eq!(run(&[]).port, 4000);
        assert_eq!(run(&["--driver", "epoll"]).driver, shards::Driver::Epoll);
    }

    #[test]
    fn errors() {
        assert!(parse(["--port", "x"].iter().map(std::ffi::OsString::from)).is_err());
        assert!(parse(["--bogus"].iter().map(std::ffi::OsString::from)).is_err());
    }
}
