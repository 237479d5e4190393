import { describe, expect, it } from 'vitest';
import { estimateCost, profileVcpus, storageFor } from './cost';

const item = (id: string, price: number, attributes: Record<string, string> = {}) => ({
  id,
  name: id,
  price_per_day: price,
  attributes,
});
const catalog = {
  currency: 'EUR',
  profiles: [item('small', 1.2, { vcpus: '2' }), item('gpu', 24, { vcpus: '8' })],
  operating_systems: [item('ubuntu', 0), item('windows', 1.5)],
  storage: [item('500gb', 1, { size_gb: '500' }), item('50gb', 0.1, { size_gb: '50' })],
  networks: [item('other', 0.3), item('research', 0, { default: 'true' })],
};

describe('estimateCost', () => {
  it('adds the daily prices of what the broker would pick by default', () => {
    expect(estimateCost(catalog, { profile: 'small', operating_system: 'ubuntu', storage_gb: undefined, network: undefined })).toEqual({
      perDay: 1.3,
      perMonth: 39,
    });
  });

  it('uses the chosen size and network', () => {
    expect(estimateCost(catalog, { profile: 'gpu', operating_system: 'windows', storage_gb: 500, network: 'other' })).toEqual({
      perDay: 26.8,
      perMonth: 804,
    });
  });

  it('gives nothing for a choice the catalog does not offer', () => {
    expect(estimateCost(catalog, { profile: 'huge', operating_system: 'ubuntu', storage_gb: undefined, network: undefined })).toBeUndefined();
    expect(storageFor(catalog, 75)).toBeUndefined();
  });

  it("knows a profile's vCPUs", () => {
    expect(profileVcpus(catalog, 'gpu')).toBe(8);
    expect(profileVcpus(catalog, 'nope')).toBe(0);
  });
});
