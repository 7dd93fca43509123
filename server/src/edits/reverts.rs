//! After an applied change to an object something else sets back (Argo CD, Flux, KEDA), the
//! editor watches Paydeck's picture of the object for that: the changed fields going back to
//! what they were before the change. It is recorded as an audit row of its own (outcome
//! `reverted`, the tool as its user) and an event on the service's charts, so the applied row
//! is not the last word. A field moved to anything else means someone changed it again: the
//! watch ends without a verdict. Best effort, on the replica that applied the change.

use std::time::Duration;

use domain::owners::Owner;
use serde_json::{Value, json};

use super::{Editor, patch, record::Record};
use crate::clock::unix_ms;

/// The audit outcome of a change an owner set back.
pub const REVERTED: &str = "reverted";
/// How long a change is watched: past Flux's usual intervals and Argo CD's reconciliation.
pub const WATCH_FOR: Duration = Duration::from_secs(15 * 60);
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// An applied change to watch.
pub(super) struct Applied {
    pub record: Record,
    pub owner: Owner,
    /// `{field: [before, after]}` as applied.
    pub diff: Value,
    pub audit_seq: Option<i64>,
}

/// What became of the changed fields, read now.
#[derive(Debug, PartialEq)]
enum Seen {
    Kept,
    /// Back to their values before the change: `{field: [after, now]}`.
    SetBack(Value),
    /// Moved elsewhere (someone changed them again), or the object is gone.
    Overtaken,
}

fn judge(diff: &Value, now: Option<&Value>) -> Seen {
    let (Some(diff), Some(now)) = (diff.as_object(), now) else { return Seen::Overtaken };
    if diff.iter().all(|(field, pair)| now[field] == pair[1]) {
        return Seen::Kept;
    }
    if diff.iter().all(|(field, pair)| now[field] == pair[0]) {
        let back = diff.iter().map(|(field, pair)| (field.clone(), json!([pair[1], now[field]]))).collect();
        return Seen::SetBack(Value::Object(back));
    }
    Seen::Overtaken
}

impl Editor {
    /// Watches `applied` in a task of its own until its owner sets it back, it is changed
    /// again, or [`WATCH_FOR`] has passed.
    pub(super) fn watch_for_revert(self: &std::sync::Arc<Self>, applied: Applied) {
        let editor = self.clone();
        tokio::spawn(async move {
            let until = tokio::time::Instant::now() + editor.revert_watch;
            // The watch may not have brought the change yet: the earlier values count as set
            // back only once the change has been seen.
            let mut seen_applied = false;
            while tokio::time::Instant::now() < until {
                tokio::time::sleep(LOOK_EVERY).await;
                let snapshot = editor.view().current();
                let now = snapshot
                    .workload(&applied.record.namespace, &applied.record.name)
                    .map(patch::workload_summary);
                match judge(&applied.diff, now.as_ref()) {
                    Seen::Kept => seen_applied = true,
                    Seen::SetBack(_) if !seen_applied => continue,
                    Seen::Overtaken => return,
                    Seen::SetBack(back) => return editor.record_revert(&applied, back).await,
                }
            }
        });
    }

    async fn record_revert(&self, applied: &Applied, back: Value) {
        let fields = patch::diff_in_words(&back);
        let by = applied.owner.tool.as_str();
        let row = applied.audit_seq.map(|s| format!(" (the change of audit row #{s})")).unwrap_or_default();
        let detail =
            format!("reverted by {by}: {} set {} back{row}", applied.owner.describe(), fields.join(", "));
        let record = &applied.record;
        let before = back.as_object().into_iter().flatten().map(|(f, p)| (f.clone(), p[0].clone())).collect();
        let after = back.as_object().into_iter().flatten().map(|(f, p)| (f.clone(), p[1].clone())).collect();
        let attempt = crate::audit::Attempt {
            at_ms: unix_ms(),
            user: by,
            groups: &[],
            namespace: &record.namespace,
            name: &record.name,
            target: &record.target,
            before: &Value::Object(before),
            after: &Value::Object(after),
            reason: &record.reason,
            outcome: REVERTED,
            detail: &detail,
            intent_seq: None,
            cluster: self.cluster_name(),
        };
        match self.audit.record(&attempt).await {
            Ok(seq) => {
                tracing::info!(audit_seq = seq, namespace = record.namespace, name = record.name, "{detail}")
            }
            Err(e) => tracing::error!(
                "audit: cannot record that {}/{} was set back: {e}",
                record.namespace,
                record.name
            ),
        }
        let event = format!("{} by {by} ({})", fields.join(", "), applied.owner.describe());
        if let Err(e) =
            self.history.write_event(&record.namespace, &record.name, unix_ms(), "revert", &event).await
        {
            tracing::warn!("history: cannot record the revert of {}/{}: {e}", record.namespace, record.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_kept_set_back_or_overtaken() {
        let diff = json!({ "maxReplicas": [10, 14], "minReplicas": [2, 3] });
        assert_eq!(
            judge(&diff, Some(&json!({ "maxReplicas": 14, "minReplicas": 3, "cpuTarget": 70 }))),
            Seen::Kept
        );
        assert_eq!(
            judge(&diff, Some(&json!({ "maxReplicas": 10, "minReplicas": 2 }))),
            Seen::SetBack(json!({ "maxReplicas": [14, 10], "minReplicas": [3, 2] }))
        );
        // Half set back, or moved to a third value: someone else changed it; no verdict.
        assert_eq!(judge(&diff, Some(&json!({ "maxReplicas": 10, "minReplicas": 3 }))), Seen::Overtaken);
        assert_eq!(judge(&diff, Some(&json!({ "maxReplicas": 16, "minReplicas": 3 }))), Seen::Overtaken);
        assert_eq!(judge(&diff, None), Seen::Overtaken, "the object is gone");
    }
}
