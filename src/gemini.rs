//! Google Gemini (AI Studio) and Vertex AI: OpenAI Chat Completions ⇄
//! `generateContent` / `streamGenerateContent?alt=sse`, and OpenAI
//! embeddings ⇄ AI Studio `batchEmbedContents` / Vertex text-embedding
//! `:predict`. Pure functions and one stream state machine: no sockets, no
//! clocks beyond `created`, no configuration. AI Studio and Vertex share the
//! `generateContent` body; they differ only in URL and auth, which the caller
//! builds ([`gemini_path`], [`vertex_path`] spell the paths).
//!
//! Follows LiteLLM 1.106.2 (the code is our own):
//! `llms/vertex_ai/gemini/transformation.py` (`_gemini_convert_messages_with_history`,
//! `_transform_request_body`, `_transform_system_message`),
//! `llms/vertex_ai/gemini/vertex_and_google_ai_studio_gemini.py`
//! (`VertexGeminiConfig.map_openai_params`, `_map_function`,
//! `apply_response_schema_transformation`, `_process_candidates`,
//! `_calculate_usage`, `ModelResponseIterator.chunk_parser`),
//! `litellm_core_utils/prompt_templates/factory.py`
//! (`convert_to_gemini_tool_call_invoke` / `_result`),
//! `llms/vertex_ai/common_utils.py` (`build_vertex_schema` and helpers,
//! `get_image_mime_type_from_url`), `llms/vertex_ai/gemini_embeddings/
//! batch_embed_content_transformation.py` and
//! `llms/vertex_ai/vertex_embeddings/transformation.py`.
//!
//! * [`openai_to_gemini_request`] (model-agnostic) and
//!   [`openai_to_gemini_request_for_model`] (applies LiteLLM's per-model
//!   rules: Gemini 3 `thinkingLevel` and default temperature 1.0, no penalty
//!   parameters on Gemini 3, `responseJsonSchema` on Gemini ≥ 2);
//! * [`gemini_to_openai_response`], [`GeminiToOpenAiStream`];
//! * embeddings: [`openai_to_gemini_embed_request`],
//!   [`gemini_to_openai_embed_response`], [`openai_to_vertex_embed_request`],
//!   [`vertex_to_openai_embed_response`].
//!
//! Reading and writing work as in [`crate::anthropic`]: one validating pull
//! pass records byte spans, the output is written once, JSON strings move
//! as raw escaped bytes, and nothing panics on client- or provider-controlled
//! input. The OpenAI side (reading `messages`, writing the completion and
//! its chunks) is the shared `chat` module. The decoding happens where the
//! formats differ: tool-call
//! `arguments` (a JSON string) becomes `functionCall.args` (JSON), a tool
//! result that is a JSON object becomes `functionResponse.response`, and the
//! way back re-serialises `args` with Python's `json.dumps` spacing
//! (`{"a": 1}`), as LiteLLM does. Tool parameter schemas are rewritten by a
//! span-walking port of `build_vertex_schema` (`push_schema`).
//!
//! Not done (LiteLLM does them, a pure translation cannot or need not):
//! downloading `http(s)` media (sent as `fileData` with the URL instead);
//! GCS metadata lookups for extension-less `gs://` URIs (an error asks for
//! `format`); context caching; `media_resolution` from image `detail`;
//! image/audio outputs (`images`, `audio`); logprobs in answers; the dummy
//! thought signature LiteLLM adds for Gemini 3 when a replayed tool call has
//! none. Unknown OpenAI parameters are ignored silently (LiteLLM drops them
//! only with `drop_params`; it would raise otherwise). Streams use candidate
//! 0 only (`n > 1` streams are rare; plain answers keep every candidate).

use std::borrow::Cow;

pub use crate::anthropic::ReqInfo;
use crate::chat::*;
use crate::json::*;
pub use crate::json::{TokenUsage, TranslateError};

// ---------------------------------------------------------------------------
// Paths and per-model rules
// ---------------------------------------------------------------------------

/// AI Studio path (after `https://generativelanguage.googleapis.com`):
/// `/v1beta/models/{model}:generateContent`, or
/// `:streamGenerateContent?alt=sse` when streaming.
pub fn gemini_path(model: &str, stream: bool) -> String {
    let m = model.strip_prefix("models/").unwrap_or(model);
    format!("/v1beta/models/{m}:{}", method(stream))
}

/// Vertex AI path (after `https://{location}-aiplatform.googleapis.com`, or
/// `https://aiplatform.googleapis.com` for `global`).
pub fn vertex_path(project: &str, location: &str, model: &str, stream: bool) -> String {
    format!(
        "/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:{}",
        method(stream)
    )
}

/// AI Studio embeddings: `/v1beta/models/{model}:batchEmbedContents`.
pub fn gemini_embed_path(model: &str) -> String {
    let m = model.strip_prefix("models/").unwrap_or(model);
    format!("/v1beta/models/{m}:batchEmbedContents")
}

/// Vertex text embeddings: `.../publishers/google/models/{model}:predict`.
pub fn vertex_embed_path(project: &str, location: &str, model: &str) -> String {
    format!("/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:predict")
}

fn method(stream: bool) -> &'static str {
    if stream {
        "streamGenerateContent?alt=sse"
    } else {
        "generateContent"
    }
}

/// LiteLLM's `_is_gemini_3_or_newer`: anything that is not a 1.x/2.x/
/// pro/flash/exp Gemini name (and not empty, a tuned-model number or Gemma).
fn is_gemini_3_or_newer(model: &str) -> bool {
    let name = model.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
    let tuned = name.bytes().all(|c| c.is_ascii_digit())
        || (model.starts_with("gemini/") && !name.starts_with("gemini-"));
    if name.is_empty() || tuned || name.starts_with("gemma-") {
        return false;
    }
    let Some(rest) = name.strip_prefix("gemini-") else {
        return true;
    };
    let ends = |s: &str| s.is_empty() || s.starts_with('-');
    let b = rest.as_bytes();
    let old = if matches!(b.first(), Some(b'1' | b'2')) {
        let mut r = &rest[1..];
        if let Some(d) = r.strip_prefix('.') {
            let n = d.bytes().take_while(u8::is_ascii_digit).count();
            if n > 0 {
                r = &d[n..];
            }
        }
        ends(r)
    } else if let Some(r) = rest.strip_prefix("exp") {
        ends(r)
    } else if let Some(r) = rest
        .strip_prefix("pro")
        .or_else(|| rest.strip_prefix("flash"))
    {
        ends(r) && r != "-latest" && r != "-lite-latest"
    } else {
        false
    };
    !old
}

/// LiteLLM's `supports_response_json_schema`: `gemini-N.` / `gemini-N-`
/// with N ≥ 2.
fn supports_json_schema(model: &str) -> bool {
    let m = model.to_ascii_lowercase();
    m.match_indices("gemini-").any(|(i, _)| {
        let rest = &m.as_bytes()[i + 7..];
        let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        let next_ok = matches!(rest.get(n), Some(b'.' | b'-'));
        next_ok && ((n == 1 && rest[0] >= b'2') || (n >= 2 && rest[0] != b'0'))
    })
}

// ---------------------------------------------------------------------------
// OpenAI chat request -> generateContent request
// ---------------------------------------------------------------------------

const PART_KEYS: [&str; 5] = ["type", "text", "image_url", "input_audio", "file"];
const P_TYPE: usize = 0;
const P_TEXT: usize = 1;
const P_IMAGE: usize = 2;
const P_AUDIO: usize = 3;
const P_FILE: usize = 4;
type OaPart<'a> = Part<'a, 5>;

/// The top-level OpenAI fields the translation uses.
#[derive(Default)]
struct Req<'a> {
    has_messages: bool,
    stream: bool,
    include_usage: bool,
    max_tokens: Option<Val<'a>>,
    temperature: Option<Val<'a>>,
    top_p: Option<Val<'a>>,
    top_k: Option<Val<'a>>,
    n: Option<Val<'a>>,
    stop: Option<Val<'a>>,
    seed: Option<Val<'a>>,
    presence_penalty: Option<Val<'a>>,
    frequency_penalty: Option<Val<'a>>,
    response_format: Option<Val<'a>>,
    reasoning_effort: Option<Val<'a>>,
    thinking: Option<Val<'a>>,
    logprobs: Option<Val<'a>>,
    top_logprobs: Option<Val<'a>>,
    modalities: Option<Val<'a>>,
    tools: Option<Val<'a>>,
    functions: Option<Val<'a>>,
    web_search: bool,
    tool_choice: Option<Val<'a>>,
    safety_settings: Option<Val<'a>>,
    cached_content: Option<Val<'a>>,
}

/// Writes `contents`: opens a turn on its first part (a turn with no part
/// is not written, as in LiteLLM) and closes it.
struct Turns {
    written: usize,
    open: bool,
    parts: usize,
    has_text: bool,
}

impl Turns {
    fn part(&mut self, out: &mut Vec<u8>, role: &[u8]) {
        if !self.open {
            if self.written > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"role\":\"");
            out.extend_from_slice(role);
            out.extend_from_slice(b"\",\"parts\":[");
            self.open = true;
            self.written += 1;
            self.parts = 0;
            self.has_text = false;
        }
        comma(out, &mut self.parts);
    }

    fn text(&mut self, out: &mut Vec<u8>, role: &[u8], text: Str<'_>) {
        self.part(out, role);
        self.has_text = true;
        out.extend_from_slice(b"{\"text\":");
        push_raw(out, text);
        out.push(b'}');
    }

    /// `blank_if_no_text`: a user turn with media only gets a `" "` text
    /// part (Vertex rejects user turns without text; LiteLLM issue 5515).
    fn close(&mut self, out: &mut Vec<u8>, blank_if_no_text: bool) {
        if self.open {
            if blank_if_no_text && !self.has_text {
                out.extend_from_slice(b",{\"text\":\" \"}");
            }
            out.extend_from_slice(b"]}");
            self.open = false;
        }
    }
}

/// LiteLLM's `get_image_mime_type_from_url` (path extension, query ignored).
fn mime_from_url(url: &[u8]) -> Option<&'static str> {
    let path = match memchr::memchr2(b'?', b'#', url) {
        Some(i) => &url[..i],
        None => url,
    };
    let lower = path.to_ascii_lowercase();
    const TABLE: &[(&str, &str)] = &[
        (".jpg", "image/jpeg"),
        (".jpeg", "image/jpeg"),
        (".png", "image/png"),
        (".webp", "image/webp"),
        (".mp4", "video/mp4"),
        (".mov", "video/mov"),
        (".mpeg", "video/mpeg"),
        (".mpg", "video/mpeg"),
        (".avi", "video/avi"),
        (".wmv", "video/wmv"),
        (".mpegps", "video/mpegps"),
        (".flv", "video/flv"),
        (".mp3", "audio/mp3"),
        (".wav", "audio/wav"),
        (".ogg", "audio/ogg"),
        (".pdf", "application/pdf"),
        (".txt", "text/plain"),
    ];
    TABLE
        .iter()
        .find(|(ext, _)| lower.ends_with(ext.as_bytes()))
        .map(|(_, m)| *m)
}

const GEMINI_FILES_PREFIX: &[u8] = b"https://generativelanguage.googleapis.com/v1beta/files/";

/// A `data:<mime>;base64,<data>` URL split (raw bodies).
fn split_data_url(url: Str<'_>) -> Option<(Str<'_>, Str<'_>)> {
    let rest = url.0.strip_prefix(b"data:")?;
    let at = memchr::memmem::find(rest, b";base64,")?;
    Some((Str(&rest[..at]), Str(&rest[at + 8..])))
}

fn push_file_data(out: &mut Vec<u8>, mime: Option<&[u8]>, uri: Str<'_>) {
    out.extend_from_slice(b"{\"fileData\":{");
    if let Some(m) = mime {
        out.extend_from_slice(b"\"mimeType\":\"");
        out.extend_from_slice(m);
        out.extend_from_slice(b"\",");
    }
    out.extend_from_slice(b"\"fileUri\":");
    push_raw(out, uri);
    out.extend_from_slice(b"}}");
}

fn push_inline_data(out: &mut Vec<u8>, mime: &[u8], data: Str<'_>) {
    out.extend_from_slice(b"{\"inlineData\":{\"mimeType\":\"");
    out.extend_from_slice(mime);
    out.extend_from_slice(b"\",\"data\":");
    push_raw(out, data);
    out.extend_from_slice(b"}}");
}

/// LiteLLM's `_process_gemini_media`: a media URL (or data URL) as a part.
/// `format` is the raw body of an explicit MIME type.
fn push_media(out: &mut Vec<u8>, url: Str<'_>, format: Option<Str<'_>>) -> Res<()> {
    let decoded = url.decoded().unwrap_or(Cow::Borrowed(url.0));
    let u: &[u8] = &decoded;
    let fmt = format.filter(|f| !f.is_empty()).map(|f| f.0);
    if memchr::memmem::find(u, b"gs://").is_some() {
        let Some(mime) = fmt.or_else(|| mime_from_url(u).map(str::as_bytes)) else {
            return invalid(format!(
                "Unable to determine mime type for gs URI: {}. Set it explicitly using \
                 image_url.format (or image_url.mime_type/content_type) or \
                 message.content[].file.format.",
                String::from_utf8_lossy(u)
            ));
        };
        push_file_data(out, Some(mime), url);
    } else if u.starts_with(GEMINI_FILES_PREFIX) {
        push_file_data(out, fmt, url);
    } else if u.starts_with(b"https://") || u.starts_with(b"http://") {
        // LiteLLM downloads plain-http and unknown-type URLs and inlines
        // them; a pure translation passes the URL and lets Google fetch it.
        push_file_data(
            out,
            fmt.or_else(|| mime_from_url(u).map(str::as_bytes)),
            url,
        );
    } else if let Some((mime, data)) = split_data_url(url) {
        push_inline_data(out, fmt.unwrap_or(mime.0), data);
    } else {
        return invalid(format!(
            "Invalid image received - {}",
            String::from_utf8_lossy(&u[..u.len().min(64)])
        ));
    }
    Ok(())
}

/// The `url` and explicit MIME type of an `image_url` value (a string, or
/// `{"url", "format"|"mime_type"|"content_type"}`).
fn image_url_of(v: Option<Val<'_>>) -> Res<(Str<'_>, Option<Str<'_>>)> {
    let Some(v) = v else {
        return invalid(
            "Invalid message content: element type is 'image_url' but 'image_url' field is missing ",
        );
    };
    if let Some(s) = v.str() {
        return Ok((s, None));
    }
    let [url, format, mime, ctype] = v.fields(&["url", "format", "mime_type", "content_type"]);
    let Some(url) = url.and_then(Val::str) else {
        return invalid(
            "Invalid message content: element type is 'image_url' but 'url' field is missing inside 'image_url' ",
        );
    };
    let fmt = [format, mime, ctype]
        .into_iter()
        .flatten()
        .filter_map(Val::str)
        .find(|s| !s.is_empty());
    Ok((url, fmt))
}

