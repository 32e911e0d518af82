/**
 * Local child processes that die with this process. Node has no PR_SET_PDEATHSIG: a worker killed with
 * SIGKILL would leave `ansible-playbook` (and its ssh clients, still driving the targets) running while
 * the retry starts the same work again elsewhere. The child runs under a small sh watchdog, in a
 * process group of its own, with a pipe from this process as the watchdog's stdin: the kernel closes
 * that pipe when this process dies, however it dies, and the watchdog then signals the whole group
 * (TERM, KILL two seconds later). Killing the group (`process.kill(-child.pid, …)`) still works as before.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'

// (A background job's stdin is /dev/null unless redirected: the lifeline goes to the watcher as fd 3.)
const WATCHDOG = [
  'exec 3<&0 </dev/null',
  '"$@" 3<&- &',
  'c=$!',
  '( trap "" TERM INT HUP; cat <&3 >/dev/null 2>&1; kill -s TERM 0; sleep 2; kill -s KILL 0 ) &',
  'w=$!',
  'exec 3<&- 2>/dev/null',
  'wait $c; s=$?',
  'kill -s KILL $w',
  'exit $s',
].join('\n')

export function spawnBoundToThisProcess(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): ChildProcessByStdio<Writable, Readable, Readable> {
  // stdin is the lifeline: never written, never ended while the child runs.
  return spawn('/bin/sh', ['-c', WATCHDOG, 'switchyard-watchdog', command, ...args], { ...options, detached: true, stdio: ['pipe', 'pipe', 'pipe'] })
}
