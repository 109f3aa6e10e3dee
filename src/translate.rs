//! Request-body work between routing and the upstream: finding the few JSON
//! fields routing needs, and rewriting `model` for the chosen deployment.
//!
//! An OpenAI-to-OpenAI request is never turned into a JSON tree. [`scan`]
//! walks the *top level* of the body once, jumping over nested values and
//! strings with `memchr`, and records where `"model"` and `"stream"` are. The
//! upstream body is then the client's bytes with the model value spliced in
//! ([`write_spliced`]): one pass, no re-serialisation, so every field the
//! client sent (known to us or not) reaches the provider byte for byte.
//!
//! Why not `serde_json` into a borrowed struct: it validates and visits every
//! nested value and cannot report byte spans; the scan below was measured
//! against it (see ARCHITECTURE.md, "Finding the model field") and is faster
//! at every body size while also giving the span the splice needs.
//!
//! The scan checks structure (balanced, correctly typed brackets, strings,
//! `:` and `,` in the right places, nothing after the top-level object) but
//! not number grammar or string escapes inside values it skips: the provider
//! validates those, and its 400 is relayed.

use std::ops::Range;

/// What routing needs from a request body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields {
    /// Span of the `model` value (whatever its type; quotes included for a
    /// string). The splice replaces exactly this span.
    pub model: Option<Range<usize>>,
    /// The `stream` flag, when present and a boolean.
    pub stream: bool,
    /// Span of the `stream_options` value, when present.
    pub stream_options: Option<Range<usize>>,
    /// `model` is present but not a string.
    pub model_not_string: bool,
    /// Top-level keys each endpoint requires (LiteLLM checks them first).
    pub has_messages: bool,
    pub has_prompt: bool,
    pub has_input: bool,
    /// Span of the `"max_completion_tokens"` key (quotes included), for
    /// providers that want it renamed to `max_tokens`.
    pub max_completion_tokens_key: Option<Range<usize>>,
    pub has_max_tokens: bool,
    /// OpenAI standard parameters present (bit `i` is
    /// `providers::STANDARD_PARAMS[i]`), for the per-provider check of the
    /// ones LiteLLM refuses. `n: 1` does not count (LiteLLM lets it pass).
    pub std_params: u64,
    /// The body carries LiteLLM's own request keys (`drop_params`,
    /// `allowed_openai_params`), which are not sent upstream.
    pub litellm_keys: bool,
    /// The request's `drop_params: true`.
    pub drop_params: bool,
    /// The request's `allowed_openai_params`, as `std_params` bits.
    pub allowed_params: u64,
}

impl Fields {
    /// The model name between the quotes, raw (escapes not decoded); `None`
    /// when absent or not a string.
    pub fn model_raw<'a>(&self, body: &'a [u8]) -> Option<&'a [u8]> {
        self.model
            .as_ref()
            .filter(|r| body[r.start] == b'"')
            .map(|r| &body[r.start + 1..r.end - 1])
    }
}

/// Why a body is not a JSON object the gateway can route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanError(pub &'static str);

/// Deepest nesting accepted (serde_json's default recursion limit is the same).
const MAX_DEPTH: u32 = 128;

#[inline]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// `i` points at the opening quote; returns the index after the closing one.
#[inline]
fn skip_string(b: &[u8], mut i: usize) -> Result<usize, ScanError> {
    i += 1;
    loop {
        match memchr::memchr2(b'"', b'\\', &b[i..]) {
            None => return Err(ScanError("unterminated string")),
            Some(off) => {
                let j = i + off;
                if b[j] == b'"' {
                    return Ok(j + 1);
                }
                // Backslash: skip it and the escaped byte.
                i = j + 2;
                if i > b.len() {
                    return Err(ScanError("unterminated string"));
                }
            }
        }
    }
}

/// Skips one JSON value starting at `i` (which is not whitespace).
fn skip_value(b: &[u8], i: usize) -> Result<usize, ScanError> {
    match b.get(i) {
        None => Err(ScanError("unexpected end of body")),
        Some(b'"') => skip_string(b, i),
        Some(b'{') | Some(b'[') => skip_container(b, i),
        Some(_) => {
            // Scalar: true/false/null/number. Ends at a delimiter.
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                if !matches!(b[j], b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'-' | b'+' | b'.') {
                    return Err(ScanError("invalid literal"));
                }
                j += 1;
            }
            if j == i {
                return Err(ScanError("expected a value"));
            }
            Ok(j)
        }
    }
}

