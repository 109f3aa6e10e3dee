//! Every translated provider end to end: the real `ringway` binary in front
//! of the real `mock_llm`, which speaks each provider's wire format and
//! validates what it receives (auth header, OAuth token or SigV4 signature,
//! path, body schema). Per provider: chat non-stream and stream, tools,
//! embeddings, error mapping, and the Anthropic and Responses clients on
//! the same deployment.

mod common;

use common::*;

/// One provider under test: how to start its mock and configure a
/// deployment of it.
struct Provider {
    name: &'static str,
    /// The mock, keyed to check credentials (kept alive for the test).
    _mock: Mock,
    /// Keeps generated credential files alive.
    _dir: TempDir,
    /// `litellm_params` lines (6-space indent) for upstream model `m`.
    params: Box<dyn Fn(&str) -> String>,
    /// The LiteLLM exception class in error messages.
    exception: &'static str,
    /// An embedding model id, when the provider has embeddings.
    embed_model: Option<&'static str>,
    /// A chat model id.
    chat_model: &'static str,
}

fn gemini() -> Provider {
    let mock = start_mock(&["--gemini-key", "gk-test"]);
    let url = mock.url.clone();
    Provider {
        name: "gemini",
        _mock: mock,
        _dir: TempDir::new("gemini"),
        params: Box::new(move |m| {
            format!("      model: gemini/{m}\n      api_base: {url}\n      api_key: gk-test\n")
        }),
        exception: "GeminiException",
        embed_model: Some("text-embedding-004"),
        chat_model: "gemini-2.0-flash",
    }
}

fn vertex() -> Provider {
    let dir = TempDir::new("vertex");
    let fixture = fixtures().join("gcp-service-account.json");
    let mock = start_mock(&["--google-service-account", fixture.to_str().unwrap()]);
    // The same account, with its token endpoint pointed at the mock.
    let mut sa: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&fixture).unwrap()).unwrap();
    sa["token_uri"] = format!("{}/token", mock.url).into();
    let creds = dir.0.join("sa.json");
    std::fs::write(&creds, sa.to_string()).unwrap();
    let url = mock.url.clone();
    let creds = creds.to_str().unwrap().to_string();
    Provider {
        name: "vertex_ai",
        _mock: mock,
        _dir: dir,
        params: Box::new(move |m| {
            format!(
                "      model: vertex_ai/{m}\n      api_base: {url}\n      vertex_project: ringway-test\n      vertex_location: us-central1\n      vertex_credentials: {creds}\n"
            )
        }),
        exception: "Vertex_aiException",
        embed_model: Some("text-embedding-005"),
        chat_model: "gemini-2.0-flash",
    }
}

fn bedrock() -> Provider {
    let mock = start_mock(&[
        "--aws-access-key-id",
        "AKIDRINGWAYTEST",
        "--aws-secret-access-key",
        "ringway/test/secret",
    ]);
    let url = mock.url.clone();
    Provider {
        name: "bedrock",
        _mock: mock,
        _dir: TempDir::new("bedrock"),
        params: Box::new(move |m| {
            format!(
                "      model: bedrock/{m}\n      api_base: {url}\n      aws_access_key_id: AKIDRINGWAYTEST\n      aws_secret_access_key: ringway/test/secret\n      aws_region_name: us-east-1\n"
            )
        }),
        exception: "BedrockException",
        embed_model: Some("amazon.titan-embed-text-v2:0"),
        chat_model: "converse/anthropic.claude-3-5-sonnet-20240620-v1:0",
    }
}

fn cohere() -> Provider {
    let mock = start_mock(&["--cohere-key", "ck-test"]);
    let url = mock.url.clone();
    Provider {
        name: "cohere",
        _mock: mock,
        _dir: TempDir::new("cohere"),
        params: Box::new(move |m| {
            format!("      model: cohere/{m}\n      api_base: {url}\n      api_key: ck-test\n")
        }),
        exception: "CohereException",
        embed_model: Some("embed-english-v3.0"),
        chat_model: "command-r-plus",
    }
}

