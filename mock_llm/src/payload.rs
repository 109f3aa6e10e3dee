//! What the mock writes: the answer text, the JSON bodies of plain answers,
//! and the SSE events of streamed ones, in OpenAI's and Anthropic's shapes.
//!
//! All writers append to a caller's buffer with the byte writers from
//! `http`; nothing here allocates except embeddings (not a hot path). The
//! answer text is built once per shard ([`Answer`]), so a plain chat answer
//! is a handful of `memcpy`s around the echoed model name.

use std::borrow::Cow;
use std::time::Duration;

use crate::body::EmbedInput;
use crate::http::{push_json_str, push_u64};

/// The answer text `tok0 tok1 ...`, built once per shard, with the end of
/// every word so any prefix or single word is a slice.
pub(crate) struct Answer {
    text: String,
    /// `ends[i]` is the length of the first `i` words; `ends[0] == 0`.
    ends: Vec<usize>,
}

impl Answer {
    pub fn new(tokens: usize) -> Answer {
        use std::fmt::Write as _;
        let mut text = String::with_capacity(tokens * 8);
        let mut ends = Vec::with_capacity(tokens + 1);
        ends.push(0);
        for i in 0..tokens {
            if i > 0 {
                text.push(' ');
            }
            let _ = write!(text, "tok{i}");
            ends.push(text.len());
        }
        Answer { text, ends }
    }

    pub fn tokens(&self) -> usize {
        self.ends.len() - 1
    }

    /// The first `n` words (`n <= tokens()`).
    pub fn prefix(&self, n: usize) -> &str {
        &self.text[..self.ends[n]]
    }

    /// Word `i` as a stream delta: `tok0`, then ` tok1`, ` tok2`, ...
    pub fn piece(&self, i: usize) -> &str {
        &self.text[self.ends[i]..self.ends[i + 1]]
    }
}

/// What every answer names: its id, its model, and how long it is.
pub(crate) struct Meta<'a> {
    /// The model as the request named it (echoed back).
    pub model: Cow<'a, str>,
    /// Ids are `S-N`: the shard, then a per-shard counter.
    pub shard: u64,
    pub id: u64,
    /// Unix seconds.
    pub created: u64,
    pub prompt_tokens: u64,
    /// Words of the answer to send.
    pub tokens: usize,
    /// `max_tokens` cut the answer short (finish reason `length`).
    pub truncated: bool,
}

impl Meta<'_> {
    fn push_id(&self, out: &mut Vec<u8>) {
        push_u64(out, self.shard);
        out.push(b'-');
        push_u64(out, self.id);
    }

    /// `,"usage":{...}` in OpenAI's shape.
    fn push_openai_usage(&self, out: &mut Vec<u8>) {
        let completion = self.tokens as u64;
        out.extend_from_slice(b",\"usage\":{\"prompt_tokens\":");
        push_u64(out, self.prompt_tokens);
        out.extend_from_slice(b",\"completion_tokens\":");
        push_u64(out, completion);
        out.extend_from_slice(b",\"total_tokens\":");
        push_u64(out, self.prompt_tokens.saturating_add(completion));
        out.push(b'}');
    }

    fn openai_finish(&self) -> &'static [u8] {
        if self.truncated {
            b"\"length\""
        } else {
            b"\"stop\""
        }
    }

    fn anthropic_stop(&self) -> &'static [u8] {
        if self.truncated {
            b"\"max_tokens\""
        } else {
            b"\"end_turn\""
        }
    }
}

