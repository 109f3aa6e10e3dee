//! Routes and provider payloads: what each endpoint answers, in the shapes
//! OpenAI and Anthropic use, and the failures the tests can ask for.
//!
//! [`handle`] takes one framed request and leaves its answer in the
//! connection's output buffer (or, for a stream, the response head plus an
//! [`EventStream`] that produces one SSE event at a time); `http` decides
//! when the bytes go out. Order of checks on a model route: auth (401), body
//! JSON (400), model given (400), failure by model name, failure by
//! `--fail-rate`, then the answer. Latency applies from the failure checks
//! on, so auth and parse errors come back at once.
//!
//! The request body is read with the borrowed types in `body` and the
//! answer written by `payload`; this module decides which answer to give and
//! writes the error bodies, in each provider's shape.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::body::{Body, Text};
use crate::http::{push_json_str, push_response, push_u64, Head, Method, Plan, HANG_LIMIT};
use crate::payload::{self, EventStream, Meta, StreamKind};
use crate::{Config, Shard};

const JSON: &str = "application/json";
/// The most inputs one embeddings request may carry (OpenAI's limit).
const MAX_EMBED_INPUTS: usize = 2048;
const MAX_EMBED_DIMS: u64 = 4096;
const DEFAULT_EMBED_DIMS: usize = 8;
/// `created` of the models in `GET /v1/models`.
const MODEL_CREATED: u64 = 1_700_000_000;
const MODEL_IDS: [&str; 5] = [
    "gpt-4o-mini",
    "gpt-4o",
    "text-embedding-3-small",
    "claude-3-5-sonnet-latest",
    "mock-model",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route<'a> {
    Chat,
    Completions,
    Embeddings,
    Models,
    Model(&'a str),
    Messages,
    CountTokens,
    Responses,
    Health,
    Stats,
    ResetStats,
    NotFound,
}

impl<'a> Route<'a> {
    /// The route for `path` (no query string), and the Azure deployment
    /// named in it, if any.
    fn of(path: &'a [u8]) -> (Route<'a>, Option<&'a str>) {
        let route = match path {
            b"/v1/chat/completions" | b"/chat/completions" => Route::Chat,
            b"/v1/completions" | b"/completions" => Route::Completions,
            b"/v1/embeddings" | b"/embeddings" => Route::Embeddings,
            b"/v1/models" | b"/models" => Route::Models,
            b"/v1/messages" => Route::Messages,
            b"/v1/messages/count_tokens" => Route::CountTokens,
            b"/v1/responses" | b"/responses" | b"/openai/responses" => Route::Responses,
            b"/health" | b"/healthz" => Route::Health,
            b"/mock/stats" => Route::Stats,
            b"/mock/reset" => Route::ResetStats,
            _ => {
                if let Some(id) = path.strip_prefix(b"/v1/models/") {
                    if !id.is_empty() {
                        return (Route::Model(std::str::from_utf8(id).unwrap_or("")), None);
                    }
                } else if let Some(rest) = path.strip_prefix(b"/openai/deployments/") {
                    let slash = memchr::memchr(b'/', rest).unwrap_or(rest.len());
                    let (name, tail) = rest.split_at(slash);
                    let route = match tail {
                        b"/chat/completions" => Route::Chat,
                        b"/completions" => Route::Completions,
                        b"/embeddings" => Route::Embeddings,
                        _ => Route::NotFound,
                    };
                    if route != Route::NotFound && !name.is_empty() {
                        return (route, std::str::from_utf8(name).ok());
                    }
                }
                Route::NotFound
            }
        };
        (route, None)
    }

    fn method(self) -> Method {
        match self {
            Route::Models | Route::Model(_) | Route::Health | Route::Stats => Method::Get,
            _ => Method::Post,
        }
    }

    /// Routes whose requests `/mock/stats` keeps a copy of.
    fn is_model_call(self) -> bool {
        matches!(
            self,
            Route::Chat
                | Route::Completions
                | Route::Embeddings
                | Route::Messages
                | Route::CountTokens
                | Route::Responses
        )
    }
}

/// Answers one request: writes the response (or a stream's head) into `out`,
/// using `scratch` for bodies, and says how to send it.
pub(crate) fn handle<'a>(
    shard: &Shard,
    head: &Head,
    raw: &'a [u8],
    body: &'a [u8],
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> Plan<'a> {
    let target = &raw[head.path.clone()];
    let path = match memchr::memchr(b'?', target) {
        Some(q) => &target[..q],
        None => target,
    };
    let (route, deployment) = Route::of(path);
    let conn = head.connection_line();
    let now = reply_now(head);
    if !matches!(route, Route::Stats | Route::ResetStats) {
        let mut stats = shard.stats.borrow_mut();
        stats.count(path);
        if head.method == Method::Post && route.is_model_call() {
            stats.record(raw, body);
        }
    }
    if route != Route::NotFound && head.method != route.method() {
        let method = method_name(raw);
        let msg = format!(
            "Invalid method for URL ({method} {})",
            String::from_utf8_lossy(path)
        );
        openai_error(
            out,
            scratch,
            conn,
            405,
            &msg,
            "invalid_request_error",
            None,
            None,
        );
        return now;
    }
    scratch.clear();
    match route {
        Route::Stats => {
            shard
                .stats
                .borrow()
                .render(shard.index, shard.count, scratch);
            push_response(out, 200, JSON, conn, scratch);
        }
        Route::ResetStats => {
            shard.stats.borrow_mut().reset();
            push_response(out, 200, JSON, conn, b"{\"ok\":true}");
        }
        Route::Health => push_response(out, 200, JSON, conn, b"{\"status\":\"ok\"}"),
        Route::NotFound => {
            let req = crate::providers::Req {
                shard,
                head,
                raw,
                path,
                query: target.get(path.len() + 1..).unwrap_or_default(),
                body,
            };
            if head.method == Method::Post {
                shard.stats.borrow_mut().record(raw, body);
            }
            if let Some(plan) = crate::providers::handle(&req, out, scratch) {
                return plan;
            }
            scratch.clear();
            let method = method_name(raw);
            let msg = format!(
                "Unknown request URL: {method} {}. Please check the URL for typos, or see the \
                 docs at https://platform.openai.com/docs/api-reference/.",
                String::from_utf8_lossy(path)
            );
            openai_error(
                out,
                scratch,
                conn,
                404,
                &msg,
                "invalid_request_error",
                None,
                Some("unknown_url"),
            );
        }
        Route::Models | Route::Model(_) => {
            if !openai_auth(shard, head, raw, out, scratch) {
                return now;
            }
            scratch.clear();
            match route {
                Route::Model(id) => push_model(scratch, id),
                _ => {
                    scratch.extend_from_slice(b"{\"object\":\"list\",\"data\":[");
                    for (i, id) in MODEL_IDS.iter().enumerate() {
                        if i > 0 {
                            scratch.push(b',');
                        }
                        push_model(scratch, id);
                    }
                    scratch.extend_from_slice(b"]}");
                }
            }
            push_response(out, 200, JSON, conn, scratch);
        }
        Route::Chat | Route::Completions | Route::Embeddings | Route::Responses => {
            return openai(shard, head, raw, body, route, deployment, out, scratch);
        }
        Route::Messages => return anthropic(shard, head, raw, body, out, scratch, false),
        Route::CountTokens => return anthropic(shard, head, raw, body, out, scratch, true),
    }
    now
}

