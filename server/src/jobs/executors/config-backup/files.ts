/**
 * Which files a target's command outputs become: each command's path template rendered for the target
 * and checked to stay inside the working copy, planned before any login.
 */
import { renderTemplate } from '../../../util/template.ts'
import type { RunTargetHandle } from '../types.ts'
import { renderPlain, today } from './placeholders.ts'
import type { Context } from './schema.ts'

export interface PlannedFile {
  index: number
  command: string
  path: string
}
export interface Fetched {
  target: RunTargetHandle
  files: Array<PlannedFile & { content: string }>
}

export function planFiles(ctx: Context, target: RunTargetHandle): PlannedFile[] {
  const vars = {
    target: { name: target.name, host: target.host, port: target.port, tags: target.tags, attributes: target.attributes },
    date: today(),
    params: ctx.parameters,
    run: { id: ctx.runId, attempt: ctx.attempt },
  }
  const shellVars = { ...ctx.parameters, params: ctx.parameters, target: vars.target }
  const files = ctx.config.commands.map((entry, i) => {
    const raw = typeof entry === 'string' ? entry : entry.command
    const template = typeof entry === 'string' ? ctx.config.pathTemplate : (entry.path ?? ctx.config.pathTemplate)
    const command = renderTemplate(raw, shellVars, { quote: 'shell' })
    const path = safeRelativePath(renderPlain(template, { ...vars, command: { index: i + 1 } }))
    return { index: i + 1, command, path }
  })
  const dup = files.find((f, i) => files.findIndex((g) => g.path === f.path) !== i)
  if (dup) throw new Error(`two commands write the same file ${dup.path}: use {command.index} or per-command paths`)
  return files
}

/** A relative path inside the working copy: no absolute paths, no `..`, nothing inside `.git`. */
function safeRelativePath(path: string): string {
  if (path.startsWith('/') || path.includes('\\') || /[\u0000-\u001f]/.test(path)) {
    throw new Error(`file path "${path}" must be relative, without backslashes or control characters`)
  }
  const parts = path.split('/').filter((p) => p !== '')
  if (parts.length === 0) throw new Error('the file path is empty')
  for (const part of parts) {
    if (part === '.' || part === '..' || part.toLowerCase() === '.git') throw new Error(`file path "${path}" must not contain "${part}"`)
  }
  return parts.join('/')
}
