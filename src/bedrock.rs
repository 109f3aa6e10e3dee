//! AWS Bedrock on the gateway side, pure (no sockets, no clocks except the
//! `now` a caller passes and the `created` stamp): credentials and region,
//! which Bedrock API a `bedrock/<model>` uses, SigV4 request signing, OpenAI
//! chat ⇄ Converse translation (request, response, stream), the binary AWS
//! event-stream decoder, Anthropic-on-Bedrock (`invoke`) helpers and
//! Bedrock embeddings (Titan, Cohere).
//!
//! It follows LiteLLM 1.106.2 (the code is our own):
//! `llms/bedrock/base_aws_llm.py` (credentials, region, `get_request_headers`,
//! which signs with botocore's `SigV4Auth`), `llms/bedrock/common_utils.py`
//! (`get_bedrock_route`, `get_bedrock_base_model`, `encode_model_id`),
//! `llms/bedrock/chat/converse_transformation.py` (`AmazonConverseConfig`)
//! with `litellm_core_utils/prompt_templates/factory.py`
//! (`_bedrock_converse_messages_pt`, `_bedrock_tools_pt`,
//! `BedrockImageProcessor`), `llms/bedrock/chat/invoke_handler.py`
//! (`AWSEventStreamDecoder.converse_chunk_parser`),
//! `llms/bedrock/chat/invoke_transformations/anthropic_claude3_transformation.py`
//! and `llms/bedrock/embed/` (Titan G1/V2, Cohere).
//!
//! * [`AwsCredentials::resolve`], [`route`], [`model_path`], [`sign`]: where
//!   and how a request goes. SigV4 is written from the AWS specification and
//!   checked against AWS's published test-suite vectors; like botocore for a
//!   non-S3 service it signs `content-type`, `host`, `x-amz-date` (and
//!   `x-amz-security-token`), and the canonical URI encodes the already
//!   percent-encoded path a second time.
//! * [`openai_to_converse_request`] (and [`openai_to_converse_request_for`],
//!   which applies LiteLLM's model-family rules), [`converse_to_openai_response`],
//!   [`ConverseToOpenAiStream`]: an OpenAI client on a Converse model.
//! * [`EventStreamDecoder`]: `application/vnd.amazon.eventstream` framing,
//!   both CRCs checked, bounded, incremental.
//! * [`anthropic_invoke_body`], [`invoke_chunk_to_sse`]: an Anthropic model
//!   on `invoke` reuses [`crate::anthropic`]'s translators around these two.
//! * [`openai_to_bedrock_embed_request`], [`bedrock_to_openai_embed_response`].
//!
//! JSON is read and written like [`crate::anthropic`] does (see its module
//! doc): one validating pass that records spans, output written straight into
//! the caller's buffer, strings copied as raw escaped bytes; the OpenAI side
//! (reading `messages`, writing the completion and its chunks) is the shared
//! `chat` module. Nothing panics on client- or provider-controlled input;
//! every failure is a [`TranslateError`].
//!
//! Known gaps against LiteLLM (each needs state or I/O a pure translator does
//! not have): http(s) image URLs are not downloaded (LiteLLM fetches and
//! inlines them; here they are a 400); tool names made valid for Bedrock are
//! not mapped back in the answer (LiteLLM keeps a process-wide cache);
//! `response_format` (LiteLLM's forced `json_tool_call` tool) is dropped;
//! `$defs` in tool schemas are passed as they are, not inlined; cache-point
//! `ttl` is not forwarded; repeated document names are not renamed.

use std::borrow::Cow;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use ring::{digest, hmac};

pub use crate::anthropic::ReqInfo;
use crate::chat::*;
use crate::json::*;
pub use crate::json::{TokenUsage, TranslateError};

// ---------------------------------------------------------------------------
// Credentials and region
// ---------------------------------------------------------------------------

/// Static AWS credentials and the signing region.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub region: String,
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret or the token.
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<set>"),
            )
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// LiteLLM's region when nothing names one (boto3 without a configured
/// region falls back to it in `_get_aws_region_name`).
pub const DEFAULT_REGION: &str = "us-west-2";

impl AwsCredentials {
    /// From explicit `litellm_params` values, each falling back to its
    /// environment variable as LiteLLM's `get_credentials` does
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`);
    /// the region from `region`, else `AWS_REGION_NAME`, `AWS_REGION`,
    /// `AWS_DEFAULT_REGION` (boto3's own variable), else [`DEFAULT_REGION`].
    /// A region must match `[a-z0-9-]+` (LiteLLM's check). Empty values count
    /// as unset. Profiles, roles, web identity and instance metadata are not
    /// supported: with no key pair the error names what is missing.
    pub fn resolve(
        access_key_id: Option<&str>,
        secret: Option<&str>,
        session_token: Option<&str>,
        region: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<AwsCredentials, String> {
        let pick = |v: Option<&str>, names: &[&str]| -> Option<String> {
            v.filter(|s| !s.is_empty())
                .map(str::to_owned)
                .or_else(|| names.iter().find_map(|n| env(n).filter(|s| !s.is_empty())))
        };
        let key = pick(access_key_id, &["AWS_ACCESS_KEY_ID"]);
        let secret = pick(secret, &["AWS_SECRET_ACCESS_KEY"]);
        let token = pick(session_token, &["AWS_SESSION_TOKEN"]);
        let region = pick(
            region,
            &["AWS_REGION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION"],
        )
        .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        let (key, secret) = match (key, secret) {
            (Some(k), Some(s)) => (k, s),
            (k, s) => {
                let mut missing = Vec::new();
                if k.is_none() {
                    missing.push("aws_access_key_id (or AWS_ACCESS_KEY_ID)");
                }
                if s.is_none() {
                    missing.push("aws_secret_access_key (or AWS_SECRET_ACCESS_KEY)");
                }
                return Err(format!(
                    "Bedrock: AWS credentials missing: {}",
                    missing.join(" and ")
                ));
            }
        };
        if !region
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        {
            return Err(format!(
                "Invalid AWS region format: '{region}'. Region names must contain only lowercase letters, digits, and hyphens."
            ));
        }
        // The values become header lines: refuse anything that could split one.
        let printable = |s: &str| s.bytes().all(|c| (0x21..0x7f).contains(&c));
        if !printable(&key)
            || !printable(&secret)
            || token.as_deref().is_some_and(|t| !printable(t))
        {
            return Err("Bedrock: AWS credentials contain invalid characters".to_owned());
        }
        Ok(AwsCredentials {
            access_key_id: key,
            secret_access_key: secret,
            session_token: token,
            region,
        })
    }
}

/// The region inside a Bedrock ARN model id (`arn:aws:bedrock:<region>:…`),
/// which LiteLLM prefers over the environment when no region was configured.
pub fn region_from_arn(model_id: &str) -> Option<&str> {
    if !model_id.starts_with("arn:") || !model_id.contains(":bedrock:") {
        return None;
    }
    let region = model_id.split(':').nth(3)?;
    let ok = !region.is_empty()
        && region
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
    ok.then_some(region)
}

// ---------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------

/// Which Bedrock API a model uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BedrockApi {
    /// `/model/{id}/converse` and `converse-stream`.
    Converse,
    /// `/model/{id}/invoke` with an Anthropic Messages body.
    InvokeAnthropic,
    /// A model LiteLLM sends to `invoke` with a provider-specific body this
    /// module does not translate (Titan Text, Llama 2, Cohere Command, Mistral
    /// 7B, AI21 J2, imported models ...). Bedrock's Converse API serves most of
    /// them, so a caller may fall back to [`BedrockApi::Converse`].
    InvokeOther,
}

/// Models LiteLLM 1.106.2 sends to Converse (`litellm.bedrock_converse_models`
/// with cross-region prefixes removed; OpenAI-family ids are matched by
/// pattern instead, as LiteLLM also does).
const CONVERSE_MODELS: &[&str] = &[
    "ai21.jamba-1-5-large-v1:0",
    "ai21.jamba-1-5-mini-v1:0",
    "ai21.jamba-instruct-v1:0",
    "amazon.nova-2-lite-v1:0",
    "amazon.nova-2-pro-preview-20251202-v1:0",
    "amazon.nova-lite-v1:0",
    "amazon.nova-micro-v1:0",
    "amazon.nova-premier-v1:0",
    "amazon.nova-pro-v1:0",
    "anthropic.claude-3-5-haiku-20241022-v1:0",
    "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "anthropic.claude-3-5-sonnet-20241022-v2:0",
    "anthropic.claude-3-7-sonnet-20250219-v1:0",
    "anthropic.claude-3-haiku-20240307-v1:0",
    "anthropic.claude-3-opus-20240229-v1:0",
    "anthropic.claude-3-sonnet-20240229-v1:0",
    "anthropic.claude-fable-5",
    "anthropic.claude-fable-5-1",
    "anthropic.claude-haiku-4-5-20251001-v1:0",
    "anthropic.claude-haiku-4-5@20251001",
    "anthropic.claude-haiku-5-5",
    "anthropic.claude-instant-v1",
    "anthropic.claude-mythos-5",
    "anthropic.claude-mythos-5-1",
    "anthropic.claude-mythos-preview",
    "anthropic.claude-opus-4-1-20250805-v1:0",
    "anthropic.claude-opus-4-20250514-v1:0",
    "anthropic.claude-opus-4-5-20251101-v1:0",
    "anthropic.claude-opus-4-6-v1",
    "anthropic.claude-opus-4-6-v1:0",
    "anthropic.claude-opus-4-7",
    "anthropic.claude-opus-4-8",
    "anthropic.claude-opus-5",
    "anthropic.claude-opus-5-5",
    "anthropic.claude-sonnet-4-20250514-v1:0",
    "anthropic.claude-sonnet-4-5-20250929-v1:0",
    "anthropic.claude-sonnet-4-6",
    "anthropic.claude-sonnet-5",
    "anthropic.claude-sonnet-5-5",
    "anthropic.claude-v1",
    "anthropic.claude-v2",
    "anthropic.claude-v2:1",
    "deepseek.r1-v1:0",
    "deepseek.v3-v1:0",
    "deepseek.v3.2",
    "google.gemma-3-12b-it",
    "google.gemma-3-27b-it",
    "google.gemma-3-4b-it",
    "meta.llama3-1-405b-instruct-v1:0",
    "meta.llama3-1-70b-instruct-v1:0",
    "meta.llama3-1-8b-instruct-v1:0",
    "meta.llama3-2-11b-instruct-v1:0",
    "meta.llama3-2-1b-instruct-v1:0",
    "meta.llama3-2-3b-instruct-v1:0",
    "meta.llama3-2-90b-instruct-v1:0",
    "meta.llama3-3-70b-instruct-v1:0",
    "meta.llama3-70b-instruct-v1:0",
    "meta.llama3-8b-instruct-v1:0",
    "meta.llama4-maverick-17b-instruct-v1:0",
    "meta.llama4-scout-17b-instruct-v1:0",
    "minimax.minimax-m2",
    "minimax.minimax-m2.1",
    "minimax.minimax-m2.5",
    "mistral.devstral-2-123b",
    "mistral.magistral-small-2509",
    "mistral.ministral-3-14b-instruct",
    "mistral.ministral-3-3b-instruct",
    "mistral.ministral-3-8b-instruct",
    "mistral.mistral-large-2402-v1:0",
    "mistral.mistral-large-2407-v1:0",
    "mistral.mistral-large-3-675b-instruct",
    "mistral.mistral-small-2402-v1:0",
    "mistral.pixtral-large-2502-v1:0",
    "mistral.voxtral-mini-3b-2507",
    "mistral.voxtral-small-24b-2507",
    "moonshot.kimi-k2-thinking",
    "moonshotai.kimi-k2.5",
    "moonshotai.kimi-k3",
    "nvidia.nemotron-nano-12b-v2",
    "nvidia.nemotron-nano-3-30b",
    "nvidia.nemotron-nano-9b-v2",
    "nvidia.nemotron-super-3-120b",
    "qwen.qwen3-235b-a22b-2507-v1:0",
    "qwen.qwen3-32b-v1:0",
    "qwen.qwen3-coder-30b-a3b-v1:0",
    "qwen.qwen3-coder-480b-a35b-v1:0",
    "qwen.qwen3-coder-next",
    "qwen.qwen3-next-80b-a3b",
    "qwen.qwen3-vl-235b-a22b",
    "writer.palmyra-vision-7b",
    "writer.palmyra-x4-v1:0",
    "writer.palmyra-x5-v1:0",
    "xai.grok-4.6",
    "xai.grok-4.7",
    "zai.glm-4.7",
    "zai.glm-4.7-flash",
    "zai.glm-5",
    "zai.glm-5.3",
];

/// Cross-region inference prefixes (`us.anthropic.…`).
const CROSS_REGION_PREFIXES: &[&str] = &["global", "us", "eu", "apac", "jp", "au", "us-gov"];

/// Invoke providers in LiteLLM's `BEDROCK_INVOKE_PROVIDERS_LITERAL` order
/// (the substring fallback takes the first that matches).
const INVOKE_PROVIDERS: &[&str] = &[
    "cohere",
    "anthropic",
    "mistral",
    "amazon",
    "meta",
    "llama",
    "ai21",
    "nova",
    "deepseek_r1",
    "qwen3",
    "qwen2",
    "twelvelabs",
    "openai",
    "stability",
    "moonshot",
];

/// LiteLLM's `get_bedrock_base_model`: ARN → its last path segment,
/// provisioned-throughput (`:51k`) and context (`[1m]`) suffixes removed,
/// cross-region prefix removed.
fn base_model(id: &str) -> &str {
    let mut m = id;
    if m.to_ascii_lowercase().contains("arn") {
        m = m.rsplit('/').next().unwrap_or(m);
    }
    if let Some(open) = m.rfind('[') {
        let tail = &m[open + 1..];
        if tail.len() > 1
            && tail.ends_with(']')
            && tail[..tail.len() - 1]
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            m = &m[..open];
        }
    }
    // `(:\d+):\d+k$` -> keep the first group.
    if let Some(k) = m.strip_suffix('k') {
        if let Some(c) = k.rfind(':') {
            let digits = &k[c + 1..];
            let before = &k[..c];
            let prev_ok = before.rfind(':').is_some_and(|p| {
                p + 1 < before.len() && before[p + 1..].bytes().all(|b| b.is_ascii_digit())
            });
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && prev_ok {
                m = before;
            }
        }
    }
    match m.split_once('.') {
        Some((p, rest)) if CROSS_REGION_PREFIXES.contains(&p) => rest,
        _ => m,
    }
}

/// LiteLLM's `_OPENAI_FAMILY_MODEL_RE`: `(^|[./])openai\.`.
fn is_openai_family(m: &str) -> bool {
    m.match_indices("openai.")
        .any(|(i, _)| i == 0 || matches!(m.as_bytes()[i - 1], b'.' | b'/'))
}

/// LiteLLM's `get_bedrock_invoke_provider`.
fn invoke_provider(model: &str) -> Option<&'static str> {
    if model.to_ascii_lowercase().contains("nova") {
        return Some("nova");
    }
    let first = model.split('.').next().unwrap_or("");
    let by_path = model.split('/').next().unwrap_or("");
    INVOKE_PROVIDERS
        .iter()
        .find(|p| **p == first)
        .or_else(|| INVOKE_PROVIDERS.iter().find(|p| **p == by_path))
        .or_else(|| INVOKE_PROVIDERS.iter().find(|p| model.contains(**p)))
        .copied()
}

fn invoke_api(model: &str) -> BedrockApi {
    match invoke_provider(model) {
        Some("anthropic") => BedrockApi::InvokeAnthropic,
        _ => BedrockApi::InvokeOther,
    }
}

/// Which Bedrock API a `bedrock/...` model (with or without the `bedrock/`
/// provider prefix) uses, and the model id to put in the path, as LiteLLM's
/// `get_bedrock_route` decides: `converse/` and `invoke/` prefixes force the
/// API (and are stripped); application inference profile ARNs and the
/// `nova/`, `nova-2/` spec prefixes (stripped) go to Converse; then a model
/// whose base id is in LiteLLM's Converse list, or an OpenAI-family id, goes
/// to Converse; everything else to `invoke`, Anthropic models to
/// [`BedrockApi::InvokeAnthropic`].
///
/// Not covered: a `<aws-region>/<model>` path (LiteLLM takes the region from
/// it), and GPT 5.6+ models that LiteLLM sends to bedrock-runtime's native
/// chat-completions endpoint by default (here they use Converse).
pub fn route(model: &str) -> (BedrockApi, &str) {
    let m = model.strip_prefix("bedrock/").unwrap_or(model);
    if let Some(rest) = m.strip_prefix("converse/") {
        return (BedrockApi::Converse, rest);
    }
    if let Some(rest) = m.strip_prefix("invoke/") {
        return (invoke_api(rest), rest);
    }
    for spec in ["nova-2/", "nova/"] {
        if let Some(rest) = m.strip_prefix(spec) {
            return (BedrockApi::Converse, rest);
        }
    }
    if m.contains(":application-inference-profile/") {
        return (BedrockApi::Converse, m);
    }
    let base = base_model(m);
    if CONVERSE_MODELS.contains(&base) || is_openai_family(base) {
        return (BedrockApi::Converse, m);
    }
    (invoke_api(m), m)
}

/// Appends `s` percent-encoded: everything but RFC 3986 unreserved
/// characters (and `/` when `keep_slash`) as `%XX`, upper-case hex.
fn percent_encode(out: &mut String, s: &[u8], keep_slash: bool) {
    for &c in s {
        if c.is_ascii_alphanumeric()
            || matches!(c, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && c == b'/')
        {
            out.push(char::from(c));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(c >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(c & 15)]));
        }
    }
}

/// The request path for a model id and operation (`converse`,
/// `converse-stream`, `invoke`, `invoke-with-response-stream`):
/// `/model/{id}/{op}` with the id percent-encoded whole (`:` → `%3A`,
/// `/` → `%2F`), as LiteLLM's `encode_model_id` (`quote(id, safe="")`).
pub fn model_path(model_id: &str, op: &str) -> String {
    let mut p = String::with_capacity(16 + model_id.len() * 2 + op.len());
    p.push_str("/model/");
    percent_encode(&mut p, model_id.as_bytes(), false);
    p.push('/');
    p.push_str(op);
    p
}

// ---------------------------------------------------------------------------
// SigV4
// ---------------------------------------------------------------------------

fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    for b in bytes {
        out.push(b"0123456789abcdef"[usize::from(b >> 4)]);
        out.push(b"0123456789abcdef"[usize::from(b & 15)]);
    }
}

fn sha256_hex(out: &mut Vec<u8>, data: &[u8]) {
    push_hex(out, digest::digest(&digest::SHA256, data).as_ref());
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> hmac::Tag {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), msg)
}

/// SigV4's derived key: `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date),
/// region), service), "aws4_request")`.
fn signing_key(secret: &str, date: &[u8], region: &str, service: &str) -> hmac::Tag {
    let mut k_secret = Vec::with_capacity(4 + secret.len());
    k_secret.extend_from_slice(b"AWS4");
    k_secret.extend_from_slice(secret.as_bytes());
    let k_date = hmac_sha256(&k_secret, date);
    let k_region = hmac_sha256(k_date.as_ref(), region.as_bytes());
    let k_service = hmac_sha256(k_region.as_ref(), service.as_bytes());
    hmac_sha256(k_service.as_ref(), b"aws4_request")
}

/// `(YYYYMMDD, YYYYMMDDTHHMMSSZ)` in UTC.
fn amz_dates(now: SystemTime) -> ([u8; 8], [u8; 16]) {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's days-to-civil, for non-negative day counts.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    let mut stamp = [b'0'; 16];
    let mut put = |at: usize, v: u64, width: usize| {
        let mut v = v;
        for i in (0..width).rev() {
            stamp[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, y, 4);
    put(4, m, 2);
    put(6, d, 2);
    put(9, rem / 3600, 2);
    put(11, rem / 60 % 60, 2);
    put(13, rem % 60, 2);
    stamp[8] = b'T';
    stamp[15] = b'Z';
    let mut date = [0u8; 8];
    date.copy_from_slice(&stamp[..8]);
    (date, stamp)
}

/// Percent-decodes `s` (a `+` stays a `+`, as botocore leaves it).
fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c == b'%' {
            if let Ok(h) = hex2(s.get(i + 1..i + 3)) {
                v.push(h);
                i += 3;
                continue;
            }
        }
        v.push(c);
        i += 1;
    }
    v
}

