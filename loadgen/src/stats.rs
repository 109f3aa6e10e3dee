//! Per-shard counters and HdrHistograms, their merge, and the report (text
//! table and JSON).
//!
//! Each shard records into its own [`Stats`] per target with no sharing;
//! histograms are in nanoseconds (1 ns .. 1 h, 3 significant digits) and are
//! merged once, after the run. The report is in microseconds.
//!
//! # JSON report (stable; the bench tool parses it)
//!
//! ```text
//! {
//!   "target": "http://127.0.0.1:4000/v1/chat/completions",
//!                          // --compare: "DIRECT_URL vs PROXIED_URL"
//!   "mode": "open" | "closed",
//!   "qps_target": 1000.0,  // null in closed loop
//!   "duration_s": 10.0,    // measured window, warm-up excluded
//!   "achieved_rps": 999.7, // open: requests actually sent in the window / its
//!                          // length; closed: responses completed / length
//!   "requests": 10000,     // measured requests = ok + all errors + dropped
//!   "ok": 10000,           // 2xx
//!   "errors": {"connect": 0, "timeout": 0, "status_4xx": 0, "status_5xx": 0,
//!              "io": 0, "status_other": 0},
//!   "late_or_dropped": 0,  // late + dropped
//!   "late": 0,             // sent > 1 ms after its intended time
//!   "dropped": 0,          // never sent: backlog over --max-backlog, or still
//!                          // queued when the drain deadline passed
//!   "rate_achieved": true, // open: dropped == 0, late <= 1% of requests and
//!                          // achieved_rps >= 97% of qps_target; closed: true
//!   "latency_us": {"p50":..,"p90":..,"p99":..,"p999":..,"max":..,"mean":..},
//!                          // open: from the intended send time to the last
//!                          // response byte; closed: from the actual send;
//!                          // 2xx responses only
//!   "ttfb_us": {...},      // --stream only: to the first complete SSE event
//!   "inter_event_us": {...}, // --stream only: gap between consecutive events
//!                          // of one response (0 when they arrive together)
//!   "events": 120000,      // --stream only: SSE events received
//!   "send_lag_us": {...},  // open only: actual - intended send time
//!   "connections": 32, "threads": 1, "driver": "epoll", "body_bytes": 2048,
//!   "stream": false,
//!   "cpu_us_per_req": 3.1, // loadgen's own CPU (user+sys, all threads, warm-up
//!                          // included) per request sent; top level only
//!   "compare": {           // --compare only; each side has the shape above
//!     "direct": {...}, "proxied": {...},
//!     "diff_us": {"p50":..,"p90":..,"p99":..,"p999":..,"max":..,"mean":..}
//!                          // proxied - direct
//!   }
//! }
//! ```
//!
//! In `--compare` mode the top level covers both targets together (counters
//! summed, histograms merged); `compare` holds each side alone.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::fmt::Write as _;

/// A request sent more than this long after its intended time is "late".
pub const LATE_NS: u64 = 1_000_000;
/// Histogram range: 1 ns .. 1 hour.
const HIST_MAX_NS: u64 = 3_600_000_000_000;

fn new_hist() -> Histogram<u64> {
    // ok: constant, valid bounds.
    Histogram::new_with_bounds(1, HIST_MAX_NS, 3).expect("valid histogram bounds")
}

/// Outcome of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Connect,
    Timeout,
    Status4xx,
    Status5xx,
    StatusOther,
    Io,
}

impl Outcome {
    pub fn of_status(status: u16) -> Outcome {
        match status {
            200..=299 => Outcome::Ok,
            400..=499 => Outcome::Status4xx,
            500..=599 => Outcome::Status5xx,
            _ => Outcome::StatusOther,
        }
    }
}

