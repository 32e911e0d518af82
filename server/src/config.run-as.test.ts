/** The sandbox settings of config.ts: SWITCHYARD_RUN_AS_USER (resolved at start-up) and SWITCHYARD_WORKER_CODE_ROLES. */
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, lookupSystemUser, type SystemFacts } from './config.ts'

const env = { DATABASE_URL: 'postgresql://x@127.0.0.1/db' }
const users: Record<string, { uid: number; gid: number }> = { nobody: { uid: 65534, gid: 65534 }, svc: { uid: 990, gid: 990 }, toor: { uid: 0, gid: 0 } }
const asRoot: SystemFacts = { uid: 0, lookupUser: (name) => (users[name] ? { name, ...users[name]! } : null) }
const asUser: SystemFacts = { ...asRoot, uid: 1000 }

function problems(fn: () => unknown): string[] {
  try {
    fn()
  } catch (e) {
    if (e instanceof ConfigError) return e.problems
    throw e
  }
  return []
}

describe('SWITCHYARD_RUN_AS_USER', () => {
  it('defaults to nobody, resolved to its uid/gid when the server is root', () => {
    expect(loadConfig(env, [], asRoot)).toMatchObject({ runAsUserName: 'nobody', runAsUser: { name: 'nobody', uid: 65534, gid: 65534 } })
    expect(loadConfig({ ...env, SWITCHYARD_RUN_AS_USER: 'svc' }, [], asRoot).runAsUser).toEqual({ name: 'svc', uid: 990, gid: 990 })
  })

  it('is not used (null) when the server is not root: it cannot switch users', () => {
    expect(loadConfig({ ...env, SWITCHYARD_RUN_AS_USER: 'no-such-user' }, [], asUser)).toMatchObject({ runAsUserName: 'no-such-user', runAsUser: null })
  })

  it('an unknown user or root itself is a start-up error, reported with the others', () => {
    expect(problems(() => loadConfig({ ...env, SWITCHYARD_RUN_AS_USER: 'ghost', PORT: 'x' }, [], asRoot))).toEqual([
      'PORT: Invalid input: expected number, received NaN',
      expect.stringMatching(/^SWITCHYARD_RUN_AS_USER: no user "ghost" on this system/),
    ])
    expect(problems(() => loadConfig({ ...env, SWITCHYARD_RUN_AS_USER: 'toor' }, [], asRoot))).toEqual([expect.stringMatching(/"toor" is root \(uid or gid 0\)/)])
  })

  it('looks users up through the system (getent)', () => {
    expect(lookupSystemUser('root')).toEqual({ name: 'root', uid: 0, gid: 0 })
    expect(lookupSystemUser('no-such-user-here')).toBeNull()
  })
})

describe('SWITCHYARD_WORKER_CODE_ROLES', () => {
  it('defaults to ADMIN; takes a comma-separated list or NONE', () => {
    expect([...loadConfig(env, [], asUser).workerCodeRoles]).toEqual(['ADMIN'])
    expect([...loadConfig({ ...env, SWITCHYARD_WORKER_CODE_ROLES: 'admin, OPERATOR' }, [], asUser).workerCodeRoles]).toEqual(['ADMIN', 'OPERATOR'])
    expect([...loadConfig({ ...env, SWITCHYARD_WORKER_CODE_ROLES: 'NONE' }, [], asUser).workerCodeRoles]).toEqual([])
  })

  it('rejects unknown roles and an empty list', () => {
    expect(problems(() => loadConfig({ ...env, SWITCHYARD_WORKER_CODE_ROLES: 'ADMIN,ROOT' }, [], asUser))).toEqual([expect.stringMatching(/^SWITCHYARD_WORKER_CODE_ROLES: unknown role "ROOT"/)])
    expect(problems(() => loadConfig({ ...env, SWITCHYARD_WORKER_CODE_ROLES: ' , ' }, [], asUser))).toEqual([expect.stringMatching(/name at least one role, or NONE/)])
  })
})
