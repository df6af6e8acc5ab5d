import { h, type ComponentChild } from 'preact';
import type { Finding, RefusalExplanation } from '../../../../schema/refusal-explanation.ts';

/** "body.ownerName: not allowed", one item per finding, the path set in code. */
export function Findings(props: { findings: readonly Finding[] }): ComponentChild {
  return h(
    'ul',
    { class: 'findings' },
    props.findings.map((f, i) => h('li', { key: i, 'data-finding': `${f.path}: ${f.problem}` }, h('code', null, f.path), `: ${f.problem}`)),
  );
}

/**
 * What a refused message tried to send, by field name only, with the fields the server objected to
 * marked (by a sign and words, not by colour alone), next to what was kept of it.
 */
export function SentAndKept(props: { explanation: RefusalExplanation; payloadKept: boolean; what: string }): ComponentChild {
  const { findings, fields } = props.explanation;
  const problems = new Map<string, string[]>();
  for (const f of findings) problems.set(f.path, [...(problems.get(f.path) ?? []), f.problem]);
  return h(
    'div',
    { class: 'side-by-side' },
    h(
      'section',
      { 'aria-labelledby': 'sent-title', 'data-sent': '' },
      h('h3', { id: 'sent-title' }, 'What it tried to send (field names only)'),
      h('p', { class: 'hint' }, props.what),
      fields === null
        ? h('p', { class: 'hint' }, 'The server did not read it as JSON, so it has no field names to show.')
        : h(
            'ul',
            { class: 'fields' },
            fields.map((name) => {
              const objections = problems.get(name);
              return h(
                'li',
                { key: name, class: objections ? 'objected' : undefined },
                h('code', null, name),
                objections ? ` ✗ ${objections.join(', ')}` : null,
              );
            }),
          ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'kept-title', 'data-kept': '' },
      h('h3', { id: 'kept-title' }, 'What was kept'),
      h('p', { class: 'kept-nothing' }, 'No event: nothing of it reached the event store.'),
      h(
        'p',
        null,
        props.payloadKept
          ? 'The quarantine of its home region holds the message as received, for operators (ingest.quarantinePayloads is on), with the reason, the time and this explanation.'
          : 'The quarantine of its home region holds only the facts: when, the reason, the kind and this explanation. Not the message.',
      ),
    ),
  );
}