/// Counters and histograms of one target on one shard.
#[derive(Clone, Debug)]
pub struct Stats {
    pub latency: Histogram<u64>,
    pub ttfb: Histogram<u64>,
    pub inter_event: Histogram<u64>,
    pub send_lag: Histogram<u64>,
    pub requests: u64,
    pub ok: u64,
    pub connect: u64,
    pub timeout: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
    pub status_other: u64,
    pub io: u64,
    pub late: u64,
    pub dropped: u64,
    /// Open: sends in the window; closed: completions in the window.
    pub done_in_window: u64,
    pub events: u64,
    /// Every request sent, warm-up included (for CPU per request).
    pub sent_total: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            latency: new_hist(),
            ttfb: new_hist(),
            inter_event: new_hist(),
            send_lag: new_hist(),
            requests: 0,
            ok: 0,
            connect: 0,
            timeout: 0,
            status_4xx: 0,
            status_5xx: 0,
            status_other: 0,
            io: 0,
            late: 0,
            dropped: 0,
            done_in_window: 0,
            events: 0,
            sent_total: 0,
        }
    }
}

impl Stats {
    /// Counts one finished request; its latency only when it got a response.
    pub fn record(&mut self, outcome: Outcome, latency_ns: u64) {
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::Connect => self.connect += 1,
            Outcome::Timeout => self.timeout += 1,
            Outcome::Status4xx => self.status_4xx += 1,
            Outcome::Status5xx => self.status_5xx += 1,
            Outcome::StatusOther => self.status_other += 1,
            Outcome::Io => self.io += 1,
        }
        if matches!(outcome, Outcome::Ok) {
            self.latency.saturating_record(latency_ns.max(1));
        }
    }

    #[cfg(test)]
    pub fn errors(&self) -> u64 {
        self.connect
            + self.timeout
            + self.status_4xx
            + self.status_5xx
            + self.status_other
            + self.io
    }

    pub fn merge(&mut self, o: &Stats) {
        // ok: every histogram has the same bounds, so `add` cannot fail.
        for (a, b) in [
            (&mut self.latency, &o.latency),
            (&mut self.ttfb, &o.ttfb),
            (&mut self.inter_event, &o.inter_event),
            (&mut self.send_lag, &o.send_lag),
        ] {
            a.add(b).expect("same histogram bounds");
        }
        self.requests += o.requests;
        self.ok += o.ok;
        self.connect += o.connect;
        self.timeout += o.timeout;
        self.status_4xx += o.status_4xx;
        self.status_5xx += o.status_5xx;
        self.status_other += o.status_other;
        self.io += o.io;
        self.late += o.late;
        self.dropped += o.dropped;
        self.done_in_window += o.done_in_window;
        self.events += o.events;
        self.sent_total += o.sent_total;
    }
}

#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

