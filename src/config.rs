//! Loads LiteLLM's `config.yaml`, unchanged, into Ringway's frozen [`Config`].
//!
//! Ringway is a drop-in replacement for the LiteLLM proxy, so it reads the same file:
//! `model_list`, `general_settings`, `litellm_settings`, `router_settings` and
//! `environment_variables`, plus Ringway's own `ringway_settings` (LiteLLM ignores unknown
//! top-level keys, so one file serves both).
//!
//! # Pipeline
//!
//! 1. **Parse** the text with the event parser that serde-saphyr re-exports
//!    (`serde_saphyr::granit_parser`) into a small tree of `Node`s, each remembering its
//!    file, line and column. Anchors, aliases and `<<` merge keys are resolved here and
//!    duplicate keys are rejected here.
//! 2. **Include**: LiteLLM's `include:` list pulls in more files; lists are appended and
//!    other values replaced, exactly as `litellm/proxy/common_utils/config_includes.py` does.
//! 3. **Environment**: `environment_variables:` is applied first, then every value Ringway
//!    reads is checked for an `os.environ/VAR` reference and replaced by the variable.
//! 4. **Walk** the known keys with their dotted path (`model_list[0].litellm_params.rpm`),
//!    converting each value with a precise error. Keys Ringway does not implement yet are
//!    accepted with one warning each, never silently.
//! 5. **Freeze**: ids are assigned and the [`Config`] is returned; it is immutable from then
//!    on, and the control plane hands shards a new one on reload.
//!
//! serde derive is not used for the LiteLLM sections because the walk needs the position of
//! every value, must turn unknown keys into warnings rather than errors, must resolve
//! `os.environ/` before a value is typed, and accepts numbers written as strings (`"60"`)
//! the way LiteLLM's pydantic models do.
//!
//! # Invariants
//!
//! - Loading happens once per start or reload, off the request path; nothing here runs per
//!   request, and the module knows nothing about sockets or HTTP framing.
//! - [`Config`] is plain owned data (`Send + Sync`, no `Rc`): the control plane builds it and
//!   sends it to shards. The positioned tree, which uses `Rc` for aliases, never escapes.
//! - The process environment is written only through [`Environment::set_var`], and only
//!   [`ProcessEnv`] writes the real one (see its safety note).
//! - Secrets (`api_key`, `master_key`, header values) never appear in `Debug` output.
//!
//! # Error and warning format
//!
//! Errors start with the location and the key path, then state the rule:
//! `config.yaml:7:12: model_list[0].litellm_params.rpm: expected an integer, found "many"`.
//! The location is the offending node (the value for a wrong type, the entry for a missing
//! field, the second key for a duplicate). All errors in a file are reported together.
//! Warnings start with `config: ` and name the key they are about.
//!
//! # Size
//!
//! This file is long (about 2,200 lines of code, 1,000 of tests) because it holds three
//! tightly coupled parts: the positioned YAML tree, the include merge and the schema walk.
//! The tree is private to the walk; splitting it out would only widen its interface. Good
//! cut lines if it grows: the tree (`parse_yaml` and its helpers) into `config/yaml.rs`, and
//! the tests into `config/tests.rs`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, ScanError, Span};

/// Request body limit when `general_settings.max_request_size_mb` is unset: 32 MiB.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 32 * 1024 * 1024;

/// Prefix that marks a value to be read from the environment, as in LiteLLM.
pub const ENV_PREFIX: &str = "os.environ/";

/// Largest config file (and each included file) Ringway reads.
const MAX_CONFIG_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Most files one config may pull in through `include:`.
const MAX_INCLUDED_FILES: usize = 64;
/// Most errors listed in one [`ConfigError`]; the rest are counted.
const MAX_ERRORS_SHOWN: usize = 50;
/// Longest value quoted back in an error message.
const MAX_QUOTED_CHARS: usize = 60;
/// Upper bound for any timeout in seconds (one year), so `Duration::from_secs_f64` is safe.
const MAX_TIMEOUT_S: f64 = 31_536_000.0;
/// Upper bound for `max_request_size_mb` and `max_response_size_mb` (1 TiB).
const MAX_SIZE_MB: f64 = 1_048_576.0;
/// Upper bound for a deployment `weight`.
const MAX_WEIGHT: f64 = 1e9;

/// The whole configuration, validated and immutable.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Deployments in file order (includes appended after the main file's entries).
    pub model_list: Vec<Deployment>,
    /// `general_settings:`.
    pub general: GeneralSettings,
    /// `litellm_settings:`.
    pub litellm: LitellmSettings,
    /// `router_settings:`.
    pub router: RouterSettings,
    /// Ringway's own section, `ringway_settings:`.
    pub ringway: RingwaySettings,
    /// One line per ignored section or key, per unset environment variable, and per risky
    /// setting; the binary logs them at start-up.
    pub warnings: Vec<String>,
}

/// One `model_list` entry.
#[derive(Clone, Default, PartialEq)]
pub struct Deployment {
    /// Public name, the "model group"; may be a wildcard such as `openai/*` or `*`.
    pub model_name: String,
    /// `litellm_params.model` as written, e.g. `openai/gpt-4o` or `gpt-4o`.
    pub model: String,
    /// Provider: the known LiteLLM provider before the first `/`, `litellm_params.custom_llm_provider`
    /// when set, `*` for `model: "*"`, otherwise `openai`.
    pub provider: String,
    /// The model id sent upstream: `model` without the provider prefix (`*` for `openai/*`).
    pub upstream_model: String,
    /// Upstream base URL (`http://` or `https://`), e.g. `http://127.0.0.1:8001/v1`.
    pub api_base: Option<String>,
    /// Upstream credential, after `os.environ/` resolution. Redacted in `Debug`.
    pub api_key: Option<String>,
    /// Azure API version, e.g. `2024-02-01`.
    pub api_version: Option<String>,
    /// Seconds.
    pub timeout: Option<f64>,
    /// Seconds.
    pub stream_timeout: Option<f64>,
    /// Retries against this deployment.
    pub max_retries: Option<u32>,
    /// From the entry itself, else `litellm_params`, else `model_info` (LiteLLM's order).
    pub rpm: Option<u64>,
    /// Same sources and order as `rpm`.
    pub tpm: Option<u64>,
    /// Share for weighted `simple-shuffle` within the model group; 0 ≤ weight ≤ 1e9.
    pub weight: Option<f64>,
    /// Canned reply returned instead of calling the upstream.
    pub mock_response: Option<String>,
    /// Sent with every upstream request, in file order. Names are HTTP tokens and values
    /// hold no control characters; framing headers are refused at load.
    pub extra_headers: Vec<(String, String)>,
    /// OpenAI organization id, sent as `OpenAI-Organization`.
    pub organization: Option<String>,
    /// Azure Entra ID token, sent as `Authorization: Bearer` instead of `api-key`.
    pub azure_ad_token: Option<String>,
    /// Vertex AI: GCP project, region, and service-account credentials (a
    /// JSON file path or the JSON itself).
    pub vertex_project: Option<String>,
    pub vertex_location: Option<String>,
    pub vertex_credentials: Option<String>,
    /// AWS Bedrock credentials and region (else the standard env vars).
    pub aws_access_key_id: Option<String>,
    pub aws_secret_access_key: Option<String>,
    pub aws_session_token: Option<String>,
    pub aws_region_name: Option<String>,
    /// LiteLLM's per-deployment `drop_params`.
    pub drop_params: Option<bool>,
    /// `model_info.id`, or a stable hex hash of (model_name, model, api_base).
    pub id: String,
    /// `model_info.mode` (`chat`, `embedding`, ...); LiteLLM's default is `chat`.
    pub mode: Option<String>,
}

/// `general_settings:` keys that Ringway implements.
#[derive(Clone, Default, PartialEq)]
pub struct GeneralSettings {
    /// From the config, or from `LITELLM_MASTER_KEY` when the key is absent (LiteLLM does the
    /// same). Never empty.
    pub master_key: Option<String>,
    /// Largest request body in MiB; see [`Config::max_request_bytes`].
    pub max_request_size_mb: Option<f64>,
    /// Largest response body in MiB; see [`Config::max_response_bytes`].
    pub max_response_size_mb: Option<f64>,
}

/// `litellm_settings:` keys that Ringway implements.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LitellmSettings {
    /// Default retries for every model group.
    pub num_retries: Option<u32>,
    /// Seconds.
    pub request_timeout: Option<f64>,
    /// Drop request parameters the provider does not support instead of failing.
    pub drop_params: Option<bool>,
    /// Upstream TLS verification.
    pub ssl_verify: SslVerify,
}

/// `litellm_settings.ssl_verify`: `true`, `false` or a CA bundle path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SslVerify {
    /// Verify against the system roots (and `ringway_settings.ca_file`, if set).
    #[default]
    Default,
    /// `ssl_verify: false`: upstream certificates are not checked.
    Disabled,
    /// `ssl_verify: "/path/ca.pem"`: verify against this bundle. The file existed at load.
    CaFile(PathBuf),
}

/// `router_settings:` keys that Ringway implements.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RouterSettings {
    /// Retries per request across the model group (overrides `litellm_settings`).
    pub num_retries: Option<u32>,
    /// Seconds.
    pub timeout: Option<f64>,
    /// One of LiteLLM's strategy names (checked at load), e.g. `simple-shuffle`.
    pub routing_strategy: Option<String>,
}

/// `ringway_settings:`, every data-plane limit. Unknown keys here are errors, since this
/// section is Ringway's own and a typo would otherwise go unnoticed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingwaySettings {
    /// Largest request head (request line plus headers), bytes. Default 65536.
    pub max_header_bytes: usize,
    /// Most request headers. Default 100.
    pub max_headers: usize,
    /// Most open client connections per shard. Default 10000.
    pub max_connections_per_shard: usize,
    /// Most requests in flight per shard. Default 4096.
    pub max_inflight_per_shard: usize,
    /// Time to receive a full request head. Default 10000.
    pub header_timeout_ms: u64,
    /// Time to receive the full request body. Default 30000.
    pub body_timeout_ms: u64,
    /// Keep-alive idle time before a client connection is closed. Default 60000.
    pub idle_timeout_ms: u64,
    /// Time to open an upstream connection (TCP and TLS). Default 5000.
    pub upstream_connect_timeout_ms: u64,
    /// Idle pooled upstream connections kept per origin per shard; 0 disables pooling.
    /// Default 256.
    pub upstream_idle_per_origin: usize,
    /// Idle time after which a pooled upstream connection is closed. Default 90000.
    pub upstream_pool_idle_timeout_ms: u64,
    /// How long a resolved upstream address is reused; 0 resolves every time. Default 60.
    pub dns_ttl_s: u64,
    /// Time given to in-flight requests on shutdown. Default 10000.
    pub shutdown_grace_ms: u64,
    /// Extra CA bundle for upstream TLS. The file existed at load.
    pub ca_file: Option<PathBuf>,
}

impl Default for RingwaySettings {
    fn default() -> Self {
        RingwaySettings {
            max_header_bytes: 65_536,
            max_headers: 100,
            max_connections_per_shard: 10_000,
            max_inflight_per_shard: 4096,
            header_timeout_ms: 10_000,
            body_timeout_ms: 30_000,
            idle_timeout_ms: 60_000,
            upstream_connect_timeout_ms: 5000,
            upstream_idle_per_origin: 256,
            upstream_pool_idle_timeout_ms: 90_000,
            dns_ttl_s: 60,
            shutdown_grace_ms: 10_000,
            ca_file: None,
        }
    }
}

/// Why a config could not be loaded. `message` holds one line per problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// `file:line:col: path: rule` lines, one per problem.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    fn new(message: impl Into<String>) -> Self {
        ConfigError {
            message: message.into(),
        }
    }
}

impl Config {
    /// Reads and loads a config file; `environment_variables:` is written to the process
    /// environment (see [`ProcessEnv`]), so call this before any thread is started.
    pub fn from_path(path: &Path) -> Result<Config, ConfigError> {
        Config::from_path_with_env(path, &mut ProcessEnv)
    }

    /// Like [`Config::from_path`], reading and writing variables through `env`.
    pub fn from_path_with_env(
        path: &Path,
        env: &mut dyn Environment,
    ) -> Result<Config, ConfigError> {
        let origin = path.display().to_string();
        let text =
            read_config_file(path).map_err(|e| ConfigError::new(format!("{origin}: {e}")))?;
        load(&text, &origin, env)
    }

    /// Loads a config from text. `origin` names it in messages and is the base for relative
    /// `include:` paths. Writes `environment_variables:` to the process environment.
    pub fn from_str(yaml: &str, origin: &str) -> Result<Config, ConfigError> {
        Config::from_str_with_env(yaml, origin, &mut ProcessEnv)
    }

    /// Like [`Config::from_str`], reading and writing variables through `env`. Reloads on a
    /// running process pass an [`OverlayEnv`] so that no thread sees the environment change.
    pub fn from_str_with_env(
        yaml: &str,
        origin: &str,
        env: &mut dyn Environment,
    ) -> Result<Config, ConfigError> {
        load(yaml, origin, env)
    }

    /// No models and every default; used when Ringway starts without `--config`.
    pub fn empty() -> Config {
        Config {
            model_list: Vec::new(),
            general: GeneralSettings::default(),
            litellm: LitellmSettings::default(),
            router: RouterSettings::default(),
            ringway: RingwaySettings::default(),
            warnings: Vec::new(),
        }
    }

    /// `general_settings.max_request_size_mb` in bytes (MiB, as LiteLLM counts), or
    /// [`DEFAULT_MAX_REQUEST_BYTES`]. Always at least 1.
    pub fn max_request_bytes(&self) -> usize {
        self.general
            .max_request_size_mb
            .map_or(DEFAULT_MAX_REQUEST_BYTES, mb_to_bytes)
    }

    /// `general_settings.max_response_size_mb` in bytes, when set. Always at least 1.
    pub fn max_response_bytes(&self) -> Option<usize> {
        self.general.max_response_size_mb.map(mb_to_bytes)
    }
}

