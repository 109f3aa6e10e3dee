//! ringway-bench: Ringway's overhead over calling the provider directly, next
//! to nginx `proxy_pass` on the same machine in the same run, in one command.
//!
//! # How to run
//!
//! ```text
//! cargo build --release --workspace            # the bench builds nothing itself
//! apt-get install -y nginx                     # optional: the reference (and strace
//!                                              # or linux-perf for syscall counts)
//! target/release/ringway-bench --reference nginx                  # short profile, < 3 min on 2 cores
//! target/release/ringway-bench --profile full --reference nginx   # the whole matrix
//! target/release/ringway-bench --reference nginx --gate .ci/perf-budget.json   # what CI runs
//! target/release/ringway-bench --cross-format-only      # O→A / A→O vs passthrough alone
//! target/release/ringway-bench --render results.json   # re-print an earlier run's table
//! ```
//!
//! It starts `mock_llm` (zero latency, one shard), `ringway` (one shard, a
//! generated config.yaml) and, with `--reference nginx`, nginx (one worker,
//! generated nginx.conf); pins gateway / mock / loadgen to their own CPUs
//! when there are three or more (on two: gateway and mock share CPU 0,
//! loadgen gets CPU 1) and says what it did; drives them with `loadgen
//! --json`; prints one table and writes every number (and loadgen's raw
//! reports) to a JSON file. `bench/README.md` explains the method and how to
//! read the table; `--help` lists the flags.
//!
//! # Layout
//!
//! * `cli`: flags and the two profiles;
//! * `procs`: child processes killed on drop, the temp dir, `/proc` readers;
//! * `nginx`: the reference's config;
//! * `measure`: one loadgen run with CPU and syscall sampling around it;
//! * `cross`: the cross-format phase's runs, bodies and one-request check;
//! * `phases`: the runs, in order, each adding to the results JSON;
//! * `report`: machine facts, the table, the JSON file;
//! * `gate`: same-run ratios against `.ci/perf-budget.json`.

mod cli;
mod cross;
mod gate;
mod measure;
mod nginx;
mod phases;
mod procs;
mod report;

fn main() {
    let opts = match cli::parse(std::env::args_os().skip(1)) {
        Ok(cli::Parsed::Run(o)) => *o,
        Ok(cli::Parsed::Help) => {
            print!("{}", cli::HELP);
            return;
        }
        Err(e) => {
            eprintln!("ringway-bench: {e}");
            std::process::exit(2);
        }
    };
    // `run` returns only after every child and the temp dir were dropped.
    let result = match &opts.render {
        Some(path) => phases::render(path, opts.gate.as_deref()),
        None => phases::run(&opts),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ringway-bench: error: {e}");
            1
        }
    };
    std::process::exit(code);
}
