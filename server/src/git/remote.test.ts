/** Classification of configured repository strings and the ssh command line git is given. */
import { describe, expect, it } from 'vitest'
import { normalisePrivateKey, remoteKind, shellQuote, sshCommand } from './remote.ts'

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
    ]) {
      expect(remoteKind(bad), bad).toBe('unsupported')
    }
  })
})

describe('sshCommand', () => {
  it('uses only the given key and known_hosts, never prompts, and quotes paths', () => {
    const cmd = sshCommand("/tmp/a b/key", "/tmp/it's/known_hosts", 15)
    expect(cmd).toBe(
      "ssh -F /dev/null -i '/tmp/a b/key' -o IdentitiesOnly=yes -o IdentityAgent=none -o StrictHostKeyChecking=accept-new " +
        "-o 'UserKnownHostsFile=/tmp/it'\\''s/known_hosts' -o BatchMode=yes -o ConnectTimeout=15",
    )
    expect(shellQuote('plain')).toBe("'plain'")
    expect(normalisePrivateKey('-----BEGIN X-----\r\nabc\r\n-----END X-----')).toBe('-----BEGIN X-----\nabc\n-----END X-----\n')
  })
})
