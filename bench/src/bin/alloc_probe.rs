//! `alloc-probe`: heap allocations per passthrough request in steady state.
//!
//! Runs the gateway in-process (one shard) behind a counting global
//! allocator, with an upstream and a client written to allocate nothing in
//! steady state (fixed buffers, no formatting), so every allocation counted
//! in the measured window is the gateway's. Prints one JSON line:
//! `{"driver":"epoll","requests":10000,"allocs_per_request":0.0}`.
//!
//!     cargo run --release -p bench --bin alloc-probe -- --driver epoll
//!
//! `tests/alloc_count.rs` runs it against the checked-in budget, and
//! `ringway-bench` puts its figure in the table. `RINGWAY_ALLOC_TRACE=N`
//! prints the stacks of the first N counted allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static IN_TRACE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `RINGWAY_ALLOC_TRACE=N` prints the stack of the first N counted
/// allocations: how to find where a new one comes from.
fn maybe_trace() {
    static TRACED: AtomicU64 = AtomicU64::new(0);
    static LIMIT: AtomicU64 = AtomicU64::new(u64::MAX);
    if IN_TRACE.with(|t| t.replace(true)) {
        return;
    }
    if LIMIT.load(Ordering::Relaxed) == u64::MAX {
        let n = std::env::var("RINGWAY_ALLOC_TRACE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        LIMIT.store(n, Ordering::Relaxed);
    }
    if TRACED.fetch_add(1, Ordering::Relaxed) < LIMIT.load(Ordering::Relaxed) {
        eprintln!(
            "--- allocation\n{}",
            std::backtrace::Backtrace::force_capture()
        );
    }
    IN_TRACE.with(|t| t.set(false));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) && !IN_TRACE.with(|t| t.get()) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            maybe_trace();
        }
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) && !IN_TRACE.with(|t| t.get()) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            maybe_trace();
        }
        System.realloc(p, l, n)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const UPSTREAM_BODY: &[u8] = b"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hello there, this is a fixed answer\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":8,\"total_tokens\":17}}";

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// Content-Length of a head, parsed without allocating.
fn content_length(head: &[u8]) -> usize {
    let mut i = 0;
    while i < head.len() {
        let end = find(&head[i..], b"\r\n")
            .map(|e| i + e)
            .unwrap_or(head.len());
        let line = &head[i..end];
        if line.len() > 15 && line[..15].eq_ignore_ascii_case(b"content-length:") {
            let mut n = 0usize;
            for &b in &line[15..] {
                if b.is_ascii_digit() {
                    n = n * 10 + (b - b'0') as usize;
                }
            }
            return n;
        }
        i = end + 2;
    }
    0
}

/// Reads one Content-Length-framed message into `buf`; returns its length.
fn read_message(s: &mut TcpStream, buf: &mut [u8]) -> usize {
    let mut have = 0;
    loop {
        if let Some(h) = find(&buf[..have], b"\r\n\r\n") {
            let total = h + 4 + content_length(&buf[..h + 2]);
            while have < total {
                have += s.read(&mut buf[have..]).expect("read");
            }
            assert_eq!(have, total, "pipelining not expected here");
            return total;
        }
        let n = s.read(&mut buf[have..]).expect("read");
        assert!(n > 0, "peer closed");
        have += n;
    }
}

fn upstream() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let response: &'static [u8] = Box::leak(
        [
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-request-id: req-1\r\nContent-Length: {}\r\n\r\n",
                UPSTREAM_BODY.len()
            )
            .as_bytes(),
            UPSTREAM_BODY,
        ]
        .concat()
        .into_boxed_slice(),
    );
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let mut have = 0;
                    let total = loop {
                        if let Some(h) = find(&buf[..have], b"\r\n\r\n") {
                            break h + 4 + content_length(&buf[..h + 2]);
                        }
                        match s.read(&mut buf[have..]) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => have += n,
                        }
                    };
                    while have < total {
                        match s.read(&mut buf[have..]) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => have += n,
                        }
                    }
                    if s.write_all(response).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn measure(driver: shards::Driver, n: usize) -> f64 {
    let up = upstream();
    let dir = std::env::temp_dir().join(format!("ringway-alloc-{}-{driver:?}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("config.yaml");
    std::fs::write(
        &cfg,
        format!(
            "model_list:\n  - model_name: gpt-4o-mini\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_base: http://{up}/v1\n      api_key: sk-up\ngeneral_settings:\n  master_key: sk-alloc-test-key-123\n"
        ),
    )
    .unwrap();
    let opts = ringway::cli::Options {
        config: Some(cfg),
        port: 0,
        host: "127.0.0.1".into(),
        num_workers: 1,
        driver,
        pin: false,
        log_level: log::LevelFilter::Warn,
    };
    let shutdown = shards::Shutdown::new();
    let (tx, rx) = std::sync::mpsc::channel();
    let sd = shutdown.clone();
    let server = std::thread::spawn(move || {
        ringway::serve(opts, sd, move |a| {
            let _ = tx.send(a);
        })
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("gateway ready");
    let body = br#"{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello."}],"temperature":0.2}"#;
    let mut req = Vec::new();
    req.extend_from_slice(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer sk-alloc-test-key-123\r\nContent-Type: application/json\r\nContent-Length: ");
    req.extend_from_slice(body.len().to_string().as_bytes());
    req.extend_from_slice(b"\r\n\r\n");
    req.extend_from_slice(body);
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut run = |n: usize| {
        for _ in 0..n {
            s.write_all(&req).unwrap();
            let len = read_message(&mut s, &mut buf);
            assert!(
                buf[..len].starts_with(b"HTTP/1.1 200"),
                "{}",
                String::from_utf8_lossy(&buf[..len])
            );
        }
    };
    run(2_000);
    ALLOCS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    run(n);
    COUNTING.store(false, Ordering::SeqCst);
    let per_req = ALLOCS.load(Ordering::SeqCst) as f64 / n as f64;
    shutdown.trigger();
    server.join().unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    per_req
}

fn main() {
    let mut driver = shards::Driver::Epoll;
    let mut requests = 10_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--driver" => match args.next().map(|v| v.parse()) {
                Some(Ok(d)) => driver = d,
                _ => fail("--driver needs auto, uring or epoll"),
            },
            "--requests" => match args.next().and_then(|v| v.parse().ok()) {
                Some(n) if n > 0 => requests = n,
                _ => fail("--requests needs a positive number"),
            },
            "-h" | "--help" => {
                println!("alloc-probe [--driver auto|uring|epoll] [--requests N]");
                return;
            }
            other => fail(&format!("unknown argument '{other}'")),
        }
    }
    let per_req = measure(driver, requests);
    let name = match driver {
        shards::Driver::Epoll => "epoll",
        shards::Driver::Uring => "uring",
        shards::Driver::Auto => "auto",
    };
    println!("{{\"driver\":\"{name}\",\"requests\":{requests},\"allocs_per_request\":{per_req}}}");
}

fn fail(msg: &str) -> ! {
    eprintln!("alloc-probe: {msg}");
    std::process::exit(2);
}
