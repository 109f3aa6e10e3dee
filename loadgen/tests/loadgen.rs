//! Black-box tests: a tiny in-test HTTP/1.1 server on std threads, and the
//! real `loadgen` binary run against it, checked through its `--json` report.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Copy)]
enum Mode {
    /// 200 with a small JSON body (Content-Length).
    Json,
    /// 200 chunked SSE: `events` events `gap` apart, then `[DONE]`.
    Sse { events: u32, gap_ms: u64 },
    /// Status code with an empty body.
    Status(u16),
    /// Reads the request and never answers.
    Silent,
    /// 200 with `Connection: close`, then closes.
    CloseEach,
}

struct Server {
    port: u16,
    requests: Arc<AtomicU64>,
}

fn serve(mode: Mode) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(AtomicU64::new(0));
    let count = requests.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let count = count.clone();
            std::thread::spawn(move || {
                let _ = handle(conn, mode, &count);
            });
        }
    });
    Server { port, requests }
}

fn handle(conn: TcpStream, mode: Mode, count: &AtomicU64) -> std::io::Result<()> {
    conn.set_nodelay(true)?;
    let mut w = conn.try_clone()?;
    let mut r = BufReader::with_capacity(64 * 1024, conn);
    loop {
        // Request head.
        let mut len = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line)? == 0 {
                return Ok(());
            }
            if line == "\r\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body)?;
        count.fetch_add(1, Ordering::Relaxed);
        match mode {
            Mode::Json => {
                let b = br#"{"id":"x","object":"chat.completion","choices":[{"message":{"role":"assistant","content":"hi"}}]}"#;
                let mut out = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    b.len()
                )
                .into_bytes();
                out.extend_from_slice(b);
                w.write_all(&out)?;
            }
            Mode::Sse { events, gap_ms } => {
                w.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")?;
                for i in 0..=events {
                    let ev = if i == events {
                        "data: [DONE]\n\n".to_string()
                    } else {
                        format!(
                            "data: {{\"choices\":[{{\"delta\":{{\"content\":\"t{i}\"}}}}]}}\n\n"
                        )
                    };
                    w.write_all(format!("{:x}\r\n{ev}\r\n", ev.len()).as_bytes())?;
                    if gap_ms > 0 && i < events {
                        std::thread::sleep(Duration::from_millis(gap_ms));
                    }
                }
                w.write_all(b"0\r\n\r\n")?;
            }
            Mode::Status(code) => {
                w.write_all(
                    format!("HTTP/1.1 {code} Err\r\nContent-Length: 0\r\n\r\n").as_bytes(),
                )?;
            }
            Mode::Silent => {
                std::thread::sleep(Duration::from_secs(30));
                return Ok(());
            }
            Mode::CloseEach => {
                w.write_all(
                    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
                )?;
                return Ok(());
            }
        }
    }
}

