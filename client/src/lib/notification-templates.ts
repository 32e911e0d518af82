/**
 * A channel's message templates in the console, the parts worth testing without a browser: which
 * templates each kind uses and what they mean there, the editor's text to the API's input (blank: the
 * built-in default, sent as null), whether there are unsaved edits, the preview's template errors by
 * field, and the variables a template can use (README "Notifications").
 */

export const TEMPLATE_FIELDS = ['subjectTemplate', 'bodyTemplate', 'htmlTemplate'] as const
export type TemplateField = (typeof TEMPLATE_FIELDS)[number]
export type TemplateDraft = Record<TemplateField, string>

export interface TemplateSlot {
  field: TemplateField
  label: string
  hint: string
  /** A JSON body or HTML: shown as code. */
  code: boolean
  rows: number
  placeholder: string
}

const SUBJECT_EMAIL: TemplateSlot = { field: 'subjectTemplate', label: 'Subject', hint: 'One line; line breaks become spaces.', code: false, rows: 1, placeholder: '{{ run.templateName }} #{{ run.number }} {{ eventLabel }}' }
const SUBJECT_CHAT: TemplateSlot = { ...SUBJECT_EMAIL, label: 'Title', hint: 'The card’s title.' }

/** The templates a kind uses, in the order the editor shows them. */
export function templateSlots(kind: string): TemplateSlot[] {
  if (kind === 'WEBHOOK') {
    return [{ field: 'bodyTemplate', label: 'JSON body', hint: 'The whole request body; it must render to JSON. Use the json filter for values: {{ run.error | json }}. Blank: the documented default body.', code: true, rows: 8, placeholder: '{"text": {{ run.templateName | append: " " | append: eventLabel | json }}, "url": {{ run.url | json }}}' }]
  }
  if (kind === 'EMAIL') {
    return [
      SUBJECT_EMAIL,
      { field: 'bodyTemplate', label: 'Text', hint: 'The plain-text part.', code: false, rows: 6, placeholder: '{{ run.templateName }} #{{ run.number }} {{ eventLabel }}.\nRun: {{ run.url | default: run.link }}' },
      { field: 'htmlTemplate', label: 'HTML', hint: 'The HTML part; every output is HTML-escaped ({{ x | raw }} opts out).', code: true, rows: 6, placeholder: '<p><strong>{{ run.templateName }}</strong> {{ eventLabel }}.</p>' },
    ]
  }
  return [SUBJECT_CHAT, { field: 'bodyTemplate', label: 'Text', hint: 'Text above the card’s facts (status, duration, failed targets). Blank: none.', code: false, rows: 4, placeholder: 'Heads up, {{ channel.name }}: {{ run.error }}' }]
}

export function templateDraft(channel: Partial<Record<TemplateField, string | null>>): TemplateDraft {
  return { subjectTemplate: channel.subjectTemplate ?? '', bodyTemplate: channel.bodyTemplate ?? '', htmlTemplate: channel.htmlTemplate ?? '' }
}

/** The kind's templates as the API takes them: blank is null (the built-in default); others are left out. */
export function templatesInput(kind: string, d: TemplateDraft): Partial<Record<TemplateField, string | null>> {
  const out: Partial<Record<TemplateField, string | null>> = {}
  for (const s of templateSlots(kind)) out[s.field] = d[s.field].trim() ? d[s.field] : null
  return out
}

/** The kind's templates differ from the saved ones (send test uses the saved ones). */
export function templatesDirty(kind: string, d: TemplateDraft, saved: Partial<Record<TemplateField, string | null>>): boolean {
  const input = templatesInput(kind, d)
  return templateSlots(kind).some((s) => (input[s.field] ?? null) !== (saved[s.field] ?? null))
}

/** The preview's field errors (`templates.bodyTemplate`, after the `input.` prefix is gone) by template field. */
export function previewFieldErrors(fields: Record<string, string>): Partial<Record<TemplateField, string>> {
  const out: Partial<Record<TemplateField, string>> = {}
  for (const [k, m] of Object.entries(fields)) {
    const f = k.replace(/^templates\./, '') as TemplateField
    if ((TEMPLATE_FIELDS as readonly string[]).includes(f)) out[f] = m
  }
  return out
}

/** What a template can use (the server refuses anything else when saving). */
export const TEMPLATE_VARIABLES: ReadonlyArray<readonly [string, string]> = [
  ['event', 'RUN_FAILED, RUN_RECOVERED …'],
  ['eventLabel', '“failed”, “recovered” …'],
  ['run.templateName, run.number, run.status', 'the run'],
  ['run.duration, run.durationSeconds', '“3m 05s”, 185'],
  ['run.error, run.failedTargets', 'what went wrong, and where'],
  ['run.attempt, run.maxAttempts, run.trigger', 'how it ran'],
  ['run.url, run.link', 'the run page (url needs SWITCHYARD_PUBLIC_URL)'],
  ['run.parameters, run.result', 'inputs (secrets redacted) and the result'],
  ['run.scheduleName, run.triggeredBy', 'who or what started it'],
  ['details.*', 'threshold figures: durationSeconds, limitSeconds, p95Seconds, p95Factor, consecutiveFailures'],
  ['channel.name, deliveryId, test', 'the delivery'],
]

/** A JSON body pretty-printed for reading; as it is when it is not JSON. */
export function prettyJson(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2)
  } catch {
    return body
  }
}

/**
 * The srcdoc of the sandboxed frame that shows an email's HTML part: a CSP that allows no scripts, no
 * network (images only inline), and links that open outside the frame. The frame has sandbox="" as well.
 */
export function htmlPreviewDoc(html: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'"><base target="_blank"><style>body{font:14px system-ui,sans-serif;margin:12px;color:#111;background:#fff}</style></head><body>${html}</body></html>`
}
