//! Anthropic Messages API <-> OpenAI Chat Completions, both directions,
//! non-stream and stream. Pure functions and two small stream state machines:
//! no sockets, no clocks beyond `created`, no configuration.
//!
//! What it owns and why it lives here: the gateway routes a client that
//! speaks one format to a deployment that speaks the other, exactly where
//! LiteLLM does (`llms/anthropic/chat/transformation.py` for OpenAI-in →
//! Anthropic-out with `litellm_core_utils/prompt_templates/factory.py`'s
//! `anthropic_messages_pt`, `llms/anthropic/pass_through/adapters/` for
//! Anthropic-in → OpenAI-out). The field mappings, defaults and quirks below
//! follow those files (litellm 1.106.2); the code is our own.
//!
//! * [`openai_to_anthropic_request`], [`anthropic_to_openai_response`],
//!   [`AnthropicToOpenAiStream`]: an OpenAI client calling an `anthropic/`
//!   deployment.
//! * [`anthropic_to_openai_request`], [`openai_to_anthropic_response`],
//!   [`OpenAiToAnthropicStream`]: a `/v1/messages` client calling an
//!   OpenAI-format deployment.
//! * [`anthropic_error_body`]: Anthropic's error envelope for `/v1/messages`.
//!
//! How it reads and writes: the body is read once by a validating pull
//! parser that records *byte spans* (no `serde_json::Value`, no decoded
//! `String`s). That one pass also captures each message's fields and each
//! content part's (and tool's) members, so a long text is scanned once, to
//! validate it, and afterwards only copied. The output is written once,
//! straight into the caller's buffer. JSON string values move between
//! formats as their raw escaped bytes (a text full of quotes and newlines is
//! copied, never decoded and re-escaped), and nested values both formats
//! share (tool JSON schemas, `cache_control`, thinking blocks) are copied
//! verbatim. The only decoding is where the formats genuinely differ: OpenAI
//! tool-call `arguments` is a JSON *string* holding JSON, Anthropic's
//! `input` is the JSON itself, so one direction unescapes (and validates)
//! and the other escapes. A request allocates three small `Vec`s of spans
//! (messages, content parts, tools: messages must be seen whole to lift
//! system prompts and merge turns); a stream allocates its few small
//! buffers (chunk prefix, model name, current tool id) once, not per event.
//!
//! Where the pieces live: the pull parser, span navigation and generic
//! writers are in `json`; the OpenAI Chat side that every translator shares
//! (reading `messages`, writing a `chat.completion`, the
//! `chat.completion.chunk` stream and the usage object) is in `chat`; this
//! module keeps the Anthropic side and the mapping between the two.
//!
//! Why not `serde_json`: measured by `tests::measure` (release, the 2-vCPU
//! dev box, best of 4 runs), a *whole* translation of a 32 KB chat body
//! takes 8.7 µs (prose) to 12.4 µs (an escaped quote every 20 bytes), while
//! merely parsing it with serde into borrowed structs takes 10.4–18.8 µs,
//! into a `serde_json::Value` 13.4–22.2 µs, and parse plus serialise
//! 34–46 µs; at 2 KB: 1.5–2.0 µs against 1.5–2.0, 4.4–5.0 and 6.1–6.8 µs.
//! Borrowed structs would also still decode every escaped text (into a
//! `Cow::Owned`) and re-escape it on output, and they cannot hold the
//! arbitrary JSON (schemas, tool inputs) without `Value` or serde_json's
//! `raw_value` feature. A stream event costs 0.5 µs (Anthropic → OpenAI)
//! and 0.8 µs (OpenAI → Anthropic).
//!
//! Validation: the whole input is checked (UTF-8, JSON grammar including
//! string escapes, control characters and number syntax, nesting ≤ 128), so
//! every span copied into the output is valid JSON and nothing can panic on
//! client- or provider-controlled input: every failure is a
//! [`TranslateError`].

use std::borrow::Cow;

use crate::chat::*;
use crate::json::*;
pub use crate::json::{TokenUsage, TranslateError};

/// What the request translation learned that the response side needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReqInfo {
    /// The client asked for a stream (`"stream": true`).
    pub stream: bool,
    /// The client's stream should end with a usage chunk / event. For
    /// OpenAI-in it is the client's `stream_options.include_usage`; for
    /// Anthropic-in it is always true when streaming (Anthropic streams
    /// always report usage, so the OpenAI upstream is asked for it).
    pub include_usage: bool,
}

/// LiteLLM's `DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS`: Anthropic requires
/// `max_tokens`, and LiteLLM fills it with this when the model is not in its
/// cost map.
pub const DEFAULT_ANTHROPIC_MAX_TOKENS: u64 = 4096;

/// The `max_tokens` LiteLLM sends when an OpenAI client gave none: the
/// model's `max_output_tokens` from LiteLLM's cost map (entries whose
/// provider is `anthropic`, 1.106.2), else [`DEFAULT_ANTHROPIC_MAX_TOKENS`].
/// Older models (claude-3-*, claude-sonnet-4, claude-opus-4-1) are not in
/// that map and get 4096 there too.
pub fn default_max_tokens(upstream_model: &str) -> u64 {
    const TABLE: &[(&str, u64)] = &[
        ("claude-haiku-4-5", 64_000),
        ("claude-haiku-4-5-20251001", 64_000),
        ("claude-sonnet-4-5", 64_000),
        ("claude-sonnet-4-5-20250929", 64_000),
        ("claude-opus-4-5", 64_000),
        ("claude-opus-4-5-20251101", 64_000),
        ("claude-sonnet-4-6", 128_000),
        ("claude-opus-4-6", 128_000),
        ("claude-opus-4-6-20260205", 128_000),
        ("claude-opus-4-7", 128_000),
        ("claude-opus-4-7-20260416", 128_000),
        ("claude-opus-4-8", 128_000),
        ("claude-sonnet-5", 128_000),
        ("claude-sonnet-5-5", 128_000),
        ("claude-opus-5", 128_000),
        ("claude-opus-5-5", 128_000),
        ("claude-haiku-5-5", 128_000),
        ("claude-fable-5", 128_000),
        ("claude-fable-5-1", 128_000),
        ("claude-mythos-5", 128_000),
        ("claude-mythos-5-1", 128_000),
        ("claude-mythos-preview", 128_000),
    ];
    let m = upstream_model
        .strip_prefix("anthropic/")
        .unwrap_or(upstream_model);
    TABLE
        .iter()
        .find(|(name, _)| *name == m)
        .map_or(DEFAULT_ANTHROPIC_MAX_TOKENS, |(_, n)| *n)
}

/// Appends a tool-use id with every character outside `[A-Za-z0-9_-]`
/// replaced by `_` (Anthropic's pattern; LiteLLM's
/// `_sanitize_anthropic_tool_use_id`), or `tool_use_id` when empty.
fn push_sanitized_id(out: &mut Vec<u8>, id: Str<'_>) {
    let decoded = id.decoded().unwrap_or(Cow::Borrowed(id.0));
    if decoded.is_empty() {
        out.extend_from_slice(b"\"tool_use_id\"");
        return;
    }
    out.push(b'"');
    for &c in decoded.iter() {
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' {
            out.push(c);
        } else if !(0x80..0xC0).contains(&c) {
            // One `_` per character: UTF-8 continuation bytes add nothing.
            out.push(b'_');
        }
    }
    out.push(b'"');
}

// ---------------------------------------------------------------------------
// OpenAI chat request -> Anthropic /v1/messages request
// ---------------------------------------------------------------------------

/// The text LiteLLM puts in place of an empty or whitespace-only user or
/// assistant text (Anthropic rejects empty text blocks).
const EMPTY_TEXT_PLACEHOLDER: &[u8] =
    b"[System: Empty message content sanitised to satisfy protocol]";

/// Members of an OpenAI content part captured in the strict pass.
const OA_PART_KEYS: [&str; 5] = ["type", "text", "image_url", "file", "cache_control"];
const P_TYPE: usize = 0;
const P_TEXT: usize = 1;
const P_IMAGE_URL: usize = 2;
const P_FILE: usize = 3;
const P_CACHE: usize = 4;
type OaPart<'a> = Part<'a, 5>;

/// Members of an OpenAI tool captured in the strict pass.
const OA_TOOL_KEYS: [&str; 3] = ["type", "function", "cache_control"];
type OaTool<'a> = Part<'a, 3>;

/// The top-level OpenAI fields the translation uses.
#[derive(Default)]
struct OaReq<'a> {
    has_messages: bool,
    max_tokens: Option<Val<'a>>,
    stop: Option<Val<'a>>,
    temperature: Option<Val<'a>>,
    top_p: Option<Val<'a>>,
    top_k: Option<Val<'a>>,
    stream: bool,
    include_usage: bool,
    tools: Option<Val<'a>>,
    tool_parts: Option<(usize, usize)>,
    tool_choice: Option<Val<'a>>,
    parallel_tool_calls: Option<bool>,
    user: Option<Val<'a>>,
    metadata: Option<Val<'a>>,
    thinking: Option<Val<'a>>,
    reasoning_effort: Option<Val<'a>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Turn {
    User,
    Assistant,
}

/// Writes Anthropic `messages`, merging consecutive same-role turns as
/// Anthropic requires (OpenAI `tool`/`function` results are user turns).
struct Turns {
    open: Option<Turn>,
    written: usize,
    /// Spans in `out` of the text bodies of the open assistant turn, to strip
    /// trailing whitespace if it is the last turn (Anthropic rejects a final
    /// assistant text ending in whitespace).
    texts: Vec<(usize, usize)>,
    /// Spans in `out` of the tool-use ids of the open assistant turn (ids
    /// must be unique within a turn; LiteLLM drops repeats).
    tool_ids: Vec<(usize, usize)>,
}

impl Turns {
    fn new() -> Self {
        Turns {
            open: None,
            written: 0,
            texts: Vec::new(),
            tool_ids: Vec::new(),
        }
    }

    /// Opens the turn if needed and writes the separator for the next block.
    fn block(&mut self, out: &mut Vec<u8>, turn: Turn) {
        if self.open == Some(turn) {
            out.push(b',');
            return;
        }
        if self.open.is_some() {
            out.extend_from_slice(b"]}");
        }
        if self.written > 0 {
            out.push(b',');
        }
        out.extend_from_slice(match turn {
            Turn::User => b"{\"role\":\"user\",\"content\":[",
            Turn::Assistant => b"{\"role\":\"assistant\",\"content\":[",
        });
        self.open = Some(turn);
        self.written += 1;
        self.texts.clear();
        self.tool_ids.clear();
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        if self.open == Some(Turn::Assistant) {
            for &(s, e) in self.texts.iter().rev() {
                let keep = rstrip_raw(out.get(s..e).unwrap_or_default());
                out.drain(s + keep..e);
            }
        }
        if self.open.is_some() {
            out.extend_from_slice(b"]}");
        }
        self.open = None;
    }
}

/// Length of a raw JSON string body without trailing whitespace (spaces and
/// the `\n`, `\r`, `\t` escapes).
fn rstrip_raw(raw: &[u8]) -> usize {
    let mut e = raw.len();
    loop {
        if e >= 1 && raw[e - 1] == b' ' {
            e -= 1;
            continue;
        }
        if e >= 2 && matches!(raw[e - 1], b'n' | b'r' | b't') && raw[e - 2] == b'\\' {
            // A real escape only if the backslash run before the letter is odd.
            let run = raw[..e - 1]
                .iter()
                .rev()
                .take_while(|&&c| c == b'\\')
                .count();
            if run % 2 == 1 {
                e -= 2;
                continue;
            }
        }
        return e;
    }
}

/// Writes a text block; `text` is a raw string body.
fn an_text_block(out: &mut Vec<u8>, turns: &mut Turns, text: Str<'_>, cc: Option<Val<'_>>) {
    out.extend_from_slice(b"{\"type\":\"text\",\"text\":\"");
    let s = out.len();
    if text.is_blank() {
        out.extend_from_slice(EMPTY_TEXT_PLACEHOLDER);
    } else {
        out.extend_from_slice(text.0);
    }
    if turns.open == Some(Turn::Assistant) {
        turns.texts.push((s, out.len()));
    }
    out.push(b'"');
    push_cache_control(out, cc);
    out.push(b'}');
}

fn push_cache_control(out: &mut Vec<u8>, cc: Option<Val<'_>>) {
    if let Some(cc) = cc.filter(|v| v.is_obj()) {
        out.extend_from_slice(b",\"cache_control\":");
        out.extend_from_slice(cc.0);
    }
}

/// A `data:` URL split into media type and base64 payload (raw bodies).
fn split_data_url(url: Str<'_>) -> Option<(Str<'_>, Str<'_>)> {
    let rest = url.0.strip_prefix(b"data:")?;
    let at = memchr::memmem::find(rest, b";base64,")?;
    Some((Str(&rest[..at]), Str(&rest[at + 8..])))
}

/// An OpenAI image URL (or `file_data`) as an Anthropic `image` or
/// `document` block: `data:` URLs become base64 sources (PDF and plain text
/// become documents), http(s) URLs become URL sources. LiteLLM downloads
/// `http://` images and inlines them; a pure translation cannot, so both
/// schemes are passed as URLs.
fn an_media_block(
    out: &mut Vec<u8>,
    url: Str<'_>,
    format: Option<Str<'_>>,
    force_document: bool,
    cc: Option<Val<'_>>,
) -> Res<()> {
    if url.starts_with(b"https://") || url.starts_with(b"http://") {
        out.extend_from_slice(if force_document {
            b"{\"type\":\"document\",\"source\":{\"type\":\"url\",\"url\":"
        } else {
            b"{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":"
        });
        push_raw(out, url);
    } else if let Some((media, data)) = split_data_url(url) {
        let media = format.unwrap_or(media);
        let document = force_document || media.is("application/pdf") || media.is("text/plain");
        out.extend_from_slice(if document {
            b"{\"type\":\"document\",\"source\":{\"type\":\"base64\",\"media_type\":"
        } else {
            b"{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":"
        });
        push_raw(out, media);
        out.extend_from_slice(b",\"data\":");
        push_raw(out, data);
    } else {
        return invalid(
            "Image url not in expected format. Example Expected input - \"image_url\": \"data:image/jpeg;base64,{base64_image}\". Supported formats - ['image/jpeg', 'image/png', 'image/gif', 'image/webp'].",
        );
    }
    out.push(b'}');
    push_cache_control(out, cc);
    out.push(b'}');
    Ok(())
}

/// `{"type":"image_url","image_url":"..."|{"url":"...","format":...}}`.
fn an_image_part(out: &mut Vec<u8>, part: &OaPart<'_>) -> Res<()> {
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
    an_media_block(out, url, format, false, part.val(P_CACHE))
}

/// `{"type":"file","file":{"file_data"|"file_id", "format"?}}`.
fn an_file_part(out: &mut Vec<u8>, part: &OaPart<'_>) -> Res<()> {
    let Some(file) = part.val(P_FILE).filter(|v| v.is_obj()) else {
        return invalid("Content block has type='file' but is missing the required 'file' field");
    };
    let [data, id, format] = file.fields(&["file_data", "file_id", "format"]);
    let format = format.and_then(Val::str);
    let image = format.is_some_and(|f| f.starts_with(b"image/"));
    let cc = part.val(P_CACHE);
    if let Some(data) = data.and_then(Val::str).filter(|s| !s.is_empty()) {
        return an_media_block(out, data, format, !image, cc);
    }
    if let Some(id) = id.and_then(Val::str).filter(|s| !s.is_empty()) {
        out.extend_from_slice(if image {
            b"{\"type\":\"image\",\"source\":{\"type\":\"file\",\"file_id\":"
        } else {
            b"{\"type\":\"document\",\"source\":{\"type\":\"file\",\"file_id\":"
        });
        push_raw(out, id);
        out.push(b'}');
        push_cache_control(out, cc);
        out.push(b'}');
        return Ok(());
    }
    invalid("Either file_data or file_id must be present in the file message")
}

