//! Each sink's request, as its receiver documents it: a CloudEvents 1.0 event in structured
//! mode, an Alertmanager webhook payload (version 4), a Slack incoming webhook message, and the
//! DingTalk, WeCom and Feishu/Lark robots' markdown or text messages — DingTalk's and Feishu's
//! signed with HMAC-SHA256 of `timestamp\nsecret`. And how each says it took the message: a
//! 2xx, and for the robots an `errcode`/`code` of 0 in the answer (they answer 200 to refusals).
//!
//! Several events due for one sink at once go in one request where the format allows
//! (grouping a burst); CloudEvents' structured mode is one event per request.

use base64::Engine as _;
use serde_json::{Value, json};

use super::{
    config::{Sink, SinkKind},
    event::Event,
};

/// One HTTP request to a sink, and the events it carries.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub url: String,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// Indexes into the events given.
    pub carries: Vec<usize>,
}

/// The most events one grouped message lists; the rest wait for the next request.
pub const GROUP_LIMIT: usize = 20;

/// The requests that deliver `events` to `sink`, at `now_ms` (the wall clock: signatures are
/// checked against the receiver's).
pub fn requests(sink: &Sink, events: &[Event], external_url: Option<&str>, now_ms: i64) -> Vec<Request> {
    if events.is_empty() {
        return vec![];
    }
    let link = |e: &Event| external_url.map(|root| format!("{}{}", root.trim_end_matches('/'), e.path));
    let grouped = |body: Value, url: String, content_type| Request {
        url,
        content_type,
        body: serde_json::to_vec(&body).unwrap_or_default(),
        carries: (0..events.len().min(GROUP_LIMIT)).collect(),
    };
    let some = &events[..events.len().min(GROUP_LIMIT)];
    match sink.kind {
        SinkKind::Webhook => events
            .iter()
            .enumerate()
            .map(|(i, e)| Request {
                url: sink.url.clone(),
                content_type: "application/cloudevents+json",
                body: serde_json::to_vec(&cloud_event(e, link(e))).unwrap_or_default(),
                carries: vec![i],
            })
            .collect(),
        SinkKind::Alertmanager => {
            vec![grouped(
                alertmanager(&sink.name, some, external_url, link),
                sink.url.clone(),
                "application/json",
            )]
        }
        SinkKind::Slack => {
            vec![grouped(
                json!({ "text": markdown(some, link, Flavour::Slack) }),
                sink.url.clone(),
                "application/json",
            )]
        }
        SinkKind::Wecom => vec![grouped(
            json!({ "msgtype": "markdown", "markdown": { "content": markdown(some, link, Flavour::Plain) } }),
            sink.url.clone(),
            "application/json",
        )],
        SinkKind::Dingtalk => {
            let text = markdown(some, link, Flavour::Plain);
            let body =
                json!({ "msgtype": "markdown", "markdown": { "title": headline(some), "text": text } });
            let url = match &sink.secret {
                Some(secret) => {
                    let sign = percent_encode(&dingtalk_sign(secret, now_ms));
                    let join = if sink.url.contains('?') { '&' } else { '?' };
                    format!("{}{join}timestamp={now_ms}&sign={sign}", sink.url)
                }
                None => sink.url.clone(),
            };
            vec![grouped(body, url, "application/json")]
        }
        SinkKind::Feishu => {
            let mut body =
                json!({ "msg_type": "text", "content": { "text": markdown(some, link, Flavour::Text) } });
            if let Some(secret) = &sink.secret {
                let seconds = now_ms.div_euclid(1000);
                body["timestamp"] = json!(seconds.to_string());
                body["sign"] = json!(feishu_sign(secret, seconds));
            }
            vec![grouped(body, sink.url.clone(), "application/json")]
        }
    }
}

/// Whether the receiver took the message, from its answer: `Err` says why not.
pub fn accepted(kind: SinkKind, status: u16, body: &[u8]) -> Result<(), String> {
    let snippet = || String::from_utf8_lossy(&body[..body.len().min(200)]).trim().to_string();
    if !(200..300).contains(&status) {
        return Err(format!("answered {status}: {}", snippet()));
    }
    let code_field = match kind {
        SinkKind::Dingtalk | SinkKind::Wecom => "errcode",
        SinkKind::Feishu => "code",
        _ => return Ok(()),
    };
    let answer: Value =
        serde_json::from_slice(body).map_err(|_| format!("answered 200 without JSON: {}", snippet()))?;
    // Feishu's older answers carry `StatusCode` instead.
    let code = answer.get(code_field).or_else(|| answer.get("StatusCode")).and_then(Value::as_i64);
    match code {
        Some(0) => Ok(()),
        Some(code) => Err(format!("refused with {code_field} {code}: {}", snippet())),
        None => Err(format!("answered 200 without {code_field}: {}", snippet())),
    }
}

