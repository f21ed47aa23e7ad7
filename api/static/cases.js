// The case list: open a new case (number, title, unit) and, if a recording is chosen, upload it into the case.
// Then go to the new session's page (transcribed in the background) or, without a recording, the case's page.
"use strict";

(() => {
  const form = document.getElementById("new-case");
  if (!form) return;
  const error = document.getElementById("new-case-error");
  const status = document.getElementById("new-case-status");
  const button = form.querySelector("button[type=submit]");

  async function upload(caseNo, file, room) {
    const body = new FormData();
    body.append("file", file);
    if (room) body.append("room", room);
    const response = await fetch(`/cases/${encodeURIComponent(caseNo)}/recordings`, {
      method: "POST", credentials: "same-origin", body,
      headers: { Accept: "application/json", "X-CSRF-Token": Bilu.csrfToken() },
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(typeof data.detail === "string" ? data.detail : `HTTP ${response.status}`);
    return data.session_id;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const data = new FormData(form);
    const caseNo = String(data.get("case_no") || "").trim();
    const unitSelect = form.elements.unit;
    const file = form.elements.file.files[0];
    button.disabled = true;
    status.textContent = "正在新建案件…";
    let opened = false;
    try {
      await Bilu.api("POST", "/cases", {
        case_no: caseNo, title: String(data.get("title") || "").trim() || null, unit: unitSelect.value,
      });
      opened = true;
      const casePage = `/cases/${encodeURIComponent(caseNo)}/page`;
      if (!file) { location.href = casePage; return; }
      status.textContent = "案件已新建，正在上传录音…";
      const sessionId = await upload(caseNo, file, String(data.get("room") || "").trim());
      location.href = `/sessions/${sessionId}/page`;
    } catch (exc) {
      status.textContent = "";
      error.textContent = opened ? `案件已新建，但录音未能上传：${exc.message}（可在案件页重新上传）`
        : `无法新建案件：${exc.message}`;
      if (opened) {
        const link = Bilu.el("a", null, "打开案件");
        link.href = `/cases/${encodeURIComponent(caseNo)}/page`;
        error.append(" ", link);
      }
    } finally {
      button.disabled = false;
    }
  });
})();
