// The top bar: host, state, users (per user type), workers, RPS, failure %; and the Start,
// Edit, Stop and Reset buttons with the start/edit dialog.

import { byId, setText } from './dom.js';
import { count, duration, percent, rate } from './format.js';
import { postJson } from './api.js';

const RUNNING = new Set(['spawning', 'running']);

export class Controls {
  constructor({ info, onError, onChange }) {
    this.info = info;
    this.onError = onError;
    this.onChange = onChange;
    this.status = null;
    this.dialog = byId('swarm-dialog');
    this.form = byId('swarm-form');
    this.mode = 'start';
    byId('btn-start').addEventListener('click', () => this.open('start'));
    byId('btn-edit').addEventListener('click', () => this.open('edit'));
    byId('btn-stop').addEventListener('click', () => this.act('/api/stop'));
    byId('btn-reset').addEventListener('click', () => this.act('/api/stats/reset'));
    byId('swarm-cancel').addEventListener('click', () => this.dialog.close());
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    if (info.read_only) {
      for (const id of ['btn-start', 'btn-edit', 'btn-stop', 'btn-reset']) byId(id).hidden = true;
      byId('read-only').hidden = false;
      setText(byId('stats-empty'), 'No requests yet. This view is read-only: rows appear once someone starts a test.');
    }
    setText(byId('scenario'), info.scenario || '');
    setText(byId('version'), `cicada ${info.version}`);
  }

  /** Shows the state of the run (from each live update). */
  show(stats) {
    this.status = stats;
    setText(byId('host'), stats.host);
    byId('host').title = stats.host;
    const state = byId('state');
    setText(state, stats.state);
    state.dataset.state = stats.state;
    const spawning = stats.users !== stats.target_users && RUNNING.has(stats.state);
    setText(byId('users'), spawning ? `${count(stats.users)} / ${count(stats.target_users)}` : count(stats.users));
    const types = Object.entries(stats.user_types || {});
    const perType = types.length > 1 ? types.map(([name, n]) => `${name} ${count(n)}`).join(' · ') : '';
    setText(byId('user-types'), perType);
    byId('user-types').title = perType;
    setText(byId('workers'), count(stats.workers));
    setText(byId('rps'), rate(stats.current_rps));
    const failRatio = byId('fail-ratio');
    setText(failRatio, percent(stats.fail_ratio));
    failRatio.classList.toggle('bad', stats.fail_ratio > 0);
    const left = stats.stops_at && RUNNING.has(stats.state) ? stats.stops_at - Date.now() / 1000 : null;
    setText(byId('stops-at'), left !== null ? `stops in ${duration(left)}` : '');

    if (!this.info.read_only) {
      const running = RUNNING.has(stats.state);
      byId('btn-start').hidden = running;
      setText(byId('btn-start'), stats.state === 'ready' ? 'Start' : 'New test');
      byId('btn-edit').hidden = !running;
      byId('btn-stop').hidden = !running;
    }
    document.title = `cicada · ${stats.state}${RUNNING.has(stats.state) ? ` · ${count(stats.users)} users` : ''}`;
  }

  open(mode) {
    this.mode = mode;
    const s = this.status || {};
    const d = this.info.defaults || {};
    const first = !s.state || s.state === 'ready';
    const edit = mode === 'edit';
    setText(byId('swarm-title'), edit ? 'Edit running load test' : 'Start new load test');
    setText(byId('swarm-submit'), edit ? 'Update' : 'Start');
    byId('in-users').value = first ? d.users : s.target_users;
    byId('in-rate').value = first ? d.spawn_rate : s.spawn_rate;
    byId('in-host').value = s.host || d.host || '';
    byId('in-runtime').value = edit ? '' : (d.run_time || '');
    byId('in-runtime').placeholder = edit ? 'unchanged' : 'until stopped';
    byId('host-label').hidden = edit;
    byId('advanced').open = !edit && Boolean(d.run_time);
    setText(byId('swarm-error'), '');
    this.dialog.showModal();
    byId('in-users').focus();
    byId('in-users').select();
  }

  async submit() {
    const users = byId('in-users').value.trim();
    const rateText = byId('in-rate').value.trim();
    const body = { users: Number(users), spawn_rate: Number(rateText) };
    const problem = !/^\d+$/.test(users)
      ? 'Number of users must be a whole number, 0 or more.'
      : !(Number(rateText) > 0) ? 'Ramp up must be a number above 0.' : '';
    if (problem) {
      setText(byId('swarm-error'), problem);
      return;
    }
    if (this.mode === 'start') {
      const host = byId('in-host').value.trim();
      if (host) body.host = host;
      body.run_time = byId('in-runtime').value.trim() || null;
    } else {
      const runTime = byId('in-runtime').value.trim();
      if (runTime) body.run_time = runTime;
    }
    const button = byId('swarm-submit');
    button.disabled = true;
    try {
      await postJson('/api/swarm', body);
      this.dialog.close();
      this.onChange();
    } catch (e) {
      setText(byId('swarm-error'), e.message);
    } finally {
      button.disabled = false;
    }
  }

  async act(path) {
    try {
      await postJson(path);
      this.onChange();
    } catch (e) {
      this.onError(e.message);
    }
  }
}
