/// <reference lib="dom" />
import { h, type ComponentChild } from 'preact';
import { useState } from 'preact/hooks';
import { controlValue } from '../dom-values.ts';

const DASHBOARD_HINT = 'Sign in with an API token: the admin token that npm start printed, or an operator or auditor token from the server configuration.';

/** `title` and `hint` name what is signed in to: a plane's dashboard unless told otherwise. */
export function SignIn(props: { onSignIn(token: string): void; error: string | null; busy: boolean; title?: string; hint?: string }): ComponentChild {
  const [value, setValue] = useState('');
  return h(
    'main',
    { class: 'sign-in', id: 'main' },
    h('h1', null, props.title ?? 'brewtel dashboard'),
    h('p', null, props.hint ?? DASHBOARD_HINT),
    h(
      'form',
      {
        onSubmit: (event: Event) => {
          event.preventDefault();
          if (value.trim()) props.onSignIn(value.trim());
        },
      },
      h('label', { for: 'token' }, 'API token'),
      h('input', {
        id: 'token',
        name: 'token',
        type: 'password',
        autoComplete: 'off',
        required: true,
        value,
        onInput: (e: Event) => setValue(controlValue(e)),
      }),
      h('button', { type: 'submit', disabled: props.busy }, props.busy ? 'Signing in…' : 'Sign in'),
    ),
    props.error ? h('p', { role: 'alert', class: 'error' }, `Sign-in failed: ${props.error}`) : null,
  );
}
