-- WORKER_RECOVERED for a restarted worker, not only for the same process beating again. A process killed
-- and started again (systemd, a supervisor, an operator) is a new worker row with a new id, so the old
-- row's mark was never cleared and its WORKER_DOWN had no counterpart. The rule: a worker REPLACES a worker
-- marked down (stopped_at > heartbeat_at, set by the reaper) when both have the same hostname and the same
-- set of roles, and the new one started after the old one's last heartbeat. Each down worker is replaced
-- at most once (replaced_by), so one restart notifies one WORKER_RECOVERED, whichever comes first: the new
-- worker starting after the reaper marked the old one (the insert trigger), or the reaper marking the old
-- one after the new one had already started (a fast restart, inside the dead-after period: the update
-- trigger then sends WORKER_DOWN and WORKER_RECOVERED together).
ALTER TABLE worker ADD COLUMN replaced_by uuid;

-- One worker event's deliveries (the payload of 20261206040000's trigger, plus the replaced workers).
CREATE FUNCTION notification_worker_event(p_event text, w worker, p_last_heartbeat timestamptz, p_replaces uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_count int;
BEGIN
  INSERT INTO notification_delivery (channel_id, rule_id, event, payload)
  SELECT c.id, r.id, p_event::"NotificationEvent",
         jsonb_build_object('event', p_event, 'run', NULL, 'details', jsonb_build_object(
           'subject', 'Worker ' || w.hostname || ' (pid ' || w.pid || ')',
           'workerId', w.id, 'hostname', w.hostname, 'pid', w.pid, 'roles', to_jsonb(w.roles),
           'startedAt', w.started_at, 'lastHeartbeatAt', p_last_heartbeat,
           'runningRuns', (SELECT count(*) FROM job_run j WHERE j.worker_id = w.id AND j.status = 'RUNNING'))
           || CASE WHEN p_replaces IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('replacesWorkerIds', to_jsonb(p_replaces)) END)
    FROM notification_rule r
    JOIN notification_channel c ON c.id = ANY (r.channel_ids)
   WHERE r.enabled AND p_event = ANY (r.events::text[]);
  GET DIAGNOSTICS v_count = ROW_COUNT;
  IF v_count > 0 THEN
    PERFORM pg_notify('switchyard_notification', '');
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION notification_worker_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_new worker;
BEGIN
  BEGIN
    IF OLD.stopped_at IS NULL AND NEW.stopped_at IS NOT NULL AND NEW.heartbeat_at < NEW.stopped_at THEN
      PERFORM notification_worker_event('WORKER_DOWN', NEW, OLD.heartbeat_at, NULL);
      -- The start of a replacement and this mark, in two transactions at once, would each miss the other.
      PERFORM pg_advisory_xact_lock(hashtext('switchyard_worker_replacement'), hashtext(NEW.hostname));
      -- Already restarted (a new process of the same host and roles beating since the old one's last beat).
      SELECT * INTO v_new FROM worker n
       WHERE n.id <> NEW.id AND n.hostname = NEW.hostname AND n.roles @> NEW.roles AND n.roles <@ NEW.roles
         AND n.stopped_at IS NULL AND n.started_at > NEW.heartbeat_at
       ORDER BY n.started_at LIMIT 1;
      IF FOUND AND NEW.replaced_by IS NULL THEN
        UPDATE worker SET replaced_by = v_new.id WHERE id = NEW.id;
        PERFORM notification_worker_event('WORKER_RECOVERED', v_new, NEW.heartbeat_at, ARRAY[NEW.id]);
      END IF;
    ELSIF OLD.stopped_at IS NOT NULL AND NEW.stopped_at IS NULL AND OLD.heartbeat_at < OLD.stopped_at THEN
      PERFORM notification_worker_event('WORKER_RECOVERED', NEW, OLD.heartbeat_at, NULL);
    END IF;
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'notification outbox for worker % failed: %', NEW.id, SQLERRM;
  END;
  RETURN NULL;
END
$$;

-- A new worker replacing workers of its host and roles that the reaper marked down.
CREATE FUNCTION notification_worker_started() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_replaced uuid[];
  v_last timestamptz;
BEGIN
  BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('switchyard_worker_replacement'), hashtext(NEW.hostname));
    WITH replaced AS (
      UPDATE worker d SET replaced_by = NEW.id
       WHERE d.id <> NEW.id AND d.hostname = NEW.hostname AND d.roles @> NEW.roles AND d.roles <@ NEW.roles
         AND d.stopped_at IS NOT NULL AND d.heartbeat_at < d.stopped_at AND d.replaced_by IS NULL
         AND d.heartbeat_at < NEW.started_at
      RETURNING d.id, d.heartbeat_at)
    SELECT array_agg(id ORDER BY heartbeat_at), max(heartbeat_at) INTO v_replaced, v_last FROM replaced;
    IF v_replaced IS NOT NULL THEN
      PERFORM notification_worker_event('WORKER_RECOVERED', NEW, v_last, v_replaced);
    END IF;
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'notification outbox for worker % failed: %', NEW.id, SQLERRM;
  END;
  RETURN NULL;
END
$$;
CREATE TRIGGER worker_notification_started
  AFTER INSERT ON worker
  FOR EACH ROW
  EXECUTE FUNCTION notification_worker_started();
