import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config';

describe('parseConfig', () => {
  it('reads the API and upload URLs, trimming the API one', () => {
    expect(parseConfig({ api_base_url: 'http://127.0.0.1:8000/', upload_base_url: 'http://127.0.0.1:3000/upload/' })).toEqual({
      apiBaseUrl: 'http://127.0.0.1:8000',
      uploadBaseUrl: 'http://127.0.0.1:3000/upload/',
    });
    expect(parseConfig({ api_base_url: 'https://api.example' }).uploadBaseUrl).toBeUndefined();
  });

  it('refuses what is no URL', () => {
    expect(() => parseConfig({})).toThrow(ConfigError);
    expect(() => parseConfig({ api_base_url: 'javascript:alert(1)' })).toThrow(ConfigError);
    expect(() => parseConfig(null)).toThrow(ConfigError);
  });
});
