//! Child processes that cannot outlive the bench, the temp dir, and what
//! `/proc` says about a process (CPU time, peak RSS, children).
//!
//! Every child is a [`Proc`]; dropping it (normal exit, `?` error, panic
//! unwinding) kills it and every process it started (nginx's worker). When
//! `setpriv` is there, children are also started with `--pdeathsig KILL`, so
//! they die with the bench even when it is killed outright. (nginx's worker
//! is nginx's child, not ours: a bench killed by SIGKILL can leave it behind;
//! Ctrl-C reaches the whole process group and stops nginx cleanly.)

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A directory under the system temp dir, removed on drop unless kept.
pub struct TempDir {
    pub path: PathBuf,
    keep: bool,
}

impl TempDir {
    /// Also removes the temp dirs of earlier benches that were killed
    /// before they could clean up (their PID no longer runs).
    pub fn new(keep: bool) -> Result<TempDir, String> {
        if let Ok(dir) = fs::read_dir(std::env::temp_dir()) {
            for e in dir.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                let pid = name
                    .strip_prefix("ringway-bench.")
                    .and_then(|r| r.split('.').next())
                    .and_then(|p| p.parse::<u32>().ok());
                if let Some(pid) = pid {
                    if !Path::new(&format!("/proc/{pid}")).exists() {
                        let _ = fs::remove_dir_all(e.path());
                    }
                }
            }
        }
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path =
            std::env::temp_dir().join(format!("ringway-bench.{}.{nanos:09}", std::process::id()));
        fs::create_dir_all(&path)
            .map_err(|e| format!("cannot create temp dir '{}': {e}", path.display()))?;
        Ok(TempDir { path, keep })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.keep {
            println!("kept temp dir: {}", self.path.display());
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// How children are started: optional `setpriv --pdeathsig KILL` and
/// `taskset -c CPUS` wrappers (both exec, so the PID is the program's).
pub struct Launcher {
    setpriv: bool,
    taskset: bool,
}

impl Launcher {
    pub fn detect() -> Launcher {
        let works = |prog: &str, arg: &str| {
            Command::new(prog)
                .arg(arg)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        };
        Launcher {
            setpriv: works("setpriv", "--version"),
            taskset: works("taskset", "--version"),
        }
    }

    pub fn can_pin(&self) -> bool {
        self.taskset
    }

    /// A command for `program args`, pinned to `cpus` (e.g. "0" or "2,3")
    /// when given, and the line to print for it. Killed if the bench dies.
    pub fn command(
        &self,
        program: &Path,
        args: &[String],
        cpus: Option<&str>,
    ) -> (Command, String) {
        self.command_with(program, args, cpus, "KILL")
    }

    /// As [`Launcher::command`], with the signal the child gets when the
    /// bench dies (nginx: TERM, so its master takes the worker down too).
    pub fn command_with(
        &self,
        program: &Path,
        args: &[String],
        cpus: Option<&str>,
        death_signal: &str,
    ) -> (Command, String) {
        let mut argv: Vec<String> = Vec::new();
        if self.setpriv {
            argv.extend(["setpriv", "--pdeathsig", death_signal].map(String::from));
        }
        let mut shown = String::new();
        if let (true, Some(c)) = (self.taskset, cpus) {
            argv.extend(["taskset".to_string(), "-c".to_string(), c.to_string()]);
            shown.push_str(&format!("taskset -c {c} "));
        }
        argv.push(program.display().to_string());
        argv.extend(args.iter().cloned());
        shown.push_str(&program.display().to_string());
        for a in args {
            shown.push(' ');
            if a.contains(' ') {
                shown.push_str(&format!("'{a}'"));
            } else {
                shown.push_str(a);
            }
        }
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]);
        (cmd, shown)
    }
}

/// A running child, killed (with its descendants) on drop.
pub struct Proc {
    pub name: String,
    pub pid: u32,
    pub log: PathBuf,
    child: Option<Child>,
}

