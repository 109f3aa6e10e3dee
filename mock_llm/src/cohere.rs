//! Cohere: `POST /v2/chat` (plain and streamed), `POST /v2/embed` and the
//! older `POST /v1/embed`, in Cohere's shapes (https://docs.cohere.com/reference/chat,
//! https://docs.cohere.com/reference/embed).
//!
//! Order of checks, as on the OpenAI routes: auth (`--cohere-key`: 401
//! `invalid api token` unless `Authorization: Bearer KEY`), body JSON (400),
//! `model` (400), failure injection by model name or rate, then the schema
//! (400, at once), then the answer (after the injected delay). Every error
//! body is Cohere's `{"id":…,"message":…}`.
//!
//! What is validated, as Cohere does: unknown top-level fields are refused;
//! chat needs `model` and a non-empty `messages` whose roles are `system`,
//! `user`, `assistant` or `tool`, user and system content (a string or
//! parts), assistant content or `tool_calls` (each with `id`,
//! `type:"function"`, `function.name`, string `function.arguments`), tool
//! messages with a `tool_call_id` naming an earlier assistant tool call;
//! `tools[]` must be `{"type":"function","function":{"name":…}}`,
//! `tool_choice` `REQUIRED` or `NONE`. Embed needs `texts`, `images` or
//! `inputs`, an `input_type` (except for the v2-generation models, whose
//! names contain `v2.0`), and known `embedding_types`.
//!
//! Answers are deterministic: the shard's `tok0 tok1 …` text, capped by
//! `max_tokens` (then `finish_reason: MAX_TOKENS`). Usage counts the
//! whitespace-separated words of the message texts; `billed_units` and
//! `tokens` carry the same numbers. When tools are declared and either
//! `tool_choice` is `REQUIRED` or the last message is a user message
//! containing `call a tool`, the answer is a `tool_plan` plus one call to
//! the first tool (arguments: its first required or declared property set
//! to `"tok0"`), `finish_reason: TOOL_CALL`. Requiring the phrase in the
//! *last* message lets a tool loop end: after the tool result the model
//! answers in text. Streams are `event: <type>` / `data: {…}` SSE frames,
//! `message-start` … `message-end`; content and tool-plan deltas are the
//! token frames (`--inter-token-ms` precedes them).
//!
//! Bodies are read into `serde_json::Value`: this route validates nested
//! structure the OpenAI fast path never looks at, and is not on the
//! benchmark's hot path.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::api::{injected, Injected};
use crate::http::{push_json_str, push_response, push_u64, Method, Plan};
use crate::providers::Req;

const JSON: &str = "application/json";
/// Cohere's limit on texts per embed call.
const MAX_EMBED_TEXTS: usize = 96;
/// Vector size when `output_dimension` is not given (small, like the OpenAI
/// route's default).
const DEFAULT_EMBED_DIMS: usize = 8;

const CHAT_FIELDS: [&str; 22] = [
    "model",
    "messages",
    "tools",
    "documents",
    "citation_options",
    "response_format",
    "safety_mode",
    "max_tokens",
    "stop_sequences",
    "temperature",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "k",
    "p",
    "logprobs",
    "tool_choice",
    "strict_tools",
    "thinking",
    "priority",
    "stream",
    "raw_prompting",
];
const EMBED_FIELDS: [&str; 9] = [
    "model",
    "texts",
    "images",
    "inputs",
    "input_type",
    "embedding_types",
    "output_dimension",
    "truncate",
    "max_tokens",
];
const INPUT_TYPES: [&str; 5] = [
    "search_document",
    "search_query",
    "classification",
    "clustering",
    "image",
];
const EMBEDDING_TYPES: [&str; 6] = ["float", "int8", "uint8", "binary", "ubinary", "base64"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Chat,
    Embed { v1: bool },
}

/// Claims `POST /v2/chat`, `POST /v2/embed` and `POST /v1/embed`.
pub(crate) fn handle<'a>(
    req: &Req<'a, '_>,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> Option<Plan<'a>> {
    let ep = match req.path {
        b"/v2/chat" => Endpoint::Chat,
        b"/v2/embed" => Endpoint::Embed { v1: false },
        b"/v1/embed" => Endpoint::Embed { v1: true },
        _ => return None,
    };
    if req.head.method != Method::Post {
        return None;
    }
    scratch.clear();
    Some(answer(req, ep, out, scratch))
}

/// A Cohere-style response id (a UUID), unique per shard.
fn response_id(req: &Req<'_, '_>) -> String {
    let shard = req.shard;
    format!(
        "{:08x}-0000-4000-8000-{:012x}",
        shard.index,
        shard.next_id()
    )
}

/// Sends `{"id":…,"message":…}` with `status` after `delay`.
fn error<'a>(
    req: &Req<'a, '_>,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    status: u16,
    message: &str,
    delay: Duration,
) -> Plan<'a> {
    scratch.clear();
    scratch.extend_from_slice(b"{\"id\":");
    push_json_str(scratch, &response_id(req));
    scratch.extend_from_slice(b",\"message\":");
    push_json_str(scratch, message);
    scratch.push(b'}');
    reply(req, out, status, scratch, delay)
}

fn reply<'a>(
    req: &Req<'a, '_>,
    out: &mut Vec<u8>,
    status: u16,
    body: &[u8],
    delay: Duration,
) -> Plan<'a> {
    push_response(out, status, JSON, req.connection(), body);
    Plan::Reply {
        delay,
        close: req.head.close,
    }
}

