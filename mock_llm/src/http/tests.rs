//! Unit tests for `http`.
use super::*;

fn head(s: &str) -> Head {
    match parse_head(s.as_bytes()) {
        HeadResult::Done(h) => h,
        other => panic!("{other:?}"),
    }
}

#[test]
fn head_fields() {
    let raw = "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\
               Authorization: Bearer sk-1\r\napi-key: az\r\nX-Api-Key: ak\r\n\
               anthropic-version: 2023-06-01\r\nExpect: 100-continue\r\n\r\nbody";
    let h = head(raw);
    assert_eq!(h.method, Method::Post);
    assert_eq!(&raw[h.path.clone()], "/v1/chat/completions?x=1");
    assert_eq!(h.content_length, Some(12));
    assert_eq!(&raw[h.authorization.clone().unwrap()], "Bearer sk-1");
    assert_eq!(&raw[h.api_key.clone().unwrap()], "az");
    assert_eq!(&raw[h.x_api_key.clone().unwrap()], "ak");
    assert!(h.anthropic_version && h.expect_continue && !h.close && !h.chunked);
    assert_eq!(h.len, raw.len() - 4);
}

#[test]
fn keep_alive_rules() {
    assert!(!head("GET / HTTP/1.1\r\n\r\n").close);
    assert!(head("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").close);
    assert!(head("GET / HTTP/1.0\r\n\r\n").close);
    let h = head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert!(!h.close);
    assert_eq!(h.connection_line(), b"connection: keep-alive\r\n");
}

#[test]
fn bad_heads() {
    assert!(matches!(
        parse_head(b"GET / HTTP/1.1\r\nHost"),
        HeadResult::Partial
    ));
    assert!(matches!(
        parse_head(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
        HeadResult::Bad(400, _)
    ));
    assert!(matches!(
        parse_head(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
        HeadResult::Bad(400, _)
    ));
    assert!(matches!(
        parse_head(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"),
        HeadResult::Bad(400, _)
    ));
    assert!(matches!(
        parse_head(b"\x01\x02 / HTTP/1.1\r\n\r\n"),
        HeadResult::Bad(400, _)
    ));
    let mut many = String::from("GET / HTTP/1.1\r\n");
    for i in 0..=MAX_HEADERS {
        many.push_str(&format!("h{i}: v\r\n"));
    }
    many.push_str("\r\n");
    assert!(matches!(
        parse_head(many.as_bytes()),
        HeadResult::Bad(431, _)
    ));
    let huge = format!("GET / HTTP/1.1\r\nh: {}", "a".repeat(MAX_HEAD + 1));
    assert!(matches!(
        parse_head(huge.as_bytes()),
        HeadResult::Bad(431, _)
    ));
}

#[test]
fn chunked_wins_over_content_length() {
    let h =
        head("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
    assert!(h.chunked);
    assert_eq!(h.content_length, None);
}

/// Reference: the body a chunked encoding of `parts` carries.
fn encode(parts: &[&[u8]], trailer: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for p in parts {
        v.extend_from_slice(format!("{:X};ext=1\r\n", p.len()).as_bytes());
        v.extend_from_slice(p);
        v.extend_from_slice(b"\r\n");
    }
    v.extend_from_slice(b"0\r\n");
    v.extend_from_slice(trailer.as_bytes());
    v.extend_from_slice(b"\r\n");
    v
}

#[test]
fn chunked_decodes_at_every_split() {
    let parts: [&[u8]; 3] = [b"{\"model\":", b"\"m\"", &[b'x'; 300]];
    let want: Vec<u8> = parts.concat();
    let enc = encode(&parts, "X-Trailer: 1\r\n");
    let mut dst = Vec::new();
    for cut in 0..enc.len() {
        assert_eq!(
            decode_chunked(&enc[..cut], &mut dst, MAX_BODY),
            Ok(None),
            "cut {cut}"
        );
    }
    let mut with_next = enc.clone();
    with_next.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(
        decode_chunked(&with_next, &mut dst, MAX_BODY),
        Ok(Some(enc.len()))
    );
    assert_eq!(dst, want);
}

#[test]
fn chunked_errors() {
    let mut dst = Vec::new();
    assert_eq!(
        decode_chunked(b"zz\r\n", &mut dst, 100).map_err(|e| e.0),
        Err(400)
    );
    assert_eq!(
        decode_chunked(b"3\r\nabcX\r\n", &mut dst, 100).map_err(|e| e.0),
        Err(400)
    );
    assert_eq!(
        decode_chunked(b"ff\r\n", &mut dst, 100).map_err(|e| e.0),
        Err(413)
    );
}

#[test]
fn frame_content_length() {
    let mut cb = Vec::new();
    let req = b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET";
    match frame(&req[..req.len() - 4], &mut cb) {
        Frame::Need { at_least, .. } => assert_eq!(at_least, req.len() - 3),
        other => panic!("{other:?}"),
    }
    match frame(req, &mut cb) {
        Frame::Ready { body, total, .. } => {
            assert_eq!(&req[body.unwrap()], b"abc");
            assert_eq!(total, req.len() - 3);
        }
        other => panic!("{other:?}"),
    }
    let big = format!(
        "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        MAX_BODY + 1
    );
    assert!(matches!(frame(big.as_bytes(), &mut cb), Frame::Bad(413, _)));
}

#[test]
fn writers() {
    let mut v = Vec::new();
    push_u64(&mut v, 0);
    v.push(b' ');
    push_u64(&mut v, u64::MAX);
    v.push(b' ');
    push_hex(&mut v, 0);
    v.push(b' ');
    push_hex(&mut v, 0x1a2f);
    assert_eq!(v, b"0 18446744073709551615 0 1a2f");
    for s in ["plain", "q\"b\\s\n\r\t\u{1}é", "", "\u{1f}end"] {
        let mut v = Vec::new();
        push_json_str(&mut v, s);
        let back: String = serde_json::from_slice(&v).unwrap();
        assert_eq!(back, s);
    }
    let mut v = Vec::new();
    push_chunk(&mut v, b"hello world, sixteen");
    assert_eq!(v, b"14\r\nhello world, sixteen\r\n");
}
