//! HTTP/1.1 framing: the only module that knows how requests and responses
//! are delimited on the wire.
//!
//! The server side parses a request head with `httparse` into a
//! [`RequestHead`] made of *offsets* into the connection's read buffer (no
//! header is copied or allocated), enforces the size limits, and refuses the
//! request-smuggling shapes RFC 9112 §6.3 warns about (Content-Length together
//! with Transfer-Encoding, conflicting Content-Lengths, codings other than a
//! single `chunked`, bad chunk sizes, obs-fold). The [`Chunked`] state machine
//! is shared by both directions: it decodes chunked request bodies into a
//! buffer, and it *tracks* chunked upstream responses that are relayed to the
//! client untouched, so the gateway knows where a response ends without
//! re-framing it.
//!
//! Nothing here does I/O; `server` and `upstream` own the sockets.

use std::ops::Range;

/// Upper bound on header lines per message. httparse needs a fixed slice; this
/// is its size (the configurable `max_headers` may only lower it).
pub const HEADER_SLOTS: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Options,
    Patch,
    Other,
}

impl Method {
    fn from_bytes(m: &str) -> Method {
        match m {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            "PATCH" => Method::Patch,
            _ => Method::Other,
        }
    }
}

/// How the request body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    Empty,
    Length(usize),
    Chunked,
}

/// The request headers the gateway acts on, located in the read buffer.
#[derive(Clone, Debug, Default)]
pub struct KnownHeaders {
    pub authorization: Option<Range<usize>>,
    pub x_litellm_api_key: Option<Range<usize>>,
    pub api_key: Option<Range<usize>>,
    pub x_api_key: Option<Range<usize>>,
    pub content_type: Option<Range<usize>>,
    pub x_litellm_num_retries: Option<Range<usize>>,
    pub anthropic_version: Option<Range<usize>>,
    pub anthropic_beta: Option<Range<usize>>,
}

/// A parsed request head. Every range indexes the buffer it was parsed from.
#[derive(Clone, Debug)]
pub struct RequestHead {
    pub method: Method,
    /// Request target, query string included.
    pub target: Range<usize>,
    /// Bytes of the head including the final CRLFCRLF.
    pub head_len: usize,
    pub body: BodyKind,
    pub keep_alive: bool,
    pub expect_continue: bool,
    pub headers: KnownHeaders,
}

impl RequestHead {
    /// The path without the query string.
    pub fn path<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        let t = &buf[self.target.clone()];
        match memchr::memchr(b'?', t) {
            Some(i) => &t[..i],
            None => t,
        }
    }
}

/// Why a request head was refused. Each maps to one status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadError {
    /// 431: the head is larger than `max_header_bytes` or has too many lines.
    TooLarge,
    /// 400 with this reason; the connection is closed afterwards.
    Bad(&'static str),
    /// 413: declared Content-Length above the body limit.
    BodyTooLarge,
    /// 505
    Version,
}

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_header_bytes: usize,
    pub max_headers: usize,
    pub max_body_bytes: usize,
}

fn ascii_eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// Parses a decimal Content-Length; refuses signs, blanks and overflow.
fn parse_decimal(v: &[u8]) -> Option<usize> {
    if v.is_empty() || v.len() > 19 {
        return None;
    }
    let mut n: usize = 0;
    for &b in v {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add((b - b'0') as usize)?;
    }
    Some(n)
}

fn range_in(buf: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr() as usize - buf.as_ptr() as usize;
    start..start + part.len()
}

