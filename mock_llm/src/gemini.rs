//! Google Gemini (AI Studio) and Vertex AI, as the mock serves them.
//!
//! Paths claimed (`POST` only):
//!
//! * AI Studio: `/v1beta/models/{model}:generateContent`,
//!   `:streamGenerateContent` (SSE with `?alt=sse`, else Google's JSON-array
//!   stream as one body), `:batchEmbedContents`, `:embedContent` (also under
//!   `/v1/models/`). With `--gemini-key`, the key must come as
//!   `x-goog-api-key` or `?key=`: none → 403 `PERMISSION_DENIED`, a wrong
//!   one → 400 `INVALID_ARGUMENT` "API key not valid".
//! * Vertex AI: `/v1/projects/{p}/locations/{l}/publishers/google/models/{model}`
//!   `:generateContent`, `:streamGenerateContent`, `:predict` (also
//!   `/v1beta1/`). With `--google-service-account`, `Authorization: Bearer`
//!   must carry a token the `/token` endpoint granted
//!   ([`crate::oauth::token_ok`]), else 401 `UNAUTHENTICATED`.
//!
//! Bodies are checked the way Google checks them, with its messages: an
//! unknown field anywhere it is known (`Invalid JSON payload received.
//! Unknown name "x" ...: Cannot find field.`), `contents` present and
//! non-empty, roles `user`/`model`/`function`, non-empty `parts` each with
//! exactly one data field (text, inline/file data, function call/response,
//! code), function declarations named, `generationConfig` numbers numeric.
//! camelCase and snake_case field names are both accepted, as in Google's
//! JSON mapping.
//!
//! Answers: the shard's deterministic text (`--tokens`, capped by
//! `maxOutputTokens` → `MAX_TOKENS`), one candidate per `candidateCount`,
//! `usageMetadata` (`promptTokenCount` = words of every `text` sent),
//! `modelVersion`, `responseId`. When functions are declared and either
//! `toolConfig.functionCallingConfig.mode` is `ANY` or the last turn is a
//! user text containing "call a tool", the answer is a `functionCall` of the
//! first declared (or first allowed) function with args `{}`. Streams split
//! the text into events framed `data: {...}\r\n\r\n` as Google frames them,
//! usage on every event and `finishReason` on the last. Embeddings are the
//! OpenAI route's deterministic vectors (8 dimensions or
//! `outputDimensionality`). Failure injection is by the model in the path,
//! as on the other routes (`mock-fail-NNN` → Google's error envelope with
//! the matching `status`, `mock-timeout`, `mock-reset`,
//! `mock-slow-first-byte-MS`). This is a test tool: bodies are read with
//! `serde_json::Value`.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::api::{injected, Injected};
use crate::http::{push_json_str, push_response, push_u64, Method, Plan};
use crate::providers::Req;

const JSON: &str = "application/json; charset=UTF-8";
const DEFAULT_DIMS: usize = 8;
const MAX_DIMS: u64 = 4096;
/// Most events a streamed answer is split into (words are grouped above).
const MAX_EVENTS: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Api {
    Studio,
    Vertex,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Generate,
    Stream,
    BatchEmbed,
    Embed,
    Predict,
    /// Anthropic on Vertex: `publishers/anthropic/…:rawPredict`.
    RawPredict,
    StreamRawPredict,
}

/// The API, model and method a path names, if it is a Google one.
fn route(path: &[u8]) -> Option<(Api, &str, Op)> {
    let path = std::str::from_utf8(path).ok()?;
    let (api, rest) = if let Some(r) = path
        .strip_prefix("/v1beta/models/")
        .or_else(|| path.strip_prefix("/v1/models/"))
    {
        (Api::Studio, r)
    } else {
        let r = path
            .strip_prefix("/v1/projects/")
            .or_else(|| path.strip_prefix("/v1beta1/projects/"))?;
        let mut seg = r.splitn(6, '/');
        let (_project, loc, _l, publishers, google, models_and_rest) = (
            seg.next()?,
            seg.next()?,
            seg.next()?,
            seg.next()?,
            seg.next()?,
            seg.next()?,
        );
        if loc != "locations" || publishers != "publishers" {
            return None;
        }
        let rest = models_and_rest.strip_prefix("models/")?;
        if google == "anthropic" {
            let (model, method) = rest.rsplit_once(':')?;
            let op = match method {
                "rawPredict" => Op::RawPredict,
                "streamRawPredict" => Op::StreamRawPredict,
                _ => return None,
            };
            return (!model.is_empty() && !model.contains('/')).then_some((Api::Vertex, model, op));
        }
        if google != "google" {
            return None;
        }
        (Api::Vertex, rest)
    };
    let (model, method) = rest.rsplit_once(':')?;
    if model.is_empty() || model.contains('/') {
        return None;
    }
    let op = match (api, method) {
        (_, "generateContent") => Op::Generate,
        (_, "streamGenerateContent") => Op::Stream,
        (Api::Studio, "batchEmbedContents") => Op::BatchEmbed,
        (Api::Studio, "embedContent") => Op::Embed,
        (Api::Vertex, "predict") => Op::Predict,
        _ => return None,
    };
    Some((api, model, op))
}

/// Google's canonical status name for an HTTP status.
fn status_name(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "NOT_IMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        s if s < 500 => "FAILED_PRECONDITION",
        _ => "INTERNAL",
    }
}

/// Google's error envelope, pretty-printed as Google sends it.
fn push_error(out: &mut Vec<u8>, scratch: &mut Vec<u8>, req: &Req<'_, '_>, status: u16, msg: &str) {
    scratch.clear();
    scratch.extend_from_slice(b"{\n  \"error\": {\n    \"code\": ");
    push_u64(scratch, u64::from(status));
    scratch.extend_from_slice(b",\n    \"message\": ");
    push_json_str(scratch, msg);
    scratch.extend_from_slice(b",\n    \"status\": \"");
    scratch.extend_from_slice(status_name(status).as_bytes());
    scratch.extend_from_slice(b"\"\n  }\n}\n");
    push_response(out, status, JSON, req.connection(), scratch);
}

