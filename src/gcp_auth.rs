//! Google service-account OAuth2 for Vertex AI: the access token that every
//! Vertex request carries as `Authorization: Bearer ...`.
//!
//! Follows LiteLLM 1.106.2 `llms/vertex_ai/vertex_llm_base.py` (`load_auth`,
//! `get_access_token`): `vertex_credentials` is a path to a service-account
//! JSON file or the JSON itself (else `GOOGLE_APPLICATION_CREDENTIALS`), and
//! the token comes from google-auth's JWT bearer grant (RFC 7523): an RS256
//! JWT signed with the account's key is POSTed to its `token_uri`, which
//! answers `{"access_token","expires_in","token_type"}`.
//!
//! Unlike LiteLLM, which refreshes on the request path (under a lock), the
//! token lives in a [`TokenSource`] shared by all shards and refreshed by a
//! dedicated thread ahead of expiry, with blocking std I/O so no shard ever
//! waits on Google. Shards read it through a [`TokenHandle`]: one atomic load
//! per request, and a lock only once per refresh to copy the new token.
//!
//! Only `type: service_account` is supported (not `authorized_user` from
//! `gcloud auth application-default login`, nor workload identity
//! federation, nor the GCE metadata server).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivateKeyDer;

/// The scope LiteLLM asks for (`vertex_llm_base.py`).
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// google-auth's default when the JSON has no `token_uri`.
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// Lifetime of the signed assertion (Google's maximum).
const JWT_LIFETIME_S: u64 = 3600;

/// A parsed service-account key file.
pub struct ServiceAccount {
    pub client_email: String,
    pub private_key_id: Option<String>,
    pub token_uri: String,
    pub project_id: Option<String>,
    key: RsaKeyPair,
}

impl std::fmt::Debug for ServiceAccount {
    // By hand so the key never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("token_uri", &self.token_uri)
            .field("project_id", &self.project_id)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key: Option<String>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
    project_id: Option<String>,
}

impl ServiceAccount {
    /// Parses the JSON of a service-account key file.
    pub fn from_json(text: &str) -> Result<ServiceAccount, String> {
        // serde_json's message quotes no input, so the key cannot leak here.
        let file: KeyFile = serde_json::from_str(text).map_err(|e| {
            format!(
                "Unable to load vertex credentials: the JSON is not valid \
                 (check for unescaped newlines in private_key): {e}"
            )
        })?;
        match file.kind.as_deref() {
            Some("service_account") => {}
            Some(other) => {
                return Err(format!(
                    "vertex credentials of type '{other}' are not supported; \
                     use a service-account key file (type 'service_account')"
                ))
            }
            None => return Err("vertex credentials: missing 'type'".into()),
        }
        let client_email = file
            .client_email
            .filter(|e| !e.is_empty())
            .ok_or("vertex credentials: missing 'client_email'")?;
        let pem = file
            .private_key
            .ok_or("vertex credentials: missing 'private_key'")?;
        let key = rsa_key_from_pem(&pem)?;
        let token_uri = file
            .token_uri
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| DEFAULT_TOKEN_URI.to_string());
        crate::upstream::parse_base_url(&token_uri)
            .map_err(|e| format!("vertex credentials: bad token_uri: {e}"))?;
        Ok(ServiceAccount {
            client_email,
            private_key_id: file.private_key_id.filter(|k| !k.is_empty()),
            token_uri,
            project_id: file.project_id.filter(|p| !p.is_empty()),
            key,
        })
    }

    /// `spec` is JSON text when it starts with `{`, else a file path (what
    /// LiteLLM's `vertex_credentials` accepts).
    pub fn load(spec: &str) -> Result<ServiceAccount, String> {
        let trimmed = spec.trim_start();
        if trimmed.starts_with('{') {
            return Self::from_json(trimmed);
        }
        let text = std::fs::read_to_string(spec)
            .map_err(|e| format!("cannot read vertex credentials file {spec}: {e}"))?;
        Self::from_json(&text).map_err(|e| format!("{spec}: {e}"))
    }

    /// [`ServiceAccount::load`] of `spec`, else of the file named by
    /// `GOOGLE_APPLICATION_CREDENTIALS` (google-auth's default lookup).
    pub fn load_or_default(spec: Option<&str>) -> Result<ServiceAccount, String> {
        if let Some(spec) = spec.filter(|s| !s.trim().is_empty()) {
            return Self::load(spec);
        }
        match std::env::var("GOOGLE_APPLICATION_CREDENTIALS") {
            Ok(path) if !path.is_empty() => Self::load(&path),
            _ => Err("no vertex credentials: set vertex_credentials or \
                      GOOGLE_APPLICATION_CREDENTIALS to a service-account key file"
                .into()),
        }
    }

    /// The RS256 assertion for the JWT bearer grant, issued at `now_secs`.
    pub fn signed_jwt(&self, scope: &str, now_secs: u64) -> Result<String, String> {
        let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = &self.private_key_id {
            header["kid"] = kid.as_str().into();
        }
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": scope,
            "aud": self.token_uri,
            "iat": now_secs,
            "exp": now_secs + JWT_LIFETIME_S,
        });
        let mut jwt = URL_SAFE_NO_PAD.encode(header.to_string());
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(claims.to_string(), &mut jwt);
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                jwt.as_bytes(),
                &mut sig,
            )
            .map_err(|_| "signing the JWT failed".to_string())?;
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(&sig, &mut jwt);
        Ok(jwt)
    }

    /// One token exchange at `token_uri` (blocking).
    fn fetch_token(&self, tls: &mut Option<Arc<rustls::ClientConfig>>) -> Result<Token, Failure> {
        let jwt = self
            .signed_jwt(CLOUD_PLATFORM_SCOPE, unix_now())
            .map_err(Failure::Permanent)?;
        let mut form = String::with_capacity(jwt.len() + 80);
        form.push_str(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=",
        );
        form.push_str(&jwt); // base64url and dots: nothing to percent-encode
        let (status, body) = post_form(&self.token_uri, form.as_bytes(), tls)
            .map_err(|e| Failure::Transient(format!("token request to {}: {e}", self.token_uri)))?;
        parse_token_answer(status, &body).map_err(|e| e.context(&self.token_uri))
    }
}

