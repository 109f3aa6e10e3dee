//! Anthropic Messages API <-> OpenAI Chat Completions, both directions,
//! non-stream and stream. Pure functions and two small stream state machines:
//! no sockets, no clocks beyond `created`, no configuration.
//!
//! What it owns and why it lives here: the gateway routes a client that
//! speaks one format to a deployment that speaks the other, exactly where
//! LiteLLM does (`llms/anthropic/chat/transformation.py` for OpenAI-in →
//! Anthropic-out, `llms/anthropic/experimental_pass_through/adapters/` for
//! Anthropic-in → OpenAI-out). The field mappings, defaults and quirks below
//! follow those files (litellm 1.106.2); the code is our own.
//!
//! * [`openai_to_anthropic_request`], [`anthropic_to_openai_response`],
//!   [`AnthropicToOpenAiStream`]: an OpenAI client calling an `anthropic/`
//!   deployment.
//! * [`anthropic_to_openai_request`], [`openai_to_anthropic_response`],
//!   [`OpenAiToAnthropicStream`]: a `/v1/messages` client calling an
//!   OpenAI-format deployment.
//! * [`anthropic_error_body`]: Anthropic's error envelope for `/v1/messages`.
//!
//! How it reads and writes: the body is read once by a validating pull
//! parser that records *byte spans* (no `serde_json::Value`, no decoded
//! `String`s), and the output is written once, straight into the caller's
//! buffer. JSON string values move between formats as their raw escaped
//! bytes (a message text with quotes and newlines is copied, never decoded
//! and re-escaped), and nested values that both formats share (tool JSON
//! schemas, `cache_control`, thinking blocks) are copied verbatim. The only
//! decoding is where the formats genuinely differ: OpenAI tool-call
//! `arguments` is a JSON *string* holding JSON, Anthropic's `input` is the
//! JSON itself, so one direction unescapes (and validates) and the other
//! escapes. The request direction allocates one small `Vec` of per-message
//! spans (messages must be seen whole to lift system prompts and merge
//! turns); a stream allocates its chunk prefix once and nothing per event.
//!
//! Validation: the whole input is checked (UTF-8, JSON grammar including
//! string escapes, control characters and number syntax, nesting ≤ 128), so
//! every span copied into the output is valid JSON and nothing can panic on
//! client- or provider-controlled input: every failure is a
//! [`TranslateError`].

use std::borrow::Cow;
use std::fmt;

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/// Why a body could not be translated. The caller turns it into a 400 (a
/// client request) or a 500 (a provider answer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TranslateError {
    /// Not well-formed JSON (or not UTF-8); `at` is the byte offset.
    Json { at: usize, what: &'static str },
    /// Well-formed JSON, but not an object.
    NotObject,
    /// A required top-level field is absent.
    Missing(&'static str),
    /// A field has a shape the other format cannot express; the message is
    /// meant for the client.
    Invalid(String),
}

impl fmt::Display for TranslateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TranslateError::Json { at, what } => {
                write!(f, "Invalid JSON payload: {what} at byte {at}")
            }
            TranslateError::NotObject => f.write_str("request body must be a JSON object"),
            TranslateError::Missing(p) => write!(f, "Missing required parameter: '{p}'."),
            TranslateError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for TranslateError {}

impl TranslateError {
    /// The parameter the error is about, for the OpenAI envelope's `param`.
    pub fn param(&self) -> Option<&'static str> {
        match self {
            TranslateError::Missing(p) => Some(p),
            TranslateError::Json { .. } => Some("request_body"),
            _ => None,
        }
    }
}

fn invalid<T>(msg: impl Into<String>) -> Result<T, TranslateError> {
    Err(TranslateError::Invalid(msg.into()))
}

/// What the request translation learned that the response side needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReqInfo {
    /// The client asked for a stream (`"stream": true`).
    pub stream: bool,
    /// The client's stream should end with a usage chunk / event. For
    /// OpenAI-in it is the client's `stream_options.include_usage`; for
    /// Anthropic-in it is always true when streaming (Anthropic streams
    /// always report usage, so the OpenAI upstream is asked for it).
    pub include_usage: bool,
}

/// Token counts in OpenAI's terms: `prompt_tokens` includes cached and
/// cache-creation tokens, as LiteLLM counts them for Anthropic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Anthropic `cache_read_input_tokens` / OpenAI `cached_tokens`.
    pub cache_read_tokens: u64,
    /// Anthropic `cache_creation_input_tokens`.
    pub cache_creation_tokens: u64,
}

/// LiteLLM's `DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS`: Anthropic requires
/// `max_tokens`, and LiteLLM fills it with this when the model is not in its
/// cost map.
pub const DEFAULT_ANTHROPIC_MAX_TOKENS: u64 = 4096;

/// The `max_tokens` LiteLLM sends when an OpenAI client gave none: the
/// model's `max_output_tokens` from LiteLLM's cost map (entries whose
/// provider is `anthropic`, 1.106.2), else [`DEFAULT_ANTHROPIC_MAX_TOKENS`].
/// Older models (claude-3-*, claude-sonnet-4, claude-opus-4-1) are not in
/// that map and get 4096 there too.
pub fn default_max_tokens(upstream_model: &str) -> u64 {
    const TABLE: &[(&str, u64)] = &[
        ("claude-haiku-4-5", 64_000),
        ("claude-haiku-4-5-20251001", 64_000),
        ("claude-sonnet-4-5", 64_000),
        ("claude-sonnet-4-5-20250929", 64_000),
        ("claude-opus-4-5", 64_000),
        ("claude-opus-4-5-20251101", 64_000),
        ("claude-sonnet-4-6", 128_000),
        ("claude-opus-4-6", 128_000),
        ("claude-opus-4-6-20260205", 128_000),
        ("claude-opus-4-7", 128_000),
        ("claude-opus-4-7-20260416", 128_000),
        ("claude-opus-4-8", 128_000),
        ("claude-sonnet-5", 128_000),
        ("claude-sonnet-5-5", 128_000),
        ("claude-opus-5", 128_000),
        ("claude-opus-5-5", 128_000),
        ("claude-haiku-5-5", 128_000),
        ("claude-fable-5", 128_000),
        ("claude-fable-5-1", 128_000),
        ("claude-mythos-5", 128_000),
        ("claude-mythos-5-1", 128_000),
        ("claude-mythos-preview", 128_000),
    ];
    let m = upstream_model
        .strip_prefix("anthropic/")
        .unwrap_or(upstream_model);
    TABLE
        .iter()
        .find(|(name, _)| *name == m)
        .map_or(DEFAULT_ANTHROPIC_MAX_TOKENS, |(_, n)| *n)
}

// ---------------------------------------------------------------------------
// Reading JSON: a validating pull parser that yields spans, and cheap
// navigation over spans it has already validated.
// ---------------------------------------------------------------------------

type Res<T> = Result<T, TranslateError>;

/// Deepest nesting accepted inside one value (serde_json's default limit).
const MAX_DEPTH: u32 = 128;

/// The exact bytes of one JSON value that [`Strict`] has validated.
#[derive(Clone, Copy, Debug)]
struct Val<'a>(&'a [u8]);

/// The body of a JSON string (between its quotes), escapes as they were.
/// Copying it between quotes yields the same string.
#[derive(Clone, Copy, Debug)]
struct Str<'a>(&'a [u8]);

#[inline]
fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

#[inline]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|&c| is_ws(c)) {
        i += 1;
    }
    i
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// `i` is just after an opening quote; returns the index after the closing
/// one, or the offset of the first invalid byte. Eight bytes at a time: a
/// word without `"`, `\` or a control byte is skipped in one step.
fn strict_string_end(b: &[u8], mut i: usize) -> Result<usize, usize> {
    loop {
        while let Some(chunk) = b.get(i..i + 8) {
            let mut a = [0u8; 8];
            a.copy_from_slice(chunk);
            let w = u64::from_le_bytes(a);
            let q = w ^ (LO * u64::from(b'"'));
            let s = w ^ (LO * u64::from(b'\\'));
            let m = ((q.wrapping_sub(LO) & !q)
                | (s.wrapping_sub(LO) & !s)
                | (w.wrapping_sub(LO * 0x20) & !w))
                & HI;
            if m != 0 {
                // The lowest flagged byte is exact (borrows only run upwards).
                i += (m.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        match b.get(i) {
            None => return Err(i),
            Some(b'"') => return Ok(i + 1),
            Some(b'\\') => match b.get(i + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                Some(b'u') => {
                    let hex = b.get(i + 2..i + 6).ok_or(i)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return Err(i);
                    }
                    i += 6;
                }
                _ => return Err(i),
            },
            Some(&c) if c < 0x20 => return Err(i),
            Some(_) => i += 1,
        }
    }
}

/// Validating pull parser over a whole body. Values the caller does not
/// descend into are validated and returned as spans by [`Strict::value`].
struct Strict<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Strict<'a> {
    fn new(b: &'a [u8]) -> Self {
        Strict { b, i: 0 }
    }

    fn fail<T>(&self, what: &'static str) -> Res<T> {
        Err(TranslateError::Json { at: self.i, what })
    }

    fn peek(&mut self) -> Option<u8> {
        self.i = skip_ws(self.b, self.i);
        self.b.get(self.i).copied()
    }

    /// At an opening quote.
    fn string(&mut self) -> Res<Str<'a>> {
        let start = self.i + 1;
        match strict_string_end(self.b, start) {
            Ok(end) => {
                self.i = end;
                Ok(Str(self.b.get(start..end - 1).unwrap_or_default()))
            }
            Err(at) => Err(TranslateError::Json {
                at,
                what: "invalid or unterminated string",
            }),
        }
    }

    fn literal(&mut self, lit: &[u8]) -> Res<()> {
        if self.b.get(self.i..self.i + lit.len()) == Some(lit) {
            self.i += lit.len();
            Ok(())
        } else {
            self.fail("invalid literal")
        }
    }

    fn digits(&mut self) -> Res<()> {
        let start = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        if self.i == start {
            return self.fail("invalid number");
        }
        Ok(())
    }

    fn number(&mut self) -> Res<()> {
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => self.digits()?,
            _ => return self.fail("invalid number"),
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            self.digits()?;
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            self.digits()?;
        }
        Ok(())
    }

    /// A member key and its `:`, inside [`Strict::value`].
    fn member_key(&mut self) -> Res<()> {
        if self.peek() != Some(b'"') {
            return self.fail("expected a string key");
        }
        self.string()?;
        if self.peek() != Some(b':') {
            return self.fail("expected ':' after key");
        }
        self.i += 1;
        Ok(())
    }

    /// Validates one value and returns its span. Iterative (a bit stack of
    /// open containers), so hostile nesting costs no native stack.
    fn value(&mut self) -> Res<Val<'a>> {
        let start = skip_ws(self.b, self.i);
        let mut stack: u128 = 0; // 1 = object
        let mut depth: u32 = 0;
        'value: loop {
            match self.peek() {
                Some(open @ (b'{' | b'[')) => {
                    self.i += 1;
                    let close = if open == b'{' { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.i += 1;
                    } else {
                        if depth >= MAX_DEPTH {
                            return self.fail("nesting too deep");
                        }
                        stack = (stack << 1) | u128::from(open == b'{');
                        depth += 1;
                        if open == b'{' {
                            self.member_key()?;
                        }
                        continue 'value;
                    }
                }
                Some(b'"') => {
                    self.string()?;
                }
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                _ => return self.fail("expected a value"),
            }
            loop {
                if depth == 0 {
                    return Ok(Val(self.b.get(start..self.i).unwrap_or_default()));
                }
                let in_obj = stack & 1 == 1;
                match self.peek() {
                    Some(b',') => {
                        self.i += 1;
                        if in_obj {
                            self.member_key()?;
                        }
                        continue 'value;
                    }
                    Some(b'}') if in_obj => {}
                    Some(b']') if !in_obj => {}
                    _ => return self.fail("expected ',' or a closing bracket"),
                }
                self.i += 1;
                stack >>= 1;
                depth -= 1;
            }
        }
    }

    fn begin_object(&mut self) -> Res<bool> {
        if self.peek() != Some(b'{') {
            return Ok(false);
        }
        self.i += 1;
        Ok(true)
    }

    /// The next key of the object being read (consuming its `:`), or `None`
    /// after the closing brace.
    fn key(&mut self, first: &mut bool) -> Res<Option<Str<'a>>> {
        match self.peek() {
            Some(b'}') => {
                self.i += 1;
                return Ok(None);
            }
            Some(b',') if !*first => {
                self.i += 1;
                if self.peek() != Some(b'"') {
                    return self.fail("expected a string key");
                }
            }
            Some(b'"') if *first => {}
            _ if *first => return self.fail("expected a string key"),
            _ => return self.fail("expected ',' or '}'"),
        }
        *first = false;
        let k = self.string()?;
        if self.peek() != Some(b':') {
            return self.fail("expected ':' after key");
        }
        self.i += 1;
        Ok(Some(k))
    }

    fn begin_array(&mut self) -> Res<bool> {
        if self.peek() != Some(b'[') {
            return Ok(false);
        }
        self.i += 1;
        Ok(true)
    }

    /// Whether another element follows (consuming its `,`).
    fn elem(&mut self, first: &mut bool) -> Res<bool> {
        match self.peek() {
            Some(b']') => {
                self.i += 1;
                Ok(false)
            }
            Some(b',') if !*first => {
                self.i += 1;
                if self.peek() == Some(b']') {
                    return self.fail("expected a value");
                }
                Ok(true)
            }
            Some(_) if *first => {
                *first = false;
                Ok(true)
            }
            _ => self.fail("expected ',' or ']'"),
        }
    }

    fn end(&mut self) -> Res<()> {
        if self.peek().is_some() {
            return self.fail("trailing data after the JSON value");
        }
        Ok(())
    }
}

fn check_utf8(body: &[u8]) -> Res<()> {
    std::str::from_utf8(body)
        .map(|_| ())
        .map_err(|e| TranslateError::Json {
            at: e.valid_up_to(),
            what: "invalid UTF-8",
        })
}

