/** Length in Unicode code points, as Python's len() and PostgreSQL's varchar count it (JavaScript's counts UTF-16). */
export function codePoints(text: string): number {
  // A surrogate pair is one code point in two UTF-16 units.
  return text.length - (text.match(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g)?.length ?? 0);
}

/** The first `limit` code points of `text` (a column's bound, counted as PostgreSQL counts it). */
export function firstCodePoints(text: string, limit: number): string {
  return Array.from(text).slice(0, limit).join('');
}
