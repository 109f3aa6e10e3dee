//! Command line: parse the raw flags, validate them, and freeze a [`Config`].
//!
//! Every error message starts with the flag it is about, then gives the value
//! the user typed and the rule it broke, so a typo in a bench script points at
//! itself. A config error makes `main` exit with status 2 before any socket
//! is opened.

use std::ffi::OsString;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

pub const HELP: &str = "\
loadgen: open-loop (fixed QPS, coordinated-omission corrected) or closed-loop HTTP/1.1 load generator

USAGE:
    loadgen URL --qps N [OPTIONS]
    loadgen --compare DIRECT_URL PROXIED_URL --qps N [OPTIONS]
    loadgen URL --closed-loop --connections N [OPTIONS]

URL is plain http://host[:port]/path (no TLS), e.g. http://127.0.0.1:4000/v1/chat/completions

OPTIONS:
    --qps N               target request rate, all threads together (open loop; required there)
    --duration D          measured time, after the warm-up [default: 10s]
    --warmup D            unmeasured time before it [default: 1s]
    --connections N       connections per target, split across threads [default: 32]
    --threads N           shards (pinned monoio threads) [default: 1]
    --cpus LIST           pin shard i to the i-th CPU of LIST, e.g. 1,2 or 0-3 [default: no pinning]
    --driver D            auto | uring | epoll [default: epoll]
    --body B              2k | 32k | 256k | any size like 8k or 5000 | @file.json [default: 2k]
    --model NAME          \"model\" of the built-in chat body [default: gpt-4o-mini]
    --stream              ask for SSE (\"stream\": true) and report TTFT and the inter-event gap
    --header 'K: V'       extra request header, repeatable (e.g. 'Authorization: Bearer sk-1')
    --timeout D           per-request deadline from the send; also bounds connect [default: 10s]
    --max-backlog N       per shard and target: queued, unsent requests beyond this are
                          dropped and reported [default: one second of requests, min 64]
    --slice D             --compare slice length; targets alternate every D [default: 250ms]
    --spin auto|D         open loop: stop sleeping this long before each send and poll until
                          its exact time (see 'Pacing' below) [default: auto]
    --closed-loop         each connection sends its next request as soon as the last completes
    --compare DIRECT PROXIED
                          run both targets in alternating slices of one run and print
                          proxied - direct per percentile
    --json FILE           also write the report as JSON ('-' for stdout)
    --quiet               no text report on stdout (warnings still go to stderr)
    -h, --help            this text

Durations take ns, us, ms, s or m suffixes (a bare number is seconds).

Pacing: a timerfd wakes the shard close to each send time and the shard then
polls (still serving responses) until the exact nanosecond. 'auto' learns the
timer's wake-up lag (tens of µs in a VM) and starts polling just before it;
'--spin 0' only sleeps (cheapest, sends late by the wake-up lag, shown as
'send lag'); '--spin 1s' never sleeps (a full core, most precise).
Exit status: 0 after a run (even when the target rate was not reached: see
rate_achieved), 1 when the runtime failed, 2 on a config error.
";

/// One HTTP target, resolved.
#[derive(Clone, Debug)]
pub struct Target {
    /// The URL as the user typed it.
    pub url: String,
    pub addr: SocketAddr,
    /// Value of the `Host` header: the authority from the URL.
    pub host: String,
    /// Path and query, at least `/`.
    pub path: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodySpec {
    /// Built-in OpenAI chat request padded to exactly this many bytes.
    Size(usize),
    /// Sent verbatim.
    File(PathBuf),
}

#[derive(Clone, Debug)]
pub struct Config {
    /// One target, or `[direct, proxied]` with `--compare`.
    pub targets: Vec<Target>,
    pub compare: bool,
    pub closed_loop: bool,
    /// Open loop only: requests per second over all shards.
    pub qps: f64,
    pub duration: Duration,
    pub warmup: Duration,
    /// Per target, over all shards.
    pub connections: usize,
    pub threads: usize,
    pub cpus: Option<Vec<usize>>,
    pub driver: shards::Driver,
    pub body: BodySpec,
    pub model: String,
    pub stream: bool,
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    pub max_backlog: Option<usize>,
    pub slice: Duration,
    pub spin: Spin,
    pub json: Option<PathBuf>,
    pub quiet: bool,
}

/// How early the pacer stops sleeping and starts polling before a send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spin {
    /// Learn the timer's wake-up lag and wake just early enough.
    Auto,
    /// A fixed window in ns; 0 = timer only, longer than the gap = busy poll.
    Fixed(u64),
}

/// What `parse` decided.
#[derive(Debug)]
pub enum Parsed {
    Run(Box<Config>),
    Help,
}

/// Parses and validates `args` (without the program name).
pub fn parse<I>(args: I) -> Result<Parsed, String>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_args(args);
    let mut urls: Vec<String> = Vec::new();
    let mut compare: Option<(String, String)> = None;
    let mut qps: Option<f64> = None;
    let mut duration = Duration::from_secs(10);
    let mut warmup = Duration::from_secs(1);
    let mut connections = 32usize;
    let mut threads = 1usize;
    let mut cpus = None;
    let mut driver = shards::Driver::Epoll;
    let mut body = BodySpec::Size(2048);
    let mut model = "gpt-4o-mini".to_string();
    let mut stream = false;
    let mut headers = Vec::new();
    let mut timeout = Duration::from_secs(10);
    let mut max_backlog = None;
    let mut slice = Duration::from_millis(250);
    let mut spin = Spin::Auto;
    let mut json = None;
    let mut quiet = false;
    let mut closed_loop = false;

    let err = |e: lexopt::Error| e.to_string();
    while let Some(arg) = p.next().map_err(err)? {
        match arg {
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Long("qps") => {
                let v = str_value(&mut p, "--qps")?;
                let n: f64 = v
                    .parse()
                    .map_err(|_| format!("--qps: '{v}' is not a number"))?;
                if !(n.is_finite() && n > 0.0) {
                    return Err(format!("--qps: must be a positive rate, got '{v}'"));
                }
                qps = Some(n);
            }
            Long("duration") => duration = duration_value(&mut p, "--duration")?,
            Long("warmup") => warmup = duration_value(&mut p, "--warmup")?,
            Long("timeout") => timeout = duration_value(&mut p, "--timeout")?,
            Long("slice") => slice = duration_value(&mut p, "--slice")?,
            Long("spin") => {
                let v = str_value(&mut p, "--spin")?;
                spin = if v == "auto" {
                    Spin::Auto
                } else {
                    let d = parse_duration(&v).map_err(|e| format!("--spin: '{v}': {e}"))?;
                    Spin::Fixed(d.as_nanos().min(u64::MAX as u128) as u64)
                };
            }
            Long("connections") | Short('c') => {
                connections = count_value(&mut p, "--connections")?;
            }
            Long("threads") | Short('t') => threads = count_value(&mut p, "--threads")?,
            Long("max-backlog") => max_backlog = Some(count_value(&mut p, "--max-backlog")?),
            Long("cpus") => {
                let v = str_value(&mut p, "--cpus")?;
                cpus = Some(parse_cpus(&v).map_err(|e| format!("--cpus: '{v}': {e}"))?);
            }
            Long("driver") => {
                let v = str_value(&mut p, "--driver")?;
                driver = v.parse().map_err(|e| format!("--driver: {e}"))?;
            }
            Long("body") => {
                let v = str_value(&mut p, "--body")?;
                body = parse_body(&v).map_err(|e| format!("--body: '{v}': {e}"))?;
            }
            Long("model") => model = str_value(&mut p, "--model")?,
            Long("stream") => stream = true,
            Long("header") | Short('H') => {
                let v = str_value(&mut p, "--header")?;
                headers.push(parse_header(&v).map_err(|e| format!("--header: '{v}': {e}"))?);
            }
            Long("json") => json = Some(PathBuf::from(p.value().map_err(err)?)),
            Long("quiet") | Short('q') => quiet = true,
            Long("closed-loop") => closed_loop = true,
            Long("compare") => {
                let a = str_value(&mut p, "--compare")?;
                let b = match p.next().map_err(err)? {
                    Some(Value(v)) => v
                        .into_string()
                        .map_err(|_| "--compare: PROXIED_URL is not UTF-8".to_string())?,
                    _ => {
                        return Err("--compare: needs two URLs, DIRECT_URL PROXIED_URL".to_string())
                    }
                };
                compare = Some((a, b));
            }
            Value(v) => urls.push(v.into_string().map_err(|_| "URL: not UTF-8".to_string())?),
            other => return Err(other.unexpected().to_string()),
        }
    }

    let compare_on = compare.is_some();
    let url_list = match (compare, urls.len()) {
        (Some((a, b)), 0) => vec![a, b],
        (Some(_), _) => {
            return Err(format!(
                "URL: '{}' given together with --compare; give the two URLs to --compare only",
                urls[0]
            ))
        }
        (None, 1) => urls,
        (None, 0) => return Err("URL: missing; try 'loadgen --help'".to_string()),
        (None, _) => {
            return Err(format!(
                "URL: expected one, got {}: {}; use --compare DIRECT PROXIED for two",
                urls.len(),
                urls.join(" ")
            ))
        }
    };
    let mut targets = Vec::with_capacity(url_list.len());
    for u in url_list {
        targets.push(parse_url(&u)?);
    }

    let qps = match (closed_loop, qps) {
        (true, Some(q)) => {
            return Err(format!(
                "--qps: '{q}' cannot be combined with --closed-loop, which runs as fast as the server answers"
            ))
        }
        (true, None) => 0.0,
        (false, Some(q)) => q,
        (false, None) => {
            return Err(
                "--qps: required in open-loop mode (or pass --closed-loop for max throughput)"
                    .to_string(),
            )
        }
    };
    if duration.is_zero() {
        return Err("--duration: must be longer than 0".to_string());
    }
    if timeout.is_zero() {
        return Err("--timeout: must be longer than 0".to_string());
    }
    if compare_on && slice < Duration::from_millis(10) {
        return Err(format!(
            "--slice: {slice:?} is too short; targets switch by the 1 ms timer, use >= 10ms"
        ));
    }
    if connections < threads {
        return Err(format!(
            "--connections: {connections} is fewer than --threads {threads}; each shard needs at least one"
        ));
    }
    if let Some(c) = &cpus {
        if c.len() < threads {
            log::warn!(
                "--cpus lists {} CPUs for {threads} threads; shards share CPUs round-robin",
                c.len()
            );
        }
    }
    if matches!(body, BodySpec::File(_)) && model != "gpt-4o-mini" {
        log::warn!("--model is ignored with --body @file: the file is sent verbatim");
    }

    Ok(Parsed::Run(Box::new(Config {
        targets,
        compare: compare_on,
        closed_loop,
        qps,
        duration,
        warmup,
        connections,
        threads,
        cpus,
        driver,
        body,
        model,
        stream,
        headers,
        timeout,
        max_backlog,
        slice,
        spin,
        json,
        quiet,
    })))
}

