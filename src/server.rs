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

use monoio::buf::{IoBufMut, SliceMut};
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::TcpStream;

use crate::auth::{self, Verdict};
use crate::config::{Config, RingwaySettings};
use crate::errors::{self, ApiError, Param};
use crate::http::{self, BodyKind, Chunked, HeadError, Method, RequestHead};
use crate::mock::MockKind;
use crate::proxy::forward;
use crate::router::Router;
use crate::translate;
use crate::upstream::Upstreams;

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
    too_large_message: String,
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
            // LiteLLM's router default: 2 retries (3 attempts).
            default_retries: cfg
                .router
                .num_retries
                .or(cfg.litellm.num_retries)
                .unwrap_or(2),
            too_large_message: format!(
                "Request size is too large. Max size is {} MB",
                fmt_number(cfg.max_request_bytes() as f64 / (1024.0 * 1024.0))
            ),
            router,
            models_body,
        })
    }
}

/// Formats a number the way Python prints it in LiteLLM's messages: `1`
/// stays `1`, `1.5` stays `1.5`.
pub(crate) fn fmt_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
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
pub(crate) struct Shard {
    pub(crate) gw: Arc<Gateway>,
    pub(crate) up: Upstreams,
    pub(crate) conns: Cell<usize>,
    pub(crate) inflight: Cell<usize>,
    pub(crate) rng: RefCell<fastrand::Rng>,
    pub(crate) shutdown: shards::Shutdown,
    /// Write buffers lent to connections while they answer (client side) or
    /// send (upstream side), so an idle connection holds none.
    pub(crate) bufs: BufPool,
    /// Most connections seen since the last heap trim.
    peak_conns: Cell<usize>,
    /// This shard's readers of the Google token sources (`UpAuth::GcpToken`).
    gcp: RefCell<Vec<crate::gcp_auth::TokenHandle>>,
}

impl Shard {
    /// Runs `f` with the access token `auth` needs (a Google token source's
    /// current token, borrowed from this shard's handle: no copy), or
    /// `None`. `f` must not await: the handle is borrowed meanwhile.
    pub(crate) fn with_token<R>(
        &self,
        auth: &crate::upstream::UpAuth,
        f: impl FnOnce(Option<&str>) -> R,
    ) -> R {
        let crate::upstream::UpAuth::GcpToken(i) = auth else {
            return f(None);
        };
        let mut handles = self.gcp.borrow_mut();
        f(handles.get_mut(*i).and_then(|h| h.get()))
    }
}

/// A shard-local free list of byte buffers. `get`/`put` are a pop and a
/// push on a vector sized once, so lending allocates nothing once warm;
/// memory held is bounded by `max` buffers of at most `MAX_POOLED_BUF`.
pub(crate) struct BufPool {
    free: RefCell<Vec<Vec<u8>>>,
    max: usize,
}

/// Larger buffers (one-off big requests or answers) are freed, not pooled.
const MAX_POOLED_BUF: usize = 64 * 1024;

impl BufPool {
    fn new(max: usize) -> Self {
        BufPool {
            free: RefCell::new(Vec::with_capacity(max)),
            max,
        }
    }

    pub(crate) fn get(&self) -> Vec<u8> {
        self.free.borrow_mut().pop().unwrap_or_default()
    }

    pub(crate) fn put(&self, mut b: Vec<u8>) {
        if b.capacity() == 0 || b.capacity() > MAX_POOLED_BUF {
            return;
        }
        let mut free = self.free.borrow_mut();
        if free.len() < self.max {
            b.clear();
            free.push(b);
        }
    }

    /// Drops all but `keep` pooled buffers.
    fn shrink(&self, keep: usize) {
        self.free.borrow_mut().truncate(keep);
    }
}

