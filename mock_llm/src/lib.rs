//! `mock_llm`: fake LLM providers (OpenAI, Anthropic, Gemini, Vertex AI,
//! Bedrock, Cohere) for Ringway's tests and benchmarks.
//!
//! # How to run
//!
//! ```text
//! cargo run -p mock_llm --release -- --port 8001 --shards 1 --tokens 16
//! curl -s localhost:8001/v1/chat/completions \
//!      -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'
//! curl -sN localhost:8001/v1/chat/completions \
//!      -d '{"model":"m","stream":true,"stream_options":{"include_usage":true}}'
//! ```
//!
//! `--port 0` picks a free port; the process then prints exactly one line,
//! `mock_llm listening on http://IP:PORT` (`https` with `--tls-cert`), to
//! stdout, so a test can read the port from it. SIGTERM/SIGINT stop it
//! gracefully. `mock_llm --help` lists every option. Tests can also embed the
//! server in-process with [`MockServer::start`].
//!
//! # What it serves
//!
//! * OpenAI: `POST /v1/chat/completions` (also `/chat/completions` and Azure's
//!   `/openai/deployments/{name}/chat/completions`), `POST /v1/completions`,
//!   `POST /v1/embeddings`, `GET /v1/models`, `GET /v1/models/{id}`. Streams
//!   are SSE over chunked transfer-encoding, one write per event.
//! * Anthropic: `POST /v1/messages` (and `/v1/messages/count_tokens`), plain
//!   and streaming, with the real event
//!   sequence (`message_start` .. `message_stop`).
//! * Gemini (`/v1beta/models/{m}:generateContent`, `:streamGenerateContent`,
//!   `:batchEmbedContents`) and Vertex AI (`/v1/projects/{p}/locations/{l}/
//!   publishers/google/models/{m}:…`, `:predict`), with Google's OAuth token
//!   endpoint (`POST /token`, `/oauth2/v4/token`: JWT-bearer grants verified
//!   against `--google-service-account`; `MOCK_LLM_TOKEN_TTL_S` shortens the
//!   token lifetime). See `gemini.rs`, `oauth.rs`.
//! * AWS Bedrock runtime (`/model/{id}/converse`, `/converse-stream`,
//!   `/invoke`, `/invoke-with-response-stream`): SigV4 verified when
//!   `--aws-access-key-id`/`--aws-secret-access-key` are given, streams in the
//!   binary AWS event-stream format. See `bedrock.rs`.
//! * Cohere v2 (`/v2/chat`, `/v2/embed`). See `cohere.rs`.
//!
//!   Each of these validates what it receives (auth, path, body schema) and
//!   answers in its provider's shapes, errors included (`providers.rs`
//!   dispatches to them before the 404).
//! * `GET /health`, and for tests `GET /mock/stats` / `POST /mock/reset`.
//!
//! The answer text is deterministic: `--tokens N` words `tok0 tok1 ...`,
//! capped by the request's `max_tokens` / `max_completion_tokens` (then the
//! finish reason is `length` / `max_tokens`). `prompt_tokens` counts the
//! whitespace-separated words in the request's message texts (`content` and
//! `text` fields, `prompt`, `system`, embedding `input`), so it does not
//! depend on how a gateway re-serializes the JSON.
//!
//! # Failure injection
//!
//! By model name: `mock-fail-NNN` answers status NNN (400..=599) with the
//! provider's error body; `mock-timeout` never answers (the connection is
//! closed after 10 minutes or when the client goes away); `mock-reset` closes
//! the connection without answering; `mock-slow-first-byte-MS` waits MS ms
//! before the response head. By rate: `--fail-rate 0.1 --fail-status 500`.
//! `--latency-ms` plus a uniform `--jitter-ms` delays every model response
//! (injected failures included, auth failures not); `--inter-token-ms` spaces
//! stream events.
//!
//! # Observability
//!
//! `GET /mock/stats` returns `{"shard","shards","requests","by_path",
//! "last_method","last_path","last_headers","last_body"}` where `last_*`
//! describe the most recent model request (`POST` to a chat, completion,
//! embedding or messages route), headers lowercased. The counters are **per
//! shard** (no state is shared between shards), so tests that assert on them
//! run the server with `--shards 1`. `/mock/*` requests are not counted.
//!
//! # Design
//!
//! One monoio runtime per core (`shards`), each with its own `SO_REUSEPORT`
//! listener and its own [`Shard`] state behind `Rc`/`Cell`/`RefCell`: no lock
//! and no atomic on the request path. Each connection owns a read buffer, an
//! output buffer and a scratch buffer, reused for every request; responses to
//! pipelined requests are appended in order and sent with one write. Modules:
//! `http` (connection loop, HTTP/1.1 framing, byte writers), `api` (routes,
//! auth, failure injection, error bodies), `body` (what is read from a
//! request body, borrowed), `payload` (answer text, response bodies, stream
//! events), `stats` (the per-shard counters).

