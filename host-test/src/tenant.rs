//! A tenant: everything one run needs, as plain data (no wasmtime).

use crate::egress::EgressPolicy;
use crate::sandbox::Limits;
use crate::secrets::SecretStore;

/// Everything one tenant's run needs.
#[derive(Debug, Clone, Default)]
pub struct Tenant {
    /// Tenant name, used to tag logs.
    pub name: String,
    /// The config, JSON text as written (secret references, not values).
    pub config: String,
    /// The tenant's secrets.
    pub secrets: SecretStore,
    /// Where it may connect.
    pub egress: EgressPolicy,
    /// Limits.
    pub limits: Limits,
}
