/// <reference lib="dom" />
import type { StreamMessage } from '../dashboard-api.ts';

/**
 * Splits server-sent-event text into complete messages and the unfinished rest. EventSource cannot
 * send an Authorization header, so the page reads the stream with fetch and parses it here.
 */
export function parseEvents(buffer: string): { messages: string[]; rest: string } {
  const blocks = buffer.replace(/\r\n/g, '\n').split('\n\n');
  const rest = blocks.pop() ?? '';
  const messages: string[] = [];
  for (const block of blocks) {
    const data = block
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trimStart());
    if (data.length > 0) messages.push(data.join('\n'));
  }
  return { messages, rest };
}

/** Reads until aborted or the server ends the stream; resolves then, rejects on HTTP errors. */
export async function readStream(url: string, headers: Record<string, string>, onMessage: (m: StreamMessage) => void, signal: AbortSignal): Promise<void> {
  const response = await fetch(url, { headers: { ...headers, accept: 'text/event-stream' }, signal });
  if (!response.ok || !response.body) throw new Error(`the live stream answered ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const parsed = parseEvents(buffer + value);
    buffer = parsed.rest;
    for (const message of parsed.messages) onMessage(JSON.parse(message) as StreamMessage);
  }
}
