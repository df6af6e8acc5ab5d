/// <reference lib="dom" />
import { h, type ComponentChild } from 'preact';
import type { ConsentCategories, ConsentRecord, LocationPrecision } from '../../../../schema/consent.ts';
import { checkedOf, controlValue } from '../dom-values.ts';
import { PRECISION_TEXT } from '../format.ts';

const PRECISIONS: readonly LocationPrecision[] = ['none', 'coarse', 'exact'];
const SWITCHES: readonly { key: 'usage' | 'payment' | 'diagnostics'; label: string }[] = [
  { key: 'usage', label: 'Usage (brews)' },
  { key: 'payment', label: 'Payment analytics' },
  { key: 'diagnostics', label: 'Diagnostics (status, faults, consumables)' },
];

/**
 * Each change sends the whole new record at once; the server versions it and pushes it to the machine.
 * `shown` is what the user just chose while it is being saved, so the control does not jump back.
 */
export function ConsentForm(props: {
  record: ConsentRecord;
  shown: ConsentCategories;
  disabled: boolean;
  onChange(next: ConsentCategories): void;
}): ComponentChild {
  const current = props.shown;
  return h(
    'form',
    { class: 'consent', onSubmit: (e: Event) => e.preventDefault() },
    h(
      'fieldset',
      { disabled: props.disabled },
      h('legend', null, `Consent, version ${props.record.version}`),
      SWITCHES.map((s) =>
        h(
          'div',
          { key: s.key, class: 'switch' },
          h('input', {
            id: `consent-${s.key}`,
            type: 'checkbox',
            checked: current[s.key],
            onChange: (e: Event) => props.onChange({ ...current, [s.key]: checkedOf(e) }),
          }),
          h('label', { for: `consent-${s.key}` }, s.label),
        ),
      ),
      h(
        'fieldset',
        { class: 'precision' },
        h('legend', null, 'Location'),
        PRECISIONS.map((p) =>
          h(
            'div',
            { key: p, class: 'switch' },
            h('input', {
              id: `consent-location-${p}`,
              type: 'radio',
              name: 'location',
              value: p,
              checked: current.location === p,
              onChange: (e: Event) => {
                const value = PRECISIONS.find((x) => x === controlValue(e));
                if (value) props.onChange({ ...current, location: value });
              },
            }),
            h('label', { for: `consent-location-${p}` }, p === 'coarse' ? PRECISION_TEXT.coarse : p),
          ),
        ),
      ),
    ),
  );
}