fn us(ns: f64) -> f64 {
    // Two decimals of a µs (10 ns) are below the histogram's precision anyway.
    (ns / 10.0).round() / 100.0
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        let q = |q: f64| us(h.value_at_quantile(q) as f64);
        Percentiles {
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            max: us(h.max() as f64),
            mean: us(h.mean()),
        }
    }

    pub fn minus(&self, o: &Percentiles) -> Percentiles {
        let d = |a: f64, b: f64| ((a - b) * 100.0).round() / 100.0;
        Percentiles {
            p50: d(self.p50, o.p50),
            p90: d(self.p90, o.p90),
            p99: d(self.p99, o.p99),
            p999: d(self.p999, o.p999),
            max: d(self.max, o.max),
            mean: d(self.mean, o.mean),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Errors {
    pub connect: u64,
    pub timeout: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
    pub io: u64,
    pub status_other: u64,
}

/// Facts about the run that are the same for every target.
#[derive(Clone, Debug)]
pub struct RunInfo {
    pub closed_loop: bool,
    pub qps: f64,
    pub duration_s: f64,
    pub connections: usize,
    pub threads: usize,
    pub driver: String,
    pub body_bytes: usize,
    pub stream: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub target: String,
    pub mode: &'static str,
    pub qps_target: Option<f64>,
    pub duration_s: f64,
    pub achieved_rps: f64,
    pub requests: u64,
    pub ok: u64,
    pub errors: Errors,
    pub late_or_dropped: u64,
    pub late: u64,
    pub dropped: u64,
    pub rate_achieved: bool,
    pub latency_us: Percentiles,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttfb_us: Option<Percentiles>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inter_event_us: Option<Percentiles>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_lag_us: Option<Percentiles>,
    pub connections: usize,
    pub threads: usize,
    pub driver: String,
    pub body_bytes: usize,
    pub stream: bool,
    /// loadgen's own CPU time (user + system, all threads, warm-up
    /// included) per request sent; top level only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_us_per_req: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare: Option<Box<Compare>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Compare {
    pub direct: Report,
    pub proxied: Report,
    pub diff_us: Percentiles,
}

impl Report {
    /// `window_ns`: how long this target was measured (its share of the
    /// window in `--compare`).
    pub fn new(target: String, s: &Stats, info: &RunInfo, window_ns: u64) -> Report {
        let window_s = (window_ns as f64 / 1e9).max(1e-9);
        let achieved = s.done_in_window as f64 / window_s;
        let open = !info.closed_loop;
        let rate_achieved = if open {
            s.dropped == 0
                && s.late as f64 <= 0.01 * s.requests as f64
                && achieved >= 0.97 * info.qps
        } else {
            true
        };
        Report {
            target,
            mode: if open { "open" } else { "closed" },
            qps_target: open.then_some(info.qps),
            duration_s: info.duration_s,
            achieved_rps: (achieved * 10.0).round() / 10.0,
            requests: s.requests,
            ok: s.ok,
            errors: Errors {
                connect: s.connect,
                timeout: s.timeout,
                status_4xx: s.status_4xx,
                status_5xx: s.status_5xx,
                io: s.io,
                status_other: s.status_other,
            },
            late_or_dropped: s.late + s.dropped,
            late: s.late,
            dropped: s.dropped,
            rate_achieved,
            latency_us: Percentiles::of(&s.latency),
            ttfb_us: info.stream.then(|| Percentiles::of(&s.ttfb)),
            inter_event_us: info.stream.then(|| Percentiles::of(&s.inter_event)),
            events: info.stream.then_some(s.events),
            send_lag_us: open.then(|| Percentiles::of(&s.send_lag)),
            connections: info.connections,
            threads: info.threads,
            driver: info.driver.clone(),
            body_bytes: info.body_bytes,
            stream: info.stream,
            cpu_us_per_req: None,
            compare: None,
        }
    }

    pub fn with_compare(mut self, direct: Report, proxied: Report) -> Report {
        let diff_us = proxied.latency_us.minus(&direct.latency_us);
        self.compare = Some(Box::new(Compare {
            direct,
            proxied,
            diff_us,
        }));
        self
    }

    /// The human-readable report.
    pub fn text(&self) -> String {
        let mut o = String::new();
        let mode = if self.mode == "open" {
            format!(
                "open loop at {} req/s",
                fmt_num(self.qps_target.unwrap_or(0.0))
            )
        } else {
            "closed loop".to_string()
        };
        let _ = writeln!(
            o,
            "loadgen: {mode}, {} s measured, {} connections/target, {} thread(s), {}, body {} B{}",
            fmt_num(self.duration_s),
            self.connections,
            self.threads,
            self.driver,
            self.body_bytes,
            if self.stream { ", stream" } else { "" }
        );
        let _ = writeln!(o, "target: {}", self.target);
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{:<24}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}",
            "(µs)", "p50", "p90", "p99", "p99.9", "max", "mean"
        );
        let row = |o: &mut String, name: &str, p: &Percentiles| {
            let _ = writeln!(
                o,
                "{:<24}{:>10.1}{:>10.1}{:>10.1}{:>10.1}{:>10.1}{:>10.1}",
                name, p.p50, p.p90, p.p99, p.p999, p.max, p.mean
            );
        };
        match &self.compare {
            Some(c) => {
                for (name, r) in [("direct", &c.direct), ("proxied", &c.proxied)] {
                    row(&mut o, &format!("{name} latency"), &r.latency_us);
                    if let Some(p) = &r.ttfb_us {
                        row(&mut o, &format!("{name} ttfb"), p);
                    }
                    if let Some(p) = &r.inter_event_us {
                        row(&mut o, &format!("{name} inter-event"), p);
                    }
                }
                row(&mut o, "diff (proxied-direct)", &c.diff_us);
                if let (Some(a), Some(b)) = (&c.direct.ttfb_us, &c.proxied.ttfb_us) {
                    row(&mut o, "diff ttfb", &b.minus(a));
                }
                if let (Some(a), Some(b)) = (&c.direct.inter_event_us, &c.proxied.inter_event_us) {
                    row(&mut o, "diff inter-event", &b.minus(a));
                }
            }
            None => {
                row(&mut o, "latency", &self.latency_us);
                if let Some(p) = &self.ttfb_us {
                    row(&mut o, "ttfb (first event)", p);
                }
                if let Some(p) = &self.inter_event_us {
                    row(&mut o, "inter-event gap", p);
                }
            }
        }
        if let Some(p) = &self.send_lag_us {
            row(&mut o, "send lag (generator)", p);
        }
        let _ = writeln!(o);
        let sides: Vec<(&str, &Report)> = match &self.compare {
            Some(c) => vec![("direct", &c.direct), ("proxied", &c.proxied)],
            None => vec![("", self)],
        };
        for (name, r) in sides {
            let prefix = if name.is_empty() {
                String::new()
            } else {
                format!("{name}: ")
            };
            let e = &r.errors;
            let _ = writeln!(
                o,
                "{prefix}requests {}  ok {}  errors: connect {}  timeout {}  4xx {}  5xx {}  io {}  other {}",
                r.requests, r.ok, e.connect, e.timeout, e.status_4xx, e.status_5xx, e.io, e.status_other
            );
            match r.qps_target {
                Some(q) => {
                    let _ = writeln!(
                        o,
                        "{prefix}achieved {} req/s of {} target; late {}  dropped {}  -> {}",
                        fmt_num(r.achieved_rps),
                        fmt_num(q),
                        r.late,
                        r.dropped,
                        if r.rate_achieved {
                            "rate achieved"
                        } else {
                            "RATE NOT ACHIEVED"
                        }
                    );
                }
                None => {
                    let _ = writeln!(o, "{prefix}throughput {} req/s", fmt_num(r.achieved_rps));
                }
            }
            if let Some(ev) = r.events {
                let _ = writeln!(o, "{prefix}SSE events {ev}");
            }
        }
        if self.stream && self.ok > 0 && self.events == Some(0) {
            let _ = writeln!(
                o,
                "note: --stream, but no SSE event ('data: ...' + blank line) was seen in any response"
            );
        }
        if let Some(c) = self.cpu_us_per_req {
            let _ = writeln!(o, "loadgen's own CPU: {c:.2} µs per request");
        }
        if !self.rate_achieved {
            let _ = writeln!(
                o,
                "note: the target rate was not achieved: latencies above include the time requests waited \
                 for a free connection; raise --connections, lower --qps, or see 'dropped'/'late'."
            );
        }
        o
    }
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(closed: bool) -> RunInfo {
        RunInfo {
            closed_loop: closed,
            qps: 100.0,
            duration_s: 1.0,
            connections: 4,
            threads: 2,
            driver: "epoll".into(),
            body_bytes: 2048,
            stream: false,
        }
    }

    #[test]
    fn merge_equals_recording_everything_in_one() {
        let mut a = Stats::default();
        let mut b = Stats::default();
        let mut one = Stats::default();
        for v in 1..=10_000u64 {
            let ns = v * 1_000;
            if v % 3 == 0 { &mut a } else { &mut b }.record(Outcome::Ok, ns);
            one.record(Outcome::Ok, ns);
        }
        a.record(Outcome::Status5xx, 0);
        one.record(Outcome::Status5xx, 0);
        a.merge(&b);
        assert_eq!(a.latency, one.latency);
        assert_eq!(a.ok, 10_000);
        assert_eq!(a.status_5xx, 1);
        assert_eq!(a.errors(), 1);
        let p = Percentiles::of(&a.latency);
        assert!((p.p50 - 5_000.0).abs() / 5_000.0 < 0.001, "{p:?}");
        assert!((p.p99 - 9_900.0).abs() / 9_900.0 < 0.001, "{p:?}");
        assert!((p.max - 10_000.0).abs() / 10_000.0 < 0.001, "{p:?}");
    }

    #[test]
    fn diff_is_proxied_minus_direct() {
        let d = Percentiles {
            p50: 10.0,
            p90: 20.0,
            p99: 30.0,
            p999: 40.0,
            max: 50.0,
            mean: 12.0,
        };
        let p = Percentiles {
            p50: 25.5,
            p90: 30.0,
            p99: 31.0,
            p999: 80.0,
            max: 55.0,
            mean: 20.0,
        };
        let diff = p.minus(&d);
        assert_eq!(diff.p50, 15.5);
        assert_eq!(diff.p999, 40.0);
        assert_eq!(diff.mean, 8.0);
    }

    #[test]
    fn rate_achieved_rules() {
        let mut s = Stats {
            requests: 100,
            ok: 100,
            done_in_window: 100,
            ..Stats::default()
        };
        let r = Report::new("t".into(), &s, &info(false), 1_000_000_000);
        assert!(r.rate_achieved);
        assert_eq!(r.achieved_rps, 100.0);
        s.done_in_window = 90;
        assert!(!Report::new("t".into(), &s, &info(false), 1_000_000_000).rate_achieved);
        s.done_in_window = 100;
        s.dropped = 1;
        assert!(!Report::new("t".into(), &s, &info(false), 1_000_000_000).rate_achieved);
        s.dropped = 0;
        s.late = 2;
        let r = Report::new("t".into(), &s, &info(false), 1_000_000_000);
        assert!(!r.rate_achieved);
        assert!(r.text().contains("RATE NOT ACHIEVED"));
        assert!(Report::new("t".into(), &s, &info(true), 1_000_000_000).rate_achieved);
    }

    #[test]
    fn json_shape() {
        let mut s = Stats::default();
        s.record(Outcome::Ok, 42_000);
        s.requests = 1;
        let mut i = info(false);
        i.stream = true;
        let d = Report::new("d".into(), &s, &i, 1_000_000_000);
        let r = Report::new("d vs p".into(), &s, &i, 1_000_000_000).with_compare(d.clone(), d);
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        for k in [
            "target",
            "mode",
            "qps_target",
            "duration_s",
            "achieved_rps",
            "requests",
            "ok",
            "errors",
            "late_or_dropped",
            "rate_achieved",
            "latency_us",
            "ttfb_us",
            "inter_event_us",
            "compare",
        ] {
            assert!(v.get(k).is_some(), "missing {k}");
        }
        for k in ["connect", "timeout", "status_4xx", "status_5xx", "io"] {
            assert_eq!(v["errors"][k], 0, "errors.{k}");
        }
        for k in ["p50", "p90", "p99", "p999", "max", "mean"] {
            assert!(v["latency_us"][k].is_number(), "latency_us.{k}");
            assert_eq!(v["compare"]["diff_us"][k], 0.0);
        }
        assert_eq!(v["mode"], "open");
        assert!(
            v["compare"]["direct"]["latency_us"]["p50"]
                .as_f64()
                .unwrap()
                > 41.9
        );
        let closed = Report::new("c".into(), &s, &info(true), 1_000_000_000);
        let v = serde_json::to_value(&closed).unwrap();
        assert!(v["qps_target"].is_null());
        assert!(v.get("ttfb_us").is_none() && v.get("compare").is_none());
    }
}
