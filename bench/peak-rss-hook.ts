/**
 * The fallback peak-RSS probe when GNU time (`/usr/bin/time`, apt package `time`) is missing:
 * preloaded with `-r`, it writes VmHWM (the process's RSS high-water mark, KiB) from
 * /proc/self/status and the CPU time so far to BENCH_RSS_FILE in the 'exit' event, the last moment
 * JavaScript runs, in GNU time's `%M %U %S` format.
 * It misses memory freed by native teardown after 'exit', which GNU time does not.
 */
import * as fs from 'node:fs';

const output = process.env.BENCH_RSS_FILE;
if (output) {
  process.on('exit', () => {
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const peak = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status)?.[1];
    const { user, system } = process.cpuUsage();
    if (peak) fs.writeFileSync(output, `${peak} ${(user / 1e6).toFixed(3)} ${(system / 1e6).toFixed(3)}\n`);
  });
}
