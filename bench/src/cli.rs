//! Flags, the two profiles, and the frozen [`Options`] the run works from.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

pub const HELP: &str = "\
ringway-bench: Ringway's overhead over a direct call, side by side with nginx, in one command

USAGE:
    cargo build --release --workspace
    target/release/ringway-bench [--profile short|full] [--reference nginx] [OPTIONS]
    target/release/ringway-bench --cross-format-only [--duration D]

It starts mock_llm (zero latency), ringway (one shard) and, with --reference
nginx, an nginx proxy_pass (one worker, upstream keep-alive pool) in front of
the same mock, pins them to CPUs when there are enough, drives them with
loadgen, prints one table and writes every number to a JSON file.

OPTIONS:
    --profile P          short (CI: < 3 min on 2 cores) | full (the whole matrix) [default: short]
    --reference R        nginx | none [default: none]
    --gate FILE          after the run, check the same-run ratios against this budget
                         (.ci/perf-budget.json); exit 1 on a breach
    --json FILE          where the JSON results go [default: a new file in the temp dir]
    --bin-dir DIR        where ringway, mock_llm and loadgen are
                         [default: next to this binary, else ./target/release]
    --ringway PATH       the ringway binary [default: BIN_DIR/ringway]
    --mock PATH          the mock_llm binary [default: BIN_DIR/mock_llm]
    --loadgen PATH       the loadgen binary [default: BIN_DIR/loadgen]
    --nginx PATH         the nginx binary [default: nginx on PATH, else /usr/sbin/nginx]
    --driver D           ringway's driver: auto | uring | epoll [default: auto]
    --qps LIST           fixed rates for direct vs proxied, e.g. 500,1000,2000,5000
    --duration D         measured time of every run (profile's default otherwise)
    --bodies LIST        body sizes for the body-size runs, e.g. 2k,32k
    --connections N      closed-loop connections per target [default: 64]
    --sse-streams N      concurrent SSE streams in the SSE run
    --sse-tokens N       tokens (events) per mock stream, 20 ms apart [default: 20]
    --rss-connections N  keep-alive connections held for the RSS check
    --syscalls S         how syscalls are counted: auto (perf, else strace) | perf | strace | off
                         [default: auto]
    --cross-format       also measure format translation: OpenAI client on an anthropic/
                         deployment (O→A) and Anthropic client on an openai/ one (A→O),
                         next to passthrough, at 2 KB and 32 KB, 1000 req/s [full: on]
    --cross-format-only  run only that phase (no other phase, no nginx, no gate)
    --no-pin             do not pin anything to CPUs
    --keep-temp          keep the temp dir (configs, logs, raw loadgen JSON)
    --render FILE        run nothing: print the table of an earlier results JSON (and,
                         with --gate, that run's gate verdict)
    -h, --help           this text

Durations take ms or s suffixes (a bare number is seconds), 100ms at least; the
warm-up before each run (1 s) stays as it is.

PROFILES:
    short   QPS 500,1000,2000; 3 s per run (1 s warm-up); closed loop 3 s; SSE 3 s with
            200 streams; 32 KB body at 1000 QPS; RSS check 2 s with 1000 connections
    full    QPS 500,1000,2000,5000; 10 s per run; closed loop 10 s; SSE 10 s with 1000
            streams; 2 KB and 32 KB bodies at every QPS; RSS check 10 s with 1000 connections;
            cross-format (--cross-format)

Exit status: 0 after a run (and a passed gate), 1 on a failed run, a cross-format
run with errors or a gate breach, 2 on a usage error.
";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    Short,
    Full,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Short => "short",
            Profile::Full => "full",
        }
    }
}

