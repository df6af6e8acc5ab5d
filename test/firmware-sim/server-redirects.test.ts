import { describe, expect, it } from 'vitest';
import { MAX_REDIRECTS_IN_A_ROW, ServerRedirects } from '../../firmware-sim/server-redirects.ts';

const HOME = 'mqtt://home.example:1883';
const OTHER = 'mqtts://other.example:8883';
const NEW_HOME = 'mqtt://new-home.example:1883';

/** Where a machine connects after each refusal, connect and close (v5 §4.11), without sockets. */
describe('server redirects', () => {
  it('0x9C: the reference for the next attempt only, then home again', () => {
    const redirects = new ServerRedirects(HOME);
    expect(redirects.refused(0x9c, OTHER)).toBe(OTHER);
    expect(redirects.closed()).toBe(OTHER);
    redirects.connected();
    // That connection ends: the machine goes back to its own broker.
    expect(redirects.closed()).toBe(HOME);
  });

  it("0x9D: the reference becomes the machine's broker", () => {
    const redirects = new ServerRedirects(HOME);
    expect(redirects.refused(0x9d, NEW_HOME)).toBe(NEW_HOME);
    expect(redirects.closed()).toBe(NEW_HOME);
    redirects.connected();
    expect(redirects.closed()).toBe(NEW_HOME);
    expect(redirects.closed()).toBe(NEW_HOME);
  });

  it('takes the first broker URL of a space separated list, and follows no reference without one', () => {
    const redirects = new ServerRedirects(HOME);
    expect(redirects.refused(0x9c, `other.example:1883 ftp://x.example ${OTHER} ${NEW_HOME}`)).toBe(OTHER);
    expect(redirects.closed()).toBe(OTHER);
    expect(redirects.refused(0x9c, 'other.example:1883')).toBeNull();
    expect(redirects.refused(0x9c, undefined)).toBeNull();
    expect(redirects.refused(0x9c, '')).toBeNull();
    expect(redirects.closed()).toBe(HOME);
  });

  it('treats other refusals as refusals', () => {
    const redirects = new ServerRedirects(HOME);
    for (const code of [0x03, 0x86, 0x87, 0x88, 0x89]) expect(redirects.refused(code, OTHER)).toBeNull();
    expect(redirects.closed()).toBe(HOME);
  });

  it(`follows ${MAX_REDIRECTS_IN_A_ROW} redirects in a row, refuses the next, and starts counting again after it or a connect`, () => {
    const redirects = new ServerRedirects(HOME);
    const loop = (): Array<string | null> =>
      Array.from({ length: MAX_REDIRECTS_IN_A_ROW + 1 }, () => {
        const url = redirects.refused(0x9c, OTHER);
        redirects.closed();
        return url;
      });
    expect(loop()).toEqual([...Array(MAX_REDIRECTS_IN_A_ROW).fill(OTHER), null]);
    expect(loop()).toEqual([...Array(MAX_REDIRECTS_IN_A_ROW).fill(OTHER), null]);
    redirects.refused(0x9c, OTHER);
    redirects.connected();
    expect(loop().filter((url) => url !== null)).toHaveLength(MAX_REDIRECTS_IN_A_ROW);
  });
});

/** Regional planes (docs/planes.md): a machine with a directory keeps the plane it reached. */
describe('server redirects of a machine that keeps its plane', () => {
  const WRONG_PLANE = 'mqtt://127.0.0.1:41883';
  // What a plane broker sends: the directory's mqttUrl for the home plane, as is.
  const HOME_PLANE = 'mqtt://127.0.0.1:51883/';

  it('a 0x9C that ended in a connection makes that plane its broker, after any drop', () => {
    const redirects = new ServerRedirects(WRONG_PLANE, MAX_REDIRECTS_IN_A_ROW, true);
    expect(redirects.refused(0x9c, HOME_PLANE)).toBe(HOME_PLANE);
    expect(redirects.closed()).toBe(HOME_PLANE);
    redirects.connected();
    expect(redirects.closed()).toBe(HOME_PLANE);
    expect(redirects.closed()).toBe(HOME_PLANE);
    expect(redirects.current).toBe(HOME_PLANE);
  });

  it('a 0x9C that did not connect leaves the plane it knows', () => {
    const redirects = new ServerRedirects(HOME_PLANE, MAX_REDIRECTS_IN_A_ROW, true);
    expect(redirects.refused(0x9c, WRONG_PLANE)).toBe(WRONG_PLANE);
    expect(redirects.closed()).toBe(WRONG_PLANE);
    // That attempt failed without a CONNACK (the server was down): back to the known plane.
    expect(redirects.closed()).toBe(HOME_PLANE);
  });

  it('relocate: the directory moves it, for this attempt and every later one', () => {
    const redirects = new ServerRedirects(WRONG_PLANE, MAX_REDIRECTS_IN_A_ROW, true);
    redirects.relocate(HOME_PLANE);
    expect(redirects.closed()).toBe(HOME_PLANE);
    redirects.connected();
    expect(redirects.closed()).toBe(HOME_PLANE);
  });

  it('plane URLs in our form are followed: IPv6, TLS, a trailing slash', () => {
    for (const reference of ['mqtt://[::1]:1883', 'mqtts://eu.plane.example:8883', HOME_PLANE]) {
      expect(new ServerRedirects(WRONG_PLANE).refused(0x9c, reference)).toBe(reference);
    }
  });
});
