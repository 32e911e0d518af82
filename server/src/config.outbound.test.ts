/** SWITCHYARD_OUTBOUND_DENY_CIDRS / SWITCHYARD_OUTBOUND_ALLOW_CIDRS (the SSRF guard, net/outbound-policy.ts). */
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './config.ts'
import { DEFAULT_DENY_CIDRS } from './net/outbound-policy.ts'

const env = { DATABASE_URL: 'postgresql://x@127.0.0.1/db' }

describe('outbound policy settings', () => {
  it('deny the metadata and link-local ranges by default; an empty list denies nothing; exceptions are listed apart', () => {
    expect(loadConfig(env, []).outbound).toEqual({ denyCidrs: DEFAULT_DENY_CIDRS, allowCidrs: [] })
    expect(loadConfig({ ...env, SWITCHYARD_OUTBOUND_DENY_CIDRS: '' }, []).outbound.denyCidrs).toEqual([])
    expect(loadConfig({ ...env, SWITCHYARD_OUTBOUND_DENY_CIDRS: '10.0.0.0/8, 127.0.0.2', SWITCHYARD_OUTBOUND_ALLOW_CIDRS: '10.1.2.3' }, []).outbound).toEqual({
      denyCidrs: ['10.0.0.0/8', '127.0.0.2/32'],
      allowCidrs: ['10.1.2.3/32'],
    })
  })

  it('names every bad entry at start-up, with the other problems', () => {
    let problems: string[] = []
    try {
      loadConfig({ ...env, PORT: 'x', SWITCHYARD_OUTBOUND_DENY_CIDRS: '169.254.0.0/16,metadata', SWITCHYARD_OUTBOUND_ALLOW_CIDRS: '10.0.0.0/40' }, [])
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e
      problems = e.problems
    }
    expect(problems).toEqual([
      'PORT: Invalid input: expected number, received NaN',
      expect.stringMatching(/^SWITCHYARD_OUTBOUND_DENY_CIDRS: "metadata" is not an address or CIDR/),
      expect.stringMatching(/^SWITCHYARD_OUTBOUND_ALLOW_CIDRS: "10\.0\.0\.0\/40" is not an address or CIDR/),
    ])
  })
})
