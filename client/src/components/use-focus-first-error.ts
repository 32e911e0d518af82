'use client'
/**
 * After a failed submit, moves focus to the first invalid field (or, when no field is marked, to the
 * form's error message) so keyboard and screen-reader users land on what to fix. Call the returned
 * function right after setting the errors; focusing waits for them to render.
 */
import { useEffect, useState, type RefObject } from 'react'

export function useFocusFirstError(container: RefObject<HTMLElement | null>): () => void {
  const [attempt, setAttempt] = useState(0)
  useEffect(() => {
    const root = container.current
    if (!attempt || !root) return
    const target = root.querySelector<HTMLElement>('[aria-invalid="true"]:not(fieldset)') ?? root.querySelector<HTMLElement>('.alert.error, .error[role="alert"]')
    if (!target) return
    if (!target.matches('input, select, textarea, button, [tabindex]')) target.tabIndex = -1
    target.focus()
    target.scrollIntoView?.({ block: 'center' })
  }, [attempt, container])
  return () => setAttempt((n) => n + 1)
}

/** "One field needs attention", "3 fields need attention", with where to look. */
export function fixSummary(count: number): string {
  return `${count === 1 ? 'One field needs' : `${count} fields need`} attention: see the message${count === 1 ? '' : 's'} under ${count === 1 ? 'it' : 'them'}.`
}
