/**
 * Secrets in settings: what of a value must never be printed, and the value fit to print. A
 * database URL's secrets are its password and any password parameter (`sslpassword=…`); both
 * print as `***`.
 */

const MASK = '***';
const PASSWORD_PARAM = /^(ssl)?password$/i;
/** scheme://user:password@ — the password taken up to the last `@` of the authority, for URLs `URL` cannot parse. */
const USERINFO_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)([^/?#]*)@/i;
const PASSWORD_PARAM_VALUE = /([?&](?:ssl)?password=)([^&#]*)/gi;

/** The parts of a database URL that are secret (its password, password parameters), decoded and as written. */
export function secretsOfUrl(url: string): string[] {
  const found = new Set<string>();
  const userinfo = USERINFO_PASSWORD.exec(url);
  if (userinfo?.[2]) found.add(userinfo[2]);
  for (const [, , value] of url.matchAll(PASSWORD_PARAM_VALUE)) if (value) found.add(value);
  try {
    const parsed = new URL(url);
    if (parsed.password) found.add(decodeURIComponent(parsed.password));
    for (const [name, value] of parsed.searchParams) if (PASSWORD_PARAM.test(name) && value) found.add(value);
  } catch {
    // Not a URL `URL` parses: the patterns above found what it holds.
  }
  for (const secret of [...found]) {
    try {
      found.add(decodeURIComponent(secret));
    } catch {
      // Not percent-encoded text: kept as written.
    }
  }
  return [...found];
}

/** A database URL fit to print: its password and password parameters as `***`. */
export function redactUrl(url: string): string {
  return url.replace(USERINFO_PASSWORD, `$1${MASK}@`).replace(PASSWORD_PARAM_VALUE, (_, name: string, value: string) => (value ? `${name}${MASK}` : name));
}

/** `text` with every one of `secrets` replaced by `***`; longest first, so one secret inside another goes whole. */
export function redactSecrets(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) if (secret) out = out.split(secret).join(MASK);
  return out;
}