fn mb_to_bytes(mb: f64) -> usize {
    // ok: load checked 0 < mb <= MAX_SIZE_MB, and `as` saturates on 32-bit targets.
    ((mb * 1_048_576.0).round() as usize).max(1)
}

impl fmt::Debug for Deployment {
    // Hand-written so that keys never reach a log: `api_key` and header values are redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.extra_headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Deployment")
            .field("model_name", &self.model_name)
            .field("model", &self.model)
            .field("provider", &self.provider)
            .field("upstream_model", &self.upstream_model)
            .field("api_base", &self.api_base)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("api_version", &self.api_version)
            .field("timeout", &self.timeout)
            .field("stream_timeout", &self.stream_timeout)
            .field("max_retries", &self.max_retries)
            .field("rpm", &self.rpm)
            .field("tpm", &self.tpm)
            .field("weight", &self.weight)
            .field("mock_response", &self.mock_response)
            .field("extra_headers(names)", &header_names)
            .field("organization", &self.organization)
            .field(
                "azure_ad_token",
                &self.azure_ad_token.as_ref().map(|_| "<redacted>"),
            )
            .field("vertex_project", &self.vertex_project)
            .field("vertex_location", &self.vertex_location)
            .field(
                "vertex_credentials",
                &self.vertex_credentials.as_ref().map(|_| "<redacted>"),
            )
            .field("aws_access_key_id", &self.aws_access_key_id)
            .field(
                "aws_secret_access_key",
                &self.aws_secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "aws_session_token",
                &self.aws_session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("aws_region_name", &self.aws_region_name)
            .field("drop_params", &self.drop_params)
            .field("id", &self.id)
            .field("mode", &self.mode)
            .finish()
    }
}

impl fmt::Debug for GeneralSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneralSettings")
            .field(
                "master_key",
                &self.master_key.as_ref().map(|_| "<redacted>"),
            )
            .field("max_request_size_mb", &self.max_request_size_mb)
            .field("max_response_size_mb", &self.max_response_size_mb)
            .finish()
    }
}

// ---------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------

/// Where `os.environ/VAR` is read from and `environment_variables:` is written to.
pub trait Environment {
    /// The variable's value, or `None` when it is unset or not UTF-8.
    fn var(&self, name: &str) -> Option<String>;
    /// Sets a variable. `name` is non-empty and holds no `=` or NUL; `value` holds no NUL.
    fn set_var(&mut self, name: &str, value: &str);
}

/// The real process environment, as LiteLLM uses it.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn set_var(&mut self, name: &str, value: &str) {
        // Writing the environment races with `getenv` in other threads (C code such as the
        // resolver does not take Rust's env lock). Ringway loads its config in `main`, before
        // any shard or control-plane thread exists, so nothing can read concurrently. A reload
        // on a running process must use `OverlayEnv` instead.
        std::env::set_var(name, value);
    }
}

/// An in-memory layer of variables over (optionally) the process environment. Writes stay in
/// the layer, so it is safe while other threads run, and tests use it to stay independent.
#[derive(Clone, Debug, Default)]
pub struct OverlayEnv {
    vars: HashMap<String, String>,
    read_process: bool,
}

impl OverlayEnv {
    /// Reads fall back to the process environment; writes stay in the layer.
    pub fn over_process() -> Self {
        OverlayEnv {
            vars: HashMap::new(),
            read_process: true,
        }
    }

    /// Sees only its own variables.
    pub fn isolated() -> Self {
        OverlayEnv::default()
    }

    /// Adds a variable to the layer.
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.to_string(), value.to_string());
        self
    }

    /// The layer's variables, including those set by `environment_variables:`.
    pub fn vars(&self) -> &HashMap<String, String> {
        &self.vars
    }
}

impl Environment for OverlayEnv {
    fn var(&self, name: &str) -> Option<String> {
        match self.vars.get(name) {
            Some(v) => Some(v.clone()),
            None if self.read_process => std::env::var(name).ok(),
            None => None,
        }
    }

    fn set_var(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_string(), value.to_string());
    }
}

/// Variables LiteLLM refuses to take from `environment_variables:`
/// (`ProxyConfig._BLOCKED_ENV_KEYS`); Ringway refuses the same ones.
const BLOCKED_ENV_KEYS: &[&str] = &[
    "DYLD_INSERT_LIBRARIES",
    "DYLD_LIBRARY_PATH",
    "HOME",
    "LD_LIBRARY_PATH",
    "LD_PRELOAD",
    "LOGNAME",
    "NO_PROXY",
    "PATH",
    "PYTHONHOME",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "SHELL",
    "USER",
    "no_proxy",
];

// ---------------------------------------------------------------------------------------
// Providers
// ---------------------------------------------------------------------------------------

/// Provider names LiteLLM recognises as a `provider/` prefix: `litellm.provider_list`
/// (litellm 1.106.2, 166 names), the JSON-configured OpenAI-compatible providers of
/// `llms/openai_like/providers.json`, and `anyscale` from older releases. Sorted, so that
/// [`is_known_provider`] can binary-search it.
#[rustfmt::skip]
pub const KNOWN_PROVIDERS: &[&str] = &[
    "a2a", "a2a_agent", "abliteration", "ai21", "ai21_chat", "aihubmix", "aiml", "aiohttp_openai",
    "amazon_nova", "anthropic", "anthropic_text", "anyscale", "apertis", "assemblyai",
    "auto_router", "aws_polly", "aws_textract", "azure", "azure_ai", "azure_speech", "azure_text",
    "baseten", "bedrock", "bedrock_mantle", "black_forest_labs", "bytez", "cerebras",
    "charity_engine", "chatgpt", "chutes", "clarifai", "cloudflare", "codestral", "cognition",
    "cohere", "cohere_chat", "cometapi", "compactifai", "cortecs", "crusoe", "cursor", "custom",
    "custom_openai", "darkbloom", "dashscope", "databricks", "datarobot", "deepgram", "deepinfra",
    "deepseek", "docker_model_runner", "dotprompt", "edenai", "elevenlabs", "empiriolabs",
    "empower", "fal_ai", "featherless_ai", "fireworks_ai", "friendliai", "galadriel", "gdc",
    "gemini", "gigachat", "github", "github_copilot", "gmi", "gradient_ai", "groq", "helicone",
    "heroku", "hosted_vllm", "huggingface", "humanloop", "hyperbolic", "inception", "infinity",
    "jina_ai", "lambda_ai", "langflow", "langfuse", "langgraph", "lemonade", "libertai",
    "litellm_agent", "litellm_proxy", "llamafile", "llamagate", "lm_studio", "manus", "maritalk",
    "meta", "meta_llama", "milvus", "minimax", "mistral", "modelscope", "mongodb", "moonshot",
    "morph", "nadir", "nano-gpt", "nebius", "neosantara", "nlp_cloud", "novita", "nscale",
    "nvidia_nim", "nvidia_riva", "oci", "ollama", "ollama_chat", "oobabooga", "openai",
    "openai_like", "openrouter", "ovhcloud", "parasail", "perplexity", "petals", "pg_vector",
    "pinstripes", "poe", "predibase", "prism", "publicai", "qwen_ai_platform", "qwencloud",
    "ragflow", "recraft", "reducto", "reka", "replicate", "runwayml", "s3_vectors", "sagemaker",
    "sagemaker_chat", "sagemaker_nova", "sail", "sambanova", "sap", "sarvam", "scaleway",
    "scx-ai", "snowflake", "soniox", "stability", "strands_decider", "synthetic", "tencent",
    "tensormesh", "text-completion-codestral", "text-completion-inception",
    "text-completion-openai", "together_ai", "topaz", "transcribe", "triton", "typesafe", "v0",
    "valkey", "veniceai", "vercel_ai_gateway", "vertex_ai", "vertex_ai_beta", "vllm",
    "volcengine", "voyage", "wandb", "watsonx", "watsonx_text", "xai", "xiaomi_mimo",
    "xinference", "zai",
];

/// Whether `name` is a LiteLLM provider prefix (case-sensitive, as in LiteLLM).
pub fn is_known_provider(name: &str) -> bool {
    KNOWN_PROVIDERS.binary_search(&name).is_ok()
}

/// Splits `litellm_params.model` into (provider, upstream model id):
/// `openai/gpt-4o` → (`openai`, `gpt-4o`); `openai/facebook/opt-125m` → (`openai`,
/// `facebook/opt-125m`); `facebook/opt-125m` → (`openai`, `facebook/opt-125m`);
/// `gpt-4o` → (`openai`, `gpt-4o`); `*` → (`*`, `*`).
pub fn split_provider(model: &str) -> (&str, &str) {
    if model == "*" {
        return ("*", "*");
    }
    match model.split_once('/') {
        Some((prefix, rest)) if is_known_provider(prefix) => (prefix, rest),
        _ => ("openai", model),
    }
}

/// Like [`split_provider`], honouring `litellm_params.custom_llm_provider` the way LiteLLM's
/// `get_llm_provider` does: the provider is `custom`, and its prefix is stripped if present.
fn split_with_custom<'a>(model: &'a str, custom: Option<&'a str>) -> (&'a str, &'a str) {
    match custom {
        Some(p) => match model.strip_prefix(p).and_then(|r| r.strip_prefix('/')) {
            Some(rest) => (p, rest),
            None => (p, model),
        },
        None => split_provider(model),
    }
}

/// `router_settings.routing_strategy` values LiteLLM accepts (`VALID_ROUTING_STRATEGIES`).
pub const ROUTING_STRATEGIES: &[&str] = &[
    "simple-shuffle",
    "least-busy",
    "usage-based-routing",
    "usage-based-routing-v2",
    "latency-based-routing",
    "cost-based-routing",
    "provider-budget-routing",
    "lar1",
];

// ---------------------------------------------------------------------------------------
// Known keys
// ---------------------------------------------------------------------------------------

const ENTRY_KEYS: &[&str] = &["model_name", "litellm_params", "model_info", "rpm", "tpm"];
const PARAM_KEYS: &[&str] = &[
    "model",
    "api_base",
    "api_key",
    "api_version",
    "timeout",
    "stream_timeout",
    "max_retries",
    "rpm",
    "tpm",
    "weight",
    "mock_response",
    "extra_headers",
    "organization",
    "azure_ad_token",
    "custom_llm_provider",
    "vertex_project",
    "vertex_location",
    "vertex_credentials",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_region_name",
    "drop_params",
];
const INFO_KEYS: &[&str] = &["id", "mode", "rpm", "tpm"];
const GENERAL_KEYS: &[&str] = &["master_key", "max_request_size_mb", "max_response_size_mb"];
const LITELLM_KEYS: &[&str] = &[
    "num_retries",
    "request_timeout",
    "drop_params",
    "ssl_verify",
];
const ROUTER_KEYS: &[&str] = &["num_retries", "timeout", "routing_strategy"];
const TOP_LEVEL_KEYS: &[&str] = &[
    "model_list",
    "general_settings",
    "litellm_settings",
    "router_settings",
    "environment_variables",
    "ringway_settings",
    "include",
];
/// Top-level sections LiteLLM reads that Ringway does not implement yet.
const LITELLM_SECTIONS: &[&str] = &[
    "credential_list",
    "callback_settings",
    "guardrails",
    "pass_through_endpoints",
    "mcp_servers",
    "mcp_tools",
    "search_tools",
    "prompts",
    "policies",
    "policy_attachments",
    "agent_list",
    "agents",
    "vector_store_registry",
    "files_settings",
    "finetune_settings",
    "assistant_settings",
    "default_vertex_config",
    "plugins",
    "sandbox_tools",
    "classifier_plugin",
    "worker_registry",
];
/// Real LiteLLM keys that look like typos of Ringway keys; never "did you mean" them.
const NO_SUGGESTION: &[&str] = &["itpm", "otpm"];

/// `ringway_settings` keys with their inclusive range.
const RINGWAY_LIMITS: &[(&str, u64, u64)] = &[
    ("max_header_bytes", 1024, 16 * 1024 * 1024),
    ("max_headers", 1, 4096),
    ("max_connections_per_shard", 1, 1_000_000),
    ("max_inflight_per_shard", 1, 1_000_000),
    ("header_timeout_ms", 1, 3_600_000),
    ("body_timeout_ms", 1, 3_600_000),
    ("idle_timeout_ms", 1, 3_600_000),
    ("upstream_connect_timeout_ms", 1, 600_000),
    ("upstream_idle_per_origin", 0, 65_536),
    ("upstream_pool_idle_timeout_ms", 1, 3_600_000),
    ("dns_ttl_s", 0, 86_400),
    ("shutdown_grace_ms", 0, 3_600_000),
];

// ---------------------------------------------------------------------------------------
// Positioned YAML tree
// ---------------------------------------------------------------------------------------

/// Where a node starts: index into the loader's file names, 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pos {
    file: usize,
    line: usize,
    col: usize,
}

#[derive(Debug)]
struct Node {
    pos: Pos,
    value: Value,
}

#[derive(Debug)]
enum Value {
    /// `plain` is false for quoted, block and `!!str` scalars, which are always strings.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Rc<Node>>),
    Map(Vec<Entry>),
}

#[derive(Clone, Debug)]
struct Entry {
    key: String,
    value: Rc<Node>,
}

fn find<'a>(entries: &'a [Entry], key: &str) -> Option<&'a Entry> {
    entries.iter().find(|e| e.key == key)
}

/// A collection being built while its events arrive.
struct Frame {
    pos: Pos,
    anchor: usize,
    /// Dotted path of this collection, for duplicate-key messages.
    path: String,
    kind: FrameKind,
}

enum FrameKind {
    Seq(Vec<Rc<Node>>),
    Map {
        entries: Vec<Entry>,
        /// Key → line of its first definition.
        seen: HashMap<String, usize>,
        /// The key whose value comes next, with its position and whether it was plain.
        key: Option<(String, Pos, bool)>,
        /// Values of `<<` merge keys, applied when the mapping ends.
        merges: Vec<Rc<Node>>,
    },
}

fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// "file:line:col: path: message", or "file:line:col: message" at the top level.
fn located(origin: &str, pos: Pos, path: &str, message: &str) -> String {
    if path.is_empty() {
        format!("{origin}:{}:{}: {message}", pos.line, pos.col)
    } else {
        format!("{origin}:{}:{}: {path}: {message}", pos.line, pos.col)
    }
}

fn pos_of(file: usize, span: &Span) -> Pos {
    Pos {
        file,
        line: span.start.line(),
        col: span.start.col() + 1,
    }
}

fn scan_error(origin: &str, e: &ScanError) -> String {
    let m = e.marker();
    format!(
        "{origin}:{}:{}: invalid YAML: {}",
        m.line(),
        m.col() + 1,
        e.info()
    )
}

/// Parses one YAML document into a tree. `Ok(None)` for an empty document.
fn parse_yaml(text: &str, file: usize, origin: &str) -> Result<Option<Rc<Node>>, String> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Rc<Node>> = HashMap::new();
    let mut root: Option<Rc<Node>> = None;
    let mut documents = 0usize;
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| scan_error(origin, &e))?;
        let pos = pos_of(file, &span);
        match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return Err(located(
                        origin,
                        pos,
                        "",
                        "expected a single YAML document, found another one (remove the `---`)",
                    ));
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                let is_str_tag = tag.as_deref().and_then(|t| t.core_suffix()) == Some("str");
                let node = Rc::new(Node {
                    pos,
                    value: Value::Scalar {
                        text: value.into_owned(),
                        plain: style == ScalarStyle::Plain && !is_str_tag,
                    },
                });
                if anchor != 0 {
                    anchors.insert(anchor, Rc::clone(&node));
                }
                attach(&mut stack, &mut root, node, origin)?;
            }
            Event::Alias(id) => {
                let Some(node) = anchors.get(&id).cloned() else {
                    return Err(located(
                        origin,
                        pos,
                        "",
                        "alias refers to an anchor that is not defined before it or that encloses it",
                    ));
                };
                attach(&mut stack, &mut root, node, origin)?;
            }
            Event::SequenceStart(_, anchor, _) => {
                let path = child_path(&stack);
                stack.push(Frame {
                    pos,
                    anchor,
                    path,
                    kind: FrameKind::Seq(Vec::new()),
                });
            }
            Event::MappingStart(_, anchor, _) => {
                let path = child_path(&stack);
                stack.push(Frame {
                    pos,
                    anchor,
                    path,
                    kind: FrameKind::Map {
                        entries: Vec::new(),
                        seen: HashMap::new(),
                        key: None,
                        merges: Vec::new(),
                    },
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = stack.pop() else {
                    return Err(located(origin, pos, "", "unbalanced collection end"));
                };
                let anchor = frame.anchor;
                let node = Rc::new(finish_frame(frame, origin)?);
                if anchor != 0 {
                    anchors.insert(anchor, Rc::clone(&node));
                }
                attach(&mut stack, &mut root, node, origin)?;
            }
            // Stream and document ends, comments and anchor metadata carry no data.
            _ => {}
        }
    }
    Ok(root)
}

/// Path of the collection that starts now, from the frame that will hold it.
fn child_path(stack: &[Frame]) -> String {
    match stack.last() {
        None => String::new(),
        Some(frame) => match &frame.kind {
            FrameKind::Seq(items) => format!("{}[{}]", frame.path, items.len()),
            FrameKind::Map { key: Some(k), .. } => join_path(&frame.path, &k.0),
            FrameKind::Map { key: None, .. } => frame.path.clone(),
        },
    }
}

/// Adds a finished node to the enclosing collection, or makes it the root.
fn attach(
    stack: &mut [Frame],
    root: &mut Option<Rc<Node>>,
    node: Rc<Node>,
    origin: &str,
) -> Result<(), String> {
    let Some(frame) = stack.last_mut() else {
        *root = Some(node);
        return Ok(());
    };
    match &mut frame.kind {
        FrameKind::Seq(items) => items.push(node),
        FrameKind::Map {
            entries,
            seen,
            key,
            merges,
        } => match key.take() {
            None => {
                let Value::Scalar { text, plain } = &node.value else {
                    return Err(located(
                        origin,
                        node.pos,
                        &frame.path,
                        "mapping keys must be strings, found a collection",
                    ));
                };
                *key = Some((text.clone(), node.pos, *plain));
            }
            Some((k, k_pos, k_plain)) => {
                if k_plain && k == "<<" {
                    merges.push(node);
                } else if let Some(first_line) = seen.get(&k) {
                    return Err(located(
                        origin,
                        k_pos,
                        &frame.path,
                        &format!("duplicate key `{k}` (first defined at line {first_line})"),
                    ));
                } else {
                    seen.insert(k.clone(), k_pos.line);
                    entries.push(Entry {
                        key: k,
                        value: node,
                    });
                }
            }
        },
    }
    Ok(())
}

/// Turns a closed frame into a node, applying `<<` merges (explicit keys win, then earlier
/// merged mappings win, as YAML's merge-key type specifies).
fn finish_frame(frame: Frame, origin: &str) -> Result<Node, String> {
    let value = match frame.kind {
        FrameKind::Seq(items) => Value::Seq(items),
        FrameKind::Map {
            mut entries,
            mut seen,
            merges,
            ..
        } => {
            for merge in &merges {
                let sources: Vec<&Rc<Node>> = match &merge.value {
                    Value::Map(_) => vec![merge],
                    Value::Seq(items) => items.iter().collect(),
                    Value::Scalar { .. } => Vec::new(),
                };
                if sources.is_empty() || sources.iter().any(|s| !matches!(s.value, Value::Map(_))) {
                    return Err(located(
                        origin,
                        merge.pos,
                        &frame.path,
                        "merge key `<<` expects a mapping or a list of mappings",
                    ));
                }
                for source in sources {
                    if let Value::Map(merged) = &source.value {
                        for e in merged {
                            if !seen.contains_key(&e.key) {
                                seen.insert(e.key.clone(), source.pos.line);
                                entries.push(e.clone());
                            }
                        }
                    }
                }
            }
            Value::Map(entries)
        }
    };
    Ok(Node {
        pos: frame.pos,
        value,
    })
}

fn read_config_file(path: &Path) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read config file: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read config file: {e}"))?;
    if bytes.len() as u64 > MAX_CONFIG_FILE_BYTES {
        return Err(format!(
            "config file is larger than {} MiB",
            MAX_CONFIG_FILE_BYTES / (1024 * 1024)
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "config file is not valid UTF-8 (byte {})",
            e.utf8_error().valid_up_to()
        )
    })
}

// ---------------------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------------------

fn is_null_word(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

/// YAML 1.1 booleans (what PyYAML, and so LiteLLM, reads) plus `1`/`0` for values that come
/// from the environment, which pydantic also accepts.
fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

#[derive(Debug, PartialEq, Eq)]
enum IntError {
    NotInteger,
    Negative,
    TooLarge,
}

/// Integers as YAML and Python write them: `60`, `+60`, `1_000`, `0x3c`, `0o74`, and
/// integral floats such as `60.0` or `6e1` (pydantic accepts those for `int` fields).
fn parse_uint(s: &str) -> Result<u64, IntError> {
    let t = s.trim();
    let (negative, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let digits: String = body.chars().filter(|c| *c != '_').collect();
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return Err(IntError::NotInteger);
    }
    let radix = |text: &str, base: u32| {
        u64::from_str_radix(text, base).map_err(|e| match e.kind() {
            std::num::IntErrorKind::PosOverflow => IntError::TooLarge,
            _ => IntError::NotInteger,
        })
    };
    let value = if let Some(hex) = digits.strip_prefix("0x") {
        radix(hex, 16)?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        radix(oct, 8)?
    } else if digits.bytes().all(|b| b.is_ascii_digit()) {
        radix(&digits, 10)?
    } else {
        let f: f64 = digits.parse().map_err(|_| IntError::NotInteger)?;
        if !f.is_finite() || f.fract() != 0.0 {
            return Err(IntError::NotInteger);
        }
        if f >= 18_446_744_073_709_551_616.0 {
            return Err(IntError::TooLarge);
        }
        // ok: f is integral, non-negative and below 2^64.
        f as u64
    };
    if negative && value != 0 {
        return Err(IntError::Negative);
    }
    Ok(value)
}

/// Finite numbers: `1.5`, `-2`, `1e3`, `1_000.5`, `0x10`. Rejects `.inf` and `.nan`.
fn parse_float(s: &str) -> Option<f64> {
    let t: String = s.trim().chars().filter(|c| *c != '_').collect();
    if let Ok(v) = t.parse::<f64>() {
        return v.is_finite().then_some(v);
    }
    match parse_uint(s) {
        Ok(v) => Some(v as f64),
        Err(_) => None,
    }
}

/// A plain scalar that YAML would type as something other than a string.
fn is_typed_plain(text: &str) -> bool {
    is_null_word(text)
        || matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off"
        )
        || parse_float(text).is_some()
        || matches!(text, ".inf" | "-.inf" | "+.inf" | ".nan" | ".NaN" | ".Inf")
}

fn quote(text: &str) -> String {
    if text.chars().count() > MAX_QUOTED_CHARS {
        let cut: String = text.chars().take(MAX_QUOTED_CHARS).collect();
        format!("{cut:?}...")
    } else {
        format!("{text:?}")
    }
}

fn describe_node(node: &Node) -> String {
    match &node.value {
        Value::Map(_) => "a mapping".to_string(),
        Value::Seq(_) => "a list".to_string(),
        Value::Scalar { text, plain: true } if is_null_word(text) => "null".to_string(),
        Value::Scalar { text, plain } => describe_text(text, *plain, None),
    }
}

/// How a scalar is shown in an error: numbers and booleans bare, strings quoted.
fn describe_text(text: &str, plain: bool, env_var: Option<&str>) -> String {
    match env_var {
        Some(var) => format!("{} (from environment variable {var})", quote(text)),
        None if plain && is_typed_plain(text) => text.to_string(),
        None => quote(text),
    }
}

/// A scalar after `os.environ/` resolution.
struct Resolved {
    text: String,
    plain: bool,
    env_var: Option<String>,
}

impl Resolved {
    fn describe(&self) -> String {
        describe_text(&self.text, self.plain, self.env_var.as_deref())
    }
}

/// What to do when an `os.environ/VAR` reference names an unset variable.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Missing {
    /// Treat the value as unset and add a warning (LiteLLM resolves it to `None`).
    Warn,
    /// Fail: the value is required, or leaving it unset would be unsafe.
    Fail,
}

/// A required string field.
enum Required {
    Absent,
    /// An error was already reported.
    Failed,
    Value(String, Pos),
}

// ---------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------

fn load(yaml: &str, origin: &str, env: &mut dyn Environment) -> Result<Config, ConfigError> {
    let mut files = vec![origin.to_string()];
    let mut warnings = Vec::new();
    let root = parse_yaml(yaml, 0, origin).map_err(ConfigError::new)?;
    let entries = match root.as_deref() {
        None => Vec::new(),
        Some(Node {
            value: Value::Scalar { text, plain: true },
            ..
        }) if is_null_word(text) => Vec::new(),
        Some(Node {
            value: Value::Map(entries),
            ..
        }) => entries.clone(),
        Some(node) => {
            return Err(ConfigError::new(located(
                origin,
                node.pos,
                "",
                &format!(
                    "expected a mapping of sections (model_list, general_settings, ...), found {}",
                    describe_node(node)
                ),
            )))
        }
    };
    if entries.is_empty() {
        warnings.push(format!(
            "config: {origin} has no settings; starting with no models"
        ));
    }
    let entries = expand_includes(entries, Path::new(origin), &mut files, &mut warnings)
        .map_err(ConfigError::new)?;
    let mut loader = Loader {
        files,
        env,
        errors: Vec::new(),
        warnings,
        unsupported: Vec::new(),
        unset_vars: Vec::new(),
    };
    let config = loader.config(&entries);
    if loader.errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::new(error_list(&loader.errors)))
    }
}

