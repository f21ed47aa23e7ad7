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
        seat_roles: String(data.get("seat_roles") || ""),
      });
      location.href = `/sessions/${started.session_id}/page`;
    } catch (exc) {
      error.textContent = `无法开始录音：${exc.message}`;
    }
  });
})();
