//! The `sourcery` command-line tool (see the crate docs).

fn main() -> std::process::ExitCode {
    sourcery_cli::main_from(std::env::args_os())
}
