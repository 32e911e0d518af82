/**
 * The `command` job type: runs a list of shell commands over SSH on every target of the run.
 *
 * Per target: connect (trust on first use for the host key), run each command in its own exec channel,
 * stream output line by line into the run log, stop at the first failing command unless told otherwise,
 * and report one outcome. Targets are independent: one target's failure never stops the others.
 */
import { z } from 'zod'
import type { SshConnection } from '../../ssh/connection.ts'
import { SshError } from '../../ssh/ssh-error.ts'
import { coerceError } from '../../util/errors.ts'
import { renderTemplate, shellQuote } from '../../util/template.ts'
import type { ExecutionContext, JobExecutor, LogLevel, RunTargetHandle, TargetReport } from './types.ts'
import { abortReport, execStreamed, OutputTail, forEachTarget, withTargetConnection } from './target-support.ts'
import { outputsExport, probeShellAndCreateOutputsFile, readAndRemoveOutputsFile, removeRemotePaths } from './outputs-file.ts'

const configSchema = z.object({
  commands: z
    .array(z.string().trim().min(1, 'a command must not be empty'))
    .min(1)
    .max(50)
    .describe(
      'Commands run one after another on each target, each in a fresh shell of its own (so `cd` and shell ' +
        'variables do not carry over). Placeholders such as `{{ params.name }}`, `{{ name }}`, `{{ target.name }}` ' +
        'or `{{ target.attributes.location }}` are replaced by single-quoted values. To publish step outputs, write `key=value` ' +
        'lines (or one JSON object) to the file named by $SWITCHYARD_OUTPUTS.',
    ),
  continueOnError: z
    .boolean()
    .default(false)
    .describe('Run the remaining commands after one fails. The target still fails if any command failed.'),
  pty: z
    .boolean()
    .default(false)
    .describe(
      'Allocate a pseudo-terminal (some devices and tools need one). Merges stderr into stdout; remote ' +
        'processes get SIGHUP on cancel.',
    ),
  connectTimeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(300)
    .default(15)
    .describe('Time allowed per target to connect, complete the SSH handshake and log in.'),
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a shell variable name'), z.string())
    .optional()
    .describe('Environment variables exported before each command (placeholders allowed). Needs a POSIX shell on the target.'),
}).strict() // a misspelt option (`continueOnErrors`) is an error, not silently ignored

export type CommandConfig = z.output<typeof configSchema>
type Context = ExecutionContext<CommandConfig>

export const commandExecutor: JobExecutor<typeof configSchema> = {
  type: 'command',
  label: 'Shell command',
  description: 'Runs shell commands over SSH on each target and streams their output.',
  configSchema,
  usesTargets: true,
  publishesOutputs: true,
  async execute(ctx) {
    await forEachTarget(ctx, (target, finish) => runTarget(ctx, target, finish))
    return {}
  },
}

async function runTarget(ctx: Context, target: RunTargetHandle, finish: (report: TargetReport) => void): Promise<void> {
  ctx.targetStarted(target.id)
  const log = (text: string, level?: LogLevel) => ctx.log.system(text, { level, runTargetId: target.id })
  const tail = new OutputTail()
  try {
    if (!target.credential) throw SshError.noCredential(target.name)
    // Render everything before connecting: a template mistake should not cost a login on every device.
    const commands = renderCommands(ctx, target)
    const report = await withTargetConnection(ctx, target, ctx.config.connectTimeoutSeconds, log, (connection) => {
      return runCommands(ctx, connection, target, commands, tail, log)
    })
    finish({ ...report, outputTail: tail.text() })
  } catch (thrown) {
    if (ctx.signal.aborted) {
      const report = abortReport(ctx.signal)
      log(`${report.error}: remote commands stopped`, 'WARNING')
      finish({ ...report, outputTail: tail.text() })
      return
    }
    const err = coerceError(thrown)
    const retryable = err instanceof SshError ? err.retryable : false
    log(err.message, 'ERROR')
    finish({ status: 'FAILED', error: err.message, retryable, outputTail: tail.text() })
  }
}

