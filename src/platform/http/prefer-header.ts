/**
 * The `Prefer` request header (RFC 7240): preferences by lower-cased name,
 * each with its value (unquoted; undefined when it has none). Several headers
 * arrive joined by commas. A preference named twice counts the first time
 * (section 2); parameters after `;` are dropped, as no preference we honour has any.
 */
export function preferences(header: string | undefined): Map<string, string | undefined> {
  const found = new Map<string, string | undefined>();
  if (header === undefined) return found;
  // Commas and semicolons inside a quoted value are kept: split outside quotes only.
  for (const preference of header.match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? []) {
    const [first] = preference.match(/(?:[^;"]|"(?:[^"\\]|\\.)*")+/) ?? [''];
    const equals = first.indexOf('=');
    const name = (equals < 0 ? first : first.slice(0, equals)).trim().toLowerCase();
    if (name === '' || found.has(name)) continue;
    const raw = equals < 0 ? undefined : first.slice(equals + 1).trim();
    found.set(name, raw !== undefined && /^".*"$/.test(raw) ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw);
  }
  return found;
}

/**
 * The seconds of a `wait` preference when it is an integer within 1..`maxSeconds`;
 * undefined otherwise. A server ignores what it cannot honour (RFC 7240,
 * section 2): a bad or out-of-range `wait` is no error, it is as if absent.
 */
export function preferredWait(header: string | undefined, maxSeconds: number): number | undefined {
  const value = preferences(header).get('wait');
  if (value === undefined || !/^\d{1,9}$/.test(value)) return undefined;
  const seconds = Number(value);
  return seconds >= 1 && seconds <= maxSeconds ? seconds : undefined;
}