fn user_message(
    out: &mut Vec<u8>,
    turns: &mut Turns,
    m: &Msg<'_>,
    parts: &[OaPart<'_>],
) -> Res<()> {
    let Some(content) = m.content else {
        return Ok(());
    };
    if let Some(text) = content.str() {
        turns.text(out, b"user", text);
        return Ok(());
    }
    if m.parts.is_none() {
        return invalid("Invalid Message passed in: user content must be a string or an array");
    }
    for part in slice(parts, m.parts) {
        let Some(ty) = part.str(P_TYPE) else { continue };
        if ty.is("text") {
            if let Some(t) = part.str(P_TEXT).filter(|t| !t.is_empty()) {
                turns.text(out, b"user", t);
            }
        } else if ty.is("image_url") {
            let (url, fmt) = image_url_of(part.val(P_IMAGE))?;
            turns.part(out, b"user");
            push_media(out, url, fmt)?;
        } else if ty.is("input_audio") {
            let [data, format] = part
                .val(P_AUDIO)
                .map_or([None, None], |a| a.fields(&["data", "format"]));
            if let (Some(data), Some(format)) = (data.and_then(Val::str), format.and_then(Val::str))
            {
                turns.part(out, b"user");
                let mut mime = Vec::with_capacity(format.0.len() + 6);
                if !format.starts_with(b"audio/") {
                    mime.extend_from_slice(b"audio/");
                }
                mime.extend_from_slice(format.0);
                push_inline_data(out, &mime, data);
            }
        } else if ty.is("file") {
            let Some(file) = part.val(P_FILE).filter(|f| f.is_obj()) else {
                return invalid(
                    "Content block has type='file' but is missing the required 'file' field",
                );
            };
            let [id, data, format, mime, ctype] = file.fields(&[
                "file_id",
                "file_data",
                "format",
                "mime_type",
                "content_type",
            ]);
            let Some(src) = id.or(data).and_then(Val::str) else {
                return invalid("Unknown file type. Please pass in a file_id or file_data");
            };
            let fmt = [format, mime, ctype]
                .into_iter()
                .flatten()
                .filter_map(Val::str)
                .find(|s| !s.is_empty());
            turns.part(out, b"user");
            push_media(out, src, fmt)?;
        }
        // Other part types (refusal, unknown): Gemini has no equivalent.
    }
    Ok(())
}

/// The separator LiteLLM uses to carry a Gemini thought signature inside an
/// OpenAI tool-call id (`call_<hex>__thought__<signature>`).
const THOUGHT_SEP: &[u8] = b"__thought__";

/// OpenAI `arguments` (a JSON string) as Gemini `args` (the JSON), decoded
/// straight into `out` and validated. LiteLLM sends `{"type": "object"}`
/// for an empty or missing `arguments`.
fn push_args(out: &mut Vec<u8>, args: Option<Val<'_>>) -> Res<()> {
    let s = match args {
        Some(v) if v.is_obj() => {
            out.extend_from_slice(v.0);
            return Ok(());
        }
        Some(v) => match v.str() {
            Some(s) => s,
            None => return invalid("tool call 'arguments' must be a JSON string"),
        },
        None => Str(b""),
    };
    if s.is_empty() {
        out.extend_from_slice(b"{\"type\":\"object\"}");
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

/// One `functionCall` part, with the thought signature LiteLLM carries in
/// the id or in `provider_specific_fields.thought_signature`.
fn push_function_call(
    out: &mut Vec<u8>,
    turns: &mut Turns,
    f: Val<'_>,
    call: Option<Val<'_>>,
) -> Res<()> {
    let [name, arguments] = f.fields(&["name", "arguments"]);
    turns.part(out, b"model");
    out.extend_from_slice(b"{\"functionCall\":{\"name\":");
    push_raw(out, name.and_then(Val::str).unwrap_or(Str(b"")));
    out.extend_from_slice(b",\"args\":");
    push_args(out, arguments)?;
    out.push(b'}');
    fn psf_sig(v: Option<Val<'_>>) -> Option<Str<'_>> {
        v.and_then(|v| v.get("provider_specific_fields"))
            .and_then(|p| p.get_str("thought_signature"))
            .filter(|s| !s.is_empty())
    }
    let from_id = call
        .and_then(|c| c.get_str("id"))
        .and_then(|id| memchr::memmem::find(id.0, THOUGHT_SEP).map(|i| Str(&id.0[i + 11..])));
    if let Some(sig) = psf_sig(call).or(psf_sig(Some(f))).or(from_id) {
        out.extend_from_slice(b",\"thoughtSignature\":");
        push_raw(out, sig);
    }
    out.push(b'}');
    Ok(())
}

fn assistant_message(
    out: &mut Vec<u8>,
    turns: &mut Turns,
    m: &Msg<'_>,
    parts: &[OaPart<'_>],
) -> Res<()> {
    if let Some(r) = m.reasoning_content.and_then(Val::str) {
        turns.part(out, b"model");
        out.extend_from_slice(b"{\"thought\":true,\"text\":");
        push_raw(out, r);
        out.push(b'}');
    }
    match m.content {
        Some(c) if c.str().is_some() => turns.text(out, b"model", c.str().unwrap_or(Str(b""))),
        Some(_) if m.parts.is_some() => {
            for p in slice(parts, m.parts)
                .iter()
                .filter(|p| p.is(P_TYPE, "text"))
            {
                turns.text(out, b"model", p.str(P_TEXT).unwrap_or(Str(b"")));
            }
        }
        Some(_) => {
            return invalid(
                "Invalid Message passed in: assistant content must be a string or an array",
            )
        }
        None => {}
    }
    if let Some(calls) = m.tool_calls {
        for call in calls.elems() {
            let Some(f) = call.get("function").filter(|f| f.is_obj()) else {
                return invalid(format!(
                    "Unable to convert openai tool calls to gemini tool calls: function_call \
                     missing in {}",
                    String::from_utf8_lossy(call.0)
                ));
            };
            push_function_call(out, turns, f, Some(call))?;
        }
    } else if let Some(f) = m.function_call.filter(|f| f.is_obj()) {
        push_function_call(out, turns, f, None)?;
    }
    Ok(())
}

/// The tool result's text: `content` as a string, or its text parts
/// joined (raw bodies, concatenated as they are).
fn tool_texts<'a>(m: &Msg<'a>, parts: &[OaPart<'a>]) -> Vec<Str<'a>> {
    match m.content {
        Some(c) if c.str().is_some() => c.str().into_iter().collect(),
        _ => slice(parts, m.parts)
            .iter()
            .filter(|p| p.is(P_TYPE, "text"))
            .filter_map(|p| p.str(P_TEXT))
            .collect(),
    }
}

/// Whether a raw string body, once decoded, starts with `{` after
/// whitespace (only then can it be a JSON object).
fn raw_starts_with_brace(texts: &[Str<'_>]) -> bool {
    for t in texts {
        let b = t.0;
        let mut i = 0;
        while let Some(&c) = b.get(i) {
            match c {
                b' ' => i += 1,
                b'\\' if matches!(b.get(i + 1), Some(b'n' | b't' | b'r')) => i += 2,
                b'{' => return true,
                _ => return false,
            }
        }
    }
    false
}

/// LiteLLM's `convert_to_gemini_tool_call_result`: a `functionResponse`
/// part. `response` is the result itself when it is a JSON object, else
/// `{"content": <text>}`; images (data URLs) go into
/// `functionResponse.parts` as `inlineData`.
fn tool_result(
    out: &mut Vec<u8>,
    m: &Msg<'_>,
    parts: &[OaPart<'_>],
    last_calls: Option<Val<'_>>,
    scratch: &mut Vec<u8>,
) -> Res<()> {
    let mut name = m.name.and_then(Val::str);
    if let (Some(calls), Some(id)) = (last_calls, m.tool_call_id.and_then(Val::str)) {
        let want = id.decoded();
        for call in calls.elems() {
            let same = call
                .get_str("id")
                .is_some_and(|c| c.decoded().is_some() && c.decoded() == want);
            if same {
                name = call.get("function").and_then(|f| f.get_str("name"));
            }
        }
    }
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return invalid(
            "Missing corresponding tool call for tool response message. Every tool message \
             needs a 'tool_call_id' matching a tool call of the preceding assistant message.",
        );
    };
    let mut texts = tool_texts(m, parts);
    // A string content that is an image data URL is sent as the image.
    let mut images: Vec<(Str<'_>, Str<'_>)> = Vec::new();
    if let Some(s) = m.content.and_then(Val::str) {
        if let Some((mime, data)) = split_data_url(s).filter(|(mi, _)| mi.starts_with(b"image/")) {
            let clean = memchr::memchr(b';', mime.0).map_or(mime, |i| Str(&mime.0[..i]));
            images.push((clean, data));
            texts.clear();
        }
    }
    for p in slice(parts, m.parts) {
        if p.is(P_TYPE, "image_url") || p.is(P_TYPE, "input_image") {
            let url = p
                .val(P_IMAGE)
                .and_then(|v| v.str().or_else(|| v.get_str("url")));
            if let Some((mime, data)) = url.and_then(split_data_url) {
                images.push((mime, data));
            }
        }
    }
    out.extend_from_slice(b"{\"functionResponse\":{\"name\":");
    push_raw(out, name);
    out.extend_from_slice(b",\"response\":");
    let mut as_object = false;
    if raw_starts_with_brace(&texts) {
        scratch.clear();
        let ok = texts.iter().all(|t| unescape_into(scratch, t.0).is_ok());
        let trimmed = trim_ascii(scratch);
        if ok && std::str::from_utf8(trimmed).is_ok() && is_valid_json(trimmed) {
            out.extend_from_slice(trimmed);
            as_object = true;
        }
    }
    if !as_object {
        out.extend_from_slice(b"{\"content\":\"");
        for t in &texts {
            out.extend_from_slice(t.0);
        }
        out.extend_from_slice(b"\"}");
    }
    if !images.is_empty() {
        out.extend_from_slice(b",\"parts\":[");
        let mut n = 0;
        for (mime, data) in images {
            comma(out, &mut n);
            push_inline_data(out, mime.0, data);
        }
        out.push(b']');
    }
    out.extend_from_slice(b"}}");
    Ok(())
}

/// `_gemini_convert_messages_with_history`: consecutive user messages
/// merge into one `user` turn, consecutive assistant messages into one
/// `model` turn, consecutive tool results into one `user` turn of
/// `functionResponse` parts.
fn push_contents(out: &mut Vec<u8>, msgs: &[Msg<'_>], parts: &[OaPart<'_>]) -> Res<()> {
    out.extend_from_slice(b"\"contents\":[");
    let mut turns = Turns {
        written: 0,
        open: false,
        parts: 0,
        has_text: false,
    };
    let mut tool_buf = Vec::new();
    let mut tool_n = 0;
    let mut scratch = Vec::new();
    let mut last_calls: Option<Val<'_>> = None;
    let flush = |out: &mut Vec<u8>, turns: &mut Turns, buf: &mut Vec<u8>, n: &mut usize| {
        if *n > 0 {
            if turns.written > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"role\":\"user\",\"parts\":[");
            out.extend_from_slice(buf);
            out.extend_from_slice(b"]}");
            turns.written += 1;
            buf.clear();
            *n = 0;
        }
    };
    let mut i = 0;
    while i < msgs.len() {
        let start = i;
        while let Some(m) = msgs.get(i).filter(|m| m.role == Role::User) {
            user_message(out, &mut turns, m, parts)?;
            i += 1;
        }
        turns.close(out, true);
        while let Some(m) = msgs.get(i).filter(|m| m.role == Role::Assistant) {
            assistant_message(out, &mut turns, m, parts)?;
            if m.tool_calls.is_some_and(|t| t.elems().next().is_some()) {
                last_calls = m.tool_calls;
            }
            i += 1;
        }
        turns.close(out, false);
        if let Some(m) = msgs.get(i).filter(|m| m.role.is_tool()) {
            comma(&mut tool_buf, &mut tool_n);
            tool_result(&mut tool_buf, m, parts, last_calls, &mut scratch)?;
            i += 1;
        }
        if msgs.get(i).is_some_and(|m| !m.role.is_tool()) {
            flush(out, &mut turns, &mut tool_buf, &mut tool_n);
        }
        if i == start {
            return invalid("Invalid Message passed in: unexpected message role");
        }
    }
    flush(out, &mut turns, &mut tool_buf, &mut tool_n);
    if turns.written == 0 {
        // Gemini requires contents; LiteLLM sends one blank user turn.
        out.extend_from_slice(b"{\"role\":\"user\",\"parts\":[{\"text\":\" \"}]}");
    }
    out.push(b']');
    Ok(())
}

/// `systemInstruction`: one text part per system/developer message (a list
/// content's texts joined), as `_transform_system_message` builds it.
fn push_system(out: &mut Vec<u8>, msgs: &[Msg<'_>], parts: &[OaPart<'_>]) {
    let mut n = 0;
    for m in msgs.iter().filter(|m| m.role == Role::System) {
        let Some(c) = m.content else { continue };
        if n == 0 {
            out.extend_from_slice(b",\"systemInstruction\":{\"parts\":[");
        }
        comma(out, &mut n);
        out.extend_from_slice(b"{\"text\":\"");
        match c.str() {
            Some(t) => out.extend_from_slice(t.0),
            None => {
                for t in slice(parts, m.parts).iter().filter_map(|p| p.str(P_TEXT)) {
                    out.extend_from_slice(t.0);
                }
            }
        }
        out.extend_from_slice(b"\"}");
    }
    if n > 0 {
        out.extend_from_slice(b"]}");
    }
}

// ---------------------------------------------------------------------------
// JSON schema -> Gemini schema (`build_vertex_schema`)
// ---------------------------------------------------------------------------

/// Keys of Gemini's `Schema` that survive `filter_schema_fields`.
const SCHEMA_KEYS: [&str; 22] = [
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "default",
    "items",
    "minItems",
    "maxItems",
    "enum",
    "properties",
    "propertyOrdering",
    "required",
    "minProperties",
    "maxProperties",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
];
const S_TYPE: usize = 0;
const S_FORMAT: usize = 1;
const S_TITLE: usize = 2;
const S_DESCRIPTION: usize = 3;
const S_NULLABLE: usize = 4;
const S_ITEMS: usize = 6;
const S_ENUM: usize = 9;
const S_PROPERTIES: usize = 10;
const S_ORDERING: usize = 11;
const S_REQUIRED: usize = 12;
const S_ANYOF: usize = 21;

/// Fields an object/array branch takes along when a `type` list becomes
/// `anyOf` (`_convert_schema_types`).
const TYPE_SPECIFIC: [&str; 7] = [
    "properties",
    "required",
    "items",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
];

/// Deepest schema nesting (and `$ref` expansion) accepted, as LiteLLM's
/// `DEFAULT_MAX_RECURSE_DEPTH`.
const MAX_SCHEMA_DEPTH: u32 = 100;

struct SchemaCx<'a> {
    /// Root `$defs` / `definitions`, for `$ref` expansion.
    defs: [Option<Val<'a>>; 2],
    /// Add `propertyOrdering` (response schemas only).
    ordering: bool,
}

/// What a parent `anyOf` pushes into each branch: its title/description
/// (`_filter_anyof_fields`) and `nullable` (`convert_anyof_null_to_nullable`).
#[derive(Clone, Copy, Default)]
struct Inject<'a> {
    title: Option<Val<'a>>,
    description: Option<Val<'a>>,
    nullable: bool,
}

fn type_is(t: Option<Val<'_>>, want: &str) -> bool {
    t.and_then(Val::str)
        .and_then(Str::decoded)
        .is_some_and(|d| d.eq_ignore_ascii_case(want.as_bytes()))
}

/// Writes a JSON schema the way LiteLLM's `build_vertex_schema` leaves it:
/// `$ref`s into `$defs`/`definitions` expanded, `anyOf` null branches
/// turned into `nullable`, `type` lists into `anyOf`, enums only on
/// strings (`""` → null), arrays given `items`, objects given `type`, and
/// every key Gemini's `Schema` lacks (`additionalProperties`, `$schema`,
/// `strict`, `oneOf`, `const`, ...) dropped.
fn push_schema(
    out: &mut Vec<u8>,
    node: Val<'_>,
    cx: &SchemaCx<'_>,
    depth: u32,
    inject: Inject<'_>,
) -> Res<()> {
    if depth > MAX_SCHEMA_DEPTH {
        return invalid(format!(
            "Max depth of {MAX_SCHEMA_DEPTH} exceeded while processing schema. Please check the \
             schema for excessive nesting."
        ));
    }
    if !node.is_obj() {
        out.extend_from_slice(node.0);
        return Ok(());
    }
    if let Some(r) = node.get_str("$ref") {
        let target =
            r.0.strip_prefix(b"#/$defs/")
                .map(|n| (cx.defs[0], n))
                .or_else(|| r.0.strip_prefix(b"#/definitions/").map(|n| (cx.defs[1], n)));
        if let Some((Some(defs), name)) = target {
            let name = String::from_utf8_lossy(name);
            if let Some(def) = defs.get(&name) {
                return push_schema(out, def, cx, depth + 1, inject);
            }
        }
    }
    let f = node.fields(&SCHEMA_KEYS);
    // `type: [..]`: one entry is that type, several become `anyOf`.
    let mut ty = f[S_TYPE];
    if let Some(list) = ty.filter(|t| t.is_arr()) {
        let types: Vec<Str<'_>> = list.elems().filter_map(Val::str).collect();
        if types.len() > 1 {
            let mut branches: Vec<Vec<u8>> = Vec::with_capacity(types.len());
            for t in types {
                let mut b = b"{\"type\":".to_vec();
                push_raw(&mut b, t);
                if t.is("object") || t.is("array") {
                    for (k, v) in node.members() {
                        if TYPE_SPECIFIC.iter().any(|s| k.is(s)) {
                            b.push(b',');
                            push_raw(&mut b, k);
                            b.push(b':');
                            b.extend_from_slice(v.0);
                        }
                    }
                }
                b.push(b'}');
                branches.push(b);
            }
            let inj = Inject {
                title: f[S_TITLE].or(inject.title),
                description: f[S_DESCRIPTION].or(inject.description),
                nullable: false,
            };
            out.extend_from_slice(b"{\"anyOf\":[");
            let mut n = 0;
            for b in &branches {
                comma(out, &mut n);
                push_schema(out, Val(b), cx, depth + 1, inj)?;
            }
            out.extend_from_slice(b"]}");
            return Ok(());
        }
        ty = list.elems().next();
    }
    if let Some(any) = f[S_ANYOF].filter(|a| a.is_arr()) {
        let is_null = |b: Val<'_>| b.get_str("type").is_some_and(|t| t.is("null"));
        let has_null = any.elems().any(is_null);
        if has_null && any.elems().all(is_null) {
            return invalid(
                "Invalid input: AnyOf schema with only null type is not supported. Please \
                 provide a non-null type.",
            );
        }
        let inj = Inject {
            title: f[S_TITLE].or(inject.title),
            description: f[S_DESCRIPTION].or(inject.description),
            nullable: has_null,
        };
        out.extend_from_slice(b"{\"anyOf\":[");
        let mut n = 0;
        for b in any.elems().filter(|b| !(has_null && is_null(*b))) {
            comma(out, &mut n);
            if b.0 == b"{}" {
                push_schema(out, Val(b"{\"type\":\"object\"}"), cx, depth + 1, inj)?;
            } else {
                push_schema(out, b, cx, depth + 1, inj)?;
            }
        }
        out.extend_from_slice(b"]}");
        return Ok(());
    }
    let props = f[S_PROPERTIES].filter(|p| p.is_obj());
    let props_empty = props.is_some_and(|p| p.members().next().is_none());
    let composite = node.get("oneOf").is_some() || node.get("allOf").is_some();
    let is_array = type_is(ty, "array");
    out.push(b'{');
    let mut n = 0;
    let mut key = |out: &mut Vec<u8>, k: &[u8]| {
        comma(out, &mut n);
        out.push(b'"');
        out.extend_from_slice(k);
        out.extend_from_slice(b"\":");
    };
    for (i, name) in SCHEMA_KEYS.iter().enumerate() {
        let v = f[i];
        match i {
            S_TYPE => {
                if props.is_some() {
                    key(out, b"type");
                    out.extend_from_slice(b"\"object\"");
                } else if let Some(t) = ty {
                    key(out, b"type");
                    out.extend_from_slice(t.0);
                } else if !composite {
                    key(out, b"type");
                    out.extend_from_slice(b"\"object\"");
                }
            }
            S_FORMAT => {
                if let Some(v) =
                    v.filter(|v| v.str().is_some_and(|s| s.is("enum") || s.is("date-time")))
                {
                    key(out, b"format");
                    out.extend_from_slice(v.0);
                }
            }
            S_TITLE | S_DESCRIPTION => {
                let inj = if i == S_TITLE {
                    inject.title
                } else {
                    inject.description
                };
                if let Some(v) = inj.or(v) {
                    key(out, name.as_bytes());
                    out.extend_from_slice(v.0);
                }
            }
            S_NULLABLE => {
                if inject.nullable {
                    key(out, b"nullable");
                    out.extend_from_slice(b"true");
                } else if let Some(v) = v {
                    key(out, b"nullable");
                    out.extend_from_slice(v.0);
                }
            }
            S_ENUM => {
                let Some(v) = v.filter(|_| type_is(ty, "string")) else {
                    continue;
                };
                key(out, b"enum");
                if !v.is_arr() {
                    out.extend_from_slice(v.0);
                    continue;
                }
                out.push(b'[');
                let mut k = 0;
                for e in v.elems() {
                    comma(out, &mut k);
                    out.extend_from_slice(if e.0 == b"\"\"" { b"null" } else { e.0 });
                }
                out.push(b']');
            }
            S_PROPERTIES => {
                let Some(p) = props.filter(|_| !props_empty) else {
                    continue;
                };
                key(out, b"properties");
                out.push(b'{');
                let mut k = 0;
                for (pk, pv) in p.members() {
                    comma(out, &mut k);
                    push_raw(out, pk);
                    out.push(b':');
                    push_schema(out, pv, cx, depth + 1, Inject::default())?;
                }
                out.push(b'}');
            }
            S_REQUIRED => {
                if let Some(v) = v.filter(|_| !props_empty) {
                    key(out, b"required");
                    out.extend_from_slice(v.0);
                }
            }
            S_ITEMS => match v {
                Some(items) if items.is_obj() && !(is_array && items.0 == b"{}") => {
                    key(out, b"items");
                    push_schema(out, items, cx, depth + 1, Inject::default())?;
                }
                Some(items) if !items.is_obj() => {
                    key(out, b"items");
                    out.extend_from_slice(items.0);
                }
                _ if is_array => {
                    key(out, b"items");
                    out.extend_from_slice(b"{\"type\":\"object\"}");
                }
                _ => {}
            },
            S_ORDERING => {
                if let Some(v) = v {
                    key(out, b"propertyOrdering");
                    out.extend_from_slice(v.0);
                } else if let Some(p) = props.filter(|_| cx.ordering && !props_empty) {
                    key(out, b"propertyOrdering");
                    out.push(b'[');
                    let mut k = 0;
                    for (pk, _) in p.members() {
                        comma(out, &mut k);
                        push_raw(out, pk);
                    }
                    out.push(b']');
                }
            }
            S_ANYOF => {}
            _ => {
                if let Some(v) = v {
                    key(out, name.as_bytes());
                    out.extend_from_slice(v.0);
                }
            }
        }
    }
    out.push(b'}');
    Ok(())
}

fn push_schema_root(out: &mut Vec<u8>, schema: Val<'_>, ordering: bool) -> Res<()> {
    let cx = SchemaCx {
        defs: [schema.get("$defs"), schema.get("definitions")],
        ordering,
    };
    push_schema(out, schema, &cx, 0, Inject::default())
}

// ---------------------------------------------------------------------------
// Tools, tool choice, generation config
// ---------------------------------------------------------------------------

/// Gemini's built-in tools, by the names LiteLLM accepts (camelCase and
/// snake_case) → the name sent.
const BUILTIN_TOOLS: [(&str, &str); 14] = [
    ("googleSearch", "googleSearch"),
    ("google_search", "googleSearch"),
    ("googleSearchRetrieval", "googleSearchRetrieval"),
    ("google_search_retrieval", "googleSearchRetrieval"),
    ("enterpriseWebSearch", "enterpriseWebSearch"),
    ("enterprise_web_search", "enterpriseWebSearch"),
    ("codeExecution", "codeExecution"),
    ("code_execution", "codeExecution"),
    ("urlContext", "urlContext"),
    ("url_context", "urlContext"),
    ("googleMaps", "googleMaps"),
    ("google_maps", "googleMaps"),
    ("computerUse", "computerUse"),
    ("computer_use", "computerUse"),
];

fn push_declaration(out: &mut Vec<u8>, f: Val<'_>) -> Res<()> {
    let [name, description, parameters] = f.fields(&["name", "description", "parameters"]);
    let Some(name) = name.and_then(Val::str) else {
        return invalid("tools[].function.name is missing");
    };
    out.extend_from_slice(b"{\"name\":");
    push_raw(out, name);
    if let Some(d) = description {
        out.extend_from_slice(b",\"description\":");
        out.extend_from_slice(d.0);
    }
    match parameters {
        Some(p) if p.is_obj() => {
            out.extend_from_slice(b",\"parameters\":");
            push_schema_root(out, p, false)?;
        }
        Some(p) if p.str().is_some_and(Str::is_empty) => {
            out.extend_from_slice(b",\"parameters\":{\"type\":\"object\"}");
        }
        Some(p) => {
            out.extend_from_slice(b",\"parameters\":");
            out.extend_from_slice(p.0);
        }
        None => {}
    }
    out.push(b'}');
    Ok(())
}

/// LiteLLM's `_map_function`: every OpenAI function (from `tools` and the
/// legacy `functions`) into one `functionDeclarations` tool, then each
/// built-in tool (`web_search*` → `googleSearch`) as its own tool.
fn push_tools(out: &mut Vec<u8>, req: &Req<'_>) -> Res<()> {
    let tools = req.tools.into_iter().chain(req.functions);
    if tools.clone().any(|t| !t.is_arr()) {
        return invalid("'tools' must be an array");
    }
    let mark = out.len();
    out.extend_from_slice(b",\"tools\":[{\"functionDeclarations\":[");
    let decl_mark = out.len();
    let mut n = 0;
    let mut builtins: Vec<(&str, Val<'_>)> = Vec::new();
    for t in tools.flat_map(Val::elems) {
        let [ty, function, name] = t.fields(&["type", "function", "name"]);
        if let Some(f) = function.filter(|f| f.is_obj()) {
            comma(out, &mut n);
            push_declaration(out, f)?;
            continue;
        }
        let ty = ty.and_then(Val::str);
        if ty.is_some_and(|t| t.is("web_search") || t.is("web_search_preview")) {
            builtins.push(("googleSearch", Val(b"{}")));
            continue;
        }
        let mut members = t.members().filter(|(k, _)| !k.is("type"));
        let single = members.next().filter(|_| members.next().is_none());
        if let Some((k, v)) = single {
            if let Some((_, to)) = BUILTIN_TOOLS.iter().find(|(from, _)| k.is(from)) {
                builtins.push((to, v));
                continue;
            }
        }
        if name.is_some() {
            comma(out, &mut n);
            push_declaration(out, t)?;
        }
        // Anything else: LiteLLM logs "Invalid tool" and drops it.
    }
    if req.web_search {
        builtins.push(("googleSearch", Val(b"{}")));
    }
    if n == 0 {
        out.truncate(decl_mark - b"{\"functionDeclarations\":[".len());
    } else {
        out.extend_from_slice(b"]}");
    }
    let mut k = n.min(1);
    for (name, v) in builtins {
        comma(out, &mut k);
        out.extend_from_slice(b"{\"");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        out.extend_from_slice(v.0);
        out.push(b'}');
    }
    if k == 0 {
        out.truncate(mark);
    } else {
        out.push(b']');
    }
    Ok(())
}

/// `map_tool_choice_values`.
fn push_tool_choice(out: &mut Vec<u8>, tc: Option<Val<'_>>) -> Res<()> {
    let Some(tc) = tc else { return Ok(()) };
    let mode: &[u8] = match tc.str() {
        Some(s) if s.is("none") => b"NONE",
        Some(s) if s.is("required") => b"ANY",
        Some(s) if s.is("auto") => b"AUTO",
        None if tc.is_obj() => {
            let name = tc.get("function").and_then(|f| f.get_str("name"));
            out.extend_from_slice(
                b",\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"ANY\",\"allowedFunctionNames\":[",
            );
            push_raw(out, name.unwrap_or(Str(b"")));
            out.extend_from_slice(b"]}}");
            return Ok(());
        }
        _ => {
            return invalid(format!(
                "VertexAI doesn't support tool_choice={}. Supported tool_choice values=['auto', \
                 'required', json object]. To drop it from the call, set `litellm.drop_params = True.",
                String::from_utf8_lossy(tc.0)
            ))
        }
    };
    out.extend_from_slice(b",\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"");
    out.extend_from_slice(mode);
    out.extend_from_slice(b"\"}}");
    Ok(())
}

/// Writes `,"key":<number>` into the generation config.
fn gen_num(
    out: &mut Vec<u8>,
    n: &mut usize,
    key: &str,
    v: Option<Val<'_>>,
    param: &str,
) -> Res<()> {
    let Some(v) = v else { return Ok(()) };
    if !v.is_num() {
        return invalid(format!("'{param}' must be a number"));
    }
    gen_key(out, n, key);
    out.extend_from_slice(v.0);
    Ok(())
}

fn gen_key(out: &mut Vec<u8>, n: &mut usize, key: &str) {
    comma(out, n);
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

/// `reasoning_effort` → `thinkingConfig` (`_map_reasoning_effort_to_thinking_budget`
/// / `_thinking_level`).
fn push_reasoning(out: &mut Vec<u8>, n: &mut usize, effort: Val<'_>, model: &str) -> Res<()> {
    let e = effort.str().or_else(|| effort.get_str("effort"));
    let Some(e) = e else {
        return invalid("'reasoning_effort' must be a string");
    };
    let e = e.decoded().unwrap_or(Cow::Borrowed(e.0));
    let lower = model.to_ascii_lowercase();
    gen_key(out, n, "thinkingConfig");
    if is_gemini_3_or_newer(model) {
        let minimal_ok = lower.contains("flash");
        let (level, include) = match &e[..] {
            b"minimal" => (if minimal_ok { "minimal" } else { "low" }, true),
            b"low" => ("low", true),
            b"medium" => ("medium", true),
            b"high" => ("high", true),
            b"disable" | b"none" => (if minimal_ok { "minimal" } else { "low" }, false),
            other => return Err(bad_effort(other)),
        };
        out.extend_from_slice(b"{\"thinkingLevel\":\"");
        out.extend_from_slice(level.as_bytes());
        out.extend_from_slice(if include {
            b"\",\"includeThoughts\":true}"
        } else {
            b"\",\"includeThoughts\":false}"
        });
        return Ok(());
    }
    let (budget, include) = match &e[..] {
        b"minimal" if lower.contains("gemini-2.5-flash-lite") => (512, true),
        b"minimal" if lower.contains("gemini-2.5-pro") => (128, true),
        b"minimal" if lower.contains("gemini-2.5-flash") => (1, true),
        b"minimal" => (128, true),
        b"low" => (1024, true),
        b"medium" => (2048, true),
        b"high" => (4096, true),
        b"disable" | b"none" => (0, false),
        other => return Err(bad_effort(other)),
    };
    out.extend_from_slice(b"{\"thinkingBudget\":");
    push_u64(out, budget);
    out.extend_from_slice(if include {
        b",\"includeThoughts\":true}"
    } else {
        b",\"includeThoughts\":false}"
    });
    Ok(())
}

fn bad_effort(e: &[u8]) -> TranslateError {
    TranslateError::Invalid(format!(
        "Invalid `reasoning_effort`: '{}'. Must be one of: 'minimal', 'low', 'medium', 'high', \
         'none', 'disable'. To drop this param, set `litellm.drop_params = True` or pass in \
         `(.., drop_params=True)` in the request - https://docs.litellm.ai/docs/completion/drop_params",
        String::from_utf8_lossy(e)
    ))
}

/// `thinking` (Anthropic-style) → `thinkingConfig` (`_map_thinking_param`).
fn push_thinking(out: &mut Vec<u8>, n: &mut usize, t: Val<'_>, model: &str) {
    let [ty, budget] = t.fields(&["type", "budget_tokens"]);
    let enabled = ty.and_then(Val::str).is_some_and(|s| s.is("enabled"));
    let zero = budget.is_some_and(|b| b.0 == b"0");
    gen_key(out, n, "thinkingConfig");
    if is_gemini_3_or_newer(model) {
        out.extend_from_slice(if enabled && !zero {
            b"{\"includeThoughts\":true}"
        } else {
            b"{\"includeThoughts\":false}"
        });
        return;
    }
    out.push(b'{');
    let mut k = 0;
    if enabled && !zero {
        comma(out, &mut k);
        out.extend_from_slice(b"\"includeThoughts\":true");
    }
    if let Some(b) = budget.filter(|b| b.0.iter().all(|c| c.is_ascii_digit() || *c == b'-')) {
        comma(out, &mut k);
        out.extend_from_slice(b"\"thinkingBudget\":");
        out.extend_from_slice(b.0);
    }
    out.push(b'}');
}

/// `response_format` → `responseMimeType` and `responseSchema` (OpenAPI
/// subset, `propertyOrdering` added) or, on Gemini ≥ 2,
/// `responseJsonSchema` (the JSON schema as given, `strict` removed).
fn push_response_format(out: &mut Vec<u8>, n: &mut usize, rf: Val<'_>, model: &str) -> Res<()> {
    if !rf.is_obj() {
        return Ok(());
    }
    let [ty, json_schema, response_schema] = rf.fields(&["type", "json_schema", "response_schema"]);
    let ty = ty.and_then(Val::str);
    let schema = match response_schema {
        Some(s) => Some(s),
        None if ty.is_some_and(|t| t.is("json_schema")) => {
            json_schema.and_then(|j| j.get("schema"))
        }
        None => None,
    };
    let mime: &[u8] = if schema.is_some() || ty.is_some_and(|t| t.is("json_object")) {
        b"application/json"
    } else if ty.is_some_and(|t| t.is("text")) {
        b"text/plain"
    } else {
        return Ok(());
    };
    gen_key(out, n, "responseMimeType");
    out.push(b'"');
    out.extend_from_slice(mime);
    out.push(b'"');
    let Some(schema) = schema.filter(|s| s.is_obj()) else {
        return Ok(());
    };
    if supports_json_schema(model) {
        gen_key(out, n, "responseJsonSchema");
        push_without_key(out, schema, "strict");
    } else {
        gen_key(out, n, "responseSchema");
        push_schema_root(out, schema, true)?;
    }
    Ok(())
}

/// Copies a JSON value with every object member named `drop` removed, at
/// any depth (`remove_strict_from_schema`).
fn push_without_key(out: &mut Vec<u8>, v: Val<'_>, drop: &str) {
    if v.is_obj() {
        out.push(b'{');
        let mut n = 0;
        for (k, m) in v.members().filter(|(k, _)| !k.is(drop)) {
            comma(out, &mut n);
            push_raw(out, k);
            out.push(b':');
            push_without_key(out, m, drop);
        }
        out.push(b'}');
    } else if v.is_arr() {
        out.push(b'[');
        let mut n = 0;
        for e in v.elems() {
            comma(out, &mut n);
            push_without_key(out, e, drop);
        }
        out.push(b']');
    } else {
        out.extend_from_slice(v.0);
    }
}

/// `generationConfig` in `map_openai_params` terms; omitted when empty.
fn push_generation_config(out: &mut Vec<u8>, req: &Req<'_>, model: &str) -> Res<()> {
    let mark = out.len();
    out.extend_from_slice(b",\"generationConfig\":{");
    let n = &mut 0;
    let gemini3 = is_gemini_3_or_newer(model);
    match req.temperature {
        None if gemini3 => {
            gen_key(out, n, "temperature");
            out.extend_from_slice(b"1.0");
        }
        t => gen_num(out, n, "temperature", t, "temperature")?,
    }
    gen_num(out, n, "topP", req.top_p, "top_p")?;
    gen_num(out, n, "topK", req.top_k, "top_k")?;
    gen_num(out, n, "candidateCount", req.n, "n")?;
    if let Some(stop) = req.stop {
        gen_key(out, n, "stopSequences");
        if stop.str().is_some() {
            out.push(b'[');
            out.extend_from_slice(stop.0);
            out.push(b']');
        } else if stop.is_arr() {
            out.extend_from_slice(stop.0);
        } else {
            return invalid("'stop' must be a string or an array of strings");
        }
    }
    gen_num(out, n, "maxOutputTokens", req.max_tokens, "max_tokens")?;
    if let Some(rf) = req.response_format {
        push_response_format(out, n, rf, model)?;
    }
    // LiteLLM drops penalties for Gemini 3+ and one preview model.
    if !gemini3 && !model.ends_with("gemini-2.5-pro-preview-06-05") {
        gen_num(
            out,
            n,
            "frequencyPenalty",
            req.frequency_penalty,
            "frequency_penalty",
        )?;
        gen_num(
            out,
            n,
            "presencePenalty",
            req.presence_penalty,
            "presence_penalty",
        )?;
    }
    if let Some(lp) = req.logprobs.filter(|v| v.bool().is_some()) {
        gen_key(out, n, "responseLogprobs");
        out.extend_from_slice(lp.0);
    }
    gen_num(out, n, "logprobs", req.top_logprobs, "top_logprobs")?;
    gen_num(out, n, "seed", req.seed, "seed")?;
    if let Some(t) = req.thinking.filter(|t| t.is_obj()) {
        push_thinking(out, n, t, model);
    } else if let Some(e) = req.reasoning_effort {
        push_reasoning(out, n, e, model)?;
    }
    if let Some(m) = req.modalities.filter(|m| m.is_arr()) {
        gen_key(out, n, "responseModalities");
        out.push(b'[');
        let mut k = 0;
        for e in m.elems() {
            comma(out, &mut k);
            let s = e.str().unwrap_or(Str(b""));
            out.extend_from_slice(match s.0 {
                b"text" => b"\"TEXT\"",
                b"image" => b"\"IMAGE\"",
                b"audio" => b"\"AUDIO\"",
                b"video" => b"\"VIDEO\"",
                _ => b"\"MODALITY_UNSPECIFIED\"",
            });
        }
        out.push(b']');
    }
    if *n == 0 {
        out.truncate(mark);
    } else {
        out.push(b'}');
    }
    Ok(())
}

/// Translates an OpenAI chat request into a `generateContent` body for any
/// Gemini model (LiteLLM's per-model rules are left out: see
/// [`openai_to_gemini_request_for_model`]). The model goes in the URL.
///
/// Mapped: `messages` (system/developer → `systemInstruction`; user,
/// assistant and tool turns as `_gemini_convert_messages_with_history`
/// builds them: text, `image_url`/`file`/`input_audio` → `inlineData` or
/// `fileData`, `tool_calls` → `functionCall`, tool results →
/// `functionResponse`, `reasoning_content` → a `thought` part), `tools` /
/// `functions` / `web_search_options` → `tools`, `tool_choice` →
/// `toolConfig`, `safety_settings` → `safetySettings`, `cached_content` →
/// `cachedContent`, and into `generationConfig`: `temperature`, `top_p`,
/// `top_k`, `n`, `stop`, `max_tokens`/`max_completion_tokens`,
/// `response_format`, `frequency_penalty`, `presence_penalty`, `logprobs`,
/// `top_logprobs`, `seed`, `thinking`/`reasoning_effort`, `modalities`.
/// `stream` and `stream_options.include_usage` are returned in [`ReqInfo`]
/// (the caller picks `:streamGenerateContent?alt=sse`). Everything else is
/// ignored.
pub fn openai_to_gemini_request(body: &[u8], out: &mut Vec<u8>) -> Result<ReqInfo, TranslateError> {
    openai_to_gemini_request_for_model(body, "", out)
}

/// [`openai_to_gemini_request`] with LiteLLM's per-model rules for
/// `upstream_model`: Gemini 3+ gets `thinkingLevel` instead of a thinking
/// budget, `temperature` 1.0 when none is given and no penalty parameters;
/// Gemini ≥ 2 gets `responseJsonSchema` (older: `responseSchema`);
/// `reasoning_effort: "minimal"` picks the model's smallest budget.
pub fn openai_to_gemini_request_for_model(
    body: &[u8],
    upstream_model: &str,
    out: &mut Vec<u8>,
) -> Result<ReqInfo, TranslateError> {
    rollback_on_err(out, |out| request_inner(body, upstream_model, out))
}

fn request_inner(body: &[u8], model: &str, out: &mut Vec<u8>) -> Res<ReqInfo> {
    let mut req = Req::default();
    let mut msgs: Vec<Msg<'_>> = Vec::new();
    let mut parts: Vec<OaPart<'_>> = Vec::new();
    read_root(body, |p, k| {
        if k.0 == b"messages" && p.peek() != Some(b'n') {
            req.has_messages = true;
            return parse_messages(p, &PART_KEYS, &mut msgs, &mut parts);
        }
        let v = Some(p.value()?).filter(|v| !v.is_null());
        match k.0 {
            b"max_tokens" | b"max_completion_tokens" if v.is_some() => req.max_tokens = v,
            b"temperature" => req.temperature = v,
            b"top_p" => req.top_p = v,
            b"top_k" => req.top_k = v,
            b"n" => req.n = v,
            b"stop" => req.stop = v,
            b"seed" => req.seed = v,
            b"presence_penalty" => req.presence_penalty = v,
            b"frequency_penalty" => req.frequency_penalty = v,
            b"response_format" => req.response_format = v,
            b"reasoning_effort" => req.reasoning_effort = v,
            b"thinking" => req.thinking = v,
            b"logprobs" => req.logprobs = v,
            b"top_logprobs" => req.top_logprobs = v,
            b"modalities" => req.modalities = v,
            b"tools" => req.tools = v,
            b"functions" => req.functions = v,
            b"web_search_options" => req.web_search = v.is_some_and(|w| w.is_obj()),
            b"tool_choice" => req.tool_choice = v,
            b"safety_settings" | b"safetySettings" => req.safety_settings = v,
            b"cached_content" | b"cachedContent" => req.cached_content = v,
            b"stream" => req.stream = v.and_then(Val::bool) == Some(true),
            b"stream_options" => {
                req.include_usage =
                    v.and_then(|o| o.get("include_usage")).and_then(Val::bool) == Some(true)
            }
            _ => {}
        }
        Ok(())
    })?;
    if !req.has_messages {
        return Err(TranslateError::Missing("messages"));
    }
    let (system, chat): (Vec<Msg<'_>>, Vec<Msg<'_>>) =
        msgs.iter().partition(|m| m.role == Role::System);
    out.push(b'{');
    push_contents(out, &chat, &parts)?;
    push_system(out, &system, &parts);
    push_tools(out, &req)?;
    push_tool_choice(out, req.tool_choice)?;
    if let Some(s) = req.safety_settings {
        out.extend_from_slice(b",\"safetySettings\":");
        out.extend_from_slice(s.0);
    }
    push_generation_config(out, &req, model)?;
    if let Some(c) = req.cached_content.filter(|c| c.str().is_some()) {
        out.extend_from_slice(b",\"cachedContent\":");
        out.extend_from_slice(c.0);
    }
    out.push(b'}');
    Ok(ReqInfo {
        stream: req.stream,
        include_usage: req.stream && req.include_usage,
    })
}

// ---------------------------------------------------------------------------
// generateContent response -> OpenAI chat.completion
// ---------------------------------------------------------------------------

/// LiteLLM's `_FINISH_REASON_MAP` for Gemini finish reasons (unknown →
/// `stop`).
fn finish_reason(r: Option<Str<'_>>) -> &'static [u8] {
    let Some(r) = r else { return b"stop" };
    match r.0 {
        b"MAX_TOKENS" => b"length",
        b"SAFETY"
        | b"RECITATION"
        | b"LANGUAGE"
        | b"OTHER"
        | b"BLOCKLIST"
        | b"PROHIBITED_CONTENT"
        | b"SPII"
        | b"IMAGE_SAFETY"
        | b"IMAGE_PROHIBITED_CONTENT"
        | b"NO_IMAGE"
        | b"IMAGE_RECITATION"
        | b"IMAGE_OTHER"
        | b"ESCALATION" => b"content_filter",
        _ => b"stop",
    }
}

/// Finish reasons after which LiteLLM answers with no content at all
/// (`get_flagged_finish_reasons`).
fn is_flagged(r: Option<Str<'_>>) -> bool {
    r.is_some_and(|r| {
        matches!(
            r.0,
            b"SAFETY"
                | b"RECITATION"
                | b"BLOCKLIST"
                | b"PROHIBITED_CONTENT"
                | b"SPII"
                | b"IMAGE_SAFETY"
                | b"IMAGE_PROHIBITED_CONTENT"
        )
    })
}

/// Gemini `usageMetadata`, merged as a stream reports it.
#[derive(Clone, Copy, Debug, Default)]
struct GUsage {
    prompt: u64,
    candidates: u64,
    total: Option<u64>,
    cached: u64,
    thoughts: u64,
    tool_use: u64,
    /// A Google Search / Maps grounding happened: its tool-use tokens are
    /// not billed as prompt tokens.
    grounded: bool,
}

impl GUsage {
    fn merge(&mut self, u: Val<'_>) {
        for (k, v) in u.members() {
            match k.0 {
                b"promptTokenCount" => self.prompt = v.count(),
                b"candidatesTokenCount" => self.candidates = v.count(),
                b"totalTokenCount" => self.total = Some(v.count()),
                b"cachedContentTokenCount" => self.cached = v.count(),
                b"thoughtsTokenCount" => self.thoughts = v.count(),
                b"toolUsePromptTokenCount" => self.tool_use = v.count(),
                _ => {}
            }
        }
    }

    fn total(&self) -> u64 {
        self.total
            .unwrap_or(self.prompt + self.tool_use + self.candidates + self.thoughts)
    }

    /// LiteLLM's `_calculate_usage`: thought tokens count as completion
    /// tokens unless `candidatesTokenCount` already includes them.
    fn openai(&self) -> TokenUsage {
        let inclusive = self.prompt + self.candidates + self.tool_use == self.total();
        let completion = if inclusive {
            self.candidates
        } else {
            self.candidates + self.thoughts
        };
        TokenUsage {
            prompt_tokens: self.prompt + if self.grounded { 0 } else { self.tool_use },
            completion_tokens: completion,
            cache_read_tokens: self.cached,
            cache_creation_tokens: 0,
        }
    }

    fn push(&self, out: &mut Vec<u8>) {
        let u = self.openai();
        out.extend_from_slice(b"{\"completion_tokens\":");
        push_u64(out, u.completion_tokens);
        out.extend_from_slice(b",\"prompt_tokens\":");
        push_u64(out, u.prompt_tokens);
        out.extend_from_slice(b",\"total_tokens\":");
        push_u64(out, self.total());
        out.extend_from_slice(b",\"completion_tokens_details\":{\"reasoning_tokens\":");
        push_u64(out, self.thoughts);
        out.extend_from_slice(b",\"text_tokens\":");
        push_u64(out, self.candidates);
        out.extend_from_slice(b"},\"prompt_tokens_details\":{\"cached_tokens\":");
        push_u64(out, self.cached);
        out.extend_from_slice(b"}}");
    }
}

/// Whether a candidate's `groundingMetadata` shows a billable search.
fn grounded(candidate: Val<'_>) -> bool {
    candidate.get("groundingMetadata").is_some_and(|g| {
        g.get("webSearchQueries")
            .is_some_and(|q| q.elems().next().is_some())
            || g.get("groundingChunks")
                .is_some_and(|c| c.elems().any(|c| c.get("maps").is_some()))
    })
}

/// Appends a validated JSON value re-serialised as Python's `json.dumps`
/// writes it (`", "` and `": "` separators, strings as they were), then
/// JSON-escapes that as a string: OpenAI `arguments` as LiteLLM makes them.
fn push_py_json_string(out: &mut Vec<u8>, v: Val<'_>, scratch: &mut Vec<u8>) {
    scratch.clear();
    let b = v.0;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'"' => {
                let end = skip_str(b, i + 1);
                scratch.extend_from_slice(&b[i..end]);
                i = end;
                continue;
            }
            b',' => scratch.extend_from_slice(b", "),
            b':' => scratch.extend_from_slice(b": "),
            c if is_ws(c) => {}
            c => scratch.push(c),
        }
        i += 1;
    }
    push_quoted(out, scratch);
}

/// Appends `call_` and 28 random hex digits (LiteLLM's `uuid4().hex[:28]`).
fn push_call_id(out: &mut Vec<u8>) {
    out.extend_from_slice(b"call_");
    for _ in 0..28 {
        out.push(b"0123456789abcdef"[fastrand::usize(..16)]);
    }
}

/// The pieces of one candidate's `content.parts`.
struct CandParts<'a> {
    texts: Vec<Str<'a>>,
    thoughts: Vec<(Str<'a>, Option<Str<'a>>)>,
    calls: Vec<Val<'a>>,
    signatures: Vec<Str<'a>>,
}

fn cand_parts(candidate: Val<'_>) -> CandParts<'_> {
    let mut c = CandParts {
        texts: Vec::new(),
        thoughts: Vec::new(),
        calls: Vec::new(),
        signatures: Vec::new(),
    };
    let parts = candidate.get("content").and_then(|ct| ct.get("parts"));
    for p in parts.into_iter().flat_map(Val::elems) {
        let [text, thought, call, sig] =
            p.fields(&["text", "thought", "functionCall", "thoughtSignature"]);
        let sig = sig.and_then(Val::str);
        if call.is_some_and(|c| c.is_obj()) {
            c.calls.push(p);
        } else if let Some(t) = text.and_then(Val::str) {
            if thought.and_then(Val::bool) == Some(true) {
                c.thoughts.push((t, sig));
            } else {
                c.texts.push(t);
            }
        }
        if let Some(s) = sig {
            c.signatures.push(s);
        }
    }
    c
}

/// One OpenAI tool call from a part holding `functionCall`.
fn push_tool_call(out: &mut Vec<u8>, part: Val<'_>, index: Option<u64>, scratch: &mut Vec<u8>) {
    let [call, sig] = part.fields(&["functionCall", "thoughtSignature"]);
    let [name, args, id] = call.map_or([None; 3], |c| c.fields(&["name", "args", "id"]));
    out.push(b'{');
    if let Some(i) = index {
        out.extend_from_slice(b"\"index\":");
        push_u64(out, i);
        out.push(b',');
    }
    out.extend_from_slice(b"\"id\":\"");
    match id.and_then(Val::str).filter(|s| !s.is_empty()) {
        Some(id) => out.extend_from_slice(id.0),
        None => push_call_id(out),
    }
    if let Some(sig) = sig.and_then(Val::str) {
        out.extend_from_slice(THOUGHT_SEP);
        out.extend_from_slice(sig.0);
    }
    out.extend_from_slice(b"\",\"type\":\"function\",\"function\":{\"name\":");
    push_raw(out, name.and_then(Val::str).unwrap_or(Str(b"")));
    out.extend_from_slice(b",\"arguments\":");
    match args {
        Some(a) => push_py_json_string(out, a, scratch),
        None => out.extend_from_slice(b"\"{}\""),
    }
    out.extend_from_slice(b"}}");
}

/// Raw string bodies joined between one pair of quotes.
fn push_raw_joined(out: &mut Vec<u8>, pieces: &[Str<'_>]) {
    out.push(b'"');
    for p in pieces {
        out.extend_from_slice(p.0);
    }
    out.push(b'"');
}

/// `"reasoning_content":"…","thinking_blocks":[…]` for thought parts (a
/// message's members and a delta's alike).
fn push_thoughts(out: &mut Vec<u8>, thoughts: &[(Str<'_>, Option<Str<'_>>)]) {
    out.extend_from_slice(b"\"reasoning_content\":\"");
    for (t, _) in thoughts {
        out.extend_from_slice(t.0);
    }
    out.extend_from_slice(b"\",\"thinking_blocks\":[");
    let mut n = 0;
    for (t, sig) in thoughts {
        comma(out, &mut n);
        out.extend_from_slice(b"{\"type\":\"thinking\",\"thinking\":");
        push_raw(out, *t);
        if let Some(s) = sig {
            out.extend_from_slice(b",\"signature\":");
            push_raw(out, *s);
        }
        out.push(b'}');
    }
    out.push(b']');
}

/// The `message` object of one candidate.
fn push_message(out: &mut Vec<u8>, c: &CandParts<'_>, scratch: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"content\":");
    if !c.texts.is_empty() {
        push_raw_joined(out, &c.texts);
    } else {
        out.extend_from_slice(b"null");
    }
    out.extend_from_slice(b",\"role\":\"assistant\",\"tool_calls\":");
    if c.calls.is_empty() {
        out.extend_from_slice(b"null");
    } else {
        out.push(b'[');
        let mut n = 0;
        for &p in &c.calls {
            comma(out, &mut n);
            push_tool_call(out, p, None, scratch);
        }
        out.push(b']');
    }
    out.extend_from_slice(b",\"function_call\":null");
    if !c.thoughts.is_empty() {
        out.push(b',');
        push_thoughts(out, &c.thoughts);
    }
    if !c.signatures.is_empty() {
        out.extend_from_slice(b",\"provider_specific_fields\":{\"thought_signatures\":[");
        let mut n = 0;
        for s in &c.signatures {
            comma(out, &mut n);
            push_raw(out, *s);
        }
        out.extend_from_slice(b"]}");
    }
    out.push(b'}');
}

/// The text of a Google error envelope (`{"error":{"code","message","status"}}`).
fn google_error(e: Val<'_>) -> (u64, String) {
    let [code, message, status] = e.fields(&["code", "message", "status"]);
    let text = |v: Option<Val<'_>>| {
        v.and_then(Val::str)
            .and_then(Str::decoded)
            .map(|d| String::from_utf8_lossy(&d).into_owned())
            .unwrap_or_default()
    };
    let code = code.map_or(500, Val::count);
    let status = text(status);
    let status = if status.is_empty() {
        "UNKNOWN".into()
    } else {
        status
    };
    (code, format!("{status} - {}", text(message)))
}

/// Translates a `generateContent` response into an OpenAI `chat.completion`
/// appended to `out`, and returns its token usage.
///
/// As LiteLLM's `_transform_response`: `id` is the `responseId` (else a
/// fresh `chatcmpl-<uuid>`), `model` the client's name; one choice per
/// candidate: text parts joined → `content` (null when there is none),
/// `thought` parts → `reasoning_content` and `thinking_blocks`,
/// `functionCall` parts → `tool_calls` (`call_<28 hex>` ids, or Gemini's own
/// `id`, with `__thought__<signature>` appended when the part is signed;
/// `arguments` spaced as Python's `json.dumps`), thought signatures also in
/// `provider_specific_fields.thought_signatures`; `finish_reason`
/// `tool_calls` when there are calls, else `STOP` → `stop`, `MAX_TOKENS` →
/// `length`, safety and other blocks → `content_filter`. A prompt blocked by
/// `promptFeedback.blockReason`, or a first candidate stopped for safety /
/// recitation / blocklist / prohibited content / SPII, answers one choice
/// with null content and `content_filter`. Usage: `promptTokenCount` (+
/// `toolUsePromptTokenCount` unless search-grounded) → `prompt_tokens`,
/// `candidatesTokenCount` (+ `thoughtsTokenCount` when not included) →
/// `completion_tokens`, `totalTokenCount` → `total_tokens`,
/// `cachedContentTokenCount` → `prompt_tokens_details.cached_tokens`,
/// `thoughtsTokenCount` → `completion_tokens_details.reasoning_tokens`.
/// A Google error body is an error.
pub fn gemini_to_openai_response(
    body: &[u8],
    client_model: &str,
    out: &mut Vec<u8>,
) -> Result<TokenUsage, TranslateError> {
    rollback_on_err(out, |out| response_inner(body, client_model, out))
}

fn response_inner(body: &[u8], client_model: &str, out: &mut Vec<u8>) -> Res<TokenUsage> {
    let root = parse_root(body)?;
    let [candidates, usage, feedback, id, error] = root.fields(&[
        "candidates",
        "usageMetadata",
        "promptFeedback",
        "responseId",
        "error",
    ]);
    if let Some(e) = error {
        let (_, msg) = google_error(e);
        return invalid(format!("VertexAIException - {msg}"));
    }
    let mut u = GUsage::default();
    if let Some(usage) = usage {
        u.merge(usage);
    }
    let cands: Vec<Val<'_>> = candidates.into_iter().flat_map(Val::elems).collect();
    u.grounded = cands.iter().any(|&c| grounded(c));
    push_chat_head(out, id.and_then(Val::str), client_model, b"chat.completion");
    out.extend_from_slice(b",\"system_fingerprint\":null,\"choices\":[");
    let blocked = feedback.is_some_and(|f| f.get("blockReason").is_some());
    let first_flagged = cands
        .first()
        .is_some_and(|c| is_flagged(c.get_str("finishReason")));
    if blocked || first_flagged {
        out.extend_from_slice(
            b"{\"finish_reason\":\"content_filter\",\"index\":0,\"message\":{\"content\":null,\"role\":\"assistant\",\"tool_calls\":null,\"function_call\":null}}",
        );
    } else {
        let mut scratch = Vec::new();
        let mut n = 0;
        for (idx, &c) in cands.iter().enumerate() {
            let [content, fr, index] = c.fields(&["content", "finishReason", "index"]);
            if content.is_none() && fr.is_none() {
                continue;
            }
            let parts = cand_parts(c);
            comma(out, &mut n);
            out.extend_from_slice(b"{\"finish_reason\":\"");
            out.extend_from_slice(if parts.calls.is_empty() {
                finish_reason(fr.and_then(Val::str))
            } else {
                b"tool_calls"
            });
            out.extend_from_slice(b"\",\"index\":");
            push_u64(out, index.map_or(idx as u64, Val::count));
            out.extend_from_slice(b",\"message\":");
            push_message(out, &parts, &mut scratch);
            out.push(b'}');
        }
    }
    out.extend_from_slice(b"],\"usage\":");
    u.push(out);
    out.push(b'}');
    Ok(u.openai())
}

// ---------------------------------------------------------------------------
// streamGenerateContent?alt=sse -> OpenAI chat.completion.chunk stream
// ---------------------------------------------------------------------------

/// Turns a `streamGenerateContent?alt=sse` stream (each event `data:
/// {GenerateContentResponse}`) into OpenAI `chat.completion.chunk` events,
/// event by event, as LiteLLM's `ModelResponseIterator.chunk_parser` does:
///
/// * the first chunk is `{"content":"","role":"assistant"}`;
/// * the text parts of an event → one `content` delta; `thought` parts → a
///   `reasoning_content` delta (with `thinking_blocks`);
/// * `functionCall` parts → one `tool_calls` delta each, complete (`index`
///   counted over the stream, `id`, `type`, `name`, `arguments`);
/// * `finishReason` → the `finish_reason` chunk (`tool_calls` if any call
///   was seen, as LiteLLM overrides `stop`); `promptFeedback.blockReason` →
///   `content_filter`;
/// * `usageMetadata` is remembered (the last one wins);
/// * an `error` event → `data: {"error": {...}}` and the stream is over.
///
/// Gemini has no end-of-stream event: [`GeminiToOpenAiStream::finish`],
/// called at the upstream's end, writes the finish chunk if none came, the
/// usage chunk when `include_usage`, and `data: [DONE]`. Only candidate 0 is
/// followed.
#[derive(Debug)]
pub struct GeminiToOpenAiStream {
    /// `data: {"id":…,"created":…,"model":…,"object":"chat.completion.chunk","choices":[`
    /// (`id` from the first event's `responseId` when it has one).
    chunks: Chunks,
    client_model: String,
    tools_seen: u64,
    usage: GUsage,
    scratch: Vec<u8>,
}

impl GeminiToOpenAiStream {
    /// `client_model` is the name the client asked for; `include_usage` is
    /// [`ReqInfo::include_usage`].
    pub fn new(client_model: &str, include_usage: bool) -> Self {
        GeminiToOpenAiStream {
            chunks: Chunks::unstarted(include_usage),
            client_model: client_model.to_owned(),
            tools_seen: 0,
            usage: GUsage::default(),
            scratch: Vec::new(),
        }
    }

    /// Whether `[DONE]` (or a final error) has been written.
    pub fn is_done(&self) -> bool {
        self.chunks.is_done()
    }

    /// Token usage seen so far (complete once the last event is in).
    pub fn usage(&self) -> TokenUsage {
        self.usage.openai()
    }

    fn finish_chunk(&mut self, out: &mut Vec<u8>, reason: &[u8]) {
        self.chunks.start(None, &self.client_model);
        self.chunks.finish(out, reason);
    }

    /// Feeds SSE bytes (one or more complete events) and appends the OpenAI
    /// events they produce. An event whose data is not JSON is an error;
    /// nothing is written for it.
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
        if trim_ascii(&data) == b"[DONE]" {
            return Ok(());
        }
        let root = parse_root(&data)?;
        let [candidates, usage, feedback, id, error] = root.fields(&[
            "candidates",
            "usageMetadata",
            "promptFeedback",
            "responseId",
            "error",
        ]);
        if let Some(err) = error {
            let (code, msg) = google_error(err);
            out.extend_from_slice(b"data: {\"error\": {\"message\": ");
            push_quoted(out, format!("VertexAIException - {msg}").as_bytes());
            out.extend_from_slice(b", \"type\": null, \"param\": null, \"code\": \"");
            push_u64(out, code);
            out.extend_from_slice(b"\"}}\n\n");
            self.chunks.set_done();
            return Ok(());
        }
        self.chunks.start(id.and_then(Val::str), &self.client_model);
        if let Some(u) = usage {
            self.usage.merge(u);
        }
        if feedback.is_some_and(|f| f.get("blockReason").is_some()) {
            self.finish_chunk(out, b"content_filter");
            return Ok(());
        }
        let Some(c) = candidates.and_then(|c| c.elems().next()) else {
            return Ok(());
        };
        self.usage.grounded |= grounded(c);
        let parts = cand_parts(c);
        if !parts.texts.is_empty() {
            self.chunks.delta(out, |out| {
                out.extend_from_slice(b"\"content\":");
                push_raw_joined(out, &parts.texts);
            });
        }
        if !parts.thoughts.is_empty() {
            self.chunks
                .delta(out, |out| push_thoughts(out, &parts.thoughts));
        }
        for &p in &parts.calls {
            let (index, scratch) = (self.tools_seen, &mut self.scratch);
            self.chunks.delta(out, |out| {
                out.extend_from_slice(b"\"tool_calls\":[");
                push_tool_call(out, p, Some(index), scratch);
                out.push(b']');
            });
            self.tools_seen += 1;
        }
        if let Some(fr) = c.get_str("finishReason") {
            let reason = if self.tools_seen > 0 {
                b"tool_calls"
            } else {
                finish_reason(Some(fr))
            };
            self.finish_chunk(out, reason);
        }
        Ok(())
    }

    /// Call when the upstream ended: writes the finish chunk if none came,
    /// the usage chunk if asked for, and `[DONE]` (nothing after an error).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.chunks.is_done() {
            return;
        }
        let reason: &[u8] = if self.tools_seen > 0 {
            b"tool_calls"
        } else {
            b"stop"
        };
        self.chunks.start(None, &self.client_model);
        let usage = self.usage;
        self.chunks.end(out, reason, |out| usage.push(out));
    }
}

// ---------------------------------------------------------------------------
// Embeddings
// ---------------------------------------------------------------------------

/// The OpenAI embeddings fields both Google formats use.
struct EmbedReq<'a> {
    input: Val<'a>,
    dimensions: Option<Val<'a>>,
    task_type: Option<Val<'a>>,
    title: Option<Val<'a>>,
    auto_truncate: Option<Val<'a>>,
}

fn read_embed(body: &[u8]) -> Res<EmbedReq<'_>> {
    let root = parse_root(body)?;
    let [input, dimensions, task_type, input_type, title, auto_truncate] = root.fields(&[
        "input",
        "dimensions",
        "task_type",
        "input_type",
        "title",
        "auto_truncate",
    ]);
    let Some(input) = input else {
        return Err(TranslateError::Missing("input"));
    };
    let token_arrays = || {
        TranslateError::Invalid(
            "Google embedding models take text input; token arrays are not supported".into(),
        )
    };
    if input.is_arr() {
        for e in input.elems() {
            if e.is_num() || (e.is_arr() && e.elems().any(|x| x.is_num())) {
                return Err(token_arrays());
            }
            if e.str().is_none() && !e.is_arr() {
                return invalid("'input' must be a string or an array of strings");
            }
        }
        if input.elems().next().is_none() {
            return invalid("'input' must not be empty");
        }
    } else if input.str().is_none() {
        return invalid("'input' must be a string or an array of strings");
    }
    if let Some(d) = dimensions.filter(|d| !d.is_num()) {
        return invalid(format!(
            "'dimensions' must be an integer, got {}",
            String::from_utf8_lossy(d.0)
        ));
    }
    Ok(EmbedReq {
        input,
        dimensions,
        task_type: task_type.or(input_type).filter(|t| t.str().is_some()),
        title: title.filter(|t| t.str().is_some()),
        auto_truncate: auto_truncate.filter(|a| a.bool().is_some()),
    })
}

/// The inputs, each with its strings (a nested list is one combined input).
fn embed_inputs<'a>(input: Val<'a>) -> Vec<Vec<Str<'a>>> {
    if let Some(s) = input.str() {
        return vec![vec![s]];
    }
    input
        .elems()
        .map(|e| match e.str() {
            Some(s) => vec![s],
            None => e.elems().filter_map(Val::str).collect(),
        })
        .collect()
}

