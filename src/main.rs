//! `ringway` binary: parse flags, then hand over to [`ringway::run`].

fn main() {
    let opts = match ringway::cli::parse(std::env::args_os().skip(1)) {
        Ok(ringway::cli::Parsed::Run(o)) => o,
        Ok(ringway::cli::Parsed::Help) => {
            print!("{}", ringway::cli::HELP);
            return;
        }
        Ok(ringway::cli::Parsed::Version) => {
            println!("ringway {}", env!("CARGO_PKG_VERSION"));
            return;
        }
        Err(e) => {
            eprintln!("ringway: {e}");
            std::process::exit(2);
        }
    };
    ringway::init_logging(opts.log_level);
    if let Err(e) = ringway::run(opts) {
        eprintln!("ringway: {e}");
        std::process::exit(1);
    }
}