/// After a burst of connections has gone, give the freed heap back to the
/// OS: glibc keeps freed memory in the thread's arena otherwise, so RSS would
/// stay at the burst's peak. Runs on the shard, rarely (only after the
/// connection count fell to a quarter of a peak of at least 256).
fn maybe_trim(shard: &Shard) {
    let now = shard.conns.get();
    let peak = shard.peak_conns.get();
    if peak >= 256 && now <= peak / 4 {
        shard.bufs.shrink(64);
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only releases free memory of the allocator.
        unsafe {
            libc::malloc_trim(0);
        }
        shard.peak_conns.set(now);
    }
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
        bufs: BufPool::new(1024),
        peak_conns: Cell::new(0),
        gcp: RefCell::new(gw.router.gcp_tokens.0.iter().map(|s| s.handle()).collect()),
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
                    if sh.conns.get() > sh.peak_conns.get() {
                        sh.peak_conns.set(sh.conns.get());
                    }
                    let fut = async move {
                        serve_conn(&sh, sock).await;
                        sh.conns.set(sh.conns.get() - 1);
                        maybe_trim(&sh);
                    };
                    monoio::spawn(fut);
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
pub(crate) struct Conn {
    pub(crate) sock: TcpStream,
    pub(crate) rbuf: Vec<u8>,
    pub(crate) wbuf: Vec<u8>,
    pub(crate) chunked: Vec<u8>,
    /// Decoded SSE bytes not yet forming a whole event (stream relay).
    pub(crate) events: Vec<u8>,
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
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        let buf = std::mem::take(&mut self.wbuf);
        let (r, mut buf) = self.sock.write_all(buf).await;
        buf.clear();
        self.wbuf = buf;
        r.map(|_| ())
    }

    /// An error in the shape the endpoint's clients expect: Anthropic's
    /// `{"type":"error","error":{...}}` on `/v1/messages`, LiteLLM's
    /// envelope everywhere else.
    pub(crate) async fn send_ep_error(
        &mut self,
        ep: Endpoint,
        e: &ApiError<'_>,
        close: bool,
    ) -> io::Result<()> {
        if !ep.is_anthropic() {
            return self.send_error(e, close).await;
        }
        self.wbuf.clear();
        errors::write_json_response(&mut self.wbuf, e.status, close, b"", |o| {
            crate::anthropic::anthropic_error_body(e.status, e.message, o)
        });
        self.flush().await
    }

    pub(crate) async fn send_error(&mut self, e: &ApiError<'_>, close: bool) -> io::Result<()> {
        self.wbuf.clear();
        errors::write_response(&mut self.wbuf, e, close, b"");
        self.flush().await
    }
}