fn error_list(errors: &[String]) -> String {
    let mut message = errors
        .iter()
        .take(MAX_ERRORS_SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    if errors.len() > MAX_ERRORS_SHOWN {
        message.push_str(&format!(
            "\n... and {} more errors",
            errors.len() - MAX_ERRORS_SHOWN
        ));
    }
    message
}

/// Merges the files named by `include:` into the root config, breadth first, as LiteLLM
/// 1.106 does: each entry is resolved next to the file that declares it (falling back to the
/// root config's folder), a file is read once, list values are appended and other values
/// replaced.
fn expand_includes(
    mut config: Vec<Entry>,
    root_path: &Path,
    files: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<Vec<Entry>, String> {
    let mut pending: VecDeque<(Rc<Node>, PathBuf)> = VecDeque::new();
    take_includes(&mut config, root_path, &files[0], &mut pending)?;
    let mut loaded: HashSet<PathBuf> = HashSet::new();
    loaded.insert(absolute(root_path));
    while let Some((node, declared_in)) = pending.pop_front() {
        let origin = files.get(node.pos.file).cloned().unwrap_or_default();
        let Value::Scalar { text, .. } = &node.value else {
            continue; // ok: take_includes only queues scalars.
        };
        let location = resolve_include(text, &declared_in, root_path, warnings);
        if !loaded.insert(absolute(&location)) {
            continue;
        }
        if loaded.len() > MAX_INCLUDED_FILES + 1 {
            return Err(located(
                &origin,
                node.pos,
                "include",
                &format!("more than {MAX_INCLUDED_FILES} included files"),
            ));
        }
        let name = location.display().to_string();
        let text = read_config_file(&location)
            .map_err(|e| located(&origin, node.pos, "include", &format!("{name}: {e}")))?;
        let file = files.len();
        files.push(name.clone());
        let mut included = match parse_yaml(&text, file, &name)?.as_deref() {
            Some(Node {
                value: Value::Map(entries),
                ..
            }) => entries.clone(),
            _ => {
                return Err(located(
                    &origin,
                    node.pos,
                    "include",
                    &format!("included file {name} is not a YAML mapping"),
                ))
            }
        };
        take_includes(&mut included, &location, &name, &mut pending)?;
        for e in included {
            match config.iter_mut().find(|c| c.key == e.key) {
                Some(existing) => existing.value = merge_values(&existing.value, e.value),
                None => config.push(e),
            }
        }
    }
    Ok(config)
}

/// Removes `include:` from `config` and queues its entries.
fn take_includes(
    config: &mut Vec<Entry>,
    declared_in: &Path,
    origin: &str,
    pending: &mut VecDeque<(Rc<Node>, PathBuf)>,
) -> Result<(), String> {
    let Some(index) = config.iter().position(|e| e.key == "include") else {
        return Ok(());
    };
    let entry = config.remove(index);
    let items = match &entry.value.value {
        Value::Seq(items) => items,
        _ => {
            return Err(located(
                origin,
                entry.value.pos,
                "include",
                "must be a list of file paths",
            ))
        }
    };
    for item in items {
        match &item.value {
            Value::Scalar { text, plain } if !(*plain && is_null_word(text)) => {
                pending.push_back((Rc::clone(item), declared_in.to_path_buf()));
            }
            _ => {
                return Err(located(
                    origin,
                    item.pos,
                    "include",
                    "must be a list of file paths",
                ))
            }
        }
    }
    Ok(())
}

fn resolve_include(
    entry: &str,
    declared_in: &Path,
    root: &Path,
    warnings: &mut Vec<String>,
) -> PathBuf {
    let dir = |p: &Path| p.parent().map(Path::to_path_buf).unwrap_or_default();
    let declared_relative = dir(declared_in).join(entry);
    let root_relative = dir(root).join(entry);
    if absolute(&declared_relative) == absolute(&root_relative)
        || declared_relative.exists()
        || !root_relative.exists()
    {
        return declared_relative;
    }
    warnings.push(format!(
        "config: include {entry:?} declared in {} was not found next to it, so {} was read \
         instead; move the file next to the config that declares it",
        declared_in.display(),
        root_relative.display()
    ));
    root_relative
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn merge_values(base: &Rc<Node>, included: Rc<Node>) -> Rc<Node> {
    match (&base.value, &included.value) {
        (Value::Seq(a), Value::Seq(b)) => Rc::new(Node {
            pos: base.pos,
            value: Value::Seq(a.iter().chain(b.iter()).cloned().collect()),
        }),
        _ => included,
    }
}

/// One ignored key, possibly set in several `model_list` entries.
struct Unsupported {
    /// `router_settings.redis_host`, or `model_list[*].litellm_params.temperature`.
    generic: String,
    /// Full paths where it was set.
    paths: Vec<String>,
    /// Owners (`model_list[3]`) for keys inside list entries.
    owners: Vec<String>,
    suggestion: Option<&'static str>,
}

/// Walks the tree, collecting errors and warnings.
struct Loader<'e> {
    files: Vec<String>,
    env: &'e mut dyn Environment,
    errors: Vec<String>,
    warnings: Vec<String>,
    unsupported: Vec<Unsupported>,
    /// Unset variables named by `os.environ/` references, with the paths that use them.
    unset_vars: Vec<(String, Vec<String>)>,
}

impl Loader<'_> {
    fn error(&mut self, pos: Pos, path: &str, message: impl fmt::Display) {
        let origin = self.files.get(pos.file).map_or("config", String::as_str);
        let line = located(origin, pos, path, &message.to_string());
        self.errors.push(line);
    }

    /// Records an ignored key; `owner` is set for keys inside `model_list` entries.
    fn unsupported(
        &mut self,
        generic: String,
        path: String,
        owner: Option<String>,
        known: &[&'static str],
    ) {
        let key = generic.rsplit('.').next().unwrap_or(&generic).to_string();
        match self.unsupported.iter_mut().find(|u| u.generic == generic) {
            Some(u) => {
                u.paths.push(path);
                u.owners.extend(owner);
            }
            None => self.unsupported.push(Unsupported {
                suggestion: suggest(&key, known),
                generic,
                paths: vec![path],
                owners: owner.into_iter().collect(),
            }),
        }
    }

    fn config(&mut self, root: &[Entry]) -> Config {
        let mut config = Config::empty();
        // First, so that `os.environ/` references below see these variables (LiteLLM order).
        if let Some(e) = find(root, "environment_variables") {
            self.environment_variables(&e.value);
        }
        let mut ids = Vec::new();
        for e in root {
            let node = &e.value;
            match e.key.as_str() {
                "model_list" => (config.model_list, ids) = self.model_list(node),
                "general_settings" => config.general = self.general(node),
                "litellm_settings" => config.litellm = self.litellm(node),
                "router_settings" => config.router = self.router(node),
                "ringway_settings" => config.ringway = self.ringway(node),
                "environment_variables" => {}
                key if LITELLM_SECTIONS.contains(&key) => {
                    self.unsupported(key.to_string(), key.to_string(), None, &[]);
                }
                key => {
                    let hint = suggest(key, TOP_LEVEL_KEYS)
                        .map(|s| format!(" (did you mean {s}?)"))
                        .unwrap_or_default();
                    self.warnings.push(format!(
                        "config: {key} is not a LiteLLM or Ringway section; ignored{hint}"
                    ));
                }
            }
        }
        if find(root, "general_settings")
            .and_then(|g| match &g.value.value {
                Value::Map(entries) => find(entries, "master_key"),
                _ => None,
            })
            .is_none()
        {
            // LiteLLM: general_settings.get("master_key", get_secret("LITELLM_MASTER_KEY")).
            config.general.master_key =
                self.env.var("LITELLM_MASTER_KEY").filter(|k| !k.is_empty());
        }
        self.assign_ids(&mut config.model_list, &ids);
        self.render_unset_vars();
        self.render_unsupported();
        config.warnings = std::mem::take(&mut self.warnings);
        config
    }

    fn render_unset_vars(&mut self) {
        for (var, paths) in std::mem::take(&mut self.unset_vars) {
            let line = if paths.len() == 1 {
                format!(
                    "config: {}: environment variable {var} is not set; treated as unset",
                    paths[0]
                )
            } else {
                format!(
                    "config: environment variable {var} is not set; treated as unset in {}",
                    list_some(&paths)
                )
            };
            self.warnings.push(line);
        }
    }

    fn render_unsupported(&mut self) {
        for u in std::mem::take(&mut self.unsupported) {
            let hint = u
                .suggestion
                .map(|s| format!(" (did you mean {s}?)"))
                .unwrap_or_default();
            let line = if u.paths.len() == 1 {
                format!(
                    "config: {} is not supported by Ringway yet; ignored{hint}",
                    u.paths[0]
                )
            } else {
                format!(
                    "config: {} is not supported by Ringway yet; ignored{hint} (set in {})",
                    u.generic,
                    list_some(&u.owners)
                )
            };
            self.warnings.push(line);
        }
    }

    // --- values --------------------------------------------------------------------------

    /// Reads a scalar, resolving `os.environ/VAR`. `None` when null, unset, or on error
    /// (already reported).
    fn resolve(
        &mut self,
        node: &Node,
        path: &str,
        expected: &str,
        missing: Missing,
    ) -> Option<Resolved> {
        let (text, plain) = match &node.value {
            Value::Scalar { text, plain } => (text, *plain),
            _ => {
                let found = describe_node(node);
                self.error(
                    node.pos,
                    path,
                    format!("expected {expected}, found {found}"),
                );
                return None;
            }
        };
        if plain && is_null_word(text) {
            return None;
        }
        let Some(var) = text.strip_prefix(ENV_PREFIX) else {
            return Some(Resolved {
                text: text.clone(),
                plain,
                env_var: None,
            });
        };
        if var.is_empty() || var.contains(['=', '\0']) {
            self.error(
                node.pos,
                path,
                format!("invalid environment variable name {}", quote(var)),
            );
            return None;
        }
        match self.env.var(var) {
            Some(value) => Some(Resolved {
                text: value,
                plain: false,
                env_var: Some(var.to_string()),
            }),
            None => {
                match missing {
                    Missing::Warn => match self.unset_vars.iter_mut().find(|(v, _)| v == var) {
                        Some((_, paths)) => paths.push(path.to_string()),
                        None => self
                            .unset_vars
                            .push((var.to_string(), vec![path.to_string()])),
                    },
                    Missing::Fail => {
                        self.error(
                            node.pos,
                            path,
                            format!("environment variable {var} is not set"),
                        );
                    }
                }
                None
            }
        }
    }

    /// Any scalar, as text (LiteLLM would keep `api_version: 2024-02-01` or `id: 7` too).
    fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        self.resolve(node, path, "a string", Missing::Warn)
            .map(|r| r.text)
    }

    /// A string that YAML did not type as a number, boolean or null.
    fn strict_string(&mut self, node: &Node, path: &str) -> Option<String> {
        let r = self.resolve(node, path, "a string", Missing::Warn)?;
        if r.plain && is_typed_plain(&r.text) {
            let found = r.describe();
            self.error(
                node.pos,
                path,
                format!(
                    "expected a string, found {found} (quote it: \"{}\")",
                    r.text
                ),
            );
            return None;
        }
        Some(r.text)
    }

    fn required(&mut self, node: &Node, path: &str) -> Required {
        match self.resolve(node, path, "a string", Missing::Fail) {
            Some(r) if r.text.trim().is_empty() => {
                self.error(node.pos, path, "must not be empty");
                Required::Failed
            }
            Some(r) => Required::Value(r.text, node.pos),
            None if matches!(&node.value, Value::Scalar { text, plain: true } if is_null_word(text)) => {
                Required::Absent
            }
            None => Required::Failed,
        }
    }

    fn uint(&mut self, node: &Node, path: &str, min: u64, max: u64) -> Option<u64> {
        let r = self.resolve(node, path, "an integer", Missing::Warn)?;
        match parse_uint(&r.text) {
            Ok(v) if (min..=max).contains(&v) => Some(v),
            Ok(_) | Err(IntError::Negative) | Err(IntError::TooLarge) => {
                let found = r.describe();
                self.error(
                    node.pos,
                    path,
                    format!("expected an integer from {min} to {max}, found {found}"),
                );
                None
            }
            Err(IntError::NotInteger) => {
                let found = r.describe();
                self.error(
                    node.pos,
                    path,
                    format!("expected an integer, found {found}"),
                );
                None
            }
        }
    }

    fn u32(&mut self, node: &Node, path: &str) -> Option<u32> {
        self.uint(node, path, 0, u64::from(u32::MAX))
            .and_then(|v| u32::try_from(v).ok())
    }

    /// A number in `(0, max]` when `zero_ok` is false, `[0, max]` when true.
    fn number(&mut self, node: &Node, path: &str, zero_ok: bool, max: f64) -> Option<f64> {
        let r = self.resolve(node, path, "a number", Missing::Warn)?;
        let Some(v) = parse_float(&r.text) else {
            let found = r.describe();
            self.error(node.pos, path, format!("expected a number, found {found}"));
            return None;
        };
        let low_ok = if zero_ok { v >= 0.0 } else { v > 0.0 };
        if low_ok && v <= max {
            return Some(v);
        }
        let found = r.describe();
        let rule = if zero_ok {
            format!("expected a number from 0 to {max}")
        } else {
            format!("expected a number greater than 0 and at most {max}")
        };
        self.error(node.pos, path, format!("{rule}, found {found}"));
        None
    }

    fn seconds(&mut self, node: &Node, path: &str) -> Option<f64> {
        self.number(node, path, false, MAX_TIMEOUT_S)
    }

    fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        let r = self.resolve(node, path, "true or false", Missing::Warn)?;
        let v = parse_bool(&r.text);
        if v.is_none() {
            let found = r.describe();
            self.error(
                node.pos,
                path,
                format!("expected true or false, found {found}"),
            );
        }
        v
    }

    fn url(&mut self, node: &Node, path: &str) -> Option<String> {
        let url = self.string(node, path)?;
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Some(url);
        }
        self.error(
            node.pos,
            path,
            format!("expected an http:// or https:// URL, found {}", quote(&url)),
        );
        None
    }

    /// An existing file, for CA bundles; relative paths are relative to the working directory.
    fn existing_file(&mut self, node: &Node, path: &str, text: &str) -> Option<PathBuf> {
        let file = PathBuf::from(text);
        if file.is_file() {
            return Some(file);
        }
        self.error(
            node.pos,
            path,
            format!("CA bundle {} does not exist or is not a file", quote(text)),
        );
        None
    }

    /// The entries of a section; null counts as empty.
    fn section<'n>(&mut self, node: &'n Node, path: &str) -> &'n [Entry] {
        match &node.value {
            Value::Map(entries) => entries,
            Value::Scalar { text, plain: true } if is_null_word(text) => &[],
            _ => {
                let found = describe_node(node);
                self.error(node.pos, path, format!("expected a mapping, found {found}"));
                &[]
            }
        }
    }

    // --- sections ------------------------------------------------------------------------

    fn environment_variables(&mut self, node: &Node) {
        const PATH: &str = "environment_variables";
        for e in self.section(node, PATH) {
            let path = format!("{PATH}.{}", e.key);
            if e.key.is_empty() || e.key.contains(['=', '\0']) {
                self.error(e.value.pos, &path, "invalid environment variable name");
                continue;
            }
            if BLOCKED_ENV_KEYS.contains(&e.key.as_str()) {
                self.warnings.push(format!(
                    "config: {path}: {} may not be set from the config (LiteLLM blocks it too); ignored",
                    e.key
                ));
                continue;
            }
            let Some(r) = self.resolve(&e.value, &path, "a string", Missing::Warn) else {
                if matches!(&e.value.value, Value::Scalar { text, plain: true } if is_null_word(text))
                {
                    self.warnings
                        .push(format!("config: {path} is null; not set"));
                }
                continue;
            };
            // Python sets str(value): YAML 1.1 booleans become "True" / "False".
            let value = match (r.plain, r.env_var.is_none(), parse_bool(&r.text)) {
                (true, true, Some(b)) if parse_uint(&r.text).is_err() => {
                    if b { "True" } else { "False" }.to_string()
                }
                _ => r.text,
            };
            if value.contains('\0') {
                self.error(e.value.pos, &path, "value contains a NUL character");
                continue;
            }
            self.env.set_var(&e.key, &value);
        }
    }

    fn model_list(&mut self, node: &Node) -> (Vec<Deployment>, Vec<IdSource>) {
        let items: &[Rc<Node>] = match &node.value {
            Value::Seq(items) => items,
            Value::Scalar { text, plain: true } if is_null_word(text) => &[],
            _ => {
                let found = describe_node(node);
                self.error(
                    node.pos,
                    "model_list",
                    format!("expected a list of deployments, found {found}"),
                );
                &[]
            }
        };
        let mut deployments = Vec::with_capacity(items.len());
        let mut ids = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            if let Some((d, id)) = self.deployment(index, item) {
                deployments.push(d);
                ids.push(id);
            }
        }
        (deployments, ids)
    }

    fn deployment(&mut self, index: usize, node: &Node) -> Option<(Deployment, IdSource)> {
        let path = format!("model_list[{index}]");
        let Value::Map(entries) = &node.value else {
            let found = describe_node(node);
            self.error(
                node.pos,
                &path,
                format!("expected a mapping with model_name and litellm_params, found {found}"),
            );
            return None;
        };
        let mut d = Deployment::default();
        let mut model_name = Required::Absent;
        let mut model = Required::Absent;
        let mut custom_provider = None;
        let mut id = IdSource {
            index,
            explicit: None,
        };
        // LiteLLM's router reads rpm/tpm from the entry, then litellm_params, then model_info.
        let (mut entry_limits, mut info_limits) = (Limits::default(), Limits::default());
        for e in entries {
            let p = format!("{path}.{}", e.key);
            match e.key.as_str() {
                "model_name" => model_name = self.required(&e.value, &p),
                "rpm" => entry_limits.rpm = self.uint(&e.value, &p, 0, u64::MAX),
                "tpm" => entry_limits.tpm = self.uint(&e.value, &p, 0, u64::MAX),
                "litellm_params" => {
                    (model, custom_provider) = self.litellm_params(&e.value, &p, &path, &mut d);
                }
                "model_info" => {
                    for i in self.section(&e.value, &p) {
                        let ip = format!("{p}.{}", i.key);
                        match i.key.as_str() {
                            "id" => {
                                if let Required::Value(v, pos) = self.required(&i.value, &ip) {
                                    d.id = v;
                                    id.explicit = Some(pos);
                                }
                            }
                            "mode" => d.mode = self.string(&i.value, &ip),
                            "rpm" => info_limits.rpm = self.uint(&i.value, &ip, 0, u64::MAX),
                            "tpm" => info_limits.tpm = self.uint(&i.value, &ip, 0, u64::MAX),
                            key => self.unsupported(
                                format!("model_list[*].model_info.{key}"),
                                ip.clone(),
                                Some(path.clone()),
                                INFO_KEYS,
                            ),
                        }
                    }
                }
                key => self.unsupported(
                    format!("model_list[*].{key}"),
                    p.clone(),
                    Some(path.clone()),
                    ENTRY_KEYS,
                ),
            }
        }
        d.rpm = entry_limits.rpm.or(d.rpm).or(info_limits.rpm);
        d.tpm = entry_limits.tpm.or(d.tpm).or(info_limits.tpm);
        let mut ok = true;
        match model_name {
            Required::Value(v, _) => d.model_name = v,
            Required::Absent => {
                self.error(node.pos, &path, "missing required field model_name");
                ok = false;
            }
            Required::Failed => ok = false,
        }
        match model {
            Required::Value(v, pos) => {
                let (provider, upstream) = split_with_custom(&v, custom_provider.as_deref());
                if upstream.is_empty() {
                    self.error(
                        pos,
                        &format!("{path}.litellm_params.model"),
                        format!(
                            "expected provider/model-id, found {} (no model id after the provider)",
                            quote(&v)
                        ),
                    );
                    ok = false;
                }
                d.provider = provider.to_string();
                d.upstream_model = upstream.to_string();
                d.model = v;
            }
            Required::Absent => {
                self.error(
                    node.pos,
                    &path,
                    "missing required field litellm_params.model",
                );
                ok = false;
            }
            Required::Failed => ok = false,
        }
        ok.then_some((d, id))
    }

    /// Fills `d` from `litellm_params`; returns `model` and `custom_llm_provider`.
    fn litellm_params(
        &mut self,
        node: &Node,
        path: &str,
        owner: &str,
        d: &mut Deployment,
    ) -> (Required, Option<String>) {
        let mut model = Required::Absent;
        let mut custom = None;
        for e in self.section(node, path) {
            let p = format!("{path}.{}", e.key);
            let v = &e.value;
            match e.key.as_str() {
                "model" => model = self.required(v, &p),
                "api_base" => d.api_base = self.url(v, &p),
                "api_key" => d.api_key = self.string(v, &p),
                "api_version" => d.api_version = self.string(v, &p),
                "organization" => d.organization = self.string(v, &p),
                "azure_ad_token" => d.azure_ad_token = self.string(v, &p),
                "vertex_project" => d.vertex_project = self.string(v, &p),
                "vertex_location" => d.vertex_location = self.string(v, &p),
                "vertex_credentials" => d.vertex_credentials = self.string(v, &p),
                "aws_access_key_id" => d.aws_access_key_id = self.string(v, &p),
                "aws_secret_access_key" => d.aws_secret_access_key = self.string(v, &p),
                "aws_session_token" => d.aws_session_token = self.string(v, &p),
                "aws_region_name" => d.aws_region_name = self.string(v, &p),
                "drop_params" => d.drop_params = self.boolean(v, &p),
                "timeout" => d.timeout = self.seconds(v, &p),
                "stream_timeout" => d.stream_timeout = self.seconds(v, &p),
                "max_retries" => d.max_retries = self.u32(v, &p),
                "rpm" => d.rpm = self.uint(v, &p, 0, u64::MAX),
                "tpm" => d.tpm = self.uint(v, &p, 0, u64::MAX),
                "weight" => d.weight = self.number(v, &p, true, MAX_WEIGHT),
                "mock_response" => d.mock_response = self.strict_string(v, &p),
                "extra_headers" => d.extra_headers = self.headers(v, &p),
                "custom_llm_provider" => custom = self.string(v, &p).filter(|s| !s.is_empty()),
                key => self.unsupported(
                    format!("model_list[*].litellm_params.{key}"),
                    p.clone(),
                    Some(owner.to_string()),
                    PARAM_KEYS,
                ),
            }
        }
        (model, custom)
    }

    fn headers(&mut self, node: &Node, path: &str) -> Vec<(String, String)> {
        /// Set by Ringway itself; letting the config set them would break message framing.
        const RESERVED: &[&str] = &[
            "connection",
            "content-length",
            "host",
            "keep-alive",
            "proxy-connection",
            "te",
            "trailer",
            "transfer-encoding",
            "upgrade",
        ];
        let mut headers = Vec::new();
        for e in self.section(node, path) {
            let p = format!("{path}.{}", e.key);
            if !is_http_token(&e.key) {
                self.error(
                    e.value.pos,
                    &p,
                    format!("{} is not a valid HTTP header name", quote(&e.key)),
                );
                continue;
            }
            if RESERVED.contains(&e.key.to_ascii_lowercase().as_str()) {
                self.error(
                    e.value.pos,
                    &p,
                    format!("{} is set by Ringway; remove it from extra_headers", e.key),
                );
                continue;
            }
            let Some(value) = self.string(&e.value, &p) else {
                continue;
            };
            if !is_header_value(&value) {
                self.error(
                    e.value.pos,
                    &p,
                    "header value contains a control character (CR, LF, NUL, ...)",
                );
                continue;
            }
            headers.push((e.key.clone(), value));
        }
        headers
    }

    fn general(&mut self, node: &Node) -> GeneralSettings {
        let mut g = GeneralSettings::default();
        for e in self.section(node, "general_settings") {
            let p = format!("general_settings.{}", e.key);
            match e.key.as_str() {
                "master_key" => {
                    // Fail rather than start without auth when the variable is missing.
                    if let Some(r) = self.resolve(&e.value, &p, "a string", Missing::Fail) {
                        if r.text.is_empty() {
                            self.error(e.value.pos, &p, "must not be empty");
                        } else {
                            if r.text == "sk-1234" {
                                self.warnings.push(format!(
                                    "config: {p} is the publicly known example key sk-1234 \
                                     (LiteLLM refuses to start with it); change it"
                                ));
                            }
                            g.master_key = Some(r.text);
                        }
                    }
                }
                "max_request_size_mb" => {
                    g.max_request_size_mb = self.number(&e.value, &p, false, MAX_SIZE_MB);
                }
                "max_response_size_mb" => {
                    g.max_response_size_mb = self.number(&e.value, &p, false, MAX_SIZE_MB);
                }
                _ => self.unsupported(p.clone(), p.clone(), None, GENERAL_KEYS),
            }
        }
        g
    }

    fn litellm(&mut self, node: &Node) -> LitellmSettings {
        let mut s = LitellmSettings::default();
        for e in self.section(node, "litellm_settings") {
            let p = format!("litellm_settings.{}", e.key);
            let v = &e.value;
            match e.key.as_str() {
                "num_retries" => s.num_retries = self.u32(v, &p),
                "request_timeout" => s.request_timeout = self.seconds(v, &p),
                "drop_params" => s.drop_params = self.boolean(v, &p),
                "ssl_verify" => s.ssl_verify = self.ssl_verify(v, &p),
                _ => self.unsupported(p.clone(), p.clone(), None, LITELLM_KEYS),
            }
        }
        s
    }

    fn ssl_verify(&mut self, node: &Node, path: &str) -> SslVerify {
        let Some(r) = self.resolve(node, path, "true, false or a CA bundle path", Missing::Warn)
        else {
            return SslVerify::Default;
        };
        match parse_bool(&r.text) {
            Some(true) => SslVerify::Default,
            Some(false) => {
                self.warnings.push(format!(
                    "config: {path} is false; upstream TLS certificates are not verified"
                ));
                SslVerify::Disabled
            }
            None => match self.existing_file(node, path, &r.text) {
                Some(file) => SslVerify::CaFile(file),
                None => SslVerify::Default,
            },
        }
    }

    fn router(&mut self, node: &Node) -> RouterSettings {
        let mut s = RouterSettings::default();
        for e in self.section(node, "router_settings") {
            let p = format!("router_settings.{}", e.key);
            let v = &e.value;
            match e.key.as_str() {
                "num_retries" => s.num_retries = self.u32(v, &p),
                "timeout" => s.timeout = self.seconds(v, &p),
                "routing_strategy" => {
                    if let Some(name) = self.string(v, &p) {
                        if ROUTING_STRATEGIES.contains(&name.as_str()) {
                            s.routing_strategy = Some(name);
                        } else {
                            self.error(
                                v.pos,
                                &p,
                                format!(
                                    "expected one of {}, found {}",
                                    ROUTING_STRATEGIES.join(", "),
                                    quote(&name)
                                ),
                            );
                        }
                    }
                }
                _ => self.unsupported(p.clone(), p.clone(), None, ROUTER_KEYS),
            }
        }
        s
    }

    fn ringway(&mut self, node: &Node) -> RingwaySettings {
        let mut s = RingwaySettings::default();
        for e in self.section(node, "ringway_settings") {
            let p = format!("ringway_settings.{}", e.key);
            let v = &e.value;
            if e.key == "ca_file" {
                if let Some(text) = self.string(v, &p) {
                    s.ca_file = self.existing_file(v, &p, &text);
                }
                continue;
            }
            let Some(&(_, min, max)) = RINGWAY_LIMITS.iter().find(|l| l.0 == e.key) else {
                let known: Vec<&str> = RINGWAY_LIMITS
                    .iter()
                    .map(|l| l.0)
                    .chain(["ca_file"])
                    .collect();
                let hint = suggest(&e.key, &known)
                    .map(|k| format!(" (did you mean {k}?)"))
                    .unwrap_or_else(|| format!("; known keys: {}", known.join(", ")));
                self.error(e.value.pos, &p, format!("unknown key{hint}"));
                continue;
            };
            let Some(n) = self.uint(v, &p, min, max) else {
                continue;
            };
            set_ringway_limit(&mut s, &e.key, n);
        }
        s
    }

    fn assign_ids(&mut self, deployments: &mut [Deployment], ids: &[IdSource]) {
        let mut used: HashMap<String, usize> = HashMap::new();
        for (d, source) in deployments.iter().zip(ids) {
            let Some(pos) = source.explicit else {
                continue;
            };
            if let Some(first) = used.get(&d.id) {
                let path = format!("model_list[{}].model_info.id", source.index);
                let message = format!(
                    "duplicate deployment id {} (also used by model_list[{first}])",
                    quote(&d.id)
                );
                self.error(pos, &path, message);
            } else {
                used.insert(d.id.clone(), source.index);
            }
        }
        for (d, source) in deployments.iter_mut().zip(ids) {
            if source.explicit.is_some() {
                continue;
            }
            let hash = format!(
                "{:016x}",
                fnv1a(&[&d.model_name, &d.model, d.api_base.as_deref().unwrap_or("")])
            );
            // Identical entries (the same deployment listed twice, e.g. with two keys) get the
            // entry index appended, which is stable as long as the file order is.
            let mut id = hash.clone();
            if used.contains_key(&id) {
                id = format!("{hash}-{}", source.index);
            }
            used.insert(id.clone(), source.index);
            d.id = id;
        }
    }
}

