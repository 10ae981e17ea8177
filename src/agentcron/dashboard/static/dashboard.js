// agentcron dashboard: swaps the server-rendered panels in place when something changes.
// Live: reads the SSE stream /v1/events/stream with fetch (so the token goes in a header)
// and refreshes on each event, plus every 6 s (schedule edits are not events). Without a
// stream (404) or while it is down: refreshes every 2 s. No build step, no dependencies.
(() => {
  "use strict";
  const body = document.body;
  const base = body.dataset.base || "";
  const tokenKey = "agentcron.token:" + (base || "/");
  const POLL_MS = 2000, LIVE_EVERY = 3, RETRY_MS = 3000, BURST_MS = 500;
  const $ = (id) => document.getElementById(id);
  const state = {
    token: localStorage.getItem(tokenKey), mode: "loading", locked: false, busy: false,
    again: false, soon: null, flashing: null, lastEventId: null, stream: null, seen: new Map(), ticks: 0,
  };

  const headers = (extra) => {
    const h = Object.assign({}, extra);
    if (state.token) h.Authorization = "Bearer " + state.token;
    return h;
  };
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

  function setMode(mode) {
    state.mode = mode;
    const conn = $("conn");
    conn.textContent = { live: "live", polling: "polling every 2s", offline: "offline",
      locked: "token needed" }[mode] || mode;
    conn.dataset.mode = mode;
  }

  function flash(text, bad) {
    const el = $("flash");
    el.textContent = text;
    el.classList.toggle("bad", !!bad);
    el.hidden = !text;
    clearTimeout(state.flashing);
    state.flashing = setTimeout(() => { el.hidden = true; }, bad ? 15000 : 5000);
  }

  async function problem(response) {
    try {
      const data = await response.json();
      return data.error.message || response.statusText;
    } catch (_) {
      return response.status + " " + response.statusText;
    }
  }

  // -- token ---------------------------------------------------------------------------------
  function lock(message) {
    state.locked = true;
    if (state.stream) state.stream.abort();
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("sign-out").hidden = true;
    setMode("locked");
    $("token").focus();
  }

  function unlock() {
    const was = state.locked;
    state.locked = false;
    $("login").hidden = true;
    $("sign-out").hidden = !state.token;
    if (was) connect();
  }

  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = $("token").value.trim();
    localStorage.setItem(tokenKey, state.token);
    $("token").value = "";
    refresh();
  });

  $("sign-out").addEventListener("click", () => {
    localStorage.removeItem(tokenKey);
    state.token = null;
    lock("");
  });

  // -- panels --------------------------------------------------------------------------------
  async function refresh() {
    if (state.busy) { state.again = true; return null; }
    state.busy = true;
    try {
      const r = await fetch(base + "/dashboard/panels", { headers: headers(), cache: "no-store" });
      if (r.status === 401) { lock(state.token ? "That token was refused." : ""); return 401; }
      if (!r.ok) { flash(await problem(r), true); return r.status; }
      swap(await r.text());
      unlock();
      if (state.mode === "offline") setMode("polling");
      return 200;
    } catch (_) {
      setMode("offline");
      return null;
    } finally {
      state.busy = false;
      if (state.again) { state.again = false; refresh(); }
    }
  }

  function swap(html) {  // replace only the sections whose server HTML changed, in order
    const fresh = document.createElement("template");
    fresh.innerHTML = html;
    const panels = $("panels"), ids = new Set();
    let previous = null;
    for (const section of Array.from(fresh.content.children)) {
      ids.add(section.id);
      const text = section.outerHTML;
      let old = $(section.id);
      if (state.seen.get(section.id) !== text || !old) {
        state.seen.set(section.id, text);
        if (old) old.replaceWith(section); else if (previous) previous.after(section);
        else panels.prepend(section);
        old = section;
      }
      previous = old;
    }
    for (const gone of Array.from(panels.children)) {  // a panel shown only when it has rows
      if (!ids.has(gone.id)) { state.seen.delete(gone.id); gone.remove(); }
    }
    tick();
  }

  function refreshSoon() {
    if (!state.soon) state.soon = setTimeout(() => { state.soon = null; refresh(); }, BURST_MS);
  }

  // -- buttons -------------------------------------------------------------------------------
  const runs = (n) => n + (n === 1 ? " run" : " runs");
  async function queued(response) {  // a fanned-out trigger answers how many runs it queued
    try {
      const data = await response.json();
      if (typeof data.queued !== "number") return "";
      const skipped = data.skipped ? ", " + runs(data.skipped) + " skipped (limit)" : "";
      return ": " + runs(data.queued) + " queued (one per subject)" + skipped;
    } catch (_) {
      return "";
    }
  }


  async function send(button, path, data, done) {  // POST (JSON data, if any); flash; refresh
    button.disabled = true;
    try {
      const init = { method: "POST", headers: headers() };
      if (data !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(data);
      }
      const r = await fetch(base + path, init);
      if (r.status === 401) return lock("The token was refused: enter it again.");
      flash(r.ok ? done + await queued(r) : await problem(r), !r.ok);
      await refresh();
    } catch (error) {
      flash("request failed: " + error.message, true);
    } finally {
      button.disabled = false;
    }
  }

  function answer(button) {  // an agent's proposed tool call: signal "approve" to its run
    const row = button.closest("tr"), id = row.dataset.run;
    const path = "/v1/runs/" + id + "/signals/approve";
    if (button.dataset.reject !== undefined) {
      const note = window.prompt("Reject the call of run #" + id + "? A note for the model (optional):", "");
      if (note === null) return null;
      const data = { approved: false };
      if (note.trim()) data.note = note.trim();
      return send(button, path, data, "rejected the call of run " + id);
    }
    const box = row.querySelector("textarea.args");
    let args = null;
    try { args = JSON.parse(box.value); } catch (_) { /* reported below */ }
    if (args === null || typeof args !== "object" || Array.isArray(args)) {
      return flash("The arguments must be a JSON object.", true);
    }
    const data = { approved: true };
    if (box.value !== box.defaultValue) data.args = args;  // edited by the person
    return send(button, path, data, "approved the call of run " + id);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-post], button[data-approve], button[data-reject]");
    if (!button) return;
    if (button.dataset.post) send(button, button.dataset.post, undefined, button.dataset.done);
    else answer(button);
  });

  // -- live updates --------------------------------------------------------------------------
  async function connect() {  // one stream at a time; reconnects until locked or unsupported
    if (state.stream) state.stream.abort();
    const stream = state.stream = new AbortController();
    while (!stream.signal.aborted) {
      const h = headers({ Accept: "text/event-stream" });
      if (state.lastEventId) h["Last-Event-ID"] = state.lastEventId;
      let r = null;
      try {
        r = await fetch(base + "/v1/events/stream", { headers: h, signal: stream.signal });
      } catch (_) { /* down, or aborted */ }
      if (stream.signal.aborted) return;
      if (r && r.status === 401) return lock("The token was refused: enter it again.");
      if (r && r.status >= 400 && r.status < 500 && r.status !== 429) {
        return setMode("polling");  // no stream here (404), or not one this page can read
      }
      if (r && r.ok && r.body) {
        setMode("live");
        refresh();  // whatever changed before the stream opened
        try { await read(r.body); } catch (_) { /* dropped */ }
        if (stream.signal.aborted) return;
      }
      setMode(state.mode === "offline" ? "offline" : "polling");
      await sleep(RETRY_MS);
    }
  }

  async function read(stream) {
    const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer = (buffer + value).replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        onMessage(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  }

  function onMessage(block) {  // SSE: "id:", "event:", "data:" lines; ":" lines are comments
    let data = false;
    for (const line of block.split("\n")) {
      if (line.startsWith("id:")) state.lastEventId = line.slice(3).trim();
      else if (line.startsWith("data:")) data = true;
    }
    if (data) refreshSoon();
  }

  // -- relative times ("in 4m10s", "3s ago"), every second -----------------------------------
  function ago(ms) {
    let s = Math.round(Math.abs(ms) / 1000);
    if (s === 0) return "now";
    const units = [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]], parts = [];
    for (const [unit, size] of units) {
      if (s >= size && parts.length < 2) { parts.push(Math.floor(s / size) + unit); s %= size; }
    }
    return ms > 0 ? "in " + parts.join("") : parts.join("") + " ago";
  }

  function tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll(".rel[data-ts]")) {
      el.textContent = ago(Date.parse(el.dataset.ts) - now);
    }
  }

  // -- start ---------------------------------------------------------------------------------
  for (const section of $("panels").children) state.seen.set(section.id, section.outerHTML);
  tick();
  setInterval(tick, 1000);
  setInterval(() => {
    if (state.locked || document.hidden) return;
    state.ticks += 1;
    if (state.mode !== "live" || state.ticks % LIVE_EVERY === 0) refresh();
  }, POLL_MS);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && !state.locked) refresh();
  });
  if (body.dataset.needsToken === "1" && !state.token) lock("");
  else { $("sign-out").hidden = !state.token; setMode("polling"); refresh(); connect(); }
})();