fn an_user_message(
    out: &mut Vec<u8>,
    turns: &mut Turns,
    m: &Msg<'_>,
    parts: &[OaPart<'_>],
) -> Res<()> {
    let Some(content) = m.content else {
        return Ok(());
    };
    if let Some(text) = content.str() {
        turns.block(out, Turn::User);
        an_text_block(out, turns, text, m.cache_control);
        return Ok(());
    }
    if m.parts.is_none() {
        return invalid("Invalid Message passed in: user content must be a string or an array");
    }
    for part in slice(parts, m.parts) {
        let Some(ty) = part.str(P_TYPE) else { continue };
        if ty.is("text") {
            turns.block(out, Turn::User);
            let text = part.str(P_TEXT).unwrap_or(Str(b""));
            an_text_block(out, turns, text, part.val(P_CACHE));
        } else if ty.is("image_url") {
            turns.block(out, Turn::User);
            an_image_part(out, part)?;
        } else if ty.is("file") {
            turns.block(out, Turn::User);
            an_file_part(out, part)?;
        } else if ty.is("document") && part.all.is_obj() {
            // Already an Anthropic document block: LiteLLM passes it as is.
            turns.block(out, Turn::User);
            out.extend_from_slice(part.all.0);
        }
        // input_audio and unknown parts: Anthropic has no equivalent; dropped.
    }
    Ok(())
}

fn an_tool_result(
    out: &mut Vec<u8>,
    turns: &mut Turns,
    m: &Msg<'_>,
    parts: &[OaPart<'_>],
) -> Res<()> {
    let id = m.tool_call_id.and_then(Val::str);
    if id.is_none() && m.role == Role::Tool {
        return invalid("Invalid Message passed in: tool message is missing 'tool_call_id'");
    }
    turns.block(out, Turn::User);
    out.extend_from_slice(b"{\"type\":\"tool_result\",\"tool_use_id\":");
    match id {
        Some(id) => push_sanitized_id(out, id),
        None => {
            out.extend_from_slice(b"\"toolu_");
            push_uuid(out);
            out.push(b'"');
        }
    }
    out.extend_from_slice(b",\"content\":");
    match m.content {
        Some(c) if c.str().is_some() => out.extend_from_slice(c.0),
        Some(_) if m.parts.is_some() => {
            out.push(b'[');
            let mut n = 0;
            for part in slice(parts, m.parts) {
                let Some(ty) = part.str(P_TYPE) else { continue };
                let mark = out.len();
                comma(out, &mut n);
                if ty.is("text") {
                    out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
                    push_raw(out, part.str(P_TEXT).unwrap_or(Str(b"")));
                    push_cache_control(out, part.val(P_CACHE));
                    out.push(b'}');
                } else if ty.is("image_url") {
                    an_image_part(out, part)?;
                } else if ty.is("file") {
                    an_file_part(out, part)?;
                } else {
                    out.truncate(mark);
                    n -= 1;
                }
            }
            out.push(b']');
        }
        _ => out.extend_from_slice(b"\"\""),
    }
    push_cache_control(out, m.cache_control);
    out.push(b'}');
    Ok(())
}

/// OpenAI tool-call `arguments` (a JSON string holding JSON) as Anthropic
/// `input` (the JSON itself): decoded straight into `out`, then validated.
fn an_tool_input(out: &mut Vec<u8>, args: Option<Val<'_>>) -> Res<()> {
    let Some(args) = args.filter(|v| !v.is_null()) else {
        out.extend_from_slice(b"{}");
        return Ok(());
    };
    if args.is_obj() {
        out.extend_from_slice(args.0);
        return Ok(());
    }
    let Some(s) = args.str() else {
        return invalid("tool call 'arguments' must be a JSON string");
    };
    if s.is_blank() {
        out.extend_from_slice(b"{}");
        return Ok(());
    }
    let mark = out.len();
    let ok = unescape_into(out, s.0).is_ok()
        && out
            .get(mark..)
            .is_some_and(|d| std::str::from_utf8(d).is_ok() && is_valid_json(d));
    if !ok {
        out.truncate(mark);
        return invalid("tool call 'arguments' is not valid JSON");
    }
    Ok(())
}

fn an_assistant_message(
    out: &mut Vec<u8>,
    turns: &mut Turns,
    m: &Msg<'_>,
    parts: &[OaPart<'_>],
) -> Res<()> {
    let parts = slice(parts, m.parts);
    let thinking = |p: &OaPart<'_>| p.is(P_TYPE, "thinking") || p.is(P_TYPE, "redacted_thinking");
    let has_tool_calls = m.tool_calls.is_some_and(|t| t.elems().next().is_some());
    // Thinking blocks go first (Anthropic verifies their position). Blocks
    // without a signature cannot be replayed and are dropped, as LiteLLM does.
    if let Some(tb) = m.thinking_blocks.filter(|_| !parts.iter().any(thinking)) {
        for b in tb.elems() {
            if replayable_thinking(b) {
                turns.block(out, Turn::Assistant);
                out.extend_from_slice(b.0);
            }
        }
    }
    match m.content {
        Some(c) if c.str().is_some() => {
            let text = c.str().unwrap_or(Str(b""));
            // An empty text beside tool calls is simply omitted (LiteLLM
            // would insert its placeholder text).
            if !(has_tool_calls && text.is_blank()) {
                turns.block(out, Turn::Assistant);
                an_text_block(out, turns, text, m.cache_control);
            }
        }
        Some(_) if m.parts.is_some() => {
            for part in parts {
                if part.is(P_TYPE, "text") {
                    let text = part.str(P_TEXT).unwrap_or(Str(b""));
                    if text.is_empty() {
                        continue;
                    }
                    turns.block(out, Turn::Assistant);
                    an_text_block(out, turns, text, part.val(P_CACHE));
                } else if thinking(part) && replayable_thinking(part.all) {
                    turns.block(out, Turn::Assistant);
                    out.extend_from_slice(part.all.0);
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
    let Some(calls) = m.tool_calls else {
        return Ok(());
    };
    let mut id_buf = Vec::new();
    for call in calls.elems() {
        let [ty, id, function, cc] = call.fields(&["type", "id", "function", "cache_control"]);
        if ty.and_then(Val::str).is_some_and(|t| !t.is("function")) {
            continue;
        }
        let Some(f) = function.filter(|v| v.is_obj()) else {
            return invalid("Invalid Message passed in: tool_calls[].function is missing");
        };
        id_buf.clear();
        match id.and_then(Val::str) {
            Some(id) => push_sanitized_id(&mut id_buf, id),
            None => {
                id_buf.extend_from_slice(b"\"toolu_");
                push_uuid(&mut id_buf);
                id_buf.push(b'"');
            }
        }
        if turns
            .tool_ids
            .iter()
            .any(|&(s, e)| out.get(s..e) == Some(&id_buf[..]))
        {
            continue;
        }
        let [name, arguments] = f.fields(&["name", "arguments"]);
        turns.block(out, Turn::Assistant);
        out.extend_from_slice(b"{\"type\":\"tool_use\",\"id\":");
        let s = out.len();
        out.extend_from_slice(&id_buf);
        turns.tool_ids.push((s, out.len()));
        out.extend_from_slice(b",\"name\":");
        push_raw(out, name.and_then(Val::str).unwrap_or(Str(b"")));
        out.extend_from_slice(b",\"input\":");
        an_tool_input(out, arguments)?;
        push_cache_control(out, cc);
        out.push(b'}');
    }
    Ok(())
}

/// A thinking block Anthropic will accept back: `thinking` with a
/// non-empty signature, or `redacted_thinking`.
fn replayable_thinking(b: Val<'_>) -> bool {
    let [ty, signature] = b.fields(&["type", "signature"]);
    match ty.and_then(Val::str) {
        Some(t) if t.is("thinking") => signature.and_then(Val::str).is_some_and(|s| !s.is_empty()),
        Some(t) => t.is("redacted_thinking"),
        None => false,
    }
}

/// The system prompt: every system/developer message, wherever it was, as
/// text blocks (empty texts skipped; Anthropic rejects them).
fn an_system(out: &mut Vec<u8>, msgs: &[Msg<'_>], parts: &[OaPart<'_>]) {
    let mark = out.len();
    out.extend_from_slice(b",\"system\":[");
    let mut n = 0;
    let mut block = |out: &mut Vec<u8>, text: Str<'_>, cc: Option<Val<'_>>| {
        if text.is_empty() {
            return;
        }
        comma(out, &mut n);
        out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
        push_raw(out, text);
        push_cache_control(out, cc);
        out.push(b'}');
    };
    for m in msgs.iter().filter(|m| m.role == Role::System) {
        if let Some(text) = m.content.and_then(Val::str) {
            block(out, text, m.cache_control);
        }
        for part in slice(parts, m.parts)
            .iter()
            .filter(|p| p.is(P_TYPE, "text"))
        {
            if let Some(text) = part.str(P_TEXT) {
                block(out, text, part.val(P_CACHE));
            }
        }
    }
    if n == 0 {
        out.truncate(mark);
    } else {
        out.push(b']');
    }
}

/// Writes an integer parameter: an integer literal as it is (a negative
/// one is the provider's to reject), a float rounded and at least 1 (as
/// LiteLLM does for `max_tokens`). Returns the value (0 if negative).
fn push_int_param(out: &mut Vec<u8>, v: Val<'_>, name: &str) -> Res<u64> {
    let Some(n) = v.num() else {
        return invalid(format!("'{name}' must be an integer"));
    };
    if v.0.iter().all(|&c| c == b'-' || c.is_ascii_digit()) {
        out.extend_from_slice(v.0);
        return Ok(if n < 0.0 { 0 } else { n as u64 });
    }
    let n = n.round().max(1.0) as u64;
    push_u64(out, n);
    Ok(n)
}

fn push_num_param(out: &mut Vec<u8>, key: &[u8], v: Option<Val<'_>>, name: &str) -> Res<()> {
    let Some(v) = v else { return Ok(()) };
    if !v.is_num() {
        return invalid(format!("'{name}' must be a number"));
    }
    out.extend_from_slice(key);
    out.extend_from_slice(v.0);
    Ok(())
}

/// LiteLLM's `_valid_user_id`: Anthropic rejects e-mail addresses and phone
/// numbers as `metadata.user_id`, so those are not sent.
fn valid_user_id(id: &[u8]) -> bool {
    !(looks_like_email(id) || looks_like_phone(id))
}

fn looks_like_email(s: &[u8]) -> bool {
    // ^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$
    let Some(at) = s.iter().position(|&c| c == b'@') else {
        return false;
    };
    let (local, domain) = (&s[..at], &s[at + 1..]);
    let local_ok = !local.is_empty()
        && local
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"._%+-".contains(&c));
    let Some(dot) = domain.iter().rposition(|&c| c == b'.') else {
        return false;
    };
    let (host, tld) = (&domain[..dot], &domain[dot + 1..]);
    // The regex's `[a-zA-Z0-9.-]+` is greedy with backtracking, so any dot
    // followed by 2+ letters at the end works; the last dot is the best case.
    local_ok
        && !host.is_empty()
        && host
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-')
        && tld.len() >= 2
        && tld.iter().all(u8::is_ascii_alphabetic)
}

fn looks_like_phone(s: &[u8]) -> bool {
    // ^\+?[\d\s\(\)-]{7,}$
    let s = s.strip_prefix(b"+").unwrap_or(s);
    s.len() >= 7
        && s.iter()
            .all(|&c| c.is_ascii_digit() || c.is_ascii_whitespace() || b"()-".contains(&c))
}

/// `metadata.user_id`: the request's `metadata.user_id` (LiteLLM's
/// litellm-metadata rule) wins over `user`; invalid ids are not sent.
fn an_metadata(out: &mut Vec<u8>, req: &OaReq<'_>) {
    let id = req
        .metadata
        .and_then(|m| m.get_str("user_id"))
        .or_else(|| req.user.and_then(Val::str));
    let Some(id) = id else { return };
    let valid = id.decoded().is_some_and(|d| valid_user_id(&d));
    if valid {
        out.extend_from_slice(b",\"metadata\":{\"user_id\":");
        push_raw(out, id);
        out.push(b'}');
    }
}

fn an_stop(out: &mut Vec<u8>, stop: Option<Val<'_>>) {
    let Some(stop) = stop else { return };
    let mark = out.len();
    out.extend_from_slice(b",\"stop_sequences\":[");
    let mut n = 0;
    let mut one = |out: &mut Vec<u8>, s: Str<'_>| {
        // Anthropic rejects whitespace-only stop sequences.
        if !s.is_blank() {
            comma(out, &mut n);
            push_raw(out, s);
        }
    };
    if let Some(s) = stop.str() {
        one(out, s);
    } else {
        for s in stop.elems().filter_map(Val::str) {
            one(out, s);
        }
    }
    if n == 0 {
        out.truncate(mark);
    } else {
        out.push(b']');
    }
}

fn an_tools(out: &mut Vec<u8>, req: &OaReq<'_>, tools: &[OaTool<'_>]) -> Res<()> {
    if req.tools.is_none() {
        return Ok(());
    }
    if req.tool_parts.is_none() {
        return invalid("'tools' must be an array");
    }
    let tools = slice(tools, req.tool_parts);
    if tools.is_empty() {
        return Ok(());
    }
    out.extend_from_slice(b",\"tools\":[");
    let mut n = 0;
    for t in tools {
        comma(out, &mut n);
        if t.str(0).is_some_and(|ty| !ty.is("function")) {
            // Not an OpenAI function tool: taken to be an Anthropic-native
            // tool (web_search_*, bash_*, ...), forwarded as is.
            out.extend_from_slice(t.all.0);
            continue;
        }
        let Some(f) = t.val(1).filter(|v| v.is_obj()) else {
            return invalid("tools[].function is missing");
        };
        let [name, description, parameters, cc] =
            f.fields(&["name", "description", "parameters", "cache_control"]);
        let Some(name) = name.and_then(Val::str) else {
            return invalid("tools[].function.name is missing");
        };
        out.extend_from_slice(b"{\"name\":");
        push_raw(out, name);
        if let Some(d) = description.and_then(Val::str) {
            out.extend_from_slice(b",\"description\":");
            push_raw(out, d);
        }
        out.extend_from_slice(b",\"input_schema\":");
        match parameters.filter(|v| v.is_obj()) {
            Some(p) => out.extend_from_slice(p.0),
            None => out.extend_from_slice(b"{\"type\":\"object\",\"properties\":{}}"),
        }
        push_cache_control(out, t.val(2).or(cc));
        out.push(b'}');
    }
    out.push(b']');
    Ok(())
}

/// LiteLLM's `_map_tool_choice`, with `parallel_tool_calls` as Anthropic's
/// inverse `disable_parallel_tool_use`.
fn an_tool_choice(out: &mut Vec<u8>, tc: Option<Val<'_>>, parallel: Option<bool>) {
    let mut kind: Option<&[u8]> = None;
    let mut name = None;
    let mut is_none = false;
    if let Some(tc) = tc {
        if let Some(s) = tc.str() {
            if s.is("auto") {
                kind = Some(b"auto");
            } else if s.is("required") {
                kind = Some(b"any");
            } else if s.is("none") {
                kind = Some(b"none");
                is_none = true;
            }
        } else if tc.is_obj() {
            let fname = tc.get("function").and_then(|f| f.get_str("name"));
            match (fname, tc.get_str("type")) {
                (Some(n), _) => {
                    kind = Some(b"tool");
                    name = Some(n);
                }
                (None, Some(t)) if tc.get("function").is_none() => {
                    if t.is("auto") {
                        kind = Some(b"auto");
                    } else if t.is("required") || t.is("any") {
                        kind = Some(b"any");
                    } else if t.is("none") {
                        kind = Some(b"none");
                    }
                }
                _ => {}
            }
        }
    }
    let disable = match parallel {
        Some(p) if !is_none => {
            kind.get_or_insert(b"auto");
            Some(!p)
        }
        _ => None,
    };
    let Some(kind) = kind else { return };
    out.extend_from_slice(b",\"tool_choice\":{\"type\":\"");
    out.extend_from_slice(kind);
    out.push(b'"');
    if let Some(n) = name {
        out.extend_from_slice(b",\"name\":");
        push_raw(out, n);
    }
    if let Some(d) = disable {
        out.extend_from_slice(if d {
            b",\"disable_parallel_tool_use\":true"
        } else {
            b",\"disable_parallel_tool_use\":false"
        });
    }
    out.push(b'}');
}

/// `reasoning_effort` as a legacy thinking budget (LiteLLM's constants),
/// capped below `max_tokens` like `cap_thinking_budget_to_max_tokens`.
fn an_reasoning(out: &mut Vec<u8>, effort: Str<'_>, max_tokens: u64) -> Res<()> {
    let budget: u64 = if effort.is("none") {
        return Ok(());
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
    };
    if max_tokens <= 1024 {
        return Ok(()); // no room for the minimum budget: thinking dropped
    }
    out.extend_from_slice(b",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":");
    push_u64(out, budget.min(max_tokens - 1));
    out.push(b'}');
    Ok(())
}

/// Translates an OpenAI `/v1/chat/completions` request body into an
/// Anthropic `/v1/messages` body for `upstream_model`, appended to `out`.
///
/// Mapped: `messages` (system/developer messages, wherever they are and
/// whether string or text parts, lifted into `system`; user text, images
/// (`data:` → base64 source, http(s) → URL source), `file` parts and
/// Anthropic `document` parts; assistant text, `thinking_blocks` and
/// `tool_calls` → `tool_use` with `arguments` parsed into `input`; `tool` /
/// `function` results → `tool_result` blocks in a user turn; consecutive
/// same-role turns merged; empty texts replaced by LiteLLM's placeholder;
/// trailing whitespace stripped from a final assistant turn; `cache_control`
/// kept), `max_tokens` / `max_completion_tokens` (default
/// [`default_max_tokens`]), `stop` → `stop_sequences`, `temperature`,
/// `top_p`, `top_k`, `stream`, `tools`, `tool_choice`,
/// `parallel_tool_calls` → `disable_parallel_tool_use`, `user` (or
/// `metadata.user_id`) → `metadata.user_id`, `thinking`, `reasoning_effort`
/// → `thinking.budget_tokens`.
///
/// Dropped (LiteLLM's `drop_params` behaviour for Anthropic): `n`,
/// `presence_penalty`, `frequency_penalty`, `logit_bias`, `logprobs`,
/// `top_logprobs`, `seed`, `response_format`, `modalities`, `audio`,
/// `prediction`, `service_tier`, `store`, `functions` / `function_call` and
/// assistant `function_call`, `web_search_options`, `stream_options` (read
/// for [`ReqInfo::include_usage`]), `extra_body`, `input_audio` parts,
/// `image_url.detail`, and any other key.
pub fn openai_to_anthropic_request(
    body: &[u8],
    upstream_model: &str,
    out: &mut Vec<u8>,
) -> Result<ReqInfo, TranslateError> {
    rollback_on_err(out, |out| {
        openai_to_anthropic_request_inner(body, upstream_model, out)
    })
}

fn openai_to_anthropic_request_inner(
    body: &[u8],
    upstream_model: &str,
    out: &mut Vec<u8>,
) -> Res<ReqInfo> {
    let mut req = OaReq::default();
    let mut msgs: Vec<Msg<'_>> = Vec::new();
    let mut parts: Vec<OaPart<'_>> = Vec::new();
    let mut tools: Vec<OaTool<'_>> = Vec::new();
    read_root(body, |p, k| {
        if k.0 == b"messages" && p.peek() != Some(b'n') {
            req.has_messages = true;
            return parse_messages(p, &OA_PART_KEYS, &mut msgs, &mut parts);
        }
        if k.0 == b"tools" {
            let (v, range) = p.array_parts(&OA_TOOL_KEYS, &mut tools)?;
            req.tools = Some(v).filter(|v| !v.is_null());
            req.tool_parts = range;
            return Ok(());
        }
        let v = p.value()?;
        let v = if v.is_null() { None } else { Some(v) };
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
            b"tool_choice" => req.tool_choice = v,
            b"parallel_tool_calls" => req.parallel_tool_calls = v.and_then(Val::bool),
            b"user" => req.user = v,
            b"metadata" => req.metadata = v,
            b"thinking" => req.thinking = v.filter(|t| t.is_obj()),
            b"reasoning_effort" => req.reasoning_effort = v,
            _ => {}
        }
        Ok(())
    })?;
    if !req.has_messages {
        return Err(TranslateError::Missing("messages"));
    }

    out.extend_from_slice(b"{\"model\":");
    push_quoted(out, upstream_model.as_bytes());
    out.extend_from_slice(b",\"messages\":[");
    let mut turns = Turns::new();
    for m in &msgs {
        match m.role {
            Role::System => {}
            Role::User => an_user_message(out, &mut turns, m, &parts)?,
            Role::Tool | Role::Function => an_tool_result(out, &mut turns, m, &parts)?,
            Role::Assistant => an_assistant_message(out, &mut turns, m, &parts)?,
        }
    }
    turns.close(out);
    if turns.written == 0 {
        return invalid("Anthropic requires at least one non-system message.");
    }
    out.push(b']');
    an_system(out, &msgs, &parts);
    out.extend_from_slice(b",\"max_tokens\":");
    let max_tokens = match req.max_tokens {
        Some(v) => push_int_param(out, v, "max_tokens")?,
        None => {
            let n = default_max_tokens(upstream_model);
            push_u64(out, n);
            n
        }
    };
    an_metadata(out, &req);
    an_stop(out, req.stop);
    if req.stream {
        out.extend_from_slice(b",\"stream\":true");
    }
    push_num_param(out, b",\"temperature\":", req.temperature, "temperature")?;
    push_num_param(out, b",\"top_p\":", req.top_p, "top_p")?;
    push_num_param(out, b",\"top_k\":", req.top_k, "top_k")?;
    if let Some(t) = req.thinking {
        out.extend_from_slice(b",\"thinking\":");
        out.extend_from_slice(t.0);
    } else if let Some(e) = req.reasoning_effort {
        match e.str() {
            Some(e) => an_reasoning(out, e, max_tokens)?,
            None => return invalid("'reasoning_effort' must be a string"),
        }
    }
    an_tools(out, &req, &tools)?;
    an_tool_choice(out, req.tool_choice, req.parallel_tool_calls);
    out.push(b'}');
    Ok(ReqInfo {
        stream: req.stream,
        include_usage: req.stream && req.include_usage,
    })
}

// ---------------------------------------------------------------------------
// Anthropic message response -> OpenAI chat.completion
// ---------------------------------------------------------------------------

/// LiteLLM's `map_finish_reason` for Anthropic stop reasons.
fn finish_from_stop_reason(stop: Option<Str<'_>>) -> &'static [u8] {
    match stop {
        Some(s) if s.is("max_tokens") || s.is("compaction") => b"length",
        Some(s) if s.is("tool_use") => b"tool_calls",
        Some(s) if s.is("refusal") => b"content_filter",
        _ => b"stop",
    }
}

/// Anthropic usage counters, merged as a stream reports them
/// (`message_delta` usage is cumulative and may omit fields).
#[derive(Clone, Copy, Debug, Default)]
struct AnUsage {
    input: u64,
    output: u64,
    cache_creation: u64,
    cache_read: u64,
}

impl AnUsage {
    fn merge(&mut self, u: Val<'_>) {
        for (k, v) in u.members() {
            if v.is_null() {
                continue;
            }
            match k.0 {
                b"input_tokens" => self.input = v.count(),
                b"output_tokens" => self.output = v.count(),
                b"cache_creation_input_tokens" => self.cache_creation = v.count(),
                b"cache_read_input_tokens" => self.cache_read = v.count(),
                _ => {}
            }
        }
    }
    /// LiteLLM's `calculate_usage`: prompt tokens include both cache counts.
    fn openai(self) -> TokenUsage {
        TokenUsage {
            prompt_tokens: self.input + self.cache_creation + self.cache_read,
            completion_tokens: self.output,
            cache_read_tokens: self.cache_read,
            cache_creation_tokens: self.cache_creation,
        }
    }
}

/// Translates an Anthropic `/v1/messages` response into an OpenAI
/// `chat.completion`, appended to `out`: `id` a fresh `chatcmpl-<uuid>`
/// (LiteLLM does not keep the `msg_` id), `created` now, `model` the
/// client's name, `message.content` the text blocks joined (null when
/// none), `tool_use` blocks → `tool_calls`, thinking blocks →
/// `reasoning_content` (joined) and `thinking_blocks` (verbatim, so a client
/// can send them back), `stop_reason` → `finish_reason`, usage with cache
/// tokens counted into `prompt_tokens` as LiteLLM does. Server-tool blocks
/// (`server_tool_use`, `*_tool_result`) and citations are dropped.
pub fn anthropic_to_openai_response(
    body: &[u8],
    client_model: &str,
    out: &mut Vec<u8>,
) -> Result<(), TranslateError> {
    rollback_on_err(out, |out| {
        anthropic_to_openai_response_inner(body, client_model, out)
    })
}

fn anthropic_to_openai_response_inner(
    body: &[u8],
    client_model: &str,
    out: &mut Vec<u8>,
) -> Res<()> {
    let mut parts: Vec<AnPart<'_>> = Vec::new();
    let (mut ty, mut content, mut stop, mut usage, mut error) = (None, None, None, None, None);
    read_root(body, |p, k| {
        if k.0 == b"content" {
            content = p.array_parts(&AN_BLOCK_KEYS, &mut parts)?.1;
            return Ok(());
        }
        let v = p.value()?;
        match k.0 {
            b"type" => ty = v.str(),
            b"stop_reason" => stop = v.str(),
            b"usage" => usage = Some(v),
            b"error" => error = Some(v),
            _ => {}
        }
        Ok(())
    })?;
    if ty.is_some_and(|t| t.is("error")) {
        let msg = error
            .and_then(|e| e.get_str("message"))
            .and_then(Str::decoded)
            .map(|m| String::from_utf8_lossy(&m).into_owned())
            .unwrap_or_default();
        return invalid(format!("AnthropicException - {msg}"));
    }
    let blocks = slice(&parts, content);
    let texts = || {
        blocks
            .iter()
            .filter(|b| b.is(B_TYPE, "text"))
            .filter_map(|b| b.str(B_TEXT))
    };
    let thinking = || {
        blocks
            .iter()
            .filter(|b| b.is(B_TYPE, "thinking") || b.is(B_TYPE, "redacted_thinking"))
    };

    push_single_choice_head(out, client_model, finish_from_stop_reason(stop));
    // Joined text; "" (no text at all) is null, as in LiteLLM.
    if texts().any(|t| !t.is_empty()) {
        out.push(b'"');
        for t in texts() {
            out.extend_from_slice(t.0);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(b"null");
    }
    out.extend_from_slice(b",\"role\":\"assistant\"");
    let mut n = 0;
    for b in blocks.iter().filter(|b| b.is(B_TYPE, "tool_use")) {
        out.extend_from_slice(if n == 0 { b",\"tool_calls\":[" } else { b"," });
        n += 1;
        push_tool_call_head(out, b.str(B_ID), b.str(B_NAME));
        push_arguments(out, b.val(B_INPUT));
        out.extend_from_slice(b"}}");
    }
    if n > 0 {
        out.push(b']');
    }
    if thinking().next().is_some() {
        out.extend_from_slice(b",\"reasoning_content\":\"");
        for t in thinking().filter_map(|b| b.str(B_THINKING)) {
            out.extend_from_slice(t.0);
        }
        out.extend_from_slice(b"\",\"thinking_blocks\":[");
        let mut k = 0;
        for b in thinking() {
            comma(out, &mut k);
            out.extend_from_slice(b.all.0);
        }
        out.push(b']');
    }
    out.extend_from_slice(b"}}],\"usage\":");
    let mut u = AnUsage::default();
    if let Some(usage) = usage {
        u.merge(usage);
    }
    push_usage(out, u.openai(), None);
    out.push(b'}');
    Ok(())
}

// ---------------------------------------------------------------------------
// Anthropic SSE stream -> OpenAI chat.completion.chunk stream
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AnBlock {
    None,
    Text,
    Tool,
    Thinking,
    Other,
}

/// Turns an Anthropic `/v1/messages` event stream into OpenAI
/// `chat.completion.chunk` events, one event at a time:
///
/// * `message_start` → the first chunk, `{"content":"","role":"assistant"}`
///   (input and cache token counts are remembered);
/// * `text_delta` → `content` deltas;
/// * `tool_use` `content_block_start` → a `tool_calls` delta with `index`
///   (0-based over tool blocks), `id`, `type`, `name` and empty `arguments`;
///   `input_json_delta` → `arguments` deltas; a tool block that ends with no
///   arguments gets `"{}"` (LiteLLM does the same);
/// * `thinking_delta` / `signature_delta` → `reasoning_content` plus
///   `thinking_blocks` deltas; `redacted_thinking` blocks verbatim in
///   `thinking_blocks`;
/// * `message_delta` → the `finish_reason` chunk (`{"finish_reason":…,
///   "index":0,"delta":{}}`);
/// * `message_stop` → the usage chunk when `include_usage`
///   (`choices:[{"index":0,"delta":{}}]`, as LiteLLM sends it), then
///   `data: [DONE]`;
/// * `error` → `data: {"error": {...}}` (Python-style spacing, like the
///   gateway's other mid-stream errors) and the stream is over, no `[DONE]`;
/// * `ping`, server-tool blocks (`server_tool_use`, `*_tool_result`),
///   `citations_delta` and unknown events → nothing.
///
/// The error's `code` is the status LiteLLM's
/// `ANTHROPIC_ERROR_STATUS_CODE_MAP` gives the error type; the exact message
/// prefix LiteLLM's proxy writes for a mid-stream Anthropic error was not
/// observed live (this writes `AnthropicException - <message>`).
///
/// State is a handful of fields plus the chunk prefix (`id`, `created`,
/// `model`), built once; nothing is buffered between events. Feed it
/// complete events (one or several per call); [`feed`] errors on an event
/// whose data is not JSON and writes nothing for it.
///
/// [`feed`]: AnthropicToOpenAiStream::feed
#[derive(Debug)]
pub struct AnthropicToOpenAiStream {
    chunks: Chunks,
    block: AnBlock,
    /// OpenAI `tool_calls[].index` of the current tool block.
    tool_index: u64,
    tools_seen: u64,
    tool_has_args: bool,
    usage: AnUsage,
}

impl AnthropicToOpenAiStream {
    /// `client_model` is the name the client asked for (chunks carry it);
    /// `include_usage` is [`ReqInfo::include_usage`].
    pub fn new(client_model: &str, include_usage: bool) -> Self {
        AnthropicToOpenAiStream {
            chunks: Chunks::new(client_model, include_usage),
            block: AnBlock::None,
            tool_index: 0,
            tools_seen: 0,
            tool_has_args: false,
            usage: AnUsage::default(),
        }
    }

    /// Whether the closing `[DONE]` (or a final error) has been written.
    pub fn is_done(&self) -> bool {
        self.chunks.is_done()
    }

    /// Token usage seen so far (complete after `message_delta`).
    pub fn usage(&self) -> TokenUsage {
        self.usage.openai()
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        let u = self.usage.openai();
        self.chunks
            .end(out, b"stop", |out| push_usage(out, u, None));
    }

    /// Feeds Anthropic SSE bytes (one or more complete events) and appends
    /// the OpenAI events they produce. An event whose data is not valid JSON
    /// is an error; nothing is written for it.
    pub fn feed(&mut self, events: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        for ev in sse_events(events) {
            self.feed_one(ev, out)?;
        }
        Ok(())
    }

    fn feed_one(&mut self, ev: &[u8], out: &mut Vec<u8>) -> Res<()> {
        if self.chunks.is_done() {
            return Ok(());
        }
        let e = parse_sse_event(ev);
        let Some(data) = e.data else { return Ok(()) };
        let root = parse_root(&data)?;
        let [ty, message, cb, delta, usage, error] = root.fields(&[
            "type",
            "message",
            "content_block",
            "delta",
            "usage",
            "error",
        ]);
        let ty = ty.and_then(Val::str).map(|t| t.0).or(e.name).unwrap_or(b"");
        match ty {
            b"message_start" => {
                if let Some(u) = message.and_then(|m| m.get("usage")) {
                    self.usage.merge(u);
                }
                self.chunks.role(out);
            }
            b"content_block_start" => {
                let cbt = cb.and_then(|c| c.get_str("type"));
                let cbt = cbt.map_or(&b""[..], |t| t.0);
                self.block = match cbt {
                    b"text" => AnBlock::Text,
                    b"tool_use" => AnBlock::Tool,
                    b"thinking" => AnBlock::Thinking,
                    _ => AnBlock::Other,
                };
                let Some(cb) = cb else { return Ok(()) };
                match self.block {
                    AnBlock::Text => {
                        if let Some(t) = cb.get_str("text") {
                            self.chunks.content(out, t);
                        }
                    }
                    AnBlock::Tool => {
                        self.tool_index = self.tools_seen;
                        self.tools_seen += 1;
                        self.tool_has_args = false;
                        let (id, name) = (cb.get_str("id"), cb.get_str("name"));
                        self.chunks
                            .tool_start(out, self.tool_index, id, name, Str(b""));
                    }
                    AnBlock::Other if cbt == b"redacted_thinking" => {
                        self.chunks.delta(out, |out| {
                            out.extend_from_slice(b"\"thinking_blocks\":[");
                            out.extend_from_slice(cb.0);
                            out.push(b']');
                        });
                    }
                    _ => {}
                }
            }
            b"content_block_delta" => {
                let Some(d) = delta else {
                    return Ok(());
                };
                let dt = d.get_str("type").map_or(&b""[..], |t| t.0);
                match dt {
                    b"text_delta" => {
                        if let Some(t) = d.get_str("text") {
                            self.chunks.content(out, t);
                        }
                    }
                    b"input_json_delta" if self.block == AnBlock::Tool => {
                        if let Some(j) = d.get_str("partial_json").filter(|j| !j.is_empty()) {
                            self.tool_has_args = true;
                            self.chunks.tool_args(out, self.tool_index, j.0);
                        }
                    }
                    b"thinking_delta" => {
                        if let Some(t) = d.get_str("thinking").filter(|t| !t.is_empty()) {
                            self.chunks.thinking(out, t);
                        }
                    }
                    b"signature_delta" => {
                        if let Some(s) = d.get_str("signature").filter(|s| !s.is_empty()) {
                            self.chunks.signature(out, s);
                        }
                    }
                    _ => {}
                }
            }
            b"content_block_stop" => {
                if self.block == AnBlock::Tool && !self.tool_has_args {
                    self.chunks.tool_args(out, self.tool_index, b"{}");
                }
                self.block = AnBlock::None;
            }
            b"message_delta" => {
                if let Some(u) = usage {
                    self.usage.merge(u);
                }
                let stop = delta.and_then(|d| d.get_str("stop_reason"));
                if stop.is_some() {
                    self.chunks.finish(out, finish_from_stop_reason(stop));
                }
            }
            b"message_stop" => self.end(out),
            b"error" => {
                let err = error;
                let kind = err
                    .and_then(|e| e.get_str("type"))
                    .unwrap_or(Str(b"api_error"));
                let status = anthropic_error_status(kind);
                out.extend_from_slice(b"data: {\"error\": {\"message\": \"AnthropicException - ");
                if let Some(m) = err.and_then(|e| e.get_str("message")) {
                    out.extend_from_slice(m.0);
                }
                out.extend_from_slice(b"\", \"type\": ");
                push_raw(out, kind);
                out.extend_from_slice(b", \"param\": null, \"code\": \"");
                push_u64(out, u64::from(status));
                out.extend_from_slice(b"\"}}\n\n");
                self.chunks.set_done();
            }
            _ => {} // ping, and event types added later
        }
        Ok(())
    }

    /// Call when the upstream ended cleanly without `message_stop`: writes
    /// the finish chunk, the usage chunk if asked for, and `[DONE]` if they
    /// are not out yet.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.chunks.is_done() {
            self.end(out);
        }
    }
}

/// The HTTP status an Anthropic error `type` stands for (LiteLLM's
/// `ANTHROPIC_ERROR_STATUS_CODE_MAP`, which gives `overloaded_error`
/// 503 although Anthropic answers it with 529).
fn anthropic_error_status(kind: Str<'_>) -> u16 {
    match kind.0 {
        b"invalid_request_error" => 400,
        b"authentication_error" => 401,
        b"billing_error" => 402,
        b"permission_error" => 403,
        b"not_found_error" => 404,
        b"request_too_large" => 413,
        b"rate_limit_error" => 429,
        b"timeout_error" => 504,
        b"overloaded_error" => 503,
        _ => 500,
    }
}

// ---------------------------------------------------------------------------
// Anthropic /v1/messages request -> OpenAI chat request
// ---------------------------------------------------------------------------

/// Members of an Anthropic content block captured in the strict pass.
const AN_BLOCK_KEYS: [&str; 9] = [
    "type",
    "text",
    "source",
    "id",
    "name",
    "input",
    "tool_use_id",
    "content",
    "thinking",
];
const B_TYPE: usize = 0;
const B_TEXT: usize = 1;
const B_SOURCE: usize = 2;
const B_ID: usize = 3;
const B_NAME: usize = 4;
const B_INPUT: usize = 5;
const B_TOOL_USE_ID: usize = 6;
const B_CONTENT: usize = 7;
const B_THINKING: usize = 8;
type AnPart<'a> = Part<'a, 9>;

/// Members of an Anthropic tool captured in the strict pass.
const AN_TOOL_KEYS: [&str; 5] = ["type", "name", "description", "input_schema", "strict"];
type AnTool<'a> = Part<'a, 5>;

#[derive(Clone, Copy, Debug)]
struct AnMsg<'a> {
    assistant: bool,
    content: Option<Val<'a>>,
    parts: Option<(usize, usize)>,
}

#[derive(Default)]
struct AnReq<'a> {
    has_messages: bool,
    system: Option<Val<'a>>,
    system_parts: Option<(usize, usize)>,
    max_tokens: Option<Val<'a>>,
    stop_sequences: Option<Val<'a>>,
    temperature: Option<Val<'a>>,
    top_p: Option<Val<'a>>,
    top_k: Option<Val<'a>>,
    stream: bool,
    tools: Option<(usize, usize)>,
    tool_choice: Option<Val<'a>>,
    metadata: Option<Val<'a>>,
}

fn parse_an_messages<'a>(
    p: &mut Strict<'a>,
    msgs: &mut Vec<AnMsg<'a>>,
    parts: &mut Vec<AnPart<'a>>,
) -> Res<()> {
    msgs.clear();
    if !p.begin_array()? {
        p.value()?;
        return invalid("messages: Input should be a valid list");
    }
    let mut first = true;
    while p.elem(&mut first)? {
        if !p.begin_object()? {
            p.value()?;
            return invalid(format!(
                "messages.{}: Input should be a valid dictionary",
                msgs.len()
            ));
        }
        let mut role = None;
        let mut m = AnMsg {
            assistant: false,
            content: None,
            parts: None,
        };
        let mut f = true;
        while let Some(k) = p.key(&mut f)? {
            if k.0 == b"content" {
                let (v, range) = p.array_parts(&AN_BLOCK_KEYS, parts)?;
                m.content = Some(v).filter(|v| !v.is_null());
                m.parts = range;
                continue;
            }
            let v = p.value()?;
            if k.0 == b"role" {
                role = v.str();
            }
        }
        m.assistant = match role {
            Some(r) if r.is("user") => false,
            Some(r) if r.is("assistant") => true,
            _ => {
                return invalid(format!(
                    "messages.{}.role: Input should be 'user' or 'assistant'",
                    msgs.len()
                ))
            }
        };
        msgs.push(m);
    }
    Ok(())
}

/// An Anthropic image/document `source` as an OpenAI image URL (LiteLLM's
/// `anthropic_image_source_to_openai_url`); `false` when it has none.
fn push_source_url(out: &mut Vec<u8>, source: Option<Val<'_>>) -> bool {
    let Some(src) = source else { return false };
    let [ty, data, media, url] = src.fields(&["type", "data", "media_type", "url"]);
    let Some(ty) = ty.and_then(Val::str) else {
        return false;
    };
    if ty.is("base64") {
        let Some(data) = data.and_then(Val::str).filter(|d| !d.is_empty()) else {
            return false;
        };
        let media = media
            .and_then(Val::str)
            .filter(|m| !m.is_empty())
            .unwrap_or(Str(b"image/jpeg"));
        out.extend_from_slice(b"\"data:");
        out.extend_from_slice(media.0);
        out.extend_from_slice(b";base64,");
        out.extend_from_slice(data.0);
        out.push(b'"');
        true
    } else if ty.is("url") {
        push_raw(out, url.and_then(Val::str).unwrap_or(Str(b"")));
        true
    } else {
        false
    }
}

/// Writes `{"type":"image_url","image_url":{"url":…}}` for an image or
/// document `source` (LiteLLM sends documents as image URLs too); `false`
/// and nothing written when there is no usable source.
fn oa_image_part(out: &mut Vec<u8>, source: Option<Val<'_>>) -> bool {
    let mark = out.len();
    out.extend_from_slice(b"{\"type\":\"image_url\",\"image_url\":{\"url\":");
    if !push_source_url(out, source) {
        out.truncate(mark);
        return false;
    }
    out.extend_from_slice(b"}}");
    true
}

/// `tool_result.content` as OpenAI tool message content: a string stays a
/// string, one text block becomes its text, other lists become parts.
fn oa_tool_content(out: &mut Vec<u8>, content: Option<Val<'_>>) {
    let Some(c) = content else {
        out.extend_from_slice(b"\"\"");
        return;
    };
    if c.str().is_some() {
        out.extend_from_slice(c.0);
        return;
    }
    // Each element: a bare string, a text block, or an image/document.
    enum Item<'a> {
        Text(Str<'a>),
        Image(Val<'a>),
    }
    fn item(b: Val<'_>) -> Option<Item<'_>> {
        if let Some(s) = b.str() {
            return Some(Item::Text(s));
        }
        let [ty, text, source] = b.fields(&["type", "text", "source"]);
        let ty = ty.and_then(Val::str)?;
        if ty.is("text") {
            Some(Item::Text(text.and_then(Val::str).unwrap_or(Str(b""))))
        } else if ty.is("image") || ty.is("document") {
            source.filter(|s| s.is_obj()).map(Item::Image)
        } else {
            None
        }
    }
    let mut items = c.elems().filter_map(item);
    match (items.next(), items.next()) {
        (None, _) => out.extend_from_slice(b"\"\""),
        (Some(Item::Text(t)), None) => push_raw(out, t),
        _ => {
            out.push(b'[');
            let mut n = 0;
            for it in c.elems().filter_map(item) {
                let mark = out.len();
                comma(out, &mut n);
                match it {
                    Item::Text(t) => {
                        out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
                        push_raw(out, t);
                        out.push(b'}');
                    }
                    Item::Image(src) => {
                        if !oa_image_part(out, Some(src)) {
                            out.truncate(mark);
                            n -= 1;
                        }
                    }
                }
            }
            out.push(b']');
        }
    }
}

fn oa_user_message(out: &mut Vec<u8>, n: &mut usize, m: &AnMsg<'_>, parts: &[AnPart<'_>]) {
    if let Some(s) = m.content.and_then(Val::str) {
        if !s.is_empty() {
            comma(out, n);
            out.extend_from_slice(b"{\"role\":\"user\",\"content\":");
            push_raw(out, s);
            out.push(b'}');
        }
        return;
    }
    let parts = slice(parts, m.parts);
    // Tool results first, each its own `tool` message (LiteLLM's order).
    for b in parts.iter().filter(|b| b.is(B_TYPE, "tool_result")) {
        comma(out, n);
        out.extend_from_slice(b"{\"role\":\"tool\",\"tool_call_id\":");
        push_raw(out, b.str(B_TOOL_USE_ID).unwrap_or(Str(b"")));
        out.extend_from_slice(b",\"content\":");
        oa_tool_content(out, b.val(B_CONTENT));
        out.push(b'}');
    }
    let mark = out.len();
    let mark_n = *n;
    comma(out, n);
    out.extend_from_slice(b"{\"role\":\"user\",\"content\":[");
    let mut k = 0;
    for b in parts {
        if b.is(B_TYPE, "text") {
            comma(out, &mut k);
            out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
            push_raw(out, b.str(B_TEXT).unwrap_or(Str(b"")));
            out.push(b'}');
        } else if b.is(B_TYPE, "image") || b.is(B_TYPE, "document") {
            let at = out.len();
            comma(out, &mut k);
            if !oa_image_part(out, b.val(B_SOURCE)) {
                out.truncate(at);
                k -= 1;
            }
        }
    }
    if k == 0 {
        out.truncate(mark);
        *n = mark_n;
    } else {
        out.extend_from_slice(b"]}");
    }
}

fn oa_assistant_message(out: &mut Vec<u8>, n: &mut usize, m: &AnMsg<'_>, parts: &[AnPart<'_>]) {
    let parts = slice(parts, m.parts);
    let text = m.content.and_then(Val::str);
    let has_calls = parts.iter().any(|b| b.is(B_TYPE, "tool_use"));
    let has_text = text.is_some() || parts.iter().any(|b| b.is(B_TYPE, "text"));
    if !has_text && !has_calls {
        return; // only thinking blocks (or nothing): OpenAI has no place for them
    }
    comma(out, n);
    out.extend_from_slice(b"{\"role\":\"assistant\",\"content\":");
    if let Some(s) = text {
        push_raw(out, s);
    } else if has_text {
        out.push(b'"');
        for b in parts.iter().filter(|b| b.is(B_TYPE, "text")) {
            if let Some(t) = b.str(B_TEXT) {
                out.extend_from_slice(t.0);
            }
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(b"null");
    }
    if has_calls {
        out.extend_from_slice(b",\"tool_calls\":[");
        let mut k = 0;
        for b in parts.iter().filter(|b| b.is(B_TYPE, "tool_use")) {
            comma(out, &mut k);
            out.extend_from_slice(b"{\"id\":");
            push_raw(out, b.str(B_ID).unwrap_or(Str(b"")));
            out.extend_from_slice(b",\"type\":\"function\",\"function\":{\"name\":");
            push_raw(out, b.str(B_NAME).unwrap_or(Str(b"")));
            out.extend_from_slice(b",\"arguments\":");
            push_arguments(out, b.val(B_INPUT));
            out.extend_from_slice(b"}}");
        }
        out.push(b']');
    }
    out.push(b'}');
}

fn oa_system(out: &mut Vec<u8>, n: &mut usize, req: &AnReq<'_>, parts: &[AnPart<'_>]) {
    if let Some(s) = req.system.and_then(Val::str) {
        if !s.is_empty() {
            comma(out, n);
            out.extend_from_slice(b"{\"role\":\"system\",\"content\":");
            push_raw(out, s);
            out.push(b'}');
        }
        return;
    }
    let texts = || {
        slice(parts, req.system_parts)
            .iter()
            .filter(|b| b.is(B_TYPE, "text"))
            .filter_map(|b| b.str(B_TEXT))
    };
    if texts().next().is_none() {
        return;
    }
    comma(out, n);
    out.extend_from_slice(b"{\"role\":\"system\",\"content\":[");
    let mut k = 0;
    for t in texts() {
        comma(out, &mut k);
        out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
        push_raw(out, t);
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}

fn oa_tools(out: &mut Vec<u8>, tools: &[AnTool<'_>]) {
    // Custom (client) tools only; server tools have no OpenAI equivalent.
    let custom = |t: &&AnTool<'_>| {
        let typed_custom = match t.str(0) {
            None => true,
            Some(ty) => ty.is("custom"),
        };
        t.all.is_obj() && typed_custom && t.str(1).is_some()
    };
    if !tools.iter().any(|t| custom(&t)) {
        return;
    }
    out.extend_from_slice(b",\"tools\":[");
    let mut n = 0;
    for t in tools.iter().filter(custom) {
        comma(out, &mut n);
        out.extend_from_slice(b"{\"type\":\"function\",\"function\":{\"name\":");
        push_raw(out, t.str(1).unwrap_or(Str(b"")));
        if let Some(d) = t.str(2) {
            out.extend_from_slice(b",\"description\":");
            push_raw(out, d);
        }
        if let Some(s) = t.val(3).filter(|s| s.is_obj()) {
            out.extend_from_slice(b",\"parameters\":");
            out.extend_from_slice(s.0);
        }
        if let Some(s) = t.val(4).and_then(Val::bool) {
            out.extend_from_slice(if s {
                b",\"strict\":true"
            } else {
                b",\"strict\":false"
            });
        }
        out.extend_from_slice(b"}}");
    }
    out.push(b']');
}

fn oa_tool_choice(out: &mut Vec<u8>, tc: Option<Val<'_>>) -> Res<()> {
    let Some(tc) = tc.filter(|t| t.is_obj()) else {
        return Ok(());
    };
    let Some(ty) = tc.get_str("type") else {
        return Ok(());
    };
    if ty.is("any") {
        out.extend_from_slice(b",\"tool_choice\":\"required\"");
    } else if ty.is("auto") {
        out.extend_from_slice(b",\"tool_choice\":\"auto\"");
    } else if ty.is("none") {
        out.extend_from_slice(b",\"tool_choice\":\"none\"");
    } else if ty.is("tool") {
        out.extend_from_slice(b",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":");
        push_raw(out, tc.get_str("name").unwrap_or(Str(b"")));
        out.extend_from_slice(b"}}");
    } else {
        return invalid("Incompatible tool choice param submitted");
    }
    if let Some(d) = tc.get("disable_parallel_tool_use").and_then(Val::bool) {
        if !ty.is("none") {
            out.extend_from_slice(if d {
                b",\"parallel_tool_calls\":false"
            } else {
                b",\"parallel_tool_calls\":true"
            });
        }
    }
    Ok(())
}

/// Translates an Anthropic `/v1/messages` request body into an OpenAI
/// `/v1/chat/completions` body for `upstream_model`, appended to `out`
/// (LiteLLM's `LiteLLMAnthropicMessagesAdapter.translate_anthropic_to_openai`).
///
/// Mapped: `system` (string or text blocks) → a leading system message;
/// user text / image / document blocks → content parts (base64 sources as
/// `data:` URLs); `tool_result` blocks → `tool` messages placed before the
/// user message they came in (string, single text, or parts); assistant
/// text blocks joined → `content`, `tool_use` → `tool_calls` (`input`
/// serialised into `arguments`); `max_tokens`, `stop_sequences` → `stop`,
/// `temperature`, `top_p`, `top_k` (forwarded like LiteLLM forwards it),
/// `stream` (+ `stream_options.include_usage`), custom `tools` →
/// function tools, `tool_choice` (`any` → `required`, `tool` → function),
/// `disable_parallel_tool_use` → `parallel_tool_calls`,
/// `metadata.user_id` → `user`.
///
/// Dropped: `thinking` and thinking blocks, `cache_control`, server tools
/// (`web_search_*`, `bash_*`, …), `tool_result.is_error`, citations,
/// `service_tier`, `container`, `mcp_servers`, `context_management`,
/// `output_format`, and any other key.
pub fn anthropic_to_openai_request(
    body: &[u8],
    upstream_model: &str,
    out: &mut Vec<u8>,
) -> Result<ReqInfo, TranslateError> {
    rollback_on_err(out, |out| {
        anthropic_to_openai_request_inner(body, upstream_model, out)
    })
}

fn anthropic_to_openai_request_inner(
    body: &[u8],
    upstream_model: &str,
    out: &mut Vec<u8>,
) -> Res<ReqInfo> {
    let mut req = AnReq::default();
    let mut msgs: Vec<AnMsg<'_>> = Vec::new();
    let mut parts: Vec<AnPart<'_>> = Vec::new();
    let mut tools: Vec<AnTool<'_>> = Vec::new();
    read_root(body, |p, k| {
        if k.0 == b"messages" && p.peek() != Some(b'n') {
            req.has_messages = true;
            return parse_an_messages(p, &mut msgs, &mut parts);
        }
        if k.0 == b"system" {
            let (v, range) = p.array_parts(&AN_BLOCK_KEYS, &mut parts)?;
            req.system = Some(v).filter(|v| !v.is_null());
            req.system_parts = range;
            return Ok(());
        }
        if k.0 == b"tools" {
            let (_, range) = p.array_parts(&AN_TOOL_KEYS, &mut tools)?;
            req.tools = range;
            return Ok(());
        }
        let v = p.value()?;
        let v = if v.is_null() { None } else { Some(v) };
        match k.0 {
            b"max_tokens" => req.max_tokens = v,
            b"stop_sequences" => req.stop_sequences = v.filter(|s| s.is_arr()),
            b"temperature" => req.temperature = v,
            b"top_p" => req.top_p = v,
            b"top_k" => req.top_k = v,
            b"stream" => req.stream = v.and_then(Val::bool) == Some(true),
            b"tool_choice" => req.tool_choice = v,
            b"metadata" => req.metadata = v,
            _ => {}
        }
        Ok(())
    })?;
    if !req.has_messages {
        return Err(TranslateError::Missing("messages"));
    }

    out.extend_from_slice(b"{\"model\":");
    push_quoted(out, upstream_model.as_bytes());
    out.extend_from_slice(b",\"messages\":[");
    let mut n = 0;
    oa_system(out, &mut n, &req, &parts);
    for m in msgs.iter().filter(|m| m.content.is_some()) {
        if m.assistant {
            oa_assistant_message(out, &mut n, m, &parts);
        } else {
            oa_user_message(out, &mut n, m, &parts);
        }
    }
    out.push(b']');
    if let Some(v) = req.max_tokens {
        out.extend_from_slice(b",\"max_tokens\":");
        push_int_param(out, v, "max_tokens")?;
    }
    if let Some(s) = req.stop_sequences.filter(|s| s.elems().next().is_some()) {
        out.extend_from_slice(b",\"stop\":");
        out.extend_from_slice(s.0);
    }
    push_num_param(out, b",\"temperature\":", req.temperature, "temperature")?;
    push_num_param(out, b",\"top_p\":", req.top_p, "top_p")?;
    push_num_param(out, b",\"top_k\":", req.top_k, "top_k")?;
    if req.stream {
        out.extend_from_slice(b",\"stream\":true,\"stream_options\":{\"include_usage\":true}");
    }
    oa_tools(out, slice(&tools, req.tools));
    oa_tool_choice(out, req.tool_choice)?;
    if let Some(u) = req.metadata.and_then(|m| m.get_str("user_id")) {
        out.extend_from_slice(b",\"user\":");
        push_raw(out, u);
    }
    out.push(b'}');
    Ok(ReqInfo {
        stream: req.stream,
        include_usage: req.stream,
    })
}

// ---------------------------------------------------------------------------
// OpenAI chat.completion -> Anthropic message response
// ---------------------------------------------------------------------------

/// LiteLLM's `_translate_openai_finish_reason_to_anthropic`.
fn stop_reason_from_finish(finish: Option<Str<'_>>) -> &'static [u8] {
    match finish {
        Some(f) if f.is("length") => b"max_tokens",
        Some(f) if f.is("tool_calls") || f.is("function_call") => b"tool_use",
        Some(f) if f.is("content_filter") || f.is("refusal") => b"refusal",
        _ => b"end_turn",
    }
}

/// OpenAI usage in Anthropic's terms: `input_tokens` excludes cached and
/// cache-creation tokens (LiteLLM's `translate_openai_usage_to_anthropic_usage`).
fn oa_usage(u: Option<Val<'_>>) -> TokenUsage {
    let Some(u) = u.filter(|u| u.is_obj()) else {
        return TokenUsage::default();
    };
    let details = u.get("prompt_tokens_details");
    let count = |v: Option<Val<'_>>| v.map_or(0, Val::count);
    let mut cache_read = count(u.get("cache_read_input_tokens"));
    if cache_read == 0 {
        cache_read = count(details.and_then(|d| d.get("cached_tokens")));
    }
    let mut cache_creation = count(u.get("cache_creation_input_tokens"));
    if cache_creation == 0 {
        cache_creation = count(details.and_then(|d| d.get("cache_creation_tokens")));
    }
    TokenUsage {
        prompt_tokens: count(u.get("prompt_tokens")),
        completion_tokens: count(u.get("completion_tokens")),
        cache_read_tokens: cache_read,
        cache_creation_tokens: cache_creation,
    }
}

fn push_anthropic_usage(out: &mut Vec<u8>, u: TokenUsage) {
    let input = u
        .prompt_tokens
        .saturating_sub(u.cache_read_tokens + u.cache_creation_tokens);
    out.extend_from_slice(b"{\"input_tokens\":");
    push_u64(out, input);
    out.extend_from_slice(b",\"output_tokens\":");
    push_u64(out, u.completion_tokens);
    if u.cache_creation_tokens > 0 {
        out.extend_from_slice(b",\"cache_creation_input_tokens\":");
        push_u64(out, u.cache_creation_tokens);
    }
    if u.cache_read_tokens > 0 {
        out.extend_from_slice(b",\"cache_read_input_tokens\":");
        push_u64(out, u.cache_read_tokens);
    }
    out.push(b'}');
}

/// Writes an Anthropic `tool_use` block for one OpenAI tool call; the
/// `arguments` string is decoded into `input` (`{}` when empty, an error
/// when it is not JSON).
fn an_tool_use_block(out: &mut Vec<u8>, call: Val<'_>) -> Res<()> {
    let f = call.get("function");
    out.extend_from_slice(b"{\"type\":\"tool_use\",\"id\":");
    match call.get_str("id").filter(|s| !s.is_empty()) {
        Some(id) => push_sanitized_id(out, id),
        None => {
            out.extend_from_slice(b"\"toolu_");
            push_uuid(out);
            out.push(b'"');
        }
    }
    out.extend_from_slice(b",\"name\":");
    push_raw(out, f.and_then(|f| f.get_str("name")).unwrap_or(Str(b"")));
    out.extend_from_slice(b",\"input\":");
    an_tool_input(out, f.and_then(|f| f.get("arguments")))?;
    out.push(b'}');
    Ok(())
}

/// Translates an OpenAI `chat.completion` into an Anthropic `/v1/messages`
/// response, appended to `out` (LiteLLM's
/// `translate_openai_response_to_anthropic`): `id` kept, `model` the
/// client's name, `reasoning_content` → a `thinking` block, `content` (and
/// `refusal`) → text blocks, `tool_calls` → `tool_use` blocks,
/// `finish_reason` → `stop_reason`, usage with cache tokens split out of
/// `input_tokens`. Only `choices[0]` is used.
pub fn openai_to_anthropic_response(
    body: &[u8],
    client_model: &str,
    out: &mut Vec<u8>,
) -> Result<(), TranslateError> {
    rollback_on_err(out, |out| {
        openai_to_anthropic_response_inner(body, client_model, out)
    })
}

fn openai_to_anthropic_response_inner(
    body: &[u8],
    client_model: &str,
    out: &mut Vec<u8>,
) -> Res<()> {
    let (mut id, mut choice, mut usage) = (None, None, None);
    read_root(body, |p, k| {
        if k.0 == b"choices" && p.begin_array()? {
            // Only choices[0] is used: captured in the same pass.
            let mut first = true;
            while p.elem(&mut first)? {
                let c = p.fields(&["message", "finish_reason"])?;
                choice.get_or_insert(c);
            }
            return Ok(());
        }
        let v = p.value()?;
        match k.0 {
            b"id" => id = v.str(),
            b"usage" => usage = Some(v),
            _ => {}
        }
        Ok(())
    })?;
    let msg = choice.and_then(|c| c.val(0)).filter(|m| m.is_obj());
    let finish = choice.and_then(|c| c.str(1));
    let [content, reasoning_content, reasoning, refusal, tool_calls] = msg.map_or([None; 5], |m| {
        m.fields(&[
            "content",
            "reasoning_content",
            "reasoning",
            "refusal",
            "tool_calls",
        ])
    });
    let refusal = nonempty_str(refusal);

    out.extend_from_slice(b"{\"id\":");
    match id {
        Some(id) => push_raw(out, id),
        None => {
            out.extend_from_slice(b"\"msg_");
            push_uuid(out);
            out.push(b'"');
        }
    }
    out.extend_from_slice(b",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
    push_quoted(out, client_model.as_bytes());
    out.extend_from_slice(b",\"content\":[");
    let mut n = 0;
    if let Some(r) = nonempty_str(reasoning_content).or(nonempty_str(reasoning)) {
        comma(out, &mut n);
        out.extend_from_slice(b"{\"type\":\"thinking\",\"thinking\":");
        push_raw(out, r);
        out.extend_from_slice(b",\"signature\":\"\"}");
    }
    for t in nonempty_str(content).into_iter().chain(refusal) {
        comma(out, &mut n);
        out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
        push_raw(out, t);
        out.push(b'}');
    }
    for call in tool_calls.into_iter().flat_map(Val::elems) {
        comma(out, &mut n);
        an_tool_use_block(out, call)?;
    }
    out.extend_from_slice(b"],\"stop_reason\":\"");
    let stop = stop_reason_from_finish(finish);
    out.extend_from_slice(if refusal.is_some() && stop != b"max_tokens" {
        b"refusal"
    } else {
        stop
    });
    out.extend_from_slice(b"\",\"stop_sequence\":null,\"usage\":");
    push_anthropic_usage(out, oa_usage(usage));
    out.push(b'}');
    Ok(())
}

// ---------------------------------------------------------------------------
// OpenAI chat.completion.chunk stream -> Anthropic SSE stream
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OaBlock {
    None,
    Text,
    Thinking,
    /// A tool_use block for this OpenAI `tool_calls[].index`.
    Tool(u64),
}

/// Turns an OpenAI `chat.completion.chunk` stream into Anthropic's event
/// sequence, exactly in the order Anthropic sends it:
///
/// `message_start` (usage zeros, as LiteLLM sends it) → for each content
/// block `content_block_start` (a `ping` after the first one, as Anthropic
/// does) → `content_block_delta`s (`text_delta`, `thinking_delta` from
/// `reasoning_content`, `input_json_delta` from tool-call `arguments`) →
/// `content_block_stop` → `message_delta` (`stop_reason` and usage) →
/// `message_stop`.
///
/// A change of kind (text, thinking, a tool call with a new `index`) closes
/// the open block and opens the next. The `finish_reason` chunk closes the
/// block; `message_delta` then waits for the usage chunk OpenAI sends after
/// it (`stream_options.include_usage`, which
/// [`anthropic_to_openai_request`] asks for), or for `[DONE]` / [`finish`]
/// (usage zeros if none came). An OpenAI error object becomes an Anthropic
/// `error` event and ends the stream.
///
/// [`finish`]: OpenAiToAnthropicStream::finish
#[derive(Debug)]
pub struct OpenAiToAnthropicStream {
    model: Vec<u8>,
    started: bool,
    block: OaBlock,
    /// Anthropic index of the next block.
    next_index: u64,
    pinged: bool,
    /// Raw id of the open tool call.
    tool_id: Vec<u8>,
    stop_reason: Option<&'static [u8]>,
    usage: Option<TokenUsage>,
    delta_sent: bool,
    done: bool,
}

impl OpenAiToAnthropicStream {
    /// `client_model` is the name the client asked for.
    pub fn new(client_model: &str) -> Self {
        let mut model = Vec::with_capacity(client_model.len() + 2);
        push_quoted(&mut model, client_model.as_bytes());
        OpenAiToAnthropicStream {
            model,
            started: false,
            block: OaBlock::None,
            next_index: 0,
            pinged: false,
            tool_id: Vec::new(),
            stop_reason: None,
            usage: None,
            delta_sent: false,
            done: false,
        }
    }

    /// Whether `message_stop` (or a final error) has been written.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Token usage reported so far (OpenAI terms).
    pub fn usage(&self) -> TokenUsage {
        self.usage.unwrap_or_default()
    }

    fn event(out: &mut Vec<u8>, name: &[u8]) {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name);
        out.extend_from_slice(b"\ndata: ");
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        Self::event(out, b"message_start");
        out.extend_from_slice(b"{\"type\":\"message_start\",\"message\":{\"id\":\"msg_");
        push_uuid(out);
        out.extend_from_slice(
            b"\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":",
        );
        out.extend_from_slice(&self.model);
        out.extend_from_slice(b",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,\"output_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}}\n\n");
    }

    fn close_block(&mut self, out: &mut Vec<u8>) {
        if self.block == OaBlock::None {
            return;
        }
        self.block = OaBlock::None;
        Self::event(out, b"content_block_stop");
        out.extend_from_slice(b"{\"type\":\"content_block_stop\",\"index\":");
        push_u64(out, self.next_index.saturating_sub(1));
        out.extend_from_slice(b"}\n\n");
    }

    /// Opens a block; `head` is the start of its `content_block`, completed
    /// with the id and name of a tool call.
    fn open_block(
        &mut self,
        out: &mut Vec<u8>,
        kind: OaBlock,
        head: &[u8],
        tool: Option<(Option<Str<'_>>, Option<Str<'_>>)>,
    ) {
        self.close_block(out);
        Self::event(out, b"content_block_start");
        out.extend_from_slice(b"{\"type\":\"content_block_start\",\"index\":");
        push_u64(out, self.next_index);
        out.extend_from_slice(b",\"content_block\":");
        out.extend_from_slice(head);
        if let Some((id, name)) = tool {
            match id {
                Some(id) => push_sanitized_id(out, id),
                None => {
                    out.extend_from_slice(b"\"toolu_");
                    push_uuid(out);
                    out.push(b'"');
                }
            }
            out.extend_from_slice(b",\"name\":");
            push_raw(out, name.unwrap_or(Str(b"")));
            out.extend_from_slice(b",\"input\":{}}");
        }
        out.extend_from_slice(b"}\n\n");
        self.block = kind;
        self.next_index += 1;
        if !self.pinged {
            self.pinged = true;
            Self::event(out, b"ping");
            out.extend_from_slice(b"{\"type\":\"ping\"}\n\n");
        }
    }

    fn delta(&self, out: &mut Vec<u8>, head: &[u8], raw: Str<'_>) {
        Self::event(out, b"content_block_delta");
        out.extend_from_slice(b"{\"type\":\"content_block_delta\",\"index\":");
        push_u64(out, self.next_index.saturating_sub(1));
        out.extend_from_slice(b",\"delta\":");
        out.extend_from_slice(head);
        push_raw(out, raw);
        out.extend_from_slice(b"}}\n\n");
    }

    fn message_delta(&mut self, out: &mut Vec<u8>) {
        if self.delta_sent {
            return;
        }
        self.delta_sent = true;
        Self::event(out, b"message_delta");
        out.extend_from_slice(b"{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"");
        out.extend_from_slice(self.stop_reason.unwrap_or(b"end_turn"));
        out.extend_from_slice(b"\",\"stop_sequence\":null},\"usage\":");
        push_anthropic_usage(out, self.usage.unwrap_or_default());
        out.extend_from_slice(b"}\n\n");
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        self.start(out);
        self.close_block(out);
        self.message_delta(out);
        Self::event(out, b"message_stop");
        out.extend_from_slice(b"{\"type\":\"message_stop\"}\n\n");
        self.done = true;
    }

    /// Feeds OpenAI SSE bytes (one or more complete `data:` events,
    /// `[DONE]` included) and appends the Anthropic events they produce.
    pub fn feed(&mut self, events: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        for ev in sse_events(events) {
            self.feed_one(ev, out)?;
        }
        Ok(())
    }

    fn feed_one(&mut self, ev: &[u8], out: &mut Vec<u8>) -> Res<()> {
        if self.done {
            return Ok(());
        }
        let e = parse_sse_event(ev);
        let Some(data) = e.data else { return Ok(()) };
        if trim_ascii(&data) == b"[DONE]" {
            self.end(out);
            return Ok(());
        }
        let root = parse_root(&data)?;
        self.start(out);
        let [error, choices, usage] = root.fields(&["error", "choices", "usage"]);
        if let Some(err) = error.filter(|e| e.is_obj()) {
            self.close_block(out);
            Self::event(out, b"error");
            out.extend_from_slice(
                b"{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":",
            );
            match err.get_str("message") {
                Some(m) => push_raw(out, m),
                None => push_quoted(out, err.0),
            }
            out.extend_from_slice(b"}}\n\n");
            self.done = true;
            return Ok(());
        }
        let choice = choices.and_then(|c| c.elems().next());
        let [delta, finish] = choice.map_or([None; 2], |c| c.fields(&["delta", "finish_reason"]));
        if let Some(d) = delta {
            let [reasoning_content, reasoning, content, refusal, tool_calls] = d.fields(&[
                "reasoning_content",
                "reasoning",
                "content",
                "refusal",
                "tool_calls",
            ]);
            if let Some(r) = nonempty_str(reasoning_content).or(nonempty_str(reasoning)) {
                if self.block != OaBlock::Thinking {
                    self.open_block(
                        out,
                        OaBlock::Thinking,
                        b"{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}",
                        None,
                    );
                }
                self.delta(out, b"{\"type\":\"thinking_delta\",\"thinking\":", r);
            }
            for t in nonempty_str(content)
                .into_iter()
                .chain(nonempty_str(refusal))
            {
                if self.block != OaBlock::Text {
                    self.open_block(
                        out,
                        OaBlock::Text,
                        b"{\"type\":\"text\",\"text\":\"\"}",
                        None,
                    );
                }
                self.delta(out, b"{\"type\":\"text_delta\",\"text\":", t);
            }
            for tc in tool_calls.into_iter().flat_map(Val::elems) {
                let [index, id, function] = tc.fields(&["index", "id", "function"]);
                let [name, arguments] =
                    function.map_or([None; 2], |f| f.fields(&["name", "arguments"]));
                let idx = index.map_or(0, Val::count);
                // A new call: a new index, or (for providers that reuse
                // index 0) an id different from the open call's.
                let id = nonempty_str(id);
                let new_id = id.is_some_and(|id| id.0 != &self.tool_id[..]);
                if self.block != OaBlock::Tool(idx) || new_id {
                    self.tool_id.clear();
                    if let Some(id) = id {
                        self.tool_id.extend_from_slice(id.0);
                    }
                    self.open_block(
                        out,
                        OaBlock::Tool(idx),
                        b"{\"type\":\"tool_use\",\"id\":",
                        Some((id, name.and_then(Val::str))),
                    );
                }
                if let Some(a) = nonempty_str(arguments) {
                    self.delta(out, b"{\"type\":\"input_json_delta\",\"partial_json\":", a);
                }
            }
        }
        if let Some(f) = finish.and_then(Val::str) {
            self.close_block(out);
            self.stop_reason = Some(stop_reason_from_finish(Some(f)));
        }
        if let Some(u) = usage.filter(|u| u.is_obj()) {
            self.usage = Some(oa_usage(Some(u)));
        }
        if self.stop_reason.is_some() && self.usage.is_some() {
            self.close_block(out);
            self.message_delta(out);
        }
        Ok(())
    }

    /// Call when the upstream ended cleanly without `[DONE]`: writes the
    /// closing events that are not out yet.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.done {
            self.end(out);
        }
    }
}

// ---------------------------------------------------------------------------
// Anthropic error envelope
// ---------------------------------------------------------------------------

/// Appends Anthropic's error body for an HTTP status:
/// `{"type":"error","error":{"type":…,"message":…}}` with the type Anthropic
/// uses for that status (400 and other 4xx `invalid_request_error`, 401
/// `authentication_error`, 402 `billing_error`, 403 `permission_error`, 404 `not_found_error`,
/// 413 `request_too_large`, 429 `rate_limit_error`, 503 and 529
/// `overloaded_error`, 504 `timeout_error`, other 5xx `api_error`).
pub fn anthropic_error_body(status: u16, message: &str, out: &mut Vec<u8>) {
    let kind: &[u8] = match status {
        401 => b"authentication_error",
        402 => b"billing_error",
        403 => b"permission_error",
        404 => b"not_found_error",
        413 => b"request_too_large",
        429 => b"rate_limit_error",
        503 | 529 => b"overloaded_error",
        504 => b"timeout_error",
        500..=599 => b"api_error",
        _ => b"invalid_request_error",
    };
    out.extend_from_slice(b"{\"type\":\"error\",\"error\":{\"type\":\"");
    out.extend_from_slice(kind);
    out.extend_from_slice(b"\",\"message\":");
    push_quoted(out, message.as_bytes());
    out.extend_from_slice(b"}}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn j(b: &[u8]) -> Value {
        match serde_json::from_slice(b) {
            Ok(v) => v,
            Err(e) => panic!("invalid JSON output ({e}): {}", String::from_utf8_lossy(b)),
        }
    }

    fn o2a(v: &Value, model: &str) -> (Value, ReqInfo) {
        let body = serde_json::to_vec(v).unwrap();
        let mut out = Vec::new();
        let info = openai_to_anthropic_request(&body, model, &mut out).unwrap();
        (j(&out), info)
    }

    fn a2o(v: &Value, model: &str) -> (Value, ReqInfo) {
        let body = serde_json::to_vec(v).unwrap();
        let mut out = Vec::new();
        let info = anthropic_to_openai_request(&body, model, &mut out).unwrap();
        (j(&out), info)
    }

    /// Replaces every `tool_calls[].function.arguments` string by its parsed
    /// JSON, so goldens compare arguments by value, not spacing.
    fn parse_arguments(v: &mut Value) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(a)) = m.get("arguments") {
                    let parsed: Value = serde_json::from_str(a).unwrap();
                    m.insert("arguments".into(), parsed);
                }
                for x in m.values_mut() {
                    parse_arguments(x);
                }
            }
            Value::Array(a) => a.iter_mut().for_each(parse_arguments),
            _ => {}
        }
    }

    // ---- golden: OpenAI request -> Anthropic request ----------------------

    #[test]
    fn golden_openai_request_with_tools() {
        // OpenAI's function-calling example, plus params Anthropic lacks.
        let req = json!({
            "model": "claude-alias",
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "What's the weather like in Boston today?"}
            ],
            "tools": [{
                "type": "function",
                "function": {
                    "name": "get_current_weather",
                    "description": "Get the current weather in a given location",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
                        },
                        "required": ["location"]
                    }
                }
            }],
            "tool_choice": "auto",
            "temperature": 0.7,
            "stop": "\n\nHuman:",
            "user": "user-1234",
            "n": 1,
            "presence_penalty": 0.5,
            "logprobs": false,
            "seed": 7,
            "response_format": {"type": "text"}
        });
        let (got, info) = o2a(&req, "claude-sonnet-4-5-20250929");
        let want = json!({
            "model": "claude-sonnet-4-5-20250929",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "What's the weather like in Boston today?"}]}],
            "system": [{"type": "text", "text": "You are a helpful assistant."}],
            "max_tokens": 64000,
            "metadata": {"user_id": "user-1234"},
            "stop_sequences": ["\n\nHuman:"],
            "temperature": 0.7,
            "tools": [{
                "name": "get_current_weather",
                "description": "Get the current weather in a given location",
                "input_schema": {
                    "type": "object",
                    "properties": {
                        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
                    },
                    "required": ["location"]
                }
            }],
            "tool_choice": {"type": "auto"}
        });
        assert_eq!(got, want);
        assert_eq!(
            info,
            ReqInfo {
                stream: false,
                include_usage: false
            }
        );
    }

    #[test]
    fn golden_openai_conversation_with_tool_results_and_images() {
        let req = json!({
            "model": "m",
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "What's in this image?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                    {"type": "image_url", "image_url": {"url": "https://upload.wikimedia.org/a.jpg", "detail": "high"}},
                    {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
                ]},
                {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
                {"role": "user", "content": "And the weather in Paris?"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_abc123", "type": "function", "function": {"name": "get_current_weather", "arguments": "{\"location\": \"Paris, France\"}"}},
                    {"id": "call_def456", "type": "function", "function": {"name": "get_current_weather", "arguments": "{\"location\":\"Boston, MA\",\"unit\":\"celsius\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_abc123", "content": "22C sunny"},
                {"role": "tool", "tool_call_id": "call_def456", "content": [{"type": "text", "text": "{\"temp\": 5}"}]},
                {"role": "assistant", "content": "Paris is 22C and Boston 5C.  \n"}
            ],
            "max_completion_tokens": 1024,
            "stream": true,
            "stream_options": {"include_usage": true},
            "parallel_tool_calls": false,
            "tool_choice": {"type": "function", "function": {"name": "get_current_weather"}}
        });
        let (got, info) = o2a(&req, "claude-3-5-haiku-20241022");
        let want = json!({
            "model": "claude-3-5-haiku-20241022",
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "What's in this image?"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                    {"type": "image", "source": {"type": "url", "url": "https://upload.wikimedia.org/a.jpg"}},
                    {"type": "text", "text": "And the weather in Paris?"}
                ]},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "call_abc123", "name": "get_current_weather", "input": {"location": "Paris, France"}},
                    {"type": "tool_use", "id": "call_def456", "name": "get_current_weather", "input": {"location": "Boston, MA", "unit": "celsius"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "call_abc123", "content": "22C sunny"},
                    {"type": "tool_result", "tool_use_id": "call_def456", "content": [{"type": "text", "text": "{\"temp\": 5}"}]}
                ]},
                {"role": "assistant", "content": [{"type": "text", "text": "Paris is 22C and Boston 5C."}]}
            ],
            "system": [{"type": "text", "text": "Be brief."}],
            "max_tokens": 1024,
            "stream": true,
            "tool_choice": {"type": "tool", "name": "get_current_weather", "disable_parallel_tool_use": true}
        });
        assert_eq!(got, want);
        assert_eq!(
            info,
            ReqInfo {
                stream: true,
                include_usage: true
            }
        );
    }

    #[test]
    fn openai_request_details() {
        // Default max_tokens, string/array stop filtering, tool_choice forms,
        // empty texts, duplicate tool ids, invalid user ids, reasoning_effort.
        let (got, _) = o2a(
            &json!({"messages": [{"role": "user", "content": "  "}], "stop": ["  ", "END"],
                    "user": "someone@example.com", "reasoning_effort": "low", "max_tokens": 500.6}),
            "anthropic/claude-opus-4-7",
        );
        assert_eq!(
            got["messages"][0]["content"][0]["text"],
            json!(String::from_utf8_lossy(EMPTY_TEXT_PLACEHOLDER))
        );
        assert_eq!(got["stop_sequences"], json!(["END"]));
        assert!(
            got.get("metadata").is_none(),
            "e-mail user ids are not sent"
        );
        assert_eq!(got["max_tokens"], json!(501));
        assert!(
            got.get("thinking").is_none(),
            "max_tokens <= 1024 leaves no room to think"
        );

        let (got, _) = o2a(
            &json!({"messages": [{"role": "user", "content": "hi"}], "reasoning_effort": "high",
                    "max_tokens": 3000, "tool_choice": "required", "metadata": {"user_id": "u-9"}, "user": "x"}),
            "claude-opus-4-7",
        );
        assert_eq!(
            got["thinking"],
            json!({"type": "enabled", "budget_tokens": 2999})
        );
        assert_eq!(got["tool_choice"], json!({"type": "any"}));
        assert_eq!(got["metadata"], json!({"user_id": "u-9"}));

        let (got, _) = o2a(
            &json!({"messages": [{"role": "user", "content": "hi"}]}),
            "claude-opus-4-7",
        );
        assert_eq!(got["max_tokens"], json!(128000));
        let (got, _) = o2a(
            &json!({"messages": [{"role": "user", "content": "hi"}]}),
            "claude-3-opus-20240229",
        );
        assert_eq!(got["max_tokens"], json!(4096));

        let (got, _) = o2a(
            &json!({"messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "", "tool_calls": [
                    {"id": "call.1", "type": "function", "function": {"name": "f", "arguments": ""}},
                    {"id": "call.1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ]},
                {"role": "tool", "tool_call_id": "call.1", "content": "ok"}
            ], "tool_choice": "none", "parallel_tool_calls": true}),
            "claude-x",
        );
        assert_eq!(
            got["messages"][1],
            json!({"role": "assistant", "content": [{"type": "tool_use", "id": "call_1", "name": "f", "input": {}}]})
        );
        assert_eq!(
            got["messages"][2]["content"][0]["tool_use_id"],
            json!("call_1")
        );
        assert_eq!(got["tool_choice"], json!({"type": "none"}));

        // Thinking blocks are replayed first; unsigned ones are dropped.
        let (got, _) = o2a(
            &json!({"messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "answer", "thinking_blocks": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig=="},
                    {"type": "thinking", "thinking": "unsigned"}
                ]},
                {"role": "user", "content": "more"}
            ]}),
            "claude-x",
        );
        assert_eq!(
            got["messages"][1]["content"],
            json!([{"type": "thinking", "thinking": "hmm", "signature": "sig=="}, {"type": "text", "text": "answer"}])
        );

        // A PDF as a file part, an Anthropic document part, cache_control.
        let (got, _) = o2a(
            &json!({"messages": [{"role": "user", "content": [
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0="}},
                {"type": "text", "text": "summarise", "cache_control": {"type": "ephemeral"}}
            ]}]}),
            "claude-x",
        );
        assert_eq!(
            got["messages"][0]["content"],
            json!([
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}},
                {"type": "text", "text": "summarise", "cache_control": {"type": "ephemeral"}}
            ])
        );
    }

    // ---- golden: Anthropic response -> OpenAI response --------------------

    #[test]
    fn golden_anthropic_response() {
        // The Messages API reference example.
        let body = br#"{
          "content": [{"text": "Hi! My name is Claude.", "type": "text"}],
          "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
          "model": "claude-3-7-sonnet-20250219",
          "role": "assistant",
          "stop_reason": "end_turn",
          "stop_sequence": null,
          "type": "message",
          "usage": {"input_tokens": 2095, "output_tokens": 503}
        }"#;
        let mut out = Vec::new();
        anthropic_to_openai_response(body, "my-claude", &mut out).unwrap();
        let mut got = j(&out);
        let id = got["id"].as_str().unwrap().to_string();
        assert!(id.starts_with("chatcmpl-") && id.len() == 45, "{id}");
        assert!(got["created"].as_u64().unwrap() > 1_700_000_000);
        got["id"] = json!("X");
        got["created"] = json!(0);
        let want = json!({
            "id": "X", "created": 0, "model": "my-claude", "object": "chat.completion", "system_fingerprint": null,
            "choices": [{"finish_reason": "stop", "index": 0, "message": {"content": "Hi! My name is Claude.", "role": "assistant"}}],
            "usage": {"completion_tokens": 503, "prompt_tokens": 2095, "total_tokens": 2598,
                      "prompt_tokens_details": {"cached_tokens": 0, "cache_creation_tokens": 0},
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        });
        assert_eq!(got, want);
    }

    #[test]
    fn golden_anthropic_tool_use_response() {
        // The tool-use guide's example, with cache usage added.
        let body = br#"{
          "id": "msg_01Aq9w938a90dw8q",
          "model": "claude-3-7-sonnet-20250219",
          "stop_reason": "tool_use",
          "role": "assistant",
          "content": [
            {"type": "thinking", "thinking": "Let me think.", "signature": "EqQBCgIYAhIM"},
            {"type": "text", "text": "<thinking>I need to use the get_weather, and the user wants SF, which is likely San Francisco, CA.</thinking>"},
            {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"location": "San Francisco, CA", "unit": "celsius"}}
          ],
          "usage": {"input_tokens": 472, "output_tokens": 91, "cache_creation_input_tokens": 10, "cache_read_input_tokens": 200}
        }"#;
        let mut out = Vec::new();
        anthropic_to_openai_response(body, "c", &mut out).unwrap();
        let mut got = j(&out);
        parse_arguments(&mut got);
        assert_eq!(got["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(
            got["choices"][0]["message"],
            json!({
                "content": "<thinking>I need to use the get_weather, and the user wants SF, which is likely San Francisco, CA.</thinking>",
                "role": "assistant",
                "tool_calls": [{"id": "toolu_01A09q90qw90lq917835lq9", "type": "function",
                                "function": {"name": "get_weather", "arguments": {"location": "San Francisco, CA", "unit": "celsius"}}}],
                "reasoning_content": "Let me think.",
                "thinking_blocks": [{"type": "thinking", "thinking": "Let me think.", "signature": "EqQBCgIYAhIM"}]
            })
        );
        assert_eq!(got["usage"]["prompt_tokens"], 682);
        assert_eq!(got["usage"]["total_tokens"], 773);
        assert_eq!(got["usage"]["prompt_tokens_details"]["cached_tokens"], 200);
        for (stop, want) in [
            ("max_tokens", "length"),
            ("stop_sequence", "stop"),
            ("refusal", "content_filter"),
            ("pause_turn", "stop"),
        ] {
            let body = format!(r#"{{"content":[],"stop_reason":"{stop}","usage":{{}}}}"#);
            let mut out = Vec::new();
            anthropic_to_openai_response(body.as_bytes(), "c", &mut out).unwrap();
            let v = j(&out);
            assert_eq!(v["choices"][0]["finish_reason"], want);
            assert_eq!(v["choices"][0]["message"]["content"], Value::Null);
        }
    }

    // ---- streams: Anthropic -> OpenAI -------------------------------------

    const AN_TEXT_STREAM: &str = "event: message_start\ndata: {\"type\": \"message_start\", \"message\": {\"id\": \"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY\", \"type\": \"message\", \"role\": \"assistant\", \"content\": [], \"model\": \"claude-3-7-sonnet-20250219\", \"stop_reason\": null, \"stop_sequence\": null, \"usage\": {\"input_tokens\": 25, \"output_tokens\": 1, \"cache_read_input_tokens\": 5}}}\n\n\
event: content_block_start\ndata: {\"type\": \"content_block_start\", \"index\": 0, \"content_block\": {\"type\": \"text\", \"text\": \"\"}}\n\n\
event: ping\ndata: {\"type\": \"ping\"}\n\n\
event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"text_delta\", \"text\": \"Hello\"}}\n\n\
event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"text_delta\", \"text\": \"! \\\"quoted\\\"\\n\"}}\n\n\
event: content_block_stop\ndata: {\"type\": \"content_block_stop\", \"index\": 0}\n\n\
event: message_delta\ndata: {\"type\": \"message_delta\", \"delta\": {\"stop_reason\": \"end_turn\", \"stop_sequence\":null}, \"usage\": {\"output_tokens\": 15}}\n\n\
event: message_stop\ndata: {\"type\": \"message_stop\"}\n\n";

    const AN_TOOL_STREAM: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_014p7gG3wDgGV9EUtLvnow3U\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-3-haiku-20240307\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":472,\"output_tokens\":2},\"content\":[],\"stop_reason\":null}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
event: ping\ndata: {\"type\": \"ping\"}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Okay\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\", let's check the weather for San Francisco, CA:\"}}\n\n\
event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01T1x1fJ34qAmk2tNTrN7Up6\",\"name\":\"get_weather\",\"input\":{}}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"location\\\":\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" \\\"San\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" Francisc\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"o,\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" CA\\\"\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\", \"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"unit\\\": \\\"fah\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"renheit\\\"}\"}}\n\n\
event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_02\",\"name\":\"get_time\",\"input\":{}}}\n\n\
event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

    /// What an OpenAI client reassembles from a chunk stream.
    #[derive(Debug, Default, PartialEq)]
    struct OaStream {
        role: Option<String>,
        content: String,
        reasoning: String,
        tools: Vec<(String, String, String)>,
        finish: Option<String>,
        usage: Option<Value>,
        done: bool,
        error: Option<Value>,
        chunks: usize,
    }

    fn reassemble_openai(bytes: &[u8]) -> OaStream {
        let text = std::str::from_utf8(bytes).unwrap();
        let mut s = OaStream::default();
        for ev in text.split("\n\n").filter(|e| !e.is_empty()) {
            let data = ev
                .strip_prefix("data: ")
                .expect("every event is one data line");
            assert!(!s.done, "event after [DONE]");
            if data == "[DONE]" {
                s.done = true;
                continue;
            }
            let v: Value = serde_json::from_str(data).unwrap();
            if let Some(e) = v.get("error") {
                s.error = Some(e.clone());
                continue;
            }
            s.chunks += 1;
            assert_eq!(v["object"], "chat.completion.chunk");
            assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
            if let Some(u) = v.get("usage") {
                s.usage = Some(u.clone());
            }
            let c = &v["choices"][0];
            if let Some(f) = c.get("finish_reason").and_then(Value::as_str) {
                assert!(s.finish.is_none(), "two finish chunks");
                s.finish = Some(f.into());
            }
            let d = &c["delta"];
            if let Some(r) = d.get("role").and_then(Value::as_str) {
                s.role = Some(r.into());
            }
            if let Some(t) = d.get("content").and_then(Value::as_str) {
                s.content.push_str(t);
            }
            if let Some(t) = d.get("reasoning_content").and_then(Value::as_str) {
                s.reasoning.push_str(t);
            }
            for tc in d
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let i = tc["index"].as_u64().unwrap() as usize;
                if i == s.tools.len() {
                    s.tools.push(Default::default());
                }
                let t = &mut s.tools[i];
                if let Some(id) = tc.get("id").and_then(Value::as_str) {
                    t.0 = id.into();
                }
                if let Some(n) = tc["function"].get("name").and_then(Value::as_str) {
                    t.1 = n.into();
                }
                if let Some(a) = tc["function"].get("arguments").and_then(Value::as_str) {
                    t.2.push_str(a);
                }
            }
        }
        s
    }

    /// The SSE events of a stream, each with its trailing blank line.
    fn events(stream: &str) -> Vec<&str> {
        stream.split_inclusive("\n\n").collect()
    }

    fn run_an_stream(stream: &str, include_usage: bool, split: Option<usize>) -> OaStream {
        let mut st = AnthropicToOpenAiStream::new("my-model", include_usage);
        let mut out = Vec::new();
        let evs = events(stream);
        match split {
            // Two buffers, split at one event boundary.
            Some(k) => {
                st.feed(evs[..k].concat().as_bytes(), &mut out).unwrap();
                st.feed(evs[k..].concat().as_bytes(), &mut out).unwrap();
            }
            None => {
                for e in &evs {
                    st.feed(e.as_bytes(), &mut out).unwrap();
                }
            }
        }
        assert!(st.is_done());
        reassemble_openai(&out)
    }

    #[test]
    fn anthropic_text_stream_to_openai() {
        let s = run_an_stream(AN_TEXT_STREAM, true, None);
        assert_eq!(s.role.as_deref(), Some("assistant"));
        assert_eq!(s.content, "Hello! \"quoted\"\n");
        assert_eq!(s.finish.as_deref(), Some("stop"));
        assert!(s.done);
        let u = s.usage.unwrap();
        assert_eq!(u["prompt_tokens"], 30);
        assert_eq!(u["completion_tokens"], 15);
        assert_eq!(u["total_tokens"], 45);
        assert_eq!(u["prompt_tokens_details"]["cached_tokens"], 5);
        // Without include_usage: no usage chunk.
        assert!(run_an_stream(AN_TEXT_STREAM, false, None).usage.is_none());
        for k in 0..=events(AN_TEXT_STREAM).len() {
            let mut split = run_an_stream(AN_TEXT_STREAM, true, Some(k));
            let mut whole = run_an_stream(AN_TEXT_STREAM, true, None);
            split.chunks = 0;
            whole.chunks = 0;
            assert_eq!(split, whole, "split at event {k}");
        }
    }

    #[test]
    fn anthropic_tool_stream_to_openai() {
        let whole = run_an_stream(AN_TOOL_STREAM, false, None);
        assert_eq!(
            whole.content,
            "Okay, let's check the weather for San Francisco, CA:"
        );
        assert_eq!(whole.finish.as_deref(), Some("tool_calls"));
        assert_eq!(whole.tools.len(), 2);
        assert_eq!(whole.tools[0].0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
        assert_eq!(whole.tools[0].1, "get_weather");
        let args: Value = serde_json::from_str(&whole.tools[0].2).unwrap();
        assert_eq!(
            args,
            json!({"location": "San Francisco, CA", "unit": "fahrenheit"})
        );
        assert_eq!(
            whole.tools[1],
            ("toolu_02".into(), "get_time".into(), "{}".into())
        );
        for k in 0..=events(AN_TOOL_STREAM).len() {
            assert_eq!(
                run_an_stream(AN_TOOL_STREAM, false, Some(k)),
                whole,
                "split at {k}"
            );
        }
    }

    #[test]
    fn anthropic_stream_thinking_errors_and_eof() {
        let stream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3}}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Let me \"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"think.\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQB\"}}\n\n\
event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n";
        let mut st = AnthropicToOpenAiStream::new("m", true);
        let mut out = Vec::new();
        for e in events(stream) {
            st.feed(e.as_bytes(), &mut out).unwrap();
        }
        assert!(st.is_done());
        let s = reassemble_openai(&out);
        assert_eq!(s.reasoning, "Let me think.");
        assert!(!s.done, "no [DONE] after an error");
        let err = s.error.unwrap();
        assert_eq!(err["message"], "AnthropicException - Overloaded");
        assert_eq!(err["type"], "overloaded_error");
        assert_eq!(err["code"], "503");
        assert!(std::str::from_utf8(&out)
            .unwrap()
            .contains("data: {\"error\": {\"message\""));
        // More input after the end is ignored.
        let before = out.len();
        st.feed(b"data: {\"type\":\"message_stop\"}\n\n", &mut out)
            .unwrap();
        assert_eq!(out.len(), before);

        // A clean EOF without message_stop: finish() closes the stream.
        let mut st = AnthropicToOpenAiStream::new("m", false);
        let mut out = Vec::new();
        st.feed(events(AN_TEXT_STREAM)[..4].concat().as_bytes(), &mut out)
            .unwrap();
        st.finish(&mut out);
        let s = reassemble_openai(&out);
        assert_eq!(
            (s.content.as_str(), s.finish.as_deref(), s.done),
            ("Hello", Some("stop"), true)
        );

        // Invalid event data is an error, not a panic; CRLF framing works.
        let mut st = AnthropicToOpenAiStream::new("m", false);
        assert!(st
            .feed(
                b"event: content_block_delta\ndata: {\"type\":\n\n",
                &mut out
            )
            .is_err());
        let mut out = Vec::new();
        st.feed(b"event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\r\n\r\n", &mut out).unwrap();
        assert_eq!(reassemble_openai(&out).content, "x");
    }

    // ---- golden: Anthropic request -> OpenAI request ----------------------

    #[test]
    fn golden_anthropic_request_to_openai() {
        let req = json!({
            "model": "claude-3-7-sonnet-20250219",
            "max_tokens": 1024,
            "system": [{"type": "text", "text": "You are a weather bot.", "cache_control": {"type": "ephemeral"}}],
            "tools": [
                {"name": "get_weather", "description": "Get the current weather in a given location",
                 "input_schema": {"type": "object", "properties": {"location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"}}, "required": ["location"]}},
                {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
            ],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
            "stop_sequences": ["END"],
            "metadata": {"user_id": "u-42"},
            "stream": true,
            "temperature": 0.5,
            "thinking": {"type": "enabled", "budget_tokens": 2048},
            "messages": [
                {"role": "user", "content": "What's the weather like in San Francisco?"},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "text", "text": "<thinking>I need to use get_weather, and the user wants SF, which is likely San Francisco, CA.</thinking>"},
                    {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"location": "San Francisco, CA", "unit": "celsius"}}
                ]},
                {"role": "user", "content": [
                    {"type": "text", "text": "Also, what's in this picture?"},
                    {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9", "content": "15 degrees"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQSkZJRg=="}},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}}
                ]}
            ]
        });
        let (mut got, info) = a2o(&req, "gpt-4o");
        parse_arguments(&mut got);
        let want = json!({
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": [{"type": "text", "text": "You are a weather bot."}]},
                {"role": "user", "content": "What's the weather like in San Francisco?"},
                {"role": "assistant",
                 "content": "<thinking>I need to use get_weather, and the user wants SF, which is likely San Francisco, CA.</thinking>",
                 "tool_calls": [{"id": "toolu_01A09q90qw90lq917835lq9", "type": "function",
                                 "function": {"name": "get_weather", "arguments": {"location": "San Francisco, CA", "unit": "celsius"}}}]},
                {"role": "tool", "tool_call_id": "toolu_01A09q90qw90lq917835lq9", "content": "15 degrees"},
                {"role": "user", "content": [
                    {"type": "text", "text": "Also, what's in this picture?"},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQSkZJRg=="}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
                ]}
            ],
            "max_tokens": 1024,
            "stop": ["END"],
            "temperature": 0.5,
            "stream": true,
            "stream_options": {"include_usage": true},
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Get the current weather in a given location",
                       "parameters": {"type": "object", "properties": {"location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"}}, "required": ["location"]}}}],
            "tool_choice": "required",
            "parallel_tool_calls": false,
            "user": "u-42"
        });
        assert_eq!(got, want);
        assert_eq!(
            info,
            ReqInfo {
                stream: true,
                include_usage: true
            }
        );

        // Tool results with lists, tool_choice "tool", string system.
        let (got, info) = a2o(
            &json!({"model": "x", "max_tokens": 10, "system": "Be nice.",
            "tool_choice": {"type": "tool", "name": "f"},
            "messages": [{"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "only"}]},
                {"type": "tool_result", "tool_use_id": "t2", "content": [{"type": "text", "text": "a"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA=="}}]},
                {"type": "tool_result", "tool_use_id": "t3", "is_error": true}
            ]}]}),
            "gpt",
        );
        assert_eq!(info, ReqInfo::default());
        assert_eq!(
            got["messages"],
            json!([
                {"role": "system", "content": "Be nice."},
                {"role": "tool", "tool_call_id": "t1", "content": "only"},
                {"role": "tool", "tool_call_id": "t2", "content": [{"type": "text", "text": "a"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}]},
                {"role": "tool", "tool_call_id": "t3", "content": ""}
            ])
        );
        assert_eq!(
            got["tool_choice"],
            json!({"type": "function", "function": {"name": "f"}})
        );
    }

    // ---- golden: OpenAI response -> Anthropic response --------------------

    #[test]
    fn golden_openai_response_to_anthropic() {
        let body = br#"{
          "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
          "object": "chat.completion",
          "created": 1741570283,
          "model": "gpt-4o-2024-08-06",
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "The image shows a wooden boardwalk extending through a lush green marshland.", "refusal": null, "annotations": []}, "logprobs": null, "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163,
                    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
          "service_tier": "default",
          "system_fingerprint": "fp_fc9f1d7035"
        }"#;
        let mut out = Vec::new();
        openai_to_anthropic_response(body, "claude-client", &mut out).unwrap();
        assert_eq!(
            j(&out),
            json!({
                "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "type": "message", "role": "assistant", "model": "claude-client",
                "content": [{"type": "text", "text": "The image shows a wooden boardwalk extending through a lush green marshland."}],
                "stop_reason": "end_turn", "stop_sequence": null,
                "usage": {"input_tokens": 1117, "output_tokens": 46}
            })
        );

        let body = br#"{"id":"chatcmpl-abc123","object":"chat.completion","created":1699896916,"model":"gpt-4o-mini",
          "choices":[{"index":0,"message":{"role":"assistant","content":null,"reasoning_content":"thinking...",
            "tool_calls":[{"id":"call_abc123","type":"function","function":{"name":"get_current_weather","arguments":"{\n\"location\": \"Boston, MA\"\n}"}}]},
            "logprobs":null,"finish_reason":"tool_calls"}],
          "usage":{"prompt_tokens":82,"completion_tokens":17,"total_tokens":99,"prompt_tokens_details":{"cached_tokens":64}}}"#;
        let mut out = Vec::new();
        openai_to_anthropic_response(body, "c", &mut out).unwrap();
        let got = j(&out);
        assert_eq!(
            got["content"],
            json!([
                {"type": "thinking", "thinking": "thinking...", "signature": ""},
                {"type": "tool_use", "id": "call_abc123", "name": "get_current_weather", "input": {"location": "Boston, MA"}}
            ])
        );
        assert_eq!(got["stop_reason"], "tool_use");
        assert_eq!(
            got["usage"],
            json!({"input_tokens": 18, "output_tokens": 17, "cache_read_input_tokens": 64})
        );

        for (f, want) in [
            ("length", "max_tokens"),
            ("content_filter", "refusal"),
            ("stop", "end_turn"),
        ] {
            let body = format!(
                r#"{{"id":"x","choices":[{{"message":{{"content":"a"}},"finish_reason":"{f}"}}]}}"#
            );
            let mut out = Vec::new();
            openai_to_anthropic_response(body.as_bytes(), "c", &mut out).unwrap();
            let v = j(&out);
            assert_eq!(v["stop_reason"], want);
            assert_eq!(v["usage"], json!({"input_tokens": 0, "output_tokens": 0}));
        }
    }

    // ---- streams: OpenAI -> Anthropic -------------------------------------

    const OA_TEXT_STREAM: &str = "data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\", \"system_fingerprint\": \"fp_44709d6fcb\", \"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n\
data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\", \"system_fingerprint\": \"fp_44709d6fcb\", \"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n\
data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\", \"system_fingerprint\": \"fp_44709d6fcb\", \"choices\":[{\"index\":0,\"delta\":{\"content\":\"! \\\"hi\\\"\\n\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n\
data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\", \"system_fingerprint\": \"fp_44709d6fcb\", \"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n\
data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\", \"system_fingerprint\": \"fp_44709d6fcb\", \"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11,\"prompt_tokens_details\":{\"cached_tokens\":4}}}\n\n\
data: [DONE]\n\n";

    const OA_TOOL_STREAM: &str = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Let me check.\"},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_DdmO9pD3xa9XTPNJ32zg2hcA\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"\"}}]},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"location\"}}]},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\":\\\"\"}}]},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"Paris, France\\\"}\"}}]},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"{\\\"tz\\\": \\\"CET\\\"}\"}}]},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":20,\"total_tokens\":70}}\n\n\
data: [DONE]\n\n";

    #[derive(Debug, Default, PartialEq)]
    struct AnStream {
        types: Vec<String>,
        /// Per block: (kind, text or tool input, tool id, tool name).
        blocks: Vec<(String, String, String, String)>,
        stop_reason: Option<String>,
        usage: Option<Value>,
        error: Option<Value>,
    }

    fn reassemble_anthropic(bytes: &[u8]) -> AnStream {
        let text = std::str::from_utf8(bytes).unwrap();
        let mut s = AnStream::default();
        let mut open: Option<usize> = None;
        for ev in text.split("\n\n").filter(|e| !e.is_empty()) {
            let (name, data) = ev.split_once('\n').unwrap();
            let name = name.strip_prefix("event: ").unwrap();
            let v: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
            assert_eq!(v["type"], name, "event name matches data type");
            s.types.push(name.into());
            match name {
                "message_start" => assert_eq!(s.types.len(), 1),
                "content_block_start" => {
                    assert!(open.is_none(), "a block is already open");
                    let i = v["index"].as_u64().unwrap() as usize;
                    assert_eq!(i, s.blocks.len(), "block indexes are consecutive");
                    let cb = &v["content_block"];
                    s.blocks.push((
                        cb["type"].as_str().unwrap().into(),
                        String::new(),
                        cb.get("id").and_then(Value::as_str).unwrap_or("").into(),
                        cb.get("name").and_then(Value::as_str).unwrap_or("").into(),
                    ));
                    open = Some(i);
                }
                "content_block_delta" => {
                    let i = v["index"].as_u64().unwrap() as usize;
                    assert_eq!(Some(i), open);
                    let d = &v["delta"];
                    let piece = match d["type"].as_str().unwrap() {
                        "text_delta" => d["text"].as_str(),
                        "input_json_delta" => d["partial_json"].as_str(),
                        "thinking_delta" => d["thinking"].as_str(),
                        other => panic!("unexpected delta {other}"),
                    };
                    s.blocks[i].1.push_str(piece.unwrap());
                }
                "content_block_stop" => {
                    assert_eq!(Some(v["index"].as_u64().unwrap() as usize), open);
                    open = None;
                }
                "message_delta" => {
                    assert!(open.is_none(), "message_delta inside a block");
                    s.stop_reason = v["delta"]["stop_reason"].as_str().map(Into::into);
                    s.usage = Some(v["usage"].clone());
                }
                "message_stop" => assert!(open.is_none()),
                "error" => s.error = Some(v["error"].clone()),
                "ping" => {}
                other => panic!("unexpected event {other}"),
            }
        }
        s
    }

    fn run_oa_stream(stream: &str, split: Option<usize>) -> AnStream {
        let mut st = OpenAiToAnthropicStream::new("claude-client");
        let mut out = Vec::new();
        let evs = events(stream);
        match split {
            Some(k) => {
                st.feed(evs[..k].concat().as_bytes(), &mut out).unwrap();
                st.feed(evs[k..].concat().as_bytes(), &mut out).unwrap();
            }
            None => {
                for e in &evs {
                    st.feed(e.as_bytes(), &mut out).unwrap();
                }
            }
        }
        assert!(st.is_done());
        reassemble_anthropic(&out)
    }

    #[test]
    fn openai_text_stream_to_anthropic() {
        let s = run_oa_stream(OA_TEXT_STREAM, None);
        assert_eq!(
            s.types,
            [
                "message_start",
                "content_block_start",
                "ping",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert_eq!(
            s.blocks,
            [(
                "text".into(),
                "Hello! \"hi\"\n".into(),
                String::new(),
                String::new()
            )]
        );
        assert_eq!(s.stop_reason.as_deref(), Some("end_turn"));
        assert_eq!(
            s.usage,
            Some(json!({"input_tokens": 5, "output_tokens": 2, "cache_read_input_tokens": 4}))
        );
        for k in 0..=events(OA_TEXT_STREAM).len() {
            assert_eq!(run_oa_stream(OA_TEXT_STREAM, Some(k)), s, "split at {k}");
        }
    }

    #[test]
    fn openai_tool_stream_to_anthropic() {
        let s = run_oa_stream(OA_TOOL_STREAM, None);
        assert_eq!(s.blocks.len(), 3);
        assert_eq!(s.blocks[0].1, "Let me check.");
        assert_eq!(s.blocks[1].0, "tool_use");
        assert_eq!(s.blocks[1].2, "call_DdmO9pD3xa9XTPNJ32zg2hcA");
        assert_eq!(s.blocks[1].3, "get_weather");
        let a: Value = serde_json::from_str(&s.blocks[1].1).unwrap();
        assert_eq!(a, json!({"location": "Paris, France"}));
        assert_eq!(s.blocks[2].2, "call_2");
        let a: Value = serde_json::from_str(&s.blocks[2].1).unwrap();
        assert_eq!(a, json!({"tz": "CET"}));
        assert_eq!(s.stop_reason.as_deref(), Some("tool_use"));
        assert_eq!(
            s.usage,
            Some(json!({"input_tokens": 50, "output_tokens": 20}))
        );
        assert_eq!(s.types.iter().filter(|t| *t == "ping").count(), 1);
        for k in 0..=events(OA_TOOL_STREAM).len() {
            assert_eq!(run_oa_stream(OA_TOOL_STREAM, Some(k)), s, "split at {k}");
        }
    }

    #[test]
    fn openai_stream_edge_cases() {
        // No [DONE] and no usage: finish() closes with zeros.
        let mut st = OpenAiToAnthropicStream::new("c");
        let mut out = Vec::new();
        st.feed(events(OA_TEXT_STREAM)[..4].concat().as_bytes(), &mut out)
            .unwrap();
        assert!(!st.is_done());
        st.finish(&mut out);
        let s = reassemble_anthropic(&out);
        assert_eq!(s.stop_reason.as_deref(), Some("end_turn"));
        assert_eq!(
            s.usage,
            Some(json!({"input_tokens": 0, "output_tokens": 0}))
        );
        assert_eq!(s.types.last().map(String::as_str), Some("message_stop"));

        // Reasoning then text; a provider that reuses index 0 for two calls.
        let stream = "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"hmm \"}}]}\n\n\
data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"ok\"}}]}\n\n\
data: {\"choices\":[{\"delta\":{\"content\":\"Answer\"}}]}\n\n\
data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}\n\n\
data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"b\",\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]}}]}\n\n\
data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}]}\n\n\
data: [DONE]\n\n";
        let s = run_oa_stream(stream, None);
        let kinds: Vec<&str> = s.blocks.iter().map(|b| b.0.as_str()).collect();
        assert_eq!(kinds, ["thinking", "text", "tool_use", "tool_use"]);
        assert_eq!(s.blocks[0].1, "hmm ok");
        assert_eq!((s.blocks[2].2.as_str(), s.blocks[3].2.as_str()), ("a", "b"));
        assert_eq!(s.stop_reason.as_deref(), Some("max_tokens"));

        // An upstream error mid-stream.
        let stream = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n\
data: {\"error\":{\"message\":\"Rate limit \\\"x\\\"\",\"type\":\"rate_limit_error\"}}\n\n";
        let mut st = OpenAiToAnthropicStream::new("c");
        let mut out = Vec::new();
        st.feed(stream.as_bytes(), &mut out).unwrap();
        assert!(st.is_done());
        let s = reassemble_anthropic(&out);
        assert_eq!(
            s.error,
            Some(json!({"type": "api_error", "message": "Rate limit \"x\""}))
        );
        assert_eq!(s.types.last().map(String::as_str), Some("error"));

        // Only [DONE]: a complete, empty message.
        let s = run_oa_stream("data: [DONE]\n\n", None);
        assert_eq!(s.types, ["message_start", "message_delta", "message_stop"]);

        // Bad JSON is an error, comments and keep-alives are ignored.
        let mut st = OpenAiToAnthropicStream::new("c");
        let mut out = Vec::new();
        assert!(st.feed(b"data: {oops}\n\n", &mut out).is_err());
        st.feed(b": keep-alive\n\n", &mut out).unwrap();
        assert!(out.is_empty());
    }

    // ---- errors ------------------------------------------------------------

    #[test]
    fn error_bodies_by_status() {
        for (status, kind) in [
            (400, "invalid_request_error"),
            (422, "invalid_request_error"),
            (401, "authentication_error"),
            (403, "permission_error"),
            (404, "not_found_error"),
            (413, "request_too_large"),
            (429, "rate_limit_error"),
            (500, "api_error"),
            (502, "api_error"),
            (503, "overloaded_error"),
            (529, "overloaded_error"),
        ] {
            let mut out = Vec::new();
            anthropic_error_body(status, "bad \"thing\"\n", &mut out);
            assert_eq!(
                j(&out),
                json!({"type": "error", "error": {"type": kind, "message": "bad \"thing\"\n"}})
            );
        }
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        type Req = fn(&[u8], &str, &mut Vec<u8>) -> Result<ReqInfo, TranslateError>;
        type Resp = fn(&[u8], &str, &mut Vec<u8>) -> Result<(), TranslateError>;
        let reqs: [Req; 2] = [openai_to_anthropic_request, anthropic_to_openai_request];
        let resps: [Resp; 2] = [anthropic_to_openai_response, openai_to_anthropic_response];
        let deep = format!("{{\"messages\":{}{}}}", "[".repeat(300), "]".repeat(300));
        let bad: &[(&[u8], &str)] = &[
            (b"", "json"),
            (b"{\"model\":\"ok\", bad json", "json"),
            (b"{bad", "json"),
            (b"[{\"model\":\"ok\"}]", "not object"),
            (b"\"str\"", "not object"),
            (b"null", "not object"),
            (b"{\"a\":1,}", "json"),
            (b"{\"a\":01}", "json"),
            (b"{\"a\":\"\x01\"}", "json"),
            (b"{\"a\":\"\\x\"}", "json"),
            (b"{\"a\":\"\xff\"}", "json"),
            (b"{\"a\":1} x", "json"),
            (deep.as_bytes(), "json"),
        ];
        for (body, why) in bad {
            for f in reqs {
                let mut out = b"keep".to_vec();
                assert!(
                    f(body, "m", &mut out).is_err(),
                    "{why}: {:?}",
                    String::from_utf8_lossy(body)
                );
                assert_eq!(out, b"keep", "output untouched on error");
            }
            for f in resps {
                let mut out = Vec::new();
                assert!(f(body, "m", &mut out).is_err(), "{why}");
            }
        }
        let mut out = Vec::new();
        for body in [&b"{\"model\":\"ok\"}"[..], b"{\"messages\":null}"] {
            for f in reqs {
                assert_eq!(
                    f(body, "m", &mut out),
                    Err(TranslateError::Missing("messages"))
                );
            }
        }
        let shapes: &[&[u8]] = &[
            b"{\"messages\":\"hi\"}",
            b"{\"messages\":[1]}",
            b"{\"messages\":[{\"content\":\"no role\"}]}",
            b"{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}",
        ];
        for body in shapes {
            for f in reqs {
                assert!(matches!(
                    f(body, "m", &mut out),
                    Err(TranslateError::Invalid(_))
                ));
            }
        }
        let o2a_only: &[&[u8]] = &[
            b"{\"messages\":[{\"role\":\"system\",\"content\":\"only system\"}]}",
            b"{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":\"{not json\"}}]}]}",
            b"{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}",
            b"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"ftp://x\"}}]}]}",
            b"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":\"ten\"}",
            b"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"reasoning_effort\":\"huge\"}",
            b"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\"}]}",
        ];
        for body in o2a_only {
            let mut out = Vec::new();
            assert!(
                matches!(
                    openai_to_anthropic_request(body, "m", &mut out),
                    Err(TranslateError::Invalid(_))
                ),
                "{}",
                String::from_utf8_lossy(body)
            );
            assert!(out.is_empty());
        }
        let mut out = Vec::new();
        let e = anthropic_to_openai_response(
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            "m",
            &mut out,
        );
        assert_eq!(
            e,
            Err(TranslateError::Invalid(
                "AnthropicException - Overloaded".into()
            ))
        );
    }

    /// Random byte-level damage to valid bodies: every entry point returns
    /// (Ok or Err) and whatever it writes on Ok is valid JSON.
    #[test]
    fn mutated_bodies_never_panic() {
        let seeds: Vec<Vec<u8>> = vec![
            serde_json::to_vec(&random_openai_request(&mut fastrand::Rng::with_seed(1))).unwrap(),
            serde_json::to_vec(&random_openai_request(&mut fastrand::Rng::with_seed(2))).unwrap(),
            AN_TOOL_STREAM.as_bytes().to_vec(),
            OA_TOOL_STREAM.as_bytes().to_vec(),
        ];
        let mut rng = fastrand::Rng::with_seed(99);
        let alphabet = b"{}[]\",:\\ntfu0123456789.-eE \x00\xc3\xa9";
        for _ in 0..3000 {
            let mut b = seeds[rng.usize(..seeds.len())].clone();
            for _ in 0..rng.usize(1..4) {
                let i = rng.usize(..b.len());
                match rng.u8(0..3) {
                    0 => b[i] = alphabet[rng.usize(..alphabet.len())],
                    1 => {
                        b.remove(i);
                    }
                    _ => b.insert(i, alphabet[rng.usize(..alphabet.len())]),
                }
                if b.is_empty() {
                    break;
                }
            }
            let mut out = Vec::new();
            if openai_to_anthropic_request(&b, "m", &mut out).is_ok() {
                j(&out);
            }
            out.clear();
            if anthropic_to_openai_request(&b, "m", &mut out).is_ok() {
                j(&out);
            }
            out.clear();
            if anthropic_to_openai_response(&b, "m", &mut out).is_ok() {
                j(&out);
            }
            out.clear();
            if openai_to_anthropic_response(&b, "m", &mut out).is_ok() {
                j(&out);
            }
            out.clear();
            let mut s1 = AnthropicToOpenAiStream::new("m", true);
            let _ = s1.feed(&b, &mut out);
            s1.finish(&mut out);
            let mut s2 = OpenAiToAnthropicStream::new("m");
            let _ = s2.feed(&b, &mut out);
            s2.finish(&mut out);
            assert!(std::str::from_utf8(&out).is_ok());
        }
    }

    /// The validating parser accepts exactly what serde_json accepts.
    #[test]
    fn strict_parser_agrees_with_serde_json() {
        let mut rng = fastrand::Rng::with_seed(5);
        let samples: &[&[u8]] = &[
            br#"{"a":[1,2.5e-3,-0,true,false,null,"x\"y\\z\u00e9\n"],"b":{"c":{}},"d":[]}"#,
            br#" { "k" : [ { } , [ ] , "" , 0.0 , 1E+9 ] } "#,
            "{\"u\":\"漢字 🎉\"}".as_bytes(),
        ];
        for s in samples {
            assert!(parse_root(s).is_ok(), "{}", String::from_utf8_lossy(s));
        }
        let alphabet = b"{}[]\",:\\/ntrfbu0123456789.-+eE aAfF\x01";
        for _ in 0..20000 {
            let base = samples[rng.usize(..samples.len())];
            let mut b = base.to_vec();
            for _ in 0..rng.usize(1..3) {
                let i = rng.usize(..b.len());
                match rng.u8(0..3) {
                    0 => b[i] = alphabet[rng.usize(..alphabet.len())],
                    1 => {
                        b.remove(i);
                    }
                    _ => b.insert(i, alphabet[rng.usize(..alphabet.len())]),
                }
            }
            let ours = parse_root(&b).is_ok();
            let theirs = serde_json::from_slice::<Value>(&b).map(|v| v.is_object());
            let theirs = matches!(theirs, Ok(true));
            // serde_json also rejects unpaired surrogate escapes; we leave
            // those to the provider, so only a serde rejection that names
            // them may differ.
            if ours != theirs {
                let e = serde_json::from_slice::<Value>(&b)
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                assert!(
                    e.contains("surrogate"),
                    "{} ours={ours} serde={e}",
                    String::from_utf8_lossy(&b)
                );
            }
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(rstrip_raw(b"a  \\n\\t "), 1);
        assert_eq!(rstrip_raw(b"a\\\\n"), 4); // an escaped backslash then 'n'
        assert_eq!(rstrip_raw(b"a\\\\\\n"), 3);
        let mut out = Vec::new();
        push_sanitized_id(&mut out, Str(b"call.1/\\u00e9x"));
        assert_eq!(out, b"\"call_1__x\"");
        out.clear();
        push_sanitized_id(&mut out, Str(b""));
        assert_eq!(out, b"\"tool_use_id\"");
        for (id, ok) in [
            ("user-1", true),
            ("a@b.co", false),
            ("first.last+tag@mail.example.org", false),
            ("+1 (555) 123-4567", false),
            ("12345", true),
            ("a@b", true),
        ] {
            assert_eq!(valid_user_id(id.as_bytes()), ok, "{id}");
        }
        let mut v = Vec::new();
        unescape_into(&mut v, br#"a\"b\\c\/\n\u00e9\ud83c\udf89"#).unwrap();
        assert_eq!(String::from_utf8(v).unwrap(), "a\"b\\c/\né🎉");
        assert!(unescape_into(&mut Vec::new(), br"\ud83c").is_err());
        let mut u = Vec::new();
        push_uuid(&mut u);
        assert_eq!(u.len(), 36);
        assert_eq!((u[14], u[8], u[13]), (b'4', b'-', b'-'));
        assert!(
            Str(b" \\n\\t").is_blank() && Str(b"\\u00a0").is_blank() && !Str(b" x ").is_blank()
        );
        assert_eq!(default_max_tokens("anthropic/claude-sonnet-4-5"), 64000);
        assert_eq!(default_max_tokens("claude-3-7-sonnet-20250219"), 4096);
    }

    // ---- round trip ----------------------------------------------------------

    const PIECES: &[&str] = &[
        "hello",
        "quote \" here",
        "back\\slash",
        "new\nline",
        "tab\tin",
        "unicode é 漢字 🎉",
        "<b>html</b>",
        "{\"json\": [1, 2]}",
        "ctrl \u{1} char",
        "path/to/file",
        "   leading",
    ];

    fn random_text(rng: &mut fastrand::Rng) -> String {
        let mut s = String::new();
        for _ in 0..rng.usize(1..4) {
            s.push_str(PIECES[rng.usize(..PIECES.len())]);
            s.push(' ');
        }
        s.trim_end().to_string()
    }

    fn random_image(rng: &mut fastrand::Rng) -> String {
        if rng.bool() {
            format!("https://example.com/img/{}.png?x=1&y=2", rng.u32(..))
        } else {
            let media = ["image/png", "image/jpeg", "image/gif", "image/webp"][rng.usize(..4)];
            let data: String = (0..rng.usize(4..40))
                .map(|_| {
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                        [rng.usize(..64)] as char
                })
                .collect();
            format!("data:{media};base64,{data}==")
        }
    }

    fn random_args(rng: &mut fastrand::Rng) -> Value {
        let mut m = serde_json::Map::new();
        for k in 0..rng.usize(0..4) {
            let v = match rng.u8(0..4) {
                0 => json!(random_text(rng)),
                1 => json!(rng.i64(-1000..1000)),
                2 => json!([true, null, 1.5]),
                _ => json!({"nested": {"deep": random_text(rng)}}),
            };
            m.insert(format!("k{k}"), v);
        }
        Value::Object(m)
    }

    fn random_openai_request(rng: &mut fastrand::Rng) -> Value {
        let mut msgs = Vec::new();
        let mut call_n = 0;
        for _ in 0..rng.usize(1..10) {
            match rng.u8(0..5) {
                0 => msgs.push(if rng.bool() {
                    json!({"role": "system", "content": random_text(rng)})
                } else {
                    json!({"role": "system", "content": [{"type": "text", "text": random_text(rng)}]})
                }),
                1 | 2 => {
                    if rng.bool() {
                        msgs.push(json!({"role": "user", "content": random_text(rng)}));
                    } else {
                        let parts: Vec<Value> = (0..rng.usize(1..4))
                            .map(|_| {
                                if rng.bool() {
                                    json!({"type": "text", "text": random_text(rng)})
                                } else {
                                    json!({"type": "image_url", "image_url": {"url": random_image(rng)}})
                                }
                            })
                            .collect();
                        msgs.push(json!({"role": "user", "content": parts}));
                    }
                }
                _ => {
                    let calls: Vec<Value> = (0..rng.usize(0..3))
                        .map(|_| {
                            call_n += 1;
                            json!({"id": format!("call_{call_n}_{}", rng.u32(..)), "type": "function",
                                   "function": {"name": format!("tool_{}", rng.u8(0..3)),
                                                "arguments": random_args(rng).to_string()}})
                        })
                        .collect();
                    let content = if calls.is_empty() || rng.bool() {
                        json!(random_text(rng))
                    } else {
                        Value::Null
                    };
                    let mut m = json!({"role": "assistant", "content": content});
                    if !calls.is_empty() {
                        m["tool_calls"] = json!(calls.clone());
                    }
                    msgs.push(m);
                    for c in &calls {
                        msgs.push(json!({"role": "tool", "tool_call_id": c["id"], "content": random_text(rng)}));
                    }
                }
            }
        }
        if msgs.iter().all(|m| m["role"] == "system") {
            msgs.push(json!({"role": "user", "content": random_text(rng)}));
        }
        let tools: Vec<Value> = (0..3)
            .map(|i| {
                json!({"type": "function", "function": {"name": format!("tool_{i}"),
                       "description": random_text(rng),
                       "parameters": {"type": "object", "properties": {"k0": {"type": "string"}}}}})
            })
            .collect();
        json!({"model": "m", "messages": msgs, "tools": tools, "max_tokens": rng.u32(1..5000),
               "temperature": 0.5, "stop": ["STOP"]})
    }

    #[derive(Debug, PartialEq)]
    enum Item {
        Text(String),
        Image(String),
        Call(String, String, Value),
        Result(String, String),
    }

    /// A conversation as (system texts, turns of items), in a form both
    /// directions preserve: turns merged by Anthropic role; a user turn's
    /// tool results first; an assistant turn's texts concatenated.
    fn normalize(messages: &Value) -> (Vec<String>, Vec<(bool, Vec<Item>)>) {
        let mut system = Vec::new();
        let mut turns: Vec<(bool, Vec<Item>)> = Vec::new();
        let text_of = |c: &Value| -> Vec<Item> {
            match c {
                Value::String(s) => vec![Item::Text(s.clone())],
                Value::Array(parts) => parts
                    .iter()
                    .map(|p| match p["type"].as_str().unwrap() {
                        "text" => Item::Text(p["text"].as_str().unwrap().into()),
                        "image_url" => Item::Image(p["image_url"]["url"].as_str().unwrap().into()),
                        t => panic!("part {t}"),
                    })
                    .collect(),
                _ => Vec::new(),
            }
        };
        for m in messages.as_array().unwrap() {
            let role = m["role"].as_str().unwrap();
            let (assistant, items) = match role {
                "system" => {
                    for i in text_of(&m["content"]) {
                        if let Item::Text(t) = i {
                            system.push(t);
                        }
                    }
                    continue;
                }
                "user" => (false, text_of(&m["content"])),
                "tool" => {
                    let c = match &m["content"] {
                        Value::String(s) => s.clone(),
                        other => panic!("tool content {other}"),
                    };
                    (
                        false,
                        vec![Item::Result(m["tool_call_id"].as_str().unwrap().into(), c)],
                    )
                }
                "assistant" => {
                    let mut items = text_of(&m["content"]);
                    for c in m
                        .get("tool_calls")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let args: Value =
                            serde_json::from_str(c["function"]["arguments"].as_str().unwrap())
                                .unwrap();
                        items.push(Item::Call(
                            c["id"].as_str().unwrap().into(),
                            c["function"]["name"].as_str().unwrap().into(),
                            args,
                        ));
                    }
                    (true, items)
                }
                r => panic!("role {r}"),
            };
            match turns.last_mut() {
                Some((a, v)) if *a == assistant => v.extend(items),
                _ => turns.push((assistant, items)),
            }
        }
        for (assistant, items) in &mut turns {
            let (mut first, mut rest): (Vec<Item>, Vec<Item>) = if *assistant {
                let mut text = String::new();
                let mut calls = Vec::new();
                for i in items.drain(..) {
                    match i {
                        Item::Text(t) => text.push_str(&t),
                        other => calls.push(other),
                    }
                }
                (
                    if text.is_empty() {
                        vec![]
                    } else {
                        vec![Item::Text(text)]
                    },
                    calls,
                )
            } else {
                items.drain(..).partition(|i| matches!(i, Item::Result(..)))
            };
            first.append(&mut rest);
            *items = first;
        }
        turns.retain(|(_, items)| !items.is_empty());
        (system, turns)
    }

    #[test]
    fn round_trip_openai_anthropic_openai() {
        let mut rng = fastrand::Rng::with_seed(2024);
        for case in 0..500 {
            let req = random_openai_request(&mut rng);
            let (an, _) = o2a(&req, "claude-x");
            // Anthropic's structural rules hold on the way out.
            let turns = an["messages"].as_array().unwrap();
            for w in turns.windows(2) {
                assert_ne!(w[0]["role"], w[1]["role"], "case {case}: turns alternate");
            }
            let (back, _) = a2o(&an, "gpt-x");
            assert_eq!(
                normalize(&req["messages"]),
                normalize(&back["messages"]),
                "case {case}: {req}"
            );
            let names = |v: &Value| -> Vec<(Value, Value, Value)> {
                v["tools"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| {
                        (
                            t["function"]["name"].clone(),
                            t["function"]["description"].clone(),
                            t["function"]["parameters"].clone(),
                        )
                    })
                    .collect()
            };
            assert_eq!(names(&req), names(&back), "case {case}: tools");
            for k in ["max_tokens", "temperature", "stop"] {
                assert_eq!(req[k], back[k], "case {case}: {k}");
            }
        }
    }

    #[test]
    fn round_trip_responses() {
        // Anthropic response -> OpenAI -> Anthropic keeps text, tool calls,
        // stop reason and usage.
        let body = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[
            {"type":"text","text":"Let me look \"that\" up.\n"},
            {"type":"tool_use","id":"toolu_1","name":"search","input":{"q":"caf\u00e9 \"best\"","n":[1,2,{"x":null}]}}],
            "stop_reason":"tool_use","stop_sequence":null,
            "usage":{"input_tokens":100,"output_tokens":20,"cache_read_input_tokens":30,"cache_creation_input_tokens":7}}"#;
        let mut oa = Vec::new();
        anthropic_to_openai_response(body, "gpt-name", &mut oa).unwrap();
        let mut back = Vec::new();
        openai_to_anthropic_response(&oa, "claude", &mut back).unwrap();
        let (orig, back) = (j(body), j(&back));
        assert_eq!(orig["content"], back["content"]);
        assert_eq!(orig["stop_reason"], back["stop_reason"]);
        assert_eq!(orig["usage"], back["usage"]);
    }

    // ---- timing ----------------------------------------------------------------

    /// A chat body like `translate::tests::measure_scan`'s (system + user
    /// text + a tool round trip + tools), the user text being `filler`
    /// repeated to about `size` bytes.
    fn sized_openai_body(size: usize, filler: &str) -> Vec<u8> {
        let filler = filler.repeat(size / filler.len());
        format!(
            r#"{{"model":"gpt-4o-mini","messages":[{{"role":"system","content":"You are helpful."}},{{"role":"user","content":"{filler}"}},{{"role":"assistant","content":null,"tool_calls":[{{"id":"call_1","type":"function","function":{{"name":"f","arguments":"{{\"a\": \"b\"}}"}}}}]}},{{"role":"tool","tool_call_id":"call_1","content":"result"}}],"temperature":0.2,"stream":false,"tools":[{{"type":"function","function":{{"name":"f","parameters":{{"type":"object","properties":{{"a":{{"type":"string"}}}}}}}}}}]}}"#
        )
        .into_bytes()
    }

    fn time<F: FnMut()>(iters: u32, mut f: F) -> f64 {
        for _ in 0..iters / 10 {
            f();
        }
        let t = std::time::Instant::now();
        for _ in 0..iters {
            f();
        }
        t.elapsed().as_nanos() as f64 / f64::from(iters)
    }

    /// `cargo test --release -p ringway --lib anthropic::tests::measure -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn measure() {
        let iters = 10_000;
        // Escape-dense text (an escaped quote every 20 bytes, the
        // translate.rs bench filler) and prose (an escaped newline per line).
        let fillers = [
            ("quotes", "lorem ipsum \\\"quoted\\\" dolor sit amet, "),
            (
                "prose",
                "The quick brown fox jumps over the lazy dog; it was not amused by it.\\n",
            ),
        ];
        for (size, (kind, filler)) in [2 * 1024, 32 * 1024]
            .into_iter()
            .flat_map(|s| fillers.into_iter().map(move |f| (s, f)))
        {
            let oa_body = sized_openai_body(size, filler);
            print!("{kind:>6} ");
            let mut an_body = Vec::new();
            openai_to_anthropic_request(&oa_body, "claude-x", &mut an_body).unwrap();
            let mut out = Vec::with_capacity(oa_body.len() * 2);
            let o2a_ns = time(iters, || {
                out.clear();
                openai_to_anthropic_request(std::hint::black_box(&oa_body), "claude-x", &mut out)
                    .unwrap();
            });
            let a2o_ns = time(iters, || {
                out.clear();
                anthropic_to_openai_request(std::hint::black_box(&an_body), "gpt-x", &mut out)
                    .unwrap();
            });
            // Lower bound for serde borrowed structs: parse only, texts as
            // `Cow<str>` (owned when escaped), nested values ignored.
            #[derive(serde::Deserialize)]
            #[allow(dead_code)]
            struct Msg<'a> {
                #[serde(borrow)]
                role: std::borrow::Cow<'a, str>,
                #[serde(borrow)]
                content: Option<std::borrow::Cow<'a, str>>,
                tool_calls: Option<serde::de::IgnoredAny>,
                tool_call_id: Option<serde::de::IgnoredAny>,
            }
            #[derive(serde::Deserialize)]
            #[allow(dead_code)]
            struct Req<'a> {
                #[serde(borrow)]
                messages: Vec<Msg<'a>>,
                tools: Option<serde::de::IgnoredAny>,
                temperature: Option<f64>,
            }
            let borrowed_ns = time(iters, || {
                let r: Req = serde_json::from_slice(std::hint::black_box(&oa_body)).unwrap();
                std::hint::black_box(r);
            });
            let value_ns = time(iters, || {
                let v: Value = serde_json::from_slice(std::hint::black_box(&oa_body)).unwrap();
                std::hint::black_box(v);
            });
            let value_rt_ns = time(iters, || {
                let v: Value = serde_json::from_slice(std::hint::black_box(&oa_body)).unwrap();
                out.clear();
                serde_json::to_writer(&mut out, &v).unwrap();
            });
            println!(
                "{:>6} B  openai->anthropic {:>8.0} ns/op | anthropic->openai ({} B) {:>8.0} ns/op | reference: serde borrowed structs parse {:>8.0} ns, serde_json::Value parse {:>8.0} ns, parse+serialise {:>8.0} ns",
                oa_body.len(),
                o2a_ns,
                an_body.len(),
                a2o_ns,
                borrowed_ns,
                value_ns,
                value_rt_ns
            );
        }
        // Per SSE event.
        let an_events = events(AN_TOOL_STREAM);
        let oa_events = events(OA_TOOL_STREAM);
        let mut out = Vec::with_capacity(1 << 16);
        let an_ns = time(iters, || {
            out.clear();
            let mut st = AnthropicToOpenAiStream::new("m", true);
            for e in &an_events {
                st.feed(e.as_bytes(), &mut out).unwrap();
            }
        }) / an_events.len() as f64;
        let oa_ns = time(iters, || {
            out.clear();
            let mut st = OpenAiToAnthropicStream::new("m");
            for e in &oa_events {
                st.feed(e.as_bytes(), &mut out).unwrap();
            }
        }) / oa_events.len() as f64;
        let setup_ns = time(iters, || {
            std::hint::black_box(AnthropicToOpenAiStream::new("m", true));
        });
        println!("SSE: anthropic->openai {an_ns:.0} ns/event, openai->anthropic {oa_ns:.0} ns/event (stream setup, {setup_ns:.0} ns, spread over the events)");
    }
}
