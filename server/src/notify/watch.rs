//! What makes messages: the leader looks every few seconds at the audit log's new rows (each
//! change applied, denied or reverted, each plan change) and at each cluster's conditions (a
//! finding, an HPA held at its maximum with CPU above its target, the cluster unreachable).
//! A condition is told once when it opens and once when it is resolved; what is open is kept
//! in the store, with the audit log's position, in the same transaction as the messages — so
//! a restart, or a new leader, neither repeats nor loses one. Nothing here is on the path of
//! a request or of sampling: it reads what they already wrote.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use app::scaling::AuditQuery;
use domain::{
    fleet::ClusterState,
    rules::report::{FindingRow, FindingsQuery},
};

use super::{
    config::NotifyConfig,
    event::{self, Event, Severity},
};
use crate::store::{
    AuditStore, OutboxStore, StoreError,
    outbox::{Batch, Condition, Outgoing},
};

/// The audit log's cursor.
const AUDIT_CURSOR: &str = "audit";
/// The most new audit rows read in one look (a backlog larger than this is skipped, said in
/// the log).
const AUDIT_BACKLOG: usize = 5_000;

/// One cluster as the watcher sees it.
pub struct ClusterLook {
    pub name: String,
    pub primary: bool,
    pub state: ClusterState,
    /// Its findings now (waived ones left out).
    pub findings: Vec<FindingRow>,
    /// Whether the findings judged on recorded history are among them: not until the
    /// advisor's first sweep after a start (until then they are neither opened nor resolved).
    pub history_judged: bool,
    /// `(namespace, name, held)`: each HPA, and whether it is at its maximum with CPU above
    /// its target.
    pub autoscalers: Vec<(String, String, bool)>,
}

impl ClusterLook {
    /// `s`'s cluster now.
    pub fn of(s: &crate::http::ServerState, primary: bool) -> ClusterLook {
        let snapshot = s.cluster.current();
        let autoscalers = snapshot
            .workloads
            .iter()
            .filter_map(|w| {
                let a = w.autoscaler.as_ref()?;
                let hot =
                    matches!((a.cpu_current_percent, a.cpu_target_percent), (Some(c), Some(t)) if c > t);
                Some((w.namespace.clone(), w.name.clone(), a.at_max && hot))
            })
            .collect();
        let report = s.advisor.report(&FindingsQuery::default());
        ClusterLook {
            name: s.cluster_name.clone(),
            primary,
            state: ClusterState::of(&snapshot.connection),
            history_judged: report.history_judged_at_ms.is_some() || s.history.is_none(),
            findings: report.findings,
            autoscalers,
        }
    }
}

/// The watcher's memory between looks.
pub struct Watcher {
    config: Arc<NotifyConfig>,
    outbox: Arc<dyn OutboxStore>,
    audit: Option<Arc<dyn AuditStore>>,
    primary: String,
    /// Since when (the cluster's time) each HPA has been held at its maximum.
    held_since: HashMap<(String, String, String), i64>,
}

impl Watcher {
    pub fn new(
        config: Arc<NotifyConfig>,
        outbox: Arc<dyn OutboxStore>,
        audit: Option<Arc<dyn AuditStore>>,
        primary: &str,
    ) -> Watcher {
        Watcher { config, outbox, audit, primary: primary.to_string(), held_since: HashMap::new() }
    }

    /// One look at `clusters` at `now_ms` (the cluster's time), queuing at `wall_ms`: how many
    /// messages were queued.
    pub async fn look(
        &mut self,
        clusters: &[ClusterLook],
        now_ms: i64,
        wall_ms: i64,
    ) -> Result<usize, StoreError> {
        let mut queued = 0;
        if let Some(batch) = self.audit_batch(wall_ms).await? {
            queued += batch.messages.len();
            self.outbox.record(&batch).await?;
        }
        for cluster in clusters {
            let open = self.outbox.conditions(&cluster.name).await?;
            let batch = self.conditions_batch(cluster, &open, now_ms, wall_ms);
            if !batch.is_empty() {
                queued += batch.messages.len();
                self.outbox.record(&batch).await?;
            }
        }
        Ok(queued)
    }

