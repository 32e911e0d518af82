/**
 * The fetch phase: one SSH connection per target runs every planned command and returns its output,
 * cleaned of volatile lines, ready to be written.
 */
import { compileUserRegex } from '../../../util/safe-regex.ts'
import { createLineSplitter } from '../../../logs/line-splitter.ts'
import type { SshConnection } from '../../../ssh/connection.ts'
import { withTargetConnection } from '../target-support.ts'
import type { LogLevel, RunTargetHandle } from '../types.ts'
import type { PlannedFile } from './files.ts'
import type { Context } from './schema.ts'

const MAX_OUTPUT_BYTES = 16 * 1024 * 1024

/** Runs every command on one target and returns each one's output, cleaned. */
export async function fetchTarget(ctx: Context, target: RunTargetHandle, files: PlannedFile[]): Promise<string[]> {
  const log = (text: string, level?: LogLevel) => ctx.log.system(text, { level, runTargetId: target.id })
  const patterns = ctx.config.stripPatterns.map((p) => compileUserRegex(p)) // linear time: see util/safe-regex.ts
  return withTargetConnection(ctx, target, ctx.config.connectTimeoutSeconds, log, async (connection) => {
    const outputs: string[] = []
    for (const file of files) outputs.push(await fetchOne(ctx, connection, target, file, files.length, patterns, log))
    return outputs
  })
}

async function fetchOne(
  ctx: Context,
  connection: SshConnection,
  target: RunTargetHandle,
  file: PlannedFile,
  total: number,
  patterns: RegExp[],
  log: (text: string, level?: LogLevel) => void,
): Promise<string> {
  log(`$ ${file.command}`)
  const chunks: Buffer[] = []
  let size = 0
  const stderr = createLineSplitter((line) => ctx.log.output(target.id, 'STDERR', line))
  let result
  try {
    result = await connection.exec(file.command, {
      signal: ctx.signal,
      onStdout: (chunk) => {
        size += chunk.length
        if (size <= MAX_OUTPUT_BYTES) chunks.push(chunk)
      },
      onStderr: (chunk) => stderr.push(chunk),
    })
  } finally {
    stderr.flush()
  }
  const which = `command ${file.index} of ${total} (${file.command})`
  if (result.exitCode !== null && result.exitCode !== 0) throw new Error(`${which} exited with code ${result.exitCode}`)
  if (result.exitCode === null && result.signal !== null) throw new Error(`${which} was terminated by signal ${result.signal}`)
  if (size > MAX_OUTPUT_BYTES) throw new Error(`${which} printed more than ${MAX_OUTPUT_BYTES / 1024 / 1024} MiB`)
  const { text, lines, stripped } = clean(Buffer.concat(chunks).toString('utf8'), patterns)
  log(`${lines} line(s) for ${file.path}${stripped ? `, ${stripped} volatile line(s) stripped` : ''}`)
  return text
}

/** Unix line ends, volatile lines removed, a final newline. */
export function clean(output: string, patterns: readonly RegExp[]): { text: string; lines: number; stripped: number } {
  const all = output.replace(/\r\n?/g, '\n').split('\n')
  if (all.at(-1) === '') all.pop()
  const kept = all.filter((line) => !patterns.some((p) => p.test(line)))
  return { text: kept.length ? `${kept.join('\n')}\n` : '', lines: kept.length, stripped: all.length - kept.length }
}
