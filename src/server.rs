//! One shard's data plane: the request path, in the order a request takes it.
//!
//! ```text
//! listener -> http parse -> auth -> limits -> route -> translate -> upstream pool -> stream back
//! run_shard   read_request  auth::  admit     router   translate   upstream.rs      relay_body
//! ```
//!
//! Each connection owns three buffers (`rbuf` for what the client sent,
//! `wbuf` for what goes back, `chunked` for decoded chunked bodies), allocated
//! once and reused for every request on it; each pooled upstream connection
//! owns its own pair. A request's body is never parsed into a tree: `scan`
//! finds `model`/`stream`, the upstream body is the client's bytes with the
//! model spliced, and the response is relayed read-for-write as it arrives,
//! so SSE events are flushed one by one.
//!
//! Invariants:
//! * nothing on this path takes a lock or talks to another shard;
//! * a request either gets a complete response, an OpenAI-style JSON error,
//!   or (only when the upstream failed after its head was already relayed) a
//!   closed connection that the client sees as a truncated body;
//! * an upstream connection returns to the pool only when its response was
//!   read to the end without a cancelled read.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use monoio::buf::{IoBuf, IoBufMut, SliceMut};
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::TcpStream;

use crate::auth::{self, Verdict};
use crate::config::{Config, RingwaySettings};
use crate::errors::{self, ApiError, Param};
use crate::http::{self, BodyKind, Chunked, HeadError, Method, RequestHead, ResponseBody};
use crate::mock::{self, MockKind};
use crate::router::{Backend, Group, Route, Router};
use crate::translate::{self, Fields};
use crate::upstream::{Target, UpConn, Upstreams};

/// Everything shards share. Built once, then only read (no interior
/// mutability), so sharing it is free of contention.
pub struct Gateway {
    pub router: Router,
    pub master_key: Option<Vec<u8>>,
    pub limits: http::Limits,
    pub settings: RingwaySettings,
    pub tls: Arc<rustls::ClientConfig>,
    pub default_retries: u32,
    models_body: Vec<u8>,
}

impl Gateway {
    pub fn new(cfg: &Config) -> Result<Gateway, String> {
        if cfg.ringway.max_headers > http::HEADER_SLOTS {
            return Err(format!(
                "ringway_settings.max_headers: {} is above the supported maximum of {}",
                cfg.ringway.max_headers,
                http::HEADER_SLOTS
            ));
        }
        let router = Router::build(cfg)?;
        let verify = !matches!(cfg.litellm.ssl_verify, crate::config::SslVerify::Disabled);
        let ca = match &cfg.litellm.ssl_verify {
            crate::config::SslVerify::CaFile(p) => Some(p.clone()),
            _ => cfg.ringway.ca_file.clone(),
        };
        if !verify {
            log::warn!(
                "litellm_settings.ssl_verify is false: upstream TLS certificates are NOT verified"
            );
        }
        let tls = crate::upstream::tls_config(ca.as_deref(), verify)?;
        let models_body = models_json(&router);
        Ok(Gateway {
            master_key: cfg
                .general
                .master_key
                .as_ref()
                .filter(|k| !k.is_empty())
                .map(|k| k.as_bytes().to_vec()),
            limits: http::Limits {
                max_header_bytes: cfg.ringway.max_header_bytes,
                max_headers: cfg.ringway.max_headers,
                max_body_bytes: cfg.max_request_bytes(),
            },
            settings: cfg.ringway.clone(),
            tls: Arc::new(tls),
            default_retries: cfg
                .router
                .num_retries
                .or(cfg.litellm.num_retries)
                .unwrap_or(0),
            router,
            models_body,
        })
    }
}

/// `/v1/models`: LiteLLM lists each model group once.
fn models_json(r: &Router) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"{\"data\":[");
    for (i, name) in r.group_order.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"id\":\"");
        errors::push_json_escaped(&mut out, name.as_bytes());
        out.extend_from_slice(
            b"\",\"object\":\"model\",\"created\":1677610602,\"owned_by\":\"openai\"}",
        );
    }
    out.extend_from_slice(b"],\"object\":\"list\"}");
    out
}

/// Per-shard state. Lives in an `Rc`: every connection task of the shard
/// holds one, none leaves the thread.
struct Shard {
    gw: Arc<Gateway>,
    up: Upstreams,
    conns: Cell<usize>,
    inflight: Cell<usize>,
    rng: RefCell<fastrand::Rng>,
    shutdown: shards::Shutdown,
}

