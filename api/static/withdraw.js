// Withdrawing a wrong upload (a supervisor or administrator, on its session page): the dialog asks for the
// reason, POST /sessions/{id}/withdraw marks the session withdrawn (kept, audited), and the page shows it so.
"use strict";

(() => {
  const open = document.getElementById("withdraw-open");
  const dialog = document.getElementById("withdraw-dialog");
  if (!open || !dialog) return;
  const form = document.getElementById("withdraw-form");
  const error = document.getElementById("withdraw-error");
  const sessionId = document.getElementById("session").dataset.sessionId;
  open.addEventListener("click", () => { error.textContent = ""; dialog.showModal(); });
  form.addEventListener("submit", async (event) => {
    if (event.submitter?.value !== "withdraw") return;  // 取消: the dialog closes, nothing is sent
    event.preventDefault();
    const reason = String(new FormData(form).get("reason") || "").trim();
    if (!reason) { error.textContent = "请写明撤回的原因。"; return; }
    try {
      await Bilu.api("POST", `/sessions/${sessionId}/withdraw`, { reason });
      location.reload();  // the page of a withdrawn session: marked, read-only
    } catch (exc) {
      error.textContent = `无法撤回：${exc.message}`;
    }
  });
})();
