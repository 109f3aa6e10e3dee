//! Who is calling: the API key a request carries, checked against the master
//! key.
//!
//! The key is looked for where LiteLLM looks (`get_api_key` in
//! `proxy/auth/user_api_key_auth.py`), first match wins: `x-litellm-api-key`,
//! `Authorization` (`Bearer `/`bearer `/`Basic ` stripped), `api-key` (Azure
//! SDKs), `x-api-key` (Anthropic SDKs). The comparison is constant-time in the
//! key's length so response timing does not leak how many bytes matched.

use crate::http::KnownHeaders;

/// The outcome of checking a request's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No master key configured: every caller is admitted (LiteLLM's dev mode).
    Open,
    /// The master key.
    Master,
    /// No key in any of the headers: LiteLLM's 401 "No api key passed in.".
    Missing,
    /// An `Authorization` header without a `Bearer `/`Basic ` scheme, or an
    /// empty one after the scheme: LiteLLM's 401 "Malformed API Key".
    Malformed,
    /// A key that is not the master key. LiteLLM without a database answers
    /// these with 400 "No connected db.".
    Wrong,
}

/// What one header yields.
enum Found<'a> {
    Key(&'a [u8]),
    Malformed,
}

/// `Authorization` (and `x-litellm-api-key`) values: the scheme prefix is
/// stripped; `Basic` keys are used as-is, not base64-decoded (LiteLLM does
/// the same).
fn strip_scheme(v: &[u8]) -> Option<&[u8]> {
    for p in [&b"Bearer "[..], b"bearer ", b"Basic "] {
        if let Some(rest) = v.strip_prefix(p) {
            return Some(rest);
        }
    }
    None
}

fn found<'a>(buf: &'a [u8], h: &KnownHeaders) -> Option<Found<'a>> {
    let pick = |r: &Option<std::ops::Range<usize>>| r.clone().map(|r| &buf[r]);
    if let Some(v) = pick(&h.x_litellm_api_key).filter(|v| !v.is_empty()) {
        // A bare key is accepted here too.
        return Some(Found::Key(strip_scheme(v).unwrap_or(v)));
    }
    // A non-empty Authorization decides, even when it is malformed.
    if let Some(v) = pick(&h.authorization).filter(|v| !v.is_empty()) {
        return Some(match strip_scheme(v) {
            Some(k) if !k.is_empty() => Found::Key(k),
            _ => Found::Malformed,
        });
    }
    if let Some(v) = pick(&h.api_key).filter(|v| !v.is_empty()) {
        return Some(Found::Key(v));
    }
    pick(&h.x_api_key).filter(|v| !v.is_empty()).map(Found::Key)
}

/// The key a request carries, if any (malformed `Authorization` → none).
pub fn extract<'a>(buf: &'a [u8], h: &KnownHeaders) -> Option<&'a [u8]> {
    match found(buf, h) {
        Some(Found::Key(k)) => Some(k),
        _ => None,
    }
}

/// Constant-time equality (time depends only on the lengths).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() != b.len()) as u8;
    // Walk the expected key's length whatever the candidate is, so timing
    // reveals neither a prefix match nor the candidate's length.
    for (i, &x) in b.iter().enumerate() {
        let y = a.get(i).copied().unwrap_or(!x);
        diff |= x ^ y;
    }
    diff == 0
}

/// Checks a request against the configured master key.
pub fn check(buf: &[u8], h: &KnownHeaders, master_key: Option<&[u8]>) -> Verdict {
    let Some(master) = master_key else {
        return Verdict::Open;
    };
    match found(buf, h) {
        None => Verdict::Missing,
        Some(Found::Malformed) => Verdict::Malformed,
        Some(Found::Key(k)) if ct_eq(k, master) => Verdict::Master,
        Some(Found::Key(_)) => Verdict::Wrong,
    }
}

/// LiteLLM masks a presented key in messages as its first and last four
/// characters; shorter keys are shown whole-masked.
pub fn mask(key: &[u8], out: &mut Vec<u8>) {
    if key.len() > 8 {
        out.extend_from_slice(&key[..4]);
        out.extend_from_slice(b"****");
        out.extend_from_slice(&key[key.len() - 4..]);
    } else {
        out.extend_from_slice(b"****");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{parse_request, Limits};

    fn verdict(raw: &str, master: Option<&str>) -> Verdict {
        let lim = Limits {
            max_header_bytes: 8192,
            max_headers: 64,
            max_body_bytes: 1024,
        };
        let h = parse_request(raw.as_bytes(), &lim).unwrap().unwrap();
        check(raw.as_bytes(), &h.headers, master.map(str::as_bytes))
    }

    #[test]
    fn every_header_works() {
        let m = Some("sk-master-123");
        for hdr in [
            "Authorization: Bearer sk-master-123",
            "authorization: bearer sk-master-123",
            "x-litellm-api-key: sk-master-123",
            "x-litellm-api-key: Bearer sk-master-123",
            "Authorization: Basic sk-master-123",
            "api-key: sk-master-123",
            "x-api-key: sk-master-123",
        ] {
            let raw = format!("GET / HTTP/1.1\r\n{hdr}\r\n\r\n");
            assert_eq!(verdict(&raw, m), Verdict::Master, "{hdr}");
        }
    }

    #[test]
    fn missing_wrong_open() {
        assert_eq!(
            verdict("GET / HTTP/1.1\r\n\r\n", Some("sk-a")),
            Verdict::Missing
        );
        assert_eq!(
            verdict("GET / HTTP/1.1\r\nAuthorization: \r\n\r\n", Some("sk-a")),
            Verdict::Missing
        );
        assert_eq!(
            verdict(
                "GET / HTTP/1.1\r\nAuthorization: Bearer sk-b\r\n\r\n",
                Some("sk-a")
            ),
            Verdict::Wrong
        );
        assert_eq!(verdict("GET / HTTP/1.1\r\n\r\n", None), Verdict::Open);
    }

    #[test]
    fn ct_eq_cases() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abd", b"abc"));
        assert!(!ct_eq(b"ab", b"abc"));
        assert!(!ct_eq(b"abcd", b"abc"));
        assert!(!ct_eq(b"", b"abc"));
    }
}