use std::cell::{Cell, RefCell};
use std::ffi::OsString;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{mpsc, Arc};
use std::time::Duration;

pub use shards::{Driver, Shutdown};

mod api;
mod bedrock;
mod body;
mod cohere;
mod gemini;
mod http;
mod oauth;
mod payload;
mod providers;
mod stats;

/// Everything the command line can set.
#[derive(Clone, Debug)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    /// Number of shards; 0 means one per allowed CPU.
    pub shards: usize,
    pub driver: Driver,
    /// Fixed delay before every model response head, in milliseconds.
    pub latency_ms: f64,
    /// Uniformly random extra delay on top of `latency_ms`.
    pub jitter_ms: f64,
    /// Words in every answer (before `max_tokens` caps it).
    pub tokens: usize,
    /// Delay before each content event of a stream.
    pub inter_token_ms: f64,
    /// Fraction of model requests that fail with `fail_status`.
    pub fail_rate: f64,
    pub fail_status: u16,
    /// When set, OpenAI routes require `Authorization: Bearer KEY` or `api-key: KEY`.
    pub api_key: Option<String>,
    /// When set, `/v1/messages` requires `x-api-key: KEY`.
    pub anthropic_key: Option<String>,
    /// When set, Gemini (AI Studio) routes require `x-goog-api-key: KEY`
    /// (or `?key=KEY`).
    pub gemini_key: Option<String>,
    /// A Google service-account JSON file: `/token` then grants access
    /// tokens for JWTs signed with its key, and Vertex AI routes require one.
    pub google_service_account: Option<PathBuf>,
    /// When both are set, Bedrock routes verify the SigV4 signature.
    pub aws_access_key_id: Option<String>,
    pub aws_secret_access_key: Option<String>,
    /// When set, Cohere routes require `Authorization: Bearer KEY`.
    pub cohere_key: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Streams use chunked transfer-encoding (true) or end by closing (false).
    pub chunked: bool,
    pub quiet: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8001,
            shards: 0,
            driver: Driver::Auto,
            latency_ms: 0.0,
            jitter_ms: 0.0,
            tokens: 16,
            inter_token_ms: 0.0,
            fail_rate: 0.0,
            fail_status: 500,
            api_key: None,
            anthropic_key: None,
            gemini_key: None,
            google_service_account: None,
            aws_access_key_id: None,
            aws_secret_access_key: None,
            cohere_key: None,
            tls_cert: None,
            tls_key: None,
            chunked: true,
            quiet: false,
        }
    }
}

/// Largest `--tokens`; bounds the precomputed answer text (about 10 MB).
pub const MAX_TOKENS: usize = 1_000_000;

/// Text of `mock_llm --help`.
pub const HELP: &str = "\
mock_llm: fake LLM providers (OpenAI, Anthropic, Gemini, Vertex AI, Bedrock,
Cohere) for tests and benchmarks

