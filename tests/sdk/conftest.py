"""Starts mock_llm and ringway (the real binaries) on loopback for the SDK suite.

Binaries come from target/debug unless RINGWAY_BIN / MOCK_LLM_BIN say otherwise;
`cargo build --workspace` builds them (the README's test command does).
"""
import os
import pathlib
import select
import subprocess
import textwrap
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MASTER_KEY = "sk-ringway-sdk-test-7f3e9a"
UPSTREAM_KEY = "sk-upstream-mock-key"
ANTHROPIC_UPSTREAM_KEY = "sk-ant-upstream-mock-key"
GEMINI_UPSTREAM_KEY = "gemini-upstream-mock-key"
COHERE_UPSTREAM_KEY = "cohere-upstream-mock-key"
AWS_KEY_ID = "AKIDSDKTEST"
AWS_SECRET = "sdk/test/secret"


def _bin(env, name):
    path = os.environ.get(env) or str(ROOT / "target" / "debug" / name)
    if not os.path.exists(path):
        pytest.exit(f"{path} not found: run `cargo build --workspace` first", returncode=2)
    return path


def _start(cmd, prefix, env=None):
    """Starts a server and waits for its `... listening on http://IP:PORT` line."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    deadline = time.time() + 30
    line = ""
    while time.time() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            if line.startswith(prefix):
                return proc, line.strip().rsplit(" ", 1)[-1]
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"{cmd[0]} did not start: {line!r} {proc.stderr.read()}")


def _stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def mock_url():
    proc, url = _start(
        [
            _bin("MOCK_LLM_BIN", "mock_llm"),
            "--port", "0", "--host", "127.0.0.1", "--shards", "1",
            "--api-key", UPSTREAM_KEY, "--anthropic-key", ANTHROPIC_UPSTREAM_KEY,
            "--gemini-key", GEMINI_UPSTREAM_KEY, "--cohere-key", COHERE_UPSTREAM_KEY,
            "--aws-access-key-id", AWS_KEY_ID, "--aws-secret-access-key", AWS_SECRET,
            "--tokens", "8", "--quiet",
        ],
        "mock_llm listening on",
    )
    yield url
    _stop(proc)


@pytest.fixture(scope="session")
def gateway_url(mock_url, tmp_path_factory):
    cfg = tmp_path_factory.mktemp("cfg") / "config.yaml"
    cfg.write_text(
        textwrap.dedent(
            f"""
            model_list:
              - model_name: gpt-4o-mini
                litellm_params:
                  model: openai/gpt-4o-mini
                  api_base: {mock_url}/v1
                  api_key: os.environ/RINGWAY_TEST_UPSTREAM_KEY
              - model_name: text-embedding-3-small
                litellm_params:
                  model: openai/text-embedding-3-small
                  api_base: {mock_url}/v1
                  api_key: {UPSTREAM_KEY}
              - model_name: legacy-instruct
                litellm_params:
                  model: openai/gpt-3.5-turbo-instruct
                  api_base: {mock_url}/v1
                  api_key: {UPSTREAM_KEY}
              - model_name: demo
                litellm_params:
                  model: openai/demo
                  mock_response: "Hello from Ringway!"
              - model_name: limited
                litellm_params:
                  model: openai/mock-fail-429
                  api_base: {mock_url}/v1
                  api_key: {UPSTREAM_KEY}
                  max_retries: 0
              - model_name: broken
                litellm_params:
                  model: openai/mock-fail-500
                  api_base: {mock_url}/v1
                  api_key: {UPSTREAM_KEY}
                  max_retries: 0
              - model_name: bad-upstream-key
                litellm_params:
                  model: openai/gpt-4o-mini
                  api_base: {mock_url}/v1
                  api_key: sk-wrong
              - model_name: claude
                litellm_params:
                  model: anthropic/claude-sonnet-4-5
                  api_base: {mock_url}
                  api_key: {ANTHROPIC_UPSTREAM_KEY}
              - model_name: gemini-flash
                litellm_params:
                  model: gemini/gemini-2.0-flash
                  api_base: {mock_url}
                  api_key: {GEMINI_UPSTREAM_KEY}
              - model_name: gemini-embed
                litellm_params:
                  model: gemini/text-embedding-004
                  api_base: {mock_url}
                  api_key: {GEMINI_UPSTREAM_KEY}
              - model_name: command-r
                litellm_params:
                  model: cohere/command-r-plus
                  api_base: {mock_url}
                  api_key: {COHERE_UPSTREAM_KEY}
              - model_name: bedrock-claude
                litellm_params:
                  model: bedrock/converse/anthropic.claude-3-5-sonnet-20240620-v1:0
                  api_base: {mock_url}
                  aws_access_key_id: {AWS_KEY_ID}
                  aws_secret_access_key: {AWS_SECRET}
                  aws_region_name: us-east-1
              - model_name: "mock/*"
                litellm_params:
                  model: "openai/*"
                  api_base: {mock_url}/v1
                  api_key: {UPSTREAM_KEY}
            general_settings:
              master_key: {MASTER_KEY}
            """
        )
    )
    env = dict(os.environ, RINGWAY_TEST_UPSTREAM_KEY=UPSTREAM_KEY)
    proc, url = _start(
        [
            _bin("RINGWAY_BIN", "ringway"),
            "--config", str(cfg), "--port", "0", "--host", "127.0.0.1",
            "--num_workers", "1", "--log-level", "warn",
        ],
        "ringway listening on",
        env=env,
    )
    yield url
    _stop(proc)


@pytest.fixture
def client(gateway_url):
    import openai

    return openai.OpenAI(base_url=gateway_url + "/v1", api_key=MASTER_KEY, max_retries=0)


@pytest.fixture
def anthropic_client(gateway_url):
    import anthropic

    return anthropic.Anthropic(base_url=gateway_url, api_key=MASTER_KEY, max_retries=0)
