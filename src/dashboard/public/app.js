/* global document, window, sessionStorage, localStorage, fetch, location, uPlot, Node, ResizeObserver, URLSearchParams, setTimeout, clearTimeout */
/*
 * Prompt Optimizer dashboard: plain JavaScript, no build step, no framework.
 * Every request carries the admin token from sessionStorage; nothing is fetched before sign-in.
 * All URLs are relative (the page lives at <worker>/dashboard/), so a path prefix works.
 */
'use strict';

(() => {
  const TOKEN_KEY = 'pow.dashboard.token';
  const ACTOR_KEY = 'pow.dashboard.actor';
  const COLORS = ['#2563eb', '#d97706', '#059669', '#db2777', '#7c3aed', '#0891b2', '#65a30d'];
  const $ = (id) => document.getElementById(id);

  const state = { token: sessionStorage.getItem(TOKEN_KEY), meta: null, seq: 0, timer: null, cleanups: [], loginEl: null };

  // --- DOM -------------------------------------------------------------------------------------

  /** h('a', { href, class }, children...): text is always inserted as text, never as HTML. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }

  const external = (href, label) => h('a', { href, target: '_blank', rel: 'noopener noreferrer', class: 'external' }, label, ' ↗');

  function card(title, ...children) {
    return h('section', { class: 'card' }, title ? h('h2', null, title) : null, ...children);
  }

  function pageHead({ crumbs = [], title, pills = [], meta = [], actions = [] }) {
    return h(
      'div',
      { class: 'page-head' },
      crumbs.length
        ? h(
            'div',
            { class: 'crumbs' },
            crumbs.map((c) => [h('a', { href: c.href }, c.label), h('span', null, ' / ')]),
          )
        : null,
      h(
        'div',
        { class: 'title-row' },
        h('h1', null, title, ...pills.map((p) => [' ', p])),
        actions.length ? h('div', { class: 'actions' }, actions) : null,
      ),
      meta.length
        ? h(
            'div',
            { class: 'meta' },
            meta.filter(Boolean).map((m) => h('span', null, m)),
          )
        : null,
    );
  }

  function table(columns, rows, opts = {}) {
    return h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: opts.class || '' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            columns.map((c) => h('th', { class: c.num ? 'num' : null }, c.label)),
          ),
        ),
        h(
          'tbody',
          null,
          rows.length === 0
            ? h('tr', null, h('td', { class: 'empty', colspan: columns.length }, opts.empty || 'Nothing here yet.'))
            : rows.map((r) => {
                const tr = h(
                  'tr',
                  opts.rowAttrs ? opts.rowAttrs(r) : null,
                  columns.map((c) => h('td', { class: [c.num ? 'num' : '', c.cls || ''].join(' ').trim() || null }, c.cell(r))),
                );
                if (opts.href) {
                  tr.classList.add('link-row');
                  tr.addEventListener('click', (ev) => {
                    if (ev.target.closest('a, button')) return;
                    location.hash = opts.href(r);
                  });
                }
                return tr;
              }),
        ),
      ),
    );
  }

  // --- Formatting ------------------------------------------------------------------------------

  const MINUS = '\u2212';
  const pad = (n) => String(n).padStart(2, '0');
  const fmt = {
    /** p-values: "<0.001", else 3 significant digits below 0.1 and 2 above (as the decision reasons). */
    p(p) {
      if (typeof p !== 'number' || !Number.isFinite(p)) return '—';
      if (p < 0.001) return '<0.001';
      return String(Number(p.toPrecision(p < 0.1 ? 3 : 2)));
    },
    /** A signed number in the metric's unit without the unit: success in percentage points (1 dp), rating in stars (2 dp). */
    signed(d, metric) {
      if (typeof d !== 'number' || !Number.isFinite(d)) return '—';
      const s = metric === 'rating' ? d.toFixed(2) : (d * 100).toFixed(1);
      const v = Number(s);
      return v > 0 ? `+${s}` : v < 0 ? `${MINUS}${s.slice(1)}` : s.replace('-', '');
    },
    unit: (metric) => (metric === 'rating' ? '' : ' pp'),
    effect: (d, metric) => (typeof d === 'number' && Number.isFinite(d) ? `${fmt.signed(d, metric)}${fmt.unit(metric)}` : '—'),
    interval: (ci, metric) => (Array.isArray(ci) ? `${fmt.signed(ci[0], metric)} to ${fmt.signed(ci[1], metric)}${fmt.unit(metric)}` : '—'),
    pct: (x, digits = 1) => (typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : '—'),
    loss: (x, metric) =>
      typeof x === 'number' && Number.isFinite(x) ? (metric === 'rating' ? x.toFixed(3) : `${(x * 100).toFixed(2)} pp`) : '—',
    count: (n) =>
      typeof n === 'number' && Number.isFinite(n)
        ? Math.round(n)
            .toString()
            .replace(/\B(?=(\d{3})+(?!\d))/g, ',')
        : '—',
    num(x) {
      if (typeof x !== 'number' || !Number.isFinite(x)) return String(x);
      return Number.isInteger(x) ? fmt.count(x) : String(Number(x.toPrecision(3)));
    },
    /** In UTC, and said so: the same clock as the worker's logs and Temporal's histories, whoever reads it. */
    time(iso) {
      if (!iso) return '—';
      const d = new Date(iso);
      return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
    },
    ago(iso) {
      if (!iso) return '';
      const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
      if (s < 60) return `${Math.max(0, s)} s ago`;
      if (s < 3600) return `${Math.round(s / 60)} min ago`;
      if (s < 86400) return `${Math.round(s / 3600)} h ago`;
      return `${Math.round(s / 86400)} d ago`;
    },
    duration(ms) {
      if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
      const s = Math.round(ms / 1000);
      if (s < 60) return `${s} s`;
      if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
      if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
      return `${Math.floor(s / 86400)} d ${Math.round((s % 86400) / 3600)} h`;
    },
    words: (s) => (s ? String(s).replace(/_/g, ' ') : '—'),
  };

  const when = (iso) => (iso ? h('time', { datetime: iso, title: `${iso} (${fmt.ago(iso)})` }, fmt.time(iso)) : '—');
  const armName = (arm) => (arm === 0 ? 'Control' : `Variant ${arm}`);

  const TONES = {
    ok: ['promoted', 'completed', 'active', 'promote', 'approval', 'auto', 'accepted', 'started', 'resumed'],
    warn: ['awaiting_approval', 'paused', 'pending', 'medium', 'candidate', 'rollback', 'concluding', 'held'],
    info: ['running', 'monitoring', 'continue', 'manual', 'ramping', 'watching', 'advanced'],
    bad: ['failed', 'stopped', 'guardrail_stop', 'stop_guardrail', 'rejected', 'high', 'rolled_back'],
  };
  function pill(value, label) {
    const tone = Object.keys(TONES).find((t) => TONES[t].includes(value)) || 'neutral';
    return h('span', { class: `pill ${tone}`, dataset: { value: value || '' } }, label || fmt.words(value));
  }

  // --- API -------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(path, opts = {}) {
    const headers = { authorization: `Bearer ${state.token}`, accept: 'application/json' };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, {
        method: opts.method || 'GET',
        headers,
        cache: 'no-store',
        credentials: 'omit',
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      });
    } catch {
      throw new ApiError(0, 'the worker is unreachable');
    }
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (res.status === 401) {
      signOut('The admin token was not accepted.');
      throw new ApiError(401, 'unauthorized');
    }
    if (!res.ok) throw new ApiError(res.status, (data && data.error) || `HTTP ${res.status}`);
    return data;
  }

  const v1 = (path) => `../v1${path}`;
  const enc = encodeURIComponent;

  // --- Session ---------------------------------------------------------------------------------

  function showLogin(message) {
    stopTimers();
    $('nav').hidden = true;
    $('session').hidden = true;
    clearFlash();
    const main = $('main');
    main.replaceChildren(state.loginEl);
    const err = $('login-error');
    err.hidden = !message;
    err.textContent = message || '';
    $('token').value = '';
    $('token').focus();
  }

  function signOut(message) {
    state.token = null;
    state.meta = null;
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin(message);
  }

  async function signIn(token) {
    state.token = token;
    try {
      state.meta = await api('api/meta');
    } catch (err) {
      if (err.status !== 401) {
        state.token = null;
        showLogin(err.message);
      }
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    $('nav').hidden = false;
    $('session').hidden = false;
    $('ns').textContent = `namespace ${state.meta.namespace}`;
    if (!location.hash || location.hash === '#' || location.hash === '#/') location.hash = '#/experiments';
    else render();
  }

  // --- Flash messages and the confirm dialog ----------------------------------------------------

  function flash(kind, message, link) {
    const el = $('flash');
    el.className = `flash ${kind}`;
    el.replaceChildren(
      h(
        'span',
        { class: 'flash-text' },
        message,
        link ? [' ', link.internal ? h('a', { href: link.href }, link.label) : external(link.href, link.label)] : null,
      ),
      h('button', { type: 'button', class: 'close', 'aria-label': 'Dismiss', onclick: clearFlash }, '×'),
    );
    el.hidden = false;
  }

  function clearFlash() {
    const el = $('flash');
    el.hidden = true;
    el.replaceChildren();
  }

  /** Asks before acting. Resolves with the field values, or null when cancelled. */
  function confirmDialog({ title, message, fields = [], confirmLabel = 'Confirm', danger = false }) {
    return new Promise((resolve) => {
      const dlg = $('dialog');
      $('dialog-title').textContent = title;
      const inputs = {};
      const body = []
        .concat(message || [])
        .filter(Boolean)
        .map((m) => (typeof m === 'string' ? h('p', null, m) : m));
      for (const f of fields) {
        const id = `f-${f.name}`;
        let input;
        if (f.type === 'textarea')
          input = h('textarea', {
            id,
            name: f.name,
            rows: 3,
            maxlength: f.maxlength || 2000,
            required: f.required,
            placeholder: f.placeholder,
          });
        else if (f.type === 'select')
          input = h(
            'select',
            { id, name: f.name, required: f.required },
            f.options.map((o) => h('option', { value: o.value }, o.label)),
          );
        else
          input = h('input', {
            id,
            name: f.name,
            type: f.type || 'text',
            required: f.required,
            placeholder: f.placeholder,
            min: f.min,
            max: f.max,
            maxlength: f.maxlength || 200,
            autocomplete: 'off',
          });
        if (f.type === 'checkbox') input.checked = Boolean(f.value);
        else if (f.value !== undefined && f.value !== null) input.value = String(f.value);
        inputs[f.name] = input;
        body.push(
          f.type === 'checkbox'
            ? h('label', { class: 'field check', for: id }, input, h('span', null, f.label))
            : h('label', { class: 'field', for: id }, h('span', null, f.label, f.required ? null : h('small', null, ' (optional)')), input),
        );
      }
      $('dialog-body').replaceChildren(...body);
      const ok = $('dialog-ok');
      ok.textContent = confirmLabel;
      ok.className = danger ? 'danger' : 'primary';
      const onClose = () => {
        dlg.removeEventListener('close', onClose);
        if (dlg.returnValue !== 'ok') return resolve(null);
        const values = {};
        for (const [k, el] of Object.entries(inputs)) values[k] = el.type === 'checkbox' ? el.checked : el.value.trim();
        resolve(values);
      };
      dlg.returnValue = '';
      dlg.addEventListener('close', onClose);
      dlg.showModal();
      const first = Object.values(inputs).find((el) => !el.value) || ok;
      first.focus();
    });
  }

  const rememberedActor = () => localStorage.getItem(ACTOR_KEY) || '';
  const rememberActor = (name) => name && localStorage.setItem(ACTOR_KEY, name);

  /** Confirm, run, report, reload the view. */
  async function action(button, dialog, run, describe) {
    const values = await confirmDialog(dialog);
    if (!values) return;
    if (values.actor) rememberActor(values.actor);
    button.disabled = true;
    button.classList.add('busy');
    try {
      const result = await run(values);
      const d = describe(result, values);
      // A string or { text, link } (not d.link on a string: String.prototype.link exists).
      if (typeof d === 'string') flash('ok', d);
      else flash('ok', d.text, d.link);
    } catch (err) {
      if (err.status !== 401) flash('error', `${dialog.title} failed: ${err.message}`);
    } finally {
      button.disabled = false;
      button.classList.remove('busy');
    }
    await render({ soft: true });
  }

  const actorField = (label = 'Your name') => ({
    name: 'actor',
    label,
    required: true,
    value: rememberedActor(),
    placeholder: 'who is doing this (kept in the audit log)',
  });

  // --- Router ----------------------------------------------------------------------------------

  function stopTimers() {
    clearTimeout(state.timer);
    state.timer = null;
    for (const fn of state.cleanups.splice(0)) fn();
  }

  /** decodeURIComponent that never throws: a malformed escape (`#/prompts/%E0%A4%A`) stays as typed and finds nothing. */
  function safeDecode(segment) {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment;
    }
  }

  function parseHash() {
    const raw = location.hash.replace(/^#\/?/, '');
    const [path, query] = raw.split('?');
    return { parts: path.split('/').filter(Boolean).map(safeDecode), query: new URLSearchParams(query || '') };
  }

  async function render(opts = {}) {
    if (!state.token) return showLogin();
    const { parts, query } = parseHash();
    const page = parts[0] || 'experiments';
    for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.dataset.nav === page);
    const seq = ++state.seq;
    clearTimeout(state.timer);
    const main = $('main');
    if (!opts.soft) {
      main.setAttribute('aria-busy', 'true');
      main.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
    }
    let view;
    try {
      if (page === 'experiments' && parts[1]) view = await experimentView(parts[1]);
      else if (page === 'experiments') view = await experimentsView();
      else if (page === 'rollouts' && parts[1]) view = await rolloutView(parts[1]);
      else if (page === 'rollouts') view = await rolloutsView();
      else if (page === 'prompts' && parts[1]) view = await promptView(parts[1], query);
      else if (page === 'prompts') view = await promptsView();
      else if (page === 'reviews') view = await reviewsView();
      else if (page === 'insights') view = await insightsView(query);
      else if (page === 'jobs') view = await jobsView();
      else view = { el: card('Not found', h('p', null, 'No such page. '), h('a', { href: '#/experiments' }, 'Go to experiments')) };
    } catch (err) {
      if (err.status === 401 || seq !== state.seq) return;
      view = {
        el: card(
          'Could not load this page',
          h('p', { class: 'error' }, err.message),
          h('button', { type: 'button', onclick: () => render() }, 'Try again'),
        ),
      };
    }
    if (seq !== state.seq) return;
    // A background refresh that found nothing new keeps the page as it is (chart zoom, open details).
    const unchanged = opts.soft && view.signature !== undefined && view.signature === state.signature;
    state.signature = view.signature;
    if (!unchanged) {
      const scroll = window.scrollY;
      for (const fn of state.cleanups.splice(0)) fn();
      main.replaceChildren(view.el);
      main.removeAttribute('aria-busy');
      if (view.after) view.after();
      if (opts.soft) window.scrollTo(0, scroll);
    }
    if (view.refreshMs) {
      state.timer = setTimeout(function tick() {
        if ($('dialog').open || document.hidden) state.timer = setTimeout(tick, 2000);
        else render({ soft: true });
      }, view.refreshMs);
    }
  }

  // --- Experiments -----------------------------------------------------------------------------

  function armChips(e) {
    return h(
      'span',
      { class: 'chips' },
      [...e.arms]
        .sort((a, b) => a.arm - b.arm)
        .map((a) =>
          h(
            'span',
            { class: `chip${a.arm === 0 ? ' control' : ''}`, title: `${armName(a.arm)} · weight ${fmt.pct(a.weight, 0)}` },
            `v${a.version}`,
          ),
        ),
    );
  }

  const versionNo = (e, versionId) => {
    const a = e.arms.find((x) => x.version_id === versionId);
    return a ? `v${a.version}` : '—';
  };

  function liveState(e) {
    if (e.status === 'concluded') return pill(e.outcome || 'concluded');
    const phase = e.live ? e.live.phase : e.status;
    return pill(phase, phase === 'awaiting_approval' ? 'awaiting approval' : null);
  }

  async function experimentsView() {
    const { experiments } = await api('api/experiments');
    const running = experiments.filter((e) => e.status !== 'concluded');
    const finished = experiments.filter((e) => e.status === 'concluded');
    const link = (e) => h('a', { href: `#/experiments/${enc(e.id)}`, class: 'strong' }, e.prompt_key);
    const rowAttrs = (e) => ({ dataset: { id: e.id } });
    const href = (e) => `#/experiments/${enc(e.id)}`;
    return {
      refreshMs: 15000,
      signature: JSON.stringify(experiments),
      el: h(
        'div',
        null,
        pageHead({ title: 'Experiments', meta: [`${running.length} running`, `${finished.length} finished`] }),
        card(
          'Running',
          table(
            [
              { label: 'Prompt key', cell: link },
              { label: 'State', cell: liveState },
              { label: 'Arms', cell: armChips },
              { label: 'Checks', num: true, cell: (e) => (e.latest ? fmt.count(e.latest.checkNo) : '0') },
              { label: 'Conversations', num: true, cell: (e) => (e.latest ? fmt.count(e.latest.conversations) : '0') },
              { label: 'Latest decision', cls: 'reason', cell: (e) => (e.latest ? e.latest.reason : 'no check yet') },
              { label: 'Created', cell: (e) => when(e.created_at) },
            ],
            running,
            { rowAttrs, href, empty: 'No experiment is running.', class: 'experiments running' },
          ),
        ),
        card(
          'Finished',
          table(
            [
              { label: 'Prompt key', cell: link },
              { label: 'Outcome', cell: liveState },
              { label: 'Winner', cell: (e) => (e.winner_version_id ? versionNo(e, e.winner_version_id) : '—') },
              { label: 'Arms', cell: armChips },
              { label: 'Conversations', num: true, cell: (e) => (e.latest ? fmt.count(e.latest.conversations) : '0') },
              { label: 'Created', cell: (e) => when(e.created_at) },
              { label: 'Concluded', cell: (e) => when(e.concluded_at) },
              {
                label: 'Ran for',
                num: true,
                cell: (e) => (e.concluded_at ? fmt.duration(Date.parse(e.concluded_at) - Date.parse(e.created_at)) : '—'),
              },
            ],
            finished,
            { rowAttrs, href, empty: 'No experiment has finished yet.', class: 'experiments finished' },
          ),
        ),
      ),
    };
  }

  /** Who promoted (an approver, or the optimizer on its own), when, and the approver's note. */
  function promotionLine(p) {
    const who =
      p.kind === 'approval'
        ? ['Approved by ', h('strong', { class: 'approver' }, p.actor)]
        : [`Promoted ${p.kind === 'auto' ? 'automatically' : `(${p.kind})`} by `, h('strong', null, p.actor)];
    return h(
      'p',
      { class: 'promotion', id: 'promotion' },
      ...who,
      ' at ',
      when(p.created_at),
      p.kind === 'approval' && p.reason ? [': ', h('q', { class: 'approval-note' }, p.reason)] : null,
    );
  }

  async function experimentView(id) {
    const { experiment: e, live, snapshots, workflowUrl } = await api(v1(`/experiments/${enc(id)}`));
    // The audit row of its promotion (approver and note), kept with the prompt's history.
    const promotion =
      e.outcome === 'promoted'
        ? ((await api(v1(`/prompts/${enc(e.prompt_key)}`))).promotions || []).find(
            (p) => p.experiment_id === e.id && p.kind !== 'rollback',
          ) || null
        : null;
    const metric = e.metric;
    const policy = e.policy || {};
    const alpha = typeof policy.alpha === 'number' ? policy.alpha : 0.05;
    const latest = snapshots.length ? snapshots[snapshots.length - 1] : null;
    const decision = latest ? latest.decision : null;
    const arms = [...e.arms].sort((a, b) => a.arm - b.arm);
    const versionOfArm = new Map(arms.map((a) => [a.arm, a.version]));
    const variantArms = arms.filter((a) => a.arm > 0).map((a) => a.arm);
    const awaiting = Boolean(live && live.phase === 'awaiting_approval' && live.pendingWinner);
    // The decision that named the pending winner (later checks keep running while it waits).
    const basisReason = live && live.lastDecision ? live.lastDecision.reason : decision ? decision.reason : '';
    const concluded = e.status === 'concluded';

    const actions = [];
    if (!concluded) {
      // Only where the policy asks for a human: elsewhere the monitor promotes on its own.
      const approve = !policy.requireApproval
        ? null
        : h(
            'button',
            {
              type: 'button',
              id: 'approve',
              class: 'primary',
              disabled: !awaiting,
              title: awaiting ? 'Promote the pending winner' : 'Nothing awaits approval yet',
            },
            'Approve promotion',
          );
      if (approve)
        approve.addEventListener('click', () =>
          action(
            approve,
            {
              title: 'Approve promotion',
              message: [
                h(
                  'p',
                  null,
                  'Promote ',
                  h('strong', null, `${armName(live.pendingWinner.arm)} (v${versionOfArm.get(live.pendingWinner.arm)})`),
                  ' to be the active prompt of ',
                  h('strong', null, e.prompt_key),
                  '. The experiment ends.',
                ),
                basisReason ? h('p', { class: 'muted' }, basisReason) : null,
              ],
              fields: [
                { ...actorField('Approver'), name: 'approver' },
                { name: 'note', label: 'Note', type: 'textarea', placeholder: 'why (kept in the audit log)' },
              ],
              confirmLabel: 'Approve and promote',
            },
            (v) => {
              rememberActor(v.approver);
              return api(v1(`/experiments/${enc(e.id)}/approve`), {
                method: 'POST',
                body: { approver: v.approver, versionId: live.pendingWinner.versionId, ...(v.note ? { note: v.note } : {}) },
              });
            },
            (r) =>
              `Approved: v${versionOfArm.get(live.pendingWinner.arm)} is now the active prompt of ${e.prompt_key} (promotion by ${r.promotion.actor}).`,
          ),
        );
      const stop = h('button', { type: 'button', id: 'stop', class: 'danger' }, 'Stop experiment');
      stop.addEventListener('click', () =>
        action(
          stop,
          {
            title: 'Stop experiment',
            message: `Stop the experiment on ${e.prompt_key}? Control stays active and the variants are rejected.`,
            fields: [actorField(), { name: 'reason', label: 'Reason', type: 'textarea' }],
            confirmLabel: 'Stop experiment',
            danger: true,
          },
          (v) =>
            api(v1(`/experiments/${enc(e.id)}/stop`), {
              method: 'POST',
              body: { actor: v.actor, ...(v.reason ? { reason: v.reason } : {}) },
            }),
          () => 'Stop requested: the monitor concludes the experiment at once.',
        ),
      );
      const restart = h('button', { type: 'button', id: 'restart' }, 'Restart as new experiment');
      restart.addEventListener('click', () =>
        action(
          restart,
          {
            title: 'Restart as a new experiment',
            message: `Conclude this experiment and start a new one on ${e.prompt_key} with the same variants and policy? The evidence so far is not carried over and every subject is assigned afresh: do this after a sample ratio mismatch, once the assignment is fixed.`,
            fields: [actorField(), { name: 'reason', label: 'Reason', type: 'textarea' }],
            confirmLabel: 'Restart',
          },
          (v) =>
            api(v1(`/experiments/${enc(e.id)}/restart`), {
              method: 'POST',
              body: { actor: v.actor, ...(v.reason ? { reason: v.reason } : {}) },
            }),
          (r) => ({
            text: `Restarted as experiment ${r.experiment.id}.`,
            link: { href: `#/experiments/${enc(r.experiment.id)}`, label: 'Open the new experiment', internal: true },
          }),
        ),
      );
      actions.push(...(approve ? [approve] : []), restart, stop);
    }

    const phase = concluded ? e.outcome : live ? live.phase : e.status;
    const statusPill = concluded ? pill(e.outcome || 'concluded') : pill(phase, phase === 'awaiting_approval' ? 'awaiting approval' : null);

    // What is happening, in one box.
    let callout;
    const finalReason = e.decision && e.decision.reason;
    if (awaiting) {
      const pw = live.pendingWinner;
      const now = decision && decision.winner;
      callout = h(
        'div',
        { class: 'callout warn', id: 'decision' },
        h('strong', null, `${armName(pw.arm)} (v${versionOfArm.get(pw.arm)}) is ready to be promoted and awaits approval.`),
        h('p', { class: 'reason' }, basisReason),
        now && now.arm !== pw.arm
          ? h(
              'p',
              { class: 'note' },
              `Since then the latest check (#${latest.check_no}) favours ${armName(now.arm)} (v${versionOfArm.get(now.arm)}): ${decision.reason} Approving promotes ${armName(pw.arm)}; stop the experiment to start over instead.`,
            )
          : null,
      );
    } else if (concluded) {
      callout = h(
        'div',
        { class: `callout ${e.outcome === 'promoted' ? 'ok' : 'neutral'}`, id: 'decision' },
        h(
          'strong',
          null,
          e.outcome === 'promoted' ? `Promoted ${versionNo(e, e.winner_version_id)}.` : `Concluded: ${fmt.words(e.outcome)}.`,
        ),
        h('p', { class: 'reason' }, finalReason || (decision ? decision.reason : '')),
        promotion ? promotionLine(promotion) : null,
      );
    } else {
      callout = h(
        'div',
        { class: 'callout info', id: 'decision' },
        h('strong', null, decision ? `Current decision: ${fmt.words(decision.action)}.` : 'Waiting for the first check.'),
        h(
          'p',
          { class: 'reason' },
          decision ? decision.reason : `The monitor checks every ${fmt.duration((policy.checkIntervalSeconds || 900) * 1000)}.`,
        ),
      );
    }

    const facts = decision
      ? h(
          'div',
          { class: 'facts' },
          fact('Sample ratio', srmPill(decision.srm), srmDetail(decision.srm)),
          fact('Minimum duration', ...durationFact(policy, e, latest)),
          fact(
            'Minimum sample',
            decision.gatesMet ? pill('completed', 'met') : pill('pending', 'not yet'),
            `${fmt.count(policy.minSamplesPerArm)} conversations, ${fmt.count(policy.minSuccessesPerArm)} successes per arm`,
          ),
          fact('Latest check', latest ? `#${latest.check_no}` : '—', latest ? fmt.time(latest.created_at) : null),
          fact('Engine', decision.engine || '—', `α = ${alpha}`),
        )
      : null;

    const level = `${Math.round((1 - alpha) * 1000) / 10}%`;
    // With no conversation in control or the variant, the engine's numbers are only its priors: show none.
    const latestN = (arm) => {
      const a = latest && Array.isArray(latest.arms) ? latest.arms.find((x) => x.arm === arm) : undefined;
      return a ? a.n : 0;
    };
    const variants = decision
      ? [...decision.variants]
          .sort((a, b) => a.arm - b.arm)
          .map((v) =>
            latestN(0) > 0 && latestN(v.arm) > 0
              ? v
              : { ...v, estimate: null, ci: null, pValue: null, adjustedPValue: null, probBeatControl: null, expectedLoss: null },
          )
      : [];
    const variantTable = table(
      [
        {
          label: 'Variant',
          cell: (v) =>
            h(
              'span',
              { class: 'swatch-label' },
              h('span', { class: 'swatch', style: null, dataset: { color: String(variantArms.indexOf(v.arm) % COLORS.length) } }),
              armName(v.arm),
            ),
        },
        { label: 'Version', cell: (v) => `v${versionOfArm.get(v.arm)}` },
        { label: 'Lift vs control', num: true, cls: 'estimate', cell: (v) => fmt.effect(v.estimate, metric) },
        { label: `${level} conf. sequence`, num: true, cls: 'ci', cell: (v) => fmt.interval(v.ci, metric) },
        { label: 'p-value', num: true, cls: 'p', cell: (v) => fmt.p(v.pValue) },
        { label: 'Holm p', num: true, cls: 'padj', cell: (v) => fmt.p(v.adjustedPValue) },
        { label: 'P(beats control)', num: true, cls: 'pbeat', cell: (v) => fmt.pct(v.probBeatControl) },
        { label: 'Expected loss', num: true, cls: 'loss', cell: (v) => fmt.loss(v.expectedLoss, metric) },
        { label: 'Guardrails', cls: 'guardrails', cell: (v) => guardrailCell(v) },
        { label: 'Recent window', cls: 'recent', cell: (v) => recentCell(v, metric) },
      ],
      variants,
      { rowAttrs: (v) => ({ dataset: { arm: String(v.arm) } }), empty: 'No check yet.', class: 'variants' },
    );

    const snapArms = latest && Array.isArray(latest.arms) ? [...latest.arms].sort((a, b) => a.arm - b.arm) : [];
    const armsTable = table(
      [
        { label: 'Arm', cell: (a) => armName(a.arm) },
        { label: 'Version', cell: (a) => `v${versionOfArm.get(a.arm)}` },
        { label: 'Traffic', num: true, cell: (a) => fmt.pct(a.weight, 0) },
        { label: 'Conversations', num: true, cls: 'n', cell: (a) => fmt.count(a.n) },
        { label: 'Successes', num: true, cls: 'successes', cell: (a) => fmt.count(a.successes) },
        { label: 'Success rate', num: true, cls: 'rate', cell: (a) => (a.n ? fmt.pct(a.successes / a.n) : '—') },
        metric === 'rating'
          ? { label: 'Mean rating', num: true, cell: (a) => (a.ratingN ? (a.ratingSum / a.ratingN).toFixed(2) : '—') }
          : null,
        { label: 'Error rate', num: true, cell: (a) => (a.n ? fmt.pct(a.errors / a.n) : '—') },
        {
          label: 'p95 latency',
          num: true,
          cell: (a) => (a.latencyP95 === null || a.latencyP95 === undefined ? '—' : `${fmt.count(a.latencyP95)} ms`),
        },
        {
          label: 'Mean tokens',
          num: true,
          cell: (a) => (a.tokensMean === null || a.tokensMean === undefined ? '—' : fmt.count(a.tokensMean)),
        },
      ].filter(Boolean),
      snapArms,
      { rowAttrs: (a) => ({ dataset: { arm: String(a.arm) } }), empty: 'No check yet.', class: 'arms' },
    );

    const chartBox = h('div', { class: 'chart', id: 'lift-chart' });
    const policyList = h(
      'dl',
      { class: 'kv' },
      Object.entries(policy).map(([k, v]) => [h('dt', null, k), h('dd', null, typeof v === 'object' ? JSON.stringify(v) : String(v))]),
    );

    const el = h(
      'div',
      null,
      pageHead({
        crumbs: [{ href: '#/experiments', label: 'Experiments' }],
        title: e.prompt_key,
        pills: [statusPill],
        meta: [
          `Metric: ${metric === 'rating' ? 'mean rating' : 'success rate'}`,
          h('span', null, 'Created ', when(e.created_at)),
          e.concluded_at ? h('span', null, 'Concluded ', when(e.concluded_at)) : null,
          `${fmt.count(snapshots.length)} checks`,
          h('a', { href: `#/prompts/${enc(e.prompt_key)}` }, 'Prompt history'),
          h('span', { class: 'temporal-link' }, external(workflowUrl, 'Workflow in Temporal')),
        ],
        actions,
      }),
      callout,
      facts,
      card(
        `Lift vs control with its ${level} confidence sequence`,
        h(
          'p',
          { class: 'muted small' },
          `Each line is a variant's estimated difference from control (${metric === 'rating' ? 'rating points' : 'percentage points'}); the band is the always-valid confidence sequence, safe to read at every check. A band wholly above 0 is evidence the variant is better.`,
        ),
        chartBox,
      ),
      card(
        'Variants',
        decision && !decision.gatesMet
          ? h(
              'p',
              { class: 'note', id: 'min-sample-note' },
              `Minimum sample not reached (${fmt.count(policy.minSamplesPerArm)} conversations and ${fmt.count(policy.minSuccessesPerArm)} successes per arm): these numbers are early, and no decision rests on them yet.`,
            )
          : null,
        decision && decision.variants.some((v) => v.adjusted)
          ? h(
              'p',
              { class: 'muted small', id: 'adjusted-note' },
              'Lifts are compared within topics and then averaged (post-stratification): differences in which questions each arm happened to get do not count as an effect, and the test needs fewer conversations.',
            )
          : null,
        variantTable,
      ),
      card('Arms (latest check)', armsTable),
      h('details', { class: 'card policy' }, h('summary', null, 'Policy'), policyList),
      h('p', { class: 'muted small' }, `Experiment ${e.id}`),
    );

    return {
      el,
      refreshMs: concluded ? 0 : 10000,
      signature: `${e.status}|${snapshots.length}|${live ? live.phase : ''}`,
      after: () => liftChart(chartBox, snapshots, variantArms, versionOfArm, metric),
    };
  }

  // --- Decision checks in plain words (item by item, as the engine reads them) ------------------

  function srmPill(srm) {
    if (!srm) return '—';
    return srm.mismatch ? pill('failed', 'tripped') : pill('completed', 'OK');
  }

  function srmDetail(srm) {
    if (!srm) return null;
    if (srm.tripped) {
      const what =
        srm.tripped.test === 'topics' ? 'the arms got different mixes of topics' : "the arms' traffic shares differ from the split";
      return `Since hour ${fmt.num(srm.tripped.atHours)}: ${what} (p ${fmt.p(srm.tripped.pValue)}). This experiment can never promote: stop it or restart it.`;
    }
    if (typeof srm.sequentialPValue === 'number') {
      return `traffic split p ${fmt.p(srm.sequentialPValue)}, topic mix p ${fmt.p(srm.balancePValue)} (always-valid)`;
    }
    return `chi-square p ${fmt.p(srm.pValue)}`;
  }

  function durationFact(policy, e, latest) {
    const need = policy.minDurationHours;
    if (typeof need !== 'number') return ['—', null];
    const hours = latest ? (Date.parse(latest.created_at) - Date.parse(e.created_at)) / 3600000 : 0;
    const met = hours >= need;
    return [
      met ? pill('completed', 'met') : pill('pending', 'not yet'),
      `${fmt.num(Math.max(0, Math.round(hours * 10) / 10))} of ${fmt.num(need)} hours before any promotion`,
    ];
  }

  const GUARDRAIL_WORDS = {
    breached: ['failed', 'shown past its margin'],
    beyond: ['pending', 'looks past its margin'],
    within: ['completed', 'shown within its margin'],
    unsure: ['neutral', 'not yet shown within its margin'],
  };

  function guardrailState(g) {
    if (g.breached) return 'breached';
    if (g.beyondMargin) return 'beyond';
    if (g.withinMargin) return 'within';
    return 'unsure';
  }

  function guardrailCell(v) {
    if (Array.isArray(v.guardrails) && v.guardrails.length) {
      return h(
        'ul',
        { class: 'guardrail-readings' },
        v.guardrails.map((g) => {
          const [tone, words] = GUARDRAIL_WORDS[guardrailState(g)];
          return h(
            'li',
            { dataset: { guardrail: g.name, state: guardrailState(g) } },
            h('span', { class: `pill ${tone}` }, words),
            ' ',
            g.text,
          );
        }),
      );
    }
    return v.guardrailViolations && v.guardrailViolations.length
      ? h(
          'ul',
          { class: 'violations' },
          v.guardrailViolations.map((g) => h('li', null, g)),
        )
      : h('span', { class: 'ok-text nowrap' }, 'none');
  }

  function recentCell(v, metric) {
    const r = v.recent;
    if (!r) return h('span', { class: 'muted' }, 'after the first window');
    const verdict = r.fading ? 'fading: well below before' : r.notWinning ? 'not a win lately' : 'holding';
    return h(
      'span',
      { dataset: { recent: r.fading ? 'fading' : r.notWinning ? 'not_winning' : 'holding' } },
      `last ${fmt.num(r.hours)} h: ${fmt.effect(r.recent, metric)} (before: ${fmt.effect(r.earlier, metric)}), ${verdict}`,
    );
  }

  function fact(label, value, sub) {
    return h(
      'div',
      { class: 'fact' },
      h('div', { class: 'fact-label' }, label),
      h('div', { class: 'fact-value' }, value),
      sub ? h('div', { class: 'fact-sub' }, sub) : null,
    );
  }

  /** One line per variant (estimate) with its confidence sequence as a band; x is the check time. */
  function liftChart(box, snapshots, variantArms, versionOfArm, metric) {
    if (typeof uPlot !== 'function') {
      box.replaceChildren(h('p', { class: 'error' }, 'The chart library did not load.'));
      return;
    }
    if (snapshots.length === 0) {
      box.replaceChildren(h('p', { class: 'muted' }, 'The chart appears after the first check.'));
      return;
    }
    const scale = metric === 'rating' ? 1 : 100;
    const xs = snapshots.map((s) => Date.parse(s.created_at) / 1000);
    const data = [xs];
    const series = [
      {
        label: 'Check',
        value: (u, v, si, idx) =>
          idx === null || idx === undefined ? '—' : `#${snapshots[idx].check_no} · ${fmt.time(snapshots[idx].created_at)}`,
      },
    ];
    const bands = [];
    // A check where control or the variant had no conversation carries no estimate: a gap, not a 0.
    const armN = (s, arm) => {
      const a = Array.isArray(s.arms) ? s.arms.find((x) => x.arm === arm) : undefined;
      return a ? a.n : 0;
    };
    const pick = (s, arm) =>
      armN(s, 0) > 0 && armN(s, arm) > 0 && s.decision && Array.isArray(s.decision.variants)
        ? s.decision.variants.find((v) => v.arm === arm)
        : undefined;
    const val = (x) => (typeof x === 'number' && Number.isFinite(x) ? x * scale : null);
    if (!snapshots.some((s) => variantArms.some((arm) => pick(s, arm)))) {
      box.replaceChildren(h('p', { class: 'muted' }, `No conversation reached every arm yet (${snapshots.length} checks so far).`));
      return;
    }
    variantArms.forEach((arm, k) => {
      const color = COLORS[k % COLORS.length];
      const est = snapshots.map((s) => val(pick(s, arm)?.estimate));
      const lo = snapshots.map((s) => val(pick(s, arm)?.ci?.[0]));
      const hi = snapshots.map((s) => val(pick(s, arm)?.ci?.[1]));
      const base = data.length;
      data.push(est, lo, hi);
      series.push(
        {
          label: `${armName(arm)} (v${versionOfArm.get(arm)})`,
          class: 'lift',
          stroke: color,
          width: 2,
          points: { show: snapshots.length <= 60, size: 5 },
          value: (u, v, si, idx) =>
            v === null || v === undefined
              ? '—'
              : `${fmt.signed(v / scale, metric)} (${fmt.signed(u.data[si + 1][idx] / scale, metric)} to ${fmt.signed(u.data[si + 2][idx] / scale, metric)})${fmt.unit(metric)}`,
        },
        { label: 'low', class: 'band-edge', stroke: `${color}66`, width: 1, dash: [3, 3], points: { show: false } },
        { label: 'high', class: 'band-edge', stroke: `${color}66`, width: 1, dash: [3, 3], points: { show: false } },
      );
      bands.push({ series: [base + 2, base + 1], fill: `${color}1a` });
    });
    const limit = metric === 'rating' ? 4 : 100;
    const unit = metric === 'rating' ? '' : ' pp';
    const zeroLine = (u) => {
      const y = u.valToPos(0, 'y', true);
      if (!Number.isFinite(y) || y < u.bbox.top || y > u.bbox.top + u.bbox.height) return;
      const ctx = u.ctx;
      ctx.save();
      ctx.strokeStyle = '#475569';
      ctx.lineWidth = window.devicePixelRatio || 1;
      ctx.setLineDash([6, 4]);
      ctx.beginPath();
      ctx.moveTo(u.bbox.left, y);
      ctx.lineTo(u.bbox.left + u.bbox.width, y);
      ctx.stroke();
      ctx.restore();
    };
    const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    const tick = (v, incr) => {
      const d = new Date(v * 1000);
      if (incr >= 86400) return `${MONTHS[d.getMonth()]} ${d.getDate()}`;
      if (incr >= 60) return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
      return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    };
    // Without hover the legend shows the latest check.
    const last = xs.length - 1;
    const showLatest = (u) => {
      if (u.cursor.idx === null || u.cursor.idx === undefined) u.setLegend({ idx: last });
    };
    const opts = {
      width: Math.max(320, box.clientWidth),
      height: 320,
      class: 'lift-plot',
      series,
      bands,
      scales: {
        x: { time: true },
        y: {
          range: (u, min, max) => {
            const lo = Math.max(-limit, Math.min(min ?? 0, 0));
            const hi = Math.min(limit, Math.max(max ?? 0, 0));
            const padBy = Math.max((hi - lo) * 0.08, limit / 100);
            return [Math.max(-limit, lo - padBy), Math.min(limit, hi + padBy)];
          },
        },
      },
      axes: [
        {
          stroke: '#64748b',
          grid: { stroke: '#e2e8f0', width: 1 },
          ticks: { stroke: '#cbd5e1', width: 1 },
          space: 70,
          incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 1209600],
          values: (u, splits, ai, space, incr) => splits.map((v) => tick(v, incr)),
        },
        {
          stroke: '#64748b',
          grid: { stroke: '#e2e8f0', width: 1 },
          ticks: { stroke: '#cbd5e1', width: 1 },
          size: 64,
          values: (u, splits) => splits.map((v) => `${v > 0 ? '+' : v < 0 ? MINUS : ''}${Math.abs(v)}${unit}`),
        },
      ],
      cursor: { drag: { x: true, y: false }, points: { size: 7 } },
      legend: { live: true },
      hooks: { draw: [zeroLine], ready: [showLatest], setCursor: [showLatest] },
    };
    box.replaceChildren();
    box.dataset.series = String(variantArms.length);
    const plot = new uPlot(opts, data, box);
    const ro = new ResizeObserver(() => {
      const w = Math.max(320, box.clientWidth);
      if (w !== plot.width) plot.setSize({ width: w, height: 320 });
    });
    ro.observe(box);
    state.cleanups.push(() => {
      ro.disconnect();
      plot.destroy();
    });
  }

  // --- Rollouts (guarded rollouts after promotions) ---------------------------------------------

  const SVG_NS = 'http://www.w3.org/2000/svg';
  /** As h(), in the SVG namespace; text is always text. */
  function svg(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    el.append(...children.flat(Infinity).filter((c) => c !== null));
    return el;
  }

  /** 0.05 -> "5%", 1 - 0.9 -> "10%": shares without floating-point noise. */
  const share = (x) => `${Number((Number(x) * 100).toFixed(1))}%`;
  const rolloutStep = (r) => `${r.step + 1}/${r.steps}`;
  const rolloutSplit = (r) => `${share(r.holdback_weight)} / ${share(1 - Number(r.holdback_weight))}`;
  const hours = (x) => (typeof x === 'number' ? fmt.duration(x * 3600000) : '—');

  async function rolloutsView() {
    const { rollouts } = await api(v1('/rollouts?limit=200'));
    const live = rollouts.filter((r) => r.status === 'live');
    const href = (r) => `#/rollouts/${enc(r.id)}`;
    return {
      refreshMs: live.length ? 15000 : 0,
      signature: JSON.stringify(rollouts),
      el: h(
        'div',
        null,
        pageHead({
          title: 'Rollouts',
          meta: [
            `${live.length} live`,
            `${rollouts.length - live.length} ended`,
            'a promotion ramps the winner and keeps a holdback of the previous version',
          ],
        }),
        card(
          null,
          table(
            [
              { label: 'Prompt key', cell: (r) => h('a', { href: href(r), class: 'strong' }, r.prompt_key) },
              { label: 'Phase', cls: 'phase', cell: (r) => pill(r.phase) },
              { label: 'Step', num: true, cls: 'step', cell: rolloutStep },
              { label: 'Holdback / promoted', num: true, cls: 'split', cell: rolloutSplit },
              {
                label: 'Versions',
                cell: (r) =>
                  h(
                    'span',
                    { class: 'chips' },
                    h('span', { class: 'chip control', title: 'holdback (the previous version)' }, `v${r.holdback_version}`),
                    h('span', { class: 'chip', title: 'promoted' }, `v${r.promoted_version}`),
                  ),
              },
              { label: 'Started', cell: (r) => when(r.started_at) },
              { label: 'Ended', cell: (r) => when(r.ended_at) },
            ],
            rollouts,
            {
              href,
              rowAttrs: (r) => ({ dataset: { id: r.id, phase: r.phase } }),
              empty: 'No rollout yet: a promotion with a rollout plan starts one.',
              class: 'rollouts',
            },
          ),
        ),
      ),
    };
  }

  /** The estimate (promoted minus holdback) per check with its always-valid interval as a band, as SVG. */
  function rolloutPlot(checks, metric) {
    const scale = metric === 'rating' ? 1 : 100;
    const unit = metric === 'rating' ? '' : ' pp';
    const finite = (x) => typeof x === 'number' && Number.isFinite(x);
    const pts = checks
      .map((c) => ({ c, d: c.decision || {} }))
      .filter(({ d }) => finite(d.estimate) && Array.isArray(d.ci) && finite(d.ci[0]) && finite(d.ci[1]))
      .map(({ c, d }) => ({
        no: c.check_no,
        t: Date.parse(c.created_at),
        est: d.estimate * scale,
        lo: d.ci[0] * scale,
        hi: d.ci[1] * scale,
      }));
    if (pts.length === 0) return h('p', { class: 'muted', id: 'rollout-plot' }, 'No estimate yet.');
    const W = 640;
    const H = 220;
    const L = 56;
    const R = 12;
    const T = 12;
    const B = 28;
    const limit = metric === 'rating' ? 4 : 100;
    let yMin = Math.max(-limit, Math.min(0, ...pts.map((p) => p.lo)));
    let yMax = Math.min(limit, Math.max(0, ...pts.map((p) => p.hi)));
    if (yMax - yMin < 1e-9) {
      yMin -= 1;
      yMax += 1;
    }
    const t0 = pts[0].t;
    const t1 = pts[pts.length - 1].t;
    const x = (t) => (t1 === t0 ? L + (W - L - R) / 2 : L + ((t - t0) / (t1 - t0)) * (W - L - R));
    const y = (v) => T + ((yMax - Math.max(yMin, Math.min(yMax, v))) / (yMax - yMin)) * (H - T - B);
    const xy = (t, v) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`;
    const label = (v) => `${v > 0 ? '+' : v < 0 ? MINUS : ''}${Number(Math.abs(v).toFixed(metric === 'rating' ? 2 : 1))}${unit}`;
    const band =
      pts.length > 1
        ? svg('polygon', {
            class: 'band',
            points: [...pts.map((p) => xy(p.t, p.hi)), ...[...pts].reverse().map((p) => xy(p.t, p.lo))].join(' '),
          })
        : svg('line', { class: 'band', x1: x(pts[0].t), x2: x(pts[0].t), y1: y(pts[0].hi), y2: y(pts[0].lo) });
    const tick = (tx, ty, anchor, t) => svg('text', { class: 'tick', x: tx, y: ty, 'text-anchor': anchor }, t);
    const time = (ms) => {
      const d = new Date(ms);
      return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
    };
    return h(
      'figure',
      { class: 'rollout-plot', id: 'rollout-plot' },
      svg(
        'svg',
        {
          viewBox: `0 0 ${W} ${H}`,
          width: '100%',
          role: 'img',
          'aria-label': 'promoted minus holdback per check',
          'data-points': pts.length,
        },
        svg('line', { class: 'axis', x1: L, x2: L, y1: T, y2: H - B }),
        svg('line', { class: 'zero', x1: L, x2: W - R, y1: y(0), y2: y(0) }),
        yMax > 0 ? tick(L - 6, y(yMax) + 4, 'end', label(yMax)) : null,
        tick(L - 6, y(0) + 4, 'end', '0'),
        yMin < 0 ? tick(L - 6, y(yMin) + 4, 'end', label(yMin)) : null,
        tick(L, H - 8, 'start', `#${pts[0].no} ${time(t0)}`),
        pts.length > 1 ? tick(W - R, H - 8, 'end', `#${pts[pts.length - 1].no} ${time(t1)}`) : null,
        band,
        pts.length > 1 ? svg('polyline', { class: 'estimate', points: pts.map((p) => xy(p.t, p.est)).join(' ') }) : null,
        pts.map((p) =>
          svg(
            'circle',
            { class: 'point', cx: x(p.t).toFixed(1), cy: y(p.est).toFixed(1), r: pts.length > 60 ? 1.5 : 3 },
            svg('title', null, `check #${p.no}: ${label(p.est)} (${label(p.lo)} to ${label(p.hi)})`),
          ),
        ),
      ),
      h(
        'figcaption',
        { class: 'muted small' },
        'The band is the always-valid interval: wholly below 0 (beyond the margin), the watch rolls back.',
      ),
    );
  }

  function rolloutButtons(r) {
    if (r.status !== 'live') return [];
    // [action, label, shown, what it does, done]
    const defs = [
      [
        'advance',
        'Advance',
        r.step < r.steps - 1,
        `From step ${r.step + 1} to ${r.step + 2} of ${r.steps} (once, even if clicked twice).`,
        'Advanced',
      ],
      ['hold', 'Hold', !r.held, 'Keep the ramp at its step; the watch still rolls back a regression.', 'Held'],
      ['resume', 'Resume', r.held, 'Let the ramp go on by itself.', 'Resumed'],
      ['finish', 'Finish', true, `Release the holdback: v${r.promoted_version} serves everyone.`, 'Finished'],
      ['rollback', 'Roll back', true, `Make v${r.holdback_version} (the holdback) active again and end the rollout.`, 'Rolled back'],
    ];
    return defs
      .filter((d) => d[2])
      .map(([kind, label, , message, done]) => {
        const danger = kind === 'rollback';
        const btn = h('button', { type: 'button', id: `rollout-${kind}`, class: danger ? 'danger' : null }, label);
        btn.addEventListener('click', () =>
          action(
            btn,
            {
              title: `${label}: ${r.prompt_key}`,
              message,
              fields: [actorField(), { name: 'reason', label: 'Reason', type: 'textarea' }],
              confirmLabel: label,
              danger,
            },
            (v) =>
              api(v1(`/rollouts/${enc(r.id)}/${kind}`), {
                method: 'POST',
                body: {
                  actor: v.actor,
                  ...(v.reason ? { reason: v.reason } : {}),
                  ...(kind === 'advance' ? { fromStep: r.step + 1 } : {}),
                },
              }),
            ({ rollout: x, changed }) =>
              `${changed ? done : 'Nothing changed'}: ${x.prompt_key} is ${fmt.words(x.phase)} at step ${rolloutStep(x)}, holdback ${share(x.holdback_weight)}.`,
          ),
        );
        return btn;
      });
  }

  async function rolloutView(id) {
    const { rollout: r, live, checks, workflowUrl } = await api(v1(`/rollouts/${enc(id)}`));
    // How to read the numbers: the metric and alpha of the experiment that promoted.
    let metric = 'success';
    let alpha = 0.05;
    try {
      const { experiment } = await api(v1(`/experiments/${enc(r.experiment_id)}`));
      metric = experiment.metric;
      if (experiment.policy && typeof experiment.policy.alpha === 'number') alpha = experiment.policy.alpha;
    } catch (err) {
      if (err.status === 401) throw err;
    }
    const plan = r.plan || { steps: [] };
    const latest = checks.length ? checks[checks.length - 1] : null;
    const d = latest ? latest.decision || {} : null;
    const level = `${Math.round((1 - alpha) * 1000) / 10}%`;
    const stepPlan = plan.steps[r.step];

    const evidence = d
      ? h(
          'div',
          { class: `callout ${d.action === 'rollback' ? 'warn' : 'info'}`, id: 'rollout-evidence' },
          h(
            'p',
            null,
            h('strong', null, `Check #${latest.check_no}: `),
            'estimate ',
            h('strong', { class: 'estimate' }, fmt.effect(d.estimate, metric)),
            ' (promoted − holdback), ',
            `${level} always-valid interval `,
            h('span', { class: 'ci' }, fmt.interval(d.ci, metric)),
            ', p(worse beyond the margin) ',
            h('span', { class: 'p' }, fmt.p(d.pWorse)),
            ' · ',
            when(latest.created_at),
          ),
          h('p', { class: 'reason' }, d.reason || ''),
          guardrailCell(d),
        )
      : h('p', { class: 'muted', id: 'rollout-evidence' }, 'No check yet.');

    const facts = h(
      'div',
      { class: 'facts' },
      fact(
        'Step',
        h('span', { id: 'rollout-step' }, rolloutStep(r)),
        stepPlan ? `${share(stepPlan.share)} of the ramp, held at least ${hours(stepPlan.holdHours)}` : null,
      ),
      fact(
        'Split',
        h('span', { id: 'rollout-split' }, rolloutSplit(r)),
        `holdback v${r.holdback_version} / promoted v${r.promoted_version}`,
      ),
      fact('Holdback', share(plan.holdbackShare), `kept for a ${hours(plan.watchHours)} watch, margin ${fmt.effect(plan.margin, metric)}`),
      fact('Plan', plan.steps.map((s) => share(s.share)).join(' → ')),
      fact('Watch', live ? `${fmt.count(live.checks)} checks` : r.status === 'live' ? 'not answering' : 'ended'),
    );

    const events = table(
      [
        { label: 'When', cell: (e) => when(e.created_at) },
        { label: 'Event', cls: 'kind', cell: (e) => pill(e.kind, fmt.words(e.kind)) },
        { label: 'Mode', cls: 'mode', cell: (e) => pill(e.mode) },
        { label: 'Actor', cls: 'actor', cell: (e) => e.actor },
        { label: 'Step', num: true, cell: (e) => String(e.step + 1) },
        { label: 'Reason', cls: 'reason', cell: (e) => e.reason },
      ],
      r.events,
      { rowAttrs: (e) => ({ dataset: { kind: e.kind, id: String(e.id) } }), empty: 'No event.', class: 'rollout-events' },
    );

    return {
      refreshMs: r.status === 'live' ? 10000 : 0,
      signature: JSON.stringify([r, checks.length]),
      el: h(
        'div',
        null,
        pageHead({
          crumbs: [{ href: '#/rollouts', label: 'Rollouts' }],
          title: r.prompt_key,
          pills: [h('span', { id: 'rollout-phase' }, pill(r.phase))],
          meta: [
            `v${r.promoted_version} promoted over v${r.holdback_version}`,
            h('span', null, 'Started ', when(r.started_at)),
            r.ended_at ? h('span', null, 'Ended ', when(r.ended_at)) : null,
            `${fmt.count(checks.length)} checks`,
            h('a', { href: `#/experiments/${enc(r.experiment_id)}` }, 'Experiment'),
            h('a', { href: `#/prompts/${enc(r.prompt_key)}` }, 'Prompt history'),
            h('span', { class: 'temporal-link' }, external(workflowUrl, 'Watch in Temporal')),
          ],
          actions: rolloutButtons(r),
        }),
        r.status !== 'live' && r.reason
          ? h(
              'div',
              { class: `callout ${r.status === 'rolled_back' ? 'warn' : 'ok'}`, id: 'rollout-ended' },
              h('strong', null, `${fmt.words(r.status)}.`),
              h('p', { class: 'reason' }, r.reason),
            )
          : null,
        facts,
        card('Latest evidence', evidence),
        card(`Promoted − holdback with its ${level} always-valid interval`, rolloutPlot(checks, metric)),
        card('Audit trail', events),
      ),
    };
  }

  // --- Prompts ---------------------------------------------------------------------------------

  async function promptsView() {
    const { prompts } = await api('api/prompts');
    return {
      el: h(
        'div',
        null,
        pageHead({ title: 'Prompts', meta: [`${prompts.length} prompt keys`] }),
        card(
          null,
          table(
            [
              { label: 'Prompt key', cell: (p) => h('a', { href: `#/prompts/${enc(p.prompt_key)}`, class: 'strong' }, p.prompt_key) },
              { label: 'Active version', cell: (p) => h('span', { class: 'chip active' }, `v${p.active_version}`) },
              { label: 'Versions', num: true, cell: (p) => fmt.count(p.versions) },
              {
                label: 'Last promotion',
                cell: (p) =>
                  p.lastPromotion
                    ? h('span', null, pill(p.lastPromotion.kind), ' ', when(p.lastPromotion.created_at))
                    : h('span', { class: 'muted' }, 'never'),
              },
              { label: 'Reason', cls: 'reason', cell: (p) => (p.lastPromotion ? p.lastPromotion.reason : '') },
            ],
            prompts,
            {
              href: (p) => `#/prompts/${enc(p.prompt_key)}`,
              rowAttrs: (p) => ({ dataset: { key: p.prompt_key } }),
              empty: 'No prompt has been seeded yet.',
              class: 'prompts',
            },
          ),
        ),
      ),
    };
  }

  async function promptView(key, query) {
    const detail = await api(v1(`/prompts/${enc(key)}`));
    const { versions, promotions, insights } = detail;
    const byId = new Map(versions.map((v) => [v.id, v]));
    const active = versions.find((v) => v.status === 'active');
    const vno = (id) => (id && byId.has(id) ? `v${byId.get(id).version}` : '—');

    // Which pair to diff: ?from=&to=, else the latest promotion, else the two newest versions.
    let from = query.get('from');
    let to = query.get('to');
    if (!to && promotions.length) {
      from = promotions[0].from_version_id;
      to = promotions[0].to_version_id;
    } else if (!to && versions.length > 1 && active) {
      to = [...versions].sort((a, b) => b.version - a.version)[0].id;
      from = active.id === to ? [...versions].sort((a, b) => b.version - a.version)[1].id : active.id;
    }
    const diff = to ? await api(`api/diff?${new URLSearchParams(from ? { from, to } : { to })}`) : null;

    const rollback = h('button', { type: 'button', id: 'rollback', class: 'danger' }, 'Roll back');
    rollback.addEventListener('click', () => {
      const last = promotions.find((p) => p.to_version_id === (active && active.id) && p.from_version_id && p.kind !== 'rollback');
      return action(
        rollback,
        {
          title: 'Roll back prompt',
          message: last
            ? h(
                'p',
                null,
                'Make ',
                h('strong', null, vno(last.from_version_id)),
                ' the active version of ',
                h('strong', null, key),
                ' again (it was replaced by ',
                h('strong', null, vno(last.to_version_id)),
                ` on ${fmt.time(last.created_at)}).`,
              )
            : `Roll back ${key} to the version before ${active ? `v${active.version}` : 'the active one'}?`,
          fields: [actorField(), { name: 'reason', label: 'Reason', type: 'textarea', required: true }],
          confirmLabel: 'Roll back',
          danger: true,
        },
        (v) => api(v1(`/prompts/${enc(key)}/rollback`), { method: 'POST', body: { actor: v.actor, reason: v.reason } }),
        (r) => `Rolled back ${key}: ${vno(r.event.from_version_id)} → ${vno(r.event.to_version_id)} is active again.`,
      );
    });
    const start = startCycleButton([key]);

    const diffLink = (f, t) => `#/prompts/${enc(key)}?${new URLSearchParams(f ? { from: f, to: t } : { to: t })}`;
    const promotionTable = table(
      [
        { label: 'When', cell: (p) => when(p.created_at) },
        { label: 'Kind', cell: (p) => pill(p.kind) },
        {
          label: 'Change',
          cell: (p) => h('span', { class: 'change' }, vno(p.from_version_id), ' → ', h('strong', null, vno(p.to_version_id))),
        },
        { label: 'Actor', cell: (p) => p.actor },
        { label: 'Reason', cls: 'reason', cell: (p) => p.reason },
        { label: 'Experiment', cell: (p) => (p.experiment_id ? h('a', { href: `#/experiments/${enc(p.experiment_id)}` }, 'open') : '—') },
        {
          label: '',
          cell: (p) =>
            h(
              'a',
              {
                href: diffLink(p.from_version_id, p.to_version_id),
                class: `diff-link${p.from_version_id === from && p.to_version_id === to ? ' current' : ''}`,
              },
              p.from_version_id === from && p.to_version_id === to ? 'shown above' : 'diff',
            ),
        },
      ],
      promotions,
      {
        rowAttrs: (p) => ({ dataset: { kind: p.kind, id: p.id } }),
        empty: 'No promotion yet: the seeded version is active.',
        class: 'promotions',
      },
    );

    const versionTable = table(
      [
        { label: 'Version', cell: (v) => h('strong', null, `v${v.version}`) },
        { label: 'Status', cell: (v) => pill(v.status) },
        { label: 'Strategy', cell: (v) => v.strategy },
        { label: 'Created', cell: (v) => when(v.created_at) },
        { label: 'Activated', cell: (v) => when(v.activated_at) },
        { label: 'Rationale', cls: 'reason', cell: (v) => v.rationale || '' },
        {
          label: '',
          cell: (v) => (active && v.id !== active.id ? h('a', { href: diffLink(active.id, v.id), class: 'diff-link' }, 'vs active') : ''),
        },
      ],
      [...versions].sort((a, b) => b.version - a.version),
      { rowAttrs: (v) => ({ dataset: { version: String(v.version), status: v.status } }), class: 'versions' },
    );

    const openInsights = insights.filter((i) => i.status === 'open').length;
    return {
      el: h(
        'div',
        null,
        pageHead({
          crumbs: [{ href: '#/prompts', label: 'Prompts' }],
          title: key,
          pills: active ? [h('span', { class: 'chip active', id: 'active-version' }, `active v${active.version}`)] : [],
          meta: [
            `${versions.length} versions`,
            `${promotions.length} promotions`,
            h('a', { href: `#/insights?key=${enc(key)}` }, `${openInsights} open insights`),
          ],
          actions: [start, rollback],
        }),
        diff ? card(null, renderDiff(diff)) : null,
        card('Promotion history', promotionTable),
        card('Versions', versionTable),
        active ? card(`Active prompt (v${active.version})`, h('pre', { class: 'prompt' }, active.content)) : null,
      ),
    };
  }

  function renderDiff(d) {
    const head = h(
      'div',
      { class: 'diff-head' },
      h('h2', null, 'Diff ', d.from ? `v${d.from.version}` : '(nothing)', ' → ', `v${d.to.version}`),
      h('span', { class: 'stat add' }, `+${d.diff.added}`),
      h('span', { class: 'stat del' }, `${MINUS}${d.diff.removed}`),
      d.to.rationale ? h('p', { class: 'muted small rationale' }, d.to.rationale) : null,
    );
    if (d.diff.hunks.length === 0) return h('div', { class: 'diff' }, head, h('p', { class: 'muted' }, 'The versions are identical.'));
    const rows = [];
    for (const hunk of d.diff.hunks) {
      rows.push(
        h(
          'tr',
          { class: 'hunk' },
          h('td', { colspan: 4 }, `@@ ${MINUS}${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`),
        ),
      );
      for (const l of hunk.lines) {
        rows.push(
          h(
            'tr',
            { class: l.op },
            h('td', { class: 'ln' }, l.oldNo ?? ''),
            h('td', { class: 'ln' }, l.newNo ?? ''),
            h('td', { class: 'sign' }, l.op === 'add' ? '+' : l.op === 'del' ? MINUS : ''),
            h('td', { class: 'text' }, l.text),
          ),
        );
      }
    }
    return h(
      'div',
      { class: 'diff', id: 'diff' },
      head,
      d.diff.coarse ? h('p', { class: 'muted small' }, 'The versions differ too much to align line by line.') : null,
      h('div', { class: 'table-wrap' }, h('table', { class: 'diff-table' }, h('tbody', null, rows))),
    );
  }

  function startCycleButton(keys) {
    const btn = h('button', { type: 'button', id: 'start-cycle', class: keys.length === 1 ? '' : 'primary' }, 'Start cycle');
    btn.disabled = keys.length === 0;
    btn.addEventListener('click', () =>
      action(
        btn,
        {
          title: 'Start optimization cycle',
          message: 'Analyze the recent conversations, generate variants and start an experiment against the active prompt.',
          fields: [
            keys.length === 1
              ? { name: 'promptKey', label: 'Prompt key', value: keys[0], required: true }
              : {
                  name: 'promptKey',
                  label: 'Prompt key',
                  type: 'select',
                  options: keys.map((k) => ({ value: k, label: k })),
                  required: true,
                },
            { name: 'variantCount', label: 'Variants', type: 'number', min: 1, max: 5, value: 2, required: true },
            { name: 'force', label: 'Run even when the analysis finds nothing actionable', type: 'checkbox', value: false },
            actorField(),
          ],
          confirmLabel: 'Start cycle',
        },
        (v) =>
          api(v1('/jobs'), {
            method: 'POST',
            body: {
              type: 'full_cycle',
              params: { promptKey: v.promptKey, variantCount: Number(v.variantCount), ...(v.force ? { force: true } : {}) },
              createdBy: v.actor,
            },
          }),
        (r) => ({
          text: `Started job #${r.job.id} (full cycle for ${r.job.params.promptKey}).`,
          link: { href: r.workflowUrl, label: 'Workflow in Temporal' },
        }),
      ),
    );
    return btn;
  }

  // --- Insights --------------------------------------------------------------------------------

  function evidenceValue(v) {
    if (typeof v === 'number') return fmt.num(v);
    if (typeof v === 'boolean') return v ? 'yes' : 'no';
    if (v === null || v === undefined) return '—';
    if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return `[${v.map(fmt.num).join(', ')}]`;
    if (typeof v === 'object') {
      const s = JSON.stringify(v);
      return s.length > 120 ? `${s.slice(0, 117)}…` : s;
    }
    return String(v);
  }

  const SEVERITY = { high: 3, medium: 2, low: 1 };

  async function insightsView(query) {
    const { insights } = await api('api/insights');
    const key = query.get('key');
    const keys = [...new Set(insights.map((i) => i.prompt_key))].sort();
    const shown = insights
      .filter((i) => !key || i.prompt_key === key)
      .sort(
        (a, b) =>
          (a.status === b.status ? 0 : a.status === 'open' ? -1 : 1) ||
          (SEVERITY[b.severity] || 0) - (SEVERITY[a.severity] || 0) ||
          Date.parse(b.last_seen_at) - Date.parse(a.last_seen_at),
      );
    const filters = h(
      'div',
      { class: 'filters' },
      h('a', { href: '#/insights', class: `chip${key ? '' : ' active'}` }, 'All keys'),
      keys.map((k) => h('a', { href: `#/insights?key=${enc(k)}`, class: `chip${k === key ? ' active' : ''}` }, k)),
    );
    return {
      el: h(
        'div',
        null,
        pageHead({
          title: 'Insights',
          meta: [`${shown.filter((i) => i.status === 'open').length} open`, `${shown.filter((i) => i.is_actionable).length} actionable`],
        }),
        filters,
        card(
          null,
          table(
            [
              { label: 'Severity', cell: (i) => pill(i.severity) },
              { label: 'Kind', cell: (i) => h('strong', null, fmt.words(i.kind)) },
              { label: 'Prompt key', cell: (i) => h('a', { href: `#/prompts/${enc(i.prompt_key)}` }, i.prompt_key) },
              { label: 'Segment', cell: (i) => i.segment || h('span', { class: 'muted' }, 'all traffic') },
              {
                label: 'Actionable',
                cell: (i) => (i.is_actionable ? h('span', { class: 'ok-text' }, 'yes') : h('span', { class: 'muted' }, 'no')),
              },
              { label: 'Status', cell: (i) => pill(i.status === 'open' ? 'pending' : 'completed', i.status) },
              {
                label: 'Evidence',
                cls: 'evidence',
                cell: (i) =>
                  h(
                    'dl',
                    { class: 'evidence-list' },
                    Object.entries(i.evidence || {}).map(([k, v]) =>
                      h('div', { class: 'ev' }, h('dt', null, fmt.words(k)), h('dd', null, evidenceValue(v))),
                    ),
                  ),
              },
              { label: 'Seen', cell: (i) => h('span', null, `${fmt.count(i.occurrences)}×, last `, when(i.last_seen_at)) },
            ],
            shown,
            {
              rowAttrs: (i) => ({ dataset: { kind: i.kind, key: i.prompt_key } }),
              empty: 'No insight yet: the analysis finds them in logged conversations.',
              class: 'insights',
            },
          ),
        ),
      ),
    };
  }

  // --- Reviews (review before exposure) ---------------------------------------------------------

  function reviewButtons(r) {
    const decide = (kind) => {
      const accept = kind === 'accept';
      const btn = h(
        'button',
        { type: 'button', class: accept ? 'primary' : 'danger', dataset: { action: kind } },
        accept ? 'Accept' : 'Reject',
      );
      btn.addEventListener('click', () =>
        action(
          btn,
          {
            title: `${accept ? 'Accept' : 'Reject'} variant v${r.version}`,
            message: accept
              ? `v${r.version} of ${r.prompt_key} may then run in the cycle's experiment, on part of the live traffic.`
              : `v${r.version} of ${r.prompt_key} will never run and is not proposed again.`,
            fields: [actorField('Reviewer'), { name: 'note', label: 'Note', type: 'textarea' }],
            confirmLabel: accept ? 'Accept' : 'Reject',
            danger: !accept,
          },
          (v) =>
            api(v1(`/reviews/${enc(r.version_id)}/${kind}`), {
              method: 'POST',
              body: { reviewer: v.actor, ...(v.note ? { note: v.note } : {}) },
            }),
          (res) =>
            `v${r.version} of ${r.prompt_key} ${res.result.decision} by ${res.result.reviewer}; ${res.result.pending.length} left in this cycle.`,
        ),
      );
      return btn;
    };
    return [decide('accept'), decide('reject')];
  }

  async function pendingReviewCard(r) {
    const diff = await api(
      `api/diff?${new URLSearchParams(r.parent_version_id ? { from: r.parent_version_id, to: r.version_id } : { to: r.version_id })}`,
    );
    return h(
      'section',
      { class: 'card review', dataset: { version: r.version_id } },
      pageHead({
        title: `${r.prompt_key} v${r.version}`,
        pills: [pill(r.strategy)],
        meta: [`deadline ${fmt.time(r.deadline)}`, h('span', null, 'cycle ', external(r.workflowUrl, r.workflow_id))],
        actions: reviewButtons(r),
      }),
      renderDiff(diff),
    );
  }

  async function reviewsView() {
    const [{ reviews: pending }, { reviews: all }] = await Promise.all([api(v1('/reviews')), api(v1('/reviews?status=all&limit=50'))]);
    const decided = all.filter((r) => r.status !== 'pending');
    const cards = await Promise.all(pending.map(pendingReviewCard));
    return {
      refreshMs: 10000,
      signature: JSON.stringify([pending.map((r) => r.id), decided.map((r) => [r.id, r.status])]),
      el: h(
        'div',
        null,
        pageHead({ title: 'Reviews', meta: [`${pending.length} waiting`, 'variants wait here before any traffic sees them'] }),
        cards.length ? cards : card(null, h('p', { class: 'muted empty-reviews' }, 'Nothing waits for review.')),
        card(
          'Decided',
          table(
            [
              {
                label: 'Variant',
                cell: (r) =>
                  h(
                    'a',
                    {
                      href: `#/prompts/${enc(r.prompt_key)}?${new URLSearchParams(r.parent_version_id ? { from: r.parent_version_id, to: r.version_id } : { to: r.version_id })}`,
                    },
                    `${r.prompt_key} v${r.version}`,
                  ),
              },
              { label: 'Decision', cell: (r) => pill(r.status) },
              { label: 'By', cell: (r) => r.decided_by || '—' },
              { label: 'When', cell: (r) => when(r.decided_at) },
              { label: 'Note', cls: 'reason', cell: (r) => r.note || '' },
            ],
            decided,
            { rowAttrs: (r) => ({ dataset: { version: r.version_id, status: r.status } }), empty: 'No decision yet.', class: 'reviews' },
          ),
        ),
      ),
    };
  }

  // --- Jobs ------------------------------------------------------------------------------------

  function jobParams(p) {
    return h(
      'span',
      { class: 'params' },
      Object.entries(p || {}).map(([k, v]) =>
        h('span', { class: 'param' }, h('span', { class: 'muted' }, `${k}=`), typeof v === 'object' ? JSON.stringify(v) : String(v)),
      ),
    );
  }

  /** "2 refused: new_url ×1, copies_sample ×1", each reason in the list below it. */
  function rejectedCandidates(rejected) {
    if (!Array.isArray(rejected) || rejected.length === 0) return null;
    const counts = {};
    for (const r of rejected) counts[r.code || 'unknown'] = (counts[r.code || 'unknown'] || 0) + 1;
    return h(
      'div',
      { class: 'rejections' },
      h(
        'span',
        { class: 'warn-text' },
        `${rejected.length} candidate${rejected.length === 1 ? '' : 's'} refused: `,
        Object.entries(counts).map(([code, n], i) => [i ? ', ' : '', h('code', { class: 'rejection-code' }, code), ` ×${n}`]),
      ),
      h(
        'ul',
        { class: 'rejection-reasons' },
        rejected.map((r) => h('li', { dataset: { code: r.code || '' } }, r.reason)),
      ),
    );
  }

  function jobResult(j) {
    if (j.error) return h('span', { class: 'error-text', title: j.error }, j.error);
    if (!j.result) return '';
    const r = j.result;
    const summary = r.outcome ? fmt.words(r.outcome) : typeof r.actionable === 'number' ? `${r.actionable} actionable` : null;
    return h(
      'div',
      null,
      h('details', { class: 'result' }, h('summary', null, summary || 'result'), h('pre', null, JSON.stringify(r, null, 2))),
      rejectedCandidates((r.variants && r.variants.rejected) || r.rejected),
    );
  }

  async function jobsView() {
    const [{ jobs }, { prompts }] = await Promise.all([api('api/jobs'), api('api/prompts')]);
    const busy = jobs.some((j) => j.status === 'pending' || j.status === 'running');
    return {
      refreshMs: busy ? 3000 : 15000,
      signature: JSON.stringify(jobs),
      el: h(
        'div',
        null,
        pageHead({
          title: 'Jobs',
          meta: ['pending', 'running', 'completed', 'failed'].map((s) => `${jobs.filter((j) => j.status === s).length} ${s}`),
          actions: [startCycleButton(prompts.map((p) => p.prompt_key))],
        }),
        card(
          null,
          table(
            [
              { label: '#', num: true, cell: (j) => String(j.id) },
              { label: 'Type', cell: (j) => h('strong', null, fmt.words(j.type)) },
              { label: 'Status', cls: 'status', cell: (j) => pill(j.status) },
              { label: 'Params', cell: (j) => jobParams(j.params) },
              { label: 'Result / error', cls: 'result-cell', cell: jobResult },
              { label: 'Created by', cell: (j) => j.created_by },
              { label: 'Created', cell: (j) => when(j.created_at) },
              {
                label: 'Took',
                num: true,
                cell: (j) =>
                  j.finished_at && j.started_at
                    ? fmt.duration(Date.parse(j.finished_at) - Date.parse(j.started_at))
                    : j.started_at
                      ? 'running'
                      : '—',
              },
              { label: 'Workflow', cell: (j) => (j.workflowUrl ? external(j.workflowUrl, j.workflow_id) : '—') },
            ],
            jobs,
            { rowAttrs: (j) => ({ dataset: { id: String(j.id), status: j.status } }), empty: 'No job yet.', class: 'jobs' },
          ),
        ),
      ),
    };
  }

  // --- Boot ------------------------------------------------------------------------------------

  function boot() {
    state.loginEl = $('login');
    $('login-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const token = $('token').value.trim();
      if (token) signIn(token);
    });
    $('logout').addEventListener('click', () => signOut());
    $('refresh').addEventListener('click', () => render({ soft: true }));
    $('dialog-cancel').addEventListener('click', () => $('dialog').close('cancel'));
    window.addEventListener('hashchange', () => {
      clearFlash();
      render();
    });
    if (state.token) signIn(state.token);
    else showLogin();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