/// Everything a run needs, profile defaults already applied.
#[derive(Clone, Debug)]
pub struct Options {
    pub profile: Profile,
    pub nginx: bool,
    pub gate: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub bin_dir: Option<PathBuf>,
    pub ringway: Option<PathBuf>,
    pub mock: Option<PathBuf>,
    pub loadgen: Option<PathBuf>,
    pub nginx_bin: Option<PathBuf>,
    pub driver: String,
    /// Fixed rates of the 2 KB direct-vs-proxied runs.
    pub qps: Vec<u32>,
    /// Measured time of every run.
    pub duration: Duration,
    /// Unmeasured time before it.
    pub warmup: Duration,
    /// Extra body sizes (besides the 2 KB of the main runs) and the rates
    /// they run at.
    pub bodies: Vec<String>,
    pub body_qps: Vec<u32>,
    pub connections: usize,
    pub sse_streams: usize,
    pub sse_tokens: usize,
    pub sse_inter_token_ms: u32,
    pub rss_connections: usize,
    /// How long each RSS-check run lasts.
    pub rss_duration: Duration,
    /// Rate of the syscall-count runs, and how long perf/strace watch.
    pub syscall_qps: u32,
    pub syscall_window: Duration,
    /// auto | perf | strace | off.
    pub syscalls: String,
    /// The cross-format phase (O→A, A→O next to passthrough).
    pub cross_format: bool,
    /// Only that phase.
    pub cross_only: bool,
    pub pin: bool,
    pub keep_temp: bool,
    /// Print the table of this results JSON instead of running.
    pub render: Option<PathBuf>,
}

impl Options {
    fn for_profile(p: Profile) -> Options {
        let short = p == Profile::Short;
        Options {
            profile: p,
            nginx: false,
            gate: None,
            json: None,
            bin_dir: None,
            ringway: None,
            mock: None,
            loadgen: None,
            nginx_bin: None,
            driver: "auto".to_string(),
            qps: if short {
                vec![500, 1000, 2000]
            } else {
                vec![500, 1000, 2000, 5000]
            },
            duration: Duration::from_secs(if short { 3 } else { 10 }),
            warmup: Duration::from_secs(1),
            bodies: if short {
                vec!["32k".to_string()]
            } else {
                vec!["2k".to_string(), "32k".to_string()]
            },
            body_qps: if short {
                vec![1000]
            } else {
                vec![500, 1000, 2000, 5000]
            },
            connections: 64,
            sse_streams: if short { 200 } else { 1000 },
            sse_tokens: 20,
            sse_inter_token_ms: 20,
            rss_connections: 1000,
            rss_duration: Duration::from_secs(if short { 2 } else { 10 }),
            syscall_qps: 1000,
            syscall_window: Duration::from_secs(2),
            syscalls: "auto".to_string(),
            cross_format: !short,
            cross_only: false,
            pin: true,
            keep_temp: false,
            render: None,
        }
    }
}

/// A flag's effect, applied after the profile's defaults.
type Setter = Box<dyn FnOnce(&mut Options)>;

#[derive(Debug)]
pub enum Parsed {
    Run(Box<Options>),
    Help,
}