/// Cohere's message for an injected status, as close to the real one as known.
fn failure_message(status: u16, model: &str, id: &str) -> String {
    match status {
        400 => "invalid request: injected by mock_llm".into(),
        401 => "invalid api token".into(),
        402 => "Please add or update your payment method at \
                https://dashboard.cohere.com/billing?tab=payment to continue"
            .into(),
        404 => format!(
            "model '{model}' not found, make sure the correct model ID was used and that you \
             have access to the model."
        ),
        429 => "You are using a Trial key, which is limited to 10 API calls / minute. You can \
                continue to use the Trial key for free or upgrade to a Production key with \
                higher rate limits at 'https://dashboard.cohere.com/api-keys'. Contact us on \
                'https://discord.gg/XW44jPfYJu' or email us at support@cohere.com with any \
                questions"
            .into(),
        500 => format!("internal server error, this has been reported to our developers. id {id}"),
        503 => "service unavailable, please try again later".into(),
        s if s < 500 => format!("request failed with status {s} (injected by mock_llm)"),
        s => format!("upstream failed with status {s} (injected by mock_llm)"),
    }
}

fn answer<'a>(
    req: &Req<'a, '_>,
    ep: Endpoint,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> Plan<'a> {
    let now = Duration::ZERO;
    if let Some(key) = req.shard.cfg.cohere_key.as_deref() {
        let given = req.header("authorization").and_then(|v| {
            let scheme = v.get(..7)?;
            scheme
                .eq_ignore_ascii_case(b"bearer ")
                .then(|| v[7..].trim_ascii())
        });
        if given != Some(key.as_bytes()) {
            return error(req, out, scratch, 401, "invalid api token", now);
        }
    }
    let body = match serde_json::from_slice::<Value>(req.body) {
        Ok(Value::Object(o)) => o,
        Ok(_) => {
            let msg = "invalid request: the request body must be a JSON object";
            return error(req, out, scratch, 400, msg, now);
        }
        Err(e) => {
            let msg = format!("invalid request: could not parse the request body: {e}");
            return error(req, out, scratch, 400, &msg, now);
        }
    };
    let model = match body.get("model") {
        Some(Value::String(m)) => m.as_str(),
        None | Some(Value::Null) => {
            return error(
                req,
                out,
                scratch,
                400,
                "invalid request: model is required",
                now,
            )
        }
        Some(_) => {
            let msg = "invalid request: model must be a string";
            return error(req, out, scratch, 400, msg, now);
        }
    };
    let delay = match injected(&req.shard.cfg, model) {
        Injected::Answer(d) => d,
        Injected::Fail(status, d) => {
            let msg = failure_message(status, model, &response_id(req));
            return error(req, out, scratch, status, &msg, d);
        }
        Injected::NoAnswer(plan) => return plan,
    };
    let checked = match ep {
        Endpoint::Chat => check_chat(&body).map(Checked::Chat),
        Endpoint::Embed { v1 } => check_embed(&body, model, v1).map(Checked::Embed),
    };
    match checked {
        Err(msg) => error(req, out, scratch, 400, &msg, now),
        Ok(Checked::Chat(chat)) => chat_answer(req, &chat, delay, out, scratch),
        Ok(Checked::Embed(embed)) => {
            push_embed(
                scratch,
                &response_id(req),
                &embed,
                ep == Endpoint::Embed { v1: true },
            );
            reply(req, out, 200, scratch, delay)
        }
    }
}

enum Checked<'b> {
    Chat(Chat<'b>),
    Embed(Embed<'b>),
}

type Checks<T> = Result<T, String>;

fn unknown_fields(body: &Map<String, Value>, known: &[&str]) -> Checks<()> {
    match body.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!("invalid request: unknown field \"{k}\"")),
        None => Ok(()),
    }
}

/// Words of a content value: a string, or the `text` of its parts.
fn content_words(c: &Value) -> u64 {
    match c {
        Value::String(s) => s.split_whitespace().count() as u64,
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .map(|t| t.split_whitespace().count() as u64)
            .sum(),
        _ => 0,
    }
}

/// Content must be a string or a list of typed parts.
fn check_content(c: Option<&Value>, at: &str, required: bool) -> Checks<()> {
    match c {
        None | Some(Value::Null) if !required => Ok(()),
        None | Some(Value::Null) => Err(format!("invalid request: {at}.content is required")),
        Some(Value::String(_)) => Ok(()),
        Some(Value::Array(parts)) => {
            for (j, p) in parts.iter().enumerate() {
                let ty = p.get("type").and_then(Value::as_str);
                let ok = match ty {
                    Some("text") => p.get("text").is_some_and(Value::is_string),
                    Some("image_url") => p
                        .get("image_url")
                        .and_then(|i| i.get("url"))
                        .is_some_and(Value::is_string),
                    Some("document" | "thinking") => true,
                    _ => false,
                };
                if !ok {
                    return Err(format!(
                        "invalid request: {at}.content[{j}] must be a text, image_url or \
                         document content block"
                    ));
                }
            }
            Ok(())
        }
        Some(_) => Err(format!(
            "invalid request: {at}.content must be a string or a list of content blocks"
        )),
    }
}

/// What a valid chat request asks for.
struct Chat<'b> {
    prompt_tokens: u64,
    max_tokens: Option<u64>,
    stream: bool,
    /// The tool to call instead of answering in text.
    tool: Option<&'b Value>,
}

