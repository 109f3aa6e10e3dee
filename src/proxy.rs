//! The upstream half of the request path: pick a deployment, send the
//! spliced request on a pooled connection, relay the answer as it arrives,
//! retry and map failures the way LiteLLM does.
//!
//! `forward` is the retry loop; `exchange` is one attempt (upstream pool ->
//! stream back). Until the response head has been relayed, every failure is
//! still the client's to hear about as a LiteLLM-shaped JSON error; after it,
//! a failure can only cut the stream (SSE gets a final `data: {"error":…}`
//! event when the relay stands on a chunk boundary).

use std::io;
use std::time::{Duration, Instant};

use monoio::buf::{IoBuf, IoBufMut};
use monoio::io::AsyncWriteRentExt;

use crate::anthropic;
use crate::errors::{self, ApiError, Param};
use crate::http::{self, Chunked, ResponseBody};
use crate::mock;
use crate::router::{Backend, Group, Route};
use crate::server::{After, ClientHeaders, Conn, Endpoint, Shard};
use crate::translate::{self, Fields};
use crate::upstream::{Target, UpAuth, UpConn, Upstreams, Wire};

/// Writes a random (v4) UUID as 36 ASCII bytes: LiteLLM's `x-litellm-call-id`.
fn uuid4(rng: &mut fastrand::Rng, out: &mut [u8; 36]) {
    let mut v = rng.u128(..);
    v = (v & !(0xf << 76)) | (0x4 << 76);
    v = (v & !(0x3 << 62)) | (0x2 << 62);
    let hex = b"0123456789abcdef";
    let mut j = 0;
    for i in 0..32 {
        if matches!(i, 8 | 12 | 16 | 20) {
            out[j] = b'-';
            j += 1;
        }
        out[j] = hex[((v >> (124 - 4 * i)) & 0xf) as usize];
        j += 1;
    }
}

/// How an upstream attempt failed before anything was relayed to the client.
#[derive(Debug)]
enum Failure {
    Connect(io::Error),
    Timeout,
    Io(io::Error),
    BadResponse(&'static str),
    Status {
        status: u16,
        body: Vec<u8>,
        /// The provider's `retry-after`, in seconds, when it sent one.
        retry_after: Option<f64>,
    },
    /// The request could not be translated for this provider (a 400; never
    /// retried).
    BadRequest(String),
    /// OpenAI parameters the provider does not take (LiteLLM's
    /// `UnsupportedParamsError`: a 400, never retried).
    Unsupported(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Connect(e) => write!(f, "connect: {e}"),
            Failure::Timeout => f.write_str("timed out"),
            Failure::Io(e) => write!(f, "i/o: {e}"),
            Failure::BadResponse(why) => write!(f, "bad response: {why}"),
            Failure::Status { status, .. } => write!(f, "status {status}"),
            Failure::BadRequest(why) => write!(f, "bad request: {why}"),
            Failure::Unsupported(why) => write!(f, "unsupported parameters: {why}"),
        }
    }
}

impl Failure {
    /// LiteLLM's router retries rate limits, timeouts, connection errors,
    /// 403 (which it maps to a generic APIError), 408, 409 and server
    /// errors; 400, 404 and 422 are final, and 401 only moves on when the
    /// group has another deployment.
    fn retryable(&self, group_size: usize) -> bool {
        match self {
            Failure::Status { status, .. } => match status {
                401 => group_size > 1,
                403 | 408 | 409 | 429 => true,
                s => *s >= 500,
            },
            Failure::BadRequest(_) | Failure::Unsupported(_) => false,
            _ => true,
        }
    }
}

/// Largest upstream error body kept for the error message.
const MAX_ERROR_BODY: usize = 256 * 1024;

/// Forwards to a deployment of `group`, retrying on retryable failures.
/// `num_retries` is the client's `x-litellm-num-retries`, when sent.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn forward(
    shard: &Shard,
    c: &mut Conn,
    group: &Group,
    wildcard_rest: Option<&str>,
    body: &[u8],
    fields: &Fields,
    ep: Endpoint,
    close: bool,
    num_retries: Option<u32>,
    hdrs: &ClientHeaders<'_>,
    client_model: &str,
) -> After {
    let gw = &*shard.gw;
    let mut call_id = [0u8; 36];
    uuid4(&mut shard.rng.borrow_mut(), &mut call_id);
    let mut skip = None;
    let mut attempt: u32 = 0;
    loop {
        let ri = gw.router.choose(group, &mut shard.rng.borrow_mut(), skip);
        let route = &gw.router.routes[ri];
        let (backend, wildcard_rest) = route.backend_for_request(wildcard_rest);
        let target = match backend {
            Backend::Mock(_) if matches!(ep, Endpoint::Responses | Endpoint::CountTokens) => {
                let msg = format!(
                    "litellm.BadRequestError: mock_response deployments do not answer {} in Ringway yet",
                    ep.name()
                );
                let _ = c
                    .send_ep_error(
                        ep,
                        &ApiError::new(400, "invalid_request_error", &msg),
                        close,
                    )
                    .await;
                return After::KeepAlive;
            }
            Backend::Mock(text) => {
                return answer_mock(c, route, group, ep, fields, body, text, &call_id, close).await
            }
            Backend::Unsupported(msg) => {
                let msg = format!("litellm.BadRequestError: {msg}");
                let _ = c
                    .send_ep_error(
                        ep,
                        &ApiError::new(400, "invalid_request_error", &msg),
                        close,
                    )
                    .await;
                return After::KeepAlive;
            }
            Backend::OpenAi(t) => t,
        };
        if t_unsupported(target, ep) {
            let msg = format!(
                "litellm.BadRequestError: {} is not supported for provider '{}' (deployment '{}')",
                ep.name(),
                route.provider,
                route.model_name
            );
            let _ = c
                .send_ep_error(
                    ep,
                    &ApiError::new(400, "invalid_request_error", &msg),
                    close,
                )
                .await;
            return After::KeepAlive;
        }
        let retries = num_retries
            .or(route.max_retries)
            .unwrap_or(gw.default_retries);
        let ctx = Exchange {
            route,
            target,
            group,
            wildcard_rest,
            body,
            fields,
            ep,
            close,
            call_id: &call_id,
            attempt,
            hdrs,
            client_model,
        };
        match exchange(shard, c, &ctx).await {
            Ok(after) => return after,
            Err(f) => {
                if f.retryable(group.routes.len()) && attempt < retries {
                    log::debug!("upstream attempt {attempt} failed ({f:?}); retrying");
                    // Another deployment to try: go at once. Otherwise back
                    // off like LiteLLM: the provider's retry-after (when
                    // 0 < it <= 60 s) or 0.5 s doubling up to 8 s, plus up
                    // to 0.75 s of jitter.
                    if group.routes.len() == 1 {
                        let jitter = shard.rng.borrow_mut().f64() * 0.75;
                        let base = match &f {
                            Failure::Status {
                                retry_after: Some(ra),
                                ..
                            } if *ra > 0.0 && *ra <= 60.0 => *ra,
                            _ => (0.5 * f64::from(1u32 << attempt.min(5))).min(8.0),
                        };
                        monoio::time::sleep(Duration::from_secs_f64(base + jitter)).await;
                    }
                    attempt += 1;
                    skip = Some(ri);
                    continue;
                }
                log::warn!(
                    "model group '{}': {} failed after {} attempt(s): {f}",
                    group.name,
                    target.api_base,
                    attempt + 1
                );
                let e = UpstreamError::from_failure(&f, route, target, group, ctx.fields.stream);
                let _ = c.send_ep_error(ep, &e.api(), close).await;
                return After::KeepAlive;
            }
        }
    }
}

/// Anthropic upstreams serve chat only (and `/v1/messages`).
fn t_unsupported(t: &Target, ep: Endpoint) -> bool {
    t.wire == Wire::Anthropic
        && matches!(
            ep,
            Endpoint::Completions | Endpoint::Embeddings | Endpoint::Responses
        )
}

/// A LiteLLM-shaped error for an upstream failure: the provider's status,
/// `litellm.<Class>: …OpenAIException - <provider message>` and the router's
/// "model group … failed" suffix, with LiteLLM's `type` per class.
struct UpstreamError {
    status: u16,
    message: String,
    kind: Option<String>,
    param: Option<String>,
}

