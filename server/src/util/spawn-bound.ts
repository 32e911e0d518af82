/**
 * Local child processes that die with this process. Node has no PR_SET_PDEATHSIG: a worker killed with
 * SIGKILL would leave `ansible-playbook` (and its ssh clients, still driving the targets) running while
 * the retry starts the same work again elsewhere. The child runs under a small sh watchdog, in a
 * process group of its own, with a pipe from this process as the watchdog's stdin: the kernel closes
 * that pipe when this process dies, however it dies, and the watchdog then signals the whole group
 * (TERM, KILL two seconds later). Killing the group (`process.kill(-child.pid, …)`) still works as before.
 */

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

/**
 * The argument vector that runs `command args…` under the watchdog: spawn `/bin/sh` with these, in a
 * process group of its own (`detached`), with stdin a pipe from this process that is never written nor
 * ended while the child runs — it is the lifeline.
 */
export function boundToThisProcess(command: string, args: readonly string[]): { command: string; args: string[] } {
  return { command: '/bin/sh', args: ['-c', WATCHDOG, 'switchyard-watchdog', command, ...args] }
}
