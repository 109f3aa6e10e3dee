//! What `GET /mock/stats` reports: request counters and a copy of the most
//! recent model request, so gateway tests can assert what reached the
//! upstream (injected auth, rewritten model, forwarded headers).
//!
//! One `Stats` per shard, in a `RefCell` on that shard: nothing is merged
//! across shards, so tests that read it run with `--shards 1`. Recording is
//! two `memcpy`s into buffers kept from request to request (the raw head and
//! the body); the head is only parsed again when the stats are read.

use crate::http::{push_json_str, push_u64, MAX_HEADERS};

/// Distinct paths counted by name; later ones count under `(other)`.
const MAX_PATHS: usize = 64;

#[derive(Default)]
pub(crate) struct Stats {
    requests: u64,
    /// Streams whose client went away before the last event.
    streams_aborted: u64,
    by_path: Vec<(Box<[u8]>, u64)>,
    other_paths: u64,
    has_last: bool,
    last_head: Vec<u8>,
    last_body: Vec<u8>,
}

impl Stats {
    /// Counts one request to `path` (query string already removed).
    pub fn stream_aborted(&mut self) {
        self.streams_aborted += 1;
    }

    pub fn count(&mut self, path: &[u8]) {
        self.requests += 1;
        if let Some(entry) = self.by_path.iter_mut().find(|(p, _)| &p[..] == path) {
            entry.1 += 1;
        } else if self.by_path.len() < MAX_PATHS {
            self.by_path.push((path.into(), 1));
        } else {
            self.other_paths += 1;
        }
    }

    /// Keeps a copy of a model request's head and body.
    pub fn record(&mut self, raw_head: &[u8], body: &[u8]) {
        self.has_last = true;
        self.last_head.clear();
        self.last_head.extend_from_slice(raw_head);
        self.last_body.clear();
        self.last_body.extend_from_slice(body);
    }

    pub fn reset(&mut self) {
        *self = Stats::default();
    }

    /// Appends the stats as JSON.
    pub fn render(&self, shard: usize, shards: usize, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"shard\":");
        push_u64(out, shard as u64);
        out.extend_from_slice(b",\"shards\":");
        push_u64(out, shards as u64);
        out.extend_from_slice(b",\"requests\":");
        push_u64(out, self.requests);
        out.extend_from_slice(b",\"streams_aborted\":");
        push_u64(out, self.streams_aborted);
        out.extend_from_slice(b",\"by_path\":{");
        let mut first = true;
        for (path, n) in &self.by_path {
            if !first {
                out.push(b',');
            }
            first = false;
            push_json_str(out, &String::from_utf8_lossy(path));
            out.push(b':');
            push_u64(out, *n);
        }
        if self.other_paths > 0 {
            if !first {
                out.push(b',');
            }
            out.extend_from_slice(b"\"(other)\":");
            push_u64(out, self.other_paths);
        }
        out.push(b'}');

        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        let parsed = self.has_last && req.parse(&self.last_head).is_ok();
        if !parsed {
            out.extend_from_slice(
                b",\"last_method\":null,\"last_path\":null,\"last_headers\":{},\"last_body\":null}",
            );
            return;
        }
        out.extend_from_slice(b",\"last_method\":");
        push_json_str(out, req.method.unwrap_or(""));
        out.extend_from_slice(b",\"last_path\":");
        push_json_str(out, req.path.unwrap_or(""));
        // Lowercased names in arrival order; repeated names joined by ", ".
        let mut merged: Vec<(String, String)> = Vec::new();
        for h in req.headers.iter() {
            let name = h.name.to_ascii_lowercase();
            let value = String::from_utf8_lossy(h.value);
            match merged.iter_mut().find(|(n, _)| *n == name) {
                Some((_, v)) => {
                    v.push_str(", ");
                    v.push_str(&value);
                }
                None => merged.push((name, value.into_owned())),
            }
        }
        out.extend_from_slice(b",\"last_headers\":{");
        for (i, (name, value)) in merged.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_json_str(out, name);
            out.push(b':');
            push_json_str(out, value);
        }
        out.extend_from_slice(b"},\"last_body\":");
        push_json_str(out, &String::from_utf8_lossy(&self.last_body));
        out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(s: &Stats) -> serde_json::Value {
        let mut out = Vec::new();
        s.render(0, 1, &mut out);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn empty() {
        let v = rendered(&Stats::default());
        assert_eq!(v["requests"], 0);
        assert_eq!(v["by_path"], serde_json::json!({}));
        assert!(v["last_body"].is_null());
    }

    #[test]
    fn counts_and_last_request() {
        let mut s = Stats::default();
        s.count(b"/v1/models");
        s.count(b"/v1/chat/completions");
        s.count(b"/v1/chat/completions");
        s.record(
            b"POST /v1/chat/completions HTTP/1.1\r\nX-Foo: a\r\nAuthorization: Bearer k\r\nx-foo: b\r\n\r\n",
            b"{\"model\":\"m\",\"q\":\"\\\"\"}",
        );
        let v = rendered(&s);
        assert_eq!(v["requests"], 3);
        assert_eq!(v["by_path"]["/v1/chat/completions"], 2);
        assert_eq!(v["by_path"]["/v1/models"], 1);
        assert_eq!(v["last_method"], "POST");
        assert_eq!(v["last_path"], "/v1/chat/completions");
        assert_eq!(v["last_headers"]["authorization"], "Bearer k");
        assert_eq!(v["last_headers"]["x-foo"], "a, b");
        assert_eq!(v["last_body"], "{\"model\":\"m\",\"q\":\"\\\"\"}");
        s.reset();
        assert_eq!(rendered(&s)["requests"], 0);
    }

    #[test]
    fn path_table_is_bounded() {
        let mut s = Stats::default();
        for i in 0..MAX_PATHS + 5 {
            s.count(format!("/p{i}").as_bytes());
        }
        let v = rendered(&s);
        assert_eq!(v["by_path"]["(other)"], 5);
        assert_eq!(v["by_path"].as_object().unwrap().len(), MAX_PATHS + 1);
    }
}
