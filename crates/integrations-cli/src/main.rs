//! The `integrations` binary.

fn main() -> std::process::ExitCode {
    integrations_cli::main()
}
