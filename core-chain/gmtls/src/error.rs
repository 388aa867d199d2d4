/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum GmTlsError {
    #[error("{field}: {reason}")]
    Config { field: &'static str, reason: String },
    #[error(transparent)]
    Ca(#[from] scf_ca::CaError),
    #[error("rustls: {0}")]
    Rustls(#[from] rustls::Error),
}
