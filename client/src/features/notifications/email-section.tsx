'use client'
/**
 * The EMAIL channel kind: the SMTP server (host, port, STARTTLS / TLS / none), the SMTP login (a
 * PASSWORD credential, or none), a CA certificate to trust for the server, the sender and the recipients.
 */
import Link from 'next/link'
import { Segmented } from '@/components/inputs'
import { Field } from '@/components/ui'
import { defaultSmtpPort, emailDraft, emailInput, SMTP_SECURITIES, SMTP_SECURITY_HINTS, SMTP_SECURITY_LABELS, type EmailDraft } from '@/lib/notification-channels'
import type { ChannelKind } from './channel-kind'

export const EMAIL: ChannelKind = {
  value: 'EMAIL',
  label: 'Email',
  fields: ['smtpHost', 'smtpPort', 'smtpSecurity', 'smtpCredentialId', 'smtpCaCertificate', 'emailFrom', 'emailTo', 'url'],
  initial: (channel) => ({ ...emailDraft(channel) }),
  input: (d) => emailInput(d as unknown as EmailDraft),
  Section({ channel, draft, set, err, credentials }) {
    const d = draft as unknown as EmailDraft
    const passwords = credentials.filter((c) => c.kind === 'PASSWORD')
    const current = channel?.smtpCredential ?? null
    return (
      <>
        <div className="grid-2">
          <Field label="SMTP server" required error={err('smtpHost')} hint="Host name or address of the mail server (or relay).">
            {(p) => <input {...p} name="smtpHost" className="mono" value={d.smtpHost} placeholder="smtp.example.com" autoComplete="off" onChange={(e) => set({ smtpHost: e.target.value })} />}
          </Field>
          <Field label="Port" error={err('smtpPort')} hint={`Blank: ${defaultSmtpPort(d.smtpSecurity)} for ${SMTP_SECURITY_LABELS[d.smtpSecurity]}.`}>
            {(p) => <input {...p} name="smtpPort" inputMode="numeric" value={d.smtpPort} placeholder={String(defaultSmtpPort(d.smtpSecurity))} onChange={(e) => set({ smtpPort: e.target.value })} />}
          </Field>
        </div>
        <Field label="Security" error={err('smtpSecurity')} hint={SMTP_SECURITY_HINTS[d.smtpSecurity]}>
          {() => <Segmented label="Security" value={d.smtpSecurity} onChange={(v) => set({ smtpSecurity: v })} options={SMTP_SECURITIES.map((s) => ({ value: s, label: SMTP_SECURITY_LABELS[s] }))} />}
        </Field>
        <Field
          label="SMTP login"
          error={err('smtpCredentialId')}
          hint={
            passwords.length ? (
              'A password credential holding the SMTP username and password (never shown). None: the server is used without AUTH.'
            ) : (
              <>No password credentials yet: add one on the <Link href="/credentials">Credentials</Link> page, or send without a login.</>
            )
          }
        >
          {(p) => (
            <select {...p} name="smtpCredentialId" value={d.smtpCredentialId} onChange={(e) => set({ smtpCredentialId: e.target.value })}>
              <option value="">(none: no SMTP AUTH)</option>
              {passwords.map((c) => (
                <option key={c.id} value={c.id} disabled={!c.canUse && c.id !== d.smtpCredentialId}>
                  {c.name} ({c.username}){c.canUse ? '' : ' — not yours to use'}
                </option>
              ))}
              {current && !passwords.some((c) => c.id === current.id) ? <option value={current.id}>{current.name}</option> : null}
            </select>
          )}
        </Field>
        <Field label="CA certificate" error={err('smtpCaCertificate')} hint="PEM of a CA to trust for the server besides the public ones (an internal CA or a self-signed server). Blank: public CAs only.">
          {(p) => (
            <textarea {...p} name="smtpCaCertificate" className="mono" rows={3} value={d.smtpCaCertificate} placeholder="-----BEGIN CERTIFICATE-----" spellCheck={false} onChange={(e) => set({ smtpCaCertificate: e.target.value })} />
          )}
        </Field>
        <Field label="From" required error={err('emailFrom')}>
          {(p) => <input {...p} name="emailFrom" value={d.emailFrom} placeholder="Switchyard <switchyard@example.com>" autoComplete="off" onChange={(e) => set({ emailFrom: e.target.value })} />}
        </Field>
        <Field label="Recipients" required error={err('emailTo')} hint="One address per line (up to 50).">
          {(p) => <textarea {...p} name="emailTo" rows={2} value={d.emailTo} placeholder={'noc@example.com\nNetwork on-call <oncall@example.com>'} spellCheck={false} onChange={(e) => set({ emailTo: e.target.value })} />}
        </Field>
      </>
    )
  },
}
