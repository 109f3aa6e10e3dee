//! OpenAI Responses API (`POST /v1/responses`) <-> OpenAI Chat Completions,
//! so a Responses client can call any chat-only deployment (Anthropic,
//! Gemini, Bedrock, Groq, ...): the request is rewritten into a chat request,
//! the chat answer (or chunk stream) back into a Responses object (or event
//! stream). Pure functions and one stream state machine: no I/O.
//!
//! It follows LiteLLM 1.106.2's bridge, `responses/litellm_completion_transformation/`:
//! `transformation.py` (`LiteLLMCompletionResponsesConfig`:
//! `transform_responses_api_request_to_chat_completion_request`,
//! `transform_chat_completion_response_to_responses_api_response`, the input
//! item, tool, tool-choice, text-format and usage helpers, `custom_tools.py`)
//! and `streaming_iterator.py` (`LiteLLMCompletionStreamingIterator`: which
//! events a translated stream carries and in what order). Where LiteLLM's
//! output differs from OpenAI's own Responses API, LiteLLM wins and the
//! comment says so; the few places where Ringway deliberately does not copy
//! LiteLLM are marked "Not LiteLLM".
//!
//! * [`responses_to_chat_request`]: Responses request -> chat request.
//! * [`chat_to_responses_response`]: `chat.completion` -> `response` object.
//! * [`ChatToResponsesStream`]: `chat.completion.chunk` SSE -> Responses SSE.
//!
//! Style as in [`crate::anthropic`]: one validating pass over each body
//! records byte spans ([`crate::json`]); strings move between the formats as
//! their raw escaped bytes, nested values both formats share (JSON schemas,
//! `cache_control`, metadata) are copied verbatim, and nothing builds a
//! `serde_json::Value`. A stream keeps only what its `*.done` events and the
//! final `response.completed` need (the text of the message and reasoning
//! item, each tool call's arguments), bounded by the answer size.
//!
//! Cost, measured by `tests::measure` (release, the shared 2-vCPU dev box):
//! 1.1 µs per stream event on average over a 47-event stream with text and
//! a tool call (setup, `response.created` and `response.completed`
//! included), 0.9 µs per text delta; 1.4 µs for a 650-byte request with a
//! function-call round trip; 4.3 µs for a chat answer (two UUIDs and the
//! base64 response id included).

use base64::Engine as _;

use crate::anthropic::ReqInfo;
use crate::json::*;
pub use crate::json::{TokenUsage, TranslateError};

// ---------------------------------------------------------------------------
// Small shared helpers
// ---------------------------------------------------------------------------

