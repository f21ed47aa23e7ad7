// The case page: start recording in a room; the new session's page then shows the transcript as it grows.
"use strict";

(() => {
  const form = document.getElementById("start-recording");
  if (!form) return;
  const error = document.getElementById("start-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const data = new FormData(form);
    const room = String(data.get("room") || "").trim();
    try {
      const started = await Bilu.api("POST", `/rooms/${encodeURIComponent(room)}/sessions`, {
        case_no: form.dataset.caseNo, channels: Number(data.get("channels") || 1),
        seat_roles: String(data.get("seat_roles") || ""), hotwords: String(data.get("hotwords") || "").trim() || null,
      });
      location.href = `/sessions/${started.session_id}/page`;
    } catch (exc) {
      error.textContent = `无法开始录音：${exc.message}`;
    }
  });
})();

// The rooms whose agent streams to the service: online or not, and each seat's level while one records
// (GET /rooms, polled). A click on a room's name fills the form.
(() => {
  const table = document.getElementById("agent-rooms");
  if (!table) return;
  const body = table.querySelector("tbody");
  const words = { recording: "在线，正在录音", offline: "离线（录音在审讯室继续，恢复后补传）", standing_by: "在线，待命",
    not_connected: "未连接", unknown: "状态未知" };
  async function poll() {
    try {
      const rooms = await Bilu.api("GET", "/rooms");
      table.hidden = rooms.length === 0;
      body.replaceChildren(...rooms.map((room) => {
        const row = Bilu.el("tr");
        row.dataset.room = room.name;
        row.dataset.agent = room.agent;
        const name = Bilu.el("td");
        const pick = Bilu.el("button", "link", room.name);
        pick.type = "button";
        pick.addEventListener("click", () => { document.querySelector("#start-recording [name=room]").value = room.name; });
        name.append(pick);
        const state = Bilu.el("td", `agent-state agent-${room.agent}`, words[room.agent] || room.agent);
        if (room.session_id) {
          const link = Bilu.el("a", null, ` 会话 ${room.session_id}`);
          link.href = `/sessions/${room.session_id}/page`;
          state.append(link);
        }
        const levels = Bilu.el("td");
        const box = Bilu.el("div", "seat-levels");
        Bilu.showLevels(box, room.agent === "recording" ? room.levels_db : null);
        levels.append(box);
        row.append(name, state, levels);
        return row;
      }));
    } catch (exc) { /* keep what is shown; the next poll tries again */ }
    setTimeout(poll, 2000);
  }
  poll();
})();

// Upload a recording file: sent as multipart with the CSRF header; the server answers 202 at once and
// transcribes in the background: the new session's page follows the transcription (static/following.js).
(() => {
  const form = document.getElementById("upload-recording");
  if (!form) return;
  const error = document.getElementById("upload-error");
  const status = document.getElementById("upload-status");
  const csrf = () => {
    const found = document.cookie.split("; ").find((part) => part.startsWith("bilu_csrf="));
    return found ? decodeURIComponent(found.slice("bilu_csrf=".length)) : "";
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    status.textContent = "上传中…";
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const response = await fetch(`/cases/${encodeURIComponent(form.dataset.caseNo)}/recordings`, {
        method: "POST", credentials: "same-origin", body: new FormData(form),
        headers: { Accept: "application/json", "X-CSRF-Token": csrf() },
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(typeof data.detail === "string" ? data.detail : `HTTP ${response.status}`);
      status.textContent = `已上传，会话 ${data.session_id} 正在转写`;
      location.href = `/sessions/${data.session_id}/page`;
    } catch (exc) {
      status.textContent = "";
      error.textContent = `无法上传：${exc.message}`;
    } finally {
      button.disabled = false;
    }
  });
})();

// The case's title (案件名称): a case filed by the command line or a first recording has none until it is given.
(() => {
  const form = document.getElementById("case-title");
  if (!form) return;
  const status = document.getElementById("case-title-status");
  const error = document.getElementById("case-title-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "";
    error.textContent = "";
    const title = String(new FormData(form).get("title") || "").trim();
    try {
      const saved = await Bilu.api("PATCH", `/cases/${encodeURIComponent(form.dataset.caseNo)}`, { title: title || null });
      const heading = document.querySelector("h1");
      heading.textContent = `案件 ${saved.case_no}${saved.title ? ` · ${saved.title}` : ""}`;
      status.textContent = "已保存";
    } catch (exc) {
      error.textContent = `无法保存：${exc.message}`;
    }
  });
})();