/// Tries to parse a request head from the front of `buf`.
///
/// `Ok(None)`: incomplete, read more (the caller enforces `max_header_bytes`
/// on the buffered length as well, so a slow trickle cannot grow unbounded).
pub fn parse_request(buf: &[u8], limits: &Limits) -> Result<Option<RequestHead>, HeadError> {
    let mut slots = [httparse::EMPTY_HEADER; HEADER_SLOTS];
    let max = limits.max_headers.clamp(1, HEADER_SLOTS);
    let mut req = httparse::Request::new(&mut slots[..max]);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            if buf.len() > limits.max_header_bytes {
                return Err(HeadError::TooLarge);
            }
            return Ok(None);
        }
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(httparse::Error::Version) => return Err(HeadError::Version),
        Err(httparse::Error::HeaderName) | Err(httparse::Error::HeaderValue) => {
            // obs-fold (a continuation line starting with SP/HT) lands here.
            return Err(HeadError::Bad("malformed header line"));
        }
        Err(_) => return Err(HeadError::Bad("malformed request line")),
    };
    if head_len > limits.max_header_bytes {
        return Err(HeadError::TooLarge);
    }
    let method = Method::from_bytes(req.method.unwrap_or(""));
    let target = range_in(buf, req.path.unwrap_or("").as_bytes());
    if target.is_empty() {
        return Err(HeadError::Bad("empty request target"));
    }
    let http10 = req.version == Some(0);

    let mut content_length: Option<usize> = None;
    let mut chunked = false;
    let mut saw_te = false;
    let mut conn_close = false;
    let mut conn_keep_alive = false;
    let mut expect_continue = false;
    let mut known = KnownHeaders::default();
    for h in req.headers.iter() {
        let name = h.name.as_bytes();
        let value = trim(h.value);
        match name.len() {
            14 if ascii_eq(name, "content-length") => {
                // A list ("5, 5") or repeated header is accepted only when
                // every value is identical (RFC 9112 §6.3 rule 5).
                for part in value.split(|&b| b == b',') {
                    let n = parse_decimal(trim(part))
                        .ok_or(HeadError::Bad("invalid Content-Length"))?;
                    match content_length {
                        Some(prev) if prev != n => {
                            return Err(HeadError::Bad("conflicting Content-Length values"))
                        }
                        _ => content_length = Some(n),
                    }
                }
            }
            17 if ascii_eq(name, "transfer-encoding") => {
                if saw_te || !ascii_eq(value, "chunked") {
                    return Err(HeadError::Bad(
                        "unsupported Transfer-Encoding (only a single 'chunked' is accepted)",
                    ));
                }
                saw_te = true;
                chunked = true;
            }
            10 if ascii_eq(name, "connection") => {
                for tok in value.split(|&b| b == b',') {
                    let tok = trim(tok);
                    if ascii_eq(tok, "close") {
                        conn_close = true;
                    } else if ascii_eq(tok, "keep-alive") {
                        conn_keep_alive = true;
                    }
                }
            }
            6 if ascii_eq(name, "expect") => {
                if ascii_eq(value, "100-continue") {
                    expect_continue = true;
                } else {
                    return Err(HeadError::Bad("unsupported Expect value"));
                }
            }
            13 if ascii_eq(name, "authorization") => {
                known.authorization = Some(range_in(buf, value))
            }
            17 if ascii_eq(name, "x-litellm-api-key") => {
                known.x_litellm_api_key = Some(range_in(buf, value))
            }
            7 if ascii_eq(name, "api-key") => known.api_key = Some(range_in(buf, value)),
            9 if ascii_eq(name, "x-api-key") => known.x_api_key = Some(range_in(buf, value)),
            12 if ascii_eq(name, "content-type") => known.content_type = Some(range_in(buf, value)),
            17 if ascii_eq(name, "anthropic-version") => {
                known.anthropic_version = Some(range_in(buf, value))
            }
            14 if ascii_eq(name, "anthropic-beta") => {
                known.anthropic_beta = Some(range_in(buf, value))
            }
            21 if ascii_eq(name, "x-litellm-num-retries") => {
                known.x_litellm_num_retries = Some(range_in(buf, value))
            }
            _ => {}
        }
    }
    if chunked && content_length.is_some() {
        return Err(HeadError::Bad(
            "both Content-Length and Transfer-Encoding present",
        ));
    }
    if chunked && http10 {
        return Err(HeadError::Bad("Transfer-Encoding on an HTTP/1.0 request"));
    }
    let body = match (chunked, content_length) {
        (true, _) => BodyKind::Chunked,
        (false, Some(0)) | (false, None) => BodyKind::Empty,
        (false, Some(n)) => {
            if n > limits.max_body_bytes {
                return Err(HeadError::BodyTooLarge);
            }
            BodyKind::Length(n)
        }
    };
    let keep_alive = if http10 {
        conn_keep_alive && !conn_close
    } else {
        !conn_close
    };
    Ok(Some(RequestHead {
        method,
        target,
        head_len,
        body,
        keep_alive,
        expect_continue: expect_continue && !http10 && body != BodyKind::Empty,
        headers: known,
    }))
}