/// LiteLLM's message prefix for a provider status (`litellm.<Class>: ` plus
/// the repeat LiteLLM adds for most classes) and the fixed `type` (`None`:
/// keep the provider's). From LiteLLM 1.106.2's exception mapping, checked
/// on the wire (/work/notes/litellm-behaviour.md §3).
fn error_class(status: u16) -> (&'static str, Option<&'static str>) {
    match status {
        400 | 422 => ("litellm.BadRequestError: ", None),
        401 => (
            "litellm.AuthenticationError: AuthenticationError: ",
            Some("authentication_error"),
        ),
        403 => ("litellm.APIError: APIError: ", Some("permission_error")),
        404 => ("litellm.NotFoundError: ", Some("invalid_request_error")),
        408 => (
            "litellm.Timeout: Timeout Error: ",
            Some("invalid_request_error"),
        ),
        429 => (
            "litellm.RateLimitError: RateLimitError: ",
            Some("throttling_error"),
        ),
        502 => (
            "litellm.BadGatewayError: BadGatewayError: ",
            Some("internal_server_error"),
        ),
        503 => (
            "litellm.ServiceUnavailableError: ServiceUnavailableError: ",
            Some("internal_server_error"),
        ),
        s if s >= 500 => (
            "litellm.InternalServerError: InternalServerError: ",
            Some("internal_server_error"),
        ),
        _ => (
            "litellm.APIError: APIError: ",
            Some("invalid_request_error"),
        ),
    }
}

/// Python's `repr` of a float, as LiteLLM prints timeouts ("1.0", "0.5").
fn py_float(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

impl UpstreamError {
    fn from_failure(
        f: &Failure,
        route: &Route,
        target: &Target,
        group: &Group,
        stream: bool,
    ) -> UpstreamError {
        let exc = crate::convert::exception_name(target.wire);
        let connection_error = |detail: &str| {
            (
                500,
                format!("litellm.InternalServerError: InternalServerError: {exc} - {detail}"),
                Some("internal_server_error".to_string()),
                None,
            )
        };
        let timeout_s = route.timeout_s.map(py_float);
        let deployment_info = format!(
            "\n\nDeployment Info: request_timeout: None\ntimeout: {}",
            timeout_s.as_deref().unwrap_or("None")
        );
        let (status, mut message, kind, param) = match f {
            Failure::Connect(_) | Failure::Io(_) => connection_error("Connection error."),
            Failure::BadResponse(why) => connection_error(why),
            Failure::BadRequest(why) => (
                400,
                format!("litellm.BadRequestError: {exc} - {why}"),
                Some("invalid_request_error".to_string()),
                None,
            ),
            Failure::Unsupported(why) => (
                400,
                format!("litellm.UnsupportedParamsError: {why}"),
                Some("invalid_request_error".to_string()),
                None,
            ),
            Failure::Timeout => {
                let t = py_float(route.timeout_ms as f64 / 1000.0);
                let detail = if stream {
                    String::new()
                } else {
                    format!(" - timeout value={t}, time taken={t} seconds")
                };
                (
                    408,
                    format!(
                        "litellm.Timeout: APITimeoutError - Request timed out. Error_str: Request timed out.{detail}{deployment_info}"
                    ),
                    Some("invalid_request_error".to_string()),
                    None,
                )
            }
            Failure::Status { status, body, .. } => {
                let (msg, up_type, up_param) = provider_error_fields(body);
                let status = *status;
                let (class_prefix, fixed_type) = error_class(status);
                // 400/422 keep the provider's `type` and `param`.
                let (kind, param) = match fixed_type {
                    Some(t) => (Some(t.to_string()), None),
                    None => (
                        Some(up_type.unwrap_or_else(|| "invalid_request_error".into())),
                        up_param,
                    ),
                };
                let mut m = format!("{class_prefix}{exc} - {msg}");
                if status == 408 {
                    m.push_str(&deployment_info);
                }
                (status, m, kind, param)
            }
        };
        message.push_str(&format!(
            "\n\nLiteLLM: model group '{}' failed with the error above. No fallback was attempted.",
            group.name
        ));
        UpstreamError {
            status,
            message,
            kind,
            param,
        }
    }

    fn api(&self) -> ApiError<'_> {
        let mut e = ApiError::new(self.status, "", &self.message);
        e.kind = self.kind.as_deref();
        e.param = match &self.param {
            Some(p) => Param::Str(p),
            None => Param::Null,
        };
        e
    }
}

/// Pulls `error.message`, `error.type` and `error.param` out of a provider's
/// error body (error path only, so a JSON tree is fine here).
fn provider_error_fields(body: &[u8]) -> (String, Option<String>, Option<String>) {
    let text = || String::from_utf8_lossy(body).trim().to_string();
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return (text(), None, None);
    };
    let err = v.get("error").unwrap_or(&v);
    let s = |k: &str| err.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let msg = match err {
        serde_json::Value::String(m) => Some(m.clone()),
        _ => s("message"),
    };
    (msg.unwrap_or_else(text), s("type"), s("param"))
}

/// One upstream attempt's inputs.
struct Exchange<'a> {
    route: &'a Route,
    target: &'a Target,
    group: &'a Group,
    wildcard_rest: Option<&'a str>,
    body: &'a [u8],
    fields: &'a Fields,
    ep: Endpoint,
    close: bool,
    call_id: &'a [u8; 36],
    attempt: u32,
    hdrs: &'a ClientHeaders<'a>,
    /// The model name the client asked for (reported back in answers).
    client_model: &'a str,
}

/// How a request and its answer cross between client and upstream formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Same format both sides: splice `model`, relay the answer.
    Pass,
    /// The formats differ: `convert` translates both ways.
    Translate,
}

impl Exchange<'_> {
    fn mode(&self) -> Mode {
        if crate::convert::is_pass(self.ep, self.target.wire) {
            Mode::Pass
        } else {
            Mode::Translate
        }
    }

    /// The upstream model id, unquoted (for translators).
    fn upstream_model(&self) -> std::borrow::Cow<'_, str> {
        match self.wildcard_rest {
            Some(rest) if self.route.upstream_model.contains('*') => {
                let mut rest = rest;
                if self.route.provider == "*" {
                    rest = rest.strip_prefix("openai/").unwrap_or(rest);
                }
                std::borrow::Cow::Owned(self.route.upstream_model.replacen('*', rest, 1))
            }
            _ => std::borrow::Cow::Borrowed(&self.route.upstream_model),
        }
    }
}

/// The model id to send upstream, JSON-quoted. Borrowed from the route except
/// for wildcard deployments, whose id depends on the request.
fn upstream_model_json<'a>(x: &'a Exchange) -> std::borrow::Cow<'a, [u8]> {
    match x.wildcard_rest {
        Some(rest) if x.route.upstream_model.contains('*') => {
            let mut rest = rest;
            if x.route.provider == "*" {
                rest = rest.strip_prefix("openai/").unwrap_or(rest);
            }
            let m = x.route.upstream_model.replacen('*', rest, 1);
            std::borrow::Cow::Owned(translate::quote(&m))
        }
        _ => std::borrow::Cow::Borrowed(&x.route.model_json),
    }
}