/// What to do with the client connection after a response.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum After {
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
        events: Vec::new(),
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
    if c.wbuf.capacity() == 0 {
        c.wbuf = shard.bufs.get();
    }

    // http parse
    let head_deadline = Instant::now() + Duration::from_millis(s.header_timeout_ms);
    let head = loop {
        match http::parse_request(&c.rbuf, &gw.limits) {
            Ok(Some(h)) => break h,
            Ok(None) => {}
            Err(e) => {
                let _ = c.send_error(&head_error(e, gw), true).await;
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
    // Between requests the write buffer goes back to the shard's pool.
    shard.bufs.put(std::mem::take(&mut c.wbuf));
    if c.chunked.capacity() > SHRINK_ABOVE {
        c.chunked = Vec::new();
    }
    if c.events.capacity() > SHRINK_ABOVE {
        c.events = Vec::new();
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

fn head_error(e: HeadError, gw: &Gateway) -> ApiError<'_> {
    match e {
        HeadError::TooLarge => ApiError::new(
            431,
            "invalid_request_error",
            "Request header fields too large",
        ),
        HeadError::BodyTooLarge => body_too_large(gw),
        HeadError::Version => {
            ApiError::new(505, "invalid_request_error", "HTTP version not supported")
        }
        HeadError::Bad(why) => ApiError::new(400, "invalid_request_error", why),
    }
}

/// LiteLLM's wording ("Request size is too large. Max size is 1 MB"), in
/// the standard error envelope.
fn body_too_large(gw: &Gateway) -> ApiError<'_> {
    ApiError::new(413, "invalid_request_error", &gw.too_large_message)
        .with_param(Param::Str("content-length"))
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
                        let _ = c.send_error(&body_too_large(gw), true).await;
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
pub(crate) enum Endpoint {
    Chat,
    Completions,
    Embeddings,
    /// Anthropic's `/v1/messages`.
    Messages,
    /// Anthropic's `/v1/messages/count_tokens` (Anthropic deployments).
    CountTokens,
    /// OpenAI's Responses API (`/v1/responses`).
    Responses,
}

impl Endpoint {
    /// The route name LiteLLM puts in its messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Endpoint::Chat => "/chat/completions",
            Endpoint::Completions => "/completions",
            Endpoint::Embeddings => "/embeddings",
            Endpoint::Messages => "/v1/messages",
            Endpoint::CountTokens => "/v1/messages/count_tokens",
            Endpoint::Responses => "/responses",
        }
    }

    /// Anthropic's API: its error shape, its headers.
    pub(crate) fn is_anthropic(self) -> bool {
        matches!(self, Endpoint::Messages | Endpoint::CountTokens)
    }

    /// Index into `Target::paths` / `router::ENDPOINT_SUFFIXES`.
    pub(crate) fn index(self) -> usize {
        match self {
            Endpoint::Chat => 0,
            Endpoint::Completions => 1,
            Endpoint::Embeddings => 2,
            // Translated to chat for OpenAI upstreams; `paths[0]` is
            // `/v1/messages` on Anthropic ones.
            Endpoint::Messages | Endpoint::CountTokens => 0,
            Endpoint::Responses => 3,
        }
    }
    pub(crate) fn mock_kind(self) -> MockKind {
        match self {
            Endpoint::Chat => MockKind::Chat,
            Endpoint::Completions => MockKind::Completion,
            Endpoint::Embeddings => MockKind::Embedding,
            Endpoint::Messages | Endpoint::CountTokens | Endpoint::Responses => MockKind::Chat,
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
    /// `/anthropic/*`, `/openai/*`, ...: index into `Router::pass_through`.
    PassThrough(usize),
    NotFound,
}

fn endpoint_of(rest: &[u8]) -> Option<Endpoint> {
    match rest {
        b"/chat/completions" => Some(Endpoint::Chat),
        b"/completions" => Some(Endpoint::Completions),
        b"/embeddings" => Some(Endpoint::Embeddings),
        b"/messages" => Some(Endpoint::Messages),
        b"/messages/count_tokens" => Some(Endpoint::CountTokens),
        b"/responses" => Some(Endpoint::Responses),
        _ => None,
    }
}

fn classify(path: &[u8], path_start: usize, pass: &[crate::router::PassThrough]) -> RouteKind {
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
    if p == b"/openai/v1/responses" {
        return RouteKind::Proxy(Endpoint::Responses, None);
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
    if let Some(i) = pass
        .iter()
        .position(|pt| path.starts_with(pt.prefix.as_bytes()))
    {
        return RouteKind::PassThrough(i);
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
    let route = classify(head.path(&c.rbuf), path_start, &gw.router.pass_through);
    let close = !keep_alive;
    let method_ok = match route {
        RouteKind::Proxy(..) => head.method == Method::Post,
        RouteKind::NotFound | RouteKind::PassThrough(_) => true,
        // HEAD is refused like FastAPI does for LiteLLM's GET routes (a
        // HEAD answer must not carry the body these handlers write).
        _ => head.method == Method::Get,
    };
    if !method_ok {
        let allow: &[u8] = match route {
            RouteKind::Proxy(..) => b"allow: POST\r\n",
            _ => b"allow: GET\r\n",
        };
        c.wbuf.clear();
        errors::write_detail_response(&mut c.wbuf, 405, "Method Not Allowed", close, allow);
        return match c.flush().await {
            Ok(()) => After::KeepAlive,
            Err(_) => After::Close,
        };
    }
    match route {
        RouteKind::Liveliness => {
            simple(c, 200, b"application/json", b"\"I'm alive!\"", close).await
        }
        RouteKind::Readiness => {
            if shard.shutdown.is_triggered() {
                let body = b"{\"status\":\"shutting_down\"}";
                return simple(c, 503, b"application/json", body, true).await;
            }
            let body = b"{\"status\":\"healthy\",\"db\":\"Not connected\"}";
            simple(c, 200, b"application/json", body, close).await
        }
        RouteKind::NotFound => {
            // LiteLLM (FastAPI) answers unknown routes before auth.
            c.wbuf.clear();
            errors::write_detail_response(&mut c.wbuf, 404, "Not Found", close, b"");
            match c.flush().await {
                Ok(()) => After::KeepAlive,
                Err(_) => After::Close,
            }
        }
        RouteKind::Models => {
            if let Some(e) = auth_error(gw, &c.rbuf, head) {
                let _ = c.send_error(&e, close).await;
                return After::KeepAlive;
            }
            simple(c, 200, b"application/json", &gw.models_body, close).await
        }
        RouteKind::PassThrough(i) => {
            if let Some(e) = auth_error(gw, &c.rbuf, head) {
                let _ = c.send_error(&e, close).await;
                return After::KeepAlive;
            }
            let pt = &gw.router.pass_through[i];
            let head_buf = std::mem::take(&mut c.rbuf);
            let chunk_buf = match body {
                BodyAt::Chunked(_) => Some(std::mem::take(&mut c.chunked)),
                BodyAt::Buf(_) => None,
            };
            let body_bytes: &[u8] = match (body, &chunk_buf) {
                (BodyAt::Buf(r), _) => &head_buf[r.clone()],
                (BodyAt::Chunked(_), Some(b)) => b,
                (BodyAt::Chunked(_), None) => &[],
            };
            let target = &head_buf[head.target.start + pt.prefix.len() - 1..head.target.end];
            let after = crate::proxy::pass_through(
                shard,
                c,
                &head_buf[..head.head_len],
                target,
                body_bytes,
                pt,
                close,
            )
            .await;
            c.rbuf = head_buf;
            if let Some(b) = chunk_buf {
                c.chunked = b;
            }
            after
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
    c.wbuf.extend_from_slice(errors::SECURITY_HEADERS);
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
        Verdict::Malformed => Some(errors::MALFORMED_KEY),
        Verdict::Wrong => Some(errors::NO_DB),
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
    // LiteLLM's per-request override of the retry count.
    let num_retries = head.headers.x_litellm_num_retries.clone().and_then(|r| {
        std::str::from_utf8(&c.rbuf[r])
            .ok()?
            .trim()
            .parse::<u32>()
            .ok()
    });
    // Azure-style paths name the model; rare, so an owned copy is fine.
    let path_model = path_model.map(|r| String::from_utf8_lossy(&c.rbuf[r]).into_owned());
    // Take the buffers holding the head and the body out of the connection
    // for the exchange, so it can be used mutably while they are borrowed.
    let head_buf = std::mem::take(&mut c.rbuf);
    let chunk_buf = match body_at {
        BodyAt::Chunked(_) => Some(std::mem::take(&mut c.chunked)),
        BodyAt::Buf(_) => None,
    };
    let body: &[u8] = match (body_at, &chunk_buf) {
        (BodyAt::Buf(r), _) => &head_buf[r.clone()],
        (BodyAt::Chunked(_), Some(b)) => b,
        (BodyAt::Chunked(_), None) => &[],
    };
    let pick = |r: &Option<std::ops::Range<usize>>| r.clone().map(|r| &head_buf[r]);
    let hdrs = ClientHeaders {
        anthropic_version: pick(&head.headers.anthropic_version),
        anthropic_beta: pick(&head.headers.anthropic_beta),
    };
    let after = route_and_forward(
        shard,
        c,
        body,
        ep,
        path_model.as_deref(),
        close,
        num_retries,
        &hdrs,
    )
    .await;
    c.rbuf = head_buf;
    if let Some(b) = chunk_buf {
        c.chunked = b;
    }
    after
}

/// Client headers the upstream request may carry on (Anthropic's API
/// version and beta flags, for native `/v1/messages` passthrough).
pub(crate) struct ClientHeaders<'a> {
    pub(crate) anthropic_version: Option<&'a [u8]>,
    pub(crate) anthropic_beta: Option<&'a [u8]>,
}

/// route, then translate + forward. Validation follows LiteLLM's order and
/// wording: JSON, required parameter, `model` type, model group.
#[allow(clippy::too_many_arguments)]
async fn route_and_forward(
    shard: &Shard,
    c: &mut Conn,
    body: &[u8],
    ep: Endpoint,
    path_model: Option<&str>,
    close: bool,
    num_retries: Option<u32>,
    hdrs: &ClientHeaders<'_>,
) -> After {
    let gw = &*shard.gw;
    // LiteLLM reads an empty body as `{}`.
    let blank = body.iter().all(|b| b.is_ascii_whitespace());
    let fields = if blank {
        translate::Fields::default()
    } else {
        match translate::scan(body) {
            Ok(f) => f,
            Err(e) => {
                let msg = format!("Invalid JSON payload: {}", e.0);
                let err = ApiError::new(400, "invalid_request_error", &msg)
                    .with_param(Param::Str("request_body"));
                let _ = c.send_ep_error(ep, &err, close).await;
                return After::KeepAlive;
            }
        }
    };
    let (required, present) = match ep {
        Endpoint::Chat => ("messages", fields.has_messages),
        Endpoint::Completions => ("prompt", fields.has_prompt),
        Endpoint::Embeddings => ("input", fields.has_input),
        Endpoint::Messages | Endpoint::CountTokens => ("messages", fields.has_messages),
        Endpoint::Responses => ("input", fields.has_input),
    };
    if !present {
        let msg = format!("{}: Missing required parameter: '{required}'.", ep.name());
        let err =
            ApiError::new(400, "invalid_request_error", &msg).with_param(Param::Str(required));
        let _ = c.send_ep_error(ep, &err, close).await;
        return After::KeepAlive;
    }
    if fields.model_not_string && path_model.is_none() {
        let err = ApiError::new(400, "bad_request_error", "'model' must be a string.")
            .with_param(Param::Str("model"));
        let _ = c.send_ep_error(ep, &err, close).await;
        return After::KeepAlive;
    }
    let model_name = match (path_model, fields.model_raw(body)) {
        (Some(m), _) => Some(std::borrow::Cow::Borrowed(m)),
        (None, Some(raw)) => translate::unescape(raw),
        (None, None) => None,
    };
    let found = model_name.as_deref().and_then(|m| gw.router.group(m));
    let Some((group, wildcard_rest)) = found else {
        let shown = model_name.as_deref().unwrap_or("None");
        let (msg, psf) = if gw.router.has_wildcard() {
            let mut m = format!(
                "litellm.BadRequestError: You passed in model={shown}. There are no healthy deployments for this model"
            );
            if model_name.is_some() {
                m.push_str(&format!(
                    "\n\nLiteLLM: model group '{shown}' failed with the error above. No fallback was attempted."
                ));
            }
            (m, false)
        } else {
            (
                format!(
                    "{}: Invalid model name passed in model={shown}. Call `/v1/models` to view available models for your key.",
                    ep.name()
                ),
                true,
            )
        };
        let mut err = ApiError::new(400, "invalid_request_error", &msg);
        err.psf = psf;
        let _ = c.send_ep_error(ep, &err, close).await;
        return After::KeepAlive;
    };
    forward(
        shard,
        c,
        group,
        wildcard_rest,
        body,
        &fields,
        ep,
        close,
        num_retries,
        hdrs,
        model_name.as_deref().unwrap_or(&group.name),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_classify() {
        let k = |p: &str| classify(p.as_bytes(), 0, &[]);
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
        match classify(p.as_bytes(), 0, &[]) {
            RouteKind::Proxy(Endpoint::Chat, Some(r)) => assert_eq!(&p[r], "my-gpt"),
            _ => panic!("azure route"),
        }
    }
}
