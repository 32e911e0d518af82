/**
 * The `script` job type: uploads an inline script over SFTP to a private temp directory on every target,
 * runs it with the chosen interpreter, streams its output line by line, and always removes the directory.
 *
 * Per target: connect (trust on first use), `mktemp -d` (mode 0700) under a name with a random prefix
 * chosen here, upload `script` (mode 0700) over SFTP on the same session, run it inside a small POSIX sh
 * wrapper whose EXIT/TERM/HUP/INT traps remove the directory, and then — whatever happened, including
 * cancel and timeout — remove it once more in a fresh exec channel (the wrapper cannot clean up after KILL).
 */
import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import type { SshConnection } from '../../ssh/connection.ts'
import { withSftp } from '../../ssh/sftp.ts'
import { SshError } from '../../ssh/ssh-error.ts'
import { coerceError } from '../../util/errors.ts'
import { renderTemplate, shellQuote } from '../../util/template.ts'
import type { ExecutionContext, JobExecutor, LogLevel, RunTargetHandle, TargetReport } from './types.ts'
import { abortReport, execStreamed, OutputTail, forEachTarget, withTargetConnection } from './target-support.ts'
import { outputsExport, readOutputsFile, removeRemotePaths } from './outputs-file.ts'

const INTERPRETERS = ['sh', 'bash', 'python3', 'custom'] as const

const configSchema = z
  .object({
    script: z
      .string()
      .refine((s) => s.trim().length > 0, 'the script must not be empty')
      .refine((s) => Buffer.byteLength(s) <= 1024 * 1024, 'the script must be at most 1 MiB')
      .describe(
        'The script body, uploaded as is (no placeholders are replaced in it: pass values as arguments or env). To publish step ' +
          'outputs, write `key=value` lines (or one JSON object) to the file named by $SWITCHYARD_OUTPUTS.',
      ),
    interpreter: z
      .enum(INTERPRETERS)
      .default('sh')
      .describe('How the script is run: `sh`, `bash` or `python3` (found on the target\'s PATH), or `custom` to use `shebang`.'),
    shebang: z
      .string()
      .regex(/^#!\/\S+( [^\r\n]*)?$/, 'must be a shebang line such as `#!/usr/bin/perl -w` (absolute path, one line)')
      .optional()
      .describe(
        'With `interpreter: custom`: the first line written to the script (e.g. `#!/usr/bin/env ruby`); the script is ' +
          'then executed directly, so the target\'s temp directory must not be mounted noexec.',
      ),
    arguments: z
      .array(z.string().max(4096))
      .max(100)
      .default([])
      .describe(
        'Arguments passed to the script, one list item per argument. Placeholders such as `{{ params.name }}`, `{{ name }}`, ' +
          '`{{ target.name }}` or `{{ target.attributes.location }}` are filled in and each item is shell-quoted as a whole.',
      ),
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a shell variable name'), z.string())
      .optional()
      .describe('Environment variables for the script (placeholders allowed).'),
    connectTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(300)
      .default(15)
      .describe('Time allowed per target to connect, complete the SSH handshake and log in.'),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.interpreter === 'custom' && !config.shebang) {
      ctx.addIssue({ code: 'custom', path: ['shebang'], message: 'required when the interpreter is custom' })
    }
    if (config.interpreter !== 'custom' && config.shebang) {
      ctx.addIssue({ code: 'custom', path: ['shebang'], message: 'only allowed when the interpreter is custom' })
    }
  })

export type ScriptConfig = z.output<typeof configSchema>
type Context = ExecutionContext<ScriptConfig>
type Log = (text: string, level?: LogLevel) => void

export const scriptExecutor: JobExecutor<typeof configSchema> = {
  type: 'script',
  label: 'Script',
  description: 'Uploads an inline script (sh, bash, python3 or a custom shebang) to each target over SFTP, runs it and removes it.',
  configSchema,
  usesTargets: true,
  publishesOutputs: true,
  async execute(ctx) {
    await forEachTarget(ctx, (target, finish) => runTarget(ctx, target, finish))
    return {}
  },
}

/**
 * Removes the directory even when the script is killed: sh runs the EXIT trap after a trapped TERM/HUP/INT
 * (the signal first ends the foreground child, which shares the session's process group).
 */
const WRAPPER = `d=$1; shift; trap 'rm -rf -- "$d"' EXIT; trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM; "$@"`

async function runTarget(ctx: Context, target: RunTargetHandle, finish: (report: TargetReport) => void): Promise<void> {
  ctx.targetStarted(target.id)
  const log: Log = (text, level) => ctx.log.system(text, { level, runTargetId: target.id })
  const tail = new OutputTail()
  try {
    if (!target.credential) throw SshError.noCredential(target.name)
    const { args, exports } = renderInvocation(ctx, target)
    const report = await withTargetConnection(ctx, target, ctx.config.connectTimeoutSeconds, log, (connection) => {
      return runInTempDir(ctx, connection, target, args, exports, tail, log)
    })
    finish({ ...report, outputTail: tail.text() })
  } catch (thrown) {
    if (ctx.signal.aborted) {
      const report = abortReport(ctx.signal)
      log(`${report.error}: script stopped`, 'WARNING')
      finish({ ...report, outputTail: tail.text() })
      return
    }
    const err = coerceError(thrown)
    const retryable = err instanceof SshError ? err.retryable : false
    log(err.message, 'ERROR')
    finish({ status: 'FAILED', error: err.message, retryable, outputTail: tail.text() })
  }
}