/// Writes the upstream request. Passthrough splices the client's body;
/// the translating modes write the other format's body into `scratch`
/// first (its length goes in the head). A body the translator refuses is a
/// client error.
fn build_request(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    tmp: &mut Vec<u8>,
    x: &Exchange,
    token: Option<&str>,
) -> Result<(), Failure> {
    let mode = x.mode();
    scratch.clear();
    if mode == Mode::Translate {
        crate::convert::request_body(
            x.ep,
            x.target.wire,
            x.body,
            &x.upstream_model(),
            scratch,
            tmp,
        )
        .map_err(|e| Failure::BadRequest(e.to_string()))?;
    }
    let model_json = upstream_model_json(x);
    out.clear();
    out.extend_from_slice(b"POST ");
    let wire = x.target.wire;
    let built_path;
    let path = if crate::convert::model_in_path(wire) {
        built_path = crate::convert::model_path(
            wire,
            &x.target.url_prefix,
            x.ep,
            x.fields.stream,
            &x.upstream_model(),
        );
        &built_path
    } else if x.ep == Endpoint::CountTokens {
        built_path = format!("{}/count_tokens", x.target.paths[0]);
        &built_path
    } else {
        &x.target.paths[x.ep.index()]
    };
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    out.extend_from_slice(&x.target.fixed_headers);
    match &x.target.auth {
        UpAuth::Fixed => {}
        UpAuth::GcpToken(_) => {
            let token = token.ok_or(Failure::BadResponse(
                "no Google access token yet (check vertex_credentials and the token endpoint)",
            ))?;
            out.extend_from_slice(b"authorization: Bearer ");
            out.extend_from_slice(token.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        UpAuth::SigV4(creds) => {
            let (p, q) = path.split_once('?').unwrap_or((path, ""));
            crate::bedrock::sign(
                creds,
                "bedrock",
                "POST",
                host_of(&x.target.fixed_headers),
                p,
                q,
                "application/json",
                scratch,
                std::time::SystemTime::now(),
                out,
            );
        }
    }
    if x.target.wire == Wire::Anthropic {
        // The client's API version and beta flags ride along on native
        // `/v1/messages`; otherwise the version LiteLLM sends.
        out.extend_from_slice(b"anthropic-version: ");
        match (mode, x.hdrs.anthropic_version) {
            (Mode::Pass, Some(v)) if !v.is_empty() => out.extend_from_slice(v),
            _ => out.extend_from_slice(crate::router::ANTHROPIC_VERSION.as_bytes()),
        }
        out.extend_from_slice(b"\r\n");
        if let (Mode::Pass, Some(beta)) = (mode, x.hdrs.anthropic_beta) {
            out.extend_from_slice(b"anthropic-beta: ");
            out.extend_from_slice(beta);
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"content-length: ");
    let rename = x.target.max_tokens_rename;
    if mode == Mode::Pass {
        // OpenAI parameters LiteLLM refuses for this provider (`exchange`
        // refused the request already unless they are to be dropped) and
        // LiteLLM's own request keys come out: a rare path that copies the
        // body.
        let hit = refused_params(x);
        let stripped;
        let (body, fields) = if hit == 0 && !x.fields.litellm_keys {
            (x.body, x.fields)
        } else {
            let b = translate::without_params(x.body, hit);
            let f = translate::scan(&b).map_err(|e| Failure::BadRequest(e.0.to_string()))?;
            stripped = (b, f);
            (&stripped.0[..], &stripped.1)
        };
        http::push_u64(
            out,
            translate::edited_len(body, fields, &model_json, rename) as u64,
        );
        out.extend_from_slice(b"\r\n\r\n");
        translate::write_edited(out, body, fields, &model_json, rename);
    } else {
        http::push_u64(out, scratch.len() as u64);
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(scratch);
    }
    Ok(())
}

/// The OpenAI parameters of a chat request that LiteLLM would refuse for
/// this deployment's provider (`_check_valid_arg` runs for chat
/// completions only; Responses and embeddings bodies are not checked).
fn refused_params(x: &Exchange) -> u64 {
    if x.ep != Endpoint::Chat || x.mode() != Mode::Pass {
        return 0;
    }
    x.fields.std_params & x.target.unsupported_params & !x.fields.allowed_params
}

/// `drop_params` from the deployment, `litellm_settings` or the request.
fn drops_params(x: &Exchange) -> bool {
    x.target.drop_params || x.fields.drop_params
}

/// LiteLLM's `UnsupportedParamsError` text (`utils.py`, `_check_valid_arg`),
/// the names as a Python list.
fn unsupported_message(x: &Exchange, hit: u64) -> String {
    let names: Vec<String> = crate::providers::STANDARD_PARAMS
        .iter()
        .enumerate()
        .filter(|(i, _)| hit & (1u64 << i) != 0)
        .map(|(_, n)| format!("'{n}'"))
        .collect();
    let list = format!("[{}]", names.join(", "));
    format!(
        "{} does not support parameters: {list}, for model={}. To drop these, set `litellm.drop_params=True` or for proxy:\n\n`litellm_settings:\n drop_params: true`\n. \n If you want to use these params dynamically send allowed_openai_params={list} in your request.",
        x.route.provider,
        x.upstream_model()
    )
}

/// The `host` value of a target's fixed header lines (always the first).
fn host_of(fixed: &[u8]) -> &str {
    let line = fixed.strip_prefix(b"host: ").unwrap_or_default();
    let end = memchr::memchr(b'\r', line).unwrap_or(line.len());
    std::str::from_utf8(&line[..end]).unwrap_or_default()
}

/// Why sending or reading the head failed.
enum HeadFail {
    /// Nothing came back on a connection: if it was pooled, the upstream
    /// probably closed it while idle.
    Stale(io::Error),
    Fail(Failure),
}

async fn send_and_read_head(
    conn: &mut UpConn,
    timeout: Duration,
    max_header: usize,
) -> Result<http::ResponseHead, HeadFail> {
    let deadline = Instant::now() + timeout;
    let wbuf = std::mem::take(&mut conn.wbuf);
    match monoio::time::timeout(timeout, conn.stream.write_all(wbuf)).await {
        Ok((Ok(_), b)) => conn.wbuf = b,
        Ok((Err(e), b)) => {
            conn.wbuf = b;
            return Err(HeadFail::Stale(e));
        }
        Err(_) => return Err(HeadFail::Fail(Failure::Timeout)),
    }
    conn.buf.clear();
    loop {
        if conn.buf.len() == conn.buf.capacity() {
            if conn.buf.len() > max_header {
                return Err(HeadFail::Fail(Failure::BadResponse(
                    "response head too large",
                )));
            }
            conn.buf.reserve(conn.buf.len());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let buf = std::mem::take(&mut conn.buf);
        let len = buf.len();
        let n = match monoio::time::timeout(left, conn.stream.read(buf.slice_mut(len..))).await {
            Ok((r, b)) => {
                conn.buf = b.into_inner();
                match r {
                    Ok(n) => n,
                    Err(e) if conn.buf.is_empty() => return Err(HeadFail::Stale(e)),
                    Err(e) => return Err(HeadFail::Fail(Failure::Io(e))),
                }
            }
            Err(_) => return Err(HeadFail::Fail(Failure::Timeout)),
        };
        if n == 0 {
            let e = io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "upstream closed the connection",
            );
            return Err(if conn.buf.is_empty() {
                HeadFail::Stale(e)
            } else {
                HeadFail::Fail(Failure::Io(e))
            });
        }
        match http::parse_response(&conn.buf, max_header) {
            Ok(Some(h)) if (100..200).contains(&h.status) => {
                // Interim response (100 Continue): skip it.
                conn.buf.drain(..h.head_len);
            }
            Ok(Some(h)) => return Ok(h),
            Ok(None) => {}
            Err(_) => {
                return Err(HeadFail::Fail(Failure::BadResponse(
                    "malformed response head",
                )))
            }
        }
    }
}

/// Reads one more piece of the upstream body into `conn.buf` (cleared first).
/// `Ok(0)` is EOF.
async fn read_piece(conn: &mut UpConn, timeout: Duration) -> Result<usize, Failure> {
    let mut buf = std::mem::take(&mut conn.buf);
    buf.clear();
    match monoio::time::timeout(timeout, conn.stream.read(buf)).await {
        Ok((r, b)) => {
            conn.buf = b;
            r.map_err(Failure::Io)
        }
        Err(_) => Err(Failure::Timeout),
    }
}

/// Largest non-stream JSON answer whose `model` is rewritten (it must be
/// held whole to compute the new Content-Length); larger ones pass as-is.
const MAX_MODEL_REWRITE: usize = 4 * 1024 * 1024;

/// How the client's response body is framed.
enum ClientLen {
    Known(usize),
    Chunked,
}

/// Writes the client's response head into `w`: status, content type,
/// framing, `connection: close` when closing, LiteLLM's headers, the
/// provider's (from its raw head `up_head`), SSE cache headers, LiteLLM's
/// security headers. Every relay writes its head here.
fn write_client_head(
    w: &mut Vec<u8>,
    x: &Exchange,
    status: u16,
    content_type: &[u8],
    len: ClientLen,
    up_head: &[u8],
    sse: bool,
) {
    w.clear();
    http::write_status_line(w, status);
    w.extend_from_slice(b"content-type: ");
    w.extend_from_slice(content_type);
    w.extend_from_slice(b"\r\n");
    match len {
        ClientLen::Known(n) => {
            w.extend_from_slice(b"content-length: ");
            http::push_u64(w, n as u64);
            w.extend_from_slice(b"\r\n");
        }
        ClientLen::Chunked => w.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    if x.close {
        w.extend_from_slice(b"connection: close\r\n");
    }
    write_litellm_headers(w, x);
    write_provider_headers(w, up_head);
    if sse {
        w.extend_from_slice(b"cache-control: no-cache\r\nx-accel-buffering: no\r\n");
    }
    w.extend_from_slice(errors::SECURITY_HEADERS);
    w.extend_from_slice(b"\r\n");
}

/// The provider's content type, or `default` when it sent none.
fn content_type_of<'a>(buf: &'a [u8], head: &http::ResponseHead, default: &'a [u8]) -> &'a [u8] {
    head.content_type
        .as_ref()
        .map_or(default, |r| &buf[r.clone()])
}

const JSON: &[u8] = b"application/json";
const SSE: &[u8] = b"text/event-stream; charset=utf-8";

/// Reads until `conn.buf` holds `need` bytes (appending).
async fn read_to(conn: &mut UpConn, need: usize, timeout: Duration) -> Result<(), Failure> {
    if conn.buf.capacity() < need {
        conn.buf.reserve(need - conn.buf.len());
    }
    let deadline = Instant::now() + timeout;
    while conn.buf.len() < need {
        let buf = std::mem::take(&mut conn.buf);
        let len = buf.len();
        let left = deadline.saturating_duration_since(Instant::now());
        match monoio::time::timeout(left, conn.stream.read(buf.slice_mut(len..))).await {
            Ok((r, b)) => {
                conn.buf = b.into_inner();
                match r {
                    Ok(0) => {
                        return Err(Failure::Io(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "upstream closed mid-response",
                        )))
                    }
                    Ok(_) => {}
                    Err(e) => return Err(Failure::Io(e)),
                }
            }
            Err(_) => return Err(Failure::Timeout),
        }
    }
    Ok(())
}

/// A non-stream JSON answer: LiteLLM reports the model the client asked for
/// (`_override_openai_response_model`), so the answer is read whole and its
/// top-level `model` value is replaced by the client's own bytes, again by
/// splicing. Anything that is not a JSON object with a string `model` is
/// relayed unchanged.
#[allow(clippy::too_many_arguments)]
async fn relay_with_client_model(
    c: &mut Conn,
    up: &Upstreams,
    mut conn: UpConn,
    head: &http::ResponseHead,
    n: usize,
    client_model_json: &[u8],
    x: &Exchange<'_>,
    timeout: Duration,
) -> Result<After, Failure> {
    let end = head.head_len + n;
    read_to(&mut conn, end, timeout).await?;
    let body = &conn.buf[head.head_len..end];
    let fields = translate::scan(body).ok().filter(|f| f.model.is_some());
    let new_len = match &fields {
        Some(f) => translate::spliced_len(body, f, client_model_json),
        None => n,
    };
    let w = &mut c.wbuf;
    write_client_head(
        w,
        x,
        head.status,
        content_type_of(&conn.buf, head, JSON),
        ClientLen::Known(new_len),
        &conn.buf[..head.head_len],
        false,
    );
    match &fields {
        Some(f) => translate::write_spliced(w, body, f, client_model_json),
        None => w.extend_from_slice(body),
    }
    let extra = conn.buf.len() > end;
    if c.flush().await.is_err() {
        return Ok(After::Close);
    }
    if head.keep_alive && !extra {
        up.checkin(conn);
    }
    Ok(if x.close {
        After::Close
    } else {
        After::KeepAlive
    })
}

/// Ends of SSE events in `buf` from `from`: the index just past the blank
/// line, or `None` while the event is incomplete.
fn next_event_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(off) = memchr::memchr(b'\n', &buf[i..]) {
        let nl = i + off;
        match buf.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if buf.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            _ => i = nl + 1,
        }
    }
    None
}

/// What the event-by-event relay does to each SSE event.
enum EventTransform<'a> {
    /// Same format: replace the top-level `model` with the client's.
    Model(&'a [u8]),
    /// A translation between formats (`convert`).
    Chain(Box<crate::convert::StreamChain>),
}

impl EventTransform<'_> {
    /// Whether upstream bytes go to the transform as they come rather than
    /// split into SSE events.
    fn is_binary(&self) -> bool {
        matches!(self, EventTransform::Chain(ch) if ch.is_binary())
    }

    /// Appends the client's chunk(s) for one upstream event to `w`.
    fn event(
        &mut self,
        w: &mut Vec<u8>,
        scratch: &mut Vec<u8>,
        event: &[u8],
    ) -> Result<(), Failure> {
        let st = match self {
            EventTransform::Model(m) => {
                push_event_chunk(w, event, m);
                return Ok(());
            }
            EventTransform::Chain(ch) => {
                scratch.clear();
                if ch.is_binary() {
                    ch.feed_bytes(event, scratch)
                } else {
                    ch.feed_event(event, scratch)
                }
            }
        };
        if let Err(e) = st {
            log::warn!("untranslatable upstream stream event: {e}");
            return Err(Failure::BadResponse("untranslatable stream event"));
        }
        push_chunk(w, scratch);
        Ok(())
    }

    /// The upstream stream ended cleanly: closing events, if any are owed.
    fn finish(&mut self, w: &mut Vec<u8>, scratch: &mut Vec<u8>) {
        scratch.clear();
        match self {
            EventTransform::Model(_) => {}
            EventTransform::Chain(ch) => ch.finish(scratch),
        }
        push_chunk(w, scratch);
    }
}