/// Every provider, or those named in `RINGWAY_TEST_PROVIDERS` (comma
/// separated, e.g. `bedrock,cohere`) when debugging one.
fn providers() -> Vec<Provider> {
    let only = std::env::var("RINGWAY_TEST_PROVIDERS").unwrap_or_default();
    type Make = fn() -> Provider;
    let all: [(&str, Make); 4] = [
        ("gemini", gemini),
        ("vertex_ai", vertex),
        ("bedrock", bedrock),
        ("cohere", cohere),
    ];
    all.iter()
        .filter(|(name, _)| only.is_empty() || only.split(',').any(|o| o == *name))
        .map(|(_, make)| make())
        .collect()
}

/// A gateway with deployments `chat`, `embed`, and `fail-NNN` for the
/// error statuses, all on provider `p`; no retries (errors come back once).
fn gateway(p: &Provider) -> Gateway {
    let mut yaml = String::from("model_list:\n");
    let mut add = |name: &str, model: &str| {
        yaml.push_str(&format!(
            "  - model_name: {name}\n    litellm_params:\n{}",
            (p.params)(model)
        ));
    };
    add("chat", p.chat_model);
    if let Some(e) = p.embed_model {
        add("embed", e);
    }
    for s in [400, 401, 429, 500] {
        add(&format!("fail-{s}"), &format!("mock-fail-{s}"));
    }
    yaml.push_str(&format!(
        "general_settings:\n  master_key: {MASTER_KEY}\nlitellm_settings:\n  num_retries: 0\n"
    ));
    start_gateway(&yaml)
}

fn post(gw: &Gateway, path: &str, body: &str) -> Resp {
    let raw = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {MASTER_KEY}\r\nContent-Type: application/json\r\nanthropic-version: 2023-06-01\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    roundtrip(gw.addr, raw.as_bytes()).expect("a response")
}

/// The `data:` payloads of an SSE body, with their event names.
fn sse(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    let mut out = Vec::new();
    for ev in text.split("\n\n") {
        let mut name = String::new();
        let mut data = String::new();
        for line in ev.lines() {
            if let Some(n) = line.strip_prefix("event: ") {
                name = n.to_string();
            } else if let Some(d) = line.strip_prefix("data: ") {
                data.push_str(d);
            }
        }
        if !data.is_empty() {
            out.push((name, data));
        }
    }
    out
}

const TOOLS: &str = r#""tools":[{"type":"function","function":{"name":"get_weather","description":"Weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]"#;

#[test]
fn chat_non_stream_and_stream() {
    for p in providers() {
        let gw = gateway(&p);
        let r = post(
            &gw,
            "/v1/chat/completions",
            r#"{"model":"chat","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello there"}],"max_tokens":50,"temperature":0.2}"#,
        );
        assert_eq!(
            r.status,
            200,
            "{}: {}",
            p.name,
            String::from_utf8_lossy(&r.body)
        );
        let v = r.json();
        assert_eq!(v["object"], "chat.completion", "{}", p.name);
        assert_eq!(v["model"], "chat", "{}", p.name);
        let text = v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(text.starts_with("tok0"), "{}: {v}", p.name);
        assert_eq!(v["choices"][0]["finish_reason"], "stop", "{}", p.name);
        assert!(
            v["usage"]["prompt_tokens"].as_u64().unwrap_or(0) > 0,
            "{}: {v}",
            p.name
        );
        assert!(
            v["usage"]["completion_tokens"].as_u64().unwrap_or(0) > 0,
            "{}: {v}",
            p.name
        );

        let r = post(
            &gw,
            "/v1/chat/completions",
            r#"{"model":"chat","messages":[{"role":"user","content":"hello there"}],"max_tokens":50,"stream":true,"stream_options":{"include_usage":true}}"#,
        );
        assert_eq!(
            r.status,
            200,
            "{}: {}",
            p.name,
            String::from_utf8_lossy(&r.body)
        );
        assert!(
            r.header("content-type")
                .unwrap_or_default()
                .starts_with("text/event-stream"),
            "{}",
            p.name
        );
        let events = sse(&r.body);
        assert_eq!(
            events.last().map(|e| e.1.as_str()),
            Some("[DONE]"),
            "{}",
            p.name
        );
        let mut streamed = String::new();
        let mut finish = None;
        let mut usage = None;
        for (_, data) in &events[..events.len() - 1] {
            let c: serde_json::Value = serde_json::from_str(data).unwrap();
            assert_eq!(c["object"], "chat.completion.chunk", "{}", p.name);
            assert_eq!(c["model"], "chat", "{}", p.name);
            if let Some(t) = c["choices"][0]["delta"]["content"].as_str() {
                streamed.push_str(t);
            }
            if let Some(f) = c["choices"][0]["finish_reason"].as_str() {
                finish = Some(f.to_string());
            }
            if c["usage"].is_object() {
                usage = Some(c["usage"].clone());
            }
        }
        assert_eq!(
            streamed, text,
            "{}: stream and non-stream texts differ",
            p.name
        );
        assert_eq!(finish.as_deref(), Some("stop"), "{}", p.name);
        let usage = usage.unwrap_or_else(|| panic!("{}: no usage chunk", p.name));
        assert!(
            usage["completion_tokens"].as_u64().unwrap_or(0) > 0,
            "{}: {usage}",
            p.name
        );
    }
}

