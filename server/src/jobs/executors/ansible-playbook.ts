/**
 * The `ansible_playbook` job type: runs Debian's `ansible-playbook` once for the whole run, with an inventory
 * generated from the run's targets (host names = target names) and their credentials.
 *
 * Host keys are pinned: ansible's OpenSSH gets a known_hosts with exactly the key Switchyard trusts for each
 * target (recorded on first contact, by this or any other job type) and strict checking.
 *
 * Everything ansible needs (playbook, inventory, keys, extra vars, known_hosts, HOME, local temp) lives in a
 * private temp dir (0700, files 0600) that is always removed, also on cancel. Output lines are classified
 * (PLAY/TASK/ok → INFO, changed → WARNING, fatal/failed/unreachable → ERROR) and tagged with the target when
 * they name a host; the PLAY RECAP gives each target its counts and status.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { createLineSplitter } from '../../logs/line-splitter.ts'
import { choosePinnedKey, scanHostKeys, type ScannedHostKey } from '../../ssh/host-key-scan.ts'
import { knownHostsLines } from '../../ssh/known-hosts.ts'
import { SshError } from '../../ssh/ssh-error.ts'
import { coerceError } from '../../util/errors.ts'
import { Semaphore } from '../../util/semaphore.ts'
import { renderTemplate } from '../../util/template.ts'
import { abortReport, recordHostKey } from './target-support.ts'
import type { ExecutionContext, JobExecutor, LogLevel, RunTargetHandle, TargetReport } from './types.ts'

const configSchema = z.object({
  playbook: z
    .string()
    .trim()
    .min(1, 'the playbook must not be empty')
    .max(256 * 1024)
    .describe('The playbook, inline YAML (a list of plays). Use `hosts: all`: the inventory holds exactly the run\'s targets, named by target name.'),
  extraVars: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an Ansible variable name'), z.unknown())
    .optional()
    .describe(
      'Extra variables (`--extra-vars`, highest precedence). String values may contain `{{ name }}` / `{{ params.name }}` ' +
        'placeholders for template parameters; a value that is exactly one placeholder keeps the parameter\'s type. ' +
        'Values are passed as unsafe (never templated by Ansible).',
    ),
  checkMode: z.boolean().default(false).describe('Dry run (`--check`): report what would change without changing it.'),
  diff: z.boolean().default(false).describe('Show the differences in changed files and templates (`--diff`).'),
  limit: z.string().trim().min(1).max(1000).optional().describe('Ansible host pattern (`--limit`) further restricting the targets; unmatched targets end SKIPPED.'),
  tags: z.array(z.string().trim().min(1).regex(/^[^,\s]+$/, 'one tag, no commas or spaces')).max(50).optional().describe('Only run tasks with these tags (`--tags`).'),
  skipTags: z.array(z.string().trim().min(1).regex(/^[^,\s]+$/, 'one tag, no commas or spaces')).max(50).optional().describe('Skip tasks with these tags (`--skip-tags`).'),
  forks: z.number().int().min(1).max(200).optional().describe("Hosts worked on in parallel (`--forks`). Default: the template's per-target parallelism."),
  connectTimeoutSeconds: z.number().int().min(1).max(300).default(15).describe('SSH connection timeout per host (ANSIBLE_TIMEOUT).'),
})

export type AnsiblePlaybookConfig = z.output<typeof configSchema>
type Context = ExecutionContext<AnsiblePlaybookConfig>

export interface AnsibleToolPaths {
  ansiblePlaybook?: string
  /** Needed only for password credentials. */
  sshpass?: string
  /** Reads host keys to pin (OpenSSH client). */
  sshKeyscan?: string
}

const COUNT_KEYS = ['ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored'] as const
export type RecapCounts = Record<(typeof COUNT_KEYS)[number], number>

