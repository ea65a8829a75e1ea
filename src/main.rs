//! The `cicada` binary: the command line with the built-in Rust scenarios.

use std::process::ExitCode;

fn main() -> ExitCode {
    let registry = cicada::Registry::new()
        .scenario(
            cicada_agents::SCENARIO_NAME,
            cicada_agents::DESCRIPTION,
            cicada_agents::user_types,
        )
        .with_host("http://127.0.0.1:3000");
    cicada::main_with(registry)
}