/// Python truthiness of a JSON value (LiteLLM's `x or default` idiom):
/// absent, null, false, 0, "", [] and {} are falsy.
fn truthy(v: Option<Val<'_>>) -> Option<Val<'_>> {
    v.filter(|v| {
        let falsy = matches!(v.0, b"null" | b"false" | b"\"\"")
            || (v.is_num() && v.num() == Some(0.0))
            || (v.is_arr() && v.elems().next().is_none())
            || (v.is_obj() && v.members().next().is_none());
        !falsy
    })
}

/// Appends a JSON value as a JSON string holding its text (Python's
/// `json.dumps(value)` put where a string is expected).
fn push_dumped(out: &mut Vec<u8>, v: Val<'_>) {
    out.push(b'"');
    push_escaped(out, v.0);
    out.push(b'"');
}

fn is_one_of(s: Option<Str<'_>>, names: &[&str]) -> bool {
    s.is_some_and(|s| names.iter().any(|n| s.is(n)))
}

// ---------------------------------------------------------------------------
// Responses request -> chat completions request
// ---------------------------------------------------------------------------

/// Members of an `input` item captured in the strict pass.
const ITEM_KEYS: [&str; 10] = [
    "type",
    "role",
    "content",
    "call_id",
    "id",
    "name",
    "arguments",
    "output",
    "input",
    "namespace",
];
const I_TYPE: usize = 0;
const I_ROLE: usize = 1;
const I_CONTENT: usize = 2;
const I_CALL_ID: usize = 3;
const I_ID: usize = 4;
const I_NAME: usize = 5;
const I_ARGS: usize = 6;
const I_OUTPUT: usize = 7;
const I_INPUT: usize = 8;
const I_NS: usize = 9;

/// Members of a message content part captured in the strict pass.
const PART_KEYS: [&str; 10] = [
    "type",
    "text",
    "image_url",
    "detail",
    "file_id",
    "file_url",
    "file_data",
    "filename",
    "cache_control",
    "encrypted_content",
];
const P_TYPE: usize = 0;
const P_TEXT: usize = 1;
const P_IMAGE_URL: usize = 2;
const P_DETAIL: usize = 3;
const P_FILE_ID: usize = 4;
const P_FILE_URL: usize = 5;
const P_FILE_DATA: usize = 6;
const P_FILENAME: usize = 7;
const P_CACHE: usize = 8;
const P_ENCRYPTED: usize = 9;
type ContentPart<'a> = Part<'a, 10>;

/// Members of a Responses tool captured in the strict pass (also read from
/// a namespace's nested tools).
const TOOL_KEYS: [&str; 14] = [
    "type",
    "name",
    "description",
    "parameters",
    "strict",
    "cache_control",
    "defer_loading",
    "allowed_callers",
    "input_examples",
    "eager_input_streaming",
    "search_context_size",
    "user_location",
    "format",
    "tools",
];
const T_TYPE: usize = 0;
const T_NAME: usize = 1;
const T_DESC: usize = 2;
const T_PARAMS: usize = 3;
const T_STRICT: usize = 4;
/// Copied onto the chat tool when truthy (`eager_input_streaming` when
/// not null), as LiteLLM's `_responses_tool_to_chat_form` does.
const T_EXTRAS: std::ops::Range<usize> = 5..10;
const T_CONTEXT_SIZE: usize = 10;
const T_LOCATION: usize = 11;
const T_FORMAT: usize = 12;
const T_TOOLS: usize = 13;
type Tool<'a> = Part<'a, 14>;

/// One `input` item: its members, and its content parts' range in the
/// request's part list when `content` is a list.
#[derive(Clone, Copy, Debug)]
struct Item<'a> {
    f: [Option<Val<'a>>; 10],
    parts: Option<(usize, usize)>,
}

impl<'a> Item<'a> {
    fn str(&self, i: usize) -> Option<Str<'a>> {
        self.f[i].and_then(Val::str)
    }
    fn kind(&self) -> ItemKind {
        let ty = self.str(I_TYPE);
        if is_one_of(ty, &["function_call", "custom_tool_call"]) {
            ItemKind::Call
        } else if is_one_of(
            ty,
            &[
                "function_call_output",
                "custom_tool_call_output",
                "computer_call_output",
                "tool_result",
            ],
        ) {
            ItemKind::Output
        } else if is_one_of(ty, &["reasoning", "web_search_call"]) || self.f[I_CONTENT].is_none() {
            // Not LiteLLM: it replays `reasoning` items as assistant
            // `reasoning_content` / signed `thinking_blocks` and hosted
            // `web_search_call`s as an assistant text; Ringway drops both
            // (the chat deployments it bridges to take neither). Items
            // without content (`item_reference`, ...) are dropped as
            // LiteLLM drops them.
            ItemKind::Skip
        } else if self.str(I_ROLE).is_some_and(|r| r.is("assistant")) {
            ItemKind::Assistant
        } else {
            ItemKind::Message
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ItemKind {
    Message,
    Assistant,
    Call,
    Output,
    Skip,
}

fn parse_items<'a>(
    p: &mut Strict<'a>,
    items: &mut Vec<Item<'a>>,
    parts: &mut Vec<ContentPart<'a>>,
) -> Res<()> {
    let mut first = true;
    while p.elem(&mut first)? {
        if !p.begin_object()? {
            p.value()?;
            return invalid(format!(
                "input.{}: Input should be a valid dictionary",
                items.len()
            ));
        }
        let mut it = Item {
            f: [None; 10],
            parts: None,
        };
        let mut f = true;
        while let Some(k) = p.key(&mut f)? {
            if k.0 == b"content" {
                let (v, range) = p.array_parts(&PART_KEYS, parts)?;
                it.f[I_CONTENT] = Some(v).filter(|v| !v.is_null());
                it.parts = range;
                continue;
            }
            let v = p.value()?;
            if let Some(slot) = ITEM_KEYS.iter().position(|key| k.is(key)) {
                it.f[slot] = Some(v).filter(|v| !v.is_null());
            }
        }
        items.push(it);
    }
    Ok(())
}

/// The chat content-part type for a Responses one (LiteLLM's
/// `_get_chat_completion_request_content_type`).
fn chat_part_type(ty: Option<Str<'_>>) -> &'static str {
    const VALID: [&str; 12] = [
        "text",
        "image_url",
        "input_audio",
        "audio_url",
        "document",
        "guarded_text",
        "grounding_source",
        "query",
        "video_url",
        "file",
        "thinking",
        "redacted_thinking",
    ];
    let Some(ty) = ty.and_then(Str::decoded) else {
        return "text";
    };
    let find = |s: &[u8]| VALID.iter().copied().find(|v| v.as_bytes() == s);
    if let Some(rest) = ty.strip_prefix(b"input_") {
        return match find(rest) {
            Some(v) => v,
            None if rest == b"audio" => "input_audio",
            None => "text",
        };
    }
    if &*ty == b"tool_result" || &*ty == b"output_text" {
        return "text";
    }
    find(&ty).unwrap_or("text")
}

/// Writes one converted content part (LiteLLM's
/// `_transform_responses_api_content_to_chat_completion_content`, per
/// element); nothing for the parts it skips.
fn write_part(out: &mut Vec<u8>, k: &mut usize, p: &ContentPart<'_>) {
    if p.all.str().is_some() {
        comma(out, k);
        out.extend_from_slice(p.all.0);
        return;
    }
    if !p.all.is_obj() {
        return;
    }
    let ty = p.str(P_TYPE);
    let cache = |out: &mut Vec<u8>| {
        if let Some(c) = p.val(P_CACHE) {
            out.extend_from_slice(b",\"cache_control\":");
            out.extend_from_slice(c.0);
        }
    };
    if ty.is_some_and(|t| t.is("input_file")) {
        comma(out, k);
        out.extend_from_slice(b"{\"type\":\"file\",\"file\":{");
        let mut n = 0;
        let id = truthy(p.val(P_FILE_ID)).or(truthy(p.val(P_FILE_URL)));
        for (key, v) in [
            (&b"\"file_id\":"[..], id),
            (b"\"file_data\":", truthy(p.val(P_FILE_DATA))),
            (b"\"filename\":", truthy(p.val(P_FILENAME))),
        ] {
            if let Some(v) = v {
                comma(out, &mut n);
                out.extend_from_slice(key);
                out.extend_from_slice(v.0);
            }
        }
        out.push(b'}');
        cache(out);
        out.push(b'}');
    } else if ty.is_some_and(|t| t.is("input_image")) {
        // LiteLLM reads only `image_url` (an image given by `file_id` gets
        // an empty URL there too) and defaults `detail` to "auto".
        comma(out, k);
        out.extend_from_slice(b"{\"type\":\"image_url\",\"image_url\":{\"url\":");
        match truthy(p.val(P_IMAGE_URL)) {
            Some(u) => out.extend_from_slice(u.0),
            None => out.extend_from_slice(b"\"\""),
        }
        out.extend_from_slice(b",\"detail\":");
        match truthy(p.val(P_DETAIL)) {
            Some(d) => out.extend_from_slice(d.0),
            None => out.extend_from_slice(b"\"auto\""),
        }
        out.push(b'}');
        cache(out);
        out.push(b'}');
    } else if ty.is_some_and(|t| t.is("encrypted_content")) {
        if let Some(e) = p.str(P_ENCRYPTED) {
            comma(out, k);
            out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
            push_raw(out, e);
            out.push(b'}');
        }
    } else if let Some(text) = p.val(P_TEXT) {
        comma(out, k);
        out.extend_from_slice(b"{\"type\":\"");
        out.extend_from_slice(chat_part_type(ty).as_bytes());
        out.extend_from_slice(b"\",\"text\":");
        out.extend_from_slice(text.0);
        cache(out);
        out.push(b'}');
    }
}

/// A message item's `content` as chat content: a string as it is, a list
/// part by part.
fn write_content(out: &mut Vec<u8>, it: &Item<'_>, parts: &[ContentPart<'_>]) -> Res<()> {
    let Some(c) = it.f[I_CONTENT] else {
        out.extend_from_slice(b"\"\"");
        return Ok(());
    };
    if c.str().is_some() {
        out.extend_from_slice(c.0);
    } else if c.is_arr() {
        out.push(b'[');
        let mut k = 0;
        for p in slice(parts, it.parts) {
            write_part(out, &mut k, p);
        }
        out.push(b']');
    } else {
        return invalid("Invalid content type: input message content must be a string or a list");
    }
    Ok(())
}

/// A `function_call` / `custom_tool_call` item as a chat tool call
/// (LiteLLM's `_transform_responses_api_function_call_to_chat_completion_message`).
/// Not LiteLLM: its tool calls also carry `"index":0`, which a strict
/// OpenAI-compatible upstream rejects in a request; it is left out.
fn write_tool_call(out: &mut Vec<u8>, it: &Item<'_>) {
    let custom = it.str(I_TYPE).is_some_and(|t| t.is("custom_tool_call"));
    out.extend_from_slice(b"{\"id\":");
    match nonempty_str(it.f[I_CALL_ID]).or(nonempty_str(it.f[I_ID])) {
        Some(id) => push_raw(out, id),
        None => out.extend_from_slice(b"\"\""),
    }
    out.extend_from_slice(b",\"type\":\"function\",\"function\":{\"name\":\"");
    if let Some(ns) = nonempty_str(it.f[I_NS]).filter(|_| !custom) {
        out.extend_from_slice(ns.0);
        out.extend_from_slice(b"__");
    }
    if let Some(name) = it.str(I_NAME) {
        out.extend_from_slice(name.0);
    }
    out.extend_from_slice(b"\",\"arguments\":");
    match truthy(it.f[I_ARGS]) {
        Some(a) if a.str().is_some() => out.extend_from_slice(a.0),
        Some(a) => push_dumped(out, a),
        None => match nonempty_str(it.f[I_INPUT]).filter(|_| custom) {
            // A custom tool's raw `input` rides as `{"content": input}`,
            // the schema the custom tool was declared with.
            Some(input) => {
                let mut json = Vec::with_capacity(input.0.len() + 16);
                json.extend_from_slice(b"{\"content\": \"");
                json.extend_from_slice(input.0);
                json.extend_from_slice(b"\"}");
                push_quoted(out, &json);
            }
            None => out.extend_from_slice(b"\"\""),
        },
    }
    out.extend_from_slice(b"}}");
}

/// `function_call_output.output` as tool message content (LiteLLM's
/// `_normalize_function_call_output_to_tool_content`): a string as it is; a
/// list of parts as text/image blocks when it holds an image, else its
/// texts joined; anything else JSON-dumped into a string.
fn write_tool_output_content(out: &mut Vec<u8>, output: Option<Val<'_>>) {
    let Some(o) = output else {
        out.extend_from_slice(b"\"\"");
        return;
    };
    if o.str().is_some() {
        out.extend_from_slice(o.0);
        return;
    }
    if !o.is_arr() {
        push_dumped(out, o);
        return;
    }
    enum Block<'a> {
        Text(Str<'a>),
        Image(Str<'a>),
    }
    fn block(part: Val<'_>) -> Option<Block<'_>> {
        let [ty, text, image_url, url] = part.fields(&["type", "text", "image_url", "url"]);
        let ty = ty.and_then(Val::str);
        if is_one_of(ty, &["input_text", "output_text", "text"]) {
            return nonempty_str(text).map(Block::Text);
        }
        if is_one_of(ty, &["input_image", "image_url"]) {
            let u = truthy(image_url).or(truthy(url))?;
            let u = if u.is_obj() { u.get("url") } else { Some(u) };
            return nonempty_str(u).map(Block::Image);
        }
        None
    }
    let blocks = || o.elems().filter(|p| p.is_obj()).filter_map(block);
    if blocks().any(|b| matches!(b, Block::Image(_))) {
        out.push(b'[');
        let mut k = 0;
        for b in blocks() {
            comma(out, &mut k);
            match b {
                Block::Text(t) => {
                    out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
                    push_raw(out, t);
                    out.push(b'}');
                }
                Block::Image(u) => {
                    out.extend_from_slice(b"{\"type\":\"image_url\",\"image_url\":{\"url\":");
                    push_raw(out, u);
                    out.extend_from_slice(b"}}");
                }
            }
        }
        out.push(b']');
    } else if blocks().next().is_some() {
        // Escaped bodies concatenate into the escaped concatenation.
        out.push(b'"');
        for b in blocks() {
            if let Block::Text(t) = b {
                out.extend_from_slice(t.0);
            }
        }
        out.push(b'"');
    } else {
        push_dumped(out, o);
    }
}

/// Writes the chat `messages` array body for the `input` items.
///
/// LiteLLM's grouping (`_transform_response_input_param_to_chat_completion_message`):
/// a function call joins the assistant message just before it (consecutive
/// calls become one assistant message with several `tool_calls`, as
/// Anthropic requires), and an assistant message that follows an assistant
/// message carrying tool calls is merged into it (`_merged_trailing_assistant_message`).
/// Everything else is its own message, in order.
fn write_items(
    out: &mut Vec<u8>,
    n: &mut usize,
    items: &[Item<'_>],
    parts: &[ContentPart<'_>],
) -> Res<()> {
    // The open assistant message: the items it is made of.
    let mut group: Vec<&Item<'_>> = Vec::new();
    for it in items {
        match it.kind() {
            ItemKind::Skip => {}
            ItemKind::Call => group.push(it),
            ItemKind::Assistant => {
                let has_calls = group.iter().any(|g| g.kind() == ItemKind::Call);
                if !has_calls {
                    flush_assistant(out, n, &mut group, parts)?;
                }
                group.push(it);
            }
            ItemKind::Output => {
                flush_assistant(out, n, &mut group, parts)?;
                // A tool result without a call id cannot be paired: LiteLLM
                // drops it.
                let Some(id) = truthy(it.f[I_CALL_ID]) else {
                    continue;
                };
                comma(out, n);
                out.extend_from_slice(b"{\"role\":\"tool\",\"content\":");
                write_tool_output_content(out, it.f[I_OUTPUT]);
                out.extend_from_slice(b",\"tool_call_id\":");
                if id.str().is_some() {
                    out.extend_from_slice(id.0);
                } else {
                    push_dumped(out, id);
                }
                out.push(b'}');
            }
            ItemKind::Message => {
                flush_assistant(out, n, &mut group, parts)?;
                comma(out, n);
                out.extend_from_slice(b"{\"role\":");
                match it.str(I_ROLE).filter(|r| !r.is_empty()) {
                    Some(r) => push_raw(out, r),
                    None => out.extend_from_slice(b"\"user\""),
                }
                out.extend_from_slice(b",\"content\":");
                write_content(out, it, parts)?;
                out.push(b'}');
            }
        }
    }
    flush_assistant(out, n, &mut group, parts)
}

/// Writes the open assistant message, if any: its content (one message's
/// as it is; several merged into one list of parts) and its tool calls.
fn flush_assistant(
    out: &mut Vec<u8>,
    n: &mut usize,
    group: &mut Vec<&Item<'_>>,
    parts: &[ContentPart<'_>],
) -> Res<()> {
    if group.is_empty() {
        return Ok(());
    }
    comma(out, n);
    out.extend_from_slice(b"{\"role\":\"assistant\",\"content\":");
    let texts = || group.iter().filter(|g| g.kind() == ItemKind::Assistant);
    match (texts().next(), texts().nth(1)) {
        (None, _) => out.extend_from_slice(b"null"),
        (Some(only), None) => write_content(out, only, parts)?,
        _ => {
            out.push(b'[');
            let mut k = 0;
            for g in texts() {
                match g.f[I_CONTENT] {
                    Some(c) if c.str().is_some() => {
                        comma(out, &mut k);
                        out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
                        out.extend_from_slice(c.0);
                        out.push(b'}');
                    }
                    Some(c) if c.is_arr() => {
                        for p in slice(parts, g.parts) {
                            write_part(out, &mut k, p);
                        }
                    }
                    _ => return invalid(
                        "Invalid content type: input message content must be a string or a list",
                    ),
                }
            }
            out.push(b']');
        }
    }
    if group.iter().any(|g| g.kind() == ItemKind::Call) {
        out.extend_from_slice(b",\"tool_calls\":[");
        let mut k = 0;
        for g in group.iter().filter(|g| g.kind() == ItemKind::Call) {
            comma(out, &mut k);
            write_tool_call(out, g);
        }
        out.push(b']');
    }
    out.push(b'}');
    group.clear();
    Ok(())
}

/// Raw escaped pieces of one JSON string body (a description assembled
/// from a namespace's and a tool's).
type Pieces<'a> = [&'a [u8]; 3];

/// Writes one chat function tool (LiteLLM's `_responses_tool_to_chat_form`
/// for `function`, `_build_ns_chat_tool` for namespace members): missing
/// `parameters` become `{"type":"object"}` and a schema without `type` gets
/// `"type":"object"`, `description` defaults to "", `strict` to false.
fn write_function_tool(
    out: &mut Vec<u8>,
    k: &mut usize,
    t: &[Option<Val<'_>>; 14],
    prefix: Option<Str<'_>>,
    description: Pieces<'_>,
) -> Res<()> {
    comma(out, k);
    out.extend_from_slice(b"{\"type\":\"function\",\"function\":{\"name\":\"");
    if let Some(p) = prefix {
        out.extend_from_slice(p.0);
        out.extend_from_slice(b"__");
    }
    if let Some(name) = t[T_NAME].and_then(Val::str) {
        out.extend_from_slice(name.0);
    }
    out.extend_from_slice(b"\",\"description\":\"");
    for p in description {
        out.extend_from_slice(p);
    }
    out.extend_from_slice(b"\",\"parameters\":");
    match truthy(t[T_PARAMS]) {
        None => out.extend_from_slice(b"{\"type\":\"object\"}"),
        Some(p) if p.is_obj() => {
            if p.get("type").is_some() {
                out.extend_from_slice(p.0);
            } else {
                out.extend_from_slice(b"{\"type\":\"object\",");
                out.extend_from_slice(p.0.get(1..).unwrap_or_default());
            }
        }
        Some(_) => return invalid("tools: 'parameters' should be a valid dictionary"),
    }
    out.extend_from_slice(if t[T_STRICT].and_then(Val::bool) == Some(true) {
        b",\"strict\":true}"
    } else {
        b",\"strict\":false}"
    });
    for (i, key) in T_EXTRAS.zip(&TOOL_KEYS[T_EXTRAS]) {
        let v = if i == 9 { t[i] } else { truthy(t[i]) };
        if let Some(v) = v {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"\":");
            out.extend_from_slice(v.0);
        }
    }
    out.push(b'}');
    Ok(())
}

/// Writes a Responses `custom` (free-form) tool as a function tool taking
/// one string, `content`; the grammar, if any, is appended to the
/// description (LiteLLM's `convert_custom_tool_to_function_tool`).
fn write_custom_tool(
    out: &mut Vec<u8>,
    k: &mut usize,
    t: &[Option<Val<'_>>; 14],
    description: Pieces<'_>,
) {
    comma(out, k);
    let name = t[T_NAME].and_then(Val::str).map_or(&b""[..], |s| s.0);
    out.extend_from_slice(b"{\"type\":\"function\",\"function\":{\"name\":\"");
    out.extend_from_slice(name);
    out.extend_from_slice(b"\",\"description\":\"");
    for p in description {
        out.extend_from_slice(p);
    }
    if let Some(f) = t[T_FORMAT].filter(|f| f.is_obj()) {
        let [syntax, definition] = f.fields(&["syntax", "definition"]);
        let (syntax, definition) = (
            syntax.map_or(Some(Str(b"")), Val::str),
            definition.map_or(Some(Str(b"")), Val::str),
        );
        if let (Some(s), Some(d)) = (syntax, definition.filter(|d| !d.is_empty())) {
            out.extend_from_slice(b"\\n\\nFormat:\\n```");
            out.extend_from_slice(s.0);
            out.extend_from_slice(b"\\n");
            out.extend_from_slice(d.0);
            out.extend_from_slice(b"\\n```");
        }
    }
    out.extend_from_slice(b"\",\"parameters\":{\"type\":\"object\",\"properties\":{\"content\":{\"type\":\"string\",\"description\":\"The ");
    out.extend_from_slice(name);
    out.extend_from_slice(
        b" content following the specified format\"}},\"required\":[\"content\"]}}",
    );
    if let Some(a) = truthy(t[7]) {
        out.extend_from_slice(b",\"allowed_callers\":");
        out.extend_from_slice(a.0);
    }
    out.push(b'}');
}

/// Tool types LiteLLM drops with a warning: no chat equivalent.
const DROPPED_TOOLS: [&str; 5] = [
    "computer_use",
    "image_generation",
    "local_shell",
    "shell",
    "tool_search",
];

/// Writes `,"tools":[...]` (nothing when no tool maps to a chat tool) and
/// returns how many were written and the last `web_search` tool, which
/// becomes `web_search_options` (LiteLLM's
/// `transform_responses_api_tools_to_chat_completion_tools`).
fn write_tools<'a>(out: &mut Vec<u8>, tools: &[Tool<'a>]) -> Res<(usize, Option<Tool<'a>>)> {
    let mark = out.len();
    out.extend_from_slice(b",\"tools\":[");
    let mut k = 0;
    let mut web_search = None;
    for (i, t) in tools.iter().enumerate() {
        if !t.all.is_obj() {
            return invalid(format!("tools.{i}: Input should be a valid dictionary"));
        }
        let ty = t.str(T_TYPE);
        let desc = t.str(T_DESC).map_or(&b""[..], |d| d.0);
        if ty.is_some_and(|t| t.is("function")) {
            write_function_tool(out, &mut k, &t.f, None, [desc, b"", b""])?;
        } else if ty.is_some_and(|t| t.is("custom")) {
            write_custom_tool(out, &mut k, &t.f, [desc, b"", b""]);
        } else if ty.is_some_and(|t| t.is("namespace")) {
            write_namespace(out, &mut k, t)?;
        } else if is_one_of(ty, &["web_search", "web_search_preview"]) {
            web_search = Some(*t);
        } else if !is_one_of(ty, &DROPPED_TOOLS) {
            // Not LiteLLM: it forwards other tools (`mcp`, `file_search`,
            // `code_interpreter`, ...) untouched to the chat provider, which
            // then rejects them; Ringway says so up front.
            let name = ty
                .and_then(Str::decoded)
                .map(|d| String::from_utf8_lossy(&d).into_owned())
                .unwrap_or_else(|| "<missing>".to_owned());
            return invalid(format!(
                "tools.{i}: tool type '{name}' is not supported when the model is served through the chat completions API; only 'function', 'custom', 'namespace' and 'web_search' tools are"
            ));
        }
    }
    if k == 0 {
        out.truncate(mark);
    } else {
        out.push(b']');
    }
    Ok((k, web_search))
}

/// A `namespace` tool: its member function/custom tools flattened to
/// `<namespace>__<name>` (custom tools keep their name), the namespace's
/// description prepended to each member's (LiteLLM's `_namespace_chat_tools`).
fn write_namespace(out: &mut Vec<u8>, k: &mut usize, t: &Tool<'_>) -> Res<()> {
    let ns = t.str(T_NAME).unwrap_or(Str(b""));
    let ns_desc = t.str(T_DESC).map_or(&b""[..], |d| d.0);
    let Some(members) = t.val(T_TOOLS).filter(|v| v.is_arr()) else {
        // No member list: the namespace itself is the tool.
        return write_function_tool(out, k, &t.f, None, [ns_desc, b"", b""]);
    };
    for m in members.elems().filter(|m| m.is_obj()) {
        let f = m.fields(&TOOL_KEYS);
        let ty = f[T_TYPE].and_then(Val::str);
        let desc = f[T_DESC].and_then(Val::str).map_or(&b""[..], |d| d.0);
        let pieces: Pieces<'_> = match (ns_desc.is_empty(), desc.is_empty()) {
            (false, false) => [ns_desc, b"\\n\\n", desc],
            (false, true) => [ns_desc, b"", b""],
            _ => [desc, b"", b""],
        };
        if ty.is_some_and(|t| t.is("function")) {
            write_function_tool(out, k, &f, Some(ns), pieces)?;
        } else if ty.is_some_and(|t| t.is("custom")) {
            write_custom_tool(out, k, &f, pieces);
        }
    }
    Ok(())
}

/// `tool_choice` in chat terms (LiteLLM's `_transform_tool_choice`).
fn write_tool_choice(out: &mut Vec<u8>, tc: Val<'_>) {
    out.extend_from_slice(b",\"tool_choice\":");
    if !tc.is_obj() {
        out.extend_from_slice(tc.0);
        return;
    }
    let [ty, name, function, custom] = tc.fields(&["type", "name", "function", "custom"]);
    if nonempty_str(function.and_then(|f| f.get("name"))).is_some() {
        out.extend_from_slice(tc.0);
        return;
    }
    let ty = ty.and_then(Val::str);
    let named = |out: &mut Vec<u8>, n: Option<Str<'_>>| match n {
        Some(n) => {
            out.extend_from_slice(b"{\"type\":\"function\",\"function\":{\"name\":");
            push_raw(out, n);
            out.extend_from_slice(b"}}");
        }
        None => out.extend_from_slice(b"\"required\""),
    };
    if is_one_of(ty, &["auto"]) {
        out.extend_from_slice(b"\"auto\"");
    } else if is_one_of(ty, &["none"]) {
        out.extend_from_slice(b"\"none\"");
    } else if is_one_of(ty, &["required", "tool", "any"]) {
        out.extend_from_slice(b"\"required\"");
    } else if is_one_of(ty, &["function"]) {
        named(out, nonempty_str(name));
    } else if is_one_of(ty, &["custom"]) {
        named(
            out,
            nonempty_str(name).or(nonempty_str(custom.and_then(|c| c.get("name")))),
        );
    } else {
        out.extend_from_slice(tc.0);
    }
}

/// `text.format` as `response_format` (LiteLLM's
/// `_transform_text_format_to_response_format`).
fn write_response_format(out: &mut Vec<u8>, text: Val<'_>) {
    let Some(f) = text.get("format").filter(|f| f.is_obj()) else {
        return;
    };
    let [ty, name, schema, strict] = f.fields(&["type", "name", "schema", "strict"]);
    let ty = ty.and_then(Val::str);
    if is_one_of(ty, &["json_schema"]) {
        out.extend_from_slice(
            b",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":",
        );
        out.extend_from_slice(name.map_or(&b"\"response_schema\""[..], |v| v.0));
        out.extend_from_slice(b",\"schema\":");
        out.extend_from_slice(schema.map_or(&b"{}"[..], |v| v.0));
        out.extend_from_slice(b",\"strict\":");
        out.extend_from_slice(strict.map_or(&b"false"[..], |v| v.0));
        out.extend_from_slice(b"}}");
    } else if is_one_of(ty, &["json_object"]) {
        out.extend_from_slice(b",\"response_format\":{\"type\":\"json_object\"}");
    }
}

/// The top-level request members the translation uses.
#[derive(Default)]
struct RespReq<'a> {
    input: Option<Val<'a>>,
    input_items: bool,
    instructions: Option<Val<'a>>,
    tools: Option<(usize, usize)>,
    tool_choice: Option<Val<'a>>,
    parallel_tool_calls: Option<Val<'a>>,
    max_output_tokens: Option<Val<'a>>,
    temperature: Option<Val<'a>>,
    top_p: Option<Val<'a>>,
    user: Option<Val<'a>>,
    stream: bool,
    text: Option<Val<'a>>,
    reasoning: Option<Val<'a>>,
    previous_response_id: Option<Val<'a>>,
}

/// Translates a Responses API request body into a chat completions body
/// for `upstream_model`, appended to `out` (LiteLLM's
/// `transform_responses_api_request_to_chat_completion_request`).
///
/// Mapped: `instructions` -> a leading system message; `input` as a string
/// -> one user message; input items: messages (`type:"message"` or no type
/// with a role; content a string or `input_text` / `output_text` /
/// `input_image` / `input_file` parts), `function_call` /
/// `custom_tool_call` -> assistant `tool_calls` (grouped as LiteLLM groups
/// them), `function_call_output` (and the other `*_output` kinds) -> `tool`
/// messages; `tools` (function, custom, namespace; `web_search` ->
/// `web_search_options`; computer/image/shell tools dropped as LiteLLM
/// drops them); `tool_choice`, `parallel_tool_calls` (both only with
/// tools); `max_output_tokens` -> `max_tokens`; `temperature`, `top_p`,
/// `user`; `stream` (+ `stream_options.include_usage`, so usage reaches
/// `response.completed`); `text.format` -> `response_format`;
/// `reasoning.effort` -> `reasoning_effort`.
///
/// Dropped: `reasoning` and `web_search_call` input items, `metadata`
/// (LiteLLM's chat request takes `metadata` from its own call arguments, the
/// proxy's logging metadata, never the client's), `reasoning.summary`
/// (only sent when LiteLLM bridges back to the Responses API),
/// `store`, `truncation`, `include`, `service_tier`, `safety_identifier`,
/// `context_management` and any other key.
///
/// Refused: `previous_response_id` (LiteLLM rebuilds the conversation from
/// its spend-log database; Ringway keeps no response store).
pub fn responses_to_chat_request(
    body: &[u8],
    upstream_model: &str,
    out: &mut Vec<u8>,
) -> Result<ReqInfo, TranslateError> {
    rollback_on_err(out, |out| {
        responses_to_chat_request_inner(body, upstream_model, out)
    })
}

fn responses_to_chat_request_inner(
    body: &[u8],
    upstream_model: &str,
    out: &mut Vec<u8>,
) -> Res<ReqInfo> {
    let mut req = RespReq::default();
    let mut items: Vec<Item<'_>> = Vec::new();
    let mut parts: Vec<ContentPart<'_>> = Vec::new();
    let mut tools: Vec<Tool<'_>> = Vec::new();
    read_root(body, |p, k| {
        if k.0 == b"input" && p.peek() == Some(b'[') {
            p.begin_array()?;
            items.clear();
            parse_items(p, &mut items, &mut parts)?;
            req.input_items = true;
            req.input = Some(Val(b"[]"));
            return Ok(());
        }
        if k.0 == b"tools" {
            tools.clear();
            let (_, range) = p.array_parts(&TOOL_KEYS, &mut tools)?;
            req.tools = range;
            return Ok(());
        }
        let v = p.value()?;
        let v = Some(v).filter(|v| !v.is_null());
        match k.0 {
            b"input" => {
                req.input = v;
                req.input_items = false;
            }
            b"instructions" => req.instructions = v,
            b"tool_choice" => req.tool_choice = v,
            b"parallel_tool_calls" => req.parallel_tool_calls = v,
            b"max_output_tokens" => req.max_output_tokens = v,
            b"temperature" => req.temperature = v,
            b"top_p" => req.top_p = v,
            b"user" => req.user = v,
            b"stream" => req.stream = v.and_then(Val::bool) == Some(true),
            b"text" => req.text = v.filter(|t| t.is_obj()),
            b"reasoning" => req.reasoning = v,
            b"previous_response_id" => req.previous_response_id = truthy(v),
            _ => {}
        }
        Ok(())
    })?;
    if req.previous_response_id.is_some() {
        return invalid(
            "previous_response_id is not supported for this model: it is served through the chat completions API and this proxy keeps no response history. Send the whole conversation in 'input' instead.",
        );
    }
    let Some(input) = req.input else {
        return Err(TranslateError::Missing("input"));
    };

    out.extend_from_slice(b"{\"model\":");
    push_quoted(out, upstream_model.as_bytes());
    out.extend_from_slice(b",\"messages\":[");
    let mut n = 0;
    if let Some(i) = truthy(req.instructions) {
        comma(out, &mut n);
        out.extend_from_slice(b"{\"role\":\"system\",\"content\":");
        out.extend_from_slice(i.0);
        out.push(b'}');
    }
    if req.input_items {
        write_items(out, &mut n, &items, &parts)?;
    } else if input.str().is_some() {
        comma(out, &mut n);
        out.extend_from_slice(b"{\"role\":\"user\",\"content\":");
        out.extend_from_slice(input.0);
        out.push(b'}');
    } else {
        return invalid("input: Input should be a valid string or a valid list of input items");
    }
    out.push(b']');

    let (n_tools, web_search) = write_tools(out, slice(&tools, req.tools))?;
    if n_tools > 0 {
        if let Some(tc) = req.tool_choice {
            write_tool_choice(out, tc);
        }
        if let Some(p) = req.parallel_tool_calls {
            out.extend_from_slice(b",\"parallel_tool_calls\":");
            out.extend_from_slice(p.0);
        }
    }
    for (key, v) in [
        (&b",\"top_p\":"[..], req.top_p),
        (b",\"user\":", req.user),
        (b",\"temperature\":", req.temperature),
        (b",\"max_tokens\":", req.max_output_tokens),
    ] {
        if let Some(v) = v {
            out.extend_from_slice(key);
            out.extend_from_slice(v.0);
        }
    }
    if req.stream {
        out.extend_from_slice(b",\"stream\":true,\"stream_options\":{\"include_usage\":true}");
    }
    if let Some(ws) = web_search {
        // LiteLLM passes both keys (null when unset); only set ones go here.
        out.extend_from_slice(b",\"web_search_options\":{");
        let mut k = 0;
        for (key, v) in [
            (&b"\"search_context_size\":"[..], ws.val(T_CONTEXT_SIZE)),
            (b"\"user_location\":", truthy(ws.val(T_LOCATION))),
        ] {
            if let Some(v) = v {
                comma(out, &mut k);
                out.extend_from_slice(key);
                out.extend_from_slice(v.0);
            }
        }
        out.push(b'}');
    }
    if let Some(t) = req.text {
        write_response_format(out, t);
    }
    let effort = match req.reasoning {
        Some(r) if r.is_obj() => r.get("effort").filter(|e| !e.is_null()),
        Some(r) => truthy(Some(r)),
        None => None,
    };
    if let Some(e) = effort {
        out.extend_from_slice(b",\"reasoning_effort\":");
        out.extend_from_slice(e.0);
    }
    out.push(b'}');
    Ok(ReqInfo {
        stream: req.stream,
        include_usage: req.stream,
    })
}

// ---------------------------------------------------------------------------
// The response object: echo fields, usage, output items
// ---------------------------------------------------------------------------

/// Request members a response echoes back, kept only when they have the
/// type LiteLLM's `_EchoedResponsesRequestParams` accepts (LiteLLM drops an
/// ill-typed one rather than failing).
const ECHO_KEYS: [&str; 14] = [
    "instructions",
    "metadata",
    "parallel_tool_calls",
    "temperature",
    "tool_choice",
    "tools",
    "top_p",
    "max_output_tokens",
    "previous_response_id",
    "reasoning",
    "text",
    "truncation",
    "user",
    "store",
];
const E_INSTRUCTIONS: usize = 0;
const E_METADATA: usize = 1;
const E_PARALLEL: usize = 2;
const E_TEMPERATURE: usize = 3;
const E_TOOL_CHOICE: usize = 4;
const E_TOOLS: usize = 5;
const E_TOP_P: usize = 6;
const E_MAX_OUTPUT: usize = 7;
const E_PREVIOUS: usize = 8;
const E_REASONING: usize = 9;
const E_TEXT: usize = 10;
const E_TRUNCATION: usize = 11;
const E_USER: usize = 12;
const E_STORE: usize = 13;

type Echo<'a> = [Option<Val<'a>>; 14];

/// The echoable members of a Responses request (all absent when the body
/// is empty or not a JSON object).
fn read_echo(request: &[u8]) -> Echo<'_> {
    let Ok(root) = parse_root(request) else {
        return [None; 14];
    };
    let mut e = root.fields(&ECHO_KEYS);
    let keep = |v: Val<'_>, i: usize| match i {
        E_INSTRUCTIONS | E_PREVIOUS | E_USER => v.str().is_some(),
        E_METADATA | E_REASONING | E_TEXT => v.is_obj(),
        E_PARALLEL | E_STORE => v.bool().is_some(),
        E_TEMPERATURE | E_TOP_P => v.is_num(),
        E_MAX_OUTPUT => v.is_num() && !v.0.iter().any(|c| matches!(c, b'.' | b'e' | b'E')),
        E_TOOLS => v.is_arr(),
        E_TRUNCATION => v.str().is_some_and(|s| s.is("auto") || s.is("disabled")),
        _ => true,
    };
    for (i, slot) in e.iter_mut().enumerate() {
        *slot = slot.filter(|v| keep(*v, i));
    }
    e
}

