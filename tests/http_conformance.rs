//! HTTP/1.1 behaviour of the real binary over loopback: keep-alive,
//! pipelining, body framings, `Expect: 100-continue`, every limit and timeout,
//! request-smuggling shapes, unknown routes and graceful shutdown.

mod common;

use common::*;
use std::io::Write;
use std::time::{Duration, Instant};

fn assert_openai_error(r: &Resp, status: u16) {
    assert_eq!(
        r.status,
        status,
        "body: {}",
        String::from_utf8_lossy(&r.body)
    );
    let j = r.json();
    let e = &j["error"];
    for k in ["message", "type", "param", "code"] {
        assert!(e.get(k).is_some(), "missing {k} in {j}");
    }
    assert_eq!(e["code"], status.to_string());
}

#[test]
fn keep_alive_and_pipelining() {
    let gw = start_gateway(&mock_config(""));
    let mut s = connect(gw.addr);
    let mut pending = Vec::new();
    // Sequential on one connection.
    for _ in 0..3 {
        s.write_all(&chat_request("demo", "")).unwrap();
        let r = read_response(&mut s, &mut pending).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["choices"][0]["message"]["content"], "hi there");
    }
    // Pipelined: three requests in one write, answered in order.
    let mut batch = Vec::new();
    batch.extend(chat_request("demo", ""));
    batch.extend_from_slice(b"GET /health/liveliness HTTP/1.1\r\nHost: x\r\n\r\n");
    batch.extend(chat_request("nope", ""));
    s.write_all(&batch).unwrap();
    let a = read_response(&mut s, &mut pending).unwrap();
    let b = read_response(&mut s, &mut pending).unwrap();
    let c = read_response(&mut s, &mut pending).unwrap();
    assert_eq!((a.status, b.status, c.status), (200, 200, 400));
    assert_eq!(b.body, b"\"I'm alive!\"");
}

#[test]
fn chunked_request_body() {
    let gw = start_gateway(&mock_config(""));
    let body = r#"{"model":"demo","messages":[{"role":"user","content":"hi"}]}"#;
    let (a, b) = body.split_at(10);
    let raw = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer {MASTER_KEY}\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x};ext=1\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    let r = roundtrip(gw.addr, raw.as_bytes()).unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

#[test]
fn expect_continue() {
    let gw = start_gateway(&mock_config(""));
    let body = r#"{"model":"demo","messages":[]}"#;
    let mut s = connect(gw.addr);
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer {MASTER_KEY}\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut pending = Vec::new();
    let interim = read_response(&mut s, &mut pending).unwrap();
    assert_eq!(interim.status, 100);
    s.write_all(body.as_bytes()).unwrap();
    let r = read_response(&mut s, &mut pending).unwrap();
    assert_eq!(r.status, 200);
}

#[test]
fn limits_answer_with_json_errors() {
    let gw = start_gateway(&mock_config(
        "ringway_settings:\n  max_header_bytes: 4096\n",
    ));
    // 431: head larger than max_header_bytes.
    let raw = format!(
        "GET /v1/models HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(8000)
    );
    let mut s = connect(gw.addr);
    s.write_all(raw.as_bytes()).unwrap();
    let r = read_response(&mut s, &mut Vec::new()).unwrap();
    assert_openai_error(&r, 431);
    assert!(is_closed(&mut s, Duration::from_secs(2)));
    // 413: declared Content-Length above max_request_size_mb (1 MiB here).
    let raw = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer {MASTER_KEY}\r\nContent-Length: {}\r\n\r\n",
        2 * 1024 * 1024
    );
    assert_openai_error(&roundtrip(gw.addr, raw.as_bytes()).unwrap(), 413);
    // 413: a chunked body that grows past the limit.
    let mut s = connect(gw.addr);
    s.write_all(
        format!("POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer {MASTER_KEY}\r\nTransfer-Encoding: chunked\r\n\r\n").as_bytes(),
    )
    .unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 256 * 1024, "x".repeat(256 * 1024));
    let mut answered = None;
    for _ in 0..8 {
        if s.write_all(chunk.as_bytes()).is_err() {
            break;
        }
    }
    if let Some(r) = read_response(&mut s, &mut Vec::new()) {
        answered = Some(r);
    }
    assert_openai_error(&answered.expect("413 before close"), 413);
}

