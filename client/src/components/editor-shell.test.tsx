/**
 * The template and workflow editors' shared frame, rendered to static markup: the form's name, the
 * back link and Cancel to the list, the save bar's wording (and none for readers), the form error,
 * the load error, and the visibility field.
 */
import { createRef } from 'react'
import { renderToStaticMarkup } from 'react-dom/server'
import { describe, expect, it } from 'vitest'
import { EditorLoadError, EditorShell, VisibilityField } from './editor-shell'

const LIST = { href: '/workflows', title: 'Workflows', noun: 'workflow' }

function shell(o: { editing?: boolean; canWrite?: boolean; busy?: boolean; formError?: string | null } = {}): string {
  return renderToStaticMarkup(
    <EditorShell
      list={LIST}
      editing={o.editing ?? false}
      formRef={createRef<HTMLFormElement>()}
      onSubmit={() => {}}
      title="deploy"
      subtitle="3 nodes"
      actions={<button type="button">Run now</button>}
      formError={o.formError ?? null}
      canWrite={o.canWrite ?? true}
      busy={o.busy ?? false}
      after={<div id="dialog" />}
    >
      <p id="fields" />
    </EditorShell>,
  )
}

describe('EditorShell', () => {
  it('names the form, links back to the list, and shows the header, fields, save bar and dialog in order', () => {
    const html = shell()
    expect(html).toMatch(/^<form novalidate="" class="stack" aria-label="New workflow">/i)
    const order = ['href="/workflows"', '<h1>deploy</h1>', '3 nodes', 'Run now', '<p id="fields">', 'class="form-actions"', '<div id="dialog">']
    const at = order.map((s) => html.indexOf(s))
    expect(at.every((i) => i >= 0), html).toBe(true)
    expect([...at].sort((a, b) => a - b)).toEqual(at)
    expect(html).toMatch(/<div class="form-actions"><a class="btn" href="\/workflows">Cancel<\/a><button type="submit" class="btn primary">Create workflow<\/button><\/div>/)
  })

  it('says Save changes for an existing item, Saving… while busy (disabled), and has no save bar for readers', () => {
    expect(shell({ editing: true })).toContain('aria-label="Edit workflow"')
    expect(shell({ editing: true })).toContain('>Save changes</button>')
    expect(shell({ busy: true })).toMatch(/<button type="submit" class="btn primary" disabled="">Saving…<\/button>/)
    expect(shell({ canWrite: false })).not.toContain('form-actions')
  })

  it('shows the form-level error', () => {
    expect(shell({ formError: 'Fix 2 fields.' })).toContain('Fix 2 fields.')
  })
})

describe('EditorLoadError', () => {
  it('says not found, or the error, with the way back', () => {
    const notFound = renderToStaticMarkup(<EditorLoadError list={LIST} error={{ message: 'no', graphQLErrors: [{ message: 'no', extensions: { code: 'NOT_FOUND' } }] }} />)
    expect(notFound).toContain('href="/workflows"')
    expect(notFound).toContain('Workflow not found')
    expect(notFound).toContain('It was deleted, or it is private to someone else.')
    const other = renderToStaticMarkup(<EditorLoadError list={{ href: '/templates', title: 'Templates', noun: 'template' }} error={{ message: 'database is down', graphQLErrors: [{ message: 'database is down', extensions: { code: 'INTERNAL' } }] }} />)
    expect(other).toContain('Could not load the template')
  })
})

describe('VisibilityField', () => {
  it('shows the choice with its meaning, and the error in its place', () => {
    const html = renderToStaticMarkup(<VisibilityField value="PRIVATE" onChange={() => {}} error={undefined} />)
    expect(html).toContain('aria-label="Visibility"')
    expect(html).toMatch(/aria-pressed="true"[^>]*>Private</)
    expect(html).toContain('Only you (and admins) can see and run it.')
    expect(renderToStaticMarkup(<VisibilityField value="GLOBAL" onChange={() => {}} error="not allowed" />)).toMatch(/role="alert">not allowed</)
  })
})
