// Shared by every page: calls to the JSON API with the login cookie and the CSRF header, and logging out.
"use strict";

const Bilu = (() => {
  function csrfToken() {
    const found = document.cookie.split("; ").find((part) => part.startsWith("bilu_csrf="));
    return found ? decodeURIComponent(found.slice("bilu_csrf=".length)) : "";
  }

  class ApiError extends Error {
    constructor(status, body) {
      super(typeof body.detail === "string" ? body.detail : `HTTP ${status}`);
      this.status = status;
      this.body = body;
    }
  }

  // fetch a JSON endpoint; unsafe methods carry the X-CSRF-Token header. Throws ApiError on a non-2xx answer.
  async function api(method, url, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401) {
      location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
      throw new ApiError(401, { detail: "请重新登录" });
    }
    const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  function clock(seconds) {
    const total = Math.floor(seconds || 0);
    const pad = (n) => String(n).padStart(2, "0");
    return `${pad(Math.floor(total / 3600))}:${pad(Math.floor(total / 60) % 60)}:${pad(total % 60)}`;
  }

  function zhDateTime(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}年${d.getMonth() + 1}月${d.getDate()}日 ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  // An element with text content only: data never goes through innerHTML.
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Level meters, one per seat (channel), from levels_db (dBFS, -90 silence .. 0 full scale); null empties them.
  // The bar spans -60..0 dB: speech at a seat microphone sits around -30..-10.
  function showLevels(box, levels) {
    box.replaceChildren();
    (levels || []).forEach((db, i) => {
      const meter = el("span", "seat-level");
      meter.title = `座位 ${i + 1}：${db.toFixed(0)} dB`;
      const bar = el("span", `bar${db > -3 ? " clip" : ""}`);
      bar.style.width = `${Math.max(0, Math.min(100, (db + 60) / 60 * 100))}%`;
      meter.append(el("span", "seat", `座位${i + 1}`), el("span", "track"));
      meter.lastChild.append(bar);
      meter.dataset.db = String(db);
      box.append(meter);
    });
  }

  const logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", async () => {
      try { await api("POST", "/auth/logout"); } finally { location.href = "/login"; }
    });
  }

  return { api, ApiError, clock, zhDateTime, el, csrfToken, showLevels };
})();
