/**
 * The feeds' loops with their boundaries faked (the database, the NOTIFY listener): a failed read is
 * retried without losing the change, and only repeated failures end the subscription. The real thing
 * (Postgres, NOTIFY, graphql-ws) is in test/integration/workflow-feeds.test.ts.
 */
import { describe, expect, it } from 'vitest'
import type { PrismaClient, WorkflowNodeRun, WorkflowRun } from '../../generated/prisma/client.ts'
import type { PgListener } from '../../pubsub/pg-listener.ts'
import { silentLogger } from '../../util/logger.ts'
import type { Actor } from '../actor.ts'
import { WorkflowFeeds } from './workflow-feeds.ts'
import type { WorkflowRunsService } from './workflow-runs.service.ts'

const actor: Actor = { userId: 'u1', username: 'op', role: 'OPERATOR', via: 'SESSION' } as Actor
const options = { runsBatchMs: 1, inboxBatchMs: 1, inboxSafetyPollMs: 60_000 }

function fakeListener() {
  const handlers = new Set<(payload: string) => void>()
  return {
    listener: { on: async (_c: string, h: (p: string) => void) => (handlers.add(h), async () => void handlers.delete(h)) } as unknown as PgListener,
    notify: (payload: string) => handlers.forEach((h) => h(payload)),
    count: () => handlers.size,
  }
}

const run = (id: string, eventSeq: number) => ({ id, number: 1, status: 'RUNNING', eventSeq, updatedAt: new Date(0), cancelRequestedAt: null }) as unknown as WorkflowRun

describe('WorkflowFeeds', () => {
  it('runsChanged retries a failed read and still delivers the change', async () => {
    const l = fakeListener()
    let calls = 0
    const prisma = { workflowRun: { findMany: async () => (++calls === 1 ? Promise.reject(new Error('connection lost')) : [run('r1', 3)]) } } as unknown as PrismaClient
    const runs = { whereFor: () => ({}) } as unknown as WorkflowRunsService
    const feed = new WorkflowFeeds(prisma, runs, l.listener, silentLogger, options).runsChanged(actor, {})
    const it = feed[Symbol.asyncIterator]()
    const next = it.next()
    await new Promise((r) => setTimeout(r, 10))
    l.notify('r1')
    expect((await next).value).toMatchObject({ id: 'r1', eventSeq: 3 })
    expect(calls).toBe(2)
    await it.return?.()
    expect(l.count()).toBe(0)
  })

  it('pendingApprovals rides out a failed read and pushes the list again after a change', async () => {
    const l = fakeListener()
    const lists: Array<WorkflowNodeRun[] | Error> = [new Error('down'), [], [{ id: 'n1', status: 'AWAITING_APPROVAL' } as WorkflowNodeRun]]
    const runs = { pendingApprovals: async () => { const x = lists.shift() ?? []; if (x instanceof Error) throw x; return x } } as unknown as WorkflowRunsService
    const prisma = { workflowApproval: { count: async () => 0 } } as unknown as PrismaClient
    const it = new WorkflowFeeds(prisma, runs, l.listener, silentLogger, options).pendingApprovals(actor)[Symbol.asyncIterator]()
    expect((await it.next()).value).toEqual([])
    l.notify('anything')
    expect((await it.next()).value).toEqual([{ id: 'n1', status: 'AWAITING_APPROVAL' }])
    // Leaving while the loop waits on its push ends it at once, listener released (no hour-long sleep).
    await it.return?.()
    await new Promise((r) => setTimeout(r, 20))
    expect(l.count()).toBe(0)
  })

  it('pendingApprovals fails after too many failed reads in a row', async () => {
    const prisma = { workflowApproval: { count: async () => 0 } } as unknown as PrismaClient
    const broken = { pendingApprovals: async () => Promise.reject(new Error('down')) } as unknown as WorkflowRunsService
    const failing = new WorkflowFeeds(prisma, broken, fakeListener().listener, silentLogger, options).pendingApprovals(actor)[Symbol.asyncIterator]()
    await expect(failing.next()).rejects.toThrow(/not available right now/)
  }, 15_000)
})