/// Names of the request's `custom` tools (top level and in namespaces):
/// calls to them come back as `custom_tool_call` items.
fn is_custom_tool(tools: Option<Val<'_>>, name: &[u8]) -> bool {
    let custom = |t: Val<'_>| {
        let [ty, n] = t.fields(&["type", "name"]);
        ty.and_then(Val::str).is_some_and(|t| t.is("custom"))
            && n.and_then(Val::str).is_some_and(|n| n.0 == name)
    };
    tools.into_iter().flat_map(Val::elems).any(|t| {
        custom(t)
            || t.get_str("type").is_some_and(|ty| ty.is("namespace"))
                && t.get("tools").into_iter().flat_map(Val::elems).any(custom)
    })
}

/// For a chat tool name `<namespace>__<name>` made from a namespace member
/// function, the namespace and the member's own name (LiteLLM's
/// `namespace_tool_name_map` / `_restore_namespace_tool_name`).
fn namespace_of<'a>(tools: Option<Val<'a>>, name: &[u8]) -> Option<(Str<'a>, Str<'a>)> {
    for t in tools.into_iter().flat_map(Val::elems) {
        let [ty, ns, members] = t.fields(&["type", "name", "tools"]);
        let (Some(ns), true) = (
            ns.and_then(Val::str),
            ty.and_then(Val::str).is_some_and(|t| t.is("namespace")),
        ) else {
            continue;
        };
        let Some(rest) = name.strip_prefix(ns.0).and_then(|r| r.strip_prefix(b"__")) else {
            continue;
        };
        for m in members.into_iter().flat_map(Val::elems) {
            let [mty, mname] = m.fields(&["type", "name"]);
            if mty.and_then(Val::str).is_some_and(|t| t.is("function")) {
                if let Some(mn) = mname.and_then(Val::str).filter(|n| n.0 == rest) {
                    return Some((ns, mn));
                }
            }
        }
    }
    None
}

/// Token counts as the Responses `usage` object reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Usage {
    input: u64,
    output: u64,
    total: u64,
    cached: u64,
    reasoning: u64,
    cache_creation: u64,
}

impl Usage {
    fn read(u: Val<'_>) -> Usage {
        let count = |v: Option<Val<'_>>| v.map_or(0, Val::count);
        let [prompt, completion, total, pd, cd, cache_read, cache_creation] = u.fields(&[
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
            "prompt_tokens_details",
            "completion_tokens_details",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
        ]);
        let [cached, pd_creation] = pd.map_or([None; 2], |d| {
            d.fields(&["cached_tokens", "cache_creation_tokens"])
        });
        let (input, output) = (count(prompt), count(completion));
        Usage {
            input,
            output,
            total: total.map_or(input + output, Val::count),
            cached: count(cached).max(count(cache_read)),
            reasoning: count(cd.and_then(|d| d.get("reasoning_tokens"))),
            cache_creation: count(pd_creation).max(count(cache_creation)),
        }
    }

    fn tokens(self) -> TokenUsage {
        TokenUsage {
            prompt_tokens: self.input,
            completion_tokens: self.output,
            cache_read_tokens: self.cached,
            cache_creation_tokens: self.cache_creation,
        }
    }

    /// LiteLLM's `transform_chat_completion_usage_to_responses_usage`. Not
    /// LiteLLM: it writes `input_tokens_details` / `output_tokens_details`
    /// as null when the chat usage had no details (and adds a null `cost`);
    /// Ringway always writes both, with zeros, as OpenAI does (the OpenAI
    /// SDKs require them).
    fn push(self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"input_tokens\":");
        push_u64(out, self.input);
        out.extend_from_slice(b",\"input_tokens_details\":{\"cached_tokens\":");
        push_u64(out, self.cached);
        out.extend_from_slice(b"},\"output_tokens\":");
        push_u64(out, self.output);
        out.extend_from_slice(b",\"output_tokens_details\":{\"reasoning_tokens\":");
        push_u64(out, self.reasoning);
        out.extend_from_slice(b"},\"total_tokens\":");
        push_u64(out, self.total);
        out.push(b'}');
    }
}

/// The Responses status for a chat `finish_reason` (LiteLLM's
/// `_map_chat_completion_finish_reason_to_responses_status`) and the
/// `incomplete_details.reason` (`_incomplete_details_for_finish_reason`).
fn status_of(finish: Option<Str<'_>>) -> (&'static [u8], Option<&'static [u8]>) {
    match finish {
        None => (b"incomplete", None),
        Some(f) if f.is("length") => (b"incomplete", Some(b"max_output_tokens")),
        Some(f) if f.is("content_filter") || f.is("refusal") => {
            (b"incomplete", Some(b"content_filter"))
        }
        Some(_) => (b"completed", None),
    }
}

/// LiteLLM's response id: `resp_` + base64 of
/// `litellm:custom_llm_provider:{provider};model_id:{model id};response_id:{chat id}`
/// (`ResponsesAPIRequestUtils._build_responses_api_response_id`). The
/// translator does not know the deployment, so both read `None`, as in
/// LiteLLM for a deployment without them.
fn push_response_id(out: &mut Vec<u8>, chat_id: &[u8]) {
    let mut plain = Vec::with_capacity(chat_id.len() + 64);
    plain.extend_from_slice(b"litellm:custom_llm_provider:None;model_id:None;response_id:");
    plain.extend_from_slice(chat_id);
    out.extend_from_slice(b"\"resp_");
    out.extend_from_slice(
        base64::engine::general_purpose::STANDARD
            .encode(&plain)
            .as_bytes(),
    );
    out.push(b'"');
}

/// Item ids: LiteLLM's `openai_shaped_tool_call_item_id` (`fc_<call id>`,
/// `ctc_<call id>` unless the call id already starts with the prefix).
fn push_call_item_id(out: &mut Vec<u8>, custom: bool, call_id: &[u8]) {
    let prefix: &[u8] = if custom { b"ctc" } else { b"fc" };
    out.push(b'"');
    if !call_id.is_empty() && !call_id.starts_with(prefix) {
        out.extend_from_slice(prefix);
        out.push(b'_');
    }
    out.extend_from_slice(call_id);
    out.push(b'"');
}

