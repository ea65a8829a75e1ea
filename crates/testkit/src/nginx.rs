//! A real nginx for tests, in a directory of its own.
//!
//! The configuration is written per test: one worker, keep-alive, an access log (so a test can
//! count exactly what nginx served) and `stub_status` at `/nginx_status`. nginx cannot bind port
//! 0 and tell us the port, so a free port is picked and the start is retried on a collision.

use std::io;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// A running nginx; stopped when dropped.
pub struct Nginx {
    port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

/// Where Debian installs nginx.
fn nginx_binary() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("nginx"))
}

impl Nginx {
    /// Starts nginx with `locations` (nginx `location` blocks) inside its `server` block.
    pub fn start(locations: &str) -> io::Result<Nginx> {
        let mut last = None;
        for _ in 0..5 {
            match Self::try_start(locations) {
                Ok(n) => return Ok(n),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("nginx did not start")))
    }

    fn try_start(locations: &str) -> io::Result<Nginx> {
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let root = dir.path().display().to_string();
        let conf = format!(
            r#"master_process off;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    log_format plain '$request_method $request_uri $status';
    access_log {root}/access.log plain;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    server {{
        listen 127.0.0.1:{port};
        location = /nginx_status {{ stub_status; access_log off; }}
        {locations}
    }}
}}
"#
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf)?;
        let mut child = Command::new(nginx_binary())
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        // Ready when it accepts connections; give up (and report its error log) otherwise.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait()? {
                let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
                return Err(io::Error::other(format!("nginx exited ({status}): {log}")));
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(Nginx { port, child, dir });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        Err(io::Error::other("nginx did not start listening within 10s"))
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The access log lines (`METHOD URI STATUS`) written so far.
    pub fn access_log(&self) -> io::Result<Vec<String>> {
        let text = std::fs::read_to_string(self.dir.path().join("access.log"))?;
        Ok(text.lines().map(str::to_string).collect())
    }
}

/// One process (`master_process off`): killing it leaves no orphaned worker behind (with a
/// master, SIGKILL on the master left its worker running after every test run).
impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