USAGE: mock_llm [OPTIONS]

OPTIONS:
  --port N              port to listen on; 0 picks a free one [8001]
  --host IP             address to bind [127.0.0.1]
  --shards N            shards (threads, one per core); 0 = one per CPU [0]
  --driver D            auto | uring | epoll [auto]
  --latency-ms F        delay before every model response head [0]
  --jitter-ms F         plus a uniformly random delay up to F ms [0]
  --tokens N            words per answer: \"tok0 tok1 ...\" [16]
  --inter-token-ms F    delay before each streamed token event [0]
  --fail-rate F         fraction (0..1) of model requests that fail [0]
  --fail-status N       status of those failures, 400..=599 [500]
  --api-key KEY         require `Authorization: Bearer KEY` (or `api-key: KEY`)
                        on OpenAI routes
  --anthropic-key KEY   require `x-api-key: KEY` on /v1/messages
  --gemini-key KEY      require `x-goog-api-key: KEY` on Gemini routes
  --google-service-account FILE
                        grant OAuth tokens at /token for JWTs signed by this
                        service account; Vertex AI routes require one
  --aws-access-key-id ID, --aws-secret-access-key SECRET
                        verify SigV4 signatures on Bedrock routes
  --cohere-key KEY      require `Authorization: Bearer KEY` on Cohere routes
  --tls-cert PEM        serve HTTPS with this certificate chain ...
  --tls-key PEM         ... and this private key
  --no-chunked          end streams by closing the connection instead of
                        chunked transfer-encoding
  --quiet               log errors only
  -h, --help            print this help

Once listening, prints `mock_llm listening on http://IP:PORT` to stdout.
Models `mock-fail-NNN`, `mock-timeout`, `mock-reset` and
`mock-slow-first-byte-MS` inject failures; GET /mock/stats shows what the
last request carried (per shard: use --shards 1 in tests).
";

/// What the command line asked for.
// Built once per process: the size difference between variants is moot.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Cli {
    Run(Config),
    Help,
}

/// Parses the arguments that follow the program name.
pub fn parse_args<I>(args: I) -> Result<Cli, String>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    use lexopt::prelude::*;
    let mut cfg = Config::default();
    let mut p = lexopt::Parser::from_args(args);
    loop {
        let arg = p.next().map_err(|e| e.to_string())?;
        let Some(arg) = arg else { break };
        match arg {
            Short('h') | Long("help") => return Ok(Cli::Help),
            Long("port") => cfg.port = num(&mut p, "--port")?,
            Long("host") => cfg.host = num(&mut p, "--host")?,
            Long("shards") => cfg.shards = num(&mut p, "--shards")?,
            Long("driver") => cfg.driver = num(&mut p, "--driver")?,
            Long("latency-ms") => cfg.latency_ms = millis(&mut p, "--latency-ms")?,
            Long("jitter-ms") => cfg.jitter_ms = millis(&mut p, "--jitter-ms")?,
            Long("inter-token-ms") => cfg.inter_token_ms = millis(&mut p, "--inter-token-ms")?,
            Long("tokens") => {
                cfg.tokens = num(&mut p, "--tokens")?;
                if cfg.tokens > MAX_TOKENS {
                    return Err(format!(
                        "--tokens: {} is too large; expected at most {MAX_TOKENS}",
                        cfg.tokens
                    ));
                }
            }
            Long("fail-rate") => {
                cfg.fail_rate = num(&mut p, "--fail-rate")?;
                if !(0.0..=1.0).contains(&cfg.fail_rate) {
                    return Err(format!(
                        "--fail-rate: {} is out of range; expected 0.0 to 1.0",
                        cfg.fail_rate
                    ));
                }
            }
            Long("fail-status") => {
                cfg.fail_status = num(&mut p, "--fail-status")?;
                if !(400..=599).contains(&cfg.fail_status) {
                    return Err(format!(
                        "--fail-status: {} is not an error status; expected 400 to 599",
                        cfg.fail_status
                    ));
                }
            }
            Long("api-key") => cfg.api_key = Some(text(&mut p, "--api-key")?),
            Long("anthropic-key") => cfg.anthropic_key = Some(text(&mut p, "--anthropic-key")?),
            Long("gemini-key") => cfg.gemini_key = Some(text(&mut p, "--gemini-key")?),
            Long("google-service-account") => {
                cfg.google_service_account =
                    Some(PathBuf::from(os(&mut p, "--google-service-account")?))
            }
            Long("aws-access-key-id") => {
                cfg.aws_access_key_id = Some(text(&mut p, "--aws-access-key-id")?)
            }
            Long("aws-secret-access-key") => {
                cfg.aws_secret_access_key = Some(text(&mut p, "--aws-secret-access-key")?)
            }
            Long("cohere-key") => cfg.cohere_key = Some(text(&mut p, "--cohere-key")?),
            Long("tls-cert") => cfg.tls_cert = Some(PathBuf::from(os(&mut p, "--tls-cert")?)),
            Long("tls-key") => cfg.tls_key = Some(PathBuf::from(os(&mut p, "--tls-key")?)),
            Long("no-chunked") => cfg.chunked = false,
            Long("quiet") | Short('q') => cfg.quiet = true,
            other => return Err(format!("{} (see --help)", other.unexpected())),
        }
    }
    if cfg.tls_cert.is_some() != cfg.tls_key.is_some() {
        return Err("--tls-cert and --tls-key go together; give both or neither".into());
    }
    Ok(Cli::Run(cfg))
}