/// One function (or custom tool) call as the Responses output item. `args`
/// is the raw escaped `arguments` string body. A custom tool's `input` is
/// the `content` member of its arguments (LiteLLM's
/// `unwrap_custom_tool_arguments`), or the arguments as they are.
struct Call<'a> {
    call_id: &'a [u8],
    name: &'a [u8],
    args: &'a [u8],
}

fn push_call_item(
    out: &mut Vec<u8>,
    c: &Call<'_>,
    status: &[u8],
    custom: bool,
    tools: Option<Val<'_>>,
    nulls: bool,
) {
    out.extend_from_slice(if custom {
        b"{\"type\":\"custom_tool_call\",\"id\":"
    } else {
        b"{\"type\":\"function_call\",\"id\":"
    });
    push_call_item_id(out, custom, c.call_id);
    out.extend_from_slice(b",\"call_id\":\"");
    out.extend_from_slice(c.call_id);
    out.extend_from_slice(b"\",\"name\":\"");
    let ns = if custom {
        None
    } else {
        namespace_of(tools, c.name)
    };
    out.extend_from_slice(ns.map_or(c.name, |(_, n)| n.0));
    out.push(b'"');
    if custom {
        out.extend_from_slice(b",\"input\":");
        push_custom_input(out, c.args);
    } else {
        out.extend_from_slice(b",\"arguments\":\"");
        out.extend_from_slice(c.args);
        out.push(b'"');
        if let Some((ns, _)) = ns {
            out.extend_from_slice(b",\"namespace\":");
            push_raw(out, ns);
        } else if nulls {
            out.extend_from_slice(b",\"namespace\":null");
        }
        if nulls {
            out.extend_from_slice(b",\"caller\":null");
        }
    }
    out.extend_from_slice(b",\"status\":\"");
    out.extend_from_slice(status);
    out.extend_from_slice(b"\"}");
}

fn push_custom_input(out: &mut Vec<u8>, args: &[u8]) {
    let mut json = Vec::new();
    if unescape_into(&mut json, args).is_ok() {
        if let Ok(root) = parse_root(&json) {
            if let Some(c) = root.get("content") {
                match c.str() {
                    Some(s) => push_raw(out, s),
                    None => push_dumped(out, c),
                }
                return;
            }
        }
    }
    out.push(b'"');
    out.extend_from_slice(args);
    out.push(b'"');
}

/// `{"type":"output_text","text":…,"annotations":[…]}`: chat
/// `url_citation` annotations become Responses ones (LiteLLM's
/// `transform_chat_completion_annotations_to_response_output_annotations`).
fn push_output_text(out: &mut Vec<u8>, text: &[u8], annotations: Option<Val<'_>>) {
    out.extend_from_slice(b"{\"type\":\"output_text\",\"text\":\"");
    out.extend_from_slice(text);
    out.extend_from_slice(b"\",\"annotations\":[");
    let mut k = 0;
    for a in annotations.into_iter().flat_map(Val::elems) {
        let [ty, cit] = a.fields(&["type", "url_citation"]);
        let Some(cit) = cit.filter(|c| c.is_obj()) else {
            continue;
        };
        if !ty.and_then(Val::str).is_some_and(|t| t.is("url_citation")) {
            continue;
        }
        comma(out, &mut k);
        out.extend_from_slice(b"{\"type\":\"url_citation\"");
        for key in ["start_index", "end_index", "url", "title"] {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"\":");
            out.extend_from_slice(cit.get(key).map_or(&b"null"[..], |v| v.0));
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}

/// A `message` (or, from `reasoning_content`, a `reasoning`) output item
/// as LiteLLM's non-stream transformation writes it (`GenericResponseOutputItem`:
/// one `output_text` part, `phase` null).
fn push_text_item(
    out: &mut Vec<u8>,
    kind: &[u8],
    id: &[u8],
    status: &[u8],
    text: &[u8],
    annotations: Option<Val<'_>>,
    nulls: bool,
) {
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(kind);
    out.extend_from_slice(b"\",\"id\":\"");
    out.extend_from_slice(id);
    out.extend_from_slice(b"\",\"status\":\"");
    out.extend_from_slice(status);
    out.extend_from_slice(b"\",\"role\":\"assistant\",\"content\":[");
    push_output_text(out, text, annotations);
    out.push(b']');
    if nulls {
        out.extend_from_slice(b",\"phase\":null");
    }
    out.push(b'}');
}

/// A fresh `<prefix>_<uuid4>` item id (LiteLLM's `msg_` / `rs_` ids).
fn new_item_id(prefix: &[u8]) -> Vec<u8> {
    let mut id = Vec::with_capacity(prefix.len() + 37);
    id.extend_from_slice(prefix);
    push_uuid(&mut id);
    id
}

/// Which response object is being written.
#[derive(Clone, Copy)]
enum Phase {
    /// `response.created` / `response.in_progress`: the placeholder LiteLLM's
    /// stream builds (`_default_response_created_event_data`).
    Created,
    /// The finished response.
    Done {
        status: &'static [u8],
        incomplete: Option<&'static [u8]>,
        usage: Usage,
    },
}

/// Writes the `tools` echo: function tools as the OpenAI SDK's
/// `FunctionTool` model serialises them (LiteLLM validates them into it:
/// `name, parameters, strict, type, allowed_callers, defer_loading,
/// description, output_schema`, then any extra member), others verbatim.
fn push_tools_echo(out: &mut Vec<u8>, tools: Option<Val<'_>>, nulls: bool) {
    const KNOWN: [&str; 8] = [
        "name",
        "parameters",
        "strict",
        "type",
        "allowed_callers",
        "defer_loading",
        "description",
        "output_schema",
    ];
    out.push(b'[');
    let mut k = 0;
    for t in tools.into_iter().flat_map(Val::elems) {
        comma(out, &mut k);
        let f = t.fields(&KNOWN);
        let function = f[3].and_then(Val::str).is_some_and(|t| t.is("function"));
        if !function || f[0].and_then(Val::str).is_none() {
            out.extend_from_slice(t.0);
            continue;
        }
        out.push(b'{');
        let mut m = 0;
        for (key, v) in KNOWN.iter().zip(f) {
            if v.is_none() && !nulls {
                continue;
            }
            comma(out, &mut m);
            push_quoted(out, key.as_bytes());
            out.push(b':');
            out.extend_from_slice(v.map_or(&b"null"[..], |v| v.0));
        }
        for (key, v) in t.members() {
            if !KNOWN.iter().any(|k| key.is(k)) {
                comma(out, &mut m);
                push_raw(out, key);
                out.push(b':');
                out.extend_from_slice(v.0);
            }
        }
        out.push(b'}');
    }
    out.push(b']');
}

/// The `tool_choice` echo (LiteLLM's
/// `transform_tool_choice_for_responses_api_response`): absent -> "auto";
/// a Responses tool choice as it is; a chat-style one converted; anything
/// else "auto".
fn push_tool_choice_echo(out: &mut Vec<u8>, tc: Option<Val<'_>>) {
    let Some(tc) = tc else {
        out.extend_from_slice(b"\"auto\"");
        return;
    };
    if let Some(s) = tc.str() {
        out.extend_from_slice(if s.is("none") || s.is("required") {
            tc.0
        } else {
            b"\"auto\""
        });
        return;
    }
    let [ty, name, function, custom] = tc.fields(&["type", "name", "function", "custom"]);
    let ty = ty.and_then(Val::str);
    let named = |out: &mut Vec<u8>, kind: &[u8], n: Str<'_>| {
        out.extend_from_slice(b"{\"type\":\"");
        out.extend_from_slice(kind);
        out.extend_from_slice(b"\",\"name\":");
        push_raw(out, n);
        out.push(b'}');
    };
    let fname = nonempty_str(function.and_then(|f| f.get("name")));
    if let (Some(n), true) = (name.and_then(Val::str), is_one_of(ty, &["function"])) {
        named(out, b"function", n);
    } else if let (Some(n), true) = (name.and_then(Val::str), is_one_of(ty, &["custom"])) {
        named(out, b"custom", n);
    } else if let Some(n) = fname {
        named(out, b"function", n);
    } else if let (Some(n), true) = (
        nonempty_str(custom.and_then(|c| c.get("name"))),
        is_one_of(ty, &["custom"]),
    ) {
        named(out, b"custom", n);
    } else if is_one_of(ty, &["auto", "none", "required"]) {
        out.push(b'"');
        out.extend_from_slice(ty.map_or(&b"auto"[..], |t| t.0));
        out.push(b'"');
    } else if is_one_of(ty, &["tool", "any"]) {
        out.extend_from_slice(b"\"required\"");
    } else if ty.is_some() && name.is_none() && function.is_none() {
        // `allowed_tools`, hosted tools (`web_search_preview`, ...), `mcp`.
        out.extend_from_slice(tc.0);
    } else {
        out.extend_from_slice(b"\"auto\"");
    }
}

/// Writes a whole `response` object in LiteLLM's field order (the
/// `ResponsesAPIResponse` model's). `nulls`: write null members (the
/// non-stream body, serialised by FastAPI with nulls) or omit them (stream
/// events, which LiteLLM's proxy serialises with `exclude_none`).
#[allow(clippy::too_many_arguments)]
fn push_response(
    out: &mut Vec<u8>,
    id: &[u8],
    created_at: u64,
    model: &[u8],
    echo: &Echo<'_>,
    phase: Phase,
    nulls: bool,
    output: impl FnOnce(&mut Vec<u8>),
) {
    let field = |out: &mut Vec<u8>, key: &str, v: Option<&[u8]>| match v {
        Some(v) => {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"\":");
            out.extend_from_slice(v);
        }
        None if nulls => {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"\":null");
        }
        None => {}
    };
    let e = |i: usize| echo[i].map(|v| v.0);
    let done = matches!(phase, Phase::Done { .. });
    out.extend_from_slice(b"{\"id\":");
    out.extend_from_slice(id);
    out.extend_from_slice(b",\"created_at\":");
    push_u64(out, created_at);
    field(out, "error", None);
    let incomplete = match phase {
        Phase::Done {
            incomplete: Some(r),
            ..
        } => Some(r),
        _ => None,
    };
    match incomplete {
        Some(r) => {
            out.extend_from_slice(b",\"incomplete_details\":{\"reason\":\"");
            out.extend_from_slice(r);
            out.extend_from_slice(b"\"}");
        }
        None => field(out, "incomplete_details", None),
    }
    field(out, "instructions", e(E_INSTRUCTIONS));
    // The finished response defaults `metadata` / `text` to `{}`,
    // `parallel_tool_calls` to false; the created placeholder has
    // `parallel_tool_calls: true`, `top_p: 1.0`, an empty `reasoning` and
    // `store: true` whatever the request said (LiteLLM's values).
    let or_empty = |v: Option<&'static [u8]>, i: usize| e(i).or(v.filter(|_| done));
    field(out, "metadata", or_empty(Some(b"{}"), E_METADATA));
    out.extend_from_slice(b",\"model\":");
    out.extend_from_slice(model);
    out.extend_from_slice(b",\"object\":\"response\",\"output\":[");
    output(out);
    out.push(b']');
    field(
        out,
        "parallel_tool_calls",
        if done {
            e(E_PARALLEL).or(Some(b"false"))
        } else {
            Some(b"true")
        },
    );
    field(out, "temperature", e(E_TEMPERATURE));
    out.extend_from_slice(b",\"tool_choice\":");
    push_tool_choice_echo(out, echo[E_TOOL_CHOICE]);
    out.extend_from_slice(b",\"tools\":");
    push_tools_echo(out, echo[E_TOOLS], nulls);
    field(out, "top_p", e(E_TOP_P).or((!done).then_some(&b"1.0"[..])));
    if done {
        field(out, "max_output_tokens", e(E_MAX_OUTPUT));
        field(out, "previous_response_id", e(E_PREVIOUS));
        field(out, "reasoning", e(E_REASONING));
    } else {
        field(
            out,
            "reasoning",
            Some(b"{\"effort\":null,\"summary\":null}"),
        );
    }
    out.extend_from_slice(b",\"status\":\"");
    out.extend_from_slice(match phase {
        Phase::Created => b"in_progress",
        Phase::Done { status, .. } => status,
    });
    out.push(b'"');
    field(out, "text", or_empty(Some(b"{}"), E_TEXT));
    field(out, "truncation", e(E_TRUNCATION));
    if let Phase::Done { usage, .. } = phase {
        out.extend_from_slice(b",\"usage\":");
        usage.push(out);
    }
    field(out, "user", e(E_USER));
    field(out, "store", if done { e(E_STORE) } else { Some(b"true") });
    out.push(b'}');
}

// ---------------------------------------------------------------------------
// chat.completion -> Responses object
// ---------------------------------------------------------------------------

/// Translates an OpenAI `chat.completion` into a Responses API `response`
/// object, appended to `out` (LiteLLM's
/// `transform_chat_completion_response_to_responses_api_response`, then
/// `update_responses_api_response_id_with_model_id` for the id).
///
/// `output`: a `reasoning` item from `reasoning_content`, a `message` item
/// when `content` is not null (`url_citation` annotations kept), then one
/// `function_call` item per tool call (`custom_tool_call` for the request's
/// custom tools; namespace members get their name and `namespace` back).
/// `status` from `finish_reason` (`length` -> `incomplete` with
/// `incomplete_details.reason` `max_output_tokens`), `usage` in Responses
/// terms, `model` the client's name, and the request fields LiteLLM echoes
/// (from `request`, the client's Responses body; LiteLLM's defaults when it
/// is empty). Only `choices[0]` is used. Returns the token usage.
pub fn chat_to_responses_response(
    chat: &[u8],
    request: &[u8],
    client_model: &str,
    out: &mut Vec<u8>,
) -> Result<TokenUsage, TranslateError> {
    rollback_on_err(out, |out| {
        chat_to_responses_response_inner(chat, request, client_model, out)
    })
}

fn chat_to_responses_response_inner(
    chat: &[u8],
    request: &[u8],
    client_model: &str,
    out: &mut Vec<u8>,
) -> Res<TokenUsage> {
    let (mut id, mut created, mut choice, mut usage) = (None, None, None, None);
    read_root(chat, |p, k| {
        if k.0 == b"choices" && p.begin_array()? {
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
            b"created" => created = Some(v.count()),
            b"usage" => usage = Some(v).filter(|u| u.is_obj()),
            _ => {}
        }
        Ok(())
    })?;
    let echo = read_echo(request);
    let msg = choice.and_then(|c| c.val(0)).filter(|m| m.is_obj());
    let finish = choice.and_then(|c| c.str(1));
    let [content, reasoning_content, tool_calls, annotations] = msg.map_or([None; 4], |m| {
        m.fields(&["content", "reasoning_content", "tool_calls", "annotations"])
    });
    let usage = usage.map(Usage::read).unwrap_or_default();
    let (status, mut incomplete) = status_of(finish);
    if finish.is_none() {
        // LiteLLM: no finish reason, but the cap was reached.
        let cap = echo[E_MAX_OUTPUT].map(Val::count);
        if cap.is_some_and(|c| usage.output >= c) {
            incomplete = Some(b"max_output_tokens");
        }
    }

    let mut rid = Vec::with_capacity(96);
    match id.and_then(Str::decoded) {
        Some(id) => push_response_id(&mut rid, &id),
        None => {
            let mut fresh = b"chatcmpl-".to_vec();
            push_uuid(&mut fresh);
            push_response_id(&mut rid, &fresh);
        }
    }
    let mut model = Vec::with_capacity(client_model.len() + 2);
    push_quoted(&mut model, client_model.as_bytes());
    let mut failed: Res<()> = Ok(());
    push_response(
        out,
        &rid,
        created.unwrap_or_else(now_secs),
        &model,
        &echo,
        Phase::Done {
            status,
            incomplete,
            usage,
        },
        true,
        |out| {
            let mut n = 0;
            if let Some(r) = nonempty_str(reasoning_content) {
                comma(out, &mut n);
                push_text_item(
                    out,
                    b"reasoning",
                    &new_item_id(b"rs_"),
                    status,
                    r.0,
                    None,
                    true,
                );
            }
            if let Some(c) = content.filter(|c| !c.is_null()) {
                let Some(text) = c.str() else {
                    failed = invalid("chat completion message content is not a string");
                    return;
                };
                comma(out, &mut n);
                push_text_item(
                    out,
                    b"message",
                    &new_item_id(b"msg_"),
                    status,
                    text.0,
                    annotations,
                    true,
                );
            }
            for call in tool_calls.into_iter().flat_map(Val::elems) {
                let [cid, function] = call.fields(&["id", "function"]);
                let [name, args] = function.map_or([None; 2], |f| f.fields(&["name", "arguments"]));
                comma(out, &mut n);
                let dumped;
                let args = match args {
                    Some(a) if a.str().is_some() => a.str().map_or(&b""[..], |s| s.0),
                    Some(a) => {
                        let mut v = Vec::new();
                        push_escaped(&mut v, a.0);
                        dumped = v;
                        &dumped
                    }
                    None => b"",
                };
                push_call_item(
                    out,
                    &Call {
                        call_id: cid.and_then(Val::str).map_or(&b""[..], |s| s.0),
                        name: name.and_then(Val::str).map_or(&b""[..], |s| s.0),
                        args,
                    },
                    b"completed",
                    is_custom_tool(
                        echo[E_TOOLS],
                        name.and_then(Val::str).map_or(&b""[..], |s| s.0),
                    ),
                    echo[E_TOOLS],
                    true,
                );
            }
        },
    );
    failed?;
    Ok(usage.tokens())
}

