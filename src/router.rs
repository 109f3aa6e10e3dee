//! Model groups and deployment choice.
//!
//! Built once from `model_list` at start-up and then only read. A request's
//! `model` names a *group* (`model_name`); every deployment of that group is a
//! candidate and one is drawn at random, weighted like LiteLLM's
//! `simple-shuffle`: by `weight` when any deployment sets it, else `rpm`, else
//! `tpm`, else uniformly. Wildcard names (`openai/*`, `fake/*`, `*`) are tried
//! after exact names, longest prefix first; the part matched by `*` replaces
//! the `*` in the deployment's upstream model id.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::{Config, Deployment};
use crate::translate::quote;
use crate::upstream::{parse_base_url, Origin, Target, UpAuth, Wire};

/// The default `api_base` of the `openai` provider.
pub const OPENAI_BASE: &str = "https://api.openai.com/v1";

/// Providers whose wire format is not OpenAI's: they need a translator, which
/// later work adds. Until then their deployments answer a clear error.
const NEEDS_TRANSLATION: &[&str] = &[
    "sagemaker",
    "sagemaker_chat",
    "watsonx",
    "replicate",
    "huggingface",
    "palm",
    "ai21",
    "predibase",
    "petals",
    "cloudflare",
    "clarifai",
    "aleph_alpha",
    "nlp_cloud",
    "vertex_ai_anthropic",
];

/// How a deployment answers.
#[derive(Debug)]
pub enum Backend {
    /// `mock_response`: answered inside the shard.
    Mock(String),
    /// An HTTP upstream; `Target::wire` says which API it speaks.
    OpenAi(Target),
    /// A provider Ringway cannot speak to yet: the message says which.
    Unsupported(String),
}

/// A deployment as the data plane sees it.
#[derive(Debug)]
pub struct Route {
    pub model_name: String,
    /// `litellm_params.model` as configured (for `x-litellm-model-name`).
    pub model: String,
    pub provider: String,
    pub id: String,
    pub backend: Backend,
    /// Upstream model id, JSON-quoted, ready to splice. For wildcard routes
    /// this is the template containing `*`.
    pub model_json: Vec<u8>,
    pub upstream_model: String,
    pub timeout_ms: u64,
    pub stream_timeout_ms: u64,
    /// `timeout` as configured (LiteLLM prints it in timeout messages).
    pub timeout_s: Option<f64>,
    pub max_retries: Option<u32>,
    /// `model: "*"` deployments: a backend per provider prefix, built from
    /// the provider table with the environment's credentials, so a request
    /// for `groq/llama-3.1-8b` goes to Groq (LiteLLM's "any provider").
    pub by_provider: Vec<(&'static str, Backend)>,
}

/// Deployments sharing a `model_name`, with cumulative weights for the draw.
#[derive(Debug, Default)]
pub struct Group {
    pub name: String,
    pub routes: Vec<usize>,
    cumulative: Vec<f64>,
}

/// A pass-through route (`/anthropic/*`, `/openai/*`, ...): the rest of the
/// path goes to the provider's API as is, with the provider credential
/// from the environment (LiteLLM's `llm_passthrough_endpoints`).
#[derive(Debug)]
pub struct PassThrough {
    /// Path prefix with both slashes, e.g. "/anthropic/".
    pub prefix: String,
    pub origin: usize,
    /// Path prefix of the provider's base URL (usually empty).
    pub base_path: String,
    /// `host:` and the credential header, CRLF-terminated.
    pub fixed_headers: Vec<u8>,
    /// Per-request credentials (Vertex AI token, Bedrock SigV4).
    pub auth: UpAuth,
}

/// Pass-through providers: (route name, base URL env, default base, key
/// env, header the key goes in, prefix of its value).
const PASS_THROUGH: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "anthropic",
        "ANTHROPIC_API_BASE",
        "https://api.anthropic.com",
        "ANTHROPIC_API_KEY",
        "x-api-key",
        "",
    ),
    (
        "openai",
        "OPENAI_API_BASE",
        "https://api.openai.com",
        "OPENAI_API_KEY",
        "authorization",
        "Bearer ",
    ),
    (
        "gemini",
        "GEMINI_API_BASE",
        "https://generativelanguage.googleapis.com",
        "GEMINI_API_KEY",
        "x-goog-api-key",
        "",
    ),
    (
        "cohere",
        "COHERE_API_BASE",
        "https://api.cohere.com",
        "COHERE_API_KEY",
        "authorization",
        "Bearer ",
    ),
    (
        "mistral",
        "MISTRAL_API_BASE",
        "https://api.mistral.ai",
        "MISTRAL_API_KEY",
        "authorization",
        "Bearer ",
    ),
    (
        "openrouter",
        "OPENROUTER_API_BASE",
        "https://openrouter.ai/api",
        "OPENROUTER_API_KEY",
        "authorization",
        "Bearer ",
    ),
    // No default endpoint: the route exists once AZURE_API_BASE is set.
    (
        "azure",
        "AZURE_API_BASE",
        "",
        "AZURE_API_KEY",
        "api-key",
        "",
    ),
];

