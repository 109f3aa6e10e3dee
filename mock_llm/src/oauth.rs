//! Google's OAuth2 token endpoint, as a service account's JWT bearer grant
//! (RFC 7523) sees it: `POST /token` (and `/oauth2/v4/token`) with
//! `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`,
//! answering `{"access_token","expires_in","token_type":"Bearer"}` or
//! Google's `{"error","error_description"}` with status 400. This is what
//! google-auth (used by LiteLLM 1.106.2, `llms/vertex_ai/vertex_llm_base.py`)
//! and Ringway's `gcp_auth` talk to.
//!
//! With `--google-service-account FILE`, the JWT must be RS256-signed by
//! that account's key, issued by its `client_email`, addressed (`aud`) to
//! this endpoint's path, unexpired and at most an hour long. Without it, any
//! well-formed grant gets a token (and [`token_ok`] accepts anything).
//!
//! Tokens are `ya29.mock.<exp>.<hex HMAC-SHA256(secret, exp)>`, the secret
//! derived from the account's key, so any shard can check a token that
//! another issued without sharing state. `MOCK_LLM_TOKEN_TTL_S` shortens
//! their life (default 3599 s, Google's) for refresh tests.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::hmac;
use ring::signature::{RsaKeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivateKeyDer;

use crate::http::{push_response, Method, Plan};
use crate::providers::Req;

const TOKEN_PREFIX: &[u8] = b"ya29.mock.";
const JWT_BEARER: &[u8] = b"urn:ietf:params:oauth:grant-type:jwt-bearer";
const DEFAULT_TTL_S: u64 = 3599;
/// Google's limit on `exp - iat`.
const MAX_JWT_LIFE_S: u64 = 3600;
/// How far in the future `iat` may be (clock skew).
const MAX_SKEW_S: u64 = 300;
/// The HMAC key when no account is configured (tokens then prove nothing).
const NO_ACCOUNT_SECRET: &[u8] = b"mock_llm: no service account";

/// What a shard knows of the configured service account.
struct Account {
    email: String,
    /// DER `RSAPublicKey`, as `UnparsedPublicKey` takes it.
    public_key: Vec<u8>,
    secret: hmac::Key,
}

/// A shard's loaded account (or why it could not be loaded).
type Loaded = Rc<Result<Account, String>>;

thread_local! {
    /// The account loaded from `--google-service-account`, per shard thread,
    /// keyed by path (servers started in one process may differ).
    static ACCOUNT: RefCell<Option<(PathBuf, Loaded)>> =
        const { RefCell::new(None) };
    /// Tokens issued by this shard (shown in debug logs).
    static ISSUED: Cell<u64> = const { Cell::new(0) };
}

/// The shard's account, loaded on first use.
fn account(path: &Path) -> Loaded {
    ACCOUNT.with(|cell| {
        let mut cell = cell.borrow_mut();
        if let Some((p, acc)) = &*cell {
            if p == path {
                return acc.clone();
            }
        }
        let acc = Rc::new(
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))
                .and_then(|text| parse_account(&text))
                .map_err(|e| format!("--google-service-account {}: {e}", path.display())),
        );
        if let Err(e) = &*acc {
            log::error!("{e}");
        }
        *cell = Some((path.to_path_buf(), acc.clone()));
        acc
    })
}

/// Reads a service-account key file's JSON.
fn parse_account(text: &str) -> Result<Account, String> {
    #[derive(serde::Deserialize)]
    struct KeyFile {
        client_email: String,
        private_key: String,
    }
    let file: KeyFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let (key, der) = rsa_key(&file.private_key)?;
    Ok(Account {
        email: file.client_email,
        public_key: key.public().as_ref().to_vec(),
        secret: hmac::Key::new(hmac::HMAC_SHA256, &der),
    })
}