export function createAnsiblePlaybookExecutor(paths: AnsibleToolPaths = {}): JobExecutor<typeof configSchema> {
  const tools = { ansiblePlaybook: paths.ansiblePlaybook ?? '/usr/bin/ansible-playbook', sshpass: paths.sshpass ?? '/usr/bin/sshpass', sshKeyscan: paths.sshKeyscan ?? 'ssh-keyscan' }
  return {
    type: 'ansible_playbook',
    label: 'Ansible playbook',
    description: 'Runs an Ansible playbook against the targets (inventory and credentials generated per run).',
    configSchema,
    usesTargets: true,
    execute: (ctx) => execute(ctx, tools),
  }
}

export const ansiblePlaybookExecutor = createAnsiblePlaybookExecutor()

async function execute(ctx: Context, tools: Required<AnsibleToolPaths>) {
  const reported = new Set<string>()
  const finish = (target: RunTargetHandle, report: TargetReport) => {
    if (reported.has(target.id)) return
    reported.add(target.id)
    if (report.status === 'FAILED' && report.error) ctx.log.system(`${target.name}: ${report.error}`, { level: 'ERROR', runTargetId: target.id })
    ctx.targetFinished(target.id, report)
  }
  if (ctx.signal.aborted) {
    for (const t of ctx.targets) finish(t, abortReport(ctx.signal))
    return {}
  }
  let extraVars: Record<string, unknown>
  try {
    extraVars = renderExtraVars(ctx)
  } catch (err) {
    const error = `extra vars: ${coerceError(err).message}`
    for (const t of ctx.targets) finish(t, { status: 'FAILED', error, retryable: false })
    return { error }
  }
  const hasSshpass = existsSync(tools.sshpass)
  const usable: RunTargetHandle[] = []
  const seen = new Set<string>()
  for (const t of ctx.targets) {
    if (!t.credential) finish(t, { status: 'FAILED', error: `target ${t.name} has no credential`, retryable: false })
    else if (t.credential.kind === 'PASSWORD' && !hasSshpass)
      finish(t, { status: 'FAILED', error: `password login needs sshpass, which is not installed (${tools.sshpass}); use a key credential or install sshpass`, retryable: false })
    else if (t.credential.kind === 'PRIVATE_KEY' && t.credential.passphrase)
      finish(t, { status: 'FAILED', error: 'passphrase-protected keys are not supported by ansible_playbook; use a key without passphrase', retryable: false })
    else if (seen.has(t.name)) finish(t, { status: 'FAILED', error: `another target of this run is also named ${t.name}`, retryable: false })
    else {
      seen.add(t.name)
      usable.push(t)
    }
  }
  if (usable.length === 0) return {}

  for (const t of usable) ctx.targetStarted(t.id)
  const pinned = await pinHostKeys(ctx, tools, usable, finish)
  const reachable = usable.filter((t) => pinned.has(t.id))
  if (ctx.signal.aborted) {
    for (const t of usable) finish(t, abortReport(ctx.signal))
    return {}
  }
  if (reachable.length === 0) return {}

  const dir = await mkdtemp(join(tmpdir(), 'switchyard-ansible-'))
  try {
    await chmod(dir, 0o700)
    await prepareDir(ctx, dir, reachable, extraVars, pinned)
    ctx.log.system(`running ansible-playbook on ${reachable.length} host(s) in ${dir}`, { level: 'INFO' })
    const run = await runPlaybook(ctx, tools, dir, reachable)
    if (ctx.signal.aborted) {
      for (const t of reachable) finish(t, { ...abortReport(ctx.signal), outputTail: run.tails.get(t.name)?.join('\n') ?? '' })
      return { result: { exitCode: run.exitCode } }
    }
    const abnormal = run.exitCode !== 0 && run.exitCode !== 2 && run.exitCode !== 4
    const exitText = run.exitCode === null ? `ansible-playbook was killed by ${run.signal}` : `ansible-playbook exited with code ${run.exitCode}`
    for (const t of reachable) {
      const counts = run.recap.get(t.name)
      const outputTail = run.tails.get(t.name)?.join('\n') ?? ''
      if (!counts) {
        if (run.exitCode === 0 && ctx.config.limit) finish(t, { status: 'SKIPPED', exitCode: 0, error: 'not matched by the limit', outputTail })
        else finish(t, { status: 'FAILED', exitCode: run.exitCode, error: `not in the PLAY RECAP: ${exitText}${run.lastError ? ` (${run.lastError})` : ''}`, retryable: false, outputTail })
      } else if (counts.unreachable > 0) {
        finish(t, { status: 'FAILED', exitCode: run.exitCode, error: run.hostErrors.get(t.name) ?? 'host unreachable', retryable: true, outputTail, result: counts })
      } else if (counts.failed > 0) {
        finish(t, { status: 'FAILED', exitCode: run.exitCode, error: run.hostErrors.get(t.name) ?? `${counts.failed} task(s) failed`, retryable: false, outputTail, result: counts })
      } else if (abnormal) {
        finish(t, { status: 'FAILED', exitCode: run.exitCode, error: exitText, retryable: false, outputTail, result: counts })
      } else {
        finish(t, { status: 'SUCCEEDED', exitCode: run.exitCode, error: null, outputTail, result: counts })
      }
    }
    return { result: { exitCode: run.exitCode, checkMode: ctx.config.checkMode } }
  } catch (err) {
    const report: TargetReport = ctx.signal.aborted ? abortReport(ctx.signal) : { status: 'FAILED', error: coerceError(err).message, retryable: false }
    for (const t of reachable) finish(t, report)
    return {}
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

function renderExtraVars(ctx: Context): Record<string, unknown> {
  const vars = { ...ctx.parameters, params: ctx.parameters }
  const whole = /^\{\{\s*([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*)\s*\}\}$/
  const render = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const m = whole.exec(value)
      if (m) {
        // Exactly one placeholder: keep the parameter's own type (number, boolean, list…).
        const raw = m[1]!.split('.').reduce<unknown>((cur, key) => (cur !== null && typeof cur === 'object' && Object.hasOwn(cur, key) ? (cur as Record<string, unknown>)[key] : undefined), vars)
        if (raw !== undefined) return raw
      }
      return renderTemplate(value, vars, { quote: 'none' })
    }
    if (Array.isArray(value)) return value.map(render)
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v)]))
    return value
  }
  return render(ctx.config.extraVars ?? {}) as Record<string, unknown>
}

