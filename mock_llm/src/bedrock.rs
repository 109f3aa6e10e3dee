//! A fake AWS Bedrock runtime: `POST /model/{modelId}/converse`,
//! `/converse-stream`, `/invoke` and `/invoke-with-response-stream`, checked
//! and answered the way Bedrock does, so the gateway's Bedrock client is
//! tested against the wire format rather than against itself.
//!
//! # What it checks
//!
//! * **SigV4**, when both `--aws-access-key-id` and `--aws-secret-access-key`
//!   are set: the `Authorization: AWS4-HMAC-SHA256 ...` header is parsed and
//!   the signature recomputed from the request as received (canonical URI =
//!   the raw path with every segment URI-encoded once more, the non-S3 rule;
//!   sorted canonical query; the signed headers' trimmed values; hex SHA-256
//!   of the body), per
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>.
//!   The credential must name the configured key id and the `bedrock`
//!   service, `x-amz-date` must be within 15 minutes of now, `host` must be
//!   signed, and so must `x-amz-security-token` when sent. Failures are 403s
//!   with AWS's exception names (`MissingAuthenticationTokenException`,
//!   `UnrecognizedClientException`, `IncompleteSignatureException`,
//!   `InvalidSignatureException`); the mismatch case logs the canonical
//!   request at debug level.
//! * **Converse bodies**: unknown top-level keys, `messages` (non-empty,
//!   roles alternating from `user`, content blocks that are unions of
//!   exactly one member, images in png/jpeg/gif/webp with base64 bytes,
//!   toolUse/toolResult ids pairing across turns, the `toolConfig` those
//!   need), `system`, `inferenceConfig` (maxTokens/temperature/topP/
//!   stopSequences only) and `toolConfig`. Errors are 400
//!   `ValidationException`s with Bedrock's messages where known.
//! * **Invoke bodies**: Anthropic Messages bodies without `model`/`stream`,
//!   with `anthropic_version: "bedrock-2023-05-31"` and `max_tokens`; Titan
//!   text embeddings (`amazon.titan-embed-text-v1`, `-v2:0`) and Cohere
//!   embeddings (`cohere.embed-*`). Any other model id is taken as Anthropic
//!   (the mock speaks no other invoke format).
//!
//! # What it answers
//!
//! The answer is the shard's `tok0 tok1 ...` text, capped by `maxTokens` /
//! `max_tokens` (stop reason `max_tokens`); `inputTokens` counts the words of
//! the message and system texts, as the other routes do. When tools are
//! declared and the last user text says "call a tool" (or the tool choice is
//! `any` / a named tool), the answer is one tool call with input `{}` (stop
//! reason `tool_use`). Streams are `application/vnd.amazon.eventstream`
//! messages, one per write: Converse events (`messageStart`,
//! `contentBlockStart` for tools, one `contentBlockDelta` per word,
//! `contentBlockStop`, `messageStop`, `metadata`) and, for invoke, `chunk`
//! events whose `bytes` are base64 Anthropic stream events, the last one with
//! `amazon-bedrock-invocationMetrics`. Every payload carries Bedrock's `p`
//! padding field. Embedding vectors are deterministic in the input text.
//!
//! Failure injection follows `api`: `mock-fail-NNN` answers NNN with the
//! Bedrock exception for it (429 `ThrottlingException`, 424
//! `ModelErrorException`, ...), `mock-timeout` / `mock-reset` /
//! `mock-slow-first-byte-MS` / `--fail-rate` as elsewhere, and on the stream
//! routes `mock-stream-reset-N` cuts the stream after N messages.
//!
//! Follows what LiteLLM 1.106.2 sends and parses:
//! `llms/bedrock/chat/converse_transformation.py`,
//! `llms/bedrock/chat/invoke_handler.py` (the event-stream decoder),
//! `llms/bedrock/chat/invoke_transformations/anthropic_claude3_transformation.py`,
//! `llms/bedrock/embed/*`, and botocore's SigV4 signer behind
//! `llms/bedrock/base_aws_llm.py`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use ring::{digest, hmac};
use serde_json::{Map, Value};

use crate::api::{injected, Injected};
use crate::http::{push_json_str, push_response, push_u64, Method, Plan};
use crate::payload::Answer;
use crate::providers::Req;

const JSON: &str = "application/json";
const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";
/// How far `x-amz-date` may be from the server's clock (AWS's limit).
const MAX_SKEW_SECS: u64 = 15 * 60;
/// Output tokens billed for a tool call (its input is always `{}`).
const TOOL_CALL_TOKENS: u64 = 1;
const ANTHROPIC_VERSION: &str = "bedrock-2023-05-31";
/// The Converse request members (`modelId` travels in the path).
const CONVERSE_KEYS: [&str; 12] = [
    "messages",
    "system",
    "inferenceConfig",
    "toolConfig",
    "guardrailConfig",
    "additionalModelRequestFields",
    "additionalModelResponseFieldPaths",
    "promptVariables",
    "requestMetadata",
    "performanceConfig",
    "outputConfig",
    "serviceTier",
];
const INFERENCE_KEYS: [&str; 4] = ["maxTokens", "temperature", "topP", "stopSequences"];
/// The members a Converse `ContentBlock` union may have.
const BLOCK_KINDS: [&str; 10] = [
    "text",
    "image",
    "document",
    "video",
    "toolUse",
    "toolResult",
    "reasoningContent",
    "cachePoint",
    "guardContent",
    "citationsContent",
];
const IMAGE_FORMATS: [&str; 4] = ["png", "jpeg", "gif", "webp"];
const DOCUMENT_FORMATS: [&str; 9] = [
    "pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md",
];
/// The keys Bedrock's Anthropic invoke schema permits (it rejects others,
/// notably `model` and `stream`).
const ANTHROPIC_KEYS: [&str; 13] = [
    "anthropic_version",
    "anthropic_beta",
    "max_tokens",
    "messages",
    "system",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "tools",
    "tool_choice",
    "thinking",
    "metadata",
];
/// Bedrock's `p` field pads every stream payload to hide token lengths.
const PAD: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Claims `POST /model/{modelId}/{operation}`; `None` for any other path.
pub(crate) fn handle<'a>(
    req: &Req<'a, '_>,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> Option<Plan<'a>> {
    let (raw_id, op) = route(req.path)?;
    Some(match serve(req, raw_id, op, out, scratch) {
        Ok(plan) => plan,
        Err((e, delay)) => {
            scratch.clear();
            scratch.extend_from_slice(b"{\"message\":");
            push_json_str(scratch, &e.message);
            scratch.push(b'}');
            let mut head = b"x-amzn-ErrorType: ".to_vec();
            head.extend_from_slice(e.kind.as_bytes());
            // Signature failures come from AWS's front end, not from Bedrock.
            let front_end = e.kind.ends_with("SignatureException")
                || e.kind == "UnrecognizedClientException"
                || e.kind == "MissingAuthenticationTokenException";
            head.extend_from_slice(if front_end {
                b":http://internal.amazon.com/coral/com.amazon.coral.service/\r\n"
            } else {
                b":http://internal.amazon.com/coral/com.amazon.bedrock/\r\n"
            });
            send(req, out, e.status, JSON, &head, scratch, delay)
        }
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Converse,
    ConverseStream,
    Invoke,
    InvokeStream,
}

/// The raw (still percent-encoded) model id and the operation of `path`.
fn route(path: &[u8]) -> Option<(&[u8], Op)> {
    let rest = path.strip_prefix(b"/model/")?;
    let slash = rest.iter().rposition(|&c| c == b'/')?;
    let op = match &rest[slash + 1..] {
        b"converse" => Op::Converse,
        b"converse-stream" => Op::ConverseStream,
        b"invoke" => Op::Invoke,
        b"invoke-with-response-stream" => Op::InvokeStream,
        _ => return None,
    };
    (slash > 0).then_some((&rest[..slash], op))
}

/// An AWS error answer: status, exception name, message.
#[derive(Debug)]
struct AwsError {
    status: u16,
    kind: &'static str,
    message: String,
}

impl AwsError {
    fn new(status: u16, kind: &'static str, message: impl Into<String>) -> AwsError {
        AwsError {
            status,
            kind,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> AwsError {
        AwsError::new(400, "ValidationException", message)
    }

    /// The wording of Bedrock's JSON-schema checks on invoke bodies.
    fn malformed(detail: &str) -> AwsError {
        AwsError::invalid(format!(
            "Malformed input request: {detail}, please reformat your input and try again."
        ))
    }

    fn bad_signature() -> AwsError {
        AwsError::new(
            403,
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details.",
        )
    }

    fn incomplete(message: impl Into<String>) -> AwsError {
        AwsError::new(403, "IncompleteSignatureException", message)
    }

    /// What Bedrock answers for an injected status.
    fn injected(status: u16) -> AwsError {
        let (kind, message) = match status {
            400 => (
                "ValidationException",
                "Invalid request (injected by mock_llm).",
            ),
            401 | 403 => (
                "AccessDeniedException",
                "You don't have access to the model with the specified model ID.",
            ),
            404 => (
                "ResourceNotFoundException",
                "Could not resolve the foundation model from the provided model identifier.",
            ),
            408 => (
                "ModelTimeoutException",
                "Model has timed out in processing the request. Try your request again.",
            ),
            424 => ("ModelErrorException", "The model returned an error."),
            429 => (
                "ThrottlingException",
                "Too many requests, please wait before trying again.",
            ),
            503 => (
                "ServiceUnavailableException",
                "Bedrock is unable to process your request.",
            ),
            s if s < 500 => (
                "ValidationException",
                "Request failed (injected by mock_llm).",
            ),
            _ => (
                "InternalServerException",
                "The server encountered an internal error while processing the request.",
            ),
        };
        AwsError::new(status, kind, message)
    }
}

/// A failure and how long to wait before answering it.
type Failure = (AwsError, Duration);

fn at_once(e: AwsError) -> Failure {
    (e, Duration::ZERO)
}

/// Appends a complete answer with Bedrock's request id and `extra` header
/// lines (each ending in CRLF).
fn send<'a>(
    req: &Req<'a, '_>,
    out: &mut Vec<u8>,
    status: u16,
    content_type: &str,
    extra: &[u8],
    body: &[u8],
    delay: Duration,
) -> Plan<'a> {
    let mut head = b"x-amzn-RequestId: ".to_vec();
    push_request_id(&mut head, req.shard.index, req.shard.next_id());
    head.extend_from_slice(b"\r\n");
    head.extend_from_slice(extra);
    head.extend_from_slice(req.connection());
    push_response(out, status, content_type, &head, body);
    Plan::Reply {
        delay,
        close: req.head.close,
    }
}

/// A UUID-shaped id, unique per shard.
fn push_request_id(out: &mut Vec<u8>, shard: usize, n: u64) {
    use std::io::Write as _;
    let _ = write!(out, "{shard:08x}-0000-4000-8000-{n:012x}");
}

fn serve<'a>(
    req: &Req<'a, '_>,
    raw_id: &[u8],
    op: Op,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> Result<Plan<'a>, Failure> {
    if req.head.method != Method::Post {
        return Err(at_once(AwsError::new(
            404,
            "UnknownOperationException",
            "Unknown operation",
        )));
    }
    let cfg = &req.shard.cfg;
    if let (Some(key_id), Some(secret)) = (&cfg.aws_access_key_id, &cfg.aws_secret_access_key) {
        verify_request(req, key_id, secret).map_err(at_once)?;
    }
    let model = String::from_utf8(percent_decode(raw_id)).map_err(|_| {
        at_once(AwsError::invalid(
            "The provided model identifier is invalid.",
        ))
    })?;
    let body: Value = serde_json::from_slice(req.body).map_err(|_| {
        at_once(AwsError::invalid(
            "Malformed input request, please reformat your input and try again.",
        ))
    })?;
    let delay = match injected(cfg, &model) {
        Injected::Answer(d) => d,
        Injected::Fail(status, d) => return Err((AwsError::injected(status), d)),
        Injected::NoAnswer(plan) => return Ok(plan),
    };
    let embed = Embedder::of(&model);
    scratch.clear();
    match (op, embed) {
        (Op::Converse | Op::ConverseStream, Some(_)) => Err(at_once(AwsError::invalid(
            "This action doesn't support the model that you provided. Try again with a \
             supported text or chat model.",
        ))),
        (Op::InvokeStream, Some(_)) => Err(at_once(AwsError::invalid(
            "The model is unsupported for streaming.",
        ))),
        (Op::Invoke, Some(embedder)) => {
            let tokens = embedder.answer(&body, scratch).map_err(at_once)?;
            let head = token_headers(tokens, 0);
            Ok(send(req, out, 200, JSON, &head, scratch, delay))
        }
        (_, None) => {
            let converse = matches!(op, Op::Converse | Op::ConverseStream);
            let turn = if converse {
                converse_request(&body)
            } else {
                anthropic_request(&body)
            }
            .map_err(at_once)?;
            let reply = Reply::new(req, &model, turn);
            let answer = &req.shard.answer;
            match op {
                Op::Converse => {
                    push_converse(scratch, &reply, answer);
                    Ok(send(req, out, 200, JSON, b"", scratch, delay))
                }
                Op::Invoke => {
                    push_anthropic(scratch, &reply, answer);
                    let head = token_headers(reply.prompt, reply.output());
                    Ok(send(req, out, 200, JSON, &head, scratch, delay))
                }
                _ => {
                    let frames = if converse {
                        converse_events(&reply, answer)
                    } else {
                        anthropic_events(&reply, answer)
                    };
                    let mut plan = req.stream(out, EVENT_STREAM, frames);
                    if let Plan::Stream {
                        delay: d,
                        cut_after,
                        ..
                    } = &mut plan
                    {
                        *d = delay;
                        *cut_after = model
                            .strip_prefix("mock-stream-reset-")
                            .and_then(|n| n.parse().ok());
                    }
                    Ok(plan)
                }
            }
        }
    }
}

