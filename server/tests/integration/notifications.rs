//! Notifications end to end: a receiver started by the test stands in for each sink and checks
//! what arrives against the sink's documented format and signature; a sink that answers 500
//! or never answers is retried and holds up neither the others nor an edit; and what was not
//! delivered when Paydeck stopped is sent after it starts again, each finding told once.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, extract::State, http::HeaderMap, http::Uri, routing::post};
use base64::Engine as _;
use paydeck::notify::{
    config::{NotifyConfig, parse},
    deliver::{Deliverer, DeliveryMetrics},
    watch::{ClusterLook, Watcher},
};
use serde_json::{Value, json};

use crate::support::{self, StackOptions};

const OPERATOR: (&str, &str) = ("operator", "payments:operators");
const DING_SECRET: &str = "SECding-test-secret";
const FEISHU_SECRET: &str = "feishu-test-secret";

/// One request the receiver took.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    query: String,
    content_type: String,
    body: Value,
    at: Instant,
}

/// A small HTTP server taking every sink's requests: `/fail` answers 500 to its first request,
/// `/hang` never answers, the robots answer as their services do.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    failed_once: Arc<Mutex<bool>>,
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let receiver = Receiver::default();
        let app = Router::new().route("/{*sink}", post(take)).with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, url)
    }

    fn at(&self, path: &str) -> Vec<Received> {
        self.got.lock().unwrap().iter().filter(|r| r.path == path).cloned().collect()
    }

    async fn wait_for(&self, path: &str, count: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.at(path);
            if got.len() >= count {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{path} got {} of {count}: {:#?}",
                got.len(),
                self.got.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn take(
    State(r): State<Receiver>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (axum::http::StatusCode, String) {
    let path = uri.path().to_string();
    if path == "/hang" {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    r.got.lock().unwrap().push(Received {
        path: path.clone(),
        query: uri.query().unwrap_or_default().to_string(),
        content_type: headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().into(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        at: Instant::now(),
    });
    if path == "/fail" {
        let mut failed = r.failed_once.lock().unwrap();
        if !*failed {
            *failed = true;
            return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "down".into());
        }
    }
    let answer = match path.as_str() {
        "/dingtalk" | "/wecom" => r#"{"errcode":0,"errmsg":"ok"}"#,
        "/feishu" => r#"{"code":0,"msg":"success"}"#,
        "/slack" => "ok",
        _ => "",
    };
    (axum::http::StatusCode::OK, answer.into())
}

fn config(url: &str, events: &str, dir: &std::path::Path) -> NotifyConfig {
    std::fs::write(dir.join("ding"), DING_SECRET).unwrap();
    std::fs::write(dir.join("feishu"), FEISHU_SECRET).unwrap();
    let d = dir.display();
    let text = format!(
        r#"
externalUrl: https://paydeck.example.com
groupWaitSeconds: 0
sinks:
  - {{ name: events, type: webhook, url: "{url}/webhook", route: {{ events: [{events}] }} }}
  - {{ name: alerts, type: alertmanager, url: "{url}/alertmanager", route: {{ events: [{events}] }} }}
  - {{ name: slack, type: slack, url: "{url}/slack", route: {{ events: [{events}] }} }}
  - {{ name: ding, type: dingtalk, url: "{url}/dingtalk?access_token=t0k3n", secretFile: {d}/ding, route: {{ events: [{events}] }} }}
  - {{ name: wecom, type: wecom, url: "{url}/wecom", route: {{ events: [{events}] }} }}
  - {{ name: lark, type: feishu, url: "{url}/feishu", secretFile: {d}/feishu, route: {{ events: [{events}] }} }}
  - {{ name: flaky, type: webhook, url: "{url}/fail", route: {{ events: [{events}] }} }}
  - {{ name: stuck, type: webhook, url: "{url}/hang", route: {{ events: [{events}] }} }}
"#
    );
    parse(&text, &|p: &std::path::Path| std::fs::read_to_string(p).map_err(|e| e.to_string())).unwrap()
}

fn hmac_base64(key: &[u8], message: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    base64::engine::general_purpose::STANDARD.encode(ring::hmac::sign(&key, message).as_ref())
}

fn query_value(query: &str, name: &str) -> String {
    query.split('&').find_map(|kv| kv.strip_prefix(&format!("{name}="))).unwrap_or_default().to_string()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applied_change_reaches_every_sink_in_its_format_while_a_failing_and_a_hung_sink_hold_nothing_up()
{
    let (receiver, url) = Receiver::start().await;
    let dir = tempdir("sinks");
    let s = stack_telling(&url, &dir).await;
    // The watcher's first look starts at the audit log's end; the change comes after it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.store.outbox.cursor("audit").await.unwrap().is_none() {
        assert!(Instant::now() < deadline, "the watcher never looked");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let started = Instant::now();
    let answer: Value = scale_fx_rates(&s, 2, "CHG-9 card peak").await.json().await.unwrap();
    assert_eq!(answer["outcome"], "applied", "{answer}");
    let seq = answer["auditSeq"].as_i64().unwrap();

    // CloudEvents 1.0, structured mode.
    let event = &receiver.wait_for("/webhook", 1, Duration::from_secs(15)).await[0];
    assert_eq!(event.content_type, "application/cloudevents+json");
    let b = &event.body;
    assert_eq!(
        (b["specversion"].as_str(), b["type"].as_str(), b["source"].as_str(), b["subject"].as_str()),
        (
            Some("1.0"),
            Some("io.paydeck.change.applied"),
            Some("/paydeck/clusters/default"),
            Some("payments-core/fx-rates")
        ),
        "{b:#}"
    );
    assert_eq!(b["id"], format!("audit/{seq}"));
    assert!(b["time"].as_str().unwrap().ends_with('Z'), "RFC 3339: {b}");
    assert_eq!(b["data"]["facts"]["user"], "operator");
    assert!(b["data"]["text"].as_str().unwrap().contains("CHG-9 card peak"), "{b}");
    assert_eq!(b["data"]["url"], "https://paydeck.example.com/services/payments-core/fx-rates");

    // Alertmanager's webhook payload, version 4.
    let am = &receiver.wait_for("/alertmanager", 1, Duration::from_secs(5)).await[0].body;
    assert_eq!(
        (am["version"].as_str(), am["status"].as_str(), am["receiver"].as_str()),
        (Some("4"), Some("firing"), Some("alerts"))
    );
    let alert = &am["alerts"][0];
    assert_eq!(alert["labels"]["alertname"], "PaydeckChangeApplied", "{am:#}");
    assert_eq!(
        (alert["labels"]["namespace"].as_str(), alert["labels"]["severity"].as_str()),
        (Some("payments-core"), Some("info"))
    );
    assert_eq!(alert["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(am["externalURL"], "https://paydeck.example.com");

    // Slack: a text message; WeCom: markdown.
    let slack = &receiver.wait_for("/slack", 1, Duration::from_secs(5)).await[0].body;
    assert!(
        slack["text"]
            .as_str()
            .unwrap()
            .contains("<https://paydeck.example.com/services/payments-core/fx-rates|"),
        "{slack}"
    );
    let wecom = &receiver.wait_for("/wecom", 1, Duration::from_secs(5)).await[0].body;
    assert_eq!(wecom["msgtype"], "markdown");
    assert!(wecom["markdown"]["content"].as_str().unwrap().contains("fx-rates"), "{wecom}");

    // DingTalk: markdown, signed in the URL: base64(HMAC-SHA256(secret, "timestamp\nsecret")).
    let ding = &receiver.wait_for("/dingtalk", 1, Duration::from_secs(5)).await[0];
    assert_eq!(query_value(&ding.query, "access_token"), "t0k3n");
    let ts = query_value(&ding.query, "timestamp");
    let sign = percent_decode(&query_value(&ding.query, "sign"));
    assert_eq!(sign, hmac_base64(DING_SECRET.as_bytes(), format!("{ts}\n{DING_SECRET}").as_bytes()));
    let ts_ms: i64 = ts.parse().unwrap();
    assert!((ts_ms - paydeck::clock::unix_ms()).abs() < 3_600_000, "within the hour DingTalk allows");
    assert_eq!(ding.body["msgtype"], "markdown");
    assert!(ding.body["markdown"]["title"].as_str().unwrap().contains("applied"), "{}", ding.body);

    // Feishu: signed in the body: base64(HMAC-SHA256(key "timestamp\nsecret", "")), seconds.
    let lark = &receiver.wait_for("/feishu", 1, Duration::from_secs(5)).await[0].body;
    let ts = lark["timestamp"].as_str().unwrap();
    assert_eq!(lark["sign"].as_str().unwrap(), hmac_base64(format!("{ts}\n{FEISHU_SECRET}").as_bytes(), b""));
    assert_eq!(lark["msg_type"], "text");

    // The sink that answered 500 is tried again (after 10 s) and gets it; the hung one is cut
    // off after 10 s and waits its retry; neither delayed the others or the edit.
    let flaky = receiver.wait_for("/fail", 2, Duration::from_secs(30)).await;
    assert!(flaky[1].at.duration_since(flaky[0].at) >= Duration::from_secs(9), "backed off");
    assert!(event.at.duration_since(started) < Duration::from_secs(8), "the others were not held up");
    let status: Value = reqwest::Client::new()
        .get(format!("{}/notifications", s.base))
        .header("X-Forwarded-User", OPERATOR.0)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sink =
        |name: &str| status["sinks"].as_array().unwrap().iter().find(|x| x["name"] == name).unwrap().clone();
    let stuck = sink("stuck");
    assert_eq!(stuck["pending"], 1, "{status:#}");
    assert!(stuck["lastError"].as_str().unwrap().contains("no answer within 10 s"), "{stuck}");
    assert_eq!(
        (sink("events")["delivered"].as_i64(), sink("flaky")["delivered"].as_i64()),
        (Some(1), Some(1)),
        "{status:#}"
    );
    // Shown by host: no URL, token or secret in what anyone can read.
    let shown = status.to_string();
    assert!(
        !shown.contains("t0k3n") && !shown.contains(DING_SECRET) && !shown.contains("/dingtalk"),
        "{shown}"
    );
    assert_eq!(sink("ding")["host"], url.trim_start_matches("http://"));
    // Another edit while `stuck` hangs answers as fast as ever.
    let t = Instant::now();
    let res = scale_fx_rates(&s, 1, "CHG-10 back").await;
    assert_eq!(res.status(), 200);
    assert!(t.elapsed() < Duration::from_secs(3), "an edit took {:?} while a sink hung", t.elapsed());
    let metrics = reqwest::get(format!("http://{}/metrics", s.addr)).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("paydeck_notifications_delivered_total{sink=\"events\"}"), "{metrics}");
    assert!(metrics.contains("paydeck_notification_attempts_failed_total{sink=\"stuck\"}"), "{metrics}");
}

/// A stack telling changes to every kind of sink at `url` (secrets written under `dir`).
async fn stack_telling(url: &str, dir: &std::path::Path) -> support::Stack {
    support::stack(StackOptions { notifications: Some(config(url, "change", dir)), ..Default::default() })
        .await
}

/// Sets fx-rates' replicas as the operator.
async fn scale_fx_rates(s: &support::Stack, replicas: i32, reason: &str) -> reqwest::Response {
    let change =
        json!({ "replicas": replicas, "reason": reason, "resourceVersion": rv(s).await, "dryRun": false });
    reqwest::Client::new()
        .post(format!("{}/workloads/payments-core/fx-rates/scaling", s.base))
        .header("X-Forwarded-User", OPERATOR.0)
        .header("X-Forwarded-Groups", OPERATOR.1)
        .json(&change)
        .send()
        .await
        .unwrap()
}

async fn rv(s: &support::Stack) -> String {
    let api: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(support::admin(&s.server).await, "payments-core");
    api.get("fx-rates").await.unwrap().metadata.resource_version.unwrap()
}

fn tempdir(what: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "paydeck-notify-{what}-{}-{}",
        std::process::id(),
        paydeck::clock::unix_ms()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn finding_look(open: bool) -> ClusterLook {
    let finding =
        domain::rules::RuleFinding::new(domain::rules::catalogue::RuleId::PD101, "no PodDisruptionBudget");
    ClusterLook {
        name: "default".into(),
        primary: true,
        state: domain::fleet::ClusterState::Answering,
        history_judged: true,
        findings: if open {
            vec![domain::rules::report::FindingRow {
                cluster: None,
                namespace: "payments-core".into(),
                name: "ledger".into(),
                critical: true,
                finding,
            }]
        } else {
            vec![]
        },
        autoscalers: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finding_is_told_once_and_what_was_not_delivered_before_a_restart_is_delivered_after_it() {
    let dir = tempdir("restart");
    let db = dir.join("paydeck.db");
    let (store, _) = support::test_store(&db, None).await;
    let (receiver, url) = Receiver::start().await;
    let down = "http://127.0.0.1:9"; // nothing listens on the discard port here
    let file = |to: &str| {
        parse(
            &format!("groupWaitSeconds: 0\nsinks:\n  - {{ name: team, type: slack, url: \"{to}/slack\", route: {{ events: [finding] }} }}"),
            &|_: &std::path::Path| Err("none".into()),
        )
        .unwrap()
    };
    // The first process: the finding opens; the sink is down, so it stays in the outbox.
    {
        let config = Arc::new(file(down));
        let mut watcher = Watcher::new(config.clone(), store.outbox.clone(), None, "default");
        let now = paydeck::clock::unix_ms();
        assert_eq!(watcher.look(&[finding_look(true)], 1_000, now).await.unwrap(), 1);
        // Seen again and again: still one message.
        for _ in 0..3 {
            assert_eq!(watcher.look(&[finding_look(true)], 2_000, now).await.unwrap(), 0);
        }
        let deliverer =
            Arc::new(Deliverer::new(config, store.outbox.clone(), DeliveryMetrics::default()).unwrap());
        for task in deliverer.round(now).await {
            task.await.unwrap();
        }
        let counts = store.outbox.counts().await.unwrap();
        assert_eq!((counts[0].pending, counts[0].delivered), (1, 0), "{counts:?}");
        assert!(!counts[0].last_error.is_empty(), "{counts:?}");
    }
    // The next process, on the same store (the file opened again), with the sink back.
    let store = if support::on_postgres() {
        store
    } else {
        let history = Arc::new(
            paydeck::store::sqlite::History::open_limited(&db, paydeck::history::Retention::default(), None)
                .await
                .unwrap(),
        );
        paydeck::store::Store::sqlite(history).await.unwrap()
    };
    let config = Arc::new(file(&url));
    let deliverer =
        Arc::new(Deliverer::new(config.clone(), store.outbox.clone(), DeliveryMetrics::default()).unwrap());
    let later = paydeck::clock::unix_ms() + 11_000; // past the first retry's delay
    for task in deliverer.round(later).await {
        task.await.unwrap();
    }
    let got = receiver.wait_for("/slack", 1, Duration::from_secs(5)).await;
    assert!(got[0].body["text"].as_str().unwrap().contains("PD101"), "{:?}", got[0].body);
    // The new process's watcher knows the finding is open: not told again; told when resolved.
    let mut watcher = Watcher::new(config, store.outbox.clone(), None, "default");
    assert_eq!(watcher.look(&[finding_look(true)], 3_000, later).await.unwrap(), 0);
    assert_eq!(watcher.look(&[finding_look(false)], 4_000, later).await.unwrap(), 1);
    for task in deliverer.round(later + 1).await {
        task.await.unwrap();
    }
    let got = receiver.wait_for("/slack", 2, Duration::from_secs(5)).await;
    assert!(got[1].body["text"].as_str().unwrap().contains("Resolved: PD101"), "{:?}", got[1].body);
    assert_eq!(receiver.at("/slack").len(), 2, "each told once");
    // An unreachable cluster's findings are not resolved by its empty picture.
    let mut cut = finding_look(false);
    cut.state = domain::fleet::ClusterState::Unreachable;
    assert_eq!(watcher.look(&[cut], 5_000, later).await.unwrap(), 0, "the route takes findings only");
    let open = store.outbox.conditions("default").await.unwrap();
    assert_eq!(open.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(), ["cluster/unreachable"]);
}

#[tokio::test]
async fn a_test_message_needs_a_person_a_sink_and_a_same_site_json_body_and_is_queued_once() {
    let (_receiver, url) = Receiver::start().await;
    let dir = tempdir("test-message");
    let s = stack_telling(&url, &dir).await;
    let client = reqwest::Client::new();
    let send = |user: Option<&'static str>, body: Value| {
        let mut req = client.post(format!("{}/notifications/test", s.base)).json(&body);
        if let Some(user) = user {
            req = req.header("X-Forwarded-User", user);
        }
        req.send()
    };
    let before = s.store.outbox.counts().await.unwrap();
    assert_eq!(send(None, json!({ "sink": "slack" })).await.unwrap().status(), 401);
    let unknown = send(Some("alice"), json!({ "sink": "nope" })).await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(send(Some("alice"), json!({ "sink": "slack", "extra": 1 })).await.unwrap().status(), 422);
    assert_eq!(send(Some("alice"), json!({ "sink": 7 })).await.unwrap().status(), 422);
    // A page on another site posting as the signed-in person, a body past the limit, and one
    // that is not JSON: refused before anything is read.
    let forged = client
        .post(format!("{}/notifications/test", s.base))
        .header("X-Forwarded-User", "alice")
        .header("Sec-Fetch-Site", "cross-site")
        .header("Origin", "https://evil.example")
        .json(&json!({ "sink": "slack" }))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let huge = json!({ "sink": "slack", "pad": "x".repeat(200_000) });
    assert_eq!(send(Some("alice"), huge).await.unwrap().status(), 413);
    let text = client
        .post(format!("{}/notifications/test", s.base))
        .header("X-Forwarded-User", "alice")
        .header("Content-Type", "text/plain")
        .body(r#"{"sink":"slack"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), 415);
    assert_eq!(s.store.outbox.counts().await.unwrap(), before, "nothing queued by a refused request");
    assert_eq!(send(Some("alice"), json!({ "sink": "slack" })).await.unwrap().status(), 202);
    // A flood from many people spends one message of the sink's rate, not one per click.
    for user in ["bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan"] {
        let again = send(Some(user), json!({ "sink": "slack" })).await.unwrap();
        assert_eq!(again.status(), 429, "{user}");
        assert!(again.headers().contains_key("retry-after"));
    }
    let counts = s.store.outbox.counts().await.unwrap();
    let slack = counts.iter().find(|c| c.sink == "slack").unwrap();
    assert_eq!(slack.pending + slack.delivered, 1, "asked nine times at once, queued once: {counts:?}");
    assert_eq!(send(Some("alice"), json!({ "sink": "wecom" })).await.unwrap().status(), 202, "per sink");
}
