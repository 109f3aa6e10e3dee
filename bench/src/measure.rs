//! One loadgen run, and what is sampled around its measured window: CPU time
//! of the watched processes (gateway, nginx, mock) and, when asked, their
//! syscalls (perf's `raw_syscalls:sys_enter` counter, else `strace -c`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::procs::{self, CpuSample, Launcher, Proc};

/// Everything runs share.
pub struct Ctx {
    pub launcher: Launcher,
    pub loadgen: PathBuf,
    /// `--cpus` for loadgen and the taskset list, when pinned.
    pub loadgen_cpus: Option<String>,
    pub loadgen_threads: usize,
    pub dir: PathBuf,
    pub auth_header: String,
    pub tck: u64,
    pub syscall_tool: SyscallTool,
    runs: std::cell::Cell<usize>,
}

impl Ctx {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        launcher: Launcher,
        loadgen: PathBuf,
        loadgen_cpus: Option<String>,
        loadgen_threads: usize,
        dir: PathBuf,
        auth_header: String,
        syscall_tool: SyscallTool,
    ) -> Ctx {
        Ctx {
            launcher,
            loadgen,
            loadgen_cpus,
            loadgen_threads,
            dir,
            auth_header,
            tck: procs::clk_tck(),
            syscall_tool,
            runs: std::cell::Cell::new(0),
        }
    }
}

/// How syscalls are counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyscallTool {
    /// `perf stat -e raw_syscalls:sys_enter` (and io_uring submissions).
    Perf(PathBuf),
    /// `strace -c -f -p PID` (slows the process down; counts stay exact).
    Strace(PathBuf),
    None(String),
}

