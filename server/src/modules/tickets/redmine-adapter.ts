/**
 * Redmine over its REST API (Redmine ≥ 4; tested against Debian's 5.0.4): issues in the tracker's project,
 * the API key in the X-Redmine-API-Key header. Priorities are Redmine's enumerations matched by name
 * (Low, Normal, High, Urgent — the default data); closing sets closedStatusId or the first status Redmine
 * marks closed, reopening the first open one (both looked up per call: a few ms, and always current).
 * Creates are idempotent per ticket (ticketMarker).
 */
import { TrackerError, trackerFetch, type TrackerAdapter, type TrackerSettings } from './tracker-adapter.ts'

const PRIORITY_NAMES = { LOW: 'low', NORMAL: 'normal', HIGH: 'high', URGENT: 'urgent' } as const

function base(t: TrackerSettings): string {
  return t.url.replace(/\/+$/, '')
}

async function call<T>(t: TrackerSettings, method: string, path: string, body?: unknown): Promise<T | null> {
  const { text } = await trackerFetch(`${base(t)}${path}`, {
    method,
    headers: { 'X-Redmine-API-Key': t.secret, Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), 'User-Agent': 'Switchyard-Tickets' },
    body: body === undefined ? undefined : JSON.stringify(body),
    outbound: t.outbound,
  })
  if (!text.trim()) return null
  try {
    return JSON.parse(text) as T
  } catch {
    throw new TrackerError('Redmine answered with something that is not JSON (is the URL the Redmine root?)', null, false)
  }
}

async function priorityId(t: TrackerSettings, priority: keyof typeof PRIORITY_NAMES): Promise<number | undefined> {
  const r = await call<{ issue_priorities: Array<{ id: number; name: string; is_default?: boolean }> }>(t, 'GET', '/enumerations/issue_priorities.json')
  const list = r?.issue_priorities ?? []
  return list.find((p) => p.name.toLowerCase() === PRIORITY_NAMES[priority])?.id ?? list.find((p) => p.is_default)?.id
}

async function statusId(t: TrackerSettings, closed: boolean): Promise<number> {
  if (closed && t.closedStatusId) return t.closedStatusId
  const r = await call<{ issue_statuses: Array<{ id: number; is_closed: boolean }> }>(t, 'GET', '/issue_statuses.json')
  const s = (r?.issue_statuses ?? []).find((x) => x.is_closed === closed)
  if (!s) throw new TrackerError(`Redmine has no ${closed ? 'closed' : 'open'} issue status`, null, false)
  return s.id
}

/**
 * The last line of every issue's description: the ticket it belongs to. A create tried again because the
 * answer to an earlier one was lost — or the worker died before recording the issue's id — finds the issue
 * by it instead of making a second one.
 */
export function ticketMarker(ticketId: string): string {
  return `Switchyard ticket ${ticketId}`
}

export const redmineAdapter: TrackerAdapter = {
  async createIssue(t, issue) {
    if (!t.project) throw new TrackerError('the tracker has no Redmine project', null, false)
    const marker = ticketMarker(issue.ticketId)
    const query = `project_id=${encodeURIComponent(t.project)}&status_id=*&description=${encodeURIComponent(`~${marker}`)}&limit=1`
    // Checked here too: a Redmine without the description filter would ignore it and list any issue.
    const found = (await call<{ issues?: Array<{ id?: number; description?: string }> }>(t, 'GET', `/issues.json?${query}`))?.issues ?? []
    const made = found.find((i) => i.id != null && i.description?.includes(marker))?.id
    if (made != null) return { externalId: String(made), url: `${base(t)}/issues/${made}` }
    const created = await call<{ issue?: { id?: number } }>(t, 'POST', '/issues.json', {
      issue: {
        project_id: t.project,
        ...(t.redmineTrackerId ? { tracker_id: t.redmineTrackerId } : {}),
        subject: issue.title,
        description: `${issue.description}\n\n${marker}`,
        priority_id: await priorityId(t, issue.priority),
      },
    })
    const id = created?.issue?.id
    if (id == null) throw new TrackerError('Redmine created no issue id', null, false)
    return { externalId: String(id), url: `${base(t)}/issues/${id}` }
  },
  async addComment(t, externalId, body) {
    await call(t, 'PUT', `/issues/${encodeURIComponent(externalId)}.json`, { issue: { notes: body } })
  },
  async close(t, externalId) {
    await call(t, 'PUT', `/issues/${encodeURIComponent(externalId)}.json`, { issue: { status_id: await statusId(t, true) } })
  },
  async reopen(t, externalId) {
    await call(t, 'PUT', `/issues/${encodeURIComponent(externalId)}.json`, { issue: { status_id: await statusId(t, false) } })
  },
}