fn check_chat(body: &Map<String, Value>) -> Checks<Chat<'_>> {
    unknown_fields(body, &CHAT_FIELDS)?;
    let msgs = match body.get("messages") {
        Some(Value::Array(m)) if !m.is_empty() => m,
        Some(Value::Array(_)) => {
            return Err("invalid request: messages must contain at least one message".into())
        }
        None | Some(Value::Null) => return Err("invalid request: messages is required".into()),
        Some(_) => return Err("invalid request: messages must be a list".into()),
    };
    let mut call_ids: Vec<&str> = Vec::new();
    let mut prompt_tokens = 0;
    for (i, m) in msgs.iter().enumerate() {
        let at = format!("messages[{i}]");
        let Some(m) = m.as_object() else {
            return Err(format!("invalid request: {at} must be an object"));
        };
        let content = m.get("content");
        match m.get("role").and_then(Value::as_str) {
            Some("system" | "user") => check_content(content, &at, true)?,
            Some("assistant") => {
                check_content(content, &at, false)?;
                let calls = match m.get("tool_calls") {
                    None | Some(Value::Null) => &[][..],
                    Some(Value::Array(c)) => c,
                    Some(_) => {
                        return Err(format!("invalid request: {at}.tool_calls must be a list"))
                    }
                };
                for (j, c) in calls.iter().enumerate() {
                    let id = c.get("id").and_then(Value::as_str);
                    let f = c.get("function");
                    let ok = c.get("type").and_then(Value::as_str) == Some("function")
                        && f.and_then(|f| f.get("name")).is_some_and(Value::is_string)
                        && f.and_then(|f| f.get("arguments"))
                            .is_some_and(Value::is_string);
                    match id {
                        Some(id) if ok => call_ids.push(id),
                        _ => {
                            return Err(format!(
                                "invalid request: {at}.tool_calls[{j}] must have an id, type \
                                 'function' and a function with a name and string arguments"
                            ))
                        }
                    }
                }
                if calls.is_empty() && content.is_none_or(Value::is_null) {
                    return Err(format!(
                        "invalid request: {at}: an assistant message must have content or \
                         tool_calls"
                    ));
                }
            }
            Some("tool") => {
                let Some(id) = m.get("tool_call_id").and_then(Value::as_str) else {
                    return Err(format!("invalid request: {at}.tool_call_id is required"));
                };
                if !call_ids.contains(&id) {
                    return Err(format!(
                        "invalid request: {at}: tool_call_id '{id}' does not match any tool \
                         call in the previous messages"
                    ));
                }
                check_content(content, &at, true)?;
            }
            _ => {
                return Err(format!(
                    "invalid request: {at}.role must be one of 'system', 'user', 'assistant' \
                     or 'tool'"
                ))
            }
        }
        prompt_tokens += content.map_or(0, content_words);
    }
    let tools = match body.get("tools") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(t)) => t,
        Some(_) => return Err("invalid request: tools must be a list".into()),
    };
    for (i, t) in tools.iter().enumerate() {
        if t.get("type").and_then(Value::as_str) != Some("function") {
            return Err(format!(
                "invalid request: tools[{i}].type must be 'function'"
            ));
        }
        let name = t.get("function").and_then(|f| f.get("name"));
        if name.and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(format!(
                "invalid request: tools[{i}].function.name is required"
            ));
        }
    }
    let choice = match body.get("tool_choice") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) if c == "REQUIRED" || c == "NONE" => Some(c.as_str()),
        Some(_) => {
            return Err("invalid request: tool_choice must be one of 'REQUIRED', 'NONE'".into())
        }
    };
    let max_tokens = match body.get("max_tokens") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or("invalid request: max_tokens must be a non-negative integer")?,
        ),
    };
    let stream = match body.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("invalid request: stream must be a boolean".into()),
    };
    if let Some(s) = body.get("stop_sequences").filter(|s| !s.is_null()) {
        if !s.as_array().is_some_and(|a| a.iter().all(Value::is_string)) {
            return Err("invalid request: stop_sequences must be a list of strings".into());
        }
    }
    if let Some(rf) = body.get("response_format").filter(|s| !s.is_null()) {
        let ty = rf.get("type").and_then(Value::as_str);
        if !matches!(ty, Some("text" | "json_object")) {
            return Err(
                "invalid request: response_format.type must be 'text' or 'json_object'".into(),
            );
        }
    }
    let last_asks = msgs.last().is_some_and(|m| {
        m.get("role").and_then(Value::as_str) == Some("user")
            && match m.get("content") {
                Some(Value::String(s)) => s.contains("call a tool"),
                Some(Value::Array(parts)) => parts.iter().any(|p| {
                    p.get("text")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t.contains("call a tool"))
                }),
                _ => false,
            }
    });
    let wants_tool = match choice {
        Some("NONE") => false,
        Some(_) => true,
        None => last_asks,
    };
    Ok(Chat {
        prompt_tokens,
        max_tokens,
        stream,
        tool: tools.first().filter(|_| wants_tool),
    })
}

fn push_usage(out: &mut Vec<u8>, input: u64, output: u64) {
    for (i, key) in [&b"{\"billed_units\":"[..], b",\"tokens\":"]
        .iter()
        .enumerate()
    {
        out.extend_from_slice(key);
        out.extend_from_slice(b"{\"input_tokens\":");
        push_u64(out, input);
        out.extend_from_slice(b",\"output_tokens\":");
        push_u64(out, output);
        out.push(b'}');
        if i == 1 {
            out.push(b'}');
        }
    }
}