fn now<'a>(req: &Req<'a, '_>) -> Plan<'a> {
    Plan::Reply {
        delay: Duration::ZERO,
        close: req.head.close,
    }
}

/// The message of an injected failure.
fn failure_message(status: u16, model: &str, op: Op) -> String {
    match status {
        400 => "Request contains an invalid argument.".into(),
        401 => UNAUTHENTICATED.into(),
        403 => "Permission denied on resource (or it may not exist).".into(),
        404 => format!(
            "models/{model} is not found for API version v1beta, or is not supported for {}. \
             Call ListModels to see the list of available models and their supported methods.",
            match op {
                Op::Generate | Op::Stream => "generateContent",
                _ => "embedContent",
            }
        ),
        429 => "Resource has been exhausted (e.g. check quota).".into(),
        500 => "An internal error has occurred. Please retry or report in \
                https://developers.generativeai.google/guide/troubleshooting"
            .into(),
        503 => "The model is overloaded. Please try again later.".into(),
        s => format!("Request failed with status {s} (injected by mock_llm)."),
    }
}

const UNAUTHENTICATED: &str = "Request had invalid authentication credentials. Expected OAuth 2 \
    access token, login cookie or other valid authentication credential. See \
    https://developers.google.com/identity/sign-in/web/devconsole-project.";

/// Checks the caller's credentials; the error to answer when they fail.
fn auth_error(req: &Req<'_, '_>, api: Api) -> Option<(u16, &'static str)> {
    let cfg = &req.shard.cfg;
    match api {
        Api::Studio => {
            let key = cfg.gemini_key.as_deref()?;
            let given = req
                .header("x-goog-api-key")
                .or_else(|| req.query_param("key"));
            match given {
                Some(g) if g == key.as_bytes() => None,
                Some(_) => Some((400, "API key not valid. Please pass a valid API key.")),
                None => Some((
                    403,
                    "Method doesn't allow unregistered callers (callers without established \
                     identity). Please use API Key or other form of API consumer identity to \
                     call this API.",
                )),
            }
        }
        Api::Vertex => {
            cfg.google_service_account.as_ref()?;
            let token = req.header("authorization").and_then(|v| {
                let scheme = v.get(..7)?;
                scheme
                    .eq_ignore_ascii_case(b"bearer ")
                    .then(|| v[7..].trim_ascii())
            });
            match token {
                Some(t) if crate::oauth::token_ok(req.shard, t) => None,
                _ => Some((401, UNAUTHENTICATED)),
            }
        }
    }
}

/// Answers a Google path, or `None` when the path is not one.
pub(crate) fn handle<'a>(
    req: &Req<'a, '_>,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> Option<Plan<'a>> {
    let (api, model, op) = route(req.path)?;
    if req.head.method != Method::Post {
        let msg = format!(
            "The requested URL {} was not found on this server (only POST is served).",
            String::from_utf8_lossy(req.path)
        );
        push_error(out, scratch, req, 404, &msg);
        return Some(now(req));
    }
    if let Some((status, msg)) = auth_error(req, api) {
        push_error(out, scratch, req, status, msg);
        return Some(now(req));
    }
    if matches!(op, Op::RawPredict | Op::StreamRawPredict) {
        return Some(crate::api::vertex_anthropic(
            req.shard,
            req.head,
            req.body,
            model,
            op == Op::StreamRawPredict,
            out,
            scratch,
        ));
    }
    let body: Value = match serde_json::from_slice(req.body) {
        Ok(v) => v,
        Err(e) => {
            let msg = format!("Invalid JSON payload received. {e}");
            push_error(out, scratch, req, 400, &msg);
            return Some(now(req));
        }
    };
    let checked = match op {
        Op::Generate | Op::Stream => check_generate(&body, api),
        Op::BatchEmbed => check_batch_embed(&body),
        Op::Embed => check_embed_content(&body, "EmbedContentRequest"),
        Op::Predict => check_predict(&body),
        Op::RawPredict | Op::StreamRawPredict => Ok(()),
    };
    if let Err(msg) = checked {
        push_error(out, scratch, req, 400, &msg);
        return Some(now(req));
    }
    let delay = match injected(&req.shard.cfg, model) {
        Injected::Answer(d) => d,
        Injected::Fail(status, d) => {
            push_error(
                out,
                scratch,
                req,
                status,
                &failure_message(status, model, op),
            );
            return Some(Plan::Reply {
                delay: d,
                close: req.head.close,
            });
        }
        Injected::NoAnswer(plan) => return Some(plan),
    };
    scratch.clear();
    let plan = match op {
        Op::Generate => {
            let events = answer_events(req, &body, model, false);
            scratch.extend_from_slice(events.last().map_or(&b"{}"[..], Vec::as_slice));
            req.reply(out, 200, JSON, scratch)
        }
        Op::Stream if req.query_param("alt") == Some(b"sse") => {
            let events = answer_events(req, &body, model, true);
            let frames = sse_frames(events);
            req.stream(out, "text/event-stream", frames)
        }
        Op::Stream => {
            // Without `alt=sse` Google streams one JSON array.
            let events = answer_events(req, &body, model, true);
            scratch.push(b'[');
            for (i, e) in events.iter().enumerate() {
                if i > 0 {
                    scratch.extend_from_slice(b",\r\n");
                }
                scratch.extend_from_slice(e);
            }
            scratch.push(b']');
            req.reply(out, 200, JSON, scratch)
        }
        Op::BatchEmbed | Op::Embed | Op::Predict => {
            push_embeddings(scratch, &body, op);
            req.reply(out, 200, JSON, scratch)
        }
        // Answered by `api::vertex_anthropic` above.
        Op::RawPredict | Op::StreamRawPredict => return None,
    };
    Some(with_delay(plan, delay))
}

