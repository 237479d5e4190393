import { describe, expect, it } from 'vitest';
import { browserLocale, chooseLocale, interpolate, LOCALES, translator } from './index';
import { en } from './en';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('the languages', () => {
  it('have exactly the keys English has, with the same placeholders, none empty', () => {
    for (const [locale, messages] of Object.entries(LOCALES)) {
      expect(Object.keys(messages).sort(), locale).toEqual(Object.keys(en).sort());
      for (const [key, text] of Object.entries(messages)) {
        expect(text.trim(), `${locale} ${key}`).not.toBe('');
        expect(placeholders(text), `${locale} ${key}`).toEqual(placeholders(en[key as keyof typeof en]));
      }
    }
  });
});

describe('choosing the language', () => {
  it("follows the researcher's locale over the browser", () => {
    expect(chooseLocale('nl', ['en-GB'])).toBe('nl');
    expect(chooseLocale('en', ['nl-NL'])).toBe('en');
  });

  it("falls back to the browser's first language we have, then English", () => {
    expect(chooseLocale(undefined, ['de-DE', 'nl-BE', 'en'])).toBe('nl');
    expect(chooseLocale('fr', ['fr-FR'])).toBe('en');
    expect(browserLocale([])).toBe('en');
  });
});

describe('t()', () => {
  it('fills placeholders and leaves unknown ones visible', () => {
    expect(interpolate('Hello {name}, {missing}', { name: 'Ada' })).toBe('Hello Ada, {missing}');
    expect(translator('nl')('error.requestId', { id: 'abc' })).toBe('Verzoek-id: abc');
  });
});
