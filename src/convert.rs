//! Which translations an exchange takes, between the API the client speaks
//! (its endpoint) and the API the upstream speaks (its [`Wire`]).
//!
//! OpenAI Chat Completions is the hub. A request goes client → chat → wire,
//! an answer wire → chat → client; a step whose two sides are the same
//! format is skipped, and the pairs that need no translation at all (OpenAI
//! to an OpenAI-format upstream, `/v1/messages` to Anthropic, Responses to
//! an OpenAI upstream) never come here: `proxy` splices their `model` and
//! relays the bytes. One step is a single parse and a single write (see the
//! provider modules); two steps, e.g. an Anthropic client on a Gemini
//! deployment, cost two. Streams go the same way, event by event.
//!
//! The provider modules are pure functions over bytes; this module only
//! picks and chains them, and `proxy` does the I/O.

use crate::anthropic::{self, ReqInfo};
use crate::bedrock::{self, BedrockApi};
use crate::json::{sse_events, TranslateError};
use crate::server::Endpoint;
use crate::upstream::Wire;
use crate::{cohere, gemini, responses};

/// Whether an exchange goes through untranslated (only `model` spliced).
pub(crate) fn is_pass(ep: Endpoint, wire: Wire) -> bool {
    match wire {
        Wire::OpenAi => !ep.is_anthropic(),
        Wire::Anthropic => ep.is_anthropic(),
        _ => false,
    }
}

/// The exception class LiteLLM names in its error messages for a wire
/// (`exception_mapping_utils.py`: the provider name capitalised).
pub(crate) fn exception_name(wire: Wire) -> &'static str {
    match wire {
        Wire::OpenAi => "OpenAIException",
        Wire::Anthropic => "AnthropicException",
        Wire::Gemini => "GeminiException",
        Wire::Vertex | Wire::VertexAnthropic => "Vertex_aiException",
        Wire::Bedrock(_) => "BedrockException",
        Wire::Cohere => "CohereException",
    }
}

/// A provider's display name, for messages.
fn provider_name(wire: Wire) -> &'static str {
    match wire {
        Wire::OpenAi => "openai",
        Wire::Anthropic => "anthropic",
        Wire::Gemini => "gemini",
        Wire::Vertex | Wire::VertexAnthropic => "vertex_ai",
        Wire::Bedrock(_) => "bedrock",
        Wire::Cohere => "cohere",
    }
}

/// Whether the wire takes its model id in the URL rather than the body.
pub(crate) fn model_in_path(wire: Wire) -> bool {
    matches!(
        wire,
        Wire::Gemini | Wire::Vertex | Wire::VertexAnthropic | Wire::Bedrock(_)
    )
}

/// The request path (and query) for a wire whose URL names the model:
/// `prefix` is the deployment's precomputed part (base path, project...).
pub(crate) fn model_path(
    wire: Wire,
    prefix: &str,
    ep: Endpoint,
    stream: bool,
    model: &str,
) -> String {
    let embed = ep == Endpoint::Embeddings;
    match wire {
        Wire::Gemini => {
            let op = match (embed, stream) {
                (true, _) => ":batchEmbedContents",
                (false, true) => ":streamGenerateContent?alt=sse",
                (false, false) => ":generateContent",
            };
            format!("{prefix}{model}{op}")
        }
        Wire::Vertex => {
            let op = match (embed, stream) {
                (true, _) => ":predict",
                (false, true) => ":streamGenerateContent?alt=sse",
                (false, false) => ":generateContent",
            };
            format!("{prefix}{model}{op}")
        }
        Wire::Bedrock(api) => {
            let op = match (embed, api, stream) {
                (true, _, _) => "invoke",
                (false, BedrockApi::Converse | BedrockApi::InvokeOther, false) => "converse",
                (false, BedrockApi::Converse | BedrockApi::InvokeOther, true) => "converse-stream",
                (false, _, false) => "invoke",
                (false, _, true) => "invoke-with-response-stream",
            };
            format!(
                "{prefix}{}",
                bedrock::model_path(bedrock::route(model).1, op)
            )
        }
        Wire::VertexAnthropic => {
            let op = if stream {
                ":streamRawPredict"
            } else {
                ":rawPredict"
            };
            format!("{prefix}{model}{op}")
        }
        _ => prefix.to_string(),
    }
}

