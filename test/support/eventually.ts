/**
 * Polls `probe` until it stops throwing (an expectation holds) or `timeoutMs`
 * passes, then rethrows its last error. Asynchronous effects (event delivery)
 * are asserted this way: on behaviour, never on elapsed time.
 */
export async function eventually<T>(probe: () => Promise<T>, timeoutMs = 15_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