    /// The messages for the audit rows written since the last look. The first look ever starts
    /// at the log's end: what was done before notifications were set up is not told.
    async fn audit_batch(&self, wall_ms: i64) -> Result<Option<Batch>, StoreError> {
        let Some(audit) = &self.audit else { return Ok(None) };
        let Some(from) = self.outbox.cursor(AUDIT_CURSOR).await? else {
            let tip = audit.tip().await?.map_or(0, |(seq, _)| seq);
            return Ok(Some(Batch { cursor: Some((AUDIT_CURSOR.into(), tip)), ..Batch::default() }));
        };
        let mut rows = Vec::new();
        let mut before = None;
        'pages: loop {
            let q = AuditQuery { before, ..AuditQuery::default() };
            let page = audit.page(&q, 500).await?;
            let Some(last) = page.last() else { break };
            before = Some(last.seq);
            for row in page {
                if row.seq <= from {
                    break 'pages;
                }
                rows.push(row);
            }
            if rows.len() >= AUDIT_BACKLOG {
                tracing::warn!(
                    "notifications: more than {AUDIT_BACKLOG} new audit rows at once; only the newest are told"
                );
                break;
            }
        }
        let Some(newest) = rows.first().map(|r| r.seq) else { return Ok(None) };
        rows.reverse();
        let events: Vec<Event> = rows.iter().filter_map(|r| event::of_audit_row(r, &self.primary)).collect();
        Ok(Some(Batch {
            messages: self.messages(&events, wall_ms),
            cursor: Some((AUDIT_CURSOR.into(), newest)),
            ..Batch::default()
        }))
    }

    /// What opened and what was resolved on `cluster` since `open` was recorded. An
    /// unreachable or syncing cluster's findings and HPAs are not judged (an empty picture is
    /// not a resolution); only its reachability is.
    pub fn conditions_batch(
        &mut self,
        cluster: &ClusterLook,
        open: &[Condition],
        now_ms: i64,
        wall_ms: i64,
    ) -> Batch {
        let mut now: BTreeMap<String, Event> = BTreeMap::new();
        let judged = matches!(cluster.state, ClusterState::Answering | ClusterState::Degraded);
        if cluster.state == ClusterState::Unreachable {
            now.insert("cluster/unreachable".into(), self.unreachable(cluster, now_ms));
        }
        if judged {
            for f in &cluster.findings {
                let key = format!("finding/{}/{}/{}", f.finding.rule, f.namespace, f.name);
                now.insert(key, self.finding(cluster, f, now_ms));
            }
            let open_keys: std::collections::HashSet<&str> = open.iter().map(|c| c.key.as_str()).collect();
            for (namespace, name, held) in &cluster.autoscalers {
                let id = (cluster.name.clone(), namespace.clone(), name.clone());
                if !held {
                    self.held_since.remove(&id);
                    continue;
                }
                let since = *self.held_since.entry(id).or_insert(now_ms);
                let minutes = i64::from(self.config.at_max_minutes);
                let key = format!("hpa-at-max/{namespace}/{name}");
                // Told before a restart (which forgot since when): still open while held.
                if now_ms - since >= minutes * 60_000 || open_keys.contains(key.as_str()) {
                    now.insert(key.clone(), self.at_max(cluster, namespace, name, since, now_ms));
                }
            }
        }
        let mut batch = Batch::default();
        let mut events = Vec::new();
        for c in open {
            let still = now.remove(&c.key).is_some();
            let kept = (!judged && !c.key.starts_with("cluster/"))
                || (!cluster.history_judged && from_history(&c.key));
            if still || kept {
                continue;
            }
            batch.closed.push((c.cluster.clone(), c.key.clone()));
            if let Ok(opened) = serde_json::from_str::<Event>(&c.body) {
                events.push(opened.resolution(now_ms, &resolved_text(&c.key)));
            }
        }
        for (key, mut event) in now {
            event.id = format!("{}/{key}@{now_ms}", cluster.name);
            event.facts.insert("openedMs".into(), now_ms.to_string());
            batch.opened.push(Condition {
                cluster: cluster.name.clone(),
                key,
                opened_ms: now_ms,
                body: serde_json::to_string(&event).unwrap_or_default(),
            });
            events.push(event);
        }
        batch.messages = self.messages(&events, wall_ms);
        batch
    }

    /// One message per event and sink whose route takes it.
    fn messages(&self, events: &[Event], wall_ms: i64) -> Vec<Outgoing> {
        let due_ms = wall_ms + i64::from(self.config.group_wait_seconds) * 1_000;
        let mut out = Vec::new();
        for e in events {
            let body = serde_json::to_string(e).unwrap_or_default();
            for sink in self.config.sinks.iter().filter(|s| s.route.takes(e)) {
                out.push(Outgoing {
                    sink: sink.name.clone(),
                    dedupe_key: e.id.clone(),
                    cluster: e.cluster.clone(),
                    kind: e.kind.clone(),
                    body: body.clone(),
                    at_ms: wall_ms,
                    due_ms,
                });
            }
        }
        out
    }

    fn base(&self, cluster: &ClusterLook, kind: &str, severity: Severity, now_ms: i64) -> Event {
        Event {
            id: String::new(),
            kind: kind.into(),
            severity,
            cluster: cluster.name.clone(),
            namespace: String::new(),
            name: String::new(),
            title: String::new(),
            text: String::new(),
            at_ms: now_ms,
            resolved: false,
            path: String::new(),
            facts: BTreeMap::new(),
        }
    }

    fn unreachable(&self, cluster: &ClusterLook, now_ms: i64) -> Event {
        Event {
            title: format!("Cluster {} is unreachable", cluster.name),
            text: "Paydeck cannot reach its API server: its pages show the last figures read, and no change can be made there."
                .into(),
            path: if cluster.primary { "/".into() } else { format!("/?cluster={}", cluster.name) },
            ..self.base(cluster, "cluster.unreachable", Severity::Critical, now_ms)
        }
    }

    fn finding(&self, cluster: &ClusterLook, f: &FindingRow, now_ms: i64) -> Event {
        let rule = domain::rules::catalogue::rule(f.finding.rule);
        let mut facts = BTreeMap::new();
        facts.insert("rule".into(), f.finding.rule.to_string());
        Event {
            namespace: f.namespace.clone(),
            name: f.name.clone(),
            title: format!("{} {}: {}/{}", f.finding.rule, rule.title, f.namespace, f.name),
            text: f.finding.message.clone(),
            path: event::service_path(cluster.primary, &cluster.name, &f.namespace, &f.name),
            facts,
            ..self.base(cluster, "finding.opened", f.finding.severity.into(), now_ms)
        }
    }

    fn at_max(&self, cluster: &ClusterLook, namespace: &str, name: &str, since: i64, now_ms: i64) -> Event {
        let minutes = (now_ms - since) / 60_000;
        Event {
            namespace: namespace.into(),
            name: name.into(),
            title: format!("HPA at its maximum: {namespace}/{name}"),
            text: format!(
                "At its maximum replicas with CPU above its target for {minutes} min: it cannot add pods; raise the maximum or find the load."
            ),
            path: event::service_path(cluster.primary, &cluster.name, namespace, name),
            ..self.base(cluster, "hpa-at-max.opened", Severity::High, now_ms)
        }
    }
}

