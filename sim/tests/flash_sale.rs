//! Through a flash sale with a clock the test moves: the HPA scales payment-api up within
//! the default rate limits and back down only after the stabilisation window.

use std::time::Duration;

use sim::{
    Cluster, Options,
    resources::{DEPLOYMENTS, NODES, PODS},
};

const MIDNIGHT: u64 = 1_764_201_600_000; // 2025-11-27T00:00:00Z
const MIN: u64 = 60_000;

fn replicas(cluster: &Cluster, name: &str) -> i32 {
    cluster.lock().store.get(&DEPLOYMENTS, "payments-core", name).unwrap()["spec"]["replicas"]
        .as_i64()
        .unwrap() as i32
}

#[test]
fn the_hpa_rides_the_flash_sale_up_and_waits_before_coming_down() {
    let start = MIDNIGHT + 17 * 60 * MIN + 40 * MIN; // 17:40, twenty minutes before the sale
    let cluster = Cluster::new(&Options { speed: None, start: Some(start), ..Options::default() });

    let mut samples: Vec<(u64, i32)> = vec![(start, replicas(&cluster, "payment-api"))];
    let end = MIDNIGHT + 19 * 60 * MIN + 30 * MIN; // 19:30
    while cluster.now() < end {
        cluster.advance(Duration::from_secs(15));
        samples.push((cluster.now(), replicas(&cluster, "payment-api")));
    }

    let sale_start = MIDNIGHT + 18 * 60 * MIN;
    let sale_full_end = sale_start + 30 * MIN;
    let before = samples.iter().filter(|(t, _)| *t < sale_start).map(|(_, r)| *r).max().unwrap();
    let peak = samples.iter().map(|(_, r)| *r).max().unwrap();
    assert!(peak >= 2 * before, "scaled up for the sale: {before} before, {peak} at the peak");
    assert!(peak <= 24, "never above maxReplicas");

    for pair in samples.windows(2) {
        let ((_, a), (_, b)) = (pair[0], pair[1]);
        assert!(b <= (2 * a).max(a + 4), "a 15 s step from {a} to {b} breaks the default scale-up policy");
    }

    let peak_at = samples.iter().find(|(_, r)| *r == peak).unwrap().0;
    let first_drop = samples
        .windows(2)
        .find(|w| w[0].0 >= peak_at && w[1].1 < w[0].1)
        .map(|w| w[1].0)
        .expect("scaled down after the sale");
    assert!(
        first_drop >= sale_full_end + 5 * MIN,
        "the first scale-down came {} s after the sale's full load ended; the window is 300 s",
        (first_drop - sale_full_end) / 1000
    );
    let last = samples.last().unwrap().1;
    assert!(last < peak, "back down after the sale: {last} < {peak}");
}

/// Nodes before, nodes and Pending pods three minutes after `notifications` (2 cores a pod)
/// is scaled to 40 replicas, more than the demo's four nodes hold.
fn scaled_past_the_nodes(cluster_autoscaler: bool) -> (usize, usize, usize) {
    let cluster = Cluster::new(&Options {
        speed: None,
        start: Some(sim::clock::test_start()),
        cluster_autoscaler,
        ..Options::default()
    });
    let before = cluster.lock().store.count(&NODES);
    {
        let mut world = cluster.lock();
        let mut d = (*world.store.get(&DEPLOYMENTS, "payments-core", "notifications").unwrap()).clone();
        d["spec"]["replicas"] = serde_json::json!(40);
        world.store.replace(&DEPLOYMENTS, d, None).unwrap();
    }
    for _ in 0..12 {
        cluster.advance(Duration::from_secs(15));
    }
    let world = cluster.lock();
    let pending =
        world.store.list(&PODS, None, None).filter(|(_, p)| p["status"]["phase"] == "Pending").count();
    (before, world.store.count(&NODES), pending)
}

#[test]
fn the_cluster_autoscaler_adds_nodes_for_pods_that_do_not_fit_and_can_be_switched_off() {
    let (before, after, _) = scaled_past_the_nodes(true);
    assert!(after > before, "nodes added: {before} → {after}");
    let (before, after, pending) = scaled_past_the_nodes(false);
    assert_eq!(after, before, "no node is added");
    assert!(pending > 0, "the pods that do not fit stay Pending");
}