/// `anthropic_version` Vertex AI requires in an Anthropic body (LiteLLM's
/// `VertexAIAnthropicConfig`).
const VERTEX_ANTHROPIC_VERSION: &str = "vertex-2023-10-16";

/// Anthropic-format wires other than Anthropic's own API: an Anthropic
/// body with the model in the URL.
fn anthropic_partner(wire: Wire) -> bool {
    matches!(
        wire,
        Wire::Bedrock(BedrockApi::InvokeAnthropic) | Wire::VertexAnthropic
    )
}

/// The partner body for `wire` from an Anthropic body.
fn partner_body(wire: Wire, an: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
    match wire {
        Wire::VertexAnthropic => {
            bedrock::anthropic_partner_body(an, VERTEX_ANTHROPIC_VERSION, true, out)
        }
        _ => bedrock::anthropic_invoke_body(an, out),
    }
}

fn unsupported<T>(what: &str, wire: Wire) -> Result<T, TranslateError> {
    Err(TranslateError::Invalid(format!(
        "{what} is not supported for {} deployments",
        provider_name(wire)
    )))
}

/// Writes the upstream body of a translated request into `out`. `tmp` holds
/// the intermediate chat body when two steps are needed.
pub(crate) fn request_body(
    ep: Endpoint,
    wire: Wire,
    body: &[u8],
    upstream_model: &str,
    out: &mut Vec<u8>,
    tmp: &mut Vec<u8>,
) -> Result<ReqInfo, TranslateError> {
    out.clear();
    tmp.clear();
    match ep {
        Endpoint::Embeddings => {
            match wire {
                Wire::Gemini => gemini::openai_to_gemini_embed_request(body, upstream_model, out),
                Wire::Vertex => gemini::openai_to_vertex_embed_request(body, out),
                Wire::Bedrock(_) => bedrock::openai_to_bedrock_embed_request(
                    bedrock::route(upstream_model).1,
                    body,
                    out,
                ),
                Wire::Cohere => cohere::openai_to_cohere_embed_request(body, upstream_model, out),
                Wire::OpenAi | Wire::Anthropic | Wire::VertexAnthropic => {
                    unsupported("/embeddings", wire)
                }
            }?;
            return Ok(ReqInfo::default());
        }
        Endpoint::Completions => return unsupported("/completions", wire),
        // Counting needs the provider's tokenizer: only Anthropic has the
        // endpoint (LiteLLM counts locally for the others).
        Endpoint::CountTokens => return unsupported("/v1/messages/count_tokens", wire),
        _ => {}
    }
    // An Anthropic client on an Anthropic model of Bedrock or Vertex: one
    // step.
    if ep == Endpoint::Messages && anthropic_partner(wire) {
        let info = anthropic_info(body);
        partner_body(wire, body, out)?;
        return Ok(info);
    }
    // Step 1: the client's format to chat (skipped for chat clients).
    let (chat, first): (&[u8], Option<ReqInfo>) = match ep {
        Endpoint::Messages if wire == Wire::OpenAi => {
            return anthropic::anthropic_to_openai_request(body, upstream_model, out);
        }
        Endpoint::Messages => {
            let i = anthropic::anthropic_to_openai_request(body, upstream_model, tmp)?;
            (&tmp[..], Some(i))
        }
        Endpoint::Responses => {
            let i = responses::responses_to_chat_request(body, upstream_model, tmp)?;
            if wire == Wire::OpenAi {
                out.extend_from_slice(tmp);
                return Ok(i);
            }
            (&tmp[..], Some(i))
        }
        _ => (body, None),
    };
    // Step 2: chat to the wire's format.
    let info = match wire {
        Wire::OpenAi => {
            out.extend_from_slice(chat);
            ReqInfo::default()
        }
        Wire::Anthropic => anthropic::openai_to_anthropic_request(chat, upstream_model, out)?,
        Wire::Gemini | Wire::Vertex => {
            gemini::openai_to_gemini_request_for_model(chat, upstream_model, out)?
        }
        Wire::Bedrock(BedrockApi::Converse | BedrockApi::InvokeOther) => {
            bedrock::openai_to_converse_request_for(bedrock::route(upstream_model).1, chat, out)?
        }
        Wire::Bedrock(BedrockApi::InvokeAnthropic) | Wire::VertexAnthropic => {
            let mut an = Vec::with_capacity(chat.len() + 256);
            let i = anthropic::openai_to_anthropic_request(chat, upstream_model, &mut an)?;
            partner_body(wire, &an, out)?;
            i
        }
        Wire::Cohere => cohere::openai_to_cohere_request(chat, upstream_model, out)?,
    };
    // The client's own wishes (stream, usage) were read by step 1.
    Ok(first.unwrap_or(info))
}

