/// <reference lib="dom" />

/** The current value of the form control an event came from ('' for anything else). */
export function valueOf(event: Event): string {
  const target = event.currentTarget;
  return target instanceof HTMLInputElement || target instanceof HTMLSelectElement ? target.value : '';
}

export function checkedOf(event: Event): boolean {
  return event.currentTarget instanceof HTMLInputElement && event.currentTarget.checked;
}
