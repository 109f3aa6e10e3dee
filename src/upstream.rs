//! The upstream side of a shard: where providers live, how to reach them, and
//! the keep-alive connections kept for them.
//!
//! Everything here is per shard and single-threaded: the pool is a
//! `RefCell<Vec<Vec<Idle>>>` indexed by origin number (origins are numbered
//! once at start-up, so a checkout is an index, not a hash of a host name),
//! and the DNS cache is the same shape. The only thing that leaves the shard
//! thread is a DNS lookup on a cache miss: `getaddrinfo` blocks, so it runs on
//! a short-lived helper thread and the answer comes back over a oneshot
//! channel. Cache hits, the steady state, never leave the shard.
//!
//! Pool rules (see `server` for when a connection is returned):
//! * a connection goes back only after its response was read to the end and
//!   the upstream allowed keep-alive;
//! * one whose read was cancelled (timeout, client gone) is dropped: with
//!   io_uring a cancelled read may already have consumed bytes;
//! * idle connections older than `upstream_pool_idle_timeout_ms` are closed
//!   on the next checkout, and at most `upstream_idle_per_origin` are kept.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use monoio::buf::{IoBuf, IoBufMut};
use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt};
use monoio::net::TcpStream;
use rustls_pki_types::ServerName;

/// One upstream origin (scheme, host, port), numbered at start-up.
#[derive(Clone, Debug)]
pub struct Origin {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub server_name: Option<ServerName<'static>>,
}

/// Where a deployment's requests go, with the request-head bytes that never
/// change precomputed.
#[derive(Clone, Debug)]
pub struct Target {
    pub origin: usize,
    /// Request target per proxied endpoint (chat, completions, embeddings,
    /// responses),
    /// e.g. "/v1/chat/completions" or Azure's
    /// "/openai/deployments/{dep}/chat/completions?api-version=...".
    pub paths: [String; 4],
    /// `host:`, auth, `extra_headers`, user-agent... each line CRLF-terminated.
    pub fixed_headers: Vec<u8>,
    /// `api_base` as configured, for the `x-litellm-model-api-base` header.
    pub api_base: String,
    /// The provider takes `max_tokens`, not `max_completion_tokens`: the
    /// key is renamed in the spliced body (LiteLLM's param mapping).
    pub max_tokens_rename: bool,
    /// Which API the upstream speaks.
    pub wire: Wire,
    /// Wires that name the model in the URL (`convert::model_in_path`):
    /// the path up to the model id, e.g. Gemini's `/v1beta/models/`.
    pub url_prefix: String,
    /// Credentials computed per request.
    pub auth: UpAuth,
    /// OpenAI parameters LiteLLM refuses for this provider, as
    /// `translate::Fields::std_params` bits (0: none).
    pub unsupported_params: u64,
    /// `drop_params`: drop those parameters instead of refusing the request.
    pub drop_params: bool,
}

/// Upstream authentication that cannot be a fixed header line.
#[derive(Clone)]
pub enum UpAuth {
    /// Everything is in `fixed_headers`.
    Fixed,
    /// `authorization: Bearer <token>` from the numbered Google token source
    /// (`Router::gcp_tokens`), refreshed off the shards.
    GcpToken(usize),
    /// AWS SigV4 over the request (host, date, body hash).
    SigV4(Arc<crate::bedrock::AwsCredentials>),
}

impl std::fmt::Debug for UpAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpAuth::Fixed => f.write_str("Fixed"),
            UpAuth::GcpToken(i) => write!(f, "GcpToken({i})"),
            UpAuth::SigV4(c) => write!(f, "SigV4({}, {})", c.access_key_id, c.region),
        }
    }
}

/// The wire format of an upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// OpenAI Chat Completions / Completions / Embeddings.
    OpenAi,
    /// Anthropic Messages (`paths[0]` is `/v1/messages`).
    Anthropic,
    /// Gemini `generateContent` on Google AI Studio (`x-goog-api-key`).
    Gemini,
    /// The same body format on Vertex AI (OAuth bearer token).
    Vertex,
    /// Anthropic models on Vertex AI: the Messages body at `:rawPredict`.
    VertexAnthropic,
    /// AWS Bedrock runtime (SigV4), by API.
    Bedrock(crate::bedrock::BedrockApi),
    /// Cohere v2 chat and embed.
    Cohere,
}

/// A parsed `api_base`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub path: String,
}

