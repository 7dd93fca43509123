//! Every page, rendered on the server by the Paydeck binary itself (its own runtime and
//! threads) on the simulated cluster with data in it: the whole document arrives and the
//! process lives on. A page whose view tree outgrows a worker thread's stack aborts the
//! process in an unoptimised build (a plain `cargo test`; `make test` runs the optimised one);
//! the in-process HTTP tests would not see it.

use std::time::Duration;

use crate::support;

/// The pages, each with what its server-rendered HTML must hold.
const PAGES: [(&str, &[&str]); 6] = [
    ("/", &["<h1>Overview</h1>"]),
    ("/services", &["<h1>Services</h1>", "href=\"/services/payments-core/ledger\""]),
    ("/services/payments-core/ledger", &["<h1>ledger</h1>"]),
    ("/advisor", &["<h1>Advisor</h1>"]),
    ("/planner", &["<h1>Capacity planner</h1>"]),
    ("/audit", &["<h1>Audit</h1>"]),
];

#[tokio::test]
async fn every_page_renders_whole_from_the_binary_on_a_cluster_with_data() {
    let dir = std::env::temp_dir().join(format!("paydeck-pages-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = support::paydeck_on_builtin_sim(&dir, "error");
    let url = support::served_at(&mut child).await;
    support::wait_ready(&url, Duration::from_secs(30), "starting on the simulator").await;

    let http = reqwest::Client::new();
    let mut failures = Vec::new();
    for (path, markers) in PAGES {
        match http.get(format!("{url}{path}")).send().await {
            Ok(res) if res.status() == 200 => match res.text().await {
                Ok(html) => {
                    let missing: Vec<_> =
                        markers.iter().chain(&["</html>"]).filter(|m| !html.contains(**m)).collect();
                    if !missing.is_empty() {
                        failures.push(format!("{path}: lacks {missing:?} ({} bytes)", html.len()));
                    }
                }
                Err(e) => failures.push(format!("{path}: the body broke off: {e}")),
            },
            Ok(res) => failures.push(format!("{path}: status {}", res.status())),
            Err(e) => failures.push(format!("{path}: no answer: {e}")),
        }
    }
    let exited = child.try_wait().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(exited, None, "Paydeck exited while rendering pages; {failures:?}");
    assert!(failures.is_empty(), "{failures:#?}");
}
