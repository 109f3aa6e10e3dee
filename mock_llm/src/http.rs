//! HTTP/1.1 for one connection: request framing, the connection loop, and
//! the byte writers the payload code uses.
//!
//! The loop owns three buffers for the life of the connection: `rbuf` (what
//! the client sent, parsed in place), `out` (response bytes waiting to be
//! written) and `scratch` (a response body or stream event before framing).
//! They move into each read/write by ownership (monoio's rent model) and come
//! back, so the steady state allocates nothing. Every complete request in
//! `rbuf` is answered into `out` in order and `out` is written once when the
//! buffered requests run out, so pipelined requests cost one write per batch.
//! A response that must wait (latency, slow first byte) first sends what is
//! already queued, then waits, so earlier answers are never held back.
//!
//! Bounds: head 64 KiB and 64 headers (431 beyond), body 32 MiB (413). There
//! is no idle timeout: the server is a test and benchmark fixture, and a
//! timer per read would cost more than the idle connections do.

use std::ops::Range;
use std::rc::Rc;
use std::time::Duration;

use monoio::buf::{IoBuf, IoBufMut};
use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt};

use crate::api;
use crate::Shard;

/// Initial (and idle) size of the per-connection buffers.
const READ_BUF: usize = 16 * 1024;
const WRITE_BUF: usize = 16 * 1024;
/// Buffers that grew past this for one large request are swapped for small
/// ones once that request is done.
const SHRINK_ABOVE: usize = 1024 * 1024;
/// Never read into less free space than this.
const MIN_READ: usize = 4 * 1024;
pub(crate) const MAX_HEAD: usize = 64 * 1024;
pub(crate) const MAX_HEADERS: usize = 64;
pub(crate) const MAX_BODY: usize = 32 * 1024 * 1024;
/// How long `mock-timeout` holds a request before closing the connection.
pub(crate) const HANG_LIMIT: Duration = Duration::from_secs(600);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Other,
}

/// What the connection loop and the routes need from a request head. Ranges
/// index the head's bytes.
#[derive(Debug)]
pub(crate) struct Head {
    pub method: Method,
    pub path: Range<usize>,
    pub http10: bool,
    /// The connection ends after this response.
    pub close: bool,
    pub content_length: Option<usize>,
    pub chunked: bool,
    pub expect_continue: bool,
    pub authorization: Option<Range<usize>>,
    pub api_key: Option<Range<usize>>,
    pub x_api_key: Option<Range<usize>>,
    pub anthropic_version: bool,
    /// Length of the head, blank line included.
    pub len: usize,
}

impl Head {
    /// The `connection` header line a response to this request carries.
    pub fn connection_line(&self) -> &'static [u8] {
        if self.close {
            b"connection: close\r\n"
        } else if self.http10 {
            b"connection: keep-alive\r\n"
        } else {
            b""
        }
    }
}

