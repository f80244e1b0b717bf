import { useState } from 'preact/hooks';
import { ApiError, signIn } from './api.ts';

// The AccessKeyId and secret are checked once, here; what the browser keeps afterwards is an
// HttpOnly session cookie that script cannot read. The secret is not stored in the page.

export function SignIn() {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError('');
    try {
      await signIn(String(form.get('id') ?? '').trim(), String(form.get('secret') ?? ''));
    } catch (err) {
      setError(err instanceof ApiError ? `${err.code}: ${err.message}` : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>cloudphone-backup</h1>
      <form onSubmit={submit}>
        <label>
          AccessKeyId
          <input name="id" autocomplete="username" required />
        </label>
        <label>
          AccessKeySecret
          <input name="secret" type="password" autocomplete="current-password" required />
        </label>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
      <p class="hint">
        A key comes from <code>cloudphone-backup keys create</code>. The console shows only that key's account.
      </p>
    </main>
  );
}
