/**
 * "Omitted fields keep their value", for every update mutation and every field of its input: each
 * entity is created with non-default values everywhere, then updated one input field at a time, and
 * every stored column the field does not own must be unchanged (read from the database itself, so
 * secrets, blackout links and derived columns are covered too).
 * The lists of mutations and of input fields come from introspection: a new update mutation, or a
 * new field on an update input, fails this test until a case covers it.
 */
import { decodeGlobalID } from '@pothos/plugin-relay'
import { utils } from 'ssh2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../harness/app.ts'

let t: TestApp
beforeAll(async () => {
  t = await startTestApp()
})
afterAll(async () => {
  await t?.stop()
})

/** One input field's update: the value to send (plus any companion fields it needs) and the columns it may change. */
interface FieldPatch {
  input: Record<string, unknown>
  /** Stored columns this update is meant to change (each must change, every other column must not). */
  changes: string[]
}

interface UpdateCase {
  mutation: string
  /** Creates the entity with non-default values in every field; returns its global id. */
  create(n: number): Promise<string>
  /** Every stored column of the entity (plus links), by name. */
  snapshot(id: string): Promise<Record<string, unknown>>
  /** Sends an update of `input`. */
  update(id: string, input: Record<string, unknown>): Promise<void>
  /** Patches keyed by the input field they cover. */
  fields: Record<string, FieldPatch>
}

/** Columns that change on every write or are bookkeeping, not values a caller set. */
const BOOKKEEPING = new Set(['updated_at', 'version', 'last_slot_at', 'next_run_at'])

const rawId = (globalId: string) => decodeGlobalID(globalId).id

async function row(table: string, id: string): Promise<Record<string, unknown>> {
  const { rows } = await t.app.db.pool.query(`SELECT * FROM ${table} WHERE id = $1`, [rawId(id)])
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(rows[0] ?? {})) out[k] = Buffer.isBuffer(v) ? `bytes:${v.toString('hex')}` : v instanceof Date ? v.toISOString() : v
  return out
}

async function mutate(mutation: string, args: string, variables: Record<string, unknown>): Promise<void> {
  await t.ok(`mutation(${args}) { ${mutation}(${args.replace(/\$(\w+):[^,]+/g, '$1: $$$1')}) { __typename } }`, variables)
}

let seq = 0
const uniq = () => ++seq

/** Shared fixtures: two credentials, targets, inventories, templates and blackouts to switch between. */
async function fixtures() {
  const cred = async (name: string) =>
    (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name, kind: 'PASSWORD', username: 'u', password: 'p' } })).createCredential.id as string
  const target = async (name: string) => (await t.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name, host: '127.0.0.9' } })).createTarget.id as string
  const inventory = async (name: string) => (await t.ok(`mutation($i: InventoryInput!) { createInventory(input: $i) { id } }`, { i: { name, tags: ['x'] } })).createInventory.id as string
  const template = async (name: string, parameters: unknown[]) =>
    (await t.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { name, jobType: 'noop', config: {}, parameters, visibility: 'GLOBAL' } })).createJobTemplate.id as string
  const blackout = async (name: string) =>
    (await t.ok(`mutation($i: BlackoutWindowInput!) { createBlackoutWindow(input: $i) { id } }`, { i: { name, kind: 'RECURRING', startTime: '01:00', durationMinutes: 30 } })).createBlackoutWindow.id as string
  // A required parameter without default: pausing or renaming must not trip over it.
  const params = [
    { name: 'site', type: 'STRING', required: true },
    { name: 'token', type: 'SECRET' },
  ]
  const templates = [await template('fx-template-1', params), await template('fx-template-2', params)]
  return {
    creds: [await cred('fx-cred-1'), await cred('fx-cred-2')],
    targets: [await target('fx-target-1'), await target('fx-target-2')],
    inventories: [await inventory('fx-inv-1')],
    templates,
    blackouts: [await blackout('fx-blackout-1'), await blackout('fx-blackout-2'), await blackout('fx-blackout-3')],
    // A workflow with the templates' parameters, for a schedule to switch to.
    workflows: [
      (
        await t.ok(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, {
          i: { name: 'fx-workflow-1', parameters: params, nodes: [{ key: 'a', templateId: templates[0], parameters: { site: '{{ params.site }}' } }], visibility: 'GLOBAL' },
        })
      ).createWorkflow.id as string,
    ],
  }
}

/** The second channel each created rule can switch to, by creation number. */
const ruleChannels = new Map<number, string>()
const ruleTrackers = new Map<number, string>()