/// The request's method as sent (for error messages).
fn method_name(raw: &[u8]) -> Cow<'_, str> {
    let end = memchr::memchr(b' ', raw).unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end])
}

/// Send what is in `out` at once.
fn reply_now<'a>(head: &Head) -> Plan<'a> {
    Plan::Reply {
        delay: Duration::ZERO,
        close: head.close,
    }
}

fn push_model(out: &mut Vec<u8>, id: &str) {
    out.extend_from_slice(b"{\"id\":");
    push_json_str(out, id);
    out.extend_from_slice(b",\"object\":\"model\",\"created\":");
    push_u64(out, MODEL_CREATED);
    out.extend_from_slice(b",\"owned_by\":\"mock_llm\"}");
}

/// What a model name asks the mock to do.
#[derive(Debug, PartialEq)]
enum ModelAction {
    Normal,
    Fail(u16),
    Hang,
    Reset,
    SlowFirstByte(u64),
}

fn model_action(model: &str) -> ModelAction {
    let Some(rest) = model.strip_prefix("mock-") else {
        return ModelAction::Normal;
    };
    if let Some(code) = rest.strip_prefix("fail-") {
        match code.parse::<u16>() {
            Ok(c) if (400..=599).contains(&c) => ModelAction::Fail(c),
            _ => ModelAction::Normal,
        }
    } else if let Some(ms) = rest.strip_prefix("slow-first-byte-") {
        ms.parse()
            .map_or(ModelAction::Normal, ModelAction::SlowFirstByte)
    } else {
        match rest {
            "timeout" => ModelAction::Hang,
            "reset" => ModelAction::Reset,
            _ => ModelAction::Normal,
        }
    }
}

