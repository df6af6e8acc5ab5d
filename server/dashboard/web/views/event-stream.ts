/// <reference lib="dom" />
import { h, type ComponentChild } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { SessionResponse, StreamMessage, StreamFilter } from '../../dashboard-api.ts';
import type { Api } from '../api.ts';
import { commitOnEnter, controlValue } from '../dom-values.ts';
import { deviceHref } from '../route.ts';
import { readStream } from '../sse.ts';

const KEEP = 100;
const RECONNECT_MS = 2_000;

type Item = Exclude<StreamMessage, { type: 'skipped' }> & { n: number };

function streamUrl(filter: StreamFilter): string {
  const query = new URLSearchParams(Object.entries(filter).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== ''));
  return `/api/v1/stream${query.size > 0 ? `?${query}` : ''}`;
}

function line(item: Item, bodies: boolean): ComponentChild {
  const time = new Date(item.type === 'stored' ? item.receivedAt : item.at).toLocaleTimeString();
  const device = item.deviceId ? h('a', { href: deviceHref(item.deviceId) }, item.deviceId) : 'unknown device';
  if (item.type === 'refused') {
    const why = item.findings
      ?.slice(0, 3)
      .map((f) => `${f.path}: ${f.problem}`)
      .join('; ');
    const more = (item.findings?.length ?? 0) > 3 ? ' …' : '';
    return h(
      'li',
      { key: item.n, class: 'refused' },
      h('time', null, time),
      ` ${item.region.toUpperCase()} · refused ${item.kind ?? 'message'} from `,
      device,
      ` · `,
      h('strong', null, item.reason),
      why ? h('span', { class: 'why' }, ` (${why}${more})`) : null,
    );
  }
  const body = item.body ? h('code', null, JSON.stringify(item.body)) : bodies ? null : h('span', { class: 'hint' }, 'body hidden for your role');
  return h(
    'li',
    { key: item.n, class: 'stored', 'data-kind': item.kind },
    h('time', { title: `device time ${item.ts}` }, time),
    ` ${item.region.toUpperCase()} · ${item.kind} from `,
    device,
    ' ',
    body,
  );
}

/** Committed events and refusals as they happen, filtered on the server by region, kind and device. */
export function EventStream(props: { api: Api; session: SessionResponse; device?: string }): ComponentChild {
  const [filter, setFilter] = useState<StreamFilter>(props.device ? { device: props.device } : {});
  const [items, setItems] = useState<Item[]>([]);
  const [paused, setPaused] = useState(false);
  const [status, setStatus] = useState('connecting');
  const [skipped, setSkipped] = useState(0);
  const [deviceDraft, setDeviceDraft] = useState(props.device ?? '');

  useEffect(() => {
    if (paused) {
      setStatus('paused');
      return;
    }
    const abort = new AbortController();
    let n = 0;
    const run = (): void => {
      setStatus('live');
      readStream(
        streamUrl(filter),
        props.api.headers,
        (message) => {
          if (message.type === 'skipped') {
            setSkipped((total) => total + message.count);
            return;
          }
          n += 1;
          const item = { ...message, n };
          setItems((old) => [item, ...old].slice(0, KEEP));
        },
        abort.signal,
      )
        .catch(() => undefined)
        .finally(() => {
          if (abort.signal.aborted) return;
          setStatus('reconnecting');
          setTimeout(run, RECONNECT_MS);
        });
    };
    run();
    return () => abort.abort();
  }, [props.api, filter, paused]);

  const set =
    (key: keyof StreamFilter) =>
    (event: Event): void =>
      setFilter((f) => ({ ...f, [key]: controlValue(event) || undefined }));
  return h(
    'section',
    { class: 'stream', 'aria-labelledby': 'stream-title' },
    h('h2', { id: 'stream-title' }, 'Live events'),
    h('p', { class: 'hint' }, 'Times are when the server committed them (real time); a refusal says why, never what was sent.'),
    h(
      'form',
      { class: 'filters', onSubmit: (e: Event) => e.preventDefault() },
      h(
        'label',
        null,
        'Region ',
        h(
          'select',
          { name: 'region', value: filter.region ?? '', onChange: set('region') },
          h('option', { value: '' }, 'all'),
          props.session.regions.map((r) => h('option', { key: r, value: r }, r)),
        ),
      ),
      h(
        'label',
        null,
        'Kind ',
        h(
          'select',
          { name: 'kind', value: filter.kind ?? '', onChange: set('kind') },
          h('option', { value: '' }, 'all'),
          props.session.kinds.map((k) => h('option', { key: k, value: k }, k)),
        ),
      ),
      h(
        'label',
        null,
        'Device ',
        h('input', {
          name: 'device',
          type: 'text',
          value: deviceDraft,
          placeholder: 'any',
          ...commitOnEnter(setDeviceDraft, (value) => setFilter((f) => ({ ...f, device: value.trim() || undefined }))),
        }),
      ),
      h('button', { type: 'button', 'aria-pressed': paused, onClick: () => setPaused((p) => !p) }, paused ? 'Resume' : 'Pause'),
      h('span', { class: 'status', role: 'status' }, `${status} · ${items.length} shown${skipped > 0 ? ` · ${skipped} not shown (over 50 a second)` : ''}`),
    ),
    h(
      'ol',
      { class: 'events', role: 'log', 'aria-label': 'Latest events, newest first' },
      items.map((item) => line(item, props.session.bodies)),
    ),
  );
}
