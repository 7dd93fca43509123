//! The hash chain: each row's hash covers the previous row's hash and every field of its own,
//! so a row changed or removed breaks the chain there. With a key (`--audit-key-file`) the
//! hash is an HMAC: someone who can write the database file but not read the key cannot
//! rewrite the chain from the point they changed to its end.

use ring::{
    digest::{SHA256, digest},
    hmac,
};

/// The hash the first row chains from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The shortest key accepted (bytes).
pub const MIN_KEY_BYTES: usize = 32;

/// The fields of a row that its hash covers, in order.
#[derive(Clone, Debug)]
pub struct Fields<'a> {
    pub at_ms: i64,
    pub user: &'a str,
    /// JSON array.
    pub groups: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub target: &'a str,
    /// JSON.
    pub before: &'a str,
    /// JSON.
    pub after: &'a str,
    pub reason: &'a str,
    pub outcome: &'a str,
    pub detail: &'a str,
    /// The intent row an outcome row completes.
    pub intent_seq: Option<i64>,
    /// Whether the hash is an HMAC.
    pub keyed: bool,
}

/// The secret that keys the chain.
#[derive(Clone)]
pub struct AuditKey(hmac::Key);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(…)")
    }
}

impl AuditKey {
    pub fn new(secret: &[u8]) -> Self {
        AuditKey(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// Reads the key from a mounted Secret file (trailing newline ignored).
    pub fn read(path: &std::path::Path) -> Result<Self, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read the audit key {}: {e}", path.display()))?;
        let secret = bytes.trim_ascii_end();
        if secret.len() < MIN_KEY_BYTES {
            return Err(format!(
                "the audit key in {} is {} bytes; at least {MIN_KEY_BYTES} are needed (e.g. `openssl rand -hex 32`)",
                path.display(),
                secret.len()
            ));
        }
        Ok(Self::new(secret))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The text a row's hash is computed over: every field length-prefixed, so no two different
/// rows give the same text. The fields added later (intent, keyed) are appended only when
/// set, so rows written before they existed hash as they always did.
fn text(prev: &str, f: &Fields) -> String {
    let at = f.at_ms.to_string();
    let mut parts: Vec<&str> = vec![
        prev,
        &at,
        f.user,
        f.groups,
        f.namespace,
        f.name,
        f.target,
        f.before,
        f.after,
        f.reason,
        f.outcome,
        f.detail,
    ];
    let intent = f.intent_seq.map(|s| s.to_string()).unwrap_or_default();
    if f.intent_seq.is_some() || f.keyed {
        parts.push(&intent);
        parts.push(if f.keyed { "hmac-sha256" } else { "sha256" });
    }
    let mut out = String::with_capacity(256);
    for part in parts {
        out.push_str(&part.len().to_string());
        out.push(':');
        out.push_str(part);
        out.push('\n');
    }
    out
}

/// The hash of a row after `prev`: HMAC-SHA256 with `key` when the row is keyed, else SHA-256.
/// `None` when the row is keyed and no key was given.
pub fn row_hash(prev: &str, fields: &Fields, key: Option<&AuditKey>) -> Option<String> {
    let text = text(prev, fields);
    if fields.keyed {
        Some(hex(hmac::sign(&key?.0, text.as_bytes()).as_ref()))
    } else {
        Some(hex(digest(&SHA256, text.as_bytes()).as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(user: &'a str, detail: &'a str) -> Fields<'a> {
        Fields {
            at_ms: 1,
            user,
            groups: "[]",
            namespace: "ns",
            name: "ledger",
            target: "HorizontalPodAutoscaler/ledger",
            before: "{}",
            after: "{}",
            reason: "CHG-1",
            outcome: "applied",
            detail,
            intent_seq: None,
            keyed: false,
        }
    }

    #[test]
    fn the_hash_depends_on_every_field_and_the_previous_hash() {
        let a = row_hash(GENESIS, &fields("ana", "max 4 → 6"), None).unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, row_hash(GENESIS, &fields("ana", "max 4 → 7"), None).unwrap());
        assert_ne!(a, row_hash(&a, &fields("ana", "max 4 → 6"), None).unwrap());
        // Moving text between fields changes the hash (fields are length-prefixed).
        assert_ne!(
            row_hash(GENESIS, &fields("ab", "c"), None).unwrap(),
            row_hash(GENESIS, &fields("a", "bc"), None).unwrap()
        );
        let with_intent = Fields { intent_seq: Some(3), ..fields("ana", "max 4 → 6") };
        assert_ne!(a, row_hash(GENESIS, &with_intent, None).unwrap());
    }

    #[test]
    fn keyed_rows_need_the_key_and_differ_by_key() {
        let keyed = Fields { keyed: true, ..fields("ana", "x") };
        assert_eq!(row_hash(GENESIS, &keyed, None), None);
        let one = row_hash(GENESIS, &keyed, Some(&AuditKey::new(&[1; 32]))).unwrap();
        let two = row_hash(GENESIS, &keyed, Some(&AuditKey::new(&[2; 32]))).unwrap();
        assert_ne!(one, two);
        assert_ne!(one, row_hash(GENESIS, &fields("ana", "x"), None).unwrap());
    }

    #[test]
    fn rows_without_the_new_fields_hash_as_before() {
        // The text of a row from before intents and keys existed: eleven fields after prev.
        let t = text(GENESIS, &fields("ana", "x"));
        assert_eq!(t.lines().count(), 12);
        assert!(t.starts_with("64:0000"));
    }
}
