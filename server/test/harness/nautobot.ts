/**
 * A real Nautobot for tests. scripts/test-peers/nautobot.sh installs it once per machine (a virtualenv in
 * ~/.cache/switchyard-test-peers/nautobot-<version>, a migrated template database, a superuser and API token;
 * `.ci/run` calls it). Each `startNautobot()` runs `nautobot-server runserver` on a clone of that template
 * database as a peer process (peer-process.ts: its own port, process group and database, all gone on
 * `stop()`), ready once the API answers with the token. Tests load their data through Nautobot's REST API (`rest`).
 */
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { startPeerProcess } from './peer-process.ts'

/** Keep in step with NAUTOBOT_VERSION in scripts/test-peers/nautobot.sh. */
export const NAUTOBOT_VERSION = process.env.NAUTOBOT_VERSION ?? '3.2.7'
const DIR = join(process.env.SWITCHYARD_TEST_PEERS_DIR ?? join(homedir(), '.cache', 'switchyard-test-peers'), `nautobot-${NAUTOBOT_VERSION}`)
const TEMPLATE_DB = `nautobot_template_${NAUTOBOT_VERSION.replaceAll('.', '_')}`
const START_TIMEOUT_MS = 180_000

export interface TestNautobot {
  url: string
  /** The superuser's API token (write-enabled). */
  token: string
  /** A REST call with the token; throws with Nautobot's answer on a non-2xx status. */
  rest<T = any>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T>
  /** Everything the server printed so far (for a failing test's message). */
  output(): string
  stop(): Promise<void>
}

export function nautobotInstalled(): boolean {
  return existsSync(join(DIR, `template-${TEMPLATE_DB}.ok`))
}

export async function startNautobot(): Promise<TestNautobot> {
  if (!nautobotInstalled()) {
    throw new Error(`no Nautobot ${NAUTOBOT_VERSION} test install in ${DIR}: run scripts/test-peers/nautobot.sh (from the repository root) first`)
  }
  const token = readFileSync(join(DIR, 'token'), 'utf8').trim()
  const peer = await startPeerProcess({
    name: 'Nautobot',
    templateDb: TEMPLATE_DB,
    dbPrefix: 'nautobot_test',
    command: (port, dbName) => ({
      file: join(DIR, 'venv', 'bin', 'nautobot-server'),
      args: ['runserver', `127.0.0.1:${port}`, '--noreload', '--skip-checks'],
      env: {
        NAUTOBOT_CONFIG: join(DIR, 'nautobot_config.py'),
        NAUTOBOT_ROOT: join(DIR, 'root'),
        NAUTOBOT_DB_NAME: dbName,
        NAUTOBOT_TEST_CACHE_PREFIX: dbName,
      },
    }),
    headers: { Authorization: `Token ${token}` },
    // The API answers an authenticated request: the database and the token both work.
    readyPath: '/api/status/',
    startTimeoutMs: START_TIMEOUT_MS,
  })
  return { ...peer, token }
}