/// One embedding input as a part: text, or (as LiteLLM's multimodal
/// embeddings) a `data:` URL → `inlineData`, a `gs://` URL → `fileData`.
fn push_embed_part(out: &mut Vec<u8>, s: Str<'_>) -> Res<()> {
    if s.starts_with(b"gs://") || split_data_url(s).is_some() {
        return push_media(out, s, None);
    }
    out.extend_from_slice(b"{\"text\":");
    push_raw(out, s);
    out.push(b'}');
    Ok(())
}

/// OpenAI embeddings request → AI Studio `batchEmbedContents`: one request
/// per input (`{"model":"models/<m>","content":{"parts":[..]}}`, a nested
/// list of strings is one combined input), `dimensions` →
/// `outputDimensionality`, `task_type`/`input_type` → `taskType`, `title`.
/// Token-array inputs are an error.
pub fn openai_to_gemini_embed_request(
    body: &[u8],
    upstream_model: &str,
    out: &mut Vec<u8>,
) -> Result<(), TranslateError> {
    rollback_on_err(out, |out| {
        let req = read_embed(body)?;
        let model = upstream_model
            .strip_prefix("gemini/")
            .unwrap_or(upstream_model);
        let model = model.strip_prefix("models/").unwrap_or(model);
        out.extend_from_slice(b"{\"requests\":[");
        let mut n = 0;
        for input in embed_inputs(req.input) {
            if input.is_empty() {
                return invalid("Nested input list must not be empty");
            }
            comma(out, &mut n);
            out.extend_from_slice(b"{\"model\":\"models/");
            push_escaped(out, model.as_bytes());
            out.extend_from_slice(b"\",\"content\":{\"parts\":[");
            let mut k = 0;
            for s in input {
                comma(out, &mut k);
                push_embed_part(out, s)?;
            }
            out.extend_from_slice(b"]}");
            for (key, v) in [
                (&b",\"outputDimensionality\":"[..], req.dimensions),
                (b",\"taskType\":", req.task_type),
                (b",\"title\":", req.title),
            ] {
                if let Some(v) = v {
                    out.extend_from_slice(key);
                    out.extend_from_slice(v.0);
                }
            }
            out.push(b'}');
        }
        out.extend_from_slice(b"]}");
        Ok(())
    })
}