/// The RSA key of a PEM `PRIVATE KEY` (PKCS#8, what Google issues) or
/// `RSA PRIVATE KEY` (PKCS#1) block.
fn rsa_key_from_pem(pem: &str) -> Result<RsaKeyPair, String> {
    let der = PrivateKeyDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| format!("vertex credentials: private_key is not a PEM private key: {e}"))?;
    let key = match &der {
        PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
        _ => return Err("vertex credentials: private_key is not an RSA key".into()),
    };
    key.map_err(|e| format!("vertex credentials: private_key is not a usable RSA key: {e}"))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A granted access token.
#[derive(Debug, PartialEq)]
struct Token {
    access_token: String,
    expires_in: u64,
}

/// Why a token fetch failed: `Permanent` when the token endpoint refused the
/// grant (a 4xx: wrong key, unknown account), which retrying will not fix
/// soon; `Transient` for the network and 5xx.
#[derive(Debug, PartialEq)]
enum Failure {
    Permanent(String),
    Transient(String),
}

impl Failure {
    fn context(self, uri: &str) -> Failure {
        match self {
            Failure::Permanent(m) => Failure::Permanent(format!("token endpoint {uri}: {m}")),
            Failure::Transient(m) => Failure::Transient(format!("token endpoint {uri}: {m}")),
        }
    }

    fn message(&self) -> &str {
        match self {
            Failure::Permanent(m) | Failure::Transient(m) => m,
        }
    }
}

