//! The HTTP surface of a real server on a loopback port: pages, probes, server functions and
//! the headers every response must carry.

use std::time::Duration;

use paydeck::{
    assembly::{Identity, Parts, assemble},
    cluster::ClusterView,
    http::{ServerState, router},
    site,
};
use reqwest::{StatusCode, header};

/// Starts a server on a free port and returns its base URL.
async fn start() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let options = site::leptos_options(std::path::Path::new("target/site"), addr);
    let app = router(ServerState::new(options, Duration::from_secs(10), ClusterView::disconnected()));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

#[tokio::test]
async fn probes_answer() {
    let base = start().await;
    let health = client().get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.text().await.unwrap(), "ok\n");

    let ready = client().get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body, serde_json::json!({ "ready": true, "waitingFor": [] }));
}

#[tokio::test]
async fn pages_carry_a_nonce_csp_that_their_scripts_use() {
    let base = start().await;
    let res = client().get(format!("{base}/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let headers = res.headers().clone();
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_string();
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");

    let nonce = csp.split("'nonce-").nth(1).and_then(|s| s.split('\'').next()).expect("a nonce in the CSP");
    let html = res.text().await.unwrap();
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "scripts carry the header's nonce");
    assert!(html.contains("<h1>Overview</h1>"), "the page is rendered on the server");
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "no external URL");

    let second = client().get(format!("{base}/")).send().await.unwrap();
    let second_csp = second.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_string();
    assert_ne!(csp, second_csp, "each page gets its own nonce");
}

#[tokio::test]
async fn other_responses_get_the_strictest_policy() {
    let base = start().await;
    let res = client().get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(res.headers()[header::CONTENT_SECURITY_POLICY], paydeck::http::security::NON_PAGE_CSP);
}

#[tokio::test]
async fn pages_are_compressed_when_the_client_accepts_it() {
    let base = start().await;
    for encoding in ["br", "gzip"] {
        let res =
            client().get(format!("{base}/")).header(header::ACCEPT_ENCODING, encoding).send().await.unwrap();
        assert_eq!(res.headers()[header::CONTENT_ENCODING], encoding);
    }
}

#[tokio::test]
async fn an_unknown_path_is_a_404_page() {
    let base = start().await;
    let res = client().get(format!("{base}/no-such-page")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("Page not found"));
}

/// Found by the API fuzzer: another method on an API path answered 405 with an empty body.
#[tokio::test]
async fn a_wrong_method_or_path_on_the_api_gets_a_json_error() {
    let base = start().await;
    let wrong = client().delete(format!("{base}/api/v1/audit")).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.headers()[header::ALLOW], "GET, HEAD");
    let body: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(body["error"]["message"], "/api/v1/audit takes GET, HEAD only");

    let get_on_post = client().get(format!("{base}/api/v1/workloads/a/b/scaling")).send().await.unwrap();
    assert_eq!(get_on_post.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(get_on_post.headers()[header::ALLOW], "POST");

    let unknown = client().post(format!("{base}/api/v2/anything")).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(body["error"]["message"], "no such API endpoint");
}