/// Errors of the chunked framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkError {
    Bad(&'static str),
    TooLarge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChunkState {
    /// Reading hex digits of a chunk size.
    Size,
    /// After the size: extensions up to CR.
    Ext,
    /// Expecting LF after the size line's CR.
    SizeLf,
    Data,
    DataCr,
    DataLf,
    /// Start of a trailer line (or the final empty line).
    TrailerStart,
    /// Inside a trailer line.
    Trailer,
    TrailerLf,
    EndLf,
    Done,
}

/// Incremental chunked-transfer decoder. Feed it bytes as they arrive; it
/// never buffers more than it is given and bounds every field it skips.
#[derive(Clone, Debug)]
pub struct Chunked {
    state: ChunkState,
    size: u64,
    digits: u8,
    remaining: u64,
    aux: usize,
    total: u64,
    limit: u64,
}

/// Bound on one chunk-extension or trailer line: nothing legitimate is close.
const MAX_CHUNK_LINE: usize = 4096;

impl Chunked {
    /// `limit` bounds the decoded payload (the body-size limit).
    pub fn new(limit: usize) -> Self {
        Chunked {
            state: ChunkState::Size,
            size: 0,
            digits: 0,
            remaining: 0,
            aux: 0,
            total: 0,
            limit: limit as u64,
        }
    }

    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Between two chunks: a new chunk written now would be well-framed.
    pub fn at_chunk_boundary(&self) -> bool {
        self.state == ChunkState::Size && self.digits == 0
    }

    /// Consumes framing from `input`. Payload bytes are appended to `out` when
    /// given. Returns how many input bytes were consumed; it consumes
    /// everything up to and including the end of the message, and stops there
    /// (what follows belongs to the next message).
    pub fn feed(
        &mut self,
        input: &[u8],
        mut out: Option<&mut Vec<u8>>,
    ) -> Result<usize, ChunkError> {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                ChunkState::Size => {
                    let v = match b {
                        b'0'..=b'9' => b - b'0',
                        b'a'..=b'f' => b - b'a' + 10,
                        b'A'..=b'F' => b - b'A' + 10,
                        b';' | b' ' | b'\t' if self.digits > 0 => {
                            self.state = ChunkState::Ext;
                            self.aux = 0;
                            i += 1;
                            continue;
                        }
                        b'\r' if self.digits > 0 => {
                            self.state = ChunkState::SizeLf;
                            i += 1;
                            continue;
                        }
                        _ => return Err(ChunkError::Bad("invalid chunk size")),
                    };
                    self.digits += 1;
                    if self.digits > 15 {
                        return Err(ChunkError::Bad("chunk size too long"));
                    }
                    self.size = self.size * 16 + v as u64;
                    i += 1;
                }
                ChunkState::Ext => {
                    if b == b'\r' {
                        self.state = ChunkState::SizeLf;
                    } else if b == b'\n' {
                        return Err(ChunkError::Bad("bare LF in chunk size line"));
                    } else {
                        self.aux += 1;
                        if self.aux > MAX_CHUNK_LINE {
                            return Err(ChunkError::Bad("chunk extension too long"));
                        }
                    }
                    i += 1;
                }
                ChunkState::SizeLf => {
                    if b != b'\n' {
                        return Err(ChunkError::Bad("invalid chunk size line ending"));
                    }
                    i += 1;
                    if self.size == 0 {
                        self.state = ChunkState::TrailerStart;
                    } else {
                        self.total += self.size;
                        if self.total > self.limit {
                            return Err(ChunkError::TooLarge);
                        }
                        self.remaining = self.size;
                        self.state = ChunkState::Data;
                    }
                    self.size = 0;
                    self.digits = 0;
                }
                ChunkState::Data => {
                    let take = (self.remaining as usize).min(input.len() - i);
                    if let Some(out) = out.as_deref_mut() {
                        out.extend_from_slice(&input[i..i + take]);
                    }
                    i += take;
                    self.remaining -= take as u64;
                    if self.remaining == 0 {
                        self.state = ChunkState::DataCr;
                    }
                }
                ChunkState::DataCr => {
                    if b != b'\r' {
                        return Err(ChunkError::Bad("chunk data longer than its size"));
                    }
                    self.state = ChunkState::DataLf;
                    i += 1;
                }
                ChunkState::DataLf => {
                    if b != b'\n' {
                        return Err(ChunkError::Bad("chunk data longer than its size"));
                    }
                    self.state = ChunkState::Size;
                    i += 1;
                }
                ChunkState::TrailerStart => {
                    if b == b'\r' {
                        self.state = ChunkState::EndLf;
                    } else if b == b' ' || b == b'\t' {
                        return Err(ChunkError::Bad("obs-fold in trailer"));
                    } else {
                        self.state = ChunkState::Trailer;
                        self.aux = 1;
                    }
                    i += 1;
                }
                ChunkState::Trailer => {
                    if b == b'\r' {
                        self.state = ChunkState::TrailerLf;
                    } else {
                        self.aux += 1;
                        if self.aux > MAX_CHUNK_LINE {
                            return Err(ChunkError::Bad("trailer line too long"));
                        }
                    }
                    i += 1;
                }
                ChunkState::TrailerLf => {
                    if b != b'\n' {
                        return Err(ChunkError::Bad("invalid trailer line ending"));
                    }
                    self.state = ChunkState::TrailerStart;
                    i += 1;
                }
                ChunkState::EndLf => {
                    if b != b'\n' {
                        return Err(ChunkError::Bad("invalid end of chunked body"));
                    }
                    self.state = ChunkState::Done;
                    i += 1;
                    return Ok(i);
                }
                ChunkState::Done => return Ok(i),
            }
        }
        Ok(i)
    }
}