impl Proc {
    /// Starts `cmd` with stdout and stderr going to `log`. With `wait_for`,
    /// returns once a stdout line contains it, and that line.
    pub fn start(
        name: &str,
        mut cmd: Command,
        log: PathBuf,
        wait_for: Option<&str>,
        timeout: Duration,
    ) -> Result<(Proc, Option<String>), String> {
        let file = File::create(&log)
            .map_err(|e| format!("{name}: cannot create log '{}': {e}", log.display()))?;
        let err_file = file.try_clone().map_err(|e| format!("{name}: log: {e}"))?;
        cmd.stdin(Stdio::null()).stderr(Stdio::from(err_file));
        if wait_for.is_some() {
            cmd.stdout(Stdio::piped());
        } else {
            cmd.stdout(Stdio::from(file.try_clone().map_err(|e| e.to_string())?));
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("{name}: cannot start: {e}"))?;
        let pid = child.id();
        let stdout = child.stdout.take();
        let mut proc = Proc {
            name: name.to_string(),
            pid,
            log,
            child: Some(child),
        };
        let Some(needle) = wait_for else {
            return Ok((proc, None));
        };
        let (tx, rx) = mpsc::channel();
        let needle = needle.to_string();
        let mut out = OpenOptions::new()
            .append(true)
            .open(&proc.log)
            .map_err(|e| format!("{name}: log: {e}"))?;
        // ok: piped above.
        let stdout = stdout.expect("stdout is piped");
        // Drains stdout into the log for the child's whole life, so it never
        // blocks on a full pipe; hands the first matching line over.
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = writeln!(out, "{line}");
                if !sent && line.contains(&needle) {
                    sent = true;
                    let _ = tx.send(line);
                }
            }
        });
        let deadline = Instant::now() + timeout;
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(line) => return Ok((proc, Some(line))),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(proc.failure("closed its stdout before it was listening"))
                }
            }
            if let Some(status) = proc.exited() {
                return Err(proc.failure(&format!("exited ({status}) before it was listening")));
            }
            if Instant::now() > deadline {
                return Err(proc.failure(&format!("not listening after {timeout:?}")));
            }
        }
    }

    /// Waits until `addr` accepts a TCP connection (for nginx, which prints
    /// nothing).
    pub fn wait_port(&mut self, addr: SocketAddr, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if let Some(status) = self.exited() {
                return Err(self.failure(&format!("exited ({status}) before listening on {addr}")));
            }
            if Instant::now() > deadline {
                return Err(self.failure(&format!("not listening on {addr} after {timeout:?}")));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `Some(status)` once the child has exited.
    pub fn exited(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(s)) => Some(s.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("wait failed: {e}")),
        }
    }

    /// Waits for the child to exit by itself, at most `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<std::process::ExitStatus, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(child) = self.child.as_mut() {
                match child.try_wait() {
                    Ok(Some(s)) => return Ok(s),
                    Ok(None) => {}
                    Err(e) => return Err(format!("{}: wait failed: {e}", self.name)),
                }
            }
            if Instant::now() > deadline {
                return Err(self.failure(&format!("still running after {timeout:?}; killed")));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// An error message with the end of the child's log.
    pub fn failure(&self, what: &str) -> String {
        let tail = log_tail(&self.log, 15);
        if tail.is_empty() {
            format!(
                "{} {what} (its log '{}' is empty)",
                self.name,
                self.log.display()
            )
        } else {
            format!(
                "{} {what}; last lines of '{}':\n{tail}",
                self.name,
                self.log.display()
            )
        }
    }

    /// Kills the child and everything it started.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let descendants = descendants(self.pid);
        let _ = child.kill();
        let _ = child.wait();
        for pid in descendants {
            if Path::new(&format!("/proc/{pid}")).exists() {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The last `n` lines of a file, indented.
pub fn log_tail(path: &Path, n: usize) -> String {
    let mut s = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Fields of `/proc/PID/stat` after the command name (field 3 = index 0).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(String::from).collect())
}

fn parent_of(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// The process exists and is not a zombie.
pub fn is_running(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|f| f.first().is_some_and(|s| s != "Z" && s != "X"))
}

/// Every live process below `pid` (children, their children, ...).
pub fn descendants(pid: u32) -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let all: Vec<(u32, u32)> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| Some((p, parent_of(p)?)))
        .collect();
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for &(c, parent) in &all {
            if parent == p && !out.contains(&c) {
                out.push(c);
                frontier.push(c);
            }
        }
    }
    out
}

/// `pid` and its descendants.
pub fn tree(pid: u32) -> Vec<u32> {
    let mut v = vec![pid];
    v.extend(descendants(pid));
    v
}