#[test]
fn connection_limit_answers_503() {
    let gw = start_gateway(&mock_config(
        "ringway_settings:\n  max_connections_per_shard: 2\n",
    ));
    let _a = connect(gw.addr);
    let _b = connect(gw.addr);
    std::thread::sleep(Duration::from_millis(100));
    let mut c = connect(gw.addr);
    let r = read_response(&mut c, &mut Vec::new()).unwrap();
    assert_openai_error(&r, 503);
}

#[test]
fn timeouts() {
    let gw = start_gateway(&mock_config(
        "ringway_settings:\n  header_timeout_ms: 300\n  body_timeout_ms: 300\n  idle_timeout_ms: 300\n",
    ));
    // Header timeout: a head that never completes gets 408 and a close.
    let mut s = connect(gw.addr);
    s.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let t = Instant::now();
    let r = read_response(&mut s, &mut Vec::new()).unwrap();
    assert_openai_error(&r, 408);
    assert!(t.elapsed() < Duration::from_secs(5));
    // Body timeout.
    let mut s = connect(gw.addr);
    s.write_all(
        format!("POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer {MASTER_KEY}\r\nContent-Length: 100\r\n\r\n{{\"model\"").as_bytes(),
    )
    .unwrap();
    assert_openai_error(&read_response(&mut s, &mut Vec::new()).unwrap(), 408);
    // Idle keep-alive timeout: closed without a response.
    let mut s = connect(gw.addr);
    s.write_all(b"GET /health/liveliness HTTP/1.1\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s, &mut Vec::new()).unwrap().status, 200);
    assert!(is_closed(&mut s, Duration::from_secs(3)));
}

#[test]
fn smuggling_shapes_get_400_and_close() {
    let gw = start_gateway(&mock_config(""));
    let cases: &[&[u8]] = &[
        b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
        b"POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\nX-A: b\r\n c\r\nContent-Length: 0\r\n\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"GARBAGE\r\n\r\n",
    ];
    for raw in cases {
        let mut s = connect(gw.addr);
        s.write_all(raw).unwrap();
        let r = read_response(&mut s, &mut Vec::new())
            .unwrap_or_else(|| panic!("no response to {:?}", String::from_utf8_lossy(raw)));
        assert_openai_error(&r, 400);
        assert!(
            is_closed(&mut s, Duration::from_secs(2)),
            "left open after {:?}",
            String::from_utf8_lossy(raw)
        );
    }
}

#[test]
fn bad_requests_get_openai_errors() {
    let gw = start_gateway(&mock_config(""));
    let r = roundtrip(gw.addr, b"GET /v1/nope HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(r.status, 404);
    r.json();
    let r = roundtrip(gw.addr, b"GET /v1/chat/completions HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(r.status, 405);
    r.json();
    for body in ["", "[]", "{", "{\"messages\":[]}", "{\"model\":42}"] {
        let raw = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer {MASTER_KEY}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let r = roundtrip(gw.addr, raw.as_bytes()).unwrap();
        assert_openai_error(&r, 400);
    }
}

#[test]
fn graceful_shutdown_finishes_in_flight() {
    const RESP: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}";
    let up = slow_upstream(Duration::from_millis(600), RESP);
    let yaml = format!(
        "model_list:\n  - model_name: slow\n    litellm_params:\n      model: openai/slow\n      api_base: http://{up}/v1\ngeneral_settings:\n  master_key: {MASTER_KEY}\n"
    );
    let mut gw = start_gateway(&yaml);
    let mut s = connect(gw.addr);
    s.write_all(&chat_request("slow", "")).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    // SAFETY: plain kill(2) on our own child.
    unsafe {
        libc::kill(gw.child.id() as i32, libc::SIGTERM);
    }
    let r = read_response(&mut s, &mut Vec::new()).expect("in-flight request finished");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"{\"ok\":true}");
    let status = gw.child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert!(std::net::TcpStream::connect(gw.addr).is_err());
}