/// OpenAI embeddings request → Vertex `:predict`:
/// `{"instances":[{"content":..,"task_type"?,"title"?}],"parameters":{"outputDimensionality"?,"autoTruncate"?}}`
/// (`parameters` always sent, as LiteLLM does).
pub fn openai_to_vertex_embed_request(
    body: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), TranslateError> {
    rollback_on_err(out, |out| {
        let req = read_embed(body)?;
        out.extend_from_slice(b"{\"instances\":[");
        let mut n = 0;
        for input in embed_inputs(req.input) {
            let [s] = input[..] else {
                return invalid("Vertex text embeddings take a string or a list of strings");
            };
            comma(out, &mut n);
            out.extend_from_slice(b"{\"content\":");
            push_raw(out, s);
            if let Some(t) = req.task_type {
                out.extend_from_slice(b",\"task_type\":");
                out.extend_from_slice(t.0);
            }
            if let Some(t) = req.title {
                out.extend_from_slice(b",\"title\":");
                out.extend_from_slice(t.0);
            }
            out.push(b'}');
        }
        out.extend_from_slice(b"],\"parameters\":{");
        let mut k = 0;
        if let Some(d) = req.dimensions {
            comma(out, &mut k);
            out.extend_from_slice(b"\"outputDimensionality\":");
            out.extend_from_slice(d.0);
        }
        if let Some(a) = req.auto_truncate {
            comma(out, &mut k);
            out.extend_from_slice(b"\"autoTruncate\":");
            out.extend_from_slice(a.0);
        }
        out.extend_from_slice(b"}}");
        Ok(())
    })
}

