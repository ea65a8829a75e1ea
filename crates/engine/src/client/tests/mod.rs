//! Tests of the client against real servers on 127.0.0.1 (port 0), each bounded by the
//! client's own short timeouts.

mod http1;
mod redirects;
mod support;
mod tls;