/// `stream` of an Anthropic body; usage is always reported on those.
fn anthropic_info(body: &[u8]) -> ReqInfo {
    let stream = crate::translate::scan(body).is_ok_and(|f| f.stream);
    ReqInfo {
        stream,
        include_usage: stream,
    }
}

/// Writes the client's answer for a translated non-stream upstream answer.
#[allow(clippy::too_many_arguments)]
pub(crate) fn response_body(
    ep: Endpoint,
    wire: Wire,
    raw: &[u8],
    request: &[u8],
    upstream_model: &str,
    client_model: &str,
    out: &mut Vec<u8>,
    tmp: &mut Vec<u8>,
) -> Result<(), TranslateError> {
    out.clear();
    tmp.clear();
    if ep == Endpoint::Embeddings {
        return match wire {
            Wire::Gemini => gemini::gemini_to_openai_embed_response(raw, client_model, out),
            Wire::Vertex => gemini::vertex_to_openai_embed_response(raw, client_model, out),
            // The model id decides the body shape.
            Wire::Bedrock(_) => bedrock::bedrock_to_openai_embed_response(
                bedrock::route(upstream_model).1,
                raw,
                client_model,
                out,
            ),
            Wire::Cohere => {
                cohere::cohere_to_openai_embed_response(raw, client_model, out).map(|_| ())
            }
            Wire::OpenAi | Wire::Anthropic | Wire::VertexAnthropic => {
                unsupported("/embeddings", wire)
            }
        };
    }
    if ep == Endpoint::Messages && anthropic_partner(wire) {
        // Already an Anthropic message.
        out.extend_from_slice(raw);
        return Ok(());
    }
    // Step 1: the wire's format to chat, straight into `out` for chat
    // clients.
    let dst = if ep == Endpoint::Chat {
        &mut *out
    } else {
        &mut *tmp
    };
    match wire {
        Wire::OpenAi => dst.extend_from_slice(raw),
        Wire::Anthropic | Wire::Bedrock(BedrockApi::InvokeAnthropic) | Wire::VertexAnthropic => {
            anthropic::anthropic_to_openai_response(raw, client_model, dst)?
        }
        Wire::Gemini | Wire::Vertex => {
            gemini::gemini_to_openai_response(raw, client_model, dst)?;
        }
        Wire::Bedrock(BedrockApi::Converse | BedrockApi::InvokeOther) => {
            bedrock::converse_to_openai_response(raw, client_model, dst)?;
        }
        Wire::Cohere => {
            cohere::cohere_to_openai_response(raw, client_model, dst)?;
        }
    }
    // Step 2: chat to the client's format.
    match ep {
        Endpoint::Messages => anthropic::openai_to_anthropic_response(tmp, client_model, out),
        Endpoint::Responses => {
            responses::chat_to_responses_response(tmp, request, client_model, out).map(|_| ())
        }
        _ => Ok(()),
    }
}

