//! Machine facts, the date, the one table, and the JSON file. The table is
//! rendered from the results JSON, so the two never disagree.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// nproc, allowed CPUs, CPU model, kernel, memory.
pub fn machine(allowed: &[usize]) -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == "model name").then(|| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string());
    let mem_mb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map(|kb| kb / 1024);
    json!({
        "nproc": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "allowed_cpus": allowed,
        "cpu_model": model,
        "kernel": kernel,
        "mem_total_mb": mem_mb,
    })
}

/// Now, UTC, as `2026-11-24T11:50:07Z`.
pub fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc(secs)
}

fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn f(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// `61 / 110`, or `+12 / +40` for added latency; µs, or ms (suffixed) from
/// 100 ms up so that an overloaded run still fits its column.
fn pair(v: &Value, signed: bool) -> String {
    let one = |x: f64| {
        let (x, unit) = if x.abs() >= 100_000.0 {
            (x / 1000.0, "ms")
        } else {
            (x, "")
        };
        if signed {
            format!("{x:+.0}{unit}")
        } else {
            format!("{x:.0}{unit}")
        }
    };
    match (f(&v["p50"]), f(&v["p99"])) {
        (Some(a), Some(b)) => format!("{} / {}", one(a), one(b)),
        _ => "-".to_string(),
    }
}

fn u64_of(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn num(v: &Value, decimals: usize) -> String {
    match f(v) {
        Some(x) if decimals == 0 => group(x.round() as i64),
        Some(x) => format!("{x:.decimals$}"),
        None => "-".to_string(),
    }
}

/// 44088 -> "44,088".
fn group(n: i64) -> String {
    let digits: Vec<char> = n.unsigned_abs().to_string().chars().rev().collect();
    let mut out: Vec<char> = Vec::new();
    for (i, chunk) in digits.chunks(3).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.extend(chunk);
    }
    if n < 0 {
        out.push('-');
    }
    out.iter().rev().collect()
}

fn mb(v: &Value) -> String {
    match f(v) {
        Some(kb) => format!("{:.1} MB", kb / 1024.0),
        None => "-".to_string(),
    }
}

fn ratio(a: &Value, b: &Value) -> String {
    match (f(a), f(b)) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => String::new(),
    }
}

const W0: usize = 40;
const W: usize = 17;

fn row(o: &mut String, name: &str, cells: [&str; 4]) {
    let line = format!(
        "{name:<W0$} {:>W$} {:>W$} {:>W$} {:>13}",
        cells[0], cells[1], cells[2], cells[3]
    );
    let _ = writeln!(o, "{}", line.trim_end());
}

fn heading(o: &mut String, text: &str) {
    let _ = writeln!(o, "{text}");
}

