/**
 * Charts as server-rendered inline SVG: bar charts drawn from the admin API's aggregates, with no chart
 * library and nothing fetched at run time (the CSP allows no other origin anyway). Colours come from
 * dashboard.css classes (`.series-0`, `.series-1`), not inline styles, which the CSP forbids. Every chart has
 * its numbers in a table underneath, for screen readers and for anyone who wants the exact figures.
 */
import { formatTime, html, qs, type Raw } from './html.js';
import { accountFilter, chooseAccount, type DashboardApi } from './pages.js';

export interface Series {
  name: string;
  values: number[];
}

export interface BarChartOptions {
  id: string;
  title: string;
  /** One label per bar group (x axis). */
  labels: string[];
  series: Series[];
  /** `stacked`: series on top of each other (parts of one whole); `grouped`: side by side. */
  mode: 'stacked' | 'grouped';
  /** Show every n-th x label (long day ranges). Default: every label. */
  labelEvery?: number;
}

const W = 760;
const H = 240;
const PAD = { left: 48, right: 8, top: 12, bottom: 56 };

/** A round axis maximum at or above `v` (1, 2, 5 × 10^n). */
export function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const short = (s: string, n = 14) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const fmt = (n: number) => Math.round(n * 100) / 100;

export function barChart(o: BarChartOptions): Raw {
  const groups = o.labels.length;
  const totals = o.labels.map((_, i) =>
    o.mode === 'stacked'
      ? o.series.reduce((a, s) => a + (s.values[i] ?? 0), 0)
      : Math.max(0, ...o.series.map((s) => s.values[i] ?? 0)),
  );
  const max = niceMax(Math.max(0, ...totals));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = groups ? plotW / groups : plotW;
  const barW = Math.max(1, slot * 0.8);
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;
  const every = o.labelEvery ?? 1;

  const bars: Raw[] = [];
  o.labels.forEach((label, i) => {
    const x0 = PAD.left + i * slot + (slot - barW) / 2;
    let base = 0;
    o.series.forEach((s, k) => {
      const v = s.values[i] ?? 0;
      if (v <= 0) return;
      const w = o.mode === 'stacked' ? barW : barW / o.series.length;
      const x = o.mode === 'stacked' ? x0 : x0 + k * w;
      const top = o.mode === 'stacked' ? y(base + v) : y(v);
      const h = o.mode === 'stacked' ? y(base) - y(base + v) : y(0) - y(v);
      if (o.mode === 'stacked') base += v;
      bars.push(
        html`<rect class="bar series-${k}" x="${fmt(x)}" y="${fmt(top)}" width="${fmt(w)}" height="${fmt(h)}"
          ><title>${label} — ${s.name}: ${v}</title></rect
        >`,
      );
    });
  });
  const xLabels = o.labels.map((label, i) =>
    i % every === 0
      ? html`<text
          class="x-label"
          x="${fmt(PAD.left + i * slot + slot / 2)}"
          y="${H - PAD.bottom + 14}"
          text-anchor="end"
          transform="rotate(-40 ${fmt(PAD.left + i * slot + slot / 2)} ${H - PAD.bottom + 14})"
          >${short(label)}</text
        >`
      : '',
  );
  const grid = [0, 0.5, 1].map(
    (f) =>
      html`<line
          class="grid"
          x1="${PAD.left}"
          x2="${W - PAD.right}"
          y1="${fmt(y(max * f))}"
          y2="${fmt(y(max * f))}"
        /><text class="y-label" x="${PAD.left - 6}" y="${fmt(y(max * f) + 4)}" text-anchor="end"
          >${fmt(max * f)}</text
        >`,
  );
  const empty = totals.every((t) => t === 0);
  return html`<figure class="chart" id="${o.id}">
    <figcaption>${o.title}</figcaption>
    <svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${o.title}" xmlns="http://www.w3.org/2000/svg">
      ${grid}${bars}${xLabels}
      ${empty ? html`<text class="no-data" x="${W / 2}" y="${H / 2}" text-anchor="middle">no data yet</text>` : ''}
    </svg>
    <p class="legend">${o.series.map((s, k) => html`<span class="key series-${k}"></span> ${s.name} `)}</p>
    <details>
      <summary>Figures</summary>
      <table class="figures">
        <thead>
          <tr>
            <th></th>
            ${o.series.map((s) => html`<th class="num">${s.name}</th>`)}
          </tr>
        </thead>
        <tbody>
          ${o.labels.map(
            (l, i) =>
              html`<tr>
                <td>${l}</td>
                ${o.series.map((s) => html`<td class="num">${s.values[i] ?? 0}</td>`)}
              </tr>`,
          )}
        </tbody>
      </table>
    </details>
  </figure>`;
}

interface ImportDays {
  from: string;
  to: string;
  days: { day: string; jobs: number; imported: number; rejected: number }[];
}
interface MessageStats {
  items: {
    idNl: number;
    subject: string | null;
    opens: number;
    uniqueOpens: number;
    clicks: number;
    uniqueClicks: number;
  }[];
}
interface SmsStats {
  from: string;
  to: string;
  statuses: { status: string; reports: number }[];
}