/// Parses `http(s)://host[:port][/path]`. IPv6 literals in brackets are
/// accepted.
pub fn parse_base_url(s: &str) -> Result<BaseUrl, String> {
    let (tls, rest) = if let Some(r) = s.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = s.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(format!(
            "api_base '{s}' must start with http:// or https://"
        ));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let default_port = if tls { 443 } else { 80 };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let end = v6
            .find(']')
            .ok_or_else(|| format!("api_base '{s}': unclosed '['"))?;
        let host = &v6[..end];
        let port = match v6[end + 1..].strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| format!("api_base '{s}': bad port"))?,
            None => default_port,
        };
        (host.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (
                h.to_string(),
                p.parse().map_err(|_| format!("api_base '{s}': bad port"))?,
            ),
            None => (authority.to_string(), default_port),
        }
    };
    if host.is_empty() {
        return Err(format!("api_base '{s}' has no host"));
    }
    let mut path = path.trim_end_matches('/').to_string();
    if let Some(q) = path.find('?') {
        path.truncate(q);
    }
    Ok(BaseUrl {
        tls,
        host,
        port,
        path,
    })
}

/// A byte stream to an upstream: plain TCP or TLS over it.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<monoio_rustls::ClientTlsStream<TcpStream>>),
}

impl Stream {
    pub async fn read<B: IoBufMut + 'static>(&mut self, buf: B) -> monoio::BufResult<usize, B> {
        match self {
            Stream::Plain(s) => s.read(buf).await,
            Stream::Tls(s) => s.read(buf).await,
        }
    }

    pub async fn write_all<B: IoBuf + 'static>(&mut self, buf: B) -> monoio::BufResult<usize, B> {
        match self {
            Stream::Plain(s) => s.write_all(buf).await,
            Stream::Tls(s) => {
                let r = s.write_all(buf).await;
                if r.0.is_ok() {
                    if let Err(e) = s.flush().await {
                        return (Err(e), r.1);
                    }
                }
                r
            }
        }
    }
}

/// A connection checked out of (or newly opened for) the pool.
pub struct UpConn {
    pub stream: Stream,
    /// Read buffer; survives pooling so steady state allocates nothing.
    pub buf: Vec<u8>,
    /// Request being sent.
    pub wbuf: Vec<u8>,
    pub origin: usize,
    /// Came from the pool: a failure before the first response byte may just
    /// mean the upstream closed it while idle, and is retried once on a fresh
    /// connection.
    pub reused: bool,
}

struct Idle {
    conn: UpConn,
    since: Instant,
}

struct DnsEntry {
    addr: SocketAddr,
    expires: Instant,
}

/// Upstream connection initial buffer sizes.
const UP_READ_BUF: usize = 4 * 1024;
/// Request buffers start empty and grow to the largest request sent on the
/// connection; `checkin` drops ones grown past this.
const UP_WRITE_KEEP: usize = 64 * 1024;

/// The per-shard upstream state.
pub struct Upstreams {
    origins: Arc<Vec<Origin>>,
    idle: RefCell<Vec<Vec<Idle>>>,
    dns: RefCell<Vec<Option<DnsEntry>>>,
    tls: monoio_rustls::TlsConnector,
    max_idle: usize,
    idle_timeout: Duration,
    connect_timeout: Duration,
    dns_ttl: Duration,
    /// Connections opened (for tests and stats).
    pub opened: Cell<u64>,
}

impl Upstreams {
    pub fn new(
        origins: Arc<Vec<Origin>>,
        tls: Arc<rustls::ClientConfig>,
        max_idle: usize,
        idle_timeout: Duration,
        connect_timeout: Duration,
        dns_ttl: Duration,
    ) -> Self {
        let n = origins.len();
        Upstreams {
            idle: RefCell::new((0..n).map(|_| Vec::new()).collect()),
            dns: RefCell::new((0..n).map(|_| None).collect()),
            origins,
            tls: monoio_rustls::TlsConnector::from(tls),
            max_idle,
            idle_timeout,
            connect_timeout,
            dns_ttl,
            opened: Cell::new(0),
        }
    }

    /// A pooled connection to `origin` if one is fresh enough, otherwise a new one.
    pub async fn checkout(&self, origin: usize) -> io::Result<UpConn> {
        if let Some(c) = self.take_idle(origin) {
            return Ok(c);
        }
        // Boxed: a TLS handshake future is ~3 KB, and unboxed it would sit
        // in every connection task's state (RSS per idle connection) for
        // something only new upstream connections need.
        Box::pin(self.connect(origin)).await
    }

    fn take_idle(&self, origin: usize) -> Option<UpConn> {
        let mut idle = self.idle.borrow_mut();
        let list = idle.get_mut(origin)?;
        let now = Instant::now();
        while let Some(i) = list.pop() {
            if now.duration_since(i.since) < self.idle_timeout {
                let mut c = i.conn;
                c.reused = true;
                return Some(c);
            }
            // Too old: the upstream has likely dropped it; close it here.
        }
        None
    }

    /// Returns a connection whose last response was read completely.
    pub fn checkin(&self, mut conn: UpConn) {
        conn.buf.clear();
        conn.wbuf.clear();
        if conn.wbuf.capacity() > UP_WRITE_KEEP {
            conn.wbuf = Vec::new();
        }
        let mut idle = self.idle.borrow_mut();
        if let Some(list) = idle.get_mut(conn.origin) {
            if list.len() < self.max_idle {
                list.push(Idle {
                    conn,
                    since: Instant::now(),
                });
            }
        }
    }