fn str_value(p: &mut lexopt::Parser, flag: &str) -> Result<String, String> {
    let v = p.value().map_err(|e| format!("{flag}: {e}"))?;
    v.into_string()
        .map_err(|v| format!("{flag}: '{}' is not UTF-8", v.to_string_lossy()))
}

fn count_value(p: &mut lexopt::Parser, flag: &str) -> Result<usize, String> {
    let v = str_value(p, flag)?;
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{flag}: must be a whole number >= 1, got '{v}'")),
    }
}

fn duration_value(p: &mut lexopt::Parser, flag: &str) -> Result<Duration, String> {
    let v = str_value(p, flag)?;
    parse_duration(&v).map_err(|e| format!("{flag}: '{v}': {e}"))
}

/// `10s`, `250ms`, `1.5s`, `2m`, `500us`, `100ns`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| "expected a number with an optional unit (ns, us, ms, s, m)".to_string())?;
    let scale = match unit {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "ns" => 1e-9,
        "m" | "min" => 60.0,
        other => return Err(format!("unknown unit '{other}': use ns, us, ms, s or m")),
    };
    let secs = n * scale;
    if !secs.is_finite() || secs > 86_400.0 {
        return Err("must be at most one day".to_string());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `2k` (2048 bytes), `32k`, `256k`, `1m`, `5000`, or `@path`.
pub fn parse_body(s: &str) -> Result<BodySpec, String> {
    if let Some(path) = s.strip_prefix('@') {
        if path.is_empty() {
            return Err("expected a file name after '@'".to_string());
        }
        return Ok(BodySpec::File(PathBuf::from(path)));
    }
    let lower = s.to_ascii_lowercase();
    let lower = lower.trim_end_matches('b');
    let (num, mult) = if let Some(n) = lower.strip_suffix('k') {
        (n, 1024)
    } else if let Some(n) = lower.strip_suffix('m') {
        (n, 1024 * 1024)
    } else {
        (lower, 1)
    };
    let n: usize = num
        .parse()
        .map_err(|_| "expected 2k, 32k, 256k, a byte count, or @file.json".to_string())?;
    let bytes = n
        .checked_mul(mult)
        .filter(|&b| b > 0 && b <= 64 * 1024 * 1024)
        .ok_or_else(|| "size must be between 1 byte and 64m".to_string())?;
    Ok(BodySpec::Size(bytes))
}

/// `0,2,5` or `0-3` or a mix.
pub fn parse_cpus(s: &str) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("'{part}' is not a CPU number or range like 2-5");
        if let Some((a, b)) = part.split_once('-') {
            let a: usize = a.trim().parse().map_err(|_| bad())?;
            let b: usize = b.trim().parse().map_err(|_| bad())?;
            if a > b {
                return Err(bad());
            }
            out.extend(a..=b);
        } else {
            out.push(part.parse().map_err(|_| bad())?);
        }
    }
    if out.is_empty() {
        return Err("expected at least one CPU".to_string());
    }
    if let Some(&c) = out.iter().find(|&&c| c >= libc::CPU_SETSIZE as usize) {
        return Err(format!("CPU {c} is out of range"));
    }
    Ok(out)
}

