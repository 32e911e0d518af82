/**
 * The placeholder syntax of config_backup's path and message templates (and the value of `{date}`), in
 * one place because both the config schema (which placeholders exist) and the run (rendering them) need it.
 */
import { renderTemplate, templateVariables } from '../../../util/template.ts'

/** `{a.b}` (the documented form) and `{{ a.b }}` (as in commands) both work in paths and messages. */
function toDoubleBraces(text: string): string {
  return text.replace(/\{\{?\s*([A-Za-z_][A-Za-z0-9_-]*(?:\.(?:[A-Za-z_][A-Za-z0-9_-]*|\d+))*)\s*\}?\}/g, '{{$1}}')
}

export function renderPlain(text: string, vars: Record<string, unknown>): string {
  return renderTemplate(toDoubleBraces(text), vars, { quote: 'none' })
}

export function placeholders(text: string): string[] {
  return templateVariables(toDoubleBraces(text))
}

/** The value of `{date}`: today, YYYY-MM-DD, UTC. */
export function today(): string {
  return new Date().toISOString().slice(0, 10)
}