fn pass_through_routes(b: &mut Build) -> Vec<PassThrough> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut out = Vec::new();
    // Resolved before `add` borrows the build state.
    let vertex_source = env("GOOGLE_APPLICATION_CREDENTIALS").map(|c| b.gcp_source(&c));
    let mut add = |out: &mut Vec<PassThrough>,
                   name: &str,
                   base: String,
                   key: Option<(&str, String)>,
                   auth: UpAuth| {
        let Ok(url) = parse_base_url(&base) else {
            log::warn!("pass-through /{name}/: '{base}' is not a URL; route disabled");
            return;
        };
        let Ok(origin) = origin_of(&url, &base, &mut b.origins) else {
            return;
        };
        let mut h = host_header(&url);
        if let Some((header, value)) = key.filter(|(_, v)| check_header_value(v, name).is_ok()) {
            push_header(&mut h, header, &value);
        }
        out.push(PassThrough {
            prefix: format!("/{name}/"),
            origin,
            base_path: url.path.clone(),
            fixed_headers: h,
            auth,
        });
    };
    for &(name, base_env, default_base, key_env, header, value_prefix) in PASS_THROUGH {
        let Some(base) =
            env(base_env).or_else(|| Some(default_base.to_string()).filter(|b| !b.is_empty()))
        else {
            continue;
        };
        let key = env(key_env).map(|k| (header, format!("{value_prefix}{k}")));
        add(&mut out, name, base, key, UpAuth::Fixed);
    }
    // Vertex AI: a token from GOOGLE_APPLICATION_CREDENTIALS, the regional
    // endpoint of VERTEXAI_LOCATION.
    if let Some(source) = vertex_source {
        match source {
            Ok(index) => {
                let location = env("VERTEXAI_LOCATION").unwrap_or_else(|| "us-central1".into());
                let base = env("VERTEXAI_API_BASE")
                    .unwrap_or_else(|| format!("https://{location}-aiplatform.googleapis.com"));
                add(&mut out, "vertex_ai", base, None, UpAuth::GcpToken(index));
            }
            Err(e) => log::warn!(
                "pass-through /vertex_ai/: GOOGLE_APPLICATION_CREDENTIALS: {e}; route disabled"
            ),
        }
    }
    // Bedrock: SigV4 with the environment's AWS credentials.
    if let Ok(creds) = crate::bedrock::AwsCredentials::resolve(None, None, None, None, env) {
        let base = env("AWS_BEDROCK_RUNTIME_ENDPOINT")
            .unwrap_or_else(|| format!("https://bedrock-runtime.{}.amazonaws.com", creds.region));
        add(
            &mut out,
            "bedrock",
            base,
            None,
            UpAuth::SigV4(Arc::new(creds)),
        );
    }
    out
}

#[derive(Debug)]
pub struct Router {
    pub routes: Vec<Route>,
    exact: HashMap<String, Group>,
    /// (prefix before `*`, group), longest prefix first.
    wildcards: Vec<(String, Group)>,
    pub origins: Arc<Vec<Origin>>,
    /// Groups in config order, for `/v1/models`.
    pub group_order: Vec<String>,
    pub pass_through: Vec<PassThrough>,
    /// Google OAuth token sources (Vertex AI), one per distinct
    /// credentials; `UpAuth::GcpToken` indexes this.
    pub gcp_tokens: GcpTokens,
}

/// The token sources, printed as a count (they hold credentials).
pub struct GcpTokens(pub Vec<Arc<crate::gcp_auth::TokenSource>>);

impl std::fmt::Debug for GcpTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} token source(s)", self.0.len())
    }
}

/// What building the backends accumulates: numbered origins and token
/// sources, shared by the deployments that use the same one.
#[derive(Default)]
struct Build {
    origins: Vec<Origin>,
    /// (credentials spec, source, the account's project id).
    gcp: Vec<(String, Arc<crate::gcp_auth::TokenSource>, Option<String>)>,
    /// `litellm_settings.drop_params`.
    drop_params: Option<bool>,
}

impl Build {
    /// The token source for a credentials spec (a file or the JSON),
    /// started on first use and shared by every deployment and route that
    /// names the same spec.
    fn gcp_source(&mut self, spec: &str) -> Result<usize, String> {
        if let Some(i) = self.gcp.iter().position(|(s, _, _)| s == spec) {
            return Ok(i);
        }
        let sa = crate::gcp_auth::ServiceAccount::load(spec)?;
        let project = sa.project_id.clone();
        self.gcp
            .push((spec.to_string(), start_token_source(sa), project));
        Ok(self.gcp.len() - 1)
    }
}

/// A resolved routing decision.
pub struct Pick<'a> {
    pub route: &'a Route,
    /// What `*` matched, for wildcard groups.
    pub wildcard_rest: Option<&'a str>,
}

fn secs_to_ms(s: Option<f64>, default_ms: u64) -> u64 {
    match s {
        Some(v) if v.is_finite() && v > 0.0 => (v * 1000.0) as u64,
        _ => default_ms,
    }
}

impl Route {
    /// The backend for a request, and the model id to send: a `model: "*"`
    /// deployment picks the provider named by the request's prefix
    /// (`groq/llama-3.1-8b` → Groq, `llama-3.1-8b`); anything else is the
    /// deployment's own backend.
    pub fn backend_for_request<'a>(
        &'a self,
        wildcard_rest: Option<&'a str>,
    ) -> (&'a Backend, Option<&'a str>) {
        if let Some(rest) = wildcard_rest {
            if let Some((prefix, model)) = rest.split_once('/') {
                if let Some((_, b)) = self.by_provider.iter().find(|(p, _)| *p == prefix) {
                    return (b, Some(model));
                }
            }
        }
        (&self.backend, wildcard_rest)
    }
}

