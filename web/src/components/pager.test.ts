import { createElement, render } from 'preact';
import { act } from 'preact/test-utils';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { fetchAll, Pager, usePaged, type Loader, type Paged, type PageOf, type PagedState } from './pager';

interface Row {
  id: number;
  name: string;
}

const rows = (from: number, to: number): Row[] => Array.from({ length: to - from }, (_, i) => ({ id: from + i, name: `row ${from + i}` }));

/** A fake API list of `total` rows, `size` a page; the cursor is the next row's index. It records what was asked. */
function fakeList(total: number, size: number) {
  const asked: (string | undefined)[] = [];
  let data = rows(0, total);
  let failNext: Error | undefined;
  const load: Loader<Row> = async (cursor) => {
    asked.push(cursor);
    if (failNext) {
      const failure = failNext;
      failNext = undefined;
      throw failure;
    }
    const start = cursor === undefined ? 0 : Number(cursor);
    const end = Math.min(start + size, data.length);
    return { items: data.slice(start, end), next_cursor: end < data.length ? String(end) : null };
  };
  return {
    load,
    asked,
    failOnce: (error: Error) => (failNext = error),
    rename: (id: number, name: string) => (data = data.map((r) => (r.id === id ? { ...r, name } : r))),
  };
}

/** A component-free harness: the hook's value after every render, from Preact itself (a bare parent is enough for a component that renders nothing). */
function mountHook(load: Loader<Row>, deps: unknown[] = []) {
  const seen: { current: Paged<Row> | undefined } = { current: undefined };
  function Probe({ loader, keys }: { loader: Loader<Row>; keys: unknown[] }) {
    seen.current = usePaged(loader, keys);
    return null;
  }
  const parent = { namespaceURI: 'http://www.w3.org/1999/xhtml', childNodes: [], firstChild: null } as unknown as HTMLElement;
  const mount = (keys: unknown[]) => act(() => render(createElement(Probe, { loader: load, keys }), parent));
  mount(deps);
  return { seen, rerender: mount, unmount: () => act(() => render(null, parent)) };
}

// Preact's render compares its parent with `document`; a component that renders nothing needs no more DOM than that.
beforeAll(() => {
  if (typeof document === 'undefined') vi.stubGlobal('document', {});
});

const settle = () => act(async () => void (await new Promise((resolve) => setTimeout(resolve, 0))));

describe('usePaged', () => {
  it('shows the first page, and the next on more() until the last', async () => {
    const list = fakeList(30, 25);
    const { seen } = mountHook(list.load);
    expect(seen.current?.loading).toBe(true);
    await settle();
    expect(seen.current?.items.map((r) => r.id)).toEqual(rows(0, 25).map((r) => r.id));
    expect(seen.current?.loading).toBe(false);
    expect(seen.current?.more).toBeTypeOf('function');

    act(() => seen.current?.more?.());
    expect(seen.current?.loading).toBe(true);
    await settle();
    expect(seen.current?.items).toHaveLength(30);
    expect(seen.current?.items.at(-1)).toEqual({ id: 29, name: 'row 29' });
    expect(seen.current?.more).toBeUndefined();
    expect(list.asked).toEqual([undefined, '25']);
  });

  it('replaces a row in place without asking the API', async () => {
    const list = fakeList(3, 25);
    const { seen } = mountHook(list.load);
    await settle();
    act(() => seen.current?.replace({ id: 1, name: 'renamed' }, (a, b) => a.id === b.id));
    expect(seen.current?.items.map((r) => r.name)).toEqual(['row 0', 'renamed', 'row 2']);
    expect(list.asked).toEqual([undefined]);
  });

  it('keeps the rows and the cursor when a page fails, so "Show more" can be pressed again', async () => {
    const list = fakeList(30, 25);
    const { seen } = mountHook(list.load);
    await settle();
    list.failOnce(new Error('offline'));
    act(() => seen.current?.more?.());
    await settle();
    expect((seen.current?.error as Error).message).toBe('offline');
    expect(seen.current?.items).toHaveLength(25);
    expect(seen.current?.loading).toBe(false);

    act(() => seen.current?.more?.());
    await settle();
    expect(seen.current?.error).toBeUndefined();
    expect(seen.current?.items).toHaveLength(30);
  });

  it('says why the first page failed', async () => {
    const list = fakeList(30, 25);
    list.failOnce(new Error('403'));
    const { seen } = mountHook(list.load);
    await settle();
    expect((seen.current?.error as Error).message).toBe('403');
    expect(seen.current?.items).toEqual([]);
    expect(seen.current?.loading).toBe(false);
  });

  it('starts over when its deps change, and reload() keeps as many rows as were shown', async () => {
    const list = fakeList(60, 25);
    const { seen, rerender } = mountHook(list.load, ['a']);
    await settle();
    act(() => seen.current?.more?.());
    await settle();
    expect(seen.current?.items).toHaveLength(50);

    list.rename(40, 'changed');
    act(() => seen.current?.reload());
    expect(seen.current?.items).toHaveLength(50); // the rows stay while it reloads
    await settle();
    expect(seen.current?.items).toHaveLength(50);
    expect(seen.current?.items[40]?.name).toBe('changed');
    expect(seen.current?.more).toBeTypeOf('function');

    rerender(['b']);
    await settle();
    expect(seen.current?.items).toHaveLength(25);
  });
});

describe('Pager', () => {
  it('ignores a slow "more" that a reload overtook', async () => {
    const pending: ((page: PageOf<Row>) => void)[] = [];
    const states: PagedState<Row>[] = [];
    const pager = new Pager<Row>(() => new Promise((r) => pending.push(r)), (s) => states.push(s));
    const first = pager.start();
    pending.shift()!({ items: rows(0, 2), next_cursor: '2' });
    await first;
    const more = pager.more();
    const reload = pager.reload();
    // The reload's answer comes first; the overtaken "more" answers last and must not append.
    pending[1]!({ items: [{ id: 0, name: 'fresh' }, { id: 1, name: 'row 1' }], next_cursor: '2' });
    await reload;
    pending[0]!({ items: rows(2, 4), next_cursor: null });
    await more;
    expect(pager.state.items.map((r) => r.name)).toEqual(['fresh', 'row 1']);
    expect(pager.state.cursor).toBe('2');
  });

  it('does not fetch twice when "more" is pressed again while a page is on its way', async () => {
    const list = fakeList(60, 25);
    const pager = new Pager<Row>(list.load, () => undefined);
    await pager.start();
    await Promise.all([pager.more(), pager.more()]);
    expect(list.asked).toEqual([undefined, '25']);
    expect(pager.state.items).toHaveLength(50);
  });
});

describe('Pager, stopped', () => {
  it('drops an answer that comes after its component is gone', async () => {
    let resolve: (page: PageOf<Row>) => void = () => undefined;
    const states: PagedState<Row>[] = [];
    const pager = new Pager<Row>(() => new Promise((r) => (resolve = r)), (s) => states.push(s));
    const first = pager.start();
    pager.stop();
    resolve({ items: rows(0, 1), next_cursor: null });
    await first;
    expect(states).toHaveLength(1);
    expect(pager.state.loading).toBe(true);
    expect(pager.state.items).toEqual([]);
  });
});

describe('fetchAll', () => {
  it('follows next_cursor to the last page', async () => {
    const list = fakeList(230, 100);
    expect(await fetchAll(list.load)).toHaveLength(230);
    expect(list.asked).toEqual([undefined, '100', '200']);
  });
});