/// Validates a whole body that must be one JSON object.
fn parse_root(body: &[u8]) -> Res<Val<'_>> {
    check_utf8(body)?;
    let mut p = Strict::new(body);
    if p.peek().is_none() {
        return Err(TranslateError::Json {
            at: 0,
            what: "empty body",
        });
    }
    let v = p.value()?;
    p.end()?;
    if !v.is_obj() {
        return Err(TranslateError::NotObject);
    }
    Ok(v)
}

/// Validates `b` as exactly one JSON value (UTF-8 already known).
fn is_valid_json(b: &[u8]) -> bool {
    let mut p = Strict::new(b);
    p.value().is_ok() && p.end().is_ok()
}

// Navigation over validated spans: no error paths are reachable, so these
// return `Option`/end the iteration instead of erroring.

/// `i` is just after an opening quote; returns the index after the closing.
fn skip_str(b: &[u8], mut i: usize) -> usize {
    loop {
        let Some(rest) = b.get(i..) else {
            return b.len();
        };
        match memchr::memchr2(b'"', b'\\', rest) {
            None => return b.len(),
            Some(o) => {
                let j = i + o;
                if b.get(j) == Some(&b'"') {
                    return j + 1;
                }
                i = j + 2;
            }
        }
    }
}

/// `i` is at the first byte of a value; returns the index after it.
fn skip_val(b: &[u8], mut i: usize) -> usize {
    match b.get(i) {
        Some(b'"') => return skip_str(b, i + 1),
        Some(b'{' | b'[') => {}
        Some(_) => {
            while b
                .get(i)
                .is_some_and(|&c| !matches!(c, b',' | b'}' | b']') && !is_ws(c))
            {
                i += 1;
            }
            return i;
        }
        None => return b.len(),
    }
    let mut depth = 0usize;
    loop {
        match b.get(i) {
            None => return b.len(),
            Some(b'"') => {
                i = skip_str(b, i + 1);
                continue;
            }
            Some(b'{' | b'[') => depth += 1,
            Some(b'}' | b']') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            Some(_) => {}
        }
        i += 1;
    }
}

/// Members of a validated object.
struct Members<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Iterator for Members<'a> {
    type Item = (Str<'a>, Val<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        let b = self.b;
        let mut i = skip_ws(b, self.i);
        if b.get(i) == Some(&b',') {
            i = skip_ws(b, i + 1);
        }
        if b.get(i) != Some(&b'"') {
            self.i = b.len();
            return None;
        }
        let kend = skip_str(b, i + 1);
        let key = Str(b.get(i + 1..kend.checked_sub(1)?)?);
        let mut j = skip_ws(b, kend);
        if b.get(j) != Some(&b':') {
            self.i = b.len();
            return None;
        }
        j = skip_ws(b, j + 1);
        let vend = skip_val(b, j);
        self.i = vend;
        Some((key, Val(b.get(j..vend)?)))
    }
}

/// Elements of a validated array.
struct Elems<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Iterator for Elems<'a> {
    type Item = Val<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        let b = self.b;
        let mut i = skip_ws(b, self.i);
        if b.get(i) == Some(&b',') {
            i = skip_ws(b, i + 1);
        }
        match b.get(i) {
            None | Some(b']') => {
                self.i = b.len();
                None
            }
            Some(_) => {
                let end = skip_val(b, i);
                self.i = end;
                Some(Val(b.get(i..end)?))
            }
        }
    }
}

impl<'a> Val<'a> {
    fn first(self) -> u8 {
        self.0.first().copied().unwrap_or(b'n')
    }
    fn is_obj(self) -> bool {
        self.first() == b'{'
    }
    fn is_arr(self) -> bool {
        self.first() == b'['
    }
    fn is_null(self) -> bool {
        self.0 == b"null"
    }
    fn is_num(self) -> bool {
        matches!(self.first(), b'-' | b'0'..=b'9')
    }
    fn members(self) -> Members<'a> {
        if self.is_obj() {
            Members { b: self.0, i: 1 }
        } else {
            Members { b: &[], i: 0 }
        }
    }
    fn elems(self) -> Elems<'a> {
        if self.is_arr() {
            Elems { b: self.0, i: 1 }
        } else {
            Elems { b: &[], i: 0 }
        }
    }
    fn str(self) -> Option<Str<'a>> {
        if self.first() == b'"' && self.0.len() >= 2 {
            self.0.get(1..self.0.len() - 1).map(Str)
        } else {
            None
        }
    }
    fn bool(self) -> Option<bool> {
        match self.0 {
            b"true" => Some(true),
            b"false" => Some(false),
            _ => None,
        }
    }
    /// A member by key (the last one wins, as in Python's `json`).
    fn get(self, key: &str) -> Option<Val<'a>> {
        let mut found = None;
        for (k, v) in self.members() {
            if k.is(key) {
                found = Some(v);
            }
        }
        found
    }
    fn get_str(self, key: &str) -> Option<Str<'a>> {
        self.get(key).and_then(Val::str)
    }
    /// A non-null member.
    fn get_some(self, key: &str) -> Option<Val<'a>> {
        self.get(key).filter(|v| !v.is_null())
    }
    fn num(self) -> Option<f64> {
        if !self.is_num() {
            return None;
        }
        std::str::from_utf8(self.0).ok()?.parse().ok()
    }
    /// A token count: non-negative integers (floats rounded), else 0.
    fn count(self) -> u64 {
        match self.num() {
            Some(n) if n > 0.0 && n.is_finite() => n.round() as u64,
            _ => 0,
        }
    }
}

impl<'a> Str<'a> {
    fn has_escapes(self) -> bool {
        memchr::memchr(b'\\', self.0).is_some()
    }
    /// The decoded bytes (borrowed when there is nothing to decode).
    fn decoded(self) -> Option<Cow<'a, [u8]>> {
        if !self.has_escapes() {
            return Some(Cow::Borrowed(self.0));
        }
        let mut v = Vec::with_capacity(self.0.len());
        unescape_into(&mut v, self.0).ok()?;
        Some(Cow::Owned(v))
    }
    /// Whether the decoded string equals `s`.
    fn is(self, s: &str) -> bool {
        if !self.has_escapes() {
            return self.0 == s.as_bytes();
        }
        self.decoded().is_some_and(|d| *d == *s.as_bytes())
    }
    fn is_empty(self) -> bool {
        self.0.is_empty()
    }
    /// Empty or only whitespace once decoded (Python's `not s.strip()`).
    fn is_blank(self) -> bool {
        if !self.has_escapes() && self.0.is_ascii() {
            return self.0.iter().all(|c| c.is_ascii_whitespace());
        }
        match self.decoded() {
            Some(d) => std::str::from_utf8(&d).is_ok_and(|s| s.trim().is_empty()),
            None => false,
        }
    }
    fn starts_with(self, p: &[u8]) -> bool {
        self.0.starts_with(p)
    }
}

fn hex4(h: Option<&[u8]>) -> Result<u32, ()> {
    let h = h.ok_or(())?;
    let mut v = 0u32;
    for &c in h {
        let d = (c as char).to_digit(16).ok_or(())?;
        v = v * 16 + d;
    }
    Ok(v)
}

/// Appends the decoded form of a raw JSON string body.
fn unescape_into(out: &mut Vec<u8>, raw: &[u8]) -> Result<(), ()> {
    let mut i = 0;
    while let Some(rest) = raw.get(i..) {
        let Some(o) = memchr::memchr(b'\\', rest) else {
            out.extend_from_slice(rest);
            return Ok(());
        };
        out.extend_from_slice(&rest[..o]);
        let j = i + o;
        let c = *raw.get(j + 1).ok_or(())?;
        i = j + 2;
        let byte = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let hi = hex4(raw.get(i..i + 4))?;
                i += 4;
                let cp = if (0xD800..0xDC00).contains(&hi) {
                    if raw.get(i..i + 2) != Some(b"\\u") {
                        return Err(());
                    }
                    let lo = hex4(raw.get(i + 2..i + 6))?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return Err(());
                    }
                    i += 6;
                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                } else {
                    hi
                };
                let ch = char::from_u32(cp).ok_or(())?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            _ => return Err(()),
        };
        out.push(byte);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Writing JSON
// ---------------------------------------------------------------------------

/// Appends `s` JSON-escaped (without quotes).
fn push_escaped(out: &mut Vec<u8>, s: &[u8]) {
    let mut start = 0;
    for (i, &c) in s.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                out.extend_from_slice(&s[start..i]);
                out.extend_from_slice(b"\\u00");
                out.push(b"0123456789abcdef"[usize::from(c >> 4)]);
                out.push(b"0123456789abcdef"[usize::from(c & 15)]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&s[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
}

/// Appends `s` as a quoted JSON string.
fn push_quoted(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    push_escaped(out, s);
    out.push(b'"');
}

/// Appends a raw string body between quotes.
fn push_raw(out: &mut Vec<u8>, s: Str<'_>) {
    out.push(b'"');
    out.extend_from_slice(s.0);
    out.push(b'"');
}

fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends a random version-4 UUID (36 characters).
fn push_uuid(out: &mut Vec<u8>) {
    let a = fastrand::u64(..);
    let b = fastrand::u64(..);
    let a = (a & !0xF000) | 0x4000; // version 4 in bits 12..16 of the low half of a
    let b = (b & !(0xC000 << 48)) | (0x8000 << 48); // variant 10
    let bytes: [u8; 16] = {
        let mut v = [0u8; 16];
        v[..8].copy_from_slice(&a.to_be_bytes());
        v[8..].copy_from_slice(&b.to_be_bytes());
        v
    };
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        out.push(b"0123456789abcdef"[usize::from(byte >> 4)]);
        out.push(b"0123456789abcdef"[usize::from(byte & 15)]);
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Appends a tool-use id with every character outside `[A-Za-z0-9_-]`
/// replaced by `_` (Anthropic's pattern; LiteLLM's
/// `_sanitize_anthropic_tool_use_id`), or `tool_use_id` when empty.
fn push_sanitized_id(out: &mut Vec<u8>, id: Str<'_>) {
    let decoded = id.decoded().unwrap_or(Cow::Borrowed(id.0));
    if decoded.is_empty() {
        out.extend_from_slice(b"\"tool_use_id\"");
        return;
    }
    out.push(b'"');
    for &c in decoded.iter() {
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' {
            out.push(c);
        } else if !(0x80..0xC0).contains(&c) {
            // One `_` per character: UTF-8 continuation bytes add nothing.
            out.push(b'_');
        }
    }
    out.push(b'"');
}

// ---------------------------------------------------------------------------
// OpenAI chat request -> Anthropic /v1/messages request
// ---------------------------------------------------------------------------

/// The text LiteLLM puts in place of an empty or whitespace-only user or
/// assistant text (Anthropic rejects empty text blocks).
const EMPTY_TEXT_PLACEHOLDER: &[u8] =
    b"[System: Empty message content sanitised to satisfy protocol]";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OaRole {
    System,
    User,
    Assistant,
    Tool,
    Function,
}

/// One OpenAI message, as spans.
#[derive(Clone, Copy, Debug)]
struct OaMsg<'a> {
    role: OaRole,
    content: Option<Val<'a>>,
    tool_calls: Option<Val<'a>>,
    tool_call_id: Option<Val<'a>>,
    cache_control: Option<Val<'a>>,
    thinking_blocks: Option<Val<'a>>,
}

/// The top-level OpenAI fields the translation uses.
#[derive(Default)]
struct OaReq<'a> {
    has_messages: bool,
    max_tokens: Option<Val<'a>>,
    stop: Option<Val<'a>>,
    temperature: Option<Val<'a>>,
    top_p: Option<Val<'a>>,
    top_k: Option<Val<'a>>,
    stream: bool,
    include_usage: bool,
    tools: Option<Val<'a>>,
    tool_choice: Option<Val<'a>>,
    parallel_tool_calls: Option<bool>,
    user: Option<Val<'a>>,
    metadata: Option<Val<'a>>,
    thinking: Option<Val<'a>>,
    reasoning_effort: Option<Val<'a>>,
}

fn parse_oa_messages<'a>(p: &mut Strict<'a>, msgs: &mut Vec<OaMsg<'a>>) -> Res<()> {
    msgs.clear();
    if !p.begin_array()? {
        p.value()?;
        return invalid("Invalid request format: 'messages' must be an array");
    }
    let mut first = true;
    while p.elem(&mut first)? {
        if !p.begin_object()? {
            p.value()?;
            return invalid(format!(
                "Invalid Message passed in: messages[{}] must be an object",
                msgs.len()
            ));
        }
        let mut role = None;
        let mut m = OaMsg {
            role: OaRole::User,
            content: None,
            tool_calls: None,
            tool_call_id: None,
            cache_control: None,
            thinking_blocks: None,
        };
        let mut f = true;
        while let Some(k) = p.key(&mut f)? {
            let v = p.value()?;
            let v = if v.is_null() { None } else { Some(v) };
            match k.0 {
                b"role" => role = v,
                b"content" => m.content = v,
                b"tool_calls" => m.tool_calls = v,
                b"tool_call_id" => m.tool_call_id = v,
                b"cache_control" => m.cache_control = v,
                b"thinking_blocks" => m.thinking_blocks = v,
                _ => {}
            }
        }
        let r = role.and_then(Val::str);
        m.role = match r {
            Some(r) if r.is("user") => OaRole::User,
            Some(r) if r.is("assistant") => OaRole::Assistant,
            Some(r) if r.is("system") || r.is("developer") => OaRole::System,
            Some(r) if r.is("tool") => OaRole::Tool,
            Some(r) if r.is("function") => OaRole::Function,
            _ => {
                return invalid(format!(
                    "Invalid Message passed in: messages[{}] has a missing or unknown role",
                    msgs.len()
                ))
            }
        };
        msgs.push(m);
    }
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Turn {
    User,
    Assistant,
}

/// Writes Anthropic `messages`, merging consecutive same-role turns as
/// Anthropic requires (OpenAI `tool`/`function` results are user turns).
struct Turns {
    open: Option<Turn>,
    written: usize,
    /// Spans in `out` of the text bodies of the open assistant turn, to strip
    /// trailing whitespace if it is the last turn (Anthropic rejects a final
    /// assistant text ending in whitespace).
    texts: Vec<(usize, usize)>,
    /// Spans in `out` of the tool-use ids of the open assistant turn (ids
    /// must be unique within a turn; LiteLLM drops repeats).
    tool_ids: Vec<(usize, usize)>,
}