fn os(p: &mut lexopt::Parser, name: &str) -> Result<OsString, String> {
    p.value().map_err(|e| format!("{name}: {e}"))
}

fn text(p: &mut lexopt::Parser, name: &str) -> Result<String, String> {
    os(p, name)?
        .into_string()
        .map_err(|v| format!("{name}: {v:?} is not valid UTF-8"))
}

fn num<T>(p: &mut lexopt::Parser, name: &str) -> Result<T, String>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let v = text(p, name)?;
    v.parse()
        .map_err(|e| format!("{name}: cannot parse '{v}': {e}"))
}

fn millis(p: &mut lexopt::Parser, name: &str) -> Result<f64, String> {
    let v: f64 = num(p, name)?;
    if !v.is_finite() || !(0.0..=3_600_000.0).contains(&v) {
        return Err(format!(
            "{name}: {v} is out of range; expected 0 to 3600000 ms"
        ));
    }
    Ok(v)
}

/// A running server: its address, and the thread that runs its shards.
/// Dropping it stops the server and waits for the shards to finish.
pub struct MockServer {
    addr: SocketAddr,
    tls: bool,
    shutdown: Shutdown,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl MockServer {
    /// Starts the server and returns once every shard is listening.
    pub fn start(cfg: Config) -> io::Result<MockServer> {
        Self::start_with(cfg, Shutdown::new())
    }

    /// Like [`MockServer::start`], with a caller-owned shutdown flag (the one
    /// `shards::install_signal_handler` raises).
    pub fn start_with(cfg: Config, shutdown: Shutdown) -> io::Result<MockServer> {
        let tls = match (&cfg.tls_cert, &cfg.tls_key) {
            (Some(cert), Some(key)) => Some(tls_config(cert, key)?),
            _ => None,
        };
        let (addr, probe) = shards::reserve_port(SocketAddr::new(cfg.host, cfg.port))?;
        let shard_cfg = shards::ShardConfig {
            shards: cfg.shards,
            driver: cfg.driver,
            name: "mock_llm".to_string(),
            ..shards::ShardConfig::default()
        };
        let is_tls = tls.is_some();
        let cfg = Arc::new(cfg);
        let (ready_tx, ready_rx) = mpsc::channel::<(usize, io::Result<()>)>();
        let sd = shutdown.clone();
        let thread = std::thread::Builder::new()
            .name("mock_llm-main".into())
            .spawn(move || {
                shards::run_with(&shard_cfg, sd, move |info| {
                    shard_main(info, addr, cfg.clone(), tls.clone(), ready_tx.clone())
                })
            })?;
        let mut server = MockServer {
            addr,
            tls: is_tls,
            shutdown,
            thread: Some(thread),
        };
        // Wait for every shard to report its bind; the first report tells how
        // many shards there are.
        let mut expected = usize::MAX;
        let mut got = 0;
        while got < expected {
            match ready_rx.recv() {
                Ok((count, Ok(()))) => {
                    expected = count;
                    got += 1;
                }
                Ok((_, Err(e))) => {
                    let _ = server.stop();
                    return Err(e);
                }
                Err(_) => {
                    let why = server.stop().err();
                    return Err(why.unwrap_or_else(|| {
                        io::Error::other("mock_llm shards exited before listening")
                    }));
                }
            }
        }
        drop(probe);
        Ok(server)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT` or `https://IP:PORT`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Blocks until the shards exit (after the shutdown flag is raised).
    pub fn wait(mut self) -> io::Result<()> {
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("mock_llm thread panicked"))),
            None => Ok(()),
        }
    }

    /// Raises the shutdown flag and waits for the shards.
    pub fn stop(&mut self) -> io::Result<()> {
        self.shutdown.trigger();
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("mock_llm thread panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> io::Result<Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &str, path: &std::path::Path, e: &dyn std::fmt::Display| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} {}: {e}", path.display()),
        )
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad("--tls-cert", cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad("--tls-cert", cert, &e))?;
    if certs.is_empty() {
        return Err(bad("--tls-cert", cert, &"no CERTIFICATE block found"));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| bad("--tls-key", key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut sc = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("TLS setup: {e}")))?;
    sc.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(sc))
}

