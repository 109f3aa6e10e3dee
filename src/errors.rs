//! Error responses in LiteLLM's exact shapes.
//!
//! Every error the proxy emits is `{"error":{"message","type","param","code"}}`
//! with `code` a *string* of the status (LiteLLM's `ProxyException.to_dict`).
//! Bodies are written straight into the connection's write buffer: no
//! `serde_json::Value`, no `String` per error.

use crate::http::{push_u64, write_status_line};

/// `param` as LiteLLM serialises it: some paths emit the string `"None"`
/// (a Python `str(None)`), others JSON `null`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param<'a> {
    NoneString,
    Null,
    Str(&'a str),
}

/// One error to send.
#[derive(Clone, Copy, Debug)]
pub struct ApiError<'a> {
    pub status: u16,
    pub message: &'a str,
    /// `type`; `None` writes JSON `null` (LiteLLM does for some upstream errors).
    pub kind: Option<&'a str>,
    pub param: Param<'a>,
    /// Repeat the message as `provider_specific_fields.error` (LiteLLM's
    /// "Invalid model name" body does).
    pub psf: bool,
}

/// Headers LiteLLM's app puts on every response (its security middleware).
pub const SECURITY_HEADERS: &[u8] = b"vary: Origin\r\nx-frame-options: DENY\r\ncontent-security-policy: frame-ancestors 'none'\r\nx-content-type-options: nosniff\r\n";

impl<'a> ApiError<'a> {
    pub const fn new(status: u16, kind: &'a str, message: &'a str) -> Self {
        ApiError {
            status,
            message,
            kind: Some(kind),
            param: Param::Null,
            psf: false,
        }
    }
    pub const fn with_param(mut self, p: Param<'a>) -> Self {
        self.param = p;
        self
    }
    pub const fn with_psf(mut self) -> Self {
        self.psf = true;
        self
    }
}

/// Appends `s` JSON-escaped (without quotes).
pub fn push_json_escaped(out: &mut Vec<u8>, s: &[u8]) {
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
                out.push(b"0123456789abcdef"[(c >> 4) as usize]);
                out.push(b"0123456789abcdef"[(c & 15) as usize]);
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

/// Appends the JSON error body.
pub fn write_body(out: &mut Vec<u8>, e: &ApiError) {
    out.extend_from_slice(b"{\"error\":{\"message\":\"");
    push_json_escaped(out, e.message.as_bytes());
    out.extend_from_slice(b"\",\"type\":");
    match e.kind {
        Some(k) => {
            out.push(b'"');
            push_json_escaped(out, k.as_bytes());
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"param\":");
    match e.param {
        Param::NoneString => out.extend_from_slice(b"\"None\""),
        Param::Null => out.extend_from_slice(b"null"),
        Param::Str(p) => {
            out.push(b'"');
            push_json_escaped(out, p.as_bytes());
            out.push(b'"');
        }
    }
    out.extend_from_slice(b",\"code\":\"");
    push_u64(out, e.status as u64);
    out.push(b'"');
    if e.psf {
        out.extend_from_slice(b",\"provider_specific_fields\":{\"error\":\"");
        push_json_escaped(out, e.message.as_bytes());
        out.extend_from_slice(b"\"}");
    }
    out.extend_from_slice(b"}}");
}

/// A complete response whose body is written by `body` (JSON), with the
/// Content-Length patched in afterwards.
pub fn write_json_response(
    out: &mut Vec<u8>,
    status: u16,
    close: bool,
    extra_headers: &[u8],
    body: impl FnOnce(&mut Vec<u8>),
) {
    write_status_line(out, status);
    out.extend_from_slice(b"content-type: application/json\r\ncontent-length: ");
    let len_at = out.len();
    out.extend_from_slice(b"          \r\n");
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(extra_headers);
    out.extend_from_slice(SECURITY_HEADERS);
    out.extend_from_slice(b"\r\n");
    let body_start = out.len();
    body(out);
    let body_len = out.len() - body_start;
    patch_len(out, len_at, body_len);
}

/// FastAPI's `{"detail": "..."}` body, which LiteLLM returns for unknown
/// routes (404) and wrong methods (405).
pub fn write_detail_response(
    out: &mut Vec<u8>,
    status: u16,
    detail: &str,
    close: bool,
    extra_headers: &[u8],
) {
    write_json_response(out, status, close, extra_headers, |o| {
        o.extend_from_slice(b"{\"detail\":\"");
        push_json_escaped(o, detail.as_bytes());
        o.extend_from_slice(b"\"}");
    });
}

/// Appends a complete HTTP response carrying the error. `close` adds
/// `connection: close` (framing errors, shutdown).
pub fn write_response(out: &mut Vec<u8>, e: &ApiError, close: bool, extra_headers: &[u8]) {
    write_json_response(out, e.status, close, extra_headers, |o| write_body(o, e));
}

/// Writes `n` left-aligned into 10 bytes reserved earlier, padded with
/// spaces (whitespace before CRLF is allowed in a field value). Lets a head be
/// written before its body length is known, without a second buffer.
pub fn patch_len(out: &mut [u8], at: usize, n: usize) {
    let mut digits = [b' '; 10];
    let mut rev = [0u8; 20];
    let (mut v, mut len) = (n, 0);
    loop {
        rev[len] = b'0' + (v % 10) as u8;
        len += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for (i, d) in digits.iter_mut().enumerate().take(len.min(10)) {
        *d = rev[len - 1 - i];
    }
    out[at..at + 10].copy_from_slice(&digits);
}

// LiteLLM's fixed messages, from `proxy/auth/user_api_key_auth.py` and the
// router. Kept here so tests and code share one spelling.
pub const NO_KEY: ApiError<'static> = ApiError::new(
    401,
    "auth_error",
    "Authentication Error, No api key passed in.",
)
.with_param(Param::NoneString);

pub const MALFORMED_KEY: ApiError<'static> = ApiError::new(
    401,
    "auth_error",
    "Authentication Error, Malformed API Key passed in. Ensure Key has `Bearer ` prefix.",
)
.with_param(Param::NoneString);

/// LiteLLM without a database answers any key but the master key so.
pub const NO_DB: ApiError<'static> = ApiError::new(400, "no_db_connection", "No connected db.");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_body_is_litellms() {
        let mut v = Vec::new();
        write_body(&mut v, &NO_KEY);
        assert_eq!(
            std::str::from_utf8(&v).unwrap(),
            r#"{"error":{"message":"Authentication Error, No api key passed in.","type":"auth_error","param":"None","code":"401"}}"#
        );
    }

    #[test]
    fn escaping() {
        let mut v = Vec::new();
        push_json_escaped(&mut v, b"a\"b\\c\nd\x01");
        assert_eq!(v, br#"a\"b\\c\nd\u0001"#.to_vec());
    }

    #[test]
    fn response_has_exact_length() {
        let mut v = Vec::new();
        write_response(&mut v, &NO_KEY, true, b"x-a: b\r\n");
        let text = String::from_utf8(v).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let cl: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(cl, body.len());
        assert!(head.contains("connection: close"));
        serde_json::from_str::<serde_json::Value>(body).unwrap();
    }
}
