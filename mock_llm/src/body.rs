//! What the mock reads from a request body, through borrowed serde types so
//! that the plain chat path allocates nothing: [`Text`] borrows from the body
//! unless the JSON string had escapes, and [`Words`] / [`EmbedInput`] count
//! words while the parser walks the JSON, keeping no string at all. Every
//! other field is skipped by serde.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// A JSON string that borrows from the body unless it had escapes.
pub(crate) struct Text<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// Whitespace-separated words in a JSON value: a string counts its words, an
/// array sums its elements, an object sums its `content` and `text` fields
/// (so roles, image data and tool arguments do not count). This is the mock's
/// `prompt_tokens`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Words(pub u64);

fn count_words(s: &str) -> u64 {
    s.split_whitespace().count() as u64
}

impl<'de> Deserialize<'de> for Words {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(WordsVisitor)
    }
}

struct WordsVisitor;

impl<'de> Visitor<'de> for WordsVisitor {
    type Value = Words;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Words, E> {
        Ok(Words(0))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Words, E> {
        Ok(Words(0))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Words, E> {
        Ok(Words(0))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Words, E> {
        Ok(Words(0))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Words, E> {
        Ok(Words(0))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Words, E> {
        Ok(Words(count_words(s)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Words, A::Error> {
        let mut n = 0u64;
        while let Some(w) = seq.next_element::<Words>()? {
            n = n.saturating_add(w.0);
        }
        Ok(Words(n))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Words, A::Error> {
        let mut n = 0u64;
        while let Some(TextKey(counted)) = map.next_key::<TextKey>()? {
            if counted {
                n = n.saturating_add(map.next_value::<Words>()?.0);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Words(n))
    }
}

/// An object key; true for the keys whose words count.
struct TextKey(bool);

impl<'de> Deserialize<'de> for TextKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = TextKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<TextKey, E> {
                Ok(TextKey(s == "content" || s == "text"))
            }
        }
        d.deserialize_str(V)
    }
}

/// An embeddings `input`: how many embeddings it asks for, and its tokens. A
/// string is one input; an array of strings or of token arrays is one input
/// per element; an array of integers is one tokenized input.
#[derive(Debug, PartialEq)]
pub(crate) struct EmbedInput {
    pub count: usize,
    pub tokens: u64,
}

impl<'de> Deserialize<'de> for EmbedInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EmbedInput;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<EmbedInput, E> {
                Ok(EmbedInput {
                    count: 1,
                    tokens: count_words(s),
                })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EmbedInput, A::Error> {
                let (mut count, mut tokens, mut all_ints) = (0usize, 0u64, true);
                while let Some(item) = seq.next_element::<EmbedItem>()? {
                    count += 1;
                    tokens = tokens.saturating_add(item.tokens);
                    all_ints &= item.is_int;
                }
                if all_ints && count > 0 {
                    return Ok(EmbedInput {
                        count: 1,
                        tokens: count as u64,
                    });
                }
                Ok(EmbedInput { count, tokens })
            }
        }
        d.deserialize_any(V)
    }
}

struct EmbedItem {
    tokens: u64,
    is_int: bool,
}

impl<'de> Deserialize<'de> for EmbedItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EmbedItem;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, a token or an array of tokens")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<EmbedItem, E> {
                Ok(EmbedItem {
                    tokens: count_words(s),
                    is_int: false,
                })
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<EmbedItem, E> {
                Ok(EmbedItem {
                    tokens: 1,
                    is_int: true,
                })
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<EmbedItem, E> {
                Ok(EmbedItem {
                    tokens: 1,
                    is_int: true,
                })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EmbedItem, A::Error> {
                let mut n = 0u64;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(EmbedItem {
                    tokens: n,
                    is_int: false,
                })
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
pub(crate) struct StreamOptions {
    include_usage: Option<bool>,
}

/// The request body fields any route looks at; everything else is skipped.
#[derive(Deserialize)]
pub(crate) struct Body<'a> {
    #[serde(borrow)]
    pub model: Option<Text<'a>>,
    pub stream: Option<bool>,
    pub stream_options: Option<StreamOptions>,
    pub max_tokens: Option<u64>,
    pub max_completion_tokens: Option<u64>,
    pub messages: Option<Words>,
    pub prompt: Option<Words>,
    pub system: Option<Words>,
    pub input: Option<EmbedInput>,
    pub dimensions: Option<u64>,
    #[serde(borrow)]
    pub encoding_format: Option<Text<'a>>,
}

impl Body<'_> {
    pub fn prompt_tokens(&self) -> u64 {
        [self.messages, self.prompt, self.system]
            .iter()
            .flatten()
            .map(|w| w.0)
            .sum()
    }

    /// Words to answer with out of `full`, and whether `max_tokens` cut
    /// the answer short.
    pub fn completion_tokens(&self, full: usize) -> (usize, bool) {
        match self.max_completion_tokens.or(self.max_tokens) {
            Some(cap) => {
                let cap = usize::try_from(cap).unwrap_or(usize::MAX);
                (full.min(cap), cap < full)
            }
            None => (full, false),
        }
    }

    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .and_then(|o| o.include_usage)
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> Body<'_> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn model_borrows_unless_escaped() {
        let b = body(r#"{"model":"gpt-4o","unknown":{"deep":[1,2,{"x":null}]}}"#);
        assert!(matches!(b.model, Some(Text(Cow::Borrowed("gpt-4o")))));
        let b = body(r#"{"model":"a\"b"}"#);
        assert!(matches!(b.model, Some(Text(Cow::Owned(ref m))) if m == "a\"b"));
        assert!(body("{}").model.is_none());
        assert!(serde_json::from_str::<Body<'_>>(r#"{"model":3}"#).is_err());
        assert!(serde_json::from_str::<Body<'_>>("{").is_err());
    }

    #[test]
    fn prompt_words_count_only_message_text() {
        let b = body(
            r#"{"model":"m","messages":[
                {"role":"system","content":"be  brief"},
                {"role":"user","content":[{"type":"text","text":"one two\nthree"},
                                          {"type":"image_url","image_url":{"url":"data:x y z"}}]},
                {"role":"assistant","content":null,"tool_calls":[{"function":{"arguments":"a b"}}]}
            ],"temperature":0.5,"n":1,"stream":false}"#,
        );
        assert_eq!(b.messages, Some(Words(5)));
        assert_eq!(b.prompt_tokens(), 5);
        let b = body(
            r#"{"system":[{"type":"text","text":"s1 s2"}],"messages":[{"role":"user","content":"x"}]}"#,
        );
        assert_eq!(b.prompt_tokens(), 3);
        let b = body(r#"{"prompt":["a b","c \u0041"]}"#);
        assert_eq!(b.prompt_tokens(), 4);
    }

    #[test]
    fn embed_input_shapes() {
        let input = |j: &str| body(j).input.unwrap();
        assert_eq!(
            input(r#"{"input":"a b c"}"#),
            EmbedInput {
                count: 1,
                tokens: 3
            }
        );
        assert_eq!(
            input(r#"{"input":["a b","c"]}"#),
            EmbedInput {
                count: 2,
                tokens: 3
            }
        );
        assert_eq!(
            input(r#"{"input":[1,2,3,4]}"#),
            EmbedInput {
                count: 1,
                tokens: 4
            }
        );
        assert_eq!(
            input(r#"{"input":[[1,2],[3]]}"#),
            EmbedInput {
                count: 2,
                tokens: 3
            }
        );
        assert_eq!(
            input(r#"{"input":[]}"#),
            EmbedInput {
                count: 0,
                tokens: 0
            }
        );
        assert!(serde_json::from_str::<Body<'_>>(r#"{"input":{"a":1}}"#).is_err());
    }

    #[test]
    fn completion_tokens_and_usage_flag() {
        assert_eq!(body("{}").completion_tokens(16), (16, false));
        assert_eq!(body(r#"{"max_tokens":4}"#).completion_tokens(16), (4, true));
        assert_eq!(
            body(r#"{"max_tokens":16}"#).completion_tokens(16),
            (16, false)
        );
        assert_eq!(
            body(r#"{"max_tokens":2,"max_completion_tokens":8}"#).completion_tokens(16),
            (8, true)
        );
        assert_eq!(
            body(r#"{"max_tokens":null}"#).completion_tokens(3),
            (3, false)
        );
        assert!(!body(r#"{"stream":true}"#).include_usage());
        assert!(body(r#"{"stream_options":{"include_usage":true}}"#).include_usage());
    }
}