function cases(fx: Awaited<ReturnType<typeof fixtures>>): UpdateCase[] {
  const scheduleLinks = async (id: string) =>
    (await t.app.db.pool.query(`SELECT array_agg(blackout_id ORDER BY blackout_id) AS ids FROM job_schedule_blackout WHERE schedule_id = $1`, [rawId(id)])).rows[0].ids
  const createSchedule = async (n: number) =>
    (
      await t.ok(`mutation($i: CreateJobScheduleInput!) { createJobSchedule(input: $i) { id } }`, {
        i: {
          name: `sched-${n}`,
          description: 'nightly config backup',
          templateId: fx.templates[0],
          kind: 'CRON',
          cronExpression: '15 3 * * *',
          timezone: 'Europe/Berlin',
          startAt: '2026-01-01T00:00:00Z',
          endAt: '2099-01-01T00:00:00Z',
          active: true,
          parameters: { site: 'fra1', token: 's3cret' },
          misfirePolicy: 'RUN_ALL',
          misfireGraceSeconds: 900,
          misfireMaxRuns: 3,
          overlapPolicy: 'SKIP',
          visibility: 'GLOBAL',
          blackoutIds: [fx.blackouts[0], fx.blackouts[1]],
        },
      })
    ).createJobSchedule.id as string
  const scheduleSnapshot = async (id: string) => ({ ...(await row('job_schedule', id)), blackoutIds: await scheduleLinks(id) })

  return [
    {
      mutation: 'updateJobSchedule',
      create: createSchedule,
      snapshot: scheduleSnapshot,
      update: (id, i) => mutate('updateJobSchedule', '$id: ID!, $input: UpdateJobScheduleInput!', { id, input: i }),
      fields: {
        name: { input: { name: 'renamed' }, changes: ['name'] },
        description: { input: { description: 'changed' }, changes: ['description'] },
        templateId: { input: { templateId: fx.templates[1] }, changes: ['template_id'] },
        // The schedule then runs the workflow instead (exactly one of the two).
        workflowId: { input: { workflowId: fx.workflows[0] }, changes: ['template_id', 'workflow_id'] },
        kind: { input: { kind: 'DAILY_AT', dailyTime: '04:30' }, changes: ['kind', 'daily_time', 'cron_expression'] },
        cronExpression: { input: { cronExpression: '0 5 * * 1' }, changes: ['cron_expression'] },
        intervalEvery: { input: { kind: 'INTERVAL', intervalEvery: 2, intervalUnit: 'HOURS' }, changes: ['kind', 'interval_seconds', 'cron_expression'] },
        intervalUnit: { input: { kind: 'INTERVAL', intervalEvery: 3, intervalUnit: 'MINUTES' }, changes: ['kind', 'interval_seconds', 'cron_expression'] },
        dailyTime: { input: { kind: 'DAILY_AT', dailyTime: '06:00' }, changes: ['kind', 'daily_time', 'cron_expression'] },
        daysOfWeek: { input: { kind: 'DAILY_AT', dailyTime: '06:00', daysOfWeek: [1, 3] }, changes: ['kind', 'daily_time', 'days_of_week', 'cron_expression'] },
        onceAt: { input: { kind: 'ONCE', onceAt: '2098-06-01T12:00' }, changes: ['kind', 'once_at', 'cron_expression'] },
        timezone: { input: { timezone: 'America/New_York' }, changes: ['timezone'] },
        startAt: { input: { startAt: '2026-02-01T00:00:00Z' }, changes: ['start_at'] },
        endAt: { input: { endAt: '2098-01-01T00:00:00Z' }, changes: ['end_at'] },
        active: { input: { active: false }, changes: ['active'] },
        parameters: { input: { parameters: { site: 'ams2', token: '••••••' } }, changes: ['parameters'] },
        misfirePolicy: { input: { misfirePolicy: 'RUN_ONCE' }, changes: ['misfire_policy'] },
        misfireGraceSeconds: { input: { misfireGraceSeconds: 30 }, changes: ['misfire_grace_seconds'] },
        misfireMaxRuns: { input: { misfireMaxRuns: 7 }, changes: ['misfire_max_runs'] },
        overlapPolicy: { input: { overlapPolicy: 'QUEUE' }, changes: ['overlap_policy'] },
        visibility: { input: { visibility: 'PRIVATE' }, changes: ['visibility'] },
        blackoutIds: { input: { blackoutIds: [fx.blackouts[2]] }, changes: ['blackoutIds'] },
      },
    },
    {
      mutation: 'setJobScheduleActive',
      create: createSchedule,
      snapshot: scheduleSnapshot,
      update: (id, i) => mutate('setJobScheduleActive', '$id: ID!, $active: Boolean!', { id, ...i }),
      fields: { active: { input: { active: false }, changes: ['active'] } },
    },
    {
      mutation: 'updateBlackoutWindow',
      async create(n) {
        const i = { name: `bw-${n}`, description: 'change freeze', kind: 'RECURRING', timezone: 'Europe/Berlin', daysOfWeek: [5, 6], startTime: '22:00', durationMinutes: 120 }
        return (await t.ok(`mutation($i: BlackoutWindowInput!) { createBlackoutWindow(input: $i) { id } }`, { i })).createBlackoutWindow.id
      },
      snapshot: (id) => row('blackout_window', id),
      update: (id, i) => mutate('updateBlackoutWindow', '$id: ID!, $input: BlackoutWindowInput!', { id, input: i }),
      fields: {
        name: { input: { name: 'renamed-bw' }, changes: ['name'] },
        description: { input: { description: 'changed' }, changes: ['description'] },
        kind: { input: { kind: 'ABSOLUTE', startAt: '2030-01-01T00:00:00Z', endAt: '2030-01-02T00:00:00Z' }, changes: ['kind', 'start_at', 'end_at', 'days_of_week', 'start_time', 'duration_minutes'] },
        timezone: { input: { timezone: 'Asia/Tokyo' }, changes: ['timezone'] },
        startAt: { input: { kind: 'ABSOLUTE', startAt: '2030-01-01T00:00:00Z', endAt: '2030-01-03T00:00:00Z' }, changes: ['kind', 'start_at', 'end_at', 'days_of_week', 'start_time', 'duration_minutes'] },
        endAt: { input: { kind: 'ABSOLUTE', startAt: '2030-01-01T00:00:00Z', endAt: '2030-01-04T00:00:00Z' }, changes: ['kind', 'start_at', 'end_at', 'days_of_week', 'start_time', 'duration_minutes'] },
        daysOfWeek: { input: { daysOfWeek: [0] }, changes: ['days_of_week'] },
        startTime: { input: { startTime: '23:15' }, changes: ['start_time'] },
        durationMinutes: { input: { durationMinutes: 45 }, changes: ['duration_minutes'] },
      },
    },
    {
      mutation: 'updateCredential',
      async create(n) {
        const i = { name: `cred-${n}`, description: 'lab switches', kind: 'PRIVATE_KEY', username: 'netops', privateKey: TEST_KEY, passphrase: 'pp' }
        return (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i })).createCredential.id
      },
      snapshot: (id) => row('credential', id),
      update: (id, i) => mutate('updateCredential', '$id: ID!, $input: UpdateCredentialInput!', { id, input: i }),
      fields: {
        name: { input: { name: 'renamed-cred' }, changes: ['name'] },
        description: { input: { description: 'changed' }, changes: ['description'] },
        kind: { input: { kind: 'PASSWORD', password: 'pw-1' }, changes: ['kind', 'secret', 'passphrase'] },
        username: { input: { username: 'other' }, changes: ['username'] },
        password: { input: { kind: 'PASSWORD', password: 'pw-2' }, changes: ['kind', 'secret', 'passphrase'] },
        // A new key drops the old key's passphrase.
        privateKey: { input: { privateKey: OTHER_KEY }, changes: ['secret', 'passphrase'] },
        passphrase: { input: { passphrase: 'pp-2' }, changes: ['passphrase'] },
      },
    },
    {
      mutation: 'updateInventory',
      async create(n) {
        const i = { name: `inv-${n}`, description: 'core', tags: ['core', 'fra'], namePatterns: ['sw-*'], targetIds: [fx.targets[0]] }
        return (await t.ok(`mutation($i: InventoryInput!) { createInventory(input: $i) { id } }`, { i })).createInventory.id
      },
      snapshot: (id) => row('inventory', id),
      update: (id, i) => mutate('updateInventory', '$id: ID!, $input: InventoryInput!', { id, input: i }),
      fields: {
        name: { input: { name: 'renamed-inv' }, changes: ['name'] },
        description: { input: { description: 'changed' }, changes: ['description'] },
        tags: { input: { tags: ['edge'] }, changes: ['tags'] },
        namePatterns: { input: { namePatterns: ['rtr-*'] }, changes: ['name_patterns'] },
        targetIds: { input: { targetIds: [fx.targets[1]] }, changes: ['target_ids'] },
      },
    },
    {
      mutation: 'updateInventorySource',
      async create(n) {
        const i = {
          name: `src-${n}`,
          description: 'lab nautobot',
          kind: 'NAUTOBOT',
          url: 'http://127.0.0.1:9/nautobot',
          tokenCredentialId: fx.creds[0],
          tlsVerify: false,
          caCertificate: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
          filter: { locations: ['fra1'], roles: ['leaf'] },
          defaultPort: 2222,
          defaultCredentialId: fx.creds[0],
          extraTags: ['nautobot'],
          syncMode: 'AUTHORITATIVE',
          maxDeleteFraction: 0.5,
          customFieldMappings: [{ customField: 'site_code', attribute: 'site_code', tagPrefix: 'site' }],
          syncBeforeRunMaxAgeSeconds: 3600,
          syncBeforeRunRequired: false,
        }
        return (await t.ok(`mutation($i: CreateInventorySourceInput!) { createInventorySource(input: $i) { id } }`, { i })).createInventorySource.id
      },
      snapshot: (id) => row('inventory_source', id),
      update: (id, i) => mutate('updateInventorySource', '$id: ID!, $input: UpdateInventorySourceInput!', { id, input: i }),
      fields: {
        name: { input: { name: 'renamed-src' }, changes: ['name'] },
        description: { input: { description: 'changed' }, changes: ['description'] },
        // The only kind there is: re-sending it changes nothing else.
        kind: { input: { kind: 'NAUTOBOT' }, changes: [] },
        url: { input: { url: 'http://127.0.0.1:9/other' }, changes: ['url'] },
        tokenCredentialId: { input: { tokenCredentialId: fx.creds[1] }, changes: ['token_credential_id'] },
        tlsVerify: { input: { tlsVerify: true }, changes: ['tls_verify'] },
        caCertificate: { input: { caCertificate: '-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n' }, changes: ['ca_certificate'] },
        filter: { input: { filter: { tags: ['edge'] } }, changes: ['filter'] },
        defaultPort: { input: { defaultPort: 22 }, changes: ['default_port'] },
        defaultCredentialId: { input: { defaultCredentialId: fx.creds[1] }, changes: ['default_credential_id'] },
        extraTags: { input: { extraTags: ['other'] }, changes: ['extra_tags'] },
        syncMode: { input: { syncMode: 'ADDITIVE' }, changes: ['sync_mode'] },
        maxDeleteFraction: { input: { maxDeleteFraction: 0.1 }, changes: ['max_delete_fraction'] },
        customFieldMappings: { input: { customFieldMappings: [{ customField: 'tier', tagPrefix: 'tier' }] }, changes: ['custom_field_mappings'] },
        syncBeforeRunMaxAgeSeconds: { input: { syncBeforeRunMaxAgeSeconds: 600 }, changes: ['sync_before_run_max_age_seconds'] },
        syncBeforeRunRequired: { input: { syncBeforeRunRequired: true }, changes: ['sync_before_run_required'] },
      },
    },
    {
      mutation: 'updateNotificationChannel',
      // An EMAIL channel with every field set; the webhook-only fields switch kind with the field they need.
      async create(n) {
        const i = {
          name: `nch-${n}`, kind: 'EMAIL', headers: { 'X-Team': 'ops' }, smtpHost: '127.0.0.1', smtpPort: 2525, smtpSecurity: 'TLS',
          smtpCredentialId: fx.creds[0], smtpCaCertificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----', emailFrom: 'sy@example.com',
          emailTo: ['ops@example.com'], subjectTemplate: 'S {{ run.status }}', bodyTemplate: '{"s": {{ run.status | json }}}', htmlTemplate: '<b>{{ run.status }}</b>',
        }
        return (await t.ok(`mutation($i: CreateNotificationChannelInput!) { createNotificationChannel(input: $i) { id } }`, { i })).createNotificationChannel.id
      },
      snapshot: (id) => row('notification_channel', id),
      update: (id, i) => mutate('updateNotificationChannel', '$id: ID!, $input: UpdateNotificationChannelInput!', { id, input: i }),
      fields: {
        name: { input: { name: 'renamed-nch' }, changes: ['name'] },
        // A chat URL is write-only: stored sealed (url_sealed), with its host shown (url_host); url stays null.
        kind: { input: { kind: 'SLACK', url: 'http://127.0.0.1:9/hooks/s' }, changes: ['kind', 'url_sealed', 'url_host', 'smtp_credential_id'] },
        url: { input: { kind: 'MATTERMOST', url: 'http://127.0.0.1:9/hooks/b' }, changes: ['kind', 'url_sealed', 'url_host', 'smtp_credential_id'] },
        headers: { input: { headers: { 'X-Other': '1' } }, changes: ['headers'] },
        secretCredentialId: { input: { kind: 'WEBHOOK', url: 'http://127.0.0.1:9/hooks/w', secretCredentialId: fx.creds[1] }, changes: ['kind', 'url', 'url_host', 'secret_credential_id', 'smtp_credential_id'] },
        smtpHost: { input: { smtpHost: 'localhost' }, changes: ['smtp_host'] },
        smtpPort: { input: { smtpPort: 465 }, changes: ['smtp_port'] },
        smtpSecurity: { input: { smtpSecurity: 'STARTTLS' }, changes: ['smtp_security'] },
        smtpCredentialId: { input: { smtpCredentialId: fx.creds[1] }, changes: ['smtp_credential_id'] },
        smtpCaCertificate: { input: { smtpCaCertificate: null }, changes: ['smtp_ca_certificate'] },
        emailFrom: { input: { emailFrom: 'Other <other@example.com>' }, changes: ['email_from'] },
        emailTo: { input: { emailTo: ['a@example.com', 'b@example.com'] }, changes: ['email_to'] },
        subjectTemplate: { input: { subjectTemplate: null }, changes: ['subject_template'] },
        bodyTemplate: { input: { bodyTemplate: 'text {{ run.number }}' }, changes: ['body_template'] },
        htmlTemplate: { input: { htmlTemplate: '<i>{{ run.status }}</i>' }, changes: ['html_template'] },
      },
    },
    {
      mutation: 'updateNotificationRule',
      async create(n) {
        const channel = async (name: string) =>
          (await t.ok(`mutation($i: CreateNotificationChannelInput!) { createNotificationChannel(input: $i) { id } }`, { i: { name, url: 'http://127.0.0.1:9/hooks/r', secretCredentialId: fx.creds[0] } })).createNotificationChannel.id as string
        const i = {
          name: `nrule-${n}`, events: ['RUN_FAILED', 'RUN_RECOVERED', 'DURATION_EXCEEDED', 'CONSECUTIVE_FAILURES', 'QUEUE_BACKLOG'], templateIds: [fx.templates[0]],
          workflowIds: [fx.workflows[0]], scheduleIds: [await createSchedule(10_000 + n)], tags: ['core'],
          channelIds: [await channel(`nrule-ch-${n}`)], enabled: false, durationLimitSeconds: 600, durationP95Factor: 2.5, consecutiveFailures: 4, queueBacklogSeconds: 300,
        }
        ruleChannels.set(n, await channel(`nrule-ch2-${n}`))
        return (await t.ok(`mutation($i: CreateNotificationRuleInput!) { createNotificationRule(input: $i) { id } }`, { i })).createNotificationRule.id
      },
      snapshot: (id) => row('notification_rule', id),
      update: (id, i) => mutate('updateNotificationRule', '$id: ID!, $input: UpdateNotificationRuleInput!', { id, input: i }),
      fields: {
        name: { input: { name: 'renamed-nrule' }, changes: ['name'] },
        events: { input: { events: ['RUN_SUCCEEDED'] }, changes: ['events'] },
        templateIds: { input: { templateIds: [fx.templates[1]] }, changes: ['template_ids'] },
        workflowIds: { input: { workflowIds: [] }, changes: ['workflow_ids'] },
        scheduleIds: { input: { scheduleIds: [] }, changes: ['schedule_ids'] },
        tags: { input: { tags: ['edge', 'core'] }, changes: ['tags'] },
        queueBacklogSeconds: { input: { queueBacklogSeconds: 60 }, changes: ['queue_backlog_seconds'] },
        // Read when sent: the other channel of the rule just created.
        channelIds: {
          get input() {
            return { channelIds: [...ruleChannels.values()].slice(-1) }
          },
          changes: ['channel_ids'],
        },
        enabled: { input: { enabled: true }, changes: ['enabled'] },
        durationLimitSeconds: { input: { durationLimitSeconds: null }, changes: ['duration_limit_seconds'] },
        durationP95Factor: { input: { durationP95Factor: 3 }, changes: ['duration_p95_factor'] },
        consecutiveFailures: { input: { consecutiveFailures: 5 }, changes: ['consecutive_failures'] },
      },
    },
    {
      mutation: 'updateTicketTracker',
      // A WEBHOOK tracker (saving a REDMINE one calls Redmine) with the Redmine-only fields set too.
      async create(n) {
        const i = { name: `trk-${n}`, kind: 'WEBHOOK', url: 'http://127.0.0.1:9/tracker/a', credentialId: fx.creds[0], project: 'ops', redmineTrackerId: 1, closedStatusId: 5 }
        return (await t.ok(`mutation($i: CreateTicketTrackerInput!) { createTicketTracker(input: $i) { id } }`, { i })).createTicketTracker.id
      },
      snapshot: (id) => row('ticket_tracker', id),
      update: (id, i) => mutate('updateTicketTracker', '$id: ID!, $input: UpdateTicketTrackerInput!', { id, input: i }),
      fields: {
        name: { input: { name: 'renamed-trk' }, changes: ['name'] },
        kind: { input: { kind: 'WEBHOOK' }, changes: [] },
        url: { input: { url: 'http://127.0.0.1:9/tracker/b' }, changes: ['url'] },
        credentialId: { input: { credentialId: fx.creds[1] }, changes: ['credential_id'] },
        project: { input: { project: 'network' }, changes: ['project'] },
        redmineTrackerId: { input: { redmineTrackerId: null }, changes: ['redmine_tracker_id'] },
        closedStatusId: { input: { closedStatusId: 6 }, changes: ['closed_status_id'] },
      },
    },
    {
      mutation: 'updateTicketRule',
      async create(n) {
        const tracker = async (name: string) =>
          (await t.ok(`mutation($i: CreateTicketTrackerInput!) { createTicketTracker(input: $i) { id } }`, { i: { name, kind: 'WEBHOOK', url: 'http://127.0.0.1:9/tracker/r', credentialId: fx.creds[0] } })).createTicketTracker.id as string
        const i = { name: `trule-${n}`, trackerId: await tracker(`trule-trk-${n}`), templateIds: [fx.templates[0]], trigger: 'CONSECUTIVE_FAILURES', consecutiveFailures: 4, priority: 'HIGH', closeOnRecovery: false, enabled: false }
        ruleTrackers.set(n, await tracker(`trule-trk2-${n}`))
        return (await t.ok(`mutation($i: CreateTicketRuleInput!) { createTicketRule(input: $i) { id } }`, { i })).createTicketRule.id
      },
      snapshot: (id) => row('ticket_rule', id),
      update: (id, i) => mutate('updateTicketRule', '$id: ID!, $input: UpdateTicketRuleInput!', { id, input: i }),
      fields: {
        name: { input: { name: 'renamed-trule' }, changes: ['name'] },
        trackerId: {
          get input() {
            return { trackerId: [...ruleTrackers.values()].at(-1) }
          },
          changes: ['tracker_id'],
        },
        templateIds: { input: { templateIds: [fx.templates[1]] }, changes: ['template_ids'] },
        trigger: { input: { trigger: 'FAILED' }, changes: ['trigger'] },
        consecutiveFailures: { input: { consecutiveFailures: null }, changes: ['consecutive_failures'] },
        priority: { input: { priority: 'URGENT' }, changes: ['priority'] },
        closeOnRecovery: { input: { closeOnRecovery: true }, changes: ['close_on_recovery'] },
        enabled: { input: { enabled: true }, changes: ['enabled'] },
      },
    },
    {
      mutation: 'updateTemplateDependency',
      async create(n) {
        // Fresh ends per dependency (a pair is unique); switching an end goes to fx.templates[1].
        const tpl = async (name: string) =>
          (await t.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { name, jobType: 'noop', config: {}, parameters: [{ name: 'site', type: 'STRING', required: true }], visibility: 'GLOBAL' } })).createJobTemplate.id as string
        const i = { upstreamTemplateId: await tpl(`dep-up-${n}`), downstreamTemplateId: await tpl(`dep-down-${n}`), onStatuses: ['FAILED', 'TIMED_OUT'], parameters: { site: 'fra1' }, enabled: false }
        return (await t.ok(`mutation($i: CreateTemplateDependencyInput!) { createTemplateDependency(input: $i) { id } }`, { i })).createTemplateDependency.id
      },
      snapshot: (id) => row('template_dependency', id),
      update: (id, i) => mutate('updateTemplateDependency', '$id: ID!, $input: UpdateTemplateDependencyInput!', { id, input: i }),
      fields: {
        upstreamTemplateId: { input: { upstreamTemplateId: fx.templates[1] }, changes: ['upstream_template_id'] },
        downstreamTemplateId: { input: { downstreamTemplateId: fx.templates[1] }, changes: ['downstream_template_id'] },
        onStatuses: { input: { onStatuses: ['SUCCEEDED'] }, changes: ['on_statuses'] },
        parameters: { input: { parameters: { site: 'ams1' } }, changes: ['parameters'] },
        enabled: { input: { enabled: true }, changes: ['enabled'] },
      },
    },
    {
      mutation: 'updateWebhookEndpoint',
      async create(n) {
        const i = {
          name: `hook-${n}`,
          templateId: fx.templates[0],
          enabled: false,
          secretCredentialId: fx.creds[0],
          parameterMapping: { site: { path: '/repository/name' } },
          rateLimitPerMinute: 7,
          maxBodyBytes: 2048,
          replayWindowSeconds: 120,
        }
        return (await t.ok(`mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id } } }`, { i })).createWebhookEndpoint.endpoint.id
      },
      snapshot: (id) => row('webhook_endpoint', id),
      update: (id, i) => mutate('updateWebhookEndpoint', '$id: ID!, $input: UpdateWebhookEndpointInput!', { id, input: i }),
      fields: {
        name: { input: { name: 'renamed-hook' }, changes: ['name'] },
        templateId: { input: { templateId: fx.templates[1] }, changes: ['template_id'] },
        // The endpoint then runs the workflow instead (exactly one of the two).
        workflowId: { input: { workflowId: fx.workflows[0] }, changes: ['template_id', 'workflow_id'] },
        enabled: { input: { enabled: true }, changes: ['enabled'] },
        secretCredentialId: { input: { secretCredentialId: fx.creds[1] }, changes: ['secret_credential_id'] },
        parameterMapping: { input: { parameterMapping: { site: { value: 'fra1' } } }, changes: ['parameter_mapping'] },
        rateLimitPerMinute: { input: { rateLimitPerMinute: 8 }, changes: ['rate_limit_per_minute'] },
        maxBodyBytes: { input: { maxBodyBytes: 4096 }, changes: ['max_body_bytes'] },
        replayWindowSeconds: { input: { replayWindowSeconds: 600 }, changes: ['replay_window_seconds'] },
      },
    },
    {
      mutation: 'updateWorkflow',
      async create(n) {
        const i = {
          name: `wf-${n}`,
          description: 'scan then back up',
          parameters: [{ name: 'site', type: 'STRING', default: 'fra1' }],
          nodes: [
            { key: 'a', templateId: fx.templates[0], parameters: { site: 'fra1' } },
            { key: 'b', templateId: fx.templates[1], joinPolicy: 'ALL_DONE', parameters: { site: '{{ params.site }}' } },
          ],
          edges: [{ from: 'a', to: 'b', kind: 'ALWAYS' }],
          visibility: 'GLOBAL',
        }
        return (await t.ok(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, { i })).createWorkflow.id
      },
      // The workflow row, and its nodes and edges (rows replaced on save: compared by content, not id).
      async snapshot(id) {
        const wf = await row('workflow', id)
        const q = await t.app.db.pool.query(
          `SELECT (SELECT json_agg(json_build_object('key', key, 'position', position, 'kind', kind, 'template', template_id, 'parameters', parameters, 'join', join_policy, 'approval', approval) ORDER BY position) FROM workflow_node WHERE workflow_id = $1) AS nodes,
                  (SELECT json_agg(json_build_object('position', position, 'from', from_key, 'to', to_key, 'kind', kind) ORDER BY position) FROM workflow_edge WHERE workflow_id = $1) AS edges`,
          [rawId(id)],
        )
        return { ...wf, nodes: q.rows[0].nodes, edges: q.rows[0].edges }
      },
      update: (id, i) => mutate('updateWorkflow', '$id: ID!, $input: UpdateWorkflowInput!', { id, input: i }),
      fields: {
        name: { input: { name: 'renamed-wf' }, changes: ['name'] },
        description: { input: { description: 'changed' }, changes: ['description'] },
        parameters: { input: { parameters: [{ name: 'site', type: 'STRING', default: 'ams1' }] }, changes: ['parameters'] },
        nodes: {
          input: {
            nodes: [
              { key: 'a', templateId: fx.templates[0], parameters: { site: 'ams1' } },
              { key: 'b', templateId: fx.templates[1], joinPolicy: 'ALL_DONE', parameters: { site: '{{ params.site }}' } },
            ],
          },
          changes: ['nodes'],
        },
        edges: { input: { edges: [{ from: 'a', to: 'b', kind: 'ON_FAILURE' }] }, changes: ['edges'] },
        visibility: { input: { visibility: 'PRIVATE' }, changes: ['visibility'] },
      },
    },
    {
      mutation: 'updateJobTemplate',
      async create(n) {
        const i = {
          name: `tpl-${n}`,
          description: 'does things',
          jobType: 'noop',
          config: { message: 'hi' },
          targetSelector: { tags: ['core'], namePatterns: ['sw-*'], targetIds: [fx.targets[0]], inventoryIds: [fx.inventories[0]] },
          parameters: [{ name: 'site', type: 'STRING', required: true }],
          timeoutSeconds: 600,
          retryMaxAttempts: 3,
          retryDelaySeconds: 30,
          retryBackoff: 'EXPONENTIAL',
          maxParallelTargets: 4,
          successThreshold: 75,
          overlapPolicy: 'QUEUE',
          maxConcurrentRuns: 2,
          logLimitLines: 1000,
          logLimitBytes: 100000,
          visibility: 'GLOBAL',
          tags: ['core'],
        }
        return (await t.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i })).createJobTemplate.id
      },
      snapshot: (id) => row('job_template', id),
      update: (id, i) => mutate('updateJobTemplate', '$id: ID!, $input: UpdateJobTemplateInput!', { id, input: i }),
      fields: {
        name: { input: { name: 'renamed-tpl' }, changes: ['name'] },
        description: { input: { description: 'changed' }, changes: ['description'] },
        jobType: { input: { jobType: 'command', config: { commands: ['true'] } }, changes: ['job_type', 'config'] },
        config: { input: { config: { message: 'bye' } }, changes: ['config'] },
        targetSelector: { input: { targetSelector: { tags: ['edge'] } }, changes: ['target_selector'] },
        parameters: { input: { parameters: [{ name: 'region', type: 'INT', default: 3 }] }, changes: ['parameters'] },
        // A noop publishes no step outputs: declaring them takes a job type that does.
        outputs: { input: { jobType: 'command', config: { commands: ['true'] }, outputs: [{ name: 'count', kind: 'NUMBER' }] }, changes: ['job_type', 'config', 'outputs'] },
        timeoutSeconds: { input: { timeoutSeconds: 60 }, changes: ['timeout_seconds'] },
        retryMaxAttempts: { input: { retryMaxAttempts: 5 }, changes: ['retry_max_attempts'] },
        retryDelaySeconds: { input: { retryDelaySeconds: 5 }, changes: ['retry_delay_seconds'] },
        retryBackoff: { input: { retryBackoff: 'FIXED' }, changes: ['retry_backoff'] },
        maxParallelTargets: { input: { maxParallelTargets: 9 }, changes: ['max_parallel_targets'] },
        successThreshold: { input: { successThreshold: 50 }, changes: ['success_threshold'] },
        overlapPolicy: { input: { overlapPolicy: 'SKIP' }, changes: ['overlap_policy'] },
        maxConcurrentRuns: { input: { maxConcurrentRuns: 5 }, changes: ['max_concurrent_runs'] },
        logLimitLines: { input: { logLimitLines: 2000 }, changes: ['log_limit_lines'] },
        logLimitBytes: { input: { logLimitBytes: 200000 }, changes: ['log_limit_bytes'] },
        visibility: { input: { visibility: 'PRIVATE' }, changes: ['visibility'] },
        tags: { input: { tags: ['edge'] }, changes: ['tags'] },
      },
    },
    {
      mutation: 'updateTarget',
      async create(n) {
        const i = { name: `tgt-${n}`, description: 'core switch', host: '127.0.0.10', port: 2222, credentialId: fx.creds[0], tags: ['core'], attributes: { site: 'fra' } }
        return (await t.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i })).createTarget.id
      },
      snapshot: (id) => row('target', id),
      update: (id, i) => mutate('updateTarget', '$id: ID!, $input: UpdateTargetInput!', { id, input: i }),
      fields: {
        name: { input: { name: 'renamed-tgt' }, changes: ['name'] },
        description: { input: { description: 'changed' }, changes: ['description'] },
        host: { input: { host: '127.0.0.11' }, changes: ['host'] },
        port: { input: { port: 2200 }, changes: ['port'] },
        credentialId: { input: { credentialId: fx.creds[1] }, changes: ['credential_id'] },
        tags: { input: { tags: ['edge'] }, changes: ['tags'] },
        attributes: { input: { attributes: { site: 'ams' } }, changes: ['attributes'] },
      },
    },
    {
      mutation: 'updateUser',
      async create(n) {
        const i = { username: `user-${n}`, password: 'password-123', role: 'OPERATOR' }
        const id = (await t.ok(`mutation($i: CreateUserInput!) { createUser(input: $i) { id } }`, { i })).createUser.id
        await t.ok(`mutation($id: ID!) { updateUser(id: $id, input: { disabled: true }) { id } }`, { id })
        return id
      },
      snapshot: (id) => row('app_user', id),
      update: (id, i) => mutate('updateUser', '$id: ID!, $input: UpdateUserInput!', { id, input: i }),
      fields: {
        disabled: { input: { disabled: false }, changes: ['disabled'] },
        password: { input: { password: 'password-456' }, changes: ['password_hash'] },
        role: { input: { role: 'VIEWER' }, changes: ['role'] },
      },
    },
  ]
}

