//! Helpers shared by the integration tests: start the real `ringway` binary
//! on loopback with a config written for the test, talk raw HTTP to it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const MASTER_KEY: &str = "sk-ringway-test-master-1234";

/// A running gateway process; killed on drop.
pub struct Gateway {
    pub child: Child,
    pub addr: SocketAddr,
    _dir: TempDir,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "ringway-test-{tag}-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos() ^ (fastrand_seed() as u128)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fastrand_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Starts `ringway --config <yaml>` with one shard on 127.0.0.1:0.
pub fn start_gateway(yaml: &str) -> Gateway {
    start_gateway_with(yaml, &[])
}

pub fn start_gateway_with(yaml: &str, extra_args: &[&str]) -> Gateway {
    start_gateway_env(yaml, extra_args, &[])
}

/// Like [`start_gateway_with`], with extra environment variables.
pub fn start_gateway_env(yaml: &str, extra_args: &[&str], env: &[(&str, &str)]) -> Gateway {
    let dir = TempDir::new("gw");
    let cfg = dir.0.join("config.yaml");
    std::fs::write(&cfg, yaml).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ringway"))
        .envs(env.iter().copied())
        .arg("--config")
        .arg(&cfg)
        .args([
            "--port",
            "0",
            "--host",
            "127.0.0.1",
            "--num_workers",
            "1",
            "--log-level",
            "warn",
        ])
        .args(extra_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn ringway");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .rsplit("http://")
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected start line: {line:?}"));
    Gateway {
        child,
        addr,
        _dir: dir,
    }
}

/// A config with a mock_response model (`demo`) and the test master key.
pub fn mock_config(extra: &str) -> String {
    format!(
        "model_list:\n  - model_name: demo\n    litellm_params:\n      model: openai/demo\n      mock_response: \"hi there\"\ngeneral_settings:\n  master_key: {MASTER_KEY}\n  max_request_size_mb: 1\n{extra}"
    )
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// A parsed response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
}

/// Reads one response (Content-Length or chunked) from a stream, keeping
/// unread bytes in `pending` for the next call.
pub fn read_response(s: &mut TcpStream, pending: &mut Vec<u8>) -> Option<Resp> {
    let mut buf = [0u8; 65536];
    let head_end = loop {
        if let Some(i) = find(pending, b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        pending.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&pending[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    pending.drain(..head_end);
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if (100..200).contains(&status) {
        return Some(Resp {
            status,
            headers,
            body,
        });
    }
    if let Some(cl) = get("content-length") {
        let n: usize = cl.trim().parse().ok()?;
        while pending.len() < n {
            let r = s.read(&mut buf).ok()?;
            if r == 0 {
                return None;
            }
            pending.extend_from_slice(&buf[..r]);
        }
        body.extend(pending.drain(..n));
    } else if get("transfer-encoding").is_some() {
        loop {
            let line_end = loop {
                if let Some(i) = find(pending, b"\r\n") {
                    break i;
                }
                let r = s.read(&mut buf).ok()?;
                if r == 0 {
                    return None;
                }
                pending.extend_from_slice(&buf[..r]);
            };
            let size = usize::from_str_radix(
                String::from_utf8_lossy(&pending[..line_end])
                    .split(';')
                    .next()?
                    .trim(),
                16,
            )
            .ok()?;
            while pending.len() < line_end + 2 + size + 2 {
                let r = s.read(&mut buf).ok()?;
                if r == 0 {
                    return None;
                }
                pending.extend_from_slice(&buf[..r]);
            }
            body.extend_from_slice(&pending[line_end + 2..line_end + 2 + size]);
            pending.drain(..line_end + 2 + size + 2);
            if size == 0 {
                break;
            }
        }
    }
    Some(Resp {
        status,
        headers,
        body,
    })
}

pub fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// Sends raw bytes and reads one response.
pub fn roundtrip(addr: SocketAddr, raw: &[u8]) -> Option<Resp> {
    let mut s = connect(addr);
    s.write_all(raw).unwrap();
    read_response(&mut s, &mut Vec::new())
}

/// True when the server closed the connection (EOF or reset) within `wait`.
pub fn is_closed(s: &mut TcpStream, wait: Duration) -> bool {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut b = [0u8; 1];
    matches!(s.read(&mut b), Ok(0) | Err(_))
        && {
            // Err may be a timeout: distinguish.
            s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            !matches!(s.read(&mut b), Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut)
        }
}

pub fn chat_request(model: &str, extra_headers: &str) -> Vec<u8> {
    let body = format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":"hi"}}]}}"#);
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {MASTER_KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra_headers}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A tiny upstream on std threads: answers every request on a connection
/// with `response` after `delay`. Returns its address.
pub fn slow_upstream(delay: Duration, response: &'static [u8]) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let mut pending = Vec::new();
                let mut buf = [0u8; 65536];
                loop {
                    // Read one request head + Content-Length body.
                    let end = loop {
                        if let Some(i) = find(&pending, b"\r\n\r\n") {
                            break i + 4;
                        }
                        match s.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => pending.extend_from_slice(&buf[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&pending[..end]).to_lowercase();
                    let cl: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while pending.len() < end + cl {
                        match s.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => pending.extend_from_slice(&buf[..n]),
                        }
                    }
                    pending.drain(..end + cl);
                    std::thread::sleep(delay);
                    if s.write_all(response).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// A running mock_llm; killed on drop.
pub struct Mock {
    child: Child,
    pub url: String,
    pub addr: SocketAddr,
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn mock_bin() -> std::path::PathBuf {
    let p = std::path::Path::new(env!("CARGO_BIN_EXE_ringway")).with_file_name("mock_llm");
    assert!(
        p.exists(),
        "{} missing: run `cargo build --workspace` before the tests",
        p.display()
    );
    p
}

pub fn start_mock(args: &[&str]) -> Mock {
    let mut child = Command::new(mock_bin())
        .args([
            "--port",
            "0",
            "--host",
            "127.0.0.1",
            "--shards",
            "1",
            "--quiet",
        ])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn mock_llm");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    let addr = url.rsplit("//").next().unwrap().parse().unwrap();
    Mock { child, url, addr }
}

pub fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// GET /mock/stats from the mock.
pub fn mock_stats(m: &Mock) -> serde_json::Value {
    let r = roundtrip(m.addr, b"GET /mock/stats HTTP/1.1\r\nHost: m\r\n\r\n").unwrap();
    r.json()
}