/// Reads the token endpoint's answer: a token on 200, else Google's
/// `{"error","error_description"}` as the message.
fn parse_token_answer(status: u16, body: &[u8]) -> Result<Token, Failure> {
    #[derive(serde::Deserialize)]
    struct Answer {
        access_token: Option<String>,
        expires_in: Option<u64>,
        error: Option<String>,
        error_description: Option<String>,
    }
    let answer: Option<Answer> = serde_json::from_slice(body).ok();
    if status == 200 {
        let answer = answer.ok_or_else(|| Failure::Transient("answer is not JSON".into()))?;
        return match answer.access_token.filter(|t| !t.is_empty()) {
            // google-auth assumes an hour when expires_in is absent.
            Some(access_token) => Ok(Token {
                access_token,
                expires_in: answer.expires_in.unwrap_or(3600),
            }),
            None => Err(Failure::Transient("answer has no access_token".into())),
        };
    }
    let detail = match answer {
        Some(Answer {
            error: Some(e),
            error_description,
            ..
        }) => match error_description {
            Some(d) => format!("{e}: {d}"),
            None => e,
        },
        _ => String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
    };
    let msg = format!("status {status}: {detail}");
    // 408/429 are the 4xx that a retry can fix.
    if (400..500).contains(&status) && status != 408 && status != 429 {
        Err(Failure::Permanent(msg))
    } else {
        Err(Failure::Transient(msg))
    }
}

// ---------------------------------------------------------------------------
// A tiny blocking HTTP/1.1 client: one POST per connection (control plane).

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// A token answer is a few hundred bytes; anything near this is not one.
const MAX_RESPONSE: usize = 256 * 1024;

/// Either side of a connection, so one read/write loop serves both.
trait Conn: Read + Write {}
impl<T: Read + Write> Conn for T {}

/// POSTs a form to `url` and returns the status and the (de-chunked) body.
fn post_form(
    url: &str,
    form: &[u8],
    tls: &mut Option<Arc<rustls::ClientConfig>>,
) -> Result<(u16, Vec<u8>), String> {
    let base = crate::upstream::parse_base_url(url)?;
    let tcp = connect(&base.host, base.port)?;
    let mut conn: Box<dyn Conn> = if base.tls {
        let cfg = match tls {
            Some(cfg) => cfg.clone(),
            None => tls
                .insert(Arc::new(crate::upstream::tls_config(None, true)?))
                .clone(),
        };
        let name = rustls_pki_types::ServerName::try_from(base.host.clone())
            .map_err(|e| format!("bad TLS server name {}: {e}", base.host))?;
        let client = rustls::ClientConnection::new(cfg, name).map_err(|e| format!("TLS: {e}"))?;
        Box::new(rustls::StreamOwned::new(client, tcp))
    } else {
        Box::new(tcp)
    };
    let path = if base.path.is_empty() {
        "/"
    } else {
        &base.path
    };
    let mut host = if base.host.contains(':') {
        format!("[{}]", base.host)
    } else {
        base.host.clone()
    };
    if base.port != if base.tls { 443 } else { 80 } {
        host = format!("{host}:{}", base.port);
    }
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {host}\r\n\
         content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\
         accept: application/json\r\nuser-agent: ringway\r\nconnection: close\r\n\r\n",
        form.len()
    );
    let mut request = head.into_bytes();
    request.extend_from_slice(form);
    conn.write_all(&request)
        .and_then(|()| conn.flush())
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(done) = parse_response(&buf, false)? {
            return Ok(done);
        }
        if buf.len() >= MAX_RESPONSE {
            return Err(format!("answer larger than {MAX_RESPONSE} bytes"));
        }
        let n = match conn.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // A TLS peer that closes without close_notify: treat as EOF and
            // let the framing decide whether the body is whole.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(format!("read: {e}")),
        };
        if n == 0 {
            return parse_response(&buf, true)?.ok_or_else(|| "connection closed early".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn connect(host: &str, port: u16) -> Result<TcpStream, String> {
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    let mut last = format!("{host} resolves to no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(s) => {
                s.set_read_timeout(Some(IO_TIMEOUT))
                    .and_then(|()| s.set_write_timeout(Some(IO_TIMEOUT)))
                    .map_err(|e| format!("socket set-up: {e}"))?;
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = format!("connect {addr}: {e}"),
        }
    }
    Err(last)
}

/// The status and body once `buf` holds a whole response (`eof`: no more
/// bytes will come, so a body without framing ends here). `None`: read more.
fn parse_response(buf: &[u8], eof: bool) -> Result<Option<(u16, Vec<u8>)>, String> {
    let mut start = 0;
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut res = httparse::Response::new(&mut headers);
        let head_len = match res.parse(&buf[start..]) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) if eof => return Err("truncated response head".into()),
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(format!("bad response head: {e}")),
        };
        let status = res.code.unwrap_or(0);
        if (100..200).contains(&status) {
            start += head_len; // an interim answer: the real one follows
            continue;
        }
        let body = &buf[start + head_len..];
        let header = |name: &str| {
            res.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| h.value)
        };
        let chunked = header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().windows(7).any(|w| w == b"chunked"));
        if chunked {
            return match dechunk(body)? {
                Some(b) => Ok(Some((status, b))),
                None if eof => Err("truncated chunked body".into()),
                None => Ok(None),
            };
        }
        if let Some(v) = header("content-length") {
            let len: usize = std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .ok_or("bad content-length")?;
            return match body.get(..len) {
                Some(b) => Ok(Some((status, b.to_vec()))),
                None if eof => Err("truncated body".into()),
                None => Ok(None),
            };
        }
        return Ok(eof.then(|| (status, body.to_vec())));
    }
}

