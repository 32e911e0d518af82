'use client'
/**
 * Approve or reject an APPROVAL node with a comment. The server decides who may (roles, named users, no
 * self-approval unless the node allows it); a refusal is shown here in its words.
 */
import { useId, useState } from 'react'
import { useMutation } from 'urql'
import { Icons } from '@/components/icons'
import { errorMessage } from '@/lib/errors'
import { ApproveNodeMutation, RejectNodeMutation } from './queries'

export function ApprovalDecision({ nodeRunId, label, onDecided }: { nodeRunId: string; label: string; onDecided?: () => void }) {
  const id = useId()
  const [comment, setComment] = useState('')
  const [approveState, approve] = useMutation(ApproveNodeMutation)
  const [rejectState, reject] = useMutation(RejectNodeMutation)
  const [error, setError] = useState<string | null>(null)
  const busy = approveState.fetching || rejectState.fetching
  const decide = async (which: 'approve' | 'reject') => {
    setError(null)
    const r = await (which === 'approve' ? approve : reject)({ nodeRunId, comment: comment.trim() || null }, { additionalTypenames: ['WorkflowNodeRun', 'WorkflowRun'] })
    if (r.error) setError(errorMessage(r.error))
    else {
      setComment('')
      onDecided?.()
    }
  }
  return (
    <div className="stack" style={{ gap: 6 }} data-testid="approval-decision">
      <div className="field">
        <label htmlFor={`${id}-comment`}>Comment on {label}</label>
        <input id={`${id}-comment`} value={comment} onChange={(e) => setComment(e.target.value)} placeholder="Optional: why" />
      </div>
      <div className="row" style={{ gap: 6 }}>
        <button type="button" className="btn primary sm" disabled={busy} onClick={() => void decide('approve')}>
          <Icons.check /> Approve
        </button>
        <button type="button" className="btn danger-ghost sm" disabled={busy} onClick={() => void decide('reject')}>
          <Icons.x /> Reject
        </button>
      </div>
      {error ? (
        <div className="alert error" role="alert">
          {error}
        </div>
      ) : null}
    </div>
  )
}
