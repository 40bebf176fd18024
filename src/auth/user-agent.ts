/**
 * A coarse user agent for the session list ("Firefox on Linux"): browser family and operating system family, read
 * from the User-Agent header at login. Coarse on purpose: a user recognizes their devices by it, and it is all a
 * session keeps. The header itself is never stored: it is text the client chose, of any length, shown later to
 * the user and to staff, and (with versions and build ids) a fingerprint.
 *
 * A dozen patterns rather than a parsing library: the families are few and change rarely, the answer is always one
 * of the names below (nothing of the header's text passes through), and the check is one pass of short regular
 * expressions over at most the first 512 characters, at login only.
 */

/** The header's head is enough: every family below names itself early, and a long header costs no more. */
const MAX_READ = 512;

/** First match wins: order matters (Edge and Opera say "Chrome", Chrome says "Safari", Android says "Linux"). */
const BROWSERS: readonly (readonly [RegExp, string])[] = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\b(?:OPR|Opera)\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\b(?:Firefox|FxiOS)\//, 'Firefox'],
  [/\b(?:Chrome|CriOS|Chromium)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
  [/\bcurl\//, 'curl'],
  [/\bPostmanRuntime\//, 'Postman'],
  [/\b(?:python-requests|aiohttp|python-httpx)\//i, 'Python'],
  [/\bnode(?:-fetch)?\b|\bundici\b/i, 'Node.js'],
];

const SYSTEMS: readonly (readonly [RegExp, string])[] = [
  [/\bWindows\b/, 'Windows'],
  [/\b(?:iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bLinux\b|\bX11\b/, 'Linux'],
];

/** "Firefox on Linux", "Chrome", "on macOS", or "Unknown": never any text of the header itself. */
export function coarseUserAgent(header: string | undefined): string {
  const head = (header ?? '').slice(0, MAX_READ);
  const browser = BROWSERS.find(([pattern]) => pattern.test(head))?.[1];
  const system = SYSTEMS.find(([pattern]) => pattern.test(head))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? (system ? `a browser on ${system}` : 'Unknown');
}
