//! JSON reading and writing shared by the format translators
//! ([`crate::anthropic`] and the other provider modules): a validating pull
//! parser that yields byte spans, cheap navigation over spans it has already
//! validated, writers that copy raw escaped strings, and SSE event
//! splitting. See the `anthropic` module's documentation for why the
//! translators do not build `serde_json` trees.

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

pub(crate) fn invalid<T>(msg: impl Into<String>) -> Result<T, TranslateError> {
    Err(TranslateError::Invalid(msg.into()))
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

// ---------------------------------------------------------------------------
// Reading JSON: a validating pull parser that yields spans, and cheap
// navigation over spans it has already validated.
// ---------------------------------------------------------------------------

pub(crate) type Res<T> = Result<T, TranslateError>;

/// Deepest nesting accepted inside one value (serde_json's default limit).
pub(crate) const MAX_DEPTH: u32 = 128;

/// The exact bytes of one JSON value that [`Strict`] has validated.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Val<'a>(pub(crate) &'a [u8]);

/// The body of a JSON string (between its quotes), escapes as they were.
/// Copying it between quotes yields the same string.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Str<'a>(pub(crate) &'a [u8]);

#[inline]
pub(crate) fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

#[inline]
pub(crate) fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|&c| is_ws(c)) {
        i += 1;
    }
    i
}

pub(crate) const LO: u64 = 0x0101_0101_0101_0101;
pub(crate) const HI: u64 = 0x8080_8080_8080_8080;

/// `i` is just after an opening quote; returns the index after the closing
/// one, or the offset of the first invalid byte. Eight bytes at a time: a
/// word without `"`, `\` or a control byte is skipped in one step.
pub(crate) fn strict_string_end(b: &[u8], mut i: usize) -> Result<usize, usize> {
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
pub(crate) struct Strict<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Strict<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Strict { b, i: 0 }
    }

    pub(crate) fn fail<T>(&self, what: &'static str) -> Res<T> {
        Err(TranslateError::Json { at: self.i, what })
    }

    pub(crate) fn peek(&mut self) -> Option<u8> {
        self.i = skip_ws(self.b, self.i);
        self.b.get(self.i).copied()
    }

    /// At an opening quote.
    pub(crate) fn string(&mut self) -> Res<Str<'a>> {
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

    pub(crate) fn literal(&mut self, lit: &[u8]) -> Res<()> {
        if self.b.get(self.i..self.i + lit.len()) == Some(lit) {
            self.i += lit.len();
            Ok(())
        } else {
            self.fail("invalid literal")
        }
    }

    pub(crate) fn digits(&mut self) -> Res<()> {
        let start = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        if self.i == start {
            return self.fail("invalid number");
        }
        Ok(())
    }

    pub(crate) fn number(&mut self) -> Res<()> {
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
    pub(crate) fn member_key(&mut self) -> Res<()> {
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
    pub(crate) fn value(&mut self) -> Res<Val<'a>> {
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

    pub(crate) fn begin_object(&mut self) -> Res<bool> {
        if self.peek() != Some(b'{') {
            return Ok(false);
        }
        self.i += 1;
        Ok(true)
    }

    /// The next key of the object being read (consuming its `:`), or `None`
    /// after the closing brace.
    pub(crate) fn key(&mut self, first: &mut bool) -> Res<Option<Str<'a>>> {
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

    pub(crate) fn begin_array(&mut self) -> Res<bool> {
        if self.peek() != Some(b'[') {
            return Ok(false);
        }
        self.i += 1;
        Ok(true)
    }

    /// Whether another element follows (consuming its `,`).
    pub(crate) fn elem(&mut self, first: &mut bool) -> Res<bool> {
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

    pub(crate) fn end(&mut self) -> Res<()> {
        if self.peek().is_some() {
            return self.fail("trailing data after the JSON value");
        }
        Ok(())
    }
}

/// An element of a content (or tools) array captured in the strict pass:
/// its whole span and the members the caller named, so later stages never
/// scan its (possibly long) strings again.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Part<'a, const N: usize> {
    pub(crate) all: Val<'a>,
    pub(crate) f: [Option<Val<'a>>; N],
}

/// The parts in `range` (empty when there is none): a message's or a
/// request's share of the flat list [`Strict::array_parts`] filled.
pub(crate) fn slice<T>(all: &[T], range: Option<(usize, usize)>) -> &[T] {
    range.and_then(|(a, b)| all.get(a..b)).unwrap_or_default()
}

/// A string member that is present and not empty.
pub(crate) fn nonempty_str(v: Option<Val<'_>>) -> Option<Str<'_>> {
    v.and_then(Val::str).filter(|s| !s.is_empty())
}

impl<'a, const N: usize> Part<'a, N> {
    pub(crate) fn val(&self, i: usize) -> Option<Val<'a>> {
        self.f.get(i).copied().flatten()
    }
    pub(crate) fn str(&self, i: usize) -> Option<Str<'a>> {
        self.val(i).and_then(Val::str)
    }
    pub(crate) fn is(&self, i: usize, s: &str) -> bool {
        self.str(i).is_some_and(|t| t.is(s))
    }
}

impl<'a> Strict<'a> {
    /// Reads one value; when it is an object, also returns the members named
    /// in `keys` (null as absent, the last duplicate winning), in one pass.
    pub(crate) fn fields<const N: usize>(&mut self, keys: &[&str; N]) -> Res<Part<'a, N>> {
        let start = skip_ws(self.b, self.i);
        let mut f = [None; N];
        if self.begin_object()? {
            let mut first = true;
            while let Some(k) = self.key(&mut first)? {
                let v = self.value()?;
                if let Some(slot) = keys.iter().position(|key| k.is(key)) {
                    f[slot] = Some(v).filter(|v| !v.is_null());
                }
            }
        } else {
            self.value()?;
        }
        Ok(Part {
            all: Val(self.b.get(start..self.i).unwrap_or_default()),
            f,
        })
    }

    /// Reads one value; when it is an array, its elements are captured into
    /// `parts` with [`Strict::fields`] and the range they fill is returned.
    pub(crate) fn array_parts<const N: usize>(
        &mut self,
        keys: &[&str; N],
        parts: &mut Vec<Part<'a, N>>,
    ) -> Res<(Val<'a>, Option<(usize, usize)>)> {
        let start = skip_ws(self.b, self.i);
        if !self.begin_array()? {
            return Ok((self.value()?, None));
        }
        let from = parts.len();
        let mut first = true;
        while self.elem(&mut first)? {
            parts.push(self.fields(keys)?);
        }
        let v = Val(self.b.get(start..self.i).unwrap_or_default());
        Ok((v, Some((from, parts.len()))))
    }
}

