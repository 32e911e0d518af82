-- The notification payload (notification_run_payload, 20261205150000_notification_channels) carries the
-- run's step outputs (20261205130000_step_outputs added them to the outbox trigger of the time, which the
-- channels migration replaced): one function builds the payload for deliveries and previews alike.
CREATE OR REPLACE FUNCTION notification_run_payload(r job_run) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', r.id, 'number', r.number, 'templateId', r.template_id, 'templateName', r.template_name,
    'jobType', r.job_type, 'status', r.status::text, 'trigger', r.trigger::text, 'attempt', r.attempt,
    'maxAttempts', r.max_attempts, 'createdAt', r.created_at, 'startedAt', r.started_at, 'finishedAt', r.finished_at,
    'durationSeconds', CASE WHEN r.started_at IS NULL THEN NULL
                            ELSE round(extract(epoch FROM COALESCE(r.finished_at, now()) - r.started_at)::numeric, 3) END,
    'error', r.error,
    'failedTargets', COALESCE((SELECT jsonb_agg(t.name ORDER BY t.position) FROM run_target t
                                WHERE t.run_id = r.id AND t.status IN ('FAILED', 'TIMED_OUT')), '[]'::jsonb),
    'targetsTotal', r.targets_total, 'targetsDone', r.targets_done, 'targetsFailed', r.targets_failed,
    'parameters', r.parameters, 'result', r.result,
    'scheduleId', r.schedule_id, 'scheduleName', (SELECT s.name FROM job_schedule s WHERE s.id = r.schedule_id),
    'triggeredBy', (SELECT u.username FROM app_user u WHERE u.id = r.triggered_by_id),
    'link', '/runs/' || r.id,
    -- Step outputs as the API shows them (JobRun.outputs): SECRET values are stored masked already.
    'outputs', (SELECT CASE WHEN count(*) = 1 THEN (array_agg(t.outputs))[1]
                            ELSE jsonb_object_agg(t.name, t.outputs) FILTER (WHERE t.outputs IS NOT NULL) END
                  FROM run_target t WHERE t.run_id = r.id))
$$;
