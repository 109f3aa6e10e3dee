//! Heap allocations per passthrough request, against the checked-in
//! budget. The measurement is `bench`'s `alloc-probe` binary (a counting
//! global allocator around an in-process gateway, see its module doc), run
//! here for the epoll and the io_uring driver; `cargo build --workspace`
//! builds it.

use std::process::Command;

/// Checked-in budget: heap allocations per proxied (passthrough) request in
/// steady state. The goal is 0; raise this only with a note saying why.
const ALLOC_BUDGET_PER_REQUEST: f64 = 0.05;

fn probe(driver: &str) -> f64 {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_ringway")).with_file_name("alloc-probe");
    assert!(
        bin.exists(),
        "{} missing: run `cargo build --workspace` before the tests",
        bin.display()
    );
    let out = Command::new(&bin)
        .args(["--driver", driver])
        .output()
        .expect("run alloc-probe");
    assert!(
        out.status.success(),
        "alloc-probe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("alloc-probe JSON");
    v["allocs_per_request"]
        .as_f64()
        .expect("allocs_per_request")
}

#[test]
fn passthrough_allocations_per_request() {
    for driver in ["epoll", "auto"] {
        let per_req = probe(driver);
        println!("heap allocations per passthrough request ({driver} driver): {per_req:.3}");
        assert!(
            per_req <= ALLOC_BUDGET_PER_REQUEST,
            "{per_req:.3} allocations per request with {driver} (budget {ALLOC_BUDGET_PER_REQUEST})"
        );
    }
}