/// Serves with the peer address known (as `paydeck` does) and the given proxy trust.
async fn start_trusting(proxies: &str, read_only: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let options = site::leptos_options(std::path::Path::new("target/site"), addr);
    let trust = paydeck::identity::ProxyTrust {
        proxies: paydeck::identity::parse_proxies(proxies).unwrap(),
        ..paydeck::identity::ProxyTrust::none()
    };
    let state = assemble(Parts {
        identity: Identity { trust, read_only, ..Identity::default() },
        ..Parts::new(options, Duration::from_secs(10), ClusterView::disconnected())
    })
    .await
    .unwrap();
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn the_user_is_believed_only_from_a_trusted_proxy() {
    let whoami = async |base: &str| -> serde_json::Value {
        client()
            .get(format!("{base}/api/v1/whoami"))
            .header("X-Forwarded-User", "ana")
            .header("X-Forwarded-Groups", "sre,payments:operators")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    };
    let trusted = whoami(&start_trusting("127.0.0.1", false).await).await;
    assert_eq!(
        trusted,
        serde_json::json!({ "user": "ana", "groups": ["sre", "payments:operators"], "refused": null, "readOnly": false, "demoUsers": [] })
    );
    let untrusted = whoami(&start_trusting("10.0.0.0/8", true).await).await;
    assert_eq!(
        untrusted,
        serde_json::json!({ "user": null, "groups": [], "refused": null, "readOnly": true, "demoUsers": [] })
    );
}

#[tokio::test]
async fn without_an_identity_only_probes_metrics_and_static_files_answer_when_required() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let options = site::leptos_options(std::path::Path::new("target/site"), addr);
    let state = assemble(Parts {
        identity: Identity { require_identity: true, ..Identity::default() },
        ..Parts::new(options, Duration::from_secs(10), ClusterView::disconnected())
    })
    .await
    .unwrap();
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    let base = format!("http://{addr}");
    for (path, status) in [
        ("/", 401),
        ("/services", 401),
        ("/fleet", 401),
        ("/api/v1/overview", 401),
        ("/api/v1/clusters", 401),
        ("/api/v1/clusters/default", 401),
        ("/healthz", 200),
        ("/readyz", 200),
    ] {
        assert_eq!(
            client().get(format!("{base}{path}")).send().await.unwrap().status().as_u16(),
            status,
            "{path}"
        );
    }
}

#[test]
fn logs_can_be_json_lines_for_a_log_pipeline() {
    let dir = std::env::temp_dir().join(format!("paydeck-jsonlog-{}", std::process::id()));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_paydeck"))
        .args([
            "--log-format",
            "json",
            "--listen",
            "127.0.0.1:0",
            "--kubeconfig",
            "/nonexistent/kubeconfig",
            "--db",
        ])
        .arg(dir.join("paydeck.db"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "a missing kubeconfig stops Paydeck");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Log lines are JSON objects (a warning about an unbuilt site may come first); the last
    // line is the process's own error message.
    let entries: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let entry =
        entries.iter().find(|e| e["level"] == "ERROR").unwrap_or_else(|| panic!("no ERROR line in {stderr}"));
    assert!(entry["fields"]["message"].as_str().unwrap().contains("/nonexistent/kubeconfig"), "{entry}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// What a request brings into a log line (a namespace from the URL, decoded) cannot start a
/// line of its own: a `%0A` that forged an `audit head` line is written as `\n`.
#[tokio::test]
async fn a_newline_from_a_request_cannot_forge_a_log_line() {
    use std::io::Read;
    let dir = std::env::temp_dir().join(format!("paydeck-forged-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = crate::support::paydeck_on_builtin_sim_command(&dir, "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let url = crate::support::served_at(&mut child).await;
    crate::support::wait_ready(&url, std::time::Duration::from_secs(30), "starting on the simulator").await;
    let forged = "pay%0A2026-11-26T09%3A00%3A00Z%20INFO%20FORGED%20audit%20head%20audit_seq%3D999";
    let res = client()
        .post(format!("{url}/api/v1/workloads/{forged}/ledger/scaling"))
        .header("X-Forwarded-User", "operator")
        .header("X-Forwarded-Groups", "payments:operators")
        .json(&serde_json::json!({ "replicas": 2, "reason": "x", "generation": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "no such Deployment");
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    child.wait().unwrap();
    let carrying: Vec<&str> = stderr.lines().filter(|l| l.contains("FORGED")).collect();
    assert!(!carrying.is_empty(), "the namespace was logged:\n{stderr}");
    for line in &carrying {
        assert!(!line.starts_with("2026-11-26T09:00:00Z INFO FORGED"), "a forged line: {line}");
        assert!(line.contains("pay\\n2026-11-26T09:00:00Z INFO FORGED"), "escaped in place: {line}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
