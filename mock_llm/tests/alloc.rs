//! The plain chat path allocates nothing per request once a connection is
//! warm: buffers are reused, the body is read through borrowed types and the
//! answer is precomputed. A counting global allocator watches the embedded
//! server (on both drivers) while an allocation-free client on this thread
//! sends requests over one keep-alive connection.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Reads one content-length response into `buf` without allocating.
fn read_one(c: &mut TcpStream, buf: &mut [u8]) {
    let mut have = 0;
    loop {
        let n = c.read(&mut buf[have..]).expect("read");
        assert!(n > 0, "server closed the connection");
        have += n;
        let Some(end) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = &buf[..end];
        assert!(head.starts_with(b"HTTP/1.1 200 "));
        let key = b"content-length: ";
        let at = head
            .windows(key.len())
            .position(|w| w == key)
            .expect("length")
            + key.len();
        let len = head[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .fold(0usize, |n, b| n * 10 + usize::from(b - b'0'));
        if have >= end + 4 + len {
            assert_eq!(have, end + 4 + len, "more than one response");
            return;
        }
    }
}

fn allocations_per_request(driver: mock_llm::Driver) -> f64 {
    let cfg = mock_llm::Config {
        port: 0,
        shards: 1,
        driver,
        quiet: true,
        ..mock_llm::Config::default()
    };
    let server = mock_llm::MockServer::start(cfg).expect("start");
    let body = r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi there"}],"max_tokens":64}"#;
    let req = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer k\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut c = TcpStream::connect(server.addr()).expect("connect");
    let mut buf = vec![0u8; 64 * 1024];
    for _ in 0..100 {
        c.write_all(req.as_bytes()).unwrap();
        read_one(&mut c, &mut buf);
    }
    const N: u64 = 2000;
    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..N {
        c.write_all(req.as_bytes()).unwrap();
        read_one(&mut c, &mut buf);
    }
    let allocs = ALLOCS.load(Ordering::Relaxed) - before;
    drop(server);
    allocs as f64 / N as f64
}

#[test]
fn plain_chat_does_not_allocate_per_request() {
    for driver in [mock_llm::Driver::Epoll, mock_llm::Driver::Auto] {
        let per_request = allocations_per_request(driver);
        eprintln!("{driver:?}: {per_request} allocations per request");
        // The shard's 50 ms shutdown poll may allocate a timer entry now
        // and then; anything per request would show as >= 1.
        assert!(
            per_request < 0.05,
            "{driver:?}: {per_request} allocations per request"
        );
    }
}