impl Turns {
    fn new() -> Self {
        Turns {
            open: None,
            written: 0,
            texts: Vec::new(),
            tool_ids: Vec::new(),
        }
    }

    /// Opens the turn if needed and writes the separator for the next block.
    fn block(&mut self, out: &mut Vec<u8>, turn: Turn) {
        if self.open == Some(turn) {
            out.push(b',');
            return;
        }
        if self.open.is_some() {
            out.extend_from_slice(b"]}");
        }
        if self.written > 0 {
            out.push(b',');
        }
        out.extend_from_slice(match turn {
            Turn::User => b"{\"role\":\"user\",\"content\":[",
            Turn::Assistant => b"{\"role\":\"assistant\",\"content\":[",
        });
        self.open = Some(turn);
        self.written += 1;
        self.texts.clear();
        self.tool_ids.clear();
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        if self.open == Some(Turn::Assistant) {
            for &(s, e) in self.texts.iter().rev() {
                let keep = rstrip_raw(out.get(s..e).unwrap_or_default());
                out.drain(s + keep..e);
            }
        }
        if self.open.is_some() {
            out.extend_from_slice(b"]}");
        }
        self.open = None;
    }
}

/// Length of a raw JSON string body without trailing whitespace (spaces and
/// the `\n`, `\r`, `\t` escapes).
fn rstrip_raw(raw: &[u8]) -> usize {
    let mut e = raw.len();
    loop {
        if e >= 1 && raw[e - 1] == b' ' {
            e -= 1;
            continue;
        }
        if e >= 2 && matches!(raw[e - 1], b'n' | b'r' | b't') && raw[e - 2] == b'\\' {
            // A real escape only if the backslash run before the letter is odd.
            let run = raw[..e - 1]
                .iter()
                .rev()
                .take_while(|&&c| c == b'\\')
                .count();
            if run % 2 == 1 {
                e -= 2;
                continue;
            }
        }
        return e;
    }
}

/// Writes a text block; `text` is a raw string body.
fn an_text_block(out: &mut Vec<u8>, turns: &mut Turns, text: Str<'_>, cc: Option<Val<'_>>) {
    out.extend_from_slice(b"{\"type\":\"text\",\"text\":\"");
    let s = out.len();
    if text.is_blank() {
        out.extend_from_slice(EMPTY_TEXT_PLACEHOLDER);
    } else {
        out.extend_from_slice(text.0);
    }
    if turns.open == Some(Turn::Assistant) {
        turns.texts.push((s, out.len()));
    }
    out.push(b'"');
    push_cache_control(out, cc);
    out.push(b'}');
}

fn push_cache_control(out: &mut Vec<u8>, cc: Option<Val<'_>>) {
    if let Some(cc) = cc.filter(|v| v.is_obj()) {
        out.extend_from_slice(b",\"cache_control\":");
        out.extend_from_slice(cc.0);
    }
}

/// A `data:` URL split into media type and base64 payload (raw bodies).
fn split_data_url(url: Str<'_>) -> Option<(Str<'_>, Str<'_>)> {
    let rest = url.0.strip_prefix(b"data:")?;
    let at = memchr::memmem::find(rest, b";base64,")?;
    Some((Str(&rest[..at]), Str(&rest[at + 8..])))
}

/// An OpenAI image URL (or `file_data`) as an Anthropic `image` or
/// `document` block: `data:` URLs become base64 sources (PDF and plain text
/// become documents), http(s) URLs become URL sources. LiteLLM downloads
/// `http://` images and inlines them; a pure translation cannot, so both
/// schemes are passed as URLs.
fn an_media_block(
    out: &mut Vec<u8>,
    url: Str<'_>,
    format: Option<Str<'_>>,
    force_document: bool,
    cc: Option<Val<'_>>,
) -> Res<()> {
    if url.starts_with(b"https://") || url.starts_with(b"http://") {
        out.extend_from_slice(if force_document {
            b"{\"type\":\"document\",\"source\":{\"type\":\"url\",\"url\":"
        } else {
            b"{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":"
        });
        push_raw(out, url);
    } else if let Some((media, data)) = split_data_url(url) {
        let media = format.unwrap_or(media);
        let document = force_document || media.is("application/pdf") || media.is("text/plain");
        out.extend_from_slice(if document {
            b"{\"type\":\"document\",\"source\":{\"type\":\"base64\",\"media_type\":"
        } else {
            b"{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":"
        });
        push_raw(out, media);
        out.extend_from_slice(b",\"data\":");
        push_raw(out, data);
    } else {
        return invalid(
            "Image url not in expected format. Example Expected input - \"image_url\": \"data:image/jpeg;base64,{base64_image}\". Supported formats - ['image/jpeg', 'image/png', 'image/gif', 'image/webp'].",
        );
    }
    out.push(b'}');
    push_cache_control(out, cc);
    out.push(b'}');
    Ok(())
}

/// `{"type":"image_url","image_url":"..."|{"url":"...","format":...}}`.
fn an_image_part(out: &mut Vec<u8>, part: Val<'_>) -> Res<()> {
    let iu = part.get("image_url");
    let (url, format) = match iu {
        Some(v) if v.str().is_some() => (v.str(), None),
        Some(v) => (v.get_str("url"), v.get_str("format")),
        None => (None, None),
    };
    let Some(url) = url else {
        return invalid("image_url content part is missing its url");
    };
    an_media_block(out, url, format, false, part.get("cache_control"))
}

/// `{"type":"file","file":{"file_data"|"file_id", "format"?}}`.
fn an_file_part(out: &mut Vec<u8>, part: Val<'_>) -> Res<()> {
    let Some(file) = part.get("file").filter(|v| v.is_obj()) else {
        return invalid("Content block has type='file' but is missing the required 'file' field");
    };
    let format = file.get_str("format");
    let cc = part.get("cache_control");
    if let Some(data) = file.get_str("file_data").filter(|s| !s.is_empty()) {
        let is_image = format.is_some_and(|f| f.starts_with(b"image/"));
        return an_media_block(out, data, format, !is_image, cc);
    }
    if let Some(id) = file.get_str("file_id").filter(|s| !s.is_empty()) {
        let image = format.is_some_and(|f| f.starts_with(b"image/"));
        out.extend_from_slice(if image {
            b"{\"type\":\"image\",\"source\":{\"type\":\"file\",\"file_id\":"
        } else {
            b"{\"type\":\"document\",\"source\":{\"type\":\"file\",\"file_id\":"
        });
        push_raw(out, id);
        out.push(b'}');
        push_cache_control(out, cc);
        out.push(b'}');
        return Ok(());
    }
    invalid("Either file_data or file_id must be present in the file message")
}

fn part_type(part: Val<'_>) -> Option<Str<'_>> {
    part.get_str("type")
}

fn an_user_message(out: &mut Vec<u8>, turns: &mut Turns, m: &OaMsg<'_>) -> Res<()> {
    let Some(content) = m.content else {
        return Ok(());
    };
    if let Some(text) = content.str() {
        turns.block(out, Turn::User);
        an_text_block(out, turns, text, m.cache_control);
        return Ok(());
    }
    if !content.is_arr() {
        return invalid("Invalid Message passed in: user content must be a string or an array");
    }
    for part in content.elems() {
        let Some(ty) = part_type(part) else { continue };
        if ty.is("text") {
            let text = part.get_str("text").unwrap_or(Str(b""));
            turns.block(out, Turn::User);
            an_text_block(out, turns, text, part.get("cache_control"));
        } else if ty.is("image_url") {
            turns.block(out, Turn::User);
            an_image_part(out, part)?;
        } else if ty.is("file") {
            turns.block(out, Turn::User);
            an_file_part(out, part)?;
        } else if ty.is("document") && part.is_obj() {
            // Already an Anthropic document block: LiteLLM passes it as is.
            turns.block(out, Turn::User);
            out.extend_from_slice(part.0);
        }
        // input_audio and unknown parts: Anthropic has no equivalent; dropped.
    }
    Ok(())
}

fn an_tool_result(out: &mut Vec<u8>, turns: &mut Turns, m: &OaMsg<'_>) -> Res<()> {
    let id = m.tool_call_id.and_then(Val::str);
    if id.is_none() && m.role == OaRole::Tool {
        return invalid("Invalid Message passed in: tool message is missing 'tool_call_id'");
    }
    turns.block(out, Turn::User);
    out.extend_from_slice(b"{\"type\":\"tool_result\",\"tool_use_id\":");
    match id {
        Some(id) => push_sanitized_id(out, id),
        None => {
            out.extend_from_slice(b"\"toolu_");
            push_uuid(out);
            out.push(b'"');
        }
    }
    out.extend_from_slice(b",\"content\":");
    match m.content {
        Some(c) if c.str().is_some() => out.extend_from_slice(c.0),
        Some(c) if c.is_arr() => {
            out.push(b'[');
            let mut n = 0;
            for part in c.elems() {
                let Some(ty) = part_type(part) else { continue };
                let mark = out.len();
                if n > 0 {
                    out.push(b',');
                }
                if ty.is("text") {
                    out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
                    push_raw(out, part.get_str("text").unwrap_or(Str(b"")));
                    push_cache_control(out, part.get("cache_control"));
                    out.push(b'}');
                } else if ty.is("image_url") {
                    an_image_part(out, part)?;
                } else if ty.is("file") {
                    an_file_part(out, part)?;
                } else {
                    out.truncate(mark);
                    continue;
                }
                n += 1;
            }
            out.push(b']');
        }
        _ => out.extend_from_slice(b"\"\""),
    }
    push_cache_control(out, m.cache_control);
    out.push(b'}');
    Ok(())
}

/// OpenAI tool-call `arguments` (a JSON string holding JSON) as Anthropic
/// `input` (the JSON itself): decoded straight into `out`, then validated.
fn an_tool_input(out: &mut Vec<u8>, args: Option<Val<'_>>) -> Res<()> {
    let Some(args) = args.filter(|v| !v.is_null()) else {
        out.extend_from_slice(b"{}");
        return Ok(());
    };
    if args.is_obj() {
        out.extend_from_slice(args.0);
        return Ok(());
    }
    let Some(s) = args.str() else {
        return invalid("tool call 'arguments' must be a JSON string");
    };
    if s.is_blank() {
        out.extend_from_slice(b"{}");
        return Ok(());
    }
    let mark = out.len();
    let ok = unescape_into(out, s.0).is_ok()
        && out
            .get(mark..)
            .is_some_and(|d| std::str::from_utf8(d).is_ok() && is_valid_json(d));
    if !ok {
        out.truncate(mark);
        return invalid("tool call 'arguments' is not valid JSON");
    }
    Ok(())
}

fn an_assistant_message(out: &mut Vec<u8>, turns: &mut Turns, m: &OaMsg<'_>) -> Res<()> {
    let has_tool_calls = m.tool_calls.is_some_and(|t| t.elems().next().is_some());
    let list_has_thinking = m.content.is_some_and(|c| {
        c.elems()
            .any(|p| part_type(p).is_some_and(|t| t.is("thinking") || t.is("redacted_thinking")))
    });
    // Thinking blocks go first (Anthropic verifies their position). Blocks
    // without a signature cannot be replayed and are dropped, as LiteLLM does.
    if let Some(tb) = m.thinking_blocks.filter(|_| !list_has_thinking) {
        for b in tb.elems() {
            if replayable_thinking(b) {
                turns.block(out, Turn::Assistant);
                out.extend_from_slice(b.0);
            }
        }
    }
    match m.content {
        Some(c) if c.str().is_some() => {
            let text = c.str().unwrap_or(Str(b""));
            // An empty text beside tool calls is simply omitted (LiteLLM
            // would insert its placeholder text).
            if !(has_tool_calls && text.is_blank()) {
                turns.block(out, Turn::Assistant);
                an_text_block(out, turns, text, m.cache_control);
            }
        }
        Some(c) if c.is_arr() => {
            for part in c.elems() {
                let Some(ty) = part_type(part) else { continue };
                if ty.is("text") {
                    let text = part.get_str("text").unwrap_or(Str(b""));
                    if text.is_empty() {
                        continue;
                    }
                    turns.block(out, Turn::Assistant);
                    an_text_block(out, turns, text, part.get("cache_control"));
                } else if (ty.is("thinking") || ty.is("redacted_thinking"))
                    && replayable_thinking(part)
                {
                    turns.block(out, Turn::Assistant);
                    out.extend_from_slice(part.0);
                }
            }
        }
        Some(_) => {
            return invalid(
                "Invalid Message passed in: assistant content must be a string or an array",
            )
        }
        None => {}
    }
    let Some(calls) = m.tool_calls else {
        return Ok(());
    };
    let mut id_buf = Vec::new();
    for call in calls.elems() {
        if call.get_str("type").is_some_and(|t| !t.is("function")) {
            continue;
        }
        let Some(f) = call.get("function").filter(|v| v.is_obj()) else {
            return invalid("Invalid Message passed in: tool_calls[].function is missing");
        };
        id_buf.clear();
        match call.get_str("id") {
            Some(id) => push_sanitized_id(&mut id_buf, id),
            None => {
                id_buf.extend_from_slice(b"\"toolu_");
                push_uuid(&mut id_buf);
                id_buf.push(b'"');
            }
        }
        if turns
            .tool_ids
            .iter()
            .any(|&(s, e)| out.get(s..e) == Some(&id_buf[..]))
        {
            continue;
        }
        turns.block(out, Turn::Assistant);
        out.extend_from_slice(b"{\"type\":\"tool_use\",\"id\":");
        let s = out.len();
        out.extend_from_slice(&id_buf);
        turns.tool_ids.push((s, out.len()));
        out.extend_from_slice(b",\"name\":");
        push_raw(out, f.get_str("name").unwrap_or(Str(b"")));
        out.extend_from_slice(b",\"input\":");
        an_tool_input(out, f.get("arguments"))?;
        push_cache_control(out, call.get("cache_control"));
        out.push(b'}');
    }
    Ok(())
}

/// A thinking block Anthropic will accept back: `thinking` with a
/// non-empty signature, or `redacted_thinking`.
fn replayable_thinking(b: Val<'_>) -> bool {
    match b.get_str("type") {
        Some(t) if t.is("thinking") => b.get_str("signature").is_some_and(|s| !s.is_empty()),
        Some(t) => t.is("redacted_thinking"),
        None => false,
    }
}

/// The system prompt: every system/developer message, wherever it was, as
/// text blocks (empty texts skipped; Anthropic rejects them).
fn an_system(out: &mut Vec<u8>, msgs: &[OaMsg<'_>]) {
    let mark = out.len();
    out.extend_from_slice(b",\"system\":[");
    let mut n = 0;
    let mut sep = |out: &mut Vec<u8>| {
        if n > 0 {
            out.push(b',');
        }
        n += 1;
    };
    for m in msgs.iter().filter(|m| m.role == OaRole::System) {
        let Some(c) = m.content else { continue };
        if let Some(text) = c.str() {
            if text.is_empty() {
                continue;
            }
            sep(out);
            out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
            push_raw(out, text);
            push_cache_control(out, m.cache_control);
            out.push(b'}');
        } else {
            for part in c.elems() {
                let Some(text) = part.get_str("text") else {
                    continue;
                };
                if text.is_empty() || !part_type(part).is_some_and(|t| t.is("text")) {
                    continue;
                }
                sep(out);
                out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
                push_raw(out, text);
                push_cache_control(out, part.get("cache_control"));
                out.push(b'}');
            }
        }
    }
    if n == 0 {
        out.truncate(mark);
    } else {
        out.push(b']');
    }
}

/// Writes an integer parameter (floats rounded, at least 1, like LiteLLM's
/// `max_tokens` handling); returns the value.
fn push_int_param(out: &mut Vec<u8>, v: Val<'_>, name: &str) -> Res<u64> {
    let Some(n) = v.num() else {
        return invalid(format!("'{name}' must be an integer"));
    };
    let n = if n.fract() == 0.0 && n >= 0.0 {
        n as u64
    } else {
        (n.round().max(1.0)) as u64
    };
    push_u64(out, n);
    Ok(n)
}

fn push_num_param(out: &mut Vec<u8>, key: &[u8], v: Option<Val<'_>>, name: &str) -> Res<()> {
    let Some(v) = v else { return Ok(()) };
    if !v.is_num() {
        return invalid(format!("'{name}' must be a number"));
    }
    out.extend_from_slice(key);
    out.extend_from_slice(v.0);
    Ok(())
}

/// LiteLLM's `_valid_user_id`: Anthropic rejects e-mail addresses and phone
/// numbers as `metadata.user_id`, so those are not sent.
fn valid_user_id(id: &[u8]) -> bool {
    !(looks_like_email(id) || looks_like_phone(id))
}

fn looks_like_email(s: &[u8]) -> bool {
    // ^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$
    let Some(at) = s.iter().position(|&c| c == b'@') else {
        return false;
    };
    let (local, domain) = (&s[..at], &s[at + 1..]);
    let local_ok = !local.is_empty()
        && local
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"._%+-".contains(&c));
    let Some(dot) = domain.iter().rposition(|&c| c == b'.') else {
        return false;
    };
    let (host, tld) = (&domain[..dot], &domain[dot + 1..]);
    // The regex's `[a-zA-Z0-9.-]+` is greedy with backtracking, so any dot
    // followed by 2+ letters at the end works; the last dot is the best case.
    local_ok
        && !host.is_empty()
        && host
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-')
        && tld.len() >= 2
        && tld.iter().all(u8::is_ascii_alphabetic)
}

fn looks_like_phone(s: &[u8]) -> bool {
    // ^\+?[\d\s\(\)-]{7,}$
    let s = s.strip_prefix(b"+").unwrap_or(s);
    s.len() >= 7
        && s.iter()
            .all(|&c| c.is_ascii_digit() || c.is_ascii_whitespace() || b"()-".contains(&c))
}

/// `metadata.user_id`: the request's `metadata.user_id` (LiteLLM's
/// litellm-metadata rule) wins over `user`; invalid ids are not sent.
fn an_metadata(out: &mut Vec<u8>, req: &OaReq<'_>) {
    let id = req
        .metadata
        .and_then(|m| m.get_str("user_id"))
        .or_else(|| req.user.and_then(Val::str));
    let Some(id) = id else { return };
    let valid = id.decoded().is_some_and(|d| valid_user_id(&d));
    if valid {
        out.extend_from_slice(b",\"metadata\":{\"user_id\":");
        push_raw(out, id);
        out.push(b'}');
    }
}

fn an_stop(out: &mut Vec<u8>, stop: Option<Val<'_>>) {
    let Some(stop) = stop else { return };
    let mark = out.len();
    out.extend_from_slice(b",\"stop_sequences\":[");
    let mut n = 0;
    let mut one = |out: &mut Vec<u8>, s: Str<'_>| {
        // Anthropic rejects whitespace-only stop sequences.
        if s.is_blank() {
            return;
        }
        if n > 0 {
            out.push(b',');
        }
        push_raw(out, s);
        n += 1;
    };
    if let Some(s) = stop.str() {
        one(out, s);
    } else {
        for s in stop.elems().filter_map(Val::str) {
            one(out, s);
        }
    }
    if n == 0 {
        out.truncate(mark);
    } else {
        out.push(b']');
    }
}