pub(crate) fn check_utf8(body: &[u8]) -> Res<()> {
    std::str::from_utf8(body)
        .map(|_| ())
        .map_err(|e| TranslateError::Json {
            at: e.valid_up_to(),
            what: "invalid UTF-8",
        })
}

/// Validates a whole body that must be one JSON object.
pub(crate) fn parse_root(body: &[u8]) -> Res<Val<'_>> {
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

/// Reads a whole body that must be one JSON object in one validating pass,
/// handing each member's key to `member`, which must consume the value.
pub(crate) fn read_root<'a>(
    body: &'a [u8],
    mut member: impl FnMut(&mut Strict<'a>, Str<'a>) -> Res<()>,
) -> Res<()> {
    check_utf8(body)?;
    let mut p = Strict::new(body);
    if p.peek().is_none() {
        return Err(TranslateError::Json {
            at: 0,
            what: "empty body",
        });
    }
    if !p.begin_object()? {
        p.value()?;
        p.end()?;
        return Err(TranslateError::NotObject);
    }
    let mut first = true;
    while let Some(k) = p.key(&mut first)? {
        member(&mut p, k)?;
    }
    p.end()
}

/// Validates `b` as exactly one JSON value (UTF-8 already known).
pub(crate) fn is_valid_json(b: &[u8]) -> bool {
    let mut p = Strict::new(b);
    p.value().is_ok() && p.end().is_ok()
}

// Navigation over validated spans: no error paths are reachable, so these
// return `Option`/end the iteration instead of erroring.

