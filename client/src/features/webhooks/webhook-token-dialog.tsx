'use client'
/**
 * The URL of a new (or re-tokened) endpoint, shown once: the token is in the URL and the server keeps only
 * its hash. It lives in this dialog's state only and is gone when the dialog closes. With it, a "how to
 * call it" snippet using the real URL.
 */
import { useRef, useState } from 'react'
import { Modal } from '@/components/dialog'
import { Icons } from '@/components/icons'
import { Field } from '@/components/ui'
import { apiOrigin } from '@/lib/api-url'
import type { ParameterDefinition } from '@/lib/parameters'
import { curlSnippet, exampleBody, webhookUrl } from '@/lib/webhooks'
import type { NewToken } from './webhook-form'

export function WebhookTokenDialog({ token, rotated, parameters, onClose }: { token: NewToken; rotated: boolean; parameters: readonly ParameterDefinition[]; onClose(): void }) {
  const url = webhookUrl(apiOrigin(), token.path)
  const [copied, setCopied] = useState<'copied' | 'manual' | null>(null)
  const ref = useRef<HTMLInputElement>(null)
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(url)
      setCopied('copied')
    } catch {
      // No clipboard API (plain http on another host) or no permission: select it for Ctrl+C.
      ref.current?.focus()
      ref.current?.select()
      setCopied(document.execCommand?.('copy') ? 'copied' : 'manual')
    }
  }
  return (
    <Modal
      open
      wide
      title={rotated ? `New URL for webhook “${token.endpointName}”` : `Webhook “${token.endpointName}” created`}
      onClose={onClose}
      footer={
        <button type="button" className="btn primary" onClick={onClose}>
          Done
        </button>
      }
    >
      <div className="stack">
        <div className="alert warn" role="status">
          <strong>Copy this URL now: you won’t see it again.</strong> Its token is the endpoint’s password and Switchyard keeps only a hash of it. If it is lost or
          leaks, rotate the token to get a new URL{rotated ? ' — as just happened: the old URL no longer works' : ''}.
        </div>
        <Field
          label="URL"
          hint={copied === 'copied' ? 'Copied to the clipboard.' : copied === 'manual' ? 'Selected: press Ctrl+C (⌘C) to copy it.' : 'POST a JSON body to it.'}
        >
          {(p) => (
            <div className="secret-row">
              <input {...p} ref={ref} name="webhookUrl" data-testid="new-webhook-url" className="mono" readOnly value={url} spellCheck={false} autoComplete="off" onFocus={(e) => e.currentTarget.select()} />
              <button type="button" className="btn" onClick={() => void copy()} data-autofocus>
                {copied === 'copied' ? <Icons.check /> : <Icons.copy />} {copied === 'copied' ? 'Copied' : 'Copy'}
              </button>
            </div>
          )}
        </Field>
        <div className="stack" style={{ gap: 6 }}>
          <h3 className="section-title">How to call it</h3>
          <pre className="snippet" data-testid="webhook-snippet" tabIndex={0}>
            {curlSnippet({ url, signed: token.signed, body: exampleBody(token.rows, parameters) })}
          </pre>
          <p className="small muted" style={{ margin: 0 }}>
            {token.signed ? 'Calls must be signed: the signature is an HMAC-SHA256 of the time, a dot and the raw body, with the signing credential’s password. ' : ''}
            <code>x-switchyard-delivery</code> is optional: a call repeating one that already ran is refused (409).
          </p>
        </div>
      </div>
    </Modal>
  )
}