/// Parses `args` (without the program name). Profile defaults are applied
/// first, so `--qps` etc. override them wherever they appear.
pub fn parse<I>(args: I) -> Result<Parsed, String>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_args(args);
    let mut profile = Profile::Short;
    let mut set: Vec<Setter> = Vec::new();
    let err = |e: lexopt::Error| e.to_string();
    while let Some(arg) = p.next().map_err(err)? {
        match arg {
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Long("profile") => {
                profile = match str_value(&mut p, "--profile")?.as_str() {
                    "short" => Profile::Short,
                    "full" => Profile::Full,
                    v => return Err(format!("--profile: '{v}': expected short or full")),
                }
            }
            Long("reference") => {
                let on = match str_value(&mut p, "--reference")?.as_str() {
                    "nginx" => true,
                    "none" => false,
                    v => return Err(format!("--reference: '{v}': expected nginx or none")),
                };
                set.push(Box::new(move |o| o.nginx = on));
            }
            Long("gate") => {
                let v = path_value(&mut p)?;
                set.push(Box::new(move |o| o.gate = Some(v)));
            }
            Long("json") => {
                let v = path_value(&mut p)?;
                set.push(Box::new(move |o| o.json = Some(v)));
            }
            Long("bin-dir") => {
                let v = path_value(&mut p)?;
                set.push(Box::new(move |o| o.bin_dir = Some(v)));
            }
            Long("ringway") => {
                let v = path_value(&mut p)?;
                set.push(Box::new(move |o| o.ringway = Some(v)));
            }
            Long("mock") => {
                let v = path_value(&mut p)?;
                set.push(Box::new(move |o| o.mock = Some(v)));
            }
            Long("loadgen") => {
                let v = path_value(&mut p)?;
                set.push(Box::new(move |o| o.loadgen = Some(v)));
            }
            Long("nginx") => {
                let v = path_value(&mut p)?;
                set.push(Box::new(move |o| o.nginx_bin = Some(v)));
            }
            Long("driver") => {
                let v = str_value(&mut p, "--driver")?;
                if !["auto", "uring", "epoll"].contains(&v.as_str()) {
                    return Err(format!("--driver: '{v}': expected auto, uring or epoll"));
                }
                set.push(Box::new(move |o| o.driver = v));
            }
            Long("qps") => {
                let v = list_value(&mut p, "--qps")?;
                set.push(Box::new(move |o| o.qps = v));
            }
            Long("duration") => {
                let v = duration_value(&mut p, "--duration")?;
                set.push(Box::new(move |o| o.duration = v));
            }
            Long("bodies") => {
                let v = str_value(&mut p, "--bodies")?;
                let list: Vec<String> = v
                    .split(',')
                    .map(|s| s.trim().to_ascii_lowercase())
                    .filter(|s| !s.is_empty())
                    .collect();
                if list.is_empty() || !list.iter().all(|b| is_body_size(b)) {
                    return Err(format!(
                        "--bodies: '{v}': expected sizes like 2k,32k,256k or byte counts"
                    ));
                }
                set.push(Box::new(move |o| o.bodies = list));
            }
            Long("connections") => {
                let v = count_value(&mut p, "--connections")?;
                set.push(Box::new(move |o| o.connections = v));
            }
            Long("sse-streams") => {
                let v = count_value(&mut p, "--sse-streams")?;
                set.push(Box::new(move |o| o.sse_streams = v));
            }
            Long("sse-tokens") => {
                let v = count_value(&mut p, "--sse-tokens")?;
                set.push(Box::new(move |o| o.sse_tokens = v));
            }
            Long("rss-connections") => {
                let v = count_value(&mut p, "--rss-connections")?;
                set.push(Box::new(move |o| o.rss_connections = v));
            }
            Long("syscalls") => {
                let v = str_value(&mut p, "--syscalls")?;
                if !["auto", "perf", "strace", "off"].contains(&v.as_str()) {
                    return Err(format!(
                        "--syscalls: '{v}': expected auto, perf, strace or off"
                    ));
                }
                set.push(Box::new(move |o| o.syscalls = v));
            }
            Long("render") => {
                let v = path_value(&mut p)?;
                set.push(Box::new(move |o| o.render = Some(v)));
            }
            Long("cross-format") => set.push(Box::new(|o| o.cross_format = true)),
            Long("cross-format-only") => set.push(Box::new(|o| {
                o.cross_format = true;
                o.cross_only = true;
            })),
            Long("no-pin") => set.push(Box::new(|o| o.pin = false)),
            Long("keep-temp") => set.push(Box::new(|o| o.keep_temp = true)),
            other => return Err(other.unexpected().to_string()),
        }
    }
    let mut o = Options::for_profile(profile);
    for f in set {
        f(&mut o);
    }
    if o.gate.is_some() && !o.nginx && o.render.is_none() {
        return Err(
            "--gate: the gate compares Ringway with nginx from the same run; add --reference nginx"
                .to_string(),
        );
    }
    if o.gate.is_some() && o.cross_only {
        return Err(
            "--gate: the gate reads the phases that --cross-format-only skips; drop one of them"
                .to_string(),
        );
    }
    if o.gate.is_some() && !o.qps.contains(&1000) {
        return Err("--gate: the gate reads the 1000 QPS run; keep 1000 in --qps".to_string());
    }
    Ok(Parsed::Run(Box::new(o)))
}

fn is_body_size(s: &str) -> bool {
    let digits = s.trim_end_matches(['k', 'm']);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && digits != "0"
}

