import { spawnSync } from 'node:child_process';

/**
 * Reading a program's system calls with strace (Debian's package; `.ci/run` installs it if
 * missing), for the durability tests: a power cut loses what was written but not fsync'd, so
 * the order of writes, fsyncs and renames is what proves a durability rule.
 */
export interface SystemCall {
  name: string;
  /** The path of the call's first argument when it is a file descriptor (strace -y). */
  fdPath: string | undefined;
  /** The quoted strings among its arguments (paths of rename/link, the start of written data). */
  strings: string[];
  result: number;
}

/** strace's options before the command: follow threads and children, file descriptors with their paths. */
export const straceOptions = (logFile: string, calls: string[]) => ['-f', '-qq', '-y', '-s', '16', '-o', logFile, '-e', `trace=${calls.join(',')}`];

export const hasStrace = () => spawnSync('strace', ['-V']).status === 0;

export const isWrite = (call: SystemCall) => /^p?writev?(64)?$/.test(call.name);
export const isSync = (call: SystemCall) => call.name === 'fsync' || call.name === 'fdatasync';

/**
 * The calls of an strace -f log in the order they returned (a call another thread's line
 * interrupted is put together from its `<unfinished ...>` and `resumed>` lines).
 */
export function readStraceLog(log: string): SystemCall[] {
  const pending = new Map<string, { name: string; args: string }>();
  const calls: SystemCall[] = [];
  for (const line of log.split('\n')) {
    const unfinished = /^(\d+)\s+(\w+)\((.*) <unfinished \.\.\.>$/.exec(line);
    if (unfinished) {
      pending.set(unfinished[1], { name: unfinished[2], args: unfinished[3] });
      continue;
    }
    let name: string;
    let args: string;
    let result: string;
    const resumed = /^(\d+)\s+<\.\.\. (\w+) resumed>(.*)\) += (-?\d+)/.exec(line);
    const whole = /^(\d+)\s+(\w+)\((.*)\) += (-?\d+)/.exec(line);
    if (resumed) {
      const start = pending.get(resumed[1]);
      pending.delete(resumed[1]);
      if (!start) continue;
      [name, args, result] = [start.name, start.args + resumed[3], resumed[4]];
    } else if (whole) [, , name, args, result] = whole;
    else continue;
    calls.push({ name, fdPath: /^\d+<([^>]*)>/.exec(args)?.[1], strings: [...args.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]), result: Number(result) });
  }
  return calls;
}
