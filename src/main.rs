//! The `plazo` command: parses the command line and hands over to [`plazo::cli`].

fn main() -> std::process::ExitCode {
    plazo::cli::main()
}