impl Router {
    pub fn build(cfg: &Config) -> Result<Router, String> {
        let default_timeout_ms =
            secs_to_ms(cfg.router.timeout.or(cfg.litellm.request_timeout), 600_000);
        let mut b = Build {
            drop_params: cfg.litellm.drop_params,
            ..Build::default()
        };
        let mut routes = Vec::with_capacity(cfg.model_list.len());
        for d in &cfg.model_list {
            let backend = backend_for(d, &mut b)?;
            let by_provider = if d.provider == "*" && d.mock_response.is_none() {
                star_backends(d, &mut b)
            } else {
                Vec::new()
            };
            routes.push(Route {
                by_provider,
                model_name: d.model_name.clone(),
                model: d.model.clone(),
                provider: d.provider.clone(),
                id: d.id.clone(),
                backend,
                model_json: quote(&d.upstream_model),
                upstream_model: d.upstream_model.clone(),
                timeout_ms: secs_to_ms(d.timeout, default_timeout_ms),
                timeout_s: d.timeout,
                stream_timeout_ms: secs_to_ms(d.stream_timeout.or(d.timeout), default_timeout_ms),
                max_retries: d.max_retries,
            });
        }
        let mut exact: HashMap<String, Group> = HashMap::new();
        let mut wild: Vec<(String, Group)> = Vec::new();
        let mut group_order = Vec::new();
        for (i, d) in cfg.model_list.iter().enumerate() {
            let name = &d.model_name;
            if !group_order.contains(name) {
                group_order.push(name.clone());
            }
            if let Some(prefix) = name.strip_suffix('*') {
                match wild.iter_mut().find(|(p, _)| p == prefix) {
                    Some((_, g)) => g.routes.push(i),
                    None => wild.push((
                        prefix.to_string(),
                        Group {
                            name: name.clone(),
                            routes: vec![i],
                            cumulative: Vec::new(),
                        },
                    )),
                }
            } else {
                exact
                    .entry(name.clone())
                    .or_insert_with(|| Group {
                        name: name.clone(),
                        ..Group::default()
                    })
                    .routes
                    .push(i);
            }
        }
        for g in exact.values_mut() {
            g.cumulative = cumulative_weights(&g.routes, &cfg.model_list);
        }
        for (_, g) in wild.iter_mut() {
            g.cumulative = cumulative_weights(&g.routes, &cfg.model_list);
        }
        wild.sort_by_key(|w| std::cmp::Reverse(w.0.len()));
        let pass_through = pass_through_routes(&mut b);
        Ok(Router {
            pass_through,
            routes,
            exact,
            wildcards: wild,
            origins: Arc::new(b.origins),
            group_order,
            gcp_tokens: GcpTokens(b.gcp.into_iter().map(|(_, s, _)| s).collect()),
        })
    }

    /// Whether any wildcard group exists (LiteLLM words the unknown-model
    /// error differently then).
    pub fn has_wildcard(&self) -> bool {
        !self.wildcards.is_empty()
    }

    /// The group for a requested model name.
    pub fn group<'a>(&'a self, model: &'a str) -> Option<(&'a Group, Option<&'a str>)> {
        if let Some(g) = self.exact.get(model) {
            return Some((g, None));
        }
        self.wildcards
            .iter()
            .find(|(p, _)| model.starts_with(p.as_str()))
            .map(|(p, g)| (g, Some(&model[p.len()..])))
    }

    /// Weighted random choice within a group. `skip` excludes one route (the
    /// one that just failed) when the group has others: a retry goes to
    /// another deployment, drawn by the same weights.
    pub fn choose(&self, g: &Group, rng: &mut fastrand::Rng, skip: Option<usize>) -> usize {
        let n = g.routes.len();
        if n == 1 {
            return g.routes[0];
        }
        let total = g.cumulative.last().copied().unwrap_or(0.0);
        let skip_pos = skip.and_then(|s| g.routes.iter().position(|&r| r == s));
        let weight_of = |i: usize| g.cumulative[i] - if i == 0 { 0.0 } else { g.cumulative[i - 1] };
        let skipped_w = skip_pos.map(weight_of).unwrap_or(0.0);
        let avail = total - skipped_w;
        if avail > 0.0 {
            let mut x = rng.f64() * avail;
            for i in 0..n {
                if Some(i) == skip_pos {
                    continue;
                }
                let w = weight_of(i);
                if x < w {
                    return g.routes[i];
                }
                x -= w;
            }
            // Rounding at the top end: the last eligible route.
            let last = (0..n)
                .rev()
                .find(|&i| Some(i) != skip_pos && weight_of(i) > 0.0);
            if let Some(i) = last {
                return g.routes[i];
            }
        }
        // Uniform among the eligible routes.
        let eligible = n - skip_pos.is_some() as usize;
        let mut k = rng.usize(..eligible);
        if let Some(sp) = skip_pos {
            if k >= sp {
                k += 1;
            }
        }
        g.routes[k]
    }
}

/// LiteLLM simple-shuffle: the first of weight / rpm / tpm that any
/// deployment of the group sets decides; deployments missing it weigh 0.
/// All zero means uniform (signalled by an empty total).
fn cumulative_weights(routes: &[usize], list: &[Deployment]) -> Vec<f64> {
    let pickers: [fn(&Deployment) -> Option<f64>; 3] = [
        |d| d.weight,
        |d| d.rpm.map(|v| v as f64),
        |d| d.tpm.map(|v| v as f64),
    ];
    for get in pickers {
        if routes
            .iter()
            .any(|&i| get(&list[i]).is_some_and(|w| w > 0.0))
        {
            let mut acc = 0.0;
            return routes
                .iter()
                .map(|&i| {
                    acc += get(&list[i])
                        .filter(|w| w.is_finite() && *w > 0.0)
                        .unwrap_or(0.0);
                    acc
                })
                .collect();
        }
    }
    vec![0.0; routes.len()]
}

