//! Checking the chain: `paydeck verify-audit`, on either store. The database is opened for
//! reading only (no migrations, nothing created) and the rows are streamed, so a log of
//! millions of rows is checked in constant memory.

use std::path::Path;

use futures::TryStreamExt;

use super::{
    Head,
    chain::{self, AuditKey, GENESIS},
};
use crate::store::{self, Location, audit::AuditStore};

/// What to check beyond the chain itself.
#[derive(Clone, Debug, Default)]
pub struct Expect {
    /// The key the rows are keyed with (`--audit-key-file`).
    pub key: Option<AuditKey>,
    /// With a key: rows from this one on must be keyed (default 1: all of them), so a chain
    /// rewritten without the key is caught.
    pub keyed_from: Option<i64>,
    /// A head published earlier (`--head SEQ:HASH`): the log must still contain it.
    pub head: Option<Head>,
}

/// An intact log: how many rows, and its head now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intact {
    pub rows: i64,
    pub head: Head,
    pub keyed_rows: i64,
}

/// Parses `SEQ:HASH`.
pub fn parse_head(text: &str) -> Result<Head, String> {
    let (seq, hash) = text.split_once(':').ok_or_else(|| format!("expected SEQ:HASH, got {text:?}"))?;
    let seq: i64 = seq.trim().parse().map_err(|_| format!("{seq:?} is not a sequence number"))?;
    let hash = hash.trim().to_ascii_lowercase();
    if seq < 1 || hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("expected SEQ:HASH with SEQ ≥ 1 and a 64-digit hex hash, got {text:?}"));
    }
    Ok(Head { seq, hash })
}

/// Walks the chain from the first row: `Ok(Intact)`, or `Err` naming the first problem.
pub async fn verify_with(store: &dyn AuditStore, expect: &Expect) -> anyhow::Result<Result<Intact, String>> {
    let mut rows = store.chain();
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1i64;
    let mut keyed_rows = 0;
    let mut head_seen = false;
    let keyed_from = expect.key.as_ref().map(|_| expect.keyed_from.unwrap_or(1));
    while let Some(r) = rows.try_next().await? {
        let seq = r.seq;
        if seq != expected_seq {
            return Ok(Err(format!("row {expected_seq} is missing (the next row is {seq})")));
        }
        let fields = chain::Fields {
            at_ms: r.at_ms,
            user: &r.user,
            groups: &r.groups,
            namespace: &r.namespace,
            name: &r.name,
            target: &r.target,
            before: &r.before,
            after: &r.after,
            reason: &r.reason,
            outcome: &r.outcome,
            detail: &r.detail,
            intent_seq: r.intent_seq,
            keyed: r.keyed,
            format: match chain::Format::of(r.format) {
                Some(format) => format,
                None => return Ok(Err(format!("row {seq} has an unknown format {}", r.format))),
            },
            removed_body: None,
            cluster: &r.cluster,
        };
        // A removed body is stood for by its digest — only on a refused attempt's sealed row:
        // a row that records a change (or its intent) must be whole.
        let fields = if r.pruned {
            if !fields.format.seals_body() || !super::is_refusal(fields.outcome, fields.intent_seq) {
                return Ok(Err(format!(
                    "row {seq} had its details removed, but it is not a refused attempt ({}): only those may be pruned",
                    fields.outcome
                )));
            }
            let Some(digest) = r.body_digest.as_deref() else {
                return Ok(Err(format!("row {seq} had its details removed without keeping their digest")));
            };
            chain::Fields { removed_body: Some(digest), ..fields }
        } else {
            fields
        };
        if r.prev_hash != prev {
            return Ok(Err(format!(
                "row {seq} does not follow row {}: its previous hash was changed",
                seq - 1
            )));
        }
        if keyed_from.is_some_and(|from| seq >= from) && !r.keyed {
            return Ok(Err(format!(
                "row {seq} is not keyed: rows from {} on must carry the key's HMAC (was the chain rewritten without the key?)",
                keyed_from.unwrap_or(1)
            )));
        }
        let Some(hash) = chain::row_hash(&prev, &fields, expect.key.as_ref()) else {
            return Ok(Err(format!("row {seq} is keyed: pass --audit-key-file to check it")));
        };
        if hash != r.hash {
            return Ok(Err(format!(
                "row {seq} was changed after it was written: its hash does not match its fields{}",
                if r.keyed { " and the key" } else { "" }
            )));
        }
        if let Some(head) = &expect.head
            && head.seq == seq
        {
            if head.hash != hash {
                return Ok(Err(format!("row {seq} is not the row published as the head: its hash differs")));
            }
            head_seen = true;
        }
        keyed_rows += i64::from(r.keyed);
        prev = hash;
        expected_seq += 1;
    }
    let rows = expected_seq - 1;
    if let Some(head) = &expect.head
        && !head_seen
    {
        return Ok(Err(format!(
            "the log ends at row {rows}, but row {} was published as its head: rows were cut from the end",
            head.seq
        )));
    }
    Ok(Ok(Intact { rows, head: Head { seq: rows, hash: prev }, keyed_rows }))
}

/// Walks the chain without expectations: `Ok(rows)` when intact.
pub async fn verify(store: &dyn AuditStore) -> anyhow::Result<Result<i64, String>> {
    Ok(verify_with(store, &Expect::default()).await?.map(|intact| intact.rows))
}

/// `paydeck verify-audit`: prints the verdict; `true` when the chain is intact. The store is
/// opened for reading only: nothing is created or migrated.
pub async fn verify_command(db: &Location, expect: &Expect) -> anyhow::Result<bool> {
    let store = store::open_audit_for_reading(db).await?;
    let verdict = verify_with(store.as_ref(), expect).await;
    let place = store.place();
    Ok(match verdict? {
        Ok(intact) => {
            println!("audit log intact: {} row(s) in {place}", intact.rows);
            if intact.keyed_rows > 0 {
                println!("keyed rows: {}", intact.keyed_rows);
            }
            println!("head: {}", intact.head);
            true
        }
        Err(problem) => {
            println!("audit log BROKEN in {place}: {problem}");
            false
        }
    })
}

/// `paydeck verify-audit` as a process: 0 intact, 1 broken, 2 could not check.
pub async fn exit_code(
    db: &Location,
    key_file: Option<&Path>,
    head: Option<Head>,
    keyed_from: Option<i64>,
) -> std::process::ExitCode {
    let key = match key_file.map(AuditKey::read).transpose() {
        Ok(key) => key,
        Err(e) => {
            eprintln!("paydeck: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match verify_command(db, &Expect { key, keyed_from, head }).await {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("paydeck: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_parsed_strictly() {
        let hash = "ab".repeat(32);
        assert_eq!(parse_head(&format!("12:{hash}")).unwrap(), Head { seq: 12, hash: hash.clone() });
        assert!(parse_head(&hash).is_err());
        assert!(parse_head(&format!("0:{hash}")).is_err());
        assert!(parse_head("3:abc").is_err());
        assert!(parse_head(&format!("x:{hash}")).is_err());
    }
}
