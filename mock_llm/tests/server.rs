//! Black-box tests: start the real `mock_llm` binary (or, for TLS, the
//! embedded server) on 127.0.0.1:0 and talk to it over plain TCP with a tiny
//! HTTP/1.1 client written here, so framing is checked byte for byte.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A running `mock_llm` process; SIGTERM on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// `--port 0 --shards 1 --quiet` plus `args`.
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mock_llm"))
            .args(["--port", "0", "--shards", "1", "--quiet"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn mock_llm");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let addr = line
            .trim()
            .strip_prefix("mock_llm listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .parse()
            .expect("address");
        Server { child, addr }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s
    }

    fn sigterm(&mut self) -> std::process::ExitStatus {
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "mock_llm ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.sigterm();
        }
    }
}

#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// With chunked encoding, each chunk's payload.
    chunks: Vec<Vec<u8>>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("utf-8 body")
    }
}

fn read_line<R: BufRead>(r: &mut R) -> String {
    let mut line = String::new();
    r.read_line(&mut line).expect("read line");
    assert!(line.ends_with("\r\n"), "line without CRLF: {line:?}");
    line.truncate(line.len() - 2);
    line
}

/// Reads one response (content-length, chunked or close-delimited).
fn read_response<R: BufRead>(r: &mut R) -> Response {
    let status_line = read_line(r);
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut headers = Vec::new();
    loop {
        let line = read_line(r);
        if line.is_empty() {
            break;
        }
        let (n, v) = line.split_once(':').expect("header colon");
        headers.push((n.to_string(), v.trim().to_string()));
    }
    let mut resp = Response {
        status,
        headers,
        body: Vec::new(),
        chunks: Vec::new(),
    };
    if status < 200 {
        // Interim responses (100 Continue) have no body.
    } else if resp.header("transfer-encoding") == Some("chunked") {
        loop {
            let size = usize::from_str_radix(&read_line(r), 16).expect("chunk size");
            if size == 0 {
                assert_eq!(read_line(r), "", "trailers");
                break;
            }
            let mut chunk = vec![0; size];
            r.read_exact(&mut chunk).expect("chunk");
            assert_eq!(read_line(r), "");
            resp.body.extend_from_slice(&chunk);
            resp.chunks.push(chunk);
        }
    } else if let Some(n) = resp.header("content-length") {
        let mut body = vec![0; n.parse().expect("content-length")];
        r.read_exact(&mut body).expect("body");
        resp.body = body;
    } else {
        r.read_to_end(&mut resp.body).expect("body to EOF");
    }
    resp
}

fn raw_request(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut req = format!("{method} {path} HTTP/1.1\r\nhost: test\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    if method == "POST" {
        req.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    req
}

/// One request on a fresh connection.
fn call(s: &Server, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    let mut c = s.connect();
    c.write_all(raw_request(method, path, headers, body).as_bytes())
        .expect("write");
    read_response(&mut BufReader::new(c))
}

fn post(s: &Server, path: &str, body: Value) -> Response {
    call(
        s,
        "POST",
        path,
        &[("content-type", "application/json")],
        &body.to_string(),
    )
}

/// The JSON of every `data:` line, `[DONE]` as a string.
fn sse_data(body: &str) -> Vec<Value> {
    body.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let d = e
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap_or_else(|| panic!("event without data: {e:?}"));
            if d == "[DONE]" {
                Value::String(d.into())
            } else {
                serde_json::from_str(d).expect("event JSON")
            }
        })
        .collect()
}

#[test]
fn chat_non_stream() {
    let s = Server::start(&["--tokens", "4"]);
    let r = post(
        &s,
        "/v1/chat/completions",
        json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello there world"}]}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(v["object"], "chat.completion");
    assert!(v["created"].as_u64().unwrap() > 1_600_000_000);
    assert_eq!(v["model"], "gpt-4o-mini");
    assert_eq!(v["choices"][0]["message"]["role"], "assistant");
    assert_eq!(v["choices"][0]["message"]["content"], "tok0 tok1 tok2 tok3");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7})
    );
    // The short path answers too, and max_tokens truncates.
    let v = post(
        &s,
        "/chat/completions",
        json!({"model": "m", "max_tokens": 2}),
    )
    .json();
    assert_eq!(v["choices"][0]["message"]["content"], "tok0 tok1");
    assert_eq!(v["choices"][0]["finish_reason"], "length");
}