/// Skips a nested object or array, checking bracket pairing with a bit stack
/// (1 = object) rather than recursion, so hostile nesting costs no stack.
fn skip_container(b: &[u8], mut i: usize) -> Result<usize, ScanError> {
    let mut stack: u128 = 0;
    let mut depth: u32 = 0;
    loop {
        let c = match b.get(i) {
            Some(&c) => c,
            None => return Err(ScanError("unterminated object or array")),
        };
        match c {
            b'"' => {
                i = skip_string(b, i)?;
                continue;
            }
            b'{' | b'[' => {
                if depth >= MAX_DEPTH {
                    return Err(ScanError("nesting too deep"));
                }
                stack = (stack << 1) | (c == b'{') as u128;
                depth += 1;
            }
            b'}' | b']' => {
                if depth == 0 || ((stack & 1) == 1) != (c == b'}') {
                    return Err(ScanError("mismatched brackets"));
                }
                stack >>= 1;
                depth -= 1;
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
}

/// Scans the top level of a JSON object body for the routing fields.
pub fn scan(b: &[u8]) -> Result<Fields, ScanError> {
    let mut f = Fields::default();
    let mut seen_stream = false;
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return Err(ScanError("request body must be a JSON object"));
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            if b.get(i) != Some(&b'"') {
                return Err(ScanError("expected a string key"));
            }
            let key_end = skip_string(b, i)?;
            let key_start = i;
            let raw_key = &b[i + 1..key_end - 1];
            // A key written with escapes (`"mod\u0065l"`) is the same key to
            // the provider's parser, so it must be to ours: decode it (rare,
            // allowed to allocate). Otherwise routing would see one model and
            // the provider another.
            let decoded;
            let key: &[u8] = if memchr::memchr(b'\\', raw_key).is_some() {
                decoded = unescape(raw_key).ok_or(ScanError("invalid escape in key"))?;
                decoded.as_bytes()
            } else {
                raw_key
            };
            i = skip_ws(b, key_end);
            if b.get(i) != Some(&b':') {
                return Err(ScanError("expected ':' after key"));
            }
            i = skip_ws(b, i + 1);
            let vstart = i;
            i = skip_value(b, i)?;
            match key {
                b"model" => {
                    // Parsers disagree on duplicate keys (first vs last wins):
                    // a body naming two models is refused, not guessed at.
                    if f.model.is_some() || f.model_not_string {
                        return Err(ScanError("duplicate key 'model'"));
                    }
                    f.model_not_string = b[vstart] != b'"' && &b[vstart..i] != b"null";
                    f.model = Some(vstart..i);
                }
                b"messages" => f.has_messages = true,
                b"max_completion_tokens" => f.max_completion_tokens_key = Some(key_start..key_end),
                b"max_tokens" => f.has_max_tokens = true,
                b"prompt" => f.has_prompt = true,
                b"input" => f.has_input = true,
                b"stream" => {
                    if seen_stream {
                        return Err(ScanError("duplicate key 'stream'"));
                    }
                    seen_stream = true;
                    f.stream = &b[vstart..i] == b"true";
                }
                b"stream_options" => f.stream_options = Some(vstart..i),
                b"drop_params" => {
                    f.litellm_keys = true;
                    f.drop_params = &b[vstart..i] == b"true";
                }
                b"allowed_openai_params" => {
                    f.litellm_keys = true;
                    f.allowed_params = string_bits(&b[vstart..i]);
                }
                // LiteLLM lets `n: 1` pass and treats `null` as not sent.
                b"n" if &b[vstart..i] == b"1" => {}
                _ if &b[vstart..i] == b"null" => {}
                other => f.std_params |= std_param_bit(other),
            }
            i = skip_ws(b, i);
            match b.get(i) {
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return Err(ScanError("expected ',' or '}'")),
            }
        }
    }
    if skip_ws(b, i) != b.len() {
        return Err(ScanError("trailing data after the JSON object"));
    }
    Ok(f)
}

/// The [`Fields::std_params`] bit of a top-level key, 0 for other keys. A
/// `match` (length first, then bytes), so a request pays a few compares per
/// top-level key; `tests::std_param_bits_follow_the_table` keeps it equal to
/// `providers::STANDARD_PARAMS`.
#[inline]
fn std_param_bit(key: &[u8]) -> u64 {
    let i = match key {
        b"functions" => 0,
        b"function_call" => 1,
        b"temperature" => 2,
        b"top_p" => 3,
        b"n" => 4,
        b"stream" => 5,
        b"stream_options" => 6,
        b"stop" => 7,
        b"max_tokens" => 8,
        b"max_completion_tokens" => 9,
        b"modalities" => 10,
        b"prediction" => 11,
        b"audio" => 12,
        b"presence_penalty" => 13,
        b"frequency_penalty" => 14,
        b"logit_bias" => 15,
        b"user" => 16,
        b"response_format" => 17,
        b"seed" => 18,
        b"tools" => 19,
        b"tool_choice" => 20,
        b"logprobs" => 21,
        b"top_logprobs" => 22,
        b"parallel_tool_calls" => 23,
        b"reasoning_effort" => 24,
        b"verbosity" => 25,
        b"thinking" => 26,
        b"web_search_options" => 27,
        b"safety_identifier" => 28,
        b"store" => 29,
        b"prompt_cache_key" => 30,
        b"include_server_side_tool_invocations" => 31,
        b"service_tier" => 32,
        b"context_management" => 33,
        _ => return 0,
    };
    1u64 << i
}

/// The `std_params` bits of the strings in a (validated) JSON array value.
fn string_bits(v: &[u8]) -> u64 {
    let mut bits = 0;
    let mut i = 0;
    while let Some(o) = v.get(i..).and_then(|r| memchr::memchr(b'"', r)) {
        let start = i + o;
        let Ok(end) = skip_string(v, start) else {
            break;
        };
        bits |= std_param_bit(&v[start + 1..end - 1]);
        i = end;
    }
    bits
}

/// `body` without its top-level members whose key has a bit in `mask`
/// (LiteLLM's `drop_params`) and without LiteLLM's own request keys
/// (`drop_params`, `allowed_openai_params`), which no provider takes. Rare
/// path: allocates the new body.
pub fn without_params(body: &[u8], mask: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = skip_ws(body, 0);
    if body.get(i) != Some(&b'{') {
        return body.to_vec();
    }
    out.push(b'{');
    i = skip_ws(body, i + 1);
    let mut first = true;
    while body.get(i) == Some(&b'"') {
        let start = i;
        let Ok(key_end) = skip_string(body, i) else {
            return body.to_vec();
        };
        let key = &body[i + 1..key_end - 1];
        i = skip_ws(body, key_end);
        i = skip_ws(body, i + 1);
        let Ok(end) = skip_value(body, i) else {
            return body.to_vec();
        };
        let value = &body[i..end];
        let dropped = (std_param_bit(key) & mask != 0 && !(key == b"n" && value == b"1"))
            || key == b"drop_params"
            || key == b"allowed_openai_params";
        if !dropped {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(&body[start..end]);
        }
        i = skip_ws(body, end);
        if body.get(i) == Some(&b',') {
            i = skip_ws(body, i + 1);
        }
    }
    out.push(b'}');
    out
}

/// Decodes a raw JSON string body (between quotes). Borrowed when it has no
/// escapes, which is the case for every real model name.
pub fn unescape(raw: &[u8]) -> Option<std::borrow::Cow<'_, str>> {
    if memchr::memchr(b'\\', raw).is_none() {
        return std::str::from_utf8(raw)
            .ok()
            .map(std::borrow::Cow::Borrowed);
    }
    let mut quoted = Vec::with_capacity(raw.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(raw);
    quoted.push(b'"');
    serde_json::from_slice::<String>(&quoted)
        .ok()
        .map(std::borrow::Cow::Owned)
}

/// One replacement in a body: `at` is replaced by the concatenated parts.
struct Edit<'a> {
    at: Range<usize>,
    parts: [&'a [u8]; 3],
}

/// The model edit: replace the value, or insert it as the first member
/// (Azure-style routes carry the model in the path).
fn model_edit<'a>(body: &[u8], fields: &Fields, model_json: &'a [u8]) -> Edit<'a> {
    match &fields.model {
        Some(span) => Edit {
            at: span.clone(),
            parts: [model_json, b"", b""],
        },
        None => {
            // `scan` guaranteed the body starts (after whitespace) with '{'.
            let open = body.iter().position(|&c| c == b'{').unwrap_or(0);
            let empty = body[open + 1..]
                .iter()
                .all(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'}'));
            Edit {
                at: open + 1..open + 1,
                parts: [b"\"model\":", model_json, if empty { b"" } else { b"," }],
            }
        }
    }
}

