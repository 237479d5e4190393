import { describe, expect, it } from 'vitest';
import { loginErrorKey, loginUrl } from './login';

describe('the login page', () => {
  it("names every failure code the broker's callback sends (chalicelib/services/accounts/identity.py LoginFailure)", () => {
    for (const code of ['access_denied', 'state_expired', 'email_missing', 'account_disabled', 'login_code_invalid', 'login_failed']) {
      expect(loginErrorKey(code), code).toEqual({ key: `login.error.${code}`, known: true });
    }
  });

  it('still says something for a code it does not know', () => {
    expect(loginErrorKey('brand_new')).toEqual({ key: 'login.error.unknown', known: false });
  });

  it('sends the browser to the API with a path inside the console to come back to', () => {
    expect(loginUrl('http://api', '/invitations/accept?token=a b')).toBe(
      'http://api/auth/login?next=%2Finvitations%2Faccept%3Ftoken%3Da+b',
    );
    expect(loginUrl('http://api', '//evil.example')).toBe('http://api/auth/login?next=%2F');
    expect(loginUrl('http://api', '/login?error=x')).toBe('http://api/auth/login?next=%2F');
  });
});