#[test]
fn chat_stream_with_usage() {
    let s = Server::start(&["--tokens", "3"]);
    let r = post(
        &s,
        "/v1/chat/completions",
        json!({"model": "m1", "stream": true, "stream_options": {"include_usage": true},
               "messages": [{"role": "user", "content": "a b"}]}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    // One event per chunk: each was written on its own.
    assert_eq!(r.chunks.len(), 7);
    for c in &r.chunks {
        let c = std::str::from_utf8(c).unwrap();
        assert!(c.starts_with("data: ") && c.ends_with("\n\n") && c.matches("\n\n").count() == 1);
    }
    let ev = sse_data(&r.text());
    assert_eq!(ev.len(), 7);
    for e in &ev[..6] {
        assert_eq!(e["object"], "chat.completion.chunk");
        assert_eq!(e["model"], "m1");
        assert_eq!(e["id"], ev[0]["id"]);
    }
    assert_eq!(ev[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = ev[1..4]
        .iter()
        .map(|e| e["choices"][0]["delta"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(text, "tok0 tok1 tok2");
    assert!(ev[1]["usage"].is_null());
    assert_eq!(ev[4]["choices"][0]["finish_reason"], "stop");
    assert_eq!(ev[5]["choices"], json!([]));
    assert_eq!(
        ev[5]["usage"],
        json!({"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5})
    );
    assert_eq!(ev[6], "[DONE]");

    // Without include_usage: no usage chunk, no usage fields.
    let r = post(
        &s,
        "/v1/chat/completions",
        json!({"model": "m1", "stream": true}),
    );
    let ev = sse_data(&r.text());
    assert_eq!(ev.len(), 6);
    assert!(ev.iter().all(|e| e.get("usage").is_none()));
}

#[test]
fn inter_token_delay_spaces_events() {
    let s = Server::start(&["--tokens", "4", "--inter-token-ms", "30"]);
    let start = Instant::now();
    let r = post(
        &s,
        "/v1/chat/completions",
        json!({"model": "m", "stream": true}),
    );
    assert_eq!(sse_data(&r.text()).len(), 7);
    assert!(
        start.elapsed() >= Duration::from_millis(120),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn legacy_completions() {
    let s = Server::start(&["--tokens", "2"]);
    let v = post(
        &s,
        "/v1/completions",
        json!({"model": "davinci", "prompt": "say this"}),
    )
    .json();
    assert_eq!(v["object"], "text_completion");
    assert_eq!(v["choices"][0]["text"], "tok0 tok1");
    assert_eq!(v["usage"]["prompt_tokens"], 2);
    let r = post(
        &s,
        "/v1/completions",
        json!({"model": "davinci", "prompt": "x", "stream": true}),
    );
    let ev = sse_data(&r.text());
    assert_eq!(ev.len(), 4);
    assert_eq!(ev[1]["choices"][0]["text"], " tok1");
    assert_eq!(ev[3], "[DONE]");
}

#[test]
fn embeddings_and_models() {
    let s = Server::start(&[]);
    let v = post(
        &s,
        "/v1/embeddings",
        json!({"model": "text-embedding-3-small", "input": ["a b", "c", "d"]}),
    )
    .json();
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "text-embedding-3-small");
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    for (i, d) in data.iter().enumerate() {
        assert_eq!(d["object"], "embedding");
        assert_eq!(d["index"], i);
        assert_eq!(d["embedding"].as_array().unwrap().len(), 8);
    }
    assert_ne!(data[0]["embedding"], data[1]["embedding"]);
    assert_eq!(v["usage"], json!({"prompt_tokens": 4, "total_tokens": 4}));

    let v = post(
        &s,
        "/v1/embeddings",
        json!({"model": "e", "input": "x", "dimensions": 4}),
    )
    .json();
    assert_eq!(v["data"][0]["embedding"].as_array().unwrap().len(), 4);
    let v = post(
        &s,
        "/v1/embeddings",
        json!({"model": "e", "input": "x", "encoding_format": "base64"}),
    )
    .json();
    assert_eq!(v["data"][0]["embedding"].as_str().unwrap().len(), 44); // 32 bytes
    assert_eq!(
        post(&s, "/v1/embeddings", json!({"model": "e"})).status,
        400
    );

    let r = call(&s, "GET", "/v1/models", &[], "");
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["object"], "list");
    assert!(v["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["object"] == "model"));
    let v = call(&s, "GET", "/v1/models/gpt-x", &[], "").json();
    assert_eq!(v["id"], "gpt-x");
}

#[test]
fn anthropic_messages() {
    let s = Server::start(&["--tokens", "2", "--anthropic-key", "ak-1"]);
    let body = json!({"model": "claude-3-5-sonnet", "max_tokens": 100, "stream": true,
                      "system": "be kind", "messages": [{"role": "user", "content": "hi"}]})
    .to_string();
    let good = [("x-api-key", "ak-1"), ("anthropic-version", "2023-06-01")];
    let r = call(&s, "POST", "/v1/messages", &good, &body);
    assert_eq!(r.status, 200);
    let text = r.text();
    let names: Vec<&str> = text
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| e.lines().next().unwrap().strip_prefix("event: ").unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let ev = sse_data(&text);
    assert_eq!(ev[0]["message"]["model"], "claude-3-5-sonnet");
    assert_eq!(ev[0]["message"]["usage"]["input_tokens"], 3);
    assert_eq!(
        ev[3]["delta"],
        json!({"type": "text_delta", "text": "tok0"})
    );
    assert_eq!(ev[6]["delta"]["stop_reason"], "end_turn");
    assert_eq!(ev[6]["usage"]["output_tokens"], 2);

    let plain = body.replace("\"stream\":true", "\"stream\":false");
    let v = call(&s, "POST", "/v1/messages", &good, &plain).json();
    assert_eq!(v["type"], "message");
    assert_eq!(v["role"], "assistant");
    assert_eq!(v["content"], json!([{"type": "text", "text": "tok0 tok1"}]));
    assert_eq!(v["stop_reason"], "end_turn");
    assert!(v["stop_sequence"].is_null());
    assert_eq!(v["usage"], json!({"input_tokens": 3, "output_tokens": 2}));

    let r = call(
        &s,
        "POST",
        "/v1/messages",
        &[("x-api-key", "bad"), good[1]],
        &plain,
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}})
    );
    let r = call(&s, "POST", "/v1/messages", &good[..1], &plain);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    let fail = plain.replace("claude-3-5-sonnet", "mock-fail-529");
    let r = call(&s, "POST", "/v1/messages", &good, &fail);
    assert_eq!(r.status, 529);
    assert_eq!(r.json()["error"]["type"], "overloaded_error");
}

#[test]
fn openai_auth() {
    let s = Server::start(&["--api-key", "sk-test-1234567890"]);
    let body = json!({"model": "m"}).to_string();
    let r = call(&s, "POST", "/v1/chat/completions", &[], &body);
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    let r = call(
        &s,
        "POST",
        "/v1/chat/completions",
        &[("authorization", "Bearer sk-wrong-key-000")],
        &body,
    );
    assert_eq!(r.status, 401);
    let e = r.json();
    assert_eq!(e["error"]["code"], "invalid_api_key");
    assert!(e["error"]["param"].is_null());
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Incorrect API key provided: sk-") && !msg.contains("wrong"),
        "{msg}"
    );
    let r = call(
        &s,
        "POST",
        "/v1/chat/completions",
        &[("Authorization", "Bearer sk-test-1234567890")],
        &body,
    );
    assert_eq!(r.status, 200);
    let r = call(
        &s,
        "POST",
        "/v1/chat/completions",
        &[("api-key", "sk-test-1234567890")],
        &body,
    );
    assert_eq!(r.status, 200);
    assert_eq!(call(&s, "GET", "/v1/models", &[], "").status, 401);
    // Health and stats need no key.
    assert_eq!(call(&s, "GET", "/health", &[], "").status, 200);
}

#[test]
fn failures_by_model_name() {
    let s = Server::start(&[]);
    for (status, kind) in [
        (429, "requests"),
        (500, "server_error"),
        (400, "invalid_request_error"),
        (503, "server_error"),
    ] {
        let model = format!("mock-fail-{status}");
        let r = post(&s, "/v1/chat/completions", json!({"model": model}));
        assert_eq!(r.status, status);
        let e = r.json();
        assert_eq!(e["error"]["type"], kind, "{status}");
        assert!(e["error"]["message"].is_string());
    }
    let e = post(
        &s,
        "/v1/chat/completions",
        json!({"model": "mock-fail-429"}),
    )
    .json();
    assert_eq!(e["error"]["code"], "rate_limit_exceeded");

    // mock-reset: the connection closes with nothing written.
    let mut c = s.connect();
    let req = raw_request(
        "POST",
        "/v1/chat/completions",
        &[],
        r#"{"model":"mock-reset"}"#,
    );
    c.write_all(req.as_bytes()).unwrap();
    let mut got = Vec::new();
    let _ = c.read_to_end(&mut got);
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));

    // mock-timeout: no answer; the server notices the client leaving.
    let mut c = s.connect();
    c.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let req = raw_request(
        "POST",
        "/v1/chat/completions",
        &[],
        r#"{"model":"mock-timeout"}"#,
    );
    c.write_all(req.as_bytes()).unwrap();
    let mut byte = [0u8; 1];
    let err = c.read(&mut byte).expect_err("mock-timeout answered");
    assert!(matches!(
        err.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ));
    drop(c);

    let start = Instant::now();
    let r = post(
        &s,
        "/v1/chat/completions",
        json!({"model": "mock-slow-first-byte-150"}),
    );
    assert_eq!(r.status, 200);
    assert!(start.elapsed() >= Duration::from_millis(150));
    assert_eq!(r.json()["model"], "mock-slow-first-byte-150");
}

#[test]
fn failures_by_rate_and_latency() {
    let s = Server::start(&[
        "--fail-rate",
        "1",
        "--fail-status",
        "502",
        "--latency-ms",
        "60",
    ]);
    for _ in 0..3 {
        let start = Instant::now();
        let r = post(&s, "/v1/chat/completions", json!({"model": "m"}));
        assert_eq!(r.status, 502);
        assert_eq!(r.json()["error"]["type"], "server_error");
        assert!(start.elapsed() >= Duration::from_millis(60));
    }
    // Not a model route: no failure, no latency.
    assert_eq!(call(&s, "GET", "/v1/models", &[], "").status, 200);
}

#[test]
fn pipelined_requests_answer_in_order() {
    let s = Server::start(&["--tokens", "1"]);
    let mut c = s.connect();
    let mut batch = String::new();
    for model in ["first", "second"] {
        batch.push_str(&raw_request(
            "POST",
            "/v1/chat/completions",
            &[],
            &json!({"model": model}).to_string(),
        ));
    }
    batch.push_str(&raw_request("GET", "/health", &[], ""));
    // A streamed answer between plain ones, and a delayed one after it.
    batch.push_str(&raw_request(
        "POST",
        "/v1/chat/completions",
        &[],
        r#"{"model":"third","stream":true}"#,
    ));
    batch.push_str(&raw_request(
        "POST",
        "/v1/chat/completions",
        &[],
        r#"{"model":"mock-slow-first-byte-20"}"#,
    ));
    batch.push_str(&raw_request(
        "POST",
        "/v1/chat/completions",
        &[],
        r#"{"model":"last"}"#,
    ));
    c.write_all(batch.as_bytes()).unwrap();
    let mut r = BufReader::new(c);
    assert_eq!(read_response(&mut r).json()["model"], "first");
    assert_eq!(read_response(&mut r).json()["model"], "second");
    assert_eq!(read_response(&mut r).json()["status"], "ok");
    let stream = read_response(&mut r);
    assert_eq!(sse_data(&stream.text())[0]["model"], "third");
    assert_eq!(
        read_response(&mut r).json()["model"],
        "mock-slow-first-byte-20"
    );
    assert_eq!(read_response(&mut r).json()["model"], "last");

    // Keep-alive: the same connection still works afterwards, byte by byte.
    let mut c = r.into_inner();
    for b in raw_request("POST", "/v1/chat/completions", &[], r#"{"model":"slow"}"#).as_bytes() {
        c.write_all(&[*b]).unwrap();
    }
    assert_eq!(
        read_response(&mut BufReader::new(c)).json()["model"],
        "slow"
    );
}

#[test]
fn epoll_driver_works() {
    let s = Server::start(&["--driver", "epoll", "--tokens", "2"]);
    let v = post(&s, "/v1/chat/completions", json!({"model": "on-epoll"})).json();
    assert_eq!(v["model"], "on-epoll");
    let r = post(
        &s,
        "/v1/chat/completions",
        json!({"model": "m", "stream": true}),
    );
    assert_eq!(sse_data(&r.text()).len(), 5);
}

#[test]
fn stats_show_the_last_request() {
    let s = Server::start(&[]);
    let body = r#"{"model":"rewritten","messages":[]}"#;
    let r = call(
        &s,
        "POST",
        "/v1/chat/completions?api-version=1",
        &[("Authorization", "Bearer injected"), ("X-Extra", "1")],
        body,
    );
    assert_eq!(r.status, 200);
    call(&s, "GET", "/v1/models", &[], "");
    let v = call(&s, "GET", "/mock/stats", &[], "").json();
    assert_eq!(v["requests"], 2);
    assert_eq!(
        v["by_path"],
        json!({"/v1/chat/completions": 1, "/v1/models": 1})
    );
    assert_eq!(v["last_path"], "/v1/chat/completions?api-version=1");
    assert_eq!(v["last_headers"]["authorization"], "Bearer injected");
    assert_eq!(v["last_headers"]["x-extra"], "1");
    assert_eq!(v["last_body"], body);
    assert_eq!(call(&s, "POST", "/mock/reset", &[], "").status, 200);
    let v = call(&s, "GET", "/mock/stats", &[], "").json();
    assert_eq!(v["requests"], 0);
    assert!(v["last_body"].is_null());
}

#[test]
fn errors_for_bad_requests() {
    let s = Server::start(&[]);
    let r = call(&s, "POST", "/v1/nope", &[], "{}");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "unknown_url");
    let r = call(&s, "POST", "/v1/chat/completions", &[], "{not json");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    let r = call(&s, "POST", "/v1/chat/completions", &[], "{}");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["error"]["message"],
        "you must provide a model parameter"
    );
    assert_eq!(call(&s, "GET", "/v1/chat/completions", &[], "").status, 405);
    // A malformed head gets a 400 and the connection closes.
    let mut c = s.connect();
    c.write_all(b"BAD\x01 / HTTP/1.1\r\n\r\n").unwrap();
    let mut r = BufReader::new(c);
    let resp = read_response(&mut r);
    assert_eq!(resp.status, 400);
    assert_eq!(resp.header("connection"), Some("close"));
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
}

#[test]
fn chunked_body_expect_continue_and_http10() {
    let s = Server::start(&[]);
    let mut c = s.connect();
    c.write_all(
        b"POST /v1/chat/completions HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n\
          5\r\n{\"mod\r\n9\r\nel\":\"ck\"}\r\n0\r\n\r\n",
    )
    .unwrap();
    let mut r = BufReader::new(c.try_clone().unwrap());
    assert_eq!(read_response(&mut r).json()["model"], "ck");

    let body = r#"{"model":"expect"}"#;
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nexpect: 100-continue\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    c.write_all(head.as_bytes()).unwrap();
    let interim = read_response(&mut r);
    assert_eq!(interim.status, 100);
    c.write_all(body.as_bytes()).unwrap();
    assert_eq!(read_response(&mut r).json()["model"], "expect");

    // HTTP/1.0: answered, then closed; a stream ends by closing too.
    let mut c = s.connect();
    let body = r#"{"model":"old","stream":true}"#;
    let req = format!(
        "POST /v1/chat/completions HTTP/1.0\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    c.write_all(req.as_bytes()).unwrap();
    let resp = read_response(&mut BufReader::new(c));
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(resp.header("transfer-encoding").is_none());
    assert_eq!(sse_data(&resp.text()).last().unwrap(), "[DONE]");
}

#[test]
fn no_chunked_streams_close_the_connection() {
    let s = Server::start(&["--no-chunked", "--tokens", "2"]);
    let r = post(
        &s,
        "/v1/chat/completions",
        json!({"model": "m", "stream": true}),
    );
    assert!(r.header("transfer-encoding").is_none());
    assert_eq!(r.header("connection"), Some("close"));
    assert_eq!(sse_data(&r.text()).len(), 5);
}

#[test]
fn sigterm_exits_cleanly() {
    let mut s = Server::start(&[]);
    // An idle keep-alive connection must not hold up the exit.
    let _idle = s.connect();
    assert_eq!(
        post(&s, "/v1/chat/completions", json!({"model": "m"})).status,
        200
    );
    let status = s.sigterm();
    assert!(status.success(), "{status:?}");
}

#[test]
fn help_and_bad_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_mock_llm"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for opt in [
        "--port",
        "--host",
        "--shards",
        "--driver",
        "--latency-ms",
        "--jitter-ms",
        "--tokens",
        "--inter-token-ms",
        "--fail-rate",
        "--fail-status",
        "--api-key",
        "--anthropic-key",
        "--tls-cert",
        "--tls-key",
        "--quiet",
    ] {
        assert!(help.contains(opt), "--help lacks {opt}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_mock_llm"))
        .args(["--fail-rate", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fail-rate"));
}

/// The embedded server with the checked-in certificates, and a rustls client
/// that trusts only the test CA.
#[test]
fn tls_with_fixture_certificates() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use std::sync::Arc;

    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    let cfg = mock_llm::Config {
        port: 0,
        shards: 1,
        tokens: 2,
        tls_cert: Some(fixtures.join("server.pem")),
        tls_key: Some(fixtures.join("server.key")),
        ..mock_llm::Config::default()
    };
    let server = mock_llm::MockServer::start(cfg).expect("start");
    assert!(server.url().starts_with("https://127.0.0.1:"));

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(fixtures.join("ca.pem")).expect("ca.pem"))
        .expect("add CA");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let client = Arc::new(client);
    for name in ["localhost", "127.0.0.1"] {
        let conn = rustls::ClientConnection::new(
            client.clone(),
            ServerName::try_from(name).unwrap().to_owned(),
        )
        .unwrap();
        let tcp = TcpStream::connect(server.addr()).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let req = raw_request(
            "POST",
            "/v1/chat/completions",
            &[],
            r#"{"model":"secure","stream":true}"#,
        );
        tls.write_all(req.as_bytes()).unwrap();
        let mut r = BufReader::new(tls);
        let ev = sse_data(&read_response(&mut r).text());
        assert_eq!(ev[0]["model"], "secure");
        assert_eq!(ev.last().unwrap(), "[DONE]");
        // Keep-alive over TLS.
        let req = raw_request("POST", "/v1/chat/completions", &[], r#"{"model":"again"}"#);
        r.get_mut().write_all(req.as_bytes()).unwrap();
        assert_eq!(read_response(&mut r).json()["model"], "again");
    }
    // A close-delimited stream (HTTP/1.0) must end with close_notify, or a
    // TLS client cannot tell the end from a truncation.
    let conn =
        rustls::ClientConnection::new(client, ServerName::try_from("localhost").unwrap()).unwrap();
    let tcp = TcpStream::connect(server.addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let body = r#"{"model":"old","stream":true}"#;
    let req = format!(
        "POST /v1/chat/completions HTTP/1.0\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(req.as_bytes()).unwrap();
    let resp = read_response(&mut BufReader::new(tls));
    assert_eq!(resp.header("connection"), Some("close"));
    assert_eq!(sse_data(&resp.text()).last().unwrap(), "[DONE]");
    drop(server);
}