/// Decodes a chunked body; `None` until the last chunk has arrived.
/// Extensions and trailers are skipped.
fn dechunk(mut data: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let line = &data[..eol];
        let hex = line
            .split(|&c| c == b';')
            .next()
            .unwrap_or_default()
            .trim_ascii();
        let size = std::str::from_utf8(hex)
            .ok()
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .filter(|&s| s <= MAX_RESPONSE)
            .ok_or("bad chunk size")?;
        data = &data[eol + 2..];
        if size == 0 {
            // Trailers, then an empty line.
            return Ok(trailers_end(data).map(|_| out));
        }
        if data.len() < size + 2 {
            return Ok(None);
        }
        if &data[size..size + 2] != b"\r\n" {
            return Err("chunk not followed by CRLF".into());
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Where the trailer section ends: at once when it is empty (`\r\n`), else
/// after the first `\r\n\r\n`.
fn trailers_end(data: &[u8]) -> Option<usize> {
    if data.starts_with(b"\r\n") {
        return Some(2);
    }
    data.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

// ---------------------------------------------------------------------------
// The shared, self-refreshing token.

/// First retry delay after a failed fetch; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Refresh at least this long before expiry (google-auth's refresh margin
/// is 3m45s; a little more leaves room for retries).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

#[derive(Default)]
struct State {
    token: Option<Arc<str>>,
    last_error: Option<String>,
    /// The last attempt was refused by the token endpoint (see [`Failure`]).
    refused: bool,
}

/// An access token kept fresh by a background thread, shared by all shards.
/// Dropping the last `Arc` stops the thread.
pub struct TokenSource {
    email: String,
    /// Bumped (under `state`'s lock) whenever `state.token` changes.
    generation: AtomicU64,
    state: Mutex<State>,
    /// Wakes [`TokenSource::wait_ready`] after every attempt.
    changed: Condvar,
    /// Wakes the refresher early when the source is dropped.
    stop: Arc<(Mutex<bool>, Condvar)>,
}

impl TokenSource {
    /// Spawns the `ringway-gcp-auth` thread, which fetches a token at once
    /// and then refreshes it ahead of expiry.
    pub fn start(sa: ServiceAccount) -> Arc<TokenSource> {
        let source = Arc::new(TokenSource {
            email: sa.client_email.clone(),
            generation: AtomicU64::new(0),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            stop: Arc::new((Mutex::new(false), Condvar::new())),
        });
        let weak = Arc::downgrade(&source);
        let stop = source.stop.clone();
        let spawned = std::thread::Builder::new()
            .name("ringway-gcp-auth".into())
            .spawn(move || refresher(sa, weak, stop));
        if let Err(e) = spawned {
            let msg = format!("cannot start the token refresh thread: {e}");
            log::error!("{msg}");
            source.record_failure(&Failure::Permanent(msg));
        }
        source
    }

    /// A per-shard reader of the current token.
    pub fn handle(self: &Arc<Self>) -> TokenHandle {
        TokenHandle {
            source: self.clone(),
            seen: u64::MAX, // never a real generation: the first get() loads
            token: None,
        }
    }

    /// Blocks until a token is held (`Ok`), the token endpoint refuses the
    /// grant (`Err` with its answer: a wrong key will not fix itself), or
    /// `timeout` passes (`Err` with the last failure, if any). Network
    /// failures keep it waiting while the refresher retries.
    pub fn wait_ready(&self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut st = self.lock_state();
        loop {
            if st.token.is_some() {
                return Ok(());
            }
            if st.refused {
                return Err(st.last_error.clone().unwrap_or_default());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(match &st.last_error {
                    Some(e) => format!("no access token for {} yet: {e}", self.email),
                    None => format!("no access token for {} after {timeout:?}", self.email),
                });
            }
            st = self
                .changed
                .wait_timeout(st, left)
                .map_or_else(|p| p.into_inner().0, |(g, _)| g);
        }
    }

    /// The service account's `client_email` (for logs and errors).
    pub fn email(&self) -> &str {
        &self.email
    }

    /// The last fetch failure, cleared by the next success.
    pub fn last_error(&self) -> Option<String> {
        self.lock_state().last_error.clone()
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding it; recover rather than propagate.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the token (or clears it: `None`) and tells readers.
    fn publish(&self, token: Option<Arc<str>>) {
        let mut st = self.lock_state();
        st.token = token;
        st.last_error = None;
        st.refused = false;
        self.generation.fetch_add(1, Ordering::Release);
        drop(st);
        self.changed.notify_all();
    }

    /// Records a failed attempt (the held token, if any, stays in use).
    fn record_failure(&self, failure: &Failure) {
        let mut st = self.lock_state();
        st.last_error = Some(failure.message().to_string());
        st.refused = matches!(failure, Failure::Permanent(_));
        drop(st);
        self.changed.notify_all();
    }

    /// Drops a token that expired without a replacement, so readers get
    /// `None` instead of a token Google would reject.
    fn expire(&self) {
        let mut st = self.lock_state();
        if st.token.take().is_some() {
            self.generation.fetch_add(1, Ordering::Release);
        }
    }
}

impl Drop for TokenSource {
    fn drop(&mut self) {
        let (flag, cv) = &*self.stop;
        *flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cv.notify_all();
    }
}

/// When to refresh a token that lives `expires_in` seconds: at 80% of its
/// life, but at least [`REFRESH_MARGIN`] before expiry when the life allows.
fn refresh_after(expires_in: u64) -> Duration {
    let life = Duration::from_secs(expires_in);
    let at = life.mul_f64(0.8);
    let at = match life.checked_sub(REFRESH_MARGIN) {
        Some(latest) if !latest.is_zero() => at.min(latest),
        _ => at,
    };
    at.max(Duration::from_millis(500))
}

/// The refresh loop; ends when the source is dropped.
fn refresher(sa: ServiceAccount, source: Weak<TokenSource>, stop: Arc<(Mutex<bool>, Condvar)>) {
    let mut tls = None;
    let mut backoff = FIRST_BACKOFF;
    let mut expires_at: Option<Instant> = None;
    loop {
        let started = Instant::now();
        let result = sa.fetch_token(&mut tls);
        let Some(src) = source.upgrade() else { return };
        let wait = match result {
            Ok(token) => {
                log::debug!(
                    "gcp auth: new access token for {} (expires in {}s)",
                    sa.client_email,
                    token.expires_in
                );
                expires_at = Some(started + Duration::from_secs(token.expires_in));
                src.publish(Some(Arc::from(token.access_token)));
                backoff = FIRST_BACKOFF;
                refresh_after(token.expires_in)
            }
            Err(failure) => {
                log::warn!(
                    "gcp auth: cannot get an access token for {}: {} (retry in {backoff:?})",
                    sa.client_email,
                    failure.message()
                );
                if expires_at.is_some_and(|t| Instant::now() >= t) {
                    expires_at = None;
                    src.expire();
                }
                src.record_failure(&failure);
                let wait = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                wait
            }
        };
        drop(src);
        // Sleep, but wake at once when the source is dropped.
        let (flag, cv) = &*stop;
        let deadline = Instant::now() + wait;
        let mut stopped = flag.lock().unwrap_or_else(|p| p.into_inner());
        while !*stopped {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            stopped = cv
                .wait_timeout(stopped, left)
                .map_or_else(|p| p.into_inner().0, |(g, _)| g);
        }
        if *stopped {
            return;
        }
    }
}

/// A shard's view of a [`TokenSource`]: `get` costs one atomic load unless
/// the token changed since the last call.
pub struct TokenHandle {
    source: Arc<TokenSource>,
    seen: u64,
    token: Option<Arc<str>>,
}

impl TokenHandle {
    /// The current access token; `None` until the first one arrives (or
    /// after one expired with no replacement).
    pub fn get(&mut self) -> Option<&str> {
        if self.source.generation.load(Ordering::Acquire) != self.seen {
            let st = self.source.lock_state();
            // Read under the lock, which publish() bumps it under: the pair
            // (token, generation) is consistent.
            self.seen = self.source.generation.load(Ordering::Relaxed);
            self.token = st.token.clone();
        }
        self.token.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    const FIXTURE: &str = include_str!("../tests/fixtures/gcp-service-account.json");

    fn account() -> ServiceAccount {
        ServiceAccount::from_json(FIXTURE).unwrap()
    }

    fn b64(part: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(part).unwrap()
    }

    #[test]
    fn fixture_parses() {
        let sa = account();
        assert_eq!(
            sa.client_email,
            "ringway-test@ringway-test.iam.gserviceaccount.com"
        );
        assert_eq!(sa.project_id.as_deref(), Some("ringway-test"));
        assert_eq!(sa.token_uri, "http://127.0.0.1:1/token");
        assert!(sa.private_key_id.is_some());
        assert!(!format!("{sa:?}").contains("PRIVATE"));
    }

    #[test]
    fn jwt_structure_and_signature() {
        let sa = account();
        let jwt = sa.signed_jwt(CLOUD_PLATFORM_SCOPE, 1_700_000_000).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert!(!jwt.contains('='), "no padding");
        let header: serde_json::Value = serde_json::from_slice(&b64(parts[0])).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg":"RS256","typ":"JWT","kid":sa.private_key_id.clone().unwrap()})
        );
        let claims: serde_json::Value = serde_json::from_slice(&b64(parts[1])).unwrap();
        assert_eq!(
            claims,
            serde_json::json!({
                "iss": "ringway-test@ringway-test.iam.gserviceaccount.com",
                "scope": "https://www.googleapis.com/auth/cloud-platform",
                "aud": "http://127.0.0.1:1/token",
                "iat": 1_700_000_000u64,
                "exp": 1_700_003_600u64,
            })
        );
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            sa.key.public().as_ref(),
        );
        let signed = format!("{}.{}", parts[0], parts[1]);
        public.verify(signed.as_bytes(), &b64(parts[2])).unwrap();
        // The signature covers the claims.
        let tampered = format!("{}.{}", parts[0], URL_SAFE_NO_PAD.encode(b"{}"));
        assert!(public.verify(tampered.as_bytes(), &b64(parts[2])).is_err());
    }

    #[test]
    fn pem_errors() {
        let mut v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
        for (bad, want) in [
            ("not a pem", "not a PEM private key"),
            ("-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n", "not a PEM"),
            ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "not a usable RSA key"),
            // A P-256 key: right PEM, wrong algorithm.
            (
                "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgIg2wXKWEcjvbfK/N\nrPha5b9T7ayWx7OC0YyjtGdK0K2hRANCAATu0P/bN48Zkst9/1ga7d6VhXd6W2n0\n0d/smyr4XtyOXdfIuFtSCWdfWJWwMyjUh5ZdSJHaf3mZ1UeTPOH2/XJr\n-----END PRIVATE KEY-----\n",
                "not a usable RSA key",
            ),
        ] {
            v["private_key"] = bad.into();
            let err = ServiceAccount::from_json(&v.to_string()).unwrap_err();
            assert!(err.contains(want), "{bad:?}: {err}");
        }
    }

    #[test]
    fn from_json_rejects_bad_input() {
        let good: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
        let edit = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = good.clone();
            f(&mut v);
            ServiceAccount::from_json(&v.to_string()).unwrap_err()
        };
        assert!(ServiceAccount::from_json("{")
            .unwrap_err()
            .contains("not valid"));
        assert!(ServiceAccount::from_json("[]")
            .unwrap_err()
            .contains("not valid"));
        assert!(edit(&|v| v["type"] = "authorized_user".into()).contains("not supported"));
        assert!(edit(&|v| drop(v.as_object_mut().unwrap().remove("type"))).contains("'type'"));
        assert!(edit(&|v| v["client_email"] = "".into()).contains("client_email"));
        assert!(
            edit(&|v| drop(v.as_object_mut().unwrap().remove("private_key")))
                .contains("private_key")
        );
        assert!(edit(&|v| v["token_uri"] = "ftp://x/token".into()).contains("token_uri"));
        // A missing token_uri is Google's.
        let mut v = good.clone();
        v.as_object_mut().unwrap().remove("token_uri");
        let sa = ServiceAccount::from_json(&v.to_string()).unwrap();
        assert_eq!(sa.token_uri, DEFAULT_TOKEN_URI);
    }

    #[test]
    fn load_path_or_json() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/gcp-service-account.json"
        );
        assert_eq!(
            ServiceAccount::load(path).unwrap().client_email,
            account().client_email
        );
        let inline = format!("  {FIXTURE}");
        assert_eq!(
            ServiceAccount::load(&inline).unwrap().client_email,
            account().client_email
        );
        let err = ServiceAccount::load("/nonexistent/sa.json").unwrap_err();
        assert!(err.contains("cannot read"), "{err}");
        assert!(ServiceAccount::load_or_default(Some(path)).is_ok());
    }

    #[test]
    fn response_framing() {
        let cl = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(
            parse_response(cl, false).unwrap(),
            Some((200, b"hello".to_vec()))
        );
        assert_eq!(parse_response(&cl[..cl.len() - 1], false).unwrap(), None);
        assert!(parse_response(&cl[..cl.len() - 1], true).is_err());
        let chunked =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(
            parse_response(chunked, false).unwrap(),
            Some((400, b"abcde".to_vec()))
        );
        for cut in 1..chunked.len() {
            assert_eq!(
                parse_response(&chunked[..cut], false).unwrap(),
                None,
                "cut {cut}"
            );
        }
        let trailers =
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n0\r\nx: y\r\n\r\n";
        assert_eq!(
            parse_response(trailers, false).unwrap(),
            Some((200, b"a".to_vec()))
        );
        let eof = b"HTTP/1.1 200 OK\r\n\r\nbody";
        assert_eq!(parse_response(eof, false).unwrap(), None);
        assert_eq!(
            parse_response(eof, true).unwrap(),
            Some((200, b"body".to_vec()))
        );
        assert!(parse_response(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
            false
        )
        .is_err());
        assert!(parse_response(b"garbage\r\n\r\n", false).is_err());
    }

    #[test]
    fn token_answers() {
        assert_eq!(
            parse_token_answer(
                200,
                br#"{"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"}"#
            ),
            Ok(Token {
                access_token: "ya29.x".into(),
                expires_in: 3599
            })
        );
        assert_eq!(
            parse_token_answer(
                400,
                br#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#
            ),
            Err(Failure::Permanent(
                "status 400: invalid_grant: Invalid JWT Signature.".into()
            ))
        );
        assert!(
            matches!(parse_token_answer(503, b"busy"), Err(Failure::Transient(m)) if m.contains("busy"))
        );
        assert!(matches!(
            parse_token_answer(429, b"{}"),
            Err(Failure::Transient(_))
        ));
        assert!(matches!(
            parse_token_answer(200, b"{}"),
            Err(Failure::Transient(_))
        ));
    }

    #[test]
    fn refresh_schedule() {
        assert_eq!(refresh_after(3599), Duration::from_secs(3599).mul_f64(0.8));
        assert_eq!(refresh_after(1000), Duration::from_secs(700));
        assert_eq!(refresh_after(2), Duration::from_millis(1600));
        assert_eq!(refresh_after(0), Duration::from_millis(500));
    }

    /// Serves `answers` (status, body) in order, one per connection, and
    /// returns the form bodies it received.
    fn token_server(answers: Vec<(u16, String)>) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        let thread = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for (status, body) in answers {
                let (mut s, _) = listener.accept().unwrap();
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                // Read the head, then content-length bytes.
                let body_start = loop {
                    let n = s.read(&mut buf).unwrap();
                    req.extend_from_slice(&buf[..n]);
                    if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&req[..body_start]).to_ascii_lowercase();
                assert!(head.starts_with("post /token http/1.1\r\n"), "{head}");
                assert!(head.contains("content-type: application/x-www-form-urlencoded"));
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap();
                while req.len() < body_start + len {
                    let n = s.read(&mut buf).unwrap();
                    req.extend_from_slice(&buf[..n]);
                }
                seen.push(String::from_utf8(req[body_start..].to_vec()).unwrap());
                // Chunked, to exercise that path end to end.
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                     transfer-encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
                    body.len()
                );
                s.write_all(answer.as_bytes()).unwrap();
            }
            seen
        });
        (url, thread)
    }

    fn token_json(token: &str, expires_in: u64) -> (u16, String) {
        (
            200,
            format!(
                r#"{{"access_token":"{token}","expires_in":{expires_in},"token_type":"Bearer"}}"#
            ),
        )
    }

    #[test]
    fn fetches_and_refreshes() {
        let (url, server) = token_server(vec![token_json("tok-1", 2), token_json("tok-2", 3600)]);
        let mut sa = account();
        sa.token_uri = url.clone();
        let source = TokenSource::start(sa);
        let mut handle = source.handle();
        source.wait_ready(Duration::from_secs(10)).unwrap();
        assert_eq!(handle.get(), Some("tok-1"));
        let generation = handle.seen;
        assert_eq!(handle.get(), Some("tok-1"));
        assert_eq!(handle.seen, generation, "no change, no reload");
        // expires_in 2 → refresh after 1.6 s.
        let deadline = Instant::now() + Duration::from_secs(10);
        while handle.get() == Some("tok-1") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(handle.get(), Some("tok-2"));
        assert!(source.last_error().is_none());
        let forms = server.join().unwrap();
        assert_eq!(forms.len(), 2);
        for form in forms {
            let jwt = form
                .strip_prefix(
                    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=",
                )
                .unwrap();
            let claims: serde_json::Value =
                serde_json::from_slice(&b64(jwt.split('.').nth(1).unwrap())).unwrap();
            assert_eq!(claims["aud"], url.as_str());
        }
    }

    #[test]
    fn expired_token_is_withdrawn() {
        // A 1 s token whose refresh is refused, then the endpoint is gone.
        let (url, server) = token_server(vec![
            token_json("short", 1),
            (503, r#"{"error":"unavailable"}"#.into()),
        ]);
        let mut sa = account();
        sa.token_uri = url;
        let source = TokenSource::start(sa);
        let mut handle = source.handle();
        source.wait_ready(Duration::from_secs(10)).unwrap();
        assert_eq!(handle.get(), Some("short"));
        let deadline = Instant::now() + Duration::from_secs(15);
        while handle.get().is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(handle.get(), None);
        assert!(source.last_error().is_some());
        server.join().unwrap();
    }

    #[test]
    fn refused_grant_fails_fast() {
        let (url, server) = token_server(vec![(
            400,
            r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#.into(),
        )]);
        let mut sa = account();
        sa.token_uri = url;
        let source = TokenSource::start(sa);
        let started = Instant::now();
        let err = source.wait_ready(Duration::from_secs(20)).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(err.contains("Invalid JWT Signature."), "{err}");
        assert!(source.last_error().is_some());
        assert_eq!(source.handle().get(), None);
        server.join().unwrap();
    }

    #[test]
    fn unreachable_endpoint_times_out_with_the_cause() {
        let mut sa = account();
        // Port 1 on loopback: connection refused.
        sa.token_uri = "http://127.0.0.1:1/token".into();
        let source = TokenSource::start(sa);
        let err = source.wait_ready(Duration::from_millis(300)).unwrap_err();
        assert!(err.contains("no access token"), "{err}");
    }
}
