//! A local OTLP/gRPC sink for trying `--otel` and measuring its cost without a collector:
//! accepts spans on 127.0.0.1:PORT (0: any free port; the address is printed) and prints how
//! many it has received every few seconds. It keeps the first 100,000 spans (see
//! `otel::receiver`), so it is bounded however long it runs.
//!
//! ```sh
//! cargo run -p cicada-telemetry --features test-receiver --example otlp_sink -- 4317
//! ```

use std::time::Duration;

use cicada_telemetry::otel::receiver::OtlpReceiver;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let receiver = OtlpReceiver::start_on(port).await?;
    println!("OTLP sink listening on {}", receiver.endpoint());
    let mut last = usize::MAX;
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let n = receiver.received();
        if n != last {
            println!("{n} spans received");
            last = n;
        }
    }
}
