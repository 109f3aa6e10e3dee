//! Unit tests for `api`.
use super::*;

#[test]
fn routes() {
    assert_eq!(Route::of(b"/v1/chat/completions"), (Route::Chat, None));
    assert_eq!(Route::of(b"/chat/completions"), (Route::Chat, None));
    assert_eq!(Route::of(b"/v1/messages"), (Route::Messages, None));
    assert_eq!(
        Route::of(b"/v1/models/gpt-4o"),
        (Route::Model("gpt-4o"), None)
    );
    assert_eq!(Route::of(b"/v1/models/"), (Route::NotFound, None));
    assert_eq!(
        Route::of(b"/openai/deployments/dep1/chat/completions"),
        (Route::Chat, Some("dep1"))
    );
    assert_eq!(
        Route::of(b"/openai/deployments/dep1/embeddings"),
        (Route::Embeddings, Some("dep1"))
    );
    assert_eq!(
        Route::of(b"/openai/deployments//embeddings"),
        (Route::NotFound, None)
    );
    assert_eq!(
        Route::of(b"/openai/deployments/d/other"),
        (Route::NotFound, None)
    );
    assert_eq!(Route::of(b"/v2/chat"), (Route::NotFound, None));
}

#[test]
fn model_actions() {
    assert_eq!(model_action("gpt-4o"), ModelAction::Normal);
    assert_eq!(model_action("mock-fail-429"), ModelAction::Fail(429));
    assert_eq!(model_action("mock-fail-200"), ModelAction::Normal);
    assert_eq!(model_action("mock-fail-99999"), ModelAction::Normal);
    assert_eq!(model_action("mock-timeout"), ModelAction::Hang);
    assert_eq!(model_action("mock-reset"), ModelAction::Reset);
    assert_eq!(
        model_action("mock-slow-first-byte-250"),
        ModelAction::SlowFirstByte(250)
    );
    assert_eq!(model_action("mock-slow-first-byte-x"), ModelAction::Normal);
}

#[test]
fn delays() {
    let mut cfg = Config::default();
    assert_eq!(delay_of(&cfg, 0), Duration::ZERO);
    assert_eq!(delay_of(&cfg, 5), Duration::from_millis(5));
    assert_eq!(delay_of(&cfg, u64::MAX), HANG_LIMIT);
    cfg.latency_ms = 10.0;
    cfg.jitter_ms = 5.0;
    for _ in 0..50 {
        let d = delay_of(&cfg, 0);
        assert!(d >= Duration::from_millis(10) && d < Duration::from_millis(15));
    }
    assert_eq!(millis(0.0), Duration::ZERO);
    assert_eq!(millis(1.5), Duration::from_micros(1500));
}

#[test]
fn key_masking() {
    assert_eq!(mask_key(b"sk-abcdefgh1234"), "sk-********1234");
    assert_eq!(mask_key(b"short"), "*****");
    assert_eq!(mask_key("sk-ééééé".as_bytes()).len(), "sk-ééééé".len());
}

#[test]
fn error_bodies_parse() {
    let (mut out, mut scratch) = (Vec::new(), Vec::new());
    for status in [400, 401, 403, 404, 408, 429, 500, 502, 503, 529] {
        out.clear();
        openai_failure(&mut out, &mut scratch, b"", status, "m\"");
        let v: serde_json::Value = serde_json::from_slice(&scratch).unwrap();
        assert!(v["error"]["message"].is_string() && v["error"]["type"].is_string());
        assert!(out.starts_with(format!("HTTP/1.1 {status} ").as_bytes()));
        out.clear();
        anthropic_failure(&mut out, &mut scratch, b"", status);
        let v: serde_json::Value = serde_json::from_slice(&scratch).unwrap();
        assert_eq!(v["type"], "error");
    }
    out.clear();
    anthropic_failure(&mut out, &mut scratch, b"", 529);
    let v: serde_json::Value = serde_json::from_slice(&scratch).unwrap();
    assert_eq!(v["error"]["type"], "overloaded_error");
}
