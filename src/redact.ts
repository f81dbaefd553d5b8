/**
 * The redactor: every text that may leave the process (log lines, error messages, run records, robot messages)
 * passes through it, and every secret value it knows becomes `***`. It knows the configured secrets (registered once
 * at start-up) and the secrets learnt at run time, such as access tokens (`addSecret`).
 */

/** Replace every one of `secrets` in a text by `***`. */
export function makeRedactor(secrets: readonly string[]): (text: string) => string {
  // URL-encoded and JSON-escaped forms too: a secret can reach a log inside a query string or a JSON string.
  const forms = secrets.flatMap((s) => [s, encodeURIComponent(s), JSON.stringify(s).slice(1, -1)]);
  const sorted = [...new Set(forms)].sort((a, b) => b.length - a.length);
  return (text: string) => {
    let out = text;
    for (const s of sorted) if (out.includes(s)) out = out.split(s).join('***');
    return out;
  };
}

/** Shorter values are not secrets worth the name and would mangle ordinary text. */
const MIN_SECRET_LENGTH = 4;

let configured: readonly string[] = [];
/** run-time secrets, each with how many holders registered it */
const learnt = new Map<string, number>();
let current: (text: string) => string = (t) => t;

function rebuild(): void {
  current = makeRedactor([...configured, ...learnt.keys()].filter((s) => s.length >= MIN_SECRET_LENGTH));
}

/** Registered once at start-up with the config's secrets (replaces the previous set; run-time secrets stay). */
export function setGlobalSecrets(secrets: readonly string[]): void {
  configured = [...secrets];
  rebuild();
}

/**
 * Add a secret learnt at run time (an access token). Returns a function that removes it again, for a holder that
 * replaces its secret (a refreshed token), so the set does not grow for ever.
 */
export function addSecret(secret: string): () => void {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) return () => {};
  learnt.set(secret, (learnt.get(secret) ?? 0) + 1);
  rebuild();
  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    const n = (learnt.get(secret) ?? 1) - 1;
    if (n > 0) learnt.set(secret, n); else learnt.delete(secret);
    rebuild();
  };
}

/** `text` with every known secret replaced by `***`. */
export function redact(text: string): string { return current(text); }