/// DingTalk's signature: HMAC-SHA256 keyed by the secret over `timestamp\nsecret` (ms), in
/// base64 (the caller URL-encodes it).
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

/// Feishu's signature: HMAC-SHA256 keyed by `timestamp\nsecret` (seconds) over nothing, in
/// base64.
pub fn feishu_sign(secret: &str, timestamp_s: i64) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, format!("{timestamp_s}\n{secret}").as_bytes());
    let tag = ring::hmac::sign(&key, b"");
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| String::new(), |t| t.to_string())
}

/// A CloudEvents 1.0 event, structured mode: the attributes and `data` in one JSON object.
fn cloud_event(e: &Event, link: Option<String>) -> Value {
    json!({
        "specversion": "1.0",
        "id": e.id,
        "source": format!("/paydeck/clusters/{}", e.cluster),
        "type": format!("io.paydeck.{}", e.kind),
        "subject": if e.name.is_empty() { e.cluster.clone() } else { format!("{}/{}", e.namespace, e.name) },
        "time": rfc3339(e.at_ms),
        "datacontenttype": "application/json",
        "data": {
            "severity": e.severity.as_str(),
            "cluster": e.cluster,
            "namespace": e.namespace,
            "name": e.name,
            "title": e.title,
            "text": e.text,
            "resolved": e.resolved,
            "facts": e.facts,
            "url": link,
        },
    })
}

/// Alertmanager's webhook payload (`version: "4"`): each event an alert, firing or resolved,
/// its labels what a receiver routes and groups by.
fn alertmanager(
    receiver: &str,
    events: &[Event],
    external_url: Option<&str>,
    link: impl Fn(&Event) -> Option<String>,
) -> Value {
    let alerts: Vec<Value> = events
        .iter()
        .map(|e| {
            let mut labels = serde_json::Map::new();
            labels.insert("alertname".into(), json!(alert_name(e)));
            labels.insert("severity".into(), json!(e.severity.as_str()));
            labels.insert("cluster".into(), json!(e.cluster));
            if !e.namespace.is_empty() {
                labels.insert("namespace".into(), json!(e.namespace));
                labels.insert("workload".into(), json!(e.name));
            }
            if let Some(rule) = e.facts.get("rule") {
                labels.insert("rule".into(), json!(rule));
            }
            json!({
                "status": if e.resolved { "resolved" } else { "firing" },
                "labels": labels,
                "annotations": { "summary": e.title, "description": e.text },
                "startsAt": rfc3339(e.facts.get("openedMs").and_then(|m| m.parse().ok()).unwrap_or(e.at_ms)),
                "endsAt": if e.resolved { rfc3339(e.at_ms) } else { "0001-01-01T00:00:00Z".to_string() },
                "generatorURL": link(e).unwrap_or_default(),
                "fingerprint": fingerprint(&e.id),
            })
        })
        .collect();
    let status = if events.iter().all(|e| e.resolved) { "resolved" } else { "firing" };
    // A label is common when every alert has the same value.
    let common = |value: &dyn Fn(&Event) -> String| -> Option<String> {
        let first = value(&events[0]);
        events.iter().all(|e| value(e) == first).then_some(first).filter(|v| !v.is_empty())
    };
    let mut common_labels = serde_json::Map::new();
    if let Some(c) = common(&|e| e.cluster.clone()) {
        common_labels.insert("cluster".into(), json!(c));
    }
    if let Some(s) = common(&|e| e.severity.as_str().to_string()) {
        common_labels.insert("severity".into(), json!(s));
    }
    json!({
        "version": "4",
        "groupKey": format!("{{}}:{{receiver=\"{receiver}\"}}"),
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": {},
        "commonLabels": common_labels,
        "commonAnnotations": {},
        "externalURL": external_url.unwrap_or_default(),
        "alerts": alerts,
    })
}