/// Set when a shard could not start; `run` then exits with an error.
pub static FAILED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs one shard: accept on its own `SO_REUSEPORT` listener until shutdown,
/// then wait (up to the grace period) for in-flight requests to finish.
pub async fn run_shard(
    gw: Arc<Gateway>,
    info: shards::ShardInfo,
    addr: SocketAddr,
    ready: Arc<std::sync::atomic::AtomicUsize>,
) {
    let listener = match shards::bind_listener(addr, 4096) {
        Ok(l) => {
            ready.fetch_add(1, std::sync::atomic::Ordering::Release);
            l
        }
        Err(e) => {
            log::error!("shard {}: cannot listen on {addr}: {e}", info.index);
            // Without its listener this shard would silently take no share
            // of the traffic: stop the whole process with an error instead.
            FAILED.store(true, std::sync::atomic::Ordering::Release);
            info.shutdown.trigger();
            return;
        }
    };
    let s = &gw.settings;
    let shard = Rc::new(Shard {
        up: Upstreams::new(
            gw.router.origins.clone(),
            gw.tls.clone(),
            s.upstream_idle_per_origin,
            Duration::from_millis(s.upstream_pool_idle_timeout_ms),
            Duration::from_millis(s.upstream_connect_timeout_ms),
            Duration::from_secs(s.dns_ttl_s),
        ),
        gw: gw.clone(),
        conns: Cell::new(0),
        inflight: Cell::new(0),
        rng: RefCell::new(fastrand::Rng::with_seed(
            0x5eed ^ (info.index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ nanos(),
        )),
        shutdown: info.shutdown.clone(),
    });
    let accept = async {
        loop {
            match listener.accept().await {
                Ok((sock, _peer)) => {
                    let sh = shard.clone();
                    if sh.conns.get() >= sh.gw.settings.max_connections_per_shard {
                        monoio::spawn(refuse_overloaded(sock));
                        continue;
                    }
                    sh.conns.set(sh.conns.get() + 1);
                    monoio::spawn(async move {
                        serve_conn(&sh, sock).await;
                        sh.conns.set(sh.conns.get() - 1);
                    });
                }
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    log::warn!("accept: {e}");
                    monoio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    };
    monoio::select! {
        _ = accept => {},
        _ = info.shutdown.wait() => {},
    }
    drop(listener);
    let deadline = Instant::now() + Duration::from_millis(gw.settings.shutdown_grace_ms);
    while shard.inflight.get() > 0 && Instant::now() < deadline {
        monoio::time::sleep(Duration::from_millis(10)).await;
    }
    if shard.inflight.get() > 0 {
        log::warn!(
            "shard {}: {} requests still in flight at the shutdown deadline",
            info.index,
            shard.inflight.get()
        );
    }
}

fn nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0)
}

async fn refuse_overloaded(mut sock: TcpStream) {
    let mut out = Vec::with_capacity(256);
    errors::write_response(
        &mut out,
        &ApiError::new(
            503,
            "service_unavailable",
            "Ringway: too many connections on this shard; retry later",
        ),
        true,
        b"",
    );
    let _ = sock.write_all(out).await;
}

/// A connection's reusable buffers.
struct Conn {
    sock: TcpStream,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    chunked: Vec<u8>,
}

/// A request head plus a typical 2 KB body fits; bigger requests grow it.
const INITIAL_RBUF: usize = 4 * 1024;
/// Buffers grown past this by one large request are shrunk back once it is
/// answered, so idle keep-alive connections stay small (RSS bound).
const SHRINK_ABOVE: usize = 64 * 1024;

/// Why reading from the client stopped.
enum ReadErr {
    Eof,
    Timeout,
    Io,
}

impl Conn {
    /// Reads more bytes onto the end of `rbuf`, growing it up to `cap`.
    async fn read_more(&mut self, timeout: Duration, cap: usize) -> Result<usize, ReadErr> {
        if self.rbuf.len() == self.rbuf.capacity() {
            let want = (self.rbuf.capacity() * 2).clamp(INITIAL_RBUF, cap.max(INITIAL_RBUF));
            if want <= self.rbuf.len() {
                return Err(ReadErr::Io);
            }
            self.rbuf.reserve_exact(want - self.rbuf.len());
        }
        let buf = std::mem::take(&mut self.rbuf);
        let len = buf.len();
        let slice: SliceMut<Vec<u8>> = buf.slice_mut(len..);
        match monoio::time::timeout(timeout, self.sock.read(slice)).await {
            Ok((r, slice)) => {
                self.rbuf = slice.into_inner();
                match r {
                    Ok(0) => Err(ReadErr::Eof),
                    Ok(n) => Ok(n),
                    Err(_) => Err(ReadErr::Io),
                }
            }
            // The cancelled read took the buffer with it; the connection is
            // closed after the 408, so a fresh small one is enough.
            Err(_) => {
                self.rbuf = Vec::with_capacity(1024);
                Err(ReadErr::Timeout)
            }
        }
    }

    /// Sends `wbuf` and clears it. Err means the client is gone.
    async fn flush(&mut self) -> io::Result<()> {
        let buf = std::mem::take(&mut self.wbuf);
        let (r, mut buf) = self.sock.write_all(buf).await;
        buf.clear();
        self.wbuf = buf;
        r.map(|_| ())
    }

    async fn send_error(&mut self, e: &ApiError<'_>, close: bool) -> io::Result<()> {
        self.wbuf.clear();
        errors::write_response(&mut self.wbuf, e, close, b"");
        self.flush().await
    }
}

/// What to do with the client connection after a response.
#[derive(Clone, Copy, PartialEq, Eq)]
enum After {
    KeepAlive,
    Close,
}

async fn serve_conn(shard: &Shard, sock: TcpStream) {
    let _ = sock.set_nodelay(true);
    let mut c = Conn {
        sock,
        rbuf: Vec::with_capacity(INITIAL_RBUF),
        wbuf: Vec::new(),
        chunked: Vec::new(),
    };
    loop {
        match serve_one(shard, &mut c).await {
            After::KeepAlive if !shard.shutdown.is_triggered() => continue,
            _ => return,
        }
    }
}

/// Counts a request as in flight from its first byte to its last response
/// byte, so graceful shutdown waits for it.
struct InFlight<'a>(&'a Cell<usize>);

