import { describe, expect, it } from 'vitest';
import { ApiError, groupFieldErrors, networkError, problemFromResponse } from './problem';

describe('problemFromResponse', () => {
  it('keeps the detail and groups field errors by field', () => {
    const error = problemFromResponse(422, {
      type: 'https://vre.example/problems/validation',
      title: 'Unprocessable Content',
      status: 422,
      detail: 'The request body is invalid.',
      errors: [
        { field: 'name', message: 'must not be empty' },
        { field: '$.name', message: 'at most 120 characters' },
        { field: 'budget_eur', message: 'must be positive' },
      ],
      request_id: 'r-1',
    });

    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(422);
    expect(error.detail).toBe('The request body is invalid.');
    expect(error.fieldErrors('name')).toEqual(['must not be empty', 'at most 120 characters']);
    expect(error.fieldErrors('budget_eur')).toEqual(['must be positive']);
    expect(error.fieldErrors('other')).toEqual([]);
    expect(error.requestId).toBe('r-1');
  });

  it('turns a body that is no problem document into a plain error of the status', () => {
    const error = problemFromResponse(502, '<html>Bad gateway</html>', 'Bad Gateway');

    expect(error.status).toBe(502);
    expect(error.detail).toBe('Bad Gateway');
    expect(error.errors).toEqual({});
  });

  it('falls back to the status when there is no status text either', () => {
    expect(problemFromResponse(504, undefined).detail).toBe('HTTP 504');
  });
});

describe('groupFieldErrors', () => {
  it('drops entries that are not field errors', () => {
    expect(groupFieldErrors([{ field: 1, message: 'x' }, 'nope', null, { field: 'a', message: 'b' }])).toEqual({
      a: ['b'],
    });
    expect(groupFieldErrors('not a list')).toEqual({});
  });
});

describe('networkError', () => {
  it('is an ApiError of status 0', () => {
    const error = networkError(new TypeError('Failed to fetch'));
    expect(error.status).toBe(0);
    expect(error.detail).toBe('Failed to fetch');
  });
});
