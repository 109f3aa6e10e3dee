//! Request-head parsing and chunked decoding (`ringway::http`).
//!
//! Input layout: `[split, limits, bytes...]`.
//! - `split` picks where the bytes after the head are cut in two for the
//!   chunk-boundary check (as a fraction of their length), and where the head
//!   is cut for the incremental-parse check.
//! - `limits` picks small `Limits` (see [`limits_from`]).
//! - `bytes` is what a client sent: a request head, then whatever follows it.
//!
//! Checked:
//! - `parse_request` never panics; a returned head satisfies the invariants in
//!   [`check_head`] (lengths, every range inside the head, limits honoured,
//!   no CR/LF inside a header value or the target).
//! - The head parses the same from exactly `head_len` bytes, and any shorter
//!   prefix is "incomplete" (`Ok(None)`), never an error: the server re-parses
//!   as bytes arrive, so TCP segmentation must not change the outcome.
//! - `Chunked` decodes the bytes after the head (the whole input when no head
//!   parsed) identically whether they are fed in one piece, in two pieces cut
//!   at `split`, or one byte at a time, with or without an output buffer.
//! - `parse_response` never panics on the same bytes, and its head is sane.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ringway::http::{
    parse_request, parse_response, BodyKind, ChunkError, Chunked, HeadError, Limits, RequestHead,
};
use std::ops::Range;

fn limits_from(sel: u8) -> Limits {
    Limits {
        // 128..=1088 bytes of head.
        max_header_bytes: 128 + (sel & 0x0f) as usize * 64,
        max_headers: [2, 4, 8, 32][((sel >> 4) & 3) as usize],
        // Printable selectors (0x20..=0x7e) get the two larger body limits.
        max_body_bytes: [4096, 256, 16, 0][((sel >> 6) & 3) as usize],
    }
}

/// `n * sel / 255`: a cut point in `0..=n` chosen by the fuzzer.
fn cut(n: usize, sel: u8) -> usize {
    n * sel as usize / 255
}

fn check_range(what: &str, r: &Range<usize>, head_len: usize, buf: &[u8]) {
    assert!(
        r.start <= r.end && r.end <= head_len,
        "{what} range {r:?} outside the head (head_len {head_len}, input {})",
        buf.len()
    );
    let v = &buf[r.clone()];
    assert!(
        !v.contains(&b'\r') && !v.contains(&b'\n'),
        "{what} contains CR/LF: {v:?}"
    );
}

fn check_head(h: &RequestHead, buf: &[u8], lim: &Limits) {
    assert!(
        h.head_len <= buf.len(),
        "head_len {} > input {}",
        h.head_len,
        buf.len()
    );
    assert!(
        h.head_len <= lim.max_header_bytes,
        "head_len {} above max_header_bytes {}",
        h.head_len,
        lim.max_header_bytes
    );
    assert!(
        buf[..h.head_len].ends_with(b"\n"),
        "head does not end at a line end"
    );
    assert!(!h.target.is_empty(), "empty target accepted");
    check_range("target", &h.target, h.head_len, buf);
    let t = &buf[h.target.clone()];
    assert!(
        !t.iter().any(|&b| b == b' ' || b == b'\t'),
        "whitespace in target {t:?}"
    );
    let path = h.path(buf);
    assert!(path.len() <= t.len() && t.starts_with(path));
    let k = &h.headers;
    for (name, r) in [
        ("authorization", &k.authorization),
        ("x-litellm-api-key", &k.x_litellm_api_key),
        ("api-key", &k.api_key),
        ("x-api-key", &k.x_api_key),
        ("content-type", &k.content_type),
    ] {
        if let Some(r) = r {
            check_range(name, r, h.head_len, buf);
            let v = &buf[r.clone()];
            assert!(
                !v.starts_with(b" ")
                    && !v.starts_with(b"\t")
                    && !v.ends_with(b" ")
                    && !v.ends_with(b"\t"),
                "{name} value not trimmed: {v:?}"
            );
        }
    }
    match h.body {
        BodyKind::Empty | BodyKind::Chunked => {}
        BodyKind::Length(n) => assert!(
            n > 0 && n <= lim.max_body_bytes,
            "Length({n}) with max_body_bytes {}",
            lim.max_body_bytes
        ),
    }
    if h.expect_continue {
        assert_ne!(h.body, BodyKind::Empty, "100-continue for an empty body");
    }
}