impl<'a> InFlight<'a> {
    fn new(c: &'a Cell<usize>) -> Self {
        c.set(c.get() + 1);
        InFlight(c)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

/// Reads, answers and consumes one request.
async fn serve_one(shard: &Shard, c: &mut Conn) -> After {
    let gw = &*shard.gw;
    let s = &gw.settings;
    // Idle keep-alive wait: nothing buffered yet means no request started.
    if c.rbuf.is_empty() {
        match c
            .read_more(Duration::from_millis(s.idle_timeout_ms), INITIAL_RBUF)
            .await
        {
            Ok(_) => {}
            Err(_) => return After::Close,
        }
    }
    let _inflight = InFlight::new(&shard.inflight);

    // http parse
    let head_deadline = Instant::now() + Duration::from_millis(s.header_timeout_ms);
    let head = loop {
        match http::parse_request(&c.rbuf, &gw.limits) {
            Ok(Some(h)) => break h,
            Ok(None) => {}
            Err(e) => {
                let _ = c.send_error(&head_error(e), true).await;
                return After::Close;
            }
        }
        let left = head_deadline.saturating_duration_since(Instant::now());
        match c.read_more(left, gw.limits.max_header_bytes + 1).await {
            Ok(_) => {}
            Err(ReadErr::Timeout) => {
                let _ = c.send_error(&REQUEST_TIMEOUT, true).await;
                return After::Close;
            }
            Err(_) => return After::Close,
        }
    };

    // body
    let body_range = match read_body(shard, c, &head).await {
        Ok(r) => r,
        Err(after) => return after,
    };
    let consumed = match &body_range {
        BodyAt::Buf(r) => r.end,
        BodyAt::Chunked(end) => *end,
    };
    let keep_alive = head.keep_alive && !shard.shutdown.is_triggered();
    let after = dispatch(shard, c, &head, &body_range, keep_alive).await;
    // Drop this request's bytes; whatever follows is the next (pipelined) one.
    c.rbuf.drain(..consumed.min(c.rbuf.len()));
    c.chunked.clear();
    if c.rbuf.capacity() > SHRINK_ABOVE && c.rbuf.len() <= INITIAL_RBUF {
        c.rbuf.shrink_to(INITIAL_RBUF);
    }
    if c.wbuf.capacity() > SHRINK_ABOVE {
        c.wbuf = Vec::new();
    }
    if c.chunked.capacity() > SHRINK_ABOVE {
        c.chunked = Vec::new();
    }
    if !keep_alive {
        return After::Close;
    }
    after
}

const REQUEST_TIMEOUT: ApiError<'static> = ApiError::new(
    408,
    "timeout_error",
    "Request Timeout: the request was not received in time",
);

fn head_error(e: HeadError) -> ApiError<'static> {
    match e {
        HeadError::TooLarge => ApiError::new(
            431,
            "invalid_request_error",
            "Request header fields too large",
        ),
        HeadError::BodyTooLarge => body_too_large(),
        HeadError::Version => {
            ApiError::new(505, "invalid_request_error", "HTTP version not supported")
        }
        HeadError::Bad(why) => ApiError::new(400, "invalid_request_error", why),
    }
}

fn body_too_large() -> ApiError<'static> {
    ApiError::new(
        413,
        "invalid_request_error",
        "Request size is too large. Request size exceeds max_request_size_mb",
    )
}

/// Where the request body is once fully read.
enum BodyAt {
    /// `rbuf[range]` (Content-Length bodies, and empty ones).
    Buf(std::ops::Range<usize>),
    /// Decoded into `chunked`; the raw request ended at this `rbuf` offset.
    Chunked(usize),
}