fn backend_for(d: &Deployment, b: &mut Build) -> Result<Backend, String> {
    if let Some(m) = &d.mock_response {
        return Ok(Backend::Mock(m.clone()));
    }
    let provider = d.provider.as_str();
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match provider {
        "gemini" => return gemini_target(d, &mut b.origins, &env),
        "vertex_ai" | "vertex_ai_beta" => return vertex_target(d, b, &env),
        "bedrock" | "bedrock_converse" => return bedrock_target(d, &mut b.origins, &env),
        "cohere" | "cohere_chat" => return cohere_target(d, &mut b.origins, &env),
        _ => {}
    }
    let origins = &mut b.origins;
    if NEEDS_TRANSLATION.contains(&provider) {
        return Ok(Backend::Unsupported(format!(
            "Ringway does not support provider '{provider}' yet (deployment '{}', model '{}'); only OpenAI-compatible deployments are served",
            d.model_name, d.model
        )));
    }
    // Where the deployment lives and how it authenticates: Azure OpenAI has
    // its own URL scheme; the OpenAI-compatible family comes from the
    // provider table (default base URL, key variables, header, quirks); any
    // other prefix is served as OpenAI-compatible when given an api_base.
    if provider == "anthropic" {
        return anthropic_target(d, origins, &env);
    }
    // `x/y` whose `x` is no provider LiteLLM knows, with nowhere to send it:
    // LiteLLM refuses such a model (`get_llm_provider`), and so does Ringway
    // rather than guess that it is an OpenAI model id.
    if provider == "openai" && d.api_base.is_none() {
        if let Some((prefix, _)) = d.model.split_once('/') {
            if prefix != "openai" {
                return Ok(Backend::Unsupported(format!(
                    "LLM Provider NOT provided. Pass in the LLM provider you are trying to call. You passed model={}\n Pass model as E.g. For 'Huggingface' inference endpoints pass in `completion(model='huggingface/starcoder',..)` Learn more: https://docs.litellm.ai/docs/providers",
                    d.model
                )));
            }
        }
    }
    let azure = provider == "azure";
    let table = crate::providers::lookup(if provider == "*" { "openai" } else { provider });
    let base = match (&d.api_base, provider, table) {
        (None, "azure", _) => match env("AZURE_API_BASE") {
            Some(b) => b,
            None => {
                return Ok(Backend::Unsupported(format!(
                    "azure deployment '{}' has no api_base (and AZURE_API_BASE is not set)",
                    d.model_name
                )))
            }
        },
        (Some(b), "azure", _) | (Some(b), _, None) => b.clone(),
        (api_base, _, Some(p)) => match crate::providers::resolve_base(p, api_base.as_deref(), &env) {
            Some(b) => b,
            None => {
                return Ok(Backend::Unsupported(format!(
                    "deployment '{}' uses provider '{}', which needs an api_base (or {})",
                    d.model_name,
                    p.name,
                    p.base_env.join(" / ")
                )))
            }
        },
        (None, p, None) => {
            return Ok(Backend::Unsupported(format!(
                "deployment '{}' uses provider '{p}' without an api_base; Ringway does not know its default endpoint",
                d.model_name
            )))
        }
    };
    let url = parse_base_url(&base).map_err(|e| format!("model_list '{}': {e}", d.model_name))?;
    let origin = origin_of(&url, &base, origins)?;
    let mut h = host_header(&url);
    let explicit_key = d.api_key.as_deref().filter(|k| !k.is_empty());
    let key = match (azure, table) {
        (true, _) => explicit_key
            .map(str::to_string)
            .or_else(|| env("AZURE_OPENAI_API_KEY"))
            .or_else(|| env("AZURE_API_KEY")),
        (false, Some(p)) => crate::providers::resolve_key(p, explicit_key, &env),
        (false, None) => explicit_key.map(str::to_string),
    };
    let key_header = match table {
        Some(p) => p.key_header_for(&base),
        None => crate::providers::KeyHeader::Bearer,
    };
    let ad_token = d.azure_ad_token.clone().filter(|t| !t.is_empty());
    match (azure, ad_token, key) {
        // Azure: an Entra ID token wins over the key (LiteLLM's order).
        (true, Some(t), _) => {
            check_header_value(&t, "azure_ad_token")?;
            push_header(&mut h, "authorization", &format!("Bearer {t}"));
        }
        (true, None, Some(k)) => {
            check_header_value(&k, "api_key")?;
            push_header(&mut h, "api-key", &k);
        }
        (false, _, Some(k)) => {
            check_header_value(&k, "api_key")?;
            match key_header {
                crate::providers::KeyHeader::Bearer => {
                    push_header(&mut h, "authorization", &format!("Bearer {k}"))
                }
                crate::providers::KeyHeader::Header(name) => push_header(&mut h, name, &k),
            }
        }
        (_, _, None) => {}
    }
    if let Some(org) = &d.organization {
        check_header_value(org, "organization")?;
        h.extend_from_slice(b"openai-organization: ");
        h.extend_from_slice(org.as_bytes());
        h.extend_from_slice(b"\r\n");
    }
    for (k, v) in &d.extra_headers {
        if k.is_empty() || k.bytes().any(|c| !(c.is_ascii_graphic()) || c == b':') {
            return Err(format!("extra_headers: invalid header name '{k}'"));
        }
        check_header_value(v, k)?;
        h.extend_from_slice(k.as_bytes());
        h.extend_from_slice(b": ");
        h.extend_from_slice(v.as_bytes());
        h.extend_from_slice(b"\r\n");
    }
    h.extend_from_slice(
        b"content-type: application/json\r\naccept: application/json\r\nuser-agent: ringway/",
    );
    h.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes());
    h.extend_from_slice(b"\r\n");
    // Request targets per endpoint, precomputed. Azure names the deployment
    // in the path and wants `api-version` (LiteLLM's default when unset).
    let paths = if azure {
        let version = d
            .api_version
            .clone()
            .or_else(|| env("AZURE_API_VERSION"))
            .unwrap_or_else(|| AZURE_DEFAULT_API_VERSION.to_string());
        let dep = &d.upstream_model;
        if dep.is_empty()
            || dep
                .bytes()
                .any(|c| c <= b' ' || matches!(c, b'/' | b'?' | b'#'))
        {
            return Err(format!(
                "model_list '{}': azure deployment name '{dep}' is not usable in a URL path",
                d.model_name
            ));
        }
        check_header_value(&version, "api_version")?;
        ENDPOINT_SUFFIXES.map(|suffix| {
            if suffix == "/responses" {
                // Azure's Responses API is per resource; the body's model
                // names the deployment.
                format!("{}/openai/responses?api-version={version}", url.path)
            } else {
                format!(
                    "{}/openai/deployments/{dep}{suffix}?api-version={version}",
                    url.path
                )
            }
        })
    } else {
        ENDPOINT_SUFFIXES.map(|suffix| format!("{}{suffix}", url.path))
    };
    Ok(Backend::OpenAi(Target {
        origin,
        paths,
        fixed_headers: h,
        api_base: base,
        max_tokens_rename: table.is_some_and(|p| p.max_completion_tokens_as_max_tokens),
        wire: Wire::OpenAi,
        url_prefix: String::new(),
        auth: UpAuth::Fixed,
        unsupported_params: table.map_or(0, |p| crate::providers::param_mask(p.unsupported_params)),
        drop_params: d.drop_params.or(b.drop_params).unwrap_or(false),
    }))
}

