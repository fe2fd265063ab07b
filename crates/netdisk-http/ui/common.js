// Helpers shared by the app (app.js) and the share page (share.js).
// Every piece of text from the server or the user goes into the page as
// textContent: nothing here ever parses data as HTML.
'use strict';

const ND = (() => {
  /** An element with attributes/properties and children (strings become text nodes). */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else if (key in node && typeof value !== 'string') node[key] = value;
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  const $ = (id) => document.getElementById(id);

  function show(node, visible) {
    node.hidden = !visible;
  }

  /** Sizes as people read them: 1000-based like the CLI's K/M/G. */
  function formatSize(bytes) {
    if (bytes === null || bytes === undefined) return '';
    if (bytes < 1000) return `${bytes} B`;
    const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
    let value = bytes;
    let unit = -1;
    while (value >= 1000 && unit < units.length - 1) {
      value /= 1000;
      unit += 1;
    }
    return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
  }

  function formatTime(seconds) {
    if (seconds === null || seconds === undefined) return '';
    const date = new Date(seconds * 1000);
    const now = new Date();
    const sameDay = date.toDateString() === now.toDateString();
    return sameDay
      ? date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
      : date.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
  }

  /** A path relative to the home, for a URL: each component percent-encoded. */
  function encodePath(path) {
    return path.split('/').filter((part) => part !== '').map(encodeURIComponent).join('/');
  }

  /** The folder in the URL's fragment: #/photos/2026 (components percent-encoded). */
  function pathFromHash() {
    const raw = location.hash.replace(/^#\/?/, '');
    try {
      return raw.split('/').filter(Boolean).map(decodeURIComponent).join('/');
    } catch (_) {
      return '';
    }
  }

  function joinPath(dir, name) {
    return dir ? `${dir}/${name}` : name;
  }

  function parentOf(path) {
    const at = path.lastIndexOf('/');
    return at < 0 ? '' : path.slice(0, at);
  }

  /** An API error answer as an Error with .status, .code, .retryAfter. */
  async function apiError(response) {
    let code = `http_${response.status}`;
    let message = `${response.status} ${response.statusText || 'error'}`;
    try {
      const body = await response.json();
      if (body && body.error) {
        code = String(body.error.code || code);
        message = String(body.error.message || message);
      }
    } catch (_) {
      // Not JSON (a proxy's page, a cut connection): keep the status line.
    }
    return errorOf(response.status, code, message, response.headers.get('retry-after'));
  }

  function errorOf(status, code, message, retryAfter) {
    const err = new Error(message);
    err.status = status;
    err.code = code;
    err.retryAfter = retryAfter ? Number(retryAfter) : null;
    return err;
  }

  /** The error as one line for people. */
  function describe(err) {
    if (!err) return 'Something went wrong';
    if (err.status === 429 && err.retryAfter) {
      return `${err.message} (try again in ${err.retryAfter} s)`;
    }
    if (err.code && !err.code.startsWith('http_')) return `${err.message} (${err.code})`;
    return err.message || String(err);
  }

  /** Reads a JSON answer, or throws its API error. */
  async function json(response) {
    if (!response.ok) throw await apiError(response);
    // 201 and 204 answers may have no body at all.
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }

  /**
   * An XMLHttpRequest upload with progress (fetch has no upload progress).
   * Resolves with the XHR for any status; rejects on a network failure or abort.
   */
  function xhrSend({ method, url, headers, body, onProgress, signal }) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url);
      for (const [key, value] of Object.entries(headers || {})) xhr.setRequestHeader(key, value);
      xhr.upload.addEventListener('progress', (event) => {
        if (onProgress) onProgress(event.loaded);
      });
      xhr.addEventListener('load', () => resolve(xhr));
      xhr.addEventListener('error', () => reject(errorOf(0, 'network', 'the connection failed')));
      xhr.addEventListener('abort', () => reject(errorOf(0, 'aborted', 'cancelled')));
      xhr.addEventListener('timeout', () => reject(errorOf(0, 'timeout', 'the server did not answer in time')));
      if (signal) {
        if (signal.aborted) {
          reject(errorOf(0, 'aborted', 'cancelled'));
          return;
        }
        signal.addEventListener('abort', () => xhr.abort(), { once: true });
      }
      xhr.send(body);
    });
  }

  /** An XHR answer's API error. */
  function xhrError(xhr) {
    let code = `http_${xhr.status}`;
    let message = `${xhr.status} ${xhr.statusText || 'error'}`;
    try {
      const body = JSON.parse(xhr.responseText);
      if (body && body.error) {
        code = String(body.error.code || code);
        message = String(body.error.message || message);
      }
    } catch (_) {
      // Not JSON: keep the status line.
    }
    return errorOf(xhr.status, code, message, xhr.getResponseHeader('retry-after'));
  }

  /**
   * The files under a drop: DataTransferItem.webkitGetAsEntry, folders
   * walked recursively. Yields {file, path} (path relative to the drop,
   * with '/' between folders) and {dir} for every folder (empty ones too).
   */
  async function droppedFiles(dataTransfer, limit = 100000) {
    const out = [];
    const entries = [];
    for (const item of dataTransfer.items || []) {
      if (item.kind !== 'file') continue;
      const entry = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
      if (entry) entries.push(entry);
      else {
        const file = item.getAsFile();
        if (file) out.push({ file, path: file.name });
      }
    }
    const readAll = (dir) =>
      new Promise((resolve, reject) => {
        const reader = dir.createReader();
        const all = [];
        // readEntries answers in batches until an empty one; bounded by `limit`.
        const next = () =>
          reader.readEntries((batch) => {
            if (batch.length === 0 || all.length >= limit) resolve(all);
            else {
              all.push(...batch);
              next();
            }
          }, reject);
        next();
      });
    const fileOf = (entry) => new Promise((resolve, reject) => entry.file(resolve, reject));
    const walk = async (entry, prefix) => {
      if (out.length >= limit) return;
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isFile) {
        out.push({ file: await fileOf(entry), path });
      } else if (entry.isDirectory) {
        out.push({ dir: path });
        for (const child of await readAll(entry)) await walk(child, path);
      }
    };
    for (const entry of entries) await walk(entry, '');
    return out;
  }

  /** Copies text, with a fallback where the Clipboard API is not allowed. */
  async function copyText(text, input) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (_) {
      if (input) {
        input.select();
        return document.execCommand('copy');
      }
      return false;
    }
  }

  return {
    el, $, show, formatSize, formatTime, encodePath, pathFromHash, joinPath, parentOf,
    apiError, errorOf, describe, json, xhrSend, xhrError, droppedFiles, copyText,
  };
})();
