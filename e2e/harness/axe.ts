/**
 * axe-core in the page under test: injects axe.source (no network) and fails on serious or critical
 * violations, in both themes, with a report that names the rule, the elements and how to fix them.
 */
import axe from 'axe-core'
import type { Page } from 'playwright-core'

interface Violation {
  id: string
  impact: string | null
  help: string
  nodes: Array<{ target: string[]; failureSummary?: string }>
}

/** Serious and critical violations on the page as it is now, as readable lines (empty when none). */
export async function axeViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, not as an inline <script>: the UI's CSP allows only the
  // page's own inline scripts (by hash), which is what the journeys run against.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(`${axe.source}\n;void 0`)
  const violations = await page.evaluate(async () => {
    const w = window as unknown as { axe: { run(ctx: Document, opts: unknown): Promise<{ violations: Violation[] }> } }
    const r = await w.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }, resultTypes: ['violations'] })
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }))
  })
  return violations
    .filter((v: Violation) => v.impact === 'serious' || v.impact === 'critical')
    .map((v: Violation) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.slice(0, 5).map((n) => `    ${n.target.join(' ')} — ${(n.failureSummary ?? '').replace(/\s+/g, ' ').slice(0, 240)}`).join('\n')}${v.nodes.length > 5 ? `\n    … and ${v.nodes.length - 5} more` : ''}`)
}

/** Checks the page in the dark and the light theme (restoring the one it had); returns problems by theme. */
export async function axeBothThemes(page: Page, name: string): Promise<string[]> {
  const original = await page.evaluate(() => document.documentElement.dataset.theme ?? 'dark')
  const problems: string[] = []
  for (const theme of ['dark', 'light']) {
    await page.evaluate((t) => (document.documentElement.dataset.theme = t), theme)
    // Let transitions settle (colours are read from computed styles).
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
    for (const v of await axeViolations(page)) problems.push(`[${name}, ${theme}] ${v}`)
  }
  await page.evaluate((t) => (document.documentElement.dataset.theme = t), original)
  return problems
}