/// Writes the OpenAI embeddings list from `(values span)` items; the
/// values are copied as they are (never parsed to floats).
fn push_embed_list<'a>(
    out: &mut Vec<u8>,
    values: impl Iterator<Item = Val<'a>>,
    client_model: &str,
    tokens: u64,
) {
    out.extend_from_slice(b"{\"object\":\"list\",\"data\":[");
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"object\":\"embedding\",\"embedding\":");
        out.extend_from_slice(v.0);
        out.extend_from_slice(b",\"index\":");
        push_u64(out, i as u64);
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"model\":");
    push_quoted(out, client_model.as_bytes());
    out.extend_from_slice(b",\"usage\":{\"prompt_tokens\":");
    push_u64(out, tokens);
    out.extend_from_slice(b",\"total_tokens\":");
    push_u64(out, tokens);
    out.extend_from_slice(b"}}");
}

fn values_of(e: Val<'_>) -> Res<Val<'_>> {
    match e.get("values") {
        Some(v) if v.is_arr() => Ok(v),
        _ => invalid("Gemini embedding without 'values'"),
    }
}

/// `batchEmbedContents` (`{"embeddings":[{"values":[..]}]}`) or
/// `embedContent` (`{"embedding":{"values":[..]}}`) → OpenAI embeddings
/// list. `prompt_tokens` is `usageMetadata.promptTokenCount` when Google
/// sends it, else 0 (LiteLLM counts the input with its own tokenizer).
pub fn gemini_to_openai_embed_response(
    body: &[u8],
    client_model: &str,
    out: &mut Vec<u8>,
) -> Result<(), TranslateError> {
    let root = parse_root(body)?;
    let [embeddings, embedding, usage, error] =
        root.fields(&["embeddings", "embedding", "usageMetadata", "error"]);
    if let Some(e) = error {
        return invalid(format!("VertexAIException - {}", google_error(e).1));
    }
    let list: Vec<Val<'_>> = match (embeddings, embedding) {
        (Some(l), _) if l.is_arr() => l.elems().map(values_of).collect::<Res<_>>()?,
        (_, Some(e)) => vec![values_of(e)?],
        _ => return invalid("Gemini embedding response without 'embeddings'"),
    };
    let tokens = usage
        .and_then(|u| u.get("promptTokenCount"))
        .map_or(0, Val::count);
    push_embed_list(out, list.into_iter(), client_model, tokens);
    Ok(())
}