fn an_tools(out: &mut Vec<u8>, tools: Option<Val<'_>>) -> Res<()> {
    let Some(tools) = tools else { return Ok(()) };
    if !tools.is_arr() {
        return invalid("'tools' must be an array");
    }
    let mark = out.len();
    out.extend_from_slice(b",\"tools\":[");
    let mut n = 0;
    for t in tools.elems() {
        if n > 0 {
            out.push(b',');
        }
        n += 1;
        let ty = t.get_str("type");
        if ty.is_some_and(|ty| !ty.is("function")) {
            // Not an OpenAI function tool: taken to be an Anthropic-native
            // tool (web_search_*, bash_*, ...), forwarded as is.
            out.extend_from_slice(t.0);
            continue;
        }
        let Some(f) = t.get("function").filter(|v| v.is_obj()) else {
            return invalid("tools[].function is missing");
        };
        let Some(name) = f.get_str("name") else {
            return invalid("tools[].function.name is missing");
        };
        out.extend_from_slice(b"{\"name\":");
        push_raw(out, name);
        if let Some(d) = f.get_str("description") {
            out.extend_from_slice(b",\"description\":");
            push_raw(out, d);
        }
        out.extend_from_slice(b",\"input_schema\":");
        match f.get("parameters").filter(|v| v.is_obj()) {
            Some(p) => out.extend_from_slice(p.0),
            None => out.extend_from_slice(b"{\"type\":\"object\",\"properties\":{}}"),
        }
        push_cache_control(
            out,
            t.get("cache_control").or_else(|| f.get("cache_control")),
        );
        out.push(b'}');
    }
    if n == 0 {
        out.truncate(mark);
    } else {
        out.push(b']');
    }
    Ok(())
}

/// LiteLLM's `_map_tool_choice`, with `parallel_tool_calls` as Anthropic's
/// inverse `disable_parallel_tool_use`.
fn an_tool_choice(out: &mut Vec<u8>, tc: Option<Val<'_>>, parallel: Option<bool>) {
    let mut kind: Option<&[u8]> = None;
    let mut name = None;
    let mut is_none = false;
    if let Some(tc) = tc {
        if let Some(s) = tc.str() {
            if s.is("auto") {
                kind = Some(b"auto");
            } else if s.is("required") {
                kind = Some(b"any");
            } else if s.is("none") {
                kind = Some(b"none");
                is_none = true;
            }
        } else if tc.is_obj() {
            let fname = tc.get("function").and_then(|f| f.get_str("name"));
            match (fname, tc.get_str("type")) {
                (Some(n), _) => {
                    kind = Some(b"tool");
                    name = Some(n);
                }
                (None, Some(t)) if tc.get("function").is_none() => {
                    if t.is("auto") {
                        kind = Some(b"auto");
                    } else if t.is("required") || t.is("any") {
                        kind = Some(b"any");
                    } else if t.is("none") {
                        kind = Some(b"none");
                    }
                }
                _ => {}
            }
        }
    }
    let disable = match parallel {
        Some(p) if !is_none => {
            kind.get_or_insert(b"auto");
            Some(!p)
        }
        _ => None,
    };
    let Some(kind) = kind else { return };
    out.extend_from_slice(b",\"tool_choice\":{\"type\":\"");
    out.extend_from_slice(kind);
    out.push(b'"');
    if let Some(n) = name {
        out.extend_from_slice(b",\"name\":");
        push_raw(out, n);
    }
    if let Some(d) = disable {
        out.extend_from_slice(if d {
            b",\"disable_parallel_tool_use\":true"
        } else {
            b",\"disable_parallel_tool_use\":false"
        });
    }
    out.push(b'}');
}

