import { signal } from '@preact/signals';
import { ApiError } from './api.ts';

// What the pages share: the page shown (from the URL's #fragment, so reloads and the back
// button keep it) and the last action's outcome, shown above every page.

export type PageName = 'instances' | 'backups' | 'tasks';
const PAGES: PageName[] = ['instances', 'backups', 'tasks'];

const fromHash = (): PageName => {
  const name = location.hash.replace(/^#\/?/, '').split('?')[0] as PageName;
  return PAGES.includes(name) ? name : 'instances';
};

export const page = signal<PageName>(fromHash());
window.addEventListener('hashchange', () => {
  page.value = fromHash();
});
export const go = (name: PageName) => {
  location.hash = `#/${name}`;
};

export interface Notice {
  kind: 'ok' | 'error';
  text: string;
}
export const notice = signal<Notice | null>(null);

export const tell = (text: string) => {
  notice.value = { kind: 'ok', text };
};

/** an action's failure as the service gave it: its code and message */
export const complain = (err: unknown) => {
  notice.value = {
    kind: 'error',
    text: err instanceof ApiError ? `${err.code}: ${err.message}` : String((err as Error).message ?? err),
  };
};