/// `i` is just after an opening quote; returns the index after the closing.
/// Only quotes stop the search (escaped newlines and the like cost
/// nothing); a quote preceded by an odd run of backslashes is escaped.
pub(crate) fn skip_str(b: &[u8], mut i: usize) -> usize {
    loop {
        let Some(rest) = b.get(i..) else {
            return b.len();
        };
        let Some(o) = memchr::memchr(b'"', rest) else {
            return b.len();
        };
        let j = i + o;
        let run = b[i..j].iter().rev().take_while(|&&c| c == b'\\').count();
        if run % 2 == 0 {
            return j + 1;
        }
        i = j + 1;
    }
}

/// `i` is at the first byte of a value; returns the index after it.
pub(crate) fn skip_val(b: &[u8], mut i: usize) -> usize {
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
pub(crate) struct Members<'a> {
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
pub(crate) struct Elems<'a> {
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
    pub(crate) fn first(self) -> u8 {
        self.0.first().copied().unwrap_or(b'n')
    }
    pub(crate) fn is_obj(self) -> bool {
        self.first() == b'{'
    }
    pub(crate) fn is_arr(self) -> bool {
        self.first() == b'['
    }
    pub(crate) fn is_null(self) -> bool {
        self.0 == b"null"
    }
    pub(crate) fn is_num(self) -> bool {
        matches!(self.first(), b'-' | b'0'..=b'9')
    }
    pub(crate) fn members(self) -> Members<'a> {
        if self.is_obj() {
            Members { b: self.0, i: 1 }
        } else {
            Members { b: &[], i: 0 }
        }
    }
    pub(crate) fn elems(self) -> Elems<'a> {
        if self.is_arr() {
            Elems { b: self.0, i: 1 }
        } else {
            Elems { b: &[], i: 0 }
        }
    }
    pub(crate) fn str(self) -> Option<Str<'a>> {
        if self.first() == b'"' && self.0.len() >= 2 {
            self.0.get(1..self.0.len() - 1).map(Str)
        } else {
            None
        }
    }
    pub(crate) fn bool(self) -> Option<bool> {
        match self.0 {
            b"true" => Some(true),
            b"false" => Some(false),
            _ => None,
        }
    }
    /// A member by key (the last one wins, as in Python's `json`).
    pub(crate) fn get(self, key: &str) -> Option<Val<'a>> {
        let mut found = None;
        for (k, v) in self.members() {
            if k.is(key) {
                found = Some(v);
            }
        }
        found
    }
    /// Several members in one pass (null as absent, the last duplicate
    /// winning).
    pub(crate) fn fields<const N: usize>(self, keys: &[&str; N]) -> [Option<Val<'a>>; N] {
        let mut f = [None; N];
        for (k, v) in self.members() {
            if let Some(slot) = keys.iter().position(|key| k.is(key)) {
                f[slot] = Some(v).filter(|v| !v.is_null());
            }
        }
        f
    }
    pub(crate) fn get_str(self, key: &str) -> Option<Str<'a>> {
        self.get(key).and_then(Val::str)
    }
    pub(crate) fn num(self) -> Option<f64> {
        if !self.is_num() {
            return None;
        }
        std::str::from_utf8(self.0).ok()?.parse().ok()
    }
    /// A token count: non-negative integers (floats rounded), else 0.
    pub(crate) fn count(self) -> u64 {
        match self.num() {
            Some(n) if n > 0.0 && n.is_finite() => n.round() as u64,
            _ => 0,
        }
    }
}

impl<'a> Str<'a> {
    pub(crate) fn has_escapes(self) -> bool {
        memchr::memchr(b'\\', self.0).is_some()
    }
    /// The decoded bytes (borrowed when there is nothing to decode).
    pub(crate) fn decoded(self) -> Option<Cow<'a, [u8]>> {
        if !self.has_escapes() {
            return Some(Cow::Borrowed(self.0));
        }
        let mut v = Vec::with_capacity(self.0.len());
        unescape_into(&mut v, self.0).ok()?;
        Some(Cow::Owned(v))
    }
    /// Whether the decoded string equals `s`.
    pub(crate) fn is(self, s: &str) -> bool {
        if self.0 == s.as_bytes() {
            return true;
        }
        if !self.has_escapes() {
            return false;
        }
        self.decoded().is_some_and(|d| *d == *s.as_bytes())
    }
    pub(crate) fn is_empty(self) -> bool {
        self.0.is_empty()
    }
    /// Empty or only whitespace once decoded (Python's `not s.strip()`).
    pub(crate) fn is_blank(self) -> bool {
        // Stops at the first visible ASCII character, so a long text costs
        // a few bytes; only exotic leading characters take the slow path.
        let b = self.0;
        let mut i = 0;
        while let Some(&c) = b.get(i) {
            match c {
                b' ' => i += 1,
                b'\\' if matches!(b.get(i + 1), Some(b'n' | b't' | b'r' | b'f')) => i += 2,
                b'\\' => break,
                c if c.is_ascii() => return false,
                _ => break,
            }
        }
        if i == b.len() {
            return true;
        }
        match self.decoded() {
            Some(d) => std::str::from_utf8(&d).is_ok_and(|s| s.trim().is_empty()),
            None => false,
        }
    }
    pub(crate) fn starts_with(self, p: &[u8]) -> bool {
        self.0.starts_with(p)
    }
}

