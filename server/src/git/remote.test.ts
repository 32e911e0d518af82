/** Classification of configured repository strings and the ssh command line git is given. */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { knownHostsLines, normalisePrivateKey, sshFingerprint } from '../ssh/known-hosts.ts'
import { remoteKind, shellQuote, sshCommand, sshEndpoint } from './remote.ts'

describe('remoteKind', () => {
  it('tells local, ssh and https remotes apart and refuses everything else', () => {
    expect(remoteKind('/srv/git/configs.git')).toBe('local')
    expect(remoteKind('file:///srv/git/configs.git')).toBe('local')
    expect(remoteKind('ssh://git@git.example.net:2222/net/configs.git')).toBe('ssh')
    expect(remoteKind('ssh://git.example.net/configs.git')).toBe('ssh')
    expect(remoteKind('ssh://git@[::1]:22/configs.git')).toBe('ssh')
    expect(remoteKind('git@git.example.net:net/configs.git')).toBe('ssh')
    expect(remoteKind('git@git.example.net:/srv/configs.git')).toBe('ssh')
    expect(remoteKind('https://git.example.net/configs.git')).toBe('https')
    expect(remoteKind('https://127.0.0.1:8443/net/configs.git')).toBe('https')
    for (const bad of [
      'ssh://user:pw@host/r.git',
      'ssh://-oProxyCommand=x/r.git',
      'ssh://host:99999/r.git',
      'ssh://host/-r.git',
      'git@-host:r.git',
      'git@host:-r.git',
      'git@host://r.git',
      'host:r.git',
      'ext::sh -c x',
      'git://host/r.git',
      'relative/path.git',
      'ssh://host/r .git',
      '/srv/r\n.git',
      'http://git.example.net/configs.git',
      'https://user:token@git.example.net/configs.git',
      'https://user@git.example.net/configs.git',
      'https://git.example.net:0/configs.git',
      'https://-host/configs.git',
    ]) {
      expect(remoteKind(bad), bad).toBe('unsupported')
    }
  })
})

describe('sshCommand', () => {
  it('uses only the given key and known_hosts, never prompts, and quotes paths', () => {
    const cmd = sshCommand({ keyFile: '/tmp/a b/key', knownHostsFile: "/tmp/it's/known_hosts", connectTimeoutSeconds: 15 })
    expect(cmd).toBe(
      "ssh -F /dev/null -i '/tmp/a b/key' -o 'IdentitiesOnly=yes' -o 'IdentityAgent=none' -o 'StrictHostKeyChecking=accept-new' " +
        "-o 'UserKnownHostsFile=/tmp/it'\\''s/known_hosts' -o 'GlobalKnownHostsFile=/dev/null' -o 'BatchMode=yes' " +
        "-o 'PreferredAuthentications=publickey' -o 'PasswordAuthentication=no' -o 'KbdInteractiveAuthentication=no' -o 'ConnectTimeout=15'",
    )
    expect(shellQuote('plain')).toBe("'plain'")
    expect(normalisePrivateKey('-----BEGIN X-----\r\nabc\r\n-----END X-----')).toBe('-----BEGIN X-----\nabc\n-----END X-----\n')
  })

  it('pins host keys, names the user and lets ssh ask for a passphrase only when told to', () => {
    const cmd = sshCommand({ keyFile: '/k', knownHostsFile: '/kh', user: 'backup', strictHostKey: true, passphrase: true })
    expect(cmd).toContain("-o 'StrictHostKeyChecking=yes'")
    expect(cmd).toContain("-o 'User=backup'")
    expect(cmd).toContain("-o 'BatchMode=no'")
    expect(cmd).toContain("-o 'PasswordAuthentication=no'")
  })
})

describe('ssh remote helpers', () => {
  it('finds host, port and user in both URL forms', () => {
    expect(sshEndpoint('ssh://git@git.example.net:2222/net/configs.git')).toEqual({ host: 'git.example.net', port: 2222, user: 'git' })
    expect(sshEndpoint('ssh://[::1]/configs.git')).toEqual({ host: '::1', port: 22, user: null })
    expect(sshEndpoint('git@git.example.net:net/configs.git')).toEqual({ host: 'git.example.net', port: 22, user: 'git' })
  })

  it('writes known_hosts lines and fingerprints keys like ssh-keygen', () => {
    expect(knownHostsLines('127.0.0.1', 2222, ['ssh-ed25519 AAAA'])).toBe('[127.0.0.1]:2222 ssh-ed25519 AAAA\n')
    expect(knownHostsLines('h', 22, ['ssh-rsa B', 'ssh-ed25519 C'])).toBe('h ssh-rsa B\nh ssh-ed25519 C\n')
    const dir = mkdtempSync(join(tmpdir(), 'fp-'))
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')])
      const publicKey = readFileSync(join(dir, 'k.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ')
      const printed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'k.pub')], { encoding: 'utf8' }).split(' ')[1]
      expect(sshFingerprint(publicKey)).toBe(printed)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