/// How long a shard keeps serving in-flight requests after shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// How long a client may take to finish the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Per-shard state. Lives in an `Rc` on its shard; never crosses threads.
pub(crate) struct Shard {
    pub cfg: Arc<Config>,
    pub index: usize,
    pub count: usize,
    /// The answer text, precomputed once.
    pub answer: payload::Answer,
    next_id: Cell<u64>,
    pub stats: RefCell<stats::Stats>,
    /// Requests being answered right now (for the shutdown grace period).
    pub in_flight: Cell<usize>,
}

impl Shard {
    fn new(cfg: Arc<Config>, index: usize, count: usize) -> Shard {
        Shard {
            answer: payload::Answer::new(cfg.tokens),
            cfg,
            index,
            count,
            next_id: Cell::new(0),
            stats: RefCell::new(stats::Stats::default()),
            in_flight: Cell::new(0),
        }
    }

    /// A number unique on this shard, for response ids.
    pub fn next_id(&self) -> u64 {
        let id = self.next_id.get().wrapping_add(1);
        self.next_id.set(id);
        id
    }
}

async fn shard_main(
    info: shards::ShardInfo,
    addr: SocketAddr,
    cfg: Arc<Config>,
    tls: Option<Arc<rustls::ServerConfig>>,
    ready: mpsc::Sender<(usize, io::Result<()>)>,
) {
    let listener = match shards::bind_listener(addr, 1024) {
        Ok(l) => l,
        Err(e) => {
            let e = io::Error::new(e.kind(), format!("shard {}: bind {addr}: {e}", info.index));
            let _ = ready.send((info.count, Err(e)));
            return;
        }
    };
    log::info!(
        "shard {} listening on {addr} ({}, cpu {:?})",
        info.index,
        info.driver.name(),
        info.core
    );
    let _ = ready.send((info.count, Ok(())));
    drop(ready);
    let shard = Rc::new(Shard::new(cfg, info.index, info.count));
    let acceptor = tls.map(monoio_rustls::TlsAcceptor::from);
    monoio::select! {
        _ = accept_loop(&listener, &shard, acceptor) => {},
        _ = info.shutdown.wait() => {},
    }
    drop(listener);
    let deadline = std::time::Instant::now() + SHUTDOWN_GRACE;
    while shard.in_flight.get() > 0 && std::time::Instant::now() < deadline {
        monoio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn accept_loop(
    listener: &monoio::net::TcpListener,
    shard: &Rc<Shard>,
    acceptor: Option<monoio_rustls::TlsAcceptor>,
) {
    loop {
        let (stream, _peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // Typically EMFILE: back off instead of spinning.
                log::warn!("accept: {e}");
                monoio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shard = shard.clone();
        match &acceptor {
            None => {
                monoio::spawn(http::serve(stream, shard));
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                monoio::spawn(async move {
                    match monoio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(tls)) => http::serve(tls, shard).await,
                        Ok(Err(e)) => log::debug!("TLS handshake failed: {e}"),
                        Err(_) => log::debug!("TLS handshake timed out"),
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, String> {
        match parse_args(args.iter().copied())? {
            Cli::Run(c) => Ok(c),
            Cli::Help => Err("help".into()),
        }
    }

    #[test]
    fn defaults() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.port, 8001);
        assert_eq!(c.tokens, 16);
        assert_eq!(c.fail_status, 500);
        assert!(c.chunked);
    }

    #[test]
    fn every_option_parses() {
        let c = parse(&[
            "--port",
            "0",
            "--host",
            "0.0.0.0",
            "--shards",
            "3",
            "--driver",
            "epoll",
            "--latency-ms",
            "1.5",
            "--jitter-ms",
            "2",
            "--tokens",
            "4",
            "--inter-token-ms",
            "0.5",
            "--fail-rate",
            "0.25",
            "--fail-status",
            "503",
            "--api-key",
            "sk-a",
            "--anthropic-key",
            "ak",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--no-chunked",
            "--quiet",
        ])
        .unwrap();
        assert_eq!(c.port, 0);
        assert_eq!(c.host.to_string(), "0.0.0.0");
        assert_eq!(c.shards, 3);
        assert_eq!(c.driver, Driver::Epoll);
        assert_eq!(c.latency_ms, 1.5);
        assert_eq!(c.jitter_ms, 2.0);
        assert_eq!(c.tokens, 4);
        assert_eq!(c.inter_token_ms, 0.5);
        assert_eq!(c.fail_rate, 0.25);
        assert_eq!(c.fail_status, 503);
        assert_eq!(c.api_key.as_deref(), Some("sk-a"));
        assert_eq!(c.anthropic_key.as_deref(), Some("ak"));
        assert_eq!(c.tls_cert, Some(PathBuf::from("c.pem")));
        assert!(!c.chunked);
        assert!(c.quiet);
    }

    #[test]
    fn bad_values_name_the_option() {
        assert_eq!(
            parse(&["--fail-rate", "1.5"]).unwrap_err(),
            "--fail-rate: 1.5 is out of range; expected 0.0 to 1.0"
        );
        assert_eq!(
            parse(&["--fail-status", "200"]).unwrap_err(),
            "--fail-status: 200 is not an error status; expected 400 to 599"
        );
        assert!(parse(&["--port", "x"])
            .unwrap_err()
            .starts_with("--port: cannot parse 'x'"));
        assert!(parse(&["--driver", "kqueue"])
            .unwrap_err()
            .contains("unknown driver"));
        assert!(parse(&["--latency-ms", "-1"])
            .unwrap_err()
            .starts_with("--latency-ms"));
        assert!(parse(&["--tls-cert", "a"])
            .unwrap_err()
            .contains("go together"));
        assert!(parse(&["--bogus"]).unwrap_err().contains("--bogus"));
        assert!(matches!(parse_args(["--help"]), Ok(Cli::Help)));
    }
}