/**
 * YAML in flow style (JSON-like) where every string is tagged `!unsafe`: Ansible never templates it, so a
 * parameter or password containing `{{ … }}` cannot run lookups on the controller.
 */
export function toUnsafeYaml(value: unknown): string {
  if (typeof value === 'string') return `!unsafe ${JSON.stringify(value)}`
  if (Array.isArray(value)) return `[${value.map(toUnsafeYaml).join(', ')}]`
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${toUnsafeYaml(v)}`).join(', ')}}`
  }
  return JSON.stringify(value ?? null)
}

/**
 * Pins each target's host key for ansible's OpenSSH (see ssh/host-key-scan.ts): the key Switchyard
 * recorded, or on first contact the key offered now, which is then recorded. A target whose server
 * cannot be read or offers another key fails here, before the playbook runs.
 */
async function pinHostKeys(
  ctx: Context,
  tools: Required<AnsibleToolPaths>,
  targets: RunTargetHandle[],
  finish: (target: RunTargetHandle, report: TargetReport) => void,
): Promise<Map<string, ScannedHostKey>> {
  const pinned = new Map<string, ScannedHostKey>()
  const slots = new Semaphore(Math.max(1, Math.min(32, Math.floor(ctx.maxParallelTargets))))
  await Promise.all(
    targets.map((t) =>
      slots
        .use(async () => {
          const scanned = await scanHostKeys(t.host, t.port, { timeoutSeconds: ctx.config.connectTimeoutSeconds, signal: ctx.signal, command: tools.sshKeyscan })
          const { key, isNew } = choosePinnedKey(t.host, t.port, t.knownHostKey, scanned)
          if (isNew) await recordHostKey(ctx, t, key, (text, level) => ctx.log.system(text, { level, runTargetId: t.id }))
          pinned.set(t.id, key)
        }, ctx.signal)
        .catch((thrown: unknown) => {
          if (ctx.signal.aborted) return
          const err = coerceError(thrown)
          finish(t, { status: 'FAILED', error: err.message, retryable: err instanceof SshError ? err.retryable : false })
        }),
    ),
  )
  return pinned
}