/// The plan with the injected delay (`--latency-ms`, jitter, slow first
/// byte) in place of the default one.
fn with_delay(plan: Plan<'_>, d: Duration) -> Plan<'_> {
    match plan {
        Plan::Reply { close, .. } => Plan::Reply { delay: d, close },
        Plan::Stream {
            close,
            chunked,
            events,
            cut_after,
            ..
        } => Plan::Stream {
            delay: d,
            close,
            chunked,
            events,
            cut_after,
        },
        other => other,
    }
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

/// `snake_case` → `camelCase` (Google's JSON accepts both spellings).
fn camel(key: &str) -> String {
    let mut s = String::with_capacity(key.len());
    let mut up = false;
    for c in key.chars() {
        if c == '_' {
            up = true;
        } else if up {
            s.extend(c.to_uppercase());
            up = false;
        } else {
            s.push(c);
        }
    }
    s
}

/// A field by its camelCase name, in either spelling.
fn field<'v>(o: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    o.iter().find(|(k, _)| camel(k) == name).map(|(_, v)| v)
}

type Check = Result<(), String>;

fn unknown(name: &str, at: &str) -> String {
    format!("Invalid JSON payload received. Unknown name \"{name}\" at '{at}': Cannot find field.")
}

/// `v` must be an object whose keys are all in `known` (camelCase).
fn object<'v>(v: &'v Value, at: &str, known: &[&str]) -> Result<&'v Map<String, Value>, String> {
    let Some(o) = v.as_object() else {
        return Err(format!(
            "Invalid value at '{at}', expected an object (Starting an object on a scalar field)."
        ));
    };
    if let Some(k) = o.keys().find(|k| !known.contains(&camel(k).as_str())) {
        return Err(unknown(k, at));
    }
    Ok(o)
}

const PART_DATA: [&str; 7] = [
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
];
const PART_META: [&str; 5] = [
    "thought",
    "thoughtSignature",
    "videoMetadata",
    "mediaResolution",
    "partMetadata",
];

fn check_part(p: &Value, at: &str) -> Check {
    let known: Vec<&str> = PART_DATA.iter().chain(&PART_META).copied().collect();
    let o = object(p, at, &known)?;
    let data: Vec<&str> = PART_DATA
        .iter()
        .copied()
        .filter(|k| field(o, k).is_some())
        .collect();
    match data[..] {
        [] => {
            return Err(format!(
                "* GenerateContentRequest.{at}.data: required oneof field 'data' must have one \
                 initialized field"
            ))
        }
        [_] => {}
        [_, second, ..] => {
            return Err(format!(
                "Invalid JSON payload received. Oneof field 'data' is already set. Cannot set \
                 '{second}'"
            ))
        }
    }
    let v = field(o, data[0]).unwrap_or(&Value::Null);
    let sub = format!("{at}.{}", data[0]);
    match data[0] {
        "text" if !v.is_string() => Err(format!("Invalid value at '{sub}' (TYPE_STRING), {v}")),
        "inlineData" => {
            let b = object(v, &sub, &["mimeType", "data", "displayName"])?;
            match (field(b, "mimeType"), field(b, "data")) {
                (Some(Value::String(_)), Some(Value::String(_))) => Ok(()),
                _ => Err(format!(
                    "* GenerateContentRequest.{sub}: inline_data needs mime_type and data"
                )),
            }
        }
        "fileData" => {
            let f = object(v, &sub, &["mimeType", "fileUri", "displayName"])?;
            match field(f, "fileUri") {
                Some(Value::String(u)) if !u.is_empty() => Ok(()),
                _ => Err(format!(
                    "* GenerateContentRequest.{sub}.file_uri: file_uri must not be empty"
                )),
            }
        }
        "functionCall" => {
            let f = object(v, &sub, &["name", "args", "id"])?;
            if !matches!(field(f, "name"), Some(Value::String(n)) if !n.is_empty()) {
                return Err(format!(
                    "* GenerateContentRequest.{sub}.name: Name cannot be empty."
                ));
            }
            match field(f, "args") {
                None | Some(Value::Object(_)) => Ok(()),
                Some(a) => Err(format!(
                    "Invalid value at '{sub}.args' (type.googleapis.com/google.protobuf.Struct), {a}"
                )),
            }
        }
        "functionResponse" => {
            let f = object(
                v,
                &sub,
                &[
                    "name",
                    "response",
                    "id",
                    "parts",
                    "willContinue",
                    "scheduling",
                ],
            )?;
            if !matches!(field(f, "name"), Some(Value::String(n)) if !n.is_empty()) {
                return Err(format!(
                    "* GenerateContentRequest.{sub}.name: Name cannot be empty."
                ));
            }
            match field(f, "response") {
                Some(Value::Object(_)) => Ok(()),
                Some(r) => Err(format!(
                    "Invalid value at '{sub}.response' (type.googleapis.com/google.protobuf.Struct), {r}"
                )),
                None => Err(format!(
                    "* GenerateContentRequest.{sub}.response: response is required"
                )),
            }
        }
        _ => Ok(()),
    }
}

fn check_parts(parts: Option<&Value>, at: &str) -> Check {
    let Some(parts) = parts.and_then(Value::as_array).filter(|p| !p.is_empty()) else {
        return Err(format!(
            "* GenerateContentRequest.{at}.parts: contents.parts must not be empty."
        ));
    };
    for (i, p) in parts.iter().enumerate() {
        check_part(p, &format!("{at}.parts[{i}]"))?;
    }
    Ok(())
}

const GENERATE_KEYS: [&str; 11] = [
    "contents",
    "systemInstruction",
    "tools",
    "toolConfig",
    "safetySettings",
    "generationConfig",
    "cachedContent",
    "labels",
    "model",
    "serviceTier",
    "store",
];

const GEN_CONFIG_KEYS: [&str; 24] = [
    "temperature",
    "topP",
    "topK",
    "candidateCount",
    "maxOutputTokens",
    "stopSequences",
    "presencePenalty",
    "frequencyPenalty",
    "seed",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "responseLogprobs",
    "logprobs",
    "thinkingConfig",
    "responseModalities",
    "mediaResolution",
    "speechConfig",
    "audioTimestamp",
    "enableEnhancedCivicAnswers",
    "routingConfig",
    "responseFormat",
    "imageConfig",
    "enableAffectiveDialog",
];
const GEN_CONFIG_NUMBERS: [&str; 9] = [
    "temperature",
    "topP",
    "topK",
    "candidateCount",
    "maxOutputTokens",
    "presencePenalty",
    "frequencyPenalty",
    "seed",
    "logprobs",
];

