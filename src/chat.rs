//! The hub format: OpenAI Chat Completions, which every translator either
//! reads (a client's `/v1/chat/completions` body going to Anthropic, Gemini,
//! Bedrock or Cohere) or writes (their answers going back as
//! `chat.completion` / `chat.completion.chunk`).
//!
//! What it owns, so the provider modules keep only what differs:
//!
//! * reading a chat request's `messages` into [`Msg`] spans
//!   ([`parse_messages`]), each caller naming the content-part members it
//!   needs (the parts land in one flat `Vec` per request, as
//!   [`crate::json::Strict::array_parts`] captures them);
//! * writing a `chat.completion`: the envelope head ([`push_chat_head`],
//!   [`push_single_choice_head`]), a tool call's opening
//!   ([`push_tool_call_head`], [`push_arguments`]) and the usage object
//!   ([`push_usage`]);
//! * writing a `chat.completion.chunk` stream ([`Chunks`]): the `data:`
//!   prefix built once per stream, the role chunk, content / tool-call /
//!   thinking deltas, the finish chunk, the usage chunk and `[DONE]`.
//!
//! Everything here follows the same rules as [`crate::anthropic`] (see its
//! module doc): spans in, raw escaped bytes out, nothing decoded, and no
//! allocation per request or per stream event beyond the caller's vectors.

use crate::json::*;

// ---------------------------------------------------------------------------
// Reading a chat request
// ---------------------------------------------------------------------------

/// A chat message's `role`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// `system` and `developer`.
    System,
    User,
    Assistant,
    Tool,
    /// The legacy `function` role (a tool result named by `name`).
    Function,
}

impl Role {
    /// `tool` or the legacy `function`: a tool result either way.
    pub(crate) fn is_tool(self) -> bool {
        matches!(self, Role::Tool | Role::Function)
    }
}

/// One chat message, as spans (null members as absent). A list `content`
/// also has its parts in the request's part list (`parts` is their range,
/// see [`slice`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Msg<'a> {
    pub(crate) role: Role,
    pub(crate) content: Option<Val<'a>>,
    pub(crate) parts: Option<(usize, usize)>,
    pub(crate) tool_calls: Option<Val<'a>>,
    pub(crate) tool_call_id: Option<Val<'a>>,
    pub(crate) cache_control: Option<Val<'a>>,
    pub(crate) thinking_blocks: Option<Val<'a>>,
    /// The legacy assistant `function_call`.
    pub(crate) function_call: Option<Val<'a>>,
    pub(crate) name: Option<Val<'a>>,
    pub(crate) reasoning_content: Option<Val<'a>>,
}

impl Msg<'_> {
    /// An assistant message with at least one tool call.
    pub(crate) fn has_tool_calls(&self) -> bool {
        self.role == Role::Assistant && self.tool_calls.is_some_and(|t| t.elems().next().is_some())
    }
}