/// The token-count headers Bedrock puts on invoke answers.
fn token_headers(input: u64, output: u64) -> Vec<u8> {
    let mut h = b"x-amzn-bedrock-input-token-count: ".to_vec();
    push_u64(&mut h, input);
    h.extend_from_slice(b"\r\nx-amzn-bedrock-output-token-count: ");
    push_u64(&mut h, output);
    h.extend_from_slice(b"\r\nx-amzn-bedrock-invocation-latency: 1\r\n");
    h
}

// ---------------------------------------------------------------------------
// SigV4

/// The parts of a received request that SigV4 covers.
struct Signed<'r> {
    method: &'r str,
    /// The path exactly as sent (still percent-encoded).
    path: &'r [u8],
    query: &'r [u8],
    headers: Vec<(&'r str, &'r [u8])>,
    body: &'r [u8],
}

fn verify_request(req: &Req<'_, '_>, key_id: &str, secret: &str) -> Result<(), AwsError> {
    let mut headers = [httparse::EMPTY_HEADER; crate::http::MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    // The connection loop parsed this head already, so this cannot fail.
    let _ = parsed.parse(req.raw);
    let signed = Signed {
        method: parsed.method.unwrap_or("POST"),
        path: req.path,
        query: req.query,
        headers: parsed.headers.iter().map(|h| (h.name, h.value)).collect(),
        body: req.body,
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    verify_sigv4(&signed, key_id, secret, now)
}

impl<'r> Signed<'r> {
    /// Every value of header `name`, in order.
    fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'r [u8]> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, v)| v)
    }
}

/// The three `Key=Value` parts of an `AWS4-HMAC-SHA256` authorization.
struct Authorization<'h> {
    credential: &'h str,
    signed_headers: &'h str,
    signature: &'h str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, AwsError> {
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256")
        .filter(|r| r.starts_with(' '))
        .ok_or_else(|| {
            AwsError::incomplete(format!(
                "Authorization header requires 'Credential' parameter. Authorization header \
                 requires 'Signature' parameter. Authorization header requires \
                 'SignedHeaders' parameter. Authorization={value}"
            ))
        })?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',').map(str::trim) {
        if let Some((k, v)) = part.split_once('=') {
            match k {
                "Credential" => credential = Some(v),
                "SignedHeaders" => signed_headers = Some(v),
                "Signature" => signature = Some(v),
                _ => {}
            }
        }
    }
    match (credential, signed_headers, signature) {
        (Some(credential), Some(signed_headers), Some(signature)) => Ok(Authorization {
            credential,
            signed_headers,
            signature,
        }),
        (c, h, s) => {
            let mut msg = String::new();
            for (missing, name) in [
                (c.is_none(), "Credential"),
                (s.is_none(), "Signature"),
                (h.is_none(), "SignedHeaders"),
            ] {
                if missing {
                    msg.push_str(&format!(
                        "Authorization header requires '{name}' parameter. "
                    ));
                }
            }
            msg.push_str(&format!("Authorization={value}"));
            Err(AwsError::incomplete(msg))
        }
    }
}

/// Checks a request's SigV4 `Authorization` against `key_id` / `secret` and
/// the clock `now` (Unix seconds).
fn verify_sigv4(s: &Signed<'_>, key_id: &str, secret: &str, now: u64) -> Result<(), AwsError> {
    let Some(auth) = s.values("authorization").next() else {
        return Err(AwsError::new(
            403,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    let auth = std::str::from_utf8(auth).map_err(|_| AwsError::bad_signature())?;
    let auth = parse_authorization(auth)?;
    // Credential = AKID/DATE/REGION/SERVICE/aws4_request
    let scope: Vec<&str> = auth.credential.split('/').collect();
    let [akid, date, region, service, terminator] = scope[..] else {
        return Err(AwsError::incomplete(format!(
            "Credential should be scoped to a valid region. Credential={}",
            auth.credential
        )));
    };
    if akid != key_id {
        return Err(AwsError::new(
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ));
    }
    if service != "bedrock" || terminator != "aws4_request" {
        return Err(AwsError::new(
            403,
            "InvalidSignatureException",
            "Credential should be scoped to correct service: 'bedrock'. ",
        ));
    }
    let amz_date = s
        .values("x-amz-date")
        .next()
        .and_then(|d| std::str::from_utf8(d).ok())
        .ok_or_else(|| {
            AwsError::incomplete(
                "Authorization header requires existence of either a 'X-Amz-Date' or a \
                 'Date' header.",
            )
        })?;
    let when = parse_amz_date(amz_date).ok_or_else(|| {
        AwsError::incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date}'."
        ))
    })?;
    if !amz_date.starts_with(date) || date.len() != 8 {
        return Err(AwsError::new(
            403,
            "InvalidSignatureException",
            format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
                 from HTTP: '{date}' != '{}', from '{amz_date}'.",
                &amz_date[..8]
            ),
        ));
    }
    if when + MAX_SKEW_SECS < now {
        return Err(AwsError::new(
            403,
            "InvalidSignatureException",
            format!(
                "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
                format_amz_date(now.saturating_sub(MAX_SKEW_SECS)),
                format_amz_date(now)
            ),
        ));
    }
    if when > now + MAX_SKEW_SECS {
        return Err(AwsError::new(
            403,
            "InvalidSignatureException",
            format!(
                "Signature not yet current: {amz_date} is still later than {} ({} + 15 min.)",
                format_amz_date(now + MAX_SKEW_SECS),
                format_amz_date(now)
            ),
        ));
    }
    let names: Vec<&str> = auth.signed_headers.split(';').collect();
    if !names.contains(&"host") {
        return Err(AwsError::incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    // The canonical form lists the names lowercase, sorted and once each; a
    // signer that gets this wrong would still agree with itself, so reject
    // it here rather than recompute with its order.
    let canonical_names = names.windows(2).all(|w| w[0] < w[1])
        && names
            .iter()
            .all(|n| !n.is_empty() && !n.bytes().any(|c| c.is_ascii_uppercase()));
    let token_unsigned = s.values("x-amz-security-token").next().is_some()
        && !names.contains(&"x-amz-security-token");
    let expected = hex_to_bytes(auth.signature);
    let canonical = canonical_request(s, &names, auth.signed_headers);
    let (true, false, Some(expected), Some(canonical)) =
        (canonical_names, token_unsigned, expected, canonical)
    else {
        log::debug!(
            "bedrock SigV4: malformed signed headers {:?}, unsigned security token {token_unsigned} \
             or a signed header missing",
            auth.signed_headers
        );
        return Err(AwsError::bad_signature());
    };
    let to_sign = string_to_sign(amz_date, &format!("{date}/{region}/{service}"), &canonical);
    let key = hmac::Key::new(
        hmac::HMAC_SHA256,
        &signing_key(secret, date, region, service),
    );
    hmac::verify(&key, to_sign.as_bytes(), &expected).map_err(|_| {
        log::debug!(
            "bedrock SigV4 mismatch; canonical request:\n{}\nstring to sign:\n{to_sign}",
            String::from_utf8_lossy(&canonical)
        );
        AwsError::bad_signature()
    })
}

/// SigV4 task 1, from the request as received; `None` when a signed header
/// is absent.
fn canonical_request(s: &Signed<'_>, names: &[&str], signed_headers: &str) -> Option<Vec<u8>> {
    let mut c = Vec::with_capacity(512);
    c.extend_from_slice(s.method.as_bytes());
    c.push(b'\n');
    push_canonical_uri(&mut c, s.path);
    c.push(b'\n');
    push_canonical_query(&mut c, s.query);
    c.push(b'\n');
    for name in names {
        c.extend_from_slice(name.as_bytes());
        c.push(b':');
        let mut any = false;
        for value in s.values(name) {
            if any {
                c.push(b',');
            }
            any = true;
            push_trimmed(&mut c, value);
        }
        if !any {
            return None;
        }
        c.push(b'\n');
    }
    c.push(b'\n');
    c.extend_from_slice(signed_headers.as_bytes());
    c.push(b'\n');
    c.extend_from_slice(hex(digest::digest(&digest::SHA256, s.body).as_ref()).as_bytes());
    Some(c)
}

/// SigV4 task 2.
fn string_to_sign(amz_date: &str, scope: &str, canonical: &[u8]) -> String {
    format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}/aws4_request\n{}",
        hex(digest::digest(&digest::SHA256, canonical).as_ref())
    )
}

/// SigV4 task 3: HMAC chain over date, region, service, `aws4_request`.
fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in [date, region, service, "aws4_request"] {
        let k = hmac::Key::new(hmac::HMAC_SHA256, &key);
        key = hmac::sign(&k, part.as_bytes()).as_ref().to_vec();
    }
    key
}

/// Every path segment URI-encoded once more (non-S3 services sign the
/// already-encoded path, so `%3A` becomes `%253A`).
fn push_canonical_uri(out: &mut Vec<u8>, path: &[u8]) {
    if path.is_empty() {
        out.push(b'/');
        return;
    }
    for (i, segment) in path.split(|&c| c == b'/').enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        uri_encode(out, segment);
    }
}

/// Parameters decoded, re-encoded, sorted by name then value.
fn push_canonical_query(out: &mut Vec<u8>, query: &[u8]) {
    let mut params: Vec<(Vec<u8>, Vec<u8>)> = query
        .split(|&c| c == b'&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = match memchr::memchr(b'=', p) {
                Some(eq) => (&p[..eq], &p[eq + 1..]),
                None => (p, &b""[..]),
            };
            let mut ek = Vec::new();
            let mut ev = Vec::new();
            uri_encode(&mut ek, &percent_decode(k));
            uri_encode(&mut ev, &percent_decode(v));
            (ek, ev)
        })
        .collect();
    params.sort();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(k);
        out.push(b'=');
        out.extend_from_slice(v);
    }
}