/// Appends `data` as one HTTP chunk (nothing when empty).
fn push_chunk(w: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    http::push_hex(w, data.len() as u64);
    w.extend_from_slice(b"\r\n");
    w.extend_from_slice(data);
    w.extend_from_slice(b"\r\n");
}

/// `stream_options.include_usage: true` in the client's request.
fn include_usage(x: &Exchange) -> bool {
    wants_usage(x.body, x.fields)
}

fn wants_usage(body: &[u8], fields: &Fields) -> bool {
    fields.stream_options.as_ref().is_some_and(|r| {
        let v = &body[r.clone()];
        memchr::memmem::find(v, b"\"include_usage\":true").is_some()
            || memchr::memmem::find(v, b"\"include_usage\": true").is_some()
    })
}

/// Appends one SSE event as an HTTP chunk, with the top-level `model` of a
/// `data: {json}` line replaced by the client's model (LiteLLM streams the
/// requested name in every chunk). Other events pass unchanged.
fn push_event_chunk(w: &mut Vec<u8>, event: &[u8], client_model_json: &[u8]) {
    let rewritten = event.strip_prefix(b"data: ").and_then(|rest| {
        let line_end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let json = rest[..line_end]
            .strip_suffix(b"\r")
            .unwrap_or(&rest[..line_end]);
        let f = translate::scan(json).ok().filter(|f| f.model.is_some())?;
        Some((json, f, &rest[json.len()..]))
    });
    match rewritten {
        Some((json, f, tail)) => {
            let len = 6 + translate::spliced_len(json, &f, client_model_json) + tail.len();
            http::push_hex(w, len as u64);
            w.extend_from_slice(b"\r\ndata: ");
            translate::write_spliced(w, json, &f, client_model_json);
            w.extend_from_slice(tail);
        }
        None => {
            http::push_hex(w, event.len() as u64);
            w.extend_from_slice(b"\r\n");
            w.extend_from_slice(event);
        }
    }
    w.extend_from_slice(b"\r\n");
}

/// An SSE answer relayed event by event: each upstream read is decoded
/// (chunked, length or close framing), every complete event goes through
/// the transform (the client's model spliced in, or a translation to the
/// client's format) and is re-emitted as chunks, and the batch is written at
/// once, so events still reach the client as soon as they arrive.
async fn relay_sse(
    c: &mut Conn,
    up: &Upstreams,
    mut conn: UpConn,
    head: &http::ResponseHead,
    transform: &mut EventTransform<'_>,
    x: &Exchange<'_>,
    timeout: Duration,
) -> Result<After, Failure> {
    let mut framing = match head.body {
        ResponseBody::Length(n) => Framing::Length(n),
        ResponseBody::Chunked => Framing::Chunked(Chunked::new(usize::MAX)),
        _ => Framing::UntilClose,
    };
    // Same format keeps the provider's content type; translations write SSE.
    let ctype = match transform {
        EventTransform::Model(_) => content_type_of(&conn.buf, head, SSE),
        _ => SSE,
    };
    write_client_head(
        &mut c.wbuf,
        x,
        head.status,
        ctype,
        ClientLen::Chunked,
        &conn.buf[..head.head_len],
        true,
    );
    c.events.clear();
    // Bytes after the head in the first read are the first piece.
    let mut piece_start = head.head_len;
    let mut piece_end = conn.buf.len();
    let mut extra = false;
    loop {
        let piece = &conn.buf[piece_start..piece_end];
        let done = match &mut framing {
            Framing::Chunked(d) => match d.feed(piece, Some(&mut c.events)) {
                Ok(used) => {
                    extra |= used < piece.len();
                    d.is_done()
                }
                Err(_) => {
                    let f = Failure::BadResponse("bad chunked encoding");
                    return Ok(fail_sse(c, x, &f).await);
                }
            },
            Framing::Length(rem) => {
                let take = piece.len().min(*rem);
                c.events.extend_from_slice(&piece[..take]);
                *rem -= take;
                extra |= take < piece.len();
                *rem == 0
            }
            _ => {
                c.events.extend_from_slice(piece);
                false
            }
        };
        let mut start = 0;
        let mut scratch = std::mem::take(&mut c.chunked);
        let mut bad = None;
        if transform.is_binary() && !c.events.is_empty() {
            // Length-prefixed messages: the decoder keeps partial ones.
            let bytes = std::mem::take(&mut c.events);
            if let Err(f) = transform.event(&mut c.wbuf, &mut scratch, &bytes) {
                bad = Some(f);
            }
            c.events = bytes;
            c.events.clear();
        }
        while let Some(end) = next_event_end(&c.events, start) {
            if let Err(f) = transform.event(&mut c.wbuf, &mut scratch, &c.events[start..end]) {
                bad = Some(f);
                break;
            }
            start = end;
        }
        c.events.drain(..start);
        if done && bad.is_none() {
            if !c.events.is_empty() {
                let rest = std::mem::take(&mut c.events);
                if let Err(f) = transform.event(&mut c.wbuf, &mut scratch, &rest) {
                    bad = Some(f);
                }
                c.events = rest;
                c.events.clear();
            }
            transform.finish(&mut c.wbuf, &mut scratch);
            c.wbuf.extend_from_slice(b"0\r\n\r\n");
        }
        scratch.clear();
        c.chunked = scratch;
        if let Some(f) = bad {
            return Ok(fail_sse(c, x, &f).await);
        }
        if !c.wbuf.is_empty() && c.flush().await.is_err() {
            // Client gone: dropping `conn` closes the upstream request.
            return Ok(After::Close);
        }
        if done {
            if head.keep_alive && !extra {
                up.checkin(conn);
            }
            return Ok(if x.close {
                After::Close
            } else {
                After::KeepAlive
            });
        }
        match read_piece(&mut conn, timeout).await {
            Ok(0) if matches!(framing, Framing::UntilClose) => {
                framing = Framing::Length(0);
                piece_start = 0;
                piece_end = 0;
                // Once more with an empty piece: flush and finish.
                continue;
            }
            Ok(0) => {
                let e =
                    io::Error::new(io::ErrorKind::UnexpectedEof, "upstream closed mid-response");
                return Ok(fail_sse(c, x, &Failure::Io(e)).await);
            }
            Ok(n) => {
                piece_start = 0;
                piece_end = n;
            }
            Err(f) => return Ok(fail_sse(c, x, &f).await),
        }
    }
}

