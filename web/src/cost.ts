// The cost estimate the request form shows before the broker gives its own: the sum of the chosen catalog items'
// daily prices (profile, operating system, storage size, network), as chalicelib/services/workspaces/catalog.py adds them.
import type { components } from './api/schema';

type Catalog = components['schemas']['CatalogView'];
type Item = components['schemas']['CatalogItemView'];

export const DAYS_PER_MONTH = 30;

export interface Choice {
  profile: string;
  operating_system: string;
  storage_gb: number | undefined;
  network: string | undefined;
}

const size = (item: Item) => Number(item.attributes.size_gb ?? 0);

/** The storage item for a size (the smallest when none is chosen), as the broker picks it. */
export function storageFor(catalog: Catalog, storageGb: number | undefined): Item | undefined {
  const sorted = [...catalog.storage].sort((a, b) => size(a) - size(b));
  return storageGb === undefined ? sorted[0] : sorted.find((item) => size(item) === storageGb);
}

/** The network the broker uses when none is chosen: the one marked default, else the first. */
export function defaultNetwork(catalog: Catalog): Item | undefined {
  return catalog.networks.find((item) => item.attributes.default === 'true') ?? catalog.networks[0];
}

/** Per day and per 30-day month, rounded to the cent; undefined while a choice is not in the catalog. */
export function estimateCost(catalog: Catalog, choice: Choice): { perDay: number; perMonth: number } | undefined {
  const items = [
    catalog.profiles.find((item) => item.id === choice.profile),
    catalog.operating_systems.find((item) => item.id === choice.operating_system),
    storageFor(catalog, choice.storage_gb),
    choice.network === undefined ? defaultNetwork(catalog) : catalog.networks.find((i) => i.id === choice.network),
  ];
  if (items.some((item) => item === undefined)) return undefined;
  const perDay = items.reduce((sum, item) => sum + (item?.price_per_day ?? 0), 0);
  const round = (value: number) => Math.round(value * 100) / 100;
  return { perDay: round(perDay), perMonth: round(perDay * DAYS_PER_MONTH) };
}

/** The vCPUs a profile takes from the study's quota. */
export function profileVcpus(catalog: Catalog, profile: string): number {
  return Number(catalog.profiles.find((item) => item.id === profile)?.attributes.vcpus ?? 0);
}
