//! The provider wire formats beyond OpenAI and Anthropic: Gemini and Vertex
//! AI (`gemini`), the Google OAuth token endpoint (`oauth`), AWS Bedrock
//! (`bedrock`) and Cohere (`cohere`). Each module claims the paths it
//! serves, validates what it receives (auth header or signature, path, body
//! schema) and answers in its provider's shape.
//!
//! `api::handle` asks here before answering 404, so the OpenAI and
//! Anthropic routes keep their fast path.

use std::time::Duration;

use crate::http::{push_response, Head, Plan};
use crate::payload::EventStream;
use crate::Shard;

/// One request, as a provider module sees it.
pub(crate) struct Req<'a, 's> {
    pub shard: &'s Shard,
    pub head: &'s Head,
    /// The raw request head (for [`Req::header`]).
    pub raw: &'s [u8],
    /// The path without the query string.
    pub path: &'s [u8],
    /// The query string without `?` (empty when none).
    pub query: &'s [u8],
    pub body: &'a [u8],
}

impl<'a, 's> Req<'a, 's> {
    /// A request header's value (first match, name case-insensitive,
    /// surrounding whitespace trimmed). Re-parses the head: mock-only cost.
    pub fn header(&self, name: &str) -> Option<&'s [u8]> {
        let mut headers = [httparse::EMPTY_HEADER; crate::http::MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        req.parse(self.raw).ok()?;
        let raw = self.raw;
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| {
                // Re-borrow the value from `raw` so it outlives `headers`.
                let start = h.value.as_ptr() as usize - raw.as_ptr() as usize;
                raw.get(start..start + h.value.len())
            })
            .map(<[u8]>::trim_ascii)
    }

    /// The value of query parameter `name`, as sent (not percent-decoded).
    pub fn query_param(&self, name: &str) -> Option<&'s [u8]> {
        self.query.split(|&c| c == b'&').find_map(|kv| {
            let eq = memchr::memchr(b'=', kv)?;
            (&kv[..eq] == name.as_bytes()).then(|| &kv[eq + 1..])
        })
    }

    /// The `connection` header line for the response.
    pub fn connection(&self) -> &'static [u8] {
        self.head.connection_line()
    }

    /// A complete answer, sent at once (after `--latency-ms`).
    pub fn reply(
        &self,
        out: &mut Vec<u8>,
        status: u16,
        content_type: &str,
        body: &[u8],
    ) -> Plan<'a> {
        push_response(out, status, content_type, self.connection(), body);
        Plan::Reply {
            delay: crate::api::model_delay(&self.shard.cfg),
            close: self.head.close,
        }
    }

    /// A streamed answer: writes the head (`content_type`, chunked unless
    /// the client speaks HTTP/1.0) and hands `frames` to `http`, one write
    /// per frame; a frame marked `true` carries a token, so
    /// `--inter-token-ms` precedes it. Frames are sent as given: SSE events
    /// must already end with their blank line.
    pub fn stream(
        &self,
        out: &mut Vec<u8>,
        content_type: &str,
        frames: Vec<(Vec<u8>, bool)>,
    ) -> Plan<'a> {
        let cfg = &self.shard.cfg;
        let chunked = cfg.chunked && !self.head.http10;
        let close = self.head.close || !chunked;
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\ncontent-type: ");
        out.extend_from_slice(content_type.as_bytes());
        out.extend_from_slice(b"\r\n");
        if chunked {
            out.extend_from_slice(b"transfer-encoding: chunked\r\n");
        }
        out.extend_from_slice(if close {
            b"connection: close\r\n"
        } else {
            self.head.connection_line()
        });
        out.extend_from_slice(b"\r\n");
        Plan::Stream {
            delay: crate::api::model_delay(cfg),
            close,
            chunked,
            events: EventStream::prebuilt(frames, crate::api::millis(cfg.inter_token_ms)),
            cut_after: None,
        }
    }
}

/// Answers a request on a provider path, or `None` when no provider module
/// claims the path (the caller answers 404).
pub(crate) fn handle<'a>(
    req: &Req<'a, '_>,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> Option<Plan<'a>> {
    crate::oauth::handle(req, out, scratch)
        .or_else(|| crate::gemini::handle(req, out, scratch))
        .or_else(|| crate::bedrock::handle(req, out, scratch))
        .or_else(|| crate::cohere::handle(req, out, scratch))
}

/// Unused until a module needs a fixed wait.
#[allow(dead_code)]
pub(crate) const NO_DELAY: Duration = Duration::ZERO;
