//! Steady pod churn for benchmarks: containers restarted round-robin across the cluster at a
//! set rate. Each restart is two pod events (restarted, then Ready again), with the
//! Deployment's status and its endpoints following, as in a cluster whose pods crash-loop.

use super::*;
use crate::{clock::Millis, store::Store};

impl Model {
    /// Pod events a second to add by restarting containers (0 stops it). The model's own
    /// occasional restarts go on beside them.
    pub fn set_churn(&mut self, events_per_sec: f64) {
        self.churn_per_sec = events_per_sec.max(0.0);
        self.churn_owed = 0.0;
    }

    pub fn churn_per_sec(&self) -> f64 {
        self.churn_per_sec
    }

    /// Restarts this step's share of containers, each pod in turn.
    pub(super) fn churn(&mut self, store: &mut Store, now: Millis) {
        if self.churn_per_sec <= 0.0 || self.pods.is_empty() {
            return;
        }
        self.churn_owed += self.churn_per_sec / 2.0 * self.step_ms as f64 / 1000.0;
        let restarts = self.churn_owed.floor() as usize;
        self.churn_owed -= restarts as f64;
        let count = self.pods.len();
        let start = self.churn_next % count;
        // Ready pods from the cursor on, wrapping round once at most.
        let mut chosen = Vec::with_capacity(restarts);
        for (k, p) in self.pods.iter().cycle().skip(start).take(count) {
            if chosen.len() == restarts {
                break;
            }
            self.churn_next += 1;
            if p.ready_since.is_some() {
                chosen.push(k.clone());
            }
        }
        for k in chosen {
            let Some(p) = self.pods.get_mut(&k) else { continue };
            p.restarts += 1;
            p.running_since = Some(now);
            p.ready_since = None;
            self.dirty.insert(key(&k.0, &p.owner));
            self.write_pod(store, &k, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Cluster, Options, Profile};
    use std::time::Duration;

    #[test]
    fn churn_restarts_containers_at_the_set_rate_and_they_come_back_ready() {
        let cluster = Cluster::new(&Options {
            profile: Profile::Demo,
            speed: None,
            start: Some(crate::clock::test_start()),
            ..Options::default()
        });
        let restarts = |c: &Cluster| -> std::collections::HashMap<String, u32> {
            c.lock().model.pods.iter().map(|(k, p)| (k.1.clone(), p.restarts)).collect()
        };
        let before = restarts(&cluster);
        cluster.lock().model.set_churn(4.0);
        cluster.advance(Duration::from_secs(3));
        // 4 events a second are 2 restarts a second; the model's own are rare.
        let restarted: Vec<String> = restarts(&cluster)
            .into_iter()
            .filter(|(name, n)| before.get(name).is_some_and(|b| n > b))
            .map(|(name, _)| name)
            .collect();
        let made: u32 = restarted.iter().map(|name| restarts(&cluster)[name] - before[name]).sum();
        assert!((6..=7).contains(&made), "{made} restarts in 3 s");
        cluster.lock().model.set_churn(0.0);
        cluster.advance(Duration::from_secs(30));
        // The restarted pods themselves (whatever else the hour's load is scaling meanwhile).
        let world = cluster.lock();
        let not_ready: Vec<&String> = restarted
            .iter()
            .filter(|name| world.model.pods.iter().any(|(k, p)| &&k.1 == name && p.ready_since.is_none()))
            .collect();
        assert!(not_ready.is_empty(), "the restarted pods are Ready again: {not_ready:?} are not");
        assert_eq!(world.model.churn_per_sec(), 0.0);
    }

    #[test]
    fn a_paused_cluster_changes_nothing_and_goes_on_from_the_clock_when_resumed() {
        let cluster = Cluster::new(&Options {
            profile: Profile::Demo,
            speed: None,
            start: Some(crate::clock::test_start()),
            ..Options::default()
        });
        let version = |c: &Cluster| c.lock().store.resource_version();
        cluster.lock().model.set_churn(20.0);
        cluster.lock().model.set_paused(true);
        let before = version(&cluster);
        cluster.advance(Duration::from_secs(60));
        assert_eq!(version(&cluster), before, "nothing written while paused");
        let stepped_to = cluster.lock().model.time();
        assert_eq!(stepped_to, cluster.now(), "the pause is not run through later");
        cluster.lock().model.set_paused(false);
        cluster.advance(Duration::from_secs(2));
        assert!(version(&cluster) > before, "churn goes on once resumed");
        assert_eq!(cluster.lock().model.time(), stepped_to + 2_000);
    }
}