/// A `chat.completion` object.
pub(crate) fn push_chat(out: &mut Vec<u8>, m: &Meta<'_>, answer: &Answer) {
    out.extend_from_slice(b"{\"id\":\"chatcmpl-mock-");
    m.push_id(out);
    out.extend_from_slice(b"\",\"object\":\"chat.completion\",\"created\":");
    push_u64(out, m.created);
    out.extend_from_slice(b",\"model\":");
    push_json_str(out, &m.model);
    out.extend_from_slice(
        b",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"",
    );
    out.extend_from_slice(answer.prefix(m.tokens).as_bytes());
    out.extend_from_slice(b"\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":");
    out.extend_from_slice(m.openai_finish());
    out.extend_from_slice(b"}]");
    m.push_openai_usage(out);
    out.extend_from_slice(b",\"system_fingerprint\":null}");
}

/// A legacy `text_completion` object.
pub(crate) fn push_completion(out: &mut Vec<u8>, m: &Meta<'_>, answer: &Answer) {
    out.extend_from_slice(b"{\"id\":\"cmpl-mock-");
    m.push_id(out);
    out.extend_from_slice(b"\",\"object\":\"text_completion\",\"created\":");
    push_u64(out, m.created);
    out.extend_from_slice(b",\"model\":");
    push_json_str(out, &m.model);
    out.extend_from_slice(b",\"choices\":[{\"text\":\"");
    out.extend_from_slice(answer.prefix(m.tokens).as_bytes());
    out.extend_from_slice(b"\",\"index\":0,\"logprobs\":null,\"finish_reason\":");
    out.extend_from_slice(m.openai_finish());
    out.extend_from_slice(b"}]");
    m.push_openai_usage(out);
    out.push(b'}');
}

/// An OpenAI Responses API `response` object (`done`: completed with its
/// output; otherwise the `in_progress` shell sent by `response.created`).
pub(crate) fn push_response_object(out: &mut Vec<u8>, m: &Meta<'_>, answer: &Answer, done: bool) {
    out.extend_from_slice(b"{\"id\":\"resp_mock_");
    m.push_id(out);
    out.extend_from_slice(b"\",\"object\":\"response\",\"created_at\":");
    push_u64(out, m.created);
    out.extend_from_slice(b",\"status\":");
    out.extend_from_slice(if done {
        b"\"completed\""
    } else {
        b"\"in_progress\""
    });
    out.extend_from_slice(b",\"model\":");
    push_json_str(out, &m.model);
    out.extend_from_slice(b",\"output\":[");
    if done {
        out.extend_from_slice(b"{\"type\":\"message\",\"id\":\"msg_mock_");
        m.push_id(out);
        out.extend_from_slice(
            b"\",\"status\":\"completed\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"",
        );
        out.extend_from_slice(answer.prefix(m.tokens).as_bytes());
        out.extend_from_slice(b"\",\"annotations\":[]}]}");
    }
    out.extend_from_slice(b"],\"usage\":");
    if done {
        out.extend_from_slice(b"{\"input_tokens\":");
        push_u64(out, m.prompt_tokens);
        out.extend_from_slice(b",\"output_tokens\":");
        push_u64(out, m.tokens as u64);
        out.extend_from_slice(b",\"total_tokens\":");
        push_u64(out, m.prompt_tokens + m.tokens as u64);
        out.push(b'}');
    } else {
        out.extend_from_slice(b"null");
    }
    out.push(b'}');
}

/// An Anthropic `message` object.
pub(crate) fn push_message(out: &mut Vec<u8>, m: &Meta<'_>, answer: &Answer) {
    out.extend_from_slice(b"{\"id\":\"msg_mock_");
    m.push_id(out);
    out.extend_from_slice(b"\",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
    push_json_str(out, &m.model);
    out.extend_from_slice(b",\"content\":[{\"type\":\"text\",\"text\":\"");
    out.extend_from_slice(answer.prefix(m.tokens).as_bytes());
    out.extend_from_slice(b"\"}],\"stop_reason\":");
    out.extend_from_slice(m.anthropic_stop());
    out.extend_from_slice(b",\"stop_sequence\":null,\"usage\":{\"input_tokens\":");
    push_u64(out, m.prompt_tokens);
    out.extend_from_slice(b",\"output_tokens\":");
    push_u64(out, m.tokens as u64);
    out.extend_from_slice(b"}}");
}

/// Component `j` of embedding `i`: deterministic, in [-0.5, 0.5).
pub(crate) fn embedding_value(i: usize, j: usize) -> f32 {
    ((i * 31 + j * 17 + 7) % 101) as f32 / 101.0 - 0.5
}

/// An embeddings `list`: one `dims`-long vector per input, as JSON floats or,
/// for `encoding_format: "base64"`, as base64 of little-endian `f32`s (what
/// the OpenAI SDKs ask for by default).
pub(crate) fn push_embeddings(
    out: &mut Vec<u8>,
    model: &str,
    input: &EmbedInput,
    dims: usize,
    base64: bool,
) {
    use std::io::Write as _;
    out.extend_from_slice(b"{\"object\":\"list\",\"data\":[");
    let mut raw = Vec::new();
    for i in 0..input.count {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"object\":\"embedding\",\"index\":");
        push_u64(out, i as u64);
        out.extend_from_slice(b",\"embedding\":");
        if base64 {
            raw.clear();
            for j in 0..dims {
                raw.extend_from_slice(&embedding_value(i, j).to_le_bytes());
            }
            out.push(b'"');
            push_base64(out, &raw);
            out.push(b'"');
        } else {
            out.push(b'[');
            for j in 0..dims {
                if j > 0 {
                    out.push(b',');
                }
                // ok to ignore: writing to a Vec cannot fail.
                let _ = write!(out, "{}", embedding_value(i, j));
            }
            out.push(b']');
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"model\":");
    push_json_str(out, model);
    out.extend_from_slice(b",\"usage\":{\"prompt_tokens\":");
    push_u64(out, input.tokens);
    out.extend_from_slice(b",\"total_tokens\":");
    push_u64(out, input.tokens);
    out.extend_from_slice(b"}}");
}

/// Standard base64 with padding.
fn push_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in bytes.chunks(3) {
        let b1 = chunk.get(1).copied().unwrap_or(0);
        let b2 = chunk.get(2).copied().unwrap_or(0);
        let n = (u32::from(chunk[0]) << 16) | (u32::from(b1) << 8) | u32::from(b2);
        out.push(ALPHABET[(n >> 18) as usize & 63]);
        out.push(ALPHABET[(n >> 12) as usize & 63]);
        out.push(if chunk.len() > 1 {
            ALPHABET[(n >> 6) as usize & 63]
        } else {
            b'='
        });
        out.push(if chunk.len() > 2 {
            ALPHABET[n as usize & 63]
        } else {
            b'='
        });
    }
}

/// Which provider's stream to produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreamKind {
    /// `chat.completion.chunk` events, then `data: [DONE]`.
    Chat,
    /// Legacy `text_completion` events, then `data: [DONE]`.
    Completion,
    /// Anthropic's `message_start` .. `message_stop`.
    Messages,
    /// OpenAI Responses API: `response.created`, text deltas, `response.completed`.
    Responses,
    /// Frames rendered up front by a provider module (`providers`).
    Prebuilt,
}