/// A translated stream, upstream events in, client events out.
pub(crate) struct StreamChain {
    wire: WireStream,
    client: ClientStream,
    /// Chat chunks between the two steps.
    mid: Vec<u8>,
    /// Bedrock streams are AWS event-stream messages, not SSE.
    aws: Option<bedrock::EventStreamDecoder>,
    /// A decoded Anthropic-on-Bedrock event, as SSE text.
    sse: Vec<u8>,
}

enum WireStream {
    Chat,
    Anthropic(anthropic::AnthropicToOpenAiStream),
    Gemini(gemini::GeminiToOpenAiStream),
    Converse(bedrock::ConverseToOpenAiStream),
    Cohere(cohere::CohereToOpenAiStream),
    /// Anthropic-on-Bedrock for an Anthropic client: events pass as they are.
    AnthropicRaw,
    /// Anthropic-on-Vertex for an Anthropic client: SSE events pass as they
    /// are.
    AnthropicSse,
}

enum ClientStream {
    Chat,
    Anthropic(anthropic::OpenAiToAnthropicStream),
    Responses(Box<responses::ChatToResponsesStream>),
}

/// Largest AWS event-stream message accepted from an upstream.
const MAX_AWS_MESSAGE: usize = 4 * 1024 * 1024;

impl StreamChain {
    /// `include_usage`: the client's `stream_options.include_usage` for chat
    /// clients (the others always get usage).
    pub(crate) fn new(
        ep: Endpoint,
        wire: Wire,
        client_model: &str,
        include_usage: bool,
        request: &[u8],
    ) -> StreamChain {
        let usage = include_usage || ep != Endpoint::Chat;
        let wire_stream = match wire {
            Wire::OpenAi => WireStream::Chat,
            Wire::Bedrock(BedrockApi::InvokeAnthropic) if ep == Endpoint::Messages => {
                WireStream::AnthropicRaw
            }
            Wire::VertexAnthropic if ep == Endpoint::Messages => WireStream::AnthropicSse,
            Wire::Anthropic
            | Wire::Bedrock(BedrockApi::InvokeAnthropic)
            | Wire::VertexAnthropic => {
                WireStream::Anthropic(anthropic::AnthropicToOpenAiStream::new(client_model, usage))
            }
            Wire::Gemini | Wire::Vertex => {
                WireStream::Gemini(gemini::GeminiToOpenAiStream::new(client_model, usage))
            }
            Wire::Bedrock(BedrockApi::Converse | BedrockApi::InvokeOther) => {
                WireStream::Converse(bedrock::ConverseToOpenAiStream::new(client_model, usage))
            }
            Wire::Cohere => {
                WireStream::Cohere(cohere::CohereToOpenAiStream::new(client_model, usage))
            }
        };
        let client = match ep {
            _ if matches!(
                wire_stream,
                WireStream::AnthropicRaw | WireStream::AnthropicSse
            ) =>
            {
                ClientStream::Chat
            }
            Endpoint::Messages => {
                ClientStream::Anthropic(anthropic::OpenAiToAnthropicStream::new(client_model))
            }
            Endpoint::Responses => ClientStream::Responses(Box::new(
                responses::ChatToResponsesStream::new(client_model, request),
            )),
            _ => ClientStream::Chat,
        };
        StreamChain {
            wire: wire_stream,
            client,
            mid: Vec::new(),
            aws: matches!(wire, Wire::Bedrock(_))
                .then(|| bedrock::EventStreamDecoder::new(MAX_AWS_MESSAGE)),
            sse: Vec::new(),
        }
    }

    /// Whether the upstream body is binary (fed with [`Self::feed_bytes`])
    /// rather than SSE events ([`Self::feed_event`]).
    pub(crate) fn is_binary(&self) -> bool {
        self.aws.is_some()
    }