#[test]
fn tools_round_trip() {
    for p in providers() {
        let gw = gateway(&p);
        let body = format!(
            r#"{{"model":"chat","messages":[{{"role":"user","content":"please call a tool for Paris"}}],{TOOLS},"tool_choice":"required"}}"#
        );
        let r = post(&gw, "/v1/chat/completions", &body);
        assert_eq!(
            r.status,
            200,
            "{}: {}",
            p.name,
            String::from_utf8_lossy(&r.body)
        );
        let v = r.json();
        assert_eq!(
            v["choices"][0]["finish_reason"], "tool_calls",
            "{}: {v}",
            p.name
        );
        let call = &v["choices"][0]["message"]["tool_calls"][0];
        assert_eq!(call["type"], "function", "{}: {v}", p.name);
        assert_eq!(call["function"]["name"], "get_weather", "{}: {v}", p.name);
        let args = call["function"]["arguments"].as_str().unwrap();
        assert!(
            serde_json::from_str::<serde_json::Value>(args).is_ok(),
            "{}: {args}",
            p.name
        );
        let id = call["id"].as_str().unwrap().to_string();

        // The tool's answer goes back; the provider must accept the history.
        let body = format!(
            r#"{{"model":"chat","messages":[{{"role":"user","content":"weather in Paris?"}},{{"role":"assistant","content":null,"tool_calls":[{{"id":"{id}","type":"function","function":{{"name":"get_weather","arguments":"{{\"city\":\"Paris\"}}"}}}}]}},{{"role":"tool","tool_call_id":"{id}","content":"sunny, 21C"}}],{TOOLS}}}"#
        );
        let r = post(&gw, "/v1/chat/completions", &body);
        assert_eq!(
            r.status,
            200,
            "{}: {}",
            p.name,
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(
            r.json()["choices"][0]["finish_reason"],
            "stop",
            "{}",
            p.name
        );

        // Streamed tool call: the arguments arrive as deltas.
        let body = format!(
            r#"{{"model":"chat","stream":true,"messages":[{{"role":"user","content":"call a tool please"}}],{TOOLS},"tool_choice":"required"}}"#
        );
        let r = post(&gw, "/v1/chat/completions", &body);
        assert_eq!(
            r.status,
            200,
            "{}: {}",
            p.name,
            String::from_utf8_lossy(&r.body)
        );
        let events = sse(&r.body);
        let mut name = None;
        let mut finish = None;
        for (_, data) in &events {
            if data == "[DONE]" {
                continue;
            }
            let c: serde_json::Value = serde_json::from_str(data).unwrap();
            if let Some(n) = c["choices"][0]["delta"]["tool_calls"][0]["function"]["name"].as_str()
            {
                name = Some(n.to_string());
            }
            if let Some(f) = c["choices"][0]["finish_reason"].as_str() {
                finish = Some(f.to_string());
            }
        }
        assert_eq!(
            name.as_deref(),
            Some("get_weather"),
            "{}: {:?}",
            p.name,
            events
        );
        assert_eq!(finish.as_deref(), Some("tool_calls"), "{}", p.name);
    }
}

#[test]
fn embeddings() {
    for p in providers() {
        if p.embed_model.is_none() {
            continue;
        }
        let gw = gateway(&p);
        let r = post(
            &gw,
            "/v1/embeddings",
            r#"{"model":"embed","input":"hello world"}"#,
        );
        assert_eq!(
            r.status,
            200,
            "{}: {}",
            p.name,
            String::from_utf8_lossy(&r.body)
        );
        let v = r.json();
        assert_eq!(v["object"], "list", "{}: {v}", p.name);
        assert_eq!(v["data"][0]["object"], "embedding", "{}: {v}", p.name);
        let vec = v["data"][0]["embedding"].as_array().unwrap();
        assert!(
            !vec.is_empty() && vec.iter().all(|x| x.is_f64() || x.is_i64()),
            "{}: {v}",
            p.name
        );
        assert_eq!(v["model"], "embed", "{}: {v}", p.name);
    }
}

#[test]
fn upstream_errors_map_to_litellm_statuses() {
    for p in providers() {
        let gw = gateway(&p);
        for (status, class) in [
            (400, "litellm.BadRequestError"),
            (401, "litellm.AuthenticationError"),
            (429, "litellm.RateLimitError"),
            (500, "litellm.InternalServerError"),
        ] {
            let body = format!(
                r#"{{"model":"fail-{status}","messages":[{{"role":"user","content":"hi"}}]}}"#
            );
            let r = post(&gw, "/v1/chat/completions", &body);
            assert_eq!(
                r.status,
                status,
                "{}: {}",
                p.name,
                String::from_utf8_lossy(&r.body)
            );
            let v = r.json();
            let msg = v["error"]["message"].as_str().unwrap_or_default();
            // LiteLLM's wording: `litellm.<Class>: [<Class>: ]<Provider>Exception - …`.
            assert!(
                msg.starts_with(class) && msg.contains(&format!("{} - ", p.exception)),
                "{} {status}: {msg}",
                p.name
            );
            assert_eq!(v["error"]["code"], status.to_string(), "{}: {v}", p.name);
        }
    }
}

#[test]
fn anthropic_and_responses_clients() {
    for p in providers() {
        let gw = gateway(&p);
        let r = post(
            &gw,
            "/v1/messages",
            r#"{"model":"chat","max_tokens":64,"system":"be brief","messages":[{"role":"user","content":"hello"}]}"#,
        );
        assert_eq!(
            r.status,
            200,
            "{}: {}",
            p.name,
            String::from_utf8_lossy(&r.body)
        );
        let v = r.json();
        assert_eq!(v["type"], "message", "{}: {v}", p.name);
        assert!(
            v["content"][0]["text"]
                .as_str()
                .unwrap_or_default()
                .starts_with("tok0"),
            "{}: {v}",
            p.name
        );
        assert_eq!(v["stop_reason"], "end_turn", "{}: {v}", p.name);

        let r = post(
            &gw,
            "/v1/messages",
            r#"{"model":"chat","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hello"}]}"#,
        );
        assert_eq!(
            r.status,
            200,
            "{}: {}",
            p.name,
            String::from_utf8_lossy(&r.body)
        );
        let names: Vec<String> = sse(&r.body).into_iter().map(|e| e.0).collect();
        assert_eq!(
            names.first().map(String::as_str),
            Some("message_start"),
            "{}: {names:?}",
            p.name
        );
        assert_eq!(
            names.last().map(String::as_str),
            Some("message_stop"),
            "{}: {names:?}",
            p.name
        );
        assert!(
            names.iter().any(|n| n == "content_block_delta"),
            "{}: {names:?}",
            p.name
        );

        let r = post(
            &gw,
            "/v1/responses",
            r#"{"model":"chat","instructions":"be brief","input":"hello","max_output_tokens":64}"#,
        );
        assert_eq!(
            r.status,
            200,
            "{}: {}",
            p.name,
            String::from_utf8_lossy(&r.body)
        );
        let v = r.json();
        assert_eq!(v["object"], "response", "{}: {v}", p.name);
        assert_eq!(v["status"], "completed", "{}: {v}", p.name);
        let text = v["output"][0]["content"][0]["text"]
            .as_str()
            .unwrap_or_default();
        assert!(text.starts_with("tok0"), "{}: {v}", p.name);

        let r = post(
            &gw,
            "/v1/responses",
            r#"{"model":"chat","input":"hello","stream":true}"#,
        );
        assert_eq!(
            r.status,
            200,
            "{}: {}",
            p.name,
            String::from_utf8_lossy(&r.body)
        );
        // LiteLLM's proxy ends this stream with `data: [DONE]` too (unnamed).
        let names: Vec<String> = sse(&r.body)
            .into_iter()
            .filter(|e| e.1 != "[DONE]")
            .map(|e| e.0)
            .collect();
        assert_eq!(
            names.first().map(String::as_str),
            Some("response.created"),
            "{}: {names:?}",
            p.name
        );
        assert_eq!(
            names.last().map(String::as_str),
            Some("response.completed"),
            "{}: {names:?}",
            p.name
        );
        assert!(
            names.iter().any(|n| n == "response.output_text.delta"),
            "{}: {names:?}",
            p.name
        );
    }
}

#[test]
fn wrong_credentials_are_the_providers_auth_error() {
    // A deployment whose key the provider refuses: 401 (or Bedrock's 403)
    // mapped like LiteLLM, never a gateway crash or a hang.
    let m = start_mock(&["--gemini-key", "right", "--cohere-key", "right"]);
    let yaml = format!(
        "model_list:\n  - model_name: g\n    litellm_params:\n      model: gemini/gemini-2.0-flash\n      api_base: {u}\n      api_key: wrong\n  - model_name: c\n    litellm_params:\n      model: cohere/command-r\n      api_base: {u}\n      api_key: wrong\ngeneral_settings:\n  master_key: {MASTER_KEY}\nlitellm_settings:\n  num_retries: 0\n",
        u = m.url
    );
    let gw = start_gateway(&yaml);
    for model in ["g", "c"] {
        let body =
            format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":"hi"}}]}}"#);
        let r = post(&gw, "/v1/chat/completions", &body);
        assert!(matches!(r.status, 400 | 401 | 403), "{model}: {}", r.status);
        assert!(r.json()["error"]["message"].is_string());
    }
}

fn pass_through(gw: &Gateway, path: &str, body: &str) -> Resp {
    let raw = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {MASTER_KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    roundtrip(gw.addr, raw.as_bytes()).expect("a response")
}

#[test]
fn pass_through_routes_add_provider_credentials() {
    let dir = TempDir::new("pt");
    let fixture = fixtures().join("gcp-service-account.json");
    let m = start_mock(&[
        "--api-key",
        "azure-key",
        "--google-service-account",
        fixture.to_str().unwrap(),
        "--aws-access-key-id",
        "AKIDPASSTHROUGH",
        "--aws-secret-access-key",
        "pass/through/secret",
    ]);
    let mut sa: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&fixture).unwrap()).unwrap();
    sa["token_uri"] = format!("{}/token", m.url).into();
    let creds = dir.0.join("sa.json");
    std::fs::write(&creds, sa.to_string()).unwrap();
    let yaml = format!("model_list: []\ngeneral_settings:\n  master_key: {MASTER_KEY}\n");
    let gw = start_gateway_env(
        &yaml,
        &[],
        &[
            ("AZURE_API_BASE", m.url.as_str()),
            ("AZURE_API_KEY", "azure-key"),
            ("GOOGLE_APPLICATION_CREDENTIALS", creds.to_str().unwrap()),
            ("VERTEXAI_API_BASE", m.url.as_str()),
            ("AWS_ACCESS_KEY_ID", "AKIDPASSTHROUGH"),
            ("AWS_SECRET_ACCESS_KEY", "pass/through/secret"),
            ("AWS_REGION_NAME", "us-east-1"),
            ("AWS_BEDROCK_RUNTIME_ENDPOINT", m.url.as_str()),
        ],
    );
    let r = pass_through(
        &gw,
        "/azure/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
        r#"{"messages":[{"role":"user","content":"hi"}]}"#,
    );
    assert_eq!(r.status, 200, "azure: {}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["object"], "chat.completion");

    let r = pass_through(
        &gw,
        "/vertex_ai/v1/projects/ringway-test/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent",
        r#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#,
    );
    assert_eq!(
        r.status,
        200,
        "vertex: {}",
        String::from_utf8_lossy(&r.body)
    );
    assert!(r.json()["candidates"][0]["content"]["parts"][0]["text"].is_string());

    let r = pass_through(
        &gw,
        "/bedrock/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
        r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#,
    );
    assert_eq!(
        r.status,
        200,
        "bedrock: {}",
        String::from_utf8_lossy(&r.body)
    );
    assert!(r.json()["output"]["message"]["content"][0]["text"].is_string());

    // The caller's gateway key is still required.
    let raw = "POST /bedrock/model/x/converse HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
    let r = roundtrip(gw.addr, raw.as_bytes()).unwrap();
    assert_eq!(r.status, 401);
}

/// A `claude` deployment answers OpenAI clients (translated, plain and
/// streamed) and Anthropic clients (one step each way, plain and streamed).
fn check_claude_deployment(upstream_model: &str, p: &Provider) {
    let yaml = format!(
        "model_list:\n  - model_name: claude\n    litellm_params:\n{}general_settings:\n  master_key: {MASTER_KEY}\n",
        (p.params)(upstream_model)
    );
    let gw = start_gateway(&yaml);
    let r = post(
        &gw,
        "/v1/chat/completions",
        r#"{"model":"claude","messages":[{"role":"system","content":"brief"},{"role":"user","content":"hello"}],"max_tokens":40}"#,
    );
    assert_eq!(
        r.status,
        200,
        "{}: {}",
        p.name,
        String::from_utf8_lossy(&r.body)
    );
    let v = r.json();
    let text = v["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(text.starts_with("tok0"), "{}: {v}", p.name);
    assert_eq!(v["model"], "claude");
    let r = post(
        &gw,
        "/v1/chat/completions",
        r#"{"model":"claude","stream":true,"messages":[{"role":"user","content":"hello"}],"max_tokens":40}"#,
    );
    assert_eq!(
        r.status,
        200,
        "{}: {}",
        p.name,
        String::from_utf8_lossy(&r.body)
    );
    let events = sse(&r.body);
    assert_eq!(
        events.last().map(|e| e.1.as_str()),
        Some("[DONE]"),
        "{events:?}"
    );
    let streamed: String = events
        .iter()
        .filter(|e| e.1 != "[DONE]")
        .filter_map(|e| {
            let c: serde_json::Value = serde_json::from_str(&e.1).ok()?;
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert!(streamed.starts_with("tok0"), "{}: {events:?}", p.name);
    let r = post(
        &gw,
        "/v1/messages",
        r#"{"model":"claude","max_tokens":40,"messages":[{"role":"user","content":"hello"}]}"#,
    );
    assert_eq!(
        r.status,
        200,
        "{}: {}",
        p.name,
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.json()["type"], "message");
    let r = post(
        &gw,
        "/v1/messages",
        r#"{"model":"claude","max_tokens":40,"stream":true,"messages":[{"role":"user","content":"hello"}]}"#,
    );
    assert_eq!(
        r.status,
        200,
        "{}: {}",
        p.name,
        String::from_utf8_lossy(&r.body)
    );
    let names: Vec<String> = sse(&r.body).into_iter().map(|e| e.0).collect();
    assert_eq!(
        names.first().map(String::as_str),
        Some("message_start"),
        "{names:?}"
    );
    assert_eq!(
        names.last().map(String::as_str),
        Some("message_stop"),
        "{names:?}"
    );
}

/// Claude on Bedrock through `invoke` / `invoke-with-response-stream`
/// (base64 Anthropic events inside AWS event-stream messages).
#[test]
fn anthropic_models_on_bedrock_invoke() {
    check_claude_deployment(
        "invoke/anthropic.claude-3-5-sonnet-20240620-v1:0",
        &bedrock(),
    );
}

/// Claude on Vertex AI through `:rawPredict` / `:streamRawPredict` (OAuth
/// token checked by the mock).
#[test]
fn anthropic_models_on_vertex_ai() {
    check_claude_deployment("claude-sonnet-4-5@20250929", &vertex());
}
