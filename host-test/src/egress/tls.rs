//! Which servers a tenant's TLS connections trust, and the client certificate they present.
//!
//! Trusted roots, as curl and `requests` trust them: the platform's store (or the `SSL_CERT_FILE` /
//! `SSL_CERT_DIR` it names instead, read by rustls-native-certs), the compiled-in webpki roots (so a machine
//! without a store still reaches public APIs), and the tenant's own CA files (`ca_file` in a tenant file,
//! `--cacert` on the command line): an internal API or a TLS-inspecting proxy. A client certificate
//! (`client_cert` and `client_key`, PEM) is presented to servers that ask for one (mutual TLS).

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A tenant's TLS trust settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsTrust {
    /// Trust the platform's roots (and `SSL_CERT_FILE` / `SSL_CERT_DIR`); on by default.
    pub platform_roots: bool,
    /// PEM files of further CA certificates to trust.
    pub ca_files: Vec<PathBuf>,
    /// A client certificate chain and its private key (PEM files), for servers that ask for one.
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

impl Default for TlsTrust {
    fn default() -> Self {
        Self {
            platform_roots: true,
            ca_files: Vec::new(),
            client_cert: None,
        }
    }
}

/// TLS settings that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    /// A CA file that cannot be read or holds no certificate.
    #[error("ca_file {path}: {why}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// A client certificate or key that cannot be read or used.
    #[error("client certificate {path}: {why}")]
    ClientCert {
        /// The certificate or key file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
}

impl TlsTrust {
    /// The rustls client configuration for these settings: ring, TLS 1.2 and 1.3. The default settings'
    /// configuration is built once per `SSL_CERT_FILE` / `SSL_CERT_DIR` and shared: a thousand tenant runs do not
    /// parse the same few hundred roots a thousand times.
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        if *self != Self::default() {
            return self.build();
        }
        type Cache = Option<(Vec<Option<std::ffi::OsString>>, Arc<rustls::ClientConfig>)>;
        static DEFAULT: Mutex<Cache> = Mutex::new(None);
        let key = env_key();
        let mut cache = DEFAULT.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((k, config)) = cache.as_ref()
            && *k == key
        {
            return Ok(config.clone());
        }
        let config = self.build()?;
        *cache = Some((key, config.clone()));
        Ok(config)
    }

    fn build(&self) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
        if self.platform_roots {
            roots.add_parsable_certificates(platform_roots().iter().cloned());
        }
        for path in &self.ca_files {
            let bad = |why: String| TlsError::CaFile {
                path: path.clone(),
                why,
            };
            let certs = read_certs(path).map_err(bad)?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(bad("holds no usable CA certificate".into()));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // ring implements the safe default versions (TLS 1.2 and 1.3), so this cannot fail.
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports TLS 1.2 and 1.3")
            .with_root_certificates(roots);
        let config = match &self.client_cert {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let bad = |path: &Path, why: String| TlsError::ClientCert {
                    path: path.to_path_buf(),
                    why,
                };
                let chain = read_certs(cert).map_err(|why| bad(cert, why))?;
                if chain.is_empty() {
                    return Err(bad(cert, "holds no certificate".into()));
                }
                let private = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| bad(key, format!("no private key read: {e}")))?;
                builder
                    .with_client_auth_cert(chain, private)
                    .map_err(|e| bad(cert, e.to_string()))?
            }
        };
        Ok(Arc::new(config))
    }
}

/// The certificates of a PEM file.
fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("not readable: {e}"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not PEM: {e}"))
}

/// The environment variables that choose the platform's roots.
fn env_key() -> Vec<Option<std::ffi::OsString>> {
    ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .map(std::env::var_os)
        .collect()
}

/// The platform's roots, read once per `SSL_CERT_FILE` / `SSL_CERT_DIR` setting (reading the store takes
/// milliseconds, which a thousand tenants would repeat). Certificates that do not parse are skipped, as curl
/// skips them.
fn platform_roots() -> Arc<Vec<CertificateDer<'static>>> {
    type Cache = Option<(
        Vec<Option<std::ffi::OsString>>,
        Arc<Vec<CertificateDer<'static>>>,
    )>;
    static CACHE: Mutex<Cache> = Mutex::new(None);
    let key = env_key();
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((k, roots)) = cache.as_ref()
        && *k == key
    {
        return roots.clone();
    }
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::debug!("platform TLS roots: {e}");
    }
    let roots = Arc::new(found.certs);
    *cache = Some((key, roots.clone()));
    roots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here").unwrap();
        let missing = dir.path().join("missing.pem");
        for (path, why) in [
            (&empty, "holds no usable CA certificate"),
            (&missing, "not readable"),
        ] {
            let trust = TlsTrust {
                ca_files: vec![path.clone()],
                ..TlsTrust::default()
            };
            let error = trust.client_config().unwrap_err().to_string();
            assert!(
                error.starts_with(&format!("ca_file {}", path.display())),
                "{error}"
            );
            assert!(error.contains(why), "{error}");
        }
        let trust = TlsTrust {
            client_cert: Some((missing.clone(), missing.clone())),
            ..TlsTrust::default()
        };
        assert!(
            trust
                .client_config()
                .unwrap_err()
                .to_string()
                .starts_with("client certificate")
        );
        assert!(TlsTrust::default().client_config().is_ok());
    }
}
