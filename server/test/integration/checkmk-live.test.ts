/**
 * Opt-in: Switchyard's Checkmk client against a live Checkmk 2.4 site, to check the contract server's
 * assumptions against the real thing. Skipped unless SWITCHYARD_TEST_CHECKMK_URL (the site URL, e.g.
 * https://cmk.example.com/mysite), SWITCHYARD_TEST_CHECKMK_USER and SWITCHYARD_TEST_CHECKMK_SECRET are set.
 * It works in a folder of its own and deletes the host it creates; SWITCHYARD_TEST_CHECKMK_ACTIVATE=1
 * also activates (and waits for) the pending changes.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { CheckmkClient, CheckmkError, folderParam } from '../../src/checkmk/checkmk-client.ts'

const url = process.env.SWITCHYARD_TEST_CHECKMK_URL
const username = process.env.SWITCHYARD_TEST_CHECKMK_USER
const secret = process.env.SWITCHYARD_TEST_CHECKMK_SECRET
const live = !!(url && username && secret)

describe.skipIf(!live)('live Checkmk (opt-in: SWITCHYARD_TEST_CHECKMK_URL/_USER/_SECRET)', () => {
  it('folders, bulk create, ETag edit with 412 on a stale one, bulk delete, activation', async () => {
    const client = new CheckmkClient({ url: url!, username: username!, secret: secret!, tlsVerify: process.env.SWITCHYARD_TEST_CHECKMK_TLS_VERIFY !== '0' })
    const suffix = randomBytes(3).toString('hex')
    const folder = `/switchyard_test_${suffix}/sub`
    const host = `switchyard-test-${suffix}`
    await client.ensureFolder(folder)
    try {
      const created = await client.bulkCreate([{ host_name: host, folder, attributes: { ipaddress: '192.0.2.10', labels: { 'switchyard/managed': 'true' } } }])
      expect(created).toEqual({ succeeded: [host], failed: {} })
      const again = await client.bulkCreate([{ host_name: host, folder, attributes: {} }])
      expect(Object.keys(again.failed)).toEqual([host])
      const got = (await client.getHost(host))!
      expect(got.host.folder).toBe(folder)
      expect(got.host.attributes).toMatchObject({ ipaddress: '192.0.2.10', labels: { 'switchyard/managed': 'true' } })
      await client.editHost(host, got.etag, { update_attributes: { ipaddress: '192.0.2.11' } })
      const stale = await client.editHost(host, got.etag, { update_attributes: { ipaddress: '192.0.2.12' } }).catch((e) => e)
      expect(stale).toBeInstanceOf(CheckmkError)
      expect(stale.status).toBe(412)
      expect((await client.listHosts()).some((h) => h.name === host)).toBe(true)
    } finally {
      await client.bulkDelete([host]).catch(() => {})
      // The folder: removed with a plain DELETE (Switchyard itself never deletes folders).
      const top = folderParam(`/switchyard_test_${suffix}`)
      await fetch(new URL(`check_mk/api/1.0/objects/folder_config/${top}?delete_mode=recursive`, url!.endsWith('/') ? url! : `${url!}/`), {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${username} ${secret}` },
      }).catch(() => {})
    }
    if (process.env.SWITCHYARD_TEST_CHECKMK_ACTIVATE === '1') {
      const pending = await client.pendingChanges()
      const started = await client.activate(pending.etag)
      if (started) await client.waitForActivation(started.activationId, 300_000)
    }
  }, 600_000)
})
