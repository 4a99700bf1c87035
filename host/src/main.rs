//! The `promemu` binary: the command line's edge, where errors become exit statuses.

fn main() -> std::process::ExitCode {
    promemu::cli::main()
}