/** A real key: the credential service parses private keys before sealing them. */
const TEST_KEY = utils.generateKeyPairSync('ed25519').private
const OTHER_KEY = utils.generateKeyPairSync('ed25519').private

interface IntrospectedMutation {
  name: string
  args: Array<{ name: string; type: { kind: string; name: string | null; ofType: { name: string | null } | null } }>
}

async function introspect(): Promise<{ mutations: IntrospectedMutation[]; inputFields(type: string): Promise<string[]> }> {
  const d = await t.ok(`{ __schema { mutationType { fields { name args { name type { kind name ofType { name } } } } } } }`)
  return {
    mutations: d.__schema.mutationType.fields,
    async inputFields(type) {
      const r = await t.ok(`query($n: String!) { __type(name: $n) { inputFields { name } } }`, { n: type })
      return r.__type.inputFields.map((f: { name: string }) => f.name)
    },
  }
}

/** The fields a mutation takes: its `input` type's fields, or its own arguments besides `id`. */
async function fieldsOf(m: IntrospectedMutation, schema: Awaited<ReturnType<typeof introspect>>): Promise<string[]> {
  const input = m.args.find((a) => a.name === 'input')
  if (input) return schema.inputFields(input.type.ofType?.name ?? input.type.name!)
  return m.args.filter((a) => a.name !== 'id').map((a) => a.name)
}

