//! Plans in the SQLite file, on the history's connections.

use sqlx::{Row, SqlitePool};

use crate::store::{
    StoreError, StoreFuture,
    plans::{Plan, PlanStore, body, from_row, state_word},
};

/// The plans in one SQLite file.
pub struct SqlitePlans {
    pool: SqlitePool,
}

impl SqlitePlans {
    pub fn new(pool: SqlitePool) -> Self {
        SqlitePlans { pool }
    }
}

impl PlanStore for SqlitePlans {
    fn insert<'a>(&'a self, plan: &'a Plan) -> StoreFuture<'a, i64> {
        Box::pin(async move {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO plans (cluster, namespace, name, state, version, updated_ms, body) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(&plan.cluster)
            .bind(&plan.namespace)
            .bind(&plan.name)
            .bind(state_word(plan))
            .bind(plan.version)
            .bind(plan.updated_ms)
            .bind(body(plan)?)
            .fetch_one(&self.pool)
            .await?;
            Ok(id)
        })
    }

    fn get(&self, id: i64) -> StoreFuture<'_, Option<Plan>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT id, version, body FROM plans WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
            row.map(|r| from_row(r.get(0), r.get(1), r.get::<&str, _>(2))).transpose()
        })
    }

    fn list<'a>(&'a self, cluster: Option<&'a str>) -> StoreFuture<'a, Vec<Plan>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT id, version, body FROM plans WHERE ?1 IS NULL OR cluster = ?1 ORDER BY id",
            )
            .bind(cluster)
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(|r| from_row(r.get(0), r.get(1), r.get::<&str, _>(2))).collect()
        })
    }

    fn replace<'a>(&'a self, plan: &'a Plan) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let changed = sqlx::query(
                "UPDATE plans SET state = ?, version = ?, updated_ms = ?, body = ? WHERE id = ? AND version = ?",
            )
            .bind(state_word(plan))
            .bind(plan.version)
            .bind(plan.updated_ms)
            .bind(body(plan)?)
            .bind(plan.id)
            .bind(plan.version - 1)
            .execute(&self.pool)
            .await
            .map_err(StoreError::from)?
            .rows_affected();
            Ok(changed == 1)
        })
    }
}