interface RenderedCommand {
  /** What the operator wrote, with placeholders filled in: shown in the log. */
  display: string
  /** What is sent to the server: the environment exports, then the command. */
  remote: string
}

function renderCommands(ctx: Context, target: RunTargetHandle): RenderedCommand[] {
  // Parameters are reachable both bare (`{{ vlan }}`) and as `{{ params.vlan }}`; the built-in names win.
  const vars = {
    ...ctx.parameters,
    params: ctx.parameters,
    target: { name: target.name, host: target.host, port: target.port, tags: target.tags, attributes: target.attributes },
  }
  const exports = Object.entries(ctx.config.env ?? {})
    .map(([name, value]) => `export ${name}=${shellQuote(renderTemplate(value, vars, { quote: 'none' }))}; `)
    .join('')
  return ctx.config.commands.map((command) => {
    const display = renderTemplate(command, vars, { quote: 'shell' })
    return { display, remote: exports + display }
  })
}

async function runCommands(
  ctx: Context,
  connection: SshConnection,
  target: RunTargetHandle,
  commands: RenderedCommand[],
  tail: OutputTail,
  log: (text: string, level?: LogLevel) => void,
): Promise<Omit<TargetReport, 'outputTail'>> {
  // Where the target has a POSIX shell, commands die with the SSH session (a crashed worker must not
  // leave one running while the retry starts it again); a pty hangs up by itself.
  // Step outputs need a shell to export the file's path in (network device CLIs have none). The probe
  // and the file cost one exec; reading and removing it one more: three round trips per target in all.
  const { posix, outputsPath: outputs } = await probeShellAndCreateOutputsFile(connection, ctx.signal, log)
  const boundToSession = !ctx.config.pty && posix
  let removed = false
  try {
    const report = await runEach(ctx, connection, target, commands, tail, log, { boundToSession, outputsPath: outputs })
    if (outputs && report.status === 'SUCCEEDED') {
      report.outputsFile = await readAndRemoveOutputsFile(connection, outputs, ctx.signal)
      removed = true
    }
    return report
  } finally {
    if (outputs && !removed) await removeRemotePaths(connection, [outputs], log, { quiet: true })
  }
}

async function runEach(
  ctx: Context,
  connection: SshConnection,
  target: RunTargetHandle,
  commands: RenderedCommand[],
  tail: OutputTail,
  log: (text: string, level?: LogLevel) => void,
  options: { boundToSession: boolean; outputsPath: string | null },
): Promise<Omit<TargetReport, 'outputTail'>> {
  let failure: { exitCode: number | null; error: string } | null = null
  let lastExitCode: number | null = null
  const prefix = options.outputsPath ? outputsExport(options.outputsPath) : ''
  for (const [index, command] of commands.entries()) {
    log(`$ ${command.display}`)
    const result = await execStreamed(ctx, connection, target, prefix + command.remote, tail, { pty: ctx.config.pty, boundToSession: options.boundToSession })
    lastExitCode = result.exitCode
    const which = `command ${index + 1} of ${commands.length}`
    if (result.exitCode !== null) {
      log(`exit code ${result.exitCode}`, result.exitCode === 0 ? 'INFO' : 'ERROR')
      if (result.exitCode !== 0) failure ??= { exitCode: result.exitCode, error: `${which} exited with code ${result.exitCode}` }
    } else if (result.signal !== null) {
      log(`terminated by signal ${result.signal}`, 'ERROR')
      failure ??= { exitCode: null, error: `${which} was terminated by signal ${result.signal}` }
    } else {
      // Common on network devices, which often do not send an exit status: count it as success.
      log('finished (the server reported no exit status)', 'WARNING')
    }
    if (failure && !ctx.config.continueOnError) break
  }
  if (failure) return { status: 'FAILED', exitCode: failure.exitCode, error: failure.error, retryable: true }
  return { status: 'SUCCEEDED', exitCode: lastExitCode, error: null }
}