/// "a, b, c and 4 more".
fn list_some(items: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut text = items
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        text.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    text
}

/// `rpm` / `tpm` written outside `litellm_params`.
#[derive(Default)]
struct Limits {
    rpm: Option<u64>,
    tpm: Option<u64>,
}

/// Where a deployment's id came from, for duplicate detection.
struct IdSource {
    index: usize,
    /// Position of `model_info.id` when written in the file.
    explicit: Option<Pos>,
}

fn set_ringway_limit(s: &mut RingwaySettings, key: &str, n: u64) {
    // ok: every range in RINGWAY_LIMITS fits in u32, so usize conversion cannot fail.
    let as_usize = usize::try_from(n).unwrap_or(usize::MAX);
    match key {
        "max_header_bytes" => s.max_header_bytes = as_usize,
        "max_headers" => s.max_headers = as_usize,
        "max_connections_per_shard" => s.max_connections_per_shard = as_usize,
        "max_inflight_per_shard" => s.max_inflight_per_shard = as_usize,
        "header_timeout_ms" => s.header_timeout_ms = n,
        "body_timeout_ms" => s.body_timeout_ms = n,
        "idle_timeout_ms" => s.idle_timeout_ms = n,
        "upstream_connect_timeout_ms" => s.upstream_connect_timeout_ms = n,
        "upstream_idle_per_origin" => s.upstream_idle_per_origin = as_usize,
        "upstream_pool_idle_timeout_ms" => s.upstream_pool_idle_timeout_ms = n,
        "dns_ttl_s" => s.dns_ttl_s = n,
        "shutdown_grace_ms" => s.shutdown_grace_ms = n,
        _ => {}
    }
}