/// The tool call the mock makes: `(id, name, arguments, plan)`.
fn tool_call(tool: &Value, seq: &str) -> (String, String, String, String) {
    let f = tool.get("function");
    let name = f
        .and_then(|f| f.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("tool")
        .to_owned();
    let params = f.and_then(|f| f.get("parameters"));
    let arg = params
        .and_then(|p| p.get("required"))
        .and_then(|r| r.get(0))
        .and_then(Value::as_str)
        .or_else(|| {
            params
                .and_then(|p| p.get("properties"))
                .and_then(Value::as_object)
                .and_then(|p| p.keys().next())
                .map(String::as_str)
        });
    let arguments = match arg {
        Some(a) => serde_json::json!({ a: "tok0" }).to_string(),
        None => "{}".to_owned(),
    };
    let plan = format!("I will call {name} to answer this.");
    (format!("{name}_{seq}"), name, arguments, plan)
}

fn chat_answer<'a>(
    req: &Req<'a, '_>,
    chat: &Chat<'_>,
    delay: Duration,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> Plan<'a> {
    let id = response_id(req);
    let answer = &req.shard.answer;
    let full = answer.tokens();
    let n = chat
        .max_tokens
        .map_or(full, |m| full.min(usize::try_from(m).unwrap_or(usize::MAX)));
    let (finish, tokens): (&[u8], usize) = if n < full {
        (b"MAX_TOKENS", n)
    } else {
        (b"COMPLETE", n)
    };
    let call = chat.tool.map(|t| tool_call(t, &id[id.len() - 12..]));
    if chat.stream {
        let frames = stream_frames(req, &id, chat, call.as_ref(), finish, tokens);
        let mut plan = req.stream(out, "text/event-stream", frames);
        if let Plan::Stream { delay: d, .. } = &mut plan {
            *d = delay;
        }
        return plan;
    }
    scratch.clear();
    scratch.extend_from_slice(b"{\"id\":");
    push_json_str(scratch, &id);
    scratch.extend_from_slice(b",\"message\":{\"role\":\"assistant\",");
    let (finish, output) = match &call {
        Some((cid, name, args, plan)) => {
            scratch.extend_from_slice(b"\"tool_plan\":");
            push_json_str(scratch, plan);
            scratch.extend_from_slice(b",\"tool_calls\":[{\"id\":");
            push_json_str(scratch, cid);
            scratch.extend_from_slice(b",\"type\":\"function\",\"function\":{\"name\":");
            push_json_str(scratch, name);
            scratch.extend_from_slice(b",\"arguments\":");
            push_json_str(scratch, args);
            scratch.extend_from_slice(b"}}]");
            (&b"TOOL_CALL"[..], plan.split_whitespace().count())
        }
        None => {
            scratch.extend_from_slice(b"\"content\":[{\"type\":\"text\",\"text\":");
            push_json_str(scratch, answer.prefix(tokens));
            scratch.extend_from_slice(b"}]");
            (finish, tokens)
        }
    };
    scratch.extend_from_slice(b"},\"finish_reason\":\"");
    scratch.extend_from_slice(finish);
    scratch.extend_from_slice(b"\",\"usage\":");
    push_usage(scratch, chat.prompt_tokens, output as u64);
    scratch.push(b'}');
    reply(req, out, 200, scratch, delay)
}

/// One SSE frame: `event: <ty>\ndata: {"type":"<ty>",<rest>}\n\n`.
fn frame(ty: &str, rest: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut f = Vec::with_capacity(128);
    f.extend_from_slice(b"event: ");
    f.extend_from_slice(ty.as_bytes());
    f.extend_from_slice(b"\ndata: {\"type\":\"");
    f.extend_from_slice(ty.as_bytes());
    f.extend_from_slice(b"\",");
    rest(&mut f);
    f.extend_from_slice(b"}\n\n");
    f
}

fn stream_frames(
    req: &Req<'_, '_>,
    id: &str,
    chat: &Chat<'_>,
    call: Option<&(String, String, String, String)>,
    finish: &[u8],
    tokens: usize,
) -> Vec<(Vec<u8>, bool)> {
    let answer = &req.shard.answer;
    let mut frames = Vec::with_capacity(tokens + 6);
    frames.push((
        frame("message-start", |f| {
            f.extend_from_slice(b"\"id\":");
            push_json_str(f, id);
            f.extend_from_slice(
                b",\"delta\":{\"message\":{\"role\":\"assistant\",\"content\":[],\
                  \"tool_plan\":\"\",\"tool_calls\":[],\"citations\":[]}}",
            );
        }),
        false,
    ));
    let (finish, output) = if let Some((cid, name, args, plan)) = call {
        let words: Vec<&str> = plan.split_inclusive(' ').collect();
        for w in &words {
            frames.push((
                frame("tool-plan-delta", |f| {
                    f.extend_from_slice(b"\"delta\":{\"message\":{\"tool_plan\":");
                    push_json_str(f, w);
                    f.extend_from_slice(b"}}");
                }),
                true,
            ));
        }
        frames.push((
            frame("tool-call-start", |f| {
                f.extend_from_slice(b"\"index\":0,\"delta\":{\"message\":{\"tool_calls\":{\"id\":");
                push_json_str(f, cid);
                f.extend_from_slice(b",\"type\":\"function\",\"function\":{\"name\":");
                push_json_str(f, name);
                f.extend_from_slice(b",\"arguments\":\"\"}}}}");
            }),
            false,
        ));
        frames.push((
            frame("tool-call-delta", |f| {
                f.extend_from_slice(
                    b"\"index\":0,\"delta\":{\"message\":{\"tool_calls\":{\"function\":{\"arguments\":",
                );
                push_json_str(f, args);
                f.extend_from_slice(b"}}}}");
            }),
            false,
        ));
        frames.push((
            frame("tool-call-end", |f| f.extend_from_slice(b"\"index\":0")),
            false,
        ));
        (&b"TOOL_CALL"[..], words.len())
    } else {
        frames.push((
            frame("content-start", |f| {
                f.extend_from_slice(
                    b"\"index\":0,\"delta\":{\"message\":{\"content\":{\"type\":\"text\",\"text\":\"\"}}}",
                );
            }),
            false,
        ));
        for i in 0..tokens {
            frames.push((
                frame("content-delta", |f| {
                    f.extend_from_slice(
                        b"\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":",
                    );
                    push_json_str(f, answer.piece(i));
                    f.extend_from_slice(b"}}}");
                }),
                true,
            ));
        }
        frames.push((
            frame("content-end", |f| f.extend_from_slice(b"\"index\":0")),
            false,
        ));
        (finish, tokens)
    };
    frames.push((
        frame("message-end", |f| {
            f.extend_from_slice(b"\"delta\":{\"finish_reason\":\"");
            f.extend_from_slice(finish);
            f.extend_from_slice(b"\",\"usage\":");
            push_usage(f, chat.prompt_tokens, output as u64);
            f.push(b'}');
        }),
        false,
    ));
    frames
}

/// What a valid embed request asks for.
struct Embed<'b> {
    /// `texts` to echo back, when given.
    texts: Option<&'b Value>,
    count: usize,
    text_tokens: u64,
    images: u64,
    dims: usize,
    /// `None`: v1's plain `embeddings_floats` answer.
    types: Option<Vec<&'b str>>,
}