/// Mid-stream failure on the event-by-event relay: the client side always
/// stands on a chunk boundary there, so LiteLLM's error event always fits.
async fn fail_sse(c: &mut Conn, x: &Exchange<'_>, f: &Failure) -> After {
    fail_mid_stream(c, x, &Framing::UntilClose, true, true, f).await
}

/// Tracks where an upstream body ends.
enum Framing {
    Length(usize),
    Chunked(Chunked),
    UntilClose,
    None,
}

impl Framing {
    /// How many of `piece`'s bytes belong to the body; and whether the body
    /// is complete after them.
    fn take(&mut self, piece: &[u8]) -> Result<(usize, bool), Failure> {
        match self {
            Framing::Length(rem) => {
                let n = piece.len().min(*rem);
                *rem -= n;
                Ok((n, *rem == 0))
            }
            Framing::Chunked(d) => {
                let n = d
                    .feed(piece, None)
                    .map_err(|_| Failure::BadResponse("bad chunked encoding"))?;
                Ok((n, d.is_done()))
            }
            Framing::UntilClose => Ok((piece.len(), false)),
            Framing::None => Ok((0, true)),
        }
    }
}

async fn exchange(shard: &Shard, c: &mut Conn, x: &Exchange<'_>) -> Result<After, Failure> {
    let gw = &*shard.gw;
    let up = &shard.up;
    let origin = x.target.origin;
    let timeout = Duration::from_millis(if x.fields.stream {
        x.route.stream_timeout_ms
    } else {
        x.route.timeout_ms
    });
    let max_header = gw.settings.max_header_bytes;
    // Refused parameters fail before any connection, as in LiteLLM.
    let hit = refused_params(x);
    if hit != 0 && !drops_params(x) {
        return Err(Failure::Unsupported(unsupported_message(x, hit)));
    }
    let mut conn = up.checkout(origin).await.map_err(Failure::Connect)?;
    // The request buffer (and the translation scratch) are lent by the
    // shard only while the request is built and sent.
    conn.wbuf = shard.bufs.get();
    let mut scratch = shard.bufs.get();
    // The second translation buffer only when two steps may need it.
    let mut tmp = match x.mode() {
        Mode::Translate => shard.bufs.get(),
        Mode::Pass => Vec::new(),
    };
    let built = shard.with_token(&x.target.auth, |token| {
        build_request(&mut conn.wbuf, &mut scratch, &mut tmp, x, token)
    });
    shard.bufs.put(tmp);
    if let Err(f) = built {
        shard.bufs.put(scratch);
        shard.bufs.put(std::mem::take(&mut conn.wbuf));
        up.checkin(conn);
        return Err(f);
    }
    let head = match send_and_read_head(&mut conn, timeout, max_header).await {
        Ok(h) => h,
        Err(HeadFail::Stale(e)) if conn.reused => {
            // A pooled connection the upstream had closed: one fresh try.
            log::debug!("pooled upstream connection was stale ({e}); reconnecting");
            let wbuf = std::mem::take(&mut conn.wbuf);
            conn = Box::pin(up.connect(origin))
                .await
                .map_err(Failure::Connect)?;
            conn.wbuf = wbuf;
            let mut tmp = Vec::new();
            shard.with_token(&x.target.auth, |token| {
                build_request(&mut conn.wbuf, &mut scratch, &mut tmp, x, token)
            })?;
            match send_and_read_head(&mut conn, timeout, max_header).await {
                Ok(h) => h,
                Err(HeadFail::Stale(e)) => return Err(Failure::Io(e)),
                Err(HeadFail::Fail(f)) => return Err(f),
            }
        }
        Err(HeadFail::Stale(e)) => return Err(Failure::Io(e)),
        Err(HeadFail::Fail(f)) => return Err(f),
    };
    shard.bufs.put(std::mem::take(&mut conn.wbuf));
    shard.bufs.put(scratch);
    let mut framing = match head.body {
        ResponseBody::Length(n) => Framing::Length(n),
        ResponseBody::Chunked => Framing::Chunked(Chunked::new(usize::MAX)),
        ResponseBody::UntilClose => Framing::UntilClose,
        ResponseBody::None => Framing::None,
    };
    if head.status >= 400 {
        // Boxed (error path only): keeps the per-connection task small.
        return Err(Box::pin(collect_error(up, conn, &head, framing, timeout)).await);
    }
    let sse = head
        .content_type
        .as_ref()
        .is_some_and(|r| conn.buf[r.clone()].starts_with(b"text/event-stream"));
    let mode = x.mode();
    if mode != Mode::Pass {
        // Bedrock streams are AWS event-stream, not `text/event-stream`.
        let binary_stream = x.fields.stream && matches!(x.target.wire, Wire::Bedrock(_));
        if (sse || binary_stream) && head.body != ResponseBody::None {
            let chain = crate::convert::StreamChain::new(
                x.ep,
                x.target.wire,
                x.client_model,
                include_usage(x),
                x.body,
            );
            let mut t = EventTransform::Chain(Box::new(chain));
            return relay_sse(c, up, conn, &head, &mut t, x, timeout).await;
        }
        // Boxed: translation is the rarer path, and its state would
        // otherwise enlarge every connection task.
        return Box::pin(relay_translated(
            shard, c, up, conn, &head, framing, x, timeout,
        ))
        .await;
    }
    if let (true, Some(span)) = (sse, &x.fields.model) {
        if head.body != ResponseBody::None {
            let mut t = EventTransform::Model(&x.body[span.clone()]);
            return relay_sse(c, up, conn, &head, &mut t, x, timeout).await;
        }
    }
    if let (ResponseBody::Length(n), false, Some(span)) = (head.body, sse, &x.fields.model) {
        if n <= MAX_MODEL_REWRITE {
            return relay_with_client_model(
                c,
                up,
                conn,
                &head,
                n,
                &x.body[span.clone()],
                x,
                timeout,
            )
            .await;
        }
    }

    // Response head for the client.
    let rechunk = matches!(framing, Framing::UntilClose);
    let len = match head.body {
        ResponseBody::Length(n) => ClientLen::Known(n),
        ResponseBody::None => ClientLen::Known(0),
        ResponseBody::Chunked | ResponseBody::UntilClose => ClientLen::Chunked,
    };
    write_client_head(
        &mut c.wbuf,
        x,
        head.status,
        content_type_of(&conn.buf, &head, JSON),
        len,
        &conn.buf[..head.head_len],
        sse,
    );
    let w = &mut c.wbuf;

    // The first body bytes usually arrived with the head: send them in the
    // same write (one syscall for a typical non-stream answer).
    let first = head.head_len..conn.buf.len();
    let (n, mut done) = framing.take(&conn.buf[first.clone()])?;
    let mut extra = n < first.len();
    if n > 0 {
        if rechunk {
            http::push_hex(w, n as u64);
            w.extend_from_slice(b"\r\n");
        }
        w.extend_from_slice(&conn.buf[first.start..first.start + n]);
        if rechunk {
            w.extend_from_slice(b"\r\n");
        }
    }
    if c.flush().await.is_err() {
        return Ok(After::Close);
    }

    // stream back: relay each piece as it arrives.
    while !done {
        // From here on the head is out: a failure can no longer become an
        // error response (or a retry), only the end of this stream.
        let n = match read_piece(&mut conn, timeout).await {
            Ok(0) if rechunk => {
                c.wbuf.extend_from_slice(b"0\r\n\r\n");
                if c.flush().await.is_err() || x.close {
                    return Ok(After::Close);
                }
                return Ok(After::KeepAlive);
            }
            Ok(0) => {
                let e =
                    io::Error::new(io::ErrorKind::UnexpectedEof, "upstream closed mid-response");
                return Ok(fail_mid_stream(c, x, &framing, rechunk, sse, &Failure::Io(e)).await);
            }
            Ok(n) => n,
            Err(f) => return Ok(fail_mid_stream(c, x, &framing, rechunk, sse, &f).await),
        };
        let (take, fin) = match framing.take(&conn.buf[..n]) {
            Ok(t) => t,
            Err(f) => return Ok(fail_mid_stream(c, x, &framing, rechunk, sse, &f).await),
        };
        done = fin;
        extra |= take < n;
        if rechunk {
            http::push_hex(&mut c.wbuf, take as u64);
            c.wbuf.extend_from_slice(b"\r\n");
            c.wbuf.extend_from_slice(&conn.buf[..take]);
            c.wbuf.extend_from_slice(b"\r\n");
            if c.flush().await.is_err() {
                return Ok(After::Close);
            }
            continue;
        }
        let buf = std::mem::take(&mut conn.buf);
        let (r, b) = c.sock.write_all(buf.slice(0..take)).await;
        conn.buf = b.into_inner();
        if r.is_err() {
            // Client gone: the upstream connection is dropped (closed),
            // which cancels the upstream request.
            return Ok(After::Close);
        }
    }
    if head.keep_alive && !extra {
        up.checkin(conn);
    }
    Ok(if x.close {
        After::Close
    } else {
        After::KeepAlive
    })
}

