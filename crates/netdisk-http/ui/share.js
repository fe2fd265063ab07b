// The public page of a share link (/s/{token}): no login. A file link
// offers its download, a folder link a read-only listing, an upload-only
// link a drop box. Text from the server goes in as textContent only.
'use strict';

(() => {
  const { el, $, show, formatSize, formatTime, encodePath, joinPath, describe } = ND;

  const token = decodeURIComponent(location.pathname.replace(/^\/s\//, '').split('/')[0] || '');
  const base = `/api/v1/public/${encodeURIComponent(token)}`;
  let info = null;

  async function call(method, path, body) {
    const init = { method, credentials: 'same-origin', cache: 'no-store', headers: {} };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    try {
      return await fetch(`${base}${path}`, init);
    } catch (_) {
      throw ND.errorOf(0, 'network', 'the server cannot be reached');
    }
  }

  function hideAll() {
    for (const id of ['loading', 'gone', 'unlock-form', 'file-view', 'dir-view', 'drop-view']) show($(id), false);
  }

  /** 404 and 410 end the page with a plain sentence; anything else shows the API's message. */
  function showGone(status, err) {
    hideAll();
    const title = status === 404
      ? 'This link does not exist'
      : status === 410
        ? 'This link has expired'
        : 'This link cannot be opened';
    $('gone-title').textContent = title;
    $('gone-text').textContent = status === 404
      ? 'It may have been revoked, or the address is mistyped.'
      : status === 410
        ? 'Ask the person who shared it for a new link.'
        : describe(err);
    document.title = `${title} · netdisk`;
    show($('gone'), true);
  }

  async function load() {
    if (!token) {
      showGone(404);
      return;
    }
    let response;
    try {
      response = await call('GET', '');
    } catch (err) {
      showGone(0, err);
      return;
    }
    if (!response.ok) {
      showGone(response.status, await ND.apiError(response));
      return;
    }
    info = await response.json();
    hideAll();
    if (info.has_password && !info.unlocked) {
      show($('unlock-form'), true);
      $('unlock-password').focus();
      return;
    }
    document.title = `${info.name || 'Shared'} · netdisk`;
    if (info.kind === 'file') showFile();
    else if (info.upload_only) showDrop();
    else {
      show($('dir-view'), true);
      $('dir-name').textContent = info.name || 'Shared folder';
      window.addEventListener('hashchange', listDir);
      listDir();
    }
  }

  async function onUnlock(event) {
    event.preventDefault();
    const password = $('unlock-password').value;
    const error = $('unlock-error');
    if (!password) {
      error.textContent = 'Enter the password.';
      show(error, true);
      return;
    }
    $('unlock-submit').disabled = true;
    try {
      const response = await call('POST', '/unlock', { password });
      if (response.status === 204 || response.ok) {
        $('unlock-password').value = '';
        show(error, false);
        await load();
        return;
      }
      if (response.status === 404 || response.status === 410) {
        showGone(response.status);
        return;
      }
      const err = await ND.apiError(response);
      error.textContent = response.status === 401
        ? 'Wrong password.'
        : response.status === 429
          ? `Too many tries. Wait ${err.retryAfter || 'a few'} seconds.`
          : describe(err);
      show(error, true);
      $('unlock-password').select();
    } catch (err) {
      error.textContent = describe(err);
      show(error, true);
    } finally {
      $('unlock-submit').disabled = false;
    }
  }

  function showFile() {
    show($('file-view'), true);
    $('file-name').textContent = info.name || 'Shared file';
    $('file-size').textContent = info.size !== undefined && info.size !== null ? formatSize(info.size) : '';
    const link = $('file-download');
    link.href = `${base}/file`;
    link.setAttribute('download', info.name || '');
    link.setAttribute('aria-label', `Download ${info.name || 'the file'}`);
  }

  // ---- folder links ---------------------------------------------------------

  function renderCrumbs(sub) {
    const parts = sub ? sub.split('/') : [];
    const list = el('ol');
    const crumb = (label, path, current) =>
      el('li', {}, current
        ? el('span', { 'aria-current': 'page', text: label })
        : el('a', { href: `#/${encodePath(path)}`, text: label }));
    list.append(crumb(info.name || 'Shared folder', '', parts.length === 0));
    parts.forEach((part, i) => list.append(crumb(part, parts.slice(0, i + 1).join('/'), i === parts.length - 1)));
    $('share-breadcrumbs').replaceChildren(list);
  }

  async function listDir() {
    const sub = ND.pathFromHash();
    renderCrumbs(sub);
    show($('dir-error'), false);
    let entries;
    try {
      const response = await call('GET', sub ? `/list?${new URLSearchParams({ path: sub })}` : '/list');
      if (response.status === 410 || (response.status === 404 && !sub)) {
        showGone(response.status);
        return;
      }
      entries = (await ND.json(response)).entries || [];
    } catch (err) {
      $('dir-error').textContent = describe(err);
      show($('dir-error'), true);
      $('share-listing').replaceChildren();
      return;
    }
    if (sub !== ND.pathFromHash()) return;
    const sorted = [...entries.filter((e) => e.kind === 'dir'), ...entries.filter((e) => e.kind !== 'dir')];
    $('share-listing').replaceChildren(...sorted.map((entry) => {
      const path = joinPath(sub, entry.name);
      const isDir = entry.kind === 'dir';
      const name = isDir
        ? el('a', { class: 'name', href: `#/${encodePath(path)}`, text: entry.name })
        : el('span', { class: 'name', text: entry.name });
      const actions = el('span', { class: 'actions' });
      if (entry.kind === 'file') {
        actions.append(el('a', {
          class: 'button',
          href: `${base}/file?${new URLSearchParams({ path })}`,
          download: entry.name,
          'aria-label': `Download ${entry.name}`,
          text: 'Download',
        }));
      }
      return el('li', { class: `entry ${isDir ? 'is-dir' : 'is-file'}`, 'data-name': entry.name },
        el('span', { class: 'icon', 'aria-hidden': 'true' }),
        name,
        el('span', { class: 'size num', text: isDir ? '' : formatSize(entry.size) }),
        el('span', { class: 'modified', text: formatTime(entry.modified) }),
        actions);
    }));
    show($('dir-empty'), sorted.length === 0);
  }

  // ---- upload-only links --------------------------------------------------------

  function showDrop() {
    show($('drop-view'), true);
    $('drop-name').textContent = info.name ? `Upload to ${info.name}` : 'Upload files';
    const zone = $('share-dropzone');
    const input = $('drop-input');
    $('drop-pick').addEventListener('click', () => input.click());
    input.addEventListener('change', () => {
      const files = Array.from(input.files);
      input.value = '';
      uploadAll(files);
    });
    zone.addEventListener('dragover', (event) => {
      event.preventDefault();
      zone.classList.add('dragging');
    });
    zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
    zone.addEventListener('drop', async (event) => {
      event.preventDefault();
      zone.classList.remove('dragging');
      try {
        // Folders are flattened away: the link takes files by name only.
        const found = await ND.droppedFiles(event.dataTransfer);
        uploadAll(found.filter((item) => item.file).map((item) => item.file));
      } catch (err) {
        $('drop-error').textContent = describe(err);
        show($('drop-error'), true);
      }
    });
    window.addEventListener('dragover', (event) => event.preventDefault());
    window.addEventListener('drop', (event) => event.preventDefault());
  }

  let running = Promise.resolve();

  function uploadAll(files) {
    for (const file of files) {
      const progress = el('progress', { max: Math.max(file.size, 1), value: 0, 'aria-label': `Upload of ${file.name}` });
      const status = el('span', { class: 'status muted', text: 'waiting' });
      $('drop-list').append(el('li', { class: 'transfer', 'data-target': file.name },
        el('span', { class: 'filename', text: file.name }), progress, status));
      // One at a time, in order.
      running = running.then(() => uploadOne(file, progress, status));
    }
  }

  async function uploadOne(file, progress, status) {
    status.textContent = 'uploading';
    try {
      const xhr = await ND.xhrSend({
        method: 'PUT',
        url: `${base}/file?${new URLSearchParams({ name: file.name })}`,
        body: file,
        onProgress: (loaded) => {
          progress.value = loaded;
        },
      });
      if (xhr.status !== 201 && xhr.status !== 200 && xhr.status !== 204) {
        if (xhr.status === 410) status.textContent = 'this link has expired';
        throw ND.xhrError(xhr);
      }
      progress.value = progress.max;
      status.textContent = 'done';
      status.className = 'status ok';
    } catch (err) {
      status.textContent = err.status === 409 ? 'a file of this name is there already' : describe(err);
      status.className = 'status error';
    }
  }

  $('unlock-form').addEventListener('submit', onUnlock);
  load();
})();