/// Reads the value of `messages` into `msgs`, capturing the members `keys`
/// names of every content part into `parts`. Errors (with LiteLLM's
/// messages) on a non-array, a non-object message, or a missing or unknown
/// role.
pub(crate) fn parse_messages<'a, const N: usize>(
    p: &mut Strict<'a>,
    keys: &[&str; N],
    msgs: &mut Vec<Msg<'a>>,
    parts: &mut Vec<Part<'a, N>>,
) -> Res<()> {
    msgs.clear();
    if !p.begin_array()? {
        p.value()?;
        return invalid("Invalid request format: 'messages' must be an array");
    }
    let mut first = true;
    while p.elem(&mut first)? {
        if !p.begin_object()? {
            p.value()?;
            return invalid(format!(
                "Invalid Message passed in: messages[{}] must be an object",
                msgs.len()
            ));
        }
        let mut role = None;
        let mut m = Msg {
            role: Role::User,
            content: None,
            parts: None,
            tool_calls: None,
            tool_call_id: None,
            cache_control: None,
            thinking_blocks: None,
            function_call: None,
            name: None,
            reasoning_content: None,
        };
        let mut f = true;
        while let Some(k) = p.key(&mut f)? {
            if k.0 == b"content" {
                let (v, range) = p.array_parts(keys, parts)?;
                m.content = Some(v).filter(|v| !v.is_null());
                m.parts = range;
                continue;
            }
            let v = Some(p.value()?).filter(|v| !v.is_null());
            match k.0 {
                b"role" => role = v,
                b"tool_calls" => m.tool_calls = v,
                b"tool_call_id" => m.tool_call_id = v,
                b"cache_control" => m.cache_control = v,
                b"thinking_blocks" => m.thinking_blocks = v,
                b"function_call" => m.function_call = v,
                b"name" => m.name = v,
                b"reasoning_content" => m.reasoning_content = v,
                _ => {}
            }
        }
        m.role = match role.and_then(Val::str) {
            Some(r) if r.is("user") => Role::User,
            Some(r) if r.is("assistant") => Role::Assistant,
            Some(r) if r.is("system") || r.is("developer") => Role::System,
            Some(r) if r.is("tool") => Role::Tool,
            Some(r) if r.is("function") => Role::Function,
            _ => {
                return invalid(format!(
                    "Invalid Message passed in: messages[{}] has a missing or unknown role",
                    msgs.len()
                ))
            }
        };
        msgs.push(m);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Writing a chat.completion
// ---------------------------------------------------------------------------

/// `{"id":"<id>","created":<now>,"model":<client_model>,"object":"<object>"`,
/// the start of every chat answer and chunk. `id` is the provider's when it
/// has a non-empty one, else a fresh `chatcmpl-<uuid>` (LiteLLM's).
pub(crate) fn push_chat_head(
    out: &mut Vec<u8>,
    id: Option<Str<'_>>,
    client_model: &str,
    object: &[u8],
) {
    out.extend_from_slice(b"{\"id\":\"");
    match id.filter(|s| !s.is_empty()) {
        Some(id) => out.extend_from_slice(id.0),
        None => {
            out.extend_from_slice(b"chatcmpl-");
            push_uuid(out);
        }
    }
    out.extend_from_slice(b"\",\"created\":");
    push_u64(out, now_secs());
    out.extend_from_slice(b",\"model\":");
    push_quoted(out, client_model.as_bytes());
    out.extend_from_slice(b",\"object\":\"");
    out.extend_from_slice(object);
    out.push(b'"');
}

/// A one-choice `chat.completion` up to its message's `content` value:
/// `{"id":…,"object":"chat.completion","system_fingerprint":null,
/// "choices":[{"finish_reason":"<finish>","index":0,"message":{"content":`.
pub(crate) fn push_single_choice_head(out: &mut Vec<u8>, client_model: &str, finish: &[u8]) {
    push_chat_head(out, None, client_model, b"chat.completion");
    out.extend_from_slice(b",\"system_fingerprint\":null,\"choices\":[{\"finish_reason\":\"");
    out.extend_from_slice(finish);
    out.extend_from_slice(b"\",\"index\":0,\"message\":{\"content\":");
}

/// One tool call up to its `arguments` value:
/// `{"id":<id>,"type":"function","function":{"name":<name>,"arguments":`
/// (the caller writes the value and `}}`).
pub(crate) fn push_tool_call_head(out: &mut Vec<u8>, id: Option<Str<'_>>, name: Option<Str<'_>>) {
    out.push(b'{');
    push_tool_call_members(out, id, name);
}

/// [`push_tool_call_head`] without its opening brace, for a streamed call
/// whose `index` comes first.
fn push_tool_call_members(out: &mut Vec<u8>, id: Option<Str<'_>>, name: Option<Str<'_>>) {
    out.extend_from_slice(b"\"id\":");
    push_raw(out, id.unwrap_or(Str(b"")));
    out.extend_from_slice(b",\"type\":\"function\",\"function\":{\"name\":");
    push_raw(out, name.unwrap_or(Str(b"")));
    out.extend_from_slice(b",\"arguments\":");
}

/// A tool's JSON input as OpenAI `arguments` (a string holding it), `"{}"`
/// when there is none.
pub(crate) fn push_arguments(out: &mut Vec<u8>, input: Option<Val<'_>>) {
    match input {
        Some(v) => push_quoted(out, v.0),
        None => out.extend_from_slice(b"\"{}\""),
    }
}

/// The `usage` object with cache counters, as LiteLLM serialises it for
/// providers that report them (Anthropic, Bedrock). `total` is the
/// provider's own total when it gives one, else prompt + completion.
pub(crate) fn push_usage(out: &mut Vec<u8>, u: TokenUsage, total: Option<u64>) {
    out.extend_from_slice(b"{\"completion_tokens\":");
    push_u64(out, u.completion_tokens);
    out.extend_from_slice(b",\"prompt_tokens\":");
    push_u64(out, u.prompt_tokens);
    out.extend_from_slice(b",\"total_tokens\":");
    push_u64(out, total.unwrap_or(u.prompt_tokens + u.completion_tokens));
    out.extend_from_slice(b",\"prompt_tokens_details\":{\"cached_tokens\":");
    push_u64(out, u.cache_read_tokens);
    out.extend_from_slice(b",\"cache_creation_tokens\":");
    push_u64(out, u.cache_creation_tokens);
    out.extend_from_slice(b"},\"cache_creation_input_tokens\":");
    push_u64(out, u.cache_creation_tokens);
    out.extend_from_slice(b",\"cache_read_input_tokens\":");
    push_u64(out, u.cache_read_tokens);
    out.push(b'}');
}

// ---------------------------------------------------------------------------
// Writing a chat.completion.chunk stream
// ---------------------------------------------------------------------------

/// The writing half of every `…ToOpenAiStream`: it owns the chunk prefix
/// (`data: {"id":…,"created":…,"model":…,"object":"chat.completion.chunk","choices":[`,
/// built once per stream, the only allocation) and the three facts every
/// such stream tracks: whether the role chunk, the finish chunk and
/// `[DONE]` (or a final error) are out. Each delta first sends the role
/// chunk, `{"content":"","role":"assistant"}`, if it is not out yet, as
/// LiteLLM's streams open with it.
#[derive(Debug)]
pub(crate) struct Chunks {
    prefix: Vec<u8>,
    include_usage: bool,
    role_sent: bool,
    finish_sent: bool,
    done: bool,
}

impl Chunks {
    /// A stream whose chunks carry a fresh `chatcmpl-<uuid>` id.
    pub(crate) fn new(client_model: &str, include_usage: bool) -> Self {
        let mut c = Chunks::unstarted(include_usage);
        c.start(None, client_model);
        c
    }

    /// A stream whose prefix waits for [`start`](Self::start) (Gemini takes
    /// the id from its first event).
    pub(crate) fn unstarted(include_usage: bool) -> Self {
        Chunks {
            prefix: Vec::new(),
            include_usage,
            role_sent: false,
            finish_sent: false,
            done: false,
        }
    }

    /// Builds the prefix unless it is built already.
    pub(crate) fn start(&mut self, id: Option<Str<'_>>, client_model: &str) {
        if self.prefix.is_empty() {
            self.prefix.reserve_exact(120 + client_model.len());
            self.prefix.extend_from_slice(b"data: ");
            push_chat_head(&mut self.prefix, id, client_model, b"chat.completion.chunk");
            self.prefix.extend_from_slice(b",\"choices\":[");
        }
    }

    /// Whether `[DONE]` (or a final error) has been written.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Marks the stream over after the caller wrote a final error event.
    pub(crate) fn set_done(&mut self) {
        self.done = true;
    }

    /// The role chunk, once.
    pub(crate) fn role(&mut self, out: &mut Vec<u8>) {
        if !self.role_sent {
            self.role_sent = true;
            out.extend_from_slice(&self.prefix);
            out.extend_from_slice(
                b"{\"index\":0,\"delta\":{\"content\":\"\",\"role\":\"assistant\"}}]}\n\n",
            );
        }
    }

    /// One chunk whose `delta` object holds the members `write` appends.
    pub(crate) fn delta(&mut self, out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
        self.role(out);
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(b"{\"index\":0,\"delta\":{");
        write(out);
        out.extend_from_slice(b"}}]}\n\n");
    }

    /// A `content` delta; nothing for an empty text.
    pub(crate) fn content(&mut self, out: &mut Vec<u8>, text: Str<'_>) {
        if !text.is_empty() {
            self.delta(out, |out| {
                out.extend_from_slice(b"\"content\":");
                push_raw(out, text);
            });
        }
    }

    /// The first delta of tool call `index`: its id, name and the
    /// `arguments` so far (a raw string body, often empty).
    pub(crate) fn tool_start(
        &mut self,
        out: &mut Vec<u8>,
        index: u64,
        id: Option<Str<'_>>,
        name: Option<Str<'_>>,
        args: Str<'_>,
    ) {
        self.delta(out, |out| {
            out.extend_from_slice(b"\"tool_calls\":[{\"index\":");
            push_u64(out, index);
            out.push(b',');
            push_tool_call_members(out, id, name);
            push_raw(out, args);
            out.extend_from_slice(b"}}]");
        });
    }

    /// An `arguments` delta of tool call `index` (`args` a raw string body).
    pub(crate) fn tool_args(&mut self, out: &mut Vec<u8>, index: u64, args: &[u8]) {
        self.delta(out, |out| {
            out.extend_from_slice(b"\"tool_calls\":[{\"index\":");
            push_u64(out, index);
            out.extend_from_slice(b",\"function\":{\"arguments\":\"");
            out.extend_from_slice(args);
            out.extend_from_slice(b"\"}}]");
        });
    }

    /// A thinking text delta: `reasoning_content` plus the matching
    /// `thinking_blocks` entry (LiteLLM sends both).
    pub(crate) fn thinking(&mut self, out: &mut Vec<u8>, text: Str<'_>) {
        self.delta(out, |out| {
            out.extend_from_slice(b"\"reasoning_content\":");
            push_raw(out, text);
            out.extend_from_slice(b",\"thinking_blocks\":[{\"type\":\"thinking\",\"thinking\":");
            push_raw(out, text);
            out.extend_from_slice(b"}]");
        });
    }

    /// A thinking block's signature delta.
    pub(crate) fn signature(&mut self, out: &mut Vec<u8>, sig: Str<'_>) {
        self.delta(out, |out| {
            out.extend_from_slice(b"\"reasoning_content\":\"\",\"thinking_blocks\":[{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":");
            push_raw(out, sig);
            out.extend_from_slice(b"}]");
        });
    }

    /// The `finish_reason` chunk, once (after the role chunk).
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>, reason: &[u8]) {
        if self.finish_sent {
            return;
        }
        self.role(out);
        self.finish_sent = true;
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(b"{\"finish_reason\":\"");
        out.extend_from_slice(reason);
        out.extend_from_slice(b"\",\"index\":0,\"delta\":{}}]}\n\n");
    }

    /// Ends the stream: the finish chunk with `reason` unless one is out,
    /// the usage chunk (`choices:[{"index":0,"delta":{}}]`, as LiteLLM sends
    /// it; `usage` writes the object) when the client asked for it, then
    /// `data: [DONE]`.
    pub(crate) fn end(
        &mut self,
        out: &mut Vec<u8>,
        reason: &[u8],
        usage: impl FnOnce(&mut Vec<u8>),
    ) {
        self.finish(out, reason);
        if self.include_usage {
            out.extend_from_slice(&self.prefix);
            out.extend_from_slice(b"{\"index\":0,\"delta\":{}}],\"usage\":");
            usage(out);
            out.extend_from_slice(b"}\n\n");
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
        self.done = true;
    }
}
