/**
 * Sign-in throttling through the API: repeated failures lock a username (the right password is then
 * refused with RATE_LIMITED and a wait in extensions.retryAfterSeconds) until the backoff ends; many
 * failures from one address lock it across usernames; X-Forwarded-For is not trusted by default.
 * Small backoff settings keep the waits short; the tests wait for the lock to end by retrying.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_PASSWORD, eventually, startTestApp, type GraphQLResponse, type TestApp } from '../harness/app.ts'

let t: TestApp
const LOGIN = 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }'

beforeAll(async () => {
  t = await startTestApp({
    env: {
      SWITCHYARD_LOGIN_MAX_FAILURES: '3',
      SWITCHYARD_LOGIN_MAX_FAILURES_PER_ADDRESS: '8',
      SWITCHYARD_LOGIN_BACKOFF_SECONDS: '0.5',
      SWITCHYARD_LOGIN_BACKOFF_MAX_SECONDS: '60',
    },
  })
  await t.ok(`mutation { createUser(input: { username: "carol", password: "carol-password", role: OPERATOR }) { id } }`)
})
afterAll(async () => {
  await t?.stop()
})

const login = (u: string, p: string, headers: Record<string, string> = {}): Promise<GraphQLResponse> =>
  fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: LOGIN, variables: { u, p } }) }).then(
    (r) => r.json() as Promise<GraphQLResponse>,
  )
const codeOf = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.code
/** Retries the right password until the lock is over (each refused attempt is not a failure). */
const signInOnceUnlocked = (u: string, p: string) =>
  eventually(async () => {
    const r = await login(u, p)
    if (codeOf(r) !== 'RATE_LIMITED') return r
    return null
  }, { intervalMs: 100, what: `${u} to be unlocked` })

async function auditActions(actorName: string): Promise<string[]> {
  const d = await t.ok(`query($f: AuditEventFilter) { auditEvents(filter: $f, first: 100) { edges { node { action actorName } } } }`, { f: { actions: ['login.'] } })
  return d.auditEvents.edges.map((e: { node: { action: string; actorName: string } }) => e.node).filter((n: { actorName: string }) => n.actorName === actorName).map((n: { action: string }) => n.action)
}

describe('login throttling', () => {
  it('locks a username after repeated failures (the right password too), with RATE_LIMITED and the wait; audited; the lock ends', async () => {
    for (let i = 0; i < 3; i++) expect(codeOf(await login('carol', 'wrong-password'))).toBe('UNAUTHENTICATED')
    const locked = await login('Carol ', 'carol-password')
    expect(codeOf(locked), JSON.stringify(locked)).toBe('RATE_LIMITED')
    expect(locked.errors![0]!.message).toMatch(/^too many failed sign-ins for this user: try again in \d+ seconds?$/)
    expect((locked.errors![0]!.extensions as { retryAfterSeconds?: number }).retryAfterSeconds).toBeGreaterThanOrEqual(1)
    expect(locked.data ?? null).toBeNull()
    expect(await auditActions('Carol')).toContain('login.throttled')

    const after = await signInOnceUnlocked('carol', 'carol-password')
    expect(after.errors).toBeUndefined()
    expect(after.data?.login.token).toMatch(/^sy_/)
    // A success clears the username's count: two more failures do not lock it.
    for (let i = 0; i < 2; i++) expect(codeOf(await login('carol', 'wrong-password'))).toBe('UNAUTHENTICATED')
    expect(codeOf(await login('carol', 'carol-password'))).toBeUndefined()
  })

  it('keeps counting after a lock ends: the next failure locks again at once (backoff grows)', async () => {
    await t.ok(`mutation { createUser(input: { username: "dave", password: "dave-password", role: VIEWER }) { id } }`)
    for (let i = 0; i < 3; i++) await login('dave', 'nope-nope')
    expect(codeOf(await login('dave', 'dave-password'))).toBe('RATE_LIMITED')
    // Wait until the lock is over without signing in (a success would reset the count).
    await eventually(async () => codeOf(await login('dave', 'still-wrong')) === 'UNAUTHENTICATED', { intervalMs: 100, what: 'the first lock to end' })
    const again = await login('dave', 'dave-password')
    expect(codeOf(again)).toBe('RATE_LIMITED')
  })

  it('locks an address after failures across many usernames; X-Forwarded-For does not get around it unless the proxy is trusted', async () => {
    // Every failure from this address counts, whatever the username (carol's and dave's above too).
    for (let i = 0; i < 8; i++) {
      const r = await login(`nobody-${i}`, 'guess')
      if (codeOf(r) === 'RATE_LIMITED') break
    }
    const r = await login('admin', ADMIN_PASSWORD)
    expect(codeOf(r)).toBe('RATE_LIMITED')
    expect(r.errors![0]!.message).toMatch(/from this address/)
    expect(codeOf(await login('admin', ADMIN_PASSWORD, { 'x-forwarded-for': '198.51.100.7' }))).toBe('RATE_LIMITED')
    expect(await auditActions('admin')).toContain('login.throttled')
    // The lock ends; the address's count only fades, but the right password works again meanwhile.
    expect((await signInOnceUnlocked('admin', ADMIN_PASSWORD)).data?.login.token).toMatch(/^sy_/)
  })

  it('the reaper forgets keys that are unlocked and quiet for longer than the longest lock, and keeps the rest', async () => {
    const pool = t.app.db.pool
    // SWITCHYARD_LOGIN_BACKOFF_MAX_SECONDS is 60 here.
    await pool.query(
      `INSERT INTO login_throttle (kind, key, failures, last_failure_at, locked_until) VALUES
         ('user', 'gc-quiet', 2, now() - interval '120 seconds', NULL),
         ('address', '192.0.2.9', 30, now() - interval '120 seconds', now() - interval '60 seconds'),
         ('user', 'gc-recent', 2, now() - interval '10 seconds', NULL),
         ('user', 'gc-locked', 9, now() - interval '120 seconds', now() + interval '30 seconds')`,
    )
    await t.app.reaper!.reapOnce()
    const { rows } = await pool.query(`SELECT key FROM login_throttle WHERE key IN ('gc-quiet', '192.0.2.9', 'gc-recent', 'gc-locked') ORDER BY key`)
    expect(rows.map((r) => r.key)).toEqual(['gc-locked', 'gc-recent'])
  })
})