/// `reasoning_effort` as a legacy thinking budget (LiteLLM's constants),
/// capped below `max_tokens` like `cap_thinking_budget_to_max_tokens`.
fn an_reasoning(out: &mut Vec<u8>, effort: Str<'_>, max_tokens: u64) -> Res<()> {
    let budget: u64 = if effort.is("none") {
        return Ok(());
    } else if effort.is("minimal") || effort.is("low") {
        1024
    } else if effort.is("medium") {
        2048
    } else if effort.is("high") {
        4096
    } else if effort.is("xhigh") {
        8192
    } else if effort.is("max") {
        16384
    } else {
        return invalid(
            "Unmapped reasoning effort. Must be one of: 'minimal', 'low', 'medium', 'high', 'xhigh', 'max', 'none'.",
        );
    };
    if max_tokens <= 1024 {
        return Ok(()); // no room for the minimum budget: thinking dropped
    }
    out.extend_from_slice(b",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":");
    push_u64(out, budget.min(max_tokens - 1));
    out.push(b'}');
    Ok(())
}

/// Translates an OpenAI `/v1/chat/completions` request body into an
/// Anthropic `/v1/messages` body for `upstream_model`, appended to `out`.
///
/// Mapped: `messages` (system/developer messages, wherever they are and
/// whether string or text parts, lifted into `system`; user text, images
/// (`data:` → base64 source, http(s) → URL source), `file` parts and
/// Anthropic `document` parts; assistant text, `thinking_blocks` and
/// `tool_calls` → `tool_use` with `arguments` parsed into `input`; `tool` /
/// `function` results → `tool_result` blocks in a user turn; consecutive
/// same-role turns merged; empty texts replaced by LiteLLM's placeholder;
/// trailing whitespace stripped from a final assistant turn; `cache_control`
/// kept), `max_tokens` / `max_completion_tokens` (default
/// [`default_max_tokens`]), `stop` → `stop_sequences`, `temperature`,
/// `top_p`, `top_k`, `stream`, `tools`, `tool_choice`,
/// `parallel_tool_calls` → `disable_parallel_tool_use`, `user` (or
/// `metadata.user_id`) → `metadata.user_id`, `thinking`, `reasoning_effort`
/// → `thinking.budget_tokens`.
///
/// Dropped (LiteLLM's `drop_params` behaviour for Anthropic): `n`,
/// `presence_penalty`, `frequency_penalty`, `logit_bias`, `logprobs`,
/// `top_logprobs`, `seed`, `response_format`, `modalities`, `audio`,
/// `prediction`, `service_tier`, `store`, `functions` / `function_call` and
/// assistant `function_call`, `web_search_options`, `stream_options` (read
/// for [`ReqInfo::include_usage`]), `extra_body`, `input_audio` parts,
/// `image_url.detail`, and any other key.
pub fn openai_to_anthropic_request(
    body: &[u8],
    upstream_model: &str,
    out: &mut Vec<u8>,
) -> Result<ReqInfo, TranslateError> {
    let mark = out.len();
    let r = openai_to_anthropic_request_inner(body, upstream_model, out);
    if r.is_err() {
        out.truncate(mark);
    }
    r
}

fn openai_to_anthropic_request_inner(
    body: &[u8],
    upstream_model: &str,
    out: &mut Vec<u8>,
) -> Res<ReqInfo> {
    check_utf8(body)?;
    let mut p = Strict::new(body);
    if !p.begin_object()? {
        p.value()?;
        p.end()?;
        return Err(TranslateError::NotObject);
    }
    let mut req = OaReq::default();
    let mut msgs: Vec<OaMsg<'_>> = Vec::new();
    let mut first = true;
    while let Some(k) = p.key(&mut first)? {
        if k.0 == b"messages" && p.peek() != Some(b'n') {
            req.has_messages = true;
            parse_oa_messages(&mut p, &mut msgs)?;
            continue;
        }
        let v = p.value()?;
        let v = if v.is_null() { None } else { Some(v) };
        match k.0 {
            b"max_tokens" | b"max_completion_tokens" if v.is_some() => req.max_tokens = v,
            b"stop" => req.stop = v,
            b"temperature" => req.temperature = v,
            b"top_p" => req.top_p = v,
            b"top_k" => req.top_k = v,
            b"stream" => req.stream = v.and_then(Val::bool) == Some(true),
            b"stream_options" => {
                req.include_usage =
                    v.and_then(|o| o.get("include_usage")).and_then(Val::bool) == Some(true)
            }
            b"tools" => req.tools = v,
            b"tool_choice" => req.tool_choice = v,
            b"parallel_tool_calls" => req.parallel_tool_calls = v.and_then(Val::bool),
            b"user" => req.user = v,
            b"metadata" => req.metadata = v,
            b"thinking" => req.thinking = v.filter(|t| t.is_obj()),
            b"reasoning_effort" => req.reasoning_effort = v,
            _ => {}
        }
    }
    p.end()?;
    if !req.has_messages {
        return Err(TranslateError::Missing("messages"));
    }

    out.extend_from_slice(b"{\"model\":");
    push_quoted(out, upstream_model.as_bytes());
    out.extend_from_slice(b",\"messages\":[");
    let mut turns = Turns::new();
    for m in &msgs {
        match m.role {
            OaRole::System => {}
            OaRole::User => an_user_message(out, &mut turns, m)?,
            OaRole::Tool | OaRole::Function => an_tool_result(out, &mut turns, m)?,
            OaRole::Assistant => an_assistant_message(out, &mut turns, m)?,
        }
    }
    turns.close(out);
    if turns.written == 0 {
        return invalid("Anthropic requires at least one non-system message.");
    }
    out.push(b']');
    an_system(out, &msgs);
    out.extend_from_slice(b",\"max_tokens\":");
    let max_tokens = match req.max_tokens {
        Some(v) => push_int_param(out, v, "max_tokens")?,
        None => {
            let n = default_max_tokens(upstream_model);
            push_u64(out, n);
            n
        }
    };
    an_metadata(out, &req);
    an_stop(out, req.stop);
    if req.stream {
        out.extend_from_slice(b",\"stream\":true");
    }
    push_num_param(out, b",\"temperature\":", req.temperature, "temperature")?;
    push_num_param(out, b",\"top_p\":", req.top_p, "top_p")?;
    push_num_param(out, b",\"top_k\":", req.top_k, "top_k")?;
    if let Some(t) = req.thinking {
        out.extend_from_slice(b",\"thinking\":");
        out.extend_from_slice(t.0);
    } else if let Some(e) = req.reasoning_effort {
        match e.str() {
            Some(e) => an_reasoning(out, e, max_tokens)?,
            None => return invalid("'reasoning_effort' must be a string"),
        }
    }
    an_tools(out, req.tools)?;
    an_tool_choice(out, req.tool_choice, req.parallel_tool_calls);
    out.push(b'}');
    Ok(ReqInfo {
        stream: req.stream,
        include_usage: req.stream && req.include_usage,
    })
}

// ---------------------------------------------------------------------------
// Anthropic message response -> OpenAI chat.completion
// ---------------------------------------------------------------------------

/// LiteLLM's `map_finish_reason` for Anthropic stop reasons.
fn finish_from_stop_reason(stop: Option<Str<'_>>) -> &'static [u8] {
    match stop {
        Some(s) if s.is("max_tokens") || s.is("compaction") => b"length",
        Some(s) if s.is("tool_use") => b"tool_calls",
        Some(s) if s.is("refusal") => b"content_filter",
        _ => b"stop",
    }
}

/// Anthropic usage counters, merged as a stream reports them
/// (`message_delta` usage is cumulative and may omit fields).
#[derive(Clone, Copy, Debug, Default)]
struct AnUsage {
    input: u64,
    output: u64,
    cache_creation: u64,
    cache_read: u64,
}

impl AnUsage {
    fn merge(&mut self, u: Val<'_>) {
        for (k, v) in u.members() {
            if v.is_null() {
                continue;
            }
            match k.0 {
                b"input_tokens" => self.input = v.count(),
                b"output_tokens" => self.output = v.count(),
                b"cache_creation_input_tokens" => self.cache_creation = v.count(),
                b"cache_read_input_tokens" => self.cache_read = v.count(),
                _ => {}
            }
        }
    }
    /// LiteLLM's `calculate_usage`: prompt tokens include both cache counts.
    fn openai(self) -> TokenUsage {
        TokenUsage {
            prompt_tokens: self.input + self.cache_creation + self.cache_read,
            completion_tokens: self.output,
            cache_read_tokens: self.cache_read,
            cache_creation_tokens: self.cache_creation,
        }
    }
}

fn push_openai_usage(out: &mut Vec<u8>, u: TokenUsage) {
    out.extend_from_slice(b"{\"completion_tokens\":");
    push_u64(out, u.completion_tokens);
    out.extend_from_slice(b",\"prompt_tokens\":");
    push_u64(out, u.prompt_tokens);
    out.extend_from_slice(b",\"total_tokens\":");
    push_u64(out, u.prompt_tokens + u.completion_tokens);
    out.extend_from_slice(b",\"prompt_tokens_details\":{\"cached_tokens\":");
    push_u64(out, u.cache_read_tokens);
    out.extend_from_slice(b",\"cache_creation_tokens\":");
    push_u64(out, u.cache_creation_tokens);
    out.extend_from_slice(b"},\"cache_creation_input_tokens\":");
    push_u64(out, u.cache_creation_tokens);
    out.extend_from_slice(b",\"cache_read_input_tokens\":");
    push_u64(out, u.cache_read_tokens);
    out.push(b'}');
}

/// Anthropic `input` (JSON) as OpenAI `arguments` (a string holding it).
fn push_arguments(out: &mut Vec<u8>, input: Option<Val<'_>>) {
    match input {
        Some(v) => push_quoted(out, v.0),
        None => out.extend_from_slice(b"\"{}\""),
    }
}

/// Translates an Anthropic `/v1/messages` response into an OpenAI
/// `chat.completion`, appended to `out`: `id` a fresh `chatcmpl-<uuid>`
/// (LiteLLM does not keep the `msg_` id), `created` now, `model` the
/// client's name, `message.content` the text blocks joined (null when
/// none), `tool_use` blocks → `tool_calls`, thinking blocks →
/// `reasoning_content` (joined) and `thinking_blocks` (verbatim, so a client
/// can send them back), `stop_reason` → `finish_reason`, usage with cache
/// tokens counted into `prompt_tokens` as LiteLLM does. Server-tool blocks
/// (`server_tool_use`, `*_tool_result`) and citations are dropped.
pub fn anthropic_to_openai_response(
    body: &[u8],
    client_model: &str,
    out: &mut Vec<u8>,
) -> Result<(), TranslateError> {
    let mark = out.len();
    let r = anthropic_to_openai_response_inner(body, client_model, out);
    if r.is_err() {
        out.truncate(mark);
    }
    r
}

fn anthropic_to_openai_response_inner(
    body: &[u8],
    client_model: &str,
    out: &mut Vec<u8>,
) -> Res<()> {
    let root = parse_root(body)?;
    if root.get_str("type").is_some_and(|t| t.is("error")) {
        let msg = root
            .get("error")
            .and_then(|e| e.get_str("message"))
            .and_then(Str::decoded)
            .map(|m| String::from_utf8_lossy(&m).into_owned())
            .unwrap_or_default();
        return invalid(format!("AnthropicException - {msg}"));
    }
    let content = root.get("content").filter(|c| c.is_arr());
    let blocks = || content.into_iter().flat_map(Val::elems);
    let is = |b: Val<'_>, t: &str| b.get_str("type").is_some_and(|s| s.is(t));

    out.extend_from_slice(b"{\"id\":\"chatcmpl-");
    push_uuid(out);
    out.extend_from_slice(b"\",\"created\":");
    push_u64(out, now_secs());
    out.extend_from_slice(b",\"model\":");
    push_quoted(out, client_model.as_bytes());
    out.extend_from_slice(
        b",\"object\":\"chat.completion\",\"system_fingerprint\":null,\"choices\":[{\"finish_reason\":\"",
    );
    out.extend_from_slice(finish_from_stop_reason(root.get_str("stop_reason")));
    out.extend_from_slice(b"\",\"index\":0,\"message\":{\"content\":");
    let texts = || {
        blocks()
            .filter(|b| is(*b, "text"))
            .filter_map(|b| b.get_str("text"))
    };
    // Joined text; "" (no text at all) is null, as in LiteLLM.
    if texts().any(|t| !t.is_empty()) {
        out.push(b'"');
        for t in texts() {
            out.extend_from_slice(t.0);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(b"null");
    }
    out.extend_from_slice(b",\"role\":\"assistant\"");
    let mut n = 0;
    for b in blocks().filter(|b| is(*b, "tool_use")) {
        out.extend_from_slice(if n == 0 { b",\"tool_calls\":[" } else { b"," });
        n += 1;
        out.extend_from_slice(b"{\"id\":");
        push_raw(out, b.get_str("id").unwrap_or(Str(b"")));
        out.extend_from_slice(b",\"type\":\"function\",\"function\":{\"name\":");
        push_raw(out, b.get_str("name").unwrap_or(Str(b"")));
        out.extend_from_slice(b",\"arguments\":");
        push_arguments(out, b.get("input"));
        out.extend_from_slice(b"}}");
    }
    if n > 0 {
        out.push(b']');
    }
    let thinking = || blocks().filter(|b| is(*b, "thinking") || is(*b, "redacted_thinking"));
    if thinking().next().is_some() {
        out.extend_from_slice(b",\"reasoning_content\":\"");
        for t in thinking().filter_map(|b| b.get_str("thinking")) {
            out.extend_from_slice(t.0);
        }
        out.extend_from_slice(b"\",\"thinking_blocks\":[");
        for (i, b) in thinking().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b.0);
        }
        out.push(b']');
    }
    out.extend_from_slice(b"}}],\"usage\":");
    let mut u = AnUsage::default();
    if let Some(usage) = root.get("usage") {
        u.merge(usage);
    }
    push_openai_usage(out, u.openai());
    out.push(b'}');
    Ok(())
}

// ---------------------------------------------------------------------------
// Server-sent events
// ---------------------------------------------------------------------------

/// One SSE event: its `event:` name and its `data:` lines joined by `\n`
/// (borrowed when there is one line, the usual case).
struct SseEvent<'a> {
    name: Option<&'a [u8]>,
    data: Option<Cow<'a, [u8]>>,
}

fn trim_ascii(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

fn parse_sse_event(ev: &[u8]) -> SseEvent<'_> {
    let mut e = SseEvent {
        name: None,
        data: None,
    };
    for line in ev.split(|&c| c == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let (field, value) = match memchr::memchr(b':', line) {
            Some(0) | None => continue, // comment, or a field with no value
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
        };
        match field {
            b"event" => e.name = Some(value),
            b"data" => {
                e.data = Some(match e.data.take() {
                    None => Cow::Borrowed(value),
                    Some(prev) => {
                        let mut v = prev.into_owned();
                        v.push(b'\n');
                        v.extend_from_slice(value);
                        Cow::Owned(v)
                    }
                })
            }
            _ => {}
        }
    }
    e
}