/// Clock ticks per second of `/proc/PID/stat` times.
pub fn clk_tck() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// CPU time of processes, sampled twice around a measured window.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuSample {
    /// Sum over every thread of `/proc/PID/task/TID/schedstat`'s first field
    /// (time on CPU, ns): the same quantity as utime+stime, ns-precise.
    pub sched_ns: u64,
    /// utime + stime from `/proc/PID/stat`, in ticks.
    pub ticks: u64,
}

impl CpuSample {
    pub fn of(pids: &[u32]) -> CpuSample {
        let mut s = CpuSample::default();
        for &pid in pids {
            if let Some(f) = stat_fields(pid) {
                let t = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                s.ticks += t(11) + t(12);
            }
            if let Ok(dir) = fs::read_dir(format!("/proc/{pid}/task")) {
                for e in dir.flatten() {
                    let p = e.path().join("schedstat");
                    if let Some(ns) = fs::read_to_string(p)
                        .ok()
                        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                    {
                        s.sched_ns += ns;
                    }
                }
            }
        }
        s
    }

    /// CPU seconds between `self` (earlier) and `later`: schedstat when it
    /// was readable, else the ticks.
    pub fn secs_until(&self, later: &CpuSample, tck: u64) -> f64 {
        if later.sched_ns > 0 {
            later.sched_ns.saturating_sub(self.sched_ns) as f64 / 1e9
        } else {
            later.ticks.saturating_sub(self.ticks) as f64 / tck as f64
        }
    }
}

/// A `kB` line of `/proc/PID/status` (`VmHWM`, `VmRSS`).
pub fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// The CPUs this process may run on (`Cpus_allowed_list`), or 0..nproc.
pub fn allowed_cpus() -> Vec<usize> {
    let list = fs::read_to_string("/proc/self/status").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .map(|v| v.trim().to_string())
    });
    let mut out = Vec::new();
    if let Some(list) = list {
        for part in list.split(',').filter(|p| !p.is_empty()) {
            match part.split_once('-') {
                Some((a, b)) => {
                    if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
                        out.extend(a..=b);
                    }
                }
                None => out.extend(part.parse::<usize>().ok()),
            }
        }
    }
    if out.is_empty() {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        out.extend(0..n);
    }
    out
}

/// A port nothing listens on right now (bound to 0, then released).
pub fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot find a free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// The first executable in `candidates` (a bare name is looked up on PATH).
pub fn find_program(candidates: &[&str]) -> Option<PathBuf> {
    for c in candidates {
        let p = Path::new(c);
        if p.components().count() > 1 {
            if is_executable(p) {
                return Some(p.to_path_buf());
            }
            continue;
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        for dir in std::env::split_paths(&path) {
            let full = dir.join(c);
            if is_executable(&full) {
                return Some(full);
            }
        }
    }
    None
}

pub fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process() {
        let me = std::process::id();
        assert!(status_kb(me, "VmHWM").unwrap() > 0);
        let a = CpuSample::of(&[me]);
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let b = CpuSample::of(&[me]);
        assert!(a.secs_until(&b, clk_tck()) >= 0.0);
        assert!(!allowed_cpus().is_empty());
    }

    #[test]
    fn proc_drop_kills_the_tree() {
        let dir = TempDir::new(false).unwrap();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & echo ready; wait"]);
        let (mut p, line) = Proc::start(
            "sh",
            cmd,
            dir.path.join("sh.log"),
            Some("ready"),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(line.as_deref(), Some("ready"));
        let kids = descendants(p.pid);
        assert_eq!(kids.len(), 1, "{kids:?}");
        assert!(p.exited().is_none());
        assert!(is_running(p.pid) && is_running(kids[0]));
        drop(p);
        std::thread::sleep(Duration::from_millis(100));
        let state = fs::read_to_string(format!("/proc/{}/stat", kids[0])).unwrap_or_default();
        // Gone, or a zombie waiting for init to reap it.
        assert!(state.is_empty() || state.contains(") Z"), "{state}");
    }

    #[test]
    fn early_exit_is_reported_with_the_log() {
        let dir = TempDir::new(false).unwrap();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo boom >&2; exit 3"]);
        let e = Proc::start(
            "sh",
            cmd,
            dir.path.join("sh.log"),
            Some("listening on"),
            Duration::from_secs(5),
        )
        .err()
        .unwrap();
        assert!(e.contains("boom"), "{e}");
    }
}
