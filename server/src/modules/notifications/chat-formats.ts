/**
 * The incoming-webhook bodies of Slack (Block Kit), Microsoft Teams (an Adaptive Card in a message
 * activity, as Teams' Workflows and incoming webhooks accept) and Mattermost (Slack-style message
 * attachments). Each shows the same facts: the run's name and status, duration, attempt, failed targets,
 * the error, and a link to the run page (a button when SWITCHYARD_PUBLIC_URL makes it absolute; the
 * path otherwise). `text`, when the channel has a body template, is shown above the facts.
 */
import type { MessageContext } from './message-templates.ts'

export interface ChatMessage {
  title: string
  text: string | null
  ctx: MessageContext
}

type Tone = 'good' | 'bad' | 'warn' | 'info'
const HEX: Record<Tone, string> = { good: '#2EB67D', bad: '#E01E5A', warn: '#ECB22E', info: '#1D9BD1' }
const ADAPTIVE_COLOR: Record<Tone, string> = { good: 'Good', bad: 'Attention', warn: 'Warning', info: 'Accent' }

function tone(event: string): Tone {
  if (event === 'RUN_SUCCEEDED' || event === 'RUN_RECOVERED' || event === 'WORKER_RECOVERED') return 'good'
  if (event === 'RUN_CANCELLED' || event === 'DURATION_EXCEEDED' || event === 'SCHEDULE_SLOT_MISSED' || event === 'SCHEDULE_SLOT_SKIPPED' || event === 'QUEUE_BACKLOG') return 'warn'
  if (event === 'RUN_STARTED' || event === 'CONFIG_CHANGED') return 'info'
  return 'bad'
}

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s)

interface Facts {
  pairs: Array<[string, string]>
  failedTargets: string[]
  error: string | null
  url: string | null
  link: string | null
}

function facts(ctx: MessageContext): Facts {
  const r = ctx.run as Record<string, unknown>
  const d = ctx.details
  if (r.id == null) {
    // A worker event: no run, the worker's facts.
    const pairs: Array<[string, string]> = [['Host', String(d.hostname)], ['PID', String(d.pid)], ['Last heartbeat', String(d.lastHeartbeatAt)], ['Runs it was running', String(d.runningRuns)]]
    return { pairs, failedTargets: [], error: null, url: null, link: null }
  }
  const pairs: Array<[string, string]> = [['Status', String(r.status)]]
  if (r.duration) pairs.push(['Duration', String(r.duration)])
  pairs.push(['Attempt', `${r.attempt} of ${r.maxAttempts}`], ['Trigger', String(r.trigger)])
  if (d.consecutiveFailures != null) pairs.push(['Failures in a row', String(d.consecutiveFailures)])
  if (d.limitSeconds != null) pairs.push(['Limit', `${d.limitSeconds}s`])
  if (d.p95Seconds != null) pairs.push(['Usual (p95)', `${d.p95Seconds}s × ${d.p95Factor}`])
  if (typeof d.commit === 'string') pairs.push(['Commit', d.commit.slice(0, 12)])
  if (Array.isArray(d.changedTargets) && d.changedTargets.length) pairs.push(['Changed', (d.changedTargets as Array<{ name: string; diffSummary: string }>).map((t) => `${t.name} (${t.diffSummary})`).join(', ')])
  if (d.queuedSeconds != null) pairs.push(['Oldest queued', `${d.queuedSeconds}s (limit ${d.thresholdSeconds}s, ${d.queuedRuns} queued)`])
  return {
    pairs,
    failedTargets: Array.isArray(r.failedTargets) ? (r.failedTargets as string[]) : [],
    error: typeof r.error === 'string' && r.error ? r.error : null,
    url: typeof r.url === 'string' ? r.url : null,
    link: String(r.link),
  }
}

/** Slack mrkdwn treats &, < and > as control characters: escaped as Slack documents. */
const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

export function slackBody(m: ChatMessage): Record<string, unknown> {
  const f = facts(m.ctx)
  const blocks: Array<Record<string, unknown>> = [{ type: 'header', text: { type: 'plain_text', text: cut(m.title, 150), emoji: true } }]
  if (m.text) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(slackEscape(m.text), 3000) } })
  blocks.push({ type: 'section', fields: f.pairs.map(([k, v]) => ({ type: 'mrkdwn', text: cut(`*${k}*\n${slackEscape(v)}`, 2000) })) })
  if (f.failedTargets.length) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(`*Failed targets*\n${slackEscape(f.failedTargets.join(', '))}`, 3000) } })
  if (f.error) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(`*Error*\n\`\`\`${slackEscape(f.error)}\`\`\``, 3000) } })
  if (f.url) blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open run' }, url: cut(f.url, 3000) }] })
  else if (f.link) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Run: ${slackEscape(f.link)}` }] })
  // `text` is the notification's fallback (and what screen readers announce).
  return { text: cut(m.title, 3000), blocks }
}

export function mattermostBody(m: ChatMessage): Record<string, unknown> {
  const f = facts(m.ctx)
  const fields = f.pairs.map(([title, value]) => ({ short: true, title, value }))
  if (f.failedTargets.length) fields.push({ short: false, title: 'Failed targets', value: f.failedTargets.join(', ') })
  if (!f.url && f.link) fields.push({ short: false, title: 'Run', value: f.link })
  const attachment: Record<string, unknown> = { fallback: m.title, color: HEX[tone(m.ctx.event)], title: m.title, fields }
  if (f.url) attachment.title_link = f.url
  if (f.error) attachment.text = `\`\`\`\n${f.error}\n\`\`\``
  const body: Record<string, unknown> = { attachments: [attachment] }
  if (m.text) body.text = m.text
  return body
}

export function teamsBody(m: ChatMessage): Record<string, unknown> {
  const f = facts(m.ctx)
  const body: Array<Record<string, unknown>> = [
    { type: 'TextBlock', text: m.title, size: 'Large', weight: 'Bolder', wrap: true, color: ADAPTIVE_COLOR[tone(m.ctx.event)] },
  ]
  if (m.text) body.push({ type: 'TextBlock', text: m.text, wrap: true })
  const factList = f.pairs.map(([title, value]) => ({ title, value }))
  if (f.failedTargets.length) factList.push({ title: 'Failed targets', value: f.failedTargets.join(', ') })
  if (!f.url && f.link) factList.push({ title: 'Run', value: f.link })
  body.push({ type: 'FactSet', facts: factList })
  if (f.error) body.push({ type: 'TextBlock', text: f.error, wrap: true, fontType: 'Monospace', color: 'Attention' })
  const card: Record<string, unknown> = { $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', body }
  if (f.url) card.actions = [{ type: 'Action.OpenUrl', title: 'Open run', url: f.url }]
  return { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }] }
}