/// Headers loadgen writes itself and must not be duplicated.
const RESERVED_HEADERS: [&str; 3] = ["content-length", "transfer-encoding", "connection"];

/// `Name: value`. The name must be an HTTP token; the value may not hold CR/LF.
pub fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| "expected 'Name: value'".to_string())?;
    let name = name.trim();
    let value = value.trim();
    let token = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(format!("'{name}' is not a valid header name"));
    }
    if value.bytes().any(|b| b == b'\r' || b == b'\n') {
        return Err("the value may not contain CR or LF".to_string());
    }
    if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(format!(
            "'{name}' is set by loadgen itself (keep-alive, exact body length)"
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

/// `http://host[:port][/path]`, resolved once, here.
pub fn parse_url(url: &str) -> Result<Target, String> {
    let rest = match url.split_once("://") {
        Some(("http", rest)) => rest,
        Some(("https", _)) => {
            return Err(format!(
                "URL: '{url}': https is not supported; loadgen speaks plain HTTP/1.1 only"
            ))
        }
        Some((scheme, _)) => {
            return Err(format!(
                "URL: '{url}': scheme '{scheme}' is not supported; use http://"
            ))
        }
        None => return Err(format!("URL: '{url}': expected http://host[:port]/path")),
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_string()),
    };
    if authority.is_empty() {
        return Err(format!("URL: '{url}': missing host"));
    }
    if authority.contains('@') {
        return Err(format!(
            "URL: '{url}': credentials in the URL are not supported; use --header 'Authorization: ...'"
        ));
    }
    // IPv6 literals are bracketed: [::1]:8080.
    let has_port = match authority.rfind(':') {
        Some(i) => !authority[i..].contains(']'),
        None => false,
    };
    let with_port = if has_port {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let addr = with_port
        .to_socket_addrs()
        .map_err(|e| format!("URL: '{url}': cannot resolve '{authority}': {e}"))?
        .next()
        .ok_or_else(|| format!("URL: '{url}': '{authority}' resolves to no address"))?;
    if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(format!(
            "URL: '{url}': the path may not contain spaces or control characters"
        ));
    }
    Ok(Target {
        url: url.to_string(),
        addr,
        host: authority.to_string(),
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Config, String> {
        match parse(args.iter().map(|s| s.to_string()))? {
            Parsed::Run(c) => Ok(*c),
            Parsed::Help => Err("help".to_string()),
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500us"), Ok(Duration::from_micros(500)));
        assert!(parse_duration("10 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn bodies() {
        assert_eq!(parse_body("2k"), Ok(BodySpec::Size(2048)));
        assert_eq!(parse_body("32K"), Ok(BodySpec::Size(32 * 1024)));
        assert_eq!(parse_body("256kb"), Ok(BodySpec::Size(256 * 1024)));
        assert_eq!(parse_body("5000"), Ok(BodySpec::Size(5000)));
        assert_eq!(
            parse_body("@req.json"),
            Ok(BodySpec::File(PathBuf::from("req.json")))
        );
        assert!(parse_body("0").is_err());
        assert!(parse_body("big").is_err());
    }

    #[test]
    fn cpus() {
        assert_eq!(parse_cpus("1,2"), Ok(vec![1, 2]));
        assert_eq!(parse_cpus("0-2,5"), Ok(vec![0, 1, 2, 5]));
        assert!(parse_cpus("3-1").is_err());
        assert!(parse_cpus("x").is_err());
    }

    #[test]
    fn headers() {
        assert_eq!(
            parse_header("Authorization: Bearer sk-1"),
            Ok(("Authorization".to_string(), "Bearer sk-1".to_string()))
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("Bad Name: x").is_err());
        assert_eq!(
            parse_header("Content-Length: 5").unwrap_err(),
            "'Content-Length' is set by loadgen itself (keep-alive, exact body length)"
        );
    }

    #[test]
    fn urls() {
        let t = parse_url("http://127.0.0.1:4000/v1/chat/completions").unwrap();
        assert_eq!(t.addr, "127.0.0.1:4000".parse().unwrap());
        assert_eq!(t.host, "127.0.0.1:4000");
        assert_eq!(t.path, "/v1/chat/completions");
        let t = parse_url("http://127.0.0.1").unwrap();
        assert_eq!(t.addr.port(), 80);
        assert_eq!(t.path, "/");
        let t = parse_url("http://[::1]:9000?x=1").unwrap();
        assert_eq!(t.addr, "[::1]:9000".parse().unwrap());
        assert_eq!(t.path, "/?x=1");
        assert_eq!(
            parse_url("https://x/").unwrap_err(),
            "URL: 'https://x/': https is not supported; loadgen speaks plain HTTP/1.1 only"
        );
        assert!(parse_url("127.0.0.1:80").is_err());
    }

    #[test]
    fn full_command_lines() {
        let c = run(&[
            "http://127.0.0.1:4000/v1/chat/completions",
            "--qps",
            "1000",
            "--duration",
            "2s",
            "--header",
            "Authorization: Bearer x",
            "--stream",
            "--threads",
            "2",
            "--cpus",
            "0,1",
        ])
        .unwrap();
        assert_eq!(c.qps, 1000.0);
        assert_eq!(c.duration, Duration::from_secs(2));
        assert_eq!(c.warmup, Duration::from_secs(1));
        assert_eq!(c.connections, 32);
        assert_eq!(c.threads, 2);
        assert!(c.stream && !c.closed_loop && !c.compare);
        assert_eq!(c.driver, shards::Driver::Epoll);
        assert_eq!(c.headers.len(), 1);

        let c = run(&[
            "--compare",
            "http://127.0.0.1:1/a",
            "http://127.0.0.1:2/b",
            "--qps",
            "10",
        ])
        .unwrap();
        assert!(c.compare);
        assert_eq!(c.targets[1].addr.port(), 2);

        let c = run(&["http://127.0.0.1:1/", "--closed-loop", "--connections", "4"]).unwrap();
        assert!(c.closed_loop);
        assert_eq!(c.connections, 4);
    }

    #[test]
    fn config_errors_name_the_flag() {
        assert_eq!(
            run(&["http://127.0.0.1:1/"]).unwrap_err(),
            "--qps: required in open-loop mode (or pass --closed-loop for max throughput)"
        );
        assert_eq!(
            run(&["http://127.0.0.1:1/", "--qps", "0"]).unwrap_err(),
            "--qps: must be a positive rate, got '0'"
        );
        assert_eq!(
            run(&["http://127.0.0.1:1/", "--qps", "5", "--closed-loop"]).unwrap_err(),
            "--qps: '5' cannot be combined with --closed-loop, which runs as fast as the server answers"
        );
        assert_eq!(
            run(&["http://127.0.0.1:1/", "--qps", "5", "--connections", "0"]).unwrap_err(),
            "--connections: must be a whole number >= 1, got '0'"
        );
        assert_eq!(
            run(&["http://127.0.0.1:1/", "--qps", "5", "--driver", "kqueue"]).unwrap_err(),
            "--driver: unknown driver 'kqueue': expected auto, uring or epoll"
        );
        assert_eq!(
            run(&["--compare", "http://127.0.0.1:1/"]).unwrap_err(),
            "--compare: needs two URLs, DIRECT_URL PROXIED_URL"
        );
        assert!(matches!(parse(["--help".to_string()]), Ok(Parsed::Help)));
    }
}
