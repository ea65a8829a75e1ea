//! The rustls client configuration shared by all sessions.
//!
//! The crypto provider (`ring`) is passed explicitly: nothing process-global is installed, so
//! tests and embedders cannot trip over each other's defaults. Roots are the bundled Mozilla
//! set (webpki-roots: the container image needs no CA bundle) plus an optional PEM file.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::ClientConfig;
use super::error::ClientBuildError;

/// ALPN ids, most preferred first.
const ALPN_H2: &[u8] = b"h2";
const ALPN_HTTP11: &[u8] = b"http/1.1";

/// Builds the TLS configuration for `config` (roots, verifier, ALPN).
pub(crate) fn build(config: &ClientConfig) -> Result<Arc<rustls::ClientConfig>, ClientBuildError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let mut tls = if config.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate {
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth()
    } else {
        builder
            .with_root_certificates(roots(config)?)
            .with_no_client_auth()
    };
    tls.alpn_protocols = if config.http2 {
        vec![ALPN_H2.to_vec(), ALPN_HTTP11.to_vec()]
    } else {
        vec![ALPN_HTTP11.to_vec()]
    };
    Ok(Arc::new(tls))
}

/// The bundled Mozilla roots plus the certificates of `config.ca_file`.
fn roots(config: &ClientConfig) -> Result<RootCertStore, ClientBuildError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = &config.ca_file {
        let pem = std::fs::read(path).map_err(|source| ClientBuildError::CaFileRead {
            path: path.clone(),
            source,
        })?;
        let mut added = 0usize;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|source| ClientBuildError::CaFilePem {
                path: path.clone(),
                source,
            })?;
            roots
                .add(cert)
                .map_err(|source| ClientBuildError::CaCertificate {
                    path: path.clone(),
                    source,
                })?;
            added += 1;
        }
        if added == 0 {
            return Err(ClientBuildError::CaFileEmpty { path: path.clone() });
        }
    }
    Ok(roots)
}

/// DANGER: accepts every server certificate, whoever issued it and whatever name it carries.
///
/// Only for `insecure: true`, i.e. test targets with self-signed certificates. It still checks
/// that the handshake is signed by the key of the presented certificate (so the TLS session
/// is consistent), but nothing ties that certificate to the host: anyone on the network path
/// can impersonate the target.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpn_follows_the_http2_setting() {
        let on = build(&ClientConfig::default()).unwrap();
        assert_eq!(
            on.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        let off = build(&ClientConfig {
            http2: false,
            ..ClientConfig::default()
        })
        .unwrap();
        assert_eq!(off.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn ca_file_errors_are_reported() {
        let missing = ClientConfig {
            ca_file: Some("/nonexistent/cicada-test-ca.pem".into()),
            ..ClientConfig::default()
        };
        assert!(matches!(
            build(&missing),
            Err(ClientBuildError::CaFileRead { .. })
        ));

        let dir = std::env::temp_dir();
        let empty = dir.join(format!("cicada-empty-ca-{}.pem", std::process::id()));
        std::fs::write(&empty, b"not a certificate\n").unwrap();
        let result = build(&ClientConfig {
            ca_file: Some(empty.clone()),
            ..ClientConfig::default()
        });
        let _ = std::fs::remove_file(&empty);
        assert!(matches!(result, Err(ClientBuildError::CaFileEmpty { .. })));
    }
}
