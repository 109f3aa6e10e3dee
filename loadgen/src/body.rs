//! Request bytes: the built-in chat body and the full HTTP/1.1 request.
//!
//! The request (head and body) is built once per target at start-up and
//! leaked into a `&'static [u8]`: every connection of every shard writes the
//! same bytes, so the hot path neither allocates nor reference-counts, and a
//! 256 KB body costs 256 KB once, not once per connection.

use crate::cli::{BodySpec, Target};

const PREFIX_HEAD: &str = "{\"model\":";
const PREFIX_TAIL: &str = ",\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful assistant. Answer concisely and cite the section you used.\"},{\"role\":\"user\",\"content\":\"Summarize the following support ticket thread in three bullet points.\\n\\n";
const SUFFIX_HEAD: &str = "\"}],\"max_tokens\":256,\"temperature\":0.7,\"stream\":";

/// Filler prose for the user message: plain ASCII with nothing JSON needs to
/// escape, so the body can be cut to any exact length.
const FILLER: &str = "Customer reports that the nightly export job fails with a timeout after the upgrade to version 4.2. \
Support asked for the job logs and the customer attached them; the logs show the export stalling on the invoices table. \
Engineering suspects the new index on the created_at column and proposes a rebuild during the maintenance window. \
The customer asks whether the rebuild needs downtime and how long the export will take afterwards. ";

/// The smallest body the builder can make for `model`.
#[cfg(test)]
fn min_chat_body(model: &str, stream: bool) -> usize {
    chat_body_parts(model, stream).iter().map(|p| p.len()).sum()
}

fn chat_body_parts(model: &str, stream: bool) -> [String; 3] {
    // ok: serializing a &str to JSON cannot fail.
    let model_json = serde_json::to_string(model).expect("string serializes");
    [
        format!("{PREFIX_HEAD}{model_json}{PREFIX_TAIL}"),
        String::new(),
        format!("{SUFFIX_HEAD}{stream}}}"),
    ]
}

/// A realistic OpenAI chat-completions request of exactly `size` bytes: a
/// system prompt and one long user message padded with prose.
pub fn chat_body(size: usize, model: &str, stream: bool) -> Result<Vec<u8>, String> {
    let [prefix, _, suffix] = chat_body_parts(model, stream);
    let fixed = prefix.len() + suffix.len();
    if size < fixed {
        return Err(format!(
            "--body: {size} bytes is too small for a chat request with model '{model}' (minimum {fixed})"
        ));
    }
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(prefix.as_bytes());
    let mut pad = size - fixed;
    while pad > 0 {
        let n = pad.min(FILLER.len());
        out.extend_from_slice(&FILLER.as_bytes()[..n]);
        pad -= n;
    }
    out.extend_from_slice(suffix.as_bytes());
    debug_assert_eq!(out.len(), size);
    Ok(out)
}

/// The body for `spec`: built-in sizes or a file's bytes.
pub fn load_body(spec: &BodySpec, model: &str, stream: bool) -> Result<Vec<u8>, String> {
    match spec {
        BodySpec::Size(n) => chat_body(*n, model, stream),
        BodySpec::File(p) => {
            std::fs::read(p).map_err(|e| format!("--body: cannot read '{}': {e}", p.display()))
        }
    }
}

/// The whole request: head and body in one buffer, so one write sends it.
pub fn build_request(
    target: &Target,
    headers: &[(String, String)],
    body: &[u8],
    stream: bool,
) -> Vec<u8> {
    let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    let mut head = format!("POST {} HTTP/1.1\r\n", target.path);
    if !has("host") {
        head.push_str(&format!("Host: {}\r\n", target.host));
    }
    if !has("user-agent") {
        head.push_str("User-Agent: ringway-loadgen/0.1\r\n");
    }
    if !has("content-type") {
        head.push_str("Content-Type: application/json\r\n");
    }
    if !has("accept") {
        head.push_str(if stream {
            "Accept: text/event-stream\r\n"
        } else {
            "Accept: application/json\r\n"
        });
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut out = Vec::with_capacity(head.len() + body.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_sizes_are_exact_and_valid_json() {
        for size in [2 * 1024, 32 * 1024, 256 * 1024, 1000] {
            for stream in [false, true] {
                let b = chat_body(size, "gpt-4o-mini", stream).unwrap();
                assert_eq!(b.len(), size);
                let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
                assert_eq!(v["model"], "gpt-4o-mini");
                assert_eq!(v["stream"], stream);
                assert_eq!(v["messages"][1]["role"], "user");
                assert!(v["messages"][1]["content"].as_str().unwrap().len() > size / 2);
            }
        }
    }

    #[test]
    fn model_is_escaped() {
        let b = chat_body(2048, "we\"ird/mod\\el", false).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["model"], "we\"ird/mod\\el");
        assert_eq!(b.len(), 2048);
    }

    #[test]
    fn smallest_body() {
        let min = min_chat_body("m", false);
        assert_eq!(chat_body(min, "m", false).unwrap().len(), min);
        let e = chat_body(min - 1, "m", false).unwrap_err();
        assert!(e.starts_with("--body: "), "{e}");
    }

    #[test]
    fn request_head() {
        let t = crate::cli::parse_url("http://127.0.0.1:4000/v1/chat/completions").unwrap();
        let hdrs = vec![("Authorization".to_string(), "Bearer k".to_string())];
        let r = build_request(&t, &hdrs, b"{}", false);
        let s = std::str::from_utf8(&r).unwrap();
        assert!(s.starts_with("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:4000\r\n"));
        assert!(s.contains("\r\nAuthorization: Bearer k\r\n"));
        assert!(s.ends_with("Content-Length: 2\r\n\r\n{}"));
        let mut h = [httparse::EMPTY_HEADER; 16];
        let mut req = httparse::Request::new(&mut h);
        assert!(req.parse(&r).unwrap().is_complete());
    }
}