/// `--latency-ms` + random `--jitter-ms` + `extra_ms`; zero when all are.
fn delay_of(cfg: &Config, extra_ms: u64) -> Duration {
    let mut ms = cfg.latency_ms + extra_ms as f64;
    if cfg.jitter_ms > 0.0 {
        ms += cfg.jitter_ms * fastrand::f64();
    }
    if ms > 0.0 {
        Duration::try_from_secs_f64(ms / 1000.0)
            .unwrap_or(HANG_LIMIT)
            .min(HANG_LIMIT)
    } else {
        Duration::ZERO
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A failure that is not an HTTP answer.
enum NoAnswer {
    Hang,
    Reset,
}

impl NoAnswer {
    fn plan<'a>(self) -> Plan<'a> {
        match self {
            NoAnswer::Hang => Plan::Hang,
            NoAnswer::Reset => Plan::Reset,
        }
    }
}

/// The failure a request should get, if any: by model name, then by rate.
fn injected_failure(cfg: &Config, model: &str) -> Result<(Option<u16>, u64), NoAnswer> {
    let (fail, extra_ms) = match model_action(model) {
        ModelAction::Normal => (None, 0),
        ModelAction::Fail(status) => (Some(status), 0),
        ModelAction::SlowFirstByte(ms) => (None, ms),
        ModelAction::Hang => return Err(NoAnswer::Hang),
        ModelAction::Reset => return Err(NoAnswer::Reset),
    };
    if fail.is_none() && cfg.fail_rate > 0.0 && fastrand::f64() < cfg.fail_rate {
        return Ok((Some(cfg.fail_status), extra_ms));
    }
    Ok((fail, extra_ms))
}

/// What a provider module should do for a request naming `model`, by the
/// same failure-injection rules as the OpenAI routes.
pub(crate) enum Injected<'a> {
    /// Answer normally, after this delay.
    Answer(Duration),
    /// Answer this error status (in the provider's error shape), after the
    /// delay.
    Fail(u16, Duration),
    /// Do not answer: hang or reset.
    NoAnswer(Plan<'a>),
}

pub(crate) fn injected<'a>(cfg: &Config, model: &str) -> Injected<'a> {
    match injected_failure(cfg, model) {
        Ok((None, extra)) => Injected::Answer(delay_of(cfg, extra)),
        Ok((Some(status), extra)) => Injected::Fail(status, delay_of(cfg, extra)),
        Err(no) => Injected::NoAnswer(no.plan()),
    }
}

/// The delay before a model response head (`--latency-ms`, `--jitter-ms`).
pub(crate) fn model_delay(cfg: &Config) -> Duration {
    delay_of(cfg, 0)
}

/// Checks `--api-key`; on failure writes the 401 and returns false.
fn openai_auth(
    shard: &Shard,
    head: &Head,
    raw: &[u8],
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> bool {
    let Some(key) = shard.cfg.api_key.as_deref() else {
        return true;
    };
    let bearer = head.authorization.clone().map(|r| {
        let v = &raw[r];
        match v.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case(b"bearer ") => v[7..].trim_ascii(),
            _ => v,
        }
    });
    let azure = head.api_key.clone().map(|r| raw[r].trim_ascii());
    if bearer == Some(key.as_bytes()) || azure == Some(key.as_bytes()) {
        return true;
    }
    let conn = head.connection_line();
    match bearer.or(azure) {
        Some(given) => {
            let msg = format!(
                "Incorrect API key provided: {}. You can find your API key at \
                 https://platform.openai.com/account/api-keys.",
                mask_key(given)
            );
            openai_error(
                out,
                scratch,
                conn,
                401,
                &msg,
                "invalid_request_error",
                None,
                Some("invalid_api_key"),
            );
        }
        None => openai_error(
            out,
            scratch,
            conn,
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization \
             header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password \
             field (with blank username) if you're accessing the API from your browser and are \
             prompted for a username. You can obtain an API key from \
             https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            None,
            None,
        ),
    }
    false
}

/// `sk-abc***wxyz`: the first 3 and last 4 bytes of a key, the rest starred.
fn mask_key(key: &[u8]) -> String {
    if key.len() <= 8 {
        return "*".repeat(key.len());
    }
    let mut v = key[..3].to_vec();
    v.resize(key.len() - 4, b'*');
    v.extend_from_slice(&key[key.len() - 4..]);
    String::from_utf8_lossy(&v).into_owned()
}

#[allow(clippy::too_many_arguments)]
fn openai_error(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    connection: &[u8],
    status: u16,
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) {
    scratch.clear();
    scratch.extend_from_slice(b"{\"error\":{\"message\":");
    push_json_str(scratch, message);
    scratch.extend_from_slice(b",\"type\":");
    push_json_str(scratch, kind);
    for (name, value) in [(&b",\"param\":"[..], param), (&b",\"code\":"[..], code)] {
        scratch.extend_from_slice(name);
        match value {
            Some(v) => push_json_str(scratch, v),
            None => scratch.extend_from_slice(b"null"),
        }
    }
    scratch.extend_from_slice(b"}}");
    push_response(out, status, JSON, connection, scratch);
}

/// A framing error found before any route ran; the connection then closes.
pub(crate) fn framing_error(out: &mut Vec<u8>, scratch: &mut Vec<u8>, status: u16, why: &str) {
    openai_error(
        out,
        scratch,
        b"connection: close\r\n",
        status,
        why,
        "invalid_request_error",
        None,
        None,
    );
}

/// OpenAI's error for an injected status, as close to the real one as known.
fn openai_failure(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    connection: &[u8],
    status: u16,
    model: &str,
) {
    let (message, kind, code): (Cow<'_, str>, &str, Option<&str>) = match status {
        400 => (
            "Invalid request (injected by mock_llm).".into(),
            "invalid_request_error",
            None,
        ),
        401 => (
            "Incorrect API key provided: mock****. You can find your API key at \
             https://platform.openai.com/account/api-keys."
                .into(),
            "invalid_request_error",
            Some("invalid_api_key"),
        ),
        403 => (
            "You are not allowed to sample from this model".into(),
            "invalid_request_error",
            None,
        ),
        404 => (
            format!("The model `{model}` does not exist or you do not have access to it.").into(),
            "invalid_request_error",
            Some("model_not_found"),
        ),
        429 => (
            format!(
                "Rate limit reached for {model} in organization org-mock on requests per min \
                 (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s. Visit \
                 https://platform.openai.com/account/rate-limits to learn more."
            )
            .into(),
            "requests",
            Some("rate_limit_exceeded"),
        ),
        500 => (
            "The server had an error while processing your request. Sorry about that!".into(),
            "server_error",
            None,
        ),
        503 => (
            "The engine is currently overloaded, please try again later.".into(),
            "server_error",
            None,
        ),
        s if s < 500 => (
            format!("Request failed with status {s} (injected by mock_llm).").into(),
            "invalid_request_error",
            None,
        ),
        s => (
            format!("Upstream failed with status {s} (injected by mock_llm).").into(),
            "server_error",
            None,
        ),
    };
    openai_error(out, scratch, connection, status, &message, kind, None, code);
}

fn anthropic_error(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    connection: &[u8],
    status: u16,
    kind: &str,
    message: &str,
) {
    scratch.clear();
    scratch.extend_from_slice(b"{\"type\":\"error\",\"error\":{\"type\":");
    push_json_str(scratch, kind);
    scratch.extend_from_slice(b",\"message\":");
    push_json_str(scratch, message);
    scratch.extend_from_slice(b"}}");
    push_response(out, status, JSON, connection, scratch);
}

fn anthropic_failure(out: &mut Vec<u8>, scratch: &mut Vec<u8>, connection: &[u8], status: u16) {
    let (kind, message) = match status {
        400 => (
            "invalid_request_error",
            "Invalid request (injected by mock_llm).",
        ),
        401 => ("authentication_error", "invalid x-api-key"),
        403 => (
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        ),
        404 => (
            "not_found_error",
            "The requested resource could not be found.",
        ),
        413 => (
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
        ),
        429 => (
            "rate_limit_error",
            "Number of requests has exceeded your per-minute rate limit.",
        ),
        529 => ("overloaded_error", "Overloaded"),
        500 => ("api_error", "Internal server error"),
        s if s < 500 => (
            "invalid_request_error",
            "Request failed (injected by mock_llm).",
        ),
        _ => ("api_error", "Upstream failed (injected by mock_llm)."),
    };
    anthropic_error(out, scratch, connection, status, kind, message);
}

/// The chat, completion and embedding routes.
#[allow(clippy::too_many_arguments)]
fn openai<'a>(
    shard: &Shard,
    head: &Head,
    raw: &[u8],
    body: &'a [u8],
    route: Route<'a>,
    deployment: Option<&'a str>,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> Plan<'a> {
    let conn = head.connection_line();
    let now = reply_now(head);
    if !openai_auth(shard, head, raw, out, scratch) {
        return now;
    }
    let Ok(req) = serde_json::from_slice::<Body<'a>>(body) else {
        openai_error(
            out,
            scratch,
            conn,
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you \
             aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, \
             but what was sent was not valid JSON. If you have trouble figuring out how to fix \
             this, please contact us through our help center at help.openai.com.)",
            "invalid_request_error",
            None,
            None,
        );
        return now;
    };
    let model: Cow<'a, str> = match (&req.model, deployment) {
        (Some(Text(m)), _) => m.clone(),
        (None, Some(d)) => Cow::Borrowed(d),
        (None, None) => {
            let msg = "you must provide a model parameter";
            openai_error(
                out,
                scratch,
                conn,
                400,
                msg,
                "invalid_request_error",
                None,
                None,
            );
            return now;
        }
    };
    let cfg = &shard.cfg;
    let (fail, extra_ms) = match injected_failure(cfg, &model) {
        Ok(f) => f,
        Err(no) => return no.plan(),
    };
    let later = Plan::Reply {
        delay: delay_of(cfg, extra_ms),
        close: head.close,
    };
    if let Some(status) = fail {
        openai_failure(out, scratch, conn, status, &model);
        return later;
    }
    scratch.clear();
    if route == Route::Embeddings {
        let (input, dims) = match embedding_params(&req) {
            Ok(p) => p,
            Err((msg, param)) => {
                openai_error(
                    out,
                    scratch,
                    conn,
                    400,
                    &msg,
                    "invalid_request_error",
                    Some(param),
                    None,
                );
                return now;
            }
        };
        let base64 = matches!(&req.encoding_format, Some(Text(f)) if f == "base64");
        payload::push_embeddings(scratch, &model, input, dims, base64);
        push_response(out, 200, JSON, conn, scratch);
        return later;
    }
    let meta = meta_of(shard, &req, model);
    if req.stream == Some(true) {
        let kind = match route {
            Route::Chat => StreamKind::Chat,
            Route::Responses => StreamKind::Responses,
            _ => StreamKind::Completion,
        };
        return start_stream(shard, head, kind, meta, req.include_usage(), later, out);
    }
    match route {
        Route::Chat => payload::push_chat(scratch, &meta, &shard.answer),
        Route::Responses => payload::push_response_object(scratch, &meta, &shard.answer, true),
        _ => payload::push_completion(scratch, &meta, &shard.answer),
    }
    push_response(out, 200, JSON, conn, scratch);
    later
}