/// The upstream failed after the response head was relayed. An SSE stream
/// that stands between two chunks gets LiteLLM's final error event
/// (`data: {"error": {...}}`, Python-style spacing, no `[DONE]`) and a clean
/// end; anything else is cut, so the client sees a truncated body rather
/// than a silent success.
async fn fail_mid_stream(
    c: &mut Conn,
    x: &Exchange<'_>,
    framing: &Framing,
    rechunk: bool,
    sse: bool,
    f: &Failure,
) -> After {
    log::warn!(
        "model group '{}': {} failed mid-response: {f}",
        x.group.name,
        x.target.api_base
    );
    let boundary = rechunk || matches!(framing, Framing::Chunked(d) if d.at_chunk_boundary());
    if !(sse && boundary) {
        return After::Close;
    }
    let detail = match f {
        Failure::Timeout => "Request timed out.".to_string(),
        other => format!("Connection error. ({other})"),
    };
    if x.ep.is_anthropic() {
        // Anthropic's stream error event, as its SDKs expect it.
        let mut body = Vec::with_capacity(256);
        anthropic::anthropic_error_body(500, &detail, &mut body);
        let mut event = Vec::with_capacity(body.len() + 32);
        event.extend_from_slice(b"event: error\ndata: ");
        event.extend_from_slice(&body);
        event.extend_from_slice(b"\n\n");
        push_chunk(&mut c.wbuf, &event);
        c.wbuf.extend_from_slice(b"0\r\n\r\n");
        return match c.flush().await {
            Ok(()) if !x.close => After::KeepAlive,
            _ => After::Close,
        };
    }
    let mut event = Vec::with_capacity(256);
    event.extend_from_slice(
        b"data: {\"error\": {\"message\": \"litellm.APIConnectionError: APIConnectionError: OpenAIException - ",
    );
    errors::push_json_escaped(&mut event, detail.as_bytes());
    event.extend_from_slice(b"\", \"type\": null, \"param\": null, \"code\": \"500\"}}\n\n");
    http::push_hex(&mut c.wbuf, event.len() as u64);
    c.wbuf.extend_from_slice(b"\r\n");
    c.wbuf.extend_from_slice(&event);
    c.wbuf.extend_from_slice(b"\r\n0\r\n\r\n");
    match c.flush().await {
        Ok(()) if !x.close => After::KeepAlive,
        _ => After::Close,
    }
}

/// Reads a whole upstream body (bounded by [`MAX_MODEL_REWRITE`]) into
/// `out`, decoding its framing. `Ok(true)`: the connection may be pooled.
async fn read_whole_body(
    conn: &mut UpConn,
    head: &http::ResponseHead,
    mut framing: Framing,
    timeout: Duration,
    out: &mut Vec<u8>,
) -> Result<bool, Failure> {
    let mut piece = head.head_len..conn.buf.len();
    loop {
        let data = &conn.buf[piece.clone()];
        let done = match &mut framing {
            Framing::Chunked(d) => {
                d.feed(data, Some(out))
                    .map_err(|_| Failure::BadResponse("bad chunked encoding"))?;
                d.is_done()
            }
            Framing::Length(rem) => {
                let take = data.len().min(*rem);
                out.extend_from_slice(&data[..take]);
                *rem -= take;
                *rem == 0
            }
            Framing::UntilClose => {
                out.extend_from_slice(data);
                false
            }
            Framing::None => true,
        };
        if out.len() > MAX_MODEL_REWRITE {
            return Err(Failure::BadResponse("response too large to translate"));
        }
        if done {
            return Ok(head.keep_alive);
        }
        match read_piece(conn, timeout).await? {
            0 if matches!(framing, Framing::UntilClose) => return Ok(false),
            0 => {
                return Err(Failure::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "upstream closed mid-response",
                )))
            }
            n => piece = 0..n,
        }
    }
}

/// A non-stream answer in the other format: read whole, translated once,
/// written with its new length.
#[allow(clippy::too_many_arguments)]
async fn relay_translated(
    shard: &Shard,
    c: &mut Conn,
    up: &Upstreams,
    mut conn: UpConn,
    head: &http::ResponseHead,
    framing: Framing,
    x: &Exchange<'_>,
    timeout: Duration,
) -> Result<After, Failure> {
    // Reading the body reuses `conn.buf`: keep the provider's head first.
    let mut up_head = shard.bufs.get();
    up_head.extend_from_slice(&conn.buf[..head.head_len]);
    let mut raw = shard.bufs.get();
    let reusable = match read_whole_body(&mut conn, head, framing, timeout, &mut raw).await {
        Ok(r) => r,
        Err(f) => {
            shard.bufs.put(raw);
            shard.bufs.put(up_head);
            return Err(f);
        }
    };
    let mut body = shard.bufs.get();
    let mut tmp = shard.bufs.get();
    let translated = crate::convert::response_body(
        x.ep,
        x.target.wire,
        &raw,
        x.body,
        &x.upstream_model(),
        x.client_model,
        &mut body,
        &mut tmp,
    );
    shard.bufs.put(raw);
    shard.bufs.put(tmp);
    if let Err(e) = translated {
        log::warn!("untranslatable upstream answer: {e}");
        shard.bufs.put(body);
        shard.bufs.put(up_head);
        return Err(Failure::BadResponse("untranslatable response body"));
    }
    let w = &mut c.wbuf;
    write_client_head(
        w,
        x,
        head.status,
        JSON,
        ClientLen::Known(body.len()),
        &up_head,
        false,
    );
    shard.bufs.put(up_head);
    w.extend_from_slice(&body);
    shard.bufs.put(body);
    if c.flush().await.is_err() {
        return Ok(After::Close);
    }
    if reusable {
        up.checkin(conn);
    }
    Ok(if x.close {
        After::Close
    } else {
        After::KeepAlive
    })
}

