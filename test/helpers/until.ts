/**
 * Waiting on a condition instead of the clock: a test that sleeps "long enough" fails on a
 * busy machine. The limit is generous (a minute by default) and only ends a wait that would
 * otherwise hang; the condition is what the test is about.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  { timeoutMs = 60_000, everyMs = 50 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs / 1000} s for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