#[derive(Debug)]
pub(crate) enum HeadResult {
    Partial,
    Done(Head),
    Bad(u16, &'static str),
}

/// Parses a request head at the start of `buf`.
pub(crate) fn parse_head(buf: &[u8]) -> HeadResult {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return HeadResult::Bad(431, "request head too large")
        }
        Ok(httparse::Status::Partial) => return HeadResult::Partial,
        Err(httparse::Error::TooManyHeaders) => return HeadResult::Bad(431, "too many headers"),
        Err(_) => return HeadResult::Bad(400, "malformed request head"),
    };
    if len > MAX_HEAD {
        return HeadResult::Bad(431, "request head too large");
    }
    let base = buf.as_ptr() as usize;
    let range_of = |s: &[u8]| {
        let start = s.as_ptr() as usize - base;
        start..start + s.len()
    };
    let method = match req.method {
        Some("GET") => Method::Get,
        Some("POST") => Method::Post,
        _ => Method::Other,
    };
    let http10 = req.version == Some(0);
    let mut head = Head {
        method,
        path: range_of(req.path.unwrap_or("").as_bytes()),
        http10,
        close: http10,
        content_length: None,
        chunked: false,
        expect_continue: false,
        authorization: None,
        api_key: None,
        x_api_key: None,
        anthropic_version: false,
        len,
    };
    for h in req.headers.iter() {
        let name = h.name.as_bytes();
        let value = h.value;
        if name.eq_ignore_ascii_case(b"content-length") {
            let Some(n) = parse_decimal(trim(value)) else {
                return HeadResult::Bad(400, "invalid content-length");
            };
            if head.content_length.is_some_and(|old| old != n) {
                return HeadResult::Bad(400, "conflicting content-length headers");
            }
            head.content_length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // Chunked must be the final coding; anything else has no length.
            let last = value.rsplit(|&b| b == b',').next().map(trim).unwrap_or(b"");
            if !last.eq_ignore_ascii_case(b"chunked") {
                return HeadResult::Bad(400, "unsupported transfer-encoding");
            }
            head.chunked = true;
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&b| b == b',').map(trim) {
                if token.eq_ignore_ascii_case(b"close") {
                    head.close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") && http10 {
                    head.close = false;
                }
            }
        } else if name.eq_ignore_ascii_case(b"authorization") {
            head.authorization = Some(range_of(value));
        } else if name.eq_ignore_ascii_case(b"api-key") {
            head.api_key = Some(range_of(value));
        } else if name.eq_ignore_ascii_case(b"x-api-key") {
            head.x_api_key = Some(range_of(value));
        } else if name.eq_ignore_ascii_case(b"anthropic-version") {
            head.anthropic_version = true;
        } else if name.eq_ignore_ascii_case(b"expect") {
            head.expect_continue = trim(value).eq_ignore_ascii_case(b"100-continue");
        }
    }
    if head.chunked {
        // RFC 9112 6.3: transfer-encoding overrides content-length.
        head.content_length = None;
    }
    HeadResult::Done(head)
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &v[start..end]
}

fn parse_decimal(v: &[u8]) -> Option<usize> {
    if v.is_empty() || v.len() > 19 {
        return None;
    }
    let mut n: usize = 0;
    for &b in v {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(usize::from(b - b'0'))?;
    }
    Some(n)
}

/// Decodes a chunked body at the start of `src` into `dst`. Returns the bytes
/// consumed (trailers included) once the last chunk is in, `None` while more
/// input is needed, or the status to fail with.
pub(crate) fn decode_chunked(
    src: &[u8],
    dst: &mut Vec<u8>,
    max: usize,
) -> Result<Option<usize>, (u16, &'static str)> {
    dst.clear();
    let mut i = 0;
    loop {
        let (used, size) = match httparse::parse_chunk_size(&src[i..]) {
            Ok(httparse::Status::Complete(c)) => c,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err((400, "invalid chunk size")),
        };
        i += used;
        if size == 0 {
            // Trailer fields, then an empty line.
            loop {
                match memchr::memmem::find(&src[i..], b"\r\n") {
                    None => return Ok(None),
                    Some(0) => return Ok(Some(i + 2)),
                    Some(k) => i += k + 2,
                }
            }
        }
        let size = match usize::try_from(size) {
            Ok(s) if s <= max.saturating_sub(dst.len()) => s,
            _ => return Err((413, "request body too large")),
        };
        if src.len() - i < size + 2 {
            return Ok(None);
        }
        dst.extend_from_slice(&src[i..i + size]);
        i += size;
        if &src[i..i + 2] != b"\r\n" {
            return Err((400, "chunk not followed by CRLF"));
        }
        i += 2;
    }
}

