-- The platform's totals read every workload's rollups of one resolution over a time range.
CREATE INDEX rollups_by_bucket ON rollups (resolution_ms, bucket_ms);