/// Reads an upstream error body (bounded) and turns it into a failure.
async fn collect_error(
    up: &Upstreams,
    mut conn: UpConn,
    head: &http::ResponseHead,
    mut framing: Framing,
    timeout: Duration,
) -> Failure {
    let status = head.status;
    let retry_after = http::header_lines(&conn.buf[..head.head_len])
        .find(|(n, _)| n.eq_ignore_ascii_case(b"retry-after"))
        .and_then(|(_, v)| std::str::from_utf8(v).ok()?.trim().parse::<f64>().ok());
    let mut body = Vec::new();
    let first = head.head_len..conn.buf.len();
    let mut chunk_out = Vec::new();
    let mut complete = false;
    let mut push = |piece: &[u8], framing: &mut Framing, body: &mut Vec<u8>| -> Result<bool, ()> {
        match framing {
            Framing::Chunked(d) => {
                chunk_out.clear();
                let _ = d.feed(piece, Some(&mut chunk_out)).map_err(|_| ())?;
                if body.len() < MAX_ERROR_BODY {
                    body.extend_from_slice(&chunk_out);
                }
                Ok(d.is_done())
            }
            _ => {
                let (n, done) = framing.take(piece).map_err(|_| ())?;
                if body.len() < MAX_ERROR_BODY {
                    body.extend_from_slice(&piece[..n]);
                }
                Ok(done)
            }
        }
    };
    let first_piece = conn.buf[first].to_vec();
    match push(&first_piece, &mut framing, &mut body) {
        Ok(true) => complete = true,
        Ok(false) => {}
        Err(()) => {
            return Failure::Status {
                status,
                body,
                retry_after,
            }
        }
    }
    let mut total = body.len();
    while !complete && total < 4 * MAX_ERROR_BODY {
        match read_piece(&mut conn, timeout).await {
            Ok(0) => break,
            Ok(n) => {
                total += n;
                let piece = conn.buf[..n].to_vec();
                match push(&piece, &mut framing, &mut body) {
                    Ok(true) => complete = true,
                    Ok(false) => {}
                    Err(()) => break,
                }
            }
            Err(_) => break,
        }
    }
    if complete && head.keep_alive {
        up.checkin(conn);
    }
    body.truncate(MAX_ERROR_BODY);
    Failure::Status {
        status,
        body,
        retry_after,
    }
}

/// The provider's headers, as LiteLLM re-emits them: every one prefixed
/// `llm_provider-`, plus bare copies of `x-ratelimit-*` and the provider's
/// `x-request-id` as `request-id`.
fn write_provider_headers(w: &mut Vec<u8>, head: &[u8]) {
    let mut request_id: Option<&[u8]> = None;
    for (name, value) in http::header_lines(head) {
        w.extend_from_slice(b"llm_provider-");
        push_lower(w, name);
        w.extend_from_slice(b": ");
        w.extend_from_slice(value);
        w.extend_from_slice(b"\r\n");
        if name.len() > 12 && name[..12].eq_ignore_ascii_case(b"x-ratelimit-") {
            push_lower(w, name);
            w.extend_from_slice(b": ");
            w.extend_from_slice(value);
            w.extend_from_slice(b"\r\n");
        } else if name.eq_ignore_ascii_case(b"x-request-id") {
            request_id = Some(value);
        }
    }
    if let Some(v) = request_id {
        w.extend_from_slice(b"llm_provider-request-id: ");
        w.extend_from_slice(v);
        w.extend_from_slice(b"\r\nrequest-id: ");
        w.extend_from_slice(v);
        w.extend_from_slice(b"\r\n");
    }
}

fn push_lower(w: &mut Vec<u8>, s: &[u8]) {
    w.extend(s.iter().map(|b| b.to_ascii_lowercase()));
}

fn write_litellm_headers(w: &mut Vec<u8>, x: &Exchange) {
    let base = Some(x.target.api_base.as_str());
    push_litellm_headers(w, x.call_id, x.route, base, x.group, x.attempt);
}

/// LiteLLM's `x-litellm-*` response headers (the API base only when there
/// is an upstream).
fn push_litellm_headers(
    w: &mut Vec<u8>,
    call_id: &[u8; 36],
    route: &Route,
    api_base: Option<&str>,
    group: &Group,
    attempt: u32,
) {
    w.extend_from_slice(b"x-litellm-call-id: ");
    w.extend_from_slice(call_id);
    w.extend_from_slice(b"\r\nx-litellm-model-id: ");
    w.extend_from_slice(route.id.as_bytes());
    w.extend_from_slice(b"\r\nx-litellm-model-name: ");
    w.extend_from_slice(route.model.as_bytes());
    if let Some(base) = api_base {
        w.extend_from_slice(b"\r\nx-litellm-model-api-base: ");
        w.extend_from_slice(base.as_bytes());
    }
    w.extend_from_slice(b"\r\nx-litellm-version: ");
    w.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes());
    w.extend_from_slice(b"\r\nx-litellm-model-group: ");
    w.extend_from_slice(group.name.as_bytes());
    w.extend_from_slice(b"\r\nx-litellm-attempted-retries: ");
    http::push_u64(w, attempt as u64);
    w.extend_from_slice(b"\r\nx-litellm-attempted-fallbacks: 0\r\n");
}

/// `mock_response`: the whole answer is produced in the shard.
#[allow(clippy::too_many_arguments)]
async fn answer_mock(
    c: &mut Conn,
    route: &Route,
    group: &Group,
    ep: Endpoint,
    fields: &Fields,
    body: &[u8],
    text: &str,
    call_id: &[u8; 36],
    close: bool,
) -> After {
    let model = fields
        .model_raw(body)
        .unwrap_or(route.model_name.as_bytes());
    let w = &mut c.wbuf;
    w.clear();
    let stream = fields.stream && ep != Endpoint::Embeddings;
    mock::write_head(w, stream);
    if close {
        w.extend_from_slice(b"connection: close\r\n");
    }
    push_litellm_headers(w, call_id, route, None, group, 0);
    w.extend_from_slice(errors::SECURITY_HEADERS);
    if stream {
        w.extend_from_slice(b"\r\n");
        let include_usage = wants_usage(body, fields);
        if ep == Endpoint::Messages {
            mock::write_anthropic_stream(w, model, text, call_id);
        } else {
            mock::write_stream(w, model, text, call_id, include_usage);
        }
    } else {
        w.extend_from_slice(b"content-length: ");
        let at = w.len();
        w.extend_from_slice(b"          \r\n\r\n");
        let start = w.len();
        if ep == Endpoint::Messages {
            mock::write_anthropic_body(w, model, text, call_id);
        } else {
            mock::write_body(w, ep.mock_kind(), model, text, call_id);
        }
        let n = w.len() - start;
        errors::patch_len(w, at, n);
    }
    match c.flush().await {
        Ok(()) => After::KeepAlive,
        Err(_) => After::Close,
    }
}

/// Client request headers a pass-through does not forward: framing and
/// hop-by-hop ones, and the caller's gateway key (the provider credential
/// is injected instead).
fn pass_through_skips(name: &[u8]) -> bool {
    const SKIP: &[&str] = &[
        "host",
        "authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "expect",
        "te",
        "upgrade",
        "proxy-connection",
    ];
    SKIP.iter().any(|s| name.eq_ignore_ascii_case(s.as_bytes()))
        || (name.len() > 10 && name[..10].eq_ignore_ascii_case(b"x-litellm-"))
}

/// Upstream response headers a pass-through does not copy (it sets its own
/// framing).
fn pass_back_skips(name: &[u8]) -> bool {
    const SKIP: &[&str] = &[
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
    ];
    SKIP.iter().any(|s| name.eq_ignore_ascii_case(s.as_bytes()))
}

