import { describe, expect, it } from 'vitest'
import { ValidationError } from '../../errors.ts'
import { buildMessage } from './channel-message.ts'
import { checkTemplate, formatDuration, messageContext, renderTemplate, samplePayload } from './message-templates.ts'

const ctx = messageContext(samplePayload(), { publicUrl: 'https://sy.example.com', deliveryId: 'd-1', channelName: 'ops' })

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (e) {
    return e instanceof ValidationError ? e.fields[0]?.field : `not a ValidationError: ${(e as Error).message}`
  }
  return undefined
}

describe('message templates', () => {
  it('formats durations for people', () => {
    expect(formatDuration(4.24)).toBe('4.2s')
    expect(formatDuration(185)).toBe('3m 05s')
    expect(formatDuration(3725)).toBe('1h 02m')
    expect(formatDuration(null)).toBeNull()
  })

  it('refuses file tags, unknown variables and unknown filters at parse, naming the field', () => {
    for (const bad of ["{% include 'x' %}", "{% render 'x' %}", "{% layout 'x' %}", '{{ process.env }}', '{{ run.nope }}', '{{ run.status | shell }}', '{% if %}']) {
      expect(fieldOf(() => checkTemplate('bodyTemplate', bad)), bad).toBe('input.bodyTemplate')
    }
    expect(() => checkTemplate('subjectTemplate', '{{ run.templateName }} {{ details.limitSeconds }} {{ run.parameters.site }}')).not.toThrow()
  })

  it('bounds runaway loops and output', async () => {
    await expect(renderTemplate('bodyTemplate', '{% for i in (1..100000000) %}x{% endfor %}', ctx)).rejects.toThrow(/bodyTemplate/)
    await expect(renderTemplate('bodyTemplate', '{% for i in (1..20000) %}0123456789{% endfor %}', ctx)).rejects.toThrow(/more than/)
  })

  it('escapes every output in HTML bodies; plain bodies stay plain', async () => {
    const evil = messageContext({ event: 'RUN_FAILED', run: { ...samplePayload().run, error: '<script>alert(1)</script>' } }, { publicUrl: null, deliveryId: null, channelName: 'x' })
    expect(await renderTemplate('htmlTemplate', '<p>{{ run.error }}</p>', evil)).toBe('<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>')
    expect(await renderTemplate('bodyTemplate', '{{ run.error }}', evil)).toBe('<script>alert(1)</script>')
  })

  it('the run URL is absolute with a public URL, else null (the link keeps the path)', async () => {
    expect(await renderTemplate('bodyTemplate', '{{ run.url }} {{ run.link }}', ctx)).toBe(`https://sy.example.com/runs/${samplePayload().run.id} /runs/${samplePayload().run.id}`)
    const noUrl = messageContext(samplePayload(), { publicUrl: null, deliveryId: null, channelName: 'x' })
    expect(await renderTemplate('bodyTemplate', '{{ run.url | default: run.link }}', noUrl)).toBe(`/runs/${samplePayload().run.id}`)
  })

  it('a webhook body template must render to JSON', async () => {
    const ch = { name: 'h', kind: 'WEBHOOK' as const, bodyTemplate: '{"s": {{ run.status }}}' }
    await expect(buildMessage(ch, samplePayload(), { publicUrl: null, deliveryId: null, fieldPrefix: 'input.' })).rejects.toMatchObject({ fields: [{ field: 'input.bodyTemplate' }] })
    const ok = await buildMessage({ ...ch, bodyTemplate: '{"s": {{ run.status | json }}}' }, samplePayload(), { publicUrl: null, deliveryId: null })
    expect(ok).toEqual({ kind: 'http', body: '{"s": "FAILED"}' })
  })
})

describe('default messages for events without a run or with figures', () => {
  const kinds = ['WEBHOOK', 'EMAIL', 'SLACK', 'TEAMS', 'MATTERMOST'] as const
  const opts = { publicUrl: null, deliveryId: 'd-2' }

  it('a worker event (no run) names the worker in every channel kind, never an empty run', async () => {
    const payload = samplePayload('WORKER_DOWN')
    expect(payload.run).toBeNull()
    for (const kind of kinds) {
      const m = await buildMessage({ name: 'ops', kind }, payload, opts)
      const text = m.kind === 'email' ? `${m.subject}\n${m.text}\n${m.html}` : m.body
      expect(text, kind).toContain(kind === 'WEBHOOK' ? '"hostname":"worker-1"' : 'worker-1')
      expect(text, kind).not.toMatch(/ #\s|undefined|\/runs\//)
    }
    const mail = await buildMessage({ name: 'ops', kind: 'EMAIL' }, payload, opts)
    expect(mail.kind === 'email' && mail.subject).toBe('Worker worker-1 (pid 4242) is down (no heartbeat)')
  })

  it('CONFIG_CHANGED lists the commit and each changed target; QUEUE_BACKLOG the wait', async () => {
    const changed = await buildMessage({ name: 'ops', kind: 'EMAIL' }, samplePayload('CONFIG_CHANGED'), opts)
    expect(changed.kind === 'email' && changed.text).toMatch(/Commit: 4b825dc6.*\nsw-core-1: \+3 -1/s)
    const backlog = await buildMessage({ name: 'ops', kind: 'SLACK' }, samplePayload('QUEUE_BACKLOG'), opts)
    expect(backlog.kind === 'http' && backlog.body).toContain('312s (limit 300s, 14 queued)')
  })
})
