-- run_log partitioned by line time (ts), so retention frees old logs by dropping a partition instead of
-- deleting millions of rows (see server/src/modules/runs/log-partitions.ts for the maintenance).
--
-- Cheap on a big existing table: the old table is renamed and attached as one partition covering the
-- whole past (MINVALUE up to the end of next week, or past its newest line); nothing is rewritten and no
-- index is built. Attaching reads the table once to prove every row is inside that range, and the bound
-- is computed with one more read (max(ts)); both are sequential reads, no rewrite.
--
-- The partitioned parent has NO index of its own, on purpose: a parent primary key would have to
-- include ts, and attaching the old table would then build a new (run_id, seq, ts) index over all of
-- it. Every partition instead has its own primary key (run_id, seq), created with it by the
-- maintenance. (run_id, seq) stays unique across partitions by construction: sequence numbers are
-- reserved from job_run.log_seq. Readers (run_id = ? AND seq > ? ORDER BY seq) use each partition's
-- index and merge them.
--
-- A DEFAULT partition catches a line whose time no range covers (a writer with a badly skewed clock, or
-- maintenance that has not run for weeks), so an insert never fails for want of a partition; the
-- maintenance moves such rows into the range partition it creates later.
ALTER TABLE "run_log" RENAME TO "run_log_legacy";
ALTER TABLE "run_log_legacy" RENAME CONSTRAINT "run_log_pkey" TO "run_log_legacy_pkey";
ALTER TABLE "run_log_legacy" RENAME CONSTRAINT "run_log_run_id_fkey" TO "run_log_legacy_run_id_fkey";

CREATE TABLE "run_log" (LIKE "run_log_legacy" INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMPRESSION) PARTITION BY RANGE ("ts");
-- Attaching the old table reuses its identical foreign key (no re-validation).
ALTER TABLE "run_log" ADD CONSTRAINT "run_log_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "job_run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Weekly bounds are multiples of 168 h from a Monday 00:00 UTC (the maintenance uses the same grid).
DO $$
DECLARE
  bound timestamptz;
BEGIN
  SELECT date_bin('168 hours', greatest(now(), max("ts")), '2000-01-03 00:00:00+00') + interval '336 hours' INTO bound FROM "run_log_legacy";
  EXECUTE format('ALTER TABLE "run_log" ATTACH PARTITION "run_log_legacy" FOR VALUES FROM (MINVALUE) TO (%L)', bound);
END $$;

CREATE TABLE "run_log_default" (LIKE "run_log" INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMPRESSION, CONSTRAINT "run_log_default_pkey" PRIMARY KEY ("run_id", "seq"));
ALTER TABLE "run_log" ATTACH PARTITION "run_log_default" DEFAULT;

-- Statistics of runs retention deleted, per UTC hour and every dimension the statistics filter or group
-- by (template, schedule, trigger, status, visibility/owner), so the dashboard's history survives.
-- A row is added to in the same statement that deletes the runs (idempotent by atomicity).
-- Durations: count, sum and max, and a histogram for percentiles (run_duration_bucket).
CREATE TABLE "run_stats_hourly" (
    "id" BIGSERIAL NOT NULL,
    "hour" TIMESTAMPTZ(3) NOT NULL,
    "template_id" UUID,
    "template_name" TEXT NOT NULL,
    "schedule_id" UUID,
    "trigger" "RunTrigger" NOT NULL,
    "status" "RunStatus" NOT NULL,
    "visibility" "Visibility" NOT NULL,
    "owner_id" UUID,
    "runs" INTEGER NOT NULL,
    "timed_runs" INTEGER NOT NULL,
    "duration_ms_sum" DOUBLE PRECISION NOT NULL,
    "duration_ms_max" DOUBLE PRECISION,
    "duration_hist" INTEGER[] NOT NULL,
    CONSTRAINT "run_stats_hourly_pkey" PRIMARY KEY ("id")
);
-- NULLS NOT DISTINCT (Postgres 15+): a run without template/schedule/owner adds to the same row.
CREATE UNIQUE INDEX "run_stats_hourly_key" ON "run_stats_hourly" ("hour", "template_id", "template_name", "schedule_id", "trigger", "status", "visibility", "owner_id") NULLS NOT DISTINCT;

-- Duration histogram: 128 buckets. Bucket 1 holds durations under 1 ms; bucket k >= 2 holds
-- [2^((k-2)/4), 2^((k-1)/4)) ms (four buckets per doubling, about 19 % wide), the last one everything
-- from about 35 days up. A percentile read from it is off by at most about 9 % (half a bucket).
CREATE FUNCTION run_duration_bucket(ms double precision) RETURNS integer
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT CASE WHEN ms < 1 THEN 1 ELSE least(128, floor(ln(ms) / ln(2.0::double precision) * 4)::int + 2) END $$;

-- The value a bucket stands for: its geometric middle.
CREATE FUNCTION run_duration_bucket_ms(bucket integer) RETURNS double precision
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT CASE WHEN bucket <= 1 THEN 0.5 ELSE power(2::double precision, (bucket - 1.5) / 4.0) END $$;

CREATE FUNCTION run_duration_hist_step(hist integer[], ms double precision) RETURNS integer[]
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  AS $$
DECLARE
  b integer;
BEGIN
  IF ms IS NULL THEN RETURN hist; END IF;
  b := run_duration_bucket(ms);
  hist[b] := hist[b] + 1;
  RETURN hist;
END $$;

CREATE AGGREGATE run_duration_hist(double precision) (
  SFUNC = run_duration_hist_step,
  STYPE = integer[],
  INITCOND = '{0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0}'
);

CREATE FUNCTION run_duration_hist_merge(a integer[], b integer[]) RETURNS integer[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i) FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i) $$;
