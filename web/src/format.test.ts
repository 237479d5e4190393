import { describe, expect, it } from 'vitest';
import { formatBytes, formatDateTime, formatMoney } from './format';

describe('formatting', () => {
  it('writes money in the language of the page', () => {
    expect(formatMoney('1234.5', 'en')).toBe('€1,234.50');
    expect(formatMoney(1234.5, 'nl')).toMatch(/^€\s?1\.234,50$/);
    expect(formatMoney(null, 'en')).toBe('—');
    expect(formatMoney('n/a', 'en')).toBe('n/a');
  });

  it('writes sizes in powers of 1000', () => {
    expect(formatBytes(0, 'en')).toBe('0 B');
    expect(formatBytes(1500, 'en')).toBe('1.5 KB');
    expect(formatBytes(2_000_000_000, 'nl')).toBe('2 GB');
    expect(formatBytes(-1, 'en')).toBe('—');
  });

  it('keeps a date it cannot read as it came', () => {
    expect(formatDateTime('not a date', 'en')).toBe('not a date');
    expect(formatDateTime(undefined, 'en')).toBe('—');
    expect(formatDateTime('2026-12-07T09:30:00Z', 'en')).toContain('2026');
  });
});
