// Which language the console speaks and t(): the researcher's `locale` from GET /me once known, before that
// (and on the login page) the browser's preferred languages, English when neither is one we have.
import { en, type MessageKey, type Messages } from './en';
import { nl } from './nl';

export const LOCALES = { en, nl } as const satisfies Record<string, Messages>;
export type Locale = keyof typeof LOCALES;
export type { MessageKey, Messages };

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && Object.hasOwn(LOCALES, value);
}

/** The first of the browser's languages we have ("nl-BE" counts as nl), else English. */
export function browserLocale(languages: readonly string[]): Locale {
  for (const tag of languages) {
    const base = tag.toLowerCase().split('-')[0];
    if (isLocale(base)) return base;
  }
  return 'en';
}

/** The researcher's own choice wins over the browser. */
export function chooseLocale(researcherLocale: string | undefined, languages: readonly string[]): Locale {
  return isLocale(researcherLocale) ? researcherLocale : browserLocale(languages);
}

export type Params = Readonly<Record<string, string | number>>;
export type Translate = (key: MessageKey, params?: Params) => string;

/** Fill `{name}` placeholders; an unknown placeholder stays visible rather than vanishing. */
export function interpolate(template: string, params: Params = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(params, name) ? String(params[name]) : whole,
  );
}

export function translator(locale: Locale): Translate {
  const messages = LOCALES[locale];
  return (key, params) => interpolate(messages[key] ?? en[key], params);
}

/** Does the language have text for this key? (Login error codes come from the server.) */
export function hasKey(key: string): key is MessageKey {
  return Object.hasOwn(en, key);
}