/// Splits a buffer into SSE events at blank lines (the last may lack one).
fn sse_events(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = buf;
    std::iter::from_fn(move || loop {
        if rest.is_empty() {
            return None;
        }
        let (ev, next) = match memchr::memmem::find(rest, b"\n\n")
            .map(|i| (i, 2))
            .into_iter()
            .chain(memchr::memmem::find(rest, b"\r\n\r\n").map(|i| (i, 4)))
            .min_by_key(|&(i, _)| i)
        {
            Some((i, n)) => (&rest[..i], &rest[i + n..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        if !trim_ascii(ev).is_empty() {
            return Some(ev);
        }
    })
}

// ---------------------------------------------------------------------------
// Anthropic SSE stream -> OpenAI chat.completion.chunk stream
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AnBlock {
    None,
    Text,
    Tool,
    Thinking,
    Other,
}

/// Turns an Anthropic `/v1/messages` event stream into OpenAI
/// `chat.completion.chunk` events, one event at a time:
///
/// * `message_start` → the first chunk, `{"content":"","role":"assistant"}`
///   (input and cache token counts are remembered);
/// * `text_delta` → `content` deltas;
/// * `tool_use` `content_block_start` → a `tool_calls` delta with `index`
///   (0-based over tool blocks), `id`, `type`, `name` and empty `arguments`;
///   `input_json_delta` → `arguments` deltas; a tool block that ends with no
///   arguments gets `"{}"` (LiteLLM does the same);
/// * `thinking_delta` / `signature_delta` → `reasoning_content` plus
///   `thinking_blocks` deltas; `redacted_thinking` blocks verbatim in
///   `thinking_blocks`;
/// * `message_delta` → the `finish_reason` chunk (`{"finish_reason":…,
///   "index":0,"delta":{}}`);
/// * `message_stop` → the usage chunk when `include_usage`
///   (`choices:[{"index":0,"delta":{}}]`, as LiteLLM sends it), then
///   `data: [DONE]`;
/// * `error` → `data: {"error": {...}}` (Python-style spacing, like the
///   gateway's other mid-stream errors) and the stream is over, no `[DONE]`;
/// * `ping` and unknown events → nothing.
///
/// State is a handful of fields plus the chunk prefix (`id`, `created`,
/// `model`), built once; nothing is buffered between events.
#[derive(Debug)]
pub struct AnthropicToOpenAiStream {
    /// `data: {"id":…,"created":…,"model":…,"object":"chat.completion.chunk","choices":[`
    prefix: Vec<u8>,
    include_usage: bool,
    role_sent: bool,
    block: AnBlock,
    /// OpenAI `tool_calls[].index` of the current tool block.
    tool_index: u64,
    tools_seen: u64,
    tool_has_args: bool,
    usage: AnUsage,
    finish_sent: bool,
    done: bool,
}

impl AnthropicToOpenAiStream {
    /// `client_model` is the name the client asked for (chunks carry it);
    /// `include_usage` is [`ReqInfo::include_usage`].
    pub fn new(client_model: &str, include_usage: bool) -> Self {
        let mut prefix = Vec::with_capacity(120 + client_model.len());
        prefix.extend_from_slice(b"data: {\"id\":\"chatcmpl-");
        push_uuid(&mut prefix);
        prefix.extend_from_slice(b"\",\"created\":");
        push_u64(&mut prefix, now_secs());
        prefix.extend_from_slice(b",\"model\":");
        push_quoted(&mut prefix, client_model.as_bytes());
        prefix.extend_from_slice(b",\"object\":\"chat.completion.chunk\",\"choices\":[");
        AnthropicToOpenAiStream {
            prefix,
            include_usage,
            role_sent: false,
            block: AnBlock::None,
            tool_index: 0,
            tools_seen: 0,
            tool_has_args: false,
            usage: AnUsage::default(),
            finish_sent: false,
            done: false,
        }
    }

    /// Whether the closing `[DONE]` (or a final error) has been written.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Token usage seen so far (complete after `message_delta`).
    pub fn usage(&self) -> TokenUsage {
        self.usage.openai()
    }

    fn delta_start(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(b"{\"index\":0,\"delta\":");
    }

    fn delta_end(out: &mut Vec<u8>) {
        out.extend_from_slice(b"}]}\n\n");
    }

    fn ensure_role(&mut self, out: &mut Vec<u8>) {
        if !self.role_sent {
            self.role_sent = true;
            self.delta_start(out);
            out.extend_from_slice(b"{\"content\":\"\",\"role\":\"assistant\"}");
            Self::delta_end(out);
        }
    }

    fn content(&mut self, out: &mut Vec<u8>, text: Str<'_>) {
        if text.is_empty() {
            return;
        }
        self.ensure_role(out);
        self.delta_start(out);
        out.extend_from_slice(b"{\"content\":");
        push_raw(out, text);
        out.push(b'}');
        Self::delta_end(out);
    }

    fn tool_args(&mut self, out: &mut Vec<u8>, args: &[u8]) {
        self.delta_start(out);
        out.extend_from_slice(b"{\"tool_calls\":[{\"index\":");
        push_u64(out, self.tool_index);
        out.extend_from_slice(b",\"function\":{\"arguments\":\"");
        out.extend_from_slice(args);
        out.extend_from_slice(b"\"}}]}");
        Self::delta_end(out);
    }

    fn finish_chunk(&mut self, out: &mut Vec<u8>, reason: &[u8]) {
        if self.finish_sent {
            return;
        }
        self.ensure_role(out);
        self.finish_sent = true;
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(b"{\"finish_reason\":\"");
        out.extend_from_slice(reason);
        out.extend_from_slice(b"\",\"index\":0,\"delta\":{}}]}\n\n");
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        self.finish_chunk(out, b"stop");
        if self.include_usage {
            out.extend_from_slice(&self.prefix);
            out.extend_from_slice(b"{\"index\":0,\"delta\":{}}],\"usage\":");
            push_openai_usage(out, self.usage.openai());
            out.extend_from_slice(b"}\n\n");
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
        self.done = true;
    }

    /// Feeds Anthropic SSE bytes (one or more complete events) and appends
    /// the OpenAI events they produce. An event whose data is not valid JSON
    /// is an error; nothing is written for it.
    pub fn feed(&mut self, events: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        for ev in sse_events(events) {
            self.feed_one(ev, out)?;
        }
        Ok(())
    }

    fn feed_one(&mut self, ev: &[u8], out: &mut Vec<u8>) -> Res<()> {
        if self.done {
            return Ok(());
        }
        let e = parse_sse_event(ev);
        let Some(data) = e.data else { return Ok(()) };
        let root = parse_root(&data)?;
        let ty = root.get_str("type").map(|t| t.0).or(e.name).unwrap_or(b"");
        match ty {
            b"message_start" => {
                if let Some(u) = root.get("message").and_then(|m| m.get("usage")) {
                    self.usage.merge(u);
                }
                self.ensure_role(out);
            }
            b"content_block_start" => {
                let cb = root.get("content_block");
                let cbt = cb.and_then(|c| c.get_str("type"));
                let cbt = cbt.map_or(&b""[..], |t| t.0);
                self.block = match cbt {
                    b"text" => AnBlock::Text,
                    b"tool_use" => AnBlock::Tool,
                    b"thinking" => AnBlock::Thinking,
                    _ => AnBlock::Other,
                };
                let Some(cb) = cb else { return Ok(()) };
                match self.block {
                    AnBlock::Text => {
                        if let Some(t) = cb.get_str("text") {
                            self.content(out, t);
                        }
                    }
                    AnBlock::Tool => {
                        self.ensure_role(out);
                        self.tool_index = self.tools_seen;
                        self.tools_seen += 1;
                        self.tool_has_args = false;
                        self.delta_start(out);
                        out.extend_from_slice(b"{\"tool_calls\":[{\"index\":");
                        push_u64(out, self.tool_index);
                        out.extend_from_slice(b",\"id\":");
                        push_raw(out, cb.get_str("id").unwrap_or(Str(b"")));
                        out.extend_from_slice(b",\"type\":\"function\",\"function\":{\"name\":");
                        push_raw(out, cb.get_str("name").unwrap_or(Str(b"")));
                        out.extend_from_slice(b",\"arguments\":\"\"}}]}");
                        Self::delta_end(out);
                    }
                    AnBlock::Other if cbt == b"redacted_thinking" => {
                        self.ensure_role(out);
                        self.delta_start(out);
                        out.extend_from_slice(b"{\"thinking_blocks\":[");
                        out.extend_from_slice(cb.0);
                        out.extend_from_slice(b"]}");
                        Self::delta_end(out);
                    }
                    _ => {}
                }
            }
            b"content_block_delta" => {
                let Some(d) = root.get("delta") else {
                    return Ok(());
                };
                let dt = d.get_str("type").map_or(&b""[..], |t| t.0);
                match dt {
                    b"text_delta" => {
                        if let Some(t) = d.get_str("text") {
                            self.content(out, t);
                        }
                    }
                    b"input_json_delta" if self.block == AnBlock::Tool => {
                        if let Some(j) = d.get_str("partial_json").filter(|j| !j.is_empty()) {
                            self.tool_has_args = true;
                            self.tool_args(out, j.0);
                        }
                    }
                    b"thinking_delta" => {
                        if let Some(t) = d.get_str("thinking").filter(|t| !t.is_empty()) {
                            self.ensure_role(out);
                            self.delta_start(out);
                            out.extend_from_slice(b"{\"reasoning_content\":");
                            push_raw(out, t);
                            out.extend_from_slice(
                                b",\"thinking_blocks\":[{\"type\":\"thinking\",\"thinking\":",
                            );
                            push_raw(out, t);
                            out.extend_from_slice(b"}]}");
                            Self::delta_end(out);
                        }
                    }
                    b"signature_delta" => {
                        if let Some(s) = d.get_str("signature").filter(|s| !s.is_empty()) {
                            self.ensure_role(out);
                            self.delta_start(out);
                            out.extend_from_slice(b"{\"reasoning_content\":\"\",\"thinking_blocks\":[{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":");
                            push_raw(out, s);
                            out.extend_from_slice(b"}]}");
                            Self::delta_end(out);
                        }
                    }
                    _ => {}
                }
            }
            b"content_block_stop" => {
                if self.block == AnBlock::Tool && !self.tool_has_args {
                    self.tool_args(out, b"{}");
                }
                self.block = AnBlock::None;
            }
            b"message_delta" => {
                if let Some(u) = root.get("usage") {
                    self.usage.merge(u);
                }
                let stop = root.get("delta").and_then(|d| d.get_str("stop_reason"));
                if stop.is_some() {
                    self.finish_chunk(out, finish_from_stop_reason(stop));
                }
            }
            b"message_stop" => self.end(out),
            b"error" => {
                let err = root.get("error");
                let kind = err
                    .and_then(|e| e.get_str("type"))
                    .unwrap_or(Str(b"api_error"));
                let status = anthropic_error_status(kind);
                out.extend_from_slice(b"data: {\"error\": {\"message\": \"AnthropicException - ");
                if let Some(m) = err.and_then(|e| e.get_str("message")) {
                    out.extend_from_slice(m.0);
                }
                out.extend_from_slice(b"\", \"type\": ");
                push_raw(out, kind);
                out.extend_from_slice(b", \"param\": null, \"code\": \"");
                push_u64(out, u64::from(status));
                out.extend_from_slice(b"\"}}\n\n");
                self.done = true;
            }
            _ => {} // ping, and event types added later
        }
        Ok(())
    }

    /// Call when the upstream ended cleanly without `message_stop`: writes
    /// the finish chunk, the usage chunk if asked for, and `[DONE]` if they
    /// are not out yet.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.done {
            self.end(out);
        }
    }
}

/// The HTTP status an Anthropic error `type` stands for (LiteLLM's
/// `ANTHROPIC_ERROR_STATUS_CODE_MAP`, which gives `overloaded_error`
/// 503 although Anthropic answers it with 529).
fn anthropic_error_status(kind: Str<'_>) -> u16 {
    match kind.0 {
        b"invalid_request_error" => 400,
        b"authentication_error" => 401,
        b"billing_error" => 402,
        b"permission_error" => 403,
        b"not_found_error" => 404,
        b"request_too_large" => 413,
        b"rate_limit_error" => 429,
        b"timeout_error" => 504,
        b"overloaded_error" => 503,
        _ => 500,
    }
}

// ---------------------------------------------------------------------------
// Anthropic /v1/messages request -> OpenAI chat request
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
struct AnMsg<'a> {
    assistant: bool,
    content: Option<Val<'a>>,
}

#[derive(Default)]
struct AnReq<'a> {
    has_messages: bool,
    system: Option<Val<'a>>,
    max_tokens: Option<Val<'a>>,
    stop_sequences: Option<Val<'a>>,
    temperature: Option<Val<'a>>,
    top_p: Option<Val<'a>>,
    top_k: Option<Val<'a>>,
    stream: bool,
    tools: Option<Val<'a>>,
    tool_choice: Option<Val<'a>>,
    metadata: Option<Val<'a>>,
}

fn parse_an_messages<'a>(p: &mut Strict<'a>, msgs: &mut Vec<AnMsg<'a>>) -> Res<()> {
    msgs.clear();
    if !p.begin_array()? {
        p.value()?;
        return invalid("messages: Input should be a valid list");
    }
    let mut first = true;
    while p.elem(&mut first)? {
        if !p.begin_object()? {
            p.value()?;
            return invalid(format!(
                "messages.{}: Input should be a valid dictionary",
                msgs.len()
            ));
        }
        let mut role = None;
        let mut content = None;
        let mut f = true;
        while let Some(k) = p.key(&mut f)? {
            let v = p.value()?;
            match k.0 {
                b"role" => role = v.str(),
                b"content" => content = Some(v).filter(|v| !v.is_null()),
                _ => {}
            }
        }
        let assistant = match role {
            Some(r) if r.is("user") => false,
            Some(r) if r.is("assistant") => true,
            _ => {
                return invalid(format!(
                    "messages.{}.role: Input should be 'user' or 'assistant'",
                    msgs.len()
                ))
            }
        };
        msgs.push(AnMsg { assistant, content });
    }
    Ok(())
}

/// An Anthropic image/document `source` as an OpenAI image URL (LiteLLM's
/// `anthropic_image_source_to_openai_url`); `false` when it has none.
fn push_source_url(out: &mut Vec<u8>, source: Option<Val<'_>>) -> bool {
    let Some(src) = source else { return false };
    let Some(ty) = src.get_str("type") else {
        return false;
    };
    if ty.is("base64") {
        let Some(data) = src.get_str("data").filter(|d| !d.is_empty()) else {
            return false;
        };
        let media = src
            .get_str("media_type")
            .filter(|m| !m.is_empty())
            .unwrap_or(Str(b"image/jpeg"));
        out.extend_from_slice(b"\"data:");
        out.extend_from_slice(media.0);
        out.extend_from_slice(b";base64,");
        out.extend_from_slice(data.0);
        out.push(b'"');
        true
    } else if ty.is("url") {
        push_raw(out, src.get_str("url").unwrap_or(Str(b"")));
        true
    } else {
        false
    }
}

/// Writes `{"type":"image_url","image_url":{"url":…}}` for an image or
/// document block (LiteLLM sends documents as image URLs too); `false` and
/// nothing written when the block has no usable source.
fn oa_image_part(out: &mut Vec<u8>, block: Val<'_>) -> bool {
    let mark = out.len();
    out.extend_from_slice(b"{\"type\":\"image_url\",\"image_url\":{\"url\":");
    if !push_source_url(out, block.get("source")) {
        out.truncate(mark);
        return false;
    }
    out.extend_from_slice(b"}}");
    true
}

/// Separator between array elements written so far.
fn comma(out: &mut Vec<u8>, n: &mut usize) {
    if *n > 0 {
        out.push(b',');
    }
    *n += 1;
}

/// `tool_result.content` as OpenAI tool message content: a string stays a
/// string, one text block becomes its text, other lists become parts.
fn oa_tool_content(out: &mut Vec<u8>, content: Option<Val<'_>>) {
    let Some(c) = content else {
        out.extend_from_slice(b"\"\"");
        return;
    };
    if c.str().is_some() {
        out.extend_from_slice(c.0);
        return;
    }
    let usable = |b: &Val<'_>| {
        b.str().is_some()
            || part_type(*b).is_some_and(|t| {
                t.is("text")
                    || ((t.is("image") || t.is("document"))
                        && b.get("source").is_some_and(|s| s.is_obj()))
            })
    };
    let mut parts = c.elems().filter(usable);
    let (Some(first), second) = (parts.next(), parts.next()) else {
        out.extend_from_slice(b"\"\"");
        return;
    };
    if second.is_none() {
        if let Some(s) = first.str() {
            push_raw(out, s);
            return;
        }
        if part_type(first).is_some_and(|t| t.is("text")) {
            push_raw(out, first.get_str("text").unwrap_or(Str(b"")));
            return;
        }
    }
    out.push(b'[');
    let mut n = 0;
    for b in c.elems().filter(usable) {
        let mark = out.len();
        comma(out, &mut n);
        let text = b.str().or_else(|| {
            part_type(b)
                .filter(|t| t.is("text"))
                .map(|_| b.get_str("text").unwrap_or(Str(b"")))
        });
        if let Some(t) = text {
            out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
            push_raw(out, t);
            out.push(b'}');
        } else if !oa_image_part(out, b) {
            out.truncate(mark);
            n -= 1;
        }
    }
    out.push(b']');
}