fn edits_for<'a>(
    body: &[u8],
    fields: &Fields,
    model_json: &'a [u8],
    rename_max_tokens: bool,
) -> ([Edit<'a>; 2], usize) {
    let first = model_edit(body, fields, model_json);
    let rename = match (&fields.max_completion_tokens_key, rename_max_tokens) {
        // With `max_tokens` also present a rename would duplicate the key;
        // the provider then sees both, as the client sent them.
        (Some(k), true) if !fields.has_max_tokens => Some(Edit {
            at: k.clone(),
            parts: [b"\"max_tokens\"", b"", b""],
        }),
        _ => None,
    };
    match rename {
        Some(r) if r.at.start < first.at.start => ([r, first], 2),
        Some(r) => ([first, r], 2),
        None => (
            [
                first,
                Edit {
                    at: 0..0,
                    parts: [b"", b"", b""],
                },
            ],
            1,
        ),
    }
}

/// Appends `body` to `out` with the model value replaced by `model_json` (an
/// already-quoted JSON string) and, when asked, the `max_completion_tokens`
/// key renamed to `max_tokens`. Everything else is copied byte for byte.
pub fn write_edited(
    out: &mut Vec<u8>,
    body: &[u8],
    fields: &Fields,
    model_json: &[u8],
    rename_max_tokens: bool,
) {
    let (edits, n) = edits_for(body, fields, model_json, rename_max_tokens);
    let mut cursor = 0;
    for e in &edits[..n] {
        out.extend_from_slice(&body[cursor..e.at.start]);
        for p in e.parts {
            out.extend_from_slice(p);
        }
        cursor = e.at.end;
    }
    out.extend_from_slice(&body[cursor..]);
}

/// Length of what [`write_edited`] produces (Content-Length goes first).
pub fn edited_len(
    body: &[u8],
    fields: &Fields,
    model_json: &[u8],
    rename_max_tokens: bool,
) -> usize {
    let (edits, n) = edits_for(body, fields, model_json, rename_max_tokens);
    edits[..n].iter().fold(body.len(), |len, e| {
        len - e.at.len() + e.parts.iter().map(|p| p.len()).sum::<usize>()
    })
}

/// [`write_edited`] with only the model replaced.
pub fn write_spliced(out: &mut Vec<u8>, body: &[u8], fields: &Fields, model_json: &[u8]) {
    write_edited(out, body, fields, model_json, false)
}

/// [`edited_len`] with only the model replaced.
pub fn spliced_len(body: &[u8], fields: &Fields, model_json: &[u8]) -> usize {
    edited_len(body, fields, model_json, false)
}

/// JSON-quotes a string (used at config load, not per request).
pub fn quote(s: &str) -> Vec<u8> {
    serde_json::to_vec(s).unwrap_or_else(|_| b"\"\"".to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bit(name: &str) -> u64 {
        crate::providers::param_mask(&[name])
    }

    #[test]
    fn standard_params_are_flagged_and_dropped() {
        let b = br#"{"model":"m","logit_bias":{"1":2},"messages":[],"n":1,"user":"u"}"#;
        let f = scan(b).unwrap();
        assert_ne!(bit("logit_bias"), 0);
        assert_eq!(f.std_params & bit("logit_bias"), bit("logit_bias"));
        assert_eq!(f.std_params & bit("user"), bit("user"));
        // `n: 1` passes as LiteLLM lets it; `messages` is no such parameter.
        assert_eq!(f.std_params & bit("n"), 0);
        let out = without_params(b, bit("logit_bias") | bit("user") | bit("n"));
        assert_eq!(out, br#"{"model":"m","messages":[],"n":1}"#);
        let out = without_params(br#"{ "user" : "u" , "model":"m" }"#, bit("user"));
        assert_eq!(out, br#"{"model":"m"}"#);
    }

    #[test]
    fn litellm_request_keys() {
        let b = br#"{"model":"m","drop_params":true,"allowed_openai_params":["logit_bias","x"],"logit_bias":{}}"#;
        let f = scan(b).unwrap();
        assert!(f.litellm_keys && f.drop_params);
        assert_eq!(f.allowed_params, bit("logit_bias"));
        assert_eq!(without_params(b, 0), br#"{"model":"m","logit_bias":{}}"#);
        let f = scan(br#"{"drop_params":false}"#).unwrap();
        assert!(f.litellm_keys && !f.drop_params);
    }

    #[test]
    fn std_param_bits_follow_the_table() {
        let list = crate::providers::STANDARD_PARAMS;
        assert!(list.len() <= 64);
        for (i, name) in list.iter().enumerate() {
            assert_eq!(std_param_bit(name.as_bytes()), 1u64 << i, "{name}");
        }
        assert_eq!(std_param_bit(b"messages"), 0);
        assert_eq!(std_param_bit(b"model"), 0);
        let f = scan(br#"{"logit_bias":null,"seed":1}"#).unwrap();
        assert_eq!(
            f.std_params,
            1u64 << list.iter().position(|p| *p == "seed").unwrap()
        );
    }

    #[test]
    fn finds_fields() {
        let b = br#"{"messages":[{"role":"user","content":"say \"model\": {x}"}],"model" : "gpt-4o","stream":true,"n":1.5e3}"#;
        let f = scan(b).unwrap();
        assert_eq!(f.model_raw(b), Some(&b"gpt-4o"[..]));
        assert!(f.stream);
    }

    #[test]
    fn nested_model_is_not_top_level() {
        let b = br#"{"metadata":{"model":"x"},"model":"y"}"#;
        assert_eq!(scan(b).unwrap().model_raw(b), Some(&b"y"[..]));
        let b = br#"{"metadata":{"model":"x"}}"#;
        assert_eq!(scan(b).unwrap().model, None);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            &b""[..],
            b"[]",
            b"{",
            b"{\"a\"}",
            b"{\"a\":}",
            b"{\"a\":1,}",
            b"{\"a\":[1}",
            b"{\"a\":\"x}",
            b"{\"a\":1} x",
            b"{a:1}",
            b"{\"a\":{\"b\":]}}",
        ] {
            assert!(
                scan(bad).is_err(),
                "accepted {:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(scan(deep.as_bytes()).is_err());
    }

    #[test]
    fn splice_replaces_only_model() {
        let b = br#"{ "model": "alias", "messages": [] , "x": {"model":"keep"} }"#;
        let f = scan(b).unwrap();
        let mut out = Vec::new();
        write_spliced(&mut out, b, &f, br#""gpt-4o-mini""#);
        assert_eq!(
            out,
            br#"{ "model": "gpt-4o-mini", "messages": [] , "x": {"model":"keep"} }"#.to_vec()
        );
        assert_eq!(spliced_len(b, &f, br#""gpt-4o-mini""#), out.len());
    }

    #[test]
    fn splice_inserts_when_missing() {
        for (body, want) in [
            (
                &br#"{"messages":[]}"#[..],
                &br#"{"model":"m","messages":[]}"#[..],
            ),
            (b"{ }", br#"{"model":"m" }"#),
            (b"{}", br#"{"model":"m"}"#),
        ] {
            let f = scan(body).unwrap();
            let mut out = Vec::new();
            write_spliced(&mut out, body, &f, br#""m""#);
            assert_eq!(out, want.to_vec());
            assert_eq!(spliced_len(body, &f, br#""m""#), out.len());
            serde_json::from_slice::<serde_json::Value>(&out).unwrap();
        }
    }

    #[test]
    fn spliced_body_stays_valid_json_for_many_shapes() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..500 {
            let mut obj = serde_json::Map::new();
            for k in 0..rng.usize(0..6) {
                let v = match rng.u8(0..5) {
                    0 => serde_json::json!(rng.i64(..)),
                    1 => serde_json::json!(format!("s\"\\\n{}", rng.u32(..))),
                    2 => serde_json::json!({"model": "nested", "a": [1, {"b": null}]}),
                    3 => serde_json::json!([true, false, "]}"]),
                    _ => serde_json::json!(null),
                };
                obj.insert(format!("k{k}"), v);
            }
            if rng.bool() {
                obj.insert("model".into(), serde_json::json!("orig"));
            }
            let body = serde_json::to_vec_pretty(&serde_json::Value::Object(obj.clone())).unwrap();
            let f = scan(&body).unwrap();
            let mut out = Vec::new();
            write_spliced(&mut out, &body, &f, br#""new\"m""#);
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(v["model"], "new\"m");
            for (k, val) in obj.iter().filter(|(k, _)| *k != "model") {
                assert_eq!(&v[k], val);
            }
        }
    }

    #[test]
    fn fuzz_findings_stay_fixed() {
        // A non-string model is replaced, not duplicated.
        let b = br#"{"model":[]}"#;
        let f = scan(b).unwrap();
        assert!(f.model_not_string);
        assert_eq!(f.model_raw(b), None);
        let mut out = Vec::new();
        write_spliced(&mut out, b, &f, br#""m""#);
        assert_eq!(out, br#"{"model":"m"}"#.to_vec());
        // An escaped key is the same key.
        assert!(scan(br#"{"model":"a","mod\u0065l":"b"}"#).is_err());
        let b = br#"{"mod\u0065l":"b"}"#;
        assert_eq!(scan(b).unwrap().model_raw(b), Some(&b"b"[..]));
        assert!(scan(br#"{"model":"a","stream":true,"str\u0065am":false}"#).is_err());
        assert!(scan(br#"{"model":"a","model":"b"}"#).is_err());
        // null counts as absent.
        let f = scan(br#"{"model":null}"#).unwrap();
        assert!(!f.model_not_string);
    }

    #[test]
    fn rename_max_completion_tokens() {
        let b = br#"{"max_completion_tokens":5,"model":"a","messages":[]}"#;
        let f = scan(b).unwrap();
        let mut out = Vec::new();
        write_edited(&mut out, b, &f, br#""up""#, true);
        assert_eq!(
            out,
            br#"{"max_tokens":5,"model":"up","messages":[]}"#.to_vec()
        );
        assert_eq!(edited_len(b, &f, br#""up""#, true), out.len());
        // Model before the key, and no rename when max_tokens is there too.
        let b = br#"{"model":"a","max_tokens":1,"max_completion_tokens":5}"#;
        let f = scan(b).unwrap();
        let mut out = Vec::new();
        write_edited(&mut out, b, &f, br#""up""#, true);
        assert_eq!(
            out,
            br#"{"model":"up","max_tokens":1,"max_completion_tokens":5}"#.to_vec()
        );
        let b = br#"{"messages":[],"max_completion_tokens":5}"#;
        let f = scan(b).unwrap();
        let mut out = Vec::new();
        write_edited(&mut out, b, &f, br#""up""#, true);
        assert_eq!(
            out,
            br#"{"model":"up","messages":[],"max_tokens":5}"#.to_vec()
        );
        assert_eq!(edited_len(b, &f, br#""up""#, true), out.len());
    }

    #[test]
    fn unescape_model() {
        assert_eq!(unescape(b"gpt-4o").unwrap(), "gpt-4o");
        assert_eq!(unescape(br"a\/b").unwrap(), "a/b");
    }

    /// Scan vs serde_json borrowed struct at 2 KB / 32 KB / 256 KB:
    /// `cargo test --release --lib translate::tests::measure_scan -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn measure_scan() {
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Routing<'a> {
            #[serde(borrow)]
            model: std::borrow::Cow<'a, str>,
            stream: Option<bool>,
        }
        for size in [2 * 1024, 32 * 1024, 256 * 1024] {
            let filler = "lorem ipsum \\\"quoted\\\" dolor sit amet, ".repeat(size / 40);
            let body = format!(
                r#"{{"model":"gpt-4o-mini","messages":[{{"role":"system","content":"You are helpful."}},{{"role":"user","content":"{filler}"}}],"temperature":0.2,"stream":false,"tools":[{{"type":"function","function":{{"name":"f","parameters":{{"type":"object","properties":{{"a":{{"type":"string"}}}}}}}}}}]}}"#
            );
            let b = body.as_bytes();
            let iters = (20_000_000 / b.len()).max(50);
            let t = std::time::Instant::now();
            for _ in 0..iters {
                std::hint::black_box(scan(std::hint::black_box(b)).unwrap());
            }
            let scan_ns = t.elapsed().as_nanos() as f64 / iters as f64;
            let t = std::time::Instant::now();
            for _ in 0..iters {
                let r: Routing = serde_json::from_slice(std::hint::black_box(b)).unwrap();
                std::hint::black_box(r);
            }
            let serde_ns = t.elapsed().as_nanos() as f64 / iters as f64;
            println!(
                "body {:>6} B: scan {:>9.0} ns, serde_json borrowed struct {:>9.0} ns",
                b.len(),
                scan_ns,
                serde_ns
            );
        }
    }
}
