//! `mock_response` deployments, answered inside the shard with no upstream.
//!
//! LiteLLM's `mock_response` turns a deployment into a canned reply, which is
//! how a fresh install can be tried offline. The shapes follow LiteLLM's
//! `mock_completion` (`litellm/main.py`), checked against LiteLLM 1.106 on the
//! wire: a `chat.completion` object with fixed usage (10 prompt + 20
//! completion tokens) and no `system_fingerprint`, and when streaming, the
//! text cut into 3-character `chat.completion.chunk` deltas (keys in the
//! order `id, object, created, model, choices`), a final chunk with
//! `finish_reason: "stop"`, then `data: [DONE]`. The `model` is the name the
//! client asked for. One difference: LiteLLM counts stream usage with a
//! tokenizer; Ringway reports the same fixed 10/20/30 as non-stream.

use crate::errors::push_json_escaped;
use crate::http::{push_hex, push_u64, write_status_line};

/// Bytes of `mock_response` per streamed delta (LiteLLM's step).
const STREAM_STEP: usize = 3;

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn push_id(out: &mut Vec<u8>, call_id: &[u8]) {
    out.extend_from_slice(b"chatcmpl-");
    out.extend_from_slice(call_id);
}

/// Which OpenAI endpoint the mock answers for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MockKind {
    Chat,
    Completion,
    Embedding,
}

/// Appends the non-stream JSON body.
pub fn write_body(out: &mut Vec<u8>, kind: MockKind, model: &[u8], text: &str, call_id: &[u8]) {
    let created = unix_now();
    match kind {
        MockKind::Chat => {
            out.extend_from_slice(b"{\"id\":\"");
            push_id(out, call_id);
            out.extend_from_slice(b"\",\"created\":");
            push_u64(out, created);
            out.extend_from_slice(b",\"model\":\"");
            push_json_escaped(out, model);
            out.extend_from_slice(b"\",\"object\":\"chat.completion\",\"choices\":[{\"finish_reason\":\"stop\",\"index\":0,\"message\":{\"content\":\"");
            push_json_escaped(out, text.as_bytes());
            out.extend_from_slice(b"\",\"role\":\"assistant\"}}],\"usage\":{\"completion_tokens\":20,\"prompt_tokens\":10,\"total_tokens\":30}}");
        }
        MockKind::Completion => {
            out.extend_from_slice(b"{\"id\":\"cmpl-");
            out.extend_from_slice(call_id);
            out.extend_from_slice(b"\",\"created\":");
            push_u64(out, created);
            out.extend_from_slice(b",\"model\":\"");
            push_json_escaped(out, model);
            out.extend_from_slice(b"\",\"object\":\"text_completion\",\"system_fingerprint\":null,\"choices\":[{\"finish_reason\":\"stop\",\"index\":0,\"text\":\"");
            push_json_escaped(out, text.as_bytes());
            out.extend_from_slice(b"\",\"logprobs\":null}],\"usage\":{\"completion_tokens\":20,\"prompt_tokens\":10,\"total_tokens\":30}}");
        }
        MockKind::Embedding => {
            out.extend_from_slice(b"{\"model\":\"");
            push_json_escaped(out, model);
            out.extend_from_slice(b"\",\"data\":[{\"embedding\":[0.1,0.2,0.3,0.4,0.5],\"index\":0,\"object\":\"embedding\"}],\"object\":\"list\",\"usage\":{\"prompt_tokens\":10,\"total_tokens\":10}}");
        }
    }
}

/// Appends one SSE `data:` event as an HTTP chunk.
fn push_event_chunk(out: &mut Vec<u8>, scratch: &mut Vec<u8>) {
    push_hex(out, (scratch.len() + 8) as u64);
    out.extend_from_slice(b"\r\ndata: ");
    out.extend_from_slice(scratch);
    out.extend_from_slice(b"\n\n\r\n");
    scratch.clear();
}

/// LiteLLM's mock chunks order their keys `id, object, created, model`.
fn chunk_prefix(s: &mut Vec<u8>, call_id: &[u8], created: u64, model: &[u8]) {
    s.extend_from_slice(b"{\"id\":\"");
    push_id(s, call_id);
    s.extend_from_slice(b"\",\"object\":\"chat.completion.chunk\",\"created\":");
    push_u64(s, created);
    s.extend_from_slice(b",\"model\":\"");
    push_json_escaped(s, model);
    s.extend_from_slice(b"\",\"choices\":[{\"index\":0,");
}

/// Appends the whole streamed chat answer as chunked-encoded SSE, including
/// the terminating zero chunk. Text is cut on UTF-8 boundaries.
pub fn write_stream(
    out: &mut Vec<u8>,
    model: &[u8],
    text: &str,
    call_id: &[u8],
    include_usage: bool,
) {
    let created = unix_now();
    let mut s = Vec::with_capacity(256);
    let mut first = true;
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        let mut end = (i + STREAM_STEP).min(bytes.len());
        while end < bytes.len() && !text.is_char_boundary(end) {
            end += 1;
        }
        chunk_prefix(&mut s, call_id, created, model);
        if first {
            s.extend_from_slice(b"\"delta\":{\"role\":\"assistant\",\"content\":\"");
            first = false;
        } else {
            s.extend_from_slice(b"\"delta\":{\"content\":\"");
        }
        push_json_escaped(&mut s, &bytes[i..end]);
        s.extend_from_slice(b"\"}}]}");
        push_event_chunk(out, &mut s);
        i = end;
    }
    chunk_prefix(&mut s, call_id, created, model);
    s.extend_from_slice(b"\"delta\":{},\"finish_reason\":\"stop\"}]}");
    push_event_chunk(out, &mut s);
    if include_usage {
        s.extend_from_slice(b"{\"id\":\"");
        push_id(&mut s, call_id);
        s.extend_from_slice(b"\",\"created\":");
        push_u64(&mut s, created);
        s.extend_from_slice(b",\"model\":\"");
        push_json_escaped(&mut s, model);
        s.extend_from_slice(b"\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{}}],\"usage\":{\"completion_tokens\":20,\"prompt_tokens\":10,\"total_tokens\":30}}");
        push_event_chunk(out, &mut s);
    }
    let done = b"data: [DONE]\n\n";
    push_hex(out, done.len() as u64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(done);
    out.extend_from_slice(b"\r\n0\r\n\r\n");
}

