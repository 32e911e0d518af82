'use client'
/** A page that threw while rendering: say so inside the console frame and offer a retry. */
import { useEffect } from 'react'
import { EmptyState } from '@/components/ui'

export default function ConsoleError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  useEffect(() => {
    console.error(error)
  }, [error])
  return (
    <EmptyState
      title="Something went wrong on this page"
      action={
        <button type="button" className="btn primary" onClick={reset}>
          Try again
        </button>
      }
    >
      {error.message || 'An unexpected error occurred.'} The rest of the console still works.
    </EmptyState>
  )
}