/// The key pair of a PKCS#8 (or PKCS#1) PEM, and its DER bytes.
fn rsa_key(pem: &str) -> Result<(RsaKeyPair, Vec<u8>), String> {
    let der =
        PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| format!("private_key: {e}"))?;
    let key = match &der {
        PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
        _ => return Err("private_key is not an RSA key".into()),
    };
    let key = key.map_err(|e| format!("private_key: {e}"))?;
    Ok((key, der.secret_der().to_vec()))
}

/// Token lifetime: `MOCK_LLM_TOKEN_TTL_S`, read once, else Google's.
fn ttl() -> u64 {
    static TTL: OnceLock<u64> = OnceLock::new();
    *TTL.get_or_init(|| {
        std::env::var("MOCK_LLM_TOKEN_TTL_S")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .filter(|&s| s > 0)
            .unwrap_or(DEFAULT_TTL_S)
    })
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Answers the token endpoint; `None` for any other request.
pub(crate) fn handle<'a>(
    req: &Req<'a, '_>,
    out: &mut Vec<u8>,
    _scratch: &mut Vec<u8>,
) -> Option<Plan<'a>> {
    if req.head.method != Method::Post || !matches!(req.path, b"/token" | b"/oauth2/v4/token") {
        return None;
    }
    let account = req.shard.cfg.google_service_account.as_deref().map(account);
    let result = match account.as_deref() {
        Some(Err(e)) => Err(Refusal::new(500, "internal_failure", e.clone())),
        Some(Ok(acc)) => grant(Some(acc), req.path, req.body, unix_now(), ttl()),
        None => grant(None, req.path, req.body, unix_now(), ttl()),
    };
    let (status, body) = match result {
        Ok(body) => {
            let n = ISSUED.with(|c| {
                c.set(c.get() + 1);
                c.get()
            });
            log::debug!("shard {}: access token #{n} issued", req.shard.index);
            (200, body)
        }
        Err(refusal) => (refusal.status, refusal.body()),
    };
    push_response(
        out,
        status,
        "application/json; charset=utf-8",
        req.connection(),
        &body,
    );
    // Not a model call: no --latency-ms.
    Some(Plan::Reply {
        delay: Duration::ZERO,
        close: req.head.close,
    })
}

/// Whether `token` (the bearer credential, with or without `Bearer `) was
/// issued by this mock for the configured account and has not expired.
/// Always true when no account is configured.
// Called by the Vertex AI routes (`gemini`); allowed until they land.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn token_ok(shard: &crate::Shard, token: &[u8]) -> bool {
    let Some(path) = shard.cfg.google_service_account.as_deref() else {
        return true;
    };
    match &*account(path) {
        Ok(acc) => check_token(&acc.secret, token, unix_now()),
        Err(_) => false,
    }
}

/// A refused grant, in Google's shape.
#[derive(Debug)]
struct Refusal {
    status: u16,
    error: &'static str,
    description: String,
}

impl Refusal {
    fn new(status: u16, error: &'static str, description: impl Into<String>) -> Refusal {
        Refusal {
            status,
            error,
            description: description.into(),
        }
    }

    fn invalid_grant(description: impl Into<String>) -> Refusal {
        Refusal::new(400, "invalid_grant", description)
    }

    fn body(&self) -> Vec<u8> {
        serde_json::json!({"error": self.error, "error_description": self.description})
            .to_string()
            .into_bytes()
    }
}

/// The claims Google checks (others are ignored).
#[derive(serde::Deserialize)]
struct Claims {
    iss: Option<String>,
    aud: Option<String>,
    scope: Option<String>,
    iat: Option<u64>,
    exp: Option<u64>,
}