async function prepareDir(ctx: Context, dir: string, targets: RunTargetHandle[], extraVars: Record<string, unknown>, pinned: ReadonlyMap<string, ScannedHostKey>) {
  const write = (name: string, text: string) => writeFile(join(dir, name), text, { mode: 0o600 })
  await mkdir(join(dir, 'tmp'), { mode: 0o700 })
  // Exactly the pinned key per target, and strict checking: ansible's ssh accepts nothing else.
  await write('known_hosts', targets.map((t) => knownHostsLines(t.host, t.port, [pinned.get(t.id)!.publicKey])).join(''))
  const sshArgs = `-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${join(dir, 'known_hosts')} -o GlobalKnownHostsFile=/dev/null`
  const hosts: Record<string, Record<string, unknown>> = {}
  for (const [i, t] of targets.entries()) {
    const cred = t.credential!
    const host: Record<string, unknown> = { ansible_host: t.host, ansible_port: t.port, ansible_user: cred.username, ansible_ssh_common_args: sshArgs }
    if (cred.kind === 'PASSWORD') host.ansible_password = cred.password
    else {
      const keyFile = join(dir, `key-${i}`)
      await writeFile(keyFile, cred.privateKey.endsWith('\n') ? cred.privateKey : `${cred.privateKey}\n`, { mode: 0o600 })
      host.ansible_ssh_private_key_file = keyFile
    }
    hosts[t.name] = host
  }
  await write('inventory.yml', `${toUnsafeYaml({ all: { hosts } })}\n`)
  await write('extra-vars.yml', `${toUnsafeYaml(extraVars)}\n`)
  await write('playbook.yml', `${ctx.config.playbook}\n`)
}

interface PlaybookRun {
  exitCode: number | null
  signal: string | null
  recap: Map<string, RecapCounts>
  hostErrors: Map<string, string>
  tails: Map<string, string[]>
  lastError: string | null
}

const TAIL_LINES = 50
const KILL_GRACE_MS = 3000

