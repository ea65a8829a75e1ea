//! cicada's cluster: one master, any number of workers, that survive restarts.
//!
//! - [`proto`]: the protocol, generated from `proto/cicada.proto` (one bidirectional gRPC
//!   stream per worker; versioned by [`PROTOCOL_VERSION`]).
//! - [`master`]: the coordinator. It owns the desired users per user type, splits them over the
//!   workers that are alive ([`master::balance`]), moves users at the global spawn rate, adopts
//!   what reconnecting workers already run, merges their statistics, and is steered through the
//!   same [`cicada_control::Controller`] as a standalone run (it implements
//!   [`cicada_control::Fleet`]).
//! - [`worker`]: the agent. It connects (and reconnects, with capped backoff), runs the scenario
//!   and the users it is assigned on an engine, and streams heartbeats and statistics from a
//!   thread of its own, so a worker saturated by its users is never taken for a dead one.
//! - [`tls`]: optional TLS (and mutual TLS) for the stream.

pub mod master;
pub mod mix;
pub mod scenario;
pub mod tls;
pub mod worker;

/// The generated protocol (`proto/cicada.proto`).
#[allow(missing_docs, clippy::all, clippy::pedantic, rust_2018_idioms)]
pub mod proto {
    tonic::include_proto!("cicada.cluster.v1");
}

/// The protocol spoken by this build; bumped on every incompatible change of the proto file.
/// 2: the open model (`ArrivalsUpdate`, heartbeat `arrivals`): a worker of protocol 1 would
/// ignore arrivals without a word.
pub const PROTOCOL_VERSION: u32 = 2;

/// The cicada release of this build.
pub const CICADA_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Why a master and a worker cannot work together, naming both sides' versions.
pub fn version_mismatch(
    peer: &str,
    peer_protocol: u32,
    peer_version: &str,
    me: &str,
) -> Option<String> {
    (peer_protocol != PROTOCOL_VERSION).then(|| {
        format!(
            "protocol version mismatch: the {peer} speaks protocol {peer_protocol} (cicada \
             {peer_version}), the {me} speaks protocol {PROTOCOL_VERSION} (cicada \
             {CICADA_VERSION}); run the same cicada release on the master and the workers"
        )
    })
}
