//! OpenAI Chat Completions and Embeddings <-> Cohere v2 (`/v2/chat`,
//! `/v2/embed`), both directions of one call: the client's OpenAI request
//! becomes a Cohere body, Cohere's answer (plain or streamed) becomes an
//! OpenAI answer. Pure functions and one stream state machine, written in
//! the style of [`crate::anthropic`] (one validating pass over the input
//! recording byte spans, output written once, strings copied as their raw
//! escaped bytes, nothing decoded where both formats agree); the OpenAI
//! answers are written with the shared `chat` module.
//!
//! Behaviour follows LiteLLM 1.106.2: `llms/cohere/chat/v2_transformation.py`
//! (`CohereV2ChatConfig`; both `cohere/` and `cohere_chat/` chat go to v2
//! unless the model name contains `v1/`, see `CohereModelInfo.get_cohere_route`
//! in `llms/cohere/common_utils.py`), `llms/cohere/embed/transformation.py`
//! (`CohereEmbeddingConfig`) and `litellm_core_utils/core_helpers.py`
//! (`map_finish_reason`). Where LiteLLM 1.106.2 loses information this module
//! deliberately does better, and says so at the function:
//!
//! * LiteLLM always answers `finish_reason: "stop"` for a non-stream Cohere
//!   v2 reply; here `MAX_TOKENS` is `length` and `TOOL_CALL` is `tool_calls`.
//! * LiteLLM silently drops `tool_choice` (listed as supported, never mapped)
//!   and rejects `response_format`; here both reach Cohere in its own terms.
//! * LiteLLM's v2 stream parser reads tool calls, finish reason and usage
//!   from keys Cohere does not send (so they are lost); here they are read
//!   from where Cohere puts them.
//!
//! Cohere v2 chat is close to OpenAI's format, so the request is mostly a
//! filtered copy: messages keep their shape (content strings or text /
//! `image_url` parts, assistant `tool_calls`, `tool` results), OpenAI-only
//! keys are dropped or renamed, Cohere-native keys a client sends
//! (`documents`, `safety_mode`, ...) are forwarded as LiteLLM forwards
//! unknown provider parameters.
//!
//! Validation: the whole input is checked (UTF-8, JSON grammar, nesting), so
//! every span copied into the output is valid JSON; every failure is a
//! [`TranslateError`], nothing panics on client- or provider-controlled input.

pub use crate::anthropic::ReqInfo;
use crate::chat::*;
use crate::json::*;
pub use crate::json::{TokenUsage, TranslateError};

/// A top-level `message` string: how Cohere reports an error.
fn cohere_error(message: Option<Val<'_>>) -> TranslateError {
    let msg = message
        .and_then(Val::str)
        .and_then(Str::decoded)
        .map(|m| String::from_utf8_lossy(&m).into_owned())
        .unwrap_or_default();
    TranslateError::Invalid(format!("CohereException - {msg}"))
}

/// OpenAI usage in the shape LiteLLM's `Usage` serialises for Cohere (no
/// cache counters: Cohere reports none).
fn push_usage(out: &mut Vec<u8>, u: TokenUsage) {
    out.extend_from_slice(b"{\"completion_tokens\":");
    push_u64(out, u.completion_tokens);
    out.extend_from_slice(b",\"prompt_tokens\":");
    push_u64(out, u.prompt_tokens);
    out.extend_from_slice(b",\"total_tokens\":");
    push_u64(out, u.prompt_tokens + u.completion_tokens);
    out.push(b'}');
}

/// Cohere chat `usage`: LiteLLM reads `tokens` (what the model processed,
/// system preamble included); `billed_units` is the fallback when a reply
/// has no `tokens`.
fn chat_usage(usage: Option<Val<'_>>) -> TokenUsage {
    let [tokens, billed] = usage.map_or([None, None], |u| u.fields(&["tokens", "billed_units"]));
    let Some(t) = tokens.or(billed) else {
        return TokenUsage::default();
    };
    let [input, output] = t.fields(&["input_tokens", "output_tokens"]);
    TokenUsage {
        prompt_tokens: input.map_or(0, Val::count),
        completion_tokens: output.map_or(0, Val::count),
        ..TokenUsage::default()
    }
}