/// Checks a token request's form body and returns the answer's JSON.
fn grant(
    account: Option<&Account>,
    path: &[u8],
    form: &[u8],
    now: u64,
    ttl: u64,
) -> Result<Vec<u8>, Refusal> {
    let grant_type = form_value(form, b"grant_type").unwrap_or_default();
    if grant_type != JWT_BEARER {
        return Err(Refusal::new(
            400,
            "unsupported_grant_type",
            format!(
                "Invalid grant_type: {}",
                String::from_utf8_lossy(&grant_type)
            ),
        ));
    }
    let assertion = form_value(form, b"assertion")
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            Refusal::new(
                400,
                "invalid_request",
                "Missing required parameter: assertion",
            )
        })?;
    let claims = verify_jwt(account, &assertion)?;
    if let Some(acc) = account {
        if claims.iss.as_deref() != Some(acc.email.as_str()) {
            return Err(Refusal::invalid_grant("Invalid grant: account not found"));
        }
    }
    if claims.scope.as_deref().filter(|s| !s.is_empty()).is_none() {
        return Err(Refusal::new(
            400,
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
        ));
    }
    if !aud_matches(claims.aud.as_deref().unwrap_or_default(), path) {
        return Err(Refusal::invalid_grant(
            "Invalid JWT: Failed audience check. The right audience is this token endpoint.",
        ));
    }
    let timely = match (claims.iat, claims.exp) {
        (Some(iat), Some(exp)) => {
            exp > now && exp >= iat && exp - iat <= MAX_JWT_LIFE_S && iat <= now + MAX_SKEW_S
        }
        _ => false,
    };
    if !timely {
        return Err(Refusal::invalid_grant(
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable \
             timeframe. Check your iat and exp values in the JWT claim.",
        ));
    }
    let secret = account.map(|a| &a.secret);
    let token = issue(secret, now + ttl);
    Ok(
        format!(r#"{{"access_token":"{token}","expires_in":{ttl},"token_type":"Bearer"}}"#)
            .into_bytes(),
    )
}

/// Decodes a JWT, checks it is RS256 and, with an account, its signature.
fn verify_jwt(account: Option<&Account>, jwt: &[u8]) -> Result<Claims, Refusal> {
    let malformed = || Refusal::invalid_grant("Invalid JWT: malformed assertion.");
    let mut parts = jwt.split(|&c| c == b'.');
    let (Some(header), Some(claims), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let decode = |part: &[u8]| URL_SAFE_NO_PAD.decode(part).map_err(|_| malformed());
    #[derive(serde::Deserialize)]
    struct Header {
        alg: String,
    }
    let head: Header = serde_json::from_slice(&decode(header)?).map_err(|_| malformed())?;
    if head.alg != "RS256" {
        return Err(Refusal::invalid_grant("Invalid JWT Signature."));
    }
    if let Some(acc) = account {
        let signed = &jwt[..header.len() + 1 + claims.len()];
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &acc.public_key)
            .verify(signed, &decode(sig)?)
            .map_err(|_| Refusal::invalid_grant("Invalid JWT Signature."))?;
    }
    serde_json::from_slice(&decode(claims)?).map_err(|_| malformed())
}

/// `aud` must be an http(s) URL whose path is the one the request came to
/// (the mock cannot know which host name the client used).
fn aud_matches(aud: &str, path: &[u8]) -> bool {
    let Some(rest) = aud
        .strip_prefix("https://")
        .or_else(|| aud.strip_prefix("http://"))
    else {
        return false;
    };
    rest.find('/')
        .is_some_and(|i| rest[i..].split('?').next().unwrap_or_default().as_bytes() == path)
}

/// The percent-decoded value of `name` in an `x-www-form-urlencoded` body.
fn form_value(form: &[u8], name: &[u8]) -> Option<Vec<u8>> {
    let raw = form.split(|&c| c == b'&').find_map(|kv| {
        let eq = kv.iter().position(|&c| c == b'=')?;
        (&kv[..eq] == name).then(|| &kv[eq + 1..])
    })?;
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let hex = |j: usize| raw.get(j).and_then(|&c| (c as char).to_digit(16));
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    Some(out)
}

