//! Tests of the whole app: through the router without sockets ([`api`], [`access`],
//! [`locust`], [`live`]) and over a real loopback socket ([`socket`]). The target is a
//! `cicada_testkit::RecordingServer`.

mod access;
mod api;
mod live;
mod locust;
mod metrics;
mod shape;
mod socket;
mod support;
