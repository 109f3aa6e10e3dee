//! The gateway in front of the real `mock_llm` binary: passthrough bodies,
//! SSE relay, TLS with a custom CA, DNS names, retries, upstream failures,
//! client disconnects.

mod common;

use common::*;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn model_entry(name: &str, model: &str, api_base: &str, extra: &str) -> String {
    format!(
        "  - model_name: {name}\n    litellm_params:\n      model: {model}\n      api_base: {api_base}\n      api_key: sk-up\n{extra}"
    )
}

fn gateway_for(models: &[String], extra: &str) -> Gateway {
    let yaml = format!(
        "model_list:\n{}general_settings:\n  master_key: {MASTER_KEY}\n{extra}",
        models.concat()
    );
    start_gateway(&yaml)
}

#[test]
fn passthrough_splices_model_and_injects_credentials() {
    let m = start_mock(&["--api-key", "sk-up"]);
    let gw = gateway_for(
        &[model_entry(
            "alias",
            "openai/gpt-4o-mini",
            &format!("{}/v1", m.url),
            "      extra_headers: {\"x-team\": \"blue\"}\n",
        )],
        "",
    );
    let body = r#"{"messages":[{"role":"user","content":"hi"}],"model":"alias","temperature":0.5,"unknown_field":{"keep":[1,2]}}"#;
    let raw = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer {MASTER_KEY}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let r = roundtrip(gw.addr, raw.as_bytes()).unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // LiteLLM reports the model the client asked for.
    assert_eq!(r.json()["model"], "alias");
    assert!(r.header("x-litellm-call-id").is_some());
    let stats = mock_stats(&m);
    assert_eq!(
        stats["last_body"].as_str().unwrap(),
        body.replace("\"alias\"", "\"gpt-4o-mini\""),
        "body must be forwarded byte for byte except the model"
    );
    assert_eq!(stats["last_headers"]["authorization"], "Bearer sk-up");
    assert_eq!(stats["last_headers"]["x-team"], "blue");
}

#[test]
fn sse_is_relayed_event_by_event() {
    let m = start_mock(&["--tokens", "5", "--inter-token-ms", "150"]);
    let gw = gateway_for(
        &[model_entry("m", "openai/m", &format!("{}/v1", m.url), "")],
        "",
    );
    let body = r#"{"model":"m","stream":true,"messages":[]}"#;
    let raw = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer {MASTER_KEY}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut s = connect(gw.addr);
    let t0 = Instant::now();
    s.write_all(raw.as_bytes()).unwrap();
    // Read incrementally: the first token must arrive long before the last.
    let mut seen = Vec::new();
    let mut first_token_at = None;
    let mut buf = [0u8; 4096];
    while find(&seen, b"[DONE]").is_none() {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed early");
        seen.extend_from_slice(&buf[..n]);
        if first_token_at.is_none() && find(&seen, b"tok0").is_some() {
            first_token_at = Some(t0.elapsed());
        }
    }
    let total = t0.elapsed();
    let first = first_token_at.expect("tok0 seen");
    assert!(
        total - first >= Duration::from_millis(400),
        "events were buffered: first {first:?}, total {total:?}"
    );
    let text = String::from_utf8_lossy(&seen);
    assert!(text.contains("text/event-stream"));
    for i in 0..5 {
        assert!(text.contains(&format!("tok{i}")));
    }
}

#[test]
fn tls_upstream_with_custom_ca_and_dns_name() {
    let f = fixtures();
    let cert = f.join("server.pem");
    let key = f.join("server.key");
    let m = start_mock(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    let port = m.addr.port();
    let gw = gateway_for(
        &[model_entry(
            "secure",
            "openai/gpt-4o-mini",
            &format!("https://localhost:{port}/v1"),
            "",
        )],
        &format!(
            "ringway_settings:\n  ca_file: {}\n",
            f.join("ca.pem").display()
        ),
    );
    for _ in 0..3 {
        let r = roundtrip(gw.addr, &chat_request("secure", "")).unwrap();
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["object"], "chat.completion");
    }
    // Without the CA the certificate is refused: a connection error, not a hang.
    let gw2 = gateway_for(
        &[model_entry(
            "secure",
            "openai/gpt-4o-mini",
            &format!("https://localhost:{port}/v1"),
            "      max_retries: 0\n",
        )],
        "",
    );
    let r = roundtrip(gw2.addr, &chat_request("secure", "")).unwrap();
    assert_eq!(r.status, 500);
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Connection error."));
}