async fn read_body(shard: &Shard, c: &mut Conn, head: &RequestHead) -> Result<BodyAt, After> {
    let gw = &*shard.gw;
    let deadline = Instant::now() + Duration::from_millis(gw.settings.body_timeout_ms);
    let hl = head.head_len;
    let need_more = match head.body {
        BodyKind::Empty => false,
        BodyKind::Length(n) => c.rbuf.len() < hl + n,
        BodyKind::Chunked => true,
    };
    if head.expect_continue && need_more {
        c.wbuf.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        if c.flush().await.is_err() {
            return Err(After::Close);
        }
    }
    match head.body {
        BodyKind::Empty => Ok(BodyAt::Buf(hl..hl)),
        BodyKind::Length(n) => {
            let end = hl + n;
            if c.rbuf.capacity() < end {
                c.rbuf.reserve_exact(end - c.rbuf.len());
            }
            while c.rbuf.len() < end {
                let left = deadline.saturating_duration_since(Instant::now());
                match c.read_more(left, end).await {
                    Ok(_) => {}
                    Err(ReadErr::Timeout) => {
                        let _ = c.send_error(&REQUEST_TIMEOUT, true).await;
                        return Err(After::Close);
                    }
                    Err(_) => return Err(After::Close),
                }
            }
            Ok(BodyAt::Buf(hl..end))
        }
        BodyKind::Chunked => {
            let mut dec = Chunked::new(gw.limits.max_body_bytes);
            c.chunked.clear();
            // Raw chunked bytes are decoded and then dropped from `rbuf`, so
            // the buffer holds at most one read beyond the head.
            loop {
                let r = dec.feed(&c.rbuf[hl..], Some(&mut c.chunked));
                match r {
                    Ok(used) => {
                        if dec.is_done() {
                            c.rbuf.drain(hl..hl + used);
                            return Ok(BodyAt::Chunked(hl));
                        }
                        c.rbuf.truncate(hl);
                    }
                    Err(http::ChunkError::TooLarge) => {
                        let _ = c.send_error(&body_too_large(), true).await;
                        return Err(After::Close);
                    }
                    Err(http::ChunkError::Bad(why)) => {
                        let _ = c
                            .send_error(&ApiError::new(400, "invalid_request_error", why), true)
                            .await;
                        return Err(After::Close);
                    }
                }
                let left = deadline.saturating_duration_since(Instant::now());
                match c.read_more(left, hl + 64 * 1024).await {
                    Ok(_) => {}
                    Err(ReadErr::Timeout) => {
                        let _ = c.send_error(&REQUEST_TIMEOUT, true).await;
                        return Err(After::Close);
                    }
                    Err(_) => return Err(After::Close),
                }
            }
        }
    }
}

/// The OpenAI endpoints the gateway proxies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Chat,
    Completions,
    Embeddings,
}

impl Endpoint {
    fn upstream_suffix(self) -> &'static [u8] {
        match self {
            Endpoint::Chat => b"/chat/completions",
            Endpoint::Completions => b"/completions",
            Endpoint::Embeddings => b"/embeddings",
        }
    }
    fn mock_kind(self) -> MockKind {
        match self {
            Endpoint::Chat => MockKind::Chat,
            Endpoint::Completions => MockKind::Completion,
            Endpoint::Embeddings => MockKind::Embedding,
        }
    }
}

enum RouteKind {
    /// A proxied endpoint; `path_model` is the model named in an
    /// `/openai/deployments/{model}/...` or `/engines/{model}/...` path.
    Proxy(Endpoint, Option<std::ops::Range<usize>>),
    Models,
    Liveliness,
    Readiness,
    NotFound,
}

fn endpoint_of(rest: &[u8]) -> Option<Endpoint> {
    match rest {
        b"/chat/completions" => Some(Endpoint::Chat),
        b"/completions" => Some(Endpoint::Completions),
        b"/embeddings" => Some(Endpoint::Embeddings),
        _ => None,
    }
}

fn classify(path: &[u8], path_start: usize) -> RouteKind {
    let p = path
        .strip_suffix(b"/")
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let unversioned = p
        .strip_prefix(b"/v1")
        .filter(|r| r.starts_with(b"/"))
        .unwrap_or(p);
    if let Some(ep) = endpoint_of(unversioned) {
        return RouteKind::Proxy(ep, None);
    }
    match unversioned {
        b"/models" => return RouteKind::Models,
        b"/health/liveliness" | b"/health/liveness" => return RouteKind::Liveliness,
        b"/health/readiness" => return RouteKind::Readiness,
        _ => {}
    }
    for prefix in [&b"/openai/deployments/"[..], b"/engines/"] {
        if let Some(rest) = p.strip_prefix(prefix) {
            if let Some(slash) = memchr::memchr(b'/', rest) {
                if let Some(ep) = endpoint_of(&rest[slash..]) {
                    let start = path_start + prefix.len();
                    return RouteKind::Proxy(ep, Some(start..start + slash));
                }
            }
        }
    }
    RouteKind::NotFound
}

