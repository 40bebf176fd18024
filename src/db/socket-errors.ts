/**
 * What an operator reads when a connection to a service (PostgreSQL, Redis) fails at the network: a short reason
 * they can act on, from the socket's error code. Each service adds the reasons of its own protocol.
 */

/** The reason for a socket error `code`, or undefined when the code is not the network's. */
export function explainSocketError(code: string | undefined, service: string): string | undefined {
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused (is ${service} running and listening on that port?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `host unreachable (${code})`;
    default:
      return undefined;
  }
}

/** The first line of a driver's message, or the timeout said plainly: a multi-line dump helps nobody here. */
export function firstLineOf(text: string, timeoutMs: number): string {
  if (/timeout/i.test(text)) return `no answer within ${timeoutMs} ms`;
  return text.split('\n')[0] ?? text;
}
