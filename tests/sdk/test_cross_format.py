"""Cross-format: OpenAI SDK -> Anthropic deployment, Anthropic SDK -> OpenAI
deployment, and Anthropic SDK -> Anthropic deployment (native passthrough),
all through Ringway in front of mock_llm, streaming included."""
import anthropic
import pytest

WORDS = [f"tok{i}" for i in range(8)]


def test_openai_sdk_to_anthropic_deployment(client):
    r = client.chat.completions.create(
        model="claude", messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    )
    assert r.object == "chat.completion"
    assert r.model == "claude"
    assert r.choices[0].message.content.split() == WORDS
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.completion_tokens == 8


def test_openai_sdk_streams_from_anthropic_deployment(client):
    stream = client.chat.completions.create(
        model="claude",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage = "", None, None
    for chunk in stream:
        assert chunk.model == "claude"
        if chunk.usage:
            usage = chunk.usage
        for ch in chunk.choices:
            text += ch.delta.content or ""
            finish = ch.finish_reason or finish
    assert text.split() == WORDS
    assert finish == "stop"
    assert usage is not None and usage.completion_tokens == 8


def test_anthropic_sdk_to_openai_deployment(anthropic_client):
    m = anthropic_client.messages.create(
        model="gpt-4o-mini",
        max_tokens=256,
        system="be brief",
        messages=[{"role": "user", "content": "hi"}],
    )
    assert m.type == "message"
    assert m.role == "assistant"
    assert m.content[0].text.split() == WORDS
    assert m.stop_reason == "end_turn"
    assert m.usage.output_tokens == 8


def test_anthropic_sdk_streams_from_openai_deployment(anthropic_client):
    with anthropic_client.messages.stream(
        model="gpt-4o-mini", max_tokens=256, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text.split() == WORDS
    assert final.stop_reason == "end_turn"


def test_anthropic_sdk_native_passthrough(anthropic_client):
    m = anthropic_client.messages.create(
        model="claude", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    )
    assert m.content[0].text.split() == WORDS
    with anthropic_client.messages.stream(
        model="claude", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        assert "".join(stream.text_stream).split() == WORDS


def test_anthropic_sdk_mock_response(anthropic_client):
    m = anthropic_client.messages.create(
        model="demo", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    )
    assert m.content[0].text == "Hello from Ringway!"
    with anthropic_client.messages.stream(
        model="demo", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        assert "".join(stream.text_stream) == "Hello from Ringway!"


def test_anthropic_sdk_errors_in_anthropic_shape(anthropic_client):
    with pytest.raises(anthropic.BadRequestError) as e:
        anthropic_client.messages.create(
            model="nope", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )
    assert e.value.body["type"] == "error"
    assert e.value.body["error"]["type"] == "invalid_request_error"
    with pytest.raises(anthropic.RateLimitError) as e:
        anthropic_client.messages.create(
            model="limited", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )
    assert e.value.body["error"]["type"] == "rate_limit_error"


# Gemini, Cohere and Bedrock deployments, driven by both SDKs and the
# Responses API (mock_llm checks the key, SigV4 signature and body schema).


def test_openai_sdk_streams_from_gemini(client):
    r = client.chat.completions.create(
        model="gemini-flash", messages=[{"role": "user", "content": "hi"}]
    )
    assert r.model == "gemini-flash"
    assert r.choices[0].message.content.split() == WORDS
    stream = client.chat.completions.create(
        model="gemini-flash",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage = "", None
    for chunk in stream:
        usage = chunk.usage or usage
        for ch in chunk.choices:
            text += ch.delta.content or ""
    assert text.split() == WORDS
    assert usage is not None and usage.completion_tokens == 8


def test_openai_sdk_embeddings_from_gemini(client):
    r = client.embeddings.create(model="gemini-embed", input=["one", "two"])
    assert [d.index for d in r.data] == [0, 1]
    assert all(len(d.embedding) > 0 for d in r.data)


def test_openai_sdk_tools_on_cohere(client):
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    r = client.chat.completions.create(
        model="command-r",
        messages=[{"role": "user", "content": "call a tool for Paris"}],
        tools=tools,
        tool_choice="required",
    )
    assert r.choices[0].finish_reason == "tool_calls"
    assert r.choices[0].message.tool_calls[0].function.name == "get_weather"


def test_responses_api_on_cohere(client):
    r = client.responses.create(model="command-r", instructions="be brief", input="hi")
    assert r.status == "completed"
    assert r.output_text.split() == WORDS
    events = [e.type for e in client.responses.create(model="command-r", input="hi", stream=True)]
    assert events[0] == "response.created"
    assert events[-1] == "response.completed"
    assert "response.output_text.delta" in events


def test_anthropic_sdk_on_bedrock(anthropic_client):
    m = anthropic_client.messages.create(
        model="bedrock-claude", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    )
    assert m.content[0].text.split() == WORDS
    assert m.stop_reason == "end_turn"
    with anthropic_client.messages.stream(
        model="bedrock-claude", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        text = "".join(stream.text_stream)
    assert text.split() == WORDS


def test_anthropic_sdk_count_tokens(anthropic_client):
    # Forwarded to the Anthropic deployment's /v1/messages/count_tokens.
    r = anthropic_client.messages.count_tokens(
        model="claude", messages=[{"role": "user", "content": "one two three"}]
    )
    assert r.input_tokens == 3
    # Other providers have no such endpoint: a clear 400 in Anthropic's shape.
    with pytest.raises(anthropic.BadRequestError) as e:
        anthropic_client.messages.count_tokens(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert "count_tokens is not supported for openai deployments" in str(e.value)
