//! Helpers for cicada's end-to-end tests: real servers on loopback ports chosen at run time.
//!
//! - [`RecordingServer`]: an in-process HTTP server that records every request it receives and
//!   can be switched to answer 500, to drop connections, or be stopped and restarted on the
//!   same port (to test outages and recovery).
//! - [`Nginx`]: a real nginx (Debian's) with a configuration written per test, its own
//!   directory, an access log to count what it served, and `stub_status`.
//! - [`free_port`]: a loopback port that was free a moment ago (for programs that cannot be
//!   told to bind port 0 and report back, like nginx; callers retry on a collision).

mod nginx;
mod recording;

pub use nginx::Nginx;
pub use recording::{Mode, Recorded, RecordingServer};

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

/// A loopback port that was free when this returned.
pub fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    Ok(listener.local_addr()?.port())
}