/// `PaydeckFindingOpened`-style names from the kind: `PaydeckFinding`, `PaydeckChangeApplied`.
fn alert_name(e: &Event) -> String {
    let kind = if e.resolved { e.family().to_string() } else { e.kind.clone() };
    let words: String = kind
        .split(['.', '-'])
        .map(|w| {
            let mut c = w.chars();
            c.next().map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
        })
        .collect();
    format!("Paydeck{words}")
}

/// A short stable hex fingerprint of an event's condition (the id without `/resolved`), so the
/// firing and resolved alerts match.
fn fingerprint(id: &str) -> String {
    let id = id.strip_suffix("/resolved").unwrap_or(id);
    let digest = ring::digest::digest(&ring::digest::SHA256, id.as_bytes());
    digest.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// How a chat's markdown marks a link and bold text.
#[derive(Clone, Copy, PartialEq)]
enum Flavour {
    /// Slack's mrkdwn: `*bold*`, `<url|text>`.
    Slack,
    /// DingTalk's and WeCom's markdown: `**bold**`, `[text](url)`.
    Plain,
    /// No markup at all (Feishu's text message).
    Text,
}

fn headline(events: &[Event]) -> String {
    match events {
        [one] => one.title.clone(),
        many => format!("Paydeck: {} events", many.len()),
    }
}

/// The events as one chat message: a headline, then each event's title (linked when the
/// site's URL is known), subject and text.
fn markdown(events: &[Event], link: impl Fn(&Event) -> Option<String>, flavour: Flavour) -> String {
    let mut lines = Vec::new();
    if events.len() > 1 {
        lines.push(match flavour {
            Flavour::Slack => format!("*{}*", headline(events)),
            Flavour::Plain => format!("### {}", headline(events)),
            Flavour::Text => headline(events),
        });
    }
    for e in events {
        let severity = e.severity.as_str().to_uppercase();
        let title = match (flavour, link(e)) {
            (Flavour::Slack, Some(url)) => format!("*[{severity}]* <{url}|{}>", e.title),
            (Flavour::Slack, None) => format!("*[{severity}]* {}", e.title),
            (Flavour::Plain, Some(url)) => format!("**[{severity}]** [{}]({url})", e.title),
            (Flavour::Plain, None) => format!("**[{severity}]** {}", e.title),
            (Flavour::Text, Some(url)) => format!("[{severity}] {} {url}", e.title),
            (Flavour::Text, None) => format!("[{severity}] {}", e.title),
        };
        lines.push(title);
        lines.push(format!("{} · {}", e.subject(), rfc3339(e.at_ms)));
        if !e.text.is_empty() {
            lines.push(e.text.clone());
        }
        if flavour == Flavour::Plain {
            lines.push(String::new());
        }
    }
    lines.join("\n").trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_robots_documented_examples() {
        // Computed independently: `printf '1700000000000\nSECabc' | openssl dgst -sha256 -hmac SECabc -binary | base64`.
        assert_eq!(
            dingtalk_sign("SECabc", 1_700_000_000_000),
            "jcUpW0QmtKduN03n4JqQ0PBosVjqnM8gU7fIIvsDmCM="
        );
        // `printf '' | openssl dgst -sha256 -hmac $'1700000000\nsecret' -binary | base64`.
        assert_eq!(feishu_sign("secret", 1_700_000_000), "fiWS2+gh28DOydAv7hzONH/mDn9+b1Y4Y5ivXWXy8vA=");
        assert_eq!(percent_encode("a+b/c="), "a%2Bb%2Fc%3D");
    }

    #[test]
    fn robots_that_answer_200_to_a_refusal_are_read_by_their_code() {
        assert!(accepted(SinkKind::Dingtalk, 200, br#"{"errcode":0,"errmsg":"ok"}"#).is_ok());
        let refused = accepted(SinkKind::Dingtalk, 200, br#"{"errcode":130101,"errmsg":"send too fast"}"#);
        assert!(refused.unwrap_err().contains("130101"));
        assert!(accepted(SinkKind::Feishu, 200, br#"{"code":19021,"msg":"sign match fail"}"#).is_err());
        assert!(accepted(SinkKind::Feishu, 200, br#"{"StatusCode":0}"#).is_ok());
        assert!(accepted(SinkKind::Slack, 200, b"ok").is_ok());
        assert!(accepted(SinkKind::Webhook, 503, b"down").unwrap_err().contains("503"));
    }
}
