//! The cross-format phase's pieces: which runs it makes, the request bodies
//! (valid in both the OpenAI and the Anthropic format), and a one-request
//! check of every URL before loadgen is pointed at it.
//!
//! A run is "direct": the mock called in the deployment's own format, vs
//! "proxied": Ringway called in the client's format, with the same body.
//! Passthrough is OpenAI on both sides; O→A is an OpenAI client on an
//! `anthropic/` deployment; A→O an Anthropic client on an `openai/` one.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

/// The model group of the `anthropic/` deployment.
pub const CLAUDE_MODEL: &str = "claude-bench";
/// The model group of the `openai/` deployment.
pub const OPENAI_MODEL: &str = "gpt-4o-mini";
/// Sent on every run; OpenAI routes ignore it.
pub const ANTHROPIC_VERSION: &str = "anthropic-version: 2023-06-01";
/// The rate of every run (the figure).
pub const QPS: u32 = 1000;
/// Body sizes, exactly these many bytes.
pub const SIZES: [(&str, usize); 2] = [("2k", 2048), ("32k", 32_768)];

pub const CHAT: &str = "/v1/chat/completions";
pub const MESSAGES: &str = "/v1/messages";

/// One kind of run.
#[derive(Clone, Copy, Debug)]
pub struct Kind {
    /// JSON key: `passthrough`, `openai_to_anthropic`, `anthropic_to_openai`.
    pub key: &'static str,
    /// Table label.
    pub label: &'static str,
    pub model: &'static str,
    /// Path on the mock: the deployment's format.
    pub direct_path: &'static str,
    /// Path on Ringway: the client's format.
    pub proxied_path: &'static str,
}

pub const KINDS: [Kind; 3] = [
    Kind {
        key: "passthrough",
        label: "passthrough",
        model: OPENAI_MODEL,
        direct_path: CHAT,
        proxied_path: CHAT,
    },
    Kind {
        key: "openai_to_anthropic",
        label: "O→A",
        model: CLAUDE_MODEL,
        direct_path: MESSAGES,
        proxied_path: CHAT,
    },
    Kind {
        key: "anthropic_to_openai",
        label: "A→O",
        model: OPENAI_MODEL,
        direct_path: CHAT,
        proxied_path: MESSAGES,
    },
];

/// Plain ASCII prose with nothing JSON needs to escape, so the body can be
/// cut to any exact length.
const FILLER: &str = "Customer reports that the nightly export job fails with a timeout after \
the upgrade to version 4.2. Support asked for the job logs and the customer attached them; the \
logs show the export stalling on the invoices table. Engineering suspects the new index on the \
created_at column and proposes a rebuild during the maintenance window. ";

/// `{"model":M,"max_tokens":64,"messages":[{"role":"user","content":"..."}]}`
/// of exactly `size` bytes: a valid OpenAI chat request and a valid
/// Anthropic Messages request.
pub fn body(model: &str, size: usize) -> Result<Vec<u8>, String> {
    // ok: serializing a &str to JSON cannot fail.
    let m = serde_json::to_string(model).expect("string serializes");
    let head = format!(
        "{{\"model\":{m},\"max_tokens\":64,\"messages\":[{{\"role\":\"user\",\"content\":\""
    );
    let tail = "\"}]}";
    let fixed = head.len() + tail.len();
    if size <= fixed {
        return Err(format!(
            "a {size}-byte body is too small for model '{model}' (over {fixed} needed)"
        ));
    }
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(head.as_bytes());
    let mut pad = size - fixed;
    while pad > 0 {
        let n = pad.min(FILLER.len());
        out.extend_from_slice(&FILLER.as_bytes()[..n]);
        pad -= n;
    }
    out.extend_from_slice(tail.as_bytes());
    debug_assert_eq!(out.len(), size);
    Ok(out)
}

