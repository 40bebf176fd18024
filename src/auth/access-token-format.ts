/**
 * The shape of a personal access token (access-tokens.ts), apart from everything else so that the logger can mask
 * tokens without importing the database: `gqa_<public id>_<secret>`.
 */
export const ACCESS_TOKEN_PREFIX = 'gqa_';
export const PUBLIC_ID_LENGTH = 12;
/** 32 characters of 62: 190 bits, well past the 128 that make guessing hopeless. */
export const SECRET_LENGTH = 32;
/** A whole token, as it is issued: nothing else is looked up (a malformed one costs no statement). */
const TOKEN_SHAPE = /^gqa_([A-Za-z0-9]{12})_[A-Za-z0-9]{32}$/;
/**
 * Anything that starts like a token, in a log line: the prefix and public id stay readable (they identify the token
 * and grant nothing), whatever follows is masked, also when it is cut short or malformed.
 */
const IN_TEXT = /gqa_([A-Za-z0-9]{0,12})[A-Za-z0-9_]*/g;

/** The public id of a well-formed token; undefined for anything else. */
export function publicIdOf(token: string): string | undefined {
  return TOKEN_SHAPE.exec(token)?.[1];
}

/** `text` with every token-shaped string masked past its public id. Cheap when there is none. */
export function maskAccessTokens(text: string): string {
  if (!text.includes(ACCESS_TOKEN_PREFIX)) return text;
  return text.replace(IN_TEXT, (_match, publicId: string) => `${ACCESS_TOKEN_PREFIX}${publicId}…[masked]`);
}
