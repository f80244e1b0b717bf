import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import { resumeSession, session, signOut } from './api.ts';
import { BackupsPage } from './backups-page.tsx';
import { InstancesPage } from './instances-page.tsx';
import { SignIn } from './sign-in.tsx';
import { notice, type PageName, page } from './state.ts';
import { TasksPage } from './tasks-page.tsx';
import './console.css';

// The console's shell: sign-in until there is a session, then the three pages under one bar.

const TITLES: Record<PageName, string> = { instances: 'Instances', backups: 'Backup files', tasks: 'Tasks' };

const dismiss = () => {
  notice.value = null;
};

function Shell() {
  const s = session.value;
  if (!s) return null;
  const current = page.value;
  return (
    <>
      <header class="bar-top">
        <strong>cloudphone-backup</strong>
        <nav>
          {(Object.keys(TITLES) as PageName[]).map((name) => (
            <a key={name} href={`#/${name}`} class={name === current ? 'current' : ''} onClick={dismiss}>
              {TITLES[name]}
            </a>
          ))}
        </nav>
        <span class="who">
          account <b data-account>{s.Account}</b> · {s.AccessKeyId}
        </span>
        <button type="button" class="quiet" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      {notice.value && (
        <div class={`notice ${notice.value.kind}`} role={notice.value.kind === 'error' ? 'alert' : 'status'}>
          {notice.value.text}
          <button type="button" class="quiet" onClick={dismiss} aria-label="dismiss">
            ×
          </button>
        </div>
      )}
      <main>
        <h1>{TITLES[current]}</h1>
        {current === 'instances' && <InstancesPage />}
        {current === 'backups' && <BackupsPage />}
        {current === 'tasks' && <TasksPage />}
      </main>
    </>
  );
}

function App() {
  useEffect(() => {
    void resumeSession();
  }, []);
  if (session.value === undefined) return <p class="loading">Loading…</p>;
  return session.value === null ? <SignIn /> : <Shell />;
}

const root = document.getElementById('app');
if (root) render(<App />, root);
