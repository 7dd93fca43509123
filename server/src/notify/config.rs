//! The notifications file (`--notifications FILE`): where messages go and which ones. Each
//! sink has a name, a type, a URL (inline, or read from a file — a Slack or DingTalk URL is a
//! secret), a signing secret read from a file where the type signs, a rate, and a route:
//! clusters, namespaces, a minimum severity and the families of events. Every mistake in the
//! file is named at once, before anything starts. URLs and secrets are never shown: a sink
//! is shown by its name, type and host.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::event::{Event, FAMILIES, Severity};

/// Where a sink's messages go, in its receiver's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// A generic JSON webhook: CloudEvents 1.0, structured mode.
    Webhook,
    /// An Alertmanager-compatible webhook receiver.
    Alertmanager,
    Slack,
    Dingtalk,
    Wecom,
    Feishu,
}

impl SinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Webhook => "webhook",
            SinkKind::Alertmanager => "alertmanager",
            SinkKind::Slack => "slack",
            SinkKind::Dingtalk => "dingtalk",
            SinkKind::Wecom => "wecom",
            SinkKind::Feishu => "feishu",
        }
    }

    /// Messages a minute the receiver takes: DingTalk and WeCom robots 20, Feishu's 100, a
    /// Slack webhook about one a second; a receiver of one's own, as many as Paydeck makes.
    pub fn default_per_minute(self) -> u32 {
        match self {
            SinkKind::Dingtalk | SinkKind::Wecom => 20,
            SinkKind::Feishu => 100,
            SinkKind::Slack => 60,
            SinkKind::Webhook | SinkKind::Alertmanager => 600,
        }
    }

    /// Whether the type signs its messages with a secret.
    pub fn signs(self) -> bool {
        matches!(self, SinkKind::Dingtalk | SinkKind::Feishu)
    }
}

/// Which events a sink is sent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Route {
    /// Empty: every cluster.
    pub clusters: Vec<String>,
    /// Empty: every namespace (and the clusters' own events).
    pub namespaces: Vec<String>,
    pub min_severity: Option<Severity>,
    /// Empty: every family.
    pub families: Vec<String>,
}

impl Route {
    /// Whether `event` goes this way. A test message goes to the sink it was sent to.
    pub fn takes(&self, event: &Event) -> bool {
        if event.family() == "test" {
            return true;
        }
        let listed = |list: &[String], value: &str| list.is_empty() || list.iter().any(|v| v == value);
        listed(&self.clusters, &event.cluster)
            && (event.namespace.is_empty() || listed(&self.namespaces, &event.namespace))
            && self.min_severity.is_none_or(|min| event.severity >= min)
            && listed(&self.families, event.family())
    }
}

/// One sink, checked.
#[derive(Clone, PartialEq)]
pub struct Sink {
    pub name: String,
    pub kind: SinkKind,
    /// Secret: never logged or shown ([`Sink::host`] is).
    pub url: String,
    pub secret: Option<String>,
    pub per_minute: u32,
    pub route: Route,
}

impl Sink {
    /// The URL's host, the only part of it shown.
    pub fn host(&self) -> String {
        let rest = self.url.split_once("://").map_or(self.url.as_str(), |(_, r)| r);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        authority.rsplit_once('@').map_or(authority, |(_, h)| h).to_string()
    }
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("host", &self.host())
            .field("signed", &self.secret.is_some())
            .finish()
    }
}