/// The embeddings `input` and the vector size, or the message and the
/// parameter to reject the request with.
fn embedding_params<'b>(
    req: &'b Body<'_>,
) -> Result<(&'b crate::body::EmbedInput, usize), (String, &'static str)> {
    let input = match &req.input {
        Some(i) if i.count > 0 => i,
        _ => {
            return Err((
                "'input' is a required property and must not be empty".into(),
                "input",
            ))
        }
    };
    if input.count > MAX_EMBED_INPUTS {
        return Err((
            format!("'$.input' is invalid: at most {MAX_EMBED_INPUTS} inputs per request"),
            "input",
        ));
    }
    let dims = match req.dimensions {
        None => DEFAULT_EMBED_DIMS,
        Some(d) if (1..=MAX_EMBED_DIMS).contains(&d) => d as usize,
        Some(_) => {
            return Err((
                format!("dimensions must be between 1 and {MAX_EMBED_DIMS}"),
                "dimensions",
            ))
        }
    };
    Ok((input, dims))
}

/// Id, timestamp and lengths of the answer to `req`.
fn meta_of<'a>(shard: &Shard, req: &Body<'_>, model: Cow<'a, str>) -> Meta<'a> {
    let (tokens, truncated) = req.completion_tokens(shard.answer.tokens());
    Meta {
        model,
        shard: shard.index as u64,
        id: shard.next_id(),
        created: unix_now(),
        prompt_tokens: req.prompt_tokens(),
        tokens,
        truncated,
    }
}