/// The events of one streamed answer, produced one at a time so `http` can
/// write (and wait between) them.
pub(crate) struct EventStream<'a> {
    kind: StreamKind,
    meta: Meta<'a>,
    /// `stream_options.include_usage`: a final usage chunk, `usage: null` on
    /// the others.
    include_usage: bool,
    step: usize,
    /// Wait before each token event.
    pub inter_token: Duration,
    /// [`StreamKind::Prebuilt`]: the frames, and whether each carries a token.
    frames: Vec<(Vec<u8>, bool)>,
}

/// Which chunk of an OpenAI stream to write.
enum Part<'t> {
    Role,
    Token(&'t str),
    Finish,
    Usage,
}

impl<'a> EventStream<'a> {
    pub fn new(
        kind: StreamKind,
        meta: Meta<'a>,
        include_usage: bool,
        inter_token: Duration,
    ) -> Self {
        EventStream {
            kind,
            meta,
            include_usage,
            step: 0,
            inter_token,
            frames: Vec::new(),
        }
    }

    /// A stream of frames rendered up front (any wire format: SSE events,
    /// AWS event-stream messages); `true` marks a frame carrying a token.
    pub fn prebuilt(frames: Vec<(Vec<u8>, bool)>, inter_token: Duration) -> EventStream<'static> {
        EventStream {
            kind: StreamKind::Prebuilt,
            meta: Meta {
                model: Cow::Borrowed(""),
                shard: 0,
                id: 0,
                created: 0,
                prompt_tokens: 0,
                tokens: 0,
                truncated: false,
            },
            include_usage: false,
            step: 0,
            inter_token,
            frames,
        }
    }

    /// Appends the next event (SSE-framed, not yet chunk-framed) to `buf`.
    /// Returns whether it carries a token (so `--inter-token-ms` precedes
    /// it), or `None` after the last event.
    pub fn next(&mut self, answer: &Answer, buf: &mut Vec<u8>) -> Option<bool> {
        let s = self.step;
        self.step += 1;
        let n = self.meta.tokens;
        match self.kind {
            StreamKind::Prebuilt => {
                let (frame, token) = self.frames.get(s)?;
                buf.extend_from_slice(frame);
                return Some(*token);
            }
            StreamKind::Chat | StreamKind::Completion => {
                // Chat opens with a role chunk; legacy completions do not.
                let first = usize::from(self.kind == StreamKind::Chat);
                let usage = usize::from(self.include_usage);
                if s < first {
                    self.openai_chunk(buf, Part::Role);
                } else if s < first + n {
                    self.openai_chunk(buf, Part::Token(answer.piece(s - first)));
                    return Some(true);
                } else if s == first + n {
                    self.openai_chunk(buf, Part::Finish);
                } else if s < first + n + 1 + usage {
                    self.openai_chunk(buf, Part::Usage);
                } else if s == first + n + 1 + usage {
                    buf.extend_from_slice(b"data: [DONE]\n\n");
                } else {
                    return None;
                }
            }
            StreamKind::Responses => {
                if s == 0 {
                    buf.extend_from_slice(
                        b"event: response.created\ndata: {\"type\":\"response.created\",\"response\":",
                    );
                    push_response_object(buf, &self.meta, answer, false);
                    buf.extend_from_slice(b"}\n\n");
                } else if s < 1 + n {
                    buf.extend_from_slice(
                        b"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"output_index\":0,\"content_index\":0,\"delta\":\"",
                    );
                    buf.extend_from_slice(answer.piece(s - 1).as_bytes());
                    buf.extend_from_slice(b"\"}\n\n");
                    return Some(true);
                } else if s == 1 + n {
                    buf.extend_from_slice(
                        b"event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":",
                    );
                    push_response_object(buf, &self.meta, answer, true);
                    buf.extend_from_slice(b"}\n\n");
                } else {
                    return None;
                }
            }
            StreamKind::Messages => {
                if s == 0 {
                    self.message_start(buf);
                } else if s == 1 {
                    buf.extend_from_slice(
                        b"event: content_block_start\ndata: {\"type\":\"content_block_start\",\
                          \"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
                    );
                } else if s == 2 {
                    buf.extend_from_slice(b"event: ping\ndata: {\"type\": \"ping\"}\n\n");
                } else if s < 3 + n {
                    buf.extend_from_slice(
                        b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\
                          \"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"",
                    );
                    buf.extend_from_slice(answer.piece(s - 3).as_bytes());
                    buf.extend_from_slice(b"\"}}\n\n");
                    return Some(true);
                } else if s == 3 + n {
                    buf.extend_from_slice(
                        b"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\
                          \"index\":0}\n\n",
                    );
                } else if s == 4 + n {
                    buf.extend_from_slice(
                        b"event: message_delta\ndata: {\"type\":\"message_delta\",\
                          \"delta\":{\"stop_reason\":",
                    );
                    buf.extend_from_slice(self.meta.anthropic_stop());
                    buf.extend_from_slice(
                        b",\"stop_sequence\":null},\"usage\":{\"output_tokens\":",
                    );
                    push_u64(buf, n as u64);
                    buf.extend_from_slice(b"}}\n\n");
                } else if s == 5 + n {
                    buf.extend_from_slice(
                        b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
                    );
                } else {
                    return None;
                }
            }
        }
        Some(false)
    }

    fn message_start(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(
            b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_mock_",
        );
        self.meta.push_id(buf);
        buf.extend_from_slice(b"\",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
        push_json_str(buf, &self.meta.model);
        buf.extend_from_slice(
            b",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\
              \"usage\":{\"input_tokens\":",
        );
        push_u64(buf, self.meta.prompt_tokens);
        buf.extend_from_slice(b",\"output_tokens\":1}}}\n\n");
    }

    fn openai_chunk(&self, buf: &mut Vec<u8>, part: Part<'_>) {
        let m = &self.meta;
        let chat = self.kind == StreamKind::Chat;
        buf.extend_from_slice(if chat {
            b"data: {\"id\":\"chatcmpl-mock-"
        } else {
            b"data: {\"id\":\"cmpl-mock-"
        });
        m.push_id(buf);
        buf.extend_from_slice(if chat {
            b"\",\"object\":\"chat.completion.chunk\",\"created\":"
        } else {
            b"\",\"object\":\"text_completion\",\"created\":"
        });
        push_u64(buf, m.created);
        buf.extend_from_slice(b",\"model\":");
        push_json_str(buf, &m.model);
        buf.extend_from_slice(b",\"system_fingerprint\":null,\"choices\":[");
        match (part, chat) {
            (Part::Role, _) => buf.extend_from_slice(
                b"{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\
                  \"logprobs\":null,\"finish_reason\":null}",
            ),
            (Part::Token(t), true) => {
                buf.extend_from_slice(b"{\"index\":0,\"delta\":{\"content\":\"");
                buf.extend_from_slice(t.as_bytes());
                buf.extend_from_slice(b"\"},\"logprobs\":null,\"finish_reason\":null}");
            }
            (Part::Token(t), false) => {
                buf.extend_from_slice(b"{\"text\":\"");
                buf.extend_from_slice(t.as_bytes());
                buf.extend_from_slice(b"\",\"index\":0,\"logprobs\":null,\"finish_reason\":null}");
            }
            (Part::Finish, true) => {
                buf.extend_from_slice(
                    b"{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":",
                );
                buf.extend_from_slice(m.openai_finish());
                buf.push(b'}');
            }
            (Part::Finish, false) => {
                buf.extend_from_slice(
                    b"{\"text\":\"\",\"index\":0,\"logprobs\":null,\"finish_reason\":",
                );
                buf.extend_from_slice(m.openai_finish());
                buf.push(b'}');
            }
            (Part::Usage, _) => {
                buf.push(b']');
                m.push_openai_usage(buf);
                buf.extend_from_slice(b"}\n\n");
                return;
            }
        }
        buf.push(b']');
        if self.include_usage {
            buf.extend_from_slice(b",\"usage\":null");
        }
        buf.extend_from_slice(b"}\n\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn meta(model: &str, tokens: usize, truncated: bool) -> Meta<'_> {
        Meta {
            model: Cow::Borrowed(model),
            shard: 2,
            id: 7,
            created: 1_700_000_123,
            prompt_tokens: 5,
            tokens,
            truncated,
        }
    }

    fn json(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn answer_slices() {
        let a = Answer::new(3);
        assert_eq!(a.tokens(), 3);
        assert_eq!(a.prefix(0), "");
        assert_eq!(a.prefix(3), "tok0 tok1 tok2");
        let pieces: Vec<&str> = (0..3).map(|i| a.piece(i)).collect();
        assert_eq!(pieces, ["tok0", " tok1", " tok2"]);
        assert_eq!(Answer::new(0).prefix(0), "");
    }

    #[test]
    fn plain_bodies() {
        let a = Answer::new(4);
        let mut out = Vec::new();
        push_chat(&mut out, &meta("m\"x", 2, true), &a);
        let v = json(&out);
        assert_eq!(v["id"], "chatcmpl-mock-2-7");
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["model"], "m\"x");
        assert_eq!(v["choices"][0]["message"]["content"], "tok0 tok1");
        assert_eq!(v["choices"][0]["finish_reason"], "length");
        assert_eq!(v["usage"]["total_tokens"], 7);

        out.clear();
        push_completion(&mut out, &meta("m", 4, false), &a);
        let v = json(&out);
        assert_eq!(v["object"], "text_completion");
        assert_eq!(v["choices"][0]["text"], "tok0 tok1 tok2 tok3");
        assert_eq!(v["choices"][0]["finish_reason"], "stop");

        out.clear();
        push_message(&mut out, &meta("claude", 4, false), &a);
        let v = json(&out);
        assert_eq!(v["type"], "message");
        assert_eq!(v["content"][0]["text"], "tok0 tok1 tok2 tok3");
        assert_eq!(v["stop_reason"], "end_turn");
        assert_eq!(v["usage"]["input_tokens"], 5);
        assert_eq!(v["usage"]["output_tokens"], 4);
    }

    #[test]
    fn embeddings_json_and_base64() {
        let input = EmbedInput {
            count: 2,
            tokens: 3,
        };
        let mut out = Vec::new();
        push_embeddings(&mut out, "e", &input, 5, false);
        let v = json(&out);
        assert_eq!(v["data"].as_array().unwrap().len(), 2);
        assert_eq!(v["data"][1]["index"], 1);
        let first = v["data"][1]["embedding"][0].as_f64().unwrap();
        assert!((first - f64::from(embedding_value(1, 0))).abs() < 1e-6);
        assert_eq!(v["usage"]["prompt_tokens"], 3);

        out.clear();
        push_embeddings(&mut out, "e", &input, 5, true);
        let v = json(&out);
        // 5 floats = 20 bytes -> 28 base64 characters with one '='.
        let b64 = v["data"][0]["embedding"].as_str().unwrap();
        assert_eq!(b64.len(), 28);
        assert!(b64.ends_with('=') && !b64.ends_with("=="));
    }

    #[test]
    fn base64_reference_vectors() {
        for (raw, want) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foobar", "Zm9vYmFy"),
            (&[0xff, 0xfe, 0xfd, 0x00], "//79AA=="),
        ] {
            let mut out = Vec::new();
            push_base64(&mut out, raw);
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }

    /// Runs a stream to the end: (event bytes, is_token) per event.
    fn drain(mut s: EventStream<'_>, a: &Answer) -> Vec<(String, bool)> {
        let mut events = Vec::new();
        loop {
            let mut buf = Vec::new();
            let Some(tok) = s.next(a, &mut buf) else {
                break;
            };
            events.push((String::from_utf8(buf).unwrap(), tok));
            assert!(events.len() < 100, "stream does not end");
        }
        events
    }

    fn data(event: &str) -> Value {
        let line = event
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .unwrap();
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn chat_stream_sequence() {
        let a = Answer::new(3);
        let s = EventStream::new(StreamKind::Chat, meta("m", 3, false), true, Duration::ZERO);
        let ev = drain(s, &a);
        assert_eq!(ev.len(), 1 + 3 + 1 + 1 + 1);
        assert!(ev
            .iter()
            .all(|(e, _)| e.starts_with("data: ") && e.ends_with("\n\n")));
        assert_eq!(data(&ev[0].0)["choices"][0]["delta"]["role"], "assistant");
        let text: String = ev[1..4]
            .iter()
            .map(|(e, tok)| {
                assert!(tok);
                data(e)["choices"][0]["delta"]["content"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(text, "tok0 tok1 tok2");
        assert!(data(&ev[1].0)["usage"].is_null());
        assert_eq!(data(&ev[4].0)["choices"][0]["finish_reason"], "stop");
        let usage = data(&ev[5].0);
        assert_eq!(usage["choices"], serde_json::json!([]));
        assert_eq!(usage["usage"]["completion_tokens"], 3);
        assert_eq!(ev[6].0, "data: [DONE]\n\n");
        assert_eq!(ev.iter().filter(|e| e.1).count(), 3);

        let s = EventStream::new(StreamKind::Chat, meta("m", 3, true), false, Duration::ZERO);
        let ev = drain(s, &a);
        assert_eq!(ev.len(), 6);
        assert_eq!(data(&ev[4].0)["choices"][0]["finish_reason"], "length");
        assert!(data(&ev[4].0).get("usage").is_none());
    }

    #[test]
    fn completion_stream_sequence() {
        let a = Answer::new(2);
        let s = EventStream::new(
            StreamKind::Completion,
            meta("m", 2, false),
            false,
            Duration::ZERO,
        );
        let ev = drain(s, &a);
        assert_eq!(ev.len(), 2 + 1 + 1);
        assert_eq!(data(&ev[0].0)["choices"][0]["text"], "tok0");
        assert_eq!(data(&ev[0].0)["object"], "text_completion");
        assert_eq!(data(&ev[2].0)["choices"][0]["finish_reason"], "stop");
        assert_eq!(ev[3].0, "data: [DONE]\n\n");
    }

    #[test]
    fn anthropic_stream_sequence() {
        let a = Answer::new(2);
        let s = EventStream::new(
            StreamKind::Messages,
            meta("claude", 2, false),
            false,
            Duration::ZERO,
        );
        let ev = drain(s, &a);
        let names: Vec<&str> = ev
            .iter()
            .map(|(e, _)| e.lines().next().unwrap().strip_prefix("event: ").unwrap())
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
        for (e, _) in &ev {
            assert_eq!(data(e)["type"], e.lines().next().unwrap()[7..]);
        }
        assert_eq!(data(&ev[0].0)["message"]["model"], "claude");
        assert_eq!(data(&ev[4].0)["delta"]["text"], " tok1");
        assert_eq!(data(&ev[6].0)["delta"]["stop_reason"], "end_turn");
        assert_eq!(data(&ev[6].0)["usage"]["output_tokens"], 2);
    }
}
