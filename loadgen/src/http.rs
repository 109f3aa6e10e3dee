//! Client-side HTTP/1.1 response framing, fed in whatever pieces the socket
//! returns: the head (via `httparse`), Content-Length and chunked bodies, and
//! the SSE event boundaries inside a streamed body.
//!
//! Every decoder here is a byte-level state machine with no buffer of its own:
//! it consumes all input it is given (except the bytes after the end of a
//! message), so the connection's read buffer can be reset after each read and
//! never grows. Nothing here allocates.

/// Most headers a response may carry.
pub const MAX_HEADERS: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    Length(u64),
    Chunked,
    /// No length and not chunked: the body runs to connection close.
    UntilClose,
    /// 1xx, 204, 304: no body at all.
    Empty,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub framing: Framing,
    /// The server will close the connection after this response.
    pub close: bool,
    /// Bytes of the head, including the blank line.
    pub len: usize,
}

#[derive(Debug, PartialEq, Eq)]
pub enum HttpError {
    /// Not a valid HTTP/1.x response head.
    Head,
    /// Content-Length not a number, or two that disagree.
    ContentLength,
    /// Malformed chunked framing.
    Chunk,
}

fn eq_token_list(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// Parses a response head from the start of `buf`; `Ok(None)` means more
/// bytes are needed.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, HttpError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(HttpError::Head),
    };
    let status = resp.code.ok_or(HttpError::Head)?;
    let http10 = resp.version == Some(0);
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut close = http10;
    for h in resp.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("content-length") {
            let v = std::str::from_utf8(h.value)
                .ok()
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or(HttpError::ContentLength)?;
            if length.is_some_and(|l| l != v) {
                return Err(HttpError::ContentLength);
            }
            length = Some(v);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Chunked must be the final coding; anything else is read to close.
            let last = h.value.rsplit(|&b| b == b',').next().unwrap_or(b"");
            chunked = last.trim_ascii().eq_ignore_ascii_case(b"chunked");
            if !chunked {
                close = true;
            }
        } else if name.eq_ignore_ascii_case("connection") {
            if eq_token_list(h.value, "close") {
                close = true;
            } else if http10 && eq_token_list(h.value, "keep-alive") {
                close = false;
            }
        }
    }
    let framing = if (100..200).contains(&status) || status == 204 || status == 304 {
        Framing::Empty
    } else if chunked {
        Framing::Chunked
    } else if let Some(l) = length {
        Framing::Length(l)
    } else {
        close = true;
        Framing::UntilClose
    };
    Ok(Some(Head {
        status,
        framing,
        close,
        len,
    }))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChunkState {
    /// Hex digits of the size line.
    Size,
    /// After the digits: extensions or whitespace up to the line end.
    SizeExt,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    /// At the start of a trailer line (or the final blank line).
    TrailerStart,
    TrailerLine,
    TrailerLf,
    Done,
}

/// Decodes `Transfer-Encoding: chunked`, handing out the data in place.
#[derive(Clone, Debug)]
pub struct Chunked {
    state: ChunkState,
    size: u64,
    digits: u32,
}

impl Default for Chunked {
    fn default() -> Self {
        Chunked {
            state: ChunkState::Size,
            size: 0,
            digits: 0,
        }
    }
}

impl Chunked {
    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Consumes from `input`, calling `on_data` with each run of body bytes.
    /// Returns how many bytes were consumed: all of them unless the message
    /// ended inside `input` (see [`Chunked::is_done`]).
    pub fn feed<'a>(
        &mut self,
        input: &'a [u8],
        mut on_data: impl FnMut(&'a [u8]),
    ) -> Result<usize, HttpError> {
        use ChunkState::*;
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                Size => {
                    let d = match b {
                        b'0'..=b'9' => b - b'0',
                        b'a'..=b'f' => b - b'a' + 10,
                        b'A'..=b'F' => b - b'A' + 10,
                        _ => {
                            if self.digits == 0 {
                                return Err(HttpError::Chunk);
                            }
                            self.state = SizeExt;
                            continue; // re-examine b in SizeExt
                        }
                    };
                    if self.digits >= 15 {
                        return Err(HttpError::Chunk);
                    }
                    self.size = self.size * 16 + d as u64;
                    self.digits += 1;
                    i += 1;
                }
                SizeExt => {
                    match b {
                        b'\r' => self.state = SizeLf,
                        b'\n' => self.after_size_line(),
                        _ => {}
                    }
                    i += 1;
                }
                SizeLf => {
                    if b != b'\n' {
                        return Err(HttpError::Chunk);
                    }
                    self.after_size_line();
                    i += 1;
                }
                Data => {
                    let n = (input.len() - i).min(self.size as usize);
                    on_data(&input[i..i + n]);
                    self.size -= n as u64;
                    i += n;
                    if self.size == 0 {
                        self.state = DataCr;
                    }
                }
                DataCr => {
                    self.state = match b {
                        b'\r' => DataLf,
                        b'\n' => self.next_chunk(),
                        _ => return Err(HttpError::Chunk),
                    };
                    i += 1;
                }
                DataLf => {
                    if b != b'\n' {
                        return Err(HttpError::Chunk);
                    }
                    self.state = self.next_chunk();
                    i += 1;
                }
                TrailerStart => {
                    self.state = match b {
                        b'\r' => TrailerLf,
                        b'\n' => Done,
                        _ => TrailerLine,
                    };
                    i += 1;
                }
                TrailerLine => match memchr::memchr(b'\n', &input[i..]) {
                    Some(off) => {
                        self.state = TrailerStart;
                        i += off + 1;
                    }
                    None => i = input.len(),
                },
                TrailerLf => {
                    if b != b'\n' {
                        return Err(HttpError::Chunk);
                    }
                    self.state = Done;
                    i += 1;
                }
                Done => return Ok(i),
            }
        }
        Ok(i)
    }

    fn after_size_line(&mut self) {
        self.state = if self.size == 0 {
            ChunkState::TrailerStart
        } else {
            ChunkState::Data
        };
    }

    fn next_chunk(&mut self) -> ChunkState {
        self.size = 0;
        self.digits = 0;
        ChunkState::Size
    }
}

