//! Prometheus naming rules and the fake host names and addresses of emulated hosts.

use sha2::{Digest, Sha256};

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, not starting with the reserved `__`.
pub fn is_valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    !name.starts_with("__")
        && chars
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic() || first == '_' || first == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with the reserved `__`.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    !name.starts_with("__")
        && chars
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn digest(seed: u64, what: &str, name: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(seed.to_le_bytes());
    hasher.update(what.as_bytes());
    hasher.update(name.as_bytes());
    hasher.finalize().into()
}

/// A host name in the original's style, e.g. `stress.worker-05.test.stage`.
pub fn fake_host_name(name: &str) -> String {
    format!("stress.{name}.test.stage")
}

/// The name of a host's `incarnation`-th respawn: its configured name and five
/// hex digits derived from the seed, as a replaced pod's (`worker-01-3fa9c`).
pub fn respawned_name(seed: u64, base: &str, incarnation: u32) -> String {
    let bytes = digest(seed, &format!("respawn {incarnation}"), base);
    let suffix = hex::encode(&bytes[..3]);
    format!("{base}-{}", &suffix[..5])
}

/// A private IPv4 address in the original's style, e.g. `192.168.21.118`, derived
/// from the seed and the host's name. Used only as a label value.
pub fn fake_address(seed: u64, name: &str) -> String {
    let bytes = digest(seed, "address", name);
    format!("192.168.{}.{}", 1 + bytes[0] % 254, 1 + bytes[1] % 254)
}