    /// One upstream SSE event.
    pub(crate) fn feed_event(
        &mut self,
        event: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), TranslateError> {
        self.wire_event(b"", event, out)
    }

    /// Raw upstream body bytes of a binary stream: every complete message
    /// in them is translated; a partial one waits for more.
    pub(crate) fn feed_bytes(
        &mut self,
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), TranslateError> {
        let Some(mut dec) = self.aws.take() else {
            return Ok(());
        };
        dec.push(bytes);
        let r = loop {
            let Some(msg) = dec.next() else { break Ok(()) };
            let msg = match msg {
                Ok(m) => m,
                Err(e) => break Err(TranslateError::Invalid(format!("bad event stream: {e:?}"))),
            };
            if msg.message_type != b"event" {
                break Err(TranslateError::Invalid(format!(
                    "upstream stream error {}: {}",
                    String::from_utf8_lossy(msg.event_type),
                    String::from_utf8_lossy(msg.payload)
                )));
            }
            // `dec` is out of `self` meanwhile, so the message borrows it,
            // not `self`: no copy.
            if let Err(e) = self.wire_event(msg.event_type, msg.payload, out) {
                break Err(e);
            }
        };
        self.aws = Some(dec);
        r
    }

    /// One upstream event: AWS `event_type` + payload, or (SSE) an empty
    /// type and the whole event.
    fn wire_event(
        &mut self,
        event_type: &[u8],
        event: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), TranslateError> {
        let direct = matches!(self.client, ClientStream::Chat);
        let mid = if direct { &mut *out } else { &mut self.mid };
        if !direct {
            mid.clear();
        }
        match &mut self.wire {
            WireStream::Chat => mid.extend_from_slice(event),
            WireStream::Anthropic(st) if !event_type.is_empty() => {
                self.sse.clear();
                bedrock::invoke_chunk_to_sse(event, &mut self.sse)?;
                st.feed(&self.sse, mid)?
            }
            WireStream::Anthropic(st) => st.feed(event, mid)?,
            WireStream::AnthropicRaw => bedrock::invoke_chunk_to_sse(event, mid)?,
            WireStream::AnthropicSse => mid.extend_from_slice(event),
            WireStream::Gemini(st) => st.feed(event, mid)?,
            WireStream::Converse(st) => st.feed(event_type, event, mid)?,
            WireStream::Cohere(st) => st.feed(event, mid)?,
        }
        if direct {
            return Ok(());
        }
        self.client_events(out)
    }

    /// Feeds the chat chunks in `mid` to the client-side translator.
    fn client_events(&mut self, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        for ev in sse_events(&self.mid) {
            match &mut self.client {
                ClientStream::Chat => out.extend_from_slice(ev),
                ClientStream::Anthropic(st) => st.feed(ev, out)?,
                ClientStream::Responses(st) => st.feed(ev, out)?,
            }
        }
        Ok(())
    }