fn same_head(a: &RequestHead, b: &RequestHead) -> bool {
    a.method == b.method
        && a.target == b.target
        && a.head_len == b.head_len
        && a.body == b.body
        && a.keep_alive == b.keep_alive
        && a.expect_continue == b.expect_continue
        && a.headers.authorization == b.headers.authorization
        && a.headers.x_litellm_api_key == b.headers.x_litellm_api_key
        && a.headers.api_key == b.headers.api_key
        && a.headers.x_api_key == b.headers.x_api_key
        && a.headers.content_type == b.headers.content_type
}

/// What decoding produced: consumed count (or the error), payload, done.
#[derive(Debug, PartialEq, Eq)]
struct Decoded {
    result: Result<usize, ChunkError>,
    out: Vec<u8>,
    done: bool,
}

/// Feeds `pieces` in order, stopping at the first error or at the end of the
/// message, the way the server's read loop does.
fn decode(limit: usize, pieces: &[&[u8]], collect: bool) -> Decoded {
    let mut c = Chunked::new(limit);
    let mut out = Vec::new();
    let mut used = 0usize;
    for p in pieces {
        let sink = if collect { Some(&mut out) } else { None };
        match c.feed(p, sink) {
            Ok(n) => {
                assert!(n <= p.len(), "consumed {n} of a {}-byte piece", p.len());
                if !c.is_done() {
                    assert_eq!(n, p.len(), "stopped early without finishing");
                }
                used += n;
            }
            Err(e) => {
                return Decoded {
                    result: Err(e),
                    out,
                    done: c.is_done(),
                }
            }
        }
        if c.is_done() {
            break;
        }
    }
    Decoded {
        result: Ok(used),
        out,
        done: c.is_done(),
    }
}

fn check_chunked(rest: &[u8], limit: usize, split_sel: u8) {
    let one = decode(limit, &[rest], true);
    assert!(
        one.out.len() <= limit,
        "decoded {} bytes over the limit {limit}",
        one.out.len()
    );
    if let Ok(n) = one.result {
        assert!(n <= rest.len());
        assert!(one.out.len() <= n, "more payload than input consumed");
    }

    let at = cut(rest.len(), split_sel);
    let (a, b) = rest.split_at(at);
    let two = decode(limit, &[a, b], true);
    assert_eq!(one, two, "one piece vs two pieces split at {at}");

    let bytes: Vec<&[u8]> = rest.chunks(1).collect();
    let each = decode(limit, &bytes, true);
    assert_eq!(one, each, "one piece vs byte at a time");

    // Tracking mode (relayed upstream responses): same framing, no payload.
    let track = decode(limit, &[a, b], false);
    assert_eq!(one.result, track.result, "tracking mode disagrees");
    assert_eq!(one.done, track.done, "tracking mode disagrees on the end");
    assert!(track.out.is_empty());
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let split_sel = data[0];
    let lim = limits_from(data[1]);
    let buf = &data[2..];

    let rest = match parse_request(buf, &lim) {
        Ok(Some(h)) => {
            check_head(&h, buf, &lim);

            // Exactly the head: same result.
            match parse_request(&buf[..h.head_len], &lim) {
                Ok(Some(h2)) => assert!(
                    same_head(&h, &h2),
                    "head differs when parsed alone: {h:?} vs {h2:?}"
                ),
                other => panic!("head alone gave {other:?}, full input gave {h:?}"),
            }
            // A strict prefix of the head: incomplete, never an error.
            let k = cut(h.head_len.saturating_sub(1), split_sel);
            match parse_request(&buf[..k], &lim) {
                Ok(None) => {}
                other => panic!(
                    "prefix of {k} bytes gave {other:?}, full head ({}) parsed",
                    h.head_len
                ),
            }
            &buf[h.head_len..]
        }
        Ok(None) => {
            assert!(
                buf.len() <= lim.max_header_bytes,
                "oversized partial head kept"
            );
            buf
        }
        Err(
            HeadError::TooLarge | HeadError::Bad(_) | HeadError::BodyTooLarge | HeadError::Version,
        ) => buf,
    };
    check_chunked(rest, lim.max_body_bytes, split_sel);

    if let Ok(Some(r)) = parse_response(buf, lim.max_header_bytes) {
        assert!(r.head_len <= buf.len(), "response head_len past the input");
        if let Some(ct) = &r.content_type {
            assert!(
                ct.start <= ct.end && ct.end <= r.head_len,
                "content-type range {ct:?} outside the head ({})",
                r.head_len
            );
        }
    }
});