// ---------------------------------------------------------------------------
// chat.completion.chunk stream -> Responses event stream
// ---------------------------------------------------------------------------

/// A text-carrying output item being streamed (the message, or the
/// reasoning summary): its id, output index and text so far (raw escaped).
#[derive(Debug)]
struct StreamText {
    id: Vec<u8>,
    output_index: u64,
    text: Vec<u8>,
    closed: bool,
}

/// A function call being streamed.
#[derive(Debug)]
struct StreamCall {
    /// The chat chunk's `tool_calls[].index`.
    index: Option<u64>,
    /// Raw escaped call id, name and arguments so far.
    call_id: Vec<u8>,
    name: Vec<u8>,
    args: Vec<u8>,
    output_index: u64,
    custom: bool,
}

impl StreamCall {
    fn view(&self) -> Call<'_> {
        Call {
            call_id: &self.call_id,
            name: &self.name,
            args: &self.args,
        }
    }
}

/// Turns an OpenAI `chat.completion.chunk` stream into the Responses event
/// stream LiteLLM's `LiteLLMCompletionStreamingIterator` produces, event by
/// event (text deltas are forwarded as they come):
///
/// `response.created`, `response.in_progress` (on the first chunk, whose id
/// the response id is built from) → for `reasoning_content`: a `reasoning`
/// item (`output_item.added`, `reasoning_summary_text.delta`s, and once
/// other output starts `reasoning_summary_text.done`,
/// `reasoning_summary_part.done`, `output_item.done`) → for text: the
/// message item (`output_item.added`, `content_part.added`,
/// `output_text.delta`s) → for each tool call: `output_item.added`
/// (`function_call`), `function_call_arguments.delta`s → at the finish
/// chunk, LiteLLM's closing order: each call's
/// `function_call_arguments.done` + `output_item.done`, then the message's
/// `output_text.done`, `content_part.done`, `output_item.done` → once the
/// usage chunk (or `[DONE]`) has come, `response.completed` (or
/// `response.incomplete` for a `length` / `content_filter` finish) with the
/// whole response, then `data: [DONE]` as LiteLLM's proxy ends every
/// stream. An upstream error object becomes `response.failed`.
///
/// Framing: `event: <type>\ndata: {...}\n\n`, as OpenAI sends it (LiteLLM's
/// proxy writes `data:` lines only; both parse the same). Not LiteLLM:
/// every event carries a consecutive `sequence_number` from 0, as OpenAI's
/// do (LiteLLM's proxy drops them, its serialiser excluding the unset
/// field), and argument deltas are forwarded as they come (LiteLLM re-cuts
/// them into 10-character pieces to look like OpenAI's).
#[derive(Debug)]
pub struct ChatToResponsesStream {
    model: Vec<u8>,
    /// The request's echoed members, as a small JSON object of their own.
    echo: Vec<u8>,
    /// Names (raw) of the request's custom tools.
    custom_tools: Vec<Vec<u8>>,
    /// Quoted response id.
    id: Vec<u8>,
    created_at: u64,
    started: bool,
    seq: u64,
    next_output: u64,
    reasoning: Option<StreamText>,
    message: Option<StreamText>,
    calls: Vec<StreamCall>,
    finish: Option<(&'static [u8], Option<&'static [u8]>)>,
    usage: Option<Usage>,
    items_closed: bool,
    done: bool,
}

/// Starts an event: `event: <ty>\ndata: {"type":"<ty>"`; the caller adds
/// the members and [`close_event`] the rest.
fn open_event(out: &mut Vec<u8>, ty: &[u8]) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(ty);
    out.extend_from_slice(b"\ndata: {\"type\":\"");
    out.extend_from_slice(ty);
    out.push(b'"');
}

fn close_event(out: &mut Vec<u8>, seq: &mut u64) {
    out.extend_from_slice(b",\"sequence_number\":");
    push_u64(out, *seq);
    out.extend_from_slice(b"}\n\n");
    *seq += 1;
}

/// `,"item_id":"<id>","output_index":<n>`.
fn push_item_ref(out: &mut Vec<u8>, id: &[u8], output_index: u64) {
    out.extend_from_slice(b",\"item_id\":\"");
    out.extend_from_slice(id);
    out.extend_from_slice(b"\",\"output_index\":");
    push_u64(out, output_index);
}

