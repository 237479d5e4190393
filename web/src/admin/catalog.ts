// The catalog editor's rules: which fields each kind has (chalicelib/services/workspaces/catalog.py ATTRIBUTES), the form's
// text turned into the PUT body, and the mistakes the form can name before the API is asked.
import type { components } from '../api/schema';

export type CatalogKind = 'operating-systems' | 'profiles' | 'storage' | 'networks';
export type CatalogItem = components['schemas']['CatalogItemView'];
export type CatalogWrite = components['schemas']['CatalogItemWrite'];
export type FieldType = 'text' | 'int' | 'bool';

export interface FieldSpec {
  readonly key: string;
  readonly type: FieldType;
  readonly required: boolean;
}

export const KINDS: readonly CatalogKind[] = ['operating-systems', 'profiles', 'storage', 'networks'];

/** GET /catalog's list of each kind. */
export const LIST_OF: Readonly<Record<CatalogKind, keyof components['schemas']['CatalogView']>> = {
  'operating-systems': 'operating_systems',
  profiles: 'profiles',
  storage: 'storage',
  networks: 'networks',
};

export const FIELDS: Readonly<Record<CatalogKind, readonly FieldSpec[]>> = {
  'operating-systems': [
    { key: 'image', type: 'text', required: true },
    { key: 'username', type: 'text', required: false },
  ],
  profiles: [
    { key: 'flavor', type: 'text', required: true },
    { key: 'vcpus', type: 'int', required: true },
    { key: 'ram_gb', type: 'int', required: true },
    { key: 'gpu', type: 'bool', required: false },
  ],
  storage: [{ key: 'size_gb', type: 'int', required: true }],
  networks: [
    { key: 'network', type: 'text', required: true },
    { key: 'default', type: 'bool', required: false },
  ],
};

/** What the form holds: every value as the input shows it. */
export type FormValues = Record<string, string>;

export type LocalError = 'required' | 'wholeNumber' | 'price' | 'id';

export const ITEM_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The form's values for an existing entry (or an empty one). */
export function formFor(kind: CatalogKind, item?: CatalogItem): FormValues {
  const values: FormValues = {
    id: item?.id ?? '',
    name: item?.name ?? '',
    price_per_day: item ? String(item.price_per_day) : '',
  };
  for (const field of FIELDS[kind]) {
    const raw = item?.attributes[field.key];
    values[field.key] = field.type === 'bool' ? (raw === 'true' ? 'true' : 'false') : (raw ?? '');
  }
  return values;
}

/** The PUT body and the mistakes found, by field; the body is only sent when there are none. */
export function toBody(kind: CatalogKind, values: FormValues): { body: CatalogWrite; errors: Record<string, LocalError> } {
  const errors: Record<string, LocalError> = {};
  const id = (values.id ?? '').trim();
  if (!ITEM_ID.test(id)) errors.id = 'id';
  const name = (values.name ?? '').trim();
  if (!name) errors.name = 'required';
  const priceText = (values.price_per_day ?? '').trim().replace(',', '.');
  if (!/^\d{1,6}(\.\d{1,4})?$/.test(priceText)) errors.price_per_day = 'price';
  const body: Record<string, unknown> = { name, price_per_day: priceText };
  for (const field of FIELDS[kind]) {
    const raw = (values[field.key] ?? '').trim();
    if (field.type === 'bool') {
      body[field.key] = raw === 'true';
    } else if (!raw) {
      if (field.required) errors[field.key] = 'required';
    } else if (field.type === 'int') {
      if (/^\d+$/.test(raw) && Number(raw) >= 1) body[field.key] = Number(raw);
      else errors[field.key] = 'wholeNumber';
    } else {
      body[field.key] = raw;
    }
  }
  return { body: body as unknown as CatalogWrite, errors };
}
