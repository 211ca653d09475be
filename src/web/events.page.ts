/**
 * Ingest engagement events from a JSON lines file (`datasync events add ACCOUNT FILE.jsonl`): dashboard.js
 * sends the chosen file to `POST /events/:accountId` (uploads.routes.ts), which records it through the admin
 * API's `POST /api/v1/accounts/{id}/events` — same validation and status rules — and the page shows the
 * counts and the first rejected events.
 */
import { html } from './html.js';
import { accountFilter, chooseAccount, type DashboardApi } from './pages.js';

export async function eventsPage(api: DashboardApi, account: string | undefined) {
  const picker = await accountFilter(api, '/events', account);
  if (!account) return chooseAccount(picker);
  await api.get(`/api/v1/accounts/${encodeURIComponent(account)}`);
  const body = html`${picker}
    <form
      id="events-form"
      class="editor"
      method="post"
      action="/events/${encodeURIComponent(account)}"
      data-events
    >
      <p class="muted">
        One JSON object per line (or a JSON array), as <code>POST /api/v1/accounts/{id}/events</code> takes,
        e.g. <code>{"kind":"open","email":"anna@example.com","idNl":3}</code>. A line that is not valid is
        reported and the others are recorded; the same file added twice is recorded once.
      </p>
      <label for="events-file">Events file (.jsonl)</label>
      <input id="events-file" name="file" type="file" accept=".jsonl,.ndjson,.json,.txt" required />
      <p><button type="submit" class="primary">Ingest</button></p>
    </form>
    <div id="events-result" role="status" hidden></div>`;
  return { body };
}