#[test]
fn upstream_failures_map_to_litellm_errors() {
    let m = start_mock(&[]);
    let base = format!("{}/v1", m.url);
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let gw = gateway_for(
        &[
            model_entry(
                "r429",
                "openai/mock-fail-429",
                &base,
                "      max_retries: 0\n",
            ),
            model_entry(
                "r400",
                "openai/mock-fail-400",
                &base,
                "      max_retries: 0\n",
            ),
            model_entry(
                "r503",
                "openai/mock-fail-503",
                &base,
                "      max_retries: 0\n",
            ),
            model_entry(
                "hang",
                "openai/mock-timeout",
                &base,
                "      timeout: 0.5\n      max_retries: 0\n",
            ),
            model_entry(
                "reset",
                "openai/mock-reset",
                &base,
                "      max_retries: 0\n",
            ),
            model_entry(
                "refused",
                "openai/x",
                &format!("http://{closed}/v1"),
                "      max_retries: 0\n",
            ),
        ],
        "",
    );
    let cases = [
        (
            "r429",
            429,
            "litellm.RateLimitError: RateLimitError: OpenAIException - ",
        ),
        ("r400", 400, "BadRequestError"),
        ("r503", 503, "ServiceUnavailableError"),
        (
            "hang",
            408,
            "litellm.Timeout: APITimeoutError - Request timed out.",
        ),
        (
            "reset",
            500,
            "InternalServerError: OpenAIException - Connection error.",
        ),
        (
            "refused",
            500,
            "InternalServerError: OpenAIException - Connection error.",
        ),
    ];
    for (model, status, class) in cases {
        let t = Instant::now();
        let r = roundtrip(gw.addr, &chat_request(model, "")).unwrap();
        assert_eq!(
            r.status,
            status,
            "{model}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let j = r.json();
        assert_eq!(j["error"]["code"], status.to_string(), "{model}");
        let msg = j["error"]["message"].as_str().unwrap();
        assert!(msg.starts_with("litellm."), "{model}: {msg}");
        assert!(msg.contains(class), "{model}: {msg}");
        assert!(
            msg.ends_with(&format!(
                "LiteLLM: model group '{model}' failed with the error above. No fallback was attempted."
            )),
            "{model}: {msg}"
        );
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{model} took {:?}",
            t.elapsed()
        );
    }
}

#[test]
fn retries_then_succeeds_on_another_deployment() {
    let m = start_mock(&[]);
    let base = format!("{}/v1", m.url);
    // Two deployments in one group: one always fails, one works. With
    // retries the request must succeed whichever is drawn first.
    let gw = gateway_for(
        &[
            model_entry(
                "grp",
                "openai/mock-fail-500",
                &base,
                "      max_retries: 2\n",
            ),
            model_entry("grp", "openai/gpt-4o-mini", &base, "      max_retries: 2\n"),
        ],
        "",
    );
    for _ in 0..10 {
        let r = roundtrip(gw.addr, &chat_request("grp", "")).unwrap();
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
}

#[test]
fn client_disconnect_closes_upstream_connection() {
    let m = start_mock(&["--tokens", "200", "--inter-token-ms", "20"]);
    let gw = gateway_for(
        &[model_entry("m", "openai/m", &format!("{}/v1", m.url), "")],
        "",
    );
    let body = r#"{"model":"m","stream":true,"messages":[]}"#;
    let raw = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer {MASTER_KEY}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut s = connect(gw.addr);
    s.write_all(raw.as_bytes()).unwrap();
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).unwrap();
    assert!(n > 0);
    drop(s);
    // The gateway notices at its next write and drops the upstream
    // connection: the mock sees its stream cut well before 200 × 20 ms.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let stats = mock_stats(&m);
        if stats["streams_aborted"].as_u64().unwrap_or(0) >= 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "upstream stream not cancelled: {stats}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The gateway still serves.
    let r = roundtrip(gw.addr, &chat_request("m", "")).unwrap();
    assert_eq!(r.status, 200);
}