const TOOL_KEYS: [&str; 9] = [
    "functionDeclarations",
    "googleSearch",
    "googleSearchRetrieval",
    "enterpriseWebSearch",
    "codeExecution",
    "urlContext",
    "googleMaps",
    "computerUse",
    "retrieval",
];

/// A `generateContent` body, as Google validates it.
fn check_generate(body: &Value, api: Api) -> Check {
    let o = object(body, "", &GENERATE_KEYS)?;
    if api == Api::Studio {
        if let Some(k) = o.keys().find(|k| camel(k) == "labels") {
            return Err(unknown(k, ""));
        }
    }
    let contents = match field(o, "contents") {
        Some(Value::Array(c)) if !c.is_empty() => c,
        Some(Value::Array(_)) | None => {
            return Err("* GenerateContentRequest.contents: contents is not specified".into())
        }
        Some(v) => return Err(format!("Invalid value at 'contents' (type.googleapis.com/google.ai.generativelanguage.v1beta.Content), {v}")),
    };
    for (i, c) in contents.iter().enumerate() {
        let at = format!("contents[{i}]");
        let co = object(c, &at, &["role", "parts"])?;
        match field(co, "role") {
            None => {}
            Some(Value::String(r)) if matches!(r.as_str(), "user" | "model" | "function") => {}
            Some(r) => {
                return Err(format!(
                    "Please use a valid role: user, model. Got {r} at '{at}.role'."
                ))
            }
        }
        check_parts(field(co, "parts"), &at)?;
    }
    if let Some(si) = field(o, "systemInstruction") {
        let so = object(si, "system_instruction", &["role", "parts"])?;
        check_parts(field(so, "parts"), "system_instruction")?;
    }
    if let Some(tools) = field(o, "tools") {
        let Some(tools) = tools.as_array() else {
            return Err(format!(
                "Invalid value at 'tools', expected a list, got {tools}"
            ));
        };
        for (i, t) in tools.iter().enumerate() {
            let at = format!("tools[{i}]");
            let to = object(t, &at, &TOOL_KEYS)?;
            for (j, d) in field(to, "functionDeclarations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let dat = format!("{at}.function_declarations[{j}]");
                let dobj = object(
                    d,
                    &dat,
                    &[
                        "name",
                        "description",
                        "parameters",
                        "parametersJsonSchema",
                        "response",
                        "responseJsonSchema",
                        "behavior",
                    ],
                )?;
                let ok_name = |n: &str| {
                    let mut c = n.chars();
                    c.next()
                        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
                        && n.len() <= 64
                        && n.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "_.-:".contains(c))
                };
                match field(dobj, "name") {
                    Some(Value::String(n)) if ok_name(n) => {}
                    _ => {
                        return Err(format!(
                            "* GenerateContentRequest.{dat}.name: Invalid function name. Must \
                             start with a letter or an underscore. Must be alphameric (a-z, A-Z, \
                             0-9), underscores (_), dots (.), colons (:) or dashes (-), with a \
                             maximum length of 64."
                        ))
                    }
                }
                if let Some(p) = field(dobj, "parameters").filter(|p| !p.is_object()) {
                    return Err(format!("Invalid value at '{dat}.parameters', {p}"));
                }
            }
        }
    }
    if let Some(tc) = field(o, "toolConfig") {
        let tco = object(
            tc,
            "tool_config",
            &[
                "functionCallingConfig",
                "retrievalConfig",
                "includeServerSideToolInvocations",
            ],
        )?;
        if let Some(fc) = field(tco, "functionCallingConfig") {
            let fco = object(
                fc,
                "tool_config.function_calling_config",
                &["mode", "allowedFunctionNames"],
            )?;
            match field(fco, "mode") {
                None => {}
                Some(Value::String(m)) if matches!(m.as_str(), "AUTO" | "ANY" | "NONE" | "VALIDATED" | "MODE_UNSPECIFIED") => {}
                Some(m) => {
                    return Err(format!(
                        "Invalid value at 'tool_config.function_calling_config.mode' \
                         (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), {m}"
                    ))
                }
            }
        }
    }
    if let Some(gc) = field(o, "generationConfig") {
        let g = object(gc, "generation_config", &GEN_CONFIG_KEYS)?;
        for (k, v) in g {
            let name = camel(k);
            if GEN_CONFIG_NUMBERS.contains(&name.as_str()) && !v.is_number() {
                return Err(format!(
                    "Invalid value at 'generation_config.{k}' (TYPE_FLOAT), {v}"
                ));
            }
        }
        if let Some(s) = field(g, "stopSequences") {
            let ok = s
                .as_array()
                .is_some_and(|a| a.iter().all(Value::is_string) && a.len() <= 5);
            if !ok {
                return Err(format!(
                    "* GenerateContentRequest.generation_config.stop_sequences: at most 5 strings \
                     are allowed, got {s}"
                ));
            }
        }
        if let Some(n) = field(g, "candidateCount").and_then(Value::as_i64) {
            if !(1..=8).contains(&n) {
                return Err(
                    "* GenerateContentRequest.generation_config.candidate_count: must be \
                            between 1 and 8"
                        .into(),
                );
            }
        }
    }
    Ok(())
}

fn check_embed_content(v: &Value, what: &str) -> Check {
    let o = object(
        v,
        "",
        &[
            "model",
            "content",
            "taskType",
            "title",
            "outputDimensionality",
            "autoTruncate",
        ],
    )?;
    let Some(content) = field(o, "content") else {
        return Err(format!("* {what}.content: content is required"));
    };
    let co = object(content, "content", &["role", "parts"])?;
    check_parts(field(co, "parts"), "content")?;
    if let Some(d) = field(o, "outputDimensionality") {
        if !d.as_u64().is_some_and(|d| (1..=MAX_DIMS).contains(&d)) {
            return Err(format!(
                "* {what}.output_dimensionality: must be between 1 and {MAX_DIMS}, got {d}"
            ));
        }
    }
    Ok(())
}