fn oa_user_message(out: &mut Vec<u8>, n: &mut usize, content: Val<'_>) {
    if let Some(s) = content.str() {
        if !s.is_empty() {
            comma(out, n);
            out.extend_from_slice(b"{\"role\":\"user\",\"content\":");
            push_raw(out, s);
            out.push(b'}');
        }
        return;
    }
    // Tool results first, each its own `tool` message (LiteLLM's order).
    for b in content.elems() {
        if part_type(b).is_some_and(|t| t.is("tool_result")) {
            comma(out, n);
            out.extend_from_slice(b"{\"role\":\"tool\",\"tool_call_id\":");
            push_raw(out, b.get_str("tool_use_id").unwrap_or(Str(b"")));
            out.extend_from_slice(b",\"content\":");
            oa_tool_content(out, b.get_some("content"));
            out.push(b'}');
        }
    }
    let mark = out.len();
    let mark_n = *n;
    comma(out, n);
    out.extend_from_slice(b"{\"role\":\"user\",\"content\":[");
    let mut parts = 0;
    for b in content.elems() {
        let Some(t) = part_type(b) else { continue };
        if t.is("text") {
            comma(out, &mut parts);
            out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
            push_raw(out, b.get_str("text").unwrap_or(Str(b"")));
            out.push(b'}');
        } else if t.is("image") || t.is("document") {
            let m = out.len();
            comma(out, &mut parts);
            if !oa_image_part(out, b) {
                out.truncate(m);
                parts -= 1;
            }
        }
    }
    if parts == 0 {
        out.truncate(mark);
        *n = mark_n;
    } else {
        out.extend_from_slice(b"]}");
    }
}