/// A header value trimmed, with runs of spaces collapsed to one.
fn push_trimmed(out: &mut Vec<u8>, value: &[u8]) {
    let mut space = false;
    for &c in value.trim_ascii() {
        if c == b' ' {
            if !space {
                out.push(b' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
}

/// RFC 3986 encoding as SigV4 wants it: unreserved bytes kept, every other
/// byte `%XX` in upper-case hex.
fn uri_encode(out: &mut Vec<u8>, s: &[u8]) {
    for &c in s {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~') {
            out.push(c);
        } else {
            out.push(b'%');
            out.push(b"0123456789ABCDEF"[usize::from(c >> 4)]);
            out.push(b"0123456789ABCDEF"[usize::from(c & 15)]);
        }
    }
}

/// `%XX` decoded; a `%` not followed by two hex digits is kept as is.
fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let hex_at = |j: usize| s.get(j).and_then(|&c| (c as char).to_digit(16));
        match (s[i], hex_at(i + 1), hex_at(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lower-case hex (as SigV4 writes signatures) to bytes.
fn hex_to_bytes(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYYMMDDTHHMMSSZ` to Unix seconds.
fn parse_amz_date(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let d = s.get(r)?;
        d.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| d.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, sec) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec;
    u64::try_from(secs).ok()
}

/// Unix seconds to `YYYYMMDDTHHMMSSZ`.
fn format_amz_date(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Inverse of `days_from_civil` (H. Hinnant's civil_from_days).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

// ---------------------------------------------------------------------------
// Request bodies

/// What a chat request asks of the answer.
#[derive(Debug, PartialEq)]
struct Turn {
    prompt_tokens: u64,
    max_tokens: Option<u64>,
    /// The tool to call instead of answering text.
    tool: Option<String>,
}

/// Whitespace-separated words in the `text` / `content` / `toolResult`
/// members, as `body::Words` counts them on the other routes.
fn words(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.split_whitespace().count() as u64,
        Value::Array(a) => a.iter().map(words).sum(),
        Value::Object(o) => ["text", "content", "toolResult"]
            .iter()
            .filter_map(|k| o.get(*k))
            .map(words)
            .sum(),
        _ => 0,
    }
}

/// Whether the last user message says "call a tool" (any case). Both
/// Converse and Anthropic text blocks keep their text under `text`.
fn asks_for_tool(messages: &[Value]) -> bool {
    let Some(last) = messages.iter().rev().find(|m| m["role"] == "user") else {
        return false;
    };
    let says = |t: &str| t.to_ascii_lowercase().contains("call a tool");
    match &last["content"] {
        Value::String(t) => says(t),
        Value::Array(blocks) => blocks.iter().any(|b| b["text"].as_str().is_some_and(says)),
        _ => false,
    }
}

/// How the request chose among its tools.
enum Choice<'v> {
    Auto,
    Any,
    Named(&'v str),
    Never,
}

fn pick_tool(tools: &[&str], choice: Choice<'_>, messages: &[Value]) -> Option<String> {
    let first = *tools.first()?;
    match choice {
        Choice::Named(name) => Some(name.to_owned()),
        Choice::Any => Some(first.to_owned()),
        Choice::Auto if asks_for_tool(messages) => Some(first.to_owned()),
        Choice::Auto | Choice::Never => None,
    }
}

fn object<'v>(v: &'v Value, at: &str) -> Result<&'v Map<String, Value>, AwsError> {
    v.as_object().ok_or_else(|| {
        AwsError::invalid(format!(
            "1 validation error detected: Value at '{at}' failed to satisfy constraint: Member \
             must be an object"
        ))
    })
}

fn constraint(value: &Value, at: &str, rule: &str) -> AwsError {
    AwsError::invalid(format!(
        "1 validation error detected: Value '{value}' at '{at}' failed to satisfy constraint: \
         Member must {rule}"
    ))
}

fn required(at: &str) -> AwsError {
    AwsError::invalid(format!(
        "1 validation error detected: Value null at '{at}' failed to satisfy constraint: \
         Member must not be null"
    ))
}

/// The single member of a union object, checked against `kinds`.
fn union_member<'v>(
    v: &'v Value,
    at: &str,
    kinds: &[&str],
) -> Result<(&'v str, &'v Value), AwsError> {
    let o = object(v, at)?;
    match o.iter().next() {
        Some((k, inner)) if o.len() == 1 && kinds.contains(&k.as_str()) => Ok((k, inner)),
        _ => Err(AwsError::invalid(format!(
            "1 validation error detected: Value at '{at}' failed to satisfy constraint: Member \
             must have exactly one of the members [{}]",
            kinds.join(", ")
        ))),
    }
}

fn base64_bytes(source: &Value, at: &str) -> Result<(), AwsError> {
    let (kind, data) = union_member(source, at, &["bytes", "s3Location", "text", "content"])?;
    if kind == "bytes" {
        let ok = data.as_str().is_some_and(|b| {
            !b.is_empty() && base64::engine::general_purpose::STANDARD.decode(b).is_ok()
        });
        if !ok {
            return Err(AwsError::invalid(format!(
                "Invalid input: the value at '{at}.bytes' is not valid base64-encoded data."
            )));
        }
    }
    Ok(())
}

fn one_of(v: &Value, at: &str, allowed: &[&str]) -> Result<(), AwsError> {
    match v.as_str() {
        Some(s) if allowed.contains(&s) => Ok(()),
        _ => Err(constraint(
            v,
            at,
            &format!("satisfy enum value set: [{}]", allowed.join(", ")),
        )),
    }
}

fn non_empty_str<'v>(v: &'v Value, at: &str) -> Result<&'v str, AwsError> {
    match v {
        Value::Null => Err(required(at)),
        Value::String(s) if !s.is_empty() => Ok(s),
        _ => Err(constraint(v, at, "be a non-empty string")),
    }
}

/// What a Converse content block contributes to the tool bookkeeping.
enum Block<'v> {
    Other,
    ToolUse(&'v str),
    ToolResult(&'v str),
}

/// Checks one Converse content block; `i`, `j` are 0-based indices.
fn converse_block<'v>(b: &'v Value, i: usize, j: usize, user: bool) -> Result<Block<'v>, AwsError> {
    let at = format!("messages.{}.member.content.{}.member", i + 1, j + 1);
    let (kind, v) = union_member(b, &at, &BLOCK_KINDS)?;
    let at = format!("{at}.{kind}");
    match kind {
        "text" => match v.as_str() {
            Some(t) if !t.trim().is_empty() => {}
            Some(_) => {
                return Err(AwsError::invalid(format!(
                    "The text field in the ContentBlock object at messages.{i}.content.{j} is \
                     blank. Add text to the text field, and try again."
                )))
            }
            None => return Err(constraint(v, &at, "be a string")),
        },
        "image" | "video" | "document" => {
            let o = object(v, &at)?;
            let formats: &[&str] = match kind {
                "image" => &IMAGE_FORMATS,
                "document" => &DOCUMENT_FORMATS,
                _ => &[
                    "mkv", "mov", "mp4", "webm", "flv", "mpeg", "mpg", "wmv", "three_gp",
                ],
            };
            one_of(
                o.get("format").unwrap_or(&Value::Null),
                &format!("{at}.format"),
                formats,
            )?;
            if kind == "document" {
                non_empty_str(o.get("name").unwrap_or(&Value::Null), &format!("{at}.name"))?;
            }
            let source = o
                .get("source")
                .ok_or_else(|| required(&format!("{at}.source")))?;
            base64_bytes(source, &format!("{at}.source"))?;
        }
        "toolUse" => {
            let o = object(v, &at)?;
            let id = non_empty_str(
                o.get("toolUseId").unwrap_or(&Value::Null),
                &format!("{at}.toolUseId"),
            )?;
            non_empty_str(o.get("name").unwrap_or(&Value::Null), &format!("{at}.name"))?;
            if !o.contains_key("input") {
                return Err(required(&format!("{at}.input")));
            }
            if user {
                return Err(AwsError::invalid(format!(
                    "The toolUse block at messages.{i}.content.{j} is only allowed in an \
                     assistant message."
                )));
            }
            return Ok(Block::ToolUse(id));
        }
        "toolResult" => {
            let o = object(v, &at)?;
            let id = non_empty_str(
                o.get("toolUseId").unwrap_or(&Value::Null),
                &format!("{at}.toolUseId"),
            )?;
            let content = o
                .get("content")
                .and_then(Value::as_array)
                .ok_or_else(|| required(&format!("{at}.content")))?;
            for (k, c) in content.iter().enumerate() {
                let at = format!("{at}.content.{}.member", k + 1);
                union_member(
                    c,
                    &at,
                    &["text", "json", "image", "document", "video", "searchResult"],
                )?;
            }
            if let Some(status) = o.get("status") {
                one_of(status, &format!("{at}.status"), &["success", "error"])?;
            }
            if !user {
                return Err(AwsError::invalid(format!(
                    "The toolResult block at messages.{i}.content.{j} is only allowed in a user \
                     message."
                )));
            }
            return Ok(Block::ToolResult(id));
        }
        "reasoningContent" => {
            union_member(v, &at, &["reasoningText", "redactedContent"])?;
        }
        _ => {
            object(v, &at)?;
        }
    }
    Ok(Block::Other)
}

/// Validates a Converse body the way Bedrock does; returns what the answer
/// needs.
fn converse_request(body: &Value) -> Result<Turn, AwsError> {
    let o = body.as_object().ok_or_else(|| {
        AwsError::invalid("Malformed input request, please reformat your input and try again.")
    })?;
    if let Some(k) = o.keys().find(|k| !CONVERSE_KEYS.contains(&k.as_str())) {
        return Err(AwsError::malformed(&format!(
            "#: extraneous key [{k}] is not permitted"
        )));
    }
    let messages = match o.get("messages") {
        None | Some(Value::Null) => return Err(required("messages")),
        Some(Value::Array(m)) if m.is_empty() => {
            return Err(AwsError::invalid(
                "A conversation must start with a user message. Try again with a conversation \
                 that starts with a user message.",
            ))
        }
        Some(Value::Array(m)) => m,
        Some(other) => return Err(constraint(other, "messages", "be a list")),
    };
    // Ids of the previous assistant turn's toolUse blocks, which the next
    // user turn must answer.
    let mut pending: Vec<&str> = Vec::new();
    let mut uses_tools = false;
    for (i, m) in messages.iter().enumerate() {
        let at = format!("messages.{}.member", i + 1);
        let mo = object(m, &at)?;
        let role = mo.get("role").unwrap_or(&Value::Null);
        one_of(role, &format!("{at}.role"), &["user", "assistant"])?;
        let user = role == "user";
        if i == 0 && !user {
            return Err(AwsError::invalid(
                "A conversation must start with a user message. Try again with a conversation \
                 that starts with a user message.",
            ));
        }
        if user != (i % 2 == 0) {
            return Err(AwsError::invalid(
                "A conversation must alternate between user and assistant roles. Make sure the \
                 conversation alternates between user and assistant roles and try again.",
            ));
        }
        let content = match mo.get("content") {
            Some(Value::Array(c)) if !c.is_empty() => c,
            Some(Value::Array(_)) => {
                return Err(AwsError::invalid(format!(
                    "The content field in the Message object at messages.{i} is empty. Add a \
                     ContentBlock object to the content field and try again."
                )))
            }
            None | Some(Value::Null) => return Err(required(&format!("{at}.content"))),
            Some(other) => return Err(constraint(other, &format!("{at}.content"), "be a list")),
        };
        let mut uses = Vec::new();
        let mut answered = Vec::new();
        for (j, b) in content.iter().enumerate() {
            match converse_block(b, i, j, user)? {
                Block::ToolUse(id) => uses.push(id),
                Block::ToolResult(id) => answered.push(id),
                Block::Other => {}
            }
        }
        uses_tools |= !uses.is_empty() || !answered.is_empty();
        if user {
            if answered.iter().any(|id| !pending.contains(id)) || answered.len() > pending.len() {
                return Err(AwsError::invalid(format!(
                    "The number of toolResult blocks at messages.{i}.content exceeds the number \
                     of toolUse blocks of previous turn."
                )));
            }
            let missing: Vec<&str> = pending
                .iter()
                .copied()
                .filter(|id| !answered.contains(id))
                .collect();
            if !missing.is_empty() {
                return Err(AwsError::invalid(format!(
                    "Expected toolResult blocks at messages.{i}.content for the following Ids: {}",
                    missing.join(", ")
                )));
            }
        }
        pending = uses;
    }
    if let Some(system) = o.get("system") {
        let blocks = system
            .as_array()
            .ok_or_else(|| constraint(system, "system", "be a list"))?;
        for (k, b) in blocks.iter().enumerate() {
            union_member(
                b,
                &format!("system.{}.member", k + 1),
                &["text", "guardContent", "cachePoint"],
            )?;
        }
    }
    let max_tokens = match o.get("inferenceConfig") {
        Some(c) => inference_config(c)?,
        None => None,
    };
    let tool =
        match o.get("toolConfig") {
            Some(tc) => tool_config(tc, messages)?,
            None if uses_tools => return Err(AwsError::invalid(
                "The toolConfig field must be defined when using toolUse and toolResult content \
                 blocks.",
            )),
            None => None,
        };
    if let Some(extra) = o.get("additionalModelRequestFields") {
        object(extra, "additionalModelRequestFields")?;
    }
    Ok(Turn {
        prompt_tokens: words(&o["messages"]) + o.get("system").map_or(0, words),
        max_tokens,
        tool,
    })
}

/// Checks `inferenceConfig`; returns `maxTokens`.
fn inference_config(c: &Value) -> Result<Option<u64>, AwsError> {
    let o = object(c, "inferenceConfig")?;
    if let Some(k) = o.keys().find(|k| !INFERENCE_KEYS.contains(&k.as_str())) {
        return Err(AwsError::malformed(&format!(
            "#/inferenceConfig: extraneous key [{k}] is not permitted"
        )));
    }
    for key in ["temperature", "topP"] {
        if let Some(v) = o.get(key) {
            if !v.as_f64().is_some_and(|x| (0.0..=1.0).contains(&x)) {
                return Err(constraint(
                    v,
                    &format!("inferenceConfig.{key}"),
                    "be a number between 0 and 1",
                ));
            }
        }
    }
    if let Some(v) = o.get("stopSequences") {
        if !v.as_array().is_some_and(|a| a.iter().all(Value::is_string)) {
            return Err(constraint(
                v,
                "inferenceConfig.stopSequences",
                "be a list of strings",
            ));
        }
    }
    match o.get("maxTokens") {
        None => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Ok(Some(n)),
            _ => Err(constraint(
                v,
                "inferenceConfig.maxTokens",
                "have value greater than or equal to 1",
            )),
        },
    }
}

/// Checks `toolConfig`; returns the tool the answer calls, if any.
fn tool_config(tc: &Value, messages: &[Value]) -> Result<Option<String>, AwsError> {
    let o = object(tc, "toolConfig")?;
    let tools = match o.get("tools") {
        Some(Value::Array(t)) if !t.is_empty() => t,
        Some(v @ Value::Array(_)) => {
            return Err(constraint(
                v,
                "toolConfig.tools",
                "have length greater than or equal to 1",
            ))
        }
        _ => return Err(required("toolConfig.tools")),
    };
    let mut names = Vec::new();
    for (k, t) in tools.iter().enumerate() {
        let at = format!("toolConfig.tools.{}.member", k + 1);
        let (kind, spec) = union_member(t, &at, &["toolSpec", "systemTool", "cachePoint"])?;
        if kind != "toolSpec" {
            continue;
        }
        let at = format!("{at}.toolSpec");
        let so = object(spec, &at)?;
        let name_at = format!("{at}.name");
        let name = non_empty_str(so.get("name").unwrap_or(&Value::Null), &name_at)?;
        let valid = name.len() <= 64
            && name
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-');
        if !valid {
            return Err(constraint(
                &so["name"],
                &name_at,
                "satisfy regular expression pattern: [a-zA-Z0-9_-]+ and have length less than or \
                 equal to 64",
            ));
        }
        let schema_at = format!("{at}.inputSchema");
        let schema = so.get("inputSchema").ok_or_else(|| required(&schema_at))?;
        let (_, json) = union_member(schema, &schema_at, &["json"])?;
        object(json, &format!("{schema_at}.json"))?;
        names.push(name);
    }
    let choice = match o.get("toolChoice") {
        None => Choice::Auto,
        Some(c) => match union_member(c, "toolConfig.toolChoice", &["auto", "any", "tool"])? {
            ("auto", _) => Choice::Auto,
            ("any", _) => Choice::Any,
            (_, t) => {
                let name = t["name"].as_str().unwrap_or("");
                if !names.contains(&name) {
                    return Err(AwsError::invalid(format!(
                        "The tool {name} in toolChoice is not defined in toolConfig.tools."
                    )));
                }
                Choice::Named(name)
            }
        },
    };
    Ok(pick_tool(&names, choice, messages))
}

/// Validates an Anthropic Messages body sent to `invoke`.
fn anthropic_request(body: &Value) -> Result<Turn, AwsError> {
    let o = body
        .as_object()
        .ok_or_else(|| AwsError::malformed("#: expected type: JSONObject"))?;
    if let Some(k) = o.keys().find(|k| !ANTHROPIC_KEYS.contains(&k.as_str())) {
        return Err(AwsError::malformed(&format!(
            "#: extraneous key [{k}] is not permitted"
        )));
    }
    for key in ["anthropic_version", "max_tokens", "messages"] {
        if !o.contains_key(key) {
            return Err(AwsError::malformed(&format!(
                "#: required key [{key}] not found"
            )));
        }
    }
    if o["anthropic_version"] != ANTHROPIC_VERSION {
        return Err(AwsError::invalid("Invalid API version"));
    }
    let max_tokens = match o["max_tokens"].as_u64() {
        Some(n) if n >= 1 => n,
        _ => {
            return Err(AwsError::malformed(
                "#/max_tokens: expected minimum value: 1",
            ))
        }
    };
    let messages = o["messages"]
        .as_array()
        .ok_or_else(|| AwsError::malformed("#/messages: expected type: JSONArray"))?;
    if messages.is_empty() {
        return Err(AwsError::invalid(
            "messages: at least one message is required",
        ));
    }
    for (i, m) in messages.iter().enumerate() {
        if !(m["role"] == "user" || m["role"] == "assistant") {
            return Err(AwsError::malformed(&format!(
                "#/messages/{i}/role: {} is not a valid enum value",
                m["role"]
            )));
        }
        let content_ok = match &m["content"] {
            Value::String(_) => true,
            Value::Array(blocks) => blocks.iter().all(|b| b["type"].is_string()),
            _ => false,
        };
        if !content_ok {
            return Err(AwsError::malformed(&format!(
                "#/messages/{i}/content: expected a string or a list of typed blocks"
            )));
        }
    }
    let mut names = Vec::new();
    if let Some(tools) = o.get("tools") {
        let tools = tools
            .as_array()
            .ok_or_else(|| AwsError::malformed("#/tools: expected type: JSONArray"))?;
        for (i, t) in tools.iter().enumerate() {
            // Custom tools need a schema; server tools carry a `type`.
            match t["name"].as_str() {
                Some(name) if t["input_schema"].is_object() || t["type"].is_string() => {
                    names.push(name)
                }
                _ => {
                    return Err(AwsError::malformed(&format!(
                        "#/tools/{i}: required key [input_schema] not found"
                    )))
                }
            }
        }
    }
    let choice = match o.get("tool_choice") {
        None => Choice::Auto,
        Some(c) => match c["type"].as_str() {
            Some("auto") => Choice::Auto,
            Some("any") => Choice::Any,
            Some("none") => Choice::Never,
            Some("tool") => Choice::Named(c["name"].as_str().unwrap_or("")),
            _ => {
                return Err(AwsError::malformed(
                    "#/tool_choice/type: not a valid enum value",
                ))
            }
        },
    };
    Ok(Turn {
        prompt_tokens: words(&o["messages"]) + o.get("system").map_or(0, words),
        max_tokens: Some(max_tokens),
        tool: pick_tool(&names, choice, messages),
    })
}

// ---------------------------------------------------------------------------
// Chat answers

/// The answer to one chat request.
struct Reply<'m> {
    model: &'m str,
    shard: usize,
    /// Per-shard counter, for ids.
    n: u64,
    prompt: u64,
    words: usize,
    truncated: bool,
    tool: Option<String>,
}

impl<'m> Reply<'m> {
    fn new(req: &Req<'_, '_>, model: &'m str, turn: Turn) -> Reply<'m> {
        let full = req.shard.answer.tokens();
        let cap = turn
            .max_tokens
            .map_or(full, |m| usize::try_from(m).unwrap_or(usize::MAX));
        Reply {
            model,
            shard: req.shard.index,
            n: req.shard.next_id(),
            prompt: turn.prompt_tokens,
            words: full.min(cap),
            truncated: cap < full && turn.tool.is_none(),
            tool: turn.tool,
        }
    }

    fn output(&self) -> u64 {
        if self.tool.is_some() {
            TOOL_CALL_TOKENS
        } else {
            self.words as u64
        }
    }

    /// Converse and Anthropic name their stop reasons alike.
    fn stop(&self) -> &'static str {
        if self.tool.is_some() {
            "tool_use"
        } else if self.truncated {
            "max_tokens"
        } else {
            "end_turn"
        }
    }

    fn push_tool_id(&self, out: &mut Vec<u8>, prefix: &[u8]) {
        out.extend_from_slice(prefix);
        push_u64(out, self.n);
    }

    /// `"usage":{...}` in Converse's shape.
    fn push_converse_usage(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\"usage\":{\"inputTokens\":");
        push_u64(out, self.prompt);
        out.extend_from_slice(b",\"outputTokens\":");
        push_u64(out, self.output());
        out.extend_from_slice(b",\"totalTokens\":");
        push_u64(out, self.prompt + self.output());
        out.push(b'}');
    }
}

fn push_converse(out: &mut Vec<u8>, r: &Reply<'_>, answer: &Answer) {
    out.extend_from_slice(b"{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[");
    match &r.tool {
        Some(name) => {
            r.push_tool_id(out, b"{\"toolUse\":{\"toolUseId\":\"tooluse_");
            out.extend_from_slice(b"\",\"name\":");
            push_json_str(out, name);
            out.extend_from_slice(b",\"input\":{}}}");
        }
        None => {
            out.extend_from_slice(b"{\"text\":\"");
            out.extend_from_slice(answer.prefix(r.words).as_bytes());
            out.extend_from_slice(b"\"}");
        }
    }
    out.extend_from_slice(b"]}},\"stopReason\":\"");
    out.extend_from_slice(r.stop().as_bytes());
    out.extend_from_slice(b"\",");
    r.push_converse_usage(out);
    out.extend_from_slice(b",\"metrics\":{\"latencyMs\":1}}");
}

fn push_anthropic(out: &mut Vec<u8>, r: &Reply<'_>, answer: &Answer) {
    out.extend_from_slice(b"{\"id\":\"msg_bdrk_");
    push_u64(out, r.shard as u64);
    out.push(b'_');
    push_u64(out, r.n);
    out.extend_from_slice(b"\",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
    push_json_str(out, r.model);
    out.extend_from_slice(b",\"content\":[");
    match &r.tool {
        Some(name) => push_anthropic_tool(out, r, name),
        None => {
            out.extend_from_slice(b"{\"type\":\"text\",\"text\":\"");
            out.extend_from_slice(answer.prefix(r.words).as_bytes());
            out.extend_from_slice(b"\"}");
        }
    }
    out.extend_from_slice(b"],\"stop_reason\":\"");
    out.extend_from_slice(r.stop().as_bytes());
    out.extend_from_slice(b"\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":");
    push_u64(out, r.prompt);
    out.extend_from_slice(b",\"output_tokens\":");
    push_u64(out, r.output());
    out.extend_from_slice(b"}}");
}

/// `{"type":"tool_use","id":..,"name":..,"input":{}}`: the block of a plain
/// answer and of the stream's `content_block_start` alike.
fn push_anthropic_tool(out: &mut Vec<u8>, r: &Reply<'_>, name: &str) {
    r.push_tool_id(out, b"{\"type\":\"tool_use\",\"id\":\"toolu_bdrk_");
    out.extend_from_slice(b"\",\"name\":");
    push_json_str(out, name);
    out.extend_from_slice(b",\"input\":{}}");
}

/// The fragments a tool call's `{}` input streams in: clients must join them.
const TOOL_INPUT_PARTS: [&str; 2] = ["{", "}"];

/// Event-stream frames being built; each payload gets its `p` padding.
#[derive(Default)]
struct Frames(Vec<(Vec<u8>, bool)>);

impl Frames {
    /// One event message; `json` must be an object.
    fn event(&mut self, event_type: &str, json: &[u8], token: bool) {
        let mut payload = json[..json.len() - 1].to_vec();
        if payload.len() > 1 {
            payload.push(b',');
        }
        payload.extend_from_slice(b"\"p\":\"");
        payload.extend_from_slice(&PAD[..1 + (self.0.len() * 7) % (PAD.len() - 1)]);
        payload.extend_from_slice(b"\"}");
        let mut frame = Vec::with_capacity(payload.len() + 96);
        push_event_message(
            &mut frame,
            &[
                (":event-type", event_type),
                (":content-type", JSON),
                (":message-type", "event"),
            ],
            &payload,
        );
        self.0.push((frame, token));
    }

    /// An `InvokeModelWithResponseStream` chunk carrying one Anthropic event.
    fn chunk(&mut self, json: &[u8], token: bool) {
        let mut payload = b"{\"bytes\":\"".to_vec();
        payload.extend_from_slice(
            base64::engine::general_purpose::STANDARD
                .encode(json)
                .as_bytes(),
        );
        payload.extend_from_slice(b"\"}");
        self.event("chunk", &payload, token);
    }
}

fn converse_events(r: &Reply<'_>, answer: &Answer) -> Vec<(Vec<u8>, bool)> {
    let mut f = Frames::default();
    let mut j = Vec::with_capacity(256);
    f.event("messageStart", b"{\"role\":\"assistant\"}", false);
    let delta = |j: &mut Vec<u8>, open: &[u8], text: &str, close: &[u8]| {
        j.clear();
        j.extend_from_slice(b"{\"contentBlockIndex\":0,\"delta\":{");
        j.extend_from_slice(open);
        push_json_str(j, text);
        j.extend_from_slice(close);
    };
    match &r.tool {
        Some(name) => {
            r.push_tool_id(
                &mut j,
                b"{\"contentBlockIndex\":0,\"start\":{\"toolUse\":{\"toolUseId\":\"tooluse_",
            );
            j.extend_from_slice(b"\",\"name\":");
            push_json_str(&mut j, name);
            j.extend_from_slice(b"}}}");
            f.event("contentBlockStart", &j, false);
            for part in TOOL_INPUT_PARTS {
                delta(&mut j, b"\"toolUse\":{\"input\":", part, b"}}}");
                f.event("contentBlockDelta", &j, true);
            }
        }
        None => {
            for i in 0..r.words {
                delta(&mut j, b"\"text\":", answer.piece(i), b"}}");
                f.event("contentBlockDelta", &j, true);
            }
        }
    }
    f.event("contentBlockStop", b"{\"contentBlockIndex\":0}", false);
    j.clear();
    j.extend_from_slice(b"{\"stopReason\":\"");
    j.extend_from_slice(r.stop().as_bytes());
    j.extend_from_slice(b"\"}");
    f.event("messageStop", &j, false);
    j.clear();
    j.push(b'{');
    r.push_converse_usage(&mut j);
    j.extend_from_slice(b",\"metrics\":{\"latencyMs\":1}}");
    f.event("metadata", &j, false);
    f.0
}

fn anthropic_events(r: &Reply<'_>, answer: &Answer) -> Vec<(Vec<u8>, bool)> {
    let mut f = Frames::default();
    let mut j = Vec::with_capacity(256);
    j.extend_from_slice(b"{\"type\":\"message_start\",\"message\":{\"id\":\"msg_bdrk_");
    push_u64(&mut j, r.shard as u64);
    j.push(b'_');
    push_u64(&mut j, r.n);
    j.extend_from_slice(b"\",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
    push_json_str(&mut j, r.model);
    j.extend_from_slice(
        b",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":",
    );
    push_u64(&mut j, r.prompt);
    j.extend_from_slice(b",\"output_tokens\":1}}}");
    f.chunk(&j, false);
    j.clear();
    j.extend_from_slice(b"{\"type\":\"content_block_start\",\"index\":0,\"content_block\":");
    match &r.tool {
        Some(name) => push_anthropic_tool(&mut j, r, name),
        None => j.extend_from_slice(b"{\"type\":\"text\",\"text\":\"\"}"),
    }
    j.push(b'}');
    f.chunk(&j, false);
    let delta = |j: &mut Vec<u8>, kind: &[u8], text: &str| {
        j.clear();
        j.extend_from_slice(b"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":");
        j.extend_from_slice(kind);
        push_json_str(j, text);
        j.extend_from_slice(b"}}");
    };
    if r.tool.is_some() {
        for part in TOOL_INPUT_PARTS {
            delta(&mut j, b"\"input_json_delta\",\"partial_json\":", part);
            f.chunk(&j, true);
        }
    } else {
        for i in 0..r.words {
            delta(&mut j, b"\"text_delta\",\"text\":", answer.piece(i));
            f.chunk(&j, true);
        }
    }
    f.chunk(b"{\"type\":\"content_block_stop\",\"index\":0}", false);
    j.clear();
    j.extend_from_slice(b"{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"");
    j.extend_from_slice(r.stop().as_bytes());
    j.extend_from_slice(b"\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":");
    push_u64(&mut j, r.output());
    j.extend_from_slice(b"}}");
    f.chunk(&j, false);
    j.clear();
    j.extend_from_slice(
        b"{\"type\":\"message_stop\",\"amazon-bedrock-invocationMetrics\":{\"inputTokenCount\":",
    );
    push_u64(&mut j, r.prompt);
    j.extend_from_slice(b",\"outputTokenCount\":");
    push_u64(&mut j, r.output());
    j.extend_from_slice(b",\"invocationLatency\":1,\"firstByteLatency\":1}}");
    f.chunk(&j, false);
    f.0
}

/// One `application/vnd.amazon.eventstream` message: total length and
/// headers length (u32 BE), the CRC32 of those 8 bytes, headers (name length
/// u8, name, type 7 = string, u16 BE length, value), the payload, and the
/// CRC32 of everything before it.
fn push_event_message(out: &mut Vec<u8>, headers: &[(&str, &str)], payload: &[u8]) {
    let start = out.len();
    let headers_len: usize = headers.iter().map(|(n, v)| 4 + n.len() + v.len()).sum();
    let total = 12 + headers_len + payload.len() + 4;
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(headers_len as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    for (name, value) in headers {
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        out.push(7);
        out.extend_from_slice(&(value.len() as u16).to_be_bytes());
        out.extend_from_slice(value.as_bytes());
    }
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

// ---------------------------------------------------------------------------
// Embeddings

#[derive(Clone, Copy, Debug, PartialEq)]
enum Embedder {
    TitanV1,
    TitanV2,
    Cohere,
    /// Another embedding model: the mock has no invoke format for it.
    Unknown,
}

impl Embedder {
    fn of(model: &str) -> Option<Embedder> {
        if model.contains("titan-embed-text-v1") || model.contains("titan-embed-g1-text") {
            Some(Embedder::TitanV1)
        } else if model.contains("titan-embed-text-v2") {
            Some(Embedder::TitanV2)
        } else if model.contains("cohere.embed") {
            Some(Embedder::Cohere)
        } else if model.contains("embed") {
            Some(Embedder::Unknown)
        } else {
            None
        }
    }

    /// Writes the answer to `body` into `out`; returns the input tokens.
    fn answer(self, body: &Value, out: &mut Vec<u8>) -> Result<u64, AwsError> {
        let o = body
            .as_object()
            .ok_or_else(|| AwsError::malformed("#: expected type: JSONObject"))?;
        let allowed: &[&str] = match self {
            Embedder::TitanV1 => &["inputText"],
            Embedder::TitanV2 => &["inputText", "dimensions", "normalize", "embeddingTypes"],
            Embedder::Cohere => &[
                "texts",
                "images",
                "input_type",
                "truncate",
                "embedding_types",
            ],
            Embedder::Unknown => {
                return Err(AwsError::invalid(
                    "The provided model identifier is invalid.",
                ))
            }
        };
        if let Some(k) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(AwsError::malformed(&format!(
                "#: extraneous key [{k}] is not permitted"
            )));
        }
        if self == Embedder::Cohere {
            cohere_embed(o, out)
        } else {
            titan_embed(o, self == Embedder::TitanV2, out)
        }
    }
}

fn titan_embed(o: &Map<String, Value>, v2: bool, out: &mut Vec<u8>) -> Result<u64, AwsError> {
    let text = match o.get("inputText") {
        Some(Value::String(t)) if !t.is_empty() => t,
        Some(_) => return Err(AwsError::malformed("#/inputText: expected minLength: 1")),
        None => return Err(AwsError::malformed("#: required key [inputText] not found")),
    };
    let dims = match o.get("dimensions") {
        None => {
            if v2 {
                1024
            } else {
                1536
            }
        }
        Some(d) => match d.as_u64() {
            Some(n @ (256 | 512 | 1024)) => n as usize,
            _ => {
                return Err(AwsError::malformed(&format!(
                    "#/dimensions: {d} is not a valid enum value"
                )))
            }
        },
    };
    let normalize = match o.get("normalize") {
        None => v2,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(AwsError::malformed("#/normalize: expected type: Boolean")),
    };
    let types: Vec<&str> = match o.get("embeddingTypes") {
        None => vec!["float"],
        Some(Value::Array(t)) if !t.is_empty() => t
            .iter()
            .map(|x| match x.as_str() {
                Some(s @ ("float" | "binary")) => Ok(s),
                _ => Err(AwsError::malformed(&format!(
                    "#/embeddingTypes: {x} is not a valid enum value"
                ))),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(AwsError::malformed(
                "#/embeddingTypes: expected minItems: 1",
            ))
        }
    };
    let v = vector(text, dims, normalize);
    let tokens = text.split_whitespace().count() as u64;
    out.extend_from_slice(b"{\"embedding\":");
    push_typed(out, &v, "float");
    if v2 {
        out.extend_from_slice(b",\"embeddingsByType\":{");
        for (i, t) in types.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_json_str(out, t);
            out.push(b':');
            push_typed(out, &v, t);
        }
        out.push(b'}');
    }
    out.extend_from_slice(b",\"inputTextTokenCount\":");
    push_u64(out, tokens);
    out.push(b'}');
    Ok(tokens)
}

const COHERE_INPUT_TYPES: [&str; 5] = [
    "search_document",
    "search_query",
    "classification",
    "clustering",
    "image",
];
const COHERE_EMBEDDING_TYPES: [&str; 5] = ["float", "int8", "uint8", "binary", "ubinary"];
const COHERE_DIMS: usize = 1024;
const COHERE_MAX_TEXTS: usize = 96;

fn cohere_embed(o: &Map<String, Value>, out: &mut Vec<u8>) -> Result<u64, AwsError> {
    let texts: Vec<&str> = match o.get("texts") {
        Some(Value::Array(t)) if !t.is_empty() && t.len() <= COHERE_MAX_TEXTS => t
            .iter()
            .map(|x| {
                x.as_str()
                    .ok_or_else(|| AwsError::malformed("#/texts: expected type: String"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(AwsError::malformed(&format!(
                "#/texts: expected between 1 and {COHERE_MAX_TEXTS} items"
            )))
        }
        None => return Err(AwsError::malformed("#: required key [texts] not found")),
    };
    match o.get("input_type") {
        Some(Value::String(t)) if COHERE_INPUT_TYPES.contains(&t.as_str()) => {}
        Some(t) => {
            return Err(AwsError::malformed(&format!(
                "#/input_type: {t} is not a valid enum value"
            )))
        }
        None => {
            return Err(AwsError::malformed(
                "#: required key [input_type] not found",
            ))
        }
    }
    if let Some(t) = o.get("truncate") {
        if !matches!(t.as_str(), Some("NONE" | "START" | "END")) {
            return Err(AwsError::malformed(&format!(
                "#/truncate: {t} is not a valid enum value"
            )));
        }
    }
    let types: Option<Vec<&str>> = match o.get("embedding_types") {
        None => None,
        Some(Value::Array(t)) => Some(
            t.iter()
                .map(|x| match x.as_str() {
                    Some(s) if COHERE_EMBEDDING_TYPES.contains(&s) => Ok(s),
                    _ => Err(AwsError::malformed(&format!(
                        "#/embedding_types: {x} is not a valid enum value"
                    ))),
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => {
            return Err(AwsError::malformed(
                "#/embedding_types: expected type: JSONArray",
            ))
        }
    };
    let vectors: Vec<Vec<f32>> = texts.iter().map(|t| vector(t, COHERE_DIMS, true)).collect();
    let push_all = |out: &mut Vec<u8>, kind: &str| {
        out.push(b'[');
        for (i, v) in vectors.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_typed(out, v, kind);
        }
        out.push(b']');
    };
    out.extend_from_slice(b"{\"embeddings\":");
    match &types {
        None => push_all(out, "float"),
        Some(types) => {
            out.push(b'{');
            for (i, t) in types.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_json_str(out, t);
                out.push(b':');
                push_all(out, t);
            }
            out.push(b'}');
        }
    }
    out.extend_from_slice(b",\"id\":\"");
    let digest = digest::digest(&digest::SHA256, texts.concat().as_bytes());
    out.extend_from_slice(hex(&digest.as_ref()[..16]).as_bytes());
    out.extend_from_slice(b"\",\"response_type\":");
    out.extend_from_slice(if types.is_some() {
        b"\"embeddings_by_type\""
    } else {
        b"\"embeddings_floats\""
    });
    out.extend_from_slice(b",\"texts\":[");
    for (i, t) in texts.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_json_str(out, t);
    }
    out.extend_from_slice(b"]}");
    Ok(texts
        .iter()
        .map(|t| t.split_whitespace().count() as u64)
        .sum())
}

/// A deterministic vector for `text`: xorshift seeded by FNV-1a of the text,
/// components in [-1, 1), optionally scaled to unit length.
fn vector(text: &str, dims: usize, normalize: bool) -> Vec<f32> {
    let mut h = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) | 1;
    let mut v: Vec<f32> = (0..dims)
        .map(|_| {
            h ^= h << 13;
            h ^= h >> 7;
            h ^= h << 17;
            (h >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect();
    if normalize {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
    }
    v
}

/// `v` as a JSON array in an embedding type: floats, int8/uint8 scaled, or
/// binary/ubinary sign bits packed eight to a byte.
fn push_typed(out: &mut Vec<u8>, v: &[f32], kind: &str) {
    use std::io::Write as _;
    out.push(b'[');
    let mut first = true;
    let mut sep = |out: &mut Vec<u8>| {
        if !first {
            out.push(b',');
        }
        first = false;
    };
    match kind {
        "binary" | "ubinary" => {
            for chunk in v.chunks(8) {
                let byte = chunk
                    .iter()
                    .enumerate()
                    .fold(0u8, |b, (i, x)| b | (u8::from(*x > 0.0) << (7 - i)));
                sep(out);
                if kind == "binary" {
                    let _ = write!(out, "{}", i16::from(byte) - 128);
                } else {
                    push_u64(out, u64::from(byte));
                }
            }
        }
        _ => {
            for x in v {
                sep(out);
                let _ = match kind {
                    "int8" => write!(out, "{}", (x.clamp(-1.0, 1.0) * 127.0).round() as i8),
                    "uint8" => write!(
                        out,
                        "{}",
                        ((x.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
                    ),
                    _ => write!(out, "{x}"),
                };
            }
        }
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use crate::http::{parse_head, HeadResult};
    use crate::{Config, Shard};

    const KEY_ID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const SONNET: &str = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0";

    // ---- test-only helpers, written from the specs, not from the code above

    fn sha_hex(b: &[u8]) -> String {
        digest::digest(&digest::SHA256, b)
            .as_ref()
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect()
    }

    fn hmac_of(key: &[u8], data: &str) -> Vec<u8> {
        let k = hmac::Key::new(hmac::HMAC_SHA256, key);
        hmac::sign(&k, data.as_bytes()).as_ref().to_vec()
    }

    fn encode(seg: &str) -> String {
        seg.bytes()
            .map(|c| {
                if c.is_ascii_alphanumeric() || b"-_.~".contains(&c) {
                    (c as char).to_string()
                } else {
                    format!("%{c:02X}")
                }
            })
            .collect()
    }

    /// A SigV4 `Authorization` for a Bedrock request. `headers` are the signed
    /// ones, lower-case; `query` is already canonical.
    fn sign(
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        key_id: &str,
        secret: &str,
    ) -> String {
        let mut hs = headers.to_vec();
        hs.sort();
        let date = hs.iter().find(|h| h.0 == "x-amz-date").unwrap().1;
        let uri: Vec<String> = path.split('/').map(encode).collect();
        let canonical_headers: String = hs
            .iter()
            .map(|(n, v)| format!("{n}:{}\n", v.trim()))
            .collect();
        let names: Vec<&str> = hs.iter().map(|h| h.0).collect();
        let signed = names.join(";");
        let creq = format!(
            "POST\n{}\n{query}\n{canonical_headers}\n{signed}\n{}",
            uri.join("/"),
            sha_hex(body)
        );
        let scope = format!("{}/us-west-2/bedrock/aws4_request", &date[..8]);
        let sts = format!(
            "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
            sha_hex(creq.as_bytes())
        );
        let mut k = format!("AWS4{secret}").into_bytes();
        for part in [&date[..8], "us-west-2", "bedrock", "aws4_request"] {
            k = hmac_of(&k, part);
        }
        let sig: String = hmac_of(&k, &sts)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect();
        format!(
            "AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={signed}, Signature={sig}"
        )
    }

    /// Decodes event-stream messages, checking both CRCs of each.
    /// Each message's (name, value) headers and payload.
    type Messages = Vec<(Vec<(String, String)>, Vec<u8>)>;

    fn decode_events(mut b: &[u8]) -> Result<Messages, String> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let u32_at = |b: &[u8], i: usize| -> Result<usize, String> {
                let s = b.get(i..i + 4).ok_or("short")?;
                Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)
            };
            let total = u32_at(b, 0)?;
            let hlen = u32_at(b, 4)?;
            if u32_at(b, 8)? != crc32fast::hash(&b[..8]) as usize {
                return Err("prelude crc".into());
            }
            let msg = b.get(..total).ok_or("truncated")?;
            if u32_at(msg, total - 4)? != crc32fast::hash(&msg[..total - 4]) as usize {
                return Err("message crc".into());
            }
            let mut h = &msg[12..12 + hlen];
            let mut headers = Vec::new();
            while !h.is_empty() {
                let n = h[0] as usize;
                let name = String::from_utf8(h[1..1 + n].to_vec()).unwrap();
                if h[1 + n] != 7 {
                    return Err("header type".into());
                }
                let vlen = u16::from_be_bytes([h[2 + n], h[3 + n]]) as usize;
                let value = String::from_utf8(h[4 + n..4 + n + vlen].to_vec()).unwrap();
                headers.push((name, value));
                h = &h[4 + n + vlen..];
            }
            out.push((headers, msg[12 + hlen..total - 4].to_vec()));
            b = &b[total..];
        }
        Ok(out)
    }

    fn shard_with(cfg: Config) -> Shard {
        Shard::new(Arc::new(Config { tokens: 4, ..cfg }), 0, 1)
    }

    fn shard() -> Shard {
        shard_with(Config::default())
    }

    /// What came back: status, head, body (a stream's messages
    /// concatenated), and for streams the frames' token flags.
    struct Answered {
        status: u16,
        head: String,
        body: Vec<u8>,
        tokens: Vec<bool>,
        cut_after: Option<u32>,
    }

    impl Answered {
        fn json(&self) -> Value {
            serde_json::from_slice(&self.body).unwrap()
        }

        fn error_type(&self) -> &str {
            let at = self.head.find("x-amzn-ErrorType: ").unwrap() + 18;
            let rest = &self.head[at..];
            &rest[..rest.find(':').unwrap()]
        }
    }

    fn call_raw(shard: &Shard, head: &str, body: &[u8]) -> Answered {
        let raw = head.as_bytes();
        let HeadResult::Done(h) = parse_head(raw) else {
            panic!("bad head {head}")
        };
        let (mut out, mut scratch) = (Vec::new(), Vec::new());
        let plan = crate::api::handle(shard, &h, raw, body, &mut out, &mut scratch);
        let text = String::from_utf8_lossy(&out).into_owned();
        let split = text.find("\r\n\r\n").expect("a response head") + 4;
        let status = text[9..12].parse().unwrap();
        let mut a = Answered {
            status,
            head: text[..split].to_owned(),
            body: out[split..].to_vec(),
            tokens: Vec::new(),
            cut_after: None,
        };
        if let Plan::Stream {
            mut events,
            cut_after,
            ..
        } = plan
        {
            a.cut_after = cut_after;
            let mut buf = Vec::new();
            while let Some(token) = events.next(&shard.answer, &mut buf) {
                a.tokens.push(token);
            }
            a.body = buf;
        }
        a
    }

    fn call(shard: &Shard, path: &str, body: &str) -> Answered {
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
             content-length: {}\r\n\r\n",
            body.len()
        );
        call_raw(shard, &head, body.as_bytes())
    }

    fn events(a: &Answered) -> Vec<(String, Value)> {
        decode_events(&a.body)
            .unwrap()
            .into_iter()
            .map(|(h, p)| {
                assert_eq!(h[1], (":content-type".into(), "application/json".into()));
                assert_eq!(h[2], (":message-type".into(), "event".into()));
                let v: Value = serde_json::from_slice(&p).unwrap();
                assert!(
                    v["p"].as_str().is_some_and(|p| !p.is_empty()),
                    "padding in {v}"
                );
                (h[0].1.clone(), v)
            })
            .collect()
    }

    const HELLO: &str = r#"{"messages":[{"role":"user","content":[{"text":"hello there you"}]}]}"#;

    // ---- SigV4

    /// The AWS documentation's worked example (IAM ListUsers) and the test
    /// suite's get-vanilla cases, through the verifier's own pieces.
    #[test]
    fn aws_published_sigv4_examples() {
        let key = signing_key(SECRET, "20120215", "us-east-1", "iam");
        assert_eq!(
            hex(&key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
        let signature = |s: &Signed<'_>, names: &str, scope: &str| {
            let list: Vec<&str> = names.split(';').collect();
            let creq = canonical_request(s, &list, names).unwrap();
            let date = "20150830T123600Z";
            let parts: Vec<&str> = scope.split('/').collect();
            let k = signing_key(SECRET, parts[0], parts[1], parts[2]);
            let sts = string_to_sign(date, scope, &creq);
            let k = hmac::Key::new(hmac::HMAC_SHA256, &k);
            (sha_hex(&creq), hex(hmac::sign(&k, sts.as_bytes()).as_ref()))
        };
        let iam = Signed {
            method: "GET",
            path: b"/",
            query: b"Action=ListUsers&Version=2010-05-08",
            headers: vec![
                ("Host", &b"iam.amazonaws.com"[..]),
                (
                    "Content-Type",
                    b"application/x-www-form-urlencoded; charset=utf-8",
                ),
                ("X-Amz-Date", b"20150830T123600Z"),
            ],
            body: b"",
        };
        let (creq_hash, sig) = signature(
            &iam,
            "content-type;host;x-amz-date",
            "20150830/us-east-1/iam",
        );
        assert_eq!(
            creq_hash,
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        assert_eq!(
            sig,
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
        let mut vanilla = Signed {
            method: "GET",
            path: b"/",
            query: b"",
            headers: vec![
                ("Host", &b"example.amazonaws.com"[..]),
                ("X-Amz-Date", b"20150830T123600Z"),
            ],
            body: b"",
        };
        let scope = "20150830/us-east-1/service";
        let (creq_hash, sig) = signature(&vanilla, "host;x-amz-date", scope);
        assert_eq!(
            creq_hash,
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
        );
        assert_eq!(
            sig,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        // get-vanilla-query-order-key-case: the query is sorted first.
        vanilla.query = b"Param2=value2&Param1=value1";
        assert_eq!(
            signature(&vanilla, "host;x-amz-date", scope).1,
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        );
    }

    #[test]
    fn canonical_pieces() {
        let mut out = Vec::new();
        push_canonical_uri(&mut out, b"/model/anthropic.claude-v2%3A1/invoke");
        assert_eq!(out, b"/model/anthropic.claude-v2%253A1/invoke");
        out.clear();
        push_canonical_query(&mut out, b"b=2&a=x%20y&a=1&flag");
        assert_eq!(out, b"a=1&a=x%20y&b=2&flag=");
        out.clear();
        push_trimmed(&mut out, b"  a   b  c ");
        assert_eq!(out, b"a b c");
        assert_eq!(percent_decode(b"a%3Ab%zz%4"), b"a:b%zz%4");
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(format_amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(format_amz_date(951_782_400), "20000229T000000Z");
        assert_eq!(parse_amz_date("2015-08-30T12:36:00Z"), None);
        assert_eq!(parse_amz_date("20151330T123600Z"), None);
        assert_eq!(hex_to_bytes("0aff"), Some(vec![10, 255]));
        assert_eq!(hex_to_bytes("0AFF"), None);
        assert_eq!(hex_to_bytes("+1"), None);
    }

    fn signing_shard() -> Shard {
        shard_with(Config {
            aws_access_key_id: Some(KEY_ID.into()),
            aws_secret_access_key: Some(SECRET.into()),
            ..Config::default()
        })
    }

    fn now_amz() -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        format_amz_date(now)
    }

    /// A request signed over `signed_path`/`signed_body`, sent with `path`,
    /// `body` and `extra` unsigned header lines.
    #[allow(clippy::too_many_arguments)]
    fn signed_call(
        shard: &Shard,
        signed_path: &str,
        path: &str,
        signed_body: &str,
        body: &str,
        date: &str,
        key_id: &str,
        signed_extra: &[(&str, &str)],
        extra: &str,
    ) -> Answered {
        let mut headers = vec![
            ("host", "bedrock-runtime.us-west-2.amazonaws.com"),
            ("content-type", "application/json"),
            ("x-amz-date", date),
        ];
        headers.extend_from_slice(signed_extra);
        let auth = sign(
            signed_path,
            "",
            &headers,
            signed_body.as_bytes(),
            key_id,
            SECRET,
        );
        let mut head = format!("POST {path} HTTP/1.1\r\n");
        for (n, v) in &headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str(&format!(
            "Authorization: {auth}\r\n{extra}content-length: {}\r\n\r\n",
            body.len()
        ));
        call_raw(shard, &head, body.as_bytes())
    }

    #[test]
    fn signed_requests_pass_and_tampered_ones_fail() {
        let s = signing_shard();
        let path = format!("{SONNET}/converse");
        let date = now_amz();
        let ok = |a: Answered| assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        ok(signed_call(
            &s,
            &path,
            &path,
            HELLO,
            HELLO,
            &date,
            KEY_ID,
            &[],
            "",
        ));
        // Unsigned headers may be added (proxies do).
        ok(signed_call(
            &s,
            &path,
            &path,
            HELLO,
            HELLO,
            &date,
            KEY_ID,
            &[],
            "user-agent: x\r\n",
        ));
        let token = [("x-amz-security-token", "FwoGZXIvYXdzE")];
        ok(signed_call(
            &s, &path, &path, HELLO, HELLO, &date, KEY_ID, &token, "",
        ));

        let rejected = |a: Answered, kind: &str| {
            assert_eq!(a.status, 403);
            assert_eq!(a.error_type(), kind);
            a.json()["message"].as_str().unwrap().to_owned()
        };
        let other = HELLO.replace("hello", "howdy");
        let msg = rejected(
            signed_call(&s, &path, &path, HELLO, &other, &date, KEY_ID, &[], ""),
            "InvalidSignatureException",
        );
        assert!(msg.starts_with("The request signature we calculated does not match"));
        let other_path = format!("{SONNET}/converse").replace("sonnet", "opus");
        rejected(
            signed_call(&s, &path, &other_path, HELLO, HELLO, &date, KEY_ID, &[], ""),
            "InvalidSignatureException",
        );
        // A signed header changed on the way: content-type sent twice joins
        // its values, which no longer match what was signed.
        rejected(
            signed_call(
                &s,
                &path,
                &path,
                HELLO,
                HELLO,
                &date,
                KEY_ID,
                &[],
                "content-type: text/plain\r\n",
            ),
            "InvalidSignatureException",
        );
        rejected(
            signed_call(
                &s,
                &path,
                &path,
                HELLO,
                HELLO,
                &date,
                KEY_ID,
                &[],
                "x-amz-security-token: t\r\n",
            ),
            "InvalidSignatureException",
        );
        rejected(
            signed_call(&s, &path, &path, HELLO, HELLO, &date, "AKIDOTHER", &[], ""),
            "UnrecognizedClientException",
        );
        let msg = rejected(
            signed_call(
                &s,
                &path,
                &path,
                HELLO,
                HELLO,
                "20200101T000000Z",
                KEY_ID,
                &[],
                "",
            ),
            "InvalidSignatureException",
        );
        assert!(msg.starts_with("Signature expired: 20200101T000000Z is now earlier than"));
        let a = call(&s, &path, HELLO);
        assert_eq!(
            rejected(a, "MissingAuthenticationTokenException"),
            "Missing Authentication Token"
        );
    }

    #[test]
    fn authorization_header_shape_is_checked() {
        let date = now_amz();
        let now = parse_amz_date(&date).unwrap();
        let check = |auth: &str, now: u64| {
            let s = Signed {
                method: "POST",
                path: b"/model/m/converse",
                query: b"",
                headers: vec![
                    ("host", &b"h"[..]),
                    ("x-amz-date", date.as_bytes()),
                    ("authorization", auth.as_bytes()),
                ],
                body: b"",
            };
            verify_sigv4(&s, KEY_ID, SECRET, now).unwrap_err()
        };
        let kind = |auth: &str| check(auth, now).kind;
        let d = &date[..8];
        let full = |service: &str, day: &str, names: &str| {
            format!(
                "AWS4-HMAC-SHA256 Credential={KEY_ID}/{day}/us-east-1/{service}/aws4_request, \
                 SignedHeaders={names}, Signature=00"
            )
        };
        assert_eq!(kind("Bearer abc"), "IncompleteSignatureException");
        let no_signature =
            format!("AWS4-HMAC-SHA256 Credential={KEY_ID}/{d}/us-east-1/bedrock/aws4_request");
        assert!(check(&no_signature, now).message.starts_with(
            "Authorization header requires 'Signature' parameter. Authorization header requires \
             'SignedHeaders' parameter."
        ));
        assert_eq!(
            check(&full("s3", d, "host;x-amz-date"), now).message,
            "Credential should be scoped to correct service: 'bedrock'. "
        );
        assert_eq!(
            kind(&full("bedrock", d, "x-amz-date")),
            "IncompleteSignatureException"
        );
        assert!(check(&full("bedrock", "19990101", "host;x-amz-date"), now)
            .message
            .starts_with("Date in Credential scope does not match"));
        // Unsorted names are not canonical; `Host` is not `host`.
        assert_eq!(
            kind(&full("bedrock", d, "x-amz-date;host")),
            "InvalidSignatureException"
        );
        assert_eq!(
            kind(&full("bedrock", d, "Host;x-amz-date")),
            "IncompleteSignatureException"
        );
        // The clock: 15 minutes either way.
        assert!(check(&full("bedrock", d, "host;x-amz-date"), now - 16 * 60)
            .message
            .starts_with("Signature not yet current"));
        assert_eq!(
            kind(&full("bedrock", d, "host;x-amz-date")),
            "InvalidSignatureException"
        );
    }

    // ---- event stream

    #[test]
    fn event_stream_round_trips_with_valid_crcs() {
        let mut buf = Vec::new();
        push_event_message(
            &mut buf,
            &[(":event-type", "chunk"), (":message-type", "event")],
            b"{\"a\":1}",
        );
        push_event_message(&mut buf, &[], b"");
        let got = decode_events(&buf).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].0,
            vec![
                (":event-type".into(), "chunk".into()),
                (":message-type".into(), "event".into())
            ]
        );
        assert_eq!(got[0].1, b"{\"a\":1}");
        assert_eq!(got[1], (vec![], vec![]));
        // The empty message is exactly prelude + CRC: 16 bytes.
        assert_eq!(
            buf.len() - 16,
            u32::from_be_bytes(buf[..4].try_into().unwrap()) as usize
        );
        for flip in [9usize, 20, buf.len() - 20] {
            let mut bad = buf.clone();
            bad[flip] ^= 1;
            assert!(decode_events(&bad).is_err(), "flipped byte {flip}");
        }
    }

    // ---- Converse

    #[test]
    fn converse_answers_like_bedrock() {
        let s = shard();
        let a = call(&s, &format!("{SONNET}/converse"), HELLO);
        assert_eq!(a.status, 200);
        assert!(a.head.contains("x-amzn-RequestId: "));
        assert_eq!(
            a.json(),
            serde_json::json!({"output":{"message":{"role":"assistant","content":[{"text":"tok0 tok1 tok2 tok3"}]}},
                "stopReason":"end_turn","usage":{"inputTokens":3,"outputTokens":4,"totalTokens":7},
                "metrics":{"latencyMs":1}})
        );
        let capped = r#"{"messages":[{"role":"user","content":[{"text":"a"}]}],"system":[{"text":"be brief"},{"cachePoint":{"type":"default"}}],"inferenceConfig":{"maxTokens":2,"temperature":0.5,"topP":1,"stopSequences":["x"]}}"#;
        let v = call(&s, &format!("{SONNET}/converse"), capped).json();
        assert_eq!(v["output"]["message"]["content"][0]["text"], "tok0 tok1");
        assert_eq!(v["stopReason"], "max_tokens");
        assert_eq!(v["usage"]["inputTokens"], 3);
    }

    const TOOLS: &str = r#""toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","description":"d","inputSchema":{"json":{"type":"object","properties":{}}}}},{"toolSpec":{"name":"other","inputSchema":{"json":{}}}}]"#;

    #[test]
    fn converse_calls_tools_when_asked() {
        let s = shard();
        let path = format!("{SONNET}/converse");
        let asked = format!(
            r#"{{"messages":[{{"role":"user","content":[{{"text":"Please CALL A TOOL now"}}]}}],{TOOLS}}}}}"#
        );
        let v = call(&s, &path, &asked).json();
        let tool = &v["output"]["message"]["content"][0]["toolUse"];
        assert_eq!(tool["name"], "get_weather");
        assert_eq!(tool["input"], serde_json::json!({}));
        assert!(tool["toolUseId"].as_str().unwrap().starts_with("tooluse_"));
        assert_eq!(v["stopReason"], "tool_use");
        let named = format!(
            r#"{{"messages":[{{"role":"user","content":[{{"text":"hi"}}]}}],{TOOLS},"toolChoice":{{"tool":{{"name":"other"}}}}}}}}"#
        );
        assert_eq!(
            call(&s, &path, &named).json()["output"]["message"]["content"][0]["toolUse"]["name"],
            "other"
        );
        let plain =
            format!(r#"{{"messages":[{{"role":"user","content":[{{"text":"hi"}}]}}],{TOOLS}}}}}"#);
        assert_eq!(call(&s, &path, &plain).json()["stopReason"], "end_turn");
        // A full tool round trip validates.
        let round = format!(
            r#"{{"messages":[{{"role":"user","content":[{{"text":"call a tool"}}]}},
            {{"role":"assistant","content":[{{"text":"ok"}},{{"toolUse":{{"toolUseId":"t1","name":"get_weather","input":{{}}}}}}]}},
            {{"role":"user","content":[{{"toolResult":{{"toolUseId":"t1","content":[{{"text":"sunny and warm"}},{{"json":{{"t":1}}}}],"status":"success"}}}}]}}],{TOOLS}}}}}"#
        );
        let v = call(&s, &path, &round).json();
        assert_eq!(v["usage"]["inputTokens"], 3 + 1 + 3);
    }

    #[test]
    fn converse_validation_errors() {
        let s = shard();
        let path = format!("{SONNET}/converse");
        let msg = |body: &str| {
            let a = call(&s, &path, body);
            assert_eq!(a.status, 400, "{body}");
            assert_eq!(a.error_type(), "ValidationException");
            a.json()["message"].as_str().unwrap().to_owned()
        };
        let user =
            |content: &str| format!(r#"{{"messages":[{{"role":"user","content":[{content}]}}]}}"#);
        assert!(msg("{}")
            .contains("at 'messages' failed to satisfy constraint: Member must not be null"));
        assert!(
            msg(r#"{"messages":[]}"#).starts_with("A conversation must start with a user message")
        );
        assert!(
            msg(r#"{"messages":[{"role":"assistant","content":[{"text":"x"}]}]}"#)
                .starts_with("A conversation must start with a user message")
        );
        assert!(msg(r#"{"messages":[{"role":"user","content":[{"text":"x"}]},{"role":"user","content":[{"text":"y"}]}]}"#).starts_with("A conversation must alternate"));
        assert!(
            msg(r#"{"messages":[{"role":"system","content":[{"text":"x"}]}]}"#)
                .contains("enum value set: [user, assistant]")
        );
        assert!(msg(r#"{"messages":[{"role":"user","content":[]}]}"#)
            .starts_with("The content field in the Message object at messages.0 is empty"));
        assert!(msg(&user(r#"{"text":"  "}"#)).starts_with(
            "The text field in the ContentBlock object at messages.0.content.0 is blank"
        ));
        assert!(msg(&user(r#"{"text":"a","image":{}}"#)).contains("exactly one of the members"));
        assert!(msg(&user(r#"{"bogus":"a"}"#)).contains("exactly one of the members"));
        assert!(msg(&user(
            r#"{"image":{"format":"bmp","source":{"bytes":"AAAA"}}}"#
        ))
        .contains("[png, jpeg, gif, webp]"));
        assert!(msg(&user(
            r#"{"image":{"format":"png","source":{"bytes":"not base64!"}}}"#
        ))
        .contains("base64"));
        assert!(msg(&user(
            r#"{"document":{"format":"pdf","source":{"bytes":"AAAA"}}}"#
        ))
        .contains("document.name"));
        assert!(
            msg(r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"temperature":1}"#)
                .contains("extraneous key [temperature]")
        );
        assert!(msg(r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"topK":3}}"#).contains("extraneous key [topK]"));
        assert!(msg(r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"maxTokens":0}}"#).contains("greater than or equal to 1"));
        assert!(msg(r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"temperature":2}}"#).contains("between 0 and 1"));
        assert!(msg(
            r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"toolConfig":{"tools":[]}}"#
        )
        .contains("toolConfig.tools"));
        assert!(msg(r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"bad name","inputSchema":{"json":{}}}}]}}"#).contains("regular expression"));
        assert!(msg(r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{}}}]}}"#).contains("inputSchema"));
        assert!(msg(r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"f"}}]}}"#).contains("inputSchema"));
        let turns = |result_id: &str, tools: &str| {
            format!(
                r#"{{"messages":[{{"role":"user","content":[{{"text":"x"}}]}},
                {{"role":"assistant","content":[{{"toolUse":{{"toolUseId":"t1","name":"f","input":{{}}}}}}]}},
                {{"role":"user","content":[{{"toolResult":{{"toolUseId":"{result_id}","content":[{{"text":"r"}}]}}}}]}}]{tools}}}"#
            )
        };
        assert!(msg(&turns("t1", "")).starts_with("The toolConfig field must be defined"));
        assert!(msg(&turns("t2", &format!(",{TOOLS}}}")))
            .contains("exceeds the number of toolUse blocks"));
        let unanswered = format!(
            r#"{{"messages":[{{"role":"user","content":[{{"text":"x"}}]}},
            {{"role":"assistant","content":[{{"toolUse":{{"toolUseId":"t1","name":"f","input":{{}}}}}}]}},
            {{"role":"user","content":[{{"text":"y"}}]}}],{TOOLS}}}}}"#
        );
        assert_eq!(
            msg(&unanswered),
            "Expected toolResult blocks at messages.2.content for the following Ids: t1"
        );
        assert!(msg(&user(
            r#"{"toolUse":{"toolUseId":"t","name":"f","input":{}}}"#
        ))
        .contains("only allowed in an assistant message"));
        assert!(msg("not json").starts_with("Malformed input request"));
        // An embedding model cannot converse.
        let a = call(&s, "/model/amazon.titan-embed-text-v2%3A0/converse", HELLO);
        assert_eq!(a.status, 400);
    }

    #[test]
    fn converse_stream_events() {
        let s = shard();
        let a = call(&s, &format!("{SONNET}/converse-stream"), HELLO);
        assert_eq!(a.status, 200);
        assert!(a
            .head
            .contains("content-type: application/vnd.amazon.eventstream"));
        let ev = events(&a);
        let names: Vec<&str> = ev.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "messageStart",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockStop",
                "messageStop",
                "metadata"
            ]
        );
        assert_eq!(
            a.tokens,
            [false, true, true, true, true, false, false, false]
        );
        assert_eq!(ev[0].1["role"], "assistant");
        let text: String = ev[1..5]
            .iter()
            .map(|e| e.1["delta"]["text"].as_str().unwrap())
            .collect();
        assert_eq!(text, "tok0 tok1 tok2 tok3");
        assert_eq!(ev[6].1["stopReason"], "end_turn");
        assert_eq!(
            ev[7].1["usage"],
            serde_json::json!({"inputTokens":3,"outputTokens":4,"totalTokens":7})
        );

        let asked = format!(
            r#"{{"messages":[{{"role":"user","content":[{{"text":"call a tool"}}]}}],{TOOLS}}}}}"#
        );
        let ev = events(&call(&s, &format!("{SONNET}/converse-stream"), &asked));
        assert_eq!(ev[1].0, "contentBlockStart");
        assert_eq!(ev[1].1["start"]["toolUse"]["name"], "get_weather");
        let input: String = ev
            .iter()
            .filter_map(|e| e.1["delta"]["toolUse"]["input"].as_str())
            .collect();
        assert_eq!(input, "{}");
        assert_eq!(ev[ev.len() - 2].1["stopReason"], "tool_use");

        let a = call(&s, "/model/mock-stream-reset-2/converse-stream", HELLO);
        assert_eq!(a.cut_after, Some(2));
    }

    // ---- invoke

    const CLAUDE: &str = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":3,"system":"be nice","messages":[{"role":"user","content":[{"type":"text","text":"hi there"}]}]}"#;

    #[test]
    fn invoke_anthropic() {
        let s = shard();
        let a = call(&s, &format!("{SONNET}/invoke"), CLAUDE);
        assert_eq!(a.status, 200);
        assert!(a.head.contains("x-amzn-bedrock-input-token-count: 4\r\n"));
        let mut v = a.json();
        assert!(v["id"].as_str().unwrap().starts_with("msg_bdrk_"));
        v["id"] = Value::Null;
        assert_eq!(
            v,
            serde_json::json!({"id":null,"type":"message","role":"assistant","model":"anthropic.claude-3-5-sonnet-20240620-v1:0",
                "content":[{"type":"text","text":"tok0 tok1 tok2"}],"stop_reason":"max_tokens","stop_sequence":null,
                "usage":{"input_tokens":4,"output_tokens":3}})
        );
        let bad = |body: &str| {
            let a = call(&s, &format!("{SONNET}/invoke"), body);
            assert_eq!(
                (a.status, a.error_type()),
                (400, "ValidationException"),
                "{body}"
            );
            a.json()["message"].as_str().unwrap().to_owned()
        };
        assert_eq!(
            bad(&CLAUDE.replace("{\"anthropic_version\"", "{\"model\":\"claude\",\"anthropic_version\"")),
            "Malformed input request: #: extraneous key [model] is not permitted, please reformat your input and try again."
        );
        assert!(bad(&CLAUDE.replace("\"max_tokens\":3,", ""))
            .contains("required key [max_tokens] not found"));
        assert!(
            bad(&CLAUDE.replace("\"anthropic_version\":\"bedrock-2023-05-31\",", ""))
                .contains("required key [anthropic_version]")
        );
        assert!(bad(&CLAUDE.replace("bedrock-2023-05-31", "2023-06-01"))
            .contains("Invalid API version"));
        assert!(
            bad(&CLAUDE.replace("\"max_tokens\":3", "\"max_tokens\":3,\"stream\":true"))
                .contains("[stream]")
        );
        let tools = CLAUDE.replace(
            "\"max_tokens\":3",
            r#""max_tokens":3,"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"any"}"#,
        );
        let v = call(&s, &format!("{SONNET}/invoke"), &tools).json();
        assert_eq!(v["content"][0]["type"], "tool_use");
        assert_eq!(v["content"][0]["input"], serde_json::json!({}));
        assert_eq!(v["stop_reason"], "tool_use");
    }

    #[test]
    fn invoke_stream_chunks_carry_anthropic_events() {
        let s = shard();
        let a = call(&s, &format!("{SONNET}/invoke-with-response-stream"), CLAUDE);
        assert_eq!(a.status, 200);
        let inner: Vec<Value> = events(&a)
            .into_iter()
            .map(|(kind, v)| {
                assert_eq!(kind, "chunk");
                let b64 = v["bytes"].as_str().unwrap();
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap();
                serde_json::from_slice(&raw).unwrap()
            })
            .collect();
        let types: Vec<&str> = inner.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert_eq!(inner[0]["message"]["usage"]["input_tokens"], 4);
        let text: String = inner
            .iter()
            .filter_map(|e| e["delta"]["text"].as_str())
            .collect();
        assert_eq!(text, "tok0 tok1 tok2");
        assert_eq!(inner[6]["delta"]["stop_reason"], "max_tokens");
        assert_eq!(inner[6]["usage"]["output_tokens"], 3);
        assert_eq!(
            inner[7]["amazon-bedrock-invocationMetrics"]["outputTokenCount"],
            3
        );
    }

    // ---- embeddings

    #[test]
    fn embeddings() {
        let s = shard();
        let titan = |model: &str, body: &str| call(&s, &format!("/model/{model}/invoke"), body);
        let v1 = titan("amazon.titan-embed-text-v1", r#"{"inputText":"two words"}"#).json();
        assert_eq!(v1["embedding"].as_array().unwrap().len(), 1536);
        assert_eq!(v1["inputTextTokenCount"], 2);
        let a = titan(
            "amazon.titan-embed-text-v2%3A0",
            r#"{"inputText":"two words","dimensions":256,"normalize":true}"#,
        );
        assert!(a.head.contains("x-amzn-bedrock-input-token-count: 2"));
        let v2 = a.json();
        let e: Vec<f64> = v2["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(e.len(), 256);
        assert!((e.iter().map(|x| x * x).sum::<f64>() - 1.0).abs() < 1e-3);
        assert_eq!(v2["embeddingsByType"]["float"], v2["embedding"]);
        // Deterministic in the text, different across texts.
        let again = titan(
            "amazon.titan-embed-text-v2:0",
            r#"{"inputText":"two words","dimensions":256}"#,
        )
        .json();
        assert_eq!(again["embedding"], v2["embedding"]);
        let other = titan(
            "amazon.titan-embed-text-v2:0",
            r#"{"inputText":"other words","dimensions":256}"#,
        )
        .json();
        assert_ne!(other["embedding"], v2["embedding"]);
        assert_eq!(
            titan(
                "amazon.titan-embed-text-v2:0",
                r#"{"inputText":"x","dimensions":300}"#
            )
            .status,
            400
        );
        assert_eq!(
            titan(
                "amazon.titan-embed-text-v1",
                r#"{"inputText":"x","dimensions":256}"#
            )
            .status,
            400
        );
        assert_eq!(titan("amazon.titan-embed-text-v1", r#"{}"#).status, 400);

        let c = call(
            &s,
            "/model/cohere.embed-english-v3/invoke",
            r#"{"texts":["a b","c"],"input_type":"search_document"}"#,
        )
        .json();
        assert_eq!(c["response_type"], "embeddings_floats");
        assert_eq!(c["texts"], serde_json::json!(["a b", "c"]));
        let vs = c["embeddings"].as_array().unwrap();
        assert_eq!((vs.len(), vs[0].as_array().unwrap().len()), (2, 1024));
        let c = call(&s, "/model/cohere.embed-multilingual-v3/invoke", r#"{"texts":["a"],"input_type":"search_query","embedding_types":["float","int8","ubinary"]}"#).json();
        assert_eq!(c["response_type"], "embeddings_by_type");
        assert_eq!(c["embeddings"]["int8"][0].as_array().unwrap().len(), 1024);
        assert_eq!(c["embeddings"]["ubinary"][0].as_array().unwrap().len(), 128);
        assert_eq!(
            call(
                &s,
                "/model/cohere.embed-english-v3/invoke",
                r#"{"texts":["a"]}"#
            )
            .status,
            400
        );
        assert_eq!(
            call(
                &s,
                "/model/cohere.embed-english-v3/invoke-with-response-stream",
                r#"{"texts":["a"],"input_type":"clustering"}"#
            )
            .status,
            400
        );
    }

    // ---- routing and failures

    #[test]
    fn routes_and_injected_failures() {
        assert_eq!(
            route(b"/model/a%3Ab/converse"),
            Some((&b"a%3Ab"[..], Op::Converse))
        );
        assert_eq!(
            route(b"/model/x/invoke-with-response-stream"),
            Some((&b"x"[..], Op::InvokeStream))
        );
        assert_eq!(route(b"/model//converse"), None);
        assert_eq!(route(b"/model/x/other"), None);
        assert_eq!(route(b"/v1/chat/completions"), None);
        let s = shard();
        for (status, kind) in [
            (400, "ValidationException"),
            (403, "AccessDeniedException"),
            (404, "ResourceNotFoundException"),
            (408, "ModelTimeoutException"),
            (424, "ModelErrorException"),
            (429, "ThrottlingException"),
            (500, "InternalServerException"),
            (503, "ServiceUnavailableException"),
        ] {
            for op in ["converse", "invoke-with-response-stream"] {
                let a = call(&s, &format!("/model/mock-fail-{status}/{op}"), HELLO);
                assert_eq!((a.status, a.error_type()), (status, kind));
                assert!(a.json()["message"].is_string());
            }
        }
        let a = call(&s, "/model/mock-fail-429/converse", HELLO);
        assert_eq!(
            a.json()["message"],
            "Too many requests, please wait before trying again."
        );
        for (model, reset) in [("mock-reset", true), ("mock-timeout", false)] {
            let raw = format!(
                "POST /model/{model}/converse HTTP/1.1\r\nhost: h\r\ncontent-length: 2\r\n\r\n"
            );
            let HeadResult::Done(h) = parse_head(raw.as_bytes()) else {
                panic!()
            };
            let (mut out, mut scratch) = (Vec::new(), Vec::new());
            let plan = crate::api::handle(&s, &h, raw.as_bytes(), b"{}", &mut out, &mut scratch);
            assert!(if reset {
                matches!(plan, Plan::Reset)
            } else {
                matches!(plan, Plan::Hang)
            });
        }
        let get = call_raw(
            &s,
            &format!("GET {SONNET}/converse HTTP/1.1\r\nhost: h\r\n\r\n"),
            b"",
        );
        assert_eq!(
            (get.status, get.error_type()),
            (404, "UnknownOperationException")
        );
    }
}