fn check_batch_embed(v: &Value) -> Check {
    let o = object(v, "", &["requests"])?;
    let Some(reqs) = field(o, "requests")
        .and_then(Value::as_array)
        .filter(|r| !r.is_empty())
    else {
        return Err("* BatchEmbedContentsRequest.requests: requests must not be empty".into());
    };
    for (i, r) in reqs.iter().enumerate() {
        let m = r.get("model").and_then(Value::as_str);
        if !m.is_some_and(|m| m.starts_with("models/")) {
            return Err(format!(
                "* BatchEmbedContentsRequest.requests[{i}].model: unexpected model name format"
            ));
        }
        check_embed_content(r, "BatchEmbedContentsRequest.requests")?;
    }
    Ok(())
}

fn check_predict(v: &Value) -> Check {
    let o = object(v, "", &["instances", "parameters", "labels"])?;
    let Some(inst) = field(o, "instances")
        .and_then(Value::as_array)
        .filter(|i| !i.is_empty())
    else {
        return Err("Invalid request: 'instances' must be a non-empty list.".into());
    };
    for (i, x) in inst.iter().enumerate() {
        let xo = object(
            x,
            &format!("instances[{i}]"),
            &["content", "taskType", "title"],
        )?;
        if !matches!(field(xo, "content"), Some(Value::String(_))) {
            return Err(format!(
                "Invalid request: instances[{i}].content must be a string."
            ));
        }
    }
    if let Some(p) = field(o, "parameters") {
        let po = object(p, "parameters", &["outputDimensionality", "autoTruncate"])?;
        if let Some(d) = field(po, "outputDimensionality") {
            if !d.as_u64().is_some_and(|d| (1..=MAX_DIMS).contains(&d)) {
                return Err(format!(
                    "Invalid request: outputDimensionality must be between 1 and {MAX_DIMS}."
                ));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------

/// Words of every `text` string under `v` (the prompt's token count).
fn words(v: &Value) -> u64 {
    match v {
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) if k == "text" => s.split_whitespace().count() as u64,
                _ => words(v),
            })
            .sum(),
        Value::Array(a) => a.iter().map(words).sum(),
        _ => 0,
    }
}

/// The function the answer should call, if any.
fn tool_to_call(body: &Value) -> Option<String> {
    let decls: Vec<&str> = field(body.as_object()?, "tools")?
        .as_array()?
        .iter()
        .filter_map(|t| t.as_object().and_then(|t| field(t, "functionDeclarations")))
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|d| d.get("name").and_then(Value::as_str))
        .collect();
    let first = *decls.first()?;
    let fc = body
        .as_object()
        .and_then(|o| field(o, "toolConfig"))
        .and_then(Value::as_object)
        .and_then(|t| field(t, "functionCallingConfig"))
        .and_then(Value::as_object);
    let mode = fc.and_then(|f| field(f, "mode")).and_then(Value::as_str);
    let allowed = fc
        .and_then(|f| field(f, "allowedFunctionNames"))
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str);
    if mode == Some("NONE") {
        return None;
    }
    let last = field(body.as_object()?, "contents")?.as_array()?.last()?;
    let last_user_asks = last.get("role").and_then(Value::as_str) != Some("model")
        && last
            .get("parts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .any(|t| t.to_lowercase().contains("call a tool"));
    (mode == Some("ANY") || last_user_asks).then(|| allowed.unwrap_or(first).to_owned())
}

fn gen_config<'v>(body: &'v Value, name: &str) -> Option<&'v Value> {
    let o = body.as_object()?;
    let g = field(o, "generationConfig")?.as_object()?;
    field(g, name)
}

/// The answer as `GenerateContentResponse` JSON objects: one for a plain
/// answer, several (the text split, usage on each, `finishReason` on the
/// last) for a stream. The last one of a stream carries the full usage.
fn answer_events(req: &Req<'_, '_>, body: &Value, model: &str, stream: bool) -> Vec<Vec<u8>> {
    let shard = req.shard;
    let answer = &shard.answer;
    let prompt = words(body);
    let candidates = gen_config(body, "candidateCount")
        .and_then(Value::as_u64)
        .map_or(1, |n| n.clamp(1, 8));
    let max = gen_config(body, "maxOutputTokens").and_then(Value::as_u64);
    let full = answer.tokens();
    let (tokens, truncated) = match max {
        Some(m) if (m as usize) < full => (m as usize, true),
        _ => (full, false),
    };
    let call = tool_to_call(body);
    let out_tokens = if call.is_some() { 1 } else { tokens as u64 } * candidates;
    let mut id = String::new();
    let _ = write!(id, "mock-{}-{}", shard.index, shard.next_id());
    // (text of this event, last?)
    let pieces: Vec<(&str, bool)> = if call.is_some() || !stream || tokens == 0 {
        vec![(answer.prefix(if call.is_some() { 0 } else { tokens }), true)]
    } else {
        let per = tokens.div_ceil(MAX_EVENTS).max(1);
        let n = tokens.div_ceil(per);
        (0..n)
            .map(|k| {
                let (a, b) = (k * per, ((k + 1) * per).min(tokens));
                let text = &answer.prefix(b)[answer.prefix(a).len()..];
                (text, k + 1 == n)
            })
            .collect()
    };
    pieces
        .into_iter()
        .map(|(text, last)| {
            let mut e = Vec::with_capacity(text.len() + 256);
            e.extend_from_slice(b"{\"candidates\": [");
            for c in 0..candidates {
                if c > 0 {
                    e.extend_from_slice(b",");
                }
                e.extend_from_slice(b"{\"content\": {\"parts\": [");
                match &call {
                    Some(name) => {
                        e.extend_from_slice(b"{\"functionCall\": {\"name\": ");
                        push_json_str(&mut e, name);
                        e.extend_from_slice(b",\"args\": {}}}");
                    }
                    None => {
                        e.extend_from_slice(b"{\"text\": ");
                        push_json_str(&mut e, text);
                        e.push(b'}');
                    }
                }
                e.extend_from_slice(b"],\"role\": \"model\"}");
                if last {
                    e.extend_from_slice(if truncated && call.is_none() {
                        b",\"finishReason\": \"MAX_TOKENS\""
                    } else {
                        b",\"finishReason\": \"STOP\""
                    });
                }
                e.extend_from_slice(b",\"index\": ");
                push_u64(&mut e, c);
                e.push(b'}');
            }
            e.extend_from_slice(b"],\"usageMetadata\": {\"promptTokenCount\": ");
            push_u64(&mut e, prompt);
            if last {
                e.extend_from_slice(b",\"candidatesTokenCount\": ");
                push_u64(&mut e, out_tokens);
                e.extend_from_slice(b",\"totalTokenCount\": ");
                push_u64(&mut e, prompt + out_tokens);
            } else {
                e.extend_from_slice(b",\"totalTokenCount\": ");
                push_u64(&mut e, prompt);
            }
            e.extend_from_slice(
                b",\"promptTokensDetails\": [{\"modality\": \"TEXT\",\"tokenCount\": ",
            );
            push_u64(&mut e, prompt);
            e.extend_from_slice(b"}]},\"modelVersion\": ");
            push_json_str(&mut e, model);
            e.extend_from_slice(b",\"responseId\": ");
            push_json_str(&mut e, &id);
            e.push(b'}');
            e
        })
        .collect()
}