impl SyscallTool {
    /// `auto` (perf, else strace), `perf`, `strace` or `off`.
    pub fn choose(want: &str) -> SyscallTool {
        let perf = || {
            procs::find_program(&["perf"]).filter(|p| {
                Command::new(p)
                    .args(["stat", "-x,", "-e", "raw_syscalls:sys_enter", "--", "true"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .map(|s| s.success())
                    .unwrap_or(false)
            })
        };
        let strace = || procs::find_program(&["strace"]);
        match want {
            "off" => SyscallTool::None("turned off (--syscalls off)".to_string()),
            "perf" => perf().map_or_else(
                || {
                    SyscallTool::None(
                        "perf with the raw_syscalls tracepoint is not usable here (root and \
                         apt-get install -y linux-perf)"
                            .to_string(),
                    )
                },
                SyscallTool::Perf,
            ),
            "strace" => strace().map_or_else(
                || {
                    SyscallTool::None(
                        "strace is not installed (apt-get install -y strace)".to_string(),
                    )
                },
                SyscallTool::Strace,
            ),
            _ => Self::detect(),
        }
    }

    fn detect() -> SyscallTool {
        if let Some(perf) = procs::find_program(&["perf"]) {
            let ok = Command::new(&perf)
                .args(["stat", "-x,", "-e", "raw_syscalls:sys_enter", "--", "true"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                return SyscallTool::Perf(perf);
            }
        }
        if let Some(strace) = procs::find_program(&["strace"]) {
            return SyscallTool::Strace(strace);
        }
        SyscallTool::None(
            "neither perf (with tracepoints) nor strace is usable; \
             apt-get install -y strace (or linux-perf)"
                .to_string(),
        )
    }

    pub fn method(&self) -> String {
        match self {
            SyscallTool::Perf(_) => "perf stat -e raw_syscalls:sys_enter -p PID".to_string(),
            SyscallTool::Strace(_) => "strace -c -f -p PID".to_string(),
            SyscallTool::None(why) => format!("not measured: {why}"),
        }
    }
}

/// A process group whose CPU time is sampled over the measured window.
pub struct Watch {
    pub label: &'static str,
    pub pids: Vec<u32>,
}

/// One loadgen run to make.
pub struct Run<'a> {
    /// loadgen's arguments except timing, output, pinning and auth.
    pub args: Vec<String>,
    pub warmup: Duration,
    pub duration: Duration,
    pub watch: Vec<Watch>,
    /// Count the syscalls of these pids for `window` after the warm-up.
    pub syscalls: Option<(&'a [u32], Duration)>,
}

/// Syscalls counted over a window.
#[derive(Clone, Debug, Default)]
pub struct SyscallCount {
    pub window_s: f64,
    pub syscalls: u64,
    /// io_uring submissions (SQEs), perf only.
    pub uring_submissions: Option<u64>,
}

pub struct Outcome {
    pub report: Value,
    /// CPU seconds of each watched group over the measured window.
    pub cpu_s: Vec<(&'static str, f64)>,
    /// `Err` when the counter failed: the run itself still counts.
    pub syscalls: Option<Result<SyscallCount, String>>,
}

impl Outcome {
    pub fn cpu(&self, label: &str) -> Option<f64> {
        self.cpu_s
            .iter()
            .find(|(l, _)| *l == label)
            .map(|(_, s)| *s)
    }
}

/// loadgen's `--compare --slice` for a run of `duration`: its default
/// 250 ms, shortened so that even the shortest run (100 ms) gives both
/// targets at least two slices each (with 250 ms slices a run under 250 ms
/// never reaches the proxied side).
pub fn compare_slice(duration: Duration) -> String {
    let s = (duration / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));
    format!("{}ms", s.as_millis())
}

/// Time after the spawn at which loadgen's window is taken to start: its
/// warm-up starts once every connection is up, a few ms after the exec.
const START_SKEW: Duration = Duration::from_millis(30);

pub fn run(ctx: &Ctx, r: Run<'_>) -> Result<Outcome, String> {
    let n = ctx.runs.get() + 1;
    ctx.runs.set(n);
    let json = ctx.dir.join(format!("loadgen-{n:02}.json"));
    let mut args = r.args.clone();
    args.extend([
        "--warmup".to_string(),
        format!("{}ms", r.warmup.as_millis()),
        "--duration".to_string(),
        format!("{}ms", r.duration.as_millis()),
        "--header".to_string(),
        ctx.auth_header.clone(),
        "--threads".to_string(),
        ctx.loadgen_threads.to_string(),
    ]);
    if let Some(c) = &ctx.loadgen_cpus {
        args.extend(["--cpus".to_string(), c.clone()]);
    }
    args.extend([
        "--quiet".to_string(),
        "--json".to_string(),
        json.display().to_string(),
    ]);
    let (cmd, shown) = ctx
        .launcher
        .command(&ctx.loadgen, &args, ctx.loadgen_cpus.as_deref());
    println!("  $ {shown}");
    let start = Instant::now();
    let (mut lg, _) = Proc::start(
        "loadgen",
        cmd,
        ctx.dir.join(format!("loadgen-{n:02}.log")),
        None,
        Duration::ZERO,
    )?;

    sleep_until(start + r.warmup + START_SKEW);
    if let Some(status) = lg.exited() {
        return Err(lg.failure(&format!("exited ({status}) during its warm-up")));
    }
    let before: Vec<CpuSample> = r.watch.iter().map(|w| CpuSample::of(&w.pids)).collect();
    let probe = r
        .syscalls
        .map(|(pids, window)| start_probe(ctx, n, pids, window));
    sleep_until(start + r.warmup + START_SKEW + r.duration);
    let after: Vec<CpuSample> = r.watch.iter().map(|w| CpuSample::of(&w.pids)).collect();
    let syscalls = probe.map(|p| p.and_then(|p| finish_probe(ctx, p)));

    // Open-loop runs drain for up to the request timeout (10 s).
    let status = lg.wait_exit(Duration::from_secs(60))?;
    let warnings = procs::log_tail(&lg.log, 20);
    if !status.success() {
        return Err(lg.failure(&format!("failed ({status})")));
    }
    if !warnings.trim().is_empty() {
        println!("  loadgen said:\n{warnings}");
    }
    let text = std::fs::read_to_string(&json)
        .map_err(|e| format!("loadgen wrote no report '{}': {e}", json.display()))?;
    let report: Value = serde_json::from_str(&text)
        .map_err(|e| format!("loadgen's report '{}' is not JSON: {e}", json.display()))?;
    let cpu_s = r
        .watch
        .iter()
        .zip(before.iter().zip(&after))
        .map(|(w, (b, a))| (w.label, b.secs_until(a, ctx.tck)))
        .collect();
    Ok(Outcome {
        report,
        cpu_s,
        syscalls,
    })
}

fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}

struct Probe {
    proc: Proc,
    out: PathBuf,
    window: Duration,
}

fn start_probe(ctx: &Ctx, n: usize, pids: &[u32], window: Duration) -> Result<Probe, String> {
    let list = pids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let out = ctx.dir.join(format!("syscalls-{n:02}.txt"));
    let secs = format!("{:.3}", window.as_secs_f64());
    let mut cmd;
    match &ctx.syscall_tool {
        SyscallTool::Perf(perf) => {
            cmd = Command::new(perf);
            cmd.args(["stat", "-x,", "-o"])
                .arg(&out)
                .args(["-e", "raw_syscalls:sys_enter"]);
            if Path::new("/sys/kernel/tracing/events/io_uring/io_uring_submit_req").exists()
                || Path::new("/sys/kernel/debug/tracing/events/io_uring/io_uring_submit_req")
                    .exists()
            {
                cmd.args(["-e", "io_uring:io_uring_submit_req"]);
            }
            cmd.args(["-p", &list, "--", "sleep", &secs]);
        }
        SyscallTool::Strace(strace) => {
            cmd = Command::new("timeout");
            cmd.args(["-s", "INT", &secs])
                .arg(strace)
                .args(["-c", "-f", "-o"])
                .arg(&out);
            for p in pids {
                cmd.args(["-p", &p.to_string()]);
            }
        }
        SyscallTool::None(why) => return Err(format!("syscall count: {why}")),
    }
    let (proc, _) = Proc::start(
        "syscall counter",
        cmd,
        ctx.dir.join(format!("syscalls-{n:02}.log")),
        None,
        Duration::ZERO,
    )?;
    Ok(Probe { proc, out, window })
}

fn finish_probe(ctx: &Ctx, mut p: Probe) -> Result<SyscallCount, String> {
    p.proc.wait_exit(p.window + Duration::from_secs(10))?;
    let text = std::fs::read_to_string(&p.out).unwrap_or_default();
    let parsed = match ctx.syscall_tool {
        SyscallTool::Perf(_) => parse_perf(&text),
        _ => parse_strace(&text),
    };
    let (syscalls, uring) = parsed.ok_or_else(|| {
        p.proc.failure(&format!(
            "gave no count; its output '{}':\n{text}",
            p.out.display()
        ))
    })?;
    Ok(SyscallCount {
        window_s: p.window.as_secs_f64(),
        syscalls,
        uring_submissions: uring,
    })
}

/// `perf stat -x,` lines: `COUNT,UNIT,EVENT,...`.
fn parse_perf(text: &str) -> Option<(u64, Option<u64>)> {
    let mut sys = None;
    let mut uring = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < 3 {
            continue;
        }
        let count = f[0].trim().parse::<u64>().ok();
        match f[2].trim() {
            "raw_syscalls:sys_enter" => sys = count,
            "io_uring:io_uring_submit_req" => uring = count,
            _ => {}
        }
    }
    Some((sys?, uring))
}

/// The `total` line of `strace -c`: `100.00 0.0012 1 3937 12 total`.
fn parse_strace(text: &str) -> Option<(u64, Option<u64>)> {
    let line = text.lines().find(|l| l.trim_end().ends_with("total"))?;
    let f: Vec<&str> = line.split_whitespace().collect();
    // % time, seconds, usecs/call, calls, [errors], total
    let calls = f.get(3)?.parse().ok()?;
    Some((calls, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_fit_the_run() {
        assert_eq!(compare_slice(Duration::from_secs(10)), "250ms");
        assert_eq!(compare_slice(Duration::from_secs(1)), "250ms");
        assert_eq!(compare_slice(Duration::from_millis(100)), "25ms");
    }

    #[test]
    fn parses_perf_csv() {
        let t = "# started on Mon\n\n3937,,raw_syscalls:sys_enter,1005383249,100.00,,\n\
                 1200,,io_uring:io_uring_submit_req,1005383249,100.00,,\n";
        assert_eq!(parse_perf(t), Some((3937, Some(1200))));
        assert_eq!(
            parse_perf("<not counted>,,raw_syscalls:sys_enter,0,0,,\n"),
            None
        );
    }

    #[test]
    fn parses_strace_total() {
        let t = "% time     seconds  usecs/call     calls    errors syscall\n\
                 ------ ----------- ----------- --------- --------- ----------------\n\
                 \x20 60.00    0.000600           1       500           epoll_wait\n\
                 ------ ----------- ----------- --------- --------- ----------------\n\
                 100.00    0.001000           1      3937        12 total\n";
        assert_eq!(parse_strace(t), Some((3937, None)));
    }
}
