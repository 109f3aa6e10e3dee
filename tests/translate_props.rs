//! Property tests for the OpenAI ⇄ Anthropic translators: a random OpenAI
//! chat request sent through `openai_to_anthropic_request` and back through
//! `anthropic_to_openai_request` keeps every text, image, tool call (name
//! and arguments), tool result and tool declaration, in order. (The other
//! providers' translators carry the same property in their own modules.)

use proptest::prelude::*;
use ringway::anthropic::{anthropic_to_openai_request, openai_to_anthropic_request};
use serde_json::{json, Value};

#[derive(Clone, Debug)]
enum Part {
    Text(String),
    DataImage(String),
    UrlImage(String),
}

#[derive(Clone, Debug)]
struct Round {
    user: Vec<Part>,
    reply: Option<String>,
    /// (tool index, argument value, tool result text)
    calls: Vec<(usize, String, String)>,
}

/// Visible text with JSON-hostile characters mixed in; never blank.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9 .,\"\\\\\n\t'é€😀]{0,24}"
}

fn part() -> impl Strategy<Value = Part> {
    prop_oneof![
        3 => text().prop_map(Part::Text),
        1 => "[A-Za-z0-9+/]{4,40}".prop_map(|b| Part::DataImage(format!("data:image/png;base64,{b}"))),
        1 => "[a-z]{1,10}".prop_map(|p| Part::UrlImage(format!("https://example.com/{p}.jpg"))),
    ]
}

fn round() -> impl Strategy<Value = Round> {
    (
        prop::collection::vec(part(), 1..4),
        prop::option::of(text()),
        prop::collection::vec((0..2usize, text(), text()), 0..3),
    )
        .prop_map(|(user, reply, calls)| Round { user, reply, calls })
}

const TOOLS: [&str; 2] = ["get_weather", "search_docs"];

fn request(system: &Option<String>, rounds: &[Round]) -> Value {
    let mut messages = Vec::new();
    if let Some(s) = system {
        messages.push(json!({"role": "system", "content": s}));
    }
    let mut n = 0;
    for r in rounds {
        let parts: Vec<Value> = r
            .user
            .iter()
            .map(|p| match p {
                Part::Text(t) => json!({"type": "text", "text": t}),
                Part::DataImage(u) | Part::UrlImage(u) => {
                    json!({"type": "image_url", "image_url": {"url": u}})
                }
            })
            .collect();
        messages.push(json!({"role": "user", "content": parts}));
        if r.reply.is_none() && r.calls.is_empty() {
            continue;
        }
        let calls: Vec<Value> = r
            .calls
            .iter()
            .enumerate()
            .map(|(i, (tool, arg, _))| {
                json!({"id": format!("call_{}", n + i), "type": "function",
                       "function": {"name": TOOLS[*tool], "arguments": json!({"q": arg}).to_string()}})
            })
            .collect();
        let mut m = json!({"role": "assistant", "content": r.reply});
        if !calls.is_empty() {
            m["tool_calls"] = Value::Array(calls);
        }
        messages.push(m);
        for (i, (_, _, result)) in r.calls.iter().enumerate() {
            messages.push(json!({"role": "tool", "tool_call_id": format!("call_{}", n + i), "content": result}));
        }
        n += r.calls.len();
    }
    let tools: Vec<Value> = TOOLS
        .iter()
        .map(|name| {
            json!({"type": "function", "function": {"name": name, "description": "d",
                   "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}})
        })
        .collect();
    json!({"model": "client", "max_tokens": 100, "messages": messages, "tools": tools})
}

/// Every text of the OpenAI messages (content strings and text parts), in
/// order. Trailing whitespace is not compared: LiteLLM strips it from
/// assistant turns (Anthropic rejects it in a final assistant message).
fn texts(req: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for m in req["messages"].as_array().into_iter().flatten() {
        if m["role"] == "tool" {
            continue;
        }
        match &m["content"] {
            Value::String(s) => out.push(s.trim_end().to_string()),
            Value::Array(parts) => {
                for p in parts {
                    if let Some(t) = p["text"].as_str() {
                        out.push(t.trim_end().to_string());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn images(req: &Value) -> Vec<String> {
    req["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["image_url"]["url"].as_str().map(str::to_string))
        .collect()
}

/// (id, name, parsed arguments) of every assistant tool call.
fn calls(req: &Value) -> Vec<(String, String, Value)> {
    req["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["tool_calls"].as_array().cloned().unwrap_or_default())
        .map(|c| {
            let args = c["function"]["arguments"].as_str().unwrap_or("null");
            (
                c["id"].as_str().unwrap_or_default().to_string(),
                c["function"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                serde_json::from_str(args).unwrap_or(Value::Null),
            )
        })
        .collect()
}

/// (tool_call_id, text) of every tool result.
fn results(req: &Value) -> Vec<(String, String)> {
    req["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "tool")
        .map(|m| {
            let text = match &m["content"] {
                Value::String(s) => s.clone(),
                Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect(),
                _ => String::new(),
            };
            (
                m["tool_call_id"].as_str().unwrap_or_default().to_string(),
                text,
            )
        })
        .collect()
}

fn tool_names(req: &Value) -> Vec<String> {
    req["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["function"]["name"].as_str().map(str::to_string))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn openai_to_anthropic_and_back_loses_nothing(
        system in prop::option::of(text()),
        rounds in prop::collection::vec(round(), 1..5),
    ) {
        let original = request(&system, &rounds);
        let body = serde_json::to_vec(&original).unwrap();
        let mut an = Vec::new();
        openai_to_anthropic_request(&body, "claude-test", &mut an).unwrap();
        let an_json: Value = serde_json::from_slice(&an).expect("Anthropic body is JSON");
        prop_assert_eq!(&an_json["model"], "claude-test");
        let mut back = Vec::new();
        anthropic_to_openai_request(&an, "gpt-test", &mut back).unwrap();
        let back: Value = serde_json::from_slice(&back).expect("OpenAI body is JSON");

        // Anthropic merges adjacent texts of one turn only by keeping them
        // as separate blocks, so the sequence survives exactly.
        prop_assert_eq!(texts(&back), texts(&original));
        prop_assert_eq!(images(&back), images(&original));
        prop_assert_eq!(calls(&back), calls(&original));
        prop_assert_eq!(results(&back), results(&original));
        prop_assert_eq!(tool_names(&back), tool_names(&original));
    }
}