#[test]
fn mid_stream_failure_ends_with_litellm_error_event() {
    let m = start_mock(&["--tokens", "10"]);
    let gw = gateway_for(
        &[model_entry(
            "flaky",
            "openai/mock-stream-reset-3",
            &format!("{}/v1", m.url),
            "",
        )],
        "",
    );
    let body = r#"{"model":"flaky","stream":true,"messages":[]}"#;
    let raw = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer {MASTER_KEY}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut s = connect(gw.addr);
    s.write_all(raw.as_bytes()).unwrap();
    // A complete chunked response: the error event, then a clean end.
    let r = read_response(&mut s, &mut Vec::new()).expect("complete response");
    assert_eq!(r.status, 200);
    let text = String::from_utf8_lossy(&r.body);
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.len(), 4, "{text}");
    assert!(
        events[..3]
            .iter()
            .all(|e| e.contains("\"model\":\"flaky\"")),
        "{text}"
    );
    let last = events[3];
    assert!(
        last.starts_with("data: {\"error\": {\"message\": \"litellm.APIConnectionError"),
        "{last}"
    );
    assert!(
        last.ends_with("\"type\": null, \"param\": null, \"code\": \"500\"}}"),
        "{last}"
    );
    assert!(!text.contains("[DONE]"));
    // The connection is still usable afterwards.
    s.write_all(&chat_request("flaky", "")).unwrap();
    let r2 = read_response(&mut s, &mut Vec::new()).expect("second response");
    assert_eq!(r2.status, 200);
}

#[test]
fn azure_deployment_url_and_api_key() {
    let m = start_mock(&["--api-key", "az-key"]);
    let yaml = format!(
        "model_list:\n  - model_name: gpt-4o\n    litellm_params:\n      model: azure/my-gpt4o-deployment\n      api_base: {}/\n      api_key: az-key\n      api_version: 2024-10-21\n  - model_name: gpt-4o-ad\n    litellm_params:\n      model: azure/dep2\n      api_base: {}\n      azure_ad_token: entra-token\ngeneral_settings:\n  master_key: {MASTER_KEY}\n",
        m.url, m.url
    );
    let gw = start_gateway(&yaml);
    let r = roundtrip(gw.addr, &chat_request("gpt-4o", "")).unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["model"], "gpt-4o");
    let stats = mock_stats(&m);
    assert_eq!(
        stats["last_path"],
        "/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(stats["last_headers"]["api-key"], "az-key");
    assert!(stats["last_headers"].get("authorization").is_none());
    // Entra ID token: sent as a bearer token, default api-version.
    let _ = roundtrip(gw.addr, &chat_request("gpt-4o-ad", ""));
    let stats = mock_stats(&m);
    assert_eq!(
        stats["last_path"],
        "/openai/deployments/dep2/chat/completions?api-version=2025-02-01-preview"
    );
    assert_eq!(stats["last_headers"]["authorization"], "Bearer entra-token");
}