async fn dispatch(
    shard: &Shard,
    c: &mut Conn,
    head: &RequestHead,
    body: &BodyAt,
    keep_alive: bool,
) -> After {
    let gw = &*shard.gw;
    let path_start = head.target.start;
    let route = classify(head.path(&c.rbuf), path_start);
    let close = !keep_alive;
    let method_ok = match route {
        RouteKind::Proxy(..) => head.method == Method::Post,
        RouteKind::NotFound => true,
        // HEAD is refused like FastAPI does for LiteLLM's GET routes (a
        // HEAD answer must not carry the body these handlers write).
        _ => head.method == Method::Get,
    };
    if !method_ok {
        let _ = c
            .send_error(
                &ApiError::new(405, "invalid_request_error", "Method Not Allowed"),
                close,
            )
            .await;
        return After::KeepAlive;
    }
    match route {
        RouteKind::Liveliness => {
            simple(c, 200, b"application/json", b"\"I'm alive!\"", close).await
        }
        RouteKind::Readiness => {
            let body = concat!(
                "{\"status\":\"healthy\",\"db\":\"Not connected\",\"cache\":null,\"litellm_version\":\"ringway-",
                env!("CARGO_PKG_VERSION"),
                "\",\"success_callbacks\":[]}"
            );
            simple(c, 200, b"application/json", body.as_bytes(), close).await
        }
        RouteKind::NotFound => {
            let _ = c
                .send_error(&ApiError::new(404, "not_found_error", "Not Found"), close)
                .await;
            After::KeepAlive
        }
        RouteKind::Models => {
            if let Some(e) = auth_error(gw, &c.rbuf, head) {
                let _ = c.send_error(&e, close).await;
                return After::KeepAlive;
            }
            simple(c, 200, b"application/json", &gw.models_body, close).await
        }
        RouteKind::Proxy(ep, path_model) => {
            proxy(shard, c, head, body, ep, path_model, close).await
        }
    }
}

async fn simple(c: &mut Conn, status: u16, ctype: &[u8], body: &[u8], close: bool) -> After {
    c.wbuf.clear();
    http::write_status_line(&mut c.wbuf, status);
    c.wbuf.extend_from_slice(b"content-type: ");
    c.wbuf.extend_from_slice(ctype);
    c.wbuf.extend_from_slice(b"\r\ncontent-length: ");
    http::push_u64(&mut c.wbuf, body.len() as u64);
    c.wbuf.extend_from_slice(b"\r\n");
    if close {
        c.wbuf.extend_from_slice(b"connection: close\r\n");
    }
    c.wbuf.extend_from_slice(b"\r\n");
    c.wbuf.extend_from_slice(body);
    match c.flush().await {
        Ok(()) => After::KeepAlive,
        Err(_) => After::Close,
    }
}

/// Auth phase: `None` admits the request.
fn auth_error(gw: &Gateway, buf: &[u8], head: &RequestHead) -> Option<ApiError<'static>> {
    match auth::check(buf, &head.headers, gw.master_key.as_deref()) {
        Verdict::Open | Verdict::Master => None,
        Verdict::Missing => Some(errors::NO_KEY),
        Verdict::Wrong => Some(
            ApiError::new(
                401,
                "auth_error",
                "Authentication Error, Invalid proxy server token passed. Unable to find token in cache or `LiteLLM_VerificationTokenTable`",
            )
            .with_param(Param::NoneString),
        ),
    }
}

/// The proxied endpoints: auth, limits, then on to routing with the body.
async fn proxy(
    shard: &Shard,
    c: &mut Conn,
    head: &RequestHead,
    body_at: &BodyAt,
    ep: Endpoint,
    path_model: Option<std::ops::Range<usize>>,
    close: bool,
) -> After {
    let gw = &*shard.gw;
    // auth
    if let Some(e) = auth_error(gw, &c.rbuf, head) {
        let _ = c.send_error(&e, close).await;
        return After::KeepAlive;
    }
    // limits
    if shard.inflight.get() > gw.settings.max_inflight_per_shard {
        let _ = c
            .send_error(
                &ApiError::new(
                    503,
                    "service_unavailable",
                    "Ringway: too many requests in flight on this shard; retry later",
                ),
                close,
            )
            .await;
        return After::KeepAlive;
    }
    // Azure-style paths name the model; rare, so an owned copy is fine.
    let path_model = path_model.map(|r| String::from_utf8_lossy(&c.rbuf[r]).into_owned());
    // Take the body's buffer out of the connection for the exchange, so the
    // connection can be used mutably while the body is borrowed.
    let (body_buf, range, from_chunked) = match body_at {
        BodyAt::Buf(r) => (std::mem::take(&mut c.rbuf), r.clone(), false),
        BodyAt::Chunked(_) => {
            let b = std::mem::take(&mut c.chunked);
            let len = b.len();
            (b, 0..len, true)
        }
    };
    let after =
        route_and_forward(shard, c, &body_buf[range], ep, path_model.as_deref(), close).await;
    if from_chunked {
        c.chunked = body_buf;
    } else {
        c.rbuf = body_buf;
    }
    after
}

