import pg from 'pg';

/** A statement as a pg client sent it: its text and values, and whether it was prepared (named: it may run on a generic plan). */
export interface RecordedStatement {
  readonly text: string;
  readonly values: readonly unknown[];
  readonly prepared: boolean;
}

/**
 * Every statement the pg clients of this process send that `picks` picks, until `restore()`:
 * a store started in-process (test-store, test-topology) is observed, not replaced; each
 * statement still goes to the database.
 */
export function recordStatements(picks: (text: string) => boolean): { readonly sent: RecordedStatement[]; restore(): void } {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- kept only to be put back on the prototype, never called detached
  const query = pg.Client.prototype.query;
  const sent: RecordedStatement[] = [];
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const config = args[0] as string | { text?: string; values?: unknown[]; name?: string } | undefined;
    const text = typeof config === 'string' ? config : config?.text;
    if (typeof text === 'string' && picks(text)) {
      const values = typeof config === 'string' ? ((args[1] as unknown[] | undefined) ?? []) : (config?.values ?? []);
      sent.push({ text, values, prepared: typeof config !== 'string' && config?.name !== undefined });
    }
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof pg.Client.prototype.query;
  return { sent, restore: () => void (pg.Client.prototype.query = query) };
}

/** A statement's text on one line, cut to `length`: for an assertion's message. */
export function oneLine(text: string, length = 160): string {
  return text.replace(/\s+/g, ' ').slice(0, length);
}
