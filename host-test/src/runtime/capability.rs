//! What a plugin may import: the interfaces this host offers, grouped into capabilities an operator grants.
//!
//! | capability | interfaces | what the host puts behind them |
//! |---|---|---|
//! | (always) | `rest-source:connector/types`, `wasi:io/*`, `wasi:clocks/*`, `wasi:random/*`, `wasi:cli/*` | types; streams; clocks; randomness; empty environment and arguments, captured and capped stdout/stderr |
//! | `http` | `wasi:http/types`, `wasi:http/outgoing-handler` | requests through the tenant's egress policy |
//! | `secrets` | `rest-source:connector/secrets` | the tenant's own secrets, by name |
//! | `logging` | `rest-source:connector/logging` | log lines tagged with the tenant, secrets masked |
//! | `filesystem` | `wasi:filesystem/*` | nothing: no directory is ever preopened |
//! | `sockets` | `wasi:sockets/*` | nothing: every address and name lookup is refused |
//!
//! A component importing anything else (another package, `wasi:keyvalue`, a WASI 0.3 interface) is refused at
//! load, with the import named.

use serde::{Deserialize, Serialize};

/// A group of host interfaces a plugin may be granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    /// Outgoing HTTP.
    Http,
    /// The tenant's secrets.
    Secrets,
    /// Log lines to the host.
    Logging,
    /// The WASI filesystem interfaces (linked, with nothing preopened).
    Filesystem,
    /// The WASI socket interfaces (linked, with every address refused).
    Sockets,
}

impl Capability {
    /// Its name in manifests.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Http => "http",
            Capability::Secrets => "secrets",
            Capability::Logging => "logging",
            Capability::Filesystem => "filesystem",
            Capability::Sockets => "sockets",
        }
    }

    /// Every capability this host offers.
    pub const ALL: [Capability; 5] = [
        Capability::Http,
        Capability::Secrets,
        Capability::Logging,
        Capability::Filesystem,
        Capability::Sockets,
    ];
}

/// What an import needs from this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Nothing: always offered.
    Nothing,
    /// This capability.
    Granted(Capability),
    /// This host does not offer it at all.
    NotOffered,
}

/// What an import needs. `name` is a component import name such as `wasi:http/types@0.2.12`.
pub fn needed(name: &str) -> Need {
    let unversioned = name.split('@').next().unwrap_or(name);
    let (package, interface) = unversioned.split_once('/').unwrap_or((unversioned, ""));
    let version = name.split_once('@').map(|(_, v)| v);
    let major_zero_two = version.is_none_or(|v| v.starts_with("0.2."));
    match (package, interface) {
        ("rest-source:connector", "types") => Need::Nothing,
        ("rest-source:connector", "secrets") => Need::Granted(Capability::Secrets),
        ("rest-source:connector", "logging") => Need::Granted(Capability::Logging),
        ("wasi:io" | "wasi:clocks" | "wasi:random" | "wasi:cli", _) if major_zero_two => {
            Need::Nothing
        }
        ("wasi:http", "types" | "outgoing-handler") if major_zero_two => {
            Need::Granted(Capability::Http)
        }
        ("wasi:filesystem", _) if major_zero_two => Need::Granted(Capability::Filesystem),
        ("wasi:sockets", _) if major_zero_two => Need::Granted(Capability::Sockets),
        _ => Need::NotOffered,
    }
}

/// Check a component's imports against what this host offers and what is `granted`; the message names every
/// import refused.
pub fn check_imports(imports: &[String], granted: &[Capability]) -> Result<(), String> {
    let mut refused = Vec::new();
    for name in imports {
        match needed(name) {
            Need::Nothing => {}
            Need::Granted(cap) if granted.contains(&cap) => {}
            Need::Granted(cap) => refused.push(format!(
                "`{name}` needs the `{}` capability, which its manifest does not grant",
                cap.name()
            )),
            Need::NotOffered => refused.push(format!("`{name}` is not offered by this host")),
        }
    }
    match refused.is_empty() {
        true => Ok(()),
        false => Err(format!("refused imports: {}", refused.join("; "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_map_to_capabilities() {
        assert_eq!(needed("wasi:io/streams@0.2.12"), Need::Nothing);
        assert_eq!(
            needed("wasi:http/outgoing-handler@0.2.4"),
            Need::Granted(Capability::Http)
        );
        assert_eq!(
            needed("rest-source:connector/secrets@0.1.0"),
            Need::Granted(Capability::Secrets)
        );
        assert_eq!(
            needed("wasi:http/handler@0.2.12"),
            Need::NotOffered,
            "no incoming HTTP"
        );
        assert_eq!(
            needed("wasi:io/streams@0.3.0"),
            Need::NotOffered,
            "another major version"
        );
        assert_eq!(needed("wasi:keyvalue/store@0.2.0-draft"), Need::NotOffered);
    }

    #[test]
    fn refusals_name_every_import() {
        let imports = [
            "wasi:io/streams@0.2.12".to_string(),
            "wasi:http/outgoing-handler@0.2.12".to_string(),
            "acme:spy/exfiltrate".to_string(),
        ];
        assert_eq!(
            check_imports(&imports, &Capability::ALL).unwrap_err(),
            "refused imports: `acme:spy/exfiltrate` is not offered by this host"
        );
        assert_eq!(
            check_imports(&imports[..2], &[Capability::Secrets]).unwrap_err(),
            "refused imports: `wasi:http/outgoing-handler@0.2.12` needs the `http` capability, which its manifest does not grant"
        );
        assert_eq!(check_imports(&imports[..2], &[Capability::Http]), Ok(()));
    }
}