/// A parsed upstream response head.
#[derive(Clone, Debug)]
pub struct ResponseHead {
    pub status: u16,
    pub head_len: usize,
    pub body: ResponseBody,
    pub keep_alive: bool,
    /// `content-type` value range.
    pub content_type: Option<Range<usize>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseBody {
    Length(usize),
    Chunked,
    /// Delimited by the upstream closing the connection.
    UntilClose,
    /// 1xx, 204, 304, or a HEAD response.
    None,
}

/// Parses an upstream response head. `Ok(None)`: incomplete.
pub fn parse_response(
    buf: &[u8],
    max_header_bytes: usize,
) -> Result<Option<ResponseHead>, HeadError> {
    let mut slots = [httparse::EMPTY_HEADER; HEADER_SLOTS];
    let mut resp = httparse::Response::new(&mut slots);
    let head_len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            if buf.len() > max_header_bytes {
                return Err(HeadError::TooLarge);
            }
            return Ok(None);
        }
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(_) => return Err(HeadError::Bad("malformed upstream response head")),
    };
    let status = resp.code.unwrap_or(0);
    let http10 = resp.version == Some(0);
    let mut content_length = None;
    let mut chunked = false;
    let mut close = false;
    let mut keep_alive_token = false;
    let mut content_type = None;
    for h in resp.headers.iter() {
        let name = h.name.as_bytes();
        let value = trim(h.value);
        if ascii_eq(name, "content-length") {
            let n =
                parse_decimal(value).ok_or(HeadError::Bad("invalid upstream Content-Length"))?;
            if content_length.is_some_and(|p| p != n) {
                return Err(HeadError::Bad("conflicting upstream Content-Length"));
            }
            content_length = Some(n);
        } else if ascii_eq(name, "transfer-encoding") {
            if !ascii_eq(value, "chunked") {
                return Err(HeadError::Bad("unsupported upstream Transfer-Encoding"));
            }
            chunked = true;
        } else if ascii_eq(name, "connection") {
            for tok in value.split(|&b| b == b',') {
                if ascii_eq(trim(tok), "close") {
                    close = true;
                } else if ascii_eq(trim(tok), "keep-alive") {
                    keep_alive_token = true;
                }
            }
        } else if ascii_eq(name, "content-type") {
            content_type = Some(range_in(buf, value));
        }
    }
    let body = if (100..200).contains(&status) || status == 204 || status == 304 {
        ResponseBody::None
    } else if chunked {
        ResponseBody::Chunked
    } else if let Some(n) = content_length {
        ResponseBody::Length(n)
    } else {
        ResponseBody::UntilClose
    };
    let keep_alive = !close && (!http10 || keep_alive_token) && body != ResponseBody::UntilClose;
    Ok(Some(ResponseHead {
        status,
        head_len,
        body,
        keep_alive,
        content_type,
    }))
}

/// Iterates the header lines of a complete head (request or response),
/// skipping the start line. Used where a second pass over headers is needed
/// off the hot path (e.g. re-emitting upstream headers).
pub fn header_lines(head: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    head.split(|&b| b == b'\n').skip(1).filter_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let colon = memchr::memchr(b':', line)?;
        Some((&line[..colon], trim(&line[colon + 1..])))
    })
}