fn oa_assistant_message(out: &mut Vec<u8>, n: &mut usize, content: Val<'_>) {
    let is = |b: Val<'_>, t: &str| part_type(b).is_some_and(|s| s.is(t));
    let texts = || {
        content
            .elems()
            .filter(|b| is(*b, "text"))
            .filter_map(|b| b.get_str("text"))
    };
    let has_calls = content.elems().any(|b| is(b, "tool_use"));
    let text = content.str();
    let has_text = text.is_some() || content.elems().any(|b| is(b, "text"));
    if !has_text && !has_calls {
        return; // only thinking blocks (or nothing): OpenAI has no place for them
    }
    comma(out, n);
    out.extend_from_slice(b"{\"role\":\"assistant\",\"content\":");
    if let Some(s) = text {
        push_raw(out, s);
    } else if has_text {
        out.push(b'"');
        for t in texts() {
            out.extend_from_slice(t.0);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(b"null");
    }
    if has_calls {
        out.extend_from_slice(b",\"tool_calls\":[");
        let mut k = 0;
        for b in content.elems().filter(|b| is(*b, "tool_use")) {
            comma(out, &mut k);
            out.extend_from_slice(b"{\"id\":");
            push_raw(out, b.get_str("id").unwrap_or(Str(b"")));
            out.extend_from_slice(b",\"type\":\"function\",\"function\":{\"name\":");
            push_raw(out, b.get_str("name").unwrap_or(Str(b"")));
            out.extend_from_slice(b",\"arguments\":");
            push_arguments(out, b.get("input"));
            out.extend_from_slice(b"}}");
        }
        out.push(b']');
    }
    out.push(b'}');
}

fn oa_system(out: &mut Vec<u8>, n: &mut usize, system: Option<Val<'_>>) {
    let Some(sys) = system else { return };
    if let Some(s) = sys.str() {
        if !s.is_empty() {
            comma(out, n);
            out.extend_from_slice(b"{\"role\":\"system\",\"content\":");
            push_raw(out, s);
            out.push(b'}');
        }
        return;
    }
    let texts = || {
        sys.elems()
            .filter(|b| part_type(*b).is_some_and(|t| t.is("text")))
            .filter_map(|b| b.get_str("text"))
    };
    if texts().next().is_none() {
        return;
    }
    comma(out, n);
    out.extend_from_slice(b"{\"role\":\"system\",\"content\":[");
    let mut k = 0;
    for t in texts() {
        comma(out, &mut k);
        out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
        push_raw(out, t);
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}

fn oa_tools(out: &mut Vec<u8>, tools: Option<Val<'_>>) {
    let Some(tools) = tools else { return };
    let custom = |t: &Val<'_>| {
        t.is_obj()
            && match t.get_str("type") {
                None => true,
                Some(ty) => ty.is("custom"),
            }
            && t.get_str("name").is_some()
    };
    if !tools.elems().any(|t| custom(&t)) {
        return;
    }
    out.extend_from_slice(b",\"tools\":[");
    let mut n = 0;
    for t in tools.elems().filter(custom) {
        comma(out, &mut n);
        out.extend_from_slice(b"{\"type\":\"function\",\"function\":{\"name\":");
        push_raw(out, t.get_str("name").unwrap_or(Str(b"")));
        if let Some(d) = t.get_str("description") {
            out.extend_from_slice(b",\"description\":");
            push_raw(out, d);
        }
        if let Some(s) = t.get("input_schema").filter(|s| s.is_obj()) {
            out.extend_from_slice(b",\"parameters\":");
            out.extend_from_slice(s.0);
        }
        if let Some(s) = t.get("strict").and_then(Val::bool) {
            out.extend_from_slice(if s {
                b",\"strict\":true"
            } else {
                b",\"strict\":false"
            });
        }
        out.extend_from_slice(b"}}");
    }
    out.push(b']');
}

fn oa_tool_choice(out: &mut Vec<u8>, tc: Option<Val<'_>>) -> Res<()> {
    let Some(tc) = tc.filter(|t| t.is_obj()) else {
        return Ok(());
    };
    let Some(ty) = tc.get_str("type") else {
        return Ok(());
    };
    if ty.is("any") {
        out.extend_from_slice(b",\"tool_choice\":\"required\"");
    } else if ty.is("auto") {
        out.extend_from_slice(b",\"tool_choice\":\"auto\"");
    } else if ty.is("none") {
        out.extend_from_slice(b",\"tool_choice\":\"none\"");
    } else if ty.is("tool") {
        out.extend_from_slice(b",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":");
        push_raw(out, tc.get_str("name").unwrap_or(Str(b"")));
        out.extend_from_slice(b"}}");
    } else {
        return invalid("Incompatible tool choice param submitted");
    }
    if let Some(d) = tc.get("disable_parallel_tool_use").and_then(Val::bool) {
        if !ty.is("none") {
            out.extend_from_slice(if d {
                b",\"parallel_tool_calls\":false"
            } else {
                b",\"parallel_tool_calls\":true"
            });
        }
    }
    Ok(())
}

/// Translates an Anthropic `/v1/messages` request body into an OpenAI
/// `/v1/chat/completions` body for `upstream_model`, appended to `out`
/// (LiteLLM's `LiteLLMAnthropicMessagesAdapter.translate_anthropic_to_openai`).
///
/// Mapped: `system` (string or text blocks) → a leading system message;
/// user text / image / document blocks → content parts (base64 sources as
/// `data:` URLs); `tool_result` blocks → `tool` messages placed before the
/// user message they came in (string, single text, or parts); assistant
/// text blocks joined → `content`, `tool_use` → `tool_calls` (`input`
/// serialised into `arguments`); `max_tokens`, `stop_sequences` → `stop`,
/// `temperature`, `top_p`, `top_k` (forwarded like LiteLLM forwards it),
/// `stream` (+ `stream_options.include_usage`), custom `tools` →
/// function tools, `tool_choice` (`any` → `required`, `tool` → function),
/// `disable_parallel_tool_use` → `parallel_tool_calls`,
/// `metadata.user_id` → `user`.
///
/// Dropped: `thinking` and thinking blocks, `cache_control`, server tools
/// (`web_search_*`, `bash_*`, …), `tool_result.is_error`, citations,
/// `service_tier`, `container`, `mcp_servers`, `context_management`,
/// `output_format`, and any other key.
pub fn anthropic_to_openai_request(
    body: &[u8],
    upstream_model: &str,
    out: &mut Vec<u8>,
) -> Result<ReqInfo, TranslateError> {
    let mark = out.len();
    let r = anthropic_to_openai_request_inner(body, upstream_model, out);
    if r.is_err() {
        out.truncate(mark);
    }
    r
}

fn anthropic_to_openai_request_inner(
    body: &[u8],
    upstream_model: &str,
    out: &mut Vec<u8>,
) -> Res<ReqInfo> {
    check_utf8(body)?;
    let mut p = Strict::new(body);
    if !p.begin_object()? {
        p.value()?;
        p.end()?;
        return Err(TranslateError::NotObject);
    }
    let mut req = AnReq::default();
    let mut msgs: Vec<AnMsg<'_>> = Vec::new();
    let mut first = true;
    while let Some(k) = p.key(&mut first)? {
        if k.0 == b"messages" && p.peek() != Some(b'n') {
            req.has_messages = true;
            parse_an_messages(&mut p, &mut msgs)?;
            continue;
        }
        let v = p.value()?;
        let v = if v.is_null() { None } else { Some(v) };
        match k.0 {
            b"system" => req.system = v,
            b"max_tokens" => req.max_tokens = v,
            b"stop_sequences" => req.stop_sequences = v.filter(|s| s.is_arr()),
            b"temperature" => req.temperature = v,
            b"top_p" => req.top_p = v,
            b"top_k" => req.top_k = v,
            b"stream" => req.stream = v.and_then(Val::bool) == Some(true),
            b"tools" => req.tools = v.filter(|t| t.is_arr()),
            b"tool_choice" => req.tool_choice = v,
            b"metadata" => req.metadata = v,
            _ => {}
        }
    }
    p.end()?;
    if !req.has_messages {
        return Err(TranslateError::Missing("messages"));
    }

    out.extend_from_slice(b"{\"model\":");
    push_quoted(out, upstream_model.as_bytes());
    out.extend_from_slice(b",\"messages\":[");
    let mut n = 0;
    oa_system(out, &mut n, req.system);
    for m in &msgs {
        let Some(c) = m.content else { continue };
        if m.assistant {
            oa_assistant_message(out, &mut n, c);
        } else {
            oa_user_message(out, &mut n, c);
        }
    }
    out.push(b']');
    if let Some(v) = req.max_tokens {
        out.extend_from_slice(b",\"max_tokens\":");
        push_int_param(out, v, "max_tokens")?;
    }
    if let Some(s) = req.stop_sequences.filter(|s| s.elems().next().is_some()) {
        out.extend_from_slice(b",\"stop\":");
        out.extend_from_slice(s.0);
    }
    push_num_param(out, b",\"temperature\":", req.temperature, "temperature")?;
    push_num_param(out, b",\"top_p\":", req.top_p, "top_p")?;
    push_num_param(out, b",\"top_k\":", req.top_k, "top_k")?;
    if req.stream {
        out.extend_from_slice(b",\"stream\":true,\"stream_options\":{\"include_usage\":true}");
    }
    oa_tools(out, req.tools);
    oa_tool_choice(out, req.tool_choice)?;
    if let Some(u) = req.metadata.and_then(|m| m.get_str("user_id")) {
        out.extend_from_slice(b",\"user\":");
        push_raw(out, u);
    }
    out.push(b'}');
    Ok(ReqInfo {
        stream: req.stream,
        include_usage: req.stream,
    })
}

// ---------------------------------------------------------------------------
// OpenAI chat.completion -> Anthropic message response
// ---------------------------------------------------------------------------

/// LiteLLM's `_translate_openai_finish_reason_to_anthropic`.
fn stop_reason_from_finish(finish: Option<Str<'_>>) -> &'static [u8] {
    match finish {
        Some(f) if f.is("length") => b"max_tokens",
        Some(f) if f.is("tool_calls") || f.is("function_call") => b"tool_use",
        Some(f) if f.is("content_filter") || f.is("refusal") => b"refusal",
        _ => b"end_turn",
    }
}

/// OpenAI usage in Anthropic's terms: `input_tokens` excludes cached and
/// cache-creation tokens (LiteLLM's `translate_openai_usage_to_anthropic_usage`).
fn oa_usage(u: Option<Val<'_>>) -> TokenUsage {
    let Some(u) = u.filter(|u| u.is_obj()) else {
        return TokenUsage::default();
    };
    let details = u.get("prompt_tokens_details");
    let count = |v: Option<Val<'_>>| v.map_or(0, Val::count);
    let mut cache_read = count(u.get("cache_read_input_tokens"));
    if cache_read == 0 {
        cache_read = count(details.and_then(|d| d.get("cached_tokens")));
    }
    let mut cache_creation = count(u.get("cache_creation_input_tokens"));
    if cache_creation == 0 {
        cache_creation = count(details.and_then(|d| d.get("cache_creation_tokens")));
    }
    TokenUsage {
        prompt_tokens: count(u.get("prompt_tokens")),
        completion_tokens: count(u.get("completion_tokens")),
        cache_read_tokens: cache_read,
        cache_creation_tokens: cache_creation,
    }
}

fn push_anthropic_usage(out: &mut Vec<u8>, u: TokenUsage) {
    let input = u
        .prompt_tokens
        .saturating_sub(u.cache_read_tokens + u.cache_creation_tokens);
    out.extend_from_slice(b"{\"input_tokens\":");
    push_u64(out, input);
    out.extend_from_slice(b",\"output_tokens\":");
    push_u64(out, u.completion_tokens);
    if u.cache_creation_tokens > 0 {
        out.extend_from_slice(b",\"cache_creation_input_tokens\":");
        push_u64(out, u.cache_creation_tokens);
    }
    if u.cache_read_tokens > 0 {
        out.extend_from_slice(b",\"cache_read_input_tokens\":");
        push_u64(out, u.cache_read_tokens);
    }
    out.push(b'}');
}

/// Writes an Anthropic `tool_use` block for one OpenAI tool call; the
/// `arguments` string is decoded into `input` (`{}` when empty, an error
/// when it is not JSON).
fn an_tool_use_block(out: &mut Vec<u8>, call: Val<'_>) -> Res<()> {
    let f = call.get("function");
    out.extend_from_slice(b"{\"type\":\"tool_use\",\"id\":");
    match call.get_str("id").filter(|s| !s.is_empty()) {
        Some(id) => push_sanitized_id(out, id),
        None => {
            out.extend_from_slice(b"\"toolu_");
            push_uuid(out);
            out.push(b'"');
        }
    }
    out.extend_from_slice(b",\"name\":");
    push_raw(out, f.and_then(|f| f.get_str("name")).unwrap_or(Str(b"")));
    out.extend_from_slice(b",\"input\":");
    an_tool_input(out, f.and_then(|f| f.get("arguments")))?;
    out.push(b'}');
    Ok(())
}

/// Translates an OpenAI `chat.completion` into an Anthropic `/v1/messages`
/// response, appended to `out` (LiteLLM's
/// `translate_openai_response_to_anthropic`): `id` kept, `model` the
/// client's name, `reasoning_content` → a `thinking` block, `content` (and
/// `refusal`) → text blocks, `tool_calls` → `tool_use` blocks,
/// `finish_reason` → `stop_reason`, usage with cache tokens split out of
/// `input_tokens`. Only `choices[0]` is used.
pub fn openai_to_anthropic_response(
    body: &[u8],
    client_model: &str,
    out: &mut Vec<u8>,
) -> Result<(), TranslateError> {
    let mark = out.len();
    let r = openai_to_anthropic_response_inner(body, client_model, out);
    if r.is_err() {
        out.truncate(mark);
    }
    r
}

fn openai_to_anthropic_response_inner(
    body: &[u8],
    client_model: &str,
    out: &mut Vec<u8>,
) -> Res<()> {
    let root = parse_root(body)?;
    let choice = root.get("choices").and_then(|c| c.elems().next());
    let msg = choice.and_then(|c| c.get("message")).filter(|m| m.is_obj());
    let finish = choice.and_then(|c| c.get_str("finish_reason"));
    let refusal = msg
        .and_then(|m| m.get_str("refusal"))
        .filter(|r| !r.is_empty());

    out.extend_from_slice(b"{\"id\":");
    match root.get_str("id") {
        Some(id) => push_raw(out, id),
        None => {
            out.extend_from_slice(b"\"msg_");
            push_uuid(out);
            out.push(b'"');
        }
    }
    out.extend_from_slice(b",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
    push_quoted(out, client_model.as_bytes());
    out.extend_from_slice(b",\"content\":[");
    let mut n = 0;
    if let Some(m) = msg {
        let reasoning = m
            .get_str("reasoning_content")
            .or_else(|| m.get_str("reasoning"))
            .filter(|r| !r.is_empty());
        if let Some(r) = reasoning {
            comma(out, &mut n);
            out.extend_from_slice(b"{\"type\":\"thinking\",\"thinking\":");
            push_raw(out, r);
            out.extend_from_slice(b",\"signature\":null}");
        }
        if let Some(t) = m.get_str("content").filter(|t| !t.is_empty()) {
            comma(out, &mut n);
            out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
            push_raw(out, t);
            out.push(b'}');
        }
        if let Some(r) = refusal {
            comma(out, &mut n);
            out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
            push_raw(out, r);
            out.push(b'}');
        }
        for call in m.get("tool_calls").into_iter().flat_map(Val::elems) {
            comma(out, &mut n);
            an_tool_use_block(out, call)?;
        }
    }
    out.extend_from_slice(b"],\"stop_reason\":\"");
    let stop = stop_reason_from_finish(finish);
    out.extend_from_slice(if refusal.is_some() && stop != b"max_tokens" {
        b"refusal"
    } else {
        stop
    });
    out.extend_from_slice(b"\",\"stop_sequence\":null,\"usage\":");
    push_anthropic_usage(out, oa_usage(root.get("usage")));
    out.push(b'}');
    Ok(())
}

// ---------------------------------------------------------------------------
// OpenAI chat.completion.chunk stream -> Anthropic SSE stream
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OaBlock {
    None,
    Text,
    Thinking,
    /// A tool_use block for this OpenAI `tool_calls[].index`.
    Tool(u64),
}

/// Turns an OpenAI `chat.completion.chunk` stream into Anthropic's event
/// sequence, exactly in the order Anthropic sends it:
///
/// `message_start` (usage zeros, as LiteLLM sends it) → for each content
/// block `content_block_start` (a `ping` after the first one, as Anthropic
/// does) → `content_block_delta`s (`text_delta`, `thinking_delta` from
/// `reasoning_content`, `input_json_delta` from tool-call `arguments`) →
/// `content_block_stop` → `message_delta` (`stop_reason` and usage) →
/// `message_stop`.
///
/// A change of kind (text, thinking, a tool call with a new `index`) closes
/// the open block and opens the next. The `finish_reason` chunk closes the
/// block; `message_delta` then waits for the usage chunk OpenAI sends after
/// it (`stream_options.include_usage`, which
/// [`anthropic_to_openai_request`] asks for), or for `[DONE]` / [`finish`]
/// (usage zeros if none came). An OpenAI error object becomes an Anthropic
/// `error` event and ends the stream.
///
/// [`finish`]: OpenAiToAnthropicStream::finish
#[derive(Debug)]
pub struct OpenAiToAnthropicStream {
    model: Vec<u8>,
    started: bool,
    block: OaBlock,
    /// Anthropic index of the next block.
    next_index: u64,
    pinged: bool,
    /// Raw id of the open tool call.
    tool_id: Vec<u8>,
    stop_reason: Option<&'static [u8]>,
    usage: Option<TokenUsage>,
    delta_sent: bool,
    done: bool,
}

impl OpenAiToAnthropicStream {
    /// `client_model` is the name the client asked for.
    pub fn new(client_model: &str) -> Self {
        let mut model = Vec::with_capacity(client_model.len() + 2);
        push_quoted(&mut model, client_model.as_bytes());
        OpenAiToAnthropicStream {
            model,
            started: false,
            block: OaBlock::None,
            next_index: 0,
            pinged: false,
            tool_id: Vec::new(),
            stop_reason: None,
            usage: None,
            delta_sent: false,
            done: false,
        }
    }

    /// Whether `message_stop` (or a final error) has been written.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Token usage reported so far (OpenAI terms).
    pub fn usage(&self) -> TokenUsage {
        self.usage.unwrap_or_default()
    }

    fn event(out: &mut Vec<u8>, name: &[u8]) {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name);
        out.extend_from_slice(b"\ndata: ");
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        Self::event(out, b"message_start");
        out.extend_from_slice(b"{\"type\":\"message_start\",\"message\":{\"id\":\"msg_");
        push_uuid(out);
        out.extend_from_slice(
            b"\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":",
        );
        out.extend_from_slice(&self.model);
        out.extend_from_slice(b",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,\"output_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}}\n\n");
    }

    fn close_block(&mut self, out: &mut Vec<u8>) {
        if self.block == OaBlock::None {
            return;
        }
        self.block = OaBlock::None;
        Self::event(out, b"content_block_stop");
        out.extend_from_slice(b"{\"type\":\"content_block_stop\",\"index\":");
        push_u64(out, self.next_index.saturating_sub(1));
        out.extend_from_slice(b"}\n\n");
    }

    /// Opens a block; `content_block` is the JSON of its initial content.
    fn open_block(&mut self, out: &mut Vec<u8>, kind: OaBlock, head: &[u8], tool: Option<Val<'_>>) {
        self.close_block(out);
        Self::event(out, b"content_block_start");
        out.extend_from_slice(b"{\"type\":\"content_block_start\",\"index\":");
        push_u64(out, self.next_index);
        out.extend_from_slice(b",\"content_block\":");
        out.extend_from_slice(head);
        if let Some(tc) = tool {
            match tc.get_str("id").filter(|s| !s.is_empty()) {
                Some(id) => push_sanitized_id(out, id),
                None => {
                    out.extend_from_slice(b"\"toolu_");
                    push_uuid(out);
                    out.push(b'"');
                }
            }
            out.extend_from_slice(b",\"name\":");
            let name = tc.get("function").and_then(|f| f.get_str("name"));
            push_raw(out, name.unwrap_or(Str(b"")));
            out.extend_from_slice(b",\"input\":{}}");
        }
        out.extend_from_slice(b"}\n\n");
        self.block = kind;
        self.next_index += 1;
        if !self.pinged {
            self.pinged = true;
            Self::event(out, b"ping");
            out.extend_from_slice(b"{\"type\":\"ping\"}\n\n");
        }
    }

    fn delta(&self, out: &mut Vec<u8>, head: &[u8], raw: Str<'_>) {
        Self::event(out, b"content_block_delta");
        out.extend_from_slice(b"{\"type\":\"content_block_delta\",\"index\":");
        push_u64(out, self.next_index.saturating_sub(1));
        out.extend_from_slice(b",\"delta\":");
        out.extend_from_slice(head);
        push_raw(out, raw);
        out.extend_from_slice(b"}}\n\n");
    }

    fn message_delta(&mut self, out: &mut Vec<u8>) {
        if self.delta_sent {
            return;
        }
        self.delta_sent = true;
        Self::event(out, b"message_delta");
        out.extend_from_slice(b"{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"");
        out.extend_from_slice(self.stop_reason.unwrap_or(b"end_turn"));
        out.extend_from_slice(b"\",\"stop_sequence\":null},\"usage\":");
        push_anthropic_usage(out, self.usage.unwrap_or_default());
        out.extend_from_slice(b"}\n\n");
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        self.start(out);
        self.close_block(out);
        self.message_delta(out);
        Self::event(out, b"message_stop");
        out.extend_from_slice(b"{\"type\":\"message_stop\"}\n\n");
        self.done = true;
    }

    /// Feeds OpenAI SSE bytes (one or more complete `data:` events,
    /// `[DONE]` included) and appends the Anthropic events they produce.
    pub fn feed(&mut self, events: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        for ev in sse_events(events) {
            self.feed_one(ev, out)?;
        }
        Ok(())
    }

    fn feed_one(&mut self, ev: &[u8], out: &mut Vec<u8>) -> Res<()> {
        if self.done {
            return Ok(());
        }
        let e = parse_sse_event(ev);
        let Some(data) = e.data else { return Ok(()) };
        if trim_ascii(&data) == b"[DONE]" {
            self.end(out);
            return Ok(());
        }
        let root = parse_root(&data)?;
        self.start(out);
        if let Some(err) = root.get("error").filter(|e| e.is_obj()) {
            self.close_block(out);
            Self::event(out, b"error");
            out.extend_from_slice(
                b"{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":",
            );
            match err.get_str("message") {
                Some(m) => push_raw(out, m),
                None => push_quoted(out, err.0),
            }
            out.extend_from_slice(b"}}\n\n");
            self.done = true;
            return Ok(());
        }
        let choice = root.get("choices").and_then(|c| c.elems().next());
        if let Some(d) = choice.and_then(|c| c.get("delta")) {
            let reasoning = d
                .get_str("reasoning_content")
                .or_else(|| d.get_str("reasoning"))
                .filter(|r| !r.is_empty());
            if let Some(r) = reasoning {
                if self.block != OaBlock::Thinking {
                    self.open_block(
                        out,
                        OaBlock::Thinking,
                        b"{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}",
                        None,
                    );
                }
                self.delta(out, b"{\"type\":\"thinking_delta\",\"thinking\":", r);
            }
            let text = d.get_str("content").filter(|t| !t.is_empty());
            let refusal = d.get_str("refusal").filter(|t| !t.is_empty());
            for t in text.into_iter().chain(refusal) {
                if self.block != OaBlock::Text {
                    self.open_block(
                        out,
                        OaBlock::Text,
                        b"{\"type\":\"text\",\"text\":\"\"}",
                        None,
                    );
                }
                self.delta(out, b"{\"type\":\"text_delta\",\"text\":", t);
            }
            for tc in d.get("tool_calls").into_iter().flat_map(Val::elems) {
                let idx = tc.get("index").map_or(0, Val::count);
                // A new call: a new index, or (for providers that reuse
                // index 0) an id different from the open call's.
                let id = tc.get_str("id").filter(|s| !s.is_empty());
                let new_id = id.is_some_and(|id| id.0 != &self.tool_id[..]);
                if self.block != OaBlock::Tool(idx) || new_id {
                    self.tool_id.clear();
                    if let Some(id) = id {
                        self.tool_id.extend_from_slice(id.0);
                    }
                    self.open_block(
                        out,
                        OaBlock::Tool(idx),
                        b"{\"type\":\"tool_use\",\"id\":",
                        Some(tc),
                    );
                }
                let args = tc.get("function").and_then(|f| f.get_str("arguments"));
                if let Some(a) = args.filter(|a| !a.is_empty()) {
                    self.delta(out, b"{\"type\":\"input_json_delta\",\"partial_json\":", a);
                }
            }
            if choice.and_then(|c| c.get_str("finish_reason")).is_some() {
                self.close_block(out);
                self.stop_reason = Some(stop_reason_from_finish(
                    choice.and_then(|c| c.get_str("finish_reason")),
                ));
            }
        }
        if let Some(u) = root.get("usage").filter(|u| u.is_obj()) {
            self.usage = Some(oa_usage(Some(u)));
        }
        if self.stop_reason.is_some() && self.usage.is_some() {
            self.close_block(out);
            self.message_delta(out);
        }
        Ok(())
    }

    /// Call when the upstream ended cleanly without `[DONE]`: writes the
    /// closing events that are not out yet.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.done {
            self.end(out);
        }
    }
}

// ---------------------------------------------------------------------------
// Anthropic error envelope
// ---------------------------------------------------------------------------

/// Appends Anthropic's error body for an HTTP status:
/// `{"type":"error","error":{"type":…,"message":…}}` with the type Anthropic
/// uses for that status (400 and other 4xx `invalid_request_error`, 401
/// `authentication_error`, 402 `billing_error`, 403 `permission_error`, 404 `not_found_error`,
/// 413 `request_too_large`, 429 `rate_limit_error`, 503 and 529
/// `overloaded_error`, 504 `timeout_error`, other 5xx `api_error`).
pub fn anthropic_error_body(status: u16, message: &str, out: &mut Vec<u8>) {
    let kind: &[u8] = match status {
        401 => b"authentication_error",
        402 => b"billing_error",
        403 => b"permission_error",
        404 => b"not_found_error",
        413 => b"request_too_large",
        429 => b"rate_limit_error",
        503 | 529 => b"overloaded_error",
        504 => b"timeout_error",
        500..=599 => b"api_error",
        _ => b"invalid_request_error",
    };
    out.extend_from_slice(b"{\"type\":\"error\",\"error\":{\"type\":\"");
    out.extend_from_slice(kind);
    out.extend_from_slice(b"\",\"message\":");
    push_quoted(out, message.as_bytes());
    out.extend_from_slice(b"}}");
}