/// Finds SSE event boundaries (a blank line after at least one non-comment
/// line) in a body fed in arbitrary pieces. Lines end in CRLF, LF or CR, as
/// the SSE spec allows; a CRLF split across two pieces counts once.
#[derive(Clone, Debug)]
pub struct SseScanner {
    at_line_start: bool,
    prev_cr: bool,
    /// The event being read has a field line (not only comments).
    has_field: bool,
}

impl Default for SseScanner {
    fn default() -> Self {
        SseScanner {
            at_line_start: true,
            prev_cr: false,
            has_field: false,
        }
    }
}

impl SseScanner {
    /// Returns how many events ended inside `data`.
    pub fn feed(&mut self, data: &[u8]) -> u32 {
        let mut events = 0;
        let mut i = 0;
        while i < data.len() {
            if self.prev_cr {
                self.prev_cr = false;
                if data[i] == b'\n' {
                    i += 1;
                    continue;
                }
            }
            let rest = &data[i..];
            let line_end = memchr::memchr2(b'\n', b'\r', rest);
            let content = line_end.unwrap_or(rest.len());
            if content > 0 {
                if self.at_line_start && rest[0] != b':' {
                    self.has_field = true;
                }
                self.at_line_start = false;
            }
            let Some(off) = line_end else { break };
            if self.at_line_start && self.has_field {
                events += 1;
                self.has_field = false;
            }
            self.at_line_start = true;
            self.prev_cr = rest[off] == b'\r';
            i += off + 1;
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `input` at `cuts` (sorted positions) into pieces.
    fn pieces<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        let mut start = 0;
        for &c in cuts {
            out.push(&input[start..c]);
            start = c;
        }
        out.push(&input[start..]);
        out
    }

    fn random_cuts(rng: &mut u64, len: usize) -> Vec<usize> {
        let mut next = || {
            // xorshift64*: a fixed seed keeps failures reproducible.
            *rng ^= *rng >> 12;
            *rng ^= *rng << 25;
            *rng ^= *rng >> 27;
            rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        let n = (next() % 8) as usize;
        let mut cuts: Vec<usize> = (0..n).map(|_| (next() as usize) % (len + 1)).collect();
        cuts.sort_unstable();
        cuts
    }

    /// Reference chunked encoder.
    fn encode_chunked(body: &[u8], chunk: usize, ext: bool, trailer: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for c in body.chunks(chunk.max(1)) {
            out.extend_from_slice(format!("{:X}", c.len()).as_bytes());
            if ext {
                out.extend_from_slice(b";name=value");
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(c);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n");
        if trailer {
            out.extend_from_slice(b"X-Trailer: yes\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    fn decode_in_pieces(wire: &[u8], cuts: &[usize]) -> (Vec<u8>, usize) {
        let mut dec = Chunked::default();
        let mut body = Vec::new();
        let mut consumed = 0;
        for p in pieces(wire, cuts) {
            if dec.is_done() {
                break;
            }
            let n = dec.feed(p, |d| body.extend_from_slice(d)).unwrap();
            consumed += n;
        }
        assert!(dec.is_done());
        (body, consumed)
    }

    #[test]
    fn chunked_at_random_split_points() {
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let body: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
        for round in 0..2000 {
            let chunk = 1 + round % 700;
            let wire = encode_chunked(&body, chunk, round % 3 == 0, round % 5 == 0);
            let mut with_next = wire.clone();
            with_next.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
            let cuts = random_cuts(&mut rng, with_next.len());
            let (got, consumed) = decode_in_pieces(&with_next, &cuts);
            assert_eq!(got, body, "round {round} cuts {cuts:?}");
            assert_eq!(
                consumed,
                wire.len(),
                "round {round}: stops at the message end"
            );
        }
    }

    #[test]
    fn chunked_byte_by_byte_and_bare_lf() {
        let wire = b"5\nhello\n6\n world\n0\n\n";
        let cuts: Vec<usize> = (1..wire.len()).collect();
        let (got, consumed) = decode_in_pieces(wire, &cuts);
        assert_eq!(got, b"hello world");
        assert_eq!(consumed, wire.len());
    }

    #[test]
    fn chunked_rejects_garbage() {
        for bad in [
            &b"zz\r\n"[..],
            b"\r\n",
            b"5\r\nhelloX",
            b"5\r\nhello\rX",
            b"1234567890abcdef0\r\n",
        ] {
            let mut dec = Chunked::default();
            assert_eq!(dec.feed(bad, |_| {}), Err(HttpError::Chunk), "{bad:?}");
        }
    }

    /// Reference SSE event counter: split into lines, count blank lines that
    /// close a block holding a non-comment line.
    fn naive_events(s: &[u8]) -> u32 {
        let text = String::from_utf8_lossy(s)
            .replace("\r\n", "\n")
            .replace('\r', "\n");
        let mut n = 0;
        let mut has = false;
        let mut lines: Vec<&str> = text.split('\n').collect();
        lines.pop(); // the text after the last line end is not a line yet
        for line in lines {
            if line.is_empty() {
                if has {
                    n += 1;
                }
                has = false;
            } else if !line.starts_with(':') {
                has = true;
            }
        }
        n
    }

    #[test]
    fn sse_matches_reference_at_random_split_points() {
        let mut rng = 0xDEAD_BEEF_CAFE_F00Du64;
        let samples: [&[u8]; 6] = [
            b"data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: {\"x\":1}\n\ndata: [DONE]\n\n",
            b"data: a\r\n\r\ndata: b\r\n\r\n: comment\r\n\r\ndata: [DONE]\r\n\r\n",
            b"event: message\rdata: a\r\rdata: b\r\r",
            b": keepalive\n\n: again\n\ndata: x\n\n\n\n",
            b"id: 1\ndata: multi\ndata: line\n\nretry: 10\n\ndata: tail-without-blank\n",
            b"data: mixed\r\n\ndata: ends\n\r\n",
        ];
        for (k, s) in samples.iter().enumerate() {
            let want = naive_events(s);
            for _ in 0..500 {
                let cuts = random_cuts(&mut rng, s.len());
                let mut sc = SseScanner::default();
                let got: u32 = pieces(s, &cuts).iter().map(|p| sc.feed(p)).sum();
                assert_eq!(got, want, "sample {k} cuts {cuts:?}");
            }
        }
        assert_eq!(naive_events(samples[0]), 3);
        assert_eq!(naive_events(samples[1]), 3);
        assert_eq!(naive_events(samples[3]), 1);
    }

    #[test]
    fn sse_through_chunked() {
        let sse = b"data: one\n\ndata: two\n\ndata: [DONE]\n\n";
        let wire = encode_chunked(sse, 7, false, false);
        let mut rng = 42u64;
        for _ in 0..300 {
            let cuts = random_cuts(&mut rng, wire.len());
            let mut dec = Chunked::default();
            let mut sc = SseScanner::default();
            let mut events = 0;
            for p in pieces(&wire, &cuts) {
                dec.feed(p, |d| events += sc.feed(d)).unwrap();
            }
            assert!(dec.is_done());
            assert_eq!(events, 3);
        }
    }

    #[test]
    fn heads() {
        let h = parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello").unwrap();
        assert_eq!(
            h,
            Some(Head {
                status: 200,
                framing: Framing::Length(12),
                close: false,
                len: 39
            })
        );
        let h = parse_head(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(h.framing, Framing::Chunked);
        assert!(h.close);
        let h = parse_head(b"HTTP/1.0 200 OK\r\n\r\n").unwrap().unwrap();
        assert_eq!(h.framing, Framing::UntilClose);
        assert!(h.close);
        let h =
            parse_head(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
                .unwrap()
                .unwrap();
        assert!(!h.close);
        let h = parse_head(b"HTTP/1.1 204 No Content\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(h.framing, Framing::Empty);
        let h = parse_head(b"HTTP/1.1 503 Busy\r\ncontent-length: 0\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(h.status, 503);
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\nContent-"), Ok(None));
        assert_eq!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            Err(HttpError::ContentLength)
        );
        assert_eq!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"),
            Err(HttpError::ContentLength)
        );
        assert_eq!(parse_head(b"garbage\r\n\r\n"), Err(HttpError::Head));
    }
}