/// Backends for every provider a `model: "*"` deployment can reach: the
/// table's OpenAI-compatible providers whose base URL is known, and
/// Anthropic. Providers that cannot be reached
/// without more configuration are left out (their requests fall back to the
/// deployment's own OpenAI target, as an unknown prefix would).
fn star_backends(d: &Deployment, b: &mut Build) -> Vec<(&'static str, Backend)> {
    let mut names: Vec<&'static str> = crate::providers::PROVIDERS.iter().map(|p| p.name).collect();
    // Azure is left out: its URL names a deployment, which a bare model id
    // does not identify.
    names.push("anthropic");
    let mut out = Vec::new();
    for name in names {
        let mut probe = d.clone();
        probe.provider = name.to_string();
        probe.api_base = None;
        probe.api_key = None;
        if let Ok(be @ Backend::OpenAi(_)) = backend_for(&probe, b) {
            out.push((name, be));
        }
    }
    out
}

/// The numbered origin of an `api_base`, added on first sight.
fn origin_of(
    url: &crate::upstream::BaseUrl,
    base: &str,
    origins: &mut Vec<Origin>,
) -> Result<usize, String> {
    if let Some(i) = origins
        .iter()
        .position(|o| o.tls == url.tls && o.host == url.host && o.port == url.port)
    {
        return Ok(i);
    }
    let server_name = if url.tls {
        Some(
            rustls_pki_types::ServerName::try_from(url.host.clone())
                .map_err(|e| format!("api_base '{base}': {e}"))?,
        )
    } else {
        None
    };
    origins.push(Origin {
        tls: url.tls,
        host: url.host.clone(),
        port: url.port,
        server_name,
    });
    Ok(origins.len() - 1)
}

/// `host:` line for a base URL (port only when not the scheme's default).
fn host_header(url: &crate::upstream::BaseUrl) -> Vec<u8> {
    let default_port = if url.tls { 443 } else { 80 };
    let mut h = Vec::new();
    h.extend_from_slice(b"host: ");
    if url.host.contains(':') {
        h.extend_from_slice(format!("[{}]", url.host).as_bytes());
    } else {
        h.extend_from_slice(url.host.as_bytes());
    }
    if url.port != default_port {
        h.extend_from_slice(format!(":{}", url.port).as_bytes());
    }
    h.extend_from_slice(b"\r\n");
    h
}

/// Anthropic's default endpoint and API version (LiteLLM 1.106.2,
/// `llms/anthropic/common_utils.py`).
pub const ANTHROPIC_BASE: &str = "https://api.anthropic.com";
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// `anthropic/` deployments: the Messages API at `{api_base}/v1/messages`
/// (an `api_base` already ending in `/v1/messages` is used as is), keyed by
/// `x-api-key` from `api_key` or `ANTHROPIC_API_KEY`.
fn anthropic_target(
    d: &Deployment,
    origins: &mut Vec<Origin>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Backend, String> {
    let (base, key) = base_and_key(
        d,
        env,
        &["ANTHROPIC_API_BASE", "ANTHROPIC_BASE_URL"],
        ANTHROPIC_BASE,
        &["ANTHROPIC_API_KEY"],
    );
    // An `api_base` already ending in `/v1/messages` is used as it is.
    let messages = if base.trim_end_matches('/').ends_with("/v1/messages") {
        ""
    } else {
        "/v1/messages"
    };
    let path = || messages.to_string();
    provider_target(
        d,
        origins,
        base,
        key.map(|k| ("x-api-key", k)),
        Wire::Anthropic,
        [path(), path(), path(), path()],
        String::new(),
        UpAuth::Fixed,
    )
}

/// The deployment's `api_base`, else the first of `base_env` set, else
/// `default`; and its non-empty `api_key`, else the first of `key_env` set.
fn base_and_key(
    d: &Deployment,
    env: &dyn Fn(&str) -> Option<String>,
    base_env: &[&str],
    default: &str,
    key_env: &[&str],
) -> (String, Option<String>) {
    let base = d
        .api_base
        .clone()
        .or_else(|| base_env.iter().find_map(|k| env(k)))
        .unwrap_or_else(|| default.to_string());
    let key = d
        .api_key
        .clone()
        .filter(|k| !k.is_empty())
        .or_else(|| key_env.iter().find_map(|k| env(k)));
    (base, key)
}

/// A translated provider's target: its origin, `host`, the credential
/// header if it is a fixed one, `extra_headers`, and JSON content headers.
#[allow(clippy::too_many_arguments)]
fn provider_target(
    d: &Deployment,
    origins: &mut Vec<Origin>,
    base: String,
    key_header: Option<(&str, String)>,
    wire: Wire,
    paths: [String; 4],
    url_prefix: String,
    auth: UpAuth,
) -> Result<Backend, String> {
    let url = parse_base_url(&base).map_err(|e| format!("model_list '{}': {e}", d.model_name))?;
    let origin = origin_of(&url, &base, origins)?;
    let mut h = host_header(&url);
    if let Some((name, value)) = key_header {
        check_header_value(&value, "api_key")?;
        push_header(&mut h, name, &value);
    }
    for (k, v) in &d.extra_headers {
        check_header_value(v, k)?;
        push_header(&mut h, k, v);
    }
    h.extend_from_slice(
        b"content-type: application/json\r\naccept: application/json\r\nuser-agent: ringway/",
    );
    h.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes());
    h.extend_from_slice(b"\r\n");
    let (paths, url_prefix) = if crate::convert::model_in_path(wire) {
        (paths, format!("{}{url_prefix}", url.path))
    } else {
        (paths.map(|p| format!("{}{p}", url.path)), url_prefix)
    };
    Ok(Backend::OpenAi(Target {
        origin,
        paths,
        fixed_headers: h,
        api_base: base,
        max_tokens_rename: false,
        wire,
        url_prefix,
        auth,
        unsupported_params: 0,
        drop_params: false,
    }))
}

