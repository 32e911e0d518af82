/**
 * The web UI is a static export served by the server (server/src/http/ui.ts): each detail route exists
 * once, for a placeholder id, and the server answers every id with it. These journeys check, in real
 * Chromium against the real server, that the page still shows the run its address names — after a
 * client-side <Link> navigation between two run pages (same route, other id) and after a hard reload —
 * and that no script is refused by the page's hash-based Content-Security-Policy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { unusedLoopbackPort } from '../../server/test/harness/sshd.ts'
import { launchBrowser, newPage, screenshot } from '../harness/browser.ts'
import { startServer, type E2eServer } from '../harness/server.ts'

let server: E2eServer
let browser: Browser

beforeAll(async () => {
  ;[server, browser] = await Promise.all([startServer(), launchBrowser()])
})

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

async function settled(id: string): Promise<string> {
  for (;;) {
    const { jobRun } = await server.gql<{ jobRun: { status: string } }>(`query($id: ID!) { jobRun(id: $id) { status } }`, { id })
    if (!['QUEUED', 'PENDING', 'RUNNING', 'SCHEDULED'].includes(jobRun.status)) return jobRun.status
    await new Promise((r) => setTimeout(r, 200))
  }
}

const heading = (p: Page, n: number) => p.getByRole('heading', { level: 1 }).filter({ hasText: `Run #${n} ` })

describe('static UI: detail pages for any id', () => {
  it('shows the run the address names after a client-side navigation between two runs and after a hard reload', async () => {
    const closed = await unusedLoopbackPort()
    const { createJobTemplate } = await server.gql<{ createJobTemplate: { id: string } }>(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
      i: { name: 'e2e static failing', jobType: 'http', visibility: 'GLOBAL', config: { url: `http://127.0.0.1:${closed}/down` }, targetSelector: {} },
    })
    const { triggerJobRun: first } = await server.gql<{ triggerJobRun: { id: string; number: number } }>(`mutation($t: ID!) { triggerJobRun(templateId: $t) { id number } }`, { t: createJobTemplate.id })
    expect(await settled(first.id)).toBe('FAILED')
    const { retryJobRun: second } = await server.gql<{ retryJobRun: { id: string; number: number } }>(`mutation($id: ID!) { retryJobRun(id: $id) { id number } }`, { id: first.id })
    expect(second.number).not.toBe(first.number)

    const { page: p } = await newPage(browser, server.url)
    const cspErrors: string[] = []
    p.on('console', (m) => /Content Security Policy/i.test(m.text()) && cspErrors.push(m.text()))
    await p.addInitScript((t) => {
      localStorage.setItem('switchyard.session', JSON.stringify({ token: t, expiresAt: new Date(Date.now() + 3600e3).toISOString(), user: { id: 'x', username: 'admin', role: 'ADMIN' } }))
    }, server.adminToken)

    // A hard load of the retry's page: the server sends the placeholder page, the page reads the id.
    await p.goto(`/runs/${second.id}`)
    await heading(p, second.number).waitFor()
    // Marks this document: a client-side navigation keeps it, a full page load would drop it.
    await p.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true))
    const sameDocument = () => p.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument === true)

    // "Retry of #first": a <Link> to the same route with another id.
    await p.getByRole('link', { name: `#${first.number}`, exact: true }).click()
    await p.waitForURL(`**/runs/${first.id}`)
    await heading(p, first.number).waitFor()
    expect(await sameDocument()).toBe(true)
    // "Retried as #second": and back, still in the same document.
    await p.getByTestId('run-retries').getByRole('link', { name: `#${second.number}`, exact: true }).click()
    await p.waitForURL(`**/runs/${second.id}`)
    await heading(p, second.number).waitFor()
    expect(await sameDocument()).toBe(true)
    expect(await heading(p, first.number).count()).toBe(0)

    // A hard reload of the second run's address shows the second run again.
    await p.reload()
    await heading(p, second.number).waitFor()
    expect(await sameDocument()).toBe(false)
    // And of the first (a fresh document with a different id).
    await p.goto(`/runs/${first.id}`)
    await heading(p, first.number).waitFor()
    await screenshot(p, 'static-ui-run')

    // The browser back button returns through the client-side history to the right runs.
    await p.goBack()
    await heading(p, second.number).waitFor()

    expect(cspErrors).toEqual([])
    expect((p as Page & { consoleErrors: string[] }).consoleErrors.filter((e) => !/Failed to load resource/.test(e))).toEqual([])
  })

  it('keeps unknown addresses on the 404 page, and / goes to the dashboard', async () => {
    const res = await fetch(`${server.url}/no-such-page`)
    expect(res.status).toBe(404)
    expect(await res.text()).toContain('Page not found')
    const { page: p } = await newPage(browser, server.url)
    await p.addInitScript((t) => {
      localStorage.setItem('switchyard.session', JSON.stringify({ token: t, expiresAt: new Date(Date.now() + 3600e3).toISOString(), user: { id: 'x', username: 'admin', role: 'ADMIN' } }))
    }, server.adminToken)
    await p.goto('/')
    await p.waitForURL(/\/dashboard$/)
  })
})