#[test]
fn provider_table_prefix_with_quirks() {
    // `groq/` is OpenAI wire format; LiteLLM sends `max_completion_tokens`
    // to it as `max_tokens`. The api_base points at the mock instead of
    // api.groq.com (no network here).
    let m = start_mock(&["--api-key", "gsk-test"]);
    let gw = gateway_for(
        &[format!(
            "  - model_name: llama\n    litellm_params:\n      model: groq/llama-3.1-70b-versatile\n      api_base: {}/v1\n      api_key: gsk-test\n",
            m.url
        )],
        "",
    );
    let body = r#"{"model":"llama","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":3}"#;
    let raw = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer {MASTER_KEY}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let r = roundtrip(gw.addr, raw.as_bytes()).unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let stats = mock_stats(&m);
    assert_eq!(stats["last_path"], "/v1/chat/completions");
    assert_eq!(
        stats["last_body"].as_str().unwrap(),
        r#"{"model":"llama-3.1-70b-versatile","messages":[{"role":"user","content":"hi"}],"max_tokens":3}"#
    );
}

#[test]
fn star_deployment_routes_by_provider_prefix() {
    // LiteLLM's `model: "*"`: any provider, credentials from the
    // environment. The providers' base URLs point at the mock.
    let m = start_mock(&["--api-key", "gsk-env", "--anthropic-key", "ant-env"]);
    let v1 = format!("{}/v1", m.url);
    let gw = start_gateway_env(
        &format!(
            "model_list:\n  - model_name: \"*\"\n    litellm_params:\n      model: \"*\"\ngeneral_settings:\n  master_key: {MASTER_KEY}\n"
        ),
        &[],
        &[
            ("GROQ_API_BASE", v1.as_str()),
            ("GROQ_API_KEY", "gsk-env"),
            ("ANTHROPIC_API_BASE", m.url.as_str()),
            ("ANTHROPIC_API_KEY", "ant-env"),
        ],
    );
    let r = roundtrip(gw.addr, &chat_request("groq/llama-3.1-8b-instant", "")).unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["model"], "groq/llama-3.1-8b-instant");
    let stats = mock_stats(&m);
    assert_eq!(stats["last_path"], "/v1/chat/completions");
    assert_eq!(stats["last_headers"]["authorization"], "Bearer gsk-env");
    assert!(stats["last_body"]
        .as_str()
        .unwrap()
        .contains("\"model\":\"llama-3.1-8b-instant\""));
    // An Anthropic model through the same catch-all: translated.
    let r = roundtrip(gw.addr, &chat_request("anthropic/claude-sonnet-4-5", "")).unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["object"], "chat.completion");
    let stats = mock_stats(&m);
    assert_eq!(stats["last_path"], "/v1/messages");
    assert_eq!(stats["last_headers"]["x-api-key"], "ant-env");
}