function runPlaybook(ctx: Context, tools: Required<AnsibleToolPaths>, dir: string, targets: RunTargetHandle[]): Promise<PlaybookRun> {
  const { config } = ctx
  const args = ['-i', join(dir, 'inventory.yml'), '--extra-vars', `@${join(dir, 'extra-vars.yml')}`, '--forks', String(config.forks ?? Math.max(1, Math.floor(ctx.maxParallelTargets)))]
  if (config.checkMode) args.push('--check')
  if (config.diff) args.push('--diff')
  if (config.limit) args.push('--limit', config.limit)
  if (config.tags?.length) args.push('--tags', config.tags.join(','))
  if (config.skipTags?.length) args.push('--skip-tags', config.skipTags.join(','))
  args.push(join(dir, 'playbook.yml'))
  const env = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    HOME: dir,
    ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'),
    ANSIBLE_FORCE_COLOR: '0',
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_STDOUT_CALLBACK: 'default',
    ANSIBLE_RETRY_FILES_ENABLED: '0',
    ANSIBLE_PYTHON_INTERPRETER: 'auto_silent',
    ANSIBLE_TIMEOUT: String(config.connectTimeoutSeconds),
    // No persistent SSH masters: they would outlive the run (and its temp dir). Host keys: see ansible_ssh_common_args.
    ANSIBLE_SSH_ARGS: '-o ControlMaster=no -o ControlPath=none',
    PYTHONUNBUFFERED: '1',
  }
  const byName = new Map(targets.map((t) => [t.name, t]))
  const run: PlaybookRun = { exitCode: null, signal: null, recap: new Map(), hostErrors: new Map(), tails: new Map(), lastError: null }
  let inRecap = false

  const onLine = (stream: 'STDOUT' | 'STDERR') => (line: string) => {
    if (line.trim() === '') return
    if (/^PLAY RECAP\b/.test(line)) inRecap = true
    const recapLine = inRecap ? parseRecapLine(line) : null
    const hostName = recapLine?.host ?? hostOf(line)
    const target = hostName !== null ? byName.get(hostName) : undefined
    if (recapLine && target) run.recap.set(recapLine.host, recapLine.counts)
    let level = classify(line, recapLine?.counts)
    if (stream === 'STDERR' && level === 'INFO') level = 'WARNING'
    if (target) {
      const tail = run.tails.get(target.name) ?? []
      tail.push(line)
      if (tail.length > TAIL_LINES) tail.shift()
      run.tails.set(target.name, tail)
      if (/^(fatal|failed): \[/.test(line)) run.hostErrors.set(target.name, line.slice(0, 1000))
    } else if (/^ERROR!/.test(line)) run.lastError = line.slice(0, 500)
    ctx.log.system(line, target ? { level, runTargetId: target.id } : { level })
  }

  return new Promise((resolve, reject) => {
    const child = spawn(tools.ansiblePlaybook, args, { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    const stdout = createLineSplitter(onLine('STDOUT'))
    const stderr = createLineSplitter(onLine('STDERR'))
    child.stdout.on('data', (c: Buffer) => stdout.push(c))
    child.stderr.on('data', (c: Buffer) => stderr.push(c))
    let killTimer: NodeJS.Timeout | undefined
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, signal)
      } catch {
        // Already gone.
      }
    }
    const onAbort = () => {
      ctx.log.system('stopping ansible-playbook', { level: 'WARNING' })
      killGroup('SIGTERM')
      killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS)
    }
    ctx.signal.addEventListener('abort', onAbort, { once: true })
    child.once('error', (err) => {
      ctx.signal.removeEventListener('abort', onAbort)
      reject(new Error(`could not start ${tools.ansiblePlaybook}: ${err.message}`))
    })
    child.once('close', (code, signal) => {
      ctx.signal.removeEventListener('abort', onAbort)
      clearTimeout(killTimer)
      // Leftovers of the group (ssh clients) must not outlive the run either.
      killGroup('SIGKILL')
      stdout.flush()
      stderr.flush()
      run.exitCode = code
      run.signal = signal
      resolve(run)
    })
  })
}

/** `ok: [sw-01]`, `fatal: [sw-01]: UNREACHABLE!`, `changed: [sw-01] => (item=x)`, `ok: [sw-01 -> other]`. */
export function hostOf(line: string): string | null {
  const m = /^[a-z]+(?: \([^)]*\))?: \[([^\]]+)\]/.exec(line)
  if (!m) return null
  return m[1]!.split(' -> ')[0]!
}

export function parseRecapLine(line: string): { host: string; counts: RecapCounts } | null {
  const m = /^(\S(?:.*?\S)?)\s+:\s+((?:[a-z]+=\d+\s*)+)$/.exec(line)
  if (!m) return null
  const counts = Object.fromEntries(COUNT_KEYS.map((k) => [k, 0])) as RecapCounts
  for (const [, key, value] of m[2]!.matchAll(/([a-z]+)=(\d+)/g)) {
    if ((COUNT_KEYS as readonly string[]).includes(key!)) counts[key as keyof RecapCounts] = Number(value)
  }
  return { host: m[1]!, counts }
}

export function classify(line: string, recap?: RecapCounts): LogLevel {
  if (recap) return recap.failed > 0 || recap.unreachable > 0 ? 'ERROR' : recap.changed > 0 ? 'WARNING' : 'INFO'
  if (/^(fatal|failed): \[/.test(line) || /UNREACHABLE!|^ERROR!|^\[ERROR\]/.test(line)) return 'ERROR'
  if (/^changed: \[/.test(line) || /^\[(WARNING|DEPRECATION WARNING)\]/.test(line)) return 'WARNING'
  if (/^\.\.\.ignoring$/.test(line)) return 'WARNING'
  return 'INFO'
}
