/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { h, type ComponentChild } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { tourHref } from '../route.ts';
import type { Chapter, ChapterProps } from './chapters.ts';

const MARK = 'data-tour-highlight';

/**
 * Points at what the chapter is about: marks the matching elements of the page (the page keeps
 * re-rendering from its polls, so the marks are renewed) and scrolls the first into view once.
 */
export function useHighlight(selector: string | null): void {
  useEffect(() => {
    const clear = (): void => {
      for (const el of document.querySelectorAll(`[${MARK}]`)) el.removeAttribute(MARK);
    };
    if (selector === null) return clear;
    let scrolled = false;
    const mark = (): void => {
      const found = new Set(Array.from(document.querySelectorAll(`#main ${selector.split(',').join(', #main ')}`)));
      for (const el of document.querySelectorAll(`[${MARK}]`)) if (!found.has(el)) el.removeAttribute(MARK);
      for (const el of found) el.setAttribute(MARK, '');
      const [first] = found;
      if (!scrolled && first) {
        first.scrollIntoView({ block: 'start' });
        scrolled = true;
      }
    };
    mark();
    const timer = setInterval(mark, 400);
    return () => {
      clearInterval(timer);
      clear();
    };
  }, [selector]);
}

/**
 * The tour beside the page it is about: the chapter's text and actions, back and next, every chapter
 * to jump to (a teacher can start again anywhere), and a way out. Focus moves to the chapter's title
 * when the chapter changes, so keyboard and screen-reader users land on it.
 */
export function TourPanel(props: ChapterProps & { chapters: readonly Chapter[]; index: number; restart(): void }): ComponentChild {
  const { chapters, index } = props;
  const chapter = chapters[index]!;
  const title = useRef<HTMLHeadingElement>(null);
  useEffect(() => title.current?.focus(), [index]);
  useHighlight(chapter.highlight(props.state));
  const go = (to: number): void => {
    location.hash = tourHref(to + 1);
  };
  const admin = props.session.role === 'admin';
  return h(
    'aside',
    { class: 'tour', 'aria-labelledby': 'tour-title', 'data-chapter': index + 1 },
    h('p', { class: 'tour-step' }, `Guided tour · chapter ${index + 1} of ${chapters.length}`),
    h('h2', { id: 'tour-title', tabIndex: -1, ref: title }, chapter.title),
    admin ? null : h('p', { class: 'notice' }, 'The tour\u2019s actions are made with your token; sign in with the admin token to run all of them.'),
    h(chapter.Body, { api: props.api, session: props.session, state: props.state, update: props.update }),
    h(
      'p',
      { class: 'tour-nav' },
      h('button', { type: 'button', disabled: index === 0, onClick: () => go(index - 1) }, '← Back'),
      index + 1 < chapters.length
        ? h('button', { type: 'button', class: 'primary', onClick: () => go(index + 1) }, 'Next →')
        : h('a', { href: '#/', class: 'button primary' }, 'End the tour'),
    ),
    h(
      'nav',
      { 'aria-label': 'Tour chapters' },
      h(
        'ol',
        { class: 'chapters' },
        chapters.map((c, i) => h('li', { key: c.title }, h('a', { href: tourHref(i + 1), 'aria-current': i === index ? 'step' : undefined }, c.title))),
      ),
    ),
    h('p', { class: 'tour-nav' }, h('button', { type: 'button', onClick: props.restart }, 'Restart this chapter'), h('a', { href: '#/' }, 'Leave the tour')),
  );
}
