import * as fs from "node:fs";

/** This process's peak resident set so far (the kernel's VmHWM), in MiB; NaN where /proc lacks it. */
export function peakRssMiB(): number {
  const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"));
  return hwm ? Number(hwm[1]) / 1024 : NaN;
}