/// route, then translate + forward.
async fn route_and_forward(
    shard: &Shard,
    c: &mut Conn,
    body: &[u8],
    ep: Endpoint,
    path_model: Option<&str>,
    close: bool,
) -> After {
    let gw = &*shard.gw;
    let fields = match translate::scan(body) {
        Ok(f) => f,
        Err(e) => {
            let msg = format!("Invalid JSON in request body: {}", e.0);
            let _ = c
                .send_error(&ApiError::new(400, "invalid_request_error", &msg), close)
                .await;
            return After::KeepAlive;
        }
    };
    let model_name = match (path_model, fields.model_raw(body)) {
        (Some(m), _) => Some(std::borrow::Cow::Borrowed(m)),
        (None, Some(raw)) => translate::unescape(raw),
        (None, None) => None,
    };
    let Some(model_name) = model_name else {
        let _ = c
            .send_error(
                &ApiError::new(
                    400,
                    "invalid_request_error",
                    "litellm.BadRequestError: model is a required param. Pass it in the request body",
                )
                .with_param(Param::Str("model")),
                close,
            )
            .await;
        return After::KeepAlive;
    };
    let Some((group, wildcard_rest)) = gw.router.group(&model_name) else {
        let msg = format!(
            "litellm.BadRequestError: You passed in model={model_name}. There are no healthy deployments for this model. Received Model Group={model_name}\nAvailable Model Group Fallbacks=None"
        );
        let _ = c
            .send_error(&ApiError::new(400, "invalid_request_error", &msg), close)
            .await;
        return After::KeepAlive;
    };
    forward(shard, c, group, wildcard_rest, body, &fields, ep, close).await
}

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
    Status { status: u16, body: Vec<u8> },
}

impl Failure {
    /// LiteLLM's router retries rate limits, timeouts, connection errors and
    /// server errors; client errors (4xx but 408/429) are final.
    fn retryable(&self) -> bool {
        match self {
            Failure::Status { status, .. } => matches!(status, 408 | 409 | 429) || *status >= 500,
            _ => true,
        }
    }
}

/// Largest upstream error body kept for the error message.
const MAX_ERROR_BODY: usize = 256 * 1024;

/// Forwards to a deployment of `group`, retrying on retryable failures.
#[allow(clippy::too_many_arguments)]
async fn forward(
    shard: &Shard,
    c: &mut Conn,
    group: &Group,
    wildcard_rest: Option<&str>,
    body: &[u8],
    fields: &Fields,
    ep: Endpoint,
    close: bool,
) -> After {
    let gw = &*shard.gw;
    let mut call_id = [0u8; 36];
    uuid4(&mut shard.rng.borrow_mut(), &mut call_id);
    let mut skip = None;
    let mut attempt: u32 = 0;
    loop {
        let ri = gw.router.choose(group, &mut shard.rng.borrow_mut(), skip);
        let route = &gw.router.routes[ri];
        let target = match &route.backend {
            Backend::Mock(text) => {
                return answer_mock(c, route, group, ep, fields, body, text, &call_id, close).await
            }
            Backend::Unsupported(msg) => {
                let msg = format!("litellm.BadRequestError: {msg}");
                let _ = c
                    .send_error(&ApiError::new(400, "invalid_request_error", &msg), close)
                    .await;
                return After::KeepAlive;
            }
            Backend::OpenAi(t) => t,
        };
        let retries = route.max_retries.unwrap_or(gw.default_retries);
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
        };
        match exchange(shard, c, &ctx).await {
            Ok(after) => return after,
            Err(f) => {
                if f.retryable() && attempt < retries {
                    log::debug!("upstream attempt {attempt} failed ({f:?}); retrying");
                    attempt += 1;
                    skip = Some(ri);
                    continue;
                }
                let e = UpstreamError::from_failure(&f, route);
                let _ = c.send_error(&e.api(), close).await;
                return After::KeepAlive;
            }
        }
    }
}

/// A LiteLLM-shaped error for an upstream failure. LiteLLM wraps provider
/// errors as `litellm.<Class>: <Class>: OpenAIException - <provider message>`
/// and keeps the provider's status.
struct UpstreamError {
    status: u16,
    message: String,
    kind: String,
    param: Option<String>,
}