pub(crate) fn hex4(h: Option<&[u8]>) -> Result<u32, ()> {
    let h = h.ok_or(())?;
    let mut v = 0u32;
    for &c in h {
        let d = (c as char).to_digit(16).ok_or(())?;
        v = v * 16 + d;
    }
    Ok(v)
}

/// Appends the decoded form of a raw JSON string body.
pub(crate) fn unescape_into(out: &mut Vec<u8>, raw: &[u8]) -> Result<(), ()> {
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
pub(crate) fn push_escaped(out: &mut Vec<u8>, s: &[u8]) {
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
pub(crate) fn push_quoted(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    push_escaped(out, s);
    out.push(b'"');
}

/// Runs `write`, which appends to `out`, and on an error removes what it
/// appended: every public translation leaves `out` as it found it when it
/// fails, so a caller can reuse the buffer for the error body.
pub(crate) fn rollback_on_err<T>(
    out: &mut Vec<u8>,
    write: impl FnOnce(&mut Vec<u8>) -> Res<T>,
) -> Res<T> {
    let mark = out.len();
    let r = write(out);
    if r.is_err() {
        out.truncate(mark);
    }
    r
}

/// Separator between array elements written so far (`n` counts them).
pub(crate) fn comma(out: &mut Vec<u8>, n: &mut usize) {
    if *n > 0 {
        out.push(b',');
    }
    *n += 1;
}

/// Appends a raw string body between quotes.
pub(crate) fn push_raw(out: &mut Vec<u8>, s: Str<'_>) {
    out.push(b'"');
    out.extend_from_slice(s.0);
    out.push(b'"');
}

pub(crate) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
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
pub(crate) fn push_uuid(out: &mut Vec<u8>) {
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

pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

// ---------------------------------------------------------------------------
// Server-sent events
// ---------------------------------------------------------------------------

/// One SSE event: its `event:` name and its `data:` lines joined by `\n`
/// (borrowed when there is one line, the usual case).
pub(crate) struct SseEvent<'a> {
    pub(crate) name: Option<&'a [u8]>,
    pub(crate) data: Option<Cow<'a, [u8]>>,
}

pub(crate) fn trim_ascii(mut s: &[u8]) -> &[u8] {
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

pub(crate) fn parse_sse_event(ev: &[u8]) -> SseEvent<'_> {
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

/// Where the first blank line (`\n\n`, `\n\r\n`) in `b` starts and how
/// long it is: one linear pass over the newlines.
pub(crate) fn event_boundary(b: &[u8]) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(o) = b.get(from..).and_then(|r| memchr::memchr(b'\n', r)) {
        let i = from + o;
        match (b.get(i + 1), b.get(i + 2)) {
            (Some(b'\n'), _) => return Some((i, 2)),
            (Some(b'\r'), Some(b'\n')) => return Some((i, 3)),
            _ => from = i + 1,
        }
    }
    None
}

/// Splits a buffer into SSE events at blank lines (the last may lack one).
pub(crate) fn sse_events(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = buf;
    std::iter::from_fn(move || loop {
        if rest.is_empty() {
            return None;
        }
        let (ev, next) = match event_boundary(rest) {
            Some((i, n)) => (&rest[..i], &rest[i + n..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        if !trim_ascii(ev).is_empty() {
            return Some(ev);
        }
    })
}