/// `/v1/messages` on a mock deployment: an Anthropic message.
pub fn write_anthropic_body(out: &mut Vec<u8>, model: &[u8], text: &str, call_id: &[u8]) {
    out.extend_from_slice(b"{\"id\":\"msg_");
    out.extend_from_slice(call_id);
    out.extend_from_slice(b"\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"");
    push_json_escaped(out, model);
    out.extend_from_slice(b"\",\"content\":[{\"type\":\"text\",\"text\":\"");
    push_json_escaped(out, text.as_bytes());
    out.extend_from_slice(b"\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":10,\"output_tokens\":20}}");
}

/// Appends one named SSE event (`event: X` + `data:`) as an HTTP chunk.
fn push_named_event(out: &mut Vec<u8>, name: &[u8], data: &mut Vec<u8>) {
    let len = 7 + name.len() + 7 + data.len() + 2;
    push_hex(out, len as u64);
    out.extend_from_slice(b"\r\nevent: ");
    out.extend_from_slice(name);
    out.extend_from_slice(b"\ndata: ");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n\r\n");
    data.clear();
}

/// `/v1/messages` streaming on a mock deployment: Anthropic's event
/// sequence, the text in 3-character deltas, then the terminating chunk.
pub fn write_anthropic_stream(out: &mut Vec<u8>, model: &[u8], text: &str, call_id: &[u8]) {
    let mut d = Vec::with_capacity(256);
    d.extend_from_slice(b"{\"type\":\"message_start\",\"message\":{\"id\":\"msg_");
    d.extend_from_slice(call_id);
    d.extend_from_slice(b"\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"");
    push_json_escaped(&mut d, model);
    d.extend_from_slice(b"\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":10,\"output_tokens\":0}}}");
    push_named_event(out, b"message_start", &mut d);
    d.extend_from_slice(b"{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
    push_named_event(out, b"content_block_start", &mut d);
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let mut end = (i + STREAM_STEP).min(bytes.len());
        while end < bytes.len() && !text.is_char_boundary(end) {
            end += 1;
        }
        d.extend_from_slice(b"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"");
        push_json_escaped(&mut d, &bytes[i..end]);
        d.extend_from_slice(b"\"}}");
        push_named_event(out, b"content_block_delta", &mut d);
        i = end;
    }
    d.extend_from_slice(b"{\"type\":\"content_block_stop\",\"index\":0}");
    push_named_event(out, b"content_block_stop", &mut d);
    d.extend_from_slice(b"{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":20}}");
    push_named_event(out, b"message_delta", &mut d);
    d.extend_from_slice(b"{\"type\":\"message_stop\"}");
    push_named_event(out, b"message_stop", &mut d);
    out.extend_from_slice(b"0\r\n\r\n");
}

/// Status line and headers shared by mock answers.
pub fn write_head(out: &mut Vec<u8>, stream: bool) {
    write_status_line(out, 200);
    if stream {
        out.extend_from_slice(
            b"content-type: text/event-stream; charset=utf-8\r\ncache-control: no-cache\r\nx-accel-buffering: no\r\ntransfer-encoding: chunked\r\n",
        );
    } else {
        out.extend_from_slice(b"content-type: application/json\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_json() {
        let mut v = Vec::new();
        write_body(&mut v, MockKind::Chat, b"demo", "hi \"there\"", b"abc");
        let j: serde_json::Value = serde_json::from_slice(&v).unwrap();
        assert_eq!(j["choices"][0]["message"]["content"], "hi \"there\"");
        assert_eq!(j["model"], "demo");
        for kind in [MockKind::Completion, MockKind::Embedding] {
            let mut v = Vec::new();
            write_body(&mut v, kind, b"m", "x", b"id");
            serde_json::from_slice::<serde_json::Value>(&v).unwrap();
        }
    }

    #[test]
    fn stream_reassembles() {
        let text = "Hello from Ringway, ünïcode ok!";
        let mut v = Vec::new();
        write_stream(&mut v, b"demo", text, b"id", true);
        // Undo the chunked framing, then the SSE framing.
        let mut dec = crate::http::Chunked::new(1 << 20);
        let mut raw = Vec::new();
        let used = dec.feed(&v, Some(&mut raw)).unwrap();
        assert!(dec.is_done());
        assert_eq!(used, v.len());
        let raw = String::from_utf8(raw).unwrap();
        let mut got = String::new();
        let mut saw_done = false;
        let mut saw_usage = false;
        for ev in raw.split("\n\n").filter(|e| !e.is_empty()) {
            let data = ev.strip_prefix("data: ").unwrap();
            if data == "[DONE]" {
                saw_done = true;
                continue;
            }
            let j: serde_json::Value = serde_json::from_str(data).unwrap();
            if j.get("usage").is_some() {
                saw_usage = true;
            }
            if let Some(c) = j["choices"][0]["delta"]["content"].as_str() {
                got.push_str(c);
            }
        }
        assert_eq!(got, text);
        assert!(saw_done && saw_usage);
    }
}