impl ChatToResponsesStream {
    /// `client_model` is the name the client asked for; `request` the
    /// client's Responses body (for the echoed fields and custom tool
    /// names; may be empty).
    pub fn new(client_model: &str, request: &[u8]) -> Self {
        let mut model = Vec::with_capacity(client_model.len() + 2);
        push_quoted(&mut model, client_model.as_bytes());
        let e = read_echo(request);
        let mut echo = b"{".to_vec();
        let mut n = 0;
        for (key, v) in ECHO_KEYS.iter().zip(e) {
            if let Some(v) = v {
                comma(&mut echo, &mut n);
                push_quoted(&mut echo, key.as_bytes());
                echo.push(b':');
                echo.extend_from_slice(v.0);
            }
        }
        echo.push(b'}');
        let tools = e[E_TOOLS];
        let mut custom_tools = Vec::new();
        let mut add = |t: Val<'_>| {
            let [ty, name] = t.fields(&["type", "name"]);
            if let (Some(name), true) = (
                name.and_then(Val::str),
                ty.and_then(Val::str).is_some_and(|t| t.is("custom")),
            ) {
                custom_tools.push(name.0.to_vec());
            }
        };
        for t in tools.into_iter().flat_map(Val::elems) {
            add(t);
            if t.get_str("type").is_some_and(|ty| ty.is("namespace")) {
                t.get("tools")
                    .into_iter()
                    .flat_map(Val::elems)
                    .for_each(&mut add);
            }
        }
        ChatToResponsesStream {
            model,
            echo,
            custom_tools,
            id: Vec::new(),
            created_at: 0,
            started: false,
            seq: 0,
            next_output: 0,
            reasoning: None,
            message: None,
            calls: Vec::new(),
            finish: None,
            usage: None,
            items_closed: false,
            done: false,
        }
    }

    /// Whether the terminal event (or a failure) has been written.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Token usage reported so far (OpenAI terms).
    pub fn usage(&self) -> TokenUsage {
        self.usage.unwrap_or_default().tokens()
    }

    /// Feeds chat SSE bytes (one or more complete `data:` events, `[DONE]`
    /// included) and appends the Responses events they produce.
    pub fn feed(&mut self, events: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        for ev in sse_events(events) {
            self.feed_one(ev, out)?;
        }
        Ok(())
    }

    /// Call when the upstream ended cleanly without `[DONE]`: writes the
    /// closing events that are not out yet.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.done {
            self.terminal(out);
        }
    }

    fn start(&mut self, out: &mut Vec<u8>, chunk_id: Option<Str<'_>>, created: Option<u64>) {
        if self.started {
            return;
        }
        self.started = true;
        self.id.clear();
        match chunk_id.and_then(Str::decoded).filter(|d| !d.is_empty()) {
            Some(id) => push_response_id(&mut self.id, &id),
            None => {
                let mut fresh = b"chatcmpl-".to_vec();
                push_uuid(&mut fresh);
                push_response_id(&mut self.id, &fresh);
            }
        }
        self.created_at = created.filter(|&c| c > 0).unwrap_or_else(now_secs);
        let echo = read_echo(&self.echo);
        for ty in [&b"response.created"[..], b"response.in_progress"] {
            open_event(out, ty);
            out.extend_from_slice(b",\"response\":");
            push_response(
                out,
                &self.id,
                self.created_at,
                &self.model,
                &echo,
                Phase::Created,
                false,
                |_| {},
            );
            close_event(out, &mut self.seq);
        }
    }

    fn alloc_output(&mut self) -> u64 {
        self.next_output += 1;
        self.next_output - 1
    }

    /// Starts a text-carrying output item (reasoning or message): its id,
    /// its output index, and the `response.output_item.added` event whose
    /// item is `{"id":"<id>` followed by `item_tail`.
    fn open_text_item(
        &mut self,
        out: &mut Vec<u8>,
        id_prefix: &[u8],
        item_tail: &[u8],
    ) -> StreamText {
        let it = StreamText {
            id: new_item_id(id_prefix),
            output_index: self.alloc_output(),
            text: Vec::new(),
            closed: false,
        };
        open_event(out, b"response.output_item.added");
        out.extend_from_slice(b",\"output_index\":");
        push_u64(out, it.output_index);
        out.extend_from_slice(b",\"item\":{\"id\":\"");
        out.extend_from_slice(&it.id);
        out.extend_from_slice(item_tail);
        close_event(out, &mut self.seq);
        it
    }

    fn reasoning_delta(&mut self, out: &mut Vec<u8>, r: Str<'_>) {
        if self.reasoning.is_none() {
            // Not LiteLLM: it writes `summary: null` (then dropped by
            // `exclude_none`); OpenAI's item has an empty list.
            let it = self.open_text_item(
                out,
                b"rs_",
                b"\",\"type\":\"reasoning\",\"status\":\"in_progress\",\"summary\":[]}",
            );
            self.reasoning = Some(it);
        }
        let Some(it) = self.reasoning.as_mut().filter(|it| !it.closed) else {
            return; // reasoning after the summary was closed: nowhere to go
        };
        open_event(out, b"response.reasoning_summary_text.delta");
        push_item_ref(out, &it.id, it.output_index);
        out.extend_from_slice(b",\"summary_index\":0,\"delta\":");
        push_raw(out, r);
        close_event(out, &mut self.seq);
        it.text.extend_from_slice(r.0);
    }

    fn close_reasoning(&mut self, out: &mut Vec<u8>) {
        let Some(it) = self.reasoning.as_mut().filter(|it| !it.closed) else {
            return;
        };
        it.closed = true;
        open_event(out, b"response.reasoning_summary_text.done");
        push_item_ref(out, &it.id, it.output_index);
        out.extend_from_slice(b",\"summary_index\":0,\"text\":\"");
        out.extend_from_slice(&it.text);
        out.push(b'"');
        close_event(out, &mut self.seq);
        open_event(out, b"response.reasoning_summary_part.done");
        push_item_ref(out, &it.id, it.output_index);
        out.extend_from_slice(
            b",\"summary_index\":0,\"part\":{\"type\":\"summary_text\",\"text\":\"",
        );
        out.extend_from_slice(&it.text);
        out.extend_from_slice(b"\"}");
        close_event(out, &mut self.seq);
        open_event(out, b"response.output_item.done");
        out.extend_from_slice(b",\"output_index\":");
        push_u64(out, it.output_index);
        out.extend_from_slice(b",\"item\":{\"id\":\"");
        out.extend_from_slice(&it.id);
        out.extend_from_slice(
            b"\",\"type\":\"reasoning\",\"summary\":[{\"type\":\"summary_text\",\"text\":\"",
        );
        out.extend_from_slice(&it.text);
        out.extend_from_slice(b"\"}]}");
        close_event(out, &mut self.seq);
    }

    fn text_delta(&mut self, out: &mut Vec<u8>, t: Str<'_>) {
        if self.message.is_none() {
            let it = self.open_text_item(
                out,
                b"msg_",
                b"\",\"type\":\"message\",\"role\":\"assistant\",\"status\":\"in_progress\",\"content\":[]}",
            );
            open_event(out, b"response.content_part.added");
            push_item_ref(out, &it.id, it.output_index);
            out.extend_from_slice(
                b",\"content_index\":0,\"part\":{\"type\":\"output_text\",\"text\":\"\",\"annotations\":[]}",
            );
            close_event(out, &mut self.seq);
            self.message = Some(it);
        }
        let Some(it) = self.message.as_mut().filter(|it| !it.closed) else {
            return; // text after the finish chunk: the item is closed
        };
        open_event(out, b"response.output_text.delta");
        push_item_ref(out, &it.id, it.output_index);
        out.extend_from_slice(b",\"content_index\":0,\"delta\":");
        push_raw(out, t);
        close_event(out, &mut self.seq);
        it.text.extend_from_slice(t.0);
    }

    /// One `tool_calls[]` delta. The call is found by its id, else by its
    /// `index` (LiteLLM's `_tool_call_id`); a delta naming neither, while a
    /// call is open, continues the last one.
    fn tool_delta(&mut self, out: &mut Vec<u8>, tc: Val<'_>) {
        if self.items_closed {
            return;
        }
        let [index, id, function] = tc.fields(&["index", "id", "function"]);
        let [name, arguments] = function.map_or([None; 2], |f| f.fields(&["name", "arguments"]));
        let index = index.filter(|i| i.is_num()).map(Val::count);
        let id = nonempty_str(id);
        let found = match id {
            Some(id) => self.calls.iter().rposition(|c| c.call_id == id.0),
            None => match index {
                Some(i) => self.calls.iter().rposition(|c| c.index == Some(i)),
                None => self.calls.len().checked_sub(1),
            },
        };
        let at = match found {
            Some(at) => at,
            None => {
                let mut call_id = Vec::new();
                match id {
                    Some(id) => call_id.extend_from_slice(id.0),
                    None => {
                        call_id.extend_from_slice(b"call_");
                        push_uuid(&mut call_id);
                    }
                }
                let name = name.and_then(Val::str).map_or(Vec::new(), |n| n.0.to_vec());
                let custom = self.custom_tools.contains(&name);
                let call = StreamCall {
                    index,
                    call_id,
                    name,
                    args: Vec::new(),
                    output_index: self.alloc_output(),
                    custom,
                };
                let echo = read_echo(&self.echo);
                open_event(out, b"response.output_item.added");
                out.extend_from_slice(b",\"output_index\":");
                push_u64(out, call.output_index);
                out.extend_from_slice(b",\"item\":");
                push_call_item(
                    out,
                    &call.view(),
                    b"in_progress",
                    custom,
                    echo[E_TOOLS],
                    false,
                );
                close_event(out, &mut self.seq);
                self.calls.push(call);
                self.calls.len() - 1
            }
        };
        let Some(call) = self.calls.get_mut(at) else {
            return;
        };
        if call.name.is_empty() {
            if let Some(n) = name.and_then(Val::str) {
                call.name.extend_from_slice(n.0);
            }
        }
        let args = match arguments {
            Some(a) if a.str().is_some() => a.str(),
            _ => None,
        };
        if let Some(a) = args.filter(|a| !a.is_empty()) {
            open_event(out, b"response.function_call_arguments.delta");
            out.extend_from_slice(b",\"item_id\":");
            push_call_item_id(out, call.custom, &call.call_id);
            out.extend_from_slice(b",\"output_index\":");
            push_u64(out, call.output_index);
            out.extend_from_slice(b",\"delta\":");
            push_raw(out, a);
            close_event(out, &mut self.seq);
            call.args.extend_from_slice(a.0);
        }
    }

    /// The closing events of every output item, in LiteLLM's order: the
    /// reasoning summary, each tool call, then the message.
    fn close_items(&mut self, out: &mut Vec<u8>) {
        if self.items_closed {
            return;
        }
        self.items_closed = true;
        self.close_reasoning(out);
        let echo = read_echo(&self.echo);
        for call in &self.calls {
            open_event(out, b"response.function_call_arguments.done");
            out.extend_from_slice(b",\"item_id\":");
            push_call_item_id(out, call.custom, &call.call_id);
            out.extend_from_slice(b",\"output_index\":");
            push_u64(out, call.output_index);
            out.extend_from_slice(b",\"arguments\":\"");
            out.extend_from_slice(&call.args);
            out.push(b'"');
            close_event(out, &mut self.seq);
            open_event(out, b"response.output_item.done");
            out.extend_from_slice(b",\"output_index\":");
            push_u64(out, call.output_index);
            out.extend_from_slice(b",\"item\":");
            push_call_item(
                out,
                &call.view(),
                b"completed",
                call.custom,
                echo[E_TOOLS],
                false,
            );
            close_event(out, &mut self.seq);
        }
        if let Some(it) = self.message.as_mut() {
            it.closed = true;
            let text = &it.text;
            open_event(out, b"response.output_text.done");
            push_item_ref(out, &it.id, it.output_index);
            out.extend_from_slice(b",\"content_index\":0,\"text\":\"");
            out.extend_from_slice(text);
            out.push(b'"');
            close_event(out, &mut self.seq);
            open_event(out, b"response.content_part.done");
            push_item_ref(out, &it.id, it.output_index);
            out.extend_from_slice(b",\"content_index\":0,\"part\":");
            push_output_text(out, text, None);
            close_event(out, &mut self.seq);
            // LiteLLM's message `output_item.done` says "completed" even
            // when the response ends incomplete.
            open_event(out, b"response.output_item.done");
            out.extend_from_slice(b",\"output_index\":");
            push_u64(out, it.output_index);
            out.extend_from_slice(b",\"item\":{\"id\":\"");
            out.extend_from_slice(&it.id);
            out.extend_from_slice(
                b"\",\"status\":\"completed\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[",
            );
            push_output_text(out, text, None);
            out.extend_from_slice(b"]}");
            close_event(out, &mut self.seq);
        }
    }

    /// Closes the items, writes `response.completed` (or
    /// `response.incomplete`) and LiteLLM's final `data: [DONE]`.
    fn terminal(&mut self, out: &mut Vec<u8>) {
        self.start(out, None, None);
        self.close_items(out);
        // A stream that ended without a finish reason ended normally.
        let (status, incomplete) = self.finish.unwrap_or((b"completed", None));
        let usage = self.usage.unwrap_or_default();
        open_event(
            out,
            if status == b"incomplete" {
                b"response.incomplete"
            } else {
                b"response.completed"
            },
        );
        out.extend_from_slice(b",\"response\":");
        let echo = read_echo(&self.echo);
        let (reasoning, message, calls) = (&self.reasoning, &self.message, &self.calls);
        push_response(
            out,
            &self.id,
            self.created_at,
            &self.model,
            &echo,
            Phase::Done {
                status,
                incomplete,
                usage,
            },
            false,
            |out| {
                // Items in the order they were streamed.
                let mut n = 0;
                for idx in 0..self.next_output {
                    if let Some(r) = reasoning.as_ref().filter(|r| r.output_index == idx) {
                        comma(out, &mut n);
                        push_text_item(out, b"reasoning", &r.id, status, &r.text, None, false);
                    } else if let Some(m) = message.as_ref().filter(|m| m.output_index == idx) {
                        comma(out, &mut n);
                        push_text_item(out, b"message", &m.id, status, &m.text, None, false);
                    } else if let Some(c) = calls.iter().find(|c| c.output_index == idx) {
                        comma(out, &mut n);
                        push_call_item(
                            out,
                            &c.view(),
                            b"completed",
                            c.custom,
                            echo[E_TOOLS],
                            false,
                        );
                    }
                }
            },
        );
        close_event(out, &mut self.seq);
        out.extend_from_slice(b"data: [DONE]\n\n");
        self.done = true;
    }

    /// An upstream error object: `response.failed` (LiteLLM's
    /// `ResponsesStreamErrorState.format_failure`), and the stream ends.
    fn fail(&mut self, out: &mut Vec<u8>, err: Val<'_>) {
        if !self.started {
            let mut fresh = b"chatcmpl-".to_vec();
            push_uuid(&mut fresh);
            push_response_id(&mut self.id, &fresh);
            self.created_at = now_secs();
        }
        let [code, ty, message] = err.fields(&["code", "type", "message"]);
        let code = code
            .and_then(Val::str)
            .filter(|c| !c.is_empty() && !c.0.iter().all(u8::is_ascii_digit))
            .or(nonempty_str(ty));
        open_event(out, b"response.failed");
        out.extend_from_slice(b",\"response\":{\"id\":");
        out.extend_from_slice(&self.id);
        out.extend_from_slice(b",\"created_at\":");
        push_u64(out, self.created_at);
        out.extend_from_slice(b",\"error\":{\"code\":");
        match code {
            Some(c) => push_raw(out, c),
            None => out.extend_from_slice(b"\"server_error\""),
        }
        out.extend_from_slice(b",\"message\":");
        match message.and_then(Val::str) {
            Some(m) => push_raw(out, m),
            None => push_dumped(out, err),
        }
        out.extend_from_slice(b"},\"model\":");
        out.extend_from_slice(&self.model);
        out.extend_from_slice(b",\"object\":\"response\",\"output\":[],\"status\":\"failed\"}");
        close_event(out, &mut self.seq);
        self.done = true;
    }

    fn feed_one(&mut self, ev: &[u8], out: &mut Vec<u8>) -> Res<()> {
        if self.done {
            return Ok(());
        }
        let e = parse_sse_event(ev);
        let Some(data) = e.data else { return Ok(()) };
        if trim_ascii(&data) == b"[DONE]" {
            self.terminal(out);
            return Ok(());
        }
        let root = parse_root(&data)?;
        let [error, id, created, choices, usage] =
            root.fields(&["error", "id", "created", "choices", "usage"]);
        if let Some(err) = error.filter(|e| e.is_obj()) {
            self.fail(out, err);
            return Ok(());
        }
        self.start(out, id.and_then(Val::str), created.map(Val::count));
        let choice = choices.and_then(|c| c.elems().next());
        let [delta, finish] = choice.map_or([None; 2], |c| c.fields(&["delta", "finish_reason"]));
        let finish = finish.and_then(Val::str);
        if let Some(d) = delta.filter(|d| d.is_obj()) {
            let [reasoning_content, reasoning, content, tool_calls] =
                d.fields(&["reasoning_content", "reasoning", "content", "tool_calls"]);
            let r = nonempty_str(reasoning_content).or(nonempty_str(reasoning));
            let content = nonempty_str(content);
            let has_calls = tool_calls.is_some_and(|t| t.elems().next().is_some());
            if let Some(r) = r {
                self.reasoning_delta(out, r);
            } else if content.is_some() || has_calls || finish.is_some() {
                // LiteLLM's `_is_reasoning_end`.
                self.close_reasoning(out);
            }
            if let Some(t) = content {
                self.text_delta(out, t);
            }
            for tc in tool_calls.into_iter().flat_map(Val::elems) {
                self.tool_delta(out, tc);
            }
        }
        if let Some(f) = finish {
            self.finish = Some(status_of(Some(f)));
            self.close_items(out);
        }
        if let Some(u) = usage.filter(|u| u.is_obj()) {
            self.usage = Some(Usage::read(u));
        }
        if self.finish.is_some() && self.usage.is_some() {
            self.terminal(out);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn to_chat(body: &Value) -> Value {
        let mut out = Vec::new();
        let info = responses_to_chat_request(body.to_string().as_bytes(), "up-model", &mut out)
            .unwrap_or_else(|e| panic!("{e}: {body}"));
        let v: Value = serde_json::from_slice(&out)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)));
        assert_eq!(info.stream, v["stream"] == json!(true));
        v
    }

    fn to_chat_err(body: &[u8]) -> TranslateError {
        let mut out = b"keep".to_vec();
        let e = responses_to_chat_request(body, "m", &mut out).unwrap_err();
        assert_eq!(out, b"keep");
        e
    }

    fn to_resp(chat: &Value, request: &Value) -> (Value, TokenUsage) {
        let mut out = Vec::new();
        let req = if request.is_null() {
            Vec::new()
        } else {
            request.to_string().into_bytes()
        };
        let u = chat_to_responses_response(chat.to_string().as_bytes(), &req, "client-m", &mut out)
            .unwrap();
        let v = serde_json::from_slice(&out)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)));
        (v, u)
    }

    /// Runs chunks through the stream; returns (event name, data) pairs and
    /// whether `[DONE]` ended the output.
    fn run_stream(request: &Value, chunks: &[Value], done: bool) -> (Vec<(String, Value)>, bool) {
        let mut st = ChatToResponsesStream::new("client-m", request.to_string().as_bytes());
        let mut out = Vec::new();
        for c in chunks {
            st.feed(format!("data: {c}\n\n").as_bytes(), &mut out)
                .unwrap();
        }
        if done {
            st.feed(b"data: [DONE]\n\n", &mut out).unwrap();
        } else {
            st.finish(&mut out);
        }
        assert!(st.is_done());
        let text = String::from_utf8(out).unwrap();
        let mut events = Vec::new();
        let mut saw_done = false;
        for frame in text.split("\n\n").filter(|f| !f.is_empty()) {
            if frame == "data: [DONE]" {
                saw_done = true;
                continue;
            }
            assert!(!saw_done, "event after [DONE]");
            let (name, data) = frame
                .strip_prefix("event: ")
                .and_then(|f| f.split_once("\ndata: "))
                .unwrap_or_else(|| panic!("bad frame {frame:?}"));
            let v: Value = serde_json::from_str(data).unwrap_or_else(|e| panic!("{e}: {data}"));
            assert_eq!(v["type"], name, "{frame}");
            events.push((name.to_owned(), v));
        }
        (events, saw_done)
    }

    fn chunk(delta: Value, finish: Value) -> Value {
        json!({"id":"chatcmpl-123","object":"chat.completion.chunk","created":1741290958,"model":"up","choices":[{"index":0,"delta":delta,"finish_reason":finish}]})
    }

    fn usage_chunk() -> Value {
        json!({"id":"chatcmpl-123","object":"chat.completion.chunk","created":1741290958,"model":"up","choices":[],"usage":{"prompt_tokens":37,"completion_tokens":11,"total_tokens":48,"prompt_tokens_details":{"cached_tokens":5},"completion_tokens_details":{"reasoning_tokens":0}}})
    }

    // ---- request: OpenAI's documented examples --------------------------

    #[test]
    fn text_input() {
        let v = to_chat(&json!({
            "model": "gpt-4.1",
            "input": "Tell me a three sentence bedtime story about a unicorn."
        }));
        assert_eq!(
            v,
            json!({"model":"up-model","messages":[{"role":"user","content":"Tell me a three sentence bedtime story about a unicorn."}]})
        );
    }

    #[test]
    fn instructions_become_system_message() {
        let v = to_chat(&json!({
            "model": "gpt-4.1",
            "instructions": "Talk like a pirate.",
            "input": "Are semicolons optional in JavaScript?",
            "max_output_tokens": 100, "temperature": 0.2, "top_p": 0.9, "user": "u-1",
            "metadata": {"k": "v"}, "store": false, "truncation": "auto",
            "reasoning": {"effort": "low", "summary": "auto"}, "stream": true
        }));
        assert_eq!(
            v,
            json!({"model":"up-model","messages":[
                {"role":"system","content":"Talk like a pirate."},
                {"role":"user","content":"Are semicolons optional in JavaScript?"}],
              "top_p":0.9,"user":"u-1","temperature":0.2,"max_tokens":100,
              "stream":true,"stream_options":{"include_usage":true},"reasoning_effort":"low"})
        );
    }

    #[test]
    fn input_items_with_images_and_files() {
        let v = to_chat(&json!({
            "model": "gpt-4.1",
            "input": [{
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "what is in this image?"},
                    {"type": "input_image", "image_url": "https://upload.wikimedia.org/boardwalk.jpg"},
                    {"type": "input_image", "image_url": "data:image/png;base64,iVBOR", "detail": "high"},
                    {"type": "input_file", "file_id": "file-6F2ksmvXxt4VdoqmHRw6kL"},
                    {"type": "input_file", "filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBE"}
                ]
            }, {
                "type": "message", "role": "developer", "content": "be brief"
            }, {
                "type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": "It is a boardwalk.", "annotations": []}]
            }, {
                "type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "hm"}]
            }, {
                "content": "no role means user"
            }]
        }));
        assert_eq!(
            v["messages"],
            json!([
                {"role":"user","content":[
                    {"type":"text","text":"what is in this image?"},
                    {"type":"image_url","image_url":{"url":"https://upload.wikimedia.org/boardwalk.jpg","detail":"auto"}},
                    {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBOR","detail":"high"}},
                    {"type":"file","file":{"file_id":"file-6F2ksmvXxt4VdoqmHRw6kL"}},
                    {"type":"file","file":{"file_data":"data:application/pdf;base64,JVBE","filename":"a.pdf"}}]},
                {"role":"developer","content":"be brief"},
                {"role":"assistant","content":[{"type":"text","text":"It is a boardwalk."}]},
                {"role":"user","content":"no role means user"}
            ])
        );
    }

    fn weather_tool() -> Value {
        json!({
            "type": "function",
            "name": "get_weather",
            "description": "Get current temperature for a given location.",
            "parameters": {
                "type": "object",
                "properties": {"location": {"type": "string", "description": "City and country e.g. Bogotá, Colombia"}},
                "required": ["location"],
                "additionalProperties": false
            },
            "strict": true
        })
    }

    #[test]
    fn function_calling_round_trip() {
        let v = to_chat(&json!({
            "model": "gpt-4.1",
            "input": [
                {"role": "user", "content": "What is the weather like in Paris and Rome today?"},
                {"type": "message", "role": "assistant", "content": "Let me check."},
                {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
                 "arguments": "{\"location\":\"Paris, France\"}", "status": "completed"},
                {"type": "function_call", "id": "fc_2", "call_id": "call_2", "name": "get_weather",
                 "arguments": "{\"location\":\"Rome, Italy\"}"},
                {"type": "function_call_output", "call_id": "call_1", "output": "{\"temperature\": 14}"},
                {"type": "function_call_output", "call_id": "call_2",
                 "output": [{"type": "input_text", "text": "21"}, {"type": "input_text", "text": "C"}]},
                {"type": "function_call_output", "call_id": "", "output": "dropped"}
            ],
            "tools": [weather_tool()],
            "tool_choice": "auto",
            "parallel_tool_calls": false
        }));
        assert_eq!(
            v["messages"],
            json!([
                {"role":"user","content":"What is the weather like in Paris and Rome today?"},
                {"role":"assistant","content":"Let me check.","tool_calls":[
                    {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Paris, France\"}"}},
                    {"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Rome, Italy\"}"}}]},
                {"role":"tool","content":"{\"temperature\": 14}","tool_call_id":"call_1"},
                {"role":"tool","content":"21C","tool_call_id":"call_2"}
            ])
        );
        assert_eq!(
            v["tools"],
            json!([{"type":"function","function":{
                "name":"get_weather",
                "description":"Get current temperature for a given location.",
                "parameters":{"type":"object","properties":{"location":{"type":"string","description":"City and country e.g. Bogotá, Colombia"}},"required":["location"],"additionalProperties":false},
                "strict":true}}])
        );
        assert_eq!(v["tool_choice"], "auto");
        assert_eq!(v["parallel_tool_calls"], false);
    }

    #[test]
    fn assistant_text_after_tool_calls_is_merged() {
        let v = to_chat(&json!({
            "input": [
                {"type": "function_call", "call_id": "c1", "name": "f", "arguments": {"a": 1}},
                {"role": "assistant", "content": "one"},
                {"role": "assistant", "content": [{"type": "output_text", "text": "two"}]},
                {"type": "function_call_output", "call_id": "c1",
                 "output": [{"type": "input_text", "text": "see"}, {"type": "input_image", "image_url": "https://x/y.png"}]},
                {"role": "assistant", "content": "three"},
                {"role": "assistant", "content": "four"}
            ]
        }));
        assert_eq!(
            v["messages"],
            json!([
                {"role":"assistant","content":[{"type":"text","text":"one"},{"type":"text","text":"two"}],
                 "tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},
                {"role":"tool","content":[{"type":"text","text":"see"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}],"tool_call_id":"c1"},
                {"role":"assistant","content":"three"},
                {"role":"assistant","content":"four"}
            ])
        );
        // No tools: no tool_choice either.
        assert!(v.get("tools").is_none() && v.get("tool_choice").is_none());
    }

    #[test]
    fn json_schema_text_format() {
        let schema = json!({
            "type": "object",
            "properties": {"name": {"type": "string"}, "date": {"type": "string"},
                           "participants": {"type": "array", "items": {"type": "string"}}},
            "required": ["name", "date", "participants"],
            "additionalProperties": false
        });
        let v = to_chat(&json!({
            "model": "gpt-4o-2024-08-06",
            "input": [
                {"role": "system", "content": "Extract the event information."},
                {"role": "user", "content": "Alice and Bob are going to a science fair on Friday."}
            ],
            "text": {"format": {"type": "json_schema", "name": "calendar_event", "schema": schema, "strict": true}}
        }));
        assert_eq!(
            v["response_format"],
            json!({"type":"json_schema","json_schema":{"name":"calendar_event","schema":schema,"strict":true}})
        );
        let v = to_chat(
            &json!({"input": "x", "text": {"format": {"type": "json_schema", "schema": {}}}}),
        );
        assert_eq!(
            v["response_format"],
            json!({"type":"json_schema","json_schema":{"name":"response_schema","schema":{},"strict":false}})
        );
        let v = to_chat(&json!({"input": "x", "text": {"format": {"type": "json_object"}}}));
        assert_eq!(v["response_format"], json!({"type":"json_object"}));
        let v = to_chat(
            &json!({"input": "x", "text": {"format": {"type": "text"}, "verbosity": "low"}}),
        );
        assert!(v.get("response_format").is_none());
    }

    #[test]
    fn tools_and_tool_choice() {
        let tc = |choice: Value| {
            to_chat(&json!({"input": "x", "tools": [{"type": "function", "name": "f"}], "tool_choice": choice}))
                ["tool_choice"]
                .clone()
        };
        assert_eq!(tc(json!("required")), "required");
        assert_eq!(
            tc(json!({"type": "function", "name": "f"})),
            json!({"type":"function","function":{"name":"f"}})
        );
        assert_eq!(tc(json!({"type": "function"})), "required");
        assert_eq!(tc(json!({"type": "tool"})), "required");
        assert_eq!(tc(json!({"type": "auto"})), "auto");
        assert_eq!(
            tc(json!({"type": "custom", "name": "g"})),
            json!({"type":"function","function":{"name":"g"}})
        );
        let v = to_chat(&json!({"input": "x", "tools": [
            {"type": "function", "name": "f", "parameters": {"properties": {}}, "cache_control": {"type": "ephemeral"}},
            {"type": "custom", "name": "apply_patch", "description": "Patch files.",
             "format": {"type": "grammar", "syntax": "lark", "definition": "start: \"x\""}},
            {"type": "namespace", "name": "fs", "description": "Files.", "tools": [
                {"type": "function", "name": "read", "description": "Read one."},
                {"type": "function", "name": "list"}]},
            {"type": "web_search_preview", "search_context_size": "low"},
            {"type": "image_generation"}
        ]}));
        assert_eq!(
            v["tools"],
            json!([
                {"type":"function","function":{"name":"f","description":"","parameters":{"type":"object","properties":{}},"strict":false},"cache_control":{"type":"ephemeral"}},
                {"type":"function","function":{"name":"apply_patch","description":"Patch files.\n\nFormat:\n```lark\nstart: \"x\"\n```",
                  "parameters":{"type":"object","properties":{"content":{"type":"string","description":"The apply_patch content following the specified format"}},"required":["content"]}}},
                {"type":"function","function":{"name":"fs__read","description":"Files.\n\nRead one.","parameters":{"type":"object"},"strict":false}},
                {"type":"function","function":{"name":"fs__list","description":"Files.","parameters":{"type":"object"},"strict":false}}
            ])
        );
        assert_eq!(
            v["web_search_options"],
            json!({"search_context_size":"low"})
        );
        // Only web search: no chat tools, so no tool_choice.
        let v = to_chat(
            &json!({"input": "x", "tools": [{"type": "web_search"}], "tool_choice": "required"}),
        );
        assert_eq!(v.get("tools"), None);
        assert_eq!(v.get("tool_choice"), None);
        assert_eq!(v["web_search_options"], json!({}));
    }

    #[test]
    fn custom_and_namespaced_calls_replay() {
        let v = to_chat(&json!({"input": [
            {"type": "custom_tool_call", "call_id": "c", "name": "apply_patch", "input": "*** Begin\n\"x\""},
            {"type": "function_call", "call_id": "d", "name": "read", "namespace": "fs", "arguments": "{}"},
            {"type": "custom_tool_call_output", "call_id": "c", "output": "ok"}
        ]}));
        let calls = &v["messages"][0]["tool_calls"];
        assert_eq!(calls[0]["function"]["name"], "apply_patch");
        let args: Value =
            serde_json::from_str(calls[0]["function"]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args, json!({"content": "*** Begin\n\"x\""}));
        assert_eq!(calls[1]["function"]["name"], "fs__read");
        assert_eq!(
            v["messages"][1],
            json!({"role":"tool","content":"ok","tool_call_id":"c"})
        );
    }

    #[test]
    fn request_errors() {
        assert!(matches!(
            to_chat_err(b"{\"input\":"),
            TranslateError::Json { .. }
        ));
        assert_eq!(to_chat_err(b"[1]"), TranslateError::NotObject);
        assert_eq!(
            to_chat_err(b"{\"model\":\"m\"}"),
            TranslateError::Missing("input")
        );
        let e = to_chat_err(br#"{"input":"x","previous_response_id":"resp_1"}"#);
        assert!(
            e.to_string()
                .contains("previous_response_id is not supported"),
            "{e}"
        );
        let e = to_chat_err(br#"{"input":"x","tools":[{"type":"mcp","server_label":"d"}]}"#);
        assert!(e.to_string().contains("'mcp'"), "{e}");
        let e = to_chat_err(br#"{"input":"x","tools":[{"type":"file_search"}]}"#);
        assert!(e.to_string().contains("'file_search'"), "{e}");
        assert!(matches!(
            to_chat_err(br#"{"input":7}"#),
            TranslateError::Invalid(_)
        ));
        assert!(matches!(
            to_chat_err(br#"{"input":["hi"]}"#),
            TranslateError::Invalid(_)
        ));
        assert!(matches!(
            to_chat_err(br#"{"input":[{"role":"user","content":5}]}"#),
            TranslateError::Invalid(_)
        ));
        assert!(matches!(
            to_chat_err(
                br#"{"input":"x","tools":[{"type":"function","name":"f","parameters":[1]}]}"#
            ),
            TranslateError::Invalid(_)
        ));
        assert!(matches!(
            to_chat_err(b"{\"input\":\"\xff\"}"),
            TranslateError::Json { .. }
        ));
        // A null previous_response_id is just absent.
        to_chat(&json!({"input": "x", "previous_response_id": null}));
    }

    // ---- chat.completion -> response -------------------------------------

    fn chat_text() -> Value {
        json!({
            "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
            "object": "chat.completion",
            "created": 1741476542,
            "model": "up",
            "system_fingerprint": null,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant",
                "content": "In a peaceful grove beneath a silver moon, a unicorn named Lumina discovered a hidden pool.",
                "tool_calls": null, "function_call": null}}],
            "usage": {"prompt_tokens": 36, "completion_tokens": 87, "total_tokens": 123,
                      "prompt_tokens_details": {"cached_tokens": 4},
                      "completion_tokens_details": {"reasoning_tokens": 0}}
        })
    }

    fn resp_id_of(chat_id: &str) -> String {
        let b = base64::engine::general_purpose::STANDARD.encode(format!(
            "litellm:custom_llm_provider:None;model_id:None;response_id:{chat_id}"
        ));
        format!("resp_{b}")
    }

    #[test]
    fn text_answer() {
        let (mut v, u) = to_resp(
            &chat_text(),
            &json!({"model": "gpt-4.1", "input": "Tell me a story", "temperature": 0.7, "metadata": {"a": "b"}}),
        );
        let id = v["output"][0]["id"].take();
        assert!(id.as_str().unwrap().starts_with("msg_"), "{id}");
        assert_eq!(
            v,
            json!({
                "id": resp_id_of("chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"),
                "created_at": 1741476542, "error": null, "incomplete_details": null,
                "instructions": null, "metadata": {"a": "b"}, "model": "client-m", "object": "response",
                "output": [{"type": "message", "id": null, "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": "In a peaceful grove beneath a silver moon, a unicorn named Lumina discovered a hidden pool.", "annotations": []}],
                    "phase": null}],
                "parallel_tool_calls": false, "temperature": 0.7, "tool_choice": "auto", "tools": [],
                "top_p": null, "max_output_tokens": null, "previous_response_id": null, "reasoning": null,
                "status": "completed", "text": {}, "truncation": null,
                "usage": {"input_tokens": 36, "input_tokens_details": {"cached_tokens": 4},
                          "output_tokens": 87, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 123},
                "user": null, "store": null
            })
        );
        assert_eq!(
            u,
            TokenUsage {
                prompt_tokens: 36,
                completion_tokens: 87,
                cache_read_tokens: 4,
                cache_creation_tokens: 0
            }
        );
        // Without a request: LiteLLM's defaults.
        let (v, _) = to_resp(&chat_text(), &Value::Null);
        assert_eq!(
            (v["metadata"].clone(), v["tools"].clone(), v["text"].clone()),
            (json!({}), json!([]), json!({}))
        );
    }

    #[test]
    fn tool_call_answer() {
        let chat = json!({
            "id": "chatcmpl-abc", "object": "chat.completion", "created": 1, "model": "up",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null, "reasoning_content": "Need weather.",
                "tool_calls": [
                    {"id": "call_12345xyz", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris, France\"}"}},
                    {"id": "toolu_9", "type": "function", "function": {"name": "apply_patch", "arguments": "{\"content\":\"*** Begin\\n\"}"}},
                    {"id": "call_n", "type": "function", "function": {"name": "fs__read", "arguments": "{}"}}
                ]}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        });
        let request = json!({"input": "x", "tool_choice": {"type": "function", "name": "get_weather"}, "tools": [
            weather_tool(), {"type": "custom", "name": "apply_patch"},
            {"type": "namespace", "name": "fs", "tools": [{"type": "function", "name": "read"}]}]});
        let (v, _) = to_resp(&chat, &request);
        let out = v["output"].as_array().unwrap();
        assert_eq!(out.len(), 4, "{v}");
        assert_eq!(out[0]["type"], "reasoning");
        assert_eq!(out[0]["content"][0]["text"], "Need weather.");
        assert_eq!(
            out[1],
            json!({"type":"function_call","id":"fc_call_12345xyz","call_id":"call_12345xyz","name":"get_weather",
                   "arguments":"{\"location\":\"Paris, France\"}","namespace":null,"caller":null,"status":"completed"})
        );
        assert_eq!(
            out[2],
            json!({"type":"custom_tool_call","id":"ctc_toolu_9","call_id":"toolu_9","name":"apply_patch","input":"*** Begin\n","status":"completed"})
        );
        assert_eq!(
            (out[3]["name"].clone(), out[3]["namespace"].clone()),
            (json!("read"), json!("fs"))
        );
        assert_eq!(v["status"], "completed");
        assert_eq!(
            v["tool_choice"],
            json!({"type":"function","name":"get_weather"})
        );
        assert_eq!(
            v["tools"][0],
            json!({"name":"get_weather","parameters":weather_tool()["parameters"],"strict":true,"type":"function",
                   "allowed_callers":null,"defer_loading":null,
                   "description":"Get current temperature for a given location.","output_schema":null})
        );
    }

    #[test]
    fn length_finish_is_incomplete() {
        let mut chat = chat_text();
        chat["choices"][0]["finish_reason"] = json!("length");
        let (v, _) = to_resp(&chat, &json!({"input": "x", "max_output_tokens": 87}));
        assert_eq!(v["status"], "incomplete");
        assert_eq!(
            v["incomplete_details"],
            json!({"reason": "max_output_tokens"})
        );
        assert_eq!(v["output"][0]["status"], "incomplete");
        assert_eq!(v["max_output_tokens"], 87);
        chat["choices"][0]["finish_reason"] = json!("content_filter");
        let (v, _) = to_resp(&chat, &Value::Null);
        assert_eq!(v["incomplete_details"], json!({"reason": "content_filter"}));
    }

    #[test]
    fn response_errors() {
        let mut out = b"keep".to_vec();
        assert!(chat_to_responses_response(b"{\"id\":", b"", "m", &mut out).is_err());
        assert!(chat_to_responses_response(b"[]", b"", "m", &mut out).is_err());
        assert!(chat_to_responses_response(
            br#"{"choices":[{"message":{"content":[1]},"finish_reason":"stop"}]}"#,
            b"",
            "m",
            &mut out
        )
        .is_err());
        assert_eq!(out, b"keep");
        // A garbled request only loses the echo.
        let (v, _) = to_resp(&chat_text(), &json!("not an object"));
        assert_eq!(v["status"], "completed");
    }

    // ---- stream ---------------------------------------------------------

    fn types(events: &[(String, Value)]) -> Vec<&str> {
        events.iter().map(|(n, _)| n.as_str()).collect()
    }

    fn check_sequence(events: &[(String, Value)]) {
        for (i, (_, v)) in events.iter().enumerate() {
            assert_eq!(v["sequence_number"], i as u64, "{v}");
        }
    }

    #[test]
    fn stream_text() {
        let request = json!({"model": "gpt-4.1", "instructions": "Be nice.", "input": "Hi", "stream": true, "temperature": 0.3});
        let pieces = ["Hel", "lo \\\"w", "orld\\n", "!"];
        let mut chunks = vec![chunk(
            json!({"role": "assistant", "content": ""}),
            Value::Null,
        )];
        for p in ["Hel", "lo \"w", "orld\n", "!"] {
            chunks.push(chunk(json!({"content": p}), Value::Null));
        }
        chunks.push(chunk(json!({}), json!("stop")));
        chunks.push(usage_chunk());
        let (ev, done) = run_stream(&request, &chunks, true);
        assert!(done);
        check_sequence(&ev);
        assert_eq!(
            types(&ev),
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.completed"
            ]
        );
        let _ = pieces;
        let created = &ev[0].1["response"];
        assert_eq!(created["id"], resp_id_of("chatcmpl-123"));
        assert_eq!(created["status"], "in_progress");
        assert_eq!(created["instructions"], "Be nice.");
        assert_eq!(created["temperature"], 0.3);
        assert_eq!(created["parallel_tool_calls"], true);
        assert_eq!(created["top_p"], 1.0);
        assert_eq!(created["store"], true);
        assert_eq!(created["model"], "client-m");
        assert!(created.get("usage").is_none() && created.get("error").is_none());
        let deltas: String = ev
            .iter()
            .filter(|(n, _)| n == "response.output_text.delta")
            .map(|(_, v)| v["delta"].as_str().unwrap())
            .collect();
        assert_eq!(deltas, "Hello \"world\n!");
        let item_id = ev[2].1["item"]["id"].as_str().unwrap().to_owned();
        assert!(item_id.starts_with("msg_"));
        for (_, v) in &ev[3..11] {
            assert_eq!(v["item_id"].as_str().unwrap_or(item_id.as_str()), item_id);
            assert_eq!(v["output_index"], 0);
        }
        assert_eq!(ev[8].1["text"], deltas);
        assert_eq!(
            ev[9].1["part"],
            json!({"type":"output_text","text":deltas,"annotations":[]})
        );
        assert_eq!(ev[10].1["item"]["content"][0]["text"], deltas);
        let done = &ev[11].1["response"];
        assert_eq!(done["id"], created["id"]);
        assert_eq!(done["status"], "completed");
        assert_eq!(done["output"][0]["id"], item_id);
        assert_eq!(done["output"][0]["content"][0]["text"], deltas);
        assert_eq!(done["usage"]["input_tokens"], 37);
        assert_eq!(done["usage"]["input_tokens_details"]["cached_tokens"], 5);
        assert_eq!(done["usage"]["total_tokens"], 48);
        assert_eq!(done["parallel_tool_calls"], false);
        assert!(
            done.get("top_p").is_none(),
            "nulls are left out in a stream"
        );
    }

    #[test]
    fn stream_tool_call_arguments() {
        let request = json!({"input": "weather?", "tools": [weather_tool()], "stream": true});
        let call = |index: u64, id: Option<&str>, name: Option<&str>, args: &str| {
            let mut f = json!({"arguments": args});
            if let Some(n) = name {
                f["name"] = json!(n);
            }
            let mut tc = json!({"index": index, "type": "function", "function": f});
            if let Some(id) = id {
                tc["id"] = json!(id);
            }
            chunk(json!({"tool_calls": [tc]}), Value::Null)
        };
        let chunks = vec![
            chunk(json!({"role": "assistant", "content": null}), Value::Null),
            chunk(json!({"content": "Checking."}), Value::Null),
            call(0, Some("call_a"), Some("get_weather"), ""),
            call(0, None, None, "{\"loca"),
            call(0, None, None, "tion\":\"Paris\"}"),
            call(1, Some("call_b"), Some("get_weather"), "{\"location\":"),
            call(1, None, None, "\"Rome\"}"),
            chunk(json!({}), json!("tool_calls")),
            usage_chunk(),
        ];
        let (ev, done) = run_stream(&request, &chunks, true);
        assert!(done);
        check_sequence(&ev);
        assert_eq!(
            types(&ev),
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.completed"
            ]
        );
        assert_eq!(
            ev[5].1["item"],
            json!({"type":"function_call","id":"fc_call_a","call_id":"call_a","name":"get_weather","arguments":"","status":"in_progress"})
        );
        for (id, idx, want) in [
            ("fc_call_a", 1, "{\"location\":\"Paris\"}"),
            ("fc_call_b", 2, "{\"location\":\"Rome\"}"),
        ] {
            let deltas: String = ev
                .iter()
                .filter(|(n, v)| {
                    n == "response.function_call_arguments.delta" && v["item_id"] == id
                })
                .map(|(_, v)| v["delta"].as_str().unwrap())
                .collect();
            assert_eq!(deltas, want);
            let done = ev
                .iter()
                .find(|(n, v)| n == "response.function_call_arguments.done" && v["item_id"] == id)
                .unwrap();
            assert_eq!(done.1["arguments"], want);
            assert_eq!(done.1["output_index"], idx);
        }
        let out = &ev[18].1["response"]["output"];
        assert_eq!(out.as_array().unwrap().len(), 3);
        assert_eq!(out[0]["type"], "message");
        assert_eq!(out[1]["arguments"], "{\"location\":\"Paris\"}");
        assert_eq!(out[2]["call_id"], "call_b");
    }

    #[test]
    fn stream_reasoning_length_and_finish_without_done() {
        let chunks = vec![
            chunk(
                json!({"role": "assistant", "reasoning_content": "Let me"}),
                Value::Null,
            ),
            chunk(json!({"reasoning_content": " think."}), Value::Null),
            chunk(json!({"content": "Answer"}), Value::Null),
            chunk(json!({}), json!("length")),
        ];
        let (ev, done) = run_stream(
            &json!({"input": "x", "max_output_tokens": 5}),
            &chunks,
            false,
        );
        assert!(done, "finish() still ends with [DONE]");
        check_sequence(&ev);
        assert_eq!(
            types(&ev),
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.done",
                "response.reasoning_summary_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.incomplete"
            ]
        );
        assert_eq!(ev[5].1["text"], "Let me think.");
        assert_eq!(ev[8].1["output_index"], 1);
        let r = &ev[14].1["response"];
        assert_eq!(r["status"], "incomplete");
        assert_eq!(r["incomplete_details"]["reason"], "max_output_tokens");
        assert_eq!(r["output"][0]["type"], "reasoning");
        assert_eq!(r["output"][1]["content"][0]["text"], "Answer");
        assert_eq!(r["usage"]["total_tokens"], 0);
    }

    #[test]
    fn stream_error_and_garbage() {
        let mut st = ChatToResponsesStream::new("m", b"");
        let mut out = Vec::new();
        st.feed(b"data: {\"error\":{\"message\":\"overloaded\",\"type\":\"overloaded_error\",\"code\":\"529\"}}\n\n", &mut out)
            .unwrap();
        assert!(st.is_done());
        let text = String::from_utf8(out.clone()).unwrap();
        let data: Value =
            serde_json::from_str(text.split("data: ").nth(1).unwrap().trim()).unwrap();
        assert_eq!(data["type"], "response.failed");
        assert_eq!(
            data["response"]["error"],
            json!({"code":"overloaded_error","message":"overloaded"})
        );
        st.feed(b"data: {\"choices\":[]}\n\n", &mut out).unwrap();
        assert_eq!(text.len(), out.len(), "nothing after the end");
        let mut st = ChatToResponsesStream::new("m", b"{not json");
        assert!(st.feed(b"data: {bad\n\n", &mut out).is_err());
        // An empty upstream still yields a complete, well-formed stream.
        let (ev, done) = run_stream(&json!({}), &[], true);
        assert!(done);
        assert_eq!(
            types(&ev),
            [
                "response.created",
                "response.in_progress",
                "response.completed"
            ]
        );
    }

    // ---- property: nothing lost -----------------------------------------

    mod prop {
        use super::*;
        use proptest::prelude::*;

        fn text() -> impl Strategy<Value = String> {
            proptest::string::string_regex("[a-zA-Z0-9 \"\\\\\n\t/é😀<>{}]{0,12}").unwrap()
        }

        #[derive(Clone, Debug)]
        enum In {
            Msg {
                role: &'static str,
                parts: Vec<(bool, String)>,
                as_string: bool,
            },
            Call {
                id: String,
                name: String,
                args: String,
            },
            Out {
                id: String,
                output: String,
            },
        }

        fn item() -> impl Strategy<Value = In> {
            prop_oneof![
                (
                    prop_oneof![Just("user"), Just("system"), Just("developer")],
                    proptest::collection::vec((any::<bool>(), text()), 0..4),
                    any::<bool>()
                )
                    .prop_map(|(role, parts, as_string)| In::Msg {
                        role,
                        parts,
                        as_string
                    }),
                ("[a-z_0-9]{1,8}", "[a-z_]{1,8}", text()).prop_map(|(id, name, args)| In::Call {
                    id: format!("call_{id}"),
                    name,
                    args
                }),
                ("[a-z_0-9]{1,8}", text()).prop_map(|(id, output)| In::Out {
                    id: format!("call_{id}"),
                    output
                }),
            ]
        }

        fn item_json(it: &In) -> Value {
            match it {
                In::Msg {
                    role,
                    parts,
                    as_string,
                } if *as_string => {
                    let t: String = parts.iter().map(|(_, t)| t.as_str()).collect();
                    json!({"role": role, "content": t})
                }
                In::Msg { role, parts, .. } => json!({"type": "message", "role": role, "content":
                    parts.iter().map(|(img, t)| if *img {
                        json!({"type": "input_image", "image_url": format!("https://img/{t}")})
                    } else {
                        json!({"type": "input_text", "text": t})
                    }).collect::<Vec<_>>()}),
                In::Call { id, name, args } => {
                    json!({"type": "function_call", "call_id": id, "name": name, "arguments": args})
                }
                In::Out { id, output } => {
                    json!({"type": "function_call_output", "call_id": id, "output": output})
                }
            }
        }

        proptest! {
            #[test]
            fn nothing_lost(
                input in proptest::collection::vec(item(), 0..8),
                plain in proptest::option::of(text()),
                instructions in proptest::option::of(text()),
                tools in proptest::collection::vec(("[a-z_]{1,8}", text()), 0..3),
                stream in any::<bool>(),
            ) {
                let mut body = json!({"model": "m", "stream": stream});
                match &plain {
                    Some(p) => body["input"] = json!(p),
                    None => body["input"] = Value::Array(input.iter().map(item_json).collect()),
                }
                if let Some(i) = &instructions {
                    body["instructions"] = json!(i);
                }
                if !tools.is_empty() {
                    body["tools"] = Value::Array(tools.iter().map(|(n, d)| json!(
                        {"type": "function", "name": n, "description": d, "parameters": {"type": "object"}}
                    )).collect());
                }
                let v = to_chat(&body);
                let msgs = v["messages"].as_array().unwrap();
                let mut m = msgs.iter();
                if let Some(i) = instructions.as_ref().filter(|i| !i.is_empty()) {
                    prop_assert_eq!(m.next().unwrap(), &json!({"role": "system", "content": i}));
                }
                if let Some(p) = &plain {
                    prop_assert_eq!(m.next().unwrap(), &json!({"role": "user", "content": p}));
                    prop_assert!(m.next().is_none());
                } else {
                    // Walk the items: calls gather into assistant messages,
                    // everything else maps one to one.
                    let mut pending: Vec<Value> = Vec::new();
                    let mut got_calls: Vec<Value> = Vec::new();
                    let mut flat: Vec<Value> = Vec::new();
                    for msg in m {
                        if msg["role"] == "assistant" {
                            got_calls.extend(msg["tool_calls"].as_array().unwrap().iter().cloned());
                        } else {
                            flat.push(msg.clone());
                        }
                    }
                    let mut want_flat = Vec::new();
                    for it in &input {
                        match it {
                            In::Call { id, name, args } => pending.push(json!(
                                {"id": id, "type": "function", "function": {"name": name, "arguments": args}})),
                            In::Out { id, output } => want_flat.push(json!(
                                {"role": "tool", "content": output, "tool_call_id": id})),
                            In::Msg { role, parts, as_string } => want_flat.push(if *as_string {
                                json!({"role": role, "content": parts.iter().map(|(_, t)| t.as_str()).collect::<String>()})
                            } else {
                                json!({"role": role, "content": parts.iter().map(|(img, t)| if *img {
                                    json!({"type": "image_url", "image_url": {"url": format!("https://img/{t}"), "detail": "auto"}})
                                } else {
                                    json!({"type": "text", "text": t})
                                }).collect::<Vec<_>>()})
                            }),
                        }
                    }
                    prop_assert_eq!(got_calls, pending);
                    prop_assert_eq!(flat, want_flat);
                }
                let got_tools = v.get("tools").cloned().unwrap_or(json!([]));
                prop_assert_eq!(got_tools.as_array().unwrap().len(), tools.len());
                for (t, (n, d)) in got_tools.as_array().unwrap().iter().zip(&tools) {
                    prop_assert_eq!(&t["function"]["name"], &json!(n));
                    prop_assert_eq!(&t["function"]["description"], &json!(d));
                }
            }
        }
    }

    // ---- timings --------------------------------------------------------

    fn time(iters: u32, mut f: impl FnMut()) -> f64 {
        for _ in 0..iters / 10 {
            f();
        }
        let t = std::time::Instant::now();
        for _ in 0..iters {
            f();
        }
        t.elapsed().as_nanos() as f64 / f64::from(iters)
    }

    /// `cargo test --release -p ringway --lib responses::tests::measure -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn measure() {
        let iters = 20_000;
        let request =
            json!({"model": "m", "instructions": "Be nice.", "input": "Hi", "stream": true,
                             "tools": [weather_tool()], "temperature": 0.3})
            .to_string();
        let mut events: Vec<String> = vec![format!(
            "data: {}\n\n",
            chunk(json!({"role": "assistant", "content": ""}), Value::Null)
        )];
        for i in 0..40 {
            events.push(format!(
                "data: {}\n\n",
                chunk(json!({"content": format!("word{i} \"q\" ")}), Value::Null)
            ));
        }
        for piece in ["{\"loc", "ation\":", "\"Paris\"}"] {
            events.push(format!(
                "data: {}\n\n",
                chunk(json!({"tool_calls": [{"index": 0, "id": if piece.starts_with('{') { json!("call_1") } else { Value::Null },
                    "function": {"name": "get_weather", "arguments": piece}}]}), Value::Null)
            ));
        }
        events.push(format!(
            "data: {}\n\n",
            chunk(json!({}), json!("tool_calls"))
        ));
        events.push(format!("data: {}\n\n", usage_chunk()));
        events.push("data: [DONE]\n\n".to_owned());
        let mut out = Vec::with_capacity(1 << 16);
        let per_event = time(iters / 10, || {
            out.clear();
            let mut st = ChatToResponsesStream::new("client-m", request.as_bytes());
            for e in &events {
                st.feed(e.as_bytes(), &mut out).unwrap();
            }
        }) / events.len() as f64;
        let mut st = ChatToResponsesStream::new("client-m", request.as_bytes());
        st.feed(events[0].as_bytes(), &mut out).unwrap();
        let delta = events[5].as_bytes();
        let delta_ns = time(iters * 10, || {
            out.clear();
            st.feed(std::hint::black_box(delta), &mut out).unwrap();
        });
        let body = json!({"model": "m", "instructions": "Be nice.", "tools": [weather_tool()], "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "What is the weather like in Paris today?"}]},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{\"location\":\"Paris\"}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "{\"temperature\": 14}"}]})
        .to_string();
        let req_ns = time(iters, || {
            out.clear();
            responses_to_chat_request(std::hint::black_box(body.as_bytes()), "up", &mut out)
                .unwrap();
        });
        let chat = chat_text().to_string();
        let resp_ns = time(iters, || {
            out.clear();
            chat_to_responses_response(
                std::hint::black_box(chat.as_bytes()),
                request.as_bytes(),
                "m",
                &mut out,
            )
            .unwrap();
        });
        println!(
            "stream: {per_event:.0} ns/event over a {}-event stream (setup, created and completed included), {delta_ns:.0} ns per text delta | request {} B: {req_ns:.0} ns | response: {resp_ns:.0} ns",
            events.len(),
            body.len()
        );
    }
}