fn check_embed<'b>(body: &'b Map<String, Value>, model: &str, v1: bool) -> Checks<Embed<'b>> {
    unknown_fields(body, &EMBED_FIELDS)?;
    let list = |key: &str| -> Checks<Option<&'b Vec<Value>>> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) if a.is_empty() => {
                Err(format!("invalid request: {key} must not be empty"))
            }
            Some(Value::Array(a)) if a.len() > MAX_EMBED_TEXTS => Err(format!(
                "invalid request: {key} must contain at most {MAX_EMBED_TEXTS} items"
            )),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(_) => Err(format!("invalid request: {key} must be a list")),
        }
    };
    let (texts, images, inputs) = (list("texts")?, list("images")?, list("inputs")?);
    let mut e = Embed {
        texts: body.get("texts").filter(|_| texts.is_some()),
        count: 0,
        text_tokens: 0,
        images: 0,
        dims: DEFAULT_EMBED_DIMS,
        types: None,
    };
    match (texts, images, inputs) {
        (Some(t), None, None) => {
            if !t.iter().all(Value::is_string) {
                return Err("invalid request: texts must be a list of strings".into());
            }
            e.count = t.len();
            e.text_tokens = t.iter().map(content_words).sum();
        }
        (None, Some(i), None) => {
            if !i
                .iter()
                .all(|u| u.as_str().is_some_and(|u| u.starts_with("data:")))
            {
                return Err("invalid request: images must be a list of data URIs".into());
            }
            e.count = i.len();
            e.images = i.len() as u64;
        }
        (None, None, Some(inputs)) => {
            for (i, input) in inputs.iter().enumerate() {
                let Some(Value::Array(parts)) = input.get("content") else {
                    return Err(format!(
                        "invalid request: inputs[{i}].content must be a list"
                    ));
                };
                e.text_tokens += content_words(&Value::Array(parts.clone()));
                e.images += parts
                    .iter()
                    .filter(|p| p.get("type").and_then(Value::as_str) == Some("image_url"))
                    .count() as u64;
            }
            e.count = inputs.len();
        }
        (None, None, None) => {
            return Err("invalid request: one of texts, images or inputs must be provided".into())
        }
        _ => {
            return Err(
                "invalid request: only one of texts, images or inputs may be provided".into(),
            )
        }
    }
    match body.get("input_type").and_then(Value::as_str) {
        Some(t) if INPUT_TYPES.contains(&t) => {}
        Some(t) => {
            return Err(format!(
                "invalid request: input_type '{t}' must be one of {}",
                INPUT_TYPES.join(", ")
            ))
        }
        None if model.contains("v2.0") => {}
        None => {
            return Err(format!(
                "invalid request: input_type is required for {model} (embedding models v3 and \
                 higher)"
            ))
        }
    }
    e.types = match body.get("embedding_types") {
        None | Some(Value::Null) if v1 => None,
        None | Some(Value::Null) => Some(vec!["float"]),
        Some(Value::Array(t)) if !t.is_empty() => {
            let mut types = Vec::with_capacity(t.len());
            for ty in t {
                match ty.as_str() {
                    Some(s) if EMBEDDING_TYPES.contains(&s) => types.push(s),
                    _ => {
                        return Err(format!(
                            "invalid request: embedding_types must only contain {}",
                            EMBEDDING_TYPES.join(", ")
                        ))
                    }
                }
            }
            Some(types)
        }
        Some(_) => return Err("invalid request: embedding_types must be a non-empty list".into()),
    };
    if let Some(d) = body.get("output_dimension").filter(|d| !d.is_null()) {
        match d.as_u64() {
            Some(d @ (256 | 512 | 1024 | 1536)) => e.dims = d as usize,
            _ => {
                return Err(
                    "invalid request: output_dimension must be one of 256, 512, 1024, 1536".into(),
                )
            }
        }
    }
    if let Some(t) = body.get("truncate").filter(|t| !t.is_null()) {
        if !matches!(t.as_str(), Some("NONE" | "START" | "END")) {
            return Err("invalid request: truncate must be one of NONE, START, END".into());
        }
    }
    Ok(e)
}

/// Component `j` of embedding `i` in one of Cohere's types, written to `out`.
fn push_vector(out: &mut Vec<u8>, ty: &str, i: usize, dims: usize) {
    use std::io::Write as _;
    let values = (0..dims).map(|j| crate::payload::embedding_value(i, j));
    if ty == "base64" {
        let raw: Vec<u8> = values.flat_map(f32::to_le_bytes).collect();
        out.push(b'"');
        out.extend_from_slice(
            base64::engine::general_purpose::STANDARD
                .encode(raw)
                .as_bytes(),
        );
        out.push(b'"');
        return;
    }
    out.push(b'[');
    let bits: Vec<bool> = values.clone().map(|v| v > 0.0).collect();
    let mut n = 0;
    let mut sep = |out: &mut Vec<u8>| {
        if n > 0 {
            out.push(b',');
        }
        n += 1;
    };
    match ty {
        "int8" | "uint8" => {
            let offset = if ty == "uint8" { 128 } else { 0 };
            for v in values {
                sep(out);
                let q = ((v * 254.0).round() as i32).clamp(-128, 127) + offset;
                let _ = write!(out, "{q}");
            }
        }
        "binary" | "ubinary" => {
            for byte in bits.chunks(8) {
                let packed = byte
                    .iter()
                    .enumerate()
                    .fold(0u8, |acc, (k, &b)| acc | (u8::from(b) << (7 - k)));
                sep(out);
                // ok to ignore: writing to a Vec cannot fail.
                let _ = if ty == "binary" {
                    write!(out, "{}", i16::from(packed as i8))
                } else {
                    write!(out, "{packed}")
                };
            }
        }
        _ => {
            for v in values {
                sep(out);
                let _ = write!(out, "{v}");
            }
        }
    }
    out.push(b']');
}