/// A provider pass-through (`/anthropic/v1/messages` → the provider's
/// `/v1/messages`): the client's method, path, query, body and headers go
/// up as they are, with the provider credential from the environment in
/// place of the caller's gateway key; the answer comes back as it is, read
/// for write.
pub(crate) async fn pass_through(
    shard: &Shard,
    c: &mut Conn,
    head: &[u8],
    target: &[u8],
    body: &[u8],
    pt: &crate::router::PassThrough,
    close: bool,
) -> After {
    let up = &shard.up;
    let timeout = Duration::from_millis(600_000);
    let max_header = shard.gw.settings.max_header_bytes;
    let fail = |why: &str| {
        format!(
            "litellm.InternalServerError: pass-through to {} failed: {why}",
            pt.prefix
        )
    };
    let mut conn = match up.checkout(pt.origin).await {
        Ok(conn) => conn,
        Err(e) => {
            let msg = fail(&e.to_string());
            let _ = c
                .send_error(&ApiError::new(500, "internal_server_error", &msg), close)
                .await;
            return After::KeepAlive;
        }
    };
    let method = head.split(|&b| b == b' ').next().unwrap_or(b"GET");
    let mut w = shard.bufs.get();
    w.extend_from_slice(method);
    w.push(b' ');
    w.extend_from_slice(pt.base_path.as_bytes());
    w.extend_from_slice(target);
    w.extend_from_slice(b" HTTP/1.1\r\n");
    w.extend_from_slice(&pt.fixed_headers);
    let mut content_type: &[u8] = b"";
    for (name, value) in http::header_lines(head) {
        if pass_through_skips(name) {
            continue;
        }
        if name.eq_ignore_ascii_case(b"content-type") {
            content_type = value;
        }
        w.extend_from_slice(name);
        w.extend_from_slice(b": ");
        w.extend_from_slice(value);
        w.extend_from_slice(b"\r\n");
    }
    match &pt.auth {
        UpAuth::Fixed => {}
        UpAuth::GcpToken(_) => shard.with_token(&pt.auth, |token| {
            if let Some(token) = token {
                w.extend_from_slice(b"authorization: Bearer ");
                w.extend_from_slice(token.as_bytes());
                w.extend_from_slice(b"\r\n");
            }
        }),
        UpAuth::SigV4(creds) => {
            // The signature covers content-type: send one if the client
            // gave none.
            if content_type.is_empty() {
                content_type = b"application/json";
                w.extend_from_slice(b"content-type: application/json\r\n");
            }
            let full = [pt.base_path.as_bytes(), target].concat();
            let full = String::from_utf8_lossy(&full);
            let (p, q) = full.split_once('?').unwrap_or((&full, ""));
            let method = String::from_utf8_lossy(method);
            crate::bedrock::sign(
                creds,
                "bedrock",
                &method,
                host_of(&pt.fixed_headers),
                p,
                q,
                &String::from_utf8_lossy(content_type),
                body,
                std::time::SystemTime::now(),
                &mut w,
            );
        }
    }
    w.extend_from_slice(b"content-length: ");
    http::push_u64(&mut w, body.len() as u64);
    w.extend_from_slice(b"\r\n\r\n");
    w.extend_from_slice(body);
    conn.wbuf = w;
    let head_up = match send_and_read_head(&mut conn, timeout, max_header).await {
        Ok(h) => h,
        Err(HeadFail::Stale(e)) | Err(HeadFail::Fail(Failure::Io(e))) => {
            let msg = fail(&format!("Connection error. ({e})"));
            let _ = c
                .send_error(&ApiError::new(500, "internal_server_error", &msg), close)
                .await;
            return After::KeepAlive;
        }
        Err(HeadFail::Fail(f)) => {
            let msg = fail(&f.to_string());
            let _ = c
                .send_error(&ApiError::new(500, "internal_server_error", &msg), close)
                .await;
            return After::KeepAlive;
        }
    };
    shard.bufs.put(std::mem::take(&mut conn.wbuf));
    let mut framing = match head_up.body {
        ResponseBody::Length(n) => Framing::Length(n),
        ResponseBody::Chunked => Framing::Chunked(Chunked::new(usize::MAX)),
        ResponseBody::UntilClose => Framing::UntilClose,
        ResponseBody::None => Framing::None,
    };
    let rechunk = matches!(framing, Framing::UntilClose);
    let w = &mut c.wbuf;
    w.clear();
    http::write_status_line(w, head_up.status);
    for (name, value) in http::header_lines(&conn.buf[..head_up.head_len]) {
        if pass_back_skips(name) {
            continue;
        }
        w.extend_from_slice(name);
        w.extend_from_slice(b": ");
        w.extend_from_slice(value);
        w.extend_from_slice(b"\r\n");
    }
    match head_up.body {
        ResponseBody::Length(n) => {
            w.extend_from_slice(b"content-length: ");
            http::push_u64(w, n as u64);
            w.extend_from_slice(b"\r\n");
        }
        ResponseBody::None => w.extend_from_slice(b"content-length: 0\r\n"),
        _ => w.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    if close {
        w.extend_from_slice(b"connection: close\r\n");
    }
    w.extend_from_slice(b"\r\n");
    // Relay: the first body bytes, then each read as it arrives.
    let mut piece = head_up.head_len..conn.buf.len();
    let mut extra = false;
    loop {
        let data = &conn.buf[piece.clone()];
        let (n, done) = match framing.take(data) {
            Ok(t) => t,
            Err(_) => return After::Close,
        };
        extra |= n < data.len();
        if rechunk && n > 0 {
            http::push_hex(&mut c.wbuf, n as u64);
            c.wbuf.extend_from_slice(b"\r\n");
            c.wbuf.extend_from_slice(&data[..n]);
            c.wbuf.extend_from_slice(b"\r\n");
        } else {
            c.wbuf.extend_from_slice(&data[..n]);
        }
        if c.flush().await.is_err() {
            return After::Close;
        }
        if done {
            break;
        }
        match read_piece(&mut conn, timeout).await {
            Ok(0) if rechunk => {
                c.wbuf.extend_from_slice(b"0\r\n\r\n");
                if c.flush().await.is_err() || close {
                    return After::Close;
                }
                return After::KeepAlive;
            }
            Ok(0) | Err(_) => return After::Close,
            Ok(n) => piece = 0..n,
        }
    }
    if head_up.keep_alive && !extra {
        up.checkin(conn);
    }
    if close {
        After::Close
    } else {
        After::KeepAlive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let mut rng = fastrand::Rng::with_seed(1);
        let mut id = [0u8; 36];
        uuid4(&mut rng, &mut id);
        let s = std::str::from_utf8(&id).unwrap();
        assert_eq!(s.len(), 36);
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(s.matches('-').count(), 4);
    }

    #[test]
    fn sse_events_split_and_model_rewritten() {
        let buf = b"data: {\"model\":\"up\",\"x\":1}\n\ndata: [DONE]\r\n\r\npartial";
        let e1 = next_event_end(buf, 0).unwrap();
        let e2 = next_event_end(buf, e1).unwrap();
        assert_eq!(&buf[e1..e2], b"data: [DONE]\r\n\r\n");
        assert!(next_event_end(buf, e2).is_none());
        let mut w = Vec::new();
        push_event_chunk(&mut w, &buf[..e1], b"\"alias\"");
        push_event_chunk(&mut w, &buf[e1..e2], b"\"alias\"");
        let mut d = Chunked::new(1 << 20);
        let mut out = Vec::new();
        w.extend_from_slice(b"0\r\n\r\n");
        d.feed(&w, Some(&mut out)).unwrap();
        assert!(d.is_done());
        assert_eq!(
            out,
            b"data: {\"model\":\"alias\",\"x\":1}\n\ndata: [DONE]\r\n\r\n".to_vec()
        );
    }

    /// The exact bodies LiteLLM 1.106.2 answered on the wire
    /// (/work/notes/litellm-behaviour.md §3) for the same provider errors.
    #[test]
    fn upstream_errors_match_litellm_bytes() {
        let cfg = crate::config::Config::from_str(
            "model_list:\n  - model_name: e400\n    litellm_params:\n      model: openai/x\n      api_base: http://127.0.0.1:1/v1\n  - model_name: e429\n    litellm_params:\n      model: openai/x\n      api_base: http://127.0.0.1:1/v1\n",
            "t.yaml",
        )
        .unwrap();
        let r = crate::router::Router::build(&cfg).unwrap();
        let render = |group: &str, status: u16, body: &str| {
            let (g, _) = r.group(group).unwrap();
            let route = &r.routes[g.routes[0]];
            let Backend::OpenAi(t) = &route.backend else {
                panic!("target")
            };
            let f = Failure::Status {
                status,
                body: body.as_bytes().to_vec(),
                retry_after: None,
            };
            let e = UpstreamError::from_failure(&f, route, t, g, false);
            let mut out = Vec::new();
            errors::write_body(&mut out, &e.api());
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            render(
                "e400",
                400,
                r#"{"error":{"message":"Invalid value for 'temperature': must be <= 2.","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}"#
            ),
            r#"{"error":{"message":"litellm.BadRequestError: OpenAIException - Invalid value for 'temperature': must be <= 2.\n\nLiteLLM: model group 'e400' failed with the error above. No fallback was attempted.","type":"invalid_request_error","param":"temperature","code":"400"}}"#
        );
        assert_eq!(
            render(
                "e429",
                429,
                r#"{"error":{"message":"Rate limit reached for gpt-4o-mini in organization org-x on requests per min (RPM): Limit 3, Used 3, Requested 1.","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#
            ),
            r#"{"error":{"message":"litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached for gpt-4o-mini in organization org-x on requests per min (RPM): Limit 3, Used 3, Requested 1.\n\nLiteLLM: model group 'e429' failed with the error above. No fallback was attempted.","type":"throttling_error","param":null,"code":"429"}}"#
        );
    }
}