/// Reason phrase for the statuses the gateway emits itself.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// Appends `HTTP/1.1 {status} {reason}\r\n`.
pub fn write_status_line(out: &mut Vec<u8>, status: u16) {
    out.extend_from_slice(b"HTTP/1.1 ");
    push_u64(out, status as u64);
    out.push(b' ');
    out.extend_from_slice(reason(status).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends a decimal number without allocating.
pub fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

/// Appends a lowercase hex number (chunk sizes).
pub fn push_hex(out: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 16];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b"0123456789abcdef"[(n & 15) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_header_bytes: 8192,
            max_headers: 64,
            max_body_bytes: 1 << 20,
        }
    }

    fn parse(s: &str) -> Result<Option<RequestHead>, HeadError> {
        parse_request(s.as_bytes(), &limits())
    }

    #[test]
    fn simple_post() {
        let raw = "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nAuthorization: Bearer sk-1\r\n\r\nhello";
        let h = parse(raw).unwrap().unwrap();
        assert_eq!(h.method, Method::Post);
        assert_eq!(h.path(raw.as_bytes()), b"/v1/chat/completions");
        assert_eq!(h.body, BodyKind::Length(5));
        assert!(h.keep_alive);
        let auth = h.headers.authorization.unwrap();
        assert_eq!(&raw.as_bytes()[auth], b"Bearer sk-1");
        assert_eq!(h.head_len, raw.len() - 5);
    }

    #[test]
    fn partial_then_too_large() {
        assert!(parse("GET / HTTP/1.1\r\nHost: a\r\n").unwrap().is_none());
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n", "a".repeat(9000));
        assert_eq!(parse(&big).unwrap_err(), HeadError::TooLarge);
    }

    #[test]
    fn smuggling_shapes_refused() {
        let cases = [
            "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 0x3\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n",
            "POST / HTTP/1.1\r\nX-A: b\r\n  folded\r\n\r\n",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        ];
        for c in cases {
            assert!(
                matches!(parse(c), Err(HeadError::Bad(_))),
                "accepted: {c:?}"
            );
        }
    }

    #[test]
    fn identical_content_lengths_accepted() {
        let h = parse("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(h.body, BodyKind::Length(3));
    }

    #[test]
    fn body_limit_from_content_length() {
        let raw = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            (1 << 20) + 1
        );
        assert_eq!(parse(&raw).unwrap_err(), HeadError::BodyTooLarge);
    }

    #[test]
    fn keep_alive_rules() {
        assert!(!parse("GET / HTTP/1.0\r\n\r\n").unwrap().unwrap().keep_alive);
        assert!(
            parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                .unwrap()
                .unwrap()
                .keep_alive
        );
        assert!(
            !parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
                .unwrap()
                .unwrap()
                .keep_alive
        );
    }

    #[test]
    fn expect_continue() {
        let h = parse("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(h.expect_continue);
        assert!(matches!(
            parse("POST / HTTP/1.1\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\n"),
            Err(HeadError::Bad(_))
        ));
    }

    fn decode_all(input: &[u8], split: usize) -> Result<(Vec<u8>, usize), ChunkError> {
        let mut c = Chunked::new(1 << 20);
        let mut out = Vec::new();
        let mut used = 0;
        for part in input.chunks(split.max(1)) {
            let n = c.feed(part, Some(&mut out))?;
            used += n;
            if c.is_done() {
                break;
            }
        }
        assert!(c.is_done(), "not done");
        Ok((out, used))
    }

    #[test]
    fn chunked_at_every_split() {
        let body = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        for split in 1..body.len() {
            let (out, used) = decode_all(body, split).unwrap();
            assert_eq!(out, b"hello world");
            assert_eq!(&body[used..], b"NEXT");
        }
    }

    #[test]
    fn chunked_errors() {
        for bad in [
            &b"zz\r\n"[..],
            b"5\r\nhelloXX\r\n",
            b"5\nhello",
            b"1234567890123456\r\n",
            b"\r\n",
        ] {
            let mut c = Chunked::new(1 << 20);
            assert!(c.feed(bad, None).is_err(), "accepted {bad:?}");
        }
        let mut c = Chunked::new(4);
        assert_eq!(c.feed(b"5\r\nhello\r\n", None), Err(ChunkError::TooLarge));
    }

    #[test]
    fn response_heads() {
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\nok",
            8192,
        )
        .unwrap()
        .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, ResponseBody::Length(2));
        assert!(r.keep_alive);
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            8192,
        )
        .unwrap()
        .unwrap();
        assert_eq!(r.body, ResponseBody::Chunked);
        let r = parse_response(b"HTTP/1.0 200 OK\r\n\r\n", 8192)
            .unwrap()
            .unwrap();
        assert_eq!(r.body, ResponseBody::UntilClose);
        assert!(!r.keep_alive);
    }

    #[test]
    fn numbers() {
        let mut v = Vec::new();
        push_u64(&mut v, 0);
        v.push(b' ');
        push_u64(&mut v, 18446744073709551615);
        v.push(b' ');
        push_hex(&mut v, 255);
        assert_eq!(v, b"0 18446744073709551615 ff");
    }
}