/// SSE frames as Google writes them (`data: ...\r\n\r\n`); every frame that
/// carries text counts as a token for `--inter-token-ms`.
fn sse_frames(events: Vec<Vec<u8>>) -> Vec<(Vec<u8>, bool)> {
    events
        .into_iter()
        .map(|e| {
            let mut f = Vec::with_capacity(e.len() + 10);
            f.extend_from_slice(b"data: ");
            f.extend_from_slice(&e);
            f.extend_from_slice(b"\r\n\r\n");
            (f, true)
        })
        .collect()
}

fn push_vector(out: &mut Vec<u8>, i: usize, dims: usize) {
    out.push(b'[');
    for j in 0..dims {
        if j > 0 {
            out.push(b',');
        }
        let mut s = String::new();
        let _ = write!(s, "{}", crate::payload::embedding_value(i, j));
        out.extend_from_slice(s.as_bytes());
    }
    out.push(b']');
}

fn dims_of(v: Option<&Value>) -> usize {
    v.and_then(Value::as_u64)
        .map_or(DEFAULT_DIMS, |d| d.clamp(1, MAX_DIMS) as usize)
}

/// Deterministic embeddings in the shape of `op`'s answer.
fn push_embeddings(out: &mut Vec<u8>, body: &Value, op: Op) {
    let o = body.as_object();
    let get = |v: &Value, k: &str| v.as_object().and_then(|o| field(o, k)).cloned();
    match op {
        Op::BatchEmbed => {
            out.extend_from_slice(b"{\n  \"embeddings\": [");
            let reqs = o
                .and_then(|o| field(o, "requests"))
                .and_then(Value::as_array);
            for (i, r) in reqs.into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"values\": ");
                push_vector(out, i, dims_of(get(r, "outputDimensionality").as_ref()));
                out.push(b'}');
            }
            out.extend_from_slice(b"]\n}\n");
        }
        Op::Embed => {
            out.extend_from_slice(b"{\n  \"embedding\": {\"values\": ");
            push_vector(out, 0, dims_of(get(body, "outputDimensionality").as_ref()));
            out.extend_from_slice(b"}\n}\n");
        }
        _ => {
            let dims = dims_of(
                o.and_then(|o| field(o, "parameters"))
                    .and_then(|p| get(p, "outputDimensionality"))
                    .as_ref(),
            );
            let inst = o
                .and_then(|o| field(o, "instances"))
                .and_then(Value::as_array);
            let mut chars = 0u64;
            out.extend_from_slice(b"{\"predictions\": [");
            for (i, x) in inst.into_iter().flatten().enumerate() {
                let text = x.get("content").and_then(Value::as_str).unwrap_or("");
                chars += text.chars().filter(|c| !c.is_whitespace()).count() as u64;
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(
                    b"{\"embeddings\": {\"statistics\": {\"truncated\": false,\"token_count\": ",
                );
                push_u64(out, text.split_whitespace().count() as u64);
                out.extend_from_slice(b"},\"values\": ");
                push_vector(out, i, dims);
                out.extend_from_slice(b"}}");
            }
            out.extend_from_slice(b"],\"metadata\": {\"billableCharacterCount\": ");
            push_u64(out, chars);
            out.extend_from_slice(b"}}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{parse_head, HeadResult};
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn routes() {
        assert_eq!(
            route(b"/v1beta/models/gemini-2.0-flash:generateContent"),
            Some((Api::Studio, "gemini-2.0-flash", Op::Generate))
        );
        assert_eq!(
            route(b"/v1beta/models/m:batchEmbedContents"),
            Some((Api::Studio, "m", Op::BatchEmbed))
        );
        assert_eq!(
            route(b"/v1/projects/p/locations/us-central1/publishers/google/models/g:streamGenerateContent"),
            Some((Api::Vertex, "g", Op::Stream))
        );
        assert_eq!(
            route(b"/v1beta1/projects/p/locations/global/publishers/google/models/e:predict"),
            Some((Api::Vertex, "e", Op::Predict))
        );
        assert_eq!(route(b"/v1beta/models/m:predict"), None);
        assert_eq!(
            route(b"/v1/projects/p/locations/l/publishers/google/models/m:embedContent"),
            None
        );
        assert_eq!(
            route(b"/v1/projects/p/locations/l/publishers/anthropic/models/m:rawPredict"),
            Some((Api::Vertex, "m", Op::RawPredict))
        );
        assert_eq!(
            route(b"/v1/projects/p/locations/l/publishers/anthropic/models/m:generateContent"),
            None
        );
        assert_eq!(
            route(b"/v1/projects/p/locations/l/publishers/meta/models/m:rawPredict"),
            None
        );
        assert_eq!(route(b"/v1beta/models/:generateContent"), None);
        assert_eq!(route(b"/v1/chat/completions"), None);
    }

    fn generate_err(v: Value) -> String {
        check_generate(&v, Api::Studio).unwrap_err()
    }

    #[test]
    fn validation() {
        let ok = json!({"contents":[{"role":"user","parts":[{"text":"hi"},
                {"inline_data":{"mime_type":"image/png","data":"AAA"}}]},
              {"role":"model","parts":[{"functionCall":{"name":"f","args":{}},"thoughtSignature":"s"}]},
              {"role":"user","parts":[{"functionResponse":{"name":"f","response":{"content":"x"}}}]}],
            "systemInstruction":{"parts":[{"text":"be brief"}]},
            "tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"object"}}]},{"googleSearch":{}}],
            "toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f"]}},
            "generationConfig":{"temperature":0.5,"max_output_tokens":10,"stopSequences":["x"],
              "thinkingConfig":{"thinkingBudget":0}}});
        assert_eq!(check_generate(&ok, Api::Studio), Ok(()));
        assert!(generate_err(json!({"contents":[]})).contains("contents is not specified"));
        assert!(generate_err(json!({})).contains("contents is not specified"));
        assert_eq!(
            generate_err(
                json!({"contents":[{"role":"user","parts":[{"text":"x"}]}],"model":"m","frobnicate":1})
            ),
            "Invalid JSON payload received. Unknown name \"frobnicate\" at '': Cannot find field."
        );
        assert!(
            generate_err(json!({"contents":[{"role":"assistant","parts":[{"text":"x"}]}]}))
                .contains("valid role")
        );
        assert!(
            generate_err(json!({"contents":[{"role":"user","parts":[]}]}))
                .contains("parts must not be empty")
        );
        assert!(
            generate_err(json!({"contents":[{"role":"user","parts":[{"thought":true}]}]}))
                .contains("required oneof field 'data'")
        );
        assert!(generate_err(json!({"contents":[{"role":"user","parts":[{"text":"a","fileData":{"fileUri":"gs://x"}}]}]}))
            .contains("Oneof field 'data' is already set"));
        assert!(generate_err(json!({"contents":[{"parts":[{"text":"a"}]}],
            "tools":[{"functionDeclarations":[{"description":"no name"}]}]}))
        .contains("Invalid function name"));
        assert!(generate_err(json!({"contents":[{"parts":[{"text":"a"}]}],
            "generationConfig":{"temperature":"hot"}}))
        .contains("generation_config.temperature"));
        assert!(generate_err(json!({"contents":[{"parts":[{"text":"a"}]}],
            "generationConfig":{"max_tokens":5}}))
        .contains("Unknown name \"max_tokens\""));
        assert!(generate_err(
            json!({"contents":[{"parts":[{"functionCall":{"name":"f","args":[1]}}]}]})
        )
        .contains("args"));
        assert!(
            generate_err(json!({"contents":[{"parts":[{"text":"a"}]}],"labels":{}}))
                .contains("labels")
        );
        assert_eq!(
            check_generate(
                &json!({"contents":[{"parts":[{"text":"a"}]}],"labels":{}}),
                Api::Vertex
            ),
            Ok(())
        );
        assert_eq!(
            check_batch_embed(
                &json!({"requests":[{"model":"models/e","content":{"parts":[{"text":"x"}]},"outputDimensionality":4}]})
            ),
            Ok(())
        );
        assert!(check_batch_embed(
            &json!({"requests":[{"model":"e","content":{"parts":[{"text":"x"}]}}]})
        )
        .is_err());
        assert!(check_batch_embed(&json!({"requests":[]})).is_err());
        assert_eq!(
            check_predict(
                &json!({"instances":[{"content":"a","task_type":"CLUSTERING"}],"parameters":{}})
            ),
            Ok(())
        );
        assert!(check_predict(&json!({"instances":[{"text":"a"}]})).is_err());
    }

    fn shard(cfg: crate::Config) -> crate::Shard {
        crate::Shard::new(Arc::new(cfg), 0, 1)
    }

    /// Runs one request through `handle`; returns the status line + body
    /// (or the head plus frames of a stream).
    fn call(shard: &crate::Shard, head_text: &str, body: &str) -> (String, Vec<Vec<u8>>) {
        let raw = format!("{head_text}\r\ncontent-length: {}\r\n\r\n", body.len());
        let HeadResult::Done(head) = parse_head(raw.as_bytes()) else {
            panic!("bad head")
        };
        let target = &raw.as_bytes()[head.path.clone()];
        let q = memchr::memchr(b'?', target);
        let req = Req {
            shard,
            head: &head,
            raw: raw.as_bytes(),
            path: &target[..q.unwrap_or(target.len())],
            query: q.map_or(&b""[..], |q| &target[q + 1..]),
            body: body.as_bytes(),
        };
        let (mut out, mut scratch) = (Vec::new(), Vec::new());
        let plan = handle(&req, &mut out, &mut scratch).expect("claimed");
        let mut frames = Vec::new();
        if let Plan::Stream { mut events, .. } = plan {
            let mut buf = Vec::new();
            loop {
                buf.clear();
                if events.next(&shard.answer, &mut buf).is_none() {
                    break;
                }
                frames.push(buf.clone());
            }
        }
        (String::from_utf8(out).unwrap(), frames)
    }

    fn body_of(resp: &str) -> Value {
        serde_json::from_str(&resp[resp.find("\r\n\r\n").unwrap() + 4..]).unwrap()
    }

    #[test]
    fn answers_auth_and_failures() {
        let s = shard(crate::Config {
            tokens: 4,
            gemini_key: Some("gk".into()),
            ..crate::Config::default()
        });
        let body = r#"{"contents":[{"role":"user","parts":[{"text":"one two three"}]}],"generationConfig":{"maxOutputTokens":3}}"#;
        let (r, _) = call(
            &s,
            "POST /v1beta/models/gemini-x:generateContent HTTP/1.1\r\nx-goog-api-key: gk",
            body,
        );
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
        let v = body_of(&r);
        assert_eq!(
            v["candidates"][0]["content"]["parts"][0]["text"],
            "tok0 tok1 tok2"
        );
        assert_eq!(v["candidates"][0]["finishReason"], "MAX_TOKENS");
        assert_eq!(v["usageMetadata"]["promptTokenCount"], 3);
        assert_eq!(v["usageMetadata"]["candidatesTokenCount"], 3);
        assert_eq!(v["usageMetadata"]["totalTokenCount"], 6);
        assert_eq!(v["modelVersion"], "gemini-x");

        let (r, _) = call(
            &s,
            "POST /v1beta/models/gemini-x:generateContent?key=bad HTTP/1.1",
            body,
        );
        assert!(r.starts_with("HTTP/1.1 400"));
        assert_eq!(
            body_of(&r)["error"]["message"],
            "API key not valid. Please pass a valid API key."
        );
        let (r, _) = call(
            &s,
            "POST /v1beta/models/gemini-x:generateContent HTTP/1.1",
            body,
        );
        assert_eq!(body_of(&r)["error"]["status"], "PERMISSION_DENIED");

        let (r, _) = call(
            &s,
            "POST /v1beta/models/mock-fail-429:generateContent?key=gk HTTP/1.1",
            body,
        );
        assert!(r.starts_with("HTTP/1.1 429"));
        assert_eq!(
            body_of(&r)["error"],
            json!({"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"})
        );
        let (r, _) = call(
            &s,
            "POST /v1beta/models/mock-fail-503:generateContent?key=gk HTTP/1.1",
            body,
        );
        assert_eq!(body_of(&r)["error"]["status"], "UNAVAILABLE");

        let (r, _) = call(
            &s,
            "POST /v1beta/models/m:generateContent?key=gk HTTP/1.1",
            "{nope",
        );
        assert!(r.starts_with("HTTP/1.1 400"));
        assert!(body_of(&r)["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid JSON payload received."));

        // A tool call when asked for one.
        let tools = r#"{"contents":[{"role":"user","parts":[{"text":"please call a tool"}]}],
            "tools":[{"functionDeclarations":[{"name":"lookup"}]}]}"#;
        let (r, _) = call(
            &s,
            "POST /v1beta/models/m:generateContent?key=gk HTTP/1.1",
            tools,
        );
        assert_eq!(
            body_of(&r)["candidates"][0]["content"]["parts"][0],
            json!({"functionCall":{"name":"lookup","args":{}}})
        );

        // Embeddings.
        let (r, _) = call(
            &s,
            "POST /v1beta/models/e:batchEmbedContents?key=gk HTTP/1.1",
            r#"{"requests":[{"model":"models/e","content":{"parts":[{"text":"a"}]},"outputDimensionality":3},
                            {"model":"models/e","content":{"parts":[{"text":"b"}]}}]}"#,
        );
        let v = body_of(&r);
        assert_eq!(v["embeddings"][0]["values"].as_array().unwrap().len(), 3);
        assert_eq!(v["embeddings"][1]["values"].as_array().unwrap().len(), 8);
        let (r, _) = call(
            &s,
            "POST /v1beta/models/e:embedContent?key=gk HTTP/1.1",
            r#"{"content":{"parts":[{"text":"a"}]}}"#,
        );
        assert_eq!(
            body_of(&r)["embedding"]["values"].as_array().unwrap().len(),
            8
        );
    }

    #[test]
    fn vertex_auth_and_predict() {
        let path = "POST /v1/projects/p/locations/us-central1/publishers/google/models/text-embedding-005:predict HTTP/1.1";
        let body = r#"{"instances":[{"content":"a b"},{"content":"c"}],"parameters":{"outputDimensionality":2}}"#;
        // With a service account, a request without a bearer token is refused
        // (granting one is the `oauth` module's business).
        let s = shard(crate::Config {
            google_service_account: Some("sa.json".into()),
            ..crate::Config::default()
        });
        for head in [
            path.to_string(),
            format!("{path}\r\nauthorization: Basic eA=="),
        ] {
            let (r, _) = call(&s, &head, body);
            assert!(r.starts_with("HTTP/1.1 401"), "{r}");
            assert_eq!(body_of(&r)["error"]["status"], "UNAUTHENTICATED");
        }
        let s = shard(crate::Config::default());
        let (r, _) = call(&s, path, body);
        let v = body_of(&r);
        assert_eq!(
            v["predictions"][0]["embeddings"]["statistics"]["token_count"],
            2
        );
        assert_eq!(
            v["predictions"][1]["embeddings"]["values"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(v["metadata"]["billableCharacterCount"], 3);
        let (r, _) = call(&s, path, r#"{"instances":[{"content":"a"}],"extra":1}"#);
        assert!(r.starts_with("HTTP/1.1 400"));
    }

    #[test]
    fn sse_framing() {
        let s = shard(crate::Config {
            tokens: 5,
            ..crate::Config::default()
        });
        let body = r#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#;
        let (head, frames) = call(
            &s,
            "POST /v1/projects/p/locations/l/publishers/google/models/g:streamGenerateContent?alt=sse HTTP/1.1",
            body,
        );
        assert!(
            head.starts_with("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream"),
            "{head}"
        );
        assert_eq!(frames.len(), 5);
        let mut text = String::new();
        for (i, f) in frames.iter().enumerate() {
            let f = std::str::from_utf8(f).unwrap();
            let data = f
                .strip_prefix("data: ")
                .unwrap()
                .strip_suffix("\r\n\r\n")
                .unwrap();
            assert!(!data.contains('\n'), "one line per event");
            let v: Value = serde_json::from_str(data).unwrap();
            text += v["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .unwrap();
            let last = i + 1 == frames.len();
            assert_eq!(v["candidates"][0].get("finishReason").is_some(), last);
            assert_eq!(v["usageMetadata"]["promptTokenCount"], 1);
            assert_eq!(
                v["usageMetadata"].get("candidatesTokenCount").is_some(),
                last
            );
            if last {
                assert_eq!(v["candidates"][0]["finishReason"], "STOP");
                assert_eq!(v["usageMetadata"]["totalTokenCount"], 6);
            }
        }
        assert_eq!(text, "tok0 tok1 tok2 tok3 tok4");
        // Without alt=sse: one JSON array with the same events.
        let (r, frames) = call(
            &s,
            "POST /v1beta/models/g:streamGenerateContent HTTP/1.1",
            body,
        );
        assert!(frames.is_empty());
        assert_eq!(body_of(&r).as_array().unwrap().len(), 5);
    }
}
