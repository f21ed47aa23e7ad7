// The signing page (issue 20): the signing pad records pointer strokes (mouse, touch, pen, a signature tablet);
// the strokes go to the service, which keeps them and draws the PNG from them.
"use strict";

(() => {
  const { api, el } = Bilu;
  const root = document.getElementById("sign");
  if (!root) return;
  const sessionId = root.dataset.sessionId;
  const query = `?document=${root.dataset.document || "record"}`;
  const reload = () => location.reload();

  document.getElementById("start-review")?.addEventListener("click", async () => {
    const note = document.getElementById("review-note");
    await api("POST", `/sessions/${sessionId}/record-review${query}`, note ? { note: note.value || null } : undefined);
    reload();
  });

  const pad = document.getElementById("pad");
  const strokes = [];
  if (pad) {
    const context = pad.getContext("2d");
    context.lineWidth = 2;
    context.lineCap = "round";
    let current = null;
    const opened = performance.now();
    const point = (event) => {
      const box = pad.getBoundingClientRect();
      // In the pad's own pixels, whatever size the page draws it at.
      const x = Math.min(pad.width, Math.max(0, (event.clientX - box.left) * pad.width / box.width));
      const y = Math.min(pad.height, Math.max(0, (event.clientY - box.top) * pad.height / box.height));
      return { x: Math.round(x * 10) / 10, y: Math.round(y * 10) / 10, t: Math.round(performance.now() - opened) };
    };
    pad.addEventListener("pointerdown", (event) => {
      pad.setPointerCapture(event.pointerId);
      current = [point(event)];
      strokes.push(current);
      context.beginPath();
      context.moveTo(current[0].x, current[0].y);
      event.preventDefault();
    });
    pad.addEventListener("pointermove", (event) => {
      if (!current) return;
      const p = point(event);
      current.push(p);
      context.lineTo(p.x, p.y);
      context.stroke();
      event.preventDefault();
    });
    const end = () => { current = null; };
    pad.addEventListener("pointerup", end);
    pad.addEventListener("pointercancel", end);
    document.getElementById("clear-pad").addEventListener("click", () => {
      strokes.length = 0;
      context.clearRect(0, 0, pad.width, pad.height);
    });
  }

  const signForm = document.getElementById("sign-form");
  signForm?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("sign-error");
    error.textContent = "";
    if (!strokes.length) { error.textContent = "请先在签名框内签名"; return; }
    const amendment = document.getElementById("amendment-id");
    try {
      await api("POST", `/sessions/${sessionId}/signatures${query}`, {
        signer_role: document.getElementById("signer-role").value,
        signer_name: document.getElementById("signer-name").value,
        statement: document.getElementById("statement").value || null,
        width: pad.width, height: pad.height, strokes,
        amendment_id: amendment && amendment.value ? Number(amendment.value) : null,
      });
      reload();
    } catch (failure) {
      error.textContent = failure.message;
    }
  });

  document.getElementById("pdf-form")?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const response = await fetch(`/sessions/${sessionId}/signatures/pdf${query}`, {
      method: "POST", body: new FormData(event.target), credentials: "same-origin",
      headers: { "X-CSRF-Token": Bilu.csrfToken(), Accept: "application/json" },
    });
    if (response.ok) reload();
    else document.getElementById("close-error").textContent = (await response.json()).detail || "上传失败";
  });

  const close = async (body) => {
    try {
      await api("POST", `/sessions/${sessionId}/record-review/close${query}`, body);
      reload();
    } catch (failure) {
      document.getElementById("close-error").textContent = failure.message;
    }
  };
  document.getElementById("close-signed")?.addEventListener("click", () => close({ outcome: "signed" }));
  document.getElementById("close-refused")?.addEventListener("click", () => close({
    outcome: "refused",
    reason: document.getElementById("refusal-reason").value || null,
    witnesses: document.getElementById("refusal-witnesses").value.split(/[、,，]/).map((w) => w.trim()).filter(Boolean),
  }));
  void el;
})();