/** Arguments and env exports, rendered before connecting (a template mistake must not cost a login). */
function renderInvocation(ctx: Context, target: RunTargetHandle): { args: string[]; exports: string } {
  const vars = {
    ...ctx.parameters,
    params: ctx.parameters,
    target: { name: target.name, host: target.host, port: target.port, tags: target.tags, attributes: target.attributes },
  }
  const args = ctx.config.arguments.map((a) => renderTemplate(a, vars, { quote: 'none' }))
  const exports = Object.entries(ctx.config.env ?? {})
    .map(([name, value]) => `export ${name}=${shellQuote(renderTemplate(value, vars, { quote: 'none' }))}; `)
    .join('')
  return { args, exports }
}

async function runInTempDir(
  ctx: Context,
  connection: SshConnection,
  target: RunTargetHandle,
  args: string[],
  exports: string,
  tail: OutputTail,
  log: Log,
): Promise<Omit<TargetReport, 'outputTail'>> {
  // The random prefix lets cleanup find the directory (and the outputs file beside it) even if the abort
  // hit while mktemp was running. The outputs file lives outside the directory: the wrapper removes the
  // directory as the script exits, and the file must outlive that to be read back.
  const prefix = `switchyard-script-${randomBytes(6).toString('hex')}`
  let dir: string | null = null
  let outputs: string | null = null
  try {
    const made = await execCollect(
      connection,
      `umask 077 && mktemp -d "\${TMPDIR:-/tmp}/${prefix}.XXXXXXXX" && mktemp "\${TMPDIR:-/tmp}/${prefix}-outputs.XXXXXXXX"`,
      ctx.signal,
    )
    const lines = made.stdout.trim().split('\n')
    dir = lines.at(-2) ?? ''
    outputs = lines.at(-1) ?? ''
    if (made.exitCode !== 0 || !dir.startsWith('/') || !dir.includes(prefix) || !outputs.startsWith('/') || !outputs.includes(prefix)) {
      dir = outputs = null
      throw new Error(`could not create a temp directory on ${target.name}: ${(made.stderr.trim() || `exit code ${made.exitCode}`).slice(0, 300)}`)
    }
    const path = `${dir}/script`
    const body = ctx.config.interpreter === 'custom' ? `${ctx.config.shebang}\n${ctx.config.script}` : ctx.config.script
    await withSftp(connection, ctx.signal, (sftp) => sftp.writeFile(path, body, 0o700))
    log(`uploaded the script (${Buffer.byteLength(body)} bytes) to ${path}`)
    const runner = ctx.config.interpreter === 'custom' ? [path] : [ctx.config.interpreter, path]
    log(`$ ${[...runner, ...args].map(shellQuote).join(' ')}`)
    const remote = `${exports}${outputsExport(outputs)}sh -c ${shellQuote(WRAPPER)} switchyard-script ${[dir, ...runner, ...args].map(shellQuote).join(' ')}`
    const report = await runStreaming(ctx, connection, target, remote, tail, log)
    if (report.status === 'SUCCEEDED') report.outputsFile = await readOutputsFile(connection, outputs, ctx.signal)
    return report
  } finally {
    if (dir && outputs) await removeRemotePaths(connection, [dir, outputs], log)
    else await removeRemotePaths(connection, [`"\${TMPDIR:-/tmp}"/${prefix}*`], log, { quote: false, quiet: true })
  }
}

async function runStreaming(
  ctx: Context,
  connection: SshConnection,
  target: RunTargetHandle,
  remote: string,
  tail: OutputTail,
  log: Log,
): Promise<Omit<TargetReport, 'outputTail'>> {
  // The script runs in a POSIX shell by definition: bound to the session, it dies with it (a crashed
  // worker must not leave it running while the retry runs it again).
  const result = await execStreamed(ctx, connection, target, remote, tail, { boundToSession: true })
  if (result.exitCode !== null) {
    log(`exit code ${result.exitCode}`, result.exitCode === 0 ? 'INFO' : 'ERROR')
    if (result.exitCode === 0) return { status: 'SUCCEEDED', exitCode: 0, error: null }
    return { status: 'FAILED', exitCode: result.exitCode, error: `the script exited with code ${result.exitCode}`, retryable: true }
  }
  if (result.signal !== null) {
    log(`terminated by signal ${result.signal}`, 'ERROR')
    return { status: 'FAILED', exitCode: null, error: `the script was terminated by signal ${result.signal}`, retryable: true }
  }
  log('finished (the server reported no exit status)', 'WARNING')
  return { status: 'SUCCEEDED', exitCode: null, error: null }
}

async function execCollect(connection: SshConnection, command: string, signal: AbortSignal) {
  const out: Buffer[] = []
  const err: Buffer[] = []
  const r = await connection.exec(command, { signal, onStdout: (c) => out.push(c), onStderr: (c) => err.push(c) })
  return { exitCode: r.exitCode, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }
}