/// One `POST path` to `addr` with `headers` ("K: V") and `body`, expecting
/// a 2xx answer in the format the path speaks (OpenAI `choices`, or an
/// Anthropic `message`). `Err` holds the status line and the start of the
/// answer's body, so a 4xx says why.
pub fn check(addr: SocketAddr, path: &str, headers: &[&str], body: &[u8]) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("POST http://{addr}{path}: {e}");
    let t = Duration::from_secs(5);
    let mut s = TcpStream::connect_timeout(&addr, t).map_err(fail)?;
    s.set_read_timeout(Some(t)).map_err(fail)?;
    s.set_write_timeout(Some(t)).map_err(fail)?;
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Accept: application/json\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).map_err(fail)?;
    s.write_all(body).map_err(fail)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(fail)?;
    let (status, answer) = parse_response(&raw)
        .ok_or_else(|| format!("POST http://{addr}{path}: unreadable answer"))?;
    let shown = || {
        let t = String::from_utf8_lossy(&answer);
        let t = t.trim();
        match t.char_indices().nth(400) {
            Some((i, _)) => format!("{}...", &t[..i]),
            None => t.to_string(),
        }
    };
    if !(200..300).contains(&status) {
        return Err(format!(
            "POST http://{addr}{path} answered {status}: {}",
            shown()
        ));
    }
    let v: Value = serde_json::from_slice(&answer).map_err(|e| {
        format!(
            "POST http://{addr}{path} answered {status} but not JSON ({e}): {}",
            shown()
        )
    })?;
    let shaped = if path == MESSAGES {
        v["type"] == "message" && v["content"].is_array()
    } else {
        v["choices"].is_array()
    };
    if !shaped {
        return Err(format!(
            "POST http://{addr}{path} answered {status}, but not in the {} format: {}",
            if path == MESSAGES {
                "Anthropic Messages"
            } else {
                "OpenAI chat"
            },
            shown()
        ));
    }
    Ok(())
}

/// Status and (de-chunked) body of a whole HTTP/1.1 response.
fn parse_response(raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let rest = &raw[end + 4..];
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if !chunked {
        return Some((status, rest.to_vec()));
    }
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let nl = at + rest[at..].windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[at..nl]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        at = nl + 2;
        if size == 0 {
            return Some((status, out));
        }
        out.extend_from_slice(rest.get(at..at + size)?);
        at += size + 2;
    }
}

/// The non-zero error counts of one loadgen side, e.g. `4xx 12, timeout 1`.
pub fn error_kinds(side: &Value) -> String {
    let Some(m) = side["errors"].as_object() else {
        return String::new();
    };
    m.iter()
        .filter_map(|(k, v)| {
            let n = v.as_u64().unwrap_or(0);
            (n > 0).then(|| format!("{} {n}", k.trim_start_matches("status_")))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_are_exact_and_valid_in_both_formats() {
        for (_, size) in SIZES {
            for model in [CLAUDE_MODEL, OPENAI_MODEL] {
                let b = body(model, size).unwrap();
                assert_eq!(b.len(), size);
                let v: Value = serde_json::from_slice(&b).unwrap();
                assert_eq!(v["model"], model);
                assert_eq!(v["max_tokens"], 64);
                assert_eq!(v["messages"].as_array().unwrap().len(), 1);
                assert_eq!(v["messages"][0]["role"], "user");
                assert!(v["messages"][0]["content"].as_str().unwrap().len() > size - 100);
            }
        }
        assert!(body(OPENAI_MODEL, 50).is_err());
    }

    #[test]
    fn responses_plain_and_chunked() {
        let plain = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(parse_response(plain), Some((400, b"{}".to_vec())));
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked), Some((200, b"{\"a\":1}".to_vec())));
        assert_eq!(parse_response(b"HTTP/1.1 200"), None);
    }

    #[test]
    fn error_kinds_lists_non_zero() {
        let side = json!({"errors": {"connect": 0, "status_4xx": 12, "timeout": 1}});
        assert_eq!(error_kinds(&side), "4xx 12, timeout 1");
        assert_eq!(error_kinds(&json!({})), "");
    }
}
