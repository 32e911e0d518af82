import { describe, expect, it } from 'vitest'
import { hiddenFields, hiddenItemFields, remoteKind, sameSource, withoutHiddenItems } from './config-conditions'
import type { FormField } from './json-schema-form'

it('tells the kinds of Git remote apart as config_backup does', () => {
  expect(remoteKind('/srv/git/configs.git')).toBe('local')
  expect(remoteKind('file:///srv/git/configs.git')).toBe('local')
  expect(remoteKind('git@git.example.net:net/configs.git')).toBe('ssh')
  expect(remoteKind('ssh://git@git.example.net:2222/net/configs.git')).toBe('ssh')
  expect(remoteKind('https://git.example.net/net/configs.git')).toBe('https')
  expect(remoteKind('')).toBe('unknown')
})

it('shows config_backup SSH-only fields for an SSH remote and HTTPS-only ones for an HTTPS remote', () => {
  const ssh = hiddenFields('config_backup', { repository: 'git@git.example.net:net/configs.git' })
  expect([...ssh].sort()).toEqual(['repositoryCaCertificate'])
  const https = hiddenFields('config_backup', { repository: 'https://git.example.net/net/configs.git' })
  expect([...https].sort()).toEqual(['repositoryHostKeys', 'repositoryKeyParameter'])
  const local = hiddenFields('config_backup', { repository: '/srv/git/configs.git' })
  expect([...local].sort()).toEqual(['repositoryCaCertificate', 'repositoryCredentialId', 'repositoryHostKeys', 'repositoryKeyParameter'])
  expect(hiddenFields('command', { anything: 'x' }).size).toBe(0)
})

it('shows a script shebang only for a custom interpreter', () => {
  expect(hiddenFields('script', { interpreter: 'bash' }).has('shebang')).toBe(true)
  expect(hiddenFields('script', { interpreter: 'custom' }).has('shebang')).toBe(false)
})

it('shows file transfer item fields of the chosen direction, and blanks the others', () => {
  const item = (key: string, description: string): FormField => ({ key, path: `.${key}`, label: key, kind: 'string', required: false, description })
  const itemFields = [item('destination', 'Upload: where'), item('source', 'Download: from where'), item('note', 'Either way')]
  expect([...hiddenItemFields('file_transfer', 'files', itemFields, { direction: 'upload' })]).toEqual(['source'])
  expect([...hiddenItemFields('file_transfer', 'files', itemFields, { direction: 'download' })]).toEqual(['destination'])
  const files: FormField = { key: 'files', path: 'config.files', label: 'Files', kind: 'object-list', required: true, itemFields }
  const values = { direction: 'download', files: [{ destination: '/tmp/x', source: '/etc/hosts', note: '' }] }
  expect(withoutHiddenItems('file_transfer', [files], values).files).toEqual([{ destination: '', source: '/etc/hosts', note: '' }])
})

it('shows an http body only for methods that send one, and the body check’s equals only with a JSON path', () => {
  expect(hiddenFields('http', { method: 'GET' }).has('body')).toBe(true)
  expect(hiddenFields('http', { method: '' }).has('body')).toBe(true)
  expect(hiddenFields('http', { method: 'HEAD' }).has('body')).toBe(true)
  expect(hiddenFields('http', { method: 'POST' }).has('body')).toBe(false)
  expect(hiddenFields('http', { check: { jsonPath: '' } }).has('check.equals')).toBe(true)
  expect(hiddenFields('http', { check: { jsonPath: 'data.state' } }).has('check.equals')).toBe(false)
})

describe('sync_devices', () => {
  it('shows the removal safety valve only with removeExtra, and activation only outside a dry run', () => {
    expect([...hiddenFields('sync_devices', {})].sort()).toEqual(['activationTimeoutSeconds', 'force', 'maxRemoveFraction'])
    expect([...hiddenFields('sync_devices', { removeExtra: true, activate: true })]).toEqual([])
    expect([...hiddenFields('sync_devices', { dryRun: true, activate: true })].sort()).toEqual(['activate', 'activationTimeoutSeconds', 'force', 'maxRemoveFraction'])
  })

  it('matches an inventory source by its global id or its bare UUID', () => {
    const uuid = '0b6f3c4e-8d2a-4f7e-9a51-3c2d1e0f9a8b'
    const globalId = btoa(`InventorySource:${uuid}`)
    expect(sameSource(globalId, globalId)).toBe(true)
    expect(sameSource(globalId, uuid.toUpperCase())).toBe(true)
    expect(sameSource(globalId, 'other')).toBe(false)
    expect(sameSource('not base64!', uuid)).toBe(false)
  })
})
