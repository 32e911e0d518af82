/**
 * Runs ansible-playbook once in its own process group (killed as a whole on cancel and at the end) and
 * turns its streamed output into log lines per target, output tails, host errors and the PLAY RECAP.
 */
import { join } from 'node:path'
import { createLineSplitter } from '../../../logs/line-splitter.ts'
import type { RunTargetHandle } from '../types.ts'
import type { AnsibleToolPaths, Context } from './config.ts'
import { classify, hostOf, parseRecapLine, type RecapCounts } from './output.ts'

/** What the playbook reported, per run target id. */
export interface PlaybookRun {
  exitCode: number | null
  signal: string | null
  recap: Map<string, RecapCounts>
  hostErrors: Map<string, string>
  tails: Map<string, string[]>
  lastError: string | null
}

const TAIL_LINES = 50
const KILL_GRACE_MS = 3000

/**
 * `hosts` maps inventory names (what ansible prints) to targets. Runs in the sandbox: the run-as user,
 * and an environment of exactly the variables below.
 */
export function runPlaybook(ctx: Context, tools: Required<AnsibleToolPaths>, dir: string, hosts: ReadonlyMap<string, RunTargetHandle>): Promise<PlaybookRun> {
  const { config } = ctx
  const args = ['-i', join(dir, 'inventory.yml'), '--extra-vars', `@${join(dir, 'extra-vars.yml')}`, '--forks', String(config.forks ?? Math.max(1, Math.floor(ctx.maxParallelTargets)))]
  if (config.checkMode) args.push('--check')
  if (config.diff) args.push('--diff')
  if (config.limit) args.push('--limit', config.limit)
  if (config.tags?.length) args.push('--tags', config.tags.join(','))
  if (config.skipTags?.length) args.push('--skip-tags', config.skipTags.join(','))
  args.push(join(dir, 'playbook.yml'))
  const env = {
    ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'),
    // Ansible's default `~/.ansible/tmp` becomes `~<user>` for tasks on the controller (delegate_to: localhost),
    // the run-as user's passwd home (`/nonexistent` for nobody). `$HOME` is expanded by the shell instead:
    // the private dir on the worker, the login user's home on a target (what `~` meant there).
    ANSIBLE_REMOTE_TMP: '$HOME/.ansible/tmp',
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
  const run: PlaybookRun = { exitCode: null, signal: null, recap: new Map(), hostErrors: new Map(), tails: new Map(), lastError: null }
  let inRecap = false

  const onLine = (stream: 'STDOUT' | 'STDERR') => (line: string) => {
    if (line.trim() === '') return
    if (/^PLAY RECAP\b/.test(line)) inRecap = true
    const recapLine = inRecap ? parseRecapLine(line) : null
    const hostName = recapLine?.host ?? hostOf(line)
    const target = hostName !== null ? hosts.get(hostName) : undefined
    if (recapLine && target) run.recap.set(target.id, recapLine.counts)
    let level = classify(line, recapLine?.counts)
    if (stream === 'STDERR' && level === 'INFO') level = 'WARNING'
    if (target) {
      const tail = run.tails.get(target.id) ?? []
      tail.push(line)
      if (tail.length > TAIL_LINES) tail.shift()
      run.tails.set(target.id, tail)
      if (/^(fatal|failed): \[/.test(line)) run.hostErrors.set(target.id, line.slice(0, 1000))
    } else if (/^ERROR!/.test(line)) run.lastError = line.slice(0, 500)
    ctx.log.system(line, target ? { level, runTargetId: target.id } : { level })
  }

  return new Promise((resolve, reject) => {
    // In a process group of its own (a cancel kills ansible and its ssh clients together), and dying
    // with this process: a killed worker must not leave the playbook running on the targets.
    const child = ctx.sandbox.spawn(tools.ansiblePlaybook, args, { cwd: dir, home: dir, env, boundToThisProcess: true })
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