fn push_embed(out: &mut Vec<u8>, id: &str, e: &Embed<'_>, v1: bool) {
    out.extend_from_slice(b"{\"id\":");
    push_json_str(out, id);
    out.extend_from_slice(b",\"embeddings\":");
    match &e.types {
        None => {
            out.push(b'[');
            for i in 0..e.count {
                if i > 0 {
                    out.push(b',');
                }
                push_vector(out, "float", i, e.dims);
            }
            out.push(b']');
        }
        Some(types) => {
            out.push(b'{');
            for (k, ty) in types.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                push_json_str(out, ty);
                out.extend_from_slice(b":[");
                for i in 0..e.count {
                    if i > 0 {
                        out.push(b',');
                    }
                    push_vector(out, ty, i, e.dims);
                }
                out.push(b']');
            }
            out.push(b'}');
        }
    }
    if let Some(texts) = e.texts {
        out.extend_from_slice(b",\"texts\":");
        // ok to ignore: writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, texts);
    }
    out.extend_from_slice(b",\"meta\":{\"api_version\":{\"version\":\"");
    out.push(if v1 { b'1' } else { b'2' });
    out.extend_from_slice(b"\"},\"billed_units\":{");
    if e.images > 0 {
        out.extend_from_slice(b"\"images\":");
        push_u64(out, e.images);
        out.push(b',');
    }
    out.extend_from_slice(b"\"input_tokens\":");
    push_u64(out, e.text_tokens);
    out.extend_from_slice(b"}},\"response_type\":");
    out.extend_from_slice(if e.types.is_some() {
        b"\"embeddings_by_type\"}"
    } else {
        b"\"embeddings_floats\"}"
    });
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::http::{parse_head, HeadResult};
    use crate::{Config, Shard};

    /// What the mock answered: status and body, or the stream's frames.
    #[derive(Debug)]
    enum Got {
        Reply(u16, Value),
        Stream(Vec<(String, Value, bool)>),
        NoAnswer,
    }

    fn call_with(cfg: Config, path: &str, auth: Option<&str>, body: &str) -> Got {
        let shard = Shard::new(Arc::new(cfg), 0, 1);
        let auth = auth.map_or(String::new(), |a| format!("authorization: {a}\r\n"));
        let raw = format!(
            "POST {path} HTTP/1.1\r\nhost: x\r\n{auth}content-length: {}\r\n\r\n",
            body.len()
        );
        let HeadResult::Done(head) = parse_head(raw.as_bytes()) else {
            panic!("bad head")
        };
        let req = Req {
            shard: &shard,
            head: &head,
            raw: raw.as_bytes(),
            path: path.as_bytes(),
            query: b"",
            body: body.as_bytes(),
        };
        let (mut out, mut scratch) = (Vec::new(), Vec::new());
        match handle(&req, &mut out, &mut scratch).expect("claimed") {
            Plan::Reply { .. } => {
                let text = String::from_utf8(out).unwrap();
                let status = text[9..12].parse().unwrap();
                assert!(text.contains("content-type: application/json"));
                let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
                Got::Reply(status, serde_json::from_str(body).unwrap())
            }
            Plan::Stream { mut events, .. } => {
                let head = String::from_utf8(out).unwrap();
                assert!(head.contains("content-type: text/event-stream"), "{head}");
                let mut frames = Vec::new();
                let mut buf = Vec::new();
                while let Some(token) = events.next(&shard.answer, &mut buf) {
                    let text = String::from_utf8(std::mem::take(&mut buf)).unwrap();
                    let (ev, data) = text
                        .strip_prefix("event: ")
                        .and_then(|t| t.strip_suffix("\n\n"))
                        .and_then(|t| t.split_once("\ndata: "))
                        .unwrap_or_else(|| panic!("bad frame {text:?}"));
                    let data: Value = serde_json::from_str(data).unwrap();
                    assert_eq!(data["type"], json!(ev));
                    frames.push((ev.to_owned(), data, token));
                }
                Got::Stream(frames)
            }
            _ => Got::NoAnswer,
        }
    }

    fn call(path: &str, body: Value) -> Got {
        let cfg = Config {
            tokens: 4,
            ..Config::default()
        };
        call_with(cfg, path, None, &body.to_string())
    }

    fn reply(got: Got) -> (u16, Value) {
        match got {
            Got::Reply(s, v) => (s, v),
            other => panic!("not a reply: {other:?}"),
        }
    }

    fn rejected(path: &str, body: Value) -> String {
        let (status, v) = reply(call(path, body));
        assert_eq!(status, 400, "{v}");
        assert!(v["id"].is_string());
        v["message"].as_str().unwrap().to_owned()
    }

    fn user(text: &str) -> Value {
        json!({"role": "user", "content": text})
    }

    #[test]
    fn claims_only_its_paths() {
        let shard = Shard::new(Arc::new(Config::default()), 0, 1);
        let raw = b"GET /v2/chat HTTP/1.1\r\n\r\n";
        let HeadResult::Done(head) = parse_head(raw) else {
            panic!()
        };
        for (path, method_ok) in [(&b"/v2/chat"[..], false), (b"/v3/chat", true)] {
            let req = Req {
                shard: &shard,
                head: &head,
                raw,
                path,
                query: b"",
                body: b"{}",
            };
            assert!(
                handle(&req, &mut Vec::new(), &mut Vec::new()).is_none(),
                "{method_ok}"
            );
        }
    }

    #[test]
    fn chat_plain_answer() {
        let (status, v) = reply(call(
            "/v2/chat",
            json!({"model": "command-a-03-2025", "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "hello there world"}]}
            ], "temperature": 0.3}),
        ));
        assert_eq!(status, 200);
        assert_eq!(v["finish_reason"], json!("COMPLETE"));
        assert_eq!(
            v["message"],
            json!({"role": "assistant", "content": [{"type": "text", "text": "tok0 tok1 tok2 tok3"}]})
        );
        assert_eq!(
            v["usage"],
            json!({"billed_units": {"input_tokens": 5, "output_tokens": 4}, "tokens": {"input_tokens": 5, "output_tokens": 4}})
        );
        let (_, v) = reply(call(
            "/v2/chat",
            json!({"model": "m", "messages": [user("x")], "max_tokens": 2}),
        ));
        assert_eq!(v["finish_reason"], json!("MAX_TOKENS"));
        assert_eq!(v["message"]["content"][0]["text"], json!("tok0 tok1"));
        assert_eq!(v["usage"]["tokens"]["output_tokens"], json!(2));
    }

    #[test]
    fn chat_tool_call_and_loop_end() {
        let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {
            "type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}]);
        let (_, v) = reply(call(
            "/v2/chat",
            json!({"model": "m", "messages": [user("please call a tool")], "tools": tools}),
        ));
        assert_eq!(v["finish_reason"], json!("TOOL_CALL"));
        let call0 = &v["message"]["tool_calls"][0];
        assert_eq!(call0["type"], json!("function"));
        assert_eq!(call0["function"]["name"], json!("get_weather"));
        assert_eq!(
            call0["function"]["arguments"],
            json!("{\"location\":\"tok0\"}")
        );
        assert!(v["message"]["tool_plan"].is_string());
        // After the tool result the answer is text again.
        let id = call0["id"].as_str().unwrap();
        let (_, v) = reply(call(
            "/v2/chat",
            json!({"model": "m", "tools": tools, "messages": [
                user("please call a tool"),
                {"role": "assistant", "tool_plan": "p", "tool_calls": [call0]},
                {"role": "tool", "tool_call_id": id, "content": [{"type": "text", "text": "20C"}]}
            ]}),
        ));
        assert_eq!(v["finish_reason"], json!("COMPLETE"));
        // REQUIRED forces a call, NONE forbids one.
        let (_, v) = reply(call(
            "/v2/chat",
            json!({"model": "m", "messages": [user("hi")], "tools": tools, "tool_choice": "REQUIRED"}),
        ));
        assert_eq!(v["finish_reason"], json!("TOOL_CALL"));
        let (_, v) = reply(call(
            "/v2/chat",
            json!({"model": "m", "messages": [user("call a tool")], "tools": tools, "tool_choice": "NONE"}),
        ));
        assert_eq!(v["finish_reason"], json!("COMPLETE"));
    }

    #[test]
    fn chat_validation() {
        let m = |msgs: Value| json!({"model": "m", "messages": msgs});
        let cases = [
            (json!({"messages": [user("x")]}), "model is required"),
            (m(json!([])), "at least one message"),
            (json!({"model": "m"}), "messages is required"),
            (
                json!({"model": "m", "messages": [user("x")], "n": 2}),
                "unknown field \"n\"",
            ),
            (
                m(json!([{"role": "developer", "content": "x"}])),
                "role must be one of",
            ),
            (m(json!([{"role": "user"}])), "content is required"),
            (
                m(json!([{"role": "user", "content": 3}])),
                "must be a string or a list",
            ),
            (
                m(json!([{"role": "user", "content": [{"type": "audio"}]}])),
                "content block",
            ),
            (m(json!([{"role": "assistant"}])), "content or tool_calls"),
            (
                m(json!([{"role": "tool", "content": "x"}])),
                "tool_call_id is required",
            ),
            (
                m(json!([user("x"), {"role": "tool", "tool_call_id": "zz", "content": "x"}])),
                "does not match",
            ),
            (
                m(
                    json!([{"role": "assistant", "tool_calls": [{"id": "1", "type": "function", "function": {"name": "f", "arguments": {}}}]}]),
                ),
                "string arguments",
            ),
            (
                json!({"model": "m", "messages": [user("x")], "tools": [{"type": "function", "function": {}}]}),
                "name is required",
            ),
            (
                json!({"model": "m", "messages": [user("x")], "tools": [{"type": "web"}]}),
                "type must be 'function'",
            ),
            (
                json!({"model": "m", "messages": [user("x")], "tool_choice": "auto"}),
                "tool_choice",
            ),
            (
                json!({"model": "m", "messages": [user("x")], "max_tokens": -1}),
                "max_tokens",
            ),
            (
                json!({"model": "m", "messages": [user("x")], "stream": "yes"}),
                "stream",
            ),
            (
                json!({"model": "m", "messages": [user("x")], "response_format": {"type": "json_schema"}}),
                "response_format",
            ),
        ];
        for (body, want) in cases {
            let msg = rejected("/v2/chat", body.clone());
            assert!(
                msg.starts_with("invalid request: ") && msg.contains(want),
                "{body} -> {msg}"
            );
        }
        let cfg = Config::default();
        for bad in ["{", "[]"] {
            let (status, v) = reply(call_with(cfg.clone(), "/v2/chat", None, bad));
            assert_eq!(status, 400);
            assert!(v["message"]
                .as_str()
                .unwrap()
                .starts_with("invalid request"));
        }
    }

    #[test]
    fn auth_and_injected_failures() {
        let cfg = Config {
            cohere_key: Some("co-key".into()),
            ..Config::default()
        };
        let body = json!({"model": "m", "messages": [user("x")]}).to_string();
        for auth in [None, Some("Bearer nope"), Some("co-key")] {
            let (status, v) = reply(call_with(cfg.clone(), "/v2/chat", auth, &body));
            assert_eq!(
                (status, v["message"].clone()),
                (401, json!("invalid api token"))
            );
        }
        let (status, _) = reply(call_with(
            cfg.clone(),
            "/v2/chat",
            Some("bearer co-key"),
            &body,
        ));
        assert_eq!(status, 200);
        for status in [400, 401, 402, 404, 429, 500, 503, 529] {
            let (got, v) = reply(call(
                "/v2/chat",
                json!({"model": format!("mock-fail-{status}"), "messages": [user("x")]}),
            ));
            assert_eq!(got, status);
            assert!(v["id"].is_string() && v["message"].is_string(), "{v}");
        }
        let (_, v) = reply(call("/v2/embed", json!({"model": "mock-fail-429"})));
        assert!(v["message"].as_str().unwrap().contains("Trial key"));
        assert!(matches!(
            call("/v2/chat", json!({"model": "mock-reset", "messages": []})),
            Got::NoAnswer
        ));
        assert!(matches!(
            call("/v2/chat", json!({"model": "mock-timeout", "messages": []})),
            Got::NoAnswer
        ));
    }

    #[test]
    fn text_stream_framing() {
        let Got::Stream(frames) = call(
            "/v2/chat",
            json!({"model": "m", "messages": [user("a b")], "stream": true, "max_tokens": 3}),
        ) else {
            panic!()
        };
        let names: Vec<&str> = frames.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "message-start",
                "content-start",
                "content-delta",
                "content-delta",
                "content-delta",
                "content-end",
                "message-end"
            ]
        );
        let tokens: Vec<bool> = frames.iter().map(|f| f.2).collect();
        assert_eq!(tokens, [false, false, true, true, true, false, false]);
        assert!(frames[0].1["id"].is_string());
        let text: String = frames[2..5]
            .iter()
            .map(|f| f.1["delta"]["message"]["content"]["text"].as_str().unwrap())
            .collect();
        assert_eq!(text, "tok0 tok1 tok2");
        assert_eq!(
            frames[6].1["delta"],
            json!({"finish_reason": "MAX_TOKENS", "usage": {"billed_units": {"input_tokens": 2, "output_tokens": 3}, "tokens": {"input_tokens": 2, "output_tokens": 3}}})
        );
    }

    #[test]
    fn tool_stream_framing() {
        let Got::Stream(frames) = call(
            "/v2/chat",
            json!({"model": "m", "messages": [user("call a tool")], "stream": true,
                   "tools": [{"type": "function", "function": {"name": "f"}}]}),
        ) else {
            panic!()
        };
        let names: Vec<&str> = frames.iter().map(|f| f.0.as_str()).collect();
        let plan_words = names.iter().filter(|n| **n == "tool-plan-delta").count();
        assert!(plan_words > 1);
        assert_eq!(
            &names[plan_words + 1..],
            [
                "tool-call-start",
                "tool-call-delta",
                "tool-call-end",
                "message-end"
            ]
        );
        let start = &frames[plan_words + 1].1["delta"]["message"]["tool_calls"];
        assert_eq!(start["function"], json!({"name": "f", "arguments": ""}));
        assert_eq!(
            frames[plan_words + 2].1["delta"]["message"]["tool_calls"]["function"]["arguments"],
            json!("{}")
        );
        assert_eq!(
            frames.last().unwrap().1["delta"]["finish_reason"],
            json!("TOOL_CALL")
        );
    }

    #[test]
    fn embed_answers() {
        let (status, v) = reply(call(
            "/v2/embed",
            json!({"model": "embed-v4.0", "texts": ["hello world", "bye"], "input_type": "search_document",
                   "embedding_types": ["float", "int8", "base64", "ubinary"], "output_dimension": 256}),
        ));
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["response_type"], json!("embeddings_by_type"));
        assert_eq!(v["texts"], json!(["hello world", "bye"]));
        assert_eq!(v["meta"]["billed_units"], json!({"input_tokens": 3}));
        let e = &v["embeddings"];
        assert_eq!(e["float"].as_array().unwrap().len(), 2);
        assert_eq!(e["float"][1].as_array().unwrap().len(), 256);
        assert_eq!(e["int8"][0].as_array().unwrap().len(), 256);
        assert_eq!(e["ubinary"][0].as_array().unwrap().len(), 32);
        let b64 = base64::engine::general_purpose::STANDARD
            .decode(e["base64"][0].as_str().unwrap())
            .unwrap();
        assert_eq!(b64.len(), 256 * 4);
        let first = f32::from_le_bytes(b64[..4].try_into().unwrap());
        assert_eq!(first, e["float"][0][0].as_f64().unwrap() as f32);
        // Defaults: float type, 8 dims; v1 without types answers a plain list.
        let (_, v) = reply(call(
            "/v2/embed",
            json!({"model": "embed-v4.0", "texts": ["a"], "input_type": "search_query"}),
        ));
        assert_eq!(v["embeddings"]["float"][0].as_array().unwrap().len(), 8);
        let (_, v) = reply(call(
            "/v1/embed",
            json!({"model": "embed-english-v2.0", "texts": ["a"]}),
        ));
        assert_eq!(v["response_type"], json!("embeddings_floats"));
        assert!(v["embeddings"][0].is_array());
        let (_, v) = reply(call(
            "/v2/embed",
            json!({"model": "embed-v4.0", "images": ["data:image/png;base64,AAAA"], "input_type": "image"}),
        ));
        assert_eq!(v["meta"]["billed_units"]["images"], json!(1));
    }

    #[test]
    fn embed_validation() {
        let e = |extra: Value| {
            let mut b =
                json!({"model": "embed-v4.0", "texts": ["a"], "input_type": "search_query"});
            for (k, v) in extra.as_object().unwrap() {
                b[k] = v.clone();
            }
            b
        };
        let cases = [
            (
                json!({"model": "embed-v4.0", "input_type": "search_query"}),
                "one of texts",
            ),
            (
                json!({"model": "embed-v4.0", "texts": ["a"]}),
                "input_type is required",
            ),
            (e(json!({"input": "x"})), "unknown field \"input\""),
            (e(json!({"texts": []})), "must not be empty"),
            (e(json!({"texts": [1]})), "list of strings"),
            (e(json!({"texts": vec!["a"; 97]})), "at most 96"),
            (e(json!({"images": ["data:x"]})), "only one of"),
            (e(json!({"input_type": "query"})), "input_type 'query'"),
            (e(json!({"embedding_types": ["double"]})), "embedding_types"),
            (e(json!({"output_dimension": 100})), "output_dimension"),
            (e(json!({"truncate": "MIDDLE"})), "truncate"),
        ];
        for (body, want) in cases {
            let msg = rejected("/v2/embed", body.clone());
            assert!(msg.contains(want), "{body} -> {msg}");
        }
    }
}