    /// The upstream ended cleanly: whatever closing events are owed.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) {
        let direct = matches!(self.client, ClientStream::Chat);
        let mid = if direct { &mut *out } else { &mut self.mid };
        if !direct {
            mid.clear();
        }
        match &mut self.wire {
            WireStream::Chat | WireStream::AnthropicRaw | WireStream::AnthropicSse => {}
            WireStream::Anthropic(st) => st.finish(mid),
            WireStream::Gemini(st) => st.finish(mid),
            WireStream::Converse(st) => st.finish(mid),
            WireStream::Cohere(st) => st.finish(mid),
        }
        if direct {
            return;
        }
        let _ = self.client_events(out);
        match &mut self.client {
            ClientStream::Chat => {}
            ClientStream::Anthropic(st) => st.finish(out),
            ClientStream::Responses(st) => st.finish(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An upstream event: AWS event type (empty for SSE) and bytes.
    type Ev = (&'static [u8], &'static [u8]);

    /// Start events and one content event per upstream format.
    fn sample(wire: Wire) -> (Vec<Ev>, Ev) {
        match wire {
            Wire::OpenAi => (
                vec![(b"" as &[u8], &b"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"[..])],
                (b"", b"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok \"}}]}\n\n"),
            ),
            Wire::Anthropic | Wire::VertexAnthropic => (
                vec![
                    (b"" as &[u8], &b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"c\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n"[..]),
                    (b"", b"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"),
                ],
                (b"", b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"tok \"}}\n\n"),
            ),
            Wire::Gemini | Wire::Vertex => (
                vec![],
                (b"", b"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"tok \"}],\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":1,\"totalTokenCount\":6},\"modelVersion\":\"gemini-2.0-flash\"}\r\n\r\n"),
            ),
            Wire::Bedrock(_) => (
                vec![(b"messageStart" as &[u8], &b"{\"p\":\"abcd\",\"role\":\"assistant\"}"[..])],
                (b"contentBlockDelta", b"{\"contentBlockIndex\":0,\"delta\":{\"text\":\"tok \"},\"p\":\"abcdefgh\"}"),
            ),
            Wire::Cohere => (
                vec![
                    (b"" as &[u8], &b"event: message-start\ndata: {\"id\":\"x\",\"type\":\"message-start\",\"delta\":{\"message\":{\"role\":\"assistant\",\"content\":[],\"tool_plan\":\"\",\"tool_calls\":[],\"citations\":[]}}}\n\n"[..]),
                    (b"", b"event: content-start\ndata: {\"type\":\"content-start\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"type\":\"text\",\"text\":\"\"}}}}\n\n"),
                ],
                (b"", b"event: content-delta\ndata: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"tok \"}}}}\n\n"),
            ),
        }
    }

    /// Every (client, wire) stream chain translates a content event into
    /// the client's format.
    #[test]
    fn every_stream_chain_translates_content() {
        for (ep, wire) in pairs() {
            let (start, ev) = sample(wire);
            let mut chain = StreamChain::new(ep, wire, "client-model", true, b"{}");
            let mut out = Vec::new();
            for (t, e) in start {
                chain.wire_event(t, e, &mut out).unwrap();
            }
            out.clear();
            chain.wire_event(ev.0, ev.1, &mut out).unwrap();
            let text = String::from_utf8_lossy(&out);
            assert!(text.contains("tok "), "{ep:?} {wire:?}: {text}");
        }
    }

    fn pairs() -> Vec<(Endpoint, Wire)> {
        let mut v = Vec::new();
        for ep in [Endpoint::Chat, Endpoint::Messages, Endpoint::Responses] {
            for wire in [
                Wire::OpenAi,
                Wire::Anthropic,
                Wire::Gemini,
                Wire::Bedrock(BedrockApi::Converse),
                Wire::Cohere,
            ] {
                if !is_pass(ep, wire) {
                    v.push((ep, wire));
                }
            }
        }
        v
    }

    /// Per-event cost of every translated stream chain (release build):
    /// `cargo test --release --lib convert::tests::measure_stream_events -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn measure_stream_events() {
        const N: usize = 20_000;
        for (ep, wire) in pairs() {
            let (start, ev) = sample(wire);
            let mut best = f64::MAX;
            for _ in 0..5 {
                let mut chain = StreamChain::new(ep, wire, "client-model", true, b"{}");
                let mut out = Vec::with_capacity(1 << 16);
                for (t, e) in &start {
                    chain.wire_event(t, e, &mut out).unwrap();
                }
                let t0 = std::time::Instant::now();
                for _ in 0..N {
                    out.clear();
                    chain.wire_event(ev.0, ev.1, &mut out).unwrap();
                }
                best = best.min(t0.elapsed().as_secs_f64() * 1e9 / N as f64);
            }
            println!("{ep:?} client, {wire:?} upstream: {best:.0} ns per content event");
        }
    }
}