/// Writes a stream's response head and hands the events to `http`. `later`
/// carries the delay before the head.
fn start_stream<'a>(
    shard: &Shard,
    head: &Head,
    kind: StreamKind,
    meta: Meta<'a>,
    include_usage: bool,
    later: Plan<'a>,
    out: &mut Vec<u8>,
) -> Plan<'a> {
    let delay = match later {
        Plan::Reply { delay, .. } => delay,
        _ => Duration::ZERO,
    };
    let cfg = &shard.cfg;
    // HTTP/1.0 has no chunked encoding: such a stream ends by closing.
    let chunked = cfg.chunked && !head.http10;
    let close = head.close || !chunked;
    out.extend_from_slice(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n\
          cache-control: no-cache\r\n",
    );
    if chunked {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    out.extend_from_slice(if close {
        b"connection: close\r\n"
    } else {
        head.connection_line()
    });
    out.extend_from_slice(b"\r\n");
    let gap = millis(cfg.inter_token_ms);
    let cut_after = meta
        .model
        .strip_prefix("mock-stream-reset-")
        .and_then(|n| n.parse().ok());
    Plan::Stream {
        delay,
        close,
        chunked,
        events: EventStream::new(kind, meta, include_usage, gap),
        cut_after,
    }
}

/// Anthropic on Vertex AI (`publishers/anthropic/models/{model}:rawPredict`
/// and `:streamRawPredict`, reached through `gemini`, which checked the
/// OAuth token): the Messages API with the model in the path, none in the
/// body, and `anthropic_version: "vertex-2023-10-16"` in the body.
pub(crate) fn vertex_anthropic<'a>(
    shard: &Shard,
    head: &Head,
    body: &'a [u8],
    model: &str,
    stream: bool,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> Plan<'a> {
    let conn = head.connection_line();
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let problem = if v.get("model").is_some() {
        Some("model: Extra inputs are not permitted".to_string())
    } else if v.get("anthropic_version").and_then(|x| x.as_str()) != Some("vertex-2023-10-16") {
        Some("anthropic_version: Input should be 'vertex-2023-10-16'".to_string())
    } else if v.get("max_tokens").and_then(|x| x.as_u64()).is_none() {
        Some("max_tokens: Field required".to_string())
    } else if (v.get("stream").and_then(|x| x.as_bool()) == Some(true)) != stream {
        Some("stream: must be true on :streamRawPredict and absent or false on :rawPredict".into())
    } else {
        None
    };
    if let Some(msg) = problem {
        anthropic_error(out, scratch, conn, 400, "invalid_request_error", &msg);
        return reply_now(head);
    }
    anthropic_answer(
        shard,
        head,
        body,
        Some(model.to_string()),
        false,
        out,
        scratch,
    )
}