fn str_value(p: &mut lexopt::Parser, flag: &str) -> Result<String, String> {
    let v = p.value().map_err(|e| format!("{flag}: {e}"))?;
    v.into_string()
        .map_err(|v| format!("{flag}: '{}' is not UTF-8", v.to_string_lossy()))
}

fn path_value(p: &mut lexopt::Parser) -> Result<PathBuf, String> {
    Ok(PathBuf::from(p.value().map_err(|e| e.to_string())?))
}

fn count_value(p: &mut lexopt::Parser, flag: &str) -> Result<usize, String> {
    let v = str_value(p, flag)?;
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{flag}: must be a whole number >= 1, got '{v}'")),
    }
}

fn list_value(p: &mut lexopt::Parser, flag: &str) -> Result<Vec<u32>, String> {
    let v = str_value(p, flag)?;
    let mut out = Vec::new();
    for part in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match part.parse::<u32>() {
            Ok(n) if n > 0 => out.push(n),
            _ => return Err(format!("{flag}: '{part}' is not a rate >= 1")),
        }
    }
    if out.is_empty() {
        return Err(format!("{flag}: expected a list like 500,1000,2000"));
    }
    Ok(out)
}

fn duration_value(p: &mut lexopt::Parser, flag: &str) -> Result<Duration, String> {
    let v = str_value(p, flag)?;
    parse_duration(&v).map_err(|e| format!("{flag}: '{v}': {e}"))
}

/// `3s`, `500ms`, `1.5` (seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        (s, 1.0)
    };
    let n: f64 = num
        .parse()
        .map_err(|_| "expected a number of seconds, or ms/s suffixed".to_string())?;
    let secs = n * scale;
    if !(0.1..=3600.0).contains(&secs) {
        return Err("must be between 100ms and 1 hour".to_string());
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Options, String> {
        match parse(args.iter().map(|s| s.to_string()))? {
            Parsed::Run(o) => Ok(*o),
            Parsed::Help => Err("help".to_string()),
        }
    }

    #[test]
    fn profiles_and_overrides() {
        let o = run(&[]).unwrap();
        assert_eq!(o.profile, Profile::Short);
        assert_eq!(o.qps, vec![500, 1000, 2000]);
        assert!(!o.nginx);
        let o = run(&["--qps", "1000,3000", "--profile", "full"]).unwrap();
        assert_eq!(o.profile, Profile::Full);
        // An explicit flag wins over the profile wherever it appears.
        assert_eq!(o.qps, vec![1000, 3000]);
        assert_eq!(o.duration, Duration::from_secs(10));
        let o = run(&["--duration", "500ms", "--bodies", "2k,256K"]).unwrap();
        assert_eq!(o.duration, Duration::from_millis(500));
        assert_eq!(o.bodies, vec!["2k", "256k"]);
    }

    #[test]
    fn cross_format_is_full_or_asked_for() {
        let o = run(&[]).unwrap();
        assert!(!o.cross_format && !o.cross_only);
        assert!(run(&["--profile", "full"]).unwrap().cross_format);
        let o = run(&["--cross-format"]).unwrap();
        assert_eq!(o.profile, Profile::Short);
        assert!(o.cross_format && !o.cross_only);
        let o = run(&["--cross-format-only", "--duration", "100ms"]).unwrap();
        assert!(o.cross_format && o.cross_only);
        assert!(run(&[
            "--cross-format-only",
            "--reference",
            "nginx",
            "--gate",
            "b.json"
        ])
        .unwrap_err()
        .contains("--cross-format-only"));
    }

    #[test]
    fn errors_name_the_flag() {
        assert!(run(&["--profile", "long"])
            .unwrap_err()
            .starts_with("--profile"));
        assert!(run(&["--qps", "0"]).unwrap_err().starts_with("--qps"));
        assert!(run(&["--bodies", "big"])
            .unwrap_err()
            .starts_with("--bodies"));
        assert!(run(&["--gate", "x.json"])
            .unwrap_err()
            .contains("--reference nginx"));
        assert!(run(&["--driver", "kqueue"])
            .unwrap_err()
            .starts_with("--driver"));
        assert!(run(&["--duration", "0"]).is_err());
        assert!(matches!(parse(["-h".to_string()]), Ok(Parsed::Help)));
    }
}
