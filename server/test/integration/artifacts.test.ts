/** Run artifacts: stored by an executor, listed on the run, downloaded with the API token, private like the run. */
import crypto from 'node:crypto'
import { z } from 'zod'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ExecutorRegistry } from '../../src/jobs/executors/registry.ts'
import type { JobExecutor } from '../../src/jobs/executors/types.ts'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'

const content = Buffer.from('hostname: edge-1\nversion: 17.3\n')
const producer: JobExecutor = {
  type: 'produce',
  label: 'Produce',
  description: 'test: stores an artifact',
  configSchema: z.object({}),
  usesTargets: false,
  async execute(ctx) {
    await ctx.storeArtifact({ runTargetId: null, name: 'edge-1/running-config.txt', content, sha256: crypto.createHash('sha256').update(content).digest('hex') })
    return { ok: true }
  },
}

let t: TestApp
beforeAll(async () => {
  t = await startTestApp({ registry: new ExecutorRegistry([producer]) })
})
afterAll(() => t?.stop())

describe('run artifacts', () => {
  it('are listed on the run and downloadable with the token; private runs stay private', async () => {
    const alice = await t.userToken('OPERATOR', 'alice')
    const bob = await t.userToken('OPERATOR', 'bob')
    const tpl = (await t.ok(`mutation { createJobTemplate(input: { name: "p", jobType: "produce", config: {}, visibility: PRIVATE }) { id } }`, {}, alice)).createJobTemplate.id
    const run = (await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: tpl }, alice)).triggerJobRun.id
    const r = await eventually(async () => {
      const d = (await t.ok(`query($id: ID!) { jobRun(id: $id) { status artifacts { id name size sha256 downloadPath expiresAt } } }`, { id: run }, alice)).jobRun
      return d.status === 'SUCCEEDED' ? d : null
    }, { what: 'run to succeed' })
    expect(r.artifacts).toHaveLength(1)
    const a = r.artifacts[0]
    expect(a).toMatchObject({ name: 'edge-1/running-config.txt', size: content.length, sha256: crypto.createHash('sha256').update(content).digest('hex') })
    expect(new Date(a.expiresAt).getTime()).toBeGreaterThan(Date.now() + 29 * 86400_000)

    const get = (token: string | null) => fetch(t.url + a.downloadPath, { headers: token ? { authorization: `Bearer ${token}` } : {} })
    const ok = await get(alice)
    expect(ok.status).toBe(200)
    expect(ok.headers.get('content-disposition')).toBe('attachment; filename="running-config.txt"')
    expect(Buffer.from(await ok.arrayBuffer())).toEqual(content)
    expect((await get(null)).status).toBe(401)
    expect((await get(bob)).status).toBe(404)
    expect((await fetch(t.url + '/artifacts/not-an-id', { headers: { authorization: `Bearer ${alice}` } })).status).toBe(404)

    // Retention: an expired artifact is gone from the API at once and deleted by the reaper.
    await t.app.db.pool.query(`UPDATE run_artifact SET expires_at = now() - interval '1 second'`)
    expect((await get(alice)).status).toBe(404)
    await t.app.reaper!.reapOnce()
    expect((await t.app.db.pool.query(`SELECT count(*)::int AS n FROM run_artifact`)).rows[0].n).toBe(0)
  })
})