/// The file, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct NotifyConfig {
    pub sinks: Vec<Sink>,
    /// The site's URL as people reach it, for links in messages.
    pub external_url: Option<String>,
    /// How long an HPA is held at its maximum with CPU above its target before it is told.
    pub at_max_minutes: u32,
    /// How long a message waits for others to go with it (a burst is one message).
    pub group_wait_seconds: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileShape {
    #[serde(default)]
    external_url: Option<String>,
    #[serde(default)]
    at_max_minutes: Option<u32>,
    #[serde(default)]
    group_wait_seconds: Option<u32>,
    sinks: Vec<SinkShape>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SinkShape {
    name: String,
    #[serde(rename = "type")]
    kind: SinkKind,
    url: Option<String>,
    url_file: Option<PathBuf>,
    secret_file: Option<PathBuf>,
    per_minute: Option<u32>,
    #[serde(default)]
    route: RouteShape,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RouteShape {
    #[serde(default)]
    clusters: Vec<String>,
    #[serde(default)]
    namespaces: Vec<String>,
    min_severity: Option<Severity>,
    #[serde(default)]
    events: Vec<String>,
}

/// Why the notifications cannot be used: every problem found.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file}: {}", .problems.join("; "))]
pub struct NotifyConfigError {
    pub file: String,
    pub problems: Vec<String>,
}

/// Reads and checks the file at `path`; files it names are read relative to the working
/// directory, as given.
pub fn load(path: &Path) -> Result<NotifyConfig, NotifyConfigError> {
    let fail =
        |problem: String| NotifyConfigError { file: path.display().to_string(), problems: vec![problem] };
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    parse(&text, &|p: &Path| std::fs::read_to_string(p).map_err(|e| e.to_string()))
        .map_err(|problems| NotifyConfigError { file: path.display().to_string(), problems })
}

/// Checks the file's text; `read` reads the files it names.
pub fn parse(
    text: &str,
    read: &dyn Fn(&Path) -> Result<String, String>,
) -> Result<NotifyConfig, Vec<String>> {
    let shape: FileShape =
        serde_saphyr::from_str(text).map_err(|e| vec![format!("not a notifications file: {e}")])?;
    let mut problems = Vec::new();
    let mut sinks: Vec<Sink> = Vec::new();
    for s in shape.sinks {
        let name = s.name.trim().to_string();
        let named = format!("sink {name:?}");
        if crate::fleet::clusters::check_name(&name).is_err() {
            problems.push(format!("{named}: a name is lowercase letters, digits and '-' (at most 63)"));
        }
        if sinks.iter().any(|k| k.name == name) {
            problems.push(format!("{named} is named twice"));
        }
        let url = match (s.url, s.url_file) {
            (Some(url), None) => Some(url.trim().to_string()),
            (None, Some(file)) => match read(&file) {
                Ok(url) => Some(url.trim().to_string()),
                Err(e) => {
                    problems.push(format!("{named}: cannot read urlFile {}: {e}", file.display()));
                    None
                }
            },
            (Some(_), Some(_)) => {
                problems.push(format!("{named}: give url or urlFile, not both"));
                None
            }
            (None, None) => {
                problems.push(format!("{named}: url (or urlFile) is required"));
                None
            }
        };
        if let Some(url) = &url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            // The URL itself is not repeated: it may carry a token.
            problems.push(format!("{named}: the URL must start with https:// or http://"));
        }
        let secret = match s.secret_file {
            Some(_) if !s.kind.signs() => {
                problems.push(format!("{named}: a {} sink does not sign; drop secretFile", s.kind.as_str()));
                None
            }
            Some(file) => match read(&file) {
                Ok(secret) if secret.trim().is_empty() => {
                    problems.push(format!("{named}: secretFile {} is empty", file.display()));
                    None
                }
                Ok(secret) => Some(secret.trim().to_string()),
                Err(e) => {
                    problems.push(format!("{named}: cannot read secretFile {}: {e}", file.display()));
                    None
                }
            },
            None => None,
        };
        let per_minute = s.per_minute.unwrap_or_else(|| s.kind.default_per_minute());
        if !(1..=6_000).contains(&per_minute) {
            problems.push(format!("{named}: perMinute must be 1 to 6000, got {per_minute}"));
        }
        for family in &s.route.events {
            if !FAMILIES.contains(&family.as_str()) || family == "test" {
                problems.push(format!(
                    "{named}: route.events: {family:?} is not one of {}",
                    FAMILIES[..FAMILIES.len() - 1].join(", ")
                ));
            }
        }
        for cluster in &s.route.clusters {
            if crate::fleet::clusters::check_name(cluster).is_err() {
                problems.push(format!("{named}: route.clusters: {cluster:?} is not a cluster name"));
            }
        }
        sinks.push(Sink {
            name,
            kind: s.kind,
            url: url.unwrap_or_default(),
            secret,
            per_minute,
            route: Route {
                clusters: s.route.clusters,
                namespaces: s.route.namespaces,
                min_severity: s.route.min_severity,
                families: s.route.events,
            },
        });
    }
    if sinks.is_empty() {
        problems.push("no sinks: list at least one under sinks".into());
    }
    let external_url = shape.external_url.map(|u| u.trim().trim_end_matches('/').to_string());
    if let Some(u) = &external_url
        && !(u.starts_with("https://") || u.starts_with("http://"))
    {
        problems.push(format!("externalUrl must start with https:// or http://, got {u:?}"));
    }
    let at_max_minutes = shape.at_max_minutes.unwrap_or(10);
    if !(1..=1_440).contains(&at_max_minutes) {
        problems.push(format!("atMaxMinutes must be 1 to 1440, got {at_max_minutes}"));
    }
    let group_wait_seconds = shape.group_wait_seconds.unwrap_or(10);
    if group_wait_seconds > 600 {
        problems.push(format!("groupWaitSeconds must be 0 to 600, got {group_wait_seconds}"));
    }
    if problems.is_empty() {
        Ok(NotifyConfig { sinks, external_url, at_max_minutes, group_wait_seconds })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(p: &Path) -> Result<String, String> {
        match p.to_str() {
            Some("/run/slack-url") => Ok("https://hooks.slack.com/services/T0/B0/XYZ\n".into()),
            Some("/run/ding-secret") => Ok("SECabc\n".into()),
            _ => Err("No such file or directory".into()),
        }
    }

    #[test]
    fn a_file_of_sinks_with_routes() {
        let c = parse(
            r#"
externalUrl: https://paydeck.example.com/
sinks:
  - name: oncall
    type: dingtalk
    url: https://oapi.dingtalk.com/robot/send?access_token=t
    secretFile: /run/ding-secret
    route: { minSeverity: high, events: [finding, hpa-at-max, cluster], clusters: [eu-prod] }
  - name: changes
    type: slack
    urlFile: /run/slack-url
    route: { events: [change, plan], namespaces: [payments] }
"#,
            &files,
        )
        .unwrap();
        assert_eq!(c.external_url.as_deref(), Some("https://paydeck.example.com"));
        assert_eq!((c.at_max_minutes, c.group_wait_seconds), (10, 10));
        let ding = &c.sinks[0];
        assert_eq!((ding.per_minute, ding.secret.as_deref()), (20, Some("SECabc")));
        assert_eq!(c.sinks[1].url, "https://hooks.slack.com/services/T0/B0/XYZ");
        let shown = format!("{:?}", c.sinks);
        assert!(
            !shown.contains("XYZ") && !shown.contains("access_token") && !shown.contains("SECabc"),
            "{shown}"
        );
        assert!(shown.contains("hooks.slack.com"), "{shown}");
    }

    #[test]
    fn every_mistake_is_named_at_once_and_no_secret_is_repeated() {
        let problems = parse(
            r#"
atMaxMinutes: 0
sinks:
  - { name: Bad_Name, type: slack, url: "ftp://x/secret-token" }
  - { name: a, type: wecom, url: "https://x", secretFile: /run/ding-secret }
  - { name: a, type: feishu, urlFile: /run/missing, perMinute: 0, route: { events: [findings] } }
"#,
            &files,
        )
        .unwrap_err();
        let all = problems.join("\n");
        for expected in [
            "sink \"Bad_Name\": a name is lowercase",
            "must start with https://",
            "a wecom sink does not sign",
            "sink \"a\" is named twice",
            "cannot read urlFile /run/missing",
            "perMinute must be 1 to 6000",
            "\"findings\" is not one of finding, hpa-at-max, cluster, change, plan",
            "atMaxMinutes must be 1 to 1440",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
        }
        assert!(!all.contains("secret-token"), "{all}");
        assert!(parse("sinks: []", &files).unwrap_err()[0].contains("no sinks"));
        assert!(parse("sinks:\n  - { name: a, type: telegram, url: https://x }", &files).is_err());
    }

    #[test]
    fn a_route_takes_its_clusters_namespaces_severities_and_families() {
        let route = Route {
            clusters: vec!["eu-prod".into()],
            namespaces: vec!["payments".into()],
            min_severity: Some(Severity::High),
            families: vec!["finding".into(), "cluster".into()],
        };
        let event = |kind: &str, cluster: &str, namespace: &str, severity| Event {
            id: "x".into(),
            kind: kind.into(),
            severity,
            cluster: cluster.into(),
            namespace: namespace.into(),
            name: if namespace.is_empty() { String::new() } else { "api".into() },
            title: String::new(),
            text: String::new(),
            at_ms: 0,
            resolved: false,
            path: String::new(),
            facts: Default::default(),
        };
        assert!(route.takes(&event("finding.opened", "eu-prod", "payments", Severity::High)));
        assert!(route.takes(&event("cluster.unreachable", "eu-prod", "", Severity::Critical)));
        assert!(!route.takes(&event("finding.opened", "eu-prod", "payments", Severity::Medium)));
        assert!(!route.takes(&event("finding.opened", "us-prod", "payments", Severity::High)));
        assert!(!route.takes(&event("finding.opened", "eu-prod", "batch", Severity::High)));
        assert!(!route.takes(&event("change.applied", "eu-prod", "payments", Severity::Critical)));
        assert!(route.takes(&event("test.message", "other", "", Severity::Info)));
    }
}
