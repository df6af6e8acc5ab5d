/**
 * Card numbers in disguise. A card number (PAN, ISO/IEC 7812) has 12 to 19 digits; in a string it
 * may be split by spaces, dashes, dots or slashes, or mixed with letters, written in full-width or
 * other Unicode digits, or strewn with invisible characters. Device and server share this check, so
 * neither sends nor keeps such a string.
 *
 * The rule: after Unicode compatibility folding (NFKC: full-width, mathematical and circled digits
 * become 0-9) and removing invisible format characters and combining marks, a string is card-like
 * when it holds 12 or more decimal digits in which no two neighbours are more than
 * PAN_MAX_GAP non-digit characters apart (a run of whitespace counts as one). Luhn validity is not
 * asked for: a mistyped or truncated card number is still card data to a scanner and an auditor,
 * and no string field of the v1 contract has a reason to carry twelve near digits.
 */
export const PAN_MIN_DIGITS = 12;
export const PAN_MAX_GAP = 4;

const DIGIT = /\p{Nd}/u;
const INVISIBLE = /[\p{Cf}\p{M}]/gu;
const WHITESPACE_RUN = /\s+/gu;

export function panLike(text: string): boolean {
  const folded = text.normalize('NFKC').replace(INVISIBLE, '').replace(WHITESPACE_RUN, ' ');
  let digits = 0;
  let gap = 0;
  for (const ch of folded) {
    if (DIGIT.test(ch)) {
      digits++;
      gap = 0;
      if (digits >= PAN_MIN_DIGITS) return true;
    } else if (digits > 0 && ++gap > PAN_MAX_GAP) {
      digits = 0;
      gap = 0;
    }
  }
  return false;
}

/**
 * The paths of every string in `value` (objects and arrays, any depth) that looks like a card
 * number, except those `exempt` names: fields whose grammar the contract fixes to something that is
 * not free text and that carries digits by design (an event id is hex, a timestamp is all digits).
 */
export function panLikePaths(value: unknown, exempt: (path: readonly (string | number)[]) => boolean, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value === 'string') return !exempt(path) && panLike(value) ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((item, i) => panLikePaths(item, exempt, [...path, i]));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => panLikePaths(item, exempt, [...path, key]));
  }
  return [];
}
