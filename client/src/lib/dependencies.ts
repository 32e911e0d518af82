/**
 * Template dependencies in the console ("run B after A ends with …"), the parts worth testing without a
 * browser: final statuses and trigger outcomes in words, and a dependency seen from one of its templates.
 */

export const DEPENDENCY_STATUSES = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED'] as const
export type DependencyStatus = (typeof DEPENDENCY_STATUSES)[number]

const VERB: Record<string, string> = { SUCCEEDED: 'succeeds', FAILED: 'fails', TIMED_OUT: 'times out', CANCELLED: 'is cancelled' }
const LABEL: Record<string, string> = { SUCCEEDED: 'Succeeded', FAILED: 'Failed', TIMED_OUT: 'Timed out', CANCELLED: 'Cancelled' }

export function dependencyStatusLabel(s: string): string {
  return LABEL[s] ?? s
}

/** ["SUCCEEDED", "FAILED"] → "succeeds or fails" (in the order of DEPENDENCY_STATUSES). */
export function statusesInWords(statuses: readonly string[]): string {
  const sorted = [...statuses].sort((a, b) => DEPENDENCY_STATUSES.indexOf(a as DependencyStatus) - DEPENDENCY_STATUSES.indexOf(b as DependencyStatus))
  const words = sorted.map((s) => VERB[s] ?? s.toLowerCase())
  if (words.length <= 1) return words[0] ?? 'ends'
  return `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`
}

/** A trigger's outcome in words (PENDING: a worker is about to start the run). */
export function triggerStatusLabel(s: string): string {
  return s === 'STARTED' ? 'Started' : s === 'PENDING' ? 'Starting' : s === 'SKIPPED' ? 'Skipped' : s === 'FAILED' ? 'Not started' : s
}

/** Which way a dependency points, seen from the template whose page shows it. */
export type Direction = 'AFTER' | 'TRIGGERS'

export function directionFrom(templateId: string, dep: { upstream: { id: string }; downstream: { id: string } }): Direction {
  return dep.downstream.id === templateId ? 'AFTER' : 'TRIGGERS'
}

/** The link's ends for the API, from the page's template, the direction and the other template. */
export function dependencyEnds(templateId: string, direction: Direction, otherId: string): { upstreamTemplateId: string; downstreamTemplateId: string } {
  return direction === 'AFTER' ? { upstreamTemplateId: otherId, downstreamTemplateId: templateId } : { upstreamTemplateId: templateId, downstreamTemplateId: otherId }
}

/**
 * The sentence around the other template's name (the page links the name): "Runs after ‹backup›
 * succeeds or fails." / "Starts ‹report› when this template succeeds."
 */
export function dependencySentenceParts(direction: Direction, statuses: readonly string[]): { before: string; after: string } {
  return direction === 'AFTER' ? { before: 'Runs after ', after: ` ${statusesInWords(statuses)}.` } : { before: 'Starts ', after: ` when this template ${statusesInWords(statuses)}.` }
}

export function dependencySentence(direction: Direction, otherName: string, statuses: readonly string[]): string {
  const { before, after } = dependencySentenceParts(direction, statuses)
  return `${before}${otherName}${after}`
}
