import { describe, expect, it } from 'vitest'
import { htmlPreviewDoc, prettyJson, previewFieldErrors, templateDraft, templatesDirty, templatesInput, templateSlots } from './notification-templates'

describe('message templates', () => {
  it('are the ones each kind uses', () => {
    expect(templateSlots('WEBHOOK').map((s) => [s.field, s.label])).toEqual([['bodyTemplate', 'JSON body']])
    expect(templateSlots('EMAIL').map((s) => s.field)).toEqual(['subjectTemplate', 'bodyTemplate', 'htmlTemplate'])
    expect(templateSlots('SLACK').map((s) => [s.field, s.label])).toEqual([['subjectTemplate', 'Title'], ['bodyTemplate', 'Text']])
  })

  it('send blank as null (the default), only the kind’s fields', () => {
    const d = templateDraft({ subjectTemplate: 'S {{ run.number }}', bodyTemplate: null, htmlTemplate: '<b>x</b>' })
    expect(d).toEqual({ subjectTemplate: 'S {{ run.number }}', bodyTemplate: '', htmlTemplate: '<b>x</b>' })
    expect(templatesInput('EMAIL', { ...d, bodyTemplate: '  ' })).toEqual({ subjectTemplate: 'S {{ run.number }}', bodyTemplate: null, htmlTemplate: '<b>x</b>' })
    expect(templatesInput('WEBHOOK', d)).toEqual({ bodyTemplate: null })
    expect(templatesInput('TEAMS', d)).toEqual({ subjectTemplate: 'S {{ run.number }}', bodyTemplate: null })
  })

  it('know when there are unsaved edits', () => {
    const saved = { subjectTemplate: null, bodyTemplate: 'b', htmlTemplate: null }
    expect(templatesDirty('EMAIL', templateDraft(saved), saved)).toBe(false)
    expect(templatesDirty('EMAIL', { ...templateDraft(saved), htmlTemplate: '<p>' }, saved)).toBe(true)
    // A webhook has no subject: an edit there (it cannot make one) is not a change.
    expect(templatesDirty('WEBHOOK', { ...templateDraft(saved), subjectTemplate: 'x' }, saved)).toBe(false)
  })

  it('put the preview’s template errors under their fields', () => {
    expect(previewFieldErrors({ 'templates.bodyTemplate': 'unknown variable "nope"', jobRunId: 'no such run' })).toEqual({ bodyTemplate: 'unknown variable "nope"' })
  })

  it('show JSON readably and HTML in a document that allows no scripts or network', () => {
    expect(prettyJson('{"a":1}')).toBe('{\n  "a": 1\n}')
    expect(prettyJson('not json')).toBe('not json')
    const doc = htmlPreviewDoc('<p>hi</p>')
    expect(doc).toContain("default-src 'none'")
    expect(doc).not.toContain('script-src')
    expect(doc).toContain('<body><p>hi</p></body>')
  })
})
