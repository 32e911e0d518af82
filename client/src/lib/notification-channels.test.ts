import { describe, expect, it } from 'vitest'
import { channelDestination, channelKindLabel, chatUrlInput, emailDraft, emailInput, parseRecipients, testResultWords } from './notification-channels'

describe('channel kinds', () => {
  it('are words, a newer kind as its name', () => {
    expect(channelKindLabel('EMAIL')).toBe('Email')
    expect(channelKindLabel('TEAMS')).toBe('Teams')
    expect(channelKindLabel(null)).toBe('Webhook')
    expect(channelKindLabel('PAGER')).toBe('PAGER')
  })
})

describe('email channel form', () => {
  it('starts from a saved channel, STARTTLS and no port for a new one', () => {
    expect(emailDraft(null)).toEqual({ smtpHost: '', smtpPort: '', smtpSecurity: 'STARTTLS', smtpCredentialId: '', smtpCaCertificate: '', emailFrom: '', emailTo: '' })
    const d = emailDraft({ smtpHost: 'mx', smtpPort: 2525, smtpSecurity: 'TLS', smtpCredential: { id: 'c1' }, smtpCaCertificate: 'PEM', emailFrom: 'a@b', emailTo: ['x@y', 'z@y'] })
    expect(d).toEqual({ smtpHost: 'mx', smtpPort: '2525', smtpSecurity: 'TLS', smtpCredentialId: 'c1', smtpCaCertificate: 'PEM', emailFrom: 'a@b', emailTo: 'x@y\nz@y' })
  })

  it('reads recipients one per line or comma-separated, each once', () => {
    expect(parseRecipients(' a@x.org\n\nB@x.org, b@X.org; Ops <ops@x.org>\n')).toEqual(['a@x.org', 'B@x.org', 'Ops <ops@x.org>'])
  })

  it('becomes the API input: blank port and login are null, the URL is dropped', () => {
    const { input, errors } = emailInput({ smtpHost: ' mx.example.com ', smtpPort: '', smtpSecurity: 'NONE', smtpCredentialId: '', smtpCaCertificate: '  ', emailFrom: ' sy@example.com ', emailTo: 'a@example.com' })
    expect(errors).toEqual({})
    expect(input).toEqual({ url: null, smtpHost: 'mx.example.com', smtpPort: null, smtpSecurity: 'NONE', smtpCredentialId: null, smtpCaCertificate: null, emailFrom: 'sy@example.com', emailTo: ['a@example.com'] })
    expect(emailInput(emailDraft(null)).input).toMatchObject({ smtpHost: null, emailFrom: null, emailTo: [] })
    expect(emailInput({ ...emailDraft(null), smtpPort: '2525', smtpCaCertificate: '-----BEGIN CERTIFICATE-----\nabc' }).input).toMatchObject({ smtpPort: 2525, smtpCaCertificate: '-----BEGIN CERTIFICATE-----\nabc\n' })
  })

  it('names the fields to fix: port, recipients, CA', () => {
    const { errors } = emailInput({ ...emailDraft(null), smtpPort: '70000', emailTo: 'ok@example.com\nnot-an-address', smtpCaCertificate: 'hello' })
    expect(errors.smtpPort).toMatch(/1 to 65535/)
    expect(errors.emailTo).toBe('“not-an-address” is not an email address.')
    expect(errors.smtpCaCertificate).toMatch(/PEM/)
    expect(emailInput({ ...emailDraft(null), smtpPort: '25.5' }).errors.smtpPort).toBeDefined()
  })
})

describe('chat URL input', () => {
  it('keeps a stored (write-only) URL when left blank, replaces it when one is typed, and asks for one when none is stored', () => {
    expect(chatUrlInput({ url: '  ', keepUrl: true })).toEqual({})
    expect(chatUrlInput({ url: ' https://hooks.slack.com/services/T/B/new ', keepUrl: true })).toEqual({ url: 'https://hooks.slack.com/services/T/B/new' })
    expect(chatUrlInput({ url: '', keepUrl: false })).toEqual({ url: null })
  })
})

describe('channel destination', () => {
  it('shows a webhook URL, an email server and recipients, and only the host of a chat URL (it is the secret)', () => {
    expect(channelDestination({ kind: 'WEBHOOK', url: 'https://h.example/x' })).toBe('https://h.example/x')
    expect(channelDestination({ kind: 'EMAIL', smtpHost: 'mx', smtpSecurity: 'TLS', emailTo: ['a@x', 'b@x', 'c@x'] })).toBe('mx:465 → a@x +2')
    expect(channelDestination({ kind: 'EMAIL', smtpHost: 'mx', smtpPort: 25, smtpSecurity: 'NONE', emailTo: ['a@x'] })).toBe('mx:25 → a@x')
    expect(channelDestination({ kind: 'SLACK', url: null, urlHost: 'hooks.slack.com', hasUrl: true })).toBe('hooks.slack.com/…')
    expect(channelDestination({ kind: 'TEAMS', url: null, urlHost: null, hasUrl: true })).toBe('(URL set)')
    expect(channelDestination({ kind: 'MATTERMOST', url: null, urlHost: null, hasUrl: false })).toBe('(no URL)')
  })
})

describe('send test result', () => {
  it('says whether it arrived, with the answer, in words', () => {
    expect(testResultWords({ ok: true, statusCode: 250, error: null, response: '250 ok', retryable: false }, 'EMAIL')).toEqual({ title: 'The mail server accepted the test message (SMTP 250).', detail: '' })
    expect(testResultWords({ ok: true, statusCode: 204, error: null, response: null, retryable: false }, 'WEBHOOK').title).toBe('The receiver accepted the test message (HTTP 204).')
    expect(testResultWords({ ok: false, statusCode: 500, error: 'HTTP 500', response: 'down', retryable: true }, 'SLACK')).toEqual({
      title: 'The receiver refused the test message (HTTP 500).',
      detail: 'HTTP 500. A real delivery would try again later.',
    })
    expect(testResultWords({ ok: false, statusCode: null, error: 'connect ECONNREFUSED 127.0.0.1:1', response: null, retryable: true }, 'EMAIL')).toEqual({
      title: 'Nothing answered: the test message was not delivered.',
      detail: 'Connect ECONNREFUSED 127.0.0.1:1. A real delivery would try again later.',
    })
    expect(testResultWords({ ok: false, statusCode: 535, error: 'bad login', response: null, retryable: false }, 'EMAIL').detail).toBe('Bad login. A real delivery would give up at once.')
  })
})
