/**
 * Toasts for runs one started or watches (issue #13), in real Chromium against the real product (the
 * server process `npm start` runs, real Postgres): an `http` run against a receiver here that holds its
 * answer until the test lets it go, so "running" and "ended" are under the test's control. A connection
 * outage is made with Playwright's WebSocket routing (as in hardening.test.ts): a run that ends while the
 * page is cut off is toasted after it reconnects, and the runs toasted before are not toasted again.
 */
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core'
import { axeBothThemes } from '../harness/axe.ts'
import { launchBrowser, newPage, screenshot } from '../harness/browser.ts'
import { startServer, type E2eServer } from '../harness/server.ts'

let server: E2eServer
let browser: Browser
let receiver: Server
let base = ''
const held = new Map<string, ServerResponse>()
const waiters = new Set<() => void>()

function arrived(key: string): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (!held.has(key)) return
      waiters.delete(check)
      resolve()
    }
    waiters.add(check)
    check()
  })
}
function release(key: string, status = 200): void {
  const res = held.get(key)!
  res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'backend down')
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    held.set((req.url ?? '').split('/').pop()!, res)
    for (const w of [...waiters]) w()
  })
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
  ;[server, browser] = await Promise.all([startServer(), launchBrowser()])
})

afterAll(async () => {
  for (const res of held.values()) if (!res.writableEnded) res.end()
  await browser?.close()
  await server?.stop()
  await new Promise((r) => receiver?.close(r))
})

async function signedIn(): Promise<{ page: Page; context: BrowserContext }> {
  const p = await newPage(browser, server.url, { runToasts: true })
  await p.page.addInitScript((t) => {
    localStorage.setItem('switchyard.session', JSON.stringify({ token: t, expiresAt: new Date(Date.now() + 3600e3).toISOString(), user: { id: 'x', username: 'admin', role: 'ADMIN' } }))
  }, server.adminToken)
  return p
}

/** A GraphQL call with another user's token. */
async function as<T = any>(token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify({ query, variables }) })
  const body = (await res.json()) as { data?: T; errors?: unknown }
  if (body.errors) throw new Error(JSON.stringify(body.errors))
  return body.data!
}

const fitsWidth = (p: Page) => p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)