#[test]
fn provider_pass_through_routes() {
    let m = start_mock(&["--api-key", "oa-env", "--anthropic-key", "ant-env"]);
    let gw = start_gateway_env(
        &mock_config(""),
        &[],
        &[
            ("ANTHROPIC_API_BASE", m.url.as_str()),
            ("ANTHROPIC_API_KEY", "ant-env"),
            ("OPENAI_API_BASE", m.url.as_str()),
            ("OPENAI_API_KEY", "oa-env"),
        ],
    );
    // Anthropic: the body and anthropic-version go up untouched, the
    // caller's gateway key is replaced by the provider key.
    let body =
        r#"{"model":"claude-x","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}"#;
    let raw = format!(
        "POST /anthropic/v1/messages HTTP/1.1\r\nx-api-key: {MASTER_KEY}\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let r = roundtrip(gw.addr, raw.as_bytes()).unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["type"], "message");
    let stats = mock_stats(&m);
    assert_eq!(stats["last_path"], "/v1/messages");
    assert_eq!(stats["last_headers"]["x-api-key"], "ant-env");
    assert_eq!(stats["last_headers"]["anthropic-version"], "2023-06-01");
    assert_eq!(stats["last_body"], body);
    // OpenAI: a GET with a query string.
    let raw = format!(
        "GET /openai/v1/models?limit=2 HTTP/1.1\r\nAuthorization: Bearer {MASTER_KEY}\r\n\r\n"
    );
    let r = roundtrip(gw.addr, raw.as_bytes()).unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["object"], "list");
    // The caller's key is still checked.
    let r = roundtrip(gw.addr, b"GET /openai/v1/models HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(r.status, 401);
}

#[test]
fn translated_answer_spanning_reads_keeps_clean_headers() {
    // A ~20 KB Anthropic answer arrives in several reads; the translated
    // answer must carry the provider's headers, not bytes of its body.
    let m = start_mock(&["--tokens", "3000"]);
    let gw = gateway_for(
        &[model_entry("claude", "anthropic/claude-x", &m.url, "")],
        "",
    );
    let r = roundtrip(gw.addr, &chat_request("claude", "")).unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let text = r.json()["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(text.split_whitespace().count(), 3000);
    for (name, _) in &r.headers {
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "junk header {name:?}"
        );
    }
    assert!(r.header("llm_provider-content-type").is_some());
}

#[test]
fn parameters_the_provider_does_not_take_are_refused_or_dropped() {
    let m = start_mock(&["--api-key", "sk-up"]);
    let base = format!("{}/v1", m.url);
    let gw = gateway_for(
        &[
            model_entry("strict", "mistral/mistral-small-latest", &base, ""),
            model_entry(
                "lenient",
                "mistral/mistral-small-latest",
                &base,
                "      drop_params: true\n",
            ),
        ],
        "",
    );
    let send = |model: &str| {
        let body = format!(
            r#"{{"model":"{model}","messages":[{{"role":"user","content":"hi"}}],"logit_bias":{{"50256":-100}},"n":1,"seed":null,"temperature":0.2}}"#
        );
        let raw = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer {MASTER_KEY}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        roundtrip(gw.addr, raw.as_bytes()).unwrap()
    };
    // LiteLLM's UnsupportedParamsError, before any upstream call.
    let r = send("strict");
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(
        v["error"]["message"],
        "litellm.UnsupportedParamsError: mistral does not support parameters: ['logit_bias'], for model=mistral-small-latest. To drop these, set `litellm.drop_params=True` or for proxy:\n\n`litellm_settings:\n drop_params: true`\n. \n If you want to use these params dynamically send allowed_openai_params=['logit_bias'] in your request.\n\nLiteLLM: model group 'strict' failed with the error above. No fallback was attempted."
    );
    assert_eq!(v["error"]["code"], "400");
    assert_eq!(mock_stats(&m)["requests"], 0, "no upstream call");
    // With drop_params the parameter is removed, the rest sent as it came.
    let r = send("lenient");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let stats = mock_stats(&m);
    let sent: serde_json::Value =
        serde_json::from_str(stats["last_body"].as_str().unwrap()).unwrap();
    assert!(sent.get("logit_bias").is_none(), "{sent}");
    assert_eq!(sent["n"], 1);
    assert_eq!(sent["temperature"], 0.2);
    assert_eq!(sent["model"], "mistral-small-latest");
    // Per request, as LiteLLM reads them: `allowed_openai_params` lets the
    // parameter through, `drop_params` drops it; neither key goes upstream.
    for (extra, kept) in [
        (r#""allowed_openai_params":["logit_bias"]"#, true),
        (r#""drop_params":true"#, false),
    ] {
        let body = format!(
            r#"{{"model":"strict","messages":[{{"role":"user","content":"hi"}}],"logit_bias":{{"1":1}},{extra}}}"#
        );
        let raw = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer {MASTER_KEY}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let r = roundtrip(gw.addr, raw.as_bytes()).unwrap();
        assert_eq!(
            r.status,
            200,
            "{extra}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let stats = mock_stats(&m);
        let sent: serde_json::Value =
            serde_json::from_str(stats["last_body"].as_str().unwrap()).unwrap();
        assert_eq!(sent.get("logit_bias").is_some(), kept, "{sent}");
        assert!(sent.get("allowed_openai_params").is_none(), "{sent}");
        assert!(sent.get("drop_params").is_none(), "{sent}");
    }
}
