//! `mqtts://`: TLS with rustls (ring provider): a custom CA or the system's roots, optional
//! client certificate (mutual TLS), ALPN.

use std::sync::Arc;

use rustls::ClientConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::Error;

/// TLS settings of an MQTT connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Trust only these CA certificates (PEM); `None` trusts the operating system's roots.
    pub ca_pem: Option<Vec<u8>>,
    /// Client certificate chain (PEM), for brokers that require one.
    pub client_cert_pem: Option<Vec<u8>>,
    /// The client certificate's private key (PEM).
    pub client_key_pem: Option<Vec<u8>>,
    /// ALPN protocols to offer (for example `b"mqtt"` on AWS IoT's port 443).
    pub alpn: Vec<Vec<u8>>,
    /// Name to verify the server certificate against; defaults to the host.
    pub server_name: Option<String>,
}

fn tls_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Tls(format!("{what}: {e}"))
}

/// Builds the rustls client configuration once per client.
pub(super) fn client_config(o: &TlsOptions) -> Result<Arc<ClientConfig>, Error> {
    let mut roots = rustls::RootCertStore::empty();
    match &o.ca_pem {
        Some(pem) => {
            for cert in CertificateDer::pem_slice_iter(pem) {
                roots
                    .add(cert.map_err(|e| tls_error("CA certificate", e))?)
                    .map_err(|e| tls_error("CA certificate", e))?;
            }
            if roots.is_empty() {
                return Err(Error::Tls("CA certificate: no certificate in the PEM".into()));
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            for cert in native.certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(Error::Tls("no system root certificates found; give a CA".into()));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error("protocol versions", e))?
        .with_root_certificates(roots);
    let mut config = match (&o.client_cert_pem, &o.client_key_pem) {
        (Some(cert), Some(key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<_, _>>()
                .map_err(|e| tls_error("client certificate", e))?;
            let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| tls_error("client key", e))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| tls_error("client certificate", e))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => return Err(Error::Tls("a client certificate needs its key, and the other way round".into())),
    };
    config.alpn_protocols = o.alpn.clone();
    Ok(Arc::new(config))
}