describe('run toasts', () => {
  it('toast runs one started or watches when they end — in words, linked, dismissible by keyboard — once each across a reconnect', async () => {
    const templateId = (await server.gql(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
      i: { name: 'e2e held', jobType: 'http', visibility: 'GLOBAL', targetSelector: {}, config: { url: `${base}/held/{{ key }}`, timeoutSeconds: 300 }, parameters: [{ name: 'key', type: 'STRING', default: 'ui' }] },
    })).createJobTemplate.id as string
    await server.gql(`mutation { createUser(input: { username: "e2e-operator", password: "operator-password-1", role: OPERATOR }) { id } }`)
    const operator = (await as<{ login: { token: string } }>('', `mutation { login(username: "e2e-operator", password: "operator-password-1") { token } }`)).login.token
    const theirs = (await as(operator, `mutation($t: ID!) { triggerJobRun(templateId: $t, parameters: { key: "theirs" }) { id number } }`, { t: templateId })).triggerJobRun as { id: string; number: number }
    await arrived('theirs')

    const { page: p, context } = await signedIn()
    let outage = false
    const open: WebSocketRoute[] = []
    await p.routeWebSocket(/\/graphql/, (ws) => {
      if (outage) {
        void ws.close({ code: 4500, reason: 'database unavailable' })
        return
      }
      ws.connectToServer()
      open.push(ws)
    })
    try {
      // Watch the operator's run; the choice is kept on the server (a reload still shows it).
      await p.goto(`/runs/${theirs.id}`)
      await p.getByTestId('watch-toggle').click()
      await p.getByTestId('watch-state').waitFor()
      expect(await p.getByTestId('watch-state').textContent()).toBe('You will be notified when it ends.')
      await p.reload()
      await expect.poll(() => p.getByTestId('watch-toggle').textContent()).toMatch(/Stop watching/)
      expect(await axeBothThemes(p, 'run page, watching')).toEqual([])

      // Start one from the console: its own page shows its end, so leave it for the runs list first.
      await p.goto(`/templates/${templateId}`)
      await p.getByRole('main').getByRole('button', { name: 'Run now', exact: true }).click()
      await p.getByRole('dialog').locator('input[name="key"]').fill('mine')
      await p.getByRole('dialog').getByRole('button', { name: 'Run now' }).click()
      await p.waitForURL(/\/runs\/[^/]+$/)
      const mineId = p.url().split('/').pop()!
      await arrived('mine')
      await p.goto('/runs')
      await expect.poll(() => p.getByTestId('live-state').textContent(), { timeout: 15_000 }).toBe('Live')

      release('mine')
      release('theirs', 500)
      const toasts = p.getByTestId('toast')
      await expect.poll(() => toasts.count(), { timeout: 30_000 }).toBe(2)
      const mineToast = p.locator(`[data-testid="toast"][data-run="${mineId}"]`)
      const theirToast = p.locator(`[data-testid="toast"][data-run="${theirs.id}"]`)
      expect(await mineToast.textContent()).toMatch(/Succeeded.*Run #\d+ · e2e held.*Succeeded after/)
      expect(await theirToast.textContent()).toMatch(new RegExp(`Failed.*Run #${theirs.number} · e2e held.*Failed after .*500`))
      expect(await theirToast.getByRole('link').getAttribute('href')).toBe(`/runs/${theirs.id}`)
      expect(await p.getByRole('list', { name: 'Run notifications' }).getAttribute('aria-live')).toBe('polite')
      await screenshot(p, 'run-toasts')
      expect(await axeBothThemes(p, 'runs page with toasts')).toEqual([])

      // Cut off: a run that ends meanwhile is toasted once the page is back; the two above are not again.
      outage = true
      for (const ws of open.splice(0)) await ws.close({ code: 4500, reason: 'database unavailable' })
      await expect.poll(() => p.getByTestId('live-state').textContent(), { timeout: 15_000 }).toBe('Disconnected — changes are not shown')
      const offline = (await server.gql(`mutation($t: ID!) { triggerJobRun(templateId: $t, parameters: { key: "offline" }) { id } }`, { t: templateId })).triggerJobRun.id as string
      await arrived('offline')
      release('offline')
      await expect.poll(async () => (await server.gql(`query($id: ID!) { jobRun(id: $id) { status } }`, { id: offline })).jobRun.status, { timeout: 30_000 }).toBe('SUCCEEDED')
      outage = false
      await p.locator(`[data-testid="toast"][data-run="${offline}"]`).waitFor({ timeout: 30_000 })
      expect(await toasts.count()).toBe(3)
      expect(await p.locator(`[data-testid="toast"][data-run="${mineId}"]`).count()).toBe(1)

      // Keyboard: Enter on a Dismiss button, Escape inside a toast; "Dismiss all" for the rest.
      await theirToast.getByRole('button', { name: /^Dismiss: Run #\d+ · e2e held, failed$/ }).focus()
      await p.keyboard.press('Enter')
      await expect.poll(() => toasts.count()).toBe(2)
      await mineToast.getByRole('link').focus()
      await p.keyboard.press('Escape')
      await expect.poll(() => toasts.count()).toBe(1)

      // A phone: the toast fits the screen.
      await p.setViewportSize({ width: 375, height: 740 })
      expect(await fitsWidth(p)).toBe(true)
      const box = (await toasts.first().boundingBox())!
      expect(box.x).toBeGreaterThanOrEqual(0)
      expect(box.x + box.width).toBeLessThanOrEqual(375)
      expect(await axeBothThemes(p, 'toast on a phone')).toEqual([])
      await screenshot(p, 'run-toast-phone')

      // A reload does not bring dismissed or shown runs back.
      await p.reload()
      await expect.poll(() => p.getByTestId('live-state').textContent(), { timeout: 15_000 }).toBe('Live')
      expect(await toasts.count()).toBe(0)

      // The Account page turns them off for this browser: a run that ends then shows no toast, and the
      // region is gone; turned on again, the next one does.
      await p.setViewportSize({ width: 1440, height: 900 })
      await p.goto('/account')
      const toggle = p.getByRole('switch', { name: 'Show a toast when a run I started or watch ends' })
      expect(await toggle.isChecked()).toBe(true)
      await toggle.uncheck()
      await expect.poll(() => p.getByTestId('toast-region').count()).toBe(0)
      expect(await axeBothThemes(p, 'account with the toast switch')).toEqual([])
      await p.reload()
      expect(await p.getByRole('switch', { name: 'Show a toast when a run I started or watch ends' }).isChecked()).toBe(false)
      await p.getByRole('switch', { name: 'Show a toast when a run I started or watch ends' }).check()
      await p.getByTestId('toast-region').waitFor({ state: 'attached' })
      const again = (await server.gql(`mutation($t: ID!) { triggerJobRun(templateId: $t, parameters: { key: "again" }) { id } }`, { t: templateId })).triggerJobRun.id as string
      await arrived('again')
      release('again')
      await p.locator(`[data-testid="toast"][data-run="${again}"]`).waitFor({ timeout: 30_000 })
    } finally {
      await context.close()
    }
  })
})
