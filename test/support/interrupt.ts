/**
 * Teardown on Ctrl-C or CI's SIGTERM: what a test started (hosts, mounts, a lab, engine runs) must
 * not outlive the test process. The hook runs `teardown` (awaited when it returns a promise), then
 * sends the signal again so that it does what it would have done. Returns the function that takes
 * the hook off, for a normal stop.
 */
export function onInterrupt(teardown: () => void | Promise<void>): () => void {
  const signals = ["SIGINT", "SIGTERM"] as const;
  const release = () => {
    for (const sig of signals) process.removeListener(sig, handler);
  };
  function handler(sig: NodeJS.Signals): void {
    release();
    const report = (e: unknown) => process.stderr.write(`teardown on ${sig}: ${e instanceof Error ? e.message : String(e)}\n`);
    const resignal = () => process.kill(process.pid, sig);
    let pending: void | Promise<void> = undefined;
    try {
      pending = teardown();
    } catch (e) {
      report(e);
    }
    // Synchronous teardowns finish before the signal goes again, as before; async ones are awaited.
    if (pending) void pending.catch(report).finally(resignal);
    else resignal();
  }
  for (const sig of signals) process.once(sig, handler);
  return release;
}