/// Vertex `:predict` (`{"predictions":[{"embeddings":{"values":[..],
/// "statistics":{"token_count":N}}}]}`) → OpenAI embeddings list, usage the
/// summed `token_count`s.
pub fn vertex_to_openai_embed_response(
    body: &[u8],
    client_model: &str,
    out: &mut Vec<u8>,
) -> Result<(), TranslateError> {
    let root = parse_root(body)?;
    let [predictions, error] = root.fields(&["predictions", "error"]);
    if let Some(e) = error {
        return invalid(format!("VertexAIException - {}", google_error(e).1));
    }
    let Some(predictions) = predictions.filter(|p| p.is_arr()) else {
        return invalid("Vertex embedding response without 'predictions'");
    };
    let mut list = Vec::new();
    let mut tokens = 0u64;
    for p in predictions.elems() {
        let Some(e) = p.get("embeddings") else {
            return invalid("Vertex prediction without 'embeddings'");
        };
        list.push(values_of(e)?);
        tokens += e
            .get("statistics")
            .and_then(|s| s.get("token_count"))
            .map_or(0, Val::count);
    }
    push_embed_list(out, list.into_iter(), client_model, tokens);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn j(b: &[u8]) -> Value {
        serde_json::from_slice(b)
            .unwrap_or_else(|e| panic!("invalid JSON ({e}): {}", String::from_utf8_lossy(b)))
    }

    fn req(v: &Value, model: &str) -> (Value, ReqInfo) {
        let mut out = Vec::new();
        let info =
            openai_to_gemini_request_for_model(&serde_json::to_vec(v).unwrap(), model, &mut out)
                .unwrap();
        (j(&out), info)
    }

    fn resp(v: &Value) -> (Value, TokenUsage) {
        let mut out = Vec::new();
        let u = gemini_to_openai_response(&serde_json::to_vec(v).unwrap(), "my-model", &mut out)
            .unwrap();
        (j(&out), u)
    }

    fn err(v: &Value) -> String {
        let mut out = b"keep".to_vec();
        let e = openai_to_gemini_request(&serde_json::to_vec(v).unwrap(), &mut out).unwrap_err();
        assert_eq!(out, b"keep", "output left as it was on error");
        e.to_string()
    }

    /// The request LiteLLM 1.106.2 builds for this body with
    /// `gemini-2.5-flash` (captured with `_transform_request_body`; its
    /// snake_case keys written here in camelCase, which Google also accepts).
    #[test]
    fn golden_request_matches_litellm() {
        let body = json!({"model":"x","messages":[
            {"role":"system","content":"Be brief."},
            {"role":"user","content":[{"type":"text","text":"What is in this image?"},
                {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]},
            {"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_1","type":"function",
                "function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
            {"role":"tool","tool_call_id":"call_1","content":"{\"temp\": 21}"},
            {"role":"tool","tool_call_id":"call_1","content":"sunny"},
            {"role":"user","content":"thanks"}],
          "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather",
            "parameters":{"type":"object","properties":{"city":{"type":"string"},
              "unit":{"type":["string","null"],"enum":["c","f",""]},"tags":{"type":"array"},
              "opt":{"anyOf":[{"type":"integer"},{"type":"null"}],"description":"o"}},
              "required":["city"],"additionalProperties":false,"$schema":"x"}}}],
          "tool_choice":"required","temperature":0.2,"max_tokens":100,"stop":"END","n":1,"seed":3,
          "reasoning_effort":"low","stream":true,
          "response_format":{"type":"json_schema","json_schema":{"name":"x","strict":true,
            "schema":{"type":"object","properties":{"b":{"type":"string"},"a":{"type":"integer"}}}}}});
        let (g, info) = req(&body, "gemini-2.5-flash");
        assert_eq!(
            info,
            ReqInfo {
                stream: true,
                include_usage: false
            }
        );
        assert_eq!(
            g,
            json!({
              "contents":[
                {"role":"user","parts":[{"text":"What is in this image?"},
                    {"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}}]},
                {"role":"model","parts":[{"text":"Let me check."},
                    {"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}]},
                {"role":"user","parts":[
                    {"functionResponse":{"name":"get_weather","response":{"temp":21}}},
                    {"functionResponse":{"name":"get_weather","response":{"content":"sunny"}}}]},
                {"role":"user","parts":[{"text":"thanks"}]}],
              "systemInstruction":{"parts":[{"text":"Be brief."}]},
              "tools":[{"functionDeclarations":[{"name":"get_weather","description":"Weather",
                "parameters":{"type":"object","properties":{
                  "city":{"type":"string"},
                  "unit":{"anyOf":[{"type":"string"},{"type":"null"}]},
                  "tags":{"type":"array","items":{"type":"object"}},
                  "opt":{"anyOf":[{"type":"integer","nullable":true,"description":"o"}]}},
                  "required":["city"]}}]}],
              "toolConfig":{"functionCallingConfig":{"mode":"ANY"}},
              "generationConfig":{"temperature":0.2,"candidateCount":1,"stopSequences":["END"],
                "maxOutputTokens":100,"responseMimeType":"application/json",
                "responseJsonSchema":{"type":"object","properties":{"b":{"type":"string"},"a":{"type":"integer"}}},
                "seed":3,"thinkingConfig":{"thinkingBudget":1024,"includeThoughts":true}}
            })
        );
        // Without a model: OpenAPI `responseSchema` with `propertyOrdering`
        // in the client's key order (a raw body: `json!` sorts keys).
        let mut out = Vec::new();
        openai_to_gemini_request(
            br#"{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema",
                "json_schema":{"schema":{"type":"object","properties":{"b":{"type":"string"},"a":{"type":"integer"}}}}}}"#,
            &mut out,
        )
        .unwrap();
        let g = j(&out);
        assert_eq!(
            g["generationConfig"]["responseSchema"],
            json!({"type":"object","properties":{"b":{"type":"string"},"a":{"type":"integer"}},
                   "propertyOrdering":["b","a"]})
        );
    }

    /// Google's documented multi-turn example (ai.google.dev "Text
    /// generation": chat) with a generation config.
    #[test]
    fn golden_multi_turn_text() {
        let body = json!({"model":"gemini-2.0-flash","messages":[
            {"role":"user","content":"Hello"},
            {"role":"assistant","content":"Great to meet you. What would you like to know?"},
            {"role":"user","content":"I have two dogs in my house. How many paws are in my house?"}],
            "stop":["Title"],"temperature":1.0,"max_completion_tokens":800,"top_p":0.8,"top_k":10,
            "presence_penalty":0.5,"frequency_penalty":0.25,"stream":true,
            "stream_options":{"include_usage":true},"user":"ignored","logit_bias":{"1":2}});
        let (g, info) = req(&body, "gemini-2.0-flash");
        assert!(info.stream && info.include_usage);
        assert_eq!(
            g,
            json!({"contents":[
                {"role":"user","parts":[{"text":"Hello"}]},
                {"role":"model","parts":[{"text":"Great to meet you. What would you like to know?"}]},
                {"role":"user","parts":[{"text":"I have two dogs in my house. How many paws are in my house?"}]}],
              "generationConfig":{"temperature":1.0,"topP":0.8,"topK":10,"stopSequences":["Title"],
                "maxOutputTokens":800,"frequencyPenalty":0.25,"presencePenalty":0.5}})
        );
        // Gemini 3: no penalties, thinkingLevel, default temperature.
        let body = json!({"messages":[{"role":"user","content":"hi"}],"presence_penalty":1,
                          "reasoning_effort":"high"});
        let (g, _) = req(&body, "gemini-3-pro-preview");
        assert_eq!(
            g["generationConfig"],
            json!({"temperature":1.0,"thinkingConfig":{"thinkingLevel":"high","includeThoughts":true}})
        );
    }

    /// Google's function-calling example: declarations, a call, its result.
    #[test]
    fn golden_function_calling_and_media() {
        let body = json!({"messages":[
            {"role":"developer","content":[{"type":"text","text":"You are "},{"type":"text","text":"a bot."}]},
            {"role":"user","content":"Turn the lights down to a romantic level"},
            {"role":"assistant","content":null,"tool_calls":[
                {"id":"call_a__thought__c2ln","type":"function","function":{"name":"set_light_values",
                 "arguments":"{\"brightness\": 25, \"color_temp\": \"warm\"}"}},
                {"id":"call_b","type":"function","function":{"name":"noargs","arguments":""}}]},
            {"role":"tool","tool_call_id":"call_a__thought__c2ln","content":[{"type":"text","text":"{\"brightness\":"},{"type":"text","text":" 25}"}]},
            {"role":"tool","tool_call_id":"call_b","content":"data:image/jpeg;base64,AAAA"},
            {"role":"user","content":[
                {"type":"image_url","image_url":"https://example.com/cat.jpg?x=1"},
                {"type":"image_url","image_url":{"url":"gs://bucket/doc.pdf"}},
                {"type":"image_url","image_url":{"url":"http://example.com/noext","format":"image/gif"}},
                {"type":"input_audio","input_audio":{"data":"UklG","format":"wav"}},
                {"type":"file","file":{"file_id":"https://generativelanguage.googleapis.com/v1beta/files/abc"}}]}],
          "tools":[{"type":"function","function":{"name":"set_light_values",
              "description":"Sets the brightness and color temperature of a light.",
              "parameters":{"type":"object","properties":{
                "brightness":{"type":"integer","description":"Light level from 0 to 100."},
                "color_temp":{"type":"string","enum":["daylight","cool","warm"]}},
                "required":["brightness","color_temp"]}}},
            {"type":"function","function":{"name":"noargs","parameters":{"type":"object","properties":{}}}},
            {"type":"web_search"}],
          "tool_choice":{"type":"function","function":{"name":"set_light_values"}}});
        let (g, _) = req(&body, "gemini-2.5-flash");
        assert_eq!(
            g["systemInstruction"],
            json!({"parts":[{"text":"You are a bot."}]})
        );
        assert_eq!(
            g["contents"],
            json!([
              {"role":"user","parts":[{"text":"Turn the lights down to a romantic level"}]},
              {"role":"model","parts":[
                {"functionCall":{"name":"set_light_values","args":{"brightness":25,"color_temp":"warm"}},
                 "thoughtSignature":"c2ln"},
                {"functionCall":{"name":"noargs","args":{"type":"object"}}}]},
              {"role":"user","parts":[
                {"functionResponse":{"name":"set_light_values","response":{"brightness":25}}},
                {"functionResponse":{"name":"noargs","response":{"content":""},
                  "parts":[{"inlineData":{"mimeType":"image/jpeg","data":"AAAA"}}]}}]},
              {"role":"user","parts":[
                {"fileData":{"mimeType":"image/jpeg","fileUri":"https://example.com/cat.jpg?x=1"}},
                {"fileData":{"mimeType":"application/pdf","fileUri":"gs://bucket/doc.pdf"}},
                {"fileData":{"mimeType":"image/gif","fileUri":"http://example.com/noext"}},
                {"inlineData":{"mimeType":"audio/wav","data":"UklG"}},
                {"fileData":{"fileUri":"https://generativelanguage.googleapis.com/v1beta/files/abc"}},
                {"text":" "}]}])
        );
        assert_eq!(
            g["tools"],
            json!([{"functionDeclarations":[
                {"name":"set_light_values","description":"Sets the brightness and color temperature of a light.",
                 "parameters":{"type":"object","properties":{
                    "brightness":{"type":"integer","description":"Light level from 0 to 100."},
                    "color_temp":{"type":"string","enum":["daylight","cool","warm"]}},
                    "required":["brightness","color_temp"]}},
                {"name":"noargs","parameters":{"type":"object"}}]},
              {"googleSearch":{}}])
        );
        assert_eq!(
            g["toolConfig"],
            json!({"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["set_light_values"]}})
        );
    }

    #[test]
    fn schema_rewrites() {
        let schema = json!({"type":"object","$defs":{"P":{"type":"object","properties":{"n":{"type":"integer","enum":[1,2]}}}},
            "properties":{"p":{"$ref":"#/$defs/P"},"e":{"type":"string","enum":["a",""],"format":"email"},
              "t":{"type":["object","null"],"properties":{"x":{"type":"string"}},"title":"T"},
              "d":{"type":"string","format":"date-time","strict":true,"const":"x"},
              "u":{"oneOf":[{"type":"string"}]}}});
        let mut out = Vec::new();
        let v = serde_json::to_vec(&schema).unwrap();
        push_schema_root(&mut out, Val(&v), false).unwrap();
        assert_eq!(
            j(&out),
            json!({"type":"object","properties":{
                "p":{"type":"object","properties":{"n":{"type":"integer"}}},
                "e":{"type":"string","enum":["a",null]},
                "t":{"anyOf":[{"type":"object","title":"T","properties":{"x":{"type":"string"}}},
                              {"type":"null","title":"T"}]},
                "d":{"type":"string","format":"date-time"},
                "u":{}}})
        );
        let only_null = br#"{"anyOf":[{"type":"null"}]}"#;
        assert!(push_schema_root(&mut Vec::new(), Val(only_null), false).is_err());
        // Circular $ref: bounded, an error rather than a stack overflow.
        let circ = br##"{"$defs":{"A":{"$ref":"#/$defs/A"}},"$ref":"#/$defs/A"}"##;
        assert!(push_schema_root(&mut Vec::new(), Val(circ), false).is_err());
    }

    #[test]
    fn request_errors_and_edges() {
        assert!(err(&json!({"model":"m"})).contains("messages"));
        assert!(err(&json!({"messages":[{"role":"wizard","content":"x"}]})).contains("role"));
        assert!(err(
            &json!({"messages":[{"role":"user","content":"x"}],"tool_choice":"sometimes"})
        )
        .contains("tool_choice"));
        assert!(err(
            &json!({"messages":[{"role":"assistant","tool_calls":[{"id":"a","type":"function",
            "function":{"name":"f","arguments":"{not json"}}]}]})
        )
        .contains("arguments"));
        assert!(
            err(&json!({"messages":[{"role":"tool","tool_call_id":"zz","content":"x"}]}))
                .contains("Missing corresponding tool call")
        );
        assert!(err(
            &json!({"messages":[{"role":"user","content":"x"}],"reasoning_effort":"huge"})
        )
        .contains("reasoning_effort"));
        assert!(err(
            &json!({"messages":[{"role":"user","content":[{"type":"image_url",
            "image_url":{"url":"gs://b/noext"}}]}]})
        )
        .contains("mime type"));
        let mut out = Vec::new();
        assert!(matches!(
            openai_to_gemini_request(b"[1]", &mut out),
            Err(TranslateError::NotObject)
        ));
        assert!(matches!(
            openai_to_gemini_request(b"{\"messages\":[", &mut out),
            Err(TranslateError::Json { .. })
        ));
        // Only a system prompt: one blank user turn (Gemini needs contents).
        let (g, _) = req(&json!({"messages":[{"role":"system","content":"s"}]}), "");
        assert_eq!(
            g["contents"],
            json!([{"role":"user","parts":[{"text":" "}]}])
        );
        // Legacy function role answers by its own name; reasoning replays as a thought.
        let (g, _) = req(
            &json!({"messages":[{"role":"user","content":"q"},
                {"role":"assistant","content":"a","reasoning_content":"hmm"},
                {"role":"function","name":"f","content":"[1,2]"}],
                "thinking":{"type":"enabled","budget_tokens":512},"modalities":["text"]}),
            "gemini-2.5-pro",
        );
        assert_eq!(
            g["contents"][1]["parts"][0],
            json!({"thought":true,"text":"hmm"})
        );
        assert_eq!(
            g["contents"][2]["parts"][0],
            json!({"functionResponse":{"name":"f","response":{"content":"[1,2]"}}})
        );
        assert_eq!(
            g["generationConfig"],
            json!({"thinkingConfig":{"includeThoughts":true,"thinkingBudget":512},
                   "responseModalities":["TEXT"]})
        );
    }

    #[test]
    fn model_rules() {
        for m in [
            "gemini-3-pro-preview",
            "gemini/gemini-3-flash",
            "gemini-flash-latest",
        ] {
            assert!(is_gemini_3_or_newer(m), "{m}");
        }
        for m in [
            "gemini-2.5-flash",
            "gemini-1.5-pro-002",
            "gemini-pro",
            "gemini-exp-1206",
            "gemma-3-27b-it",
            "",
            "1234567",
            "gemini/custom",
        ] {
            assert!(!is_gemini_3_or_newer(m), "{m}");
        }
        assert!(supports_json_schema("gemini-2.0-flash"));
        assert!(supports_json_schema("vertex_ai/gemini-3-pro"));
        assert!(supports_json_schema("gemini-10-x"));
        assert!(!supports_json_schema("gemini-1.5-pro"));
        assert!(!supports_json_schema("gemini-pro"));
        assert_eq!(
            gemini_path("gemini-2.0-flash", false),
            "/v1beta/models/gemini-2.0-flash:generateContent"
        );
        assert_eq!(
            vertex_path("p", "us-central1", "gemini-2.0-flash", true),
            "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
        );
    }

    /// The response from Google's generateContent documentation, and the
    /// shape LiteLLM 1.106.2 gives it (probed with `transform_response`).
    #[test]
    fn golden_response_text_and_tools() {
        let (o, u) = resp(&json!({
            "candidates":[{"content":{"parts":[{"text":"Hello there"},
                {"functionCall":{"name":"get_weather","args":{"city":"Paris","n":1}}}],"role":"model"},
              "finishReason":"STOP","index":0,"safetyRatings":[]}],
            "usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5,"totalTokenCount":15},
            "modelVersion":"gemini-2.0-flash","responseId":"abc123"}));
        assert_eq!(
            u,
            TokenUsage {
                prompt_tokens: 10,
                completion_tokens: 5,
                ..Default::default()
            }
        );
        assert_eq!(o["id"], "abc123");
        assert_eq!(o["model"], "my-model");
        assert_eq!(o["object"], "chat.completion");
        assert!(o["created"].as_u64().unwrap() > 1_600_000_000);
        let choice = &o["choices"][0];
        assert_eq!(choice["finish_reason"], "tool_calls");
        assert_eq!(choice["message"]["content"], "Hello there");
        let call = &choice["message"]["tool_calls"][0];
        let id = call["id"].as_str().unwrap();
        assert!(id.starts_with("call_") && id.len() == 33, "{id}");
        assert_eq!(call["type"], "function");
        assert_eq!(
            call["function"],
            json!({"name":"get_weather","arguments":"{\"city\": \"Paris\", \"n\": 1}"})
        );
        assert_eq!(choice["message"]["function_call"], Value::Null);
        assert_eq!(
            o["usage"],
            json!({"completion_tokens":5,"prompt_tokens":10,"total_tokens":15,
                   "completion_tokens_details":{"reasoning_tokens":0,"text_tokens":5},
                   "prompt_tokens_details":{"cached_tokens":0}})
        );
    }

    #[test]
    fn response_thinking_usage_and_blocks() {
        let (o, u) = resp(&json!({
            "candidates":[{"content":{"parts":[{"text":"plan","thought":true,"thoughtSignature":"sig1"},
                {"text":"Answer"},{"functionCall":{"name":"f","args":{},"id":"fc_9"},"thoughtSignature":"sig2"}]},
              "finishReason":"MAX_TOKENS"},
              {"content":{"parts":[{"text":"second"}]},"finishReason":"MAX_TOKENS","index":1}],
            "usageMetadata":{"promptTokenCount":100,"candidatesTokenCount":20,"thoughtsTokenCount":30,
              "cachedContentTokenCount":60,"totalTokenCount":150}}));
        // 100 + 20 != 150: thoughts are counted on top of candidates.
        assert_eq!(
            u,
            TokenUsage {
                prompt_tokens: 100,
                completion_tokens: 50,
                cache_read_tokens: 60,
                cache_creation_tokens: 0
            }
        );
        assert!(o["id"].as_str().unwrap().starts_with("chatcmpl-"));
        let m = &o["choices"][0]["message"];
        assert_eq!(m["reasoning_content"], "plan");
        assert_eq!(
            m["thinking_blocks"],
            json!([{"type":"thinking","thinking":"plan","signature":"sig1"}])
        );
        assert_eq!(m["tool_calls"][0]["id"], "fc_9__thought__sig2");
        assert_eq!(m["tool_calls"][0]["function"]["arguments"], "{}");
        assert_eq!(
            m["provider_specific_fields"],
            json!({"thought_signatures":["sig1","sig2"]})
        );
        assert_eq!(o["choices"][1]["finish_reason"], "length");
        assert_eq!(o["choices"][1]["index"], 1);
        assert_eq!(
            o["usage"]["completion_tokens_details"]["reasoning_tokens"],
            30
        );
        assert_eq!(o["usage"]["prompt_tokens_details"]["cached_tokens"], 60);

        let blocked = json!({"promptFeedback":{"blockReason":"SAFETY"},
            "usageMetadata":{"promptTokenCount":7,"totalTokenCount":7}});
        let (o, _) = resp(&blocked);
        assert_eq!(
            o["choices"],
            json!([{"finish_reason":"content_filter","index":0,
            "message":{"content":null,"role":"assistant","tool_calls":null,"function_call":null}}])
        );
        let (o, _) = resp(
            &json!({"candidates":[{"finishReason":"RECITATION","content":{"parts":[{"text":"x"}]}}]}),
        );
        assert_eq!(o["choices"][0]["finish_reason"], "content_filter");
        assert_eq!(o["choices"][0]["message"]["content"], Value::Null);
        let (o, _) = resp(&json!({"candidates":[{"finishReason":"STOP"}]}));
        assert_eq!(o["choices"][0]["message"]["content"], Value::Null);
        assert_eq!(o["usage"]["total_tokens"], 0);
        let mut out = Vec::new();
        let e = gemini_to_openai_response(
            br#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}"#,
            "m",
            &mut out,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "VertexAIException - RESOURCE_EXHAUSTED - Quota exceeded"
        );
        assert!(out.is_empty());
    }

    /// A real-looking `alt=sse` stream: Google frames events with `\r\n\r\n`
    /// and sends usage on every event, complete on the last.
    const SSE: &str = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"The\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 8,\"totalTokenCount\": 8},\"modelVersion\": \"gemini-2.0-flash\",\"responseId\": \"r-1\"}\r\n\r\n\
data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" quick \\\"fox\\\"\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 8,\"totalTokenCount\": 8},\"modelVersion\": \"gemini-2.0-flash\",\"responseId\": \"r-1\"}\r\n\r\n\
data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" jumps.\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 8,\"candidatesTokenCount\": 4,\"totalTokenCount\": 12,\"promptTokensDetails\": [{\"modality\": \"TEXT\",\"tokenCount\": 8}]},\"modelVersion\": \"gemini-2.0-flash\",\"responseId\": \"r-1\"}\r\n\r\n";

    fn chunks(out: &[u8]) -> (Vec<Value>, bool) {
        let s = std::str::from_utf8(out).unwrap();
        let mut v = Vec::new();
        let mut done = false;
        for ev in s.split("\n\n").filter(|e| !e.is_empty()) {
            let data = ev.strip_prefix("data: ").unwrap();
            if data == "[DONE]" {
                done = true;
            } else {
                v.push(serde_json::from_str(data).unwrap());
            }
        }
        (v, done)
    }

    #[test]
    fn golden_text_stream() {
        for split in [None, Some(1), Some(2)] {
            let mut st = GeminiToOpenAiStream::new("client-m", true);
            let mut out = Vec::new();
            let evs: Vec<&str> = SSE.split_inclusive("\r\n\r\n").collect();
            match split {
                None => st.feed(SSE.as_bytes(), &mut out).unwrap(),
                Some(k) => {
                    st.feed(evs[..k].concat().as_bytes(), &mut out).unwrap();
                    st.feed(evs[k..].concat().as_bytes(), &mut out).unwrap();
                }
            }
            assert!(!st.is_done());
            st.finish(&mut out);
            assert!(st.is_done());
            let (c, done) = chunks(&out);
            assert!(done);
            assert!(c.iter().all(|c| c["id"] == "r-1"
                && c["model"] == "client-m"
                && c["object"] == "chat.completion.chunk"));
            assert_eq!(
                c[0]["choices"][0]["delta"],
                json!({"content":"","role":"assistant"})
            );
            let text: String = c
                .iter()
                .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
                .collect();
            assert_eq!(text, "The quick \"fox\" jumps.");
            assert_eq!(
                c[4]["choices"][0],
                json!({"finish_reason":"stop","index":0,"delta":{}})
            );
            assert_eq!(c[5]["usage"]["prompt_tokens"], 8);
            assert_eq!(c[5]["usage"]["completion_tokens"], 4);
            assert_eq!(c[5]["usage"]["total_tokens"], 12);
            assert_eq!(c.len(), 6);
            assert_eq!(st.usage().completion_tokens, 4);
        }
    }

    #[test]
    fn stream_tools_errors_and_eof() {
        let ev = |v: Value| format!("data: {v}\r\n\r\n");
        let mut st = GeminiToOpenAiStream::new("m", false);
        let mut out = Vec::new();
        let s = ev(json!({"candidates":[{"content":{"parts":[
                {"text":"t","thought":true},
                {"functionCall":{"name":"a","args":{"x":[1, 2]}}},
                {"functionCall":{"name":"b","args":{}}}]}}]}))
            + &ev(
                json!({"candidates":[{"content":{"parts":[{"text":""}]},"finishReason":"STOP"}]}),
            );
        st.feed(s.as_bytes(), &mut out).unwrap();
        st.finish(&mut out);
        let (c, done) = chunks(&out);
        assert!(done);
        assert_eq!(c[1]["choices"][0]["delta"]["reasoning_content"], "t");
        let t0 = &c[2]["choices"][0]["delta"]["tool_calls"][0];
        assert_eq!(t0["index"], 0);
        assert_eq!(
            t0["function"],
            json!({"name":"a","arguments":"{\"x\": [1, 2]}"})
        );
        assert_eq!(c[3]["choices"][0]["delta"]["tool_calls"][0]["index"], 1);
        assert_eq!(
            c.last().unwrap()["choices"][0]["finish_reason"],
            "tool_calls"
        );
        assert!(c.iter().all(|c| c.get("usage").is_none()));

        // A mid-stream error ends the stream without [DONE].
        let mut st = GeminiToOpenAiStream::new("m", true);
        let mut out = Vec::new();
        st.feed(
            b"data: {\"error\":{\"code\":429,\"message\":\"Resource exhausted\",\"status\":\"RESOURCE_EXHAUSTED\"}}\r\n\r\n",
            &mut out,
        )
        .unwrap();
        assert!(st.is_done());
        st.finish(&mut out);
        let s = String::from_utf8(out).unwrap();
        assert_eq!(s.matches("data: ").count(), 1);
        let e: Value = serde_json::from_str(s.trim().strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(e["error"]["code"], "429");
        assert_eq!(
            e["error"]["message"],
            "VertexAIException - RESOURCE_EXHAUSTED - Resource exhausted"
        );

        // Prompt blocked; and an upstream that ends with nothing at all.
        let mut st = GeminiToOpenAiStream::new("m", false);
        let mut out = Vec::new();
        st.feed(
            b"data: {\"promptFeedback\":{\"blockReason\":\"OTHER\"}}\n\n",
            &mut out,
        )
        .unwrap();
        st.finish(&mut out);
        let (c, _) = chunks(&out);
        assert_eq!(c[1]["choices"][0]["finish_reason"], "content_filter");
        let mut st = GeminiToOpenAiStream::new("m", true);
        let mut out = Vec::new();
        st.finish(&mut out);
        let (c, done) = chunks(&out);
        assert!(done && c.len() == 3, "{c:?}");
        // Bad JSON is an error and writes nothing.
        let mut st = GeminiToOpenAiStream::new("m", true);
        let mut out = Vec::new();
        assert!(st.feed(b"data: {nope\n\n", &mut out).is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn embeddings() {
        let mut out = Vec::new();
        openai_to_gemini_embed_request(
            br#"{"model":"x","input":["hello \"w\"","data:image/png;base64,AAA"],"dimensions":3,"task_type":"RETRIEVAL_QUERY"}"#,
            "gemini/text-embedding-004",
            &mut out,
        )
        .unwrap();
        assert_eq!(
            j(&out),
            json!({"requests":[
                {"model":"models/text-embedding-004","content":{"parts":[{"text":"hello \"w\""}]},
                 "outputDimensionality":3,"taskType":"RETRIEVAL_QUERY"},
                {"model":"models/text-embedding-004","content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"AAA"}}]},
                 "outputDimensionality":3,"taskType":"RETRIEVAL_QUERY"}]})
        );
        out.clear();
        openai_to_gemini_embed_request(br#"{"input":"one"}"#, "m", &mut out).unwrap();
        assert_eq!(
            j(&out),
            json!({"requests":[{"model":"models/m","content":{"parts":[{"text":"one"}]}}]})
        );
        for bad in [
            &br#"{"input":[1,2]}"#[..],
            br#"{"input":[[1,2]]}"#,
            br#"{"input":5}"#,
            br#"{"x":1}"#,
            br#"{"input":[]}"#,
        ] {
            let mut out = Vec::new();
            assert!(openai_to_gemini_embed_request(bad, "m", &mut out).is_err());
            assert!(openai_to_vertex_embed_request(bad, &mut out).is_err());
            assert!(out.is_empty());
        }
        assert!(
            openai_to_gemini_embed_request(br#"{"input":[1]}"#, "m", &mut Vec::new())
                .unwrap_err()
                .to_string()
                .contains("token arrays")
        );
        out.clear();
        gemini_to_openai_embed_response(
            br#"{"embeddings":[{"values":[0.1, -2e-3,3]},{"values":[]}]}"#,
            "client",
            &mut out,
        )
        .unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"object":"list","data":[{"object":"embedding","embedding":[0.1, -2e-3,3],"index":0},{"object":"embedding","embedding":[],"index":1}],"model":"client","usage":{"prompt_tokens":0,"total_tokens":0}}"#
        );
        out.clear();
        gemini_to_openai_embed_response(
            br#"{"embedding":{"values":[1]},"usageMetadata":{"promptTokenCount":4}}"#,
            "c",
            &mut out,
        )
        .unwrap();
        assert_eq!(
            j(&out)["usage"],
            json!({"prompt_tokens":4,"total_tokens":4})
        );
        assert!(
            gemini_to_openai_embed_response(br#"{"embeddings":[{}]}"#, "c", &mut Vec::new())
                .is_err()
        );

        out.clear();
        openai_to_vertex_embed_request(
            br#"{"input":["a","b"],"dimensions":256,"input_type":"CLUSTERING"}"#,
            &mut out,
        )
        .unwrap();
        assert_eq!(
            j(&out),
            json!({"instances":[{"content":"a","task_type":"CLUSTERING"},{"content":"b","task_type":"CLUSTERING"}],
                   "parameters":{"outputDimensionality":256}})
        );
        out.clear();
        openai_to_vertex_embed_request(br#"{"input":"a"}"#, &mut out).unwrap();
        assert_eq!(
            j(&out),
            json!({"instances":[{"content":"a"}],"parameters":{}})
        );
        out.clear();
        vertex_to_openai_embed_response(
            br#"{"predictions":[{"embeddings":{"values":[0.5,0.25],"statistics":{"token_count":3,"truncated":false}}},
                {"embeddings":{"values":[1.0],"statistics":{"token_count":2}}}],"metadata":{"billableCharacterCount":9}}"#,
            "vx",
            &mut out,
        )
        .unwrap();
        assert_eq!(
            j(&out),
            json!({"object":"list","data":[{"object":"embedding","embedding":[0.5,0.25],"index":0},
                {"object":"embedding","embedding":[1.0],"index":1}],"model":"vx",
                "usage":{"prompt_tokens":5,"total_tokens":5}})
        );
    }

    #[test]
    fn mutated_bodies_never_panic() {
        let seeds: Vec<Vec<u8>> = vec![
            serde_json::to_vec(&random_request(&mut fastrand::Rng::with_seed(1)).0).unwrap(),
            serde_json::to_vec(&random_request(&mut fastrand::Rng::with_seed(2)).0).unwrap(),
            SSE.as_bytes().to_vec(),
            br#"{"candidates":[{"content":{"parts":[{"text":"a"},{"functionCall":{"name":"f","args":{"a":[1,{"b":"c"}]}}}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1}}"#.to_vec(),
            br##"{"type":"object","properties":{"a":{"type":["string","null"],"anyOf":[{"$ref":"#/$defs/x"}]}},"$defs":{"x":{"type":"array","items":{}}}}"##.to_vec(),
        ];
        let mut rng = fastrand::Rng::with_seed(99);
        let alphabet = b"{}[]\",:\\ntfu0123456789.-eE \x00\xc3\xa9";
        for _ in 0..3000 {
            let mut b = seeds[rng.usize(..seeds.len())].clone();
            for _ in 0..rng.usize(1..4) {
                if b.is_empty() {
                    break;
                }
                let i = rng.usize(..b.len());
                match rng.u8(0..3) {
                    0 => b[i] = alphabet[rng.usize(..alphabet.len())],
                    1 => {
                        b.remove(i);
                    }
                    _ => b.insert(i, alphabet[rng.usize(..alphabet.len())]),
                }
            }
            let mut out = Vec::new();
            if openai_to_gemini_request_for_model(&b, "gemini-2.0-flash", &mut out).is_ok() {
                j(&out);
            }
            out.clear();
            if gemini_to_openai_response(&b, "m", &mut out).is_ok() {
                j(&out);
            }
            out.clear();
            if openai_to_gemini_embed_request(&b, "m", &mut out).is_ok() {
                j(&out);
            }
            out.clear();
            if std::str::from_utf8(&b).is_ok()
                && is_valid_json(&b)
                && push_schema_root(&mut out, Val(&b), true).is_ok()
            {
                j(&out);
            }
            out.clear();
            let mut st = GeminiToOpenAiStream::new("m", true);
            let _ = st.feed(&b, &mut out);
            st.finish(&mut out);
            assert!(std::str::from_utf8(&out).is_ok());
        }
    }

    // -- proptest round trip ------------------------------------------------

    /// What must survive translation: texts, images, calls, declarations.
    #[derive(Debug, Default, PartialEq)]
    struct Facts {
        texts: Vec<String>,
        images: Vec<String>,
        calls: Vec<(String, Value)>,
        results: Vec<(String, Value)>,
        tools: Vec<String>,
    }

    fn text(rng: &mut fastrand::Rng) -> String {
        let pool = [
            "héllo",
            "a \"quote\"",
            "line\nbreak",
            "tab\t",
            "back\\slash",
            "😀",
            "{x",
            "plain",
        ];
        (0..rng.usize(1..4))
            .map(|_| pool[rng.usize(..pool.len())])
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A random OpenAI request and the facts it carries.
    fn random_request(rng: &mut fastrand::Rng) -> (Value, Facts) {
        let mut f = Facts::default();
        let mut msgs = vec![];
        let names: Vec<String> = (0..rng.usize(1..4)).map(|i| format!("fn_{i}")).collect();
        let tools: Vec<Value> = names
            .iter()
            .map(|n| {
                f.tools.push(n.clone());
                json!({"type":"function","function":{"name":n,"description":text(rng),
                    "parameters":{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}}})
            })
            .collect();
        let mut call_id = 0;
        for _ in 0..rng.usize(1..8) {
            match rng.u8(0..4) {
                0 => {
                    let t = text(rng);
                    f.texts.push(t.clone());
                    msgs.push(json!({"role":"user","content":t}));
                }
                1 => {
                    let t = text(rng);
                    let img = format!("data:image/png;base64,{}", "QUJD".repeat(rng.usize(1..4)));
                    f.texts.push(t.clone());
                    f.images.push(img.clone());
                    msgs.push(json!({"role":"user","content":[{"type":"text","text":t},
                        {"type":"image_url","image_url":{"url":img}}]}));
                }
                2 => {
                    let t = text(rng);
                    f.texts.push(t.clone());
                    msgs.push(json!({"role":"assistant","content":t}));
                }
                _ => {
                    let n = &names[rng.usize(..names.len())];
                    let args = json!({"a": text(rng), "n": rng.u8(..)});
                    call_id += 1;
                    let id = format!("call_{call_id}");
                    f.calls.push((n.clone(), args.clone()));
                    msgs.push(json!({"role":"assistant","content":null,"tool_calls":[{"id":id,"type":"function",
                        "function":{"name":n,"arguments":args.to_string()}}]}));
                    let r = text(rng);
                    f.results.push((n.clone(), json!({"content": r})));
                    msgs.push(json!({"role":"tool","tool_call_id":id,"content":r}));
                }
            }
        }
        (json!({"model":"m","messages":msgs,"tools":tools}), f)
    }

    fn facts_of(g: &Value) -> Facts {
        let mut f = Facts::default();
        for c in g["contents"].as_array().unwrap() {
            for p in c["parts"].as_array().unwrap() {
                if let Some(t) = p["text"].as_str() {
                    if t != " " {
                        f.texts.push(t.to_owned());
                    }
                } else if let Some(d) = p.get("inlineData") {
                    f.images.push(format!(
                        "data:{};base64,{}",
                        d["mimeType"].as_str().unwrap(),
                        d["data"].as_str().unwrap()
                    ));
                } else if let Some(fc) = p.get("functionCall") {
                    f.calls
                        .push((fc["name"].as_str().unwrap().to_owned(), fc["args"].clone()));
                } else if let Some(fr) = p.get("functionResponse") {
                    f.results.push((
                        fr["name"].as_str().unwrap().to_owned(),
                        fr["response"].clone(),
                    ));
                }
            }
        }
        for t in g["tools"].as_array().into_iter().flatten() {
            for d in t["functionDeclarations"].as_array().into_iter().flatten() {
                f.tools.push(d["name"].as_str().unwrap().to_owned());
                assert!(d["parameters"].get("additionalProperties").is_none());
            }
        }
        f
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn nothing_is_lost(seed in any::<u64>()) {
            let (body, want) = random_request(&mut fastrand::Rng::with_seed(seed));
            let (g, _) = req(&body, "gemini-2.5-flash");
            prop_assert_eq!(facts_of(&g), want);
            // Gemini requires alternation-ready turns: never an empty one.
            for c in g["contents"].as_array().unwrap() {
                prop_assert!(!c["parts"].as_array().unwrap().is_empty());
            }
        }
    }
}