    /// Opens a new connection (DNS from the cache, TLS when the origin says so).
    pub async fn connect(&self, origin: usize) -> io::Result<UpConn> {
        let o = self
            .origins
            .get(origin)
            .ok_or_else(|| io::Error::other("unknown upstream origin"))?;
        let addr = self.resolve(origin, o).await?;
        let tcp = match monoio::time::timeout(self.connect_timeout, TcpStream::connect_addr(addr))
            .await
        {
            Ok(r) => r?,
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connect to {addr} timed out"),
                ))
            }
        };
        let _ = tcp.set_nodelay(true);
        let stream = if o.tls {
            let name = o
                .server_name
                .clone()
                .ok_or_else(|| io::Error::other("no TLS server name"))?;
            let tls = monoio::time::timeout(self.connect_timeout, self.tls.connect(name, tcp))
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))?
                .map_err(io::Error::from)?;
            Stream::Tls(Box::new(tls))
        } else {
            Stream::Plain(tcp)
        };
        self.opened.set(self.opened.get() + 1);
        Ok(UpConn {
            stream,
            buf: Vec::with_capacity(UP_READ_BUF),
            wbuf: Vec::new(),
            origin,
            reused: false,
        })
    }

    async fn resolve(&self, idx: usize, o: &Origin) -> io::Result<SocketAddr> {
        if let Ok(ip) = o.host.parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, o.port));
        }
        let now = Instant::now();
        if let Some(Some(e)) = self.dns.borrow().get(idx) {
            if e.expires > now {
                return Ok(e.addr);
            }
        }
        let addr = resolve_off_thread(o.host.clone(), o.port).await?;
        if let Some(slot) = self.dns.borrow_mut().get_mut(idx) {
            *slot = Some(DnsEntry {
                addr,
                expires: now + self.dns_ttl,
            });
        }
        Ok(addr)
    }
}

/// Runs the blocking resolver on a helper thread so the shard keeps serving.
async fn resolve_off_thread(host: String, port: u16) -> io::Result<SocketAddr> {
    let (tx, rx) = futures_channel::oneshot::channel();
    std::thread::Builder::new()
        .name("dns".into())
        .spawn(move || {
            let r = (host.as_str(), port).to_socket_addrs().and_then(|mut it| {
                it.next().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::NotFound, format!("no address for {host}"))
                })
            });
            let _ = tx.send(r);
        })?;
    rx.await
        .map_err(|_| io::Error::other("resolver thread vanished"))?
}

/// Builds the rustls client configuration: system roots (or `SSL_CERT_FILE`),
/// plus an extra CA file, or no verification when `ssl_verify: false`.
pub fn tls_config(
    extra_ca: Option<&std::path::Path>,
    verify: bool,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?;
    let mut cfg = if verify {
        let mut roots = rustls::RootCertStore::empty();
        // rustls-native-certs honours SSL_CERT_FILE / SSL_CERT_DIR itself.
        let native = rustls_native_certs::load_native_certs();
        for cert in native.certs {
            let _ = roots.add(cert);
        }
        if let Some(path) = extra_ca {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read CA file {}: {e}", path.display()))?;
            let mut added = 0;
            for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| format!("CA file {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("CA file {}: {e}", path.display()))?;
                added += 1;
            }
            if added == 0 {
                return Err(format!("CA file {} holds no certificate", path.display()));
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth()
    };
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

use rustls_pki_types::pem::PemObject;

/// `ssl_verify: false` (LiteLLM's setting): accept any certificate. Only ever
/// enabled explicitly in config, and logged at start-up.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls_pki_types::CertificateDer<'_>,
        _intermediates: &[rustls_pki_types::CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            parse_base_url("https://api.openai.com/v1/").unwrap(),
            BaseUrl {
                tls: true,
                host: "api.openai.com".into(),
                port: 443,
                path: "/v1".into()
            }
        );
        assert_eq!(
            parse_base_url("http://127.0.0.1:8001").unwrap(),
            BaseUrl {
                tls: false,
                host: "127.0.0.1".into(),
                port: 8001,
                path: "".into()
            }
        );
        let v6 = parse_base_url("http://[::1]:9/x").unwrap();
        assert_eq!(
            (v6.host.as_str(), v6.port, v6.path.as_str()),
            ("::1", 9, "/x")
        );
        assert!(parse_base_url("ftp://x").is_err());
        assert!(parse_base_url("http://:80").is_err());
        assert!(parse_base_url("http://h:notaport").is_err());
    }

    #[test]
    fn tls_config_builds() {
        tls_config(None, true).unwrap();
        tls_config(None, false).unwrap();
        assert!(tls_config(Some(std::path::Path::new("/nonexistent.pem")), true).is_err());
    }
}