/// One step of framing the bytes at the front of the read buffer.
#[derive(Debug)]
enum Frame {
    /// At least this many bytes (from the front) are needed.
    Need {
        at_least: usize,
        expect_continue: bool,
    },
    Bad(u16, &'static str),
    /// A whole request: its head, its body (a range of the buffer, or `None`
    /// when it was de-chunked into the chunked-body buffer), its total size.
    Ready {
        head: Head,
        body: Option<Range<usize>>,
        total: usize,
    },
}

fn frame(buf: &[u8], chunked_body: &mut Vec<u8>) -> Frame {
    let head = match parse_head(buf) {
        HeadResult::Partial => {
            return Frame::Need {
                at_least: buf.len() + 1,
                expect_continue: false,
            }
        }
        HeadResult::Bad(status, why) => return Frame::Bad(status, why),
        HeadResult::Done(h) => h,
    };
    let rest = &buf[head.len..];
    if head.chunked {
        return match decode_chunked(rest, chunked_body, MAX_BODY) {
            Ok(Some(used)) => Frame::Ready {
                total: head.len + used,
                body: None,
                head,
            },
            Ok(None) if rest.len() > MAX_BODY + MAX_HEAD => {
                Frame::Bad(413, "request body too large")
            }
            Ok(None) => Frame::Need {
                at_least: buf.len() + 1,
                expect_continue: head.expect_continue,
            },
            Err((status, why)) => Frame::Bad(status, why),
        };
    }
    let n = head.content_length.unwrap_or(0);
    if n > MAX_BODY {
        return Frame::Bad(413, "request body too large");
    }
    let total = head.len + n;
    if buf.len() >= total {
        Frame::Ready {
            body: Some(head.len..total),
            total,
            head,
        }
    } else {
        Frame::Need {
            at_least: total,
            expect_continue: head.expect_continue,
        }
    }
}

/// How to send the response `api::handle` prepared.
pub(crate) enum Plan<'a> {
    /// The whole response is in `out`; send it after `delay`.
    Reply { delay: Duration, close: bool },
    /// The response head is in `out`; after `delay`, send the events.
    Stream {
        delay: Duration,
        close: bool,
        chunked: bool,
        events: crate::payload::EventStream<'a>,
        /// `mock-stream-reset-N`: drop the connection after N events,
        /// without the stream's terminator (a provider dying mid-stream).
        cut_after: Option<u32>,
    },
    /// Close the connection without answering.
    Reset,
    /// Never answer; close when the client leaves or after [`HANG_LIMIT`].
    Hang,
}

/// Counts a request as in flight while it is alive.
struct Busy<'a>(&'a Shard);

impl<'a> Busy<'a> {
    fn new(shard: &'a Shard) -> Self {
        shard.in_flight.set(shard.in_flight.get() + 1);
        Busy(shard)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0
            .in_flight
            .set(self.0.in_flight.get().saturating_sub(1));
    }
}

/// How a connection's handling ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    /// Keep reading requests.
    KeepAlive,
    /// The server ends the connection after a complete answer: shut the
    /// stream down (TLS `close_notify`, then FIN) so the client can tell the
    /// end of a close-delimited body from a truncation.
    Close,
    /// The peer left, a write failed, or `mock-reset`/`mock-timeout` asked
    /// for an abrupt end: just drop the socket.
    Drop,
}

/// Serves one connection until the client closes it or a response ends it.
pub(crate) async fn serve<S: AsyncReadRent + AsyncWriteRent>(mut io: S, shard: Rc<Shard>) {
    if serve_requests(&mut io, &shard).await == Next::Close {
        let _ = io.shutdown().await;
    }
}