fn hex2(h: Option<&[u8]>) -> Result<u8, ()> {
    let h = h.ok_or(())?;
    let mut v = 0u8;
    for &c in h {
        v = v * 16 + (c as char).to_digit(16).ok_or(())? as u8;
    }
    Ok(v)
}

/// The canonical query string: each name and value decoded and encoded
/// again (so already-encoded input is unchanged), pairs sorted.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let (mut ek, mut ev) = (String::new(), String::new());
            percent_encode(&mut ek, &percent_decode(k.as_bytes()), false);
            percent_encode(&mut ev, &percent_decode(v.as_bytes()), false);
            (ek, ev)
        })
        .collect();
    pairs.sort();
    let mut s = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push('&');
        }
        s.push_str(k);
        s.push('=');
        s.push_str(v);
    }
    s
}

/// Signs a request with AWS Signature Version 4 (service `service`, the
/// credentials' region) and appends the header lines to send with it:
/// `x-amz-date: …\r\n`, `x-amz-security-token: …\r\n` when there is a
/// session token, and `authorization: AWS4-HMAC-SHA256 Credential=…,
/// SignedHeaders=…, Signature=…\r\n`.
///
/// Signed headers: `content-type` (omitted when `content_type` is empty),
/// `host`, `x-amz-date`, `x-amz-security-token`; the caller must send
/// exactly these values (`host` is the Host header as sent, with the port
/// when it is not the scheme's default). `path` is the request path exactly as sent (for
/// Bedrock, [`model_path`]'s output); the canonical URI percent-encodes it
/// again, as AWS requires for every service but S3 (`%3A` → `%253A`).
/// `query` is the raw query string without `?` (usually empty). The payload
/// hash covers `body`; no `x-amz-content-sha256` header is sent (botocore
/// does not send one for Bedrock either).
#[allow(clippy::too_many_arguments)]
pub fn sign(
    creds: &AwsCredentials,
    service: &str,
    method: &str,
    host: &str,
    path: &str,
    query: &str,
    content_type: &str,
    body: &[u8],
    now: SystemTime,
    out: &mut Vec<u8>,
) {
    let (date, stamp) = amz_dates(now);
    let token = creds.session_token.as_deref().filter(|t| !t.is_empty());
    let mut signed_headers = String::new();
    if !content_type.is_empty() {
        signed_headers.push_str("content-type;");
    }
    signed_headers.push_str("host;x-amz-date");
    if token.is_some() {
        signed_headers.push_str(";x-amz-security-token");
    }

    let mut creq: Vec<u8> = Vec::with_capacity(256 + path.len());
    creq.extend_from_slice(method.as_bytes());
    creq.push(b'\n');
    let mut uri = String::new();
    percent_encode(
        &mut uri,
        if path.is_empty() {
            b"/"
        } else {
            path.as_bytes()
        },
        true,
    );
    creq.extend_from_slice(uri.as_bytes());
    creq.push(b'\n');
    creq.extend_from_slice(canonical_query(query).as_bytes());
    creq.push(b'\n');
    if !content_type.is_empty() {
        creq.extend_from_slice(b"content-type:");
        creq.extend_from_slice(content_type.trim().as_bytes());
        creq.push(b'\n');
    }
    creq.extend_from_slice(b"host:");
    creq.extend_from_slice(host.trim().as_bytes());
    creq.extend_from_slice(b"\nx-amz-date:");
    creq.extend_from_slice(&stamp);
    creq.push(b'\n');
    if let Some(t) = token {
        creq.extend_from_slice(b"x-amz-security-token:");
        creq.extend_from_slice(t.trim().as_bytes());
        creq.push(b'\n');
    }
    creq.push(b'\n');
    creq.extend_from_slice(signed_headers.as_bytes());
    creq.push(b'\n');
    sha256_hex(&mut creq, body);

    let mut scope: Vec<u8> = Vec::with_capacity(64);
    scope.extend_from_slice(&date);
    scope.push(b'/');
    scope.extend_from_slice(creds.region.as_bytes());
    scope.push(b'/');
    scope.extend_from_slice(service.as_bytes());
    scope.extend_from_slice(b"/aws4_request");

    let mut sts: Vec<u8> = Vec::with_capacity(160);
    sts.extend_from_slice(b"AWS4-HMAC-SHA256\n");
    sts.extend_from_slice(&stamp);
    sts.push(b'\n');
    sts.extend_from_slice(&scope);
    sts.push(b'\n');
    sha256_hex(&mut sts, &creq);

    let key = signing_key(&creds.secret_access_key, &date, &creds.region, service);
    let signature = hmac_sha256(key.as_ref(), &sts);

    out.extend_from_slice(b"x-amz-date: ");
    out.extend_from_slice(&stamp);
    out.extend_from_slice(b"\r\n");
    if let Some(t) = token {
        out.extend_from_slice(b"x-amz-security-token: ");
        out.extend_from_slice(t.trim().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"authorization: AWS4-HMAC-SHA256 Credential=");
    out.extend_from_slice(creds.access_key_id.as_bytes());
    out.push(b'/');
    out.extend_from_slice(&scope);
    out.extend_from_slice(b", SignedHeaders=");
    out.extend_from_slice(signed_headers.as_bytes());
    out.extend_from_slice(b", Signature=");
    push_hex(out, signature.as_ref());
    out.extend_from_slice(b"\r\n");
}

// ---------------------------------------------------------------------------
// Model families (LiteLLM applies per-family rules in map_openai_params)
// ---------------------------------------------------------------------------

/// What the request translation needs to know about the target model.
#[derive(Clone, Copy, Debug)]
struct Family {
    /// Anthropic rules: `top_k` and `thinking` in `additionalModelRequestFields`,
    /// `reasoning_effort` as a thinking budget.
    anthropic: bool,
    /// Amazon Nova: `top_k` as `additionalModelRequestFields.inferenceConfig.topK`.
    nova: bool,
    /// Nova 2: `reasoning_effort` as `reasoningConfig`.
    nova2: bool,
    /// gpt-oss / DeepSeek: `reasoning_effort` passed through as is.
    raw_effort: bool,
    /// OpenAI GPT (not gpt-oss): `reasoning.effort`; no cache points.
    openai_gpt: bool,
    /// DeepSeek reasons natively: `thinking` dropped (R1 also rejects effort).
    deepseek: bool,
    deepseek_r1: bool,
}

impl Family {
    /// No model known: Anthropic rules (Claude is most Bedrock chat traffic),
    /// cache points allowed.
    const ANY: Family = Family {
        anthropic: true,
        nova: false,
        nova2: false,
        raw_effort: false,
        openai_gpt: false,
        deepseek: false,
        deepseek_r1: false,
    };

    fn of(model_id: &str) -> Family {
        let (_, id) = route(model_id);
        let base = base_model(id);
        let gpt =
            is_openai_family(base) && base.contains("openai.gpt-") && !base.contains("gpt-oss");
        Family {
            anthropic: base.starts_with("anthropic")
                || id.contains(":application-inference-profile/"),
            nova: base.starts_with("amazon.nova"),
            nova2: base.starts_with("amazon.nova-2"),
            raw_effort: id.contains("gpt-oss") || id.contains("deepseek"),
            openai_gpt: gpt,
            deepseek: id.contains("deepseek"),
            deepseek_r1: id.contains("deepseek.r1"),
        }
    }
}

// ---------------------------------------------------------------------------
// OpenAI chat request -> Converse request
// ---------------------------------------------------------------------------

/// LiteLLM's `CONVERTED_SYSTEM_NOTE`: a mid-conversation system message
/// becomes a user turn opening with this text.
const CONVERTED_SYSTEM_NOTE: &[u8] =
    b"Operator note (not from the user): the following was originally a mid-conversation system-role reminder.";

/// LiteLLM's `DEFAULT_MAX_TOKENS`, added to a thinking budget when the
/// client gave no `max_tokens`.
const DEFAULT_MAX_TOKENS: u64 = 4096;
/// Bedrock rejects thinking budgets below this (`BEDROCK_MIN_THINKING_BUDGET_TOKENS`).
const MIN_THINKING_BUDGET: u64 = 1024;

const PART_KEYS: [&str; 7] = [
    "type",
    "text",
    "image_url",
    "file",
    "cache_control",
    "source",
    "thinking",
];
const P_TYPE: usize = 0;
const P_TEXT: usize = 1;
const P_IMAGE_URL: usize = 2;
const P_FILE: usize = 3;
const P_CACHE: usize = 4;
const P_SOURCE: usize = 5;
type OaPart<'a> = Part<'a, 7>;

/// A message's `cache_control` as the Converse translation reads it: only
/// an object counts, anything else is as if absent.
fn cache_control<'a>(m: &Msg<'a>) -> Option<Val<'a>> {
    m.cache_control.filter(|c| c.is_obj())
}

#[derive(Default)]
struct Req<'a> {
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
    thinking: Option<Val<'a>>,
    reasoning_effort: Option<Val<'a>>,
    guardrail_config: Option<Val<'a>>,
    performance_config: Option<Val<'a>>,
    service_tier: Option<Val<'a>>,
    request_metadata: Option<Val<'a>>,
}

/// The order LiteLLM's `_transform_system_message` leaves the non-leading
/// messages in: a system run wedged between an assistant tool-call turn and
/// its tool results moves after the results (it becomes a user turn, which
/// would split the call from its result); system messages with no text are
/// dropped.
fn reorder(msgs: &[Msg<'_>], start: usize, parts: &[OaPart<'_>]) -> Vec<usize> {
    let rest = msgs.get(start..).unwrap_or_default();
    let sys = |i: usize| rest[i].role == Role::System;
    let tool = |i: usize| rest[i].role == Role::Tool;
    let mut order = Vec::with_capacity(rest.len());
    for i in 0..rest.len() {
        if tool(i) {
            order.push(i);
            if i + 1 < rest.len() && tool(i + 1) {
                continue;
            }
            let run_start = (0..=i).rev().find(|&j| !tool(j)).map_or(0, |j| j + 1);
            let sys_start = (0..run_start).rev().find(|&j| !sys(j)).map_or(0, |j| j + 1);
            if sys_start < run_start && sys_start > 0 && rest[sys_start - 1].has_tool_calls() {
                order.extend(sys_start..run_start);
            }
        } else if sys(i) {
            let run_start = (0..i).rev().find(|&j| !sys(j)).map_or(0, |j| j + 1);
            let run_end = (i..rest.len()).find(|&j| !sys(j)).unwrap_or(rest.len());
            let moved = run_end < rest.len()
                && tool(run_end)
                && run_start > 0
                && rest[run_start - 1].has_tool_calls();
            if !moved {
                order.push(i);
            }
        } else {
            order.push(i);
        }
    }
    order
        .into_iter()
        .map(|i| i + start)
        .filter(|&i| msgs[i].role != Role::System || system_has_text(&msgs[i], parts))
        .collect()
}

fn system_has_text(m: &Msg<'_>, parts: &[OaPart<'_>]) -> bool {
    system_texts(m, parts).next().is_some()
}

/// The non-empty texts of a system message, with their `cache_control`.
fn system_texts<'a, 'p>(
    m: &'p Msg<'a>,
    parts: &'p [OaPart<'a>],
) -> impl Iterator<Item = (Str<'a>, Option<Val<'a>>)> + 'p {
    let whole = m
        .content
        .and_then(Val::str)
        .filter(|s| !s.is_empty())
        .map(|s| (s, cache_control(m)));
    let listed = slice(parts, m.parts)
        .iter()
        .filter(|p| p.is(P_TYPE, "text"))
        .filter_map(|p| {
            p.str(P_TEXT)
                .filter(|s| !s.is_empty())
                .map(|s| (s, p.val(P_CACHE)))
        });
    whole.into_iter().chain(listed)
}

/// Writes Converse `messages`, merging consecutive same-role turns.
struct Turns {
    open: Option<Role>,
    written: usize,
    /// Spans in `out` of the tool ids written in the open turn (Bedrock wants
    /// them unique per message; LiteLLM keeps the first).
    ids: Vec<(usize, usize)>,
}

impl Turns {
    fn new() -> Self {
        Turns {
            open: None,
            written: 0,
            ids: Vec::new(),
        }
    }

    /// Opens a `user` or `assistant` turn if needed, then writes the
    /// separator for the next block.
    fn block(&mut self, out: &mut Vec<u8>, role: Role) {
        if self.open == Some(role) {
            out.push(b',');
            return;
        }
        self.close(out);
        if self.written > 0 {
            out.push(b',');
        }
        out.extend_from_slice(if role == Role::Assistant {
            b"{\"role\":\"assistant\",\"content\":["
        } else {
            b"{\"role\":\"user\",\"content\":["
        });
        self.open = Some(role);
        self.written += 1;
        self.ids.clear();
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        if self.open.take().is_some() {
            out.extend_from_slice(b"]}");
        }
    }

    /// Opens a `role` turn unless `id` (a JSON string, quotes included) was
    /// already used in the open one, then writes `head` and the id and
    /// remembers it. Returns false (writing nothing) for a repeated id.
    fn block_with_id(&mut self, out: &mut Vec<u8>, role: Role, head: &[u8], id: &[u8]) -> bool {
        if self.open == Some(role) && self.ids.iter().any(|&(s, e)| out.get(s..e) == Some(id)) {
            return false;
        }
        self.block(out, role);
        out.extend_from_slice(head);
        self.ids.push((out.len(), out.len() + id.len()));
        out.extend_from_slice(id);
        true
    }

    /// A `cachePoint` block after the previous one, when the client marked
    /// it with `cache_control` and the model accepts cache points.
    fn cache_point(&mut self, out: &mut Vec<u8>, role: Role, cc: Option<Val<'_>>, allowed: bool) {
        if cache_wanted(cc, allowed) {
            self.block(out, role);
            out.extend_from_slice(CACHE_POINT);
        }
    }
}

const CACHE_POINT: &[u8] = b"{\"cachePoint\":{\"type\":\"default\"}}";

fn cache_wanted(cc: Option<Val<'_>>, allowed: bool) -> bool {
    allowed && cc.is_some_and(|c| c.is_obj())
}

/// A tool-use id as Bedrock accepts it (LiteLLM's
/// `_sanitize_bedrock_tool_use_id`): characters outside `[a-zA-Z0-9_.:-]`
/// become `_`; a changed or over-long id is cut to 55 bytes and suffixed with
/// `_` and 8 hex digits of the original's SHA-256, so distinct ids stay
/// distinct. Written as a JSON string.
fn push_tool_use_id(out: &mut Vec<u8>, id: Option<Str<'_>>) {
    let raw = match id {
        Some(id) => id.decoded().unwrap_or(Cow::Borrowed(id.0)),
        None => {
            let mut v = Vec::new();
            push_uuid(&mut v);
            Cow::Owned(v)
        }
    };
    let text = String::from_utf8_lossy(&raw);
    let mut clean = String::with_capacity(text.len());
    for ch in text.chars() {
        if ch.is_ascii_alphanumeric() || matches!(ch, '_' | '.' | ':' | '-') {
            clean.push(ch);
        } else {
            clean.push('_');
        }
    }
    if clean.is_empty() {
        clean.push_str("tool_use_id");
    }
    out.push(b'"');
    if clean.as_bytes() == &raw[..] && clean.len() <= 64 {
        out.extend_from_slice(clean.as_bytes());
    } else {
        // `clean` is ASCII, so any byte cut is a char boundary.
        out.extend_from_slice(&clean.as_bytes()[..clean.len().min(55)]);
        out.push(b'_');
        let d = digest::digest(&digest::SHA256, &raw);
        push_hex(out, &d.as_ref()[..4]);
    }
    out.push(b'"');
}

/// A tool name as Bedrock accepts it (LiteLLM's `make_valid_bedrock_tool_name`):
/// `a` prepended when it does not start with a letter, characters other than
/// letters, digits, `_` and `-` replaced by `_`. Written as a JSON string.
fn push_tool_name(out: &mut Vec<u8>, name: Str<'_>) {
    let raw = name.decoded().unwrap_or(Cow::Borrowed(name.0));
    let text = String::from_utf8_lossy(&raw);
    out.push(b'"');
    if let Some(first) = text.chars().next() {
        if !first.is_alphabetic() {
            out.push(b'a');
        }
    }
    let mut buf = [0u8; 4];
    for ch in text.chars() {
        if ch.is_alphanumeric() || ch == '_' || ch == '-' {
            push_escaped(out, ch.encode_utf8(&mut buf).as_bytes());
        } else {
            out.push(b'_');
        }
    }
    out.push(b'"');
}

const IMAGE_FORMATS: &[&str] = &["png", "jpeg", "gif", "webp"];
const VIDEO_FORMATS: &[&str] = &[
    "mp4", "mov", "mkv", "webm", "flv", "mpeg", "mpg", "wmv", "3gp",
];

/// The Converse document format for a MIME type (LiteLLM's
/// `_get_document_format`, for the formats Converse supports).
fn document_format(mime: &str) -> Option<&'static str> {
    Some(match mime {
        "application/pdf" => "pdf",
        "text/csv" => "csv",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "text/html" => "html",
        "text/plain" => "txt",
        "text/markdown" | "text/x-markdown" => "md",
        _ => return None,
    })
}

/// LiteLLM's deterministic document name: SHA-256 over the first 64 KiB of
/// the base64 (whitespace removed) and its full length, 16 hex digits.
fn push_document_name(out: &mut Vec<u8>, prefix: &[u8], data: Str<'_>, format: &str) {
    let raw = data.decoded().unwrap_or(Cow::Borrowed(data.0));
    let normalized: Vec<u8> = raw
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(&normalized[..normalized.len().min(64 * 1024)]);
    ctx.update(normalized.len().to_string().as_bytes());
    let d = ctx.finish();
    out.push(b'"');
    out.extend_from_slice(prefix);
    push_hex(out, &d.as_ref()[..8]);
    out.push(b'_');
    out.extend_from_slice(format.as_bytes());
    out.push(b'"');
}

/// An image / document / video block from a `data:` URL (LiteLLM's
/// `BedrockImageProcessor.process_image_sync`). `format` (a MIME type)
/// overrides the URL's. http(s) URLs would have to be downloaded first.
fn push_media_block(out: &mut Vec<u8>, url: Str<'_>, format: Option<Str<'_>>) -> Res<()> {
    if memchr::memmem::find(url.0, b"base64").is_none() {
        let remote = url.starts_with(b"http://") || url.starts_with(b"https://");
        return invalid(if remote {
            "Bedrock: image and file URLs must be base64 data URLs (data:<mime>;base64,<data>); this gateway does not download remote media"
        } else {
            "Unsupported image type. Expected either image url or base64 encoded string"
        });
    }
    let comma_at = memchr::memchr(b',', url.0).unwrap_or(url.0.len());
    let meta = &url.0[..comma_at];
    let data = Str(url.0.get(comma_at + 1..).unwrap_or_default());
    let mut mime: String = match meta
        .strip_prefix(b"data:")
        .and_then(|m| memchr::memmem::find(m, b";base64").map(|e| &m[..e]))
    {
        Some(m) => {
            let m = String::from_utf8_lossy(m);
            m.split(';').next().unwrap_or("").to_owned()
        }
        None => "image/jpeg".to_owned(),
    };
    if let Some(f) = format.and_then(|f| f.decoded()) {
        if !f.is_empty() {
            mime = String::from_utf8_lossy(&f).into_owned();
        }
    }
    let subtype = mime.split('/').nth(1).unwrap_or("");
    if mime.starts_with("application") || mime.starts_with("text") {
        let Some(fmt) = document_format(&mime) else {
            return invalid(format!(
                "No supported extensions for MIME type: {mime}. Supported formats: ['pdf', 'csv', 'doc', 'docx', 'xls', 'xlsx', 'html', 'txt', 'md']"
            ));
        };
        out.extend_from_slice(b"{\"document\":{\"source\":{\"bytes\":");
        push_raw(out, data);
        out.extend_from_slice(b"},\"format\":\"");
        out.extend_from_slice(fmt.as_bytes());
        out.extend_from_slice(b"\",\"name\":");
        push_document_name(out, b"DocumentPDFmessages_", data, fmt);
        out.extend_from_slice(b"}}");
        return Ok(());
    }
    let kind: &[u8] = if VIDEO_FORMATS.iter().any(|v| subtype.starts_with(v)) {
        b"{\"video\":{\"source\":{\"bytes\":"
    } else if IMAGE_FORMATS.contains(&subtype) {
        b"{\"image\":{\"source\":{\"bytes\":"
    } else {
        return invalid(format!(
            "Unsupported image format: {subtype}. Supported formats: ['mp4', 'mov', 'mkv', 'webm', 'flv', 'mpeg', 'mpg', 'wmv', '3gp', 'png', 'jpeg', 'gif', 'webp']"
        ));
    };
    out.extend_from_slice(kind);
    push_raw(out, data);
    out.extend_from_slice(b"},\"format\":");
    push_quoted(out, subtype.as_bytes());
    out.extend_from_slice(b"}}");
    Ok(())
}

