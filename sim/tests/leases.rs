//! `coordination.k8s.io/v1` Leases over the wire, as leader election uses them: a PUT creates
//! an absent lease, an update needs the current resourceVersion (a stale one is a conflict,
//! none is refused), the spec is validated, a watch sees each change, and Paydeck's service
//! account may touch only its own lease. Every refusal is checked to have changed nothing.

use futures::StreamExt;
use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta},
};
use kube::{
    Api, Client, Config,
    api::{PostParams, WatchEvent, WatchParams},
    config::{KubeConfigOptions, Kubeconfig},
};
use sim::{Cluster, Options, RunningServer, auth};

async fn start() -> (Cluster, RunningServer) {
    let cluster =
        Cluster::new(&Options { speed: None, start: Some(sim::clock::test_start()), ..Options::default() });
    let server = cluster.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    (cluster, server)
}

async fn client(server: &RunningServer, token: &str) -> Client {
    let kubeconfig = Kubeconfig::from_yaml(&server.kubeconfig(token)).unwrap();
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap();
    config.default_retry = false;
    Client::try_from(config).unwrap()
}

fn status(result: Result<impl std::fmt::Debug, kube::Error>) -> kube::core::Status {
    match result {
        Err(kube::Error::Api(e)) => *e,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn lease(name: &str, holder: &str, duration: i32) -> Lease {
    Lease {
        metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(duration),
            lease_transitions: Some(0),
            renew_time: Some(MicroTime(a_moment())),
            ..Default::default()
        }),
    }
}

fn a_moment() -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::from_second(1_795_000_000).unwrap()
}

#[tokio::test]
async fn a_put_creates_an_absent_lease_and_updates_need_the_current_version() {
    let (_cluster, server) = start().await;
    let leases: Api<Lease> = Api::namespaced(client(&server, auth::DASHBOARD_TOKEN).await, "paydeck");

    // Absent: a PUT creates it (AllowCreateOnUpdate), as a candidate's first acquire does.
    let created = leases
        .replace("paydeck-leader", &PostParams::default(), &lease("paydeck-leader", "a", 15))
        .await
        .unwrap();
    let rv = created.metadata.resource_version.clone().unwrap();
    assert_eq!(created.spec.as_ref().unwrap().holder_identity.as_deref(), Some("a"));
    assert!(created.metadata.uid.is_some() && created.metadata.generation.is_none(), "no generation kept");

    // A second candidate holding the version it read wins; the first, still on it, conflicts.
    let mut b = created.clone();
    b.spec.as_mut().unwrap().holder_identity = Some("b".into());
    b.spec.as_mut().unwrap().lease_transitions = Some(1);
    let taken = leases.replace("paydeck-leader", &PostParams::default(), &b).await.unwrap();
    assert_ne!(taken.metadata.resource_version.as_deref(), Some(rv.as_str()));
    let mut a = created.clone();
    a.spec.as_mut().unwrap().lease_duration_seconds = Some(30);
    let conflict = status(leases.replace("paydeck-leader", &PostParams::default(), &a).await);
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));

    // No resourceVersion: refused, never a blind overwrite (AllowUnconditionalUpdate false).
    let mut blind = lease("paydeck-leader", "c", 15);
    blind.metadata.resource_version = None;
    let refused = status(leases.replace("paydeck-leader", &PostParams::default(), &blind).await);
    assert_eq!(refused.code, 422, "{refused:?}");
    assert!(
        refused.message.contains("metadata.resourceVersion") && refused.message.contains("must be specified")
    );

    // Validation: the duration must be positive, transitions not negative.
    let mut bad = taken.clone();
    bad.spec.as_mut().unwrap().lease_duration_seconds = Some(0);
    bad.spec.as_mut().unwrap().lease_transitions = Some(-1);
    let invalid = status(leases.replace("paydeck-leader", &PostParams::default(), &bad).await);
    assert_eq!(invalid.code, 422);
    assert!(invalid.message.contains("spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"));
    assert!(invalid.message.contains("spec.leaseTransitions"), "{}", invalid.message);

    // Nothing refused changed it.
    let now = leases.get("paydeck-leader").await.unwrap();
    assert_eq!(now.metadata.resource_version, taken.metadata.resource_version);
    let spec = now.spec.unwrap();
    assert_eq!(
        (spec.holder_identity.as_deref(), spec.lease_duration_seconds, spec.lease_transitions),
        (Some("b"), Some(15), Some(1))
    );
}

#[tokio::test]
async fn a_watch_sees_each_renewal() {
    let (_cluster, server) = start().await;
    let leases: Api<Lease> = Api::namespaced(client(&server, auth::ADMIN_TOKEN).await, "paydeck");
    let first = leases.create(&PostParams::default(), &lease("watched", "a", 10)).await.unwrap();
    let rv = first.metadata.resource_version.clone().unwrap();
    let mut events =
        leases.watch(&WatchParams::default().fields("metadata.name=watched"), &rv).await.unwrap().boxed();
    let mut renewed = first.clone();
    for i in 1..=2 {
        renewed.spec.as_mut().unwrap().renew_time =
            Some(MicroTime(k8s_openapi::jiff::Timestamp::from_second(1_795_000_000 + i).unwrap()));
        renewed = leases.replace("watched", &PostParams::default(), &renewed).await.unwrap();
        match events.next().await.unwrap().unwrap() {
            WatchEvent::Modified(l) => {
                assert_eq!(l.metadata.resource_version, renewed.metadata.resource_version)
            }
            other => panic!("expected a modification, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn paydecks_account_touches_only_its_own_lease_in_its_own_namespace() {
    let (_cluster, server) = start().await;
    let sa = client(&server, auth::DASHBOARD_TOKEN).await;
    let own: Api<Lease> = Api::namespaced(sa.clone(), auth::PAYDECK_NAMESPACE);
    let other = lease("someone-elses", "a", 15);
    // Creating another lease in its namespace is allowed (create cannot be limited by name)…
    own.create(&PostParams::default(), &other).await.unwrap();
    // …but reading or renewing one not its own is not.
    assert_eq!(status(own.get("someone-elses").await).code, 403);
    // Nor anything in another namespace, by POST or by a creating PUT.
    let elsewhere: Api<Lease> = Api::namespaced(sa, "payments-core");
    assert_eq!(status(elsewhere.create(&PostParams::default(), &lease("x", "a", 15)).await).code, 403);
    assert_eq!(
        status(
            elsewhere
                .replace("paydeck-leader", &PostParams::default(), &lease("paydeck-leader", "a", 15))
                .await
        )
        .code,
        403
    );
    let admin: Api<Lease> = Api::namespaced(client(&server, auth::ADMIN_TOKEN).await, "payments-core");
    assert_eq!(status(admin.get("paydeck-leader").await).code, 404, "the refused PUT created nothing");
}