/// 64-bit FNV-1a over length-prefixed parts: stable across runs, platforms and versions.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        let len = (part.len() as u64).to_le_bytes();
        for &b in len.iter().chain(part.as_bytes()) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

fn is_http_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_header_value(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// The closest known key within two edits, for "did you mean" hints.
fn suggest(key: &str, known: &[&'static str]) -> Option<&'static str> {
    if NO_SUGGESTION.contains(&key) || key.chars().count() < 4 {
        return None;
    }
    known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, _)| *d > 0 && *d <= 2 && d * 3 <= key.chars().count())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// §1.4 A of litellm-surface.md: the package's own proxy_config.yaml, trimmed.
    const SAMPLE_A: &str = r#"model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
  - model_name: text-embedding-3-small
    litellm_params:
      model: openai/text-embedding-3-small
      api_key: os.environ/OPENAI_API_KEY
  - model_name: bedrock-claude-sonnet-4
    litellm_params:
      model: "bedrock/us.anthropic.claude-sonnet-4-20250514-v1:0"
      aws_region_name: "us-east-1"
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  store_model_in_db: false
"#;

    /// §1.4 B: several providers, load balancing, fallbacks and router settings.
    const SAMPLE_B: &str = r#"model_list:
  - model_name: gpt-4o                        # 2 Azure deployments, load-balanced
    litellm_params:
      model: azure/gpt-4o-eu
      api_base: https://my-endpoint-europe-berri-992.openai.azure.com/
      api_key: "os.environ/AZURE_API_KEY_EU"
      rpm: 6
  - model_name: gpt-4o
    litellm_params:
      model: azure/gpt-4o-ca
      api_base: https://my-endpoint-canada-berri992.openai.azure.com/
      api_key: "os.environ/AZURE_API_KEY_CA"
      rpm: 6
  - model_name: anthropic-claude
    litellm_params:
      model: bedrock/anthropic.claude-instant-v1
      aws_region_name: us-east-1
  - model_name: vllm-models
    litellm_params:
      model: openai/facebook/opt-125m        # openai/ prefix = OpenAI-compatible
      api_base: http://0.0.0.0:4000/v1
      api_key: none
      rpm: 1440
  - model_name: gpt-3.5-turbo-16k
    litellm_params:
      model: gpt-3.5-turbo-16k
      api_key: os.environ/OPENAI_API_KEY
  - model_name: "*"                           # default: any provider/model with env creds
    litellm_params:
      model: "*"
litellm_settings:
  num_retries: 3
  request_timeout: 10
  fallbacks: [{"vllm-models": ["gpt-4o"]}]
  context_window_fallbacks: [{"gpt-4o": ["gpt-3.5-turbo-16k"]}]
  allowed_fails: 3
router_settings:
  routing_strategy: simple-shuffle
  model_group_alias: {"gpt-4": "gpt-4o"}
  num_retries: 2
  timeout: 30
  redis_host: os.environ/REDIS_HOST
  redis_password: os.environ/REDIS_PASSWORD
  redis_port: os.environ/REDIS_PORT
"#;

    /// §1.4 C: master key, database and virtual-key limits.
    const SAMPLE_C: &str = r#"model_list:
  - model_name: fake-openai-endpoint
    litellm_params:
      model: openai/fake
      api_key: fake-key
      api_base: https://exampleopenaiendpoint-production.up.railway.app/
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY   # must start with sk-; weak/default keys refused at boot
  database_url: os.environ/DATABASE_URL       # postgresql://<user>:<password>@<host>:<port>/<dbname>
  alerting: ["slack"]
  proxy_batch_write_at: 60                    # batch-write spend every 60s
  database_connection_pool_limit: 10
  disable_spend_logs: True                    # optional: no per-request LiteLLM_SpendLogs rows
  disable_error_logs: True
  allow_requests_on_db_unavailable: True
litellm_settings:
  request_timeout: 600
  set_verbose: False
  json_logs: true
  callbacks: ["prometheus"]
router_settings:                               # prod.md §4 (multi-instance)
  routing_strategy: usage-based-routing-v2
  redis_host: os.environ/REDIS_HOST
  redis_port: os.environ/REDIS_PORT
  redis_password: os.environ/REDIS_PASSWORD
"#;

    fn load_in(yaml: &str, env: &mut OverlayEnv) -> Result<Config, ConfigError> {
        Config::from_str_with_env(yaml, "test.yaml", env)
    }

    fn load_ok(yaml: &str) -> Config {
        match load_in(yaml, &mut OverlayEnv::isolated()) {
            Ok(c) => c,
            Err(e) => panic!("config should load, got:\n{e}"),
        }
    }

    fn load_err(yaml: &str) -> String {
        match load_in(yaml, &mut OverlayEnv::isolated()) {
            Ok(c) => panic!("config should fail, loaded {c:?}"),
            Err(e) => e.message,
        }
    }

    fn one_model(params: &str) -> String {
        format!(
            "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/m\n{params}"
        )
    }

    #[test]
    fn sample_a_loads_with_warnings() {
        let mut env = OverlayEnv::isolated()
            .with("OPENAI_API_KEY", "sk-openai")
            .with("LITELLM_MASTER_KEY", "sk-master-123");
        let c = match load_in(SAMPLE_A, &mut env) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.model_list.len(), 3);
        assert_eq!(c.model_list[0].api_key.as_deref(), Some("sk-openai"));
        assert_eq!(c.model_list[0].provider, "openai");
        assert_eq!(c.model_list[0].upstream_model, "gpt-4o");
        assert_eq!(c.model_list[2].provider, "bedrock");
        assert_eq!(
            c.model_list[2].aws_region_name.as_deref(),
            Some("us-east-1")
        );
        assert_eq!(
            c.model_list[2].upstream_model,
            "us.anthropic.claude-sonnet-4-20250514-v1:0"
        );
        assert_eq!(c.general.master_key.as_deref(), Some("sk-master-123"));
        assert_eq!(
            c.warnings,
            [
                "config: general_settings.store_model_in_db is not supported by Ringway yet; ignored",
            ]
        );
    }

    #[test]
    fn sample_b_loads_with_warnings() {
        let mut env = OverlayEnv::isolated()
            .with("AZURE_API_KEY_EU", "eu")
            .with("AZURE_API_KEY_CA", "ca")
            .with("OPENAI_API_KEY", "sk-openai");
        let c = match load_in(SAMPLE_B, &mut env) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let split: Vec<(&str, &str, &str)> = c
            .model_list
            .iter()
            .map(|d| {
                (
                    d.model_name.as_str(),
                    d.provider.as_str(),
                    d.upstream_model.as_str(),
                )
            })
            .collect();
        assert_eq!(
            split,
            [
                ("gpt-4o", "azure", "gpt-4o-eu"),
                ("gpt-4o", "azure", "gpt-4o-ca"),
                ("anthropic-claude", "bedrock", "anthropic.claude-instant-v1"),
                ("vllm-models", "openai", "facebook/opt-125m"),
                ("gpt-3.5-turbo-16k", "openai", "gpt-3.5-turbo-16k"),
                ("*", "*", "*"),
            ]
        );
        assert_eq!(c.model_list[0].api_key.as_deref(), Some("eu"));
        assert_eq!(c.model_list[0].rpm, Some(6));
        assert_eq!(c.model_list[3].api_key.as_deref(), Some("none"));
        assert_eq!(c.model_list[3].rpm, Some(1440));
        assert_eq!(c.litellm.num_retries, Some(3));
        assert_eq!(c.litellm.request_timeout, Some(10.0));
        assert_eq!(c.router.routing_strategy.as_deref(), Some("simple-shuffle"));
        assert_eq!(c.router.num_retries, Some(2));
        assert_eq!(c.router.timeout, Some(30.0));
        assert_eq!(
            c.warnings,
            [
                "config: litellm_settings.fallbacks is not supported by Ringway yet; ignored",
                "config: litellm_settings.context_window_fallbacks is not supported by Ringway yet; ignored",
                "config: litellm_settings.allowed_fails is not supported by Ringway yet; ignored",
                "config: router_settings.model_group_alias is not supported by Ringway yet; ignored",
                "config: router_settings.redis_host is not supported by Ringway yet; ignored",
                "config: router_settings.redis_password is not supported by Ringway yet; ignored",
                "config: router_settings.redis_port is not supported by Ringway yet; ignored",
            ]
        );
    }

    #[test]
    fn sample_c_loads_with_warnings() {
        let mut env = OverlayEnv::isolated().with("LITELLM_MASTER_KEY", "sk-prod-key");
        let c = match load_in(SAMPLE_C, &mut env) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.model_list.len(), 1);
        assert_eq!(c.model_list[0].api_key.as_deref(), Some("fake-key"));
        assert_eq!(c.litellm.request_timeout, Some(600.0));
        assert_eq!(
            c.router.routing_strategy.as_deref(),
            Some("usage-based-routing-v2")
        );
        let ignored = [
            "general_settings.database_url",
            "general_settings.alerting",
            "general_settings.proxy_batch_write_at",
            "general_settings.database_connection_pool_limit",
            "general_settings.disable_spend_logs",
            "general_settings.disable_error_logs",
            "general_settings.allow_requests_on_db_unavailable",
            "litellm_settings.set_verbose",
            "litellm_settings.json_logs",
            "litellm_settings.callbacks",
            "router_settings.redis_host",
            "router_settings.redis_port",
            "router_settings.redis_password",
        ];
        let expected: Vec<String> = ignored
            .iter()
            .map(|k| format!("config: {k} is not supported by Ringway yet; ignored"))
            .collect();
        assert_eq!(c.warnings, expected);
    }

    #[test]
    fn os_environ_resolves_any_string_and_numbers_from_strings() {
        let yaml = one_model(
            "      api_key: os.environ/KEY\n      api_base: \"os.environ/BASE\"\n      rpm: os.environ/RPM\n      tpm: \"600\"\n",
        );
        let mut env = OverlayEnv::isolated()
            .with("KEY", "sk-from-env")
            .with("BASE", "http://127.0.0.1:9/v1")
            .with("RPM", "60");
        let c = match load_in(&yaml, &mut env) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let d = &c.model_list[0];
        assert_eq!(d.api_key.as_deref(), Some("sk-from-env"));
        assert_eq!(d.api_base.as_deref(), Some("http://127.0.0.1:9/v1"));
        assert_eq!(d.rpm, Some(60));
        assert_eq!(d.tpm, Some(600));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn missing_env_var_is_unset_with_a_warning() {
        let c = load_ok(&one_model("      api_key: os.environ/NOT_SET_ANYWHERE\n"));
        assert_eq!(c.model_list[0].api_key, None);
        assert_eq!(
            c.warnings,
            ["config: model_list[0].litellm_params.api_key: environment variable NOT_SET_ANYWHERE is not set; treated as unset"]
        );
    }

    #[test]
    fn missing_env_var_for_master_key_fails() {
        let err = load_err("general_settings:\n  master_key: os.environ/NO_MASTER\n");
        assert_eq!(
            err,
            "test.yaml:2:15: general_settings.master_key: environment variable NO_MASTER is not set"
        );
    }

    #[test]
    fn master_key_falls_back_to_litellm_master_key() {
        let mut env = OverlayEnv::isolated().with("LITELLM_MASTER_KEY", "sk-env");
        let c = match load_in("model_list: []\n", &mut env) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.general.master_key.as_deref(), Some("sk-env"));
        // An explicit null disables the fallback, as in LiteLLM.
        let c = match load_in("general_settings:\n  master_key:\n", &mut env) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.general.master_key, None);
    }

    #[test]
    fn environment_variables_apply_before_resolution() {
        let yaml = format!(
            "{}environment_variables:\n  MY_KEY: sk-set-in-config\n  VERBOSE: yes\n  PORT: 4000\n",
            one_model("      api_key: os.environ/MY_KEY\n")
        );
        let mut env = OverlayEnv::isolated();
        let c = match load_in(&yaml, &mut env) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.model_list[0].api_key.as_deref(), Some("sk-set-in-config"));
        assert_eq!(env.vars().get("VERBOSE").map(String::as_str), Some("True"));
        assert_eq!(env.vars().get("PORT").map(String::as_str), Some("4000"));
    }

    #[test]
    fn environment_variables_reach_the_process_environment() {
        // The variable name is unique to this test, so parallel tests cannot observe it.
        let yaml = format!(
            "{}environment_variables:\n  RINGWAY_CONFIG_TEST_PROCESS_VAR: sk-process\n",
            one_model("      api_key: os.environ/RINGWAY_CONFIG_TEST_PROCESS_VAR\n")
        );
        let c = match Config::from_str(&yaml, "test.yaml") {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.model_list[0].api_key.as_deref(), Some("sk-process"));
        assert_eq!(
            std::env::var("RINGWAY_CONFIG_TEST_PROCESS_VAR")
                .ok()
                .as_deref(),
            Some("sk-process")
        );
    }

    #[test]
    fn blocked_environment_variables_are_refused() {
        let c = load_ok("environment_variables:\n  PATH: /evil\n");
        assert_eq!(
            c.warnings,
            ["config: environment_variables.PATH: PATH may not be set from the config (LiteLLM blocks it too); ignored"]
        );
    }

    #[test]
    fn wrong_type_reports_path_and_line() {
        let err = load_err(
            "# comment\nmodel_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\n\n      rpm: many\n",
        );
        assert_eq!(
            err,
            "test.yaml:7:12: model_list[0].litellm_params.rpm: expected an integer, found \"many\""
        );
    }

    #[test]
    fn wrong_types_are_all_reported() {
        let err = load_err(&one_model(
            "      timeout: -1\n      max_retries: 1.5\n      mock_response: 42\n      extra_headers: [a]\n      weight: .inf\n",
        ));
        assert_eq!(
            err,
            [
                "test.yaml:5:16: model_list[0].litellm_params.timeout: expected a number greater than 0 and at most 31536000, found -1",
                "test.yaml:6:20: model_list[0].litellm_params.max_retries: expected an integer, found 1.5",
                "test.yaml:7:22: model_list[0].litellm_params.mock_response: expected a string, found 42 (quote it: \"42\")",
                "test.yaml:8:22: model_list[0].litellm_params.extra_headers: expected a mapping, found a list",
                "test.yaml:9:15: model_list[0].litellm_params.weight: expected a number, found .inf",
            ]
            .join("\n")
        );
    }

    #[test]
    fn out_of_range_integer() {
        let err = load_err(&one_model(
            "      max_retries: 99999999999\n      rpm: -5\n",
        ));
        assert_eq!(
            err,
            "test.yaml:5:20: model_list[0].litellm_params.max_retries: expected an integer from 0 to 4294967295, found 99999999999\n\
             test.yaml:6:12: model_list[0].litellm_params.rpm: expected an integer from 0 to 18446744073709551615, found -5"
        );
    }

    #[test]
    fn number_from_env_names_the_variable() {
        let mut env = OverlayEnv::isolated().with("RPM", "lots");
        let err = match load_in(&one_model("      rpm: os.environ/RPM\n"), &mut env) {
            Ok(_) => panic!("should fail"),
            Err(e) => e.message,
        };
        assert_eq!(
            err,
            "test.yaml:5:12: model_list[0].litellm_params.rpm: expected an integer, found \"lots\" (from environment variable RPM)"
        );
    }

    #[test]
    fn missing_required_fields() {
        let err = load_err(
            "model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\n  - model_name: b\n    litellm_params:\n      api_base: http://x/v1\n  - litellm_params:\n      model: openai/c\n  - model_name: d\n",
        );
        assert_eq!(
            err,
            [
                "test.yaml:5:5: model_list[1]: missing required field litellm_params.model",
                "test.yaml:8:5: model_list[2]: missing required field model_name",
                "test.yaml:10:5: model_list[3]: missing required field litellm_params.model",
            ]
            .join("\n")
        );
    }

    #[test]
    fn empty_model_and_bare_prefix_are_errors() {
        let err = load_err(
            "model_list:\n  - model_name: a\n    litellm_params:\n      model: \"\"\n  - model_name: b\n    litellm_params:\n      model: openai/\n",
        );
        assert_eq!(
            err,
            "test.yaml:4:14: model_list[0].litellm_params.model: must not be empty\n\
             test.yaml:7:14: model_list[1].litellm_params.model: expected provider/model-id, found \"openai/\" (no model id after the provider)"
        );
    }

    #[test]
    fn duplicate_keys_fail_with_line() {
        let err = load_err(&one_model("      rpm: 1\n      rpm: 2\n"));
        assert_eq!(
            err,
            "test.yaml:6:7: model_list[0].litellm_params: duplicate key `rpm` (first defined at line 5)"
        );
        let err = load_err("model_list: []\nmodel_list: []\n");
        assert_eq!(
            err,
            "test.yaml:2:1: duplicate key `model_list` (first defined at line 1)"
        );
    }

    #[test]
    fn invalid_yaml_reports_location() {
        let err = load_err("model_list:\n  - model_name: [unclosed\n");
        assert!(err.starts_with("test.yaml:"), "{err}");
        assert!(err.contains("invalid YAML"), "{err}");
    }

    #[test]
    fn multiple_documents_are_refused() {
        let err = load_err("model_list: []\n---\nmodel_list: []\n");
        assert_eq!(
            err,
            "test.yaml:2:1: expected a single YAML document, found another one (remove the `---`)"
        );
    }

    #[test]
    fn root_must_be_a_mapping() {
        let err = load_err("- a\n- b\n");
        assert_eq!(
            err,
            "test.yaml:1:1: expected a mapping of sections (model_list, general_settings, ...), found a list"
        );
    }

    #[test]
    fn empty_file_is_an_empty_config() {
        let c = load_ok("# nothing here\n");
        assert!(c.model_list.is_empty());
        assert_eq!(
            c.warnings,
            ["config: test.yaml has no settings; starting with no models"]
        );
    }

    #[test]
    fn provider_split() {
        let cases = [
            ("openai/gpt-4o", "openai", "gpt-4o"),
            ("gpt-4o", "openai", "gpt-4o"),
            ("openai/*", "openai", "*"),
            ("*", "*", "*"),
            ("openai/facebook/opt-125m", "openai", "facebook/opt-125m"),
            ("facebook/opt-125m", "openai", "facebook/opt-125m"),
            (
                "hosted_vllm/meta-llama/Llama-3-8B",
                "hosted_vllm",
                "meta-llama/Llama-3-8B",
            ),
            (
                "anthropic/claude-3-5-sonnet",
                "anthropic",
                "claude-3-5-sonnet",
            ),
            (
                "text-completion-openai/gpt-3.5-turbo-instruct",
                "text-completion-openai",
                "gpt-3.5-turbo-instruct",
            ),
            ("nano-gpt/x", "nano-gpt", "x"),
            ("OpenAI/gpt-4o", "openai", "OpenAI/gpt-4o"),
        ];
        for (model, provider, upstream) in cases {
            assert_eq!(split_provider(model), (provider, upstream), "{model}");
        }
        assert_eq!(
            split_with_custom("facebook/opt-125m", Some("hosted_vllm")),
            ("hosted_vllm", "facebook/opt-125m")
        );
        assert_eq!(
            split_with_custom("hosted_vllm/opt", Some("hosted_vllm")),
            ("hosted_vllm", "opt")
        );
    }

    #[test]
    fn provider_list_is_sorted_and_complete() {
        assert!(KNOWN_PROVIDERS.windows(2).all(|w| w[0] < w[1]));
        for p in [
            "openai",
            "azure",
            "azure_ai",
            "anthropic",
            "bedrock",
            "vertex_ai",
            "gemini",
            "groq",
            "hosted_vllm",
            "ollama_chat",
            "anyscale",
            "volcengine",
        ] {
            assert!(is_known_provider(p), "{p}");
        }
        assert!(!is_known_provider("facebook"));
    }

    #[test]
    fn rpm_and_tpm_outside_litellm_params() {
        let c = load_ok(
            "model_list:\n  - model_name: a\n    litellm_params: {model: openai/a, rpm: 2, tpm: 20}\n    rpm: 1\n    model_info: {rpm: 3, tpm: 30}\n  - model_name: b\n    litellm_params: {model: openai/b}\n    model_info: {rpm: 3, tpm: 30}\n",
        );
        assert_eq!(
            (c.model_list[0].rpm, c.model_list[0].tpm),
            (Some(1), Some(20))
        );
        assert_eq!(
            (c.model_list[1].rpm, c.model_list[1].tpm),
            (Some(3), Some(30))
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn unset_variables_warn_once_each() {
        let c = load_ok(
            "model_list:\n  - model_name: a\n    litellm_params: {model: openai/a, api_key: os.environ/K1}\n  - model_name: b\n    litellm_params: {model: openai/b, api_key: os.environ/K1}\n  - model_name: c\n    litellm_params: {model: openai/c, api_key: os.environ/K1, api_base: os.environ/B}\n  - model_name: d\n    litellm_params: {model: openai/d, api_key: os.environ/K1}\n",
        );
        assert_eq!(
            c.warnings,
            [
                "config: environment variable K1 is not set; treated as unset in model_list[0].litellm_params.api_key, model_list[1].litellm_params.api_key, model_list[2].litellm_params.api_key and 1 more",
                "config: model_list[2].litellm_params.api_base: environment variable B is not set; treated as unset",
            ]
        );
    }

    #[test]
    fn example_master_key_warns() {
        let c = load_ok("general_settings:\n  master_key: sk-1234\n");
        assert_eq!(
            c.warnings,
            ["config: general_settings.master_key is the publicly known example key sk-1234 (LiteLLM refuses to start with it); change it"]
        );
    }

    #[test]
    fn custom_llm_provider_is_honoured() {
        let c = load_ok(
            "model_list:\n  - model_name: m\n    litellm_params:\n      model: facebook/opt-125m\n      custom_llm_provider: hosted_vllm\n",
        );
        assert_eq!(c.model_list[0].provider, "hosted_vllm");
        assert_eq!(c.model_list[0].upstream_model, "facebook/opt-125m");
    }

    #[test]
    fn all_deployment_fields() {
        let c = load_ok(
            "model_list:\n  - model_name: gpt-4o\n    litellm_params:\n      model: azure/gpt-4o\n      api_base: https://x.openai.azure.com/\n      api_key: k\n      api_version: 2024-02-01\n      timeout: 30\n      stream_timeout: 2.5\n      max_retries: 1\n      rpm: 1_000\n      tpm: 1e5\n      weight: 2\n      mock_response: hi there\n      organization: org-1\n      extra_headers:\n        X-Team: ml\n        x-num: 7\n    model_info:\n      id: dep-1\n      mode: chat\n",
        );
        let d = &c.model_list[0];
        assert_eq!(d.api_version.as_deref(), Some("2024-02-01"));
        assert_eq!(d.timeout, Some(30.0));
        assert_eq!(d.stream_timeout, Some(2.5));
        assert_eq!(d.max_retries, Some(1));
        assert_eq!(d.rpm, Some(1000));
        assert_eq!(d.tpm, Some(100_000));
        assert_eq!(d.weight, Some(2.0));
        assert_eq!(d.mock_response.as_deref(), Some("hi there"));
        assert_eq!(d.organization.as_deref(), Some("org-1"));
        assert_eq!(
            d.extra_headers,
            [
                ("X-Team".to_string(), "ml".to_string()),
                ("x-num".to_string(), "7".to_string())
            ]
        );
        assert_eq!(d.id, "dep-1");
        assert_eq!(d.mode.as_deref(), Some("chat"));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn header_injection_is_refused() {
        let err = load_err(&one_model(
            "      extra_headers:\n        X-A: \"a\\r\\nX-Evil: 1\"\n        Content-Length: 5\n        \"bad name\": x\n",
        ));
        assert_eq!(
            err,
            [
                "test.yaml:6:14: model_list[0].litellm_params.extra_headers.X-A: header value contains a control character (CR, LF, NUL, ...)",
                "test.yaml:7:25: model_list[0].litellm_params.extra_headers.Content-Length: Content-Length is set by Ringway; remove it from extra_headers",
                "test.yaml:8:21: model_list[0].litellm_params.extra_headers.bad name: \"bad name\" is not a valid HTTP header name",
            ]
            .join("\n")
        );
    }

    #[test]
    fn api_base_must_be_http() {
        let err = load_err(&one_model("      api_base: localhost:8000\n"));
        assert_eq!(
            err,
            "test.yaml:5:17: model_list[0].litellm_params.api_base: expected an http:// or https:// URL, found \"localhost:8000\""
        );
    }

    #[test]
    fn unsupported_params_warn_once_per_key() {
        let c = load_ok(
            "model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\n      temperature: 0.2\n  - model_name: b\n    litellm_params:\n      model: openai/b\n      temperature: 0.3\n      seed: 7\n    model_info:\n      base_model: gpt-4\n    tags: [x]\n  - model_name: c\n    litellm_params:\n      model: openai/c\n      temperature: 0\n      timout: 3\n",
        );
        assert_eq!(
            c.warnings,
            [
                "config: model_list[*].litellm_params.temperature is not supported by Ringway yet; ignored (set in model_list[0], model_list[1], model_list[2])",
                "config: model_list[1].litellm_params.seed is not supported by Ringway yet; ignored",
                "config: model_list[1].model_info.base_model is not supported by Ringway yet; ignored",
                "config: model_list[1].tags is not supported by Ringway yet; ignored",
                "config: model_list[2].litellm_params.timout is not supported by Ringway yet; ignored (did you mean timeout?)",
            ]
        );
    }

    #[test]
    fn unsupported_sections_warn_once() {
        let c = load_ok(
            "guardrails:\n  - guardrail_name: x\n    litellm_params: {guardrail: aporia}\nmcp_servers:\n  a: {url: http://x}\ncredential_list: []\nmodel_lsit: []\n",
        );
        assert_eq!(
            c.warnings,
            [
                "config: model_lsit is not a LiteLLM or Ringway section; ignored (did you mean model_list?)",
                "config: guardrails is not supported by Ringway yet; ignored",
                "config: mcp_servers is not supported by Ringway yet; ignored",
                "config: credential_list is not supported by Ringway yet; ignored",
            ]
        );
    }

    #[test]
    fn ringway_settings_defaults() {
        let s = RingwaySettings::default();
        assert_eq!(s.max_header_bytes, 65536);
        assert_eq!(s.max_headers, 100);
        assert_eq!(s.max_connections_per_shard, 10000);
        assert_eq!(s.max_inflight_per_shard, 4096);
        assert_eq!(s.header_timeout_ms, 10000);
        assert_eq!(s.body_timeout_ms, 30000);
        assert_eq!(s.idle_timeout_ms, 60000);
        assert_eq!(s.upstream_connect_timeout_ms, 5000);
        assert_eq!(s.upstream_idle_per_origin, 256);
        assert_eq!(s.upstream_pool_idle_timeout_ms, 90000);
        assert_eq!(s.dns_ttl_s, 60);
        assert_eq!(s.shutdown_grace_ms, 10000);
        assert_eq!(s.ca_file, None);
        assert_eq!(load_ok("ringway_settings:\n").ringway, s);
        assert_eq!(Config::empty().ringway, s);
        // Every default lies inside its own range.
        for &(key, min, max) in RINGWAY_LIMITS {
            let c = load_ok(&format!("ringway_settings:\n  {key}: {min}\n"));
            let mut expected = RingwaySettings::default();
            set_ringway_limit(&mut expected, key, min);
            assert_eq!(c.ringway, expected, "{key}");
            assert!(load_in(
                &format!("ringway_settings:\n  {key}: {max}\n"),
                &mut OverlayEnv::isolated()
            )
            .is_ok());
        }
    }

    #[test]
    fn ringway_settings_override_and_validate() {
        let c = load_ok(
            "ringway_settings:\n  max_headers: 64\n  dns_ttl_s: 0\n  idle_timeout_ms: \"5000\"\n",
        );
        assert_eq!(c.ringway.max_headers, 64);
        assert_eq!(c.ringway.dns_ttl_s, 0);
        assert_eq!(c.ringway.idle_timeout_ms, 5000);
        let err = load_err(
            "ringway_settings:\n  max_headers: 0\n  max_header_bytes: 10\n  max_conections_per_shard: 5\n  ca_file: /nonexistent/ca.pem\n",
        );
        assert_eq!(
            err,
            [
                "test.yaml:2:16: ringway_settings.max_headers: expected an integer from 1 to 4096, found 0",
                "test.yaml:3:21: ringway_settings.max_header_bytes: expected an integer from 1024 to 16777216, found 10",
                "test.yaml:4:29: ringway_settings.max_conections_per_shard: unknown key (did you mean max_connections_per_shard?)",
                "test.yaml:5:12: ringway_settings.ca_file: CA bundle \"/nonexistent/ca.pem\" does not exist or is not a file",
            ]
            .join("\n")
        );
    }

    #[test]
    fn max_request_bytes() {
        assert_eq!(Config::empty().max_request_bytes(), 32 * 1024 * 1024);
        let c =
            load_ok("general_settings:\n  max_request_size_mb: 1\n  max_response_size_mb: 0.5\n");
        assert_eq!(c.max_request_bytes(), 1_048_576);
        assert_eq!(c.max_response_bytes(), Some(524_288));
        let err = load_err("general_settings:\n  max_request_size_mb: 0\n");
        assert_eq!(
            err,
            "test.yaml:2:24: general_settings.max_request_size_mb: expected a number greater than 0 and at most 1048576, found 0"
        );
    }

    #[test]
    fn litellm_settings_and_ssl_verify() {
        let c = load_ok(
            "litellm_settings:\n  drop_params: True\n  ssl_verify: false\n  num_retries: \"2\"\n",
        );
        assert_eq!(c.litellm.drop_params, Some(true));
        assert_eq!(c.litellm.num_retries, Some(2));
        assert_eq!(c.litellm.ssl_verify, SslVerify::Disabled);
        assert_eq!(
            c.warnings,
            ["config: litellm_settings.ssl_verify is false; upstream TLS certificates are not verified"]
        );
        assert_eq!(
            load_ok("litellm_settings:\n  ssl_verify: true\n")
                .litellm
                .ssl_verify,
            SslVerify::Default
        );
        let dir = scratch_dir("ssl");
        let ca = dir.0.join("ca.pem");
        if let Err(e) = std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n") {
            panic!("{e}");
        }
        let c = load_ok(&format!(
            "litellm_settings:\n  ssl_verify: {}\n",
            ca.display()
        ));
        assert_eq!(c.litellm.ssl_verify, SslVerify::CaFile(ca.clone()));
        let c = load_ok(&format!("ringway_settings:\n  ca_file: {}\n", ca.display()));
        assert_eq!(c.ringway.ca_file, Some(ca));
        let err = load_err("litellm_settings:\n  drop_params: maybe\n");
        assert_eq!(
            err,
            "test.yaml:2:16: litellm_settings.drop_params: expected true or false, found \"maybe\""
        );
    }

    #[test]
    fn routing_strategy_is_checked() {
        let err = load_err("router_settings:\n  routing_strategy: fastest\n");
        assert_eq!(
            err,
            "test.yaml:2:21: router_settings.routing_strategy: expected one of simple-shuffle, least-busy, usage-based-routing, usage-based-routing-v2, latency-based-routing, cost-based-routing, provider-budget-routing, lar1, found \"fastest\""
        );
    }

    #[test]
    fn ids_are_stable_and_unique() {
        let yaml = "model_list:\n  - model_name: a\n    litellm_params: {model: openai/a, api_key: k1}\n  - model_name: a\n    litellm_params: {model: openai/a, api_key: k2}\n  - model_name: b\n    litellm_params: {model: openai/b}\n    model_info: {id: my-id}\n";
        let first = load_ok(yaml);
        let second = load_ok(yaml);
        let ids: Vec<&str> = first.model_list.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids.len(), 3);
        assert_eq!(ids[0].len(), 16);
        assert!(ids[0].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(ids[1], format!("{}-1", ids[0]));
        assert_eq!(ids[2], "my-id");
        assert_eq!(first, second);
        let err = load_err(
            "model_list:\n  - model_name: a\n    litellm_params: {model: openai/a}\n    model_info: {id: x}\n  - model_name: b\n    litellm_params: {model: openai/b}\n    model_info: {id: x}\n",
        );
        assert_eq!(
            err,
            "test.yaml:7:22: model_list[1].model_info.id: duplicate deployment id \"x\" (also used by model_list[0])"
        );
    }

    #[test]
    fn anchors_and_merge_keys() {
        let c = load_ok(
            "defaults: &defaults\n  api_base: http://127.0.0.1:8001/v1\n  rpm: 10\nmodel_list:\n  - model_name: a\n    litellm_params:\n      <<: *defaults\n      model: openai/a\n      rpm: 20\n  - model_name: b\n    litellm_params:\n      <<: [*defaults]\n      model: openai/b\n",
        );
        assert_eq!(
            c.model_list[0].api_base.as_deref(),
            Some("http://127.0.0.1:8001/v1")
        );
        assert_eq!(c.model_list[0].rpm, Some(20));
        assert_eq!(c.model_list[1].rpm, Some(10));
        assert_eq!(
            c.warnings,
            ["config: defaults is not a LiteLLM or Ringway section; ignored"]
        );
    }

    #[test]
    fn quoted_strings_stay_strings() {
        let c = load_ok(&one_model(
            "      mock_response: \"42\"\n      api_key: !!str 123\n",
        ));
        assert_eq!(c.model_list[0].mock_response.as_deref(), Some("42"));
        assert_eq!(c.model_list[0].api_key.as_deref(), Some("123"));
    }

    #[test]
    fn numeric_parsing() {
        assert_eq!(parse_uint("60"), Ok(60));
        assert_eq!(parse_uint(" +60 "), Ok(60));
        assert_eq!(parse_uint("1_000"), Ok(1000));
        assert_eq!(parse_uint("0x3c"), Ok(60));
        assert_eq!(parse_uint("0o74"), Ok(60));
        assert_eq!(parse_uint("6e1"), Ok(60));
        assert_eq!(parse_uint("60.0"), Ok(60));
        assert_eq!(parse_uint("-0"), Ok(0));
        assert_eq!(parse_uint("-1"), Err(IntError::Negative));
        assert_eq!(parse_uint("1.5"), Err(IntError::NotInteger));
        assert_eq!(parse_uint("many"), Err(IntError::NotInteger));
        assert_eq!(parse_uint(""), Err(IntError::NotInteger));
        assert_eq!(parse_uint("+-1"), Err(IntError::NotInteger));
        assert_eq!(parse_uint("18446744073709551616"), Err(IntError::TooLarge));
        assert_eq!(parse_uint("1e30"), Err(IntError::TooLarge));
        assert_eq!(parse_float("2.5"), Some(2.5));
        assert_eq!(parse_float("1e3"), Some(1000.0));
        assert_eq!(parse_float("0x10"), Some(16.0));
        assert_eq!(parse_float("inf"), None);
        assert_eq!(parse_float("NaN"), None);
        assert_eq!(parse_float(".inf"), None);
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("off"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let mut env = OverlayEnv::isolated();
        let c = match load_in(
            "general_settings:\n  master_key: sk-super-secret\nmodel_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\n      api_key: sk-upstream-secret\n      extra_headers: {Authorization: Bearer hidden}\n",
            &mut env,
        ) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let text = format!("{c:?}");
        assert!(!text.contains("sk-super-secret"), "{text}");
        assert!(!text.contains("sk-upstream-secret"), "{text}");
        assert!(!text.contains("hidden"), "{text}");
        assert!(text.contains("Authorization"), "{text}");
    }

    /// A fresh directory under the system temp dir, removed when dropped.
    struct ScratchDir(PathBuf);

    impl Drop for ScratchDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn scratch_dir(name: &str) -> ScratchDir {
        let dir =
            std::env::temp_dir().join(format!("ringway-config-test-{}-{name}", std::process::id()));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("{e}");
        }
        ScratchDir(dir)
    }

    fn write(path: &Path, text: &str) {
        if let Err(e) = std::fs::write(path, text) {
            panic!("{}: {e}", path.display());
        }
    }

    #[test]
    fn includes_merge_like_litellm() {
        let dir = scratch_dir("include");
        std::fs::create_dir_all(dir.0.join("models")).unwrap_or_else(|e| panic!("{e}"));
        write(
            &dir.0.join("config.yaml"),
            "include:\n  - models/a.yaml\nmodel_list:\n  - model_name: main\n    litellm_params: {model: openai/main}\nlitellm_settings:\n  num_retries: 1\n",
        );
        write(
            &dir.0.join("models/a.yaml"),
            "include:\n  - b.yaml\nmodel_list:\n  - model_name: from-a\n    litellm_params: {model: openai/a}\nlitellm_settings:\n  num_retries: 5\n",
        );
        write(
            &dir.0.join("models/b.yaml"),
            "model_list:\n  - model_name: from-b\n    litellm_params:\n      model: openai/b\n      rpm: lots\n",
        );
        let err = match Config::from_path_with_env(
            &dir.0.join("config.yaml"),
            &mut OverlayEnv::isolated(),
        ) {
            Ok(_) => panic!("rpm: lots should fail"),
            Err(e) => e.message,
        };
        let b = dir.0.join("models/b.yaml");
        assert_eq!(
            err,
            format!(
                "{}:5:12: model_list[2].litellm_params.rpm: expected an integer, found \"lots\"",
                b.display()
            )
        );
        write(
            &b,
            "model_list:\n  - model_name: from-b\n    litellm_params: {model: openai/b}\n",
        );
        let c = match Config::from_path_with_env(
            &dir.0.join("config.yaml"),
            &mut OverlayEnv::isolated(),
        ) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let names: Vec<&str> = c.model_list.iter().map(|d| d.model_name.as_str()).collect();
        assert_eq!(names, ["main", "from-a", "from-b"]);
        assert_eq!(c.litellm.num_retries, Some(5));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn missing_include_is_an_error() {
        let dir = scratch_dir("include-missing");
        let path = dir.0.join("config.yaml");
        write(&path, "include:\n  - nope.yaml\n");
        let err = match Config::from_path_with_env(&path, &mut OverlayEnv::isolated()) {
            Ok(_) => panic!("should fail"),
            Err(e) => e.message,
        };
        assert!(
            err.starts_with(&format!("{}:2:5: include: ", path.display())),
            "{err}"
        );
        assert!(err.contains("nope.yaml"), "{err}");
    }

    #[test]
    fn example_config_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/config.yaml");
        let c = match Config::from_path_with_env(&path, &mut OverlayEnv::isolated()) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            c.general.master_key.as_deref(),
            Some("sk-ringway-example-key")
        );
        assert_eq!(c.max_request_bytes(), 32 * 1024 * 1024);
        let demo = c.model_list.iter().find(|d| d.model_name == "demo");
        assert_eq!(
            demo.and_then(|d| d.mock_response.as_deref()),
            Some("Hello from Ringway! This is a mock response.")
        );
        assert_eq!(c.ringway, RingwaySettings::default());
    }

    #[test]
    fn from_path_reports_unreadable_file() {
        let err = match Config::from_path_with_env(
            Path::new("/nonexistent/ringway.yaml"),
            &mut OverlayEnv::isolated(),
        ) {
            Ok(_) => panic!("should fail"),
            Err(e) => e.message,
        };
        assert!(
            err.starts_with("/nonexistent/ringway.yaml: cannot read config file: "),
            "{err}"
        );
    }

    /// Mutated configs must load or fail with a message, never panic.
    #[test]
    fn mutated_configs_never_panic() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b" \n:-[]{}\"'&*<>|!#%@0123456789.ax/";
        for base in [SAMPLE_A, SAMPLE_B, SAMPLE_C] {
            for _ in 0..400 {
                let mut bytes = base.as_bytes().to_vec();
                for _ in 0..1 + next() % 4 {
                    let at = (next() % bytes.len() as u64) as usize;
                    match next() % 3 {
                        0 => {
                            bytes.remove(at);
                        }
                        1 => bytes.insert(at, alphabet[(next() % alphabet.len() as u64) as usize]),
                        _ => bytes[at] = alphabet[(next() % alphabet.len() as u64) as usize],
                    }
                }
                let text = String::from_utf8_lossy(&bytes);
                let mut env = OverlayEnv::isolated().with("LITELLM_MASTER_KEY", "sk-x");
                if let Err(e) = load_in(&text, &mut env) {
                    assert!(e.message.starts_with("test.yaml:"), "{}", e.message);
                }
            }
        }
    }

    #[test]
    fn config_can_cross_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Config>();
        assert_send_sync::<ConfigError>();
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("timout", PARAM_KEYS), Some("timeout"));
        assert_eq!(suggest("itpm", PARAM_KEYS), None);
        assert_eq!(suggest("temperature", PARAM_KEYS), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
