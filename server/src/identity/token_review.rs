//! Identity from a bearer token (`Authorization: Bearer …`), for scripts and CLIs that call
//! the API without the auth proxy: the cluster says whose token it is (a TokenReview made
//! with Paydeck's service account). Answers are kept a minute, so a burst of requests costs
//! one review; the token itself is never stored, only its digest.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use kube::{Api, Client, api::PostParams};
use ring::digest::{SHA256, digest};

use crate::identity::Identity;

type Answer = (Option<Identity>, Instant);

const KEEP_VALID: Duration = Duration::from_secs(60);
const KEEP_INVALID: Duration = Duration::from_secs(10);

impl std::fmt::Debug for TokenReviewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenReviewer")
    }
}

pub struct TokenReviewer {
    client: Client,
    /// Token digest → whose it is (or nobody's), and when the cluster said so.
    answers: Mutex<HashMap<Vec<u8>, Answer>>,
}

impl TokenReviewer {
    pub fn new(client: Client) -> Self {
        Self { client, answers: Mutex::new(HashMap::new()) }
    }

    /// Whose token this is, or `None` when the cluster does not know it (or cannot say).
    pub async fn review(&self, token: &str) -> Option<Identity> {
        let key = digest(&SHA256, token.as_bytes()).as_ref().to_vec();
        {
            let answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((identity, at)) = answers.get(&key) {
                let keep = if identity.is_some() { KEEP_VALID } else { KEEP_INVALID };
                if at.elapsed() < keep {
                    return identity.clone();
                }
            }
        }
        let review = TokenReview {
            spec: TokenReviewSpec { token: Some(token.to_string()), ..Default::default() },
            ..Default::default()
        };
        let identity = match Api::<TokenReview>::all(self.client.clone())
            .create(&PostParams::default(), &review)
            .await
        {
            Ok(answer) => {
                answer.status.filter(|s| s.authenticated == Some(true)).and_then(|s| s.user).and_then(|u| {
                    Some(Identity {
                        user: u.username?,
                        // Kubernetes adds this one to everyone; impersonating it is pointless.
                        groups: u
                            .groups
                            .unwrap_or_default()
                            .into_iter()
                            .filter(|g| g != "system:authenticated")
                            .collect(),
                    })
                })
            }
            Err(e) => {
                tracing::warn!("token review failed: {e}");
                return None;
            }
        };
        let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        answers.retain(|_, (_, at)| at.elapsed() < KEEP_VALID);
        answers.insert(key, (identity.clone(), Instant::now()));
        identity
    }
}
