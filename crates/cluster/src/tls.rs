//! TLS for the master's gRPC port: `--tls-cert` and `--tls-key` on the master (its identity),
//! `--tls-ca` on workers (the CA they trust for the master). With `--tls-ca` on the master too,
//! workers must present a certificate signed by it (mutual TLS, with `--tls-cert`/`--tls-key`
//! on the workers).

use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

/// The TLS files given on the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// This side's certificate chain (PEM).
    pub cert: Option<PathBuf>,
    /// This side's private key (PEM).
    pub key: Option<PathBuf>,
    /// The CA that signs the other side's certificate (PEM).
    pub ca: Option<PathBuf>,
}

/// A TLS file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Unreadable file.
    #[error("cannot read {flag} `{path}`: {error}")]
    Read {
        /// The flag that named it.
        flag: &'static str,
        /// The path.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// Certificate without key or the other way round.
    #[error("--tls-cert and --tls-key go together; give both or neither")]
    Incomplete,
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Invalid(String),
    /// A master needs its own certificate for TLS.
    #[error("a master with --tls-ca also needs --tls-cert and --tls-key (its own identity)")]
    MasterWithoutIdentity,
}

/// tonic builds its rustls configurations with the process-wide crypto provider; when more
/// than one is compiled in (a dependency may enable aws-lc-rs), rustls cannot pick one by
/// itself. cicada uses ring everywhere. Installing fails harmlessly when one is already set.
fn use_ring() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn read(flag: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::Read {
        flag,
        path: path.display().to_string(),
        error,
    })
}

impl TlsFiles {
    /// True when any TLS file was given.
    pub fn enabled(&self) -> bool {
        self.cert.is_some() || self.key.is_some() || self.ca.is_some()
    }

    fn identity(&self) -> Result<Option<Identity>, TlsError> {
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => Ok(Some(Identity::from_pem(
                read("--tls-cert", cert)?,
                read("--tls-key", key)?,
            ))),
            (None, None) => Ok(None),
            _ => Err(TlsError::Incomplete),
        }
    }

    /// The master's server configuration (`None`: plain HTTP/2).
    pub fn server(&self) -> Result<Option<ServerTlsConfig>, TlsError> {
        if !self.enabled() {
            return Ok(None);
        }
        use_ring();
        let identity = self.identity()?.ok_or(TlsError::MasterWithoutIdentity)?;
        let mut config = ServerTlsConfig::new().identity(identity);
        if let Some(ca) = &self.ca {
            config = config.client_ca_root(Certificate::from_pem(read("--tls-ca", ca)?));
        }
        Ok(Some(config))
    }

    /// A worker's client configuration for a master reached by `domain` (`None`: plain).
    pub fn client(&self, domain: &str) -> Result<Option<ClientTlsConfig>, TlsError> {
        if !self.enabled() {
            return Ok(None);
        }
        use_ring();
        let mut config = ClientTlsConfig::new().domain_name(domain);
        if let Some(ca) = &self.ca {
            config = config.ca_certificate(Certificate::from_pem(read("--tls-ca", ca)?));
        }
        if let Some(identity) = self.identity()? {
            config = config.identity(identity);
        }
        Ok(Some(config))
    }
}
