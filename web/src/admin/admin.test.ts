import { describe, expect, it } from 'vitest';
import { FIELDS, formFor, KINDS, toBody } from './catalog';
import { adminEn, adminNl, adminTranslator } from './messages';
import { parseQuota, statusFilter } from './quota';

describe('catalog form', () => {
  it('turns a profile form into the PUT body', () => {
    const values = { id: 'gpu-large', name: 'GPU large', price_per_day: '12,50', flavor: 'g1.large', vcpus: '16', ram_gb: '64', gpu: 'true' };
    const { body, errors } = toBody('profiles', values);
    expect(errors).toEqual({});
    expect(body).toEqual({ name: 'GPU large', price_per_day: '12.50', flavor: 'g1.large', vcpus: 16, ram_gb: 64, gpu: true });
  });

  it('names every mistake by field before the API is asked', () => {
    const { errors } = toBody('profiles', { id: 'Not An Id', name: ' ', price_per_day: '1.23456', flavor: '', vcpus: '2.5', ram_gb: '0', gpu: 'false' });
    expect(errors).toEqual({ id: 'id', name: 'required', price_per_day: 'price', flavor: 'required', vcpus: 'wholeNumber', ram_gb: 'wholeNumber' });
  });

  it('leaves out optional text the admin left empty', () => {
    const { body, errors } = toBody('operating-systems', { id: 'ubuntu', name: 'Ubuntu', price_per_day: '0', image: 'ubuntu-24.04', username: '' });
    expect(errors).toEqual({});
    expect(body).toEqual({ name: 'Ubuntu', price_per_day: '0', image: 'ubuntu-24.04' });
  });

  it('fills the form from an entry, booleans as the checkbox holds them', () => {
    const values = formFor('networks', { id: 'lab', name: 'Lab', price_per_day: 0.5, attributes: { network: 'lab-net', default: 'true' } });
    expect(values).toEqual({ id: 'lab', name: 'Lab', price_per_day: '0.5', network: 'lab-net', default: 'true' });
    expect(formFor('storage')).toEqual({ id: '', name: '', price_per_day: '', size_gb: '' });
  });

  it('has fields for every kind', () => {
    for (const kind of KINDS) expect(FIELDS[kind].length).toBeGreaterThan(0);
  });
});

describe('quota form', () => {
  it('sends null for an empty field (the stage default) and numbers otherwise', () => {
    expect(parseQuota({ max_workspaces: ' 3 ', max_vcpus: '' })).toEqual({ body: { max_workspaces: 3, max_vcpus: null }, errors: {} });
    expect(parseQuota({ max_workspaces: 'many', max_vcpus: '-1' }).errors).toEqual({ max_workspaces: 'wholeNumber', max_vcpus: 'wholeNumber' });
  });

  it('reads the workspace status filter from the address bar', () => {
    expect(statusFilter(new URLSearchParams('status=running'))).toBe('RUNNING');
    expect(statusFilter(new URLSearchParams('status=bogus'))).toBeUndefined();
    expect(statusFilter(new URLSearchParams(''))).toBeUndefined();
  });
});

describe('admin text', () => {
  it('has Dutch for every English key, with the same placeholders', () => {
    for (const key of Object.keys(adminEn) as (keyof typeof adminEn)[]) {
      const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect(placeholders(adminNl[key]), key).toEqual(placeholders(adminEn[key]));
    }
    expect(adminTranslator('nl')('admin.grant', { name: 'Ann' })).toBe('Maak Ann platformbeheerder');
    expect(adminTranslator('en')('admin.grant', { name: 'Ann' })).toBe('Make Ann platform admin');
  });
});