impl UpstreamError {
    fn from_failure(f: &Failure, route: &Route) -> UpstreamError {
        let (status, class, detail, kind, param) = match f {
            Failure::Connect(e) => (
                500,
                "APIConnectionError",
                format!("Connection error. ({e})"),
                None,
                None,
            ),
            Failure::Io(e) => (
                500,
                "APIConnectionError",
                format!("Connection error. ({e})"),
                None,
                None,
            ),
            Failure::BadResponse(why) => (
                500,
                "APIConnectionError",
                format!("Invalid response from upstream: {why}"),
                None,
                None,
            ),
            Failure::Timeout => (
                408,
                "Timeout",
                format!(
                    "Request timed out. (timeout={}s)",
                    route.timeout_ms as f64 / 1000.0
                ),
                None,
                None,
            ),
            Failure::Status { status, body } => {
                let (msg, kind, param) = provider_error_fields(body);
                let class = match status {
                    400 => "BadRequestError",
                    401 => "AuthenticationError",
                    403 => "PermissionDeniedError",
                    404 => "NotFoundError",
                    408 => "Timeout",
                    422 => "UnprocessableEntityError",
                    429 => "RateLimitError",
                    503 => "ServiceUnavailableError",
                    s if *s >= 500 => "InternalServerError",
                    _ => "APIError",
                };
                (*status, class, msg, kind, param)
            }
        };
        // Every upstream Ringway speaks today is OpenAI wire format.
        let provider = "OpenAIException";
        let message = match class {
            "Timeout" => format!("litellm.Timeout: APITimeoutError - {detail}"),
            _ => format!("litellm.{class}: {class}: {provider} - {detail}"),
        };
        UpstreamError {
            status,
            message,
            kind: kind.unwrap_or_else(|| "None".to_string()),
            param,
        }
    }