/// `{"type":"image_url","image_url":"…"|{"url":"…","format":…}}`.
fn push_image_part(out: &mut Vec<u8>, part: &OaPart<'_>, with_format: bool) -> Res<()> {
    let (url, format) = match part.val(P_IMAGE_URL) {
        Some(v) if v.str().is_some() => (v.str(), None),
        Some(v) => {
            let [url, format] = v.fields(&["url", "format"]);
            (url.and_then(Val::str), format.and_then(Val::str))
        }
        None => (None, None),
    };
    let Some(url) = url else {
        return invalid("image_url content part is missing its url");
    };
    push_media_block(out, url, format.filter(|_| with_format))
}

/// `{"type":"file","file":{"file_data"|"file_id", "format"?}}`.
fn push_file_part(out: &mut Vec<u8>, part: &OaPart<'_>) -> Res<()> {
    let Some(file) = part.val(P_FILE).filter(|v| v.is_obj()) else {
        return invalid("Content block has type='file' but is missing the required 'file' field");
    };
    let [data, id, format] = file.fields(&["file_id", "file_data", "format"]);
    let Some(src) = data.or(id).and_then(Val::str) else {
        return invalid("file_data and file_id cannot both be None");
    };
    push_media_block(out, src, format.and_then(Val::str))
}

/// An Anthropic-style `{"type":"document","source":{"type":"base64",…}}` part.
fn push_document_part(out: &mut Vec<u8>, part: &OaPart<'_>) -> Res<()> {
    let src = part.val(P_SOURCE).filter(|s| s.is_obj());
    let [ty, media, data] = src.map_or([None; 3], |s| s.fields(&["type", "media_type", "data"]));
    if !ty.and_then(Val::str).is_some_and(|t| t.is("base64")) {
        return invalid(
            "Bedrock Converse only supports base64-encoded document sources. Please convert the document to base64 before sending to Bedrock.",
        );
    }
    let (Some(media), Some(data)) = (media.and_then(Val::str), data.and_then(Val::str)) else {
        return invalid("document source needs 'media_type' and 'data'");
    };
    let mime = String::from_utf8_lossy(&media.decoded().unwrap_or_default()).into_owned();
    let Some(fmt) = document_format(&mime) else {
        return invalid(format!("No supported extensions for MIME type: {mime}."));
    };
    out.extend_from_slice(b"{\"document\":{\"source\":{\"bytes\":");
    push_raw(out, data);
    out.extend_from_slice(b"},\"format\":\"");
    out.extend_from_slice(fmt.as_bytes());
    out.extend_from_slice(b"\",\"name\":");
    push_document_name(out, b"Document_", data, fmt);
    out.extend_from_slice(b"}}");
    Ok(())
}

/// Writes a `{"text":…}` block in a `role` turn.
fn text_block(out: &mut Vec<u8>, turns: &mut Turns, role: Role, text: Str<'_>) {
    turns.block(out, role);
    out.extend_from_slice(b"{\"text\":");
    push_raw(out, text);
    out.push(b'}');
}