async fn serve_requests<S: AsyncReadRent + AsyncWriteRent>(io: &mut S, shard: &Shard) -> Next {
    let mut rbuf: Vec<u8> = Vec::with_capacity(READ_BUF);
    let mut pos = 0usize;
    let mut out: Vec<u8> = Vec::with_capacity(WRITE_BUF);
    let mut scratch: Vec<u8> = Vec::with_capacity(WRITE_BUF);
    let mut chunked_body: Vec<u8> = Vec::new();
    let mut continue_sent = false;
    loop {
        match frame(&rbuf[pos..], &mut chunked_body) {
            Frame::Need {
                at_least,
                expect_continue,
            } => {
                if expect_continue && !continue_sent {
                    out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
                    continue_sent = true;
                }
                if !flush(io, &mut out).await || !fill(io, &mut rbuf, &mut pos, at_least).await {
                    return Next::Drop;
                }
            }
            Frame::Bad(status, why) => {
                api::framing_error(&mut out, &mut scratch, status, why);
                return written(flush(io, &mut out).await);
            }
            Frame::Ready { head, body, total } => {
                let raw = &rbuf[pos..pos + head.len];
                let body: &[u8] = match body {
                    Some(r) => &rbuf[pos + r.start..pos + r.end],
                    None => &chunked_body,
                };
                let busy = Busy::new(shard);
                let mark = out.len();
                let plan = api::handle(shard, &head, raw, body, &mut out, &mut scratch);
                let next = execute(io, shard, plan, mark, &mut out, &mut scratch).await;
                drop(busy);
                if next != Next::KeepAlive {
                    return next;
                }
                pos += total;
                continue_sent = false;
                if pos == rbuf.len() {
                    rbuf.clear();
                    pos = 0;
                    if rbuf.capacity() > SHRINK_ABOVE {
                        rbuf = Vec::with_capacity(READ_BUF);
                    }
                }
                if chunked_body.capacity() > SHRINK_ABOVE {
                    chunked_body = Vec::new();
                }
            }
        }
    }
}

/// `Close` after a last answer went out, `Drop` when writing it failed.
fn written(ok: bool) -> Next {
    if ok {
        Next::Close
    } else {
        Next::Drop
    }
}

