//! The hash chain: each row's hash covers the previous row's hash and every field of its own,
//! so a row changed or removed breaks the chain there. Rows written since the sealed format
//! ([`Format::Sealed`]) cover their body (groups, target, before, after, reason, detail)
//! through its digest: a refused attempt's body may be removed after its retention period,
//! its digest kept, and the chain still verifies — while its time, user, workload and outcome
//! stay covered, so no applied change can pass for a refused one. Rows of the clustered format
//! ([`Format::Clustered`]) cover the cluster the change was for in their header as well. With a key
//! (`--audit-key-file`) the
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
    pub format: Format,
    /// For a sealed row whose body was removed: the digest of the body it had.
    pub removed_body: Option<&'a str>,
    /// The fleet's name for the cluster (covered from the clustered format on; empty before).
    pub cluster: &'a str,
}

/// How a row's hash is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Over every field (rows written before the sealed format).
    Whole,
    /// Over the row's header and the digest of its body.
    Sealed,
    /// As sealed, with the cluster in the header.
    Clustered,
}

impl Format {
    /// As stored in the `format` column.
    pub fn number(self) -> i64 {
        match self {
            Format::Whole => 1,
            Format::Sealed => 2,
            Format::Clustered => 3,
        }
    }

    /// Whether its body may be removed, its digest kept.
    pub fn seals_body(self) -> bool {
        self != Format::Whole
    }

    pub fn of(number: i64) -> Option<Self> {
        match number {
            1 => Some(Format::Whole),
            2 => Some(Format::Sealed),
            3 => Some(Format::Clustered),
            _ => None,
        }
    }
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

/// Fields length-prefixed, one per line: no two different lists give the same text.
fn joined(parts: &[&str]) -> String {
    let mut out = String::with_capacity(256);
    for part in parts {
        out.push_str(&part.len().to_string());
        out.push(':');
        out.push_str(part);
        out.push('\n');
    }
    out
}

/// The digest of a row's body: what a sealed row's hash covers in its place.
pub fn body_digest(f: &Fields) -> String {
    let text = joined(&[f.groups, f.target, f.before, f.after, f.reason, f.detail]);
    hex(digest(&SHA256, text.as_bytes()).as_ref())
}

/// The text a row's hash is computed over. Whole rows: every field; the fields added later
/// (intent, keyed) are appended only when set, so rows written before they existed hash as
/// they always did. Sealed rows: a tag no whole row starts with, the header and the body's
/// digest; clustered rows: their own tag, the same and the cluster.
fn text(prev: &str, f: &Fields) -> String {
    if f.format.seals_body() {
        let at = f.at_ms.to_string();
        let intent = f.intent_seq.map(|s| s.to_string()).unwrap_or_default();
        let body = f.removed_body.map_or_else(|| body_digest(f), str::to_string);
        let mut parts: Vec<&str> = if f.format == Format::Clustered {
            vec!["paydeck-audit-clustered", prev, &at, f.cluster]
        } else {
            vec!["paydeck-audit-sealed", prev, &at]
        };
        parts.extend([
            f.user,
            f.namespace,
            f.name,
            f.outcome,
            &intent,
            if f.keyed { "hmac-sha256" } else { "sha256" },
            &body,
        ]);
        return joined(&parts);
    }
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
    joined(&parts)
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
            cluster: "",
            keyed: false,
            format: Format::Whole,
            removed_body: None,
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
    fn a_clustered_row_covers_its_cluster_and_verifies_with_its_body_removed() {
        let row =
            Fields { format: Format::Clustered, outcome: "denied", cluster: "eu-west", ..fields("ana", "x") };
        let hash = row_hash(GENESIS, &row, None).unwrap();
        assert_ne!(hash, row_hash(GENESIS, &Fields { cluster: "us-east", ..row.clone() }, None).unwrap());
        assert_ne!(hash, row_hash(GENESIS, &Fields { format: Format::Sealed, ..row.clone() }, None).unwrap());
        let digest = body_digest(&row);
        let removed = Fields { detail: "removed", removed_body: Some(&digest), ..row.clone() };
        assert_eq!(row_hash(GENESIS, &removed, None).unwrap(), hash);
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
    fn a_sealed_row_verifies_with_its_body_removed_but_not_with_its_header_changed() {
        let sealed = Fields { format: Format::Sealed, outcome: "denied", ..fields("ana", "max 4 → 6") };
        let hash = row_hash(GENESIS, &sealed, None).unwrap();
        assert_ne!(
            hash,
            row_hash(GENESIS, &Fields { format: Format::Whole, ..sealed.clone() }, None).unwrap()
        );
        let digest = body_digest(&sealed);
        let removed = Fields {
            groups: "[]",
            target: "",
            before: "null",
            after: "null",
            reason: "",
            detail: "removed",
            removed_body: Some(&digest),
            ..sealed.clone()
        };
        assert_eq!(row_hash(GENESIS, &removed, None).unwrap(), hash, "the digest stands for the body");
        // The body is covered: a changed detail changes the hash.
        assert_ne!(row_hash(GENESIS, &Fields { detail: "x", ..sealed.clone() }, None).unwrap(), hash);
        // The header is covered even without the body: an applied change cannot pass as refused.
        for changed in [
            Fields { outcome: "applied", ..removed.clone() },
            Fields { user: "ben", ..removed.clone() },
            Fields { at_ms: 2, ..removed.clone() },
            Fields { name: "checkout", ..removed.clone() },
        ] {
            assert_ne!(row_hash(GENESIS, &changed, None).unwrap(), hash);
        }
    }

    #[test]
    fn rows_without_the_new_fields_hash_as_before() {
        // The text of a row from before intents and keys existed: eleven fields after prev.
        let t = text(GENESIS, &fields("ana", "x"));
        assert_eq!(t.lines().count(), 12);
        assert!(t.starts_with("64:0000"));
    }
}
