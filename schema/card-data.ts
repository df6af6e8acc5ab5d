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
const WHITESPACE = /\s/u;

export function panLike(text: string): boolean {
  const ascii = asciiDigits(text);
  // ASCII is its own NFKC form and holds no invisible or combining marks: fewer than twelve digits
  // anywhere and it cannot be card-like, which settles almost every string a device sends.
  if (ascii !== -1 && ascii < PAN_MIN_DIGITS) return false;
  const folded = ascii === -1 ? text.normalize('NFKC').replace(INVISIBLE, '') : text;
  let digits = 0;
  let gap = 0;
  let inWhitespace = false;
  for (const ch of folded) {
    if (DIGIT.test(ch)) {
      digits++;
      gap = 0;
      inWhitespace = false;
      if (digits >= PAN_MIN_DIGITS) return true;
      continue;
    }
    const whitespace = WHITESPACE.test(ch);
    // A run of whitespace counts as one gap character.
    if (whitespace && inWhitespace) continue;
    inWhitespace = whitespace;
    if (digits > 0 && ++gap > PAN_MAX_GAP) {
      digits = 0;
      gap = 0;
    }
  }
  return false;
}

/** The count of ASCII digits in an all-ASCII string, or -1 when it holds anything else. */
function asciiDigits(text: string): number {
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) return -1;
    if (code >= 0x30 && code <= 0x39) digits++;
  }
  return digits;
}

/**
 * The paths of every string in `value` (objects and arrays, any depth) that looks like a card
 * number, except those `exempt` names: fields whose grammar the contract fixes to something that is
 * not free text and that carries digits by design (an event id is hex, a timestamp is all digits).
 * One path is walked in place and copied only for a hit: this runs on every event the server takes.
 */
export function panLikePaths(value: unknown, exempt: (path: readonly (string | number)[]) => boolean): (string | number)[][] {
  const found: (string | number)[][] = [];
  const path: (string | number)[] = [];
  const walk = (node: unknown): void => {
    if (typeof node === 'string') {
      if (!exempt(path) && panLike(node)) found.push([...path]);
    } else if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        path.push(i);
        walk(node[i]);
        path.pop();
      }
    } else if (typeof node === 'object' && node !== null) {
      for (const key in node) {
        if (!Object.hasOwn(node, key)) continue;
        path.push(key);
        walk((node as Record<string, unknown>)[key]);
        path.pop();
      }
    }
  };
  walk(value);
  return found;
}
