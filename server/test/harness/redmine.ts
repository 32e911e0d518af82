/**
 * A real Redmine for tests (Debian's `redmine` package). scripts/test-peers/redmine.sh prepares it once per
 * machine (a Gemfile adding WEBrick, an admin API key, a migrated template database with the REST API on and
 * a project `switchyard`; `.ci/run` calls it). Each `startRedmine()` runs `bin/rails server -u webrick` on a
 * clone of the template database as a peer process (peer-process.ts: its own port, process group and
 * database, all gone on `stop()`), ready once the API answers with the key.
 */
import { existsSync, readFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { startPeerProcess } from './peer-process.ts'

/** Keep in step with Debian's package (scripts/test-peers/redmine.sh names the directory after it). */
export const REDMINE_VERSION = process.env.REDMINE_VERSION ?? '5.0.4'
const REDMINE_ROOT = process.env.REDMINE_ROOT ?? '/usr/share/redmine'
const DIR = join(process.env.SWITCHYARD_TEST_PEERS_DIR ?? join(homedir(), '.cache', 'switchyard-test-peers'), `redmine-${REDMINE_VERSION}`)
const TEMPLATE_DB = `redmine_template_${REDMINE_VERSION.replaceAll(/[.-]/g, '_')}`
const START_TIMEOUT_MS = 120_000
/** The project redmine.sh creates. */
export const REDMINE_PROJECT = 'switchyard'

export interface TestRedmine {
  url: string
  /** The admin's API key. */
  apiKey: string
  /** A REST call with the key; throws with Redmine's answer on a non-2xx status. */
  rest<T = any>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T>
  output(): string
  stop(): Promise<void>
}

export function redmineInstalled(): boolean {
  return existsSync(join(DIR, `template-${TEMPLATE_DB}.ok`))
}

export async function startRedmine(): Promise<TestRedmine> {
  if (!redmineInstalled()) throw new Error(`no Redmine ${REDMINE_VERSION} test setup in ${DIR}: run scripts/test-peers/redmine.sh (from the repository root) first`)
  const apiKey = readFileSync(join(DIR, 'api_key'), 'utf8').trim()
  const peer = await startPeerProcess({
    name: 'Redmine',
    templateDb: TEMPLATE_DB,
    dbPrefix: 'redmine_test',
    command: (port, dbName) => ({
      file: join(REDMINE_ROOT, 'bin', 'rails'),
      args: ['server', '-u', 'webrick', '-b', '127.0.0.1', '-p', String(port), '-P', join(tmpdir(), `${dbName}.pid`)],
      cwd: REDMINE_ROOT,
      env: {
        RAILS_ENV: 'production',
        BUNDLE_GEMFILE: join(DIR, 'Gemfile'),
        DATABASE_URL: `postgresql://${process.env.REDMINE_TEST_PGUSER ?? 'postgres'}@127.0.0.1:5432/${dbName}`,
      },
    }),
    headers: { 'X-Redmine-API-Key': apiKey },
    // An authenticated request about the current user: database, REST API and key all work.
    readyPath: '/users/current.json',
    startTimeoutMs: START_TIMEOUT_MS,
  })
  return { ...peer, apiKey }
}