    fn api(&self) -> ApiError<'_> {
        let mut e = ApiError::new(self.status, &self.kind, &self.message);
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

fn build_request(out: &mut Vec<u8>, x: &Exchange) {
    let model_json = upstream_model_json(x);
    out.clear();
    out.extend_from_slice(b"POST ");
    out.extend_from_slice(x.target.base_path.as_bytes());
    out.extend_from_slice(x.ep.upstream_suffix());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    out.extend_from_slice(&x.target.fixed_headers);
    out.extend_from_slice(b"content-length: ");
    http::push_u64(
        out,
        translate::spliced_len(x.body, x.fields, &model_json) as u64,
    );
    out.extend_from_slice(b"\r\n\r\n");
    translate::write_spliced(out, x.body, x.fields, &model_json);
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
    let mut conn = up.checkout(origin).await.map_err(Failure::Connect)?;
    build_request(&mut conn.wbuf, x);
    let head = match send_and_read_head(&mut conn, timeout, max_header).await {
        Ok(h) => h,
        Err(HeadFail::Stale(e)) if conn.reused => {
            // A pooled connection the upstream had closed: one fresh try.
            log::debug!("pooled upstream connection was stale ({e}); reconnecting");
            conn = up.connect(origin).await.map_err(Failure::Connect)?;
            build_request(&mut conn.wbuf, x);
            match send_and_read_head(&mut conn, timeout, max_header).await {
                Ok(h) => h,
                Err(HeadFail::Stale(e)) => return Err(Failure::Io(e)),
                Err(HeadFail::Fail(f)) => return Err(f),
            }
        }
        Err(HeadFail::Stale(e)) => return Err(Failure::Io(e)),
        Err(HeadFail::Fail(f)) => return Err(f),
    };
    let mut framing = match head.body {
        ResponseBody::Length(n) => Framing::Length(n),
        ResponseBody::Chunked => Framing::Chunked(Chunked::new(usize::MAX)),
        ResponseBody::UntilClose => Framing::UntilClose,
        ResponseBody::None => Framing::None,
    };
    if head.status >= 400 {
        return Err(collect_error(up, conn, &head, framing, timeout).await);
    }

    // Response head for the client.
    let w = &mut c.wbuf;
    w.clear();
    http::write_status_line(w, head.status);
    match &head.content_type {
        Some(r) => {
            w.extend_from_slice(b"content-type: ");
            w.extend_from_slice(&conn.buf[r.clone()]);
            w.extend_from_slice(b"\r\n");
        }
        None => w.extend_from_slice(b"content-type: application/json\r\n"),
    }
    let rechunk = matches!(framing, Framing::UntilClose);
    match head.body {
        ResponseBody::Length(n) => {
            w.extend_from_slice(b"content-length: ");
            http::push_u64(w, n as u64);
            w.extend_from_slice(b"\r\n");
        }
        ResponseBody::Chunked | ResponseBody::UntilClose => {
            w.extend_from_slice(b"transfer-encoding: chunked\r\n")
        }
        ResponseBody::None => w.extend_from_slice(b"content-length: 0\r\n"),
    }
    if x.close {
        w.extend_from_slice(b"connection: close\r\n");
    }
    write_litellm_headers(w, x);
    // The provider's own headers, re-emitted under `llm_provider-` as LiteLLM does.
    for (name, value) in http::header_lines(&conn.buf[..head.head_len]) {
        if is_hop_or_framing(name) {
            continue;
        }
        w.extend_from_slice(b"llm_provider-");
        w.extend_from_slice(name);
        w.extend_from_slice(b": ");
        w.extend_from_slice(value);
        w.extend_from_slice(b"\r\n");
    }
    w.extend_from_slice(b"\r\n");

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
        let n = match read_piece(&mut conn, timeout).await {
            Ok(n) => n,
            Err(f) => {
                // Head already sent: all we can do is cut the response so
                // the client sees a truncated body, not a silent success.
                log::warn!("upstream failed mid-response: {f:?}");
                return Ok(After::Close);
            }
        };
        if n == 0 {
            if rechunk {
                c.wbuf.extend_from_slice(b"0\r\n\r\n");
                if c.flush().await.is_err() {
                    return Ok(After::Close);
                }
                return Ok(if x.close {
                    After::Close
                } else {
                    After::KeepAlive
                });
            }
            log::warn!("upstream closed mid-response");
            return Ok(After::Close);
        }
        let (take, fin) = framing.take(&conn.buf[..n])?;
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

/// Reads an upstream error body (bounded) and turns it into a failure.
async fn collect_error(
    up: &Upstreams,
    mut conn: UpConn,
    head: &http::ResponseHead,
    mut framing: Framing,
    timeout: Duration,
) -> Failure {
    let status = head.status;
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
        Err(()) => return Failure::Status { status, body },
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
    Failure::Status { status, body }
}

fn is_hop_or_framing(name: &[u8]) -> bool {
    const SKIP: &[&str] = &[
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "content-type",
        "upgrade",
        "proxy-connection",
        "te",
        "trailer",
    ];
    SKIP.iter().any(|s| name.eq_ignore_ascii_case(s.as_bytes()))
}

fn write_litellm_headers(w: &mut Vec<u8>, x: &Exchange) {
    w.extend_from_slice(b"x-litellm-call-id: ");
    w.extend_from_slice(x.call_id);
    w.extend_from_slice(b"\r\nx-litellm-model-id: ");
    w.extend_from_slice(x.route.id.as_bytes());
    w.extend_from_slice(b"\r\nx-litellm-model-group: ");
    w.extend_from_slice(x.group.name.as_bytes());
    w.extend_from_slice(b"\r\nx-litellm-model-api-base: ");
    w.extend_from_slice(x.target.api_base.as_bytes());
    w.extend_from_slice(b"\r\nx-litellm-version: ");
    w.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes());
    w.extend_from_slice(b"\r\nx-litellm-attempted-retries: ");
    http::push_u64(w, x.attempt as u64);
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
    w.extend_from_slice(b"x-litellm-call-id: ");
    w.extend_from_slice(call_id);
    w.extend_from_slice(b"\r\nx-litellm-model-id: ");
    w.extend_from_slice(route.id.as_bytes());
    w.extend_from_slice(b"\r\nx-litellm-model-group: ");
    w.extend_from_slice(group.name.as_bytes());
    w.extend_from_slice(b"\r\nx-litellm-version: ");
    w.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes());
    w.extend_from_slice(b"\r\n");
    if stream {
        w.extend_from_slice(b"\r\n");
        let include_usage = fields.stream_options.as_ref().is_some_and(|r| {
            memchr::memmem::find(&body[r.clone()], b"\"include_usage\":true").is_some()
                || memchr::memmem::find(&body[r.clone()], b"\"include_usage\": true").is_some()
        });
        mock::write_stream(w, model, text, call_id, include_usage);
    } else {
        w.extend_from_slice(b"content-length: ");
        let at = w.len();
        w.extend_from_slice(b"          \r\n\r\n");
        let start = w.len();
        mock::write_body(w, ep.mock_kind(), model, text, call_id);
        let n = w.len() - start;
        errors::patch_len(w, at, n);
    }
    match c.flush().await {
        Ok(()) => After::KeepAlive,
        Err(_) => After::Close,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_classify() {
        let k = |p: &str| classify(p.as_bytes(), 0);
        assert!(matches!(
            k("/v1/chat/completions"),
            RouteKind::Proxy(Endpoint::Chat, None)
        ));
        assert!(matches!(
            k("/chat/completions"),
            RouteKind::Proxy(Endpoint::Chat, None)
        ));
        assert!(matches!(
            k("/v1/embeddings"),
            RouteKind::Proxy(Endpoint::Embeddings, None)
        ));
        assert!(matches!(
            k("/completions"),
            RouteKind::Proxy(Endpoint::Completions, None)
        ));
        assert!(matches!(k("/v1/models"), RouteKind::Models));
        assert!(matches!(k("/models"), RouteKind::Models));
        assert!(matches!(k("/health/liveliness"), RouteKind::Liveliness));
        assert!(matches!(k("/health/readiness"), RouteKind::Readiness));
        assert!(matches!(k("/v2/chat/completions"), RouteKind::NotFound));
        assert!(matches!(k("/"), RouteKind::NotFound));
        let p = "/openai/deployments/my-gpt/chat/completions";
        match classify(p.as_bytes(), 0) {
            RouteKind::Proxy(Endpoint::Chat, Some(r)) => assert_eq!(&p[r], "my-gpt"),
            _ => panic!("azure route"),
        }
    }

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
}