/// The model id must be usable as one URL path segment (it goes in the
/// path for Gemini, Vertex AI and Bedrock).
fn check_path_model(d: &Deployment) -> Result<(), String> {
    let m = &d.upstream_model;
    if m.bytes().any(|c| c <= b' ' || matches!(c, b'?' | b'#')) {
        return Err(format!(
            "model_list '{}': model id '{m}' is not usable in a URL path",
            d.model_name
        ));
    }
    Ok(())
}

/// `gemini/<model>`: Google AI Studio, `x-goog-api-key` from `api_key`,
/// `GEMINI_API_KEY` or `GOOGLE_API_KEY` (LiteLLM's order).
fn gemini_target(
    d: &Deployment,
    origins: &mut Vec<Origin>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Backend, String> {
    check_path_model(d)?;
    let (base, key) = base_and_key(
        d,
        env,
        &["GEMINI_API_BASE"],
        "https://generativelanguage.googleapis.com",
        &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
    );
    let none = || String::new();
    provider_target(
        d,
        origins,
        base,
        key.map(|k| ("x-goog-api-key", k)),
        Wire::Gemini,
        [none(), none(), none(), none()],
        "/v1beta/models/".to_string(),
        UpAuth::Fixed,
    )
}

/// `vertex_ai/<model>`: Vertex AI's `publishers/google` models (and Claude
/// at `publishers/anthropic`), with an
/// OAuth token from the service account in `vertex_credentials` (a file or
/// the JSON) or `GOOGLE_APPLICATION_CREDENTIALS`, refreshed off the shards.
fn vertex_target(
    d: &Deployment,
    b: &mut Build,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Backend, String> {
    check_path_model(d)?;
    // Claude models are Anthropic's Messages API at `publishers/anthropic`
    // (LiteLLM's `VertexAIPartnerModels`, chosen by "claude" in the name).
    let m = &d.upstream_model;
    let partner = [
        "llama",
        "mistral",
        "codestral",
        "jamba",
        "deepseek",
        "qwen",
        "gpt-oss",
    ];
    if m.contains('/') || partner.iter().any(|p| m.contains(p)) {
        return Ok(Backend::Unsupported(format!(
            "Ringway does not support Vertex AI partner model '{m}' yet (deployment '{}'); Gemini and Claude models are supported",
            d.model_name
        )));
    }
    let (wire, publisher) = if m.contains("claude") {
        (Wire::VertexAnthropic, "anthropic")
    } else {
        (Wire::Vertex, "google")
    };
    let Some(creds) = d
        .vertex_credentials
        .clone()
        .or_else(|| env("GOOGLE_APPLICATION_CREDENTIALS"))
    else {
        return Ok(Backend::Unsupported(format!(
            "vertex_ai deployment '{}' has no vertex_credentials (and GOOGLE_APPLICATION_CREDENTIALS is not set); Ringway supports service-account credentials",
            d.model_name
        )));
    };
    let index = b
        .gcp_source(&creds)
        .map_err(|e| format!("model_list '{}': vertex_credentials: {e}", d.model_name))?;
    let project = d
        .vertex_project
        .clone()
        .or_else(|| env("VERTEXAI_PROJECT"))
        .or_else(|| env("VERTEX_PROJECT"))
        .or_else(|| b.gcp[index].2.clone())
        .ok_or_else(|| {
            format!(
                "model_list '{}': vertex_ai needs vertex_project (or VERTEXAI_PROJECT)",
                d.model_name
            )
        })?;
    let location = d
        .vertex_location
        .clone()
        .or_else(|| env("VERTEXAI_LOCATION"))
        .or_else(|| env("VERTEX_LOCATION"))
        .unwrap_or_else(|| "us-central1".to_string());
    for (v, what) in [(&project, "vertex_project"), (&location, "vertex_location")] {
        if v.is_empty()
            || !v
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        {
            return Err(format!(
                "model_list '{}': {what} '{v}' is not valid",
                d.model_name
            ));
        }
    }
    let base = d.api_base.clone().unwrap_or_else(|| {
        if location == "global" {
            "https://aiplatform.googleapis.com".to_string()
        } else {
            format!("https://{location}-aiplatform.googleapis.com")
        }
    });
    let none = || String::new();
    provider_target(
        d,
        &mut b.origins,
        base,
        None,
        wire,
        [none(), none(), none(), none()],
        format!("/v1/projects/{project}/locations/{location}/publishers/{publisher}/models/"),
        UpAuth::GcpToken(index),
    )
}

/// Starts a token source and gives it a few seconds for its first token,
/// so the first requests after start-up find one. A failure is logged, not
/// fatal: LiteLLM, too, only fails the requests, and the source keeps
/// retrying.
fn start_token_source(sa: crate::gcp_auth::ServiceAccount) -> Arc<crate::gcp_auth::TokenSource> {
    let email = sa.client_email.clone();
    let source = crate::gcp_auth::TokenSource::start(sa);
    if let Err(e) = source.wait_ready(std::time::Duration::from_secs(5)) {
        log::warn!("Google access token for {email} not available yet: {e}");
    }
    source
}

/// `bedrock/<model>` (also `bedrock/converse/…`, `bedrock/invoke/…`): the
/// Bedrock runtime in the deployment's region, SigV4-signed per request.
fn bedrock_target(
    d: &Deployment,
    origins: &mut Vec<Origin>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Backend, String> {
    // Models LiteLLM invokes with a provider-specific body Ringway does not
    // translate (Titan Text, Llama 2, ...) take the Converse API, which
    // Bedrock offers for them too.
    let api = match crate::bedrock::route(&d.upstream_model).0 {
        crate::bedrock::BedrockApi::InvokeOther => crate::bedrock::BedrockApi::Converse,
        api => api,
    };
    let creds = match crate::bedrock::AwsCredentials::resolve(
        d.aws_access_key_id.as_deref(),
        d.aws_secret_access_key.as_deref(),
        d.aws_session_token.as_deref(),
        d.aws_region_name.as_deref(),
        env,
    ) {
        Ok(c) => c,
        Err(e) => {
            return Ok(Backend::Unsupported(format!(
                "bedrock deployment '{}': {e}",
                d.model_name
            )))
        }
    };
    for v in [&creds.access_key_id, &creds.region] {
        check_header_value(v, "aws credentials")?;
    }
    if let Some(t) = &creds.session_token {
        check_header_value(t, "aws_session_token")?;
    }
    let base = d
        .api_base
        .clone()
        .or_else(|| env("AWS_BEDROCK_RUNTIME_ENDPOINT"))
        .unwrap_or_else(|| format!("https://bedrock-runtime.{}.amazonaws.com", creds.region));
    let none = || String::new();
    provider_target(
        d,
        origins,
        base,
        None,
        Wire::Bedrock(api),
        [none(), none(), none(), none()],
        String::new(),
        UpAuth::SigV4(Arc::new(creds)),
    )
}

/// `cohere/<model>` and `cohere_chat/<model>`: Cohere's v2 API, keyed by
/// `api_key` or `COHERE_API_KEY` (`CO_API_KEY`).
fn cohere_target(
    d: &Deployment,
    origins: &mut Vec<Origin>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Backend, String> {
    let (base, key) = base_and_key(
        d,
        env,
        &["COHERE_API_BASE"],
        "https://api.cohere.com",
        &["COHERE_API_KEY", "CO_API_KEY"],
    );
    let chat = "/v2/chat".to_string();
    provider_target(
        d,
        origins,
        base,
        key.map(|k| ("authorization", format!("Bearer {k}"))),
        Wire::Cohere,
        [chat.clone(), chat.clone(), "/v2/embed".to_string(), chat],
        String::new(),
        UpAuth::Fixed,
    )
}

/// Path suffixes of the proxied endpoints, indexed by `Endpoint::index`.
pub const ENDPOINT_SUFFIXES: [&str; 4] = [
    "/chat/completions",
    "/completions",
    "/embeddings",
    "/responses",
];

/// LiteLLM's `AZURE_DEFAULT_API_VERSION` (litellm/__init__.py, 1.106.2).
pub const AZURE_DEFAULT_API_VERSION: &str = "2025-02-01-preview";

fn push_header(h: &mut Vec<u8>, name: &str, value: &str) {
    h.extend_from_slice(name.as_bytes());
    h.extend_from_slice(b": ");
    h.extend_from_slice(value.as_bytes());
    h.extend_from_slice(b"\r\n");
}

/// A configured value placed in a header must not be able to inject lines.
fn check_header_value(v: &str, what: &str) -> Result<(), String> {
    if v.bytes().any(|c| c == b'\r' || c == b'\n' || c == 0) {
        return Err(format!("{what}: value contains a line break"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(yaml: &str) -> Router {
        let cfg = Config::from_str(yaml, "test.yaml").unwrap();
        Router::build(&cfg).unwrap()
    }

    fn counts(r: &Router, model: &str, n: usize) -> Vec<usize> {
        let (g, _) = r.group(model).unwrap();
        let mut rng = fastrand::Rng::with_seed(42);
        let mut c = vec![0; r.routes.len()];
        for _ in 0..n {
            c[r.choose(g, &mut rng, None)] += 1;
        }
        c
    }

    const TWO: &str = "model_list:\n  - model_name: g\n    litellm_params:\n      model: openai/a\n      api_base: http://127.0.0.1:1/v1\n      WEIGHT_A\n  - model_name: g\n    litellm_params:\n      model: openai/b\n      api_base: http://127.0.0.1:2/v1\n      WEIGHT_B\n";

    #[test]
    fn weight_then_rpm_then_uniform() {
        let r = router(
            &TWO.replace("WEIGHT_A", "weight: 3")
                .replace("WEIGHT_B", "weight: 1"),
        );
        let c = counts(&r, "g", 40_000);
        let share = c[0] as f64 / 40_000.0;
        assert!((share - 0.75).abs() < 0.02, "weight share {share}");
        // rpm decides when no weight is set.
        let r = router(
            &TWO.replace("WEIGHT_A", "rpm: 100")
                .replace("WEIGHT_B", "rpm: 300"),
        );
        let c = counts(&r, "g", 40_000);
        let share = c[1] as f64 / 40_000.0;
        assert!((share - 0.75).abs() < 0.02, "rpm share {share}");
        // Nothing set: uniform.
        let r = router(
            &TWO.replace("WEIGHT_A", "tpm: 0")
                .replace("WEIGHT_B", "tpm: 0"),
        );
        let c = counts(&r, "g", 40_000);
        let share = c[0] as f64 / 40_000.0;
        assert!((share - 0.5).abs() < 0.02, "uniform share {share}");
    }

    #[test]
    fn skip_avoids_the_failed_deployment() {
        let r = router(
            &TWO.replace("WEIGHT_A", "weight: 1000")
                .replace("WEIGHT_B", "weight: 1"),
        );
        let (g, _) = r.group("g").unwrap();
        let mut rng = fastrand::Rng::with_seed(1);
        let picks: Vec<usize> = (0..100).map(|_| r.choose(g, &mut rng, Some(0))).collect();
        assert!(picks.iter().filter(|&&p| p == 1).count() > 90);
    }

    #[test]
    fn wildcards_and_backends() {
        let r = router(
            "model_list:\n  - model_name: \"openai/*\"\n    litellm_params:\n      model: \"openai/*\"\n  - model_name: \"fake/*\"\n    litellm_params:\n      model: \"openai/*\"\n      api_base: http://127.0.0.1:9/v1\n  - model_name: claude\n    litellm_params:\n      model: anthropic/claude-3-5-sonnet\n  - model_name: demo\n    litellm_params:\n      model: openai/demo\n      mock_response: hi\n",
        );
        let (g, rest) = r.group("fake/gpt-x").unwrap();
        assert_eq!(rest, Some("gpt-x"));
        assert_eq!(r.routes[g.routes[0]].upstream_model, "*");
        let (_, rest) = r.group("openai/gpt-4o").unwrap();
        assert_eq!(rest, Some("gpt-4o"));
        assert!(r.group("nope").is_none());
        let (g, _) = r.group("claude").unwrap();
        match &r.routes[g.routes[0]].backend {
            Backend::OpenAi(t) => {
                assert_eq!(t.wire, Wire::Anthropic);
                assert_eq!(t.paths[0], "/v1/messages");
                assert_eq!(t.api_base, ANTHROPIC_BASE);
            }
            other => panic!("{other:?}"),
        }
        let (g, _) = r.group("demo").unwrap();
        assert!(matches!(r.routes[g.routes[0]].backend, Backend::Mock(_)));
        let (g, _) = r.group("openai/x").unwrap();
        match &r.routes[g.routes[0]].backend {
            Backend::OpenAi(t) => assert_eq!(t.api_base, OPENAI_BASE),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn header_injection_refused() {
        let r = Config::from_str(
            "model_list:\n  - model_name: g\n    litellm_params:\n      model: openai/a\n      api_base: http://127.0.0.1:1/v1\n      extra_headers: {\"x-a\": \"b\\r\\nx-evil: 1\"}\n",
            "t.yaml",
        );
        assert!(r.is_err());
    }

    #[test]
    fn provider_table_defaults() {
        // A variable only this test reads, so setting it cannot race.
        std::env::set_var("NEBIUS_API_KEY", "neb-key-from-env");
        let r = router(
            "model_list:\n  - model_name: a\n    litellm_params:\n      model: nebius/meta-llama/Llama-3.3-70B-Instruct\n  - model_name: b\n    litellm_params:\n      model: hosted_vllm/my-model\n  - model_name: c\n    litellm_params:\n      model: someprefix/x\n      api_base: http://127.0.0.1:9/v1\n",
        );
        let (g, _) = r.group("a").unwrap();
        let route = &r.routes[g.routes[0]];
        assert_eq!(route.upstream_model, "meta-llama/Llama-3.3-70B-Instruct");
        match &route.backend {
            Backend::OpenAi(t) => {
                assert_eq!(t.api_base, "https://api.studio.nebius.ai/v1");
                assert_eq!(t.paths[0], "/v1/chat/completions");
                let h = String::from_utf8_lossy(&t.fixed_headers);
                assert!(
                    h.contains("authorization: Bearer neb-key-from-env\r\n"),
                    "{h}"
                );
            }
            other => panic!("{other:?}"),
        }
        // hosted_vllm needs an api_base.
        let (g, _) = r.group("b").unwrap();
        assert!(matches!(
            r.routes[g.routes[0]].backend,
            Backend::Unsupported(_)
        ));
        let (g, _) = r.group("c").unwrap();
        assert!(matches!(r.routes[g.routes[0]].backend, Backend::OpenAi(_)));
        // An unknown prefix with no api_base: LiteLLM's error, not a guess.
        let r = router(
            "model_list:\n  - model_name: d\n    litellm_params:\n      model: nosuchprovider/x\n",
        );
        let (g, _) = r.group("d").unwrap();
        match &r.routes[g.routes[0]].backend {
            Backend::Unsupported(m) => assert!(m.starts_with("LLM Provider NOT provided"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