/// Cohere `finish_reason` as OpenAI's (LiteLLM's `map_finish_reason`, plus
/// `MAX_TOKENS` and `TOOL_CALL`, which that map leaves to `stop`).
fn finish_reason(r: Option<Str<'_>>) -> &'static [u8] {
    match r.map_or(&b""[..], |s| s.0) {
        b"MAX_TOKENS" => b"length",
        b"TOOL_CALL" => b"tool_calls",
        b"ERROR_TOXIC" => b"content_filter",
        _ => b"stop", // COMPLETE, STOP_SEQUENCE, ERROR, TIMEOUT, unknown
    }
}

// ---------------------------------------------------------------------------
// OpenAI chat request -> Cohere v2 chat request
// ---------------------------------------------------------------------------

/// Members of an OpenAI message captured in the strict pass.
const MSG_KEYS: [&str; 5] = ["role", "content", "tool_calls", "tool_call_id", "tool_plan"];
const M_ROLE: usize = 0;
const M_CONTENT: usize = 1;
const M_TOOL_CALLS: usize = 2;
const M_TOOL_CALL_ID: usize = 3;
const M_TOOL_PLAN: usize = 4;
type OaMsg<'a> = Part<'a, 5>;

/// Members of an OpenAI tool captured in the strict pass.
const TOOL_KEYS: [&str; 2] = ["type", "function"];
type OaTool<'a> = Part<'a, 2>;

/// Top-level keys copied verbatim, with the Cohere key each becomes. Cohere's
/// own names (`p`, `k`, `documents`, ...) are provider parameters LiteLLM
/// forwards as given; given both, Cohere's name wins over OpenAI's.
const COPIED: [(&str, &str); 15] = [
    ("temperature", "temperature"),
    ("top_p", "p"),
    ("p", "p"),
    ("top_k", "k"),
    ("k", "k"),
    ("seed", "seed"),
    ("frequency_penalty", "frequency_penalty"),
    ("presence_penalty", "presence_penalty"),
    ("logprobs", "logprobs"),
    ("documents", "documents"),
    ("citation_options", "citation_options"),
    ("safety_mode", "safety_mode"),
    ("strict_tools", "strict_tools"),
    ("thinking", "thinking"),
    ("priority", "priority"),
];

/// The top-level OpenAI fields the translation uses.
#[derive(Default)]
struct OaChat<'a> {
    has_messages: bool,
    messages: Option<(usize, usize)>,
    max_tokens: Option<Val<'a>>,
    max_completion_tokens: Option<Val<'a>>,
    stop: Option<Val<'a>>,
    tools: Option<Val<'a>>,
    tool_parts: Option<(usize, usize)>,
    tool_choice: Option<Val<'a>>,
    response_format: Option<Val<'a>>,
    stream: bool,
    include_usage: bool,
    /// Values of [`COPIED`], by position in that table.
    copied: [Option<Val<'a>>; COPIED.len()],
}

/// Translates an OpenAI `/v1/chat/completions` body into a Cohere
/// `/v2/chat` body for `upstream_model`, appended to `out`.
///
/// Mapped: `messages` (`system`/`developer` → `system`; `user`, `assistant`
/// and `tool` keep their shape: content strings are copied, content parts
/// become `text` / `image_url` parts (a bare-string `image_url` becomes
/// `{"url":…}`), other part types go through as sent; assistant
/// `tool_calls` are rebuilt as `{id,type:"function",function:{name,
/// arguments}}` with object `arguments` turned into a string; an
/// assistant's blank content beside tool calls is omitted; `tool_plan`
/// kept), `tools` (function tools rebuilt with `name`, `description`,
/// `parameters`; others as sent), `tool_choice` (`required` or a named
/// function → `REQUIRED`, `none` → `NONE`, `auto` → omitted; only with
/// tools), `max_tokens` / `max_completion_tokens` (the latter wins, as in
/// LiteLLM) → `max_tokens`, `stop` → `stop_sequences`, `top_p` → `p`,
/// `top_k` → `k`, `temperature`, `seed`, `frequency_penalty`,
/// `presence_penalty`, `logprobs`, `response_format` (`json_object`, or
/// `json_schema` → `{"type":"json_object","json_schema":<schema>}`; `text`
/// → omitted), `stream`, and Cohere's own `documents`, `citation_options`,
/// `safety_mode`, `strict_tools`, `thinking`, `priority`.
///
/// Dropped: `n` (LiteLLM sends `num_generations`, which v2 does not take),
/// `stream_options` (read for [`ReqInfo::include_usage`]), `user`,
/// `metadata`, `parallel_tool_calls`, `logit_bias`, `top_logprobs`,
/// message `name` and `cache_control`, and any other key.
pub fn openai_to_cohere_request(
    body: &[u8],
    upstream_model: &str,
    out: &mut Vec<u8>,
) -> Result<ReqInfo, TranslateError> {
    rollback_on_err(out, |out| request_inner(body, upstream_model, out))
}

fn request_inner(body: &[u8], upstream_model: &str, out: &mut Vec<u8>) -> Res<ReqInfo> {
    let mut req = OaChat::default();
    let mut msgs: Vec<OaMsg<'_>> = Vec::new();
    let mut tools: Vec<OaTool<'_>> = Vec::new();
    read_root(body, |p, k| {
        if k.0 == b"messages" {
            let (v, range) = p.array_parts(&MSG_KEYS, &mut msgs)?;
            req.has_messages = !v.is_null();
            req.messages = range;
            if req.has_messages && range.is_none() {
                return invalid("Invalid request format: 'messages' must be an array");
            }
            return Ok(());
        }
        if k.0 == b"tools" {
            let (v, range) = p.array_parts(&TOOL_KEYS, &mut tools)?;
            req.tools = Some(v).filter(|v| !v.is_null());
            req.tool_parts = range;
            return Ok(());
        }
        let v = p.value()?;
        let v = Some(v).filter(|v| !v.is_null());
        match k.0 {
            b"max_tokens" => req.max_tokens = v,
            b"max_completion_tokens" => req.max_completion_tokens = v,
            b"stop" => req.stop = v,
            b"tool_choice" => req.tool_choice = v,
            b"response_format" => req.response_format = v,
            b"stream" => req.stream = v.and_then(Val::bool) == Some(true),
            b"stream_options" => {
                req.include_usage =
                    v.and_then(|o| o.get("include_usage")).and_then(Val::bool) == Some(true)
            }
            _ => {
                if let Some(i) = COPIED.iter().position(|(from, _)| k.is(from)) {
                    req.copied[i] = v;
                }
            }
        }
        Ok(())
    })?;
    if !req.has_messages {
        return Err(TranslateError::Missing("messages"));
    }

    out.extend_from_slice(b"{\"model\":");
    push_quoted(out, upstream_model.as_bytes());
    out.extend_from_slice(b",\"messages\":[");
    let mut n = 0;
    for (i, m) in slice(&msgs, req.messages).iter().enumerate() {
        comma(out, &mut n);
        co_message(out, i, m)?;
    }
    out.push(b']');
    let has_tools = co_tools(out, &req, &tools)?;
    if has_tools {
        co_tool_choice(out, req.tool_choice)?;
    }
    if let Some(v) = req.max_completion_tokens.or(req.max_tokens) {
        out.extend_from_slice(b",\"max_tokens\":");
        out.extend_from_slice(v.0);
    }
    if let Some(stop) = req.stop {
        out.extend_from_slice(b",\"stop_sequences\":");
        if stop.str().is_some() {
            out.push(b'[');
            out.extend_from_slice(stop.0);
            out.push(b']');
        } else if stop.is_arr() {
            out.extend_from_slice(stop.0);
        } else {
            return invalid("'stop' must be a string or an array of strings");
        }
    }
    // Each Cohere key once, from the last OpenAI or Cohere name that set it.
    for (i, &(_, to)) in COPIED.iter().enumerate() {
        let later_alias = COPIED[i + 1..]
            .iter()
            .zip(&req.copied[i + 1..])
            .any(|(&(_, t), v)| t == to && v.is_some());
        if let Some(v) = req.copied[i].filter(|_| !later_alias) {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(to.as_bytes());
            out.extend_from_slice(b"\":");
            out.extend_from_slice(v.0);
        }
    }
    co_response_format(out, req.response_format)?;
    if req.stream {
        out.extend_from_slice(b",\"stream\":true");
    }
    out.push(b'}');
    Ok(ReqInfo {
        stream: req.stream,
        include_usage: req.stream && req.include_usage,
    })
}

/// One message, `{"role":…,…}`.
fn co_message(out: &mut Vec<u8>, i: usize, m: &OaMsg<'_>) -> Res<()> {
    if !m.all.is_obj() {
        return invalid(format!(
            "Invalid Message passed in: messages[{i}] must be an object"
        ));
    }
    let role = m.str(M_ROLE).map_or(&b""[..], |r| r.0);
    let content = m.val(M_CONTENT);
    match role {
        b"system" | b"developer" => {
            out.extend_from_slice(b"{\"role\":\"system\"");
            co_content(out, content)?;
        }
        b"user" => {
            out.extend_from_slice(b"{\"role\":\"user\"");
            co_content(out, content)?;
        }
        b"assistant" => {
            out.extend_from_slice(b"{\"role\":\"assistant\"");
            let calls = m.val(M_TOOL_CALLS).filter(|c| c.elems().next().is_some());
            let blank = content.is_some_and(|c| {
                c.str().is_some_and(Str::is_blank) || (c.is_arr() && c.elems().next().is_none())
            });
            if !(calls.is_some() && blank) {
                co_content(out, content)?;
            }
            if let Some(plan) = m.val(M_TOOL_PLAN).filter(|p| p.str().is_some()) {
                out.extend_from_slice(b",\"tool_plan\":");
                out.extend_from_slice(plan.0);
            }
            if let Some(calls) = calls {
                co_tool_calls(out, calls)?;
            }
        }
        b"tool" => {
            let Some(id) = m.str(M_TOOL_CALL_ID) else {
                return invalid(format!(
                    "Invalid Message passed in: messages[{i}] is a tool message without 'tool_call_id'"
                ));
            };
            out.extend_from_slice(b"{\"role\":\"tool\",\"tool_call_id\":");
            push_raw(out, id);
            if content.is_some() {
                co_content(out, content)?;
            } else {
                // Cohere requires a tool result's content; none means "".
                out.extend_from_slice(b",\"content\":\"\"");
            }
        }
        _ => {
            return invalid(format!(
                "Invalid Message passed in: messages[{i}] has a missing or unsupported role \
                 (Cohere takes system, user, assistant and tool)"
            ))
        }
    }
    out.push(b'}');
    Ok(())
}

/// `,"content":…`: a string as is; parts as Cohere parts (absent: nothing).
fn co_content(out: &mut Vec<u8>, content: Option<Val<'_>>) -> Res<()> {
    let Some(c) = content else { return Ok(()) };
    out.extend_from_slice(b",\"content\":");
    if c.str().is_some() {
        out.extend_from_slice(c.0);
        return Ok(());
    }
    if !c.is_arr() {
        return invalid("Invalid Message passed in: content must be a string or an array");
    }
    out.push(b'[');
    let mut n = 0;
    for part in c.elems() {
        comma(out, &mut n);
        let [ty, text, image_url] = part.fields(&["type", "text", "image_url"]);
        let ty = ty.and_then(Val::str).map_or(&b""[..], |t| t.0);
        match ty {
            b"text" => {
                out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
                push_raw(out, text.and_then(Val::str).unwrap_or(Str(b"")));
                out.push(b'}');
            }
            b"image_url" => co_image(out, image_url)?,
            // document, thinking, ...: Cohere's to accept or refuse, as with
            // LiteLLM, which forwards parts unchanged.
            _ => out.extend_from_slice(part.0),
        }
    }
    out.push(b']');
    Ok(())
}

/// An `image_url` part; Cohere takes OpenAI's shape (`url`, `detail`).
fn co_image(out: &mut Vec<u8>, image_url: Option<Val<'_>>) -> Res<()> {
    let (url, detail) = match image_url {
        Some(v) if v.str().is_some() => (v.str(), None),
        Some(v) => {
            let [url, detail] = v.fields(&["url", "detail"]);
            (url.and_then(Val::str), detail.and_then(Val::str))
        }
        None => (None, None),
    };
    let Some(url) = url else {
        return invalid("Invalid Message passed in: image_url part without a url");
    };
    out.extend_from_slice(b"{\"type\":\"image_url\",\"image_url\":{\"url\":");
    push_raw(out, url);
    if let Some(d) = detail {
        out.extend_from_slice(b",\"detail\":");
        push_raw(out, d);
    }
    out.extend_from_slice(b"}}");
    Ok(())
}

/// `,"tool_calls":[…]`, each rebuilt with only the members Cohere takes.
fn co_tool_calls(out: &mut Vec<u8>, calls: Val<'_>) -> Res<()> {
    out.extend_from_slice(b",\"tool_calls\":[");
    let mut n = 0;
    for call in calls.elems() {
        let [id, function] = call.fields(&["id", "function"]);
        let Some(id) = id.and_then(Val::str) else {
            return invalid("Invalid Message passed in: tool_calls[].id is missing");
        };
        let [name, arguments] = function.map_or([None, None], |f| f.fields(&["name", "arguments"]));
        let Some(name) = name.and_then(Val::str) else {
            return invalid("Invalid Message passed in: tool_calls[].function.name is missing");
        };
        comma(out, &mut n);
        out.extend_from_slice(b"{\"id\":");
        push_raw(out, id);
        out.extend_from_slice(b",\"type\":\"function\",\"function\":{\"name\":");
        push_raw(out, name);
        out.extend_from_slice(b",\"arguments\":");
        match arguments {
            Some(a) if a.str().is_some() => out.extend_from_slice(a.0),
            // Arguments given as JSON rather than a string holding JSON.
            Some(a) => push_quoted(out, a.0),
            None => out.extend_from_slice(b"\"{}\""),
        }
        out.extend_from_slice(b"}}");
    }
    out.push(b']');
    Ok(())
}

/// `,"tools":[…]`; returns whether any tool was written.
fn co_tools(out: &mut Vec<u8>, req: &OaChat<'_>, tools: &[OaTool<'_>]) -> Res<bool> {
    if req.tools.is_none() {
        return Ok(false);
    }
    if req.tool_parts.is_none() {
        return invalid("'tools' must be an array");
    }
    let tools = slice(tools, req.tool_parts);
    if tools.is_empty() {
        return Ok(false);
    }
    out.extend_from_slice(b",\"tools\":[");
    let mut n = 0;
    for t in tools {
        comma(out, &mut n);
        if t.str(0).is_some_and(|ty| !ty.is("function")) {
            out.extend_from_slice(t.all.0);
            continue;
        }
        let Some(f) = t.val(1).filter(|v| v.is_obj()) else {
            return invalid("tools[].function is missing");
        };
        let [name, description, parameters] = f.fields(&["name", "description", "parameters"]);
        let Some(name) = name.and_then(Val::str) else {
            return invalid("tools[].function.name is missing");
        };
        out.extend_from_slice(b"{\"type\":\"function\",\"function\":{\"name\":");
        push_raw(out, name);
        if let Some(d) = description.and_then(Val::str) {
            out.extend_from_slice(b",\"description\":");
            push_raw(out, d);
        }
        if let Some(p) = parameters.filter(|p| p.is_obj()) {
            out.extend_from_slice(b",\"parameters\":");
            out.extend_from_slice(p.0);
        }
        out.extend_from_slice(b"}}");
    }
    out.push(b']');
    Ok(true)
}

