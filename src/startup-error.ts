/**
 * A failure at start-up that an operator can act on: the server prints its message (one line, or a short list)
 * and exits 1, without a stack. It lives in a module of its own so that the entry point can recognise these
 * errors without loading the heavy modules that throw them.
 */
export class StartupError extends Error {}
