//! The `seam` binary: parse arguments and hand over to `cli::run`.

fn main() -> std::process::ExitCode {
    seam::cli::main()
}