/// `POST /v1/messages`, or with `count_only` `/v1/messages/count_tokens`
/// (`{"input_tokens": N}`, the prompt's word count).
fn anthropic<'a>(
    shard: &Shard,
    head: &Head,
    raw: &[u8],
    body: &'a [u8],
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    count_only: bool,
) -> Plan<'a> {
    let conn = head.connection_line();
    let now = reply_now(head);
    let cfg = &shard.cfg;
    if let Some(key) = cfg.anthropic_key.as_deref() {
        let given = head.x_api_key.clone().map(|r| raw[r].trim_ascii());
        if given != Some(key.as_bytes()) {
            anthropic_error(
                out,
                scratch,
                conn,
                401,
                "authentication_error",
                "invalid x-api-key",
            );
            return now;
        }
    }
    if !head.anthropic_version {
        let msg = "anthropic-version: header is required";
        anthropic_error(out, scratch, conn, 400, "invalid_request_error", msg);
        return now;
    }
    anthropic_answer(shard, head, body, None, count_only, out, scratch)
}

/// The Messages answer (or stream, or token count) for a checked request;
/// `path_model` names the model when the body does not.
fn anthropic_answer<'a>(
    shard: &Shard,
    head: &Head,
    body: &'a [u8],
    path_model: Option<String>,
    count_only: bool,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> Plan<'a> {
    let conn = head.connection_line();
    let now = reply_now(head);
    let cfg = &shard.cfg;
    let req = match serde_json::from_slice::<Body<'a>>(body) {
        Ok(b) => b,
        Err(e) => {
            let msg = format!("There was an error parsing the body: {e}");
            anthropic_error(out, scratch, conn, 400, "invalid_request_error", &msg);
            return now;
        }
    };
    let model = match (&req.model, path_model) {
        (_, Some(m)) => Cow::Owned(m),
        (Some(Text(m)), None) => m.clone(),
        (None, None) => {
            let msg = "model: Field required";
            anthropic_error(out, scratch, conn, 400, "invalid_request_error", msg);
            return now;
        }
    };
    let (fail, extra_ms) = match injected_failure(cfg, &model) {
        Ok(f) => f,
        Err(no) => return no.plan(),
    };
    let later = Plan::Reply {
        delay: delay_of(cfg, extra_ms),
        close: head.close,
    };
    if let Some(status) = fail {
        anthropic_failure(out, scratch, conn, status);
        return later;
    }
    let meta = meta_of(shard, &req, model);
    scratch.clear();
    if count_only {
        scratch.extend_from_slice(b"{\"input_tokens\":");
        push_u64(scratch, meta.prompt_tokens);
        scratch.push(b'}');
        push_response(out, 200, JSON, conn, scratch);
        return later;
    }
    if req.stream == Some(true) {
        return start_stream(shard, head, StreamKind::Messages, meta, false, later, out);
    }
    payload::push_message(scratch, &meta, &shard.answer);
    push_response(out, 200, JSON, conn, scratch);
    later
}

/// A `--*-ms` option as a duration (validated finite and non-negative).
pub(crate) fn millis(ms: f64) -> Duration {
    if ms > 0.0 {
        Duration::try_from_secs_f64(ms / 1000.0).unwrap_or(HANG_LIMIT)
    } else {
        Duration::ZERO
    }
}

#[cfg(test)]
mod tests;
