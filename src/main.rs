//! The `cicada` binary: the command line with no built-in Rust scenarios.

use std::process::ExitCode;

fn main() -> ExitCode {
    cicada::main_with(cicada::Registry::new())
}