/// Whether the condition `key` is a finding of a rule judged on recorded history.
fn from_history(key: &str) -> bool {
    key.strip_prefix("finding/")
        .and_then(|rest| rest.split('/').next())
        .and_then(domain::rules::catalogue::RuleId::parse)
        .is_some_and(|id| domain::rules::catalogue::rule(id).from_history)
}

fn resolved_text(key: &str) -> String {
    if key.starts_with("cluster/") {
        "The cluster answers again.".into()
    } else if key.starts_with("hpa-at-max/") {
        "Below its maximum, or CPU back under its target.".into()
    } else {
        "The finding no longer holds.".into()
    }
}

/// A test message for `sink`, asked for by `user` at `now_ms`.
pub fn test_message(sink: &str, user: &str, cluster: &str, now_ms: i64, wall_ms: i64) -> Outgoing {
    let event = Event {
        id: format!("test/{sink}/{wall_ms}"),
        kind: "test.message".into(),
        severity: Severity::Info,
        cluster: cluster.into(),
        namespace: String::new(),
        name: String::new(),
        title: format!("Test message from Paydeck to {sink}"),
        text: format!("Sent by {user} from the notifications page: this sink is set up."),
        at_ms: now_ms,
        resolved: false,
        path: "/settings/notifications".into(),
        facts: BTreeMap::from([("user".to_string(), user.to_string())]),
    };
    Outgoing {
        sink: sink.into(),
        dedupe_key: event.id.clone(),
        cluster: cluster.into(),
        kind: event.kind.clone(),
        body: serde_json::to_string(&event).unwrap_or_default(),
        at_ms: wall_ms,
        due_ms: wall_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::config::parse;

    fn watcher(at_max_minutes: u32) -> Watcher {
        let config = parse(
            &format!(
                "atMaxMinutes: {at_max_minutes}\nsinks:\n  - {{ name: team, type: slack, url: https://x }}"
            ),
            &|_: &std::path::Path| Err("none".into()),
        )
        .unwrap();
        // The batch is made from what is open, given: the store is not asked.
        let pool = sqlx::SqlitePool::connect_lazy("sqlite::memory:").unwrap();
        Watcher::new(Arc::new(config), Arc::new(crate::store::outbox::SqliteOutbox::on(pool)), None, "eu")
    }

    fn look(held: bool, judged: bool, findings: Vec<FindingRow>) -> ClusterLook {
        ClusterLook {
            name: "eu".into(),
            primary: true,
            state: ClusterState::Answering,
            findings,
            history_judged: judged,
            autoscalers: vec![("pay".into(), "api".into(), held)],
        }
    }

    fn opened(batch: &Batch) -> Vec<&str> {
        batch.opened.iter().map(|c| c.key.as_str()).collect()
    }

    #[tokio::test]
    async fn an_hpa_is_told_after_it_was_held_at_its_maximum_for_the_minutes_set() {
        let mut w = watcher(10);
        assert!(w.conditions_batch(&look(true, true, vec![]), &[], 0, 0).is_empty());
        assert!(w.conditions_batch(&look(true, true, vec![]), &[], 9 * 60_000, 0).is_empty());
        let told = w.conditions_batch(&look(true, true, vec![]), &[], 10 * 60_000, 0);
        assert_eq!(opened(&told), ["hpa-at-max/pay/api"]);
        assert_eq!(told.messages.len(), 1);
        assert!(told.messages[0].body.contains("for 10 min"), "{}", told.messages[0].body);
        // Released for a moment: the clock starts again.
        let open = told.opened.clone();
        let released = w.conditions_batch(&look(false, true, vec![]), &open, 11 * 60_000, 0);
        assert_eq!(released.closed, [("eu".to_string(), "hpa-at-max/pay/api".to_string())]);
        assert!(w.conditions_batch(&look(true, true, vec![]), &[], 12 * 60_000, 0).is_empty());
    }

    #[tokio::test]
    async fn what_a_restart_forgot_is_neither_resolved_nor_told_again() {
        let mut before = watcher(10);
        before.conditions_batch(&look(true, true, vec![]), &[], 0, 0);
        let open = before.conditions_batch(&look(true, true, vec![]), &[], 10 * 60_000, 0).opened;
        // A new process: it does not know since when the HPA is held, nor has it judged history.
        let history_rule = domain::rules::catalogue::CATALOGUE.iter().find(|r| r.from_history).unwrap();
        let finding = Condition {
            cluster: "eu".into(),
            key: format!("finding/{}/pay/api", history_rule.code),
            opened_ms: 0,
            body: "{}".into(),
        };
        let open = [open, vec![finding]].concat();
        let mut after = watcher(10);
        let batch = after.conditions_batch(&look(true, false, vec![]), &open, 11 * 60_000, 0);
        assert!(batch.is_empty(), "{batch:?}");
        // Once history is judged and the finding is gone, it is resolved.
        let batch = after.conditions_batch(&look(true, true, vec![]), &open, 12 * 60_000, 0);
        assert_eq!(batch.closed.len(), 1, "{batch:?}");
    }
}
