//! Top-level JSON scan and model splice (`ringway::translate`).
//!
//! Input: a request body, as is.
//!
//! Checked:
//! - `scan` never panics, and is never stricter than serde_json: a body that
//!   serde_json parses as an object (nesting under its 128 limit) must scan,
//!   except one naming `model` or `stream` twice (parsers disagree on which
//!   wins, so the gateway refuses it).
//! - On a body both accept, splicing the model `m-"x` (JSON `"m-\"x"`) gives
//!   a body serde_json parses, whose `model` is `m-"x`, whose other top-level
//!   members are unchanged, and whose length is what `spliced_len` predicted.
//! - `model_raw` is the span `scan` reported, minus the quotes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ringway::translate::{scan, spliced_len, write_spliced};
use serde_json::Value;

const MODEL_JSON: &[u8] = b"\"m-\\\"x\"";
const MODEL: &str = "m-\"x";

fuzz_target!(|data: &[u8]| {
    let scanned = scan(data);
    let parsed = serde_json::from_slice::<Value>(data);

    let obj = match parsed {
        Ok(Value::Object(map)) => map,
        _ => {
            // Not an object serde_json accepts: only `scan` itself is under
            // test, and a splice on whatever it accepted must stay in bounds.
            if let Ok(f) = &scanned {
                let mut out = Vec::new();
                write_spliced(&mut out, data, f, MODEL_JSON);
                assert_eq!(spliced_len(data, f, MODEL_JSON), out.len());
            }
            return;
        }
    };

    let fields = match scanned {
        Ok(f) => f,
        Err(e) if e.0.starts_with("duplicate key") => return,
        Err(e) => panic!(
            "scan refused a JSON object serde_json accepts: {e:?} on {:?}",
            String::from_utf8_lossy(data)
        ),
    };

    if let Some(span) = &fields.model {
        assert!(span.end <= data.len() && !span.is_empty());
        if let Some(raw) = fields.model_raw(data) {
            assert_eq!(data[span.start], b'"');
            assert_eq!(data[span.end - 1], b'"');
            assert_eq!(raw, &data[span.start + 1..span.end - 1]);
        }
    }
    if fields.stream {
        assert_eq!(obj.get("stream"), Some(&Value::Bool(true)), "stream flag");
    }

    let mut out = Vec::new();
    write_spliced(&mut out, data, &fields, MODEL_JSON);
    assert_eq!(
        spliced_len(data, &fields, MODEL_JSON),
        out.len(),
        "spliced_len disagrees with write_spliced"
    );

    let spliced = match serde_json::from_slice::<Value>(&out) {
        Ok(Value::Object(m)) => m,
        other => panic!(
            "spliced body is not a JSON object ({other:?}): {:?} -> {:?}",
            String::from_utf8_lossy(data),
            String::from_utf8_lossy(&out)
        ),
    };
    assert_eq!(
        spliced.get("model"),
        Some(&Value::String(MODEL.to_owned())),
        "model not replaced: {:?} -> {:?}",
        String::from_utf8_lossy(data),
        String::from_utf8_lossy(&out)
    );
    for (k, v) in obj.iter().filter(|(k, _)| k.as_str() != "model") {
        assert_eq!(
            spliced.get(k),
            Some(v),
            "member {k:?} changed by the splice"
        );
    }
    let extra: Vec<&String> = spliced
        .keys()
        .filter(|k| k.as_str() != "model" && !obj.contains_key(k.as_str()))
        .collect();
    assert!(extra.is_empty(), "splice added members {extra:?}");
});