/** Charts of one account: rows imported per day, opens and clicks per message, SMS delivery outcomes. */
export async function chartsPage(api: DashboardApi, account: string | undefined, days = 30) {
  const picker = await accountFilter(api, '/charts', account);
  if (!account) return chooseAccount(picker);
  const a = encodeURIComponent(account);
  const [imports, messages, sms] = await Promise.all([
    api.get<ImportDays>(`/api/v1/accounts/${a}/stats/imports?days=${days}`),
    api.get<MessageStats>(`/api/v1/accounts/${a}/stats/messages?limit=10`),
    api.get<SmsStats>(`/api/v1/accounts/${a}/stats/sms?days=${days}`),
  ]);
  const msgs = messages.items.slice().reverse();
  const body = html`${picker}
    <div class="charts">
      ${barChart({
        id: 'chart-imports',
        title: `Rows imported per day (last ${days} days, UTC)`,
        labels: imports.days.map((d) => d.day.slice(5)),
        series: [
          { name: 'imported', values: imports.days.map((d) => d.imported) },
          { name: 'rejected', values: imports.days.map((d) => d.rejected) },
        ],
        mode: 'stacked',
        labelEvery: days > 14 ? Math.ceil(days / 15) : 1,
      })}
      ${barChart({
        id: 'chart-messages',
        title: 'Opens and clicks per message (latest 10 email messages)',
        labels: msgs.map((m) => `#${m.idNl} ${m.subject ?? ''}`.trim()),
        series: [
          { name: 'unique opens', values: msgs.map((m) => m.uniqueOpens) },
          { name: 'unique clicks', values: msgs.map((m) => m.uniqueClicks) },
        ],
        mode: 'grouped',
      })}
      ${barChart({
        id: 'chart-sms',
        title: `SMS delivery reports by status (last ${days} days)`,
        labels: sms.statuses.map((s) => s.status),
        series: [{ name: 'reports', values: sms.statuses.map((s) => s.reports) }],
        mode: 'grouped',
      })}
    </div>
    <p class="muted">
      Window ${formatTime(imports.from)} – ${formatTime(imports.to)}.
      <a id="ingest-events" href="/events${qs({ account })}">Ingest engagement events</a> from a JSON lines
      file.
    </p>
    ${
      messages.items.length
        ? html`<h2>Latest email messages</h2>
            <table id="messages">
              <thead>
                <tr>
                  <th>idNl</th>
                  <th>Subject</th>
                  <th class="num">Opens</th>
                  <th class="num">Unique opens</th>
                  <th class="num">Clicks</th>
                  <th class="num">Unique clicks</th>
                </tr>
              </thead>
              <tbody>
                ${messages.items.map(
                  (m) =>
                    html`<tr>
                      <td><a href="/messages/email/${m.idNl}${qs({ account })}">${m.idNl}</a></td>
                      <td>${m.subject}</td>
                      <td class="num">${m.opens}</td>
                      <td class="num">${m.uniqueOpens}</td>
                      <td class="num">${m.clicks}</td>
                      <td class="num">${m.uniqueClicks}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
        : ''
    }`;
  return { body };
}

interface MessageSummary {
  channel: 'email' | 'sms';
  number: number;
  subject: string | null;
  events: Record<string, number>;
  recipients: Record<string, number>;
  uniqueOpens: number;
  uniqueClicks: number;
  links: { url: string; clicks: number; recipients: number }[];
  bounces: { hard: number; soft: number };
  unsubscribes: number;
  complaints: number;
  sms: { status: string; reports: number }[];
}

/** The events summary of one message (the API's `…/messages/{channel}/{n}/summary`). */
export async function messageSummaryPage(
  api: DashboardApi,
  account: string,
  channel: 'email' | 'sms',
  n: number,
) {
  const s = await api.get<MessageSummary>(
    `/api/v1/accounts/${encodeURIComponent(account)}/messages/${channel}/${n}/summary`,
  );
  const row = (label: string, v: number | string) =>
    html`<tr>
      <th>${label}</th>
      <td class="num">${v}</td>
    </tr>`;
  const body = html`<p><a href="/charts${qs({ account })}">← Charts</a></p>
    <table id="summary" class="kv">
      ${Object.entries(s.events)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => row(`${k} events`, `${v} (${s.recipients[k] ?? 0} recipients)`))}
      ${row('unique opens', s.uniqueOpens)}${row('unique clicks', s.uniqueClicks)}
      ${row('hard bounces', s.bounces.hard)}${row('soft bounces', s.bounces.soft)}
      ${row('unsubscribes', s.unsubscribes)}${row('complaints', s.complaints)}
    </table>
    ${
      s.links.length
        ? html`<h2>Clicks per link</h2>
            <table id="links">
              <thead>
                <tr>
                  <th>URL</th>
                  <th class="num">Clicks</th>
                  <th class="num">Recipients</th>
                </tr>
              </thead>
              <tbody>
                ${s.links.map(
                  (l) =>
                    html`<tr>
                      <td><code>${l.url}</code></td>
                      <td class="num">${l.clicks}</td>
                      <td class="num">${l.recipients}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
        : ''
    }
    ${
      s.sms.length
        ? barChart({
            id: 'chart-message-sms',
            title: 'Delivery reports by status',
            labels: s.sms.map((x) => x.status),
            series: [{ name: 'reports', values: s.sms.map((x) => x.reports) }],
            mode: 'grouped',
          })
        : ''
    }`;
  const title = `${channel === 'email' ? 'Email' : 'SMS'} message ${n}${s.subject ? ` — ${s.subject}` : ''}`;
  return { title, body };
}
