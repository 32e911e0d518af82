/**
 * Remote commands that die with the SSH session. Without a terminal, sshd does not signal a command
 * when the connection drops (a worker killed, a network cut): `sleep 300; reboot` would run on while the
 * retry starts it a second time. The wrapper keeps the channel's stdin open and watches it: sshd
 * closes it when the session ends, and the watcher then signals the command's whole process group
 * (TERM, KILL two seconds later). The command itself still reads EOF from stdin (as `ssh -n`), runs in
 * the user's login shell (`$SHELL -c`), and its exit status is the wrapper's. Signals the worker sends
 * on cancel (TERM/INT/HUP to the session's process) are passed on to the group the same way.
 *
 * The wrapper needs a POSIX `/bin/sh` on the target, which network devices' CLIs are not:
 * `posixShellLikely` and `POSIX_PROBE` decide per connection.
 */
import { shellQuote } from '../util/template.ts'

const WRAPPER = [
  'exec 3<&0 </dev/null',
  '"${SHELL:-/bin/sh}" -c "$1" 3<&- &',
  'c=$!',
  // The watcher ignores the signals it sends; KILL 0 finally takes it (and any straggler) too.
  '( trap "" TERM INT HUP; cat <&3 >/dev/null 2>&1; kill -s TERM 0; sleep 2; kill -s KILL 0 ) &',
  'w=$!',
  // From here on the wrapper says nothing itself (sh would report a command killed by a signal: "Terminated").
  'exec 3<&- 2>/dev/null',
  "trap 'trap - TERM; kill -s TERM 0' TERM",
  "trap 'trap - INT; kill -s INT 0' INT",
  "trap 'trap - HUP; kill -s HUP 0' HUP",
  'wait $c; s=$?',
  'kill -s KILL $w 2>/dev/null',
  'exit $s',
].join('\n')

/** The command, wrapped to die with the session. Its channel's stdin must stay open (not `end()`ed). */
export function boundToSession(command: string): string {
  return `exec /bin/sh -c ${shellQuote(WRAPPER)} switchyard-job ${shellQuote(command)}`
}

/**
 * Servers that usually give a login shell: OpenSSH and Dropbear. Other server software (Cisco, Huawei,
 * MikroTik, …) fronts a device CLI, which often takes one exec request per connection: no probe there.
 */
export function posixShellLikely(serverSoftware: string | undefined): boolean {
  return /^(OpenSSH|dropbear)/i.test(serverSoftware ?? '')
}

/** Prints `switchyard-posix-42` in a POSIX shell; a device CLI (Junos, EOS on OpenSSH) answers otherwise. */
export const POSIX_PROBE = 'echo "switchyard-posix-$((6*7))"; test -x /bin/sh && echo switchyard-sh'
export function isPosixProbeOutput(stdout: string): boolean {
  return /^switchyard-posix-42\r?\nswitchyard-sh\r?$/m.test(stdout.trim())
}