/// Sends a plan's response and says what happens to the connection next.
async fn execute<S: AsyncReadRent + AsyncWriteRent>(
    io: &mut S,
    shard: &Shard,
    plan: Plan<'_>,
    mark: usize,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> Next {
    match plan {
        Plan::Reply { delay, close } => {
            if !delay.is_zero() {
                if !send_prefix(io, out, mark).await {
                    return Next::Drop;
                }
                monoio::time::sleep(delay).await;
                if !flush(io, out).await {
                    return Next::Drop;
                }
            }
            if close {
                return written(flush(io, out).await);
            }
            Next::KeepAlive
        }
        Plan::Stream {
            delay,
            close,
            chunked,
            mut events,
            cut_after,
        } => {
            if !delay.is_zero() {
                if !send_prefix(io, out, mark).await {
                    return Next::Drop;
                }
                monoio::time::sleep(delay).await;
            }
            let gap = events.inter_token;
            let mut first = true;
            let mut sent: u32 = 0;
            loop {
                if cut_after == Some(sent) {
                    let _ = flush(io, out).await;
                    return Next::Drop;
                }
                sent += 1;
                scratch.clear();
                let Some(is_token) = events.next(&shard.answer, scratch) else {
                    break;
                };
                // Each event is its own write: the previous one goes out now,
                // the head rides with the first, the terminator with the last.
                if is_token && !gap.is_zero() {
                    if !flush(io, out).await {
                        shard.stats.borrow_mut().stream_aborted();
                        return Next::Drop;
                    }
                    monoio::time::sleep(gap).await;
                } else if !first && !flush(io, out).await {
                    shard.stats.borrow_mut().stream_aborted();
                    return Next::Drop;
                }
                first = false;
                if chunked {
                    push_chunk(out, scratch);
                } else {
                    out.extend_from_slice(scratch);
                }
            }
            if chunked {
                out.extend_from_slice(b"0\r\n\r\n");
            }
            match (flush(io, out).await, chunked && !close) {
                (false, _) => Next::Drop,
                (true, true) => Next::KeepAlive,
                (true, false) => Next::Close,
            }
        }
        Plan::Reset => {
            send_prefix(io, out, mark).await;
            Next::Drop
        }
        Plan::Hang => {
            if send_prefix(io, out, mark).await {
                hang(io).await;
            }
            Next::Drop
        }
    }
}

/// Compacts the buffer and reads more, making room for `at_least` bytes.
/// Returns false on EOF or error.
async fn fill<S: AsyncReadRent>(
    io: &mut S,
    rbuf: &mut Vec<u8>,
    pos: &mut usize,
    at_least: usize,
) -> bool {
    if *pos > 0 {
        rbuf.copy_within(*pos.., 0);
        rbuf.truncate(rbuf.len() - *pos);
        *pos = 0;
    }
    let len = rbuf.len();
    let want = at_least.max(len + MIN_READ);
    if rbuf.capacity() < want {
        // Grow at least geometrically, so re-framing a large chunked body
        // after each read stays linear overall.
        rbuf.reserve(want.max(len * 2) - len);
    }
    let cap = rbuf.capacity();
    let (res, slice) = io.read(std::mem::take(rbuf).slice_mut(len..cap)).await;
    *rbuf = slice.into_inner();
    matches!(res, Ok(n) if n > 0)
}

/// Writes all of `out` and empties it. Returns false when the write failed.
async fn flush<S: AsyncWriteRent>(io: &mut S, out: &mut Vec<u8>) -> bool {
    if out.is_empty() {
        return true;
    }
    let (res, mut buf) = io.write_all(std::mem::take(out)).await;
    buf.clear();
    if buf.capacity() > SHRINK_ABOVE {
        buf = Vec::with_capacity(WRITE_BUF);
    }
    *out = buf;
    res.is_ok()
}

/// Writes the first `n` bytes of `out` (answers queued before the current
/// one) and keeps the rest.
async fn send_prefix<S: AsyncWriteRent>(io: &mut S, out: &mut Vec<u8>, n: usize) -> bool {
    if n == 0 {
        return true;
    }
    let (res, slice) = io.write_all(std::mem::take(out).slice(..n)).await;
    *out = slice.into_inner();
    out.drain(..n);
    res.is_ok()
}

/// Holds the connection without answering until the client closes it or
/// [`HANG_LIMIT`] passes. Whatever the client sends meanwhile is discarded.
async fn hang<S: AsyncReadRent>(io: &mut S) {
    let mut deadline = std::pin::pin!(monoio::time::sleep(HANG_LIMIT));
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    loop {
        monoio::select! {
            _ = &mut deadline => return,
            (res, b) = io.read(std::mem::take(&mut buf)) => {
                buf = b;
                buf.clear();
                if !matches!(res, Ok(n) if n > 0) {
                    return;
                }
            }
        }
    }
}

/// Appends `payload` as one chunk of a chunked body.
pub(crate) fn push_chunk(out: &mut Vec<u8>, payload: &[u8]) {
    push_hex(out, payload.len());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
}

fn push_hex(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[n & 15];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Appends `n` in decimal.
pub(crate) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Appends `s` as a JSON string literal, quotes included.
pub(crate) fn push_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if short.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(b"0123456789abcdef"[usize::from(b >> 4)]);
            out.push(b"0123456789abcdef"[usize::from(b & 15)]);
        } else {
            out.extend_from_slice(short);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        529 => "Site Overloaded",
        _ if status < 500 => "Client Error",
        _ => "Server Error",
    }
}

/// Appends a complete response with a body: status line, headers, body.
pub(crate) fn push_response(
    out: &mut Vec<u8>,
    status: u16,
    content_type: &str,
    connection: &[u8],
    body: &[u8],
) {
    if status == 200 {
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\ncontent-type: ");
    } else {
        out.extend_from_slice(b"HTTP/1.1 ");
        push_u64(out, u64::from(status));
        out.push(b' ');
        out.extend_from_slice(reason(status).as_bytes());
        out.extend_from_slice(b"\r\ncontent-type: ");
    }
    out.extend_from_slice(content_type.as_bytes());
    out.extend_from_slice(b"\r\ncontent-length: ");
    push_u64(out, body.len() as u64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(connection);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

#[cfg(test)]
mod tests;