/// Loadgen runs are timed: one at a time, so parallel tests do not skew
/// each other's rates on a 2-core box.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs loadgen with `args` plus `--json FILE`, returns the parsed report.
fn loadgen(args: &[&str]) -> serde_json::Value {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!(
        "loadgen-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("out.json");
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "loadgen failed\n{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("{stdout}{stderr}");
    v
}

static NEXT: AtomicU64 = AtomicU64::new(0);

fn url(s: &Server) -> String {
    format!("http://127.0.0.1:{}/v1/chat/completions", s.port)
}

fn errors_total(v: &serde_json::Value) -> u64 {
    v["errors"]
        .as_object()
        .unwrap()
        .values()
        .map(|x| x.as_u64().unwrap())
        .sum()
}

#[test]
fn open_loop_hits_the_rate_with_no_errors() {
    let s = serve(Mode::Json);
    let v = loadgen(&[
        &url(&s),
        "--qps",
        "200",
        "--duration",
        "1s",
        "--warmup",
        "200ms",
        "--connections",
        "4",
    ]);
    assert_eq!(v["mode"], "open");
    assert_eq!(v["qps_target"], 200.0);
    assert_eq!(v["requests"], 200);
    assert_eq!(v["ok"], 200);
    assert_eq!(errors_total(&v), 0);
    assert_eq!(v["dropped"], 0);
    // A send more than 1 ms late is the test box descheduling us; allow a few.
    assert!(v["late"].as_u64().unwrap() <= 6, "{v}");
    let rps = v["achieved_rps"].as_f64().unwrap();
    assert!((rps - 200.0).abs() <= 6.0, "achieved {rps}");
    let p50 = v["latency_us"]["p50"].as_f64().unwrap();
    assert!(p50 > 0.0 && p50 < 50_000.0, "p50 {p50}");
    // Warm-up requests reached the server too.
    assert!(s.requests.load(Ordering::Relaxed) >= 230);
}

#[test]
fn open_loop_two_threads_split_the_rate() {
    let s = serve(Mode::Json);
    let v = loadgen(&[
        &url(&s),
        "--qps",
        "300",
        "--duration",
        "1s",
        "--warmup",
        "100ms",
        "--threads",
        "2",
        "--connections",
        "4",
        "--driver",
        "auto",
    ]);
    assert_eq!(v["requests"], 300);
    assert_eq!(v["ok"], 300);
    assert_eq!(v["threads"], 2);
    assert_eq!(v["dropped"], 0);
}

#[test]
fn closed_loop_runs_flat_out() {
    let s = serve(Mode::Json);
    let v = loadgen(&[
        &url(&s),
        "--closed-loop",
        "--connections",
        "4",
        "--duration",
        "1s",
        "--warmup",
        "100ms",
    ]);
    assert_eq!(v["mode"], "closed");
    assert!(v["qps_target"].is_null());
    assert_eq!(errors_total(&v), 0);
    let rps = v["achieved_rps"].as_f64().unwrap();
    // A thread-per-connection std server on a shared CI box still does
    // thousands per second; the point is that it runs unpaced.
    assert!(rps > 1_000.0, "closed loop only reached {rps} req/s");
    assert_eq!(v["ok"], v["requests"]);
}

#[test]
fn stream_mode_reports_ttfb_and_inter_event_gaps() {
    let s = serve(Mode::Sse {
        events: 5,
        gap_ms: 5,
    });
    let v = loadgen(&[
        &url(&s),
        "--qps",
        "50",
        "--duration",
        "1s",
        "--warmup",
        "100ms",
        "--stream",
        "--connections",
        "8",
    ]);
    assert_eq!(v["ok"], 50);
    assert_eq!(errors_total(&v), 0);
    // 5 content events and [DONE] per response.
    assert_eq!(v["events"], 50 * 6);
    let ttfb = v["ttfb_us"]["p50"].as_f64().unwrap();
    let gap = v["inter_event_us"]["p50"].as_f64().unwrap();
    let total = v["latency_us"]["p50"].as_f64().unwrap();
    assert!(ttfb < 4_000.0, "first event before the first gap: {ttfb}");
    assert!((4_000.0..20_000.0).contains(&gap), "gap ~5 ms: {gap}");
    assert!(total >= 25_000.0, "five 5 ms gaps: {total}");
}

#[test]
fn compare_interleaves_two_targets() {
    let direct = serve(Mode::Json);
    let proxied = serve(Mode::Json);
    let v = loadgen(&[
        "--compare",
        &url(&direct),
        &url(&proxied),
        "--qps",
        "400",
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "--slice",
        "100ms",
        "--connections",
        "4",
    ]);
    let c = &v["compare"];
    // Five 100 ms slices each at 400 req/s.
    assert_eq!(c["direct"]["requests"], 200);
    assert_eq!(c["proxied"]["requests"], 200);
    assert_eq!(v["requests"], 400);
    assert_eq!(c["direct"]["ok"], 200);
    assert_eq!(c["proxied"]["ok"], 200);
    for side in ["direct", "proxied"] {
        let rps = c[side]["achieved_rps"].as_f64().unwrap();
        assert!((rps - 400.0).abs() <= 12.0, "{side} achieved {rps}");
    }
    let d = c["direct"]["latency_us"]["p50"].as_f64().unwrap();
    let p = c["proxied"]["latency_us"]["p50"].as_f64().unwrap();
    let diff = c["diff_us"]["p50"].as_f64().unwrap();
    assert!((diff - (p - d)).abs() < 0.02, "{diff} vs {p} - {d}");
    assert!(direct.requests.load(Ordering::Relaxed) >= 200);
    assert!(proxied.requests.load(Ordering::Relaxed) >= 200);
}

#[test]
fn status_errors_are_counted_by_class() {
    let s = serve(Mode::Status(503));
    let v = loadgen(&[
        &url(&s),
        "--qps",
        "100",
        "--duration",
        "500ms",
        "--warmup",
        "0s",
    ]);
    assert_eq!(v["requests"], 50);
    assert_eq!(v["ok"], 0);
    assert_eq!(v["errors"]["status_5xx"], 50);
    let s = serve(Mode::Status(429));
    let v = loadgen(&[
        &url(&s),
        "--qps",
        "100",
        "--duration",
        "500ms",
        "--warmup",
        "0s",
    ]);
    assert_eq!(v["errors"]["status_4xx"], 50);
}

#[test]
fn connection_close_responses_reconnect() {
    let s = serve(Mode::CloseEach);
    let v = loadgen(&[
        &url(&s),
        "--qps",
        "100",
        "--duration",
        "500ms",
        "--warmup",
        "0s",
        "--connections",
        "2",
    ]);
    assert_eq!(v["ok"], 50);
    assert_eq!(errors_total(&v), 0);
}

#[test]
fn silent_server_times_out_and_rate_is_reported_missed() {
    let s = serve(Mode::Silent);
    let v = loadgen(&[
        &url(&s),
        "--qps",
        "100",
        "--duration",
        "500ms",
        "--warmup",
        "0s",
        "--connections",
        "2",
        "--timeout",
        "200ms",
    ]);
    assert_eq!(v["requests"], 50);
    assert_eq!(v["ok"], 0);
    assert_eq!(v["rate_achieved"], false);
    let timeouts = v["errors"]["timeout"].as_u64().unwrap();
    let dropped = v["dropped"].as_u64().unwrap();
    assert!(timeouts >= 2, "{v}");
    assert!(dropped > 0, "{v}");
    // Every scheduled request is accounted for.
    assert_eq!(errors_total(&v) + dropped, 50, "{v}");
    assert!(v["late"].as_u64().unwrap() > 0);
}

#[test]
fn refused_port_counts_connect_errors() {
    // Bind then drop: nothing listens there any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let v = loadgen(&[
        &format!("http://127.0.0.1:{port}/"),
        "--qps",
        "100",
        "--duration",
        "300ms",
        "--warmup",
        "0s",
        "--connections",
        "2",
    ]);
    assert_eq!(v["requests"], 30);
    assert_eq!(v["errors"]["connect"], 30);
}

#[test]
fn config_errors_exit_2_with_the_flag_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["http://127.0.0.1:1/", "--qps", "-5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("loadgen: --qps:"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "http://127.0.0.1:1/",
            "--qps",
            "5",
            "--body",
            "@/nonexistent.json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--qps",
        "--duration",
        "--warmup",
        "--connections",
        "--threads",
        "--body",
        "--model",
        "--stream",
        "--header",
        "--timeout",
        "--json",
        "--compare",
        "--closed-loop",
        "--driver",
        "--cpus",
        "--quiet",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn body_from_file_is_sent_verbatim() {
    let s = serve(Mode::Json);
    let path = std::env::temp_dir().join(format!("loadgen-body-{}.json", std::process::id()));
    std::fs::write(&path, br#"{"model":"m","messages":[]}"#).unwrap();
    let v = loadgen(&[
        &url(&s),
        "--qps",
        "50",
        "--duration",
        "200ms",
        "--warmup",
        "0s",
        "--body",
        &format!("@{}", path.display()),
        "--quiet",
    ]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(v["body_bytes"], 27);
    assert_eq!(v["ok"], 10);
}