/// The cross-format section: per body size, passthrough, O→A and A→O, with
/// their own column heads.
fn cross_format(o: &mut String, cf: &Value, missed: &mut bool) {
    let Some(runs) = cf["runs"].as_array() else {
        return;
    };
    heading(
        o,
        &format!(
            "cross-format, ringway, {} req/s, added over the mock called directly in the \
             deployment's format",
            cf["qps"]
        ),
    );
    heading(
        o,
        "  O→A: OpenAI client, anthropic/ deployment; A→O: Anthropic client, openai/ deployment",
    );
    row(
        o,
        "  latency p50 / p99 µs",
        ["direct", "ringway added", "CPU µs/req", "p50 ÷ pass."],
    );
    for e in runs {
        let name = format!(
            "  {} {} body",
            e["label"].as_str().unwrap_or("?"),
            e["body"].as_str().unwrap_or("?")
        );
        if e["ok"] != true && e["added_us"].is_null() {
            let why = e["error"].as_str().unwrap_or("failed");
            row(o, &name, ["FAILED", "", "", ""]);
            let _ = writeln!(o, "    {why}");
            continue;
        }
        let mark = if e["rate_achieved"] == true { "" } else { "!" };
        *missed |= !mark.is_empty();
        let added = if e["ok"] == true {
            format!("{}{mark}", pair(&e["added_us"], true))
        } else if u64_of(&e["proxy_errors"]) + u64_of(&e["direct_errors"]) > 0 {
            format!(
                "ERRORS {}",
                group((u64_of(&e["proxy_errors"]) + u64_of(&e["direct_errors"])) as i64)
            )
        } else {
            "NO REQUESTS".to_string()
        };
        let mut cpu = num(&e["proxy_cpu_us_per_req"], 1);
        if let Some(x) = f(&e["cpu_over_passthrough"]) {
            cpu = format!("{cpu} ({x:.2}×)");
        }
        let ratio = match (e["kind"].as_str(), f(&e["p50_over_passthrough"])) {
            (Some("passthrough"), _) => String::new(),
            (_, Some(x)) => format!("{x:.2}"),
            _ => "-".to_string(),
        };
        row(
            o,
            &name,
            [&pair(&e["direct_us"], false), &added, &cpu, &ratio],
        );
    }
    let _ = writeln!(
        o,
        "  p50 ÷ pass.: added p50 ÷ passthrough's, same size (target ≤ {}); \
         CPU (×): ÷ passthrough's",
        cf["target_p50_over_passthrough_max"]
            .as_f64()
            .unwrap_or(2.0)
    );
    if cf["ok"] == false {
        let _ = writeln!(
            o,
            "  FAILED: {}",
            cf["failures"]
                .as_array()
                .map(|f| f
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default()
        );
    }
}

/// The one table.
pub fn table(r: &Value) -> String {
    let mut o = String::new();
    let m = &r["machine"];
    let _ = writeln!(
        o,
        "ringway-bench, profile {}, {} | {} CPUs, {} | Linux {}",
        r["profile"].as_str().unwrap_or("?"),
        r["date"].as_str().unwrap_or("?"),
        m["nproc"],
        m["cpu_model"].as_str().unwrap_or("?"),
        m["kernel"].as_str().unwrap_or("?"),
    );
    let _ = writeln!(o, "layout: {}", r["layout"]["note"].as_str().unwrap_or("?"));
    let nginx_on = r["nginx"].is_object();
    let _ = writeln!(
        o,
        "ringway: 1 shard, driver {}{}",
        r["ringway"]["driver"].as_str().unwrap_or("?"),
        if nginx_on {
            format!(
                " | nginx {}: 1 worker, upstream keepalive 64",
                r["nginx"]["version"].as_str().unwrap_or("?")
            )
        } else {
            format!(
                " | nginx: {}",
                r["nginx_skipped"].as_str().unwrap_or("not run")
            )
        }
    );
    let _ = writeln!(o);
    let fixed = r["fixed_qps"].as_array().cloned().unwrap_or_default();
    if !fixed.is_empty() || r["closed_loop"].is_object() {
        row(&mut o, "", ["direct", "ringway", "nginx", "ringway÷nginx"]);
    }
    if !fixed.is_empty() {
        heading(
            &mut o,
            "latency p50 / p99 µs; proxies: added over direct, same QPS, same run",
        );
    }
    let mut keys: Vec<(String, u64)> = Vec::new();
    for e in &fixed {
        let k = (
            e["body"].as_str().unwrap_or("").to_string(),
            e["qps"].as_u64().unwrap_or(0),
        );
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let find = |body: &str, qps: u64, proxy: &str| {
        fixed
            .iter()
            .find(|e| e["body"] == body && e["qps"].as_u64() == Some(qps) && e["proxy"] == proxy)
    };
    let mut missed = false;
    for (body, qps) in &keys {
        let rw = find(body, *qps, "ringway");
        let ng = find(body, *qps, "nginx");
        let cell = |e: Option<&Value>, missed: &mut bool| match e {
            Some(e) => {
                let mark = if e["rate_achieved"] == true { "" } else { "!" };
                *missed |= !mark.is_empty();
                format!("{}{mark}", pair(&e["added_us"], true))
            }
            None => "-".to_string(),
        };
        let direct = rw
            .or(ng)
            .map_or("-".to_string(), |e| pair(&e["direct_us"], false));
        let a = cell(rw, &mut missed);
        let b = cell(ng, &mut missed);
        row(
            &mut o,
            &format!("  {body} body, {qps} req/s"),
            [&direct, &a, &b, ""],
        );
    }
    if let (Some(rw), ng) = (find("2k", 1000, "ringway"), find("2k", 1000, "nginx")) {
        let ngc = ng.map_or(Value::Null, |e| e["proxy_cpu_us_per_req"].clone());
        row(
            &mut o,
            "CPU µs/request, 2k body, 1000 req/s",
            [
                &format!("mock {}", num(&rw["mock_cpu_us_per_req"], 1)),
                &num(&rw["proxy_cpu_us_per_req"], 1),
                &num(&ngc, 1),
                &ratio(&rw["proxy_cpu_us_per_req"], &ngc),
            ],
        );
    }

    cross_format(&mut o, &r["cross_format"], &mut missed);

    let cl = &r["closed_loop"];
    if cl.is_object() {
        heading(
            &mut o,
            &format!(
                "closed loop, {} connections{}",
                cl["connections"],
                if nginx_on {
                    " (ringway and nginx interleaved in one run)"
                } else {
                    ""
                }
            ),
        );
        row(
            &mut o,
            "  throughput, req/s",
            [
                &num(&cl["direct"]["rps"], 0),
                &num(&cl["ringway"]["rps"], 0),
                &num(&cl["nginx"]["rps"], 0),
                &ratio(&cl["ringway"]["rps"], &cl["nginx"]["rps"]),
            ],
        );
        row(
            &mut o,
            "  CPU µs/request",
            [
                &format!("mock {}", num(&cl["direct"]["mock_cpu_us_per_req"], 2)),
                &num(&cl["ringway"]["cpu_us_per_req"], 2),
                &num(&cl["nginx"]["cpu_us_per_req"], 2),
                &ratio(
                    &cl["ringway"]["cpu_us_per_req"],
                    &cl["nginx"]["cpu_us_per_req"],
                ),
            ],
        );
        row(
            &mut o,
            "  ÷ direct throughput",
            [
                "1.00",
                &ratio(&cl["ringway"]["rps"], &cl["direct"]["rps"]),
                &ratio(&cl["nginx"]["rps"], &cl["direct"]["rps"]),
                "",
            ],
        );
    }

    let sse = &r["sse"];
    if sse.is_object() {
        heading(
            &mut o,
            &format!(
                "SSE, {} streams x {} tokens {} ms apart; proxies: added over direct",
                sse["streams"], sse["tokens"], sse["inter_token_ms"]
            ),
        );
        let rw = &sse["ringway"];
        let ng = &sse["nginx"];
        let mark = |e: &Value, missed: &mut bool| {
            if e.is_object() && e["rate_achieved"] != true {
                *missed = true;
                "!"
            } else {
                ""
            }
        };
        let (mr, mn) = (mark(rw, &mut missed), mark(ng, &mut missed));
        row(
            &mut o,
            "  time to first event p50 / p99 µs",
            [
                &pair(&rw["direct_ttfb_us"], false),
                &format!("{}{mr}", pair(&rw["ttfb_added_us"], true)),
                &format!("{}{mn}", pair(&ng["ttfb_added_us"], true)),
                "",
            ],
        );
        row(
            &mut o,
            "  inter-event gap p50 / p99 µs",
            [
                &pair(&rw["direct_inter_event_us"], false),
                &format!("{}{mr}", pair(&rw["inter_event_added_us"], true)),
                &format!("{}{mn}", pair(&ng["inter_event_added_us"], true)),
                "",
            ],
        );
        row(
            &mut o,
            "  events per stream",
            [
                &num(&rw["direct_events_per_stream"], 2),
                &num(&rw["events_per_stream"], 2),
                &num(&ng["events_per_stream"], 2),
                "",
            ],
        );
        row(
            &mut o,
            "  CPU µs/stream",
            [
                "",
                &num(&rw["cpu_us_per_stream"], 1),
                &num(&ng["cpu_us_per_stream"], 1),
                &ratio(&rw["cpu_us_per_stream"], &ng["cpu_us_per_stream"]),
            ],
        );
    }

    let al = &r["allocs"];
    if al.is_object() {
        heading(
            &mut o,
            "heap allocations/request, passthrough, steady state (alloc-probe)",
        );
        let cell = match al["allocs_per_request"].as_f64() {
            Some(v) => format!("{v:.3} ({})", al["driver"].as_str().unwrap_or("?")),
            None => format!("skipped: {}", al["skipped"].as_str().unwrap_or("?")),
        };
        row(&mut o, "  ringway", ["", &cell, "", ""]);
    }

    let sc = &r["syscalls"];
    if sc.is_object() {
        let rw = &sc["ringway"];
        let ng = &sc["nginx"];
        let mut cell = num(&rw["per_request"], 2);
        if let Some(s) = f(&rw["uring_submissions_per_request"]) {
            if rw["driver"] == "io_uring" {
                cell = format!("{cell} (+{s:.1} SQE)");
            }
        }
        heading(
            &mut o,
            &format!(
                "syscalls/request at {} req/s ({})",
                sc["qps"],
                sc["method"].as_str().unwrap_or("?")
            ),
        );
        row(
            &mut o,
            &format!("  ringway, {} driver", rw["driver"].as_str().unwrap_or("?")),
            ["", &cell, &num(&ng["per_request"], 2), ""],
        );
        let ep = &sc["ringway_epoll"];
        if ep.is_object() {
            row(
                &mut o,
                "  ringway, epoll driver",
                [
                    "",
                    &num(&ep["per_request"], 2),
                    &num(&ng["per_request"], 2),
                    &ratio(&ep["per_request"], &ng["per_request"]),
                ],
            );
        }
    }

    let rss = &r["rss"];
    if rss.is_object() {
        let rw = &rss["ringway"];
        let ng = &rss["nginx"];
        heading(&mut o, "memory: peak RSS (VmHWM; nginx: its worker)");
        row(
            &mut o,
            "  after the QPS and closed-loop runs",
            [
                "",
                &mb(&rw["hwm_after_load_kb"]),
                &mb(&ng["hwm_after_load_kb"]),
                "",
            ],
        );
        for (key, what) in [("idle_conns", "idle"), ("active_conns", "busy")] {
            let n = rw[key]["connections"].as_u64().unwrap_or(0);
            row(
                &mut o,
                &format!("  with {n} {what} keep-alive connections"),
                ["", &mb(&rw[key]["hwm_kb"]), &mb(&ng[key]["hwm_kb"]), ""],
            );
        }
        row(
            &mut o,
            &format!(
                "  whole bench (SSE: {} streams)",
                r["sse"]["streams"].as_u64().unwrap_or(0)
            ),
            ["", &mb(&rw["peak_kb"]), &mb(&ng["peak_kb"]), ""],
        );
        row(
            &mut o,
            "  RSS now: at start -> at the end",
            [
                "",
                &format!("{} -> {}", mb(&rw["start_rss_kb"]), mb(&rw["end_rss_kb"])),
                &mb(&ng["end_rss_kb"]),
                "",
            ],
        );
    }
    if missed {
        let _ = writeln!(
            o,
            "! loadgen did not hold the target rate in this run (late or dropped sends; see the JSON)"
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_795_520_681), "2026-11-24T11:44:41Z");
    }

    #[test]
    fn numbers() {
        assert_eq!(group(44088), "44,088");
        assert_eq!(group(999), "999");
        assert_eq!(group(-1234567), "-1,234,567");
        assert_eq!(pair(&json!({"p50": 12.4, "p99": -3.0}), true), "+12 / -3");
        assert_eq!(ratio(&json!(3.0), &json!(2.0)), "1.50");
        assert_eq!(ratio(&json!(3.0), &Value::Null), "");
    }

    #[test]
    fn table_renders_a_minimal_result() {
        let r = json!({
            "profile": "short", "date": "2026-11-24T00:00:00Z",
            "machine": {"nproc": 2, "cpu_model": "X", "kernel": "6"},
            "layout": {"note": "n"}, "ringway": {"driver": "epoll"}, "nginx": null,
            "fixed_qps": [{"body": "2k", "qps": 1000, "proxy": "ringway", "rate_achieved": true,
                "added_us": {"p50": 12.0, "p99": 40.0}, "direct_us": {"p50": 60.0, "p99": 110.0},
                "proxy_cpu_us_per_req": 9.0, "mock_cpu_us_per_req": 4.0}],
        });
        let t = table(&r);
        assert!(t.contains("+12 / +40"), "{t}");
        assert!(t.contains("60 / 110"), "{t}");
        assert!(!t.contains("cross-format"), "{t}");
    }

    #[test]
    fn table_renders_the_cross_format_section_alone() {
        let run = |kind: &str, label: &str, p50: f64, cpu: f64, ratio: Value| {
            json!({"kind": kind, "label": label, "body": "2k", "ok": true,
                "rate_achieved": true, "added_us": {"p50": p50, "p99": 90.0},
                "direct_us": {"p50": 70.0, "p99": 200.0}, "proxy_cpu_us_per_req": cpu,
                "p50_over_passthrough": ratio.clone(), "cpu_over_passthrough": ratio})
        };
        let r = json!({
            "profile": "short", "date": "2026-11-24T00:00:00Z",
            "machine": {"nproc": 2, "cpu_model": "X", "kernel": "6"},
            "layout": {"note": "n"}, "ringway": {"driver": "epoll"}, "nginx": null,
            "cross_format": {"qps": 1000, "ok": false, "failures": ["A→O 2k"],
                "target_p50_over_passthrough_max": 2.0, "runs": [
                run("passthrough", "passthrough", 50.0, 80.0, Value::Null),
                run("openai_to_anthropic", "O→A", 75.0, 100.0, json!(1.5)),
                {"kind": "anthropic_to_openai", "label": "A→O", "body": "2k", "ok": false,
                 "error": "through ringway: POST ... answered 400: {}"},
            ]},
        });
        let t = table(&r);
        assert!(!t.contains("ringway÷nginx"), "{t}");
        assert!(t.contains("passthrough 2k body"), "{t}");
        assert!(t.contains("+75 / +90"), "{t}");
        assert!(t.contains("100.0 (1.50×)"), "{t}");
        assert!(t.contains("answered 400"), "{t}");
        assert!(t.contains("FAILED: A→O 2k"), "{t}");
    }
}