/// Blocks of one user message (or a mid-conversation system message turned
/// into one).
fn user_blocks(
    out: &mut Vec<u8>,
    turns: &mut Turns,
    m: &Msg<'_>,
    parts: &[OaPart<'_>],
    cache_ok: bool,
) -> Res<()> {
    if m.role == Role::System {
        text_block(out, turns, Role::User, Str(CONVERTED_SYSTEM_NOTE));
        for (text, cc) in system_texts(m, parts) {
            text_block(out, turns, Role::User, text);
            turns.cache_point(out, Role::User, cc, cache_ok);
        }
        return Ok(());
    }
    let Some(content) = m.content else {
        return Ok(());
    };
    if let Some(text) = content.str() {
        if !text.is_empty() {
            text_block(out, turns, Role::User, text);
            turns.cache_point(out, Role::User, cache_control(m), cache_ok);
        }
        return Ok(());
    }
    if m.parts.is_none() {
        return invalid("Invalid Message passed in: user content must be a string or an array");
    }
    for part in slice(parts, m.parts) {
        let Some(ty) = part.str(P_TYPE) else { continue };
        if ty.is("text") {
            let text = part.str(P_TEXT).unwrap_or(Str(b""));
            if text.is_blank() {
                continue; // LiteLLM's skip_empty_text_blocks
            }
            text_block(out, turns, Role::User, text);
        } else if ty.is("image_url") {
            turns.block(out, Role::User);
            push_image_part(out, part, true)?;
        } else if ty.is("file") {
            turns.block(out, Role::User);
            push_file_part(out, part)?;
        } else if ty.is("document") {
            turns.block(out, Role::User);
            push_document_part(out, part)?;
        } else {
            continue; // input_audio and unknown parts: no Converse equivalent
        }
        turns.cache_point(out, Role::User, part.val(P_CACHE), cache_ok);
    }
    Ok(())
}

/// One `toolResult` block for an OpenAI `tool` message (a repeated id in
/// the same turn is dropped, as LiteLLM does).
fn tool_result_block(
    out: &mut Vec<u8>,
    turns: &mut Turns,
    m: &Msg<'_>,
    parts: &[OaPart<'_>],
    cache_ok: bool,
) -> Res<()> {
    let mut id = Vec::new();
    push_tool_use_id(&mut id, m.tool_call_id.and_then(Val::str));
    if !turns.block_with_id(out, Role::User, b"{\"toolResult\":{\"toolUseId\":", &id) {
        return Ok(());
    }
    out.extend_from_slice(b",\"content\":[");
    match m.content {
        Some(c) if c.str().is_some() => {
            out.extend_from_slice(b"{\"text\":");
            out.extend_from_slice(c.0);
            out.push(b'}');
        }
        Some(_) if m.parts.is_some() => {
            let mut n = 0;
            for part in slice(parts, m.parts) {
                let Some(ty) = part.str(P_TYPE) else { continue };
                if ty.is("text") {
                    comma(out, &mut n);
                    out.extend_from_slice(b"{\"text\":");
                    push_raw(out, part.str(P_TEXT).unwrap_or(Str(b"")));
                    out.push(b'}');
                } else if ty.is("image_url") {
                    comma(out, &mut n);
                    push_image_part(out, part, true)?;
                } else if ty.is("file") {
                    comma(out, &mut n);
                    push_file_part(out, part)?;
                }
            }
        }
        _ => {}
    }
    out.extend_from_slice(b"]}}");
    let cc = cache_control(m).or_else(|| {
        slice(parts, m.parts)
            .iter()
            .find_map(|p| p.val(P_CACHE).filter(|c| c.is_obj()))
    });
    turns.cache_point(out, Role::User, cc, cache_ok);
    Ok(())
}

/// OpenAI tool-call `arguments` as a Converse `input` object: blank → `{}`;
/// JSON that is not an object (or not JSON) → `{}`, as LiteLLM does.
fn push_tool_input(out: &mut Vec<u8>, args: Option<Val<'_>>) {
    let Some(args) = args else {
        out.extend_from_slice(b"{}");
        return;
    };
    if args.is_obj() {
        out.extend_from_slice(args.0);
        return;
    }
    let mark = out.len();
    let ok = args.str().is_some_and(|s| {
        unescape_into(out, s.0).is_ok()
            && out.get(mark..).is_some_and(|d| {
                std::str::from_utf8(d).is_ok()
                    && is_valid_json(d)
                    && d.get(skip_ws(d, 0)) == Some(&b'{')
            })
    });
    if !ok {
        out.truncate(mark);
        out.extend_from_slice(b"{}");
    }
}

/// One thinking block from an assistant message (`thinking_blocks` entry or
/// a `thinking` content part): with a signature a `reasoningContent` block
/// (pass 0), without one its text as a text block (pass 1), as LiteLLM's
/// `add_thinking_blocks_to_assistant_content` does.
fn thinking_block(out: &mut Vec<u8>, turns: &mut Turns, b: Val<'_>, pass: u8) {
    let [text, signature] = b.fields(&["thinking", "signature"]);
    let text = text.and_then(Val::str).unwrap_or(Str(b""));
    match signature.and_then(Val::str).filter(|s| !s.is_empty()) {
        Some(sig) if pass == 0 => {
            turns.block(out, Role::Assistant);
            out.extend_from_slice(b"{\"reasoningContent\":{\"reasoningText\":{\"text\":");
            push_raw(out, text);
            out.extend_from_slice(b",\"signature\":");
            push_raw(out, sig);
            out.extend_from_slice(b"}}}");
        }
        None if pass == 1 && !text.is_blank() => text_block(out, turns, Role::Assistant, text),
        _ => {}
    }
}

/// A run of consecutive assistant messages as one assistant turn, in
/// LiteLLM's sorted order: reasoning, then text and images, then tool uses
/// and cache points (a stable sort keyed 0/1/2, so cache points keep their
/// place among the tool uses).
fn assistant_run(
    out: &mut Vec<u8>,
    turns: &mut Turns,
    run: &[&Msg<'_>],
    parts: &[OaPart<'_>],
    cache_ok: bool,
) -> Res<()> {
    const A: Role = Role::Assistant;
    for pass in 0..3u8 {
        for m in run {
            if pass < 2 {
                for b in m.thinking_blocks.into_iter().flat_map(Val::elems) {
                    thinking_block(out, turns, b, pass);
                }
            }
            match m.content {
                Some(c) if c.str().is_some() => {
                    let text = c.str().unwrap_or(Str(b""));
                    if pass == 1 && !text.is_blank() {
                        text_block(out, turns, A, text);
                    } else if pass == 2 {
                        turns.cache_point(out, A, cache_control(m), cache_ok);
                    }
                }
                Some(_) if m.parts.is_some() => {
                    for part in slice(parts, m.parts) {
                        let Some(ty) = part.str(P_TYPE) else { continue };
                        if pass == 2 {
                            turns.cache_point(out, A, part.val(P_CACHE), cache_ok);
                        } else if ty.is("thinking") {
                            thinking_block(out, turns, part.all, pass);
                        } else if pass == 1 && ty.is("text") {
                            let text = part.str(P_TEXT).unwrap_or(Str(b""));
                            if !text.is_blank() {
                                text_block(out, turns, A, text);
                            }
                        } else if pass == 1 && ty.is("image_url") {
                            turns.block(out, A);
                            push_image_part(out, part, false)?;
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
            if pass == 2 {
                tool_uses(out, turns, m, cache_ok)?;
            }
        }
    }
    Ok(())
}

fn tool_uses(out: &mut Vec<u8>, turns: &mut Turns, m: &Msg<'_>, cache_ok: bool) -> Res<()> {
    let mut id_buf = Vec::new();
    for call in m.tool_calls.into_iter().flat_map(Val::elems) {
        let [id, function, cc] = call.fields(&["id", "function", "cache_control"]);
        let Some(f) = function.filter(|v| v.is_obj()) else {
            continue;
        };
        let Some(id) = id.and_then(Val::str) else {
            return invalid(
                "Unable to convert openai tool calls to bedrock tool calls: tool_calls[].id is missing",
            );
        };
        id_buf.clear();
        push_tool_use_id(&mut id_buf, Some(id));
        if !turns.block_with_id(
            out,
            Role::Assistant,
            b"{\"toolUse\":{\"toolUseId\":",
            &id_buf,
        ) {
            continue;
        }
        let [name, arguments] = f.fields(&["name", "arguments"]);
        out.extend_from_slice(b",\"name\":");
        push_tool_name(out, name.and_then(Val::str).unwrap_or(Str(b"")));
        out.extend_from_slice(b",\"input\":");
        push_tool_input(out, arguments);
        out.extend_from_slice(b"}}");
        turns.cache_point(out, Role::Assistant, cc, cache_ok);
    }
    Ok(())
}

/// Converse `messages` (LiteLLM's `_bedrock_converse_messages_pt`): runs of
/// user messages, then tool results, then assistant messages; user-side
/// blocks join the previous user turn when there is one.
fn converse_messages(
    out: &mut Vec<u8>,
    msgs: &[Msg<'_>],
    order: &[usize],
    parts: &[OaPart<'_>],
    cache_ok: bool,
) -> Res<()> {
    out.extend_from_slice(b"\"messages\":[");
    let mut turns = Turns::new();
    let mut i = 0;
    let mut run: Vec<&Msg<'_>> = Vec::new();
    while i < order.len() {
        let start = i;
        let m = |i: usize| &msgs[order[i]];
        while i < order.len() && matches!(m(i).role, Role::User | Role::System) {
            user_blocks(out, &mut turns, m(i), parts, cache_ok)?;
            i += 1;
        }
        while i < order.len() && m(i).role == Role::Tool {
            tool_result_block(out, &mut turns, m(i), parts, cache_ok)?;
            i += 1;
        }
        run.clear();
        while i < order.len() && m(i).role == Role::Assistant {
            run.push(m(i));
            i += 1;
        }
        assistant_run(out, &mut turns, &run, parts, cache_ok)?;
        if i == start {
            // Only a `function` message is consumed by none of the runs.
            return invalid(format!(
                "Invalid Message passed in: messages[{}] has role 'function', which Bedrock Converse does not accept",
                order[i]
            ));
        }
    }
    turns.close(out);
    if turns.written == 0 {
        return invalid("Invalid Message bedrock requires at least one non-system message");
    }
    out.push(b']');
    Ok(())
}

/// LiteLLM's `_bedrock_tools_pt`: OpenAI function tools (and Anthropic-style
/// `{name, input_schema}` tools) as `toolSpec`s; blocks already in Bedrock
/// form (`toolSpec`, `systemTool`, `cachePoint`) pass through; other
/// built-in tools are dropped. Returns how many were written.
fn converse_tools(out: &mut Vec<u8>, tools: Val<'_>, fam: Family) -> Res<usize> {
    let cache_ok = !fam.openai_gpt;
    let mut n = 0;
    for (idx, t) in tools.elems().enumerate() {
        if !t.is_obj() {
            return invalid("tools[] entries must be objects");
        }
        let [spec, system, cp, function, input_schema, name, description, cc] = t.fields(&[
            "toolSpec",
            "systemTool",
            "cachePoint",
            "function",
            "input_schema",
            "name",
            "description",
            "cache_control",
        ]);
        if spec.is_some() || system.is_some() || cp.is_some() {
            comma(out, &mut n);
            out.extend_from_slice(t.0);
            continue;
        }
        let (name, description, schema) = match (function.filter(|f| f.is_obj()), input_schema) {
            (Some(f), _) => {
                let [name, description, parameters] =
                    f.fields(&["name", "description", "parameters"]);
                (name, description, parameters)
            }
            (None, Some(s)) => (name, description, Some(s)),
            (None, None) => continue,
        };
        comma(out, &mut n);
        out.extend_from_slice(b"{\"toolSpec\":{\"name\":");
        let name_at = out.len();
        match name.and_then(Val::str).filter(|s| !s.is_blank()) {
            Some(name) => push_tool_name(out, name),
            None => {
                out.extend_from_slice(b"\"litellm_unnamed_tool_");
                push_u64(out, idx as u64);
                out.push(b'"');
            }
        }
        let name_end = out.len();
        out.extend_from_slice(b",\"description\":");
        match description.and_then(Val::str).filter(|d| !d.is_empty()) {
            Some(d) => push_raw(out, d),
            // Bedrock rejects empty descriptions: LiteLLM uses the name.
            None => out.extend_from_within(name_at..name_end),
        }
        out.extend_from_slice(b",\"inputSchema\":{\"json\":");
        push_schema(out, schema.filter(|s| s.is_obj()), fam.anthropic);
        out.extend_from_slice(b"}}}");
        if cache_wanted(cc, cache_ok) {
            comma(out, &mut n);
            out.extend_from_slice(CACHE_POINT);
        }
    }
    Ok(n)
}

/// `inputSchema.json` as LiteLLM's `BedrockToolSpec` builds it: only
/// `type` (`object` unless a valid JSON-schema root type), `properties`
/// (default `{}`) and `required` (default `[]`), plus `additionalProperties`
/// for Anthropic models. LiteLLM inlines `$defs` references first; here
/// `$defs` is kept beside them instead, so `$ref`s still resolve.
fn push_schema(out: &mut Vec<u8>, schema: Option<Val<'_>>, anthropic: bool) {
    const ROOT_TYPES: [&str; 7] = [
        "array", "boolean", "integer", "null", "number", "object", "string",
    ];
    let [ty, props, required, additional, defs] = schema.map_or([None; 5], |s| {
        s.fields(&[
            "type",
            "properties",
            "required",
            "additionalProperties",
            "$defs",
        ])
    });
    out.extend_from_slice(b"{\"type\":");
    match ty.filter(|t| t.str().is_some_and(|t| ROOT_TYPES.iter().any(|r| t.is(r)))) {
        Some(t) => out.extend_from_slice(t.0),
        None => out.extend_from_slice(b"\"object\""),
    }
    out.extend_from_slice(b",\"properties\":");
    out.extend_from_slice(props.map_or(&b"{}"[..], |p| p.0));
    out.extend_from_slice(b",\"required\":");
    out.extend_from_slice(required.map_or(&b"[]"[..], |r| r.0));
    if let Some(a) = additional.filter(|_| anthropic) {
        out.extend_from_slice(b",\"additionalProperties\":");
        out.extend_from_slice(a.0);
    }
    if let Some(d) = defs.filter(|d| d.is_obj()) {
        out.extend_from_slice(b",\"$defs\":");
        out.extend_from_slice(d.0);
    }
    out.push(b'}');
}

/// LiteLLM's `map_tool_choice_values`. `none` is dropped (LiteLLM raises
/// unless `drop_params`; the proxy's usual setting drops it).
fn tool_choice(tc: Val<'_>) -> Res<Option<ToolChoice<'_>>> {
    if let Some(s) = tc.str() {
        return if s.is("auto") {
            Ok(Some(ToolChoice::Auto))
        } else if s.is("required") {
            Ok(Some(ToolChoice::Any))
        } else if s.is("none") {
            Ok(None)
        } else {
            invalid(format!(
                "Bedrock doesn't support tool_choice={}. Supported tool_choice values=['auto', 'required', json object]. To drop it from the call, set `litellm.drop_params = True.",
                String::from_utf8_lossy(s.0)
            ))
        };
    }
    if tc.is_obj() {
        let name = tc
            .get("function")
            .and_then(|f| f.get_str("name"))
            .unwrap_or(Str(b""));
        return Ok(Some(ToolChoice::Tool(name)));
    }
    invalid("Bedrock doesn't support this tool_choice. Supported tool_choice values=['auto', 'required', json object].")
}

enum ToolChoice<'a> {
    Auto,
    Any,
    Tool(Str<'a>),
}

/// `reasoning_effort` as a legacy thinking budget (LiteLLM's
/// `AnthropicConfig.map_reasoning_effort` constants).
fn effort_budget(effort: Str<'_>) -> Res<Option<u64>> {
    Ok(Some(if effort.is("none") {
        return Ok(None);
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
    }))
}

/// Translates an OpenAI `/v1/chat/completions` body into a Converse body,
/// appended to `out`, with no model known (Anthropic rules; see
/// [`openai_to_converse_request_for`]).
pub fn openai_to_converse_request(
    body: &[u8],
    out: &mut Vec<u8>,
) -> Result<ReqInfo, TranslateError> {
    convert_request(body, Family::ANY, out)
}

/// Translates an OpenAI `/v1/chat/completions` body into a Converse body for
/// `model_id` (as [`route`] returns it), appended to `out`.
///
/// Mapped (LiteLLM's `AmazonConverseConfig`): leading system/developer
/// messages → `system` text blocks; later ones → a user turn opening with
/// LiteLLM's operator note (moved after the tool results they interrupt);
/// user text, images / files (`data:` URLs → `image` / `document` / `video`
/// blocks with `source.bytes`), Anthropic `document` parts; assistant text,
/// signed thinking (`reasoningContent`), `tool_calls` → `toolUse` with
/// `arguments` parsed into `input`; `tool` messages → `toolResult` blocks in
/// a user turn; consecutive same-role turns merged; tool ids sanitised and
/// de-duplicated; `cache_control` → `cachePoint` blocks;
/// `max_tokens` / `max_completion_tokens` → `inferenceConfig.maxTokens`,
/// `temperature`, `top_p` → `topP`, `stop` → `stopSequences`; `tools` →
/// `toolConfig.tools[].toolSpec`, `tool_choice` → `toolConfig.toolChoice`
/// (`auto`/`any`/`tool`, forced choices relaxed to `auto` when thinking);
/// `top_k`, `thinking`, `reasoning_effort` → `additionalModelRequestFields`
/// by model family; `guardrailConfig`, `performanceConfig`, `serviceTier` /
/// `service_tier`, `requestMetadata` → top-level blocks.
///
/// Dropped: `n`, penalties, `logit_bias`, `logprobs`, `seed`, `user`,
/// `response_format`, `parallel_tool_calls`, audio parts and any other key.
/// A `function`-role message, http(s) media, unsupported media types and
/// tool history without `tools` are errors, as in LiteLLM.
pub fn openai_to_converse_request_for(
    model_id: &str,
    body: &[u8],
    out: &mut Vec<u8>,
) -> Result<ReqInfo, TranslateError> {
    convert_request(body, Family::of(model_id), out)
}

fn convert_request(body: &[u8], fam: Family, out: &mut Vec<u8>) -> Res<ReqInfo> {
    rollback_on_err(out, |out| convert_request_inner(body, fam, out))
}

fn convert_request_inner(body: &[u8], fam: Family, out: &mut Vec<u8>) -> Res<ReqInfo> {
    let mut req = Req::default();
    let mut msgs: Vec<Msg<'_>> = Vec::new();
    let mut parts: Vec<OaPart<'_>> = Vec::new();
    read_root(body, |p, k| {
        if k.0 == b"messages" && p.peek() != Some(b'n') {
            req.has_messages = true;
            return parse_messages(p, &PART_KEYS, &mut msgs, &mut parts);
        }
        let v = p.value()?;
        let v = Some(v).filter(|v| !v.is_null());
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
            b"thinking" => req.thinking = v.filter(|t| t.is_obj()),
            b"reasoning_effort" => req.reasoning_effort = v,
            b"guardrailConfig" => req.guardrail_config = v.filter(|t| t.is_obj()),
            b"performanceConfig" => req.performance_config = v.filter(|t| t.is_obj()),
            b"serviceTier" | b"service_tier" => req.service_tier = v,
            b"requestMetadata" => req.request_metadata = v.filter(|t| t.is_obj()),
            _ => {}
        }
        Ok(())
    })?;
    if !req.has_messages {
        return Err(TranslateError::Missing("messages"));
    }
    let cache_ok = !fam.openai_gpt;
    let has_tools = req.tools.is_some_and(|t| t.elems().next().is_some());
    if !has_tools
        && msgs
            .iter()
            .any(|m| m.has_tool_calls() || m.role == Role::Tool)
    {
        return invalid(
            "Bedrock doesn't support tool calling without `tools=` param specified. Pass `tools=` param OR set `litellm.modify_params = True` // `litellm_settings::modify_params: True` to add dummy tool to the request.",
        );
    }

    let r = reasoning(&req, fam)?;
    out.push(b'{');
    let leading = msgs
        .iter()
        .position(|m| m.role != Role::System)
        .unwrap_or(msgs.len());
    let order = reorder(&msgs, leading, &parts);
    converse_messages(out, &msgs, &order, &parts, cache_ok)?;
    push_inference_config(out, &req, &r)?;
    push_additional_fields(out, &req, fam, &r)?;
    push_system(out, &msgs[..leading], &parts, cache_ok);
    push_config_blocks(out, &req);
    push_tool_config(out, &req, fam, r.on)?;
    if let Some(md) = req.request_metadata {
        out.extend_from_slice(b",\"requestMetadata\":");
        out.extend_from_slice(md.0);
    }
    out.push(b'}');
    Ok(ReqInfo {
        stream: req.stream,
        include_usage: req.stream && req.include_usage,
    })
}

/// How the request asks for reasoning, by model family (LiteLLM's
/// `map_openai_params` for `thinking` / `reasoning_effort`): an explicit
/// `thinking` wins over `reasoning_effort`.
struct Reasoning<'a> {
    /// An enabled Anthropic thinking budget (clamped to Bedrock's minimum).
    budget: Option<u64>,
    /// Any other Anthropic `thinking` object, forwarded as is.
    raw: Option<Val<'a>>,
    /// `reasoning_effort` forwarded in the family's own shape.
    effort: Option<Str<'a>>,
    /// Thinking is on (forced tool choices are relaxed to `auto`).
    on: bool,
}

fn reasoning<'a>(req: &Req<'a>, fam: Family) -> Res<Reasoning<'a>> {
    let mut thinking_budget: Option<u64> = None;
    let mut thinking_raw: Option<Val<'_>> = None;
    let mut extra_effort: Option<Str<'_>> = None;
    if fam.anthropic && !fam.deepseek {
        if let Some(t) = req.thinking {
            if t.get_str("type").is_some_and(|ty| ty.is("enabled")) {
                thinking_budget = Some(
                    t.get("budget_tokens")
                        .map_or(MIN_THINKING_BUDGET, Val::count),
                );
            } else {
                thinking_raw = Some(t);
            }
        } else if let Some(e) = req.reasoning_effort {
            let Some(e) = e.str() else {
                return invalid("'reasoning_effort' must be a string");
            };
            thinking_budget = effort_budget(e)?;
        }
    } else if let Some(e) = req.reasoning_effort.and_then(Val::str) {
        if !fam.deepseek_r1 && (fam.raw_effort || fam.openai_gpt || fam.nova2) {
            if fam.nova2 && !(e.is("low") || e.is("medium") || e.is("high")) {
                return invalid(format!(
                    "Invalid reasoning_effort value '{}' for Nova 2 models. Supported values: ['low', 'medium', 'high']",
                    String::from_utf8_lossy(e.0)
                ));
            }
            extra_effort = Some(e);
        }
    }
    if let Some(b) = thinking_budget.as_mut() {
        *b = (*b).max(MIN_THINKING_BUDGET);
    }
    let on = thinking_budget.is_some()
        || thinking_raw.is_some_and(|t| t.get_str("type").is_some_and(|ty| !ty.is("disabled")));
    Ok(Reasoning {
        budget: thinking_budget,
        raw: thinking_raw,
        effort: extra_effort,
        on,
    })
}

/// `inferenceConfig` (always present, possibly `{}`).
fn push_inference_config(out: &mut Vec<u8>, req: &Req<'_>, r: &Reasoning<'_>) -> Res<()> {
    out.extend_from_slice(b",\"inferenceConfig\":{");
    let mut n = 0;
    match req.max_tokens {
        Some(v) => {
            // An integral float (`100.0`) is sent as an integer; anything
            // else is the client's error.
            let x = v
                .num()
                .filter(|x| x.fract() == 0.0 && *x >= 0.0 && *x < 1e15);
            let Some(x) = x else {
                return invalid("'max_tokens' must be a non-negative integer");
            };
            comma(out, &mut n);
            out.extend_from_slice(b"\"maxTokens\":");
            push_u64(out, x as u64);
        }
        None => {
            if let Some(b) = r.budget {
                comma(out, &mut n);
                out.extend_from_slice(b"\"maxTokens\":");
                push_u64(out, b + DEFAULT_MAX_TOKENS);
            }
        }
    }
    for (key, v, name) in [
        (&b"\"temperature\":"[..], req.temperature, "temperature"),
        (&b"\"topP\":"[..], req.top_p, "top_p"),
    ] {
        if let Some(v) = v {
            if !v.is_num() {
                return invalid(format!("'{name}' must be a number"));
            }
            comma(out, &mut n);
            out.extend_from_slice(key);
            out.extend_from_slice(v.0);
        }
    }
    if let Some(stop) = req.stop {
        if let Some(s) = stop.str() {
            if !s.is_empty() {
                comma(out, &mut n);
                out.extend_from_slice(b"\"stopSequences\":[");
                push_raw(out, s);
                out.push(b']');
            }
        } else if stop.is_arr() {
            comma(out, &mut n);
            out.extend_from_slice(b"\"stopSequences\":");
            out.extend_from_slice(stop.0);
        } else {
            return invalid("'stop' must be a string or an array of strings");
        }
    }
    out.push(b'}');

    Ok(())
}

/// `additionalModelRequestFields` (omitted when empty): `top_k`, thinking
/// and reasoning effort in the shape the model family takes.
fn push_additional_fields(
    out: &mut Vec<u8>,
    req: &Req<'_>,
    fam: Family,
    r: &Reasoning<'_>,
) -> Res<()> {
    let mark = out.len();
    out.extend_from_slice(b",\"additionalModelRequestFields\":{");
    let mut n = 0;
    if let Some(k) = req.top_k {
        if !k.is_num() {
            return invalid("'top_k' must be a number");
        }
        if fam.anthropic {
            comma(out, &mut n);
            out.extend_from_slice(b"\"top_k\":");
            out.extend_from_slice(k.0);
        } else if fam.nova {
            comma(out, &mut n);
            out.extend_from_slice(b"\"inferenceConfig\":{\"topK\":");
            out.extend_from_slice(k.0);
            out.push(b'}');
        }
    }
    if let Some(b) = r.budget {
        comma(out, &mut n);
        out.extend_from_slice(b"\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":");
        push_u64(out, b);
        out.push(b'}');
    } else if let Some(t) = r.raw {
        comma(out, &mut n);
        out.extend_from_slice(b"\"thinking\":");
        out.extend_from_slice(t.0);
    }
    if let Some(e) = r.effort {
        comma(out, &mut n);
        if fam.nova2 {
            out.extend_from_slice(
                b"\"reasoningConfig\":{\"type\":\"enabled\",\"maxReasoningEffort\":",
            );
            push_raw(out, e);
            out.push(b'}');
        } else if fam.openai_gpt {
            out.extend_from_slice(b"\"reasoning\":{\"effort\":");
            push_raw(out, e);
            out.push(b'}');
        } else {
            out.extend_from_slice(b"\"reasoning_effort\":");
            push_raw(out, e);
        }
    }
    if n == 0 {
        out.truncate(mark);
    } else {
        out.push(b'}');
        if r.on {
            out.extend_from_slice(
                b",\"additionalModelResponseFieldPaths\":[\"/usage/output_tokens_details\"]",
            );
        }
    }

    Ok(())
}

/// `system`: the texts of the leading system messages (omitted when none).
fn push_system(out: &mut Vec<u8>, leading: &[Msg<'_>], parts: &[OaPart<'_>], cache_ok: bool) {
    let mark = out.len();
    out.extend_from_slice(b",\"system\":[");
    let mut n = 0;
    for m in leading {
        for (text, cc) in system_texts(m, parts) {
            comma(out, &mut n);
            out.extend_from_slice(b"{\"text\":");
            push_raw(out, text);
            out.push(b'}');
            if cache_wanted(cc, cache_ok) {
                out.push(b',');
                out.extend_from_slice(CACHE_POINT);
            }
        }
    }
    if n == 0 {
        out.truncate(mark);
    } else {
        out.push(b']');
    }
}

/// `guardrailConfig`, `performanceConfig`, `serviceTier` (OpenAI's
/// `service_tier` string mapped, Bedrock having no `auto`).
fn push_config_blocks(out: &mut Vec<u8>, req: &Req<'_>) {
    for (key, v) in [
        (&b",\"guardrailConfig\":"[..], req.guardrail_config),
        (&b",\"performanceConfig\":"[..], req.performance_config),
    ] {
        if let Some(v) = v {
            out.extend_from_slice(key);
            out.extend_from_slice(v.0);
        }
    }
    if let Some(tier) = req.service_tier {
        if tier.is_obj() {
            out.extend_from_slice(b",\"serviceTier\":");
            out.extend_from_slice(tier.0);
        } else if let Some(t) = tier.str() {
            // OpenAI's string form; Bedrock has no "auto".
            let t: &[u8] = if t.is("auto") { b"default" } else { t.0 };
            if matches!(t, b"default" | b"flex" | b"priority") {
                out.extend_from_slice(b",\"serviceTier\":{\"type\":\"");
                out.extend_from_slice(t);
                out.extend_from_slice(b"\"}");
            }
        }
    }
}

/// `toolConfig` (omitted when no tool survives).
fn push_tool_config(out: &mut Vec<u8>, req: &Req<'_>, fam: Family, thinking_on: bool) -> Res<()> {
    if let Some(tools) = req.tools {
        if !tools.is_arr() {
            return invalid("'tools' must be an array");
        }
        let mark = out.len();
        out.extend_from_slice(b",\"toolConfig\":{\"tools\":[");
        if converse_tools(out, tools, fam)? == 0 {
            out.truncate(mark);
        } else {
            out.push(b']');
            let choice = match req.tool_choice {
                Some(tc) => tool_choice(tc)?,
                None => None,
            };
            let choice = match choice {
                Some(ToolChoice::Any | ToolChoice::Tool(_)) if thinking_on => {
                    Some(ToolChoice::Auto)
                }
                c => c,
            };
            match choice {
                Some(ToolChoice::Auto) => out.extend_from_slice(b",\"toolChoice\":{\"auto\":{}}"),
                Some(ToolChoice::Any) => out.extend_from_slice(b",\"toolChoice\":{\"any\":{}}"),
                Some(ToolChoice::Tool(name)) => {
                    out.extend_from_slice(b",\"toolChoice\":{\"tool\":{\"name\":");
                    push_tool_name(out, name);
                    out.extend_from_slice(b"}}");
                }
                None => {}
            }
            out.push(b'}');
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Converse response -> OpenAI chat.completion
// ---------------------------------------------------------------------------

/// LiteLLM's `map_finish_reason` for Converse stop reasons.
fn finish_reason(stop: Option<Str<'_>>) -> &'static [u8] {
    match stop {
        Some(s) if s.is("max_tokens") => b"length",
        Some(s) if s.is("tool_use") => b"tool_calls",
        Some(s) if s.is("guardrail_intervened") || s.is("content_filtered") => b"content_filter",
        _ => b"stop",
    }
}

/// Converse usage in OpenAI terms (LiteLLM's `transform_usage`): prompt
/// tokens include cache reads and writes; `totalTokens` is Bedrock's own.
fn converse_usage(u: Option<Val<'_>>) -> (TokenUsage, Option<u64>) {
    let mut t = TokenUsage::default();
    let (mut input, mut total) = (0, None);
    if let Some(u) = u {
        for (k, v) in u.members() {
            match k.0 {
                b"inputTokens" => input = v.count(),
                b"outputTokens" => t.completion_tokens = v.count(),
                b"totalTokens" => total = Some(v.count()),
                b"cacheReadInputTokens" | b"cacheReadInputTokenCount" => {
                    t.cache_read_tokens = v.count()
                }
                b"cacheWriteInputTokens" | b"cacheWriteInputTokenCount" => {
                    t.cache_creation_tokens = v.count()
                }
                _ => {}
            }
        }
    }
    t.prompt_tokens = input + t.cache_read_tokens + t.cache_creation_tokens;
    (t, total)
}

/// A Bedrock error body (`{"message":"…"}`, also `Message`) as a client error.
fn bedrock_error(root: Val<'_>) -> Option<TranslateError> {
    let msg = root
        .get_str("message")
        .or_else(|| root.get_str("Message"))?;
    let text = msg
        .decoded()
        .map(|m| String::from_utf8_lossy(&m).into_owned());
    Some(TranslateError::Invalid(format!(
        "BedrockException - {}",
        text.unwrap_or_default()
    )))
}

/// Translates a Converse response into an OpenAI `chat.completion`,
/// appended to `out`, and returns its token usage: `id` a fresh
/// `chatcmpl-<uuid>`, `model` the client's name, `content` the text blocks
/// joined (`""` when there are none, as LiteLLM's Converse path writes),
/// `toolUse` blocks → `tool_calls` (`input` serialised into `arguments`),
/// `reasoningContent` → `reasoning_content` (joined) and `thinking_blocks`
/// (`thinking` with its signature, `redacted_thinking` with its data),
/// `stopReason` → `finish_reason` (`end_turn`/`stop_sequence` → `stop`,
/// `max_tokens` → `length`, `tool_use` → `tool_calls`,
/// `guardrail_intervened`/`content_filtered` → `content_filter`), usage
/// with cache reads and writes counted into `prompt_tokens`.
pub fn converse_to_openai_response(
    body: &[u8],
    client_model: &str,
    out: &mut Vec<u8>,
) -> Result<TokenUsage, TranslateError> {
    rollback_on_err(out, |out| converse_response_inner(body, client_model, out))
}

fn converse_response_inner(body: &[u8], client_model: &str, out: &mut Vec<u8>) -> Res<TokenUsage> {
    let root = parse_root(body)?;
    let [output, stop, usage] = root.fields(&["output", "stopReason", "usage"]);
    let Some(output) = output else {
        return Err(bedrock_error(root).unwrap_or(TranslateError::Missing("output")));
    };
    let blocks = output
        .get("message")
        .and_then(|m| m.get("content"))
        .filter(|c| c.is_arr());
    let blocks = || blocks.into_iter().flat_map(Val::elems);

    push_single_choice_head(out, client_model, finish_reason(stop.and_then(Val::str)));
    out.push(b'"');
    for t in blocks().filter_map(|b| b.get_str("text")) {
        out.extend_from_slice(t.0);
    }
    out.extend_from_slice(b"\",\"role\":\"assistant\"");
    let mut n = 0;
    for tu in blocks().filter_map(|b| b.get("toolUse")) {
        let [id, name, input] = tu.fields(&["toolUseId", "name", "input"]);
        out.extend_from_slice(if n == 0 { b",\"tool_calls\":[" } else { b"," });
        n += 1;
        push_tool_call_head(out, id.and_then(Val::str), name.and_then(Val::str));
        push_arguments(out, input);
        out.extend_from_slice(b"}}");
    }
    if n > 0 {
        out.push(b']');
    }
    let reasoning = || blocks().filter_map(|b| b.get("reasoningContent"));
    if reasoning().next().is_some() {
        out.extend_from_slice(b",\"reasoning_content\":\"");
        for t in reasoning().filter_map(|r| r.get("reasoningText").and_then(|t| t.get_str("text")))
        {
            out.extend_from_slice(t.0);
        }
        out.extend_from_slice(b"\",\"thinking_blocks\":[");
        let mut k = 0;
        for r in reasoning() {
            if let Some(t) = r.get("reasoningText") {
                comma(out, &mut k);
                out.extend_from_slice(b"{\"type\":\"thinking\"");
                let [text, sig] = t.fields(&["text", "signature"]);
                if let Some(text) = text.and_then(Val::str) {
                    out.extend_from_slice(b",\"thinking\":");
                    push_raw(out, text);
                }
                if let Some(sig) = sig.and_then(Val::str) {
                    out.extend_from_slice(b",\"signature\":");
                    push_raw(out, sig);
                }
                out.push(b'}');
            } else if let Some(d) = r.get("redactedContent") {
                comma(out, &mut k);
                out.extend_from_slice(b"{\"type\":\"redacted_thinking\",\"data\":");
                out.extend_from_slice(d.0);
                out.push(b'}');
            }
        }
        out.push(b']');
    }
    out.extend_from_slice(b"}}],\"usage\":");
    let (u, total) = converse_usage(usage);
    push_usage(out, u, total);
    out.push(b'}');
    Ok(u)
}

// ---------------------------------------------------------------------------
// AWS event stream (application/vnd.amazon.eventstream)
// ---------------------------------------------------------------------------

/// Why an event stream cannot be decoded further. The framing is lost after
/// any of these, so the stream must be abandoned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventStreamError {
    /// The prelude (first 8 bytes) does not match its CRC32.
    PreludeCrc,
    /// The message does not match its trailing CRC32.
    MessageCrc,
    /// A message longer than the decoder's bound (its declared length).
    TooLarge(usize),
    /// Lengths or headers that do not fit the message.
    Malformed(&'static str),
}

impl fmt::Display for EventStreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventStreamError::PreludeCrc => f.write_str("event stream prelude checksum mismatch"),
            EventStreamError::MessageCrc => f.write_str("event stream message checksum mismatch"),
            EventStreamError::TooLarge(n) => {
                write!(f, "event stream message of {n} bytes is too large")
            }
            EventStreamError::Malformed(w) => write!(f, "malformed event stream message: {w}"),
        }
    }
}

impl std::error::Error for EventStreamError {}

/// One decoded message; slices borrow the decoder's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventMessage<'a> {
    /// `:message-type`: `event`, `exception` or `error` (empty if absent).
    pub message_type: &'a [u8],
    /// `:event-type` for events, `:exception-type` for exceptions,
    /// `:error-code` for errors.
    pub event_type: &'a [u8],
    pub payload: &'a [u8],
}

/// Incremental decoder for the AWS event-stream framing: each message is a
/// 12-byte prelude (total length u32 BE, headers length u32 BE, CRC32 of the
/// first 8 bytes), headers, payload and a CRC32 of everything before it.
/// Both CRCs are checked; a message whose declared length exceeds
/// `max_message` is refused before it is buffered. Bytes are consumed as
/// messages are returned; the buffer holds at most one partial message plus
/// whatever one [`push`](Self::push) added.
#[derive(Debug)]
pub struct EventStreamDecoder {
    buf: Vec<u8>,
    /// Start of the unread bytes in `buf`.
    pos: usize,
    max_message: usize,
    failed: bool,
}

/// Prelude (12) + message CRC (4).
const MIN_MESSAGE: usize = 16;

impl EventStreamDecoder {
    pub fn new(max_message: usize) -> Self {
        EventStreamDecoder {
            buf: Vec::new(),
            pos: 0,
            max_message,
            failed: false,
        }
    }

    /// Adds received bytes (discarding those already decoded).
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed {
            return;
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet returned as messages.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next complete message, `None` when more bytes are needed. After
    /// an error the decoder returns `None` for good.
    // Not `Iterator::next`: each message borrows the decoder's buffer.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Result<EventMessage<'_>, EventStreamError>> {
        if self.failed {
            return None;
        }
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        match frame(rest, self.max_message) {
            Ok(None) => None,
            Ok(Some(len)) => {
                let start = self.pos;
                self.pos += len;
                let msg = &self.buf[start..start + len];
                match parse_message(msg) {
                    Ok(m) => Some(Ok(m)),
                    Err(e) => {
                        self.failed = true;
                        Some(Err(e))
                    }
                }
            }
            Err(e) => {
                self.failed = true;
                self.buf.clear();
                self.pos = 0;
                Some(Err(e))
            }
        }
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// The length of the complete, checksum-valid message at the start of `b`,
/// `None` if it is not all there yet.
fn frame(b: &[u8], max: usize) -> Result<Option<usize>, EventStreamError> {
    let (Some(total), Some(hlen), Some(crc)) = (be32(b, 0), be32(b, 4), be32(b, 8)) else {
        return Ok(None);
    };
    if crc32fast::hash(&b[..8]) != crc {
        return Err(EventStreamError::PreludeCrc);
    }
    let total = total as usize;
    if total > max {
        return Err(EventStreamError::TooLarge(total));
    }
    if total < MIN_MESSAGE || hlen as usize > total - MIN_MESSAGE {
        return Err(EventStreamError::Malformed("lengths do not fit"));
    }
    let Some(msg) = b.get(..total) else {
        return Ok(None);
    };
    let crc = be32(msg, total - 4).unwrap_or(0);
    if crc32fast::hash(&msg[..total - 4]) != crc {
        return Err(EventStreamError::MessageCrc);
    }
    Ok(Some(total))
}

/// Headers and payload of a framed, checked message.
fn parse_message(msg: &[u8]) -> Result<EventMessage<'_>, EventStreamError> {
    let bad = EventStreamError::Malformed("header does not fit");
    let hlen = be32(msg, 4).unwrap_or(0) as usize;
    let headers = msg.get(12..12 + hlen).ok_or(bad.clone())?;
    let payload = msg.get(12 + hlen..msg.len() - 4).ok_or(bad.clone())?;
    let mut m = EventMessage {
        message_type: b"",
        event_type: b"",
        payload,
    };
    let mut i = 0;
    while i < headers.len() {
        let nlen = usize::from(headers[i]);
        let name = headers.get(i + 1..i + 1 + nlen).ok_or(bad.clone())?;
        i += 1 + nlen;
        let ty = *headers.get(i).ok_or(bad.clone())?;
        i += 1;
        let vlen = match ty {
            0 | 1 => 0,
            2 => 1,
            3 => 2,
            4 => 4,
            5 | 8 => 8,
            9 => 16,
            6 | 7 => {
                let l = headers.get(i..i + 2).ok_or(bad.clone())?;
                i += 2;
                usize::from(u16::from_be_bytes([l[0], l[1]]))
            }
            _ => return Err(EventStreamError::Malformed("unknown header value type")),
        };
        let value = headers.get(i..i + vlen).ok_or(bad.clone())?;
        i += vlen;
        if ty == 7 {
            match name {
                b":message-type" => m.message_type = value,
                b":event-type" | b":exception-type" | b":error-code" => m.event_type = value,
                _ => {}
            }
        }
    }
    Ok(m)
}

// ---------------------------------------------------------------------------
// converse-stream events -> OpenAI chat.completion.chunk stream
// ---------------------------------------------------------------------------

/// The status LiteLLM gives each Converse stream exception (botocore's
/// model of the `ResponseStream` union).
fn exception_status(kind: &[u8]) -> u16 {
    match kind {
        b"validationException" => 400,
        b"modelTimeoutException" => 408,
        b"modelStreamErrorException" => 424,
        b"throttlingException" => 429,
        b"serviceUnavailableException" => 503,
        _ => 500,
    }
}

/// Turns `converse-stream` events into OpenAI `chat.completion.chunk`
/// events, one event at a time:
///
/// * `messageStart` → the first chunk, `{"content":"","role":"assistant"}`;
/// * `contentBlockStart` with `toolUse` → a `tool_calls` delta with `index`
///   (0-based over tool blocks), `id`, `type`, `name` and empty `arguments`;
///   with `reasoningContent.redactedContent` → a `redacted_thinking` block;
/// * `contentBlockDelta`: `text` → `content`; `toolUse.input` (a JSON
///   fragment string) → `arguments`; `reasoningContent.text` / `.signature`
///   → `reasoning_content` and `thinking_blocks`;
/// * `contentBlockStop` of a tool block that had no input → `"{}"`
///   arguments (LiteLLM's `check_empty_tool_call_args`);
/// * `messageStop` → the `finish_reason` chunk;
/// * `metadata` (the last event) → the usage chunk when `include_usage`,
///   then `data: [DONE]`;
/// * exceptions (see [`feed_message`](Self::feed_message), or an event type
///   ending in `Exception`) → `data: {"error": {...}}` with LiteLLM's status
///   for the exception, and the stream is over (no `[DONE]`).
///
/// Feed it each decoded message; [`feed`](Self::feed) errors on a payload
/// that is not JSON and writes nothing for it.
#[derive(Debug)]
pub struct ConverseToOpenAiStream {
    chunks: Chunks,
    tool_index: Option<u64>,
    in_tool: bool,
    tool_has_args: bool,
    usage: TokenUsage,
    total: Option<u64>,
}

impl ConverseToOpenAiStream {
    /// `client_model` is the name the client asked for; `include_usage` is
    /// [`ReqInfo::include_usage`].
    pub fn new(client_model: &str, include_usage: bool) -> Self {
        ConverseToOpenAiStream {
            chunks: Chunks::new(client_model, include_usage),
            tool_index: None,
            in_tool: false,
            tool_has_args: false,
            usage: TokenUsage::default(),
            total: None,
        }
    }

    /// Whether `[DONE]` (or a final error) has been written.
    pub fn is_done(&self) -> bool {
        self.chunks.is_done()
    }

    /// Token usage (complete after the `metadata` event).
    pub fn usage(&self) -> TokenUsage {
        self.usage
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        let (u, total) = (self.usage, self.total);
        self.chunks
            .end(out, b"stop", |out| push_usage(out, u, total));
    }

    /// Writes the mid-stream error event for a Bedrock exception and ends
    /// the stream. `kind` is the exception type, `payload` its body
    /// (`{"message":"…"}`).
    fn error(&mut self, out: &mut Vec<u8>, kind: &[u8], payload: &[u8]) {
        let status = exception_status(kind);
        out.extend_from_slice(b"data: {\"error\": {\"message\": \"BedrockException - ");
        push_escaped(out, kind);
        out.push(b' ');
        let msg = parse_root(payload).ok().and_then(|r| r.get_str("message"));
        match msg {
            Some(m) => out.extend_from_slice(m.0),
            None => push_escaped(
                out,
                &String::from_utf8_lossy(payload).into_owned().into_bytes(),
            ),
        }
        out.extend_from_slice(b"\", \"type\": ");
        push_quoted(out, kind);
        out.extend_from_slice(b", \"param\": null, \"code\": \"");
        push_u64(out, u64::from(status));
        out.extend_from_slice(b"\"}}\n\n");
        self.chunks.set_done();
    }

    /// Feeds one decoded event-stream message, whatever its message type:
    /// `exception` and `error` messages end the stream with an error event.
    pub fn feed_message(
        &mut self,
        msg: &EventMessage<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), TranslateError> {
        match msg.message_type {
            b"exception" | b"error" => {
                if !self.chunks.is_done() {
                    let kind = if msg.event_type.is_empty() {
                        &b"internalServerException"[..]
                    } else {
                        msg.event_type
                    };
                    self.error(out, kind, msg.payload);
                }
                Ok(())
            }
            _ => self.feed(msg.event_type, msg.payload, out),
        }
    }

    /// Feeds one event (`:event-type` and payload) and appends the OpenAI
    /// events it produces.
    pub fn feed(
        &mut self,
        event_type: &[u8],
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), TranslateError> {
        if self.chunks.is_done() {
            return Ok(());
        }
        if event_type.ends_with(b"Exception") {
            self.error(out, event_type, payload);
            return Ok(());
        }
        let root = parse_root(payload)?;
        match event_type {
            b"messageStart" => self.chunks.role(out),
            b"contentBlockStart" => {
                let start = root.get("start");
                if let Some(tu) = start.and_then(|s| s.get("toolUse")) {
                    let index = self.tool_index.map_or(0, |i| i + 1);
                    self.tool_index = Some(index);
                    self.in_tool = true;
                    self.tool_has_args = false;
                    let [id, name] = tu.fields(&["toolUseId", "name"]);
                    let (id, name) = (id.and_then(Val::str), name.and_then(Val::str));
                    self.chunks.tool_start(out, index, id, name, Str(b""));
                } else if let Some(rc) = start.and_then(|s| s.get("reasoningContent")) {
                    self.reasoning(out, rc);
                }
            }
            b"contentBlockDelta" => {
                let Some(d) = root.get("delta") else {
                    return Ok(());
                };
                let [text, tool_use, rc] = d.fields(&["text", "toolUse", "reasoningContent"]);
                if let Some(t) = text.and_then(Val::str).filter(|t| !t.is_empty()) {
                    self.chunks.content(out, t);
                } else if let Some(input) = tool_use.and_then(|t| t.get_str("input")) {
                    if !input.is_empty() {
                        self.tool_has_args = true;
                        self.chunks
                            .tool_args(out, self.tool_index.unwrap_or(0), input.0);
                    }
                } else if let Some(rc) = rc {
                    self.reasoning(out, rc);
                }
            }
            b"contentBlockStop" => {
                if self.in_tool && !self.tool_has_args {
                    self.chunks
                        .tool_args(out, self.tool_index.unwrap_or(0), b"{}");
                }
                self.in_tool = false;
            }
            b"messageStop" => {
                let reason = finish_reason(root.get_str("stopReason"));
                self.chunks.finish(out, reason);
            }
            b"metadata" => {
                let (u, total) = converse_usage(root.get("usage"));
                self.usage = u;
                self.total = total;
                self.end(out);
            }
            _ => {} // event types added later
        }
        Ok(())
    }

    /// A `reasoningContent` start or delta: text, signature or redacted data.
    fn reasoning(&mut self, out: &mut Vec<u8>, rc: Val<'_>) {
        let [text, sig, redacted] = rc.fields(&["text", "signature", "redactedContent"]);
        if let Some(t) = text.and_then(Val::str) {
            self.chunks.thinking(out, t);
        } else if let Some(s) = sig.and_then(Val::str) {
            self.chunks.signature(out, s);
        } else if let Some(r) = redacted {
            self.chunks.delta(out, |out| {
                out.extend_from_slice(b"\"reasoning_content\":\"\",\"thinking_blocks\":[{\"type\":\"redacted_thinking\",\"data\":");
                out.extend_from_slice(r.0);
                out.extend_from_slice(b"}]");
            });
        }
    }

    /// Call when the upstream ended without a `metadata` event: writes the
    /// finish chunk, the usage chunk if asked for, and `[DONE]` if they are
    /// not out yet.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.chunks.is_done() {
            self.end(out);
        }
    }
}

// ---------------------------------------------------------------------------
// Anthropic on Bedrock (invoke)
// ---------------------------------------------------------------------------

/// The `anthropic_version` Bedrock's invoke API requires.
pub const BEDROCK_ANTHROPIC_VERSION: &str = "bedrock-2023-05-31";

/// Turns an Anthropic Messages body (from
/// [`crate::anthropic::openai_to_anthropic_request`]) into an invoke body:
/// `model` and `stream` removed (the path and the operation carry them),
/// `"anthropic_version":"bedrock-2023-05-31"` added unless present, every
/// other member copied as it is.
pub fn anthropic_invoke_body(
    anthropic_body: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), TranslateError> {
    anthropic_partner_body(anthropic_body, BEDROCK_ANTHROPIC_VERSION, false, out)
}

/// An Anthropic Messages body for a cloud that names the model in the URL
/// (Bedrock invoke, Vertex AI `rawPredict`): `model` removed, `stream` kept
/// only when `keep_stream` (Vertex wants it in the body, Bedrock's
/// operation says it), `anthropic_version` set to `version` unless present.
pub fn anthropic_partner_body(
    anthropic_body: &[u8],
    version: &str,
    keep_stream: bool,
    out: &mut Vec<u8>,
) -> Result<(), TranslateError> {
    let root = parse_root(anthropic_body)?;
    out.push(b'{');
    let mut n = 0;
    let mut has_version = false;
    for (k, v) in root.members() {
        if k.is("model") || (k.is("stream") && !keep_stream) {
            continue;
        }
        has_version |= k.is("anthropic_version");
        comma(out, &mut n);
        push_raw(out, k);
        out.push(b':');
        out.extend_from_slice(v.0);
    }
    if !has_version {
        comma(out, &mut n);
        out.extend_from_slice(b"\"anthropic_version\":\"");
        out.extend_from_slice(version.as_bytes());
        out.push(b'"');
    }
    out.push(b'}');
    Ok(())
}

/// An `invoke-with-response-stream` `chunk` event payload
/// (`{"bytes":"<base64 of an Anthropic stream event JSON>"}`) as the SSE
/// text `event: <type>\ndata: <json>\n\n` that
/// [`crate::anthropic::AnthropicToOpenAiStream::feed`] accepts. A payload
/// without `bytes` writes nothing.
pub fn invoke_chunk_to_sse(payload: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
    let root = parse_root(payload)?;
    let Some(b64) = root.get_str("bytes") else {
        return Ok(());
    };
    let mut json = Vec::with_capacity(b64.0.len() * 3 / 4);
    let raw = b64.decoded().unwrap_or(Cow::Borrowed(b64.0));
    if base64::engine::general_purpose::STANDARD
        .decode_vec(&*raw, &mut json)
        .is_err()
    {
        return invalid("Bedrock stream chunk: 'bytes' is not valid base64");
    }
    let event = parse_root(&json)?;
    let ty = event.get_str("type").unwrap_or(Str(b"message"));
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(ty.0);
    out.extend_from_slice(b"\ndata: ");
    // SSE data may not contain raw newlines: keep the JSON on one line
    // (whitespace between tokens only; strings cannot hold raw newlines).
    out.extend(
        json.iter()
            .map(|&c| if c == b'\n' || c == b'\r' { b' ' } else { c }),
    );
    out.extend_from_slice(b"\n\n");
    Ok(())
}

// ---------------------------------------------------------------------------
// Embeddings
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EmbedKind {
    TitanG1,
    TitanV2,
    Cohere,
}

fn embed_kind(model_id: &str) -> Res<EmbedKind> {
    let m = model_id.strip_prefix("bedrock/").unwrap_or(model_id);
    let base = base_model(m);
    match base {
        "amazon.titan-embed-text-v1" | "amazon.titan-embed-g1-text-02" => Ok(EmbedKind::TitanG1),
        "amazon.titan-embed-text-v2:0" => Ok(EmbedKind::TitanV2),
        b if b.starts_with("cohere.") => Ok(EmbedKind::Cohere),
        _ => invalid(format!(
            "Unmapped model. Received={model_id}. Expected one of ['amazon.titan-embed-text-v1', 'amazon.titan-embed-text-v2:0', 'amazon.titan-embed-g1-text-02', 'cohere.embed-*']"
        )),
    }
}

/// An OpenAI `/v1/embeddings` body as the invoke body for `model_id`:
/// Titan text (`amazon.titan-embed-text-v1`, `-g1-text-02`, `-v2:0`) takes
/// one `{"inputText":…}` per request (v2 also `dimensions`, `normalize`, and
/// `encoding_format` as `embeddingTypes`), so a list of more than one input
/// is refused (LiteLLM sends one request per input; a caller may split);
/// Cohere takes `{"texts":[…],"input_type":"search_document"}` (or the
/// client's `input_type`), `dimensions` → `output_dimension`,
/// `encoding_format` → `embedding_types`, `truncate` passed through.
pub fn openai_to_bedrock_embed_request(
    model_id: &str,
    body: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), TranslateError> {
    let kind = embed_kind(model_id)?;
    let root = parse_root(body)?;
    let [input, dims, normalize, enc, input_type, truncate] = root.fields(&[
        "input",
        "dimensions",
        "normalize",
        "encoding_format",
        "input_type",
        "truncate",
    ]);
    let Some(input) = input else {
        return Err(TranslateError::Missing("input"));
    };
    let texts: Vec<Str<'_>> = if let Some(s) = input.str() {
        vec![s]
    } else if input.is_arr() {
        let mut v = Vec::new();
        for e in input.elems() {
            match e.str() {
                Some(s) => v.push(s),
                None => {
                    return invalid(
                        "Bedrock embeddings: 'input' must be a string or a list of strings",
                    )
                }
            }
        }
        v
    } else {
        return invalid("Bedrock embeddings: 'input' must be a string or a list of strings");
    };
    if texts.is_empty() {
        return invalid("Bedrock embeddings: 'input' must not be empty");
    }
    let enc = enc.and_then(Val::str);
    let mark = out.len();
    match kind {
        EmbedKind::TitanG1 | EmbedKind::TitanV2 => {
            if texts.len() > 1 {
                return invalid(format!(
                    "Bedrock Titan embedding models take one input per request; got {} inputs. Send one request per input.",
                    texts.len()
                ));
            }
            out.extend_from_slice(b"{\"inputText\":");
            push_raw(out, texts[0]);
            if kind == EmbedKind::TitanV2 {
                if let Some(d) = dims {
                    if !d.is_num() {
                        out.truncate(mark);
                        return invalid("'dimensions' must be an integer");
                    }
                    out.extend_from_slice(b",\"dimensions\":");
                    out.extend_from_slice(d.0);
                }
                if let Some(b) = normalize.and_then(Val::bool) {
                    out.extend_from_slice(if b {
                        b",\"normalize\":true"
                    } else {
                        b",\"normalize\":false"
                    });
                }
                if let Some(e) = enc {
                    out.extend_from_slice(if e.is("base64") {
                        b",\"embeddingTypes\":[\"binary\"]"
                    } else {
                        b",\"embeddingTypes\":[\"float\"]"
                    });
                }
            }
            out.push(b'}');
        }
        EmbedKind::Cohere => {
            out.extend_from_slice(b"{\"texts\":[");
            let mut n = 0;
            for t in &texts {
                comma(out, &mut n);
                push_raw(out, *t);
            }
            out.extend_from_slice(b"],\"input_type\":");
            match input_type.and_then(Val::str) {
                Some(t) => push_raw(out, t),
                None => out.extend_from_slice(b"\"search_document\""),
            }
            if let Some(d) = dims {
                if !d.is_num() {
                    out.truncate(mark);
                    return invalid("'dimensions' must be an integer");
                }
                out.extend_from_slice(b",\"output_dimension\":");
                out.extend_from_slice(d.0);
            }
            if let Some(e) = enc {
                // LiteLLM asks for floats when the client wants base64.
                out.extend_from_slice(b",\"embedding_types\":[");
                if e.is("base64") {
                    out.extend_from_slice(b"\"float\"");
                } else {
                    push_raw(out, e);
                }
                out.push(b']');
            }
            if let Some(t) = truncate.and_then(Val::str) {
                out.extend_from_slice(b",\"truncate\":");
                push_raw(out, t);
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// A Bedrock embedding answer as OpenAI's
/// `{"object":"list","data":[{"object":"embedding","index":…,"embedding":[…]}],"model":…,"usage":{…}}`.
/// Titan: `embedding` (or `embeddingsByType.binary` / `.float`), usage from
/// `inputTextTokenCount`. Cohere: `embeddings` as a list of vectors or a
/// by-type object, usage from `meta.billed_units.input_tokens` when present,
/// else 0 (LiteLLM counts with a local tokenizer there).
pub fn bedrock_to_openai_embed_response(
    model_id: &str,
    body: &[u8],
    client_model: &str,
    out: &mut Vec<u8>,
) -> Result<(), TranslateError> {
    let kind = embed_kind(model_id)?;
    let root = parse_root(body)?;
    let mark = out.len();
    out.extend_from_slice(b"{\"object\":\"list\",\"data\":[");
    let mut n = 0;
    let mut item = |out: &mut Vec<u8>, index: usize, v: Val<'_>| {
        comma(out, &mut n);
        out.extend_from_slice(b"{\"object\":\"embedding\",\"index\":");
        push_u64(out, index as u64);
        out.extend_from_slice(b",\"embedding\":");
        out.extend_from_slice(v.0);
        out.push(b'}');
    };
    let tokens = match kind {
        EmbedKind::TitanG1 | EmbedKind::TitanV2 => {
            let [emb, by_type, count] =
                root.fields(&["embedding", "embeddingsByType", "inputTextTokenCount"]);
            let by = |k: &str| by_type.and_then(|b| b.get(k)).filter(|v| v.is_arr());
            let Some(v) = by("binary")
                .or_else(|| by("float"))
                .or(emb.filter(|e| e.is_arr()))
            else {
                out.truncate(mark);
                return Err(bedrock_error(root).unwrap_or(TranslateError::Missing("embedding")));
            };
            item(out, 0, v);
            count.map_or(0, Val::count)
        }
        EmbedKind::Cohere => {
            let [embs, meta] = root.fields(&["embeddings", "meta"]);
            let Some(embs) = embs else {
                out.truncate(mark);
                return Err(bedrock_error(root).unwrap_or(TranslateError::Missing("embeddings")));
            };
            if embs.is_arr() {
                for (i, v) in embs.elems().enumerate() {
                    item(out, i, v);
                }
            } else {
                for (_, list) in embs.members() {
                    for (i, v) in list.elems().enumerate() {
                        item(out, i, v);
                    }
                }
            }
            meta.and_then(|m| m.get("billed_units"))
                .and_then(|b| b.get("input_tokens"))
                .map_or(0, Val::count)
        }
    };
    out.extend_from_slice(b"],\"model\":");
    push_quoted(out, client_model.as_bytes());
    out.extend_from_slice(b",\"usage\":{\"prompt_tokens\":");
    push_u64(out, tokens);
    out.extend_from_slice(b",\"completion_tokens\":0,\"total_tokens\":");
    push_u64(out, tokens);
    out.extend_from_slice(b"}}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};
    use std::time::Duration;

    fn j(b: &[u8]) -> Value {
        match serde_json::from_slice(b) {
            Ok(v) => v,
            Err(e) => panic!("invalid JSON output ({e}): {}", String::from_utf8_lossy(b)),
        }
    }

    fn conv(req: &Value, model: Option<&str>) -> (Value, ReqInfo) {
        let body = serde_json::to_vec(req).unwrap();
        let mut out = Vec::new();
        let info = match model {
            Some(m) => openai_to_converse_request_for(m, &body, &mut out),
            None => openai_to_converse_request(&body, &mut out),
        }
        .unwrap_or_else(|e| panic!("translation failed: {e}"));
        (j(&out), info)
    }

    fn conv_err(req: &Value) -> String {
        let body = serde_json::to_vec(req).unwrap();
        let mut out = b"keep".to_vec();
        let e = openai_to_converse_request(&body, &mut out).unwrap_err();
        assert_eq!(out, b"keep", "output rolled back on error");
        e.to_string()
    }

    // ---- SigV4 -------------------------------------------------------------

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// 2015-08-30T12:36:00Z, the date of AWS's SigV4 test suite.
    const SUITE_TIME: u64 = 1_440_938_160;
    const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn suite_creds(token: Option<&str>) -> AwsCredentials {
        AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: SUITE_SECRET.into(),
            session_token: token.map(str::to_owned),
            region: "us-east-1".into(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn signed(
        c: &AwsCredentials,
        service: &str,
        method: &str,
        host: &str,
        path: &str,
        query: &str,
        ct: &str,
        body: &[u8],
    ) -> String {
        let mut out = Vec::new();
        sign(
            c,
            service,
            method,
            host,
            path,
            query,
            ct,
            body,
            at(SUITE_TIME),
            &mut out,
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn signing_key_matches_aws_documented_examples() {
        // AWS's "derive a signing key" examples (secret as above, us-east-1,
        // iam): 20150830 in the current guide, 20120215 in the older one.
        let hex = |t: hmac::Tag| {
            let mut v = Vec::new();
            push_hex(&mut v, t.as_ref());
            String::from_utf8(v).unwrap()
        };
        assert_eq!(
            hex(signing_key(SUITE_SECRET, b"20150830", "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
        assert_eq!(
            hex(signing_key(SUITE_SECRET, b"20120215", "us-east-1", "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn amz_dates_are_utc_civil_time() {
        let s = |t| {
            let (d, st) = amz_dates(at(t));
            (
                String::from_utf8(d.to_vec()).unwrap(),
                String::from_utf8(st.to_vec()).unwrap(),
            )
        };
        assert_eq!(
            s(SUITE_TIME),
            ("20150830".into(), "20150830T123600Z".into())
        );
        assert_eq!(s(0), ("19700101".into(), "19700101T000000Z".into()));
        assert_eq!(
            s(951_868_799),
            ("20000229".into(), "20000229T235959Z".into())
        );
        assert_eq!(
            s(4_107_542_400),
            ("21000301".into(), "21000301T000000Z".into())
        );
    }

    #[test]
    fn sigv4_test_suite_vectors() {
        // AWS's aws-sig-v4-test-suite (service "service", us-east-1,
        // 20150830T123600Z); the same values come out of botocore.
        let c = suite_creds(None);
        let head = "x-amz-date: 20150830T123600Z\r\nauthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ";
        let h = "example.amazonaws.com";
        assert_eq!(
            signed(&c, "service", "GET", h, "/", "", "", b""),
            format!("{head}SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\r\n"),
            "get-vanilla"
        );
        assert_eq!(
            signed(&c, "service", "POST", h, "/", "", "", b""),
            format!("{head}SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b\r\n"),
            "post-vanilla"
        );
        assert_eq!(
            signed(&c, "service", "POST", h, "/", "", "application/x-www-form-urlencoded", b"Param1=value1"),
            format!("{head}SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a\r\n"),
            "post-x-www-form-urlencoded"
        );
        assert_eq!(
            signed(&c, "service", "GET", h, "/", "Param2=value2&Param1=value1", "", b""),
            format!("{head}SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500\r\n"),
            "get-vanilla-query-order-key-case"
        );
    }

    #[test]
    fn sigv4_bedrock_request_with_session_token() {
        // Expected value computed with botocore's SigV4Auth (what LiteLLM
        // uses) for the same request: the path carries `%3A`, which the
        // canonical URI encodes again.
        let c = suite_creds(Some("TOKEN"));
        let path = model_path("anthropic.claude-3-haiku-20240307-v1:0", "converse");
        assert_eq!(
            path,
            "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
        );
        let got = signed(
            &c,
            "bedrock",
            "POST",
            "bedrock-runtime.us-east-1.amazonaws.com",
            &path,
            "",
            "application/json",
            br#"{"messages":[]}"#,
        );
        assert_eq!(
            got,
            "x-amz-date: 20150830T123600Z\r\nx-amz-security-token: TOKEN\r\nauthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=faae63daca2af6513e728b7ff343f62f05eb8aa801865a900fcf6fdf582d2b67\r\n"
        );
    }

    #[test]
    fn canonical_query_sorts_and_encodes() {
        assert_eq!(canonical_query(""), "");
        assert_eq!(canonical_query("b=2&a=1&a=0"), "a=0&a=1&b=2");
        assert_eq!(canonical_query("k=a b&x=%2F&flag"), "flag=&k=a%20b&x=%2F");
    }

    // ---- credentials, routing, paths --------------------------------------

    #[test]
    fn credentials_resolve_like_litellm() {
        let env = |k: &str| match k {
            "AWS_ACCESS_KEY_ID" => Some("ENVKEY".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("ENVSECRET".to_owned()),
            "AWS_REGION" => Some("eu-west-1".to_owned()),
            "AWS_DEFAULT_REGION" => Some("ap-south-1".to_owned()),
            _ => None,
        };
        let c = AwsCredentials::resolve(None, None, None, None, env).unwrap();
        assert_eq!(
            (
                c.access_key_id.as_str(),
                c.secret_access_key.as_str(),
                c.region.as_str()
            ),
            ("ENVKEY", "ENVSECRET", "eu-west-1")
        );
        assert_eq!(c.session_token, None);
        let c = AwsCredentials::resolve(Some("K"), Some("S"), Some("T"), Some("us-east-2"), env)
            .unwrap();
        assert_eq!(
            (
                c.access_key_id.as_str(),
                c.session_token.as_deref(),
                c.region.as_str()
            ),
            ("K", Some("T"), "us-east-2")
        );
        assert!(!format!("{c:?}").contains('S') || !format!("{c:?}").contains("\"S\""));
        let none = |_: &str| None;
        let c = AwsCredentials::resolve(Some("K"), Some("S"), None, None, none).unwrap();
        assert_eq!(c.region, DEFAULT_REGION);
        let e = AwsCredentials::resolve(Some("K"), None, None, None, none).unwrap_err();
        assert!(
            e.contains("aws_secret_access_key") && !e.contains("aws_access_key_id"),
            "{e}"
        );
        let e = AwsCredentials::resolve(None, None, None, None, none).unwrap_err();
        assert!(
            e.contains("aws_access_key_id") && e.contains("aws_secret_access_key"),
            "{e}"
        );
        assert!(
            AwsCredentials::resolve(Some("K"), Some("S"), None, Some("US_EAST"), none).is_err()
        );
        assert!(AwsCredentials::resolve(Some("K"), Some("S"), Some("a\r\nb"), None, none).is_err());
        assert_eq!(
            region_from_arn("arn:aws:bedrock:eu-central-1:123:inference-profile/x"),
            Some("eu-central-1")
        );
        assert_eq!(region_from_arn("anthropic.claude-v2"), None);
    }

    #[test]
    fn routing_matches_litellm() {
        use BedrockApi::*;
        // Expected values from LiteLLM 1.106.2's BedrockModelInfo.get_bedrock_route.
        let cases = [
            ("bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0", Converse, "anthropic.claude-3-5-sonnet-20240620-v1:0"),
            ("us.anthropic.claude-sonnet-4-20250514-v1:0", Converse, "us.anthropic.claude-sonnet-4-20250514-v1:0"),
            ("anthropic.claude-instant-v1", Converse, "anthropic.claude-instant-v1"),
            ("bedrock/converse/foo", Converse, "foo"),
            ("invoke/anthropic.claude-3-haiku-20240307-v1:0", InvokeAnthropic, "anthropic.claude-3-haiku-20240307-v1:0"),
            ("bedrock/invoke/us.anthropic.claude-3-haiku-20240307-v1:0", InvokeAnthropic, "us.anthropic.claude-3-haiku-20240307-v1:0"),
            ("anthropic.claude-future-9", InvokeAnthropic, "anthropic.claude-future-9"),
            ("amazon.titan-text-express-v1", InvokeOther, "amazon.titan-text-express-v1"),
            ("meta.llama2-13b-chat-v1", InvokeOther, "meta.llama2-13b-chat-v1"),
            ("cohere.command-r-v1:0", InvokeOther, "cohere.command-r-v1:0"),
            ("arn:aws:bedrock:us-east-1:123:application-inference-profile/abc", Converse, "arn:aws:bedrock:us-east-1:123:application-inference-profile/abc"),
            ("arn:aws:bedrock:us-east-1:123:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0", Converse, "arn:aws:bedrock:us-east-1:123:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0"),
            ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", Converse, "global.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            ("us.amazon.nova-lite-v1:0", Converse, "us.amazon.nova-lite-v1:0"),
            ("openai.gpt-oss-20b-1:0", Converse, "openai.gpt-oss-20b-1:0"),
            ("us.deepseek.r1-v1:0", Converse, "us.deepseek.r1-v1:0"),
            ("nova/arn:aws:bedrock:us-east-1:1:custom-model/x", Converse, "arn:aws:bedrock:us-east-1:1:custom-model/x"),
            ("anthropic.claude-3-5-sonnet-20240620-v1:0:51k", Converse, "anthropic.claude-3-5-sonnet-20240620-v1:0:51k"),
        ];
        for (model, api, id) in cases {
            assert_eq!(route(model), (api, id), "{model}");
        }
        assert_eq!(
            model_path("arn:aws:bedrock:us-east-1:123:application-inference-profile/abc", "converse-stream"),
            "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123%3Aapplication-inference-profile%2Fabc/converse-stream"
        );
    }

    // ---- event stream -------------------------------------------------------

    /// A tiny event-stream encoder (string headers only, or raw header bytes).
    fn encode(headers: &[(&str, &str)], extra_headers: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut h = Vec::new();
        for (k, v) in headers {
            h.push(k.len() as u8);
            h.extend_from_slice(k.as_bytes());
            h.push(7);
            h.extend_from_slice(&(v.len() as u16).to_be_bytes());
            h.extend_from_slice(v.as_bytes());
        }
        h.extend_from_slice(extra_headers);
        let total = 12 + h.len() + payload.len() + 4;
        let mut m = Vec::new();
        m.extend_from_slice(&(total as u32).to_be_bytes());
        m.extend_from_slice(&(h.len() as u32).to_be_bytes());
        let c = crc32fast::hash(&m);
        m.extend_from_slice(&c.to_be_bytes());
        m.extend_from_slice(&h);
        m.extend_from_slice(payload);
        let c = crc32fast::hash(&m);
        m.extend_from_slice(&c.to_be_bytes());
        m
    }

    fn event(ty: &str, payload: &str) -> Vec<u8> {
        encode(
            &[
                (":event-type", ty),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            &[],
            payload.as_bytes(),
        )
    }

    type Owned = (Vec<u8>, Vec<u8>, Vec<u8>);

    fn decode_all(
        d: &mut EventStreamDecoder,
        got: &mut Vec<Owned>,
    ) -> Result<(), EventStreamError> {
        while let Some(m) = d.next() {
            let m = m?;
            got.push((
                m.message_type.to_vec(),
                m.event_type.to_vec(),
                m.payload.to_vec(),
            ));
        }
        Ok(())
    }

    #[test]
    fn event_stream_fixed_vector() {
        // Built by an independent Python encoder and checked with botocore's
        // EventStreamBuffer.
        let hex = "0000009f00000057c37babff0b3a6576656e742d74797065070011636f6e74656e74426c6f636b44656c74610d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d747970650700056576656e747b22636f6e74656e74426c6f636b496e646578223a302c2264656c7461223a7b2274657874223a224869227d2c2270223a2261626364227df2ace5ff";
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(
            bytes,
            event(
                "contentBlockDelta",
                r#"{"contentBlockIndex":0,"delta":{"text":"Hi"},"p":"abcd"}"#
            )
        );
        let mut d = EventStreamDecoder::new(1 << 20);
        d.push(&bytes);
        let m = d.next().unwrap().unwrap();
        assert_eq!(m.message_type, b"event");
        assert_eq!(m.event_type, b"contentBlockDelta");
        assert_eq!(
            m.payload,
            br#"{"contentBlockIndex":0,"delta":{"text":"Hi"},"p":"abcd"}"#
        );
        assert!(d.next().is_none());
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn event_stream_decodes_across_every_split_point() {
        // Every header value type (0-9) present so all are skipped right.
        let mut extra = Vec::new();
        for (ty, val) in [
            (0u8, &[][..]),
            (1, &[]),
            (2, &[7]),
            (3, &[0, 1]),
            (4, &[0, 0, 0, 1]),
            (5, &[0; 8]),
            (6, &[0, 3, 1, 2, 3]),
            (8, &[0; 8]),
            (9, &[0xab; 16]),
        ] {
            extra.extend_from_slice(&[2, b'x', b'0' + ty, ty]);
            extra.extend_from_slice(val);
        }
        let mut stream = encode(
            &[(":message-type", "event"), (":event-type", "a")],
            &extra,
            b"one",
        );
        stream.extend(encode(
            &[(":message-type", "event"), (":event-type", "b")],
            &[],
            b"",
        ));
        stream.extend(encode(
            &[
                (":message-type", "exception"),
                (":exception-type", "throttlingException"),
            ],
            &[],
            br#"{"message":"slow down"}"#,
        ));
        let want: Vec<Owned> = vec![
            (b"event".to_vec(), b"a".to_vec(), b"one".to_vec()),
            (b"event".to_vec(), b"b".to_vec(), b"".to_vec()),
            (
                b"exception".to_vec(),
                b"throttlingException".to_vec(),
                br#"{"message":"slow down"}"#.to_vec(),
            ),
        ];
        for split in 0..=stream.len() {
            for split2 in [split, (split + 7).min(stream.len())] {
                let mut d = EventStreamDecoder::new(1024);
                let mut got = Vec::new();
                for chunk in [&stream[..split], &stream[split..split2], &stream[split2..]] {
                    d.push(chunk);
                    decode_all(&mut d, &mut got).unwrap();
                }
                assert_eq!(got, want, "split at {split}/{split2}");
                assert_eq!(d.pending(), 0);
            }
        }
        // One byte at a time: the buffer never holds more than one message.
        let mut d = EventStreamDecoder::new(1024);
        let mut got = Vec::new();
        for b in &stream {
            d.push(std::slice::from_ref(b));
            decode_all(&mut d, &mut got).unwrap();
            assert!(d.buf.len() < 200);
        }
        assert_eq!(got, want);
    }

    #[test]
    fn event_stream_rejects_bad_crcs_sizes_and_headers() {
        let good = event("metadata", "{}");
        // Prelude CRC.
        let mut bad = good.clone();
        bad[9] ^= 1;
        let mut d = EventStreamDecoder::new(1024);
        d.push(&bad);
        assert_eq!(d.next().unwrap().unwrap_err(), EventStreamError::PreludeCrc);
        assert!(d.next().is_none(), "a failed decoder stays failed");
        d.push(&good);
        assert!(d.next().is_none());
        // Message CRC (payload byte flipped).
        let mut bad = good.clone();
        let n = bad.len();
        bad[n - 6] ^= 1;
        let mut d = EventStreamDecoder::new(1024);
        d.push(&bad);
        assert_eq!(d.next().unwrap().unwrap_err(), EventStreamError::MessageCrc);
        // Oversized: refused from the prelude alone, before buffering it.
        let big = event("x", &"a".repeat(600));
        let mut d = EventStreamDecoder::new(512);
        d.push(&big[..12]);
        assert_eq!(
            d.next().unwrap().unwrap_err(),
            EventStreamError::TooLarge(big.len())
        );
        // Headers length larger than the message.
        let mut m = Vec::new();
        m.extend_from_slice(&16u32.to_be_bytes());
        m.extend_from_slice(&5u32.to_be_bytes());
        let c = crc32fast::hash(&m);
        m.extend_from_slice(&c.to_be_bytes());
        let c = crc32fast::hash(&m);
        m.extend_from_slice(&c.to_be_bytes());
        let mut d = EventStreamDecoder::new(1024);
        d.push(&m);
        assert!(matches!(
            d.next(),
            Some(Err(EventStreamError::Malformed(_)))
        ));
        // A header running past its block, and an unknown value type.
        for extra in [&[9u8, b'x'][..], &[1, b'x', 42][..]] {
            let m = encode(&[], extra, b"");
            let mut d = EventStreamDecoder::new(1024);
            d.push(&m);
            assert!(
                matches!(d.next(), Some(Err(EventStreamError::Malformed(_)))),
                "{extra:?}"
            );
        }
    }

    // ---- converse stream ----------------------------------------------------

    /// `data:` payloads of an OpenAI SSE stream, parsed (`[DONE]` as a string).
    fn sse_json(out: &[u8]) -> Vec<Value> {
        let s = String::from_utf8(out.to_vec()).unwrap();
        s.split("\n\n")
            .filter(|e| !e.is_empty())
            .map(|e| {
                let d = e
                    .strip_prefix("data: ")
                    .unwrap_or_else(|| panic!("not a data line: {e}"));
                if d == "[DONE]" {
                    Value::String("[DONE]".into())
                } else {
                    serde_json::from_str(d).unwrap()
                }
            })
            .collect()
    }

    fn converse_stream_bytes() -> Vec<u8> {
        let events = [
            ("messageStart", r#"{"role":"assistant"}"#),
            (
                "contentBlockDelta",
                r#"{"contentBlockIndex":0,"delta":{"text":"Hello \"there\""}}"#,
            ),
            (
                "contentBlockDelta",
                r#"{"contentBlockIndex":0,"delta":{"text":"\nworld"}}"#,
            ),
            ("contentBlockStop", r#"{"contentBlockIndex":0}"#),
            (
                "contentBlockStart",
                r#"{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q","name":"top_song"}}}"#,
            ),
            (
                "contentBlockDelta",
                r#"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"sign\": "}}}"#,
            ),
            (
                "contentBlockDelta",
                r#"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"\"WZPZ\"}"}}}"#,
            ),
            ("contentBlockStop", r#"{"contentBlockIndex":1}"#),
            (
                "contentBlockStart",
                r#"{"contentBlockIndex":2,"start":{"toolUse":{"toolUseId":"t2","name":"no_args"}}}"#,
            ),
            ("contentBlockStop", r#"{"contentBlockIndex":2}"#),
            ("messageStop", r#"{"stopReason":"tool_use"}"#),
            (
                "metadata",
                r#"{"usage":{"inputTokens":25,"outputTokens":12,"totalTokens":37,"cacheReadInputTokens":5},"metrics":{"latencyMs":321}}"#,
            ),
        ];
        events.iter().flat_map(|(t, p)| event(t, p)).collect()
    }

    #[test]
    fn converse_stream_to_openai_chunks() {
        let bytes = converse_stream_bytes();
        for chunk_size in [1, 5, 64, bytes.len()] {
            let mut d = EventStreamDecoder::new(1 << 16);
            let mut s = ConverseToOpenAiStream::new("my-claude", true);
            let mut out = Vec::new();
            for chunk in bytes.chunks(chunk_size) {
                d.push(chunk);
                while let Some(m) = d.next() {
                    s.feed_message(&m.unwrap(), &mut out).unwrap();
                }
            }
            assert!(s.is_done());
            let ev = sse_json(&out);
            assert_eq!(ev.last().unwrap(), "[DONE]");
            let chunks = &ev[..ev.len() - 1];
            for c in chunks {
                assert_eq!(c["object"], "chat.completion.chunk");
                assert_eq!(c["model"], "my-claude");
                assert_eq!(c["id"], chunks[0]["id"]);
            }
            assert_eq!(
                chunks[0]["choices"][0]["delta"],
                json!({"content": "", "role": "assistant"})
            );
            let text: String = chunks
                .iter()
                .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
                .collect();
            assert_eq!(text, "Hello \"there\"\nworld");
            let calls: Vec<&Value> = chunks
                .iter()
                .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
                .collect();
            assert_eq!(
                calls[0],
                &json!({"index": 0, "id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "type": "function", "function": {"name": "top_song", "arguments": ""}})
            );
            let args0: String = calls
                .iter()
                .filter(|c| c["index"] == 0)
                .filter_map(|c| c["function"]["arguments"].as_str())
                .collect();
            assert_eq!(
                serde_json::from_str::<Value>(&args0).unwrap(),
                json!({"sign": "WZPZ"})
            );
            let args1: String = calls
                .iter()
                .filter(|c| c["index"] == 1)
                .filter_map(|c| c["function"]["arguments"].as_str())
                .collect();
            assert_eq!(args1, "{}");
            let fin: Vec<&Value> = chunks
                .iter()
                .filter(|c| c["choices"][0].get("finish_reason").is_some())
                .collect();
            assert_eq!(fin.len(), 1);
            assert_eq!(fin[0]["choices"][0]["finish_reason"], "tool_calls");
            let usage = &chunks.last().unwrap()["usage"];
            assert_eq!(usage["prompt_tokens"], 30);
            assert_eq!(usage["completion_tokens"], 12);
            assert_eq!(usage["total_tokens"], 37);
            assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 5);
            assert_eq!(s.usage().prompt_tokens, 30);
        }
    }

    #[test]
    fn converse_stream_reasoning_exceptions_and_early_end() {
        let mut s = ConverseToOpenAiStream::new("m", false);
        let mut out = Vec::new();
        s.feed(b"messageStart", br#"{"role":"assistant"}"#, &mut out)
            .unwrap();
        s.feed(
            b"contentBlockDelta",
            br#"{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"hmm"}}}"#,
            &mut out,
        )
        .unwrap();
        s.feed(
            b"contentBlockDelta",
            br#"{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"c2ln"}}}"#,
            &mut out,
        )
        .unwrap();
        s.feed(
            b"contentBlockStart",
            br#"{"contentBlockIndex":1,"start":{"reasoningContent":{"redactedContent":"cmVk"}}}"#,
            &mut out,
        )
        .unwrap();
        assert!(s
            .feed(b"contentBlockDelta", b"{not json", &mut out)
            .is_err());
        let ev = sse_json(&out);
        assert_eq!(
            ev[1]["choices"][0]["delta"],
            json!({"reasoning_content": "hmm", "thinking_blocks": [{"type": "thinking", "thinking": "hmm"}]})
        );
        assert_eq!(
            ev[2]["choices"][0]["delta"]["thinking_blocks"][0]["signature"],
            "c2ln"
        );
        assert_eq!(
            ev[3]["choices"][0]["delta"]["thinking_blocks"][0],
            json!({"type": "redacted_thinking", "data": "cmVk"})
        );
        // An exception ends the stream with an error event and no [DONE].
        let msg = EventMessage {
            message_type: b"exception",
            event_type: b"throttlingException",
            payload: br#"{"message":"Too many \"requests\""}"#,
        };
        out.clear();
        s.feed_message(&msg, &mut out).unwrap();
        assert!(s.is_done());
        let ev = sse_json(&out);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0]["error"]["code"], "429");
        assert_eq!(
            ev[0]["error"]["message"],
            "BedrockException - throttlingException Too many \"requests\""
        );
        s.finish(&mut out);
        assert_eq!(sse_json(&out).len(), 1, "nothing after the error");
        // A stream cut short still ends properly.
        let mut s = ConverseToOpenAiStream::new("m", true);
        let mut out = Vec::new();
        s.feed(b"contentBlockDelta", br#"{"delta":{"text":"x"}}"#, &mut out)
            .unwrap();
        s.finish(&mut out);
        let ev = sse_json(&out);
        assert_eq!(ev.len(), 5, "role, text, finish, usage, [DONE]");
        assert_eq!(ev[2]["choices"][0]["finish_reason"], "stop");
        assert_eq!(ev[3]["usage"]["total_tokens"], 0);
    }

    // ---- Converse request -----------------------------------------------------

    fn weather_tool() -> Value {
        json!({"type": "function", "function": {
            "name": "top_song",
            "description": "Get the most popular song played on a radio station.",
            "parameters": {"type": "object", "properties": {"sign": {"type": "string", "description": "The call sign for the radio station for which you want the most popular song. Example calls signs are WZPZ, and WKRP."}}, "required": ["sign"]}
        }})
    }

    #[test]
    fn golden_converse_request_tool_conversation() {
        // Expected: LiteLLM 1.106.2's AmazonConverseConfig._transform_request
        // for this request (AWS's documented top_song tool example), run
        // through get_optional_params so `top_k` lands where LiteLLM puts it.
        let req = json!({
            "model": "x",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": [
                    {"type": "text", "text": "What is the most popular song on WZPZ?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
                ]},
                {"role": "assistant", "content": "Let me check.", "tool_calls": [{"id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "type": "function", "function": {"name": "top_song", "arguments": "{\"sign\": \"WZPZ\"}"}}]},
                {"role": "tool", "tool_call_id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "content": "Elemental Hotel by 8 Storey Hike"},
                {"role": "user", "content": "Thanks!"}
            ],
            "tools": [weather_tool()],
            "tool_choice": "required",
            "max_tokens": 512, "temperature": 0.5, "top_p": 0.9, "stop": ["\n\nHuman:"], "top_k": 40,
            "stream": true, "stream_options": {"include_usage": true}, "n": 1, "user": "u1"
        });
        let (out, info) = conv(
            &req,
            Some("bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0"),
        );
        assert_eq!(
            info,
            ReqInfo {
                stream: true,
                include_usage: true
            }
        );
        assert_eq!(
            out,
            json!({
                "messages": [
                    {"role": "user", "content": [{"text": "What is the most popular song on WZPZ?"}, {"image": {"source": {"bytes": "iVBORw0KGgo="}, "format": "png"}}]},
                    {"role": "assistant", "content": [{"text": "Let me check."}, {"toolUse": {"input": {"sign": "WZPZ"}, "name": "top_song", "toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"}}]},
                    {"role": "user", "content": [{"toolResult": {"content": [{"text": "Elemental Hotel by 8 Storey Hike"}], "toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"}}, {"text": "Thanks!"}]}
                ],
                "inferenceConfig": {"maxTokens": 512, "temperature": 0.5, "topP": 0.9, "stopSequences": ["\n\nHuman:"]},
                "additionalModelRequestFields": {"top_k": 40},
                "system": [{"text": "You are terse."}],
                "toolConfig": {"tools": [{"toolSpec": {"inputSchema": {"json": {"type": "object", "properties": {"sign": {"type": "string", "description": "The call sign for the radio station for which you want the most popular song. Example calls signs are WZPZ, and WKRP."}}, "required": ["sign"]}}, "name": "top_song", "description": "Get the most popular song played on a radio station."}}], "toolChoice": {"any": {}}}
            })
        );
    }

    #[test]
    fn golden_converse_request_mid_system_and_reasoning() {
        // LiteLLM: the mid-conversation system message becomes user text
        // after its note and merges into the one user turn; reasoning_effort
        // "low" is a 1024 budget, maxTokens budget + 4096.
        let req = json!({"messages": [
            {"role": "user", "content": "hi"},
            {"role": "system", "content": "mid system"},
            {"role": "user", "content": "again"}
        ], "reasoning_effort": "low"});
        let (out, info) = conv(&req, Some("anthropic.claude-3-7-sonnet-20250219-v1:0"));
        assert!(!info.stream);
        assert_eq!(
            out,
            json!({
                "messages": [{"role": "user", "content": [{"text": "hi"}, {"text": "Operator note (not from the user): the following was originally a mid-conversation system-role reminder."}, {"text": "mid system"}, {"text": "again"}]}],
                "inferenceConfig": {"maxTokens": 5120},
                "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1024}},
                "additionalModelResponseFieldPaths": ["/usage/output_tokens_details"]
            })
        );
    }

    #[test]
    fn golden_converse_request_sanitising_and_nova() {
        // LiteLLM output for a Nova model: signed thinking first, tool name
        // and id made valid (hash suffix), schema reduced to type /
        // properties / required, description defaulting to the name,
        // top_k in additionalModelRequestFields.inferenceConfig.
        let req = json!({"messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [{"type": "text", "text": "a"}], "thinking_blocks": [{"type": "thinking", "thinking": "hmm", "signature": "sig"}],
             "tool_calls": [{"id": "bad id!", "type": "function", "function": {"name": "1st tool", "arguments": ""}}]},
            {"role": "tool", "tool_call_id": "bad id!", "content": [{"type": "text", "text": "r"}]}
        ],
        "tools": [{"type": "function", "function": {"name": "1st tool", "parameters": {"properties": {}}}}],
        "tool_choice": {"type": "function", "function": {"name": "1st tool"}}, "top_k": 3});
        let (out, _) = conv(&req, Some("us.amazon.nova-pro-v1:0"));
        assert_eq!(
            out,
            json!({
                "messages": [
                    {"role": "user", "content": [{"text": "hi"}]},
                    {"role": "assistant", "content": [{"reasoningContent": {"reasoningText": {"text": "hmm", "signature": "sig"}}}, {"text": "a"}, {"toolUse": {"input": {}, "name": "a1st_tool", "toolUseId": "bad_id__64535bce"}}]},
                    {"role": "user", "content": [{"toolResult": {"content": [{"text": "r"}], "toolUseId": "bad_id__64535bce"}}]}
                ],
                "inferenceConfig": {},
                "additionalModelRequestFields": {"inferenceConfig": {"topK": 3}},
                "toolConfig": {"tools": [{"toolSpec": {"inputSchema": {"json": {"type": "object", "properties": {}, "required": []}}, "name": "a1st_tool", "description": "a1st_tool"}}], "toolChoice": {"tool": {"name": "a1st_tool"}}}
            })
        );
    }

    #[test]
    fn golden_converse_request_system_wedged_before_tool_result() {
        // LiteLLM 1.106.2 output: a system message between a tool call and
        // its result moves after the result (as a user text with the note);
        // a system message with no text disappears.
        let req = json!({"messages": [
            {"role": "system", "content": "s0"},
            {"role": "user", "content": "u"},
            {"role": "assistant", "content": "", "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "system", "content": "wedged"},
            {"role": "tool", "tool_call_id": "t1", "content": "r"},
            {"role": "assistant", "content": "done"},
            {"role": "system", "content": [{"type": "text", "text": ""}]},
            {"role": "user", "content": "bye"}
        ], "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]});
        let (out, _) = conv(&req, Some("anthropic.claude-3-haiku-20240307-v1:0"));
        assert_eq!(out["system"], json!([{"text": "s0"}]));
        assert_eq!(
            out["messages"],
            json!([
                {"role": "user", "content": [{"text": "u"}]},
                {"role": "assistant", "content": [{"toolUse": {"input": {}, "name": "f", "toolUseId": "t1"}}]},
                {"role": "user", "content": [{"toolResult": {"content": [{"text": "r"}], "toolUseId": "t1"}}, {"text": "Operator note (not from the user): the following was originally a mid-conversation system-role reminder."}, {"text": "wedged"}]},
                {"role": "assistant", "content": [{"text": "done"}]},
                {"role": "user", "content": [{"text": "bye"}]}
            ])
        );
    }

    #[test]
    fn converse_request_details() {
        // Cache points, documents, merged assistant turns, dedup, drops.
        let pdf = "data:application/pdf;base64,JVBERi0x";
        let req = json!({"messages": [
            {"role": "developer", "content": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": ""}]},
            {"role": "user", "content": [
                {"type": "text", "text": "  "},
                {"type": "file", "file": {"file_data": pdf}},
                {"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}},
                {"type": "text", "text": "read it", "cache_control": {"type": "ephemeral"}}
            ]},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}, "cache_control": {"type": "ephemeral"}},
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
            {"role": "tool", "tool_call_id": "c1", "content": "dup"},
            {"role": "assistant", "content": "done"},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "unsigned"}]}
        ], "tools": [weather_tool(), {"type": "web_search"}, {"cachePoint": {"type": "default"}}],
           "tool_choice": "none", "stop": "END", "service_tier": "auto", "max_completion_tokens": 9.0});
        let (out, _) = conv(&req, None);
        assert_eq!(
            out["system"],
            json!([{"text": "sys"}, {"cachePoint": {"type": "default"}}])
        );
        let msgs = out["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 4);
        let user = &msgs[0]["content"];
        assert_eq!(user[0]["document"]["format"], "pdf");
        assert_eq!(user[0]["document"]["source"]["bytes"], "JVBERi0x");
        let name = user[0]["document"]["name"].as_str().unwrap();
        assert!(
            name.starts_with("DocumentPDFmessages_")
                && name.ends_with("_pdf")
                && name.len() == 20 + 16 + 4,
            "{name}"
        );
        assert_eq!(user[1], json!({"text": "read it"}));
        assert_eq!(user[2], json!({"cachePoint": {"type": "default"}}));
        assert_eq!(
            msgs[1]["content"],
            json!([{"toolUse": {"toolUseId": "c1", "name": "f", "input": {"a": 1}}}, {"cachePoint": {"type": "default"}}])
        );
        assert_eq!(
            msgs[2]["content"],
            json!([{"toolResult": {"toolUseId": "c1", "content": [{"text": "ok"}]}}])
        );
        assert_eq!(
            msgs[3]["content"],
            json!([{"text": "done"}, {"text": "unsigned"}])
        );
        assert_eq!(
            out["inferenceConfig"],
            json!({"maxTokens": 9, "stopSequences": ["END"]})
        );
        assert_eq!(out["serviceTier"], json!({"type": "default"}));
        let tools = &out["toolConfig"];
        assert_eq!(
            tools["tools"].as_array().unwrap().len(),
            2,
            "web_search dropped, cachePoint kept"
        );
        assert_eq!(
            tools["tools"][1],
            json!({"cachePoint": {"type": "default"}})
        );
        assert!(
            tools.get("toolChoice").is_none(),
            "tool_choice none is dropped"
        );
    }

    #[test]
    fn converse_request_thinking_and_families() {
        let base = json!({"messages": [{"role": "user", "content": "q"}],
            "tools": [weather_tool()], "tool_choice": "required",
            "thinking": {"type": "enabled", "budget_tokens": 500}});
        let (out, _) = conv(&base, None);
        assert_eq!(
            out["additionalModelRequestFields"]["thinking"],
            json!({"type": "enabled", "budget_tokens": 1024})
        );
        assert_eq!(out["inferenceConfig"]["maxTokens"], 5120);
        assert_eq!(
            out["toolConfig"]["toolChoice"],
            json!({"auto": {}}),
            "forced choice relaxed when thinking"
        );
        let mut r = base.clone();
        r["reasoning_effort"] = json!("high");
        r.as_object_mut().unwrap().remove("thinking");
        let (out, _) = conv(&r, Some("openai.gpt-oss-120b-1:0"));
        assert_eq!(
            out["additionalModelRequestFields"],
            json!({"reasoning_effort": "high"})
        );
        let (out, _) = conv(&r, Some("us.amazon.nova-2-lite-v1:0"));
        assert_eq!(
            out["additionalModelRequestFields"],
            json!({"reasoningConfig": {"type": "enabled", "maxReasoningEffort": "high"}})
        );
        let (out, _) = conv(&r, Some("deepseek.r1-v1:0"));
        assert!(out.get("additionalModelRequestFields").is_none());
        let (out, _) = conv(&r, Some("meta.llama3-3-70b-instruct-v1:0"));
        assert!(out.get("additionalModelRequestFields").is_none());
        r["reasoning_effort"] = json!("extreme");
        let body = serde_json::to_vec(&r).unwrap();
        assert!(openai_to_converse_request_for(
            "anthropic.claude-sonnet-4-6",
            &body,
            &mut Vec::new()
        )
        .is_err());
    }

    #[test]
    fn converse_request_errors() {
        let e = conv_err(
            &json!({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]}),
        );
        assert!(e.contains("download"), "{e}");
        let e = conv_err(
            &json!({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "data:image/bmp;base64,AAAA"}]}]}),
        );
        assert!(e.contains("Unsupported image format: bmp"), "{e}");
        let e = conv_err(
            &json!({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "tool_calls": [{"id": "1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}]}),
        );
        assert!(e.contains("without `tools=`"), "{e}");
        let e = conv_err(&json!({"messages": [{"role": "system", "content": "only"}]}));
        assert!(e.contains("at least one non-system message"), "{e}");
        let e = conv_err(&json!({"messages": [{"role": "function", "name": "f", "content": "x"}]}));
        assert!(e.contains("function"), "{e}");
        let e = conv_err(&json!({"messages": [{"role": "wizard", "content": "x"}]}));
        assert!(e.contains("role"), "{e}");
        assert_eq!(
            conv_err(&json!({"model": "m"})),
            TranslateError::Missing("messages").to_string()
        );
        let e = conv_err(
            &json!({"messages": [{"role": "user", "content": "x"}], "tools": [weather_tool()], "tool_choice": "sometimes"}),
        );
        assert!(e.contains("tool_choice=sometimes"), "{e}");
        for bad in [
            &b"[1]"[..],
            b"{\"messages\":",
            b"{\"messages\":[{\"role\":\"user\",\"content\":\"\\x\"}]}",
            b"\xff",
        ] {
            assert!(openai_to_converse_request(bad, &mut Vec::new()).is_err());
        }
    }

    // ---- Converse response ----------------------------------------------------

    #[test]
    fn golden_converse_response_text() {
        // AWS's documented Converse response shape.
        let body = br#"{"output":{"message":{"role":"assistant","content":[{"text":"Hello! \"Quoted\"\n"},{"text":"More."}]}},"stopReason":"end_turn","usage":{"inputTokens":125,"outputTokens":60,"totalTokens":185},"metrics":{"latencyMs":1175}}"#;
        let mut out = Vec::new();
        let u = converse_to_openai_response(body, "client-model", &mut out).unwrap();
        assert_eq!(
            u,
            TokenUsage {
                prompt_tokens: 125,
                completion_tokens: 60,
                cache_read_tokens: 0,
                cache_creation_tokens: 0
            }
        );
        let v = j(&out);
        assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
        assert!(v["created"].as_u64().unwrap() > 1_600_000_000);
        assert_eq!(v["model"], "client-model");
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["system_fingerprint"], Value::Null);
        assert_eq!(
            v["choices"],
            json!([{"finish_reason": "stop", "index": 0, "message": {"content": "Hello! \"Quoted\"\nMore.", "role": "assistant"}}])
        );
        assert_eq!(
            v["usage"],
            json!({"completion_tokens": 60, "prompt_tokens": 125, "total_tokens": 185,
                   "prompt_tokens_details": {"cached_tokens": 0, "cache_creation_tokens": 0},
                   "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0})
        );
    }

    #[test]
    fn golden_converse_response_tool_use_and_reasoning() {
        // AWS's tool-use example answer, plus reasoning and cache usage.
        let body = br#"{"output":{"message":{"role":"assistant","content":[
            {"reasoningContent":{"reasoningText":{"text":"think","signature":"sig"}}},
            {"reasoningContent":{"redactedContent":"cmVk"}},
            {"toolUse":{"toolUseId":"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q","name":"top_song","input":{"sign":"WZPZ"}}}]}},
            "stopReason":"tool_use","usage":{"inputTokens":10,"outputTokens":5,"totalTokens":20,"cacheReadInputTokens":3,"cacheWriteInputTokens":2}}"#;
        let mut out = Vec::new();
        let u = converse_to_openai_response(body, "m", &mut out).unwrap();
        assert_eq!(
            (
                u.prompt_tokens,
                u.cache_read_tokens,
                u.cache_creation_tokens
            ),
            (15, 3, 2)
        );
        let v = j(&out);
        let c = &v["choices"][0];
        assert_eq!(c["finish_reason"], "tool_calls");
        assert_eq!(c["message"]["content"], "");
        let call = &c["message"]["tool_calls"][0];
        assert_eq!(call["id"], "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q");
        assert_eq!(call["type"], "function");
        assert_eq!(call["function"]["name"], "top_song");
        let args: Value =
            serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args, json!({"sign": "WZPZ"}));
        assert_eq!(c["message"]["reasoning_content"], "think");
        assert_eq!(
            c["message"]["thinking_blocks"],
            json!([{"type": "thinking", "thinking": "think", "signature": "sig"}, {"type": "redacted_thinking", "data": "cmVk"}])
        );
        assert_eq!(v["usage"]["prompt_tokens"], 15);
        assert_eq!(v["usage"]["total_tokens"], 20);
        for (stop, want) in [
            ("max_tokens", "length"),
            ("stop_sequence", "stop"),
            ("guardrail_intervened", "content_filter"),
            ("content_filtered", "content_filter"),
            ("model_context_window_exceeded", "stop"),
        ] {
            let body = format!(
                r#"{{"output":{{"message":{{"role":"assistant","content":[]}}}},"stopReason":"{stop}","usage":{{}}}}"#
            );
            let mut out = Vec::new();
            converse_to_openai_response(body.as_bytes(), "m", &mut out).unwrap();
            assert_eq!(j(&out)["choices"][0]["finish_reason"], want, "{stop}");
        }
        let mut out = Vec::new();
        let e = converse_to_openai_response(
            br#"{"message":"The security token included in the request is invalid."}"#,
            "m",
            &mut out,
        )
        .unwrap_err();
        assert!(e.to_string().contains("security token"), "{e}");
        assert!(out.is_empty());
        assert!(converse_to_openai_response(b"{", "m", &mut out).is_err());
    }

    // ---- invoke -------------------------------------------------------------

    #[test]
    fn anthropic_invoke_body_and_stream_chunks() {
        // End to end with the Anthropic translator the lead composes with.
        let req = json!({"messages": [{"role": "user", "content": "hi"}], "stream": true, "max_tokens": 10});
        let mut an = Vec::new();
        crate::anthropic::openai_to_anthropic_request(
            &serde_json::to_vec(&req).unwrap(),
            "anthropic.claude-3-haiku-20240307-v1:0",
            &mut an,
        )
        .unwrap();
        let mut out = Vec::new();
        anthropic_invoke_body(&an, &mut out).unwrap();
        let v = j(&out);
        assert!(v.get("model").is_none() && v.get("stream").is_none());
        assert_eq!(v["anthropic_version"], "bedrock-2023-05-31");
        assert_eq!(v["max_tokens"], 10);
        assert_eq!(v["messages"][0]["content"][0]["text"], "hi");
        out.clear();
        anthropic_invoke_body(br#"{"anthropic_version":"x","a":1}"#, &mut out).unwrap();
        assert_eq!(j(&out), json!({"anthropic_version": "x", "a": 1}));
        assert!(anthropic_invoke_body(b"[]", &mut out).is_err());

        let events = [
            r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude","stop_reason":null,"usage":{"input_tokens":7,"output_tokens":1}}}"#,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi \"you\""}}"#,
            r#"{"type":"content_block_stop","index":0}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}"#,
            "{\"type\":\"message_stop\",\n\"amazon-bedrock-invocationMetrics\":{\"inputTokenCount\":7}}",
        ];
        let mut s = crate::anthropic::AnthropicToOpenAiStream::new("m", true);
        let mut oa = Vec::new();
        for e in events {
            let payload = format!(
                r#"{{"bytes":"{}","p":"ab"}}"#,
                base64::engine::general_purpose::STANDARD.encode(e)
            );
            let mut sse = Vec::new();
            invoke_chunk_to_sse(payload.as_bytes(), &mut sse).unwrap();
            let text = String::from_utf8(sse.clone()).unwrap();
            assert!(
                text.starts_with("event: ")
                    && text.ends_with("\n\n")
                    && text.matches('\n').count() == 3,
                "{text:?}"
            );
            s.feed(&sse, &mut oa).unwrap();
        }
        assert!(s.is_done());
        let ev = sse_json(&oa);
        let text: String = ev
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, "Hi \"you\"");
        assert_eq!(ev[ev.len() - 2]["usage"]["prompt_tokens"], 7);
        let mut sse = Vec::new();
        assert!(invoke_chunk_to_sse(br#"{"bytes":"!!"}"#, &mut sse).is_err());
        invoke_chunk_to_sse(br#"{"other":1}"#, &mut sse).unwrap();
        assert!(sse.is_empty());
    }

    // ---- embeddings ---------------------------------------------------------

    #[test]
    fn embeddings_titan_and_cohere() {
        let mut out = Vec::new();
        openai_to_bedrock_embed_request(
            "amazon.titan-embed-text-v1",
            br#"{"input":"hi \"x\"","model":"m"}"#,
            &mut out,
        )
        .unwrap();
        assert_eq!(j(&out), json!({"inputText": "hi \"x\""}));
        out.clear();
        openai_to_bedrock_embed_request(
            "amazon.titan-embed-text-v2:0",
            br#"{"input":["one"],"dimensions":256,"normalize":true,"encoding_format":"float"}"#,
            &mut out,
        )
        .unwrap();
        assert_eq!(
            j(&out),
            json!({"inputText": "one", "dimensions": 256, "normalize": true, "embeddingTypes": ["float"]})
        );
        out.clear();
        let e = openai_to_bedrock_embed_request(
            "amazon.titan-embed-text-v2:0",
            br#"{"input":["a","b"]}"#,
            &mut out,
        )
        .unwrap_err();
        assert!(
            matches!(&e, TranslateError::Invalid(m) if m.contains("one input per request")),
            "{e}"
        );
        assert!(out.is_empty());
        openai_to_bedrock_embed_request(
            "cohere.embed-english-v3",
            br#"{"input":["a","b"],"dimensions":512,"encoding_format":"base64"}"#,
            &mut out,
        )
        .unwrap();
        assert_eq!(
            j(&out),
            json!({"texts": ["a", "b"], "input_type": "search_document", "output_dimension": 512, "embedding_types": ["float"]})
        );
        out.clear();
        openai_to_bedrock_embed_request(
            "us.cohere.embed-v4:0",
            br#"{"input":"a","input_type":"search_query"}"#,
            &mut out,
        )
        .unwrap();
        assert_eq!(
            j(&out),
            json!({"texts": ["a"], "input_type": "search_query"})
        );
        assert!(openai_to_bedrock_embed_request(
            "amazon.titan-embed-image-v1",
            br#"{"input":"a"}"#,
            &mut out
        )
        .is_err());
        assert!(openai_to_bedrock_embed_request(
            "cohere.embed-english-v3",
            br#"{"input":[1,2]}"#,
            &mut out
        )
        .is_err());
        assert!(
            openai_to_bedrock_embed_request("cohere.embed-english-v3", br#"{}"#, &mut out).is_err()
        );

        out.clear();
        bedrock_to_openai_embed_response(
            "amazon.titan-embed-text-v2:0",
            br#"{"embedding":[0.1,-0.2],"inputTextTokenCount":4}"#,
            "emb",
            &mut out,
        )
        .unwrap();
        assert_eq!(
            j(&out),
            json!({"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1, -0.2]}], "model": "emb",
                   "usage": {"prompt_tokens": 4, "completion_tokens": 0, "total_tokens": 4}})
        );
        out.clear();
        bedrock_to_openai_embed_response(
            "amazon.titan-embed-text-v2:0",
            br#"{"embedding":[0.1],"embeddingsByType":{"binary":[1,0]},"inputTextTokenCount":1}"#,
            "emb",
            &mut out,
        )
        .unwrap();
        assert_eq!(j(&out)["data"][0]["embedding"], json!([1, 0]));
        out.clear();
        bedrock_to_openai_embed_response("cohere.embed-english-v3", br#"{"embeddings":[[1.5],[2.5]],"id":"x","response_type":"embeddings_floats","texts":["a","b"]}"#, "emb", &mut out).unwrap();
        let v = j(&out);
        assert_eq!(
            v["data"][1],
            json!({"object": "embedding", "index": 1, "embedding": [2.5]})
        );
        assert_eq!(v["usage"]["prompt_tokens"], 0);
        out.clear();
        bedrock_to_openai_embed_response(
            "cohere.embed-v4:0",
            br#"{"embeddings":{"float":[[1.0]]},"meta":{"billed_units":{"input_tokens":3}}}"#,
            "emb",
            &mut out,
        )
        .unwrap();
        assert_eq!(j(&out)["usage"]["total_tokens"], 3);
        out.clear();
        assert!(bedrock_to_openai_embed_response(
            "cohere.embed-v4:0",
            br#"{"message":"bad"}"#,
            "emb",
            &mut out
        )
        .is_err());
        assert!(out.is_empty());
    }

    // ---- property: nothing lost ------------------------------------------------

    #[derive(Clone, Debug)]
    enum Turn {
        User(String, Option<String>),
        Call(String, Vec<(String, String)>),
    }

    fn text() -> impl Strategy<Value = String> {
        // Non-blank (LiteLLM drops blank texts), with quotes, escapes, unicode.
        "[a-zA-Z0-9 \"\\\\\n\t/é😀<>]{0,20}".prop_map(|s| format!("x{s}"))
    }

    fn turns() -> impl Strategy<Value = Vec<Turn>> {
        let user = (text(), proptest::option::of("[A-Za-z0-9+/]{4,12}"))
            .prop_map(|(t, img)| Turn::User(t, img));
        let call = (
            text(),
            proptest::collection::vec(("[a-z][a-z0-9_]{0,8}", text()), 0..3),
        )
            .prop_map(|(t, calls)| Turn::Call(t, calls));
        proptest::collection::vec(prop_oneof![user, call], 1..6)
    }

    proptest! {
        #[test]
        fn converse_request_loses_nothing(turns in turns()) {
            // Build the OpenAI conversation and the block sequence we expect.
            let mut msgs = vec![json!({"role": "system", "content": "sys \"prompt\""})];
            let mut want: Vec<(String, Value)> = Vec::new();
            let mut tools = Vec::new();
            let mut n = 0;
            let push_user = |msgs: &mut Vec<Value>, want: &mut Vec<(String, Value)>, t: &str, img: &Option<String>| {
                let mut parts = vec![json!({"type": "text", "text": t})];
                want.push(("user".into(), json!({"text": t})));
                if let Some(b) = img {
                    parts.push(json!({"type": "image_url", "image_url": {"url": format!("data:image/jpeg;base64,{b}")}}));
                    want.push(("user".into(), json!({"image": {"source": {"bytes": b}, "format": "jpeg"}})));
                }
                msgs.push(json!({"role": "user", "content": parts}));
            };
            push_user(&mut msgs, &mut want, "start", &None);
            for t in &turns {
                match t {
                    Turn::User(t, img) => push_user(&mut msgs, &mut want, t, img),
                    Turn::Call(t, calls) => {
                        let mut oa_calls = Vec::new();
                        want.push(("assistant".into(), json!({"text": t})));
                        let mut results = Vec::new();
                        for (name, arg) in calls {
                            n += 1;
                            let id = format!("call_{n}");
                            let args = json!({"arg": arg, "n": n});
                            oa_calls.push(json!({"id": id, "type": "function", "function": {"name": name, "arguments": args.to_string()}}));
                            want.push(("assistant".into(), json!({"toolUse": {"toolUseId": id, "name": name, "input": args}})));
                            tools.push(json!({"type": "function", "function": {"name": name, "parameters": {"type": "object", "properties": {}}}}));
                            results.push((id, format!("result {arg}")));
                        }
                        let mut m = json!({"role": "assistant", "content": t});
                        if !oa_calls.is_empty() {
                            m["tool_calls"] = Value::Array(oa_calls);
                        }
                        msgs.push(m);
                        for (id, r) in results {
                            want.push(("user".into(), json!({"toolResult": {"toolUseId": id, "content": [{"text": r}]}})));
                            msgs.push(json!({"role": "tool", "tool_call_id": id, "content": r}));
                        }
                        if calls.is_empty() {
                            push_user(&mut msgs, &mut want, "next", &None);
                        }
                    }
                }
            }
            if tools.is_empty() {
                tools.push(weather_tool());
            }
            let req = json!({"messages": msgs, "tools": tools, "max_tokens": 100});
            let (out, _) = conv(&req, Some("anthropic.claude-3-haiku-20240307-v1:0"));
            prop_assert_eq!(&out["system"], &json!([{"text": "sys \"prompt\""}]));
            let mut got: Vec<(String, Value)> = Vec::new();
            let mut last_role = String::new();
            for m in out["messages"].as_array().unwrap() {
                let role = m["role"].as_str().unwrap().to_owned();
                prop_assert_ne!(&role, &last_role, "roles alternate");
                for b in m["content"].as_array().unwrap() {
                    got.push((role.clone(), b.clone()));
                }
                last_role = role;
            }
            prop_assert_eq!(got, want);
        }

        #[test]
        fn event_stream_roundtrip(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..6),
                                  cuts in proptest::collection::vec(1usize..50, 1..20)) {
            let stream: Vec<u8> = payloads.iter().enumerate()
                .flat_map(|(i, p)| encode(&[(":message-type", "event"), (":event-type", &format!("e{i}"))], &[], p))
                .collect();
            let mut d = EventStreamDecoder::new(256);
            let mut got = Vec::new();
            let mut rest = &stream[..];
            let mut k = 0;
            while !rest.is_empty() {
                let c = cuts[k % cuts.len()].min(rest.len());
                k += 1;
                d.push(&rest[..c]);
                rest = &rest[c..];
                decode_all(&mut d, &mut got).unwrap();
            }
            let want: Vec<Owned> = payloads.iter().enumerate()
                .map(|(i, p)| (b"event".to_vec(), format!("e{i}").into_bytes(), p.clone()))
                .collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn translators_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut out = Vec::new();
            let _ = openai_to_converse_request(&body, &mut out);
            let _ = converse_to_openai_response(&body, "m", &mut out);
            let _ = invoke_chunk_to_sse(&body, &mut out);
            let _ = openai_to_bedrock_embed_request("cohere.embed-v4:0", &body, &mut out);
            let _ = bedrock_to_openai_embed_response("amazon.titan-embed-text-v1", &body, "m", &mut out);
            let mut s = ConverseToOpenAiStream::new("m", true);
            let _ = s.feed(b"contentBlockDelta", &body, &mut out);
            let mut d = EventStreamDecoder::new(64);
            d.push(&body);
            while let Some(r) = d.next() { if r.is_err() { break; } }
        }
    }
}
