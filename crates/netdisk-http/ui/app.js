// The netdisk web app: log in with a cookie session, browse the home,
// upload (resumable with tus), download, organise, share. Built with
// createElement/textContent only: names are data, never markup.
'use strict';

(() => {
  const { el, $, show, formatSize, formatTime, encodePath, joinPath, parentOf, describe } = ND;

  /** tus PATCH bodies: big enough to be fast, small enough to lose little on a cut. */
  const TUS_CHUNK = 4 * 1024 * 1024;
  /** Smaller files go in one PUT: nothing worth resuming. */
  const TUS_THRESHOLD = 1024 * 1024;
  /** Remembered tus uploads older than this are forgotten (the server drops them too). */
  const TUS_KEEP_MS = 7 * 24 * 3600 * 1000;
  const TUS_PREFIX = 'nd.tus:';
  /** Listing pages fetched for one folder at most (1,000 entries each). */
  const MAX_PAGES = 100;

  const state = {
    user: null,
    csrf: null,
    dir: '',
    sortKey: localStorage.getItem('nd.sort') || 'name',
    desc: localStorage.getItem('nd.desc') === 'true',
    entries: [],
    listSeq: 0,
    tus: null, // null: not asked yet; then true/false
  };

  // ---- the API ------------------------------------------------------------

  /** A call to /api/v1; writes carry the CSRF token; a 401 ends the session. */
  async function api(method, path, body, extraHeaders) {
    const headers = { ...(extraHeaders || {}) };
    if (method !== 'GET' && method !== 'HEAD' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(`/api/v1/${path}`, init);
    } catch (_) {
      throw ND.errorOf(0, 'network', 'the server cannot be reached');
    }
    if (response.status === 401 && state.user && path !== 'login') {
      sessionEnded();
    }
    return response;
  }

  async function apiJson(method, path, body) {
    return ND.json(await api(method, path, body));
  }

  function sessionEnded() {
    state.user = null;
    state.csrf = null;
    showLogin('Your session has ended. Please log in again.');
  }

  // ---- messages -------------------------------------------------------------

  function showError(err, what) {
    // An older success notice next to a new error would read as a contradiction.
    show($('notice'), false);
    const box = $('error');
    box.textContent = what ? `${what}: ${describe(err)}` : describe(err);
    show(box, true);
  }

  function clearError() {
    show($('error'), false);
  }

  function notice(text) {
    const box = $('notice');
    box.textContent = text;
    show(box, Boolean(text));
  }

  // ---- logging in -----------------------------------------------------------

  function showLogin(message) {
    show($('loading'), false);
    show($('app-view'), false);
    show($('login-view'), true);
    const error = $('login-error');
    error.textContent = message || '';
    show(error, Boolean(message));
    document.title = 'Log in · netdisk';
    $('login-user').focus();
  }

  async function onLogin(event) {
    event.preventDefault();
    const user = $('login-user').value.trim();
    const password = $('login-password').value;
    const error = $('login-error');
    if (!user || !password) {
      error.textContent = 'Enter your user name and password.';
      show(error, true);
      return;
    }
    const button = $('login-submit');
    button.disabled = true;
    try {
      const response = await api('POST', 'login', { user, password, cookie: true });
      if (!response.ok) {
        const err = await ND.apiError(response);
        error.textContent =
          response.status === 401
            ? 'Wrong user name or password.'
            : response.status === 429
              ? `Too many failed logins. Try again in ${err.retryAfter || 'a few'} seconds.`
              : describe(err);
        show(error, true);
        $('login-password').select();
        return;
      }
      const session = await response.json();
      $('login-password').value = '';
      startApp(session);
    } catch (err) {
      error.textContent = describe(err);
      show(error, true);
    } finally {
      button.disabled = false;
    }
  }

  async function logout() {
    try {
      await ND.json(await api('POST', 'logout'));
    } catch (err) {
      // The cookie may be gone already; the page forgets the session anyway.
      if (err.status !== 401) showError(err, 'Logging out');
    }
    state.user = null;
    state.csrf = null;
    showLogin('');
  }

  function startApp(session) {
    state.user = session.user;
    state.csrf = session.csrf;
    show($('loading'), false);
    show($('login-view'), false);
    show($('app-view'), true);
    $('whoami').textContent = session.user;
    forgetStaleUploads();
    remindUnfinished();
    navigate();
    refreshUsage();
  }

  // ---- folders ----------------------------------------------------------------

  function hashOf(dir) {
    return `#/${encodePath(dir)}`;
  }

  function navigate() {
    if (!state.user) return;
    state.dir = ND.pathFromHash();
    clearError();
    renderBreadcrumbs();
    loadListing();
  }

  function renderBreadcrumbs() {
    const nav = $('breadcrumbs');
    const parts = state.dir ? state.dir.split('/') : [];
    const list = el('ol');
    const crumb = (label, dir, current) =>
      el('li', {}, current
        ? el('span', { 'aria-current': 'page', text: label })
        : el('a', { href: hashOf(dir), text: label }));
    list.append(crumb('Home', '', parts.length === 0));
    parts.forEach((part, i) => {
      list.append(crumb(part, parts.slice(0, i + 1).join('/'), i === parts.length - 1));
    });
    nav.replaceChildren(list);
    document.title = `${parts.length ? parts[parts.length - 1] : 'Home'} · netdisk`;
  }

  async function loadListing() {
    const seq = ++state.listSeq;
    const dir = state.dir;
    const base = dir ? `list/${encodePath(dir)}` : 'list';
    const entries = [];
    let cursor = null;
    try {
      for (let page = 0; page < MAX_PAGES; page += 1) {
        const query = new URLSearchParams({ sort: state.sortKey });
        if (state.desc) query.set('desc', 'true');
        if (cursor !== null) query.set(state.sortKey === 'name' && !state.desc ? 'after' : 'offset', cursor);
        const body = await apiJson('GET', `${base}?${query}`);
        if (seq !== state.listSeq) return;
        entries.push(...(body.entries || []));
        const next = body.next ?? body.next_offset ?? null;
        if (next === null || next === undefined) break;
        cursor = String(next);
      }
    } catch (err) {
      if (seq !== state.listSeq) return;
      state.entries = [];
      renderListing();
      showError(err, `Cannot open ${dir || 'your home'}`);
      return;
    }
    // Folders first, each group in the server's order.
    state.entries = [
      ...entries.filter((e) => e.kind === 'dir'),
      ...entries.filter((e) => e.kind !== 'dir'),
    ];
    renderListing();
  }

  function renderListing() {
    const list = $('listing');
    list.replaceChildren(...state.entries.map(entryRow));
    show($('empty'), state.entries.length === 0);
    list.setAttribute('aria-busy', 'false');
  }

  function entryRow(entry) {
    const path = joinPath(state.dir, entry.name);
    const isDir = entry.kind === 'dir';
    const name = isDir
      ? el('a', { class: 'name', href: hashOf(path), text: entry.name })
      : el('span', { class: 'name', text: entry.name });
    const actions = el('span', { class: 'actions' });
    if (entry.kind === 'file') {
      actions.append(el('a', {
        class: 'button',
        href: `/api/v1/files/${encodePath(path)}`,
        download: entry.name,
        'aria-label': `Download ${entry.name}`,
        text: 'Download',
      }));
    }
    const action = (label, handler) =>
      el('button', { type: 'button', 'aria-label': `${label} ${entry.name}`, text: label, onclick: () => handler(entry, path) });
    actions.append(
      action('Rename', renameEntry),
      action('Move', moveEntry),
      action('Share', shareEntry),
      el('button', {
        type: 'button', class: 'danger-text', 'aria-label': `Delete ${entry.name}`, text: 'Delete',
        onclick: () => deleteEntry(entry, path),
      }),
    );
    return el('li', { class: `entry ${isDir ? 'is-dir' : 'is-file'}`, 'data-name': entry.name },
      el('span', { class: 'icon', 'aria-hidden': 'true' }),
      name,
      el('span', { class: 'size num', text: isDir ? '' : formatSize(entry.size) }),
      el('span', { class: 'modified', text: formatTime(entry.modified) }),
      actions);
  }

  async function refreshUsage() {
    try {
      const usage = await apiJson('GET', 'usage');
      const meter = $('usage-meter');
      const used = usage.used + (usage.partials || 0);
      if (usage.quota) {
        meter.max = usage.quota;
        meter.value = Math.min(used, usage.quota);
        meter.high = usage.quota * 0.9;
        show(meter, true);
        $('usage-text').textContent = `${formatSize(used)} of ${formatSize(usage.quota)} used`;
      } else {
        show(meter, false);
        $('usage-text').textContent = `${formatSize(used)} used`;
      }
      $('usage').title = usage.partials
        ? `${formatSize(usage.partials)} of it in unfinished uploads`
        : '';
    } catch (err) {
      $('usage-text').textContent = 'usage unknown';
    }
  }

  function refreshAll() {
    loadListing();
    refreshUsage();
  }

  // ---- dialogs ----------------------------------------------------------------

  /** Opens a <dialog> modally and gives focus back where it was when it closes. */
  function openDialog(dialog, focus) {
    const before = document.activeElement;
    dialog.addEventListener('close', () => {
      const back = before && document.contains(before) ? before : $('upload-files-button');
      back.focus();
    }, { once: true });
    dialog.showModal();
    if (focus) focus.focus();
  }

  /** A one-line question; resolves with the answer, or null when cancelled (Escape too). */
  function promptDialog({ title, label, value, hint, ok, select }) {
    const dialog = $('prompt-dialog');
    $('prompt-title').textContent = title;
    $('prompt-label').textContent = label;
    $('prompt-hint').textContent = hint || '';
    $('prompt-ok').textContent = ok || 'OK';
    const input = $('prompt-input');
    input.value = value || '';
    return new Promise((resolve) => {
      const form = $('prompt-form');
      const done = (answer) => {
        form.removeEventListener('submit', onSubmit);
        $('prompt-cancel').removeEventListener('click', onCancel);
        dialog.removeEventListener('cancel', onCancel);
        dialog.close();
        resolve(answer);
      };
      const onSubmit = (event) => {
        event.preventDefault();
        const answer = input.value.trim();
        if (!answer && input.required) return;
        done(answer);
      };
      const onCancel = (event) => {
        event.preventDefault();
        done(null);
      };
      form.addEventListener('submit', onSubmit);
      $('prompt-cancel').addEventListener('click', onCancel);
      dialog.addEventListener('cancel', onCancel);
      openDialog(dialog, input);
      if (select) input.setSelectionRange(select[0], select[1]);
      else input.select();
    });
  }

  function confirmDialog({ title, text, ok }) {
    const dialog = $('confirm-dialog');
    $('confirm-title').textContent = title;
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = ok || 'OK';
    return new Promise((resolve) => {
      const form = $('confirm-form');
      const done = (answer) => {
        form.removeEventListener('submit', onSubmit);
        $('confirm-cancel').removeEventListener('click', onCancel);
        dialog.removeEventListener('cancel', onCancel);
        dialog.close();
        resolve(answer);
      };
      const onSubmit = (event) => {
        event.preventDefault();
        done(true);
      };
      const onCancel = (event) => {
        event.preventDefault();
        done(false);
      };
      form.addEventListener('submit', onSubmit);
      $('confirm-cancel').addEventListener('click', onCancel);
      dialog.addEventListener('cancel', onCancel);
      // The safe answer has the focus: Enter right away cancels.
      openDialog(dialog, $('confirm-cancel'));
    });
  }

  // ---- name operations ------------------------------------------------------------

  function checkName(name) {
    if (!name || name === '.' || name === '..' || name.includes('/') || name.includes('\\')) {
      throw ND.errorOf(400, 'bad_request', `“${name}” is not a valid name (no slashes, not . or ..)`);
    }
  }

  async function mkdir() {
    const name = await promptDialog({ title: 'New folder', label: 'Folder name', ok: 'Create' });
    if (name === null) return;
    try {
      checkName(name);
      await ND.json(await api('POST', `mkdir/${encodePath(joinPath(state.dir, name))}`));
      notice(`Created folder ${name}`);
      clearError();
      loadListing();
    } catch (err) {
      showError(err, `Cannot create ${name}`);
    }
  }

  async function renameEntry(entry, path) {
    const dot = entry.kind === 'dir' ? -1 : entry.name.lastIndexOf('.');
    const name = await promptDialog({
      title: `Rename ${entry.kind === 'dir' ? 'folder' : 'file'}`,
      label: 'New name',
      value: entry.name,
      ok: 'Rename',
      select: [0, dot > 0 ? dot : entry.name.length],
    });
    if (name === null || name === entry.name) return;
    try {
      checkName(name);
      await ND.json(await api('POST', 'move', { from: path, to: joinPath(state.dir, name) }));
      notice(`Renamed ${entry.name} to ${name}`);
      clearError();
      loadListing();
    } catch (err) {
      showError(err, `Cannot rename ${entry.name}`);
    }
  }

  /** A folder typed by the user: relative to the home, `~/` and slashes at the ends allowed. */
  function cleanFolder(text) {
    return text.trim().replace(/^~(\/|$)/, '').replace(/^\/+|\/+$/g, '');
  }

  async function moveEntry(entry, path) {
    const answer = await promptDialog({
      title: `Move ${entry.name}`,
      label: 'To folder',
      value: state.dir,
      hint: 'A folder in your home, e.g. photos/2026 (empty: the home itself). It must exist.',
      ok: 'Move',
    });
    if (answer === null) return;
    const target = cleanFolder(answer);
    if (target === state.dir) return;
    try {
      // mv(1)'s meaning on the server: into the folder, keeping the name.
      await ND.json(await api('POST', 'move', { from: path, to: target }));
      notice(`Moved ${entry.name} to ${target ? target : 'your home'}`);
      clearError();
      loadListing();
    } catch (err) {
      showError(err, `Cannot move ${entry.name}`);
    }
  }

  async function deleteEntry(entry, path) {
    const isDir = entry.kind === 'dir';
    const yes = await confirmDialog({
      title: isDir ? 'Delete folder?' : 'Delete file?',
      text: isDir
        ? `Delete the folder “${entry.name}” and everything in it? This cannot be undone.`
        : `Delete “${entry.name}”? This cannot be undone.`,
      ok: 'Delete',
    });
    if (!yes) return;
    try {
      const query = isDir ? '?recursive=true' : '';
      await ND.json(await api('DELETE', `files/${encodePath(path)}${query}`));
      notice(`Deleted ${entry.name}`);
      clearError();
      refreshAll();
    } catch (err) {
      showError(err, `Cannot delete ${entry.name}`);
    }
  }

  // ---- share links ---------------------------------------------------------------

  function shareEntry(entry, path) {
    const dialog = $('share-dialog');
    const isDir = entry.kind === 'dir';
    $('share-title').textContent = `Share ${isDir ? 'folder' : 'file'}`;
    $('share-what').textContent = `~/${path}`;
    $('share-password').value = '';
    $('share-max').value = '';
    $('share-upload-only').checked = false;
    show($('share-upload-row'), isDir);
    show($('share-error'), false);
    show($('share-result'), false);
    show($('share-ok'), true);
    const form = $('share-form');
    const done = () => {
      form.removeEventListener('submit', onSubmit);
      $('share-cancel').removeEventListener('click', onClose);
      dialog.close();
    };
    const onClose = (event) => {
      event.preventDefault();
      done();
    };
    const onSubmit = async (event) => {
      event.preventDefault();
      const request = { path };
      const password = $('share-password').value;
      if (password) request.password = password;
      const expires = $('share-expires').value;
      if (expires) request.expires_in = Number(expires);
      const max = $('share-max').value.trim();
      if (max) {
        const count = Number(max);
        if (!Number.isInteger(count) || count < 1) {
          $('share-error').textContent = 'Most downloads must be a whole number, 1 or more.';
          show($('share-error'), true);
          return;
        }
        request.max_downloads = count;
      }
      if (isDir && $('share-upload-only').checked) request.upload_only = true;
      try {
        const share = await apiJson('POST', 'shares', request);
        const url = new URL(share.url, location.origin).href;
        $('share-url').value = url;
        show($('share-result'), true);
        show($('share-ok'), false);
        show($('share-error'), false);
        $('share-url').focus();
        $('share-url').select();
      } catch (err) {
        $('share-error').textContent = describe(err);
        show($('share-error'), true);
      }
    };
    form.addEventListener('submit', onSubmit);
    $('share-cancel').addEventListener('click', onClose);
    dialog.addEventListener('close', () => {
      form.removeEventListener('submit', onSubmit);
      $('share-cancel').removeEventListener('click', onClose);
    }, { once: true });
    openDialog(dialog, $('share-password'));
  }

  async function copyFrom(input, button) {
    const ok = await ND.copyText(input.value, input);
    button.textContent = ok ? 'Copied' : 'Copy failed';
  }

  async function openShares() {
    const dialog = $('shares-dialog');
    if (!dialog.open) openDialog(dialog, $('shares-close'));
    const list = $('shares-list');
    list.replaceChildren();
    show($('shares-error'), false);
    show($('shares-empty'), false);
    let shares;
    try {
      shares = (await apiJson('GET', 'shares')).shares || [];
    } catch (err) {
      $('shares-error').textContent = describe(err);
      show($('shares-error'), true);
      return;
    }
    show($('shares-empty'), shares.length === 0);
    for (const share of shares) {
      const url = new URL(share.url, location.origin).href;
      const input = el('input', { readonly: true, value: url, 'aria-label': `Link to ${share.path}` });
      const facts = [share.kind === 'dir' ? 'folder' : 'file'];
      if (share.has_password) facts.push('password');
      if (share.upload_only) facts.push('upload only');
      // A drop box is never downloaded from: its count says nothing.
      if (!share.upload_only) {
        facts.push(share.max_downloads
          ? `${share.downloads} of ${share.max_downloads} downloads`
          : `${share.downloads} download${share.downloads === 1 ? '' : 's'}`);
      }
      facts.push(share.expires ? `expires ${new Date(share.expires * 1000).toLocaleString()}` : 'never expires');
      const copy = el('button', { type: 'button', text: 'Copy', 'aria-label': `Copy the link to ${share.path}` });
      copy.addEventListener('click', () => copyFrom(input, copy));
      const revoke = el('button', {
        type: 'button', class: 'danger-text', text: 'Revoke', 'aria-label': `Revoke the link to ${share.path}`,
        onclick: async () => {
          try {
            await ND.json(await api('DELETE', `shares/${encodeURIComponent(share.id)}`));
            await openShares();
            $('shares-close').focus();
          } catch (err) {
            $('shares-error').textContent = describe(err);
            show($('shares-error'), true);
          }
        },
      });
      list.append(el('li', { class: 'share' },
        el('strong', { class: 'filename', text: share.path }),
        el('span', { class: 'muted', text: facts.join(' · ') }),
        el('div', { class: 'copy-row' }, input, copy, revoke)));
    }
  }

  // ---- uploads --------------------------------------------------------------------

  const queue = { items: [], running: false, current: null, made: new Set() };

  /** Files picked or dropped: [{file, path}] relative to the current folder, [{dir}] for folders. */
  function enqueue(found) {
    const base = state.dir;
    let added = 0;
    for (const item of found) {
      if (item.dir !== undefined) {
        queue.items.push({ mkdirOnly: joinPath(base, item.dir), state: 'queued', size: 0, loaded: 0 });
        continue;
      }
      const target = joinPath(base, item.path);
      const row = transferRow(target, item.file.size);
      queue.items.push({ file: item.file, target, size: item.file.size, loaded: 0, state: 'queued', row });
      added += 1;
    }
    if (added) {
      // A new action: an older error is no longer news.
      clearError();
      show($('transfers'), true);
    }
    updateTotal();
    if (!queue.running) runQueue();
  }

  function transferRow(target, size) {
    const progress = el('progress', { max: Math.max(size, 1), value: 0, 'aria-label': `Upload of ${target}` });
    const status = el('span', { class: 'status muted', text: 'waiting' });
    const cancel = el('button', { type: 'button', class: 'small', text: 'Cancel', 'aria-label': `Cancel the upload of ${target}` });
    const li = el('li', { class: 'transfer', 'data-target': target },
      el('span', { class: 'filename', text: target }), progress, status, cancel);
    $('transfer-list').append(li);
    return { li, progress, status, cancel };
  }

  function setLoaded(item, loaded) {
    item.loaded = Math.min(loaded, item.size);
    item.row.progress.value = item.loaded;
    updateTotal();
  }

  function setStatus(item, text, kind) {
    item.row.status.textContent = text;
    item.row.status.className = `status ${kind || 'muted'}`;
  }

  function updateTotal() {
    const files = queue.items.filter((i) => i.file);
    const size = files.reduce((sum, i) => sum + i.size, 0);
    const loaded = files.reduce((sum, i) => sum + (i.state === 'done' ? i.size : i.loaded), 0);
    const done = files.filter((i) => i.state === 'done').length;
    const failed = files.filter((i) => i.state === 'failed').length;
    const bar = $('total-progress');
    bar.max = Math.max(size, 1);
    bar.value = size ? loaded : (files.length && done === files.length ? 1 : 0);
    let text = `${done} of ${files.length} files · ${formatSize(loaded)} of ${formatSize(size)}`;
    if (failed) text += ` · ${failed} failed`;
    $('total-text').textContent = text;
    $('transfers').dataset.state = queue.running ? 'running' : 'idle';
  }

  async function ensureDir(dir) {
    if (!dir || queue.made.has(dir)) return;
    await ND.json(await api('POST', `mkdir/${encodePath(dir)}?parents=true`));
    queue.made.add(dir);
  }

  async function runQueue() {
    queue.running = true;
    queue.made = new Set();
    updateTotal();
    let item;
    // Each pass takes one queued item; every item leaves the 'queued' state.
    while ((item = queue.items.find((i) => i.state === 'queued'))) {
      item.state = 'running';
      if (item.mkdirOnly !== undefined) {
        try {
          await ensureDir(item.mkdirOnly);
          item.state = 'done';
        } catch (err) {
          item.state = 'failed';
          showError(err, `Cannot create folder ${item.mkdirOnly}`);
        }
        continue;
      }
      queue.current = item;
      await uploadOne(item);
      queue.current = null;
      if (parentOf(item.target) === state.dir) loadListing();
    }
    queue.running = false;
    updateTotal();
    refreshAll();
  }

  async function uploadOne(item) {
    const controller = new AbortController();
    item.row.cancel.onclick = () => {
      item.cancelled = true;
      controller.abort();
    };
    setStatus(item, 'starting');
    try {
      await ensureDir(parentOf(item.target));
      if (item.size >= TUS_THRESHOLD && (await tusAvailable())) {
        await tusUpload(item, controller.signal);
      } else {
        await putUpload(item, controller.signal);
      }
      item.state = 'done';
      setLoaded(item, item.size);
      setStatus(item, item.resumedAt ? `done (resumed at ${formatSize(item.resumedAt)})` : 'done', 'ok');
    } catch (err) {
      item.state = 'failed';
      if (item.cancelled) {
        setStatus(item, 'cancelled');
        if (item.tusUrl) cancelTus(item);
      } else {
        setStatus(item, describe(err), 'error');
        showError(err, `Upload of ${item.target} failed`);
      }
    }
    item.row.cancel.hidden = true;
    updateTotal();
  }

  async function putUpload(item, signal) {
    setStatus(item, 'uploading');
    const headers = { 'X-CSRF-Token': state.csrf };
    if (item.file.lastModified) headers['X-Netdisk-Modified'] = String(Math.floor(item.file.lastModified / 1000));
    const xhr = await ND.xhrSend({
      method: 'PUT',
      url: `/api/v1/files/${encodePath(item.target)}`,
      headers,
      body: item.file,
      signal,
      onProgress: (loaded) => setLoaded(item, loaded),
    });
    if (xhr.status === 401) sessionEnded();
    if (xhr.status !== 201 && xhr.status !== 200) throw ND.xhrError(xhr);
  }

  // ---- tus (resumable uploads) ------------------------------------------------------

  async function tusAvailable() {
    if (state.tus !== null) return state.tus;
    try {
      const response = await api('OPTIONS', 'tus');
      const versions = response.headers.get('tus-version') || '';
      state.tus = response.ok && versions.split(',').map((v) => v.trim()).includes('1.0.0');
    } catch (_) {
      state.tus = false;
    }
    return state.tus;
  }

  function tusKey(item) {
    return `${TUS_PREFIX}${state.user}:${item.target}:${item.size}:${item.file.lastModified}`;
  }

  function base64(text) {
    const bytes = new TextEncoder().encode(text);
    let binary = '';
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return btoa(binary);
  }

  async function sha256Base64(blob) {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
    let binary = '';
    for (const byte of digest) binary += String.fromCharCode(byte);
    return btoa(binary);
  }

  /** The server's offset for a remembered upload; null if it no longer has it. */
  async function tusOffset(url) {
    const response = await fetch(url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' }, cache: 'no-store' });
    if (response.status === 404 || response.status === 410) return null;
    if (!response.ok) throw ND.errorOf(response.status, `http_${response.status}`, `the server answered ${response.status} for the upload`);
    const offset = Number(response.headers.get('upload-offset'));
    if (!Number.isSafeInteger(offset) || offset < 0) throw ND.errorOf(0, 'bad_answer', 'the server sent no valid Upload-Offset');
    return offset;
  }

  async function tusCreate(item) {
    const metadata = [`path ${base64(item.target)}`];
    if (item.file.lastModified) metadata.push(`modified ${base64(String(Math.floor(item.file.lastModified / 1000)))}`);
    const response = await api('POST', 'tus', undefined, {
      'Tus-Resumable': '1.0.0',
      'Upload-Length': String(item.size),
      'Upload-Metadata': metadata.join(','),
    });
    if (response.status !== 201) throw await ND.apiError(response);
    const location = response.headers.get('location');
    if (!location) throw ND.errorOf(0, 'bad_answer', 'the server sent no Location for the upload');
    const url = new URL(location, window.location.href);
    return url.pathname + url.search;
  }

  async function tusUpload(item, signal) {
    const key = tusKey(item);
    let url = null;
    let offset = 0;
    const saved = readSaved(key);
    if (saved) {
      setStatus(item, 'checking what the server has');
      const known = await tusOffset(saved.url);
      if (known !== null && known <= item.size) {
        url = saved.url;
        offset = known;
        if (offset > 0) item.resumedAt = offset;
      } else {
        localStorage.removeItem(key);
      }
    }
    if (!url) {
      url = await tusCreate(item);
      localStorage.setItem(key, JSON.stringify({ url, at: Date.now() }));
    }
    item.tusUrl = url;
    item.tusKey = key;
    setLoaded(item, offset);
    let failures = 0;
    let restarted = false;
    // Every pass sends a chunk (the offset grows) or spends one of a few failures.
    while (offset < item.size) {
      setStatus(item, item.resumedAt ? `resuming at ${formatSize(item.resumedAt)}` : 'uploading');
      const end = Math.min(item.size, offset + TUS_CHUNK);
      const chunk = item.file.slice(offset, end);
      const headers = {
        'Tus-Resumable': '1.0.0',
        'Upload-Offset': String(offset),
        'Content-Type': 'application/offset+octet-stream',
        'X-CSRF-Token': state.csrf,
      };
      if (window.crypto && crypto.subtle) headers['Upload-Checksum'] = `sha256 ${await sha256Base64(chunk)}`;
      const from = offset;
      let xhr;
      try {
        xhr = await ND.xhrSend({
          method: 'PATCH', url, headers, body: chunk, signal,
          onProgress: (loaded) => setLoaded(item, from + loaded),
        });
      } catch (err) {
        if (err.code === 'aborted' || ++failures > 4) throw err;
        // A cut connection: wait a little, then ask the server where it stands.
        setStatus(item, `connection lost; retrying (${failures})`);
        await delay(1000 * 2 ** (failures - 1), signal);
        const known = await tusOffset(url);
        if (known === null) throw ND.errorOf(404, 'not_found', 'the server no longer has this upload');
        offset = known;
        setLoaded(item, offset);
        continue;
      }
      if (xhr.status === 204) {
        const next = Number(xhr.getResponseHeader('upload-offset'));
        if (!Number.isSafeInteger(next) || next <= from || next > item.size) {
          throw ND.errorOf(0, 'bad_answer', 'the server sent an unexpected Upload-Offset');
        }
        offset = next;
        setLoaded(item, offset);
        continue;
      }
      if (xhr.status === 401) sessionEnded();
      if (xhr.status === 409 && ++failures <= 4) {
        // Our idea of the offset is wrong: take the server's.
        const known = await tusOffset(url);
        if (known === null) throw ND.errorOf(404, 'not_found', 'the server no longer has this upload');
        offset = known;
        continue;
      }
      if ((xhr.status === 404 || xhr.status === 410) && !restarted) {
        // Expired on the server: start over once.
        restarted = true;
        item.resumedAt = 0;
        url = await tusCreate(item);
        item.tusUrl = url;
        localStorage.setItem(key, JSON.stringify({ url, at: Date.now() }));
        offset = 0;
        setLoaded(item, 0);
        continue;
      }
      throw ND.xhrError(xhr);
    }
    localStorage.removeItem(key);
  }

  function delay(ms, signal) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      if (signal) {
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(ND.errorOf(0, 'aborted', 'cancelled'));
        }, { once: true });
      }
    });
  }

  /** A cancelled upload is terminated on the server and forgotten here. */
  async function cancelTus(item) {
    localStorage.removeItem(item.tusKey);
    try {
      await fetch(item.tusUrl, { method: 'DELETE', headers: { 'Tus-Resumable': '1.0.0', 'X-CSRF-Token': state.csrf } });
    } catch (_) {
      // The server forgets unfinished uploads on its own.
    }
  }

  function readSaved(key) {
    try {
      const saved = JSON.parse(localStorage.getItem(key) || 'null');
      return saved && typeof saved.url === 'string' && saved.url.startsWith('/api/v1/tus/') ? saved : null;
    } catch (_) {
      return null;
    }
  }

  function savedKeys() {
    const keys = [];
    for (let i = 0; i < localStorage.length; i += 1) {
      const key = localStorage.key(i);
      if (key && key.startsWith(`${TUS_PREFIX}${state.user}:`)) keys.push(key);
    }
    return keys;
  }

  function forgetStaleUploads() {
    for (const key of savedKeys()) {
      const saved = readSaved(key);
      if (!saved || Date.now() - (saved.at || 0) > TUS_KEEP_MS) localStorage.removeItem(key);
    }
  }

  function remindUnfinished() {
    const names = savedKeys().map((key) => key.slice(TUS_PREFIX.length + state.user.length + 1).replace(/:\d+:\d+$/, ''));
    notice(names.length
      ? `Unfinished upload${names.length > 1 ? 's' : ''}: ${names.join(', ')}. Add the same file${names.length > 1 ? 's' : ''} again to continue where ${names.length > 1 ? 'they' : 'it'} stopped.`
      : '');
  }

  // ---- pickers and drag and drop -------------------------------------------------------

  function pickedFiles(input) {
    const found = [];
    for (const file of input.files) {
      // A folder picker gives "folder/sub/file.txt"; a file picker just the name.
      found.push({ file, path: file.webkitRelativePath || file.name });
    }
    input.value = '';
    return found;
  }

  function setupDrop() {
    const zone = $('dropzone');
    let depth = 0;
    const hasFiles = (event) => Array.from(event.dataTransfer?.types || []).includes('Files');
    zone.addEventListener('dragenter', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth += 1;
      zone.classList.add('dragging');
      show($('drop-hint'), true);
    });
    zone.addEventListener('dragleave', () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) {
        zone.classList.remove('dragging');
        show($('drop-hint'), false);
      }
    });
    zone.addEventListener('dragover', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
    });
    zone.addEventListener('drop', async (event) => {
      event.preventDefault();
      depth = 0;
      zone.classList.remove('dragging');
      show($('drop-hint'), false);
      try {
        enqueue(await ND.droppedFiles(event.dataTransfer));
      } catch (err) {
        showError(err, 'Cannot read the dropped files');
      }
    });
    // A drop beside the zone must not open the file in place of the app.
    window.addEventListener('dragover', (event) => event.preventDefault());
    window.addEventListener('drop', (event) => event.preventDefault());
  }

  // ---- wiring ----------------------------------------------------------------------------

  function setSortControls() {
    $('sort-key').value = state.sortKey;
    $('sort-dir').textContent = state.desc ? '↓' : '↑';
    $('sort-dir').setAttribute('aria-label', `Sort order: ${state.desc ? 'descending' : 'ascending'}`);
  }

  function init() {
    $('login-form').addEventListener('submit', onLogin);
    $('logout-button').addEventListener('click', logout);
    $('mkdir-button').addEventListener('click', mkdir);
    $('shares-button').addEventListener('click', openShares);
    $('shares-close').addEventListener('click', () => $('shares-dialog').close());
    $('share-copy').addEventListener('click', () => copyFrom($('share-url'), $('share-copy')));
    $('upload-files-button').addEventListener('click', () => $('file-input').click());
    $('upload-folder-button').addEventListener('click', () => $('folder-input').click());
    $('file-input').addEventListener('change', (e) => enqueue(pickedFiles(e.target)));
    $('folder-input').addEventListener('change', (e) => enqueue(pickedFiles(e.target)));
    $('transfers-close').addEventListener('click', () => {
      queue.items = queue.items.filter((i) => i.state === 'queued' || i.state === 'running');
      $('transfer-list').replaceChildren(...queue.items.filter((i) => i.row).map((i) => i.row.li));
      show($('transfers'), queue.items.length > 0);
      updateTotal();
      $('upload-files-button').focus();
    });
    $('sort-key').addEventListener('change', () => {
      state.sortKey = $('sort-key').value;
      localStorage.setItem('nd.sort', state.sortKey);
      loadListing();
    });
    $('sort-dir').addEventListener('click', () => {
      state.desc = !state.desc;
      localStorage.setItem('nd.desc', String(state.desc));
      setSortControls();
      loadListing();
    });
    setSortControls();
    setupDrop();
    window.addEventListener('hashchange', navigate);
    // Leaving during a plain PUT loses it; a tus upload resumes, so no question then.
    window.addEventListener('beforeunload', (event) => {
      if (queue.current && !queue.current.tusUrl && queue.current.size >= TUS_THRESHOLD) event.preventDefault();
    });
    checkSession();
  }

  async function checkSession() {
    try {
      const response = await fetch('/api/v1/session', { credentials: 'same-origin', cache: 'no-store' });
      if (response.ok) {
        const session = await response.json();
        if (session.csrf) {
          startApp(session);
          return;
        }
      }
      showLogin('');
    } catch (_) {
      showLogin('The server cannot be reached.');
    }
  }

  init();
})();
