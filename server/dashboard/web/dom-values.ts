/// <reference lib="dom" />

/** The current value of the form control an event came from ('' for anything else). */
export function controlValue(event: Event): string {
  const target = event.currentTarget;
  return target instanceof HTMLInputElement || target instanceof HTMLSelectElement ? target.value : '';
}

export function checkedOf(event: Event): boolean {
  return event.currentTarget instanceof HTMLInputElement && event.currentTarget.checked;
}

/**
 * A text filter that applies on Enter as well as when the field loses focus (Enter alone fires no
 * change event in a form without a submit button); what is typed meanwhile is kept in `draft`, so
 * a re-render of the page does not put the field back to the applied value.
 */
export function commitOnEnter(
  draft: (value: string) => void,
  commit: (value: string) => void,
): { onInput(event: Event): void; onChange(event: Event): void; onKeyDown(event: KeyboardEvent): void } {
  return {
    onInput: (event) => draft(controlValue(event)),
    onChange: (event) => commit(controlValue(event)),
    onKeyDown: (event) => {
      if (event.key === 'Enter') commit(controlValue(event));
    },
  };
}
