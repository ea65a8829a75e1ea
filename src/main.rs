//! The `cicada` binary: the command line with the built-in Rust scenarios.

use std::process::ExitCode;

// The allocator. cicada runs for weeks, and its heap sees two patterns that glibc's malloc
// handles badly over time: bursts of short-lived buffers on many threads when a whole fleet of
// users reconnects after an outage, and long-lived small slots (statistics rows, histogram
// chunks) allocated between them. With glibc the resident size crept after every reconnect
// burst (fragmented per-thread arenas that `free` never gives back), which a month-long run
// cannot afford. jemalloc returns unused pages to the system on a timer (dirty pages decay
// after 10 s) and keeps size classes apart, so the resident size follows what is in use;
// docs/performance.md has the soak runs that decided it. The library crate leaves the choice to
// whoever links it: an embedding binary or the tests keep the system allocator.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
