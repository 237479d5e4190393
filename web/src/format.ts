// How the console writes dates, sums of money and sizes, in the page's language.
import type { Locale } from './i18n';

const TAGS: Record<Locale, string> = { en: 'en-GB', nl: 'nl-NL' };

export function formatDateTime(iso: string | null | undefined, locale: Locale): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(TAGS[locale], { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

export function formatDate(iso: string | null | undefined, locale: Locale): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(TAGS[locale], { dateStyle: 'medium' }).format(date);
}

/** Money as the API gives it: a decimal string or number in a currency (EUR unless it says). */
export function formatMoney(amount: string | number | null | undefined, locale: Locale, currency = 'EUR'): string {
  if (amount === null || amount === undefined || amount === '') return '—';
  const value = typeof amount === 'number' ? amount : Number(amount);
  if (!Number.isFinite(value)) return String(amount);
  return new Intl.NumberFormat(TAGS[locale], { style: 'currency', currency }).format(value);
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const;

/** Sizes in powers of 1000, as the drop-off and the quota speak of them. */
export function formatBytes(bytes: number | null | undefined, locale: Locale): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${new Intl.NumberFormat(TAGS[locale], { maximumFractionDigits: digits }).format(value)} ${UNITS[unit]}`;
}