/// `tool_choice`: Cohere has only `REQUIRED` and `NONE` (no named tool, so a
/// named function forces some tool call); `auto` is Cohere's default.
fn co_tool_choice(out: &mut Vec<u8>, tc: Option<Val<'_>>) -> Res<()> {
    let Some(tc) = tc else { return Ok(()) };
    let kind = match (tc.str(), tc.is_obj()) {
        (Some(s), _) => s,
        (None, true) if tc.get("function").is_some() => Str(b"required"),
        (None, true) => tc.get_str("type").unwrap_or(Str(b"")),
        _ => return invalid("'tool_choice' must be a string or an object"),
    };
    if kind.is("required") || kind.is("any") || kind.is("REQUIRED") {
        out.extend_from_slice(b",\"tool_choice\":\"REQUIRED\"");
    } else if kind.is("none") || kind.is("NONE") {
        out.extend_from_slice(b",\"tool_choice\":\"NONE\"");
    } else if !kind.is("auto") {
        return invalid("'tool_choice' must be one of 'auto', 'required', 'none' or a function");
    }
    Ok(())
}

/// `response_format` in Cohere's terms: JSON mode, optionally with a schema.
fn co_response_format(out: &mut Vec<u8>, rf: Option<Val<'_>>) -> Res<()> {
    let Some(rf) = rf else { return Ok(()) };
    let [ty, json_schema, schema] = rf.fields(&["type", "json_schema", "schema"]);
    let ty = ty.and_then(Val::str).map_or(&b""[..], |t| t.0);
    match ty {
        b"text" => {}
        b"json_object" | b"json_schema" => {
            out.extend_from_slice(b",\"response_format\":{\"type\":\"json_object\"");
            let schema = json_schema.and_then(|j| j.get("schema")).or(schema);
            if let Some(s) = schema.filter(|s| s.is_obj()) {
                out.extend_from_slice(b",\"json_schema\":");
                out.extend_from_slice(s.0);
            }
            out.push(b'}');
        }
        _ => {
            return invalid("'response_format.type' must be 'text', 'json_object' or 'json_schema'")
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Cohere v2 chat response -> OpenAI chat.completion
// ---------------------------------------------------------------------------

/// Translates a Cohere `/v2/chat` response into an OpenAI `chat.completion`
/// appended to `out`, and returns its token usage.
///
/// `id` is a fresh `chatcmpl-<uuid>` and `created` now (as LiteLLM does);
/// `message.content` is the `text` parts joined (`null` when the reply has
/// tool calls or no content, as in LiteLLM); `thinking` parts become
/// `reasoning_content`; `tool_calls` are copied (`arguments` kept as the
/// string Cohere sends); citations become `annotations`
/// (`url_citation` per document source, LiteLLM's
/// `_translate_citations_to_openai_annotations`); `tool_plan` is dropped as
/// LiteLLM drops it; usage from `usage.tokens` (LiteLLM's choice), else
/// `usage.billed_units`. A body whose top-level `message` is a string is a
/// Cohere error and becomes `Err(Invalid("CohereException - …"))`.
pub fn cohere_to_openai_response(
    body: &[u8],
    client_model: &str,
    out: &mut Vec<u8>,
) -> Result<TokenUsage, TranslateError> {
    rollback_on_err(out, |out| response_inner(body, client_model, out))
}

fn response_inner(body: &[u8], client_model: &str, out: &mut Vec<u8>) -> Res<TokenUsage> {
    let (mut finish, mut message, mut usage) = (None, None, None);
    read_root(body, |p, k| {
        let v = p.value()?;
        match k.0 {
            b"finish_reason" => finish = v.str(),
            b"message" => message = Some(v),
            b"usage" => usage = Some(v),
            _ => {}
        }
        Ok(())
    })?;
    let Some(message) = message.filter(|m| m.is_obj()) else {
        return Err(cohere_error(message));
    };
    let [content, tool_calls, citations] = message.fields(&["content", "tool_calls", "citations"]);
    let parts = || content.into_iter().flat_map(Val::elems);
    let calls = tool_calls.filter(|c| c.elems().next().is_some());

    push_single_choice_head(out, client_model, finish_reason(finish));
    if calls.is_none() && content.is_some_and(Val::is_arr) {
        out.push(b'"');
        for t in parts().filter_map(|p| p.get_str("text")) {
            out.extend_from_slice(t.0);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(b"null");
    }
    out.extend_from_slice(b",\"role\":\"assistant\"");
    if let Some(calls) = calls {
        out.extend_from_slice(b",\"tool_calls\":[");
        let mut n = 0;
        for call in calls.elems() {
            let [id, function] = call.fields(&["id", "function"]);
            let [name, arguments] =
                function.map_or([None, None], |f| f.fields(&["name", "arguments"]));
            comma(out, &mut n);
            push_tool_call_head(out, id.and_then(Val::str), name.and_then(Val::str));
            match arguments {
                Some(a) if a.str().is_some() => out.extend_from_slice(a.0),
                a => push_arguments(out, a),
            }
            out.extend_from_slice(b"}}");
        }
        out.push(b']');
    }
    let mut thinking = parts()
        .filter(|p| p.get_str("type").is_some_and(|t| t.is("thinking")))
        .filter_map(|p| p.get_str("thinking"))
        .peekable();
    if thinking.peek().is_some() {
        out.extend_from_slice(b",\"reasoning_content\":\"");
        for t in thinking {
            out.extend_from_slice(t.0);
        }
        out.push(b'"');
    }
    push_annotations(out, citations);
    out.extend_from_slice(b"}}],\"usage\":");
    let u = chat_usage(usage);
    push_usage(out, u);
    out.push(b'}');
    Ok(u)
}

/// `,"annotations":[…]`: one `url_citation` per document source of each
/// citation (nothing when there is none).
fn push_annotations(out: &mut Vec<u8>, citations: Option<Val<'_>>) {
    let Some(citations) = citations else { return };
    let mark = out.len();
    out.extend_from_slice(b",\"annotations\":[");
    let mut n = 0;
    for c in citations.elems() {
        let [start, end, sources] = c.fields(&["start", "end", "sources"]);
        for s in sources.into_iter().flat_map(Val::elems) {
            let [ty, document, url, id] = s.fields(&["type", "document", "url", "id"]);
            let Some(document) =
                document.filter(|_| ty.and_then(Val::str).is_some_and(|t| t.is("document")))
            else {
                continue;
            };
            comma(out, &mut n);
            out.extend_from_slice(b"{\"type\":\"url_citation\",\"url_citation\":{\"start_index\":");
            out.extend_from_slice(start.filter(|v| v.is_num()).map_or(&b"0"[..], |v| v.0));
            out.extend_from_slice(b",\"end_index\":");
            out.extend_from_slice(end.filter(|v| v.is_num()).map_or(&b"0"[..], |v| v.0));
            out.extend_from_slice(b",\"title\":");
            push_raw(out, document.get_str("title").unwrap_or(Str(b"")));
            out.extend_from_slice(b",\"url\":");
            match url.and_then(Val::str).filter(|u| !u.is_empty()) {
                Some(u) => push_raw(out, u),
                None => {
                    out.extend_from_slice(b"\"source:");
                    let id = id.and_then(Val::str).unwrap_or(Str(b"unknown"));
                    out.extend_from_slice(id.0);
                    out.push(b'"');
                }
            }
            out.extend_from_slice(b"}}");
        }
    }
    if n == 0 {
        out.truncate(mark);
    } else {
        out.push(b']');
    }
}

// ---------------------------------------------------------------------------
// Cohere v2 SSE stream -> OpenAI chat.completion.chunk stream
// ---------------------------------------------------------------------------

/// Turns a Cohere `/v2/chat` event stream into OpenAI
/// `chat.completion.chunk` events, one event at a time:
///
/// * `message-start` → the first chunk, `{"content":"","role":"assistant"}`;
/// * `content-start` / `content-delta` → `content` deltas for text
///   (`delta.message.content.text`), `reasoning_content` deltas for a
///   thinking model's `delta.message.content.thinking`;
/// * `tool-call-start` → a `tool_calls` delta with `index` (0-based over
///   tool calls), `id`, `type`, `name` and the arguments so far;
///   `tool-call-delta` → `arguments` deltas;
/// * `message-end` → the `finish_reason` chunk, then the usage chunk when
///   `include_usage` (from `delta.usage.tokens`, else `billed_units`), then
///   `data: [DONE]`;
/// * `tool-plan-delta`, `content-end`, `tool-call-end`, `citation-start`,
///   `citation-end`, `debug` and unknown events → nothing (LiteLLM drops
///   the tool plan from plain replies too).
///
/// Chunks are written by the shared `chat::Chunks`, so they have the same
/// shape and prefix as [`crate::anthropic::AnthropicToOpenAiStream`]'s.
/// Feed it complete events (one or several per call); an event whose data
/// is not JSON is an error and writes nothing.
#[derive(Debug)]
pub struct CohereToOpenAiStream {
    chunks: Chunks,
    /// OpenAI `tool_calls[].index` of the current tool call.
    tool_index: u64,
    tools_seen: u64,
    usage: TokenUsage,
}

impl CohereToOpenAiStream {
    /// `client_model` is the name the client asked for (chunks carry it);
    /// `include_usage` is [`ReqInfo::include_usage`].
    pub fn new(client_model: &str, include_usage: bool) -> Self {
        CohereToOpenAiStream {
            chunks: Chunks::new(client_model, include_usage),
            tool_index: 0,
            tools_seen: 0,
            usage: TokenUsage::default(),
        }
    }

    /// Whether the closing `[DONE]` has been written.
    pub fn is_done(&self) -> bool {
        self.chunks.is_done()
    }

    /// Token usage seen so far (complete after `message-end`).
    pub fn usage(&self) -> TokenUsage {
        self.usage
    }

    /// A `content` or `reasoning_content` delta from a content event.
    fn content(&mut self, out: &mut Vec<u8>, c: Val<'_>) {
        let [text, thinking] = c.fields(&["text", "thinking"]);
        let (key, s): (&[u8], _) = match (text.and_then(Val::str), thinking.and_then(Val::str)) {
            (Some(t), _) => (b"\"content\":", t),
            (None, Some(t)) => (b"\"reasoning_content\":", t),
            (None, None) => return,
        };
        if !s.is_empty() {
            self.chunks.delta(out, |out| {
                out.extend_from_slice(key);
                push_raw(out, s);
            });
        }
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        let u = self.usage;
        self.chunks.end(out, b"stop", |out| push_usage(out, u));
    }

    /// Feeds Cohere SSE bytes (one or more complete events) and appends the
    /// OpenAI events they produce.
    pub fn feed(&mut self, events: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        for ev in sse_events(events) {
            self.feed_one(ev, out)?;
        }
        Ok(())
    }

    fn feed_one(&mut self, ev: &[u8], out: &mut Vec<u8>) -> Res<()> {
        if self.chunks.is_done() {
            return Ok(());
        }
        let e = parse_sse_event(ev);
        let Some(data) = e.data else { return Ok(()) };
        let root = parse_root(&data)?;
        let [ty, delta] = root.fields(&["type", "delta"]);
        let ty = ty.and_then(Val::str).map(|t| t.0).or(e.name).unwrap_or(b"");
        let message = delta.and_then(|d| d.get("message"));
        match ty {
            b"message-start" => self.chunks.role(out),
            b"content-start" | b"content-delta" => {
                if let Some(c) = message.and_then(|m| m.get("content")) {
                    self.content(out, c);
                }
            }
            b"tool-call-start" => {
                let call = message.and_then(|m| m.get("tool_calls"));
                let [id, function] = call.map_or([None, None], |c| c.fields(&["id", "function"]));
                let [name, arguments] =
                    function.map_or([None, None], |f| f.fields(&["name", "arguments"]));
                self.tool_index = self.tools_seen;
                self.tools_seen += 1;
                let (id, name) = (id.and_then(Val::str), name.and_then(Val::str));
                let args = arguments.and_then(Val::str).unwrap_or(Str(b""));
                self.chunks.tool_start(out, self.tool_index, id, name, args);
            }
            b"tool-call-delta" => {
                let args = message
                    .and_then(|m| m.get("tool_calls"))
                    .and_then(|c| c.get("function"))
                    .and_then(|f| f.get_str("arguments"))
                    .filter(|a| !a.is_empty());
                if let Some(args) = args {
                    self.chunks.tool_args(out, self.tool_index, args.0);
                }
            }
            b"message-end" => {
                let [reason, usage] =
                    delta.map_or([None, None], |d| d.fields(&["finish_reason", "usage"]));
                if usage.is_some() {
                    self.usage = chat_usage(usage);
                }
                self.chunks
                    .finish(out, finish_reason(reason.and_then(Val::str)));
                self.end(out);
            }
            _ => {}
        }
        Ok(())
    }

    /// Call when the upstream ended without `message-end`: writes the finish
    /// chunk, the usage chunk if asked for, and `[DONE]` if not out yet.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.chunks.is_done() {
            self.end(out);
        }
    }
}

// ---------------------------------------------------------------------------
// Embeddings
// ---------------------------------------------------------------------------

/// LiteLLM's `COHERE_DEFAULT_EMBEDDING_INPUT_TYPE`.
const DEFAULT_INPUT_TYPE: &[u8] = b"search_document";

/// LiteLLM's `is_base64_encoded`: a `data:` URL whose payload (up to the
/// next comma) is canonical padded base64.
fn is_base64_data_url(s: Str<'_>) -> bool {
    let Some(rest) = s.0.strip_prefix(b"data:") else {
        return false;
    };
    let Some(comma) = memchr::memchr(b',', rest) else {
        return false;
    };
    let payload = &rest[comma + 1..];
    let payload = payload.split(|&c| c == b',').next().unwrap_or_default();
    let pad = payload.iter().rev().take_while(|&&c| c == b'=').count();
    let body = &payload[..payload.len() - pad];
    payload.len() % 4 == 0
        && pad <= 2
        && body
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
}

/// Translates an OpenAI `/v1/embeddings` body into a Cohere `/v2/embed`
/// body for `upstream_model`, appended to `out`.
///
/// `input` (a string or an array of strings; token arrays are refused, as
/// LiteLLM refuses them) → `texts` with `input_type` `search_document`, or,
/// when the last input is a base64 `data:` URL (LiteLLM's test), → `images`
/// with `input_type` `image`. `encoding_format` → `embedding_types` (a list
/// of it; `["float"]` when absent), `dimensions` → `output_dimension`.
/// Cohere's own `input_type`, `embedding_types` and `truncate` given by the
/// client win, as LiteLLM forwards them over its defaults.
pub fn openai_to_cohere_embed_request(
    body: &[u8],
    upstream_model: &str,
    out: &mut Vec<u8>,
) -> Result<(), TranslateError> {
    rollback_on_err(out, |out| embed_request_inner(body, upstream_model, out))
}

fn embed_request_inner(body: &[u8], upstream_model: &str, out: &mut Vec<u8>) -> Res<()> {
    let [mut input, mut format, mut dims, mut input_type, mut types, mut truncate] = [None; 6];
    read_root(body, |p, k| {
        let v = Some(p.value()?).filter(|v| !v.is_null());
        match k.0 {
            b"input" => input = v,
            b"encoding_format" => format = v,
            b"dimensions" => dims = v,
            b"input_type" => input_type = v,
            b"embedding_types" => types = v,
            b"truncate" => truncate = v,
            _ => {}
        }
        Ok(())
    })?;
    let Some(input) = input else {
        return Err(TranslateError::Missing("input"));
    };
    let (texts, last) = if let Some(s) = input.str() {
        (None, Some(s))
    } else if input.is_arr() {
        if !input.elems().all(|e| e.str().is_some()) || input.elems().next().is_none() {
            return invalid("Input must be a list of strings");
        }
        (Some(input), input.elems().last().and_then(Val::str))
    } else {
        return invalid("Input must be a string or a list of strings");
    };
    let image = last.is_some_and(is_base64_data_url);
    out.extend_from_slice(b"{\"model\":");
    push_quoted(out, upstream_model.as_bytes());
    out.extend_from_slice(if image {
        b",\"images\":"
    } else {
        b",\"texts\":"
    });
    match texts {
        Some(arr) => out.extend_from_slice(arr.0),
        None => {
            out.push(b'[');
            out.extend_from_slice(input.0);
            out.push(b']');
        }
    }
    out.extend_from_slice(b",\"input_type\":");
    match input_type {
        Some(t) => out.extend_from_slice(t.0),
        None if image => out.extend_from_slice(b"\"image\""),
        None => push_quoted(out, DEFAULT_INPUT_TYPE),
    }
    out.extend_from_slice(b",\"embedding_types\":");
    match (types, format) {
        (Some(t), _) => out.extend_from_slice(t.0),
        (None, Some(f)) if f.is_arr() => out.extend_from_slice(f.0),
        (None, Some(f)) => {
            out.push(b'[');
            out.extend_from_slice(f.0);
            out.push(b']');
        }
        (None, None) => out.extend_from_slice(b"[\"float\"]"),
    }
    if let Some(d) = dims {
        out.extend_from_slice(b",\"output_dimension\":");
        out.extend_from_slice(d.0);
    }
    if let Some(t) = truncate {
        out.extend_from_slice(b",\"truncate\":");
        out.extend_from_slice(t.0);
    }
    out.push(b'}');
    Ok(())
}

/// Translates a Cohere embed response (v2 `embeddings_by_type`, or v1's
/// `embeddings_floats` list) into an OpenAI embedding `list` appended to
/// `out`, and returns its usage.
///
/// As in LiteLLM: one `{"object":"embedding","index":i,"embedding":…}` per
/// vector of each embedding type (indices restart per type), vectors (or
/// base64 strings) copied as their raw bytes; `prompt_tokens` is
/// `meta.billed_units.input_tokens` plus `images`, reported again in
/// `prompt_tokens_details` (`text_tokens`, `image_tokens`). Without billed
/// units LiteLLM counts tokens with its tokenizer; this reports 0.
pub fn cohere_to_openai_embed_response(
    body: &[u8],
    client_model: &str,
    out: &mut Vec<u8>,
) -> Result<TokenUsage, TranslateError> {
    rollback_on_err(out, |out| embed_response_inner(body, client_model, out))
}

fn embed_response_inner(body: &[u8], client_model: &str, out: &mut Vec<u8>) -> Res<TokenUsage> {
    let (mut embeddings, mut meta, mut message) = (None, None, None);
    read_root(body, |p, k| {
        let v = p.value()?;
        match k.0 {
            b"embeddings" => embeddings = Some(v),
            b"meta" => meta = Some(v),
            b"message" => message = Some(v),
            _ => {}
        }
        Ok(())
    })?;
    let Some(embeddings) = embeddings.filter(|e| e.is_obj() || e.is_arr()) else {
        return Err(cohere_error(message));
    };
    out.extend_from_slice(b"{\"model\":");
    push_quoted(out, client_model.as_bytes());
    out.extend_from_slice(b",\"data\":[");
    let mut n = 0;
    let mut vectors = |out: &mut Vec<u8>, list: Val<'_>| {
        for (i, e) in list.elems().enumerate() {
            comma(out, &mut n);
            out.extend_from_slice(b"{\"object\":\"embedding\",\"index\":");
            push_u64(out, i as u64);
            out.extend_from_slice(b",\"embedding\":");
            out.extend_from_slice(e.0);
            out.push(b'}');
        }
    };
    if embeddings.is_arr() {
        vectors(out, embeddings);
    } else {
        for (_, list) in embeddings.members() {
            vectors(out, list);
        }
    }
    out.extend_from_slice(b"],\"object\":\"list\",\"usage\":");
    let billed = meta.and_then(|m| m.get("billed_units"));
    let [text, images] = billed.map_or([None, None], |b| b.fields(&["input_tokens", "images"]));
    let prompt = text.map_or(0, Val::count) + images.map_or(0, Val::count);
    out.extend_from_slice(b"{\"completion_tokens\":0,\"prompt_tokens\":");
    push_u64(out, prompt);
    out.extend_from_slice(b",\"total_tokens\":");
    push_u64(out, prompt);
    out.extend_from_slice(b",\"completion_tokens_details\":null,\"prompt_tokens_details\":");
    if text.is_none() && images.is_none() {
        out.extend_from_slice(b"null");
    } else {
        out.extend_from_slice(b"{\"audio_tokens\":null,\"cached_tokens\":null,\"text_tokens\":");
        push_count_or_null(out, text);
        out.extend_from_slice(b",\"image_tokens\":");
        push_count_or_null(out, images);
        out.extend_from_slice(b",\"video_tokens\":null}");
    }
    out.extend_from_slice(b"}}");
    Ok(TokenUsage {
        prompt_tokens: prompt,
        ..TokenUsage::default()
    })
}

fn push_count_or_null(out: &mut Vec<u8>, v: Option<Val<'_>>) {
    match v {
        Some(v) => push_u64(out, v.count()),
        None => out.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn req(body: &Value) -> (Value, ReqInfo) {
        let mut out = Vec::new();
        let info =
            openai_to_cohere_request(body.to_string().as_bytes(), "command-a-03-2025", &mut out)
                .unwrap_or_else(|e| panic!("{e}: {body}"));
        (serde_json::from_slice(&out).expect("valid JSON out"), info)
    }

    fn req_err(body: &[u8]) -> TranslateError {
        let mut out = b"keep".to_vec();
        let e = openai_to_cohere_request(body, "m", &mut out).unwrap_err();
        assert_eq!(out, b"keep", "output restored on error");
        e
    }

    fn resp(body: &Value) -> (Value, TokenUsage) {
        let mut out = Vec::new();
        let u =
            cohere_to_openai_response(body.to_string().as_bytes(), "my-model", &mut out).unwrap();
        (serde_json::from_slice(&out).unwrap(), u)
    }

    /// The SSE `data:` payloads written, `[DONE]` as a string.
    fn chunks(out: &[u8]) -> Vec<Value> {
        sse_events(out)
            .map(|ev| {
                let data = parse_sse_event(ev).data.unwrap();
                serde_json::from_slice(&data)
                    .unwrap_or_else(|_| json!(String::from_utf8_lossy(&data)))
            })
            .collect()
    }

    fn sse(events: &[Value]) -> Vec<u8> {
        let mut b = Vec::new();
        for e in events {
            b.extend_from_slice(b"event: ");
            b.extend_from_slice(e["type"].as_str().unwrap().as_bytes());
            b.extend_from_slice(b"\ndata: ");
            b.extend_from_slice(e.to_string().as_bytes());
            b.extend_from_slice(b"\n\n");
        }
        b
    }

    // --- request ---------------------------------------------------------

    #[test]
    fn basic_request_golden() {
        let (out, info) = req(&json!({
            "model": "cohere/command-a",
            "messages": [
                {"role": "developer", "content": "You are concise."},
                {"role": "user", "content": "Tell me about \"LLMs\"\n", "name": "bob"}
            ],
            "max_tokens": 50, "max_completion_tokens": 100, "temperature": 0.3, "top_p": 0.75,
            "top_k": 5, "stop": "END", "seed": 42, "frequency_penalty": 0.1,
            "presence_penalty": 0.2, "n": 1, "user": "u1", "stream": true,
            "stream_options": {"include_usage": true}, "safety_mode": "STRICT"
        }));
        assert_eq!(
            out,
            json!({
                "model": "command-a-03-2025",
                "messages": [
                    {"role": "system", "content": "You are concise."},
                    {"role": "user", "content": "Tell me about \"LLMs\"\n"}
                ],
                "max_tokens": 100, "stop_sequences": ["END"], "temperature": 0.3, "p": 0.75,
                "k": 5, "seed": 42, "frequency_penalty": 0.1, "presence_penalty": 0.2,
                "safety_mode": "STRICT", "stream": true
            })
        );
        assert_eq!(
            info,
            ReqInfo {
                stream: true,
                include_usage: true
            }
        );
        let (_, info) = req(&json!({"messages": [], "stream_options": {"include_usage": true}}));
        assert_eq!(
            info,
            ReqInfo {
                stream: false,
                include_usage: false
            }
        );
    }

    /// The multi-step tool use example of Cohere's docs (get_weather), sent
    /// the OpenAI way.
    #[test]
    fn tool_use_request_golden() {
        let params = json!({"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]});
        let (out, _) = req(&json!({
            "messages": [
                {"role": "user", "content": "What's the weather in Toronto?"},
                {"role": "assistant", "content": "", "tool_calls": [{
                    "id": "get_weather_1byjy32y4hvq", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"location\":\"Toronto\"}"}
                }]},
                {"role": "tool", "tool_call_id": "get_weather_1byjy32y4hvq",
                 "content": [{"type": "text", "text": "{\"temperature\": {\"toronto\": \"20C\"}}"}]},
                {"role": "assistant", "tool_calls": [{"id": "c2", "function": {"name": "get_weather", "arguments": {"location": "Madrid"}}}]},
                {"role": "tool", "tool_call_id": "c2", "content": "25C"},
                {"role": "tool", "tool_call_id": "c3"}
            ],
            "tools": [{"type": "function", "function": {
                "name": "get_weather", "description": "gets the weather of a given location",
                "parameters": params, "strict": true
            }, "cache_control": {"type": "ephemeral"}}],
            "tool_choice": "required", "parallel_tool_calls": true
        }));
        assert_eq!(
            out,
            json!({
                "model": "command-a-03-2025",
                "messages": [
                    {"role": "user", "content": "What's the weather in Toronto?"},
                    {"role": "assistant", "tool_calls": [{
                        "id": "get_weather_1byjy32y4hvq", "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"location\":\"Toronto\"}"}
                    }]},
                    {"role": "tool", "tool_call_id": "get_weather_1byjy32y4hvq",
                     "content": [{"type": "text", "text": "{\"temperature\": {\"toronto\": \"20C\"}}"}]},
                    {"role": "assistant", "tool_calls": [{"id": "c2", "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"location\":\"Madrid\"}"}}]},
                    {"role": "tool", "tool_call_id": "c2", "content": "25C"},
                    {"role": "tool", "tool_call_id": "c3", "content": ""}
                ],
                "tools": [{"type": "function", "function": {
                    "name": "get_weather", "description": "gets the weather of a given location",
                    "parameters": params
                }}],
                "tool_choice": "REQUIRED"
            })
        );
    }

    #[test]
    fn images_and_parts() {
        let (out, _) = req(&json!({"messages": [
            {"role": "system", "content": [{"type": "text", "text": "sys"}]},
            {"role": "user", "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"}},
                {"type": "image_url", "image_url": "https://example.com/a.jpg"},
                {"type": "document", "document": {"data": "x"}}
            ]},
            {"role": "assistant", "content": [{"type": "text", "text": "a cat"}], "tool_plan": "plan"}
        ]}));
        assert_eq!(
            out["messages"],
            json!([
                {"role": "system", "content": [{"type": "text", "text": "sys"}]},
                {"role": "user", "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
                    {"type": "document", "document": {"data": "x"}}
                ]},
                {"role": "assistant", "content": [{"type": "text", "text": "a cat"}], "tool_plan": "plan"}
            ])
        );
    }

    #[test]
    fn tool_choice_and_response_format() {
        let tools = json!([{"type": "function", "function": {"name": "f"}}]);
        let choice = |tc: Value| {
            req(&json!({"messages": [], "tools": tools, "tool_choice": tc})).0["tool_choice"]
                .clone()
        };
        assert_eq!(choice(json!("required")), json!("REQUIRED"));
        assert_eq!(choice(json!("none")), json!("NONE"));
        assert_eq!(choice(json!("auto")), Value::Null);
        assert_eq!(
            choice(json!({"type": "function", "function": {"name": "f"}})),
            json!("REQUIRED")
        );
        // Without tools, tool_choice is not sent (LiteLLM pops it).
        let (out, _) = req(&json!({"messages": [], "tool_choice": "required", "tools": []}));
        assert!(out.get("tool_choice").is_none() && out.get("tools").is_none());
        assert!(matches!(
            req_err(br#"{"messages":[],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"maybe"}"#),
            TranslateError::Invalid(_)
        ));

        let rf = |f: Value| {
            req(&json!({"messages": [], "response_format": f}))
                .0
                .get("response_format")
                .cloned()
        };
        assert_eq!(rf(json!({"type": "text"})), None);
        assert_eq!(
            rf(json!({"type": "json_object"})),
            Some(json!({"type": "json_object"}))
        );
        let schema = json!({"type": "object", "properties": {"a": {"type": "integer"}}});
        assert_eq!(
            rf(
                json!({"type": "json_schema", "json_schema": {"name": "x", "schema": schema, "strict": true}})
            ),
            Some(json!({"type": "json_object", "json_schema": schema}))
        );
    }

    #[test]
    fn stop_and_aliases() {
        let (out, _) =
            req(&json!({"messages": [], "stop": ["a", "b"], "top_p": 0.1, "p": 0.2, "k": 3}));
        assert_eq!(out["stop_sequences"], json!(["a", "b"]));
        assert_eq!(out["p"], json!(0.2));
        assert_eq!(out["k"], json!(3));
        let (out, _) =
            req(&json!({"messages": [], "max_tokens": 7, "max_completion_tokens": null}));
        assert_eq!(out["max_tokens"], json!(7));
    }

    #[test]
    fn request_errors() {
        assert!(matches!(req_err(b"{"), TranslateError::Json { .. }));
        assert!(matches!(req_err(b""), TranslateError::Json { .. }));
        assert!(matches!(req_err(b"[1]"), TranslateError::NotObject));
        assert!(matches!(
            req_err(b"{\"model\":\"x\"} x"),
            TranslateError::Json { .. }
        ));
        assert_eq!(
            req_err(b"{\"model\":\"x\"}"),
            TranslateError::Missing("messages")
        );
        assert_eq!(
            req_err(b"{\"messages\":null}"),
            TranslateError::Missing("messages")
        );
        for bad in [
            r#"{"messages":"hi"}"#,
            r#"{"messages":[1]}"#,
            r#"{"messages":[{"content":"x"}]}"#,
            r#"{"messages":[{"role":"function","name":"f","content":"x"}]}"#,
            r#"{"messages":[{"role":"tool","content":"x"}]}"#,
            r#"{"messages":[{"role":"user","content":5}]}"#,
            r#"{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}"#,
            r#"{"messages":[{"role":"assistant","tool_calls":[{"function":{"name":"f"}}]}]}"#,
            r#"{"messages":[{"role":"assistant","tool_calls":[{"id":"1","function":{}}]}]}"#,
            r#"{"messages":[],"tools":{"a":1}}"#,
            r#"{"messages":[],"tools":[{"type":"function"}]}"#,
            r#"{"messages":[],"tools":[{"type":"function","function":{"description":"d"}}]}"#,
            r#"{"messages":[],"stop":5}"#,
            r#"{"messages":[],"response_format":{"type":"yaml"}}"#,
        ] {
            assert!(
                matches!(req_err(bad.as_bytes()), TranslateError::Invalid(_)),
                "{bad}"
            );
        }
        // Invalid escapes and UTF-8 are caught before anything is copied.
        assert!(matches!(
            req_err(b"{\"messages\":[{\"role\":\"user\",\"content\":\"\\x\"}]}"),
            TranslateError::Json { .. }
        ));
        assert!(matches!(
            req_err(b"{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}"),
            TranslateError::Json { .. }
        ));
    }

    // --- response --------------------------------------------------------

    #[test]
    fn text_response_golden() {
        // Cohere's documented /v2/chat reply.
        let (out, u) = resp(&json!({
            "id": "c14c80c3-18eb-4519-9460-6c92edd8cfb4",
            "finish_reason": "COMPLETE",
            "message": {"role": "assistant", "content": [
                {"type": "text", "text": "LLMs stand for Large Language Models, "},
                {"type": "text", "text": "which are \"deep\"\nlearning models."}
            ]},
            "usage": {"billed_units": {"input_tokens": 17, "output_tokens": 12},
                      "tokens": {"input_tokens": 215, "output_tokens": 12}}
        }));
        assert!(out["id"].as_str().unwrap().starts_with("chatcmpl-"));
        assert!(out["created"].as_u64().unwrap() > 1_600_000_000);
        let expect = json!({
            "id": out["id"], "created": out["created"], "model": "my-model",
            "object": "chat.completion", "system_fingerprint": null,
            "choices": [{"finish_reason": "stop", "index": 0, "message": {
                "content": "LLMs stand for Large Language Models, which are \"deep\"\nlearning models.",
                "role": "assistant"
            }}],
            "usage": {"completion_tokens": 12, "prompt_tokens": 215, "total_tokens": 227}
        });
        assert_eq!(out, expect);
        assert_eq!(
            u,
            TokenUsage {
                prompt_tokens: 215,
                completion_tokens: 12,
                ..Default::default()
            }
        );
        // Key order is the one every provider's answer uses.
        let mut raw = Vec::new();
        cohere_to_openai_response(
            br#"{"message":{"content":[]},"finish_reason":"MAX_TOKENS"}"#,
            "m",
            &mut raw,
        )
        .unwrap();
        let s = String::from_utf8(raw).unwrap();
        assert!(s.contains(r#""object":"chat.completion","system_fingerprint":null,"choices":[{"finish_reason":"length","index":0,"message":{"content":"","role":"assistant"}}],"usage":{"completion_tokens":0,"prompt_tokens":0,"total_tokens":0}}"#), "{s}");
    }

    #[test]
    fn tool_call_response_golden() {
        let (out, u) = resp(&json!({
            "id": "x", "finish_reason": "TOOL_CALL",
            "message": {"role": "assistant",
                "tool_plan": "I will use the get_weather tool to find the weather in Toronto.",
                "tool_calls": [
                    {"id": "get_weather_1byjy32y4hvq", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"location\":\"Toronto\"}"}},
                    {"id": "c2", "type": "function", "function": {"name": "g", "arguments": {"a": 1}}}
                ]},
            "usage": {"billed_units": {"input_tokens": 37, "output_tokens": 28}}
        }));
        assert_eq!(
            out["choices"][0],
            json!({"finish_reason": "tool_calls", "index": 0, "message": {
            "content": null, "role": "assistant",
            "tool_calls": [
                {"id": "get_weather_1byjy32y4hvq", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"location\":\"Toronto\"}"}},
                {"id": "c2", "type": "function", "function": {"name": "g", "arguments": "{\"a\":1}"}}
            ]}})
        );
        // No `tokens`: billed units are the fallback.
        assert_eq!((u.prompt_tokens, u.completion_tokens), (37, 28));
    }

    #[test]
    fn citations_thinking_and_errors() {
        let (out, _) = resp(&json!({
            "finish_reason": "COMPLETE",
            "message": {"role": "assistant",
                "content": [{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "Emperor penguins."}],
                "citations": [
                    {"start": 0, "end": 16, "text": "Emperor penguins", "sources": [
                        {"type": "document", "id": "doc:0", "document": {"id": "doc:0", "title": "Tall penguins"}},
                        {"type": "document", "id": "doc:1", "url": "https://x.org", "document": {"snippet": "s"}},
                        {"type": "tool", "id": "t", "tool_output": {}}
                    ]},
                    {"start": 1, "end": 2, "sources": []}
                ]},
            "usage": {"tokens": {"input_tokens": 1, "output_tokens": 2}}
        }));
        let m = &out["choices"][0]["message"];
        assert_eq!(m["content"], json!("Emperor penguins."));
        assert_eq!(m["reasoning_content"], json!("hmm"));
        assert_eq!(
            m["annotations"],
            json!([
                {"type": "url_citation", "url_citation": {"start_index": 0, "end_index": 16, "title": "Tall penguins", "url": "source:doc:0"}},
                {"type": "url_citation", "url_citation": {"start_index": 0, "end_index": 16, "title": "", "url": "https://x.org"}}
            ])
        );
        let mut out = Vec::new();
        let e = cohere_to_openai_response(
            br#"{"id":"1","message":"invalid api token"}"#,
            "m",
            &mut out,
        )
        .unwrap_err();
        assert_eq!(
            e,
            TranslateError::Invalid("CohereException - invalid api token".into())
        );
        assert!(out.is_empty());
        assert!(cohere_to_openai_response(b"{\"message\":", "m", &mut out).is_err());
        assert!(cohere_to_openai_response(b"[]", "m", &mut out).is_err());
        assert!(out.is_empty());
    }

    // --- stream ----------------------------------------------------------

    /// The documented basic stream (message-start .. message-end).
    #[test]
    fn text_stream_golden() {
        let events = sse(&[
            json!({"id": "29f14a5a", "type": "message-start", "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}}),
            json!({"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}}),
            json!({"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "Hello"}}}}),
            json!({"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": " \"world\"\n"}}}}),
            json!({"type": "content-end", "index": 0}),
            json!({"type": "message-end", "delta": {"finish_reason": "MAX_TOKENS", "usage": {"billed_units": {"input_tokens": 3, "output_tokens": 2}, "tokens": {"input_tokens": 69, "output_tokens": 2}}}}),
        ]);
        let mut s = CohereToOpenAiStream::new("my-model", true);
        let mut out = Vec::new();
        // Fed one event at a time, as the relay does.
        for ev in sse_events(&events) {
            let mut one = ev.to_vec();
            one.extend_from_slice(b"\n\n");
            s.feed(&one, &mut out).unwrap();
        }
        assert!(s.is_done());
        assert_eq!(
            s.usage(),
            TokenUsage {
                prompt_tokens: 69,
                completion_tokens: 2,
                ..Default::default()
            }
        );
        let c = chunks(&out);
        assert_eq!(c.len(), 6, "{c:?}");
        let id = c[0]["id"].clone();
        for chunk in &c[..5] {
            assert_eq!(chunk["id"], id);
            assert_eq!(chunk["model"], json!("my-model"));
            assert_eq!(chunk["object"], json!("chat.completion.chunk"));
        }
        assert_eq!(
            c[0]["choices"],
            json!([{"index": 0, "delta": {"content": "", "role": "assistant"}}])
        );
        assert_eq!(c[1]["choices"][0]["delta"], json!({"content": "Hello"}));
        assert_eq!(
            c[2]["choices"][0]["delta"],
            json!({"content": " \"world\"\n"})
        );
        assert_eq!(
            c[3]["choices"],
            json!([{"finish_reason": "length", "index": 0, "delta": {}}])
        );
        assert_eq!(c[4]["choices"], json!([{"index": 0, "delta": {}}]));
        assert_eq!(
            c[4]["usage"],
            json!({"completion_tokens": 2, "prompt_tokens": 69, "total_tokens": 71})
        );
        assert_eq!(c[5], json!("[DONE]"));
        // Anything after the end is ignored; finish() adds nothing.
        let n = out.len();
        s.feed(&events, &mut out).unwrap();
        s.finish(&mut out);
        assert_eq!(out.len(), n);
    }

    /// The documented tool-calling stream (tool plan, two parallel calls).
    #[test]
    fn tool_stream_golden() {
        let call = |id: &str, name: &str| json!({"type": "tool-call-start", "index": 1, "delta": {"message": {"tool_calls": {"id": id, "type": "function", "function": {"name": name, "arguments": ""}}}}});
        let args = |a: &str| json!({"type": "tool-call-delta", "index": 1, "delta": {"message": {"tool_calls": {"function": {"arguments": a}}}}});
        let events = sse(&[
            json!({"id": "fba98ad3", "type": "message-start", "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}}),
            json!({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "I will"}}}),
            call("get_weather_p0dage9q1nv4", "get_weather"),
            args("{\n    \""),
            args("location\": \"Madrid\"}"),
            json!({"type": "tool-call-end", "index": 1}),
            call("get_weather_vdr3ytt2fktq", "get_weather"),
            args("{\"location\": \"Brasilia\"}"),
            json!({"type": "tool-call-end", "index": 2}),
            json!({"type": "citation-start", "index": 0, "delta": {"message": {"citations": {"start": 0, "end": 1}}}}),
            json!({"type": "message-end", "delta": {"finish_reason": "TOOL_CALL", "usage": {"billed_units": {"input_tokens": 37, "output_tokens": 75}, "tokens": {"input_tokens": 1032, "output_tokens": 88}}}}),
        ]);
        let mut s = CohereToOpenAiStream::new("m", false);
        let mut out = Vec::new();
        s.feed(&events, &mut out).unwrap();
        let c = chunks(&out);
        let deltas: Vec<&Value> = c
            .iter()
            .filter_map(|c| c.get("choices"))
            .map(|ch| &ch[0])
            .collect();
        assert_eq!(deltas.len(), 7, "{c:?}");
        assert_eq!(
            deltas[1]["delta"],
            json!({"tool_calls": [{"index": 0, "id": "get_weather_p0dage9q1nv4", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]})
        );
        assert_eq!(
            deltas[2]["delta"],
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\n    \""}}]})
        );
        assert_eq!(
            deltas[3]["delta"],
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "location\": \"Madrid\"}"}}]})
        );
        assert_eq!(deltas[4]["delta"]["tool_calls"][0]["index"], json!(1));
        assert_eq!(
            deltas[5]["delta"],
            json!({"tool_calls": [{"index": 1, "function": {"arguments": "{\"location\": \"Brasilia\"}"}}]})
        );
        assert_eq!(deltas[6]["finish_reason"], json!("tool_calls"));
        assert_eq!(c.last(), Some(&json!("[DONE]")));
        assert_eq!(s.usage().prompt_tokens, 1032);
    }

    #[test]
    fn stream_edges() {
        // Thinking deltas, an early end, and bad data.
        let mut s = CohereToOpenAiStream::new("m", true);
        let mut out = Vec::new();
        s.feed(b"event: content-delta\ndata: {\"type\":\"content-delta\",\"delta\":{\"message\":{\"content\":{\"thinking\":\"so\"}}}}\n\n", &mut out).unwrap();
        // The `event:` name stands in for a missing `type`.
        s.feed(b"event: content-delta\ndata: {\"delta\":{\"message\":{\"content\":{\"text\":\"x\"}}}}\n\n: comment\n\n", &mut out).unwrap();
        let n = out.len();
        assert!(s.feed(b"data: {nope\n\n", &mut out).is_err());
        assert_eq!(out.len(), n);
        assert!(!s.is_done());
        s.finish(&mut out);
        assert!(s.is_done());
        let c = chunks(&out);
        assert_eq!(c[0]["choices"][0]["delta"]["role"], json!("assistant"));
        assert_eq!(
            c[1]["choices"][0]["delta"],
            json!({"reasoning_content": "so"})
        );
        assert_eq!(c[2]["choices"][0]["delta"], json!({"content": "x"}));
        assert_eq!(c[3]["choices"][0]["finish_reason"], json!("stop"));
        assert_eq!(c[4]["usage"]["total_tokens"], json!(0));
        assert_eq!(c[5], json!("[DONE]"));
    }

    // --- embeddings ------------------------------------------------------

    fn embed_req(body: &Value) -> Value {
        let mut out = Vec::new();
        openai_to_cohere_embed_request(body.to_string().as_bytes(), "embed-v4.0", &mut out)
            .unwrap();
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn embed_request_golden() {
        assert_eq!(
            embed_req(&json!({"model": "x", "input": ["hello", "goodbye"]})),
            json!({"model": "embed-v4.0", "texts": ["hello", "goodbye"], "input_type": "search_document", "embedding_types": ["float"]})
        );
        assert_eq!(
            embed_req(
                &json!({"input": "hi", "encoding_format": "base64", "dimensions": 256, "user": "u"})
            ),
            json!({"model": "embed-v4.0", "texts": ["hi"], "input_type": "search_document", "embedding_types": ["base64"], "output_dimension": 256})
        );
        assert_eq!(
            embed_req(
                &json!({"input": "hi", "input_type": "search_query", "embedding_types": ["int8", "float"], "encoding_format": "float", "truncate": "END"})
            ),
            json!({"model": "embed-v4.0", "texts": ["hi"], "input_type": "search_query", "embedding_types": ["int8", "float"], "truncate": "END"})
        );
        let img = "data:image/png;base64,iVBORw0KGgo=";
        assert_eq!(
            embed_req(&json!({"input": [img]})),
            json!({"model": "embed-v4.0", "images": [img], "input_type": "image", "embedding_types": ["float"]})
        );
        assert!(!is_base64_data_url(Str(b"data:text/plain,hello world")));
        assert!(!is_base64_data_url(Str(b"dog")));
        let mut out = Vec::new();
        for (bad, want) in [
            (&b"{}"[..], TranslateError::Missing("input")),
            (
                b"{\"input\":[[1,2]]}",
                TranslateError::Invalid("Input must be a list of strings".into()),
            ),
            (
                b"{\"input\":[]}",
                TranslateError::Invalid("Input must be a list of strings".into()),
            ),
            (
                b"{\"input\":3}",
                TranslateError::Invalid("Input must be a string or a list of strings".into()),
            ),
        ] {
            assert_eq!(
                openai_to_cohere_embed_request(bad, "m", &mut out),
                Err(want)
            );
            assert!(out.is_empty());
        }
    }

    #[test]
    fn embed_response_golden() {
        // Cohere's documented /v2/embed reply, two embedding types.
        let body = br#"{"id":"da6e531f-54c6-4a73-bf92-f60566d8d753","embeddings":{"float":[[0.016296387,0.008354187],[-0.5,1e-3]],"int8":[[1,-2],[3,4]]},"texts":["hello","goodbye"],"meta":{"api_version":{"version":"2"},"billed_units":{"input_tokens":2}},"response_type":"embeddings_by_type"}"#;
        let mut out = Vec::new();
        let u = cohere_to_openai_embed_response(body, "cohere-embed", &mut out).unwrap();
        assert_eq!(u.prompt_tokens, 2);
        let s = std::str::from_utf8(&out).unwrap();
        // Values are copied byte for byte.
        assert!(
            s.contains("[0.016296387,0.008354187]") && s.contains("[-0.5,1e-3]"),
            "{s}"
        );
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            json!({"model": "cohere-embed", "data": [
                {"object": "embedding", "index": 0, "embedding": [0.016296387, 0.008354187]},
                {"object": "embedding", "index": 1, "embedding": [-0.5, 0.001]},
                {"object": "embedding", "index": 0, "embedding": [1, -2]},
                {"object": "embedding", "index": 1, "embedding": [3, 4]}
            ], "object": "list", "usage": {"completion_tokens": 0, "prompt_tokens": 2, "total_tokens": 2,
                "completion_tokens_details": null, "prompt_tokens_details": {"audio_tokens": null,
                "cached_tokens": null, "text_tokens": 2, "image_tokens": null, "video_tokens": null}}})
        );
        // v1's embeddings_floats list, base64 strings, no meta.
        out.clear();
        cohere_to_openai_embed_response(
            br#"{"embeddings":[[1.5]],"response_type":"embeddings_floats"}"#,
            "m",
            &mut out,
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["data"],
            json!([{"object": "embedding", "index": 0, "embedding": [1.5]}])
        );
        assert_eq!(v["usage"]["prompt_tokens_details"], Value::Null);
        out.clear();
        cohere_to_openai_embed_response(
            br#"{"embeddings":{"base64":["AAA="]},"meta":{"billed_units":{"images":3}}}"#,
            "m",
            &mut out,
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["data"][0]["embedding"], json!("AAA="));
        assert_eq!(v["usage"]["prompt_tokens"], json!(3));
        out.clear();
        assert_eq!(
            cohere_to_openai_embed_response(
                br#"{"id":"x","message":"invalid request: texts must not be empty"}"#,
                "m",
                &mut out
            ),
            Err(TranslateError::Invalid(
                "CohereException - invalid request: texts must not be empty".into()
            ))
        );
        assert!(out.is_empty());
    }

    // --- property: nothing the client sent is lost --------------------------

    mod property {
        use super::*;
        use proptest::prelude::*;

        fn text() -> impl Strategy<Value = String> {
            "[a-z \"\\\\\n\t\u{1}é😀/<>]{0,12}"
        }

        #[derive(Clone, Debug)]
        enum Msg {
            System(String),
            User(Vec<(bool, String)>), // (is_image, text or url)
            UserText(String),
            Assistant(Option<String>, Vec<(String, String, String)>),
            Tool(String, String),
        }

        fn msg() -> impl Strategy<Value = Msg> {
            prop_oneof![
                text().prop_map(Msg::System),
                text().prop_map(Msg::UserText),
                prop::collection::vec((any::<bool>(), text()), 1..4).prop_map(Msg::User),
                (
                    prop::option::of(text()),
                    prop::collection::vec((text(), text(), text()), 0..3)
                )
                    .prop_map(|(c, calls)| Msg::Assistant(c, calls)),
                (text(), text()).prop_map(|(id, c)| Msg::Tool(id, c)),
            ]
        }

        fn to_openai(m: &Msg) -> Value {
            match m {
                Msg::System(t) => json!({"role": "system", "content": t}),
                Msg::UserText(t) => json!({"role": "user", "content": t}),
                Msg::User(parts) => {
                    json!({"role": "user", "content": parts.iter().map(|(img, t)| if *img {
                    json!({"type": "image_url", "image_url": {"url": t}})
                } else {
                    json!({"type": "text", "text": t})
                }).collect::<Vec<_>>()})
                }
                Msg::Assistant(c, calls) => {
                    let mut v = json!({"role": "assistant", "content": c});
                    if !calls.is_empty() {
                        v["tool_calls"] = calls.iter().map(|(id, name, args)| json!({
                            "id": id, "type": "function", "function": {"name": name, "arguments": args}
                        })).collect();
                    }
                    v
                }
                Msg::Tool(id, c) => json!({"role": "tool", "tool_call_id": id, "content": c}),
            }
        }

        proptest! {
            #[test]
            fn chat_request_loses_nothing(
                msgs in prop::collection::vec(msg(), 0..6),
                tools in prop::collection::vec((text(), text()), 0..3),
                max_tokens in prop::option::of(1u32..5000),
                stream in any::<bool>(),
            ) {
                let mut body = json!({"model": "x", "messages": msgs.iter().map(to_openai).collect::<Vec<_>>(), "stream": stream});
                if !tools.is_empty() {
                    body["tools"] = tools.iter().map(|(n, d)| json!({"type": "function", "function": {
                        "name": n, "description": d, "parameters": {"type": "object", "properties": {n.clone(): {"type": "string"}}}
                    }})).collect();
                }
                if let Some(m) = max_tokens {
                    body["max_tokens"] = json!(m);
                }
                let (out, info) = req(&body);
                prop_assert_eq!(info.stream, stream);
                prop_assert_eq!(&out["model"], &json!("command-a-03-2025"));
                prop_assert_eq!(out.get("max_tokens").cloned(), max_tokens.map(|m| json!(m)));
                prop_assert_eq!(out.get("stream").is_some(), stream);
                let got = out["messages"].as_array().unwrap();
                prop_assert_eq!(got.len(), msgs.len());
                for (m, g) in msgs.iter().zip(got) {
                    let sent = to_openai(m);
                    prop_assert_eq!(&g["role"], &sent["role"]);
                    match m {
                        Msg::System(_) | Msg::UserText(_) | Msg::User(_) => prop_assert_eq!(&g["content"], &sent["content"]),
                        Msg::Assistant(c, calls) => {
                            let blank = c.as_deref().is_some_and(|c| c.trim().is_empty());
                            if calls.is_empty() || !blank {
                                prop_assert_eq!(g.get("content"), sent.get("content").filter(|c| !c.is_null()));
                            } else {
                                prop_assert!(g.get("content").is_none());
                            }
                            prop_assert_eq!(g.get("tool_calls"), sent.get("tool_calls"));
                        }
                        Msg::Tool(..) => {
                            prop_assert_eq!(&g["tool_call_id"], &sent["tool_call_id"]);
                            prop_assert_eq!(&g["content"], &sent["content"]);
                        }
                    }
                }
                prop_assert_eq!(out.get("tools"), body.get("tools"));
            }

            #[test]
            fn arbitrary_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..64)) {
                let mut out = Vec::new();
                let _ = openai_to_cohere_request(&b, "m", &mut out);
                let _ = cohere_to_openai_response(&b, "m", &mut out);
                let _ = openai_to_cohere_embed_request(&b, "m", &mut out);
                let _ = cohere_to_openai_embed_response(&b, "m", &mut out);
                let mut s = CohereToOpenAiStream::new("m", true);
                let _ = s.feed(&b, &mut out);
            }
        }
    }
}
