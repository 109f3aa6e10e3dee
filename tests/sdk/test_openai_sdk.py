"""The OpenAI Python SDK, unchanged, against Ringway in front of mock_llm."""
import httpx
import openai
import pytest

from conftest import MASTER_KEY


def test_chat(client):
    r = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert r.object == "chat.completion"
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].message.content.split() == [f"tok{i}" for i in range(8)]
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.completion_tokens == 8


def test_chat_stream(client):
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage = "", None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for ch in chunk.choices:
            text += ch.delta.content or ""
            finish = ch.finish_reason or finish
    assert text.split() == [f"tok{i}" for i in range(8)]
    assert finish == "stop"
    assert usage is not None and usage.completion_tokens == 8


def test_embeddings(client):
    r = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(r.data) == 2
    assert all(len(d.embedding) > 0 for d in r.data)


def test_legacy_completions(client):
    r = client.completions.create(model="legacy-instruct", prompt="say hi")
    assert r.choices[0].text


def test_models(client):
    ids = [m.id for m in client.models.list()]
    assert ids[:4] == ["gpt-4o-mini", "text-embedding-3-small", "legacy-instruct", "demo"]


def test_mock_response(client):
    r = client.chat.completions.create(model="demo", messages=[{"role": "user", "content": "x"}])
    assert r.choices[0].message.content == "Hello from Ringway!"
    text = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(
            model="demo", messages=[{"role": "user", "content": "x"}], stream=True
        )
        if c.choices
    )
    assert text == "Hello from Ringway!"


def test_wildcard_route(client):
    r = client.chat.completions.create(
        model="mock/some-model", messages=[{"role": "user", "content": "hi"}]
    )
    assert r.model == "mock/some-model"  # LiteLLM reports the requested name


def test_no_key(gateway_url):
    c = openai.OpenAI(base_url=gateway_url + "/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as e:
        c.with_options(default_headers={"Authorization": ""}).models.list()
    assert e.value.status_code == 401


def test_missing_key_exact_body(gateway_url):
    r = httpx.post(gateway_url + "/v1/chat/completions", json={"model": "demo", "messages": []})
    assert r.status_code == 401
    assert r.json() == {
        "error": {
            "message": "Authentication Error, No api key passed in.",
            "type": "auth_error",
            "param": "None",
            "code": "401",
        }
    }


def test_wrong_key(gateway_url):
    c = openai.OpenAI(base_url=gateway_url + "/v1", api_key="sk-not-the-master", max_retries=0)
    with pytest.raises(openai.APIStatusError) as e:
        c.chat.completions.create(model="demo", messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code in (400, 401)
    assert e.value.body["code"] == str(e.value.status_code)


def test_unknown_model(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    assert "nope" in e.value.message


def test_upstream_rate_limit(client):
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(model="limited", messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 429
    assert e.value.body["code"] == "429"


def test_upstream_server_error(client):
    with pytest.raises(openai.InternalServerError) as e:
        client.chat.completions.create(model="broken", messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 500


def test_upstream_auth_error(client):
    with pytest.raises(openai.AuthenticationError) as e:
        client.chat.completions.create(
            model="bad-upstream-key", messages=[{"role": "user", "content": "x"}]
        )
    assert e.value.status_code == 401


def test_invalid_json(gateway_url):
    r = httpx.post(
        gateway_url + "/v1/chat/completions",
        content=b"{not json",
        headers={"Authorization": f"Bearer {MASTER_KEY}", "content-type": "application/json"},
    )
    assert r.status_code == 400
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}


def test_health(gateway_url):
    assert httpx.get(gateway_url + "/health/liveliness").json() == "I'm alive!"
    assert httpx.get(gateway_url + "/health/readiness").json()["status"] == "healthy"


def test_stream_chunks_report_requested_model(client):
    chunks = list(
        client.chat.completions.create(
            model="mock/streamed", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )
    assert chunks and all(c.model == "mock/streamed" for c in chunks)


def test_responses_api_passthrough(client):
    r = client.responses.create(model="gpt-4o-mini", input="hi")
    assert r.status == "completed"
    assert r.output_text.split() == [f"tok{i}" for i in range(8)]
    assert r.model == "gpt-4o-mini"
    events = list(client.responses.create(model="gpt-4o-mini", input="hi", stream=True))
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text.split() == [f"tok{i}" for i in range(8)]


def test_responses_api_unsupported_provider_is_clear(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.responses.create(model="claude", input="hi")
    assert "/responses is not supported" in e.value.message