fn mac_hex(secret: Option<&hmac::Key>, exp: u64) -> String {
    let fallback;
    let key = match secret {
        Some(k) => k,
        None => {
            fallback = hmac::Key::new(hmac::HMAC_SHA256, NO_ACCOUNT_SECRET);
            &fallback
        }
    };
    let tag = hmac::sign(key, exp.to_string().as_bytes());
    tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A token that expires at `exp` (Unix seconds).
fn issue(secret: Option<&hmac::Key>, exp: u64) -> String {
    format!(
        "{}{exp}.{}",
        String::from_utf8_lossy(TOKEN_PREFIX),
        mac_hex(secret, exp)
    )
}

/// Whether `token` came from [`issue`] with `secret` and is unexpired.
#[cfg_attr(not(test), allow(dead_code))]
fn check_token(secret: &hmac::Key, token: &[u8], now: u64) -> bool {
    let token = match token.get(..7) {
        Some(p) if p.eq_ignore_ascii_case(b"bearer ") => token[7..].trim_ascii(),
        _ => token,
    };
    let Some(rest) = token.strip_prefix(TOKEN_PREFIX) else {
        return false;
    };
    let Some(dot) = rest.iter().position(|&c| c == b'.') else {
        return false;
    };
    let Some(exp) = std::str::from_utf8(&rest[..dot])
        .ok()
        .filter(|s| s.bytes().all(|c| c.is_ascii_digit()))
        .and_then(|s| s.parse::<u64>().ok())
    else {
        return false;
    };
    let tag = &rest[dot + 1..];
    let mut mac = Vec::with_capacity(32);
    for pair in tag.chunks(2) {
        match std::str::from_utf8(pair)
            .ok()
            .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            Some(b) if pair.len() == 2 => mac.push(b),
            _ => return false,
        }
    }
    exp > now && hmac::verify(secret, exp.to_string().as_bytes(), &mac).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const FIXTURE: &str = include_str!("../../tests/fixtures/gcp-service-account.json");
    const FIXTURE_PATH: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/gcp-service-account.json"
    );
    const EMAIL: &str = "ringway-test@ringway-test.iam.gserviceaccount.com";
    const NOW: u64 = 1_700_000_000;
    const FORM_PREFIX: &str =
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=";

    fn key() -> RsaKeyPair {
        let v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
        rsa_key(v["private_key"].as_str().unwrap()).unwrap().0
    }

    /// A JWT with `claims`, signed by `key`.
    fn jwt(key: &RsaKeyPair, claims: serde_json::Value) -> String {
        let mut s = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT","kid":"k"}"#);
        s.push('.');
        s.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut sig = vec![0; key.public().modulus_len()];
        key.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            s.as_bytes(),
            &mut sig,
        )
        .unwrap();
        s.push('.');
        s.push_str(&URL_SAFE_NO_PAD.encode(sig));
        s
    }

    fn claims(aud: &str, iat: u64) -> serde_json::Value {
        serde_json::json!({
            "iss": EMAIL,
            "scope": "https://www.googleapis.com/auth/cloud-platform",
            "aud": aud,
            "iat": iat,
            "exp": iat + 3600,
        })
    }

    fn try_grant(assertion: &str, path: &[u8]) -> Result<serde_json::Value, Refusal> {
        let acc = parse_account(FIXTURE).unwrap();
        let form = format!("{FORM_PREFIX}{assertion}");
        grant(Some(&acc), path, form.as_bytes(), NOW, 3599)
            .map(|b| serde_json::from_slice(&b).unwrap())
    }

    #[test]
    fn accepts_a_jwt_signed_by_the_account() {
        let assertion = jwt(&key(), claims("http://127.0.0.1:4000/token", NOW - 10));
        let answer = try_grant(&assertion, b"/token").unwrap();
        assert_eq!(answer["expires_in"], 3599);
        assert_eq!(answer["token_type"], "Bearer");
        let token = answer["access_token"].as_str().unwrap();
        assert!(token.starts_with("ya29.mock."), "{token}");
        let acc = parse_account(FIXTURE).unwrap();
        assert!(check_token(&acc.secret, token.as_bytes(), NOW));
        assert!(check_token(
            &acc.secret,
            format!("Bearer {token}").as_bytes(),
            NOW
        ));
        // Google's path works too.
        let assertion = jwt(&key(), claims("https://h/oauth2/v4/token", NOW));
        assert!(try_grant(&assertion, b"/oauth2/v4/token").is_ok());
    }

    #[test]
    fn rejects_bad_grants() {
        let good = claims("http://127.0.0.1:4000/token", NOW);
        let err = |assertion: &str| try_grant(assertion, b"/token").unwrap_err();
        // A signature that is not the key's.
        let signed = jwt(&key(), good.clone());
        let (head_claims, _) = signed.rsplit_once('.').unwrap();
        let forged = format!("{head_claims}.{}", URL_SAFE_NO_PAD.encode([7u8; 256]));
        let e = err(&forged);
        assert_eq!((e.status, e.error), (400, "invalid_grant"));
        assert_eq!(e.description, "Invalid JWT Signature.");
        assert_eq!(
            e.body(),
            br#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#
        );
        // Claims swapped after signing.
        let mut evil = good.clone();
        evil["iss"] = "attacker@example.com".into();
        let swapped = jwt(&key(), evil);
        let swapped_claims = swapped.split('.').nth(1).unwrap();
        let mut parts: Vec<&str> = signed.split('.').collect();
        parts[1] = swapped_claims;
        assert_eq!(err(&parts.join(".")).description, "Invalid JWT Signature.");
        // Wrong audience path, and a non-URL audience.
        assert!(
            err(&jwt(&key(), claims("http://127.0.0.1:4000/other", NOW)))
                .description
                .contains("audience")
        );
        assert!(err(&jwt(&key(), claims("/token", NOW)))
            .description
            .contains("audience"));
        // Expired, too long, from the future.
        assert!(err(&jwt(&key(), claims("http://h/token", NOW - 3600)))
            .description
            .contains("short-lived"));
        let mut long = good.clone();
        long["exp"] = (NOW + 3601).into();
        assert!(err(&jwt(&key(), long)).description.contains("short-lived"));
        assert!(err(&jwt(&key(), claims("http://h/token", NOW + 600)))
            .description
            .contains("short-lived"));
        // Another account, missing scope, malformed.
        let mut stranger = good.clone();
        stranger["iss"] = "other@x.iam.gserviceaccount.com".into();
        assert!(err(&jwt(&key(), stranger))
            .description
            .contains("account not found"));
        let mut no_scope = good.clone();
        no_scope.as_object_mut().unwrap().remove("scope");
        assert_eq!(err(&jwt(&key(), no_scope)).error, "invalid_scope");
        assert!(err("a.b").description.contains("malformed"));
        assert!(err("!!.??.**").description.contains("malformed"));
        // Wrong grant type, missing assertion.
        let acc = parse_account(FIXTURE).unwrap();
        let e = grant(Some(&acc), b"/token", b"grant_type=password", NOW, 1).unwrap_err();
        assert_eq!(e.error, "unsupported_grant_type");
        let e = grant(Some(&acc), b"/token", FORM_PREFIX.as_bytes(), NOW, 1).unwrap_err();
        assert_eq!(e.error, "invalid_request");
    }

    #[test]
    fn without_an_account_any_well_formed_grant_passes() {
        let other_key = jwt(&key(), {
            let mut c = claims("http://h/token", NOW);
            c["iss"] = "anyone@example.com".into();
            c
        });
        let form = format!("{FORM_PREFIX}{other_key}");
        assert!(grant(None, b"/token", form.as_bytes(), NOW, 60).is_ok());
    }

    #[test]
    fn tokens_check_statelessly() {
        let acc = parse_account(FIXTURE).unwrap();
        let token = issue(Some(&acc.secret), NOW + 60);
        // Another load of the same account (another shard) accepts it.
        let again = parse_account(FIXTURE).unwrap();
        assert!(check_token(&again.secret, token.as_bytes(), NOW));
        assert!(
            !check_token(&again.secret, token.as_bytes(), NOW + 60),
            "expired"
        );
        let no_account = issue(None, NOW + 60);
        assert!(!check_token(&acc.secret, no_account.as_bytes(), NOW));
        let tampered = token.replace(&format!("{}", NOW + 60), &format!("{}", NOW + 6000));
        assert!(!check_token(&acc.secret, tampered.as_bytes(), NOW));
        for junk in ["", "ya29.mock.", "ya29.mock.1.", "ya29.mock.x.00", "sk-123"] {
            assert!(!check_token(&acc.secret, junk.as_bytes(), NOW), "{junk}");
        }
    }

    #[test]
    fn form_values_are_percent_decoded() {
        assert_eq!(form_value(b"a=1&b=x%3Ay+z%2", b"b").unwrap(), b"x:y z%2");
        assert_eq!(form_value(b"a=1", b"b"), None);
        assert_eq!(form_value(b"ab=1&a=", b"a").unwrap(), b"");
    }

    fn shard(account: Option<&str>) -> crate::Shard {
        let cfg = crate::Config {
            google_service_account: account.map(PathBuf::from),
            ..crate::Config::default()
        };
        crate::Shard::new(Arc::new(cfg), 0, 1)
    }

    /// A request through the mock's router, as the connection loop sends it.
    fn serve(shard: &crate::Shard, raw: &[u8]) -> (u16, serde_json::Value) {
        let crate::http::HeadResult::Done(head) = crate::http::parse_head(raw) else {
            panic!("bad head")
        };
        let body = &raw[head.len..];
        let (mut out, mut scratch) = (Vec::new(), Vec::new());
        let plan = crate::api::handle(shard, &head, raw, body, &mut out, &mut scratch);
        assert!(matches!(plan, Plan::Reply { delay, .. } if delay.is_zero()));
        let text = String::from_utf8(out).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        (
            head[9..12].parse().unwrap(),
            serde_json::from_str(body).unwrap(),
        )
    }

    #[test]
    fn token_ok_round_trip_through_the_route() {
        let shard = shard(Some(FIXTURE_PATH));
        let form = format!(
            "{FORM_PREFIX}{}",
            jwt(&key(), claims("http://localhost/token", unix_now()))
        );
        let raw = format!(
            "POST /token HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\n\
             content-length: {}\r\n\r\n{form}",
            form.len()
        );
        let (status, answer) = serve(&shard, raw.as_bytes());
        assert_eq!(status, 200, "{answer}");
        let token = answer["access_token"].as_str().unwrap();
        assert!(token_ok(&shard, token.as_bytes()));
        assert!(!token_ok(&shard, b"ya29.not-ours"));
        // Any shard (fresh cache on another thread) accepts it.
        let token = token.to_string();
        std::thread::spawn(move || {
            assert!(token_ok(&self::shard(Some(FIXTURE_PATH)), token.as_bytes()))
        })
        .join()
        .unwrap();
        // Bad signature: Google's 400.
        let bad = raw.replace(FORM_PREFIX, &format!("{FORM_PREFIX}x"));
        let (status, answer) = serve(&shard, bad.as_bytes());
        assert_eq!(status, 400);
        assert_eq!(answer["error"], "invalid_grant");
        // No account configured: everything passes token_ok.
        assert!(token_ok(&self::shard(None), b"anything"));
        // Unreadable account file: 500 and nothing passes.
        let broken = self::shard(Some("/nonexistent/sa.json"));
        assert!(!token_ok(&broken, b"ya29.mock.1.00"));
        let (status, answer) = serve(&broken, raw.as_bytes());
        assert_eq!(status, 500);
        assert!(answer["error_description"]
            .as_str()
            .unwrap()
            .contains("cannot read"));
    }
}