describe('every update keeps the fields it was not given', () => {
  it('covers every update mutation and every field of its input, one field at a time', async () => {
    const fx = await fixtures()
    const all = cases(fx)
    const schema = await introspect()
    // Mutations that change an existing entity's stored fields (create/delete/trigger/… are not updates).
    const updates = schema.mutations.filter((m) => /^(update|set)[A-Z]/.test(m.name)).map((m) => m.name).sort()
    expect(updates, 'an update mutation without a case here').toEqual(all.map((c) => c.mutation).sort())

    const failures: string[] = []
    for (const c of all) {
      const m = schema.mutations.find((x) => x.name === c.mutation)!
      const fields = await fieldsOf(m, schema)
      expect(Object.keys(c.fields).sort(), `${c.mutation}: input fields without a case`).toEqual([...fields].sort())
      for (const field of fields) {
        const patch = c.fields[field]!
        const id = await c.create(uniq())
        const before = await c.snapshot(id)
        try {
          await c.update(id, patch.input)
        } catch (e) {
          failures.push(`${c.mutation}.${field}: ${(e as Error).message}`)
          continue
        }
        const after = await c.snapshot(id)
        for (const col of Object.keys(before)) {
          if (BOOKKEEPING.has(col)) continue
          const same = JSON.stringify(before[col]) === JSON.stringify(after[col])
          if (patch.changes.includes(col)) {
            if (same) failures.push(`${c.mutation}.${field}: ${col} did not change (the case proves nothing)`)
          } else if (!same) {
            failures.push(`${c.mutation}.${field}: ${col} changed from ${JSON.stringify(before[col])} to ${JSON.stringify(after[col])}`)
          }
        }
      }
    }
    expect(failures).toEqual([])
  }, 120_000)
})
