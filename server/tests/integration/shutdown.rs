//! SIGTERM, as Kubernetes sends it before killing a pod: Paydeck stops promptly even with a
//! browser tab holding the live feed open, and writes a last history sample before it exits.

use std::time::{Duration, Instant};

use futures::StreamExt;
use sqlx::Row;

use crate::support;

#[tokio::test]
async fn sigterm_ends_live_feeds_and_flushes_history() {
    let dir = std::env::temp_dir().join(format!("paydeck-shutdown-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("history.db");
    // Sampling once an hour: nothing is sampled after start but what shutdown writes.
    let mut child = support::paydeck_on_builtin_sim(&dir, "warn");
    let url = support::served_at(&mut child).await;

    support::wait_ready(&url, Duration::from_secs(30), "starting on the simulator").await;
    let http = reqwest::Client::new();
    // A tab's live feed, open across the shutdown.
    let mut feed = http.get(format!("{url}/api/v1/live")).send().await.unwrap().bytes_stream();
    assert!(feed.next().await.is_some(), "the feed started");

    // The samples so far (the database read beside the running server, as WAL allows):
    // Paydeck's clock is the simulated one, so a time would not tell them from the last one.
    let samples = |db: std::path::PathBuf| async move {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", db.display())).await.unwrap();
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM samples").fetch_one(&pool).await.unwrap().get(0);
        pool.close().await;
        n
    };
    let before = samples(db.clone()).await;
    let stopped_at = Instant::now();
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(stopped_at.elapsed() < Duration::from_secs(15), "still running 15 s after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exited with {status}");
    // The feed ended with the server instead of holding it up.
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_secs(5), feed.next()).await {}

    let written = samples(db.clone()).await - before;
    assert_eq!(written, 9, "a last sample of every workload, taken at shutdown");
    let _ = std::fs::remove_dir_all(&dir);
}
